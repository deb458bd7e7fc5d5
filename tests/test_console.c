/*
 * Tests for the post's console logic (src/post/console.c, pull.c,
 * export.c), reached directly, as the CLI and the web station reach it.
 * The post's folder is real (keys, registry, postbox), the tips are real
 * envelopes sealed into a real kiosk queue, with real Ogg Opus audio, and
 * the pulls run against the real relay in this process on a loopback port
 * from the kernel, fed by the real uploader.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <opusenc.h>
#include <sodium.h>

#include "check.h"
#include "core/envelope.h"
#include "core/errbuf.h"
#include "core/heartbeat.h"
#include "core/keys.h"
#include "core/queue.h"
#include "core/registry.h"
#include "core/version.h"
#include "delivery/uplink_status.h"
#include "delivery/uploader.h"
#include "kiosk/leds.h"
#include "post/console.h"
#include "post/export.h"
#include "post/postbox.h"
#include "post/pull.h"
#include "relay/relay.h"
#include "station/health.h"

#define PASS "a long passphrase"
#define TOKEN "test-post-token-0123456789abcdefghijklmnop"

struct bytes {
    uint8_t *b;
    size_t len;
};

static void bytes_add(struct bytes *x, const void *b, size_t n)
{
    uint8_t *nb = realloc(x->b, x->len + n);
    ASSERT(nb);
    memcpy(nb + x->len, b, n);
    x->b = nb;
    x->len += n;
}

struct fx {
    const char *post; /* the post's folder */
    struct envelope_post_key *key;
    struct keys_device *dev, *dev2, *stranger;
    struct queue *q;
    struct console *c;
    struct relay *relay;
    uint16_t port;
};

static void fx_init(struct fx *f)
{
    memset(f, 0, sizeof *f);
    ASSERT(sodium_init() >= 0);
    char err[512] = "";
    static char post[4096];
    snprintf(post, sizeof post, "%s", check_path("post"));
    f->post = post;
    ASSERT_EQ(mkdir(post, 0700), 0);
    char pub[4200], key[4200], reg_path[4200];
    snprintf(pub, sizeof pub, "%s/post.pub", post);
    snprintf(key, sizeof key, "%s/post.key", post);
    snprintf(reg_path, sizeof reg_path, "%s/" REGISTRY_DB_NAME, post);
    unsigned long long ops;
    size_t mem;
    ASSERT_EQ(keys_pwhash_limits("min", &ops, &mem), 0);
    ASSERT_EQ(keys_post_generate(&f->key, err, sizeof err), 0);
    ASSERT_EQ(keys_post_save(f->key, pub, key, PASS, ops, mem, err, sizeof err), 0);
    ASSERT_EQ(keys_device_generate(&f->dev, err, sizeof err), 0);
    ASSERT_EQ(keys_device_generate(&f->dev2, err, sizeof err), 0);
    ASSERT_EQ(keys_device_generate(&f->stranger, err, sizeof err), 0);
    struct registry *reg = NULL;
    ASSERT_EQ(registry_open(&reg, reg_path, 1, err, sizeof err), 0);
    ASSERT_EQ(registry_enrol(reg, "na-co-sa-01", f->dev->pk, 1000, err, sizeof err), 0);
    ASSERT_EQ(registry_enrol(reg, "na-co-sa-02", f->dev2->pk, 1000, err, sizeof err), 0);
    registry_close(reg);
    unsigned faults = 0;
    mkdir(check_path("kiosk"), 0700);
    if (queue_open(&f->q, check_path("kiosk"), &faults, err, sizeof err))
        check_fail(__FILE__, __LINE__, "queue_open: %s", err);
    if (console_open(&f->c, post, err, sizeof err))
        check_fail(__FILE__, __LINE__, "console_open: %s", err);
}

static void fx_unlock(struct fx *f)
{
    char err[512] = "";
    if (console_unlock(f->c, PASS, err, sizeof err))
        check_fail(__FILE__, __LINE__, "console_unlock: %s", err);
}

static void fx_done(struct fx *f)
{
    relay_close(f->relay);
    console_close(f->c);
    queue_close(f->q);
    keys_post_free(f->key);
    keys_device_free(f->dev);
    keys_device_free(f->dev2);
    keys_device_free(f->stranger);
}

/* ---- real tips ---- */

static int ogg_write(void *ctx, const unsigned char *ptr, opus_int32 len)
{
    bytes_add(ctx, ptr, (size_t)len);
    return 0;
}

static int ogg_close(void *ctx)
{
    (void)ctx;
    return 0;
}

/* `seconds` of a 440 Hz tone as one Ogg Opus file in memory (48 kHz mono). */
static struct bytes make_ogg(int seconds)
{
    struct bytes b = {0};
    OpusEncCallbacks cb = {ogg_write, ogg_close};
    OggOpusComments *cm = ope_comments_create();
    int e = 0;
    OggOpusEnc *enc = ope_encoder_create_callbacks(&cb, &b, cm, 48000, 1, 0, &e);
    ASSERT(enc);
    int16_t pcm[960];
    long at = 0;
    for (int frame = 0; frame < seconds * 50; frame++) {
        for (int i = 0; i < 960; i++, at++)
            pcm[i] = (int16_t)(8000 * ((at / 55) % 2 ? 1 : -1));
        ASSERT_EQ(ope_encoder_write(enc, pcm, 960), OPE_OK);
    }
    ASSERT_EQ(ope_encoder_drain(enc), OPE_OK);
    ope_encoder_destroy(enc);
    ope_comments_destroy(cm);
    return b;
}

struct tipspec {
    const char *text;
    const struct bytes *ogg;
    int category, training, when, cut;
    int late_category; /* chosen after speaking: a CATEGORY record at send; 0 none */
    const char *language;
    const struct keys_device *dev; /* NULL: na-co-sa-01's */
    const uint8_t *post_pk;        /* NULL: this post's */
};

/* Seal a tip into the kiosk queue as a kiosk does; its envelope and id back. */
static struct bytes make_tip(struct fx *f, const struct tipspec *s, uint8_t id[16])
{
    char err[512] = "";
    const struct keys_device *dev = s->dev ? s->dev : f->dev;
    struct envelope_meta meta = {.category = (uint8_t)s->category,
                                 .training = (uint8_t)s->training,
                                 .capture_day = 2000,
                                 .codec = s->ogg ? CODEC_OGG_OPUS : CODEC_NONE};
    snprintf(meta.language, sizeof meta.language, "%s", s->language ? s->language : "vi");
    struct queue_sink sink = {.q = f->q, .now = (int64_t)time(NULL), .clock_trusted = 1};
    struct envelope_writer *w = NULL;
    ASSERT_EQ(envelope_writer_new(&w, s->post_pk ? s->post_pk : f->key->pk, dev->sk, &meta,
                                  queue_envelope_sink, &sink, id, err, sizeof err),
              0);
    if (s->ogg)
        ASSERT_EQ(envelope_write_audio(w, s->ogg->b, s->ogg->len), 0);
    if (s->cut) {
        /* A power cut: what was written stays in the queue, unsealed, until the next start. */
        envelope_writer_free(w);
        int n = 0;
        ASSERT_EQ(queue_recover(f->q, dev->sk, (int64_t)time(NULL), &n, NULL, err, sizeof err), 0);
        ASSERT_EQ(n, 1);
    } else {
        if (s->text)
            ASSERT_EQ(envelope_write_text(w, s->text, strlen(s->text)), 0);
        if (s->when)
            ASSERT_EQ(envelope_write_when(w, (uint8_t)s->when), 0);
        if (s->late_category)
            ASSERT_EQ(envelope_write_category(w, (uint8_t)s->late_category), 0);
        ASSERT_EQ(envelope_writer_finish(w, err, sizeof err), 0);
        envelope_writer_free(w);
    }
    struct queue_tip t;
    ASSERT_EQ(queue_get_tip(f->q, id, &t), 0);
    struct bytes env = {malloc(t.bytes), (size_t)t.bytes};
    size_t got = 0;
    ASSERT(env.b);
    ASSERT_EQ(queue_read(f->q, id, 0, env.b, env.len, &got, err, sizeof err), 0);
    ASSERT_EQ(got, env.len);
    return env;
}

