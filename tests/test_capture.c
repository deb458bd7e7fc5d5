/*
 * Tests for src/kiosk/capture.c: speech in, Ogg Opus out through a real envelope
 * writer (into memory here; tests/test_tip.c goes through the queue).
 * Also home of the test speech helpers (tests/speech.h).
 */
#include "kiosk/capture.h"
#include "check.h"
#include "core/envelope.h"
#include "speech.h"

#include <math.h>
#include <opusfile.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>

/* ---- the test speech (tests/speech.h) ---- */

const int16_t *speech_pcm(void)
{
    static int16_t *pcm;
    if (pcm)
        return pcm;
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", check_build(), SPEECH_FIXTURE);
    size_t len = 0;
    uint8_t *b = check_slurp(path, &len);
    if (!b) {
        /* Made once per build dir; later runs reuse it. */
        const char *root = getenv("HOMTHU_ROOT");
        int st = check_sh("sh '%s/tests/speech.sh' '%s'", root && *root ? root : ".", path);
        if (st != 0)
            check_fail(__FILE__, __LINE__, "tests/speech.sh failed (%d): no test speech", st);
        b = check_slurp(path, &len);
    }
    if (!b || len != SPEECH_SAMPLES * 2)
        check_fail(__FILE__, __LINE__, "%s: %zu bytes, expected %d", path, len, SPEECH_SAMPLES * 2);
    /* The fixture is little-endian s16, as is every machine we build on. */
    pcm = (int16_t *)b;
    return pcm;
}

void ogg_buf_add(struct ogg_buf *x, const uint8_t *b, size_t len)
{
    if (x->len + len > x->cap) {
        size_t cap = (x->len + len) * 2;
        uint8_t *nb = realloc(x->b, cap);
        ASSERT(nb);
        x->b = nb;
        x->cap = cap;
    }
    memcpy(x->b + x->len, b, len);
    x->len += len;
}

void ogg_buf_tee(void *ctx, const uint8_t *ogg, size_t len)
{
    ogg_buf_add(ctx, ogg, len);
}

void ogg_buf_free(struct ogg_buf *x)
{
    free(x->b);
    memset(x, 0, sizeof *x);
}

int64_t ogg_pcm_total(const uint8_t *ogg, size_t len)
{
    int e = 0;
    OggOpusFile *of = op_open_memory(ogg, len, &e);
    if (!of)
        check_fail(__FILE__, __LINE__, "libopusfile cannot open the stream: error %d", e);
    int64_t n = op_pcm_total(of, -1);
    op_free(of);
    return n;
}

size_t ogg_decode(const uint8_t *ogg, size_t len, float **pcm)
{
    int e = 0;
    OggOpusFile *of = op_open_memory(ogg, len, &e);
    if (!of)
        check_fail(__FILE__, __LINE__, "libopusfile cannot open the stream: error %d", e);
    int64_t total = op_pcm_total(of, -1);
    ASSERT(total > 0);
    float *out = malloc((size_t)total * sizeof *out);
    ASSERT(out);
    size_t n = 0;
    /*
     * Float, not op_read(): its conversion to 16 bits dithers with a seed
     * taken from the stream's serial number, which is random per tip.
     */
    while (n < (size_t)total) {
        int got = op_read_float(of, out + n, (int)((size_t)total - n), NULL);
        if (got < 0)
            check_fail(__FILE__, __LINE__, "libopusfile decode error %d", got);
        if (got == 0)
            break;
        n += (size_t)got;
    }
    op_free(of);
    *pcm = out;
    return n;
}

