/*
 * crashwriter — a kiosk that records tip after tip until it is killed.
 *
 *   crashwriter DATA_DIR
 *
 * Used by tests/test_crash.c, which kills it (kill -9) or lets it "lose
 * power" and then checks that the queue kept every promise the lines on
 * stdout made (protocol in tests/crashkit.h).
 *
 * Environment:
 *   HOMTHU_CRASH_SEED=n        sizes and timing of the tips (default 1)
 *   HOMTHU_CRASH_TIPS=n        stop after n tips and exit 0 (default 1000)
 *   HOMTHU_CRASH_PCM=file      raw 16 kHz mono s16 speech to feed, instead of
 *                              a synthetic voice-like waveform
 *   HOMTHU_POWERCUT_AFTER=n    power cut at the n-th write/truncate/sync the
 *                              queue does (see below); exits 137
 *   HOMTHU_POWERCUT_TORN=1     at the cut, each unsynced write is lost or
 *                              kept at random instead of all being lost
 *   HOMTHU_POWERCUT_TRACE=file log every write/truncate/sync and every undo
 *                              played at the cut (to debug a failing run)
 *
 * The power cut: kill -9 keeps the OS page cache, so every write SQLite
 * made survives it. A power cut keeps only what was fsynced. This file's
 * VFS wraps SQLite's unix VFS and keeps, per open file, an undo log with
 * the pre-image of every write and truncate since that file's last xSync.
 * At the n-th operation (which never happens) it plays the logs backwards,
 * putting each file back to what the disk held at its last sync (or, torn,
 * to a random mix of each unsynced write lost or kept, which POSIX allows
 * between two syncs), and _exit(137)s. The -shm is memory, rebuilt by
 * SQLite at the next open. Not modelled: lost directory entries (SQLite
 * syncs the directory for the WAL it creates; queue.c for queue.db).
 */
#include <errno.h>
#include <math.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../crashkit.h"
#include "kiosk/tip.h"

/* ------------------------------------------------------------------ */
/* reproducible randomness                                             */

/*
 * Tip ids, envelope keys and SQLite's WAL salts all come from the seed, so
 * a power-cut run that fails replays exactly (same tips, same b-tree
 * splits, same N-th operation). Test keys only: never in the kiosk.
 */
static uint8_t det_seed[randombytes_SEEDBYTES];
static uint64_t det_counter;

static void det_buf(void *const buf, const size_t size)
{
    uint8_t s[randombytes_SEEDBYTES];
    memcpy(s, det_seed, sizeof s);
    for (int i = 0; i < 8; i++)
        s[8 + i] = (uint8_t)(det_counter >> (8 * i)); /* bytes 0..7 hold the seed */
    det_counter++;
    randombytes_buf_deterministic(buf, size, s);
}

static uint32_t det_random(void)
{
    uint32_t r;
    det_buf(&r, sizeof r);
    return r;
}

static const char *det_name(void)
{
    return "homthu-crashwriter-deterministic";
}

static randombytes_implementation det_impl = {
    .implementation_name = det_name, .random = det_random, .buf = det_buf};

static int det_sqlite_randomness(sqlite3_vfs *vfs, int n, char *out)
{
    (void)vfs;
    det_buf(out, (size_t)n);
    return n;
}

/* ------------------------------------------------------------------ */
/* the power-cut VFS                                                   */

/*
 * The unix VFS moves at most 128 KiB per xRead/xWrite (it masks the count
 * with 0x1ffff: SQLite never asks for more than a page), while the undo of
 * a WAL truncated to zero is the whole WAL. Found the hard way: restoring
 * it in one call wrote 88 KiB of 342 and left zeros, which the power-cut
 * test took for corruption by SQLite.
 */
#define IO_SLICE 65536

struct undo {
    struct undo *prev;
    sqlite3_int64 off;      /* where the pre-image goes back */
    sqlite3_int64 old_size; /* file size before the operation */
    int len;
    uint8_t data[];
};

struct pc_file {
    sqlite3_file base;
    sqlite3_file *real; /* the unix VFS's file, allocated right after us */
    struct undo *log;   /* newest first, since the last xSync */
    struct pc_file *next_open;
    char name[64]; /* for the trace */
};

