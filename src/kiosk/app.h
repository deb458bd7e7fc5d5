/*
 * app — the kiosk program assembled: reads kiosk.conf, opens the queue
 * (recovering tips cut short by a power loss), the keys, the microphone and
 * speaker, the prompts and catalogs, the display, and runs the loop.
 * main.c only parses the command line; tests open an app in-process on
 * SDL's offscreen and disk-audio drivers and drive it with taps.
 *
 * Errors: app_open returns 0 or -1 with a sentence for the technician.
 * Faults that leave the kiosk usable (no microphone, no speaker, a queue
 * that had to be recreated) are not errors: the app opens and reports them.
 */
#ifndef HOMTHU_APP_H
#define HOMTHU_APP_H

#include <stddef.h>
#include <stdint.h>

struct ui;
struct kiosk;
struct gpio_port;
struct audio_port;
struct queue;

struct app_opts {
    const char *config_path; /* kiosk.conf */
    const char *assets_dir;  /* prompts/ and lang/; NULL: HOMTHU_ASSETS or the install dir */
    const char *font_path;   /* NULL: <assets>/../fonts/NotoSans-Regular.ttf or installed */
    const char *emoji_path;  /* NULL: Debian's Noto Color Emoji */
    int window;              /* a desktop window, not fullscreen */
    int width, height;       /* logical size; 0: the panel's (or 800×480 in a window) */
    int software;            /* deterministic software rendering (tests) */
    /* Monotonic milliseconds; NULL: the system's. Tests pass a fake clock. */
    uint32_t (*clock_ms)(void *ctx);
    void *clock_ctx;
    void (*log)(const char *line); /* NULL: stderr */
    /* The status LEDs, the button and the handset's hook; NULL: opened
       from kiosk.conf (led_chip, button_line, handset_hook_line), none when
       it names no chip. Tests pass the
       fake (gpio.h). Copied; app_close() closes it. */
    const struct gpio_port *gpio;
    /* The microphone and speaker (and the handset's); NULL: SDL's, from
       kiosk.conf. Tests pass the fake (audio.h). Copied; app_close()
       closes it. */
    const struct audio_port *audio;
};

struct app;

int app_open(struct app **out, const struct app_opts *o, char *err, size_t errlen)
    __attribute__((warn_unused_result));
void app_close(struct app *a); /* NULL is a no-op */

/*
 * One turn of the loop: wait for input up to max_wait_ms (less while
 * recording), handle it, pump audio, tick timers, redraw if anything
 * changed. Returns 1 when the app was asked to quit.
 */
int app_step(struct app *a, int max_wait_ms);
/* Run until quit (SIGTERM, window closed). Returns the exit code. */
int app_run(struct app *a);

/* A tap as if from the touch panel, in logical coordinates. */
void app_tap(struct app *a, int x, int y);
/* Draw now and copy the frame (width*height ARGB) into argb. */
void app_snapshot(struct app *a, uint32_t *argb);
void app_size(const struct app *a, int *w, int *h);
/* Frames drawn so far (the loop redraws only on change). */
uint64_t app_frames(const struct app *a);
/* CLOCK_MONOTONIC seconds when the last frame was presented: what a touch
   waits for, whatever app_step does after drawing (playing the prompt). */
double app_last_frame_at(const struct app *a);

struct ui *app_ui(struct app *a);
struct kiosk *app_kiosk(struct app *a);
/* The UI's host calls, which the UI borrows: homthu-screens swaps one for a
   failing one to show the fault screens (a full disk, a queue error). */
struct ui_host *app_host(struct app *a);
struct queue *app_queue(struct app *a);

#endif
