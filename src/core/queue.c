/* queue — see queue.h and docs/queue.md. */
#include "core/queue.h"

#include <errno.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/durable.h"
#include "core/errbuf.h"

/* Where the tip id sits in the clear header (docs/envelope.md). */
#define HEADER_TIP_ID_OFFSET 8

/*
 * A busy kiosk writer and the technician's inspector may meet; a lock is
 * held for one chunk commit (well under a millisecond), so 5 s only ever
 * runs out when a second kiosk process is wrongly running on the same queue.
 */
#define BUSY_TIMEOUT_MS 5000

/* After a checkpoint the WAL is cut back to this: a long recording must
 * not leave megabytes of stale WAL on a small card. */
#define WAL_SIZE_LIMIT (4 * 1024 * 1024)

#define MSG_FULL                                                                                   \
    "disk full: the kiosk's data partition has no room left; free space or replace the SD card"

/* Tips delivered through one handle, remembered in memory only (never on
 * the card) so a sender can still ask what became of the tip it sent. */
#define GONE_MAX 1024

struct queue {
    sqlite3 *db;
    int readonly;
    uint8_t gone[GONE_MAX][16];
    int64_t gone_when[GONE_MAX];
    unsigned ngone;    /* ever delivered through this handle; slot = ngone % GONE_MAX */
    unsigned unpurged; /* delivered since the last queue_purge_delivered */
    char dir[4096];
    char path[4200];
    /* Prepared once: put_chunk runs for every 4 KiB of every tip. */
    sqlite3_stmt *tx_begin, *tx_commit, *chunk_bump, *chunk_insert;
};

/*
 * Schema migrations: migrations[v] takes a database from user_version v to
 * v + 1. Append, never edit: a kiosk in the field may sit at any version.
 * All pending steps and the new user_version commit in one transaction.
 */
static const char *const migrations[] = {
    /* 0 → 1: the first schema. `ord` is the insertion order ("oldest
     * first" must not trust a clock that may be unset); tips.id is the
     * envelope's random tip id. Chunks keep their own row each so every
     * chunk is one small committed transaction. */
    "CREATE TABLE tips ("
    "  id BLOB PRIMARY KEY NOT NULL CHECK (length(id) = 16),"
    "  ord INTEGER NOT NULL UNIQUE,"
    "  state INTEGER NOT NULL CHECK (state BETWEEN 0 AND 4),"
    "  header BLOB,"
    "  trailer BLOB,"
    "  chunk_count INTEGER NOT NULL DEFAULT 0,"
    "  bytes INTEGER NOT NULL DEFAULT 0,"
    "  upload_offset INTEGER NOT NULL DEFAULT 0,"
    "  created INTEGER NOT NULL,"
    "  clock_trusted INTEGER NOT NULL DEFAULT 0,"
    "  sealed INTEGER NOT NULL DEFAULT 0,"
    "  delivered INTEGER NOT NULL DEFAULT 0,"
    "  cut_short INTEGER NOT NULL DEFAULT 0"
    ");"
    "CREATE INDEX tips_by_state ON tips (state, ord);"
    "CREATE TABLE chunks ("
    "  tip_id BLOB NOT NULL REFERENCES tips (id) ON DELETE CASCADE,"
    "  seq INTEGER NOT NULL,"
    "  data BLOB NOT NULL,"
    "  PRIMARY KEY (tip_id, seq)"
    ") WITHOUT ROWID;",
    /* 1 → 2: a stolen card must not tell when each tip was left. Delivered
     * and purged tips are forgotten (rows and chunks deleted, zeroed by
     * secure_delete, which every open has set since version 1), leaving
     * only counters; the times of the tips still here are rounded down to
     * QUEUE_TIME_GRAIN_S (21600 s). A purged row's bytes were 0: its size
     * is header + chunks + trailer (176 + n·4113 + 76). */
    "CREATE TABLE counters ("
    "  name TEXT PRIMARY KEY NOT NULL,"
    "  value INTEGER NOT NULL"
    ") WITHOUT ROWID;"
    "INSERT INTO counters (name, value)"
    "  SELECT 'delivered_tips', count(*) FROM tips WHERE state IN (3, 4);"
    "INSERT INTO counters (name, value)"
    "  SELECT 'delivered_bytes', coalesce(sum(176 + chunk_count * 4113 + 76), 0)"
    "  FROM tips WHERE state IN (3, 4);"
    "INSERT INTO counters (name, value)"
    "  SELECT 'last_delivered', coalesce(max(delivered) / 21600 * 21600, 0)"
    "  FROM tips WHERE state IN (3, 4) AND delivered > 0;"
    "DELETE FROM chunks WHERE tip_id IN (SELECT id FROM tips WHERE state IN (3, 4));"
    "DELETE FROM tips WHERE state IN (3, 4);"
    "UPDATE tips SET created = max(created, 0) / 21600 * 21600,"
    "  sealed = max(sealed, 0) / 21600 * 21600, delivered = 0;",
};
_Static_assert(QUEUE_TIME_GRAIN_S == 21600 && ENVELOPE_HEADER_BYTES == 176 &&
                   ENVELOPE_CHUNK_CIPHER == 4113 && ENVELOPE_TRAILER_BYTES == 76,
               "migration 1 -> 2 spells these numbers out: a new value needs a new step");
_Static_assert(sizeof migrations / sizeof migrations[0] == QUEUE_SCHEMA_VERSION,
               "one migration step per schema version");

static const char *const state_names[QUEUE_NSTATES] = {"recording", "sealed", "uploading",
                                                       "delivered", "purged"};

int64_t queue_coarse_time(int64_t t)
{
    return t > 0 ? t - t % QUEUE_TIME_GRAIN_S : 0;
}

const char *queue_state_name(int state)
{
    return state >= 0 && state < QUEUE_NSTATES ? state_names[state] : "unknown";
}

/* errbuf_say under this file's old name, so its call sites read as before. */
#define say errbuf_say

/* First 8 hex digits: enough for a technician to tell tips apart in a log. */
static const char *short_id(const uint8_t id[16], char out[9])
{
    errbuf_hex(out, id, 4);
    return out;
}

static int is_corrupt_rc(int rc)
{
    return (rc & 0xff) == SQLITE_CORRUPT || (rc & 0xff) == SQLITE_NOTADB;
}

/*
 * Turn an SQLite failure into the queue's error and a sentence. Disk full
 * comes as SQLITE_FULL from the unix VFS's write; an fsync or ftruncate
 * that hits ENOSPC/EDQUOT comes as an I/O error with that errno.
 */
static int db_fail(struct queue *q, int rc, char *err, size_t errlen, const char *what)
{
    int sys = q && q->db ? sqlite3_system_errno(q->db) : 0;
    const char *msg = q && q->db ? sqlite3_errmsg(q->db) : sqlite3_errstr(rc);
    if ((rc & 0xff) == SQLITE_FULL ||
        ((rc & 0xff) == SQLITE_IOERR && (sys == ENOSPC || sys == EDQUOT)))
        return say(err, errlen, QUEUE_E_FULL, MSG_FULL);
    if (is_corrupt_rc(rc))
        return say(err, errlen, QUEUE_E_CORRUPT,
                   "queue database is damaged (%s while %s): restart the kiosk; the queue is "
                   "checked at start and a damaged one is moved aside",
                   msg, what);
    if ((rc & 0xff) == SQLITE_BUSY || (rc & 0xff) == SQLITE_LOCKED)
        return say(err, errlen, QUEUE_E_IO,
                   "queue database is locked while %s: another program holds it (is a second "
                   "kiosk running?)",
                   what);
    if ((rc & 0xff) == SQLITE_READONLY)
        return say(err, errlen, QUEUE_E_IO,
                   "queue database is read-only while %s (%s): the data partition may be "
                   "mounted read-only after a card error; check the SD card",
                   what, msg);
    return say(err, errlen, QUEUE_E_IO, "queue database error while %s: %s; check the SD card",
               what, msg);
}

