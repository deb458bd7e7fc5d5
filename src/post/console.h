/*
 * console — the border post's console logic, shared by the officers' CLI
 * (tools/homthu-post.c) and the web station: the post's folder opened, its
 * key unlocked, each tip opened in memory into a view (verdict, kiosk,
 * facts, text, the recording as Ogg Opus bytes), statuses set with sealed
 * notes and their history read back. Pulling is post/pull.h, the export
 * post/export.h; the store itself post/postbox.h.
 *
 * Nothing here prints, asks or exits: the caller gets data and, on failure,
 * a sentence an officer can act on. Everything decrypted (text, audio,
 * notes, the facts of a tip) lives in sodium_malloc'd memory, wiped when
 * freed, and nothing decrypted is written to disk here: only
 * console_write_new() and the export write plaintext, where the caller
 * says. A program using this should turn core dumps off (the CLI does).
 *
 * Not thread-safe: one struct console per thread.
 *
 * Errors: 0 or a negative enum console_error; `err` gets the sentence.
 */
#ifndef HOMTHU_CONSOLE_H
#define HOMTHU_CONSOLE_H

#include <stddef.h>
#include <stdint.h>

#include "core/envelope.h"
#include "post/postbox.h"

enum console_error {
    CONSOLE_OK = 0,
    CONSOLE_E_ARG = -1,
    CONSOLE_E_NOMEM = -2,
    CONSOLE_E_IO = -3,         /* the store, the registry or a file */
    CONSOLE_E_NOT_POST = -4,   /* the folder has no readable post.pub */
    CONSOLE_E_PASSPHRASE = -5, /* wrong passphrase, or post.key damaged */
    CONSOLE_E_LOCKED = -6,     /* needs console_unlock() first */
    CONSOLE_E_NOTFOUND = -7,   /* no tip with that id */
    CONSOLE_E_AMBIGUOUS = -8,  /* the id start matches several tips */
    CONSOLE_E_NOTE = -9,       /* a status note that cannot be kept (too long, not UTF-8, empty) */
    CONSOLE_E_REFUSED = -10,   /* the tip is not genuine: its content is not given out */
    CONSOLE_E_NO_AUDIO = -11,  /* the tip has no recording */
    CONSOLE_E_REMOTE = -12,    /* the relay or the mailbox failed or refused */
    CONSOLE_E_EXISTS = -13,    /* refusing to write over a file */
};

#define CONSOLE_TEXT_MAX (1024 * 1024) /* bytes of a tip's text opened here */
/* Bytes of a status note before sealing. */
#define CONSOLE_NOTE_MAX (POSTBOX_NOTE_MAX - 48 /* crypto_box_SEALBYTES */)

struct console;

/*
 * Open the post's folder: post.pub (must be there, so a wrong folder never
 * starts an empty postbox elsewhere), registry.db and postbox.db (made when
 * missing). Caller closes with console_close().
 */
int console_open(struct console **out, const char *dir, char *err, size_t errlen)
    __attribute__((warn_unused_result));
void console_close(struct console *c); /* wipes the key; NULL is a no-op */

/* The folder as given to console_open(). */
const char *console_dir(const struct console *c);
/* POSTDIR/name ("post.conf", "postbox.db") into out; -1 when it does not fit. */
int console_file(const struct console *c, const char *name, char *out, size_t cap);

struct postbox *console_postbox(struct console *c);   /* borrowed */
struct registry *console_registry(struct console *c); /* borrowed */

/*
 * Unlock post.key with the officer's passphrase. CONSOLE_E_PASSPHRASE says
 * exactly "wrong passphrase for POSTDIR/post.key (or the file is damaged)";
 * a post.key that is not post.pub's own (another post's) is refused with
 * CONSOLE_E_NOT_POST. A console stays as it was after any failure.
 */
int console_unlock(struct console *c, const char *passphrase, char *err, size_t errlen)
    __attribute__((warn_unused_result));
