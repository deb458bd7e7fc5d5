/*
 * Tests for the screens behind the PIN (src/kiosk/ui_staff.c) through the
 * real host (kiosk.c) on the fake audio port, the real catalogs and a copy
 * of the shipped prompts: the PIN lockout, the recording session's takes,
 * prompts carried on a USB stick (a temp dir), the technician's facts, and
 * the words on every staff screen.
 */
#include <errno.h>
#include <math.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <SDL_ttf.h>

#include "check.h"
#include "delivery/uplink_status.h"
#include "delivery/uploader.h"
#include "kiosk/audio.h"
#include "kiosk/i18n.h"
#include "kiosk/kiosk.h"
#include "kiosk/prompts.h"
#include "kiosk/ui.h"

static const char *root(void)
{
    const char *r = getenv("HOMTHU_ROOT");
    return r && *r ? r : ".";
}

struct fx {
    char assets[4200], data[4200];
    struct prompts *p;
    struct i18n *i18n;
    struct kiosk *k;
    struct audio_fake *af;
    struct ui_host h;
    struct ui *ui;
    uint32_t now;
};

static const struct ui_lang langs[] = {
    {"vi", "Tiếng Việt", 1},
    {"hmn", "Lus Hmoob", 2},
};

/* A kiosk with its own copy of the shipped prompts under check_dir()/name. */
static void fx_open(struct fx *x, const char *name, int w, int h)
{
    char err[512] = "";
    memset(x, 0, sizeof *x);
    ASSERT(sodium_init() >= 0);
    snprintf(x->assets, sizeof x->assets, "%s/assets", check_path(name));
    snprintf(x->data, sizeof x->data, "%s/data", check_path(name));
    ASSERT_EQ(check_sh("mkdir -p '%s' '%s' && cp -r '%s/assets/prompts' '%s/assets/lang' '%s/'",
                       x->assets, x->data, root(), root(), x->assets),
              0);
    if (prompts_load(&x->p, x->assets, err, sizeof err) != 0)
        check_fail(__FILE__, __LINE__, "prompts: %s", err);
    ASSERT_EQ(i18n_load_dir(&x->i18n, x->assets, err, sizeof err), 0);
    struct audio_port ap;
    x->af = audio_fake_open(&ap);
    ASSERT(x->af);
    struct kiosk_opts ko = {.audio = &ap,
                            .prompts = x->p,
                            .i18n = x->i18n,
                            .kiosk_id = "na-co-sa-01",
                            .data_dir = x->data,
                            .volume = 80};
    ASSERT_EQ(kiosk_new(&x->k, &ko, err, sizeof err), 0);
    kiosk_host(x->k, &x->h);
    struct ui_config c = {.width = w, .height = h, .diagonal_inches = 7, .langs = langs,
                          .nlangs = 2, .pin = "2468"};
    x->ui = ui_new(&c, &x->h);
    ASSERT(x->ui);
    x->now = 1000;
}

static void fx_close(struct fx *x)
{
    ui_free(x->ui);
    kiosk_free(x->k);
    i18n_free(x->i18n);
    prompts_free(x->p);
}

static struct ui_draw_list dl;

/* What the uploader's loop tells its tick. */
static const struct uploader_news *news(int phase, int error)
{
    static struct uploader_news n;
    n.phase = phase;
    n.error = error;
    n.doing = "";
    return &n;
}

static void draw(struct fx *x)
{
    ui_draw(x->ui, &dl);
}

static int has_target(struct fx *x, const char *label)
{
    int px, py;
    draw(x);
    return ui_find(x->ui, label, &px, &py) == 0;
}

static void tap(struct fx *x, const char *label)
{
    int px, py;
    draw(x);
    if (ui_find(x->ui, label, &px, &py) != 0)
        check_fail(__FILE__, __LINE__, "no target \"%s\" on screen %s", label,
                   ui_screen_name(ui_screen(x->ui)));
    x->now += 500;
    ui_tap(x->ui, px, py, x->now);
}

/* Is `s` in a text of the current frame? */
static int shown(struct fx *x, const char *s)
{
    draw(x);
    for (int i = 0; i < dl.n; i++)
        if (dl.cmds[i].kind == UI_DRAW_TEXT && strstr(dl.cmds[i].text, s))
            return 1;
    return 0;
}

/* Texts one after another in the frame read exactly `s` (long words are
   drawn in pieces). */