/* A failed statement inside an explicit transaction: undo all of it so the
 * last committed state is what stays (SQLite may already have rolled back). */
static void tx_abort(struct queue *q)
{
    if (!sqlite3_get_autocommit(q->db))
        sqlite3_exec(q->db, "ROLLBACK", NULL, NULL, NULL);
}

static int exec(struct queue *q, const char *sql, char *err, size_t errlen, const char *what)
{
    int rc = sqlite3_exec(q->db, sql, NULL, NULL, NULL);
    return rc == SQLITE_OK ? 0 : db_fail(q, rc, err, errlen, what);
}

static int prepare(struct queue *q, sqlite3_stmt **st, const char *sql, char *err, size_t errlen)
{
    int rc = sqlite3_prepare_v2(q->db, sql, -1, st, NULL);
    return rc == SQLITE_OK ? 0 : db_fail(q, rc, err, errlen, "preparing a query");
}

static int file_exists(const char *path)
{
    struct stat st;
    return lstat(path, &st) == 0;
}

/* ------------------------------------------------------------------ */
/* open, check, migrate, move aside                                    */

static int read_int_pragma(struct queue *q, const char *sql, int64_t *out)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(q->db, sql, -1, &st, NULL);
    if (rc == SQLITE_OK) {
        rc = sqlite3_step(st);
        if (rc == SQLITE_ROW) {
            *out = sqlite3_column_int64(st, 0);
            rc = SQLITE_OK;
        }
    }
    sqlite3_finalize(st);
    return rc;
}

/*
 * Run quick_check (integrity_check without the index cross-checks: it reads
 * every page, which is what finds torn and truncated files). Returns an
 * SQLite code; *bad is set with the first complaint when the check ran and
 * failed.
 */
static int run_check(struct queue *q, const char *pragma, int *bad, char *why, size_t whylen)
{
    sqlite3_stmt *st = NULL;
    *bad = 0;
    int rc = sqlite3_prepare_v2(q->db, pragma, -1, &st, NULL);
    if (rc != SQLITE_OK)
        goto out;
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        const char *line = (const char *)sqlite3_column_text(st, 0);
        if (!line || strcmp(line, "ok") != 0) {
            *bad = 1;
            snprintf(why, whylen, "%s", line ? line : "integrity check failed");
        }
        rc = SQLITE_OK;
    } else if (rc == SQLITE_DONE) {
        rc = SQLITE_OK;
    }
out:
    sqlite3_finalize(st);
    return rc;
}

static void flush_deleted(struct queue *q);

static int migrate(struct queue *q, char *err, size_t errlen)
{
    int64_t v = 0, from = -1;
    int rc = exec(q, "BEGIN IMMEDIATE", err, errlen, "starting the schema update");
    if (rc)
        return rc;
    /* Read again inside the write lock: another opener may have migrated. */
    int src = read_int_pragma(q, "PRAGMA user_version", &v);
    if (src != SQLITE_OK) {
        rc = db_fail(q, src, err, errlen, "reading the schema version");
        goto out;
    }
    if (v > QUEUE_SCHEMA_VERSION) {
        rc = say(err, errlen, QUEUE_E_SCHEMA,
                 "queue database %s was written by newer kiosk software (schema %lld, this "
                 "software knows up to %d): install the newer software again; the queue was "
                 "left untouched",
                 q->path, (long long)v, QUEUE_SCHEMA_VERSION);
        goto out;
    }
    if (v == QUEUE_SCHEMA_VERSION)
        goto out;
    from = v;
    for (; v < QUEUE_SCHEMA_VERSION; v++) {
        src = sqlite3_exec(q->db, migrations[v], NULL, NULL, NULL);
        if (src != SQLITE_OK) {
            char what[64];
            snprintf(what, sizeof what, "updating the schema to version %lld", (long long)v + 1);
            rc = db_fail(q, src, err, errlen, what);
            goto out;
        }
    }
    char sql[64];
    snprintf(sql, sizeof sql, "PRAGMA user_version = %d", QUEUE_SCHEMA_VERSION);
    rc = exec(q, sql, err, errlen, "recording the schema version");
    if (!rc)
        rc = exec(q, "COMMIT", err, errlen, "committing the schema update");
out:
    if (rc)
        tx_abort(q);
    else if (!sqlite3_get_autocommit(q->db))
        rc = exec(q, "COMMIT", err, errlen, "reading the schema version");
    /* An older queue had delivered rows and exact times: copy the zeroed
     * and rounded pages home and empty the WAL, so the old values leave
     * the card now, not at some later checkpoint. */
    if (!rc && from > 0)
        flush_deleted(q);
    return rc;
}

static void close_db(struct queue *q)
{
    sqlite3_finalize(q->tx_begin);
    sqlite3_finalize(q->tx_commit);
    sqlite3_finalize(q->chunk_bump);
    sqlite3_finalize(q->chunk_insert);
    q->tx_begin = q->tx_commit = q->chunk_bump = q->chunk_insert = NULL;
    sqlite3_close_v2(q->db);
    q->db = NULL;
}

/* An empty file is a new database; anything else starts with SQLite's
 * 16-byte magic in a 100-byte header. */
static int looks_like_sqlite(const char *path)
{
    static const char magic[16] = "SQLite format 3";
    uint8_t head[100];
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 1; /* unreadable: let SQLite give the real error */
    ssize_t n = read(fd, head, sizeof head);
    close(fd);
    if (n == 0)
        return 1;
    return n == (ssize_t)sizeof head && memcmp(head, magic, sizeof magic) == 0;
}

/*
 * Open and vet the database. Returns 0; QUEUE_E_CORRUPT with the reason in
 * `why` when the file is not a sound database (the caller moves it aside);
 * any other error with `err` set.
 */
