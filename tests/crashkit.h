/*
 * crashkit — what tests/helpers/crashwriter.c and its checker
 * (tests/test_crash.c) must agree on: the fixed test keys and the protocol
 * of the lines the writer prints.
 *
 * The writer prints one line per step, flushed at once, so a line that got
 * out is a promise kept by the queue:
 *   READY                 the queue is open
 *   BEGIN <id>            tip_begin() returned 0
 *   SENDING <id>          tip_send() is being called
 *   SAVED <id>            tip_send() returned 0: the kiosk said "saved"
 *   DISCARDING <id>       tip_discard() is being called (person walked away)
 *   DISCARDED <id>        tip_discard() returned 0
 *   DELIVERING <id>       the upload of a saved tip is being acknowledged
 *   DELIVERED <id>        queue_set_delivered() returned 0
 *   PURGED <n>            queue_purge_delivered() returned 0
 * ids are 32 lowercase hex digits.
 */
#ifndef HOMTHU_TEST_CRASHKIT_H
#define HOMTHU_TEST_CRASHKIT_H

#include <sodium.h>
#include <stdint.h>

/* Seeds of the fixed test keys (32 bytes each, never used outside tests). */
#define CRASH_POST_SEED "homthu crash-test post key seed!"
#define CRASH_DEVICE_SEED "homthu crash-test device key 01!"

/* Every text record the writer leaves starts with this. */
#define CRASH_NOTE_PREFIX "crash-test note "

struct crash_keys {
    uint8_t post_pk[32], post_sk[32];
    uint8_t device_pk[32], device_sk[64];
};

static inline int crash_keys_make(struct crash_keys *k)
{
    _Static_assert(sizeof CRASH_POST_SEED - 1 == 32, "post seed is 32 bytes");
    _Static_assert(sizeof CRASH_DEVICE_SEED - 1 == 32, "device seed is 32 bytes");
    if (sodium_init() < 0)
        return -1;
    if (crypto_box_seed_keypair(k->post_pk, k->post_sk, (const uint8_t *)CRASH_POST_SEED) != 0)
        return -1;
    return crypto_sign_seed_keypair(k->device_pk, k->device_sk, (const uint8_t *)CRASH_DEVICE_SEED);
}

#endif
