/* uploader — see uploader.h and docs/uploader.md. */
#include "delivery/uploader.h"

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <sodium.h>

#include "core/errbuf.h"
#include "core/heartbeat.h"

#define SIG_SLOTS 1024 /* signed requests remembered for the current second, fresh_ts() */
#define BODY_CAP 512   /* bytes of an error answer kept for the log */
#define URL_CAP 2048
#define MAX_STEPS 100000 /* requests in one attempt: a guard against a server that loops us */
#define MAX_RECREATE 3   /* upload forgotten again and again within one attempt */
#define MAX_CONFLICTS 8  /* 409s in a row within one attempt */
#define MAX_REFUSALS 3   /* 422s at completion within one attempt before the tip is set aside */
#define MAX_MISMATCHES 4 /* 460s in a row for one PATCH: the link changes bytes; try later */
#define PIECE_DIGEST_BYTES 16
#define PIECES_MAX 66 /* 64 chunks, the header and the trailer: the most one PATCH carries */
#define PIECES_B64 sodium_base64_ENCODED_LEN(PIECES_MAX * PIECE_DIGEST_BYTES, \
                                             sodium_base64_VARIANT_ORIGINAL)
#define SPANS 64         /* runs of a tip's offsets handed to the connection, see mark_sent() */

struct uploader {
    CURL *h;
    char files_url[URL_CAP]; /* <relay_url>/files/ */
    char beat_url[URL_CAP];  /* <relay_url>/kiosk/heartbeat */
    uint8_t sk[crypto_sign_SECRETKEYBYTES];
    char key_b64[64];
    char pin[1024];
    char ca_file[4096];
    long connect_timeout_s, low_speed_bytes, low_speed_seconds;
    unsigned chunks_per_patch;
    int require_verified;
    const volatile sig_atomic_t *abort_flag;
    void (*log)(void *ctx, const char *line);
    void *log_ctx;

    int64_t clock_offset; /* relay − local, seconds */

    /* The upload of the tip in hand; kept in memory only (a restart POSTs
     * again, which the relay answers with the same Location). */
    int have_loc;
    uint8_t loc_id[16];
    char loc[URL_CAP];

    /* The offsets of sent_id's envelope already handed to the connection,
     * as disjoint runs [lo, hi), to count bytes re-sent. Not a single high
     * mark: after a restart the server's offset can start above anything
     * this process sent, and a forgotten upload starts again below it. */
    uint8_t sent_id[16];
    struct {
        uint64_t lo, hi;
    } spans[SPANS];
    unsigned nspans;

    int tls_only; /* relay_url is https://: libcurl may speak nothing else */

    /* The last failure of each tip not delivered in this process, and what
     * it cost: what --once reports of the tips it leaves. With it, the
     * tip's own retry schedule (uploader_run) and its sent spans while
     * another tip is in hand. */
    struct failure {
        uint8_t id[16];
        int code;
        char why[512];
        struct uploader_report rep;
        unsigned strikes;    /* failed attempts in a row that moved it nothing */
        unsigned held;       /* times held back since it last moved: its own backoff's exponent */
        int ever_held;       /* counted in uploader_totals.held */
        uint64_t not_before; /* CLOCK_MONOTONIC ms: not tried before then */
        struct {
            uint64_t lo, hi;
        } spans[SPANS];
        unsigned nspans;
    } *fails;
    size_t nfails;

    /* Signed texts whose ts has not passed yet: Ed25519 is deterministic
     * and the tip id is not in the signed text, so two tips' POSTs of the
     * same length in the same second would be one signature, and the
     * relay would refuse the second as a replay. */
    struct {
        uint64_t h;
        int64_t ts;
    } seen[SIG_SLOTS];
    unsigned nseen;

    uint64_t retry_after; /* seconds, from the last 429/503 answer */

    /* uploader_run's tick (see uploader.h) and the line it is given. */
    void (*tick)(void *ctx, const struct uploader_news *news);
    void *tick_ctx;
    char doing[128];
    int phase, error; /* what doing says, for the tick (uploader_news) */

    uint8_t *buf; /* one PATCH body */
    size_t bufcap;
};

/* One answer, as far as we need it. */
struct resp {
    CURLcode cc;
    long status;
    int connected; /* a connection was made (so not "offline") */
    char curl_err[CURL_ERROR_SIZE];
    int has_offset, has_length, has_time, verified, rejected;
    char rejected_why[160]; /* Homthu-Rejected, when rejected */
    uint64_t offset, length;
    int64_t relay_time;
    long retry_after;
    char location[URL_CAP];
    char body[BODY_CAP];
    size_t body_len;
    const uint8_t *out; /* the body, as curl pulls it */
    size_t out_len, pos;
    /* What libcurl hands to the connection, seen through its debug
     * callback: the request's bytes go to rep; a PATCH body's (body_base
     * >= 0: its Upload-Offset) are marked as sent for the tip. */
    struct uploader *u;
    struct uploader_report *rep;
    int64_t body_base;
    int eoh;     /* how much of the blank line ending the headers was seen (0-4) */
    size_t body_pos;
};

const char *uploader_strerror(int code)
{
    switch (code) {
    case UPLOADER_OK:
        return "ok";
    case UPLOADER_E_ARG:
        return "bad argument";
    case UPLOADER_E_NOMEM:
        return "out of memory";
    case UPLOADER_E_NET:
        return "network";
    case UPLOADER_E_OFFLINE:
        return "offline";
    case UPLOADER_E_PIN:
        return "pin";
    case UPLOADER_E_TLS:
        return "tls";
    case UPLOADER_E_DEVICE:
        return "device";
    case UPLOADER_E_AUTH:
        return "auth";
    case UPLOADER_E_REFUSED:
        return "refused";
    case UPLOADER_E_PROTOCOL:
        return "protocol";
    case UPLOADER_E_QUEUE:
        return "queue";
    case UPLOADER_E_UNVERIFIED:
        return "not verified";
    }
    return "unknown";
}

int uploader_error_is_the_tips(int code)
{
    return code == UPLOADER_E_REFUSED || code == UPLOADER_E_UNVERIFIED ||
           code == UPLOADER_E_PROTOCOL || code == UPLOADER_E_QUEUE;
}

/*
 * Is `host` (as libcurl gives it: IPv6 in brackets) this machine's
 * loopback? 127.0.0.0/8, ::1, and the name localhost, which libcurl
 * resolves to the loopback itself (since 7.78) without asking DNS or
 * /etc/hosts, so nobody on the network can point it elsewhere.
 */
static int host_is_loopback(const char *host)
{
    if (strcasecmp(host, "localhost") == 0 || strcasecmp(host, "localhost.") == 0)
        return 1;
    struct in_addr a4;
    if (inet_pton(AF_INET, host, &a4) == 1)
        return (ntohl(a4.s_addr) >> 24) == 127;
    char v6[64];
    size_t n = strlen(host);
    if (n < 3 || n >= sizeof v6 || host[0] != '[' || host[n - 1] != ']')
        return 0;
    memcpy(v6, host + 1, n - 2);
    v6[n - 2] = 0;
    struct in6_addr a6;
    return inet_pton(AF_INET6, v6, &a6) == 1 && IN6_IS_ADDR_LOOPBACK(&a6);
}

int uploader_url_kind(const char *url)
{
    if (!url)
        return UPLOADER_URL_BAD;
    int tls = strncasecmp(url, "https://", 8) == 0;
    if (!tls && strncasecmp(url, "http://", 7) != 0)
        return UPLOADER_URL_BAD;
    CURLU *cu = curl_url();
    char *host = NULL;
    int kind = UPLOADER_URL_BAD;
    if (cu && curl_url_set(cu, CURLUPART_URL, url, 0) == CURLUE_OK &&
        curl_url_get(cu, CURLUPART_HOST, &host, 0) == CURLUE_OK && host && *host)
        kind = tls ? UPLOADER_URL_TLS
                   : host_is_loopback(host) ? UPLOADER_URL_LOOPBACK : UPLOADER_URL_PLAIN;
    curl_free(host);
    curl_url_cleanup(cu);
    return kind;
}

