/* postbox — see postbox.h and docs/post-console.md. */
#include "post/postbox.h"

#include <ctype.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>
#include <sqlite3.h>

#include "core/errbuf.h"

struct postbox {
    sqlite3 *db;
    char *path;
};

/* errbuf_say under this file's old name, so its call sites read as before. */
#define say errbuf_say

static int db_fail(struct postbox *pb, char *err, size_t errlen, const char *doing)
{
    return say(err, errlen, POSTBOX_E_IO,
               "%s: %s failed: %s (is the disk full or the file damaged? keep a copy of it and "
               "tell the technician)",
               pb->path, doing, sqlite3_errmsg(pb->db));
}

static const char *const status_names[POSTBOX_NSTATUS] = {"new", "checking", "acted", "false",
                                                          "closed"};

const char *postbox_status_name(int status)
{
    return status >= 0 && status < POSTBOX_NSTATUS ? status_names[status] : "?";
}

int postbox_status_parse(const char *name)
{
    for (int i = 0; name && i < POSTBOX_NSTATUS; i++)
        if (strcmp(name, status_names[i]) == 0)
            return i;
    return -1;
}

const char *postbox_source_name(int source)
{
    switch (source) {
    case POSTBOX_FROM_RELAY:
        return "relay";
    case POSTBOX_FROM_MAIL:
        return "mail";
    case POSTBOX_FROM_FILE:
        return "file";
    }
    return "?";
}

static const char schema[] = "CREATE TABLE tip("
                             "  seq INTEGER PRIMARY KEY,"
                             "  id BLOB NOT NULL UNIQUE CHECK(length(id) = 16),"
                             "  envelope BLOB NOT NULL,"
                             "  digest BLOB NOT NULL CHECK(length(digest) = 32),"
                             "  source INTEGER NOT NULL,"
                             "  received INTEGER NOT NULL,"
                             "  stored INTEGER NOT NULL,"
                             "  outer_verdict INTEGER NOT NULL,"
                             "  status INTEGER NOT NULL DEFAULT 0 CHECK(status BETWEEN 0 AND 4),"
                             "  status_at INTEGER NOT NULL);"
                             "CREATE INDEX tip_received ON tip(received);"
                             "CREATE TABLE history("
                             "  seq INTEGER PRIMARY KEY,"
                             "  tip INTEGER NOT NULL REFERENCES tip(seq),"
                             "  at INTEGER NOT NULL,"
                             "  status INTEGER NOT NULL,"
                             "  note BLOB NOT NULL);"
                             "CREATE TABLE setting(key TEXT PRIMARY KEY, value TEXT NOT NULL);"
                             "PRAGMA user_version = 1;";

void postbox_close(struct postbox *pb)
{
    if (!pb)
        return;
    sqlite3_close(pb->db);
    free(pb->path);
    free(pb);
}

