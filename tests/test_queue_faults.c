/*
 * The queue under the world's faults: a full card (an SQLite VFS that runs
 * out of room, and a real size-capped tmpfs where mounting is allowed) and
 * a kiosk that died while recording (queue_recover with real envelopes).
 */
#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "core/envelope.h"
#include "core/queue.h"

#define H ENVELOPE_HEADER_BYTES
#define C ENVELOPE_CHUNK_CIPHER
#define T ENVELOPE_TRAILER_BYTES

static const char msg_full[] =
    "disk full: the kiosk's data partition has no room left; free space or replace the SD card";

/* ------------------------------------------------------------------ */
/* A VFS whose card fills up: writes beyond `full_budget` bytes fail    */

struct full_file {
    sqlite3_file base;
    sqlite3_file *real; /* the unix VFS's file, allocated right after us */
};

static sqlite3_vfs *unix_vfs;
static sqlite3_vfs full_vfs;
static long long full_budget = -1; /* bytes that still fit; -1: no limit */
static int full_refusals;

#define REAL(f) (((struct full_file *)(f))->real)

static int full_close(sqlite3_file *f)
{
    return REAL(f)->pMethods->xClose(REAL(f));
}
static int full_read(sqlite3_file *f, void *b, int n, sqlite3_int64 off)
{
    return REAL(f)->pMethods->xRead(REAL(f), b, n, off);
}
/* Like a real full disk: what fits is written, then ENOSPC. */
static int full_write(sqlite3_file *f, const void *b, int n, sqlite3_int64 off)
{
    if (full_budget >= 0 && n > full_budget) {
        if (full_budget > 0)
            REAL(f)->pMethods->xWrite(REAL(f), b, (int)full_budget, off);
        full_budget = 0;
        full_refusals++;
        return SQLITE_FULL;
    }
    if (full_budget >= 0)
        full_budget -= n;
    return REAL(f)->pMethods->xWrite(REAL(f), b, n, off);
}
static int full_truncate(sqlite3_file *f, sqlite3_int64 size)
{
    return REAL(f)->pMethods->xTruncate(REAL(f), size);
}
static int full_sync(sqlite3_file *f, int flags)
{
    return REAL(f)->pMethods->xSync(REAL(f), flags);
}
static int full_size(sqlite3_file *f, sqlite3_int64 *size)
{
    return REAL(f)->pMethods->xFileSize(REAL(f), size);
}
static int full_lock(sqlite3_file *f, int l)
{
    return REAL(f)->pMethods->xLock(REAL(f), l);
}
static int full_unlock(sqlite3_file *f, int l)
{
    return REAL(f)->pMethods->xUnlock(REAL(f), l);
}
static int full_check_lock(sqlite3_file *f, int *out)
{
    return REAL(f)->pMethods->xCheckReservedLock(REAL(f), out);
}
static int full_fcntl(sqlite3_file *f, int op, void *arg)
{
    return REAL(f)->pMethods->xFileControl(REAL(f), op, arg);
}
static int full_sector(sqlite3_file *f)
{
    return REAL(f)->pMethods->xSectorSize(REAL(f));
}
static int full_devchar(sqlite3_file *f)
{
    return REAL(f)->pMethods->xDeviceCharacteristics(REAL(f));
}
static int full_shm_map(sqlite3_file *f, int pg, int sz, int extend, void volatile **p)
{
    return REAL(f)->pMethods->xShmMap(REAL(f), pg, sz, extend, p);
}
static int full_shm_lock(sqlite3_file *f, int off, int n, int flags)
{
    return REAL(f)->pMethods->xShmLock(REAL(f), off, n, flags);
}
static void full_shm_barrier(sqlite3_file *f)
{
    REAL(f)->pMethods->xShmBarrier(REAL(f));
}
static int full_shm_unmap(sqlite3_file *f, int del)
{
    return REAL(f)->pMethods->xShmUnmap(REAL(f), del);
}