int console_unlocked(const struct console *c);
/* Wipe the unlocked key: the console is as just opened (the web station's "lock"). */
void console_lock(struct console *c);

/* ---- sealing small things to the post (audit lines, heartbeats, notes) ---- */

/* Bytes a sealed box adds to its message (crypto_box_SEALBYTES). */
#define CONSOLE_SEAL_BYTES 48
/* Seal msg to post.pub into out (len + CONSOLE_SEAL_BYTES bytes): needs no passphrase. */
int console_seal(const struct console *c, const uint8_t *msg, size_t len, uint8_t *out)
    __attribute__((warn_unused_result));
/*
 * Open a box sealed to post.pub into out (len - CONSOLE_SEAL_BYTES bytes):
 * CONSOLE_E_LOCKED before console_unlock(), CONSOLE_E_REFUSED when the box
 * does not open (sealed to another key, or damaged).
 */
int console_unseal(const struct console *c, const uint8_t *box, size_t len, uint8_t *out)
    __attribute__((warn_unused_result));
/*
 * A 32-byte key for `purpose` ("station-index") derived from the unlocked
 * post key (BLAKE2b keyed by the secret key): whoever holds post.key and
 * its passphrase can read what is sealed with it, nobody else. Put `out`
 * in sodium_malloc'd memory. CONSOLE_E_LOCKED before console_unlock().
 */
int console_derive_key(const struct console *c, const char *purpose, uint8_t out[32])
    __attribute__((warn_unused_result));

/* How many tips are held (needs no passphrase). */
int console_count(struct console *c, int *n, char *err, size_t errlen)
    __attribute__((warn_unused_result));

/* The tip whose id starts with `hex` (at least 4 hex digits). */
int console_find(struct console *c, const char *hex, struct postbox_tip *out, char *err,
                 size_t errlen) __attribute__((warn_unused_result));

/* ---- one tip, opened in memory ---- */

struct console_tip {
    struct postbox_tip t; /* the store's facts: id, received, source, status */
    /* envelope_reader_finish(): 0, ENVELOPE_E_CUT_SHORT or the refusal */
    int verdict;
    int genuine;   /* verdict 0 or cut short: the content may be shown and acted on */
    char why[512]; /* the reader's reason for a refusal ("" when genuine) */
    int has_header;
    char kiosk[80]; /* "na-co-sa-01", "unknown kiosk key <fingerprint>", or "?" (no header) */
    int kiosk_enrolled, kiosk_revoked;
    int64_t revoked_at;
    char revoked_why[300]; /* "revoked 2025-04-18 19:00: stolen" */
    /*
     * The facts as far as they authenticated before any refusal (list shows
     * a refused tip's category beside REFUSED); act on them only when genuine.
     */
    int has_meta;
    struct envelope_meta meta; /* .category is the final one: a CATEGORY record's over META's */
    uint8_t when; /* as the person said (a WHEN record, else meta.when) */
    int unconfirmed; /* the person spoke and left without touching "done" */
    /* The content only when genuine; a refused tip's is wiped and withheld. */
    int withheld;   /* a refused tip had text or audio that is not given out */
    double seconds; /* of audio, from the Ogg stream; 0 when none */
    const uint8_t
        *text; /* UTF-8 as typed (records joined by '\n'), not terminal-safe; NULL: none */
    size_t text_len;
    const uint8_t *audio; /* the recording as one Ogg Opus file; NULL: none */
    size_t audio_len;
};

/*
 * Decrypt tip `t` in memory. Needs console_unlock(). A tip that does not
 * check out is no error: it comes back with its verdict and why. Fails
 * only when the tip cannot be read at all (the store, memory). Free with
 * console_tip_free().
 */
int console_open_tip(struct console *c, const struct postbox_tip *t, struct console_tip **out,
                     char *err, size_t errlen) __attribute__((warn_unused_result));
void console_tip_free(struct console_tip *v); /* wipes; NULL is a no-op */

