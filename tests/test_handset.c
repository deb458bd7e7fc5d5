/*
 * The telephone handset (issue 10, part 6) and the microphone's discretion
 * (part 7), through the fake GPIO port (the hook switch, the button) and
 * the fake audio port (which device each sound went to, how often the
 * microphone was opened and closed). The whole app runs headless (SDL's
 * offscreen video); only the audio is fake.
 */
#include "check.h"
#include "speech.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "core/config.h"
#include "core/keys.h"
#include "core/queue.h"
#include "kiosk/app.h"
#include "kiosk/audio.h"
#include "kiosk/gpio.h"
#include "kiosk/kiosk.h"
#include "kiosk/ui.h"

#define POST_KEY_B64 "g07GJHdmgCISZ3eyNdeOH/FAZ4F6A+j9q+B/Dr96PlM="

/* ---- kiosk.conf ---- */

static const char *read_conf(const char *extra, struct kiosk_conf *k)
{
    static char err[512];
    char text[1024];
    snprintf(text, sizeof text, "kiosk_id = a\npost_key = %s\n%s", POST_KEY_B64, extra);
    struct config *c = NULL;
    err[0] = 0;
    ASSERT_EQ(config_load_mem(&c, "kiosk.conf", text, strlen(text), err, sizeof err), 0);
    if (config_read_kiosk(c, k, err, sizeof err) == 0)
        err[0] = 0;
    config_free(c);
    return err;
}

TEST(test_handset_config_reads_the_hook_and_the_sound_card)
{
    struct kiosk_conf k;
    ASSERT_STR_EQ(read_conf("", &k), "");
    ASSERT_EQ(k.handset_hook_line, -1);
    ASSERT_EQ(k.handset_hook_active_low, 1);
    ASSERT_STR_EQ(k.handset_device, "");
    ASSERT_STR_EQ(read_conf("led_chip = gpiochip0\nhandset_hook_line = 24\n"
                            "handset_device = \"USB Audio Device\"\n",
                            &k),
                  "");
    ASSERT_EQ(k.handset_hook_line, 24);
    ASSERT_EQ(k.handset_hook_active_low, 1);
    ASSERT_STR_EQ(k.handset_hook_chip, "");
    ASSERT_STR_EQ(k.handset_device, "USB Audio Device");
    /* Its own chip, wired the other way; the button's line 23 is elsewhere. */
    ASSERT_STR_EQ(read_conf("led_chip = gpiochip0\nhandset_hook_chip = 1\nhandset_hook_line = 23\n"
                            "handset_hook_active_low = no\nhandset_device = C-Media\n",
                            &k),
                  "");
    ASSERT_STR_EQ(k.handset_hook_chip, "1");
    ASSERT_EQ(k.handset_hook_line, 23);
    ASSERT_EQ(k.handset_hook_active_low, 0);
}

