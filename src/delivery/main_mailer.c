/*
 * homthu-mailer — the kiosk's e-mail delivery daemon (docs/mail.md).
 *
 * Like the uplink, but over SMTP: takes the oldest sealed tip from the
 * queue, mails it to the post's mailbox (in parts when it is large), marks
 * it delivered only after the mail server accepted every part, purges it,
 * and goes on with the next. With nothing to send it looks again every
 * 30 s; after a failure it waits 30 s, doubling up to 30 min.
 *
 * It reads kiosk.conf (mail_* keys) and the queue only: it needs no key,
 * because the tips are sealed and signed already.
 *
 * Exit status: 0 stopped by a signal, or --once and everything was sent;
 * 1 a failure (--once) or a setting that cannot work; 2 bad usage.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>
#include <sodium.h>

#include "core/config.h"
#include "delivery/mailer.h"
#include "core/queue.h"

#define PROG "homthu-mailer"
#define POLL_SECONDS 30
#define BACKOFF_MAX_SECONDS 1800

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
    (void)sig;
    stop = 1;
}

static void usage(FILE *f)
{
    fputs("usage: " PROG " [--config FILE] [--once]\n"
          "\n"
          "Mail the kiosk's sealed tips to the border post's mailbox, oldest first.\n"
          "A tip leaves the queue only after the mail server accepted all its parts.\n"
          "\n"
          "  --config FILE  kiosk.conf (default /etc/homthu/kiosk.conf); the mail_*\n"
          "                 keys say where to send (docs/config.md, docs/mail.md)\n"
          "  --once         send what waits now, then exit (0 when all was sent)\n",
          f);
}

/* Sleep `s` seconds, waking early on a signal. */
static void nap(int s)
{
    for (int i = 0; i < s * 10 && !stop; i++) {
        struct timespec ts = {0, 100 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
}

static void short_id(const uint8_t id[16], char out[9])
{
    static const char d[] = "0123456789abcdef";
    for (int i = 0; i < 4; i++) {
        out[2 * i] = d[id[i] >> 4];
        out[2 * i + 1] = d[id[i] & 15];
    }
    out[8] = 0;
}

int main(int argc, char **argv)
{
    const char *config_path = "/etc/homthu/kiosk.conf";
    int once = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--config") && i + 1 < argc) {
            config_path = argv[++i];
        } else if (!strcmp(argv[i], "--once")) {
            once = 1;
        } else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            usage(stdout);
            return 0;
        } else {
            fprintf(stderr, PROG ": unknown argument \"%s\"\n", argv[i]);
            usage(stderr);
            return 2;
        }
    }
    if (sodium_init() < 0) {
        fprintf(stderr, PROG ": libsodium failed to start\n");
        return 1;
    }
    char err[1024];
    struct config *c = NULL;
    struct kiosk_conf *k = calloc(1, sizeof *k);
    if (!k) {
        fprintf(stderr, PROG ": out of memory\n");
        return 1;
    }
    if (config_load_file(&c, config_path, err, sizeof err) ||
        config_read_kiosk(c, k, err, sizeof err)) {
        fprintf(stderr, PROG ": %s\n", err);
        config_free(c);
        free(k);
        return 1;
    }
    config_free(c);
    if (!k->mail_smtp_url[0]) {
        fprintf(stderr,
                PROG ": mail_smtp_url is not set in %s: set it (and mail_from, mail_to) "
                     "to deliver tips by e-mail, or use the relay instead\n",
                config_path);
        free(k);
        return 1;
    }
    if (k->relay_url[0]) {
        fprintf(stderr,
                PROG ": both relay_url and mail_smtp_url are set in %s: keep one, so "
                     "that one program sends each tip\n",
                config_path);
        free(k);
        return 1;
    }

    if (curl_global_init(CURL_GLOBAL_DEFAULT) != 0) {
        fprintf(stderr, PROG ": libcurl failed to start\n");
        free(k);
        return 1;
    }
    signal(SIGTERM, on_signal);
    signal(SIGINT, on_signal);
    signal(SIGPIPE, SIG_IGN);

    int rc = 1;
    struct queue *q = NULL;
    struct mailer *m = NULL;
    struct mailer_transport t = {0};
    unsigned faults = 0;
    if (queue_open(&q, k->data_dir, &faults, err, sizeof err)) {
        fprintf(stderr, PROG ": %s\n", err);
        goto out;
    }
    if (faults)
        fprintf(stderr, PROG ": %s\n", err);
    struct mailer_smtp_opts so = {.url = k->mail_smtp_url,
                                  .user = k->mail_user,
                                  .password = k->mail_password,
                                  .ca_file = k->mail_ca_file};
    struct mailer_opts mo = {k->mail_from, k->mail_to, (size_t)k->mail_part_bytes};
    if (mailer_smtp_new(&t, &so, err, sizeof err) || mailer_new(&m, q, &mo, &t, err, sizeof err)) {
        fprintf(stderr, PROG ": %s\n", err);
        goto out;
    }
    sodium_memzero(k->mail_password, sizeof k->mail_password);

    int backoff = POLL_SECONDS;
    rc = 0;
    while (!stop) {
        struct mailer_report r;
        int src = mailer_send_next(m, (int64_t)time(NULL), &r, err, sizeof err);
        char sid[9];
        short_id(r.id, sid);
        if (src == 0) {
            fprintf(stderr, PROG ": tip %s delivered: %llu bytes in %u mail%s\n", sid,
                    (unsigned long long)r.bytes, r.parts, r.parts == 1 ? "" : "s");
            backoff = POLL_SECONDS;
            continue;
        }
        if (src == MAILER_E_NOTHING) {
            if (once)
                break;
            nap(POLL_SECONDS);
            continue;
        }
        fprintf(stderr, PROG ": tip %s not delivered yet (%u of %u parts accepted): %s\n", sid,
                r.sent, r.parts, err);
        if (once) {
            rc = 1;
            break;
        }
        fprintf(stderr, PROG ": trying again in %d s\n", backoff);
        nap(backoff);
        backoff = backoff * 2 > BACKOFF_MAX_SECONDS ? BACKOFF_MAX_SECONDS : backoff * 2;
    }
out:
    mailer_free(m);
    mailer_smtp_free(&t);
    queue_close(q);
    sodium_memzero(k, sizeof *k);
    free(k);
    curl_global_cleanup();
    return rc;
}