static int open_db(struct queue *q, char *why, size_t whylen, char *err, size_t errlen)
{
    int existed = file_exists(q->path);
    char wal[4300];
    snprintf(wal, sizeof wal, "%s-wal", q->path);
    struct stat dst, wst;
    if (stat(wal, &wst) == 0 && wst.st_size > 0 &&
        (!existed || (stat(q->path, &dst) == 0 && dst.st_size == 0))) {
        /* SQLite would delete a WAL beside a missing or empty database,
         * and the WAL may hold every recent tip. */
        snprintf(why, whylen, "%s is %s but its write-ahead log holds data", QUEUE_DB_NAME,
                 existed ? "empty" : "missing");
        return QUEUE_E_CORRUPT;
    }
    if (existed && !looks_like_sqlite(q->path)) {
        /* Decided before SQLite sees it: SQLite deletes the -wal beside a
         * file it cannot take for a WAL database, and the technician may
         * want that WAL. */
        snprintf(why, whylen, "file is not a database");
        return QUEUE_E_CORRUPT;
    }
    int rc = sqlite3_open_v2(q->path, &q->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL);
    if (rc != SQLITE_OK) {
        rc =
            say(err, errlen, QUEUE_E_IO, "cannot open the queue database %s: %s; check the SD card",
                q->path, q->db ? sqlite3_errmsg(q->db) : sqlite3_errstr(rc));
        close_db(q);
        return rc;
    }
    sqlite3_extended_result_codes(q->db, 1);
    sqlite3_busy_timeout(q->db, BUSY_TIMEOUT_MS);
    /* Until the file is vetted, closing must not checkpoint: that would
     * copy the WAL into a damaged file and delete the WAL, destroying
     * what the technician is to be given. */
    sqlite3_db_config(q->db, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, NULL);

    /*
     * journal_mode is the first statement that reads the file: a file that
     * is no database fails here with SQLITE_NOTADB. WAL + synchronous=FULL:
     * every commit is fsynced before it returns, so a chunk the queue
     * accepted survives a power cut. temp_store=MEMORY: sorts and temp
     * tables never touch the card. secure_delete: deleted tips are zeroed.
     */
    static const char *const setup[] = {
        "PRAGMA journal_mode = WAL",   "PRAGMA synchronous = FULL",  "PRAGMA secure_delete = ON",
        "PRAGMA foreign_keys = ON",    "PRAGMA temp_store = MEMORY", "PRAGMA cell_size_check = ON",
        "PRAGMA trusted_schema = OFF",
    };
    for (size_t i = 0; i < sizeof setup / sizeof setup[0]; i++) {
        rc = sqlite3_exec(q->db, setup[i], NULL, NULL, NULL);
        if (rc != SQLITE_OK)
            goto fail;
    }
    char sql[64];
    snprintf(sql, sizeof sql, "PRAGMA journal_size_limit = %d", WAL_SIZE_LIMIT);
    rc = sqlite3_exec(q->db, sql, NULL, NULL, NULL);
    if (rc != SQLITE_OK)
        goto fail;

    int bad = 0;
    rc = run_check(q, "PRAGMA quick_check(1)", &bad, why, whylen);
    if (rc != SQLITE_OK)
        goto fail;
    if (bad) {
        close_db(q);
        return QUEUE_E_CORRUPT;
    }
    /* The journal_mode pragma reports "delete" if WAL could not be set
     * (it can on every file system the kiosk uses; checked, not assumed). */
    sqlite3_stmt *st = NULL;
    rc = sqlite3_prepare_v2(q->db, "PRAGMA journal_mode", -1, &st, NULL);
    if (rc == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW) {
        const char *mode = (const char *)sqlite3_column_text(st, 0);
        if (!mode || strcmp(mode, "wal") != 0) {
            sqlite3_finalize(st);
            rc = say(err, errlen, QUEUE_E_IO,
                     "queue database %s cannot use write-ahead logging (journal mode %s): "
                     "put the data directory on a local file system",
                     q->path, mode ? mode : "?");
            close_db(q);
            return rc;
        }
    }
    sqlite3_finalize(st);

    rc = migrate(q, err, errlen);
    if (rc == QUEUE_E_CORRUPT) {
        snprintf(why, whylen, "%s", sqlite3_errmsg(q->db));
        close_db(q);
        return QUEUE_E_CORRUPT;
    }
    if (rc) {
        close_db(q);
        return rc;
    }
    /* SQLite syncs the directory for the WAL it creates, not for the main
     * file: make a new queue.db's directory entry durable ourselves. */
    if (!existed)
        (void)durable_sync_dir(q->dir); /* best effort: the data itself is synced */
    /* Sound: a clean close may checkpoint and remove the WAL again. */
    sqlite3_db_config(q->db, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 0, NULL);
    return 0;
fail:
    if (is_corrupt_rc(rc)) {
        snprintf(why, whylen, "%s", sqlite3_errmsg(q->db));
        close_db(q);
        return QUEUE_E_CORRUPT;
    }
    rc = db_fail(q, rc, err, errlen, "opening the queue");
    close_db(q);
    return rc;
}

/*
 * Rename queue.db (with its -wal and -shm) to queue.db.corrupt-N, the
 * first N free for all three names, keeping SQLite's suffixes so the
 * technician can open the copy with its WAL. The WAL and shm go first:
 * a crash half way must never leave an old WAL beside a fresh database
 * (SQLite would replay it into the new file).
 */
static int move_aside(struct queue *q, char *dest, size_t destlen, char *err, size_t errlen)
{
    char wal[4300], shm[4300], dwal[4400], dshm[4400];
    snprintf(wal, sizeof wal, "%s-wal", q->path);
    snprintf(shm, sizeof shm, "%s-shm", q->path);
    for (int n = 1; n < 100000; n++) {
        snprintf(dest, destlen, "%s.corrupt-%d", q->path, n);
        snprintf(dwal, sizeof dwal, "%s-wal", dest);
        snprintf(dshm, sizeof dshm, "%s-shm", dest);
        if (file_exists(dest) || file_exists(dwal) || file_exists(dshm))
            continue;
        if ((file_exists(wal) && rename(wal, dwal) != 0) ||
            (file_exists(shm) && rename(shm, dshm) != 0) ||
            (file_exists(q->path) && rename(q->path, dest) != 0))
            return say(err, errlen, QUEUE_E_CORRUPT,
                       "queue database %s is corrupt and could not be moved aside (%s): the "
                       "kiosk cannot save tips; replace the SD card",
                       q->path, strerror(errno));
        (void)durable_sync_dir(q->dir); /* best effort: the data itself is synced */
        return 0;
    }
    return say(err, errlen, QUEUE_E_CORRUPT,
               "queue database %s is corrupt and too many old copies are kept beside it: "
               "remove old queue.db.corrupt-* files after saving them",
               q->path);
}

static int prepare_hot(struct queue *q, char *err, size_t errlen)
{
    int rc = prepare(q, &q->tx_begin, "BEGIN IMMEDIATE", err, errlen);
    if (!rc)
        rc = prepare(q, &q->tx_commit, "COMMIT", err, errlen);
    if (!rc)
        rc = prepare(q, &q->chunk_bump,
                     "UPDATE tips SET chunk_count = chunk_count + 1, bytes = bytes + ?3"
                     " WHERE id = ?1 AND state = 0 AND chunk_count = ?2",
                     err, errlen);
    if (!rc)
        rc = prepare(q, &q->chunk_insert,
                     "INSERT INTO chunks (tip_id, seq, data) VALUES (?1, ?2, ?3)", err, errlen);
    return rc;
}

static int new_queue(struct queue **out, const char *dir, char *err, size_t errlen)
{
    struct stat st;
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
        return say(err, errlen, QUEUE_E_IO,
                   "data directory %s is missing: check that the data partition is mounted", dir);
    struct queue *q = calloc(1, sizeof *q);
    if (!q)
        return say(err, errlen, QUEUE_E_IO, "out of memory opening the queue");
    if ((size_t)snprintf(q->dir, sizeof q->dir, "%s", dir) >= sizeof q->dir) {
        free(q);
        return say(err, errlen, QUEUE_E_ARG, "data directory path is too long");
    }
    snprintf(q->path, sizeof q->path, "%s/%s", dir, QUEUE_DB_NAME);
    *out = q;
    return 0;
}

int queue_open(struct queue **out, const char *dir, unsigned *faults, char *err, size_t errlen)
{
    if (faults)
        *faults = 0;
    if (!out || !dir)
        return say(err, errlen, QUEUE_E_ARG, "queue_open: missing argument");
    *out = NULL;
    struct queue *q = NULL;
    int rc = new_queue(&q, dir, err, errlen);
    if (rc)
        return rc;
    char why[512] = "";
    rc = open_db(q, why, sizeof why, err, errlen);
    if (rc == QUEUE_E_CORRUPT) {
        char dest[4300];
        rc = move_aside(q, dest, sizeof dest, err, errlen);
        if (rc)
            goto out;
        char why2[512] = "";
        rc = open_db(q, why2, sizeof why2, err, errlen);
        if (rc == QUEUE_E_CORRUPT) {
            rc = say(err, errlen, QUEUE_E_CORRUPT,
                     "queue database was corrupt and a fresh one in %s fails too (%s): the "
                     "card is failing; replace the SD card",
                     q->dir, why2);
            goto out;
        }
        if (rc)
            goto out;
        if (faults)
            *faults |= QUEUE_FAULT_RECREATED;
        say(err, errlen, 0,
            "queue database was corrupt (%s): moved aside to %s for the technician; a fresh "
            "queue was started",
            why, dest);
    }
    if (rc)
        goto out;
    rc = prepare_hot(q, err, errlen);
out:
    if (rc) {
        queue_close(q);
        return rc;
    }
    *out = q;
    return 0;
}

