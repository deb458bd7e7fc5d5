/* tlscert — see tlscert.h. */
#include "station/tlscert.h"

#include "core/durable.h"
#include "core/errbuf.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <ifaddrs.h>
#include <limits.h>
#include <netinet/in.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* A certificate or key PEM is a few hundred bytes; anything this big is not one. */
#define PEM_MAX (64 * 1024)
/* 10 years counted in days, leap days included. */
#define VALID_SECONDS ((int64_t)3653 * 24 * 3600)

#define say errbuf_say

/* ---- files ---- */

/* 1 there, 0 missing, <0 cannot tell (message said). */
static int exists(const char *path, char *err, size_t errlen)
{
    struct stat st;
    if (stat(path, &st) == 0)
        return 1;
    if (errno == ENOENT)
        return 0;
    return say(err, errlen, TLSCERT_E_IO, "cannot look at %s: %s", path, strerror(errno));
}

/*
 * The whole file, NUL-terminated; in sodium_malloc memory when `secret`
 * (the key), else malloc. Free with free_text().
 */
static int read_text(const char *path, int secret, char **out, size_t *len, char *err,
                     size_t errlen)
{
    *out = NULL;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return say(err, errlen, TLSCERT_E_IO, "cannot read %s: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size > PEM_MAX) {
        close(fd);
        return say(err, errlen, TLSCERT_E_BAD, "%s is not a PEM file (not a plain file, or too big)",
                   path);
    }
    size_t cap = (size_t)st.st_size + 1;
    char *buf = secret ? sodium_malloc(cap) : malloc(cap);
    if (!buf) {
        close(fd);
        return say(err, errlen, TLSCERT_E_NOMEM, "out of memory reading %s", path);
    }
    size_t n = 0;
    while (n < cap - 1) {
        ssize_t r = read(fd, buf + n, cap - 1 - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            int e = errno;
            close(fd);
            secret ? sodium_free(buf) : free(buf);
            return say(err, errlen, TLSCERT_E_IO, "cannot read %s: %s", path, strerror(e));
        }
        if (r == 0)
            break;
        n += (size_t)r;
    }
    close(fd);
    buf[n] = 0;
    *out = buf;
    if (len)
        *len = n;
    return 0;
}

static void free_text(char *p, int secret)
{
    if (p)
        secret ? sodium_free(p) : free(p);
}

/*
 * The first half of an atomic write: `bytes` into a fresh temp file beside
 * `path` with `mode`, fsynced and closed. `tmp` gets its name.
 */
static int write_temp(const char *path, const void *bytes, size_t len, mode_t mode,
                      char tmp[PATH_MAX], char *err, size_t errlen)
{
    int w = snprintf(tmp, PATH_MAX, "%s.tmp-XXXXXX", path);
    if (w < 0 || w >= PATH_MAX)
        return say(err, errlen, TLSCERT_E_ARG, "cannot write %s: the path is too long", path);
    int fd = mkstemp(tmp); /* 0600 from the start: the key is never readable by others */
    if (fd < 0) {
        int e = errno;
        tmp[0] = 0;
        return say(err, errlen, TLSCERT_E_IO,
                   "cannot write %s: %s (check that its folder exists and is writable)", path,
                   strerror(e));
    }
    if (fchmod(fd, mode) != 0 && errno != EPERM) /* vfat: modes come from the mount */
        goto fail;
    const char *p = bytes;
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            goto fail;
        p += n;
        len -= (size_t)n;
    }
    if (fsync(fd) != 0)
        goto fail;
    if (close(fd) != 0) {
        fd = -1;
        goto fail;
    }
    return 0;
fail:;
    int e = errno;
    if (fd >= 0)
        close(fd);
    unlink(tmp);
    tmp[0] = 0;
    return say(err, errlen, TLSCERT_E_IO, "cannot write %s: %s (is the disk full?)", path,
               strerror(e));
}

/* The second half: the temp file takes the name `path`, which must not exist yet. */
static int place(const char *tmp, const char *path, char *err, size_t errlen)
{
    if (link(tmp, path) == 0) {
        unlink(tmp);
        return 0;
    }
    int e = errno;
    if (e == EEXIST)
        return say(err, errlen, TLSCERT_E_HALF,
                   "%s appeared while the station was making it: is another homthu-station "
                   "starting on the same folder?",
                   path);
    /* No hard links (vfat): the check that neither file existed has to do. */
    if ((e == EPERM || e == ENOTSUP || e == ENOSYS || e == EMLINK) && rename(tmp, path) == 0)
        return 0;
    return say(err, errlen, TLSCERT_E_IO, "cannot write %s: %s", path, strerror(e));
}

