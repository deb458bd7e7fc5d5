/* envelope — the sealed tip, format v2 (v1 still read). See envelope.h and docs/envelope.md. */
#include "core/envelope.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/errbuf.h"

#define SS_ABYTES crypto_secretstream_xchacha20poly1305_ABYTES
#define SS_HEADERBYTES crypto_secretstream_xchacha20poly1305_HEADERBYTES
#define SS_KEYBYTES crypto_secretstream_xchacha20poly1305_KEYBYTES
#define SEALED_KEY_BYTES (SS_KEYBYTES + crypto_box_SEALBYTES)
#define REC_HDR 5
#define META_BYTES 16
#define SIG_BYTES crypto_sign_BYTES
#define TEXT_MAX (64u * 1024u)
#define PENDING_MAX 8 /* failed chunks held back to tell reordering from tampering */

_Static_assert(SS_ABYTES == 17, "v1 chunk size assumes 17 bytes of secretstream overhead");
_Static_assert(SS_HEADERBYTES == 24, "v1 header layout");
_Static_assert(SEALED_KEY_BYTES == 80, "v1 header layout");

/* Clear header offsets (docs/envelope.md). */
enum {
    H_MAGIC = 0,
    H_VERSION = 6,
    H_FLAGS = 7,
    H_TIP_ID = 8,
    H_KEY_ID = 24,
    H_DEVICE = 32,
    H_SEALED_KEY = 64,
    H_SS_HEADER = 144,
    H_CHUNK_SIZE = 168,
    H_RESERVED = 172,
};
/* Trailer offsets. */
enum { T_MAGIC = 0, T_KIND = 4, T_COUNT = 8, T_SIG = 12, T_SIGNED = 12 };
enum { TRAILER_COMPLETE = 1, TRAILER_CUT_SHORT = 2 };

static const uint8_t header_magic[6] = {'H', 'O', 'M', 'T', 'H', 'U'};
static const uint8_t trailer_magic[4] = {'H', 'T', 'N', 'D'};

/*
 * Domain separation (v2). The device key makes three signatures: the inner
 * SIG record over the plaintext, the trailer over the ciphertext of a
 * complete tip, and the trailer of a tip cut short. In v1 each message began
 * with the bare header, so one signature's message could in principle be
 * read as another's. From v2 each message starts with its own fixed string,
 * so a signature made for one purpose never verifies for another. The
 * header's version byte (itself signed) says whether a context is there.
 */
enum sig_domain { DOM_INNER, DOM_OUTER, DOM_CUT_SHORT };
static const char *const sig_context[] = {
    [DOM_INNER] = "homthu-envelope-v2 inner\n",
    [DOM_OUTER] = "homthu-envelope-v2 outer\n",
    [DOM_CUT_SHORT] = "homthu-envelope-v2 cut-short\n",
};

/* Start a signature state for `header`'s version: context (v2), then the header. */
static void sign_begin(crypto_sign_state *st, const uint8_t *header, enum sig_domain d)
{
    crypto_sign_init(st);
    if (header[H_VERSION] >= 2)
        crypto_sign_update(st, (const unsigned char *)sig_context[d], strlen(sig_context[d]));
    crypto_sign_update(st, header, ENVELOPE_HEADER_BYTES);
}

/* Versions this code reads; it writes ENVELOPE_VERSION. */
static int version_known(uint8_t v)
{
    return v == 1 || v == ENVELOPE_VERSION;
}

static void put_u32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

static uint32_t get_u32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* errbuf_say under this file's old name, so its call sites read as before. */
#define say errbuf_say

const char *envelope_strerror(int code)
{
    switch (code) {
    case ENVELOPE_OK: return "ok";
    case ENVELOPE_E_ARG: return "bad argument";
    case ENVELOPE_E_NOMEM: return "out of memory";
    case ENVELOPE_E_SINK: return "storage refused";
    case ENVELOPE_E_MAGIC: return "not an envelope";
    case ENVELOPE_E_VERSION: return "unknown version";
    case ENVELOPE_E_KEY_ID: return "other post key";
    case ENVELOPE_E_WRONG_KEY: return "wrong post key";
    case ENVELOPE_E_TAMPERED: return "tampered";
    case ENVELOPE_E_REORDERED: return "reordered chunks";
    case ENVELOPE_E_DUPLICATED: return "duplicated chunk";
    case ENVELOPE_E_TRUNCATED: return "truncated";
    case ENVELOPE_E_CUT_SHORT: return "cut short by power loss";
    case ENVELOPE_E_SIGNATURE: return "bad signature";
    case ENVELOPE_E_UNKNOWN_DEVICE: return "unknown device";
    case ENVELOPE_E_REVOKED_DEVICE: return "revoked device";
    case ENVELOPE_E_TRAILING: return "trailing bytes";
    case ENVELOPE_E_OVERSIZE: return "oversize";
    case ENVELOPE_E_RECORD: return "malformed record";
    case ENVELOPE_E_STATE: return "wrong call order";
    }
    return "unknown error";
}

void envelope_post_key_id(const uint8_t post_pk[32], uint8_t id_out[ENVELOPE_KEY_ID_BYTES])
{
    uint8_t h[32];
    crypto_generichash(h, sizeof h, post_pk, 32, NULL, 0);
    memcpy(id_out, h, ENVELOPE_KEY_ID_BYTES);
}

/*
 * Size buckets: the chunk count is rounded up Padmé-style (keep the top
 * bits of the count, at most ~12 % more) with a floor of ENVELOPE_MIN_CHUNKS,
 * so the length of a tip tells an observer its rough size class only.
 */
static uint32_t bucket_chunks(uint32_t n)
{
    if (n <= ENVELOPE_MIN_CHUNKS)
        return ENVELOPE_MIN_CHUNKS;
    uint32_t e = 31 - (uint32_t)__builtin_clz(n);   /* floor(log2 n) */
    uint32_t s = 32 - (uint32_t)__builtin_clz(e);   /* floor(log2 e) + 1 */
    uint32_t mask = (1u << (e - s)) - 1;
    return (n + mask) & ~mask;
}

/* ------------------------------------------------------------------ */
/* writer                                                              */

struct envelope_writer {
    uint8_t header[ENVELOPE_HEADER_BYTES];
    uint8_t device_sk[64];
    crypto_secretstream_xchacha20poly1305_state ss;
    crypto_sign_state inner; /* header || records before SIG */
    crypto_sign_state outer; /* header || ciphertext chunks || trailer head */
    uint8_t plain[ENVELOPE_CHUNK_PLAIN];
    uint8_t cipher[ENVELOPE_CHUNK_CIPHER];
    size_t fill;
    uint64_t plain_total; /* record bytes so far */
    uint32_t chunks;
    uint64_t emitted;
    envelope_sink_fn sink;
    void *sink_ctx;
    int dead; /* sticky error code, or 1 once finished */
    int category_written; /* after a CATEGORY record no words may follow */
};

