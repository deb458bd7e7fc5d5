/*
 * The relay's store port: where uploads, tips and heartbeats are kept.
 *
 * The relay (relay.c) decides what a request means; the store only keeps
 * rows and bytes, in the transactions the relay opens. One implementation
 * today, SQLite (store_sqlite.c, a file beside the relay), behind a table
 * of functions, so that another database can stand where it stands
 * (issue 14: PostgreSQL for a province's several relay nodes) without the
 * protocol code changing.
 *
 * Threads: a store has a writer connection and, where it can, a reader
 * connection that never waits for a commit in progress. The relay guards
 * each with its own mutex (db_lock, rd_lock); a store function is called
 * with the matching one held. Everything that must be durable before it is
 * answered runs inside begin()/commit() on the writer.
 *
 * Returns: 0 (or 1 = found, for lookups) on success, -1 when the store
 * failed; errmsg() says why, for the log. Nothing here ever logs tip bytes.
 */
#ifndef HOMTHU_RELAY_STORE_H
#define HOMTHU_RELAY_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "core/registry.h"

#define STORE_POST_MAX 32 /* a post's name: [a-z0-9-], as a kiosk id */

enum store_state {
    STORE_PARTIAL = 0,
    STORE_COMPLETE = 1,
    STORE_CUT_SHORT = 2,
    STORE_REJECTED = 3, /* refused at completion (422); kept aside, never served */
};

/* One upload as it is kept. Times are the relay's clock, seconds; 0 = never. */
struct store_upload {
    uint8_t id[16];
    uint8_t device[32];
    uint64_t length, got;
    int state; /* enum store_state */
    int64_t created, updated, received, cursor, fetched, purged;
    char kiosk[33];
    char reason[256];
    char post[STORE_POST_MAX + 1]; /* whose tip ("" in a store of one post) */
};

/* A verified tip in the post's list. */
struct store_tip {
    uint8_t id[16];
    int64_t cursor, received;
    uint64_t length;
    int state;
    char kiosk[33];
};

/* A kiosk's latest heartbeat (sealed to the post: the relay cannot read it). */
struct store_beat {
    uint8_t device[32];
    char kiosk[33];
    int64_t received, cursor;
    const uint8_t *blob; /* borrowed for the callback */
    size_t blob_len;
};

typedef int (*store_tip_fn)(void *ctx, const struct store_tip *t);   /* non-zero stops */
typedef int (*store_beat_fn)(void *ctx, const struct store_beat *b); /* non-zero stops */

struct store;

struct store_ops {
    void (*close)(struct store *s);
    const char *(*errmsg)(struct store *s);

    /* The writer's transaction, and savepoints inside it (one job's writes). */
    int (*begin)(struct store *s);
    int (*commit)(struct store *s);
    void (*rollback)(struct store *s);
    int (*savepoint)(struct store *s);
    void (*rollback_to)(struct store *s);
    void (*release)(struct store *s);

    /*
     * The upload `id`: 1 with *u, 0 none, -1 failed. `reader`: through the
     * reader connection (rd_lock), else the writer's (db_lock).
     */
    int (*upload_get)(struct store *s, int reader, const uint8_t id[16], struct store_upload *u);
    /* The upload and its bytes go (in the caller's transaction, or in one of its own). */
    int (*upload_delete)(struct store *s, const uint8_t id[16]);
    /* Bytes of this device's uploads the post has not fetched, but `except`'s. */
    int (*device_held)(struct store *s, const uint8_t device[32], const uint8_t except[16],
                       uint64_t *held);
    int (*upload_insert)(struct store *s, const uint8_t id[16], const uint8_t device[32],
                         uint64_t length, int64_t t, const char *kiosk, const char *post);
    /* n bytes at offset `at`, and the upload then stands at at + n. */
    int (*part_append)(struct store *s, const uint8_t id[16], uint64_t at, const uint8_t *data,
                       size_t n, int64_t t);
    /*
     * The upload's verdict: its state, received at t, a refusal's reason.
     * A verified tip (complete, cut short) takes the next cursor of the
     * post's list (*cursor); a refused one none (0).
     */
    int (*upload_settle)(struct store *s, const uint8_t id[16], int state, int64_t t,
                         const char *why, int64_t *cursor);
    /*
     * Bytes [0, n) of upload `id` into out: 0, -1 failed, -2 when the
     * pieces kept do not join up into n bytes (damaged).
     */
    int (*read_parts)(struct store *s, int reader, const uint8_t id[16], uint8_t *out, uint64_t n);
    int (*upload_fetched)(struct store *s, const uint8_t id[16], int64_t t);

    /*
     * Post `post`'s verified tips with bytes, cursor > after, oldest first,
     * at most limit. (A store of one post keeps no post: "" names it.)
     */
    int (*tips_list)(struct store *s, const char *post, int64_t after, int64_t limit,
                     store_tip_fn fn, void *ctx);

