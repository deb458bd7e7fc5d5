/* tip — see tip.h. */
#include "kiosk/tip.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/errbuf.h"

/* A TEXT record holds at most this (docs/envelope.md). */
#define TIP_TEXT_MAX 65536u

/* 2020-01-01T00:00:00Z, the epoch of envelope_meta.capture_day. */
#define TIP_DAY_EPOCH 1577836800LL

struct tip_session {
    struct queue *q;        /* borrowed */
    struct queue_sink sink; /* the writer's sink context: must not move */
    struct envelope_writer *w;
    struct capture *cap; /* NULL for a text-only tip */
    uint8_t id[ENVELOPE_TIP_ID_BYTES];
    int error; /* first error that ended the tip, 0 while healthy */
    int when_set;
    int unconfirmed_set;
    uint8_t meta_category; /* as written in META when the tip began */
    uint8_t category;      /* chosen after speaking; written at send when it differs */
    char reason[512]; /* its sentence, repeated by later calls */
};

/* errbuf_say without the code, under this file's old name. */
#define set_err(err, errlen, ...) ((void)errbuf_say((err), (errlen), 0, __VA_ARGS__))

/*
 * Turn an envelope/capture failure into what the caller acts on. When the
 * cause was the queue (ENVELOPE_E_SINK), the queue's own code and sentence
 * win: QUEUE_E_FULL tells the kiosk the disk is full, which "the sink
 * refused" would hide. The error sticks: a tip that failed once takes no
 * more audio or text, since a gap would corrupt the Ogg stream.
 */
static int tip_fail(struct tip_session *s, int rc, const char *what, const char *detail, char *err,
                    size_t errlen)
{
    if (rc == ENVELOPE_E_SINK) {
        if (s->sink.last_error) {
            rc = s->sink.last_error;
            detail = s->sink.err;
        } else {
            /* The queue must say why; never let -3 pass for "disk full". */
            rc = QUEUE_E_IO;
            detail = "the queue refused a piece without giving a reason";
        }
    }
    if (!s->error) {
        s->error = rc;
        snprintf(s->reason, sizeof s->reason, "%s: %s", what, detail);
    }
    set_err(err, errlen, "%s", s->reason);
    return s->error;
}

/* Days since 2020-01-01 UTC, or 0 when the clock is not to be believed. */
static uint16_t capture_day(int64_t now, int clock_trusted)
{
    if (!clock_trusted || now < TIP_DAY_EPOCH)
        return 0;
    int64_t day = (now - TIP_DAY_EPOCH) / 86400;
    return day > UINT16_MAX ? UINT16_MAX : (uint16_t)day;
}

static void tip_free(struct tip_session *s)
{
    if (!s)
        return;
    capture_free(s->cap); /* before the writer it borrows */
    envelope_writer_free(s->w);
    sodium_memzero(s, sizeof *s);
    free(s);
}

