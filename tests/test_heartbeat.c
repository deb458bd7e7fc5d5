/* Tests for src/core/heartbeat.c: round trip through a sealed box, and every refusal. */
#include "check.h"
#include "core/heartbeat.h"
#include "kiosk/leds.h"

#include <sodium.h>

static void dev_keys(uint8_t pk[32], uint8_t sk[64])
{
    uint8_t seed[32];
    memset(seed, 7, sizeof seed);
    crypto_sign_seed_keypair(pk, sk, seed);
}

static struct heartbeat sample(void)
{
    struct heartbeat hb = {.tips_waiting = 3,
                           .faults = LEDS_FAULT_NO_MICROPHONE | LEDS_FAULT_UNDELIVERED,
                           .oldest_waiting_s = 7200,
                           .uptime_s = 86400 * 3 + 5,
                           .sent_at = 1764800000};
    snprintf(hb.version, sizeof hb.version, "0.1.0");
    return hb;
}

TEST(heartbeat_round_trip_through_the_post_seal)
{
    uint8_t pk[32], sk[64], ppk[32], psk[32];
    dev_keys(pk, sk);
    crypto_box_keypair(ppk, psk);
    struct heartbeat hb = sample(), got;
    uint8_t sealed[HEARTBEAT_SEALED_BYTES], plain[HEARTBEAT_PLAIN_BYTES];
    char err[200];
    ASSERT_EQ(heartbeat_seal(&hb, sk, ppk, sealed, err, sizeof err), 0);
    ASSERT_EQ(crypto_box_seal_open(plain, sealed, sizeof sealed, ppk, psk), 0);
    ASSERT_EQ(heartbeat_parse(plain, sizeof plain, &got, err, sizeof err), 0);
    ASSERT_EQ(got.tips_waiting, 3);
    ASSERT_EQ(got.faults, LEDS_FAULT_NO_MICROPHONE | LEDS_FAULT_UNDELIVERED);
    ASSERT_EQ(got.oldest_waiting_s, 7200);
    ASSERT_EQ(got.uptime_s, 86400 * 3 + 5);
    ASSERT_EQ(got.sent_at, 1764800000);
    ASSERT_STR_EQ(got.version, "0.1.0");
    ASSERT_MEM_EQ(got.device_pk, pk, 32);
    int codes[HEARTBEAT_NFAULTS];
    ASSERT_EQ(heartbeat_fault_codes(got.faults, codes), 2);
    ASSERT_EQ(codes[0], 4);
    ASSERT_EQ(codes[1], 5);
    ASSERT_STR_EQ(heartbeat_fault_name(codes[0]), "no microphone");
}

TEST(heartbeat_is_the_same_size_whatever_it_says)
{
    uint8_t pk[32], sk[64], ppk[32], psk[32];
    dev_keys(pk, sk);
    crypto_box_keypair(ppk, psk);
    struct heartbeat a = {0}, b = sample();
    snprintf(a.version, sizeof a.version, "1");
    snprintf(b.version, sizeof b.version, "0.1.0-with-a-longer-name+build");
    uint8_t sa[HEARTBEAT_SEALED_BYTES], sb[HEARTBEAT_SEALED_BYTES];
    char err[200];
    ASSERT_EQ(heartbeat_seal(&a, sk, ppk, sa, err, sizeof err), 0);
    ASSERT_EQ(heartbeat_seal(&b, sk, ppk, sb, err, sizeof err), 0);
    ASSERT_EQ(sizeof sa, 304);
    /* Sealed afresh each time: two of the same say nothing alike to the relay. */
    uint8_t sa2[HEARTBEAT_SEALED_BYTES];
    ASSERT_EQ(heartbeat_seal(&a, sk, ppk, sa2, err, sizeof err), 0);
    ASSERT(memcmp(sa, sa2, sizeof sa) != 0);
}

TEST(heartbeat_encode_refuses_what_it_cannot_say)
{
    uint8_t pk[32], sk[64], out[HEARTBEAT_PLAIN_BYTES];
    dev_keys(pk, sk);
    char err[200];
    struct heartbeat hb = sample();
    hb.faults = 1u << 6;
    ASSERT_EQ(heartbeat_encode(&hb, sk, out, err, sizeof err), HEARTBEAT_E_ARG);
    ASSERT_CONTAINS(err, "fault");
    hb = sample();
    hb.version[0] = 0;
    ASSERT_EQ(heartbeat_encode(&hb, sk, out, err, sizeof err), HEARTBEAT_E_ARG);
    snprintf(hb.version, sizeof hb.version, "0.1 beta");
    ASSERT_EQ(heartbeat_encode(&hb, sk, out, err, sizeof err), HEARTBEAT_E_ARG);
}

/* A valid plaintext to break. */
static void plain_of(uint8_t out[HEARTBEAT_PLAIN_BYTES])
{
    uint8_t pk[32], sk[64];
    dev_keys(pk, sk);
    struct heartbeat hb = sample();
    char err[200];
    ASSERT_EQ(heartbeat_encode(&hb, sk, out, err, sizeof err), 0);
}

