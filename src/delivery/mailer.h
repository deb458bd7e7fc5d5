/*
 * mailer — the kiosk's e-mail delivery of sealed tips (SMTP, docs/mail.md).
 *
 * For posts that have an e-mail inbox but no relay: each sealed envelope
 * from the queue goes to the post's mailbox as one or more mails. A tip
 * larger than `part_bytes` is split into parts, "part i/n", each a mail
 * of its own with headers that let the console (mailbox.h) put it back
 * together: tip id, part number, byte offset, part size, whole size and a
 * BLAKE2b hash of the part. The envelope is already sealed and signed: the
 * mail provider sees sizes and times, nothing else.
 *
 * A tip is marked delivered in the queue only after the SMTP server
 * accepted every one of its parts (250 after DATA), and only then purged.
 * Parts sent before a failure are kept in memory for the next try of the
 * same process; a restart sends the whole tip again, which the console
 * ignores as duplicates. (The queue's upload offset belongs to the tus
 * uploader, so the mailer never writes it.)
 *
 * The network sits behind struct mailer_transport: mailer_smtp_new() is
 * libcurl's SMTP, tests pass a fake that fails on demand.
 *
 * Not here: the daemon loop (src/delivery/main_mailer.c), reading mail (mailbox.h).
 *
 * Errors: 0 or a negative enum mailer_error; `err` gets a sentence a
 * technician can act on.
 */
#ifndef HOMTHU_MAILER_H
#define HOMTHU_MAILER_H

#include <stddef.h>
#include <stdint.h>

#include "core/queue.h"

/* Header names of the mail format (docs/mail.md), shared with mailbox.c. */
#define MAILER_H_TIP "X-Homthu-Tip"               /* 32 lowercase hex digits */
#define MAILER_H_PART "X-Homthu-Part"             /* "i/n", 1 <= i <= n */
#define MAILER_H_OFFSET "X-Homthu-Offset"         /* byte offset of this part */
#define MAILER_H_PART_BYTES "X-Homthu-Part-Bytes" /* bytes in this part */
#define MAILER_H_TOTAL "X-Homthu-Total"           /* bytes of the whole envelope */
#define MAILER_H_HASH "X-Homthu-Part-Hash"        /* BLAKE2b-256 of the part, hex */
#define MAILER_MAX_PARTS 65536

enum mailer_error {
    MAILER_OK = 0,
    MAILER_E_ARG = -1,
    MAILER_E_NOMEM = -2,
    MAILER_E_SEND = -3,    /* the server or the link refused a part: try again later */
    MAILER_E_QUEUE = -4,   /* the queue could not be read or updated */
    MAILER_E_NOTHING = -5, /* no tip is waiting */
    MAILER_E_CONFIG = -6,  /* the SMTP settings cannot work (bad URL, CA file missing) */
};

/*
 * Where mails go. send() returns 0 only when the server accepted the whole
 * message for delivery; anything else is an error with a sentence in err.
 */
struct mailer_transport {
    int (*send)(void *ctx, const char *from, const char *to, const uint8_t *msg, size_t len,
                char *err, size_t errlen);
    void *ctx;
};

struct mailer_opts {
    const char *from; /* one plain address (config_mail_address_ok) */
    const char *to;
    size_t part_bytes; /* envelope bytes per mail, CONFIG_MAIL_PART_MIN..MAX */
};

/*
 * Build the mail for envelope bytes [offset, offset + len) of tip `id`,
 * part `index` (1-based) of `count`, out of an envelope of `total` bytes:
 * RFC 5322 headers, CRLF line ends, a short note and the bytes as a base64
 * attachment. `now` dates it. Caller frees *out with free().
 */
int mailer_build_part(const struct mailer_opts *o, const uint8_t id[16], const uint8_t *bytes,
                      size_t len, uint32_t index, uint32_t count, uint64_t offset, uint64_t total,
                      int64_t now, char **out, size_t *out_len, char *err, size_t errlen)
    __attribute__((warn_unused_result));

/* Parts of `part_bytes` an envelope of `total` bytes needs (at least 1). */
uint32_t mailer_part_count(uint64_t total, size_t part_bytes);

/* What mailer_send_next() did, for the log (never tip content). */
struct mailer_report {
    uint8_t id[16];
    uint32_t parts, sent; /* parts of the tip, parts accepted in this call */
    uint64_t bytes;
};

struct mailer;

/* Borrow `q` and `t` until mailer_free(). Caller frees with mailer_free(). */
int mailer_new(struct mailer **out, struct queue *q, const struct mailer_opts *o,
               const struct mailer_transport *t, char *err, size_t errlen)
    __attribute__((warn_unused_result));
void mailer_free(struct mailer *m); /* NULL is a no-op */

/*
 * Send the oldest waiting tip, part by part; when the server accepted the
 * last part, mark it delivered and purge its bytes. 0: one tip delivered;
 * MAILER_E_NOTHING: none waits; MAILER_E_SEND: a part was refused (the
 * parts accepted before it are remembered: the next call goes on from
 * there if the same tip is still the oldest).
 */
int mailer_send_next(struct mailer *m, int64_t now, struct mailer_report *rep, char *err,
                     size_t errlen) __attribute__((warn_unused_result));

/* ---- libcurl SMTP ---- */

struct mailer_smtp_opts {
    const char *url;  /* smtp://host:587 (STARTTLS required) or smtps://host:465 */
    const char *user; /* NULL or "": no AUTH */
    const char *password;
    const char *ca_file;  /* NULL or "": the system's CA certificates */
    long connect_seconds; /* 0: 30 */
    long stall_seconds;   /* give up when nothing moves this long; 0: 120 */
};

/*
 * A transport that speaks SMTP through libcurl, always with TLS
 * (CURLUSESSL_ALL: a server without STARTTLS is refused, never used in
 * the clear). Call curl_global_init() first. Free with mailer_smtp_free().
 */
int mailer_smtp_new(struct mailer_transport *out, const struct mailer_smtp_opts *o, char *err,
                    size_t errlen) __attribute__((warn_unused_result));
void mailer_smtp_free(struct mailer_transport *t); /* zeroes the password; no-op when empty */

#endif
