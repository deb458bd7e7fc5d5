/*
 * bench_envelope — what sealing costs in bytes and in time.
 *
 * Bytes: 10, 20, 30, 60 and 180 s tips of the test speech (looped), 12 kbps.
 *   payload  = the Ogg bytes (what the post plays);
 *   padding  = the PAD record's zeros plus the AEAD tags of chunks that
 *              exist only to reach the size bucket: a deliberate privacy
 *              cost (docs/envelope.md), printed apart;
 *   framing  = envelope − clear header/trailer (252 B) − padding − payload:
 *              AEAD tags, record headers, META, WHEN-less SIG. Goal ≤ 1 %.
 *   The record layout (5-byte record header, 16-byte META, 64-byte SIG) is
 *   format v2 (sizes as v1) as docs/envelope.md gives it.
 *
 * Time: seal + commit per chunk through the path tip.c uses (envelope
 * writer → queue_envelope_sink → queue.db on this disk, WAL +
 * synchronous=FULL), against a baseline measured in the same run: a plain
 * SQLite insert + commit of a blob of the same size (4113 B) with the same
 * pragmas. Then whole tips through tip.c, PCM in to sealed in the queue.
 */
#include "bench.h"
#include "core/envelope.h"
#include "core/queue.h"
#include "kiosk/tip.h"

#include <sodium.h>
#include <sqlite3.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define REC_HDR 5 /* docs/envelope.md: type (1) + length (u32) */
#define META_REC (REC_HDR + 16)
#define SIG_REC (REC_HDR + 64)
#define CLEAR_BYTES (ENVELOPE_HEADER_BYTES + ENVELOPE_TRAILER_BYTES)
#define COMMIT_TIPS 3 /* 180 s tips sealed into the queue for the timing */

static uint8_t post_pk[32], post_sk[32];
static struct tip_keys keys;
static int16_t *speech;

/* n samples of the speech, looped; caller frees. */
static int16_t *looped(size_t n)
{
    int16_t *p = malloc(n * sizeof *p);
    if (!p)
        exit(1);
    for (size_t i = 0; i < n; i += BENCH_SPEECH_SAMPLES) {
        size_t k = n - i < BENCH_SPEECH_SAMPLES ? n - i : BENCH_SPEECH_SAMPLES;
        memcpy(p + i, speech, k * sizeof *p);
    }
    return p;
}

static void die(const char *what, const char *err)
{
    fprintf(stderr, "bench_envelope: %s: %s\n", what, err);
    exit(1);
}

/* ---- bytes ---- */

struct tally {
    uint64_t envelope, chunks;
    uint64_t ogg, pages;
    uint8_t *ogg_copy; /* kept for the timing runs */
    size_t ogg_cap;
};

static int tally_sink(void *ctx, enum envelope_piece kind, uint32_t index, const uint8_t *b,
                      size_t len)
{
    struct tally *t = ctx;
    (void)index;
    (void)b;
    t->envelope += len;
    t->chunks += kind == PIECE_CHUNK;
    return 0;
}

static void tally_tee(void *ctx, const uint8_t *ogg, size_t len)
{
    struct tally *t = ctx;
    if (t->ogg + len > t->ogg_cap) {
        t->ogg_cap = (t->ogg + len) * 2;
        t->ogg_copy = realloc(t->ogg_copy, t->ogg_cap);
        if (!t->ogg_copy)
            exit(1);
    }
    memcpy(t->ogg_copy + t->ogg, ogg, len);
    t->ogg += len;
    t->pages++;
}

static struct tally seal_in_memory(int seconds)
{
    struct tally t = {0};
    struct envelope_meta m = {
        .language = "vi", .category = CATEGORY_OTHER, .codec = CODEC_OGG_OPUS};
    struct capture_opts o = {.tee = tally_tee, .tee_ctx = &t};
    struct envelope_writer *w = NULL;
    struct capture *c = NULL;
    char err[256] = "";
    size_t n = (size_t)seconds * 16000;
    int16_t *pcm = looped(n);
    if (envelope_writer_new(&w, post_pk, keys.device_sk, &m, tally_sink, &t, NULL, err,
                            sizeof err) ||
        capture_new(&c, w, &o, err, sizeof err))
        die("start", err);
    for (size_t i = 0; i < n; i += 320)
        if (capture_write(c, pcm + i, n - i < 320 ? n - i : 320, err, sizeof err))
            die("encode", err);
    if (capture_finish(c, err, sizeof err) || envelope_writer_finish(w, err, sizeof err))
        die("finish", err);
    capture_free(c);
    envelope_writer_free(w);
    free(pcm);
    return t;
}

