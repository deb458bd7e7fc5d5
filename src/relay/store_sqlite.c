/*
 * The relay's store in SQLite: one file beside the relay (store.h).
 *
 * WAL with synchronous = FULL: a commit is on the disk before the relay
 * answers (a tip the relay called verified is one the kiosk deletes).
 * Three connections: the writer, a reader that never waits for a flush
 * in progress, and a checkpointer with a thread of its own, so that the
 * writer's commit costs one flush and never copies the log itself.
 */
#include "relay/store.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "core/errbuf.h"

#define SCHEMA_VERSION 2 /* 2: the heartbeat table */

struct sq {
    struct store base;
    sqlite3 *db;   /* the writer */
    sqlite3 *rdb;  /* the reader (WAL: sees the last commit); NULL for ":memory:" */
    sqlite3 *ckdb; /* checkpoints; NULL for ":memory:" */
    pthread_t checkpointer;
    int ck_on, ck_wanted, ck_stop;
    pthread_mutex_t ck_lock;
    pthread_cond_t ck_cond;
    void (*log)(void *ctx, const char *line);
    void *log_ctx;
};

static struct sq *sq_of(struct store *s)
{
    return (struct sq *)s;
}

static void sq_say(struct sq *q, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sq_say(struct sq *q, const char *fmt, ...)
{
    if (!q->log)
        return;
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    q->log(q->log_ctx, line);
}

static const char SCHEMA[] =
    "CREATE TABLE upload("
    " id BLOB PRIMARY KEY CHECK(length(id) = 16)," /* the tip id */
    " device BLOB NOT NULL CHECK(length(device) = 32),"
    " length INTEGER NOT NULL,"          /* Upload-Length */
    " got INTEGER NOT NULL DEFAULT 0,"   /* Upload-Offset: bytes committed */
    " state INTEGER NOT NULL DEFAULT 0," /* 0 partial, 1 complete, 2 cut short, 3 refused */
    " created INTEGER NOT NULL,"         /* relay clock, Unix seconds */
    " updated INTEGER NOT NULL,"         /* last bytes received: expiry counts from here */
    " received INTEGER,"                 /* when the last byte arrived */
    " cursor INTEGER UNIQUE,"            /* the post's order; set when verified */
    " kiosk TEXT,"                       /* registry id of the uploader */
    " reason TEXT,"                      /* why it was refused */
    " fetched INTEGER,"                  /* when the post said it holds it */
    " purged INTEGER);"                  /* when its bytes were deleted (row kept) */
    "CREATE INDEX upload_device ON upload(device);"
    "CREATE TABLE part(upload BLOB NOT NULL, off INTEGER NOT NULL, data BLOB NOT NULL);"
    "CREATE UNIQUE INDEX part_at ON part(upload, off);"
    "PRAGMA user_version = 1;";

/*
 * Schema 2: the latest heartbeat of each kiosk, sealed to the post as it
 * came (the relay cannot read it), with the relay's time of arrival. A new
 * one replaces the kiosk's last and takes the next cursor.
 */
static const char SCHEMA_2[] =
    "CREATE TABLE heartbeat("
    " device BLOB PRIMARY KEY CHECK(length(device) = 32),"
    " kiosk TEXT NOT NULL,"
    " received INTEGER NOT NULL," /* relay clock */
    " cursor INTEGER NOT NULL UNIQUE,"
    " blob BLOB NOT NULL);"
    "PRAGMA user_version = 2;";

static const char UPLOAD_COLUMNS[] =
    "id, device, length, got, state, created, updated, received, cursor, kiosk, reason, "
    "fetched, purged";

static int64_t col_i64(sqlite3_stmt *st, int i)
{
    return sqlite3_column_type(st, i) == SQLITE_NULL ? 0 : sqlite3_column_int64(st, i);
}

static void upload_row(sqlite3_stmt *st, struct store_upload *u)
{
    memset(u, 0, sizeof *u);
    if (sqlite3_column_bytes(st, 0) == 16)
        memcpy(u->id, sqlite3_column_blob(st, 0), 16);
    if (sqlite3_column_bytes(st, 1) == 32)
        memcpy(u->device, sqlite3_column_blob(st, 1), 32);
    u->length = (uint64_t)sqlite3_column_int64(st, 2);
    u->got = (uint64_t)sqlite3_column_int64(st, 3);
    u->state = sqlite3_column_int(st, 4);
    u->created = col_i64(st, 5);
    u->updated = col_i64(st, 6);
    u->received = col_i64(st, 7);
    u->cursor = col_i64(st, 8);
    const unsigned char *k = sqlite3_column_text(st, 9);
    snprintf(u->kiosk, sizeof u->kiosk, "%s", k ? (const char *)k : "");
    const unsigned char *why = sqlite3_column_text(st, 10);
    snprintf(u->reason, sizeof u->reason, "%s", why ? (const char *)why : "");
    u->fetched = col_i64(st, 11);
    u->purged = col_i64(st, 12);
}

static int exec(sqlite3 *db, const char *sql)
{
    return sqlite3_exec(db, sql, NULL, NULL, NULL) == SQLITE_OK ? 0 : -1;
}

/* ---- transactions ---- */

static const char *sq_errmsg(struct store *s)
{
    return sqlite3_errmsg(sq_of(s)->db);
}

static int sq_begin(struct store *s)
{
    return exec(sq_of(s)->db, "BEGIN IMMEDIATE");
}

static int sq_commit(struct store *s)
{
    return exec(sq_of(s)->db, "COMMIT");
}

static void sq_rollback(struct store *s)
{
    exec(sq_of(s)->db, "ROLLBACK");
}

static int sq_savepoint(struct store *s)
{
    return exec(sq_of(s)->db, "SAVEPOINT job");
}

static void sq_rollback_to(struct store *s)
{
    exec(sq_of(s)->db, "ROLLBACK TO job");
}

static void sq_release(struct store *s)
{
    exec(sq_of(s)->db, "RELEASE job");
}

/* ---- uploads ---- */

static int sq_upload_get(struct store *s, int reader, const uint8_t id[16], struct store_upload *u)
{
    struct sq *q = sq_of(s);
    sqlite3 *db = reader && q->rdb ? q->rdb : q->db;
    char sql[256];
    sqlite3_stmt *st = NULL;
    snprintf(sql, sizeof sql, "SELECT %s FROM upload WHERE id = ?", UPLOAD_COLUMNS);
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
        return -1;
    sqlite3_bind_blob(st, 1, id, 16, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        upload_row(st, u);
        rc = 1;
    } else {
        rc = rc == SQLITE_DONE ? 0 : -1;
    }
    sqlite3_finalize(st);
    return rc;
}

static int sq_upload_delete(struct store *s, const uint8_t id[16])
{
    sqlite3 *db = sq_of(s)->db;
    sqlite3_stmt *st;
    int own = sqlite3_get_autocommit(db) && exec(db, "BEGIN IMMEDIATE") == 0, rc = 0;
    static const char *const sql[] = {"DELETE FROM part WHERE upload = ?",
                                      "DELETE FROM upload WHERE id = ?"};
    for (int i = 0; i < 2 && rc == 0; i++) {
        if (sqlite3_prepare_v2(db, sql[i], -1, &st, NULL) != SQLITE_OK) {
            rc = -1;
            break;
        }
        sqlite3_bind_blob(st, 1, id, 16, SQLITE_STATIC);
        if (sqlite3_step(st) != SQLITE_DONE)
            rc = -1;
        sqlite3_finalize(st);
    }
    if (own) {
        if (rc == 0 && exec(db, "COMMIT") == 0)
            return 0;
        exec(db, "ROLLBACK");
        return -1;
    }
    return rc;
}

static int sq_device_held(struct store *s, const uint8_t device[32], const uint8_t except[16],
                          uint64_t *held)
{
    sqlite3_stmt *st = NULL;
    int rc = -1;
    if (sqlite3_prepare_v2(sq_of(s)->db,
                           "SELECT coalesce(sum(length), 0) FROM upload"
                           " WHERE device = ? AND fetched IS NULL AND purged IS NULL"
                           " AND id <> ?",
                           -1, &st, NULL) == SQLITE_OK) {
        sqlite3_bind_blob(st, 1, device, 32, SQLITE_STATIC);
        sqlite3_bind_blob(st, 2, except, 16, SQLITE_STATIC);
        if (sqlite3_step(st) == SQLITE_ROW) {
            *held = (uint64_t)sqlite3_column_int64(st, 0);
            rc = 0;
        }
    }
    sqlite3_finalize(st);
    return rc;
}

static int sq_upload_insert(struct store *s, const uint8_t id[16], const uint8_t device[32],
                            uint64_t length, int64_t t, const char *kiosk, const char *post)
{
    (void)post; /* one post */
    sqlite3_stmt *st = NULL;
    int rc = -1;
    if (sqlite3_prepare_v2(sq_of(s)->db,
                           "INSERT INTO upload(id, device, length, created, updated, kiosk)"
                           " VALUES(?, ?, ?, ?, ?, ?)",
                           -1, &st, NULL) == SQLITE_OK) {
        sqlite3_bind_blob(st, 1, id, 16, SQLITE_STATIC);
        sqlite3_bind_blob(st, 2, device, 32, SQLITE_STATIC);
        sqlite3_bind_int64(st, 3, (sqlite3_int64)length);
        sqlite3_bind_int64(st, 4, t);
        sqlite3_bind_int64(st, 5, t);
        sqlite3_bind_text(st, 6, kiosk, -1, SQLITE_STATIC);
        rc = sqlite3_step(st) == SQLITE_DONE ? 0 : -1;
    }
    sqlite3_finalize(st);
    return rc;
}

static int sq_part_append(struct store *s, const uint8_t id[16], uint64_t at, const uint8_t *data,
                          size_t n, int64_t t)
{
    sqlite3 *db = sq_of(s)->db;
    sqlite3_stmt *st = NULL;
    int rc = -1;
    if (sqlite3_prepare_v2(db, "INSERT INTO part(upload, off, data) VALUES(?, ?, ?)", -1, &st,
                           NULL) != SQLITE_OK)
        goto out;
    sqlite3_bind_blob(st, 1, id, 16, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, (sqlite3_int64)at);
    sqlite3_bind_blob(st, 3, data, (int)n, SQLITE_STATIC);
    if (sqlite3_step(st) != SQLITE_DONE)
        goto out;
    sqlite3_finalize(st);
    st = NULL;
    if (sqlite3_prepare_v2(db, "UPDATE upload SET got = ?, updated = ? WHERE id = ?", -1, &st,
                           NULL) != SQLITE_OK)
        goto out;
    sqlite3_bind_int64(st, 1, (sqlite3_int64)(at + n));
    sqlite3_bind_int64(st, 2, t);
    sqlite3_bind_blob(st, 3, id, 16, SQLITE_STATIC);
    rc = sqlite3_step(st) == SQLITE_DONE ? 0 : -1;
out:
    sqlite3_finalize(st);
    return rc;
}

static int sq_upload_settle(struct store *s, const uint8_t id[16], int state, int64_t t,
                            const char *why, int64_t *cursor)
{
    sqlite3 *db = sq_of(s)->db;
    sqlite3_stmt *st = NULL;
    int rc = -1;
    *cursor = 0;
    if (state != STORE_REJECTED) {
        if (sqlite3_prepare_v2(db, "SELECT coalesce(max(cursor), 0) + 1 FROM upload", -1, &st,
                               NULL) != SQLITE_OK ||
            sqlite3_step(st) != SQLITE_ROW)
            goto out;
        *cursor = sqlite3_column_int64(st, 0);
        sqlite3_finalize(st);
        st = NULL;
    }
    if (sqlite3_prepare_v2(db,
                           "UPDATE upload SET state = ?, received = ?, cursor = ?, reason = ?"
                           " WHERE id = ?",
                           -1, &st, NULL) != SQLITE_OK)
        goto out;
    sqlite3_bind_int(st, 1, state);
    sqlite3_bind_int64(st, 2, t);
    if (*cursor)
        sqlite3_bind_int64(st, 3, *cursor);
    else
        sqlite3_bind_null(st, 3);
    if (state == STORE_REJECTED)
        sqlite3_bind_text(st, 4, why ? why : "", -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(st, 4);
    sqlite3_bind_blob(st, 5, id, 16, SQLITE_STATIC);
    rc = sqlite3_step(st) == SQLITE_DONE ? 0 : -1;
out:
    sqlite3_finalize(st);
    return rc;
}

static int sq_read_parts(struct store *s, int reader, const uint8_t id[16], uint8_t *out,
                         uint64_t n)
{
    struct sq *q = sq_of(s);
    sqlite3 *db = reader && q->rdb ? q->rdb : q->db;
    sqlite3_stmt *st = NULL;
    uint64_t at = 0;
    int rc = -1, step;
    if (sqlite3_prepare_v2(db, "SELECT off, data FROM part WHERE upload = ? AND off < ? ORDER BY off",
                           -1, &st, NULL) != SQLITE_OK)
        return -1;
    sqlite3_bind_blob(st, 1, id, 16, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, (sqlite3_int64)n);
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        uint64_t off = (uint64_t)sqlite3_column_int64(st, 0);
        size_t k = (size_t)sqlite3_column_bytes(st, 1);
        if (off != at || k > n - at) {
            rc = -2;
            goto out;
        }
        if (k)
            memcpy(out + at, sqlite3_column_blob(st, 1), k);
        at += k;
    }
    if (step == SQLITE_DONE)
        rc = at == n ? 0 : -2;
out:
    sqlite3_finalize(st);
    return rc;
}

static int sq_upload_fetched(struct store *s, const uint8_t id[16], int64_t t)
{
    sqlite3_stmt *st = NULL;
    int rc = -1;
    if (sqlite3_prepare_v2(sq_of(s)->db, "UPDATE upload SET fetched = ? WHERE id = ?", -1, &st,
                           NULL) == SQLITE_OK) {
        sqlite3_bind_int64(st, 1, t);
        sqlite3_bind_blob(st, 2, id, 16, SQLITE_STATIC);
        rc = sqlite3_step(st) == SQLITE_DONE ? 0 : -1;
    }
    sqlite3_finalize(st);
    return rc;
}

static int sq_tips_list(struct store *s, const char *post, int64_t after, int64_t limit,
                        store_tip_fn fn, void *ctx)
{
    (void)post; /* one post */
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(sq_of(s)->db,
                           "SELECT id, cursor, length, received, kiosk, state FROM upload"
                           " WHERE cursor > ? AND state IN (1, 2) AND purged IS NULL"
                           " ORDER BY cursor LIMIT ?",
                           -1, &st, NULL) != SQLITE_OK)
        return -1;
    sqlite3_bind_int64(st, 1, after);
    sqlite3_bind_int64(st, 2, limit);
    int step;
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        struct store_tip t;
        memset(&t, 0, sizeof t);
        if (sqlite3_column_bytes(st, 0) == 16)
            memcpy(t.id, sqlite3_column_blob(st, 0), 16);
        t.cursor = sqlite3_column_int64(st, 1);
        t.length = (uint64_t)sqlite3_column_int64(st, 2);
        t.received = sqlite3_column_int64(st, 3);
        const unsigned char *k = sqlite3_column_text(st, 4);
        snprintf(t.kiosk, sizeof t.kiosk, "%s", k ? (const char *)k : "");
        t.state = sqlite3_column_int(st, 5);
        if (fn(ctx, &t)) {
            step = SQLITE_DONE;
            break;
        }
    }
    sqlite3_finalize(st);
    return step == SQLITE_DONE ? 0 : -1;
}

