/*
 * The whole kiosk, headless: SDL's offscreen video driver with the software
 * renderer and SDL's disk audio driver with test speech as the microphone.
 * Scripted taps drive whole flows; the queue must then hold a tip that
 * decrypts with the post key to the spoken audio, category and language.
 */
#include "check.h"
#include "speech.h"

#include <math.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kiosk/app.h"
#include "core/envelope.h"
#include "kiosk/gpio.h"
#include "core/keys.h"
#include "kiosk/kiosk.h"
#include "core/queue.h"
#include "kiosk/ui.h"

struct rig {
    struct envelope_post_key post;
    char conf[4300];
    char data[4300];
    char mic[4300];
    struct app *app;
    uint32_t clock;
};

static uint32_t fake_clock(void *ctx)
{
    return ((struct rig *)ctx)->clock;
}

/* A provisioned kiosk in the test dir, and the speech as its microphone. */
static void rig_setup(struct rig *r, const char *extra_conf, int with_mic)
{
    char err[512];
    ASSERT(sodium_init() >= 0);
    crypto_box_keypair(r->post.pk, r->post.sk);
    struct keys_device *dev;
    ASSERT_EQ(keys_device_generate(&dev, err, sizeof err), 0);
    ASSERT_EQ(keys_device_save(dev, check_path("device.key"), err, sizeof err), 0);
    keys_device_free(dev);
    char b64[64];
    sodium_bin2base64(b64, sizeof b64, r->post.pk, 32, sodium_base64_VARIANT_ORIGINAL);
    snprintf(r->data, sizeof r->data, "%s", check_path("data"));
    mkdir(r->data, 0700);
    char text[8192];
    snprintf(text, sizeof text,
             "kiosk_id = test-kiosk\npost_key = %s\ndevice_key_file = device.key\n"
             "data_dir = %s\nvolunteer_pin = 2468\n%s",
             b64, r->data, extra_conf ? extra_conf : "");
    snprintf(r->conf, sizeof r->conf, "%s", check_path("kiosk.conf"));
    check_write_file(r->conf, text, strlen(text));

    /* The microphone hears the test speech (16 kHz mono s16, as captured). */
    snprintf(r->mic, sizeof r->mic, "%s", check_path("mic.raw"));
    check_write_file(r->mic, speech_pcm(), (size_t)SPEECH_SAMPLES * 2);
    setenv("SDL_VIDEODRIVER", "offscreen", 1);
    /* No microphone: SDL's disk driver finds no input file to capture from. */
    setenv("SDL_AUDIODRIVER", "disk", 1);
    setenv("SDL_DISKAUDIOFILEIN", with_mic ? r->mic : check_path("unplugged.raw"), 1);
    setenv("SDL_DISKAUDIOFILE", check_path("speaker.raw"), 1);
    unsetenv("SDL_DISKAUDIODELAY"); /* real-time pacing, like a microphone */
}

static void rig_open(struct rig *r)
{
    char err[512];
    struct app_opts o = {.config_path = r->conf, .window = 1, .software = 1,
                         .width = 800, .height = 480, .clock_ms = fake_clock,
                         .clock_ctx = r};
    char assets[4300];
    snprintf(assets, sizeof assets, "%s/assets", getenv("HOMTHU_ROOT") ? getenv("HOMTHU_ROOT")
                                                                        : ".");
    o.assets_dir = assets;
    if (app_open(&r->app, &o, err, sizeof err) != 0)
        check_fail(__FILE__, __LINE__, "app_open: %s", err);
}

static void tap(struct rig *r, const char *label)
{
    static uint32_t pixels[1024 * 600];
    struct ui *ui = app_ui(r->app);
    int x, y;
    app_snapshot(r->app, pixels); /* lay out what the person sees */
    if (ui_find(ui, label, &x, &y) != 0)
        check_fail(__FILE__, __LINE__, "no \"%s\" on screen %s", label,
                   ui_screen_name(ui_screen(ui)));
    app_tap(r->app, x, y);
}

static const char *screen(struct rig *r)
{
    return ui_screen_name(ui_screen(app_ui(r->app)));
}

struct opened {
    struct envelope_meta meta;
    uint8_t when;
    int unconfirmed; /* the person spoke and left without "done" */
    struct ogg_buf ogg;
    char text[512];
    int rc;
    char err[512];
};

static void o_meta(void *ctx, const struct envelope_meta *m)
{
    ((struct opened *)ctx)->meta = *m;
}

static void o_audio(void *ctx, const uint8_t *b, size_t n)
{
    ogg_buf_add(&((struct opened *)ctx)->ogg, b, n);
}

