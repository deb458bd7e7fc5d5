/*
 * No plaintext at rest: after tips are recorded through the real path
 * (tip_* → capture → envelope → queue), no file the kiosk wrote holds
 * the words typed, the Ogg audio, or the microphone's PCM — not the
 * database, not its WAL or shm, not any temporary file.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sqlite3.h>

#include "check.h"
#include "crashkit.h"
#include "speech.h"
#include "kiosk/tip.h"

#define WIN 64

/* ---- a set of 64-byte windows, found again anywhere in a file ---- */

struct winset {
    const uint8_t **slot; /* open addressing on the rolling hash */
    uint64_t *hash;
    size_t mask, n;
    size_t skipped; /* windows too plain to mean anything (silence, padding) */
};

#define ROLL_B 0x100000001b3ull

static uint64_t roll_pow; /* ROLL_B^WIN, to take the leaving byte out */

static uint64_t hash_window(const uint8_t *w)
{
    uint64_t h = 0;
    for (int i = 0; i < WIN; i++)
        h = h * ROLL_B + w[i];
    return h;
}

/* A window of silence or a zeroed page would match anything zeroed. */
static int window_is_plain(const uint8_t *w)
{
    uint8_t seen[256] = {0};
    int distinct = 0;
    for (int i = 0; i < WIN; i++)
        if (!seen[w[i]]++)
            distinct++;
    return distinct < 12;
}

static void winset_init(struct winset *s, size_t expect)
{
    size_t cap = 1024;
    while (cap < expect * 2)
        cap *= 2;
    s->slot = calloc(cap, sizeof *s->slot);
    s->hash = calloc(cap, sizeof *s->hash);
    ASSERT(s->slot && s->hash);
    s->mask = cap - 1;
    s->n = s->skipped = 0;
    roll_pow = 1;
    for (int i = 0; i < WIN; i++)
        roll_pow *= ROLL_B;
}

/* Every WIN-aligned window of `b` (borrowed until winset_free). */
static void winset_add_aligned(struct winset *s, const uint8_t *b, size_t len)
{
    for (size_t at = 0; at + WIN <= len; at += WIN) {
        if (window_is_plain(b + at)) {
            s->skipped++;
            continue;
        }
        uint64_t h = hash_window(b + at);
        size_t i = (size_t)(h ^ (h >> 29)) & s->mask;
        while (s->slot[i])
            i = (i + 1) & s->mask;
        s->slot[i] = b + at;
        s->hash[i] = h;
        s->n++;
        ASSERT(s->n * 2 <= s->mask + 1);
    }
}

/* The first offset in `b` where any window of the set occurs, or -1. */
static long winset_find(const struct winset *s, const uint8_t *b, size_t len)
{
    if (len < WIN)
        return -1;
    uint64_t h = hash_window(b);
    for (size_t at = 0;; at++) {
        size_t i = (size_t)(h ^ (h >> 29)) & s->mask;
        for (; s->slot[i]; i = (i + 1) & s->mask)
            if (s->hash[i] == h && memcmp(s->slot[i], b + at, WIN) == 0)
                return (long)at;
        if (at + WIN >= len)
            return -1;
        h = h * ROLL_B + b[at + WIN] - roll_pow * b[at];
    }
}

static void winset_free(struct winset *s)
{
    free(s->slot);
    free(s->hash);
}

/* ---- the test ---- */

/* Typed by the person: Vietnamese and a plain-ASCII line. */
static const char phrase_vi[] = "Người lạ vượt sông Nậm Pồ lúc nửa đêm, mang theo hai khẩu súng";
static const char phrase_en[] = "three men with two motorbikes wait at the old bridge";

struct scan {
    struct winset *audio;
    int files;
    size_t bytes;
    char found[4600]; /* a sentence naming a path */
};