void ogg_check_in_player(const uint8_t *ogg, size_t len, const char *name, double seconds)
{
    char n_wav[256], n_info[256], n_dur[256];
    snprintf(n_wav, sizeof n_wav, "%.200s.wav", name);
    snprintf(n_info, sizeof n_info, "%.200s.info", name);
    snprintf(n_dur, sizeof n_dur, "%.200s.seconds", name);
    /* check_path() has 8 slots: these four stay valid through this function. */
    const char *ogg_path = check_path(name), *wav = check_path(n_wav);
    const char *info = check_path(n_info), *dur = check_path(n_dur);
    check_write_file(ogg_path, ogg, len);

    ASSERT_EQ(check_sh("opusinfo '%s' >'%s' 2>&1", ogg_path, info), 0);
    char *text = (char *)check_slurp(info, &len);
    ASSERT(text);
    text[len ? len - 1 : 0] = 0;
    ASSERT_CONTAINS(text, "Channels: 1");
    ASSERT_CONTAINS(text, "Original sample rate: 16000 Hz");
    /* Anonymity: only the vendor string, never a tag (opusinfo lists them). */
    ASSERT(!strstr(text, "User comments section follows"));
    ASSERT(!strstr(text, "WARNING"));
    free(text);

    ASSERT_EQ(check_sh("opusdec --quiet '%s' '%s'", ogg_path, wav), 0);
    ASSERT_EQ(check_sh("soxi -D '%s' >'%s'", wav, dur), 0);
    char *d = (char *)check_slurp(dur, &len);
    ASSERT(d && len > 0);
    d[len - 1] = 0;
    double got = strtod(d, NULL);
    free(d);
    if (fabs(got - seconds) > 0.1)
        check_fail(__FILE__, __LINE__, "opusdec decoded %.3f s, expected %.3f s ± 0.1", got,
                   seconds);
}

/* ---- an envelope in memory ---- */

struct mem {
    uint8_t *b;
    size_t len, cap;
    int chunks, fail_at_chunk; /* refuse chunk `fail_at_chunk`; -1 never */
};

static int mem_sink(void *ctx, enum envelope_piece kind, uint32_t index, const uint8_t *b,
                    size_t len)
{
    struct mem *m = ctx;
    (void)index;
    if (kind == PIECE_CHUNK && m->chunks == m->fail_at_chunk)
        return -1;
    if (kind == PIECE_CHUNK)
        m->chunks++;
    struct ogg_buf x = {m->b, m->len, m->cap};
    ogg_buf_add(&x, b, len);
    m->b = x.b;
    m->len = x.len;
    m->cap = x.cap;
    return 0;
}

struct keys {
    struct envelope_post_key post;
    uint8_t dev_pk[32], dev_sk[64];
};

static void make_keys(struct keys *k)
{
    ASSERT(sodium_init() >= 0);
    crypto_box_keypair(k->post.pk, k->post.sk);
    crypto_sign_keypair(k->dev_pk, k->dev_sk);
}

static const struct envelope_meta meta_vi = {
    .language = "vi", .category = CATEGORY_BORDER, .codec = CODEC_OGG_OPUS, .when = WHEN_TODAY};

/*
 * Encode `seconds` of the test speech fed in slices of `frame` samples
 * (cycling through `frames` when frame is 0) into an envelope in memory.
 * Returns the Ogg bytes the tee saw; *env gets the envelope.
 */
static struct ogg_buf encode(const struct keys *k, const struct capture_opts *opts, int seconds,
                             size_t frame, struct mem *env)
{
    static const size_t frames[] = {1, 7, 160, 960, 16001, 333, 4099};
    struct ogg_buf ogg = {0};
    struct capture_opts o = opts ? *opts : (struct capture_opts){0};
    struct envelope_writer *w = NULL;
    struct capture *c = NULL;
    char err[256] = "";
    const int16_t *pcm = speech_pcm();
    size_t total = (size_t)seconds * CAPTURE_RATE, done = 0, turn = 0;

    o.tee = ogg_buf_tee;
    o.tee_ctx = &ogg;
    memset(env, 0, sizeof *env);
    env->fail_at_chunk = -1;
    ASSERT_EQ(envelope_writer_new(&w, k->post.pk, k->dev_sk, &meta_vi, mem_sink, env, NULL, err,
                                  sizeof err),
              0);
    int rc = capture_new(&c, w, &o, err, sizeof err);
    if (rc)
        check_fail(__FILE__, __LINE__, "capture_new: %s", err);
    while (done < total) {
        size_t n = frame ? frame : frames[turn++ % (sizeof frames / sizeof frames[0])];
        if (n > total - done)
            n = total - done;
        rc = capture_write(c, pcm + done, n, err, sizeof err);
        if (rc)
            check_fail(__FILE__, __LINE__, "capture_write: %s", err);
        done += n;
    }
    ASSERT_EQ(capture_samples(c), total);
    rc = capture_finish(c, err, sizeof err);
    if (rc)
        check_fail(__FILE__, __LINE__, "capture_finish: %s", err);
    capture_free(c);
    ASSERT_EQ(envelope_writer_finish(w, err, sizeof err), 0);
    envelope_writer_free(w);
    return ogg;
}

