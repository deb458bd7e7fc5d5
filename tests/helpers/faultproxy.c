/*
 * faultproxy — a TCP proxy for tests that breaks connections on purpose.
 * This kernel has no netem, so link faults are made in user space here.
 *
 *   faultproxy --target HOST:PORT [--listen ADDR:PORT] [--port-file F]
 *              [--seed N] [--cut P] [--stall P] [--error P]
 *              [--cut-max BYTES] [--stats-file F] [--script FATES]
 *              [--cut-at-total BYTES [--after-cut pass|error]]
 *
 * Each accepted connection draws its fate from a PRNG seeded with --seed,
 * in accept order (so a run is repeatable): with probability --cut it is
 * closed after a random number of bytes (mostly kiosk→server, below
 * --cut-max; sometimes in the answer, so the server has the bytes but the
 * kiosk never hears so); with --stall it stops passing bytes either way at
 * such a point but stays open (the client's low-speed timeout must fire);
 * with --error it never reaches the server and answers the first request
 * with 503. Otherwise it passes everything. --script gives the first
 * connections their fates by hand, in order, before the draws start:
 * "cut:20000,pass,stall:300,error" (a number is the kiosk→server bytes
 * passed before the fault; "cut-down:N" strikes in the answer).
 * --cut-at-total cuts whichever connection carries the kiosk's byte number
 * BYTES (counted over all connections, so it does not matter whether the
 * server keeps connections open), once; later connections then pass, or
 * with --after-cut error get 503s (a link that stays down).
 *
 * The proxy stands for the far end of a radio link, so it must not
 * acknowledge much more than it passes on: its receive buffers are small
 * (--rcvbuf, default 4096), and the kiosk's count of "acknowledged, so
 * it left" stays honest to within that.
 *
 * The bound port goes to --port-file (written whole, then renamed) so a
 * test can listen on port 0. On SIGTERM/SIGINT it writes the counts to
 * --stats-file and stderr: "connections N cuts N stalls N errors N".
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

enum fate { FATE_PASS, FATE_CUT, FATE_STALL, FATE_ERROR };

struct conn {
    int client;
    uint64_t rng; /* this connection's own draws, seeded in accept order */
    enum fate fate;
    int downstream;     /* the fault strikes in the answer (server→client) */
    uint64_t threshold; /* bytes passed in that direction before it strikes */
};

static struct sockaddr_storage target;
static socklen_t target_len;
static atomic_uint n_conns, n_cuts, n_stalls, n_errors;
static volatile sig_atomic_t stopping;
static uint64_t cut_at_total; /* 0: off */
static int after_cut_error;
static pthread_mutex_t total_lock = PTHREAD_MUTEX_INITIALIZER;
static uint64_t total_up;
static int total_cut_done;

static uint64_t rng_state;
static double p_cut, p_stall, p_error;
static uint64_t cut_max = 20000;
static uint64_t rng_step(uint64_t *state) /* splitmix64: small, good enough, repeatable */
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}
static uint64_t rng_next(void)
{
    return rng_step(&rng_state);
}
static double rng_unit(void)
{
    return (double)(rng_next() >> 11) / (double)(1ull << 53);
}

static int parse_addr(const char *s, struct sockaddr_storage *out, socklen_t *len)
{
    char host[256];
    const char *colon = strrchr(s, ':');
    if (!colon || (size_t)(colon - s) >= sizeof host)
        return -1;
    memcpy(host, s, (size_t)(colon - s));
    host[colon - s] = 0;
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *ai;
    if (getaddrinfo(host, colon + 1, &hints, &ai) != 0)
        return -1;
    memcpy(out, ai->ai_addr, ai->ai_addrlen);
    *len = ai->ai_addrlen;
    freeaddrinfo(ai);
    return 0;
}

