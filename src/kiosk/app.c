/* app — the kiosk assembled. See app.h. */
#include "kiosk/app.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>

#include "kiosk/audio.h"
#include "kiosk/button.h"
#include "core/config.h"
#include "kiosk/gpio.h"
#include "kiosk/i18n.h"
#include "core/keys.h"
#include "kiosk/kiosk.h"
#include "kiosk/leds.h"
#include "kiosk/prompts.h"
#include "core/queue.h"
#include "kiosk/render.h"
#include "kiosk/ui.h"
#include "kiosk/watchdog.h"

#define DEFAULT_EMOJI "/usr/share/fonts/truetype/noto/NotoColorEmoji.ttf"
#define INSTALLED_ASSETS "/usr/share/homthu/assets"
#define INSTALLED_FONT "/usr/share/homthu/fonts/NotoSans-Regular.ttf"

struct app {
    struct app_opts o;
    struct kiosk_conf conf;
    char assets[4096], font[4200];
    struct queue *queue;
    struct keys_device *device;
    struct tip_keys tipkeys;
    struct prompts *prompts;
    struct i18n *i18n;
    struct kiosk *kiosk;
    struct ui_host host;
    struct ui *ui;
    struct render *render;
    struct ui_lang langs[UI_MAX_LANGS];
    struct ui_draw_list frame;
    int w, h;
    uint64_t frames;
    struct timespec last_frame; /* when the last frame was presented */
    /* The LEDs, the button and systemd's watchdog (tend_hardware). */
    struct gpio_port gpio; /* zeroed: no GPIO */
    struct leds *leds;     /* NULL: no LEDs */
    struct button *button; /* NULL: no button */
    /* The telephone handset: its hook (NULL: none) and the audio port's
       routing between the room's devices and the handset's. */
    struct button *hook;
    struct audio_port audio; /* the kiosk's copy owns it; this one routes */
    int handset_lifted;
    int audio_given; /* the kiosk has taken the audio port (and closes it) */
    struct leds_queue_watch qwatch;
    struct leds_status ledst;
    int looked;            /* the queue and the disk were looked at, at looked_at */
    uint32_t looked_at;
    int disk_low;
    int gpio_err;          /* the last GPIO error logged, so it is logged once */
    struct watchdog *wd;   /* NULL: no systemd (every call is a no-op) */
    /* The card is not set up (enum ui_setup): the kiosk runs on to say so. */
    int setup;
    char setup_why[512];
};

static volatile sig_atomic_t quit_requested;

static void on_term(int sig)
{
    (void)sig;
    quit_requested = 1;
}

static void logline(const struct app *a, const char *line)
{
    if (a->o.log)
        a->o.log(line);
    else
        fprintf(stderr, "homthu-kiosk: %s\n", line);
}

static uint32_t now_ms(struct app *a)
{
    if (a->o.clock_ms)
        return a->o.clock_ms(a->o.clock_ctx);
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint32_t)((uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u);
}

/* The LEDs and the button, from kiosk.conf (or the test's port). A chip
   that cannot be opened is logged and the kiosk serves on without it. */
static void open_gpio(struct app *a)
{
    const struct kiosk_conf *c = &a->conf;
    if (a->o.gpio) {
        a->gpio = *a->o.gpio;
    } else {
        if (!c->led_chip[0] && !c->button_chip[0] && !c->handset_hook_chip[0])
            return; /* no LEDs, no button: a desk, or a kiosk without them */
        char why[512];
        struct gpio_config gc = {.button_line = c->button_line, .consumer = "homthu-kiosk"};
        snprintf(gc.led_chip, sizeof gc.led_chip, "%s", c->led_chip);
        snprintf(gc.button_chip, sizeof gc.button_chip, "%s", c->button_chip);
        gc.led_line[GPIO_LED_GREEN] = (unsigned)c->led_green;
        gc.led_line[GPIO_LED_AMBER] = (unsigned)c->led_amber;
        gc.led_line[GPIO_LED_RED] = (unsigned)c->led_red;
        gc.hook = c->handset_hook_line >= 0;
        gc.hook_line = gc.hook ? (unsigned)c->handset_hook_line : 0;
        gc.hook_active_high = !c->handset_hook_active_low;
        snprintf(gc.hook_chip, sizeof gc.hook_chip, "%s", c->handset_hook_chip);
        if (gpio_gpiod_open(&a->gpio, &gc, why, sizeof why) != 0) {
            logline(a, why);
            return;
        }
    }
    if ((a->o.gpio || c->led_chip[0]) &&
        !(a->leds = leds_new(&a->gpio, (uint32_t)c->undelivered_days)))
        logline(a, "out of memory for the LEDs: the kiosk serves on without them");
    if ((a->o.gpio || c->button_line >= 0) && !(a->button = button_new(&a->gpio, 0)))
        logline(a, "out of memory for the button: the kiosk serves on without it");
    if (c->handset_hook_line >= 0 &&
        !(a->hook = button_new_input(&a->gpio, GPIO_INPUT_HOOK, BUTTON_HOOK_DEBOUNCE_MS)))
        logline(a, "out of memory for the handset's hook: the kiosk serves on without it");
}

