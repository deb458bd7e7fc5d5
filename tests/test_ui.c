/* Tests for src/kiosk/ui.c through a fake host: flows, timers, sizes, contrast. */
#include "check.h"
#include "core/envelope.h"
#include "kiosk/ui.h"

#include <math.h>
#include <stdio.h>

struct fake {
    char said[64][40];
    int nsaid;
    int recording, record_starts, stops, sends, discards;
    int mic; /* record_start: 0 ok, -1 no mic, -2 queue */
    int send_rc;
    int can_take;
    double seconds;
    int level;
    char sent_lang[9];
    int sent_category, sent_when;
    char sent_text[256];
    int v_starts, v_stops, volume, training;
    char v_saved[64];
    int unconfirmed; /* the last send's mark */
    int playing;     /* a prompt or the recording is playing */
    int hmn_voiced;  /* Hmong has prompts of its own */
    int plays;       /* listen back */
};

static int f_v_start(void *ctx, char *err, size_t n)
{
    (void)err;
    (void)n;
    ((struct fake *)ctx)->v_starts++;
    return 0;
}

static int f_v_stop(void *ctx, const char *lang, const char *id, char *err, size_t n)
{
    struct fake *f = ctx;
    (void)err;
    (void)n;
    f->v_stops++;
    snprintf(f->v_saved, sizeof f->v_saved, "%s/%s", lang, id);
    return 0;
}

static void f_volume(void *ctx, int percent)
{
    ((struct fake *)ctx)->volume = percent;
}

static void f_tech(void *ctx, struct ui_tech *out)
{
    (void)ctx;
    out->n = 2;
    snprintf(out->lines[0], sizeof out->lines[0], "Kiosk test-01 · version 9");
    snprintf(out->lines[1], sizeof out->lines[1], "Waiting: 3 tips, oldest 2 h");
}

static int mic_on, led_tests;
static void f_mic_test(void *ctx, int on)
{
    (void)ctx;
    mic_on = on;
}

static void f_led_test(void *ctx)
{
    (void)ctx;
    led_tests++;
}

static void f_training(void *ctx, int on)
{
    ((struct fake *)ctx)->training = on;
}

static void f_say(void *ctx, const struct ui_prompt *p, int n)
{
    struct fake *f = ctx;
    for (int i = 0; i < n && f->nsaid < 64; i++)
        snprintf(f->said[f->nsaid++], sizeof f->said[0], "%s/%s", p[i].lang, p[i].id);
}

static int f_record_start(void *ctx, const char *lang, int category, char *err, size_t n)
{
    struct fake *f = ctx;
    (void)lang;
    (void)category;
    snprintf(err, n, "fake");
    if (f->mic)
        return f->mic;
    f->recording = 1;
    f->record_starts++;
    return 0;
}

static void f_record_stop(void *ctx)
{
    struct fake *f = ctx;
    f->recording = 0;
    f->stops++;
}

static int f_level(void *ctx)
{
    return ((struct fake *)ctx)->level;
}

static double f_seconds(void *ctx)
{
    return ((struct fake *)ctx)->seconds;
}

static int f_send(void *ctx, const char *lang, int category, const char *text, int when,
                  int unconfirmed, char *err, size_t n)
{
    struct fake *f = ctx;
    snprintf(err, n, "fake");
    f->recording = 0;
    if (f->send_rc)
        return f->send_rc;
    f->sends++;
    f->unconfirmed = unconfirmed;
    snprintf(f->sent_lang, sizeof f->sent_lang, "%s", lang);
    f->sent_category = category;
    f->sent_when = when;
    snprintf(f->sent_text, sizeof f->sent_text, "%s", text);
    return 0;
}

static void f_discard(void *ctx)
{
    ((struct fake *)ctx)->discards++;
    ((struct fake *)ctx)->recording = 0;
}

static int f_playing(void *ctx)
{
    return ((struct fake *)ctx)->playing;
}

static int f_has_prompt(void *ctx, const char *lang, const char *id)
{
    struct fake *f = ctx;
    return strcmp(lang, "hmn") != 0 || f->hmn_voiced || !strcmp(id, "language_name");
}

static void f_play_recording(void *ctx)
{
    ((struct fake *)ctx)->plays++;
}

/* "Translations": Hmong lacks one string, so the UI must fall back. */
static const char *f_text(void *ctx, const char *lang, const char *msgid)
{
    (void)ctx;
    static char buf[8][200];
    static int slot;
    if (!strcmp(lang, "hmn") && !strcmp(msgid, "Send"))
        return "[vi] Gửi"; /* what i18n's fallback gives: the Vietnamese text */
    char *b = buf[slot++ % 8];
    snprintf(b, sizeof buf[0], "[%s] %s", lang, msgid);
    return b;
}

static int f_can_take(void *ctx)
{
    return ((struct fake *)ctx)->can_take;
}

static const struct ui_lang langs[] = {
    {"vi", "Tiếng Việt", 1},
    {"hmn", "Lus Hmoob", 2},
};

static int blank_seconds; /* 0: the default */

static struct ui *make_ui_n(struct fake *f, struct ui_host *h, int w, int hgt, int nlangs)
{
    memset(f, 0, sizeof *f);
    f->can_take = 1;
    f->hmn_voiced = 1;
    memset(h, 0, sizeof *h);
    h->say = f_say;
    h->record_start = f_record_start;
    h->record_stop = f_record_stop;
    h->record_level = f_level;
    h->record_seconds = f_seconds;
    h->tip_send = f_send;
    h->tip_discard = f_discard;
    h->text = f_text;
    h->can_take_tips = f_can_take;
    h->prompt_record_start = f_v_start;
    h->prompt_record_stop = f_v_stop;
    h->set_volume = f_volume;
    h->set_training = f_training;
    h->tech_info = f_tech;
    h->mic_test = f_mic_test;
    h->led_test = f_led_test;
    h->playing = f_playing;
    h->has_prompt = f_has_prompt;
    h->play_recording = f_play_recording;
    h->ctx = f;
    struct ui_config c = {.width = w, .height = hgt, .diagonal_inches = 7, .langs = langs,
                          .nlangs = nlangs, .pin = "2468", .post_name = "Đồn Biên phòng Pa Vi",
                          .blank_seconds = blank_seconds};
    struct ui *ui = ui_new(&c, h);
    ASSERT(ui);
    return ui;
}