static void on_audio(void *ctx, const uint8_t *b, size_t len)
{
    ogg_buf_add(ctx, b, len);
}

/* Open the envelope with the post key: the audio records, concatenated. */
static struct ogg_buf open_audio(const struct keys *k, const struct mem *env)
{
    struct ogg_buf got = {0};
    struct envelope_reader_opts ro = {.keys = &k->post, .nkeys = 1};
    ro.records.audio = on_audio;
    ro.records.ctx = &got;
    struct envelope_reader *r = NULL;
    char err[256] = "";
    ASSERT_EQ(envelope_reader_new(&r, &ro), 0);
    int rc = envelope_reader_feed(r, env->b, env->len, err, sizeof err);
    if (rc == 0)
        rc = envelope_reader_finish(r, err, sizeof err);
    envelope_reader_free(r);
    if (rc)
        check_fail(__FILE__, __LINE__, "reading the envelope back: %s", err);
    return got;
}

/* ---- tests ---- */

TEST(test_speech_fixture_is_60_seconds_of_sound)
{
    const int16_t *pcm = speech_pcm();
    double sum = 0;
    for (size_t i = 0; i < SPEECH_SAMPLES; i++)
        sum += (double)pcm[i] * pcm[i];
    double rms = sqrt(sum / SPEECH_SAMPLES) / 32768.0;
    /* Speech with pauses, not silence and not noise at full scale. */
    ASSERT(rms > 0.03 && rms < 0.3);
}

TEST(test_capture_60_seconds_of_speech_open_in_an_ordinary_player)
{
    struct keys k;
    struct mem env;
    make_keys(&k);
    struct ogg_buf ogg = encode(&k, NULL, 60, 960, &env);

    /* What the post decrypts is byte for byte what the encoder made. */
    struct ogg_buf back = open_audio(&k, &env);
    ASSERT_EQ(back.len, ogg.len);
    ASSERT_MEM_EQ(back.b, ogg.b, ogg.len);

    ogg_check_in_player(ogg.b, ogg.len, "speech.ogg", 60.0);
    /* libopusenc ends the stream on the exact last sample: 60 s at 48 kHz. */
    ASSERT_EQ(ogg_pcm_total(ogg.b, ogg.len), 60 * 48000);
    ogg_buf_free(&ogg);
    ogg_buf_free(&back);
    free(env.b);
}

TEST(test_capture_decoded_speech_keeps_its_loudness)
{
    struct keys k;
    struct mem env;
    make_keys(&k);
    struct ogg_buf ogg = encode(&k, NULL, 20, 960, &env);
    float *pcm = NULL;
    size_t n = ogg_decode(ogg.b, ogg.len, &pcm);
    ASSERT_EQ(n, 20 * 48000);
    /* A codec that lost the speech (silence, noise, clipping) changes its RMS a lot. */
    double in = 0, out = 0;
    const int16_t *src = speech_pcm();
    for (size_t i = 0; i < 20 * 16000; i++)
        in += (double)src[i] * src[i];
    for (size_t i = 0; i < n; i++)
        out += (double)pcm[i] * pcm[i];
    double ratio = sqrt(out / (double)n) / (sqrt(in / (20.0 * 16000)) / 32768.0);
    if (ratio < 0.8 || ratio > 1.25)
        check_fail(__FILE__, __LINE__, "decoded RMS is %.2f× the input's", ratio);
    free(pcm);
    ogg_buf_free(&ogg);
    free(env.b);
}

