/*
 * Tests for src/kiosk/prompts.c: the shipped manifest and audio, the fallback to
 * Vietnamese, the errors a technician reads, and volunteers' recordings.
 * The shipped assets are read in place (HOMTHU_ROOT); anything written
 * goes to a copy in the test's temp dir.
 */
#include "check.h"
#include "kiosk/prompts.h"
#include "speech.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

/* Every id src/kiosk/ui.c speaks. */
static const char *const ui_ids[] = {
    "welcome",        "choose_language",
    "language_name",  "choose_category",
    "cat_border",     "cat_drugs",
    "cat_weapons",    "cat_smuggling",
    "cat_theft",      "cat_trafficking",
    "cat_other",      "confirm_category",
    "record_intro",   "record_warning",
    "record_review",  "text_intro",
    "when_intro",     "when_today",
    "when_yesterday", "when_week",
    "when_earlier",   "sent",
    "still_there",    "no_microphone",
    "out_of_service", "practice",
};
#define N_UI_IDS (sizeof ui_ids / sizeof *ui_ids)

static const char *root(void)
{
    const char *r = getenv("HOMTHU_ROOT");
    return r && *r ? r : ".";
}

static const char *shipped_assets(void)
{
    static char path[4096];
    snprintf(path, sizeof path, "%s/assets", root());
    return path;
}

static struct prompts *load(const char *assets)
{
    struct prompts *p = NULL;
    char err[512] = "";
    if (prompts_load(&p, assets, err, sizeof err) != 0)
        check_fail(__FILE__, __LINE__, "prompts_load(%s): %s", assets, err);
    return p;
}

/* A test assets dir holding `manifest` (text) and no audio. */
static const char *make_assets(const char *manifest)
{
    const char *a = check_path("assets");
    ASSERT_EQ(check_sh("mkdir -p '%s/prompts/vi' '%s/prompts/hmn'", a, a), 0);
    char m[4200];
    snprintf(m, sizeof m, "%s/prompts/manifest.tsv", a);
    check_write_file(m, manifest, strlen(manifest));
    return a;
}

static const char *manifest_path(const char *assets)
{
    static char m[4200];
    snprintf(m, sizeof m, "%s/prompts/manifest.tsv", assets);
    return m;
}

/* opusinfo's "Playback length: 0m:03.456s", in seconds; -1 if absent. */
static double opusinfo_seconds(const char *file)
{
    const char *out = check_path("opusinfo.txt");
    if (check_sh("opusinfo '%s' >'%s' 2>&1", file, out) != 0)
        return -1;
    char *txt = (char *)check_slurp(out, NULL);
    ASSERT(txt);
    double s = -1;
    int min;
    double sec;
    char *l = strstr(txt, "Playback length:");
    if (l && sscanf(l, "Playback length: %dm:%lfs", &min, &sec) == 2)
        s = min * 60 + sec;
    free(txt);
    return s;
}

static void copy_shipped(const char *dst)
{
    ASSERT_EQ(check_sh("mkdir -p '%s' && cp -r '%s/prompts' '%s/'", dst, shipped_assets(), dst), 0);
}

/* ---- the shipped prompts ---- */

TEST(test_prompts_every_ui_prompt_has_vietnamese_words_and_audio)
{
    struct prompts *p = load(shipped_assets());
    for (size_t i = 0; i < N_UI_IDS; i++) {
        enum prompt_status st = prompts_status(p, "vi", ui_ids[i]);
        if (st != PROMPT_ESPEAK && st != PROMPT_RECORDED)
            check_fail(__FILE__, __LINE__, "vi/%s: status %s", ui_ids[i], prompts_status_name(st));
        ASSERT(prompts_words(p, "vi", ui_ids[i]));
        /* Hmong has a line for each, even if not recorded yet. */
        ASSERT(prompts_status(p, "hmn", ui_ids[i]) != PROMPT_ABSENT);
    }
    ASSERT_STR_EQ(prompts_words(p, "vi", "language_name"), "Tiếng Việt");
    ASSERT_STR_EQ(prompts_words(p, "hmn", "language_name"), "Lus Hmoob");
    ASSERT_STR_EQ(prompts_words(p, "vi", "cat_drugs"), "Ma túy.");
    prompts_free(p);
}

