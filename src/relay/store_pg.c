/*
 * The relay's store in PostgreSQL (store.h), for a province: several relay
 * nodes on one database, a synchronous standby behind it (docs/relay.md).
 *
 * What SQLite gives the single relay by having one writer, this gives by
 * the database's own locks, so that any node may serve any request:
 *  - a PATCH's bytes are written under the upload's row lock (SELECT ...
 *    FOR UPDATE in the writer's transaction): a PATCH on another node for
 *    the same upload waits, then finds the offset moved (409);
 *  - the post's cursors are handed out under a transaction-level advisory
 *    lock held to the commit, so they become visible in their order: a
 *    post that listed up to cursor N never misses a later commit below N.
 * A commit is acknowledged only when the server says it is durable: with
 * synchronous_commit and a synchronous standby, on both machines.
 *
 * Three connections: the writer and a reader, as for SQLite, and one for
 * the shared replay memory and rates, under the relay's auth lock. A connection
 * that broke (the server restarted, a standby was promoted behind a
 * proxy or a multi-host conninfo) is opened again on the next call.
 * Every value goes as a parameter, bytes in binary; nothing is built into
 * SQL text from a request.
 */
#ifdef HOMTHU_HAVE_LIBPQ

#include "relay/store.h"

#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "core/errbuf.h"

#define SCHEMA_VERSION 1
/* Advisory lock keys: the schema, the tips' cursors, the heartbeats' cursors. */
#define LOCK_SCHEMA "7301"
#define LOCK_TIP_CURSOR "7302"
#define LOCK_BEAT_CURSOR "7303"

struct pg {
    struct store base;
    /*
     * The writer (db_lock), the reader (rd_lock) and one for what the
     * nodes share about requests (auth_lock: rate_take, mark_*).
     */
    PGconn *c[3];
    char *conninfo;
    char err[512];
};

static struct pg *pg_of(struct store *s)
{
    return (struct pg *)s;
}

static const char SCHEMA[] =
    "CREATE TABLE IF NOT EXISTS homthu_schema(version integer NOT NULL);"
    /* The posts this relay serves, and each post's kiosks (its registry). */
    "CREATE TABLE IF NOT EXISTS post("
    " name text PRIMARY KEY,"
    " token_hash bytea NOT NULL UNIQUE CHECK (length(token_hash) = 32)," /* BLAKE2b-256 */
    " key_id bytea NOT NULL CHECK (length(key_id) = 8)," /* of the post's public key */
    " created bigint NOT NULL);"
    "CREATE TABLE IF NOT EXISTS kiosk("
    " post text NOT NULL REFERENCES post(name),"
    " id text NOT NULL,"
    " pk bytea NOT NULL UNIQUE CHECK (length(pk) = 32),"
    " enrolled bigint NOT NULL,"
    " revoked bigint,"
    " reason text,"
    " PRIMARY KEY (post, id));"
    "CREATE TABLE IF NOT EXISTS upload("
    " id bytea PRIMARY KEY CHECK (length(id) = 16),"
    " device bytea NOT NULL CHECK (length(device) = 32),"
    " length bigint NOT NULL,"
    " got bigint NOT NULL DEFAULT 0,"
    " state integer NOT NULL DEFAULT 0," /* 0 partial, 1 complete, 2 cut short, 3 refused */
    " created bigint NOT NULL,"
    " updated bigint NOT NULL,"
    " received bigint,"
    " cursor bigint UNIQUE,"
    " kiosk text,"
    " reason text,"
    " fetched bigint,"
    " purged bigint,"
    " post text NOT NULL);"
    "CREATE INDEX IF NOT EXISTS upload_device ON upload(device);"
    "CREATE INDEX IF NOT EXISTS upload_post ON upload(post, cursor);"
    "CREATE INDEX IF NOT EXISTS upload_partial ON upload(updated) WHERE state = 0;"
    "CREATE TABLE IF NOT EXISTS part("
    " upload bytea NOT NULL,"
    " off bigint NOT NULL,"
    " data bytea NOT NULL,"
    " PRIMARY KEY (upload, off));"
    /* Shared by the nodes: each kiosk's requests by minute, and the signed requests seen. */
    "CREATE TABLE IF NOT EXISTS rate("
    " key bytea NOT NULL, kind integer NOT NULL, minute bigint NOT NULL,"
    " count integer NOT NULL, PRIMARY KEY (key, kind));"
    "CREATE TABLE IF NOT EXISTS mark("
    " key bytea NOT NULL, h bytea NOT NULL, ts bigint NOT NULL, PRIMARY KEY (key, h));"
    "CREATE INDEX IF NOT EXISTS mark_ts ON mark(ts);"
    "CREATE TABLE IF NOT EXISTS heartbeat("
    " device bytea PRIMARY KEY CHECK (length(device) = 32),"
    " kiosk text NOT NULL,"
    " received bigint NOT NULL,"
    " cursor bigint NOT NULL UNIQUE,"
    " blob bytea NOT NULL,"
    " post text NOT NULL);";