/*
 * Where sound goes: with a handset, prompts and playback go to its earpiece
 * whether it is lifted or not, so that the waiting room never hears them;
 * its microphone records while it is lifted, the room's otherwise (a
 * person at the screen who leaves it on the hook). Without its sound card
 * the room's devices serve, and the log says why.
 */
static void route_audio(struct app *a, int lifted)
{
    if (!a->hook || !a->audio.set_route)
        return;
    char why[256] = "";
    int cap = lifted ? AUDIO_ROUTE_HANDSET : AUDIO_ROUTE_ROOM;
    if (a->audio.set_route(a->audio.ctx, AUDIO_ROUTE_HANDSET, cap, why, sizeof why) != 0) {
        char line[400];
        snprintf(line, sizeof line,
                 "handset: %s: the kiosk's speaker and microphone serve (plug in the handset, "
                 "see docs/audio.md)",
                 why);
        logline(a, line);
        if (a->audio.set_route(a->audio.ctx, AUDIO_ROUTE_ROOM, AUDIO_ROUTE_ROOM, why,
                               sizeof why) != 0)
            logline(a, why);
    }
}

/* Lifting routes the sound first, so that what the UI says on waking is
   heard in the earpiece; hanging up lets the UI end the tip from the
   microphone it was recording before the room's takes over. */
static void handset_changed(struct app *a, int lifted, uint32_t now)
{
    if (lifted == a->handset_lifted)
        return;
    a->handset_lifted = lifted;
    logline(a, lifted ? "handset lifted" : "handset hung up");
    if (lifted)
        route_audio(a, 1);
    ui_handset(a->ui, lifted, now);
    if (!lifted)
        route_audio(a, 0);
}

/* The technician's "LED test": every LED in turn, then back to what they say. */
static void app_led_test(void *ctx)
{
    struct app *a = ctx;
    leds_lamp_test(a->leds, now_ms(a));
}

/* A GPIO error, logged when it first appears (not 20 times a second). */
static void gpio_trouble(struct app *a, int rc)
{
    if (rc == a->gpio_err)
        return;
    a->gpio_err = rc;
    if (rc) {
        char line[160];
        snprintf(line, sizeof line, "status LEDs, button or handset hook: %s (see docs/leds.md)",
                 strerror(-rc));
        logline(a, line);
    }
}

/*
 * The push button is the forward action of the voice path: "record" on the
 * speak screen, "done" while recording, "send" on the review, "yes, I am
 * here" when asked. On a dark or start screen it starts a tip as the first
 * touches do.
 */
static void redraw(struct app *a, uint32_t *argb);

/* The targets are those of the last frame laid out: after a change, show
   the screen the person is on before finding its buttons. */
static void fresh_targets(struct app *a)
{
    if (ui_dirty(a->ui))
        redraw(a, NULL);
}

static void button_pressed(struct app *a, uint32_t now)
{
    static const char *const forward[] = {"record", "done", "send", "still_here"};
    int x, y;
    fresh_targets(a);
    for (size_t i = 0; i < sizeof forward / sizeof *forward; i++)
        if (ui_find(a->ui, forward[i], &x, &y) == 0) {
            ui_tap(a->ui, x, y, now);
            return;
        }
    if (ui_screen(a->ui) == UI_BLANK && ui_find(a->ui, "wake", &x, &y) == 0) {
        ui_tap(a->ui, x, y, now);
        fresh_targets(a);
    }
    if (ui_screen(a->ui) != UI_START)
        return;
    /* The start screen offers the languages: the kiosk's own language
       (language_default), or the only one offered. */
    char label[32];
    snprintf(label, sizeof label, "lang:%s", a->conf.language_default);
    if (ui_find(a->ui, label, &x, &y) == 0) {
        ui_tap(a->ui, x, y, now);
        return;
    }
    int n, found = -1;
    const struct ui_target *t = ui_targets(a->ui, &n);
    for (int i = 0; i < n; i++)
        if (strncmp(t[i].label, "lang:", 5) == 0)
            found = found == -1 ? i : -2;
    if (found >= 0)
        ui_tap(a->ui, t[found].r.x + t[found].r.w / 2, t[found].r.y + t[found].r.h / 2, now);
}