static sqlite3_vfs *unix_vfs;
static sqlite3_vfs pc_vfs;
static long pc_ops, pc_cut_at = -1;
static int pc_torn;
static struct pc_file *pc_open_files;
static FILE *pc_trace; /* HOMTHU_POWERCUT_TRACE: every operation, to debug a failing cut */
static uint64_t rng_state = 1;

static uint32_t rng(void)
{
    /* xorshift64*: reproducible from HOMTHU_CRASH_SEED, good enough here. */
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return (uint32_t)((rng_state * 2685821657736338717ull) >> 32);
}

#define REAL(f) (((struct pc_file *)(f))->real)

static void free_log(struct pc_file *p)
{
    while (p->log) {
        struct undo *u = p->log;
        p->log = u->prev;
        free(u);
    }
}

/* The power goes: every file back to its last synced state, then die. */
static _Noreturn void power_cut(void)
{
    long restored = 0, kept = 0;
    for (struct pc_file *p = pc_open_files; p; p = p->next_open) {
        for (struct undo *u = p->log; u; u = u->prev) {
            if (pc_torn && (rng() & 1)) {
                kept++;
                continue; /* this write reached the platter after all */
            }
            if (pc_trace) {
                long zeros = 0;
                for (int i = 0; i < u->len; i++)
                    zeros += u->data[i] == 0;
                fprintf(pc_trace, "undo %s off=%lld len=%d old_size=%lld zeros=%ld\n", p->name,
                        (long long)u->off, u->len, (long long)u->old_size, zeros);
            }
            for (int at = 0; at < u->len; at += IO_SLICE) {
                int n = u->len - at < IO_SLICE ? u->len - at : IO_SLICE;
                REAL(p)->pMethods->xWrite(REAL(p), u->data + at, n, u->off + at);
            }
            REAL(p)->pMethods->xTruncate(REAL(p), u->old_size);
            restored++;
        }
    }
    if (pc_trace)
        fflush(pc_trace);
    fprintf(stderr, "crashwriter: power cut at operation %ld: %ld unsynced writes lost, %ld kept\n",
            pc_ops, restored, kept);
    _exit(137);
}

static void count_op(struct pc_file *p, const char *op, sqlite3_int64 off, sqlite3_int64 len)
{
    ++pc_ops;
    if (pc_trace) {
        sqlite3_int64 size = -1;
        REAL(p)->pMethods->xFileSize(REAL(p), &size);
        fprintf(pc_trace, "%ld %s %s off=%lld len=%lld size=%lld%s\n", pc_ops, p->name, op,
                (long long)off, (long long)len, (long long)size, pc_ops == pc_cut_at ? " CUT" : "");
        fflush(pc_trace);
    }
    if (pc_ops == pc_cut_at)
        power_cut();
}

/* Save what [off, off+len) holds now, and the size, before changing it. */
static int save_undo(struct pc_file *p, sqlite3_int64 off, sqlite3_int64 len)
{
    sqlite3_int64 size = 0;
    int rc = REAL(p)->pMethods->xFileSize(REAL(p), &size);
    if (rc != SQLITE_OK)
        return rc;
    sqlite3_int64 have = size > off ? size - off : 0;
    if (have > len)
        have = len;
    struct undo *u = malloc(sizeof *u + (size_t)have);
    if (!u)
        return SQLITE_NOMEM;
    u->off = off;
    u->old_size = size;
    u->len = (int)have;
    for (sqlite3_int64 at = 0; at < have; at += IO_SLICE) {
        int n = have - at < IO_SLICE ? (int)(have - at) : IO_SLICE;
        rc = REAL(p)->pMethods->xRead(REAL(p), u->data + at, n, off + at);
        if (rc != SQLITE_OK) {
            free(u);
            return rc;
        }
    }
    u->prev = p->log;
    p->log = u;
    return SQLITE_OK;
}

