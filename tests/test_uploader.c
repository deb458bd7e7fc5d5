/*
 * Tests for src/delivery/uploader.c against the real relay (src/relay/relay.c, in this
 * process, on a random loopback port), with the fault proxy
 * (tests/helpers/faultproxy) between them where the link must misbehave.
 * The tips are real envelopes sealed into a real queue.
 */
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "check.h"
#include "core/envelope.h"
#include "core/heartbeat.h"
#include "core/keys.h"
#include "core/version.h"
#include "core/queue.h"
#include "core/registry.h"
#include "relay/relay.h"
#include "delivery/uplink_status.h"
#include "delivery/uploader.h"
#include "kiosk/leds.h"

#define TOKEN "test-post-token-0123456789abcdefghijklmnop"

struct fx {
    struct envelope_post_key *post;
    struct keys_device *dev;
    struct relay *relay;
    uint16_t port;
    struct queue *q;
    int64_t shift; /* the relay's clock runs this far from ours */
    pthread_mutex_t lock;
    char log[65536]; /* the uploader's log lines */
    size_t loglen;
    char relay_log[65536]; /* the relay's */
    size_t relay_loglen;
    int proxy_pid;
    uint16_t proxy_port;
};

static int64_t fx_clock(void *ctx)
{
    struct fx *f = ctx;
    return (int64_t)time(NULL) + f->shift;
}

static void fx_relay_log(void *ctx, const char *line)
{
    struct fx *f = ctx;
    pthread_mutex_lock(&f->lock);
    int n = snprintf(f->relay_log + f->relay_loglen, sizeof f->relay_log - f->relay_loglen, "%s\n",
                     line);
    if (n > 0 && f->relay_loglen + (size_t)n < sizeof f->relay_log)
        f->relay_loglen += (size_t)n;
    pthread_mutex_unlock(&f->lock);
}

/* Wait (up to 30 s) until the relay logged a line holding `what`. */
static int fx_relay_said(struct fx *f, const char *what)
{
    for (int i = 0; i < 300; i++) {
        pthread_mutex_lock(&f->lock);
        int said = strstr(f->relay_log, what) != NULL;
        pthread_mutex_unlock(&f->lock);
        if (said)
            return 1;
        usleep(100 * 1000);
    }
    return 0;
}

static void fx_log(void *ctx, const char *line)
{
    struct fx *f = ctx;
    pthread_mutex_lock(&f->lock);
    int n = snprintf(f->log + f->loglen, sizeof f->log - f->loglen, "%s\n", line);
    if (n > 0 && f->loglen + (size_t)n < sizeof f->log)
        f->loglen += (size_t)n;
    pthread_mutex_unlock(&f->lock);
    if (getenv("HOMTHU_VERBOSE"))
        fprintf(stderr, "  uplink: %s\n", line);
}

/* Keys, registry (device enrolled unless `enrol` is 0), queue. */
static void fx_init(struct fx *f, int enrol)
{
    memset(f, 0, sizeof *f);
    pthread_mutex_init(&f->lock, NULL);
    f->proxy_pid = -1;
    char err[512] = "";
    ASSERT_EQ(keys_post_generate(&f->post, err, sizeof err), 0);
    ASSERT_EQ(keys_device_generate(&f->dev, err, sizeof err), 0);
    struct registry *reg = NULL;
    ASSERT_EQ(registry_open(&reg, check_path("registry.db"), 1, err, sizeof err), 0);
    if (enrol)
        ASSERT_EQ(
            registry_enrol(reg, "na-co-sa-01", f->dev->pk, (int64_t)time(NULL), err, sizeof err),
            0);
    registry_close(reg);
    unsigned faults = 0;
    mkdir(check_path("kiosk"), 0700);
    if (queue_open(&f->q, check_path("kiosk"), &faults, err, sizeof err))
        check_fail(__FILE__, __LINE__, "queue_open: %s", err);
}

/* Start the relay on `port` (0: any), plain or with check_path("cert.pem"). */
static int fx_relay_start(struct fx *f, uint16_t port, int tls, char *err, size_t errlen);

static void fx_relay(struct fx *f, uint16_t port, int tls)
{
    char err[512] = "";
    if (fx_relay_start(f, port, tls, err, sizeof err))
        check_fail(__FILE__, __LINE__, "relay: %s", err);
}

/* fx_relay without failing the test (for use while a thread runs); on
 * failure f->relay stays NULL and the reason is printed. */
static void fx_relay_try(struct fx *f, uint16_t port)
{
    char err[512] = "";
    if (fx_relay_start(f, port, 0, err, sizeof err)) {
        printf("    relay: %s\n", err);
        relay_close(f->relay);
        f->relay = NULL;
    }
}

static int fx_relay_start(struct fx *f, uint16_t port, int tls, char *err, size_t errlen)
{
    struct relay_config c;
    relay_config_defaults(&c);
    snprintf(c.listen, sizeof c.listen, "127.0.0.1:%u", port);
    snprintf(c.database, sizeof c.database, "%s", check_path("relay.db"));
    snprintf(c.registry, sizeof c.registry, "%s", check_path("registry.db"));
    snprintf(c.post_token, sizeof c.post_token, "%s", TOKEN);
    if (tls) {
        snprintf(c.tls_cert, sizeof c.tls_cert, "%s", check_path("cert.pem"));
        snprintf(c.tls_key, sizeof c.tls_key, "%s", check_path("key.pem"));
    }
    c.device_requests_per_minute = 1000000; /* the fault test makes thousands */
    c.connection_timeout_seconds = 10;
    c.clock = fx_clock;
    c.clock_ctx = f;
    c.log = fx_relay_log;
    c.log_ctx = f;
    return relay_open(&f->relay, &c, err, errlen) || relay_start(f->relay, &f->port, err, errlen);
}

static void fx_proxy_stop(struct fx *f)
{
    if (f->proxy_pid > 0) {
        kill(f->proxy_pid, SIGTERM);
        for (int i = 0; i < 50 && kill(f->proxy_pid, 0) == 0; i++)
            usleep(100 * 1000);
        f->proxy_pid = -1;
    }
}

static void fx_done(struct fx *f)
{
    fx_proxy_stop(f);
    relay_close(f->relay);
    queue_close(f->q);
    keys_post_free(f->post);
    keys_device_free(f->dev);
}

/* The fault proxy in front of the relay on `port` (0: any); `args` are its fault options. */
static void fx_proxy_at(struct fx *f, uint16_t port, const char *args)
{
    const char *pf = check_path("proxy.port"), *pidf = check_path("proxy.pid");
    unlink(pf);
    ASSERT_EQ(check_sh("%s/helpers/faultproxy --target 127.0.0.1:%u --listen 127.0.0.1:%u "
                       "--port-file %s --stats-file %s %s >/dev/null 2>&1 & echo $! > %s",
                       check_build(), f->port, port, pf, check_path("proxy.stats"), args, pidf),
              0);
    size_t n = 0;
    uint8_t *s = NULL;
    for (int i = 0; i < 100 && !(s = check_slurp(pf, &n)); i++)
        usleep(50 * 1000);
    ASSERT(s);
    f->proxy_port = (uint16_t)atoi((char *)s);
    free(s);
    s = check_slurp(pidf, &n);
    ASSERT(s);
    f->proxy_pid = atoi((char *)s);
    free(s);
}

static void fx_proxy(struct fx *f, const char *args)
{
    fx_proxy_at(f, 0, args);
}

/*
 * Waits for `path` to appear, polling: as long as the machine needs (a
 * second test suite beside this one, ASan), up to WAIT_CAP_S, which only a
 * helper that died or hangs reaches.
 */
#define WAIT_CAP_S 120
static char *fx_text(const char *path);
static uint8_t *fx_wait_file(const char *path, size_t *n)
{
    char *s = NULL;
    for (int i = 0; i < WAIT_CAP_S * 20 && !(s = fx_text(path)); i++)
        usleep(50 * 1000);
    if (s)
        *n = strlen(s);
    return (uint8_t *)s;
}

/* A file's text, NUL-terminated (check_slurp's buffer is not); NULL if missing. */
static char *fx_text(const char *path)
{
    size_t n = 0;
    uint8_t *s = check_slurp(path, &n);
    char *t = s ? malloc(n + 1) : NULL;
    if (t) {
        memcpy(t, s, n);
        t[n] = 0;
    }
    free(s);
    return t;
}

/* The counting proxy (tests/helpers/countproxy) in front of the relay. */
static void fx_countproxy(struct fx *f, const char *args)
{
    const char *pf = check_path("count.port"), *pidf = check_path("proxy.pid");
    unlink(pf);
    unlink(check_path("count.stats"));
    ASSERT_EQ(check_sh("%s/helpers/countproxy --target 127.0.0.1:%u --port-file %s "
                       "--stats-file %s --log-file %s %s >/dev/null 2>%s & echo $! > %s",
                       check_build(), f->port, pf, check_path("count.stats"),
                       check_path("count.log"), args, check_path("count.err"), pidf),
              0);
    size_t n = 0;
    uint8_t *s = fx_wait_file(pf, &n);
    ASSERT(s);
    f->proxy_port = (uint16_t)atoi((char *)s);
    free(s);
    s = check_slurp(pidf, &n);
    ASSERT(s);
    f->proxy_pid = atoi((char *)s);
    free(s);
}

/* What the counting proxy saw (call after the uploader closed its connections). */
struct counted {
    unsigned long long client_bytes, body_bytes, twice, relay_twice, unacked;
    unsigned cuts, connections, patch_cuts, other_cuts;
    char *text; /* the whole stats file, with a line per upload */
};

/* The proxy's event log, its stderr and the relay's log, for a failure's reader. */
static void fx_explain(struct fx *f)
{
    const char *files[] = {"count.stats", "count.err", "count.log"};
    for (size_t k = 0; k < sizeof files / sizeof *files; k++) {
        char *t = fx_text(check_path(files[k]));
        printf("    --- countproxy's %s ---\n", files[k]);
        for (char *line = t ? strtok(t, "\n") : NULL; line; line = strtok(NULL, "\n"))
            printf("    %s\n", line);
        free(t);
    }
    printf("    --- the relay's log ---\n");
    pthread_mutex_lock(&f->lock);
    printf("%s", f->relay_log);
    pthread_mutex_unlock(&f->lock);
    fflush(stdout);
}

static void fx_counted(struct fx *f, struct counted *c)
{
    if (f->proxy_pid > 0)
        kill(f->proxy_pid, SIGTERM);
    size_t n = 0;
    /* The proxy writes its counts once the kiosk's connections are closed. */
    uint8_t *s = fx_wait_file(check_path("count.stats"), &n);
    fx_proxy_stop(f);
    if (!s)
        fx_explain(f);
    ASSERT(s);
    memset(c, 0, sizeof *c);
    ASSERT_EQ(sscanf((char *)s,
                     "client_bytes %llu body_bytes %llu twice %llu relay_twice %llu cuts %u "
                     "connections %u patch_cuts %u other_cuts %u unacked %llu",
                     &c->client_bytes, &c->body_bytes, &c->twice, &c->relay_twice, &c->cuts,
                     &c->connections, &c->patch_cuts, &c->other_cuts, &c->unacked),
              9);
    c->text = (char *)s;
}

