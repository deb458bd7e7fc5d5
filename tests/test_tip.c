/*
 * Tests for src/kiosk/tip.c: a tip made as the kiosk makes it (speech in odd
 * microphone slices, text at the end) through a real queue on disk, then
 * read back from the queue and opened with the post key as the post would.
 */
#include "check.h"
#include "core/envelope.h"
#include "core/queue.h"
#include "speech.h"
#include "kiosk/tip.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

/* 2025-04-18 12:00 UTC: day 1934 since 2020-01-01. */
#define NOW 1744977600LL
#define NOW_DAY 1934

static const char text_vi[] = "Tối qua có hai người lạ mang hàng qua suối gần bản Na Cô Sa 4.";

struct fixture {
    struct queue *q;
    struct tip_keys keys;
    struct envelope_post_key post;
};

static void fixture_open(struct fixture *f, const char *dir)
{
    char err[256] = "";
    unsigned faults = 0;
    uint8_t dev_pk[32];
    ASSERT(sodium_init() >= 0);
    memset(f, 0, sizeof *f);
    crypto_box_keypair(f->post.pk, f->post.sk);
    memcpy(f->keys.post_pk, f->post.pk, 32);
    crypto_sign_keypair(dev_pk, f->keys.device_sk);
    int rc = queue_open(&f->q, dir, &faults, err, sizeof err);
    if (rc)
        check_fail(__FILE__, __LINE__, "queue_open: %s", err);
    ASSERT_EQ(faults, 0);
}

static struct envelope_meta meta_vi(void)
{
    struct envelope_meta m = {
        .language = "vi", .category = CATEGORY_SMUGGLING, .training = 0, .when = WHEN_YESTERDAY};
    /* Deliberately wrong: the session sets these two itself. */
    m.capture_day = 7;
    m.codec = CODEC_NONE;
    return m;
}

/* Everything the post gets out of an envelope. */
struct opened {
    int metas;
    struct envelope_meta meta;
    int texts, whens, categories;
    uint8_t when, category;
    struct ogg_buf text; /* all text records, in order, separated by nothing */
    size_t text_len[4];
    struct ogg_buf audio;
    int rc; /* envelope_reader_finish() */
    char err[256];
};

static void on_meta(void *ctx, const struct envelope_meta *m)
{
    struct opened *o = ctx;
    o->metas++;
    o->meta = *m;
}

static void on_text(void *ctx, const uint8_t *b, size_t len)
{
    struct opened *o = ctx;
    if (o->texts < 4)
        o->text_len[o->texts] = len;
    o->texts++;
    ogg_buf_add(&o->text, b, len);
}

static void on_when(void *ctx, uint8_t when)
{
    struct opened *o = ctx;
    o->whens++;
    o->when = when;
}

static void on_category(void *ctx, uint8_t c)
{
    struct opened *o = ctx;
    o->categories++;
    o->category = c;
}

static void on_audio(void *ctx, const uint8_t *b, size_t len)
{
    struct opened *o = ctx;
    ogg_buf_add(&o->audio, b, len);
}

/*
 * Read a tip's whole envelope out of the queue (queue_read in slices, as
 * the uploader does) and open it with the post key, fed in odd slices.
 */
static struct opened open_from_queue(struct fixture *f, const uint8_t id[16])
{
    struct opened o = {0};
    struct queue_tip t;
    char err[256] = "";
    ASSERT_EQ(queue_get_tip(f->q, id, &t), 0);
    ASSERT(t.bytes > 0);
    uint8_t *env = malloc(t.bytes);
    ASSERT(env);
    uint64_t off = 0;
    while (off < t.bytes) {
        size_t got = 0;
        int rc = queue_read(f->q, id, off, env + off, 10000, &got, err, sizeof err);
        if (rc)
            check_fail(__FILE__, __LINE__, "queue_read: %s", err);
        ASSERT(got > 0);
        off += got;
    }
    ASSERT_EQ(off, t.bytes);

