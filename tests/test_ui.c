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
                  char *err, size_t n)
{
    struct fake *f = ctx;
    snprintf(err, n, "fake");
    if (f->send_rc)
        return f->send_rc;
    f->sends++;
    snprintf(f->sent_lang, sizeof f->sent_lang, "%s", lang);
    f->sent_category = category;
    f->sent_when = when;
    snprintf(f->sent_text, sizeof f->sent_text, "%s", text);
    return 0;
}

static void f_discard(void *ctx)
{
    ((struct fake *)ctx)->discards++;
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

static struct ui *make_ui(struct fake *f, struct ui_host *h, int w, int hgt)
{
    memset(f, 0, sizeof *f);
    f->can_take = 1;
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
    h->ctx = f;
    struct ui_config c = {.width = w, .height = hgt, .diagonal_inches = 7, .langs = langs,
                          .nlangs = 2, .pin = "2468"};
    struct ui *ui = ui_new(&c, h);
    ASSERT(ui);
    return ui;
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

TEST(test_ui_voice_path_takes_four_taps_after_the_first_touch)
{
    struct fake f;
    struct ui_host h;
    struct ui *ui = make_ui(&f, &h, 800, 480);
    ASSERT_STR_EQ(ui_screen_name(ui_screen(ui)), "start");
    tap(ui, "start", 1000); /* the first touch */
    ASSERT_STR_EQ(ui_screen_name(ui_screen(ui)), "language");
    int taps = 0;
    tap(ui, "lang:hmn", 2000), taps++;
    ASSERT(said(&f, "hmn/language_name"));
    ASSERT_STR_EQ(ui_screen_name(ui_screen(ui)), "category");
    tap(ui, "cat:2", 3000), taps++;
    ASSERT(said(&f, "hmn/cat_drugs")); /* a touch speaks the choice */
    ASSERT_STR_EQ(ui_screen_name(ui_screen(ui)), "speak");
    tap(ui, "record", 4000), taps++;
    ASSERT_EQ(f.recording, 1);
    ASSERT_STR_EQ(ui_screen_name(ui_screen(ui)), "recording");
    f.seconds = 20;
    ui_tick(ui, 24000);
    tap(ui, "send", 24500), taps++;
    ASSERT_EQ(taps, 4);
    ASSERT_EQ(f.sends, 1);
    ASSERT_EQ(f.recording, 0);
    ASSERT_STR_EQ(f.sent_lang, "hmn");
    ASSERT_EQ(f.sent_category, CATEGORY_DRUGS);
    ASSERT_STR_EQ(ui_screen_name(ui_screen(ui)), "sent");
    ASSERT(said(&f, "hmn/sent"));
    ui_tick(ui, 24500 + 10000);
    ASSERT_STR_EQ(ui_screen_name(ui_screen(ui)), "start");
    ui_free(ui);
}

TEST(test_ui_full_path_with_review_text_and_when)
{
    struct fake f;
    struct ui_host h;
    struct ui *ui = make_ui(&f, &h, 1024, 600);
    tap(ui, "start", 0);
    tap(ui, "lang:vi", 100);
    tap(ui, "cat:1", 200);
    tap(ui, "record", 300);
    f.seconds = 5;
    tap(ui, "stop", 5300);
    ASSERT_STR_EQ(ui_screen_name(ui_screen(ui)), "review");
    ASSERT(said(&f, "vi/record_review"));
    tap(ui, "again", 5400); /* record again: the first take is discarded */
    ASSERT_EQ(f.discards, 1);
    ASSERT_STR_EQ(ui_screen_name(ui_screen(ui)), "speak");
    tap(ui, "record", 5500);
    tap(ui, "stop", 9000);
    tap(ui, "keep", 9100);
    ASSERT_STR_EQ(ui_screen_name(ui_screen(ui)), "text");
    /* Telex on the keyboard: "dduwowngf" → "đường" */
    const char *keys = "dduwowngf";
    for (const char *k = keys; *k; k++) {
        char label[8];
        snprintf(label, sizeof label, "key:%c", *k);
        tap(ui, label, 9200);
    }
    tap(ui, "text_done", 9300);
    ASSERT_STR_EQ(ui_screen_name(ui_screen(ui)), "when");
    tap(ui, "when:2", 9400);
    ASSERT(said(&f, "vi/when_yesterday"));
    tap(ui, "send", 9500);
    ASSERT_EQ(f.sends, 1);
    ASSERT_STR_EQ(f.sent_text, "đường");
    ASSERT_EQ(f.sent_when, WHEN_YESTERDAY);
    ASSERT_EQ(f.sent_category, CATEGORY_BORDER);
    ui_free(ui);
}

TEST(test_ui_idle_asks_then_discards_the_tip_in_progress)
{
    struct fake f;
    struct ui_host h;
    struct ui *ui = make_ui(&f, &h, 800, 480);
    tap(ui, "start", 0);
    tap(ui, "lang:vi", 1000);
    tap(ui, "cat:3", 2000);
    tap(ui, "record", 3000);
    tap(ui, "stop", 10000);
    ui_tick(ui, 10000 + 59000);
    ASSERT_STR_EQ(ui_screen_name(ui_screen(ui)), "review");
    ui_tick(ui, 10000 + 60000);
    ASSERT_STR_EQ(ui_screen_name(ui_screen(ui)), "still_there");
    ASSERT(said(&f, "vi/still_there"));
    ui_tick(ui, 10000 + 60000 + 14900);
    ASSERT_EQ(f.discards, 0);
    ui_tick(ui, 10000 + 60000 + 15000);
    ASSERT_EQ(f.discards, 1);
    ASSERT_EQ(f.sends, 0);
    ASSERT_STR_EQ(ui_screen_name(ui_screen(ui)), "start");

    /* "Yes, I am here" returns to where the person was. */
    tap(ui, "start", 100000);
    tap(ui, "lang:vi", 100100);
    ui_tick(ui, 160100);
    ASSERT_STR_EQ(ui_screen_name(ui_screen(ui)), "still_there");
    tap(ui, "still_here", 161000);
    ASSERT_STR_EQ(ui_screen_name(ui_screen(ui)), "category");
    ui_free(ui);
}

TEST(test_ui_blanks_after_long_idle_and_the_waking_touch_does_nothing_else)
{
    struct fake f;
    struct ui_host h;
    struct ui *ui = make_ui(&f, &h, 800, 480);
    ui_tick(ui, 0);
    ui_tick(ui, 299000);
    ASSERT(!ui_blanked(ui));
    ui_tick(ui, 300000);
    ASSERT(ui_blanked(ui));
    ui_tap(ui, 400, 240, 300500); /* where "start" would be */
    ASSERT(!ui_blanked(ui));
    ASSERT_STR_EQ(ui_screen_name(ui_screen(ui)), "start");
    ui_free(ui);
}

TEST(test_ui_without_microphone_offers_text_and_with_a_full_disk_says_so_calmly)
{
    struct fake f;
    struct ui_host h;
    struct ui *ui = make_ui(&f, &h, 800, 480);
    f.mic = -1;
    tap(ui, "start", 0);
    tap(ui, "lang:vi", 1);
    tap(ui, "cat:5", 2);
    tap(ui, "record", 3);
    ASSERT_STR_EQ(ui_screen_name(ui_screen(ui)), "text");
    ASSERT(said(&f, "vi/no_microphone"));
    static struct ui_draw_list dl;
    ui_draw(ui, &dl);
    int found = 0;
    for (int i = 0; i < dl.n; i++)
        found |= strstr(dl.cmds[i].text, "The microphone is not working") != NULL;
    ASSERT(found);
    tap(ui, "key:a", 4);
    tap(ui, "text_done", 5);
    f.send_rc = -2; /* the disk fills up before "send" */
    tap(ui, "send", 6);
    ASSERT_STR_EQ(ui_screen_name(ui_screen(ui)), "out_of_service");
    ASSERT(said(&f, "vi/out_of_service"));
    ASSERT_EQ(f.sends, 0);
    f.can_take = 0;
    ui_tick(ui, 10000);
    ASSERT_STR_EQ(ui_screen_name(ui_screen(ui)), "out_of_service");
    f.can_take = 1;
    ui_tick(ui, 20000);
    ASSERT_STR_EQ(ui_screen_name(ui_screen(ui)), "start");
    ui_free(ui);
}

TEST(test_ui_recording_warns_before_the_end_and_stops_at_the_maximum)
{
    struct fake f;
    struct ui_host h;
    struct ui *ui = make_ui(&f, &h, 800, 480);
    tap(ui, "start", 0);
    tap(ui, "lang:vi", 1);
    tap(ui, "cat:7", 2);
    tap(ui, "record", 3);
    f.seconds = 164;
    ui_tick(ui, 164000);
    ASSERT(!said(&f, "vi/record_warning"));
    f.seconds = 165;
    ui_tick(ui, 165000);
    ASSERT(said(&f, "vi/record_warning"));
    f.seconds = 180;
    ui_tick(ui, 180000);
    ASSERT_STR_EQ(ui_screen_name(ui_screen(ui)), "review");
    ASSERT_EQ(f.recording, 0);
    ui_free(ui);
}

TEST(test_ui_missing_string_shows_the_vietnamese_text)
{
    struct fake f;
    struct ui_host h;
    struct ui *ui = make_ui(&f, &h, 800, 480);
    tap(ui, "start", 0);
    tap(ui, "lang:hmn", 1);
    tap(ui, "cat:1", 2);
    tap(ui, "record", 3);
    static struct ui_draw_list dl;
    ui_draw(ui, &dl);
    int vi = 0;
    for (int i = 0; i < dl.n; i++)
        vi |= !strcmp(dl.cmds[i].text, "[vi] Gửi");
    ASSERT(vi);
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

/* Visit every screen a person can reach, in both languages and sizes. */
static void each_screen(int w, int hgt, void (*fn)(struct ui *ui, const char *where))
{
    struct fake f;
    struct ui_host h;
    static const char *const paths[][8] = {
        {NULL},
        {"start", NULL},
        {"start", "lang:LANG", NULL},
        {"start", "lang:LANG", "cat:6", NULL},
        {"start", "lang:LANG", "cat:6", "record", NULL},
        {"start", "lang:LANG", "cat:6", "record", "stop", NULL},
        {"start", "lang:LANG", "cat:6", "record", "stop", "keep", NULL},
        {"start", "lang:LANG", "cat:6", "record", "stop", "keep", "text_done", NULL},
        {"start", "lang:LANG", "cat:6", "record", "send", NULL},
        {"volunteer", NULL},
        {"volunteer", "pin:2", "pin:4", "pin:6", "pin:8", NULL},
        {"volunteer", "pin:2", "pin:4", "pin:6", "pin:8", "v:tech", NULL},
    };
    const char *codes[2] = {"vi", "hmn"};
    for (int l = 0; l < 2; l++)
        for (size_t p = 0; p < sizeof paths / sizeof *paths; p++) {
            struct ui *ui = make_ui(&f, &h, w, hgt);
            for (int i = 0; paths[p][i]; i++) {
                char label[32];
                snprintf(label, sizeof label, "%s",
                         strcmp(paths[p][i], "lang:LANG") ? paths[p][i] : "");
                if (!label[0])
                    snprintf(label, sizeof label, "lang:%s", codes[l]);
                tap(ui, label, (uint32_t)i * 100);
            }
            char where[64];
            snprintf(where, sizeof where, "%dx%d %s %s", w, hgt, codes[l],
                     ui_screen_name(ui_screen(ui)));
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
