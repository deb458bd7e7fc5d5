/*
 * postbox — the border post's local store of tips (SQLite,
 * POSTDIR/postbox.db), behind the officers' console (homthu-post).
 *
 * It holds each envelope exactly as it arrived — sealed: opening one needs
 * post.key and its passphrase, and nothing decrypted is ever written here.
 * Per tip it keeps where it came from, when it was received, the outer
 * check's verdict (the device signature, which needs no key), the
 * officers' status and the history of status changes with their notes.
 * Notes are stored as the caller gives them; the console seals them to
 * the post's public key, so a copied postbox.db reveals nothing but
 * sizes, times and statuses.
 *
 * One tip id is one tip. The same envelope arriving twice (mail resent,
 * relay listing again) is a duplicate and ignored. A *different* envelope
 * under an id already held is a conflict: the one whose device signature
 * verifies is kept, and if both or neither do, the first stays. Someone
 * who can write to the mailbox cannot push a genuine tip out by sending a
 * forgery under its id first.
 *
 * Not here: decryption (envelope.h), the registry (registry.h), fetching
 * (mailbox.h and the console's relay client).
 *
 * Errors: 0 or a negative enum postbox_error; `err` gets a sentence an
 * officer can act on.
 */
#ifndef HOMTHU_POSTBOX_H
#define HOMTHU_POSTBOX_H

#include <stddef.h>
#include <stdint.h>

#include "core/envelope.h"

#define POSTBOX_DB_NAME "postbox.db"
#define POSTBOX_SCHEMA_VERSION 1
#define POSTBOX_NOTE_MAX 4096 /* bytes of a stored (sealed) note */

enum postbox_error {
    POSTBOX_OK = 0,
    POSTBOX_E_ARG = -1,
    POSTBOX_E_IO = -2,        /* SQLite error, damaged file */
    POSTBOX_E_NOTFOUND = -3,  /* no tip with that id or prefix */
    POSTBOX_E_AMBIGUOUS = -4, /* the prefix matches more than one tip */
    POSTBOX_E_SCHEMA = -5,    /* made by a newer homthu-post */
    POSTBOX_E_NOMEM = -6,
    POSTBOX_E_ENVELOPE = -7, /* not an envelope at all (no header) */
};

enum postbox_status {
    POSTBOX_NEW = 0,
    POSTBOX_CHECKING = 1,
    POSTBOX_ACTED = 2,
    POSTBOX_FALSE = 3,
    POSTBOX_CLOSED = 4,
};
#define POSTBOX_NSTATUS 5

/* "new", "checking", "acted", "false", "closed"; -1 for another word. */
const char *postbox_status_name(int status);
int postbox_status_parse(const char *name);

enum postbox_source { POSTBOX_FROM_RELAY = 1, POSTBOX_FROM_MAIL = 2, POSTBOX_FROM_FILE = 3 };
const char *postbox_source_name(int source); /* "relay", "mail", "file" */

struct postbox_tip {
    int64_t seq; /* order of arrival here */
    uint8_t id[16];
    uint64_t bytes;
    int source;
    int64_t received; /* the relay's clock; for mail and files, when stored here */
    int64_t stored;   /* when this console stored it */
    int outer;        /* envelope_verify_outer() at storing: 0, E_CUT_SHORT or the refusal */
    int status;
    int64_t status_at;
};

struct postbox;

/* Open (creating when missing) `path`. Caller closes with postbox_close(). */
int postbox_open(struct postbox **out, const char *path, char *err, size_t errlen)
    __attribute__((warn_unused_result));
void postbox_close(struct postbox *pb); /* NULL is a no-op */

enum postbox_added {
    POSTBOX_ADDED = 1,     /* a new tip */
    POSTBOX_DUPLICATE = 2, /* the same bytes were here already */
    POSTBOX_REPLACED = 3,  /* a forgery held under this id gave way to the genuine tip */
    POSTBOX_KEPT = 4,      /* a different envelope under a held id: refused, the first kept */
};

/*
 * Store an envelope, committed before this returns. The tip id is read
 * from its header. `device_check` (the registry) feeds the outer verdict.
 * *what says which case of enum postbox_added it was.
 */
int postbox_add(struct postbox *pb, const uint8_t *env, size_t len, int source, int64_t received,
                int64_t now, envelope_device_fn device_check, void *device_ctx, int *what,
                char *err, size_t errlen) __attribute__((warn_unused_result));

/* The tip with this id, or POSTBOX_E_NOTFOUND. */
int postbox_get(struct postbox *pb, const uint8_t id[16], struct postbox_tip *out)
    __attribute__((warn_unused_result));

/*
 * The tip whose id starts with `hex` (at least 4 hex digits, any case).
 * POSTBOX_E_NOTFOUND or POSTBOX_E_AMBIGUOUS with a sentence in err.
 */
int postbox_find(struct postbox *pb, const char *hex, struct postbox_tip *out, char *err,
                 size_t errlen) __attribute__((warn_unused_result));

/* The stored envelope of tip `seq`. Caller frees *env with free(). */
int postbox_envelope(struct postbox *pb, int64_t seq, uint8_t **env, size_t *len, char *err,
                     size_t errlen) __attribute__((warn_unused_result));

/* Visit every tip, newest first; stop early (returning that value) when fn returns non-zero. */
int postbox_foreach(struct postbox *pb, int (*fn)(void *ctx, const struct postbox_tip *t),
                    void *ctx, char *err, size_t errlen) __attribute__((warn_unused_result));

/* Set the status of tip `seq`, adding a history entry with the (sealed) note. */
int postbox_set_status(struct postbox *pb, int64_t seq, int status, const uint8_t *note,
                       size_t note_len, int64_t now, char *err, size_t errlen)
    __attribute__((warn_unused_result));

struct postbox_event {
    int64_t at;
    int status;
    const uint8_t *note; /* borrowed for the call */
    size_t note_len;
};

/* The history of tip `seq`, oldest first. */
int postbox_history(struct postbox *pb, int64_t seq,
                    int (*fn)(void *ctx, const struct postbox_event *e), void *ctx, char *err,
                    size_t errlen) __attribute__((warn_unused_result));

/* Small settings (the relay cursor). *value: "" when unset; out holds at most cap - 1 bytes. */
int postbox_get_setting(struct postbox *pb, const char *key, char *value, size_t cap)
    __attribute__((warn_unused_result));
int postbox_set_setting(struct postbox *pb, const char *key, const char *value, char *err,
                        size_t errlen) __attribute__((warn_unused_result));

#endif
