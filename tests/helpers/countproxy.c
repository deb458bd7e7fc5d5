/*
 * countproxy — a TCP proxy for tests that cuts the kiosk's link at chosen
 * byte positions and counts, as an outside measure, every byte the kiosk
 * sent: what the uploader reports must match it byte for byte.
 *
 *   countproxy --target HOST:PORT --port-file F --stats-file F [--log-file F]
 *              [--cut-at N,N,...] [--seed S --cuts K --gap-min A --gap-max B]
 *              [--relay-cut close|silent]
 *
 * Cut positions are byte numbers of the stream passed on to the relay,
 * counted over all connections (so it does not matter whether connections
 * are kept open; bytes dropped after a cut do not count): given, or drawn from --seed (each cut A to B bytes after the
 * last). At a cut the proxy passes the relay the bytes before it and waits
 * until the relay's kernel has acknowledged every byte written to it: a
 * byte "reached the relay" when the relay's side of the link took it, not
 * when the proxy handed it to its own socket (bytes still in the proxy's
 * send buffer would otherwise count as reached and be lost at the close).
 * Then it passes nothing more: it ends the relay's side with a FIN and
 * reads what the relay still says until it closes, so no reset throws
 * away what the relay had not read yet (--relay-cut close), or leaves it
 * open and mute, as a radio cut leaves a server that never hears of it
 * (silent; closed when the proxy exits). To the kiosk it sends a FIN and
 * goes on reading, counting and discarding until the kiosk closes: every
 * byte the kiosk wrote is counted, none is lost unseen in a socket
 * buffer, so the count is exact. The same holds when the relay closes a
 * connection first.
 *
 * It reads the requests (HTTP/1.1, Content-Length bodies) to know which
 * envelope offsets each PATCH body carries (its path, Upload-Offset), and
 * counts body bytes received at an offset of that upload it had received
 * before ("twice"), and, of the bytes that reached the relay, those at an
 * offset that had reached it before ("relay_twice": bytes the relay got
 * and then had to be sent again, which the relay's keeping of chunks
 * bounds). An upload is named by its PATCH path, the upload's URL. A cut
 * goes to the request whose bytes it stopped: the request in progress, or,
 * when it falls between requests or inside a request's head, the request
 * that head belongs to (known once the kiosk has sent it whole). A cut in
 * a PATCH counts against that upload ("patch_cuts"); one in any other
 * request (POST, HEAD) stops no envelope byte ("other_cuts").
 *
 * On SIGTERM it waits (at most 60 s) for the kiosk to close its
 * connections, then writes to --stats-file one line
 *   "client_bytes N body_bytes N twice N relay_twice N cuts N connections N
 *    patch_cuts N other_cuts N unacked N"
 * (one line; "unacked": bytes written to the relay before a cut that its
 * kernel never took, so they did not count as reached) and then one line
 * per upload: "upload PATH cuts N relay_twice N twice N".
 * --log-file gets a line per event: each request's head (its offset and
 * length), each answer's status and Upload-Offset, each cut and where it
 * fell, each side's end; a failing test prints it.
 */
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <linux/sockios.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_CUTS 1024
#define MAX_UPLOADS 1024
#define HDR_CAP 16384
/* How long the relay may go without reading before a cut gives up waiting for it. */
#define ACK_WAIT_MS 60000

struct span {
    uint64_t lo, hi;
};

struct spans {
    struct span *v;
    size_t n, cap;
};

struct upload {
    char path[128];
    struct spans got, passed;
    uint64_t twice, relay_twice;
    unsigned cuts;
};

/* Everything below is shared by the connection threads: under `lock`. */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct upload uploads[MAX_UPLOADS];
static size_t nuploads;
static uint64_t cut_at[MAX_CUTS];
static size_t ncuts, next_cut;
static uint64_t total_up; /* kiosk→relay bytes passed on */
static uint64_t client_bytes, body_bytes, twice, relay_twice, unacked;
static unsigned cuts_done, conns, patch_cuts, other_cuts;
static atomic_int open_clients;
static volatile sig_atomic_t stopping;
static int relay_silent;
static struct sockaddr_storage target;
static socklen_t target_len;