static int shown_exact(struct fx *x, const char *s)
{
    draw(x);
    for (int i = 0; i < dl.n; i++) {
        char joined[2048] = "";
        for (int j = i; j < dl.n && dl.cmds[j].kind == UI_DRAW_TEXT; j++) {
            size_t l = strlen(joined);
            snprintf(joined + l, sizeof joined - l, "%s%s", l ? " " : "", dl.cmds[j].text);
            if (!strcmp(joined, s))
                return 1;
        }
    }
    return 0;
}

static void pin(struct fx *x, const char *digits)
{
    for (const char *d = digits; *d; d++) {
        char label[8];
        snprintf(label, sizeof label, "pin:%c", *d);
        tap(x, label);
    }
}

static void volunteer(struct fx *x)
{
    ui_staff_open(x->ui, 0, x->now);
    ASSERT_STR_EQ(ui_screen_name(ui_screen(x->ui)), "pin");
    pin(x, "2468");
    ASSERT_STR_EQ(ui_screen_name(ui_screen(x->ui)), "volunteer");
}

static void tick(struct fx *x, uint32_t ms)
{
    x->now += ms;
    ui_tick(x->ui, x->now);
}

TEST(test_ui_staff_pin_lockout_grows_counts_down_and_outlives_the_screen)
{
    struct fx x;
    fx_open(&x, "k", 800, 480);
    ui_staff_open(x.ui, 0, x.now);
    pin(&x, "1111");
    ASSERT(shown(&x, "Còn 2 lần thử"));
    pin(&x, "1112");
    ASSERT(shown(&x, "Còn 1 lần thử"));
    pin(&x, "1113");
    /* Locked: 30 s, shown and counted down; no keys to press. */
    ASSERT(shown(&x, "0:30"));
    ASSERT(shown(&x, "quá nhiều lần"));
    ASSERT(!has_target(&x, "pin:2"));
    tick(&x, 10000);
    ASSERT(ui_dirty(x.ui)); /* the countdown redraws itself */
    ASSERT(shown(&x, "0:20"));
    /* Leaving and coming back does not lift it. */
    tap(&x, "pin_cancel");
    ASSERT_STR_EQ(ui_screen_name(ui_screen(x.ui)), "start");
    tick(&x, 5000);
    ui_staff_open(x.ui, 0, x.now);
    ASSERT(shown(&x, "0:15"));
    ASSERT(!has_target(&x, "pin:2"));
    tick(&x, 15000);
    ASSERT(has_target(&x, "pin:2"));
    /* Three more wrong: 2 minutes; then 10. */
    pin(&x, "1111");
    pin(&x, "1111");
    pin(&x, "1111");
    ASSERT(shown(&x, "2:00"));
    tick(&x, 60500);
    ASSERT(shown(&x, "1:00"));
    tick(&x, 60000);
    ASSERT(has_target(&x, "pin:2"));
    pin(&x, "1111");
    pin(&x, "1111");
    pin(&x, "1111");
    ASSERT(shown(&x, "10:00"));
    tick(&x, 600000);
    /* Left alone that long, the PIN screen closed; the right PIN opens,
       and forgives: the next lockout is short again. */
    ui_staff_open(x.ui, 0, x.now);
    pin(&x, "2468");
    ASSERT_STR_EQ(ui_screen_name(ui_screen(x.ui)), "volunteer");
    /* The volunteer's switches say where they stand, in words. */
    ASSERT(shown(&x, "Âm lượng: 80%"));
    tap(&x, "v:volume");
    ASSERT(shown(&x, "Âm lượng: 100%"));
    ASSERT(shown(&x, "Chế độ tập: đang tắt"));
    tap(&x, "v:practice");
    ASSERT(shown(&x, "Chế độ tập: đang bật"));
    tap(&x, "v:practice");
    tap(&x, "v:done");
    ui_staff_open(x.ui, 0, x.now);
    pin(&x, "1111");
    pin(&x, "1111");
    pin(&x, "1111");
    ASSERT(shown(&x, "0:30"));
    fx_close(&x);
}

static void speak_tone(struct fx *x, double freq, double seconds)
{
    size_t n = (size_t)(16000 * seconds);
    int16_t *pcm = malloc(n * sizeof *pcm);
    ASSERT(pcm);
    for (size_t i = 0; i < n; i++)
        pcm[i] = (int16_t)(8000 * sin(2 * M_PI * freq * (double)i / 16000));
    ASSERT_EQ(audio_fake_feed(x->af, pcm, n, 0), 0);
    free(pcm);
    kiosk_pump(x->k);
}

/* A file as a string (check_slurp does not end it with a NUL). */
static char *slurp_text(const char *path)
{
    size_t n;
    uint8_t *b = check_slurp(path, &n);
    char *s = b ? malloc(n + 1) : NULL;
    if (s) {
        memcpy(s, b, n);
        s[n] = 0;
    }
    free(b);
    return s;
}