static struct ui *make_ui(struct fake *f, struct ui_host *h, int w, int hgt)
{
    return make_ui_n(f, h, w, hgt, 2);
}

static void tap(struct ui *ui, const char *label, uint32_t now)
{
    static struct ui_draw_list dl;
    int x, y;
    ui_draw(ui, &dl);
    if (ui_find(ui, label, &x, &y) != 0)
        check_fail(__FILE__, __LINE__, "no target \"%s\" on screen %s", label,
                   ui_screen_name(ui_screen(ui)));
    ui_tap(ui, x, y, now);
}

static int said(const struct fake *f, const char *what)
{
    for (int i = 0; i < f->nsaid; i++)
        if (!strcmp(f->said[i], what))
            return 1;
    return 0;
}

static int said_times(const struct fake *f, const char *what)
{
    int n = 0;
    for (int i = 0; i < f->nsaid; i++)
        n += !strcmp(f->said[i], what);
    return n;
}

static const char *screen_of(const struct ui *ui)
{
    return ui_screen_name(ui_screen(ui));
}

/* A finger held on `label` for `ms`, the clock ticking meanwhile. */
static void long_press(struct ui *ui, const char *label, uint32_t now, uint32_t ms)
{
    static struct ui_draw_list dl;
    int x, y;
    ui_draw(ui, &dl);
    if (ui_find(ui, label, &x, &y) != 0)
        check_fail(__FILE__, __LINE__, "no target \"%s\" on screen %s", label, screen_of(ui));
    ui_press(ui, x, y, 1, now);
    for (uint32_t t = 100; t <= ms; t += 100)
        ui_tick(ui, now + t);
    ui_press(ui, x, y, 0, now + ms);
}

/* Ticks every 100 ms from `from` to `to`, as the app does. */
static void tick_to(struct ui *ui, uint32_t from, uint32_t to)
{
    for (uint32_t t = from; t <= to; t += 100)
        ui_tick(ui, t);
}

/* Is there text on the screen containing `s`? */
static int shows(struct ui *ui, const char *s)
{
    static struct ui_draw_list dl;
    ui_draw(ui, &dl);
    for (int i = 0; i < dl.n; i++)
        if (dl.cmds[i].kind == UI_DRAW_TEXT && strstr(dl.cmds[i].text, s))
            return 1;
    return 0;
}

TEST(test_ui_touch_voice_path_takes_four_taps_from_a_dark_screen)
{
    struct fake f;
    struct ui_host h;
    struct ui *ui = make_ui(&f, &h, 800, 480);
    ui_tick(ui, 0);
    ui_tick(ui, 300000);
    ASSERT(ui_blanked(ui));
    int taps = 0;
    ui_tap(ui, 400, 240, 301000), taps++; /* wakes, and only wakes */
    ASSERT_STR_EQ(screen_of(ui), "start");
    ASSERT(said(&f, "vi/welcome") && said(&f, "hmn/welcome"));
    ASSERT(said(&f, "vi/post_name")); /* who receives it, spoken */
    ASSERT(shows(ui, "Đồn Biên phòng Pa Vi"));
    tap(ui, "lang:hmn", 302000), taps++;
    ASSERT(said(&f, "hmn/language_name")); /* its own name, in its own voice */
    ASSERT(said(&f, "hmn/record_intro"));
    ASSERT_STR_EQ(screen_of(ui), "speak");
    tap(ui, "record", 303000), taps++;
    ASSERT_EQ(f.recording, 1);
    ASSERT_STR_EQ(screen_of(ui), "recording");
    f.level = 40;
    f.seconds = 20;
    tick_to(ui, 303100, 323000);
    tap(ui, "done", 323500), taps++;
    ASSERT_EQ(taps, 4);
    ASSERT_EQ(f.recording, 0);
    ASSERT_STR_EQ(screen_of(ui), "review");
    ASSERT(said(&f, "hmn/record_review"));
    /* Nothing more to touch: "done" was said, the ring runs out, it is sent. */
    ASSERT_EQ(f.sends, 0);
    tick_to(ui, 323600, 323500 + 29000);
    ASSERT_EQ(f.sends, 0);
    tick_to(ui, 323500 + 29100, 323500 + 30100);
    ASSERT_EQ(f.sends, 1);
    ASSERT_EQ(f.unconfirmed, 0);
    ASSERT_STR_EQ(f.sent_lang, "hmn");
    ASSERT_STR_EQ(screen_of(ui), "sent");
    ASSERT(said(&f, "hmn/sent"));
    /* Then a quiet start: the waiting room hears no welcome. */
    int welcomes = said_times(&f, "vi/welcome");
    tick_to(ui, 353600, 366000);
    ASSERT_STR_EQ(screen_of(ui), "start");
    ASSERT_EQ(said_times(&f, "vi/welcome"), welcomes);
    /* Whoever touches next hears it. */
    tap(ui, "welcome", 367000);
    ASSERT_EQ(said_times(&f, "vi/welcome"), welcomes + 1);
    ui_free(ui);
}