/* Adds [lo, hi) to the set; returns how much of it was already there. */
static uint64_t spans_add(struct spans *s, uint64_t lo, uint64_t hi)
{
    uint64_t before = 0, nlo = lo, nhi = hi;
    size_t k = 0;
    for (size_t i = 0; i < s->n; i++) {
        struct span x = s->v[i];
        if (x.hi < lo || x.lo > hi) {
            s->v[k++] = x;
            continue;
        }
        uint64_t ol = x.lo > lo ? x.lo : lo, oh = x.hi < hi ? x.hi : hi;
        if (oh > ol)
            before += oh - ol;
        nlo = x.lo < nlo ? x.lo : nlo;
        nhi = x.hi > nhi ? x.hi : nhi;
    }
    if (k == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 8;
        struct span *v = realloc(s->v, cap * sizeof *v);
        if (!v) {
            fprintf(stderr, "countproxy: out of memory\n");
            exit(1);
        }
        s->v = v;
        s->cap = cap;
    }
    s->v[k].lo = nlo;
    s->v[k].hi = nhi;
    s->n = k + 1;
    return before;
}

static struct upload *upload_of(const char *path)
{
    for (size_t i = 0; i < nuploads; i++)
        if (!strcmp(uploads[i].path, path))
            return &uploads[i];
    if (nuploads == MAX_UPLOADS)
        return NULL;
    struct upload *u = &uploads[nuploads++];
    snprintf(u->path, sizeof u->path, "%s", path);
    return u;
}

/* One connection's view of the kiosk's requests. */
struct parser {
    unsigned conn; /* the connection's number, for the log */
    char hdr[HDR_CAP];
    size_t hlen;
    int in_body;
    char path[128];
    int patch;
    uint64_t base, left, pos; /* body: Upload-Offset, bytes to come, bytes seen */
    int cut_pending;          /* the cut fell before this head was whole */
};

static const char *hdr_value(const char *h, const char *name)
{
    size_t n = strlen(name);
    for (const char *p = strstr(h, "\r\n"); p; p = strstr(p + 2, "\r\n"))
        if (!strncasecmp(p + 2, name, n) && p[2 + n] == ':')
            return p + 3 + n;
    return NULL;
}

static uint64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static FILE *event_log;
static uint64_t started_ms;

static void note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void note(const char *fmt, ...)
{
    if (!event_log)
        return;
    va_list ap;
    va_start(ap, fmt);
    flockfile(event_log);
    fprintf(event_log, "%7.3f ", (double)(mono_ms() - started_ms) / 1000.0);
    vfprintf(event_log, fmt, ap);
    fputc('\n', event_log);
    fflush(event_log);
    funlockfile(event_log);
    va_end(ap);
}

/* The cut stopped the request `ps` is in. Called with `lock` held. */
static void charge_cut(struct parser *ps)
{
    if (ps->patch) {
        struct upload *u = upload_of(ps->path);
        if (u)
            u->cuts++;
        patch_cuts++;
        note("conn %u: the cut fell in PATCH %s Upload-Offset %llu: %llu of its %llu body bytes "
             "reached the relay",
             ps->conn, ps->path, (unsigned long long)ps->base, (unsigned long long)ps->pos,
             (unsigned long long)(ps->pos + ps->left));
    } else {
        other_cuts++;
        note("conn %u: the cut fell in a request that carries no envelope bytes (%.*s)", ps->conn,
             (int)strcspn(ps->hdr, "\r\n"), ps->hdr);
    }
}

