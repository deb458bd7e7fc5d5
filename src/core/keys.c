/* keys — see keys.h and docs/keys.md. */
#include "core/keys.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "core/durable.h"
#include "core/errbuf.h"
#include "core/readall.h"

/* No key file comes near this; a bigger one is the wrong file. */
#define KEYFILE_MAX 4096
#define KEYFILE_MAX_LINES 16
#define BOX_BYTES (ENVELOPE_POST_SK_BYTES + crypto_secretbox_MACBYTES)
/*
 * Bounds on the Argon2id cost read from post.key: a damaged or hostile
 * file must not make the console grind for hours or ask for terabytes.
 * SENSITIVE is 4 passes over 1 GiB; 20 passes leaves room to grow.
 */
#define OPSLIMIT_CAP 20ULL
#define MEMLIMIT_CAP ((size_t)crypto_pwhash_MEMLIMIT_SENSITIVE)

/* errbuf_say without the code, under this file's old name. */
#define say(err, errlen, ...) ((void)errbuf_say((err), (errlen), 0, __VA_ARGS__))

/* Library users need not remember sodium_init(): it is idempotent and cheap after the first. */
static int ready(char *err, size_t errlen)
{
    if (sodium_init() < 0) {
        say(err, errlen, "libsodium failed to start (no entropy source?)");
        return KEYS_E_NOMEM;
    }
    return 0;
}

void keys_key_id(const uint8_t *pk, size_t len, uint8_t id[ENVELOPE_KEY_ID_BYTES])
{
    uint8_t h[32];
    crypto_generichash(h, sizeof h, pk, len, NULL, 0);
    memcpy(id, h, ENVELOPE_KEY_ID_BYTES);
}

void keys_fingerprint(const uint8_t *pk, size_t len, char hex[KEYS_FINGERPRINT_HEX])
{
    uint8_t id[ENVELOPE_KEY_ID_BYTES];
    keys_key_id(pk, len, id);
    sodium_bin2hex(hex, KEYS_FINGERPRINT_HEX, id, sizeof id);
}

int keys_pwhash_limits(const char *name, unsigned long long *opslimit, size_t *memlimit)
{
    if (!name || !opslimit || !memlimit)
        return -1;
    if (strcmp(name, "min") == 0) {
        *opslimit = crypto_pwhash_OPSLIMIT_MIN;
        *memlimit = crypto_pwhash_MEMLIMIT_MIN;
    } else if (strcmp(name, "interactive") == 0) {
        *opslimit = crypto_pwhash_OPSLIMIT_INTERACTIVE;
        *memlimit = crypto_pwhash_MEMLIMIT_INTERACTIVE;
    } else if (strcmp(name, "moderate") == 0) {
        *opslimit = crypto_pwhash_OPSLIMIT_MODERATE;
        *memlimit = crypto_pwhash_MEMLIMIT_MODERATE;
    } else if (strcmp(name, "sensitive") == 0) {
        *opslimit = crypto_pwhash_OPSLIMIT_SENSITIVE;
        *memlimit = crypto_pwhash_MEMLIMIT_SENSITIVE;
    } else {
        return -1;
    }
    return 0;
}

/* ---- writing files ---- */