static const char UPLOAD_COLUMNS[] =
    "id, device, length, got, state::bigint, created, updated, received, cursor, kiosk, reason, "
    "fetched, purged, post";

/* ---- connections and results ---- */

static void note(struct pg *p, PGconn *c, const char *what)
{
    const char *m = c ? PQerrorMessage(c) : "out of memory";
    size_t n = strlen(m);
    while (n && (m[n - 1] == '\n' || m[n - 1] == ' '))
        n--;
    snprintf(p->err, sizeof p->err, "%s: %.*s", what, (int)n, m);
}

enum { WRITER, READER, AUTH };

/*
 * A connection just (re)opened. The shared replay memory and rates do not
 * wait for the disk (synchronous_commit = off: flushed within a fraction
 * of a second, never to the standby first): they are what the relay of one
 * post keeps in memory, and losing the last moment of them at a crash or a
 * failover lets a request captured in that moment be replayed once, as a
 * relay restart does (docs/relay-protocol.md). Everything a kiosk is told
 * is kept goes through the writer, which waits for both disks.
 */
static int opened(struct pg *p, int which)
{
    if (which != AUTH)
        return 0;
    PGresult *res = PQexec(p->c[which], "SET synchronous_commit = off");
    int ok = PQresultStatus(res) == PGRES_COMMAND_OK;
    if (!ok)
        note(p, p->c[which], "PostgreSQL");
    PQclear(res);
    return ok ? 0 : -1;
}

/* The connection, opened again if it broke. NULL when the server cannot be reached. */
static PGconn *conn(struct pg *p, int which)
{
    PGconn **c = &p->c[which];
    if (*c && PQstatus(*c) == CONNECTION_OK)
        return *c;
    if (*c)
        PQreset(*c);
    else
        *c = PQconnectdb(p->conninfo);
    if (!*c || PQstatus(*c) != CONNECTION_OK) {
        note(p, *c, "PostgreSQL");
        return NULL;
    }
    return opened(p, which) ? NULL : *c;
}

/*
 * One statement with parameters: text for numbers, binary for bytes
 * (lens[i] > 0 marks a binary one). Results in binary. NULL on failure,
 * with the reason noted.
 */
static int in_tx(struct pg *p);

static PGresult *run(struct pg *p, int which, const char *sql, int n, const char *const *vals,
                     const int *lens)
{
    PGconn *c = conn(p, which);
    if (!c)
        return NULL;
    int fmts[8] = {0};
    for (int i = 0; i < n && i < 8; i++)
        fmts[i] = lens && lens[i] > 0;
    int was_in_tx = which == WRITER && in_tx(p);
    PGresult *res = PQexecParams(c, sql, n, NULL, vals, lens, fmts, 1);
    ExecStatusType st = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
    if (st == PGRES_FATAL_ERROR && PQstatus(c) == CONNECTION_BAD && !was_in_tx) {
        /*
         * The connection had broken while idle (a failover, a server
         * restart): open it again and ask once more, rather than fail the
         * first request after it. Never inside a transaction, whose
         * writes went with the connection.
         */
        PQclear(res);
        c = conn(p, which);
        if (!c)
            return NULL;
        res = PQexecParams(c, sql, n, NULL, vals, lens, fmts, 1);
        st = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
    }
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
        note(p, c, "PostgreSQL");
        PQclear(res);
        return NULL;
    }
    return res;
}

/* A statement whose rows do not matter: 0 or -1. */
static int run0(struct pg *p, int reader, const char *sql, int n, const char *const *vals,
                const int *lens)
{
    PGresult *res = run(p, reader, sql, n, vals, lens);
    PQclear(res);
    return res ? 0 : -1;
}

static int64_t be64(const char *b)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | (uint8_t)b[i];
    return (int64_t)v;
}

/* A bigint column (binary); NULL reads as 0. */
static int64_t col_i64(const PGresult *res, int row, int col)
{
    if (PQgetisnull(res, row, col) || PQgetlength(res, row, col) != 8)
        return 0;
    return be64(PQgetvalue(res, row, col));
}

static void col_text(const PGresult *res, int row, int col, char *out, size_t cap)
{
    if (PQgetisnull(res, row, col))
        out[0] = 0;
    else
        snprintf(out, cap, "%.*s", PQgetlength(res, row, col), PQgetvalue(res, row, col));
}

