/*
 * Tests for src/post/postbox.c: the post's store keeps envelopes as they came,
 * one per tip id, with status history; a forgery under a genuine tip's id
 * cannot push the genuine tip out, nor come first and keep it out.
 */
#include "check.h"
#include "core/envelope.h"
#include "post/postbox.h"

#include <ctype.h>
#include <sodium.h>
#include <sqlite3.h>
#include <stdlib.h>

struct membuf {
    uint8_t *b;
    size_t len;
};

static int mem_sink(void *ctx, enum envelope_piece kind, uint32_t index, const uint8_t *bytes,
                    size_t len)
{
    (void)kind;
    (void)index;
    struct membuf *m = ctx;
    uint8_t *b = realloc(m->b, m->len + len);
    if (!b)
        return -1;
    memcpy(b + m->len, bytes, len);
    m->b = b;
    m->len += len;
    return 0;
}

static uint8_t post_pk[32], post_sk[32], dev_pk[32], dev_sk[64], rogue_pk[32], rogue_sk[64];

static void keys(void)
{
    ASSERT(sodium_init() >= 0);
    crypto_box_keypair(post_pk, post_sk);
    crypto_sign_keypair(dev_pk, dev_sk);
    crypto_sign_keypair(rogue_pk, rogue_sk);
}

/* A sealed tip with `text`, signed by device_sk; its id into id. */
static struct membuf make_tip(const uint8_t *device_sk, const char *text, uint8_t id[16])
{
    struct membuf m = {0};
    struct envelope_writer *w;
    struct envelope_meta meta = {.language = "vi", .category = CATEGORY_THEFT};
    char err[256];
    ASSERT_EQ(envelope_writer_new(&w, post_pk, device_sk, &meta, mem_sink, &m, id, err, sizeof err),
              0);
    ASSERT_EQ(envelope_write_text(w, text, strlen(text)), 0);
    ASSERT_EQ(envelope_writer_finish(w, err, sizeof err), 0);
    envelope_writer_free(w);
    return m;
}

/* The registry, as far as these tests need it: only dev_pk is enrolled. */
static int only_dev(void *ctx, const uint8_t pk[32])
{
    (void)ctx;
    return memcmp(pk, dev_pk, 32) == 0 ? 0 : ENVELOPE_E_UNKNOWN_DEVICE;
}

static struct postbox *open_box(void)
{
    struct postbox *pb = NULL;
    char err[512] = "";
    if (postbox_open(&pb, check_path("postbox.db"), err, sizeof err))
        check_fail(__FILE__, __LINE__, "postbox_open: %s", err);
    return pb;
}

TEST(test_postbox_keeps_a_tip_sealed_and_finds_it_by_prefix)
{
    keys();
    uint8_t id[16];
    struct membuf m = make_tip(dev_sk, "hai người lạ", id);
    struct postbox *pb = open_box();
    int what = 0;
    char err[512];
    ASSERT_EQ(postbox_add(pb, m.b, m.len, POSTBOX_FROM_MAIL, 1000, 2000, only_dev, NULL, &what, err,
                          sizeof err),
              0);
    ASSERT_EQ(what, POSTBOX_ADDED);
    postbox_close(pb);

    /* Reopened: the bytes are exactly what arrived, and the text is nowhere in the file. */
    pb = open_box();
    char hex[33];
    sodium_bin2hex(hex, sizeof hex, id, 16);
    hex[6] = 0;
    struct postbox_tip t;
    ASSERT_EQ(postbox_find(pb, hex, &t, err, sizeof err), 0);
    ASSERT_MEM_EQ(t.id, id, 16);
    ASSERT_EQ(t.received, 1000);
    ASSERT_EQ(t.stored, 2000);
    ASSERT_EQ(t.outer, 0);
    ASSERT_EQ(t.status, POSTBOX_NEW);
    ASSERT_EQ(t.source, POSTBOX_FROM_MAIL);
    uint8_t *env;
    size_t len;
    ASSERT_EQ(postbox_envelope(pb, t.seq, &env, &len, err, sizeof err), 0);
    ASSERT_EQ(len, m.len);
    ASSERT_MEM_EQ(env, m.b, len);
    free(env);
    postbox_close(pb);
    size_t flen;
    uint8_t *file = check_slurp(check_path("postbox.db"), &flen);
    ASSERT(file);
    ASSERT(!memmem(file, flen, "người", strlen("người")));
    free(file);
    free(m.b);
}

TEST(test_postbox_ignores_the_same_tip_twice)
{
    keys();
    uint8_t id[16];
    struct membuf m = make_tip(dev_sk, "x", id);
    struct postbox *pb = open_box();
    int what;
    char err[512];
    ASSERT_EQ(postbox_add(pb, m.b, m.len, 1, 1, 1, only_dev, NULL, &what, err, sizeof err), 0);
    ASSERT_EQ(postbox_add(pb, m.b, m.len, 2, 5, 5, only_dev, NULL, &what, err, sizeof err), 0);
    ASSERT_EQ(what, POSTBOX_DUPLICATE);
    int n = 0;
    struct postbox_tip t;
    ASSERT_EQ(postbox_get(pb, id, &t), 0);
    ASSERT_EQ(t.received, 1); /* the first arrival's facts stay */
    (void)n;
    postbox_close(pb);
    free(m.b);
}

