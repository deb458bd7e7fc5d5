/*
 * kiosk_swarm — many kiosks uploading at once through one relay URL, each
 * the way a real kiosk does it, for the province relay's fault tests
 * (tests/t_province_faults.sh, issue 14) and its benchmark.
 *
 *   kiosk_swarm --relay URL --post-pub post.pub --token POST_TOKEN
 *               --dir DIR --out FILE [--kiosks N] [--tips M] [--chunks C]
 *               [--prefix ID] [--deadline SECONDS] [--no-enrol]
 *               [--chunks-per-patch K] [--quiet]
 *
 * N kiosks, each a thread with its own Ed25519 device key (made here), its
 * own queue (src/core/queue.h, SQLite) in DIR/<kiosk id>/, and M real
 * envelopes (src/core/envelope.h's writer, sealed to post.pub, signed by
 * the kiosk's key, about C chunks of text: at least ENVELOPE_MIN_CHUNKS
 * after padding) sealed into that queue before any upload starts.
 *
 * Enrolment: first, every kiosk is enrolled through the post API with the
 * post's token (POST /post/kiosks, "id=<kiosk id>\nkey=<base64 key>\n",
 * docs/relay-protocol.md), each tried again until the relay answers 204 or
 * the deadline passes. --no-enrol skips it (the relay enrols them some
 * other way: none does today). Kiosk ids are <prefix>-<n>, n from 1.
 *
 * Upload: each kiosk sends with the project's uploader (uploader_send_tip,
 * plain http allowed as homthu-uplink --insecure-http does), its tips
 * oldest first, and after any failed send (a cut link, a 5xx, a 503 while
 * no relay node answers, a 409) waits a short full-jitter backoff
 * (uploader_backoff_ms, 50 ms doubling to 1 s) and tries again, until all
 * its tips are delivered or the deadline passes. When the uploader says the
 * relay answered verified, the kiosk marks the tip delivered in its queue,
 * which deletes its bytes there (queue_set_delivered, as homthu-uplink
 * does): a tip the relay acknowledged and then lost is gone for good.
 *
 * Output (FILE, one line each, written and flushed the moment the uploader
 * said so, so a reader may watch it grow):
 *   tip <kiosk id> <tip id hex> <envelope bytes> <BLAKE2b-256 hex of the envelope>
 * then, at the end:
 *   summary kiosks N enrolled E tips T verified V failed_kiosks F attempts A
 *   send_failures X seconds S
 * A kiosk that did not finish by the deadline also writes
 *   unfinished <kiosk id> <tips left> <the last failure's sentence>
 * Exit: 0 when every tip was verified, 1 when some were not, 2 bad usage.
 *
 * Nothing of a tip's content is printed: ids, sizes and digests only.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <sodium.h>

#include "core/envelope.h"
#include "core/keys.h"
#include "core/queue.h"
#include "delivery/uploader.h"

#define PROG "kiosk_swarm"

struct swarm {
    const char *relay, *token, *dir, *prefix;
    uint8_t post_pk[32];
    int kiosks, tips, chunks, enrol, quiet;
    unsigned chunks_per_patch;
    double deadline; /* monotonic seconds */
    FILE *out;
    pthread_mutex_t lock; /* out, the totals */
    pthread_barrier_t ready;
    int enrolled, verified, failed_kiosks;
    uint64_t attempts, failures;
};

struct kiosk {
    struct swarm *s;
    int n;
    char id[40];
    struct keys_device *dev;
    struct queue *q;
    int tips_made;
    char last_err[300];
};