static int write_all(int fd, const char *p, size_t n)
{
    while (n) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Answer the first request with 503 without touching the server. */
static void serve_error(int c)
{
    char buf[8192];
    size_t got = 0;
    while (got < sizeof buf - 1) {
        struct pollfd p = {.fd = c, .events = POLLIN};
        if (poll(&p, 1, 5000) <= 0)
            break;
        ssize_t r = recv(c, buf + got, sizeof buf - 1 - got, 0);
        if (r <= 0)
            break;
        got += (size_t)r;
        buf[got] = 0;
        if (strstr(buf, "\r\n\r\n"))
            break;
    }
    static const char ans[] = "HTTP/1.1 503 Service Unavailable\r\n"
                              "Content-Type: text/plain\r\nContent-Length: 19\r\n"
                              "Connection: close\r\n\r\nfaultproxy: 503 now";
    write_all(c, ans, sizeof ans - 1);
    shutdown(c, SHUT_WR);
    /* Let the client read the answer before the socket goes. */
    struct pollfd p = {.fd = c, .events = POLLIN};
    while (poll(&p, 1, 1000) > 0 && recv(c, buf, sizeof buf, 0) > 0)
        ;
}

static void *serve(void *arg)
{
    struct conn *cn = arg;
    int c = cn->client, s = -1;
    if (cn->fate == FATE_ERROR) {
        serve_error(c);
        goto out;
    }
    s = socket(target.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (s < 0 || connect(s, (struct sockaddr *)&target, target_len) < 0)
        goto out;
    int one = 1;
    setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    uint64_t passed[2] = {0, 0}; /* [0] client→server, [1] server→client */
    int dir_fault = cn->downstream ? 1 : 0;
    int stalled = 0;
    /* A server that keeps connections open carries many requests on one:
     * every cut_max bytes kiosk→server a passing connection draws again,
     * so faults come as often per byte whatever the server does. */
    uint64_t next_draw = cut_max;
    char buf[4096];
    while (!stopping) {
        struct pollfd p[2] = {{.fd = c, .events = stalled ? 0 : POLLIN},
                              {.fd = s, .events = stalled ? 0 : POLLIN}};
        if (stalled)
            p[0].events = POLLIN; /* notice only the client going away */
        int pr = poll(p, 2, 500);
        if (pr < 0 && errno == EINTR)
            continue;
        if (pr <= 0)
            continue;
        if (stalled) {
            if (p[0].revents & (POLLHUP | POLLERR))
                break;
            if (p[0].revents & POLLIN) {
                ssize_t r = recv(c, buf, sizeof buf, 0); /* swallow, pass nothing */
                if (r <= 0)
                    break;
            }
            continue;
        }
        int done = 0;
        for (int d = 0; d < 2 && !done; d++) {
            int from = d == 0 ? c : s, to = d == 0 ? s : c;
            if (!(p[d].revents & (POLLIN | POLLHUP | POLLERR)))
                continue;
            ssize_t r = recv(from, buf, sizeof buf, 0);
            if (r <= 0) {
                done = 1;
                break;
            }
            size_t n = (size_t)r;
            int strike = 0;
            if (cut_at_total && d == 0) {
                pthread_mutex_lock(&total_lock);
                if (!total_cut_done && total_up + n >= cut_at_total) {
                    n = (size_t)(cut_at_total - total_up);
                    total_cut_done = 1;
                    strike = 1;
                    cn->fate = FATE_CUT;
                }
                total_up += n;
                pthread_mutex_unlock(&total_lock);
            }
            if (!strike && cn->fate != FATE_PASS && d == dir_fault &&
                passed[d] + n >= cn->threshold) {
                n = (size_t)(cn->threshold - passed[d]);
                strike = 1;
            }
            if (n && write_all(to, buf, n) < 0) {
                done = 1;
                break;
            }
            passed[d] += n;
            if (!strike && d == 0 && cn->fate == FATE_PASS && !cut_at_total &&
                passed[0] >= next_draw) {
                next_draw += cut_max;
                double u = (double)(rng_step(&cn->rng) >> 11) / (double)(1ull << 53);
                uint64_t where = rng_step(&cn->rng);
                if (u < p_cut + p_stall) {
                    cn->fate = u < p_cut ? FATE_CUT : FATE_STALL;
                    cn->downstream = 0;
                    dir_fault = 0;
                    cn->threshold = passed[0] + 1 + where % cut_max;
                }
            }
            if (strike) {
                if (cn->fate == FATE_CUT) {
                    atomic_fetch_add(&n_cuts, 1);
                    done = 1;
                } else {
                    atomic_fetch_add(&n_stalls, 1);
                    stalled = 1;
                }
                break;
            }
        }
        if (done)
            break;
    }
out:
    if (s >= 0)
        close(s);
    /* A reset, like a dropped 2G link, rather than an orderly close. */
    struct linger lg = {.l_onoff = 1, .l_linger = 0};
    if (cn->fate == FATE_CUT)
        setsockopt(c, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    close(c);
    free(cn);
    return NULL;
}

static void on_signal(int sig)
{
    (void)sig;
    stopping = 1;
}

int main(int argc, char **argv)
{
    const char *target_s = NULL, *listen_s = "127.0.0.1:0", *port_file = NULL, *stats = NULL;
    uint64_t seed = 1;
    int rcvbuf = 4096;
    const char *script = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!v) {
            fprintf(stderr, "faultproxy: %s needs a value\n", a);
            return 2;
        }
        if (!strcmp(a, "--target"))
            target_s = v;
        else if (!strcmp(a, "--listen"))
            listen_s = v;
        else if (!strcmp(a, "--port-file"))
            port_file = v;
        else if (!strcmp(a, "--stats-file"))
            stats = v;
        else if (!strcmp(a, "--seed"))
            seed = strtoull(v, NULL, 10);
        else if (!strcmp(a, "--cut"))
            p_cut = atof(v);
        else if (!strcmp(a, "--stall"))
            p_stall = atof(v);
        else if (!strcmp(a, "--error"))
            p_error = atof(v);
        else if (!strcmp(a, "--script"))
            script = v;
        else if (!strcmp(a, "--rcvbuf"))
            rcvbuf = atoi(v);
        else if (!strcmp(a, "--cut-at-total"))
            cut_at_total = strtoull(v, NULL, 10);
        else if (!strcmp(a, "--after-cut"))
            after_cut_error = !strcmp(v, "error");
        else if (!strcmp(a, "--cut-max"))
            cut_max = strtoull(v, NULL, 10);
        else {
            fprintf(stderr, "faultproxy: unknown option %s\n", a);
            return 2;
        }
        i++;
    }
    if (!target_s || parse_addr(target_s, &target, &target_len) || cut_max == 0) {
        fprintf(stderr, "faultproxy: --target HOST:PORT is missing or wrong\n");
        return 2;
    }
    rng_state = seed;
    struct sockaddr_storage la;
    socklen_t ll;
    if (parse_addr(listen_s, &la, &ll)) {
        fprintf(stderr, "faultproxy: bad --listen %s\n", listen_s);
        return 2;
    }
    int ls = socket(la.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (rcvbuf > 0) /* inherited by accepted sockets; set before listen() */
        setsockopt(ls, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
    if (ls < 0 || bind(ls, (struct sockaddr *)&la, ll) < 0 || listen(ls, 64) < 0) {
        fprintf(stderr, "faultproxy: cannot listen on %s: %s\n", listen_s, strerror(errno));
        return 1;
    }
    getsockname(ls, (struct sockaddr *)&la, &ll);
    unsigned port = ntohs(la.ss_family == AF_INET ? ((struct sockaddr_in *)&la)->sin_port
                                                  : ((struct sockaddr_in6 *)&la)->sin6_port);
    if (port_file) {
        char tmp[4096];
        snprintf(tmp, sizeof tmp, "%s.tmp", port_file);
        FILE *f = fopen(tmp, "w");
        if (!f || fprintf(f, "%u\n", port) < 0 || fclose(f) != 0 || rename(tmp, port_file)) {
            fprintf(stderr, "faultproxy: cannot write %s\n", port_file);
            return 1;
        }
    }
    struct sigaction sa = {.sa_handler = on_signal};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    while (!stopping) {
        struct pollfd p = {.fd = ls, .events = POLLIN};
        if (poll(&p, 1, 200) <= 0)
            continue;
        int c = accept4(ls, NULL, NULL, SOCK_CLOEXEC);
        if (c < 0)
            continue;
        struct conn *cn = calloc(1, sizeof *cn);
        if (!cn) {
            close(c);
            continue;
        }
        cn->client = c;
        cn->rng = rng_next();
        atomic_fetch_add(&n_conns, 1);
        double r = rng_unit();
        uint64_t where = rng_next(), dir = rng_next();
        if (r < p_cut)
            cn->fate = FATE_CUT;
        else if (r < p_cut + p_stall)
            cn->fate = FATE_STALL;
        else if (r < p_cut + p_stall + p_error)
            cn->fate = FATE_ERROR;
        /* One fault in four strikes in the answer: small, so below 600 bytes. */
        cn->downstream = dir % 4 == 0;
        cn->threshold = cn->downstream ? where % 600 : where % cut_max;
        if (script && *script) {
            size_t n = strcspn(script, ",");
            char step[64];
            snprintf(step, sizeof step, "%.*s", (int)(n < 63 ? n : 63), script);
            script += n + (script[n] == ',');
            char *colon = strchr(step, ':');
            cn->threshold = colon ? strtoull(colon + 1, NULL, 10) : 0;
            if (colon)
                *colon = 0;
            cn->downstream = !strcmp(step, "cut-down");
            cn->fate = !strcmp(step, "cut") || cn->downstream ? FATE_CUT
                       : !strcmp(step, "stall")               ? FATE_STALL
                       : !strcmp(step, "error")               ? FATE_ERROR
                                                              : FATE_PASS;
        }
        if (cut_at_total) {
            pthread_mutex_lock(&total_lock);
            cn->fate = total_cut_done && after_cut_error ? FATE_ERROR : FATE_PASS;
            pthread_mutex_unlock(&total_lock);
        }
        if (cn->fate == FATE_ERROR)
            atomic_fetch_add(&n_errors, 1);
        pthread_t th;
        pthread_attr_t at;
        pthread_attr_init(&at);
        pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
        if (pthread_create(&th, &at, serve, cn) != 0) {
            close(c);
            free(cn);
        }
        pthread_attr_destroy(&at);
    }
    char line[160];
    snprintf(line, sizeof line, "connections %u cuts %u stalls %u errors %u\n",
             atomic_load(&n_conns), atomic_load(&n_cuts), atomic_load(&n_stalls),
             atomic_load(&n_errors));
    fputs(line, stderr);
    if (stats) {
        FILE *f = fopen(stats, "w");
        if (f) {
            fputs(line, f);
            fclose(f);
        }
    }
    return 0;
}