TEST(test_ui_send_at_once_and_the_extras_are_never_forced)
{
    struct fake f;
    struct ui_host h;
    struct ui *ui = make_ui(&f, &h, 1024, 600);
    tap(ui, "lang:vi", 100);
    tap(ui, "record", 300);
    f.level = 30;
    f.seconds = 5;
    ui_tick(ui, 5300);
    tap(ui, "done", 5300);
    tap(ui, "extra:category", 5400);
    ASSERT_STR_EQ(screen_of(ui), "category");
    ASSERT(said(&f, "vi/choose_category"));
    tap(ui, "cat:2", 5500);
    ASSERT(said(&f, "vi/cat_drugs")); /* a touch speaks the picture */
    tap(ui, "ok", 5600);
    ASSERT_STR_EQ(screen_of(ui), "review");
    tap(ui, "extra:text", 5700);
    ASSERT_STR_EQ(screen_of(ui), "text");
    /* Telex on the keyboard: "dduwowngf" → "đường" */
    for (const char *k = "dduwowngf"; *k; k++) {
        char label[8];
        snprintf(label, sizeof label, "key:%c", *k);
        tap(ui, label, 5800);
    }
    tap(ui, "text_done", 5900);
    ASSERT_STR_EQ(screen_of(ui), "review");
    tap(ui, "extra:when", 6000);
    tap(ui, "when:2", 6100);
    ASSERT(said(&f, "vi/when_yesterday"));
    tap(ui, "ok", 6200);
    tap(ui, "send", 6300);
    ASSERT_EQ(f.sends, 1);
    ASSERT_EQ(f.unconfirmed, 0);
    ASSERT_STR_EQ(f.sent_text, "đường");
    ASSERT_EQ(f.sent_when, WHEN_YESTERDAY);
    ASSERT_EQ(f.sent_category, CATEGORY_DRUGS);
    ASSERT_STR_EQ(screen_of(ui), "sent");
    ui_free(ui);
}

TEST(test_ui_throw_away_discards_and_says_so)
{
    struct fake f;
    struct ui_host h;
    struct ui *ui = make_ui(&f, &h, 800, 480);
    tap(ui, "lang:vi", 100);
    tap(ui, "record", 200);
    f.level = 50;
    ui_tick(ui, 1200);
    tap(ui, "discard", 1300);
    ASSERT_EQ(f.discards, 1);
    ASSERT_EQ(f.sends, 0);
    ASSERT_STR_EQ(screen_of(ui), "start");
    ASSERT(said(&f, "vi/discarded"));
    /* And from the review too. */
    tap(ui, "lang:vi", 2000);
    tap(ui, "record", 2100);
    ui_tick(ui, 3000);
    tap(ui, "done", 3100);
    tap(ui, "discard", 3200);
    ASSERT_EQ(f.discards, 2);
    ASSERT_EQ(f.sends, 0);
    tick_to(ui, 3300, 40000); /* no countdown left behind to send it */
    ASSERT_EQ(f.sends, 0);
    ui_free(ui);
}

TEST(test_ui_walking_away_after_speaking_keeps_the_tip_marked_unconfirmed)
{
    struct fake f;
    struct ui_host h;
    struct ui *ui = make_ui(&f, &h, 800, 480);
    tap(ui, "lang:vi", 1000);
    tap(ui, "record", 2000);
    f.level = 45; /* speaking: someone is there */
    f.seconds = 30;
    tick_to(ui, 2100, 70000);
    ASSERT_STR_EQ(screen_of(ui), "recording");
    f.level = 0; /* silence: gone? */
    tick_to(ui, 70100, 70000 + 59900);
    ASSERT_STR_EQ(screen_of(ui), "recording");
    tick_to(ui, 130000, 130100);
    ASSERT_STR_EQ(screen_of(ui), "still_there");
    ASSERT_EQ(f.recording, 0); /* the microphone closes while asking */
    ASSERT(said(&f, "vi/still_there"));
    ASSERT(shows(ui, "15") || shows(ui, "14")); /* the countdown, seen */
    tick_to(ui, 130200, 130000 + 14900);
    ASSERT(said(&f, "vi/count_5") && said(&f, "vi/count_1")); /* ... and heard */
    ASSERT(shows(ui, "1"));
    ASSERT_EQ(f.sends, 0);
    int nsaid = f.nsaid;
    tick_to(ui, 130000 + 15000, 130000 + 15100);
    ASSERT_EQ(f.sends, 1);
    ASSERT_EQ(f.unconfirmed, 1); /* the officer is told */
    ASSERT_EQ(f.discards, 0);
    /* The next person sees a quiet start, nothing of the last tip. */
    ASSERT_STR_EQ(screen_of(ui), "start");
    ASSERT_EQ(f.nsaid, nsaid);
    ASSERT(!shows(ui, "Your tip is in the safe box"));
    ui_free(ui);
}

TEST(test_ui_walking_away_before_speaking_keeps_nothing)
{
    struct fake f;
    struct ui_host h;
    struct ui *ui = make_ui(&f, &h, 800, 480);
    tap(ui, "lang:vi", 0);
    tick_to(ui, 100, 60000);
    ASSERT_STR_EQ(screen_of(ui), "still_there");
    tick_to(ui, 60100, 75100);
    ASSERT_STR_EQ(screen_of(ui), "start");
    ASSERT_EQ(f.sends, 0);
    /* Recording started but only silence: nothing was said, nothing kept. */
    tap(ui, "lang:vi", 80000);
    tap(ui, "record", 80100);
    f.level = 3;
    tick_to(ui, 80200, 80100 + 60000 + 15100);
    ASSERT_STR_EQ(screen_of(ui), "start");
    ASSERT_EQ(f.sends, 0);
    ASSERT_EQ(f.discards, 1);
    /* "Yes, I am here" brings the person back where they were. */
    tap(ui, "lang:vi", 200000);
    tick_to(ui, 200100, 260100);
    ASSERT_STR_EQ(screen_of(ui), "still_there");
    tap(ui, "still_here", 261000);
    ASSERT_STR_EQ(screen_of(ui), "speak");
    ui_free(ui);
}

TEST(test_ui_listening_back_never_counts_as_gone)
{
    struct fake f;
    struct ui_host h;
    struct ui *ui = make_ui(&f, &h, 800, 480);
    tap(ui, "lang:vi", 0);
    tap(ui, "record", 100);
    f.level = 40;
    f.seconds = 170;
    tick_to(ui, 200, 170100);
    tap(ui, "done", 170200);
    tap(ui, "listen", 171000);
    ASSERT_EQ(f.plays, 1);
    f.playing = 1; /* a long recording, listened to in full */
    tick_to(ui, 171100, 171000 + 170000);
    ASSERT_STR_EQ(screen_of(ui), "review");
    ASSERT_EQ(f.sends, 0);
    f.playing = 0;
    /* Then the review's own time, from the end of listening. */
    tick_to(ui, 341100, 341000 + 29000);
    ASSERT_EQ(f.sends, 0);
    tick_to(ui, 341000 + 29100, 341000 + 31000);
    ASSERT_EQ(f.sends, 1);
    ASSERT_EQ(f.unconfirmed, 0);
    ui_free(ui);
}