/* Copy the tip id of `from` into the header of `to` (its chunks then fail, which is the point). */
static void steal_id(struct membuf *to, const uint8_t id[16])
{
    memcpy(to->b + 8, id, 16);
}

TEST(test_postbox_a_forgery_under_a_held_id_is_refused)
{
    keys();
    uint8_t id[16], other[16];
    struct membuf real = make_tip(dev_sk, "real", id);
    struct membuf fake = make_tip(rogue_sk, "fake", other);
    steal_id(&fake, id);
    struct postbox *pb = open_box();
    int what;
    char err[512];
    ASSERT_EQ(postbox_add(pb, real.b, real.len, 1, 1, 1, only_dev, NULL, &what, err, sizeof err),
              0);
    ASSERT_EQ(postbox_add(pb, fake.b, fake.len, 2, 2, 2, only_dev, NULL, &what, err, sizeof err),
              0);
    ASSERT_EQ(what, POSTBOX_KEPT);
    struct postbox_tip t;
    uint8_t *env;
    size_t len;
    ASSERT_EQ(postbox_get(pb, id, &t), 0);
    ASSERT_EQ(postbox_envelope(pb, t.seq, &env, &len, err, sizeof err), 0);
    ASSERT(len == real.len && memcmp(env, real.b, len) == 0);
    free(env);
    postbox_close(pb);
    free(real.b);
    free(fake.b);
}

TEST(test_postbox_a_forgery_that_came_first_gives_way_to_the_genuine_tip)
{
    keys();
    uint8_t id[16], other[16];
    struct membuf real = make_tip(dev_sk, "real", id);
    struct membuf fake = make_tip(rogue_sk, "fake", other);
    steal_id(&fake, id);
    struct postbox *pb = open_box();
    int what;
    char err[512];
    ASSERT_EQ(postbox_add(pb, fake.b, fake.len, 2, 2, 2, only_dev, NULL, &what, err, sizeof err),
              0);
    ASSERT_EQ(what, POSTBOX_ADDED);
    struct postbox_tip t;
    ASSERT_EQ(postbox_get(pb, id, &t), 0);
    ASSERT(t.outer != 0);
    ASSERT_EQ(postbox_add(pb, real.b, real.len, 1, 1, 1, only_dev, NULL, &what, err, sizeof err),
              0);
    ASSERT_EQ(what, POSTBOX_REPLACED);
    ASSERT_EQ(postbox_get(pb, id, &t), 0);
    ASSERT_EQ(t.outer, 0);
    ASSERT_EQ(t.bytes, real.len);
    postbox_close(pb);
    free(real.b);
    free(fake.b);
}

TEST(test_postbox_refuses_what_is_not_an_envelope)
{
    keys();
    struct postbox *pb = open_box();
    int what = 9;
    char err[512] = "";
    ASSERT_EQ(postbox_add(pb, (const uint8_t *)"hello world", 11, 1, 1, 1, NULL, NULL, &what, err,
                          sizeof err),
              POSTBOX_E_ENVELOPE);
    ASSERT_EQ(what, 0);
    ASSERT_CONTAINS(err, "not stored: ");
    postbox_close(pb);
}

static int collect(void *ctx, const struct postbox_event *e)
{
    char *out = ctx;
    size_t n = strlen(out);
    snprintf(out + n, 512 - n, "%s:%.*s;", postbox_status_name(e->status), (int)e->note_len,
             (const char *)e->note);
    return 0;
}

TEST(test_postbox_keeps_every_status_change_with_its_note)
{
    keys();
    uint8_t id[16];
    struct membuf m = make_tip(dev_sk, "x", id);
    struct postbox *pb = open_box();
    int what;
    char err[512];
    ASSERT_EQ(postbox_add(pb, m.b, m.len, 1, 1, 1, NULL, NULL, &what, err, sizeof err), 0);
    struct postbox_tip t;
    ASSERT_EQ(postbox_get(pb, id, &t), 0);
    ASSERT_EQ(postbox_set_status(pb, t.seq, POSTBOX_CHECKING, (const uint8_t *)"a", 1, 10, err,
                                 sizeof err),
              0);
    ASSERT_EQ(
        postbox_set_status(pb, t.seq, POSTBOX_ACTED, (const uint8_t *)"bb", 2, 20, err, sizeof err),
        0);
    ASSERT_EQ(postbox_set_status(pb, t.seq, 9, NULL, 0, 30, err, sizeof err), POSTBOX_E_ARG);
    ASSERT_CONTAINS(err, "use new, checking, acted, false or closed");
    ASSERT_EQ(postbox_set_status(pb, t.seq + 100, POSTBOX_CLOSED, NULL, 0, 30, err, sizeof err),
              POSTBOX_E_NOTFOUND);
    ASSERT_EQ(postbox_get(pb, id, &t), 0);
    ASSERT_EQ(t.status, POSTBOX_ACTED);
    ASSERT_EQ(t.status_at, 20);
    char hist[512] = "";
    ASSERT_EQ(postbox_history(pb, t.seq, collect, hist, err, sizeof err), 0);
    ASSERT_STR_EQ(hist, "checking:a;acted:bb;");
    ASSERT_EQ(postbox_status_parse("false"), POSTBOX_FALSE);
    ASSERT_EQ(postbox_status_parse("done"), -1);
    postbox_close(pb);
    free(m.b);
}

