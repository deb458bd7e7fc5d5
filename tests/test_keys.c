/* Tests for src/keys: the post's key pair, device keys, the file formats and their failures. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "check.h"
#include "core/envelope.h"
#include "core/keys.h"

#define PASS "a long passphrase"
#define OPS crypto_pwhash_OPSLIMIT_MIN /* fast: the format, not Argon2, is under test */
#define MEM crypto_pwhash_MEMLIMIT_MIN

static struct envelope_post_key *make_post(const char *dir_pub, const char *dir_key)
{
    struct envelope_post_key *k = NULL;
    char err[512] = "";
    ASSERT_EQ(keys_post_generate(&k, err, sizeof err), 0);
    if (keys_post_save(k, dir_pub, dir_key, PASS, OPS, MEM, err, sizeof err))
        check_fail(__FILE__, __LINE__, "keys_post_save: %s", err);
    return k;
}

static unsigned mode_of(const char *path)
{
    struct stat st;
    ASSERT_EQ(stat(path, &st), 0);
    return st.st_mode & 0777;
}

/* No "*.tmp-*" file is ever left behind in the test dir. */
static void assert_no_temp_files(void)
{
    DIR *d = opendir(check_dir());
    ASSERT(d);
    struct dirent *e;
    while ((e = readdir(d)))
        if (strstr(e->d_name, ".tmp-"))
            check_fail(__FILE__, __LINE__, "temp file left behind: %s", e->d_name);
    closedir(d);
}

/* Unlock with PASS and return the error code; the message goes to err. */
static int unlock(const char *path, char *err, size_t errlen)
{
    struct envelope_post_key *k = NULL;
    int rc = keys_post_unlock(&k, path, PASS, err, errlen);
    if (rc)
        ASSERT(k == NULL);
    keys_post_free(k);
    return rc;
}

/* Replace the text of post.key/post.pub/device.key with `text`. */
static void rewrite(const char *path, const char *text)
{
    check_write_file(path, text, strlen(text));
}

static char *slurp_str(const char *path)
{
    size_t n;
    uint8_t *b = check_slurp(path, &n);
    ASSERT(b);
    char *s = malloc(n + 1);
    ASSERT(s);
    memcpy(s, b, n);
    s[n] = 0;
    free(b);
    return s;
}

/* Replace the first occurrence of `from` in file `path` by `to`. */
static void edit(const char *path, const char *from, const char *to)
{
    char *s = slurp_str(path);
    char *at = strstr(s, from);
    ASSERT(at);
    size_t n = strlen(s), fl = strlen(from), tl = strlen(to);
    char *out = malloc(n - fl + tl + 1);
    ASSERT(out);
    memcpy(out, s, (size_t)(at - s));
    memcpy(out + (at - s), to, tl);
    memcpy(out + (at - s) + tl, at + fl, n - (size_t)(at - s) - fl + 1);
    rewrite(path, out);
    free(out);
    free(s);
}

TEST(test_keys_post_pair_round_trips_through_its_files)
{
    const char *pub = check_path("post.pub"), *key = check_path("post.key");
    struct envelope_post_key *k = make_post(pub, key);

    uint8_t pk[32], id[8], want_id[8];
    char err[512] = "";
    ASSERT_EQ(keys_post_load_public(pub, pk, id, err, sizeof err), 0);
    ASSERT_MEM_EQ(pk, k->pk, 32);
    envelope_post_key_id(k->pk, want_id); /* the id the envelope header carries */
    ASSERT_MEM_EQ(id, want_id, 8);

    struct envelope_post_key *u = NULL;
    ASSERT_EQ(keys_post_unlock(&u, key, PASS, err, sizeof err), 0);
    ASSERT_MEM_EQ(u->pk, k->pk, 32);
    ASSERT_MEM_EQ(u->sk, k->sk, 32);
    keys_post_free(u);
    keys_post_free(k);
    assert_no_temp_files();
}