static void scan_file(struct scan *sc, const char *path)
{
    size_t len = 0;
    uint8_t *b = check_slurp(path, &len);
    if (!b)
        return; /* gone between readdir and open: a temp file that lived briefly */
    sc->files++;
    sc->bytes += len;
    static const struct {
        const char *what;
        const char *bytes;
    } needles[] = {
        {"the Vietnamese text", phrase_vi},
        {"the English text", phrase_en},
        {"an Ogg page", "OggS"},
        {"an Opus header", "OpusHead"},
        {"Opus tags", "OpusTags"},
    };
    for (size_t i = 0; i < sizeof needles / sizeof needles[0] && !sc->found[0]; i++) {
        const uint8_t *at = memmem(b, len, needles[i].bytes, strlen(needles[i].bytes));
        if (at)
            snprintf(sc->found, sizeof sc->found, "%s at byte %ld of %s", needles[i].what,
                     (long)(at - b), path);
    }
    long at = sc->found[0] ? -1 : winset_find(sc->audio, b, len);
    if (at >= 0)
        snprintf(sc->found, sizeof sc->found, "64 bytes of the audio at byte %ld of %s", at, path);
    free(b);
}

static void scan_dir(struct scan *sc, const char *dir)
{
    DIR *d = opendir(dir);
    ASSERT(d);
    struct dirent *e;
    while ((e = readdir(d))) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        char path[4400];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        struct stat st;
        if (lstat(path, &st) == 0 && S_ISDIR(st.st_mode))
            scan_dir(sc, path);
        else
            scan_file(sc, path);
    }
    closedir(d);
}

/* Names of files created in the watched directories, as "a b c". */
static void created_files(int ino, char *out, size_t outlen)
{
    char buf[8192] __attribute__((aligned(__alignof__(struct inotify_event))));
    size_t used = 0;
    out[0] = 0;
    ssize_t n;
    while ((n = read(ino, buf, sizeof buf)) > 0) {
        for (char *p = buf; p < buf + n;) {
            struct inotify_event *ev = (struct inotify_event *)p;
            if (ev->len && used < outlen)
                used +=
                    (size_t)snprintf(out + used, outlen - used, "%s%s", used ? " " : "", ev->name);
            p += sizeof *ev + ev->len;
        }
    }
}

struct recorded {
    struct ogg_buf ogg;
    uint8_t *pcm;
    size_t pcm_len;
};

/*
 * Record `samples` of the test speech from `from` with the two phrases
 * typed at 3 s. Sent when `send`; otherwise the session is returned still
 * recording (its chunks are on disk already), for the caller to discard.
 */
static struct tip_session *record_tip(struct queue *q, const struct tip_keys *keys,
                                      struct recorded *r, size_t from, size_t samples, int send)
{
    struct envelope_meta meta = {.language = "vi", .category = CATEGORY_WEAPONS};
    struct capture_opts audio = {.tee = ogg_buf_tee, .tee_ctx = &r->ogg};
    struct tip_session *s = NULL;
    char err[512] = "";
    int rc = tip_begin(&s, q, keys, &meta, &audio, 1700000000, 1, err, sizeof err);
    if (rc)
        check_fail(__FILE__, __LINE__, "tip_begin: %s", err);
    const int16_t *pcm = speech_pcm() + from;
    for (size_t at = 0; at < samples;) {
        size_t k = samples - at < 960 ? samples - at : 960; /* 60 ms frames, as the mic gives */
        ASSERT_EQ(tip_add_pcm(s, pcm + at, k, err, sizeof err), 0);
        if (at == 16000 * 3) {
            ASSERT_EQ(tip_add_text(s, phrase_vi, strlen(phrase_vi), err, sizeof err), 0);
            ASSERT_EQ(tip_add_text(s, phrase_en, strlen(phrase_en), err, sizeof err), 0);
        }
        at += k;
    }
    /* What the microphone gave, to look for on disk. */
    r->pcm = realloc(r->pcm, r->pcm_len + samples * 2);
    ASSERT(r->pcm);
    memcpy(r->pcm + r->pcm_len, pcm, samples * 2);
    r->pcm_len += samples * 2;
    if (!send)
        return s;
    rc = tip_send(s, 1700000100, err, sizeof err);
    if (rc)
        check_fail(__FILE__, __LINE__, "tip_send: %s", err);
    return NULL;
}