int keys_write_file(const char *path, const void *bytes, size_t len, unsigned mode, int overwrite,
                    char *err, size_t errlen)
{
    if (!path || (!bytes && len))
        return KEYS_E_ARG;
    char tmp[PATH_MAX];
    int w = snprintf(tmp, sizeof tmp, "%s.tmp-XXXXXX", path);
    if (w < 0 || (size_t)w >= sizeof tmp) {
        say(err, errlen, "cannot write %s: the path is too long", path);
        return KEYS_E_ARG;
    }
    if (!overwrite && access(path, F_OK) == 0) {
        say(err, errlen,
            "%s already exists: refusing to overwrite it (move it away first if you really "
            "mean to replace it)",
            path);
        return KEYS_E_EXISTS;
    }
    int rc = KEYS_E_IO;
    int fd = mkstemp(tmp); /* 0600 from the start: a secret is never readable by others */
    if (fd < 0) {
        say(err, errlen, "cannot write %s: %s (check that its folder exists and is writable)", path,
            strerror(errno));
        return KEYS_E_IO;
    }
    /* Fails harmlessly on vfat, whose permissions come from the mount. */
    (void)fchmod(fd, (mode_t)mode);
    const uint8_t *p = bytes;
    size_t left = len;
    while (left > 0) {
        ssize_t n = write(fd, p, left);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            say(err, errlen, "cannot write %s: %s", path, strerror(errno));
            close(fd);
            goto fail;
        }
        p += n;
        left -= (size_t)n;
    }
    if (fsync(fd) < 0) {
        say(err, errlen, "cannot write %s: %s (is the disk full or failing?)", path,
            strerror(errno));
        close(fd);
        goto fail;
    }
    if (close(fd) < 0) {
        say(err, errlen, "cannot write %s: %s", path, strerror(errno));
        goto fail;
    }
    if (overwrite) {
        if (rename(tmp, path) < 0) {
            say(err, errlen, "cannot write %s: %s", path, strerror(errno));
            goto fail;
        }
    } else if (link(tmp, path) == 0) {
        /* link() refuses an existing name atomically, unlike rename(). */
        unlink(tmp);
    } else if (errno == EEXIST) {
        say(err, errlen,
            "%s already exists: refusing to overwrite it (move it away first if you really "
            "mean to replace it)",
            path);
        rc = KEYS_E_EXISTS;
        goto fail;
    } else if (errno == EPERM || errno == ENOTSUP || errno == ENOSYS || errno == EMLINK) {
        /* vfat has no hard links: the access() check above has to do. */
        if (rename(tmp, path) < 0) {
            say(err, errlen, "cannot write %s: %s", path, strerror(errno));
            goto fail;
        }
    } else {
        say(err, errlen, "cannot write %s: %s", path, strerror(errno));
        goto fail;
    }
    int sd = durable_sync_dir_of(path);
    if (sd < 0) {
        say(err, errlen, "cannot write %s: syncing its folder failed: %s", path, strerror(-sd));
        return KEYS_E_IO; /* the file is in place; only its durability is in doubt */
    }
    return 0;
fail:
    unlink(tmp);
    return rc;
}

/* ---- reading files ---- */

struct kfile {
    const char *path;
    const char *hint; /* what to do when the file is damaged */
    char *buf;        /* sodium_malloc'd: device.key holds a secret in the clear */
    char *lines[KEYFILE_MAX_LINES];
    size_t nlines;
};

static void kfile_free(struct kfile *kf)
{
    if (kf->buf)
        sodium_free(kf->buf); /* zeroes it */
    kf->buf = NULL;
}

/*
 * Read the file whole, split it into lines and check the first one names
 * `format` ("homthu-post-secret v1"); `what` says in words what kind of
 * file was expected.
 */