TEST(test_ui_handset_with_one_language_needs_no_touch_and_hanging_up_keeps_the_tip)
{
    struct fake f;
    struct ui_host h;
    struct ui *ui = make_ui_n(&f, &h, 800, 480, 1);
    ui_tick(ui, 0);
    ui_tick(ui, 300000);
    ASSERT(ui_blanked(ui));
    f.playing = 1; /* the prompt, in the earpiece */
    ui_handset(ui, 1, 300100);
    ASSERT_STR_EQ(screen_of(ui), "speak");
    ASSERT(said(&f, "vi/record_intro_handset"));
    tick_to(ui, 300200, 305000);
    ASSERT_EQ(f.recording, 0); /* never over the prompt */
    f.playing = 0;
    ui_tick(ui, 305100);
    ASSERT_EQ(f.recording, 1);
    ASSERT_STR_EQ(screen_of(ui), "recording");
    f.level = 50;
    f.seconds = 12;
    tick_to(ui, 305200, 317000);
    ui_handset(ui, 0, 317100); /* hung up: sent, as on a voice line */
    ASSERT_EQ(f.sends, 1);
    ASSERT_EQ(f.unconfirmed, 1);
    ASSERT_STR_EQ(screen_of(ui), "start");
    /* Lifted and hung up before a word: nothing. */
    ui_handset(ui, 1, 320000);
    ui_tick(ui, 320100);
    ui_handset(ui, 0, 321000);
    ASSERT_EQ(f.sends, 1);
    ASSERT_EQ(f.discards, 1);
    ui_free(ui);
}

TEST(test_ui_handset_with_two_languages_takes_one_touch)
{
    struct fake f;
    struct ui_host h;
    struct ui *ui = make_ui(&f, &h, 800, 480);
    ui_handset(ui, 1, 1000);
    ASSERT_STR_EQ(screen_of(ui), "start");
    ASSERT(said(&f, "vi/welcome"));
    int touches = 0;
    tap(ui, "lang:vi", 2000), touches++;
    ui_tick(ui, 2100);
    ASSERT_STR_EQ(screen_of(ui), "recording");
    f.level = 60;
    tick_to(ui, 2200, 9000);
    ui_handset(ui, 0, 9100);
    ASSERT_EQ(touches, 1);
    ASSERT_EQ(f.sends, 1);
    ui_free(ui);
}

TEST(test_ui_a_language_without_a_voice_never_speaks_another_languages_prompt)
{
    struct fake f;
    struct ui_host h;
    struct ui *ui = make_ui(&f, &h, 800, 480);
    f.hmn_voiced = 0;
    tap(ui, "welcome", 100);
    ASSERT_EQ(said_times(&f, "vi/welcome"), 1);
    ASSERT(!said(&f, "hmn/welcome"));
    f.nsaid = 0;
    tap(ui, "lang:hmn", 200);
    ASSERT(said(&f, "hmn/language_name")); /* its name, said its own way */
    for (int i = 0; i < f.nsaid; i++)
        ASSERT(strncmp(f.said[i], "vi/", 3) != 0);
    ASSERT(!said(&f, "hmn/record_intro"));
    ui_free(ui);
}

TEST(test_ui_a_tip_that_could_not_be_saved_is_told_plainly_in_both_languages)
{
    struct fake f;
    struct ui_host h;
    struct ui *ui = make_ui(&f, &h, 800, 480);
    tap(ui, "lang:hmn", 0);
    tap(ui, "record", 100);
    f.level = 50;
    ui_tick(ui, 1000);
    tap(ui, "done", 1100);
    f.send_rc = -2; /* the disk failed at "send" */
    tap(ui, "send", 1200);
    ASSERT_STR_EQ(screen_of(ui), "not_saved");
    ASSERT_EQ(f.sends, 0);
    ASSERT(said(&f, "hmn/not_saved") && said(&f, "vi/not_saved"));
    ASSERT(strcmp(f.said[f.nsaid - 2], "hmn/not_saved") == 0); /* theirs first */
    ASSERT(shows(ui, "[hmn] Your words were not kept."));
    ASSERT(shows(ui, "[vi] Your words were not kept."));
    ASSERT(!shows(ui, "safe box"));
    f.can_take = 0;
    tick_to(ui, 1300, 12000);
    ASSERT_STR_EQ(screen_of(ui), "out_of_service");
    ui_free(ui);
}

TEST(test_ui_without_microphone_offers_writing_and_with_a_full_queue_says_so_calmly)
{
    struct fake f;
    struct ui_host h;
    struct ui *ui = make_ui(&f, &h, 800, 480);
    f.mic = -1;
    tap(ui, "lang:vi", 0);
    tap(ui, "record", 3);
    ASSERT_STR_EQ(screen_of(ui), "speak");
    ASSERT(shows(ui, "The microphone is not working"));
    ASSERT(said(&f, "vi/no_microphone"));
    tap(ui, "write", 4);
    tap(ui, "key:a", 5);
    tap(ui, "text_done", 6);
    ASSERT_STR_EQ(screen_of(ui), "review");
    tap(ui, "send", 7);
    ASSERT_EQ(f.sends, 1);
    ASSERT_STR_EQ(f.sent_text, "a");
    /* A queue that cannot take tips: the calm screen before any word is said. */
    f.mic = -2;
    ui_set_microphone(ui, 1); /* the host found it again */
    tick_to(ui, 100, 11000);
    tap(ui, "lang:vi", 12000);
    tap(ui, "record", 12001);
    ASSERT_STR_EQ(screen_of(ui), "out_of_service");
    ASSERT(said(&f, "vi/out_of_service"));
    f.can_take = 0;
    ui_tick(ui, 20000);
    ASSERT_STR_EQ(screen_of(ui), "out_of_service");
    f.can_take = 1;
    ui_tick(ui, 30000);
    ASSERT_STR_EQ(screen_of(ui), "start");
    ui_free(ui);
}