static int col_bytes(const PGresult *res, int row, int col, uint8_t *out, int want)
{
    if (PQgetisnull(res, row, col) || PQgetlength(res, row, col) != want)
        return -1;
    memcpy(out, PQgetvalue(res, row, col), (size_t)want);
    return 0;
}

static void num(char out[24], int64_t v)
{
    snprintf(out, 24, "%lld", (long long)v);
}

/* Whether the writer is inside a transaction (a broken connection is not). */
static int in_tx(struct pg *p)
{
    if (!p->c[WRITER])
        return 0;
    PGTransactionStatusType t = PQtransactionStatus(p->c[WRITER]);
    return t == PQTRANS_INTRANS || t == PQTRANS_INERROR || t == PQTRANS_ACTIVE;
}

/* ---- transactions ---- */

static const char *pg_errmsg(struct store *s)
{
    return pg_of(s)->err;
}

static int pg_begin(struct store *s)
{
    return run0(pg_of(s), 0, "BEGIN", 0, NULL, NULL);
}

static int pg_commit(struct store *s)
{
    /*
     * COMMIT returns once the commit is durable as the server is told
     * (synchronous_commit: with a synchronous standby, on it too). A
     * broken connection here leaves it unknown: the relay answers 500 and
     * the kiosk asks again with HEAD, which reads what was kept.
     *
     * Only the transaction begin() opened is committed. If the connection
     * broke in it, a later statement opened a new one (conn()) outside any
     * transaction, where COMMIT "succeeds" with a warning while all that
     * was written before the break is gone; and COMMIT of a transaction a
     * failed statement aborted answers ROLLBACK, with success too.
     */
    struct pg *p = pg_of(s);
    PGconn *c = p->c[WRITER];
    if (!c || PQstatus(c) != CONNECTION_OK || PQtransactionStatus(c) != PQTRANS_INTRANS) {
        snprintf(p->err, sizeof p->err,
                 "PostgreSQL: the transaction was lost (its connection broke or a statement in "
                 "it failed): nothing of it was committed");
        return -1;
    }
    PGresult *res = PQexec(c, "COMMIT");
    int ok = PQresultStatus(res) == PGRES_COMMAND_OK && strcmp(PQcmdStatus(res), "COMMIT") == 0;
    if (!ok)
        note(p, c, "PostgreSQL");
    PQclear(res);
    return ok ? 0 : -1;
}

static void pg_rollback(struct store *s)
{
    struct pg *p = pg_of(s);
    if (p->c[WRITER] && PQstatus(p->c[WRITER]) == CONNECTION_OK)
        PQclear(PQexec(p->c[WRITER], "ROLLBACK"));
}

static int pg_savepoint(struct store *s)
{
    return run0(pg_of(s), 0, "SAVEPOINT job", 0, NULL, NULL);
}

static void pg_rollback_to(struct store *s)
{
    run0(pg_of(s), 0, "ROLLBACK TO SAVEPOINT job", 0, NULL, NULL);
}

static void pg_release(struct store *s)
{
    run0(pg_of(s), 0, "RELEASE SAVEPOINT job", 0, NULL, NULL);
}

/* ---- uploads ---- */

static void upload_row(const PGresult *res, int i, struct store_upload *u)
{
    memset(u, 0, sizeof *u);
    col_bytes(res, i, 0, u->id, 16);
    col_bytes(res, i, 1, u->device, 32);
    u->length = (uint64_t)col_i64(res, i, 2);
    u->got = (uint64_t)col_i64(res, i, 3);
    u->state = (int)col_i64(res, i, 4);
    u->created = col_i64(res, i, 5);
    u->updated = col_i64(res, i, 6);
    u->received = col_i64(res, i, 7);
    u->cursor = col_i64(res, i, 8);
    col_text(res, i, 9, u->kiosk, sizeof u->kiosk);
    col_text(res, i, 10, u->reason, sizeof u->reason);
    u->fetched = col_i64(res, i, 11);
    u->purged = col_i64(res, i, 12);
    col_text(res, i, 13, u->post, sizeof u->post);
}

static int pg_upload_get(struct store *s, int reader, const uint8_t id[16], struct store_upload *u)
{
    struct pg *p = pg_of(s);
    char sql[256];
    /* In the writer's transaction the row stays locked to its end (see the top). */
    snprintf(sql, sizeof sql, "SELECT %s FROM upload WHERE id = $1%s", UPLOAD_COLUMNS,
             !reader && in_tx(p) ? " FOR UPDATE" : "");
    const char *v[] = {(const char *)id};
    int l[] = {16};
    PGresult *res = run(p, reader, sql, 1, v, l);
    if (!res)
        return -1;
    int found = PQntuples(res) > 0;
    if (found)
        upload_row(res, 0, u);
    PQclear(res);
    return found;
}

