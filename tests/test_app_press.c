/*
 * The assembled app as the panel drives it: touches come in as SDL events
 * (pushed onto SDL's queue as the touch driver would, through the panel's
 * rotation), a finger's press and its release apart, so that the
 * volunteer's corner opens the PIN only when held; the push button walks
 * the voice path; the post's name from kiosk.conf is on the start screen.
 * SDL's offscreen video, the fake audio and GPIO ports.
 */
#include "check.h"
#include "speech.h"

#include <SDL.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "core/keys.h"
#include "core/queue.h"
#include "kiosk/app.h"
#include "kiosk/audio.h"
#include "kiosk/gpio.h"
#include "kiosk/ui.h"

#define W 800
#define H 480

struct rig {
    char conf[4300], data[4300];
    struct app *app;
    struct gpio_fake *gpio;
    struct audio_fake *audio;
    uint32_t clock;
    int rotation;
};

static uint32_t fake_clock(void *ctx)
{
    return ((struct rig *)ctx)->clock;
}

/* A provisioned kiosk (PIN 2468, a push button on line 23) with `extra`
   lines in its kiosk.conf. */
static void rig_open(struct rig *r, const char *extra, const struct gpio_fake_step *button,
                     size_t nbutton)
{
    static int opened; /* a test may open two kiosks: each its own files */
    char err[512], name[64];
    memset(r, 0, sizeof *r);
    opened++;
    ASSERT(sodium_init() >= 0);
    uint8_t pk[32], sk[32];
    crypto_box_keypair(pk, sk);
    struct keys_device *dev;
    ASSERT_EQ(keys_device_generate(&dev, err, sizeof err), 0);
    snprintf(name, sizeof name, "device-%d.key", opened);
    ASSERT_EQ(keys_device_save(dev, check_path(name), err, sizeof err), 0);
    keys_device_free(dev);
    char b64[64];
    sodium_bin2base64(b64, sizeof b64, pk, 32, sodium_base64_VARIANT_ORIGINAL);
    snprintf(name, sizeof name, "data-%d", opened);
    snprintf(r->data, sizeof r->data, "%s", check_path(name));
    mkdir(r->data, 0700);
    char text[8192];
    snprintf(text, sizeof text,
             "kiosk_id = test-kiosk\npost_key = %s\ndevice_key_file = device-%d.key\n"
             "data_dir = %s\nvolunteer_pin = 2468\nled_chip = gpiochip0\nbutton_line = 23\n%s",
             b64, opened, r->data, extra ? extra : "");
    snprintf(name, sizeof name, "kiosk-%d.conf", opened);
    snprintf(r->conf, sizeof r->conf, "%s", check_path(name));
    check_write_file(r->conf, text, strlen(text));
    setenv("SDL_VIDEODRIVER", "offscreen", 1);

    struct gpio_port gp;
    ASSERT_EQ(gpio_fake_open(&gp, &r->gpio, 1), 0);
    ASSERT_EQ(gpio_fake_script(r->gpio, button, nbutton), 0);
    struct audio_port ap;
    ASSERT((r->audio = audio_fake_open(&ap)) != NULL);
    char assets[4300];
    snprintf(assets, sizeof assets, "%s/assets",
             getenv("HOMTHU_ROOT") ? getenv("HOMTHU_ROOT") : ".");
    struct app_opts o = {.config_path = r->conf, .window = 1, .software = 1, .width = W,
                         .height = H, .clock_ms = fake_clock, .clock_ctx = r,
                         .assets_dir = assets, .gpio = &gp, .audio = &ap};
    r->clock = 10;
    gpio_fake_set_now(r->gpio, r->clock);
    if (app_open(&r->app, &o, err, sizeof err) != 0)
        check_fail(__FILE__, __LINE__, "app_open: %s", err);
    /* What opening the window queued is not a touch. */
    SDL_PumpEvents();
    SDL_FlushEvents(SDL_FIRSTEVENT, SDL_LASTEVENT);
}

/* 10 ms turns of the loop until `until`; a prompt ends at the next turn. */
static void step_to(struct rig *r, uint32_t until)
{
    while ((int32_t)(until - r->clock) > 0) {
        r->clock += 10;
        gpio_fake_set_now(r->gpio, r->clock);
        audio_fake_end_playback(r->audio);
        app_step(r->app, 0);
    }
}

static const char *screen(struct rig *r)
{
    return ui_screen_name(ui_screen(app_ui(r->app)));
}