/* Store an envelope in the post's box as if it had arrived at `received`. */
static struct postbox_tip store(struct fx *f, const struct bytes *env, int64_t received)
{
    char err[512] = "";
    int what = 0;
    ASSERT_EQ(postbox_add(console_postbox(f->c), env->b, env->len, POSTBOX_FROM_FILE, received,
                          received + 5, registry_device_check, console_registry(f->c), &what, err,
                          sizeof err),
              0);
    ASSERT_EQ(what, POSTBOX_ADDED);
    struct envelope_header_info h;
    ASSERT_EQ(envelope_parse_header(env->b, env->len, &h, err, sizeof err), 0);
    struct postbox_tip t;
    ASSERT_EQ(postbox_get(console_postbox(f->c), h.tip_id, &t), 0);
    return t;
}

/* The store's bytes on disk, its write-ahead log included. */
static struct bytes store_files(struct fx *f)
{
    char db[4200], wal[4300];
    ASSERT_EQ(console_file(f->c, POSTBOX_DB_NAME, db, sizeof db), 0);
    snprintf(wal, sizeof wal, "%s-wal", db);
    struct bytes all = {0};
    size_t n;
    uint8_t *b = check_slurp(db, &n);
    ASSERT(b);
    bytes_add(&all, b, n);
    free(b);
    if ((b = check_slurp(wal, &n))) {
        bytes_add(&all, b, n);
        free(b);
    }
    return all;
}

static struct console_tip *open_tip(struct fx *f, const struct postbox_tip *t)
{
    struct console_tip *v = NULL;
    char err[512] = "";
    if (console_open_tip(f->c, t, &v, err, sizeof err))
        check_fail(__FILE__, __LINE__, "console_open_tip: %s", err);
    return v;
}

/* ---- the folder and the key ---- */

TEST(test_console_refuses_a_folder_that_is_not_a_posts)
{
    ASSERT(sodium_init() >= 0);
    struct console *c = NULL;
    char err[512] = "";
    ASSERT_EQ(console_open(&c, check_dir(), err, sizeof err), CONSOLE_E_NOT_POST);
    ASSERT(!c);
    ASSERT_CONTAINS(err, "is not a border post's folder");
    /* A mistyped folder must not start an empty postbox. */
    ASSERT(access(check_path(POSTBOX_DB_NAME), F_OK) != 0);
}

struct list_seen {
    int n;
    char kiosk[4][80];
    int64_t received[4];
    int category[4], training[4], genuine[4], has_text[4];
    double seconds[4];
};

static int list_seen_one(void *ctx, const struct console_tip *v)
{
    struct list_seen *s = ctx;
    if (s->n < 4) {
        snprintf(s->kiosk[s->n], sizeof s->kiosk[0], "%s", v->kiosk);
        s->received[s->n] = v->t.received;
        s->category[s->n] = v->has_meta ? v->meta.category : -1;
        s->training[s->n] = v->meta.training;
        s->genuine[s->n] = v->genuine;
        s->has_text[s->n] = v->text_len > 0;
        s->seconds[s->n] = v->seconds;
    }
    s->n++;
    return 0;
}

TEST(test_console_wrong_passphrase_says_so_and_changes_nothing)
{
    struct fx f;
    fx_init(&f);
    uint8_t id[16];
    struct bytes env = make_tip(&f, &(struct tipspec){.text = "hai người lạ"}, id);
    struct postbox_tip t = store(&f, &env, 1000);
    struct bytes before = store_files(&f);

    char err[512] = "", want[4300];
    ASSERT_EQ(console_unlock(f.c, "not the passphrase", err, sizeof err), CONSOLE_E_PASSPHRASE);
    snprintf(want, sizeof want, "wrong passphrase for %s/post.key (or the file is damaged)",
             f.post);
    ASSERT_STR_EQ(err, want);
    ASSERT(!console_unlocked(f.c));
    /* Locked, nothing opens and nothing is written. */
    struct console_tip *v = NULL;
    ASSERT_EQ(console_open_tip(f.c, &t, &v, err, sizeof err), CONSOLE_E_LOCKED);
    ASSERT(!v);
    struct list_seen seen = {0};
    ASSERT_EQ(console_list(f.c, list_seen_one, &seen, err, sizeof err), CONSOLE_E_LOCKED);
    ASSERT_EQ(seen.n, 0);
    struct export_report rep;
    ASSERT_EQ(export_all(f.c, check_path("export"), &rep, err, sizeof err), CONSOLE_E_LOCKED);
    ASSERT(access(check_path("export"), F_OK) != 0);
    struct bytes after = store_files(&f);
    ASSERT_EQ(after.len, before.len);
    ASSERT_MEM_EQ(after.b, before.b, before.len);

    /* The right one still works after a wrong one. */
    fx_unlock(&f);
    v = open_tip(&f, &t);
    ASSERT_EQ(v->verdict, 0);
    ASSERT_EQ(v->text_len, strlen("hai người lạ"));
    ASSERT_MEM_EQ(v->text, "hai người lạ", v->text_len);
    console_tip_free(v);
    free(before.b);
    free(after.b);
    free(env.b);
    fx_done(&f);
}

TEST(test_console_refuses_another_posts_key_in_the_folder)
{
    struct fx f;
    fx_init(&f);
    uint8_t id[16];
    struct bytes env = make_tip(&f, &(struct tipspec){.text = "x"}, id);
    store(&f, &env, 1000);
    /* Another post's post.key, under the same passphrase, copied over this one's. */
    struct envelope_post_key *other = NULL;
    char err[1024] = "", pub[4200], key[4200];
    unsigned long long ops;
    size_t mem;
    ASSERT_EQ(keys_pwhash_limits("min", &ops, &mem), 0);
    ASSERT_EQ(keys_post_generate(&other, err, sizeof err), 0);
    ASSERT_EQ(mkdir(check_path("other"), 0700), 0);
    snprintf(pub, sizeof pub, "%s/post.pub", check_path("other"));
    snprintf(key, sizeof key, "%s/post.key", check_path("other"));
    ASSERT_EQ(keys_post_save(other, pub, key, PASS, ops, mem, err, sizeof err), 0);
    ASSERT_EQ(check_sh("cp '%s' '%s/post.key'", key, f.post), 0);
    struct bytes before = store_files(&f);
    ASSERT_EQ(console_unlock(f.c, PASS, err, sizeof err), CONSOLE_E_NOT_POST);
    ASSERT_CONTAINS(err, "is not the key of");
    ASSERT_CONTAINS(err, "different posts");
    ASSERT(!console_unlocked(f.c));
    struct bytes after = store_files(&f);
    ASSERT_EQ(after.len, before.len);
    ASSERT_MEM_EQ(after.b, before.b, before.len);
    keys_post_free(other);
    free(before.b);
    free(after.b);
    free(env.b);
    fx_done(&f);
}

TEST(test_console_finds_a_tip_by_the_start_of_its_id)
{
    struct fx f;
    fx_init(&f);
    uint8_t id[16];
    struct bytes env = make_tip(&f, &(struct tipspec){.text = "x"}, id);
    store(&f, &env, 1000);
    char hex[33], err[512] = "";
    errbuf_hex(hex, id, 16);
    struct postbox_tip t;
    hex[5] = 0;
    ASSERT_EQ(console_find(f.c, hex, &t, err, sizeof err), 0);
    ASSERT_MEM_EQ(t.id, id, 16);
    ASSERT_EQ(console_find(f.c, hex[0] == 'f' ? "0000" : "ffff", &t, err, sizeof err),
              CONSOLE_E_NOTFOUND);
    int n = -1;
    ASSERT_EQ(console_count(f.c, &n, err, sizeof err), 0);
    ASSERT_EQ(n, 1);
    free(env.b);
    fx_done(&f);
}

/* ---- tips opened ---- */