TEST(heartbeat_parse_refuses_truncated_and_garbage_input)
{
    uint8_t p[HEARTBEAT_PLAIN_BYTES + 1];
    plain_of(p);
    struct heartbeat got;
    char err[200];
    for (size_t n = 0; n < HEARTBEAT_PLAIN_BYTES; n += 17) {
        ASSERT_EQ(heartbeat_parse(p, n, &got, err, sizeof err), HEARTBEAT_E_MALFORMED);
        ASSERT_CONTAINS(err, "length");
    }
    ASSERT_EQ(heartbeat_parse(p, HEARTBEAT_PLAIN_BYTES - 1, &got, err, sizeof err),
              HEARTBEAT_E_MALFORMED);
    ASSERT_EQ(heartbeat_parse(p, HEARTBEAT_PLAIN_BYTES + 1, &got, err, sizeof err),
              HEARTBEAT_E_MALFORMED);
    ASSERT_EQ(heartbeat_parse(NULL, HEARTBEAT_PLAIN_BYTES, &got, err, sizeof err),
              HEARTBEAT_E_MALFORMED);
    uint8_t g[HEARTBEAT_PLAIN_BYTES];
    randombytes_buf(g, sizeof g);
    ASSERT(heartbeat_parse(g, sizeof g, &got, err, sizeof err) < 0);
    ASSERT_EQ(got.tips_waiting, 0); /* nothing of a refused one is given out */
    memset(g, 0, sizeof g);
    ASSERT_EQ(heartbeat_parse(g, sizeof g, &got, err, sizeof err), HEARTBEAT_E_MALFORMED);
}

TEST(heartbeat_parse_checks_every_field_and_the_signature)
{
    uint8_t good[HEARTBEAT_PLAIN_BYTES], p[HEARTBEAT_PLAIN_BYTES];
    plain_of(good);
    struct heartbeat got;
    char err[200];
    ASSERT_EQ(heartbeat_parse(good, sizeof good, &got, err, sizeof err), 0);
    /* Each change below is refused, whatever the signature says. */
    struct {
        size_t off;
        uint8_t val;
        int want;
    } cases[] = {
        {0, 'X', HEARTBEAT_E_MALFORMED},   /* the mark */
        {4, 2, HEARTBEAT_E_MALFORMED},     /* a newer format */
        {6, 1, HEARTBEAT_E_MALFORMED},     /* reserved */
        {12, 0x40, HEARTBEAT_E_MALFORMED}, /* a fault bit no LED code has */
        {39, 0x80, HEARTBEAT_E_MALFORMED}, /* a negative sending time */
        {72, 0, HEARTBEAT_E_MALFORMED},    /* an empty version */
        {73, ' ', HEARTBEAT_E_MALFORMED},  /* a space in it */
        {90, 'x', HEARTBEAT_E_MALFORMED},  /* a byte after its NUL */
        {150, 1, HEARTBEAT_E_MALFORMED},   /* padding */
        {8, 99, HEARTBEAT_E_SIGNATURE},    /* the count, changed after signing */
        {50, 1, HEARTBEAT_E_SIGNATURE},    /* another device key */
        {200, 1, HEARTBEAT_E_SIGNATURE},   /* the signature itself */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        memcpy(p, good, sizeof p);
        size_t at = cases[i].off;
        p[at] = cases[i].val ? (uint8_t)(p[at] ^ cases[i].val) : 0; /* 0: the byte cleared */
        if (heartbeat_parse(p, sizeof p, &got, err, sizeof err) != cases[i].want)
            check_fail(__FILE__, __LINE__, "case %zu (byte %zu): %s", i, cases[i].off, err);
        ASSERT(err[0]);
    }
    /* A version of all 32 bytes has no room for its NUL. */
    memcpy(p, good, sizeof p);
    memset(p + 72, 'v', 32);
    ASSERT_EQ(heartbeat_parse(p, sizeof p, &got, err, sizeof err), HEARTBEAT_E_MALFORMED);
}

TEST(heartbeat_fault_names_are_the_red_leds)
{
    for (int code = 1; code <= HEARTBEAT_NFAULTS; code++) {
        ASSERT_STR_EQ(heartbeat_fault_name(code), leds_fault_name(code));
        ASSERT_EQ(heartbeat_fault_code(1u << (code - 1)), leds_fault_code(1u << (code - 1)));
    }
    ASSERT_EQ(HEARTBEAT_NFAULTS, LEDS_NFAULTS);
    ASSERT_EQ(heartbeat_fault_code(LEDS_FAULT_NO_POST_KEY), 1);
    ASSERT_EQ(heartbeat_fault_code(LEDS_FAULT_NO_SPEAKER), 6);
    ASSERT_EQ(heartbeat_fault_code(3), 0);
    ASSERT_STR_EQ(heartbeat_fault_name(0), "");
}
