/* Tests for src/core/queue.c with hand-made envelope pieces (no crypto). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "check.h"
#include "core/queue.h"

#define H ENVELOPE_HEADER_BYTES
#define C ENVELOPE_CHUNK_CIPHER
#define T ENVELOPE_TRAILER_BYTES
#define G QUEUE_TIME_GRAIN_S
/* 2025-04-18 12:00:00 UTC: on the queue's 6-hour grid. */
#define T0 1744977600LL

/* Pieces that say where they belong: byte i of chunk k of tip `tag`. */
static void make_id(uint8_t id[16], int tag)
{
    for (int i = 0; i < 16; i++)
        id[i] = (uint8_t)(tag * 16 + i);
}

static void make_header(uint8_t h[H], const uint8_t id[16])
{
    for (int i = 0; i < H; i++)
        h[i] = (uint8_t)(0xA0 ^ i);
    memcpy(h + 8, id, 16);
}

static void make_chunk(uint8_t c[C], int tag, uint32_t k)
{
    for (int i = 0; i < C; i++)
        c[i] = (uint8_t)(i * 7 + k * 31 + tag * 101);
}

static void make_trailer(uint8_t t[T], int tag)
{
    for (int i = 0; i < T; i++)
        t[i] = (uint8_t)(0x5C ^ i ^ tag);
}

static struct queue *open_ok(const char *dir)
{
    struct queue *q = NULL;
    unsigned faults = 99;
    char err[512] = "";
    int rc = queue_open(&q, dir, &faults, err, sizeof err);
    if (rc != 0)
        check_fail(__FILE__, __LINE__, "queue_open: %d %s", rc, err);
    ASSERT_EQ(faults, 0);
    return q;
}

/* Begin tip `tag` with `chunks` chunks; sealed when `seal`. */
static void put_tip(struct queue *q, int tag, uint32_t chunks, int seal, int64_t created)
{
    uint8_t id[16], h[H], c[C], t[T];
    char err[512] = "";
    make_id(id, tag);
    make_header(h, id);
    ASSERT_EQ(queue_begin_tip(q, id, h, H, created, 1, err, sizeof err), 0);
    for (uint32_t k = 0; k < chunks; k++) {
        make_chunk(c, tag, k);
        int rc = queue_put_chunk(q, id, k, c, C, err, sizeof err);
        if (rc != 0)
            check_fail(__FILE__, __LINE__, "put_chunk %u: %d %s", k, rc, err);
    }
    if (seal) {
        make_trailer(t, tag);
        ASSERT_EQ(queue_seal_tip(q, id, t, T, 0, created + 10, err, sizeof err), 0);
    }
}

/* The whole envelope the queue should give back for tip `tag`. */
static uint8_t *expected_envelope(int tag, uint32_t chunks, size_t *len)
{
    *len = H + (size_t)chunks * C + T;
    uint8_t *e = malloc(*len), id[16];
    ASSERT(e);
    make_id(id, tag);
    make_header(e, id);
    for (uint32_t k = 0; k < chunks; k++)
        make_chunk(e + H + (size_t)k * C, tag, k);
    make_trailer(e + H + (size_t)chunks * C, tag);
    return e;
}

static uint8_t *read_all(struct queue *q, int tag, size_t *len)
{
    uint8_t id[16];
    make_id(id, tag);
    struct queue_tip t;
    ASSERT_EQ(queue_get_tip(q, id, &t), 0);
    uint8_t *buf = malloc(t.bytes + 1);
    ASSERT(buf);
    size_t got = 0;
    char err[512] = "";
    int rc = queue_read(q, id, 0, buf, t.bytes + 1, &got, err, sizeof err);
    if (rc != 0)
        check_fail(__FILE__, __LINE__, "queue_read: %d %s", rc, err);
    ASSERT_EQ(got, t.bytes);
    *len = got;
    return buf;
}

static void assert_tip_reads_back(struct queue *q, int tag, uint32_t chunks)
{
    size_t elen, glen;
    uint8_t *e = expected_envelope(tag, chunks, &elen);
    uint8_t *g = read_all(q, tag, &glen);
    ASSERT_EQ(glen, elen);
    ASSERT_MEM_EQ(g, e, elen);
    free(e);
    free(g);
}

static int file_has(const char *path, const void *needle, size_t n)
{
    size_t len = 0;
    uint8_t *b = check_slurp(path, &len);
    int found = b && len >= n && memmem(b, len, needle, n) != NULL;
    free(b);
    return found;
}

TEST(test_queue_close_null_is_a_no_op)
{
    queue_close(NULL);
    ASSERT_STR_EQ(queue_state_name(QUEUE_RECORDING), "recording");
    ASSERT_STR_EQ(queue_state_name(QUEUE_SEALED), "sealed");
    ASSERT_STR_EQ(queue_state_name(QUEUE_UPLOADING), "uploading");
    ASSERT_STR_EQ(queue_state_name(QUEUE_DELIVERED), "delivered");
    ASSERT_STR_EQ(queue_state_name(QUEUE_PURGED), "purged");
    ASSERT_STR_EQ(queue_state_name(17), "unknown");
}

TEST(test_queue_open_says_when_the_data_directory_is_missing)
{
    struct queue *q = NULL;
    unsigned faults = 0;
    char err[512] = "";
    ASSERT_EQ(queue_open(&q, check_path("nowhere"), &faults, err, sizeof err), QUEUE_E_IO);
    ASSERT(!q);
    char want[600];
    snprintf(want, sizeof want,
             "data directory %s is missing: check that the data partition is mounted",
             check_path("nowhere"));
    ASSERT_STR_EQ(err, want);
}