static double mono(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void sleep_ms(uint64_t ms)
{
    struct timespec ts = {.tv_sec = (time_t)(ms / 1000), .tv_nsec = (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
        ;
}

static void say(struct kiosk *k, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void say(struct kiosk *k, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(k->last_err, sizeof k->last_err, fmt, ap);
    va_end(ap);
    if (!k->s->quiet)
        fprintf(stderr, PROG ": %s: %s\n", k->id, k->last_err);
}

static void uploader_log(void *ctx, const char *line)
{
    struct kiosk *k = ctx;
    if (getenv("HOMTHU_VERBOSE"))
        fprintf(stderr, PROG ": %s: %s\n", k->id, line);
}

static size_t discard(char *p, size_t size, size_t n, void *ctx)
{
    (void)p;
    (void)ctx;
    return size * n;
}

/* POST /post/kiosks once: the HTTP status, 0 when the relay was not reached. */
static long enrol_once(struct kiosk *k)
{
    struct swarm *s = k->s;
    char url[600], auth[400], b64[64], body[160];
    const char *slash = s->relay[strlen(s->relay) - 1] == '/' ? "" : "/";
    snprintf(url, sizeof url, "%s%spost/kiosks", s->relay, slash);
    snprintf(auth, sizeof auth, "Authorization: Bearer %s", s->token);
    sodium_bin2base64(b64, sizeof b64, k->dev->pk, 32, sodium_base64_VARIANT_ORIGINAL);
    snprintf(body, sizeof body, "id=%s\nkey=%s\n", k->id, b64);
    CURL *c = curl_easy_init();
    if (!c)
        return 0;
    struct curl_slist *h = curl_slist_append(NULL, auth);
    h = curl_slist_append(h, "Content-Type: text/plain");
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 5L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 30L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    long status = 0;
    CURLcode rc = curl_easy_perform(c);
    if (rc == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    else
        say(k, "enrolment: %s", curl_easy_strerror(rc));
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    return status;
}

/* The kiosk's tips, sealed into its queue as the kiosk does. */
static int make_tips(struct kiosk *k)
{
    struct swarm *s = k->s;
    char err[512] = "";
    static const char line[] = "xe may cho hang qua song luc nua dem, ba nguoi, khong den. ";
    size_t want = s->chunks > 1 ? (size_t)(s->chunks - 1) * ENVELOPE_CHUNK_PLAIN - 300 : 200;
    for (int t = 0; t < s->tips; t++) {
        struct envelope_meta meta = {.language = "vi", .category = CATEGORY_SMUGGLING};
        struct queue_sink sink = {.q = k->q, .now = (int64_t)time(NULL), .clock_trusted = 1};
        struct envelope_writer *w = NULL;
        uint8_t id[16];
        if (envelope_writer_new(&w, s->post_pk, k->dev->sk, &meta, queue_envelope_sink, &sink, id,
                                err, sizeof err)) {
            say(k, "sealing a tip: %s", err);
            return -1;
        }
        for (size_t left = want; left;) {
            size_t n = left < sizeof line - 1 ? left : sizeof line - 1;
            if (envelope_write_text(w, line, n)) {
                envelope_writer_free(w);
                say(k, "writing a tip: %s", sink.err);
                return -1;
            }
            left -= n;
        }
        int rc = envelope_writer_finish(w, err, sizeof err);
        envelope_writer_free(w);
        if (rc) {
            say(k, "finishing a tip: %s", err);
            return -1;
        }
        k->tips_made++;
    }
    return 0;
}

/* The envelope's bytes as the queue holds them: its length and BLAKE2b-256. */
static int digest_tip(struct kiosk *k, const struct queue_tip *t, char hex[65])
{
    char err[256];
    uint8_t *buf = malloc(t->bytes ? (size_t)t->bytes : 1);
    size_t got = 0;
    if (!buf)
        return -1;
    int rc = queue_read(k->q, t->id, 0, buf, (size_t)t->bytes, &got, err, sizeof err);
    if (rc || got != t->bytes) {
        say(k, "reading its own tip back: %s", rc ? err : "short");
        free(buf);
        return -1;
    }
    uint8_t h[32];
    crypto_generichash(h, sizeof h, buf, got, NULL, 0);
    sodium_bin2hex(hex, 65, h, sizeof h);
    free(buf);
    return 0;
}

static void *kiosk_main(void *arg)
{
    struct kiosk *k = arg;
    struct swarm *s = k->s;
    char err[512] = "";
    int ready = make_tips(k) == 0;
    if (ready && s->enrol) {
        ready = 0;
        for (unsigned attempt = 0; mono() < s->deadline; attempt++) {
            long st = enrol_once(k);
            if (st == 204) {
                ready = 1;
                break;
            }
            if (st)
                say(k, "enrolment answered %ld", st);
            sleep_ms(uploader_backoff_ms(50, 1000, attempt < 10 ? attempt : 10,
                                         randombytes_random()));
        }
    }
    pthread_mutex_lock(&s->lock);
    s->enrolled += ready && s->enrol;
    pthread_mutex_unlock(&s->lock);
    /* Every kiosk starts uploading at once: the load is all there together. */
    pthread_barrier_wait(&s->ready);
    if (!ready) {
        pthread_mutex_lock(&s->lock);
        s->failed_kiosks++;
        pthread_mutex_unlock(&s->lock);
        return NULL;
    }

    struct uploader_opts o = {
        .relay_url = s->relay,
        .insecure_http = 1,
        .device_sk = k->dev->sk,
        .connect_timeout_s = 5,
        .low_speed_bytes = 1,
        .low_speed_seconds = 20,
        .chunks_per_patch = s->chunks_per_patch,
        .require_verified = 1,
        .log = uploader_log,
        .log_ctx = k,
    };
    struct uploader *u = NULL;
    pthread_mutex_lock(&s->lock); /* uploader_new's first call sets libcurl up */
    int rc = uploader_new(&u, &o, err, sizeof err);
    pthread_mutex_unlock(&s->lock);
    if (rc) {
        say(k, "uploader_new: %s", err);
        pthread_mutex_lock(&s->lock);
        s->failed_kiosks++;
        pthread_mutex_unlock(&s->lock);
        return NULL;
    }
    unsigned attempt = 0;
    uint64_t attempts = 0, failures = 0;
    int left = k->tips_made;
    while (left > 0 && mono() < s->deadline) {
        struct queue_tip t;
        if (queue_next_to_send(k->q, &t)) {
            say(k, "the queue has no tip to send, %d expected", left);
            break;
        }
        char hex[65], idhex[33];
        if (digest_tip(k, &t, hex))
            break;
        attempts++;
        struct uploader_report rep = {0};
        rc = uploader_send_tip(u, k->q, &t, &rep, err, sizeof err);
        if (rc) {
            failures++;
            say(k, "send: %s (%s)", uploader_strerror(rc), err);
            sleep_ms(uploader_backoff_ms(50, 1000, attempt < 10 ? attempt : 10,
                                         randombytes_random()));
            attempt++;
            continue;
        }
        attempt = 0;
        /* The relay said verified: written down now, before anything else. */
        sodium_bin2hex(idhex, sizeof idhex, t.id, 16);
        pthread_mutex_lock(&s->lock);
        fprintf(s->out, "tip %s %s %" PRIu64 " %s\n", k->id, idhex, t.bytes, hex);
        fflush(s->out);
        s->verified++;
        pthread_mutex_unlock(&s->lock);
        if (queue_set_delivered(k->q, t.id, (int64_t)time(NULL), err, sizeof err)) {
            say(k, "queue_set_delivered: %s", err);
            break;
        }
        left--;
    }
    uploader_free(u);
    pthread_mutex_lock(&s->lock);
    s->attempts += attempts;
    s->failures += failures;
    if (left > 0) {
        s->failed_kiosks++;
        fprintf(s->out, "unfinished %s %d %s\n", k->id, left, k->last_err);
        fflush(s->out);
    }
    pthread_mutex_unlock(&s->lock);
    return NULL;
}

static void usage(FILE *f)
{
    fputs("usage: " PROG " --relay URL --post-pub post.pub --token TOKEN --dir DIR --out FILE\n"
          "       [--kiosks N] [--tips M] [--chunks C] [--prefix ID] [--deadline SECONDS]\n"
          "       [--chunks-per-patch K] [--no-enrol] [--quiet]\n",
          f);
}

int main(int argc, char **argv)
{
    struct swarm s = {.kiosks = 10, .tips = 1, .chunks = 1, .enrol = 1, .prefix = "swarm",
                      .chunks_per_patch = 4};
    const char *pub = NULL, *out = NULL;
    double deadline_s = 120;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--relay") && v)
            s.relay = argv[++i];
        else if (!strcmp(a, "--post-pub") && v)
            pub = argv[++i];
        else if (!strcmp(a, "--token") && v)
            s.token = argv[++i];
        else if (!strcmp(a, "--dir") && v)
            s.dir = argv[++i];
        else if (!strcmp(a, "--out") && v)
            out = argv[++i];
        else if (!strcmp(a, "--kiosks") && v)
            s.kiosks = atoi(argv[++i]);
        else if (!strcmp(a, "--tips") && v)
            s.tips = atoi(argv[++i]);
        else if (!strcmp(a, "--chunks") && v)
            s.chunks = atoi(argv[++i]);
        else if (!strcmp(a, "--prefix") && v)
            s.prefix = argv[++i];
        else if (!strcmp(a, "--deadline") && v)
            deadline_s = atof(argv[++i]);
        else if (!strcmp(a, "--chunks-per-patch") && v)
            s.chunks_per_patch = (unsigned)atoi(argv[++i]);
        else if (!strcmp(a, "--no-enrol"))
            s.enrol = 0;
        else if (!strcmp(a, "--quiet"))
            s.quiet = 1;
        else {
            usage(stderr);
            return 2;
        }
    }
    if (!s.relay || !pub || !s.dir || !out || (s.enrol && !s.token) || s.kiosks < 1 ||
        s.kiosks > 5000 || s.tips < 1 || s.tips > 100 || s.chunks < 1 || s.chunks > 1000 ||
        strlen(s.prefix) > 20 || deadline_s <= 0 || !*s.relay) {
        usage(stderr);
        return 2;
    }
    if (sodium_init() < 0 || curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        fprintf(stderr, PROG ": libsodium or libcurl cannot start\n");
        return 1;
    }
    char err[512] = "";
    if (keys_post_load_public(pub, s.post_pk, NULL, err, sizeof err)) {
        fprintf(stderr, PROG ": %s\n", err);
        return 1;
    }
    s.out = fopen(out, "w");
    if (!s.out) {
        fprintf(stderr, PROG ": %s: %s\n", out, strerror(errno));
        return 1;
    }
    mkdir(s.dir, 0700);
    pthread_mutex_init(&s.lock, NULL);
    pthread_barrier_init(&s.ready, NULL, (unsigned)s.kiosks + 1);

    struct kiosk *ks = calloc((size_t)s.kiosks, sizeof *ks);
    pthread_t *th = calloc((size_t)s.kiosks, sizeof *th);
    if (!ks || !th) {
        fprintf(stderr, PROG ": out of memory\n");
        return 1;
    }
    for (int i = 0; i < s.kiosks; i++) {
        struct kiosk *k = &ks[i];
        k->s = &s;
        k->n = i + 1;
        snprintf(k->id, sizeof k->id, "%s-%d", s.prefix, i + 1);
        char qdir[4200];
        snprintf(qdir, sizeof qdir, "%s/%s", s.dir, k->id);
        unsigned faults = 0;
        if (mkdir(qdir, 0700) && errno != EEXIST) {
            fprintf(stderr, PROG ": %s: %s\n", qdir, strerror(errno));
            return 1;
        }
        if (keys_device_generate(&k->dev, err, sizeof err) ||
            queue_open(&k->q, qdir, &faults, err, sizeof err)) {
            fprintf(stderr, PROG ": kiosk %s: %s\n", k->id, err);
            return 1;
        }
    }
    /* The deadline counts from here: sealing and enrolment are in it. */
    double t0 = mono();
    s.deadline = t0 + deadline_s;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, 1024 * 1024);
    for (int i = 0; i < s.kiosks; i++)
        if (pthread_create(&th[i], &attr, kiosk_main, &ks[i])) {
            fprintf(stderr, PROG ": cannot start kiosk thread %d\n", i + 1);
            return 1;
        }
    pthread_barrier_wait(&s.ready);
    double t1 = mono();
    if (!s.quiet)
        fprintf(stderr, PROG ": %d kiosks ready (%d enrolled) in %.1f s; uploading\n", s.kiosks,
                s.enrolled, t1 - t0);
    for (int i = 0; i < s.kiosks; i++)
        pthread_join(th[i], NULL);
    double t2 = mono();
    int total = 0;
    for (int i = 0; i < s.kiosks; i++) {
        total += ks[i].tips_made;
        queue_close(ks[i].q);
        keys_device_free(ks[i].dev);
    }
    fprintf(s.out,
            "summary kiosks %d enrolled %d tips %d verified %d failed_kiosks %d attempts %" PRIu64
            " send_failures %" PRIu64 " seconds %.2f setup_seconds %.2f\n",
            s.kiosks, s.enrolled, total, s.verified, s.failed_kiosks, s.attempts, s.failures,
            t2 - t1, t1 - t0);
    fflush(s.out);
    fsync(fileno(s.out));
    fclose(s.out);
    free(ks);
    free(th);
    pthread_attr_destroy(&attr);
    return s.verified == s.kiosks * s.tips ? 0 : 1;
}