/* ---- heartbeats ---- */

static int sq_beat_put(struct store *s, const char *post, const uint8_t device[32],
                       const char *kiosk, int64_t t, const uint8_t *blob, size_t n)
{
    (void)post; /* one post */
    sqlite3_stmt *st = NULL;
    int rc = -1;
    if (sqlite3_prepare_v2(sq_of(s)->db,
                           "INSERT OR REPLACE INTO heartbeat(device, kiosk, received, cursor, blob)"
                           " VALUES (?, ?, ?, (SELECT COALESCE(MAX(cursor), 0) + 1 FROM heartbeat),"
                           " ?)",
                           -1, &st, NULL) == SQLITE_OK) {
        sqlite3_bind_blob(st, 1, device, 32, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, kiosk, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 3, t);
        sqlite3_bind_blob(st, 4, blob, (int)n, SQLITE_STATIC);
        rc = sqlite3_step(st) == SQLITE_DONE ? 0 : -1;
    }
    sqlite3_finalize(st);
    return rc;
}

static int sq_beats_list(struct store *s, const char *post, int64_t after, int64_t limit,
                         store_beat_fn fn, void *ctx)
{
    (void)post; /* one post */
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(sq_of(s)->db,
                           "SELECT device, kiosk, received, cursor, blob FROM heartbeat"
                           " WHERE cursor > ? ORDER BY cursor LIMIT ?",
                           -1, &st, NULL) != SQLITE_OK)
        return -1;
    sqlite3_bind_int64(st, 1, after);
    sqlite3_bind_int64(st, 2, limit);
    int step;
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        struct store_beat b;
        memset(&b, 0, sizeof b);
        if (sqlite3_column_bytes(st, 0) != 32)
            continue; /* the table's CHECK makes this impossible */
        memcpy(b.device, sqlite3_column_blob(st, 0), 32);
        const unsigned char *k = sqlite3_column_text(st, 1);
        snprintf(b.kiosk, sizeof b.kiosk, "%s", k ? (const char *)k : "");
        b.received = sqlite3_column_int64(st, 2);
        b.cursor = sqlite3_column_int64(st, 3);
        b.blob = sqlite3_column_blob(st, 4);
        b.blob_len = (size_t)sqlite3_column_bytes(st, 4);
        if (fn(ctx, &b)) {
            step = SQLITE_DONE;
            break;
        }
    }
    sqlite3_finalize(st);
    return step == SQLITE_DONE ? 0 : -1;
}