static int pg_upload_delete(struct store *s, const uint8_t id[16])
{
    struct pg *p = pg_of(s);
    const char *v[] = {(const char *)id};
    int l[] = {16};
    int own = !in_tx(p);
    if (own && run0(p, 0, "BEGIN", 0, NULL, NULL))
        return -1;
    int rc = run0(p, 0, "DELETE FROM part WHERE upload = $1", 1, v, l) ||
                     run0(p, 0, "DELETE FROM upload WHERE id = $1", 1, v, l)
                 ? -1
                 : 0;
    if (own) {
        if (rc == 0 && run0(p, 0, "COMMIT", 0, NULL, NULL) == 0)
            return 0;
        pg_rollback(s);
        return -1;
    }
    return rc;
}

static int pg_device_held(struct store *s, const uint8_t device[32], const uint8_t except[16],
                          uint64_t *held)
{
    const char *v[] = {(const char *)device, (const char *)except};
    int l[] = {32, 16};
    PGresult *res = run(pg_of(s), 0,
                        "SELECT coalesce(sum(length), 0)::bigint FROM upload"
                        " WHERE device = $1 AND fetched IS NULL AND purged IS NULL AND id <> $2",
                        2, v, l);
    if (!res)
        return -1;
    *held = (uint64_t)col_i64(res, 0, 0);
    PQclear(res);
    return 0;
}

static int pg_upload_insert(struct store *s, const uint8_t id[16], const uint8_t device[32],
                            uint64_t length, int64_t t, const char *kiosk, const char *post)
{
    char len[24], ts[24];
    num(len, (int64_t)length);
    num(ts, t);
    const char *v[] = {(const char *)id, (const char *)device, len, ts, kiosk, post};
    int l[] = {16, 32, 0, 0, 0, 0};
    return run0(pg_of(s), 0,
                "INSERT INTO upload(id, device, length, created, updated, kiosk, post)"
                " VALUES($1, $2, $3, $4, $4, $5, $6)",
                6, v, l);
}

static int pg_part_append(struct store *s, const uint8_t id[16], uint64_t at, const uint8_t *data,
                          size_t n, int64_t t)
{
    struct pg *p = pg_of(s);
    char off[24], got[24], ts[24];
    num(off, (int64_t)at);
    num(got, (int64_t)(at + n));
    num(ts, t);
    const char *v[] = {(const char *)id, off, (const char *)data};
    int l[] = {16, 0, (int)n};
    if (run0(p, 0, "INSERT INTO part(upload, off, data) VALUES($1, $2, $3)", 3, v, l))
        return -1;
    const char *w[] = {got, ts, (const char *)id};
    int wl[] = {0, 0, 16};
    return run0(p, 0, "UPDATE upload SET got = $1, updated = $2 WHERE id = $3", 3, w, wl);
}

/* max(cursor) + 1 of `table`, under the advisory lock `key` held to the commit. */
static int next_cursor(struct pg *p, const char *key, const char *table, int64_t *cursor)
{
    char sql[128];
    const char *v[] = {key};
    if (run0(p, 0, "SELECT pg_advisory_xact_lock($1::bigint)", 1, v, NULL))
        return -1;
    /* A statement of its own: its snapshot is taken after the lock is ours. */
    snprintf(sql, sizeof sql, "SELECT coalesce(max(cursor), 0)::bigint + 1 FROM %s", table);
    PGresult *res = run(p, 0, sql, 0, NULL, NULL);
    if (!res)
        return -1;
    *cursor = col_i64(res, 0, 0);
    PQclear(res);
    return 0;
}

static int pg_upload_settle(struct store *s, const uint8_t id[16], int state, int64_t t,
                            const char *why, int64_t *cursor)
{
    struct pg *p = pg_of(s);
    *cursor = 0;
    if (state != STORE_REJECTED && next_cursor(p, LOCK_TIP_CURSOR, "upload", cursor))
        return -1;
    char st[24], ts[24], cur[24];
    num(st, state);
    num(ts, t);
    num(cur, *cursor);
    const char *v[] = {st, ts, *cursor ? cur : NULL,
                       state == STORE_REJECTED ? (why ? why : "") : NULL, (const char *)id};
    int l[] = {0, 0, 0, 0, 16};
    return run0(p, 0,
                "UPDATE upload SET state = $1, received = $2, cursor = $3, reason = $4"
                " WHERE id = $5",
                5, v, l);
}