/* errbuf_say under this file's old name, so its call sites read as before. */
#define say errbuf_say

static void logf_(struct uploader *u, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void logf_(struct uploader *u, const char *fmt, ...)
{
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    if (u->log)
        u->log(u->log_ctx, line);
    else
        fprintf(stderr, "homthu-uplink: %s\n", line);
}

/* First 8 hex digits of a tip id: enough to find it in the queue tool. */
static const char *short_id(const uint8_t id[16], char out[9])
{
    sodium_bin2hex(out, 9, id, 4);
    return out;
}

static int64_t now_s(void)
{
    return (int64_t)time(NULL);
}

/* ---- setup ---- */

static void copy_opt(char *dst, size_t cap, const char *src)
{
    snprintf(dst, cap, "%s", src ? src : "");
}

int uploader_new(struct uploader **out, const struct uploader_opts *o, char *err, size_t errlen)
{
    if (!out || !o || !o->relay_url || !o->device_sk)
        return say(err, errlen, UPLOADER_E_ARG, "uploader_new: missing relay url or device key");
    *out = NULL;
    if (sodium_init() < 0)
        return say(err, errlen, UPLOADER_E_NOMEM, "libsodium failed to start");
    static int curl_ready;
    if (!curl_ready) {
        /* Not thread-safe, like curl_global_init itself: the daemon and the
         * tests create uploaders from one thread. */
        if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
            return say(err, errlen, UPLOADER_E_NOMEM, "libcurl failed to start");
        curl_ready = 1;
    }
    size_t ul = strlen(o->relay_url);
    if (ul == 0 || ul + 8 >= URL_CAP ||
        (strncmp(o->relay_url, "http://", 7) != 0 && strncmp(o->relay_url, "https://", 8) != 0))
        return say(err, errlen, UPLOADER_E_ARG,
                   "relay_url \"%.100s\" is not an http:// or https:// address", o->relay_url);
    if (o->chunks_per_patch > 64)
        return say(err, errlen, UPLOADER_E_ARG, "chunks per PATCH must be 1-64");
    int kind = uploader_url_kind(o->relay_url);
    if (kind == UPLOADER_URL_BAD)
        return say(err, errlen, UPLOADER_E_ARG, "relay_url \"%.100s\" has no host", o->relay_url);
    if (kind == UPLOADER_URL_PLAIN && !o->insecure_http)
        return say(err, errlen, UPLOADER_E_ARG,
                   "relay_url \"%.100s\" is plain http to another machine: anyone on the way "
                   "could change the uploads or pose as the relay. Use https://, or, only "
                   "for a test network, allow it plainly with relay_insecure_http = true "
                   "(homthu-uplink --insecure-http)",
                   o->relay_url);

    struct uploader *u = calloc(1, sizeof *u);
    if (!u)
        return say(err, errlen, UPLOADER_E_NOMEM, "out of memory");
    u->h = curl_easy_init();
    if (!u->h) {
        free(u);
        return say(err, errlen, UPLOADER_E_NOMEM, "libcurl could not make a handle");
    }
    snprintf(u->files_url, sizeof u->files_url, "%s%sfiles/", o->relay_url,
             o->relay_url[ul - 1] == '/' ? "" : "/");
    snprintf(u->beat_url, sizeof u->beat_url, "%s%skiosk/heartbeat", o->relay_url,
             o->relay_url[ul - 1] == '/' ? "" : "/");
    memcpy(u->sk, o->device_sk, sizeof u->sk);
    sodium_bin2base64(u->key_b64, sizeof u->key_b64, u->sk + 32, 32,
                      sodium_base64_VARIANT_ORIGINAL);
    copy_opt(u->pin, sizeof u->pin, o->pin);
    copy_opt(u->ca_file, sizeof u->ca_file, o->ca_file);
    u->connect_timeout_s = o->connect_timeout_s > 0 ? o->connect_timeout_s : 30;
    u->low_speed_bytes = o->low_speed_bytes > 0 ? o->low_speed_bytes : 32;
    u->low_speed_seconds = o->low_speed_seconds > 0 ? o->low_speed_seconds : 60;
    u->chunks_per_patch = o->chunks_per_patch ? o->chunks_per_patch : 8;
    u->require_verified = o->require_verified;
    u->tls_only = kind == UPLOADER_URL_TLS;
    u->abort_flag = o->abort_flag;
    u->log = o->log;
    u->log_ctx = o->log_ctx;
    /* Room for the header or trailer riding along with a PATCH's chunks. */
    u->bufcap = (size_t)u->chunks_per_patch * ENVELOPE_CHUNK_CIPHER + ENVELOPE_HEADER_BYTES +
                ENVELOPE_TRAILER_BYTES;
    u->buf = malloc(u->bufcap);
    if (!u->buf) {
        uploader_free(u);
        return say(err, errlen, UPLOADER_E_NOMEM, "out of memory");
    }
    *out = u;
    return 0;
}

void uploader_free(struct uploader *u)
{
    if (!u)
        return;
    if (u->h)
        curl_easy_cleanup(u->h);
    free(u->buf);
    free(u->fails);
    sodium_memzero(u, sizeof *u);
    free(u);
}

int64_t uploader_relay_time(const struct uploader *u)
{
    return now_s() + (u ? u->clock_offset : 0);
}

int64_t uploader_clock_offset(const struct uploader *u)
{
    return u ? u->clock_offset : 0;
}

uint64_t uploader_backoff_ms(uint64_t base_ms, uint64_t cap_ms, unsigned attempt, uint32_t rnd)
{
    uint64_t ceil = base_ms;
    for (unsigned i = 0; i < attempt && ceil < cap_ms; i++)
        ceil = ceil > UINT64_MAX / 2 ? UINT64_MAX : ceil * 2;
    if (ceil > cap_ms)
        ceil = cap_ms;
    /* rnd / 2^32 scaled onto [0, ceil]: no modulo bias worth the name at
     * these magnitudes, and the test can pick the end points. */
    return (uint64_t)(((unsigned __int128)ceil * rnd) / UINT32_MAX);
}

/* ---- one request ---- */

static size_t on_body(char *data, size_t size, size_t n, void *ctx)
{
    struct resp *r = ctx;
    size_t len = size * n, room = sizeof r->body - 1 - r->body_len;
    memcpy(r->body + r->body_len, data, len < room ? len : room);
    r->body_len += len < room ? len : room;
    r->body[r->body_len] = 0;
    return len;
}

/* The error answer as one printable line (it is the relay's text, never a tip's). */
static const char *body_line(struct resp *r)
{
    for (size_t i = 0; i < r->body_len; i++) {
        unsigned char c = (unsigned char)r->body[i];
        if (c < 0x20 || c == 0x7f)
            r->body[i] = ' ';
    }
    while (r->body_len && r->body[r->body_len - 1] == ' ')
        r->body[--r->body_len] = 0;
    return r->body_len ? r->body : "(no reason given)";
}

static int header_u64(CURL *h, const char *name, uint64_t *out)
{
    struct curl_header *hd;
    if (curl_easy_header(h, name, 0, CURLH_HEADER, -1, &hd) != CURLHE_OK)
        return 0;
    const char *s = hd->value;
    if (*s < '0' || *s > '9')
        return 0;
    uint64_t v = 0;
    for (; *s >= '0' && *s <= '9'; s++) {
        if (v > (UINT64_MAX - 9) / 10)
            return 0;
        v = v * 10 + (uint64_t)(*s - '0');
    }
    if (*s)
        return 0;
    *out = v;
    return 1;
}

static const char *header_str(CURL *h, const char *name)
{
    struct curl_header *hd;
    if (curl_easy_header(h, name, 0, CURLH_HEADER, -1, &hd) != CURLHE_OK)
        return NULL;
    return hd->value;
}

/* A ts for this canonical text that no request signed before used with it. */
static int64_t fresh_ts(struct uploader *u, const char *method, const char *path, const char *off,
                        const char *len)
{
    int64_t now = uploader_relay_time(u), ts = now;
    /* A text signed with a ts before now can never be signed again: forget it. */
    unsigned k = 0;
    for (unsigned i = 0; i < u->nseen; i++)
        if (u->seen[i].ts >= now)
            u->seen[k++] = u->seen[i];
    u->nseen = k;
    for (;;) {
        char text[URL_CAP + 128];
        snprintf(text, sizeof text, "%s\n%s\n%" PRId64 "\n%s\n%s", method, path, ts, off, len);
        uint64_t hsh;
        crypto_generichash((uint8_t *)&hsh, sizeof hsh, (const uint8_t *)text, strlen(text), NULL,
                           0);
        int seen = 0;
        for (unsigned i = 0; i < u->nseen && !seen; i++)
            seen = u->seen[i].h == hsh;
        if (!seen) {
            if (u->nseen == SIG_SLOTS) { /* > 1000 requests a second: not on a kiosk's link */
                memmove(u->seen, u->seen + 1, (SIG_SLOTS - 1) * sizeof u->seen[0]);
                u->nseen--;
            }
            u->seen[u->nseen].h = hsh;
            u->seen[u->nseen].ts = ts;
            u->nseen++;
            return ts;
        }
        ts++; /* a second ahead is well inside the relay's skew window */
    }
}

/*
 * Homthu-Pieces: a digest of each piece of the envelope (header, chunk,
 * trailer) in a PATCH body read from the queue at `off` of an envelope of
 * `total` bytes, base64, into out ("" when the body does not begin and end
 * on pieces' edges). Signed with the request, it lets the relay keep every
 * piece that came as sent and drop the first that did not (460).
 */
static void piece_digests(const uint8_t *body, size_t n, uint64_t off, uint64_t total, char *out,
                          size_t cap)
{
    uint8_t d[PIECES_MAX][PIECE_DIGEST_BYTES];
    unsigned k = 0;
    out[0] = 0;
    if (!envelope_piece_edge(off, total) || n > total - off)
        return;
    for (uint64_t pos = off; pos < off + n; k++) {
        uint64_t end = envelope_piece_end(pos, total);
        if (k == PIECES_MAX || end > off + n)
            return;
        crypto_generichash(d[k], PIECE_DIGEST_BYTES, body + (pos - off), (size_t)(end - pos), NULL,
                           0);
        pos = end;
    }
    sodium_bin2base64(out, cap, (const uint8_t *)d, (size_t)k * PIECE_DIGEST_BYTES,
                      sodium_base64_VARIANT_ORIGINAL);
}

/* Authorization: Homthu-Device ... for one request (docs/relay-protocol.md). */
static int auth_header(struct uploader *u, const char *method, const char *path, int64_t off,
                       int64_t len, const char *checksum, char *out, size_t cap)
{
    char offs[24] = "-", lens[24] = "-";
    if (off >= 0)
        snprintf(offs, sizeof offs, "%" PRId64, off);
    if (len >= 0)
        snprintf(lens, sizeof lens, "%" PRId64, len);
    int64_t ts = fresh_ts(u, method, path, offs, lens);
    char text[URL_CAP + 2048];
    /* Version 2 signs the pieces' digests too: the relay keeps no byte that is not ours. */
    int n = checksum ? snprintf(text, sizeof text,
                                "homthu-relay-v2\n%s\n%s\n%" PRId64 "\n%s\n%s\n%s\n", method,
                                path, ts, offs, lens, checksum)
                     : snprintf(text, sizeof text, "homthu-relay-v1\n%s\n%s\n%" PRId64 "\n%s\n%s\n",
                                method, path, ts, offs, lens);
    if (n < 0 || (size_t)n >= sizeof text)
        return -1;
    uint8_t sig[crypto_sign_BYTES];
    crypto_sign_detached(sig, NULL, (const uint8_t *)text, (unsigned long long)n, u->sk);
    char sig_b64[sodium_base64_ENCODED_LEN(crypto_sign_BYTES, sodium_base64_VARIANT_ORIGINAL)];
    sodium_bin2base64(sig_b64, sizeof sig_b64, sig, sizeof sig, sodium_base64_VARIANT_ORIGINAL);
    n = snprintf(out, cap,
                 "Authorization: Homthu-Device key=\"%s\", ts=\"%" PRId64 "\", sig=\"%s\"",
                 u->key_b64, ts, sig_b64);
    return n < 0 || (size_t)n >= cap ? -1 : 0;
}

/* The path part of an absolute URL, as the relay sees it in the request line. */
static int url_path(const char *url, char *out, size_t cap)
{
    CURLU *cu = curl_url();
    char *p = NULL;
    int rc = -1;
    if (cu && curl_url_set(cu, CURLUPART_URL, url, 0) == CURLUE_OK &&
        curl_url_get(cu, CURLUPART_PATH, &p, 0) == CURLUE_OK) {
        rc = snprintf(out, cap, "%s", p) < (int)cap ? 0 : -1;
    }
    curl_free(p);
    curl_url_cleanup(cu);
    return rc;
}

/* Resolve a Location (absolute or relative) against the files URL. */
static int resolve_location(const char *base, const char *loc, char *out, size_t cap)
{
    CURLU *cu = curl_url();
    char *full = NULL;
    int rc = -1;
    if (cu && curl_url_set(cu, CURLUPART_URL, base, 0) == CURLUE_OK &&
        curl_url_set(cu, CURLUPART_URL, loc, 0) == CURLUE_OK &&
        curl_url_get(cu, CURLUPART_URL, &full, 0) == CURLUE_OK)
        rc = snprintf(out, cap, "%s", full) < (int)cap ? 0 : -1;
    curl_free(full);
    curl_url_cleanup(cu);
    return rc;
}

/*
 * Mark envelope offsets [lo, hi) of the tip in hand as handed to the
 * connection; returns how many of them had been before (re-sent).
 */
static uint64_t mark_sent(struct uploader *u, uint64_t lo, uint64_t hi)
{
    uint64_t before = 0, nlo = lo, nhi = hi;
    unsigned k = 0;
    for (unsigned i = 0; i < u->nspans; i++) {
        uint64_t a = u->spans[i].lo, b = u->spans[i].hi;
        if (b < lo || a > hi) {
            u->spans[k++] = u->spans[i];
            continue;
        }
        uint64_t ol = a > lo ? a : lo, oh = b < hi ? b : hi;
        if (oh > ol)
            before += oh - ol;
        nlo = a < nlo ? a : nlo;
        nhi = b > nhi ? b : nhi;
    }
    if (k == SPANS) {
        /* Never on a real run (it takes 64 separate restarts inside one
         * tip); merging errs towards counting a byte as re-sent. */
        k--;
        nlo = u->spans[k].lo < nlo ? u->spans[k].lo : nlo;
        nhi = u->spans[k].hi > nhi ? u->spans[k].hi : nhi;
    }
    u->spans[k].lo = nlo;
    u->spans[k].hi = nhi;
    u->nspans = k + 1;
    return before;
}

/*
 * libcurl's debug callback: HEADER_OUT and DATA_OUT are exactly the bytes
 * it handed to the connection (after each write, with what the write
 * took), whatever happens to the connection afterwards. The headers end at
 * the first blank line; what follows is the body. A header block after
 * body bytes is libcurl sending the request again on a fresh connection.
 */
static int on_debug(CURL *h, curl_infotype type, char *data, size_t size, void *ctx)
{
    struct resp *r = ctx;
    (void)h;
    if (type != CURLINFO_HEADER_OUT && type != CURLINFO_DATA_OUT)
        return 0;
    if (type == CURLINFO_HEADER_OUT && r->eoh == 4) {
        r->eoh = 0;
        r->body_pos = 0;
    }
    if (r->rep)
        r->rep->bytes_sent += size;
    size_t i = 0;
    while (i < size && r->eoh < 4) {
        char c = data[i++];
        r->eoh = c == "\r\n\r\n"[r->eoh] ? r->eoh + 1 : c == '\r' ? 1 : 0;
    }
    size_t n = size - i;
    if (n && r->body_base >= 0 && r->u) {
        uint64_t lo = (uint64_t)r->body_base + r->body_pos;
        uint64_t again = mark_sent(r->u, lo, lo + n);
        if (r->rep) {
            r->rep->body_sent += n;
            r->rep->bytes_resent += again;
        }
    }
    r->body_pos += n;
    return 0;
}

static size_t on_read(char *dst, size_t size, size_t n, void *ctx)
{
    struct resp *r = ctx;
    size_t want = size * n, left = r->out_len - r->pos;
    if (want > left)
        want = left;
    memcpy(dst, r->out + r->pos, want);
    r->pos += want;
    return want;
}

/*
 * libcurl rewinds the body to send a request again by itself on a fresh
 * connection when a reused one turns out dead. For a PATCH that is the
 * wrong move: the relay kept what arrived, so the old offset is stale and
 * the whole body would go out again only to meet a 409. Refusing the
 * rewind makes the request fail instead; the next step asks the server's
 * offset (HEAD) and sends only what is missing.
 */
static int on_seek(void *ctx, curl_off_t offset, int origin)
{
    struct resp *r = ctx;
    if (r->pos > 0 || origin != SEEK_SET || offset < 0 || (uint64_t)offset > r->out_len)
        return CURL_SEEKFUNC_CANTSEEK;
    r->pos = (size_t)offset;
    return CURL_SEEKFUNC_OK;
}

static void tick(struct uploader *u)
{
    struct uploader_news n = {u->phase, u->phase == UPLOADER_FAILING ? u->error : 0, u->doing};
    if (u->tick)
        u->tick(u->tick_ctx, &n);
}

static void set_doing(struct uploader *u, int phase, int error, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void set_doing(struct uploader *u, int phase, int error, const char *fmt, ...)
{
    u->phase = phase;
    u->error = error;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(u->doing, sizeof u->doing, fmt, ap);
    va_end(ap);
    tick(u);
}

/* libcurl calls this often while data moves and about once a second when
 * it does not: the loop is alive as long as curl is (its own timeouts end
 * a dead transfer). */
static int on_progress(void *ctx, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                       curl_off_t ulnow)
{
    (void)dltotal, (void)dlnow, (void)ultotal, (void)ulnow;
    struct uploader *u = ctx;
    tick(u);
    return u->abort_flag && *u->abort_flag ? 1 : 0; /* 1: libcurl aborts the transfer */
}

static void common_opts(struct uploader *u, struct resp *r)
{
    CURL *h = u->h;
    curl_easy_reset(h); /* keeps the connection cache: keep-alive survives */
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, r->curl_err);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, u->connect_timeout_s);
    curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, u->low_speed_bytes);
    curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, u->low_speed_seconds);
    curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
    /* An https relay is spoken to over https only: a Location (or anything
     * else) pointing at http:// cannot take the kiosk off TLS. */
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, u->tls_only ? "https" : "http,https");
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
    if (u->pin[0])
        curl_easy_setopt(h, CURLOPT_PINNEDPUBLICKEY, u->pin);
    if (u->ca_file[0])
        curl_easy_setopt(h, CURLOPT_CAINFO, u->ca_file);
    /* The debug callback is called only in verbose mode; it prints nothing. */
    curl_easy_setopt(h, CURLOPT_VERBOSE, 1L);
    curl_easy_setopt(h, CURLOPT_DEBUGFUNCTION, on_debug);
    curl_easy_setopt(h, CURLOPT_DEBUGDATA, r);
    if (u->tick || u->abort_flag) {
        curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, on_progress);
        curl_easy_setopt(h, CURLOPT_XFERINFODATA, u);
        curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
    }
}

