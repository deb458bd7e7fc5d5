/*
 * homthu-screens — a PNG of every kiosk screen, in every shipped language,
 * at 800×480 and 1024×600 (`make screens`). Runs the real app headless
 * (SDL offscreen video, software renderer, disk audio with silence as the
 * microphone) and walks it with scripted taps, the way a person would.
 *
 * usage: homthu-screens --config kiosk.conf --out DIR [--assets DIR]
 */
#include "png_write.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "kiosk/app.h"
#include "kiosk/kiosk.h"
#include "kiosk/ui.h"

static uint32_t fake_now;
static uint32_t fake_clock(void *ctx)
{
    (void)ctx;
    return fake_now;
}

/* The faults the screens must show, as a failing queue would answer. */
static int cannot_take_tips(void *ctx)
{
    (void)ctx;
    return 0;
}
static int send_fails(void *ctx, const char *lang, int category, const char *text, int when,
                      int unconfirmed, char *err, size_t errlen)
{
    (void)ctx, (void)lang, (void)category, (void)text, (void)when, (void)unconfirmed;
    snprintf(err, errlen, "disk full (homthu-screens)");
    return -2;
}

static int save_png(const char *path, const uint32_t *argb, int w, int h)
{
    return png_write_argb(path, argb, w, h);
}

struct shot {
    const char *name;
    const char *taps[24]; /* "LANG" is replaced by the language's button; "STAFF" and
                             "STAFF:tech" open the PIN screen (what the long press does);
                             "FAIL:queue" / "FAIL:send" make the queue refuse tips / the
                             send fail, "NOMIC" unplugs the microphone, "STEP" lets the
                             loop run until the prompts have played; "NOCONF" first: the
                             card has no kiosk.conf (shown once, in Vietnamese) */
    int idle_ms;          /* then let time pass */
};

static const struct shot shots[] = {
    {"01-start", {NULL}, 0},
    {"02-speak", {"LANG", NULL}, 0},
    {"03-recording", {"LANG", "record", NULL}, 0},
    {"04-review", {"LANG", "record", "done", NULL}, 0},
    {"05-category", {"LANG", "record", "done", "extra:category", "cat:3", NULL}, 0},
    {"06-text", {"LANG", "record", "done", "extra:text", "key:t", "key:o", "key:o", "key:i", NULL},
     0},
    {"07-when", {"LANG", "record", "done", "extra:when", "when:2", NULL}, 0},
    {"08-review-extras", {"LANG", "record", "done", "extra:when", "when:2", "ok", NULL}, 0},
    {"09-sent", {"LANG", "record", "done", "send", NULL}, 0},
    {"10-still-there", {"LANG", "STEP", NULL}, 61000},
    {"24-out-of-service", {"FAIL:queue", "STEP", NULL}, 6000},
    {"25-no-microphone", {"NOMIC", "LANG", NULL}, 0},
    {"26-not-saved", {"LANG", "record", "done", "FAIL:send", "send", NULL}, 0},
    {"20-handset-speak", {"LIFT", "LANG", NULL}, 0},
    {"21-practice-start", {"STAFF", "pin:2", "pin:4", "pin:6", "pin:8", "v:practice", "v:done",
                           NULL}, 0},
    {"22-practice-recording", {"STAFF", "pin:2", "pin:4", "pin:6", "pin:8", "v:practice",
                               "v:done", "LANG", "record", NULL}, 0},
    {"23-practice-sent", {"STAFF", "pin:2", "pin:4", "pin:6", "pin:8", "v:practice", "v:done",
                          "LANG", "record", "done", "send", NULL}, 0},
    {"11-pin", {"STAFF", "pin:1", "pin:2", NULL}, 0},
    {"12-volunteer", {"STAFF", "pin:2", "pin:4", "pin:6", "pin:8", NULL}, 0},
    {"13-technician", {"STAFF", "pin:2", "pin:4", "pin:6", "pin:8", "v:tech", NULL}, 0},
    {"14-pin-locked", {"STAFF", "pin:1", "pin:1", "pin:1", "pin:1", "pin:1", "pin:1", "pin:1",
                       "pin:1", "pin:1", "pin:1", "pin:1", "pin:1", NULL}, 7000},
    {"15-recording-session", {"STAFF", "pin:2", "pin:4", "pin:6", "pin:8", "v:session", NULL}, 0},
    {"16-recording-new-take", {"STAFF", "pin:2", "pin:4", "pin:6", "pin:8", "v:session",
                               "s:record", "s:record", NULL}, 0},
    {"17-usb", {"STAFF", "pin:2", "pin:4", "pin:6", "pin:8", "v:usb", "u:export", NULL}, 0},
    {"18-technician-lights", {"STAFF:tech", "pin:2", "pin:4", "pin:6", "pin:8", "t:leds", NULL},
     0},
    {"19-technician-tests", {"STAFF:tech", "pin:2", "pin:4", "pin:6", "pin:8", "t:tests",
                             "t:mic", "t:touch", NULL}, 0},
    {"27-not-set-up", {"NOCONF", NULL}, 0},
    {"28-not-set-up-checks", {"NOCONF", "STAFF:tech", NULL}, 0},
};