/* Seal a tip of `chunks` chunks into the queue; its envelope into *env. */
static void make_tip(struct fx *f, uint32_t chunks, uint8_t id[16], uint8_t **env, size_t *len)
{
    char err[512] = "";
    struct envelope_meta meta = {.language = "vi", .category = CATEGORY_OTHER};
    struct queue_sink sink = {.q = f->q, .now = (int64_t)time(NULL), .clock_trusted = 1};
    struct envelope_writer *w = NULL;
    ASSERT_EQ(envelope_writer_new(&w, f->post->pk, f->dev->sk, &meta, queue_envelope_sink, &sink,
                                  id, err, sizeof err),
              0);
    static char text[60000];
    memset(text, 'x', sizeof text);
    size_t want = (chunks - 1) * ENVELOPE_CHUNK_PLAIN - 300;
    while (want) {
        size_t n = want < sizeof text ? want : sizeof text;
        ASSERT_EQ(envelope_write_text(w, text, n), 0);
        want -= n;
    }
    ASSERT_EQ(envelope_writer_finish(w, err, sizeof err), 0);
    envelope_writer_free(w);
    struct queue_tip t;
    ASSERT_EQ(queue_get_tip(f->q, id, &t), 0);
    ASSERT_EQ(t.chunks, chunks);
    *len = (size_t)t.bytes;
    *env = malloc(*len);
    size_t got = 0;
    ASSERT_EQ(queue_read(f->q, id, 0, *env, *len, &got, err, sizeof err), 0);
    ASSERT_EQ(got, *len);
}

static struct uploader *fx_uploader(struct fx *f, uint16_t port, const char *scheme,
                                    unsigned low_speed_s)
{
    char url[128], err[512] = "";
    snprintf(url, sizeof url, "%s://127.0.0.1:%u/", scheme, port);
    struct uploader_opts o = {
        .relay_url = url,
        .device_sk = f->dev->sk,
        .connect_timeout_s = 2,
        .low_speed_bytes = 1000,
        .low_speed_seconds = (long)low_speed_s,
        .chunks_per_patch = 4,
        .require_verified = 1,
        .log = fx_log,
        .log_ctx = f,
    };
    struct uploader *u = NULL;
    if (uploader_new(&u, &o, err, sizeof err))
        check_fail(__FILE__, __LINE__, "uploader_new: %s", err);
    return u;
}

/* A request to the relay's post API, in process (no socket). */
static void post_get(struct fx *f, const char *path, const char *after, struct relay_response *resp)
{
    struct relay_header h[] = {{"Authorization", "Bearer " TOKEN}};
    struct relay_header a[] = {{"after", after ? after : "0"}, {"limit", "1000"}};
    struct relay_request req = {.method = "GET",
                                .path = path,
                                .headers = h,
                                .nheaders = 1,
                                .args = a,
                                .nargs = after ? 2 : 0};
    relay_handle(f->relay, &req, NULL, 0, resp);
}

/* How many times the relay lists tip `id` (it must be once). */
static int relay_count(struct fx *f, const uint8_t id[16])
{
    struct relay_response resp;
    post_get(f, "/post/tips", "0", &resp);
    ASSERT_EQ(resp.status, 200);
    char hex[33], needle[48];
    sodium_bin2hex(hex, sizeof hex, id, 16);
    snprintf(needle, sizeof needle, "\"id\":\"%s\"", hex);
    int n = 0;
    for (const char *p = resp.body; p && (p = strstr(p, needle)); p++)
        n++;
    relay_response_clear(&resp);
    return n;
}

/* The relay's copy of tip `id` is byte-identical to `env`. */
static int relay_same(struct fx *f, const uint8_t id[16], const uint8_t *env, size_t len)
{
    char hex[33], path[64];
    sodium_bin2hex(hex, sizeof hex, id, 16);
    snprintf(path, sizeof path, "/post/tips/%s", hex);
    struct relay_response resp;
    post_get(f, path, NULL, &resp);
    int same = resp.status == 200 && resp.body_len == len && memcmp(resp.body, env, len) == 0;
    relay_response_clear(&resp);
    return same;
}

static int tip_state(struct fx *f, const uint8_t id[16])
{
    struct queue_tip t;
    return queue_get_tip(f->q, id, &t) == 0 ? t.state : -1;
}

/* Delivered: the queue says purged, or (a queue that forgets delivered
 * tips, issue 12 finding 5) no longer has it at all. */
static int tip_delivered(struct fx *f, const uint8_t id[16])
{
    struct queue_tip t;
    int rc = queue_get_tip(f->q, id, &t);
    return rc == QUEUE_E_NOTFOUND || (rc == 0 && t.state == QUEUE_PURGED);
}

/* ---- backoff ---- */

TEST(test_uploader_backoff_is_full_jitter_and_capped)
{
    /* The draw spans [0, base·2^n], whole: both ends reachable. */
    ASSERT_EQ(uploader_backoff_ms(2000, 600000, 0, 0), 0);
    ASSERT_EQ(uploader_backoff_ms(2000, 600000, 0, UINT32_MAX), 2000);
    ASSERT_EQ(uploader_backoff_ms(2000, 600000, 3, UINT32_MAX), 16000);
    ASSERT_EQ(uploader_backoff_ms(2000, 600000, 3, UINT32_MAX / 2), 7999);
    /* The cap holds, also where 2^n would overflow. */
    ASSERT_EQ(uploader_backoff_ms(2000, 600000, 9, UINT32_MAX), 600000);
    ASSERT_EQ(uploader_backoff_ms(2000, 600000, 200, UINT32_MAX), 600000);
    ASSERT(uploader_backoff_ms(2000, 600000, 200, 12345) <= 600000);
}

/* ---- delivery ---- */

TEST(test_uploader_delivers_a_tip_and_the_queue_purges_it)
{
    struct fx f;
    fx_init(&f, 1);
    fx_relay(&f, 0, 0);
    uint8_t id[16], id2[16];
    uint8_t *env, *env2;
    size_t len, len2;
    make_tip(&f, 8, id, &env, &len);
    make_tip(&f, 12, id2, &env2, &len2);
    struct uploader *u = fx_uploader(&f, f.port, "http", 10);
    volatile sig_atomic_t stop = 0;
    struct uploader_run_opts ro = {
        .exit_when_empty = 1, .max_failures = 3, .backoff_base_ms = 10, .backoff_cap_ms = 50};
    struct uploader_totals tot;
    ASSERT_EQ(uploader_run(u, f.q, &ro, &stop, &tot), 0);
    ASSERT_EQ(tot.delivered, 2);
    ASSERT_EQ(tot.body_sent, len + len2);
    ASSERT(tot.bytes_sent > tot.body_sent); /* the requests' headers too */
    ASSERT_EQ(tot.bytes_resent, 0);
    ASSERT(tip_delivered(&f, id));
    ASSERT(tip_delivered(&f, id2));
    ASSERT_EQ(relay_count(&f, id), 1);
    ASSERT(relay_same(&f, id, env, len));
    ASSERT(relay_same(&f, id2, env2, len2));
    /* Oldest first, and the log says sizes, never content. */
    const char *first = strstr(f.log, "delivered: ");
    char hex[9];
    sodium_bin2hex(hex, sizeof hex, id, 4);
    ASSERT(first && strstr(f.log, hex) && strstr(f.log, hex) < first);
    ASSERT_CONTAINS(f.log, " of envelope, 0 re-sent");
    ASSERT(!strstr(f.log, "xxxx"));
    uploader_free(u);
    free(env);
    free(env2);
    fx_done(&f);
}

/*
 * The must-show: 100 small tips through a link that cuts, stalls and
 * fails; each arrives exactly once and byte-identical, none is lost.
 */
TEST(test_uploader_delivers_100_tips_exactly_once_through_a_faulty_link)
{
    struct fx f;
    fx_init(&f, 1);
    fx_relay(&f, 0, 0);
    enum { N = 100 };
    uint8_t ids[N][16];
    uint8_t *envs[N];
    size_t lens[N];
    for (int i = 0; i < N; i++)
        make_tip(&f, i % 3 == 0 ? 12 : 8, ids[i], &envs[i], &lens[i]);
    fx_proxy(&f, "--seed 7 --cut 0.3 --stall 0.01 --error 0.1 --cut-max 40000");
    struct uploader *u = fx_uploader(&f, f.proxy_port, "http", 1);
    volatile sig_atomic_t stop = 0;
    struct uploader_run_opts ro = {.exit_when_empty = 1,
                                   .max_failures = 50,
                                   .backoff_base_ms = 5,
                                   .backoff_cap_ms = 100,
                                   .probe_seconds = 1};
    struct uploader_totals tot;
    double t0 = (double)time(NULL);
    int rc = uploader_run(u, f.q, &ro, &stop, &tot);
    fx_proxy_stop(&f);
    size_t sl = 0;
    uint8_t *stats = check_slurp(check_path("proxy.stats"), &sl);
    printf("    100 tips through the fault proxy in %.0f s: %.*s", (double)time(NULL) - t0,
           stats ? (int)sl : 17, stats ? (char *)stats : "(no proxy stats)\n");
    printf("    %u attempts, %u failed; %" PRIu64 " bytes sent, %" PRIu64 " re-sent\n",
           tot.attempts, tot.failures, tot.bytes_sent, tot.bytes_resent);
    free(stats);
    ASSERT_EQ(rc, 0);
    ASSERT_EQ(tot.delivered, N);
    ASSERT(tot.failures >= 10); /* the proxy did its job (libcurl absorbs some cuts itself) */
    for (int i = 0; i < N; i++) {
        ASSERT(tip_delivered(&f, ids[i]));
        ASSERT_EQ(relay_count(&f, ids[i]), 1);
        ASSERT(relay_same(&f, ids[i], envs[i], lens[i]));
        free(envs[i]);
    }
    /* Nothing else reached the relay. */
    struct relay_response resp;
    post_get(&f, "/post/tips", "0", &resp);
    int listed = 0;
    for (const char *p = resp.body; p && (p = strstr(p, "\"id\":")); p++)
        listed++;
    relay_response_clear(&resp);
    ASSERT_EQ(listed, N);
    uploader_free(u);
    fx_done(&f);
}

TEST(test_uploader_resumes_from_the_relays_offset_after_a_cut)
{
    struct fx f;
    fx_init(&f, 1);
    fx_relay(&f, 0, 0);
    uint8_t id[16], *env;
    size_t len;
    make_tip(&f, 16, id, &env, &len);
    /* The link dies once, 30000 bytes in, mid-PATCH; the proxy counts
     * every byte the kiosk wrote, before the cut and after. */
    fx_countproxy(&f, "--cut-at 30000");
    struct uploader *u = fx_uploader(&f, f.proxy_port, "http", 10);
    struct queue_tip t;
    ASSERT_EQ(queue_get_tip(f.q, id, &t), 0);
    struct uploader_report rep = {0};
    char err[512] = "";
    int rc = uploader_send_tip(u, f.q, &t, &rep, err, sizeof err);
    if (rc == UPLOADER_E_NET) { /* libcurl did not retry by itself: we go on */
        ASSERT_EQ(queue_get_tip(f.q, id, &t), 0);
        ASSERT(t.upload_offset > 0); /* progress was recorded before the cut */
        rc = uploader_send_tip(u, f.q, &t, &rep, err, sizeof err);
    }
    if (rc)
        check_fail(__FILE__, __LINE__, "send: %s", err);
    uploader_free(u);
    struct counted c;
    fx_counted(&f, &c);
    printf("    cut at 30000 bytes: %" PRIu64 " bytes sent (proxy: %llu), %" PRIu64
           " of envelope for %zu (proxy: %llu), %" PRIu64 " re-sent (proxy: %llu, of them %llu "
           "had reached the relay)\n",
           rep.bytes_sent, c.client_bytes, rep.body_sent, len, c.body_bytes, rep.bytes_resent,
           c.twice, c.relay_twice);
    ASSERT_EQ(c.cuts, 1);
    /* The kiosk's figures are the proxy's, byte for byte. */
    ASSERT_EQ(rep.bytes_sent, c.client_bytes);
    ASSERT_EQ(rep.body_sent, c.body_bytes);
    ASSERT_EQ(rep.bytes_resent, c.twice);
    ASSERT_EQ(rep.body_sent, len + rep.bytes_resent);
    ASSERT(rep.bytes_resent > 0); /* the cut cost something: the test did cut */
    /* It went on from the relay's offset: of what had reached the relay,
     * at most the chunk in flight went again. */
    ASSERT(c.relay_twice < ENVELOPE_CHUNK_CIPHER);
    free(c.text);
    char qerr[256];
    ASSERT_EQ(queue_set_delivered(f.q, id, 1, qerr, sizeof qerr), 0);
    ASSERT_EQ(relay_count(&f, id), 1);
    ASSERT(relay_same(&f, id, env, len));
    free(env);
    fx_done(&f);
}