static int pg_read_parts(struct store *s, int reader, const uint8_t id[16], uint8_t *out,
                         uint64_t n)
{
    char lim[24];
    num(lim, (int64_t)n);
    const char *v[] = {(const char *)id, lim};
    int l[] = {16, 0};
    PGresult *res = run(pg_of(s), reader,
                        "SELECT off, data FROM part WHERE upload = $1 AND off < $2 ORDER BY off", 2,
                        v, l);
    if (!res)
        return -1;
    uint64_t at = 0;
    int rc = 0;
    for (int i = 0; i < PQntuples(res); i++) {
        uint64_t off = (uint64_t)col_i64(res, i, 0);
        size_t k = (size_t)PQgetlength(res, i, 1);
        if (off != at || k > n - at) {
            rc = -2;
            break;
        }
        memcpy(out + at, PQgetvalue(res, i, 1), k);
        at += k;
    }
    PQclear(res);
    return rc == 0 && at != n ? -2 : rc;
}

static int pg_upload_fetched(struct store *s, const uint8_t id[16], int64_t t)
{
    char ts[24];
    num(ts, t);
    const char *v[] = {ts, (const char *)id};
    int l[] = {0, 16};
    return run0(pg_of(s), 0, "UPDATE upload SET fetched = $1 WHERE id = $2", 2, v, l);
}

static int pg_tips_list(struct store *s, const char *post, int64_t after, int64_t limit,
                        store_tip_fn fn, void *ctx)
{
    char a[24], n[24];
    num(a, after);
    num(n, limit);
    const char *v[] = {a, n, post};
    PGresult *res = run(pg_of(s), 0,
                        "SELECT id, cursor, length, received, kiosk, state::bigint FROM upload"
                        " WHERE post = $3 AND cursor > $1 AND state IN (1, 2) AND purged IS NULL"
                        " ORDER BY cursor LIMIT $2",
                        3, v, NULL);
    if (!res)
        return -1;
    for (int i = 0; i < PQntuples(res); i++) {
        struct store_tip t;
        memset(&t, 0, sizeof t);
        col_bytes(res, i, 0, t.id, 16);
        t.cursor = col_i64(res, i, 1);
        t.length = (uint64_t)col_i64(res, i, 2);
        t.received = col_i64(res, i, 3);
        col_text(res, i, 4, t.kiosk, sizeof t.kiosk);
        t.state = (int)col_i64(res, i, 5);
        if (fn(ctx, &t))
            break;
    }
    PQclear(res);
    return 0;
}

/* ---- heartbeats ---- */

static int pg_beat_put(struct store *s, const char *post, const uint8_t device[32],
                       const char *kiosk, int64_t t, const uint8_t *blob, size_t n)
{
    struct pg *p = pg_of(s);
    int own = !in_tx(p);
    int64_t cursor;
    if (own && run0(p, 0, "BEGIN", 0, NULL, NULL))
        return -1;
    char ts[24], cur[24];
    num(ts, t);
    int rc = next_cursor(p, LOCK_BEAT_CURSOR, "heartbeat", &cursor);
    if (rc == 0) {
        num(cur, cursor);
        const char *v[] = {(const char *)device, kiosk, ts, cur, (const char *)blob, post};
        int l[] = {32, 0, 0, 0, (int)n, 0};
        rc = run0(p, 0,
                  "INSERT INTO heartbeat(device, kiosk, received, cursor, blob, post)"
                  " VALUES($1, $2, $3, $4, $5, $6) ON CONFLICT (device) DO UPDATE SET"
                  " kiosk = EXCLUDED.kiosk, received = EXCLUDED.received,"
                  " cursor = EXCLUDED.cursor, blob = EXCLUDED.blob, post = EXCLUDED.post",
                  6, v, l);
    }
    if (own) {
        if (rc == 0 && run0(p, 0, "COMMIT", 0, NULL, NULL) == 0)
            return 0;
        pg_rollback(s);
        return -1;
    }
    return rc;
}

static int pg_beats_list(struct store *s, const char *post, int64_t after, int64_t limit,
                         store_beat_fn fn, void *ctx)
{
    char a[24], n[24];
    num(a, after);
    num(n, limit);
    const char *v[] = {a, n, post};
    PGresult *res = run(pg_of(s), 0,
                        "SELECT device, kiosk, received, cursor, blob FROM heartbeat"
                        " WHERE post = $3 AND cursor > $1 ORDER BY cursor LIMIT $2",
                        3, v, NULL);
    if (!res)
        return -1;
    for (int i = 0; i < PQntuples(res); i++) {
        struct store_beat b;
        memset(&b, 0, sizeof b);
        if (col_bytes(res, i, 0, b.device, 32))
            continue;
        col_text(res, i, 1, b.kiosk, sizeof b.kiosk);
        b.received = col_i64(res, i, 2);
        b.cursor = col_i64(res, i, 3);
        b.blob = (const uint8_t *)PQgetvalue(res, i, 4);
        b.blob_len = (size_t)PQgetlength(res, i, 4);
        if (fn(ctx, &b))
            break;
    }
    PQclear(res);
    return 0;
}

