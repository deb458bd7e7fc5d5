/* Tests for src/leds: every pattern, every fault's blink code, the priority
 * of faults, the lamp test, and the queue watch that drives the amber LED.
 * The fake GPIO port records every transition; sequences are compared
 * exactly, as "<led><0|1>@<ms>" tokens: "G1@0 G0@500 A1@500". */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "core/config.h"
#include "kiosk/gpio.h"
#include "kiosk/kiosk.h"
#include "kiosk/leds.h"
#include "core/queue.h"

struct rig {
    struct gpio_port port;
    struct gpio_fake *fake;
    struct leds *leds;
};

static void rig_open(struct rig *r, uint32_t days)
{
    ASSERT_EQ(gpio_fake_open(&r->port, &r->fake, 0), 0);
    r->leds = leds_new(&r->port, days);
    ASSERT(r->leds);
}

static void rig_close(struct rig *r)
{
    leds_free(r->leds);
    gpio_close(&r->port);
}

/* leds_update every millisecond of [from, to). */
static void run(struct rig *r, const struct leds_status *st, uint32_t from, uint32_t to)
{
    for (uint32_t t = from; t != to; t++) {
        gpio_fake_set_now(r->fake, t);
        ASSERT_EQ(leds_update(r->leds, st, t), 0);
    }
}

/* Transitions of the LEDs in `which` ("GAR" for all), as tokens; static buffer. */
static const char *changes(const struct rig *r, const char *which)
{
    static char buf[8192];
    size_t n, off = 0;
    const struct gpio_fake_change *c = gpio_fake_changes(r->fake, &n);
    buf[0] = 0;
    for (size_t i = 0; i < n; i++) {
        char name = "GAR"[c[i].led];
        if (!strchr(which, name))
            continue;
        int w = snprintf(buf + off, sizeof buf - off, "%s%c%d@%u", off ? " " : "", name, c[i].on,
                         c[i].t_ms);
        ASSERT(w > 0 && (size_t)w < sizeof buf - off);
        off += (size_t)w;
    }
    return buf;
}

/* Past the lamp test with a given status, transitions forgotten. */
static void boot(struct rig *r, const struct leds_status *st)
{
    run(r, st, 0, 2000);
    gpio_fake_clear(r->fake);
}

TEST(test_leds_lamp_test_lights_each_led_in_turn_at_boot)
{
    struct rig r;
    rig_open(&r, 3);
    /* Even with a fault and tips waiting, the lamp test comes first. */
    struct leds_status st = {.faults = LEDS_FAULT_QUEUE, .tips_waiting = 2};
    run(&r, &st, 0, 1999);
    ASSERT_STR_EQ(leds_pattern_name(r.leds, GPIO_LED_GREEN), "lamp-test");
    ASSERT_STR_EQ(leds_pattern_name(r.leds, GPIO_LED_RED), "lamp-test");
    run(&r, &st, 1999, 2001);
    /* Each alone for 500 ms, all dark for 500 ms, then what they mean. */
    ASSERT_STR_EQ(changes(&r, "GAR"), "G1@0 G0@500 A1@500 A0@1000 R1@1000 R0@1500 G1@2000 "
                                      "A1@2000 R1@2000");
    ASSERT_STR_EQ(leds_pattern_name(r.leds, GPIO_LED_GREEN), "heartbeat");
    ASSERT_STR_EQ(leds_pattern_name(r.leds, GPIO_LED_AMBER), "steady");
    ASSERT_STR_EQ(leds_pattern_name(r.leds, GPIO_LED_RED), "code-2");
    rig_close(&r);
}

TEST(test_leds_lamp_test_starts_at_the_first_update_whatever_the_clock)
{
    struct rig r;
    rig_open(&r, 3);
    struct leds_status st = {0};
    /* The monotonic clock is far along, and about to wrap round. */
    uint32_t t0 = UINT32_MAX - 700;
    run(&r, &st, t0, t0 + 2200);
    ASSERT_STR_EQ(changes(&r, "GAR"), "G1@4294966595 G0@4294967095 A1@4294967095 A0@299 "
                                      "R1@299 R0@799 G1@1299 G0@1399");
    rig_close(&r);
}

