/*
 * capture — microphone PCM in, Ogg Opus out, straight into a sealed tip.
 *
 * 16 kHz mono signed 16-bit PCM in frames of any size → libopusenc (voice
 * mode, VBR, 12 kbps by default) → Ogg pages → envelope_write_audio(). No
 * audio is ever buffered beyond what the encoder and one envelope chunk
 * hold in memory; nothing is written anywhere but the envelope.
 *
 * Not here: the microphone device (the kiosk's audio port), the envelope.
 *
 * Errors: 0 or a negative enum envelope_error (ENVELOPE_E_ARG for bad
 * options, ENVELOPE_E_SINK and the like when the envelope refused a page,
 * ENVELOPE_E_STATE after a failure or finish); `err` gets a readable
 * sentence. After an error only capture_free() is allowed.
 *
 * The encoder's own buffers are freed, not zeroed, by libopusenc (no
 * allocator hook): see docs/audio.md for how the process wipes freed memory.
 */
#ifndef HOMTHU_CAPTURE_H
#define HOMTHU_CAPTURE_H

#include <stddef.h>
#include <stdint.h>

#include "core/envelope.h"

#define CAPTURE_RATE 16000
#define CAPTURE_DEFAULT_BITRATE 12000

struct capture_opts {
    int bitrate;  /* bits/s, 6000..64000; 0 = CAPTURE_DEFAULT_BITRATE */
    int frame_ms; /* Opus frame: 20, 40 or 60; 0 = 60 (saves ~6 % at 12 kbps) */
    /* Optional: sees every Ogg byte as it goes into the envelope (tests, bench). */
    void (*tee)(void *ctx, const uint8_t *ogg, size_t len);
    void *tee_ctx;
};

struct capture;

/* Borrow `w` until capture_finish()/capture_free(). Caller frees with capture_free(). */
int capture_new(struct capture **out, struct envelope_writer *w, const struct capture_opts *o,
                char *err, size_t errlen) __attribute__((warn_unused_result));
/* Feed `samples` mono samples at 16 kHz. */
int capture_write(struct capture *c, const int16_t *pcm, size_t samples, char *err, size_t errlen)
    __attribute__((warn_unused_result));
/* Flush the encoder: the Ogg stream is complete inside the envelope. */
int capture_finish(struct capture *c, char *err, size_t errlen) __attribute__((warn_unused_result));
/* Samples fed so far (for elapsed time). */
uint64_t capture_samples(const struct capture *c);
void capture_free(struct capture *c); /* NULL is a no-op */

#endif