int postbox_open(struct postbox **out, const char *path, char *err, size_t errlen)
{
    if (!out || !path)
        return say(err, errlen, POSTBOX_E_ARG, "postbox: missing argument");
    *out = NULL;
    struct postbox *pb = calloc(1, sizeof *pb);
    if (!pb || !(pb->path = strdup(path))) {
        free(pb);
        return say(err, errlen, POSTBOX_E_NOMEM, "out of memory");
    }
    int rc = POSTBOX_E_IO;
    /* Made 0600 from the start: it holds sealed tips, but also who sent when. SQLite gives
     * the -wal and -shm files the database's mode. */
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    struct stat fst;
    if (fd >= 0 && fstat(fd, &fst) == 0 && S_ISREG(fst.st_mode) && (fst.st_mode & 077))
        (void)!fchmod(fd, 0600); /* one made by an older tool or by hand: tighten it */
    if (fd >= 0)
        close(fd);
    if (sqlite3_open_v2(path, &pb->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) !=
        SQLITE_OK) {
        rc = say(err, errlen, POSTBOX_E_IO,
                 "cannot open %s: %s (check --post and the folder's "
                 "permissions)",
                 path, pb->db ? sqlite3_errmsg(pb->db) : "out of memory");
        goto fail;
    }
    sqlite3_busy_timeout(pb->db, 10000);
    /* FULL: a tip the relay was told we hold must survive a power cut of the post's PC. */
    if (sqlite3_exec(pb->db,
                     "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; "
                     "PRAGMA secure_delete = ON; PRAGMA foreign_keys = ON;",
                     NULL, NULL, NULL) != SQLITE_OK) {
        rc = db_fail(pb, err, errlen, "setting up the database");
        goto fail;
    }
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(pb->db, "PRAGMA user_version", -1, &st, NULL) != SQLITE_OK) {
        rc = say(err, errlen, POSTBOX_E_IO, "%s is not a postbox database (%s): check --post", path,
                 sqlite3_errmsg(pb->db));
        goto fail;
    }
    int version = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int(st, 0) : -1;
    sqlite3_finalize(st);
    if (version == 0) {
        if (sqlite3_exec(pb->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK) {
            rc = db_fail(pb, err, errlen, "creating the postbox");
            goto fail;
        }
        /* Another console may have made it meanwhile: look again inside the lock. */
        int again = -1;
        if (sqlite3_prepare_v2(pb->db, "PRAGMA user_version", -1, &st, NULL) == SQLITE_OK) {
            again = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int(st, 0) : -1;
            sqlite3_finalize(st);
        }
        if (again == 0 && sqlite3_exec(pb->db, schema, NULL, NULL, NULL) != SQLITE_OK) {
            rc = db_fail(pb, err, errlen, "creating the postbox");
            sqlite3_exec(pb->db, "ROLLBACK", NULL, NULL, NULL);
            goto fail;
        }
        if (sqlite3_exec(pb->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
            rc = db_fail(pb, err, errlen, "creating the postbox");
            goto fail;
        }
    } else if (version > POSTBOX_SCHEMA_VERSION) {
        rc = say(err, errlen, POSTBOX_E_SCHEMA,
                 "%s was made by a newer homthu-post (schema %d): update homthu-post", path,
                 version);
        goto fail;
    } else if (version < 0) {
        rc = say(err, errlen, POSTBOX_E_IO, "%s is not a postbox database: check --post", path);
        goto fail;
    }
    *out = pb;
    return 0;
fail:
    postbox_close(pb);
    return rc;
}

static int prepare(struct postbox *pb, sqlite3_stmt **st, const char *sql, char *err, size_t errlen)
{
    if (sqlite3_prepare_v2(pb->db, sql, -1, st, NULL) != SQLITE_OK)
        return db_fail(pb, err, errlen, "a query");
    return 0;
}

#define TIP_COLUMNS                                                                                \
    "seq, id, length(envelope), source, received, stored, outer_verdict, "                         \
    "status, status_at"

static void row_to_tip(sqlite3_stmt *st, struct postbox_tip *t)
{
    memset(t, 0, sizeof *t);
    t->seq = sqlite3_column_int64(st, 0);
    const void *id = sqlite3_column_blob(st, 1);
    if (id && sqlite3_column_bytes(st, 1) == 16)
        memcpy(t->id, id, 16);
    t->bytes = (uint64_t)sqlite3_column_int64(st, 2);
    t->source = sqlite3_column_int(st, 3);
    t->received = sqlite3_column_int64(st, 4);
    t->stored = sqlite3_column_int64(st, 5);
    t->outer = sqlite3_column_int(st, 6);
    t->status = sqlite3_column_int(st, 7);
    t->status_at = sqlite3_column_int64(st, 8);
}

static int genuine(int outer)
{
    return outer == 0 || outer == ENVELOPE_E_CUT_SHORT;
}

int postbox_add(struct postbox *pb, const uint8_t *env, size_t len, int source, int64_t received,
                int64_t now, envelope_device_fn device_check, void *device_ctx, int *what,
                char *err, size_t errlen)
{
    if (!pb || !env || !what)
        return say(err, errlen, POSTBOX_E_ARG, "postbox: missing argument");
    *what = 0;
    struct envelope_header_info info;
    char why[512];
    if (envelope_parse_header(env, len, &info, why, sizeof why) != 0)
        return say(err, errlen, POSTBOX_E_ENVELOPE, "not stored: %s", why);
    uint8_t digest[32];
    crypto_generichash(digest, sizeof digest, env, len, NULL, 0);
    int outer = envelope_verify_outer(env, len, device_check, device_ctx, 0, why, sizeof why);

    int rc;
    sqlite3_stmt *st = NULL;
    if (sqlite3_exec(pb->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
        return db_fail(pb, err, errlen, "storing a tip");
    if ((rc = prepare(pb, &st, "SELECT seq, digest, outer_verdict FROM tip WHERE id = ?1", err,
                      errlen)))
        goto fail;
    sqlite3_bind_blob(st, 1, info.tip_id, 16, SQLITE_STATIC);
    int step = sqlite3_step(st);
    if (step == SQLITE_ROW) {
        int64_t seq = sqlite3_column_int64(st, 0);
        const void *old = sqlite3_column_blob(st, 1);
        int same = old && sqlite3_column_bytes(st, 1) == 32 && memcmp(old, digest, 32) == 0;
        int old_outer = sqlite3_column_int(st, 2);
        sqlite3_finalize(st);
        st = NULL;
        if (same) {
            *what = POSTBOX_DUPLICATE;
        } else if (!genuine(old_outer) && genuine(outer)) {
            if ((rc = prepare(pb, &st,
                              "UPDATE tip SET envelope = ?2, digest = ?3, outer_verdict = ?4, "
                              "source = ?5, received = ?6, stored = ?7 WHERE seq = ?1",
                              err, errlen)))
                goto fail;
            sqlite3_bind_int64(st, 1, seq);
            sqlite3_bind_blob(st, 2, env, (int)len, SQLITE_STATIC);
            sqlite3_bind_blob(st, 3, digest, 32, SQLITE_STATIC);
            sqlite3_bind_int(st, 4, outer);
            sqlite3_bind_int(st, 5, source);
            sqlite3_bind_int64(st, 6, received);
            sqlite3_bind_int64(st, 7, now);
            if (sqlite3_step(st) != SQLITE_DONE) {
                rc = db_fail(pb, err, errlen, "replacing a forged tip");
                goto fail;
            }
            *what = POSTBOX_REPLACED;
        } else {
            *what = POSTBOX_KEPT;
        }
    } else if (step == SQLITE_DONE) {
        sqlite3_finalize(st);
        st = NULL;
        if ((rc = prepare(pb, &st,
                          "INSERT INTO tip(id, envelope, digest, source, received, stored, "
                          "outer_verdict, status, status_at) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, "
                          "0, ?6)",
                          err, errlen)))
            goto fail;
        sqlite3_bind_blob(st, 1, info.tip_id, 16, SQLITE_STATIC);
        sqlite3_bind_blob(st, 2, env, (int)len, SQLITE_STATIC);
        sqlite3_bind_blob(st, 3, digest, 32, SQLITE_STATIC);
        sqlite3_bind_int(st, 4, source);
        sqlite3_bind_int64(st, 5, received);
        sqlite3_bind_int64(st, 6, now);
        sqlite3_bind_int(st, 7, outer);
        if (sqlite3_step(st) != SQLITE_DONE) {
            rc = db_fail(pb, err, errlen, "storing a tip");
            goto fail;
        }
        *what = POSTBOX_ADDED;
    } else {
        rc = db_fail(pb, err, errlen, "looking up a tip");
        goto fail;
    }
    sqlite3_finalize(st);
    st = NULL;
    if (sqlite3_exec(pb->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
        rc = db_fail(pb, err, errlen, "committing a tip");
        goto fail;
    }
    return 0;
fail:
    sqlite3_finalize(st);
    sqlite3_exec(pb->db, "ROLLBACK", NULL, NULL, NULL);
    *what = 0;
    return rc;
}

int postbox_get(struct postbox *pb, const uint8_t id[16], struct postbox_tip *out)
{
    if (!pb || !id || !out)
        return POSTBOX_E_ARG;
    sqlite3_stmt *st;
    if (prepare(pb, &st, "SELECT " TIP_COLUMNS " FROM tip WHERE id = ?1", NULL, 0))
        return POSTBOX_E_IO;
    sqlite3_bind_blob(st, 1, id, 16, SQLITE_STATIC);
    int step = sqlite3_step(st);
    int rc = step == SQLITE_ROW ? 0 : step == SQLITE_DONE ? POSTBOX_E_NOTFOUND : POSTBOX_E_IO;
    if (rc == 0)
        row_to_tip(st, out);
    sqlite3_finalize(st);
    return rc;
}

int postbox_find(struct postbox *pb, const char *hex, struct postbox_tip *out, char *err,
                 size_t errlen)
{
    if (!pb || !hex || !out)
        return say(err, errlen, POSTBOX_E_ARG, "postbox: missing argument");
    size_t n = strlen(hex);
    char up[33];
    if (n < 4 || n > 32 || strspn(hex, "0123456789abcdefABCDEF") != n)
        return say(err, errlen, POSTBOX_E_ARG,
                   "\"%.40s\" is not a tip id: give at least 4 of its hex digits, as list shows "
                   "them",
                   hex);
    for (size_t i = 0; i <= n; i++)
        up[i] = (char)toupper((unsigned char)hex[i]);
    /*
     * The ids that start with the prefix are one range of 16-byte blobs:
     * the prefix padded with 0 bits to the lowest, 1 bits to the highest.
     * The id's own index finds it without reading every tip (the web
     * station asks once per audio range request).
     */
    uint8_t lo[16], hi[16];
    memset(lo, 0x00, sizeof lo);
    memset(hi, 0xFF, sizeof hi);
    for (size_t i = 0; i < n; i++) {
        unsigned v = (unsigned)(isdigit((unsigned char)up[i]) ? up[i] - '0' : up[i] - 'A' + 10);
        size_t byte = i / 2;
        if (i % 2 == 0) {
            lo[byte] = (uint8_t)(v << 4);
            hi[byte] = (uint8_t)(v << 4 | 0x0F);
        } else {
            lo[byte] = (uint8_t)(lo[byte] | v);
            hi[byte] = (uint8_t)((hi[byte] & 0xF0) | v);
        }
    }
    sqlite3_stmt *st;
    int rc = prepare(pb, &st,
                     "SELECT " TIP_COLUMNS " FROM tip WHERE id BETWEEN ?1 AND ?2 "
                     "ORDER BY seq LIMIT 6",
                     err, errlen);
    if (rc)
        return rc;
    sqlite3_bind_blob(st, 1, lo, 16, SQLITE_STATIC);
    sqlite3_bind_blob(st, 2, hi, 16, SQLITE_STATIC);
    int count = 0, step;
    char others[256] = "";
    size_t ol = 0;
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        struct postbox_tip t;
        row_to_tip(st, &t);
        if (count == 0)
            *out = t;
        char h[9];
        for (int i = 0; i < 4; i++)
            snprintf(h + 2 * i, 3, "%02x", t.id[i]);
        if (ol < sizeof others)
            ol += (size_t)snprintf(others + ol, sizeof others - ol, "%s%s", count ? ", " : "", h);
        count++;
    }
    sqlite3_finalize(st);
    if (step != SQLITE_DONE)
        return db_fail(pb, err, errlen, "looking up a tip");
    if (count == 0)
        return say(err, errlen, POSTBOX_E_NOTFOUND,
                   "no tip here has an id starting with %s (run list to see them; pull to "
                   "fetch new ones)",
                   hex);
    if (count > 1)
        return say(err, errlen, POSTBOX_E_AMBIGUOUS,
                   "%s matches %s tips (%s%s): give more digits of the id", hex,
                   count > 5    ? "several"
                   : count == 2 ? "two"
                                : "several",
                   others, count > 5 ? ", ..." : "");
    return 0;
}

int postbox_envelope(struct postbox *pb, int64_t seq, uint8_t **env, size_t *len, char *err,
                     size_t errlen)
{
    if (!pb || !env || !len)
        return say(err, errlen, POSTBOX_E_ARG, "postbox: missing argument");
    *env = NULL;
    *len = 0;
    sqlite3_stmt *st;
    int rc = prepare(pb, &st, "SELECT envelope FROM tip WHERE seq = ?1", err, errlen);
    if (rc)
        return rc;
    sqlite3_bind_int64(st, 1, seq);
    int step = sqlite3_step(st);
    if (step == SQLITE_ROW) {
        size_t n = (size_t)sqlite3_column_bytes(st, 0);
        const void *b = sqlite3_column_blob(st, 0);
        *env = malloc(n ? n : 1);
        if (!*env) {
            rc = say(err, errlen, POSTBOX_E_NOMEM, "out of memory for a tip of %zu bytes", n);
        } else {
            if (n)
                memcpy(*env, b, n);
            *len = n;
        }
    } else if (step == SQLITE_DONE) {
        rc = say(err, errlen, POSTBOX_E_NOTFOUND, "no such tip");
    } else {
        rc = db_fail(pb, err, errlen, "reading a tip");
    }
    sqlite3_finalize(st);
    return rc;
}

int postbox_foreach(struct postbox *pb, int (*fn)(void *ctx, const struct postbox_tip *t),
                    void *ctx, char *err, size_t errlen)
{
    if (!pb || !fn)
        return say(err, errlen, POSTBOX_E_ARG, "postbox: missing argument");
    sqlite3_stmt *st;
    int rc = prepare(pb, &st, "SELECT " TIP_COLUMNS " FROM tip ORDER BY received DESC, seq DESC",
                     err, errlen);
    if (rc)
        return rc;
    int step;
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        struct postbox_tip t;
        row_to_tip(st, &t);
        if ((rc = fn(ctx, &t)))
            break;
    }
    if (!rc && step != SQLITE_DONE)
        rc = db_fail(pb, err, errlen, "listing tips");
    sqlite3_finalize(st);
    return rc;
}

int postbox_set_status(struct postbox *pb, int64_t seq, int status, const uint8_t *note,
                       size_t note_len, int64_t now, char *err, size_t errlen)
{
    if (!pb || (!note && note_len))
        return say(err, errlen, POSTBOX_E_ARG, "postbox: missing argument");
    if (status < 0 || status >= POSTBOX_NSTATUS)
        return say(err, errlen, POSTBOX_E_ARG,
                   "unknown status: use new, checking, acted, false or closed");
    if (note_len > POSTBOX_NOTE_MAX)
        return say(err, errlen, POSTBOX_E_ARG, "the note is too long: keep it under %d bytes",
                   POSTBOX_NOTE_MAX - 100);
    sqlite3_stmt *st = NULL;
    int rc;
    if (sqlite3_exec(pb->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
        return db_fail(pb, err, errlen, "changing a status");
    if ((rc = prepare(pb, &st, "UPDATE tip SET status = ?2, status_at = ?3 WHERE seq = ?1", err,
                      errlen)))
        goto fail;
    sqlite3_bind_int64(st, 1, seq);
    sqlite3_bind_int(st, 2, status);
    sqlite3_bind_int64(st, 3, now);
    if (sqlite3_step(st) != SQLITE_DONE) {
        rc = db_fail(pb, err, errlen, "changing a status");
        goto fail;
    }
    if (sqlite3_changes(pb->db) != 1) {
        rc = say(err, errlen, POSTBOX_E_NOTFOUND, "no such tip");
        goto fail;
    }
    sqlite3_finalize(st);
    st = NULL;
    if ((rc = prepare(pb, &st, "INSERT INTO history(tip, at, status, note) VALUES(?1, ?2, ?3, ?4)",
                      err, errlen)))
        goto fail;
    sqlite3_bind_int64(st, 1, seq);
    sqlite3_bind_int64(st, 2, now);
    sqlite3_bind_int(st, 3, status);
    sqlite3_bind_blob(st, 4, note_len ? (const void *)note : "", (int)note_len, SQLITE_STATIC);
    if (sqlite3_step(st) != SQLITE_DONE) {
        rc = db_fail(pb, err, errlen, "keeping the history");
        goto fail;
    }
    sqlite3_finalize(st);
    st = NULL;
    if (sqlite3_exec(pb->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
        rc = db_fail(pb, err, errlen, "committing a status");
        goto fail;
    }
    return 0;
fail:
    sqlite3_finalize(st);
    sqlite3_exec(pb->db, "ROLLBACK", NULL, NULL, NULL);
    return rc;
}

int postbox_history(struct postbox *pb, int64_t seq,
                    int (*fn)(void *ctx, const struct postbox_event *e), void *ctx, char *err,
                    size_t errlen)
{
    if (!pb || !fn)
        return say(err, errlen, POSTBOX_E_ARG, "postbox: missing argument");
    sqlite3_stmt *st;
    int rc = prepare(pb, &st, "SELECT at, status, note FROM history WHERE tip = ?1 ORDER BY seq",
                     err, errlen);
    if (rc)
        return rc;
    sqlite3_bind_int64(st, 1, seq);
    int step;
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        struct postbox_event e = {
            .at = sqlite3_column_int64(st, 0),
            .status = sqlite3_column_int(st, 1),
            .note = sqlite3_column_blob(st, 2),
            .note_len = (size_t)sqlite3_column_bytes(st, 2),
        };
        if ((rc = fn(ctx, &e)))
            break;
    }
    if (!rc && step != SQLITE_DONE)
        rc = db_fail(pb, err, errlen, "reading the history");
    sqlite3_finalize(st);
    return rc;
}

int postbox_get_setting(struct postbox *pb, const char *key, char *value, size_t cap)
{
    if (!pb || !key || !value || !cap)
        return POSTBOX_E_ARG;
    value[0] = 0;
    sqlite3_stmt *st;
    if (prepare(pb, &st, "SELECT value FROM setting WHERE key = ?1", NULL, 0))
        return POSTBOX_E_IO;
    sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    int step = sqlite3_step(st);
    if (step == SQLITE_ROW) {
        const unsigned char *v = sqlite3_column_text(st, 0);
        snprintf(value, cap, "%s", v ? (const char *)v : "");
    }
    sqlite3_finalize(st);
    return step == SQLITE_ROW || step == SQLITE_DONE ? 0 : POSTBOX_E_IO;
}

int postbox_set_setting(struct postbox *pb, const char *key, const char *value, char *err,
                        size_t errlen)
{
    if (!pb || !key || !value)
        return say(err, errlen, POSTBOX_E_ARG, "postbox: missing argument");
    sqlite3_stmt *st;
    int rc =
        prepare(pb, &st, "INSERT OR REPLACE INTO setting(key, value) VALUES(?1, ?2)", err, errlen);
    if (rc)
        return rc;
    sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, value, -1, SQLITE_STATIC);
    if (sqlite3_step(st) != SQLITE_DONE)
        rc = db_fail(pb, err, errlen, "saving a setting");
    sqlite3_finalize(st);
    return rc;
}
