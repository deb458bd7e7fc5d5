/*
 * Tests for the station's list of tips (src/station/tipindex.c): a real
 * post folder (keys, registry, postbox), real envelopes sealed through a
 * real kiosk queue with real Ogg Opus audio, as tests/test_console.c makes
 * them; the list read back as the page would ask for it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <opusenc.h>
#include <sodium.h>
#include <sqlite3.h>

#include "check.h"
#include "core/envelope.h"
#include "core/errbuf.h"
#include "core/keys.h"
#include "core/queue.h"
#include "core/registry.h"
#include "post/console.h"
#include "post/postbox.h"
#include "station/tipindex.h"

#define PASS "a long passphrase"

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
    char post[4096];
    struct envelope_post_key *key;
    struct keys_device *dev, *dev2, *stranger;
    struct queue *q;
    struct console *c;
    struct tipindex *ix;
};

/* A post's folder at check_dir()/name with its own post key; both kiosks enrolled. */
static void fx_post(struct fx *f, const char *name)
{
    char err[512] = "";
    snprintf(f->post, sizeof f->post, "%s", check_path(name));
    ASSERT_EQ(mkdir(f->post, 0700), 0);
    char pub[4200], key[4200], reg_path[4200];
    snprintf(pub, sizeof pub, "%s/post.pub", f->post);
    snprintf(key, sizeof key, "%s/post.key", f->post);
    snprintf(reg_path, sizeof reg_path, "%s/" REGISTRY_DB_NAME, f->post);
    unsigned long long ops;
    size_t mem;
    ASSERT_EQ(keys_pwhash_limits("min", &ops, &mem), 0);
    ASSERT_EQ(keys_post_generate(&f->key, err, sizeof err), 0);
    ASSERT_EQ(keys_post_save(f->key, pub, key, PASS, ops, mem, err, sizeof err), 0);
    struct registry *reg = NULL;
    ASSERT_EQ(registry_open(&reg, reg_path, 1, err, sizeof err), 0);
    ASSERT_EQ(registry_enrol(reg, "na-co-sa-01", f->dev->pk, 1000, err, sizeof err), 0);
    ASSERT_EQ(registry_enrol(reg, "na-co-sa-02", f->dev2->pk, 1000, err, sizeof err), 0);
    registry_close(reg);
}

static void fx_open(struct fx *f)
{
    char err[512] = "", path[4200];
    if (console_open(&f->c, f->post, err, sizeof err))
        check_fail(__FILE__, __LINE__, "console_open: %s", err);
    ASSERT_EQ(console_file(f->c, TIPINDEX_DB_NAME, path, sizeof path), 0);
    if (tipindex_open(&f->ix, path, err, sizeof err))
        check_fail(__FILE__, __LINE__, "tipindex_open: %s", err);
}

static void fx_init(struct fx *f)
{
    memset(f, 0, sizeof *f);
    ASSERT(sodium_init() >= 0);
    char err[512] = "";
    ASSERT_EQ(keys_device_generate(&f->dev, err, sizeof err), 0);
    ASSERT_EQ(keys_device_generate(&f->dev2, err, sizeof err), 0);
    ASSERT_EQ(keys_device_generate(&f->stranger, err, sizeof err), 0);
    fx_post(f, "post");
    unsigned faults = 0;
    mkdir(check_path("kiosk"), 0700);
    if (queue_open(&f->q, check_path("kiosk"), &faults, err, sizeof err))
        check_fail(__FILE__, __LINE__, "queue_open: %s", err);
    fx_open(f);
}

static void fx_unlock(struct fx *f)
{
    char err[512] = "";
    if (console_unlock(f->c, PASS, err, sizeof err))
        check_fail(__FILE__, __LINE__, "console_unlock: %s", err);
    if (tipindex_unlock(f->ix, f->c, err, sizeof err))
        check_fail(__FILE__, __LINE__, "tipindex_unlock: %s", err);
}

static void fx_close(struct fx *f)
{
    tipindex_close(f->ix);
    console_close(f->c);
    f->ix = NULL;
    f->c = NULL;
}

static void fx_done(struct fx *f)
{
    fx_close(f);
    queue_close(f->q);
    keys_post_free(f->key);
    keys_device_free(f->dev);
    keys_device_free(f->dev2);
    keys_device_free(f->stranger);
}