/* ---- parsing ---- */

static int gnutls_say(char *err, size_t errlen, int code, const char *what, int g)
{
    return say(err, errlen, code, "%s: %s", what, gnutls_strerror(g));
}

static int parse_cert(const char *path, const char *pem, size_t len, gnutls_x509_crt_t *crt,
                      char *err, size_t errlen)
{
    *crt = NULL;
    if (gnutls_x509_crt_init(crt) < 0)
        return say(err, errlen, TLSCERT_E_NOMEM, "out of memory for a certificate");
    gnutls_datum_t d = {(unsigned char *)pem, (unsigned)len};
    int g = gnutls_x509_crt_import(*crt, &d, GNUTLS_X509_FMT_PEM);
    if (g < 0) {
        gnutls_x509_crt_deinit(*crt);
        *crt = NULL;
        return say(err, errlen, TLSCERT_E_BAD,
                   "%s is not a PEM certificate (%s): it is damaged or not the station's; "
                   "restore it from a backup, or move it and its key away to make a new pair "
                   "(officers will then see a new fingerprint)",
                   path, gnutls_strerror(g));
    }
    return 0;
}

static int parse_key(const char *path, const char *pem, size_t len, gnutls_x509_privkey_t *key,
                     char *err, size_t errlen)
{
    *key = NULL;
    if (gnutls_x509_privkey_init(key) < 0)
        return say(err, errlen, TLSCERT_E_NOMEM, "out of memory for a key");
    gnutls_datum_t d = {(unsigned char *)pem, (unsigned)len};
    int g = gnutls_x509_privkey_import2(*key, &d, GNUTLS_X509_FMT_PEM, NULL, 0);
    if (g < 0) {
        gnutls_x509_privkey_deinit(*key);
        *key = NULL;
        return say(err, errlen, TLSCERT_E_BAD,
                   "%s is not an unencrypted PEM private key (%s): it is damaged or not the "
                   "station's; restore it from a backup, or move it and its certificate away "
                   "to make a new pair (officers will then see a new fingerprint)",
                   path, gnutls_strerror(g));
    }
    return 0;
}

/* 0 when `key` is the private half of `crt`'s public key. */
static int same_key(gnutls_x509_crt_t crt, gnutls_x509_privkey_t key, const char *cert_path,
                    const char *key_path, char *err, size_t errlen)
{
    unsigned char a[64], b[64];
    size_t al = sizeof a, bl = sizeof b;
    if (gnutls_x509_crt_get_key_id(crt, GNUTLS_KEYID_USE_SHA256, a, &al) < 0 ||
        gnutls_x509_privkey_get_key_id(key, GNUTLS_KEYID_USE_SHA256, b, &bl) < 0 || al != bl ||
        memcmp(a, b, al) != 0)
        return say(err, errlen, TLSCERT_E_MISMATCH,
                   "%s is not the key of %s: the two files come from different pairs; restore "
                   "the matching one, or move both away to make a new pair (officers will then "
                   "see a new fingerprint)",
                   key_path, cert_path);
    return 0;
}

/* Both files read, parsed and matched. */
static int check_pair(const char *cert_path, const char *key_path, char **cert_pem,
                      char **key_pem, char *err, size_t errlen)
{
    char *c = NULL, *k = NULL;
    size_t cl = 0, kl = 0;
    gnutls_x509_crt_t crt = NULL;
    gnutls_x509_privkey_t key = NULL;
    int rc;
    if ((rc = read_text(cert_path, 0, &c, &cl, err, errlen)) ||
        (rc = read_text(key_path, 1, &k, &kl, err, errlen)) ||
        (rc = parse_cert(cert_path, c, cl, &crt, err, errlen)) ||
        (rc = parse_key(key_path, k, kl, &key, err, errlen)) ||
        (rc = same_key(crt, key, cert_path, key_path, err, errlen)))
        goto out;
    if (cert_pem) {
        *cert_pem = c;
        c = NULL;
    }
    if (key_pem) {
        *key_pem = k;
        k = NULL;
    }
out:
    if (crt)
        gnutls_x509_crt_deinit(crt);
    if (key)
        gnutls_x509_privkey_deinit(key);
    free_text(c, 0);
    free_text(k, 1);
    return rc;
}

/* ---- making ---- */

/* A DNS name as a certificate may carry it: labels of letters, digits, '-', '_'. */
static int dns_name_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 253 || s[0] == '.' || s[0] == '-' || s[n - 1] == '.')
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                 c == '-' || c == '_' || c == '.';
        if (!ok || (c == '.' && s[i + 1] == '.'))
            return 0;
    }
    return 1;
}