TEST(test_prompts_every_vi_prompt_decodes_to_its_opusinfo_length)
{
    struct prompts *p = load(shipped_assets());
    size_t nvi = 0;
    for (size_t i = 0; i < prompts_count(p); i++) {
        const char *lang, *id;
        ASSERT_EQ(prompts_at(p, i, &lang, &id, NULL, NULL), 0);
        if (strcmp(lang, "vi") != 0)
            continue;
        nvi++;
        const int16_t *pcm = NULL;
        size_t n = 0;
        int rate = 0;
        char err[512] = "";
        if (prompts_get(p, lang, id, &pcm, &n, &rate, err, sizeof err) != 0)
            check_fail(__FILE__, __LINE__, "vi/%s: %s", id, err);
        ASSERT_EQ(rate, 48000);
        ASSERT(n > 48000 / 4); /* even "Ma túy." lasts more than 0.25 s */
        char file[4200];
        snprintf(file, sizeof file, "%s/prompts/vi/%s.opus", shipped_assets(), id);
        double want = opusinfo_seconds(file);
        double got = (double)n / 48000;
        if (fabs(got - want) > 0.002)
            check_fail(__FILE__, __LINE__, "vi/%s: decoded %.3f s, opusinfo says %.3f s", id, got,
                       want);
        /* Cached: the same samples come back without decoding again. */
        const int16_t *again = NULL;
        size_t n2 = 0;
        ASSERT_EQ(prompts_get(p, lang, id, &again, &n2, NULL, err, sizeof err), 0);
        ASSERT(again == pcm && n2 == n);
    }
    ASSERT(nvi >= N_UI_IDS);
    prompts_free(p);
}

TEST(test_prompts_shipped_audio_is_small)
{
    /* Prompts go onto every SD card and through git: keep them < 1 MB. */
    ASSERT_EQ(check_sh("test $(cat '%s'/prompts/*/*.opus | wc -c) -lt 1000000", shipped_assets()),
              0);
}

TEST(test_prompts_missing_hmn_prompt_falls_back_to_vi)
{
    struct prompts *p = load(shipped_assets());
    ASSERT_EQ(prompts_status(p, "hmn", "welcome"), PROMPT_PLACEHOLDER);
    const int16_t *vi = NULL, *hmn = NULL;
    size_t nvi = 0, nhmn = 0;
    char err[512] = "";
    ASSERT_EQ(prompts_get(p, "vi", "welcome", &vi, &nvi, NULL, err, sizeof err), 0);
    ASSERT_EQ(prompts_get(p, "hmn", "welcome", &hmn, &nhmn, NULL, err, sizeof err), 0);
    ASSERT(hmn == vi && nhmn == nvi);
    /* A language with no line at all, too. */
    ASSERT_EQ(prompts_get(p, "dao", "welcome", &hmn, &nhmn, NULL, err, sizeof err), 0);
    ASSERT(hmn == vi);
    /* The words stay the language's own where it has them. */
    ASSERT_CONTAINS(prompts_words(p, "hmn", "welcome"), "Kov koj hom lus");
    ASSERT_STR_EQ(prompts_words(p, "dao", "welcome"), prompts_words(p, "vi", "welcome"));
    ASSERT(prompts_words(p, "vi", "no_such_prompt") == NULL);
    prompts_free(p);
}

TEST(test_prompts_hmn_language_name_has_its_own_stand_in)
{
    struct prompts *p = load(shipped_assets());
    ASSERT_EQ(prompts_status(p, "hmn", "language_name"), PROMPT_PLACEHOLDER);
    const int16_t *vi = NULL, *hmn = NULL;
    size_t nvi = 0, nhmn = 0;
    char err[512] = "";
    ASSERT_EQ(prompts_get(p, "vi", "language_name", &vi, &nvi, NULL, err, sizeof err), 0);
    ASSERT_EQ(prompts_get(p, "hmn", "language_name", &hmn, &nhmn, NULL, err, sizeof err), 0);
    ASSERT(hmn != vi);
    ASSERT(nhmn > 48000 / 4);
    prompts_free(p);
}

/* ---- errors ---- */

