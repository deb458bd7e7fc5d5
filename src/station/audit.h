/*
 * audit — the post station's record of who unlocked, opened, listened,
 * exported and changed what, and when (issue 11, "Audit"). Rows live in
 * station.db (table `audit`, beside the officers: officers.h), each one
 * sealed to post.pub with console_seal(): writing needs no passphrase, so
 * a locked station still records; reading needs console_unlock(). A copy
 * of station.db shows how many rows there are and nothing else: every
 * sealed row has the same size, whatever its words.
 *
 * The rows are a chain: each sealed row holds its own number and the
 * BLAKE2b hash of the sealed bytes of the row before it. audit_read()
 * checks the whole chain and says `intact` = 0 when a row was deleted
 * (a gap, a broken link, or the newest ones cut off), changed, moved or
 * cannot be opened. What it cannot catch: sealing needs only the public
 * key, so someone who can write station.db and rewrites every row after
 * the one they change makes a chain that checks out. It is evidence of
 * careless tampering and of damage, not proof against a careful forger.
 *
 * Fields are bounded and checked: `officer` is "" (the station itself) or
 * an officer's name (officers.h's rule); `action` 1..AUDIT_ACTION_MAX of
 * [a-z0-9._-] ("unlock", "lock", "open", "listen", "export", "status",
 * "assign", "officer.add", "officer.password", "officer.disable",
 * "kiosk.enrol", "kiosk.revoke", "login"); `tip` "" or a tip id's hex
 * (1..32 digits); `detail` up to AUDIT_DETAIL_MAX bytes of UTF-8, cut
 * there, with control characters and broken UTF-8 made '?'. Callers must
 * never put tip content in `detail` (text, a note, a category, what was
 * said): the audit is read by the commander, but its words are not tip
 * evidence and must not become a second copy of it. Say what was done
 * ("status new -> checking", "csv, 12 tips"), not what the tip holds.
 *
 * Threads: calls may come from several threads; each takes the store's lock.
 *
 * Errors: 0 or a negative enum audit_error; `err` gets a sentence.
 */
#ifndef HOMTHU_AUDIT_H
#define HOMTHU_AUDIT_H

#include <stddef.h>
#include <stdint.h>

#include "station/officers.h"

struct console;

#define AUDIT_ACTION_MAX 32
#define AUDIT_TIP_MAX 32
#define AUDIT_DETAIL_MAX 300
#define AUDIT_PAGE_DEFAULT 50
#define AUDIT_PAGE_MAX 1000

enum audit_error {
    AUDIT_OK = 0,
    AUDIT_E_ARG = -1, /* a field breaks the rules above */
    AUDIT_E_NOMEM = -2,
    AUDIT_E_IO = -3,     /* SQLite, a damaged or foreign file */
    AUDIT_E_SCHEMA = -4, /* made by a newer homthu-station */
    AUDIT_E_LOCKED = -5, /* reading needs console_unlock() */
    AUDIT_E_SEAL = -6,   /* console_seal() failed */
};

struct audit_entry {
    int64_t id; /* the row's number, 1 up; pass the last one shown as before_id for the next page */
    int64_t at;
    char officer[OFFICER_NAME_MAX + 1];
    char action[AUDIT_ACTION_MAX + 1];
    char tip[AUDIT_TIP_MAX + 1];
    char detail[AUDIT_DETAIL_MAX + 1];
    int damaged; /* the row does not open (another key, or changed): only id is set */
};

struct audit;

/* Open (creating when missing) the audit part of station.db. */
int audit_open(struct audit **out, const char *path, char *err, size_t errlen)
    __attribute__((warn_unused_result));
void audit_close(struct audit *a); /* NULL is a no-op */

/* Record one row, sealed to c's post.pub: works while c is locked. */
int audit_add(struct audit *a, const struct console *c, int64_t now, const char *officer,
              const char *action, const char *tip_hex, const char *detail, char *err, size_t errlen)
    __attribute__((warn_unused_result));

/*
 * Rows with id < before_id (0: from the newest), newest first, at most
 * `limit` (0: AUDIT_PAGE_DEFAULT; at most AUDIT_PAGE_MAX), each to fn
 * (borrowed for the call, wiped after; a positive return stops and is
 * returned). *intact (may be NULL) says whether the whole chain checks out.
 * AUDIT_E_LOCKED before console_unlock(). The first read after opening
 * opens every row once to check the chain; later reads open only new rows
 * and those shown.
 */
int audit_read(struct audit *a, const struct console *c, int64_t before_id, int limit,
               int (*fn)(void *ctx, const struct audit_entry *e), void *ctx, int *intact, char *err,
               size_t errlen) __attribute__((warn_unused_result));

#endif