static int pc_close(sqlite3_file *f)
{
    struct pc_file *p = (struct pc_file *)f;
    for (struct pc_file **pp = &pc_open_files; *pp; pp = &(*pp)->next_open)
        if (*pp == p) {
            *pp = p->next_open;
            break;
        }
    free_log(p);
    return REAL(f)->pMethods->xClose(REAL(f));
}
static int pc_read(sqlite3_file *f, void *b, int n, sqlite3_int64 off)
{
    return REAL(f)->pMethods->xRead(REAL(f), b, n, off);
}
static int pc_write(sqlite3_file *f, const void *b, int n, sqlite3_int64 off)
{
    count_op((struct pc_file *)f, "write", off, n);
    int rc = save_undo((struct pc_file *)f, off, n);
    return rc != SQLITE_OK ? rc : REAL(f)->pMethods->xWrite(REAL(f), b, n, off);
}
static int pc_truncate(sqlite3_file *f, sqlite3_int64 size)
{
    count_op((struct pc_file *)f, "truncate", size, 0);
    sqlite3_int64 now = 0;
    int rc = REAL(f)->pMethods->xFileSize(REAL(f), &now);
    if (rc == SQLITE_OK)
        rc = save_undo((struct pc_file *)f, size, now > size ? now - size : 0);
    return rc != SQLITE_OK ? rc : REAL(f)->pMethods->xTruncate(REAL(f), size);
}
static int pc_sync(sqlite3_file *f, int flags)
{
    count_op((struct pc_file *)f, "sync", 0, flags);
    int rc = REAL(f)->pMethods->xSync(REAL(f), flags);
    if (rc == SQLITE_OK)
        free_log((struct pc_file *)f); /* on the disk now: nothing to undo */
    return rc;
}
static int pc_size(sqlite3_file *f, sqlite3_int64 *size)
{
    return REAL(f)->pMethods->xFileSize(REAL(f), size);
}
static int pc_lock(sqlite3_file *f, int l)
{
    return REAL(f)->pMethods->xLock(REAL(f), l);
}
static int pc_unlock(sqlite3_file *f, int l)
{
    return REAL(f)->pMethods->xUnlock(REAL(f), l);
}
static int pc_check_lock(sqlite3_file *f, int *out)
{
    return REAL(f)->pMethods->xCheckReservedLock(REAL(f), out);
}
static int pc_fcntl(sqlite3_file *f, int op, void *arg)
{
    return REAL(f)->pMethods->xFileControl(REAL(f), op, arg);
}
static int pc_sector(sqlite3_file *f)
{
    return REAL(f)->pMethods->xSectorSize(REAL(f));
}
static int pc_devchar(sqlite3_file *f)
{
    return REAL(f)->pMethods->xDeviceCharacteristics(REAL(f));
}
static int pc_shm_map(sqlite3_file *f, int pg, int sz, int extend, void volatile **pp)
{
    return REAL(f)->pMethods->xShmMap(REAL(f), pg, sz, extend, pp);
}
static int pc_shm_lock(sqlite3_file *f, int off, int n, int flags)
{
    return REAL(f)->pMethods->xShmLock(REAL(f), off, n, flags);
}
static void pc_shm_barrier(sqlite3_file *f)
{
    REAL(f)->pMethods->xShmBarrier(REAL(f));
}
static int pc_shm_unmap(sqlite3_file *f, int del)
{
    return REAL(f)->pMethods->xShmUnmap(REAL(f), del);
}

/* Version 2: no xFetch (memory-mapped reads), so the logs see every change. */
static const sqlite3_io_methods pc_io = {
    2,           pc_close,       pc_read,       pc_write, pc_truncate, pc_sync,    pc_size,
    pc_lock,     pc_unlock,      pc_check_lock, pc_fcntl, pc_sector,   pc_devchar, pc_shm_map,
    pc_shm_lock, pc_shm_barrier, pc_shm_unmap,  NULL,     NULL,
};