static int writer_emit(struct envelope_writer *w, enum envelope_piece kind, uint32_t index,
                       const uint8_t *b, size_t len)
{
    if (w->sink(w->sink_ctx, kind, index, b, len) != 0) {
        w->dead = ENVELOPE_E_SINK;
        return ENVELOPE_E_SINK;
    }
    w->emitted += len;
    return 0;
}

static int writer_flush(struct envelope_writer *w, unsigned char tag)
{
    crypto_secretstream_xchacha20poly1305_push(&w->ss, w->cipher, NULL, w->plain, w->fill,
                                               w->header, sizeof w->header, tag);
    sodium_memzero(w->plain, sizeof w->plain);
    w->fill = 0;
    crypto_sign_update(&w->outer, w->cipher, sizeof w->cipher);
    int rc = writer_emit(w, PIECE_CHUNK, w->chunks, w->cipher, sizeof w->cipher);
    if (rc == 0)
        w->chunks++;
    return rc;
}

/*
 * Append record bytes. A full chunk is kept until more bytes arrive, because
 * only at finish do we know which chunk is the last (it carries TAG_FINAL).
 */
static int writer_append(struct envelope_writer *w, const uint8_t *b, size_t len, int signed_)
{
    if (signed_)
        crypto_sign_update(&w->inner, b, len);
    w->plain_total += len;
    while (len) {
        if (w->fill == sizeof w->plain) {
            int rc = writer_flush(w, crypto_secretstream_xchacha20poly1305_TAG_MESSAGE);
            if (rc)
                return rc;
        }
        size_t n = sizeof w->plain - w->fill;
        if (n > len)
            n = len;
        if (b) {
            memcpy(w->plain + w->fill, b, n);
            b += n;
        } else {
            memset(w->plain + w->fill, 0, n);
        }
        w->fill += n;
        len -= n;
    }
    return 0;
}

/* Zero bytes of a PAD record: signed like any record, without a buffer. */
static int writer_append_zeros(struct envelope_writer *w, size_t len)
{
    static const uint8_t zeros[512];
    while (len) {
        size_t n = len < sizeof zeros ? len : sizeof zeros;
        int rc = writer_append(w, zeros, n, 1);
        if (rc)
            return rc;
        len -= n;
    }
    return 0;
}

static int writer_record(struct envelope_writer *w, uint8_t type, const uint8_t *v, size_t len)
{
    if (w->dead)
        return w->dead == 1 ? ENVELOPE_E_STATE : w->dead;
    if (len > UINT32_MAX)
        return ENVELOPE_E_ARG;
    uint8_t h[REC_HDR] = {type};
    put_u32(h + 1, (uint32_t)len);
    int rc = writer_append(w, h, sizeof h, 1);
    if (rc == 0 && len)
        rc = writer_append(w, v, len, 1);
    return rc;
}

static int language_ok(const char *lang)
{
    size_t n = strnlen(lang, 9);
    if (n == 0 || n > 8)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = lang[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-'))
            return 0;
    }
    return 1;
}

static int meta_valid(const struct envelope_meta *m)
{
    return language_ok(m->language) && m->category <= CATEGORY_OTHER &&
           m->codec <= CODEC_OGG_OPUS && m->training <= 1 && m->when <= WHEN_EARLIER;
}

static void meta_encode(uint8_t out[META_BYTES], const struct envelope_meta *m)
{
    memset(out, 0, META_BYTES);
    out[0] = 1;
    memcpy(out + 1, m->language, strnlen(m->language, 8));
    out[9] = m->category;
    out[10] = (uint8_t)m->capture_day;
    out[11] = (uint8_t)(m->capture_day >> 8);
    out[12] = m->training;
    out[13] = m->codec;
    out[14] = m->when;
}

int envelope_writer_new(struct envelope_writer **out, const uint8_t post_pk[32],
                        const uint8_t device_sk[64], const struct envelope_meta *meta,
                        envelope_sink_fn sink, void *sink_ctx,
                        uint8_t tip_id_out[ENVELOPE_TIP_ID_BYTES], char *err, size_t errlen)
{
    return envelope_writer_new_version_for_tests(out, post_pk, device_sk, meta, sink, sink_ctx,
                                                 tip_id_out, ENVELOPE_VERSION, err, errlen);
}

int envelope_writer_new_version_for_tests(struct envelope_writer **out,
                                          const uint8_t post_pk[32],
                                          const uint8_t device_sk[64],
                                          const struct envelope_meta *meta,
                                          envelope_sink_fn sink, void *sink_ctx,
                                          uint8_t tip_id_out[ENVELOPE_TIP_ID_BYTES],
                                          uint8_t version, char *err, size_t errlen)
{
    if (!version_known(version))
        return say(err, errlen, ENVELOPE_E_ARG, "envelope: cannot write version %u", version);
    if (!out || !post_pk || !device_sk || !meta || !sink)
        return say(err, errlen, ENVELOPE_E_ARG, "envelope: missing argument");
    *out = NULL;
    if (!meta_valid(meta))
        return say(err, errlen, ENVELOPE_E_ARG,
                   "envelope: invalid metadata (language \"%.8s\", category %u, codec %u)",
                   meta->language, meta->category, meta->codec);
    if (sodium_init() < 0)
        return say(err, errlen, ENVELOPE_E_NOMEM, "envelope: libsodium failed to start");
    /* Locked, guarded, never in a core dump: it holds plaintext and keys. */
    struct envelope_writer *w = sodium_malloc(sizeof *w);
    if (!w)
        return say(err, errlen, ENVELOPE_E_NOMEM, "envelope: out of memory");
    memset(w, 0, sizeof *w);
    w->sink = sink;
    w->sink_ctx = sink_ctx;
    memcpy(w->device_sk, device_sk, 64);

    uint8_t key[SS_KEYBYTES];
    uint8_t *h = w->header;
    memcpy(h + H_MAGIC, header_magic, sizeof header_magic);
    h[H_VERSION] = version;
    randombytes_buf(h + H_TIP_ID, ENVELOPE_TIP_ID_BYTES);
    envelope_post_key_id(post_pk, h + H_KEY_ID);
    crypto_sign_ed25519_sk_to_pk(h + H_DEVICE, device_sk);
    crypto_secretstream_xchacha20poly1305_keygen(key);
    int rc = ENVELOPE_OK;
    if (crypto_box_seal(h + H_SEALED_KEY, key, sizeof key, post_pk) != 0) {
        rc = say(err, errlen, ENVELOPE_E_ARG, "envelope: the post public key is not usable");
        goto out;
    }
    crypto_secretstream_xchacha20poly1305_init_push(&w->ss, h + H_SS_HEADER, key);
    put_u32(h + H_CHUNK_SIZE, ENVELOPE_CHUNK_PLAIN);

    sign_begin(&w->inner, h, DOM_INNER);
    sign_begin(&w->outer, h, DOM_OUTER);

    if (writer_emit(w, PIECE_HEADER, 0, h, ENVELOPE_HEADER_BYTES) != 0) {
        rc = say(err, errlen, ENVELOPE_E_SINK, "envelope: storage refused the tip header");
        goto out;
    }
    uint8_t m[META_BYTES];
    meta_encode(m, meta);
    rc = writer_record(w, RECORD_META, m, sizeof m);
    if (rc)
        goto out;
    if (tip_id_out)
        memcpy(tip_id_out, h + H_TIP_ID, ENVELOPE_TIP_ID_BYTES);
    *out = w;
out:
    sodium_memzero(key, sizeof key);
    if (rc)
        envelope_writer_free(w);
    return rc;
}

