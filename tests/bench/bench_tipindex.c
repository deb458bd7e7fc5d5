/*
 * bench_tipindex — how long the station's list takes at 10,000 tips, from
 * the post key unlocked to the first page on screen.
 *
 * A post folder (in $TMPDIR or /tmp, removed at the end) gets TIPS real
 * envelopes stored through postbox_add(), as a pull stores them: a few
 * hundred bytes of Vietnamese text each, every tenth with a second of Ogg
 * Opus audio, seven categories, two kiosks. They are indexed once
 * (tipindex_refresh in steps of 500, as a server would between requests).
 *
 * Then, ROUNDS times, each in a new process (fork: nothing of the index
 * in memory, the files in the page cache as on a running post):
 *   locked   console_open + tipindex_open + the first page while locked
 *            (reads the postbox's list: postbox_foreach);
 *   unlock   console_unlock (the passphrase; min limits here, not timed),
 *            then tipindex_unlock + the first page of 50 rows: the figure;
 *   search   a word in 1 % of the texts, with diacritics and without;
 *   baseline in another new process, the same rows' sealed bytes read from
 *            tipindex.db with SQLite, not decrypted: what reading the side
 *            store costs at all.
 * Printed as min/median ms, the ratio of the medians, and each child's
 * peak RSS (getrusage). Figures only; nothing fails on a number.
 * BENCH_TIPINDEX_DIR=folder keeps the post folder for another run.
 */
#include <errno.h>
#include <sodium.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <opusenc.h>

#include "bench.h"
#include "core/envelope.h"
#include "core/keys.h"
#include "core/registry.h"
#include "post/console.h"
#include "post/postbox.h"
#include "station/tipindex.h"

#define TIPS 10000
#define PAGE 50
#define ROUNDS 5
#define PASS "bench passphrase"
#define WORD "suối" /* in every hundredth text */

static char dir[4096];
static int in_a_child; /* a child must not run the parent's atexit (it removes the folder) */

static void die(const char *what, const char *err)
{
    fprintf(stderr, "bench_tipindex: %s: %s\n", what, err);
    if (in_a_child)
        _exit(1);
    exit(1);
}

static void path_of(char *out, size_t cap, const char *name)
{
    snprintf(out, cap, "%s/%s", dir, name);
}

static void cleanup(void)
{
    static const char *names[] = {"post.pub",        "post.key",        REGISTRY_DB_NAME,
                                  POSTBOX_DB_NAME,   "postbox.db-wal",  "postbox.db-shm",
                                  TIPINDEX_DB_NAME,  "tipindex.db-wal", "tipindex.db-shm",
                                  "registry.db-wal", "registry.db-shm"};
    char p[4200];
    for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
        path_of(p, sizeof p, names[i]);
        unlink(p);
    }
    rmdir(dir);
}

/* ---- the tips ---- */

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

/* A second of tone as Ogg Opus, made once and sealed into every tenth tip. */
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

/* A few hundred bytes of text, different per tip. */
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
    if (i % 100 == 7 && n + 32 < cap)
        n += (size_t)snprintf(out + n, cap - n, "gần " WORD " cạn");
    return n;
}

