/*
 * tipindex — the list of tips behind the station's page (GET /api/tips):
 * fast at 10,000 tips, with filters, a search of the typed text and
 * paging, and nothing decrypted on disk.
 *
 * Opening a tip decrypts all of it, audio too (console_open_tip), so the
 * facts a list row shows — category, language, practice, the inner
 * verdict, unconfirmed, seconds of audio, has text/audio, and the typed
 * text for search (its first TIPINDEX_TEXT_MAX bytes, kept only folded as
 * search reads it) — are read ONCE per tip and kept in a side store,
 * POSTDIR/tipindex.db (SQLite, 0600). There each tip's facts are one
 * XChaCha20-Poly1305 box under console_derive_key(c, "station-index"),
 * bound (as additional data) to the tip's seq, id, size, storing time and
 * outer verdict, and padded to a power of two of at least 1 KiB. Without
 * post.key's passphrase a copied tipindex.db says what postbox.db says,
 * and one thing more: which typed texts are over about 1, 2 or 4 KiB (a
 * kiosk's typed tips are nearly all under 1 KiB; one size for all would
 * make 10,000 rows 16 KiB each). Beside the boxes it keeps in clear only
 * what postbox.db shows to anyone already: the device key from each
 * envelope's clear header (so the locked list names the kiosk without
 * reading 10,000 envelopes again).
 *
 * In memory: the postbox's facts of every tip (clear, as in postbox.db)
 * and, only while unlocked, the opened facts and the text folded for
 * search (sodium_malloc'd, wiped by tipindex_lock and tipindex_close).
 *
 * Staying current, with no call from other code:
 *  - statuses and new tips: every call first asks postbox.db, over a
 *    connection of its own, whether anything committed since it last read
 *    the list (SQLite's PRAGMA data_version, which sees the console's own
 *    writes too); only then is the list read again (postbox_foreach,
 *    ~6 µs a tip). So a console_set_status() by anyone shows in the next
 *    query, and there is no "status changed" call to forget.
 *  - kiosk names and revocations: the registry is read at each call (a
 *    few rows). A tip from a kiosk revoked since is "refused", as opening
 *    it would say, and its text is not searched.
 *  - a held tip replaced (postbox_add's REPLACED: a forgery gave way to
 *    the genuine tip) has another size and outer verdict: it is read again.
 *  - the post key locked through console_lock(): the next call here sees
 *    it and locks the index too.
 *
 * Reading new tips is tipindex_refresh()'s job, bounded per call so a web
 * server can run it between requests. A tip not read yet is listed with
 * `indexed` false, as every tip is while locked.
 *
 * Not thread-safe: one struct tipindex per thread, with the console it is
 * given (the same console at every call).
 *
 * Errors: 0 (or a count) or a negative enum tipindex_error; `err` gets a
 * sentence an officer or a technician can act on.
 */
#ifndef HOMTHU_TIPINDEX_H
#define HOMTHU_TIPINDEX_H

#include <stddef.h>
#include <stdint.h>

#include "post/console.h"
#include "post/postbox.h"

#define TIPINDEX_DB_NAME "tipindex.db"
#define TIPINDEX_SCHEMA_VERSION 1
#define TIPINDEX_TEXT_MAX 8192           /* bytes of a tip's typed text kept for search */
#define TIPINDEX_PURPOSE "station-index" /* console_derive_key()'s purpose */

enum tipindex_error {
    TIPINDEX_OK = 0,
    TIPINDEX_E_ARG = -1,
    TIPINDEX_E_NOMEM = -2,
    TIPINDEX_E_IO = -3,      /* tipindex.db, postbox.db or the registry cannot be read or written */
    TIPINDEX_E_LOCKED = -4,  /* a search of the text while the post key is locked */
    TIPINDEX_E_DAMAGED = -5, /* tipindex.db is not a database (the message says what to do) */
    TIPINDEX_E_SCHEMA = -6,  /* tipindex.db made by a newer station */
};

/* The list's verdict, as the API names it (docs/station-api.md, ROW). */
enum tipindex_verdict {
    TIPINDEX_SIGNED = 0,
    TIPINDEX_CUT_SHORT = 1,
    TIPINDEX_UNCONFIRMED = 2, /* needs the tip read once unlocked */
    TIPINDEX_PRACTICE = 3,    /* needs the tip read once unlocked */
    TIPINDEX_REFUSED = 4,     /* the outer check, the opened tip, or its kiosk revoked since */
};
/* "signed", "cut_short", "unconfirmed", "practice", "refused". */
const char *tipindex_verdict_name(int verdict);