TEST(test_leds_lamp_test_runs_again_when_the_technician_asks)
{
    struct rig r;
    rig_open(&r, 3);
    struct leds_status st = {.faults = LEDS_FAULT_NO_MICROPHONE, .tips_waiting = 1};
    boot(&r, &st);
    run(&r, &st, 2000, 2700); /* red's code 4 is in its second blink */
    gpio_fake_clear(r.fake);
    leds_lamp_test(r.leds, 2700);
    ASSERT_STR_EQ(leds_pattern_name(r.leds, GPIO_LED_RED), "lamp-test");
    run(&r, &st, 2700, 4701);
    ASSERT_STR_EQ(changes(&r, "GAR"), "G1@2700 A0@2700 R0@2700 G0@3200 A1@3200 A0@3700 R1@3700 "
                                      "R0@4200 G1@4700 A1@4700 R1@4700");
    rig_close(&r);
}

TEST(test_leds_green_heartbeat_is_100ms_every_2s)
{
    struct rig r;
    rig_open(&r, 3);
    struct leds_status st = {0};
    boot(&r, &st);
    run(&r, &st, 2000, 8100);
    ASSERT_STR_EQ(changes(&r, "GAR"), "G1@2000 G0@2100 G1@4000 G0@4100 G1@6000 G0@6100 G1@8000");
    ASSERT_STR_EQ(leds_pattern_name(r.leds, GPIO_LED_AMBER), "off");
    ASSERT_STR_EQ(leds_pattern_name(r.leds, GPIO_LED_RED), "off");
    rig_close(&r);
}

TEST(test_leds_amber_is_off_steady_when_waiting_and_blinks_2hz_when_sending)
{
    struct rig r;
    rig_open(&r, 3);
    struct leds_status st = {0};
    boot(&r, &st);
    run(&r, &st, 2000, 2500);
    ASSERT_STR_EQ(changes(&r, "A"), "");

    st.tips_waiting = 1;
    run(&r, &st, 2500, 3500);
    ASSERT_STR_EQ(changes(&r, "A"), "A1@2500");
    ASSERT_STR_EQ(leds_pattern_name(r.leds, GPIO_LED_AMBER), "steady");
    gpio_fake_clear(r.fake);

    /* Sending: the blink starts with its lit half, so from steady the
       first change is the LED going dark 250 ms later. */
    st.sending = 1;
    run(&r, &st, 3500, 4600);
    ASSERT_STR_EQ(leds_pattern_name(r.leds, GPIO_LED_AMBER), "blink-2hz");
    ASSERT_STR_EQ(changes(&r, "A"), "A0@3750 A1@4000 A0@4250 A1@4500");
    gpio_fake_clear(r.fake);

    /* Sent, nothing left: dark. */
    st.sending = 0;
    st.tips_waiting = 0;
    run(&r, &st, 4600, 5500);
    ASSERT_STR_EQ(changes(&r, "A"), "A0@4600");
    /* Green kept its own rhythm through all of it: its next beat is at 6000. */
    ASSERT_STR_EQ(changes(&r, "G"), "");
    rig_close(&r);
}

/* The red LED for fault code n over two cycles, starting at `t0`. */
static void expect_code(struct rig *r, int n, uint32_t t0)
{
    char want[1024];
    size_t off = 0;
    uint32_t period = (uint32_t)n * 600 - 300 + 1500;
    for (int cycle = 0; cycle < 2; cycle++)
        for (int k = 0; k < n; k++) {
            uint32_t on = t0 + (uint32_t)cycle * period + (uint32_t)k * 600;
            off += (size_t)snprintf(want + off, sizeof want - off, "%sR1@%u R0@%u", off ? " " : "",
                                    on, on + 300);
        }
    ASSERT_STR_EQ(changes(r, "R"), want);
}