int envelope_write_text(struct envelope_writer *w, const char *utf8, size_t len)
{
    if (!w || (!utf8 && len) || len > TEXT_MAX)
        return ENVELOPE_E_ARG;
    if (w->category_written)
        return ENVELOPE_E_STATE; /* a reader would refuse it: the category closes the words */
    return writer_record(w, RECORD_TEXT, (const uint8_t *)utf8, len);
}

int envelope_write_audio(struct envelope_writer *w, const uint8_t *ogg, size_t len)
{
    if (!w || (!ogg && len))
        return ENVELOPE_E_ARG;
    if (len == 0)
        return w->dead ? (w->dead == 1 ? ENVELOPE_E_STATE : w->dead) : 0;
    if (w->category_written)
        return ENVELOPE_E_STATE;
    return writer_record(w, RECORD_AUDIO, ogg, len);
}

int envelope_write_when(struct envelope_writer *w, uint8_t when)
{
    if (!w || when == WHEN_UNSET || when > WHEN_EARLIER)
        return ENVELOPE_E_ARG;
    return writer_record(w, RECORD_WHEN, &when, 1);
}

int envelope_write_unconfirmed(struct envelope_writer *w)
{
    if (!w)
        return ENVELOPE_E_ARG;
    return writer_record(w, RECORD_UNCONFIRMED, NULL, 0);
}

int envelope_write_category(struct envelope_writer *w, uint8_t category)
{
    if (!w || category == CATEGORY_UNSET || category > CATEGORY_OTHER)
        return ENVELOPE_E_ARG;
    if (w->category_written)
        return ENVELOPE_E_STATE;
    int rc = writer_record(w, RECORD_CATEGORY, &category, 1);
    if (rc == 0)
        w->category_written = 1;
    return rc;
}

int envelope_writer_finish(struct envelope_writer *w, char *err, size_t errlen)
{
    if (!w)
        return say(err, errlen, ENVELOPE_E_ARG, "envelope: no writer");
    if (w->dead == 1)
        return say(err, errlen, ENVELOPE_E_STATE, "envelope: tip already finished");
    if (w->dead)
        return say(err, errlen, w->dead, "envelope: an earlier write failed: %s",
                   envelope_strerror(w->dead));

    /* PAD then SIG must end exactly on the last chunk of the size bucket. */
    uint64_t min_total = w->plain_total + REC_HDR + REC_HDR + SIG_BYTES;
    uint64_t need = (min_total + ENVELOPE_CHUNK_PLAIN - 1) / ENVELOPE_CHUNK_PLAIN;
    if (need > UINT32_MAX / 2)
        return say(err, errlen, ENVELOPE_E_OVERSIZE, "envelope: tip too large");
    uint64_t total = (uint64_t)bucket_chunks((uint32_t)need) * ENVELOPE_CHUNK_PLAIN;
    uint64_t pad = total - min_total;

    uint8_t h[REC_HDR] = {RECORD_PAD};
    put_u32(h + 1, (uint32_t)pad);
    int rc = writer_append(w, h, sizeof h, 1);
    if (rc == 0)
        rc = writer_append_zeros(w, pad);
    if (rc)
        return say(err, errlen, rc, "envelope: storage refused chunk %u", w->chunks);

    uint8_t sig[SIG_BYTES];
    crypto_sign_final_create(&w->inner, sig, NULL, w->device_sk);
    h[0] = RECORD_SIG;
    put_u32(h + 1, SIG_BYTES);
    rc = writer_append(w, h, sizeof h, 0);
    if (rc == 0)
        rc = writer_append(w, sig, sizeof sig, 0);
    if (rc == 0 && w->fill != sizeof w->plain)
        return say(err, errlen, ENVELOPE_E_STATE, "envelope: padding miscounted (bug)");
    if (rc == 0)
        rc = writer_flush(w, crypto_secretstream_xchacha20poly1305_TAG_FINAL);
    if (rc)
        return say(err, errlen, rc, "envelope: storage refused chunk %u", w->chunks);

    uint8_t t[ENVELOPE_TRAILER_BYTES] = {0};
    memcpy(t + T_MAGIC, trailer_magic, sizeof trailer_magic);
    t[T_KIND] = TRAILER_COMPLETE;
    put_u32(t + T_COUNT, w->chunks);
    crypto_sign_update(&w->outer, t, T_SIGNED);
    crypto_sign_final_create(&w->outer, t + T_SIG, NULL, w->device_sk);
    if (writer_emit(w, PIECE_TRAILER, 0, t, sizeof t) != 0)
        return say(err, errlen, ENVELOPE_E_SINK, "envelope: storage refused the trailer");
    w->dead = 1;
    return 0;
}

uint64_t envelope_writer_bytes(const struct envelope_writer *w)
{
    return w ? w->emitted : 0;
}

uint64_t envelope_piece_end(uint64_t pos, uint64_t length)
{
    const uint64_t H = ENVELOPE_HEADER_BYTES, C = ENVELOPE_CHUNK_CIPHER;
    uint64_t trailer = length >= H + ENVELOPE_TRAILER_BYTES ? length - ENVELOPE_TRAILER_BYTES : H;
    if (pos < H)
        return H;
    if (pos >= trailer)
        return length;
    uint64_t end = H + ((pos - H) / C + 1) * C;
    return end < trailer ? end : trailer;
}

int envelope_piece_edge(uint64_t pos, uint64_t length)
{
    const uint64_t H = ENVELOPE_HEADER_BYTES, C = ENVELOPE_CHUNK_CIPHER;
    uint64_t trailer = length >= H + ENVELOPE_TRAILER_BYTES ? length - ENVELOPE_TRAILER_BYTES : H;
    if (pos == 0 || pos == length || pos == trailer)
        return 1;
    return pos >= H && pos < trailer && (pos - H) % C == 0;
}

