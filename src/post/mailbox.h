/*
 * mailbox — the console's side of e-mail delivery (docs/mail.md): read the
 * post's tip mailbox over IMAP, put each tip back together from its parts,
 * hand whole envelopes to the caller, and mark the mails read only once
 * the caller says the tip is stored.
 *
 * Mail is outside input: anybody can write to the mailbox. The part parser
 * (mailbox_parse) takes nothing on trust: every header is checked, sizes
 * are capped, each part's BLAKE2b hash must match and the parts must cover
 * the envelope exactly. What it cannot use is left unread and reported;
 * whether an envelope is genuine is the envelope reader's business later.
 *
 * libcurl (7.88) cannot fetch a message without setting \Seen, so the
 * pull first tags every message it will read with the keyword
 * $HomthuPending, and searches for unread OR tagged ones: a console that
 * crashes between fetching and storing finds those messages again. A tip
 * left incomplete gets its messages put back to unread.
 *
 * The mail server sits behind struct mailbox_port: mailbox_imap_new() is
 * libcurl's IMAP, tests use a fake mailbox in memory.
 *
 * Not here: the post's store (postbox.h), sending (mailer.h).
 *
 * Errors: 0 or a negative enum mailbox_error; `err` gets a sentence an
 * officer can act on.
 */
#ifndef HOMTHU_MAILBOX_H
#define HOMTHU_MAILBOX_H

#include <stddef.h>
#include <stdint.h>

#include "core/envelope.h"

#define MAILBOX_MAX_MESSAGE (24u * 1024u * 1024u) /* bytes of one mail as fetched */
#define MAILBOX_MAX_HEADER (64u * 1024u)          /* bytes of one header block */
#define MAILBOX_MAX_TIP ENVELOPE_DEFAULT_MAX_BYTES
#define MAILBOX_PENDING_KEYWORD "$HomthuPending"

enum mailbox_error {
    MAILBOX_OK = 0,
    MAILBOX_E_ARG = -1,
    MAILBOX_E_NOMEM = -2,
    MAILBOX_E_FOREIGN = -3, /* a mail that is not a Hòm thư tip at all */
    MAILBOX_E_FORMAT = -4,  /* claims to be a tip part but is malformed or damaged */
    MAILBOX_E_SERVER = -5,  /* the IMAP server or the link failed */
    MAILBOX_E_STORE = -6,   /* the caller could not store a tip */
};

/* One part of a tip, as parsed from one mail. */
struct mailbox_part {
    uint8_t tip_id[16];
    uint32_t index, count; /* "part index/count", 1 <= index <= count */
    uint64_t offset;       /* where the bytes go in the envelope */
    uint64_t part_bytes;   /* declared size of this part */
    uint64_t total;        /* declared size of the whole envelope */
    uint8_t hash[32];      /* BLAKE2b-256 of the part's bytes, declared */
    uint8_t *bytes;        /* decoded attachment (full parse only); owned */
    size_t len;
};

/*
 * Parse one mail (`headers_only`: just its header block, as fetched with
 * BODY[HEADER]). MAILBOX_E_FOREIGN when it has no X-Homthu-Tip header,
 * MAILBOX_E_FORMAT when it has one but anything is wrong. A full parse
 * also decodes the attachment and checks its size and hash. On success
 * the caller frees with mailbox_part_clear(); on failure nothing is held.
 */
int mailbox_parse(const uint8_t *msg, size_t len, int headers_only, struct mailbox_part *out,
                  char *err, size_t errlen) __attribute__((warn_unused_result));
void mailbox_part_clear(struct mailbox_part *p); /* zeroes; NULL is a no-op */

/* ---- the mail server ---- */

enum mailbox_flag_op {
    MAILBOX_MARK_PENDING = 1, /* +$HomthuPending: about to be read */
    MAILBOX_MARK_DONE = 2,    /* +\Seen -$HomthuPending: the tip is stored */
    MAILBOX_MARK_UNREAD = 3,  /* -\Seen -$HomthuPending: leave it for later */
};

struct mailbox_port {
    /* UIDs of unread or pending mails (all == 1: every mail). *uids: free(). */
    int (*search)(void *ctx, int all, uint32_t **uids, size_t *n, char *err, size_t errlen);
    /* One mail, or its header block only. *msg: free(). */
    int (*fetch)(void *ctx, uint32_t uid, int headers_only, uint8_t **msg, size_t *len, char *err,
                 size_t errlen);
    int (*flag)(void *ctx, const uint32_t *uids, size_t n, enum mailbox_flag_op op, char *err,
                size_t errlen);
    void *ctx;
};

struct mailbox_imap_opts {
    const char *url; /* imap://host[:port][/MAILBOX] or imaps://...; INBOX by default */
    const char *user;
    const char *password;
    const char *ca_file; /* NULL or "": the system's CA certificates */
};

/*
 * Always with TLS: imaps:// from the start, imap:// must upgrade with
 * STARTTLS (CURLUSESSL_ALL), so the password never crosses in the clear.
 * Call curl_global_init() first. Free with mailbox_imap_free().
 */
int mailbox_imap_new(struct mailbox_port *out, const struct mailbox_imap_opts *o, char *err,
                     size_t errlen) __attribute__((warn_unused_result));
void mailbox_imap_free(struct mailbox_port *p); /* NULL or empty is a no-op */

/* ---- pulling ---- */

/*
 * Store one whole envelope. Return 0 once it is committed (or already
 * held: a duplicate is fine), or non-zero with a sentence in err; the
 * mails of that tip then stay unread.
 */
typedef int (*mailbox_store_fn)(void *ctx, const uint8_t tip_id[16], const uint8_t *env, size_t len,
                                char *err, size_t errlen);

struct mailbox_report {
    unsigned tips;       /* whole tips handed to the store function and stored */
    unsigned duplicates; /* mails that repeated a part already in hand */
    unsigned incomplete; /* tips still missing parts (their mails left unread) */
    unsigned foreign;    /* mails that are not Hòm thư tips (left unread) */
    unsigned damaged;    /* tip mails that could not be used (left unread) */
    unsigned failed;     /* tips the store function refused */
    /* Called with one line per thing worth telling the officer; may be NULL. */
    void (*note)(void *ctx, const char *line);
    void *note_ctx;
};

/*
 * Read the mailbox once: every unread (or pending, or with all == 1 every)
 * mail, grouped by tip id; each tip whose parts cover it whole is fetched,
 * checked, joined and given to `store`; its mails are then marked read.
 * Returns 0 when the mailbox could be read (even if some tips are
 * incomplete), MAILBOX_E_SERVER when it could not.
 */
int mailbox_pull(const struct mailbox_port *p, int all, mailbox_store_fn store, void *store_ctx,
                 struct mailbox_report *rep, char *err, size_t errlen)
    __attribute__((warn_unused_result));

#endif
