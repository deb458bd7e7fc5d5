/*
 * health — what the post knows of each kiosk's health, for the station's
 * Kiosks page (docs/station-api.md, KIOSK): POSTDIR/health.db (SQLite).
 *
 * It holds the latest heartbeat of each device key exactly as the relay
 * handed it (sealed to the post: core/heartbeat.h), with the relay's time
 * of arrival, and the commune each kiosk id stands in (set at enrolment
 * from the page). A heartbeat is read only in memory, with the unlocked
 * post key (health_open_beat): a locked station shows "unlock to see".
 *
 * Pulling from the relay is post/pull.h (pull_heartbeats); health_keep is
 * its callback. Every call opens its own statements on a connection in
 * SQLite's serialized mode: the station's threads may share one struct
 * health.
 *
 * Errors: 0 or a negative enum console_error (post/console.h):
 * CONSOLE_E_IO (the file), CONSOLE_E_ARG, CONSOLE_E_NOTFOUND (nothing
 * held), CONSOLE_E_LOCKED (needs the post key), CONSOLE_E_REFUSED (the
 * heartbeat does not open, or is not the kiosk's own); `err` gets the
 * sentence.
 */
#ifndef HOMTHU_HEALTH_H
#define HOMTHU_HEALTH_H

#include <stddef.h>
#include <stdint.h>

#include "core/heartbeat.h"

struct console;
struct pull_heartbeat;

#define HEALTH_DB_NAME "health.db"
#define HEALTH_COMMUNE_MAX 100 /* bytes of UTF-8 */

struct health;

/* Open `path` (made when missing). Caller closes with health_close(). */
int health_open(struct health **out, const char *path, char *err, size_t errlen)
    __attribute__((warn_unused_result));
void health_close(struct health *h); /* NULL is a no-op */

/*
 * Keep a sealed heartbeat of `device_pk`, received by the relay at
 * `relay_time`, as the device's latest, unless the one held is newer (a
 * relay may hand an old one again). len must be HEARTBEAT_SEALED_BYTES.
 */
int health_put(struct health *h, const uint8_t device_pk[32], int64_t relay_time,
               const uint8_t *sealed, size_t len, char *err, size_t errlen)
    __attribute__((warn_unused_result));

/* pull_heartbeats' callback: ctx is the struct health. 0 kept, -1 not. */
int health_keep(void *ctx, const struct pull_heartbeat *hb);

/* The latest sealed heartbeat of device_pk and its relay time; CONSOLE_E_NOTFOUND: none. */
int health_get(struct health *h, const uint8_t device_pk[32], int64_t *relay_time,
               uint8_t sealed[HEARTBEAT_SEALED_BYTES], char *err, size_t errlen)
    __attribute__((warn_unused_result));

/* The commune of kiosk `kiosk_id` (1-100 bytes of UTF-8, one line); set again replaces. */
int health_set_commune(struct health *h, const char *kiosk_id, const char *commune, char *err,
                       size_t errlen) __attribute__((warn_unused_result));
/* The commune into out ("" when none was set: still 0). */
int health_commune(struct health *h, const char *kiosk_id, char *out, size_t cap, char *err,
                   size_t errlen) __attribute__((warn_unused_result));

/*
 * Open a sealed heartbeat with the unlocked post key and read it, in
 * memory. CONSOLE_E_LOCKED before console_unlock() (the page says "unlock
 * to see"); CONSOLE_E_REFUSED when it does not open or is not a heartbeat
 * (heartbeat_parse's reason in err). The caller checks out->device_pk is
 * the kiosk's (health_latest does).
 */
int health_open_beat(const struct console *c, const uint8_t *sealed, size_t len,
                     struct heartbeat *out, char *err, size_t errlen)
    __attribute__((warn_unused_result));

/*
 * health_get + health_open_beat + the check that the kiosk itself signed
 * it (the key inside is device_pk): what the Kiosks page shows of one
 * kiosk. *relay_time (may be NULL) is its last contact even when the
 * call fails with CONSOLE_E_LOCKED or _REFUSED (0 when none is held).
 */
int health_latest(struct health *h, const struct console *c, const uint8_t device_pk[32],
                  struct heartbeat *out, int64_t *relay_time, char *err, size_t errlen)
    __attribute__((warn_unused_result));

#endif
