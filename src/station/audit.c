/* audit — see audit.h. */
#include "station/audit.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>
#include <sqlite3.h>

#include "core/errbuf.h"
#include "post/console.h"

#define say errbuf_say

#define AUDIT_SCHEMA_VERSION 1
#define ROW_FORMAT 1
/*
 * Every row's plaintext is padded to this size before sealing, so a sealed
 * row's length tells nothing about its words: 1 format + 8 id + 8 at + 32
 * link, then officer, action, tip with a length byte each and the detail
 * with two, then zeros.
 */
#define PLAIN_BYTES 512
#define BOX_BYTES (PLAIN_BYTES + CONSOLE_SEAL_BYTES)
#define HASH_BYTES 32

_Static_assert(1 + 8 + 8 + HASH_BYTES + 1 + OFFICER_NAME_MAX + 1 + AUDIT_ACTION_MAX + 1 +
                       AUDIT_TIP_MAX + 2 + AUDIT_DETAIL_MAX <=
                   PLAIN_BYTES,
               "an audit row fits its padded size");

/* What checking one row found, kept so the next read opens only rows it has not seen. */
struct link {
    int64_t id;
    uint8_t box_hash[HASH_BYTES]; /* of the sealed bytes: a changed row no longer matches */
    uint8_t prev[HASH_BYTES];     /* the link it holds */
    int64_t inner_id;             /* the number sealed inside */
    int opened;                   /* 0: it did not open or parse */
};

struct audit {
    sqlite3 *db;
    char *path;
    pthread_mutex_t mu;
    struct link *links; /* ascending id, from the last read */
    size_t nlinks;
};

static const char audit_schema[] = "CREATE TABLE audit(id INTEGER PRIMARY KEY AUTOINCREMENT,"
                                   "  box BLOB NOT NULL);";

static int fail_db(struct audit *a, const char *doing, char *err, size_t errlen)
{
    station_db_fail(a->db, a->path, doing, err, errlen);
    return AUDIT_E_IO;
}

void audit_close(struct audit *a)
{
    if (!a)
        return;
    sqlite3_close(a->db);
    pthread_mutex_destroy(&a->mu);
    free(a->links);
    free(a->path);
    free(a);
}

int audit_open(struct audit **out, const char *path, char *err, size_t errlen)
{
    if (!out || !path)
        return say(err, errlen, AUDIT_E_ARG, "audit: missing argument");
    *out = NULL;
    if (sodium_init() < 0)
        return say(err, errlen, AUDIT_E_NOMEM, "libsodium failed to start");
    struct audit *a = calloc(1, sizeof *a);
    if (!a || !(a->path = strdup(path))) {
        free(a);
        return say(err, errlen, AUDIT_E_NOMEM, "out of memory");
    }
    pthread_mutex_init(&a->mu, NULL);
    int rc =
        station_db_open(&a->db, path, "audit", AUDIT_SCHEMA_VERSION, audit_schema, err, errlen);
    if (rc) {
        audit_close(a);
        switch (rc) {
        case OFFICERS_E_SCHEMA:
            return AUDIT_E_SCHEMA;
        case OFFICERS_E_NOMEM:
            return AUDIT_E_NOMEM;
        case OFFICERS_E_ARG:
            return AUDIT_E_ARG;
        default:
            return AUDIT_E_IO;
        }
    }
    *out = a;
    return 0;
}

/* ---- the row's plaintext ---- */

static void put64(uint8_t *p, int64_t v)
{
    uint64_t u = (uint64_t)v;
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(u >> (8 * i));
}

static int64_t get64(const uint8_t *p)
{
    uint64_t u = 0;
    for (int i = 0; i < 8; i++)
        u |= (uint64_t)p[i] << (8 * i);
    return (int64_t)u;
}

static int action_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > AUDIT_ACTION_MAX)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char ch = s[i];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '.' || ch == '_' ||
              ch == '-'))
            return 0;
    }
    return 1;
}