TEST(test_leds_each_fault_blinks_its_code_then_pauses)
{
    static const struct {
        unsigned fault;
        int code;
        const char *name;
    } faults[] = {
        {LEDS_FAULT_NO_POST_KEY, 1, "no post key"},
        {LEDS_FAULT_QUEUE, 2, "queue error"},
        {LEDS_FAULT_DISK, 3, "disk nearly full"},
        {LEDS_FAULT_NO_MICROPHONE, 4, "no microphone"},
        {LEDS_FAULT_UNDELIVERED, 5, "nothing delivered"},
        {LEDS_FAULT_NO_SPEAKER, 6, "no speaker"},
    };
    for (size_t i = 0; i < sizeof faults / sizeof faults[0]; i++) {
        struct rig r;
        rig_open(&r, 3);
        struct leds_status st = {.faults = faults[i].fault};
        boot(&r, &st);
        int n = faults[i].code;
        uint32_t period = (uint32_t)n * 600 + 1200;
        run(&r, &st, 2000, 2000 + 2 * period);
        expect_code(&r, n, 2000);
        char name[16];
        snprintf(name, sizeof name, "code-%d", n);
        ASSERT_STR_EQ(leds_pattern_name(r.leds, GPIO_LED_RED), name);
        ASSERT_EQ(leds_fault_code(faults[i].fault), n);
        ASSERT_STR_EQ(leds_fault_name(n), faults[i].name);
        rig_close(&r);
    }
    ASSERT_EQ(leds_fault_code(0), 0);
    ASSERT_STR_EQ(leds_fault_name(0), "none");
    ASSERT_STR_EQ(leds_fault_name(7), "none");
}

TEST(test_leds_code_3_is_exactly_three_blinks_and_a_pause)
{
    struct rig r;
    rig_open(&r, 3);
    struct leds_status st = {.faults = LEDS_FAULT_DISK};
    boot(&r, &st);
    run(&r, &st, 2000, 2000 + 2 * 3000);
    /* 3 × (300 on, 300 off), the last "off" stretched to 1500: 3000 ms. */
    ASSERT_STR_EQ(changes(&r, "R"), "R1@2000 R0@2300 R1@2600 R0@2900 R1@3200 R0@3500 "
                                    "R1@5000 R0@5300 R1@5600 R0@5900 R1@6200 R0@6500");
    rig_close(&r);
}

TEST(test_leds_most_urgent_fault_is_blinked_and_a_new_code_starts_from_its_first_blink)
{
    struct rig r;
    rig_open(&r, 3);
    struct leds_status st = {.faults = LEDS_FAULT_NO_MICROPHONE | LEDS_FAULT_DISK |
                                       LEDS_FAULT_NO_SPEAKER};
    boot(&r, &st);
    run(&r, &st, 2000, 5000);
    ASSERT_STR_EQ(leds_pattern_name(r.leds, GPIO_LED_RED), "code-3");
    ASSERT_EQ(leds_faults(r.leds),
              LEDS_FAULT_NO_MICROPHONE | LEDS_FAULT_DISK | LEDS_FAULT_NO_SPEAKER);
    gpio_fake_clear(r.fake);

    /* The post key goes missing mid-code: code 1 starts at once. */
    st.faults |= LEDS_FAULT_NO_POST_KEY;
    run(&r, &st, 5150, 5150 + 2 * 1800);
    expect_code(&r, 1, 5150);
    gpio_fake_clear(r.fake);

    /* Key back, disk cleaned up: the microphone is what is left on top. */
    st.faults = LEDS_FAULT_NO_MICROPHONE | LEDS_FAULT_NO_SPEAKER;
    run(&r, &st, 10000, 10000 + 2 * 3600);
    expect_code(&r, 4, 10000);
    gpio_fake_clear(r.fake);

    /* Everything fixed: dark, and it stays dark. */
    st.faults = 0;
    run(&r, &st, 20000, 30000);
    ASSERT_STR_EQ(changes(&r, "R"), "");
    ASSERT_EQ(gpio_fake_led(r.fake, GPIO_LED_RED), 0);
    ASSERT_STR_EQ(leds_pattern_name(r.leds, GPIO_LED_RED), "off");
    rig_close(&r);
}

