/*
 * homthu-uplink — the kiosk's delivery daemon: sends sealed tips from the
 * queue to the relay, oldest first, and removes each one only after the
 * relay confirmed it (docs/uploader.md). A process of its own, started by
 * systemd beside the touch app, so delivery goes on while the UI restarts
 * and a stalled link can never freeze the screen.
 *
 *   homthu-uplink --config kiosk.conf [--once] [--max-failures N]
 *                 [--heartbeat-minutes N] [--heartbeat-once] [--insecure-http]
 *
 * --once: send what waits, then exit (a technician's "send now", tests);
 * it gives up after ONCE_FAILURES failed attempts in a row that moved
 * nothing (--max-failures N sets N, also for the daemon, which otherwise
 * retries forever). Exit status: 0 nothing waits (or, without --once,
 * stopped by a signal); 3 tips remain undelivered, each named with why
 * (EXIT_UNDELIVERED); 1 it could not run (config, key, queue); 2 bad usage.
 * Logs go to stderr (the journal): tip ids and sizes, never content.
 * Under systemd (Type=notify) it says READY=1 once delivering, keeps the
 * unit's STATUS= line saying what it does, and pets WatchdogSec= for as
 * long as its loop turns - through backoff waits and long uploads alike.
 *
 * Heartbeats (core/heartbeat.h, docs/relay-protocol.md): a thread of its
 * own sends one every --heartbeat-minutes (kiosk.conf heartbeat_minutes,
 * HEARTBEAT_MINUTES by default,
 * 0 = none) at fixed slots of the kiosk's clock, shifted by an offset
 * drawn from its device key: a slot never depends on a tip, an upload or a
 * restart, so the relay cannot time a tip by a heartbeat. It has its own
 * connection and its own uploader, so a long upload never delays it and
 * it never slows an upload. A heartbeat that fails waits for the next
 * slot. --heartbeat-once sends one now and exits (0 sent, 1 not).
 *
 * A relay_url of plain http:// to another machine is refused (exit 1):
 * whoever is on the way could change the uploads or pose as the relay
 * (docs/uploader.md, "Plain http"). --insecure-http allows it, for a test
 * network only; a loopback relay (make run, the tests) needs no flag.
 */
#include <errno.h>
#include <getopt.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "core/config.h"
#include "core/heartbeat.h"
#include "core/keys.h"
#include "core/queue.h"
#include "delivery/uplink_status.h"
#include "delivery/uploader.h"
#include "kiosk/watchdog.h"

#define PROG "homthu-uplink"
#define EXIT_UNDELIVERED 3
#define ONCE_FAILURES 5
#define HEARTBEAT_MINUTES 15

static volatile sig_atomic_t stop_flag;

static void on_signal(int sig)
{
    (void)sig;
    stop_flag = 1;
}

/*
 * A netlink socket that becomes readable when a link, an address or a
 * route changes (the modem came up, Wi-Fi joined): the loop then probes
 * the relay at once instead of sleeping out its backoff. -1 when the
 * kernel will not give one; the periodic probe still works.
 */
static int open_netwatch(void)
{
    int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, NETLINK_ROUTE);
    if (fd < 0)
        return -1;
    struct sockaddr_nl sa = {.nl_family = AF_NETLINK,
                             .nl_groups = RTMGRP_LINK | RTMGRP_IPV4_IFADDR | RTMGRP_IPV6_IFADDR |
                                          RTMGRP_IPV4_ROUTE | RTMGRP_IPV6_ROUTE};
    if (bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
        close(fd);
        return -1;
    }
    return fd;
}

static uint32_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint32_t)((uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000);
}

static struct uplink_status *status; /* the news the technician's screen reads */

/* The uploader's loop turned: that is the health systemd watches. */
static void on_tick(void *ctx, const struct uploader_news *n)
{
    struct watchdog *wd = ctx;
    watchdog_status(wd, n->doing);
    watchdog_pet(wd, 1, mono_ms());
    (void)uplink_status_note(status, n, (int64_t)time(NULL));
}

/* ---- heartbeats ---- */

struct beat {
    const char *data_dir;
    const uint8_t *post_pk; /* 32 */
    const uint8_t *device_sk; /* 64 */
    int undelivered_days;
    int64_t period_s, offset_s;
    struct uploader *u; /* its own: its own connection, clock offset and signatures */
};

/* Seconds since boot, suspend included: the kiosk's uptime. */
static uint64_t uptime_s(void)
{
    struct timespec ts;
    if (clock_gettime(CLOCK_BOOTTIME, &ts) != 0)
        return 0;
    return (uint64_t)ts.tv_sec;
}