/* One subjectAltName entry for `name`: an IP address when it parses as one. */
static int add_name(gnutls_x509_crt_t crt, const char *name, char *err, size_t errlen)
{
    char bare[INET6_ADDRSTRLEN + 2];
    const char *s = name;
    size_t n = strlen(name);
    if (n >= 2 && name[0] == '[' && name[n - 1] == ']' && n - 2 < sizeof bare) {
        memcpy(bare, name + 1, n - 2);
        bare[n - 2] = 0;
        s = bare;
    }
    unsigned char ip[16];
    int g;
    if (inet_pton(AF_INET, s, ip) == 1)
        g = gnutls_x509_crt_set_subject_alt_name(crt, GNUTLS_SAN_IPADDRESS, ip, 4,
                                                 GNUTLS_FSAN_APPEND);
    else if (inet_pton(AF_INET6, s, ip) == 1)
        g = gnutls_x509_crt_set_subject_alt_name(crt, GNUTLS_SAN_IPADDRESS, ip, 16,
                                                 GNUTLS_FSAN_APPEND);
    else if (s == name && dns_name_ok(name))
        g = gnutls_x509_crt_set_subject_alt_name(crt, GNUTLS_SAN_DNSNAME, name,
                                                 (unsigned)strlen(name), GNUTLS_FSAN_APPEND);
    else
        return say(err, errlen, TLSCERT_E_ARG,
                   "\"%s\" is neither an IP address nor a host name: the certificate cannot name "
                   "the station by it",
                   name);
    if (g < 0)
        return gnutls_say(err, errlen, TLSCERT_E_CRYPTO, "cannot add a name to the certificate",
                          g);
    return 0;
}