TEST(test_queue_keeps_tips_after_reopen)
{
    struct queue *q = open_ok(check_dir());
    put_tip(q, 1, 8, 1, T0 + 1000);
    put_tip(q, 2, 3, 0, T0 + 2000); /* still recording when the kiosk stops */
    queue_close(q);

    q = open_ok(check_dir());
    uint8_t id[16];
    struct queue_tip t;
    make_id(id, 1);
    ASSERT_EQ(queue_get_tip(q, id, &t), 0);
    ASSERT_EQ(t.state, QUEUE_SEALED);
    ASSERT_EQ(t.chunks, 8);
    ASSERT_EQ(t.bytes, H + 8 * C + T);
    ASSERT_EQ(t.created, T0); /* kept only to the 6-hour grain */
    ASSERT_EQ(t.sealed, T0);
    ASSERT_EQ(t.clock_trusted, 1);
    ASSERT_EQ(t.cut_short, 0);
    assert_tip_reads_back(q, 1, 8);
    make_id(id, 2);
    ASSERT_EQ(queue_get_tip(q, id, &t), 0);
    ASSERT_EQ(t.state, QUEUE_RECORDING);
    ASSERT_EQ(t.chunks, 3);
    ASSERT_EQ(t.bytes, H + 3 * C);
    /* The recording tip goes on where it stopped. */
    uint8_t c[C];
    char err[512] = "";
    make_chunk(c, 2, 3);
    ASSERT_EQ(queue_put_chunk(q, id, 3, c, C, err, sizeof err), 0);
    queue_close(q);
}

TEST(test_queue_refuses_chunks_out_of_order)
{
    struct queue *q = open_ok(check_dir());
    put_tip(q, 1, 2, 0, 1000);
    uint8_t id[16], c[C];
    char err[512] = "";
    make_id(id, 1);
    make_chunk(c, 1, 9);
    ASSERT_EQ(queue_put_chunk(q, id, 3, c, C, err, sizeof err), QUEUE_E_STATE);
    ASSERT_STR_EQ(err, "chunk 3 of tip 10111213 is out of order: the queue expects chunk 2");
    ASSERT_EQ(queue_put_chunk(q, id, 1, c, C, err, sizeof err), QUEUE_E_STATE);
    ASSERT_STR_EQ(err, "chunk 1 of tip 10111213 is out of order: the queue expects chunk 2");
    ASSERT_EQ(queue_put_chunk(q, id, 2, c, C - 1, err, sizeof err), QUEUE_E_ARG);
    ASSERT_STR_EQ(err, "queue_put_chunk: a chunk must be 4113 bytes, got 4112");
    struct queue_tip t;
    ASSERT_EQ(queue_get_tip(q, id, &t), 0);
    ASSERT_EQ(t.chunks, 2); /* refused chunks left no trace */
    ASSERT_EQ(t.bytes, H + 2 * C);
    uint8_t other[16];
    make_id(other, 7);
    ASSERT_EQ(queue_put_chunk(q, other, 0, c, C, err, sizeof err), QUEUE_E_NOTFOUND);
    ASSERT_STR_EQ(err, "cannot add chunk 0 to tip 70717273: it is not in the queue");
    queue_close(q);
}

TEST(test_queue_state_machine_goes_recording_sealed_uploading_delivered_and_forgotten)
{
    struct queue *q = open_ok(check_dir());
    uint8_t id[16], h[H], c[C], t[T];
    char err[512] = "";
    struct queue_tip tip;
    make_id(id, 3);
    make_header(h, id);
    make_chunk(c, 3, 0);
    make_trailer(t, 3);

    /* Nothing may happen to a tip that does not exist. */
    ASSERT_EQ(queue_seal_tip(q, id, t, T, 0, 5, err, sizeof err), QUEUE_E_NOTFOUND);
    ASSERT_STR_EQ(err, "cannot seal tip 30313233: it is not in the queue");
    ASSERT_EQ(queue_set_delivered(q, id, 5, err, sizeof err), QUEUE_E_NOTFOUND);

    ASSERT_EQ(queue_begin_tip(q, id, h, H, 100, 0, err, sizeof err), 0);
    ASSERT_EQ(queue_begin_tip(q, id, h, H, 100, 0, err, sizeof err), QUEUE_E_STATE);
    ASSERT_STR_EQ(err, "cannot begin tip 30313233: it is already in the queue");
    /* A recording tip is not sendable, readable or deliverable. */
    ASSERT_EQ(queue_next_to_send(q, &tip), QUEUE_E_NOTFOUND);
    size_t got = 1;
    uint8_t buf[16];
    ASSERT_EQ(queue_read(q, id, 0, buf, sizeof buf, &got, err, sizeof err), QUEUE_E_STATE);
    ASSERT_STR_EQ(err,
                  "cannot read tip 30313233: it is still recording (only sealed tips are sent)");
    ASSERT_EQ(queue_set_uploading(q, id, 0, err, sizeof err), QUEUE_E_STATE);
    ASSERT_STR_EQ(err, "cannot upload tip 30313233: it is recording");
    ASSERT_EQ(queue_set_delivered(q, id, 5, err, sizeof err), QUEUE_E_STATE);
    ASSERT_STR_EQ(err, "cannot mark delivered tip 30313233: it is recording");

    ASSERT_EQ(queue_put_chunk(q, id, 0, c, C, err, sizeof err), 0);
    ASSERT_EQ(queue_seal_tip(q, id, t, T, 0, 200, err, sizeof err), 0);
    ASSERT_EQ(queue_get_tip(q, id, &tip), 0);
    ASSERT_EQ(tip.state, QUEUE_SEALED);
    ASSERT_EQ(tip.clock_trusted, 0);
    /* Sealed: no more chunks, no second seal, and never discarded. */
    ASSERT_EQ(queue_put_chunk(q, id, 1, c, C, err, sizeof err), QUEUE_E_STATE);
    ASSERT_STR_EQ(err, "cannot add chunk 1 to tip 30313233: it is sealed, not recording");
    ASSERT_EQ(queue_seal_tip(q, id, t, T, 0, 5, err, sizeof err), QUEUE_E_STATE);
    ASSERT_STR_EQ(err, "cannot seal tip 30313233: it is sealed");
    ASSERT_EQ(queue_discard_tip(q, id, err, sizeof err), QUEUE_E_STATE);
    ASSERT_STR_EQ(err, "cannot discard tip 30313233: it is sealed");

    ASSERT_EQ(queue_next_to_send(q, &tip), 0);
    ASSERT_MEM_EQ(tip.id, id, 16);
    ASSERT_EQ(queue_set_uploading(q, id, H + C + T + 1, err, sizeof err), QUEUE_E_ARG);
    ASSERT_STR_EQ(err, "upload offset 4366 of tip 30313233 is past its end (4365 bytes)");
    ASSERT_EQ(queue_set_uploading(q, id, 1000, err, sizeof err), 0);
    ASSERT_EQ(queue_get_tip(q, id, &tip), 0);
    ASSERT_EQ(tip.state, QUEUE_UPLOADING);
    ASSERT_EQ(tip.upload_offset, 1000);
    ASSERT_EQ(queue_set_uploading(q, id, 3000, err, sizeof err), 0); /* progress goes on */
    ASSERT_EQ(queue_next_to_send(q, &tip), 0); /* an interrupted upload is resumed */
    ASSERT_EQ(tip.upload_offset, 3000);

    /* Delivered: forgotten at once. The sender that delivered it still
     * learns what became of it, from memory. */
    ASSERT_EQ(queue_set_delivered(q, id, T0 + 300, err, sizeof err), 0);
    ASSERT_EQ(queue_get_tip(q, id, &tip), 0);
    ASSERT_EQ(tip.state, QUEUE_PURGED);
    ASSERT_EQ(tip.delivered, T0);
    ASSERT_EQ(tip.bytes, 0);
    ASSERT_EQ(queue_next_to_send(q, &tip), QUEUE_E_NOTFOUND);
    ASSERT_EQ(queue_set_uploading(q, id, 0, err, sizeof err), QUEUE_E_STATE);
    ASSERT_STR_EQ(err, "cannot upload tip 30313233: it is purged");
    ASSERT_EQ(queue_set_delivered(q, id, 5, err, sizeof err), QUEUE_E_STATE);
    ASSERT_STR_EQ(err, "cannot mark delivered tip 30313233: it is purged");
    ASSERT_EQ(queue_read(q, id, 0, buf, sizeof buf, &got, err, sizeof err), QUEUE_E_STATE);
    ASSERT_STR_EQ(err,
                  "cannot read tip 30313233: it was purged after delivery and its bytes are gone");

    int purged = -1;
    ASSERT_EQ(queue_purge_delivered(q, &purged, err, sizeof err), 0);
    ASSERT_EQ(purged, 1);
    ASSERT_EQ(queue_purge_delivered(q, &purged, err, sizeof err), 0);
    ASSERT_EQ(purged, 0);
    struct queue_stats s;
    ASSERT_EQ(queue_stats(q, &s), 0);
    ASSERT_EQ(s.count[QUEUE_PURGED], 1);
    ASSERT_EQ(s.delivered_bytes, H + C + T);
    ASSERT_EQ(s.last_delivered, T0);
    queue_close(q);

    /* On the card nothing is left of it but the counters. */
    q = open_ok(check_dir());
    ASSERT_EQ(queue_get_tip(q, id, &tip), QUEUE_E_NOTFOUND);
    ASSERT_EQ(queue_set_delivered(q, id, 5, err, sizeof err), QUEUE_E_NOTFOUND);
    ASSERT_EQ(queue_stats(q, &s), 0);
    ASSERT_EQ(s.count[QUEUE_PURGED], 1);
    ASSERT_EQ(s.count[QUEUE_DELIVERED], 0);
    queue_close(q);
}