TEST(test_capture_stream_carries_no_tags_only_the_vendor_string)
{
    struct keys k;
    struct mem env;
    make_keys(&k);
    struct ogg_buf ogg = encode(&k, NULL, 2, 960, &env);
    int e = 0;
    OggOpusFile *of = op_open_memory(ogg.b, ogg.len, &e);
    ASSERT(of);
    const OpusTags *tags = op_tags(of, -1);
    ASSERT(tags);
    ASSERT_EQ(tags->comments, 0);
    ASSERT_CONTAINS(tags->vendor, "libopusenc");
    const OpusHead *head = op_head(of, -1);
    ASSERT_EQ(head->channel_count, 1);
    ASSERT_EQ(head->input_sample_rate, 16000);
    op_free(of);
    ogg_buf_free(&ogg);
    free(env.b);
}

TEST(test_capture_any_frame_size_gives_the_same_audio)
{
    struct keys k;
    make_keys(&k);
    static const size_t sizes[] = {1, 7, 160, 960, 16001, 0 /* a mix */};
    float *first = NULL;
    size_t first_n = 0;
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        struct mem env;
        struct ogg_buf ogg = encode(&k, NULL, 10, sizes[i], &env);
        ASSERT_EQ(ogg_pcm_total(ogg.b, ogg.len), 10 * 48000);
        float *pcm = NULL;
        size_t n = ogg_decode(ogg.b, ogg.len, &pcm);
        /*
         * libopusenc buffers to whole frames itself, so the packets, and
         * so the decoded samples, do not depend on how the microphone
         * slices the input (only the Ogg serial number differs).
         */
        if (!first) {
            first = pcm;
            first_n = n;
        } else {
            ASSERT_EQ(n, first_n);
            if (memcmp(pcm, first, n * sizeof *pcm) != 0)
                check_fail(__FILE__, __LINE__, "frames of %zu samples decode differently",
                           sizes[i]);
            free(pcm);
        }
        ogg_buf_free(&ogg);
        free(env.b);
    }
    free(first);
}

TEST(test_capture_higher_bitrate_makes_a_bigger_stream)
{
    struct keys k;
    make_keys(&k);
    struct mem e12, e16;
    struct capture_opts o16 = {.bitrate = 16000};
    struct ogg_buf a = encode(&k, NULL, 60, 960, &e12);
    struct ogg_buf b = encode(&k, &o16, 60, 960, &e16);
    ASSERT(b.len > a.len);
    /* The size goal of the issue: at most 95 KB (95,000 B) for a minute at 12 kbps. */
    ASSERT(a.len <= 95000);
    ASSERT_EQ(ogg_pcm_total(b.b, b.len), 60 * 48000);
    ogg_buf_free(&a);
    ogg_buf_free(&b);
    free(e12.b);
    free(e16.b);
}

TEST(test_capture_20_ms_frames_cost_more_than_60_ms)
{
    struct keys k;
    make_keys(&k);
    struct mem e20, e60;
    struct capture_opts o20 = {.frame_ms = 20};
    struct ogg_buf a = encode(&k, &o20, 30, 960, &e20);
    struct ogg_buf b = encode(&k, NULL, 30, 960, &e60);
    ASSERT(a.len > b.len);
    ASSERT_EQ(ogg_pcm_total(a.b, a.len), 30 * 48000);
    ogg_buf_free(&a);
    ogg_buf_free(&b);
    free(e20.b);
    free(e60.b);
}