/* Where a target is, in the UI's logical coordinates, as the person sees it. */
static void find(struct rig *r, const char *label, int *x, int *y)
{
    static uint32_t pixels[W * H];
    app_snapshot(r->app, pixels);
    if (ui_find(app_ui(r->app), label, x, y) != 0)
        check_fail(__FILE__, __LINE__, "no \"%s\" on screen %s", label, screen(r));
}

/* The panel's pixel that shows logical (lx, ly), the inverse of the
   renderer's mapping for a panel hung at `rotation` degrees. */
static void physical(int rotation, int lx, int ly, int *px, int *py, int *pw, int *ph)
{
    int sideways = rotation == 90 || rotation == 270;
    *pw = sideways ? H : W;
    *ph = sideways ? W : H;
    switch (rotation) {
    case 90: *px = H - 1 - ly; *py = lx; break;
    case 180: *px = W - 1 - lx; *py = H - 1 - ly; break;
    case 270: *px = ly; *py = W - 1 - lx; break;
    default: *px = lx; *py = ly; break;
    }
}

/* A finger down (1) or up (0) at logical (lx, ly), as the touch driver
   reports it: normalised to the panel, in the panel's own orientation. */
static void finger(struct rig *r, int down, int lx, int ly)
{
    int px, py, pw, ph;
    physical(r->rotation, lx, ly, &px, &py, &pw, &ph);
    SDL_Event e = {.type = down ? SDL_FINGERDOWN : SDL_FINGERUP};
    e.tfinger.x = (px + 0.5f) / pw;
    e.tfinger.y = (py + 0.5f) / ph;
    e.tfinger.pressure = down ? 1.0f : 0.0f;
    ASSERT_EQ(SDL_PushEvent(&e), 1);
    step_to(r, r->clock + 10); /* one turn takes one event */
}

/* The mouse of a desktop window (make run), its button down or up. */
static void mouse(struct rig *r, int down, int lx, int ly)
{
    int px, py, pw, ph;
    physical(r->rotation, lx, ly, &px, &py, &pw, &ph);
    SDL_Event e = {.type = down ? SDL_MOUSEBUTTONDOWN : SDL_MOUSEBUTTONUP};
    e.button.button = SDL_BUTTON_LEFT;
    e.button.state = down ? SDL_PRESSED : SDL_RELEASED;
    e.button.clicks = 1;
    e.button.x = px;
    e.button.y = py;
    ASSERT_EQ(SDL_PushEvent(&e), 1);
    step_to(r, r->clock + 10);
}

TEST(test_app_press_held_in_the_corner_opens_the_pin_on_a_panel_hung_sideways)
{
    struct rig r;
    rig_open(&r, "screen_rotation = 90\n", NULL, 0);
    r.rotation = 90;
    step_to(&r, 1000);
    ASSERT_STR_EQ(screen(&r), "start");
    int x, y;
    find(&r, "volunteer", &x, &y); /* the top left corner, nothing drawn there */
    finger(&r, 1, x, y);
    uint32_t down = r.clock;
    step_to(&r, down + UI_LONG_PRESS_MS - 200);
    ASSERT_STR_EQ(screen(&r), "start"); /* still held: nothing yet */
    step_to(&r, down + UI_LONG_PRESS_MS + 200);
    ASSERT_STR_EQ(screen(&r), "pin"); /* held long enough, before the finger lifts */
    finger(&r, 0, x, y);
    step_to(&r, r.clock + 500);
    ASSERT_STR_EQ(screen(&r), "pin"); /* lifting it there touches nothing of the PIN screen */
    app_close(r.app);
}

TEST(test_app_press_short_tap_in_the_corner_does_not_open_the_pin)
{
    struct rig r;
    rig_open(&r, NULL, NULL, 0);
    step_to(&r, 1000);
    int x, y;
    find(&r, "volunteer", &x, &y);
    int said = audio_fake_play_count(r.audio);
    finger(&r, 1, x, y);
    step_to(&r, r.clock + 300);
    finger(&r, 0, x, y);
    step_to(&r, r.clock + 3 * UI_LONG_PRESS_MS);
    ASSERT_STR_EQ(screen(&r), "start");
    /* It was a tap on the start screen: the welcome is said, as anywhere. */
    ASSERT(audio_fake_play_count(r.audio) > said);
    /* Nor a click of the desktop window's mouse, held and let go. */
    mouse(&r, 1, x, y);
    step_to(&r, r.clock + 1000);
    mouse(&r, 0, x, y);
    step_to(&r, r.clock + 3 * UI_LONG_PRESS_MS);
    ASSERT_STR_EQ(screen(&r), "start");
    /* Held, the mouse opens it too. */
    mouse(&r, 1, x, y);
    step_to(&r, r.clock + UI_LONG_PRESS_MS + 200);
    ASSERT_STR_EQ(screen(&r), "pin");
    mouse(&r, 0, x, y);
    app_close(r.app);
}