static int kfile_read(struct kfile *kf, const char *format, const char *what, char *err,
                      size_t errlen)
{
    int rc = KEYS_E_IO;
    int fd = open(kf->path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        int e = errno;
        say(err, errlen, "cannot read %s: %s", kf->path, strerror(e));
        return e == ENOENT ? KEYS_E_MISSING : KEYS_E_IO;
    }
    kf->buf = sodium_malloc(KEYFILE_MAX + 1);
    if (!kf->buf) {
        say(err, errlen, "cannot read %s: out of memory", kf->path);
        rc = KEYS_E_NOMEM;
        goto out;
    }
    size_t len = 0;
    int r = readall_fd(fd, kf->buf, KEYFILE_MAX, &len);
    if (r < 0) {
        say(err, errlen, "cannot read %s: %s", kf->path, strerror(-r));
        goto out;
    }
    if (r == READALL_TOO_BIG) {
        say(err, errlen, "%s is not a %s: it is far too large (is this the right file?)", kf->path,
            what);
        rc = KEYS_E_FORMAT;
        goto out;
    }
    if (len == 0) {
        say(err, errlen, "%s is empty (%s)", kf->path, kf->hint);
        rc = KEYS_E_FORMAT;
        goto out;
    }
    if (memchr(kf->buf, 0, len)) {
        say(err, errlen, "%s is not a %s: it holds binary data (%s)", kf->path, what, kf->hint);
        rc = KEYS_E_FORMAT;
        goto out;
    }
    /* Split on '\n'; a final line end is optional, a '\r' before it tolerated. */
    char *p = kf->buf;
    while (*p) {
        if (kf->nlines == KEYFILE_MAX_LINES) {
            say(err, errlen, "%s:%d: more lines than a %s holds (%s)", kf->path,
                KEYFILE_MAX_LINES + 1, what, kf->hint);
            rc = KEYS_E_FORMAT;
            goto out;
        }
        kf->lines[kf->nlines++] = p;
        char *nl = strchr(p, '\n');
        char *end = nl ? nl : p + strlen(p);
        if (end > p && end[-1] == '\r')
            end[-1] = 0;
        if (!nl)
            break;
        *nl = 0;
        p = nl + 1;
    }
    if (strcmp(kf->lines[0], format) != 0) {
        /* Same kind of file, other version: say so rather than "not a key". */
        size_t stem = strlen(format) - 2; /* "homthu-post-secret" + ' ' */
        if (strncmp(kf->lines[0], format, stem) == 0 && kf->lines[0][stem] == 'v') {
            say(err, errlen,
                "%s is in format \"%.40s\", which this program does not read (it reads \"%s\"): "
                "update homthu",
                kf->path, kf->lines[0], format);
        } else {
            say(err, errlen, "%s is not a %s (its first line should be \"%s\")", kf->path, what,
                format);
        }
        rc = KEYS_E_FORMAT;
        goto out;
    }
    rc = 0;
out:
    close(fd);
    if (rc)
        kfile_free(kf);
    return rc;
}

/* Line `idx` (0-based) must read "label: value"; *value points into it. */
static int kfile_field(struct kfile *kf, size_t idx, const char *label, const char **value,
                       char *err, size_t errlen)
{
    if (idx >= kf->nlines) {
        say(err, errlen, "%s ends early: line %zu should hold %s (the file is truncated: %s)",
            kf->path, idx + 1, label, kf->hint);
        return KEYS_E_FORMAT;
    }
    size_t n = strlen(label);
    const char *l = kf->lines[idx];
    if (strncmp(l, label, n) != 0 || l[n] != ':' || l[n + 1] != ' ') {
        say(err, errlen, "%s:%zu: expected \"%s: ...\" (the file is damaged: %s)", kf->path,
            idx + 1, label, kf->hint);
        return KEYS_E_FORMAT;
    }
    *value = l + n + 2;
    return 0;
}

static int kfile_b64(struct kfile *kf, size_t idx, const char *label, uint8_t *out, size_t len,
                     char *err, size_t errlen)
{
    const char *v;
    int rc = kfile_field(kf, idx, label, &v, err, errlen);
    if (rc)
        return rc;
    size_t vl = strlen(v), got = 0;
    const char *end = NULL;
    if (vl != sodium_base64_encoded_len(len, sodium_base64_VARIANT_ORIGINAL) - 1 ||
        sodium_base642bin(out, len, v, vl, NULL, &got, &end, sodium_base64_VARIANT_ORIGINAL) != 0 ||
        end != v + vl || got != len) {
        sodium_memzero(out, len);
        say(err, errlen, "%s:%zu: %s is not base64 of %zu bytes (the file is damaged: %s)",
            kf->path, idx + 1, label, len, kf->hint);
        return KEYS_E_FORMAT;
    }
    return 0;
}

