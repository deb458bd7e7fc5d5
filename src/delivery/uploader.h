/*
 * uploader — delivers sealed tips from the kiosk's queue to the relay over
 * tus 1.0 (core + creation; termination and expiration understood), with
 * libcurl. docs/uploader.md tells the whole story; docs/relay-protocol.md
 * is the contract.
 *
 * One tip at a time, oldest first. For a tip: create the upload (POST,
 * idempotent by tip id at the relay), ask the server's offset (HEAD), then
 * PATCH from there in pieces aligned to the envelope's chunks, a few chunks
 * per request, so a cut costs at most the chunk in flight. After any cut
 * the next attempt asks the offset again and goes on from there; a 404/410
 * (the relay forgot an expired partial upload) creates it again. A tip is
 * delivered only when the relay says `Homthu-Verified: yes` (on the last
 * PATCH or a later HEAD): then, and only then, the queue marks it delivered
 * and purges its bytes.
 *
 * Every request carries the device's Ed25519 signature (Authorization:
 * Homthu-Device ...). The kiosk has no RTC: a 401 with `Homthu-Time` sets
 * an in-memory clock offset and the request is tried again once. Nothing
 * about wall time is written to the queue.
 *
 * uploader_run() is the delivery daemon's loop (src/delivery/main_uplink.c): a
 * separate process from the UI, so delivery goes on while the UI restarts
 * and a stalled link never blocks a touch. Between failed attempts it
 * waits a full-jitter exponential backoff; while the failure was "cannot
 * reach the relay", a cheap connect probe every few seconds, or a netlink
 * route/address event, ends the wait as soon as the network is back.
 *
 * Not here: the queue's storage (queue.h), the envelope format
 * (envelope.h), reading kiosk.conf (config.h, main_uplink.c).
 *
 * Logs (through the log callback, one line each) name tips by the first 8
 * hex digits of their id and give sizes and counts only: never content.
 *
 * Errors: 0 or a negative enum uploader_error; `err` gets a sentence a
 * technician can act on.
 */
#ifndef HOMTHU_UPLOADER_H
#define HOMTHU_UPLOADER_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include "core/queue.h"

enum uploader_error {
    UPLOADER_OK = 0,
    UPLOADER_E_ARG = -1, /* programmer error, bad option */
    UPLOADER_E_NOMEM = -2,
    UPLOADER_E_NET = -3,       /* transient: cut, stall, 5xx, 429, 507: try again later */
    UPLOADER_E_OFFLINE = -4,   /* cannot reach the relay at all (DNS, connect) */
    UPLOADER_E_PIN = -5,       /* relay's TLS key is not relay_pin: nothing was sent */
    UPLOADER_E_TLS = -6,       /* TLS certificate not trusted, handshake failed */
    UPLOADER_E_DEVICE = -7,    /* 403: this kiosk is not enrolled, or revoked */
    UPLOADER_E_AUTH = -8,      /* 400/401 the relay refuses our Authorization header */
    UPLOADER_E_REFUSED = -9,   /* the relay refuses this tip (413, 422) */
    UPLOADER_E_PROTOCOL = -10, /* the server does not speak tus 1.0 as we expect */
    UPLOADER_E_QUEUE = -11,    /* the queue failed (read, state change) */
    UPLOADER_E_UNVERIFIED = -12, /* the server holds the whole tip but never said
                                    Homthu-Verified: yes (a plain tus server) */
};

/* Short fixed English name of a code: "offline", "pin", "not verified", ... */
const char *uploader_strerror(int code);

/*
 * Does a failure with this code say something about that one tip only
 * (refused, not verified, a protocol answer about its upload such as a 409
 * that does not go away, its bytes unreadable in the queue)? Then the tips
 * behind it are still tried. The others (offline, network, pin, tls,
 * device, auth) are the link's, the relay's or this kiosk's: no younger
 * tip could go either.
 */
int uploader_error_is_the_tips(int code);

/* How a relay URL travels (uploader_url_kind). */
enum uploader_url_kind {
    UPLOADER_URL_BAD = -1,     /* not http(s)://host... */
    UPLOADER_URL_TLS = 0,      /* https:// */
    UPLOADER_URL_LOOPBACK = 1, /* http:// to 127.0.0.0/8, [::1] or localhost: never leaves the machine */
    UPLOADER_URL_PLAIN = 2,    /* http:// to another machine: readable and changeable on the way */
};
int uploader_url_kind(const char *url);