int queue_open_readonly(struct queue **out, const char *dir, char *err, size_t errlen)
{
    if (!out || !dir)
        return say(err, errlen, QUEUE_E_ARG, "queue_open_readonly: missing argument");
    *out = NULL;
    struct queue *q = NULL;
    int rc = new_queue(&q, dir, err, errlen);
    if (rc)
        return rc == QUEUE_E_IO ? say(err, errlen, QUEUE_E_NOTFOUND,
                                      "no queue in %s: the directory does not exist", dir)
                                : rc;
    q->readonly = 1;
    if (!file_exists(q->path)) {
        rc = say(err, errlen, QUEUE_E_NOTFOUND,
                 "no queue in %s (no %s there): is this the kiosk's data directory?", dir,
                 QUEUE_DB_NAME);
        goto out;
    }
    int src = sqlite3_open_v2(q->path, &q->db, SQLITE_OPEN_READONLY, NULL);
    if (src != SQLITE_OK) {
        rc = db_fail(q, src, err, errlen, "opening the queue to read");
        goto out;
    }
    sqlite3_extended_result_codes(q->db, 1);
    sqlite3_busy_timeout(q->db, BUSY_TIMEOUT_MS);
    int64_t v = 0;
    src = read_int_pragma(q, "PRAGMA user_version", &v);
    if (src == SQLITE_OK)
        src = sqlite3_exec(q->db, "PRAGMA temp_store = MEMORY", NULL, NULL, NULL);
    if (src != SQLITE_OK) {
        if (is_corrupt_rc(src))
            rc = say(err, errlen, QUEUE_E_CORRUPT,
                     "queue database %s is damaged (%s): the kiosk moves it aside and starts "
                     "a fresh queue at its next start",
                     q->path, sqlite3_errmsg(q->db));
        else
            rc = db_fail(q, src, err, errlen, "reading the queue");
        goto out;
    }
    if (v > QUEUE_SCHEMA_VERSION) {
        rc = say(err, errlen, QUEUE_E_SCHEMA,
                 "queue database %s was written by newer kiosk software (schema %lld, this "
                 "software knows up to %d): use the newer tools",
                 q->path, (long long)v, QUEUE_SCHEMA_VERSION);
        goto out;
    }
    if (v < QUEUE_SCHEMA_VERSION) {
        rc = say(err, errlen, QUEUE_E_NOTFOUND,
                 "queue database %s is not set up yet (schema %lld): start the kiosk once", q->path,
                 (long long)v);
        goto out;
    }
out:
    if (rc) {
        queue_close(q);
        return rc;
    }
    *out = q;
    return 0;
}

void queue_close(struct queue *q)
{
    if (!q)
        return;
    close_db(q);
    free(q);
}

/* ------------------------------------------------------------------ */
/* the writing side                                                    */

/* Slot of a tip delivered through this handle, or -1. */
static int gone_find(const struct queue *q, const uint8_t id[16])
{
    unsigned n = q->ngone < GONE_MAX ? q->ngone : GONE_MAX;
    for (unsigned i = 0; i < n; i++)
        if (memcmp(q->gone[i], id, 16) == 0)
            return (int)i;
    return -1;
}

static void gone_add(struct queue *q, const uint8_t id[16], int64_t when)
{
    unsigned slot = q->ngone % GONE_MAX;
    memcpy(q->gone[slot], id, 16);
    q->gone_when[slot] = when;
    q->ngone++;
    q->unpurged++;
}

/*
 * A state-guarded UPDATE/DELETE changed nothing: say why, for the tip as
 * it is now.
 */
static int explain(struct queue *q, const uint8_t id[16], const char *action, char *err,
                   size_t errlen)
{
    char sid[9];
    short_id(id, sid);
    sqlite3_stmt *st = NULL;
    int rc = prepare(q, &st, "SELECT state FROM tips WHERE id = ?1", err, errlen);
    if (rc)
        return rc;
    sqlite3_bind_blob(st, 1, id, 16, SQLITE_STATIC);
    int src = sqlite3_step(st);
    if (src == SQLITE_ROW) {
        int state = sqlite3_column_int(st, 0);
        rc = say(err, errlen, QUEUE_E_STATE, "cannot %s tip %s: it is %s", action, sid,
                 queue_state_name(state));
    } else if (src == SQLITE_DONE && gone_find(q, id) >= 0) {
        rc = say(err, errlen, QUEUE_E_STATE, "cannot %s tip %s: it is %s", action, sid,
                 queue_state_name(QUEUE_PURGED));
    } else if (src == SQLITE_DONE) {
        rc = say(err, errlen, QUEUE_E_NOTFOUND, "cannot %s tip %s: it is not in the queue", action,
                 sid);
    } else {
        rc = db_fail(q, src, err, errlen, "looking up a tip");
    }
    sqlite3_finalize(st);
    return rc;
}

static int writable(struct queue *q, char *err, size_t errlen)
{
    if (!q || !q->db)
        return say(err, errlen, QUEUE_E_ARG, "queue: no open queue");
    if (q->readonly)
        return say(err, errlen, QUEUE_E_ARG, "queue: opened read-only, cannot change it");
    return 0;
}

int queue_begin_tip(struct queue *q, const uint8_t id[16], const uint8_t *header, size_t len,
                    int64_t now, int clock_trusted, char *err, size_t errlen)
{
    int rc = writable(q, err, errlen);
    if (rc)
        return rc;
    if (!id || !header || len != ENVELOPE_HEADER_BYTES)
        return say(err, errlen, QUEUE_E_ARG,
                   "queue_begin_tip: the header must be %d bytes, got %zu", ENVELOPE_HEADER_BYTES,
                   len);
    sqlite3_stmt *st = NULL;
    rc = prepare(q, &st,
                 "INSERT INTO tips (id, ord, state, header, bytes, created, clock_trusted)"
                 " VALUES (?1, (SELECT coalesce(max(ord), 0) + 1 FROM tips), 0, ?2, ?3, ?4, ?5)",
                 err, errlen);
    if (rc)
        return rc;
    sqlite3_bind_blob(st, 1, id, 16, SQLITE_STATIC);
    sqlite3_bind_blob(st, 2, header, (int)len, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, (sqlite3_int64)len);
    sqlite3_bind_int64(st, 4, queue_coarse_time(now));
    sqlite3_bind_int(st, 5, clock_trusted ? 1 : 0);
    int src = sqlite3_step(st);
    if (src == SQLITE_CONSTRAINT_PRIMARYKEY || src == SQLITE_CONSTRAINT_UNIQUE) {
        char sid[9];
        rc = say(err, errlen, QUEUE_E_STATE, "cannot begin tip %s: it is already in the queue",
                 short_id(id, sid));
    } else if (src != SQLITE_DONE) {
        rc = db_fail(q, src, err, errlen, "starting a tip");
    }
    sqlite3_finalize(st);
    return rc;
}