    /* A kiosk's latest heartbeat replaces its last, with the next cursor. */
    int (*beat_put)(struct store *s, const char *post, const uint8_t device[32], const char *kiosk,
                    int64_t t, const uint8_t *blob, size_t n);
    int (*beats_list)(struct store *s, const char *post, int64_t after, int64_t limit,
                      store_beat_fn fn, void *ctx);

    /* Ids of partial uploads last touched at or before `before` (malloc'd). */
    int (*partial_before)(struct store *s, int64_t before, uint8_t (**ids)[16], size_t *n);
    /*
     * Housekeeping in a transaction of its own: the bytes of tips fetched
     * at or before `fetched_before` and of refused uploads received at or
     * before `refused_before` go (their rows stay: no second tip, ever).
     * purged[0], purged[1]: how many of each.
     */
    int (*purge)(struct store *s, int64_t t, int64_t fetched_before, int64_t refused_before,
                 int purged[2]);

    /*
     * What several relay nodes must share about kiosks' requests (NULL in
     * a store that serves one relay: it keeps this in its own memory).
     * Outside any transaction; each is one atomic statement, so two nodes
     * given the same request at once cannot both take it.
     *
     * rate_take: one more request of `key` in the minute starting at
     * `minute` (kind 0: the kiosk's rate; 1: its repeated HEADs). 1 taken,
     * 0 when `limit` were taken already, -1 failed.
     */
    int (*rate_take)(struct store *s, const uint8_t key[32], int kind, int64_t minute, int limit);
    /* Whether the request signed `h` by `key` was seen: 1, 0, -1 failed. */
    int (*mark_seen)(struct store *s, const uint8_t key[32], const uint8_t h[16]);
    /* Remember it until its ts leaves the window: 1 remembered, 0 it was already, -1 failed. */
    int (*mark_take)(struct store *s, const uint8_t key[32], const uint8_t h[16], int64_t ts);
    /* Forget marks dated before `ts_before` and minutes before `minute_before`. */
    int (*marks_expire)(struct store *s, int64_t ts_before, int64_t minute_before);

    /*
     * Posts and their kiosks, in a store that serves many posts (NULL in
     * one that serves one: relay.conf's post_token and the post's registry
     * file say it). Under the relay's auth lock, on the connection of the
     * shared requests. Codes as registry.h's.
     *
     * post_find: by token (its BLAKE2b-256) when token_hash, else by name:
     * 1 with the name and the key id of the post's public key, 0 none.
     */
    int (*post_find)(struct store *s, const uint8_t *token_hash, const char *name,
                     char out[STORE_POST_MAX + 1], uint8_t key_id[8]);
    /* 0, REGISTRY_E_EXISTS (the name or the token), -1. */
    int (*post_add)(struct store *s, const char *name, const uint8_t token_hash[32],
                    const uint8_t key_id[8], int64_t t);
    /* The kiosk of this key, and its post: 0, REGISTRY_E_NOTFOUND, -1. */
    int (*device_find)(struct store *s, const uint8_t pk[32], struct registry_entry *e,
                       char post[STORE_POST_MAX + 1]);
    /* The kiosk `id` of `post`: 0, REGISTRY_E_NOTFOUND, -1. */
    int (*device_get)(struct store *s, const char *post, const char *id, struct registry_entry *e);
    /* 0, REGISTRY_E_EXISTS (the id in this post, or the key anywhere), -1. */
    int (*device_enrol)(struct store *s, const char *post, const char *id, const uint8_t pk[32],
                        int64_t t);
    /* 0, REGISTRY_E_NOTFOUND, REGISTRY_E_REVOKED (already), -1. */
    int (*device_revoke)(struct store *s, const char *post, const char *id, const char *reason,
                         int64_t t);
};

struct store {
    const struct store_ops *ops;
    int has_reader; /* a reader connection apart from the writer's */
};

/*
 * Open the store `database` names: a PostgreSQL URL (postgresql://… or
 * postgres://…, libpq's own syntax, docs/relay.md) or a SQLite file.
 * 0, or -1 with the reason in err.
 */
int store_open(struct store **out, const char *database, void (*log)(void *ctx, const char *line),
               void *log_ctx, char *err, size_t errlen) __attribute__((warn_unused_result));

/* Whether `database` names a PostgreSQL database rather than a file. */
int store_is_postgresql(const char *database);

/*
 * PostgreSQL at `conninfo` (a URL or libpq's key=value form): the tables
 * are made when missing. Only when built with libpq (HOMTHU_HAVE_LIBPQ).
 */
int store_pg_open(struct store **out, const char *conninfo, char *err, size_t errlen)
    __attribute__((warn_unused_result));

/*
 * Open (make when missing) the SQLite store at `path` (":memory:" for
 * tests). `log` gets the store's own events (checkpoint failures).
 * 0, or -1 with the reason in err.
 */
int store_sqlite_open(struct store **out, const char *path, void (*log)(void *ctx, const char *line),
                      void *log_ctx, char *err, size_t errlen) __attribute__((warn_unused_result));

#endif