/* "3 tips waiting, sending; no microphone (red 4)" for systemctl status. */
static void say_status(struct app *a)
{
    char line[200];
    unsigned f = a->leds ? leds_faults(a->leds) : a->ledst.faults;
    static const char *const setup_said[] = {
        "", "NOT SET UP: no kiosk.conf on the card; ", "NOT SET UP: kiosk.conf unusable; ",
        "NOT SET UP: no device key; ", "NOT SET UP: device key unusable; "};
    size_t off = (size_t)snprintf(
        line, sizeof line, "%s%u tip(s) waiting%s",
        a->setup > 0 && a->setup <= UI_SETUP_BAD_KEY ? setup_said[a->setup] : "",
        (unsigned)a->ledst.tips_waiting, a->ledst.sending ? ", sending" : "");
    for (int code = 1; code <= LEDS_NFAULTS && off < sizeof line; code++)
        if (f & (1u << (code - 1)))
            off += (size_t)snprintf(line + off, sizeof line - off, "; %s (red %d)",
                                    leds_fault_name(code), code);
    watchdog_status(a->wd, line);
}

/*
 * Once per loop turn: the LEDs, the button, the watchdog. The queue (which
 * homthu-uplink drains) and the disk are looked at once a second. Healthy,
 * for the watchdog, is the queue open and taking writes; a full disk is not
 * unhealthy, as a restart cannot make room (docs/appliance.md).
 */
static void tend_hardware(struct app *a, uint32_t now)
{
    unsigned kf = kiosk_faults(a->kiosk);
    if (!a->looked || now - a->looked_at >= 1000) {
        a->looked = 1;
        a->looked_at = now;
        struct queue_stats qs;
        struct queue_tip next;
        if (a->queue && queue_stats(a->queue, &qs) == 0)
            leds_watch_queue(&a->qwatch, &qs,
                             queue_next_to_send(a->queue, &next) == 0 ? &next : NULL,
                             (int64_t)time(NULL), now, &a->ledst);
        struct statvfs vfs;
        a->disk_low = statvfs(a->conf.data_dir, &vfs) == 0 &&
                      leds_disk_nearly_full((uint64_t)vfs.f_bavail * vfs.f_frsize,
                                            (uint64_t)vfs.f_blocks * vfs.f_frsize);
        say_status(a);
    }
    a->ledst.faults = leds_faults_from_kiosk(kf) | (a->queue ? 0u : (unsigned)LEDS_FAULT_QUEUE) |
                      (a->disk_low ? (unsigned)LEDS_FAULT_DISK : 0u);
    int rc = a->leds ? leds_update(a->leds, &a->ledst, now) : 0;
    if (a->button) {
        int presses = button_poll(a->button, now);
        for (int i = 0; i < presses; i++)
            button_pressed(a, now);
        if (presses < 0 && !rc)
            rc = presses;
    }
    if (a->hook) {
        int ev[8];
        int n = button_changes(a->hook, now, ev, 8);
        for (int i = 0; i < n; i++)
            handset_changed(a, ev[i], now);
        if (n < 0 && !rc)
            rc = n;
    }
    gpio_trouble(a, rc);
    /* A card not set up is "healthy" while the loop turns: a restart
       cannot put kiosk.conf on it, and its screen must stay up. */
    watchdog_pet(a->wd, a->setup || (a->queue && !(kf & KIOSK_FAULT_QUEUE)), now);
}

static int exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

static void resolve_paths(struct app *a)
{
    const char *env = getenv("HOMTHU_ASSETS");
    if (a->o.assets_dir)
        snprintf(a->assets, sizeof a->assets, "%s", a->o.assets_dir);
    else if (env && *env)
        snprintf(a->assets, sizeof a->assets, "%s", env);
    else if (exists("assets/prompts"))
        snprintf(a->assets, sizeof a->assets, "%s", "assets"); /* a source checkout */
    else
        snprintf(a->assets, sizeof a->assets, "%s", INSTALLED_ASSETS);
    if (a->o.font_path) {
        snprintf(a->font, sizeof a->font, "%s", a->o.font_path);
    } else {
        snprintf(a->font, sizeof a->font, "%s/../fonts/NotoSans-Regular.ttf", a->assets);
        if (!exists(a->font))
            snprintf(a->font, sizeof a->font, "%s", INSTALLED_FONT);
    }
}