    struct envelope_reader_opts ro = {.keys = &f->post, .nkeys = 1};
    ro.records = (struct envelope_record_cb){
        .meta = on_meta, .text = on_text, .audio = on_audio, .when = on_when, .ctx = &o,
        .category = on_category};
    struct envelope_reader *r = NULL;
    ASSERT_EQ(envelope_reader_new(&r, &ro), 0);
    int rc = 0;
    for (uint64_t at = 0; rc == 0 && at < t.bytes;) {
        size_t n = (size_t)(t.bytes - at) < 3001 ? (size_t)(t.bytes - at) : 3001;
        rc = envelope_reader_feed(r, env + at, n, o.err, sizeof o.err);
        at += n;
    }
    if (rc == 0)
        rc = envelope_reader_finish(r, o.err, sizeof o.err);
    o.rc = rc;
    envelope_reader_free(r);
    free(env);
    return o;
}

static void opened_free(struct opened *o)
{
    ogg_buf_free(&o->text);
    ogg_buf_free(&o->audio);
}

/* Feed `samples` of the looping test speech in microphone-like odd slices. */
static int feed(struct tip_session *s, size_t from, size_t samples, char *err, size_t errlen)
{
    static const size_t frames[] = {1, 7, 333, 160, 961, 16001, 4099, 2};
    const int16_t *pcm = speech_pcm();
    size_t turn = 0;
    while (samples) {
        size_t at = from % SPEECH_SAMPLES;
        size_t n = frames[turn++ % (sizeof frames / sizeof frames[0])];
        if (n > samples)
            n = samples;
        if (n > SPEECH_SAMPLES - at)
            n = SPEECH_SAMPLES - at;
        int rc = tip_add_pcm(s, pcm + at, n, err, errlen);
        if (rc)
            return rc;
        from += n;
        samples -= n;
    }
    return 0;
}

static void assert_queue_empty(struct queue *q)
{
    struct queue_stats st;
    ASSERT_EQ(queue_stats(q, &st), 0);
    for (int i = 0; i < QUEUE_NSTATES; i++) {
        ASSERT_EQ(st.count[i], 0);
        ASSERT_EQ(st.bytes[i], 0);
    }
    ASSERT_EQ(st.cut_short, 0);
    ASSERT_EQ(st.oldest_waiting, 0);
}

static int count_tip(void *ctx, const struct queue_tip *t)
{
    (void)t;
    ++*(int *)ctx;
    return 0;
}

/* ---- the round trip ---- */