TEST(test_queue_sends_oldest_first_whatever_the_clock_says)
{
    struct queue *q = open_ok(check_dir());
    /* The clock jumped back between tips (no RTC until the network). */
    put_tip(q, 1, 1, 1, 5000);
    put_tip(q, 2, 1, 1, 10);
    put_tip(q, 3, 1, 1, 7000);
    struct queue_tip t;
    uint8_t id[16];
    char err[512];
    make_id(id, 1);
    ASSERT_EQ(queue_next_to_send(q, &t), 0);
    ASSERT_MEM_EQ(t.id, id, 16);
    ASSERT_EQ(queue_set_delivered(q, id, 1, err, sizeof err), 0);
    make_id(id, 2);
    ASSERT_EQ(queue_next_to_send(q, &t), 0);
    ASSERT_MEM_EQ(t.id, id, 16);
    queue_close(q);
}

TEST(test_queue_read_at_any_offset_equals_the_concatenation)
{
    struct queue *q = open_ok(check_dir());
    put_tip(q, 4, 3, 1, 1000);
    size_t elen;
    uint8_t *e = expected_envelope(4, 3, &elen);
    uint8_t id[16];
    make_id(id, 4);
    uint8_t *buf = malloc(elen + 100);
    ASSERT(buf);
    static const size_t caps[] = {1, 7, 175, 176, 177, 4113, 5000, 9000, 20000};
    char err[512] = "";
    for (size_t off = 0; off <= elen; off += (off < 400 || elen - off < 400) ? 1 : 97) {
        for (size_t i = 0; i < sizeof caps / sizeof caps[0]; i++) {
            size_t got = 12345;
            int rc = queue_read(q, id, off, buf, caps[i], &got, err, sizeof err);
            if (rc != 0)
                check_fail(__FILE__, __LINE__, "read at %zu cap %zu: %s", off, caps[i], err);
            size_t want = elen - off < caps[i] ? elen - off : caps[i];
            if (got != want || memcmp(buf, e + off, want) != 0)
                check_fail(__FILE__, __LINE__, "read at %zu cap %zu: got %zu, want %zu", off,
                           caps[i], got, want);
        }
    }
    size_t got = 9;
    ASSERT_EQ(queue_read(q, id, elen + 1, buf, 10, &got, err, sizeof err), QUEUE_E_ARG);
    ASSERT_STR_EQ(err, "cannot read tip 40414243 at byte 12592: it is only 12591 bytes");
    ASSERT_EQ(got, 0);
    free(buf);
    free(e);
    queue_close(q);
}