TEST(test_keys_post_files_are_laid_out_as_documented)
{
    const char *pub = check_path("post.pub"), *key = check_path("post.key");
    struct envelope_post_key *k = make_post(pub, key);
    char pk64[64], idhex[17], want[512];
    uint8_t id[8];
    sodium_bin2base64(pk64, sizeof pk64, k->pk, 32, sodium_base64_VARIANT_ORIGINAL);
    envelope_post_key_id(k->pk, id);
    sodium_bin2hex(idhex, sizeof idhex, id, 8);

    char *text = slurp_str(pub);
    snprintf(want, sizeof want, "homthu-post-public v1\nkey-id: %s\npublic-key: %s\n", idhex, pk64);
    ASSERT_STR_EQ(text, want);
    free(text);

    text = slurp_str(key);
    char salt[64], nonce[64], box[128], pkline[64];
    unsigned long long ops, mem;
    ASSERT_EQ(sscanf(text,
                     "homthu-post-secret v1\nkdf: argon2id13\nsalt: %63s\nopslimit: %llu\n"
                     "memlimit: %llu\nnonce: %63s\nbox: %127s\npublic-key: %63s\n",
                     salt, &ops, &mem, nonce, box, pkline),
              6);
    ASSERT_EQ(strlen(salt), 24);  /* 16 bytes */
    ASSERT_EQ(strlen(nonce), 32); /* 24 bytes */
    ASSERT_EQ(strlen(box), 64);   /* 32 + 16 bytes */
    ASSERT_EQ(ops, OPS);
    ASSERT_EQ(mem, MEM);
    ASSERT_STR_EQ(pkline, pk64);
    free(text);
    keys_post_free(k);
}

TEST(test_keys_secret_files_are_0600_and_public_ones_0644)
{
    mode_t old = umask(0); /* the modes must not depend on the caller's umask */
    const char *pub = check_path("post.pub"), *key = check_path("post.key");
    struct envelope_post_key *k = make_post(pub, key);
    struct keys_device *d = NULL;
    char err[512];
    ASSERT_EQ(keys_device_generate(&d, err, sizeof err), 0);
    ASSERT_EQ(keys_device_save(d, check_path("device.key"), err, sizeof err), 0);
    umask(old);
    ASSERT_EQ(mode_of(key), 0600);
    ASSERT_EQ(mode_of(check_path("device.key")), 0600);
    ASSERT_EQ(mode_of(pub), 0644);
    keys_device_free(d);
    keys_post_free(k);
}

TEST(test_keys_wrong_passphrase_is_refused)
{
    const char *key = check_path("post.key");
    struct envelope_post_key *k = make_post(check_path("post.pub"), key), *u = NULL;
    char err[512], want[600];
    ASSERT_EQ(keys_post_unlock(&u, key, "a long passphrasE", err, sizeof err), KEYS_E_PASSPHRASE);
    ASSERT(u == NULL);
    snprintf(want, sizeof want, "wrong passphrase for %s (or the file is damaged)", key);
    ASSERT_STR_EQ(err, want);
    ASSERT_EQ(keys_post_unlock(&u, key, "", err, sizeof err), KEYS_E_PASSPHRASE);
    keys_post_free(k);
}

TEST(test_keys_unlock_uses_the_limits_stored_in_the_file)
{
    const char *pub = check_path("post.pub"), *key = check_path("post.key");
    struct envelope_post_key *k = NULL, *u = NULL;
    char err[512];
    ASSERT_EQ(keys_post_generate(&k, err, sizeof err), 0);
    ASSERT_EQ(keys_post_save(k, pub, key, PASS, crypto_pwhash_OPSLIMIT_INTERACTIVE,
                             crypto_pwhash_MEMLIMIT_INTERACTIVE, err, sizeof err),
              0);
    char *text = slurp_str(key);
    ASSERT_CONTAINS(text, "\nmemlimit: 67108864\n");
    free(text);
    ASSERT_EQ(keys_post_unlock(&u, key, PASS, err, sizeof err), 0);
    ASSERT_MEM_EQ(u->sk, k->sk, 32);
    /* Other limits derive another key: the box no longer opens. */
    edit(key, "opslimit: 2\n", "opslimit: 3\n");
    ASSERT_EQ(unlock(key, err, sizeof err), KEYS_E_PASSPHRASE);
    keys_post_free(u);
    keys_post_free(k);
}