/* Version 2: no xFetch, so every page SQLite changes goes through xWrite. */
static const sqlite3_io_methods full_io = {
    2,
    full_close,
    full_read,
    full_write,
    full_truncate,
    full_sync,
    full_size,
    full_lock,
    full_unlock,
    full_check_lock,
    full_fcntl,
    full_sector,
    full_devchar,
    full_shm_map,
    full_shm_lock,
    full_shm_barrier,
    full_shm_unmap,
    NULL,
    NULL,
};

static int full_open(sqlite3_vfs *vfs, sqlite3_filename name, sqlite3_file *f, int flags,
                     int *out_flags)
{
    (void)vfs;
    struct full_file *ff = (struct full_file *)f;
    ff->real = (sqlite3_file *)(ff + 1);
    int rc = unix_vfs->xOpen(unix_vfs, name, ff->real, flags, out_flags);
    ff->base.pMethods = ff->real->pMethods ? &full_io : NULL;
    return rc;
}

/* Make the filling VFS the default for queues opened from now on. */
static void full_vfs_install(void)
{
    unix_vfs = sqlite3_vfs_find("unix");
    ASSERT(unix_vfs);
    full_vfs = *unix_vfs;
    full_vfs.zName = "homthu-test-full";
    full_vfs.szOsFile = (int)sizeof(struct full_file) + unix_vfs->szOsFile;
    full_vfs.xOpen = full_open;
    full_vfs.pNext = NULL;
    full_budget = -1;
    full_refusals = 0;
    ASSERT_EQ(sqlite3_vfs_register(&full_vfs, 1), SQLITE_OK);
}

static void full_vfs_remove(void)
{
    sqlite3_vfs_unregister(&full_vfs);
    sqlite3_vfs_register(unix_vfs, 1);
}

/* ------------------------------------------------------------------ */

static void make_id(uint8_t id[16], int tag)
{
    for (int i = 0; i < 16; i++)
        id[i] = (uint8_t)(tag * 16 + i);
}

static void make_piece(uint8_t *p, size_t n, int tag, uint32_t k)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)(i * 13 + k * 7 + (size_t)tag * 57);
}

static void begin(struct queue *q, int tag)
{
    uint8_t id[16], h[H];
    char err[512] = "";
    make_id(id, tag);
    make_piece(h, H, tag, 999);
    memcpy(h + 8, id, 16);
    int rc = queue_begin_tip(q, id, h, H, 100, 1, err, sizeof err);
    if (rc)
        check_fail(__FILE__, __LINE__, "begin: %s", err);
}

static int put(struct queue *q, int tag, uint32_t k, char *err, size_t errlen)
{
    uint8_t id[16], c[C];
    make_id(id, tag);
    make_piece(c, C, tag, k);
    return queue_put_chunk(q, id, k, c, C, err, errlen);
}

static int seal(struct queue *q, int tag, char *err, size_t errlen)
{
    uint8_t id[16], t[T];
    make_id(id, tag);
    make_piece(t, T, tag, 777);
    return queue_seal_tip(q, id, t, T, 0, 200, err, errlen);
}

/* Tip `tag` reads back as exactly header || chunks || trailer. */
static void assert_reads_back(struct queue *q, int tag, uint32_t chunks)
{
    uint8_t id[16];
    make_id(id, tag);
    size_t len = H + (size_t)chunks * C + T, got = 0;
    uint8_t *want = malloc(len), *buf = malloc(len + 1);
    ASSERT(want && buf);
    make_piece(want, H, tag, 999);
    memcpy(want + 8, id, 16);
    for (uint32_t k = 0; k < chunks; k++)
        make_piece(want + H + (size_t)k * C, C, tag, k);
    make_piece(want + H + (size_t)chunks * C, T, tag, 777);
    char err[512] = "";
    int rc = queue_read(q, id, 0, buf, len + 1, &got, err, sizeof err);
    if (rc)
        check_fail(__FILE__, __LINE__, "read tip %d: %s", tag, err);
    ASSERT_EQ(got, len);
    ASSERT_MEM_EQ(buf, want, len);
    free(want);
    free(buf);
}