void envelope_writer_free(struct envelope_writer *w)
{
    if (w)
        sodium_free(w); /* sodium_free zeroes before releasing */
}

int envelope_trailer_cut_short(const uint8_t header[ENVELOPE_HEADER_BYTES],
                               uint32_t chunk_count, envelope_chunk_fn get_chunk, void *ctx,
                               const uint8_t device_sk[64],
                               uint8_t trailer_out[ENVELOPE_TRAILER_BYTES])
{
    if (!header || !get_chunk || !device_sk || !trailer_out)
        return ENVELOPE_E_ARG;
    uint8_t pk[32];
    crypto_sign_ed25519_sk_to_pk(pk, device_sk);
    if (sodium_memcmp(pk, header + H_DEVICE, 32) != 0)
        return ENVELOPE_E_ARG; /* not this kiosk's tip: never sign for another */
    if (!version_known(header[H_VERSION]))
        return ENVELOPE_E_VERSION; /* a context we would not know to give */
    crypto_sign_state st;
    sign_begin(&st, header, DOM_CUT_SHORT);
    for (uint32_t i = 0; i < chunk_count; i++) {
        const uint8_t *c = get_chunk(ctx, i);
        if (!c)
            return ENVELOPE_E_ARG;
        crypto_sign_update(&st, c, ENVELOPE_CHUNK_CIPHER);
    }
    memset(trailer_out, 0, ENVELOPE_TRAILER_BYTES);
    memcpy(trailer_out + T_MAGIC, trailer_magic, sizeof trailer_magic);
    trailer_out[T_KIND] = TRAILER_CUT_SHORT;
    put_u32(trailer_out + T_COUNT, chunk_count);
    crypto_sign_update(&st, trailer_out, T_SIGNED);
    crypto_sign_final_create(&st, trailer_out + T_SIG, NULL, device_sk);
    return 0;
}

/* ------------------------------------------------------------------ */
/* header                                                              */

int envelope_parse_header(const uint8_t *b, size_t len, struct envelope_header_info *out,
                          char *err, size_t errlen)
{
    if (!b || !out)
        return say(err, errlen, ENVELOPE_E_ARG, "envelope: missing argument");
    size_t m = len < sizeof header_magic ? len : sizeof header_magic;
    if (memcmp(b, header_magic, m) != 0)
        return say(err, errlen, ENVELOPE_E_MAGIC,
                   "not a Hòm thư envelope: it does not start with HOMTHU");
    if (len < ENVELOPE_HEADER_BYTES)
        return say(err, errlen, ENVELOPE_E_TRUNCATED,
                   "truncated: %zu bytes, shorter than the %d-byte envelope header", len,
                   ENVELOPE_HEADER_BYTES);
    if (!version_known(b[H_VERSION]))
        return say(err, errlen, ENVELOPE_E_VERSION,
                   "unknown envelope version %u (this software reads versions 1 to %d): "
                   "update the post console",
                   b[H_VERSION], ENVELOPE_VERSION);
    uint32_t cs = get_u32(b + H_CHUNK_SIZE);
    if (b[H_FLAGS] != 0 || get_u32(b + H_RESERVED) != 0 || cs != ENVELOPE_CHUNK_PLAIN)
        return say(err, errlen, ENVELOPE_E_VERSION,
                   "envelope header uses flags or a chunk size (%u) that version %u does "
                   "not define",
                   cs, b[H_VERSION]);
    out->version = b[H_VERSION];
    memcpy(out->tip_id, b + H_TIP_ID, ENVELOPE_TIP_ID_BYTES);
    memcpy(out->post_key_id, b + H_KEY_ID, ENVELOPE_KEY_ID_BYTES);
    memcpy(out->device_pk, b + H_DEVICE, ENVELOPE_DEVICE_PK_BYTES);
    out->chunk_plain = cs;
    return 0;
}

static int device_verdict(envelope_device_fn fn, void *ctx, const uint8_t pk[32], char *err,
                          size_t errlen)
{
    if (!fn)
        return 0;
    char id[17];
    errbuf_hex(id, pk, 8);
    int v = fn(ctx, pk);
    if (v == ENVELOPE_E_REVOKED_DEVICE)
        return say(err, errlen, v,
                   "revoked device: kiosk key %s was revoked; its tips are not trusted", id);
    if (v != 0)
        return say(err, errlen, ENVELOPE_E_UNKNOWN_DEVICE,
                   "unknown device: kiosk key %s is not enrolled at this post", id);
    return 0;
}

/* Trailer at t (76 bytes) for a body of `chunks` chunks already hashed into st. */
static int trailer_check(crypto_sign_state *st, const uint8_t *t, uint32_t chunks,
                         const uint8_t device_pk[32], int *kind, char *err, size_t errlen)
{
    if (memcmp(t + T_MAGIC, trailer_magic, sizeof trailer_magic) != 0 || t[5] || t[6] || t[7] ||
        (t[T_KIND] != TRAILER_COMPLETE && t[T_KIND] != TRAILER_CUT_SHORT))
        return say(err, errlen, ENVELOPE_E_TRUNCATED,
                   "truncated: the envelope ends after %u chunks without its end marker "
                   "(damaged or cut in transit)",
                   chunks);
    uint32_t n = get_u32(t + T_COUNT);
    if (n != chunks)
        return say(err, errlen, ENVELOPE_E_TRUNCATED,
                   "truncated: the end marker counts %u chunks but %u are present", n, chunks);
    crypto_sign_update(st, t, T_SIGNED);
    if (crypto_sign_final_verify(st, (unsigned char *)t + T_SIG, device_pk) != 0)
        return say(err, errlen, ENVELOPE_E_SIGNATURE,
                   "bad signature: the kiosk's signature over the envelope does not verify "
                   "(forged or altered)");
    *kind = t[T_KIND];
    return 0;
}

/* ------------------------------------------------------------------ */
/* records                                                             */

enum { P_HDR, P_BODY, P_DONE };

struct record_parser {
    const struct envelope_record_cb *cb;
    const uint8_t *header; /* borrowed clear header (device key, signed) */
    crypto_sign_state inner;
    int phase;
    uint8_t hdr[REC_HDR];
    size_t hdr_fill;
    uint8_t type;
    uint32_t len, got;
    int seen_meta, seen_pad, seen_when, seen_unconfirmed, seen_category;
    uint8_t small[TEXT_MAX]; /* META, SIG and TEXT bodies */
    uint64_t audio_bytes;
};

static void parser_init(struct record_parser *p, const uint8_t *header,
                        const struct envelope_record_cb *cb)
{
    p->cb = cb;
    p->header = header;
    sign_begin(&p->inner, header, DOM_INNER);
    p->phase = P_HDR;
    p->hdr_fill = 0;
    p->seen_meta = p->seen_pad = p->seen_when = p->seen_unconfirmed = p->seen_category = 0;
    p->audio_bytes = 0;
}