/* Did the failure happen before any connection: the relay is unreachable. */
static int is_offline(const struct resp *r)
{
    if (r->cc == CURLE_COULDNT_RESOLVE_HOST || r->cc == CURLE_COULDNT_CONNECT ||
        r->cc == CURLE_COULDNT_RESOLVE_PROXY)
        return 1;
    /* Code 28 is both the connect timeout and the low-speed limit: a
     * stalled transfer on a live connection is not "offline". */
    return r->cc == CURLE_OPERATION_TIMEDOUT && !r->connected && !strstr(r->curl_err, "too slow");
}

static int curl_fail(struct uploader *u, const struct resp *r, const char *what, char *err,
                     size_t errlen)
{
    const char *why = r->curl_err[0] ? r->curl_err : curl_easy_strerror(r->cc);
    (void)u;
    if (r->cc == CURLE_SSL_PINNEDPUBKEYNOTMATCH)
        return say(err, errlen, UPLOADER_E_PIN,
                   "the relay's TLS key does not match relay_pin: nothing was sent. Check "
                   "relay_pin in kiosk.conf against the relay's key (docs/uploader.md)");
    if (r->cc == CURLE_PEER_FAILED_VERIFICATION || r->cc == CURLE_SSL_CONNECT_ERROR ||
        r->cc == CURLE_SSL_CACERT_BADFILE || r->cc == CURLE_SSL_CERTPROBLEM)
        return say(err, errlen, UPLOADER_E_TLS,
                   "TLS with the relay failed (%s): nothing was sent. Check relay_url, "
                   "relay_ca_file and the kiosk's clock",
                   why);
    if (is_offline(r))
        return say(err, errlen, UPLOADER_E_OFFLINE, "cannot reach the relay (%s)", why);
    return say(err, errlen, UPLOADER_E_NET, "%s cut short: %s", what, why);
}

