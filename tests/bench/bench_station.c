/*
 * bench_station — the post station (homthu-station) as an officer's browser
 * meets it: how long from "play" to the first byte of a 3-minute recording,
 * how long the first list of 10,000 tips takes after the unlock, and how
 * much memory the station holds.
 *
 * A temp folder (in $TMPDIR or /tmp, removed at the end) gets, in a child
 * process (so that none of the building stays in the measured process):
 *   - a post folder as the tests make it (keys_post_save, registry_open),
 *     two enrolled kiosks;
 *   - TIPS real envelopes stored with postbox_add() as a pull stores them
 *     (bench_tipindex's fast way: a few hundred bytes of text, every tenth
 *     with a second of Ogg Opus);
 *   - one 3-minute voice tip made as the kiosk makes it (tip_begin,
 *     tip_add_pcm with the test speech looped to 180 s: the kiosk's capture
 *     encodes and seals it into its queue), copied into the postbox;
 *   - the list indexed once (tipindex_refresh), as a running station has
 *     it: the station itself reads 25 tips a second, which would take
 *     minutes at 10,000.
 * The same child measures the list's baseline with the library, no HTTP:
 * console_unlock + tipindex_unlock, then tipindex_query's first page, on a
 * console and index opened once and locked between rounds (as the station
 * holds them), and, for reference, the same on a fresh open.
 *
 * Then this process starts the station in-process (station_start, plain
 * HTTP on 127.0.0.1:0), makes the commander with the one-time code from
 * POSTDIR/station-setup-code (POST /api/setup), and talks to it with
 * libcurl as the page does (cookie kept, X-CSRF-Token on every POST):
 *   list     ROUNDS times: POST /api/lock, POST /api/unlock, the first
 *            GET /api/tips (50 rows of 10,001), each timed;
 *   play     ROUNDS times: another tip opened (so the 3-minute one is not
 *            the station's open tip any more), then GET .../audio with
 *            `Range: bytes=0-` twice: cold (the envelope is opened and
 *            decrypted for it) and warm (the station's open tip), then a
 *            1 KiB range warm and GET /api/state (what any logged-in
 *            request costs); CURLINFO_STARTTRANSFER_TIME_T is the figure.
 *            (The page opens the tip before its player asks, so an officer
 *            mostly waits the warm figure; cold is a player opened after
 *            another tip, or after the station dropped the open tip.)
 *   baseline for play: what serving those bytes costs without opening
 *            them — the same station's round trip for a page file of
 *            similar size (GET /app.js, from memory), plus reading the
 *            same tip's sealed envelope from postbox.db (postbox_envelope
 *            on its own connection, after the station's figures).
 *   memory   VmRSS / VmHWM of this process (/proc/self/status): before
 *            station_start (libcurl already loaded), idle after it, after
 *            the lists, after the plays.
 * Printed as min/median ms and ratios of medians. Figures only; nothing
 * fails on a number. The station's own log lines go to stderr.
 */
#include <curl/curl.h>
#include <errno.h>
#include <ftw.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <opusenc.h>

#include "bench.h"
#include "core/envelope.h"
#include "core/keys.h"
#include "core/queue.h"
#include "core/registry.h"
#include "kiosk/tip.h"
#include "post/console.h"
#include "post/postbox.h"
#include "station/station.h"
#include "station/tipindex.h"

#define TIPS 10000
#define VOICE_SECONDS 180
#define ROUNDS 7
#define PASS "bench passphrase"
#define OFFICER "chihuy"
#define OFFICER_PASSWORD "mat-khau-dai-1"

static char dir[4096], post[4200];
static int in_a_child; /* a child must not run the parent's atexit (it removes the folder) */

static void die(const char *what, const char *err)
{
    fprintf(stderr, "bench_station: %s: %s\n", what, err);
    if (in_a_child)
        _exit(1);
    exit(1);
}

static int rm_one(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    remove(p);
    return 0;
}