TEST(test_queue_stats_count_states_bytes_and_cut_short)
{
    struct queue *q = open_ok(check_dir());
    struct queue_stats s;
    ASSERT_EQ(queue_stats(q, &s), 0);
    for (int i = 0; i < QUEUE_NSTATES; i++)
        ASSERT_EQ(s.count[i], 0);
    ASSERT_EQ(s.oldest_waiting, 0);

    put_tip(q, 1, 2, 0, T0 + 100);         /* recording */
    put_tip(q, 2, 8, 1, T0 + 2 * G + 300); /* sealed, the oldest waiting */
    put_tip(q, 3, 8, 1, T0 + G + 200);     /* uploading (older clock, newer tip) */
    put_tip(q, 4, 8, 1, T0 + 400);         /* delivered, then purged */
    put_tip(q, 5, 8, 1, T0 + 500);         /* delivered */
    uint8_t id[16], h[H], c[C], t[T];
    char err[512];
    make_id(id, 3);
    ASSERT_EQ(queue_set_uploading(q, id, 10, err, sizeof err), 0);
    make_id(id, 4);
    ASSERT_EQ(queue_set_delivered(q, id, T0 + 3 * G + 600, err, sizeof err), 0);
    int purged;
    ASSERT_EQ(queue_purge_delivered(q, &purged, err, sizeof err), 0);
    make_id(id, 5);
    ASSERT_EQ(queue_set_delivered(q, id, T0 + 3 * G + 700, err, sizeof err), 0);
    /* A recovered tip, sealed cut short. */
    make_id(id, 6);
    make_header(h, id);
    make_chunk(c, 6, 0);
    make_trailer(t, 6);
    ASSERT_EQ(queue_begin_tip(q, id, h, H, 700, 1, err, sizeof err), 0);
    ASSERT_EQ(queue_put_chunk(q, id, 0, c, C, err, sizeof err), 0);
    ASSERT_EQ(queue_seal_tip(q, id, t, T, 1, 800, err, sizeof err), 0);

    ASSERT_EQ(queue_stats(q, &s), 0);
    ASSERT_EQ(s.count[QUEUE_RECORDING], 1);
    ASSERT_EQ(s.count[QUEUE_SEALED], 2);
    ASSERT_EQ(s.count[QUEUE_UPLOADING], 1);
    /* Delivered tips are only counted: both left the card. */
    ASSERT_EQ(s.count[QUEUE_DELIVERED], 0);
    ASSERT_EQ(s.count[QUEUE_PURGED], 2);
    ASSERT_EQ(s.bytes[QUEUE_RECORDING], H + 2 * C);
    ASSERT_EQ(s.bytes[QUEUE_SEALED], (H + 8 * C + T) + (H + 1 * C + T));
    ASSERT_EQ(s.bytes[QUEUE_UPLOADING], H + 8 * C + T);
    ASSERT_EQ(s.bytes[QUEUE_DELIVERED], 0);
    ASSERT_EQ(s.bytes[QUEUE_PURGED], 0);
    ASSERT_EQ(s.delivered_bytes, 2 * (H + 8 * C + T));
    ASSERT_EQ(s.last_delivered, T0 + 3 * G);
    ASSERT_EQ(s.cut_short, 1);
    ASSERT_EQ(s.oldest_waiting, T0 + 2 * G); /* queue order, rounded down */
    struct stat st;
    ASSERT_EQ(stat(check_path("queue.db"), &st), 0);
    ASSERT(s.db_bytes >= (uint64_t)st.st_size);
    ASSERT(s.db_bytes >= 2 * 8 * C); /* everything waiting is on disk somewhere */
    queue_close(q);
}

/* Data a test can find again in the raw database files. */
static void fill_pattern(uint8_t c[C], const char *word)
{
    size_t n = strlen(word);
    for (size_t i = 0; i < C; i++)
        c[i] = (uint8_t)word[i % n];
}

static int data_files_have(const char *needle)
{
    return file_has(check_path("queue.db"), needle, strlen(needle)) ||
           file_has(check_path("queue.db-wal"), needle, strlen(needle));
}

TEST(test_queue_purge_deletes_and_zeroes_the_delivered_bytes)
{
    struct queue *q = open_ok(check_dir());
    put_tip(q, 1, 2, 1, 100); /* stays: must survive the purge */
    uint8_t id[16], h[H], c[C], t[T];
    char err[512];
    make_id(id, 2);
    make_header(h, id);
    make_trailer(t, 2);
    ASSERT_EQ(queue_begin_tip(q, id, h, H, 100, 1, err, sizeof err), 0);
    for (uint32_t k = 0; k < 4; k++) {
        fill_pattern(c, "DELIVERED-CIPHERTEXT-MARK-");
        ASSERT_EQ(queue_put_chunk(q, id, k, c, C, err, sizeof err), 0);
    }
    ASSERT_EQ(queue_seal_tip(q, id, t, T, 0, 100, err, sizeof err), 0);
    ASSERT(data_files_have("DELIVERED-CIPHERTEXT-MARK-")); /* the check can see it */
    ASSERT_EQ(queue_set_delivered(q, id, 200, err, sizeof err), 0);
    int purged = 0;
    ASSERT_EQ(queue_purge_delivered(q, &purged, err, sizeof err), 0);
    ASSERT_EQ(purged, 1);
    /* Checked with the queue still open, as on a running kiosk. */
    ASSERT(!data_files_have("DELIVERED-CIPHERTEXT-MARK-"));
    assert_tip_reads_back(q, 1, 2);
    ASSERT_EQ(queue_check(q, err, sizeof err), 0);
    queue_close(q);
    ASSERT(!data_files_have("DELIVERED-CIPHERTEXT-MARK-"));
}

TEST(test_queue_discard_leaves_nothing)
{
    struct queue *q = open_ok(check_dir());
    put_tip(q, 1, 1, 1, 100);
    uint8_t id[16], h[H], c[C];
    char err[512];
    make_id(id, 2);
    make_header(h, id);
    ASSERT_EQ(queue_begin_tip(q, id, h, H, 100, 1, err, sizeof err), 0);
    fill_pattern(c, "ABANDONED-TIP-MARK-");
    for (uint32_t k = 0; k < 3; k++)
        ASSERT_EQ(queue_put_chunk(q, id, k, c, C, err, sizeof err), 0);
    ASSERT(data_files_have("ABANDONED-TIP-MARK-"));
    ASSERT_EQ(queue_discard_tip(q, id, err, sizeof err), 0);
    struct queue_tip t;
    ASSERT_EQ(queue_get_tip(q, id, &t), QUEUE_E_NOTFOUND);
    ASSERT(!data_files_have("ABANDONED-TIP-MARK-"));
    struct queue_stats s;
    ASSERT_EQ(queue_stats(q, &s), 0);
    ASSERT_EQ(s.count[QUEUE_RECORDING], 0);
    ASSERT_EQ(s.count[QUEUE_SEALED], 1);
    ASSERT_EQ(queue_discard_tip(q, id, err, sizeof err), QUEUE_E_NOTFOUND);
    ASSERT_STR_EQ(err, "cannot discard tip 20212223: it is not in the queue");
    queue_close(q);

    /* No chunk row is left behind either. */
    sqlite3 *db;
    ASSERT_EQ(sqlite3_open(check_path("queue.db"), &db), SQLITE_OK);
    sqlite3_stmt *st;
    ASSERT_EQ(sqlite3_prepare_v2(db, "SELECT count(*) FROM chunks", -1, &st, NULL), SQLITE_OK);
    ASSERT_EQ(sqlite3_step(st), SQLITE_ROW);
    ASSERT_EQ(sqlite3_column_int(st, 0), 1);
    sqlite3_finalize(st);
    sqlite3_close(db);
}

