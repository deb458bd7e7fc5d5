/*
 * pull — bring new tips into the post's store, sealed as they came: from
 * the relay's /post API (docs/relay-protocol.md) and from the tip mailbox
 * over IMAP (post/mailbox.h). Needs no passphrase. Used by the CLI
 * (homthu-post pull) and the web station.
 *
 * A tip is confirmed to the relay (or its mails marked read) only after
 * the store has committed it; the relay cursor advances only past tips
 * stored and confirmed, so whatever fails is tried again at the next pull.
 * A tip held already is not stored twice (postbox.h says how a different
 * envelope under a held id is judged).
 *
 * Nothing here prints: each tip that arrives is told to the caller's
 * on_tip, each line the mailbox wants an officer to read to on_note.
 * Call curl_global_init() first.
 *
 * Errors: 0 or a negative enum console_error (console.h); `err` gets a
 * sentence an officer can act on.
 */
#ifndef HOMTHU_PULL_H
#define HOMTHU_PULL_H

#include <stddef.h>
#include <stdint.h>

#include "post/console.h"

/* Where to pull from and how to log in; "" for unset. Holds secrets: wipe after use. */
struct pull_settings {
    char relay[1024], token[512], imap[1024], imap_user[256], imap_password[256], ca[4096];
    char post_name[128]; /* the post as its officers name it ("Đồn Biên phòng Pa Vi"); "" unset */
};

/* The keys of POSTDIR/post.conf, NULL-terminated. */
extern const char *const pull_conf_keys[];

/*
 * Fill s from POSTDIR/post.conf when there is one (all "" when not); an
 * unknown key is refused. *too_open (may be NULL) is set to 1 when the file
 * holds a token or password and others may read it.
 */
int pull_read_conf(struct console *c, struct pull_settings *s, int *too_open, char *err,
                   size_t errlen) __attribute__((warn_unused_result));

/* One tip that arrived. */
struct pull_event {
    uint8_t id[16];
    int source;   /* POSTBOX_FROM_RELAY or POSTBOX_FROM_MAIL */
    int what;     /* enum postbox_added: added, duplicate, replaced, kept */
    size_t bytes; /* of the envelope (0 for a relay duplicate, not fetched again) */
    int outer;    /* the held tip's outer verdict: 0, ENVELOPE_E_CUT_SHORT or a refusal */
};

struct pull_hooks {
    void (*on_tip)(void *ctx, const struct pull_event *e); /* may be NULL */
    void (*on_note)(void *ctx, const char *line);          /* may be NULL */
    void *ctx;
};

struct pull_report {
    int asked;           /* the relay was asked for its list (not stopped before, by settings) */
    unsigned added;      /* new tips stored (a forgery replaced counts) */
    unsigned duplicates; /* held already (or a different envelope refused) */
    /* The mailbox only (mailbox.h): */
    unsigned incomplete, unusable, failed;
};

/*
 * Pull every tip the relay s->relay lists after the saved cursor, with the
 * bearer s->token (s->ca for a private certificate). rep counts what was
 * done even when the pull stops at an error.
 */
int pull_relay(struct console *c, const struct pull_settings *s, const struct pull_hooks *h,
               struct pull_report *rep, char *err, size_t errlen)
    __attribute__((warn_unused_result));

/*
 * Read the mailbox s->imap once (every mail with `all`). Returns 0 when the
 * mailbox could be read, even when some tips are incomplete or could not
 * be stored (rep->failed: their mails stay unread, and on_note said why).
 */
int pull_imap(struct console *c, const struct pull_settings *s, int all, const struct pull_hooks *h,
              struct pull_report *rep, char *err, size_t errlen)
    __attribute__((warn_unused_result));

/* ---- heartbeats, enrolment and revocation at the relay (docs/relay-protocol.md) ---- */

#include "core/heartbeat.h"

/* One kiosk's latest heartbeat as the relay holds it: sealed, unread. */
struct pull_heartbeat {
    char kiosk[40];        /* the relay's registry id for the key (its word only) */
    uint8_t device_pk[32]; /* the key that signed the request */
    int64_t received;      /* the relay's clock when it came */
    uint8_t sealed[HEARTBEAT_SEALED_BYTES];
};

/*
 * Fetch the heartbeats the relay s->relay received since the last pull
 * (its cursor is kept in the postbox, per relay) and give each to fn,
 * borrowed for the call. fn returns 0 when it kept the heartbeat; any
 * other value stops the pull there, and that heartbeat comes again next
 * time. *count (may be NULL) gets how many fn kept. Needs no passphrase.
 */
int pull_heartbeats(struct console *c, const struct pull_settings *s,
                    int (*fn)(void *ctx, const struct pull_heartbeat *hb), void *ctx,
                    unsigned *count, char *err, size_t errlen) __attribute__((warn_unused_result));

/*
 * Tell the relay s->relay to enrol kiosk `id` with its Ed25519 device key
 * (POST /post/kiosks), or to revoke it with a one-line reason (POST
 * /post/kiosks/<id>/revoke): the relay refuses the kiosk from its next
 * request on. Telling twice is fine. CONSOLE_E_REMOTE with the relay's
 * words when it refuses (409: that id or key is enrolled there otherwise;
 * 404: no such kiosk there) or cannot be reached; CONSOLE_E_ARG for a bad
 * id or reason, or no relay in the settings.
 */
int pull_tell_relay_enrol(const struct pull_settings *s, const char *id,
                          const uint8_t device_pk[32], char *err, size_t errlen)
    __attribute__((warn_unused_result));
int pull_tell_relay_revoke(const struct pull_settings *s, const char *id, const char *reason,
                           char *err, size_t errlen) __attribute__((warn_unused_result));

#endif