static uint8_t *file_of(struct fx *x, const char *lang, const char *id, size_t *len)
{
    char path[4400];
    snprintf(path, sizeof path, "%s/prompts/%s/%s.opus", x->assets, lang, id);
    return check_slurp(path, len);
}

static int same_file(struct fx *x, const char *lang, const char *id, const uint8_t *b, size_t n)
{
    size_t m;
    uint8_t *c = file_of(x, lang, id, &m);
    int same = c && b && m == n && memcmp(b, c, n) == 0;
    free(c);
    return same;
}

TEST(test_ui_staff_recording_keeps_the_old_take_until_keep)
{
    struct fx x;
    fx_open(&x, "k", 800, 480);
    volunteer(&x);
    ASSERT(shown(&x, "đã ghi 0 / "));
    tap(&x, "v:session");
    /* The first sentence: its words, large; where it stands. */
    ASSERT(shown(&x, "câu 1 / "));
    ASSERT(shown_exact(&x, prompts_words(x.p, "vi", "welcome")));
    ASSERT(shown(&x, "giọng máy"));
    size_t old_len;
    uint8_t *old = file_of(&x, "vi", "welcome", &old_len);
    ASSERT(old);
    /* Hear the current take: the kiosk's own file at 48 kHz. */
    tap(&x, "s:hear");
    size_t played;
    int rate;
    ASSERT(audio_fake_played(x.af, &played, &rate));
    ASSERT_EQ(rate, 48000);
    tap(&x, "s:record");
    ASSERT(shown(&x, "Đang ghi"));
    ASSERT(!has_target(&x, "s:back")); /* no way off mid-recording but Stop */
    speak_tone(&x, 440, 1.0);
    tap(&x, "s:record"); /* stop */
    ASSERT(has_target(&x, "s:keep"));
    ASSERT(!has_target(&x, "s:next"));
    ASSERT(same_file(&x, "vi", "welcome", old, old_len));
    ASSERT_EQ(prompts_status(x.p, "vi", "welcome"), PROMPT_ESPEAK);
    /* Hear the new take: the recording itself, 16 kHz, one second. */
    tap(&x, "s:play");
    ASSERT(audio_fake_played(x.af, &played, &rate));
    ASSERT_EQ(rate, 16000);
    ASSERT_EQ(played, 16000);
    /* Redo: the old take still serves. */
    tap(&x, "s:redo");
    speak_tone(&x, 660, 1.5);
    tap(&x, "s:record");
    ASSERT(same_file(&x, "vi", "welcome", old, old_len));
    tap(&x, "s:play");
    ASSERT(audio_fake_played(x.af, &played, &rate));
    ASSERT_EQ(played, 24000);
    /* Throwing it away keeps the old one too. */
    tap(&x, "s:drop");
    ASSERT(shown(&x, "vẫn dùng bản cũ"));
    ASSERT(same_file(&x, "vi", "welcome", old, old_len));
    /* Record and keep: now, and only now, the file and the manifest change. */
    tap(&x, "s:record");
    speak_tone(&x, 440, 1.2);
    tap(&x, "s:record");
    tap(&x, "s:keep");
    ASSERT(!same_file(&x, "vi", "welcome", old, old_len));
    ASSERT_EQ(prompts_status(x.p, "vi", "welcome"), PROMPT_RECORDED);
    char man[4400];
    snprintf(man, sizeof man, "%s/prompts/manifest.tsv", x.assets);
    char *m = slurp_text(man);
    ASSERT(m && strstr(m, "vi\twelcome\trecorded\t"));
    free(m);
    ASSERT(shown(&x, "Đã giữ"));
    tap(&x, "s:next");
    ASSERT(shown(&x, "câu 2 / "));
    tap(&x, "s:back");
    ASSERT(shown(&x, "đã ghi 1 / "));
    free(old);
    fx_close(&x);
}

TEST(test_ui_staff_a_take_left_behind_closes_the_microphone)
{
    struct fx x;
    fx_open(&x, "k", 800, 480);
    volunteer(&x);
    tap(&x, "v:session");
    tap(&x, "s:record");
    ASSERT(audio_fake_capturing(x.af));
    tick(&x, 60u * 5 * 1000);
    ASSERT(!audio_fake_capturing(x.af));
    ASSERT_STR_EQ(ui_screen_name(ui_screen(x.ui)), "start");
    fx_close(&x);
}