/* ---- housekeeping ---- */

static int pg_partial_before(struct store *s, int64_t before, uint8_t (**ids)[16], size_t *n)
{
    char b[24];
    num(b, before);
    const char *v[] = {b};
    *ids = NULL;
    *n = 0;
    PGresult *res =
        run(pg_of(s), 0, "SELECT id FROM upload WHERE state = 0 AND updated <= $1", 1, v, NULL);
    if (!res)
        return -1;
    int rows = PQntuples(res);
    if (rows > 0) {
        *ids = malloc((size_t)rows * 16);
        for (int i = 0; *ids && i < rows; i++)
            if (col_bytes(res, i, 0, (*ids)[*n], 16) == 0)
                (*n)++;
    }
    PQclear(res);
    return 0;
}

static int pg_purge(struct store *s, int64_t t, int64_t fetched_before, int64_t refused_before,
                    int purged[2])
{
    struct pg *p = pg_of(s);
    static const char *const sql[] = {
        "UPDATE upload SET purged = $1 WHERE purged IS NULL AND fetched IS NOT NULL"
        " AND fetched <= $2",
        "UPDATE upload SET purged = $1 WHERE purged IS NULL AND state = 3 AND received <= $2",
    };
    char ts[24], b[2][24];
    num(ts, t);
    num(b[0], fetched_before);
    num(b[1], refused_before);
    purged[0] = purged[1] = 0;
    if (run0(p, 0, "BEGIN", 0, NULL, NULL))
        return -1;
    for (int i = 0; i < 2; i++) {
        const char *v[] = {ts, b[i]};
        PGresult *res = run(p, 0, sql[i], 2, v, NULL);
        if (!res)
            goto rollback;
        purged[i] = atoi(PQcmdTuples(res));
        PQclear(res);
    }
    if (run0(p, 0,
             "DELETE FROM part WHERE upload IN (SELECT id FROM upload WHERE purged IS NOT NULL)",
             0, NULL, NULL) ||
        run0(p, 0, "COMMIT", 0, NULL, NULL))
        goto rollback;
    return 0;
rollback:
    pg_rollback(s);
    purged[0] = purged[1] = 0;
    return -1;
}

/* ---- what the nodes share about requests ---- */

static int pg_rate_take(struct store *s, const uint8_t key[32], int kind, int64_t minute, int limit)
{
    char k[24], m[24], l[24];
    num(k, kind);
    num(m, minute);
    num(l, limit);
    const char *v[] = {(const char *)key, k, m, l};
    int len[] = {32, 0, 0, 0};
    /* A new minute starts the count again; within one, at most `limit` are taken. */
    PGresult *res = run(pg_of(s), AUTH,
                        "INSERT INTO rate AS r(key, kind, minute, count) VALUES($1, $2, $3, 1)"
                        " ON CONFLICT (key, kind) DO UPDATE SET"
                        " minute = EXCLUDED.minute,"
                        " count = CASE WHEN r.minute = EXCLUDED.minute THEN r.count + 1 ELSE 1 END"
                        " WHERE r.minute <> EXCLUDED.minute OR r.count < $4"
                        " RETURNING count",
                        4, v, len);
    if (!res)
        return -1;
    int taken = PQntuples(res) == 1;
    PQclear(res);
    return taken;
}

static int pg_mark_seen(struct store *s, const uint8_t key[32], const uint8_t h[16])
{
    const char *v[] = {(const char *)key, (const char *)h};
    int l[] = {32, 16};
    PGresult *res = run(pg_of(s), AUTH, "SELECT 1 FROM mark WHERE key = $1 AND h = $2", 2, v, l);
    if (!res)
        return -1;
    int seen = PQntuples(res) > 0;
    PQclear(res);
    return seen;
}

static int pg_mark_take(struct store *s, const uint8_t key[32], const uint8_t h[16], int64_t ts)
{
    char t[24];
    num(t, ts);
    const char *v[] = {(const char *)key, (const char *)h, t};
    int l[] = {32, 16, 0};
    PGresult *res = run(pg_of(s), AUTH,
                        "INSERT INTO mark(key, h, ts) VALUES($1, $2, $3) ON CONFLICT DO NOTHING",
                        3, v, l);
    if (!res)
        return -1;
    int taken = atoi(PQcmdTuples(res)) == 1;
    PQclear(res);
    return taken;
}