/* One list entry: ROW of docs/station-api.md but seen, assigned, commune. */
struct tipindex_row {
    struct postbox_tip t; /* seq, id, received, source, status, status_at, outer */
    char id[33];          /* t.id in hex */
    char kiosk[80];       /* registry id, "unknown kiosk key <fingerprint>", or "?" */
    int verdict;          /* enum tipindex_verdict */
    int indexed;          /* 0: locked or not read yet; the fields below are null */
    int category;         /* enum envelope_category; -1: null (console_category_short names it) */
    char language[9];     /* "" : null */
    double seconds;       /* of audio; 0 with none (null when !indexed) */
    int has_text, has_audio;
};

struct tipindex_filter {
    int status;           /* enum postbox_status, -1 any */
    int category;         /* enum envelope_category, -1 any (only indexed tips match one) */
    const char *kiosk;    /* exact kiosk name; NULL or "" any */
    int64_t from, to;     /* arrival (t.received), unix seconds, inclusive; 0: open */
    const char *q;        /* a piece of the typed text; NULL or "" none (needs unlocked) */
    size_t offset, limit; /* the page: rows [offset, offset + limit) of the matches */
};
/* Every tip, first page of 50. */
#define TIPINDEX_FILTER_ALL ((struct tipindex_filter){.status = -1, .category = -1, .limit = 50})

struct tipindex;

/*
 * Open (creating when missing) the side store at `path` (POSTDIR/tipindex.db,
 * from console_file()). A file that is not a database is TIPINDEX_E_DAMAGED,
 * with a message that says it may be removed: everything in it is read
 * again from postbox.db. Close with tipindex_close().
 */
int tipindex_open(struct tipindex **out, const char *path, char *err, size_t errlen)
    __attribute__((warn_unused_result));
void tipindex_close(struct tipindex *ix); /* wipes; NULL is a no-op */

/*
 * After console_unlock(): derive the index key and open every stored row
 * into memory. A row that does not open (another post key's file, a
 * damaged row, a tip replaced since) is dropped, to be read again by
 * tipindex_refresh(). Calling it again while unlocked does nothing.
 */
int tipindex_unlock(struct tipindex *ix, struct console *c, char *err, size_t errlen)
    __attribute__((warn_unused_result));
/* Wipe the opened facts and the key: the list is as while locked. */
void tipindex_lock(struct tipindex *ix);
int tipindex_unlocked(const struct tipindex *ix);

/*
 * Bring the list up to date with the postbox, and (unlocked) read at most
 * max_new tips not read yet, newest first, into the index: each is opened
 * once (console_open_tip), its facts sealed into tipindex.db. Returns how
 * many tips remain unread (>= 0; while locked: all tips not read), or an
 * error. A tip that cannot be opened now (the store) is left unread and
 * not tried again until the postbox changes; max_new 0 only syncs.
 */
int tipindex_refresh(struct tipindex *ix, struct console *c, int max_new, char *err, size_t errlen)
    __attribute__((warn_unused_result));

/*
 * The tips matching f, newest first (arrival, then seq): *total matches,
 * the page of them from f->offset, at most min(f->limit, cap) rows, in
 * rows[0 .. *n). A search (f->q) while locked is TIPINDEX_E_LOCKED; it is
 * case-insensitive, and a query typed without Vietnamese diacritics finds
 * the words with or without them ("nguoi la" finds "Người lạ"), one typed
 * with them finds them as typed. Tips not read yet and refused tips never
 * match a search; tips not read yet never match a category.
 */
int tipindex_query(struct tipindex *ix, struct console *c, const struct tipindex_filter *f,
                   struct tipindex_row *rows, size_t cap, size_t *n, size_t *total, char *err,
                   size_t errlen) __attribute__((warn_unused_result));

/* Every tip held, and those with status new (for GET /api/state). */
int tipindex_counts(struct tipindex *ix, struct console *c, size_t *total, size_t *fresh, char *err,
                    size_t errlen) __attribute__((warn_unused_result));

#endif