TEST(test_keys_every_truncation_of_post_key_is_refused)
{
    const char *key = check_path("post.key");
    struct envelope_post_key *k = make_post(check_path("post.pub"), key);
    size_t len;
    uint8_t *whole = check_slurp(key, &len);
    ASSERT(whole);
    char err[512];
    /* Every cut but the one dropping only the final line end must fail, naming the file. */
    for (size_t cut = 0; cut + 1 < len; cut++) {
        check_write_file(key, whole, cut);
        err[0] = 0;
        int rc = unlock(key, err, sizeof err);
        if (rc != KEYS_E_FORMAT && rc != KEYS_E_PASSPHRASE)
            check_fail(__FILE__, __LINE__, "cut at %zu: rc %d (%s)", cut, rc, err);
        ASSERT_CONTAINS(err, key);
    }
    check_write_file(key, whole, len - 1);
    ASSERT_EQ(unlock(key, err, sizeof err), 0);

    /* The message says where it ends and what to do. */
    char *text = (char *)whole, want[700];
    char *line5 = strstr(text, "memlimit:");
    check_write_file(key, whole, (size_t)(line5 - text));
    ASSERT_EQ(unlock(key, err, sizeof err), KEYS_E_FORMAT);
    snprintf(want, sizeof want,
             "%s ends early: line 5 should hold memlimit (the file is truncated: restore post.key "
             "from your backup)",
             key);
    ASSERT_STR_EQ(err, want);
    check_write_file(key, whole, 0);
    ASSERT_EQ(unlock(key, err, sizeof err), KEYS_E_FORMAT);
    snprintf(want, sizeof want, "%s is empty (restore post.key from your backup)", key);
    ASSERT_STR_EQ(err, want);
    free(whole);
    keys_post_free(k);
}

TEST(test_keys_garbled_post_key_says_which_line)
{
    const char *key = check_path("post.key"), *pub = check_path("post.pub");
    struct envelope_post_key *k = make_post(pub, key);
    size_t len;
    uint8_t *whole = check_slurp(key, &len);
    char err[512], want[700];

    edit(key, "salt: ", "salt: !");
    ASSERT_EQ(unlock(key, err, sizeof err), KEYS_E_FORMAT);
    snprintf(want, sizeof want,
             "%s:3: salt is not base64 of 16 bytes (the file is damaged: restore post.key from "
             "your backup)",
             key);
    ASSERT_STR_EQ(err, want);

    check_write_file(key, whole, len);
    edit(key, "memlimit: 8192", "memlimit: 8192000000000");
    ASSERT_EQ(unlock(key, err, sizeof err), KEYS_E_FORMAT);
    snprintf(want, sizeof want,
             "%s:5: memlimit is not a number from 8192 to 1073741824 (the file is damaged: "
             "restore post.key from your backup)",
             key);
    ASSERT_STR_EQ(err, want);

    check_write_file(key, whole, len);
    edit(key, "opslimit: 1", "opslimit: x");
    ASSERT_EQ(unlock(key, err, sizeof err), KEYS_E_FORMAT);
    ASSERT_CONTAINS(err, ":4: opslimit is not a number from 1 to 20");

    check_write_file(key, whole, len);
    edit(key, "kdf: ", "kdf: scrypt");
    ASSERT_EQ(unlock(key, err, sizeof err), KEYS_E_FORMAT);
    ASSERT_CONTAINS(err, ":2: unknown kdf");

    check_write_file(key, whole, len);
    edit(key, "nonce:", "Nonce:");
    ASSERT_EQ(unlock(key, err, sizeof err), KEYS_E_FORMAT);
    snprintf(want, sizeof want,
             "%s:6: expected \"nonce: ...\" (the file is damaged: restore post.key from your "
             "backup)",
             key);
    ASSERT_STR_EQ(err, want);

    /* A flipped bit inside the box: authentication fails, like a wrong passphrase. */
    check_write_file(key, whole, len);
    char *box = strstr((char *)whole, "box: ") + 10;
    char saved = *box;
    *box = *box == 'A' ? 'B' : 'A';
    check_write_file(key, whole, len);
    ASSERT_EQ(unlock(key, err, sizeof err), KEYS_E_PASSPHRASE);
    *box = saved;

    /* Extra text after the key. */
    check_write_file(key, whole, len);
    FILE *f = fopen(key, "a");
    fputs("more: stuff\n", f);
    fclose(f);
    ASSERT_EQ(unlock(key, err, sizeof err), KEYS_E_FORMAT);
    ASSERT_CONTAINS(err, ":9: unexpected text after the key");

    /* Another public key in the clear line is caught after unlocking. */
    struct envelope_post_key *other = NULL;
    char pk64[64], other64[64];
    ASSERT_EQ(keys_post_generate(&other, err, sizeof err), 0);
    sodium_bin2base64(pk64, sizeof pk64, k->pk, 32, sodium_base64_VARIANT_ORIGINAL);
    sodium_bin2base64(other64, sizeof other64, other->pk, 32, sodium_base64_VARIANT_ORIGINAL);
    check_write_file(key, whole, len);
    edit(key, pk64, other64);
    ASSERT_EQ(unlock(key, err, sizeof err), KEYS_E_FORMAT);
    snprintf(want, sizeof want,
             "%s:8: the public key does not belong to the secret key (the file is damaged: "
             "restore post.key from your backup)",
             key);
    ASSERT_STR_EQ(err, want);

    /* Binary junk. */
    check_write_file(key, "homthu-post-secret v1\n\0\0\0", 25);
    ASSERT_EQ(unlock(key, err, sizeof err), KEYS_E_FORMAT);
    ASSERT_CONTAINS(err, "holds binary data");

    keys_post_free(other);
    keys_post_free(k);
    free(whole);
}

