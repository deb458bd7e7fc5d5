/*
 * homthu-station — the border post's web console (src/station/station.h,
 * docs/station.md): pulls tips in the background and serves the officers'
 * page on the post's network.
 *
 *   homthu-station --post DIR [--listen ADDR:PORT] [--plain] [--cert F --key F]
 *                  [--name HOST]... [--pull-seconds N] [--idle-lock-minutes N]
 *                  [--session-idle-minutes N] [--unlock]
 */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>
#include <fcntl.h>

#include <curl/curl.h>
#include <sodium.h>

#include "core/passphrase.h"
#include "core/version.h"
#include "station/station.h"

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
    (void)sig;
    stop = 1;
}

static void usage(FILE *f)
{
    fprintf(f,
            "usage: homthu-station --post DIR [--listen ADDR:PORT] [--plain]\n"
            "                      [--cert FILE --key FILE] [--name HOST]...\n"
            "                      [--pull-seconds N] [--idle-lock-minutes N]\n"
            "                      [--session-idle-minutes N] [--unlock]\n"
            "  --listen   where officers reach it (default 0.0.0.0:8443, TLS)\n"
            "  --plain    plain HTTP, only on 127.0.0.1 (this machine's own browser)\n"
            "  --name     a host name or address for the certificate made on first start\n"
            "  --unlock   ask for the post's passphrase here at start (or HOMTHU_PASSPHRASE)\n"
            "See docs/station.md.\n");
}

static int positive(const char *s, const char *what)
{
    char *end;
    long v = strtol(s, &end, 10);
    if (*s == 0 || *end || v <= 0 || v > 1000000) {
        fprintf(stderr, "homthu-station: %s must be a whole number above 0\n", what);
        exit(2);
    }
    return (int)v;
}

int main(int argc, char **argv)
{
    struct station_opts o = {.listen = "0.0.0.0:8443"};
    const char *names[17] = {0};
    int nnames = 0, unlock = 0;
    enum { O_PULL = 256, O_IDLE, O_IDLE_S, O_SESSION, O_SESSION_S };
    static const struct option longs[] = {
        {"post", required_argument, 0, 'p'},     {"listen", required_argument, 0, 'l'},
        {"plain", no_argument, 0, 'P'},          {"cert", required_argument, 0, 'c'},
        {"key", required_argument, 0, 'k'},      {"name", required_argument, 0, 'n'},
        {"pull-seconds", required_argument, 0, O_PULL},
        {"idle-lock-minutes", required_argument, 0, O_IDLE},
        {"idle-lock-seconds", required_argument, 0, O_IDLE_S}, /* for tests */
        {"session-idle-minutes", required_argument, 0, O_SESSION},
        {"session-idle-seconds", required_argument, 0, O_SESSION_S}, /* for tests */
        {"unlock", no_argument, 0, 'u'},         {"help", no_argument, 0, 'h'},
        {"version", no_argument, 0, 'V'},        {0, 0, 0, 0},
    };
    int ch;
    while ((ch = getopt_long(argc, argv, "", longs, NULL)) != -1) {
        switch (ch) {
        case 'p': o.post_dir = optarg; break;
        case 'l': o.listen = optarg; break;
        case 'P': o.plain = 1; break;
        case 'c': o.cert = optarg; break;
        case 'k': o.key = optarg; break;
        case 'n':
            if (nnames == 16) {
                fprintf(stderr, "homthu-station: at most 16 --name\n");
                return 2;
            }
            names[nnames++] = optarg;
            break;
        case O_PULL: o.pull_seconds = positive(optarg, "--pull-seconds"); break;
        case O_IDLE: o.idle_lock_seconds = 60 * positive(optarg, "--idle-lock-minutes"); break;
        case O_IDLE_S: o.idle_lock_seconds = positive(optarg, "--idle-lock-seconds"); break;
        case O_SESSION:
            o.session_idle_seconds = 60 * positive(optarg, "--session-idle-minutes");
            break;
        case O_SESSION_S:
            o.session_idle_seconds = positive(optarg, "--session-idle-seconds");
            break;
        case 'u': unlock = 1; break;
        case 'h': usage(stdout); return 0;
        case 'V': printf("homthu-station %s\n", HOMTHU_VERSION); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (!o.post_dir || optind != argc) {
        usage(stderr);
        return 2;
    }
    /* Tips are decrypted in this process's memory: never into a core file. */
    struct rlimit nocore = {0, 0};
    setrlimit(RLIMIT_CORE, &nocore);
    prctl(PR_SET_DUMPABLE, 0);
    if (nnames)
        o.names = names;
    if (sodium_init() < 0 || curl_global_init(CURL_GLOBAL_DEFAULT) != 0) {
        fprintf(stderr, "homthu-station: cannot start libsodium or libcurl\n");
        return 1;
    }
    signal(SIGPIPE, SIG_IGN);
    struct sigaction sa = {0};
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);

    char err[1024] = "";
    struct station *s = NULL;
    uint16_t port = 0;
    if (station_start(&s, &o, &port, err, sizeof err)) {
        fprintf(stderr, "homthu-station: %s\n", err);
        return 1;
    }
    const char *colon = strrchr(o.listen, ':');
    size_t hl = colon ? (size_t)(colon - o.listen) : 0;
    fprintf(stderr, "homthu-station: serving the officers' page on %s://%.*s:%u/\n",
            o.plain ? "http" : "https", (int)hl, o.listen, (unsigned)port);
    if (!o.plain)
        fprintf(stderr,
                "homthu-station: certificate %s (compare it with the browser's before "
                "going on)\n",
                station_fingerprint(s));
    if (*station_setup_code(s))
        fprintf(stderr,
                "homthu-station: first start: the setup code is %s; open the page and enter "
                "it to make the commander's account\n",
                station_setup_code(s));
    if (unlock) {
        char *pass = sodium_malloc(PASSPHRASE_MAX);
        int rc = pass ? passphrase_from_env(pass) : -1;
        if (rc == PASSPHRASE_E_UNSET) {
            int fd = open("/dev/tty", O_RDWR | O_CLOEXEC);
            rc = fd >= 0 ? passphrase_ask_tty(fd, "The post's passphrase: ", pass) : -1;
            if (fd >= 0)
                close(fd);
        }
        if (rc != 0)
            fprintf(stderr, "homthu-station: no passphrase read: the post key stays locked "
                            "(the commander can unlock it from the page)\n");
        else if (station_unlock(s, pass, err, sizeof err))
            fprintf(stderr, "homthu-station: %s: the post key stays locked\n", err);
        else
            fprintf(stderr, "homthu-station: the post key is unlocked\n");
        sodium_free(pass);
    }
    fprintf(stderr, "homthu-station: ready\n");
    while (!stop)
        pause();
    fprintf(stderr, "homthu-station: stopping; the post key is wiped\n");
    station_stop(s);
    curl_global_cleanup();
    return 0;
}
