/* Tests for src/core/envelope.c: round trips and every refusal, with its message. */
#include "check.h"
#include "core/envelope.h"

#include <sodium.h>
#include <stdlib.h>

struct buf {
    uint8_t *b;
    size_t len, cap;
    int fail_after; /* refuse pieces after this many, -1 never */
    int pieces;
};

static void buf_add(struct buf *x, const uint8_t *b, size_t len)
{
    if (x->len + len > x->cap) {
        x->cap = (x->len + len) * 2;
        x->b = realloc(x->b, x->cap);
        ASSERT(x->b);
    }
    memcpy(x->b + x->len, b, len);
    x->len += len;
}

static int sink(void *ctx, enum envelope_piece kind, uint32_t index, const uint8_t *b, size_t len)
{
    struct buf *x = ctx;
    (void)kind;
    (void)index;
    if (x->fail_after >= 0 && x->pieces >= x->fail_after)
        return -1;
    x->pieces++;
    buf_add(x, b, len);
    return 0;
}

struct keys {
    struct envelope_post_key post;
    uint8_t dev_pk[32], dev_sk[64];
};

static void make_keys(struct keys *k, uint8_t seed)
{
    uint8_t s[32];
    ASSERT(sodium_init() >= 0);
    memset(s, seed, sizeof s);
    crypto_box_seed_keypair(k->post.pk, k->post.sk, s);
    s[0] ^= 0x55;
    crypto_sign_seed_keypair(k->dev_pk, k->dev_sk, s);
}

static struct envelope_meta meta_vi(void)
{
    struct envelope_meta m = {.language = "vi",
                              .category = CATEGORY_DRUGS,
                              .capture_day = 2160,
                              .training = 0,
                              .codec = CODEC_OGG_OPUS,
                              .when = WHEN_YESTERDAY};
    return m;
}

/* Fake "audio": deterministic bytes, enough to span several chunks. */
static void fake_audio(uint8_t *a, size_t n)
{
    uint32_t x = 12345;
    for (size_t i = 0; i < n; i++) {
        x = x * 1103515245u + 12345u;
        a[i] = (uint8_t)(x >> 16);
    }
}

#define AUDIO_LEN 30000
static const char text_vi[] = "Có người lạ mang hàng qua suối lúc nửa đêm.";

/* A complete envelope with text and AUDIO_LEN bytes of audio in 1000-byte records. */
static struct buf make_envelope(const struct keys *k, uint8_t *audio)
{
    struct buf x = {.fail_after = -1};
    struct envelope_writer *w = NULL;
    struct envelope_meta m = meta_vi();
    char err[256];
    fake_audio(audio, AUDIO_LEN);
    ASSERT_EQ(envelope_writer_new(&w, k->post.pk, k->dev_sk, &m, sink, &x, NULL, err, sizeof err),
              0);
    for (size_t off = 0; off < AUDIO_LEN; off += 1000)
        ASSERT_EQ(envelope_write_audio(w, audio + off, 1000), 0);
    ASSERT_EQ(envelope_write_text(w, text_vi, strlen(text_vi)), 0);
    ASSERT_EQ(envelope_write_when(w, WHEN_THIS_WEEK), 0);
    ASSERT_EQ(envelope_writer_finish(w, err, sizeof err), 0);
    envelope_writer_free(w);
    return x;
}

struct got {
    struct envelope_meta meta;
    int metas;
    char text[512];
    size_t text_len;
    struct buf audio;
    int when;
    int category, categories; /* from CATEGORY records */
};

static void on_category(void *ctx, uint8_t c)
{
    struct got *g = ctx;
    g->category = c;
    g->categories++;
}

static void on_when(void *ctx, uint8_t when)
{
    struct got *g = ctx;
    g->when = when;
}

static void on_meta(void *ctx, const struct envelope_meta *m)
{
    struct got *g = ctx;
    g->meta = *m;
    g->metas++;
}

static void on_text(void *ctx, const uint8_t *t, size_t len)
{
    struct got *g = ctx;
    ASSERT(g->text_len + len < sizeof g->text);
    memcpy(g->text + g->text_len, t, len);
    g->text_len += len;
}

static void on_audio(void *ctx, const uint8_t *a, size_t len)
{
    struct got *g = ctx;
    buf_add(&g->audio, a, len);
}

struct devices {
    uint8_t known[32];
    uint8_t revoked[32];
};

static int device_check(void *ctx, const uint8_t pk[32])
{
    struct devices *d = ctx;
    if (memcmp(pk, d->revoked, 32) == 0)
        return ENVELOPE_E_REVOKED_DEVICE;
    if (memcmp(pk, d->known, 32) == 0)
        return 0;
    return ENVELOPE_E_UNKNOWN_DEVICE;
}

/* Read `b` fed in slices of `slice` bytes; returns the verdict, err filled. */
static int read_env(const struct envelope_post_key *key, const uint8_t *b, size_t len, size_t slice,
                    struct got *g, struct devices *devs, uint64_t max, char *err, size_t errlen)
{
    struct envelope_reader *r = NULL;
    struct envelope_reader_opts o = {
        .keys = key,
        .nkeys = 1,
        .max_bytes = max,
        .device_check = devs ? device_check : NULL,
        .device_ctx = devs,
        .records = {.meta = on_meta, .text = on_text, .audio = on_audio, .when = on_when, .ctx = g,
                    .category = on_category},
    };
    memset(g, 0, sizeof *g);
    ASSERT_EQ(envelope_reader_new(&r, &o), 0);
    int rc = 0;
    err[0] = 0;
    for (size_t off = 0; off < len && rc == 0; off += slice) {
        size_t n = len - off < slice ? len - off : slice;
        rc = envelope_reader_feed(r, b + off, n, err, errlen);
    }
    if (rc == 0)
        rc = envelope_reader_finish(r, err, errlen);
    envelope_reader_free(r);
    return rc;
}