TEST(test_keys_wrong_kind_of_file_is_named)
{
    const char *key = check_path("post.key"), *pub = check_path("post.pub");
    struct envelope_post_key *k = make_post(pub, key);
    char err[512], want[700];
    ASSERT_EQ(unlock(pub, err, sizeof err), KEYS_E_FORMAT);
    snprintf(want, sizeof want,
             "%s is not a post secret key file (its first line should be \"homthu-post-secret "
             "v1\")",
             pub);
    ASSERT_STR_EQ(err, want);

    edit(key, "homthu-post-secret v1", "homthu-post-secret v2");
    ASSERT_EQ(unlock(key, err, sizeof err), KEYS_E_FORMAT);
    snprintf(want, sizeof want,
             "%s is in format \"homthu-post-secret v2\", which this program does not read (it "
             "reads \"homthu-post-secret v1\"): update homthu",
             key);
    ASSERT_STR_EQ(err, want);

    uint8_t pk[32];
    ASSERT_EQ(keys_post_load_public(key, pk, NULL, err, sizeof err), KEYS_E_FORMAT);
    ASSERT_CONTAINS(err, "is not a post public key file");

    char *big = calloc(1, 5000);
    memset(big, 'x', 4999);
    rewrite(key, big);
    free(big);
    ASSERT_EQ(unlock(key, err, sizeof err), KEYS_E_FORMAT);
    ASSERT_CONTAINS(err, "far too large");
    keys_post_free(k);
}

TEST(test_keys_missing_file_is_its_own_error)
{
    char err[512], want[600];
    const char *p = check_path("post.key");
    ASSERT_EQ(unlock(p, err, sizeof err), KEYS_E_MISSING);
    snprintf(want, sizeof want, "cannot read %s: No such file or directory", p);
    ASSERT_STR_EQ(err, want);
    uint8_t pk[32];
    ASSERT_EQ(keys_post_load_public(check_path("post.pub"), pk, NULL, err, sizeof err),
              KEYS_E_MISSING);
    struct keys_device *d = NULL;
    ASSERT_EQ(keys_device_load(&d, check_path("device.key"), err, sizeof err), KEYS_E_MISSING);
    ASSERT(d == NULL);
}

TEST(test_keys_post_pub_with_wrong_key_id_is_refused)
{
    const char *pub = check_path("post.pub");
    struct envelope_post_key *k = make_post(pub, check_path("post.key"));
    char *text = slurp_str(pub);
    char *id = strstr(text, "key-id: ") + 8;
    id[0] = id[0] == '0' ? '1' : '0';
    rewrite(pub, text);
    free(text);
    uint8_t pk[32];
    char err[512], want[600];
    ASSERT_EQ(keys_post_load_public(pub, pk, NULL, err, sizeof err), KEYS_E_FORMAT);
    snprintf(want, sizeof want,
             "%s:2: key-id does not match the public key (the file is damaged: copy post.pub "
             "again from the post's computer)",
             pub);
    ASSERT_STR_EQ(err, want);
    keys_post_free(k);
}

TEST(test_keys_post_pub_survives_a_windows_copy)
{
    const char *pub = check_path("post.pub");
    struct envelope_post_key *k = make_post(pub, check_path("post.key"));
    char *text = slurp_str(pub), crlf[512];
    size_t n = 0;
    for (char *p = text; *p; p++) {
        if (*p == '\n')
            crlf[n++] = '\r';
        crlf[n++] = *p;
    }
    crlf[n - 2] = 0; /* and no final line end */
    rewrite(pub, crlf);
    uint8_t pk[32];
    char err[512];
    ASSERT_EQ(keys_post_load_public(pub, pk, NULL, err, sizeof err), 0);
    ASSERT_MEM_EQ(pk, k->pk, 32);
    free(text);
    keys_post_free(k);
}