TEST(test_leds_nothing_delivered_for_n_days_gives_code_5)
{
    struct rig r;
    rig_open(&r, 2);
    struct leds_status st = {.tips_waiting = 4, .undelivered_s = 2 * 86400 - 1};
    boot(&r, &st);
    run(&r, &st, 2000, 5000);
    ASSERT_STR_EQ(leds_pattern_name(r.leds, GPIO_LED_RED), "off");
    ASSERT_EQ(leds_faults(r.leds), 0);
    st.undelivered_s = 2 * 86400;
    run(&r, &st, 5000, 5000 + 2 * 4200);
    ASSERT_EQ(leds_faults(r.leds), LEDS_FAULT_UNDELIVERED);
    expect_code(&r, 5, 5000);
    /* A more urgent fault still wins over it. */
    st.faults = LEDS_FAULT_NO_MICROPHONE;
    run(&r, &st, 20000, 20001);
    ASSERT_STR_EQ(leds_pattern_name(r.leds, GPIO_LED_RED), "code-4");
    rig_close(&r);
}

TEST(test_leds_write_only_the_lines_that_change)
{
    struct rig r;
    rig_open(&r, 3);
    struct leds_status st = {.tips_waiting = 1};
    run(&r, &st, 0, 20000); /* 20000 updates */
    size_t n;
    gpio_fake_changes(r.fake, &n);
    /* Three first writes, then only transitions. */
    ASSERT_EQ(gpio_fake_set_calls(r.fake), n + 2);
    rig_close(&r);
}

/* A loop that sleeps until leds_next_ms() sees the same transitions as
 * one that looks every millisecond. */
TEST(test_leds_next_ms_wakes_the_loop_for_every_change)
{
    struct leds_status st = {.faults = LEDS_FAULT_QUEUE, .tips_waiting = 1, .sending = 1};
    struct rig fine, lazy;
    rig_open(&fine, 3);
    rig_open(&lazy, 3);
    run(&fine, &st, 0, 20000);
    uint32_t t = 0;
    int wakes = 0;
    while (t < 20000) {
        gpio_fake_set_now(lazy.fake, t);
        ASSERT_EQ(leds_update(lazy.leds, &st, t), 0);
        uint32_t d = leds_next_ms(lazy.leds, t);
        ASSERT(d > 0 && d <= LEDS_HEARTBEAT_PERIOD_MS);
        t += d;
        wakes++;
    }
    char want[8192];
    snprintf(want, sizeof want, "%s", changes(&fine, "GAR"));
    ASSERT_STR_EQ(changes(&lazy, "GAR"), want);
    ASSERT(wakes < 200); /* not 20000 */
    rig_close(&fine);
    rig_close(&lazy);
}

TEST(test_leds_late_loop_keeps_the_rhythm)
{
    /* A loop that comes round late switches late, but the pattern's phase
       does not drift: the next heartbeat is still on the 2 s grid. */
    struct rig r;
    rig_open(&r, 3);
    struct leds_status st = {0};
    boot(&r, &st);
    for (uint32_t t = 2000; t < 9500; t += 70) {
        gpio_fake_set_now(r.fake, t);
        ASSERT_EQ(leds_update(r.leds, &st, t), 0);
    }
    ASSERT_STR_EQ(changes(&r, "G"), "G1@2000 G0@2140 G1@4030 G0@4100 G1@6060 G0@6130 G1@8020 "
                                    "G0@8160");
    rig_close(&r);
}

TEST(test_leds_port_errors_are_returned_and_retried)
{
    struct rig r;
    rig_open(&r, 3);
    struct leds_status st = {0};
    gpio_fake_fail(r.fake, EIO);
    gpio_fake_set_now(r.fake, 0);
    ASSERT_EQ(leds_update(r.leds, &st, 0), -EIO);
    gpio_fake_fail(r.fake, 0);
    gpio_fake_set_now(r.fake, 10);
    ASSERT_EQ(leds_update(r.leds, &st, 10), 0);
    ASSERT_EQ(gpio_fake_led(r.fake, GPIO_LED_GREEN), 1);
    rig_close(&r);

    /* A port without LEDs. */
    struct gpio_port none = {0};
    struct leds *l = leds_new(&none, 3);
    ASSERT(l);
    ASSERT_EQ(leds_update(l, &st, 0), -ENODEV);
    leds_free(l);
}