static int record_header(struct record_parser *p, char *err, size_t errlen)
{
    p->type = p->hdr[0];
    p->len = get_u32(p->hdr + 1);
    p->got = 0;
    if (!p->seen_meta && p->type != RECORD_META)
        return say(err, errlen, ENVELOPE_E_RECORD,
                   "malformed record: the first record is type %u, not metadata", p->type);
    if (p->seen_pad && p->type != RECORD_SIG)
        return say(err, errlen, ENVELOPE_E_RECORD,
                   "malformed record: record type %u after the padding", p->type);
    /* The category chosen at send closes the words: one that came before
       something said would not be the last choice the officer must see. */
    if (p->seen_category && (p->type == RECORD_TEXT || p->type == RECORD_AUDIO))
        return say(err, errlen, ENVELOPE_E_RECORD,
                   "malformed record: %s after the category chosen at send "
                   "(the category must follow the last words)",
                   p->type == RECORD_TEXT ? "text" : "audio");
    switch (p->type) {
    case RECORD_META:
        if (p->seen_meta || p->len != META_BYTES)
            return say(err, errlen, ENVELOPE_E_RECORD,
                       "malformed record: metadata repeated or of length %u", p->len);
        p->seen_meta = 1;
        break;
    case RECORD_TEXT:
        if (p->len > TEXT_MAX)
            return say(err, errlen, ENVELOPE_E_RECORD,
                       "malformed record: text of %u bytes exceeds %u", p->len, TEXT_MAX);
        break;
    case RECORD_AUDIO:
        break;
    case RECORD_WHEN:
        if (p->seen_when || p->len != 1)
            return say(err, errlen, ENVELOPE_E_RECORD,
                       "malformed record: 'when' repeated or of length %u", p->len);
        p->seen_when = 1;
        break;
    case RECORD_UNCONFIRMED:
        if (p->seen_unconfirmed || p->len != 0)
            return say(err, errlen, ENVELOPE_E_RECORD,
                       "malformed record: 'left without confirming' repeated or of length %u",
                       p->len);
        p->seen_unconfirmed = 1;
        break;
    case RECORD_CATEGORY:
        if (p->seen_category || p->len != 1)
            return say(err, errlen, ENVELOPE_E_RECORD,
                       "malformed record: category chosen at send repeated or of length %u",
                       p->len);
        p->seen_category = 1;
        break;
    case RECORD_PAD:
        p->seen_pad = 1;
        break;
    case RECORD_SIG:
        if (p->len != SIG_BYTES)
            return say(err, errlen, ENVELOPE_E_RECORD,
                       "malformed record: signature of length %u", p->len);
        break;
    default:
        return say(err, errlen, ENVELOPE_E_RECORD, "malformed record: unknown record type %u",
                   p->type);
    }
    if (p->type != RECORD_SIG)
        crypto_sign_update(&p->inner, p->hdr, REC_HDR);
    return 0;
}

static int record_done(struct record_parser *p, char *err, size_t errlen)
{
    const struct envelope_record_cb *cb = p->cb;
    switch (p->type) {
    case RECORD_META: {
        const uint8_t *b = p->small;
        struct envelope_meta m;
        memset(&m, 0, sizeof m);
        memcpy(m.language, b + 1, 8);
        m.category = b[9];
        m.capture_day = (uint16_t)(b[10] | b[11] << 8);
        m.training = b[12];
        m.codec = b[13];
        m.when = b[14];
        if (b[0] != 1 || b[15] != 0 || !meta_valid(&m))
            return say(err, errlen, ENVELOPE_E_RECORD,
                       "malformed record: metadata values out of range");
        if (cb && cb->meta)
            cb->meta(cb->ctx, &m);
        break;
    }
    case RECORD_TEXT:
        if (cb && cb->text)
            cb->text(cb->ctx, p->small, p->len);
        sodium_memzero(p->small, p->len);
        break;
    case RECORD_WHEN:
        if (p->small[0] == WHEN_UNSET || p->small[0] > WHEN_EARLIER)
            return say(err, errlen, ENVELOPE_E_RECORD,
                       "malformed record: 'when' value %u out of range", p->small[0]);
        if (cb && cb->when)
            cb->when(cb->ctx, p->small[0]);
        break;
    case RECORD_UNCONFIRMED:
        if (cb && cb->unconfirmed)
            cb->unconfirmed(cb->ctx);
        break;
    case RECORD_CATEGORY:
        if (p->small[0] == CATEGORY_UNSET || p->small[0] > CATEGORY_OTHER)
            return say(err, errlen, ENVELOPE_E_RECORD,
                       "malformed record: category chosen at send %u out of range", p->small[0]);
        if (cb && cb->category)
            cb->category(cb->ctx, p->small[0]);
        break;
    case RECORD_SIG: {
        int ok = crypto_sign_final_verify(&p->inner, p->small, p->header + H_DEVICE) == 0;
        if (!ok)
            return say(err, errlen, ENVELOPE_E_SIGNATURE,
                       "bad signature: the kiosk's signature inside the tip does not verify");
        p->phase = P_DONE;
        return 0;
    }
    default:
        break;
    }
    p->phase = P_HDR;
    p->hdr_fill = 0;
    return 0;
}

static int parser_feed(struct record_parser *p, const uint8_t *b, size_t len, char *err,
                       size_t errlen)
{
    while (len) {
        if (p->phase == P_DONE)
            return say(err, errlen, ENVELOPE_E_RECORD,
                       "malformed record: %zu bytes after the signature", len);
        if (p->phase == P_HDR) {
            size_t n = REC_HDR - p->hdr_fill;
            if (n > len)
                n = len;
            memcpy(p->hdr + p->hdr_fill, b, n);
            p->hdr_fill += n;
            b += n;
            len -= n;
            if (p->hdr_fill < REC_HDR)
                continue;
            int rc = record_header(p, err, errlen);
            if (rc)
                return rc;
            p->phase = P_BODY;
            if (p->len == 0 && (rc = record_done(p, err, errlen)) != 0)
                return rc;
            continue;
        }
        size_t n = p->len - p->got;
        if (n > len)
            n = len;
        if (p->type != RECORD_SIG)
            crypto_sign_update(&p->inner, b, n);
        if (p->type == RECORD_AUDIO) {
            if (p->cb && p->cb->audio)
                p->cb->audio(p->cb->ctx, b, n); /* streamed: audio is the bulk */
            p->audio_bytes += n;
        } else if (p->type != RECORD_PAD) {
            memcpy(p->small + p->got, b, n);
        }
        p->got += (uint32_t)n;
        b += n;
        len -= n;
        if (p->got == p->len) {
            int rc = record_done(p, err, errlen);
            if (rc)
                return rc;
        }
    }
    return 0;
}

