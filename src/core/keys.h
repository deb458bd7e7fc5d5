/*
 * keys — the key files of the post and of each kiosk (docs/keys.md, byte
 * by byte).
 *
 *   post.pub    the post's X25519 public key, text, world-readable (0644)
 *   post.key    the post's secret key sealed under a passphrase
 *               (Argon2id → XSalsa20-Poly1305), 0600
 *   device.key  a kiosk's Ed25519 signing key in the clear, 0600: the kiosk
 *               boots unattended, so nothing could type a passphrase; a
 *               stolen kiosk is answered by revoking it (registry.h)
 *
 * Files are written whole or not at all (temp file, fsync, rename, fsync
 * of the directory) and never over an existing key: losing post.key loses
 * every tip still on its way. Secret keys live in sodium_malloc'd memory
 * (guard pages, locked, zeroed by keys_*_free()).
 *
 * Not here: sealing tips (envelope.h), the list of enrolled kiosks
 * (registry.h), asking for the passphrase (the tools).
 *
 * Errors: 0 or a negative enum keys_error; `err` receives a sentence that
 * names the file and says what to do. KEYS_E_PASSPHRASE cannot tell a
 * wrong passphrase from a damaged box, and says so.
 */
#ifndef HOMTHU_KEYS_H
#define HOMTHU_KEYS_H

#include <stddef.h>
#include <stdint.h>

#include "core/envelope.h"

#define KEYS_POST_PUB_FORMAT "homthu-post-public v1"
#define KEYS_POST_KEY_FORMAT "homthu-post-secret v1"
#define KEYS_DEVICE_FORMAT "homthu-device-secret v1"
#define KEYS_SALT_BYTES 16      /* crypto_pwhash_SALTBYTES */
#define KEYS_FINGERPRINT_HEX 17 /* 16 hex digits + NUL */

enum keys_error {
    KEYS_OK = 0,
    KEYS_E_ARG = -1,        /* programmer error or bad parameter */
    KEYS_E_NOMEM = -2,      /* includes Argon2 failing to get its memory */
    KEYS_E_IO = -3,         /* cannot read or write the file */
    KEYS_E_EXISTS = -4,     /* refusing to overwrite a key file */
    KEYS_E_FORMAT = -5,     /* truncated, garbled, or not this kind of file */
    KEYS_E_PASSPHRASE = -6, /* wrong passphrase, or the sealed box is damaged */
    KEYS_E_MISSING = -7,    /* the file does not exist */
};

/* ---- the post's key pair ---- */

/*
 * The post key pair is held as an envelope_post_key so it can be handed
 * straight to envelope_reader_opts.keys. Allocated with sodium_malloc;
 * free with keys_post_free() (zeroes it).
 */
int keys_post_generate(struct envelope_post_key **out, char *err, size_t errlen)
    __attribute__((warn_unused_result));

/*
 * Write key_path (sk sealed under `passphrase`, at least 1 byte, with
 * Argon2id at opslimit/memlimit: use crypto_pwhash_*_MODERATE except in
 * tests) and then pub_path. Refuses if either file exists; if the second
 * write fails the first file is removed again.
 */
int keys_post_save(const struct envelope_post_key *k, const char *pub_path, const char *key_path,
                   const char *passphrase, unsigned long long opslimit, size_t memlimit, char *err,
                   size_t errlen) __attribute__((warn_unused_result));

/* Read post.pub; `key_id` (may be NULL) receives its key id. */
int keys_post_load_public(const char *pub_path, uint8_t pk[ENVELOPE_POST_PK_BYTES],
                          uint8_t key_id[ENVELOPE_KEY_ID_BYTES], char *err, size_t errlen)
    __attribute__((warn_unused_result));

/* Open post.key with `passphrase`. Caller frees with keys_post_free(). */
int keys_post_unlock(struct envelope_post_key **out, const char *key_path, const char *passphrase,
                     char *err, size_t errlen) __attribute__((warn_unused_result));

void keys_post_free(struct envelope_post_key *k); /* NULL is a no-op */

/*
 * Argon2id limits by name: "min", "interactive", "moderate" (the default
 * for real keys), "sensitive". -1 for an unknown name.
 */
int keys_pwhash_limits(const char *name, unsigned long long *opslimit, size_t *memlimit)
    __attribute__((warn_unused_result));

/* ---- a kiosk's device key ---- */

struct keys_device {
    uint8_t pk[ENVELOPE_DEVICE_PK_BYTES]; /* Ed25519 public key: the registry holds it */
    uint8_t sk[ENVELOPE_DEVICE_SK_BYTES]; /* libsodium form: seed || pk */
};

/* Allocated with sodium_malloc; free with keys_device_free(). */
int keys_device_generate(struct keys_device **out, char *err, size_t errlen)
    __attribute__((warn_unused_result));
/* Write device.key (0600); refuses an existing file. */
int keys_device_save(const struct keys_device *k, const char *path, char *err, size_t errlen)
    __attribute__((warn_unused_result));
/* Read device.key; checks the public key against the secret. Caller frees. */
int keys_device_load(struct keys_device **out, const char *path, char *err, size_t errlen)
    __attribute__((warn_unused_result));
void keys_device_free(struct keys_device *k); /* NULL is a no-op */

/* ---- shared ---- */

/*
 * Key id of any public key: the first 8 bytes of BLAKE2b-256(pk), the same
 * as envelope_post_key_id() for post keys. As 16 lowercase hex digits it is
 * the fingerprint people compare (kiosk-list, post.pub).
 */
void keys_key_id(const uint8_t *pk, size_t len, uint8_t id[ENVELOPE_KEY_ID_BYTES]);
void keys_fingerprint(const uint8_t *pk, size_t len, char hex[KEYS_FINGERPRINT_HEX]);

/*
 * Write `len` bytes to `path` whole or not at all: a temp file in the same
 * directory with `mode`, fsync, then link/rename into place and fsync the
 * directory. With overwrite == 0 an existing file is refused
 * (KEYS_E_EXISTS). Shared by the key files and kiosk.conf.
 */
int keys_write_file(const char *path, const void *bytes, size_t len, unsigned mode, int overwrite,
                    char *err, size_t errlen) __attribute__((warn_unused_result));

#endif