/* ---- real tips (as tests/test_console.c makes them) ---- */

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
    int category, training, cut, unconfirmed;
    const char *language;
    const struct keys_device *dev; /* NULL: na-co-sa-01's */
};

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
    ASSERT_EQ(envelope_writer_new(&w, f->key->pk, dev->sk, &meta, queue_envelope_sink, &sink, id,
                                  err, sizeof err),
              0);
    if (s->ogg)
        ASSERT_EQ(envelope_write_audio(w, s->ogg->b, s->ogg->len), 0);
    if (s->cut) {
        envelope_writer_free(w);
        int n = 0;
        ASSERT_EQ(queue_recover(f->q, dev->sk, (int64_t)time(NULL), &n, NULL, err, sizeof err), 0);
        ASSERT_EQ(n, 1);
    } else {
        if (s->text)
            ASSERT_EQ(envelope_write_text(w, s->text, strlen(s->text)), 0);
        if (s->unconfirmed)
            ASSERT_EQ(envelope_write_unconfirmed(w), 0);
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

static struct postbox_tip tip(struct fx *f, const struct tipspec *s, int64_t received)
{
    uint8_t id[16];
    struct bytes env = make_tip(f, s, id);
    struct postbox_tip t = store(f, &env, received);
    free(env.b);
    return t;
}

/* ---- reading the list ---- */

#define ROWS 64

struct page {
    struct tipindex_row r[ROWS];
    size_t n, total;
};

static struct page *query(struct fx *f, struct tipindex_filter flt)
{
    static struct page p;
    char err[512] = "";
    memset(&p, 0, sizeof p);
    if (flt.limit == 0)
        flt.limit = ROWS;
    if (tipindex_query(f->ix, f->c, &flt, p.r, ROWS, &p.n, &p.total, err, sizeof err))
        check_fail(__FILE__, __LINE__, "tipindex_query: %s", err);
    return &p;
}

static int refresh(struct fx *f, int max_new)
{
    char err[512] = "";
    int left = tipindex_refresh(f->ix, f->c, max_new, err, sizeof err);
    if (left < 0)
        check_fail(__FILE__, __LINE__, "tipindex_refresh: %s", err);
    return left;
}

/* The page's rows by the seq of each, "3,1,2". */
static const char *seqs(const struct page *p)
{
    static char out[512];
    size_t o = 0;
    out[0] = 0;
    for (size_t i = 0; i < p->n && o < sizeof out - 24; i++)
        o += (size_t)snprintf(out + o, sizeof out - o, "%s%lld", i ? "," : "",
                              (long long)p->r[i].t.seq);
    return out;
}

static const struct tipindex_row *row_of(const struct page *p, int64_t seq)
{
    for (size_t i = 0; i < p->n; i++)
        if (p->r[i].t.seq == seq)
            return &p->r[i];
    check_fail(__FILE__, __LINE__, "seq %lld is not on the page", (long long)seq);
}

static void set_status(struct fx *f, const struct postbox_tip *t, int status)
{
    char err[512] = "";
    if (console_set_status(f->c, t, status, "đã xem", 9000, err, sizeof err))
        check_fail(__FILE__, __LINE__, "console_set_status: %s", err);
}

/* tipindex.db and its write-ahead log, as bytes on disk. */
static struct bytes index_files(struct fx *f)
{
    char db[4200], wal[4300];
    ASSERT_EQ(console_file(f->c, TIPINDEX_DB_NAME, db, sizeof db), 0);
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

static int has_bytes(const struct bytes *hay, const char *needle)
{
    return memmem(hay->b, hay->len, needle, strlen(needle)) != NULL;
}

/* ---- tests ---- */

TEST(test_tipindex_lists_each_verdict_as_the_api_names_it)
{
    struct fx f;
    fx_init(&f);
    struct bytes ogg = make_ogg(2);
    struct postbox_tip drugs = tip(
        &f, &(struct tipspec){.text = "xe tải chở hàng ban đêm", .category = CATEGORY_DRUGS}, 1000);
    struct postbox_tip spoken = tip(
        &f, &(struct tipspec){.ogg = &ogg, .category = CATEGORY_WEAPONS, .language = "hmn"}, 2000);
    struct postbox_tip practice = tip(
        &f, &(struct tipspec){.text = "thử thôi", .training = 1, .category = CATEGORY_OTHER}, 3000);
    struct postbox_tip cut =
        tip(&f, &(struct tipspec){.ogg = &ogg, .cut = 1, .category = CATEGORY_BORDER}, 4000);
    struct postbox_tip left =
        tip(&f, &(struct tipspec){.ogg = &ogg, .unconfirmed = 1, .category = CATEGORY_THEFT}, 5000);
    struct postbox_tip forged =
        tip(&f, &(struct tipspec){.text = "giả mạo", .dev = f.stranger}, 6000);
    struct postbox_tip stolen = tip(
        &f, &(struct tipspec){.text = "từ ki-ốt bị mất", .dev = f.dev2, .category = CATEGORY_DRUGS},
        7000);
    char err[512] = "";
    ASSERT_EQ(
        registry_revoke(console_registry(f.c), "na-co-sa-02", "stolen", 7500, err, sizeof err), 0);

    /* Locked: the postbox's facts only; the outer check and the registry give the verdict. */
    struct page *p = query(&f, TIPINDEX_FILTER_ALL);
    ASSERT_EQ(p->total, 7);
    ASSERT_STR_EQ(seqs(p), "7,6,5,4,3,2,1");
    for (size_t i = 0; i < p->n; i++) {
        ASSERT(!p->r[i].indexed);
        ASSERT_EQ(p->r[i].category, -1);
        ASSERT_STR_EQ(p->r[i].language, "");
    }
    ASSERT_STR_EQ(tipindex_verdict_name(row_of(p, drugs.seq)->verdict), "signed");
    ASSERT_STR_EQ(tipindex_verdict_name(row_of(p, cut.seq)->verdict), "cut_short");
    ASSERT_STR_EQ(tipindex_verdict_name(row_of(p, practice.seq)->verdict), "signed");
    ASSERT_STR_EQ(tipindex_verdict_name(row_of(p, forged.seq)->verdict), "refused");
    ASSERT_STR_EQ(tipindex_verdict_name(row_of(p, stolen.seq)->verdict), "refused");
    ASSERT_STR_EQ(row_of(p, drugs.seq)->kiosk, "na-co-sa-01");
    ASSERT_STR_EQ(row_of(p, stolen.seq)->kiosk, "na-co-sa-02");
    char fp[KEYS_FINGERPRINT_HEX], want[120];
    keys_fingerprint(f.stranger->pk, 32, fp);
    snprintf(want, sizeof want, "unknown kiosk key %s", fp);
    ASSERT_STR_EQ(row_of(p, forged.seq)->kiosk, want);
    char hex[33];
    errbuf_hex(hex, drugs.id, 16);
    ASSERT_STR_EQ(row_of(p, drugs.seq)->id, hex);
    ASSERT_EQ(row_of(p, drugs.seq)->t.received, 1000);
    ASSERT_EQ(row_of(p, drugs.seq)->t.source, POSTBOX_FROM_FILE);
    ASSERT_EQ(row_of(p, drugs.seq)->t.status, POSTBOX_NEW);
    ASSERT_EQ(refresh(&f, 100), 7); /* locked: nothing can be read */

    /* Unlocked and read once: every verdict as the API names it. */
    fx_unlock(&f);
    ASSERT_EQ(refresh(&f, 100), 0);
    p = query(&f, TIPINDEX_FILTER_ALL);
    ASSERT_EQ(p->total, 7);
    for (size_t i = 0; i < p->n; i++)
        ASSERT(p->r[i].indexed);
    const struct tipindex_row *r = row_of(p, drugs.seq);
    ASSERT_STR_EQ(tipindex_verdict_name(r->verdict), "signed");
    ASSERT_EQ(r->category, CATEGORY_DRUGS);
    ASSERT_STR_EQ(r->language, "vi");
    ASSERT(r->has_text && !r->has_audio);
    ASSERT(r->seconds == 0);
    r = row_of(p, spoken.seq);
    ASSERT_STR_EQ(tipindex_verdict_name(r->verdict), "signed");
    ASSERT_EQ(r->category, CATEGORY_WEAPONS);
    ASSERT_STR_EQ(r->language, "hmn");
    ASSERT(r->has_audio && !r->has_text);
    ASSERT(r->seconds > 1.9 && r->seconds < 2.1);
    ASSERT_STR_EQ(tipindex_verdict_name(row_of(p, practice.seq)->verdict), "practice");
    r = row_of(p, cut.seq);
    ASSERT_STR_EQ(tipindex_verdict_name(r->verdict), "cut_short");
    ASSERT(r->has_audio);
    ASSERT_STR_EQ(tipindex_verdict_name(row_of(p, left.seq)->verdict), "unconfirmed");
    r = row_of(p, forged.seq);
    ASSERT_STR_EQ(tipindex_verdict_name(r->verdict), "refused");
    ASSERT(!r->has_text); /* withheld */
    r = row_of(p, stolen.seq);
    ASSERT_STR_EQ(tipindex_verdict_name(r->verdict), "refused");
    ASSERT_STR_EQ(r->kiosk, "na-co-sa-02");

    size_t total = 0, fresh = 0;
    set_status(&f, &drugs, POSTBOX_CHECKING);
    ASSERT_EQ(tipindex_counts(f.ix, f.c, &total, &fresh, err, sizeof err), 0);
    ASSERT_EQ(total, 7);
    ASSERT_EQ(fresh, 6);
    free(ogg.b);
    fx_done(&f);
}

TEST(test_tipindex_filters_and_pages_give_exactly_the_expected_rows)
{
    struct fx f;
    fx_init(&f);
    struct postbox_tip t[8];
    static const int cats[8] = {CATEGORY_DRUGS, CATEGORY_WEAPONS, CATEGORY_DRUGS, CATEGORY_BORDER,
                                CATEGORY_DRUGS, CATEGORY_THEFT,   CATEGORY_DRUGS, CATEGORY_OTHER};
    for (int i = 0; i < 8; i++) {
        char text[64];
        snprintf(text, sizeof text, "tin số %d", i + 1);
        t[i] = tip(&f,
                   &(struct tipspec){
                       .text = text, .category = cats[i], .dev = i % 3 == 2 ? f.dev2 : f.dev},
                   1000 * (i + 1));
    }
    /* One that came by mail late but happened earlier: arrival orders the list, not seq. */
    struct postbox_tip late = tip(&f, &(struct tipspec){.text = "thư đến muộn"}, 1500);
    set_status(&f, &t[1], POSTBOX_CHECKING);
    set_status(&f, &t[4], POSTBOX_CHECKING);
    set_status(&f, &t[6], POSTBOX_CLOSED);

    struct page *p = query(&f, TIPINDEX_FILTER_ALL);
    ASSERT_EQ(p->total, 9);
    ASSERT_STR_EQ(seqs(p), "8,7,6,5,4,3,2,9,1");

    struct tipindex_filter flt = TIPINDEX_FILTER_ALL;
    flt.status = POSTBOX_CHECKING;
    p = query(&f, flt);
    ASSERT_EQ(p->total, 2);
    ASSERT_STR_EQ(seqs(p), "5,2");
    ASSERT_EQ(p->r[0].t.status, POSTBOX_CHECKING);
    ASSERT_EQ(p->r[0].t.status_at, 9000);

    /* Status changed by other code: the next query shows it, with no call in between. */
    set_status(&f, &t[4], POSTBOX_ACTED);
    p = query(&f, flt);
    ASSERT_STR_EQ(seqs(p), "2");
    flt.status = POSTBOX_NEW;
    p = query(&f, flt);
    ASSERT_STR_EQ(seqs(p), "8,6,4,3,9,1");

    /* Arrival from/to, inclusive, either end open. */
    flt = TIPINDEX_FILTER_ALL;
    flt.from = 2000;
    flt.to = 5000;
    ASSERT_STR_EQ(seqs(query(&f, flt)), "5,4,3,2");
    flt.to = 0;
    flt.from = 7000;
    ASSERT_STR_EQ(seqs(query(&f, flt)), "8,7");
    flt.from = 0;
    flt.to = 1500;
    ASSERT_STR_EQ(seqs(query(&f, flt)), "9,1");

    /* By kiosk, locked too (the clear header names it). */
    flt = TIPINDEX_FILTER_ALL;
    flt.kiosk = "na-co-sa-02";
    ASSERT_STR_EQ(seqs(query(&f, flt)), "6,3");
    flt.kiosk = "na-co-sa";
    ASSERT_EQ(query(&f, flt)->total, 0); /* exact, not a prefix */

    /* A category needs the tip read: locked, none match. */
    flt = TIPINDEX_FILTER_ALL;
    flt.category = CATEGORY_DRUGS;
    ASSERT_EQ(query(&f, flt)->total, 0);
    fx_unlock(&f);
    ASSERT_EQ(refresh(&f, 100), 0);
    ASSERT_STR_EQ(seqs(query(&f, flt)), "7,5,3,1");
    flt.kiosk = "na-co-sa-01";
    ASSERT_STR_EQ(seqs(query(&f, flt)), "7,5,1");
    flt.kiosk = NULL;
    flt.status = POSTBOX_NEW;
    ASSERT_STR_EQ(seqs(query(&f, flt)), "3,1");

    /* Pages: total is every match, the rows only the page. */
    flt = TIPINDEX_FILTER_ALL;
    flt.offset = 2;
    flt.limit = 3;
    p = query(&f, flt);
    ASSERT_EQ(p->total, 9);
    ASSERT_STR_EQ(seqs(p), "6,5,4");
    flt.offset = 8;
    p = query(&f, flt);
    ASSERT_EQ(p->total, 9);
    ASSERT_STR_EQ(seqs(p), "1");
    flt.offset = 9;
    p = query(&f, flt);
    ASSERT_EQ(p->total, 9);
    ASSERT_EQ(p->n, 0);
    /* The caller's array bounds the page too. */
    struct tipindex_row two[2];
    size_t n = 0, total = 0;
    char err[512] = "";
    flt = TIPINDEX_FILTER_ALL;
    ASSERT_EQ(tipindex_query(f.ix, f.c, &flt, two, 2, &n, &total, err, sizeof err), 0);
    ASSERT_EQ(n, 2);
    ASSERT_EQ(total, 9);
    ASSERT_EQ(two[1].t.seq, 7);
    (void)late;
    fx_done(&f);
}

TEST(test_tipindex_search_finds_the_words_of_one_tip_and_is_refused_while_locked)
{
    struct fx f;
    fx_init(&f);
    struct postbox_tip a =
        tip(&f, &(struct tipspec){.text = "Có Người Lạ qua suối lúc 3 giờ sáng"}, 1000);
    struct postbox_tip b =
        tip(&f, &(struct tipspec){.text = "xe máy chở ngươi khác, biển số 24B1"}, 2000);
    struct postbox_tip c = tip(&f, &(struct tipspec){.text = "HÀNG LẬU ở chợ phiên"}, 3000);
    struct postbox_tip forged =
        tip(&f, &(struct tipspec){.text = "người lạ giả", .dev = f.stranger}, 4000);
    struct postbox_tip stolen =
        tip(&f, &(struct tipspec){.text = "kho hàng lậu", .dev = f.dev2}, 5000);

    struct tipindex_row rows[8];
    size_t n = 0, total = 0;
    char err[512] = "";
    struct tipindex_filter flt = TIPINDEX_FILTER_ALL;
    flt.q = "suối";
    ASSERT_EQ(tipindex_query(f.ix, f.c, &flt, rows, 8, &n, &total, err, sizeof err),
              TIPINDEX_E_LOCKED);
    ASSERT_CONTAINS(err, "needs the post key unlocked");

    fx_unlock(&f);
    ASSERT_EQ(refresh(&f, 100), 0);
    flt.q = "suối";
    ASSERT_STR_EQ(seqs(query(&f, flt)), "1");
    flt.q = "SUỐI";
    ASSERT_STR_EQ(seqs(query(&f, flt)), "1");
    /* Typed without diacritics: found with or without them. */
    flt.q = "nguoi la";
    ASSERT_STR_EQ(seqs(query(&f, flt)), "1");
    flt.q = "nguoi";
    ASSERT_STR_EQ(seqs(query(&f, flt)), "2,1");
    /* Typed with them: as typed (người is not ngươi). */
    flt.q = "người";
    ASSERT_STR_EQ(seqs(query(&f, flt)), "1");
    flt.q = "ngươi";
    ASSERT_STR_EQ(seqs(query(&f, flt)), "2");
    flt.q = "24b1";
    ASSERT_STR_EQ(seqs(query(&f, flt)), "2");
    flt.q = "hang lau";
    /* The revoked kiosk's tip read while it was enrolled... */
    ASSERT_STR_EQ(seqs(query(&f, flt)), "5,3");
    ASSERT_EQ(
        registry_revoke(console_registry(f.c), "na-co-sa-02", "stolen", 6000, err, sizeof err), 0);
    /* ...is not searched once revoked, nor is the forgery ever. */
    ASSERT_STR_EQ(seqs(query(&f, flt)), "3");
    flt.q = "giả";
    ASSERT_EQ(query(&f, flt)->total, 0);
    flt.q = "không có ở đâu";
    ASSERT_EQ(query(&f, flt)->total, 0);
    /* With another filter. */
    flt.q = "nguoi";
    flt.from = 1500;
    ASSERT_STR_EQ(seqs(query(&f, flt)), "2");
    (void)a;
    (void)b;
    (void)c;
    (void)forged;
    (void)stolen;
    fx_done(&f);
}

TEST(test_tipindex_db_never_holds_a_tips_text_or_facts)
{
    struct fx f;
    fx_init(&f);
    struct bytes ogg = make_ogg(1);
    tip(&f,
        &(struct tipspec){.text = "bimatxyz: người lạ mang súng qua bản Pa Vệ Sủ",
                          .category = CATEGORY_WEAPONS,
                          .language = "hmn"},
        1000);
    tip(&f,
        &(struct tipspec){
            .text = "thuốc phiện drugs ở nhà kho", .ogg = &ogg, .category = CATEGORY_DRUGS},
        2000);
    fx_unlock(&f);
    ASSERT_EQ(refresh(&f, 100), 0);
    struct page *p = query(&f, TIPINDEX_FILTER_ALL);
    ASSERT(p->r[0].indexed && p->r[1].indexed);
    /* Closed: the write-ahead log is folded into the file, as after a restart. */
    struct bytes open_files = index_files(&f);
    char path[4200];
    ASSERT_EQ(console_file(f.c, TIPINDEX_DB_NAME, path, sizeof path), 0);
    fx_close(&f);
    struct stat sb;
    ASSERT_EQ(stat(path, &sb), 0);
    ASSERT_EQ(sb.st_mode & 0777, 0600);
    fx_open(&f);
    struct bytes closed = index_files(&f);
    const char *secrets[] = {"bimatxyz", "người lạ", "súng", "Pa V",          "thuốc phiện",
                             "drugs",    "weapons",  "hmn",  "nh\xc3\xa0 kho"};
    for (size_t i = 0; i < sizeof secrets / sizeof *secrets; i++) {
        if (has_bytes(&open_files, secrets[i]) || has_bytes(&closed, secrets[i]))
            check_fail(__FILE__, __LINE__, "tipindex.db holds \"%s\"", secrets[i]);
    }
    /* The store works: both still read after a restart, without opening a tip again. */
    fx_unlock(&f);
    ASSERT_EQ(refresh(&f, 0), 0);
    p = query(&f, TIPINDEX_FILTER_ALL);
    ASSERT(p->r[0].indexed && p->r[1].indexed);
    ASSERT_EQ(p->r[1].category, CATEGORY_WEAPONS);
    free(open_files.b);
    free(closed.b);
    free(ogg.b);
    fx_done(&f);
}

TEST(test_tipindex_lock_wipes_what_was_read)
{
    struct fx f;
    fx_init(&f);
    tip(&f, &(struct tipspec){.text = "một", .category = CATEGORY_THEFT}, 1000);
    fx_unlock(&f);
    ASSERT_EQ(refresh(&f, 10), 0);
    struct page *p = query(&f, TIPINDEX_FILTER_ALL);
    ASSERT(p->r[0].indexed);
    ASSERT(tipindex_unlocked(f.ix));

    tipindex_lock(f.ix);
    ASSERT(!tipindex_unlocked(f.ix));
    p = query(&f, TIPINDEX_FILTER_ALL);
    ASSERT_EQ(p->total, 1);
    ASSERT(!p->r[0].indexed);
    ASSERT_EQ(p->r[0].category, -1);
    struct tipindex_filter flt = TIPINDEX_FILTER_ALL;
    flt.q = "một";
    struct tipindex_row r[2];
    size_t n = 0, total = 0;
    char err[512] = "";
    ASSERT_EQ(tipindex_query(f.ix, f.c, &flt, r, 2, &n, &total, err, sizeof err),
              TIPINDEX_E_LOCKED);

    /* Unlocked again: read from tipindex.db, no tip opened. */
    ASSERT_EQ(tipindex_unlock(f.ix, f.c, err, sizeof err), 0);
    ASSERT(query(&f, TIPINDEX_FILTER_ALL)->r[0].indexed);

    /* The post key locked elsewhere (console_lock): the list locks with it. */
    console_lock(f.c);
    p = query(&f, TIPINDEX_FILTER_ALL);
    ASSERT(!p->r[0].indexed);
    ASSERT(!tipindex_unlocked(f.ix));
    ASSERT_EQ(tipindex_unlock(f.ix, f.c, err, sizeof err), TIPINDEX_E_LOCKED);
    fx_done(&f);
}

TEST(test_tipindex_refresh_reads_a_bounded_number_newest_first)
{
    struct fx f;
    fx_init(&f);
    for (int i = 0; i < 5; i++)
        tip(&f, &(struct tipspec){.text = "tin", .category = CATEGORY_SMUGGLING}, 1000 + i);
    fx_unlock(&f);
    ASSERT_EQ(refresh(&f, 0), 5);
    ASSERT_EQ(refresh(&f, 2), 3);
    struct page *p = query(&f, TIPINDEX_FILTER_ALL);
    ASSERT_STR_EQ(seqs(p), "5,4,3,2,1");
    ASSERT(p->r[0].indexed && p->r[1].indexed);
    ASSERT(!p->r[2].indexed && !p->r[3].indexed && !p->r[4].indexed);
    ASSERT_EQ(refresh(&f, 2), 1);
    ASSERT_EQ(refresh(&f, 2), 0);
    ASSERT_EQ(refresh(&f, 2), 0);
    /* A tip arriving later is one more to read. */
    tip(&f, &(struct tipspec){.text = "mới"}, 2000);
    ASSERT_EQ(refresh(&f, 0), 1);
    ASSERT(!query(&f, TIPINDEX_FILTER_ALL)->r[0].indexed);
    ASSERT_EQ(refresh(&f, 1), 0);
    ASSERT(query(&f, TIPINDEX_FILTER_ALL)->r[0].indexed);
    fx_done(&f);
}

static void copy_file(const char *from_dir, const char *to_dir, const char *name)
{
    char a[4200], b[4200];
    snprintf(a, sizeof a, "%s/%s", from_dir, name);
    snprintf(b, sizeof b, "%s/%s", to_dir, name);
    size_t n = 0;
    uint8_t *bytes = check_slurp(a, &n);
    ASSERT(bytes);
    check_write_file(b, bytes, n);
    free(bytes);
}

TEST(test_tipindex_rows_that_do_not_open_are_read_again)
{
    struct fx f;
    fx_init(&f);
    for (int i = 0; i < 3; i++)
        tip(&f, &(struct tipspec){.text = "ba tin", .category = CATEGORY_BORDER}, 1000 + i);
    fx_unlock(&f);
    ASSERT_EQ(refresh(&f, 10), 0);
    char path[4200], err[512] = "";
    ASSERT_EQ(console_file(f.c, TIPINDEX_DB_NAME, path, sizeof path), 0);
    fx_close(&f);

    /* A damaged row (and one moved to another tip's seq): dropped, read again. */
    sqlite3 *db = NULL;
    ASSERT_EQ(sqlite3_open(path, &db), SQLITE_OK);
    ASSERT_EQ(sqlite3_exec(db,
                           "UPDATE tip SET facts = randomblob(length(facts)) WHERE seq = 2;"
                           "UPDATE tip SET facts = (SELECT facts FROM tip WHERE seq = 1) "
                           "WHERE seq = 3;",
                           NULL, NULL, NULL),
              SQLITE_OK);
    sqlite3_close(db);
    fx_open(&f);
    fx_unlock(&f);
    struct page *p = query(&f, TIPINDEX_FILTER_ALL);
    ASSERT_STR_EQ(seqs(p), "3,2,1");
    ASSERT(!p->r[0].indexed && !p->r[1].indexed && p->r[2].indexed);
    ASSERT_EQ(refresh(&f, 0), 2);
    ASSERT_EQ(refresh(&f, 10), 0);
    p = query(&f, TIPINDEX_FILTER_ALL);
    for (size_t i = 0; i < 3; i++) {
        ASSERT(p->r[i].indexed);
        ASSERT_EQ(p->r[i].category, CATEGORY_BORDER);
    }
    char other_post[4096];
    snprintf(other_post, sizeof other_post, "%s", f.post);
    fx_close(&f);

    /*
     * Another post key's tipindex.db: the same postbox and registry in a
     * folder with a post key of its own. No row opens; all are read again
     * (and the tips, sealed to the other key, come out refused).
     */
    keys_post_free(f.key);
    f.key = NULL;
    fx_post(&f, "other");
    copy_file(other_post, f.post, POSTBOX_DB_NAME);
    copy_file(other_post, f.post, TIPINDEX_DB_NAME);
    fx_open(&f);
    p = query(&f, TIPINDEX_FILTER_ALL);
    ASSERT_EQ(p->total, 3);
    fx_unlock(&f);
    ASSERT_EQ(refresh(&f, 0), 3);
    ASSERT_EQ(refresh(&f, 10), 0);
    p = query(&f, TIPINDEX_FILTER_ALL);
    for (size_t i = 0; i < 3; i++) {
        ASSERT(p->r[i].indexed);
        ASSERT_STR_EQ(tipindex_verdict_name(p->r[i].verdict), "refused");
    }
    (void)err;
    fx_done(&f);
}

TEST(test_tipindex_damaged_file_says_what_to_do)
{
    struct fx f;
    fx_init(&f);
    char path[4200], err[512] = "";
    ASSERT_EQ(console_file(f.c, TIPINDEX_DB_NAME, path, sizeof path), 0);
    tipindex_close(f.ix);
    f.ix = NULL;
    uint8_t junk[8192];
    randombytes_buf(junk, sizeof junk);
    check_write_file(path, junk, sizeof junk);
    struct tipindex *ix = NULL;
    int rc = tipindex_open(&ix, path, err, sizeof err);
    ASSERT_EQ(rc, TIPINDEX_E_DAMAGED);
    ASSERT(!ix);
    ASSERT_CONTAINS(err, path);
    ASSERT_CONTAINS(err, "is damaged");
    ASSERT_CONTAINS(err, "remove it");
    /* Removed as told: made again and filled from postbox.db. */
    tip(&f, &(struct tipspec){.text = "còn đây"}, 1000);
    ASSERT_EQ(unlink(path), 0);
    ASSERT_EQ(tipindex_open(&f.ix, path, err, sizeof err), 0);
    fx_unlock(&f);
    ASSERT_EQ(refresh(&f, 10), 0);
    ASSERT(query(&f, TIPINDEX_FILTER_ALL)->r[0].indexed);
    fx_done(&f);
}

TEST(test_tipindex_forgery_replaced_by_the_genuine_tip_is_read_again)
{
    struct fx f;
    fx_init(&f);
    uint8_t id[16];
    struct bytes good =
        make_tip(&f, &(struct tipspec){.text = "thật", .category = CATEGORY_THEFT}, id);
    struct bytes bad = {malloc(good.len), good.len};
    ASSERT(bad.b);
    memcpy(bad.b, good.b, good.len);
    bad.b[300] ^= 0x40; /* the same id, altered: refused by the outer check */
    struct postbox_tip t = store(&f, &bad, 1000);
    fx_unlock(&f);
    ASSERT_EQ(refresh(&f, 10), 0);
    struct page *p = query(&f, TIPINDEX_FILTER_ALL);
    ASSERT_STR_EQ(tipindex_verdict_name(p->r[0].verdict), "refused");

    char err[512] = "";
    int what = 0;
    ASSERT_EQ(postbox_add(console_postbox(f.c), good.b, good.len, POSTBOX_FROM_RELAY, 1100, 1200,
                          registry_device_check, console_registry(f.c), &what, err, sizeof err),
              0);
    ASSERT_EQ(what, POSTBOX_REPLACED);
    p = query(&f, TIPINDEX_FILTER_ALL);
    ASSERT_EQ(p->total, 1);
    ASSERT_EQ(p->r[0].t.seq, t.seq);
    ASSERT(!p->r[0].indexed); /* the forgery's facts are gone */
    ASSERT_STR_EQ(tipindex_verdict_name(p->r[0].verdict), "signed");
    ASSERT_EQ(refresh(&f, 10), 0);
    p = query(&f, TIPINDEX_FILTER_ALL);
    ASSERT(p->r[0].indexed);
    ASSERT_STR_EQ(tipindex_verdict_name(p->r[0].verdict), "signed");
    ASSERT_EQ(p->r[0].category, CATEGORY_THEFT);
    free(good.b);
    free(bad.b);
    fx_done(&f);
}