int queue_put_chunk(struct queue *q, const uint8_t id[16], uint32_t index, const uint8_t *bytes,
                    size_t len, char *err, size_t errlen)
{
    int rc = writable(q, err, errlen);
    if (rc)
        return rc;
    /* v1 chunks are all one size; queue_read's arithmetic relies on it. */
    if (!id || !bytes || len != ENVELOPE_CHUNK_CIPHER)
        return say(err, errlen, QUEUE_E_ARG, "queue_put_chunk: a chunk must be %d bytes, got %zu",
                   ENVELOPE_CHUNK_CIPHER, len);
    int src = sqlite3_step(q->tx_begin);
    sqlite3_reset(q->tx_begin);
    if (src != SQLITE_DONE)
        return db_fail(q, src, err, errlen, "saving a chunk");

    /* The guarded counter bump is the order check: it matches only when
     * the tip is recording and this is exactly the next chunk. */
    sqlite3_bind_blob(q->chunk_bump, 1, id, 16, SQLITE_STATIC);
    sqlite3_bind_int64(q->chunk_bump, 2, index);
    sqlite3_bind_int64(q->chunk_bump, 3, (sqlite3_int64)len);
    src = sqlite3_step(q->chunk_bump);
    sqlite3_reset(q->chunk_bump);
    sqlite3_clear_bindings(q->chunk_bump);
    if (src != SQLITE_DONE) {
        rc = db_fail(q, src, err, errlen, "saving a chunk");
        goto out;
    }
    if (sqlite3_changes(q->db) != 1) {
        sqlite3_stmt *st = NULL;
        char sid[9];
        short_id(id, sid);
        rc = prepare(q, &st, "SELECT state, chunk_count FROM tips WHERE id = ?1", err, errlen);
        if (rc)
            goto out;
        sqlite3_bind_blob(st, 1, id, 16, SQLITE_STATIC);
        src = sqlite3_step(st);
        if (src == SQLITE_ROW && sqlite3_column_int(st, 0) != QUEUE_RECORDING)
            rc = say(err, errlen, QUEUE_E_STATE,
                     "cannot add chunk %u to tip %s: it is %s, not recording", index, sid,
                     queue_state_name(sqlite3_column_int(st, 0)));
        else if (src == SQLITE_ROW)
            rc = say(err, errlen, QUEUE_E_STATE,
                     "chunk %u of tip %s is out of order: the queue expects chunk %lld", index, sid,
                     (long long)sqlite3_column_int64(st, 1));
        else if (src == SQLITE_DONE)
            rc = say(err, errlen, QUEUE_E_NOTFOUND,
                     "cannot add chunk %u to tip %s: it is not in the queue", index, sid);
        else
            rc = db_fail(q, src, err, errlen, "saving a chunk");
        sqlite3_finalize(st);
        goto out;
    }
    sqlite3_bind_blob(q->chunk_insert, 1, id, 16, SQLITE_STATIC);
    sqlite3_bind_int64(q->chunk_insert, 2, index);
    sqlite3_bind_blob(q->chunk_insert, 3, bytes, (int)len, SQLITE_STATIC);
    src = sqlite3_step(q->chunk_insert);
    sqlite3_reset(q->chunk_insert);
    sqlite3_clear_bindings(q->chunk_insert);
    if (src != SQLITE_DONE) {
        rc = db_fail(q, src, err, errlen, "saving a chunk");
        goto out;
    }
    /* COMMIT is where WAL frames are written and fsynced: this is the
     * failure a full card gives. */
    src = sqlite3_step(q->tx_commit);
    sqlite3_reset(q->tx_commit);
    if (src != SQLITE_DONE)
        rc = db_fail(q, src, err, errlen, "saving a chunk");
out:
    if (rc)
        tx_abort(q);
    return rc;
}

int queue_seal_tip(struct queue *q, const uint8_t id[16], const uint8_t *trailer, size_t len,
                   int cut_short, int64_t now, char *err, size_t errlen)
{
    int rc = writable(q, err, errlen);
    if (rc)
        return rc;
    if (!id || !trailer || len != ENVELOPE_TRAILER_BYTES)
        return say(err, errlen, QUEUE_E_ARG,
                   "queue_seal_tip: the trailer must be %d bytes, got %zu", ENVELOPE_TRAILER_BYTES,
                   len);
    sqlite3_stmt *st = NULL;
    rc = prepare(q, &st,
                 "UPDATE tips SET state = 1, trailer = ?2, bytes = bytes + ?3, sealed = ?4,"
                 " cut_short = ?5 WHERE id = ?1 AND state = 0",
                 err, errlen);
    if (rc)
        return rc;
    sqlite3_bind_blob(st, 1, id, 16, SQLITE_STATIC);
    sqlite3_bind_blob(st, 2, trailer, (int)len, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, (sqlite3_int64)len);
    sqlite3_bind_int64(st, 4, queue_coarse_time(now));
    sqlite3_bind_int(st, 5, cut_short ? 1 : 0);
    int src = sqlite3_step(st);
    sqlite3_finalize(st);
    if (src != SQLITE_DONE)
        return db_fail(q, src, err, errlen, "sealing a tip");
    if (sqlite3_changes(q->db) != 1)
        return explain(q, id, "seal", err, errlen);
    return 0;
}

/*
 * Zeroed pages and deleted rows still sit in the WAL until it is
 * overwritten; a TRUNCATE checkpoint copies them home and empties the WAL,
 * so deleted ciphertext leaves the card now. Best effort: a reader (the
 * inspector) may hold the WAL, and the next checkpoint then does it.
 */
static void flush_deleted(struct queue *q)
{
    sqlite3_wal_checkpoint_v2(q->db, NULL, SQLITE_CHECKPOINT_TRUNCATE, NULL, NULL);
}

int queue_discard_tip(struct queue *q, const uint8_t id[16], char *err, size_t errlen)
{
    int rc = writable(q, err, errlen);
    if (rc)
        return rc;
    if (!id)
        return say(err, errlen, QUEUE_E_ARG, "queue_discard_tip: missing tip id");
    sqlite3_stmt *st = NULL;
    rc = exec(q, "BEGIN IMMEDIATE", err, errlen, "discarding a tip");
    if (rc)
        return rc;
    /* Only a tip still recording: a sealed one was promised saved. The
     * cascade takes the chunks; the second DELETE keeps that true even if
     * a future schema forgot the foreign key. */
    rc = prepare(q, &st, "DELETE FROM tips WHERE id = ?1 AND state = 0", err, errlen);
    if (rc)
        goto out;
    sqlite3_bind_blob(st, 1, id, 16, SQLITE_STATIC);
    int src = sqlite3_step(st);
    sqlite3_finalize(st);
    st = NULL;
    if (src != SQLITE_DONE) {
        rc = db_fail(q, src, err, errlen, "discarding a tip");
        goto out;
    }
    if (sqlite3_changes(q->db) != 1) {
        rc = explain(q, id, "discard", err, errlen);
        goto out;
    }
    rc = prepare(q, &st, "DELETE FROM chunks WHERE tip_id = ?1", err, errlen);
    if (rc)
        goto out;
    sqlite3_bind_blob(st, 1, id, 16, SQLITE_STATIC);
    src = sqlite3_step(st);
    sqlite3_finalize(st);
    if (src != SQLITE_DONE) {
        rc = db_fail(q, src, err, errlen, "discarding a tip");
        goto out;
    }
    rc = exec(q, "COMMIT", err, errlen, "discarding a tip");
out:
    if (rc) {
        tx_abort(q);
        return rc;
    }
    flush_deleted(q);
    return 0;
}

int queue_envelope_sink(void *ctx, enum envelope_piece kind, uint32_t index, const uint8_t *bytes,
                        size_t len)
{
    struct queue_sink *s = ctx;
    if (!s)
        return QUEUE_E_ARG;
    int rc;
    switch (kind) {
    case PIECE_HEADER:
        if (!bytes || len < HEADER_TIP_ID_OFFSET + 16) {
            rc = say(s->err, sizeof s->err, QUEUE_E_ARG, "queue: the envelope header is too short");
            break;
        }
        memcpy(s->tip_id, bytes + HEADER_TIP_ID_OFFSET, 16);
        rc = queue_begin_tip(s->q, s->tip_id, bytes, len, s->now, s->clock_trusted, s->err,
                             sizeof s->err);
        break;
    case PIECE_CHUNK:
        rc = queue_put_chunk(s->q, s->tip_id, index, bytes, len, s->err, sizeof s->err);
        break;
    case PIECE_TRAILER:
        rc = queue_seal_tip(s->q, s->tip_id, bytes, len, 0, s->now, s->err, sizeof s->err);
        break;
    default:
        rc = say(s->err, sizeof s->err, QUEUE_E_ARG, "queue: unknown envelope piece %d", (int)kind);
        break;
    }
    s->last_error = rc;
    return rc;
}

/* get_chunk for envelope_trailer_cut_short(): the envelope code hashes
 * chunks in order and is done with each before asking for the next, so
 * one buffer suffices. */
