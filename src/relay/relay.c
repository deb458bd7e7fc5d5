/* relay — see relay.h, docs/relay-protocol.md (the contract) and docs/relay.md. */
#include "relay/relay.h"

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>
#include <sodium.h>

#include "core/config.h"
#include "core/errbuf.h"
#include "core/heartbeat.h"
#include "core/keys.h"
#include "core/registry.h"
#include "relay/store.h"

/*
 * Body bytes are held per request only until they make a whole envelope
 * chunk: each whole chunk goes to the writer thread at once, so a PATCH
 * cut off anywhere, or left hanging by a link that died without a word,
 * loses at most the chunk in flight. A request holds at most this much
 * that is not yet on disk (more waits for the disk): a typical tip
 * (about 100 KB) never waits.
 */
#define BODY_HELD_MAX (128 * 1024)
/*
 * Homthu-Pieces: a digest for each whole piece of the envelope a PATCH
 * carries (the header, each chunk, the trailer), signed with the request
 * (docs/relay-protocol.md). At most 64 chunks with the header and the
 * trailer, as the uploader sends at most.
 */
#define PIECE_DIGEST_BYTES 16
#define PIECES_MAX 66
#define MAX_REQUEST_HEADERS 64
#define MAX_REQUEST_ARGS 16
#define LIST_LIMIT_DEFAULT 100
#define LIST_LIMIT_MAX 1000
#define SMALL_BODY_MAX 1024 /* a heartbeat, an enrolment or a revocation */
#define SWEEP_EVERY_SECONDS 60
#define QUIET_SECONDS 10 /* a line an outsider can cause: at most one per this, per kind */
#define WATCHDOG_TICK_MS 250
#define REPLAY_TOTAL_DEFAULT (1u << 20) /* marks of all keys: 24 MiB */
/*
 * How long a newer request waits for a stale PATCH's worker to hand over
 * what had reached it (end_stale): milliseconds on a dead link; only a
 * PATCH still sending (not dead after all) takes it all.
 */
#define STALE_DRAIN_MS 3000

enum upload_state {
    ST_PARTIAL = STORE_PARTIAL,
    ST_COMPLETE = STORE_COMPLETE,
    ST_CUT_SHORT = STORE_CUT_SHORT,
    ST_REJECTED = STORE_REJECTED,
};

/* One signed request the relay remembers: its digest and the ts it was signed with. */
struct mark {
    uint8_t h[16];
    int64_t ts;
};

/*
 * What the relay keeps about one enrolled kiosk key (made at its first
 * genuine request): its request rate and its replay memory. The memory is
 * a ring in the order remembered, at most replay_per_device marks: a key
 * cannot crowd out any other, whatever it sends.
 */
struct dev {
    uint8_t key[32];
    int64_t window; /* minute number */
    int count;      /* fresh requests in that minute */
    int64_t rwindow;
    int rcount;     /* repeated HEADs in that minute: a budget of their own */
    struct mark *m;
    size_t cap, head, n;
    /*
     * Marks are forgotten only when the key's ring (or the whole memory)
     * is full: a request of this key dated at or before the latest
     * forgotten one may be a replay, and is refused as one.
     */
    int64_t floor;
};

struct relay;
struct relay_call;

/* A kind of log line that is said at most once per QUIET_SECONDS, with a count of the rest. */
struct quiet {
    int said;
    int64_t at;         /* when it was last said */
    unsigned long held; /* how many since were not */
};

enum sock_phase { SOCK_HEAD, SOCK_BODY, SOCK_ANSWER };

/* One open connection, as the watchdog sees it. */
struct sock {
    struct sock *next, *prev;
    int fd;
    enum sock_phase phase;
    int64_t since; /* ms, monotonic: the head is awaited, or the body began, since */
    uint64_t got;  /* body bytes so far */
    int cut;       /* closed by the watchdog */
};

/*
 * Work for the writer thread, run inside the batch's one transaction with
 * db_lock held: either a PATCH's bytes (`call`) or `fn`. Queued and
 * finished under commit_lock.
 */
struct job {
    struct job *next;
    struct relay_call *call;
    int (*fn)(struct relay *r, void *arg); /* 0, or -1 to roll its own writes back */
    void *arg;
    int done;      /* fn jobs: the batch holding it is over */
    int committed; /* ... and its transaction reached the disk */
    /* call jobs: what the writer took, and how it went */
    uint64_t at;
    size_t n;
    int status;
    char msg[256];
};

struct relay {
    struct relay_config cfg;
    struct store *st;        /* src/relay/store.h */
    pthread_mutex_t db_lock; /* the store's writer; taken before auth_lock, never after */
    /*
     * The store's reader (st->has_reader), for reads that must not wait
     * while the writer flushes.
     */
    pthread_mutex_t rd_lock;
    /*
     * Group commit: every write that must be durable before it is answered
     * goes through one writer thread, which puts all the work waiting at
     * that moment into one transaction, so concurrent uploads share one
     * fsync instead of queueing for one each. commit_lock guards the queue,
     * the live PATCHes and their held bytes; it is taken alone (never with
     * db_lock or auth_lock held, nor they under it).
     */
    pthread_mutex_t commit_lock;
    pthread_cond_t commit_work, commit_done;
    struct job *jobs, *jobs_tail;
    struct relay_call *live; /* PATCHes in progress */
    pthread_t writer;
    int writer_on, writer_stop;
    uint64_t commits, writes;  /* the writer's transactions, and the jobs they held */
    pthread_mutex_t auth_lock; /* registry, replay memory, rate counters */
    struct registry *reg;
    dev_t reg_dev;
    ino_t reg_ino;
    struct dev *devs;
    size_t ndevs, capdevs;
    size_t marks;          /* in every ring together */
    size_t replay_per_dev; /* the bounds of the replay memory, resolved */
    size_t replay_total;
    uint8_t token_hash[32];
    struct MHD_Daemon *mhd;
    char *tls_cert_pem, *tls_key_pem;
    size_t tls_key_len;
    pthread_t sweeper;
    int sweeper_on, stopping;
    pthread_mutex_t sweep_lock;
    pthread_cond_t sweep_cond;
    /*
     * Every open connection, for its time budget (watchdog): the request
     * head and body must come in time, however they trickle.
     */
    pthread_mutex_t sock_lock;
    pthread_cond_t sock_cond;
    struct sock *socks;
    pthread_t watchdog;
    int watchdog_on, watchdog_stop;
    /* Lines an outsider can cause, at most one per QUIET_SECONDS each (say_quietly). */
    pthread_mutex_t quiet_lock;
    struct quiet q_refused[6], q_http, q_slow_head, q_slow_body;
};


/* The kiosk a request comes from, once authenticated. */
struct who {
    uint8_t key[32];
    char kiosk[33];
    char fp[KEYS_FINGERPRINT_HEX];
    char post[STORE_POST_MAX + 1]; /* the kiosk's post, or the post calling ("" = the one post) */
};

struct relay_call {
    struct relay *r;
    struct who who;
    uint8_t id[16];
    char hex[33];
    uint64_t length;
    uint64_t expect; /* where the upload stands after this PATCH's commits so far */
    uint64_t room;   /* body bytes this PATCH may still bring */
    uint64_t got;    /* body bytes seen */
    int declared;    /* Content-Length given (else chunked) */
    uint64_t content_length;
    /*
     * Bytes after `expect`, not yet on disk. The writer reads the first
     * job.n of them outside commit_lock while more are appended behind:
     * the buffer never moves while a job is queued.
     */
    uint8_t *buf;
    size_t nbuf, capbuf;
    struct job job;
    int queued;       /* job is with the writer */
    int final;        /* the body is complete: every byte goes, not only whole chunks */
    int ended;        /* cut off or superseded: no more bytes taken */
    int superseded;   /* ended by a newer request for the upload */
    int refs;         /* requests waiting on this call (end_stale) */
    int closed;       /* ended, its bytes settled, out of the live list */
    int draining;     /* a newer request has stopped its reading: it ends at what came */
    int fd;           /* its socket (to close a superseded one), -1 without */
    pthread_t thread; /* the libmicrohttpd worker serving it (valid with fd >= 0) */
    struct relay_call *live_next;
    int fail; /* HTTP status once the call has failed */
    char failmsg[256];
    int checked;   /* the whole envelope was checked: its last piece may go */
    int verdict;   /* ... and the upload becomes this state */
    char why[300]; /* ... refused for this reason */
    /*
     * Not a PATCH: a small body (a heartbeat, an enrolment, a revocation)
     * kept whole in memory and acted on at the end. None of the above
     * applies to it: it is never live, queued or superseded.
     */
    int small;     /* enum route of the request, 0 for a PATCH */
    uint8_t sbuf[SMALL_BODY_MAX];
    size_t sn;
    int sover;     /* more than SMALL_BODY_MAX bytes came */
    char kid[40];  /* the kiosk id in the path (revoke) */
    /*
     * Homthu-Pieces (signed, v2): the digest of each piece of the body as
     * the kiosk read it from its queue. A piece goes to the writer only
     * once it came whole and matched (up to `vpos`); the first that does
     * not match ends the PATCH (`mismatch`, 460) and nothing after it is
     * kept. npieces = 0: a version-1 PATCH, nothing to check.
     */
    uint8_t pieces[PIECES_MAX][PIECE_DIGEST_BYTES];
    unsigned npieces, vpiece; /* digests, and how many matched */
    uint64_t vpos;            /* where the matched pieces end */
    int mismatch;
};

/* ---------------------------------------------------------------- basics */

static int64_t now(const struct relay *r)
{
    return r->cfg.clock ? r->cfg.clock(r->cfg.clock_ctx) : (int64_t)time(NULL);
}