/* Open expecting the corrupt-database fault; returns the message. */
static struct queue *open_recreated(const char *dir, char *err, size_t errlen)
{
    struct queue *q = NULL;
    unsigned faults = 0;
    int rc = queue_open(&q, dir, &faults, err, errlen);
    if (rc != 0)
        check_fail(__FILE__, __LINE__, "queue_open: %d %s", rc, err);
    ASSERT_EQ(faults, QUEUE_FAULT_RECREATED);
    return q;
}

TEST(test_queue_moves_a_garbage_database_aside_and_starts_fresh)
{
    static const char garbage[] = "this is not a database, it is a shopping list: rice, salt";
    char big[8192];
    for (size_t i = 0; i < sizeof big; i++)
        big[i] = garbage[i % (sizeof garbage - 1)];
    check_write_file(check_path("queue.db"), big, sizeof big);
    check_write_file(check_path("queue.db-wal"), "stale wal", 9);

    char err[1024] = "";
    struct queue *q = open_recreated(check_dir(), err, sizeof err);
    char want[1200];
    snprintf(want, sizeof want,
             "queue database was corrupt (file is not a database): moved aside to "
             "%s/queue.db.corrupt-1 for the technician; a fresh queue was started",
             check_dir());
    ASSERT_STR_EQ(err, want);
    /* The old files are kept, byte for byte, for the technician. */
    size_t len = 0;
    uint8_t *kept = check_slurp(check_path("queue.db.corrupt-1"), &len);
    ASSERT(kept);
    ASSERT_EQ(len, sizeof big);
    ASSERT_MEM_EQ(kept, big, sizeof big);
    free(kept);
    kept = check_slurp(check_path("queue.db.corrupt-1-wal"), &len);
    ASSERT(kept);
    ASSERT_EQ(len, 9);
    free(kept);
    /* And the fresh queue works. */
    put_tip(q, 1, 2, 1, 100);
    assert_tip_reads_back(q, 1, 2);
    queue_close(q);
    q = open_ok(check_dir());
    assert_tip_reads_back(q, 1, 2);
    queue_close(q);

    /* A second corruption gets the next free name. */
    check_write_file(check_path("queue.db"), big, sizeof big);
    q = open_recreated(check_dir(), err, sizeof err);
    ASSERT_CONTAINS(err, "/queue.db.corrupt-2 for the technician");
    ASSERT(access(check_path("queue.db.corrupt-1"), F_OK) == 0);
    queue_close(q);
}

TEST(test_queue_moves_a_truncated_database_aside)
{
    struct queue *q = open_ok(check_dir());
    for (int tag = 1; tag <= 6; tag++)
        put_tip(q, tag, 8, 1, 100);
    queue_close(q); /* checkpoints: everything is in queue.db now */
    ASSERT(access(check_path("queue.db-wal"), F_OK) != 0);
    struct stat st;
    ASSERT_EQ(stat(check_path("queue.db"), &st), 0);
    ASSERT(st.st_size > 100000);
    /* Cut mid-page, as a card that lost its last writes might. */
    off_t cut = st.st_size / 2 + 1000;
    ASSERT_EQ(truncate(check_path("queue.db"), cut), 0);

    char err[1024] = "";
    q = open_recreated(check_dir(), err, sizeof err);
    ASSERT_CONTAINS(err, "queue database was corrupt (");
    char want[1200];
    snprintf(want, sizeof want,
             "): moved aside to %s/queue.db.corrupt-1 for the technician; a fresh queue was "
             "started",
             check_dir());
    ASSERT_CONTAINS(err, want);
    ASSERT_EQ(stat(check_path("queue.db.corrupt-1"), &st), 0);
    ASSERT_EQ(st.st_size, cut);
    struct queue_stats s;
    ASSERT_EQ(queue_stats(q, &s), 0);
    ASSERT_EQ(s.count[QUEUE_SEALED], 0);
    put_tip(q, 9, 1, 1, 100);
    assert_tip_reads_back(q, 9, 1);
    queue_close(q);
}

/*
 * Found by the power-cut soak: closing the vetting connection used to
 * checkpoint the WAL into the damaged file and delete the WAL, so the
 * technician got neither as it was.
 */
TEST(test_queue_moves_a_damaged_database_aside_with_its_wal_untouched)
{
    const char *live = check_path("live"), *copy = check_path("copy");
    ASSERT_EQ(mkdir(live, 0700), 0);
    ASSERT_EQ(mkdir(copy, 0700), 0);
    struct queue *q = open_ok(live);
    for (int tag = 1; tag <= 4; tag++)
        put_tip(q, tag, 8, 1, 100);
    queue_close(q); /* all in queue.db now */
    q = open_ok(live);
    put_tip(q, 5, 8, 1, 100); /* and this one only in the WAL */
    /* The files as a crash leaves them, the queue still open. */
    char from[4400], to[4400];
    snprintf(from, sizeof from, "%s/queue.db", live);
    snprintf(to, sizeof to, "%s/queue.db", copy);
    ASSERT_EQ(check_sh("cp '%s' '%s' && cp '%s-wal' '%s-wal'", from, to, from, to), 0);
    queue_close(q);

    /* Damage four pages in the middle of the main file (old chunks the
     * WAL does not hold). */
    size_t dlen = 0, wlen = 0;
    uint8_t *db = check_slurp(to, &dlen);
    ASSERT(db && dlen > 20 * 4096);
    memset(db + (dlen / 4096 / 2) * 4096, 0xFF, 4 * 4096);
    check_write_file(to, db, dlen);
    snprintf(from, sizeof from, "%s-wal", to);
    uint8_t *wal = check_slurp(from, &wlen);
    ASSERT(wal && wlen > 8 * C);

    unsigned faults = 0;
    char err[1024] = "";
    ASSERT_EQ(queue_open(&q, copy, &faults, err, sizeof err), 0);
    ASSERT_EQ(faults, QUEUE_FAULT_RECREATED);
    ASSERT_CONTAINS(err, "/copy/queue.db.corrupt-1 for the technician");
    queue_close(q);
    size_t len = 0;
    snprintf(from, sizeof from, "%s/queue.db.corrupt-1", copy);
    uint8_t *kept = check_slurp(from, &len);
    ASSERT(kept);
    ASSERT_EQ(len, dlen);
    ASSERT_MEM_EQ(kept, db, dlen); /* not checkpointed into */
    free(kept);
    snprintf(from, sizeof from, "%s/queue.db.corrupt-1-wal", copy);
    kept = check_slurp(from, &len);
    ASSERT(kept);
    ASSERT_EQ(len, wlen);
    ASSERT_MEM_EQ(kept, wal, wlen);
    free(kept);
    free(db);
    free(wal);
}

