/*
 * registry — the border post's list of enrolled kiosks (SQLite,
 * POSTDIR/registry.db).
 *
 * One row per kiosk ever enrolled: its id ("na-co-sa-01"), its Ed25519
 * device public key, when it was enrolled, and when and why it was
 * revoked. Rows are never deleted and ids never reused, so an id in an
 * old tip or log always means the same box. A revoked kiosk's tips are
 * refused: the post cannot tell when a tip was made (kiosks have no
 * trusted clock), so revocation covers everything it sends afterwards.
 *
 * registry_device_check() is an envelope_device_fn: the reader and the
 * relay ask it about every envelope's device key.
 *
 * Not here: the key files (keys.h), who may edit the registry (whoever can
 * write POSTDIR).
 *
 * Errors: 0 or a negative enum registry_error; `err` receives a sentence
 * a person can act on.
 */
#ifndef HOMTHU_REGISTRY_H
#define HOMTHU_REGISTRY_H

#include <stddef.h>
#include <stdint.h>

#include "core/envelope.h"

#define REGISTRY_DB_NAME "registry.db"
#define REGISTRY_SCHEMA_VERSION 1
#define REGISTRY_REASON_MAX 200 /* bytes of UTF-8 */

enum registry_error {
    REGISTRY_OK = 0,
    REGISTRY_E_ARG = -1,      /* bad id, empty reason, programmer error */
    REGISTRY_E_IO = -2,       /* SQLite error, damaged or missing file */
    REGISTRY_E_EXISTS = -3,   /* id or device key already enrolled */
    REGISTRY_E_NOTFOUND = -4, /* no kiosk with that id */
    REGISTRY_E_REVOKED = -5,  /* already revoked */
    REGISTRY_E_SCHEMA = -6,   /* made by a newer program */
};

struct registry;

/*
 * Open `path`. create == 1 makes a new, empty registry and refuses an
 * existing file; create == 0 opens an existing one only (a wrong --post
 * folder must not quietly start an empty list). Caller closes with
 * registry_close().
 */
int registry_open(struct registry **out, const char *path, int create, char *err, size_t errlen)
    __attribute__((warn_unused_result));
void registry_close(struct registry *r); /* NULL is a no-op */

/* Add a kiosk. `now` is Unix seconds. */
int registry_enrol(struct registry *r, const char *id, const uint8_t device_pk[32], int64_t now,
                   char *err, size_t errlen) __attribute__((warn_unused_result));

/* Mark a kiosk revoked at `now`, with a one-line reason (1–200 bytes of UTF-8). */
int registry_revoke(struct registry *r, const char *id, const char *reason, int64_t now, char *err,
                    size_t errlen) __attribute__((warn_unused_result));

struct registry_entry {
    char id[33];
    uint8_t device_pk[ENVELOPE_DEVICE_PK_BYTES];
    int64_t enrolled;
    int64_t revoked; /* 0 = active */
    char reason[REGISTRY_REASON_MAX + 1];
};

/*
 * Visit every kiosk in order of enrolment; stop early (and return that
 * value) when fn returns non-zero. The entry is borrowed for the call.
 */
int registry_list(struct registry *r, int (*fn)(void *ctx, const struct registry_entry *e),
                  void *ctx, char *err, size_t errlen) __attribute__((warn_unused_result));

/* The kiosk with this id, or REGISTRY_E_NOTFOUND. */
int registry_get(struct registry *r, const char *id, struct registry_entry *out, char *err,
                 size_t errlen) __attribute__((warn_unused_result));

/* The kiosk holding this device key, or REGISTRY_E_NOTFOUND: who sent a tip. */
int registry_find_device(struct registry *r, const uint8_t device_pk[32],
                         struct registry_entry *out, char *err, size_t errlen)
    __attribute__((warn_unused_result));

/*
 * An envelope_device_fn; ctx is the struct registry. Returns 0,
 * ENVELOPE_E_UNKNOWN_DEVICE or ENVELOPE_E_REVOKED_DEVICE. It fails
 * closed: if the database cannot be read the device counts as unknown,
 * and registry_last_error() says why, so a caller can tell that case
 * from a genuine stranger.
 */
int registry_device_check(void *ctx, const uint8_t device_pk[32]);

/* The message of the last failed call ("" after success); borrowed. */
const char *registry_last_error(const struct registry *r);

#endif
