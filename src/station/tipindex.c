/*
 * tipindex — see tipindex.h. Three layers, each rebuilt from the one
 * below when it is missing or out of date:
 *   postbox.db      the tips (sealed envelopes) and their statuses;
 *   tipindex.db     per tip: its stamp (seq, id, size, storing time, outer
 *                   verdict), the device key of its clear header, and
 *                   once read unlocked its facts, sealed;
 *   memory          the list in postbox order with the header facts, and
 *                   while unlocked the opened facts and folded text.
 */
#include "station/tipindex.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>
#include <sqlite3.h>

#include "core/errbuf.h"
#include "core/keys.h"
#include "core/registry.h"

/* ---- the sealed facts, format 1 ---- */

/*
 * Plain layout (before padding): version (1), flags (1), category (1),
 * when (1), inner verdict (i32), seconds of audio in ms (u32), capture
 * day (u16), language (9, NUL-padded), then the first TIPINDEX_TEXT_MAX
 * bytes of the typed text as search reads it, folded once here rather
 * than at every unlock (a third of the unlock's time at 10,000 tips):
 * lowercased (u16 length, bytes), and lowercased without diacritics (u16
 * length, bytes). The text as typed is not kept: the list never shows it.
 * All little-endian. Padded (ISO/IEC 7816-4, sodium_pad) to a power of two
 * of at least 1 KiB, then sealed: nonce (24) || XChaCha20-Poly1305.
 */
#define FACTS_VERSION 1
#define FACTS_HEAD 27
#define FACTS_MIN_BUCKET 1024
#define FACTS_PLAIN_MAX 32768 /* FACTS_HEAD + 2 * TIPINDEX_TEXT_MAX, padded */
#define SEAL_NONCE crypto_aead_xchacha20poly1305_ietf_NPUBBYTES
#define SEAL_TAG crypto_aead_xchacha20poly1305_ietf_ABYTES
#define SEALED_MAX (SEAL_NONCE + FACTS_PLAIN_MAX + SEAL_TAG)
#define AD_LABEL "homthu tipindex 1"

_Static_assert(FACTS_HEAD + 2 * TIPINDEX_TEXT_MAX < FACTS_PLAIN_MAX,
               "the text fits the top bucket");

enum {
    F_META = 1,
    F_TRAINING = 2,
    F_UNCONFIRMED = 4,
    F_GENUINE = 8,
    F_TEXT = 16,
    F_AUDIO = 32,
    F_WITHHELD = 64,
};

/* One opened tip, in the sodium_malloc'd array. */
struct fact {
    int64_t seq;            /* -1: dropped (its tip was replaced) */
    const char *low, *bare; /* the text lowercased, and without diacritics: in a text block */
    uint32_t low_len, bare_len;
    float seconds;
    int32_t verdict; /* the reader's: 0, ENVELOPE_E_CUT_SHORT or the refusal */
    int8_t category; /* -1 without META */
    uint8_t flags;
    char language[9];
};

/* What tipindex.db says of one tip, kept in memory sorted by seq. */
struct hdr {
    int64_t seq;
    uint8_t id[16];
    uint64_t bytes;
    int64_t stored;
    int32_t outer;
    int dev;    /* index in devs, -1: no header */
    int fact;   /* index in facts, -1: not opened (or locked) */
    int failed; /* could not be opened this time round */
};

struct dev {
    uint8_t pk[32];
    char name[80];
    int revoked;
};

struct entry {
    struct postbox_tip t;
    int hdr; /* index in hdrs */
};

struct tipindex {
    char path[4096];
    sqlite3 *db;
    sqlite3 *watch; /* postbox.db read-only, for PRAGMA data_version */
    int watch_failed;
    int64_t data_version;
    int have_list;

    struct entry *list; /* postbox order: newest first */
    size_t nlist, caplist;
    struct hdr *hdrs;
    size_t nhdrs, caphdrs;
    struct dev *devs;
    size_t ndevs, capdevs;

    /* Only while unlocked, all sodium_malloc'd. */
    uint8_t *key;
    struct fact *facts;
    size_t nfacts, capfacts;
    char **blocks; /* the folded texts, TEXT_BLOCK bytes each (never moved) */
    size_t nblocks, capblocks, block_used;
};

#define TEXT_BLOCK (1024 * 1024)
_Static_assert(2 * TIPINDEX_TEXT_MAX < TEXT_BLOCK, "a tip's folded text fits a block");

const char *tipindex_verdict_name(int v)
{
    switch (v) {
    case TIPINDEX_SIGNED:
        return "signed";
    case TIPINDEX_CUT_SHORT:
        return "cut_short";
    case TIPINDEX_UNCONFIRMED:
        return "unconfirmed";
    case TIPINDEX_PRACTICE:
        return "practice";
    case TIPINDEX_REFUSED:
        return "refused";
    }
    return "refused";
}

/* ---- folding for search ---- */

/* The next code point of s; an invalid byte comes back as itself, length 1. */
static size_t utf8_next(const uint8_t *s, size_t n, uint32_t *cp)
{
    uint8_t b = s[0];
    size_t len = b < 0x80             ? 1
                 : (b & 0xE0) == 0xC0 ? 2
                 : (b & 0xF0) == 0xE0 ? 3
                 : (b & 0xF8) == 0xF0 ? 4
                                      : 0;
    if (len == 1 || len == 0 || len > n) {
        *cp = b;
        return 1;
    }
    uint32_t c = b & (0x7F >> len);
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80) {
            *cp = b;
            return 1;
        }
        c = c << 6 | (s[i] & 0x3F);
    }
    *cp = c;
    return len;
}