TEST(test_prompts_missing_vi_prompt_fails_with_a_clear_message)
{
    const char *a = make_assets("vi\twelcome\tespeak\tXin chào.\n"
                                "hmn\twelcome\tplaceholder\tNyob zoo.\n");
    struct prompts *p = load(a);
    const int16_t *pcm = NULL;
    size_t n = 0;
    char err[512] = "", want[1024];
    snprintf(want, sizeof want,
             "prompt vi/welcome: %s/prompts/vi/welcome.opus is missing: run "
             "tools/make-prompts.sh or record it (see docs/prompts.md)",
             a);
    ASSERT_EQ(prompts_get(p, "vi", "welcome", &pcm, &n, NULL, err, sizeof err), PROMPTS_E_MISSING);
    ASSERT_STR_EQ(err, want);
    /* Hmong falls back to it, and says why it is silent. */
    err[0] = 0;
    ASSERT_EQ(prompts_get(p, "hmn", "welcome", &pcm, &n, NULL, err, sizeof err), PROMPTS_E_MISSING);
    ASSERT_STR_EQ(err, want);
    /* An id nobody listed. */
    ASSERT_EQ(prompts_get(p, "hmn", "sent", &pcm, &n, NULL, err, sizeof err), PROMPTS_E_MISSING);
    snprintf(want, sizeof want,
             "prompt \"sent\" is not in %s/prompts/manifest.tsv for hmn nor vi: add a line for "
             "it (see docs/prompts.md)",
             a);
    ASSERT_STR_EQ(err, want);
    ASSERT_EQ(prompts_get(p, "vi", "sent", &pcm, &n, NULL, err, sizeof err), PROMPTS_E_MISSING);
    ASSERT_CONTAINS(err, "for vi: add a line");
    prompts_free(p);
}

static int get_err(struct prompts *p, const char *lang, const char *id, char *err, size_t errlen)
{
    const int16_t *pcm = NULL;
    size_t n = 0;
    err[0] = 0;
    return prompts_get(p, lang, id, &pcm, &n, NULL, err, errlen);
}

TEST(test_prompts_corrupt_files_give_a_clear_error)
{
    const char *a = make_assets("vi\tgarbage\tespeak\tA.\n"
                                "vi\tempty\tespeak\tB.\n"
                                "vi\theader_cut\tespeak\tC.\n"
                                "vi\tdamaged\tespeak\tD.\n"
                                "vi\ttail_cut\tespeak\tE.\n"
                                "vi\tgood\tespeak\tF.\n"
                                "hmn\tgood\tplaceholder\tG.\n");
    char src[4200], dst[4200];
    snprintf(src, sizeof src, "%s/prompts/vi/welcome.opus", shipped_assets());
    size_t len = 0;
    uint8_t *ogg = check_slurp(src, &len);
    ASSERT(ogg && len > 4000);
#define PUT(name, bytes, n)                                                                        \
    do {                                                                                           \
        snprintf(dst, sizeof dst, "%s/prompts/vi/%s.opus", a, name);                               \
        check_write_file(dst, bytes, n);                                                           \
    } while (0)
    PUT("garbage", "this is not an ogg file at all, not even close.....", 50);
    PUT("empty", "", 0);
    PUT("header_cut", ogg, 40);
    PUT("good", ogg, len);
    PUT("tail_cut", ogg, len * 2 / 3);
    /* A run of bytes overwritten in the middle: the Ogg CRC fails. */
    uint8_t *bad = malloc(len);
    ASSERT(bad);
    memcpy(bad, ogg, len);
    memset(bad + len / 2, 0x55, 200);
    PUT("damaged", bad, len);
    /* Hmong's own file is garbage: the kiosk speaks Vietnamese instead. */
    snprintf(dst, sizeof dst, "%s/prompts/hmn/good.opus", a);
    check_write_file(dst, "garbage", 7);

    struct prompts *p = load(a);
    char err[512];
    ASSERT_EQ(get_err(p, "vi", "garbage", err, sizeof err), PROMPTS_E_DECODE);
    ASSERT_CONTAINS(err, "prompt vi/garbage: ");
    ASSERT_CONTAINS(err, "/prompts/vi/garbage.opus: not an Ogg Opus file (opusfile error -132): "
                         "run tools/make-prompts.sh or record it again (see docs/prompts.md)");
    ASSERT_EQ(get_err(p, "vi", "empty", err, sizeof err), PROMPTS_E_DECODE);
    ASSERT_CONTAINS(err, "/prompts/vi/empty.opus: ");
    ASSERT_CONTAINS(err, "record it again");
    ASSERT_EQ(get_err(p, "vi", "header_cut", err, sizeof err), PROMPTS_E_DECODE);
    ASSERT_CONTAINS(err, "/prompts/vi/header_cut.opus: ");
    ASSERT_EQ(get_err(p, "vi", "damaged", err, sizeof err), PROMPTS_E_DECODE);
    ASSERT_CONTAINS(err, "damaged in the middle");
    /* Cut short at a page boundary or not, what is there still plays:
       Ogg cannot tell a cut file from a short one. */
    const int16_t *pcm = NULL, *good = NULL;
    size_t n = 0, ngood = 0;
    ASSERT_EQ(prompts_get(p, "vi", "tail_cut", &pcm, &n, NULL, err, sizeof err), 0);
    ASSERT_EQ(prompts_get(p, "vi", "good", &good, &ngood, NULL, err, sizeof err), 0);
    ASSERT(n > 0 && n < ngood);
    ASSERT_EQ(prompts_get(p, "hmn", "good", &pcm, &n, NULL, err, sizeof err), 0);
    ASSERT(pcm == good);
    prompts_free(p);
    free(bad);
    free(ogg);
#undef PUT
}