TEST(test_ui_recording_warns_before_the_end_and_stops_at_the_maximum)
{
    struct fake f;
    struct ui_host h;
    struct ui *ui = make_ui(&f, &h, 800, 480);
    tap(ui, "lang:vi", 1);
    tap(ui, "record", 3);
    f.level = 30;
    f.seconds = 164;
    ui_tick(ui, 164000);
    ASSERT(!said(&f, "vi/record_warning"));
    f.seconds = 165;
    ui_tick(ui, 165000);
    ASSERT(said(&f, "vi/record_warning"));
    f.seconds = 180;
    ui_tick(ui, 180000);
    ASSERT_STR_EQ(screen_of(ui), "review");
    ASSERT_EQ(f.recording, 0);
    ui_free(ui);
}

TEST(test_ui_missing_string_shows_the_vietnamese_text)
{
    struct fake f;
    struct ui_host h;
    struct ui *ui = make_ui(&f, &h, 800, 480);
    tap(ui, "lang:hmn", 1);
    tap(ui, "record", 3);
    tap(ui, "done", 4);
    ASSERT(shows(ui, "[vi] Gửi"));
    ui_free(ui);
}

TEST(test_ui_blanks_after_long_idle_and_the_waking_touch_does_nothing_else)
{
    struct fake f;
    struct ui_host h;
    struct ui *ui = make_ui(&f, &h, 800, 480);
    static struct ui_draw_list dl;
    int x, y;
    ui_draw(ui, &dl);
    ASSERT_EQ(ui_find(ui, "lang:vi", &x, &y), 0);
    ui_tick(ui, 0);
    ui_tick(ui, 299000);
    ASSERT(!ui_blanked(ui));
    ui_tick(ui, 300000);
    ASSERT(ui_blanked(ui));
    ui_tap(ui, x, y, 300500); /* where a language would be */
    ASSERT(!ui_blanked(ui));
    ASSERT_STR_EQ(screen_of(ui), "start");
    ASSERT(!said(&f, "vi/language_name"));
    ui_free(ui);
}

TEST(test_ui_idle_counts_from_the_first_event_not_from_clock_zero)
{
    /* A past bug: on a machine up for days the kiosk blanked at once. */
    struct fake f;
    struct ui_host h;
    struct ui *ui = make_ui(&f, &h, 800, 480);
    uint32_t boot = 7u * 24 * 3600 * 1000;
    ui_tick(ui, boot);
    ASSERT(!ui_blanked(ui));
    ui_tick(ui, boot + 299000);
    ASSERT(!ui_blanked(ui));
    ui_tick(ui, boot + 300000);
    ASSERT(ui_blanked(ui));
    ui_free(ui);
}

TEST(test_ui_the_pin_opens_only_on_a_long_press_in_the_corner)
{
    struct fake f;
    struct ui_host h;
    struct ui *ui = make_ui(&f, &h, 800, 480);
    int n;
    static struct ui_draw_list dl;
    ui_draw(ui, &dl);
    const struct ui_target *t = ui_targets(ui, &n);
    for (int i = 0; i < n; i++) /* no tile invites villagers in */
        ASSERT(strcmp(t[i].label, "volunteer") != 0 || t[i].r.x == 0);
    for (int i = 0; i < dl.n; i++)
        ASSERT(!strstr(dl.cmds[i].text, "Volunteer"));
    tap(ui, "volunteer", 1000);
    ASSERT_STR_EQ(screen_of(ui), "start");
    long_press(ui, "volunteer", 2000, 1000);
    ASSERT_STR_EQ(screen_of(ui), "start");
    long_press(ui, "volunteer", 5000, UI_LONG_PRESS_MS);
    ASSERT_STR_EQ(screen_of(ui), "pin");
    ui_free(ui);
}

static void practice_on(struct ui *ui, uint32_t now)
{
    long_press(ui, "volunteer", now, UI_LONG_PRESS_MS);
    const char *pin[] = {"pin:2", "pin:4", "pin:6", "pin:8", "v:practice", "v:done"};
    for (int i = 0; i < 6; i++)
        tap(ui, pin[i], now + UI_LONG_PRESS_MS + 100 * (uint32_t)i);
}