int envelope_parse_records(const uint8_t *plain, size_t len, const uint8_t *header,
                           const struct envelope_record_cb *cb, char *err, size_t errlen)
{
    if (!header || (!plain && len))
        return say(err, errlen, ENVELOPE_E_ARG, "envelope: missing argument");
    struct record_parser *p = sodium_malloc(sizeof *p);
    if (!p)
        return say(err, errlen, ENVELOPE_E_NOMEM, "envelope: out of memory");
    parser_init(p, header, cb);
    int rc = parser_feed(p, plain, len, err, errlen);
    if (rc == 0 && p->phase != P_DONE)
        rc = say(err, errlen, ENVELOPE_E_RECORD,
                 "malformed record: the record stream ends without the kiosk's signature");
    sodium_free(p);
    return rc;
}

/* ------------------------------------------------------------------ */
/* reader                                                              */

enum { R_HEADER, R_CHUNKS, R_TRAILER, R_DONE };

struct envelope_reader {
    struct envelope_reader_opts o;
    struct envelope_post_key *keys; /* copy, locked */
    int phase;
    int error;
    uint8_t header[ENVELOPE_HEADER_BYTES];
    struct envelope_header_info info;
    int have_info;
    crypto_secretstream_xchacha20poly1305_state ss;
    crypto_sign_state outer;     /* context · header · chunks, for a complete tip */
    crypto_sign_state outer_cut; /* the same under the cut-short context (v2 only) */
    uint8_t buf[ENVELOPE_CHUNK_CIPHER]; /* header, chunk or trailer being gathered */
    size_t fill;
    uint8_t plain[ENVELOPE_CHUNK_PLAIN];
    uint64_t total;
    uint32_t chunks;     /* chunks received, in file order */
    uint32_t decrypted;  /* chunks authenticated, in stream order */
    uint8_t (*hashes)[16];
    size_t nhashes, caphashes;
    uint8_t pending[PENDING_MAX][ENVELOPE_CHUNK_CIPHER];
    uint32_t pending_at[PENDING_MAX];
    int npending;
    struct record_parser parser;
};

int envelope_reader_new(struct envelope_reader **out, const struct envelope_reader_opts *opts)
{
    if (!out || !opts || !opts->keys || opts->nkeys == 0 || opts->nkeys > 64)
        return ENVELOPE_E_ARG;
    *out = NULL;
    if (sodium_init() < 0)
        return ENVELOPE_E_NOMEM;
    struct envelope_reader *r = sodium_malloc(sizeof *r);
    if (!r)
        return ENVELOPE_E_NOMEM;
    memset(r, 0, sizeof *r);
    r->keys = sodium_malloc(opts->nkeys * sizeof *r->keys);
    if (!r->keys) {
        sodium_free(r);
        return ENVELOPE_E_NOMEM;
    }
    memcpy(r->keys, opts->keys, opts->nkeys * sizeof *r->keys);
    r->o = *opts;
    r->o.keys = r->keys;
    if (!r->o.max_bytes)
        r->o.max_bytes = ENVELOPE_DEFAULT_MAX_BYTES;
    *out = r;
    return 0;
}

void envelope_reader_free(struct envelope_reader *r)
{
    if (!r)
        return;
    free(r->hashes);
    sodium_free(r->keys);
    sodium_free(r);
}

const struct envelope_header_info *envelope_reader_header(const struct envelope_reader *r)
{
    return r && r->have_info ? &r->info : NULL;
}

static int reader_fail(struct envelope_reader *r, int code)
{
    r->error = code;
    return code;
}

static int reader_open_header(struct envelope_reader *r, char *err, size_t errlen)
{
    int rc = envelope_parse_header(r->header, sizeof r->header, &r->info, err, errlen);
    if (rc)
        return rc;
    r->have_info = 1;
    rc = device_verdict(r->o.device_check, r->o.device_ctx, r->info.device_pk, err, errlen);
    if (rc)
        return rc;
    const struct envelope_post_key *k = NULL;
    for (size_t i = 0; i < r->o.nkeys; i++) {
        uint8_t id[ENVELOPE_KEY_ID_BYTES];
        envelope_post_key_id(r->keys[i].pk, id);
        if (memcmp(id, r->info.post_key_id, sizeof id) == 0)
            k = &r->keys[i];
    }
    if (!k) {
        char want[17];
        errbuf_hex(want, r->info.post_key_id, 8);
        return say(err, errlen, ENVELOPE_E_KEY_ID,
                   "sealed to post key %s, which is not among the keys unlocked here: "
                   "unlock that key (an older or newer post key)",
                   want);
    }
    uint8_t key[SS_KEYBYTES];
    if (crypto_box_seal_open(key, r->header + H_SEALED_KEY, SEALED_KEY_BYTES, k->pk, k->sk) !=
        0) {
        sodium_memzero(key, sizeof key);
        return say(err, errlen, ENVELOPE_E_WRONG_KEY,
                   "wrong post key: the tip key does not open with this post key "
                   "(wrong private key, or the header was altered)");
    }
    crypto_secretstream_xchacha20poly1305_init_pull(&r->ss, r->header + H_SS_HEADER, key);
    sodium_memzero(key, sizeof key);
    sign_begin(&r->outer, r->header, DOM_OUTER);
    sign_begin(&r->outer_cut, r->header, DOM_CUT_SHORT);
    parser_init(&r->parser, r->header, &r->o.records);
    return 0;
}

/* 0 = authenticated (and consumed into the record stream), 1 = fails, <0 error */
static int reader_try(struct envelope_reader *r, const uint8_t *c, char *err, size_t errlen)
{
    unsigned long long plen = 0;
    unsigned char tag = 0;
    if (crypto_secretstream_xchacha20poly1305_pull(&r->ss, r->plain, &plen, &tag, c,
                                                   ENVELOPE_CHUNK_CIPHER, r->header,
                                                   sizeof r->header) != 0)
        return 1;
    r->decrypted++;
    int rc = parser_feed(&r->parser, r->plain, (size_t)plen, err, errlen);
    sodium_memzero(r->plain, sizeof r->plain);
    if (rc)
        return rc;
    if (tag == crypto_secretstream_xchacha20poly1305_TAG_FINAL) {
        if (r->parser.phase != P_DONE)
            return say(err, errlen, ENVELOPE_E_RECORD,
                       "malformed record: the last chunk ends without the kiosk's signature");
        r->phase = R_TRAILER;
    } else if (tag != crypto_secretstream_xchacha20poly1305_TAG_MESSAGE) {
        return say(err, errlen, ENVELOPE_E_RECORD, "malformed record: chunk tag %u", tag);
    }
    return 0;
}