static void o_text(void *ctx, const uint8_t *b, size_t n)
{
    struct opened *o = ctx;
    snprintf(o->text, sizeof o->text, "%.*s", (int)n, (const char *)b);
}

static void o_when(void *ctx, uint8_t w)
{
    ((struct opened *)ctx)->when = w;
}

/* As the post console does: the picture chosen after speaking wins over META's. */
static void o_category(void *ctx, uint8_t c)
{
    ((struct opened *)ctx)->meta.category = c;
}

static void o_unconfirmed(void *ctx)
{
    ((struct opened *)ctx)->unconfirmed = 1;
}

struct collect {
    uint8_t ids[16][16];
    int n;
};

static int collect_tip(void *ctx, const struct queue_tip *t)
{
    struct collect *c = ctx;
    if (c->n < 16)
        memcpy(c->ids[c->n++], t->id, 16);
    return 0;
}

/* Read the only tip in the queue with the post key. */
static void open_only_tip(struct rig *r, struct queue *q, struct opened *o)
{
    struct collect c = {.n = 0};
    memset(o, 0, sizeof *o);
    ASSERT_EQ(queue_foreach(q, collect_tip, &c), 0);
    ASSERT_EQ(c.n, 1);
    struct queue_tip t;
    ASSERT_EQ(queue_get_tip(q, c.ids[0], &t), 0);
    ASSERT_EQ(t.state, QUEUE_SEALED);
    uint8_t *env = malloc(t.bytes);
    size_t got;
    char err[256];
    ASSERT_EQ(queue_read(q, c.ids[0], 0, env, t.bytes, &got, err, sizeof err), 0);
    ASSERT_EQ(got, t.bytes);
    struct envelope_reader *rd;
    struct envelope_reader_opts ro = {
        .keys = &r->post, .nkeys = 1,
        .records = {.meta = o_meta, .audio = o_audio, .text = o_text, .when = o_when,
                    .unconfirmed = o_unconfirmed, .category = o_category, .ctx = o}};
    ASSERT_EQ(envelope_reader_new(&rd, &ro), 0);
    o->rc = envelope_reader_feed(rd, env, got, o->err, sizeof o->err);
    if (o->rc == 0)
        o->rc = envelope_reader_finish(rd, o->err, sizeof o->err);
    envelope_reader_free(rd);
    free(env);
}

/* Normalised correlation of the decoded tip with the speech, best lag. */
static double likeness_to_speech(const float *pcm48, size_t n48)
{
    const int16_t *s = speech_pcm();
    size_t n = n48 / 3; /* 48 kHz → 16 kHz by taking every third sample: enough here */
    if (n > 16000 * 2)
        n = 16000 * 2;
    double best = 0;
    for (int lag = 0; lag < 16000 / 2; lag += 8) {
        double xy = 0, xx = 0, yy = 0;
        for (size_t i = 0; i + lag < n; i += 4) {
            double x = pcm48[(i + lag) * 3], y = s[i] / 32768.0;
            xy += x * y;
            xx += x * x;
            yy += y * y;
        }
        double c = xx > 0 && yy > 0 ? xy / sqrt(xx * yy) : 0;
        if (c > best)
            best = c;
    }
    return best;
}

static void record_for(struct rig *r, double seconds)
{
    /* tip seconds are audio time: the disk driver paces it like a microphone */
    for (int i = 0; i < 3000; i++) {
        app_step(r->app, 20);
        if (kiosk_seconds(app_kiosk(r->app)) >= seconds)
            return;
    }
    check_fail(__FILE__, __LINE__, "the microphone gave no %.1f s of audio", seconds);
}