static void cleanup(void)
{
    if (dir[0])
        nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* ---- building, in a child ---- */

struct mem {
    uint8_t *b;
    size_t len, cap;
};

static void mem_add(struct mem *m, const void *b, size_t n)
{
    if (m->len + n > m->cap) {
        m->cap = (m->len + n) * 2;
        if (!(m->b = realloc(m->b, m->cap)))
            die("memory", "out of memory");
    }
    memcpy(m->b + m->len, b, n);
    m->len += n;
}

static int mem_sink(void *ctx, enum envelope_piece k, uint32_t i, const uint8_t *b, size_t len)
{
    (void)k;
    (void)i;
    mem_add(ctx, b, len);
    return 0;
}

static int ogg_write(void *ctx, const unsigned char *p, opus_int32 len)
{
    mem_add(ctx, p, (size_t)len);
    return 0;
}

static int ogg_close(void *ctx)
{
    (void)ctx;
    return 0;
}

/* A second of tone as Ogg Opus, sealed into every tenth small tip. */
static struct mem make_ogg(void)
{
    struct mem m = {0};
    OpusEncCallbacks cb = {ogg_write, ogg_close};
    OggOpusComments *cm = ope_comments_create();
    int e = 0;
    OggOpusEnc *enc = ope_encoder_create_callbacks(&cb, &m, cm, 48000, 1, 0, &e);
    if (!enc)
        die("opus", "cannot start the encoder");
    int16_t pcm[960];
    long at = 0;
    for (int frame = 0; frame < 50; frame++) {
        for (int i = 0; i < 960; i++, at++)
            pcm[i] = (int16_t)(8000 * ((at / 55) % 2 ? 1 : -1));
        ope_encoder_write(enc, pcm, 960);
    }
    ope_encoder_drain(enc);
    ope_encoder_destroy(enc);
    ope_comments_destroy(cm);
    return m;
}

static const char *words[] = {
    "xe tải", "chở",  "hàng", "ban đêm",    "qua",       "biên giới", "người lạ", "mang",
    "bao",    "nặng", "về",   "bản",        "lúc",       "sáng",      "đường",    "mòn",
    "phía",   "núi",  "hai",  "thanh niên", "đi xe máy", "không",     "biển số",  "chợ"};

static size_t tip_text(int i, char *out, size_t cap)
{
    size_t n = (size_t)snprintf(out, cap, "Tin %d: ", i);
    uint32_t x = (uint32_t)i * 2654435761u;
    int count = 40 + i % 30;
    for (int w = 0; w < count && n + 32 < cap; w++) {
        x = x * 1103515245u + 12345u;
        n += (size_t)snprintf(out + n, cap - n, "%s ",
                              words[(x >> 16) % (sizeof words / sizeof *words)]);
    }
    return n;
}

/* What the building child tells this process. */
struct built {
    char voice_id[33], other_id[33]; /* the 3-minute tip; a small tip to open in between */
    int64_t voice_seq;
    size_t voice_bytes;  /* its sealed envelope */
    double store_s, voice_s, index_s;
    double list_unlock[ROUNDS], list_page[ROUNDS]; /* library baseline, kept open, seconds */
    double list_fresh[ROUNDS];                     /* the same, on a fresh open */
    size_t list_total;
};

/* The 3-minute tip as the kiosk makes it: capture + envelope + queue. */
static struct mem make_voice(const struct envelope_post_key *pk, const struct keys_device *dev,
                             uint8_t id[16])
{
    char err[512] = "", qdir[4300];
    snprintf(qdir, sizeof qdir, "%s/kiosk", dir);
    if (mkdir(qdir, 0700))
        die(qdir, strerror(errno));
    unsigned faults = 0;
    struct queue *q = NULL;
    if (queue_open(&q, qdir, &faults, err, sizeof err))
        die("queue_open", err);
    struct tip_keys tk;
    memcpy(tk.post_pk, pk->pk, 32);
    memcpy(tk.device_sk, dev->sk, 64);
    struct envelope_meta m = {.category = CATEGORY_SMUGGLING};
    snprintf(m.language, sizeof m.language, "vi");
    struct capture_opts co = {0};
    struct tip_session *s = NULL;
    int64_t now = 1700000000 + (int64_t)TIPS * 60;
    if (tip_begin(&s, q, &tk, &m, &co, now, 1, err, sizeof err))
        die("tip_begin", err);
    memcpy(id, tip_id(s), 16);
    int16_t *pcm = bench_speech();
    const size_t have = BENCH_SPEECH_SAMPLES, total = (size_t)VOICE_SECONDS * 16000;
    for (size_t done = 0; done < total;) {
        size_t at = done % have, take = 4000; /* a quarter second, as the microphone gives it */
        if (take > have - at)
            take = have - at;
        if (take > total - done)
            take = total - done;
        if (tip_add_pcm(s, pcm + at, take, err, sizeof err))
            die("tip_add_pcm", err);
        done += take;
    }
    free(pcm);
    static const char text[] = "Xe tải chở hàng qua đường mòn phía núi lúc ba giờ sáng";
    if (tip_add_text(s, text, sizeof text - 1, err, sizeof err) ||
        tip_set_when(s, WHEN_YESTERDAY, err, sizeof err) || tip_send(s, now, err, sizeof err))
        die("tip_send", err);
    struct queue_tip t;
    if (queue_get_tip(q, id, &t))
        die("queue_get_tip", "the tip is not in the queue");
    struct mem env = {0};
    env.b = malloc(t.bytes);
    env.len = env.cap = t.bytes;
    size_t off = 0;
    while (env.b && off < t.bytes) {
        size_t got = 0;
        if (queue_read(q, id, off, env.b + off, t.bytes - off, &got, err, sizeof err) || !got)
            die("queue_read", err[0] ? err : "short");
        off += got;
    }
    if (!env.b)
        die("memory", "out of memory");
    queue_close(q);
    return env;
}

static void build(int fd)
{
    struct built r;
    memset(&r, 0, sizeof r);
    char err[512] = "", pub[4300], key[4300], reg_path[4300];
    snprintf(pub, sizeof pub, "%s/post.pub", post);
    snprintf(key, sizeof key, "%s/post.key", post);
    snprintf(reg_path, sizeof reg_path, "%s/%s", post, REGISTRY_DB_NAME);
    unsigned long long ops;
    size_t memlim;
    struct envelope_post_key *pk = NULL;
    struct keys_device *dev[2] = {NULL, NULL};
    struct registry *reg = NULL;
    if (mkdir(post, 0700))
        die(post, strerror(errno));
    if (keys_pwhash_limits("min", &ops, &memlim) || keys_post_generate(&pk, err, sizeof err) ||
        keys_post_save(pk, pub, key, PASS, ops, memlim, err, sizeof err) ||
        keys_device_generate(&dev[0], err, sizeof err) ||
        keys_device_generate(&dev[1], err, sizeof err) ||
        registry_open(&reg, reg_path, 1, err, sizeof err) ||
        registry_enrol(reg, "na-co-sa-01", dev[0]->pk, 1000, err, sizeof err) ||
        registry_enrol(reg, "na-co-sa-02", dev[1]->pk, 1000, err, sizeof err))
        die("post folder", err);
    registry_close(reg);
    struct console *c = NULL;
    if (console_open(&c, post, err, sizeof err))
        die("console_open", err);
    struct mem ogg = make_ogg(), env = {0};
    char text[2048];
    double t0 = bench_now();
    for (int i = 0; i < TIPS; i++) {
        struct envelope_meta meta = {.category = (uint8_t)(1 + i % 7),
                                     .capture_day = 2000,
                                     .codec = i % 10 == 0 ? CODEC_OGG_OPUS : CODEC_NONE};
        snprintf(meta.language, sizeof meta.language, "%s", i % 5 ? "vi" : "hmn");
        struct envelope_writer *w = NULL;
        uint8_t id[16];
        env.len = 0;
        if (envelope_writer_new(&w, pk->pk, dev[i % 3 == 0]->sk, &meta, mem_sink, &env, id, err,
                                sizeof err))
            die("seal", err);
        size_t n = tip_text(i, text, sizeof text);
        if ((i % 10 == 0 && envelope_write_audio(w, ogg.b, ogg.len)) ||
            envelope_write_text(w, text, n) || envelope_writer_finish(w, err, sizeof err))
            die("seal", err);
        envelope_writer_free(w);
        int what = 0;
        if (postbox_add(console_postbox(c), env.b, env.len, POSTBOX_FROM_RELAY, 1700000000 + i * 60,
                        1700000000 + i * 60, registry_device_check, console_registry(c), &what, err,
                        sizeof err))
            die("postbox_add", err);
        if (i == TIPS / 2)
            sodium_bin2hex(r.other_id, sizeof r.other_id, id, 16);
    }
    r.store_s = bench_now() - t0;

    t0 = bench_now();
    uint8_t vid[16];
    struct mem voice = make_voice(pk, dev[0], vid);
    r.voice_s = bench_now() - t0;
    int what = 0;
    int64_t at = 1700000000 + (int64_t)TIPS * 60;
    if (postbox_add(console_postbox(c), voice.b, voice.len, POSTBOX_FROM_RELAY, at, at,
                    registry_device_check, console_registry(c), &what, err, sizeof err))
        die("postbox_add", err);
    struct postbox_tip vt;
    if (postbox_get(console_postbox(c), vid, &vt))
        die("postbox_get", "the 3-minute tip is not in the postbox");
    sodium_bin2hex(r.voice_id, sizeof r.voice_id, vid, 16);
    r.voice_seq = vt.seq;
    r.voice_bytes = voice.len;

    char ipath[4300];
    struct tipindex *ix = NULL;
    snprintf(ipath, sizeof ipath, "%s/%s", post, TIPINDEX_DB_NAME);
    t0 = bench_now();
    if (console_unlock(c, PASS, err, sizeof err) || tipindex_open(&ix, ipath, err, sizeof err) ||
        tipindex_unlock(ix, c, err, sizeof err))
        die("unlock", err);
    int left;
    while ((left = tipindex_refresh(ix, c, 500, err, sizeof err)) > 0)
        ;
    if (left < 0)
        die("tipindex_refresh", err);
    r.index_s = bench_now() - t0;
    tipindex_close(ix);
    console_close(c);

    /*
     * The list's baselines, without HTTP. Fresh: a new console and index
     * opened, unlocked and asked (the index syncs its list with the postbox
     * then: the station does that once, in its keeper, after start). Kept:
     * as the station holds them: opened and synced once, then locked,
     * unlocked and asked each round, which is what POST /api/unlock and
     * GET /api/tips do inside the station.
     */
    static struct tipindex_row rows[50];
    size_t n = 0;
    struct tipindex_filter f = TIPINDEX_FILTER_ALL;
    for (int k = 0; k < ROUNDS; k++) {
        if (console_open(&c, post, err, sizeof err) || tipindex_open(&ix, ipath, err, sizeof err))
            die("reopen", err);
        t0 = bench_now();
        if (console_unlock(c, PASS, err, sizeof err) || tipindex_unlock(ix, c, err, sizeof err) ||
            tipindex_query(ix, c, &f, rows, 50, &n, &r.list_total, err, sizeof err))
            die("fresh list", err);
        r.list_fresh[k] = bench_now() - t0;
        tipindex_close(ix);
        console_close(c);
    }
    if (console_open(&c, post, err, sizeof err) || tipindex_open(&ix, ipath, err, sizeof err) ||
        tipindex_refresh(ix, c, 0, err, sizeof err) < 0)
        die("reopen", err);
    for (int k = 0; k < ROUNDS; k++) {
        tipindex_lock(ix);
        console_lock(c);
        t0 = bench_now();
        if (console_unlock(c, PASS, err, sizeof err) || tipindex_unlock(ix, c, err, sizeof err))
            die("unlock", err);
        double t1 = bench_now();
        if (tipindex_query(ix, c, &f, rows, 50, &n, &r.list_total, err, sizeof err))
            die("tipindex_query", err);
        r.list_unlock[k] = t1 - t0;
        r.list_page[k] = bench_now() - t1;
    }
    tipindex_close(ix);
    console_close(c);
    keys_post_free(pk);
    keys_device_free(dev[0]);
    keys_device_free(dev[1]);
    free(ogg.b);
    free(env.b);
    free(voice.b);
    if (write(fd, &r, sizeof r) != (ssize_t)sizeof r)
        _exit(1);
}

static void build_in_child(struct built *r)
{
    int p[2];
    if (pipe(p))
        die("pipe", strerror(errno));
    fflush(stdout);
    pid_t pid = fork();
    if (pid < 0)
        die("fork", strerror(errno));
    if (pid == 0) {
        in_a_child = 1;
        close(p[0]);
        build(p[1]);
        _exit(0);
    }
    close(p[1]);
    size_t got = 0;
    while (got < sizeof *r) {
        ssize_t n = read(p[0], (char *)r + got, sizeof *r - got);
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    close(p[0]);
    int status = 0;
    waitpid(pid, &status, 0);
    if (got != sizeof *r || !WIFEXITED(status) || WEXITSTATUS(status))
        die("building", "the building process failed");
}

/* ---- memory ---- */

struct rss {
    long rss_kb, hwm_kb;
};

static struct rss rss_now(void)
{
    struct rss r = {0, 0};
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    while (f && fgets(line, sizeof line, f)) {
        if (!strncmp(line, "VmRSS:", 6))
            r.rss_kb = atol(line + 6);
        else if (!strncmp(line, "VmHWM:", 6))
            r.hwm_kb = atol(line + 6);
    }
    if (f)
        fclose(f);
    return r;
}

/* ---- the browser's side: libcurl ---- */

struct answer {
    char body[16384]; /* JSON answers are kept (cut here); audio only counted */
    size_t len, bytes;
};

static size_t on_body(char *p, size_t size, size_t n, void *ctx)
{
    struct answer *a = ctx;
    size_t len = size * n;
    if (a->len + 1 < sizeof a->body) {
        size_t take = len < sizeof a->body - 1 - a->len ? len : sizeof a->body - 1 - a->len;
        memcpy(a->body + a->len, p, take);
        a->len += take;
        a->body[a->len] = 0;
    }
    a->bytes += len;
    return len;
}

static CURL *h;
static char base_url[64], csrf[128];

/*
 * One request on the kept connection. form: a POST body (NULL: GET).
 * *first: seconds to the first byte of the answer. Returns the status.
 */
static long request(const char *path, const char *form, const char *range, struct answer *a,
                    double *first)
{
    char url[512], hdr[200];
    snprintf(url, sizeof url, "%s%s", base_url, path);
    a->len = a->bytes = 0;
    a->body[0] = 0;
    struct curl_slist *hs = NULL;
    if (form) {
        snprintf(hdr, sizeof hdr, "X-CSRF-Token: %s", csrf);
        hs = curl_slist_append(hs, hdr);
    }
    if (range) {
        snprintf(hdr, sizeof hdr, "Range: %s", range);
        hs = curl_slist_append(hs, hdr);
    }
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hs);
    if (form)
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, form);
    else
        curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, a);
    CURLcode rc = curl_easy_perform(h);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, NULL);
    curl_slist_free_all(hs);
    if (rc != CURLE_OK)
        die(path, curl_easy_strerror(rc));
    long code = 0;
    curl_off_t us = 0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
    curl_easy_getinfo(h, CURLINFO_STARTTRANSFER_TIME_T, &us);
    if (first)
        *first = (double)us / 1e6;
    return code;
}