static size_t chunk_off(uint32_t i)
{
    return ENVELOPE_HEADER_BYTES + (size_t)i * ENVELOPE_CHUNK_CIPHER;
}

TEST(test_envelope_round_trip_gives_back_text_audio_and_metadata)
{
    struct keys k;
    uint8_t audio[AUDIO_LEN];
    make_keys(&k, 1);
    struct buf x = make_envelope(&k, audio);
    static const size_t slices[] = {1, 7, 4113, 100000};
    for (size_t i = 0; i < sizeof slices / sizeof *slices; i++) {
        struct got g;
        char err[256];
        ASSERT_EQ(read_env(&k.post, x.b, x.len, slices[i], &g, NULL, 0, err, sizeof err), 0);
        ASSERT_EQ(g.metas, 1);
        ASSERT_STR_EQ(g.meta.language, "vi");
        ASSERT_EQ(g.meta.category, CATEGORY_DRUGS);
        ASSERT_EQ(g.meta.capture_day, 2160);
        ASSERT_EQ(g.meta.when, WHEN_YESTERDAY);
        ASSERT_EQ(g.meta.codec, CODEC_OGG_OPUS);
        ASSERT_EQ(g.when, WHEN_THIS_WEEK);
        ASSERT_EQ(g.text_len, strlen(text_vi));
        ASSERT_MEM_EQ(g.text, text_vi, g.text_len);
        ASSERT_EQ(g.audio.len, AUDIO_LEN);
        ASSERT_MEM_EQ(g.audio.b, audio, AUDIO_LEN);
        free(g.audio.b);
    }
    free(x.b);
}

TEST(test_envelope_length_is_a_size_bucket_and_hides_the_text)
{
    struct keys k;
    uint8_t audio[AUDIO_LEN];
    make_keys(&k, 2);
    struct buf x = make_envelope(&k, audio);
    size_t body = x.len - ENVELOPE_HEADER_BYTES - ENVELOPE_TRAILER_BYTES;
    ASSERT_EQ(body % ENVELOPE_CHUNK_CIPHER, 0);
    ASSERT_EQ(body / ENVELOPE_CHUNK_CIPHER, ENVELOPE_MIN_CHUNKS); /* 30 KB fits the floor */
    ASSERT(!memmem(x.b, x.len, "suối", strlen("suối")));
    ASSERT(!memmem(x.b, x.len, audio + 5000, 64));

    /* A one-word tip and a 30 KB tip are the same size on the wire. */
    struct buf y = {.fail_after = -1};
    struct envelope_writer *w;
    struct envelope_meta m = meta_vi();
    char err[256];
    ASSERT_EQ(envelope_writer_new(&w, k.post.pk, k.dev_sk, &m, sink, &y, NULL, err, sizeof err), 0);
    ASSERT_EQ(envelope_write_text(w, "ma túy", strlen("ma túy")), 0);
    ASSERT_EQ(envelope_writer_finish(w, err, sizeof err), 0);
    envelope_writer_free(w);
    ASSERT_EQ(y.len, x.len);
    free(x.b);
    free(y.b);
}

TEST(test_envelope_large_tip_pads_at_most_an_eighth)
{
    struct keys k;
    make_keys(&k, 3);
    struct buf x = {.fail_after = -1};
    struct envelope_writer *w;
    struct envelope_meta m = meta_vi();
    char err[256];
    size_t n = 270000; /* ~3 minutes at 12 kbps */
    uint8_t *a = malloc(n);
    fake_audio(a, n);
    ASSERT_EQ(envelope_writer_new(&w, k.post.pk, k.dev_sk, &m, sink, &x, NULL, err, sizeof err), 0);
    ASSERT_EQ(envelope_write_audio(w, a, n), 0);
    ASSERT_EQ(envelope_writer_finish(w, err, sizeof err), 0);
    ASSERT_EQ(envelope_writer_bytes(w), x.len);
    envelope_writer_free(w);
    ASSERT(x.len > n);
    ASSERT(x.len < n + n / 8 + ENVELOPE_HEADER_BYTES + ENVELOPE_TRAILER_BYTES);
    struct got g;
    ASSERT_EQ(read_env(&k.post, x.b, x.len, 65536, &g, NULL, 0, err, sizeof err), 0);
    ASSERT_EQ(g.audio.len, n);
    ASSERT_MEM_EQ(g.audio.b, a, n);
    free(g.audio.b);
    free(a);
    free(x.b);
}

static void expect(const struct envelope_post_key *key, const uint8_t *b, size_t len, int code,
                   const char *msg)
{
    struct got g;
    char err[512];
    int rc = read_env(key, b, len, 1000, &g, NULL, 0, err, sizeof err);
    free(g.audio.b);
    if (rc != code)
        check_fail(__FILE__, __LINE__, "expected %s, got %s: %s", envelope_strerror(code),
                   envelope_strerror(rc), err);
    ASSERT_CONTAINS(err, msg);
}

TEST(test_envelope_refuses_another_post_key_by_its_id)
{
    struct keys k, other;
    uint8_t audio[AUDIO_LEN];
    make_keys(&k, 4);
    make_keys(&other, 5);
    struct buf x = make_envelope(&k, audio);
    char id[17];
    uint8_t raw[8];
    envelope_post_key_id(k.post.pk, raw);
    for (int i = 0; i < 8; i++)
        snprintf(id + 2 * i, 3, "%02x", raw[i]);
    expect(&other.post, x.b, x.len, ENVELOPE_E_KEY_ID, "sealed to post key ");
    expect(&other.post, x.b, x.len, ENVELOPE_E_KEY_ID, id);
    free(x.b);
}