TEST(test_ui_practice_never_reaches_the_queue_and_ends_by_itself)
{
    struct fake f;
    struct ui_host h;
    blank_seconds = 3600; /* here the 20 minutes come before blanking */
    struct ui *ui = make_ui(&f, &h, 800, 480);
    blank_seconds = 0;
    practice_on(ui, 1000);
    ASSERT_EQ(f.training, 1);
    ASSERT_STR_EQ(screen_of(ui), "start");
    /* Spoken at the start of every practice tip. */
    tap(ui, "lang:vi", 5000);
    ASSERT(said(&f, "vi/practice"));
    tap(ui, "record", 5100);
    f.level = 50;
    ui_tick(ui, 6000);
    tap(ui, "done", 6100);
    tap(ui, "send", 6200);
    ASSERT_EQ(f.sends, 0); /* never sealed, never queued */
    ASSERT_STR_EQ(screen_of(ui), "sent");
    ASSERT(shows(ui, "This was practice: nothing was sent."));
    ASSERT(said(&f, "vi/practice_done"));
    /* Walking away from a practice tip keeps nothing either. */
    tick_to(ui, 6300, 17000);
    f.nsaid = 0;
    tap(ui, "lang:vi", 20000);
    ASSERT(said(&f, "vi/practice"));
    f.level = 0;
    tap(ui, "record", 20100);
    tick_to(ui, 20200, 20100 + 60000 + 15100);
    ASSERT_STR_EQ(screen_of(ui), "start");
    ASSERT_EQ(f.sends, 0);
    /* 20 minutes without a touch: off by itself (blanking is later here). */
    ASSERT_EQ(f.training, 1);
    tick_to(ui, 95300, 20100 + 20u * 60 * 1000 - 100);
    ASSERT_EQ(f.training, 1);
    tick_to(ui, 20100 + 20u * 60 * 1000, 20100 + 20u * 60 * 1000 + 100);
    ASSERT_EQ(f.training, 0);
    tap(ui, "lang:vi", 2000000);
    tap(ui, "record", 2000100);
    tap(ui, "done", 2000200);
    tap(ui, "send", 2000300);
    ASSERT_EQ(f.sends, 1); /* a real tip again */
    ui_free(ui);

    /* At blanking. */
    ui = make_ui(&f, &h, 800, 480);
    practice_on(ui, 1000);
    ASSERT_EQ(f.training, 1);
    ui_tick(ui, 1000 + 300000 + 5000);
    ASSERT(ui_blanked(ui));
    ASSERT_EQ(f.training, 0);
    ui_free(ui);

    /* At restart: the config's "training" does not bring it back. */
    memset(&f, 0, sizeof f);
    struct ui_config c = {.width = 800, .height = 480, .diagonal_inches = 7, .langs = langs,
                          .nlangs = 2, .training = 1};
    ui = ui_new(&c, &h);
    static struct ui_draw_list dl;
    ui_draw(ui, &dl);
    for (int i = 0; i < dl.n; i++)
        ASSERT(dl.cmds[i].bg != 0xFFB000u); /* no practice frame */
    ui_free(ui);

    /* When ended on the volunteer screen. */
    ui = make_ui(&f, &h, 800, 480);
    practice_on(ui, 1000);
    practice_on(ui, 10000);
    ASSERT_EQ(f.training, 0);
    ui_free(ui);
}
/* WCAG relative luminance and contrast ratio. */
static double lum(uint32_t c)
{
    double ch[3] = {(c >> 16 & 255) / 255.0, (c >> 8 & 255) / 255.0, (c & 255) / 255.0};
    for (int i = 0; i < 3; i++)
        ch[i] = ch[i] <= 0.03928 ? ch[i] / 12.92 : pow((ch[i] + 0.055) / 1.055, 2.4);
    return 0.2126 * ch[0] + 0.7152 * ch[1] + 0.0722 * ch[2];
}

static double contrast(uint32_t a, uint32_t b)
{
    double la = lum(a), lb = lum(b);
    return la > lb ? (la + 0.05) / (lb + 0.05) : (lb + 0.05) / (la + 0.05);
}

/* Visit every screen a person can reach, in both languages and sizes,
   with practice off and on. */
struct visit {
    const char *path[14];
    uint32_t idle_ms; /* then time passes, nobody touching */
    int send_rc, mic;
};
static const struct visit visits[] = {
    {{NULL}, 0, 0, 0},
    {{"lang:LANG", NULL}, 0, 0, 0},
    {{"lang:LANG", "record", NULL}, 0, 0, 0},
    {{"lang:LANG", "record", "done", NULL}, 0, 0, 0},
    {{"lang:LANG", "record", "done", "extra:category", "cat:6", NULL}, 0, 0, 0},
    {{"lang:LANG", "record", "done", "extra:category", "cat:3", "ok", NULL}, 0, 0, 0},
    {{"lang:LANG", "record", "done", "extra:text", "key:a", NULL}, 0, 0, 0},
    {{"lang:LANG", "record", "done", "extra:text", "text_done", NULL}, 0, 0, 0},
    {{"lang:LANG", "record", "done", "extra:when", "when:2", NULL}, 0, 0, 0},
    {{"lang:LANG", "record", "done", "extra:when", "when:2", "ok", "send", NULL}, 0, 0, 0},
    {{"lang:LANG", "record", "done", "send", NULL}, 0, 0, 0},
    {{"lang:LANG", "record", "done", "send", NULL}, 0, -2, 0},        /* not saved */
    {{"lang:LANG", "record", NULL}, 0, 0, -2},                        /* out of service */
    {{"lang:LANG", "record", "write", NULL}, 0, 0, -1},               /* no microphone */
    {{"lang:LANG", NULL}, 61000, 0, 0},                               /* still there? */
    {{"lang:LANG", "record", "discard", NULL}, 0, 0, 0},
    {{"lang:LANG", "back", NULL}, 0, 0, 0},
    {{"LONG:volunteer", NULL}, 0, 0, 0},
    {{"LONG:volunteer", "pin:2", "pin:4", "pin:6", "pin:8", NULL}, 0, 0, 0},
    {{"LONG:volunteer", "pin:2", "pin:4", "pin:6", "pin:8", "v:tech", NULL}, 0, 0, 0},
};

static int villager_screen(int s)
{
    return s != UI_PIN && s != UI_VOLUNTEER && s != UI_TECH && s != UI_BLANK;
}

static int is_forward(const char *l)
{
    return !strcmp(l, "send") || !strcmp(l, "ok") || !strcmp(l, "done") ||
           !strcmp(l, "text_done");
}

static const struct ui_target *target_at(struct ui *ui, int x, int y)
{
    static struct ui_draw_list dl;
    int n;
    ui_draw(ui, &dl);
    const struct ui_target *t = ui_targets(ui, &n);
    for (int i = n - 1; i >= 0; i--)
        if (x >= t[i].r.x && x < t[i].r.x + t[i].r.w && y >= t[i].r.y && y < t[i].r.y + t[i].r.h)
            return &t[i];
    return NULL;
}

/*
 * At every move, what lies under the finger that just touched: nothing,
 * the same target, or the frame's forward place again (forward twice only
 * goes forward). The volunteer's corner acts only when held: nothing.
 */
static void check_finger(struct ui *ui, const char *tapped, int x, int y, int before,
                         const char *where)
{
    if (ui_screen(ui) == before || !villager_screen(ui_screen(ui)) || !villager_screen(before))
        return;
    const struct ui_target *t = target_at(ui, x, y);
    if (!t || !strcmp(t->label, "volunteer") || !strcmp(t->label, "welcome"))
        return;
    if (!strcmp(t->label, tapped) || (is_forward(t->label) && is_forward(tapped)))
        return;
    check_fail(__FILE__, __LINE__, "%s: after \"%s\" on %s, \"%s\" of %s is under the finger",
               where, tapped, ui_screen_name(before), t->label, ui_screen_name(ui_screen(ui)));
}