static int reader_chunk(struct envelope_reader *r, char *err, size_t errlen)
{
    const uint8_t *c = r->buf;
    uint32_t at = r->chunks++;
    uint8_t h[16];
    crypto_generichash(h, sizeof h, c, ENVELOPE_CHUNK_CIPHER, NULL, 0);
    for (size_t i = 0; i < r->nhashes; i++)
        if (memcmp(r->hashes[i], h, sizeof h) == 0)
            return say(err, errlen, ENVELOPE_E_DUPLICATED,
                       "duplicated chunk: chunk %u repeats chunk %zu (replayed or "
                       "copied data)",
                       at, i);
    if (r->nhashes == r->caphashes) {
        size_t cap = r->caphashes ? r->caphashes * 2 : 64;
        void *nh = realloc(r->hashes, cap * sizeof *r->hashes);
        if (!nh)
            return say(err, errlen, ENVELOPE_E_NOMEM, "envelope: out of memory");
        r->hashes = nh;
        r->caphashes = cap;
    }
    memcpy(r->hashes[r->nhashes++], h, sizeof h);
    crypto_sign_update(&r->outer, c, ENVELOPE_CHUNK_CIPHER);
    /* Which trailer ends the tip is known only at its end: in v2 both
       contexts are hashed along (v1 has one message for both kinds). */
    if (r->header[H_VERSION] >= 2)
        crypto_sign_update(&r->outer_cut, c, ENVELOPE_CHUNK_CIPHER);

    int rc = reader_try(r, c, err, errlen);
    if (rc < 0)
        return rc;
    if (rc == 1) {
        /*
         * Hold it back: if it authenticates later at another position the
         * chunks were reordered, which we report as such; a chunk that
         * never does was altered.
         */
        if (r->npending == PENDING_MAX)
            return say(err, errlen, ENVELOPE_E_TAMPERED,
                       "tampered: chunk %u fails authentication (the envelope was altered)",
                       r->pending_at[0]);
        memcpy(r->pending[r->npending], c, ENVELOPE_CHUNK_CIPHER);
        r->pending_at[r->npending++] = at;
        return 0;
    }
    for (int i = 0; i < r->npending && r->phase == R_CHUNKS; i++) {
        rc = reader_try(r, r->pending[i], err, errlen);
        if (rc < 0)
            return rc;
        if (rc == 0)
            return say(err, errlen, ENVELOPE_E_REORDERED,
                       "reordered chunks: the chunk at position %u belongs after the one "
                       "at position %u (the envelope's chunks were shuffled)",
                       r->pending_at[i], at);
    }
    if (r->phase == R_TRAILER && r->npending)
        return say(err, errlen, ENVELOPE_E_TAMPERED,
                   "tampered: chunk %u fails authentication (the envelope was altered)",
                   r->pending_at[0]);
    return 0;
}

int envelope_reader_feed(struct envelope_reader *r, const uint8_t *b, size_t len, char *err,
                         size_t errlen)
{
    if (!r || (!b && len))
        return say(err, errlen, ENVELOPE_E_ARG, "envelope: missing argument");
    if (r->error)
        return say(err, errlen, r->error, "envelope: the read already failed: %s",
                   envelope_strerror(r->error));
    if (r->phase == R_DONE)
        return say(err, errlen, reader_fail(r, ENVELOPE_E_STATE), "envelope: read finished");
    if (r->total + len > r->o.max_bytes)
        return reader_fail(r, say(err, errlen, ENVELOPE_E_OVERSIZE,
                                  "oversize: more than %llu bytes, larger than any tip",
                                  (unsigned long long)r->o.max_bytes));
    r->total += len;
    while (len) {
        size_t want = r->phase == R_HEADER    ? ENVELOPE_HEADER_BYTES
                      : r->phase == R_TRAILER ? ENVELOPE_TRAILER_BYTES
                                              : ENVELOPE_CHUNK_CIPHER;
        if (r->phase == R_TRAILER && r->fill == want)
            return reader_fail(r, say(err, errlen, ENVELOPE_E_TRAILING,
                                      "trailing bytes: %zu bytes after the end of the "
                                      "envelope",
                                      len));
        size_t n = want - r->fill;
        if (n > len)
            n = len;
        memcpy(r->buf + r->fill, b, n);
        r->fill += n;
        b += n;
        len -= n;
        if (r->phase == R_HEADER && r->fill < sizeof header_magic &&
            memcmp(r->buf, header_magic, r->fill) != 0)
            return reader_fail(r, say(err, errlen, ENVELOPE_E_MAGIC,
                                      "not a Hòm thư envelope: it does not start with "
                                      "HOMTHU"));
        if (r->fill < want)
            continue;
        int rc = 0;
        if (r->phase == R_HEADER) {
            memcpy(r->header, r->buf, sizeof r->header);
            rc = reader_open_header(r, err, errlen);
            r->phase = R_CHUNKS;
            r->fill = 0;
        } else if (r->phase == R_CHUNKS) {
            rc = reader_chunk(r, err, errlen);
            r->fill = 0;
        }
        if (rc)
            return reader_fail(r, rc);
    }
    return 0;
}

/* The signature state for trailer t: by its kind (which the signature covers too). */
static crypto_sign_state *reader_outer(struct envelope_reader *r, const uint8_t *t)
{
    if (r->header[H_VERSION] >= 2 && t[T_KIND] == TRAILER_CUT_SHORT)
        return &r->outer_cut;
    return &r->outer;
}