TEST(test_console_lists_newest_first_with_each_tips_fields)
{
    struct fx f;
    fx_init(&f);
    fx_unlock(&f);
    struct bytes ogg = make_ogg(2);
    uint8_t id[16];
    struct bytes a = make_tip(
        &f, &(struct tipspec){.ogg = &ogg, .category = CATEGORY_DRUGS, .language = "hmn"}, id);
    struct bytes b = make_tip(&f, &(struct tipspec){.text = "thử thôi", .training = 1}, id);
    struct bytes c = make_tip(
        &f, &(struct tipspec){.text = "từ ki-ốt 2", .category = CATEGORY_THEFT, .dev = f.dev2}, id);
    store(&f, &a, 1000);
    store(&f, &b, 3000);
    store(&f, &c, 2000);
    struct list_seen s = {0};
    char err[512] = "";
    ASSERT_EQ(console_list(f.c, list_seen_one, &s, err, sizeof err), 0);
    ASSERT_EQ(s.n, 3);
    ASSERT_EQ(s.received[0], 3000);
    ASSERT_EQ(s.received[1], 2000);
    ASSERT_EQ(s.received[2], 1000);
    ASSERT_EQ(s.training[0], 1);
    ASSERT_STR_EQ(s.kiosk[1], "na-co-sa-02");
    ASSERT_EQ(s.category[1], CATEGORY_THEFT);
    ASSERT_EQ(s.has_text[1], 1);
    ASSERT_STR_EQ(s.kiosk[2], "na-co-sa-01");
    ASSERT_EQ(s.category[2], CATEGORY_DRUGS);
    ASSERT_EQ(s.has_text[2], 0);
    ASSERT(s.seconds[2] > 1.95 && s.seconds[2] < 2.05);
    ASSERT(s.genuine[0] && s.genuine[1] && s.genuine[2]);
    free(ogg.b);
    free(a.b);
    free(b.b);
    free(c.b);
    fx_done(&f);
}

TEST(test_console_audio_is_the_ogg_that_was_sealed)
{
    struct fx f;
    fx_init(&f);
    fx_unlock(&f);
    struct bytes ogg = make_ogg(3);
    uint8_t id[16];
    struct bytes env = make_tip(&f,
                                &(struct tipspec){.ogg = &ogg,
                                                  .text = "Muaj neeg nqa tshuaj dhau dej",
                                                  .category = CATEGORY_DRUGS,
                                                  .language = "hmn",
                                                  .when = WHEN_TODAY},
                                id);
    struct postbox_tip t = store(&f, &env, 1000);
    struct console_tip *v = open_tip(&f, &t);
    ASSERT_EQ(v->verdict, 0);
    ASSERT(v->genuine);
    const uint8_t *b;
    size_t n;
    char err[512] = "";
    ASSERT_EQ(console_tip_audio(v, &b, &n, err, sizeof err), 0);
    ASSERT_EQ(n, ogg.len);
    ASSERT_MEM_EQ(b, ogg.b, n);
    /* The length comes from the Ogg stream itself: 3 s were encoded. */
    char len[16];
    console_duration(v->seconds, len);
    ASSERT_STR_EQ(len, "0:03");
    ASSERT_EQ(v->when, WHEN_TODAY);
    ASSERT_STR_EQ(console_when_name(v->when), "today");
    ASSERT_STR_EQ(v->meta.language, "hmn");
    ASSERT_STR_EQ(console_category_name(v->meta.category), "drugs");
    char day[40];
    console_capture_day(v->meta.capture_day, day);
    ASSERT_STR_EQ(day, "2025-06-23"); /* 2000 days after 2020-01-01 */
    console_tip_free(v);

    /* A tip with text only has no recording to give. */
    struct bytes text = make_tip(&f, &(struct tipspec){.text = "chỉ chữ"}, id);
    t = store(&f, &text, 2000);
    v = open_tip(&f, &t);
    ASSERT_EQ(console_tip_audio(v, &b, &n, err, sizeof err), CONSOLE_E_NO_AUDIO);
    ASSERT_CONTAINS(err, "has no recording");
    ASSERT(!b);
    console_tip_free(v);
    free(text.b);
    free(ogg.b);
    free(env.b);
    fx_done(&f);
}

/* The kiosk writes META when recording starts; the picture comes after speaking. */
TEST(test_console_shows_what_happened_as_chosen_after_speaking)
{
    struct fx f;
    fx_init(&f);
    fx_unlock(&f);
    struct bytes ogg = make_ogg(2);
    uint8_t id[16];
    struct bytes late = make_tip(&f,
                                 &(struct tipspec){.ogg = &ogg,
                                                   .category = CATEGORY_UNSET,
                                                   .late_category = CATEGORY_TRAFFICKING,
                                                   .when = WHEN_YESTERDAY},
                                 id);
    struct bytes changed = make_tip(
        &f, &(struct tipspec){.text = "đổi ý", .category = CATEGORY_DRUGS,
                              .late_category = CATEGORY_SMUGGLING},
        id);
    struct postbox_tip t = store(&f, &late, 1000);
    store(&f, &changed, 2000);
    struct list_seen s = {0};
    char err[512] = "";
    ASSERT_EQ(console_list(f.c, list_seen_one, &s, err, sizeof err), 0);
    ASSERT_EQ(s.n, 2);
    ASSERT_EQ(s.category[0], CATEGORY_SMUGGLING); /* the last choice, not META's */
    ASSERT_EQ(s.category[1], CATEGORY_TRAFFICKING);
    ASSERT(s.genuine[0] && s.genuine[1]);
    struct console_tip *v = open_tip(&f, &t);
    ASSERT_EQ(v->verdict, 0);
    ASSERT_STR_EQ(console_category_name(v->meta.category), "people trafficking");
    ASSERT_STR_EQ(console_category_short(v->meta.category), "trafficking");
    ASSERT_EQ(v->when, WHEN_YESTERDAY);
    ASSERT(v->seconds > 1.95 && v->seconds < 2.05);
    console_tip_free(v);
    free(ogg.b);
    free(late.b);
    free(changed.b);
    fx_done(&f);
}

TEST(test_console_show_says_signed_cut_short_or_refused_and_why)
{
    struct fx f;
    fx_init(&f);
    fx_unlock(&f);
    struct bytes ogg = make_ogg(2);
    uint8_t id[16];
    char line[700], err[512] = "";

    /* Complete and signed. */
    struct bytes good = make_tip(&f, &(struct tipspec){.text = "đủ"}, id);
    struct postbox_tip t = store(&f, &good, 1000);
    struct console_tip *v = open_tip(&f, &t);
    console_verdict_line(v, line, sizeof line);
    ASSERT_STR_EQ(line, "complete and signed by enrolled kiosk na-co-sa-01");
    ASSERT(v->kiosk_enrolled && !v->kiosk_revoked && !v->withheld);
    console_tip_free(v);

    /* Cut short by a power loss: what was saved is genuine and given. */
    struct bytes cut = make_tip(&f, &(struct tipspec){.ogg = &ogg, .cut = 1}, id);
    t = store(&f, &cut, 2000);
    v = open_tip(&f, &t);
    ASSERT_EQ(v->verdict, ENVELOPE_E_CUT_SHORT);
    ASSERT(v->genuine);
    console_verdict_line(v, line, sizeof line);
    ASSERT_CONTAINS(line, "cut short by power loss: kiosk na-co-sa-01 lost power");
    /* The chunks committed before the cut: the recording's start, byte for byte. */
    ASSERT(v->audio_len >= ENVELOPE_CHUNK_PLAIN && v->audio_len < ogg.len);
    ASSERT_MEM_EQ(v->audio, ogg.b, v->audio_len);
    console_tip_free(v);

    /* Tampered in the store: refused, with the reader's reason, content withheld. */
    struct bytes bad = make_tip(&f, &(struct tipspec){.text = "sẽ bị sửa", .ogg = &ogg}, id);
    bad.b[300] ^= 0x40; /* inside chunk 0 */
    int what = 0;
    ASSERT_EQ(postbox_add(console_postbox(f.c), bad.b, bad.len, POSTBOX_FROM_FILE, 3000, 3000,
                          registry_device_check, console_registry(f.c), &what, err, sizeof err),
              0);
    ASSERT_EQ(postbox_get(console_postbox(f.c), id, &t), 0);
    v = open_tip(&f, &t);
    ASSERT(!v->genuine);
    console_verdict_line(v, line, sizeof line);
    ASSERT_STR_EQ(line,
                  "refused: tampered: chunk 0 fails authentication (the envelope was altered)");
    ASSERT(!v->text && !v->audio);
    const uint8_t *b;
    size_t n;
    ASSERT_EQ(console_tip_audio(v, &b, &n, err, sizeof err), CONSOLE_E_REFUSED);
    ASSERT_CONTAINS(err, "its recording is not given out");
    console_tip_free(v);

    /* Altered near its end: what authenticated before is read, and still withheld. */
    struct bytes late = make_tip(&f, &(struct tipspec){.text = "cuối bị sửa", .ogg = &ogg}, id);
    late.b[late.len - ENVELOPE_TRAILER_BYTES - 100] ^= 0x40;
    ASSERT_EQ(postbox_add(console_postbox(f.c), late.b, late.len, POSTBOX_FROM_FILE, 3500, 3500,
                          registry_device_check, console_registry(f.c), &what, err, sizeof err),
              0);
    ASSERT_EQ(postbox_get(console_postbox(f.c), id, &t), 0);
    v = open_tip(&f, &t);
    ASSERT(!v->genuine);
    ASSERT(v->withheld);
    ASSERT(!v->text && !v->audio && v->text_len == 0 && v->audio_len == 0);
    ASSERT_EQ(console_tip_audio(v, &b, &n, err, sizeof err), CONSOLE_E_REFUSED);
    console_tip_free(v);
    free(late.b);

    /* A revoked kiosk's tip: refused, and the kiosk named with when and why. */
    struct bytes stolen =
        make_tip(&f, &(struct tipspec){.text = "từ ki-ốt bị mất", .dev = f.dev2}, id);
    t = store(&f, &stolen, 4000);
    ASSERT_EQ(
        registry_revoke(console_registry(f.c), "na-co-sa-02", "stolen", 5000, err, sizeof err), 0);
    v = open_tip(&f, &t);
    ASSERT_EQ(v->verdict, ENVELOPE_E_REVOKED_DEVICE);
    ASSERT(!v->genuine && !v->text && !v->audio);
    ASSERT(v->kiosk_revoked);
    ASSERT_STR_EQ(v->kiosk, "na-co-sa-02");
    ASSERT_EQ(v->revoked_at, 5000);
    ASSERT_CONTAINS(v->revoked_why, ": stolen");
    console_verdict_line(v, line, sizeof line);
    ASSERT_CONTAINS(line, "refused: revoked device");
    console_tip_free(v);

    /* A kiosk nobody enrolled: named by its key's fingerprint. */
    struct bytes odd = make_tip(&f, &(struct tipspec){.text = "lạ", .dev = f.stranger}, id);
    t = store(&f, &odd, 6000);
    v = open_tip(&f, &t);
    ASSERT_EQ(v->verdict, ENVELOPE_E_UNKNOWN_DEVICE);
    ASSERT(!v->kiosk_enrolled);
    ASSERT_CONTAINS(v->kiosk, "unknown kiosk key ");
    console_tip_free(v);

    free(ogg.b);
    free(good.b);
    free(cut.b);
    free(bad.b);
    free(stolen.b);
    free(odd.b);
    fx_done(&f);
}

