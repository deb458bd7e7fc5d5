/*
 * files — the officers' page (assets/station/) and the pictogram font,
 * built into the program by tools/embed-files.sh: the station serves them
 * from memory, so a path in a request can only ever name one of these.
 */
#ifndef HOMTHU_STATION_FILES_H
#define HOMTHU_STATION_FILES_H

#include <stddef.h>

struct station_file {
    const char *path; /* the URL path: "/", "/app.js", "/i18n/vi.json" */
    const unsigned char *bytes;
    size_t len;
};

/* Ends with a {NULL, NULL, 0} row. */
extern const struct station_file station_files[];

#endif