/* The first slot after `now`: offset + k * period. */
static int64_t next_slot(int64_t now, int64_t period, int64_t offset)
{
    int64_t k = (now - offset) / period;
    int64_t t = offset + k * period;
    while (t <= now)
        t += period;
    return t;
}

/* Gather, seal and send one heartbeat: 0 when the relay took it. */
static int beat_once(struct beat *b)
{
    char err[512];
    struct queue *q = NULL;
    if (queue_open_readonly(&q, b->data_dir, err, sizeof err) != 0)
        q = NULL; /* the heartbeat then says LEDS_FAULT_QUEUE */
    struct heartbeat hb;
    uplink_heartbeat_gather(b->data_dir, q, (int64_t)time(NULL), b->undelivered_days, uptime_s(),
                            &hb);
    queue_close(q);
    hb.sent_at = uploader_relay_time(b->u);
    uint8_t sealed[HEARTBEAT_SEALED_BYTES];
    int rc = heartbeat_seal(&hb, b->device_sk, b->post_pk, sealed, err, sizeof err);
    if (rc == 0)
        rc = uploader_send_heartbeat(b->u, sealed, sizeof sealed, err, sizeof err);
    if (rc)
        fprintf(stderr, PROG ": heartbeat not sent (%s): %s; the next at its slot\n",
                uploader_strerror(rc), err);
    else
        fprintf(stderr, PROG ": heartbeat sent: %u waiting, faults 0x%x\n", hb.tips_waiting,
                hb.faults);
    return rc;
}

static void *beat_main(void *arg)
{
    struct beat *b = arg;
    int64_t now = (int64_t)time(NULL), next = next_slot(now, b->period_s, b->offset_s);
    while (!stop_flag) {
        sleep(1);
        now = (int64_t)time(NULL);
        if (now < next - b->period_s) /* the clock went back (no RTC): find the slot again */
            next = next_slot(now, b->period_s, b->offset_s);
        if (now < next)
            continue;
        (void)beat_once(b);
        next = next_slot((int64_t)time(NULL), b->period_s, b->offset_s);
    }
    return NULL;
}

static int usage(const char *msg)
{
    if (msg)
        fprintf(stderr, PROG ": %s\n", msg);
    fprintf(stderr,
            "usage: " PROG " --config kiosk.conf [--once] [--max-failures N]\n"
            "         [--heartbeat-minutes N] [--heartbeat-once] [--insecure-http]\n"
            "  --once            send what waits, then exit; gives up after %d failed attempts\n"
            "                    in a row that moved nothing (or N)\n"
            "  --max-failures N  give up after N failed attempts in a row that moved nothing\n"
            "  --heartbeat-minutes N  a heartbeat to the post every N minutes (default:\n"
            "                    kiosk.conf heartbeat_minutes, else %d;\n"
            "                    0: none)\n"
            "  --heartbeat-once  send one heartbeat now, then exit (0 sent, 1 not)\n"
            "  --insecure-http   allow a relay_url of plain http:// to another machine (a test\n"
            "                    network only: on the way anyone could change the uploads);\n"
            "                    http:// to this machine (127.0.0.1, localhost) needs no flag\n"
            "exit status: 0 nothing waits (without --once: also stopped by a signal);\n"
            "  %d tips remain undelivered: each is named with why (offline, refused,\n"
            "  not verified by the server, ...); 1 cannot run (config, key, queue); 2 bad usage\n",
            ONCE_FAILURES, HEARTBEAT_MINUTES, EXIT_UNDELIVERED);
    return 2;
}

struct left {
    const struct uploader *u;
    unsigned n;
    /* The oldest failure that is not the tip's own (the link, the relay,
     * this kiosk): it holds for the younger tips the run never reached. */
    int code;
    char why[512], sid[9];
};

/* One line per tip still waiting: its id and why it is not delivered. */
static int say_left(void *ctx, const struct queue_tip *t)
{
    struct left *l = ctx;
    if (t->state != QUEUE_SEALED && t->state != QUEUE_UPLOADING)
        return 0;
    char hex[33], why[512];
    sodium_bin2hex(hex, sizeof hex, t->id, 16);
    int code = uploader_last_failure(l->u, t->id, why, sizeof why, NULL);
    l->n++;
    if (code) {
        fprintf(stderr, PROG ": tip %s not delivered (%s): %s\n", hex, uploader_strerror(code),
                why);
        if (!l->code && !uploader_error_is_the_tips(code)) {
            l->code = code;
            snprintf(l->why, sizeof l->why, "%s", why);
            snprintf(l->sid, sizeof l->sid, "%.8s", hex);
        }
    } else if (l->code) {
        fprintf(stderr, PROG ": tip %s not delivered (%s): %s (seen on the older tip %s; this one "
                        "was not tried)\n",
                hex, uploader_strerror(l->code), l->why, l->sid);
    } else {
        fprintf(stderr, PROG ": tip %s not delivered: not tried in this run (it stopped first)\n",
                hex);
    }
    return 0;
}