static int make_pair(const char *cert_path, const char *key_path, const char *const *names,
                     int64_t now, char *err, size_t errlen)
{
    gnutls_x509_privkey_t key = NULL;
    gnutls_x509_crt_t crt = NULL;
    gnutls_datum_t cert_pem = {NULL, 0}, key_pem = {NULL, 0};
    char cert_tmp[PATH_MAX] = "", key_tmp[PATH_MAX] = "";
    int key_placed = 0;
    int rc = TLSCERT_E_CRYPTO, g;

    if (gnutls_x509_privkey_init(&key) < 0 || gnutls_x509_crt_init(&crt) < 0) {
        rc = say(err, errlen, TLSCERT_E_NOMEM, "out of memory making the certificate");
        goto out;
    }
    if ((g = gnutls_x509_privkey_generate(
             key, GNUTLS_PK_ECDSA, GNUTLS_CURVE_TO_BITS(GNUTLS_ECC_CURVE_SECP256R1), 0)) < 0) {
        rc = gnutls_say(err, errlen, TLSCERT_E_CRYPTO, "cannot make the station's TLS key", g);
        goto out;
    }
    /* 16 random bytes, positive and without a leading zero (RFC 5280: at most 20 octets). */
    unsigned char serial[16];
    randombytes_buf(serial, sizeof serial);
    serial[0] = (unsigned char)((serial[0] & 0x7f) | 0x40);
    static const char cn[] = TLSCERT_COMMON_NAME;
    if ((g = gnutls_x509_crt_set_version(crt, 3)) < 0 ||
        (g = gnutls_x509_crt_set_serial(crt, serial, sizeof serial)) < 0 ||
        (g = gnutls_x509_crt_set_activation_time(crt, (time_t)(now - 3600))) < 0 ||
        (g = gnutls_x509_crt_set_expiration_time(crt, (time_t)(now + VALID_SECONDS))) < 0 ||
        (g = gnutls_x509_crt_set_dn_by_oid(crt, GNUTLS_OID_X520_COMMON_NAME, 0, cn,
                                           sizeof cn - 1)) < 0 ||
        (g = gnutls_x509_crt_set_key(crt, key)) < 0 ||
        (g = gnutls_x509_crt_set_basic_constraints(crt, 0, -1)) < 0 ||
        (g = gnutls_x509_crt_set_key_usage(crt, GNUTLS_KEY_DIGITAL_SIGNATURE)) < 0 ||
        (g = gnutls_x509_crt_set_key_purpose_oid(crt, GNUTLS_KP_TLS_WWW_SERVER, 0)) < 0) {
        rc = gnutls_say(err, errlen, TLSCERT_E_CRYPTO, "cannot fill in the certificate", g);
        goto out;
    }
    unsigned char kid[64];
    size_t kidlen = sizeof kid;
    if ((g = gnutls_x509_privkey_get_key_id(key, 0, kid, &kidlen)) < 0 ||
        (g = gnutls_x509_crt_set_subject_key_id(crt, kid, kidlen)) < 0) {
        rc = gnutls_say(err, errlen, TLSCERT_E_CRYPTO, "cannot fill in the certificate", g);
        goto out;
    }
    for (size_t i = 0; names[i]; i++)
        if ((rc = add_name(crt, names[i], err, errlen)))
            goto out;
    if ((g = gnutls_x509_crt_sign2(crt, crt, key, GNUTLS_DIG_SHA256, 0)) < 0 ||
        (g = gnutls_x509_crt_export2(crt, GNUTLS_X509_FMT_PEM, &cert_pem)) < 0 ||
        (g = gnutls_x509_privkey_export2_pkcs8(key, GNUTLS_X509_FMT_PEM, NULL, GNUTLS_PKCS_PLAIN,
                                               &key_pem)) < 0) {
        rc = gnutls_say(err, errlen, TLSCERT_E_CRYPTO, "cannot sign the station's certificate", g);
        goto out;
    }
    /*
     * Both temp files are complete and synced before either name appears,
     * so a power cut leaves at worst a moment in which the key is in place
     * and the certificate not yet: never a file half written.
     */
    if ((rc = write_temp(key_path, key_pem.data, key_pem.size, 0600, key_tmp, err, errlen)) ||
        (rc = write_temp(cert_path, cert_pem.data, cert_pem.size, 0644, cert_tmp, err, errlen)) ||
        (rc = place(key_tmp, key_path, err, errlen)))
        goto out;
    key_placed = 1;
    key_tmp[0] = 0;
    if ((rc = place(cert_tmp, cert_path, err, errlen)))
        goto out;
    cert_tmp[0] = 0;
    int sd = durable_sync_dir_of(key_path);
    if (sd == 0)
        sd = durable_sync_dir_of(cert_path);
    if (sd < 0) {
        /* The files are in place; only their surviving a power cut is in doubt. */
        rc = say(err, errlen, TLSCERT_E_IO, "cannot sync the folder of %s: %s", cert_path,
                 strerror(-sd));
        goto out;
    }
    rc = 0;
out:
    if (rc && key_placed && cert_tmp[0])
        unlink(key_path); /* ours, made a moment ago, never used: no half pair stays */
    if (key_tmp[0])
        unlink(key_tmp);
    if (cert_tmp[0])
        unlink(cert_tmp);
    if (key_pem.data) {
        sodium_memzero(key_pem.data, key_pem.size);
        gnutls_free(key_pem.data);
    }
    if (cert_pem.data)
        gnutls_free(cert_pem.data);
    if (crt)
        gnutls_x509_crt_deinit(crt);
    if (key)
        gnutls_x509_privkey_deinit(key);
    return rc;
}

/* ---- the interface ---- */

int tlscert_ensure(const char *cert_path, const char *key_path, const char *const *names,
                   int64_t now, int *made, char *err, size_t errlen)
{
    if (made)
        *made = 0;
    if (!cert_path || !key_path || !*cert_path || !*key_path)
        return say(err, errlen, TLSCERT_E_ARG, "the certificate and key need a file name each");
    if (strcmp(cert_path, key_path) == 0)
        return say(err, errlen, TLSCERT_E_ARG,
                   "the certificate and the key need two files, not both %s", cert_path);
    if (sodium_init() < 0)
        return say(err, errlen, TLSCERT_E_NOMEM, "libsodium cannot start");
    int c = exists(cert_path, err, errlen);
    if (c < 0)
        return c;
    int k = exists(key_path, err, errlen);
    if (k < 0)
        return k;
    if (c && k)
        return check_pair(cert_path, key_path, NULL, NULL, err, errlen);
    if (c || k)
        return say(err, errlen, TLSCERT_E_HALF,
                   "%s is there but %s is missing: the station will not replace half a pair; "
                   "restore %s from a backup, or move %s away to make a new pair (officers will "
                   "then see a new fingerprint)",
                   c ? cert_path : key_path, c ? key_path : cert_path, c ? key_path : cert_path,
                   c ? cert_path : key_path);
    if (!names || !names[0])
        return say(err, errlen, TLSCERT_E_ARG,
                   "the certificate needs at least one host name or address for the station");
    int rc = make_pair(cert_path, key_path, names, now, err, errlen);
    if (rc == 0 && made)
        *made = 1;
    return rc;
}