/*
 * One signed request. `off`/`len` go into Upload-Offset/Upload-Length
 * (and the signature) when >= 0; `pieces`, a PATCH's Homthu-Pieces, into
 * its header and the signature (version 2) when not NULL. On a 401 with
 * Homthu-Time the clock offset is adopted and the request made once more.
 */
static void request(struct uploader *u, const char *method, const char *url, int64_t off,
                    int64_t len, const char *metadata, const char *pieces, const uint8_t *body,
                    size_t body_len, struct resp *r, struct uploader_report *rep)
{
    char path[URL_CAP];
    if (url_path(url, path, sizeof path)) {
        memset(r, 0, sizeof *r);
        r->cc = CURLE_URL_MALFORMAT;
        return;
    }
    for (int round = 0; round < 2; round++) {
        memset(r, 0, sizeof *r);
        r->retry_after = -1;
        r->u = u;
        r->rep = rep;
        r->body_base = strcmp(method, "PATCH") == 0 ? off : -1;
        common_opts(u, r);
        CURL *h = u->h;
        struct curl_slist *hdrs = NULL;
        char line[URL_CAP + 2048];
        if (auth_header(u, method, path, off, len, pieces, line, sizeof line) == 0)
            hdrs = curl_slist_append(hdrs, line);
        if (pieces) {
            snprintf(line, sizeof line, "Homthu-Pieces: %s", pieces);
            hdrs = curl_slist_append(hdrs, line);
        }
        hdrs = curl_slist_append(hdrs, "Tus-Resumable: 1.0.0");
        hdrs = curl_slist_append(hdrs, "Expect:"); /* no 100-continue round trip */
        if (off >= 0) {
            snprintf(line, sizeof line, "Upload-Offset: %" PRId64, off);
            hdrs = curl_slist_append(hdrs, line);
        }
        if (len >= 0) {
            snprintf(line, sizeof line, "Upload-Length: %" PRId64, len);
            hdrs = curl_slist_append(hdrs, line);
        }
        if (metadata) {
            snprintf(line, sizeof line, "Upload-Metadata: %s", metadata);
            hdrs = curl_slist_append(hdrs, line);
        }
        curl_easy_setopt(h, CURLOPT_URL, url);
        curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
        curl_easy_setopt(h, CURLOPT_WRITEDATA, r);
        if (strcmp(method, "HEAD") == 0) {
            curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
        } else if (strcmp(method, "GET") != 0) {
            if (strcmp(method, "PATCH") == 0)
                hdrs = curl_slist_append(hdrs, "Content-Type: application/offset+octet-stream");
            else
                hdrs = curl_slist_append(hdrs, "Content-Type:"); /* no form type on POST */
            r->out = body;
            r->out_len = body ? body_len : 0;
            curl_easy_setopt(h, CURLOPT_POST, 1L);
            curl_easy_setopt(h, CURLOPT_READFUNCTION, on_read);
            curl_easy_setopt(h, CURLOPT_READDATA, r);
            curl_easy_setopt(h, CURLOPT_SEEKFUNCTION, on_seek);
            curl_easy_setopt(h, CURLOPT_SEEKDATA, r);
            curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)r->out_len);
            if (strcmp(method, "POST") != 0)
                curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
        }
        curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
        r->cc = curl_easy_perform(h);
        curl_slist_free_all(hdrs);
        curl_easy_setopt(h, CURLOPT_HTTPHEADER, NULL);
        if (rep)
            rep->requests++;

        curl_off_t connect_us = 0;
        curl_easy_getinfo(h, CURLINFO_CONNECT_TIME_T, &connect_us);
        r->connected = connect_us > 0 || r->pos > 0;
        if (r->cc != CURLE_OK) {
            if (rep)
                rep->cuts++;
            return;
        }
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &r->status);
        r->has_offset = header_u64(h, "Upload-Offset", &r->offset);
        r->has_length = header_u64(h, "Upload-Length", &r->length);
        uint64_t t;
        if (header_u64(h, "Homthu-Time", &t) && t < (uint64_t)INT64_MAX) {
            r->has_time = 1;
            r->relay_time = (int64_t)t;
        }
        uint64_t ra;
        if (header_u64(h, "Retry-After", &ra) && ra < 86400)
            r->retry_after = (long)ra;
        const char *v = header_str(h, "Homthu-Verified");
        r->verified = v && strcasecmp(v, "yes") == 0;
        const char *rj = header_str(h, "Homthu-Rejected");
        r->rejected = rj != NULL;
        if (rj)
            snprintf(r->rejected_why, sizeof r->rejected_why, "%s", rj);
        const char *loc = header_str(h, "Location");
        if (loc)
            snprintf(r->location, sizeof r->location, "%s", loc);

        if (r->status == 401 && round == 0) {
            /*
             * Sign afresh and try once more: either our clock is off (the
             * relay says its time; the kiosk has no RTC), or libcurl re-sent
             * this request by itself on a fresh connection after a cut,
             * with the same signature, which the relay rightly calls a
             * replay. A second 401 is a real refusal.
             */
            if (r->has_time) {
                int64_t was = u->clock_offset;
                u->clock_offset = r->relay_time - now_s();
                if (u->clock_offset != was)
                    logf_(u,
                          "the relay's clock is %+" PRId64 " s from ours: using the relay's time",
                          u->clock_offset);
            }
            continue;
        }
        return;
    }
}