static void voice_flow(const char *lang, int category, int when)
{
    struct rig r;
    memset(&r, 0, sizeof r);
    rig_setup(&r, NULL, 1);
    rig_open(&r);
    ASSERT_STR_EQ(screen(&r), "start");
    char label[32];
    snprintf(label, sizeof label, "lang:%s", lang); /* the start screen offers the languages */
    tap(&r, label);
    ASSERT_STR_EQ(screen(&r), "speak");
    tap(&r, "record");
    ASSERT_STR_EQ(screen(&r), "recording");
    record_for(&r, 3.0);
    tap(&r, "done");
    ASSERT_STR_EQ(screen(&r), "review");
    if (category != CATEGORY_UNSET) {
        /* What happened is an extra, offered after speaking. */
        tap(&r, "extra:category");
        snprintf(label, sizeof label, "cat:%d", category);
        tap(&r, label);
        tap(&r, "ok");
        ASSERT_STR_EQ(screen(&r), "review");
    }
    if (when != WHEN_UNSET) {
        tap(&r, "extra:when");
        snprintf(label, sizeof label, "when:%d", when);
        tap(&r, label);
        tap(&r, "ok");
        ASSERT_STR_EQ(screen(&r), "review");
    }
    tap(&r, "send");
    ASSERT_STR_EQ(screen(&r), "sent");
    struct opened o;
    open_only_tip(&r, app_queue(r.app), &o);
    ASSERT_EQ(o.rc, 0);
    ASSERT_STR_EQ(o.meta.language, lang);
    ASSERT_EQ(o.meta.category, category);
    ASSERT_EQ(o.when, when);
    ASSERT_EQ(o.meta.codec, CODEC_OGG_OPUS);
    ASSERT_EQ(o.unconfirmed, 0);
    float *pcm = NULL;
    size_t n = ogg_decode(o.ogg.b, o.ogg.len, &pcm);
    ASSERT(n >= 48000 * 2.9);
    double like = likeness_to_speech(pcm, n);
    if (like < 0.5)
        check_fail(__FILE__, __LINE__, "the tip's audio is not the speech (r = %.2f)", like);
    free(pcm);
    ogg_buf_free(&o.ogg);
    app_close(r.app);
}

TEST(test_app_vietnamese_voice_tip_reaches_the_queue_sealed_to_the_post)
{
    voice_flow("vi", CATEGORY_UNSET, WHEN_UNSET); /* the voice path: no picture asked */
}

TEST(test_app_hmong_voice_tip_reaches_the_queue_sealed_to_the_post)
{
    voice_flow("hmn", CATEGORY_UNSET, WHEN_UNSET);
}

/* The picture and the day chosen after speaking are what the officer sees. */
TEST(test_app_what_happened_chosen_after_speaking_reaches_the_post)
{
    voice_flow("hmn", CATEGORY_TRAFFICKING, WHEN_YESTERDAY);
}

TEST(test_app_without_microphone_takes_a_written_tip)
{
    struct rig r;
    memset(&r, 0, sizeof r);
    rig_setup(&r, NULL, 0);
    rig_open(&r);
    tap(&r, "lang:vi");
    ASSERT(kiosk_faults(app_kiosk(r.app)) & KIOSK_FAULT_NO_MICROPHONE);
    /* No record button: the speak screen offers writing instead. */
    ASSERT_STR_EQ(screen(&r), "speak");
    int x, y;
    ASSERT(ui_find(app_ui(r.app), "record", &x, &y) != 0);
    tap(&r, "write");
    ASSERT_STR_EQ(screen(&r), "text");
    for (const char *k = "tooi ddi"; *k; k++) {
        char label[16];
        snprintf(label, sizeof label, *k == ' ' ? "key:space" : "key:%c", *k);
        tap(&r, label);
    }
    tap(&r, "text_done");
    ASSERT_STR_EQ(screen(&r), "review");
    tap(&r, "extra:when");
    tap(&r, "when:1");
    tap(&r, "ok");
    tap(&r, "send");
    ASSERT_STR_EQ(screen(&r), "sent");
    struct opened o;
    open_only_tip(&r, app_queue(r.app), &o);
    ASSERT_EQ(o.rc, 0);
    ASSERT_STR_EQ(o.text, "tôi đi");
    ASSERT_EQ(o.when, WHEN_TODAY);
    ASSERT_EQ(o.meta.codec, CODEC_NONE);
    ASSERT_EQ(o.ogg.len, 0);
    app_close(r.app);
}

static int count_tips(void *ctx, const struct queue_tip *t)
{
    (void)t;
    ++*(int *)ctx;
    return 0;
}

static int tips_in_queue(struct rig *r)
{
    int n = 0;
    ASSERT_EQ(queue_foreach(app_queue(r->app), count_tips, &n), 0);
    return n;
}

TEST(test_app_throw_away_and_going_back_keep_nothing_in_the_queue)
{
    struct rig r;
    memset(&r, 0, sizeof r);
    rig_setup(&r, NULL, 1);
    rig_open(&r);
    tap(&r, "lang:vi");
    tap(&r, "record");
    record_for(&r, 1.0);
    ASSERT_EQ(tips_in_queue(&r), 1); /* being recorded, sealed as it is spoken */
    tap(&r, "discard");
    ASSERT_STR_EQ(screen(&r), "start");
    ASSERT_EQ(tips_in_queue(&r), 0);
    tap(&r, "lang:hmn");
    tap(&r, "back");
    ASSERT_STR_EQ(screen(&r), "start");
    ASSERT_EQ(tips_in_queue(&r), 0);
    app_close(r.app);
}