static void build(void)
{
    char err[512] = "", pub[4200], key[4200], reg_path[4200];
    path_of(pub, sizeof pub, "post.pub");
    path_of(key, sizeof key, "post.key");
    path_of(reg_path, sizeof reg_path, REGISTRY_DB_NAME);
    unsigned long long ops;
    size_t memlim;
    struct envelope_post_key *pk = NULL;
    struct keys_device *dev[2] = {NULL, NULL};
    struct registry *reg = NULL;
    if (keys_pwhash_limits("min", &ops, &memlim) || keys_post_generate(&pk, err, sizeof err) ||
        keys_post_save(pk, pub, key, PASS, ops, memlim, err, sizeof err) ||
        keys_device_generate(&dev[0], err, sizeof err) ||
        keys_device_generate(&dev[1], err, sizeof err) ||
        registry_open(&reg, reg_path, 1, err, sizeof err) ||
        registry_enrol(reg, "bench-01", dev[0]->pk, 1000, err, sizeof err) ||
        registry_enrol(reg, "bench-02", dev[1]->pk, 1000, err, sizeof err))
        die("post folder", err);
    registry_close(reg);
    struct console *c = NULL;
    if (console_open(&c, dir, err, sizeof err))
        die("console_open", err);
    struct mem ogg = make_ogg(), env = {0};
    char text[2048];
    double t0 = bench_now();
    uint64_t bytes = 0;
    for (int i = 0; i < TIPS; i++) {
        struct envelope_meta meta = {.category = (uint8_t)(1 + i % 7),
                                     .capture_day = 2000,
                                     .codec = i % 10 == 0 ? CODEC_OGG_OPUS : CODEC_NONE};
        snprintf(meta.language, sizeof meta.language, "%s", i % 5 ? "vi" : "hmn");
        struct envelope_writer *w = NULL;
        env.len = 0;
        if (envelope_writer_new(&w, pk->pk, dev[i % 3 == 0]->sk, &meta, mem_sink, &env, NULL, err,
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
        bytes += env.len;
    }
    printf("  postbox: %s tips, %s MB of envelopes, stored in %.1f s\n", bench_num(TIPS),
           bench_num(bytes >> 20), bench_now() - t0);

    char ipath[4200];
    struct tipindex *ix = NULL;
    path_of(ipath, sizeof ipath, TIPINDEX_DB_NAME);
    t0 = bench_now();
    if (console_unlock(c, PASS, err, sizeof err) || tipindex_open(&ix, ipath, err, sizeof err) ||
        tipindex_unlock(ix, c, err, sizeof err))
        die("unlock", err);
    int left;
    while ((left = tipindex_refresh(ix, c, 500, err, sizeof err)) > 0)
        ;
    if (left < 0)
        die("tipindex_refresh", err);
    double took = bench_now() - t0;
    struct stat sb;
    stat(ipath, &sb);
    printf("  indexed once: %.1f s (%.2f ms a tip), tipindex.db %s KB\n", took, took * 1e3 / TIPS,
           bench_num((uint64_t)sb.st_size >> 10));
    tipindex_close(ix);
    console_close(c);
    keys_post_free(pk);
    keys_device_free(dev[0]);
    keys_device_free(dev[1]);
    free(ogg.b);
    free(env.b);
}

/* ---- measuring, each in a new process ---- */

struct figures {
    double locked, unlock, first_page, search_vi, search_ascii, baseline;
    long rss_kb;
    size_t total, hits_vi, hits_ascii, rows;
};

static void child_list(int fd)
{
    struct figures r = {0};
    char err[512] = "", ipath[4200];
    struct console *c = NULL;
    struct tipindex *ix = NULL;
    static struct tipindex_row rows[PAGE];
    size_t n = 0, total = 0;
    struct tipindex_filter f = TIPINDEX_FILTER_ALL;
    f.limit = PAGE;
    path_of(ipath, sizeof ipath, TIPINDEX_DB_NAME);
    double t0 = bench_now();
    if (console_open(&c, dir, err, sizeof err) || tipindex_open(&ix, ipath, err, sizeof err) ||
        tipindex_query(ix, c, &f, rows, PAGE, &n, &total, err, sizeof err))
        die("locked page", err);
    r.locked = bench_now() - t0;
    if (console_unlock(c, PASS, err, sizeof err))
        die("console_unlock", err);
    t0 = bench_now();
    if (tipindex_unlock(ix, c, err, sizeof err))
        die("tipindex_unlock", err);
    double t1 = bench_now();
    if (tipindex_query(ix, c, &f, rows, PAGE, &n, &total, err, sizeof err))
        die("first page", err);
    double t2 = bench_now();
    r.unlock = t2 - t0;
    r.first_page = t2 - t1;
    r.total = total;
    r.rows = n;
    for (size_t i = 0; i < n; i++)
        if (!rows[i].indexed)
            die("first page", "a row is not indexed");
    f.q = WORD;
    t0 = bench_now();
    if (tipindex_query(ix, c, &f, rows, PAGE, &n, &r.hits_vi, err, sizeof err))
        die("search", err);
    r.search_vi = bench_now() - t0;
    f.q = "suoi";
    t0 = bench_now();
    if (tipindex_query(ix, c, &f, rows, PAGE, &n, &r.hits_ascii, err, sizeof err))
        die("search", err);
    r.search_ascii = bench_now() - t0;
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    r.rss_kb = ru.ru_maxrss;
    tipindex_close(ix);
    console_close(c);
    if (write(fd, &r, sizeof r) != (ssize_t)sizeof r)
        _exit(1);
}

/* The sealed rows as SQLite gives them, every byte touched, nothing opened. */
static void child_baseline(int fd)
{
    struct figures r = {0};
    char ipath[4200];
    path_of(ipath, sizeof ipath, TIPINDEX_DB_NAME);
    double t0 = bench_now();
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    if (sqlite3_open_v2(ipath, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(db, "SELECT seq, facts FROM tip WHERE facts IS NOT NULL", -1, &st,
                           NULL) != SQLITE_OK)
        die("baseline", sqlite3_errmsg(db));
    volatile uint64_t sum = 0; /* every sealed byte's cache line touched */
    size_t rows = 0;
    while (sqlite3_step(st) == SQLITE_ROW) {
        const uint8_t *b = sqlite3_column_blob(st, 1);
        int len = sqlite3_column_bytes(st, 1);
        for (int i = 0; i < len; i += 64)
            sum += b[i];
        rows++;
    }
    sqlite3_finalize(st);
    sqlite3_close(db);
    r.baseline = bench_now() - t0;
    r.rows = rows;
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    r.rss_kb = ru.ru_maxrss;
    if (write(fd, &r, sizeof r) != (ssize_t)sizeof r)
        _exit(1);
}

static struct figures in_child(void (*fn)(int fd))
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
        fn(p[1]);
        _exit(0);
    }
    close(p[1]);
    struct figures r;
    ssize_t got = read(p[0], &r, sizeof r);
    close(p[0]);
    int status = 0;
    waitpid(pid, &status, 0);
    if (got != (ssize_t)sizeof r || !WIFEXITED(status) || WEXITSTATUS(status))
        die("child", "a measuring process failed");
    return r;
}

static void mm(double *v, double *mn, double *md)
{
    bench_min_median(v, ROUNDS, mn, md);
    *mn *= 1e3;
    *md *= 1e3;
}

int main(void)
{
    if (sodium_init() < 0)
        die("libsodium", "cannot start");
    printf("bench_tipindex: the station's list at %s tips (%d rounds, each in a new process)\n",
           bench_num(TIPS), ROUNDS);
    /* BENCH_TIPINDEX_DIR: a folder kept between runs (made and filled when empty), to
       profile the measuring without building 10,000 tips each time. */
    const char *keep = getenv("BENCH_TIPINDEX_DIR");
    char probe[4200];
    if (keep && *keep) {
        snprintf(dir, sizeof dir, "%s", keep);
        mkdir(dir, 0700);
        path_of(probe, sizeof probe, TIPINDEX_DB_NAME);
        if (access(probe, F_OK) != 0)
            build();
        else
            printf("  postbox and index from %s\n", dir);
    } else {
        const char *tmp = getenv("TMPDIR");
        snprintf(dir, sizeof dir, "%s/bench_tipindex.XXXXXX", tmp && *tmp ? tmp : "/tmp");
        if (!mkdtemp(dir))
            die("mkdtemp", strerror(errno));
        atexit(cleanup);
        build();
    }

    double locked[ROUNDS], unlock[ROUNDS], page[ROUNDS], svi[ROUNDS], sascii[ROUNDS], base[ROUNDS];
    long rss = 0, brss = 0;
    size_t base_rows = 0;
    struct figures last = {0};
    for (int i = 0; i < ROUNDS; i++) {
        struct figures a = in_child(child_list), b = in_child(child_baseline);
        locked[i] = a.locked;
        unlock[i] = a.unlock;
        page[i] = a.first_page;
        svi[i] = a.search_vi;
        sascii[i] = a.search_ascii;
        base[i] = b.baseline;
        rss = a.rss_kb > rss ? a.rss_kb : rss;
        brss = b.rss_kb > brss ? b.rss_kb : brss;
        last = a;
        base_rows = b.rows;
    }
    double mn, md, bmn, bmd, umn, umd;
    printf("  figures: min / median ms\n");
    mm(locked, &mn, &md);
    printf("    locked: open + first page of %d of %s        %8.1f / %8.1f\n", PAGE,
           bench_num(last.total), mn, md);
    mm(unlock, &umn, &umd);
    printf("    tipindex_unlock -> first page of %zu of %s   %8.1f / %8.1f\n", last.rows,
           bench_num(last.total), umn, umd);
    mm(page, &mn, &md);
    printf("      of which the page itself                  %8.1f / %8.1f\n", mn, md);
    mm(base, &bmn, &bmd);
    printf("    baseline: %s sealed rows read, not opened %8.1f / %8.1f\n", bench_num(base_rows),
           bmn, bmd);
    printf("    ratio unlock->page / baseline (medians)      %8.2f\n", bmd > 0 ? umd / bmd : 0);
    mm(svi, &mn, &md);
    printf("    search \"%s\" over %s: %zu found           %8.1f / %8.1f\n", WORD,
           bench_num(last.total), last.hits_vi, mn, md);
    mm(sascii, &mn, &md);
    printf("    search \"suoi\" over %s: %zu found           %8.1f / %8.1f\n",
           bench_num(last.total), last.hits_ascii, mn, md);
    printf("  peak RSS: list process %s KB, baseline process %s KB\n", bench_num((uint64_t)rss),
           bench_num((uint64_t)brss));
    return 0;
}