static void load_langs(struct app *a, int *n)
{
    *n = 0;
    size_t count = a->i18n ? i18n_count(a->i18n) : 0;
    for (size_t i = 0; i < count && *n < UI_MAX_LANGS; i++) {
        struct i18n_lang_info info;
        if (i18n_lang(a->i18n, i, &info) != 0)
            continue;
        struct ui_lang *l = &a->langs[(*n)++];
        snprintf(l->code, sizeof l->code, "%s", info.code);
        snprintf(l->name, sizeof l->name, "%s", info.name);
        l->keyboard = (int)info.keyboard;
    }
    if (*n == 0) { /* no catalogs at all: Vietnamese msgids still work */
        snprintf(a->langs[0].code, sizeof a->langs[0].code, "vi");
        snprintf(a->langs[0].name, sizeof a->langs[0].name, "Tiếng Việt");
        a->langs[0].keyboard = 1;
        *n = 1;
    }
}

/*
 * kiosk.conf's defaults, for a card that has none (or an unusable one): the
 * kiosk still starts, to say what is missing. The LEDs are tried where
 * docs/leds.md wires them (gpiochip0, kiosk.conf's default lines), so the
 * red code shows on a Pi; no PIN (there is none to know).
 */
static int default_conf(struct kiosk_conf *out, char *err, size_t errlen)
{
    static const char text[] = "kiosk_id = not-set-up\n"
                               "post_key = AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n"
                               "led_chip = gpiochip0\n";
    struct config *c = NULL;
    int rc = config_load_mem(&c, "kiosk.conf (defaults)", text, sizeof text - 1, err, errlen);
    if (rc == 0)
        rc = config_read_kiosk(c, out, err, errlen);
    config_free(c);
    return rc;
}

/* The card is not set up: say why once in the log (the screen says it too). */
static void not_set_up(struct app *a, int problem, const char *why)
{
    a->setup = problem;
    snprintf(a->setup_why, sizeof a->setup_why, "%s", why);
    char line[800];
    snprintf(line, sizeof line,
             "not set up: %s; the kiosk shows what is missing (red %d) and takes no tips: write "
             "the card with homthu-provision card (docs/image.md)",
             why, UI_SETUP_LED_CODE);
    logline(a, line);
}

