/*
 * relay — the server kiosks upload sealed tips to, and the post console
 * fetches them from (docs/relay-protocol.md is the contract, docs/relay.md
 * the operator's guide).
 *
 * Uploads are tus 1.0 (core, creation, termination, expiration) under
 * /files/, each request signed by an enrolled kiosk's device key; the post
 * reads the tips with a bearer token under /post/. The relay stores
 * ciphertext only, in one SQLite file (WAL, synchronous = FULL: a tip the
 * relay called verified survives a power cut), and checks each finished
 * upload's outer structure and device signature; it can never read a tip.
 *
 * The request logic is independent of any socket: relay_call_begin() sees
 * the method, path and headers and decides at once (every refusal, be it
 * an unknown device, a bad signature or an oversize length, is made here,
 * before a byte of body is read); relay_call_body() takes the body in any
 * slices; relay_call_end() or relay_call_abort() finish it. relay_start()
 * puts libmicrohttpd in front of exactly these calls; the tests and the
 * fuzzer call them directly too (relay_handle()).
 *
 * Not here: the daemon's command line, signals and log sink
 * (tools/homthu-relay.c), the registry of kiosks (registry.h, the post's
 * file, read on every request so that a revocation counts at once).
 *
 * Errors: functions return 0 or a negative enum relay_error, with a
 * sentence a person can act on in `err`. Refusals of requests are HTTP
 * answers (struct relay_response), not errors.
 */
#ifndef HOMTHU_RELAY_H
#define HOMTHU_RELAY_H

#include <stddef.h>
#include <stdint.h>

#include "core/envelope.h"

struct config;

enum relay_error {
    RELAY_OK = 0,
    RELAY_E_ARG = -1, /* programmer error */
    RELAY_E_NOMEM = -2,
    RELAY_E_IO = -3,     /* the database, the registry or a TLS file cannot be used */
    RELAY_E_CONFIG = -4, /* relay.conf says something impossible */
    RELAY_E_LISTEN = -5, /* cannot listen on the address */
};

#define RELAY_PATH_MAX 4096
#define RELAY_TOKEN_MIN 32 /* bytes of post_token: a guessable token opens every tip's envelope */
#define RELAY_TOKEN_MAX 256

/* Everything the relay is told; relay_config_defaults() fills the defaults. */
struct relay_config {
    char listen[128];              /* "ADDR:PORT", "[::]:443"; port 0 = any free port */
    char database[RELAY_PATH_MAX]; /* the relay's own store, made when missing */
    char registry[RELAY_PATH_MAX]; /* the post's registry.db (or a copy of it) */
    char post_token[RELAY_TOKEN_MAX + 1];
    char tls_cert[RELAY_PATH_MAX]; /* PEM files; both "" = plain HTTP (behind nginx) */
    char tls_key[RELAY_PATH_MAX];
    uint64_t max_tip_bytes;         /* Upload-Length cap (413) */
    uint64_t device_quota_bytes;    /* unfetched bytes per kiosk (507) */
    int device_requests_per_minute; /* 429 beyond */
    int clock_skew_seconds;         /* how far a request's ts may be from the relay's clock */
    /*
     * Replay memory (not in relay.conf): marks kept per kiosk key, and in
     * all. 0 = the default: per key, what device_requests_per_minute lets
     * one kiosk send in 2 x clock_skew_seconds (+ 2 minutes), at least
     * 256, at most 65536; in all, 1 Mi marks (24 MiB).
     */
    size_t replay_per_device;
    size_t replay_total;
    int64_t partial_ttl_seconds;    /* an untouched partial upload expires after this */
    int64_t keep_fetched_seconds;   /* a fetched tip's bytes are deleted after this */
    int64_t keep_rejected_seconds;  /* a refused (422) upload is kept this long for a technician */
    int threads;                    /* 0: a thread per connection; else a pool of this many */
    int max_connections;
    int connection_timeout_seconds; /* idle connection; generous for 2G links */
    /*
     * Connections from one address at once; 0 = no limit. -1 (the
     * default): 32, or no limit when `listen` is a loopback address (a
     * proxy in front, every connection from 127.0.0.1: limit it there).
     */
    int max_connections_per_address;
    /*
     * Time budgets per request, whatever trickles in: its whole head must
     * come within header_timeout_seconds of the connection's start (or of
     * the answer before it, kept alive), its body within
     * body_timeout_seconds plus a second for every body_min_bytes_per_second
     * bytes that came (0: no allowance). Over budget, the connection is
     * closed (a PATCH keeps its whole chunks).
     */
    int header_timeout_seconds;
    int body_timeout_seconds;
    int body_min_bytes_per_second;

    /* Seconds since the epoch; NULL = time(). Tests move time by hand. */
    int64_t (*clock)(void *ctx);
    void *clock_ctx;
    /*
     * One line per event, never any tip content: tip ids, sizes, kiosk ids
     * and key fingerprints, statuses. NULL = silent. May be called from
     * several threads at once.
     */
    void (*log)(void *ctx, const char *line);
    void *log_ctx;
};

void relay_config_defaults(struct relay_config *c);

/* The keys of relay.conf (docs/relay.md), NULL-terminated. */
extern const char *const relay_config_keys[];

/*
 * Read relay.conf into `out` (defaults first, then every key, each checked;
 * unknown keys are refused). Relative paths are relative to relay.conf.
 */