TEST(test_queue_holds_no_plaintext_at_rest)
{
    struct crash_keys ck;
    ASSERT_EQ(crash_keys_make(&ck), 0);
    struct tip_keys keys;
    memcpy(keys.post_pk, ck.post_pk, 32);
    memcpy(keys.device_sk, ck.device_sk, 64);
    (void)speech_pcm(); /* make the fixture before watching for files */

    const char *data = check_path("data"), *tmp = check_path("tmp");
    ASSERT_EQ(mkdir(data, 0700), 0);
    ASSERT_EQ(mkdir(tmp, 0700), 0);
    /* SQLite puts temp files (unlinked at once, so only a watch sees them)
     * in sqlite3_temp_directory first: point it where we watch. */
    char *old_tmp = sqlite3_temp_directory;
    sqlite3_temp_directory = sqlite3_mprintf("%s", tmp);
    int ino = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    ASSERT(ino >= 0);
    ASSERT(inotify_add_watch(ino, data, IN_CREATE) >= 0);
    ASSERT(inotify_add_watch(ino, tmp, IN_CREATE) >= 0);

    struct queue *q = NULL;
    unsigned faults = 0;
    char err[512] = "";
    ASSERT_EQ(queue_open(&q, data, &faults, err, sizeof err), 0);
    struct recorded r = {0};
    record_tip(q, &keys, &r, 0, 16000 * 12, 1);
    record_tip(q, &keys, &r, 16000 * 15, 16000 * 8, 1);
    /* Delivered and purged: its bytes leave the card. */
    struct queue_tip t;
    ASSERT_EQ(queue_next_to_send(q, &t), 0);
    ASSERT_EQ(queue_set_delivered(q, t.id, 1700000200, err, sizeof err), 0);
    int purged = 0;
    ASSERT_EQ(queue_purge_delivered(q, &purged, err, sizeof err), 0);
    ASSERT_EQ(purged, 1);
    /* The scan runs while the third person is still talking. */
    struct tip_session *open_tip = record_tip(q, &keys, &r, 16000 * 30, 16000 * 10, 0);

    ASSERT(r.ogg.len > 10000); /* the scan has real audio to look for */
    struct winset ws;
    winset_init(&ws, (r.ogg.len + r.pcm_len) / WIN + 1);
    winset_add_aligned(&ws, r.ogg.b, r.ogg.len);
    winset_add_aligned(&ws, r.pcm, r.pcm_len);
    ASSERT(ws.n > 10000);

    struct scan sc = {.audio = &ws};
    scan_dir(&sc, data);
    scan_dir(&sc, tmp);
    if (sc.found[0])
        check_fail(__FILE__, __LINE__, "plaintext on disk while recording: %s", sc.found);
    ASSERT(sc.bytes > 100000); /* the tips are on disk, just not readable */
    int files_open = sc.files;
    size_t bytes_open = sc.bytes;

    ASSERT_EQ(tip_discard(open_tip), 0); /* they walked away */
    queue_close(q);
    sc.files = 0;
    sc.bytes = 0;
    scan_dir(&sc, data);
    scan_dir(&sc, tmp);
    if (sc.found[0])
        check_fail(__FILE__, __LINE__, "plaintext on disk after closing: %s", sc.found);

    char created[1024];
    created_files(ino, created, sizeof created);
    close(ino);
    sqlite3_free(sqlite3_temp_directory);
    sqlite3_temp_directory = old_tmp;
    /* The queue, its WAL and shm, and nothing else, ever. The rollback
     * journal appears once, when the new file is switched to WAL, before
     * any tip exists. */
    ASSERT_STR_EQ(created, "queue.db queue.db-journal queue.db-wal queue.db-shm");
    printf("    scanned %d files, %zu bytes while recording and %d files, %zu bytes after "
           "closing: no text, no Ogg, none of %zu audio windows (%zu silent ones skipped)\n",
           files_open, bytes_open, sc.files, sc.bytes, ws.n, ws.skipped);
    winset_free(&ws);
    ogg_buf_free(&r.ogg);
    free(r.pcm);
}