TEST(test_prompts_decodes_stereo_files_as_mono)
{
    const char *a = make_assets("vi\tstereo\trecorded\tHai kênh.\n");
    ASSERT_EQ(check_sh("sox -D -V1 -n -r 48000 -c 2 -b 16 '%s/s.wav' synth 0.5 sine 440 && "
                       "opusenc --quiet '%s/s.wav' '%s/prompts/vi/stereo.opus'",
                       a, a, a),
              0);
    struct prompts *p = load(a);
    const int16_t *pcm = NULL;
    size_t n = 0;
    char err[512] = "";
    if (prompts_get(p, "vi", "stereo", &pcm, &n, NULL, err, sizeof err) != 0)
        check_fail(__FILE__, __LINE__, "%s", err);
    ASSERT_EQ(n, 24000);
    prompts_free(p);
}

static void expect_manifest_error(const char *text, const char *want_after_path)
{
    const char *a = make_assets(text);
    struct prompts *p = NULL;
    char err[512] = "", want[1024];
    ASSERT_EQ(prompts_load(&p, a, err, sizeof err), PROMPTS_E_MANIFEST);
    ASSERT(p == NULL);
    snprintf(want, sizeof want, "%s%s", manifest_path(a), want_after_path);
    ASSERT_STR_EQ(err, want);
}

TEST(test_prompts_manifest_errors_name_the_file_and_line)
{
    expect_manifest_error("# comment\nvi\twelcome\tespeak\n",
                          ":2: 3 tab-separated fields, expected 4 (lang, id, status, words): "
                          "separate them with single tabs (see docs/prompts.md)");
    expect_manifest_error("vi welcome espeak Xin chào.\n",
                          ":1: 1 tab-separated field, expected 4 (lang, id, status, words): "
                          "separate them with single tabs (see docs/prompts.md)");
    expect_manifest_error("vi\twelcome\tespeak\tXin\tchào.\n",
                          ":1: 5 tab-separated fields, expected 4 (lang, id, status, words): "
                          "separate them with single tabs (see docs/prompts.md)");
    expect_manifest_error("\n\nvi\twelcome\tdone\tXin chào.\n",
                          ":3: unknown status \"done\": use espeak, placeholder or recorded");
    expect_manifest_error("vi\t../../etc/passwd\tespeak\tX.\n",
                          ":1: bad prompt id \"../../etc/passwd\": use lowercase letters, "
                          "digits, '-' or '_' (e.g. welcome)");
    expect_manifest_error("VI\twelcome\tespeak\tX.\n",
                          ":1: bad language code \"VI\": use lowercase letters, digits, '-' or "
                          "'_' (e.g. vi, hmn)");
    expect_manifest_error("vi\twelcome\tespeak\t\n",
                          ":1: prompt vi/welcome has no words: write what it says");
    expect_manifest_error(
        "vi\twelcome\tespeak\tA.\nvi\tsent\tespeak\tB.\nvi\twelcome\trecorded\tC.\n",
        ":3: prompt vi/welcome is listed twice: remove one line");
}

TEST(test_prompts_missing_manifest_says_what_to_do)
{
    struct prompts *p = NULL;
    char err[512] = "", want[1024];
    ASSERT_EQ(prompts_load(&p, check_path("nothing"), err, sizeof err), PROMPTS_E_IO);
    snprintf(want, sizeof want,
             "%s/prompts/manifest.tsv: No such file or directory: the spoken prompts are "
             "missing; install the assets (see docs/prompts.md)",
             check_path("nothing"));
    ASSERT_STR_EQ(err, want);
}