static void report_bytes(int seconds, const struct tally *t)
{
    uint64_t cap = t->chunks * ENVELOPE_CHUNK_PLAIN;
    uint64_t records = META_REC + t->pages * REC_HDR + t->ogg + REC_HDR /* PAD */ + SIG_REC;
    uint64_t pad_zeros = cap - records;
    uint64_t needed = (records + ENVELOPE_CHUNK_PLAIN - 1) / ENVELOPE_CHUNK_PLAIN;
    uint64_t padding =
        pad_zeros + (t->chunks - needed) * (ENVELOPE_CHUNK_CIPHER - ENVELOPE_CHUNK_PLAIN);
    uint64_t framing = t->envelope - CLEAR_BYTES - padding - t->ogg;
    double fpct = 100.0 * (double)framing / (double)t->ogg;
    /* The goal counts what grows with the tip: the per-tip records (META,
       PAD header, SIG) are fixed like the clear header and trailer. */
    uint64_t fixed = META_REC + REC_HDR + SIG_REC;
    double gpct = 100.0 * (double)(framing - fixed) / (double)t->ogg;
    printf("  %4d s  %9s  %9s  %3llu→%-3llu  %7s  %5.2f %%  %8s  %5.1f %%   %5.2f %% %s\n",
           seconds, bench_num(t->ogg), bench_num(t->envelope), (unsigned long long)needed,
           (unsigned long long)t->chunks, bench_num(framing), fpct, bench_num(padding),
           100.0 * (double)padding / (double)t->ogg, gpct, gpct <= 1.0 ? "MET" : "MISSED");
}

/* ---- time ---- */

struct timed_sink {
    struct queue_sink qs;
    double commit;   /* seconds inside queue_envelope_sink for chunks */
    double *samples; /* each chunk's commit time */
    uint64_t chunks, cap;
};

static int timed_sink(void *ctx, enum envelope_piece kind, uint32_t index, const uint8_t *b,
                      size_t len)
{
    struct timed_sink *s = ctx;
    double t0 = bench_now();
    int rc = queue_envelope_sink(&s->qs, kind, index, b, len);
    if (kind == PIECE_CHUNK) {
        double t = bench_now() - t0;
        s->commit += t;
        if (s->chunks < s->cap)
            s->samples[s->chunks] = t;
        s->chunks++;
    }
    return rc;
}

/*
 * Seal the Ogg bytes of a tip into the queue. Adds each chunk's commit
 * time to commits[] (from *n on) and returns the seal time (all but the
 * commits) of the whole tip.
 */
static double seal_into_queue(struct queue *q, const struct tally *src, double *commits,
                              uint64_t cap, uint64_t *n)
{
    struct envelope_meta m = {
        .language = "vi", .category = CATEGORY_OTHER, .codec = CODEC_OGG_OPUS};
    struct timed_sink s = {.qs = {.q = q, .now = 1744977600, .clock_trusted = 1},
                           .samples = commits + *n,
                           .cap = cap - *n};
    struct envelope_writer *w = NULL;
    char err[256] = "";
    double t0 = bench_now();
    if (envelope_writer_new(&w, post_pk, keys.device_sk, &m, timed_sink, &s, NULL, err, sizeof err))
        die("queue tip", s.qs.last_error ? s.qs.err : err);
    /* Pages of the size libopusenc makes (~1.3 KB at 12 kbps). */
    for (uint64_t at = 0; at < src->ogg; at += 1300) {
        size_t len = src->ogg - at < 1300 ? (size_t)(src->ogg - at) : 1300;
        if (envelope_write_audio(w, src->ogg_copy + at, len))
            die("queue chunk", s.qs.err);
    }
    if (envelope_writer_finish(w, err, sizeof err))
        die("queue seal", s.qs.last_error ? s.qs.err : err);
    double t = bench_now() - t0;
    envelope_writer_free(w);
    *n += s.chunks < s.cap ? s.chunks : s.cap;
    return t - s.commit;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Baseline: plain SQLite, same pragmas as src/core/queue.c, one blob per commit. */
struct baseline {
    sqlite3 *db;
    sqlite3_stmt *insert;
    uint8_t tip[16];
    int64_t next;
};

static void baseline_open(struct baseline *b, const char *dir)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/baseline.db", dir);
    memset(b, 0, sizeof *b);
    if (sqlite3_open(path, &b->db) != SQLITE_OK)
        die("baseline", sqlite3_errmsg(b->db));
    static const char *const setup[] = {
        "PRAGMA journal_mode = WAL",
        "PRAGMA synchronous = FULL",
        "PRAGMA secure_delete = ON",
        "PRAGMA foreign_keys = ON",
        "PRAGMA temp_store = MEMORY",
        "PRAGMA journal_size_limit = 4194304",
        "CREATE TABLE chunks (tip BLOB NOT NULL, idx INTEGER NOT NULL, bytes BLOB NOT NULL,"
        " PRIMARY KEY (tip, idx)) WITHOUT ROWID",
    };
    for (size_t i = 0; i < sizeof setup / sizeof setup[0]; i++)
        if (sqlite3_exec(b->db, setup[i], NULL, NULL, NULL) != SQLITE_OK)
            die("baseline", sqlite3_errmsg(b->db));
    if (sqlite3_prepare_v2(b->db, "INSERT INTO chunks VALUES (?1, ?2, ?3)", -1, &b->insert, NULL))
        die("baseline", sqlite3_errmsg(b->db));
    randombytes_buf(b->tip, sizeof b->tip);
}