/* ---- housekeeping ---- */

static int sq_partial_before(struct store *s, int64_t before, uint8_t (**ids)[16], size_t *n)
{
    sqlite3_stmt *st = NULL;
    size_t cap = 0;
    *ids = NULL;
    *n = 0;
    if (sqlite3_prepare_v2(sq_of(s)->db, "SELECT id FROM upload WHERE state = 0 AND updated <= ?",
                           -1, &st, NULL) != SQLITE_OK)
        return -1;
    sqlite3_bind_int64(st, 1, before);
    int step;
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        if (sqlite3_column_bytes(st, 0) != 16)
            continue;
        if (*n == cap) {
            cap = cap ? cap * 2 : 16;
            void *nv = realloc(*ids, cap * 16);
            if (!nv)
                break; /* the rest waits for the next sweep */
            *ids = nv;
        }
        memcpy((*ids)[(*n)++], sqlite3_column_blob(st, 0), 16);
    }
    sqlite3_finalize(st);
    return step == SQLITE_ROW || step == SQLITE_DONE ? 0 : -1;
}

static int sq_purge(struct store *s, int64_t t, int64_t fetched_before, int64_t refused_before,
                    int purged[2])
{
    sqlite3 *db = sq_of(s)->db;
    sqlite3_stmt *st = NULL;
    static const char *const sql[] = {
        "UPDATE upload SET purged = ?1 WHERE purged IS NULL AND fetched IS NOT NULL"
        " AND fetched <= ?2",
        "UPDATE upload SET purged = ?1 WHERE purged IS NULL AND state = 3 AND received <= ?2",
    };
    purged[0] = purged[1] = 0;
    if (exec(db, "BEGIN IMMEDIATE"))
        return -1;
    for (int i = 0; i < 2; i++) {
        if (sqlite3_prepare_v2(db, sql[i], -1, &st, NULL) != SQLITE_OK)
            goto rollback;
        sqlite3_bind_int64(st, 1, t);
        sqlite3_bind_int64(st, 2, i == 0 ? fetched_before : refused_before);
        if (sqlite3_step(st) != SQLITE_DONE)
            goto rollback;
        purged[i] = sqlite3_changes(db);
        sqlite3_finalize(st);
        st = NULL;
    }
    if (exec(db, "DELETE FROM part WHERE upload IN (SELECT id FROM upload WHERE purged IS NOT "
                 "NULL)") ||
        exec(db, "COMMIT"))
        goto rollback;
    /* Incremental vacuum gives the space of fetched tips back to the disk. */
    if (purged[0] + purged[1])
        exec(db, "PRAGMA incremental_vacuum");
    return 0;
rollback:
    sqlite3_finalize(st);
    exec(db, "ROLLBACK");
    purged[0] = purged[1] = 0;
    return -1;
}