/* ---- no time finer than the queue keeps, no delivered tip ---- */

#define QH ENVELOPE_HEADER_BYTES
#define QC ENVELOPE_CHUNK_CIPHER
#define QT ENVELOPE_TRAILER_BYTES
#define GRAIN QUEUE_TIME_GRAIN_S
/* 2025-04-18 12:00:00 UTC: on the 6-hour grid; the fake clock ticks from here. */
#define TQ0 1744977600LL

static void fake_id(uint8_t id[16], int tag)
{
    for (int i = 0; i < 16; i++)
        id[i] = (uint8_t)(0xC0 ^ (tag * 17 + i * 3));
}

/* Bytes no other piece repeats at any offset (an LCG per tip and chunk). */
static void fake_piece(uint8_t *p, size_t n, int tag, uint32_t k)
{
    uint64_t x = (uint64_t)tag * 1000003u + k * 7919u + n;
    for (size_t i = 0; i < n; i++) {
        x = x * 6364136223846793005ull + 1442695040888963407ull;
        p[i] = (uint8_t)(x >> 56);
    }
    if (n == QH)
        fake_id(p + 8, tag); /* the header holds the tip id */
}

/* Every way SQLite or a careless writer could keep the integer v: big-
 * endian in 4, 6 or 8 bytes (SQLite's record), little-endian, decimal. */
static const char *file_holds_time(const uint8_t *b, size_t len, int64_t v, char *how,
                                   size_t howlen)
{
    uint8_t be8[8], le8[8];
    for (int i = 0; i < 8; i++) {
        be8[i] = (uint8_t)((uint64_t)v >> (56 - 8 * i));
        le8[i] = (uint8_t)((uint64_t)v >> (8 * i));
    }
    char dec[32];
    snprintf(dec, sizeof dec, "%lld", (long long)v);
    struct {
        const void *p;
        size_t n;
        const char *name;
    } forms[] = {{be8 + 4, 4, "4-byte big-endian"}, {be8 + 2, 6, "6-byte big-endian"},
                 {be8, 8, "8-byte big-endian"},     {le8, 4, "4-byte little-endian"},
                 {le8, 8, "8-byte little-endian"},  {dec, strlen(dec), "decimal text"}};
    for (size_t i = 0; i < sizeof forms / sizeof forms[0]; i++)
        if (len >= forms[i].n && memmem(b, len, forms[i].p, forms[i].n)) {
            snprintf(how, howlen, "%lld as %s", (long long)v, forms[i].name);
            return how;
        }
    return NULL;
}

/* What a thief reading the card's files finds: "" when none of the exact
 * times, none of the delivered tips' ids or chunk bytes are there. */
static void thief_reads_files(const char *dir, const int64_t *times, size_t ntimes,
                              const uint8_t (*gone)[16], size_t ngone, int gone_tag0,
                              char *found, size_t foundlen)
{
    static const char *const names[] = {"queue.db", "queue.db-wal", "queue.db-shm"};
    found[0] = 0;
    for (size_t f = 0; f < 3 && !found[0]; f++) {
        char path[4200];
        snprintf(path, sizeof path, "%s/%s", dir, names[f]);
        size_t len = 0;
        uint8_t *b = check_slurp(path, &len);
        if (!b)
            continue;
        char how[96];
        for (size_t i = 0; i < ntimes && !found[0]; i++)
            if (file_holds_time(b, len, times[i], how, sizeof how))
                snprintf(found, foundlen, "%s holds the exact time %s", names[f], how);
        for (size_t i = 0; i < ngone && !found[0]; i++) {
            uint8_t chunk[QC];
            fake_piece(chunk, QC, gone_tag0 + (int)i, 0);
            if (memmem(b, len, gone[i], 16))
                snprintf(found, foundlen, "%s holds the id of delivered tip %zu", names[f], i);
            else if (memmem(b, len, chunk + 100, 64))
                snprintf(found, foundlen, "%s holds a chunk of delivered tip %zu", names[f], i);
        }
        free(b);
    }
}