/* A non-2xx answer the caller did not handle itself, as an error code. */
static int status_fail(struct uploader *u, struct resp *r, const char *what, char *err,
                       size_t errlen)
{
    (void)u;
    long s = r->status;
    if (s == 403)
        return say(err, errlen, UPLOADER_E_DEVICE,
                   "the relay refuses this kiosk (403 %s): enrol it at the post "
                   "(homthu-provision kiosk-new) or check it is not revoked; tips stay queued",
                   body_line(r));
    if (s == 400 || s == 401)
        return say(err, errlen, UPLOADER_E_AUTH,
                   "the relay refuses the kiosk's signature on %s (%ld %s): check device.key "
                   "and the relay's clock",
                   what, s, body_line(r));
    if (s == 413 || s == 422)
        return say(err, errlen, UPLOADER_E_REFUSED, "the relay refuses this tip (%ld %s)", s,
                   body_line(r));
    if (s == 409)
        /* The upload as the relay holds it conflicts with ours (another
         * length, another kiosk's): nothing this attempt can mend, but it
         * concerns this tip only (uploader_run holds it back). */
        return say(err, errlen, UPLOADER_E_PROTOCOL,
                   "the relay refuses %s for this tip as it stands (409 %s); it stays queued",
                   what, body_line(r));
    if (s == 429 || s == 507 || s == 408 || s >= 500)
        return say(err, errlen, UPLOADER_E_NET, "the relay is busy or failing on %s (%ld %s)", what,
                   s, body_line(r));
    return say(err, errlen, UPLOADER_E_PROTOCOL,
               "unexpected answer %ld to %s: is relay_url a tus 1.0 server? (%s)", s, what,
               body_line(r));
}

/* The end of the PATCH that starts at `off`: chunk-aligned, `cpp` chunks on. */
static uint64_t patch_end(uint64_t off, uint64_t total, unsigned cpp)
{
    const uint64_t H = ENVELOPE_HEADER_BYTES, C = ENVELOPE_CHUNK_CIPHER;
    uint64_t chunk_end = total >= H + ENVELOPE_TRAILER_BYTES ? total - ENVELOPE_TRAILER_BYTES : H;
    uint64_t done = off < H ? 0 : (off - H) / C; /* whole chunks before off */
    uint64_t end = H + (done + cpp) * C;
    /* The 76-byte trailer rides with the last chunk rather than alone. */
    if (end >= chunk_end || off >= chunk_end)
        end = total;
    return end;
}

static struct failure *find_failure(const struct uploader *u, const uint8_t id[16]);

/*
 * Tip `id` comes into hand: the spans of the one before go with its
 * failure record (a tip held back comes back later, and what it sent
 * before still counts as sent), and `id`'s own come back from its record.
 * A delivered tip has no record any more: its spans are simply dropped.
 */
static void switch_spans(struct uploader *u, const uint8_t id[16])
{
    struct failure *was = find_failure(u, u->sent_id), *now = find_failure(u, id);
    if (was) {
        memcpy(was->spans, u->spans, sizeof u->spans);
        was->nspans = u->nspans;
    }
    memcpy(u->sent_id, id, 16);
    u->nspans = 0;
    if (now) {
        memcpy(u->spans, now->spans, sizeof u->spans);
        u->nspans = now->nspans;
    }
}

/*
 * The relay refused the envelope it got at completion (422): one more of
 * *refusals. The kiosk's copy was sealed here and is read from the queue,
 * so what the relay got is not it (a byte changed in transit: the request
 * signature covers no body); the relay starts a refused upload afresh on
 * its owner's new POST, so send it whole again. 0 to go on (the upload is
 * forgotten and created anew; the bytes sent again count as re-sent, as
 * their offsets were sent before), 1 after MAX_REFUSALS: the relay refuses
 * this tip itself, which is set aside.
 */
static int refused_again(struct uploader *u, const char *sid, unsigned *refusals,
                         const char *why)
{
    if (++*refusals >= MAX_REFUSALS)
        return 1;
    logf_(u,
          "tip %s: the relay refused the envelope it got (%s): sending it whole again "
          "(%u of %d)",
          sid, why, *refusals + 1, MAX_REFUSALS);
    u->have_loc = 0;
    return 0;
}

int uploader_send_tip(struct uploader *u, struct queue *q, const struct queue_tip *t,
                      struct uploader_report *rep, char *err, size_t errlen)
{
    if (!u || !q || !t)
        return say(err, errlen, UPLOADER_E_ARG, "uploader_send_tip: missing argument");
    if (t->state != QUEUE_SEALED && t->state != QUEUE_UPLOADING)
        return say(err, errlen, UPLOADER_E_ARG, "tip is %s, not waiting to be sent",
                   queue_state_name(t->state));
    struct uploader_report dummy;
    if (!rep) {
        memset(&dummy, 0, sizeof dummy);
        rep = &dummy;
    }
    u->retry_after = 0;
    char sid[9], qerr[256];
    short_id(t->id, sid);
    const uint64_t total = t->bytes;
    if (u->have_loc && memcmp(u->loc_id, t->id, 16) != 0)
        u->have_loc = 0;
    if (memcmp(u->sent_id, t->id, 16) != 0)
        switch_spans(u, t->id);

    struct resp *r = malloc(sizeof *r);
    if (!r)
        return say(err, errlen, UPLOADER_E_NOMEM, "out of memory");
    int rc = 0, recreated = 0, conflicts = 0, mismatches = 0;
    unsigned refusals = 0; /* 422s at completion in this attempt (see refused_again) */
    int need_head = u->have_loc; /* after any cut, ask where the server is */
    int head_confirmed = 0;      /* the last offset came from a HEAD */
    uint64_t off = 0;
    int verified = 0;