static int pg_marks_expire(struct store *s, int64_t ts_before, int64_t minute_before)
{
    char t[24], m[24];
    num(t, ts_before);
    num(m, minute_before);
    const char *v[] = {t};
    const char *w[] = {m};
    return run0(pg_of(s), 0, "DELETE FROM mark WHERE ts < $1", 1, v, NULL) ||
                   run0(pg_of(s), 0, "DELETE FROM rate WHERE minute < $1", 1, w, NULL)
               ? -1
               : 0;
}

/* ---- posts and their kiosks ---- */

static int pg_post_find(struct store *s, const uint8_t *token_hash, const char *name,
                        char out[STORE_POST_MAX + 1], uint8_t key_id[8])
{
    const char *v[] = {token_hash ? (const char *)token_hash : name};
    int l[] = {token_hash ? 32 : 0};
    PGresult *res = run(pg_of(s), AUTH,
                        token_hash ? "SELECT name, key_id FROM post WHERE token_hash = $1"
                                   : "SELECT name, key_id FROM post WHERE name = $1",
                        1, v, l);
    if (!res)
        return -1;
    int found = PQntuples(res) == 1;
    if (found) {
        col_text(res, 0, 0, out, STORE_POST_MAX + 1);
        if (col_bytes(res, 0, 1, key_id, 8))
            found = -1;
    }
    PQclear(res);
    return found;
}

static int pg_post_add(struct store *s, const char *name, const uint8_t token_hash[32],
                       const uint8_t key_id[8], int64_t t)
{
    char ts[24];
    num(ts, t);
    const char *v[] = {name, (const char *)token_hash, (const char *)key_id, ts};
    int l[] = {0, 32, 8, 0};
    PGresult *res = run(pg_of(s), AUTH,
                        "INSERT INTO post(name, token_hash, key_id, created) VALUES($1, $2, $3, $4)"
                        " ON CONFLICT DO NOTHING",
                        4, v, l);
    if (!res)
        return -1;
    int added = atoi(PQcmdTuples(res)) == 1;
    PQclear(res);
    return added ? 0 : REGISTRY_E_EXISTS;
}

static void kiosk_row(const PGresult *res, int i, struct registry_entry *e)
{
    memset(e, 0, sizeof *e);
    col_text(res, i, 0, e->id, sizeof e->id);
    col_bytes(res, i, 1, e->device_pk, 32);
    e->enrolled = col_i64(res, i, 2);
    e->revoked = col_i64(res, i, 3);
    col_text(res, i, 4, e->reason, sizeof e->reason);
}

static int pg_device_find(struct store *s, const uint8_t pk[32], struct registry_entry *e,
                          char post[STORE_POST_MAX + 1])
{
    const char *v[] = {(const char *)pk};
    int l[] = {32};
    PGresult *res = run(pg_of(s), AUTH,
                        "SELECT id, pk, enrolled, revoked, reason, post FROM kiosk WHERE pk = $1", 1,
                        v, l);
    if (!res)
        return -1;
    int rc = REGISTRY_E_NOTFOUND;
    if (PQntuples(res) == 1) {
        kiosk_row(res, 0, e);
        col_text(res, 0, 5, post, STORE_POST_MAX + 1);
        rc = 0;
    }
    PQclear(res);
    return rc;
}

static int pg_device_get(struct store *s, const char *post, const char *id,
                         struct registry_entry *e)
{
    const char *v[] = {post, id};
    PGresult *res = run(pg_of(s), AUTH,
                        "SELECT id, pk, enrolled, revoked, reason FROM kiosk"
                        " WHERE post = $1 AND id = $2",
                        2, v, NULL);
    if (!res)
        return -1;
    int rc = REGISTRY_E_NOTFOUND;
    if (PQntuples(res) == 1) {
        kiosk_row(res, 0, e);
        rc = 0;
    }
    PQclear(res);
    return rc;
}

static int pg_device_enrol(struct store *s, const char *post, const char *id, const uint8_t pk[32],
                           int64_t t)
{
    char ts[24];
    num(ts, t);
    const char *v[] = {post, id, (const char *)pk, ts};
    int l[] = {0, 0, 32, 0};
    /* A key is one kiosk's anywhere: no post can enrol another post's kiosk. */
    PGresult *res = run(pg_of(s), AUTH,
                        "INSERT INTO kiosk(post, id, pk, enrolled) VALUES($1, $2, $3, $4)"
                        " ON CONFLICT DO NOTHING",
                        4, v, l);
    if (!res)
        return -1;
    int added = atoi(PQcmdTuples(res)) == 1;
    PQclear(res);
    return added ? 0 : REGISTRY_E_EXISTS;
}