TEST(test_keys_save_never_overwrites_a_key)
{
    const char *pub = check_path("post.pub"), *key = check_path("post.key");
    struct envelope_post_key *k = make_post(pub, key), *k2 = NULL;
    size_t len1, len2;
    uint8_t *before = check_slurp(key, &len1);
    char err[512], want[700];
    ASSERT_EQ(keys_post_generate(&k2, err, sizeof err), 0);
    ASSERT_EQ(keys_post_save(k2, pub, key, PASS, OPS, MEM, err, sizeof err), KEYS_E_EXISTS);
    snprintf(want, sizeof want,
             "%s already exists: refusing to overwrite a key (move it away first if you really "
             "mean to replace it)",
             key);
    ASSERT_STR_EQ(err, want);
    uint8_t *after = check_slurp(key, &len2);
    ASSERT_EQ(len1, len2);
    ASSERT_MEM_EQ(before, after, len1);
    free(before);
    free(after);

    /* Only post.pub there: nothing is written, not even post.key. */
    const char *key2 = check_path("other.key");
    ASSERT_EQ(keys_post_save(k2, pub, key2, PASS, OPS, MEM, err, sizeof err), KEYS_E_EXISTS);
    ASSERT(access(key2, F_OK) != 0);

    struct keys_device *d = NULL;
    ASSERT_EQ(keys_device_generate(&d, err, sizeof err), 0);
    ASSERT_EQ(keys_device_save(d, key, err, sizeof err), KEYS_E_EXISTS);
    ASSERT_CONTAINS(err, "already exists: refusing to overwrite it");
    assert_no_temp_files();
    keys_device_free(d);
    keys_post_free(k2);
    keys_post_free(k);
}

TEST(test_keys_save_checks_its_arguments)
{
    struct envelope_post_key *k = NULL;
    char err[512];
    ASSERT_EQ(keys_post_generate(&k, err, sizeof err), 0);
    const char *pub = check_path("post.pub"), *key = check_path("post.key");
    ASSERT_EQ(keys_post_save(k, pub, key, "", OPS, MEM, err, sizeof err), KEYS_E_ARG);
    ASSERT_CONTAINS(err, "passphrase for");
    ASSERT_EQ(keys_post_save(k, pub, key, PASS, 0, MEM, err, sizeof err), KEYS_E_ARG);
    ASSERT_EQ(keys_post_save(k, pub, key, PASS, OPS, 1024, err, sizeof err), KEYS_E_ARG);
    ASSERT_EQ(keys_post_save(k, pub, key, PASS, 1000, MEM, err, sizeof err), KEYS_E_ARG);
    ASSERT(access(key, F_OK) != 0 && access(pub, F_OK) != 0);
    /* A folder that does not exist. */
    ASSERT_EQ(keys_post_save(k, check_path("no/post.pub"), check_path("no/post.key"), PASS, OPS,
                             MEM, err, sizeof err),
              KEYS_E_IO);
    ASSERT_CONTAINS(err, "check that its folder exists and is writable");
    keys_post_free(k);
}

TEST(test_keys_device_key_round_trips_and_signs)
{
    const char *path = check_path("device.key");
    struct keys_device *d = NULL, *l = NULL;
    char err[512];
    ASSERT_EQ(keys_device_generate(&d, err, sizeof err), 0);
    ASSERT_EQ(keys_device_save(d, path, err, sizeof err), 0);
    ASSERT_EQ(keys_device_load(&l, path, err, sizeof err), 0);
    ASSERT_MEM_EQ(l->pk, d->pk, 32);
    ASSERT_MEM_EQ(l->sk, d->sk, 64);
    uint8_t sig[64];
    crypto_sign_detached(sig, NULL, (const uint8_t *)"tip", 3, l->sk);
    ASSERT_EQ(crypto_sign_verify_detached(sig, (const uint8_t *)"tip", 3, d->pk), 0);

    char *text = slurp_str(path), pk64[64];
    sodium_bin2base64(pk64, sizeof pk64, d->pk, 32, sodium_base64_VARIANT_ORIGINAL);
    char want[128];
    snprintf(want, sizeof want, "homthu-device-secret v1\npublic-key: %s\n", pk64);
    ASSERT(strncmp(text, want, strlen(want)) == 0);
    ASSERT_EQ(strlen(text), strlen(want) + strlen("secret-key: ") + 88 + 1);
    free(text);
    keys_device_free(l);
    keys_device_free(d);
}