/* Sums of the per-tip figures the log's "delivered" lines give. */
static void logged_sums(const char *log, unsigned long long *sent, unsigned long long *body,
                        unsigned long long *resent, unsigned *lines)
{
    *sent = *body = *resent = 0;
    *lines = 0;
    for (const char *p = log; (p = strstr(p, " delivered: ")); p++) {
        unsigned long long b, s, e, r;
        unsigned req;
        if (sscanf(p,
                   " delivered: %llu bytes; %u requests, %llu bytes sent (headers included), "
                   "%llu of envelope, %llu re-sent",
                   &b, &req, &s, &e, &r) == 5) {
            *sent += s;
            *body += e;
            *resent += r;
            (*lines)++;
        }
    }
}

/*
 * The measure: the link cut several times at random bytes. What
 * the uploader says it sent and re-sent is what a proxy between it and the
 * relay received, byte for byte; the per-tip lines add up to the run's.
 */
TEST(test_uploader_counts_what_a_proxy_receives_through_random_cuts)
{
    struct fx f;
    fx_init(&f, 1);
    fx_relay(&f, 0, 0);
    enum { N = 6 };
    uint8_t ids[N][16], *envs[N];
    size_t lens[N];
    for (int i = 0; i < N; i++)
        make_tip(&f, 12, ids[i], &envs[i], &lens[i]);
    unsigned seed = randombytes_random() % 1000000;
    char args[160];
    snprintf(args, sizeof args, "--seed %u --cuts 8 --gap-min 3000 --gap-max 40000", seed);
    fx_countproxy(&f, args);
    struct uploader *u = fx_uploader(&f, f.proxy_port, "http", 10);
    volatile sig_atomic_t stop = 0;
    struct uploader_run_opts ro = {.exit_when_empty = 1,
                                   .max_failures = 20,
                                   .backoff_base_ms = 5,
                                   .backoff_cap_ms = 50};
    struct uploader_totals tot;
    int rc = uploader_run(u, f.q, &ro, &stop, &tot);
    uploader_free(u);
    struct counted c;
    fx_counted(&f, &c);
    printf("    seed %u, %u cuts: %" PRIu64 " bytes sent (proxy: %llu), %" PRIu64
           " of envelope (proxy: %llu), %" PRIu64 " re-sent (proxy: %llu)\n",
           seed, c.cuts, tot.bytes_sent, c.client_bytes, tot.body_sent, c.body_bytes,
           tot.bytes_resent, c.twice);
    if (rc || tot.delivered != N || c.cuts != 8 || tot.bytes_sent != c.client_bytes ||
        tot.body_sent != c.body_bytes || tot.bytes_resent != c.twice)
        fx_explain(&f);
    ASSERT_EQ(rc, 0);
    ASSERT_EQ(tot.delivered, N);
    ASSERT_EQ(c.cuts, 8); /* every cut fell inside the run */
    ASSERT_EQ(tot.bytes_sent, c.client_bytes);
    ASSERT_EQ(tot.body_sent, c.body_bytes);
    ASSERT_EQ(tot.bytes_resent, c.twice);
    size_t all = 0;
    for (int i = 0; i < N; i++)
        all += lens[i];
    ASSERT_EQ(tot.body_sent, all + tot.bytes_resent);
    unsigned long long s, b, r;
    unsigned lines;
    logged_sums(f.log, &s, &b, &r, &lines);
    ASSERT_EQ(lines, N);
    ASSERT_EQ(s, tot.bytes_sent);
    ASSERT_EQ(b, tot.body_sent);
    ASSERT_EQ(r, tot.bytes_resent);
    for (int i = 0; i < N; i++) {
        ASSERT(relay_same(&f, ids[i], envs[i], lens[i]));
        free(envs[i]);
    }
    free(c.text);
    fx_done(&f);
}

/*
 * Cuts at a random byte of each tip, counted by the proxy per upload. The
 * relay keeps every whole chunk as it arrives and a new request for the
 * upload ends the stale PATCH, so of what had reached the relay at most the
 * chunk in flight is sent again, whether the relay hears of the cut (the
 * proxy closes its side: `close`) or, as after a radio cut, never does
 * (the proxy's side stays open and mute: `silent`). Returns the uploads
 * over the bound; the kiosk's re-sent figure must still be the proxy's.
 */
static int random_cuts_over_one_chunk(const char *mode)
{
    struct fx f;
    fx_init(&f, 1);
    fx_relay(&f, 0, 0);
    enum { N = 5 };
    uint8_t ids[N][16], *envs[N];
    size_t lens[N];
    for (int i = 0; i < N; i++)
        make_tip(&f, 12, ids[i], &envs[i], &lens[i]);
    unsigned seed = randombytes_random() % 1000000;
    char args[200];
    /* One cut per tip's worth of bytes (a tip is 49,608 B plus headers). */
    snprintf(args, sizeof args,
             "--seed %u --cuts %d --gap-min 40000 --gap-max 52000 --relay-cut %s", seed, N, mode);
    fx_countproxy(&f, args);
    struct uploader *u = fx_uploader(&f, f.proxy_port, "http", 10);
    volatile sig_atomic_t stop = 0;
    struct uploader_run_opts ro = {.exit_when_empty = 1,
                                   .max_failures = 20,
                                   .backoff_base_ms = 5,
                                   .backoff_cap_ms = 50};
    struct uploader_totals tot;
    int rc = uploader_run(u, f.q, &ro, &stop, &tot);
    uploader_free(u);
    struct counted c;
    fx_counted(&f, &c);
    printf("    %s, seed %u, %u cuts: %llu B re-sent by the kiosk, of them %llu B had reached "
           "the relay\n",
           mode, seed, c.cuts, c.twice, c.relay_twice);
    /* An upload is its PATCH path; each cut in one of its PATCHes counts against it. */
    int uploads = 0, over = 0, same = 1;
    unsigned upload_cuts = 0;
    for (const char *p = c.text; (p = strstr(p, "\nupload ")); p++) {
        unsigned cuts;
        unsigned long long rt;
        if (sscanf(p, "\nupload %*s cuts %u relay_twice %llu", &cuts, &rt) != 2)
            break;
        uploads++;
        upload_cuts += cuts;
        if (rt > (unsigned long long)cuts * ENVELOPE_CHUNK_CIPHER) {
            printf("    %s: %llu B reached the relay and went again over %u cut(s)\n", mode, rt,
                   cuts);
            over++;
        }
    }
    for (int i = 0; i < N; i++) {
        same = same && relay_same(&f, ids[i], envs[i], lens[i]);
        free(envs[i]);
    }
    fx_done(&f); /* the relay's threads stop before any assertion can leave */
    int ok = rc == 0 && tot.delivered == N && same && c.cuts >= 1 && c.unacked == 0 &&
             c.patch_cuts + c.other_cuts == c.cuts && upload_cuts == c.patch_cuts &&
             tot.bytes_resent == c.twice && uploads == N && over == 0;
    if (!ok || getenv("HOMTHU_VERBOSE"))
        fx_explain(&f);
    free(c.text);
    /* A fresh registry, relay store and queue for the next run. */
    ASSERT_EQ(check_sh("rm -rf '%s'/*", check_dir()), 0);
    ASSERT_EQ(rc, 0);
    ASSERT_EQ(tot.delivered, N);
    ASSERT(same);
    ASSERT(c.cuts >= 1);
    /* Every byte passed on before a cut reached the relay: the cuts are where they were drawn. */
    ASSERT_EQ(c.unacked, 0);
    ASSERT_EQ(c.patch_cuts + c.other_cuts, c.cuts);
    ASSERT_EQ(upload_cuts, c.patch_cuts);
    ASSERT_EQ(tot.bytes_resent, c.twice);
    ASSERT_EQ(uploads, N);
    return over;
}

TEST(test_uploader_a_cut_at_a_random_byte_resends_at_most_one_chunk_to_the_relay)
{
    int closed = random_cuts_over_one_chunk("close");
    int silent = random_cuts_over_one_chunk("silent");
    ASSERT_EQ(closed, 0);
    ASSERT_EQ(silent, 0);
}

/* ---- faults ---- */

struct runner {
    struct uploader *u;
    struct queue *q;
    struct uploader_run_opts ro;
    volatile sig_atomic_t stop;
    struct uploader_totals tot;
    int rc;
    double done_at;
};