static size_t utf8_put(uint32_t cp, char *out)
{
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xC0 | cp >> 6);
        out[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xE0 | cp >> 12);
        out[1] = (char)(0x80 | (cp >> 6 & 0x3F));
        out[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = (char)(0xF0 | cp >> 18);
    out[1] = (char)(0x80 | (cp >> 12 & 0x3F));
    out[2] = (char)(0x80 | (cp >> 6 & 0x3F));
    out[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

/*
 * Lowercase for the letters Vietnamese (and Hmong RPA, which is ASCII) is
 * written in: ASCII, Latin-1, Latin Extended-A, Ơ Ư, and Latin Extended
 * Additional's U+1EA0..U+1EFF. Each maps to a letter of the same UTF-8
 * length, so the lowered text has the typed text's length.
 */
static uint32_t fold_lower(uint32_t c)
{
    if (c >= 'A' && c <= 'Z')
        return c + 32;
    if (c >= 0xC0 && c <= 0xDE && c != 0xD7)
        return c + 32;
    if ((c >= 0x100 && c <= 0x137 && !(c & 1)) || (c >= 0x139 && c <= 0x148 && (c & 1)) ||
        (c >= 0x14A && c <= 0x177 && !(c & 1)) || (c >= 0x179 && c <= 0x17E && (c & 1)))
        return c + 1;
    if (c == 0x1A0 || c == 0x1AF)
        return c + 1;
    if (c >= 0x1EA0 && c <= 0x1EFF && !(c & 1))
        return c + 1;
    return c;
}

/* The base letter of a lowercase letter with diacritics; 0: a combining mark (dropped). */
static uint32_t fold_bare(uint32_t c)
{
    if (c < 0x80)
        return c;
    if (c >= 0x300 && c <= 0x36F)
        return 0;
    if (c >= 0xE0 && c <= 0xE5)
        return 'a';
    if (c == 0xE7)
        return 'c';
    if (c >= 0xE8 && c <= 0xEB)
        return 'e';
    if (c >= 0xEC && c <= 0xEF)
        return 'i';
    if (c == 0xF1)
        return 'n';
    if ((c >= 0xF2 && c <= 0xF6) || c == 0xF8)
        return 'o';
    if (c >= 0xF9 && c <= 0xFC)
        return 'u';
    if (c == 0xFD || c == 0xFF)
        return 'y';
    if (c == 0x101 || c == 0x103 || c == 0x105)
        return 'a';
    if (c == 0x111)
        return 'd';
    if (c == 0x129)
        return 'i';
    if (c == 0x169)
        return 'u';
    if (c == 0x1A1)
        return 'o';
    if (c == 0x1B0)
        return 'u';
    if (c >= 0x1EA0 && c <= 0x1EB7)
        return 'a';
    if (c >= 0x1EB8 && c <= 0x1EC7)
        return 'e';
    if (c >= 0x1EC8 && c <= 0x1ECB)
        return 'i';
    if (c >= 0x1ECC && c <= 0x1EE3)
        return 'o';
    if (c >= 0x1EE4 && c <= 0x1EF1)
        return 'u';
    if (c >= 0x1EF2 && c <= 0x1EF9)
        return 'y';
    return c;
}

/*
 * s folded twice: low (len bytes) and bare (at most len bytes). Returns
 * whether s has anything beyond ASCII (then a search uses `low`).
 */
static int fold(const uint8_t *s, size_t len, char *low, size_t *low_len, char *bare,
                size_t *bare_len)
{
    size_t i = 0, lo = 0, ba = 0;
    int wide = 0;
    while (i < len) {
        if (s[i] < 0x80) { /* most of any text, Vietnamese too: the short way */
            char ch = (char)(s[i] >= 'A' && s[i] <= 'Z' ? s[i] + 32 : s[i]);
            low[lo++] = ch;
            bare[ba++] = ch;
            i++;
            continue;
        }
        uint32_t cp;
        size_t k = utf8_next(s + i, len - i, &cp);
        if (k == 1 && cp >= 0x80) { /* not UTF-8: kept as it is */
            low[lo++] = (char)cp;
            bare[ba++] = (char)cp;
            wide = 1;
            i++;
            continue;
        }
        uint32_t l = fold_lower(cp), b = fold_bare(l);
        wide |= cp >= 0x80;
        lo += utf8_put(l, low + lo);
        if (b)
            ba += utf8_put(b, bare + ba);
        i += k;
    }
    *low_len = lo;
    *bare_len = ba;
    return wide;
}

/* ---- errors ---- */

static int db_say(struct tipindex *ix, char *err, size_t errlen, const char *doing)
{
    int code = sqlite3_errcode(ix->db);
    if (code == SQLITE_NOTADB || code == SQLITE_CORRUPT)
        return errbuf_say(err, errlen, TIPINDEX_E_DAMAGED,
                          "%s is damaged (%s while %s): remove it and the station reads every "
                          "tip again from postbox.db (the tips themselves are not in it)",
                          ix->path, sqlite3_errmsg(ix->db), doing);
    return errbuf_say(err, errlen, TIPINDEX_E_IO, "%s: %s while %s", ix->path,
                      sqlite3_errmsg(ix->db), doing);
}

/* ---- memory ---- */

/* Grow a sodium_malloc'd array (no realloc: copy, and sodium_free wipes the old one). */
static int sgrow(void **p, size_t *cap, size_t used, size_t need, size_t size)
{
    if (need <= *cap)
        return 0;
    size_t ncap = *cap ? *cap : 64;
    while (ncap < need)
        ncap *= 2;
    void *np = sodium_malloc(ncap * size);
    if (!np)
        return -1;
    if (*p) {
        memcpy(np, *p, used * size);
        sodium_free(*p);
    }
    *p = np;
    *cap = ncap;
    return 0;
}

static int grow(void **p, size_t *cap, size_t need, size_t size)
{
    if (need <= *cap)
        return 0;
    size_t ncap = *cap ? *cap : 64;
    while (ncap < need)
        ncap *= 2;
    void *np = realloc(*p, ncap * size);
    if (!np)
        return -1;
    *p = np;
    *cap = ncap;
    return 0;
}

void tipindex_lock(struct tipindex *ix)
{
    if (!ix)
        return;
    sodium_free(ix->key);
    sodium_free(ix->facts);
    for (size_t i = 0; i < ix->nblocks; i++)
        sodium_free(ix->blocks[i]);
    free(ix->blocks);
    ix->blocks = NULL;
    ix->nblocks = ix->capblocks = ix->block_used = 0;
    ix->key = NULL;
    ix->facts = NULL;
    ix->nfacts = ix->capfacts = 0;
    for (size_t i = 0; i < ix->nhdrs; i++) {
        ix->hdrs[i].fact = -1;
        ix->hdrs[i].failed = 0;
    }
}

int tipindex_unlocked(const struct tipindex *ix)
{
    return ix && ix->key;
}

void tipindex_close(struct tipindex *ix)
{
    if (!ix)
        return;
    tipindex_lock(ix);
    sqlite3_close(ix->db);
    sqlite3_close(ix->watch);
    free(ix->list);
    free(ix->hdrs);
    free(ix->devs);
    free(ix);
}

static int hdr_cmp(const void *a, const void *b)
{
    int64_t x = ((const struct hdr *)a)->seq, y = ((const struct hdr *)b)->seq;
    return (x > y) - (x < y);
}

static struct hdr *hdr_find(struct tipindex *ix, int64_t seq)
{
    struct hdr key = {.seq = seq};
    if (!ix->nhdrs)
        return NULL;
    return bsearch(&key, ix->hdrs, ix->nhdrs, sizeof *ix->hdrs, hdr_cmp);
}

static int dev_index(struct tipindex *ix, const uint8_t pk[32])
{
    for (size_t i = 0; i < ix->ndevs; i++)
        if (memcmp(ix->devs[i].pk, pk, 32) == 0)
            return (int)i;
    if (grow((void **)&ix->devs, &ix->capdevs, ix->ndevs + 1, sizeof *ix->devs))
        return -2;
    struct dev *d = &ix->devs[ix->ndevs];
    memset(d, 0, sizeof *d);
    memcpy(d->pk, pk, 32);
    return (int)ix->ndevs++;
}

/* ---- the store ---- */

static const char schema[] = "CREATE TABLE IF NOT EXISTS tip("
                             "  seq INTEGER PRIMARY KEY,"
                             "  id BLOB NOT NULL,"
                             "  bytes INTEGER NOT NULL,"
                             "  stored INTEGER NOT NULL,"
                             "  outer_verdict INTEGER NOT NULL,"
                             "  device_pk BLOB," /* NULL: the envelope has no header */
                             "  facts BLOB);"    /* NULL: not read unlocked yet */
                             "PRAGMA user_version = 1;";

static int load_hdrs(struct tipindex *ix, char *err, size_t errlen)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(ix->db,
                           "SELECT seq, id, bytes, stored, outer_verdict, device_pk FROM tip "
                           "ORDER BY seq",
                           -1, &st, NULL) != SQLITE_OK)
        return db_say(ix, err, errlen, "reading the list");
    int step;
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        if (grow((void **)&ix->hdrs, &ix->caphdrs, ix->nhdrs + 1, sizeof *ix->hdrs)) {
            sqlite3_finalize(st);
            return errbuf_say(err, errlen, TIPINDEX_E_NOMEM, "out of memory");
        }
        struct hdr *h = &ix->hdrs[ix->nhdrs];
        memset(h, 0, sizeof *h);
        h->seq = sqlite3_column_int64(st, 0);
        if (sqlite3_column_bytes(st, 1) == 16)
            memcpy(h->id, sqlite3_column_blob(st, 1), 16);
        h->bytes = (uint64_t)sqlite3_column_int64(st, 2);
        h->stored = sqlite3_column_int64(st, 3);
        h->outer = sqlite3_column_int(st, 4);
        h->dev = -1;
        h->fact = -1;
        if (sqlite3_column_bytes(st, 5) == 32) {
            h->dev = dev_index(ix, sqlite3_column_blob(st, 5));
            if (h->dev < -1) {
                sqlite3_finalize(st);
                return errbuf_say(err, errlen, TIPINDEX_E_NOMEM, "out of memory");
            }
        }
        ix->nhdrs++;
    }
    if (step != SQLITE_DONE) {
        int rc = db_say(ix, err, errlen, "reading the list");
        sqlite3_finalize(st);
        return rc;
    }
    sqlite3_finalize(st);
    return 0;
}

