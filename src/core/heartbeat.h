/*
 * heartbeat — what a kiosk tells the post about its health, through the
 * relay, on a fixed schedule (docs/relay-protocol.md, "Heartbeats").
 *
 * A heartbeat says how many tips wait in the kiosk's queue and how old the
 * oldest is, which faults its red LED blinks (enum leds_fault bits), its
 * software version and how long it has been up: never a tip's content, id
 * or size, and it is sent on a clock of its own, never after a tip, so it
 * cannot time one.
 *
 * The message is HEARTBEAT_PLAIN_BYTES long whatever it says (the relay
 * sees every heartbeat the same size), signed inside by the kiosk's device
 * key (so the post knows the kiosk said it: a sealed box alone is anonymous,
 * and the relay could make one), then sealed to the post's public key
 * (crypto_box_seal: the relay can read none of it). The kiosk's request to
 * the relay is signed like every kiosk request besides.
 *
 * Layout of the plaintext (little-endian numbers):
 *
 *   0   4  "HMHB"
 *   4   1  format, 1
 *   5   3  zero
 *   8   4  tips waiting (sealed or uploading)
 *  12   4  faults: enum leds_fault bits, no others
 *  16   8  seconds the oldest waiting tip has waited (0 when none)
 *  24   8  seconds the kiosk has been up
 *  32   8  the kiosk's idea of the relay's clock when it sent (0: unknown)
 *  40  32  the kiosk's Ed25519 device public key
 *  72  32  version ("0.1.0"), printable ASCII, NUL-padded
 * 104  88  zero
 * 192  64  Ed25519 signature by that key over bytes 0..191
 *
 * heartbeat_parse() is a parser of outside input (what a box opened to):
 * strict, every byte checked, fuzzed (tests/fuzz/fuzz_heartbeat.c).
 *
 * Errors: 0 or a negative enum heartbeat_error, with a sentence in `err`.
 */
#ifndef HOMTHU_HEARTBEAT_H
#define HOMTHU_HEARTBEAT_H

#include <stddef.h>
#include <stdint.h>

#define HEARTBEAT_PLAIN_BYTES 256
#define HEARTBEAT_SEAL_BYTES 48 /* crypto_box_SEALBYTES */
#define HEARTBEAT_SEALED_BYTES (HEARTBEAT_PLAIN_BYTES + HEARTBEAT_SEAL_BYTES)
#define HEARTBEAT_VERSION_MAX 31 /* bytes of the version string */
#define HEARTBEAT_NFAULTS 6      /* as LEDS_NFAULTS */
#define HEARTBEAT_FAULT_MASK ((1u << HEARTBEAT_NFAULTS) - 1)

enum heartbeat_error {
    HEARTBEAT_OK = 0,
    HEARTBEAT_E_ARG = -1,       /* programmer error: a value that cannot be sent */
    HEARTBEAT_E_MALFORMED = -2, /* not a heartbeat of this format */
    HEARTBEAT_E_SIGNATURE = -3, /* well formed, but the device key did not sign it */
    HEARTBEAT_E_SEAL = -4,      /* sealing failed (a bad post key) */
};

struct heartbeat {
    uint32_t tips_waiting;
    uint32_t faults;           /* enum leds_fault bits */
    uint64_t oldest_waiting_s; /* 0 when none waits */
    uint64_t uptime_s;
    int64_t sent_at;           /* relay clock as the kiosk knew it; 0 unknown */
    uint8_t device_pk[32];     /* filled by heartbeat_encode from the secret key */
    char version[HEARTBEAT_VERSION_MAX + 1];
};

/*
 * The plaintext of `hb`, signed with `device_sk` (64 bytes, libsodium
 * Ed25519; hb->device_pk is ignored, the key's own public half is used).
 * HEARTBEAT_E_ARG for unknown fault bits or a version that is empty, too
 * long or not printable ASCII.
 */
int heartbeat_encode(const struct heartbeat *hb, const uint8_t device_sk[64],
                     uint8_t out[HEARTBEAT_PLAIN_BYTES], char *err, size_t errlen)
    __attribute__((warn_unused_result));

/* heartbeat_encode, then sealed to the post's X25519 public key. */
int heartbeat_seal(const struct heartbeat *hb, const uint8_t device_sk[64],
                   const uint8_t post_pk[32], uint8_t out[HEARTBEAT_SEALED_BYTES], char *err,
                   size_t errlen) __attribute__((warn_unused_result));

/*
 * Read an opened plaintext (len must be HEARTBEAT_PLAIN_BYTES). Checks
 * every byte and the signature. On failure *out is zeroed.
 */
int heartbeat_parse(const uint8_t *plain, size_t len, struct heartbeat *out, char *err,
                    size_t errlen) __attribute__((warn_unused_result));

/*
 * The red LED's blink code (1–6) of one fault bit, 0 for a value that is
 * not exactly one known bit; and the English name of a code ("no post key"),
 * "" for none. The same table as kiosk/leds.c (leds_fault_name), kept here
 * so the post's programs need no kiosk code; tests/test_heartbeat.c checks
 * they agree.
 */
int heartbeat_fault_code(uint32_t bit);
const char *heartbeat_fault_name(int code);

/*
 * The codes of every fault in `faults`, most urgent first, into codes[]
 * (room for HEARTBEAT_NFAULTS). Returns how many.
 */
size_t heartbeat_fault_codes(uint32_t faults, int codes[HEARTBEAT_NFAULTS]);

#endif
