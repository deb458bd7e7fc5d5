/*
 * officers — the post station's people (SQLite, POSTDIR/station.db): who
 * may log in, with which role, their password hashes (Argon2id), failed
 * logins and lockouts, which tips each officer has seen, and which officer
 * a tip is assigned to. The web station (src/station/web.c) is the caller;
 * docs/station-api.md is the contract it serves.
 *
 * Names: 1..OFFICER_NAME_MAX characters of [a-z0-9._-], starting with a
 * letter or a digit. Every call folds ASCII A-Z to a-z first, so "Minh"
 * and "minh" are one officer; anything else (spaces, diacritics, '/')
 * is OFFICERS_E_NAME. The rule keeps names safe in URLs
 * (/api/officers/<name>), file names, CSV and log lines without escaping.
 *
 * Passwords: OFFICER_PASSWORD_MIN..OFFICER_PASSWORD_MAX bytes and not the
 * name itself, else OFFICERS_E_WEAK_PASSWORD. Stored as crypto_pwhash_str
 * (Argon2id) at the limits HOMTHU_PWHASH names ("min", "interactive",
 * "moderate", "sensitive": keys_pwhash_limits()); unset, 3 passes over
 * 64 MiB: 0.1 s on a 2020s x86 PC, an estimated 0.5-0.8 s on a Raspberry
 * Pi 4 (moderate's 256 MiB would pass a second there). At most two hashes
 * run at once, so a burst of logins cannot take all the memory. A hash
 * made at other limits is redone at the next good login.
 *
 * Lockout: OFFICERS_MAX_FAILURES wrong passwords in a row lock the account
 * for OFFICERS_LOCK_FIRST seconds, each further lock (without a good login
 * between) twice as long, at most OFFICERS_LOCK_MAX. While locked the
 * password is not even checked. A good login, or a new password set by the
 * commander, clears the count. Known limit: an account that locks tells a
 * stranger the name exists (unknown names never lock); the station's
 * per-address limit (sessions.h) comes first and slows that down.
 *
 * The store never leaves the post without an active commander: the last
 * one can neither be disabled nor given another role.
 *
 * Tip numbers here are postbox seqs (struct postbox_tip.seq); this store
 * does not check they exist.
 *
 * Threads: calls may come from several threads at once; the database work
 * is done under a lock, the password hashing outside it.
 *
 * Errors: 0 or a negative enum officers_error; `err` gets a sentence.
 */
#ifndef HOMTHU_OFFICERS_H
#define HOMTHU_OFFICERS_H

#include <stddef.h>
#include <stdint.h>

#define STATION_DB_NAME "station.db"

#define OFFICER_NAME_MAX 32
#define OFFICER_PASSWORD_MIN 10
#define OFFICER_PASSWORD_MAX 1024
#define OFFICERS_MAX_FAILURES 5
#define OFFICERS_LOCK_FIRST (15 * 60)
#define OFFICERS_LOCK_MAX (24 * 60 * 60)

enum officer_role {
    OFFICER_COMMANDER = 1,  /* everything: officers, kiosks, unlock, audit */
    OFFICER_OFFICER = 2,    /* tips */
    OFFICER_TECHNICIAN = 3, /* kiosk health, never tip content */
};

enum officers_error {
    OFFICERS_OK = 0,
    OFFICERS_E_ARG = -1,
    OFFICERS_E_NOMEM = -2,
    OFFICERS_E_IO = -3,              /* SQLite, a damaged or foreign file */
    OFFICERS_E_SCHEMA = -4,          /* station.db made by a newer homthu-station */
    OFFICERS_E_NAME = -5,            /* not a name by the rule above */
    OFFICERS_E_WEAK_PASSWORD = -6,   /* too short, too long, or the name itself */
    OFFICERS_E_EXISTS = -7,          /* an officer of that name is there already */
    OFFICERS_E_NOTFOUND = -8,        /* no officer of that name */
    OFFICERS_E_BAD_LOGIN = -9,       /* unknown name or wrong password: never says which */
    OFFICERS_E_LOCKED_OUT = -10,     /* too many wrong passwords: *retry_after says how long */
    OFFICERS_E_DISABLED = -11,       /* right password, but the account is disabled */
    OFFICERS_E_LAST_COMMANDER = -12, /* would leave no active commander */
    OFFICERS_E_ROLE = -13,           /* not a role, or a technician given a tip */
};

struct officer {
    char name[OFFICER_NAME_MAX + 1];
    int role; /* enum officer_role */
    int64_t created;
    int64_t last_login; /* 0: never */
    int disabled;
    int failures;         /* wrong passwords since the last good login or lock */
    int64_t locked_until; /* 0 or the time the current lock ends (may be past) */
};

/* "commander", "officer", "technician"; "?" for another number. */
const char *officer_role_name(int role);
/* The role for a word above, or -1. */
int officer_role_parse(const char *name);

/*
 * Fold `name` to lower case into out and check the rule above: 0, or
 * OFFICERS_E_NAME with a sentence. For the server to check a form field
 * before doing anything else with it.
 */
int officers_name_check(const char *name, char out[OFFICER_NAME_MAX + 1], char *err, size_t errlen)
    __attribute__((warn_unused_result));

struct officers;