/* Go to the sentence whose words are those of lang/id. */
static void go_to(struct fx *x, const char *lang, const char *id)
{
    const char *words = prompts_words(x->p, lang, id);
    for (int i = 0; i < 64 && !shown_exact(x, words); i++)
        tap(x, "s:next");
    ASSERT(shown_exact(x, words));
}

/* Record the Hmong "language_name" on kiosk x through its screens. */
static void record_hmong_name(struct fx *x)
{
    volunteer(x);
    tap(x, "v:lang:hmn");
    tap(x, "v:session");
    go_to(x, "hmn", "language_name");
    tap(x, "s:record");
    speak_tone(x, 330, 1.0);
    tap(x, "s:record");
    tap(x, "s:keep");
    ASSERT_EQ(prompts_status(x->p, "hmn", "language_name"), PROMPT_RECORDED);
    tap(x, "s:back");
}

static char *manifest_text(struct fx *x)
{
    char man[4400];
    snprintf(man, sizeof man, "%s/prompts/manifest.tsv", x->assets);
    return slurp_text(man);
}

TEST(test_ui_staff_usb_round_trip_shows_what_changes)
{
    struct fx a, b;
    const char *stick = check_path("stick");
    ASSERT_EQ(mkdir(stick, 0755), 0);
    setenv("HOMTHU_USB_DIR", stick, 1);
    fx_open(&a, "a", 800, 480);
    fx_open(&b, "b", 800, 480);
    /* Nothing recorded yet: nothing to copy, nothing written. */
    volunteer(&a);
    tap(&a, "v:lang:hmn");
    tap(&a, "v:usb");
    tap(&a, "u:export");
    ASSERT(shown(&a, "chưa có câu nào được ghi"));
    ASSERT(check_sh("test -e '%s/homthu-prompts'", stick) != 0);
    tap(&a, "u:back");
    tap(&a, "v:done");
    record_hmong_name(&a);
    tap(&a, "v:usb");
    tap(&a, "u:export");
    ASSERT(shown(&a, "Đã chép 1 câu sang USB"));
    ASSERT_EQ(check_sh("test -f '%s/homthu-prompts/hmn/language_name.opus'", stick), 0);
    /* Kiosk b: what will change, before anything does. */
    char *before = manifest_text(&b);
    volunteer(&b);
    tap(&b, "v:lang:hmn");
    tap(&b, "v:usb");
    tap(&b, "u:import");
    ASSERT(shown(&b, "Lấy từ USB: Lus Hmoob"));
    /* The stand-in is replaced: named by its words, never its id. */
    ASSERT(shown(&b, "0 câu mới, 1 câu thay bản đang dùng, 0 câu giống hệt"));
    ASSERT(shown(&b, prompts_words(b.p, "hmn", "language_name")));  /* short: one piece */
    char *still = manifest_text(&b);
    ASSERT_STR_EQ(still, before);
    free(still);
    tap(&b, "u:take");
    ASSERT(shown(&b, "Đã lấy 1 câu"));
    size_t alen;
    uint8_t *abytes = file_of(&a, "hmn", "language_name", &alen);
    ASSERT(same_file(&b, "hmn", "language_name", abytes, alen));
    ASSERT_EQ(prompts_status(b.p, "hmn", "language_name"), PROMPT_RECORDED);
    /* b now speaks it: its own file, not the Vietnamese one. */
    const int16_t *pcm;
    size_t n;
    char err[256];
    ASSERT_EQ(prompts_get_own(b.p, "hmn", "language_name", &pcm, &n, err, sizeof err), 0);
    /* Taking it again changes nothing. */
    tap(&b, "u:import");
    ASSERT(shown(&b, "Không có gì để lấy"));
    free(abytes);
    free(before);
    fx_close(&a);
    fx_close(&b);
    unsetenv("HOMTHU_USB_DIR");
}

/* Kiosk b tries to take what a bad stick holds: refused, nothing changed.
   `shell` spoils a fresh copy of the good export, in its folder. */
static void refused(struct fx *b, const char *shell, const char *says)
{
    const char *stick = getenv("HOMTHU_USB_DIR");
    ASSERT_EQ(check_sh("rm -rf '%s/homthu-prompts' && cp -r '%s/../good' '%s/homthu-prompts' && "
                       "cd '%s/homthu-prompts/hmn' && %s",
                       stick, stick, stick, stick, shell),
              0);
    char *before = manifest_text(b);
    ASSERT_EQ(check_sh("cd '%s/prompts' && ls -la hmn > ../before.txt", b->assets), 0);
    tap(b, "u:import");
    if (!shown(b, says))
        check_fail(__FILE__, __LINE__, "after \"%s\" the screen does not say \"%s\"", shell,
                   says);
    ASSERT(!has_target(b, "u:take"));
    char *after = manifest_text(b);
    ASSERT_STR_EQ(after, before);
    ASSERT_EQ(check_sh("cd '%s/prompts' && ls -la hmn | cmp -s - ../before.txt", b->assets), 0);
    free(before);
    free(after);
}