TEST(test_prompts_manifest_accepts_comments_blank_lines_and_crlf)
{
    const char *a = make_assets("# heading\r\n\r\n  # indented comment\n"
                                "vi\twelcome\tespeak\tXin chào.\r\n"
                                "hmn\twelcome\trecorded\tNyob zoo\n" /* no final newline */
                                "\n"
                                "vi\tsent\tplaceholder\tĐã gửi.");
    struct prompts *p = load(a);
    ASSERT_EQ(prompts_count(p), 3);
    ASSERT_STR_EQ(prompts_words(p, "vi", "welcome"), "Xin chào.");
    ASSERT_STR_EQ(prompts_words(p, "vi", "sent"), "Đã gửi.");
    ASSERT_EQ(prompts_status(p, "hmn", "welcome"), PROMPT_RECORDED);
    ASSERT_EQ(prompts_status(p, "vi", "sent"), PROMPT_PLACEHOLDER);
    ASSERT_EQ(prompts_status(p, "vi", "nope"), PROMPT_ABSENT);
    const char *lang, *id, *words;
    enum prompt_status st;
    ASSERT_EQ(prompts_at(p, 1, &lang, &id, &st, &words), 0);
    ASSERT_STR_EQ(lang, "hmn");
    ASSERT_STR_EQ(id, "welcome");
    ASSERT_EQ(st, PROMPT_RECORDED);
    ASSERT_EQ(prompts_at(p, 3, &lang, &id, &st, &words), PROMPTS_E_ARG);
    prompts_free(p);
    prompts_free(NULL);
}

/* ---- volunteers' recordings ---- */

TEST(test_prompts_save_round_trip_marks_recorded_and_keeps_other_lines)
{
    const char *a = check_path("assets");
    copy_shipped(a);
    size_t before_len = 0;
    char *before = (char *)check_slurp(manifest_path(a), &before_len);
    ASSERT(before);
    struct prompts *p = load(a);
    const int16_t *old = NULL;
    size_t nold = 0;
    char err[512] = "";
    ASSERT_EQ(prompts_get(p, "hmn", "cat_drugs", &old, &nold, NULL, err, sizeof err), 0);

    size_t n = 2 * 16000; /* 2 s of speech */
    if (prompts_save(p, "hmn", "cat_drugs", speech_pcm(), n, err, sizeof err) != 0)
        check_fail(__FILE__, __LINE__, "prompts_save: %s", err);
    ASSERT_EQ(prompts_status(p, "hmn", "cat_drugs"), PROMPT_RECORDED);
    const int16_t *pcm = NULL;
    size_t got = 0;
    int rate = 0;
    ASSERT_EQ(prompts_get(p, "hmn", "cat_drugs", &pcm, &got, &rate, err, sizeof err), 0);
    ASSERT_EQ(got, n * 3); /* 48 kHz, exactly as long as recorded */
    ASSERT_EQ(rate, 48000);
    prompts_free(p);

    /* The manifest: the one line changed, every other byte as it was. */
    size_t after_len = 0;
    char *after = (char *)check_slurp(manifest_path(a), &after_len);
    ASSERT(after);
    const char *old_line = "hmn\tcat_drugs\tplaceholder\tYeeb tshuaj.\n";
    const char *new_line = "hmn\tcat_drugs\trecorded\tYeeb tshuaj.\n";
    char *at = strstr(before, old_line);
    ASSERT(at);
    size_t off = (size_t)(at - before);
    ASSERT_EQ(after_len, before_len - strlen(old_line) + strlen(new_line));
    ASSERT_MEM_EQ(after, before, off);
    ASSERT_MEM_EQ(after + off, new_line, strlen(new_line));
    ASSERT_MEM_EQ(after + off + strlen(new_line), at + strlen(old_line),
                  before_len - off - strlen(old_line));
    free(before);
    free(after);

    /* Reloaded from disk: recorded, decodes, and nothing left behind. */
    p = load(a);
    ASSERT_EQ(prompts_status(p, "hmn", "cat_drugs"), PROMPT_RECORDED);
    ASSERT_EQ(prompts_status(p, "hmn", "cat_theft"), PROMPT_PLACEHOLDER);
    ASSERT_EQ(prompts_get(p, "hmn", "cat_drugs", &pcm, &got, NULL, err, sizeof err), 0);
    ASSERT_EQ(got, n * 3);
    ASSERT_EQ(check_sh("ls -A '%s/prompts/hmn' '%s/prompts' | grep -q '[.]tmp[.]'", a, a), 1);
    char file[4200];
    snprintf(file, sizeof file, "%s/prompts/hmn/cat_drugs.opus", a);
    ASSERT(fabs(opusinfo_seconds(file) - 2.0) < 0.001);
    ASSERT_EQ(check_sh("opusinfo '%s' | grep -q HOMTHU_PROMPT=recorded", file), 0);
    prompts_free(p);
}