TEST(test_app_press_a_button_acts_when_touched_not_when_let_go)
{
    struct rig r;
    rig_open(&r, "screen_rotation = 270\n", NULL, 0);
    r.rotation = 270;
    step_to(&r, 1000);
    int x, y;
    find(&r, "lang:hmn", &x, &y);
    finger(&r, 1, x, y);
    ASSERT_STR_EQ(screen(&r), "speak"); /* the finger is still down */
    step_to(&r, r.clock + 400);
    finger(&r, 0, x, y);
    step_to(&r, r.clock + 400);
    ASSERT_STR_EQ(screen(&r), "speak");
    /* and one touch is one action: back, then the language again */
    find(&r, "back", &x, &y);
    finger(&r, 1, x, y);
    finger(&r, 0, x, y);
    step_to(&r, r.clock + 400);
    ASSERT_STR_EQ(screen(&r), "start");
    app_close(r.app);
}

static int count_sealed(void *ctx, const struct queue_tip *t)
{
    if (t->state == QUEUE_SEALED)
        ++*(int *)ctx;
    return 0;
}

/* The push button alone, from a dark screen: a tip in language_default
   (Hmong here), recorded, done, sent. */
TEST(test_app_press_the_push_button_walks_the_voice_path_from_a_dark_screen)
{
    static const struct gpio_fake_step presses[] = {
        {40000, 1}, {40100, 0}, /* wakes, and starts a tip in Hmong */
        {43000, 1}, {43100, 0}, /* record */
        {47000, 1}, {47100, 0}, /* done */
        {49000, 1}, {49100, 0}, /* send */
    };
    struct rig r;
    rig_open(&r, "blank_seconds = 30\nlanguage_default = hmn\n", presses,
             sizeof presses / sizeof *presses);
    static int16_t speech[16000 * 8];
    memcpy(speech, speech_pcm(), sizeof speech);
    ASSERT_EQ(audio_fake_feed(r.audio, speech, sizeof speech / 2, 1600), 0);
    step_to(&r, 39000);
    ASSERT_STR_EQ(screen(&r), "blank");
    step_to(&r, 42000);
    ASSERT_STR_EQ(screen(&r), "speak");
    step_to(&r, 46000);
    ASSERT_STR_EQ(screen(&r), "recording");
    step_to(&r, 48000);
    ASSERT_STR_EQ(screen(&r), "review");
    step_to(&r, 50000);
    ASSERT_STR_EQ(screen(&r), "sent");
    int sealed = 0;
    ASSERT_EQ(queue_foreach(app_queue(r.app), count_sealed, &sealed), 0);
    ASSERT_EQ(sealed, 1);
    app_close(r.app);
}

/* The text commands of the start screen, as the renderer gets them. */
static int start_screen_shows(struct rig *r, const char *words)
{
    static struct ui_draw_list dl;
    ui_draw(app_ui(r->app), &dl);
    for (int i = 0; i < dl.n; i++)
        if (dl.cmds[i].kind == UI_DRAW_TEXT && strcmp(dl.cmds[i].text, words) == 0)
            return 1;
    return 0;
}

TEST(test_app_press_the_start_screen_names_the_post_of_kiosk_conf)
{
    const char *name = "\xc4\x90\xe1\xbb\x93n Bi\xc3\xaan ph\xc3\xb2ng Pa Vi";
    char extra[128];
    snprintf(extra, sizeof extra, "post_name = \"%s\"\n", name);
    struct rig r;
    rig_open(&r, extra, NULL, 0);
    step_to(&r, 500);
    ASSERT_STR_EQ(screen(&r), "start");
    ASSERT(start_screen_shows(&r, name));
    app_close(r.app);

    /* Without one: the general words, no post named. */
    rig_open(&r, NULL, NULL, 0);
    step_to(&r, 500);
    ASSERT(!start_screen_shows(&r, name));
    ASSERT(start_screen_shows(&r, "H\xc3\xb2m th\xc6\xb0 b\xc3\xa1o tin c\xe1\xbb\xa7"
                                  "a \xc4\x90\xe1\xbb\x93n Bi\xc3\xaan ph\xc3\xb2ng"));
    app_close(r.app);
}
