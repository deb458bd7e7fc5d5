/*
 * sessions — who is logged in to the post station, in memory only: a
 * restart of homthu-station logs everyone out (docs/station-api.md).
 *
 * A session is a random cookie token (32 bytes, base64url) and a random
 * CSRF token of the same size. The table keeps only a BLAKE2b hash of the
 * cookie token, so a read of the process's memory gives no cookie that
 * works; the CSRF token is kept as is (the page asks for it again through
 * /api/state, and alone it opens nothing). At most SESSIONS_MAX sessions:
 * the one used least recently makes room for a new one.
 *
 * A session ends at sessions_end() (logout), after `idle_seconds` without
 * sessions_check(), at sessions_end_officer() (disabled, new password, new
 * role), and with the table.
 *
 * Beside them, the login rate limit per client address: at most
 * SESSIONS_LOGIN_FAILS failed logins within SESSIONS_LOGIN_WINDOW seconds
 * from one address, then that address waits SESSIONS_LOGIN_WAIT seconds.
 * The table holds SESSIONS_ADDRS addresses (fixed memory); when full, the
 * address quiet the longest is forgotten. Addresses are the caller's text
 * ("192.0.2.7"); a caller may pass an IPv6 /64 prefix instead of the full
 * address so one machine cannot walk its own prefix.
 *
 * Times are the caller's `now` (unix seconds). All calls are thread-safe.
 */
#ifndef HOMTHU_SESSIONS_H
#define HOMTHU_SESSIONS_H

#include <stddef.h>
#include <stdint.h>

#include "station/officers.h"

#define SESSIONS_TOKEN_CHARS 43 /* 32 bytes in unpadded base64url */
#define SESSIONS_CSRF_CHARS 43
#define SESSIONS_MAX 256
#define SESSIONS_IDLE_DEFAULT (15 * 60)

#define SESSIONS_ADDRS 1024
#define SESSIONS_ADDR_MAX 63 /* longer addresses are cut to this (an IPv6 text is at most 45) */
#define SESSIONS_LOGIN_FAILS 10
#define SESSIONS_LOGIN_WINDOW (10 * 60)
#define SESSIONS_LOGIN_WAIT (10 * 60)

enum sessions_error {
    SESSIONS_OK = 0,
    SESSIONS_E_ARG = -1,
    SESSIONS_E_NOTFOUND = -2, /* no such session: never made, logged out, ended, pushed out */
    SESSIONS_E_EXPIRED = -3,  /* it was idle too long (it is gone now) */
    SESSIONS_E_RANDOM = -4,   /* no random bytes (libsodium failed to start) */
};

/* A session as the server needs it: a copy, valid after the table changes. */
struct session_view {
    char name[OFFICER_NAME_MAX + 1];
    int role; /* enum officer_role, as at login */
    int64_t created;
    int64_t last_seen;
    char csrf[SESSIONS_CSRF_CHARS + 1];
};

struct sessions;

/* A table whose sessions end after idle_seconds (> 0) without a request; NULL: no memory. */
struct sessions *sessions_new(int64_t idle_seconds);
void sessions_free(struct sessions *s); /* wipes; NULL is a no-op */

/*
 * A new session for officer `name` with `role`: the cookie token and the
 * CSRF token come back NUL-terminated. Pushes out the least recently used
 * session when the table is full.
 */
int sessions_create(struct sessions *s, const char *name, int role, int64_t now,
                    char token[SESSIONS_TOKEN_CHARS + 1], char csrf[SESSIONS_CSRF_CHARS + 1])
    __attribute__((warn_unused_result));

/*
 * The session of cookie `token`: 0 fills *out (may be NULL) and counts as
 * activity; SESSIONS_E_NOTFOUND or SESSIONS_E_EXPIRED otherwise.
 */
int sessions_check(struct sessions *s, const char *token, int64_t now, struct session_view *out)
    __attribute__((warn_unused_result));

/* 1 when `csrf` (the X-CSRF-Token header, may be NULL) is the session's, else 0. */
/*
 * As sessions_check() but not counting as the officer's activity: the
 * page's poll for news (GET /api/state every few seconds) must not keep
 * an abandoned session, or a stolen cookie being polled, alive forever.
 */
int sessions_look(struct sessions *s, const char *token, int64_t now, struct session_view *out)
    __attribute__((warn_unused_result));
int sessions_csrf_ok(const struct session_view *v, const char *csrf);

/* Logout: that cookie never works again. 0, or SESSIONS_E_NOTFOUND. */
int sessions_end(struct sessions *s, const char *token);
/* End every session of officer `name`; returns how many. */
int sessions_end_officer(struct sessions *s, const char *name);
/* Sessions alive at `now` (expired ones are dropped on the way). */
int sessions_count(struct sessions *s, int64_t now);

/* ---- the login rate limit per client address ---- */

/* 1: `addr` may try a login now; 0: it must wait *retry_after seconds (may be NULL). */
int sessions_login_allowed(struct sessions *s, const char *addr, int64_t now, int64_t *retry_after);
/* A failed login from addr (wrong name or password, or a locked account). */
void sessions_login_failed(struct sessions *s, const char *addr, int64_t now);
/* A good login from addr: its count starts again. */
void sessions_login_ok(struct sessions *s, const char *addr);

#endif