TEST(test_leds_free_darkens_every_led)
{
    struct rig r;
    rig_open(&r, 3);
    struct leds_status st = {.faults = LEDS_FAULT_QUEUE, .tips_waiting = 1};
    run(&r, &st, 0, 2100);
    ASSERT_EQ(gpio_fake_led(r.fake, GPIO_LED_AMBER), 1);
    leds_free(r.leds);
    for (int i = 0; i < GPIO_NLEDS; i++)
        ASSERT_EQ(gpio_fake_led(r.fake, i), 0);
    gpio_close(&r.port);
    leds_free(NULL);
}

TEST(test_leds_map_kiosk_faults_and_disk_space)
{
    ASSERT_EQ(leds_faults_from_kiosk(0), 0);
    ASSERT_EQ(leds_faults_from_kiosk(KIOSK_FAULT_NO_POST_KEY), LEDS_FAULT_NO_POST_KEY);
    ASSERT_EQ(leds_faults_from_kiosk(KIOSK_FAULT_QUEUE), LEDS_FAULT_QUEUE);
    ASSERT_EQ(leds_faults_from_kiosk(KIOSK_FAULT_DISK_FULL), LEDS_FAULT_DISK);
    ASSERT_EQ(leds_faults_from_kiosk(KIOSK_FAULT_NO_MICROPHONE), LEDS_FAULT_NO_MICROPHONE);
    ASSERT_EQ(leds_faults_from_kiosk(KIOSK_FAULT_NO_SPEAKER), LEDS_FAULT_NO_SPEAKER);
    ASSERT_EQ(leds_faults_from_kiosk(KIOSK_FAULT_QUEUE | KIOSK_FAULT_DISK_FULL),
              LEDS_FAULT_QUEUE | LEDS_FAULT_DISK);

    uint64_t mib = 1u << 20, gib = 1u << 30;
    ASSERT(leds_disk_nearly_full(63 * mib, 200 * mib)); /* under 64 MiB */
    ASSERT(!leds_disk_nearly_full(64 * mib, 200 * mib));
    ASSERT(leds_disk_nearly_full(1 * gib, 32 * gib));  /* 3 % of a 32 GB card */
    ASSERT(!leds_disk_nearly_full(2 * gib, 32 * gib)); /* 6 % */
    ASSERT(!leds_disk_nearly_full(100 * mib, 0));      /* total unknown */
}

/* ---- the queue watch ---- */

static struct queue_stats stats(uint32_t sealed, uint32_t uploading, uint32_t delivered,
                                int64_t oldest)
{
    struct queue_stats s;
    memset(&s, 0, sizeof s);
    s.count[QUEUE_SEALED] = sealed;
    s.count[QUEUE_UPLOADING] = uploading;
    s.count[QUEUE_DELIVERED] = delivered;
    s.oldest_waiting = oldest;
    return s;
}

static struct queue_tip tip(uint8_t id, int state, uint64_t offset)
{
    struct queue_tip t;
    memset(&t, 0, sizeof t);
    memset(t.id, id, sizeof t.id);
    t.state = state;
    t.upload_offset = offset;
    return t;
}

#define NOW 1748000000ll /* a wall clock in 2025 */