TEST(test_envelope_refuses_a_wrong_private_key_with_a_matching_id)
{
    struct keys k, other;
    uint8_t audio[AUDIO_LEN];
    make_keys(&k, 6);
    make_keys(&other, 7);
    struct buf x = make_envelope(&k, audio);
    /* Same public key (so the id matches), wrong secret: a damaged key file. */
    struct envelope_post_key bad = other.post;
    memcpy(bad.pk, k.post.pk, 32);
    expect(&bad, x.b, x.len, ENVELOPE_E_WRONG_KEY, "wrong post key");
    free(x.b);
}

TEST(test_envelope_refuses_a_tampered_chunk_header_or_trailer)
{
    struct keys k;
    uint8_t audio[AUDIO_LEN];
    make_keys(&k, 8);
    struct buf x = make_envelope(&k, audio);
    x.b[chunk_off(3) + 100] ^= 1;
    expect(&k.post, x.b, x.len, ENVELOPE_E_TAMPERED, "tampered: chunk 3 fails authentication");
    x.b[chunk_off(3) + 100] ^= 1;

    x.b[10] ^= 0x80; /* the tip id, bound to every chunk */
    expect(&k.post, x.b, x.len, ENVELOPE_E_TAMPERED, "tampered: chunk 0 fails authentication");
    x.b[10] ^= 0x80;

    x.b[x.len - 5] ^= 1; /* the trailer's signature */
    expect(&k.post, x.b, x.len, ENVELOPE_E_SIGNATURE,
           "bad signature: the kiosk's signature over the envelope does not verify");
    x.b[x.len - 5] ^= 1;
    expect(&k.post, x.b, x.len, 0, "");
    free(x.b);
}

TEST(test_envelope_tells_truncation_in_transit_and_recovers_what_came_before)
{
    struct keys k;
    uint8_t audio[AUDIO_LEN];
    make_keys(&k, 9);
    struct buf x = make_envelope(&k, audio);
    /* Cut inside chunk 5: chunks 0-4 hold 20480 plaintext bytes. */
    size_t cut = chunk_off(5) + 300;
    struct got g;
    char err[512];
    ASSERT_EQ(read_env(&k.post, x.b, cut, 999, &g, NULL, 0, err, sizeof err), ENVELOPE_E_TRUNCATED);
    ASSERT_CONTAINS(err, "truncated: the envelope ends after 5 chunks and part of another");
    ASSERT_CONTAINS(err, "cannot be attributed to the kiosk");
    ASSERT_EQ(g.metas, 1);
    ASSERT(g.audio.len > 19000);
    ASSERT_MEM_EQ(g.audio.b, audio, g.audio.len);
    free(g.audio.b);

    /* Cut on a chunk boundary, the end marker dropped. */
    expect(&k.post, x.b, x.len - ENVELOPE_TRAILER_BYTES, ENVELOPE_E_TRUNCATED,
           "truncated: the envelope's end marker is missing");
    /* Last chunk and trailer dropped. */
    expect(&k.post, x.b, chunk_off(7), ENVELOPE_E_TRUNCATED, "ends after 7 chunks without");
    expect(&k.post, x.b, 100, ENVELOPE_E_TRUNCATED, "shorter than the 176-byte envelope header");
    free(x.b);
}

static const uint8_t *get_chunk(void *ctx, uint32_t i)
{
    return (const uint8_t *)ctx + chunk_off(i);
}

TEST(test_envelope_cut_short_by_power_loss_is_told_apart_and_recovered)
{
    struct keys k, thief;
    make_keys(&k, 10);
    make_keys(&thief, 11);
    struct buf x = {.fail_after = -1};
    struct envelope_writer *w;
    struct envelope_meta m = meta_vi();
    char err[512];
    uint8_t a[20000];
    fake_audio(a, sizeof a);
    ASSERT_EQ(envelope_writer_new(&w, k.post.pk, k.dev_sk, &m, sink, &x, NULL, err, sizeof err), 0);
    ASSERT_EQ(envelope_write_audio(w, a, sizeof a), 0);
    envelope_writer_free(w); /* the power goes: never finished */
    uint32_t chunks = (uint32_t)((x.len - ENVELOPE_HEADER_BYTES) / ENVELOPE_CHUNK_CIPHER);
    ASSERT_EQ(chunks, 4); /* 20026 bytes of records: 4 full chunks out, the 5th lost */

    uint8_t t[ENVELOPE_TRAILER_BYTES];
    /* Only the kiosk that made the tip may seal it. */
    ASSERT_EQ(envelope_trailer_cut_short(x.b, chunks, get_chunk, x.b, thief.dev_sk, t),
              ENVELOPE_E_ARG);
    ASSERT_EQ(envelope_trailer_cut_short(x.b, chunks, get_chunk, x.b, k.dev_sk, t), 0);
    buf_add(&x, t, sizeof t);

    struct got g;
    ASSERT_EQ(read_env(&k.post, x.b, x.len, 333, &g, NULL, 0, err, sizeof err),
              ENVELOPE_E_CUT_SHORT);
    ASSERT_CONTAINS(err, "cut short: the kiosk lost power while this tip was being recorded");
    ASSERT_CONTAINS(err, "the first 4 chunks");
    ASSERT_EQ(g.metas, 1);
    ASSERT_EQ(g.audio.len, 4 * ENVELOPE_CHUNK_PLAIN - 5 - 16 - 5);
    ASSERT_MEM_EQ(g.audio.b, a, g.audio.len);
    free(g.audio.b);

    /* The relay accepts it as genuine too, and names it. */
    ASSERT_EQ(envelope_verify_outer(x.b, x.len, NULL, NULL, 0, err, sizeof err),
              ENVELOPE_E_CUT_SHORT);

    /* A chunk dropped before the cut marker is not a power loss. */
    memmove(x.b + chunk_off(3), x.b + chunk_off(4), ENVELOPE_TRAILER_BYTES);
    expect(&k.post, x.b, x.len - ENVELOPE_CHUNK_CIPHER, ENVELOPE_E_TRUNCATED,
           "the end marker counts 4 chunks but 3 are present");
    free(x.b);
}