static int kfile_u64(struct kfile *kf, size_t idx, const char *label, unsigned long long min,
                     unsigned long long max, unsigned long long *out, char *err, size_t errlen)
{
    const char *v;
    int rc = kfile_field(kf, idx, label, &v, err, errlen);
    if (rc)
        return rc;
    unsigned long long x = 0;
    int ok = *v != 0 && strlen(v) <= 19;
    for (const char *p = v; ok && *p; p++) {
        ok = *p >= '0' && *p <= '9';
        x = x * 10 + (unsigned)(*p - '0');
    }
    if (!ok || x < min || x > max) {
        say(err, errlen, "%s:%zu: %s is not a number from %llu to %llu (the file is damaged: %s)",
            kf->path, idx + 1, label, min, max, kf->hint);
        return KEYS_E_FORMAT;
    }
    *out = x;
    return 0;
}

static int kfile_end(struct kfile *kf, size_t nlines, char *err, size_t errlen)
{
    /* An empty last line is the final '\n' of a line-less tail. */
    size_t n = kf->nlines;
    if (n == nlines + 1 && kf->lines[nlines][0] == 0)
        n--;
    if (n > nlines) {
        say(err, errlen, "%s:%zu: unexpected text after the key (the file is damaged: %s)",
            kf->path, nlines + 1, kf->hint);
        return KEYS_E_FORMAT;
    }
    return 0;
}

/* ---- post keys ---- */

int keys_post_generate(struct envelope_post_key **out, char *err, size_t errlen)
{
    if (!out)
        return KEYS_E_ARG;
    if (ready(err, errlen))
        return KEYS_E_NOMEM;
    *out = sodium_malloc(sizeof **out);
    if (!*out) {
        say(err, errlen, "out of memory for a key (sodium_malloc)");
        return KEYS_E_NOMEM;
    }
    crypto_box_keypair((*out)->pk, (*out)->sk);
    return 0;
}

void keys_post_free(struct envelope_post_key *k)
{
    if (k)
        sodium_free(k);
}

static const char POST_PUB_HINT[] = "copy post.pub again from the post's computer";
static const char POST_KEY_HINT[] = "restore post.key from your backup";