struct chunk_reader {
    struct queue *q;
    const uint8_t *id;
    sqlite3_stmt *st;
    uint8_t buf[ENVELOPE_CHUNK_CIPHER];
    int failed;
};

static const uint8_t *read_chunk_cb(void *ctx, uint32_t index)
{
    struct chunk_reader *r = ctx;
    const uint8_t *out = NULL;
    sqlite3_bind_blob(r->st, 1, r->id, 16, SQLITE_STATIC);
    sqlite3_bind_int64(r->st, 2, index);
    if (sqlite3_step(r->st) == SQLITE_ROW &&
        sqlite3_column_bytes(r->st, 0) == ENVELOPE_CHUNK_CIPHER) {
        memcpy(r->buf, sqlite3_column_blob(r->st, 0), ENVELOPE_CHUNK_CIPHER);
        out = r->buf;
    } else {
        r->failed = 1;
    }
    sqlite3_reset(r->st);
    return out;
}

static int recover_one(struct queue *q, const uint8_t id[16], const uint8_t device_sk[64],
                       int64_t now, int *sealed_one, char *err, size_t errlen)
{
    char sid[9];
    short_id(id, sid);
    *sealed_one = 0;
    struct chunk_reader r = {.q = q, .id = id};
    sqlite3_stmt *st = NULL;
    uint8_t header[ENVELOPE_HEADER_BYTES], trailer[ENVELOPE_TRAILER_BYTES];
    int rc = prepare(q, &st, "SELECT header, chunk_count FROM tips WHERE id = ?1 AND state = 0",
                     err, errlen);
    if (rc)
        return rc;
    sqlite3_bind_blob(st, 1, id, 16, SQLITE_STATIC);
    int src = sqlite3_step(st);
    if (src != SQLITE_ROW) {
        rc = src == SQLITE_DONE ? 0 : db_fail(q, src, err, errlen, "recovering a tip");
        goto out;
    }
    int64_t count = sqlite3_column_int64(st, 1);
    if (sqlite3_column_bytes(st, 0) != ENVELOPE_HEADER_BYTES) {
        rc = say(err, errlen, QUEUE_E_CORRUPT,
                 "cannot recover tip %s: its stored header is damaged; it stays in the queue "
                 "unsent",
                 sid);
        goto out;
    }
    memcpy(header, sqlite3_column_blob(st, 0), ENVELOPE_HEADER_BYTES);
    sqlite3_finalize(st);
    st = NULL;
    if (count == 0) {
        /* Only the header: nothing the person said was kept. */
        rc = queue_discard_tip(q, id, err, errlen);
        goto out;
    }
    rc = prepare(q, &r.st, "SELECT data FROM chunks WHERE tip_id = ?1 AND seq = ?2", err, errlen);
    if (rc)
        goto out;
    int erc =
        envelope_trailer_cut_short(header, (uint32_t)count, read_chunk_cb, &r, device_sk, trailer);
    if (erc != 0) {
        rc = r.failed ? say(err, errlen, QUEUE_E_CORRUPT,
                            "cannot recover tip %s: one of its %lld chunks is missing or "
                            "damaged; it stays in the queue unsent",
                            sid, (long long)count)
                      : say(err, errlen, QUEUE_E_ARG,
                            "cannot recover tip %s: %s (was it recorded with another device "
                            "key?); it stays in the queue unsent",
                            sid, envelope_strerror(erc));
        goto out;
    }
    rc = queue_seal_tip(q, id, trailer, sizeof trailer, 1, now, err, errlen);
    if (!rc)
        *sealed_one = 1;
out:
    sqlite3_finalize(st);
    sqlite3_finalize(r.st);
    return rc;
}

int queue_recover(struct queue *q, const uint8_t device_sk[64], int64_t now, int *recovered,
                  int *dropped, char *err, size_t errlen)
{
    if (recovered)
        *recovered = 0;
    if (dropped)
        *dropped = 0;
    int rc = writable(q, err, errlen);
    if (rc)
        return rc;
    if (!device_sk)
        return say(err, errlen, QUEUE_E_ARG, "queue_recover: missing device key");
    /* Collect first, then seal: no statement stays open across writes.
     * A few tips at most are ever left recording (one per crash). */
    sqlite3_stmt *st = NULL;
    uint8_t(*ids)[16] = NULL;
    size_t n = 0, cap = 0;
    rc = prepare(q, &st, "SELECT id FROM tips WHERE state = 0 ORDER BY ord", err, errlen);
    if (rc)
        return rc;
    int src;
    while ((src = sqlite3_step(st)) == SQLITE_ROW) {
        if (sqlite3_column_bytes(st, 0) != 16)
            continue;
        if (n == cap) {
            size_t ncap = cap ? cap * 2 : 4;
            void *nids = realloc(ids, ncap * sizeof *ids);
            if (!nids) {
                rc = say(err, errlen, QUEUE_E_IO, "out of memory recovering tips");
                goto out;
            }
            ids = nids;
            cap = ncap;
        }
        memcpy(ids[n++], sqlite3_column_blob(st, 0), 16);
    }
    if (src != SQLITE_DONE) {
        rc = db_fail(q, src, err, errlen, "looking for tips to recover");
        goto out;
    }
    sqlite3_finalize(st);
    st = NULL;
    /* One damaged tip must not keep the others from being sealed: go on,
     * report the first failure. */
    char first[256] = "";
    for (size_t i = 0; i < n; i++) {
        int sealed_one = 0;
        char e[256];
        int one = recover_one(q, ids[i], device_sk, now, &sealed_one, e, sizeof e);
        if (one) {
            if (!rc) {
                rc = one;
                snprintf(first, sizeof first, "%s", e);
            }
            if (one == QUEUE_E_FULL || one == QUEUE_E_IO)
                break; /* the next ones would fail the same way */
            continue;
        }
        if (sealed_one && recovered)
            (*recovered)++;
        else if (!sealed_one && dropped)
            (*dropped)++;
    }
    if (rc)
        say(err, errlen, rc, "%s", first);
out:
    sqlite3_finalize(st);
    free(ids);
    return rc;
}

/* ------------------------------------------------------------------ */
/* the sending side                                                    */

#define TIP_COLUMNS                                                                                \
    "id, state, cut_short, chunk_count, bytes, upload_offset, created, clock_trusted, sealed,"     \
    " delivered"

static void row_to_tip(sqlite3_stmt *st, struct queue_tip *t)
{
    memset(t, 0, sizeof *t);
    if (sqlite3_column_bytes(st, 0) == 16)
        memcpy(t->id, sqlite3_column_blob(st, 0), 16);
    t->state = sqlite3_column_int(st, 1);
    t->cut_short = sqlite3_column_int(st, 2);
    t->chunks = (uint32_t)sqlite3_column_int64(st, 3);
    t->bytes = (uint64_t)sqlite3_column_int64(st, 4);
    t->upload_offset = (uint64_t)sqlite3_column_int64(st, 5);
    t->created = sqlite3_column_int64(st, 6);
    t->clock_trusted = sqlite3_column_int(st, 7);
    t->sealed = sqlite3_column_int64(st, 8);
    t->delivered = sqlite3_column_int64(st, 9);
}

/* One tip from `sql` (with ?1 bound to id when given). */
static int select_tip(struct queue *q, const char *sql, const uint8_t *id, struct queue_tip *out)
{
    if (!q || !q->db || !out)
        return QUEUE_E_ARG;
    sqlite3_stmt *st = NULL;
    int rc = prepare(q, &st, sql, NULL, 0);
    if (rc)
        return rc;
    if (id)
        sqlite3_bind_blob(st, 1, id, 16, SQLITE_STATIC);
    int src = sqlite3_step(st);
    if (src == SQLITE_ROW)
        row_to_tip(st, out);
    else if (src == SQLITE_DONE)
        rc = QUEUE_E_NOTFOUND;
    else
        rc = db_fail(q, src, NULL, 0, "reading a tip");
    sqlite3_finalize(st);
    return rc;
}