TEST(test_leds_watch_counts_waiting_tips_and_sees_sending)
{
    struct leds_queue_watch w;
    memset(&w, 0, sizeof w);
    struct leds_status st = {0};
    struct queue_stats s = stats(0, 0, 0, 0);
    leds_watch_queue(&w, &s, NULL, NOW, 1000, &st);
    ASSERT_EQ(st.tips_waiting, 0);
    ASSERT_EQ(st.sending, 0);
    ASSERT_EQ(st.undelivered_s, 0);

    /* A tip sealed by the kiosk: waiting, not sending. */
    s = stats(1, 0, 0, NOW);
    struct queue_tip t = tip(7, QUEUE_SEALED, 0);
    leds_watch_queue(&w, &s, &t, NOW, 2000, &st);
    ASSERT_EQ(st.tips_waiting, 1);
    ASSERT_EQ(st.sending, 0);

    /* The uplink takes it: uploading, then the offset moves. */
    s = stats(0, 1, 0, NOW);
    t = tip(7, QUEUE_UPLOADING, 0);
    leds_watch_queue(&w, &s, &t, NOW, 3000, &st);
    ASSERT_EQ(st.sending, 1);
    t.upload_offset = 65536;
    leds_watch_queue(&w, &s, &t, NOW, 30000, &st);
    ASSERT_EQ(st.sending, 1);
    /* The link drops: no progress for LEDS_SENDING_HOLD_MS → steady again. */
    leds_watch_queue(&w, &s, &t, NOW, 30000 + LEDS_SENDING_HOLD_MS - 1, &st);
    ASSERT_EQ(st.sending, 1);
    leds_watch_queue(&w, &s, &t, NOW, 30000 + LEDS_SENDING_HOLD_MS, &st);
    ASSERT_EQ(st.sending, 0);
    ASSERT_EQ(st.tips_waiting, 1);

    /* Delivered: sending (it just moved), nothing waiting. */
    s = stats(0, 0, 1, 0);
    leds_watch_queue(&w, &s, NULL, NOW, 200000, &st);
    ASSERT_EQ(st.sending, 1);
    ASSERT_EQ(st.tips_waiting, 0);
    /* Purged (delivered → purged) is not another delivery. */
    s = stats(0, 0, 0, 0);
    s.count[QUEUE_PURGED] = 1;
    leds_watch_queue(&w, &s, NULL, NOW, 200000 + LEDS_SENDING_HOLD_MS, &st);
    ASSERT_EQ(st.sending, 0);
}

TEST(test_leds_watch_counts_undelivered_time_on_the_monotonic_clock)
{
    struct leds_queue_watch w;
    memset(&w, 0, sizeof w);
    struct leds_status st = {0};
    struct queue_stats s = stats(0, 0, 5, 0);
    leds_watch_queue(&w, &s, NULL, NOW, 0, &st);
    /* A tip is sealed and waits; the link is down for days. The 32-bit
       millisecond clock wraps round after 49.7 days; steps of an hour. */
    s = stats(1, 0, 5, NOW);
    uint32_t t = 1000;
    for (int h = 0; h < 24 * 60; h++, t += 3600u * 1000u)
        leds_watch_queue(&w, &s, NULL, NOW, t, &st);
    ASSERT_EQ(st.undelivered_s, (uint64_t)(24 * 60 - 1) * 3600);
    /* Another tip delivered: the count starts again. */
    s = stats(1, 0, 6, NOW);
    leds_watch_queue(&w, &s, NULL, NOW, t, &st);
    ASSERT_EQ(st.undelivered_s, 0);
    leds_watch_queue(&w, &s, NULL, NOW, t + 5000, &st);
    ASSERT_EQ(st.undelivered_s, 5);
    /* Nothing waiting: nothing undelivered. */
    s = stats(0, 0, 7, 0);
    leds_watch_queue(&w, &s, NULL, NOW, t + 6000, &st);
    ASSERT_EQ(st.undelivered_s, 0);
    /* A new tip starts at zero, not from its wall-clock age. */
    s = stats(1, 0, 7, NOW - 10 * 86400);
    leds_watch_queue(&w, &s, NULL, NOW, t + 7000, &st);
    ASSERT_EQ(st.undelivered_s, 0);
}