int keys_post_save(const struct envelope_post_key *k, const char *pub_path, const char *key_path,
                   const char *passphrase, unsigned long long opslimit, size_t memlimit, char *err,
                   size_t errlen)
{
    if (!k || !pub_path || !key_path || !passphrase)
        return KEYS_E_ARG;
    if (!*passphrase) {
        say(err, errlen, "the passphrase for %s is empty: choose one (a few words is best)",
            key_path);
        return KEYS_E_ARG;
    }
    if (opslimit < crypto_pwhash_OPSLIMIT_MIN || opslimit > OPSLIMIT_CAP ||
        memlimit < crypto_pwhash_MEMLIMIT_MIN || memlimit > MEMLIMIT_CAP) {
        say(err, errlen, "Argon2id limits out of range for %s (opslimit %llu, memlimit %zu)",
            key_path, opslimit, memlimit);
        return KEYS_E_ARG;
    }
    if (ready(err, errlen))
        return KEYS_E_NOMEM;
    /* Check both before writing either: never leave half a key pair behind. */
    const char *paths[2] = {key_path, pub_path};
    for (int i = 0; i < 2; i++) {
        if (access(paths[i], F_OK) == 0) {
            say(err, errlen,
                "%s already exists: refusing to overwrite a key (move it away first if you "
                "really mean to replace it)",
                paths[i]);
            return KEYS_E_EXISTS;
        }
    }

    int rc = KEYS_E_NOMEM;
    uint8_t salt[KEYS_SALT_BYTES], nonce[crypto_secretbox_NONCEBYTES], box[BOX_BYTES];
    uint8_t id[ENVELOPE_KEY_ID_BYTES];
    char salt64[64], nonce64[64], box64[128], pk64[64], idhex[KEYS_FINGERPRINT_HEX];
    char text[1024];
    uint8_t *key = sodium_malloc(crypto_secretbox_KEYBYTES);
    if (!key) {
        say(err, errlen, "out of memory for a key (sodium_malloc)");
        goto out;
    }
    randombytes_buf(salt, sizeof salt);
    randombytes_buf(nonce, sizeof nonce);
    if (crypto_pwhash(key, crypto_secretbox_KEYBYTES, passphrase, strlen(passphrase), salt,
                      opslimit, memlimit, crypto_pwhash_ALG_ARGON2ID13) != 0) {
        say(err, errlen,
            "not enough memory to seal %s (Argon2id needs %zu MiB): close other programs and "
            "try again",
            key_path, memlimit >> 20);
        goto out;
    }
    crypto_secretbox_easy(box, k->sk, ENVELOPE_POST_SK_BYTES, nonce, key);
    sodium_bin2base64(salt64, sizeof salt64, salt, sizeof salt, sodium_base64_VARIANT_ORIGINAL);
    sodium_bin2base64(nonce64, sizeof nonce64, nonce, sizeof nonce, sodium_base64_VARIANT_ORIGINAL);
    sodium_bin2base64(box64, sizeof box64, box, sizeof box, sodium_base64_VARIANT_ORIGINAL);
    sodium_bin2base64(pk64, sizeof pk64, k->pk, ENVELOPE_POST_PK_BYTES,
                      sodium_base64_VARIANT_ORIGINAL);

    int n = snprintf(text, sizeof text,
                     "%s\nkdf: argon2id13\nsalt: %s\nopslimit: %llu\nmemlimit: %zu\nnonce: "
                     "%s\nbox: %s\npublic-key: %s\n",
                     KEYS_POST_KEY_FORMAT, salt64, opslimit, memlimit, nonce64, box64, pk64);
    if (n < 0 || (size_t)n >= sizeof text) {
        rc = KEYS_E_ARG;
        goto out;
    }
    if ((rc = keys_write_file(key_path, text, (size_t)n, 0600, 0, err, errlen)))
        goto out;

    keys_key_id(k->pk, ENVELOPE_POST_PK_BYTES, id);
    sodium_bin2hex(idhex, sizeof idhex, id, sizeof id);
    n = snprintf(text, sizeof text, "%s\nkey-id: %s\npublic-key: %s\n", KEYS_POST_PUB_FORMAT, idhex,
                 pk64);
    if (n < 0 || (size_t)n >= sizeof text) {
        rc = KEYS_E_ARG;
        unlink(key_path);
        goto out;
    }
    if ((rc = keys_write_file(pub_path, text, (size_t)n, 0644, 0, err, errlen))) {
        /* The secret key was never used: taking it back is safe and leaves no half pair. */
        unlink(key_path);
        goto out;
    }
    rc = 0;
out:
    if (key)
        sodium_free(key);
    return rc;
}

int keys_post_load_public(const char *pub_path, uint8_t pk[ENVELOPE_POST_PK_BYTES],
                          uint8_t key_id[ENVELOPE_KEY_ID_BYTES], char *err, size_t errlen)
{
    if (!pub_path || !pk)
        return KEYS_E_ARG;
    if (ready(err, errlen))
        return KEYS_E_NOMEM;
    struct kfile kf = {.path = pub_path, .hint = POST_PUB_HINT};
    int rc = kfile_read(&kf, KEYS_POST_PUB_FORMAT, "post public key file", err, errlen);
    if (rc)
        return rc;
    const char *idv;
    uint8_t id[ENVELOPE_KEY_ID_BYTES];
    char idhex[KEYS_FINGERPRINT_HEX];
    if ((rc = kfile_field(&kf, 1, "key-id", &idv, err, errlen)) ||
        (rc = kfile_b64(&kf, 2, "public-key", pk, ENVELOPE_POST_PK_BYTES, err, errlen)) ||
        (rc = kfile_end(&kf, 3, err, errlen)))
        goto out;
    keys_key_id(pk, ENVELOPE_POST_PK_BYTES, id);
    sodium_bin2hex(idhex, sizeof idhex, id, sizeof id);
    if (strcmp(idv, idhex) != 0) {
        say(err, errlen, "%s:2: key-id does not match the public key (the file is damaged: %s)",
            pub_path, POST_PUB_HINT);
        rc = KEYS_E_FORMAT;
        goto out;
    }
    if (key_id)
        memcpy(key_id, id, sizeof id);
out:
    if (rc)
        sodium_memzero(pk, ENVELOPE_POST_PK_BYTES);
    kfile_free(&kf);
    return rc;
}