TEST(test_envelope_refuses_reordered_and_duplicated_chunks)
{
    struct keys k;
    uint8_t audio[AUDIO_LEN];
    uint8_t tmp[ENVELOPE_CHUNK_CIPHER];
    make_keys(&k, 12);
    struct buf x = make_envelope(&k, audio);
    memcpy(tmp, x.b + chunk_off(2), sizeof tmp);
    memcpy(x.b + chunk_off(2), x.b + chunk_off(3), sizeof tmp);
    memcpy(x.b + chunk_off(3), tmp, sizeof tmp);
    expect(&k.post, x.b, x.len, ENVELOPE_E_REORDERED,
           "reordered chunks: the chunk at position 2 belongs after the one at position 3");
    memcpy(x.b + chunk_off(3), x.b + chunk_off(2), sizeof tmp);
    memcpy(x.b + chunk_off(2), tmp, sizeof tmp);
    expect(&k.post, x.b, x.len, 0, "");

    /* Chunk 1 moved three places later. */
    struct buf y = {.fail_after = -1};
    buf_add(&y, x.b, chunk_off(1));
    buf_add(&y, x.b + chunk_off(2), 3 * ENVELOPE_CHUNK_CIPHER);
    buf_add(&y, x.b + chunk_off(1), ENVELOPE_CHUNK_CIPHER);
    buf_add(&y, x.b + chunk_off(5), x.len - chunk_off(5));
    expect(&k.post, y.b, y.len, ENVELOPE_E_REORDERED,
           "the chunk at position 1 belongs after the one at position 4");

    memcpy(x.b + chunk_off(4), x.b + chunk_off(2), ENVELOPE_CHUNK_CIPHER);
    expect(&k.post, x.b, x.len, ENVELOPE_E_DUPLICATED, "duplicated chunk: chunk 4 repeats chunk 2");
    ASSERT_EQ(envelope_verify_outer(x.b, x.len, NULL, NULL, 0, NULL, 0), ENVELOPE_E_DUPLICATED);
    free(x.b);
    free(y.b);
}

TEST(test_envelope_refuses_unknown_and_revoked_devices)
{
    struct keys k, other;
    uint8_t audio[AUDIO_LEN];
    make_keys(&k, 13);
    make_keys(&other, 14);
    struct buf x = make_envelope(&k, audio);
    struct devices d;
    struct got g;
    char err[512];
    memcpy(d.known, other.dev_pk, 32);
    memcpy(d.revoked, other.dev_pk, 32);
    d.revoked[0] ^= 1;
    ASSERT_EQ(read_env(&k.post, x.b, x.len, 4096, &g, &d, 0, err, sizeof err),
              ENVELOPE_E_UNKNOWN_DEVICE);
    ASSERT_CONTAINS(err, "unknown device: kiosk key ");
    ASSERT_CONTAINS(err, "is not enrolled at this post");
    ASSERT_EQ(g.metas, 0); /* refused before anything is decrypted */
    ASSERT_EQ(envelope_verify_outer(x.b, x.len, device_check, &d, 0, err, sizeof err),
              ENVELOPE_E_UNKNOWN_DEVICE);

    memcpy(d.revoked, k.dev_pk, 32);
    ASSERT_EQ(read_env(&k.post, x.b, x.len, 4096, &g, &d, 0, err, sizeof err),
              ENVELOPE_E_REVOKED_DEVICE);
    ASSERT_CONTAINS(err, "was revoked");

    memcpy(d.known, k.dev_pk, 32);
    memset(d.revoked, 0, 32);
    ASSERT_EQ(read_env(&k.post, x.b, x.len, 4096, &g, &d, 0, err, sizeof err), 0);
    free(g.audio.b);
    ASSERT_EQ(envelope_verify_outer(x.b, x.len, device_check, &d, 0, err, sizeof err), 0);
    free(x.b);
}

TEST(test_envelope_refuses_trailing_bytes_unknown_version_oversize_and_garbage)
{
    struct keys k;
    uint8_t audio[AUDIO_LEN];
    make_keys(&k, 15);
    struct buf x = make_envelope(&k, audio);
    size_t len = x.len;
    uint8_t extra[5000];
    memset(extra, 0xab, sizeof extra);
    buf_add(&x, extra, sizeof extra);
    expect(&k.post, x.b, len + 1, ENVELOPE_E_TRAILING, "trailing bytes");
    expect(&k.post, x.b, len + 5000, ENVELOPE_E_TRAILING, "trailing bytes");
    ASSERT_EQ(envelope_verify_outer(x.b, len + 1, NULL, NULL, 0, NULL, 0), ENVELOPE_E_TRAILING);
    ASSERT_EQ(envelope_verify_outer(x.b, len + 5000, NULL, NULL, 0, NULL, 0), ENVELOPE_E_TRAILING);
    ASSERT_EQ(envelope_verify_outer(x.b, len, NULL, NULL, 0, NULL, 0), 0);

    ASSERT_EQ(x.b[6], 2); /* writers make version 2 */
    x.b[6] = 3;
    expect(&k.post, x.b, len, ENVELOPE_E_VERSION,
           "unknown envelope version 3 (this software reads versions 1 to 2)");
    ASSERT_EQ(envelope_verify_outer(x.b, len, NULL, NULL, 0, NULL, 0), ENVELOPE_E_VERSION);
    x.b[6] = 2;

    struct got g;
    char err[512];
    ASSERT_EQ(read_env(&k.post, x.b, len, 4096, &g, NULL, 20000, err, sizeof err),
              ENVELOPE_E_OVERSIZE);
    ASSERT_CONTAINS(err, "oversize: more than 20000 bytes");
    free(g.audio.b);
    ASSERT_EQ(envelope_verify_outer(x.b, len, NULL, NULL, 20000, err, sizeof err),
              ENVELOPE_E_OVERSIZE);

    expect(&k.post, (const uint8_t *)"OggS\0\2garbage", 13, ENVELOPE_E_MAGIC,
           "not a Hòm thư envelope");
    expect(&k.post, (const uint8_t *)"", 0, ENVELOPE_E_TRUNCATED,
           "truncated: 0 bytes, shorter than the 176-byte envelope header");
    free(x.b);
}