int tip_begin(struct tip_session **out, struct queue *q, const struct tip_keys *keys,
              const struct envelope_meta *meta, const struct capture_opts *audio, int64_t now,
              int clock_trusted, char *err, size_t errlen)
{
    struct tip_session *s = NULL;
    char why[256] = "";
    int rc;

    if (!out || !q || !keys || !meta) {
        set_err(err, errlen, "tip_begin needs an output pointer, a queue, keys and metadata");
        return ENVELOPE_E_ARG;
    }
    *out = NULL;
    if (sodium_init() < 0) {
        set_err(err, errlen, "cannot initialise libsodium: the tip cannot be sealed");
        return ENVELOPE_E_ARG;
    }
    s = calloc(1, sizeof *s);
    if (!s) {
        set_err(err, errlen, "out of memory starting a tip");
        return ENVELOPE_E_NOMEM;
    }
    s->q = q;
    s->sink.q = q;
    s->sink.now = now;
    s->sink.clock_trusted = clock_trusted;
    s->meta_category = s->category = meta->category;

    /*
     * The session, not the caller, fills in what the envelope must say
     * about the recording itself, so the two cannot disagree: the codec
     * follows from whether there is audio, and the day from the clock
     * (0 until the network has given the time, as envelope.h defines).
     */
    struct envelope_meta m = *meta;
    m.codec = audio ? CODEC_OGG_OPUS : CODEC_NONE;
    m.capture_day = capture_day(now, clock_trusted);

    rc = envelope_writer_new(&s->w, keys->post_pk, keys->device_sk, &m, queue_envelope_sink,
                             &s->sink, s->id, why, sizeof why);
    sodium_memzero(&m, sizeof m);
    if (rc != 0) {
        s->w = NULL;
        rc = tip_fail(s, rc, "the tip could not be started", why, err, errlen);
        /*
         * The header may be stored already if the writer failed after it.
         * Should deleting it fail too, queue_recover() drops a tip with no
         * chunk: nothing of the person stays either way.
         */
        if (s->sink.last_error == 0 && !sodium_is_zero(s->sink.tip_id, sizeof s->sink.tip_id) &&
            queue_discard_tip(q, s->sink.tip_id, NULL, 0) != 0) {
            /* left to queue_recover(), see above */
        }
        goto fail;
    }
    if (audio) {
        rc = capture_new(&s->cap, s->w, audio, why, sizeof why);
        if (rc != 0) {
            rc = tip_fail(s, rc, "the recording could not be started", why, err, errlen);
            /* Only the clear header is stored; as above, recovery drops it if this fails. */
            if (queue_discard_tip(q, s->id, NULL, 0) != 0) {
                /* left to queue_recover() */
            }
            goto fail;
        }
    }
    *out = s;
    return 0;
fail:
    tip_free(s);
    return rc;
}

int tip_add_pcm(struct tip_session *s, const int16_t *pcm, size_t samples, char *err, size_t errlen)
{
    char why[256] = "";
    if (!s || (!pcm && samples)) {
        set_err(err, errlen, "tip_add_pcm needs a tip and samples");
        return ENVELOPE_E_ARG;
    }
    if (s->error) {
        set_err(err, errlen, "%s", s->reason);
        return s->error;
    }
    if (!s->cap) {
        set_err(err, errlen, "this tip was started without audio: it takes text only");
        return ENVELOPE_E_STATE;
    }
    int rc = capture_write(s->cap, pcm, samples, why, sizeof why);
    if (rc != 0)
        return tip_fail(s, rc, "the recording could not be saved", why, err, errlen);
    return 0;
}

int tip_add_text(struct tip_session *s, const char *utf8, size_t len, char *err, size_t errlen)
{
    if (!s || (!utf8 && len)) {
        set_err(err, errlen, "tip_add_text needs a tip and text");
        return ENVELOPE_E_ARG;
    }
    if (s->error) {
        set_err(err, errlen, "%s", s->reason);
        return s->error;
    }
    if (len == 0)
        return 0; /* an empty text box is not a record */
    /* Refused before the envelope sees it, so the tip itself stays good. */
    if (len > TIP_TEXT_MAX) {
        set_err(err, errlen, "text of %zu bytes is too long: at most %u bytes per call", len,
                TIP_TEXT_MAX);
        return ENVELOPE_E_ARG;
    }
    int rc = envelope_write_text(s->w, utf8, len);
    if (rc != 0)
        return tip_fail(s, rc, "the text could not be saved", envelope_strerror(rc), err, errlen);
    return 0;
}

int tip_set_when(struct tip_session *s, uint8_t when, char *err, size_t errlen)
{
    if (!s) {
        set_err(err, errlen, "tip_set_when needs a tip");
        return ENVELOPE_E_ARG;
    }
    if (s->error) {
        set_err(err, errlen, "%s", s->reason);
        return s->error;
    }
    if (when == WHEN_UNSET || when > WHEN_EARLIER) {
        set_err(err, errlen,
                "when it happened must be one of today, yesterday, this week or "
                "earlier (got %u)",
                when);
        return ENVELOPE_E_ARG;
    }
    /* One answer per tip: two WHEN records would leave the post guessing. */
    if (s->when_set) {
        set_err(err, errlen, "when it happened is already recorded for this tip");
        return ENVELOPE_E_STATE;
    }
    int rc = envelope_write_when(s->w, when);
    if (rc != 0)
        return tip_fail(s, rc, "when it happened could not be saved", envelope_strerror(rc), err,
                        errlen);
    s->when_set = 1;
    return 0;
}

