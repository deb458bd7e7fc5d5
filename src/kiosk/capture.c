/* capture — see capture.h. */
#include "kiosk/capture.h"

#include <opusenc.h> /* pkg-config libopusenc puts .../opus on the path */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>

#include "core/errbuf.h"

#define CAPTURE_MIN_BITRATE 6000  /* below this Opus drops to narrowband mush */
#define CAPTURE_MAX_BITRATE 64000 /* far above what mono speech needs */
/* Largest slice handed to ope_encoder_write() at once: its count is an int. */
#define CAPTURE_MAX_SLICE (1 << 20)

struct capture {
    struct envelope_writer *w; /* borrowed */
    OggOpusEnc *enc;
    void (*tee)(void *ctx, const uint8_t *ogg, size_t len);
    void *tee_ctx;
    uint64_t samples;
    int sink_error; /* envelope error from the page callback, 0 if none */
    int failed;     /* an error ended this capture; only _free() is allowed */
    int finished;
};

/* errbuf_say without the code, under this file's old name. */
#define set_err(err, errlen, ...) ((void)errbuf_say((err), (errlen), 0, __VA_ARGS__))

/*
 * libopusenc hands us each finished Ogg page here. It goes straight into
 * the envelope (encrypted, committed by the queue chunk by chunk); the tee
 * sees it only after the envelope took it, so a test's copy is exactly
 * what was sealed.
 */
static int on_page(void *user, const unsigned char *ptr, opus_int32 len)
{
    struct capture *c = user;
    if (c->sink_error)
        return 1;
    if (len <= 0)
        return 0;
    int rc = envelope_write_audio(c->w, ptr, (size_t)len);
    if (rc != 0) {
        c->sink_error = rc;
        return 1; /* libopusenc turns this into OPE_WRITE_FAIL */
    }
    if (c->tee)
        c->tee(c->tee_ctx, ptr, (size_t)len);
    return 0;
}

/* Nothing to close: the envelope outlives the Ogg stream. */
static int on_close(void *user)
{
    (void)user;
    return 0;
}

static int frame_request(int ms)
{
    switch (ms) {
    case 20:
        return OPUS_FRAMESIZE_20_MS;
    case 40:
        return OPUS_FRAMESIZE_40_MS;
    case 60:
        return OPUS_FRAMESIZE_60_MS;
    default:
        return 0;
    }
}

/* Turn a failed libopusenc call into our code and a sentence. */
static int encoder_failed(struct capture *c, int ope, const char *during, char *err, size_t errlen)
{
    c->failed = 1;
    if (c->sink_error) {
        set_err(err, errlen, "audio could not be saved while %s (envelope: %s)", during,
                envelope_strerror(c->sink_error));
        return c->sink_error;
    }
    set_err(err, errlen, "audio encoder failed while %s: %s (libopusenc %d)", during,
            ope_strerror(ope), ope);
    return ope == OPE_ALLOC_FAIL ? ENVELOPE_E_NOMEM : ENVELOPE_E_ARG;
}