TEST(test_leds_watch_after_a_restart_starts_from_a_plausible_wall_clock_age)
{
    struct leds_queue_watch w;
    struct leds_status st = {0};
    /* Rebooted; the oldest tip was sealed 4 days ago by the wall clock. */
    memset(&w, 0, sizeof w);
    struct queue_stats s = stats(2, 0, 0, NOW - 4 * 86400);
    leds_watch_queue(&w, &s, NULL, NOW, 50, &st);
    ASSERT_EQ(st.undelivered_s, 4 * 86400);
    leds_watch_queue(&w, &s, NULL, NOW, 2050, &st);
    ASSERT_EQ(st.undelivered_s, 4 * 86400 + 2);

    /* Sealed while the clock said 1970; now the network set it: ignored. */
    memset(&w, 0, sizeof w);
    s = stats(1, 0, 0, 3600);
    leds_watch_queue(&w, &s, NULL, NOW, 50, &st);
    ASSERT_EQ(st.undelivered_s, 0);
    /* Sealed "in the future" (the clock went back): ignored. */
    memset(&w, 0, sizeof w);
    s = stats(1, 0, 0, NOW + 500);
    leds_watch_queue(&w, &s, NULL, NOW, 50, &st);
    ASSERT_EQ(st.undelivered_s, 0);
}

/* ---- the kiosk.conf keys of the LEDs and the button ---- */

#define POST_KEY_B64 "g07GJHdmgCISZ3eyNdeOH/FAZ4F6A+j9q+B/Dr96PlM="

/* config_read_kiosk on a kiosk.conf with `extra` lines; its error or "". */
static const char *read_conf(const char *extra, struct kiosk_conf *k)
{
    static char err[512];
    char text[1024];
    snprintf(text, sizeof text, "kiosk_id = a\npost_key = %s\n%s", POST_KEY_B64, extra);
    struct config *c = NULL;
    err[0] = 0;
    ASSERT_EQ(config_load_mem(&c, "kiosk.conf", text, strlen(text), err, sizeof err), 0);
    if (config_read_kiosk(c, k, err, sizeof err) == 0)
        err[0] = 0;
    config_free(c);
    return err;
}

TEST(test_leds_config_defaults_are_no_gpio_and_the_documented_lines)
{
    struct kiosk_conf k;
    ASSERT_STR_EQ(read_conf("", &k), "");
    ASSERT_STR_EQ(k.led_chip, "");
    ASSERT_EQ(k.led_green, 17);
    ASSERT_EQ(k.led_amber, 27);
    ASSERT_EQ(k.led_red, 22);
    ASSERT_STR_EQ(k.button_chip, "");
    ASSERT_EQ(k.button_line, 23);
    ASSERT_EQ(k.undelivered_days, 3);
}

TEST(test_leds_config_reads_every_key)
{
    struct kiosk_conf k;
    ASSERT_STR_EQ(read_conf("led_chip = gpiochip0\nled_green = 5\nled_amber = 6\nled_red = 13\n"
                            "button_chip = /dev/gpiochip1\nbutton_line = 26\n"
                            "undelivered_days = 7\n",
                            &k),
                  "");
    ASSERT_STR_EQ(k.led_chip, "gpiochip0");
    ASSERT_EQ(k.led_green, 5);
    ASSERT_EQ(k.led_amber, 6);
    ASSERT_EQ(k.led_red, 13);
    ASSERT_STR_EQ(k.button_chip, "/dev/gpiochip1");
    ASSERT_EQ(k.button_line, 26);
    ASSERT_EQ(k.undelivered_days, 7);
    /* The same line on two different chips is two lines. */
    ASSERT_STR_EQ(read_conf("led_chip = 0\nbutton_chip = 1\nbutton_line = 17\n", &k), "");
    ASSERT_STR_EQ(read_conf("led_chip = 0\nbutton_line = -1\n", &k), "");
    ASSERT_EQ(k.button_line, -1);
    /* Without LEDs their lines are not checked against each other. */
    ASSERT_STR_EQ(read_conf("led_green = 4\nled_red = 4\n", &k), "");
}