static void assert_chunks(struct queue *q, int tag, int state, uint32_t chunks)
{
    uint8_t id[16];
    struct queue_tip t;
    make_id(id, tag);
    ASSERT_EQ(queue_get_tip(q, id, &t), 0);
    ASSERT_EQ(t.state, state);
    ASSERT_EQ(t.chunks, chunks);
}

TEST(test_queue_disk_full_refuses_clearly_and_keeps_every_committed_tip)
{
    full_vfs_install();
    struct queue *q = NULL;
    unsigned faults = 0;
    char err[512] = "";
    ASSERT_EQ(queue_open(&q, check_dir(), &faults, err, sizeof err), 0);
    begin(q, 1);
    for (uint32_t k = 0; k < 8; k++)
        ASSERT_EQ(put(q, 1, k, err, sizeof err), 0);
    ASSERT_EQ(seal(q, 1, err, sizeof err), 0);
    begin(q, 2);
    ASSERT_EQ(put(q, 2, 0, err, sizeof err), 0);
    ASSERT_EQ(put(q, 2, 1, err, sizeof err), 0);

    /* The card is full: nothing fits at all, then half a WAL frame fits. */
    static const long long budgets[] = {0, 1, 3000, 4200, 9000};
    for (size_t i = 0; i < sizeof budgets / sizeof budgets[0]; i++) {
        full_budget = budgets[i];
        err[0] = 0;
        ASSERT_EQ(put(q, 2, 2, err, sizeof err), QUEUE_E_FULL);
        ASSERT_STR_EQ(err, msg_full);
        assert_chunks(q, 2, QUEUE_RECORDING, 2); /* the refused chunk left no trace */
    }
    full_budget = 0;
    ASSERT_EQ(seal(q, 2, err, sizeof err), QUEUE_E_FULL);
    ASSERT_STR_EQ(err, msg_full);
    uint8_t id3[16], h[H];
    make_id(id3, 3);
    make_piece(h, H, 3, 999);
    ASSERT_EQ(queue_begin_tip(q, id3, h, H, 100, 1, err, sizeof err), QUEUE_E_FULL);
    ASSERT_STR_EQ(err, msg_full);
    ASSERT(full_refusals >= 7);

    /* The tips committed before are intact and sendable, card still full. */
    struct queue_tip t;
    ASSERT_EQ(queue_get_tip(q, id3, &t), QUEUE_E_NOTFOUND);
    assert_chunks(q, 1, QUEUE_SEALED, 8);
    assert_reads_back(q, 1, 8);
    ASSERT_EQ(queue_next_to_send(q, &t), 0);
    ASSERT_EQ(t.id[0], 0x10);

    /* Space comes back (the purge ran, the card was replaced): go on. */
    full_budget = -1;
    ASSERT_EQ(put(q, 2, 2, err, sizeof err), 0);
    ASSERT_EQ(seal(q, 2, err, sizeof err), 0);
    assert_reads_back(q, 2, 3);
    queue_close(q);
    full_vfs_remove();

    /* And after a restart on the plain VFS, everything is there and sound. */
    ASSERT_EQ(queue_open(&q, check_dir(), &faults, err, sizeof err), 0);
    ASSERT_EQ(faults, 0);
    ASSERT_EQ(queue_check(q, err, sizeof err), 0);
    assert_reads_back(q, 1, 8);
    assert_reads_back(q, 2, 3);
    queue_close(q);
}