    for (int step = 0; step < MAX_STEPS; step++) {
        if (!u->have_loc) {
            if (recreated++ - (int)refusals > MAX_RECREATE) {
                rc = say(err, errlen, UPLOADER_E_PROTOCOL,
                         "the server forgets tip %s's upload as soon as it is made", sid);
                goto out;
            }
            /*
             * tus metadata values are base64 of text: the tip id goes as its
             * 32 hex digits, so any tus server stores a readable id.
             */
            char hex[33], b64[sodium_base64_ENCODED_LEN(32, sodium_base64_VARIANT_ORIGINAL)];
            sodium_bin2hex(hex, sizeof hex, t->id, 16);
            sodium_bin2base64(b64, sizeof b64, (const unsigned char *)hex, 32,
                              sodium_base64_VARIANT_ORIGINAL);
            char meta[80];
            snprintf(meta, sizeof meta, "tipid %s", b64);
            request(u, "POST", u->files_url, -1, (int64_t)total, meta, NULL, NULL, 0, r, rep);
            if (r->cc != CURLE_OK) {
                rc = curl_fail(u, r, "creating the upload", err, errlen);
                goto out;
            }
            if (r->status != 201 && r->status != 200) {
                rc = status_fail(u, r, "creating the upload", err, errlen);
                goto out;
            }
            if (!r->location[0] ||
                resolve_location(u->files_url, r->location, u->loc, sizeof u->loc)) {
                rc = say(err, errlen, UPLOADER_E_PROTOCOL,
                         "the server created an upload but gave no usable Location");
                goto out;
            }
            if (u->tls_only && strncasecmp(u->loc, "https://", 8) != 0) {
                rc = say(err, errlen, UPLOADER_E_PROTOCOL,
                         "the relay put tip %s's upload at a Location without TLS (%.100s): "
                         "not sent",
                         sid, u->loc);
                goto out;
            }
            rep->created++;
            if (r->rejected) {
                /* A relay that keeps a refused upload rather than start it
                 * afresh (docs/relay-protocol.md): nothing more to try. */
                u->have_loc = 0;
                rc = say(err, errlen, UPLOADER_E_REFUSED,
                         "the relay refuses this tip and will not take it again (%s)",
                         r->rejected_why);
                goto out;
            }
            u->have_loc = 1;
            memcpy(u->loc_id, t->id, 16);
            if (r->has_offset) {
                off = r->offset;
                head_confirmed = 0;
                need_head = 0;
            } else {
                need_head = 1;
            }
            continue;
        }
        if (need_head) {
            request(u, "HEAD", u->loc, -1, -1, NULL, NULL, NULL, 0, r, rep);
            if (r->cc != CURLE_OK) {
                rc = curl_fail(u, r, "asking the upload's offset", err, errlen);
                goto out;
            }
            if (r->status == 404 || r->status == 410) {
                logf_(u, "tip %s: the relay no longer has its upload (%ld): creating it again", sid,
                      r->status);
                u->have_loc = 0;
                continue;
            }
            if (r->status != 200 && r->status != 204) {
                rc = status_fail(u, r, "asking the upload's offset", err, errlen);
                goto out;
            }
            if (!r->has_offset || (r->has_length && r->length != total)) {
                rc = say(err, errlen, UPLOADER_E_PROTOCOL,
                         "the server's upload of tip %s has %s (we have %" PRIu64 " bytes)", sid,
                         r->has_offset ? "another length" : "no Upload-Offset", total);
                goto out;
            }
            off = r->offset;
            verified = r->verified;
            head_confirmed = 1;
            need_head = 0;
            if (r->rejected && !verified) {
                /* The answer to the completing PATCH was lost: the relay
                 * refused what it got (Homthu-Rejected). */
                if (refused_again(u, sid, &refusals, r->rejected_why)) {
                    rc = say(err, errlen, UPLOADER_E_REFUSED,
                             "the relay refused tip %s %u times (%s)", sid, refusals,
                             r->rejected_why);
                    goto out;
                }
                continue;
            }
        }
        if (off > total) {
            rc = say(err, errlen, UPLOADER_E_PROTOCOL,
                     "the server holds %" PRIu64 " bytes of tip %s, more than its %" PRIu64, off,
                     sid, total);
            goto out;
        }
        if (verified) {
            rc = 0;
            goto out;
        }
        if (off == total) {
            if (!head_confirmed) {
                need_head = 1; /* a PATCH said complete: HEAD is the word we trust */
                continue;
            }
            if (!u->require_verified) {
                rc = 0;
                goto out;
            }
            rc = say(err, errlen, UPLOADER_E_UNVERIFIED,
                     "not verified by the server: it holds all %" PRIu64 " bytes of tip %s but "
                     "never said Homthu-Verified: yes (a plain tus server never does; the tip "
                     "stays queued, docs/uploader.md)",
                     total, sid);
            goto out;
        }

        uint64_t end = patch_end(off, total, u->chunks_per_patch);
        size_t n = (size_t)(end - off), got = 0;
        if (n > u->bufcap)
            n = u->bufcap;
        if (queue_read(q, t->id, off, u->buf, n, &got, qerr, sizeof qerr) || got != n) {
            rc = say(err, errlen, UPLOADER_E_QUEUE, "cannot read tip %s from the queue: %s", sid,
                     qerr);
            goto out;
        }
        char pieces[PIECES_B64];
        piece_digests(u->buf, n, off, total, pieces, sizeof pieces);
        request(u, "PATCH", u->loc, (int64_t)off, -1, NULL, pieces[0] ? pieces : NULL, u->buf, n,
                r, rep);
        if (r->cc != CURLE_OK) {
            rc = curl_fail(u, r, "sending", err, errlen);
            goto out;
        }
        if (r->status == 404 || r->status == 410) {
            logf_(u, "tip %s: the relay no longer has its upload (%ld): creating it again", sid,
                  r->status);
            u->have_loc = 0;
            continue;
        }
        if (r->status == 409) {
            if (++conflicts > MAX_CONFLICTS) {
                rc = say(err, errlen, UPLOADER_E_PROTOCOL,
                         "the server keeps refusing tip %s's offset (409)", sid);
                goto out;
            }
            need_head = 1;
            continue;
        }
        if (r->status == 460) {
            /* The relay got other bytes than these and kept none: send them again. */
            if (++mismatches >= MAX_MISMATCHES) {
                rc = say(err, errlen, UPLOADER_E_NET,
                         "the link changed tip %s's bytes on the way %d times in a row (460): "
                         "it stays queued",
                         sid, mismatches);
                goto out;
            }
            logf_(u, "tip %s: the relay got other bytes than sent from %" PRIu64 " (460): "
                  "sending them again",
                  sid, off);
            need_head = 1; /* it kept the pieces that came as sent */
            continue;
        }
        if (r->status == 422) {
            if (refused_again(u, sid, &refusals, body_line(r))) {
                rc = status_fail(u, r, "sending", err, errlen);
                goto out;
            }
            continue;
        }
        if (r->status != 204 && r->status != 200) {
            rc = status_fail(u, r, "sending", err, errlen);
            goto out;
        }
        conflicts = mismatches = 0;
        if (!r->has_offset || r->offset <= off || r->offset > total) {
            /* Without a sane new offset we cannot know what it kept: ask. */
            need_head = 1;
            continue;
        }
        off = r->offset;
        verified = r->verified;
        head_confirmed = 0;
        if (!verified && queue_set_uploading(q, t->id, off, qerr, sizeof qerr) != 0) {
            rc = say(err, errlen, UPLOADER_E_QUEUE, "cannot record tip %s's progress: %s", sid,
                     qerr);
            goto out;
        }
    }
    rc = say(err, errlen, UPLOADER_E_PROTOCOL, "tip %s: too many requests in one attempt", sid);
out:
    if (rc == UPLOADER_E_NET && r->retry_after > 0)
        u->retry_after = (uint64_t)r->retry_after;
    free(r);
    return rc;
}

