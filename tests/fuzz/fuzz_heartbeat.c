/*
 * fuzz_heartbeat — the heartbeat parser (core/heartbeat.c) on arbitrary
 * bytes: what the post reads out of a box the relay handed it.
 *
 * An input of HEARTBEAT_SEALED_BYTES is also opened as a box sealed to a
 * fixed post key (seed bytes 2..33), and what it opens to parsed, so seeds
 * can carry real sealed heartbeats. The harness traps when a refusal leaves
 * anything in the result or says nothing, or when an accepted heartbeat
 * holds what the format forbids (unknown fault bits, a bad version).
 *
 * Build the seeds again with: cc -DFUZZ_HEARTBEAT_SEEDS -Isrc ... (see the
 * bottom of this file); they go to tests/fuzz/corpus/heartbeat/.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "core/heartbeat.h"

static uint8_t post_pk[32], post_sk[32];

static void keys_once(void)
{
    static int done;
    if (done)
        return;
    if (sodium_init() < 0)
        __builtin_trap();
    uint8_t seed[32];
    memset(seed, 2, sizeof seed);
    crypto_box_seed_keypair(post_pk, post_sk, seed);
    done = 1;
}

static void check(const uint8_t *p, size_t n)
{
    struct heartbeat hb;
    char err[200] = "";
    int rc = heartbeat_parse(p, n, &hb, err, sizeof err);
    if (rc) {
        static const struct heartbeat zero;
        if (rc != HEARTBEAT_E_MALFORMED && rc != HEARTBEAT_E_SIGNATURE)
            __builtin_trap();
        if (memcmp(&hb, &zero, sizeof hb) != 0 || !memchr(err, 0, sizeof err) || !err[0])
            __builtin_trap();
        return;
    }
    size_t vl = strnlen(hb.version, sizeof hb.version);
    if (hb.faults & ~HEARTBEAT_FAULT_MASK || vl == 0 || vl > HEARTBEAT_VERSION_MAX ||
        hb.sent_at < 0)
        __builtin_trap();
    for (size_t i = 0; i < vl; i++)
        if ((unsigned char)hb.version[i] <= 0x20 || (unsigned char)hb.version[i] >= 0x7f)
            __builtin_trap();
    int codes[HEARTBEAT_NFAULTS];
    size_t k = heartbeat_fault_codes(hb.faults, codes);
    for (size_t i = 0; i < k; i++)
        if (!heartbeat_fault_name(codes[i])[0])
            __builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 4096)
        return 0;
    keys_once();
    check(data, size);
    if (size == HEARTBEAT_SEALED_BYTES) {
        uint8_t plain[HEARTBEAT_PLAIN_BYTES];
        if (crypto_box_seal_open(plain, data, size, post_pk, post_sk) == 0)
            check(plain, sizeof plain);
    }
    return 0;
}

#ifdef FUZZ_HEARTBEAT_SEEDS
/* cc -DFUZZ_HEARTBEAT_SEEDS -D_GNU_SOURCE -Isrc tests/fuzz/fuzz_heartbeat.c
 *    src/core/heartbeat.c src/core/errbuf.c -lsodium -o /tmp/seeds && /tmp/seeds DIR */
static void put(const char *dir, const char *name, const uint8_t *b, size_t n)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(b, 1, n, f) != n || fclose(f) != 0)
        __builtin_trap();
}

int main(int argc, char **argv)
{
    if (argc != 2)
        return 2;
    keys_once();
    uint8_t seed[32], pk[32], sk[64];
    memset(seed, 1, sizeof seed);
    crypto_sign_seed_keypair(pk, sk, seed);
    struct heartbeat hb = {.tips_waiting = 2, .faults = 0x18, .oldest_waiting_s = 3600,
                           .uptime_s = 90000, .sent_at = 1764800000};
    snprintf(hb.version, sizeof hb.version, "0.1.0");
    uint8_t plain[HEARTBEAT_PLAIN_BYTES], sealed[HEARTBEAT_SEALED_BYTES];
    char err[200];
    if (heartbeat_encode(&hb, sk, plain, err, sizeof err) ||
        heartbeat_seal(&hb, sk, post_pk, sealed, err, sizeof err))
        return 1;
    put(argv[1], "plain_valid", plain, sizeof plain);
    put(argv[1], "sealed_valid", sealed, sizeof sealed);
    put(argv[1], "plain_truncated", plain, 100);
    struct heartbeat quiet = {0};
    snprintf(quiet.version, sizeof quiet.version, "0.0.1-dev+2026");
    if (heartbeat_encode(&quiet, sk, plain, err, sizeof err))
        return 1;
    put(argv[1], "plain_quiet", plain, sizeof plain);
    plain[8] ^= 1; /* signed over something else */
    put(argv[1], "plain_bad_signature", plain, sizeof plain);
    uint8_t junk[HEARTBEAT_SEALED_BYTES];
    randombytes_buf(junk, sizeof junk);
    put(argv[1], "sealed_garbage", junk, sizeof junk);
    return 0;
}
#endif