int main(int argc, char **argv)
{
    const char *conf_path = NULL;
    int once = 0;
    long max_failures = 0, beat_minutes = -1; /* -1: kiosk.conf's heartbeat_minutes */
    int beat_only = 0, insecure_http = 0;
    static const struct option longopts[] = {
        {"config", required_argument, NULL, 'c'},
        {"once", no_argument, NULL, 'o'},
        {"max-failures", required_argument, NULL, 'm'},
        {"heartbeat-minutes", required_argument, NULL, 'b'},
        {"heartbeat-once", no_argument, NULL, 'B'},
        {"insecure-http", no_argument, NULL, 'I'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    opterr = 0;
    int ch;
    while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (ch) {
        case 'c':
            conf_path = optarg;
            break;
        case 'o':
            once = 1;
            break;
        case 'm': {
            char *end;
            max_failures = strtol(optarg, &end, 10);
            if (*end || max_failures < 1 || max_failures > 1000000)
                return usage("--max-failures needs a whole number from 1");
            break;
        }
        case 'b': {
            char *end;
            beat_minutes = strtol(optarg, &end, 10);
            if (*end || !*optarg || beat_minutes < 0 || beat_minutes > 7 * 24 * 60)
                return usage("--heartbeat-minutes needs a whole number from 0 to 10080");
            break;
        }
        case 'B':
            beat_only = 1;
            break;
        case 'I':
            insecure_http = 1;
            break;
        case 'h':
            usage(NULL);
            return 0;
        default:
            return usage("unknown option or missing value");
        }
    }
    if (optind < argc)
        return usage("unexpected argument");
    if (!conf_path)
        return usage("--config kiosk.conf is missing");

    int rc = 1, netfd = -1;
    char err[512];
    struct config *c = NULL;
    struct kiosk_conf *k = calloc(1, sizeof *k);
    struct keys_device *dev = NULL;
    struct queue *q = NULL;
    struct uploader *u = NULL, *beat_u = NULL;
    struct watchdog *wd = NULL;
    struct beat beat = {0};
    pthread_t beat_thread;
    int beat_on = 0;
    if (!k) {
        fprintf(stderr, PROG ": out of memory\n");
        goto out;
    }
    if (config_load_file(&c, conf_path, err, sizeof err) ||
        config_read_kiosk(c, k, err, sizeof err)) {
        fprintf(stderr, PROG ": %s\n", err);
        goto out;
    }
    if (beat_minutes < 0)
        beat_minutes = k->heartbeat_minutes;
    struct sigaction sa = {.sa_handler = on_signal};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    if (watchdog_open(&wd, err, sizeof err) != 0)
        fprintf(stderr, PROG ": %s: systemd's watchdog is not told\n", err);
    status = uplink_status_new(k->data_dir, k->relay_url);
    if (!k->relay_url[0])
        (void)uplink_status_no_relay(status, (int64_t)time(NULL));
    if (!k->relay_url[0]) {
        fprintf(stderr,
                PROG ": relay_url is empty in %s: tips wait in the queue until it is "
                     "set; nothing to do\n",
                conf_path);
        rc = 0;
        if (watchdog_enabled(wd)) {
            /* Under systemd, stay (and say why) rather than exit into a
             * restart every RestartSec= that would fill the journal. */
            watchdog_ready(wd);
            watchdog_status(wd, "relay_url is empty in kiosk.conf: tips wait in the queue");
            while (!stop_flag) {
                watchdog_pet(wd, 1, mono_ms());
                sleep(1);
            }
        }
        goto out;
    }
    if (keys_device_load(&dev, k->device_key_file, err, sizeof err)) {
        fprintf(stderr, PROG ": %s\n", err);
        goto out;
    }
    unsigned faults = 0;
    if (queue_open(&q, k->data_dir, &faults, err, sizeof err)) {
        fprintf(stderr, PROG ": %s\n", err);
        goto out;
    }
    if (faults)
        fprintf(stderr, PROG ": %s\n", err);

    struct uploader_opts uo = {
        .relay_url = k->relay_url,
        .device_sk = dev->sk,
        .pin = k->relay_pin,
        .ca_file = k->relay_ca_file,
        .connect_timeout_s = k->uplink_connect_timeout_s,
        .low_speed_bytes = k->uplink_low_speed_bytes,
        .low_speed_seconds = k->uplink_low_speed_seconds,
        .chunks_per_patch = (unsigned)k->uplink_chunks_per_patch,
        .require_verified = k->uplink_require_verified,
        .insecure_http = insecure_http || k->relay_insecure_http,
    };
    if (uploader_new(&u, &uo, err, sizeof err)) {
        fprintf(stderr, PROG ": %s\n", err);
        goto out;
    }
    if (beat_only || (beat_minutes > 0 && !once)) {
        struct uploader_opts bo = uo;
        bo.abort_flag = &stop_flag; /* a heartbeat in flight never holds up a stop */
        if (uploader_new(&beat_u, &bo, err, sizeof err)) {
            fprintf(stderr, PROG ": %s\n", err);
            goto out;
        }
        uint8_t h[8];
        crypto_generichash(h, sizeof h, dev->sk + 32, 32, (const uint8_t *)"heartbeat-slot", 14);
        uint64_t x = 0;
        for (int i = 0; i < 8; i++)
            x = x << 8 | h[i];
        beat = (struct beat){.data_dir = k->data_dir,
                             .post_pk = k->post_key,
                             .device_sk = dev->sk,
                             .undelivered_days = k->undelivered_days,
                             .period_s = beat_minutes > 0 ? beat_minutes * 60 : 60,
                             .u = beat_u};
        beat.offset_s = (int64_t)(x % (uint64_t)beat.period_s);
    }
    if (beat_only) {
        rc = beat_once(&beat) == 0 ? 0 : 1;
        goto out;
    }
    if (!k->uplink_require_verified)
        fprintf(stderr, PROG ": uplink_require_verified is false: tips leave the queue without "
                             "the relay's check (for third-party tus servers only)\n");

    netfd = open_netwatch();
    if (netfd < 0)
        fprintf(stderr, PROG ": no netlink (%s): network changes are noticed by probing only\n",
                strerror(errno));

    struct uploader_run_opts ro = {
        .backoff_base_ms = (uint64_t)k->uplink_backoff_base_ms,
        .backoff_cap_ms = (uint64_t)k->uplink_backoff_cap_ms,
        .probe_seconds = (unsigned)k->uplink_probe_seconds,
        .wake_fd = netfd,
        .exit_when_empty = once,
        .max_failures = max_failures ? (unsigned)max_failures : once ? ONCE_FAILURES : 0,
        .tick = on_tick, /* the watchdog's calls take a NULL one */
        .tick_ctx = wd,
    };
    fprintf(stderr, PROG ": delivering to %s\n", k->relay_url);
    if (beat_u) {
        if (pthread_create(&beat_thread, NULL, beat_main, &beat) == 0)
            beat_on = 1;
        else
            fprintf(stderr, PROG ": cannot start the heartbeat thread: no heartbeats\n");
    }
    watchdog_ready(wd);
    struct uploader_totals tot;
    int r = uploader_run(u, q, &ro, &stop_flag, &tot);
    fprintf(stderr,
            PROG ": %u delivered, %u set aside, %u held back, %u failed attempts; %llu bytes "
                 "sent (every request, headers included), %llu of envelope, %llu re-sent\n",
            tot.delivered, tot.refused, tot.held, tot.failures, (unsigned long long)tot.bytes_sent,
            (unsigned long long)tot.body_sent, (unsigned long long)tot.bytes_resent);
    rc = 0;
    if (once || r != 0) {
        struct left l = {.u = u};
        if (queue_foreach(q, say_left, &l) != 0) {
            fprintf(stderr, PROG ": cannot read the queue to tell what is left\n");
            rc = 1;
        } else if (l.n) {
            fprintf(stderr, PROG ": %u tip%s not delivered\n", l.n, l.n == 1 ? "" : "s");
            rc = EXIT_UNDELIVERED;
        }
    }
out:
    if (beat_on) {
        stop_flag = 1;
        pthread_join(beat_thread, NULL);
    }
    uploader_free(beat_u);
    if (netfd >= 0)
        close(netfd);
    watchdog_free(wd);
    uplink_status_free(status);
    uploader_free(u);
    queue_close(q);
    keys_device_free(dev);
    config_free(c);
    free(k);
    return rc;
}
