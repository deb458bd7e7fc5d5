/* registry — see registry.h and docs/keys.md ("The registry"). */
#include "core/registry.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "core/config.h"

struct registry {
    sqlite3 *db;
    char *path;
    sqlite3_stmt *by_device; /* prepared once: the reader asks for every envelope */
    char last[512];
};

static const char SCHEMA[] = "CREATE TABLE kiosk("
                             " seq INTEGER PRIMARY KEY," /* enrolment order */
                             " id TEXT NOT NULL UNIQUE,"
                             " device_pk BLOB NOT NULL UNIQUE CHECK(length(device_pk) = 32),"
                             " enrolled INTEGER NOT NULL," /* Unix seconds */
                             " revoked INTEGER,"           /* NULL while active */
                             " reason TEXT,"
                             " CHECK((revoked IS NULL) = (reason IS NULL)));"
                             "PRAGMA user_version = 1;";

static const char COLUMNS[] = "id, device_pk, enrolled, revoked, reason";

/* Record the message for registry_last_error() and hand it to the caller. */
static void fail(struct registry *r, char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void fail(struct registry *r, char *err, size_t errlen, const char *fmt, ...)
{
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if (r)
        memcpy(r->last, buf, sizeof buf);
    if (err && errlen)
        snprintf(err, errlen, "%s", buf);
}

static int db_error(struct registry *r, const char *what, char *err, size_t errlen)
{
    int code = sqlite3_errcode(r->db);
    if (code == SQLITE_BUSY || code == SQLITE_LOCKED) {
        fail(r, err, errlen,
             "%s is busy: another homthu program is changing it; try again in a moment", r->path);
    } else if (code == SQLITE_NOTADB || code == SQLITE_CORRUPT) {
        fail(r, err, errlen, "%s is damaged (%s): restore it from your backup", r->path,
             sqlite3_errmsg(r->db));
    } else {
        fail(r, err, errlen, "%s: cannot %s: %s (is the disk full or read-only?)", r->path, what,
             sqlite3_errmsg(r->db));
    }
    return REGISTRY_E_IO;
}

static void when(int64_t t, char buf[32])
{
    time_t tt = (time_t)t;
    struct tm tm;
    if (!gmtime_r(&tt, &tm) || !strftime(buf, 32, "%Y-%m-%d %H:%M UTC", &tm))
        snprintf(buf, 32, "@%lld", (long long)t);
}

void registry_close(struct registry *r)
{
    if (!r)
        return;
    sqlite3_finalize(r->by_device);
    sqlite3_close(r->db);
    free(r->path);
    free(r);
}

const char *registry_last_error(const struct registry *r)
{
    return r ? r->last : "";
}

static int exec(struct registry *r, const char *sql, const char *what, char *err, size_t errlen)
{
    if (sqlite3_exec(r->db, sql, NULL, NULL, NULL) != SQLITE_OK)
        return db_error(r, what, err, errlen);
    return 0;
}

int registry_open(struct registry **out, const char *path, int create, char *err, size_t errlen)
{
    if (!out || !path)
        return REGISTRY_E_ARG;
    *out = NULL;
    int rc = REGISTRY_E_IO;
    sqlite3_stmt *st = NULL;
    struct registry *r = calloc(1, sizeof *r);
    if (!r || !(r->path = strdup(path))) {
        fail(NULL, err, errlen, "out of memory opening %s", path);
        free(r);
        return REGISTRY_E_IO;
    }
    if (create && access(path, F_OK) == 0) {
        fail(r, err, errlen,
             "%s already exists: refusing to start a new registry over it (move it away first "
             "if you really mean to)",
             path);
        rc = REGISTRY_E_EXISTS;
        goto out;
    }
    int flags = SQLITE_OPEN_READWRITE | (create ? SQLITE_OPEN_CREATE : 0);
    if (sqlite3_open_v2(path, &r->db, flags, NULL) != SQLITE_OK) {
        if (!create && access(path, F_OK) != 0)
            fail(r, err, errlen,
                 "no registry at %s: check --post, or make the post's keys first with "
                 "homthu-provision post-init",
                 path);
        else
            fail(r, err, errlen, "cannot open %s: %s (check its permissions)", path,
                 r->db ? sqlite3_errmsg(r->db) : "out of memory");
        goto out;
    }
    sqlite3_busy_timeout(r->db, 5000);
    /* Enrolments are rare and precious: every commit reaches the disk. */
    if ((rc = exec(r, "PRAGMA synchronous = FULL", "set it up", err, errlen)))
        goto out;
    if (create) {
        if ((rc = exec(r, "BEGIN", "create it", err, errlen)) ||
            (rc = exec(r, SCHEMA, "create it", err, errlen)) ||
            (rc = exec(r, "COMMIT", "create it", err, errlen))) {
            unlink(path);
            goto out;
        }
    }
    rc = REGISTRY_E_IO;
    if (sqlite3_prepare_v2(r->db, "PRAGMA user_version", -1, &st, NULL) != SQLITE_OK ||
        sqlite3_step(st) != SQLITE_ROW) {
        db_error(r, "read it", err, errlen);
        goto out;
    }
    int version = sqlite3_column_int(st, 0);
    if (version > REGISTRY_SCHEMA_VERSION) {
        fail(r, err, errlen,
             "%s was made by a newer homthu (schema %d, this program knows %d): update "
             "homthu-provision",
             path, version, REGISTRY_SCHEMA_VERSION);
        rc = REGISTRY_E_SCHEMA;
        goto out;
    }
    if (version < 1) {
        fail(r, err, errlen,
             "%s is not a homthu registry (no schema): check --post, or restore it from your "
             "backup",
             path);
        goto out;
    }
    char sql[128];
    snprintf(sql, sizeof sql, "SELECT %s FROM kiosk WHERE device_pk = ?", COLUMNS);
    if (sqlite3_prepare_v2(r->db, sql, -1, &r->by_device, NULL) != SQLITE_OK) {
        db_error(r, "read it", err, errlen);
        goto out;
    }
    rc = 0;
    *out = r;
    r = NULL;
out:
    sqlite3_finalize(st);
    registry_close(r);
    return rc;
}

/* Copy one row (COLUMNS order) into `e`, bounded whatever the file holds. */
static void row(sqlite3_stmt *st, struct registry_entry *e)
{
    memset(e, 0, sizeof *e);
    const unsigned char *id = sqlite3_column_text(st, 0);
    snprintf(e->id, sizeof e->id, "%s", id ? (const char *)id : "");
    if (sqlite3_column_bytes(st, 1) == (int)sizeof e->device_pk)
        memcpy(e->device_pk, sqlite3_column_blob(st, 1), sizeof e->device_pk);
    e->enrolled = sqlite3_column_int64(st, 2);
    if (sqlite3_column_type(st, 3) != SQLITE_NULL) {
        e->revoked = sqlite3_column_int64(st, 3);
        if (e->revoked == 0)
            e->revoked = 1; /* revoked at the epoch is still revoked */
        const unsigned char *why = sqlite3_column_text(st, 4);
        snprintf(e->reason, sizeof e->reason, "%s", why ? (const char *)why : "");
    }
}

/* One-row lookup by id (key == 0) or device key (key == 1). */
static int lookup(struct registry *r, int key, const void *what, struct registry_entry *out,
                  char *err, size_t errlen)
{
    sqlite3_stmt *st = NULL;
    char sql[128];
    snprintf(sql, sizeof sql, "SELECT %s FROM kiosk WHERE %s = ?", COLUMNS,
             key ? "device_pk" : "id");
    if (sqlite3_prepare_v2(r->db, sql, -1, &st, NULL) != SQLITE_OK)
        return db_error(r, "read it", err, errlen);
    if (key)
        sqlite3_bind_blob(st, 1, what, ENVELOPE_DEVICE_PK_BYTES, SQLITE_STATIC);
    else
        sqlite3_bind_text(st, 1, what, -1, SQLITE_STATIC);
    int rc, s = sqlite3_step(st);
    if (s == SQLITE_ROW) {
        row(st, out);
        rc = 0;
    } else if (s == SQLITE_DONE) {
        rc = REGISTRY_E_NOTFOUND;
    } else {
        rc = db_error(r, "read it", err, errlen);
    }
    sqlite3_finalize(st);
    return rc;
}

int registry_get(struct registry *r, const char *id, struct registry_entry *out, char *err,
                 size_t errlen)
{
    if (!r || !id || !out)
        return REGISTRY_E_ARG;
    int rc = lookup(r, 0, id, out, err, errlen);
    if (rc == REGISTRY_E_NOTFOUND)
        fail(r, err, errlen,
             "no kiosk named %.40s in %s (see homthu-provision kiosk-list for the ids)", id,
             r->path);
    else if (rc == 0)
        r->last[0] = 0;
    return rc;
}

int registry_find_device(struct registry *r, const uint8_t device_pk[32],
                         struct registry_entry *out, char *err, size_t errlen)
{
    if (!r || !device_pk || !out)
        return REGISTRY_E_ARG;
    int rc = lookup(r, 1, device_pk, out, err, errlen);
    if (rc == REGISTRY_E_NOTFOUND)
        fail(r, err, errlen, "this device key is not enrolled in %s", r->path);
    else if (rc == 0)
        r->last[0] = 0;
    return rc;
}

int registry_enrol(struct registry *r, const char *id, const uint8_t device_pk[32], int64_t now,
                   char *err, size_t errlen)
{
    if (!r || !id || !device_pk)
        return REGISTRY_E_ARG;
    char sub[256], t[32];
    if (config_kiosk_id_check(id, sub, sizeof sub)) {
        fail(r, err, errlen, "%s", sub);
        return REGISTRY_E_ARG;
    }
    struct registry_entry e;
    sqlite3_stmt *st = NULL;
    /* IMMEDIATE: the checks and the insert see the same registry. */
    int rc = exec(r, "BEGIN IMMEDIATE", "change it", err, errlen);
    if (rc)
        return rc;
    rc = lookup(r, 0, id, &e, err, errlen);
    if (rc == 0) {
        when(e.enrolled, t);
        fail(r, err, errlen,
             "a kiosk named %s is already enrolled (since %s): choose another id; "
             "ids are never reused, even after revocation",
             id, t);
        rc = REGISTRY_E_EXISTS;
        goto out;
    }
    if (rc != REGISTRY_E_NOTFOUND)
        goto out;
    rc = lookup(r, 1, device_pk, &e, err, errlen);
    if (rc == 0) {
        fail(r, err, errlen,
             "this device key is already enrolled as %s: make a new key for a new kiosk", e.id);
        rc = REGISTRY_E_EXISTS;
        goto out;
    }
    if (rc != REGISTRY_E_NOTFOUND)
        goto out;
    if (sqlite3_prepare_v2(r->db, "INSERT INTO kiosk(id, device_pk, enrolled) VALUES(?, ?, ?)", -1,
                           &st, NULL) != SQLITE_OK) {
        rc = db_error(r, "add the kiosk", err, errlen);
        goto out;
    }
    sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    sqlite3_bind_blob(st, 2, device_pk, ENVELOPE_DEVICE_PK_BYTES, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, now);
    if (sqlite3_step(st) != SQLITE_DONE) {
        rc = db_error(r, "add the kiosk", err, errlen);
        goto out;
    }
    rc = exec(r, "COMMIT", "add the kiosk", err, errlen);
out:
    sqlite3_finalize(st);
    if (rc)
        sqlite3_exec(r->db, "ROLLBACK", NULL, NULL, NULL);
    else
        r->last[0] = 0;
    return rc;
}

int registry_revoke(struct registry *r, const char *id, const char *reason, int64_t now, char *err,
                    size_t errlen)
{
    if (!r || !id || !reason)
        return REGISTRY_E_ARG;
    size_t n = strlen(reason);
    int ok = n > 0 && n <= REGISTRY_REASON_MAX && config_utf8_valid(reason, n);
    for (size_t i = 0; ok && i < n; i++)
        ok = (unsigned char)reason[i] >= 0x20 && reason[i] != 0x7f;
    if (!ok) {
        fail(r, err, errlen,
             "the reason must be one line of 1\xe2\x80\x93%d bytes of text, like \"stolen from "
             "the health station\"",
             REGISTRY_REASON_MAX);
        return REGISTRY_E_ARG;
    }
    struct registry_entry e;
    char t[32];
    sqlite3_stmt *st = NULL;
    int rc = exec(r, "BEGIN IMMEDIATE", "change it", err, errlen);
    if (rc)
        return rc;
    rc = lookup(r, 0, id, &e, err, errlen);
    if (rc == REGISTRY_E_NOTFOUND) {
        fail(r, err, errlen,
             "no kiosk named %.40s in %s (see homthu-provision kiosk-list for the ids)", id,
             r->path);
        goto out;
    }
    if (rc)
        goto out;
    if (e.revoked) {
        when(e.revoked, t);
        fail(r, err, errlen, "kiosk %s was already revoked on %s: %s", e.id, t, e.reason);
        rc = REGISTRY_E_REVOKED;
        goto out;
    }
    if (sqlite3_prepare_v2(r->db, "UPDATE kiosk SET revoked = ?, reason = ? WHERE id = ?", -1, &st,
                           NULL) != SQLITE_OK) {
        rc = db_error(r, "revoke the kiosk", err, errlen);
        goto out;
    }
    sqlite3_bind_int64(st, 1, now > 0 ? now : 1);
    sqlite3_bind_text(st, 2, reason, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, id, -1, SQLITE_STATIC);
    if (sqlite3_step(st) != SQLITE_DONE) {
        rc = db_error(r, "revoke the kiosk", err, errlen);
        goto out;
    }
    rc = exec(r, "COMMIT", "revoke the kiosk", err, errlen);
out:
    sqlite3_finalize(st);
    if (rc)
        sqlite3_exec(r->db, "ROLLBACK", NULL, NULL, NULL);
    else
        r->last[0] = 0;
    return rc;
}

int registry_list(struct registry *r, int (*fn)(void *ctx, const struct registry_entry *e),
                  void *ctx, char *err, size_t errlen)
{
    if (!r || !fn)
        return REGISTRY_E_ARG;
    sqlite3_stmt *st = NULL;
    char sql[128];
    snprintf(sql, sizeof sql, "SELECT %s FROM kiosk ORDER BY seq", COLUMNS);
    if (sqlite3_prepare_v2(r->db, sql, -1, &st, NULL) != SQLITE_OK)
        return db_error(r, "read it", err, errlen);
    int rc = 0, s;
    struct registry_entry e;
    while ((s = sqlite3_step(st)) == SQLITE_ROW) {
        row(st, &e);
        if ((rc = fn(ctx, &e)) != 0)
            break;
    }
    if (rc == 0 && s != SQLITE_DONE)
        rc = db_error(r, "read it", err, errlen);
    sqlite3_finalize(st);
    return rc;
}

int registry_device_check(void *ctx, const uint8_t device_pk[32])
{
    struct registry *r = ctx;
    if (!r || !device_pk)
        return ENVELOPE_E_UNKNOWN_DEVICE;
    sqlite3_stmt *st = r->by_device;
    sqlite3_reset(st);
    sqlite3_bind_blob(st, 1, device_pk, ENVELOPE_DEVICE_PK_BYTES, SQLITE_TRANSIENT);
    int s = sqlite3_step(st), rc;
    if (s == SQLITE_ROW) {
        rc = sqlite3_column_type(st, 3) == SQLITE_NULL ? 0 : ENVELOPE_E_REVOKED_DEVICE;
        r->last[0] = 0;
    } else if (s == SQLITE_DONE) {
        rc = ENVELOPE_E_UNKNOWN_DEVICE;
        r->last[0] = 0;
    } else {
        /* Fail closed: a tip from a kiosk we cannot look up is not trusted. */
        db_error(r, "read it", NULL, 0);
        rc = ENVELOPE_E_UNKNOWN_DEVICE;
    }
    sqlite3_reset(st);
    return rc;
}
