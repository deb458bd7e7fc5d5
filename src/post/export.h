/*
 * export — every tip written in the clear into a folder, for a report:
 * tips.csv (one row a tip: id, received, kiosk, verdict, category,
 * language, practice, when, capture day, audio seconds, audio file,
 * status, text, history) and <id>.opus beside it for each genuine tip with
 * a recording. The only place besides console_write_new() where the
 * post's code writes plaintext, and only where it is told.
 *
 * Refused tips get their verdict and no content. Cells that start with
 * = + - @ (or a tab or CR) get a leading ' so a spreadsheet never runs a
 * tip's text as a formula. Files are made 0600, the folder 0700; nothing
 * is ever written over.
 *
 * Errors: 0 or a negative enum console_error (console.h).
 */
#ifndef HOMTHU_EXPORT_H
#define HOMTHU_EXPORT_H

#include <stddef.h>

#include "post/console.h"

#define EXPORT_CSV_NAME "tips.csv"

/*
 * Make `dir` (0700) when missing and check it holds no tips.csv yet
 * (CONSOLE_E_EXISTS): a caller can refuse a bad folder before it asks for
 * the passphrase.
 */
int export_check_dir(const char *dir, char *err, size_t errlen) __attribute__((warn_unused_result));

struct export_report {
    int tips;       /* rows written */
    int recordings; /* .opus files written */
    int failed;     /* tips whose row or recording could not be written whole */
};

/*
 * Write every tip (newest first) into `dir`. Needs console_unlock(). A tip
 * that cannot be read or whose recording cannot be written is counted in
 * rep->failed and the export goes on; the call then returns CONSOLE_E_IO
 * with the first reason.
 */
int export_all(struct console *c, const char *dir, struct export_report *rep, char *err,
               size_t errlen) __attribute__((warn_unused_result));

#endif