int envelope_reader_finish(struct envelope_reader *r, char *err, size_t errlen)
{
    if (!r)
        return say(err, errlen, ENVELOPE_E_ARG, "envelope: missing argument");
    if (r->error)
        return say(err, errlen, r->error, "envelope: the read already failed: %s",
                   envelope_strerror(r->error));
    int rc = 0, kind = 0;
    if (r->phase == R_HEADER) {
        uint8_t tmp[ENVELOPE_HEADER_BYTES] = {0};
        memcpy(tmp, r->buf, r->fill);
        struct envelope_header_info info;
        rc = envelope_parse_header(tmp, r->fill, &info, err, errlen); /* short: fails */
    } else if (r->npending) {
        rc = say(err, errlen, ENVELOPE_E_TAMPERED,
                 "tampered: chunk %u fails authentication (the envelope was altered)",
                 r->pending_at[0]);
    } else if (r->phase == R_TRAILER) {
        if (r->fill < ENVELOPE_TRAILER_BYTES)
            rc = say(err, errlen, ENVELOPE_E_TRUNCATED,
                     "truncated: the envelope's end marker is missing or cut");
        else if ((rc = trailer_check(reader_outer(r, r->buf), r->buf, r->chunks, r->info.device_pk, &kind,
                                     err, errlen)) == 0 &&
                 kind != TRAILER_COMPLETE)
            /* The power went between the last chunk and its end marker: the
               content is whole and signed, but the kiosk never said "sent". */
            rc = say(err, errlen, ENVELOPE_E_CUT_SHORT,
                     "cut short: the kiosk lost power while sealing this tip; all %u chunks "
                     "are there and signed (%llu bytes of audio)",
                     r->chunks, (unsigned long long)r->parser.audio_bytes);
    } else if (r->fill == ENVELOPE_TRAILER_BYTES &&
               memcmp(r->buf, trailer_magic, sizeof trailer_magic) == 0 &&
               r->buf[T_KIND] == TRAILER_CUT_SHORT) {
        rc = trailer_check(reader_outer(r, r->buf), r->buf, r->chunks, r->info.device_pk, &kind, err, errlen);
        if (rc == 0)
            rc = say(err, errlen, ENVELOPE_E_CUT_SHORT,
                     "cut short: the kiosk lost power while this tip was being recorded; "
                     "the first %u chunks (%llu bytes of audio) are genuine and were "
                     "recovered",
                     r->chunks, (unsigned long long)r->parser.audio_bytes);
    } else {
        rc = say(err, errlen, ENVELOPE_E_TRUNCATED,
                 "truncated: the envelope ends after %u chunks%s without its end marker "
                 "(damaged or cut in transit); what came before was recovered but cannot "
                 "be attributed to the kiosk",
                 r->chunks, r->fill ? " and part of another" : "");
    }
    r->phase = R_DONE;
    if (rc)
        r->error = rc;
    return rc;
}

/* ------------------------------------------------------------------ */
/* outer check, for the relay                                          */

/* A chunk's digest and its place, sorted by digest then place (envelope_verify_outer). */
struct chunk_digest {
    uint8_t h[16];
    uint32_t at;
};

static int chunk_digest_order(const void *a, const void *b)
{
    const struct chunk_digest *x = a, *y = b;
    int c = memcmp(x->h, y->h, sizeof x->h);
    return c ? c : (x->at > y->at) - (x->at < y->at);
}

int envelope_verify_outer(const uint8_t *b, size_t len, envelope_device_fn device_check,
                          void *device_ctx, uint64_t max_bytes, char *err, size_t errlen)
{
    struct envelope_header_info info;
    if (!b)
        return say(err, errlen, ENVELOPE_E_ARG, "envelope: missing argument");
    if (!max_bytes)
        max_bytes = ENVELOPE_DEFAULT_MAX_BYTES;
    if (len > max_bytes)
        return say(err, errlen, ENVELOPE_E_OVERSIZE,
                   "oversize: %zu bytes, more than the %llu allowed", len,
                   (unsigned long long)max_bytes);
    int rc = envelope_parse_header(b, len, &info, err, errlen);
    if (rc)
        return rc;
    rc = device_verdict(device_check, device_ctx, info.device_pk, err, errlen);
    if (rc)
        return rc;
    size_t body = len - ENVELOPE_HEADER_BYTES;
    if (body < ENVELOPE_TRAILER_BYTES || (body - ENVELOPE_TRAILER_BYTES) % ENVELOPE_CHUNK_CIPHER) {
        /* A valid trailer earlier in the data means bytes were appended. */
        for (size_t n = 1;
             ENVELOPE_HEADER_BYTES + n * ENVELOPE_CHUNK_CIPHER + ENVELOPE_TRAILER_BYTES <= len;
             n++) {
            const uint8_t *t = b + ENVELOPE_HEADER_BYTES + n * ENVELOPE_CHUNK_CIPHER;
            if (memcmp(t, trailer_magic, 4) == 0 && get_u32(t + T_COUNT) == n)
                return say(err, errlen, ENVELOPE_E_TRAILING,
                           "trailing bytes: data continues after the envelope's end marker");
        }
        return say(err, errlen, ENVELOPE_E_TRUNCATED,
                   "truncated: %zu bytes do not end on a whole chunk and end marker", len);
    }
    uint32_t chunks = (uint32_t)((body - ENVELOPE_TRAILER_BYTES) / ENVELOPE_CHUNK_CIPHER);
    const uint8_t *c = b + ENVELOPE_HEADER_BYTES;
    /*
     * Duplicated chunks: the digests sorted, so that equal ones sit side by
     * side (n log n: a relay checks envelopes of up to 256 MiB, 65,000
     * chunks, where comparing each with all before it took seconds). The
     * one told is what comparing in order finds first: the earliest chunk
     * that repeats one before it, and the first it repeats.
     */
    struct chunk_digest *hashes = malloc(((size_t)chunks + 1) * sizeof *hashes);
    if (!hashes)
        return say(err, errlen, ENVELOPE_E_NOMEM, "envelope: out of memory");
    /* The whole envelope is here: the trailer's kind picks the context first. */
    crypto_sign_state st;
    sign_begin(&st, b, c[(size_t)chunks * ENVELOPE_CHUNK_CIPHER + T_KIND] == TRAILER_CUT_SHORT
                           ? DOM_CUT_SHORT
                           : DOM_OUTER);
    for (uint32_t i = 0; i < chunks; i++) {
        const uint8_t *ci = c + (size_t)i * ENVELOPE_CHUNK_CIPHER;
        crypto_generichash(hashes[i].h, 16, ci, ENVELOPE_CHUNK_CIPHER, NULL, 0);
        hashes[i].at = i;
        crypto_sign_update(&st, ci, ENVELOPE_CHUNK_CIPHER);
    }
    qsort(hashes, chunks, sizeof *hashes, chunk_digest_order);
    uint32_t rep = UINT32_MAX, orig = 0;
    for (uint32_t k = 1; k < chunks; k++)
        if (memcmp(hashes[k].h, hashes[k - 1].h, 16) == 0 &&
            (k < 2 || memcmp(hashes[k - 1].h, hashes[k - 2].h, 16) != 0) && hashes[k].at < rep) {
            rep = hashes[k].at; /* the second of its run: the first repeat of that chunk */
            orig = hashes[k - 1].at;
        }
    free(hashes);
    if (rep != UINT32_MAX)
        return say(err, errlen, ENVELOPE_E_DUPLICATED, "duplicated chunk: chunk %u repeats chunk %u",
                   rep, orig);
    if (chunks == 0)
        return say(err, errlen, ENVELOPE_E_TRUNCATED, "truncated: the envelope holds no chunk");
    int kind = 0;
    rc = trailer_check(&st, c + (size_t)chunks * ENVELOPE_CHUNK_CIPHER, chunks, info.device_pk,
                       &kind, err, errlen);
    if (rc)
        return rc;
    if (kind == TRAILER_CUT_SHORT)
        return say(err, errlen, ENVELOPE_E_CUT_SHORT,
                   "cut short: signed by the kiosk after a power loss while recording");
    return 0;
}