static void expect(long code, long want, const char *what, const struct answer *a)
{
    if (code != want) {
        char msg[600];
        snprintf(msg, sizeof msg, "HTTP %ld, wanted %ld: %.400s", code, want, a->body);
        die(what, msg);
    }
}

/* The csrf of a JSON answer ("csrf":"…"), kept for the next POSTs. */
static void keep_csrf(const struct answer *a)
{
    const char *p = strstr(a->body, "\"csrf\":\"");
    const char *e = p ? strchr(p + 8, '"') : NULL;
    if (!e || (size_t)(e - p - 8) >= sizeof csrf)
        die("csrf", "no csrf in the answer");
    memcpy(csrf, p + 8, (size_t)(e - p - 8));
    csrf[e - p - 8] = 0;
}

static long json_long(const struct answer *a, const char *key)
{
    char k[64];
    snprintf(k, sizeof k, "\"%s\":", key);
    const char *p = strstr(a->body, k);
    return p ? atol(p + strlen(k)) : -1;
}

static void read_setup_code(char *out, size_t cap)
{
    char path[4300];
    snprintf(path, sizeof path, "%s/station-setup-code", post);
    FILE *f = fopen(path, "r");
    if (!f || !fgets(out, (int)cap, f))
        die(path, "no setup code");
    fclose(f);
    out[strcspn(out, "\r\n ")] = 0;
}