/* What a thief finds with sqlite3 on a copy of the card's files. */
struct thief_rows {
    int tips, delivered_rows, fine_times, orphan_chunks;
    int64_t delivered_count, last_delivered;
};

static void thief_reads_rows(const char *dir, struct thief_rows *r)
{
    memset(r, 0, sizeof *r);
    char copy[4300];
    snprintf(copy, sizeof copy, "%s/../thief", dir);
    ASSERT_EQ(check_sh("rm -rf '%s' && mkdir '%s' && cp '%s'/queue.db* '%s'/", copy, copy, dir,
                       copy),
              0);
    char path[4400];
    snprintf(path, sizeof path, "%s/queue.db", copy);
    sqlite3 *db = NULL;
    ASSERT_EQ(sqlite3_open(path, &db), SQLITE_OK);
    char sql[512];
    snprintf(sql, sizeof sql,
             "SELECT count(*), total(state IN (3, 4)),"
             " total(created %% %d != 0 OR sealed %% %d != 0 OR delivered %% %d != 0),"
             " (SELECT count(*) FROM chunks WHERE tip_id NOT IN (SELECT id FROM tips)),"
             " (SELECT value FROM counters WHERE name = 'delivered_tips'),"
             " (SELECT value FROM counters WHERE name = 'last_delivered') FROM tips",
             GRAIN, GRAIN, GRAIN);
    sqlite3_stmt *st = NULL;
    ASSERT_EQ(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
    ASSERT_EQ(sqlite3_step(st), SQLITE_ROW);
    r->tips = sqlite3_column_int(st, 0);
    r->delivered_rows = (int)sqlite3_column_double(st, 1);
    r->fine_times = (int)sqlite3_column_double(st, 2);
    r->orphan_chunks = sqlite3_column_int(st, 3);
    r->delivered_count = sqlite3_column_int64(st, 4);
    r->last_delivered = sqlite3_column_int64(st, 5);
    sqlite3_finalize(st);
    sqlite3_close(db);
}

static void queue_tip_at(struct queue *q, int tag, uint32_t chunks, int seal, int64_t made,
                         int64_t sealed)
{
    uint8_t id[16], p[QC];
    char err[512] = "";
    fake_id(id, tag);
    fake_piece(p, QH, tag, 0);
    ASSERT_EQ(queue_begin_tip(q, id, p, QH, made, 1, err, sizeof err), 0);
    for (uint32_t k = 0; k < chunks; k++) {
        fake_piece(p, QC, tag, k);
        ASSERT_EQ(queue_put_chunk(q, id, k, p, QC, err, sizeof err), 0);
    }
    if (seal) {
        fake_piece(p, QT, tag, 0);
        ASSERT_EQ(queue_seal_tip(q, id, p, QT, 0, sealed, err, sizeof err), 0);
    }
}

TEST(test_queue_a_stolen_queue_tells_no_time_finer_than_six_hours_and_no_delivered_tip)
{
    /* A fake clock, to the second: the times a visitor log would match. */
    const int64_t made[5] = {TQ0 + 3723, TQ0 + 4511, TQ0 + 9001, TQ0 + GRAIN + 1234,
                             TQ0 + 2 * GRAIN + 77};
    int64_t times[16];
    size_t nt = 0;
    for (int i = 0; i < 5; i++) {
        times[nt++] = made[i];
        times[nt++] = made[i] + 95; /* sealed after 95 s of speech */
    }
    const int64_t delivered_at[2] = {TQ0 + 2 * GRAIN + 501, TQ0 + 2 * GRAIN + 4242};
    times[nt++] = delivered_at[0];
    times[nt++] = delivered_at[1];

    struct queue *q = NULL;
    unsigned faults = 0;
    char err[512] = "";
    ASSERT_EQ(queue_open(&q, check_dir(), &faults, err, sizeof err), 0);
    for (int i = 0; i < 5; i++)
        queue_tip_at(q, i + 1, 3, i != 4, made[i], made[i] + 95); /* the 5th is recording */
    /* Tips 1 and 2 reach the post. */
    uint8_t gone[2][16];
    for (int i = 0; i < 2; i++) {
        fake_id(gone[i], i + 1);
        ASSERT_EQ(queue_set_uploading(q, gone[i], 100, err, sizeof err), 0);
        ASSERT_EQ(queue_set_delivered(q, gone[i], delivered_at[i], err, sizeof err), 0);
    }
    int purged = 0;
    ASSERT_EQ(queue_purge_delivered(q, &purged, err, sizeof err), 0);

    /* The check can see what it looks for: the delivered tips were there. */
    char found[256];
    uint8_t still[16];
    fake_id(still, 3);
    int64_t coarse3 = queue_coarse_time(made[2]);
    ASSERT(coarse3 == TQ0);
    thief_reads_files(check_dir(), &made[2], 0, (const uint8_t(*)[16])still, 1, 3, found,
                      sizeof found);
    ASSERT_CONTAINS(found, "holds the id of delivered tip 0"); /* tip 3 is still here */

    /* Stolen while running, and stolen after a clean stop. */
    for (int closed = 0; closed <= 1; closed++) {
        if (closed)
            queue_close(q);
        thief_reads_files(check_dir(), times, nt, (const uint8_t(*)[16])gone, 2, 1, found,
                          sizeof found);
        if (found[0])
            check_fail(__FILE__, __LINE__, "%s: %s", closed ? "after closing" : "while open",
                       found);
        struct thief_rows r;
        thief_reads_rows(check_dir(), &r);
        ASSERT_EQ(r.tips, 3);           /* the waiting and the recording tips, no more */
        ASSERT_EQ(r.delivered_rows, 0); /* delivered tips are forgotten... */
        ASSERT_EQ(r.delivered_count, 2); /* ...but counted */
        ASSERT_EQ(r.fine_times, 0);
        ASSERT_EQ(r.orphan_chunks, 0);
        ASSERT_EQ(r.last_delivered, TQ0 + 2 * GRAIN);
    }

    /* What the kiosk needs still works from the coarse times: the oldest
     * waiting tip's age (LED, heartbeat) is never under the truth and at
     * most 6 hours over it. */
    ASSERT_EQ(queue_open(&q, check_dir(), &faults, err, sizeof err), 0);
    struct queue_stats s;
    ASSERT_EQ(queue_stats(q, &s), 0);
    ASSERT_EQ(s.count[QUEUE_SEALED], 2);
    ASSERT_EQ(s.count[QUEUE_PURGED], 2);
    ASSERT_EQ(s.oldest_waiting, TQ0);
    int64_t now = made[2] + 3 * 86400;
    ASSERT(now - s.oldest_waiting >= now - made[2]);
    ASSERT(now - s.oldest_waiting < now - made[2] + GRAIN);
    queue_close(q);
}

/* The version-1 schema, as kiosks in the field have it. */
static const char schema_v1[] =
    "CREATE TABLE tips (id BLOB PRIMARY KEY NOT NULL CHECK (length(id) = 16),"
    " ord INTEGER NOT NULL UNIQUE, state INTEGER NOT NULL CHECK (state BETWEEN 0 AND 4),"
    " header BLOB, trailer BLOB, chunk_count INTEGER NOT NULL DEFAULT 0,"
    " bytes INTEGER NOT NULL DEFAULT 0, upload_offset INTEGER NOT NULL DEFAULT 0,"
    " created INTEGER NOT NULL, clock_trusted INTEGER NOT NULL DEFAULT 0,"
    " sealed INTEGER NOT NULL DEFAULT 0, delivered INTEGER NOT NULL DEFAULT 0,"
    " cut_short INTEGER NOT NULL DEFAULT 0);"
    "CREATE INDEX tips_by_state ON tips (state, ord);"
    "CREATE TABLE chunks (tip_id BLOB NOT NULL REFERENCES tips (id) ON DELETE CASCADE,"
    " seq INTEGER NOT NULL, data BLOB NOT NULL, PRIMARY KEY (tip_id, seq)) WITHOUT ROWID;"
    "PRAGMA user_version = 1;";

static void v1_exec(sqlite3 *db, const char *sql)
{
    char *msg = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK)
        check_fail(__FILE__, __LINE__, "%s: %s", sql, msg ? msg : "?");
}