int queue_next_to_send(struct queue *q, struct queue_tip *out)
{
    return select_tip(q,
                      "SELECT " TIP_COLUMNS " FROM tips WHERE state IN (1, 2) ORDER BY ord LIMIT 1",
                      NULL, out);
}

int queue_get_tip(struct queue *q, const uint8_t id[16], struct queue_tip *out)
{
    if (!id)
        return QUEUE_E_ARG;
    int rc = select_tip(q, "SELECT " TIP_COLUMNS " FROM tips WHERE id = ?1", id, out);
    int slot = rc == QUEUE_E_NOTFOUND ? gone_find(q, id) : -1;
    if (slot >= 0) {
        memset(out, 0, sizeof *out);
        memcpy(out->id, id, 16);
        out->state = QUEUE_PURGED;
        out->delivered = q->gone_when[slot];
        rc = 0;
    }
    return rc;
}

/* Copy the overlap of [off, off+len) of a piece placed at `at` into buf. */
static size_t copy_piece(const uint8_t *piece, uint64_t at, size_t len, uint64_t off, uint8_t *buf,
                         size_t cap)
{
    if (off < at || off >= at + len)
        return 0;
    size_t from = (size_t)(off - at);
    size_t n = len - from < cap ? len - from : cap;
    memcpy(buf, piece + from, n);
    return n;
}

int queue_read(struct queue *q, const uint8_t id[16], uint64_t offset, uint8_t *buf, size_t cap,
               size_t *got, char *err, size_t errlen)
{
    if (got)
        *got = 0;
    if (!q || !q->db || !id || (!buf && cap) || !got)
        return say(err, errlen, QUEUE_E_ARG, "queue_read: missing argument");
    char sid[9];
    short_id(id, sid);
    sqlite3_stmt *st = NULL, *cst = NULL;
    /* One read transaction: the pieces come from one snapshot. */
    int rc = exec(q, "BEGIN", err, errlen, "reading a tip");
    if (rc)
        return rc;
    rc = prepare(q, &st, "SELECT state, chunk_count, header, trailer FROM tips WHERE id = ?1", err,
                 errlen);
    if (rc)
        goto out;
    sqlite3_bind_blob(st, 1, id, 16, SQLITE_STATIC);
    int src = sqlite3_step(st);
    if (src == SQLITE_DONE && gone_find(q, id) >= 0) {
        rc = say(err, errlen, QUEUE_E_STATE,
                 "cannot read tip %s: it was purged after delivery and its bytes are gone", sid);
        goto out;
    }
    if (src == SQLITE_DONE) {
        rc = say(err, errlen, QUEUE_E_NOTFOUND, "cannot read tip %s: it is not in the queue", sid);
        goto out;
    }
    if (src != SQLITE_ROW) {
        rc = db_fail(q, src, err, errlen, "reading a tip");
        goto out;
    }
    int state = sqlite3_column_int(st, 0);
    if (state != QUEUE_SEALED && state != QUEUE_UPLOADING && state != QUEUE_DELIVERED) {
        rc = say(err, errlen, QUEUE_E_STATE,
                 state == QUEUE_RECORDING
                     ? "cannot read tip %s: it is still recording (only sealed tips are sent)"
                     : "cannot read tip %s: it was purged after delivery and its bytes are gone",
                 sid);
        goto out;
    }
    uint64_t nchunks = (uint64_t)sqlite3_column_int64(st, 1);
    const uint8_t *header = sqlite3_column_blob(st, 2);
    size_t hlen = (size_t)sqlite3_column_bytes(st, 2);
    const uint8_t *trailer = sqlite3_column_blob(st, 3);
    size_t tlen = (size_t)sqlite3_column_bytes(st, 3);
    uint64_t body = nchunks * ENVELOPE_CHUNK_CIPHER;
    uint64_t total = hlen + body + tlen;
    if (offset > total) {
        rc = say(err, errlen, QUEUE_E_ARG, "cannot read tip %s at byte %llu: it is only %llu bytes",
                 sid, (unsigned long long)offset, (unsigned long long)total);
        goto out;
    }
    size_t n = 0;
    uint64_t pos = offset;
    if (pos < hlen && n < cap) {
        size_t k = copy_piece(header, 0, hlen, pos, buf + n, cap - n);
        n += k;
        pos += k;
    }
    if (pos >= hlen && pos < hlen + body && n < cap) {
        uint64_t seq = (pos - hlen) / ENVELOPE_CHUNK_CIPHER;
        rc = prepare(q, &cst,
                     "SELECT seq, data FROM chunks WHERE tip_id = ?1 AND seq >= ?2 ORDER BY seq",
                     err, errlen);
        if (rc)
            goto out;
        sqlite3_bind_blob(cst, 1, id, 16, SQLITE_STATIC);
        sqlite3_bind_int64(cst, 2, (sqlite3_int64)seq);
        while (n < cap && pos < hlen + body) {
            src = sqlite3_step(cst);
            if (src != SQLITE_ROW && src != SQLITE_DONE) {
                rc = db_fail(q, src, err, errlen, "reading a tip");
                goto out;
            }
            if (src == SQLITE_DONE || (uint64_t)sqlite3_column_int64(cst, 0) != seq ||
                sqlite3_column_bytes(cst, 1) != ENVELOPE_CHUNK_CIPHER) {
                rc = say(err, errlen, QUEUE_E_CORRUPT,
                         "cannot read tip %s: chunk %llu is missing or damaged", sid,
                         (unsigned long long)seq);
                goto out;
            }
            size_t k = copy_piece(sqlite3_column_blob(cst, 1), hlen + seq * ENVELOPE_CHUNK_CIPHER,
                                  ENVELOPE_CHUNK_CIPHER, pos, buf + n, cap - n);
            n += k;
            pos += k;
            seq++;
        }
    }
    if (pos >= hlen + body && n < cap)
        n += copy_piece(trailer, hlen + body, tlen, pos, buf + n, cap - n);
    *got = n;
out:
    sqlite3_finalize(cst);
    sqlite3_finalize(st);
    sqlite3_exec(q->db, rc ? "ROLLBACK" : "COMMIT", NULL, NULL, NULL);
    return rc;
}

int queue_set_uploading(struct queue *q, const uint8_t id[16], uint64_t offset, char *err,
                        size_t errlen)
{
    int rc = writable(q, err, errlen);
    if (rc)
        return rc;
    if (!id)
        return say(err, errlen, QUEUE_E_ARG, "queue_set_uploading: missing tip id");
    struct queue_tip t;
    rc = queue_get_tip(q, id, &t);
    if (rc == 0 && offset > t.bytes) {
        char sid[9];
        return say(err, errlen, QUEUE_E_ARG,
                   "upload offset %llu of tip %s is past its end (%llu bytes)",
                   (unsigned long long)offset, short_id(id, sid), (unsigned long long)t.bytes);
    }
    sqlite3_stmt *st = NULL;
    rc = prepare(q, &st,
                 "UPDATE tips SET state = 2, upload_offset = ?2 WHERE id = ?1 AND state IN (1, 2)",
                 err, errlen);
    if (rc)
        return rc;
    sqlite3_bind_blob(st, 1, id, 16, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, (sqlite3_int64)offset);
    int src = sqlite3_step(st);
    sqlite3_finalize(st);
    if (src != SQLITE_DONE)
        return db_fail(q, src, err, errlen, "recording upload progress");
    if (sqlite3_changes(q->db) != 1)
        return explain(q, id, "upload", err, errlen);
    return 0;
}

/* Run `sql` with ?1 = id (when given) and ?2 = v inside the caller's
 * transaction. */