/* `count` inserts, each its own transaction; times appended to out[*n...]. */
static void baseline_run(struct baseline *b, uint64_t count, double *out, uint64_t cap, uint64_t *n)
{
    uint8_t blob[ENVELOPE_CHUNK_CIPHER];
    for (uint64_t i = 0; i < count; i++) {
        randombytes_buf(blob, sizeof blob); /* ciphertext-like */
        double t0 = bench_now();
        sqlite3_exec(b->db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
        sqlite3_bind_blob(b->insert, 1, b->tip, sizeof b->tip, SQLITE_STATIC);
        sqlite3_bind_int64(b->insert, 2, b->next++);
        sqlite3_bind_blob(b->insert, 3, blob, sizeof blob, SQLITE_STATIC);
        if (sqlite3_step(b->insert) != SQLITE_DONE)
            die("baseline insert", sqlite3_errmsg(b->db));
        sqlite3_reset(b->insert);
        if (sqlite3_exec(b->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
            die("baseline commit", sqlite3_errmsg(b->db));
        if (*n < cap)
            out[(*n)++] = bench_now() - t0;
    }
}

static void baseline_close(struct baseline *b)
{
    sqlite3_finalize(b->insert);
    sqlite3_close(b->db);
}

/* The q-quantile (0..1) of v; sorts v. */
static double quantile(double *v, uint64_t n, double q)
{
    qsort(v, n, sizeof *v, cmp_double);
    return n ? v[(uint64_t)(q * (double)(n - 1) + 0.5)] : 0;
}

static double mean(const double *v, uint64_t n)
{
    double s = 0;
    for (uint64_t i = 0; i < n; i++)
        s += v[i];
    return n ? s / (double)n : 0;
}

/* A whole tip through tip.c: PCM in, sealed in the queue. */
static void tip_through_queue(struct queue *q, int seconds, double *realtime, double *send_ms)
{
    struct envelope_meta m = {.language = "vi", .category = CATEGORY_OTHER};
    struct capture_opts o = {0};
    struct tip_session *s = NULL;
    char err[256] = "";
    size_t n = (size_t)seconds * 16000;
    int16_t *pcm = looped(n);
    double t0 = bench_now();
    if (tip_begin(&s, q, &keys, &m, &o, 1744977600, 1, err, sizeof err))
        die("tip_begin", err);
    for (size_t i = 0; i < n; i += 320)
        if (tip_add_pcm(s, pcm + i, n - i < 320 ? n - i : 320, err, sizeof err))
            die("tip_add_pcm", err);
    double t1 = bench_now();
    if (tip_send(s, 1744977600 + seconds, err, sizeof err))
        die("tip_send", err);
    double t2 = bench_now();
    *realtime = seconds / (t2 - t0);
    *send_ms = (t2 - t1) * 1e3;
    free(pcm);
}

static void remove_dir(const char *dir)
{
    static const char *const names[] = {"queue.db",    "queue.db-wal",    "queue.db-shm",
                                        "baseline.db", "baseline.db-wal", "baseline.db-shm"};
    char path[4200];
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        unlink(path);
    }
    rmdir(dir);
}

int main(void)
{
    uint8_t dev_pk[32];
    if (sodium_init() < 0)
        return 1;
    crypto_box_keypair(post_pk, post_sk);
    crypto_sign_keypair(dev_pk, keys.device_sk);
    memcpy(keys.post_pk, post_pk, 32);
    speech = bench_speech();

    printf("Envelope overhead, test speech at 12 kbps (clear header+trailer %d B not counted)\n",
           CLEAR_BYTES);
    printf("  tip     Ogg B      envelope   chunks   framing  of Ogg   padding   of Ogg   "
           "beyond the fixed %d B, goal ≤ 1 %%\n",
           (int)(META_REC + REC_HDR + SIG_REC));
    static const int lengths[] = {10, 20, 30, 60, 180};
    struct tally longest = {0};
    uint64_t ogg_per_minute = 0;
    for (size_t i = 0; i < sizeof lengths / sizeof lengths[0]; i++) {
        struct tally t = seal_in_memory(lengths[i]);
        report_bytes(lengths[i], &t);
        if (lengths[i] == 60)
            ogg_per_minute = t.ogg;
        if (i + 1 == sizeof lengths / sizeof lengths[0])
            longest = t;
        else
            free(t.ogg_copy);
    }
    printf("  (chunks: needed→stored; the size bucket pads short tips to %d chunks and\n"
           "   longer ones by at most ~12 %%, so a tip's length tells only its size class.\n"
           "   Framing counts %d B per tip of META, PAD header and SIG records, %d B per\n"
           "   chunk of AEAD tag and %d B per Ogg page of record header.)\n\n",
           ENVELOPE_MIN_CHUNKS, META_REC + REC_HDR + SIG_REC,
           ENVELOPE_CHUNK_CIPHER - ENVELOPE_CHUNK_PLAIN, REC_HDR);

    /* On the build's disk, not a tmpfs: the fsyncs are the point. */
    char dir[4000]; /* paths built from it below fit in 4200 */
    snprintf(dir, sizeof dir, "%s/bench-envelope-XXXXXX", bench_build());
    if (!mkdtemp(dir))
        die("mkdtemp", dir);
    struct queue *q = NULL;
    unsigned faults = 0;
    char err[256] = "";
    if (queue_open(&q, dir, &faults, err, sizeof err))
        die("queue_open", err);

    /*
     * Interleaved: a tip into the queue, then as many baseline inserts,
     * and again, so that a busy disk or neighbour weighs on both alike.
     */
    enum { CAP = 4096 };
    static double commits[CAP], base[CAP];
    uint64_t nc = 0, nb = 0;
    double seal = 0;
    struct baseline b;
    baseline_open(&b, dir);
    for (int i = 0; i < COMMIT_TIPS; i++) {
        uint64_t before = nc;
        seal += seal_into_queue(q, &longest, commits, CAP, &nc);
        baseline_run(&b, nc - before, base, CAP, &nb);
    }
    baseline_close(&b);
    double seal_per = seal / (double)nc;
    double c_mean = mean(commits, nc), b_mean = mean(base, nb);
    double c_med = quantile(commits, nc, 0.5), b_med = quantile(base, nb, 0.5);
    double c_p90 = quantile(commits, nc, 0.9), b_p90 = quantile(base, nb, 0.9);
    double c_max = quantile(commits, nc, 1), b_max = quantile(base, nb, 1);
    printf("Seal + commit per chunk (%d tips of 180 s, %s chunks, queue on %s)\n", COMMIT_TIPS,
           bench_num(nc), dir);
    printf("  baseline: plain SQLite insert+commit of %d B, same pragmas, same run:\n"
           "            %.3f ms median, %.3f ms mean\n",
           ENVELOPE_CHUNK_CIPHER, b_med * 1e3, b_mean * 1e3);
    printf("  queue commit (queue_envelope_sink): %.3f ms median (%.2f × baseline), "
           "%.3f ms mean (%.2f ×)\n",
           c_med * 1e3, c_med / b_med, c_mean * 1e3, c_mean / b_mean);
    printf("  p90 / max: queue %.3f / %.1f ms, baseline %.3f / %.1f ms\n", c_p90 * 1e3, c_max * 1e3,
           b_p90 * 1e3, b_max * 1e3);
    printf("  seal (encrypt + sign a chunk): %.3f ms\n", seal_per * 1e3);
    printf("  seal + commit: %.3f ms per chunk (%.2f × baseline mean)\n", (seal_per + c_mean) * 1e3,
           (seal_per + c_mean) / b_mean);
    double chunk_seconds = 60.0 * ENVELOPE_CHUNK_PLAIN / (double)ogg_per_minute;
    printf("  a chunk holds %.1f s of speech at 12 kbps: sealing and committing take %.3f %% "
           "of it\n\n",
           chunk_seconds, 100.0 * (seal_per + c_mean) / chunk_seconds);
    double base_ms = b_mean * 1e3;

    printf("Whole tips through tip.c (PCM in, sealed in the queue)\n");
    static const int tip_lengths[] = {10, 180};
    for (size_t i = 0; i < sizeof tip_lengths / sizeof tip_lengths[0]; i++) {
        double rt = 0, send_ms = 0;
        tip_through_queue(q, tip_lengths[i], &rt, &send_ms);
        printf("  %3d s tip: %4.0f× realtime; tip_send %.1f ms (%.1f × a baseline commit)\n",
               tip_lengths[i], rt, send_ms, send_ms / base_ms);
    }

    queue_close(q);
    remove_dir(dir);
    free(longest.ogg_copy);
    free(speech);
    return 0;
}