int relay_config_read(const struct config *file, struct relay_config *out, char *err, size_t errlen)
    __attribute__((warn_unused_result));

struct relay;

/*
 * Open the store (made when missing) and the registry (must exist). The
 * relay does not listen yet. `c` is copied. Caller closes with relay_close().
 */
int relay_open(struct relay **out, const struct relay_config *c, char *err, size_t errlen)
    __attribute__((warn_unused_result));

/* Listen on c->listen; `port_out` (may be NULL) receives the port bound. */
int relay_start(struct relay *r, uint16_t *port_out, char *err, size_t errlen)
    __attribute__((warn_unused_result));

/*
 * A relay of many posts (database = postgresql://…): add post `name`,
 * whose kiosks seal to `post_pk`. A fresh post token (64 hex digits) is
 * written into `token` (cap >= 65); the relay keeps only its hash. 0, or
 * an error with the reason (RELAY_E_CONFIG: the name is taken, or the
 * relay serves one post).
 */
int relay_post_add(const struct relay_config *c, const char *name, const uint8_t post_pk[32],
                   char *token, size_t cap, char *err, size_t errlen)
    __attribute__((warn_unused_result));

/* Stop listening; requests in flight end, partial bodies count as aborted. */
void relay_stop(struct relay *r);

/* Stops if needed and closes the store; NULL is a no-op. */
void relay_close(struct relay *r);

/*
 * Housekeeping, the daemon calls it every minute: delete partial uploads
 * older than the TTL, the bytes of fetched tips after keep_fetched and of
 * refused uploads after keep_rejected. Returns the number of uploads
 * touched, or a negative relay_error.
 */
int relay_sweep(struct relay *r);

/* ---- one request, without sockets ---- */

struct relay_header {
    const char *name; /* any case */
    const char *value;
};

/* A request as the relay sees it; every pointer borrowed for the call. */
struct relay_request {
    const char *method; /* "PATCH" */
    const char *path;   /* "/files/…", no query string, no %-escapes */
    const struct relay_header *headers;
    size_t nheaders;
    const struct relay_header *args; /* the query string, decoded: after=3&limit=10 */
    size_t nargs;
};

#define RELAY_RESPONSE_HEADERS 12

/* An answer. `body` is malloc'd (or NULL); free the lot with relay_response_clear(). */
struct relay_response {
    int status;
    size_t nheaders;
    struct {
        char name[32];
        char value[160];
    } headers[RELAY_RESPONSE_HEADERS];
    char *body;
    size_t body_len;
};

void relay_response_clear(struct relay_response *resp);

/* The value of header `name` in a response, or NULL. Borrowed. */
const char *relay_response_header(const struct relay_response *resp, const char *name);

struct relay_call;

/*
 * Decide on a request from its head alone. Returns 1 with `resp` filled
 * when the answer is ready now (every refusal, every request that has no
 * body to read); returns 0 with `*call` set when the relay wants the body
 * (an accepted PATCH): feed it to relay_call_body(), then call
 * relay_call_end() or relay_call_abort(), which free the call.
 */
int relay_call_begin(struct relay *r, const struct relay_request *req, struct relay_call **call,
                     struct relay_response *resp) __attribute__((warn_unused_result));

/* Take the next slice of the body. Never fails: errors show at the end. */
void relay_call_body(struct relay_call *call, const uint8_t *bytes, size_t len);

/* The body is complete: store it, check a finished envelope, answer. */
void relay_call_end(struct relay_call *call, struct relay_response *resp);

/*
 * The connection died mid-body: keep the whole envelope chunks that arrived
 * (they are on disk already, or written now), drop the piece of the next.
 * A PATCH still open when its kiosk sends a newer request for the upload
 * is ended that way by that request (docs/relay-protocol.md).
 */
void relay_call_abort(struct relay_call *call);

/* begin + body + end in one go, for tests and the fuzzer. */
void relay_handle(struct relay *r, const struct relay_request *req, const uint8_t *body, size_t len,
                  struct relay_response *resp);

/* ---- the parsers, exposed for the tests and the fuzzer ---- */

struct relay_auth {
    uint8_t key[32];
    uint8_t sig[64];
    int64_t ts;
    char ts_text[20]; /* as sent: it is what was signed */
};

/*
 * Parse `Homthu-Device key="…", ts="…", sig="…"`. 0, or -1 with the
 * reason in `err` ("sig is not base64 of 64 bytes").
 */
int relay_parse_auth(const char *value, struct relay_auth *out, char *err, size_t errlen)
    __attribute__((warn_unused_result));

/* The tipid in a tus Upload-Metadata value. 0, or -1 with the reason. */
int relay_parse_metadata(const char *value, uint8_t tip_id[ENVELOPE_TIP_ID_BYTES], char *err,
                         size_t errlen) __attribute__((warn_unused_result));

/* A tus number: 1–19 decimal digits, no sign, no leading zero. 0 or -1. */
int relay_parse_u64(const char *s, uint64_t *out) __attribute__((warn_unused_result));

/*
 * The text a kiosk signs (docs/relay-protocol.md) into `out`; returns its
 * length, or 0 when it does not fit. `offset`/`length` NULL = "-".
 * `checksum` is the Upload-Checksum value: given, the text is version 2,
 * which signs it (a PATCH whose body the relay checks); NULL, version 1.
 */
size_t relay_signed_text(char *out, size_t cap, const char *method, const char *path,
                         const char *ts, const char *offset, const char *length,
                         const char *checksum);

#endif