TEST(test_queue_disk_full_while_delivering_or_uploading_changes_nothing)
{
    full_vfs_install();
    struct queue *q = NULL;
    unsigned faults = 0;
    char err[512] = "";
    ASSERT_EQ(queue_open(&q, check_dir(), &faults, err, sizeof err), 0);
    for (int tag = 1; tag <= 2; tag++) {
        begin(q, tag);
        ASSERT_EQ(put(q, tag, 0, err, sizeof err), 0);
        ASSERT_EQ(seal(q, tag, err, sizeof err), 0);
    }
    uint8_t id[16];
    make_id(id, 1);
    /* Forgetting a delivered tip writes (zeroed pages, the counters): on a
     * full card it fails whole, and the tip is still there to send. */
    full_budget = 100;
    int rc = queue_set_delivered(q, id, 300, err, sizeof err);
    full_budget = -1;
    if (rc != QUEUE_E_FULL)
        full_vfs_remove();
    ASSERT_EQ(rc, QUEUE_E_FULL);
    ASSERT_STR_EQ(err, msg_full);
    full_budget = 100;
    make_id(id, 2);
    rc = queue_set_uploading(q, id, 10, err, sizeof err);
    full_budget = -1;
    if (rc != QUEUE_E_FULL)
        full_vfs_remove();
    ASSERT_EQ(rc, QUEUE_E_FULL);
    assert_reads_back(q, 1, 1); /* still sealed, bytes still there */
    assert_chunks(q, 1, QUEUE_SEALED, 1);
    assert_chunks(q, 2, QUEUE_SEALED, 1);
    struct queue_stats s;
    ASSERT_EQ(queue_stats(q, &s), 0);
    ASSERT_EQ(s.count[QUEUE_PURGED], 0);
    /* Room again: the same call succeeds. */
    make_id(id, 1);
    ASSERT_EQ(queue_set_delivered(q, id, 300, err, sizeof err), 0);
    int purged = -1;
    ASSERT_EQ(queue_purge_delivered(q, &purged, err, sizeof err), 0);
    ASSERT_EQ(purged, 1);
    ASSERT_EQ(queue_stats(q, &s), 0);
    ASSERT_EQ(s.count[QUEUE_PURGED], 1);
    ASSERT_EQ(s.count[QUEUE_SEALED], 1);
    queue_close(q);
    full_vfs_remove();
}

/*
 * The same on a real full file system: a 320 KiB tmpfs, filled by another
 * file. Needs mount(2) (root, as on the kiosk image build and CI); where
 * that is not allowed the VFS test above stands alone. The work runs in a
 * child so the mount is always undone.
 */
#define CHILD_ASSERT(c)                                                                            \
    do {                                                                                           \
        if (!(c)) {                                                                                \
            fprintf(stderr, "    %s:%d: child: assertion failed: %s (%s)\n", __FILE__, __LINE__,   \
                    #c, err);                                                                      \
            _exit(1);                                                                              \
        }                                                                                          \
    } while (0)

static void fill_up(const char *path)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    static char block[4096];
    memset(block, 0x42, sizeof block);
    while (fd >= 0 && write(fd, block, sizeof block) > 0) {
    }
    /* The last few hundred bytes of a page. */
    while (fd >= 0 && write(fd, block, 1) > 0) {
    }
    if (fd >= 0)
        close(fd);
}

static void tmpfs_child(const char *card)
{
    char err[512] = "", filler[4300];
    snprintf(filler, sizeof filler, "%s/filler", card);
    struct queue *q = NULL;
    unsigned faults = 0;
    CHILD_ASSERT(queue_open(&q, card, &faults, err, sizeof err) == 0);
    begin(q, 1);
    for (uint32_t k = 0; k < 8; k++)
        CHILD_ASSERT(put(q, 1, k, err, sizeof err) == 0);
    CHILD_ASSERT(seal(q, 1, err, sizeof err) == 0);
    begin(q, 2);
    fill_up(filler);
    /* Leave room for a few chunks: the card fills up mid-recording. */
    struct stat fst;
    CHILD_ASSERT(stat(filler, &fst) == 0 && truncate(filler, fst.st_size - 48 * 1024) == 0);
    uint32_t k = 0;
    int rc = 0;
    for (; k < 100 && (rc = put(q, 2, k, err, sizeof err)) == 0; k++) {
    }
    CHILD_ASSERT(rc == QUEUE_E_FULL && k >= 2);
    CHILD_ASSERT(strcmp(err, msg_full) == 0);
    struct queue_tip t;
    uint8_t id[16];
    make_id(id, 2);
    CHILD_ASSERT(queue_get_tip(q, id, &t) == 0 && t.chunks == k && t.state == QUEUE_RECORDING);
    make_id(id, 1);
    CHILD_ASSERT(queue_get_tip(q, id, &t) == 0 && t.state == QUEUE_SEALED && t.chunks == 8);
    unlink(filler); /* the technician made room */
    CHILD_ASSERT(put(q, 2, k, err, sizeof err) == 0);
    CHILD_ASSERT(seal(q, 2, err, sizeof err) == 0);
    queue_close(q);
    CHILD_ASSERT(queue_open(&q, card, &faults, err, sizeof err) == 0 && faults == 0);
    CHILD_ASSERT(queue_check(q, err, sizeof err) == 0);
    make_id(id, 2);
    CHILD_ASSERT(queue_get_tip(q, id, &t) == 0 && t.chunks == k + 1 && t.state == QUEUE_SEALED);
    queue_close(q);
    printf("    real tmpfs filled up after %u chunks of the second tip\n", k);
    fflush(stdout);
    _exit(0);
}