TEST(test_console_a_tip_sealed_to_another_posts_key_is_refused_clearly)
{
    struct fx f;
    fx_init(&f);
    fx_unlock(&f);
    struct envelope_post_key *other = NULL;
    char err[512] = "", line[700];
    ASSERT_EQ(keys_post_generate(&other, err, sizeof err), 0);
    uint8_t id[16];
    struct bytes env =
        make_tip(&f, &(struct tipspec){.text = "nhầm chỗ", .post_pk = other->pk}, id);
    struct postbox_tip t = store(&f, &env, 1000);
    struct console_tip *v = open_tip(&f, &t);
    ASSERT_EQ(v->verdict, ENVELOPE_E_KEY_ID);
    ASSERT(!v->genuine && !v->text);
    console_verdict_line(v, line, sizeof line);
    ASSERT_CONTAINS(line, "refused: ");
    ASSERT_CONTAINS(line, "key");
    console_tip_free(v);
    /* Nothing about the tip changed. */
    struct postbox_tip again;
    ASSERT_EQ(postbox_get(console_postbox(f.c), id, &again), 0);
    ASSERT_EQ(again.status, POSTBOX_NEW);
    keys_post_free(other);
    free(env.b);
    fx_done(&f);
}

TEST(test_console_kiosks_health_counts_each_kiosks_tips_without_a_key)
{
    struct fx f;
    fx_init(&f);
    struct bytes ogg = make_ogg(2);
    uint8_t id[16];
    struct bytes a = make_tip(&f, &(struct tipspec){.text = "một"}, id);
    struct bytes b = make_tip(&f, &(struct tipspec){.ogg = &ogg, .cut = 1}, id);
    struct bytes c = make_tip(&f, &(struct tipspec){.text = "hai", .dev = f.dev2}, id);
    struct bytes d = make_tip(&f, &(struct tipspec){.text = "ba", .dev = f.stranger}, id);
    store(&f, &a, 1000);
    store(&f, &b, 4000);
    store(&f, &c, 2000);
    store(&f, &d, 3000);
    char err[512] = "";
    ASSERT_EQ(
        registry_revoke(console_registry(f.c), "na-co-sa-02", "stolen", 5000, err, sizeof err), 0);
    struct console_kiosk *k = NULL;
    size_t n = 0;
    /* The post key stays locked: health needs none. */
    ASSERT(!console_unlocked(f.c));
    if (console_kiosks(f.c, &k, &n, err, sizeof err))
        check_fail(__FILE__, __LINE__, "console_kiosks: %s", err);
    ASSERT_EQ(n, 3);
    ASSERT_STR_EQ(k[0].id, "na-co-sa-01");
    ASSERT(k[0].enrolled && !k[0].revoked);
    ASSERT_EQ(k[0].tips, 2);
    ASSERT_EQ(k[0].cut_short, 1);
    ASSERT_EQ(k[0].refused, 0);
    ASSERT_EQ(k[0].last_received, 4000);
    ASSERT_STR_EQ(k[1].id, "na-co-sa-02");
    ASSERT(k[1].revoked);
    ASSERT_EQ(k[1].revoked_at, 5000);
    ASSERT_STR_EQ(k[1].reason, "stolen");
    ASSERT_EQ(k[1].tips, 1);
    ASSERT_EQ(k[1].last_received, 2000);
    ASSERT(!k[2].enrolled);
    ASSERT_CONTAINS(k[2].id, "unknown kiosk key ");
    ASSERT_MEM_EQ(k[2].device_pk, f.stranger->pk, 32);
    ASSERT_EQ(k[2].tips, 1);
    ASSERT_EQ(k[2].refused, 1);
    free(k);
    free(ogg.b);
    free(a.b);
    free(b.b);
    free(c.b);
    free(d.b);
    fx_done(&f);
}

/* ---- status and history ---- */

struct hist_seen {
    int n, sealed[4], status[4];
    int64_t at[4];
    char note[4][200];
};

static int hist_one(void *ctx, const struct console_event *e)
{
    struct hist_seen *h = ctx;
    if (h->n < 4) {
        h->sealed[h->n] = e->sealed;
        h->status[h->n] = e->status;
        h->at[h->n] = e->at;
        snprintf(h->note[h->n], sizeof h->note[0], "%s", e->note);
    }
    h->n++;
    return 0;
}