static int pc_open(sqlite3_vfs *vfs, sqlite3_filename name, sqlite3_file *f, int flags,
                   int *out_flags)
{
    (void)vfs;
    struct pc_file *p = (struct pc_file *)f;
    p->real = (sqlite3_file *)(p + 1);
    p->log = NULL;
    int rc = unix_vfs->xOpen(unix_vfs, name, p->real, flags, out_flags);
    if (rc != SQLITE_OK || !p->real->pMethods) {
        p->base.pMethods = NULL;
        return rc;
    }
    p->base.pMethods = &pc_io;
    const char *slash = name ? strrchr(name, '/') : NULL;
    snprintf(p->name, sizeof p->name, "%s", slash ? slash + 1 : name ? name : "(temp)");
    p->next_open = pc_open_files;
    pc_open_files = p;
    return SQLITE_OK;
}

static void powercut_install(long after, int torn)
{
    unix_vfs = sqlite3_vfs_find("unix");
    pc_vfs = *unix_vfs;
    pc_vfs.zName = "homthu-powercut";
    pc_vfs.szOsFile = (int)sizeof(struct pc_file) + unix_vfs->szOsFile;
    pc_vfs.xOpen = pc_open;
    pc_vfs.xRandomness = det_sqlite_randomness;
    pc_vfs.pNext = NULL;
    pc_cut_at = after;
    pc_torn = torn;
    const char *trace = getenv("HOMTHU_POWERCUT_TRACE");
    if (trace && *trace)
        pc_trace = fopen(trace, "w");
    sqlite3_vfs_register(&pc_vfs, 1);
}

/* ------------------------------------------------------------------ */
/* the kiosk                                                           */

static void say(const char *what, const uint8_t id[16])
{
    char hex[33];
    sodium_bin2hex(hex, sizeof hex, id, 16);
    printf("%s %s\n", what, hex);
    fflush(stdout);
}

static int16_t *load_pcm(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    fseek(f, 0, SEEK_SET);
    int16_t *pcm = len > 0 ? malloc((size_t)len) : NULL;
    *n = pcm ? fread(pcm, 2, (size_t)len / 2, f) : 0;
    fclose(f);
    return pcm;
}

/* A voice-like test signal: a wandering pitch with harmonics and noise. */
static void synth(int16_t *out, size_t n, uint64_t t0)
{
    for (size_t i = 0; i < n; i++) {
        double t = (double)(t0 + i) / CAPTURE_RATE;
        double f0 = 140 + 40 * sin(2 * M_PI * 0.7 * t);
        double v = 0.5 * sin(2 * M_PI * f0 * t) + 0.25 * sin(4 * M_PI * f0 * t) +
                   0.12 * sin(6 * M_PI * f0 * t) + 0.05 * ((double)(rng() & 0xffff) / 65536 - 0.5);
        double env = 0.5 + 0.5 * sin(2 * M_PI * 3 * t); /* syllables */
        out[i] = (int16_t)(v * env * 12000);
    }
}