TEST(test_ui_staff_usb_refuses_a_damaged_or_unknown_file_and_changes_nothing)
{
    struct fx a, b;
    const char *stick = check_path("stick");
    ASSERT_EQ(mkdir(stick, 0755), 0);
    setenv("HOMTHU_USB_DIR", stick, 1);
    fx_open(&a, "a", 800, 480);
    fx_open(&b, "b", 800, 480);
    record_hmong_name(&a);
    tap(&a, "v:usb");
    tap(&a, "u:export");
    ASSERT_EQ(check_sh("cp -r '%s/homthu-prompts' '%s/../good'", stick, stick), 0);
    volunteer(&b);
    tap(&b, "v:lang:hmn");
    tap(&b, "v:usb");
    /* Cut short (a stick pulled out while copying). */
    refused(&b, "truncate -s 100 language_name.opus", "bị hỏng (language_name.opus)");
    /* One byte changed, the size the same. */
    refused(&b,
            "printf 'X' | dd of=language_name.opus bs=1 seek=300 conv=notrunc 2>/dev/null",
            "bị hỏng (language_name.opus)");
    /* Not Ogg Opus, with a size and hash that match what is listed. */
    refused(&b,
            "head -c 4000 /dev/urandom > language_name.opus && "
                  "printf '# homthu-prompts 1\\nlanguage_name\\t4000\\t%s\\tLus Hmoob\\n' "
                  "\"$(sha256sum language_name.opus | cut -c1-64)\" > manifest.tsv",
            "bị hỏng (language_name.opus)");
    /* A prompt this kiosk does not have. */
    refused(&b,
            "cp language_name.opus run_me.opus && "
                  "printf 'run_me\\t%s\\t%s\\tx\\n' \"$(stat -c %s run_me.opus)\" "
                  "\"$(sha256sum run_me.opus | cut -c1-64)\" >> manifest.tsv",
            "không dùng được cho máy này (run_me.opus)");
    /* A link planted where a prompt should be. */
    refused(&b, "mv language_name.opus x.opus && ln -s x.opus language_name.opus",
            "bị hỏng (language_name.opus)");
    /* No manifest of ours. */
    refused(&b, "echo hello > manifest.tsv", "bị hỏng (manifest.tsv)");
    fx_close(&a);
    fx_close(&b);
    unsetenv("HOMTHU_USB_DIR");
}

TEST(test_ui_staff_technician_reads_the_uplinks_news_in_words)
{
    struct fx x;
    fx_open(&x, "k", 800, 480);
    /* No news yet: said, not guessed. */
    ui_staff_open(x.ui, 1, x.now);
    pin(&x, "2468");
    ASSERT_STR_EQ(ui_screen_name(ui_screen(x.ui)), "tech");
    ASSERT(shown(&x, "Máy na-co-sa-01, phiên bản"));
    ASSERT(shown(&x, "không báo tin"));
    /* What homthu-uplink leaves: a failure, then the link back. */
    struct uplink_status *st = uplink_status_new(x.data, "https://relay.example/");
    ASSERT(st);
    int64_t t = (int64_t)time(NULL);
    ASSERT_EQ(uplink_status_note(st, news(UPLOADER_FAILING, UPLOADER_E_OFFLINE), t - 180),
              0);
    ASSERT(shown(&x, "Gửi tới: https://relay.example/"));
    ASSERT(shown(&x, "Lỗi gửi gần nhất: không tới được máy nhận (mất mạng?), 3 phút trước"));
    ASSERT_EQ(uplink_status_note(st, news(UPLOADER_IDLE, 0), t - 60), 0);
    ASSERT(shown(&x, "3 phút trước")); /* the fault stays on record, with its time */
    uplink_status_free(st);
    struct uplink_status_info info;
    ASSERT_EQ(uplink_status_read(x.data, &info), 0);
    ASSERT_EQ(info.state, UPLINK_ST_IDLE);
    ASSERT_STR_EQ(info.error, "offline");
    /* The lights, explained; the touch test on its own area. */
    tap(&x, "t:leds");
    ASSERT(shown(&x, "Đèn đỏ nháy"));
    ASSERT(shown(&x, "4: không có micrô"));
    tap(&x, "t:tests");
    const struct ui_target *tg;
    int n;
    draw(&x);
    tg = ui_targets(x.ui, &n);
    struct ui_rect area = {0, 0, 0, 0};
    for (int i = 0; i < n; i++)
        if (!strcmp(tg[i].label, "t:touch"))
            area = tg[i].r;
    ASSERT(area.w > 0);
    int cx = area.x + area.w / 3, cy = area.y + area.h * 2 / 3;
    ui_tap(x.ui, cx, cy, x.now += 100);
    draw(&x);
    int marked = 0;
    for (int i = 0; i < dl.n; i++)
        marked |= dl.cmds[i].kind == UI_DRAW_FILL && dl.cmds[i].r.x + dl.cmds[i].r.w / 2 == cx &&
                  dl.cmds[i].r.y + dl.cmds[i].r.h / 2 == cy;
    ASSERT(marked);
    tap(&x, "t:mic");
    ASSERT(audio_fake_capturing(x.af));
    tap(&x, "t:done");
    ASSERT(!audio_fake_capturing(x.af)); /* leaving turns the microphone off */
    ASSERT_STR_EQ(ui_screen_name(ui_screen(x.ui)), "start");
    fx_close(&x);
}