static void say(const struct relay *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void say(const struct relay *r, const char *fmt, ...)
{
    if (!r->cfg.log)
        return;
    char line[600];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    r->cfg.log(r->cfg.log_ctx, line);
}

/*
 * say(), for lines anyone on the network can cause (a refusal, a slow
 * connection closed): at most one per QUIET_SECONDS of each kind, which
 * tells how many were not said since. A flood of bad requests then costs
 * the log a line every few seconds, not a line each.
 */
static void say_quietly(struct relay *r, struct quiet *q, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void say_quietly(struct relay *r, struct quiet *q, const char *fmt, ...)
{
    if (!r->cfg.log)
        return;
    int64_t t = now(r);
    unsigned long held = 0;
    int64_t since = 0;
    pthread_mutex_lock(&r->quiet_lock);
    int speak = !q->said || t - q->at >= QUIET_SECONDS || t < q->at;
    if (speak) {
        held = q->held;
        since = t - q->at;
        q->said = 1;
        q->at = t;
        q->held = 0;
    } else {
        q->held++;
    }
    pthread_mutex_unlock(&r->quiet_lock);
    if (!speak)
        return;
    char line[600];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    if (held && n >= 0 && (size_t)n < sizeof line)
        snprintf(line + n, sizeof line - (size_t)n,
                 " (and %lu more like it in the %lld s before, not logged one by one)", held,
                 (long long)since);
    r->cfg.log(r->cfg.log_ctx, line);
}

/* Milliseconds of a clock that only goes forward: the time budgets of connections. */
static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* errbuf_say without the code, under this file's old name. */
#define set_err(err, errlen, ...) ((void)errbuf_say((err), (errlen), 0, __VA_ARGS__))

static void hex16(const uint8_t id[16], char out[33])
{
    sodium_bin2hex(out, 33, id, 16);
}

/* 32 lowercase hex digits, exactly: the only spelling of a tip id in a path. */
static int parse_hex16(const char *s, size_t len, uint8_t out[16])
{
    if (len != 32)
        return -1;
    for (size_t i = 0; i < 32; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return -1;
    size_t n = 0;
    if (sodium_hex2bin(out, 16, s, 32, NULL, &n, NULL) != 0 || n != 16)
        return -1;
    return 0;
}

/* Attacker-chosen text (paths) is logged only as printable ASCII, cut short. */
static void clean(const char *in, char *out, size_t cap)
{
    size_t j = 0;
    for (size_t i = 0; in && in[i] && j + 1 < cap; i++)
        out[j++] = (in[i] >= 0x20 && in[i] < 0x7f) ? in[i] : '?';
    out[j] = 0;
}

/* RFC 7231 date, locale-free: Upload-Expires. */
static void http_date(int64_t t, char out[40])
{
    static const char *const days[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    static const char *const months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                         "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    time_t tt = (time_t)t;
    struct tm tm;
    if (!gmtime_r(&tt, &tm)) {
        snprintf(out, 40, "Thu, 01 Jan 1970 00:00:00 GMT");
        return;
    }
    snprintf(out, 40, "%s, %02d %s %04d %02d:%02d:%02d GMT", days[tm.tm_wday % 7], tm.tm_mday,
             months[tm.tm_mon % 12], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

/* ---------------------------------------------------------------- responses */

void relay_response_clear(struct relay_response *resp)
{
    if (!resp)
        return;
    free(resp->body);
    memset(resp, 0, sizeof *resp);
}

const char *relay_response_header(const struct relay_response *resp, const char *name)
{
    for (size_t i = 0; resp && i < resp->nheaders; i++)
        if (strcasecmp(resp->headers[i].name, name) == 0)
            return resp->headers[i].value;
    return NULL;
}

static void add_header(struct relay_response *resp, const char *name, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void add_header(struct relay_response *resp, const char *name, const char *fmt, ...)
{
    /* The table is sized for the most headers any answer has; assert it. */
    if (resp->nheaders >= RELAY_RESPONSE_HEADERS)
        return;
    snprintf(resp->headers[resp->nheaders].name, sizeof resp->headers[0].name, "%s", name);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(resp->headers[resp->nheaders].value, sizeof resp->headers[0].value, fmt, ap);
    va_end(ap);
    resp->nheaders++;
}

/* A plain-text answer: the message, one line, for a person to read. */
static void answer(struct relay_response *resp, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void answer(struct relay_response *resp, int status, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(msg, sizeof msg - 1, fmt, ap);
    va_end(ap);
    if (n < 0)
        n = 0;
    if ((size_t)n > sizeof msg - 2)
        n = (int)sizeof msg - 2;
    msg[n++] = '\n';
    resp->status = status;
    free(resp->body);
    resp->body = malloc((size_t)n);
    resp->body_len = resp->body ? (size_t)n : 0;
    if (resp->body)
        memcpy(resp->body, msg, (size_t)n);
    add_header(resp, "Content-Type", "text/plain; charset=utf-8");
}

/* ---------------------------------------------------------------- parsers */

int relay_parse_u64(const char *s, uint64_t *out)
{
    if (!s || !out)
        return -1;
    size_t n = strlen(s);
    if (n == 0 || n > 19 || (n > 1 && s[0] == '0'))
        return -1;
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (uint64_t)(s[i] - '0');
    }
    *out = v;
    return 0;
}

static int b64_exact(const char *s, size_t len, uint8_t *out, size_t want)
{
    size_t got = 0;
    const char *end = NULL;
    if (len == 0 ||
        sodium_base642bin(out, want, s, len, NULL, &got, &end, sodium_base64_VARIANT_ORIGINAL) != 0)
        return -1;
    return (got == want && end == s + len) ? 0 : -1;
}

/*
 * Homthu-Pieces for a PATCH of `cl` bytes at `offset` of an envelope of
 * `length`: the base64 of one digest for each piece in it, and the PATCH
 * must begin and end on a piece's edge. 0 with *n, or -1.
 */
static int parse_pieces(const char *v, uint64_t offset, uint64_t cl, uint64_t length,
                        uint8_t (*out)[PIECE_DIGEST_BYTES], unsigned *n)
{
    size_t got = 0, len = strlen(v);
    const char *end = NULL;
    if (len == 0 || len > 4 * PIECES_MAX * PIECE_DIGEST_BYTES / 3 + 4 ||
        sodium_base642bin((uint8_t *)out, PIECES_MAX * PIECE_DIGEST_BYTES, v, len, NULL, &got,
                          &end, sodium_base64_VARIANT_ORIGINAL) != 0 ||
        end != v + len || got == 0 || got % PIECE_DIGEST_BYTES != 0)
        return -1;
    if (offset >= length || cl > length - offset || !envelope_piece_edge(offset, length))
        return -1;
    unsigned k = 0;
    for (uint64_t pos = offset; pos < offset + cl; k++) {
        if (k == PIECES_MAX)
            return -1;
        pos = envelope_piece_end(pos, length);
        if (pos > offset + cl)
            return -1; /* ends inside a piece */
    }
    if ((size_t)k * PIECE_DIGEST_BYTES != got)
        return -1;
    *n = k;
    return 0;
}

static int is_ows(char c)
{
    return c == ' ' || c == '\t';
}

int relay_parse_auth(const char *v, struct relay_auth *out, char *err, size_t errlen)
{
    static const char scheme[] = "Homthu-Device";
    static const char shape[] =
        "expected Homthu-Device key=\"<base64>\", ts=\"<unix seconds>\", sig=\"<base64>\"";
    if (!v || !out)
        return -1;
    memset(out, 0, sizeof *out);
    if (strncasecmp(v, scheme, sizeof scheme - 1) != 0 || !is_ows(v[sizeof scheme - 1])) {
        set_err(err, errlen, "%s", shape);
        return -1;
    }
    const char *p = v + sizeof scheme - 1;
    int have_key = 0, have_ts = 0, have_sig = 0;
    for (;;) {
        while (is_ows(*p))
            p++;
        const char *name = p;
        while (*p >= 'a' && *p <= 'z')
            p++;
        size_t nlen = (size_t)(p - name);
        if (nlen == 0 || p[0] != '=' || p[1] != '"') {
            set_err(err, errlen, "%s", shape);
            return -1;
        }
        p += 2;
        const char *val = p;
        while (*p && *p != '"' && *p != '\\' && (unsigned char)*p >= 0x20 && *p != 0x7f)
            p++;
        if (*p != '"') {
            set_err(err, errlen, "%s", shape);
            return -1;
        }
        size_t vlen = (size_t)(p - val);
        p++;
        int *have;
        if (nlen == 3 && memcmp(name, "key", 3) == 0) {
            have = &have_key;
            if (*have)
                goto twice;
            if (b64_exact(val, vlen, out->key, 32)) {
                set_err(err, errlen, "key is not base64 of a 32-byte Ed25519 public key");
                return -1;
            }
        } else if (nlen == 2 && memcmp(name, "ts", 2) == 0) {
            have = &have_ts;
            if (*have)
                goto twice;
            uint64_t t;
            if (vlen >= sizeof out->ts_text) {
                set_err(err, errlen, "ts is not a time in Unix seconds");
                return -1;
            }
            memcpy(out->ts_text, val, vlen);
            out->ts_text[vlen] = 0;
            if (relay_parse_u64(out->ts_text, &t) || t > INT64_MAX) {
                set_err(err, errlen, "ts is not a time in Unix seconds");
                return -1;
            }
            out->ts = (int64_t)t;
        } else if (nlen == 3 && memcmp(name, "sig", 3) == 0) {
            have = &have_sig;
            if (*have)
                goto twice;
            if (b64_exact(val, vlen, out->sig, 64)) {
                set_err(err, errlen, "sig is not base64 of a 64-byte Ed25519 signature");
                return -1;
            }
        } else {
            set_err(err, errlen, "unknown parameter %.*s", (int)(nlen > 20 ? 20 : nlen), name);
            return -1;
        }
        *have = 1;
        while (is_ows(*p))
            p++;
        if (*p == 0)
            break;
        if (*p != ',') {
            set_err(err, errlen, "%s", shape);
            return -1;
        }
        p++;
        continue;
    twice:
        set_err(err, errlen, "%.*s is given twice", (int)nlen, name);
        return -1;
    }
    if (!have_key || !have_ts || !have_sig) {
        set_err(err, errlen, "no %s", !have_key ? "key" : !have_ts ? "ts" : "sig");
        return -1;
    }
    return 0;
}

int relay_parse_metadata(const char *v, uint8_t tip_id[ENVELOPE_TIP_ID_BYTES], char *err,
                         size_t errlen)
{
    static const char need[] = "no tipid (send tipid <base64 of the tip id's 32 hex digits>)";
    if (!v || !tip_id) {
        set_err(err, errlen, "%s", need);
        return -1;
    }
    size_t len = strlen(v);
    if (len > 4096) {
        set_err(err, errlen, "longer than 4096 bytes");
        return -1;
    }
    /* Keys seen so far, to refuse duplicates (tus: keys are unique). */
    const char *keys[64];
    size_t keylens[64], nkeys = 0;
    int have = 0;
    const char *p = v, *end = v + len;
    while (p <= end) {
        const char *comma = memchr(p, ',', (size_t)(end - p));
        const char *pe = comma ? comma : end;
        while (p < pe && is_ows(*p))
            p++;
        const char *q = pe;
        while (q > p && is_ows(q[-1]))
            q--;
        if (p == q) {
            set_err(err, errlen, "an empty key/value pair");
            return -1;
        }
        const char *sp = memchr(p, ' ', (size_t)(q - p));
        const char *kend = sp ? sp : q;
        for (const char *k = p; k < kend; k++)
            if ((unsigned char)*k <= 0x20 || (unsigned char)*k >= 0x7f) {
                set_err(err, errlen, "a key holds a character keys cannot hold");
                return -1;
            }
        size_t klen = (size_t)(kend - p);
        for (size_t i = 0; i < nkeys; i++)
            if (keylens[i] == klen && memcmp(keys[i], p, klen) == 0) {
                set_err(err, errlen, "key %.*s is given twice", (int)(klen > 20 ? 20 : klen), p);
                return -1;
            }
        if (nkeys == 64) {
            set_err(err, errlen, "more than 64 keys");
            return -1;
        }
        keys[nkeys] = p;
        keylens[nkeys++] = klen;
        const char *val = sp ? sp + 1 : q;
        size_t vlen = (size_t)(q - val);
        if (memchr(val, ' ', vlen)) {
            set_err(err, errlen, "a value holds a space (values are base64)");
            return -1;
        }
        if (klen == 5 && memcmp(p, "tipid", 5) == 0) {
            /*
             * The 32 hex digits, as our uploader and generic tus clients send
             * it (metadata is text, base64'd); or the 16 raw bytes, as kiosks
             * of version 0.1.0 sent it.
             */
            uint8_t raw[32];
            if (b64_exact(val, vlen, tip_id, ENVELOPE_TIP_ID_BYTES) != 0 &&
                (b64_exact(val, vlen, raw, 32) != 0 ||
                 parse_hex16((const char *)raw, 32, tip_id) != 0)) {
                set_err(err, errlen,
                        "tipid is not base64 of the tip id's 32 hex digits (nor of its 16 bytes)");
                return -1;
            }
            have = 1;
        } else if (vlen) {
            uint8_t scratch[4096];
            size_t got;
            const char *bend;
            if (sodium_base642bin(scratch, sizeof scratch, val, vlen, NULL, &got, &bend,
                                  sodium_base64_VARIANT_ORIGINAL) != 0 ||
                bend != val + vlen) {
                set_err(err, errlen, "the value of %.*s is not base64",
                        (int)(klen > 20 ? 20 : klen), p);
                return -1;
            }
        }
        if (!comma)
            break;
        p = comma + 1;
    }
    if (!have) {
        set_err(err, errlen, "%s", need);
        return -1;
    }
    return 0;
}

size_t relay_signed_text(char *out, size_t cap, const char *method, const char *path,
                         const char *ts, const char *offset, const char *length,
                         const char *checksum)
{
    if (!out || !method || !path || !ts)
        return 0;
    int n = checksum ? snprintf(out, cap, "homthu-relay-v2\n%s\n%s\n%s\n%s\n%s\n%s\n", method,
                                path, ts, offset ? offset : "-", length ? length : "-", checksum)
                     : snprintf(out, cap, "homthu-relay-v1\n%s\n%s\n%s\n%s\n%s\n", method,
                                path, ts, offset ? offset : "-", length ? length : "-");
    if (n < 0 || (size_t)n >= cap)
        return 0;
    return (size_t)n;
}

/* ---------------------------------------------------------------- config */

const char *const relay_config_keys[] = {
    "listen",
    "database",
    "registry",
    "post_token",
    "tls_cert",
    "tls_key",
    "max_tip_bytes",
    "device_quota_bytes",
    "device_requests_per_minute",
    "clock_skew_seconds",
    "partial_ttl_hours",
    "keep_fetched_hours",
    "keep_rejected_hours",
    "threads",
    "max_connections",
    "connection_timeout_seconds",
    "max_connections_per_address",
    "header_timeout_seconds",
    "body_timeout_seconds",
    "body_min_bytes_per_second",
    NULL,
};

void relay_config_defaults(struct relay_config *c)
{
    memset(c, 0, sizeof *c);
    snprintf(c->listen, sizeof c->listen, "127.0.0.1:8080");
    snprintf(c->database, sizeof c->database, "relay.db");
    c->max_tip_bytes = ENVELOPE_DEFAULT_MAX_BYTES;
    c->device_quota_bytes = 256ull * 1024 * 1024;
    c->device_requests_per_minute = 120;
    c->clock_skew_seconds = 600;
    c->partial_ttl_seconds = 72 * 3600;
    c->keep_fetched_seconds = 7 * 24 * 3600;
    c->keep_rejected_seconds = 30 * 24 * 3600;
    c->threads = 0;
    c->max_connections = 256;
    c->connection_timeout_seconds = 120;
    c->max_connections_per_address = -1;
    c->header_timeout_seconds = 30;
    c->body_timeout_seconds = 60;
    c->body_min_bytes_per_second = 500;
}

int relay_config_read(const struct config *f, struct relay_config *out, char *err, size_t errlen)
{
    if (!f || !out)
        return RELAY_E_ARG;
    relay_config_defaults(out);
    const char *name = config_name(f), *s = NULL;
    long long v;
    if (config_check_known(f, relay_config_keys, err, errlen))
        return RELAY_E_CONFIG;
    if (config_get_str(f, "listen", "127.0.0.1:8080", &s, err, errlen))
        return RELAY_E_CONFIG;
    if (strlen(s) >= sizeof out->listen) {
        set_err(err, errlen, "%s: listen is too long", name);
        return RELAY_E_CONFIG;
    }
    snprintf(out->listen, sizeof out->listen, "%s", s);
    /* A PostgreSQL URL is taken as it is; a file is found beside relay.conf. */
    if (config_get_str(f, "database", "relay.db", &s, err, errlen))
        return RELAY_E_CONFIG;
    if (store_is_postgresql(s)) {
        if (strlen(s) >= sizeof out->database) {
            set_err(err, errlen, "%s: database is too long", name);
            return RELAY_E_CONFIG;
        }
        snprintf(out->database, sizeof out->database, "%s", s);
    } else if (config_get_path(f, "database", "relay.db", out->database, sizeof out->database,
                               err, errlen)) {
        return RELAY_E_CONFIG;
    }
    if (store_is_postgresql(out->database)) {
        /* A province's relay: posts, their tokens and kiosks live in the database. */
        if (config_has(f, "registry") || config_has(f, "post_token")) {
            set_err(err, errlen,
                    "%s: with a PostgreSQL database, each post and its kiosks live in the "
                    "database: remove registry and post_token, and add each post with "
                    "homthu-relay --config %s post-add NAME --post-pub post.pub (docs/province.md)",
                    name, name);
            return RELAY_E_CONFIG;
        }
        goto tls;
    }
    if (config_get_path(f, "registry", NULL, out->registry, sizeof out->registry, err, errlen))
        return RELAY_E_CONFIG;
    if (config_get_str(f, "post_token", NULL, &s, err, errlen))
        return RELAY_E_CONFIG;
    size_t tl = strlen(s);
    int printable = 1;
    for (size_t i = 0; i < tl; i++)
        printable &= s[i] > 0x20 && s[i] < 0x7f;
    if (tl < RELAY_TOKEN_MIN || tl > RELAY_TOKEN_MAX || !printable) {
        set_err(err, errlen,
                "%s: post_token must be %d to %d visible ASCII characters without spaces (make "
                "one with: head -c 32 /dev/urandom | base64)",
                name, RELAY_TOKEN_MIN, RELAY_TOKEN_MAX);
        return RELAY_E_CONFIG;
    }
    memcpy(out->post_token, s, tl + 1);
tls:;
    int has_cert = config_has(f, "tls_cert"), has_key = config_has(f, "tls_key");
    if (has_cert != has_key) {
        set_err(err, errlen,
                "%s: tls_cert and tls_key go together: set both, or neither (plain "
                "HTTP behind nginx)",
                name);
        return RELAY_E_CONFIG;
    }
    if (has_cert &&
        (config_get_path(f, "tls_cert", NULL, out->tls_cert, sizeof out->tls_cert, err, errlen) ||
         config_get_path(f, "tls_key", NULL, out->tls_key, sizeof out->tls_key, err, errlen)))
        return RELAY_E_CONFIG;
    /*
     * A tip is an envelope of at least one chunk: 4365 bytes. At most
     * 256 MiB: the relay holds a whole envelope in memory to check it, and
     * the post's reader refuses more than 16 MiB unless told otherwise.
     */
    if (config_get_int(f, "max_tip_bytes", ENVELOPE_DEFAULT_MAX_BYTES, 4365, 256ll * 1024 * 1024,
                       &v, err, errlen))
        return RELAY_E_CONFIG;
    out->max_tip_bytes = (uint64_t)v;
    if (config_get_int(f, "device_quota_bytes", (long long)out->device_quota_bytes, 4365,
                       1024ll * 1024 * 1024 * 1024, &v, err, errlen))
        return RELAY_E_CONFIG;
    out->device_quota_bytes = (uint64_t)v;
    if (config_get_int(f, "device_requests_per_minute", 120, 1, 1000000, &v, err, errlen))
        return RELAY_E_CONFIG;
    out->device_requests_per_minute = (int)v;
    if (config_get_int(f, "clock_skew_seconds", 600, 10, 86400, &v, err, errlen))
        return RELAY_E_CONFIG;
    out->clock_skew_seconds = (int)v;
    if (config_get_int(f, "partial_ttl_hours", 72, 1, 24 * 365, &v, err, errlen))
        return RELAY_E_CONFIG;
    out->partial_ttl_seconds = v * 3600;
    if (config_get_int(f, "keep_fetched_hours", 168, 0, 24 * 3650, &v, err, errlen))
        return RELAY_E_CONFIG;
    out->keep_fetched_seconds = v * 3600;
    if (config_get_int(f, "keep_rejected_hours", 720, 0, 24 * 3650, &v, err, errlen))
        return RELAY_E_CONFIG;
    out->keep_rejected_seconds = v * 3600;
    if (config_get_int(f, "threads", 0, 0, 64, &v, err, errlen))
        return RELAY_E_CONFIG;
    out->threads = (int)v;
    if (config_get_int(f, "max_connections", 256, 4, 65536, &v, err, errlen))
        return RELAY_E_CONFIG;
    out->max_connections = (int)v;
    if (config_get_int(f, "connection_timeout_seconds", 120, 5, 3600, &v, err, errlen))
        return RELAY_E_CONFIG;
    out->connection_timeout_seconds = (int)v;
    if (config_has(f, "max_connections_per_address")) {
        if (config_get_int(f, "max_connections_per_address", 32, 0, 65536, &v, err, errlen))
            return RELAY_E_CONFIG;
        out->max_connections_per_address = (int)v;
    }
    if (config_get_int(f, "header_timeout_seconds", 30, 1, 3600, &v, err, errlen))
        return RELAY_E_CONFIG;
    out->header_timeout_seconds = (int)v;
    if (config_get_int(f, "body_timeout_seconds", 60, 1, 86400, &v, err, errlen))
        return RELAY_E_CONFIG;
    out->body_timeout_seconds = (int)v;
    if (config_get_int(f, "body_min_bytes_per_second", 500, 0, 1000000000, &v, err, errlen))
        return RELAY_E_CONFIG;
    out->body_min_bytes_per_second = (int)v;
    return 0;
}

/* ---------------------------------------------------------------- the store */

/* A store failure, for the log: what the store says went wrong. */
static void store_said(struct relay *r, const char *what)
{
    say(r, "store error: %s: %s", what, r->st->ops->errmsg(r->st));
}

/* Delete an upload and its bytes, in one transaction (the caller's, or its own). */
static void delete_upload(struct relay *r, const uint8_t id[16])
{
    if (r->st->ops->upload_delete(r->st, id))
        store_said(r, "deleting an upload");
}

static int expired(const struct relay *r, const struct store_upload *u)
{
    return u->state == ST_PARTIAL && u->updated + r->cfg.partial_ttl_seconds <= now(r);
}

/*
 * The upload with this id: 1 found, 0 none, -1 store error. A partial
 * upload past its TTL is deleted here and counts as none, so expiry holds
 * to the second even between two sweeps. Caller holds db_lock.
 */
static int upload_get(struct relay *r, const uint8_t id[16], struct store_upload *u)
{
    int rc = r->st->ops->upload_get(r->st, 0, id, u);
    if (rc < 0)
        store_said(r, "reading an upload");
    if (rc == 1 && expired(r, u)) {
        char hex[33];
        hex16(id, hex);
        delete_upload(r, id);
        say(r,
            "tip %s expired: partial upload untouched for %" PRId64 " s (%" PRIu64 " of %" PRIu64
            " bytes)",
            hex, now(r) - u->updated, u->got, u->length);
        rc = 0;
    }
    return rc;
}

/*
 * upload_get() for a request that only reads: through the reader, so it
 * never waits for a commit in progress. An expired upload goes the long
 * way (deleted and logged). No lock held by the caller.
 */
static int upload_peek(struct relay *r, const uint8_t id[16], struct store_upload *u)
{
    int rc = -2;
    if (r->st->has_reader) {
        pthread_mutex_lock(&r->rd_lock);
        rc = r->st->ops->upload_get(r->st, 1, id, u);
        pthread_mutex_unlock(&r->rd_lock);
        if (rc < 0 || (rc == 1 && expired(r, u)))
            rc = -2;
    }
    if (rc == -2) {
        pthread_mutex_lock(&r->db_lock);
        rc = upload_get(r, id, u);
        pthread_mutex_unlock(&r->db_lock);
    }
    return rc;
}

/* ---------------------------------------------------------------- registry */

/*
 * The registry is the post's file; it may be edited in place (revoke) or
 * replaced by a fresh copy. SQLite sees in-place edits at the next
 * statement; a replaced file is noticed here by its inode. Caller holds
 * auth_lock. 0, or -1 when it cannot be read (every kiosk is refused then).
 */
static int registry_fresh(struct relay *r, char *err, size_t errlen)
{
    struct stat sb;
    if (stat(r->cfg.registry, &sb) != 0) {
        registry_close(r->reg);
        r->reg = NULL;
        set_err(err, errlen, "registry %s: %s (copy the post's registry.db there)", r->cfg.registry,
                strerror(errno));
        return -1;
    }
    if (r->reg && sb.st_dev == r->reg_dev && sb.st_ino == r->reg_ino)
        return 0;
    registry_close(r->reg);
    r->reg = NULL;
    if (registry_open(&r->reg, r->cfg.registry, 0, err, errlen))
        return -1;
    r->reg_dev = sb.st_dev;
    r->reg_ino = sb.st_ino;
    return 0;
}

/*
 * The kiosks of the posts. A relay of one post reads the post's registry
 * file (relay.conf's registry); a relay of many keeps every post's kiosks
 * in its store (several nodes share them). Both answer in registry.h's
 * codes; auth_lock held. `why` says why it could not be read.
 */
static int many_posts(const struct relay *r)
{
    return r->st->ops->device_find != NULL;
}

static int dir_find(struct relay *r, const uint8_t pk[32], struct registry_entry *e,
                    char post[STORE_POST_MAX + 1], char *why, size_t whylen)
{
    post[0] = 0;
    if (many_posts(r)) {
        int rc = r->st->ops->device_find(r->st, pk, e, post);
        if (rc < 0)
            set_err(why, whylen, "%s", r->st->ops->errmsg(r->st));
        return rc;
    }
    if (registry_fresh(r, why, whylen))
        return REGISTRY_E_IO;
    return registry_find_device(r->reg, pk, e, why, whylen);
}

static int dir_get(struct relay *r, const char *post, const char *id, struct registry_entry *e,
                   char *why, size_t whylen)
{
    if (many_posts(r))
        return r->st->ops->device_get(r->st, post, id, e);
    if (registry_fresh(r, why, whylen))
        return REGISTRY_E_IO;
    return registry_get(r->reg, id, e, why, whylen);
}

static int kiosk_id_ok(const char *s, size_t n);

static int dir_enrol(struct relay *r, const char *post, const char *id, const uint8_t pk[32],
                     char *why, size_t whylen)
{
    if (many_posts(r)) {
        if (!kiosk_id_ok(id, strlen(id))) {
            set_err(why, whylen, "a kiosk id is 1 to 32 of a-z, 0-9 and '-'");
            return REGISTRY_E_ARG;
        }
        int rc = r->st->ops->device_enrol(r->st, post, id, pk, now(r));
        if (rc < 0)
            set_err(why, whylen, "%s", r->st->ops->errmsg(r->st));
        return rc;
    }
    if (registry_fresh(r, why, whylen))
        return REGISTRY_E_IO;
    return registry_enrol(r->reg, id, pk, now(r), why, whylen);
}

static int dir_revoke(struct relay *r, const char *post, const char *id, const char *reason,
                      char *why, size_t whylen)
{
    if (many_posts(r)) {
        size_t n = strlen(reason);
        if (n == 0 || n > REGISTRY_REASON_MAX || !config_utf8_valid(reason, n)) {
            set_err(why, whylen, "a reason is one line of 1 to %d bytes of UTF-8",
                    REGISTRY_REASON_MAX);
            return REGISTRY_E_ARG;
        }
        int rc = r->st->ops->device_revoke(r->st, post, id, reason, now(r));
        if (rc < 0)
            set_err(why, whylen, "%s", r->st->ops->errmsg(r->st));
        return rc;
    }
    if (registry_fresh(r, why, whylen))
        return REGISTRY_E_IO;
    return registry_revoke(r->reg, id, reason, now(r), why, whylen);
}

/* envelope_device_fn for the completion check: enrolled, and not revoked. */
static int device_check(void *ctx, const uint8_t pk[32])
{
    struct relay *r = ctx;
    char why[256], post[STORE_POST_MAX + 1];
    struct registry_entry e;
    pthread_mutex_lock(&r->auth_lock);
    int rc = dir_find(r, pk, &e, post, why, sizeof why);
    pthread_mutex_unlock(&r->auth_lock);
    if (rc)
        return ENVELOPE_E_UNKNOWN_DEVICE; /* fails closed, as registry_device_check */
    return e.revoked ? ENVELOPE_E_REVOKED_DEVICE : 0;
}

/* ---------------------------------------------------------------- replay memory, rates */

/*
 * Replay memory. Each genuine request of an enrolled key is remembered by
 * the digest of its signature until its ts falls out of the clock window
 * (the skew check refuses it then anyway). The order in authenticate()
 * is what bounds it: a request is remembered only after the key's rate
 * allowed it, so one key adds at most device_requests_per_minute marks a
 * minute, and its marks live at most 2 x clock_skew_seconds: its ring
 * holds them all (replay_per_device). A full ring forgets its own oldest
 * mark, a full memory the oldest mark of the key holding the most; either
 * way only that key's older requests are refused afterwards (its floor),
 * never another kiosk's. All under auth_lock.
 */

/* The record of key `key`, made when missing; NULL when out of memory. */
static struct dev *dev_of(struct relay *r, const uint8_t key[32])
{
    /* O(n) scan: a border post has tens, at most a few hundred, kiosks. */
    for (size_t i = 0; i < r->ndevs; i++)
        if (memcmp(r->devs[i].key, key, 32) == 0)
            return &r->devs[i];
    if (r->ndevs == r->capdevs) {
        size_t cap = r->capdevs ? r->capdevs * 2 : 64;
        struct dev *nv = realloc(r->devs, cap * sizeof *nv);
        if (!nv)
            return NULL;
        r->devs = nv;
        r->capdevs = cap;
    }
    struct dev *d = &r->devs[r->ndevs++];
    memset(d, 0, sizeof *d);
    memcpy(d->key, key, 32);
    d->window = d->rwindow = -1;
    d->floor = INT64_MIN;
    return d;
}

/* Forget the oldest mark of `d`; `evicted`: it may still be replayed, so raise the floor. */
static void dev_pop(struct relay *r, struct dev *d, int evicted)
{
    if (evicted && d->m[d->head].ts > d->floor)
        d->floor = d->m[d->head].ts;
    d->head = (d->head + 1) % d->cap;
    d->n--;
    r->marks--;
}

/* 1 when (h, ts) may be a replay of a request of this key, else 0. */
static int dev_seen(struct relay *r, struct dev *d, const uint8_t h[16], int64_t ts, int64_t t)
{
    /* Marks whose ts the clock check refuses now are of no more use. */
    int64_t oldest = t - r->cfg.clock_skew_seconds;
    while (d->n && d->m[d->head].ts < oldest)
        dev_pop(r, d, 0);
    if (ts <= d->floor)
        return 1;
    for (size_t i = 0, j = d->head; i < d->n; i++, j = (j + 1) % d->cap)
        if (memcmp(d->m[j].h, h, 16) == 0)
            return 1;
    return 0;
}

/* Remember (h, ts) for `d`; never fails for lack of room (it forgets instead). */
static void dev_remember(struct relay *r, struct dev *d, const uint8_t h[16], int64_t ts)
{
    if (d->n == r->replay_per_dev)
        dev_pop(r, d, 1);
    if (r->marks >= r->replay_total) {
        struct dev *big = d;
        for (size_t i = 0; i < r->ndevs; i++)
            if (r->devs[i].n > big->n)
                big = &r->devs[i];
        if (big->n)
            dev_pop(r, big, 1);
    }
    if (d->n == d->cap) {
        size_t cap = d->cap ? d->cap * 2 : 16;
        if (cap > r->replay_per_dev)
            cap = r->replay_per_dev;
        struct mark *nv = malloc(cap * sizeof *nv);
        if (!nv && !d->n) {
            /* Out of memory with nothing to forget: refuse this key's requests up to ts instead. */
            if (ts > d->floor)
                d->floor = ts;
            return;
        }
        if (!nv) {
            dev_pop(r, d, 1);
        } else {
            for (size_t i = 0; i < d->n; i++)
                nv[i] = d->m[(d->head + i) % d->cap];
            free(d->m);
            d->m = nv;
            d->cap = cap;
            d->head = 0;
        }
    }
    struct mark *m = &d->m[(d->head + d->n) % d->cap];
    memcpy(m->h, h, 16);
    m->ts = ts;
    d->n++;
    r->marks++;
}

/* Seconds to wait when over `limit` in this minute, else 0 (and the request is counted). */
static int minute_wait(int64_t *window, int *count, int limit, int64_t t)
{
    int64_t minute = t / 60;
    if (*window != minute) {
        *window = minute;
        *count = 0;
    }
    if (*count >= limit) {
        int wait = (int)((minute + 1) * 60 - t);
        return wait > 0 ? wait : 1;
    }
    (*count)++;
    return 0;
}

/* ---------------------------------------------------------------- requests */

static const char *header(const struct relay_request *q, const char *name)
{
    for (size_t i = 0; i < q->nheaders; i++)
        if (q->headers[i].name && strcasecmp(q->headers[i].name, name) == 0)
            return q->headers[i].value ? q->headers[i].value : "";
    return NULL;
}

static int header_count(const struct relay_request *q, const char *name)
{
    int n = 0;
    for (size_t i = 0; i < q->nheaders; i++)
        n += q->headers[i].name && strcasecmp(q->headers[i].name, name) == 0;
    return n;
}

static const char *arg(const struct relay_request *q, const char *name)
{
    for (size_t i = 0; i < q->nargs; i++)
        if (q->args[i].name && strcmp(q->args[i].name, name) == 0)
            return q->args[i].value ? q->args[i].value : "";
    return NULL;
}

/* A refusal for going over the rate: 429 with Retry-After to the next minute. */
static void too_many(struct relay *r, int64_t t, struct relay_response *resp)
{
    int wait = (int)((t / 60 + 1) * 60 - t);
    answer(resp, 429, "too many requests: at most %d a minute from one kiosk; retry in %d s",
           r->cfg.device_requests_per_minute, wait);
    add_header(resp, "Retry-After", "%d", wait);
}

/*
 * authenticate()'s replay memory and rates when several relay nodes share
 * the store: the same rules as in memory, each step one atomic statement
 * of the store, so a request replayed to two nodes at once is taken by
 * one. The rate before the memory, as in memory (nothing refused with 429
 * is remembered), so what is remembered of a key stays bounded by its
 * rate. 0 to go on, 1 refused (in resp). auth_lock held (it guards the
 * store's connection for these).
 */
static int shared_requests(struct relay *r, const uint8_t key[32], const uint8_t h[16], int64_t ts,
                           int64_t t, int head, struct relay_response *resp)
{
    const struct store_ops *o = r->st->ops;
    int limit = r->cfg.device_requests_per_minute;
    int seen = o->mark_seen(r->st, key, h);
    if (seen < 0)
        goto failed;
    if (seen && !head) {
        answer(resp, 401, "replay: this signed request was used before; sign each request afresh");
        return 1;
    }
    /* A repeated HEAD counts against a budget of its own (kind 1). */
    int taken = o->rate_take(r->st, key, seen ? 1 : 0, t / 60, limit);
    if (taken < 0)
        goto failed;
    if (!taken) {
        too_many(r, t, resp);
        return 1;
    }
    if (!seen) {
        int fresh = o->mark_take(r->st, key, h, ts);
        if (fresh < 0)
            goto failed;
        if (!fresh && !head) {
            /* Another node took the same request a moment ago. */
            answer(resp, 401,
                   "replay: this signed request was used before; sign each request afresh");
            return 1;
        }
    }
    return 0;
failed:
    say(r, "store error: the shared replay memory: %s", o->errmsg(r->st));
    answer(resp, 503, "the relay cannot check this request now: try again later");
    return 1;
}

/*
 * Is this a kiosk of the post, and is this its request? 0 with `w` filled,
 * or 1 with the refusal in `resp`. All of it from the head: no body read.
 */
static int authenticate(struct relay *r, const struct relay_request *q, const char *method,
                        struct who *w, struct relay_response *resp)
{
    const char *auth = header(q, "Authorization");
    char why[256];
    struct relay_auth a;
    memset(w, 0, sizeof *w);
    if (!auth) {
        answer(resp, 400,
               "missing Authorization: sign every request with the kiosk's device "
               "key (docs/relay-protocol.md)");
        return 1;
    }
    if (relay_parse_auth(auth, &a, why, sizeof why)) {
        answer(resp, 400, "malformed Authorization: %s", why);
        return 1;
    }
    memcpy(w->key, a.key, 32);
    keys_fingerprint(a.key, 32, w->fp);
    char text[4096]; /* a path, and Homthu-Pieces' base64 (at most 1408) */
    size_t tlen =
        relay_signed_text(text, sizeof text, method, q->path, a.ts_text, header(q, "Upload-Offset"),
                          header(q, "Upload-Length"), header(q, "Homthu-Pieces"));
    int64_t t = now(r);
    struct registry_entry e;
    int refused = 1;
    int64_t skew = a.ts - t;
    if (skew > r->cfg.clock_skew_seconds || -skew > r->cfg.clock_skew_seconds) {
        answer(resp, 401,
               "clock skew: the request is dated %lld s %s the relay's clock; take the time "
               "from Homthu-Time and sign again",
               (long long)(skew > 0 ? skew : -skew), skew > 0 ? "ahead of" : "behind");
        add_header(resp, "Homthu-Time", "%lld", (long long)t);
        memset(w, 0, sizeof *w);
        goto quiet;
    }
    /*
     * The signature first, with the key the request names: until it holds,
     * the relay says nothing about that key. Someone without a kiosk's
     * secret key learns only "bad signature", whether the key is enrolled,
     * revoked or never seen (an enrolment oracle otherwise, naming the
     * kiosk); whoever signs with a key of their own knows it already.
     */
    if (tlen == 0 || crypto_sign_verify_detached(a.sig, (const uint8_t *)text, tlen, a.key) != 0) {
        answer(resp, 401, "bad signature: the request is not signed by the key it names");
        memset(w, 0, sizeof *w); /* nobody: the key named is not shown to be theirs */
        goto quiet;
    }
    pthread_mutex_lock(&r->auth_lock);
    int rc = dir_find(r, a.key, &e, w->post, why, sizeof why);
    if (rc == REGISTRY_E_NOTFOUND) {
        answer(resp, 403, "unknown device: kiosk key %s is not enrolled at the post", w->fp);
        goto out;
    }
    if (rc) {
        say(r, "cannot read the registry: %s", why);
        answer(resp, 503, "the relay cannot read its registry of kiosks: try again later");
        goto out;
    }
    snprintf(w->kiosk, sizeof w->kiosk, "%s", e.id);
    if (e.revoked) {
        answer(resp, 403, "revoked device: kiosk %s was revoked by the post", e.id);
        goto out;
    }
    /*
     * Replays: a signed POST, PATCH or DELETE is good once. A HEAD changes
     * nothing, and a tus client may well ask twice within one second (the
     * same text, so the same signature): it is answered every time, but a
     * repeated HEAD counts against a budget of its own, so that a captured
     * HEAD sent again and again cannot use up the kiosk's rate. The rate is
     * applied before a request is remembered: what the relay remembers of
     * a key is bounded by what the rate lets through (dev_remember).
     */
    uint8_t h[16];
    crypto_generichash(h, sizeof h, a.sig, sizeof a.sig, a.key, sizeof a.key);
    int head = strcmp(method, "HEAD") == 0;
    int wait;
    if (r->st->ops->mark_take) {
        /* Several nodes: the memory and the rates are the store's (shared_requests). */
        refused = shared_requests(r, a.key, h, a.ts, t, head, resp);
        goto out;
    }
    struct dev *d = dev_of(r, a.key);
    if (!d) {
        answer(resp, 503, "the relay is out of memory: try again later");
        goto out;
    }
    if (dev_seen(r, d, h, a.ts, t)) {
        if (!head) {
            answer(resp, 401,
                   "replay: this signed request was used before; sign each request afresh");
            goto out;
        }
        wait = minute_wait(&d->rwindow, &d->rcount, r->cfg.device_requests_per_minute, t);
    } else {
        wait = minute_wait(&d->window, &d->count, r->cfg.device_requests_per_minute, t);
        if (!wait)
            dev_remember(r, d, h, a.ts);
    }
    if (wait) {
        answer(resp, 429, "too many requests: at most %d a minute from one kiosk; retry in %d s",
               r->cfg.device_requests_per_minute, wait);
        add_header(resp, "Retry-After", "%d", wait);
        goto out;
    }
    refused = 0;
out:
    pthread_mutex_unlock(&r->auth_lock);
quiet:
    if (refused && resp->status == 401)
        add_header(resp, "WWW-Authenticate", "Homthu-Device");
    return refused;
}

/* tus headers of an upload (HEAD, PATCH, a repeated POST). */
static void upload_headers(struct relay *r, struct relay_response *resp, const struct store_upload *u)
{
    add_header(resp, "Upload-Offset", "%" PRIu64, u->got);
    add_header(resp, "Upload-Length", "%" PRIu64, u->length);
    add_header(resp, "Cache-Control", "no-store");
    if (u->state == ST_PARTIAL) {
        char d[40];
        http_date(u->updated + r->cfg.partial_ttl_seconds, d);
        add_header(resp, "Upload-Expires", "%s", d);
    } else if (u->state == ST_COMPLETE || u->state == ST_CUT_SHORT) {
        add_header(resp, "Homthu-Verified", "yes");
    } else {
        char c[150];
        clean(u->reason, c, sizeof c);
        add_header(resp, "Homthu-Rejected", "%s", c);
    }
}

static void store_failed(struct relay *r, struct relay_response *resp)
{
    answer(resp, 500, "the relay could not store this (%s): try again later",
           r->st->ops->errmsg(r->st));
}

static uint64_t envelope_min_bytes(void)
{
    return ENVELOPE_HEADER_BYTES + ENVELOPE_CHUNK_CIPHER + ENVELOPE_TRAILER_BYTES;
}

static int envelope_size_ok(uint64_t n)
{
    uint64_t fixed = ENVELOPE_HEADER_BYTES + ENVELOPE_TRAILER_BYTES;
    return n >= envelope_min_bytes() && (n - fixed) % ENVELOPE_CHUNK_CIPHER == 0;
}

/* The length and content of a body the relay did not ask for. */
static int has_body(const struct relay_request *q)
{
    const char *cl = header(q, "Content-Length");
    if (header(q, "Transfer-Encoding"))
        return 1;
    return cl && strcmp(cl, "0") != 0;
}

static int run_job(struct relay *r, int (*fn)(struct relay *, void *), void *arg);
static void end_stale(struct relay *r, const uint8_t id[16], const struct who *w);

struct create {
    uint8_t id[16];
    char hex[33];
    uint64_t length;
    const struct who *w;
    struct relay_response *resp;
};

/* The writes of a POST, in the writer's transaction: 0, or -1 when the store failed. */
static int create_job(struct relay *r, void *arg)
{
    struct create *cr = arg;
    struct relay_response *resp = cr->resp;
    const struct who *w = cr->w;
    const char *hex = cr->hex;
    uint64_t length = cr->length;
    struct store_upload u;
    int64_t t = now(r);
    int rc = -1;
    int found = upload_get(r, cr->id, &u);
    if (found < 0) {
        store_failed(r, resp);
        goto out;
    }
    if (found) {
        rc = 0;
        if (memcmp(u.device, w->key, 32) != 0) {
            /* Another kiosk's upload is none of its business: what HEAD or PATCH would say. */
            answer(resp, 404, "no such upload (it never existed, expired or was terminated)");
            goto out;
        }
        if (u.state == ST_REJECTED) {
            /*
             * Its owner creating it again after a 422: the envelope the
             * relay got was not what the kiosk sealed (a byte changed in
             * transit; the request signature does not cover the body), and
             * the kiosk's own copy is whole. The refused bytes go and a
             * fresh upload starts at offset 0, so a good copy can always
             * replace a bad one. Nothing verified is ever replaced: only a
             * refused upload, which was never served as a tip.
             */
            say(r, "tip %s: kiosk %s creates it again after a refusal (%s): starting afresh", hex,
                w->kiosk, u.reason);
            found = 0;
            rc = -1;
        } else if (u.length != length) {
            answer(resp, 409, "tip %s was created with Upload-Length %" PRIu64 ", not %" PRIu64,
                   hex, u.length, length);
            goto out;
        }
    }
    if (found) {
        /* Idempotent by tip id: the same upload, the bytes already here kept. */
        resp->status = 201;
        add_header(resp, "Location", "/files/%s", hex);
        upload_headers(r, resp, &u);
        say(r, "tip %s: creation repeated by kiosk %s, %" PRIu64 " of %" PRIu64 " bytes kept", hex,
            w->kiosk, u.got, u.length);
        goto out;
    }
    uint64_t held = 0;
    /* A refused upload being replaced (the same id) does not count. */
    if (r->st->ops->device_held(r->st, w->key, cr->id, &held)) {
        store_failed(r, resp);
        goto out;
    }
    if (held + length > r->cfg.device_quota_bytes) {
        rc = 0;
        answer(resp, 507,
               "over quota: kiosk %s has %" PRIu64
               " bytes waiting for the post, the limit is %" PRIu64
               "; retry once the post has fetched its tips",
               w->kiosk, held, r->cfg.device_quota_bytes);
        goto out;
    }
    delete_upload(r, cr->id); /* no stray bytes under a new upload, whatever came before */
    if (r->st->ops->upload_insert(r->st, cr->id, w->key, length, t, w->kiosk, w->post)) {
        store_failed(r, resp);
        goto out;
    }
    memset(&u, 0, sizeof u);
    u.length = length;
    u.updated = t;
    resp->status = 201;
    add_header(resp, "Location", "/files/%s", hex);
    upload_headers(r, resp, &u);
    say(r, "tip %s created by kiosk %s (key %s): %" PRIu64 " bytes to come", hex, w->kiosk, w->fp,
        length);
    rc = 0;
out:
    return rc;
}

static void tus_create(struct relay *r, const struct relay_request *q, const struct who *w,
                       struct relay_response *resp)
{
    struct create cr = {.w = w, .resp = resp};
    char why[256];
    if (has_body(q)) {
        answer(resp, 400,
               "POST /files/ takes no body (creation-with-upload is not offered): "
               "create, then PATCH");
        return;
    }
    const char *ul = header(q, "Upload-Length");
    if (!ul) {
        answer(resp, 400, "Upload-Length is required (Upload-Defer-Length is not offered)");
        return;
    }
    if (relay_parse_u64(ul, &cr.length)) {
        answer(resp, 400, "Upload-Length is not a whole number of bytes");
        return;
    }
    if (cr.length > r->cfg.max_tip_bytes) {
        answer(resp, 413,
               "Upload-Length %" PRIu64 " is over this relay's limit of %" PRIu64 " bytes",
               cr.length, r->cfg.max_tip_bytes);
        add_header(resp, "Tus-Max-Size", "%" PRIu64, r->cfg.max_tip_bytes);
        return;
    }
    if (!envelope_size_ok(cr.length)) {
        answer(resp, 400,
               "Upload-Length %" PRIu64 " cannot be an envelope (%d + N x %d + %d bytes)",
               cr.length, ENVELOPE_HEADER_BYTES, ENVELOPE_CHUNK_CIPHER, ENVELOPE_TRAILER_BYTES);
        return;
    }
    if (relay_parse_metadata(header(q, "Upload-Metadata"), cr.id, why, sizeof why)) {
        answer(resp, 400, "Upload-Metadata: %s", why);
        return;
    }
    hex16(cr.id, cr.hex);
    /* A kiosk creating again has given up on any PATCH it still has open. */
    end_stale(r, cr.id, w);
    if (!run_job(r, create_job, &cr)) {
        relay_response_clear(resp);
        answer(resp, 500, "the relay could not store this: try again later");
    }
}

/*
 * Look up an upload for its owner; 1 with `u`, or 0 with the refusal in
 * resp. With `held`, the caller holds db_lock; else it is read through
 * the reader.
 */
static int own_upload(struct relay *r, const uint8_t id[16], const struct who *w, struct store_upload *u,
                      struct relay_response *resp, int held)
{
    int found = held ? upload_get(r, id, u) : upload_peek(r, id, u);
    if (found < 0) {
        store_failed(r, resp);
        return 0;
    }
    /* Another kiosk's upload is none of its business: the same 404 as none at all. */
    if (!found || memcmp(u->device, w->key, 32) != 0) {
        answer(resp, 404, "no such upload (it never existed, expired or was terminated)");
        return 0;
    }
    return 1;
}

static void tus_head(struct relay *r, const uint8_t id[16], const struct who *w,
                     struct relay_response *resp)
{
    struct store_upload u;
    /* A kiosk asking where its upload stands has given up on any PATCH it still has open. */
    end_stale(r, id, w);
    if (own_upload(r, id, w, &u, resp, 0)) {
        resp->status = 200;
        upload_headers(r, resp, &u);
    }
}

static void tus_delete(struct relay *r, const uint8_t id[16], const struct who *w,
                       struct relay_response *resp)
{
    struct store_upload u;
    char hex[33];
    hex16(id, hex);
    end_stale(r, id, w);
    pthread_mutex_lock(&r->db_lock);
    if (!own_upload(r, id, w, &u, resp, 1))
        goto out;
    if (u.state != ST_PARTIAL) {
        /* Nothing lost: once verified, the kiosk has deleted its copy. */
        answer(resp, 403, "tip %s is complete: only the post removes it", hex);
        goto out;
    }
    if (r->st->ops->upload_delete(r->st, id)) {
        store_failed(r, resp);
        goto out;
    }
    resp->status = 204;
    say(r, "tip %s terminated by kiosk %s after %" PRIu64 " of %" PRIu64 " bytes", hex, w->kiosk,
        u.got, u.length);
out:
    pthread_mutex_unlock(&r->db_lock);
}

/*
 * The bytes of upload `id` on disk, [0, n), into `out`: through the reader
 * (the last commit; no wait for a flush in progress), or the store itself
 * without one. 0, or -1 when they cannot be read or do not join up.
 */
static int read_back(struct relay *r, const uint8_t id[16], uint8_t *out, uint64_t n)
{
    int reader = r->st->has_reader;
    pthread_mutex_t *lock = reader ? &r->rd_lock : &r->db_lock;
    pthread_mutex_lock(lock);
    int rc = r->st->ops->read_parts(r->st, reader, id, out, n);
    pthread_mutex_unlock(lock);
    return rc == 0 ? 0 : -1;
}

/* Whether `key_id` is post `post`'s key (a relay of many posts). */
static int sealed_to_post(struct relay *r, const char *post, const uint8_t key_id[8])
{
    char name[STORE_POST_MAX + 1];
    uint8_t want[8];
    pthread_mutex_lock(&r->auth_lock);
    int found = r->st->ops->post_find(r->st, NULL, post, name, want);
    pthread_mutex_unlock(&r->auth_lock);
    return found == 1 && sodium_memcmp(want, key_id, 8) == 0;
}

/*
 * The whole envelope is here (its last bytes in `tail`, the rest on disk):
 * check its structure and signature against the registry, and say what
 * the upload becomes (`state`, and `why` when refused). In the request's
 * own thread, so that the writer only writes (docs/relay.md). 0, or -1
 * when it could not be checked (store, memory: the kiosk retries).
 */
static int check_envelope(struct relay *r, const struct relay_call *c, const uint8_t *tail,
                          size_t ntail, int *state, char *why, size_t whylen)
{
    uint64_t length = c->length, head = length - ntail;
    uint8_t *env = malloc(length ? length : 1);
    int rc = -1;
    if (!env) {
        say(r, "tip %s: out of memory to check %" PRIu64 " bytes", c->hex, length);
        return -1;
    }
    if (read_back(r, c->id, env, head)) {
        say(r, "tip %s: cannot read it back from the store", c->hex);
        goto out;
    }
    memcpy(env + head, tail, ntail);
    why[0] = 0;
    int v = envelope_verify_outer(env, length, device_check, r, r->cfg.max_tip_bytes, why, whylen);
    if (v == ENVELOPE_E_NOMEM)
        goto out;
    if (v == 0 || v == ENVELOPE_E_CUT_SHORT) {
        *state = v == 0 ? ST_COMPLETE : ST_CUT_SHORT;
        struct envelope_header_info info;
        if (envelope_parse_header(env, length, &info, NULL, 0) == 0) {
            char other[33];
            hex16(info.tip_id, other);
            if (memcmp(info.tip_id, c->id, 16) != 0) {
                *state = ST_REJECTED;
                snprintf(why, whylen, "the envelope is tip %s, but was uploaded as tip %s", other,
                         c->hex);
            } else if (memcmp(info.device_pk, c->who.key, 32) != 0) {
                *state = ST_REJECTED;
                snprintf(why, whylen, "the envelope was signed by another kiosk's key");
            } else if (many_posts(r) && !sealed_to_post(r, c->who.post, info.post_key_id)) {
                /* Each post sees only what it can open: its kiosks seal to its key. */
                *state = ST_REJECTED;
                snprintf(why, whylen, "the envelope is sealed to another post's key than post %s's",
                         c->who.post);
            }
        }
    } else {
        *state = ST_REJECTED;
    }
    rc = 0;
out:
    sodium_memzero(env, length);
    free(env);
    return rc;
}

/*
 * The last byte is written: settle the upload's state as checked, and give
 * a verified tip its place in the post's order. Inside the writer's
 * transaction, db_lock held. 0, or -1 when the store failed (rolled back,
 * the kiosk retries).
 */
static int settle(struct relay *r, const struct relay_call *c)
{
    int state = c->verdict;
    int64_t cursor = 0;
    if (r->st->ops->upload_settle(r->st, c->id, state, now(r), c->why, &cursor))
        return -1;
    if (state == ST_REJECTED)
        say(r, "tip %s from kiosk %s refused (422, %" PRIu64 " bytes): %s", c->hex, c->who.kiosk,
            c->length, c->why);
    else
        say(r, "tip %s from kiosk %s verified: %s, %" PRIu64 " bytes, cursor %" PRId64, c->hex,
            c->who.kiosk, state == ST_COMPLETE ? "complete" : "cut short", c->length, cursor);
    return 0;
}

/* ---------------------------------------------------------------- the writer (group commit) */

/*
 * Where the last whole piece of the envelope at or below `pos` ends: the
 * header (176 bytes), then each chunk (4113), then the end (the 76-byte
 * trailer counts with the last chunk). A cut keeps bytes up to here.
 */
static uint64_t whole_below(uint64_t pos, uint64_t length)
{
    const uint64_t H = ENVELOPE_HEADER_BYTES, C = ENVELOPE_CHUNK_CIPHER;
    if (pos >= length)
        return length;
    if (pos < H)
        return 0;
    return H + (pos - H) / C * C;
}

/*
 * Bytes of `c` the writer may commit now. The last piece waits for the
 * envelope's check (check_envelope): the writer writes the verdict with
 * it. commit_lock held.
 */
static size_t take_size(const struct relay_call *c)
{
    if (c->fail)
        return 0;
    uint64_t end = c->final ? c->expect + c->nbuf : whole_below(c->expect + c->nbuf, c->length);
    if (c->npieces && end > c->vpos)
        end = c->vpos; /* only what matched the kiosk's digests */
    if (end == c->length && !c->checked)
        end = whole_below(c->length - 1, c->length);
    return end > c->expect ? (size_t)(end - c->expect) : 0;
}

/* commit_lock held. */
static void enqueue(struct relay *r, struct job *j)
{
    j->next = NULL;
    if (r->jobs_tail)
        r->jobs_tail->next = j;
    else
        r->jobs = j;
    r->jobs_tail = j;
    pthread_cond_signal(&r->commit_work);
}

/* Hand `c`'s whole chunks to the writer unless it has some already. commit_lock held. */
static void call_kick(struct relay_call *c)
{
    if (!c->queued && take_size(c) > 0) {
        c->queued = 1;
        enqueue(c->r, &c->job);
    }
}

/*
 * Write the bytes the writer took from `c`, if the upload still stands
 * where they belong (another PATCH may have moved it: then this one fails
 * with 409 and its bytes are dropped, never spliced in). In the batch's
 * transaction; 0, or -1 to roll back.
 */
static int call_write(struct relay *r, struct relay_call *c, struct job *j)
{
    struct store_upload u;
    int found = upload_get(r, c->id, &u);
    if (found <= 0 || memcmp(u.device, c->who.key, 32) != 0) {
        j->status = found < 0 ? 500 : 404;
        snprintf(j->msg, sizeof j->msg, "%s",
                 found < 0 ? "the relay could not store this: try again later"
                           : "no such upload (it expired or was terminated meanwhile)");
        return -1;
    }
    if (u.got != j->at || u.state != ST_PARTIAL) {
        j->status = 409;
        snprintf(j->msg, sizeof j->msg,
                 "Upload-Offset %" PRIu64 " is no longer where this upload stands (%" PRIu64
                 "): another PATCH moved it; ask with HEAD and resume from there",
                 j->at, u.got);
        return -1;
    }
    uint64_t got = j->at + j->n;
    if (r->st->ops->part_append(r->st, c->id, j->at, c->buf, j->n, now(r)))
        goto failed;
    if (got == c->length && settle(r, c))
        goto failed;
    return 0;
failed:
    j->status = 500;
    snprintf(j->msg, sizeof j->msg, "the relay could not store this (%s): try again later",
             r->st->ops->errmsg(r->st));
    return -1;
}

/* The batch is over: tell the call how its bytes fared. commit_lock held. */
static void call_finish(struct relay_call *c, int ok)
{
    struct job *j = &c->job;
    c->queued = 0;
    if (j->n == 0)
        return;
    if (ok) {
        memmove(c->buf, c->buf + j->n, c->nbuf - j->n);
        c->nbuf -= j->n;
        c->expect += j->n;
    } else if (!c->fail) {
        c->fail = j->status ? j->status : 500;
        snprintf(c->failmsg, sizeof c->failmsg, "%s",
                 j->status ? j->msg : "the relay could not store this: try again later");
    }
    if (c->fail)
        c->nbuf = 0;
    else
        call_kick(c); /* whole chunks that came while these were written */
}

static void *writer_main(void *arg)
{
    struct relay *r = arg;
    pthread_mutex_lock(&r->commit_lock);
    for (;;) {
        while (!r->jobs && !r->writer_stop)
            pthread_cond_wait(&r->commit_work, &r->commit_lock);
        if (!r->jobs)
            break;
        struct job *batch = r->jobs;
        r->jobs = r->jobs_tail = NULL;
        for (struct job *j = batch; j; j = j->next)
            if (j->call) {
                j->at = j->call->expect;
                j->n = take_size(j->call);
                j->status = 0;
            }
        pthread_mutex_unlock(&r->commit_lock);

        pthread_mutex_lock(&r->db_lock);
        int ok = r->st->ops->begin(r->st) == 0;
        if (!ok)
            store_said(r, "beginning a transaction");
        for (struct job *j = batch; j && ok; j = j->next) {
            if (j->call && j->n == 0)
                continue;
            /* Each job's writes stand or fall alone; the batch commits once. */
            if (r->st->ops->savepoint(r->st)) {
                j->status = 500;
                continue;
            }
            int rc = j->call ? call_write(r, j->call, j) : j->fn(r, j->arg);
            if (rc) {
                if (!j->call)
                    j->status = 500;
                r->st->ops->rollback_to(r->st);
            }
            r->st->ops->release(r->st);
        }
        if (ok && r->st->ops->commit(r->st)) {
            store_said(r, "committing");
            r->st->ops->rollback(r->st);
            ok = 0;
        }
        pthread_mutex_unlock(&r->db_lock);
        if (ok) {
            r->commits++;
            for (struct job *j = batch; j; j = j->next)
                r->writes += !j->call || j->n > 0;
        }

        pthread_mutex_lock(&r->commit_lock);
        for (struct job *j = batch, *next; j; j = next) {
            next = j->next;
            if (j->call) {
                call_finish(j->call, ok && j->status == 0);
            } else {
                j->committed = ok;
                j->done = 1;
            }
        }
        pthread_cond_broadcast(&r->commit_done);
    }
    pthread_mutex_unlock(&r->commit_lock);
    return NULL;
}

/*
 * Run `fn` in the writer's next transaction and wait until that is on
 * disk. Returns 1 when it is, 0 when the transaction failed (what `fn`
 * wrote is gone). Never from the writer itself.
 */
static int run_job(struct relay *r, int (*fn)(struct relay *, void *), void *arg)
{
    struct job j = {.fn = fn, .arg = arg};
    pthread_mutex_lock(&r->commit_lock);
    enqueue(r, &j);
    while (!j.done)
        pthread_cond_wait(&r->commit_done, &r->commit_lock);
    pthread_mutex_unlock(&r->commit_lock);
    return j.committed;
}

/* Until the writer is done with `c`'s bytes. commit_lock held. */
static void call_settle_down(struct relay_call *c)
{
    while (c->queued)
        pthread_cond_wait(&c->r->commit_done, &c->r->commit_lock);
}

static void body_locked(struct relay_call *c, const uint8_t *bytes, size_t len);
static void match_pieces(struct relay_call *c);

/*
 * Acknowledge at once what came on `fd`. A sender that holds small
 * segments until its last one is acknowledged (Nagle, as most proxies and
 * stacks do by default) may hold bytes it already wrote behind our delayed
 * acknowledgment (up to 40 ms on Linux): let them come before the end.
 */
static void quick_ack(int fd)
{
    int one = 1;
    (void)setsockopt(fd, IPPROTO_TCP, TCP_QUICKACK, &one, sizeof one);
}

/*
 * Take what already reached a stale PATCH before it is ended: bytes in its
 * socket, and bytes libmicrohttpd read but has not handed over yet. On
 * loopback or a fast link the kiosk's next request comes right behind the
 * cut, before the stale connection's worker has read what came; ending it
 * then would drop whole chunks that had arrived. commit_lock held (it is
 * let go while waiting).
 *
 * Served by another worker: stop its reading (shutdown SHUT_RD keeps what
 * is queued readable, then reads as the end), so that worker hands over
 * every byte that came, sees the end and lets the PATCH go as a cut one;
 * wait for that, at most STALE_DRAIN_MS (a PATCH still sending is ended
 * anyway then). Served by this very worker (which cannot serve it while
 * here): that worker has handed over all it read, so what came is in the
 * socket; read it here, plain HTTP with a declared length only (with TLS
 * or a chunked body the bytes are not the body's, and the tail is lost).
 */
static void drain_stale(struct relay_call *c)
{
    struct relay *r = c->r;
    if (c->fd < 0)
        return;
    if (pthread_equal(c->thread, pthread_self())) {
        if (r->cfg.tls_cert[0] || !c->declared)
            return;
        uint8_t buf[16384];
        quick_ack(c->fd);
        while (!c->ended && !c->fail && c->got < c->content_length) {
            uint64_t left = c->content_length - c->got;
            ssize_t n =
                recv(c->fd, buf, left < sizeof buf ? (size_t)left : sizeof buf, MSG_DONTWAIT);
            if (n <= 0)
                break;
            body_locked(c, buf, (size_t)n);
        }
        sodium_memzero(buf, sizeof buf);
        return;
    }
    if (!c->draining) {
        c->draining = 1;
        quick_ack(c->fd);
        shutdown(c->fd, SHUT_RD);
    }
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += STALE_DRAIN_MS / 1000;
    until.tv_nsec += (long)(STALE_DRAIN_MS % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    while (!c->closed &&
           pthread_cond_timedwait(&r->commit_done, &r->commit_lock, &until) != ETIMEDOUT)
        ;
}

/*
 * A request of the kiosk for upload `id` (HEAD, PATCH, POST, DELETE) means
 * any PATCH of it still open is dead: the link went down and the relay has
 * not noticed (a silent link can take connection_timeout_seconds). End it
 * now: take what had reached it, keep its whole chunks, drop the rest,
 * close its connection, so the answer to this request says where to resume.
 */
static void end_stale(struct relay *r, const uint8_t id[16], const struct who *w)
{
    pthread_mutex_lock(&r->commit_lock);
again:
    for (struct relay_call *c = r->live; c; c = c->live_next) {
        /* Ended with its bytes on disk, or gone: nothing to wait for. */
        if (c->closed || (c->ended && !c->queued) || memcmp(c->id, id, 16) != 0 ||
            memcmp(c->who.key, w->key, 32) != 0)
            continue;
        c->refs++;
        if (!c->ended)
            drain_stale(c);
        int here = !c->ended;
        if (here) {
            c->ended = c->superseded = 1;
            call_kick(c);
        }
        /* However it ended, its whole chunks are on disk before this request is answered. */
        call_settle_down(c);
        if (here) {
            if (c->fd >= 0)
                shutdown(c->fd, SHUT_RDWR); /* its worker sees the end and lets it go */
            say(r,
                "tip %s: PATCH from kiosk %s ended by a newer request for the upload after "
                "%" PRIu64 " bytes; the upload stands at %" PRIu64 " of %" PRIu64,
                c->hex, c->who.kiosk, c->got, c->expect, c->length);
        }
        c->refs--;
        pthread_cond_broadcast(&r->commit_done);
        goto again; /* the list may have changed while we waited */
    }
    pthread_mutex_unlock(&r->commit_lock);
}

/* Out of the live list, and nobody else's business any more. commit_lock held. */
static void call_retire(struct relay_call *c)
{
    struct relay *r = c->r;
    call_settle_down(c);
    for (struct relay_call **p = &r->live; *p; p = &(*p)->live_next)
        if (*p == c) {
            *p = c->live_next;
            break;
        }
    c->closed = 1;
    pthread_cond_broadcast(&r->commit_done); /* a newer request may wait for this end */
    while (c->refs || c->queued)
        pthread_cond_wait(&r->commit_done, &r->commit_lock);
}

static void tus_patch(struct relay *r, const struct relay_request *q, const uint8_t id[16],
                      const struct who *w, struct relay_call **callp, struct relay_response *resp)
{
    const char *ct = header(q, "Content-Type");
    uint64_t offset, cl = 0;
    if (!ct || strcasecmp(ct, "application/offset+octet-stream") != 0) {
        answer(resp, 415, "PATCH needs Content-Type: application/offset+octet-stream");
        return;
    }
    if (relay_parse_u64(header(q, "Upload-Offset"), &offset)) {
        answer(resp, 400, "Upload-Offset is missing or not a whole number of bytes");
        return;
    }
    const char *cls = header(q, "Content-Length");
    int declared = cls != NULL && !header(q, "Transfer-Encoding");
    if (declared && relay_parse_u64(cls, &cl)) {
        answer(resp, 400, "Content-Length is not a whole number of bytes");
        return;
    }
    uint8_t pieces[PIECES_MAX][PIECE_DIGEST_BYTES];
    unsigned npieces = 0;
    const char *pv = header(q, "Homthu-Pieces");
    if (pv && !declared) {
        answer(resp, 411, "a PATCH with Homthu-Pieces needs a Content-Length");
        return;
    }
    struct store_upload u;
    char hex[33];
    hex16(id, hex);
    /* A kiosk sending again has given up on the PATCH it may still have open. */
    end_stale(r, id, w);
    if (!own_upload(r, id, w, &u, resp, 0))
        return;
    if (offset != u.got) {
        answer(resp, 409,
               "Upload-Offset %" PRIu64 " is not where this upload stands (%" PRIu64
               "): ask with HEAD and resume from there",
               offset, u.got);
        add_header(resp, "Upload-Offset", "%" PRIu64, u.got);
        return;
    }
    if ((declared && cl > u.length - u.got) || (!declared && u.got == u.length)) {
        answer(resp, 413,
               "a PATCH of %s bytes at offset %" PRIu64 " would pass the Upload-Length of %" PRIu64,
               declared ? cls : "more", offset, u.length);
        return;
    }
    if (declared && cl == 0) {
        /* Nothing to add: say where the upload stands (verified or not). */
        resp->status = 204;
        upload_headers(r, resp, &u);
        return;
    }
    if (pv) {
        if (parse_pieces(pv, offset, cl, u.length, pieces, &npieces)) {
            answer(resp, 400,
                   "Homthu-Pieces must be the base64 of one %d-byte digest for each whole piece "
                   "of the envelope (header, chunk, trailer) in this PATCH, which starts and "
                   "ends at a piece's edge",
                   PIECE_DIGEST_BYTES);
            return;
        }
    }
    struct relay_call *c = calloc(1, sizeof *c);
    if (!c) {
        answer(resp, 503, "the relay is out of memory: try again later");
        return;
    }
    c->r = r;
    c->who = *w;
    memcpy(c->id, id, 16);
    memcpy(c->hex, hex, sizeof hex);
    c->length = u.length;
    c->expect = u.got;
    c->room = u.length - u.got;
    c->declared = declared;
    c->content_length = cl;
    c->capbuf = c->room < BODY_HELD_MAX ? (size_t)c->room : BODY_HELD_MAX;
    if (npieces) {
        memcpy(c->pieces, pieces, (size_t)npieces * PIECE_DIGEST_BYTES);
        c->npieces = npieces;
        c->vpos = u.got;
    }
    c->buf = malloc(c->capbuf);
    if (!c->buf) {
        free(c);
        answer(resp, 503, "the relay is out of memory: try again later");
        return;
    }
    c->job.call = c;
    c->fd = -1;
    pthread_mutex_lock(&r->commit_lock);
    c->live_next = r->live;
    r->live = c;
    pthread_mutex_unlock(&r->commit_lock);
    *callp = c;
}

/* relay_call_body with commit_lock held (it is let go while the disk is behind). */
static void body_locked(struct relay_call *c, const uint8_t *bytes, size_t len)
{
    struct relay *r = c->r;
    c->got += len;
    if (!c->fail && !c->ended && len > c->room) {
        /* Only a chunked body can bring more than it may; a declared one is cut by MHD. */
        c->fail = 413;
        snprintf(c->failmsg, sizeof c->failmsg,
                 "the PATCH brings more than the Upload-Length of %" PRIu64, c->length);
    }
    while (len && !c->fail && !c->ended) {
        if (c->nbuf == c->capbuf) {
            /* The disk is behind: wait for it (a full buffer always holds a whole chunk). */
            call_kick(c);
            if (!c->queued) {
                c->fail = 500;
                snprintf(c->failmsg, sizeof c->failmsg, "the relay lost track of this PATCH");
                break;
            }
            pthread_cond_wait(&r->commit_done, &r->commit_lock);
            continue;
        }
        size_t n = c->capbuf - c->nbuf;
        if (n > len)
            n = len;
        /* Behind the bytes the writer may be reading: those never move meanwhile. */
        memcpy(c->buf + c->nbuf, bytes, n);
        c->nbuf += n;
        c->room -= n;
        bytes += n;
        len -= n;
        if (c->npieces)
            match_pieces(c);
        call_kick(c);
    }
}

void relay_call_body(struct relay_call *c, const uint8_t *bytes, size_t len)
{
    if (!c || !len)
        return;
    if (c->small) {
        /* One thread per request: no lock. What does not fit only counts. */
        size_t room = sizeof c->sbuf - c->sn, take = len < room ? len : room;
        memcpy(c->sbuf + c->sn, bytes, take);
        c->sn += take;
        c->sover |= take < len;
        c->got += len;
        return;
    }
    pthread_mutex_lock(&c->r->commit_lock);
    body_locked(c, bytes, len);
    pthread_mutex_unlock(&c->r->commit_lock);
}

/*
 * Check each piece that came whole against its digest, in order. The
 * first that does not match ends the PATCH: it and all after it are
 * dropped (the writer reads only matched bytes: take_size), what matched
 * before it is kept. commit_lock held.
 */
static void match_pieces(struct relay_call *c)
{
    while (!c->mismatch && c->vpiece < c->npieces) {
        uint64_t end = envelope_piece_end(c->vpos, c->length);
        if (end > c->expect + c->nbuf)
            return; /* not all here yet */
        const uint8_t *p = c->buf + (c->vpos - c->expect);
        uint8_t d[PIECE_DIGEST_BYTES];
        crypto_generichash(d, sizeof d, p, (size_t)(end - c->vpos), NULL, 0);
        if (sodium_memcmp(d, c->pieces[c->vpiece], sizeof d) != 0) {
            c->mismatch = c->ended = 1;
            sodium_memzero(c->buf + (c->vpos - c->expect), c->expect + c->nbuf - c->vpos);
            c->nbuf = (size_t)(c->vpos - c->expect);
            return;
        }
        c->vpos = end;
        c->vpiece++;
    }
}

/*
 * All of the envelope came: check it here, outside every lock, and let its
 * last piece go with the verdict. What went before is on disk up to
 * `expect` (readable through the reader), the rest in the call's buffer,
 * which the writer may be writing from meanwhile: checked from a copy, so
 * no flush is waited for. commit_lock held (let go meanwhile).
 */
static void call_check(struct relay_call *c)
{
    struct relay *r = c->r;
    if (c->fail || c->checked || c->expect + c->nbuf != c->length)
        return;
    size_t n = c->nbuf;
    uint8_t *tail = malloc(n ? n : 1);
    if (tail)
        memcpy(tail, c->buf, n);
    pthread_mutex_unlock(&r->commit_lock);
    int state = ST_REJECTED, rc = -1;
    char why[300] = "";
    if (tail)
        rc = check_envelope(r, c, tail, n, &state, why, sizeof why);
    else
        say(r, "tip %s: out of memory to check %" PRIu64 " bytes", c->hex, c->length);
    if (tail)
        sodium_memzero(tail, n);
    free(tail);
    pthread_mutex_lock(&r->commit_lock);
    if (rc) {
        c->fail = 500;
        snprintf(c->failmsg, sizeof c->failmsg,
                 "the relay could not check the envelope: try again later");
        return;
    }
    c->verdict = state;
    snprintf(c->why, sizeof c->why, "%s", why);
    c->checked = 1;
}

static void call_free(struct relay_call *c)
{
    if (!c)
        return;
    if (c->buf)
        sodium_memzero(c->buf, c->capbuf);
    free(c->buf);
    free(c);
}

void relay_call_abort(struct relay_call *c)
{
    if (!c)
        return;
    if (c->small) {
        call_free(c); /* a heartbeat or an order cut off is as if never sent */
        return;
    }
    struct relay *r = c->r;
    pthread_mutex_lock(&r->commit_lock);
    if (!c->ended) {
        /* The link died: the whole chunks that came are kept, the piece of one is not. */
        c->ended = 1;
        call_check(c); /* all of it came after all (a chunked body's end was lost) */
        call_kick(c);
        call_settle_down(c);
        if (c->draining)
            say(r,
                "tip %s: PATCH from kiosk %s ended by a newer request for the upload after "
                "%" PRIu64 " bytes; the upload stands at %" PRIu64 " of %" PRIu64,
                c->hex, c->who.kiosk, c->got, c->expect, c->length);
        else
            say(r,
                "tip %s: PATCH from kiosk %s cut off after %" PRIu64
                " bytes; the upload stands at %" PRIu64 " of %" PRIu64,
                c->hex, c->who.kiosk, c->got, c->expect, c->length);
    }
    call_retire(c);
    pthread_mutex_unlock(&r->commit_lock);
    call_free(c);
}

static void small_end(struct relay_call *c, struct relay_response *resp);

void relay_call_end(struct relay_call *c, struct relay_response *resp)
{
    memset(resp, 0, sizeof *resp);
    if (!c) {
        answer(resp, 500, "no request in progress");
        return;
    }
    if (c->small) {
        small_end(c, resp);
        call_free(c);
        return;
    }
    struct relay *r = c->r;
    pthread_mutex_lock(&r->commit_lock);
    if (c->superseded && !c->fail) {
        c->fail = 409;
        snprintf(c->failmsg, sizeof c->failmsg,
                 "this PATCH was ended by a newer request for the upload; ask with HEAD and "
                 "resume from there");
    } else if (!c->ended) {
        c->ended = c->final = 1; /* every byte now, whole chunks or not */
        call_check(c);
        call_kick(c);
    }
    call_retire(c);
    pthread_mutex_unlock(&r->commit_lock);
    if (!c->fail && c->mismatch) {
        /* What matched before the bad piece is kept: Upload-Offset says where it stands. */
        c->fail = 460;
        snprintf(c->failmsg, sizeof c->failmsg,
                 "checksum mismatch: piece %u of this PATCH is not what the kiosk signed "
                 "(changed on the way); it and what followed were dropped: resume from "
                 "Upload-Offset",
                 c->vpiece + 1);
    }
    if (!c->fail && c->declared && c->got != c->content_length) {
        c->fail = 400;
        snprintf(c->failmsg, sizeof c->failmsg,
                 "the body held %" PRIu64 " bytes, not the Content-Length of %" PRIu64
                 "; the upload stands at %" PRIu64,
                 c->got, c->content_length, c->expect);
    }
    struct store_upload u;
    int found = upload_peek(r, c->id, &u);
    if (c->fail) {
        answer(resp, c->fail, "%s", c->failmsg);
        if (found == 1)
            add_header(resp, "Upload-Offset", "%" PRIu64, u.got);
    } else if (found != 1) {
        answer(resp, found < 0 ? 500 : 404, "%s",
               found < 0 ? "the relay could not read this upload back: try again later"
                         : "no such upload (it expired or was terminated meanwhile)");
    } else if (u.state == ST_REJECTED) {
        answer(resp, 422, "envelope refused: %s", u.reason);
        upload_headers(r, resp, &u);
    } else {
        resp->status = 204;
        upload_headers(r, resp, &u);
    }
    add_header(resp, "Tus-Resumable", "1.0.0");
    if (resp->status >= 400 && resp->status != 422)
        say(r, "PATCH /files/%s from kiosk %s: %d %.*s", c->hex, c->who.kiosk, resp->status,
            resp->body_len ? (int)resp->body_len - 1 : 0, resp->body ? resp->body : "");
    call_free(c);
}

/* ---------------------------------------------------------------- the post's API */

static int post_authorized(struct relay *r, const struct relay_request *q,
                           struct relay_response *resp, char post[STORE_POST_MAX + 1])
{
    post[0] = 0;
    const char *a = header(q, "Authorization");
    if (!a || strncasecmp(a, "Bearer ", 7) != 0) {
        answer(resp, 401,
               "missing post token: send Authorization: Bearer <post_token of "
               "relay.conf>");
        add_header(resp, "WWW-Authenticate", "Bearer realm=\"homthu-relay\"");
        return 0;
    }
    const char *tok = a + 7;
    while (*tok == ' ')
        tok++;
    /* Hash both sides: equal-length compare in constant time, length not leaked. */
    uint8_t h[32];
    crypto_generichash(h, sizeof h, (const uint8_t *)tok, strlen(tok), NULL, 0);
    if (many_posts(r)) {
        /* Each post its own token: the store finds the post by the token's hash. */
        uint8_t key_id[8];
        pthread_mutex_lock(&r->auth_lock);
        int found = r->st->ops->post_find(r->st, h, NULL, post, key_id);
        pthread_mutex_unlock(&r->auth_lock);
        if (found < 0) {
            say(r, "store error: finding a post: %s", r->st->ops->errmsg(r->st));
            answer(resp, 503, "the relay cannot check the post token now: try again later");
            return 0;
        }
        if (found == 1)
            return 1;
        answer(resp, 401, "wrong post token");
        add_header(resp, "WWW-Authenticate", "Bearer realm=\"homthu-relay\"");
        return 0;
    }
    if (sodium_memcmp(h, r->token_hash, sizeof h) != 0) {
        answer(resp, 401, "wrong post token");
        add_header(resp, "WWW-Authenticate", "Bearer realm=\"homthu-relay\"");
        return 0;
    }
    return 1;
}

struct buf {
    char *p;
    size_t n, cap;
    int oom;
};

static void buf_add(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void buf_add(struct buf *b, const char *fmt, ...)
{
    char tmp[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n < 0 || b->oom)
        return;
    if ((size_t)n >= sizeof tmp)
        n = (int)sizeof tmp - 1;
    if (b->n + (size_t)n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 4096;
        while (cap < b->n + (size_t)n + 1)
            cap *= 2;
        char *np = realloc(b->p, cap);
        if (!np) {
            b->oom = 1;
            return;
        }
        b->p = np;
        b->cap = cap;
    }
    memcpy(b->p + b->n, tmp, (size_t)n + 1);
    b->n += (size_t)n;
}

/* A list being written (post_list, post_heartbeats). */
struct list_out {
    struct buf b;
    int64_t next;
    int first;
};

static int list_tip(void *ctx, const struct store_tip *t)
{
    struct list_out *lo = ctx;
    char hex[33], kiosk[40];
    hex16(t->id, hex);
    /* Kiosk ids are [a-z0-9-] (config_kiosk_id_check); cleaned all the same. */
    size_t j = 0;
    for (size_t i = 0; t->kiosk[i] && j + 1 < sizeof kiosk && i < 32; i++) {
        unsigned char k = (unsigned char)t->kiosk[i];
        kiosk[j++] = (k >= 0x20 && k < 0x7f && k != '"' && k != '\\') ? (char)k : '?';
    }
    kiosk[j] = 0;
    lo->next = t->cursor;
    buf_add(&lo->b,
            "%s{\"id\":\"%s\",\"cursor\":%lld,\"bytes\":%lld,\"received\":%lld,"
            "\"kiosk\":\"%s\",\"state\":\"%s\"}",
            lo->first ? "" : ",", hex, (long long)t->cursor, (long long)t->length,
            (long long)t->received, kiosk, t->state == ST_COMPLETE ? "complete" : "cut_short");
    lo->first = 0;
    return 0;
}

static void post_list(struct relay *r, const char *post, const struct relay_request *q,
                      struct relay_response *resp)
{
    uint64_t after = 0, limit = LIST_LIMIT_DEFAULT;
    const char *a = arg(q, "after"), *l = arg(q, "limit");
    if (a && (relay_parse_u64(a, &after) || after > INT64_MAX)) {
        answer(resp, 400, "after must be a cursor: a whole number, 0 for the start");
        return;
    }
    if (l && (relay_parse_u64(l, &limit) || limit < 1 || limit > LIST_LIMIT_MAX)) {
        answer(resp, 400, "limit must be a whole number from 1 to %d", LIST_LIMIT_MAX);
        return;
    }
    struct list_out lo = {.next = (int64_t)after, .first = 1};
    buf_add(&lo.b, "{\"tips\":[");
    pthread_mutex_lock(&r->db_lock);
    if (r->st->ops->tips_list(r->st, post, (int64_t)after, (int64_t)limit, list_tip, &lo)) {
        store_failed(r, resp);
        goto out;
    }
    buf_add(&lo.b, "],\"next\":%lld}\n", (long long)lo.next);
    if (lo.b.oom) {
        answer(resp, 503, "the relay is out of memory: try again later");
        goto out;
    }
    resp->status = 200;
    resp->body = lo.b.p;
    resp->body_len = lo.b.n;
    lo.b.p = NULL;
    add_header(resp, "Content-Type", "application/json");
    add_header(resp, "Cache-Control", "no-store");
out:
    pthread_mutex_unlock(&r->db_lock);
    free(lo.b.p);
}

static void post_download(struct relay *r, const char *post, const uint8_t id[16],
                          struct relay_response *resp)
{
    struct store_upload u;
    char hex[33];
    hex16(id, hex);
    pthread_mutex_lock(&r->db_lock);
    int found = upload_get(r, id, &u);
    if (found < 0) {
        store_failed(r, resp);
        goto out;
    }
    /* Another post's tip is none of this post's business: the same 404 as none. */
    if (!found || (u.state != ST_COMPLETE && u.state != ST_CUT_SHORT) || strcmp(u.post, post) != 0) {
        answer(resp, 404, "no such tip");
        goto out;
    }
    if (u.purged) {
        answer(resp, 410, "tip %s was fetched, and its bytes deleted since", hex);
        goto out;
    }
    uint8_t *env = malloc(u.length);
    if (!env) {
        answer(resp, 503, "the relay is out of memory: try again later");
        goto out;
    }
    int got = r->st->ops->read_parts(r->st, 0, id, env, u.length);
    if (got == -1) {
        free(env);
        store_failed(r, resp);
        goto out;
    }
    if (got != 0) {
        free(env);
        say(r, "tip %s: the store's pieces do not make up the tip", hex);
        answer(resp, 500,
               "the relay's copy of tip %s is damaged: restore the relay's store "
               "from a backup",
               hex);
        goto out;
    }
    resp->status = 200;
    resp->body = (char *)env;
    resp->body_len = u.length;
    add_header(resp, "Content-Type", "application/octet-stream");
    add_header(resp, "Cache-Control", "no-store");
    say(r, "tip %s downloaded by the post (%" PRIu64 " bytes)", hex, u.length);
out:
    pthread_mutex_unlock(&r->db_lock);
}

static void post_fetched(struct relay *r, const char *post, const uint8_t id[16],
                         struct relay_response *resp)
{
    struct store_upload u;
    char hex[33];
    hex16(id, hex);
    pthread_mutex_lock(&r->db_lock);
    int found = upload_get(r, id, &u);
    if (found < 0) {
        store_failed(r, resp);
        goto out;
    }
    /* Another post's tip is none of this post's business: the same 404 as none. */
    if (!found || (u.state != ST_COMPLETE && u.state != ST_CUT_SHORT) || strcmp(u.post, post) != 0) {
        answer(resp, 404, "no such tip");
        goto out;
    }
    if (!u.fetched) {
        if (r->st->ops->upload_fetched(r->st, id, now(r))) {
            store_failed(r, resp);
            goto out;
        }
        say(r, "tip %s fetched by the post", hex);
    }
    resp->status = 204;
out:
    pthread_mutex_unlock(&r->db_lock);
}

/* ---------------------------------------------------------------- dispatch */

enum route {
    R_NONE,
    R_FILES,       /* /files/ */
    R_UPLOAD,      /* /files/<id> */
    R_POST_LIST,   /* /post/tips */
    R_POST_TIP,    /* /post/tips/<id> */
    R_POST_FETCHED, /* /post/tips/<id>/fetched */
    R_KIOSK_HEARTBEAT, /* /kiosk/heartbeat */
    R_POST_HEARTBEATS, /* /post/heartbeats */
    R_POST_KIOSKS,     /* /post/kiosks */
    R_POST_REVOKE,     /* /post/kiosks/<kiosk id>/revoke */
};

/* A kiosk id as config_kiosk_id_check() allows it: 1-32 of [a-z0-9-]. */
static int kiosk_id_ok(const char *s, size_t n)
{
    if (n == 0 || n > 32)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '-'))
            return 0;
    return 1;
}

static enum route route_of(const char *path, uint8_t id[16])
{
    size_t n = strlen(path);
    if (strcmp(path, "/files") == 0 || strcmp(path, "/files/") == 0)
        return R_FILES;
    if (n == 7 + 32 && strncmp(path, "/files/", 7) == 0 && parse_hex16(path + 7, 32, id) == 0)
        return R_UPLOAD;
    if (strcmp(path, "/post/tips") == 0 || strcmp(path, "/post/tips/") == 0)
        return R_POST_LIST;
    if (n >= 11 + 32 && strncmp(path, "/post/tips/", 11) == 0 &&
        parse_hex16(path + 11, 32, id) == 0) {
        if (n == 11 + 32)
            return R_POST_TIP;
        if (strcmp(path + 11 + 32, "/fetched") == 0)
            return R_POST_FETCHED;
    }
    if (strcmp(path, "/kiosk/heartbeat") == 0)
        return R_KIOSK_HEARTBEAT;
    if (strcmp(path, "/post/heartbeats") == 0)
        return R_POST_HEARTBEATS;
    if (strcmp(path, "/post/kiosks") == 0)
        return R_POST_KIOSKS;
    if (n > 13 + 7 && strncmp(path, "/post/kiosks/", 13) == 0 &&
        strcmp(path + n - 7, "/revoke") == 0 && kiosk_id_ok(path + 13, n - 13 - 7))
        return R_POST_REVOKE;
    return R_NONE;
}

static void not_allowed(struct relay_response *resp, const char *method, const char *allow)
{
    char m[20];
    clean(method, m, sizeof m);
    answer(resp, 405, "method %s is not allowed here (allowed: %s)", m, allow);
    add_header(resp, "Allow", "%s", allow);
}

static void tus_options(struct relay *r, struct relay_response *resp)
{
    resp->status = 204;
    add_header(resp, "Tus-Version", "1.0.0");
    add_header(resp, "Tus-Extension", "creation,termination,expiration");
    add_header(resp, "Tus-Max-Size", "%" PRIu64, r->cfg.max_tip_bytes);
    add_header(resp, "Homthu-Time", "%lld", (long long)now(r));
}

static void log_refusal(struct relay *r, const char *method, const char *path, const struct who *w,
                        const struct relay_response *resp)
{
    char m[20], p[80];
    clean(method, m, sizeof m);
    clean(path, p, sizeof p);
    int len = resp->body_len ? (int)resp->body_len - 1 : 0;
    /* Anyone can send bad requests as fast as the link goes: each status, a line per 10 s. */
    static const int kinds[] = {400, 401, 403, 404, 429};
    struct quiet *q = &r->q_refused[5];
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++)
        if (resp->status == kinds[i])
            q = &r->q_refused[i];
    if (w && w->fp[0])
        say_quietly(r, q, "refused %s %s from %s%s%s(key %s): %d %.*s", m, p,
                    w->kiosk[0] ? "kiosk " : "", w->kiosk[0] ? w->kiosk : "",
                    w->kiosk[0] ? " " : "", w->fp, resp->status, len,
                    resp->body ? resp->body : "");
    else
        say_quietly(r, q, "refused %s %s: %d %.*s", m, p, resp->status, len,
                    resp->body ? resp->body : "");
}

/* ---------------------------------------------------------------- heartbeats, enrolment */

/*
 * POST /kiosk/heartbeat from an authenticated kiosk: keep the sealed blob
 * (exactly HEARTBEAT_SEALED_BYTES, unreadable here) as the kiosk's latest,
 * with the relay's clock. Replaces the last one and takes the next cursor.
 */
static void kiosk_heartbeat(struct relay *r, const struct who *w, const uint8_t *blob, size_t n,
                            struct relay_response *resp)
{
    pthread_mutex_lock(&r->db_lock);
    if (r->st->ops->beat_put(r->st, w->post, w->key, w->kiosk, now(r), blob, n)) {
        store_failed(r, resp);
    } else {
        resp->status = 204;
        say(r, "heartbeat from kiosk %s (key %s)", w->kiosk, w->fp);
    }
    pthread_mutex_unlock(&r->db_lock);
}

static int list_beat(void *ctx, const struct store_beat *hb)
{
    struct list_out *lo = ctx;
    if (hb->blob_len != HEARTBEAT_SEALED_BYTES)
        return 0; /* the POST's size check makes this impossible */
    char key[sodium_base64_ENCODED_LEN(32, sodium_base64_VARIANT_ORIGINAL)];
    char blob[sodium_base64_ENCODED_LEN(HEARTBEAT_SEALED_BYTES, sodium_base64_VARIANT_ORIGINAL)];
    sodium_bin2base64(key, sizeof key, hb->device, 32, sodium_base64_VARIANT_ORIGINAL);
    sodium_bin2base64(blob, sizeof blob, hb->blob, HEARTBEAT_SEALED_BYTES,
                      sodium_base64_VARIANT_ORIGINAL);
    char kiosk[40];
    clean(hb->kiosk, kiosk, sizeof kiosk);
    for (char *p = kiosk; *p; p++)
        if (*p == '"' || *p == '\\')
            *p = '?';
    lo->next = hb->cursor;
    buf_add(&lo->b, "%s{\"kiosk\":\"%s\",\"key\":\"%s\",\"cursor\":%lld,\"received\":%lld,",
            lo->first ? "" : ",", kiosk, key, (long long)hb->cursor, (long long)hb->received);
    buf_add(&lo->b, "\"blob\":\"%s\"}", blob);
    lo->first = 0;
    return 0;
}

/* GET /post/heartbeats?after=&limit=: the latest heartbeat of each kiosk, by cursor. */
static void post_heartbeats(struct relay *r, const char *post, const struct relay_request *q,
                            struct relay_response *resp)
{
    uint64_t after = 0, limit = LIST_LIMIT_DEFAULT;
    const char *a = arg(q, "after"), *l = arg(q, "limit");
    if (a && (relay_parse_u64(a, &after) || after > INT64_MAX)) {
        answer(resp, 400, "after must be a cursor: a whole number, 0 for the start");
        return;
    }
    if (l && (relay_parse_u64(l, &limit) || limit < 1 || limit > LIST_LIMIT_MAX)) {
        answer(resp, 400, "limit must be a whole number from 1 to %d", LIST_LIMIT_MAX);
        return;
    }
    struct list_out lo = {.next = (int64_t)after, .first = 1};
    buf_add(&lo.b, "{\"heartbeats\":[");
    pthread_mutex_lock(&r->db_lock);
    if (r->st->ops->beats_list(r->st, post, (int64_t)after, (int64_t)limit, list_beat, &lo)) {
        store_failed(r, resp);
        goto out;
    }
    buf_add(&lo.b, "],\"next\":%lld}\n", (long long)lo.next);
    if (lo.b.oom) {
        answer(resp, 503, "the relay is out of memory: try again later");
        goto out;
    }
    resp->status = 200;
    resp->body = lo.b.p;
    resp->body_len = lo.b.n;
    lo.b.p = NULL;
    add_header(resp, "Content-Type", "application/json");
    add_header(resp, "Cache-Control", "no-store");
out:
    pthread_mutex_unlock(&r->db_lock);
    free(lo.b.p);
}

/*
 * A small text body of `key=value` lines (docs/relay-protocol.md): the
 * value of each name in names[] into vals[] (each at most caps[i] - 1
 * bytes). Every line must be one of the names, each at most once, all
 * present; lines end with LF (the last may not). 0, or -1 with why.
 */
static int form_parse(const uint8_t *b, size_t n, const char *const *names, char **vals,
                      const size_t *caps, size_t k, char *why, size_t whylen)
{
    int got[4] = {0};
    if (k > 4)
        return -1;
    size_t i = 0;
    while (i < n) {
        size_t e = i;
        while (e < n && b[e] != '\n')
            e++;
        size_t eq = i;
        while (eq < e && b[eq] != '=')
            eq++;
        if (eq == e) {
            set_err(why, whylen, "a line without '='");
            return -1;
        }
        size_t j = 0;
        while (j < k && !(strlen(names[j]) == eq - i && memcmp(names[j], b + i, eq - i) == 0))
            j++;
        if (j == k) {
            set_err(why, whylen, "an unknown name (expected %s%s%s)", names[0], k > 1 ? ", " : "",
                    k > 1 ? names[1] : "");
            return -1;
        }
        if (got[j]++) {
            set_err(why, whylen, "%s is given twice", names[j]);
            return -1;
        }
        size_t vl = e - eq - 1;
        if (vl >= caps[j]) {
            set_err(why, whylen, "%s is too long", names[j]);
            return -1;
        }
        for (size_t x = eq + 1; x < e; x++)
            if (b[x] < 0x20 || b[x] == 0x7f) {
                set_err(why, whylen, "%s holds a control character", names[j]);
                return -1;
            }
        memcpy(vals[j], b + eq + 1, vl);
        vals[j][vl] = 0;
        i = e + 1;
    }
    for (size_t j = 0; j < k; j++)
        if (!got[j]) {
            set_err(why, whylen, "%s is missing", names[j]);
            return -1;
        }
    return 0;
}

/* POST /post/kiosks: enrol a kiosk in the registry the relay reads. */
static void post_enrol(struct relay *r, const char *post, const uint8_t *b, size_t n,
                       struct relay_response *resp)
{
    char id[40], keyb64[64], why[256];
    static const char *const names[] = {"id", "key"};
    char *vals[] = {id, keyb64};
    static const size_t caps[] = {sizeof id, sizeof keyb64};
    if (form_parse(b, n, names, vals, caps, 2, why, sizeof why)) {
        answer(resp, 400, "enrolment: %s; send id=<kiosk id> and key=<base64 device key>", why);
        return;
    }
    uint8_t pk[32];
    if (b64_exact(keyb64, strlen(keyb64), pk, 32)) {
        answer(resp, 400, "enrolment: key is not base64 of a 32-byte Ed25519 public key");
        return;
    }
    char fp[KEYS_FINGERPRINT_HEX];
    keys_fingerprint(pk, 32, fp);
    struct registry_entry e;
    pthread_mutex_lock(&r->auth_lock);
    int rc = dir_enrol(r, post, id, pk, why, sizeof why);
    if (rc == REGISTRY_E_IO) {
        say(r, "cannot read the registry: %s", why);
        answer(resp, 503, "the relay cannot read its registry of kiosks: try again later");
        goto out;
    }
    if (rc == REGISTRY_E_EXISTS) {
        /* The post tells again (it did not hear the answer), or shares this registry file. */
        if (dir_get(r, post, id, &e, why, sizeof why) == 0 &&
            sodium_memcmp(e.device_pk, pk, 32) == 0) {
            if (e.revoked)
                answer(resp, 409, "kiosk %s was revoked: a revoked kiosk is never enrolled again",
                       id);
            else
                resp->status = 204;
        } else {
            answer(resp, 409, "kiosk id %s or key %s is enrolled already, with another key or id",
                   id, fp);
        }
        goto out;
    }
    if (rc == REGISTRY_E_ARG) {
        answer(resp, 400, "enrolment refused: %s", why);
        goto out;
    }
    if (rc) {
        say(r, "cannot write the registry: %s", why);
        answer(resp, 500, "the relay cannot write its registry of kiosks: %s", why);
        goto out;
    }
    resp->status = 204;
    say(r, "kiosk %s (key %s) enrolled by the post", id, fp);
out:
    pthread_mutex_unlock(&r->auth_lock);
}

/* POST /post/kiosks/<id>/revoke: the kiosk is refused from its next request on. */
static void post_revoke(struct relay *r, const char *post, const char *id, const uint8_t *b,
                        size_t n, struct relay_response *resp)
{
    char reason[REGISTRY_REASON_MAX + 1], why[256];
    static const char *const names[] = {"reason"};
    char *vals[] = {reason};
    static const size_t caps[] = {sizeof reason};
    if (form_parse(b, n, names, vals, caps, 1, why, sizeof why)) {
        answer(resp, 400, "revocation: %s; send reason=<one line, at most %d bytes>", why,
               REGISTRY_REASON_MAX);
        return;
    }
    pthread_mutex_lock(&r->auth_lock);
    int rc = dir_revoke(r, post, id, reason, why, sizeof why);
    if (rc == REGISTRY_E_IO) {
        say(r, "cannot read the registry: %s", why);
        answer(resp, 503, "the relay cannot read its registry of kiosks: try again later");
        goto out;
    }
    if (rc == REGISTRY_E_NOTFOUND) {
        answer(resp, 404, "no kiosk %s is enrolled here", id);
    } else if (rc == REGISTRY_E_REVOKED) {
        resp->status = 204; /* told twice: it is revoked all the same */
    } else if (rc == REGISTRY_E_ARG) {
        answer(resp, 400, "revocation refused: %s", why);
    } else if (rc) {
        say(r, "cannot write the registry: %s", why);
        answer(resp, 500, "the relay cannot write its registry of kiosks: %s", why);
    } else {
        resp->status = 204;
        say(r, "kiosk %s revoked by the post", id);
    }
out:
    pthread_mutex_unlock(&r->auth_lock);
}

/* A small-body request, once its body came (relay_call_end). */
static void small_end(struct relay_call *c, struct relay_response *resp)
{
    struct relay *r = c->r;
    if (c->sover || (c->declared && c->got != c->content_length)) {
        answer(resp, c->small == R_KIOSK_HEARTBEAT ? 400 : 413,
               c->small == R_KIOSK_HEARTBEAT
                   ? "a heartbeat is exactly %d bytes"
                   : "the body is larger than %d bytes or not its Content-Length",
               c->small == R_KIOSK_HEARTBEAT ? HEARTBEAT_SEALED_BYTES : SMALL_BODY_MAX);
    } else if (c->small == R_KIOSK_HEARTBEAT) {
        if (c->sn != HEARTBEAT_SEALED_BYTES)
            answer(resp, 400, "a heartbeat is exactly %d bytes, not %zu", HEARTBEAT_SEALED_BYTES,
                   c->sn);
        else
            kiosk_heartbeat(r, &c->who, c->sbuf, c->sn, resp);
    } else if (c->small == R_POST_KIOSKS) {
        post_enrol(r, c->who.post, c->sbuf, c->sn, resp);
    } else {
        post_revoke(r, c->who.post, c->kid, c->sbuf, c->sn, resp);
    }
    if (resp->status >= 400)
        log_refusal(r, "POST", c->small == R_KIOSK_HEARTBEAT ? "/kiosk/heartbeat" : "/post/kiosks",
                    c->small == R_KIOSK_HEARTBEAT ? &c->who : NULL, resp);
}

/*
 * A request with a small body: check its declared length from the head,
 * then want the body. 1 with resp filled when refused now, else 0 with *callp.
 */
static int small_begin(struct relay *r, const struct relay_request *q, enum route rt,
                       const struct who *w, const char *kid, struct relay_call **callp,
                       struct relay_response *resp)
{
    const char *cl = header(q, "Content-Length");
    uint64_t n = 0;
    int declared = cl != NULL;
    if (cl && relay_parse_u64(cl, &n) && strcmp(cl, "0") != 0) {
        answer(resp, 400, "Content-Length is not a number");
        return 1;
    }
    if (rt == R_KIOSK_HEARTBEAT && declared && n != HEARTBEAT_SEALED_BYTES) {
        answer(resp, 400, "a heartbeat is exactly %d bytes, not %" PRIu64, HEARTBEAT_SEALED_BYTES,
               n);
        return 1;
    }
    if (declared && n > SMALL_BODY_MAX) {
        answer(resp, 413, "the body is larger than %d bytes", SMALL_BODY_MAX);
        return 1;
    }
    struct relay_call *c = calloc(1, sizeof *c);
    if (!c) {
        answer(resp, 503, "the relay is out of memory: try again later");
        return 1;
    }
    c->r = r;
    c->small = (int)rt;
    c->fd = -1;
    c->declared = declared;
    c->content_length = n;
    if (w)
        c->who = *w;
    if (kid)
        snprintf(c->kid, sizeof c->kid, "%s", kid);
    *callp = c;
    return 0;
}

static const char *const SINGLE_HEADERS[] = {
    "Authorization",          "Upload-Offset",
    "Upload-Length",          "Upload-Metadata",
    "Tus-Resumable",          "Content-Type",
    "X-HTTP-Method-Override", "Content-Length",
    "Upload-Defer-Length",    "Homthu-Pieces",
    NULL,
};

int relay_call_begin(struct relay *r, const struct relay_request *q, struct relay_call **callp,
                     struct relay_response *resp)
{
    uint8_t id[16];
    struct who w;
    memset(&w, 0, sizeof w);
    *callp = NULL;
    memset(resp, 0, sizeof *resp);
    if (!r || !q || !q->method || !q->path) {
        answer(resp, 400, "malformed request");
        return 1;
    }
    enum route rt = route_of(q->path, id);
    /* Every answer under /files carries Tus-Resumable, a 404 for a bad upload URL too. */
    int tus = strncmp(q->path, "/files", 6) == 0;
    const char *method = q->method;
    if (rt == R_NONE) {
        answer(resp, 404, "not found");
        goto done;
    }
    for (int i = 0; SINGLE_HEADERS[i]; i++)
        if (header_count(q, SINGLE_HEADERS[i]) > 1) {
            answer(resp, 400, "%s is given more than once", SINGLE_HEADERS[i]);
            goto done;
        }
    if (rt == R_FILES || rt == R_UPLOAD) {
        /* tus: the override names the method; the real one is ignored (and signed so). */
        const char *o = header(q, "X-HTTP-Method-Override");
        if (o && *o)
            method = o;
        if (strcmp(method, "OPTIONS") == 0) {
            tus_options(r, resp);
            goto done;
        }
        const char *allow = rt == R_FILES ? "OPTIONS, POST" : "OPTIONS, HEAD, PATCH, DELETE";
        if ((rt == R_FILES && strcmp(method, "POST") != 0) ||
            (rt == R_UPLOAD && strcmp(method, "HEAD") != 0 && strcmp(method, "PATCH") != 0 &&
             strcmp(method, "DELETE") != 0)) {
            not_allowed(resp, method, allow);
            goto done;
        }
        const char *v = header(q, "Tus-Resumable");
        if (!v || strcmp(v, "1.0.0") != 0) {
            answer(resp, 412, "Tus-Resumable: 1.0.0 is required (this relay speaks tus 1.0.0)");
            add_header(resp, "Tus-Version", "1.0.0");
            goto done;
        }
        if (authenticate(r, q, method, &w, resp))
            goto done;
        if (rt == R_FILES)
            tus_create(r, q, &w, resp);
        else if (strcmp(method, "HEAD") == 0)
            tus_head(r, id, &w, resp);
        else if (strcmp(method, "DELETE") == 0)
            tus_delete(r, id, &w, resp);
        else {
            tus_patch(r, q, id, &w, callp, resp);
            if (*callp)
                return 0;
        }
        goto done;
    }
    const char *want =
        rt == R_POST_FETCHED || rt == R_KIOSK_HEARTBEAT || rt == R_POST_KIOSKS || rt == R_POST_REVOKE
            ? "POST"
            : "GET";
    if (strcmp(method, want) != 0) {
        not_allowed(resp, method, want);
        goto done;
    }
    if (rt == R_KIOSK_HEARTBEAT) {
        if (authenticate(r, q, method, &w, resp))
            goto done;
        if (small_begin(r, q, rt, &w, NULL, callp, resp))
            goto done;
        return 0;
    }
    struct who pw;
    memset(&pw, 0, sizeof pw);
    if (!post_authorized(r, q, resp, pw.post))
        goto done;
    if (rt == R_POST_KIOSKS || rt == R_POST_REVOKE) {
        char kid[40] = "";
        if (rt == R_POST_REVOKE)
            snprintf(kid, sizeof kid, "%.*s", (int)(strlen(q->path) - 13 - 7), q->path + 13);
        if (small_begin(r, q, rt, &pw, kid, callp, resp))
            goto done;
        return 0;
    }
    if (rt == R_POST_HEARTBEATS)
        post_heartbeats(r, pw.post, q, resp);
    else if (rt == R_POST_LIST)
        post_list(r, pw.post, q, resp);
    else if (rt == R_POST_TIP)
        post_download(r, pw.post, id, resp);
    else
        post_fetched(r, pw.post, id, resp);
done:
    if (tus && !relay_response_header(resp, "Tus-Resumable"))
        add_header(resp, "Tus-Resumable", "1.0.0");
    if (resp->status >= 400 && resp->status != 422)
        log_refusal(r, method, q->path, &w, resp);
    return 1;
}

void relay_handle(struct relay *r, const struct relay_request *q, const uint8_t *body, size_t len,
                  struct relay_response *resp)
{
    struct relay_call *c = NULL;
    if (relay_call_begin(r, q, &c, resp))
        return;
    relay_call_body(c, body, len);
    relay_call_end(c, resp);
}

/* ---------------------------------------------------------------- housekeeping */

int relay_sweep(struct relay *r)
{
    if (!r)
        return RELAY_E_ARG;
    int64_t t = now(r);
    int touched = 0, purged[2];
    pthread_mutex_lock(&r->db_lock);
    /* Expired partial uploads go entirely: a kiosk coming back starts afresh. */
    uint8_t(*ids)[16] = NULL;
    size_t n = 0;
    if (r->st->ops->partial_before(r->st, t - r->cfg.partial_ttl_seconds, &ids, &n))
        goto failed;
    struct store_upload u;
    for (size_t i = 0; i < n; i++)
        if (upload_get(r, ids[i], &u) == 0) /* deletes and logs it */
            touched++;
    free(ids);
    /* Fetched and refused tips: the bytes go, the row stays (no second tip, ever). */
    if (r->st->ops->purge(r->st, t, t - r->cfg.keep_fetched_seconds,
                          t - r->cfg.keep_rejected_seconds, purged))
        goto failed;
    for (int i = 0; i < 2; i++)
        if (purged[i])
            say(r, "deleted the bytes of %d %s", purged[i],
                i == 0 ? "tips the post fetched" : "refused uploads");
    touched += purged[0] + purged[1];
    /* Shared request memory (several nodes): what left the clock window goes. */
    if (r->st->ops->marks_expire &&
        r->st->ops->marks_expire(r->st, t - 2 * (int64_t)r->cfg.clock_skew_seconds, t / 60 - 1))
        goto failed;
    pthread_mutex_unlock(&r->db_lock);
    return touched;
failed:
    say(r, "housekeeping failed: %s", r->st->ops->errmsg(r->st));
    pthread_mutex_unlock(&r->db_lock);
    return RELAY_E_IO;
}

static void *sweeper(void *arg)
{
    struct relay *r = arg;
    pthread_mutex_lock(&r->sweep_lock);
    while (!r->stopping) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_sec += SWEEP_EVERY_SECONDS;
        pthread_cond_timedwait(&r->sweep_cond, &r->sweep_lock, &ts);
        if (r->stopping)
            break;
        pthread_mutex_unlock(&r->sweep_lock);
        (void)relay_sweep(r);
        pthread_mutex_lock(&r->sweep_lock);
    }
    pthread_mutex_unlock(&r->sweep_lock);
    return NULL;
}

/* ---------------------------------------------------------------- open, close */

int relay_open(struct relay **out, const struct relay_config *c, char *err, size_t errlen)
{
    if (!out || !c)
        return RELAY_E_ARG;
    *out = NULL;
    if (sodium_init() < 0) {
        set_err(err, errlen, "libsodium cannot start");
        return RELAY_E_IO;
    }
    int province = store_is_postgresql(c->database);
    if ((!province && !c->registry[0]) || !c->database[0]) {
        set_err(err, errlen, "relay: the database and registry paths must be set");
        return RELAY_E_CONFIG;
    }
    size_t tl = strnlen(c->post_token, sizeof c->post_token);
    if (!province && (tl < RELAY_TOKEN_MIN || tl > RELAY_TOKEN_MAX)) {
        set_err(err, errlen, "relay: post_token must be %d to %d characters", RELAY_TOKEN_MIN,
                RELAY_TOKEN_MAX);
        return RELAY_E_CONFIG;
    }
    if (c->device_requests_per_minute < 1 || c->clock_skew_seconds < 1 ||
        c->partial_ttl_seconds < 1 || c->threads < 0 || c->max_connections < 1 ||
        c->connection_timeout_seconds < 1 || c->max_tip_bytes < envelope_min_bytes() ||
        c->header_timeout_seconds < 1 || c->body_timeout_seconds < 1 ||
        c->body_min_bytes_per_second < 0) {
        set_err(err, errlen, "relay: a limit in the configuration is zero or too small");
        return RELAY_E_CONFIG;
    }
    struct relay *r = calloc(1, sizeof *r);
    if (!r) {
        set_err(err, errlen, "relay: out of memory");
        return RELAY_E_NOMEM;
    }
    r->cfg = *c;
    r->replay_per_dev = c->replay_per_device;
    if (!r->replay_per_dev) {
        uint64_t want = (uint64_t)c->device_requests_per_minute *
                        ((uint64_t)c->clock_skew_seconds * 2 / 60 + 2);
        r->replay_per_dev = want < 256 ? 256 : want > 65536 ? 65536 : (size_t)want;
    }
    r->replay_total = c->replay_total ? c->replay_total : REPLAY_TOTAL_DEFAULT;
    pthread_mutex_init(&r->db_lock, NULL);
    pthread_mutex_init(&r->auth_lock, NULL);
    pthread_mutex_init(&r->sweep_lock, NULL);
    pthread_cond_init(&r->sweep_cond, NULL);
    pthread_mutex_init(&r->sock_lock, NULL);
    pthread_cond_init(&r->sock_cond, NULL);
    pthread_mutex_init(&r->quiet_lock, NULL);
    pthread_mutex_init(&r->commit_lock, NULL);
    pthread_mutex_init(&r->rd_lock, NULL);
    pthread_cond_init(&r->commit_work, NULL);
    pthread_cond_init(&r->commit_done, NULL);
    crypto_generichash(r->token_hash, sizeof r->token_hash, (const uint8_t *)c->post_token, tl,
                       NULL, 0);
    sodium_memzero(r->cfg.post_token, sizeof r->cfg.post_token);
    int rc = store_open(&r->st, c->database, r->cfg.log, r->cfg.log_ctx, err, errlen) ? RELAY_E_IO : 0;
    if (rc)
        goto fail;
    if (!many_posts(r)) {
        pthread_mutex_lock(&r->auth_lock);
        rc = registry_fresh(r, err, errlen) ? RELAY_E_IO : 0;
        pthread_mutex_unlock(&r->auth_lock);
        if (rc)
            goto fail;
    }
    if (pthread_create(&r->writer, NULL, writer_main, r) != 0) {
        set_err(err, errlen, "relay: cannot start the writer thread");
        rc = RELAY_E_NOMEM;
        goto fail;
    }
    r->writer_on = 1;
    *out = r;
    return 0;
fail:
    relay_close(r);
    return rc;
}

static char *slurp_text(const char *path, size_t *len, char *err, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        set_err(err, errlen, "cannot read %s: %s", path, strerror(errno));
        return NULL;
    }
    size_t cap = 65536, n = 0;
    char *p = malloc(cap + 1);
    size_t got;
    while (p && (got = fread(p + n, 1, cap - n, f)) > 0) {
        n += got;
        if (n == cap) {
            set_err(err, errlen, "%s is larger than 64 KiB: is it really a PEM file?", path);
            free(p);
            p = NULL;
        }
    }
    fclose(f);
    if (!p)
        return NULL;
    p[n] = 0;
    if (len)
        *len = n;
    return p;
}

/* --- libmicrohttpd in front of relay_call_*() --- */

struct conn {
    struct relay_call *call;
    int answered;
    int held; /* `resp` waits for the next call */
    struct relay_response resp;
};

struct collect {
    struct relay_header *v;
    size_t n, cap;
    int overflow;
};

static enum MHD_Result collect_kv(void *cls, enum MHD_ValueKind kind, const char *key,
                                  const char *value)
{
    (void)kind;
    struct collect *c = cls;
    if (c->n == c->cap) {
        c->overflow = 1;
        return MHD_NO;
    }
    c->v[c->n].name = key;
    c->v[c->n].value = value ? value : "";
    c->n++;
    return MHD_YES;
}

static enum MHD_Result queue(struct MHD_Connection *mc, struct relay_response *resp)
{
    struct MHD_Response *m = MHD_create_response_from_buffer(
        resp->body_len, resp->body, resp->body ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_PERSISTENT);
    if (!m) {
        relay_response_clear(resp);
        return MHD_NO;
    }
    resp->body = NULL; /* MHD frees it now */
    for (size_t i = 0; i < resp->nheaders; i++)
        MHD_add_response_header(m, resp->headers[i].name, resp->headers[i].value);
    enum MHD_Result ret = MHD_queue_response(mc, (unsigned)resp->status, m);
    MHD_destroy_response(m);
    relay_response_clear(resp);
    return ret;
}

/* ---- the time budgets of connections ---- */

/* Where connection `mc` stands now (NULL: untracked, e.g. no memory for it). */
static void sock_phase(struct relay *r, struct MHD_Connection *mc, enum sock_phase phase,
                       uint64_t more)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(mc, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    struct sock *sk = ci ? ci->socket_context : NULL;
    if (!sk)
        return;
    pthread_mutex_lock(&r->sock_lock);
    if (sk->phase != phase) {
        sk->phase = phase;
        sk->since = mono_ms();
        sk->got = 0;
    }
    sk->got += more;
    pthread_mutex_unlock(&r->sock_lock);
}

/*
 * A connection opens or closes. libmicrohttpd says "closed" before it
 * closes the socket, so a socket in the list is never another's.
 */
static void on_connection(void *cls, struct MHD_Connection *mc, void **ctx,
                          enum MHD_ConnectionNotificationCode toe)
{
    struct relay *r = cls;
    if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
        const union MHD_ConnectionInfo *ci =
            MHD_get_connection_info(mc, MHD_CONNECTION_INFO_CONNECTION_FD);
        struct sock *sk = ci ? calloc(1, sizeof *sk) : NULL;
        *ctx = sk;
        if (!sk)
            return;
        sk->fd = ci->connect_fd;
        sk->phase = SOCK_HEAD;
        sk->since = mono_ms();
        pthread_mutex_lock(&r->sock_lock);
        sk->next = r->socks;
        if (r->socks)
            r->socks->prev = sk;
        r->socks = sk;
        pthread_mutex_unlock(&r->sock_lock);
        return;
    }
    struct sock *sk = *ctx;
    if (!sk)
        return;
    pthread_mutex_lock(&r->sock_lock);
    if (sk->prev)
        sk->prev->next = sk->next;
    else
        r->socks = sk->next;
    if (sk->next)
        sk->next->prev = sk->prev;
    pthread_mutex_unlock(&r->sock_lock);
    free(sk);
    *ctx = NULL;
}

/*
 * Close every connection over its budget: a head not complete
 * header_timeout_seconds after the connection opened (or answered its
 * last request), a body slower than its allowance. libmicrohttpd's own
 * timeout counts only silence, so a byte every few seconds would hold a
 * connection (and its thread) for ever; here the clock runs from the
 * start. Closing the socket makes its worker end the request as cut off.
 */
static void *watchdog_main(void *arg)
{
    struct relay *r = arg;
    pthread_mutex_lock(&r->sock_lock);
    while (!r->watchdog_stop) {
        int64_t t = mono_ms();
        int heads = 0, bodies = 0;
        for (struct sock *sk = r->socks; sk; sk = sk->next) {
            if (sk->cut || sk->phase == SOCK_ANSWER)
                continue;
            int64_t budget = sk->phase == SOCK_HEAD ? (int64_t)r->cfg.header_timeout_seconds * 1000
                                                    : (int64_t)r->cfg.body_timeout_seconds * 1000;
            if (sk->phase == SOCK_BODY && r->cfg.body_min_bytes_per_second > 0)
                budget += (int64_t)(sk->got * 1000 / (uint64_t)r->cfg.body_min_bytes_per_second);
            if (t - sk->since <= budget)
                continue;
            shutdown(sk->fd, SHUT_RDWR);
            sk->cut = 1;
            heads += sk->phase == SOCK_HEAD;
            bodies += sk->phase == SOCK_BODY;
        }
        if (heads || bodies) {
            pthread_mutex_unlock(&r->sock_lock);
            if (heads)
                say_quietly(r, &r->q_slow_head,
                            "closed %d connection%s: no whole request head within %d s", heads,
                            heads == 1 ? "" : "s", r->cfg.header_timeout_seconds);
            if (bodies)
                say_quietly(r, &r->q_slow_body,
                            "closed %d connection%s: the body came slower than %d s + 1 s per %d "
                            "bytes",
                            bodies, bodies == 1 ? "" : "s", r->cfg.body_timeout_seconds,
                            r->cfg.body_min_bytes_per_second);
            pthread_mutex_lock(&r->sock_lock);
        }
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_nsec += WATCHDOG_TICK_MS * 1000000L;
        if (until.tv_nsec >= 1000000000L) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000L;
        }
        if (!r->watchdog_stop)
            pthread_cond_timedwait(&r->sock_cond, &r->sock_lock, &until);
    }
    pthread_mutex_unlock(&r->sock_lock);
    return NULL;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *mc, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **ctx)
{
    (void)version;
    struct relay *r = cls;
    struct conn *k = *ctx;
    struct relay_response resp;
    if (!k) {
        k = calloc(1, sizeof *k);
        if (!k)
            return MHD_NO;
        *ctx = k;
        sock_phase(r, mc, SOCK_BODY, 0); /* the head is whole: the body's budget starts */
        struct relay_header hv[MAX_REQUEST_HEADERS], av[MAX_REQUEST_ARGS];
        struct collect h = {hv, 0, MAX_REQUEST_HEADERS, 0};
        struct collect a = {av, 0, MAX_REQUEST_ARGS, 0};
        MHD_get_connection_values(mc, MHD_HEADER_KIND, collect_kv, &h);
        MHD_get_connection_values(mc, MHD_GET_ARGUMENT_KIND, collect_kv, &a);
        k->answered = 1;
        if (h.overflow || a.overflow) {
            memset(&resp, 0, sizeof resp);
            answer(&resp, 400, "too many header fields or query arguments");
            return queue(mc, &resp);
        }
        struct relay_request q = {method, url, hv, h.n, av, a.n};
        if (relay_call_begin(r, &q, &k->call, &k->resp)) {
            /*
             * Answered from the head. With a body coming, answer now: MHD
             * then never reads it, and closes the connection after the
             * answer. With none, answer on the next call, when MHD has the
             * whole request: the connection stays open for the next one
             * (on a 2G link a new TLS connection costs seconds).
             */
            const char *cl = MHD_lookup_connection_value(mc, MHD_HEADER_KIND, "Content-Length");
            if (MHD_lookup_connection_value(mc, MHD_HEADER_KIND, "Transfer-Encoding") ||
                (cl && strcmp(cl, "0") != 0)) {
                sock_phase(r, mc, SOCK_ANSWER, 0);
                return queue(mc, &k->resp);
            }
            k->held = 1;
            return MHD_YES;
        }
        k->answered = 0;
        const union MHD_ConnectionInfo *ci =
            MHD_get_connection_info(mc, MHD_CONNECTION_INFO_CONNECTION_FD);
        if (ci) {
            /* MHD closes it only after on_completed has taken the call out of the live list. */
            pthread_mutex_lock(&r->commit_lock);
            k->call->fd = ci->connect_fd;
            k->call->thread = pthread_self(); /* a connection stays with its worker */
            pthread_mutex_unlock(&r->commit_lock);
        }
        return MHD_YES; /* the body, please */
    }
    if (*upload_data_size) {
        sock_phase(r, mc, SOCK_BODY, *upload_data_size);
        relay_call_body(k->call, (const uint8_t *)upload_data, *upload_data_size);
        *upload_data_size = 0;
        return MHD_YES;
    }
    sock_phase(r, mc, SOCK_ANSWER, 0); /* the body is whole: the answer has no budget */
    if (k->held) {
        k->held = 0;
        return queue(mc, &k->resp);
    }
    if (k->answered)
        return MHD_YES;
    relay_call_end(k->call, &resp);
    k->call = NULL;
    k->answered = 1;
    return queue(mc, &resp);
}

static void on_completed(void *cls, struct MHD_Connection *mc, void **ctx,
                         enum MHD_RequestTerminationCode toe)
{
    (void)toe;
    /* Kept alive: the next request's head is awaited from now. */
    sock_phase(cls, mc, SOCK_HEAD, 0);
    struct conn *k = *ctx;
    if (!k)
        return;
    if (k->call)
        relay_call_abort(k->call); /* keeps what arrived, whole */
    relay_response_clear(&k->resp);
    free(k);
    *ctx = NULL;
}

static void on_mhd_log(void *cls, const char *fmt, va_list ap)
{
    struct relay *r = cls;
    char line[400];
    vsnprintf(line, sizeof line, fmt, ap);
    size_t n = strlen(line);
    while (n && (line[n - 1] == '\n' || line[n - 1] == '\r'))
        line[--n] = 0;
    say_quietly(r, &r->q_http, "http: %s", line);
}

static int parse_listen(const char *s, struct sockaddr_storage *ss, socklen_t *len, int *v6,
                        char *err, size_t errlen)
{
    char host[128], port[16];
    const char *colon = strrchr(s, ':');
    if (!colon || strlen(colon + 1) == 0 || strlen(colon + 1) >= sizeof port)
        goto bad;
    size_t hl = (size_t)(colon - s);
    if (hl >= 2 && s[0] == '[' && s[hl - 1] == ']') {
        s++;
        hl -= 2;
    }
    if (hl == 0 || hl >= sizeof host)
        goto bad;
    memcpy(host, s, hl);
    host[hl] = 0;
    snprintf(port, sizeof port, "%s", colon + 1);
    for (const char *p = port; *p; p++)
        if (*p < '0' || *p > '9')
            goto bad;
    if (atol(port) > 65535)
        goto bad;
    struct addrinfo hints = {0}, *ai = NULL;
    hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV | AI_PASSIVE;
    hints.ai_socktype = SOCK_STREAM;
    if (getaddrinfo(host, port, &hints, &ai) != 0 || !ai)
        goto bad;
    memcpy(ss, ai->ai_addr, ai->ai_addrlen);
    *len = ai->ai_addrlen;
    *v6 = ai->ai_family == AF_INET6;
    freeaddrinfo(ai);
    return 0;
bad:
    set_err(err, errlen,
            "listen = %.60s is not ADDRESS:PORT (like 127.0.0.1:8080 or [::]:443, numeric)", s);
    return -1;
}

/* 127.0.0.0/8 or ::1: only this machine (a proxy) can connect. */
static int loopback(const struct sockaddr_storage *ss)
{
    if (ss->ss_family == AF_INET)
        return (ntohl(((const struct sockaddr_in *)ss)->sin_addr.s_addr) >> 24) == 127;
    if (ss->ss_family == AF_INET6)
        return IN6_IS_ADDR_LOOPBACK(&((const struct sockaddr_in6 *)ss)->sin6_addr);
    return 0;
}

int relay_start(struct relay *r, uint16_t *port_out, char *err, size_t errlen)
{
    if (!r || r->mhd)
        return RELAY_E_ARG;
    struct sockaddr_storage ss;
    socklen_t sslen;
    int v6;
    if (parse_listen(r->cfg.listen, &ss, &sslen, &v6, err, errlen))
        return RELAY_E_CONFIG;
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO | MHD_USE_ERROR_LOG;
    if (v6) {
        /* "[::]:443" means every address, IPv4 too. */
        const struct sockaddr_in6 *a6 = (const struct sockaddr_in6 *)&ss;
        flags |= IN6_IS_ADDR_UNSPECIFIED(&a6->sin6_addr) ? MHD_USE_DUAL_STACK : MHD_USE_IPv6;
    }
    int tls = r->cfg.tls_cert[0] != 0;
    if (tls) {
        if (MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES) {
            set_err(err, errlen,
                    "this libmicrohttpd was built without TLS: leave tls_cert and "
                    "tls_key out and put nginx in front (docs/relay.md)");
            return RELAY_E_CONFIG;
        }
        if (!(r->tls_cert_pem = slurp_text(r->cfg.tls_cert, NULL, err, errlen)) ||
            !(r->tls_key_pem = slurp_text(r->cfg.tls_key, &r->tls_key_len, err, errlen))) {
            relay_stop(r);
            return RELAY_E_IO;
        }
        flags |= MHD_USE_TLS;
    }
    /*
     * One address may hold only so many connections (nginx's limit_conn):
     * behind a proxy on this machine every connection is the proxy's, so
     * by default there is no limit then, and the proxy applies it.
     */
    int per_address = r->cfg.max_connections_per_address;
    if (per_address < 0)
        per_address = loopback(&ss) ? 0 : 32;
    struct MHD_OptionItem opts[12] = {
        {MHD_OPTION_EXTERNAL_LOGGER, (intptr_t)on_mhd_log, r}, /* first: MHD logs from here on */
        {MHD_OPTION_SOCK_ADDR, 0, &ss},
        {MHD_OPTION_NOTIFY_COMPLETED, (intptr_t)on_completed, r},
        {MHD_OPTION_NOTIFY_CONNECTION, (intptr_t)on_connection, r},
        {MHD_OPTION_CONNECTION_LIMIT, r->cfg.max_connections, NULL},
        {MHD_OPTION_CONNECTION_TIMEOUT, r->cfg.connection_timeout_seconds, NULL},
        {MHD_OPTION_PER_IP_CONNECTION_LIMIT, per_address, NULL},
    };
    size_t nopt = 7;
    /*
     * A request waits for the disk while a commit it needs is flushed. In a
     * pool, the worker's other connections wait with it, and a flush gathers
     * only as many uploads as there are workers free to ask (docs/relay.md):
     * by default each connection has its own thread (max_connections bounds
     * them), and every upload in flight shares the next flush.
     */
    if (r->cfg.threads > 0)
        opts[nopt++] = (struct MHD_OptionItem){MHD_OPTION_THREAD_POOL_SIZE, r->cfg.threads, NULL};
    else
        flags |= MHD_USE_THREAD_PER_CONNECTION;
    if (tls) {
        opts[nopt++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_CERT, 0, r->tls_cert_pem};
        opts[nopt++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_KEY, 0, r->tls_key_pem};
    }
    opts[nopt] = (struct MHD_OptionItem){MHD_OPTION_END, 0, NULL};
    r->mhd = MHD_start_daemon(flags, 0, NULL, NULL, on_request, r, MHD_OPTION_ARRAY, opts,
                              MHD_OPTION_END);
    if (!r->mhd) {
        set_err(err, errlen,
                "cannot listen on %s%s (is the port taken, or the address not on this machine%s?)",
                r->cfg.listen, tls ? " with TLS" : "",
                tls ? ", or the certificate and key not a matching PEM pair" : "");
        relay_stop(r);
        return RELAY_E_LISTEN;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(r->mhd, MHD_DAEMON_INFO_BIND_PORT);
    uint16_t port = info ? info->port : 0;
    if (port_out)
        *port_out = port;
    r->stopping = 0;
    if (pthread_create(&r->sweeper, NULL, sweeper, r) == 0)
        r->sweeper_on = 1;
    r->watchdog_stop = 0;
    if (pthread_create(&r->watchdog, NULL, watchdog_main, r) != 0) {
        set_err(err, errlen, "relay: cannot start the thread that times connections");
        relay_stop(r);
        return RELAY_E_NOMEM;
    }
    r->watchdog_on = 1;
    char per[40] = "no limit per address (a proxy in front)";
    if (per_address > 0)
        snprintf(per, sizeof per, "%d per address", per_address);
    say(r,
        "listening on %s (port %u, %s): at most %d connections, %s; a request head within %d s, "
        "a body within %d s + 1 s per %d bytes",
        r->cfg.listen, (unsigned)port, tls ? "https" : "http", r->cfg.max_connections, per,
        r->cfg.header_timeout_seconds, r->cfg.body_timeout_seconds,
        r->cfg.body_min_bytes_per_second);
    return 0;
}

void relay_stop(struct relay *r)
{
    if (!r)
        return;
    if (r->sweeper_on) {
        pthread_mutex_lock(&r->sweep_lock);
        r->stopping = 1;
        pthread_cond_signal(&r->sweep_cond);
        pthread_mutex_unlock(&r->sweep_lock);
        pthread_join(r->sweeper, NULL);
        r->sweeper_on = 0;
    }
    if (r->watchdog_on) {
        pthread_mutex_lock(&r->sock_lock);
        r->watchdog_stop = 1;
        pthread_cond_signal(&r->sock_cond);
        pthread_mutex_unlock(&r->sock_lock);
        pthread_join(r->watchdog, NULL);
        r->watchdog_on = 0;
    }
    if (r->mhd) {
        MHD_stop_daemon(r->mhd); /* in-flight PATCHes end through on_completed */
        r->mhd = NULL;
    }
    free(r->tls_cert_pem);
    r->tls_cert_pem = NULL;
    if (r->tls_key_pem) {
        sodium_memzero(r->tls_key_pem, r->tls_key_len);
        free(r->tls_key_pem);
        r->tls_key_pem = NULL;
    }
}

void relay_close(struct relay *r)
{
    if (!r)
        return;
    relay_stop(r); /* every PATCH ends first: the writer keeps what they hold */
    if (r->writer_on) {
        pthread_mutex_lock(&r->commit_lock);
        r->writer_stop = 1;
        pthread_cond_signal(&r->commit_work);
        pthread_mutex_unlock(&r->commit_lock);
        pthread_join(r->writer, NULL);
        r->writer_on = 0;
        /* What group commit did: each commit is one flush of the store's log. */
        say(r, "store: %" PRIu64 " writes in %" PRIu64 " commits", r->writes, r->commits);
    }
    if (r->st)
        r->st->ops->close(r->st);
    registry_close(r->reg);
    for (size_t i = 0; i < r->ndevs; i++)
        free(r->devs[i].m);
    free(r->devs);
    pthread_mutex_destroy(&r->db_lock);
    pthread_mutex_destroy(&r->auth_lock);
    pthread_mutex_destroy(&r->sweep_lock);
    pthread_cond_destroy(&r->sweep_cond);
    pthread_mutex_destroy(&r->sock_lock);
    pthread_cond_destroy(&r->sock_cond);
    pthread_mutex_destroy(&r->quiet_lock);
    pthread_mutex_destroy(&r->commit_lock);
    pthread_mutex_destroy(&r->rd_lock);
    pthread_cond_destroy(&r->commit_work);
    pthread_cond_destroy(&r->commit_done);
    free(r);
}

int relay_post_add(const struct relay_config *c, const char *name, const uint8_t post_pk[32],
                   char *token, size_t cap, char *err, size_t errlen)
{
    if (!c || !name || !post_pk || !token || cap < 65)
        return RELAY_E_ARG;
    if (!store_is_postgresql(c->database)) {
        set_err(err, errlen,
                "relay: post-add is for a relay of many posts (database = postgresql://…); a "
                "relay of one post takes relay.conf's post_token");
        return RELAY_E_CONFIG;
    }
    if (!kiosk_id_ok(name, strlen(name)) || strlen(name) > STORE_POST_MAX) {
        set_err(err, errlen, "relay: a post's name is 1 to %d of a-z, 0-9 and '-'",
                STORE_POST_MAX);
        return RELAY_E_ARG;
    }
    struct store *st = NULL;
    if (store_open(&st, c->database, NULL, NULL, err, errlen))
        return RELAY_E_IO;
    /* 32 random bytes as hex: the post station's relay_token. Only its hash is kept. */
    uint8_t raw[32], h[32], key_id[ENVELOPE_KEY_ID_BYTES];
    randombytes_buf(raw, sizeof raw);
    sodium_bin2hex(token, cap, raw, sizeof raw);
    sodium_memzero(raw, sizeof raw);
    crypto_generichash(h, sizeof h, (const uint8_t *)token, strlen(token), NULL, 0);
    envelope_post_key_id(post_pk, key_id);
    int rc = st->ops->post_add(st, name, h, key_id, (int64_t)time(NULL));
    if (rc == REGISTRY_E_EXISTS)
        set_err(err, errlen, "relay: post %s is there already", name);
    else if (rc)
        set_err(err, errlen, "relay: cannot add post %s: %s", name, st->ops->errmsg(st));
    st->ops->close(st);
    if (rc) {
        sodium_memzero(token, cap);
        return rc == REGISTRY_E_EXISTS ? RELAY_E_CONFIG : RELAY_E_IO;
    }
    return 0;
}
