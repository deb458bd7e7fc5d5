/* health — see health.h. */
#include "station/health.h"

#include <stdlib.h>
#include <string.h>

#include <sodium.h>
#include <sqlite3.h>

#include "core/errbuf.h"
#include "post/console.h"
#include "post/pull.h"

#define SCHEMA_VERSION 1

static const char SCHEMA[] =
    "CREATE TABLE IF NOT EXISTS beat("
    " device BLOB PRIMARY KEY CHECK(length(device) = 32),"
    " received INTEGER NOT NULL," /* the relay's clock */
    " sealed BLOB NOT NULL);"     /* as the relay handed it: sealed to the post */
    "CREATE TABLE IF NOT EXISTS commune("
    " kiosk TEXT PRIMARY KEY,"
    " name TEXT NOT NULL);"
    "PRAGMA user_version = 1;";

struct health {
    sqlite3 *db;
    char path[4096];
};

static int db_fail(struct health *h, char *err, size_t errlen, const char *what)
{
    return errbuf_say(err, errlen, CONSOLE_E_IO, "%s: cannot %s: %s", h->path, what,
                      sqlite3_errmsg(h->db));
}

int health_open(struct health **out, const char *path, char *err, size_t errlen)
{
    if (!out || !path)
        return errbuf_say(err, errlen, CONSOLE_E_ARG, "health_open: missing argument");
    *out = NULL;
    struct health *h = calloc(1, sizeof *h);
    if (!h)
        return errbuf_say(err, errlen, CONSOLE_E_NOMEM, "out of memory");
    snprintf(h->path, sizeof h->path, "%s", path);
    if (sqlite3_open_v2(path, &h->db,
                        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX,
                        NULL) != SQLITE_OK) {
        int rc = errbuf_say(err, errlen, CONSOLE_E_IO, "cannot open %s: %s", path,
                            h->db ? sqlite3_errmsg(h->db) : "out of memory");
        health_close(h);
        return rc;
    }
    sqlite3_busy_timeout(h->db, 5000);
    sqlite3_stmt *st = NULL;
    int version = -1;
    if (sqlite3_prepare_v2(h->db, "PRAGMA user_version", -1, &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW)
        version = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    if (version < 0) {
        int rc = db_fail(h, err, errlen, "read it (is it damaged?)");
        health_close(h);
        return rc;
    }
    if (version > SCHEMA_VERSION) {
        int rc = errbuf_say(err, errlen, CONSOLE_E_IO,
                            "%s was made by a newer station (schema %d): update the station", path,
                            version);
        health_close(h);
        return rc;
    }
    if (sqlite3_exec(h->db, "PRAGMA journal_mode = WAL", NULL, NULL, NULL) != SQLITE_OK ||
        sqlite3_exec(h->db, SCHEMA, NULL, NULL, NULL) != SQLITE_OK) {
        int rc = db_fail(h, err, errlen, "set it up");
        health_close(h);
        return rc;
    }
    *out = h;
    return 0;
}

void health_close(struct health *h)
{
    if (!h)
        return;
    sqlite3_close(h->db);
    free(h);
}

int health_put(struct health *h, const uint8_t device_pk[32], int64_t relay_time,
               const uint8_t *sealed, size_t len, char *err, size_t errlen)
{
    if (!h || !device_pk || !sealed || len != HEARTBEAT_SEALED_BYTES)
        return errbuf_say(err, errlen, CONSOLE_E_ARG, "a heartbeat is %d sealed bytes",
                          HEARTBEAT_SEALED_BYTES);
    sqlite3_stmt *st = NULL;
    /* A newer one replaces; an older one handed again changes nothing. */
    if (sqlite3_prepare_v2(h->db,
                           "INSERT INTO beat(device, received, sealed) VALUES (?, ?, ?)"
                           " ON CONFLICT(device) DO UPDATE SET received = excluded.received,"
                           " sealed = excluded.sealed WHERE excluded.received >= beat.received",
                           -1, &st, NULL) != SQLITE_OK)
        return db_fail(h, err, errlen, "keep a heartbeat");
    sqlite3_bind_blob(st, 1, device_pk, 32, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, relay_time);
    sqlite3_bind_blob(st, 3, sealed, (int)len, SQLITE_STATIC);
    int s = sqlite3_step(st);
    sqlite3_finalize(st);
    return s == SQLITE_DONE ? 0 : db_fail(h, err, errlen, "keep a heartbeat");
}

int health_keep(void *ctx, const struct pull_heartbeat *hb)
{
    char err[300];
    return health_put(ctx, hb->device_pk, hb->received, hb->sealed, sizeof hb->sealed, err,
                      sizeof err)
               ? -1
               : 0;
}

int health_get(struct health *h, const uint8_t device_pk[32], int64_t *relay_time,
               uint8_t sealed[HEARTBEAT_SEALED_BYTES], char *err, size_t errlen)
{
    if (relay_time)
        *relay_time = 0;
    if (!h || !device_pk)
        return errbuf_say(err, errlen, CONSOLE_E_ARG, "health_get: missing argument");
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(h->db, "SELECT received, sealed FROM beat WHERE device = ?", -1, &st,
                           NULL) != SQLITE_OK)
        return db_fail(h, err, errlen, "read a heartbeat");
    sqlite3_bind_blob(st, 1, device_pk, 32, SQLITE_STATIC);
    int s = sqlite3_step(st), rc = 0;
    if (s == SQLITE_ROW && sqlite3_column_bytes(st, 1) == HEARTBEAT_SEALED_BYTES) {
        if (relay_time)
            *relay_time = sqlite3_column_int64(st, 0);
        if (sealed)
            memcpy(sealed, sqlite3_column_blob(st, 1), HEARTBEAT_SEALED_BYTES);
    } else if (s == SQLITE_DONE || s == SQLITE_ROW) {
        rc = errbuf_say(err, errlen, CONSOLE_E_NOTFOUND, "no heartbeat from this kiosk yet");
    } else {
        rc = db_fail(h, err, errlen, "read a heartbeat");
    }
    sqlite3_finalize(st);
    return rc;
}