TEST(test_tip_round_trip_of_a_minute_of_speech_and_text_through_the_queue)
{
    struct fixture f;
    struct ogg_buf ogg = {0};
    struct tip_session *s = NULL;
    char err[256] = "";
    fixture_open(&f, check_dir());

    struct envelope_meta m = meta_vi();
    struct capture_opts audio = {.tee = ogg_buf_tee, .tee_ctx = &ogg};
    int rc = tip_begin(&s, f.q, &f.keys, &m, &audio, NOW, 1, err, sizeof err);
    if (rc)
        check_fail(__FILE__, __LINE__, "tip_begin: %s", err);
    uint8_t id[16];
    memcpy(id, tip_id(s), sizeof id);

    /* The header is in the queue at once, as a tip still recording. */
    struct queue_tip t;
    ASSERT_EQ(queue_get_tip(f.q, id, &t), 0);
    ASSERT_EQ(t.state, QUEUE_RECORDING);

    rc = feed(s, 0, SPEECH_SAMPLES, err, sizeof err);
    if (rc)
        check_fail(__FILE__, __LINE__, "tip_add_pcm: %s", err);
    ASSERT(tip_seconds(s) == 60.0);
    /* Chunks are committed while the person speaks, not at the end. */
    ASSERT_EQ(queue_get_tip(f.q, id, &t), 0);
    ASSERT(t.chunks >= 15);
    ASSERT_EQ(t.state, QUEUE_RECORDING);

    ASSERT_EQ(tip_add_text(s, text_vi, strlen(text_vi), err, sizeof err), 0);
    /* Asked after the recording, as the kiosk does. */
    ASSERT_EQ(tip_set_when(s, WHEN_THIS_WEEK, err, sizeof err), 0);
    ASSERT_EQ(tip_set_when(s, WHEN_TODAY, err, sizeof err), ENVELOPE_E_STATE);
    ASSERT_STR_EQ(err, "when it happened is already recorded for this tip");
    ASSERT_EQ(tip_set_when(s, 9, err, sizeof err), ENVELOPE_E_ARG);
    ASSERT_STR_EQ(err, "when it happened must be one of today, yesterday, this week or earlier "
                       "(got 9)");
    rc = tip_send(s, NOW + 90, err, sizeof err);
    if (rc)
        check_fail(__FILE__, __LINE__, "tip_send: %s", err);

    ASSERT_EQ(queue_get_tip(f.q, id, &t), 0);
    ASSERT_EQ(t.state, QUEUE_SEALED);
    ASSERT_EQ(t.cut_short, 0);
    ASSERT_EQ(t.created, NOW);
    ASSERT_EQ(t.sealed, queue_coarse_time(NOW + 90)); /* kept to 6 h (docs/queue.md) */
    struct queue_tip next;
    ASSERT_EQ(queue_next_to_send(f.q, &next), 0);
    ASSERT_MEM_EQ(next.id, id, 16);

    struct opened o = open_from_queue(&f, id);
    if (o.rc)
        check_fail(__FILE__, __LINE__, "opening the tip: %s", o.err);
    ASSERT_EQ(o.metas, 1);
    ASSERT_STR_EQ(o.meta.language, "vi");
    ASSERT_EQ(o.meta.category, CATEGORY_SMUGGLING);
    ASSERT_EQ(o.meta.training, 0);
    ASSERT_EQ(o.meta.when, WHEN_YESTERDAY);
    ASSERT_EQ(o.meta.codec, CODEC_OGG_OPUS);
    ASSERT_EQ(o.meta.capture_day, NOW_DAY);
    ASSERT_EQ(o.whens, 1);
    ASSERT_EQ(o.when, WHEN_THIS_WEEK);
    ASSERT_EQ(o.texts, 1);
    ASSERT_EQ(o.text.len, strlen(text_vi));
    ASSERT_MEM_EQ(o.text.b, text_vi, strlen(text_vi));
    /* The audio the post decrypts is byte for byte what the encoder made. */
    ASSERT(ogg.len > 0);
    ASSERT_EQ(o.audio.len, ogg.len);
    ASSERT_MEM_EQ(o.audio.b, ogg.b, ogg.len);

    /* And it plays: opusinfo/opusdec, and libopusfile in-process. */
    ogg_check_in_player(o.audio.b, o.audio.len, "tip.ogg", 60.0);
    ASSERT_EQ(ogg_pcm_total(o.audio.b, o.audio.len), 60 * 48000);

    opened_free(&o);
    ogg_buf_free(&ogg);
    queue_close(f.q);
}

TEST(test_tip_what_happened_chosen_after_speaking_follows_the_whole_recording)
{
    struct fixture f;
    struct ogg_buf ogg = {0};
    struct tip_session *s = NULL;
    char err[256] = "";
    fixture_open(&f, check_dir());
    struct envelope_meta m = meta_vi();
    m.category = CATEGORY_UNSET; /* recording starts before the picture is chosen */
    struct capture_opts audio = {.tee = ogg_buf_tee, .tee_ctx = &ogg};
    ASSERT_EQ(tip_begin(&s, f.q, &f.keys, &m, &audio, NOW, 1, err, sizeof err), 0);
    uint8_t id[16];
    memcpy(id, tip_id(s), sizeof id);
    ASSERT_EQ(feed(s, 0, 16000 * 3, err, sizeof err), 0);
    ASSERT_EQ(tip_set_category(s, CATEGORY_OTHER + 1, err, sizeof err), ENVELOPE_E_ARG);
    ASSERT_STR_EQ(err, "what happened must be one of the pictures 1 to 7 (got 8)");
    ASSERT_EQ(tip_set_category(s, CATEGORY_UNSET, err, sizeof err), ENVELOPE_E_ARG);
    /* The person changes their mind on the review: the last choice counts. */
    ASSERT_EQ(tip_set_category(s, CATEGORY_DRUGS, err, sizeof err), 0);
    ASSERT_EQ(tip_set_category(s, CATEGORY_TRAFFICKING, err, sizeof err), 0);
    ASSERT_EQ(tip_send(s, NOW + 10, err, sizeof err), 0);

    struct opened o = open_from_queue(&f, id);
    if (o.rc)
        check_fail(__FILE__, __LINE__, "opening the tip: %s", o.err);
    ASSERT_EQ(o.meta.category, CATEGORY_UNSET);
    ASSERT_EQ(o.categories, 1);
    ASSERT_EQ(o.category, CATEGORY_TRAFFICKING);
    /* Written after the encoder's last pages: the recording is whole. */
    ASSERT_EQ(o.audio.len, ogg.len);
    ASSERT_MEM_EQ(o.audio.b, ogg.b, ogg.len);
    ASSERT_EQ(ogg_pcm_total(o.audio.b, o.audio.len), 3 * 48000);
    opened_free(&o);
    ogg_buf_free(&ogg);

    /* Chosen before recording (META has it): no second record. */
    m.category = CATEGORY_WEAPONS;
    ASSERT_EQ(tip_begin(&s, f.q, &f.keys, &m, NULL, NOW, 1, err, sizeof err), 0);
    memcpy(id, tip_id(s), sizeof id);
    ASSERT_EQ(tip_add_text(s, text_vi, strlen(text_vi), err, sizeof err), 0);
    ASSERT_EQ(tip_set_category(s, CATEGORY_WEAPONS, err, sizeof err), 0);
    ASSERT_EQ(tip_send(s, NOW + 20, err, sizeof err), 0);
    o = open_from_queue(&f, id);
    ASSERT_EQ(o.rc, 0);
    ASSERT_EQ(o.meta.category, CATEGORY_WEAPONS);
    ASSERT_EQ(o.categories, 0);
    opened_free(&o);
    queue_close(f.q);
}