struct uploader_opts {
    const char *relay_url;     /* http(s)://host[:port][/prefix/]; uploads go to <prefix>/files/ */
    /* Plain http:// to a host that is not this machine is refused unless
       this is 1 (kiosk.conf relay_insecure_http, homthu-uplink
       --insecure-http): on the way nothing would be authenticated. A
       loopback relay (127.0.0.0/8, [::1], localhost) needs no leave: its
       traffic never leaves the machine (make run, the tests).
       uploader_url_kind() says which a URL is. */
    int insecure_http;
    const uint8_t *device_sk;  /* 64 bytes, libsodium Ed25519 (seed || pk); copied */
    const char *pin;           /* "sha256//<base64>" (';'-separated list) or NULL/"": not pinned */
    const char *ca_file;       /* PEM file to trust instead of the system store, or NULL/"" */
    long connect_timeout_s;    /* CURLOPT_CONNECTTIMEOUT; 0 → 30 */
    long low_speed_bytes;      /* CURLOPT_LOW_SPEED_LIMIT; 0 → 32 */
    long low_speed_seconds;    /* CURLOPT_LOW_SPEED_TIME; 0 → 60 */
    unsigned chunks_per_patch; /* envelope chunks per PATCH, 1–64; 0 → 8 */
    int require_verified;      /* 1: delivered only on Homthu-Verified: yes (the relay).
                                  0: a complete offset confirmed by HEAD is enough (third-party
                                  tus servers only; docs/uploader.md) */
    /* Non-zero ends a transfer in progress (a signal handler sets it): the
       heartbeat thread's uploader stops with the daemon. NULL: never. */
    const volatile sig_atomic_t *abort_flag;
    /* One log line, no newline; NULL → stderr with "homthu-uplink: " before it. */
    void (*log)(void *ctx, const char *line);
    void *log_ctx;
};

/*
 * What sending one tip cost, summed over every attempt in this process.
 * Counted from what libcurl hands to the connection (its debug callback,
 * HEADER_OUT and DATA_OUT), so a cut does not hide what was written before
 * it: over http these are the bytes written to the socket, which a proxy
 * in between receives; over https the same bytes before encryption (TLS
 * adds its handshake and record framing).
 */
struct uploader_report {
    uint64_t bytes_sent;   /* every request of the tip (POST, HEAD, PATCH): request line,
                              headers and body, every attempt, libcurl's own resends too */
    uint64_t body_sent;    /* of those, PATCH body bytes (the envelope's) */
    uint64_t bytes_resent; /* of body_sent, bytes at an offset of this tip that had been
                              handed to the connection before (the link lost them, or the
                              server dropped them) */
    uint32_t requests;     /* HTTP requests made */
    uint32_t cuts;         /* requests that failed on the network */
    uint32_t created;      /* POSTs (2+ means the relay forgot an upload) */
};

struct uploader;

/* Caller frees with uploader_free(). Does no network I/O. */
int uploader_new(struct uploader **out, const struct uploader_opts *opts, char *err, size_t errlen)
    __attribute__((warn_unused_result));
void uploader_free(struct uploader *u); /* NULL is a no-op; zeroes the key */

/*
 * One attempt to deliver tip `t` (sealed or uploading) from `q`: resumes
 * where the server is. 0 when the relay confirmed it (the caller then
 * marks it delivered: uploader_deliver_next does). `rep` accumulates.
 */
int uploader_send_tip(struct uploader *u, struct queue *q, const struct queue_tip *t,
                      struct uploader_report *rep, char *err, size_t errlen)
    __attribute__((warn_unused_result));

/*
 * Is the relay reachable? A connect (and TLS handshake, pin checked) with
 * the connect timeout, no request: 0, UPLOADER_E_OFFLINE, _PIN or _TLS.
 */
int uploader_probe(struct uploader *u, char *err, size_t errlen)
    __attribute__((warn_unused_result));

/* Unix seconds as the relay sees them: local clock + the learned offset. */
int64_t uploader_relay_time(const struct uploader *u);
/* The offset learned from Homthu-Time (relay − local), 0 until then. */
int64_t uploader_clock_offset(const struct uploader *u);

/*
 * Full-jitter exponential backoff: a uniform draw from
 * [0, min(cap_ms, base_ms · 2^attempt)] using `rnd` (any 32-bit random).
 */
uint64_t uploader_backoff_ms(uint64_t base_ms, uint64_t cap_ms, unsigned attempt, uint32_t rnd);

/*
 * One heartbeat (core/heartbeat.h: HEARTBEAT_SEALED_BYTES, sealed to the
 * post) to <relay_url>/kiosk/heartbeat, signed like every request, with the
 * clock offset learned as for tips. 0 when the relay took it (204); else
 * the same codes as a tip's request (UPLOADER_E_OFFLINE, _DEVICE, ...).
 * No retry here: the caller waits for its next slot (main_uplink.c).
 */
