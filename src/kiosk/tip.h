/*
 * tip — one tip being left at the kiosk: envelope writer + capture + queue.
 *
 * This is the only way the kiosk makes a tip. Audio is encoded and sealed
 * while it is captured and each chunk is committed to the queue at once,
 * so tip_send() only closes the stream (it is fast whatever the length).
 * tip_discard() removes everything of an abandoned tip from the queue.
 * Both zero every buffer; after them the session is freed.
 *
 * Errors: 0 or a negative code (the queue's or the envelope's); `err`
 * gets a sentence for the technician. When storing failed the code is the
 * queue's (never ENVELOPE_E_SINK): QUEUE_E_FULL means the disk is full.
 * A tip that failed once stays failed: later calls repeat the error.
 */
#ifndef HOMTHU_TIP_H
#define HOMTHU_TIP_H

#include <stddef.h>
#include <stdint.h>

#include "kiosk/capture.h"
#include "core/envelope.h"
#include "core/queue.h"

struct tip_keys {
    uint8_t post_pk[32];   /* X25519: the post's public key */
    uint8_t device_sk[64]; /* Ed25519: this kiosk's device key */
};

struct tip_session;

/*
 * Start a tip in `q` (borrowed). `audio` NULL: no audio (text-only tip).
 * `now` is the wall clock, `clock_trusted` 0 until the network gave time.
 * From `meta` the caller's language, category, training and when are kept;
 * codec (CODEC_OGG_OPUS with audio, else CODEC_NONE) and capture_day (from
 * now, 0 when the clock is not trusted) are set here. The clear header is
 * in the queue when this returns.
 */
int tip_begin(struct tip_session **out, struct queue *q, const struct tip_keys *keys,
              const struct envelope_meta *meta, const struct capture_opts *audio, int64_t now,
              int clock_trusted, char *err, size_t errlen) __attribute__((warn_unused_result));
/* 16 kHz mono samples, any count per call. ENVELOPE_E_STATE on a text-only tip. */
int tip_add_pcm(struct tip_session *s, const int16_t *pcm, size_t samples, char *err, size_t errlen)
    __attribute__((warn_unused_result));
/* One TEXT record per call (in order), at most 65 536 bytes; empty adds nothing. */
int tip_add_text(struct tip_session *s, const char *utf8, size_t len, char *err, size_t errlen)
    __attribute__((warn_unused_result));
/*
 * When it happened (enum envelope_when, not WHEN_UNSET), as the person
 * answered after recording: a WHEN record, once per tip.
 */
int tip_set_when(struct tip_session *s, uint8_t when, char *err, size_t errlen)
    __attribute__((warn_unused_result));
/*
 * The person spoke and left (walked away, hung up) without touching
 * "done": an UNCONFIRMED record tells the officer (docs/envelope.md).
 * At most once per tip.
 */
int tip_set_unconfirmed(struct tip_session *s, char *err, size_t errlen)
    __attribute__((warn_unused_result));
/*
 * What happened (enum envelope_category, not CATEGORY_UNSET), as the
 * person chose it after speaking. META was written when the tip began, so
 * tip_send() appends a CATEGORY record after the last audio, which the
 * post applies over META's (docs/envelope.md); none when it equals META's.
 * The last call before tip_send() counts.
 */
int tip_set_category(struct tip_session *s, uint8_t category, char *err, size_t errlen)
    __attribute__((warn_unused_result));
/* Seconds of audio captured so far. */
double tip_seconds(const struct tip_session *s);
/* The tip id (for logs: it identifies the tip, never the person). */
const uint8_t *tip_id(const struct tip_session *s);

/*
 * Seal and commit; frees the session (also on failure). An error from any
 * earlier call is returned again here. On failure the tip is left
 * "recording" in the queue with every chunk already committed (never shown
 * as complete): queue_recover() seals it as cut short, so nothing saved is
 * lost. The kiosk must not tell the person it was sent.
 */
int tip_send(struct tip_session *s, int64_t now, char *err, size_t errlen)
    __attribute__((warn_unused_result));
/*
 * Abandon: zero, free, delete from the queue. NULL is a no-op. Returns 0,
 * or the queue's error when the rows could not be deleted (the reason goes
 * to stderr with the tip id, never content): the tip then stays recording.
 */
int tip_discard(struct tip_session *s);

#endif