TEST(test_queue_disk_full_on_a_real_full_file_system)
{
    const char *card = check_path("card");
    ASSERT_EQ(mkdir(card, 0700), 0);
    /* A real full file system is the point: without one (not root) the
       test fails and says why, rather than pass unchecked. */
    int mrc = mount("homthu-test", card, "tmpfs", MS_NOSUID | MS_NODEV, "size=320k,mode=0700");
    if (mrc != 0)
        printf("    cannot mount a tmpfs at %s: %s (this test needs root)\n", card, strerror(errno));
    ASSERT_EQ(mrc, 0);
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0)
        tmpfs_child(card);
    int st = 0;
    waitpid(pid, &st, 0);
    ASSERT_EQ(umount(card), 0);
    ASSERT(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

/* ------------------------------------------------------------------ */
/* recovery with real envelopes                                        */

struct keys {
    uint8_t post_pk[32], post_sk[32], dev_pk[32], dev_sk[64];
};

static void make_keys(struct keys *k, uint8_t seed_byte)
{
    uint8_t seed[32];
    ASSERT(sodium_init() >= 0);
    memset(seed, seed_byte, sizeof seed);
    ASSERT_EQ(crypto_box_seed_keypair(k->post_pk, k->post_sk, seed), 0);
    seed[0] ^= 1;
    ASSERT_EQ(crypto_sign_seed_keypair(k->dev_pk, k->dev_sk, seed), 0);
}

/* The power goes after the last chunk's commit, before the trailer's. */
static int sink_without_trailer(void *ctx, enum envelope_piece kind, uint32_t index,
                                const uint8_t *bytes, size_t len)
{
    if (kind == PIECE_TRAILER)
        return -1;
    return queue_envelope_sink(ctx, kind, index, bytes, len);
}

enum { CRASH_NONE, CRASH_BEFORE_FINISH, CRASH_BEFORE_TRAILER };

/* Write a tip of `text_bytes` of text into q, crashing as told. */
static void write_tip_crashing(struct queue *q, const struct keys *k, size_t text_bytes, int crash,
                               uint8_t id[16])
{
    struct queue_sink sink = {.q = q, .now = 1000, .clock_trusted = 1};
    struct envelope_meta meta = {.language = "vi", .category = CATEGORY_SMUGGLING};
    struct envelope_writer *w = NULL;
    char err[512] = "";
    int rc = envelope_writer_new(&w, k->post_pk, k->dev_sk, &meta,
                                 crash == CRASH_BEFORE_TRAILER ? sink_without_trailer
                                                               : queue_envelope_sink,
                                 &sink, id, err, sizeof err);
    if (rc)
        check_fail(__FILE__, __LINE__, "writer: %d %s / %s", rc, err, sink.err);
    char *text = malloc(text_bytes);
    ASSERT(text);
    for (size_t i = 0; i < text_bytes; i++)
        text[i] = (char)('a' + i % 26);
    /* In slices under the record limit, as the kiosk would. */
    for (size_t off = 0; off < text_bytes; off += 3000) {
        size_t n = text_bytes - off < 3000 ? text_bytes - off : 3000;
        ASSERT_EQ(envelope_write_text(w, text + off, n), 0);
    }
    free(text);
    if (crash == CRASH_NONE)
        ASSERT_EQ(envelope_writer_finish(w, err, sizeof err), 0);
    if (crash == CRASH_BEFORE_TRAILER)
        ASSERT_EQ(envelope_writer_finish(w, err, sizeof err), ENVELOPE_E_SINK);
    envelope_writer_free(w); /* unfinished: as if the power went */
}

static void write_tip(struct queue *q, const struct keys *k, size_t text_bytes, int finish,
                      uint8_t id[16])
{
    write_tip_crashing(q, k, text_bytes, finish ? CRASH_NONE : CRASH_BEFORE_FINISH, id);
}

struct got_text {
    size_t len;
    int ok;
};

static void on_text(void *ctx, const uint8_t *utf8, size_t len)
{
    struct got_text *g = ctx;
    for (size_t i = 0; i < len; i++)
        if (utf8[i] != (uint8_t)('a' + (g->len + i) % 26))
            g->ok = 0;
    g->len += len;
}

/* Decrypt a stored tip with the post key; returns finish()'s verdict. */
static int read_tip(struct queue *q, const struct keys *k, const uint8_t id[16], struct got_text *g)
{
    struct envelope_post_key pk;
    memcpy(pk.pk, k->post_pk, 32);
    memcpy(pk.sk, k->post_sk, 32);
    struct envelope_reader_opts o = {.keys = &pk, .nkeys = 1};
    o.records.text = on_text;
    o.records.ctx = g;
    g->len = 0;
    g->ok = 1;
    struct envelope_reader *r = NULL;
    ASSERT_EQ(envelope_reader_new(&r, &o), 0);
    uint8_t buf[3000];
    uint64_t off = 0;
    size_t got;
    char err[512] = "";
    int rc = 0;
    do {
        ASSERT_EQ(queue_read(q, id, off, buf, sizeof buf, &got, err, sizeof err), 0);
        if (got)
            rc = envelope_reader_feed(r, buf, got, err, sizeof err);
        off += got;
    } while (got && rc == 0);
    if (rc == 0)
        rc = envelope_reader_finish(r, err, sizeof err);
    envelope_reader_free(r);
    return rc;
}

TEST(test_queue_recover_seals_cut_short_tips_and_drops_empty_ones)
{
    struct keys k;
    make_keys(&k, 7);
    struct queue *q = NULL;
    unsigned faults = 0;
    char err[512] = "";
    ASSERT_EQ(queue_open(&q, check_dir(), &faults, err, sizeof err), 0);
    uint8_t saved[16], cut[16], empty[16];
    write_tip(q, &k, 20000, 1, saved);
    write_tip(q, &k, 20000, 0, cut); /* 4 full chunks went out before the cut */
    write_tip(q, &k, 100, 0, empty); /* nothing but the header went out */
    queue_close(q);

    ASSERT_EQ(queue_open(&q, check_dir(), &faults, err, sizeof err), 0);
    struct queue_tip t;
    ASSERT_EQ(queue_get_tip(q, cut, &t), 0);
    ASSERT_EQ(t.state, QUEUE_RECORDING);
    ASSERT_EQ(t.chunks, 4);
    ASSERT_EQ(queue_get_tip(q, empty, &t), 0);
    ASSERT_EQ(t.chunks, 0);

    int recovered = -1, dropped = -1;
    /* 2025-04-18 12:00 UTC and 5000 s: the seal time is kept to 6 hours. */
    int64_t now = 1744977600 + 5000;
    ASSERT_EQ(queue_recover(q, k.dev_sk, now, &recovered, &dropped, err, sizeof err), 0);
    ASSERT_EQ(recovered, 1);
    ASSERT_EQ(dropped, 1);
    ASSERT_EQ(queue_get_tip(q, empty, &t), QUEUE_E_NOTFOUND);
    ASSERT_EQ(queue_get_tip(q, cut, &t), 0);
    ASSERT_EQ(t.state, QUEUE_SEALED);
    ASSERT_EQ(t.cut_short, 1);
    ASSERT_EQ(t.sealed, 1744977600);
    ASSERT_EQ(t.bytes, H + 4 * C + T);

    /* The post reads what was said before the cut, and is told it was cut. */
    struct got_text g;
    ASSERT_EQ(read_tip(q, &k, cut, &g), ENVELOPE_E_CUT_SHORT);
    ASSERT(g.ok);
    ASSERT(g.len >= 12000 && g.len < 20000); /* whole records of the 4 chunks */
    ASSERT_EQ(read_tip(q, &k, saved, &g), 0);
    ASSERT(g.ok);
    ASSERT_EQ(g.len, 20000);
    ASSERT_EQ(queue_get_tip(q, saved, &t), 0);
    ASSERT_EQ(t.cut_short, 0);

    /* Nothing left to recover the second time. */
    ASSERT_EQ(queue_recover(q, k.dev_sk, 6000, &recovered, &dropped, err, sizeof err), 0);
    ASSERT_EQ(recovered, 0);
    ASSERT_EQ(dropped, 0);
    queue_close(q);
}

TEST(test_queue_recover_never_signs_another_kiosks_tip)
{
    struct keys mine, other;
    make_keys(&mine, 7);
    make_keys(&other, 9);
    struct queue *q = NULL;
    unsigned faults = 0;
    char err[512] = "";
    ASSERT_EQ(queue_open(&q, check_dir(), &faults, err, sizeof err), 0);
    uint8_t theirs[16], ours[16];
    write_tip(q, &other, 9000, 0, theirs); /* an SD card moved between kiosks */
    write_tip(q, &mine, 9000, 0, ours);
    int recovered = -1, dropped = -1;
    ASSERT_EQ(queue_recover(q, mine.dev_sk, 5000, &recovered, &dropped, err, sizeof err),
              QUEUE_E_ARG);
    char want[512];
    snprintf(want, sizeof want,
             "cannot recover tip %02x%02x%02x%02x: bad argument (was it recorded with another "
             "device key?); it stays in the queue unsent",
             theirs[0], theirs[1], theirs[2], theirs[3]);
    ASSERT_STR_EQ(err, want);
    ASSERT_EQ(recovered, 1); /* ours was still sealed */
    struct queue_tip t;
    ASSERT_EQ(queue_get_tip(q, theirs, &t), 0);
    ASSERT_EQ(t.state, QUEUE_RECORDING);
    ASSERT_EQ(queue_get_tip(q, ours, &t), 0);
    ASSERT_EQ(t.state, QUEUE_SEALED);
    ASSERT_EQ(t.cut_short, 1);
    queue_close(q);
}

/*
 * Found by the power-cut test: a cut after the final chunk's commit and
 * before the trailer's leaves every chunk stored, so the recovered tip's
 * record stream is complete; the reader must still call it cut short
 * (every record genuine), never refuse the whole tip as malformed.
 */
TEST(test_queue_recover_of_a_tip_cut_between_last_chunk_and_trailer_reads_cut_short)
{
    struct keys k;
    make_keys(&k, 7);
    struct queue *q = NULL;
    unsigned faults = 0;
    char err[512] = "";
    ASSERT_EQ(queue_open(&q, check_dir(), &faults, err, sizeof err), 0);
    uint8_t id[16];
    write_tip_crashing(q, &k, 9000, CRASH_BEFORE_TRAILER, id);
    struct queue_tip t;
    ASSERT_EQ(queue_get_tip(q, id, &t), 0);
    ASSERT_EQ(t.state, QUEUE_RECORDING);
    ASSERT_EQ(t.chunks, ENVELOPE_MIN_CHUNKS); /* padded and signed: only the trailer is missing */
    int recovered = 0;
    ASSERT_EQ(queue_recover(q, k.dev_sk, 5000, &recovered, NULL, err, sizeof err), 0);
    ASSERT_EQ(recovered, 1);
    struct got_text g;
    ASSERT_EQ(read_tip(q, &k, id, &g), ENVELOPE_E_CUT_SHORT);
    ASSERT(g.ok);
    ASSERT_EQ(g.len, 9000); /* everything that was said */
    queue_close(q);
}