/*
 * Open (creating when missing, 0600) the officers' part of station.db.
 * A file made by a newer homthu-station is OFFICERS_E_SCHEMA; a damaged
 * file, or one that is not station.db, OFFICERS_E_IO saying so. Costs one
 * password hash (the stand-in for unknown names).
 *
 * The file holds officers' names in the clear (they log in by them), and
 * so do the seen marks and assignments below: a copied station.db tells
 * which officer has seen or holds which tip number, though not what any
 * tip says. Who did what, when, is the audit's, sealed (audit.h).
 */
int officers_open(struct officers **out, const char *path, char *err, size_t errlen)
    __attribute__((warn_unused_result));
void officers_close(struct officers *o); /* NULL is a no-op */

/* How many officers there are (disabled ones too): 0 means first start. */
int officers_count(struct officers *o, int *n, char *err, size_t errlen)
    __attribute__((warn_unused_result));

int officers_add(struct officers *o, const char *name, int role, const char *password, int64_t now,
                 char *err, size_t errlen) __attribute__((warn_unused_result));

/*
 * Check a name and password. 0 fills *out (may be NULL) and records the
 * login. OFFICERS_E_BAD_LOGIN for an unknown name or a wrong password, with
 * the same hashing work done for both; OFFICERS_E_LOCKED_OUT with
 * *retry_after (seconds, may be NULL) for the wrong password that locks
 * the account (the fifth) and for every attempt while it is locked;
 * OFFICERS_E_DISABLED for the right password of a disabled account (a
 * wrong one is OFFICERS_E_BAD_LOGIN as for anyone). The server should
 * count BAD_LOGIN and LOCKED_OUT as failures of the client's address
 * (sessions_login_failed()).
 */
int officers_login(struct officers *o, const char *name, const char *password, int64_t now,
                   struct officer *out, int64_t *retry_after, char *err, size_t errlen)
    __attribute__((warn_unused_result));

/* New password; clears the failure count and any lock. End the officer's sessions. */
int officers_set_password(struct officers *o, const char *name, const char *password, int64_t now,
                          char *err, size_t errlen) __attribute__((warn_unused_result));
int officers_set_role(struct officers *o, const char *name, int role, char *err, size_t errlen)
    __attribute__((warn_unused_result));
/* Disable (OFFICERS_E_LAST_COMMANDER for the last active commander) or enable again. */
int officers_disable(struct officers *o, const char *name, char *err, size_t errlen)
    __attribute__((warn_unused_result));
int officers_enable(struct officers *o, const char *name, char *err, size_t errlen)
    __attribute__((warn_unused_result));

int officers_get(struct officers *o, const char *name, struct officer *out, char *err,
                 size_t errlen) __attribute__((warn_unused_result));
/*
 * Every officer, in order of creation, to fn (borrowed for the call; a
 * positive return stops the walk and is returned). fn must not call back
 * into this store.
 */
int officers_list(struct officers *o, int (*fn)(void *ctx, const struct officer *of), void *ctx,
                  char *err, size_t errlen) __attribute__((warn_unused_result));

/* ---- which tips each officer has seen ---- */

int officers_mark_seen(struct officers *o, const char *name, int64_t tip_seq, char *err,
                       size_t errlen) __attribute__((warn_unused_result));
/* How many tips `name` has opened (tips are never deleted: held minus this is unopened). */
int officers_seen_count(struct officers *o, const char *name, int64_t *n, char *err,
                        size_t errlen) __attribute__((warn_unused_result));
/* seen_out[i] = 1 when `name` has seen seqs[i], else 0 (one page of the list). */
int officers_seen(struct officers *o, const char *name, const int64_t *seqs, size_t n,
                  int *seen_out, char *err, size_t errlen) __attribute__((warn_unused_result));

/* ---- which officer a tip is given to ---- */

/*
 * Give tip_seq to `name` (an enabled commander or officer: OFFICERS_E_NOTFOUND,
 * _DISABLED, _ROLE otherwise), or "" to clear.
 */
int officers_assign(struct officers *o, int64_t tip_seq, const char *name, int64_t now, char *err,
                    size_t errlen) __attribute__((warn_unused_result));
/* The officer tip_seq is given to, "" when none. */
int officers_assigned(struct officers *o, int64_t tip_seq, char out[OFFICER_NAME_MAX + 1],
                      char *err, size_t errlen) __attribute__((warn_unused_result));

/* ---- station.db itself, shared with audit.c ---- */

struct sqlite3;
/*
 * Open station.db (0600, WAL, busy timeout, FULL sync) and make sure
 * `part`'s tables exist at `version`: `schema` (SQL) is run once, when the
 * part is missing. Used by officers.c ("officers") and audit.c ("audit")
 * so both parts live in one file with their own versions. Errors are enum
 * officers_error values.
 */
int station_db_open(struct sqlite3 **out, const char *path, const char *part, int version,
                    const char *schema, char *err, size_t errlen)
    __attribute__((warn_unused_result));
/*
 * OFFICERS_E_IO with a sentence for the last failure on db: busy, damaged
 * ("restore it from a backup"), or the disk; `doing` says what failed.
 */
int station_db_fail(struct sqlite3 *db, const char *path, const char *doing, char *err,
                    size_t errlen);

#endif