TEST(test_queue_keeps_a_wal_whose_database_is_missing_or_empty)
{
    const char *live = check_path("live"), *copy = check_path("copy");
    ASSERT_EQ(mkdir(live, 0700), 0);
    ASSERT_EQ(mkdir(copy, 0700), 0);
    struct queue *q = open_ok(live);
    put_tip(q, 1, 8, 1, 100); /* only in the WAL while the queue is open */
    ASSERT_EQ(check_sh("cp '%s/queue.db-wal' '%s/queue.db-wal'", live, copy), 0);
    queue_close(q);
    size_t wlen = 0;
    char path[4400];
    snprintf(path, sizeof path, "%s/queue.db-wal", copy);
    uint8_t *wal = check_slurp(path, &wlen);
    ASSERT(wal && wlen > 8 * C);

    for (int empty = 0; empty <= 1; empty++) {
        if (empty) {
            snprintf(path, sizeof path, "%s/queue.db", copy);
            check_write_file(path, "", 0); /* a file system that lost the data */
            snprintf(path, sizeof path, "%s/queue.db-wal", copy);
            check_write_file(path, wal, wlen);
        }
        unsigned faults = 0;
        char err[1024] = "";
        ASSERT_EQ(queue_open(&q, copy, &faults, err, sizeof err), 0);
        ASSERT_EQ(faults, QUEUE_FAULT_RECREATED);
        ASSERT_CONTAINS(err, empty ? "(queue.db is empty but its write-ahead log holds data)"
                                   : "(queue.db is missing but its write-ahead log holds data)");
        queue_close(q);
        snprintf(path, sizeof path, "%s/queue.db.corrupt-%d-wal", copy, empty + 1);
        size_t len = 0;
        uint8_t *kept = check_slurp(path, &len);
        ASSERT(kept);
        ASSERT_EQ(len, wlen);
        ASSERT_MEM_EQ(kept, wal, wlen);
        free(kept);
    }
    free(wal);
}

TEST(test_queue_refuses_a_database_from_newer_software)
{
    struct queue *q = open_ok(check_dir());
    put_tip(q, 1, 1, 1, 100);
    queue_close(q);
    sqlite3 *db;
    ASSERT_EQ(sqlite3_open(check_path("queue.db"), &db), SQLITE_OK);
    ASSERT_EQ(sqlite3_exec(db, "PRAGMA user_version = 7", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);

    unsigned faults = 9;
    char err[1024] = "";
    ASSERT_EQ(queue_open(&q, check_dir(), &faults, err, sizeof err), QUEUE_E_SCHEMA);
    ASSERT(!q);
    ASSERT_EQ(faults, 0);
    char want[1200];
    snprintf(want, sizeof want,
             "queue database %s/queue.db was written by newer kiosk software (schema 7, this "
             "software knows up to 2): install the newer software again; the queue was left "
             "untouched",
             check_dir());
    ASSERT_STR_EQ(err, want);
    /* Untouched indeed: not moved aside, still schema 7. */
    ASSERT(access(check_path("queue.db.corrupt-1"), F_OK) != 0);
    ASSERT_EQ(sqlite3_open(check_path("queue.db"), &db), SQLITE_OK);
    sqlite3_stmt *st;
    ASSERT_EQ(sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL), SQLITE_OK);
    ASSERT_EQ(sqlite3_step(st), SQLITE_ROW);
    ASSERT_EQ(sqlite3_column_int(st, 0), 7);
    sqlite3_finalize(st);
    sqlite3_close(db);
}

TEST(test_queue_creates_the_current_schema_in_wal_mode)
{
    struct queue *q = open_ok(check_dir());
    queue_close(q);
    sqlite3 *db;
    ASSERT_EQ(sqlite3_open(check_path("queue.db"), &db), SQLITE_OK);
    sqlite3_stmt *st;
    ASSERT_EQ(sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL), SQLITE_OK);
    ASSERT_EQ(sqlite3_step(st), SQLITE_ROW);
    ASSERT_EQ(sqlite3_column_int(st, 0), QUEUE_SCHEMA_VERSION);
    sqlite3_finalize(st);
    ASSERT_EQ(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &st, NULL), SQLITE_OK);
    ASSERT_EQ(sqlite3_step(st), SQLITE_ROW);
    ASSERT_STR_EQ((const char *)sqlite3_column_text(st, 0), "wal");
    sqlite3_finalize(st);
    sqlite3_close(db);
}