TEST(test_keys_damaged_device_key_is_refused)
{
    const char *path = check_path("device.key");
    struct keys_device *d = NULL, *l = NULL;
    char err[512], want[700];
    ASSERT_EQ(keys_device_generate(&d, err, sizeof err), 0);
    ASSERT_EQ(keys_device_save(d, path, err, sizeof err), 0);
    size_t len;
    uint8_t *whole = check_slurp(path, &len);
    /* Flip one character of the seed (start of the secret-key value). */
    char *sk = strstr((char *)whole, "secret-key: ") + 12;
    sk[3] = sk[3] == 'A' ? 'B' : 'A';
    check_write_file(path, whole, len);
    ASSERT_EQ(keys_device_load(&l, path, err, sizeof err), KEYS_E_FORMAT);
    ASSERT(l == NULL);
    snprintf(want, sizeof want,
             "%s: the public key does not belong to the secret key (the file is damaged: "
             "provision the kiosk again with homthu-provision kiosk-new and revoke its old id)",
             path);
    ASSERT_STR_EQ(err, want);

    check_write_file(path, whole, len - 10);
    ASSERT_EQ(keys_device_load(&l, path, err, sizeof err), KEYS_E_FORMAT);
    ASSERT_CONTAINS(err, ":3: secret-key is not base64 of 64 bytes");

    rewrite(path, "homthu-device-secret v1\n");
    ASSERT_EQ(keys_device_load(&l, path, err, sizeof err), KEYS_E_FORMAT);
    ASSERT_CONTAINS(err, "ends early: line 2 should hold public-key");
    free(whole);
    keys_device_free(d);
}

TEST(test_keys_write_file_replaces_only_when_asked)
{
    const char *p = check_path("kiosk.conf");
    char err[512];
    ASSERT_EQ(keys_write_file(p, "one\n", 4, 0644, 0, err, sizeof err), 0);
    ASSERT_EQ(keys_write_file(p, "two\n", 4, 0644, 0, err, sizeof err), KEYS_E_EXISTS);
    ASSERT_EQ(keys_write_file(p, "three\n", 6, 0600, 1, err, sizeof err), 0);
    size_t n;
    uint8_t *b = check_slurp(p, &n);
    ASSERT_EQ(n, 6);
    ASSERT_MEM_EQ(b, "three\n", 6);
    free(b);
    ASSERT_EQ(mode_of(p), 0600);
    assert_no_temp_files();
}

TEST(test_keys_fingerprint_is_the_key_id_in_hex)
{
    uint8_t pk[32], id[8], h[32];
    char hex[KEYS_FINGERPRINT_HEX];
    randombytes_buf(pk, sizeof pk);
    keys_key_id(pk, 32, id);
    crypto_generichash(h, 32, pk, 32, NULL, 0);
    ASSERT_MEM_EQ(id, h, 8);
    keys_fingerprint(pk, 32, hex);
    ASSERT_EQ(strlen(hex), 16);
    char want[17];
    sodium_bin2hex(want, sizeof want, h, 8);
    ASSERT_STR_EQ(hex, want);
}

TEST(test_keys_pwhash_levels_by_name)
{
    unsigned long long ops;
    size_t mem;
    ASSERT_EQ(keys_pwhash_limits("moderate", &ops, &mem), 0);
    ASSERT_EQ(ops, crypto_pwhash_OPSLIMIT_MODERATE);
    ASSERT_EQ(mem, crypto_pwhash_MEMLIMIT_MODERATE);
    ASSERT_EQ(keys_pwhash_limits("interactive", &ops, &mem), 0);
    ASSERT_EQ(mem, crypto_pwhash_MEMLIMIT_INTERACTIVE);
    ASSERT_EQ(keys_pwhash_limits("min", &ops, &mem), 0);
    ASSERT_EQ(keys_pwhash_limits("sensitive", &ops, &mem), 0);
    ASSERT_EQ(keys_pwhash_limits("fast", &ops, &mem), -1);
}

TEST(test_keys_free_null_is_a_no_op)
{
    keys_post_free(NULL);
    keys_device_free(NULL);
}