TEST(test_tip_text_only_has_no_audio_and_says_so)
{
    struct fixture f;
    struct tip_session *s = NULL;
    char err[256] = "";
    fixture_open(&f, check_dir());
    struct envelope_meta m = meta_vi();
    m.training = 1;
    ASSERT_EQ(tip_begin(&s, f.q, &f.keys, &m, NULL, NOW, 0, err, sizeof err), 0);
    uint8_t id[16];
    memcpy(id, tip_id(s), sizeof id);
    ASSERT(tip_seconds(s) == 0.0);
    ASSERT_EQ(tip_add_pcm(s, speech_pcm(), 160, err, sizeof err), ENVELOPE_E_STATE);
    ASSERT_STR_EQ(err, "this tip was started without audio: it takes text only");
    /* That refusal is the caller's mistake, not the tip's: it still goes. */
    ASSERT_EQ(tip_add_text(s, text_vi, strlen(text_vi), err, sizeof err), 0);
    ASSERT_EQ(tip_send(s, NOW + 5, err, sizeof err), 0);

    struct opened o = open_from_queue(&f, id);
    ASSERT_EQ(o.rc, 0);
    ASSERT_EQ(o.meta.codec, CODEC_NONE);
    ASSERT_EQ(o.meta.training, 1);
    ASSERT_EQ(o.meta.capture_day, 0); /* clock not trusted */
    ASSERT_EQ(o.audio.len, 0);
    ASSERT_EQ(o.texts, 1);
    ASSERT_MEM_EQ(o.text.b, text_vi, strlen(text_vi));
    opened_free(&o);
    queue_close(f.q);
}

