/*
 * uplink_status — what homthu-uplink leaves for the kiosk's technician
 * screen: the relay it sends to, whether it is sending, idle or failing,
 * and the kind of its last failure with when. The two are separate
 * processes; this small file in the data directory is all they share.
 *
 *     <data_dir>/uplink.status      key=value lines:
 *     relay_url=https://relay.example/     (as in kiosk.conf)
 *     updated=1717000000                   unix seconds of this write
 *     state=idle|sending|failing|no_relay
 *     error=offline                        uploader_strerror() name; "" none
 *     error_at=1716999000                  unix seconds; 0 none
 *
 * No tip ids, sizes or content: only what a passer-by may read off the
 * technician's screen anyway. Written atomically (a rename), not synced:
 * it is news, and a power cut only makes it older.
 */
#ifndef HOMTHU_UPLINK_STATUS_H
#define HOMTHU_UPLINK_STATUS_H

#include <stddef.h>
#include <stdint.h>

#define UPLINK_STATUS_FILE "uplink.status"
#define UPLINK_STATUS_REFRESH_S 60 /* `updated` is at most this old while it runs */

enum uplink_state {
    UPLINK_ST_UNKNOWN = 0,
    UPLINK_ST_IDLE,
    UPLINK_ST_SENDING,
    UPLINK_ST_FAILING,
    UPLINK_ST_NO_RELAY,
};

struct uplink_status_info {
    char relay_url[1024];
    int64_t updated;
    int state; /* enum uplink_state */
    char error[32];
    int64_t error_at;
};

struct uplink_status;

/* NULL when out of memory (the uplink then runs without leaving news). */
struct uplink_status *uplink_status_new(const char *data_dir, const char *relay_url);
void uplink_status_free(struct uplink_status *s); /* NULL is a no-op */

struct uploader_news;

/*
 * What the uploader's loop reports (uploader.h's tick), at unix time `now`.
 * Writes when the state or the failure changes, else once a minute.
 * 0, or -errno of a failed write (the caller may log it once).
 */
int uplink_status_note(struct uplink_status *s, const struct uploader_news *n, int64_t now);
/* No relay configured: say so (written at once). */
int uplink_status_no_relay(struct uplink_status *s, int64_t now);

/* Read what the uplink left: 0, -ENOENT none, -EINVAL not understood. */
int uplink_status_read(const char *data_dir, struct uplink_status_info *out);

/*
 * ---- the kiosk's faults, for the heartbeat ----
 *
 *     <data_dir>/kiosk.faults       one line: faults=<enum leds_fault bits, decimal>
 *
 * The touch app (kiosk.c) writes it whenever the faults it found change;
 * homthu-uplink reads it for each heartbeat. Only the bits: no time, no
 * tip facts. Written atomically (a rename), not synced.
 */
#define UPLINK_FAULTS_FILE "kiosk.faults"

/* 0, or -errno of a failed write. */
int uplink_faults_write(const char *data_dir, unsigned led_faults);
/* 0, -ENOENT none (the touch app has not run), -EINVAL not understood. */
int uplink_faults_read(const char *data_dir, unsigned *led_faults);

struct heartbeat;
struct queue;

/*
 * Fill a heartbeat (core/heartbeat.h) with what the kiosk can tell the
 * post at wall time `now`: tips waiting and the oldest one's age from `q`
 * (a read-only handle is enough; NULL or unreadable: LEDS_FAULT_QUEUE),
 * the faults of the fault file, a nearly full data partition
 * (LEDS_FAULT_DISK, as the red LED judges it), LEDS_FAULT_UNDELIVERED when
 * the oldest waiting tip has waited `undelivered_days` or more, the
 * version, and `uptime_s`. hb->sent_at is left for the sender.
 */
void uplink_heartbeat_gather(const char *data_dir, struct queue *q, int64_t now,
                             int undelivered_days, uint64_t uptime_s, struct heartbeat *hb);

#endif