int tipindex_open(struct tipindex **out, const char *path, char *err, size_t errlen)
{
    if (!out || !path)
        return errbuf_say(err, errlen, TIPINDEX_E_ARG, "tipindex_open: no path");
    *out = NULL;
    if (sodium_init() < 0)
        return errbuf_say(err, errlen, TIPINDEX_E_NOMEM, "libsodium cannot start");
    struct tipindex *ix = calloc(1, sizeof *ix);
    if (!ix)
        return errbuf_say(err, errlen, TIPINDEX_E_NOMEM, "out of memory");
    if (strlen(path) >= sizeof ix->path) {
        free(ix);
        return errbuf_say(err, errlen, TIPINDEX_E_ARG, "the path %s is too long", path);
    }
    snprintf(ix->path, sizeof ix->path, "%s", path);
    /* Made 0600 before SQLite sees it: its journal files take the file's mode. */
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) {
        int e = errno;
        free(ix);
        return errbuf_say(err, errlen, TIPINDEX_E_IO, "cannot open %s: %s", path, strerror(e));
    }
    close(fd);
    int rc;
    if (sqlite3_open_v2(path, &ix->db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK) {
        rc = db_say(ix, err, errlen, "opening it");
        goto fail;
    }
    sqlite3_busy_timeout(ix->db, 5000);
    sqlite3_stmt *st = NULL;
    int version = -1;
    if (sqlite3_prepare_v2(ix->db, "PRAGMA user_version", -1, &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW)
        version = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    if (version < 0) {
        rc = db_say(ix, err, errlen, "opening it");
        goto fail;
    }
    if (version > TIPINDEX_SCHEMA_VERSION) {
        rc = errbuf_say(err, errlen, TIPINDEX_E_SCHEMA,
                        "%s was made by a newer homthu-station (schema %d): run that one, or "
                        "remove the file to have it made again",
                        path, version);
        goto fail;
    }
    /* A cache of sealed rows: NORMAL is enough (a lost row is read again). */
    if (sqlite3_exec(ix->db,
                     "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; "
                     "PRAGMA secure_delete = ON;",
                     NULL, NULL, NULL) != SQLITE_OK ||
        sqlite3_exec(ix->db, schema, NULL, NULL, NULL) != SQLITE_OK) {
        rc = db_say(ix, err, errlen, "setting it up");
        goto fail;
    }
    if ((rc = load_hdrs(ix, err, errlen)))
        goto fail;
    *out = ix;
    return 0;
fail:
    tipindex_close(ix);
    return rc;
}

/* ---- facts: seal and open ---- */

static void put32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* What a sealed row is bound to: the tip exactly as postbox.db holds it. */
static size_t make_ad(const struct hdr *h, uint8_t ad[64])
{
    size_t n = sizeof AD_LABEL - 1;
    memcpy(ad, AD_LABEL, n);
    for (int i = 0; i < 8; i++)
        ad[n++] = (uint8_t)((uint64_t)h->seq >> (8 * i));
    memcpy(ad + n, h->id, 16);
    n += 16;
    for (int i = 0; i < 8; i++)
        ad[n++] = (uint8_t)(h->bytes >> (8 * i));
    for (int i = 0; i < 8; i++)
        ad[n++] = (uint8_t)((uint64_t)h->stored >> (8 * i));
    put32(ad + n, (uint32_t)h->outer);
    return n + 4;
}

/* Cut at most max bytes of UTF-8 at a character's start. */
static size_t utf8_cut(const uint8_t *s, size_t len, size_t max)
{
    if (len <= max)
        return len;
    size_t n = max;
    while (n > 0 && (s[n] & 0xC0) == 0x80)
        n--;
    return n;
}

/* The facts of an opened tip into plain (FACTS_PLAIN_MAX), padded; its length. */
static size_t facts_plain(const struct console_tip *v, uint8_t *plain)
{
    memset(plain, 0, FACTS_HEAD);
    plain[0] = FACTS_VERSION;
    uint8_t fl = 0;
    fl |= v->has_meta ? F_META : 0;
    fl |= v->has_meta && v->meta.training ? F_TRAINING : 0;
    fl |= v->unconfirmed ? F_UNCONFIRMED : 0;
    fl |= v->genuine ? F_GENUINE : 0;
    fl |= v->text_len ? F_TEXT : 0;
    fl |= v->audio_len ? F_AUDIO : 0;
    fl |= v->withheld ? F_WITHHELD : 0;
    plain[1] = fl;
    plain[2] = v->has_meta ? v->meta.category : 0;
    plain[3] = v->when;
    put32(plain + 4, (uint32_t)v->verdict);
    double ms = v->seconds * 1000.0 + 0.5;
    put32(plain + 8, ms > 0 && ms < 4e9 ? (uint32_t)ms : 0);
    plain[12] = (uint8_t)(v->meta.capture_day & 0xFF);
    plain[13] = (uint8_t)(v->meta.capture_day >> 8);
    if (v->has_meta)
        memcpy(plain + 14, v->meta.language, 8); /* the 9th stays NUL */
    size_t tl = v->text ? utf8_cut(v->text, v->text_len, TIPINDEX_TEXT_MAX) : 0;
    size_t lo = 0, ba = 0;
    char *low = (char *)plain + FACTS_HEAD;
    if (tl) {
        /* bare is written past where low can end, then moved up to it */
        fold(v->text, tl, low, &lo, low + tl, &ba);
        memmove(low + lo, low + tl, ba);
    }
    plain[23] = (uint8_t)(lo & 0xFF);
    plain[24] = (uint8_t)(lo >> 8);
    plain[25] = (uint8_t)(ba & 0xFF);
    plain[26] = (uint8_t)(ba >> 8);
    size_t n = FACTS_HEAD + lo + ba, bucket = FACTS_MIN_BUCKET, padded = 0;
    while (bucket < n + 1)
        bucket *= 2;
    /* Sizes in powers of two from 1 KiB: a row tells only roughly how long its text is. */
    if (sodium_pad(&padded, plain, n, bucket, FACTS_PLAIN_MAX) != 0)
        return 0;
    return padded;
}

/* Room for need bytes of folded text, in the last block or a new one; NULL: out of memory. */
static char *text_room(struct tipindex *ix, size_t need)
{
    if (ix->nblocks && ix->block_used + need <= TEXT_BLOCK)
        return ix->blocks[ix->nblocks - 1] + ix->block_used;
    if (grow((void **)&ix->blocks, &ix->capblocks, ix->nblocks + 1, sizeof *ix->blocks))
        return NULL;
    char *b = sodium_malloc(TEXT_BLOCK);
    if (!b)
        return NULL;
    ix->blocks[ix->nblocks++] = b;
    ix->block_used = 0;
    return b;
}

/*
 * Add opened facts (plain, as sealed: the padding after the text is not
 * looked at) for tip h to memory; its index, -1 out of memory, -2 not facts.
 */
static int fact_add(struct tipindex *ix, const struct hdr *h, const uint8_t *plain, size_t len)
{
    if (len < FACTS_HEAD || plain[0] != FACTS_VERSION)
        return -2;
    size_t lo = (size_t)plain[23] | (size_t)plain[24] << 8;
    size_t ba = (size_t)plain[25] | (size_t)plain[26] << 8;
    if (lo > TIPINDEX_TEXT_MAX || ba > TIPINDEX_TEXT_MAX || FACTS_HEAD + lo + ba > len)
        return -2;
    char *low = text_room(ix, lo + ba);
    if (!low ||
        sgrow((void **)&ix->facts, &ix->capfacts, ix->nfacts, ix->nfacts + 1, sizeof *ix->facts))
        return -1;
    struct fact *f = &ix->facts[ix->nfacts];
    memset(f, 0, sizeof *f);
    f->seq = h->seq;
    f->flags = plain[1];
    f->category = (f->flags & F_META) ? (int8_t)plain[2] : -1;
    f->verdict = (int32_t)get32(plain + 4);
    f->seconds = (float)get32(plain + 8) / 1000.0f;
    memcpy(f->language, plain + 14, 8);
    f->language[8] = 0;
    memcpy(low, plain + FACTS_HEAD, lo + ba);
    f->low = low;
    f->low_len = (uint32_t)lo;
    f->bare = low + lo;
    f->bare_len = (uint32_t)ba;
    ix->block_used += lo + ba;
    return (int)ix->nfacts++;
}

/* ---- unlocking ---- */

int tipindex_unlock(struct tipindex *ix, struct console *c, char *err, size_t errlen)
{
    if (!ix || !c)
        return errbuf_say(err, errlen, TIPINDEX_E_ARG, "tipindex_unlock: missing argument");
    if (ix->key)
        return 0;
    uint8_t *key = sodium_malloc(32);
    uint8_t *plain = sodium_malloc(FACTS_PLAIN_MAX);
    int64_t *bad = NULL;
    size_t nbad = 0, capbad = 0;
    int rc = 0;
    sqlite3_stmt *st = NULL;
    if (!key || !plain) {
        rc = errbuf_say(err, errlen, TIPINDEX_E_NOMEM, "out of memory");
        goto out;
    }
    if (console_derive_key(c, TIPINDEX_PURPOSE, key)) {
        rc = errbuf_say(err, errlen, TIPINDEX_E_LOCKED,
                        "the post key is locked: give the passphrase first");
        goto out;
    }
    ix->key = key;
    key = NULL;
    /* Room for every row at once: one copy, not a doubling per thousand rows. */
    if (sqlite3_prepare_v2(ix->db, "SELECT count(*) FROM tip WHERE facts IS NOT NULL", -1, &st,
                           NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW) {
        size_t rows = (size_t)sqlite3_column_int64(st, 0);
        if (sgrow((void **)&ix->facts, &ix->capfacts, 0, rows + 1, sizeof *ix->facts)) {
            rc = errbuf_say(err, errlen, TIPINDEX_E_NOMEM, "out of memory");
            goto out;
        }
    }
    sqlite3_finalize(st);
    st = NULL;
    if (sqlite3_prepare_v2(ix->db, "SELECT seq, facts FROM tip WHERE facts IS NOT NULL", -1, &st,
                           NULL) != SQLITE_OK) {
        rc = db_say(ix, err, errlen, "reading the index");
        goto out;
    }
    int step;
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        int64_t seq = sqlite3_column_int64(st, 0);
        const uint8_t *box = sqlite3_column_blob(st, 1);
        size_t len = (size_t)sqlite3_column_bytes(st, 1);
        struct hdr *h = hdr_find(ix, seq);
        unsigned long long plen = 0;
        uint8_t ad[64];
        int ok = h && box && len > SEAL_NONCE + SEAL_TAG && len <= SEALED_MAX &&
                 crypto_aead_xchacha20poly1305_ietf_decrypt(plain, &plen, NULL, box + SEAL_NONCE,
                                                            len - SEAL_NONCE, ad, make_ad(h, ad),
                                                            box, ix->key) == 0;
        int f = ok ? fact_add(ix, h, plain, (size_t)plen) : -2;
        sodium_memzero(plain, ok ? (size_t)plen : 0);
        if (f == -1) {
            rc = errbuf_say(err, errlen, TIPINDEX_E_NOMEM, "out of memory");
            goto out;
        }
        if (f >= 0) {
            h->fact = f;
            continue;
        }
        /* Another key's row, or a damaged one: read that tip again. */
        if (grow((void **)&bad, &capbad, nbad + 1, sizeof *bad)) {
            rc = errbuf_say(err, errlen, TIPINDEX_E_NOMEM, "out of memory");
            goto out;
        }
        bad[nbad++] = seq;
    }
    if (step != SQLITE_DONE) {
        rc = db_say(ix, err, errlen, "reading the index");
        goto out;
    }
    sqlite3_finalize(st);
    st = NULL;
    /*
     * Mark them unread in the file too. Not needed for the list (reading a
     * tip again overwrites its row) and so not fatal: a store that cannot
     * be written now only means the next unlock tries those rows again.
     */
    if (nbad && sqlite3_exec(ix->db, "BEGIN", NULL, NULL, NULL) == SQLITE_OK) {
        int ok = sqlite3_prepare_v2(ix->db, "UPDATE tip SET facts = NULL WHERE seq = ?1", -1, &st,
                                    NULL) == SQLITE_OK;
        for (size_t i = 0; i < nbad && ok; i++) {
            sqlite3_bind_int64(st, 1, bad[i]);
            ok = sqlite3_step(st) == SQLITE_DONE;
            sqlite3_reset(st);
        }
        sqlite3_finalize(st);
        st = NULL;
        if (!ok || sqlite3_exec(ix->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
            sqlite3_exec(ix->db, "ROLLBACK", NULL, NULL, NULL);
    }
out:
    sqlite3_finalize(st);
    sodium_free(key);
    sodium_free(plain);
    free(bad);
    if (rc)
        tipindex_lock(ix);
    return rc;
}

/* ---- keeping up with the postbox ---- */

struct collect {
    struct tipindex *ix;
    int nomem;
};

static int collect_one(void *ctx, const struct postbox_tip *t)
{
    struct collect *k = ctx;
    struct tipindex *ix = k->ix;
    if (grow((void **)&ix->list, &ix->caplist, ix->nlist + 1, sizeof *ix->list)) {
        k->nomem = 1;
        return 1;
    }
    ix->list[ix->nlist].t = *t;
    ix->list[ix->nlist].hdr = -1;
    ix->nlist++;
    return 0;
}

static int stamp_same(const struct hdr *h, const struct postbox_tip *t)
{
    return memcmp(h->id, t->id, 16) == 0 && h->bytes == t->bytes && h->stored == t->stored &&
           h->outer == t->outer;
}

/* Has postbox.db changed since the list was read? 1 yes (or cannot tell), 0 no. */
static int postbox_changed(struct tipindex *ix, struct console *c)
{
    if (!ix->watch && !ix->watch_failed) {
        char path[4200];
        if (console_file(c, POSTBOX_DB_NAME, path, sizeof path) ||
            sqlite3_open_v2(path, &ix->watch, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
            sqlite3_close(ix->watch);
            ix->watch = NULL;
            ix->watch_failed = 1;
        }
    }
    int64_t v = -1;
    sqlite3_stmt *st = NULL;
    if (ix->watch &&
        sqlite3_prepare_v2(ix->watch, "PRAGMA data_version", -1, &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    int changed = !ix->have_list || v < 0 || v != ix->data_version;
    ix->data_version = v;
    return changed;
}

/* Read tip t's clear header into h (stamp, device), and write the row, facts NULL. */
static int read_header(struct tipindex *ix, struct console *c, const struct postbox_tip *t,
                       struct hdr *h, sqlite3_stmt *put, char *err, size_t errlen)
{
    uint8_t *env = NULL;
    size_t len = 0;
    char why[512];
    if (postbox_envelope(console_postbox(c), t->seq, &env, &len, why, sizeof why))
        return errbuf_say(err, errlen, TIPINDEX_E_IO, "%s", why);
    struct envelope_header_info info;
    int has = envelope_parse_header(env, len, &info, why, sizeof why) == 0;
    free(env);
    h->seq = t->seq;
    memcpy(h->id, t->id, 16);
    h->bytes = t->bytes;
    h->stored = t->stored;
    h->outer = t->outer;
    h->fact = -1;
    h->failed = 0;
    h->dev = has ? dev_index(ix, info.device_pk) : -1;
    if (h->dev < -1)
        return errbuf_say(err, errlen, TIPINDEX_E_NOMEM, "out of memory");
    sqlite3_bind_int64(put, 1, h->seq);
    sqlite3_bind_blob(put, 2, h->id, 16, SQLITE_STATIC);
    sqlite3_bind_int64(put, 3, (int64_t)h->bytes);
    sqlite3_bind_int64(put, 4, h->stored);
    sqlite3_bind_int(put, 5, h->outer);
    if (has)
        sqlite3_bind_blob(put, 6, info.device_pk, 32, SQLITE_TRANSIENT);
    else
        sqlite3_bind_null(put, 6);
    int rc =
        sqlite3_step(put) == SQLITE_DONE ? 0 : db_say(ix, err, errlen, "storing a tip's header");
    sqlite3_reset(put);
    sqlite3_clear_bindings(put);
    return rc;
}

/* Kiosk names and revocations from the registry, for every device key seen. */
struct reg_ctx {
    struct tipindex *ix;
};

static int reg_one(void *ctx, const struct registry_entry *e)
{
    struct tipindex *ix = ((struct reg_ctx *)ctx)->ix;
    for (size_t i = 0; i < ix->ndevs; i++)
        if (memcmp(ix->devs[i].pk, e->device_pk, 32) == 0) {
            snprintf(ix->devs[i].name, sizeof ix->devs[i].name, "%s", e->id);
            ix->devs[i].revoked = e->revoked != 0;
        }
    return 0;
}

static int name_devices(struct tipindex *ix, struct console *c, char *err, size_t errlen)
{
    for (size_t i = 0; i < ix->ndevs; i++) {
        char fp[KEYS_FINGERPRINT_HEX];
        keys_fingerprint(ix->devs[i].pk, 32, fp);
        snprintf(ix->devs[i].name, sizeof ix->devs[i].name, "unknown kiosk key %s", fp);
        ix->devs[i].revoked = 0;
    }
    struct reg_ctx r = {ix};
    char why[512];
    if (registry_list(console_registry(c), reg_one, &r, why, sizeof why))
        return errbuf_say(err, errlen, TIPINDEX_E_IO, "%s", why);
    return 0;
}

/* Start a write transaction with one prepared statement, once per call. */
static int begin_with(struct tipindex *ix, sqlite3_stmt **st, const char *sql, const char *doing,
                      char *err, size_t errlen)
{
    if (sqlite3_exec(ix->db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK)
        return db_say(ix, err, errlen, doing);
    if (sqlite3_prepare_v2(ix->db, sql, -1, st, NULL) != SQLITE_OK) {
        int rc = db_say(ix, err, errlen, doing);
        sqlite3_exec(ix->db, "ROLLBACK", NULL, NULL, NULL);
        return rc;
    }
    return 0;
}

static int end_with(struct tipindex *ix, sqlite3_stmt *st, int rc, const char *doing, char *err,
                    size_t errlen)
{
    sqlite3_finalize(st);
    if (!rc && sqlite3_exec(ix->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
        rc = db_say(ix, err, errlen, doing);
    if (rc)
        sqlite3_exec(ix->db, "ROLLBACK", NULL, NULL, NULL);
    return rc;
}

/* Read the list again from postbox.db, and every new or replaced tip's header. */
static int reread_list(struct tipindex *ix, struct console *c, char *err, size_t errlen)
{
    ix->have_list = 0;
    ix->nlist = 0;
    for (size_t i = 0; i < ix->nhdrs; i++)
        ix->hdrs[i].failed = 0; /* the postbox changed: worth another try */
    struct collect k = {ix, 0};
    char why[512];
    int rc = postbox_foreach(console_postbox(c), collect_one, &k, why, sizeof why);
    if (k.nomem)
        return errbuf_say(err, errlen, TIPINDEX_E_NOMEM, "out of memory");
    if (rc)
        return errbuf_say(err, errlen, TIPINDEX_E_IO, "%s", why);
    static const char doing[] = "storing the tips' headers";
    sqlite3_stmt *put = NULL;
    /* hdrs[0 .. sorted) stays sorted for hdr_find; new ones go after, sorted at the end. */
    size_t sorted = ix->nhdrs;
    for (size_t i = 0; i < ix->nlist && !rc; i++) {
        struct entry *e = &ix->list[i];
        struct hdr key = {.seq = e->t.seq};
        struct hdr *h = sorted ? bsearch(&key, ix->hdrs, sorted, sizeof *ix->hdrs, hdr_cmp) : NULL;
        if (h && stamp_same(h, &e->t))
            continue;
        if (!put && (rc = begin_with(ix, &put,
                                     "INSERT OR REPLACE INTO tip(seq, id, bytes, stored, "
                                     "outer_verdict, device_pk, facts) "
                                     "VALUES(?1, ?2, ?3, ?4, ?5, ?6, NULL)",
                                     doing, err, errlen)))
            break;
        if (h) {
            /* Replaced in the postbox (a forgery gave way): its facts are another tip's. */
            if (h->fact >= 0)
                ix->facts[h->fact].seq = -1;
            rc = read_header(ix, c, &e->t, h, put, err, errlen);
        } else if (grow((void **)&ix->hdrs, &ix->caphdrs, ix->nhdrs + 1, sizeof *ix->hdrs)) {
            rc = errbuf_say(err, errlen, TIPINDEX_E_NOMEM, "out of memory");
        } else if (!(rc = read_header(ix, c, &e->t, &ix->hdrs[ix->nhdrs], put, err, errlen))) {
            ix->nhdrs++;
        }
    }
    if (put)
        rc = end_with(ix, put, rc, doing, err, errlen);
    if (ix->nhdrs > sorted)
        qsort(ix->hdrs, ix->nhdrs, sizeof *ix->hdrs, hdr_cmp);
    if (rc)
        return rc; /* the headers read stay in memory; the file gets them next time */
    for (size_t i = 0; i < ix->nlist; i++)
        ix->list[i].hdr = (int)(hdr_find(ix, ix->list[i].t.seq) - ix->hdrs);
    ix->have_list = 1;
    return 0;
}

/* The list as postbox.db holds it now, every tip's header known, kiosks named. */
static int sync_list(struct tipindex *ix, struct console *c, char *err, size_t errlen)
{
    if (ix->key && !console_unlocked(c))
        tipindex_lock(ix); /* console_lock() by someone: the facts go too */
    int rc;
    if (postbox_changed(ix, c) && (rc = reread_list(ix, c, err, errlen)))
        return rc;
    return name_devices(ix, c, err, errlen);
}

static size_t unread(const struct tipindex *ix)
{
    size_t n = 0;
    for (size_t i = 0; i < ix->nlist; i++)
        n += ix->hdrs[ix->list[i].hdr].fact < 0;
    return n;
}

int tipindex_refresh(struct tipindex *ix, struct console *c, int max_new, char *err, size_t errlen)
{
    if (!ix || !c)
        return errbuf_say(err, errlen, TIPINDEX_E_ARG, "tipindex_refresh: missing argument");
    int rc = sync_list(ix, c, err, errlen);
    if (rc)
        return rc;
    if (!ix->key || max_new <= 0) {
        size_t n = unread(ix);
        return n > 0x7fffffff ? 0x7fffffff : (int)n;
    }
    uint8_t *plain = sodium_malloc(FACTS_PLAIN_MAX);
    uint8_t *box = malloc(SEALED_MAX);
    sqlite3_stmt *st = NULL;
    static const char doing[] = "storing the tips' facts";
    if (!plain || !box) {
        rc = errbuf_say(err, errlen, TIPINDEX_E_NOMEM, "out of memory");
        goto out;
    }
    int done = 0;
    for (size_t i = 0; i < ix->nlist && done < max_new && !rc; i++) {
        struct hdr *h = &ix->hdrs[ix->list[i].hdr];
        if (h->fact >= 0 || h->failed)
            continue;
        done++;
        struct console_tip *v = NULL;
        char why[512];
        if (console_open_tip(c, &ix->list[i].t, &v, why, sizeof why)) {
            h->failed = 1; /* tried again when the postbox changes */
            continue;
        }
        size_t plen = facts_plain(v, plain);
        console_tip_free(v);
        if (!plen) {
            h->failed = 1;
            continue;
        }
        uint8_t ad[64];
        unsigned long long clen = 0;
        randombytes_buf(box, SEAL_NONCE);
        crypto_aead_xchacha20poly1305_ietf_encrypt(box + SEAL_NONCE, &clen, plain, plen, ad,
                                                   make_ad(h, ad), NULL, box, ix->key);
        if (!st && (rc = begin_with(ix, &st, "UPDATE tip SET facts = ?2 WHERE seq = ?1", doing, err,
                                    errlen)))
            break;
        sqlite3_bind_int64(st, 1, h->seq);
        sqlite3_bind_blob(st, 2, box, (int)(SEAL_NONCE + clen), SQLITE_STATIC);
        if (sqlite3_step(st) != SQLITE_DONE)
            rc = db_say(ix, err, errlen, doing);
        sqlite3_reset(st);
        if (!rc) {
            int f = fact_add(ix, h, plain, plen);
            if (f < 0)
                rc = errbuf_say(err, errlen, TIPINDEX_E_NOMEM, "out of memory");
            else
                h->fact = f;
        }
        sodium_memzero(plain, plen);
    }
    /* Facts opened but not kept in the file are still right: they are read again after
       the next unlock. */
    if (st)
        rc = end_with(ix, st, rc, doing, err, errlen);
out:
    sodium_free(plain);
    free(box);
    if (rc)
        return rc;
    size_t n = unread(ix);
    return n > 0x7fffffff ? 0x7fffffff : (int)n;
}

/* ---- the list ---- */

static int verdict_of(const struct tipindex *ix, const struct entry *e, const struct fact **fp)
{
    const struct hdr *h = &ix->hdrs[e->hdr];
    const struct fact *f = h->fact >= 0 ? &ix->facts[h->fact] : NULL;
    *fp = f;
    int outer = e->t.outer;
    if ((outer != 0 && outer != ENVELOPE_E_CUT_SHORT) || (h->dev >= 0 && ix->devs[h->dev].revoked))
        return TIPINDEX_REFUSED;
    if (f) {
        if (!(f->flags & F_GENUINE))
            return TIPINDEX_REFUSED;
        if (f->flags & F_TRAINING)
            return TIPINDEX_PRACTICE;
        if (f->verdict == ENVELOPE_E_CUT_SHORT)
            return TIPINDEX_CUT_SHORT;
        if (f->flags & F_UNCONFIRMED)
            return TIPINDEX_UNCONFIRMED;
        return TIPINDEX_SIGNED;
    }
    return outer == ENVELOPE_E_CUT_SHORT ? TIPINDEX_CUT_SHORT : TIPINDEX_SIGNED;
}

static void fill_row(const struct tipindex *ix, const struct entry *e, int verdict,
                     const struct fact *f, struct tipindex_row *r)
{
    memset(r, 0, sizeof *r);
    const struct hdr *h = &ix->hdrs[e->hdr];
    r->t = e->t;
    errbuf_hex(r->id, e->t.id, 16);
    snprintf(r->kiosk, sizeof r->kiosk, "%s", h->dev >= 0 ? ix->devs[h->dev].name : "?");
    r->verdict = verdict;
    r->category = -1;
    if (!f)
        return;
    r->indexed = 1;
    r->category = f->category;
    snprintf(r->language, sizeof r->language, "%s", f->language);
    r->seconds = f->seconds;
    r->has_text = (f->flags & F_TEXT) != 0;
    r->has_audio = (f->flags & F_AUDIO) != 0;
}

#define QUERY_MAX 1024 /* bytes of a search */

int tipindex_query(struct tipindex *ix, struct console *c, const struct tipindex_filter *f,
                   struct tipindex_row *rows, size_t cap, size_t *n, size_t *total, char *err,
                   size_t errlen)
{
    if (!ix || !c || !f || (!rows && cap) || !n || !total)
        return errbuf_say(err, errlen, TIPINDEX_E_ARG, "tipindex_query: missing argument");
    *n = *total = 0;
    int rc = sync_list(ix, c, err, errlen);
    if (rc)
        return rc;
    int search = f->q && f->q[0];
    size_t qlen = search ? strlen(f->q) : 0;
    if (search && !ix->key)
        return errbuf_say(err, errlen, TIPINDEX_E_LOCKED,
                          "searching the typed text needs the post key unlocked");
    if (qlen > QUERY_MAX)
        return errbuf_say(err, errlen, TIPINDEX_E_ARG, "the search is longer than %d bytes",
                          QUERY_MAX);
    /* The officer's words are about a tip: kept in wiped memory too. */
    char *qbuf = NULL, *needle = NULL;
    size_t nlen = 0;
    int wide = 0;
    if (search) {
        if (!(qbuf = sodium_malloc(2 * QUERY_MAX + 2)))
            return errbuf_say(err, errlen, TIPINDEX_E_NOMEM, "out of memory");
        size_t lo = 0, ba = 0;
        wide = fold((const uint8_t *)f->q, qlen, qbuf, &lo, qbuf + QUERY_MAX + 1, &ba);
        needle = wide ? qbuf : qbuf + QUERY_MAX + 1;
        nlen = wide ? lo : ba;
        if (!nlen)
            search = 0; /* only combining marks: nothing to look for */
    }
    size_t page = f->limit < cap ? f->limit : cap;
    int kiosk = f->kiosk && f->kiosk[0];
    for (size_t i = 0; i < ix->nlist; i++) {
        const struct entry *e = &ix->list[i];
        if (f->status >= 0 && e->t.status != f->status)
            continue;
        if ((f->from && e->t.received < f->from) || (f->to && e->t.received > f->to))
            continue;
        const struct hdr *h = &ix->hdrs[e->hdr];
        if (kiosk && (h->dev < 0 || strcmp(ix->devs[h->dev].name, f->kiosk) != 0))
            continue;
        const struct fact *fa;
        int verdict = verdict_of(ix, e, &fa);
        if (f->category >= 0 && (!fa || fa->category != f->category))
            continue;
        if (search) {
            /* A refused tip's content is not given out, not even as a match. */
            if (!fa || verdict == TIPINDEX_REFUSED)
                continue;
            const char *hay = wide ? fa->low : fa->bare;
            size_t hlen = wide ? fa->low_len : fa->bare_len;
            if (!memmem(hay, hlen, needle, nlen))
                continue;
        }
        if (*total >= f->offset && *n < page)
            fill_row(ix, e, verdict, fa, &rows[(*n)++]);
        (*total)++;
    }
    sodium_free(qbuf);
    return 0;
}

int tipindex_counts(struct tipindex *ix, struct console *c, size_t *total, size_t *fresh, char *err,
                    size_t errlen)
{
    if (!ix || !c || !total || !fresh)
        return errbuf_say(err, errlen, TIPINDEX_E_ARG, "tipindex_counts: missing argument");
    *total = *fresh = 0;
    int rc = sync_list(ix, c, err, errlen);
    if (rc)
        return rc;
    *total = ix->nlist;
    for (size_t i = 0; i < ix->nlist; i++)
        *fresh += ix->list[i].t.status == POSTBOX_NEW;
    return 0;
}