/* Time passes by the app's clock in steps of `ms`, until `until` ms more.
   A prompt is said in real time (the disk driver plays at its pace) and
   counts as someone there: each step first waits for it to end. */
static void wait_clock(struct rig *r, uint32_t until, uint32_t ms)
{
    for (uint32_t t = 0; t < until; t += ms) {
        for (int i = 0; i < 1000 && kiosk_playing(app_kiosk(r->app)); i++)
            app_step(r->app, 10);
        r->clock += ms;
        app_step(r->app, 10);
    }
}

TEST(test_app_leaving_before_speaking_leaves_nothing_in_the_queue)
{
    struct rig r;
    memset(&r, 0, sizeof r);
    rig_setup(&r, NULL, 1);
    rig_open(&r);
    tap(&r, "lang:hmn");
    ASSERT_STR_EQ(screen(&r), "speak");
    wait_clock(&r, 60000, 1000);
    ASSERT_STR_EQ(screen(&r), "still_there");
    wait_clock(&r, 16000, 1000);
    ASSERT_STR_EQ(screen(&r), "start");
    ASSERT_EQ(tips_in_queue(&r), 0);
    struct queue_stats st;
    ASSERT_EQ(queue_stats(app_queue(r.app), &st), 0);
    ASSERT_EQ(st.count[QUEUE_RECORDING], 0);
    app_close(r.app);
}

TEST(test_app_walking_away_after_speaking_keeps_the_tip_marked_unconfirmed)
{
    struct rig r;
    memset(&r, 0, sizeof r);
    rig_setup(&r, NULL, 1);
    /* 2.5 s of speech, then the microphone hears silence: the person left. */
    check_write_file(r.mic, speech_pcm(), (size_t)16000 * 5 / 2 * 2);
    rig_open(&r);
    tap(&r, "lang:vi");
    tap(&r, "record");
    record_for(&r, 2.0);
    /* Gone without "done": the kiosk waits, asks, then keeps what was said. */
    for (int i = 0; i < 900 && strcmp(screen(&r), "start") != 0; i++)
        wait_clock(&r, 1000, 1000);
    ASSERT_STR_EQ(screen(&r), "start");
    struct opened o;
    open_only_tip(&r, app_queue(r.app), &o);
    ASSERT_EQ(o.rc, 0);
    ASSERT_EQ(o.unconfirmed, 1);
    ASSERT_STR_EQ(o.meta.language, "vi");
    ASSERT_EQ(o.meta.codec, CODEC_OGG_OPUS);
    float *pcm = NULL;
    ASSERT(ogg_decode(o.ogg.b, o.ogg.len, &pcm) >= 48000 * 2);
    free(pcm);
    ogg_buf_free(&o.ogg);
    app_close(r.app);
}

/*
 * The Pi records through SDL's ALSA backend: ALSA's file plugin stands in
 * for the USB microphone (an .asoundrc with an infile). Run in a child
 * process so this ALSA configuration stays out of every other test.
 */
TEST(test_app_records_through_alsa_as_on_the_pi)
{
    struct rig r;
    memset(&r, 0, sizeof r);
    rig_setup(&r, NULL, 1);
    char rc[8192];
    snprintf(rc, sizeof rc,
             "pcm.!default { type asym playback.pcm \"out\" capture.pcm \"in\" }\n"
             "pcm.in { type file slave.pcm \"null\" file \"/dev/null\" infile \"%s\" "
             "format \"raw\" }\n"
             "pcm.out { type file slave.pcm \"null\" file \"/dev/null\" format \"raw\" }\n",
             r.mic);
    check_write_file(check_path(".asoundrc"), rc, strlen(rc));
    /* A fresh process: alsa-lib reads its configuration once per process. */
    /* detect_leaks=0: alsa-lib's plugins, loaded and unloaded by SDL, leave
       allocations LeakSanitizer cannot attribute; our code is leak-checked
       in-process by the other app tests. */
    int st = check_sh("HOME='%s' SDL_AUDIODRIVER=alsa HOMTHU_ROOT='%s' ASAN_OPTIONS=detect_leaks=0 "
                      "%s/helpers/kioskflow "
                      "'%s' >'%s' 2>&1",
                      check_dir(), getenv("HOMTHU_ROOT") ? getenv("HOMTHU_ROOT") : ".",
                      check_build(), r.conf, check_path("flow.log"));
    if (st != 0) {
        char *log = (char *)check_slurp(check_path("flow.log"), NULL);
        check_fail(__FILE__, __LINE__, "the ALSA flow failed (%d): %s", st, log ? log : "");
    }
    /* The tip in the queue decrypts to the speech the "microphone" heard. */
    struct queue *q;
    unsigned faults;
    char err[256];
    ASSERT_EQ(queue_open(&q, r.data, &faults, err, sizeof err), 0);
    struct opened o;
    open_only_tip(&r, q, &o);
    ASSERT_EQ(o.rc, 0);
    ASSERT_STR_EQ(o.meta.language, "vi");
    /* The capture ran through SDL's ALSA backend into a sealed tip. Its
       content is not compared with the speech: ALSA's null slave is not
       paced, so SDL reads the infile at memory speed (hundreds of MB/s, byte
       for byte, then zeros past its end) and the kiosk's 4 s ring keeps only
       the tail. The content path itself is checked with the paced disk
       driver above. */
    float *pcm = NULL;
    size_t n = ogg_decode(o.ogg.b, o.ogg.len, &pcm);
    ASSERT(n >= 48000 * 2);
    free(pcm);
    ogg_buf_free(&o.ogg);
    queue_close(q);
}

