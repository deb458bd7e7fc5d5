/*
 * tlscert — the station's own TLS certificate: made once at the first
 * start, kept for ten years, shown by its fingerprint.
 *
 * The station serves officers on the post's network, where no public CA
 * can vouch for it. So it signs its own certificate and prints the SHA-256
 * fingerprint (on its console, in the journal, in /api/state); an officer
 * compares it with the browser's certificate viewer once, then proceeds.
 * That comparison is only worth something if the fingerprint never changes
 * behind their back: an existing pair is always kept, and a half pair or a
 * damaged file is refused (never replaced) so that a new fingerprint only
 * ever appears because someone removed the old files on purpose.
 *
 * The key is ECDSA P-256 (every browser, small, fast on a Pi), PEM,
 * mode 0600; the certificate PEM, 0644. GnuTLS makes and reads them; the
 * station hands the PEMs to libmicrohttpd (MHD_OPTION_HTTPS_MEM_CERT/KEY).
 */
#ifndef HOMTHU_TLSCERT_H
#define HOMTHU_TLSCERT_H

#include <stddef.h>
#include <stdint.h>

enum {
    TLSCERT_OK = 0,
    TLSCERT_E_ARG = -1,      /* a NULL path, no names, a name that is no host name */
    TLSCERT_E_IO = -2,       /* a file cannot be read or written (message says which) */
    TLSCERT_E_HALF = -3,     /* one of the two files exists, the other does not */
    TLSCERT_E_BAD = -4,      /* a file is not a PEM certificate / unencrypted private key */
    TLSCERT_E_MISMATCH = -5, /* the key is not the certificate's */
    TLSCERT_E_CRYPTO = -6,   /* GnuTLS could not make the key or sign */
    TLSCERT_E_NOMEM = -7,
};

/* "SHA256 " + 32 bytes as "AB:" - the last colon + NUL. */
#define TLSCERT_FINGERPRINT_LEN (7 + 32 * 3)

/* What the certificate's subject says (CN); browsers show it. */
#define TLSCERT_COMMON_NAME "Hòm thư station"

/*
 * Make sure `cert_path` and `key_path` hold this station's certificate and
 * key. Both there, parsing, and the key the certificate's: kept as they
 * are (*made = 0) — even if `names` changed since, because a new
 * certificate would be a new fingerprint for every officer to check. Neither
 * there: a new ECDSA P-256 key and a self-signed X.509 v3 certificate
 * (random serial, valid from now - 1 h for 10 years, CN TLSCERT_COMMON_NAME,
 * subjectAltName = `names`, CA:FALSE, keyUsage digitalSignature,
 * extKeyUsage serverAuth) are written (*made = 1): each to a temp file,
 * fsynced, then linked into place (never over an existing file) and the
 * folder fsynced. The folders must exist.
 *
 * `names` is NULL-terminated: IPv4 and IPv6 addresses ("192.168.1.20",
 * "::1", "[fe80::1]") become IP entries, anything else a DNS name (letters,
 * digits, '-', '.'; at most 253 bytes). At least one name.
 *
 * Errors: TLSCERT_E_HALF when only one file exists, TLSCERT_E_BAD for a
 * damaged file, TLSCERT_E_MISMATCH for a key that is not the
 * certificate's; each leaves both files exactly as they were and says
 * which file and what to do. `made` may be NULL.
 */
int tlscert_ensure(const char *cert_path, const char *key_path, const char *const *names,
                   int64_t now, int *made, char *err, size_t errlen)
    __attribute__((warn_unused_result));

/*
 * The SHA-256 fingerprint of the (first) certificate in `cert_path`, over its
 * DER bytes, as browsers show it: "SHA256 AB:CD:…:EF" (uppercase, 32 pairs).
 */
int tlscert_fingerprint(const char *cert_path, char out[TLSCERT_FINGERPRINT_LEN], char *err,
                        size_t errlen) __attribute__((warn_unused_result));

/*
 * Both PEMs, NUL-terminated, for MHD_OPTION_HTTPS_MEM_CERT / _KEY, after
 * checking that they parse and belong together (so a bad pair is a clear
 * sentence here, not libmicrohttpd's "cannot start"). The key lives in
 * sodium_malloc memory (guarded, not swapped). Keep both until
 * MHD_stop_daemon() has returned, then tlscert_free(). On error both are
 * NULL.
 */
int tlscert_load(const char *cert_path, const char *key_path, char **cert_pem, char **key_pem,
                 char *err, size_t errlen) __attribute__((warn_unused_result));

/*
 * The names this machine answers to, for tlscert_ensure() when the station
 * is not told any: "localhost", 127.0.0.1, ::1, the host name (and
 * NAME.local, which Windows and phones resolve by mDNS when the post's
 * network has no DNS), and every IPv4 and global IPv6 address its network
 * interfaces have now (link-local fe80:: ones are left out: they need a
 * scope no URL carries). Names a certificate cannot hold are skipped.
 * Never fails; `list` is NULL-terminated and points into `buf`.
 */
#define TLSCERT_NAMES_MAX 32
struct tlscert_names {
    const char *list[TLSCERT_NAMES_MAX + 1];
    char buf[TLSCERT_NAMES_MAX][256];
};
void tlscert_host_names(struct tlscert_names *n);

/* Frees what tlscert_load() gave (the key wiped); NULLs are fine. */
void tlscert_free(char *cert_pem, char *key_pem);

#endif
