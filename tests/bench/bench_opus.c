/*
 * bench_opus — how big a minute of speech is, and how fast the kiosk
 * encodes it.
 *
 * Sizes come from the product's own path (capture → envelope writer, the
 * Ogg bytes seen through capture_opts.tee), for the test speech: 60 s of
 * espeak-ng Vietnamese, 16 kHz mono. Speed is given as × realtime for the
 * capture path and for a baseline measured in the same run: plain
 * libopusenc with the same settings into a callback that drops the pages.
 * Their ratio is what sealing adds on top of encoding.
 */
#include "bench.h"
#include "kiosk/capture.h"
#include "core/envelope.h"

#include <opusenc.h>
#include <sodium.h>
#include <string.h>

#define GOAL_BYTES_PER_MINUTE 95000 /* the goal at 12 kbps */
#define ROUNDS 3                    /* best of: the machines are shared */

struct count {
    uint64_t bytes, pieces;
};

static int drop_sink(void *ctx, enum envelope_piece kind, uint32_t index, const uint8_t *b,
                     size_t len)
{
    (void)ctx;
    (void)kind;
    (void)index;
    (void)b;
    (void)len;
    return 0;
}

static void tee_count(void *ctx, const uint8_t *ogg, size_t len)
{
    struct count *c = ctx;
    (void)ogg;
    c->bytes += len;
    c->pieces++;
}

static uint8_t post_pk[32], post_sk[32], dev_pk[32], dev_sk[64];

/* The product path: returns seconds of wall time, Ogg bytes in *ogg. */
static double run_capture(const int16_t *pcm, int bitrate, int frame_ms, uint64_t *ogg)
{
    struct envelope_meta m = {.language = "vi", .codec = CODEC_OGG_OPUS};
    struct count c = {0};
    struct capture_opts o = {
        .bitrate = bitrate, .frame_ms = frame_ms, .tee = tee_count, .tee_ctx = &c};
    struct envelope_writer *w = NULL;
    struct capture *cap = NULL;
    char err[256] = "";
    double t0 = bench_now();
    if (envelope_writer_new(&w, post_pk, dev_sk, &m, drop_sink, NULL, NULL, err, sizeof err) ||
        capture_new(&cap, w, &o, err, sizeof err)) {
        fprintf(stderr, "bench_opus: %s\n", err);
        exit(1);
    }
    /* 20 ms microphone periods, as the kiosk's audio port delivers them. */
    for (size_t i = 0; i < BENCH_SPEECH_SAMPLES; i += 320) {
        if (capture_write(cap, pcm + i, 320, err, sizeof err)) {
            fprintf(stderr, "bench_opus: %s\n", err);
            exit(1);
        }
    }
    if (capture_finish(cap, err, sizeof err) || envelope_writer_finish(w, err, sizeof err)) {
        fprintf(stderr, "bench_opus: %s\n", err);
        exit(1);
    }
    double t = bench_now() - t0;
    capture_free(cap);
    envelope_writer_free(w);
    *ogg = c.bytes;
    return t;
}

static int drop_page(void *user, const unsigned char *p, opus_int32 len)
{
    (void)p;
    *(uint64_t *)user += (uint64_t)len;
    return 0;
}

static int no_close(void *user)
{
    (void)user;
    return 0;
}