/* Tip `tag` written the way version 1 did, step by step. */
static void v1_tip(sqlite3 *db, int tag, int ord, int64_t made, int state, int64_t delivered)
{
    uint8_t id[16], p[QC];
    fake_id(id, tag);
    sqlite3_stmt *st = NULL;
    fake_piece(p, QH, tag, 0);
    ASSERT_EQ(sqlite3_prepare_v2(db,
                                 "INSERT INTO tips (id, ord, state, header, bytes, created,"
                                 " clock_trusted) VALUES (?1, ?2, 0, ?3, 176, ?4, 1)",
                                 -1, &st, NULL),
              SQLITE_OK);
    sqlite3_bind_blob(st, 1, id, 16, SQLITE_TRANSIENT);
    sqlite3_bind_int(st, 2, ord);
    sqlite3_bind_blob(st, 3, p, QH, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 4, made);
    ASSERT_EQ(sqlite3_step(st), SQLITE_DONE);
    sqlite3_finalize(st);
    for (uint32_t k = 0; k < 8; k++) {
        fake_piece(p, QC, tag, k);
        ASSERT_EQ(sqlite3_prepare_v2(db, "INSERT INTO chunks VALUES (?1, ?2, ?3)", -1, &st, NULL),
                  SQLITE_OK);
        sqlite3_bind_blob(st, 1, id, 16, SQLITE_TRANSIENT);
        sqlite3_bind_int(st, 2, (int)k);
        sqlite3_bind_blob(st, 3, p, QC, SQLITE_TRANSIENT);
        ASSERT_EQ(sqlite3_step(st), SQLITE_DONE);
        sqlite3_finalize(st);
        char sql[128];
        snprintf(sql, sizeof sql, "UPDATE tips SET chunk_count = chunk_count + 1, bytes = bytes + "
                                  "4113 WHERE ord = %d", ord);
        v1_exec(db, sql);
    }
    if (state == 0)
        return;
    fake_piece(p, QT, tag, 0);
    ASSERT_EQ(sqlite3_prepare_v2(db,
                                 "UPDATE tips SET state = 1, trailer = ?2, bytes = bytes + 76,"
                                 " sealed = ?3 WHERE ord = ?1",
                                 -1, &st, NULL),
              SQLITE_OK);
    sqlite3_bind_int(st, 1, ord);
    sqlite3_bind_blob(st, 2, p, QT, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 3, made + 95);
    ASSERT_EQ(sqlite3_step(st), SQLITE_DONE);
    sqlite3_finalize(st);
    if (state < 3)
        return;
    char sql[256];
    snprintf(sql, sizeof sql,
             "UPDATE tips SET state = 3, delivered = %lld, upload_offset = bytes WHERE ord = %d",
             (long long)delivered, ord);
    v1_exec(db, sql);
    if (state < 4)
        return;
    snprintf(sql, sizeof sql,
             "DELETE FROM chunks WHERE tip_id IN (SELECT id FROM tips WHERE ord = %d);"
             "UPDATE tips SET state = 4, header = NULL, trailer = NULL, bytes = 0,"
             " upload_offset = 0 WHERE ord = %d",
             ord, ord);
    v1_exec(db, sql);
}