int capture_new(struct capture **out, struct envelope_writer *w, const struct capture_opts *o,
                char *err, size_t errlen)
{
    struct capture *c = NULL;
    OggOpusComments *comments = NULL;
    int rc = ENVELOPE_E_ARG, ope = OPE_OK;
    int bitrate = o && o->bitrate ? o->bitrate : CAPTURE_DEFAULT_BITRATE;
    int frame_ms = o && o->frame_ms ? o->frame_ms : 60;

    if (!out || !w) {
        set_err(err, errlen, "capture_new needs an output pointer and a writer");
        goto out;
    }
    *out = NULL;
    if (bitrate < CAPTURE_MIN_BITRATE || bitrate > CAPTURE_MAX_BITRATE) {
        set_err(err, errlen, "audio bitrate %d bit/s is out of range: use %d to %d (default %d)",
                bitrate, CAPTURE_MIN_BITRATE, CAPTURE_MAX_BITRATE, CAPTURE_DEFAULT_BITRATE);
        goto out;
    }
    if (!frame_request(frame_ms)) {
        set_err(err, errlen, "audio frame of %d ms is not supported: use 20, 40 or 60", frame_ms);
        goto out;
    }
    if (sodium_init() < 0) {
        set_err(err, errlen, "cannot initialise libsodium");
        goto out;
    }
    c = calloc(1, sizeof *c);
    if (!c) {
        rc = ENVELOPE_E_NOMEM;
        set_err(err, errlen, "out of memory starting the audio encoder");
        goto out;
    }
    c->w = w;
    if (o) {
        c->tee = o->tee;
        c->tee_ctx = o->tee_ctx;
    }

    /*
     * Only the vendor string libopusenc always writes ("libopus 1.3.1,
     * libopusenc 0.2.1"): it names the software, never the person or the
     * kiosk. No ENCODER, DATE, title or any other tag.
     */
    comments = ope_comments_create();
    if (!comments) {
        rc = ENVELOPE_E_NOMEM;
        set_err(err, errlen, "out of memory starting the audio encoder");
        goto out;
    }
    OpusEncCallbacks cb = {on_page, on_close};
    c->enc = ope_encoder_create_callbacks(&cb, c, comments, CAPTURE_RATE, 1, 0, &ope);
    if (!c->enc) {
        rc = encoder_failed(c, ope, "starting", err, errlen);
        goto out;
    }

    /*
     * Voice settings. VBR (the default, set anyway so nobody changes it by
     * accident) spends bits where speech is and few on pauses. The input
     * holds nothing above 8 kHz, so the encoder is kept to wideband: left
     * to itself at 16 kbps it picks super-wideband hybrid mode and spends
     * 29 % more bytes on an empty band (138 KB against 107 KB a minute,
     * measured with the test speech). The Ogg stream's serial number comes
     * from libsodium rather than libopusenc's rand(), and the tags page
     * carries no padding: nobody ever edits the tags of a sealed tip, so
     * 512 bytes per tip would be wasted.
     *
     * Decision delay 0: by default libopusenc holds 2 s of PCM before it
     * encodes anything (room for decisions we never ask of it). That is
     * 2 s of speech lost in a power cut, 2 s of clear audio in the heap,
     * and 30 ms of encoding in tip_send(); with 0 the stream is the same
     * size and pages leave at the muxing delay. That stays at libopusenc's
     * 1 s: shorter pages cost Ogg header bytes; 2 s pages save 1 % of Ogg
     * but no envelope got a chunk shorter (padding takes the difference)
     * and a power cut would lose one more second (docs/audio.md).
     */
    struct {
        int request, value;
        const char *what;
        int optional;
    } ctl[] = {
        {OPUS_SET_APPLICATION_REQUEST, OPUS_APPLICATION_VOIP, "voice application", 1},
        {OPUS_SET_SIGNAL_REQUEST, OPUS_SIGNAL_VOICE, "voice signal", 0},
        {OPUS_SET_MAX_BANDWIDTH_REQUEST, OPUS_BANDWIDTH_WIDEBAND, "bandwidth", 0},
        {OPUS_SET_VBR_REQUEST, 1, "VBR", 0},
        {OPUS_SET_BITRATE_REQUEST, bitrate, "bitrate", 0},
        {OPUS_SET_EXPERT_FRAME_DURATION_REQUEST, frame_request(frame_ms), "frame duration", 0},
        {OPE_SET_COMMENT_PADDING_REQUEST, 0, "tag padding", 0},
        {OPE_SET_DECISION_DELAY_REQUEST, 0, "decision delay", 0},
        {OPE_SET_SERIALNO_REQUEST, (int)(randombytes_random() & 0x7fffffff), "serial number", 0},
    };
    for (size_t i = 0; i < sizeof ctl / sizeof ctl[0]; i++) {
        ope = ope_encoder_ctl(c->enc, ctl[i].request, (opus_int32)ctl[i].value);
        /*
         * OPUS_SET_APPLICATION is passed through by libopusenc 0.2 but not
         * promised by its API: if a version refuses it the SIGNAL hint
         * still steers the encoder to speech, so carry on.
         */
        if (ope != OPE_OK && !ctl[i].optional) {
            char during[64];
            snprintf(during, sizeof during, "setting the %s", ctl[i].what);
            rc = encoder_failed(c, ope, during, err, errlen);
            goto out;
        }
    }
    *out = c;
    c = NULL;
    rc = 0;
out:
    if (comments)
        ope_comments_destroy(comments); /* the encoder keeps its own copy; NULL would crash */
    capture_free(c);
    return rc;
}

int capture_write(struct capture *c, const int16_t *pcm, size_t samples, char *err, size_t errlen)
{
    if (!c || (!pcm && samples)) {
        set_err(err, errlen, "capture_write needs a capture and samples");
        return ENVELOPE_E_ARG;
    }
    if (c->failed || c->finished) {
        set_err(err, errlen, "audio capture already %s; start a new tip",
                c->failed ? "failed" : "finished");
        return ENVELOPE_E_STATE;
    }
    /* libopusenc takes any count: it buffers up to one frame itself. */
    while (samples) {
        size_t n = samples < CAPTURE_MAX_SLICE ? samples : CAPTURE_MAX_SLICE;
        int ope = ope_encoder_write(c->enc, pcm, (int)n);
        if (ope != OPE_OK)
            return encoder_failed(c, ope, "encoding", err, errlen);
        c->samples += n;
        pcm += n;
        samples -= n;
    }
    return 0;
}

int capture_finish(struct capture *c, char *err, size_t errlen)
{
    if (!c) {
        set_err(err, errlen, "capture_finish needs a capture");
        return ENVELOPE_E_ARG;
    }
    if (c->failed || c->finished) {
        set_err(err, errlen, "audio capture already %s; start a new tip",
                c->failed ? "failed" : "finished");
        return ENVELOPE_E_STATE;
    }
    /* Encodes what is buffered, writes the last page with the exact end. */
    int ope = ope_encoder_drain(c->enc);
    if (ope != OPE_OK)
        return encoder_failed(c, ope, "finishing", err, errlen);
    c->finished = 1;
    return 0;
}

uint64_t capture_samples(const struct capture *c)
{
    return c ? c->samples : 0;
}

void capture_free(struct capture *c)
{
    if (!c)
        return;
    /*
     * ope_encoder_destroy() frees the encoder's buffers without zeroing
     * them: libopusenc has no allocator hook. They hold the last second or
     * two of (resampled) speech. Our own struct is zeroed; the process
     * should make glibc wipe freed memory (mallopt(M_PERTURB), see
     * docs/audio.md) so no audio outlives the tip in the heap.
     */
    if (c->enc)
        ope_encoder_destroy(c->enc);
    sodium_memzero(c, sizeof *c);
    free(c);
}