int keys_post_unlock(struct envelope_post_key **out, const char *key_path, const char *passphrase,
                     char *err, size_t errlen)
{
    if (!out || !key_path || !passphrase)
        return KEYS_E_ARG;
    *out = NULL;
    if (ready(err, errlen))
        return KEYS_E_NOMEM;
    struct kfile kf = {.path = key_path, .hint = POST_KEY_HINT};
    uint8_t salt[KEYS_SALT_BYTES], nonce[crypto_secretbox_NONCEBYTES], box[BOX_BYTES];
    uint8_t pk[ENVELOPE_POST_PK_BYTES], check[ENVELOPE_POST_PK_BYTES];
    unsigned long long ops, mem;
    const char *kdf;
    uint8_t *key = NULL;
    struct envelope_post_key *k = NULL;
    int rc = kfile_read(&kf, KEYS_POST_KEY_FORMAT, "post secret key file", err, errlen);
    if (rc)
        return rc;
    if ((rc = kfile_field(&kf, 1, "kdf", &kdf, err, errlen)))
        goto out;
    if (strcmp(kdf, "argon2id13") != 0) {
        say(err, errlen, "%s:2: unknown kdf \"%.20s\" (only argon2id13; %s)", key_path, kdf,
            POST_KEY_HINT);
        rc = KEYS_E_FORMAT;
        goto out;
    }
    if ((rc = kfile_b64(&kf, 2, "salt", salt, sizeof salt, err, errlen)) ||
        (rc = kfile_u64(&kf, 3, "opslimit", crypto_pwhash_OPSLIMIT_MIN, OPSLIMIT_CAP, &ops, err,
                        errlen)) ||
        (rc = kfile_u64(&kf, 4, "memlimit", crypto_pwhash_MEMLIMIT_MIN, MEMLIMIT_CAP, &mem, err,
                        errlen)) ||
        (rc = kfile_b64(&kf, 5, "nonce", nonce, sizeof nonce, err, errlen)) ||
        (rc = kfile_b64(&kf, 6, "box", box, sizeof box, err, errlen)) ||
        (rc = kfile_b64(&kf, 7, "public-key", pk, sizeof pk, err, errlen)) ||
        (rc = kfile_end(&kf, 8, err, errlen)))
        goto out;

    key = sodium_malloc(crypto_secretbox_KEYBYTES);
    k = sodium_malloc(sizeof *k);
    if (!key || !k) {
        say(err, errlen, "out of memory for a key (sodium_malloc)");
        rc = KEYS_E_NOMEM;
        goto out;
    }
    if (crypto_pwhash(key, crypto_secretbox_KEYBYTES, passphrase, strlen(passphrase), salt, ops,
                      (size_t)mem, crypto_pwhash_ALG_ARGON2ID13) != 0) {
        say(err, errlen,
            "not enough memory to unlock %s (Argon2id needs %llu MiB): close other programs and "
            "try again",
            key_path, mem >> 20);
        rc = KEYS_E_NOMEM;
        goto out;
    }
    if (crypto_secretbox_open_easy(k->sk, box, sizeof box, nonce, key) != 0) {
        say(err, errlen, "wrong passphrase for %s (or the file is damaged)", key_path);
        rc = KEYS_E_PASSPHRASE;
        goto out;
    }
    /* The clear public key line is not inside the box: prove it belongs to the secret. */
    if (crypto_scalarmult_base(check, k->sk) != 0 || sodium_memcmp(check, pk, sizeof pk) != 0) {
        say(err, errlen,
            "%s:8: the public key does not belong to the secret key (the file is damaged: %s)",
            key_path, POST_KEY_HINT);
        rc = KEYS_E_FORMAT;
        goto out;
    }
    memcpy(k->pk, pk, sizeof pk);
    *out = k;
    k = NULL;
    rc = 0;
out:
    if (key)
        sodium_free(key);
    keys_post_free(k);
    kfile_free(&kf);
    return rc;
}