static int step_id(struct queue *q, const char *sql, const uint8_t *id, int64_t v, char *err,
                   size_t errlen, const char *what)
{
    sqlite3_stmt *st = NULL;
    int rc = prepare(q, &st, sql, err, errlen);
    if (rc)
        return rc;
    if (id)
        sqlite3_bind_blob(st, 1, id, 16, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, v);
    int src = sqlite3_step(st);
    sqlite3_finalize(st);
    return src == SQLITE_DONE ? 0 : db_fail(q, src, err, errlen, what);
}

int queue_set_delivered(struct queue *q, const uint8_t id[16], int64_t now, char *err,
                        size_t errlen)
{
    int rc = writable(q, err, errlen);
    if (rc)
        return rc;
    if (!id)
        return say(err, errlen, QUEUE_E_ARG, "queue_set_delivered: missing tip id");
    static const char what[] = "marking a tip delivered";
    int64_t when = queue_coarse_time(now);
    sqlite3_stmt *st = NULL;
    rc = exec(q, "BEGIN IMMEDIATE", err, errlen, what);
    if (rc)
        return rc;
    /* Its size, for the counter; and the state guard: only a tip waiting
     * to be sent can have been delivered. */
    rc = prepare(q, &st, "SELECT bytes FROM tips WHERE id = ?1 AND state IN (1, 2)", err, errlen);
    if (rc)
        goto out;
    sqlite3_bind_blob(st, 1, id, 16, SQLITE_STATIC);
    int src = sqlite3_step(st);
    int64_t bytes = src == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
    sqlite3_finalize(st);
    if (src == SQLITE_DONE) {
        tx_abort(q);
        return explain(q, id, "mark delivered", err, errlen);
    }
    if (src != SQLITE_ROW) {
        rc = db_fail(q, src, err, errlen, what);
        goto out;
    }
    /* Forget it: nothing of the tip stays but the counters. The cascade
     * takes the chunks; the explicit DELETE keeps that true even if a
     * future schema forgot the foreign key. */
    rc = step_id(q, "DELETE FROM chunks WHERE tip_id = ?1", id, 0, err, errlen, what);
    if (!rc)
        rc = step_id(q, "DELETE FROM tips WHERE id = ?1", id, 0, err, errlen, what);
    if (!rc)
        rc = step_id(q, "UPDATE counters SET value = value + 1 WHERE name = 'delivered_tips'",
                     NULL, 0, err, errlen, what);
    if (!rc)
        rc = step_id(q, "UPDATE counters SET value = value + ?2 WHERE name = 'delivered_bytes'",
                     NULL, bytes, err, errlen, what);
    if (!rc)
        rc = step_id(q,
                     "UPDATE counters SET value = max(value, ?2) WHERE name = 'last_delivered'",
                     NULL, when, err, errlen, what);
    if (!rc)
        rc = exec(q, "COMMIT", err, errlen, what);
out:
    if (rc) {
        tx_abort(q);
        return rc;
    }
    gone_add(q, id, when);
    flush_deleted(q);
    return 0;
}

int queue_purge_delivered(struct queue *q, int *purged, char *err, size_t errlen)
{
    if (purged)
        *purged = 0;
    int rc = writable(q, err, errlen);
    if (rc)
        return rc;
    /* Delivery deleted everything already. Rows in states 3 and 4 exist
     * only if an older kiosk wrote them after the migration ran (a card
     * moved back and forth): they are forgotten here too. */
    static const char what[] = "purging delivered tips";
    rc = exec(q, "BEGIN IMMEDIATE", err, errlen, what);
    if (!rc)
        rc = exec(q,
                  "DELETE FROM chunks WHERE tip_id IN (SELECT id FROM tips WHERE state IN (3, 4))",
                  err, errlen, what);
    if (!rc)
        rc = exec(q, "DELETE FROM tips WHERE state IN (3, 4)", err, errlen, what);
    int n = rc ? 0 : sqlite3_changes(q->db);
    if (!rc)
        rc = exec(q, "COMMIT", err, errlen, what);
    if (rc) {
        tx_abort(q);
        return rc;
    }
    if (n)
        flush_deleted(q);
    if (purged)
        *purged = (int)q->unpurged;
    q->unpurged = 0;
    return 0;
}

int queue_foreach(struct queue *q, int (*fn)(void *ctx, const struct queue_tip *t), void *ctx)
{
    if (!q || !q->db || !fn)
        return QUEUE_E_ARG;
    sqlite3_stmt *st = NULL;
    int rc = prepare(q, &st, "SELECT " TIP_COLUMNS " FROM tips ORDER BY ord", NULL, 0);
    if (rc)
        return rc;
    int src;
    while ((src = sqlite3_step(st)) == SQLITE_ROW) {
        struct queue_tip t;
        row_to_tip(st, &t);
        if (fn(ctx, &t) != 0) {
            src = SQLITE_DONE;
            break;
        }
    }
    if (src != SQLITE_DONE)
        rc = db_fail(q, src, NULL, 0, "listing tips");
    sqlite3_finalize(st);
    return rc;
}

static uint64_t file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (uint64_t)st.st_size : 0;
}

int queue_stats(struct queue *q, struct queue_stats *out)
{
    if (!q || !q->db || !out)
        return QUEUE_E_ARG;
    memset(out, 0, sizeof *out);
    sqlite3_stmt *st = NULL;
    int rc = prepare(q, &st,
                     "SELECT state, count(*), total(bytes), total(cut_short) FROM tips"
                     " GROUP BY state",
                     NULL, 0);
    if (rc)
        return rc;
    int src;
    while ((src = sqlite3_step(st)) == SQLITE_ROW) {
        int s = sqlite3_column_int(st, 0);
        if (s < 0 || s >= QUEUE_NSTATES)
            continue;
        out->count[s] = (uint32_t)sqlite3_column_int64(st, 1);
        out->bytes[s] = (uint64_t)sqlite3_column_double(st, 2);
        out->cut_short += (uint32_t)sqlite3_column_double(st, 3);
    }
    sqlite3_finalize(st);
    if (src != SQLITE_DONE)
        return db_fail(q, src, NULL, 0, "counting tips");
    /* Delivered tips are only counted: their rows are gone. */
    rc = prepare(q, &st, "SELECT name, value FROM counters", NULL, 0);
    if (rc)
        return rc;
    while ((src = sqlite3_step(st)) == SQLITE_ROW) {
        const char *name = (const char *)sqlite3_column_text(st, 0);
        int64_t v = sqlite3_column_int64(st, 1);
        if (!name || v < 0)
            continue;
        if (strcmp(name, "delivered_tips") == 0)
            out->count[QUEUE_PURGED] += (uint32_t)v;
        else if (strcmp(name, "delivered_bytes") == 0)
            out->delivered_bytes = (uint64_t)v;
        else if (strcmp(name, "last_delivered") == 0)
            out->last_delivered = v;
    }
    sqlite3_finalize(st);
    if (src != SQLITE_DONE)
        return db_fail(q, src, NULL, 0, "counting delivered tips");
    struct queue_tip oldest;
    rc = queue_next_to_send(q, &oldest);
    if (rc == 0)
        out->oldest_waiting = oldest.created;
    else if (rc != QUEUE_E_NOTFOUND)
        return rc;
    char wal[4300];
    snprintf(wal, sizeof wal, "%s-wal", q->path);
    out->db_bytes = file_size(q->path) + file_size(wal);
    return 0;
}

int queue_check(struct queue *q, char *err, size_t errlen)
{
    if (!q || !q->db)
        return say(err, errlen, QUEUE_E_ARG, "queue_check: no open queue");
    char why[512] = "";
    int bad = 0;
    int src = run_check(q, "PRAGMA integrity_check(5)", &bad, why, sizeof why);
    if (src != SQLITE_OK)
        return db_fail(q, src, err, errlen, "checking the queue");
    if (bad)
        return say(err, errlen, QUEUE_E_CORRUPT,
                   "queue database failed its integrity check (%s): restart the kiosk; a "
                   "damaged queue is moved aside at start",
                   why);
    return 0;
}