/* The status LEDs and the push button, on the fake GPIO port. */
static void step_to(struct rig *r, struct gpio_fake *fake, uint32_t until)
{
    while (r->clock < until) {
        r->clock += 10;
        gpio_fake_set_now(fake, r->clock);
        app_step(r->app, 0);
    }
}

TEST(test_app_button_records_and_stops_and_the_leds_follow_the_kiosk)
{
    struct rig r;
    memset(&r, 0, sizeof r);
    rig_setup(&r, NULL, 1);
    struct gpio_port port;
    struct gpio_fake *fake;
    ASSERT_EQ(gpio_fake_open(&port, &fake, 1), 0);
    /* Two presses, the first with a bounce. */
    static const struct gpio_fake_step presses[] = {
        {3000, 1}, {3002, 0}, {3004, 1}, {3200, 0}, {9000, 1}, {9150, 0},
    };
    ASSERT_EQ(gpio_fake_script(fake, presses, 6), 0);

    char err[512], assets[4300];
    snprintf(assets, sizeof assets, "%s/assets",
             getenv("HOMTHU_ROOT") ? getenv("HOMTHU_ROOT") : ".");
    struct app_opts o = {.config_path = r.conf, .window = 1, .software = 1, .width = 800,
                         .height = 480, .clock_ms = fake_clock, .clock_ctx = &r,
                         .assets_dir = assets, .gpio = &port};
    r.clock = 10;
    if (app_open(&r.app, &o, err, sizeof err) != 0)
        check_fail(__FILE__, __LINE__, "app_open: %s", err);
    gpio_fake_set_now(fake, r.clock);
    app_step(r.app, 0);
    step_to(&r, fake, 2500);
    size_t n;
    const struct gpio_fake_change *c = gpio_fake_changes(fake, &n);
    /* The lamp test, then the heartbeat; amber and red dark. */
    ASSERT(n >= 7);
    ASSERT(c[0].led == GPIO_LED_GREEN && c[0].on && c[0].t_ms == 10);
    ASSERT(c[1].led == GPIO_LED_GREEN && !c[1].on && c[1].t_ms == 510);
    ASSERT(c[2].led == GPIO_LED_AMBER && c[2].on);
    ASSERT(c[4].led == GPIO_LED_RED && c[4].on && c[4].t_ms == 1010);
    ASSERT(c[5].led == GPIO_LED_RED && !c[5].on && c[5].t_ms == 1510);
    ASSERT(c[6].led == GPIO_LED_GREEN && c[6].on && c[6].t_ms == 2010);
    ASSERT_EQ(gpio_fake_led(fake, GPIO_LED_AMBER), 0);
    ASSERT_EQ(gpio_fake_led(fake, GPIO_LED_RED), 0);

    tap(&r, "lang:vi");
    ASSERT_STR_EQ(screen(&r), "speak");
    step_to(&r, fake, 3100); /* pressed at 3004, held 30 ms */
    ASSERT_STR_EQ(screen(&r), "recording");
    record_for(&r, 1.0);
    step_to(&r, fake, 9100); /* the second press is "done" */
    ASSERT_STR_EQ(screen(&r), "review");
    tap(&r, "send");
    ASSERT_STR_EQ(screen(&r), "sent");
    /* The tip waits for the uplink: amber lights within a second. */
    step_to(&r, fake, 10200);
    ASSERT_EQ(gpio_fake_led(fake, GPIO_LED_AMBER), 1);
    app_close(r.app);
}
