/*
 * speech — the test speech and what the audio tests check Ogg Opus with.
 *
 * 60 s of Vietnamese from espeak-ng (tests/speech.sh), cached as raw
 * 16 kHz mono s16 PCM in $HOMTHU_BUILD/fixtures/ and made again only when
 * missing. Defined in tests/test_capture.c, shared with tests/test_tip.c.
 * Every function fails the running test (ASSERT) rather than return errors.
 */
#ifndef HOMTHU_TEST_SPEECH_H
#define HOMTHU_TEST_SPEECH_H

#include <stddef.h>
#include <stdint.h>

#define SPEECH_SECONDS 60
#define SPEECH_SAMPLES (SPEECH_SECONDS * 16000)
#define SPEECH_FIXTURE "fixtures/speech-vi-60s.raw" /* under check_build() */

/* The 60 s of speech, loaded once per process (borrowed, never freed). */
const int16_t *speech_pcm(void);

/* A growing byte buffer; a capture_opts.tee that appends to it. */
struct ogg_buf {
    uint8_t *b;
    size_t len, cap;
};
void ogg_buf_add(struct ogg_buf *x, const uint8_t *b, size_t len);
void ogg_buf_tee(void *ctx, const uint8_t *ogg, size_t len);
void ogg_buf_free(struct ogg_buf *x);

/* Samples at 48 kHz that libopusfile finds in the stream (op_pcm_total). */
int64_t ogg_pcm_total(const uint8_t *ogg, size_t len);

/*
 * Decode with libopusfile: every sample at 48 kHz, as float in ±1, into
 * *pcm (caller frees); returns the count.
 */
size_t ogg_decode(const uint8_t *ogg, size_t len, float **pcm);

/*
 * The "ordinary player" check: write the stream to check_path(name), run
 * opusinfo and opusdec on it, and assert the decoded length is
 * `seconds` ± 0.1 s and that no user comment (tag) is in the file.
 */
void ogg_check_in_player(const uint8_t *ogg, size_t len, const char *name, double seconds);

#endif