/* ---- checkpoints ---- */

/* SQLite's own threshold for its automatic checkpoints: about 4 MB of log. */
#define CHECKPOINT_PAGES 1000

/* After each commit of the writer: wake the checkpointer once the log is long. */
static int wal_grew(void *arg, sqlite3 *db, const char *name, int pages)
{
    (void)db;
    (void)name;
    struct sq *q = arg;
    if (pages >= CHECKPOINT_PAGES) {
        pthread_mutex_lock(&q->ck_lock);
        q->ck_wanted = 1;
        pthread_cond_signal(&q->ck_cond);
        pthread_mutex_unlock(&q->ck_lock);
    }
    return SQLITE_OK;
}

static void *checkpointer_main(void *arg)
{
    struct sq *q = arg;
    pthread_mutex_lock(&q->ck_lock);
    for (;;) {
        while (!q->ck_wanted && !q->ck_stop)
            pthread_cond_wait(&q->ck_cond, &q->ck_lock);
        if (q->ck_stop)
            break;
        q->ck_wanted = 0;
        pthread_mutex_unlock(&q->ck_lock);
        /* Passive: copies what it can without ever holding the writer up. */
        if (sqlite3_wal_checkpoint_v2(q->ckdb, NULL, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL) !=
            SQLITE_OK)
            sq_say(q, "store: checkpoint failed: %s", sqlite3_errmsg(q->ckdb));
        pthread_mutex_lock(&q->ck_lock);
    }
    pthread_mutex_unlock(&q->ck_lock);
    return NULL;
}