TEST(test_envelope_record_parser_checks_the_inner_signature_and_structure)
{
    struct keys k;
    make_keys(&k, 16);
    uint8_t header[ENVELOPE_HEADER_BYTES] = {0};
    memcpy(header + 32, k.dev_pk, 32);
    uint8_t s[5 + 16 + 5 + 64] = {RECORD_META, 16, 0, 0, 0, 1, 'v', 'i'};
    s[21] = RECORD_SIG;
    s[22] = 64;
    char err[256];
    ASSERT_EQ(envelope_parse_records(s, sizeof s, header, NULL, err, sizeof err),
              ENVELOPE_E_SIGNATURE);
    ASSERT_CONTAINS(err, "bad signature: the kiosk's signature inside the tip does not verify");

    /* The same stream signed by the device key verifies. */
    crypto_sign_state st;
    crypto_sign_init(&st);
    crypto_sign_update(&st, header, sizeof header);
    crypto_sign_update(&st, s, 21);
    crypto_sign_final_create(&st, s + 26, NULL, k.dev_sk);
    ASSERT_EQ(envelope_parse_records(s, sizeof s, header, NULL, err, sizeof err), 0);

    s[0] = RECORD_TEXT;
    ASSERT_EQ(envelope_parse_records(s, sizeof s, header, NULL, err, sizeof err),
              ENVELOPE_E_RECORD);
    ASSERT_CONTAINS(err, "the first record is type 2, not metadata");
    s[0] = RECORD_META;
    s[21] = 9;
    ASSERT_EQ(envelope_parse_records(s, sizeof s, header, NULL, err, sizeof err),
              ENVELOPE_E_RECORD);
    ASSERT_CONTAINS(err, "unknown record type 9");
    ASSERT_EQ(envelope_parse_records(s, 21, header, NULL, err, sizeof err), ENVELOPE_E_RECORD);
    ASSERT_CONTAINS(err, "ends without the kiosk's signature");
}

TEST(test_envelope_writer_stops_when_storage_refuses)
{
    struct keys k;
    make_keys(&k, 17);
    struct buf x = {.fail_after = 3}; /* header + 2 chunks, then "disk full" */
    struct envelope_writer *w;
    struct envelope_meta m = meta_vi();
    char err[256];
    uint8_t a[20000];
    fake_audio(a, sizeof a);
    ASSERT_EQ(envelope_writer_new(&w, k.post.pk, k.dev_sk, &m, sink, &x, NULL, err, sizeof err), 0);
    ASSERT_EQ(envelope_write_audio(w, a, sizeof a), ENVELOPE_E_SINK);
    ASSERT_EQ(envelope_write_text(w, "x", 1), ENVELOPE_E_SINK);
    ASSERT_EQ(envelope_writer_finish(w, err, sizeof err), ENVELOPE_E_SINK);
    ASSERT_CONTAINS(err, "an earlier write failed: storage refused");
    envelope_writer_free(w);
    free(x.b);

    struct envelope_meta bad = meta_vi();
    bad.category = 42;
    ASSERT_EQ(envelope_writer_new(&w, k.post.pk, k.dev_sk, &bad, sink, &x, NULL, err, sizeof err),
              ENVELOPE_E_ARG);
    ASSERT_CONTAINS(err, "invalid metadata");
}

TEST(test_envelope_cut_short_between_last_chunk_and_end_marker_keeps_everything)
{
    /* A past bug: the kiosk died after committing the final chunk but before
       the trailer; recovery sealed it cut short and the reader refused it. */
    struct keys k;
    uint8_t audio[AUDIO_LEN];
    make_keys(&k, 18);
    struct buf x = make_envelope(&k, audio);
    uint32_t chunks = (uint32_t)((x.len - ENVELOPE_HEADER_BYTES - ENVELOPE_TRAILER_BYTES) /
                                 ENVELOPE_CHUNK_CIPHER);
    ASSERT_EQ(envelope_trailer_cut_short(x.b, chunks, get_chunk, x.b, k.dev_sk,
                                         x.b + x.len - ENVELOPE_TRAILER_BYTES),
              0);
    struct got g;
    char err[512];
    ASSERT_EQ(read_env(&k.post, x.b, x.len, 4096, &g, NULL, 0, err, sizeof err),
              ENVELOPE_E_CUT_SHORT);
    ASSERT_CONTAINS(err, "lost power while sealing this tip; all 8 chunks are there");
    ASSERT_EQ(g.audio.len, AUDIO_LEN);
    ASSERT_MEM_EQ(g.audio.b, audio, AUDIO_LEN);
    ASSERT_EQ(g.text_len, strlen(text_vi));
    free(g.audio.b);
    free(x.b);
}