TEST(test_leds_config_errors_say_what_to_fix)
{
    static const struct {
        const char *extra, *err;
    } cases[] = {
        {"led_chip = \"gpio chip 0\"\n",
         "kiosk.conf: led_chip = gpio chip 0 is not a GPIO chip (like gpiochip0; `gpiodetect` "
         "lists them; empty: none)"},
        {"button_chip = gpiochip0;rm\n",
         "kiosk.conf: button_chip = gpiochip0;rm is not a GPIO chip (like gpiochip0; "
         "`gpiodetect` lists them; empty: none)"},
        {"led_green = 1024\n", "kiosk.conf: led_green = 1024 is out of range (0\xe2\x80\x93"
                               "1023)"},
        {"led_red = -1\n", "kiosk.conf: led_red = -1 is out of range (0\xe2\x80\x93"
                           "1023)"},
        {"button_line = -2\n", "kiosk.conf: button_line = -2 is out of range (-1\xe2\x80\x93"
                               "1023)"},
        {"undelivered_days = 0\n", "kiosk.conf: undelivered_days = 0 is out of range "
                                   "(1\xe2\x80\x93"
                                   "60)"},
        {"led_chip = gpiochip0\nled_amber = 17\n",
         "kiosk.conf: led_green and led_amber are both line 17: give each LED its own line"},
        {"led_chip = gpiochip0\nbutton_line = 22\n",
         "kiosk.conf: button_line and led_red are both line 22: give the button its own line"},
        {"led_chip = gpiochip0\nbutton_chip = /dev/gpiochip0\nbutton_line = 27\n",
         "kiosk.conf: button_line and led_amber are both line 27: give the button its own line"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct kiosk_conf k;
        ASSERT_STR_EQ(read_conf(cases[i].extra, &k), cases[i].err);
    }
}

/* ---- the real backend, as far as a machine without GPIO can go ---- */

TEST(test_leds_gpio_chip_names_become_device_paths)
{
    char p[96];
    gpio_chip_path("0", p, sizeof p);
    ASSERT_STR_EQ(p, "/dev/gpiochip0");
    gpio_chip_path("gpiochip4", p, sizeof p);
    ASSERT_STR_EQ(p, "/dev/gpiochip4");
    gpio_chip_path("/dev/gpiochip1", p, sizeof p);
    ASSERT_STR_EQ(p, "/dev/gpiochip1");
    gpio_chip_path("", p, sizeof p);
    ASSERT_STR_EQ(p, "");
}

TEST(test_leds_gpiod_backend_names_a_missing_chip)
{
    struct gpio_config c;
    memset(&c, 0, sizeof c);
    snprintf(c.led_chip, sizeof c.led_chip, "gpiochip97");
    c.led_line[GPIO_LED_GREEN] = 17;
    c.led_line[GPIO_LED_AMBER] = 27;
    c.led_line[GPIO_LED_RED] = 22;
    c.button_line = 23;
    struct gpio_port p;
    char err[512] = "";
    ASSERT(gpio_gpiod_open(&p, &c, err, sizeof err) < 0);
    ASSERT_STR_EQ(err, "no GPIO chip /dev/gpiochip97 (led_chip in kiosk.conf; `gpiodetect` lists "
                       "the chips, see docs/leds.md)");
    ASSERT(p.set_led == NULL);

    /* Only a button, on its own chip. */
    c.led_chip[0] = 0;
    snprintf(c.button_chip, sizeof c.button_chip, "/dev/gpiochip98");
    ASSERT(gpio_gpiod_open(&p, &c, err, sizeof err) < 0);
    ASSERT_STR_EQ(err, "no GPIO chip /dev/gpiochip98 (button_chip in kiosk.conf; `gpiodetect` "
                       "lists the chips, see docs/leds.md)");

    /* Nothing configured: a port with neither LEDs nor button. */
    c.button_chip[0] = 0;
    ASSERT_EQ(gpio_gpiod_open(&p, &c, err, sizeof err), 0);
    ASSERT_EQ(p.set_led(p.ctx, GPIO_LED_GREEN, 1), -ENODEV);
    struct gpio_edge ev[4];
    int pressed;
    ASSERT_EQ(p.read_button(p.ctx, ev, 4, &pressed), -ENODEV);
    gpio_close(&p);
    ASSERT(strstr(gpio_gpiod_api(), "libgpiod v"));
}
