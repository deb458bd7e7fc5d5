/*
 * fuzz_envelope — the envelope reader, the relay's outer check and the
 * record parser on arbitrary bytes. The first byte picks the target:
 *   0: streaming reader with the fixed test post key, fed in slices of
 *      (byte 1 + 1) bytes; 1: envelope_verify_outer; 2: the record parser
 *   on a plaintext stream (AEAD cannot be forged by a fuzzer, so this is how
 *   the parser behind it gets explored).
 * Keys come from fixed seeds (post 0x11…, device 0x22…) so committed seeds
 * decrypt and their inner signatures verify (the *-category seeds: a tip
 * whose category was chosen after speaking, and late categories repeated,
 * out of range or followed by audio).
 */
#include <sodium.h>
#include <stdint.h>
#include <string.h>

#include "core/envelope.h"

#define FUZZ_MAX (256 * 1024)

static struct envelope_post_key post;
static uint8_t dev_pk[32], dev_sk[64];

static void keys(void)
{
    static int done;
    if (done)
        return;
    uint8_t seed[32];
    if (sodium_init() < 0)
        __builtin_trap();
    memset(seed, 0x11, sizeof seed);
    crypto_box_seed_keypair(post.pk, post.sk, seed);
    memset(seed, 0x22, sizeof seed);
    crypto_sign_seed_keypair(dev_pk, dev_sk, seed);
    done = 1;
}

static void on_meta(void *ctx, const struct envelope_meta *m)
{
    (void)ctx;
    if (m->language[8] != 0)
        __builtin_trap();
}

/* The parser hands the caller only values it may show the officer. */
static void on_when(void *ctx, uint8_t w)
{
    (void)ctx;
    if (w == WHEN_UNSET || w > WHEN_EARLIER)
        __builtin_trap();
}

static void on_category(void *ctx, uint8_t c)
{
    (void)ctx;
    if (c == CATEGORY_UNSET || c > CATEGORY_OTHER)
        __builtin_trap();
}

static void on_unconfirmed(void *ctx)
{
    (void)ctx;
}

static void on_bytes(void *ctx, const uint8_t *b, size_t len)
{
    volatile uint8_t sink = 0;
    (void)ctx;
    for (size_t i = 0; i < len; i++)
        sink ^= b[i]; /* touch every byte: ASan catches a bad pointer or length */
    (void)sink;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[512] = "";
    int rc = 0;
    if (size < 2 || size > FUZZ_MAX)
        return 0;
    keys();
    uint8_t mode = data[0] % 3;
    size_t slice = (size_t)data[1] + 1;
    data += 2;
    size -= 2;
    struct envelope_record_cb cb = {.meta = on_meta, .text = on_bytes, .audio = on_bytes,
                                    .when = on_when, .unconfirmed = on_unconfirmed,
                                    .category = on_category};
    if (mode == 0) {
        struct envelope_reader *r;
        struct envelope_reader_opts o = {.keys = &post, .nkeys = 1, .records = cb};
        if (envelope_reader_new(&r, &o) != 0)
            __builtin_trap();
        for (size_t off = 0; off < size && rc == 0; off += slice)
            rc = envelope_reader_feed(r, data + off, size - off < slice ? size - off : slice,
                                      err, sizeof err);
        if (rc == 0)
            rc = envelope_reader_finish(r, err, sizeof err);
        envelope_reader_free(r);
    } else if (mode == 1) {
        rc = envelope_verify_outer(data, size, NULL, NULL, 0, err, sizeof err);
    } else {
        uint8_t header[ENVELOPE_HEADER_BYTES] = {0};
        memcpy(header + 32, dev_pk, 32);
        rc = envelope_parse_records(data, size, header, &cb, err, sizeof err);
    }
    /* Every refusal must come with a sentence for the officer. */
    if (rc != 0 && (err[0] == 0 || rc < ENVELOPE_E_STATE))
        __builtin_trap();
    return 0;
}
