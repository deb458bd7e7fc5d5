/*
 * watchdog — tell systemd how the kiosk is: READY=1 once it serves,
 * WATCHDOG=1 while it is healthy, STATUS= a line for `systemctl status`.
 *
 * This is sd_notify(3)'s protocol, written out because it is tiny: one
 * datagram of "KEY=value" lines to the AF_UNIX socket named by
 * $NOTIFY_SOCKET (a path, or "@name" in the abstract namespace). It saves
 * a dependency on libsystemd for three messages. With WatchdogSec= in the
 * unit, systemd sets $WATCHDOG_USEC (and $WATCHDOG_PID); if the kiosk
 * stops petting for that long, systemd kills and restarts it.
 *
 * The kiosk pets only while healthy: its loop turns (a stuck loop never
 * calls watchdog_pet) and the queue can take tips (the caller decides and
 * passes `healthy`). A pet is sent at most every third of the interval.
 *
 * Without $NOTIFY_SOCKET (run by hand, in tests) every call is a no-op.
 * STATUS lines never hold tip content: counts and fault names only.
 *
 * Errors: watchdog_open returns 0 or a negative errno with a sentence in
 * err; sending is best effort (a lost datagram is not an error the kiosk
 * could act on) but the first failure is kept for watchdog_error().
 */
#ifndef HOMTHU_WATCHDOG_H
#define HOMTHU_WATCHDOG_H

#include <stddef.h>
#include <stdint.h>

struct watchdog;

/* Read the environment and connect. Caller frees with watchdog_free(). */
int watchdog_open(struct watchdog **out, char *err, size_t errlen)
    __attribute__((warn_unused_result));
void watchdog_free(struct watchdog *w); /* NULL is a no-op */

/* 1 when systemd listens (NOTIFY_SOCKET set). */
int watchdog_enabled(const struct watchdog *w);
/* The WatchdogSec= interval in ms, 0 when the unit has none. */
uint32_t watchdog_interval_ms(const struct watchdog *w);

/* READY=1, sent once however often it is called. */
void watchdog_ready(struct watchdog *w);
/* STATUS=<text>, sent when it differs from the last one (text up to 200 bytes). */
void watchdog_status(struct watchdog *w, const char *text);
/*
 * Call on every loop turn. Sends WATCHDOG=1 when `healthy` and a third of
 * the interval has passed since the last pet; sends nothing when not
 * healthy, so that systemd restarts the kiosk after WatchdogSec=.
 */
void watchdog_pet(struct watchdog *w, int healthy, uint32_t now_ms);

/* Datagrams sent so far, and the first send error (negative errno, 0 none). */
uint64_t watchdog_sent(const struct watchdog *w);
int watchdog_error(const struct watchdog *w);

#endif
