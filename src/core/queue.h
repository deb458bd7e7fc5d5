/*
 * queue — the kiosk's power-safe store of sealed tips (SQLite).
 *
 * Holds envelope pieces only (ciphertext): the header, each chunk as the
 * writer produces it, the trailer. Every chunk is its own committed
 * transaction (WAL, synchronous=FULL), so a power cut mid-recording loses
 * at most the chunk being filled; the tip up to there is recovered at the
 * next start and sealed as "cut short" (queue_recover()).
 *
 * States: recording → sealed → uploading (with offset) → delivered.
 * A tip leaves the queue only after delivery was acknowledged, and then
 * wholly: its row, header, chunks and trailer are deleted (secure_delete
 * zeroes them) and only counters remain (queue_stats). A stolen card must
 * not tell when each tip was left: times are kept only to
 * QUEUE_TIME_GRAIN_S, rounded down, and delivered tips are forgotten.
 *
 * The database is checked at open; a corrupt one is moved aside (kept for
 * the technician, never deleted) and a fresh one is opened, with the fault
 * reported. Schema version in PRAGMA user_version, with migrations.
 *
 * Not here: encryption (envelope.h), upload (uploader), what to show.
 *
 * Errors: 0 or a negative enum queue_error; `err` gets a sentence a
 * technician can act on. QUEUE_E_FULL is the disk-full case.
 */
#ifndef HOMTHU_QUEUE_H
#define HOMTHU_QUEUE_H

#include <stddef.h>
#include <stdint.h>

#include "core/envelope.h"

#define QUEUE_DB_NAME "queue.db"
#define QUEUE_SCHEMA_VERSION 2

/*
 * Every time the queue stores (created, sealed, the last delivery) is
 * rounded down to a multiple of this: enough for "undelivered for N days"
 * and "oldest waiting", too coarse to point at one visitor. An age read
 * from these times is up to this much older than the truth.
 */
#define QUEUE_TIME_GRAIN_S (6 * 3600)

/* t rounded down to QUEUE_TIME_GRAIN_S (0 for t <= 0). */
int64_t queue_coarse_time(int64_t t);

enum queue_error {
    QUEUE_OK = 0,
    QUEUE_E_ARG = -1,
    QUEUE_E_IO = -2,      /* SQLite or file system error */
    QUEUE_E_FULL = -3,    /* no space left on the data partition */
    QUEUE_E_NOTFOUND = -4,
    QUEUE_E_STATE = -5,   /* wrong state for this operation */
    QUEUE_E_CORRUPT = -6, /* could not recover from corruption */
    QUEUE_E_SCHEMA = -7,  /* database from a newer version of the software */
};

enum queue_state {
    QUEUE_RECORDING = 0,
    QUEUE_SEALED = 1,
    QUEUE_UPLOADING = 2,
    QUEUE_DELIVERED = 3, /* transient: no stored tip is left in this state */
    QUEUE_PURGED = 4,    /* delivered and forgotten: only counted */
};
#define QUEUE_NSTATES 5

/* Stable lowercase names: "recording", "sealed", ... */
const char *queue_state_name(int state);

/* Faults found while opening (bit flags in queue_open's *faults). */
enum queue_fault {
    QUEUE_FAULT_RECREATED = 1, /* corrupt database moved aside, fresh one opened */
};

struct queue;

/*
 * Open (creating if needed) dir/queue.db. On corruption the old files are
 * renamed to queue.db.corrupt-N (with -wal/-shm) and a fresh queue opened:
 * returns 0 with QUEUE_FAULT_RECREATED in *faults and the reason in err.
 * Caller closes with queue_close().
 */
int queue_open(struct queue **out, const char *dir, unsigned *faults, char *err, size_t errlen)
    __attribute__((warn_unused_result));
void queue_close(struct queue *q); /* NULL is a no-op */

/*
 * Open an existing dir/queue.db for reading only (the technician's
 * inspector, possibly while the kiosk runs): never creates, migrates,
 * moves aside or writes anything. QUEUE_E_NOTFOUND when there is no
 * queue in `dir`. Caller closes with queue_close(); write calls fail.
 */
int queue_open_readonly(struct queue **out, const char *dir, char *err, size_t errlen)
    __attribute__((warn_unused_result));

/* ---- the writing side ---- */

/* A new tip in state recording, holding its clear header. `now` is
 * stored rounded down to QUEUE_TIME_GRAIN_S. */
int queue_begin_tip(struct queue *q, const uint8_t id[16], const uint8_t *header, size_t len,
                    int64_t now, int clock_trusted, char *err, size_t errlen)
    __attribute__((warn_unused_result));
/* Commit chunk `index` (must be the next one) durably. */
int queue_put_chunk(struct queue *q, const uint8_t id[16], uint32_t index,
                    const uint8_t *bytes, size_t len, char *err, size_t errlen)
    __attribute__((warn_unused_result));
/* Store the trailer; recording → sealed. `cut_short` marks a recovered tip.
 * `now` is stored rounded down to QUEUE_TIME_GRAIN_S. */
int queue_seal_tip(struct queue *q, const uint8_t id[16], const uint8_t *trailer, size_t len,
                   int cut_short, int64_t now, char *err, size_t errlen)
    __attribute__((warn_unused_result));
