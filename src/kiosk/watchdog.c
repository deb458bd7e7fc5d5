/* watchdog — sd_notify over $NOTIFY_SOCKET. See watchdog.h. */
#include "kiosk/watchdog.h"

#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define STATUS_MAX 200

struct watchdog {
    int fd; /* -1: systemd does not listen */
    struct sockaddr_un addr;
    socklen_t addrlen;
    uint32_t interval_ms;
    int ready_sent;
    int petted;
    uint32_t last_pet;
    char status[STATUS_MAX + 1];
    int status_sent;
    uint64_t sent;
    int error;
};

static int send_msg(struct watchdog *w, const char *msg)
{
    if (w->fd < 0)
        return 0;
    ssize_t n;
    do {
        n = sendto(w->fd, msg, strlen(msg), MSG_NOSIGNAL, (const struct sockaddr *)&w->addr,
                   w->addrlen);
    } while (n < 0 && errno == EINTR);
    if (n < 0) {
        if (!w->error)
            w->error = -errno;
        return -1;
    }
    w->sent++;
    return 0;
}

/* $WATCHDOG_USEC in ms, if it is meant for this process. */
static uint32_t interval_from_env(void)
{
    const char *usec = getenv("WATCHDOG_USEC"), *pid = getenv("WATCHDOG_PID");
    if (!usec || !*usec)
        return 0;
    if (pid && *pid) {
        char *end;
        long p = strtol(pid, &end, 10);
        if (*end || p != (long)getpid())
            return 0; /* for another process (we were started by a wrapper) */
    }
    char *end;
    unsigned long long u = strtoull(usec, &end, 10);
    if (*end || u == 0)
        return 0;
    u /= 1000;
    return u > UINT32_MAX / 2 ? UINT32_MAX / 2 : (u ? (uint32_t)u : 1);
}

int watchdog_open(struct watchdog **out, char *err, size_t errlen)
{
    *out = NULL;
    struct watchdog *w = calloc(1, sizeof *w);
    if (!w) {
        snprintf(err, errlen, "out of memory");
        return -ENOMEM;
    }
    w->fd = -1;
    const char *path = getenv("NOTIFY_SOCKET");
    if (!path || !*path) {
        *out = w; /* not under systemd: every call is a no-op */
        return 0;
    }
    size_t n = strlen(path);
    if ((path[0] != '/' && path[0] != '@') || n >= sizeof w->addr.sun_path) {
        snprintf(err, errlen,
                 "NOTIFY_SOCKET=%s is not a socket path: systemd's watchdog cannot be told "
                 "(check the unit's Type=notify)",
                 path);
        free(w);
        return -EINVAL;
    }
    w->addr.sun_family = AF_UNIX;
    memcpy(w->addr.sun_path, path, n);
    if (path[0] == '@')
        w->addr.sun_path[0] = 0; /* the abstract namespace */
    w->addrlen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n);
    w->fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (w->fd < 0) {
        int e = errno;
        snprintf(err, errlen, "cannot make a socket to talk to systemd: %s", strerror(e));
        free(w);
        return -e;
    }
    w->interval_ms = interval_from_env();
    *out = w;
    return 0;
}

void watchdog_free(struct watchdog *w)
{
    if (!w)
        return;
    if (w->fd >= 0)
        close(w->fd);
    free(w);
}

int watchdog_enabled(const struct watchdog *w)
{
    return w && w->fd >= 0;
}

uint32_t watchdog_interval_ms(const struct watchdog *w)
{
    return w && w->fd >= 0 ? w->interval_ms : 0;
}

void watchdog_ready(struct watchdog *w)
{
    if (!w || w->ready_sent)
        return;
    if (send_msg(w, "READY=1") == 0)
        w->ready_sent = 1;
}

void watchdog_status(struct watchdog *w, const char *text)
{
    if (!w || w->fd < 0)
        return;
    char t[STATUS_MAX + 1];
    snprintf(t, sizeof t, "%s", text);
    for (char *p = t; *p; p++)
        if (*p == '\n')
            *p = ' '; /* one line: a newline would start another KEY= */
    if (w->status_sent && strcmp(t, w->status) == 0)
        return;
    char msg[STATUS_MAX + 8];
    snprintf(msg, sizeof msg, "STATUS=%s", t);
    if (send_msg(w, msg) == 0) {
        memcpy(w->status, t, sizeof t);
        w->status_sent = 1;
    }
}

void watchdog_pet(struct watchdog *w, int healthy, uint32_t now_ms)
{
    if (!w || w->fd < 0 || !w->interval_ms || !healthy)
        return;
    if (w->petted && now_ms - w->last_pet < w->interval_ms / 3)
        return;
    if (send_msg(w, "WATCHDOG=1") == 0) {
        w->petted = 1;
        w->last_pet = now_ms;
    }
}

uint64_t watchdog_sent(const struct watchdog *w)
{
    return w ? w->sent : 0;
}

int watchdog_error(const struct watchdog *w)
{
    return w ? w->error : 0;
}