TEST(test_console_status_changes_keep_their_sealed_notes_in_order)
{
    struct fx f;
    fx_init(&f);
    uint8_t id[16];
    struct bytes env = make_tip(&f, &(struct tipspec){.text = "x"}, id);
    struct postbox_tip t = store(&f, &env, 1000);
    char err[512] = "";
    /* No passphrase needed: notes are sealed to post.pub. */
    ASSERT_EQ(console_set_status(f.c, &t, POSTBOX_CHECKING, "gọi trưởng bản Na Cô Sa", 2000, err,
                                 sizeof err),
              0);
    ASSERT_EQ(console_set_status(f.c, &t, POSTBOX_ACTED, "đã thu giữ", 3000, err, sizeof err), 0);
    struct postbox_tip now;
    ASSERT_EQ(postbox_get(console_postbox(f.c), id, &now), 0);
    ASSERT_EQ(now.status, POSTBOX_ACTED);
    ASSERT_EQ(now.status_at, 3000);

    /* Locked: the history is there, its notes are not readable. */
    struct hist_seen h = {0};
    ASSERT_EQ(console_history(f.c, &t, hist_one, &h, err, sizeof err), 0);
    ASSERT_EQ(h.n, 2);
    ASSERT(h.sealed[0] && h.sealed[1]);
    ASSERT_STR_EQ(h.note[0], "");

    fx_unlock(&f);
    memset(&h, 0, sizeof h);
    ASSERT_EQ(console_history(f.c, &t, hist_one, &h, err, sizeof err), 0);
    ASSERT_EQ(h.n, 2);
    ASSERT_EQ(h.status[0], POSTBOX_CHECKING);
    ASSERT_EQ(h.at[0], 2000);
    ASSERT_STR_EQ(h.note[0], "gọi trưởng bản Na Cô Sa");
    ASSERT_EQ(h.status[1], POSTBOX_ACTED);
    ASSERT_STR_EQ(h.note[1], "đã thu giữ");
    ASSERT(!h.sealed[0] && !h.sealed[1]);

    /* Notes that cannot be kept are refused and change nothing. */
    char big[CONSOLE_NOTE_MAX + 2];
    memset(big, 'a', sizeof big - 1);
    big[sizeof big - 1] = 0;
    ASSERT_EQ(console_set_status(f.c, &t, POSTBOX_CLOSED, big, 4000, err, sizeof err),
              CONSOLE_E_NOTE);
    ASSERT_CONTAINS(err, "longer than");
    ASSERT_EQ(console_set_status(f.c, &t, POSTBOX_CLOSED, "\xff\xfe", 4000, err, sizeof err),
              CONSOLE_E_NOTE);
    ASSERT_CONTAINS(err, "not valid UTF-8");
    ASSERT_EQ(console_set_status(f.c, &t, POSTBOX_CLOSED, "", 4000, err, sizeof err),
              CONSOLE_E_NOTE);
    ASSERT_EQ(console_set_status(f.c, &t, 9, "why", 4000, err, sizeof err), CONSOLE_E_ARG);
    big[CONSOLE_NOTE_MAX] = 0; /* exactly the most a note may hold */
    ASSERT_EQ(console_note_check(big, err, sizeof err), 0);
    memset(&h, 0, sizeof h);
    ASSERT_EQ(console_history(f.c, &t, hist_one, &h, err, sizeof err), 0);
    ASSERT_EQ(h.n, 2);
    ASSERT_EQ(postbox_get(console_postbox(f.c), id, &now), 0);
    ASSERT_EQ(now.status, POSTBOX_ACTED);

    /* The notes are nowhere in the store's files in the clear. */
    char db[4200];
    ASSERT_EQ(console_file(f.c, POSTBOX_DB_NAME, db, sizeof db), 0);
    console_close(f.c);
    f.c = NULL;
    size_t n;
    uint8_t *file = check_slurp(db, &n);
    ASSERT(file);
    ASSERT(!memmem(file, n, "trưởng bản", strlen("trưởng bản")));
    ASSERT(!memmem(file, n, "thu giữ", strlen("thu giữ")));
    free(file);
    free(env.b);
    fx_done(&f);
}

/* ---- export ---- */

TEST(test_console_export_writes_rows_recordings_and_no_refused_content)
{
    struct fx f;
    fx_init(&f);
    fx_unlock(&f);
    struct bytes ogg = make_ogg(2);
    uint8_t voice_id[16], text_id[16], bad_id[16];
    struct bytes voice = make_tip(
        &f, &(struct tipspec){.ogg = &ogg, .text = "=1+2 \"quoted\"", .category = CATEGORY_WEAPONS},
        voice_id);
    struct bytes text = make_tip(&f, &(struct tipspec){.text = "thử thôi", .training = 1}, text_id);
    struct bytes bad = make_tip(&f, &(struct tipspec){.text = "sẽ bị sửa"}, bad_id);
    bad.b[300] ^= 0x40;
    struct postbox_tip tv = store(&f, &voice, 1000);
    store(&f, &text, 2000);
    int what;
    char err[512] = "";
    ASSERT_EQ(postbox_add(console_postbox(f.c), bad.b, bad.len, POSTBOX_FROM_FILE, 3000, 3000,
                          registry_device_check, console_registry(f.c), &what, err, sizeof err),
              0);
    ASSERT_EQ(console_set_status(f.c, &tv, POSTBOX_ACTED, "đã thu giữ", 5000, err, sizeof err), 0);

    const char *dir = check_path("export");
    struct export_report rep;
    if (export_all(f.c, dir, &rep, err, sizeof err))
        check_fail(__FILE__, __LINE__, "export_all: %s", err);
    ASSERT_EQ(rep.tips, 3);
    ASSERT_EQ(rep.recordings, 1);
    ASSERT_EQ(rep.failed, 0);
    struct stat st;
    ASSERT_EQ(stat(dir, &st), 0);
    ASSERT_EQ(st.st_mode & 0777, 0700);

    char path[4200], hex[33];
    errbuf_hex(hex, voice_id, 16);
    snprintf(path, sizeof path, "%s/%s.opus", dir, hex);
    size_t n;
    uint8_t *audio = check_slurp(path, &n);
    ASSERT(audio);
    ASSERT_EQ(n, ogg.len);
    ASSERT_MEM_EQ(audio, ogg.b, n);
    free(audio);
    ASSERT_EQ(stat(path, &st), 0);
    ASSERT_EQ(st.st_mode & 0777, 0600);

    snprintf(path, sizeof path, "%s/tips.csv", dir);
    char *csv = (char *)check_slurp(path, &n);
    ASSERT(csv);
    csv = realloc(csv, n + 1);
    csv[n] = 0;
    ASSERT(strncmp(csv,
                   "id,received,kiosk,verdict,category,language,practice,when,capture_day,"
                   "audio_seconds,audio_file,status,text,history\r\n",
                   60) == 0);
    int rows = 0;
    for (char *p = csv; (p = strstr(p, "\r\n")); p += 2)
        rows++;
    ASSERT_EQ(rows, 4);
    char want[200];
    snprintf(want, sizeof want, "\"%s\",", hex);
    ASSERT_CONTAINS(csv, want);
    /* A formula in a tip's text never runs in a spreadsheet; quotes stay quotes. */
    ASSERT_CONTAINS(csv, "\"'=1+2 \"\"quoted\"\"\"");
    ASSERT_CONTAINS(csv, "\"weapons or explosives\"");
    ASSERT_CONTAINS(csv, "\"2.0\"");
    ASSERT_CONTAINS(csv, " acted: đã thu giữ\"\r\n");
    ASSERT_CONTAINS(csv, "\"PRACTICE - discard\"");
    ASSERT_CONTAINS(csv, "refused: tampered");
    ASSERT(!strstr(csv, "sẽ bị sửa"));
    ASSERT(!memmem(csv, n, "OggS", 4));
    free(csv);

    /* Never over an export already there. */
    ASSERT_EQ(export_all(f.c, dir, &rep, err, sizeof err), CONSOLE_E_EXISTS);
    ASSERT_CONTAINS(err, "already exists");
    ASSERT_EQ(export_check_dir(dir, err, sizeof err), CONSOLE_E_EXISTS);
    free(ogg.b);
    free(voice.b);
    free(text.b);
    free(bad.b);
    fx_done(&f);
}

/* ---- pulling from the relay ---- */

static void fx_relay(struct fx *f)
{
    struct relay_config c;
    relay_config_defaults(&c);
    snprintf(c.listen, sizeof c.listen, "127.0.0.1:0");
    snprintf(c.database, sizeof c.database, "%s", check_path("relay.db"));
    snprintf(c.registry, sizeof c.registry, "%s/" REGISTRY_DB_NAME, f->post);
    snprintf(c.post_token, sizeof c.post_token, "%s", TOKEN);
    c.connection_timeout_seconds = 10;
    char err[512] = "";
    if (relay_open(&f->relay, &c, err, sizeof err) ||
        relay_start(f->relay, &f->port, err, sizeof err))
        check_fail(__FILE__, __LINE__, "relay: %s", err);
}

/*
 * Upload the queued tips with the real uploader, as homthu-uplink does
 * (one uploader: it keeps two tips' signed requests in one second apart).
 */
static void upload(struct fx *f, uint8_t ids[][16], int n)
{
    char url[64], err[512] = "";
    snprintf(url, sizeof url, "http://127.0.0.1:%u/", f->port);
    struct uploader_opts o = {.relay_url = url, .device_sk = f->dev->sk, .require_verified = 1};
    struct uploader *u = NULL;
    ASSERT_EQ(uploader_new(&u, &o, err, sizeof err), 0);
    for (int i = 0; i < n; i++) {
        struct queue_tip t;
        ASSERT_EQ(queue_get_tip(f->q, ids[i], &t), 0);
        struct uploader_report rep = {0};
        if (uploader_send_tip(u, f->q, &t, &rep, err, sizeof err))
            check_fail(__FILE__, __LINE__, "upload: %s", err);
    }
    uploader_free(u);
}