TEST(test_queue_sink_stores_the_pieces_a_writer_emits)
{
    struct queue *q = open_ok(check_dir());
    struct queue_sink sink = {.q = q, .now = T0 + 4242, .clock_trusted = 1};
    uint8_t id[16], h[H], c[C], t[T];
    make_id(id, 5);
    make_header(h, id);
    ASSERT_EQ(queue_envelope_sink(&sink, PIECE_HEADER, 0, h, H), 0);
    ASSERT_MEM_EQ(sink.tip_id, id, 16); /* taken from header bytes 8..23 */
    for (uint32_t k = 0; k < 2; k++) {
        make_chunk(c, 5, k);
        ASSERT_EQ(queue_envelope_sink(&sink, PIECE_CHUNK, k, c, C), 0);
    }
    /* A refused piece is reported to the caller, with the reason. */
    ASSERT_EQ(queue_envelope_sink(&sink, PIECE_CHUNK, 5, c, C), QUEUE_E_STATE);
    ASSERT_EQ(sink.last_error, QUEUE_E_STATE);
    ASSERT_STR_EQ(sink.err, "chunk 5 of tip 50515253 is out of order: the queue expects chunk 2");
    make_trailer(t, 5);
    ASSERT_EQ(queue_envelope_sink(&sink, PIECE_TRAILER, 0, t, T), 0);
    ASSERT_EQ(sink.last_error, 0);
    struct queue_tip tip;
    ASSERT_EQ(queue_get_tip(q, id, &tip), 0);
    ASSERT_EQ(tip.state, QUEUE_SEALED);
    ASSERT_EQ(tip.created, T0);
    ASSERT_EQ(tip.cut_short, 0);
    assert_tip_reads_back(q, 5, 2);
    queue_close(q);
}

struct seen {
    int n;
    int tags[8];
};

/* Records tip tags until it has seen three. */
static int visit(void *ctx, const struct queue_tip *t)
{
    struct seen *seen = ctx;
    seen->tags[seen->n++] = t->id[0] / 16;
    return seen->n == 3;
}

TEST(test_queue_foreach_visits_oldest_first_and_stops_early)
{
    struct queue *q = open_ok(check_dir());
    for (int tag = 1; tag <= 4; tag++)
        put_tip(q, tag, 1, tag != 3, 100 - tag);
    struct seen seen = {0};
    ASSERT_EQ(queue_foreach(q, visit, &seen), 0);
    ASSERT_EQ(seen.n, 3);
    ASSERT_EQ(seen.tags[0], 1);
    ASSERT_EQ(seen.tags[1], 2);
    ASSERT_EQ(seen.tags[2], 3);
    queue_close(q);
}

/* ---- the technician's inspector ---- */

static char *run_tool(const char *args, int *status)
{
    const char *out = check_path("tool.out");
    *status = check_sh("%s/homthu-queue %s > %s 2>&1", check_build(), args, out);
    size_t len = 0;
    uint8_t *bytes = check_slurp(out, &len);
    ASSERT(bytes);
    char *text = malloc(len + 1);
    ASSERT(text);
    memcpy(text, bytes, len);
    text[len] = 0;
    free(bytes);
    return text;
}

/* The tool's age of something kept at the rounded-down time `at`: the
 * range the truth lies in, in whole hours (under 2 days). */
static const char *tool_age(int64_t now, int64_t at, char *buf, size_t len)
{
    int64_t hi = now - at, lo = hi - G < 0 ? 0 : hi - G;
    snprintf(buf, len, "%lld-%lld h", (long long)(lo / 3600), (long long)((hi + 3599) / 3600));
    return buf;
}

/* The tool's summary and list, as they must read at wall time `now`. */
static void tool_expect(int64_t now, const char *dir, int64_t made[4], char *sum, size_t sumlen,
                        char *list, size_t listlen)
{
    char a1[32], a2[32], a4[32], ad[32];
    tool_age(now, queue_coarse_time(made[0]), a1, sizeof a1);
    tool_age(now, queue_coarse_time(made[1]), a2, sizeof a2);
    tool_age(now, queue_coarse_time(made[3]), a4, sizeof a4);
    tool_age(now, queue_coarse_time(made[2] + 300), ad, sizeof ad);
    snprintf(sum, sumlen,
             "queue:          %s/queue.db\n"
             "waiting:        3 tips, 69.0 KiB, oldest waiting %s\n"
             "recording:      1 tip, 4.2 KiB\n"
             "sealed:         2 tips, 36.6 KiB\n"
             "uploading:      1 tip, 32.4 KiB\n"
             "delivered:      1 tip, 32.4 KiB, the last %s ago (forgotten by the kiosk: only "
             "counted)\n"
             "cut short:      1 tip (power was lost while recording; the post gets what was "
             "said)\n"
             "times:          kept to 6 h, rounded down: ages are ranges\n"
             "database size:  ",
             dir, a1, ad);
    snprintf(list, listlen,
             "ID        STATE            SIZE  AGE            FLAGS\n"
             "10111213  sealed       32.4 KiB  %-14s \n"
             "20212223  uploading    32.4 KiB  %-14s sent-4.0 KiB\n"
             "40414243  recording     4.2 KiB  %-14s \n"
             "50515253  sealed        4.3 KiB  ?              cut-short clock-unset\n",
             a1, a2, a4);
}