TEST(test_handset_config_refuses_half_a_handset_and_shared_lines)
{
    struct kiosk_conf k;
    static const struct {
        const char *extra, *err;
    } cases[] = {
        {"led_chip = gpiochip0\nhandset_hook_line = 24\n",
         "kiosk.conf: handset_hook_line is set but handset_device is missing: add a line "
         "\"handset_device = ...\" with a part of the handset's sound card name as the kiosk's "
         "log lists it (\"audio: 2 playback device(s): ...\")"},
        {"handset_device = USB\n",
         "kiosk.conf: handset_device is set but handset_hook_line is missing: the kiosk must know "
         "when the handset is lifted (the GPIO line of its hook switch, docs/leds.md)"},
        {"handset_hook_line = 24\nhandset_device = USB\n",
         "kiosk.conf: handset_hook_line is set but no GPIO chip is named: set handset_hook_chip "
         "(or led_chip)"},
        {"led_chip = gpiochip0\nhandset_hook_line = 27\nhandset_device = USB\n",
         "kiosk.conf: handset_hook_line and led_amber are both line 27: give the hook switch its "
         "own line"},
        {"led_chip = 0\nhandset_hook_chip = /dev/gpiochip0\nhandset_hook_line = 23\n"
         "handset_device = USB\n",
         "kiosk.conf: handset_hook_line and button_line are both line 23: give the hook switch "
         "its own line (or set button_line = -1 when there is no button)"},
        {"led_chip = gpiochip0\nhandset_hook_line = 1024\nhandset_device = USB\n",
         "kiosk.conf: handset_hook_line = 1024 is out of range (-1\xe2\x80\x93" "1023)"},
        {"led_chip = gpiochip0\nhandset_hook_line = 24\nhandset_device = USB\n"
         "handset_hook_active_low = maybe\n",
         NULL},
        {"handset_hook_chip = gpio chip\nhandset_hook_line = 24\nhandset_device = USB\n",
         "kiosk.conf: handset_hook_chip = gpio chip is not a GPIO chip (like gpiochip0; "
         "`gpiodetect` lists them; empty: the same as led_chip)"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *err = read_conf(cases[i].extra, &k);
        if (cases[i].err)
            ASSERT_STR_EQ(err, cases[i].err);
        else
            ASSERT_CONTAINS(err, "handset_hook_active_low");
    }
    char longname[300];
    snprintf(longname, sizeof longname,
             "led_chip = gpiochip0\nhandset_hook_line = 24\nhandset_device = %0200d\n", 7);
    ASSERT_CONTAINS(read_conf(longname, &k), "handset_device is longer than 127 bytes");
}

/* ---- the app with a handset ---- */

struct rig {
    char conf[4300], data[4300];
    struct app *app;
    uint32_t clock;
    struct gpio_fake *gpio;
    struct audio_fake *audio;
    char log[64][200];
    int nlog;
};

static struct rig *the_rig; /* app_opts.log has no context */

static void rig_log(const char *line)
{
    struct rig *r = the_rig;
    if (r && r->nlog < 64)
        snprintf(r->log[r->nlog++], sizeof r->log[0], "%s", line);
}

static int logged(const struct rig *r, const char *line)
{
    int n = 0;
    for (int i = 0; i < r->nlog; i++)
        n += strcmp(r->log[i], line) == 0;
    return n;
}

static uint32_t fake_clock(void *ctx)
{
    return ((struct rig *)ctx)->clock;
}

/* A provisioned kiosk with one handset on line 24 and a button on 23. */
static void rig_open(struct rig *r, const struct gpio_fake_step *hook, size_t nhook,
                     const struct gpio_fake_step *button, size_t nbutton, int handset_plugged)
{
    char err[512];
    memset(r, 0, sizeof *r);
    the_rig = r;
    ASSERT(sodium_init() >= 0);
    uint8_t pk[32], sk[32];
    crypto_box_keypair(pk, sk);
    struct keys_device *dev;
    ASSERT_EQ(keys_device_generate(&dev, err, sizeof err), 0);
    ASSERT_EQ(keys_device_save(dev, check_path("device.key"), err, sizeof err), 0);
    keys_device_free(dev);
    char b64[64];
    sodium_bin2base64(b64, sizeof b64, pk, 32, sodium_base64_VARIANT_ORIGINAL);
    snprintf(r->data, sizeof r->data, "%s", check_path("data"));
    mkdir(r->data, 0700);
    char text[8192];
    snprintf(text, sizeof text,
             "kiosk_id = test-kiosk\npost_key = %s\ndevice_key_file = device.key\n"
             "data_dir = %s\nvolunteer_pin = 2468\nled_chip = gpiochip0\nbutton_line = 23\n"
             "handset_hook_line = 24\nhandset_device = USB Handset\n",
             b64, r->data);
    snprintf(r->conf, sizeof r->conf, "%s", check_path("kiosk.conf"));
    check_write_file(r->conf, text, strlen(text));
    setenv("SDL_VIDEODRIVER", "offscreen", 1);

    struct gpio_port gp;
    ASSERT_EQ(gpio_fake_open(&gp, &r->gpio, 1), 0);
    ASSERT_EQ(gpio_fake_script_hook(r->gpio, hook, nhook), 0);
    ASSERT_EQ(gpio_fake_script(r->gpio, button, nbutton), 0);
    struct audio_port ap;
    ASSERT((r->audio = audio_fake_open(&ap)) != NULL);
    audio_fake_set_handset(r->audio, handset_plugged);

    char assets[4300];
    snprintf(assets, sizeof assets, "%s/assets",
             getenv("HOMTHU_ROOT") ? getenv("HOMTHU_ROOT") : ".");
    struct app_opts o = {.config_path = r->conf, .window = 1, .software = 1, .width = 800,
                         .height = 480, .clock_ms = fake_clock, .clock_ctx = r,
                         .assets_dir = assets, .log = rig_log, .gpio = &gp, .audio = &ap};
    r->clock = 10;
    gpio_fake_set_now(r->gpio, r->clock);
    if (app_open(&r->app, &o, err, sizeof err) != 0)
        check_fail(__FILE__, __LINE__, "app_open: %s", err);
}

static void rig_close(struct rig *r)
{
    app_close(r->app);
    the_rig = NULL;
}

/* Time passes in 10 ms turns of the loop; a prompt "ends" when the next
   turn comes (the fake plays instantly), so the UI's flow goes on. */
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

static int tap(struct rig *r, const char *label)
{
    static uint32_t pixels[800 * 480];
    int x, y;
    app_snapshot(r->app, pixels); /* lay out what the person sees */
    if (ui_find(app_ui(r->app), label, &x, &y) != 0)
        return -1;
    app_tap(r->app, x, y);
    return 0;
}

/* From wherever the flow is to a running recording, by the fewest touches
   the screens offer (the handset's flow may need none). */
static void to_recording(struct rig *r)
{
    static const char *const way[] = {"record", "cat:1", "lang:vi", "start"};
    for (int turn = 0; turn < 200 && strcmp(screen(r), "recording") != 0; turn++) {
        step_to(r, r->clock + 50);
        if (strcmp(screen(r), "recording") == 0)
            break;
        for (size_t i = 0; i < sizeof way / sizeof way[0]; i++)
            if (tap(r, way[i]) == 0)
                break;
    }
    ASSERT_STR_EQ(screen(r), "recording");
}

static int count_tips(void *ctx, const struct queue_tip *t)
{
    if (t->state == QUEUE_SEALED)
        ++*(int *)ctx;
    return 0;
}

static int sealed_tips(struct rig *r)
{
    int n = 0;
    ASSERT_EQ(queue_foreach(app_queue(r->app), count_tips, &n), 0);
    return n;
}

TEST(test_handset_lift_wakes_the_kiosk_once_after_debounce_and_speaks_in_the_earpiece)
{
    /* Lifted at 3000 with a rattle: it holds from 3020. */
    static const struct gpio_fake_step hook[] = {
        {3000, 1}, {3004, 0}, {3009, 1}, {3013, 0}, {3020, 1},
    };
    struct rig r;
    rig_open(&r, hook, 5, NULL, 0, 1);
    int cap;
    /* Present but hung up: the earpiece plays, the room's microphone would record. */
    ASSERT_EQ(audio_fake_route(r.audio, &cap), AUDIO_ROUTE_HANDSET);
    ASSERT_EQ(cap, AUDIO_ROUTE_ROOM);
    step_to(&r, 3100);
    ASSERT_STR_EQ(screen(&r), "start");
    ASSERT_EQ(logged(&r, "handset lifted"), 0);
    /* The idle kiosk is quiet: anything played from now on answers the lift. */
    ASSERT_EQ(audio_fake_play_count(r.audio), 0);
    step_to(&r, 3120); /* 100 ms held */
    ASSERT_EQ(logged(&r, "handset lifted"), 1);
    ASSERT_EQ(audio_fake_route(r.audio, &cap), AUDIO_ROUTE_HANDSET);
    ASSERT_EQ(cap, AUDIO_ROUTE_HANDSET);
    step_to(&r, 6000);
    ASSERT_EQ(logged(&r, "handset lifted"), 1);
    /* Spoken, and only in the earpiece: the waiting room heard nothing. */
    ASSERT(audio_fake_play_count_on(r.audio, AUDIO_ROUTE_HANDSET) > 0);
    ASSERT_EQ(audio_fake_play_count_on(r.audio, AUDIO_ROUTE_ROOM), 0);
    rig_close(&r);
}

TEST(test_handset_prompts_never_reach_the_room_speaker_on_the_touch_path)
{
    struct rig r;
    rig_open(&r, NULL, 0, NULL, 0, 1);
    step_to(&r, 1000);
    ASSERT_EQ(tap(&r, "start") == 0 || tap(&r, "lang:vi") == 0, 1);
    step_to(&r, 2000);
    tap(&r, "lang:vi");
    step_to(&r, 3000);
    tap(&r, "cat:1");
    step_to(&r, 4000);
    ASSERT(audio_fake_play_count_on(r.audio, AUDIO_ROUTE_HANDSET) > 0);
    ASSERT_EQ(audio_fake_play_count_on(r.audio, AUDIO_ROUTE_ROOM), 0);
    rig_close(&r);
}

TEST(test_handset_without_its_sound_card_the_room_serves_and_the_log_says_why)
{
    static const struct gpio_fake_step hook[] = {{2000, 1}};
    struct rig r;
    rig_open(&r, hook, 1, NULL, 0, 0);
    int cap;
    ASSERT_EQ(audio_fake_route(r.audio, &cap), AUDIO_ROUTE_ROOM);
    ASSERT_EQ(cap, AUDIO_ROUTE_ROOM);
    int said = 0;
    for (int i = 0; i < r.nlog; i++)
        said += strstr(r.log[i], "handset: the handset's sound card is not plugged in: the "
                                 "kiosk's speaker and microphone serve") != NULL;
    ASSERT(said >= 1); /* at start, and again at each lift */
    ASSERT_EQ(audio_fake_play_count(r.audio), 0);
    step_to(&r, 4000);
    ASSERT_EQ(logged(&r, "handset lifted"), 1);
    /* The kiosk still answers, from the room's speaker. */
    ASSERT(audio_fake_play_count_on(r.audio, AUDIO_ROUTE_ROOM) > 0);
    ASSERT_EQ(audio_fake_play_count_on(r.audio, AUDIO_ROUTE_HANDSET), 0);
    rig_close(&r);
}

TEST(test_handset_a_bouncing_hook_does_not_start_two_tips)
{
    /* Lifted with a rattle, held; dropped back with a rattle, a knock on
       the cradle later (40 ms: no one lifts a handset for that long). */
    static const struct gpio_fake_step hook[] = {
        {2000, 1}, {2010, 0}, {2030, 1}, {2035, 0}, {2060, 1},
        {9000, 0}, {9020, 1}, {9030, 0}, {9045, 1}, {9050, 0},
        {12000, 1}, {12040, 0},
    };
    struct rig r;
    rig_open(&r, hook, sizeof hook / sizeof hook[0], NULL, 0, 1);
    static int16_t speech[16000 * 8];
    memcpy(speech, speech_pcm(), sizeof speech);
    ASSERT_EQ(audio_fake_feed(r.audio, speech, sizeof speech / 2, 1600), 0);
    step_to(&r, 2300);
    ASSERT_EQ(logged(&r, "handset lifted"), 1);
    to_recording(&r);
    ASSERT(r.clock < 9000);
    step_to(&r, 8900);
    /* One tip was begun: the microphone opened once, for it. */
    ASSERT_EQ(audio_fake_capture_opens(r.audio, NULL, NULL), 1);
    step_to(&r, 14000);
    ASSERT_EQ(logged(&r, "handset lifted"), 1);
    ASSERT_EQ(logged(&r, "handset hung up"), 1);
    ASSERT(sealed_tips(&r) <= 1);
    rig_close(&r);
}

TEST(test_handset_hung_up_mid_recording_keeps_the_tip)
{
    static const struct gpio_fake_step hook[] = {{2000, 1}, {20000, 0}};
    struct rig r;
    rig_open(&r, hook, 2, NULL, 0, 1);
    static int16_t speech[16000 * 20];
    memcpy(speech, speech_pcm(), sizeof speech);
    ASSERT_EQ(audio_fake_feed(r.audio, speech, sizeof speech / 2, 1600), 0);
    step_to(&r, 2200);
    to_recording(&r);
    int route;
    ASSERT_EQ(audio_fake_capture_opens(r.audio, NULL, &route), 1);
    ASSERT_EQ(route, AUDIO_ROUTE_HANDSET); /* the handset's microphone, not the room's */
    for (int i = 0; i < 400 && kiosk_seconds(app_kiosk(r.app)) < 2.0; i++)
        step_to(&r, r.clock + 10);
    ASSERT(kiosk_seconds(app_kiosk(r.app)) >= 2.0);
    ASSERT(r.clock < 19000);
    step_to(&r, 20200);
    ASSERT_EQ(logged(&r, "handset hung up"), 1);
    ASSERT(!audio_fake_capturing(r.audio));
    ASSERT_EQ(sealed_tips(&r), 1);
    int cap;
    ASSERT_EQ(audio_fake_route(r.audio, &cap), AUDIO_ROUTE_HANDSET);
    ASSERT_EQ(cap, AUDIO_ROUTE_ROOM);
    rig_close(&r);
}

TEST(test_handset_microphone_is_closed_while_idle_and_open_only_while_recording)
{
    struct rig r;
    rig_open(&r, NULL, 0, NULL, 0, 1);
    static int16_t speech[16000 * 4];
    memcpy(speech, speech_pcm(), sizeof speech);
    ASSERT_EQ(audio_fake_feed(r.audio, speech, sizeof speech / 2, 1600), 0);
    int closes;
    step_to(&r, 5000);
    ASSERT_EQ(audio_fake_capture_opens(r.audio, &closes, NULL), 0);
    ASSERT(!audio_fake_capturing(r.audio));
    to_recording(&r);
    ASSERT_EQ(audio_fake_capture_opens(r.audio, &closes, NULL), 1);
    ASSERT_EQ(closes, 0);
    ASSERT(audio_fake_capturing(r.audio));
    for (int i = 0; i < 400 && kiosk_seconds(app_kiosk(r.app)) < 1.0; i++)
        step_to(&r, r.clock + 10);
    ASSERT(tap(&r, "stop") == 0 || tap(&r, "done") == 0 || tap(&r, "send") == 0);
    step_to(&r, r.clock + 500);
    ASSERT(!audio_fake_capturing(r.audio));
    ASSERT_EQ(audio_fake_capture_opens(r.audio, &closes, NULL), 1);
    ASSERT_EQ(closes, 1);
    /* Listening back and idling open nothing. */
    tap(&r, "play");
    step_to(&r, r.clock + 5000);
    ASSERT_EQ(audio_fake_capture_opens(r.audio, &closes, NULL), 1);
    rig_close(&r);
}

TEST(test_handset_push_button_on_the_start_screen_starts_a_tip)
{
    static const struct gpio_fake_step press[] = {{3000, 1}, {3002, 0}, {3004, 1}, {3200, 0}};
    struct rig r;
    rig_open(&r, NULL, 0, press, 4, 1);
    step_to(&r, 2900);
    ASSERT_STR_EQ(screen(&r), "start");
    step_to(&r, 3300);
    ASSERT(strcmp(screen(&r), "start") != 0);
    ASSERT(strcmp(screen(&r), "blank") != 0);
    rig_close(&r);
}