static void each_screen(int w, int hgt, void (*fn)(struct ui *ui, const char *where))
{
    struct fake f;
    struct ui_host h;
    const char *codes[2] = {"vi", "hmn"};
    for (int practice = 0; practice < 2; practice++)
        for (int l = 0; l < 2; l++)
            for (size_t p = 0; p < sizeof visits / sizeof *visits; p++) {
                const struct visit *v = &visits[p];
                struct ui *ui = make_ui(&f, &h, w, hgt);
                uint32_t now = 100;
                if (practice) {
                    practice_on(ui, now);
                    now += 10000;
                }
                f.send_rc = v->send_rc;
                f.mic = v->mic;
                f.level = 40;
                char where[96];
                for (int i = 0; v->path[i]; i++) {
                    char label[32];
                    snprintf(label, sizeof label, "%s",
                             strcmp(v->path[i], "lang:LANG") ? v->path[i] : "");
                    if (!label[0])
                        snprintf(label, sizeof label, "lang:%s", codes[l]);
                    snprintf(where, sizeof where, "%dx%d %s%s path %zu", w, hgt, codes[l],
                             practice ? " practice" : "", p);
                    if (!strncmp(label, "LONG:", 5)) {
                        long_press(ui, label + 5, now, UI_LONG_PRESS_MS);
                        now += UI_LONG_PRESS_MS + 100;
                        continue;
                    }
                    static struct ui_draw_list dl;
                    int x, y, before = ui_screen(ui);
                    ui_draw(ui, &dl);
                    if (ui_find(ui, label, &x, &y) != 0)
                        check_fail(__FILE__, __LINE__, "%s: no target \"%s\" on screen %s", where,
                                   label, screen_of(ui));
                    ui_tap(ui, x, y, now);
                    ui_tick(ui, now += 100);
                    check_finger(ui, label, x, y, before, where);
                }
                if (v->idle_ms)
                    tick_to(ui, now, now + v->idle_ms);
                snprintf(where, sizeof where, "%dx%d %s%s %s", w, hgt, codes[l],
                         practice ? " practice" : "", screen_of(ui));
                fn(ui, where);
                ui_free(ui);
            }
}
static void check_sizes(struct ui *ui, const char *where)
{
    static struct ui_draw_list dl;
    ui_draw(ui, &dl);
    int n;
    const struct ui_target *t = ui_targets(ui, &n);
    double mm = ui_px_per_mm(ui);
    ASSERT(n > 0);
    ASSERT(dl.n < UI_MAX_CMDS);
    for (int i = 0; i < n; i++) {
        double wmm = t[i].r.w / mm, hmm = t[i].r.h / mm;
        if (wmm < 15.0 || hmm < 15.0)
            check_fail(__FILE__, __LINE__, "%s: target %s is %.1f x %.1f mm", where,
                       t[i].label, wmm, hmm);
    }
    for (int i = 0; i < dl.n; i++) {
        const struct ui_draw *d = &dl.cmds[i];
        if (d->kind != UI_DRAW_TEXT)
            continue;
        if (d->px < 28)
            check_fail(__FILE__, __LINE__, "%s: text \"%s\" at %d px", where, d->text, d->px);
        double c = contrast(d->fg, d->bg);
        if (c < 7.0)
            check_fail(__FILE__, __LINE__, "%s: text \"%s\" contrast %.2f:1", where, d->text,
                       c);
    }
    /* The background behind a text really is the colour it was laid out on. */
    for (int i = 0; i < dl.n; i++) {
        const struct ui_draw *d = &dl.cmds[i];
        if (d->kind != UI_DRAW_TEXT)
            continue;
        uint32_t under = dl.clear;
        int cx = d->r.x + d->r.w / 2, cy = d->r.y + d->r.h / 2;
        for (int j = 0; j < i; j++) {
            const struct ui_draw *e = &dl.cmds[j];
            if (e->kind == UI_DRAW_FILL && cx >= e->r.x && cx < e->r.x + e->r.w &&
                cy >= e->r.y && cy < e->r.y + e->r.h)
                under = e->bg;
        }
        if (under != d->bg)
            check_fail(__FILE__, __LINE__, "%s: text \"%s\" laid out for %06x drawn on %06x",
                       where, d->text, d->bg, under);
    }
}

TEST(test_ui_targets_are_15_mm_and_text_28_px_at_7_to_1_on_every_screen)
{
    /* The panel's geometry, from the config: 15 mm is about 79 px at 800×480, 7". */
    struct fake f;
    struct ui_host h;
    struct ui *ui = make_ui(&f, &h, 800, 480);
    ASSERT(fabs(15.0 * ui_px_per_mm(ui) - 78.7) < 0.1);
    ui_free(ui);
    each_screen(800, 480, check_sizes);
    each_screen(1024, 600, check_sizes);
}


/* The frame's places, the same on every screen of one panel size. */
static struct ui_rect frame_seen[3][2]; /* back, hear, forward; per size */
static int frame_have[3][2];

static int same_rect(struct ui_rect a, struct ui_rect b)
{
    return a.x == b.x && a.y == b.y && a.w == b.w && a.h == b.h;
}

static int contains(struct ui_rect r, int x, int y)
{
    return x >= r.x && x < r.x + r.w && y >= r.y && y < r.y + r.h;
}

static uint32_t fill_under(const struct ui_draw_list *dl, int x, int y)
{
    uint32_t c = dl->clear;
    for (int i = 0; i < dl->n; i++)
        if (dl->cmds[i].kind == UI_DRAW_FILL && contains(dl->cmds[i].r, x, y))
            c = dl->cmds[i].bg;
    return c;
}