int uploader_send_heartbeat(struct uploader *u, const uint8_t *sealed, size_t len, char *err,
                            size_t errlen) __attribute__((warn_unused_result));

/* ---- the daemon's loop ---- */

/* What the loop is doing, for a tick: the phase and, while failing, the
   kind of the last failure (UPLOADER_E_*), beside the line for people. */
enum uploader_phase { UPLOADER_IDLE = 1, UPLOADER_SENDING, UPLOADER_FAILING };
struct uploader_news {
    int phase;         /* enum uploader_phase */
    int error;         /* UPLOADER_E_* while failing, else 0 */
    const char *doing; /* "sending tip 98cf3d8a; 3 waiting" */
};

struct uploader_run_opts {
    uint64_t backoff_base_ms; /* 0 → 2000 */
    uint64_t backoff_cap_ms;  /* 0 → 600000 */
    unsigned probe_seconds;   /* probe every this often while offline; 0 → 5 */
    unsigned poll_ms;         /* look for new tips this often when idle; 0 → 2000 */
    int wake_fd;              /* readable on a network change (netlink); 0 or -1: none */
    int exit_when_empty;      /* return 0 once nothing is waiting (tests, --once) */
    unsigned max_failures;    /* return the last failure's code after this many
                                 failed attempts in a row that moved no tip
                                 forward; 0 = never (the daemon) */
    uint32_t (*jitter)(void); /* the backoff's random draw; NULL: libsodium's.
                                 Tests pin it to make a wait's length certain. */
    /*
     * Called while the loop lives: at least every 200 ms through waits, from
     * inside transfers (libcurl's progress callback, about once a second
     * even when the link stalls) and at each step, with a line saying what
     * the loop is doing ("sending tip 98cf3d8a; 3 waiting"): ids and counts,
     * never content. homthu-uplink pets systemd's watchdog and sets the
     * unit's STATUS from here, so a loop that stops turning is restarted.
     * NULL: none.
     */
    void (*tick)(void *ctx, const struct uploader_news *news);
    void *tick_ctx;
};

/* Totals of one uploader_run: the byte counts are the sums of every tip's
 * uploader_report (the log line of each tip delivered or set aside, and
 * uploader_last_failure's for the others). */
struct uploader_totals {
    uint32_t delivered;
    uint32_t refused; /* tips set aside for this run (the relay refused them) */
    uint32_t held;    /* tips held back at least once for their own backoff (uploader_run) */
    uint32_t attempts;
    uint32_t failures;
    uint64_t bytes_sent, body_sent, bytes_resent;
};

/*
 * Deliver tips until *stop becomes non-zero (a signal handler sets it), or
 * with exit_when_empty until nothing is waiting (tips held back, below,
 * are still waiting). Delivered tips are marked and purged at once. A tip
 * the relay refuses (413, or 422 three times in one attempt: after each of
 * the first two it is sent whole again from offset 0, as a byte changed in
 * transit is refused and the relay takes a new upload of it) is set aside
 * for the rest of this run with a log line, so it cannot block younger
 * tips; it stays in the queue for the technician.
 *
 * Like a mail queue, a tip that keeps failing does not hold up the tips
 * behind it: after a failure that is the tip's own
 * (uploader_error_is_the_tips: a 409 that stays, an answer we cannot use),
 * or after UPLOADER_TIP_STRIKES network failures in a row on it that moved
 * nothing (a cut, a 5xx that only this tip meets), the tip is held back
 * with its own full-jitter backoff (same base and cap, its own exponent)
 * and the next tip due in the queue's order goes at once (if it fails on
 * the network too, the link is to blame and the queue waits as usual).
 * Held back is in memory only: it stays queued, is tried again when its
 * time comes (oldest first among the tips due), and a restart tries it
 * first again. A failure of the link, the relay or this kiosk still makes
 * the whole queue wait, as no other tip could go either. `totals` may be
 * NULL.
 */
#define UPLOADER_TIP_STRIKES 3
int uploader_run(struct uploader *u, struct queue *q, const struct uploader_run_opts *o,
                 volatile sig_atomic_t *stop, struct uploader_totals *totals)
    __attribute__((warn_unused_result));

/*
 * Why the last attempt on tip `id` in this process failed: its code (0: no
 * failed attempt), with the sentence in `why` and what the tip cost so far
 * in `rep` (either may be NULL). For the report of what is left when
 * homthu-uplink --once ends.
 */
int uploader_last_failure(const struct uploader *u, const uint8_t id[16], char *why, size_t cap,
                          struct uploader_report *rep);

#endif