TEST(test_postbox_a_prefix_must_be_hex_and_unique)
{
    keys();
    struct postbox *pb = open_box();
    char err[512] = "";
    struct postbox_tip t;
    ASSERT_EQ(postbox_find(pb, "abc", &t, err, sizeof err), POSTBOX_E_ARG);
    ASSERT_CONTAINS(err, "give at least 4 of its hex digits");
    ASSERT_EQ(postbox_find(pb, "ab%_", &t, err, sizeof err), POSTBOX_E_ARG);
    ASSERT_EQ(postbox_find(pb, "abcd", &t, err, sizeof err), POSTBOX_E_NOTFOUND);
    ASSERT_CONTAINS(err, "no tip here has an id starting with abcd");
    /* Two tips whose ids share a 4-digit start: made until they do (1 in 65536 each; cap it). */
    int what;
    uint8_t first[16] = {0};
    int found = 0;
    for (int i = 0; i < 400 && !found; i++) {
        uint8_t id[16];
        struct membuf m = make_tip(dev_sk, "x", id);
        m.b[8] = 0xab; /* force the prefix: the outer check fails, the store does not care */
        m.b[9] = 0xcd;
        ASSERT_EQ(postbox_add(pb, m.b, m.len, 1, i, i, NULL, NULL, &what, err, sizeof err), 0);
        if (i == 0)
            memcpy(first, m.b + 8, 16);
        else
            found = 1;
        free(m.b);
    }
    ASSERT_EQ(postbox_find(pb, "ABCD", &t, err, sizeof err), POSTBOX_E_AMBIGUOUS);
    ASSERT_CONTAINS(err, "give more digits of the id");
    char hex[33];
    sodium_bin2hex(hex, sizeof hex, first, 16);
    ASSERT_EQ(postbox_find(pb, hex, &t, err, sizeof err), 0);
    ASSERT_MEM_EQ(t.id, first, 16);
    /* An odd number of digits, upper case: the same tip, or a clear miss. */
    char part[8];
    snprintf(part, sizeof part, "%.7s", hex);
    for (char *p = part; *p; p++)
        *p = (char)toupper((unsigned char)*p);
    ASSERT_EQ(postbox_find(pb, part, &t, err, sizeof err), 0);
    ASSERT_MEM_EQ(t.id, first, 16);
    part[6] = part[6] == '0' ? '1' : '0';
    ASSERT_EQ(postbox_find(pb, part, &t, err, sizeof err), POSTBOX_E_NOTFOUND);
    postbox_close(pb);
}

TEST(test_postbox_remembers_settings)
{
    struct postbox *pb = open_box();
    char v[64], err[256];
    ASSERT_EQ(postbox_get_setting(pb, "relay_cursor x", v, sizeof v), 0);
    ASSERT_STR_EQ(v, "");
    ASSERT_EQ(postbox_set_setting(pb, "relay_cursor x", "42", err, sizeof err), 0);
    ASSERT_EQ(postbox_set_setting(pb, "relay_cursor x", "43", err, sizeof err), 0);
    postbox_close(pb);
    pb = open_box();
    ASSERT_EQ(postbox_get_setting(pb, "relay_cursor x", v, sizeof v), 0);
    ASSERT_STR_EQ(v, "43");
    postbox_close(pb);
}

TEST(test_postbox_refuses_a_newer_schema_and_a_foreign_file)
{
    sqlite3 *db;
    ASSERT_EQ(sqlite3_open(check_path("postbox.db"), &db), SQLITE_OK);
    ASSERT_EQ(sqlite3_exec(db, "PRAGMA user_version = 7", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
    struct postbox *pb = NULL;
    char err[512] = "";
    ASSERT_EQ(postbox_open(&pb, check_path("postbox.db"), err, sizeof err), POSTBOX_E_SCHEMA);
    ASSERT_CONTAINS(err, "update homthu-post");
    check_write_file(check_path("junk.db"), "this is not sqlite, not at all, no", 34);
    ASSERT(postbox_open(&pb, check_path("junk.db"), err, sizeof err) != 0);
    ASSERT(pb == NULL);
}