static int pg_device_revoke(struct store *s, const char *post, const char *id, const char *reason,
                            int64_t t)
{
    struct registry_entry e;
    int rc = pg_device_get(s, post, id, &e);
    if (rc)
        return rc;
    if (e.revoked)
        return REGISTRY_E_REVOKED;
    char ts[24];
    num(ts, t);
    const char *v[] = {ts, reason, post, id};
    return run0(pg_of(s), AUTH,
                "UPDATE kiosk SET revoked = $1, reason = $2 WHERE post = $3 AND id = $4"
                " AND revoked IS NULL",
                4, v, NULL);
}

static void pg_close(struct store *s)
{
    struct pg *p = pg_of(s);
    if (!p)
        return;
    for (int i = 0; i < 3; i++)
        if (p->c[i])
            PQfinish(p->c[i]);
    free(p->conninfo);
    free(p);
}

static const struct store_ops PG_OPS = {
    .close = pg_close,
    .errmsg = pg_errmsg,
    .begin = pg_begin,
    .commit = pg_commit,
    .rollback = pg_rollback,
    .savepoint = pg_savepoint,
    .rollback_to = pg_rollback_to,
    .release = pg_release,
    .upload_get = pg_upload_get,
    .upload_delete = pg_upload_delete,
    .device_held = pg_device_held,
    .upload_insert = pg_upload_insert,
    .part_append = pg_part_append,
    .upload_settle = pg_upload_settle,
    .read_parts = pg_read_parts,
    .upload_fetched = pg_upload_fetched,
    .tips_list = pg_tips_list,
    .beat_put = pg_beat_put,
    .beats_list = pg_beats_list,
    .partial_before = pg_partial_before,
    .purge = pg_purge,
    .rate_take = pg_rate_take,
    .mark_seen = pg_mark_seen,
    .mark_take = pg_mark_take,
    .marks_expire = pg_marks_expire,
    .post_find = pg_post_find,
    .post_add = pg_post_add,
    .device_find = pg_device_find,
    .device_get = pg_device_get,
    .device_enrol = pg_device_enrol,
    .device_revoke = pg_device_revoke,
};

/*
 * Make the tables when missing, once for all nodes starting together
 * (under an advisory lock), and refuse a database of a newer relay.
 */
static int schema(struct pg *p, char *err, size_t errlen)
{
    const char *v[] = {LOCK_SCHEMA};
    if (run0(p, 0, "BEGIN", 0, NULL, NULL) ||
        run0(p, 0, "SELECT pg_advisory_xact_lock($1::bigint)", 1, v, NULL))
        goto failed;
    PGconn *c = conn(p, WRITER);
    PGresult *res = c ? PQexec(c, SCHEMA) : NULL;
    if (!res || PQresultStatus(res) != PGRES_COMMAND_OK) {
        note(p, c, "PostgreSQL");
        PQclear(res);
        goto failed;
    }
    PQclear(res);
    res = run(p, 0, "SELECT coalesce(max(version), 0)::bigint FROM homthu_schema", 0, NULL, NULL);
    if (!res)
        goto failed;
    int64_t version = col_i64(res, 0, 0);
    PQclear(res);
    if (version > SCHEMA_VERSION) {
        pg_rollback(&p->base);
        errbuf_say(err, errlen, 0,
                   "the PostgreSQL database was made by a newer homthu-relay (schema %lld): "
                   "update the relay",
                   (long long)version);
        return -1;
    }
    if (version == 0 &&
        run0(p, 0, "INSERT INTO homthu_schema(version) VALUES (1)", 0, NULL, NULL))
        goto failed;
    if (run0(p, 0, "COMMIT", 0, NULL, NULL))
        goto failed;
    return 0;
failed:
    pg_rollback(&p->base);
    errbuf_say(err, errlen, 0, "%s", p->err);
    return -1;
}

int store_pg_open(struct store **out, const char *conninfo, char *err, size_t errlen)
{
    *out = NULL;
    struct pg *p = calloc(1, sizeof *p);
    if (!p || !(p->conninfo = strdup(conninfo))) {
        free(p);
        errbuf_say(err, errlen, 0, "relay: out of memory");
        return -1;
    }
    p->base.ops = &PG_OPS;
    p->base.has_reader = 1;
    if (!conn(p, WRITER) || !conn(p, READER) || !conn(p, AUTH)) {
        errbuf_say(err, errlen, 0,
                   "cannot reach the relay's PostgreSQL database (%s): check database in "
                   "relay.conf and that the server runs",
                   p->err);
        pg_close(&p->base);
        return -1;
    }
    if (schema(p, err, errlen)) {
        pg_close(&p->base);
        return -1;
    }
    *out = &p->base;
    return 0;
}

#endif /* HOMTHU_HAVE_LIBPQ */