int uploader_probe(struct uploader *u, char *err, size_t errlen)
{
    if (!u)
        return UPLOADER_E_ARG;
    struct resp *r = calloc(1, sizeof *r);
    if (!r)
        return say(err, errlen, UPLOADER_E_NOMEM, "out of memory");
    r->body_base = -1;
    common_opts(u, r);
    /* A connect (and the TLS handshake with the pin) only: when the link
     * is down this costs a few SYNs, when it is up it ends the backoff. */
    curl_easy_setopt(u->h, CURLOPT_URL, u->files_url);
    curl_easy_setopt(u->h, CURLOPT_CONNECT_ONLY, 1L);
    long ct = u->connect_timeout_s < 10 ? u->connect_timeout_s : 10;
    curl_easy_setopt(u->h, CURLOPT_CONNECTTIMEOUT, ct);
    r->cc = curl_easy_perform(u->h);
    int rc = 0;
    if (r->cc != CURLE_OK) {
        r->connected = 0;
        rc = curl_fail(u, r, "probe", err, errlen);
        if (rc == UPLOADER_E_NET)
            rc = UPLOADER_E_OFFLINE;
    }
    /* A CONNECT_ONLY connection cannot carry requests: drop it. */
    curl_easy_cleanup(u->h);
    u->h = curl_easy_init();
    free(r);
    if (!u->h)
        return say(err, errlen, UPLOADER_E_NOMEM, "libcurl could not make a handle");
    return rc;
}

/* ---- the loop ---- */

static struct failure *find_failure(const struct uploader *u, const uint8_t id[16])
{
    for (size_t i = 0; i < u->nfails; i++)
        if (memcmp(u->fails[i].id, id, 16) == 0)
            return &u->fails[i];
    return NULL;
}

/* Keep tip `id`'s report (and its last failure, code != 0) across the loop's
 * turns. The record, valid until the next keep or drop; NULL out of memory. */
static struct failure *keep_failure(struct uploader *u, const uint8_t id[16], int code,
                                    const char *why, const struct uploader_report *rep)
{
    struct failure *f = find_failure(u, id);
    if (!f) {
        struct failure *grown = realloc(u->fails, (u->nfails + 1) * sizeof *grown);
        if (!grown)
            return NULL; /* the report loses one reason; the tip is never held back */
        u->fails = grown;
        f = &u->fails[u->nfails++];
        memset(f, 0, sizeof *f);
        memcpy(f->id, id, 16);
    }
    if (code) {
        f->code = code;
        snprintf(f->why, sizeof f->why, "%s", why);
    }
    f->rep = *rep;
    return f;
}

static void drop_failure(struct uploader *u, const uint8_t id[16])
{
    struct failure *f = find_failure(u, id);
    if (f)
        *f = u->fails[--u->nfails];
}

int uploader_last_failure(const struct uploader *u, const uint8_t id[16], char *why, size_t cap,
                          struct uploader_report *rep)
{
    const struct failure *f = u && id ? find_failure(u, id) : NULL;
    if (why && cap)
        snprintf(why, cap, "%s", f ? f->why : "");
    if (rep) {
        if (f)
            *rep = f->rep;
        else
            memset(rep, 0, sizeof *rep);
    }
    return f ? f->code : 0;
}

struct pick {
    const struct uploader *u;
    const uint8_t (*skip)[16];
    size_t nskip;
    uint64_t now;         /* mono_ms() */
    struct queue_tip tip; /* the oldest one due to send */
    int found;
    unsigned waiting;  /* all tips still to deliver, set-aside and held-back ones included */
    unsigned held;     /* of them, held back until their own time (uploader_run) */
    uint64_t next_due; /* the earliest time a held-back tip is due; UINT64_MAX: none */
};

static int pick_fn(void *ctx, const struct queue_tip *t)
{
    struct pick *p = ctx;
    if (t->state != QUEUE_SEALED && t->state != QUEUE_UPLOADING)
        return 0;
    p->waiting++;
    for (size_t i = 0; i < p->nskip; i++)
        if (memcmp(p->skip[i], t->id, 16) == 0)
            return 0;
    const struct failure *f = find_failure(p->u, t->id);
    if (f && f->not_before > p->now) {
        p->held++;
        if (f->not_before < p->next_due)
            p->next_due = f->not_before;
        return 0;
    }
    if (!p->found) {
        p->tip = *t;
        p->found = 1;
    }
    return 0;
}

static uint64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/*
 * Wait `ms`, or less: while `offline`, probe every probe_s seconds and on
 * every wake_fd event (rate-limited to one probe a second), and end the
 * wait when the relay answers. Returns 1 when it ended early.
 */
static int wait_backoff(struct uploader *u, const struct uploader_run_opts *o, uint64_t ms,
                        int offline, volatile sig_atomic_t *stop)
{
    uint64_t start = mono_ms(), deadline = start + ms;
    uint64_t next_probe = start + (uint64_t)o->probe_seconds * 1000, last_probe = 0;
    while (!*stop) {
        uint64_t now = mono_ms();
        if (now >= deadline)
            return 0;
        uint64_t until = deadline;
        if (offline && next_probe < until)
            until = next_probe;
        uint64_t slice = until > now ? until - now : 0;
        if (slice > 200)
            slice = 200; /* so a stop signal is seen soon even without EINTR */
        int woke = 0;
        tick(u);
        if (o->wake_fd > 0) {
            struct pollfd pfd = {.fd = o->wake_fd, .events = POLLIN};
            int pr = poll(&pfd, 1, (int)slice);
            if (pr > 0 && (pfd.revents & POLLIN)) {
                char drain[4096];
                while (read(o->wake_fd, drain, sizeof drain) > 0)
                    ;
                woke = 1;
            }
        } else {
            struct timespec ts = {.tv_sec = (time_t)(slice / 1000),
                                  .tv_nsec = (long)(slice % 1000) * 1000000};
            nanosleep(&ts, NULL);
        }
        now = mono_ms();
        if (!offline)
            continue;
        if ((woke && now - last_probe >= 1000) || now >= next_probe) {
            last_probe = now;
            next_probe = now + (uint64_t)o->probe_seconds * 1000;
            char perr[256];
            if (uploader_probe(u, perr, sizeof perr) == 0) {
                logf_(u, "the relay answers again%s: retrying now",
                      woke ? " (network changed)" : "");
                return 1;
            }
        }
    }
    return 0;
}