TEST(test_tip_keeps_several_texts_in_order)
{
    struct fixture f;
    struct tip_session *s = NULL;
    char err[256] = "";
    fixture_open(&f, check_dir());
    struct envelope_meta m = meta_vi();
    ASSERT_EQ(tip_begin(&s, f.q, &f.keys, &m, &(struct capture_opts){0}, NOW, 1, err, sizeof err),
              0);
    uint8_t id[16];
    memcpy(id, tip_id(s), sizeof id);
    ASSERT_EQ(feed(s, 0, 3 * 16000, err, sizeof err), 0);
    ASSERT_EQ(tip_add_text(s, "Một", strlen("Một"), err, sizeof err), 0);
    ASSERT_EQ(tip_add_text(s, "", 0, err, sizeof err), 0); /* no record */
    ASSERT_EQ(feed(s, 3 * 16000, 16000, err, sizeof err), 0);
    static char big[65537];
    memset(big, 'a', sizeof big);
    ASSERT_EQ(tip_add_text(s, big, sizeof big, err, sizeof err), ENVELOPE_E_ARG);
    ASSERT_STR_EQ(err, "text of 65537 bytes is too long: at most 65536 bytes per call");
    ASSERT_EQ(tip_add_text(s, "Hai", 3, err, sizeof err), 0);
    ASSERT_EQ(tip_send(s, NOW, err, sizeof err), 0);
    struct opened o = open_from_queue(&f, id);
    ASSERT_EQ(o.rc, 0);
    ASSERT_EQ(o.texts, 2);
    ASSERT_EQ(o.text_len[0], strlen("Một"));
    ASSERT_EQ(o.text_len[1], 3);
    ASSERT_MEM_EQ(o.text.b, "MộtHai", o.text.len);
    /* Text records between audio pages leave the Ogg stream whole. */
    ASSERT_EQ(ogg_pcm_total(o.audio.b, o.audio.len), 4 * 48000);
    opened_free(&o);
    queue_close(f.q);
}

TEST(test_tip_discard_leaves_nothing_in_the_queue)
{
    struct fixture f;
    struct tip_session *s = NULL;
    char err[256] = "";
    fixture_open(&f, check_dir());
    struct envelope_meta m = meta_vi();
    ASSERT_EQ(tip_begin(&s, f.q, &f.keys, &m, &(struct capture_opts){0}, NOW, 1, err, sizeof err),
              0);
    uint8_t id[16];
    memcpy(id, tip_id(s), sizeof id);
    ASSERT_EQ(feed(s, 0, 20 * 16000, err, sizeof err), 0);
    ASSERT_EQ(tip_add_text(s, text_vi, strlen(text_vi), err, sizeof err), 0);
    struct queue_stats st;
    ASSERT_EQ(queue_stats(f.q, &st), 0);
    ASSERT_EQ(st.count[QUEUE_RECORDING], 1);
    ASSERT(st.bytes[QUEUE_RECORDING] > 5 * ENVELOPE_CHUNK_CIPHER);

    ASSERT_EQ(tip_discard(s), 0);
    assert_queue_empty(f.q);
    int n = 0;
    ASSERT_EQ(queue_foreach(f.q, count_tip, &n), 0);
    ASSERT_EQ(n, 0);
    struct queue_tip t;
    ASSERT_EQ(queue_get_tip(f.q, id, &t), QUEUE_E_NOTFOUND);
    /* Nothing for a restart to resurrect either. */
    int recovered = -1, dropped = -1;
    ASSERT_EQ(queue_recover(f.q, f.keys.device_sk, NOW, &recovered, &dropped, err, sizeof err), 0);
    ASSERT_EQ(recovered, 0);
    ASSERT_EQ(dropped, 0);
    ASSERT_EQ(tip_discard(NULL), 0);
    queue_close(f.q);
}

TEST(test_tip_seconds_counts_the_audio_fed)
{
    struct fixture f;
    struct tip_session *s = NULL;
    char err[256] = "";
    fixture_open(&f, check_dir());
    struct envelope_meta m = meta_vi();
    ASSERT_EQ(tip_begin(&s, f.q, &f.keys, &m, &(struct capture_opts){0}, NOW, 1, err, sizeof err),
              0);
    ASSERT(tip_seconds(s) == 0.0);
    ASSERT_EQ(feed(s, 0, 8000, err, sizeof err), 0);
    ASSERT(tip_seconds(s) == 0.5);
    ASSERT_EQ(feed(s, 8000, 7 * 16000 + 1, err, sizeof err), 0);
    ASSERT(tip_seconds(s) == 7.5 + 1.0 / 16000);
    ASSERT(tip_seconds(NULL) == 0.0);
    ASSERT(tip_id(NULL) == NULL);
    ASSERT_EQ(tip_discard(s), 0);
    queue_close(f.q);
}