struct pulled {
    int n, what[8], source[8];
    uint8_t id[8][16];
    size_t bytes[8];
};

static void on_tip(void *ctx, const struct pull_event *e)
{
    struct pulled *p = ctx;
    if (p->n < 8) {
        p->what[p->n] = e->what;
        p->source[p->n] = e->source;
        p->bytes[p->n] = e->bytes;
        memcpy(p->id[p->n], e->id, 16);
    }
    p->n++;
}

static void settings(struct fx *f, struct pull_settings *s, const char *token)
{
    memset(s, 0, sizeof *s);
    snprintf(s->relay, sizeof s->relay, "http://127.0.0.1:%u/", f->port);
    snprintf(s->token, sizeof s->token, "%s", token);
}

TEST(test_console_pull_stores_each_relay_tip_once)
{
    ASSERT_EQ(curl_global_init(CURL_GLOBAL_DEFAULT), 0);
    struct fx f;
    fx_init(&f);
    fx_relay(&f);
    uint8_t ids[3][16];
    struct bytes envs[3];
    struct bytes ogg = make_ogg(1);
    envs[0] = make_tip(&f, &(struct tipspec){.text = "một"}, ids[0]);
    envs[1] = make_tip(&f, &(struct tipspec){.ogg = &ogg}, ids[1]);
    envs[2] = make_tip(&f, &(struct tipspec){.text = "ba", .training = 1}, ids[2]);
    upload(&f, ids, 3);

    struct pull_settings s;
    struct pulled p = {0};
    struct pull_hooks h = {on_tip, NULL, &p};
    struct pull_report rep = {0};
    char err[1024] = "";

    /* A wrong token: refused, nothing stored, the cursor where it was. */
    settings(&f, &s, "wrong-token-0123456789abcdef0123456789");
    ASSERT_EQ(pull_relay(f.c, &s, &h, &rep, err, sizeof err), CONSOLE_E_REMOTE);
    ASSERT_CONTAINS(err, "the relay refused the token");
    int n = -1;
    ASSERT_EQ(console_count(f.c, &n, err, sizeof err), 0);
    ASSERT_EQ(n, 0);
    ASSERT_EQ(p.n, 0);

    settings(&f, &s, TOKEN);
    memset(&rep, 0, sizeof rep);
    if (pull_relay(f.c, &s, &h, &rep, err, sizeof err))
        check_fail(__FILE__, __LINE__, "pull_relay: %s", err);
    ASSERT_EQ(rep.added, 3);
    ASSERT_EQ(rep.duplicates, 0);
    ASSERT_EQ(p.n, 3);
    for (int i = 0; i < 3; i++) {
        ASSERT_EQ(p.what[i], POSTBOX_ADDED);
        ASSERT_EQ(p.source[i], POSTBOX_FROM_RELAY);
        /* The relay lists oldest first: the order they were uploaded. */
        ASSERT_MEM_EQ(p.id[i], ids[i], 16);
        ASSERT_EQ(p.bytes[i], envs[i].len);
        /* Held exactly as sealed. */
        struct postbox_tip t;
        ASSERT_EQ(postbox_get(console_postbox(f.c), ids[i], &t), 0);
        ASSERT_EQ(t.source, POSTBOX_FROM_RELAY);
        uint8_t *env;
        size_t len;
        ASSERT_EQ(postbox_envelope(console_postbox(f.c), t.seq, &env, &len, err, sizeof err), 0);
        ASSERT_EQ(len, envs[i].len);
        ASSERT_MEM_EQ(env, envs[i].b, len);
        free(env);
    }

    /* Again: the cursor is past them all, nothing new. */
    memset(&rep, 0, sizeof rep);
    p.n = 0;
    ASSERT_EQ(pull_relay(f.c, &s, &h, &rep, err, sizeof err), 0);
    ASSERT_EQ(rep.added + rep.duplicates, 0);

    /* The relay listing them again (a lost cursor): each is a duplicate, not stored twice. */
    char key[200];
    snprintf(key, sizeof key, "relay_cursor http://127.0.0.1:%u", f.port);
    ASSERT_EQ(postbox_set_setting(console_postbox(f.c), key, "0", err, sizeof err), 0);
    memset(&rep, 0, sizeof rep);
    p.n = 0;
    ASSERT_EQ(pull_relay(f.c, &s, &h, &rep, err, sizeof err), 0);
    ASSERT_EQ(rep.added, 0);
    ASSERT_EQ(rep.duplicates, 3);
    ASSERT_EQ(p.n, 3);
    ASSERT_EQ(p.what[0], POSTBOX_DUPLICATE);
    ASSERT_EQ(console_count(f.c, &n, err, sizeof err), 0);
    ASSERT_EQ(n, 3);

    /* And what was pulled opens. */
    fx_unlock(&f);
    struct postbox_tip t;
    ASSERT_EQ(postbox_get(console_postbox(f.c), ids[1], &t), 0);
    struct console_tip *v = open_tip(&f, &t);
    ASSERT_EQ(v->verdict, 0);
    ASSERT_EQ(v->audio_len, ogg.len);
    ASSERT_MEM_EQ(v->audio, ogg.b, ogg.len);
    console_tip_free(v);

    for (int i = 0; i < 3; i++)
        free(envs[i].b);
    free(ogg.b);
    fx_done(&f);
    curl_global_cleanup();
}

TEST(test_console_pull_reads_post_conf_and_warns_when_others_may_read_it)
{
    struct fx f;
    fx_init(&f);
    char path[4200], err[1024] = "";
    ASSERT_EQ(console_file(f.c, "post.conf", path, sizeof path), 0);
    struct pull_settings s;
    int too_open = -1;
    /* No post.conf: nothing set, no complaint. */
    ASSERT_EQ(pull_read_conf(f.c, &s, &too_open, err, sizeof err), 0);
    ASSERT_STR_EQ(s.relay, "");
    ASSERT_EQ(too_open, 0);

    const char *conf = "relay_url = https://relay.example/\nrelay_token = " TOKEN "\n"
                       "imap_url = imaps://mail.example/INBOX\nimap_user = post\n";
    check_write_file(path, conf, strlen(conf));
    ASSERT_EQ(chmod(path, 0644), 0);
    ASSERT_EQ(pull_read_conf(f.c, &s, &too_open, err, sizeof err), 0);
    ASSERT_STR_EQ(s.relay, "https://relay.example/");
    ASSERT_STR_EQ(s.token, TOKEN);
    ASSERT_STR_EQ(s.imap, "imaps://mail.example/INBOX");
    ASSERT_STR_EQ(s.imap_user, "post");
    ASSERT_EQ(too_open, 1);
    ASSERT_EQ(chmod(path, 0600), 0);
    ASSERT_EQ(pull_read_conf(f.c, &s, &too_open, err, sizeof err), 0);
    ASSERT_EQ(too_open, 0);

    /* A typo is refused, not ignored. */
    const char *typo = "relay_tokn = x\n";
    unlink(path);
    check_write_file(path, typo, strlen(typo));
    ASSERT(pull_read_conf(f.c, &s, &too_open, err, sizeof err) != 0);
    ASSERT_CONTAINS(err, "relay_tokn");

    /* Settings that cannot work say what to do before any request. */
    struct pull_report rep = {0};
    memset(&s, 0, sizeof s);
    snprintf(s.relay, sizeof s.relay, "http://127.0.0.1:9/");
    ASSERT_EQ(pull_relay(f.c, &s, NULL, &rep, err, sizeof err), CONSOLE_E_ARG);
    ASSERT_CONTAINS(err, "no token for the relay");
    ASSERT_EQ(rep.asked, 0);
    snprintf(s.relay, sizeof s.relay, "ftp://127.0.0.1/");
    snprintf(s.token, sizeof s.token, "%s", TOKEN);
    ASSERT_EQ(pull_relay(f.c, &s, NULL, &rep, err, sizeof err), CONSOLE_E_ARG);
    ASSERT_CONTAINS(err, "is not an http:// or https:// address");
    fx_done(&f);
}

