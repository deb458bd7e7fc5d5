/*
 * station — the border post's web console (homthu-station): a
 * libmicrohttpd server on the post's own machine that officers open in any
 * browser, and a background puller that brings tips from the relay and the
 * mailbox into the sealed postbox whether or not anyone is logged in.
 *
 * The post key never leaves this process: the commander unlocks it (from
 * the page, or at start from the station's console), it is held in
 * sodium_malloc'd (locked) memory, and it is wiped by the Lock button,
 * after idle_lock_seconds with no officer's request, and at exit. Locked,
 * the station still pulls and stores; officers see what arrived, not what
 * it says. docs/station.md is the officers' and technicians' guide,
 * docs/station-api.md the page's contract.
 *
 * Errors: 0 or -1 with a sentence in err.
 */
#ifndef HOMTHU_STATION_H
#define HOMTHU_STATION_H

#include <stddef.h>
#include <stdint.h>

struct station_opts {
    const char *post_dir;      /* the post's folder (post.pub, postbox.db, post.conf) */
    const char *listen;        /* "0.0.0.0:8443", "[::]:8443", "127.0.0.1:0" */
    int plain;                 /* plain HTTP: allowed only on a loopback address */
    const char *cert, *key;    /* NULL: POSTDIR/station-cert.pem, station-key.pem (made once) */
    const char *const *names;  /* host names and addresses the certificate is for (NULL: this host's) */
    int pull_seconds;          /* how often to pull (0: 60) */
    int idle_lock_seconds;     /* lock the key after this long with no officer's request (0: 1800) */
    int session_idle_seconds;  /* log out after this long idle (0: 900) */
};

struct station;

int station_start(struct station **out, const struct station_opts *o, uint16_t *port, char *err,
                  size_t errlen) __attribute__((warn_unused_result));
/* Stop serving and pulling, wipe the key; NULL is a no-op. */
void station_stop(struct station *s);

/* The one-time code that makes the commander on first start; "" once there is one. */
const char *station_setup_code(const struct station *s);
/* "SHA256 AB:CD:…" of the certificate, "" for plain HTTP. */
const char *station_fingerprint(const struct station *s);
/* Unlock from the station's own console (a passphrase typed there). */
int station_unlock(struct station *s, const char *passphrase, char *err, size_t errlen)
    __attribute__((warn_unused_result));

#endif