/*
 * Open every tip in turn, newest first, and give each to fn (borrowed for
 * the call; fn returning a positive value stops the walk with it). A tip
 * that cannot be read is skipped and the walk goes on; the call then
 * returns CONSOLE_E_IO saying how many and why.
 */
int console_list(struct console *c, int (*fn)(void *ctx, const struct console_tip *v), void *ctx,
                 char *err, size_t errlen) __attribute__((warn_unused_result));

/*
 * The recording of an opened tip, borrowed from v. CONSOLE_E_REFUSED for a
 * tip that is not genuine, CONSOLE_E_NO_AUDIO for one without a recording.
 */
int console_tip_audio(const struct console_tip *v, const uint8_t **ogg, size_t *len, char *err,
                      size_t errlen) __attribute__((warn_unused_result));

/* ---- status and history ---- */

/* Is `note` one a status change can keep (1 .. CONSOLE_NOTE_MAX bytes of UTF-8)? */
int console_note_check(const char *note, char *err, size_t errlen)
    __attribute__((warn_unused_result));

/*
 * Set tip t's status (enum postbox_status) with a note saying why, sealed
 * to post.pub: needs no passphrase. t->status stays the old one.
 */
int console_set_status(struct console *c, const struct postbox_tip *t, int status, const char *note,
                       int64_t now, char *err, size_t errlen) __attribute__((warn_unused_result));

struct console_event {
    int64_t at;
    int status;
    const char *note; /* opened, NUL-terminated, borrowed for the call; "" when none or sealed */
    int sealed;       /* the note is there but this key (or no key) cannot open it */
};

/* The history of tip t, oldest first. Notes open only after console_unlock(). */
int console_history(struct console *c, const struct postbox_tip *t,
                    int (*fn)(void *ctx, const struct console_event *e), void *ctx, char *err,
                    size_t errlen) __attribute__((warn_unused_result));

/* ---- the kiosks, as the post sees them ---- */

/*
 * What the post can tell of a kiosk's health without any key: the registry
 * (enrolled, revoked and why) and the tips held from it (how many, the last
 * one's arrival, how many were cut short by a power loss, how many failed
 * the outer check when stored). Nothing here comes from the kiosk itself.
 */
struct console_kiosk {
    char id[80]; /* the registry's id, or "unknown kiosk key <fingerprint>" */
    uint8_t device_pk[32];
    int enrolled, revoked;
    int64_t enrolled_at, revoked_at;
    char reason[300]; /* why it was revoked */
    unsigned tips, cut_short, refused;
    int64_t last_received; /* the newest tip's arrival (relay clock for relay tips); 0: none */
};

/*
 * Every enrolled kiosk in order of enrolment, then every unknown device
 * key a held tip names. Needs no passphrase. *out: free() it.
 */
int console_kiosks(struct console *c, struct console_kiosk **out, size_t *n, char *err,
                   size_t errlen) __attribute__((warn_unused_result));

/* ---- words for people ---- */

const char *console_category_name(int category);  /* "weapons or explosives" */
const char *console_category_short(int category); /* "weapons", "-" when not chosen */
const char *console_when_name(int when);          /* "yesterday", "not said" */
/* The verdict in one line: "complete and signed by enrolled kiosk X", "refused: ...". */
void console_verdict_line(const struct console_tip *v, char *out, size_t cap);
/* Local time "2025-04-18 19:00" (+ " UTC" with zone), or "@<seconds>". */
void console_time(int64_t t, int zone, char out[40]);
/* The kiosk's capture day "2025-04-18", or "clock not set". */
void console_capture_day(uint16_t day, char out[40]);
/* "1:02", or "-" for none. */
void console_duration(double seconds, char out[16]);

/* Write bytes to a new file (never over one: CONSOLE_E_EXISTS), 0600, synced. */
int console_write_new(const char *path, const uint8_t *b, size_t n, char *err, size_t errlen)
    __attribute__((warn_unused_result));

#endif