static void sq_close(struct store *s)
{
    struct sq *q = sq_of(s);
    if (!q)
        return;
    if (q->ck_on) {
        pthread_mutex_lock(&q->ck_lock);
        q->ck_stop = 1;
        pthread_cond_signal(&q->ck_cond);
        pthread_mutex_unlock(&q->ck_lock);
        pthread_join(q->checkpointer, NULL);
    }
    if (q->ckdb)
        sqlite3_close(q->ckdb);
    if (q->rdb)
        sqlite3_close(q->rdb);
    if (q->db)
        sqlite3_close(q->db);
    pthread_mutex_destroy(&q->ck_lock);
    pthread_cond_destroy(&q->ck_cond);
    free(q);
}

static const struct store_ops SQLITE_OPS = {
    .close = sq_close,
    .errmsg = sq_errmsg,
    .begin = sq_begin,
    .commit = sq_commit,
    .rollback = sq_rollback,
    .savepoint = sq_savepoint,
    .rollback_to = sq_rollback_to,
    .release = sq_release,
    .upload_get = sq_upload_get,
    .upload_delete = sq_upload_delete,
    .device_held = sq_device_held,
    .upload_insert = sq_upload_insert,
    .part_append = sq_part_append,
    .upload_settle = sq_upload_settle,
    .read_parts = sq_read_parts,
    .upload_fetched = sq_upload_fetched,
    .tips_list = sq_tips_list,
    .beat_put = sq_beat_put,
    .beats_list = sq_beats_list,
    .partial_before = sq_partial_before,
    .purge = sq_purge,
};