/* ---- device keys ---- */

static const char DEVICE_HINT[] =
    "provision the kiosk again with homthu-provision kiosk-new and revoke its old id";

int keys_device_generate(struct keys_device **out, char *err, size_t errlen)
{
    if (!out)
        return KEYS_E_ARG;
    if (ready(err, errlen))
        return KEYS_E_NOMEM;
    *out = sodium_malloc(sizeof **out);
    if (!*out) {
        say(err, errlen, "out of memory for a key (sodium_malloc)");
        return KEYS_E_NOMEM;
    }
    crypto_sign_keypair((*out)->pk, (*out)->sk);
    return 0;
}

void keys_device_free(struct keys_device *k)
{
    if (k)
        sodium_free(k);
}

int keys_device_save(const struct keys_device *k, const char *path, char *err, size_t errlen)
{
    if (!k || !path)
        return KEYS_E_ARG;
    /* The whole text holds the secret in base64: keep it in guarded memory too. */
    enum { TEXT = 256 };
    char *text = sodium_malloc(TEXT);
    if (!text) {
        say(err, errlen, "out of memory for a key (sodium_malloc)");
        return KEYS_E_NOMEM;
    }
    char pk64[64];
    size_t used = strlen(KEYS_DEVICE_FORMAT);
    memcpy(text, KEYS_DEVICE_FORMAT, used);
    sodium_bin2base64(pk64, sizeof pk64, k->pk, sizeof k->pk, sodium_base64_VARIANT_ORIGINAL);
    int n = snprintf(text + used, TEXT - used, "\npublic-key: %s\nsecret-key: ", pk64);
    used += (size_t)n;
    sodium_bin2base64(text + used, TEXT - used, k->sk, sizeof k->sk,
                      sodium_base64_VARIANT_ORIGINAL);
    used += strlen(text + used);
    text[used++] = '\n';
    int rc = keys_write_file(path, text, used, 0600, 0, err, errlen);
    sodium_free(text);
    return rc;
}

int keys_device_load(struct keys_device **out, const char *path, char *err, size_t errlen)
{
    if (!out || !path)
        return KEYS_E_ARG;
    *out = NULL;
    if (ready(err, errlen))
        return KEYS_E_NOMEM;
    struct kfile kf = {.path = path, .hint = DEVICE_HINT};
    struct keys_device *k = NULL;
    uint8_t seed_pk[ENVELOPE_DEVICE_PK_BYTES];
    uint8_t *scratch = NULL;
    int rc = kfile_read(&kf, KEYS_DEVICE_FORMAT, "kiosk device key file", err, errlen);
    if (rc)
        return rc;
    k = sodium_malloc(sizeof *k);
    scratch = sodium_malloc(crypto_sign_SECRETKEYBYTES);
    if (!k || !scratch) {
        say(err, errlen, "out of memory for a key (sodium_malloc)");
        rc = KEYS_E_NOMEM;
        goto out;
    }
    if ((rc = kfile_b64(&kf, 1, "public-key", k->pk, sizeof k->pk, err, errlen)) ||
        (rc = kfile_b64(&kf, 2, "secret-key", k->sk, sizeof k->sk, err, errlen)) ||
        (rc = kfile_end(&kf, 3, err, errlen)))
        goto out;
    /* Derive the key pair again from the seed: a flipped bit anywhere shows. */
    crypto_sign_seed_keypair(seed_pk, scratch, k->sk);
    if (sodium_memcmp(seed_pk, k->pk, sizeof seed_pk) != 0 ||
        sodium_memcmp(scratch, k->sk, crypto_sign_SECRETKEYBYTES) != 0) {
        say(err, errlen,
            "%s: the public key does not belong to the secret key (the file is damaged: %s)", path,
            DEVICE_HINT);
        rc = KEYS_E_FORMAT;
        goto out;
    }
    *out = k;
    k = NULL;
out:
    if (scratch)
        sodium_free(scratch);
    keys_device_free(k);
    kfile_free(&kf);
    return rc;
}