int uploader_run(struct uploader *u, struct queue *q, const struct uploader_run_opts *oin,
                 volatile sig_atomic_t *stop, struct uploader_totals *totals)
{
    if (!u || !q || !oin || !stop)
        return UPLOADER_E_ARG;
    struct uploader_run_opts o = *oin;
    if (!o.backoff_base_ms)
        o.backoff_base_ms = 2000;
    if (!o.backoff_cap_ms)
        o.backoff_cap_ms = 600000;
    if (o.backoff_cap_ms < o.backoff_base_ms)
        o.backoff_cap_ms = o.backoff_base_ms;
    if (!o.probe_seconds)
        o.probe_seconds = 5;
    if (!o.poll_ms)
        o.poll_ms = 2000;
    struct uploader_totals tot = {0};
    uint8_t(*skip)[16] = NULL;
    size_t nskip = 0;
    unsigned attempt = 0, failures_in_row = 0;
    int last_rc = 0, rc = 0, held_rc = 0;
    /* The report of the tip in hand, over all its attempts in this process
     * (kept with its failure when the loop moves to another tip). */
    uint8_t rep_id[16] = {0};
    struct uploader_report rep = {0};
    int have_rep = 0;
    u->tick = o.tick;
    u->tick_ctx = o.tick_ctx;

    while (!*stop) {
        struct pick p = {.u = u,
                         .skip = (const uint8_t(*)[16])skip,
                         .nskip = nskip,
                         .now = mono_ms(),
                         .next_due = UINT64_MAX};
        if (queue_foreach(q, pick_fn, &p) != 0) {
            logf_(u, "cannot read the queue: retrying");
            set_doing(u, UPLOADER_FAILING, UPLOADER_E_QUEUE, "cannot read the queue; %u delivered since start", tot.delivered);
            wait_backoff(u, &o, o.backoff_cap_ms, 0, stop);
            continue;
        }
        if (!p.found && p.held) {
            /* Only tips held back wait: until the first is due, looking for
             * new tips (a person may be leaving one now) every poll_ms. */
            uint64_t due = p.next_due > p.now ? p.next_due - p.now : 0;
            set_doing(u, UPLOADER_FAILING, held_rc,
                      "%u held back (%s), the next due within %" PRIu64 " s; %u delivered since start",
                      p.held, uploader_strerror(held_rc), (due + 999) / 1000, tot.delivered);
            wait_backoff(u, &o, due < o.poll_ms ? due : o.poll_ms, 0, stop);
            continue;
        }
        if (!p.found) {
            if (o.exit_when_empty)
                break;
            if (p.waiting)
                set_doing(u, UPLOADER_IDLE, 0, "%u set aside for the technician; %u delivered since start", p.waiting,
                          tot.delivered);
            else
                set_doing(u, UPLOADER_IDLE, 0, "nothing waiting; %u delivered since start", tot.delivered);
            wait_backoff(u, &o, o.poll_ms, 0, stop);
            continue;
        }
        char sid[9], err[512], qerr[256];
        short_id(p.tip.id, sid);
        if (p.held)
            set_doing(u, UPLOADER_SENDING, 0, "sending tip %s; %u waiting, %u held back", sid,
                      p.waiting, p.held);
        else
            set_doing(u, UPLOADER_SENDING, 0, "sending tip %s; %u waiting", sid, p.waiting);
        if (!have_rep || memcmp(rep_id, p.tip.id, 16) != 0) {
            memcpy(rep_id, p.tip.id, 16);
            have_rep = 1;
            uploader_last_failure(u, p.tip.id, NULL, 0, &rep);
        }
        const struct uploader_report rep0 = rep;
        uint64_t before = p.tip.upload_offset;
        tot.attempts++;
        int r = uploader_send_tip(u, q, &p.tip, &rep, err, sizeof err);
        tot.bytes_sent += rep.bytes_sent - rep0.bytes_sent;
        tot.body_sent += rep.body_sent - rep0.body_sent;
        tot.bytes_resent += rep.bytes_resent - rep0.bytes_resent;
        if (r == 0) {
            int purged = 0;
            if (queue_set_delivered(q, p.tip.id, uploader_relay_time(u), qerr, sizeof qerr) ||
                queue_purge_delivered(q, &purged, qerr, sizeof qerr)) {
                logf_(u, "tip %s delivered but the queue failed: %s", sid, qerr);
                snprintf(err, sizeof err, "delivered, but the queue could not record it: %s", qerr);
                r = UPLOADER_E_QUEUE;
            } else {
                tot.delivered++;
                drop_failure(u, p.tip.id);
                logf_(u,
                      "tip %s delivered: %" PRIu64 " bytes; %u requests, %" PRIu64
                      " bytes sent (headers included), %" PRIu64 " of envelope, %" PRIu64
                      " re-sent",
                      sid, p.tip.bytes, rep.requests, rep.bytes_sent, rep.body_sent,
                      rep.bytes_resent);
                attempt = 0;
                failures_in_row = 0;
                last_rc = 0;
                continue;
            }
        }
        const struct failure *prev = find_failure(u, p.tip.id);
        int prev_code = prev ? prev->code : 0;
        struct failure *f = keep_failure(u, p.tip.id, r, err, &rep);
        if (r == UPLOADER_E_REFUSED || r == UPLOADER_E_UNVERIFIED) {
            logf_(u,
                  "tip %s set aside (%s): %s; it stays in the queue for the technician (%u "
                  "requests, %" PRIu64 " bytes sent, %" PRIu64 " of envelope, %" PRIu64
                  " re-sent)",
                  sid, uploader_strerror(r), err, rep.requests, rep.bytes_sent, rep.body_sent,
                  rep.bytes_resent);
            uint8_t(*grown)[16] = realloc(skip, (nskip + 1) * sizeof *skip);
            if (grown) {
                skip = grown;
                memcpy(skip[nskip++], p.tip.id, 16);
            }
            tot.refused++;
            continue;
        }
        tot.failures++;
        failures_in_row++;
        /* Progress means the link works: start the backoff, and the count
         * of failures in a row, over. */
        struct queue_tip now_t;
        int moved = queue_get_tip(q, p.tip.id, &now_t) == 0 && now_t.upload_offset > before;
        if (moved) {
            attempt = 0;
            failures_in_row = 0;
        }
        /*
         * Is it this tip that fails? An answer about its own upload says so
         * at once; a network failure that keeps meeting it, and only it,
         * after UPLOADER_TIP_STRIKES tries. Then it waits for its own time
         * and the tips behind it go: like a deferred mail, it never blocks
         * the queue. A failure of the link, the relay or this kiosk holds
         * nothing back: no other tip could go either.
         */
        int hold = 0;
        if (f) {
            f->strikes = moved ? 0 : f->strikes + 1;
            if (moved)
                f->held = 0;
            hold = uploader_error_is_the_tips(r) ||
                   (r == UPLOADER_E_NET && f->strikes >= UPLOADER_TIP_STRIKES);
        }
        if (hold) {
            uint64_t own = uploader_backoff_ms(o.backoff_base_ms, o.backoff_cap_ms, f->held,
                                               o.jitter ? o.jitter() : randombytes_random());
            if (own < o.backoff_base_ms / 2)
                own = o.backoff_base_ms / 2; /* never straight back to the tip that just failed */
            if (!f->ever_held)
                tot.held++;
            f->ever_held = 1;
            if (f->held == 0 || r != prev_code)
                logf_(u,
                      "tip %s held back (%s): %s; it stays queued and is tried again within "
                      "%" PRIu64 " s, the tips behind it go on",
                      sid, uploader_strerror(r), err, (own + 999) / 1000);
            f->held++;
            f->not_before = mono_ms() + own;
            held_rc = r;
        } else if (r != last_rc) {
            /* Log a failure once per kind, not at every retry of a dead link. */
            logf_(u, "tip %s not delivered (%s): %s", sid, uploader_strerror(r), err);
        }
        last_rc = r;
        if (o.max_failures && failures_in_row >= o.max_failures) {
            rc = r;
            break;
        }
        if (hold)
            continue; /* the next tip due goes now: if it fails too, the link waits */
        uint64_t delay;
        if (r == UPLOADER_E_DEVICE || r == UPLOADER_E_PIN || r == UPLOADER_E_TLS ||
            r == UPLOADER_E_AUTH)
            /* Retrying soon cannot help: a person has to act. */
            delay = o.backoff_cap_ms;
        else
            delay = uploader_backoff_ms(o.backoff_base_ms, o.backoff_cap_ms, attempt++,
                                        o.jitter ? o.jitter() : randombytes_random());
        if (r == UPLOADER_E_NET && u->retry_after * 1000 > delay)
            delay = u->retry_after * 1000; /* 429 Retry-After: the relay asked */
        set_doing(u, UPLOADER_FAILING, r, "not delivered (%s): %u waiting; next try within %" PRIu64 " s",
                  uploader_strerror(r), p.waiting, (delay + 999) / 1000);
        wait_backoff(u, &o, delay, r == UPLOADER_E_OFFLINE, stop);
    }
    u->tick = NULL;
    free(skip);
    if (totals)
        *totals = tot;
    return rc;
}

/* ---- heartbeats ---- */

int uploader_send_heartbeat(struct uploader *u, const uint8_t *sealed, size_t len, char *err,
                            size_t errlen)
{
    if (!u || !sealed || len != HEARTBEAT_SEALED_BYTES)
        return say(err, errlen, UPLOADER_E_ARG, "a heartbeat is %d sealed bytes",
                   HEARTBEAT_SEALED_BYTES);
    struct resp r;
    request(u, "POST", u->beat_url, -1, -1, NULL, NULL, sealed, len, &r, NULL);
    if (r.cc != CURLE_OK)
        return curl_fail(u, &r, "heartbeat", err, errlen);
    if (r.status == 204 || r.status == 200)
        return 0;
    if (r.status == 404 || r.status == 405)
        return say(err, errlen, UPLOADER_E_PROTOCOL,
                   "the relay takes no heartbeats (%ld): is it older than this kiosk?", r.status);
    return status_fail(u, &r, "heartbeat", err, errlen);
}