int tip_set_unconfirmed(struct tip_session *s, char *err, size_t errlen)
{
    if (!s) {
        set_err(err, errlen, "tip_set_unconfirmed needs a tip");
        return ENVELOPE_E_ARG;
    }
    if (s->error) {
        set_err(err, errlen, "%s", s->reason);
        return s->error;
    }
    if (s->unconfirmed_set)
        return 0; /* once says it all */
    int rc = envelope_write_unconfirmed(s->w);
    if (rc != 0)
        return tip_fail(s, rc, "the mark 'left without confirming' could not be saved",
                        envelope_strerror(rc), err, errlen);
    s->unconfirmed_set = 1;
    return 0;
}

int tip_set_category(struct tip_session *s, uint8_t category, char *err, size_t errlen)
{
    if (!s) {
        set_err(err, errlen, "tip_set_category needs a tip");
        return ENVELOPE_E_ARG;
    }
    if (s->error) {
        set_err(err, errlen, "%s", s->reason);
        return s->error;
    }
    if (category == CATEGORY_UNSET || category > CATEGORY_OTHER) {
        set_err(err, errlen, "what happened must be one of the pictures 1 to %u (got %u)",
                CATEGORY_OTHER, category);
        return ENVELOPE_E_ARG;
    }
    /* Kept until send: the record must follow the recording's last audio. */
    s->category = category;
    return 0;
}

double tip_seconds(const struct tip_session *s)
{
    return s ? (double)capture_samples(s->cap) / CAPTURE_RATE : 0.0;
}

const uint8_t *tip_id(const struct tip_session *s)
{
    return s ? s->id : NULL;
}

int tip_send(struct tip_session *s, int64_t now, char *err, size_t errlen)
{
    char why[256] = "";
    int rc = 0;

    if (!s) {
        set_err(err, errlen, "tip_send needs a tip");
        return ENVELOPE_E_ARG;
    }
    /*
     * On any failure below the tip stays "recording" in the queue with
     * every chunk already committed; it is never discarded here. The next
     * queue_recover() seals it as cut short, so the post still gets all
     * that was saved, and nothing half-written ever looks complete: only
     * the trailer, stored last, makes a tip sealed.
     */
    if (s->error) {
        set_err(err, errlen, "%s", s->reason);
        rc = s->error;
        goto out;
    }
    s->sink.now = now; /* the queue records when the tip was sealed */
    if (s->cap) {
        rc = capture_finish(s->cap, why, sizeof why);
        if (rc != 0) {
            rc = tip_fail(s, rc, "the end of the recording could not be saved", why, err, errlen);
            goto out;
        }
    }
    if (s->category != s->meta_category) {
        rc = envelope_write_category(s->w, s->category);
        if (rc != 0) {
            rc = tip_fail(s, rc, "what happened could not be saved", envelope_strerror(rc), err,
                          errlen);
            goto out;
        }
    }
    rc = envelope_writer_finish(s->w, why, sizeof why);
    if (rc != 0)
        rc = tip_fail(s, rc, "the tip could not be sealed", why, err, errlen);
out:
    tip_free(s);
    return rc;
}

int tip_discard(struct tip_session *s)
{
    char why[256] = "";
    if (!s)
        return 0;
    struct queue *q = s->q;
    uint8_t id[ENVELOPE_TIP_ID_BYTES];
    memcpy(id, s->id, sizeof id);
    tip_free(s); /* the encoder and the chunk buffer go first */
    int rc = queue_discard_tip(q, id, why, sizeof why);
    if (rc != 0) {
        /*
         * The person walked away; if the rows cannot go now the tip stays
         * recording and the next start would seal it as cut short. The
         * caller gets the code to show a fault; the log line names the
         * tip, never its content.
         */
        char hex[2 * ENVELOPE_TIP_ID_BYTES + 1];
        sodium_bin2hex(hex, sizeof hex, id, sizeof id);
        fprintf(stderr, "tip %s: could not delete the abandoned tip: %s\n", hex, why);
    }
    sodium_memzero(id, sizeof id);
    return rc;
}