/* ---- printing ---- */

static void mm(double *v, int n, double *mn, double *md)
{
    bench_min_median(v, n, mn, md);
    *mn *= 1e3;
    *md *= 1e3;
}

static void print_rss(const char *what, struct rss r, struct rss base)
{
    printf("    %-40s VmRSS %7s KB (%+6ld)  VmHWM %7s KB\n", what, bench_num((uint64_t)r.rss_kb),
           r.rss_kb - base.rss_kb, bench_num((uint64_t)r.hwm_kb));
}

int main(void)
{
    if (sodium_init() < 0)
        die("libsodium", "cannot start");
    if (curl_global_init(CURL_GLOBAL_DEFAULT))
        die("libcurl", "cannot start");
    printf("bench_station: homthu-station over HTTP at %s tips, a %d s voice tip (%d rounds)\n",
           bench_num(TIPS + 1), VOICE_SECONDS, ROUNDS);
    const char *tmp = getenv("TMPDIR");
    snprintf(dir, sizeof dir, "%s/bench_station.XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(dir))
        die("mkdtemp", strerror(errno));
    atexit(cleanup);
    snprintf(post, sizeof post, "%s/post", dir);

    struct built b;
    build_in_child(&b);
    printf("  postbox: %s small tips stored in %.1f s; the %d s tip made by the kiosk's capture "
           "in %.1f s (%s bytes sealed); all indexed once in %.1f s\n",
           bench_num(TIPS), b.store_s, VOICE_SECONDS, b.voice_s, bench_num(b.voice_bytes),
           b.index_s);

    /* The client first, so that the baseline holds libcurl too. */
    if (!(h = curl_easy_init()))
        die("libcurl", "no handle");
    curl_easy_setopt(h, CURLOPT_COOKIEFILE, ""); /* the cookie engine, in memory */
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    struct rss before = rss_now();

    struct station *s = NULL;
    struct station_opts o = {.post_dir = post, .listen = "127.0.0.1:0", .plain = 1,
                             .idle_lock_seconds = 3600, .session_idle_seconds = 3600};
    uint16_t port = 0;
    char err[512] = "";
    if (station_start(&s, &o, &port, err, sizeof err))
        die("station_start", err);
    snprintf(base_url, sizeof base_url, "http://127.0.0.1:%u", (unsigned)port);
    usleep(200 * 1000); /* its threads started and asleep */
    struct rss idle = rss_now();

    /* The commander, made with the one-time code, then the key unlocked. */
    struct answer *a = calloc(1, sizeof *a);
    if (!a)
        die("memory", "out of memory");
    char code[64], form[512];
    read_setup_code(code, sizeof code);
    expect(request("/api/state", NULL, NULL, a, NULL), 200, "GET /api/state", a);
    if (!strstr(a->body, "\"setup_needed\":true"))
        die("GET /api/state", "the station does not ask for its commander");
    snprintf(form, sizeof form, "code=%s&name=" OFFICER "&password=" OFFICER_PASSWORD, code);
    expect(request("/api/setup", form, NULL, a, NULL), 200, "POST /api/setup", a);
    keep_csrf(a);

    /* list: lock, unlock, the first page; ROUNDS times. */
    double t_unlock[ROUNDS], t_list[ROUNDS], t_list_ttfb[ROUNDS], t_again[ROUNDS], first_round;
    long total = -1;
    for (int k = 0; k < ROUNDS; k++) {
        if (k)
            expect(request("/api/lock", "_=1", NULL, a, NULL), 200, "POST /api/lock", a);
        double t0 = bench_now();
        expect(request("/api/unlock", "passphrase=bench%20passphrase", NULL, a, NULL), 200,
               "POST /api/unlock", a);
        double t1 = bench_now();
        expect(request("/api/tips", NULL, NULL, a, &t_list_ttfb[k]), 200, "GET /api/tips", a);
        double t2 = bench_now();
        t_unlock[k] = t1 - t0;
        t_list[k] = t2 - t1;
        if (k == 0)
            first_round = t2 - t0;
        total = json_long(a, "total");
        if (strstr(a->body, "\"indexed\":false"))
            die("GET /api/tips", "a row of the first page is not indexed");
        t0 = bench_now();
        expect(request("/api/tips", NULL, NULL, a, NULL), 200, "GET /api/tips", a);
        t_again[k] = bench_now() - t0;
    }
    size_t page_bytes = a->bytes;
    struct rss listed = rss_now();

    /* play */
    char p_tip[128], p_audio[160], p_other[128];
    snprintf(p_tip, sizeof p_tip, "/api/tips/%s", b.voice_id);
    snprintf(p_audio, sizeof p_audio, "/api/tips/%s/audio", b.voice_id);
    snprintf(p_other, sizeof p_other, "/api/tips/%s", b.other_id);
    expect(request(p_tip, NULL, NULL, a, NULL), 200, p_tip, a);
    const char *sec = strstr(a->body, "\"seconds\":");
    double seconds = sec ? atof(sec + 10) : 0;
    double cold[ROUNDS], warm[ROUNDS], warm_small[ROUNDS], stat_ttfb[ROUNDS], open_other[ROUNDS],
        state_ttfb[ROUNDS];
    size_t audio_bytes = 0, static_bytes = 0;
    for (int k = 0; k < ROUNDS; k++) {
        expect(request(p_other, NULL, NULL, a, &open_other[k]), 200, p_other, a);
        expect(request(p_audio, NULL, "bytes=0-", a, &cold[k]), 206, p_audio, a);
        audio_bytes = a->bytes;
        expect(request(p_audio, NULL, "bytes=0-", a, &warm[k]), 206, p_audio, a);
        if (a->bytes != audio_bytes)
            die(p_audio, "the second answer is not the same length");
        expect(request(p_audio, NULL, "bytes=0-1023", a, &warm_small[k]), 206, p_audio, a);
        expect(request("/api/state", NULL, NULL, a, &state_ttfb[k]), 200, "GET /api/state", a);
        expect(request("/app.js", NULL, NULL, a, &stat_ttfb[k]), 200, "GET /app.js", a);
        static_bytes = a->bytes;
    }
    struct rss played = rss_now();

    /* The sealed bytes, read as the station reads them (its own connection). */
    double sealed[ROUNDS], lookup[ROUNDS];
    char pbpath[4300];
    snprintf(pbpath, sizeof pbpath, "%s/%s", post, POSTBOX_DB_NAME);
    for (int k = 0; k < ROUNDS; k++) {
        struct postbox *pb = NULL;
        uint8_t *env = NULL;
        size_t len = 0;
        double t0 = bench_now();
        if (postbox_open(&pb, pbpath, err, sizeof err) ||
            postbox_envelope(pb, b.voice_seq, &env, &len, err, sizeof err))
            die("postbox_envelope", err);
        volatile uint64_t sum = 0; /* every cache line touched, as sending them would */
        for (size_t i = 0; i < len; i += 64)
            sum += env[i];
        sealed[k] = bench_now() - t0;
        struct postbox_tip found;
        t0 = bench_now();
        if (postbox_find(pb, b.voice_id, &found, err, sizeof err))
            die("postbox_find", err);
        lookup[k] = bench_now() - t0;
        free(env);
        postbox_close(pb);
    }
    station_stop(s);
    curl_easy_cleanup(h);
    free(a);

    double mn, md, umn, umd, bmn, bmd, smn, smd, lmn, lmd;
    printf("  list (GET /api/tips: %ld tips, first page of 50, %s bytes of JSON): min / median ms\n",
           total, bench_num(page_bytes));
    mm(t_unlock, ROUNDS, &umn, &umd);
    printf("    POST /api/unlock (post key at min Argon2id)      %8.1f / %8.1f\n", umn, umd);
    mm(t_list, ROUNDS, &lmn, &lmd);
    printf("    then the first GET /api/tips                     %8.1f / %8.1f\n", lmn, lmd);
    mm(t_list_ttfb, ROUNDS, &mn, &md);
    printf("      of which to its first byte                     %8.1f / %8.1f\n", mn, md);
    printf("    (the very first unlock + list since start:        %8.1f)\n", first_round * 1e3);
    mm(t_again, ROUNDS, &mn, &md);
    printf("    the same list again                              %8.1f / %8.1f\n", mn, md);
    mm(b.list_unlock, ROUNDS, &bmn, &bmd);
    printf("    baseline, the library as the station holds it (opened once):\n");
    printf("      console_unlock + tipindex_unlock               %8.1f / %8.1f\n", bmn, bmd);
    mm(b.list_page, ROUNDS, &smn, &smd);
    printf("      tipindex_query, first page of %s           %8.1f / %8.1f\n",
           bench_num(b.list_total), smn, smd);
    mm(b.list_fresh, ROUNDS, &mn, &md);
    printf("      (on a fresh open, the list synced first: all   %8.1f / %8.1f)\n", mn, md);
    printf("    ratio unlock + list, HTTP / library (medians)    %8.2f\n",
           bmd + smd > 0 ? (umd + lmd) / (bmd + smd) : 0);
    printf("    ratio first GET /api/tips / tipindex_query        %8.2f\n",
           smd > 0 ? lmd / smd : 0);

    printf("  play (GET /api/tips/<id>/audio, Range: bytes=0-; %.1f s of audio, %s bytes of Ogg):"
           " to the first byte, min / median ms\n",
           seconds, bench_num(audio_bytes));
    double cmn, cmd, wmn, wmd, amn, amd;
    mm(cold, ROUNDS, &cmn, &cmd);
    printf("    cold (the envelope opened and decrypted for it)  %8.2f / %8.2f\n", cmn, cmd);
    mm(warm, ROUNDS, &wmn, &wmd);
    printf("    warm (the station's open tip)                    %8.2f / %8.2f\n", wmn, wmd);
    mm(warm_small, ROUNDS, &mn, &md);
    printf("    warm, Range: bytes=0-1023                        %8.2f / %8.2f\n", mn, md);
    mm(open_other, ROUNDS, &mn, &md);
    printf("    (a small tip opened in between, GET /api/tips/<id> %6.2f / %8.2f)\n", mn, md);
    mm(state_ttfb, ROUNDS, &mn, &md);
    printf("    (GET /api/state, logged in                       %8.2f / %8.2f)\n", mn, md);
    mm(stat_ttfb, ROUNDS, &smn, &smd);
    printf("    baseline: GET /app.js, %s bytes from memory  %8.2f / %8.2f\n",
           bench_num(static_bytes), smn, smd);
    mm(sealed, ROUNDS, &amn, &amd);
    printf("    baseline: postbox_envelope, %s bytes sealed  %8.2f / %8.2f\n",
           bench_num(b.voice_bytes), amn, amd);
    printf("    baseline, serving the sealed bytes unopened (the two) %5.2f\n", smd + amd);
    mm(lookup, ROUNDS, &mn, &md);
    printf("    (postbox_find by the 32 hex digits, as every\n"
           "     GET /api/tips/<id>[/audio] looks the tip up      %8.2f / %8.2f)\n",
           mn, md);
    printf("    ratio cold / baseline (medians)                  %8.2f\n",
           smd + amd > 0 ? cmd / (smd + amd) : 0);
    printf("    ratio warm / page file (medians)                 %8.2f\n",
           smd > 0 ? wmd / smd : 0);

    printf("  memory of this process (the station in it, libcurl loaded before the baseline):\n");
    print_rss("baseline, before station_start", before, before);
    print_rss("idle, after station_start", idle, before);
    print_rss("after unlock + list of 10,001 tips", listed, before);
    print_rss("after playing the 3-minute tip", played, before);
    const char *pw = getenv("HOMTHU_PWHASH");
    printf("    (VmHWM: the officers' Argon2id, HOMTHU_PWHASH=%s: one hash at start for unknown\n"
           "     names, one at setup; the post key here at min limits, a real post.key's level\n"
           "     adds its own at unlock)\n",
           pw && *pw ? pw : "unset: 64 MiB each");
    curl_global_cleanup();
    return 0;
}