static void start_body(struct parser *ps, int passed)
{
    ps->hdr[ps->hlen] = 0;
    char method[16] = "";
    ps->path[0] = 0;
    sscanf(ps->hdr, "%15s %127s", method, ps->path);
    ps->patch = !strcmp(method, "PATCH");
    const char *cl = hdr_value(ps->hdr, "Content-Length");
    const char *uo = hdr_value(ps->hdr, "Upload-Offset");
    ps->left = cl ? strtoull(cl, NULL, 10) : 0;
    ps->base = uo ? strtoull(uo, NULL, 10) : 0;
    ps->pos = 0;
    ps->in_body = 1;
    note("conn %u > %s %s Upload-Offset %llu Content-Length %llu%s", ps->conn, method, ps->path,
         (unsigned long long)ps->base, (unsigned long long)ps->left,
         passed ? "" : " (after the cut: not passed on)");
    if (ps->cut_pending) {
        ps->cut_pending = 0;
        charge_cut(ps);
    }
    ps->hlen = 0;
}

/* Sees `n` bytes from the kiosk, which reached the relay if `passed`.
 * Called with `lock` held. */
static void feed(struct parser *ps, const char *buf, size_t n, int passed)
{
    client_bytes += n;
    size_t i = 0;
    while (i < n) {
        if (!ps->in_body) {
            while (i < n && !ps->in_body) {
                if (ps->hlen < HDR_CAP - 1)
                    ps->hdr[ps->hlen++] = buf[i];
                i++;
                if (ps->hlen >= 4 && !memcmp(ps->hdr + ps->hlen - 4, "\r\n\r\n", 4))
                    start_body(ps, passed);
            }
            if (ps->in_body && ps->left == 0)
                ps->in_body = 0;
            continue;
        }
        size_t k = n - i < ps->left ? n - i : (size_t)ps->left;
        if (ps->patch) {
            struct upload *u = upload_of(ps->path);
            uint64_t lo = ps->base + ps->pos;
            body_bytes += k;
            if (u) {
                uint64_t t = spans_add(&u->got, lo, lo + k);
                u->twice += t;
                twice += t;
                if (passed) {
                    uint64_t rt = spans_add(&u->passed, lo, lo + k);
                    u->relay_twice += rt;
                    relay_twice += rt;
                }
            }
        }
        ps->pos += k;
        ps->left -= k;
        i += k;
        if (!ps->left)
            ps->in_body = 0;
    }
}