#define set_err(err, errlen, ...) ((void)errbuf_say((err), (errlen), 0, __VA_ARGS__))

static int open_store(struct sq *q, const char *path, char *err, size_t errlen)
{
    sqlite3_stmt *st = NULL;
    int memory = strcmp(path, ":memory:") == 0;
    if (sqlite3_open_v2(path, &q->db,
                        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                        NULL) != SQLITE_OK) {
        set_err(err, errlen,
                "cannot open the relay's store %s: %s (check the folder exists and "
                "is writable by the relay)",
                path, q->db ? sqlite3_errmsg(q->db) : "out of memory");
        return -1;
    }
    sqlite3_busy_timeout(q->db, 5000);
    /* A tip the relay called verified is one the kiosk deletes: commits reach the disk. */
    if (sqlite3_prepare_v2(q->db, "PRAGMA journal_mode = WAL", -1, &st, NULL) != SQLITE_OK ||
        sqlite3_step(st) != SQLITE_ROW)
        goto damaged;
    const char *mode = (const char *)sqlite3_column_text(st, 0);
    if (!mode || (strcmp(mode, "wal") != 0 && !(memory && strcmp(mode, "memory") == 0))) {
        set_err(err, errlen, "%s: cannot switch to WAL mode (is it on a network file system?)",
                path);
        sqlite3_finalize(st);
        return -1;
    }
    sqlite3_finalize(st);
    st = NULL;
    if (sqlite3_exec(q->db, "PRAGMA synchronous = FULL", NULL, NULL, NULL) != SQLITE_OK)
        goto damaged;
    if (sqlite3_prepare_v2(q->db,
                           "SELECT (SELECT user_version FROM pragma_user_version),"
                           " (SELECT count(*) FROM sqlite_master)",
                           -1, &st, NULL) != SQLITE_OK ||
        sqlite3_step(st) != SQLITE_ROW)
        goto damaged;
    int version = sqlite3_column_int(st, 0), tables = sqlite3_column_int(st, 1);
    sqlite3_finalize(st);
    st = NULL;
    if (version > SCHEMA_VERSION) {
        set_err(err, errlen, "%s was made by a newer homthu-relay (schema %d): update the relay",
                path, version);
        return -1;
    }
    if (version == 0 && tables) {
        set_err(err, errlen, "%s is not a homthu relay store: check database in relay.conf", path);
        return -1;
    }
    if (version == 0) {
        /* Incremental vacuum gives the space of fetched tips back to the disk. */
        if (sqlite3_exec(q->db, "PRAGMA auto_vacuum = INCREMENTAL", NULL, NULL, NULL) !=
                SQLITE_OK ||
            sqlite3_exec(q->db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK ||
            sqlite3_exec(q->db, SCHEMA, NULL, NULL, NULL) != SQLITE_OK ||
            sqlite3_exec(q->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
            goto damaged;
        version = 1;
    }
    if (version == 1) {
        /* A store of an older relay gains the heartbeat table; nothing else changes. */
        if (sqlite3_exec(q->db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK ||
            sqlite3_exec(q->db, SCHEMA_2, NULL, NULL, NULL) != SQLITE_OK ||
            sqlite3_exec(q->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
            goto damaged;
    }
    if (!memory) {
        if (sqlite3_open_v2(path, &q->rdb, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, NULL) !=
            SQLITE_OK)
            goto damaged;
        sqlite3_busy_timeout(q->rdb, 5000);
        if (sqlite3_open_v2(path, &q->ckdb, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL) !=
                SQLITE_OK ||
            sqlite3_exec(q->db, "PRAGMA wal_autocheckpoint = 0", NULL, NULL, NULL) != SQLITE_OK)
            goto damaged;
        sqlite3_busy_timeout(q->ckdb, 5000);
        sqlite3_wal_hook(q->db, wal_grew, q);
    }
    return 0;
damaged:
    set_err(err, errlen, "%s: %s (is it damaged? restore it from a backup, see docs/relay.md)",
            path, sqlite3_errmsg(q->db));
    sqlite3_finalize(st);
    return -1;
}


int store_sqlite_open(struct store **out, const char *path, void (*log)(void *ctx, const char *line),
                      void *log_ctx, char *err, size_t errlen)
{
    *out = NULL;
    struct sq *q = calloc(1, sizeof *q);
    if (!q) {
        set_err(err, errlen, "relay: out of memory");
        return -1;
    }
    q->base.ops = &SQLITE_OPS;
    q->log = log;
    q->log_ctx = log_ctx;
    pthread_mutex_init(&q->ck_lock, NULL);
    pthread_cond_init(&q->ck_cond, NULL);
    if (open_store(q, path, err, errlen)) {
        sq_close(&q->base);
        return -1;
    }
    q->base.has_reader = q->rdb != NULL;
    if (q->ckdb) {
        if (pthread_create(&q->checkpointer, NULL, checkpointer_main, q) != 0) {
            set_err(err, errlen, "relay: cannot start the checkpoint thread");
            sq_close(&q->base);
            return -1;
        }
        q->ck_on = 1;
    }
    *out = &q->base;
    return 0;
}