TEST(test_console_seals_to_the_post_opens_only_unlocked_and_locks_again)
{
    struct fx f;
    fx_init(&f);
    const uint8_t msg[] = "officer an opened tip 1234";
    uint8_t box[sizeof msg + CONSOLE_SEAL_BYTES], back[sizeof msg];
    uint8_t k1[32], k2[32], k3[32];
    /* Sealing needs no passphrase; opening and deriving do. */
    ASSERT_EQ(console_seal(f.c, msg, sizeof msg, box), 0);
    ASSERT(memmem(box, sizeof box, "officer", 7) == NULL);
    ASSERT_EQ(console_unseal(f.c, box, sizeof box, back), CONSOLE_E_LOCKED);
    ASSERT_EQ(console_derive_key(f.c, "station-index", k1), CONSOLE_E_LOCKED);
    fx_unlock(&f);
    ASSERT_EQ(console_unseal(f.c, box, sizeof box, back), 0);
    ASSERT_MEM_EQ(back, msg, sizeof msg);
    box[sizeof box / 2] ^= 1;
    ASSERT_EQ(console_unseal(f.c, box, sizeof box, back), CONSOLE_E_REFUSED);
    /* A key per purpose, the same each time. */
    ASSERT_EQ(console_derive_key(f.c, "station-index", k1), 0);
    ASSERT_EQ(console_derive_key(f.c, "station-index", k2), 0);
    ASSERT_EQ(console_derive_key(f.c, "station-audit", k3), 0);
    ASSERT_MEM_EQ(k1, k2, 32);
    ASSERT(memcmp(k1, k3, 32) != 0);
    /* Locking again forgets the key. */
    console_lock(f.c);
    ASSERT(!console_unlocked(f.c));
    ASSERT_EQ(console_derive_key(f.c, "station-index", k2), CONSOLE_E_LOCKED);
    fx_done(&f);
}

/* ---- kiosk health and orders through the relay (issue 11, item 6) ---- */

/* What homthu-uplink does at a heartbeat slot: gather, seal to the post, send. */
static int send_heartbeat(struct fx *f, const struct keys_device *dev, char *err, size_t errlen)
{
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%u/", f->port);
    struct uploader_opts o = {.relay_url = url, .device_sk = dev->sk, .require_verified = 1};
    struct uploader *u = NULL;
    ASSERT_EQ(uploader_new(&u, &o, err, errlen), 0);
    struct heartbeat hb;
    uplink_heartbeat_gather(check_path("kiosk"), f->q, (int64_t)time(NULL) + 600, 0, 777, &hb);
    hb.sent_at = uploader_relay_time(u);
    uint8_t sealed[HEARTBEAT_SEALED_BYTES];
    ASSERT_EQ(heartbeat_seal(&hb, dev->sk, f->key->pk, sealed, err, errlen), 0);
    int rc = uploader_send_heartbeat(u, sealed, sizeof sealed, err, errlen);
    uploader_free(u);
    return rc;
}

TEST(test_console_a_kiosks_heartbeat_reaches_the_post_and_opens_once_unlocked)
{
    ASSERT_EQ(curl_global_init(CURL_GLOBAL_DEFAULT), 0);
    struct fx f;
    fx_init(&f);
    fx_relay(&f);
    char err[1024] = "";
    /* The kiosk: two tips waiting (never uploaded), a microphone gone and a silent speaker. */
    uint8_t ids[2][16];
    struct bytes e1 = make_tip(&f, &(struct tipspec){.text = "một"}, ids[0]);
    struct bytes e2 = make_tip(&f, &(struct tipspec){.text = "hai"}, ids[1]);
    ASSERT_EQ(uplink_faults_write(check_path("kiosk"),
                                  LEDS_FAULT_NO_MICROPHONE | LEDS_FAULT_NO_SPEAKER),
              0);
    if (send_heartbeat(&f, f.dev, err, sizeof err))
        check_fail(__FILE__, __LINE__, "heartbeat: %s", err);
    int64_t sent = (int64_t)time(NULL);

    /* The post pulls it, locked, and keeps it sealed. */
    struct health *h = NULL;
    char hpath[4200];
    ASSERT_EQ(console_file(f.c, HEALTH_DB_NAME, hpath, sizeof hpath), 0);
    ASSERT_EQ(health_open(&h, hpath, err, sizeof err), 0);
    struct pull_settings s;
    settings(&f, &s, TOKEN);
    unsigned n = 0;
    if (pull_heartbeats(f.c, &s, health_keep, h, &n, err, sizeof err))
        check_fail(__FILE__, __LINE__, "pull_heartbeats: %s", err);
    ASSERT_EQ(n, 1);
    size_t dblen = 0;
    uint8_t *db = check_slurp(hpath, &dblen);
    ASSERT(db && !memmem(db, dblen, HOMTHU_VERSION, strlen(HOMTHU_VERSION)));
    free(db);
    struct heartbeat hb;
    int64_t contact = 0;
    ASSERT_EQ(health_latest(h, f.c, f.dev->pk, &hb, &contact, err, sizeof err), CONSOLE_E_LOCKED);
    ASSERT_CONTAINS(err, "unlock to see");
    ASSERT(contact >= sent - 5 && contact <= sent + 5); /* last contact is known locked too */
    ASSERT_EQ(hb.tips_waiting, 0);

    /* Unlocked: the officer sees what the kiosk had. */
    fx_unlock(&f);
    if (health_latest(h, f.c, f.dev->pk, &hb, &contact, err, sizeof err))
        check_fail(__FILE__, __LINE__, "health_latest: %s", err);
    ASSERT_EQ(hb.tips_waiting, 2);
    /* From the queue's time, rounded down to 6 h: up to that much more. */
    ASSERT(hb.oldest_waiting_s >= 590 && hb.oldest_waiting_s <= 620 + QUEUE_TIME_GRAIN_S);
    int codes[HEARTBEAT_NFAULTS];
    ASSERT_EQ(heartbeat_fault_codes(hb.faults, codes), 2);
    ASSERT_EQ(codes[0], 4);
    ASSERT_EQ(codes[1], 6);
    ASSERT_STR_EQ(heartbeat_fault_name(codes[0]), "no microphone");
    ASSERT_STR_EQ(hb.version, HOMTHU_VERSION);
    ASSERT_EQ(hb.uptime_s, 777);
    /* No kiosk sent one as the second: nothing held for it. */
    ASSERT_EQ(health_latest(h, f.c, f.dev2->pk, &hb, &contact, err, sizeof err),
              CONSOLE_E_NOTFOUND);
    ASSERT_EQ(contact, 0);

    /* A second pull brings nothing new; the next heartbeat replaces the first. */
    ASSERT_EQ(pull_heartbeats(f.c, &s, health_keep, h, &n, err, sizeof err), 0);
    ASSERT_EQ(n, 0);
    ASSERT_EQ(uplink_faults_write(check_path("kiosk"), 0), 0);
    ASSERT_EQ(send_heartbeat(&f, f.dev, err, sizeof err), 0);
    ASSERT_EQ(pull_heartbeats(f.c, &s, health_keep, h, &n, err, sizeof err), 0);
    ASSERT_EQ(n, 1);
    ASSERT_EQ(health_latest(h, f.c, f.dev->pk, &hb, &contact, err, sizeof err), 0);
    ASSERT_EQ(hb.faults, 0);
    /* The tips stayed in the kiosk's queue: a heartbeat carries none. */
    struct queue_tip t;
    ASSERT_EQ(queue_get_tip(f.q, ids[0], &t), 0);
    ASSERT_EQ(t.state, QUEUE_SEALED);

    /* A wrong token: refused, said so. */
    settings(&f, &s, "wrong-token-0123456789abcdef0123456789");
    ASSERT_EQ(pull_heartbeats(f.c, &s, health_keep, h, &n, err, sizeof err), CONSOLE_E_REMOTE);
    ASSERT_CONTAINS(err, "the relay refused the token");

    /* The commune set at enrolment. */
    char commune[HEALTH_COMMUNE_MAX + 1];
    ASSERT_EQ(health_commune(h, "na-co-sa-01", commune, sizeof commune, err, sizeof err), 0);
    ASSERT_STR_EQ(commune, "");
    ASSERT_EQ(health_set_commune(h, "na-co-sa-01", "Na Cô Sa", err, sizeof err), 0);
    ASSERT_EQ(health_commune(h, "na-co-sa-01", commune, sizeof commune, err, sizeof err), 0);
    ASSERT_STR_EQ(commune, "Na Cô Sa");
    ASSERT_EQ(health_set_commune(h, "na-co-sa-01", "two\nlines", err, sizeof err),
              CONSOLE_E_ARG);
    ASSERT_EQ(health_set_commune(h, "na-co-sa-01", "bad \xff", err, sizeof err), CONSOLE_E_ARG);
    health_close(h);
    free(e1.b);
    free(e2.b);
    fx_done(&f);
}