static double now_f(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void *run_thread(void *arg)
{
    struct runner *r = arg;
    r->rc = uploader_run(r->u, r->q, &r->ro, &r->stop, &r->tot);
    r->done_at = now_f();
    return NULL;
}

/*
 * A loopback port bound but not listening: a connect to it is refused, as
 * to a relay that is down, and no other program can take the port before
 * the test's own relay does (close *fd just before starting it).
 */
static uint16_t refusing_port(int *fd)
{
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t l = sizeof a;
    ASSERT(s >= 0 && bind(s, (struct sockaddr *)&a, sizeof a) == 0);
    getsockname(s, (struct sockaddr *)&a, &l);
    *fd = s;
    return ntohs(a.sin_port);
}

/* What uploader_run's tick said: how often, and the lines it gave. */
struct ticks {
    volatile unsigned n;
    volatile int offline, sending;
};

static void on_tick(void *ctx, const struct uploader_news *n)
{
    struct ticks *t = ctx;
    t->n++;
    /* The words for people and the phase for programs say the same. */
    if (strstr(n->doing, "not delivered (offline): 1 waiting; next try within ") &&
        n->phase == UPLOADER_FAILING && n->error == UPLOADER_E_OFFLINE)
        t->offline = 1;
    if (strstr(n->doing, "sending tip ") && strstr(n->doing, "; 1 waiting") &&
        n->phase == UPLOADER_SENDING && n->error == 0)
        t->sending = 1;
}

/* The longest wait full jitter can draw. */
static uint32_t jitter_max(void)
{
    return UINT32_MAX;
}

TEST(test_uploader_waits_out_a_down_relay_and_sends_as_soon_as_it_is_up)
{
    struct fx f;
    fx_init(&f, 1);
    int held;
    uint16_t port = refusing_port(&held);
    uint8_t id[16], *env;
    size_t len;
    make_tip(&f, 8, id, &env, &len);
    /* A backoff that sleeps long (full jitter pinned to its longest draw,
     * or a lucky short one could deliver without the probe): only the
     * probe can make it quick. */
    struct runner r = {.u = fx_uploader(&f, port, "http", 10),
                       .q = f.q,
                       .ro = {.exit_when_empty = 1,
                              .backoff_base_ms = 20000,
                              .backoff_cap_ms = 60000,
                              .probe_seconds = 1,
                              .wake_fd = -1,
                              .jitter = jitter_max}};
    /* The daemon pets systemd's watchdog from the tick: it must keep coming
     * through a backoff far longer than any watchdog interval. */
    struct ticks tk = {0};
    r.ro.tick = on_tick;
    r.ro.tick_ctx = &tk;
    /* A queue handle of its own for the thread: SQLite handles are per thread here. */
    char err[512];
    unsigned faults;
    ASSERT_EQ(queue_open(&r.q, check_path("kiosk"), &faults, err, sizeof err), 0);
    pthread_t th;
    ASSERT_EQ(pthread_create(&th, NULL, run_thread, &r), 0);
    /* No ASSERT until the join: a failing one leaves this frame while the
     * thread still uses r and tk. Wait until the uploader found the relay
     * down and sits in its backoff, and a little longer (probes fail). */
    for (int i = 0; i < 300 && !tk.offline; i++)
        usleep(100 * 1000);
    usleep(1500 * 1000);
    int sealed_while_down = tip_state(&f, id) == QUEUE_SEALED;
    unsigned ticks_while_down = tk.n;
    double up = now_f();
    close(held);
    if (tk.offline)
        fx_relay_try(&f, port);
    for (int i = 0; i < 300 && f.relay && r.done_at == 0; i++)
        usleep(100 * 1000);
    if (r.done_at == 0)
        r.stop = 1;
    pthread_join(th, NULL);
    queue_close(r.q);
    ASSERT(tk.offline);
    ASSERT(f.relay != NULL);
    ASSERT(sealed_while_down);
    ASSERT_EQ(r.rc, 0);
    ASSERT_EQ(r.tot.delivered, 1);
    printf("    delivered %.1f s after the relay came up (backoff 20 s)\n", r.done_at - up);
    /* Sooner than the pinned 20 s backoff could end: the probe's doing. */
    ASSERT(r.done_at - up < 20.0);
    ASSERT_CONTAINS(f.log, "(offline): cannot reach the relay");
    ASSERT_CONTAINS(f.log, "the relay answers again: retrying now");
    printf("    %u ticks in the 1.5 s the relay was down\n", ticks_while_down);
    ASSERT(ticks_while_down >= 2);
    ASSERT(tk.sending && tk.offline);
    ASSERT_EQ(relay_count(&f, id), 1);
    ASSERT(relay_same(&f, id, env, len));
    free(env);
    uploader_free(r.u);
    fx_done(&f);
}

/* A self-signed certificate for 127.0.0.1 and its pin (sha256//base64). */
static void make_cert(char pin[128])
{
    const char *d = check_dir();
    ASSERT_EQ(
        check_sh("cd '%s' && openssl req -x509 -newkey ec -pkeyopt "
                 "ec_paramgen_curve:prime256v1 -nodes -keyout key.pem -out cert.pem -days 2 "
                 "-subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 >/dev/null 2>&1 && "
                 "openssl x509 -in cert.pem -pubkey -noout | openssl pkey -pubin -outform der "
                 "| openssl dgst -sha256 -binary | base64 > pin.txt",
                 d),
        0);
    size_t n = 0;
    uint8_t *p = check_slurp(check_path("pin.txt"), &n);
    ASSERT(p && n >= 44);
    snprintf(pin, 128, "sha256//%.44s", (char *)p);
    free(p);
}

TEST(test_uploader_refuses_a_relay_with_the_wrong_pin_and_sends_nothing)
{
    struct fx f;
    fx_init(&f, 1);
    char pin[128];
    make_cert(pin);
    fx_relay(&f, 0, 1);
    uint8_t id[16], *env;
    size_t len;
    make_tip(&f, 8, id, &env, &len);
    char url[128], err[512] = "";
    snprintf(url, sizeof url, "https://127.0.0.1:%u/", f.port);
    struct uploader_opts o = {.relay_url = url,
                              .device_sk = f.dev->sk,
                              .pin = "sha256//AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
                              .ca_file = check_path("cert.pem"),
                              .require_verified = 1,
                              .connect_timeout_s = 2,
                              .log = fx_log,
                              .log_ctx = &f};
    struct uploader *u = NULL;
    ASSERT_EQ(uploader_new(&u, &o, err, sizeof err), 0);
    struct queue_tip t;
    ASSERT_EQ(queue_get_tip(f.q, id, &t), 0);
    struct uploader_report rep = {0};
    ASSERT_EQ(uploader_send_tip(u, f.q, &t, &rep, err, sizeof err), UPLOADER_E_PIN);
    ASSERT_STR_EQ(err, "the relay's TLS key does not match relay_pin: nothing was sent. Check "
                       "relay_pin in kiosk.conf against the relay's key (docs/uploader.md)");
    ASSERT_EQ(rep.bytes_sent, 0);
    ASSERT_EQ(uploader_probe(u, err, sizeof err), UPLOADER_E_PIN);
    uploader_free(u);
    ASSERT_EQ(relay_count(&f, id), 0);
    ASSERT_EQ(tip_state(&f, id), QUEUE_SEALED);

    /* The right pin: delivered over TLS. */
    o.pin = pin;
    ASSERT_EQ(uploader_new(&u, &o, err, sizeof err), 0);
    if (uploader_send_tip(u, f.q, &t, &rep, err, sizeof err))
        check_fail(__FILE__, __LINE__, "with the right pin: %s", err);
    ASSERT(relay_same(&f, id, env, len));
    uploader_free(u);
    free(env);
    fx_done(&f);
}

TEST(test_uploader_creates_again_an_upload_the_relay_let_expire)
{
    struct fx f;
    fx_init(&f, 1);
    fx_relay(&f, 0, 0);
    uint8_t id[16], *env;
    size_t len;
    make_tip(&f, 12, id, &env, &len);
    /* Part of the tip arrives, then the link dies for good. */
    fx_proxy(&f, "--cut-at-total 25000 --after-cut error");
    struct uploader *u = fx_uploader(&f, f.proxy_port, "http", 10);
    struct queue_tip t;
    struct uploader_report rep = {0};
    char err[512] = "";
    ASSERT_EQ(queue_get_tip(f.q, id, &t), 0);
    ASSERT(uploader_send_tip(u, f.q, &t, &rep, err, sizeof err) != 0);
    ASSERT_EQ(queue_get_tip(f.q, id, &t), 0);
    if (!(t.upload_offset > 0 && t.upload_offset < len))
        check_fail(__FILE__, __LINE__, "offset %" PRIu64 " of %zu after: %s", t.upload_offset, len,
                   err);
    /* The relay may still be storing what reached it, or closing the cut
       request (slowly under AddressSanitizer): let it finish before the
       clock moves, or it stamps the upload with the later time. */
    fx_proxy_stop(&f);
    ASSERT(fx_relay_said(&f, "cut off after"));
    /* Three days later the relay forgets the partial upload. */
    f.shift = 73 * 3600;
    ASSERT(relay_sweep(f.relay) >= 1);
    fx_proxy(&f, ""); /* the link is back, on the same uploader (it remembers the Location) */
    uploader_free(u);
    u = fx_uploader(&f, f.proxy_port, "http", 10);
    /* The same uploader would have the old Location; a fresh one POSTs,
     * and the relay's answer for the tip id is an empty upload again. */
    memset(&rep, 0, sizeof rep);
    if (uploader_send_tip(u, f.q, &t, &rep, err, sizeof err))
        check_fail(__FILE__, __LINE__, "after expiry: %s", err);
    ASSERT_EQ(rep.body_sent, len); /* all of it again: the relay had nothing */
    ASSERT_EQ(rep.bytes_resent, 0); /* by this uploader, for the first time */
    ASSERT_EQ(relay_count(&f, id), 1);
    ASSERT(relay_same(&f, id, env, len));
    uploader_free(u);
    free(env);
    fx_done(&f);
}

TEST(test_uploader_follows_the_relay_to_a_new_upload_when_its_location_expired)
{
    struct fx f;
    fx_init(&f, 1);
    fx_relay(&f, 0, 0);
    uint8_t id[16], *env;
    size_t len;
    make_tip(&f, 12, id, &env, &len);
    /* Part of the tip arrives, then the link stays down. */
    fx_proxy(&f, "--cut-at-total 25000 --after-cut error");
    uint16_t port = f.proxy_port;
    struct uploader *u = fx_uploader(&f, port, "http", 10);
    struct queue_tip t;
    struct uploader_report rep = {0};
    char err[512] = "";
    ASSERT_EQ(queue_get_tip(f.q, id, &t), 0);
    ASSERT(uploader_send_tip(u, f.q, &t, &rep, err, sizeof err) != 0);
    fx_proxy_stop(&f); /* let the relay finish with the cut request first */
    ASSERT(fx_relay_said(&f, "cut off after"));
    /* The relay forgets the partial upload; the link comes back. */
    f.shift = 73 * 3600;
    ASSERT(relay_sweep(f.relay) >= 1);
    f.shift = 0;
    fx_proxy_at(&f, port, "");
    /* The same uploader: HEAD on the old Location → 404 → POST again. */
    ASSERT_EQ(queue_get_tip(f.q, id, &t), 0);
    if (uploader_send_tip(u, f.q, &t, &rep, err, sizeof err))
        check_fail(__FILE__, __LINE__, "after expiry: %s", err);
    ASSERT_EQ(rep.created, 2);
    ASSERT_CONTAINS(f.log, "the relay no longer has its upload (404): creating it again");
    ASSERT_EQ(relay_count(&f, id), 1);
    ASSERT(relay_same(&f, id, env, len));
    uploader_free(u);
    free(env);
    fx_done(&f);
}

TEST(test_uploader_takes_the_relays_time_when_the_kiosk_clock_is_wrong)
{
    struct fx f;
    fx_init(&f, 1);
    fx_relay(&f, 0, 0);
    f.shift = 3 * 86400 + 17; /* no RTC: the kiosk thinks it is three days ago */
    uint8_t id[16], *env;
    size_t len;
    make_tip(&f, 8, id, &env, &len);
    struct uploader *u = fx_uploader(&f, f.port, "http", 10);
    struct queue_tip t;
    struct uploader_report rep = {0};
    char err[512] = "";
    ASSERT_EQ(queue_get_tip(f.q, id, &t), 0);
    if (uploader_send_tip(u, f.q, &t, &rep, err, sizeof err))
        check_fail(__FILE__, __LINE__, "send: %s", err);
    ASSERT(llabs(uploader_clock_offset(u) - f.shift) <= 2);
    ASSERT_CONTAINS(f.log, "using the relay's time");
    ASSERT_EQ(relay_count(&f, id), 1);
    uploader_free(u);
    free(env);
    fx_done(&f);
}

TEST(test_uploader_unknown_device_is_a_clear_fault_and_tips_stay_queued)
{
    struct fx f;
    fx_init(&f, 0); /* this kiosk was never enrolled */
    fx_relay(&f, 0, 0);
    uint8_t id[16], *env;
    size_t len;
    make_tip(&f, 8, id, &env, &len);
    struct uploader *u = fx_uploader(&f, f.port, "http", 10);
    volatile sig_atomic_t stop = 0;
    struct uploader_run_opts ro = {
        .exit_when_empty = 1, .max_failures = 2, .backoff_base_ms = 10, .backoff_cap_ms = 10};
    struct uploader_totals tot;
    ASSERT_EQ(uploader_run(u, f.q, &ro, &stop, &tot), UPLOADER_E_DEVICE);
    ASSERT_EQ(tot.delivered, 0);
    ASSERT_CONTAINS(f.log, "(device): the relay refuses this kiosk (403 unknown device");
    ASSERT_CONTAINS(f.log, "enrol it at the post");
    ASSERT_EQ(tip_state(&f, id), QUEUE_SEALED);
    ASSERT_EQ(relay_count(&f, id), 0);
    uploader_free(u);
    free(env);
    fx_done(&f);
}

/* ---- heartbeats ---- */

/* The one heartbeat the relay holds, opened with the post's key. */
static void relay_heartbeat(struct fx *f, struct heartbeat *hb, int64_t *received)
{
    struct relay_response resp;
    post_get(f, "/post/heartbeats", NULL, &resp);
    ASSERT_EQ(resp.status, 200);
    const char *b = strstr(resp.body, "\"blob\":\"");
    ASSERT(b);
    b += 8;
    const char *r = strstr(resp.body, "\"received\":");
    ASSERT(r);
    *received = strtoll(r + 11, NULL, 10);
    uint8_t sealed[HEARTBEAT_SEALED_BYTES], plain[HEARTBEAT_PLAIN_BYTES];
    size_t n = 0;
    ASSERT_EQ(sodium_base642bin(sealed, sizeof sealed, b, strcspn(b, "\""), NULL, &n, NULL,
                                sodium_base64_VARIANT_ORIGINAL),
              0);
    ASSERT_EQ(n, sizeof sealed);
    ASSERT_EQ(crypto_box_seal_open(plain, sealed, sizeof sealed, f->post->pk, f->post->sk), 0);
    char err[200];
    ASSERT_EQ(heartbeat_parse(plain, sizeof plain, hb, err, sizeof err), 0);
    relay_response_clear(&resp);
}

TEST(test_uploader_sends_a_heartbeat_the_post_can_open_with_the_kiosks_state)
{
    struct fx f;
    fx_init(&f, 1);
    fx_relay(&f, 0, 0);
    f.shift = 86400 + 5; /* the kiosk's clock is off: the heartbeat takes the relay's time */
    uint8_t id[16], *env;
    size_t len;
    make_tip(&f, 8, id, &env, &len);
    const char *dir = check_path("kiosk");
    ASSERT_EQ(uplink_faults_write(dir, LEDS_FAULT_NO_MICROPHONE | LEDS_FAULT_NO_SPEAKER), 0);
    struct heartbeat hb;
    uplink_heartbeat_gather(dir, f.q, (int64_t)time(NULL) + 3600, 0, 4242, &hb);
    ASSERT_EQ(hb.tips_waiting, 1);
    /* Up to 6 hours more where the queue keeps times coarse (issue 12, finding 5). */
    ASSERT(hb.oldest_waiting_s >= 3600 && hb.oldest_waiting_s < 3700 + 6 * 3600);
    ASSERT_EQ(hb.faults, LEDS_FAULT_NO_MICROPHONE | LEDS_FAULT_NO_SPEAKER);
    struct uploader *u = fx_uploader(&f, f.port, "http", 10);
    hb.sent_at = uploader_relay_time(u);
    uint8_t sealed[HEARTBEAT_SEALED_BYTES];
    char err[512] = "";
    ASSERT_EQ(heartbeat_seal(&hb, f.dev->sk, f.post->pk, sealed, err, sizeof err), 0);
    if (uploader_send_heartbeat(u, sealed, sizeof sealed, err, sizeof err))
        check_fail(__FILE__, __LINE__, "heartbeat: %s", err);
    ASSERT(llabs(uploader_clock_offset(u) - f.shift) <= 2);
    struct heartbeat got;
    int64_t received = 0;
    relay_heartbeat(&f, &got, &received);
    ASSERT_EQ(got.tips_waiting, 1);
    ASSERT_EQ(got.faults, LEDS_FAULT_NO_MICROPHONE | LEDS_FAULT_NO_SPEAKER);
    ASSERT_EQ(got.uptime_s, 4242);
    ASSERT_MEM_EQ(got.device_pk, f.dev->pk, 32);
    ASSERT_STR_EQ(got.version, HOMTHU_VERSION);
    ASSERT(llabs(received - ((int64_t)time(NULL) + f.shift)) <= 5);
    /* Nothing of the tip went: it is still waiting, its upload not begun. */
    ASSERT_EQ(tip_state(&f, id), QUEUE_SEALED);
    ASSERT_EQ(relay_count(&f, id), 0);
    /* Waited past undelivered_days: the red LED's code 5 rides along. */
    uplink_heartbeat_gather(dir, f.q, (int64_t)time(NULL) + 3 * 86400, 2, 1, &hb);
    ASSERT(hb.faults & LEDS_FAULT_UNDELIVERED);
    /* No queue: the queue fault. */
    uplink_heartbeat_gather(dir, NULL, (int64_t)time(NULL), 2, 1, &hb);
    ASSERT_EQ(hb.tips_waiting, 0);
    ASSERT(hb.faults & LEDS_FAULT_QUEUE);
    /* Wrong size: not sent. */
    ASSERT_EQ(uploader_send_heartbeat(u, sealed, sizeof sealed - 1, err, sizeof err),
              UPLOADER_E_ARG);
    uploader_free(u);
    free(env);
    fx_done(&f);
}

TEST(test_uploader_heartbeat_of_a_kiosk_not_enrolled_is_refused_clearly)
{
    struct fx f;
    fx_init(&f, 0);
    fx_relay(&f, 0, 0);
    struct uploader *u = fx_uploader(&f, f.port, "http", 10);
    struct heartbeat hb = {0};
    snprintf(hb.version, sizeof hb.version, "0.1.0");
    uint8_t sealed[HEARTBEAT_SEALED_BYTES];
    char err[512] = "";
    ASSERT_EQ(heartbeat_seal(&hb, f.dev->sk, f.post->pk, sealed, err, sizeof err), 0);
    ASSERT_EQ(uploader_send_heartbeat(u, sealed, sizeof sealed, err, sizeof err),
              UPLOADER_E_DEVICE);
    ASSERT_CONTAINS(err, "unknown device");
    uploader_free(u);
    /* Nobody listening: offline, said as such. */
    int fd;
    uint16_t port = refusing_port(&fd);
    u = fx_uploader(&f, port, "http", 10);
    ASSERT_EQ(uploader_send_heartbeat(u, sealed, sizeof sealed, err, sizeof err),
              UPLOADER_E_OFFLINE);
    close(fd);
    uploader_free(u);
    fx_done(&f);
}

TEST(test_uplink_faults_file_is_read_strictly)
{
    const char *dir = check_dir();
    unsigned f = 99;
    ASSERT_EQ(uplink_faults_read(dir, &f), -ENOENT);
    ASSERT_EQ(f, 0);
    ASSERT_EQ(uplink_faults_write(dir, LEDS_FAULT_DISK), 0);
    ASSERT_EQ(uplink_faults_read(dir, &f), 0);
    ASSERT_EQ(f, LEDS_FAULT_DISK);
    char *text = fx_text(check_path("kiosk.faults"));
    ASSERT_STR_EQ(text, "faults=4\n");
    free(text);
    const char *bad[] = {"faults=64\n", "faults=\n", "faults=1", "faults=1\nx=2\n", "fault=1\n",
                         "faults=-1\n", "faults=99999999999\n"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        check_write_file(check_path("kiosk.faults"), bad[i], strlen(bad[i]));
        ASSERT_EQ(uplink_faults_read(dir, &f), -EINVAL);
        ASSERT_EQ(f, 0);
    }
}

/* ---- a tip that keeps failing does not hold up the tips behind it (issue 12, finding 4) ---- */

static int log_pos(const char *log, const char *what, const uint8_t id[16])
{
    char hex[9], needle[96];
    sodium_bin2hex(hex, sizeof hex, id, 4);
    snprintf(needle, sizeof needle, "tip %s %s", hex, what);
    const char *p = strstr(log, needle);
    return p ? (int)(p - log) : -1;
}

/*
 * The real relay answers 409 to every creation of the oldest tip: an
 * upload of that tip id with another length is already there. Before, the
 * uploader tried the oldest tip again and again and never the others; now
 * the 409 tip is held back with its own backoff, the younger tips are
 * delivered in the queue's order, and the 409 tip stays queued, reported.
 */
TEST(test_uploader_a_409_on_the_oldest_tip_does_not_block_the_tips_behind_it)
{
    struct fx f;
    fx_init(&f, 1);
    fx_relay(&f, 0, 0);
    uint8_t a[16], b[16], c[16], *enva, *envb, *envc;
    size_t la, lb, lc;
    make_tip(&f, 8, a, &enva, &la);
    make_tip(&f, 8, b, &envb, &lb);
    make_tip(&f, 12, c, &envc, &lc);
    /* The relay gets an upload for tip a that claims one chunk more: a
     * second uploader (the same kiosk, as after a bug or a restored
     * backup) creates it and sends what the queue has, then fails on the
     * bytes that do not exist. */
    struct uploader *other = fx_uploader(&f, f.port, "http", 10);
    struct queue_tip ta;
    ASSERT_EQ(queue_get_tip(f.q, a, &ta), 0);
    ta.bytes += ENVELOPE_CHUNK_CIPHER;
    char err[512] = "";
    ASSERT_EQ(uploader_send_tip(other, f.q, &ta, NULL, err, sizeof err), UPLOADER_E_QUEUE);
    uploader_free(other);
    struct queue_tip before;
    ASSERT_EQ(queue_get_tip(f.q, a, &before), 0);

    struct uploader *u = fx_uploader(&f, f.port, "http", 10);
    volatile sig_atomic_t stop = 0;
    struct uploader_run_opts ro = {
        .exit_when_empty = 1, .max_failures = 3, .backoff_base_ms = 10, .backoff_cap_ms = 40};
    struct uploader_totals tot;
    int rc = uploader_run(u, f.q, &ro, &stop, &tot);
    if (getenv("HOMTHU_VERBOSE"))
        printf("%s", f.log);
    /* Only the 409 tip is left: the run ends on it, saying why. */
    ASSERT_EQ(rc, UPLOADER_E_PROTOCOL);
    ASSERT_EQ(tot.delivered, 2);
    ASSERT_EQ(tot.held, 1);
    ASSERT_EQ(tot.refused, 0);
    ASSERT(tot.attempts >= 5); /* a, b, c, then a again until max_failures */
    /* The tips behind it went, whole, oldest first. */
    ASSERT(tip_delivered(&f, b));
    ASSERT(tip_delivered(&f, c));
    ASSERT(relay_same(&f, b, envb, lb));
    ASSERT(relay_same(&f, c, envc, lc));
    int held = log_pos(f.log, "held back (protocol)", a), got_b = log_pos(f.log, "delivered", b),
        got_c = log_pos(f.log, "delivered", c);
    ASSERT(held >= 0 && got_b > held && got_c > got_b);
    ASSERT_CONTAINS(f.log, "(409 tip ");
    ASSERT_CONTAINS(f.log, "the tips behind it go on");
    /* The 409 tip lost nothing: still queued, every byte readable, and
     * its last failure is there for --once's report. */
    struct queue_tip after;
    ASSERT_EQ(queue_get_tip(f.q, a, &after), 0);
    ASSERT(after.state == QUEUE_SEALED || after.state == QUEUE_UPLOADING);
    ASSERT_EQ(after.bytes, before.bytes);
    uint8_t *back = malloc(la);
    size_t n = 0;
    ASSERT_EQ(queue_read(f.q, a, 0, back, la, &n, err, sizeof err), 0);
    ASSERT_EQ(n, la);
    ASSERT_MEM_EQ(back, enva, la);
    free(back);
    char why[512];
    ASSERT_EQ(uploader_last_failure(u, a, why, sizeof why, NULL), UPLOADER_E_PROTOCOL);
    ASSERT_CONTAINS(why, "409");
    ASSERT(uploader_error_is_the_tips(UPLOADER_E_PROTOCOL));
    ASSERT(!uploader_error_is_the_tips(UPLOADER_E_OFFLINE));
    ASSERT(!uploader_error_is_the_tips(UPLOADER_E_NET));
    ASSERT_EQ(relay_count(&f, b), 1);
    ASSERT_EQ(relay_count(&f, c), 1);
    uploader_free(u);
    free(enva);
    free(envb);
    free(envc);
    fx_done(&f);
}

/*
 * A small tus server in a thread (one request per connection), for what
 * the real relay never does: answer `fail_status` to every creation of
 * one tip, and take the others whole, saying Homthu-Verified when they
 * are complete. It checks no signature.
 */
struct fake_tus {
    int fd;
    uint16_t port;
    pthread_t th;
    volatile int stop;
    char fail_hex[33];
    int fail_status;
    volatile unsigned failed; /* creations of that tip answered fail_status */
    struct {
        char hex[33];
        uint64_t len, got;
        uint8_t *data;
    } up[8];
    int nup;
};

static const char *fake_header(const char *head, const char *name)
{
    size_t n = strlen(name);
    for (const char *p = strstr(head, "\r\n"); p; p = strstr(p + 2, "\r\n"))
        if (strncasecmp(p + 2, name, n) == 0 && p[2 + n] == ':')
            return p + 3 + n + strspn(p + 3 + n, " ");
    return NULL;
}

static void fake_answer(int fd, int status, const char *headers)
{
    char out[1024];
    int n = snprintf(out, sizeof out,
                     "HTTP/1.1 %d Fake\r\nTus-Resumable: 1.0.0\r\n%sContent-Length: 0\r\n"
                     "Connection: close\r\n\r\n",
                     status, headers);
    if (n > 0 && write(fd, out, (size_t)n) < 0)
        return;
}

static void fake_one(struct fake_tus *ft, int fd)
{
    char head[8192];
    size_t len = 0;
    char *end = NULL;
    while (!end && len < sizeof head - 1) {
        ssize_t r = read(fd, head + len, sizeof head - 1 - len);
        if (r <= 0)
            return; /* the uploader's probe connects and goes */
        len += (size_t)r;
        head[len] = 0;
        end = strstr(head, "\r\n\r\n");
    }
    if (!end)
        return;
    size_t have = len - (size_t)(end + 4 - head);
    char method[8] = "", path[128] = "";
    sscanf(head, "%7s %127s", method, path);
    const char *cl = fake_header(head, "Content-Length");
    uint64_t body_len = cl ? strtoull(cl, NULL, 10) : 0;
    const char *name = strncmp(path, "/files/", 7) == 0 ? path + 7 : "";
    char hdr[512];
    if (strcmp(method, "POST") == 0) {
        const char *meta = fake_header(head, "Upload-Metadata");
        const char *ul = fake_header(head, "Upload-Length");
        char hex[33] = "";
        size_t hl = 0;
        if (meta && strncmp(meta, "tipid ", 6) == 0)
            (void)sodium_base642bin((uint8_t *)hex, 32, meta + 6, strcspn(meta + 6, "\r"), NULL,
                                    &hl, NULL, sodium_base64_VARIANT_ORIGINAL);
        hex[hl == 32 ? 32 : 0] = 0;
        if (!hex[0] || !ul) {
            fake_answer(fd, 400, "");
            return;
        }
        if (strcmp(hex, ft->fail_hex) == 0) {
            ft->failed++;
            fake_answer(fd, ft->fail_status, "");
            return;
        }
        int i = 0;
        while (i < ft->nup && strcmp(ft->up[i].hex, hex) != 0)
            i++;
        if (i == ft->nup) {
            if (ft->nup == 8) {
                fake_answer(fd, 507, "");
                return;
            }
            snprintf(ft->up[i].hex, sizeof ft->up[i].hex, "%s", hex);
            ft->up[i].len = strtoull(ul, NULL, 10);
            ft->up[i].got = 0;
            ft->up[i].data = malloc(ft->up[i].len);
            ft->nup++;
        }
        snprintf(hdr, sizeof hdr, "Location: /files/%s\r\nUpload-Offset: %" PRIu64 "\r\n", hex,
                 ft->up[i].got);
        fake_answer(fd, 201, hdr);
        return;
    }
    int i = 0;
    while (i < ft->nup && strcmp(ft->up[i].hex, name) != 0)
        i++;
    if (i == ft->nup) {
        fake_answer(fd, 404, "");
        return;
    }
    if (strcmp(method, "PATCH") == 0) {
        const char *uo = fake_header(head, "Upload-Offset");
        if (!uo || strtoull(uo, NULL, 10) != ft->up[i].got ||
            body_len > ft->up[i].len - ft->up[i].got) {
            fake_answer(fd, 409, "");
            return;
        }
        uint8_t *dst = ft->up[i].data + ft->up[i].got;
        memcpy(dst, end + 4, have < body_len ? have : body_len);
        for (uint64_t at = have; at < body_len;) {
            ssize_t r = read(fd, dst + at, (size_t)(body_len - at));
            if (r <= 0)
                return; /* cut: keeps nothing of this PATCH */
            at += (uint64_t)r;
        }
        ft->up[i].got += body_len;
    } else if (strcmp(method, "HEAD") != 0) {
        fake_answer(fd, 405, "");
        return;
    }
    snprintf(hdr, sizeof hdr, "Upload-Offset: %" PRIu64 "\r\nUpload-Length: %" PRIu64 "\r\n%s",
             ft->up[i].got, ft->up[i].len,
             ft->up[i].got == ft->up[i].len ? "Homthu-Verified: yes\r\n" : "");
    fake_answer(fd, strcmp(method, "HEAD") == 0 ? 200 : 204, hdr);
}

static void *fake_main(void *arg)
{
    struct fake_tus *ft = arg;
    while (!ft->stop) {
        struct pollfd pfd = {.fd = ft->fd, .events = POLLIN};
        if (poll(&pfd, 1, 100) <= 0)
            continue;
        int c = accept(ft->fd, NULL, NULL);
        if (c < 0)
            continue;
        struct timeval tv = {.tv_sec = 5};
        setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        fake_one(ft, c);
        close(c);
    }
    return NULL;
}

static void fake_start(struct fake_tus *ft)
{
    ft->fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t l = sizeof sa;
    ASSERT(ft->fd >= 0 && bind(ft->fd, (struct sockaddr *)&sa, sizeof sa) == 0 &&
           listen(ft->fd, 16) == 0);
    getsockname(ft->fd, (struct sockaddr *)&sa, &l);
    ft->port = ntohs(sa.sin_port);
    ASSERT_EQ(pthread_create(&ft->th, NULL, fake_main, ft), 0);
}

static void fake_stop(struct fake_tus *ft)
{
    ft->stop = 1;
    pthread_join(ft->th, NULL);
    close(ft->fd);
}

/* What the fake server holds of tip `id`: 1 when it is all of `env`. */
static int fake_same(struct fake_tus *ft, const uint8_t id[16], const uint8_t *env, size_t len)
{
    char hex[33];
    sodium_bin2hex(hex, sizeof hex, id, 16);
    for (int i = 0; i < ft->nup; i++)
        if (strcmp(ft->up[i].hex, hex) == 0)
            return ft->up[i].len == len && ft->up[i].got == len &&
                   memcmp(ft->up[i].data, env, len) == 0;
    return 0;
}

/*
 * A server error that only the oldest tip ever meets (500 on its creation,
 * every time) looks like a bad link at first: the queue waits, as for any
 * network failure. After UPLOADER_TIP_STRIKES of them on that tip alone it
 * is held back, and the tips behind it go.
 */
TEST(test_uploader_an_error_that_repeats_on_the_oldest_tip_only_lets_the_others_go)
{
    struct fx f;
    fx_init(&f, 1);
    uint8_t a[16], b[16], c[16], *enva, *envb, *envc;
    size_t la, lb, lc;
    make_tip(&f, 8, a, &enva, &la);
    make_tip(&f, 8, b, &envb, &lb);
    make_tip(&f, 8, c, &envc, &lc);
    struct fake_tus *ft = calloc(1, sizeof *ft);
    ASSERT(ft);
    sodium_bin2hex(ft->fail_hex, sizeof ft->fail_hex, a, 16);
    ft->fail_status = 500;
    fake_start(ft);
    struct uploader *u = fx_uploader(&f, ft->port, "http", 10);
    volatile sig_atomic_t stop = 0;
    struct uploader_run_opts ro = {.exit_when_empty = 1,
                                   .max_failures = 2 * UPLOADER_TIP_STRIKES,
                                   .backoff_base_ms = 10,
                                   .backoff_cap_ms = 40};
    struct uploader_totals tot;
    int rc = uploader_run(u, f.q, &ro, &stop, &tot);
    fake_stop(ft);
    if (getenv("HOMTHU_VERBOSE"))
        printf("%s", f.log);
    if (tot.delivered != 2) {
        char why[512];
        for (int i = 0; i < 3; i++) {
            int code = uploader_last_failure(u, i == 0 ? a : i == 1 ? b : c, why, sizeof why, NULL);
            printf("    tip %d: %s: %s\n", i, uploader_strerror(code), why);
        }
    }
    ASSERT_EQ(rc, UPLOADER_E_NET);
    ASSERT_EQ(tot.delivered, 2);
    ASSERT_EQ(tot.held, 1);
    ASSERT(fake_same(ft, b, envb, lb));
    ASSERT(fake_same(ft, c, envc, lc));
    ASSERT(tip_delivered(&f, b));
    ASSERT(tip_delivered(&f, c));
    /* It was tried UPLOADER_TIP_STRIKES times before the others went. */
    int held = log_pos(f.log, "held back (network)", a), got_b = log_pos(f.log, "delivered", b);
    ASSERT(held >= 0 && got_b > held);
    ASSERT(ft->failed >= UPLOADER_TIP_STRIKES + 1);
    ASSERT_EQ(tip_state(&f, a), QUEUE_SEALED);
    char why[512];
    ASSERT_EQ(uploader_last_failure(u, a, why, sizeof why, NULL), UPLOADER_E_NET);
    ASSERT_CONTAINS(why, "500");
    for (int i = 0; i < ft->nup; i++)
        free(ft->up[i].data);
    free(ft);
    uploader_free(u);
    free(enva);
    free(envb);
    free(envc);
    fx_done(&f);
}

/* A failure of the link is not a tip's: with the relay down, no younger tip is tried. */
TEST(test_uploader_a_down_relay_holds_the_whole_queue_back_not_one_tip)
{
    struct fx f;
    fx_init(&f, 1);
    int held_fd;
    uint16_t port = refusing_port(&held_fd);
    uint8_t a[16], b[16], *enva, *envb;
    size_t la, lb;
    make_tip(&f, 8, a, &enva, &la);
    make_tip(&f, 8, b, &envb, &lb);
    struct uploader *u = fx_uploader(&f, port, "http", 10);
    volatile sig_atomic_t stop = 0;
    struct uploader_run_opts ro = {.exit_when_empty = 1,
                                   .max_failures = 2 * UPLOADER_TIP_STRIKES,
                                   .backoff_base_ms = 5,
                                   .backoff_cap_ms = 20,
                                   .probe_seconds = 1};
    struct uploader_totals tot;
    ASSERT_EQ(uploader_run(u, f.q, &ro, &stop, &tot), UPLOADER_E_OFFLINE);
    close(held_fd);
    ASSERT_EQ(tot.held, 0);
    ASSERT_EQ(tot.attempts, 2 * UPLOADER_TIP_STRIKES);
    /* Every attempt was on the oldest tip; the younger one was never tried. */
    ASSERT_EQ(uploader_last_failure(u, a, NULL, 0, NULL), UPLOADER_E_OFFLINE);
    ASSERT_EQ(uploader_last_failure(u, b, NULL, 0, NULL), 0);
    ASSERT(!strstr(f.log, "held back"));
    uploader_free(u);
    free(enva);
    free(envb);
    fx_done(&f);
}

/* ---- a relay without TLS (issue 12, finding 3, the kiosk's side) ---- */

TEST(test_uploader_tells_tls_loopback_and_plain_http_apart)
{
    static const struct {
        const char *url;
        int kind;
    } cases[] = {
        {"https://relay.example.org/", UPLOADER_URL_TLS},
        {"HTTPS://relay.example.org:8443/x/", UPLOADER_URL_TLS},
        {"http://relay.example.org/", UPLOADER_URL_PLAIN},
        {"http://10.0.2.2:8787/", UPLOADER_URL_PLAIN},
        {"http://192.168.1.10/", UPLOADER_URL_PLAIN},
        {"http://128.0.0.1/", UPLOADER_URL_PLAIN},
        {"http://127.0.0.1.evil.example/", UPLOADER_URL_PLAIN},
        {"http://localhost.evil.example/", UPLOADER_URL_PLAIN},
        {"http://[::ffff:127.0.0.1]/", UPLOADER_URL_PLAIN}, /* not worth the doubt */
        {"http://[2001:db8::1]:80/", UPLOADER_URL_PLAIN},
        {"http://127.0.0.1:8787/", UPLOADER_URL_LOOPBACK},
        {"http://127.9.8.7/", UPLOADER_URL_LOOPBACK},
        {"http://localhost:8787/", UPLOADER_URL_LOOPBACK},
        {"http://LocalHost/", UPLOADER_URL_LOOPBACK},
        {"http://[::1]:8787/", UPLOADER_URL_LOOPBACK},
        {"ftp://relay.example.org/", UPLOADER_URL_BAD},
        {"http://", UPLOADER_URL_BAD},
        {"relay.example.org", UPLOADER_URL_BAD},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int k = uploader_url_kind(cases[i].url);
        if (k != cases[i].kind)
            check_fail(__FILE__, __LINE__, "%s: kind %d, not %d", cases[i].url, k, cases[i].kind);
    }
}

TEST(test_uploader_refuses_a_plain_http_relay_unless_told_plainly)
{
    uint8_t sk[64], pk[32];
    crypto_sign_keypair(pk, sk);
    char err[512] = "";
    struct uploader *u = NULL;
    struct uploader_opts o = {.relay_url = "http://relay.example.org/", .device_sk = sk};
    ASSERT_EQ(uploader_new(&u, &o, err, sizeof err), UPLOADER_E_ARG);
    ASSERT(u == NULL);
    ASSERT_CONTAINS(err, "is plain http to another machine");
    ASSERT_CONTAINS(err, "relay_insecure_http = true");
    ASSERT_CONTAINS(err, "--insecure-http");
    /* Told plainly: accepted. */
    o.insecure_http = 1;
    ASSERT_EQ(uploader_new(&u, &o, err, sizeof err), 0);
    uploader_free(u);
    u = NULL;
    /* https, and a relay on this machine (make run, the tests): no leave needed. */
    o.insecure_http = 0;
    const char *fine[] = {"https://relay.example.org/", "http://127.0.0.1:8787/",
                          "http://localhost:8787/", "http://[::1]:8787/"};
    for (size_t i = 0; i < sizeof fine / sizeof fine[0]; i++) {
        o.relay_url = fine[i];
        if (uploader_new(&u, &o, err, sizeof err))
            check_fail(__FILE__, __LINE__, "%s: %s", fine[i], err);
        uploader_free(u);
        u = NULL;
    }
    sodium_memzero(sk, sizeof sk);
}

/* The build folder as an absolute path (the programs are run from elsewhere). */
static const char *fx_build_abs(void)
{
    static char abs[4096];
    if (!realpath(check_build(), abs))
        snprintf(abs, sizeof abs, "%s", check_build());
    return abs;
}

/* homthu-uplink itself: a kiosk.conf with a plain http relay elsewhere. */
TEST(test_uplink_refuses_a_plain_http_relay_and_sends_nothing_unless_told)
{
    const char *d = check_dir(), *b = fx_build_abs();
    /* TEST-NET-1: nothing answers there; a connect would only time out. */
    ASSERT_EQ(check_sh("'%s/helpers/uplink_fixture' '%s/k' http://192.0.2.1:9/ 1 8 "
                       "uplink_connect_timeout_s=1 uplink_backoff_base_ms=10 "
                       "uplink_backoff_cap_ms=20 >/dev/null 2>&1",
                       b, d),
              0);
    int rc = check_sh("cd '%s/k/kiosk' && '%s/homthu-uplink' --config kiosk.conf --once "
                      "--heartbeat-minutes 0 >'%s/refused.log' 2>&1",
                      d, b, d);
    char *log = fx_text(check_path("refused.log"));
    ASSERT(log);
    if (rc != 1)
        check_fail(__FILE__, __LINE__, "exit %d, not 1:\n%s", rc, log);
    ASSERT_CONTAINS(log, "is plain http to another machine");
    ASSERT(!strstr(log, "delivering to"));
    free(log);
    /* --insecure-http: it goes on (and finds nobody there). */
    rc = check_sh("cd '%s/k/kiosk' && '%s/homthu-uplink' --config kiosk.conf --once "
                  "--max-failures 1 --heartbeat-minutes 0 --insecure-http >'%s/told.log' 2>&1",
                  d, b, d);
    log = fx_text(check_path("told.log"));
    ASSERT(log);
    if (rc != 3)
        check_fail(__FILE__, __LINE__, "exit %d, not 3:\n%s", rc, log);
    ASSERT_CONTAINS(log, "delivering to http://192.0.2.1:9/");
    ASSERT_CONTAINS(log, "1 tip not delivered");
    free(log);
}

/* homthu-provision kiosk-new: a plain http relay is refused, warned of when allowed. */
TEST(test_provision_kiosk_new_refuses_a_plain_http_relay_unless_told)
{
    const char *d = check_dir(), *b = fx_build_abs();
    ASSERT_EQ(check_sh("HOMTHU_PWHASH=min HOMTHU_PASSPHRASE='a long passphrase' "
                       "'%s/homthu-provision' post-init --dir '%s/post' >/dev/null 2>&1",
                       b, d),
              0);
    int rc = check_sh("'%s/homthu-provision' kiosk-new --post '%s/post' --id na-co-sa-01 "
                      "--out '%s/c1' --relay http://relay.example.org/ >'%s/out1' 2>&1",
                      b, d, d, d);
    char *out = fx_text(check_path("out1"));
    ASSERT(out);
    if (rc != 1)
        check_fail(__FILE__, __LINE__, "exit %d, not 1:\n%s", rc, out);
    ASSERT_CONTAINS(out, "--relay http://relay.example.org/ is plain http");
    ASSERT_CONTAINS(out, "Use https://");
    ASSERT_CONTAINS(out, "--insecure-http");
    free(out);
    /* Nothing made, nobody enrolled: the id is still free. */
    ASSERT(access(check_path("c1"), F_OK) != 0);

    /* Told plainly: made, with a warning on the terminal and in kiosk.conf. */
    rc = check_sh("'%s/homthu-provision' kiosk-new --post '%s/post' --id na-co-sa-01 "
                  "--out '%s/c2' --relay http://relay.example.org/ --insecure-http "
                  ">'%s/out2' 2>'%s/err2'",
                  b, d, d, d, d);
    char *err = fx_text(check_path("err2")), *conf = fx_text(check_path("c2/kiosk.conf"));
    ASSERT(err && conf);
    if (rc != 0)
        check_fail(__FILE__, __LINE__, "exit %d, not 0:\n%s", rc, err);
    ASSERT_CONTAINS(err, "WARNING: --relay http://relay.example.org/ is plain http");
    ASSERT_CONTAINS(conf, "\nrelay_url = http://relay.example.org/\n# WARNING: plain http");
    free(err);
    free(conf);

    /* A relay on this machine (make run): made, with a note, no leave needed. */
    rc = check_sh("'%s/homthu-provision' kiosk-new --post '%s/post' --id na-co-sa-02 "
                  "--out '%s/c3' --relay http://127.0.0.1:8787/ >'%s/out3' 2>'%s/err3'",
                  b, d, d, d, d);
    err = fx_text(check_path("err3"));
    conf = fx_text(check_path("c3/kiosk.conf"));
    ASSERT(err && conf);
    ASSERT_EQ(rc, 0);
    ASSERT_CONTAINS(err, "plain http to this machine (loopback)");
    ASSERT(!strstr(conf, "WARNING"));
    free(err);
    free(conf);

    /* https: not a word. */
    rc = check_sh("'%s/homthu-provision' kiosk-new --post '%s/post' --id na-co-sa-03 "
                  "--out '%s/c4' --relay https://relay.example.org/ >'%s/out4' 2>'%s/err4'",
                  b, d, d, d, d);
    err = fx_text(check_path("err4"));
    ASSERT(err);
    ASSERT_EQ(rc, 0);
    ASSERT_STR_EQ(err, "");
    free(err);
}

/* ---- a byte flipped in transit (issue 12, finding 3) ---- */

/*
 * An in-process TCP proxy that changes one byte of a PATCH body: at body
 * byte `at` of the second PATCH after each POST (mid-envelope, inside a
 * chunk's ciphertext), for the first `flips` uploads; or, with `every`,
 * of every PATCH. The kiosk signs a digest of each piece of its PATCHes
 * (Homthu-Pieces), so the relay drops the changed piece and what follows
 * it (460) and keeps the pieces before. It also counts the PATCH body
 * bytes it passed on, as an outside measure of what was sent.
 */
struct flipper {
    int lfd;
    uint16_t port, target;
    atomic_int stop;
    pthread_t acceptor;
    pthread_mutex_t lock;
    int flips;                  /* flips still to make */
    int flipped;                /* flips made */
    unsigned long long at;      /* the body byte changed */
    int every;                  /* every PATCH, not only the second after a POST */
    unsigned patches_since_post;
    unsigned long long patch_body; /* PATCH body bytes passed to the relay */
    pthread_t conns[64];
    int nconns;
};

struct flip_conn {
    struct flipper *p;
    int cfd, rfd;
    /* the kiosk's stream, parsed: a head, then Content-Length bytes of body */
    char head[4096];
    size_t hlen;
    unsigned long long body_left, body_pos;
    int is_patch, flip_here;
};

static int flip_write_all(int fd, const uint8_t *b, size_t n)
{
    while (n) {
        ssize_t k = send(fd, b, n, MSG_NOSIGNAL);
        if (k <= 0)
            return -1;
        b += k;
        n -= (size_t)k;
    }
    return 0;
}

/* A request head is complete in c->head: what its body is. */
static void flip_head(struct flip_conn *c)
{
    struct flipper *p = c->p;
    c->head[c->hlen] = '\0';
    c->body_pos = 0;
    c->body_left = 0;
    const char *cl = strcasestr(c->head, "\r\ncontent-length:");
    if (cl)
        c->body_left = strtoull(cl + 17, NULL, 10);
    c->is_patch = strncmp(c->head, "PATCH ", 6) == 0;
    c->flip_here = 0;
    pthread_mutex_lock(&p->lock);
    if (strncmp(c->head, "POST /files", 11) == 0)
        p->patches_since_post = 0;
    if (c->is_patch && (++p->patches_since_post == 2 || p->every) && p->flips > 0 &&
        c->body_left > p->at) {
        p->flips--;
        c->flip_here = 1;
    }
    pthread_mutex_unlock(&p->lock);
    c->hlen = 0;
}

/* Bytes from the kiosk, on their way to the relay: parsed, and changed where chosen. */
static void flip_pass(struct flip_conn *c, uint8_t *b, size_t n)
{
    struct flipper *p = c->p;
    for (size_t i = 0; i < n;) {
        if (c->body_left == 0) {
            if (c->hlen < sizeof c->head - 1)
                c->head[c->hlen++] = (char)b[i];
            i++;
            if (c->hlen >= 4 && memcmp(c->head + c->hlen - 4, "\r\n\r\n", 4) == 0)
                flip_head(c);
            continue;
        }
        size_t k = n - i < c->body_left ? n - i : (size_t)c->body_left;
        if (c->flip_here && c->body_pos <= p->at && p->at < c->body_pos + k) {
            b[i + (p->at - c->body_pos)] ^= 0x01;
            c->flip_here = 0;
            pthread_mutex_lock(&p->lock);
            p->flipped++;
            pthread_mutex_unlock(&p->lock);
        }
        if (c->is_patch) {
            pthread_mutex_lock(&p->lock);
            p->patch_body += k;
            pthread_mutex_unlock(&p->lock);
        }
        c->body_pos += k;
        c->body_left -= k;
        i += k;
    }
}

static void *flip_conn_main(void *arg)
{
    struct flip_conn *c = arg;
    uint8_t buf[16384];
    struct pollfd pf[2] = {{.fd = c->cfd, .events = POLLIN}, {.fd = c->rfd, .events = POLLIN}};
    while (!atomic_load(&c->p->stop)) {
        if (poll(pf, 2, 100) <= 0)
            continue;
        if (pf[0].revents) {
            ssize_t k = recv(c->cfd, buf, sizeof buf, 0);
            if (k <= 0)
                break;
            flip_pass(c, buf, (size_t)k);
            if (flip_write_all(c->rfd, buf, (size_t)k))
                break;
        }
        if (pf[1].revents) {
            ssize_t k = recv(c->rfd, buf, sizeof buf, 0);
            if (k <= 0 || flip_write_all(c->cfd, buf, (size_t)k))
                break;
        }
    }
    close(c->cfd);
    close(c->rfd);
    free(c);
    return NULL;
}

static void *flip_accept_main(void *arg)
{
    struct flipper *p = arg;
    struct pollfd pf = {.fd = p->lfd, .events = POLLIN};
    while (!atomic_load(&p->stop)) {
        if (poll(&pf, 1, 100) <= 0)
            continue;
        int cfd = accept(p->lfd, NULL, NULL);
        if (cfd < 0)
            continue;
        int rfd = socket(AF_INET, SOCK_STREAM, 0);
        struct sockaddr_in a = {.sin_family = AF_INET,
                                .sin_port = htons(p->target),
                                .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
        struct flip_conn *c = calloc(1, sizeof *c);
        if (rfd < 0 || !c || p->nconns == 64 ||
            connect(rfd, (struct sockaddr *)&a, sizeof a) != 0) {
            close(cfd);
            if (rfd >= 0)
                close(rfd);
            free(c);
            continue;
        }
        c->p = p;
        c->cfd = cfd;
        c->rfd = rfd;
        if (pthread_create(&p->conns[p->nconns], NULL, flip_conn_main, c) != 0) {
            close(cfd);
            close(rfd);
            free(c);
            continue;
        }
        p->nconns++;
    }
    return NULL;
}

static void flipper_start(struct flipper *p, uint16_t target, int flips)
{
    memset(p, 0, sizeof *p);
    pthread_mutex_init(&p->lock, NULL);
    p->target = target;
    p->flips = flips;
    p->at = 1000;
    p->lfd = socket(AF_INET, SOCK_STREAM, 0);
    ASSERT(p->lfd >= 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    ASSERT_EQ(bind(p->lfd, (struct sockaddr *)&a, sizeof a), 0);
    ASSERT_EQ(listen(p->lfd, 16), 0);
    socklen_t al = sizeof a;
    ASSERT_EQ(getsockname(p->lfd, (struct sockaddr *)&a, &al), 0);
    p->port = ntohs(a.sin_port);
    ASSERT_EQ(pthread_create(&p->acceptor, NULL, flip_accept_main, p), 0);
}

/* Stop it (the uploader freed first, so its connections are closed). */
static void flipper_stop(struct flipper *p)
{
    atomic_store(&p->stop, 1);
    pthread_join(p->acceptor, NULL);
    for (int i = 0; i < p->nconns; i++)
        pthread_join(p->conns[i], NULL);
    close(p->lfd);
    pthread_mutex_destroy(&p->lock);
}

TEST(test_uploader_a_byte_flipped_in_transit_costs_only_the_pieces_from_it_on)
{
    struct fx f;
    fx_init(&f, 1);
    fx_relay(&f, 0, 0);
    uint8_t id[16], *env;
    size_t len;
    make_tip(&f, 16, id, &env, &len);
    struct flipper p;
    flipper_start(&p, f.port, 1);
    /* Inside the third chunk of the second PATCH (4 chunks each). */
    p.at = 2 * ENVELOPE_CHUNK_CIPHER + 1000;
    struct uploader *u = fx_uploader(&f, p.port, "http", 10);
    volatile sig_atomic_t stop = 0;
    struct uploader_run_opts ro = {
        .exit_when_empty = 1, .max_failures = 3, .backoff_base_ms = 10, .backoff_cap_ms = 50};
    struct uploader_totals tot;
    int rc = uploader_run(u, f.q, &ro, &stop, &tot);
    uploader_free(u);
    flipper_stop(&p);
    printf("    %d byte flipped: %" PRIu64 " of envelope sent for %zu (proxy: %llu), %" PRIu64
           " re-sent\n",
           p.flipped, tot.body_sent, len, p.patch_body, tot.bytes_resent);
    ASSERT_EQ(p.flipped, 1); /* the test did change a byte */
    ASSERT_EQ(rc, 0);
    /* The relay dropped the changed chunk and the one after it, kept the two before. */
    ASSERT_CONTAINS(f.relay_log, ": 460 checksum mismatch: piece 3 of this PATCH");
    ASSERT(strstr(f.relay_log, "refused (422") == NULL);
    ASSERT_CONTAINS(f.log, "(460): sending them again");
    ASSERT_EQ(tot.delivered, 1);
    ASSERT_EQ(tot.refused, 0);
    ASSERT(tip_delivered(&f, id));
    /* The post gets exactly the envelope the kiosk sealed, once. */
    ASSERT_EQ(relay_count(&f, id), 1);
    ASSERT(relay_same(&f, id, env, len));
    /* Only the two dropped chunks went again, and count as re-sent: the
     * kiosk's figures are what the proxy passed on. */
    ASSERT_EQ(tot.body_sent, (uint64_t)len + 2 * ENVELOPE_CHUNK_CIPHER);
    ASSERT_EQ(tot.body_sent, p.patch_body);
    ASSERT_EQ(tot.bytes_resent, 2 * (uint64_t)ENVELOPE_CHUNK_CIPHER);
    free(env);
    fx_done(&f);
}

/* A link that changes every PATCH: the attempt ends as a network fault, the tip stays queued. */
TEST(test_uploader_a_link_that_changes_every_patch_keeps_the_tip_queued)
{
    struct fx f;
    fx_init(&f, 1);
    fx_relay(&f, 0, 0);
    uint8_t id[16], *env;
    size_t len;
    make_tip(&f, 16, id, &env, &len);
    struct flipper p;
    flipper_start(&p, f.port, 1000);
    p.every = 1;
    struct uploader *u = fx_uploader(&f, p.port, "http", 10);
    struct queue_tip t;
    ASSERT_EQ(queue_get_tip(f.q, id, &t), 0);
    struct uploader_report rep = {0};
    char err[512] = "";
    int rc = uploader_send_tip(u, f.q, &t, &rep, err, sizeof err);
    uploader_free(u);
    flipper_stop(&p);
    ASSERT_EQ(rc, UPLOADER_E_NET);
    ASSERT_CONTAINS(err, "changed tip");
    ASSERT_CONTAINS(err, "4 times in a row (460)");
    ASSERT_EQ(p.flipped, 4);
    ASSERT_EQ(rep.created, 1);
    /* Nothing is ever served to the post; the kiosk keeps its copy to send later. */
    ASSERT_EQ(relay_count(&f, id), 0);
    ASSERT(!tip_delivered(&f, id));
    ASSERT_EQ(queue_get_tip(f.q, id, &t), 0);
    ASSERT(t.state == QUEUE_SEALED || t.state == QUEUE_UPLOADING);
    free(env);
    fx_done(&f);
}

/* A queue sink that changes one byte of chunk 3 on its way into the queue. */
static int spoiling_sink(void *ctx, enum envelope_piece kind, uint32_t index, const uint8_t *bytes,
                         size_t len)
{
    static uint8_t copy[ENVELOPE_CHUNK_CIPHER + ENVELOPE_HEADER_BYTES];
    if (kind == PIECE_CHUNK && index == 3 && len <= sizeof copy) {
        memcpy(copy, bytes, len);
        copy[100] ^= 0x01;
        bytes = copy;
    }
    return queue_envelope_sink(ctx, kind, index, bytes, len);
}

/*
 * An envelope spoiled before it was queued is refused by the relay at
 * completion (422) every time it is sent: sent whole 3 times, then set aside.
 */
TEST(test_uploader_sets_a_tip_aside_after_three_refusals)
{
    struct fx f;
    fx_init(&f, 1);
    fx_relay(&f, 0, 0);
    char err[512] = "";
    struct envelope_meta meta = {.language = "vi", .category = CATEGORY_OTHER};
    struct queue_sink sink = {.q = f.q, .now = (int64_t)time(NULL), .clock_trusted = 1};
    struct envelope_writer *w = NULL;
    uint8_t id[16];
    ASSERT_EQ(envelope_writer_new(&w, f.post->pk, f.dev->sk, &meta, spoiling_sink, &sink, id, err,
                                  sizeof err),
              0);
    static char text[30000];
    memset(text, 'x', sizeof text);
    ASSERT_EQ(envelope_write_text(w, text, sizeof text), 0);
    ASSERT_EQ(envelope_writer_finish(w, err, sizeof err), 0);
    envelope_writer_free(w);
    struct queue_tip t;
    ASSERT_EQ(queue_get_tip(f.q, id, &t), 0);
    ASSERT(t.chunks > 4);
    uint64_t len = t.bytes;
    struct uploader *u = fx_uploader(&f, f.port, "http", 10);
    struct uploader_report rep = {0};
    int rc = uploader_send_tip(u, f.q, &t, &rep, err, sizeof err);
    uploader_free(u);
    ASSERT_EQ(rc, UPLOADER_E_REFUSED);
    ASSERT_CONTAINS(err, "422");
    ASSERT_CONTAINS(f.relay_log, "refused (422");
    ASSERT_CONTAINS(f.relay_log, "creates it again after a refusal");
    ASSERT_CONTAINS(f.log, "sending it whole again");
    ASSERT_EQ(rep.created, 3);
    ASSERT_EQ(rep.body_sent, 3 * len);
    ASSERT_EQ(rep.bytes_resent, 2 * len);
    /* Nothing refused is ever served to the post; the kiosk keeps its copy. */
    ASSERT_EQ(relay_count(&f, id), 0);
    ASSERT(!tip_delivered(&f, id));
    fx_done(&f);
}