/* Delete a tip still recording (the person walked away): nothing stays. */
int queue_discard_tip(struct queue *q, const uint8_t id[16], char *err, size_t errlen)
    __attribute__((warn_unused_result));

/*
 * An envelope_sink_fn that stores pieces into the queue. ctx is a
 * struct queue_sink the caller keeps alive while the writer runs.
 */
struct queue_sink {
    struct queue *q;
    int64_t now;
    int clock_trusted;
    int last_error; /* queue_error of the last failure, for the caller */
    char err[256];
    uint8_t tip_id[16]; /* set by the sink from the header piece; caller need not */
};
int queue_envelope_sink(void *ctx, enum envelope_piece kind, uint32_t index,
                        const uint8_t *bytes, size_t len);

/*
 * After a crash or power cut: every tip left recording with at least one
 * chunk is sealed "cut short" with a trailer signed by device_sk; one with
 * no chunk holds nothing of the person and is deleted. *recovered counts
 * the sealed ones, *dropped the deleted ones (either may be NULL). Call
 * once at start, before any tip begins: it seals every recording tip.
 * A tip this key cannot sign for (another kiosk's) stays recording; the
 * others are still recovered and the first failure is returned.
 */
int queue_recover(struct queue *q, const uint8_t device_sk[64], int64_t now, int *recovered,
                  int *dropped, char *err, size_t errlen) __attribute__((warn_unused_result));

/* ---- the sending side ---- */

struct queue_tip {
    uint8_t id[16];
    int state;
    int cut_short;
    uint32_t chunks;
    uint64_t bytes;          /* envelope bytes stored (whole envelope once sealed) */
    uint64_t upload_offset;  /* bytes the server acknowledged */
    /* Wall clock rounded down to QUEUE_TIME_GRAIN_S (see clock_trusted):
     * at start, at sealing (0 until then), at delivery (0 until then). */
    int64_t created;
    int clock_trusted;
    int64_t sealed, delivered;
};

/* Oldest tip sealed or uploading (insertion order, never the clock);
 * QUEUE_E_NOTFOUND when none is waiting. */
int queue_next_to_send(struct queue *q, struct queue_tip *out)
    __attribute__((warn_unused_result));
/*
 * A tip in the queue. A tip delivered through this handle since it was
 * opened reads as QUEUE_PURGED (bytes 0, `delivered` set, remembered in
 * memory only, the last 1024); any other delivered tip is gone from the
 * card: QUEUE_E_NOTFOUND.
 */
int queue_get_tip(struct queue *q, const uint8_t id[16], struct queue_tip *out)
    __attribute__((warn_unused_result));
/* Envelope bytes [offset, offset+cap) of a sealed tip into buf; *got set. */
int queue_read(struct queue *q, const uint8_t id[16], uint64_t offset, uint8_t *buf,
               size_t cap, size_t *got, char *err, size_t errlen)
    __attribute__((warn_unused_result));
int queue_set_uploading(struct queue *q, const uint8_t id[16], uint64_t offset, char *err,
                        size_t errlen) __attribute__((warn_unused_result));
/*
 * The post side holds and has checked the whole envelope: the tip is
 * forgotten at once, in one transaction — its row, header, chunks and
 * trailer deleted (zeroed), the delivered counters raised, the last
 * delivery time set (rounded down) — and the WAL checkpointed so the old
 * pages leave the card. On failure (QUEUE_E_FULL…) nothing changed.
 */
int queue_set_delivered(struct queue *q, const uint8_t id[16], int64_t now, char *err,
                        size_t errlen) __attribute__((warn_unused_result));
/*
 * Kept for the callers that mark delivered then purge: delivery already
 * deleted everything. *purged is the number of tips delivered through
 * this handle since the last call; rows an older version left delivered
 * or purged are deleted too (the open's migration normally did).
 */
int queue_purge_delivered(struct queue *q, int *purged, char *err, size_t errlen)
    __attribute__((warn_unused_result));

/* Visit every tip still on the card, oldest first (delivered ones are
 * gone); stop early when fn returns non-zero. */
int queue_foreach(struct queue *q, int (*fn)(void *ctx, const struct queue_tip *t), void *ctx)
    __attribute__((warn_unused_result));

struct queue_stats {
    /* Tips on the card by state; count[QUEUE_PURGED] is every tip ever
     * delivered (from the counters: their rows are gone), with bytes 0,
     * and count[QUEUE_DELIVERED] is 0. */
    uint32_t count[QUEUE_NSTATES];
    uint64_t bytes[QUEUE_NSTATES];
    uint32_t cut_short;
    int64_t oldest_waiting;   /* created (coarse) of the oldest sealed/uploading tip, 0 if none */
    uint64_t delivered_bytes; /* envelope bytes of every tip ever delivered */
    int64_t last_delivered;   /* time of the last delivery (coarse), 0 if none */
    uint64_t db_bytes;        /* queue.db + WAL on disk */
};
int queue_stats(struct queue *q, struct queue_stats *out) __attribute__((warn_unused_result));

/* Run PRAGMA integrity_check now; 0 when the database is sound. */
int queue_check(struct queue *q, char *err, size_t errlen) __attribute__((warn_unused_result));

#endif