/* Baseline: libopusenc alone, the settings of src/kiosk/capture.c. */
static double run_plain(const int16_t *pcm, int bitrate, uint64_t *ogg)
{
    OpusEncCallbacks cb = {drop_page, no_close};
    OggOpusComments *com = ope_comments_create();
    int e = 0;
    *ogg = 0;
    double t0 = bench_now();
    OggOpusEnc *enc = ope_encoder_create_callbacks(&cb, ogg, com, 16000, 1, 0, &e);
    if (!enc) {
        fprintf(stderr, "bench_opus: libopusenc: %s\n", ope_strerror(e));
        exit(1);
    }
    ope_encoder_ctl(enc, OPUS_SET_APPLICATION(OPUS_APPLICATION_VOIP));
    ope_encoder_ctl(enc, OPUS_SET_SIGNAL(OPUS_SIGNAL_VOICE));
    ope_encoder_ctl(enc, OPUS_SET_MAX_BANDWIDTH(OPUS_BANDWIDTH_WIDEBAND));
    ope_encoder_ctl(enc, OPUS_SET_VBR(1));
    ope_encoder_ctl(enc, OPUS_SET_BITRATE(bitrate));
    ope_encoder_ctl(enc, OPUS_SET_EXPERT_FRAME_DURATION(OPUS_FRAMESIZE_60_MS));
    ope_encoder_ctl(enc, OPE_SET_COMMENT_PADDING(0));
    ope_encoder_ctl(enc, OPE_SET_DECISION_DELAY(0));
    for (size_t i = 0; i < BENCH_SPEECH_SAMPLES; i += 320)
        ope_encoder_write(enc, pcm + i, 320);
    ope_encoder_drain(enc);
    double t = bench_now() - t0;
    ope_encoder_destroy(enc);
    ope_comments_destroy(com);
    return t;
}

int main(void)
{
    if (sodium_init() < 0)
        return 1;
    crypto_box_keypair(post_pk, post_sk);
    crypto_sign_keypair(dev_pk, dev_sk);
    int16_t *pcm = bench_speech();
    const uint64_t pcm_bytes = BENCH_SPEECH_SAMPLES * 2;

    printf("Opus voice VBR, 60 s of espeak-ng Vietnamese, 16 kHz mono\n");
    printf("PCM %s B per minute (WAV %s B)\n\n", bench_num(pcm_bytes), bench_num(pcm_bytes + 44));
    printf("  bitrate  frame   Ogg B/minute  of PCM   encode+seal ×realtime\n");
    static const struct {
        int bitrate, frame_ms;
    } runs[] = {{8000, 60}, {12000, 20}, {12000, 60}, {16000, 20}, {16000, 60}, {24000, 60}};
    uint64_t at12 = 0, at16 = 0;
    for (size_t i = 0; i < sizeof runs / sizeof runs[0]; i++) {
        uint64_t ogg = 0;
        double best = 1e9;
        for (int r = 0; r < ROUNDS; r++) {
            double t = run_capture(pcm, runs[i].bitrate, runs[i].frame_ms, &ogg);
            best = t < best ? t : best;
        }
        printf("  %2d kbps  %2d ms  %12s  %5.2f %%  %8.0f×\n", runs[i].bitrate / 1000,
               runs[i].frame_ms, bench_num(ogg), 100.0 * (double)ogg / (double)pcm_bytes,
               BENCH_SPEECH_SECONDS / best);
        if (runs[i].frame_ms == 60 && runs[i].bitrate == 12000)
            at12 = ogg;
        if (runs[i].frame_ms == 60 && runs[i].bitrate == 16000)
            at16 = ogg;
    }

    /* Alternate the two so that a busy neighbour slows both alike. */
    double plain = 1e9, path = 1e9;
    uint64_t plain_bytes = 0, path_bytes = 0;
    for (int r = 0; r < 2 * ROUNDS; r++) {
        double t = run_plain(pcm, 12000, &plain_bytes);
        plain = t < plain ? t : plain;
        t = run_capture(pcm, 12000, 60, &path_bytes);
        path = t < path ? t : path;
    }
    printf("\nbaseline, plain libopusenc at 12 kbps/60 ms (same run): %.0f× realtime, %s B\n",
           BENCH_SPEECH_SECONDS / plain, bench_num(plain_bytes));
    printf("capture path (Opus + envelope seal), same rounds: %.0f× realtime, %s B\n",
           BENCH_SPEECH_SECONDS / path, bench_num(path_bytes));
    printf("capture path / baseline time: %.2f\n", path / plain);
    printf("16 kbps / 12 kbps size: %.2f\n", (double)at16 / (double)at12);
    printf("goal: at most %s B per minute at 12 kbps; measured %s B: %s\n",
           bench_num(GOAL_BYTES_PER_MINUTE), bench_num(at12),
           at12 <= GOAL_BYTES_PER_MINUTE ? "MET" : "MISSED");
    free(pcm);
    return 0;
}