TEST(test_queue_migrates_an_old_queue_forgetting_delivered_tips_and_exact_times)
{
    const int64_t made[4] = {TQ0 + 1111, TQ0 + 2222, TQ0 + GRAIN + 3333, TQ0 + GRAIN + 4444};
    const int64_t delivered_at[2] = {TQ0 + 2 * GRAIN + 5555, TQ0 + 2 * GRAIN + 6666};
    int64_t times[16];
    size_t nt = 0;
    for (int i = 0; i < 4; i++) {
        times[nt++] = made[i];
        times[nt++] = made[i] + 95;
    }
    times[nt++] = delivered_at[0];
    times[nt++] = delivered_at[1];

    /* A version-1 queue, written as version 1 did (WAL, secure_delete):
     * tip 1 purged, tip 2 delivered, tip 3 sealed, tip 4 recording. */
    char path[4200];
    snprintf(path, sizeof path, "%s/queue.db", check_dir());
    sqlite3 *db = NULL;
    ASSERT_EQ(sqlite3_open(path, &db), SQLITE_OK);
    v1_exec(db, "PRAGMA journal_mode = WAL; PRAGMA secure_delete = ON; PRAGMA foreign_keys = ON");
    v1_exec(db, schema_v1);
    v1_tip(db, 1, 1, made[0], 4, delivered_at[0]);
    v1_tip(db, 2, 2, made[1], 3, delivered_at[1]);
    v1_tip(db, 3, 3, made[2], 1, 0);
    v1_tip(db, 4, 4, made[3], 0, 0);
    sqlite3_close(db);

    uint8_t gone[2][16];
    fake_id(gone[0], 1);
    fake_id(gone[1], 2);
    char found[256];
    /* The check sees the old file's exact times and the delivered tip. */
    thief_reads_files(check_dir(), times, nt, (const uint8_t(*)[16])gone, 2, 1, found,
                      sizeof found);
    ASSERT_CONTAINS(found, "holds the exact time");

    /* The kiosk's next start migrates it. */
    struct queue *q = NULL;
    unsigned faults = 0;
    char err[512] = "";
    ASSERT_EQ(queue_open(&q, check_dir(), &faults, err, sizeof err), 0);
    ASSERT_EQ(faults, 0);
    for (int closed = 0; closed <= 1; closed++) {
        if (closed)
            queue_close(q);
        thief_reads_files(check_dir(), times, nt, (const uint8_t(*)[16])gone, 2, 1, found,
                          sizeof found);
        if (found[0])
            check_fail(__FILE__, __LINE__, "migrated, %s: %s",
                       closed ? "after closing" : "while open", found);
        struct thief_rows r;
        thief_reads_rows(check_dir(), &r);
        ASSERT_EQ(r.tips, 2);
        ASSERT_EQ(r.delivered_rows, 0);
        ASSERT_EQ(r.delivered_count, 2);
        ASSERT_EQ(r.fine_times, 0);
        ASSERT_EQ(r.orphan_chunks, 0);
        ASSERT_EQ(r.last_delivered, TQ0 + 2 * GRAIN);
    }

    /* Nothing waiting was lost: the sealed tip reads back whole, the
     * recording one goes on; the counters hold the delivered sizes. */
    ASSERT_EQ(queue_open(&q, check_dir(), &faults, err, sizeof err), 0);
    struct queue_stats s;
    ASSERT_EQ(queue_stats(q, &s), 0);
    ASSERT_EQ(s.count[QUEUE_SEALED], 1);
    ASSERT_EQ(s.count[QUEUE_RECORDING], 1);
    ASSERT_EQ(s.count[QUEUE_PURGED], 2);
    ASSERT_EQ(s.delivered_bytes, 2 * (QH + 8 * QC + QT));
    ASSERT_EQ(s.last_delivered, TQ0 + 2 * GRAIN);
    ASSERT_EQ(s.oldest_waiting, TQ0 + GRAIN);
    uint8_t id[16], want[QC], got[QC];
    fake_id(id, 3);
    size_t n = 0;
    ASSERT_EQ(queue_read(q, id, QH + 5 * QC, got, QC, &n, err, sizeof err), 0);
    ASSERT_EQ(n, QC);
    fake_piece(want, QC, 3, 5);
    ASSERT_MEM_EQ(got, want, QC);
    fake_id(id, 4);
    fake_piece(want, QC, 4, 8);
    ASSERT_EQ(queue_put_chunk(q, id, 8, want, QC, err, sizeof err), 0);
    queue_close(q);
}