TEST(test_queue_tool_summarises_the_queue_without_keys)
{
    const char *dir = check_path("data");
    ASSERT_EQ(mkdir(dir, 0700), 0);
    struct queue *q = open_ok(dir);
    int64_t now = (int64_t)time(NULL);
    int64_t made[4] = {now - 2 * 3600 - 30, now - 600, now - 300, now - 20 * 60 - 10};
    put_tip(q, 1, 8, 1, made[0]); /* the oldest waiting */
    put_tip(q, 2, 8, 1, made[1]);
    put_tip(q, 3, 8, 1, made[2]);
    put_tip(q, 4, 1, 0, made[3]); /* recording */
    uint8_t id[16], h[H], c[C], t[T];
    char err[512];
    make_id(id, 2);
    ASSERT_EQ(queue_set_uploading(q, id, 4096, err, sizeof err), 0);
    make_id(id, 3);
    ASSERT_EQ(queue_set_delivered(q, id, made[2] + 300, err, sizeof err), 0);
    make_id(id, 5);
    make_header(h, id);
    make_chunk(c, 5, 0);
    make_trailer(t, 5);
    ASSERT_EQ(queue_begin_tip(q, id, h, H, 20, 0, err, sizeof err), 0); /* clock unset */
    ASSERT_EQ(queue_put_chunk(q, id, 0, c, C, err, sizeof err), 0);
    ASSERT_EQ(queue_seal_tip(q, id, t, T, 1, 30, err, sizeof err), 0);

    int status;
    char args[4400];
    snprintf(args, sizeof args, "%s", dir);
    char *out = run_tool(args, &status);
    int64_t after = (int64_t)time(NULL);
    if (status != 0)
        check_fail(__FILE__, __LINE__, "homthu-queue failed: %s", out);
    /* As it reads at the start or the end of the run (an hour may turn). */
    static char sum[2][8192], list[2][4096];
    tool_expect(now, dir, made, sum[0], sizeof sum[0], list[0], sizeof list[0]);
    tool_expect(after, dir, made, sum[1], sizeof sum[1], list[1], sizeof list[1]);
    int ok = strncmp(out, sum[0], strlen(sum[0])) == 0 || strncmp(out, sum[1], strlen(sum[1])) == 0;
    if (!ok)
        check_fail(__FILE__, __LINE__, "summary:\n%s\nwanted:\n%s", out, sum[0]);
    ASSERT_CONTAINS(out, "\ndatabase size:  ");
    ASSERT(strstr(out, " min") == NULL); /* nothing finer than the queue keeps */
    free(out);

    snprintf(args, sizeof args, "--list %s", dir);
    out = run_tool(args, &status);
    after = (int64_t)time(NULL);
    ASSERT_EQ(status, 0);
    tool_expect(after, dir, made, sum[1], sizeof sum[1], list[1], sizeof list[1]);
    if (strcmp(out, list[0]) != 0 && strcmp(out, list[1]) != 0)
        check_fail(__FILE__, __LINE__, "list:\n%s\nwanted:\n%s", out, list[0]);
    free(out);

    snprintf(args, sizeof args, "--json %s", dir);
    out = run_tool(args, &status);
    ASSERT_EQ(status, 0);
    /* The age from the rounded-down time: 2 h 30 s and up to 6 h more,
     * plus however long this run took. */
    const char *age = strstr(out, "\"oldest_waiting_age_s\": ");
    ASSERT(age != NULL);
    long age_s = strtol(age + strlen("\"oldest_waiting_age_s\": "), NULL, 10);
    ASSERT(age_s >= 7230 && age_s < 7230 + G + 29);
    int64_t tool_now = age_s + queue_coarse_time(made[0]); /* from the kept time, exactly */
    ASSERT(tool_now >= now && tool_now <= (int64_t)time(NULL));
    ASSERT_CONTAINS(out, "\"time_grain_s\": 21600");
    ASSERT_CONTAINS(out, "\"sealed\": {\"tips\": 2, \"bytes\": 37521}");
    char want[256];
    snprintf(want, sizeof want, "\"delivered\": {\"tips\": 1, \"bytes\": %d, \"last_age_s\": ",
             H + 8 * C + T);
    ASSERT_CONTAINS(out, want);
    ASSERT_CONTAINS(out, "\"cut_short\": 1");
    free(out);

    snprintf(args, sizeof args, "--check %s", dir);
    out = run_tool(args, &status);
    ASSERT_EQ(status, 0);
    snprintf(want, sizeof want, "queue database %s/queue.db is sound\n", dir);
    ASSERT_STR_EQ(out, want);
    free(out);
    queue_close(q); /* the tool ran beside an open queue, as beside the kiosk */
}

TEST(test_queue_tool_says_when_there_is_no_queue)
{
    int status;
    char args[4400];
    snprintf(args, sizeof args, "%s", check_dir());
    char *out = run_tool(args, &status);
    ASSERT_EQ(status, 1);
    char want[4400];
    snprintf(want, sizeof want,
             "homthu-queue: no queue in %s (no queue.db there): is this the kiosk's data "
             "directory?\n",
             check_dir());
    ASSERT_STR_EQ(out, want);
    free(out);
    ASSERT(access(check_path("queue.db"), F_OK) != 0); /* it created nothing */

    snprintf(args, sizeof args, "%s/missing", check_dir());
    out = run_tool(args, &status);
    ASSERT_EQ(status, 1);
    snprintf(want, sizeof want,
             "homthu-queue: no queue in %s/missing: the directory does not exist\n", check_dir());
    ASSERT_STR_EQ(out, want);
    free(out);

    out = run_tool("", &status);
    ASSERT_EQ(status, 2);
    ASSERT_CONTAINS(out, "usage: homthu-queue [--json] DATA_DIR\n");
    free(out);

    /* A damaged queue is reported and left alone (the kiosk handles it). */
    check_write_file(check_path("queue.db"), "not a database at all, not at all......", 40);
    snprintf(args, sizeof args, "%s", check_dir());
    out = run_tool(args, &status);
    ASSERT_EQ(status, 1);
    snprintf(want, sizeof want,
             "homthu-queue: queue database %s/queue.db is damaged (file is not a database): "
             "the kiosk moves it aside and starts a fresh queue at its next start\n",
             check_dir());
    ASSERT_STR_EQ(out, want);
    free(out);
    ASSERT(access(check_path("queue.db.corrupt-1"), F_OK) != 0);
}

TEST(test_queue_readonly_open_reads_beside_the_writer_and_changes_nothing)
{
    struct queue *w = open_ok(check_dir());
    put_tip(w, 1, 2, 1, 100);
    struct queue *r = NULL;
    char err[512] = "";
    ASSERT_EQ(queue_open_readonly(&r, check_dir(), err, sizeof err), 0);
    put_tip(w, 2, 1, 1, 200); /* the kiosk goes on writing */
    assert_tip_reads_back(r, 1, 2);
    assert_tip_reads_back(r, 2, 1);
    struct queue_stats s;
    ASSERT_EQ(queue_stats(r, &s), 0);
    ASSERT_EQ(s.count[QUEUE_SEALED], 2);
    uint8_t id[16], h[H];
    make_id(id, 3);
    make_header(h, id);
    ASSERT_EQ(queue_begin_tip(r, id, h, H, 1, 1, err, sizeof err), QUEUE_E_ARG);
    ASSERT_STR_EQ(err, "queue: opened read-only, cannot change it");
    int n = 0;
    ASSERT_EQ(queue_purge_delivered(r, &n, err, sizeof err), QUEUE_E_ARG);
    ASSERT_EQ(queue_check(r, err, sizeof err), 0);
    queue_close(r);
    queue_close(w);

    /* Never creates anything where there is no queue. */
    const char *empty = check_path("empty");
    ASSERT_EQ(mkdir(empty, 0700), 0);
    ASSERT_EQ(queue_open_readonly(&r, empty, err, sizeof err), QUEUE_E_NOTFOUND);
    ASSERT(!r);
    ASSERT(access(check_path("empty/queue.db"), F_OK) != 0);
}