static long env_long(const char *name, long def)
{
    const char *v = getenv(name);
    return v && *v ? strtol(v, NULL, 10) : def;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: crashwriter DATA_DIR\n");
        return 2;
    }
    long seed = env_long("HOMTHU_CRASH_SEED", 1);
    rng_state = (uint64_t)seed * 0x9E3779B97F4A7C15ull + 1;
    /* Before sodium_init(), as libsodium requires. */
    for (int i = 0; i < 8; i++)
        det_seed[i] = (uint8_t)((uint64_t)seed >> (8 * i));
    randombytes_set_implementation(&det_impl);
    long max_tips = env_long("HOMTHU_CRASH_TIPS", 1000);
    long cut = env_long("HOMTHU_POWERCUT_AFTER", 0);
    if (cut > 0)
        powercut_install(cut, env_long("HOMTHU_POWERCUT_TORN", 0) != 0);

    struct crash_keys ck;
    if (crash_keys_make(&ck) != 0) {
        fprintf(stderr, "crashwriter: cannot make the test keys\n");
        return 1;
    }
    struct tip_keys keys;
    memcpy(keys.post_pk, ck.post_pk, 32);
    memcpy(keys.device_sk, ck.device_sk, 64);

    size_t speech_n = 0;
    const char *speech_path = getenv("HOMTHU_CRASH_PCM");
    int16_t *speech = speech_path && *speech_path ? load_pcm(speech_path, &speech_n) : NULL;

    char err[512] = "";
    unsigned faults = 0;
    struct queue *q = NULL;
    if (queue_open(&q, argv[1], &faults, err, sizeof err) != 0) {
        fprintf(stderr, "crashwriter: %s\n", err);
        return 1;
    }
    printf("READY\n");
    fflush(stdout);

    int16_t frame[4000];
    long saved = 0;
    for (long n = 0; n < max_tips; n++) {
        struct envelope_meta meta = {.language = "vi", .category = (uint8_t)(1 + rng() % 7)};
        struct capture_opts audio = {0};
        int with_audio = rng() % 5 != 0; /* one in five is text only */
        struct tip_session *s = NULL;
        int64_t now = (int64_t)time(NULL);
        if (tip_begin(&s, q, &keys, &meta, with_audio ? &audio : NULL, now, 1, err, sizeof err) !=
            0) {
            fprintf(stderr, "crashwriter: tip_begin: %s\n", err);
            return 1;
        }
        uint8_t id[16];
        memcpy(id, tip_id(s), 16);
        say("BEGIN", id);
        /* 0.2 to 9 s of audio in frames of any size, notes in between. */
        size_t total = 0, fed = 0;
        if (with_audio) /* mostly short; some long enough to commit chunks while talking */
            total = rng() % 10 < 7 ? 3200 + rng() % 36800 : 48000 + rng() % 96000;
        size_t at = speech_n ? rng() % speech_n : 0;
        int notes = 0;
        while (fed < total || (!with_audio && notes < 3)) {
            if (rng() % 8 == 0 || !with_audio) {
                char note[160];
                int len = snprintf(note, sizeof note, CRASH_NOTE_PREFIX "%ld.%d: %.*s", n, notes,
                                   (int)(rng() % 100),
                                   "the boat crossed at night near the old bridge, three men, "
                                   "two motorbikes, no lights, going south");
                if (tip_add_text(s, note, (size_t)len, err, sizeof err) != 0) {
                    fprintf(stderr, "crashwriter: tip_add_text: %s\n", err);
                    return 1;
                }
                notes++;
            }
            if (fed < total) {
                size_t k = 1 + rng() % (sizeof frame / sizeof frame[0]);
                if (k > total - fed)
                    k = total - fed;
                if (speech_n) {
                    for (size_t i = 0; i < k; i++)
                        frame[i] = speech[(at + fed + i) % speech_n];
                } else {
                    synth(frame, k, fed);
                }
                if (tip_add_pcm(s, frame, k, err, sizeof err) != 0) {
                    fprintf(stderr, "crashwriter: tip_add_pcm: %s\n", err);
                    return 1;
                }
                fed += k;
            }
        }
        if (rng() % 10 == 0) {
            say("DISCARDING", id);
            if (tip_discard(s) != 0)
                return 1;
            say("DISCARDED", id);
            continue;
        }
        say("SENDING", id);
        if (tip_send(s, (int64_t)time(NULL), err, sizeof err) != 0) {
            fprintf(stderr, "crashwriter: tip_send: %s\n", err);
            return 1;
        }
        say("SAVED", id);
        saved++;

        /* Now and then the uploader finishes one, and delivered ones are
         * purged: that checkpoints, so cuts also land in the database file. */
        struct queue_tip t;
        if (saved % 2 == 0 && queue_next_to_send(q, &t) == 0) {
            say("DELIVERING", t.id);
            if (queue_set_uploading(q, t.id, t.bytes / 2, err, sizeof err) != 0 ||
                queue_set_delivered(q, t.id, (int64_t)time(NULL), err, sizeof err) != 0) {
                fprintf(stderr, "crashwriter: delivery: %s\n", err);
                return 1;
            }
            say("DELIVERED", t.id);
        }
        if (saved % 3 == 0) {
            int purged = 0;
            if (queue_purge_delivered(q, &purged, err, sizeof err) != 0) {
                fprintf(stderr, "crashwriter: purge: %s\n", err);
                return 1;
            }
            printf("PURGED %d\n", purged);
            fflush(stdout);
        }
    }
    queue_close(q);
    free(speech);
    return 0;
}