TEST(test_prompts_save_makes_the_directory_of_a_new_language)
{
    const char *a = make_assets("dao\twelcome\tplaceholder\tX.\n");
    ASSERT_EQ(check_sh("test ! -e '%s/prompts/dao'", a), 0);
    struct prompts *p = load(a);
    int16_t pcm[8000];
    for (int i = 0; i < 8000; i++)
        pcm[i] = (int16_t)(8000 * sin(i * 0.1));
    char err[512] = "";
    if (prompts_save(p, "dao", "welcome", pcm, 8000, err, sizeof err) != 0)
        check_fail(__FILE__, __LINE__, "%s", err);
    const int16_t *out = NULL;
    size_t n = 0;
    ASSERT_EQ(prompts_get(p, "dao", "welcome", &out, &n, NULL, err, sizeof err), 0);
    ASSERT_EQ(n, 24000);
    prompts_free(p);
}

TEST(test_prompts_save_refuses_unlisted_prompts_and_bad_lengths)
{
    const char *a = make_assets("vi\twelcome\tespeak\tXin chào.\n");
    struct prompts *p = load(a);
    int16_t pcm[160] = {0};
    char err[512] = "", want[1024];
    ASSERT_EQ(prompts_save(p, "hmn", "welcome", pcm, 160, err, sizeof err), PROMPTS_E_MISSING);
    snprintf(want, sizeof want,
             "prompt hmn/welcome is not in %s: add its line first (see docs/prompts.md)",
             manifest_path(a));
    ASSERT_STR_EQ(err, want);
    ASSERT_EQ(prompts_save(p, "vi", "welcome", pcm, 0, err, sizeof err), PROMPTS_E_ARG);
    ASSERT_STR_EQ(err, "prompt vi/welcome: a recording of 0.0 s: record between a moment and 60 s");
    ASSERT_EQ(prompts_save(p, "vi", "welcome", pcm, 61 * 16000, err, sizeof err), PROMPTS_E_ARG);
    ASSERT_EQ(prompts_status(p, "vi", "welcome"), PROMPT_ESPEAK);
    prompts_free(p);
}

TEST(test_make_prompts_never_overwrites_a_volunteers_recording)
{
    /* The kiosk saved the audio, then lost power before it marked the
       manifest: the line still says espeak, the file's tag says recorded. */
    const char *a = make_assets("vi\twhen_today\tespeak\tHôm nay.\n"
                                "vi\twhen_week\tespeak\tTuần này.\n");
    struct prompts *p = load(a);
    char err[512] = "";
    if (prompts_save(p, "vi", "when_today", speech_pcm(), 16000, err, sizeof err) != 0)
        check_fail(__FILE__, __LINE__, "%s", err);
    prompts_free(p);
    const char *m = "vi\twhen_today\tespeak\tHôm nay.\nvi\twhen_week\tespeak\tTuần này.\n";
    check_write_file(manifest_path(a), m, strlen(m));
    ASSERT_EQ(check_sh("cd '%s/prompts/vi' && md5sum when_today.opus >'%s'", a, check_path("sum")),
              0);
    ASSERT_EQ(
        check_sh("sh '%s/tools/make-prompts.sh' '%s' >'%s' 2>&1", root(), a, check_path("log")), 0);
    ASSERT_EQ(check_sh("cd '%s/prompts/vi' && md5sum -c --quiet '%s'", a, check_path("sum")), 0);
    ASSERT_EQ(check_sh("grep -q 'holds a person.s recording' '%s'", check_path("log")), 0);
    /* The espeak line next to it was made. */
    p = load(a);
    const int16_t *pcm = NULL;
    size_t n = 0;
    ASSERT_EQ(prompts_get(p, "vi", "when_week", &pcm, &n, NULL, err, sizeof err), 0);
    ASSERT_EQ(prompts_get(p, "vi", "when_today", &pcm, &n, NULL, err, sizeof err), 0);
    ASSERT_EQ(n, 48000);
    prompts_free(p);
}
