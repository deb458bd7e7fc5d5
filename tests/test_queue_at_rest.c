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