TEST(test_tip_begin_refuses_bad_input_and_leaves_nothing)
{
    struct fixture f;
    struct tip_session *s = NULL;
    char err[256] = "";
    fixture_open(&f, check_dir());
    struct envelope_meta m = meta_vi();
    ASSERT_EQ(tip_begin(&s, NULL, &f.keys, &m, NULL, NOW, 1, err, sizeof err), ENVELOPE_E_ARG);
    ASSERT_STR_EQ(err, "tip_begin needs an output pointer, a queue, keys and metadata");
    /* A bad audio setting is found after the header went in: it must go again. */
    struct capture_opts bad = {.bitrate = 1000000};
    ASSERT_EQ(tip_begin(&s, f.q, &f.keys, &m, &bad, NOW, 1, err, sizeof err), ENVELOPE_E_ARG);
    ASSERT(s == NULL);
    ASSERT_STR_EQ(err, "the recording could not be started: audio bitrate 1000000 bit/s is out "
                       "of range: use 6000 to 64000 (default 12000)");
    assert_queue_empty(f.q);
    /* Metadata the envelope refuses: nothing stored. */
    m.category = 99;
    ASSERT_EQ(tip_begin(&s, f.q, &f.keys, &m, NULL, NOW, 1, err, sizeof err), ENVELOPE_E_ARG);
    ASSERT_CONTAINS(err, "the tip could not be started: envelope: invalid metadata");
    assert_queue_empty(f.q);
    queue_close(f.q);
}

/* ---- a full disk ---- */

/*
 * A real full disk: a tiny tmpfs, filled with a file. Needs root (the CI
 * and these build machines run as root); elsewhere the test fails and
 * says why, rather than pass without checking. The mount is undone even when an assertion fails, at exit.
 */
static char mounted[4200];

static void unmount_at_exit(void)
{
    if (mounted[0])
        umount2(mounted, MNT_DETACH);
    mounted[0] = 0;
}

static int mount_tiny_disk(const char *path, const char *size)
{
    static int registered;
    if (!registered) {
        atexit(unmount_at_exit);
        registered = 1;
    }
    unmount_at_exit(); /* a mount left by a test that failed */
    char opts[64];
    snprintf(opts, sizeof opts, "size=%s,mode=0700", size);
    if (mkdir(path, 0700) != 0 || mount("tmpfs", path, "tmpfs", 0, opts) != 0) {
        fprintf(stderr, "    cannot mount a tmpfs at %s: %s (the full-disk tests need root)\n",
                path, strerror(errno));
        return -1;
    }
    snprintf(mounted, sizeof mounted, "%s", path);
    return 0;
}

/* Write zeros until the disk says ENOSPC. */
static void fill_disk(const char *path)
{
    static const uint8_t block[4096];
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    ASSERT(fd >= 0);
    ssize_t w;
    while ((w = write(fd, block, sizeof block)) > 0) {
    }
    ASSERT(w < 0 && errno == ENOSPC);
    /* A partial last block, then the last bytes: leave no room at all. */
    while (write(fd, block, 1) == 1) {
    }
    ASSERT_EQ(close(fd), 0);
}

