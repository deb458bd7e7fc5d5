/*
 * homthu-kiosk — the touch kiosk. The only place that knows every backend
 * is app.c; this file reads the command line.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>

#include "kiosk/app.h"

static void usage(FILE *f)
{
    fputs("usage: homthu-kiosk [--config FILE] [--assets DIR] [--window] [--size WxH]\n"
          "  --config FILE  kiosk.conf (default /etc/homthu/kiosk.conf)\n"
          "  --assets DIR   prompts and catalogs (default: ./assets or the installed ones)\n"
          "  --window       a desktop window instead of the full screen\n"
          "  --size WxH     logical screen size, e.g. 800x480 or 1024x600\n",
          f);
}

int main(int argc, char **argv)
{
    struct app_opts o = {.config_path = "/etc/homthu/kiosk.conf"};
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--config") && i + 1 < argc) {
            o.config_path = argv[++i];
        } else if (!strcmp(argv[i], "--assets") && i + 1 < argc) {
            o.assets_dir = argv[++i];
        } else if (!strcmp(argv[i], "--window")) {
            o.window = 1;
        } else if (!strcmp(argv[i], "--size") && i + 1 < argc) {
            if (sscanf(argv[++i], "%dx%d", &o.width, &o.height) != 2 || o.width < 320 ||
                o.height < 240) {
                fprintf(stderr, "homthu-kiosk: --size wants WxH, e.g. 800x480\n");
                return 2;
            }
        } else if (!strcmp(argv[i], "--help")) {
            usage(stdout);
            return 0;
        } else {
            usage(stderr);
            return 2;
        }
    }
    /* A tip passes through this process's memory: never into a core dump. */
    struct rlimit none = {0, 0};
    setrlimit(RLIMIT_CORE, &none);
    prctl(PR_SET_DUMPABLE, 0);

    char err[512];
    struct app *a;
    if (app_open(&a, &o, err, sizeof err) != 0) {
        fprintf(stderr, "homthu-kiosk: %s\n", err);
        return 1;
    }
    int rc = app_run(a);
    app_close(a);
    return rc;
}