/* One line of UTF-8 (no control characters), 1..max bytes. */
static int line_ok(const char *s, size_t max)
{
    size_t n = strlen(s);
    if (n == 0 || n > max)
        return 0;
    const unsigned char *p = (const unsigned char *)s;
    for (size_t i = 0; i < n;) {
        unsigned char c = p[i];
        size_t k = c < 0x80 ? 1 : (c & 0xe0) == 0xc0 ? 2 : (c & 0xf0) == 0xe0 ? 3
                                : (c & 0xf8) == 0xf0 ? 4 : 0;
        if (k == 0 || i + k > n || c < 0x20 || c == 0x7f || (k == 2 && c < 0xc2) ||
            (k == 4 && c > 0xf4))
            return 0;
        uint32_t cp = k == 1 ? c : c & (0x7f >> k);
        for (size_t j = 1; j < k; j++) {
            if ((p[i + j] & 0xc0) != 0x80)
                return 0;
            cp = cp << 6 | (p[i + j] & 0x3f);
        }
        if ((k == 3 && cp < 0x800) || (k == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
            (cp >= 0xd800 && cp <= 0xdfff) || (cp >= 0x80 && cp < 0xa0))
            return 0;
        i += k;
    }
    return 1;
}

int health_set_commune(struct health *h, const char *kiosk_id, const char *commune, char *err,
                       size_t errlen)
{
    if (!h || !kiosk_id || !kiosk_id[0] || strlen(kiosk_id) > 32)
        return errbuf_say(err, errlen, CONSOLE_E_ARG, "no kiosk id");
    if (!commune || !line_ok(commune, HEALTH_COMMUNE_MAX))
        return errbuf_say(err, errlen, CONSOLE_E_ARG,
                          "a commune's name is one line of 1 to %d bytes of text",
                          HEALTH_COMMUNE_MAX);
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(h->db, "INSERT OR REPLACE INTO commune(kiosk, name) VALUES (?, ?)", -1,
                           &st, NULL) != SQLITE_OK)
        return db_fail(h, err, errlen, "keep the commune");
    sqlite3_bind_text(st, 1, kiosk_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, commune, -1, SQLITE_STATIC);
    int s = sqlite3_step(st);
    sqlite3_finalize(st);
    return s == SQLITE_DONE ? 0 : db_fail(h, err, errlen, "keep the commune");
}

int health_commune(struct health *h, const char *kiosk_id, char *out, size_t cap, char *err,
                   size_t errlen)
{
    if (!h || !kiosk_id || !out || !cap)
        return errbuf_say(err, errlen, CONSOLE_E_ARG, "health_commune: missing argument");
    out[0] = 0;
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(h->db, "SELECT name FROM commune WHERE kiosk = ?", -1, &st, NULL) !=
        SQLITE_OK)
        return db_fail(h, err, errlen, "read the commune");
    sqlite3_bind_text(st, 1, kiosk_id, -1, SQLITE_STATIC);
    int s = sqlite3_step(st), rc = 0;
    if (s == SQLITE_ROW)
        snprintf(out, cap, "%s", (const char *)sqlite3_column_text(st, 0));
    else if (s != SQLITE_DONE)
        rc = db_fail(h, err, errlen, "read the commune");
    sqlite3_finalize(st);
    return rc;
}

int health_open_beat(const struct console *c, const uint8_t *sealed, size_t len,
                     struct heartbeat *out, char *err, size_t errlen)
{
    if (!out)
        return errbuf_say(err, errlen, CONSOLE_E_ARG, "health_open_beat: missing argument");
    memset(out, 0, sizeof *out);
    if (!c || !sealed || len != HEARTBEAT_SEALED_BYTES)
        return errbuf_say(err, errlen, CONSOLE_E_REFUSED, "not a heartbeat: wrong length");
    uint8_t plain[HEARTBEAT_PLAIN_BYTES];
    int rc = console_unseal(c, sealed, len, plain);
    if (rc == CONSOLE_E_LOCKED)
        return errbuf_say(err, errlen, CONSOLE_E_LOCKED,
                          "the heartbeat is sealed to the post: unlock to see");
    if (rc)
        return errbuf_say(err, errlen, CONSOLE_E_REFUSED,
                          "the heartbeat does not open with this post's key");
    char why[200];
    rc = heartbeat_parse(plain, sizeof plain, out, why, sizeof why);
    sodium_memzero(plain, sizeof plain);
    if (rc)
        return errbuf_say(err, errlen, CONSOLE_E_REFUSED, "%s", why);
    return 0;
}

int health_latest(struct health *h, const struct console *c, const uint8_t device_pk[32],
                  struct heartbeat *out, int64_t *relay_time, char *err, size_t errlen)
{
    uint8_t sealed[HEARTBEAT_SEALED_BYTES];
    if (out)
        memset(out, 0, sizeof *out);
    int rc = health_get(h, device_pk, relay_time, sealed, err, errlen);
    if (rc)
        return rc;
    rc = health_open_beat(c, sealed, sizeof sealed, out, err, errlen);
    if (rc)
        return rc;
    /* The relay names the sender; the kiosk's own signature inside must agree. */
    if (sodium_memcmp(out->device_pk, device_pk, 32) != 0) {
        memset(out, 0, sizeof *out);
        return errbuf_say(err, errlen, CONSOLE_E_REFUSED,
                          "the heartbeat held for this kiosk was signed by another kiosk's key");
    }
    return 0;
}