int app_open(struct app **out, const struct app_opts *o, char *err, size_t errlen)
{
    char why[512];
    struct config *cfg = NULL;
    struct app *a = calloc(1, sizeof *a);
    *out = NULL;
    if (!a) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    a->o = *o;
    if (o->audio)
        a->audio = *o->audio; /* ours to close until the kiosk takes it */
    resolve_paths(a);

    /* A card not (fully) set up is no reason to exit: systemd would
       restart the kiosk every few seconds in front of a black panel.
       It starts with the defaults and says what is missing. */
    struct stat st;
    if (config_load_file(&cfg, o->config_path, why, sizeof why) != 0 ||
        config_read_kiosk(cfg, &a->conf, why, sizeof why) != 0) {
        if (stat(o->config_path, &st) != 0)
            snprintf(why, sizeof why, "no %s", o->config_path);
        not_set_up(a, stat(o->config_path, &st) != 0 ? UI_SETUP_NO_CONF : UI_SETUP_BAD_CONF, why);
        memset(&a->conf, 0, sizeof a->conf);
        if (default_conf(&a->conf, err, errlen) != 0)
            goto fail;
    }
    config_free(cfg);
    cfg = NULL;

    if (!a->setup && keys_device_load(&a->device, a->conf.device_key_file, why, sizeof why) != 0)
        not_set_up(a, stat(a->conf.device_key_file, &st) != 0 ? UI_SETUP_NO_KEY : UI_SETUP_BAD_KEY,
                   why);
    if (!a->setup) {
        memcpy(a->tipkeys.post_pk, a->conf.post_key, 32);
        memcpy(a->tipkeys.device_sk, a->device->sk, 64);
    }

    /* The queue: a corrupt one is moved aside and a fresh one serves on.
       Without a usable kiosk.conf there is no data_dir to trust: none. */
    unsigned faults = 0;
    int no_conf = a->setup == UI_SETUP_NO_CONF || a->setup == UI_SETUP_BAD_CONF;
    if (no_conf) {
        a->queue = NULL;
    } else if (queue_open(&a->queue, a->conf.data_dir, &faults, why, sizeof why) != 0) {
        logline(a, why); /* the kiosk still shows its calm "cannot take tips" */
        a->queue = NULL;
    } else {
        if (faults & QUEUE_FAULT_RECREATED)
            logline(a, why);
        int recovered = 0, dropped = 0;
        /* Not set up: tips cut short wait for the key to be sealed. */
        if (a->device && queue_recover(a->queue, a->device->sk, (int64_t)time(NULL), &recovered,
                                       &dropped, why, sizeof why) != 0)
            logline(a, why);
        else if (recovered || dropped) {
            char line[160];
            snprintf(line, sizeof line,
                     "after a power cut: %d tip(s) sealed as cut short, %d empty one(s) dropped",
                     recovered, dropped);
            logline(a, line);
        }
    }

    if (prompts_load(&a->prompts, a->assets, why, sizeof why) != 0) {
        logline(a, why); /* silent kiosk, still usable */
        a->prompts = NULL;
    }
    why[0] = 0;
    int irc = i18n_load_dir(&a->i18n, a->assets, why, sizeof why);
    if (irc != 0) {
        logline(a, why); /* a broken catalog is skipped, the others serve */
        if (irc == I18N_E_ARG || irc == I18N_E_NOMEM)
            a->i18n = NULL;
    }

    struct audio_sdl_opts ao = {.handset_device = a->conf.handset_device};
    if (!o->audio && audio_sdl_open(&a->audio, &ao, why, sizeof why) != 0) {
        logline(a, why);
        memset(&a->audio, 0, sizeof a->audio); /* no sound at all: text still works */
    }
    struct audio_port audio = a->audio;
    open_gpio(a);
    /* A handset left off the hook at start routes its microphone but
       starts nothing: like the button, it must go down before it counts. */
    if (a->hook && button_poll(a->hook, now_ms(a)) >= 0)
        a->handset_lifted = button_down(a->hook);
    route_audio(a, a->handset_lifted);
    struct kiosk_opts ko = {
        .queue = a->queue,
        .keys = a->setup ? NULL : &a->tipkeys, /* none: "cannot take tips" */
        .audio = &audio,
        .prompts = a->prompts,
        .i18n = a->i18n,
        .opus_bitrate = a->conf.opus_bitrate,
        .max_record_seconds = a->conf.max_record_seconds,
        .training = a->conf.training,
        .volume = a->conf.volume,
        .log = o->log,
        .kiosk_id = a->conf.kiosk_id,
        .data_dir = no_conf ? NULL : a->conf.data_dir,
        .led_test = a->leds ? app_led_test : NULL,
        .led_ctx = a,
    };
    a->audio_given = 1; /* from here kiosk_free() closes it */
    if (kiosk_new(&a->kiosk, &ko, err, errlen) != 0)
        goto fail;
    kiosk_host(a->kiosk, &a->host);
    if (watchdog_open(&a->wd, why, sizeof why) != 0)
        logline(a, why); /* systemd will restart a kiosk it never hears from */

    a->w = o->width > 0 ? o->width : 800;
    a->h = o->height > 0 ? o->height : 480;
    double scale = a->w / 800.0 < a->h / 480.0 ? a->w / 800.0 : a->h / 480.0;
    struct render_opts ro = {
        .width = a->w,
        .height = a->h,
        .rotation = a->conf.screen_rotation,
        .fullscreen = !o->window,
        .software = o->software,
        .min_text_px = (int)(UI_MIN_TEXT_PX_800 * scale + 0.5),
        .font_path = a->font,
        .emoji_path = o->emoji_path ? o->emoji_path : DEFAULT_EMOJI,
        .title = "Hòm thư",
    };
    if (render_open(&a->render, &ro, err, errlen) != 0)
        goto fail;

    int nlangs;
    load_langs(a, &nlangs);
    struct ui_config uc = {
        .width = a->w,
        .height = a->h,
        .diagonal_inches = a->conf.screen_inches,
        .max_record_seconds = a->conf.max_record_seconds,
        .idle_seconds = a->conf.idle_seconds,
        .blank_seconds = a->conf.blank_seconds,
        .training = a->conf.training,
        .volume = a->conf.volume,
        .langs = a->langs,
        .nlangs = nlangs,
    };
    snprintf(uc.pin, sizeof uc.pin, "%s", a->conf.volunteer_pin);
    snprintf(uc.post_name, sizeof uc.post_name, "%s", a->conf.post_name);
    a->ui = ui_new(&uc, &a->host);
    if (!a->ui) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    ui_set_microphone(a->ui, kiosk_has_microphone(a->kiosk));
    if (a->setup)
        ui_set_setup(a->ui, a->setup, a->setup_why);
    signal(SIGTERM, on_term);
    signal(SIGINT, on_term);
    *out = a;
    return 0;
fail:
    config_free(cfg);
    if (!a->audio_given && a->audio.close)
        a->audio.close(a->audio.ctx);
    app_close(a);
    return -1;
}