TEST(test_envelope_category_chosen_after_speaking_round_trips_over_meta)
{
    struct keys k;
    make_keys(&k, 19);
    struct buf x = {.fail_after = -1};
    struct envelope_writer *w;
    struct envelope_meta m = meta_vi();
    m.category = CATEGORY_UNSET; /* the kiosk writes META before the person chose */
    char err[256];
    uint8_t a[9000];
    fake_audio(a, sizeof a);
    ASSERT_EQ(envelope_writer_new(&w, k.post.pk, k.dev_sk, &m, sink, &x, NULL, err, sizeof err), 0);
    ASSERT_EQ(envelope_write_audio(w, a, sizeof a), 0);
    ASSERT_EQ(envelope_write_when(w, WHEN_TODAY), 0);
    ASSERT_EQ(envelope_write_category(w, CATEGORY_UNSET), ENVELOPE_E_ARG);
    ASSERT_EQ(envelope_write_category(w, CATEGORY_OTHER + 1), ENVELOPE_E_ARG);
    ASSERT_EQ(envelope_write_category(w, CATEGORY_TRAFFICKING), 0);
    /* The writer never makes what a reader refuses: no second choice, no
       words after it. Neither kills the tip. */
    ASSERT_EQ(envelope_write_category(w, CATEGORY_DRUGS), ENVELOPE_E_STATE);
    ASSERT_EQ(envelope_write_audio(w, a, 10), ENVELOPE_E_STATE);
    ASSERT_EQ(envelope_write_text(w, "x", 1), ENVELOPE_E_STATE);
    ASSERT_EQ(envelope_write_unconfirmed(w), 0);
    ASSERT_EQ(envelope_writer_finish(w, err, sizeof err), 0);
    envelope_writer_free(w);

    struct got g;
    ASSERT_EQ(read_env(&k.post, x.b, x.len, 333, &g, NULL, 0, err, sizeof err), 0);
    ASSERT_EQ(g.meta.category, CATEGORY_UNSET);
    ASSERT_EQ(g.categories, 1);
    ASSERT_EQ(g.category, CATEGORY_TRAFFICKING);
    ASSERT_EQ(g.when, WHEN_TODAY);
    ASSERT_EQ(g.audio.len, sizeof a);
    ASSERT_MEM_EQ(g.audio.b, a, sizeof a);
    free(g.audio.b);
    /* Same size class as without the record: it tells the wire nothing. */
    ASSERT_EQ(x.len, ENVELOPE_HEADER_BYTES + ENVELOPE_MIN_CHUNKS * ENVELOPE_CHUNK_CIPHER +
                         ENVELOPE_TRAILER_BYTES);
    free(x.b);
}

/* META ("vi", no category) · recs · SIG signed by the device over header and records. */
static size_t signed_records(const struct keys *k, const uint8_t *header, const uint8_t *recs,
                             size_t n, uint8_t *out)
{
    static const uint8_t meta[21] = {RECORD_META, 16, 0, 0, 0, 1, 'v', 'i'};
    memcpy(out, meta, sizeof meta);
    memcpy(out + sizeof meta, recs, n);
    size_t len = sizeof meta + n;
    crypto_sign_state st;
    crypto_sign_init(&st);
    crypto_sign_update(&st, header, ENVELOPE_HEADER_BYTES);
    crypto_sign_update(&st, out, len);
    out[len] = RECORD_SIG;
    out[len + 1] = 64;
    out[len + 2] = out[len + 3] = out[len + 4] = 0;
    crypto_sign_final_create(&st, out + len + 5, NULL, k->dev_sk);
    return len + 5 + 64;
}

static int parse_late(const struct keys *k, const uint8_t *recs, size_t n, struct got *g,
                      char *err, size_t errlen)
{
    uint8_t header[ENVELOPE_HEADER_BYTES] = {0};
    memcpy(header + 32, k->dev_pk, 32);
    uint8_t s[256];
    ASSERT(n + 21 + 69 <= sizeof s);
    size_t len = signed_records(k, header, recs, n, s);
    struct envelope_record_cb cb = {.meta = on_meta, .text = on_text, .category = on_category,
                                    .ctx = g};
    memset(g, 0, sizeof *g);
    err[0] = 0;
    return envelope_parse_records(s, len, header, &cb, err, errlen);
}