static void check_frame(struct ui *ui, const char *where)
{
    static struct ui_draw_list dl;
    int n, W, H;
    ui_draw(ui, &dl);
    if (!villager_screen(ui_screen(ui)))
        return;
    /* The keyboard needs the panel's height for its keys: its corners are
       the frame's corners, at sizes of their own (ui_keyboard.c). */
    int corners_only = ui_screen(ui) == UI_TEXT;
    const struct ui_target *t = ui_targets(ui, &n);
    W = strstr(where, "1024") ? 1024 : 800;
    H = W == 1024 ? 600 : 480;
    int size = W == 1024;
    int forward = 0;
    for (int i = 0; i < n; i++) {
        int slot = !strcmp(t[i].label, "back") || !strcmp(t[i].label, "discard") ? 0
                   : !strcmp(t[i].label, "hear")                                  ? 1
                   : !strcmp(t[i].label, "send") || !strcmp(t[i].label, "ok")     ? 2
                                                                                  : -1;
        if (!strcmp(t[i].label, "done")) {
            /* Recording: the large "done" spans the forward place. */
            ASSERT(contains(t[i].r, W - 1, H - 1));
            ASSERT_EQ(fill_under(&dl, W - 20, H - 20), 0x075E26u);
            forward = 1;
        }
        if (slot < 0)
            continue;
        struct ui_rect r = t[i].r;
        if (slot == 0 && !(r.x == 0 && r.y == 0))
            check_fail(__FILE__, __LINE__, "%s: %s not in the top left corner", where, t[i].label);
        if (slot == 1 && !(r.x + r.w == W && r.y == 0))
            check_fail(__FILE__, __LINE__, "%s: hear not in the top right corner", where);
        if (slot == 2) {
            forward = 1;
            if (!(r.x + r.w == W && r.y + r.h == H))
                check_fail(__FILE__, __LINE__, "%s: %s not in the bottom right corner", where,
                           t[i].label);
            if (fill_under(&dl, r.x + r.w / 2, r.y + r.h / 2) != 0x075E26u)
                check_fail(__FILE__, __LINE__, "%s: %s is not green", where, t[i].label);
        }
        if (corners_only) {
            continue;
        } else if (!frame_have[slot][size]) {
            frame_have[slot][size] = 1;
            frame_seen[slot][size] = r;
        } else if (!same_rect(frame_seen[slot][size], r)) {
            check_fail(__FILE__, __LINE__, "%s: %s at %d,%d %dx%d, elsewhere at %d,%d %dx%d", where,
                       t[i].label, r.x, r.y, r.w, r.h, frame_seen[slot][size].x,
                       frame_seen[slot][size].y, frame_seen[slot][size].w,
                       frame_seen[slot][size].h);
        }
    }
    /* Where a step is taken, the forward action is there; dots say which step. */
    int s = ui_screen(ui);
    if (s == UI_REVIEW || s == UI_RECORDING || s == UI_WHEN || s == UI_CATEGORY)
        ASSERT(forward);
    if (s == UI_SPEAK || s == UI_REVIEW || s == UI_WHEN) {
        int dots = 0;
        for (int i = 0; i < dl.n; i++)
            dots += dl.cmds[i].kind == UI_DRAW_FILL && dl.cmds[i].r.y > H * 3 / 4 &&
                    dl.cmds[i].r.w < 40 && dl.cmds[i].r.x + dl.cmds[i].r.w < W * 2 / 3;
        if (dots != 3)
            check_fail(__FILE__, __LINE__, "%s: %d step dots", where, dots);
    }
}

TEST(test_ui_the_frame_is_in_the_same_places_on_every_screen)
{
    memset(frame_have, 0, sizeof frame_have);
    each_screen(800, 480, check_frame);
    each_screen(1024, 600, check_frame);
    ASSERT(frame_have[0][0] && frame_have[1][0] && frame_have[2][0]);
    ASSERT(frame_have[0][1] && frame_have[1][1] && frame_have[2][1]);
}

static void nothing(struct ui *ui, const char *where)
{
    (void)ui;
    (void)where;
}

TEST(test_ui_no_target_of_the_next_screen_lies_under_the_finger)
{
    /* each_screen checks every move of every path (check_finger). */
    each_screen(800, 480, nothing);
    each_screen(1024, 600, nothing);
    /* ... and the moves no path takes: still there? back to the speak screen. */
    struct fake f;
    struct ui_host h;
    struct ui *ui = make_ui(&f, &h, 800, 480);
    tap(ui, "lang:vi", 0);
    tick_to(ui, 100, 60100);
    int x, y;
    static struct ui_draw_list dl;
    ui_draw(ui, &dl);
    ASSERT_EQ(ui_find(ui, "still_here", &x, &y), 0);
    ui_tap(ui, x, y, 61000);
    ASSERT_STR_EQ(screen_of(ui), "speak");
    ASSERT(target_at(ui, x, y) == NULL);
    ui_free(ui);
}

static int overlap(struct ui_rect a, struct ui_rect b)
{
    return a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h;
}

static void check_practice_frame(struct ui *ui, const char *where)
{
    static struct ui_draw_list dl;
    ui_draw(ui, &dl);
    if (!strstr(where, "practice") || !villager_screen(ui_screen(ui)))
        return;
    int bands = 0;
    for (int i = 0; i < dl.n; i++) {
        if (!(dl.cmds[i].kind == UI_DRAW_FILL && dl.cmds[i].bg == 0xFFB000u))
            continue;
        bands++;
        for (int j = 0; j < dl.n; j++) {
            const struct ui_draw *d = &dl.cmds[j];
            if (j == i || (d->kind == UI_DRAW_FILL && d->bg == 0xFFB000u))
                continue;
            if (overlap(dl.cmds[i].r, d->r))
                check_fail(__FILE__, __LINE__, "%s: the practice frame covers \"%s\" (kind %d)",
                           where, d->text, d->kind);
        }
    }
    if (bands != 4)
        check_fail(__FILE__, __LINE__, "%s: %d bands of the practice frame", where, bands);
}

TEST(test_ui_the_practice_frame_is_on_every_screen_and_covers_nothing)
{
    each_screen(800, 480, check_practice_frame);
    each_screen(1024, 600, check_practice_frame);
}