/* ---- every staff screen: words, sizes, contrast ---- */

static double lum(uint32_t c)
{
    double ch[3] = {((c >> 16) & 255) / 255.0, ((c >> 8) & 255) / 255.0, (c & 255) / 255.0};
    for (int i = 0; i < 3; i++)
        ch[i] = ch[i] <= 0.03928 ? ch[i] / 12.92 : pow((ch[i] + 0.055) / 1.055, 2.4);
    return 0.2126 * ch[0] + 0.7152 * ch[1] + 0.0722 * ch[2];
}

static double contrast(uint32_t a, uint32_t b)
{
    double la = lum(a), lb = lum(b);
    return la > lb ? (la + 0.05) / (lb + 0.05) : (lb + 0.05) / (la + 0.05);
}

static int word_in(const char *text, const char *w)
{
    size_t n = strlen(w);
    for (const char *p = text; (p = strstr(p, w)); p++) {
        int before = p == text || !((p[-1] >= 'a' && p[-1] <= 'z') || (p[-1] >= 'A' && p[-1] <= 'Z') || p[-1] == '_');
        char c = p[n];
        int after = !((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_');
        if (before && after)
            return 1;
    }
    return 0;
}

static void check_glyphs(const char *where, const char *s);

static void check_screen(struct fx *x, const char *where)
{
    static const char *const english[] = {
        "Record", "Stop",  "Play",    "Next",   "Done", "Volume", "Practice", "Back",
        "Cancel", "Wrong", "Keep",    "the",    "Mic",  "LED",    "Waiting",  "Kiosk",
        "Disk",   "ON",    "OFF",     "ago",    "none", "stick",  "Faults",   "Queue",
        "Enter",  "test",  "Language", "Status", "Tests", "Lights", "Technician", "Copy",
    };
    draw(x);
    int n;
    const struct ui_target *t = ui_targets(x->ui, &n);
    double mm = ui_px_per_mm(x->ui);
    ASSERT(n > 0);
    ASSERT(dl.n < UI_MAX_CMDS);
    for (int i = 0; i < n; i++)
        if (t[i].r.w / mm < 15.0 || t[i].r.h / mm < 15.0)
            check_fail(__FILE__, __LINE__, "%s: target %s is %.1f x %.1f mm", where, t[i].label,
                       t[i].r.w / mm, t[i].r.h / mm);
    for (int i = 0; i < dl.n; i++) {
        const struct ui_draw *d = &dl.cmds[i];
        if (d->kind != UI_DRAW_TEXT)
            continue;
        if (d->px < 28)
            check_fail(__FILE__, __LINE__, "%s: text \"%s\" at %d px", where, d->text, d->px);
        if (contrast(d->fg, d->bg) < 7.0)
            check_fail(__FILE__, __LINE__, "%s: text \"%s\" contrast %.2f:1", where, d->text,
                       contrast(d->fg, d->bg));
        uint32_t under = dl.clear;
        int cx = d->r.x + d->r.w / 2, cy = d->r.y + d->r.h / 2;
        for (int j = 0; j < i; j++) {
            const struct ui_draw *e = &dl.cmds[j];
            if (e->kind == UI_DRAW_FILL && cx >= e->r.x && cx < e->r.x + e->r.w && cy >= e->r.y &&
                cy < e->r.y + e->r.h)
                under = e->bg;
        }
        if (under != d->bg)
            check_fail(__FILE__, __LINE__, "%s: text \"%s\" laid out for %06x drawn on %06x",
                       where, d->text, d->bg, under);
        check_glyphs(where, d->text);
        for (size_t w = 0; w < sizeof english / sizeof *english; w++)
            if (word_in(d->text, english[w]))
                check_fail(__FILE__, __LINE__, "%s: English \"%s\" in \"%s\"", where, english[w],
                           d->text);
        for (size_t k = 0; k < prompts_count(x->p); k++) {
            const char *id;
            ASSERT_EQ(prompts_at(x->p, k, NULL, &id, NULL, NULL), 0);
            if (word_in(d->text, id))
                check_fail(__FILE__, __LINE__, "%s: prompt id \"%s\" in \"%s\"", where, id,
                           d->text);
        }
    }
}

/* Is every letter of `s` in the font the screens are drawn in? A missing
   one is drawn as an empty box (the PIN dots once were). */
static void check_glyphs(const char *where, const char *s)
{
    static TTF_Font *font;
    if (!font) {
        char path[4300];
        snprintf(path, sizeof path, "%s/fonts/NotoSans-Regular.ttf", root());
        ASSERT(TTF_WasInit() || TTF_Init() == 0);
        font = TTF_OpenFont(path, 28);
        ASSERT(font);
    }
    for (const unsigned char *p = (const unsigned char *)s; *p;) {
        uint32_t cp = *p;
        int len = cp < 0x80 ? 1 : cp < 0xE0 ? 2 : cp < 0xF0 ? 3 : 4;
        if (len > 1)
            cp &= 0x3Fu >> (len - 1);
        for (int i = 1; i < len && p[i]; i++)
            cp = (cp << 6) | (p[i] & 0x3Fu);
        if (cp >= 0x20 && !TTF_GlyphIsProvided32(font, cp))
            check_fail(__FILE__, __LINE__, "%s: U+%04X in \"%s\" is not in the font", where,
                       (unsigned)cp, s);
        for (int i = 0; i < len && *p; i++)
            p++;
    }
}

static void every_staff_screen(int w, int h)
{
    struct fx x;
    char where[64];
    const char *stick = check_path(w == 800 ? "stick800" : "stick1024");
    mkdir(stick, 0755);
    setenv("HOMTHU_USB_DIR", stick, 1);
    fx_open(&x, w == 800 ? "s800" : "s1024", w, h);
#define CHECK(name)                                                                               \
    do {                                                                                          \
        snprintf(where, sizeof where, "%dx%d %s", w, h, name);                                    \
        check_screen(&x, where);                                                                  \
    } while (0)
    ui_staff_open(x.ui, 0, x.now);
    CHECK("pin");
    pin(&x, "1");
    CHECK("pin typing");
    pin(&x, "111");
    CHECK("pin wrong");
    pin(&x, "11111111");
    CHECK("pin locked");
    tick(&x, 31000);
    pin(&x, "2468");
    CHECK("volunteer");
    tap(&x, "v:practice");
    CHECK("volunteer practice");
    tap(&x, "v:session");
    CHECK("session");
    tap(&x, "s:hear");
    go_to(&x, "vi", "language_name");
    tap(&x, "s:record");
    speak_tone(&x, 440, 1.0);
    tick(&x, 100);
    CHECK("session recording");
    tap(&x, "s:record");
    CHECK("session take");
    tap(&x, "s:keep");
    CHECK("session kept");
    tap(&x, "s:back");
    tap(&x, "v:usb");
    CHECK("usb");
    tap(&x, "u:import");
    CHECK("usb import nothing");
    tap(&x, "u:export");
    CHECK("usb exported");
    /* An import to confirm: the stick's file made to differ from ours. */
    ASSERT_EQ(check_sh("cd '%s/homthu-prompts/vi' && rm -f '%s/prompts/vi/language_name.opus'",
                       stick, x.assets),
              0);
    tap(&x, "u:import");
    CHECK("usb import confirm");
    tap(&x, "u:cancel");
    tap(&x, "u:back");
    tap(&x, "v:tech");
    CHECK("tech status");
    tap(&x, "t:leds");
    CHECK("tech lights");
    tap(&x, "t:tests");
    tap(&x, "t:mic");
    CHECK("tech tests");
#undef CHECK
    fx_close(&x);
    unsetenv("HOMTHU_USB_DIR");
}

TEST(test_ui_staff_every_screen_is_vietnamese_without_ids_at_15_mm_and_7_to_1)
{
    every_staff_screen(800, 480);
    every_staff_screen(1024, 600);
}

TEST(test_ui_staff_uplink_status_writes_on_change_and_once_a_minute)
{
    const char *dir = check_dir();
    struct uplink_status_info info;
    ASSERT_EQ(uplink_status_read(dir, &info), -ENOENT);
    struct uplink_status *st = uplink_status_new(dir, "https://r.example/");
    ASSERT_EQ(uplink_status_note(st, news(UPLOADER_SENDING, 0), 1000), 0);
    ASSERT_EQ(uplink_status_read(dir, &info), 0);
    ASSERT_EQ(info.state, UPLINK_ST_SENDING);
    ASSERT_EQ(info.updated, 1000);
    ASSERT_STR_EQ(info.relay_url, "https://r.example/");
    ASSERT_STR_EQ(info.error, "");
    /* The same news within a minute is not written again (an SD card). */
    ASSERT_EQ(uplink_status_note(st, news(UPLOADER_SENDING, 0), 1030), 0);
    ASSERT_EQ(uplink_status_read(dir, &info), 0);
    ASSERT_EQ(info.updated, 1000);
    ASSERT_EQ(uplink_status_note(st, news(UPLOADER_SENDING, 0), 1060), 0);
    ASSERT_EQ(uplink_status_read(dir, &info), 0);
    ASSERT_EQ(info.updated, 1060);
    ASSERT_EQ(uplink_status_note(st, news(UPLOADER_FAILING, UPLOADER_E_TLS), 1070),
              0);
    ASSERT_EQ(uplink_status_read(dir, &info), 0);
    ASSERT_EQ(info.state, UPLINK_ST_FAILING);
    ASSERT_STR_EQ(info.error, "tls");
    ASSERT_EQ(info.error_at, 1070);
    ASSERT_EQ(uplink_status_note(st, news(UPLOADER_IDLE, 0), 1400), 0);
    ASSERT_EQ(uplink_status_read(dir, &info), 0);
    ASSERT_EQ(info.state, UPLINK_ST_IDLE);
    ASSERT_STR_EQ(info.error, "tls");
    ASSERT_EQ(info.error_at, 1070);
    /* No tip ids in it: only the state and the kind of fault. */
    char path[4200];
    snprintf(path, sizeof path, "%s/" UPLINK_STATUS_FILE, dir);
    char *text = slurp_text(path);
    ASSERT(text && !strstr(text, "0a1b2c3d"));
    free(text);
    uplink_status_free(st);
}

/* The out-of-service screen is where a technician arrives: the corner held
   there opens the PIN, and the PIN the technician's checks directly. */
TEST(test_ui_staff_out_of_service_corner_leads_to_the_technician)
{
    struct fx x;
    fx_open(&x, "oos", 800, 480);
    tick(&x, 0); /* the UI's clock starts */
    tick(&x, 6000); /* no queue here: the kiosk cannot take tips */
    ASSERT_STR_EQ(ui_screen_name(ui_screen(x.ui)), "out_of_service");
    int cx, cy;
    ui_draw(x.ui, &dl);
    ASSERT_EQ(ui_find(x.ui, "volunteer", &cx, &cy), 0);
    ui_press(x.ui, cx, cy, 1, x.now);
    tick(&x, 1000);
    ASSERT_STR_EQ(ui_screen_name(ui_screen(x.ui)), "out_of_service"); /* not yet */
    tick(&x, 1600);
    ui_press(x.ui, cx, cy, 0, x.now);
    ASSERT_STR_EQ(ui_screen_name(ui_screen(x.ui)), "pin");
    pin(&x, "2468");
    ASSERT_STR_EQ(ui_screen_name(ui_screen(x.ui)), "tech");
    fx_close(&x);
}

/* The longest PIN kiosk.conf takes (15 digits): one dot per digit typed,
   however many (the dots once overran their buffer past 9). */
TEST(test_ui_staff_a_long_pin_shows_a_dot_per_digit)
{
    struct fx x;
    fx_open(&x, "longpin", 800, 480);
    ui_free(x.ui);
    struct ui_config c = {.width = 800, .height = 480, .diagonal_inches = 7, .langs = langs,
                          .nlangs = 2, .pin = "123456789012345"};
    x.ui = ui_new(&c, &x.h);
    ASSERT(x.ui);
    ui_staff_open(x.ui, 0, x.now);
    pin(&x, "12345678901234"); /* one short: still typing */
    ASSERT(shown(&x, "• • • • • • • • • • • • • •"));
    ASSERT(!shown(&x, "• • • • • • • • • • • • • • •"));
    pin(&x, "5");
    ASSERT_STR_EQ(ui_screen_name(ui_screen(x.ui)), "volunteer");
    fx_close(&x);
}
