/* uplink_status — see uplink_status.h. */
#include "delivery/uplink_status.h"

#include "core/heartbeat.h"
#include "core/queue.h"
#include "core/version.h"
#include "delivery/uploader.h"
#include "kiosk/leds.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <unistd.h>

struct uplink_status {
    char path[4200], tmp[4300];
    struct uplink_status_info cur;
    int written; /* cur is on disk */
};

struct uplink_status *uplink_status_new(const char *data_dir, const char *relay_url)
{
    struct uplink_status *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    snprintf(s->path, sizeof s->path, "%s/" UPLINK_STATUS_FILE, data_dir);
    snprintf(s->tmp, sizeof s->tmp, "%s.tmp", s->path);
    snprintf(s->cur.relay_url, sizeof s->cur.relay_url, "%s", relay_url ? relay_url : "");
    return s;
}

void uplink_status_free(struct uplink_status *s)
{
    free(s);
}

static const char *const state_names[] = {"unknown", "idle", "sending", "failing", "no_relay"};

static int put(struct uplink_status *s)
{
    char buf[1400];
    /* A URL with a line end would forge keys: kiosk.conf forbids them, and
       they are cut here too. */
    char url[1024];
    snprintf(url, sizeof url, "%s", s->cur.relay_url);
    url[strcspn(url, "\r\n")] = 0;
    int n = snprintf(buf, sizeof buf, "relay_url=%s\nupdated=%lld\nstate=%s\nerror=%s\nerror_at=%lld\n",
                     url, (long long)s->cur.updated, state_names[s->cur.state], s->cur.error,
                     (long long)s->cur.error_at);
    if (n < 0 || (size_t)n >= sizeof buf)
        return -EINVAL;
    int fd = open(s->tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return -errno;
    ssize_t w = write(fd, buf, (size_t)n);
    int e = w == n ? 0 : (w < 0 ? errno : EIO);
    if (close(fd) < 0 && !e)
        e = errno;
    if (!e && rename(s->tmp, s->path) < 0)
        e = errno;
    if (e) {
        unlink(s->tmp);
        return -e;
    }
    s->written = 1;
    return 0;
}

int uplink_status_note(struct uplink_status *s, const struct uploader_news *n, int64_t now)
{
    if (!s || !n)
        return 0;
    int state = s->cur.state;
    char error[32];
    snprintf(error, sizeof error, "%s", s->cur.error);
    switch (n->phase) {
    case UPLOADER_FAILING:
        state = UPLINK_ST_FAILING;
        snprintf(error, sizeof error, "%s", uploader_strerror(n->error));
        break;
    case UPLOADER_SENDING: state = UPLINK_ST_SENDING; break;
    case UPLOADER_IDLE: state = UPLINK_ST_IDLE; break;
    default: break; /* before the loop's first step: nothing new */
    }
    int changed = state != s->cur.state || strcmp(error, s->cur.error) != 0;
    if (!changed && s->written && now - s->cur.updated < UPLINK_STATUS_REFRESH_S)
        return 0;
    /* The failure stays on record after the link comes back, with when it
       was last seen: what the technician asks. */
    if (state == UPLINK_ST_FAILING)
        s->cur.error_at = now;
    s->cur.state = state;
    snprintf(s->cur.error, sizeof s->cur.error, "%s", error);
    s->cur.updated = now;
    return put(s);
}

int uplink_status_no_relay(struct uplink_status *s, int64_t now)
{
    if (!s)
        return 0;
    s->cur.state = UPLINK_ST_NO_RELAY;
    s->cur.updated = now;
    return put(s);
}

int uplink_status_read(const char *data_dir, struct uplink_status_info *out)
{
    char path[4200], buf[1400];
    memset(out, 0, sizeof *out);
    snprintf(path, sizeof path, "%s/" UPLINK_STATUS_FILE, data_dir);
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        return errno == ENOENT ? -ENOENT : -EINVAL;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0)
        return -EINVAL;
    buf[n] = 0;
    int seen = 0;
    char *save = NULL;
    for (char *ln = strtok_r(buf, "\n", &save); ln; ln = strtok_r(NULL, "\n", &save)) {
        char *eq = strchr(ln, '=');
        if (!eq)
            continue;
        *eq = 0;
        const char *v = eq + 1;
        if (!strcmp(ln, "relay_url"))
            snprintf(out->relay_url, sizeof out->relay_url, "%s", v);
        else if (!strcmp(ln, "updated"))
            out->updated = strtoll(v, NULL, 10), seen |= 1;
        else if (!strcmp(ln, "error"))
            snprintf(out->error, sizeof out->error, "%s", v);
        else if (!strcmp(ln, "error_at"))
            out->error_at = strtoll(v, NULL, 10);
        else if (!strcmp(ln, "state"))
            for (int i = 0; i < (int)(sizeof state_names / sizeof *state_names); i++)
                if (!strcmp(v, state_names[i]))
                    out->state = i, seen |= 2;
    }
    return seen == 3 ? 0 : -EINVAL;
}