TEST(test_console_health_refuses_a_beat_signed_by_another_kiosk_or_damaged)
{
    struct fx f;
    fx_init(&f);
    char err[512] = "";
    struct health *h = NULL;
    ASSERT_EQ(health_open(&h, check_path("health.db"), err, sizeof err), 0);
    struct heartbeat hb = {.tips_waiting = 9};
    snprintf(hb.version, sizeof hb.version, "0.1.0");
    uint8_t sealed[HEARTBEAT_SEALED_BYTES];
    ASSERT_EQ(heartbeat_seal(&hb, f.dev2->sk, f.key->pk, sealed, err, sizeof err), 0);
    /* A relay hands kiosk 2's heartbeat as kiosk 1's. */
    ASSERT_EQ(health_put(h, f.dev->pk, 2000, sealed, sizeof sealed, err, sizeof err), 0);
    fx_unlock(&f);
    struct heartbeat got;
    int64_t t = 0;
    ASSERT_EQ(health_latest(h, f.c, f.dev->pk, &got, &t, err, sizeof err), CONSOLE_E_REFUSED);
    ASSERT_CONTAINS(err, "another kiosk's key");
    ASSERT_EQ(got.tips_waiting, 0);
    /* An older one handed again does not replace the newer. */
    ASSERT_EQ(heartbeat_seal(&hb, f.dev->sk, f.key->pk, sealed, err, sizeof err), 0);
    ASSERT_EQ(health_put(h, f.dev->pk, 1000, sealed, sizeof sealed, err, sizeof err), 0);
    ASSERT_EQ(health_latest(h, f.c, f.dev->pk, &got, &t, err, sizeof err), CONSOLE_E_REFUSED);
    ASSERT_EQ(t, 2000);
    ASSERT_EQ(health_put(h, f.dev->pk, 3000, sealed, sizeof sealed, err, sizeof err), 0);
    ASSERT_EQ(health_latest(h, f.c, f.dev->pk, &got, &t, err, sizeof err), 0);
    ASSERT_EQ(got.tips_waiting, 9);
    /* Damaged, or truncated: refused, nothing given out. */
    sealed[100] ^= 1;
    ASSERT_EQ(health_open_beat(f.c, sealed, sizeof sealed, &got, err, sizeof err),
              CONSOLE_E_REFUSED);
    ASSERT_EQ(health_open_beat(f.c, sealed, sizeof sealed - 1, &got, err, sizeof err),
              CONSOLE_E_REFUSED);
    ASSERT_EQ(health_put(h, f.dev->pk, 4000, sealed, 10, err, sizeof err), CONSOLE_E_ARG);
    health_close(h);
    fx_done(&f);
}

TEST(test_console_enrol_and_revoke_reach_the_relay_without_copying_files)
{
    ASSERT_EQ(curl_global_init(CURL_GLOBAL_DEFAULT), 0);
    struct fx f;
    fx_init(&f);
    /* The relay's own copy of the registry, made once at setup (docs/relay.md). */
    char reg_path[4200];
    snprintf(reg_path, sizeof reg_path, "%s/" REGISTRY_DB_NAME, f.post);
    size_t len = 0;
    uint8_t *copy = check_slurp(reg_path, &len);
    ASSERT(copy);
    check_write_file(check_path("relay-registry.db"), copy, len);
    free(copy);
    struct relay_config c;
    relay_config_defaults(&c);
    snprintf(c.listen, sizeof c.listen, "127.0.0.1:0");
    snprintf(c.database, sizeof c.database, "%s", check_path("relay.db"));
    snprintf(c.registry, sizeof c.registry, "%s", check_path("relay-registry.db"));
    snprintf(c.post_token, sizeof c.post_token, "%s", TOKEN);
    char err[1024] = "";
    if (relay_open(&f.relay, &c, err, sizeof err) || relay_start(f.relay, &f.port, err, sizeof err))
        check_fail(__FILE__, __LINE__, "relay: %s", err);
    struct pull_settings s;
    settings(&f, &s, TOKEN);

    /* A new kiosk, enrolled at the post and told to the relay: its heartbeat goes in. */
    ASSERT_EQ(send_heartbeat(&f, f.stranger, err, sizeof err), UPLOADER_E_DEVICE);
    ASSERT_EQ(registry_enrol(console_registry(f.c), "lao-cai-07", f.stranger->pk, 2000, err,
                             sizeof err),
              0);
    if (pull_tell_relay_enrol(&s, "lao-cai-07", f.stranger->pk, err, sizeof err))
        check_fail(__FILE__, __LINE__, "enrol: %s", err);
    ASSERT_EQ(send_heartbeat(&f, f.stranger, err, sizeof err), 0);

    /* Kiosk 2 revoked at the post and at the relay: its next tip and heartbeat are refused. */
    uint8_t id[16];
    struct bytes env = make_tip(&f, &(struct tipspec){.text = "x", .dev = f.dev2}, id);
    ASSERT_EQ(send_heartbeat(&f, f.dev2, err, sizeof err), 0);
    if (pull_tell_relay_revoke(&s, "na-co-sa-02", "stolen from the market", err, sizeof err))
        check_fail(__FILE__, __LINE__, "revoke: %s", err);
    ASSERT_EQ(send_heartbeat(&f, f.dev2, err, sizeof err), UPLOADER_E_DEVICE);
    ASSERT_CONTAINS(err, "revoked device");
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%u/", f.port);
    struct uploader_opts o = {.relay_url = url, .device_sk = f.dev2->sk, .require_verified = 1};
    struct uploader *u = NULL;
    ASSERT_EQ(uploader_new(&u, &o, err, sizeof err), 0);
    struct queue_tip t;
    ASSERT_EQ(queue_get_tip(f.q, id, &t), 0);
    struct uploader_report rep = {0};
    ASSERT_EQ(uploader_send_tip(u, f.q, &t, &rep, err, sizeof err), UPLOADER_E_DEVICE);
    uploader_free(u);
    /* Told twice: fine. Bad orders are refused before anything is sent or by the relay. */
    ASSERT_EQ(pull_tell_relay_revoke(&s, "na-co-sa-02", "again", err, sizeof err), 0);
    ASSERT_EQ(pull_tell_relay_revoke(&s, "nobody", "x", err, sizeof err), CONSOLE_E_REMOTE);
    ASSERT_CONTAINS(err, "404");
    ASSERT_EQ(pull_tell_relay_revoke(&s, "na-co-sa-01", "two\nlines", err, sizeof err),
              CONSOLE_E_ARG);
    ASSERT_EQ(pull_tell_relay_enrol(&s, "Bad Id", f.stranger->pk, err, sizeof err),
              CONSOLE_E_ARG);
    ASSERT_EQ(pull_tell_relay_enrol(&s, "lao-cai-08", f.stranger->pk, err, sizeof err),
              CONSOLE_E_REMOTE);
    ASSERT_CONTAINS(err, "409");
    settings(&f, &s, "wrong-token-0123456789abcdef0123456789");
    ASSERT_EQ(pull_tell_relay_revoke(&s, "na-co-sa-01", "x", err, sizeof err), CONSOLE_E_REMOTE);
    ASSERT_CONTAINS(err, "the relay refused the token");
    /* The relay's registry says it; the post's file was never copied again. */
    struct registry *rr = NULL;
    ASSERT_EQ(registry_open(&rr, check_path("relay-registry.db"), 0, err, sizeof err), 0);
    struct registry_entry e;
    ASSERT_EQ(registry_get(rr, "na-co-sa-02", &e, err, sizeof err), 0);
    ASSERT(e.revoked != 0);
    ASSERT_STR_EQ(e.reason, "stolen from the market");
    ASSERT_EQ(registry_get(rr, "lao-cai-07", &e, err, sizeof err), 0);
    ASSERT_EQ(e.revoked, 0);
    registry_close(rr);
    /* Kiosk 1 is still served. */
    ASSERT_EQ(send_heartbeat(&f, f.dev, err, sizeof err), 0);
    free(env.b);
    fx_done(&f);
}