TEST(test_capture_refuses_bad_options_with_a_sentence)
{
    struct keys k;
    make_keys(&k);
    struct mem env = {.fail_at_chunk = -1};
    struct envelope_writer *w = NULL;
    struct capture *c = NULL;
    char err[256] = "";
    ASSERT_EQ(envelope_writer_new(&w, k.post.pk, k.dev_sk, &meta_vi, mem_sink, &env, NULL, err,
                                  sizeof err),
              0);
    struct capture_opts bad_rate = {.bitrate = 100};
    ASSERT_EQ(capture_new(&c, w, &bad_rate, err, sizeof err), ENVELOPE_E_ARG);
    ASSERT(c == NULL);
    ASSERT_STR_EQ(err,
                  "audio bitrate 100 bit/s is out of range: use 6000 to 64000 (default 12000)");
    struct capture_opts bad_frame = {.frame_ms = 25};
    ASSERT_EQ(capture_new(&c, w, &bad_frame, err, sizeof err), ENVELOPE_E_ARG);
    ASSERT_STR_EQ(err, "audio frame of 25 ms is not supported: use 20, 40 or 60");
    ASSERT_EQ(capture_new(&c, NULL, NULL, err, sizeof err), ENVELOPE_E_ARG);
    ASSERT_STR_EQ(err, "capture_new needs an output pointer and a writer");
    envelope_writer_free(w);
    free(env.b);
}

TEST(test_capture_refuses_audio_after_finish)
{
    struct keys k;
    make_keys(&k);
    struct mem env = {.fail_at_chunk = -1};
    struct envelope_writer *w = NULL;
    struct capture *c = NULL;
    char err[256] = "";
    ASSERT_EQ(envelope_writer_new(&w, k.post.pk, k.dev_sk, &meta_vi, mem_sink, &env, NULL, err,
                                  sizeof err),
              0);
    ASSERT_EQ(capture_new(&c, w, NULL, err, sizeof err), 0);
    ASSERT_EQ(capture_write(c, speech_pcm(), 16000, err, sizeof err), 0);
    ASSERT_EQ(capture_write(c, speech_pcm(), 0, err, sizeof err), 0); /* nothing is fine */
    ASSERT_EQ(capture_samples(c), 16000);
    ASSERT_EQ(capture_finish(c, err, sizeof err), 0);
    ASSERT_EQ(capture_write(c, speech_pcm(), 160, err, sizeof err), ENVELOPE_E_STATE);
    ASSERT_STR_EQ(err, "audio capture already finished; start a new tip");
    ASSERT_EQ(capture_finish(c, err, sizeof err), ENVELOPE_E_STATE);
    capture_free(c);
    capture_free(NULL);
    envelope_writer_free(w);
    free(env.b);
}

TEST(test_capture_reports_storage_refusing_a_page_and_stays_failed)
{
    struct keys k;
    make_keys(&k);
    struct mem env = {.fail_at_chunk = 2};
    struct envelope_writer *w = NULL;
    struct capture *c = NULL;
    char err[256] = "";
    ASSERT_EQ(envelope_writer_new(&w, k.post.pk, k.dev_sk, &meta_vi, mem_sink, &env, NULL, err,
                                  sizeof err),
              0);
    ASSERT_EQ(capture_new(&c, w, NULL, err, sizeof err), 0);
    int rc = 0;
    size_t done = 0;
    /* Chunks hold ~2.7 s at 12 kbps: the third is refused well within 30 s. */
    while (rc == 0 && done < 30 * 16000) {
        rc = capture_write(c, speech_pcm() + done, 1600, err, sizeof err);
        done += 1600;
    }
    ASSERT_EQ(rc, ENVELOPE_E_SINK);
    ASSERT_STR_EQ(err, "audio could not be saved while encoding (envelope: storage refused)");
    ASSERT_EQ(capture_write(c, speech_pcm(), 160, err, sizeof err), ENVELOPE_E_STATE);
    ASSERT_STR_EQ(err, "audio capture already failed; start a new tip");
    capture_free(c);
    envelope_writer_free(w);
    free(env.b);
}