/* The link is cut at the parser's present position. Called with `lock` held. */
static void mark_cut(struct parser *ps)
{
    if (ps->in_body)
        charge_cut(ps);
    else
        ps->cut_pending = 1; /* the head it falls in, or the next one, is not whole yet */
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

/*
 * Waits until the relay's kernel has acknowledged every byte written to
 * `s` (it may be slow to read: under load that takes a while, but only a
 * relay gone or a minute of nothing ends the wait). Returns the bytes it
 * never took.
 */
static uint64_t wait_taken(int s)
{
    uint64_t until = mono_ms() + ACK_WAIT_MS;
    int q = 0, last = -1;
    while (ioctl(s, SIOCOUTQ, &q) == 0 && q > 0) {
        int err = 0;
        socklen_t el = sizeof err;
        if (getsockopt(s, SOL_SOCKET, SO_ERROR, &err, &el) == 0 && err)
            break;
        if (q != last) /* progress: the relay is reading */
            until = mono_ms() + ACK_WAIT_MS;
        last = q;
        if (mono_ms() > until)
            break;
        usleep(1000);
    }
    return q > 0 ? (uint64_t)q : 0;
}

/* Reads and drops what the relay sends, logging each answer's status. */
static ssize_t from_relay(unsigned conn, int s, char *buf, size_t cap, int passed)
{
    ssize_t r = recv(s, buf, cap, 0);
    if (r > 0 && event_log && r > 9 && !memcmp(buf, "HTTP/1.1 ", 9)) {
        char tmp[512];
        size_t m = (size_t)r < sizeof tmp - 1 ? (size_t)r : sizeof tmp - 1;
        memcpy(tmp, buf, m);
        tmp[m] = 0;
        const char *uo = hdr_value(tmp, "Upload-Offset");
        note("conn %u < %.*s%s%.*s%s", conn, (int)strcspn(tmp, "\r\n"), tmp,
             uo ? ", Upload-Offset" : "", uo ? (int)strcspn(uo, "\r\n") : 0, uo ? uo : "",
             passed ? "" : " (after the cut: not passed on)");
    }
    return r;
}

static void *serve(void *arg)
{
    int c = (int)(intptr_t)arg, s = socket(target.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct parser *ps = calloc(1, sizeof *ps);
    int cut = 0;       /* the link is cut: nothing more goes to the relay */
    int relay_fin = 0; /* close mode: FIN sent to the relay, reading it out */
    int relay_gone = 0;
    uint64_t give_up = 0; /* after SIGTERM: when to stop waiting for the kiosk */
    uint64_t written = 0;
    if (!ps)
        goto out;
    pthread_mutex_lock(&lock);
    ps->conn = ++conns;
    pthread_mutex_unlock(&lock);
    if (s < 0 || connect(s, (struct sockaddr *)&target, target_len) < 0) {
        /* Still read the kiosk to its end: what it wrote is counted, none passed on. */
        note("conn %u: cannot reach the relay (%s)", ps->conn, strerror(errno));
        relay_gone = 1;
        shutdown(c, SHUT_WR);
    } else
        note("conn %u open", ps->conn);
    char buf[16384];
    for (;;) {
        if (stopping) {
            if (!give_up)
                give_up = mono_ms() + 60000;
            else if (mono_ms() > give_up)
                break;
        }
        int relay_open = !cut && !relay_gone;
        /* A side we no longer read is left out: poll reports its hangup whatever we ask. */
        int hear_relay = relay_open || relay_fin;
        struct pollfd p[2] = {{.fd = c, .events = POLLIN},
                              {.fd = hear_relay ? s : -1, .events = POLLIN}};
        int pr = poll(p, 2, 200);
        if (pr < 0 && errno != EINTR)
            break;
        if (pr <= 0)
            continue;
        if (p[0].revents & (POLLIN | POLLHUP | POLLERR)) {
            ssize_t r = recv(c, buf, sizeof buf, 0);
            if (r < 0 && errno == EINTR)
                continue;
            if (r <= 0) {
                note("conn %u: the kiosk closed (%llu bytes passed on to the relay)", ps->conn,
                     (unsigned long long)written);
                break; /* everything the kiosk wrote was read */
            }
            size_t n = (size_t)r, npass = relay_open ? n : 0;
            int strike = 0;
            pthread_mutex_lock(&lock);
            if (relay_open && next_cut < ncuts && total_up + n >= cut_at[next_cut]) {
                npass = (size_t)(cut_at[next_cut] - total_up);
                next_cut++;
                cuts_done++;
                strike = 1;
            }
            /* Only what went on counts: a strike's tail must not carry the next cut behind it. */
            if (relay_open)
                total_up += npass;
            if (!strike)
                feed(ps, buf, n, relay_open);
            pthread_mutex_unlock(&lock);
            if (npass && write_all(s, buf, npass) < 0 && !strike) {
                /* The relay went first: what it did not take was not passed on. */
                note("conn %u: the relay's side failed (%s)", ps->conn, strerror(errno));
                relay_gone = 1;
                shutdown(c, SHUT_WR);
                continue;
            }
            written += npass;
            if (!strike)
                continue;
            uint64_t lost = wait_taken(s);
            size_t took = lost < npass ? npass - (size_t)lost : 0;
            pthread_mutex_lock(&lock);
            unacked += lost;
            feed(ps, buf, took, 1);
            feed(ps, buf + took, npass - took, 0);
            note("conn %u: cut %u at byte %llu of the kiosk's stream; the relay took %s", ps->conn,
                 cuts_done, (unsigned long long)total_up,
                 lost ? "NOT every byte passed on before it" : "every byte passed on before it");
            mark_cut(ps);
            feed(ps, buf + npass, n - npass, 0);
            pthread_mutex_unlock(&lock);
            cut = 1;
            if (!relay_silent) {
                shutdown(s, SHUT_WR);
                relay_fin = 1;
            }
            shutdown(c, SHUT_WR); /* the kiosk hears the link is gone */
            continue;
        }
        if (hear_relay && (p[1].revents & (POLLIN | POLLHUP | POLLERR))) {
            ssize_t r = from_relay(ps->conn, s, buf, sizeof buf, relay_open);
            if (r < 0 && errno == EINTR)
                continue;
            if (r <= 0) {
                note("conn %u: the relay closed", ps->conn);
                if (relay_open)
                    shutdown(c, SHUT_WR);
                relay_gone = 1;
                relay_fin = 0;
                continue;
            }
            if (relay_open && write_all(c, buf, (size_t)r) < 0)
                break;
        }
    }
    /* Close mode: let the relay read to the FIN and close first (no reset). */
    while (relay_fin && !(give_up && mono_ms() > give_up)) {
        if (stopping && !give_up)
            give_up = mono_ms() + 60000;
        struct pollfd p = {.fd = s, .events = POLLIN};
        if (poll(&p, 1, 200) <= 0)
            continue;
        ssize_t r = from_relay(ps->conn, s, buf, sizeof buf, 0);
        if (r == 0 || (r < 0 && errno != EINTR)) {
            note("conn %u: the relay closed", ps->conn);
            relay_fin = 0;
        }
    }
out:
    /* A silent relay side stays open (mute) until the proxy exits. */
    while (cut && relay_silent && s >= 0 && !stopping)
        usleep(100 * 1000);
    if (ps && ps->cut_pending) {
        pthread_mutex_lock(&lock);
        other_cuts++; /* the kiosk never sent the head whole: no envelope byte was stopped */
        note("conn %u: the cut fell in a head the kiosk never finished", ps->conn);
        pthread_mutex_unlock(&lock);
    }
    if (s >= 0)
        close(s);
    close(c);
    free(ps);
    atomic_fetch_sub(&open_clients, 1);
    return NULL;
}

static int parse_addr(const char *str, struct sockaddr_storage *out, socklen_t *len)
{
    char host[256];
    const char *colon = strrchr(str, ':');
    if (!colon || (size_t)(colon - str) >= sizeof host)
        return -1;
    memcpy(host, str, (size_t)(colon - str));
    host[colon - str] = 0;
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *ai;
    if (getaddrinfo(host, colon + 1, &hints, &ai) != 0)
        return -1;
    memcpy(out, ai->ai_addr, ai->ai_addrlen);
    *len = ai->ai_addrlen;
    freeaddrinfo(ai);
    return 0;
}

static uint64_t rng_step(uint64_t *state) /* splitmix64: repeatable from --seed */
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static void on_signal(int sig)
{
    (void)sig;
    stopping = 1;
}

static int write_stats(const char *path)
{
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    if (!f)
        return -1;
    pthread_mutex_lock(&lock);
    fprintf(f,
            "client_bytes %llu body_bytes %llu twice %llu relay_twice %llu cuts %u "
            "connections %u patch_cuts %u other_cuts %u unacked %llu\n",
            (unsigned long long)client_bytes, (unsigned long long)body_bytes,
            (unsigned long long)twice, (unsigned long long)relay_twice, cuts_done, conns,
            patch_cuts, other_cuts, (unsigned long long)unacked);
    for (size_t i = 0; i < nuploads; i++)
        fprintf(f, "upload %s cuts %u relay_twice %llu twice %llu\n", uploads[i].path,
                uploads[i].cuts, (unsigned long long)uploads[i].relay_twice,
                (unsigned long long)uploads[i].twice);
    pthread_mutex_unlock(&lock);
    if (fclose(f) != 0)
        return -1;
    return rename(tmp, path); /* a reader never sees half a file */
}

int main(int argc, char **argv)
{
    const char *target_s = NULL, *port_file = NULL, *stats = NULL, *list = NULL, *log = NULL;
    uint64_t seed = 1, gap_min = 1, gap_max = 0;
    unsigned ncut_draw = 0;
    for (int i = 1; i < argc; i += 2) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!v) {
            fprintf(stderr, "countproxy: %s needs a value\n", a);
            return 2;
        }
        if (!strcmp(a, "--target"))
            target_s = v;
        else if (!strcmp(a, "--port-file"))
            port_file = v;
        else if (!strcmp(a, "--stats-file"))
            stats = v;
        else if (!strcmp(a, "--log-file"))
            log = v;
        else if (!strcmp(a, "--cut-at"))
            list = v;
        else if (!strcmp(a, "--seed"))
            seed = strtoull(v, NULL, 10);
        else if (!strcmp(a, "--cuts"))
            ncut_draw = (unsigned)atoi(v);
        else if (!strcmp(a, "--gap-min"))
            gap_min = strtoull(v, NULL, 10);
        else if (!strcmp(a, "--gap-max"))
            gap_max = strtoull(v, NULL, 10);
        else if (!strcmp(a, "--relay-cut") && (!strcmp(v, "close") || !strcmp(v, "silent")))
            relay_silent = !strcmp(v, "silent");
        else {
            fprintf(stderr, "countproxy: unknown option %s %s\n", a, v);
            return 2;
        }
    }
    if (!target_s || parse_addr(target_s, &target, &target_len) || !port_file || !stats) {
        fprintf(stderr, "countproxy: --target HOST:PORT, --port-file and --stats-file needed\n");
        return 2;
    }
    for (const char *p = list; p && *p && ncuts < MAX_CUTS;) {
        cut_at[ncuts++] = strtoull(p, NULL, 10);
        p = strchr(p, ',');
        p = p ? p + 1 : NULL;
    }
    if (ncut_draw) {
        if (gap_max < gap_min || gap_min == 0 || ncut_draw > MAX_CUTS) {
            fprintf(stderr, "countproxy: --cuts needs 0 < --gap-min <= --gap-max\n");
            return 2;
        }
        uint64_t at = 0, st = seed;
        for (unsigned k = 0; k < ncut_draw; k++) {
            at += gap_min + rng_step(&st) % (gap_max - gap_min + 1);
            cut_at[ncuts++] = at;
        }
    }
    started_ms = mono_ms();
    if (log && !(event_log = fopen(log, "w"))) {
        fprintf(stderr, "countproxy: cannot write %s: %s\n", log, strerror(errno));
        return 1;
    }
    for (size_t k = 0; k < ncuts; k++)
        note("cut %zu at byte %llu of the kiosk's stream", k + 1, (unsigned long long)cut_at[k]);
    int ls = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in la = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t ll = sizeof la;
    if (ls < 0 || bind(ls, (struct sockaddr *)&la, sizeof la) < 0 || listen(ls, 64) < 0 ||
        getsockname(ls, (struct sockaddr *)&la, &ll) < 0) {
        fprintf(stderr, "countproxy: cannot listen: %s\n", strerror(errno));
        return 1;
    }
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.tmp", port_file);
    FILE *f = fopen(tmp, "w");
    if (!f || fprintf(f, "%u\n", ntohs(la.sin_port)) < 0 || fclose(f) != 0 ||
        rename(tmp, port_file)) {
        fprintf(stderr, "countproxy: cannot write %s\n", port_file);
        return 1;
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
        atomic_fetch_add(&open_clients, 1);
        pthread_t th;
        pthread_attr_t at;
        pthread_attr_init(&at);
        pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
        if (pthread_create(&th, &at, serve, (void *)(intptr_t)c) != 0) {
            close(c);
            atomic_fetch_sub(&open_clients, 1);
        }
        pthread_attr_destroy(&at);
    }
    close(ls);
    /* Count to the last byte: wait for the kiosk to close what it holds. */
    uint64_t until = mono_ms() + 65000; /* the connections give up after 60 s */
    while (atomic_load(&open_clients) > 0 && mono_ms() < until)
        usleep(20 * 1000);
    if (atomic_load(&open_clients) > 0)
        fprintf(stderr, "countproxy: %d connection(s) still open: counts may be short\n",
                atomic_load(&open_clients));
    if (write_stats(stats) != 0) {
        fprintf(stderr, "countproxy: cannot write %s\n", stats);
        return 1;
    }
    return atomic_load(&open_clients) > 0 ? 1 : 0;
}