/* tip ids as lowercase hex, "" allowed. */
static int tip_fold(const char *s, char out[AUDIT_TIP_MAX + 1])
{
    size_t n = strlen(s);
    if (n > AUDIT_TIP_MAX)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char ch = s[i];
        if (ch >= 'A' && ch <= 'F')
            ch = (char)(ch - 'A' + 'a');
        if (!((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f')))
            return 0;
        out[i] = ch;
    }
    out[n] = 0;
    return 1;
}

/* Length of a valid UTF-8 sequence at p (at most `left` bytes), 0 when not one. */
static size_t utf8_len(const unsigned char *p, size_t left)
{
    unsigned c = p[0];
    size_t n;
    unsigned min;
    if (c < 0x80)
        return 1;
    if (c >= 0xc2 && c <= 0xdf) {
        n = 2;
        min = 0x80;
    } else if (c >= 0xe0 && c <= 0xef) {
        n = 3;
        min = 0x800;
    } else if (c >= 0xf0 && c <= 0xf4) {
        n = 4;
        min = 0x10000;
    } else {
        return 0;
    }
    if (n > left)
        return 0;
    unsigned cp = c & (0x7f >> n);
    for (size_t i = 1; i < n; i++) {
        if ((p[i] & 0xc0) != 0x80)
            return 0;
        cp = (cp << 6) | (p[i] & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return n;
}

/*
 * detail made safe to show: control characters and broken UTF-8 as '?', cut at
 * AUDIT_DETAIL_MAX bytes on a character boundary. Returns the length.
 */
static size_t detail_clean(const char *in, char out[AUDIT_DETAIL_MAX + 1])
{
    const unsigned char *p = (const unsigned char *)in;
    size_t left = strlen(in), o = 0;
    while (left > 0) {
        size_t n = utf8_len(p, left);
        int bad = n == 0 || (n == 1 && (p[0] < 0x20 || p[0] == 0x7f)) ||
                  (n == 2 && p[0] == 0xc2 && p[1] < 0xa0); /* C1 controls */
        size_t w = bad ? 1 : n;
        if (o + w > AUDIT_DETAIL_MAX)
            break;
        if (bad)
            out[o] = '?';
        else
            memcpy(out + o, p, n);
        o += w;
        p += n ? n : 1;
        left -= n ? n : 1;
    }
    out[o] = 0;
    return o;
}

static uint8_t *put_field(uint8_t *p, const char *s, size_t n, int wide)
{
    if (wide) {
        *p++ = (uint8_t)(n & 0xff);
        *p++ = (uint8_t)(n >> 8);
    } else {
        *p++ = (uint8_t)n;
    }
    memcpy(p, s, n);
    return p + n;
}

/* Read a field back into out (cap bytes with its NUL); NULL when it does not fit the rules. */
static const uint8_t *get_field(const uint8_t *p, const uint8_t *end, char *out, size_t cap,
                                int wide)
{
    if (p + (wide ? 2 : 1) > end)
        return NULL;
    size_t n = wide ? (size_t)p[0] | (size_t)p[1] << 8 : p[0];
    p += wide ? 2 : 1;
    if (n >= cap || p + n > end || memchr(p, 0, n))
        return NULL;
    memcpy(out, p, n);
    out[n] = 0;
    return p + n;
}

/* Parse an opened row: 0, or -1 when it is not one this code wrote. */
static int parse_plain(const uint8_t *m, int64_t *id, uint8_t prev[HASH_BYTES],
                       struct audit_entry *e)
{
    const uint8_t *end = m + PLAIN_BYTES;
    if (m[0] != ROW_FORMAT)
        return -1;
    *id = get64(m + 1);
    if (e)
        e->at = get64(m + 9);
    memcpy(prev, m + 17, HASH_BYTES);
    if (!e)
        return 0;
    const uint8_t *p = m + 17 + HASH_BYTES;
    if (!(p = get_field(p, end, e->officer, sizeof e->officer, 0)) ||
        !(p = get_field(p, end, e->action, sizeof e->action, 0)) ||
        !(p = get_field(p, end, e->tip, sizeof e->tip, 0)) ||
        !(p = get_field(p, end, e->detail, sizeof e->detail, 1)))
        return -1;
    return 0;
}

/* ---- adding ---- */

int audit_add(struct audit *a, const struct console *c, int64_t now, const char *officer,
              const char *action, const char *tip_hex, const char *detail, char *err, size_t errlen)
{
    if (!a || !c || !officer || !action)
        return say(err, errlen, AUDIT_E_ARG, "audit: missing argument");
    if (!tip_hex)
        tip_hex = "";
    if (!detail)
        detail = "";
    char who[OFFICER_NAME_MAX + 1] = "";
    if (*officer && officers_name_check(officer, who, NULL, 0) != 0)
        return say(err, errlen, AUDIT_E_ARG, "audit: not an officer's name");
    if (!action_ok(action))
        return say(err, errlen, AUDIT_E_ARG, "audit: not an action word: \"%.40s\"", action);
    char tip[AUDIT_TIP_MAX + 1];
    if (!tip_fold(tip_hex, tip))
        return say(err, errlen, AUDIT_E_ARG, "audit: not a tip id");
    char det[AUDIT_DETAIL_MAX + 1];
    size_t det_len = detail_clean(detail, det);

    uint8_t plain[PLAIN_BYTES], box[BOX_BYTES];
    int rc = 0;
    sqlite3_stmt *st = NULL;
    pthread_mutex_lock(&a->mu);
    if (sqlite3_exec(a->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK) {
        rc = fail_db(a, "recording an audit row", err, errlen);
        goto out;
    }
    /* The link: the newest row's sealed bytes. Its number: one past the highest ever
     * given (sqlite_sequence remembers rows deleted from the end), so a deletion stays a
     * gap for good. */
    uint8_t prev[HASH_BYTES] = {0};
    int64_t last = 0, seq = 0;
    if (sqlite3_prepare_v2(a->db, "SELECT id, box FROM audit ORDER BY id DESC LIMIT 1", -1, &st,
                           NULL) != SQLITE_OK) {
        rc = fail_db(a, "recording an audit row", err, errlen);
        goto rollback;
    }
    int step = sqlite3_step(st);
    if (step == SQLITE_ROW) {
        last = sqlite3_column_int64(st, 0);
        const void *b = sqlite3_column_blob(st, 1);
        int bn = sqlite3_column_bytes(st, 1);
        crypto_generichash(prev, sizeof prev, b, (unsigned long long)(bn > 0 ? bn : 0), NULL, 0);
    }
    sqlite3_finalize(st);
    st = NULL;
    if (step != SQLITE_ROW && step != SQLITE_DONE) {
        rc = fail_db(a, "recording an audit row", err, errlen);
        goto rollback;
    }
    if (sqlite3_prepare_v2(a->db, "SELECT seq FROM sqlite_sequence WHERE name = 'audit'", -1, &st,
                           NULL) != SQLITE_OK) {
        rc = fail_db(a, "recording an audit row", err, errlen);
        goto rollback;
    }
    if (sqlite3_step(st) == SQLITE_ROW)
        seq = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    st = NULL;
    int64_t id = (seq > last ? seq : last) + 1;

    memset(plain, 0, sizeof plain);
    plain[0] = ROW_FORMAT;
    put64(plain + 1, id);
    put64(plain + 9, now);
    memcpy(plain + 17, prev, HASH_BYTES);
    uint8_t *p = plain + 17 + HASH_BYTES;
    p = put_field(p, who, strlen(who), 0);
    p = put_field(p, action, strlen(action), 0);
    p = put_field(p, tip, strlen(tip), 0);
    (void)put_field(p, det, det_len, 1);
    if (console_seal(c, plain, sizeof plain, box) != 0) {
        rc = say(err, errlen, AUDIT_E_SEAL, "audit: sealing the row to post.pub failed");
        goto rollback;
    }
    if (sqlite3_prepare_v2(a->db, "INSERT INTO audit(id, box) VALUES (?1, ?2)", -1, &st, NULL) !=
        SQLITE_OK) {
        rc = fail_db(a, "recording an audit row", err, errlen);
        goto rollback;
    }
    sqlite3_bind_int64(st, 1, id);
    sqlite3_bind_blob(st, 2, box, sizeof box, SQLITE_STATIC);
    step = sqlite3_step(st);
    sqlite3_finalize(st);
    st = NULL;
    if (step != SQLITE_DONE) {
        rc = fail_db(a, "recording an audit row", err, errlen);
        goto rollback;
    }
    if (sqlite3_exec(a->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
        rc = fail_db(a, "recording an audit row", err, errlen);
        goto rollback;
    }
    goto out;
rollback:
    sqlite3_exec(a->db, "ROLLBACK", NULL, NULL, NULL);
out:
    pthread_mutex_unlock(&a->mu);
    sodium_memzero(plain, sizeof plain);
    sodium_memzero(det, sizeof det);
    return rc;
}

/* ---- reading ---- */

static int link_cmp(const void *k, const void *l)
{
    int64_t a = *(const int64_t *)k, b = ((const struct link *)l)->id;
    return a < b ? -1 : a > b;
}

/* Open one sealed row into plain; 0 or -1. */
static int open_box(const struct console *c, const void *b, int bn, uint8_t plain[PLAIN_BYTES])
{
    if (!b || bn != BOX_BYTES)
        return -1;
    return console_unseal(c, b, (size_t)bn, plain) == 0 ? 0 : -1;
}

/* Under a->mu: walk every row oldest first and say whether the chain holds. */
static int check_chain(struct audit *a, const struct console *c, int *intact, char *err,
                       size_t errlen)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(a->db, "SELECT id, box FROM audit ORDER BY id", -1, &st, NULL) !=
        SQLITE_OK)
        return fail_db(a, "reading the audit", err, errlen);
    struct link *fresh = NULL;
    size_t n = 0, cap = 0;
    int ok = 1, rc = 0, step;
    uint8_t want_prev[HASH_BYTES] = {0};
    int64_t want_id = 1;
    uint8_t plain[PLAIN_BYTES];
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        if (n == cap) {
            size_t ncap = cap ? cap * 2 : 256;
            struct link *nl = realloc(fresh, ncap * sizeof *nl);
            if (!nl) {
                rc = say(err, errlen, AUDIT_E_NOMEM, "out of memory checking the audit");
                break;
            }
            fresh = nl;
            cap = ncap;
        }
        struct link *l = &fresh[n++];
        memset(l, 0, sizeof *l);
        l->id = sqlite3_column_int64(st, 0);
        const void *b = sqlite3_column_blob(st, 1);
        int bn = sqlite3_column_bytes(st, 1);
        crypto_generichash(l->box_hash, HASH_BYTES, b, (unsigned long long)(bn > 0 ? bn : 0), NULL,
                           0);
        const struct link *old =
            a->links ? bsearch(&l->id, a->links, a->nlinks, sizeof *a->links, link_cmp) : NULL;
        if (old && memcmp(old->box_hash, l->box_hash, HASH_BYTES) == 0) {
            *l = *old;
        } else if (open_box(c, b, bn, plain) == 0 &&
                   parse_plain(plain, &l->inner_id, l->prev, NULL) == 0) {
            l->opened = 1;
        }
        if (!l->opened || l->id != want_id || l->inner_id != l->id ||
            memcmp(l->prev, want_prev, HASH_BYTES) != 0)
            ok = 0;
        memcpy(want_prev, l->box_hash, HASH_BYTES);
        want_id = l->id + 1;
    }
    sodium_memzero(plain, sizeof plain);
    if (!rc && step != SQLITE_DONE)
        rc = fail_db(a, "reading the audit", err, errlen);
    sqlite3_finalize(st);
    if (rc) {
        free(fresh);
        return rc;
    }
    /* Rows cut off the end leave the highest number ever given above the last row's. */
    int64_t seq = 0;
    if (sqlite3_prepare_v2(a->db, "SELECT seq FROM sqlite_sequence WHERE name = 'audit'", -1, &st,
                           NULL) != SQLITE_OK) {
        free(fresh);
        return fail_db(a, "reading the audit", err, errlen);
    }
    if (sqlite3_step(st) == SQLITE_ROW)
        seq = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    if (seq != want_id - 1)
        ok = 0;
    free(a->links);
    a->links = fresh;
    a->nlinks = n;
    *intact = ok;
    return 0;
}

int audit_read(struct audit *a, const struct console *c, int64_t before_id, int limit,
               int (*fn)(void *ctx, const struct audit_entry *e), void *ctx, int *intact, char *err,
               size_t errlen)
{
    if (intact)
        *intact = 0;
    if (!a || !c || !fn)
        return say(err, errlen, AUDIT_E_ARG, "audit: missing argument");
    if (!console_unlocked(c))
        return say(err, errlen, AUDIT_E_LOCKED,
                   "the audit is sealed: unlock the post key to read it");
    if (limit <= 0)
        limit = AUDIT_PAGE_DEFAULT;
    if (limit > AUDIT_PAGE_MAX)
        limit = AUDIT_PAGE_MAX;
    if (before_id <= 0)
        before_id = INT64_MAX;
    pthread_mutex_lock(&a->mu);
    int whole = 0;
    /* One read transaction: the chain and the page are the same rows. */
    int rc = 0;
    if (sqlite3_exec(a->db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK) {
        rc = fail_db(a, "reading the audit", err, errlen);
        goto out;
    }
    if ((rc = check_chain(a, c, &whole, err, errlen)))
        goto end;
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(a->db,
                           "SELECT id, box FROM audit WHERE id < ?1 ORDER BY id DESC "
                           "LIMIT ?2",
                           -1, &st, NULL) != SQLITE_OK) {
        rc = fail_db(a, "reading the audit", err, errlen);
        goto end;
    }
    sqlite3_bind_int64(st, 1, before_id);
    sqlite3_bind_int(st, 2, limit);
    struct audit_entry e;
    uint8_t plain[PLAIN_BYTES];
    int step;
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        memset(&e, 0, sizeof e);
        e.id = sqlite3_column_int64(st, 0);
        int64_t inner = 0;
        uint8_t prev[HASH_BYTES];
        if (open_box(c, sqlite3_column_blob(st, 1), sqlite3_column_bytes(st, 1), plain) != 0 ||
            parse_plain(plain, &inner, prev, &e) != 0 || inner != e.id) {
            int64_t id = e.id;
            memset(&e, 0, sizeof e);
            e.id = id;
            e.damaged = 1;
        }
        int r = fn(ctx, &e);
        if (r > 0) {
            rc = r;
            break;
        }
    }
    if (!rc && step != SQLITE_DONE && step != SQLITE_ROW)
        rc = fail_db(a, "reading the audit", err, errlen);
    sqlite3_finalize(st);
    sodium_memzero(plain, sizeof plain);
    sodium_memzero(&e, sizeof e);
    if (intact && rc >= 0)
        *intact = whole;
end:
    sqlite3_exec(a->db, "COMMIT", NULL, NULL, NULL);
out:
    pthread_mutex_unlock(&a->mu);
    return rc;
}