TEST(test_tip_on_a_full_disk_fails_with_the_queue_reason_and_recovery_keeps_the_saved_part)
{
    char disk[4200], filler[4300], err[256] = "", err2[256] = "";
    snprintf(disk, sizeof disk, "%s", check_path("disk"));
    ASSERT_EQ(mount_tiny_disk(disk, "2m"), 0); /* a full disk is the point: never skipped */
    snprintf(filler, sizeof filler, "%s/filler", disk);

    struct fixture f;
    struct ogg_buf ogg = {0};
    struct tip_session *s = NULL;
    fixture_open(&f, disk);
    struct envelope_meta m = meta_vi();
    struct capture_opts audio = {.tee = ogg_buf_tee, .tee_ctx = &ogg};
    ASSERT_EQ(tip_begin(&s, f.q, &f.keys, &m, &audio, NOW, 1, err, sizeof err), 0);
    uint8_t id[16];
    memcpy(id, tip_id(s), sizeof id);
    ASSERT_EQ(feed(s, 0, 10 * 16000, err, sizeof err), 0);
    struct queue_tip t;
    ASSERT_EQ(queue_get_tip(f.q, id, &t), 0);
    uint32_t committed = t.chunks;
    ASSERT(committed >= 2);

    /* The disk fills while the person is still speaking. */
    fill_disk(filler);
    int rc = feed(s, 10 * 16000, 300 * 16000, err, sizeof err);
    ASSERT_EQ(rc, QUEUE_E_FULL);
    ASSERT_STR_EQ(err, "the recording could not be saved: disk full: the kiosk's data partition "
                       "has no room left; free space or replace the SD card");
    /* The tip stays failed; send says so too and is not sealed. */
    ASSERT_EQ(tip_add_text(s, "x", 1, err2, sizeof err2), QUEUE_E_FULL);
    ASSERT_STR_EQ(err2, err);
    ASSERT_EQ(tip_send(s, NOW + 60, err2, sizeof err2), QUEUE_E_FULL);
    ASSERT_STR_EQ(err2, err);
    struct queue_stats st;
    ASSERT_EQ(queue_stats(f.q, &st), 0);
    ASSERT_EQ(st.count[QUEUE_RECORDING], 1);
    ASSERT_EQ(st.count[QUEUE_SEALED], 0);
    struct queue_tip next;
    ASSERT_EQ(queue_next_to_send(f.q, &next), QUEUE_E_NOTFOUND);

    /* Room again (the technician): recovery seals what was committed. */
    ASSERT_EQ(unlink(filler), 0);
    int recovered = 0, dropped = 0;
    rc = queue_recover(f.q, f.keys.device_sk, NOW + 120, &recovered, &dropped, err, sizeof err);
    if (rc)
        check_fail(__FILE__, __LINE__, "queue_recover: %s", err);
    ASSERT_EQ(recovered, 1);
    ASSERT_EQ(dropped, 0);
    ASSERT_EQ(queue_get_tip(f.q, id, &t), 0);
    ASSERT_EQ(t.state, QUEUE_SEALED);
    ASSERT_EQ(t.cut_short, 1);
    ASSERT(t.chunks >= committed);

    /* The post reads it as cut short; the audio saved is what was spoken first. */
    struct opened o = open_from_queue(&f, id);
    ASSERT_EQ(o.rc, ENVELOPE_E_CUT_SHORT);
    ASSERT_EQ(o.metas, 1);
    ASSERT_EQ(o.meta.codec, CODEC_OGG_OPUS);
    /* Every committed chunk reaches the post: all but the record framing is audio. */
    ASSERT(o.audio.len >= (size_t)t.chunks * ENVELOPE_CHUNK_PLAIN - 200);
    ASSERT(o.audio.len <= ogg.len);
    ASSERT_MEM_EQ(o.audio.b, ogg.b, o.audio.len);
    opened_free(&o);
    ogg_buf_free(&ogg);
    queue_close(f.q);
    unmount_at_exit();
}

TEST(test_tip_send_on_a_full_disk_fails_and_leaves_the_tip_unsealed)
{
    char disk[4200], filler[4300], err[256] = "";
    snprintf(disk, sizeof disk, "%s", check_path("disk"));
    ASSERT_EQ(mount_tiny_disk(disk, "2m"), 0); /* a full disk is the point: never skipped */
    snprintf(filler, sizeof filler, "%s/filler", disk);

    struct fixture f;
    struct tip_session *s = NULL;
    fixture_open(&f, disk);
    struct envelope_meta m = meta_vi();
    ASSERT_EQ(tip_begin(&s, f.q, &f.keys, &m, NULL, NOW, 1, err, sizeof err), 0);
    uint8_t id[16];
    memcpy(id, tip_id(s), sizeof id);
    ASSERT_EQ(tip_add_text(s, text_vi, strlen(text_vi), err, sizeof err), 0);
    /* Text is held in the chunk buffer: the disk fills before send writes it. */
    fill_disk(filler);
    ASSERT_EQ(tip_send(s, NOW + 30, err, sizeof err), QUEUE_E_FULL);
    ASSERT_STR_EQ(err, "the tip could not be sealed: disk full: the kiosk's data partition has "
                       "no room left; free space or replace the SD card");
    struct queue_tip t;
    ASSERT_EQ(queue_get_tip(f.q, id, &t), 0);
    ASSERT_EQ(t.state, QUEUE_RECORDING);
    struct queue_tip next;
    ASSERT_EQ(queue_next_to_send(f.q, &next), QUEUE_E_NOTFOUND);
    queue_close(f.q);
    unmount_at_exit();
}