void app_close(struct app *a)
{
    if (!a)
        return;
    leds_free(a->leds); /* dark: a stopped kiosk must not look alive */
    button_free(a->button);
    button_free(a->hook);
    gpio_close(&a->gpio);
    watchdog_free(a->wd);
    ui_free(a->ui);
    kiosk_free(a->kiosk); /* discards a tip in progress */
    render_close(a->render);
    prompts_free(a->prompts);
    i18n_free(a->i18n);
    queue_close(a->queue);
    keys_device_free(a->device);
    memset(&a->tipkeys, 0, sizeof a->tipkeys);
    free(a);
}

static void redraw(struct app *a, uint32_t *argb)
{
    ui_draw(a->ui, &a->frame);
    render_frame(a->render, &a->frame, ui_blanked(a->ui), argb);
    a->frames++;
    clock_gettime(CLOCK_MONOTONIC, &a->last_frame);
}

int app_step(struct app *a, int max_wait_ms)
{
    /* Wake often only while someone is recording; idle costs nothing. */
    int wait = kiosk_recording(a->kiosk) ? 40 : max_wait_ms;
    /* Wake for the LEDs' next change, and often enough that a press on
       the button answers at once (its edges are timed by the kernel). */
    if (a->leds && (int)leds_next_ms(a->leds, now_ms(a)) < wait)
        wait = (int)leds_next_ms(a->leds, now_ms(a));
    if ((a->button || a->hook) && wait > 50)
        wait = 50;
    struct render_event ev;
    render_wait(a->render, wait, &ev);
    if (ev.kind == RENDER_QUIT || quit_requested)
        return 1;
    /* The press acts (ui_press), the release only ends a press on the
       volunteer's corner, which opens the PIN when held (ui_tick). */
    if (ev.kind == RENDER_PRESS || ev.kind == RENDER_RELEASE)
        ui_press(a->ui, ev.x, ev.y, ev.kind == RENDER_PRESS, now_ms(a));
    tend_hardware(a, now_ms(a));
    kiosk_pump(a->kiosk);
    ui_tick(a->ui, now_ms(a));
    if (ui_dirty(a->ui) || ev.kind == RENDER_REDRAW)
        redraw(a, NULL);
    kiosk_speak(a->kiosk);
    return 0;
}

int app_run(struct app *a)
{
    redraw(a, NULL);
    kiosk_speak(a->kiosk);
    watchdog_ready(a->wd); /* the first screen is up: systemd may call us started */
    while (!app_step(a, 250))
        ;
    return 0;
}

void app_tap(struct app *a, int x, int y)
{
    ui_tap(a->ui, x, y, now_ms(a));
    kiosk_pump(a->kiosk);
    ui_tick(a->ui, now_ms(a));
    kiosk_speak(a->kiosk);
}

void app_snapshot(struct app *a, uint32_t *argb)
{
    redraw(a, argb);
}

void app_size(const struct app *a, int *w, int *h)
{
    *w = a->w;
    *h = a->h;
}

uint64_t app_frames(const struct app *a)
{
    return a->frames;
}

double app_last_frame_at(const struct app *a)
{
    return (double)a->last_frame.tv_sec + (double)a->last_frame.tv_nsec / 1e9;
}

struct ui *app_ui(struct app *a)
{
    return a->ui;
}

struct kiosk *app_kiosk(struct app *a)
{
    return a->kiosk;
}

struct ui_host *app_host(struct app *a)
{
    return &a->host;
}

struct queue *app_queue(struct app *a)
{
    return a->queue;
}