/* ---- the kiosk's faults, for the heartbeat ---- */

int uplink_faults_write(const char *data_dir, unsigned led_faults)
{
    char path[4200], tmp[4300], buf[64];
    snprintf(path, sizeof path, "%s/" UPLINK_FAULTS_FILE, data_dir);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    int n = snprintf(buf, sizeof buf, "faults=%u\n", led_faults);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return -errno;
    ssize_t w = write(fd, buf, (size_t)n);
    int e = w == n ? 0 : (w < 0 ? errno : EIO);
    if (close(fd) < 0 && !e)
        e = errno;
    if (!e && rename(tmp, path) < 0)
        e = errno;
    if (e) {
        unlink(tmp);
        return -e;
    }
    return 0;
}

int uplink_faults_read(const char *data_dir, unsigned *led_faults)
{
    char path[4200], buf[64];
    *led_faults = 0;
    snprintf(path, sizeof path, "%s/" UPLINK_FAULTS_FILE, data_dir);
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        return errno == ENOENT ? -ENOENT : -EINVAL;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0)
        return -EINVAL;
    buf[n] = 0;
    /* Exactly "faults=<1-10 digits>\n", the bits the red LED knows. */
    if (strncmp(buf, "faults=", 7) != 0)
        return -EINVAL;
    const char *d = buf + 7;
    size_t k = strspn(d, "0123456789");
    if (k == 0 || k > 10 || strcmp(d + k, "\n") != 0)
        return -EINVAL;
    unsigned long v = strtoul(d, NULL, 10);
    if (v & ~(unsigned long)HEARTBEAT_FAULT_MASK)
        return -EINVAL;
    *led_faults = (unsigned)v;
    return 0;
}

void uplink_heartbeat_gather(const char *data_dir, struct queue *q, int64_t now,
                             int undelivered_days, uint64_t uptime_s, struct heartbeat *hb)
{
    memset(hb, 0, sizeof *hb);
    snprintf(hb->version, sizeof hb->version, "%s", HOMTHU_VERSION);
    hb->uptime_s = uptime_s;
    unsigned f = 0;
    (void)uplink_faults_read(data_dir, &f); /* none yet: the app has found nothing */
    struct queue_stats st;
    if (q && queue_stats(q, &st) == 0) {
        hb->tips_waiting = st.count[QUEUE_SEALED] + st.count[QUEUE_UPLOADING];
        /* The kiosk has no RTC: an age from a clock that jumped is no age. */
        int64_t age = now - st.oldest_waiting;
        if (hb->tips_waiting && st.oldest_waiting && age >= 0 && age <= 366LL * 86400)
            hb->oldest_waiting_s = (uint64_t)age;
    } else {
        f |= LEDS_FAULT_QUEUE;
    }
    if (undelivered_days > 0 && hb->tips_waiting &&
        hb->oldest_waiting_s >= (uint64_t)undelivered_days * 86400)
        f |= LEDS_FAULT_UNDELIVERED;
    struct statvfs vfs;
    if (statvfs(data_dir, &vfs) == 0 &&
        leds_disk_nearly_full((uint64_t)vfs.f_bavail * vfs.f_frsize,
                              (uint64_t)vfs.f_blocks * vfs.f_frsize))
        f |= LEDS_FAULT_DISK;
    hb->faults = f & HEARTBEAT_FAULT_MASK;
}