TEST(test_envelope_refuses_a_late_category_malformed_repeated_or_out_of_place)
{
    struct keys k;
    make_keys(&k, 20);
    struct got g;
    char err[256];
    /* Well formed, signed: applies after META. */
    static const uint8_t ok[] = {RECORD_TEXT, 2, 0, 0, 0, 'h', 'i', RECORD_CATEGORY, 1, 0, 0, 0, 4};
    ASSERT_EQ(parse_late(&k, ok, sizeof ok, &g, err, sizeof err), 0);
    ASSERT_EQ(g.category, CATEGORY_SMUGGLING);
    ASSERT_EQ(g.text_len, 2);

    static const struct {
        uint8_t recs[24];
        size_t n;
        const char *msg;
    } bad[] = {
        {{RECORD_CATEGORY, 2, 0, 0, 0, 4, 4}, 7,
         "malformed record: category chosen at send repeated or of length 2"},
        {{RECORD_CATEGORY, 0, 0, 0, 0}, 5,
         "malformed record: category chosen at send repeated or of length 0"},
        {{RECORD_CATEGORY, 1, 0, 0, 0, 0}, 6,
         "malformed record: category chosen at send 0 out of range"},
        {{RECORD_CATEGORY, 1, 0, 0, 0, 8}, 6,
         "malformed record: category chosen at send 8 out of range"},
        {{RECORD_CATEGORY, 1, 0, 0, 0, 4, RECORD_CATEGORY, 1, 0, 0, 0, 4}, 12,
         "malformed record: category chosen at send repeated or of length 1"},
        {{RECORD_CATEGORY, 1, 0, 0, 0, 4, RECORD_TEXT, 1, 0, 0, 0, 'x'}, 12,
         "malformed record: text after the category chosen at send (the category must follow "
         "the last words)"},
        {{RECORD_CATEGORY, 1, 0, 0, 0, 4, RECORD_AUDIO, 1, 0, 0, 0, 'O'}, 12,
         "malformed record: audio after the category chosen at send"},
        {{RECORD_PAD, 1, 0, 0, 0, 0, RECORD_CATEGORY, 1, 0, 0, 0, 4}, 12,
         "malformed record: record type 8 after the padding"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        ASSERT_EQ(parse_late(&k, bad[i].recs, bad[i].n, &g, err, sizeof err), ENVELOPE_E_RECORD);
        ASSERT_CONTAINS(err, bad[i].msg);
    }
    /* A refused category never reached the caller as the answer. */
    ASSERT_EQ(parse_late(&k, bad[3].recs, bad[3].n, &g, err, sizeof err), ENVELOPE_E_RECORD);
    ASSERT_EQ(g.categories, 0);

    /* Before META it is out of place too. */
    uint8_t header[ENVELOPE_HEADER_BYTES] = {0};
    memcpy(header + 32, k.dev_pk, 32);
    static const uint8_t first[] = {RECORD_CATEGORY, 1, 0, 0, 0, 4};
    ASSERT_EQ(envelope_parse_records(first, sizeof first, header, NULL, err, sizeof err),
              ENVELOPE_E_RECORD);
    ASSERT_CONTAINS(err, "the first record is type 8, not metadata");

    /* The inner signature covers it: another picture put in its place fails. */
    uint8_t s[128];
    size_t len = signed_records(&k, header, ok, sizeof ok, s);
    ASSERT_EQ(envelope_parse_records(s, len, header, NULL, err, sizeof err), 0);
    s[21 + sizeof ok - 1] = CATEGORY_WEAPONS;
    ASSERT_EQ(envelope_parse_records(s, len, header, NULL, err, sizeof err), ENVELOPE_E_SIGNATURE);
    ASSERT_CONTAINS(err, "bad signature");
}

/* ---- version 2: each device signature has its own context ---- */

/* make_envelope's content, written in format `version` by the test-only writer. */
static struct buf make_envelope_version(const struct keys *k, uint8_t *audio, uint8_t version)
{
    struct buf x = {.fail_after = -1};
    struct envelope_writer *w = NULL;
    struct envelope_meta m = meta_vi();
    char err[256];
    fake_audio(audio, AUDIO_LEN);
    ASSERT_EQ(envelope_writer_new_version_for_tests(&w, k->post.pk, k->dev_sk, &m, sink, &x, NULL,
                                                    version, err, sizeof err),
              0);
    for (size_t off = 0; off < AUDIO_LEN; off += 1000)
        ASSERT_EQ(envelope_write_audio(w, audio + off, 1000), 0);
    ASSERT_EQ(envelope_write_text(w, text_vi, strlen(text_vi)), 0);
    ASSERT_EQ(envelope_writer_finish(w, err, sizeof err), 0);
    envelope_writer_free(w);
    return x;
}

/* Read it whole: the text and audio must come back. */
static void expect_reads(const struct keys *k, const struct buf *x, const uint8_t *audio)
{
    struct got g;
    char err[512];
    ASSERT_EQ(read_env(&k->post, x->b, x->len, 777, &g, NULL, 0, err, sizeof err), 0);
    ASSERT_EQ(g.metas, 1);
    ASSERT_EQ(g.text_len, strlen(text_vi));
    ASSERT_MEM_EQ(g.text, text_vi, g.text_len);
    ASSERT_EQ(g.audio.len, AUDIO_LEN);
    ASSERT_MEM_EQ(g.audio.b, audio, AUDIO_LEN);
    free(g.audio.b);
    ASSERT_EQ(envelope_verify_outer(x->b, x->len, NULL, NULL, 0, err, sizeof err), 0);
}

TEST(test_envelope_v2_is_written_and_v1_from_old_kiosks_still_reads)
{
    struct keys k;
    uint8_t audio[AUDIO_LEN];
    make_keys(&k, 30);
    struct buf v2 = make_envelope_version(&k, audio, 2);
    struct buf v1 = make_envelope_version(&k, audio, 1);
    struct buf dflt = make_envelope(&k, audio);
    ASSERT_EQ(ENVELOPE_VERSION, 2);
    ASSERT_EQ(dflt.b[6], 2);
    ASSERT_EQ(v2.b[6], 2);
    ASSERT_EQ(v1.b[6], 1);
    ASSERT_EQ(v1.len, v2.len); /* same sizes: the relay's Upload-Length rule holds for both */
    expect_reads(&k, &v2, audio);
    expect_reads(&k, &v1, audio); /* a kiosk not yet updated keeps being read */

    /* The version byte is signed: a v2 tip relabelled v1 (or back) is refused. */
    char err[512];
    v2.b[6] = 1;
    expect(&k.post, v2.b, v2.len, ENVELOPE_E_TAMPERED, "tampered: chunk 0");
    ASSERT_EQ(envelope_verify_outer(v2.b, v2.len, NULL, NULL, 0, err, sizeof err),
              ENVELOPE_E_SIGNATURE);
    v1.b[6] = 2;
    expect(&k.post, v1.b, v1.len, ENVELOPE_E_TAMPERED, "tampered: chunk 0");
    ASSERT_EQ(envelope_verify_outer(v1.b, v1.len, NULL, NULL, 0, err, sizeof err),
              ENVELOPE_E_SIGNATURE);
    free(v1.b);
    free(v2.b);
    free(dflt.b);
}

/* Put in the trailer of x an Ed25519ph signature by k over context · header · chunks · trailer head. */
static void resign_trailer(const struct keys *k, struct buf *x, const char *context)
{
    uint8_t *t = x->b + x->len - ENVELOPE_TRAILER_BYTES;
    crypto_sign_state st;
    crypto_sign_init(&st);
    if (context)
        crypto_sign_update(&st, (const uint8_t *)context, strlen(context));
    crypto_sign_update(&st, x->b, x->len - ENVELOPE_TRAILER_BYTES);
    crypto_sign_update(&st, t, 12);
    crypto_sign_final_create(&st, t + 12, NULL, k->dev_sk);
}

TEST(test_envelope_v2_signatures_verify_only_under_their_own_context)
{
    struct keys k;
    uint8_t audio[AUDIO_LEN];
    char err[512];
    make_keys(&k, 31);
    struct buf x = make_envelope(&k, audio);
    uint8_t *t = x.b + x.len - ENVELOPE_TRAILER_BYTES;

    /* The documented message: the outer context, then the bytes. */
    resign_trailer(&k, &x, "homthu-envelope-v2 outer\n");
    ASSERT_EQ(envelope_verify_outer(x.b, x.len, NULL, NULL, 0, err, sizeof err), 0);
    expect_reads(&k, &x, audio);
    /* The same bytes signed the v1 way, or under another purpose's context: refused. */
    resign_trailer(&k, &x, NULL);
    ASSERT_EQ(envelope_verify_outer(x.b, x.len, NULL, NULL, 0, err, sizeof err),
              ENVELOPE_E_SIGNATURE);
    ASSERT_CONTAINS(err, "bad signature: the kiosk's signature over the envelope");
    expect(&k.post, x.b, x.len, ENVELOPE_E_SIGNATURE, "bad signature");
    resign_trailer(&k, &x, "homthu-envelope-v2 inner\n");
    ASSERT_EQ(envelope_verify_outer(x.b, x.len, NULL, NULL, 0, err, sizeof err),
              ENVELOPE_E_SIGNATURE);
    resign_trailer(&k, &x, "homthu-envelope-v2 cut-short\n");
    ASSERT_EQ(envelope_verify_outer(x.b, x.len, NULL, NULL, 0, err, sizeof err),
              ENVELOPE_E_SIGNATURE);
    /* A cut-short end marker needs the cut-short context, not the outer one. */
    t[4] = 2;
    resign_trailer(&k, &x, "homthu-envelope-v2 outer\n");
    ASSERT_EQ(envelope_verify_outer(x.b, x.len, NULL, NULL, 0, err, sizeof err),
              ENVELOPE_E_SIGNATURE);
    expect(&k.post, x.b, x.len, ENVELOPE_E_SIGNATURE, "bad signature");
    resign_trailer(&k, &x, "homthu-envelope-v2 cut-short\n");
    ASSERT_EQ(envelope_verify_outer(x.b, x.len, NULL, NULL, 0, err, sizeof err),
              ENVELOPE_E_CUT_SHORT);
    expect(&k.post, x.b, x.len, ENVELOPE_E_CUT_SHORT, "cut short");
    free(x.b);

    /* The inner SIG record: its own context in v2, none in v1. */
    uint8_t header[ENVELOPE_HEADER_BYTES] = {0};
    memcpy(header + 32, k.dev_pk, 32);
    uint8_t s[5 + 16 + 5 + 64] = {RECORD_META, 16, 0, 0, 0, 1, 'v', 'i'};
    s[21] = RECORD_SIG;
    s[22] = 64;
    static const char *const contexts[] = {NULL, "homthu-envelope-v2 inner\n",
                                           "homthu-envelope-v2 outer\n",
                                           "homthu-envelope-v2 cut-short\n"};
    for (int version = 1; version <= 2; version++) {
        header[6] = (uint8_t)version;
        for (size_t c = 0; c < sizeof contexts / sizeof *contexts; c++) {
            crypto_sign_state st;
            crypto_sign_init(&st);
            if (contexts[c])
                crypto_sign_update(&st, (const uint8_t *)contexts[c], strlen(contexts[c]));
            crypto_sign_update(&st, header, sizeof header);
            crypto_sign_update(&st, s, 21);
            crypto_sign_final_create(&st, s + 26, NULL, k.dev_sk);
            int want_ok = version == 1 ? c == 0 : c == 1;
            ASSERT_EQ(envelope_parse_records(s, sizeof s, header, NULL, err, sizeof err),
                      want_ok ? 0 : ENVELOPE_E_SIGNATURE);
        }
    }
}

TEST(test_envelope_cut_short_marker_of_v1_and_v2_tips_reads_as_cut_short)
{
    struct keys k;
    make_keys(&k, 32);
    for (uint8_t version = 1; version <= 2; version++) {
        struct buf x = {.fail_after = -1};
        struct envelope_writer *w;
        struct envelope_meta m = meta_vi();
        char err[512];
        uint8_t a[20000];
        fake_audio(a, sizeof a);
        ASSERT_EQ(envelope_writer_new_version_for_tests(&w, k.post.pk, k.dev_sk, &m, sink, &x,
                                                        NULL, version, err, sizeof err),
                  0);
        ASSERT_EQ(envelope_write_audio(w, a, sizeof a), 0);
        envelope_writer_free(w); /* the power goes */
        uint32_t chunks = (uint32_t)((x.len - ENVELOPE_HEADER_BYTES) / ENVELOPE_CHUNK_CIPHER);
        uint8_t t[ENVELOPE_TRAILER_BYTES];
        ASSERT_EQ(envelope_trailer_cut_short(x.b, chunks, get_chunk, x.b, k.dev_sk, t), 0);
        buf_add(&x, t, sizeof t);
        expect(&k.post, x.b, x.len, ENVELOPE_E_CUT_SHORT, "the first 4 chunks");
        ASSERT_EQ(envelope_verify_outer(x.b, x.len, NULL, NULL, 0, err, sizeof err),
                  ENVELOPE_E_CUT_SHORT);
        /* Relabelled to the other version, the marker no longer verifies. */
        x.b[6] = version == 1 ? 2 : 1;
        ASSERT_EQ(envelope_verify_outer(x.b, x.len, NULL, NULL, 0, err, sizeof err),
                  ENVELOPE_E_SIGNATURE);
        free(x.b);
    }
}