int tlscert_fingerprint(const char *cert_path, char out[TLSCERT_FINGERPRINT_LEN], char *err,
                        size_t errlen)
{
    if (!cert_path || !out)
        return say(err, errlen, TLSCERT_E_ARG, "no certificate to take the fingerprint of");
    out[0] = 0;
    char *pem = NULL;
    size_t len = 0;
    gnutls_x509_crt_t crt = NULL;
    int rc = read_text(cert_path, 0, &pem, &len, err, errlen);
    if (rc || (rc = parse_cert(cert_path, pem, len, &crt, err, errlen)))
        goto out;
    unsigned char md[32];
    size_t mdlen = sizeof md;
    int g = gnutls_x509_crt_get_fingerprint(crt, GNUTLS_DIG_SHA256, md, &mdlen);
    if (g < 0 || mdlen != sizeof md) {
        rc = gnutls_say(err, errlen, TLSCERT_E_CRYPTO, "cannot hash the certificate", g);
        goto out;
    }
    static const char hex[] = "0123456789ABCDEF";
    memcpy(out, "SHA256 ", 7);
    char *p = out + 7;
    for (size_t i = 0; i < sizeof md; i++) {
        if (i)
            *p++ = ':';
        *p++ = hex[md[i] >> 4];
        *p++ = hex[md[i] & 15];
    }
    *p = 0;
out:
    if (crt)
        gnutls_x509_crt_deinit(crt);
    free_text(pem, 0);
    return rc;
}

int tlscert_load(const char *cert_path, const char *key_path, char **cert_pem, char **key_pem,
                 char *err, size_t errlen)
{
    if (cert_pem)
        *cert_pem = NULL;
    if (key_pem)
        *key_pem = NULL;
    if (!cert_path || !key_path || !cert_pem || !key_pem)
        return say(err, errlen, TLSCERT_E_ARG, "the certificate and key need a file name each");
    if (sodium_init() < 0)
        return say(err, errlen, TLSCERT_E_NOMEM, "libsodium cannot start");
    return check_pair(cert_path, key_path, cert_pem, key_pem, err, errlen);
}

void tlscert_free(char *cert_pem, char *key_pem)
{
    free_text(cert_pem, 0);
    free_text(key_pem, 1);
}

/* Appends `name` unless it is there already, the list is full or no certificate could hold it. */
static void names_add(struct tlscert_names *n, size_t *count, const char *name)
{
    if (*count >= TLSCERT_NAMES_MAX || strlen(name) >= sizeof n->buf[0])
        return;
    unsigned char ip[16];
    if (inet_pton(AF_INET, name, ip) != 1 && inet_pton(AF_INET6, name, ip) != 1 &&
        !dns_name_ok(name))
        return;
    for (size_t i = 0; i < *count; i++)
        if (strcmp(n->list[i], name) == 0)
            return;
    snprintf(n->buf[*count], sizeof n->buf[0], "%s", name);
    n->list[*count] = n->buf[*count];
    (*count)++;
    n->list[*count] = NULL;
}

void tlscert_host_names(struct tlscert_names *n)
{
    size_t count = 0;
    memset(n, 0, sizeof *n);
    names_add(n, &count, "localhost");
    names_add(n, &count, "127.0.0.1");
    names_add(n, &count, "::1");
    char host[256] = "";
    if (gethostname(host, sizeof host - 1) == 0 && host[0]) {
        names_add(n, &count, host);
        if (!strchr(host, '.')) {
            char local[300];
            snprintf(local, sizeof local, "%s.local", host);
            names_add(n, &count, local);
        }
    }
    struct ifaddrs *ifs = NULL;
    if (getifaddrs(&ifs) != 0)
        return;
    for (struct ifaddrs *i = ifs; i; i = i->ifa_next) {
        if (!i->ifa_addr)
            continue;
        char text[INET6_ADDRSTRLEN] = "";
        if (i->ifa_addr->sa_family == AF_INET) {
            const struct sockaddr_in *a = (const struct sockaddr_in *)(const void *)i->ifa_addr;
            inet_ntop(AF_INET, &a->sin_addr, text, sizeof text);
        } else if (i->ifa_addr->sa_family == AF_INET6) {
            const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)(const void *)i->ifa_addr;
            if (IN6_IS_ADDR_LINKLOCAL(&a->sin6_addr))
                continue;
            inet_ntop(AF_INET6, &a->sin6_addr, text, sizeof text);
        }
        if (text[0])
            names_add(n, &count, text);
    }
    freeifaddrs(ifs);
}