int main(int argc, char **argv)
{
    const char *config = NULL, *out = "build/screens", *assets = NULL;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--config"))
            config = argv[i + 1];
        else if (!strcmp(argv[i], "--out"))
            out = argv[i + 1];
        else if (!strcmp(argv[i], "--assets"))
            assets = argv[i + 1];
    }
    if (!config) {
        fprintf(stderr, "usage: homthu-screens --config kiosk.conf --out DIR [--assets DIR]\n");
        return 2;
    }
    mkdir(out, 0755);
    char silence[4200];
    snprintf(silence, sizeof silence, "%s/silence.raw", out);
    FILE *f = fopen(silence, "wb");
    if (f) { /* a quiet room, with a little sound so the meter moves */
        for (int i = 0; i < 16000 * 30; i++) {
            int16_t s = (int16_t)((i / 40) % 2 ? 3000 : -3000);
            fwrite(&s, 2, 1, f);
        }
        fclose(f);
    }
    setenv("SDL_VIDEODRIVER", "offscreen", 1);
    setenv("SDL_AUDIODRIVER", "disk", 1);
    setenv("SDL_DISKAUDIOFILEIN", silence, 1);
    setenv("SDL_DISKAUDIOFILE", "/dev/null", 1);
    unsetenv("SDL_DISKAUDIODELAY"); /* paced like a real microphone */

    static const int sizes[][2] = {{800, 480}, {1024, 600}};
    int made = 0, failed = 0;
    for (size_t s = 0; s < 2; s++) {
        for (int lang = 0; lang < UI_MAX_LANGS; lang++) {
            int more = 0;
            for (size_t k = 0; k < sizeof shots / sizeof *shots; k++) {
                struct app_opts o = {.config_path = config, .assets_dir = assets, .window = 1,
                                     .software = 1, .width = sizes[s][0], .height = sizes[s][1],
                                     .clock_ms = fake_clock};
                struct app *a;
                char err[512];
                fake_now = 1000;
                if (app_open(&a, &o, err, sizeof err) != 0) {
                    fprintf(stderr, "homthu-screens: %s\n", err);
                    return 1;
                }
                uint32_t *px = malloc((size_t)sizes[s][0] * sizes[s][1] * 4);
                /* Which languages are there: the language screen's buttons. */
                char langlabel[48] = "";
                app_snapshot(a, px);
                ui_tap(app_ui(a), 10, 10, fake_now); /* start */
                app_snapshot(a, px);
                int n;
                const struct ui_target *t = ui_targets(app_ui(a), &n);
                int seen = 0;
                for (int i = 0; i < n; i++)
                    if (!strncmp(t[i].label, "lang:", 5) && seen++ == lang)
                        snprintf(langlabel, sizeof langlabel, "%s", t[i].label);
                app_close(a);
                if (!langlabel[0]) {
                    free(px);
                    break;
                }
                more = 1;
                char missing[4200];
                int noconf = shots[k].taps[0] && !strcmp(shots[k].taps[0], "NOCONF");
                if (noconf && lang > 0) {
                    free(px);
                    continue; /* the same screen whatever the language */
                }
                if (noconf) {
                    snprintf(missing, sizeof missing, "%s/no-card/kiosk.conf", out);
                    o.config_path = missing;
                }
                if (app_open(&a, &o, err, sizeof err) != 0) {
                    free(px);
                    return 1;
                }
                int ok = 1;
                for (int i = 0; shots[k].taps[i] && ok; i++) {
                    const char *label = strcmp(shots[k].taps[i], "LANG") ? shots[k].taps[i]
                                                                         : langlabel;
                    int x, y;
                    app_snapshot(a, px);
                    if (!strcmp(label, "LIFT")) { /* the handset off its hook */
                        ui_handset(app_ui(a), 1, fake_now);
                        continue;
                    }
                    if (!strcmp(label, "FAIL:queue")) {
                        app_host(a)->can_take_tips = cannot_take_tips;
                        continue;
                    }
                    if (!strcmp(label, "FAIL:send")) {
                        app_host(a)->tip_send = send_fails;
                        continue;
                    }
                    if (!strcmp(label, "NOCONF"))
                        continue; /* taken at app_open */
                    if (!strcmp(label, "NOMIC")) {
                        ui_set_microphone(app_ui(a), 0);
                        continue;
                    }
                    if (!strcmp(label, "STEP")) { /* prompts play out: nobody is speaking */
                        app_step(a, 0); /* and the UI's clock starts */
                        for (int j = 0; j < 400 && kiosk_playing(app_kiosk(a)); j++)
                            app_step(a, 20);
                        continue;
                    }
                    if (!strncmp(label, "STAFF", 5)) {
                        ui_staff_open(app_ui(a), label[5] == ':', fake_now);
                        continue;
                    }
                    if (ui_find(app_ui(a), label, &x, &y) != 0) {
                        fprintf(stderr, "homthu-screens: %s: no %s on %s\n", shots[k].name,
                                label, ui_screen_name(ui_screen(app_ui(a))));
                        ok = 0;
                        break;
                    }
                    fake_now += 700;
                    app_tap(a, x, y);
                    for (int j = 0; j < 15 && kiosk_recording(app_kiosk(a)); j++)
                        app_step(a, 10); /* let the meter and the clock move */
                }
                if (shots[k].idle_ms) {
                    fake_now += (uint32_t)shots[k].idle_ms;
                    app_step(a, 0);
                }
                char path[8400];
                snprintf(path, sizeof path, "%s/%dx%d-%s-%s.png", out, sizes[s][0], sizes[s][1],
                         langlabel + 5, shots[k].name);
                app_snapshot(a, px);
                if (ok && save_png(path, px, sizes[s][0], sizes[s][1]) == 0) {
                    made++;
                } else {
                    failed++;
                    fprintf(stderr, "homthu-screens: could not make %s\n", path);
                }
                free(px);
                app_close(a);
            }
            if (!more)
                break;
        }
    }
    remove(silence);
    printf("homthu-screens: %d screenshots in %s/%s\n", made, out,
           failed ? " (some failed)" : "");
    return failed ? 1 : 0;
}
