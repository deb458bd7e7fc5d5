/* Tests for src/button: debouncing scripted presses, bounces and noise
 * from the fake GPIO port, at fast and slow polling. */
#include <errno.h>
#include <stdlib.h>

#include "kiosk/button.h"
#include "check.h"
#include "kiosk/gpio.h"

struct rig {
    struct gpio_port port;
    struct gpio_fake *fake;
    struct button *b;
};

static void rig_open(struct rig *r, const struct gpio_fake_step *script, size_t n)
{
    ASSERT_EQ(gpio_fake_open(&r->port, &r->fake, 1), 0);
    ASSERT_EQ(gpio_fake_script(r->fake, script, n), 0);
    r->b = button_new(&r->port, 0);
    ASSERT(r->b);
}

static void rig_close(struct rig *r)
{
    button_free(r->b);
    gpio_close(&r->port);
}

static int poll_at(struct rig *r, uint32_t t)
{
    gpio_fake_set_now(r->fake, t);
    int n = button_poll(r->b, t);
    ASSERT(n >= 0);
    return n;
}

/* Poll every `step` ms over [from, to); the times at which presses came. */
static int presses(struct rig *r, uint32_t from, uint32_t to, uint32_t step, uint32_t *when,
                   int max)
{
    int total = 0;
    for (uint32_t t = from; t < to; t += step) {
        int n = poll_at(r, t);
        for (int i = 0; i < n; i++) {
            if (total < max)
                when[total] = t;
            total++;
        }
    }
    return total;
}

/* A press that bounces for 8 ms going down and 6 ms coming up. */
static const struct gpio_fake_step bouncy[] = {
    {1000, 1}, {1001, 0}, {1003, 1}, {1004, 0}, {1008, 1}, /* down, settles at 1008 */
    {1200, 0}, {1202, 1}, {1203, 0}, {1206, 1}, {1206, 0}, /* up, settles at 1206 */
};

TEST(test_button_bouncy_press_counts_once_after_30ms_stable)
{
    struct rig r;
    rig_open(&r, bouncy, sizeof bouncy / sizeof bouncy[0]);
    uint32_t when[4];
    ASSERT_EQ(presses(&r, 0, 1037, 1, when, 4), 0);
    ASSERT(!button_down(r.b));
    ASSERT_EQ(presses(&r, 1037, 1039, 1, when, 4), 1);
    ASSERT_EQ(when[0], 1038); /* 1008 + 30 */
    ASSERT(button_down(r.b));
    ASSERT_EQ(presses(&r, 1039, 3000, 1, when, 4), 0);
    ASSERT(!button_down(r.b));
    rig_close(&r);
}

TEST(test_button_counts_each_press_when_polled_every_quarter_second)
{
    /* Two quick presses between two looks of a slow loop: both count, and
       the bounces of neither add a third. */
    static const struct gpio_fake_step two[] = {
        {1000, 1}, {1002, 0}, {1004, 1}, {1090, 0}, {1093, 1},
        {1095, 0}, {1150, 1}, {1151, 0}, {1152, 1}, {1230, 0},
    };
    struct rig r;
    rig_open(&r, two, sizeof two / sizeof two[0]);
    ASSERT_EQ(poll_at(&r, 900), 0);
    ASSERT_EQ(poll_at(&r, 1250), 2);
    ASSERT_EQ(poll_at(&r, 1500), 0);
    ASSERT(!button_down(r.b));
    rig_close(&r);
}

TEST(test_button_ignores_noise_shorter_than_the_debounce)
{
    /* Spikes of 1 to 29 ms (a cable near the modem), never 30 ms held. */
    struct gpio_fake_step noise[40];
    size_t n = 0;
    for (uint32_t i = 1; i < 20; i++) {
        noise[n++] = (struct gpio_fake_step){.at_ms = 1000 + i * 100, .pressed = 1};
        noise[n++] = (struct gpio_fake_step){.at_ms = 1000 + i * 100 + (i * 3) % 30, .pressed = 0};
    }
    struct rig r;
    rig_open(&r, noise, n);
    uint32_t when[4];
    ASSERT_EQ(presses(&r, 0, 4000, 1, when, 4), 0);
    rig_close(&r);
}

TEST(test_button_release_bounce_is_not_a_second_press)
{
    /* Coming up, the contact touches again for 20 ms: still one press. */
    static const struct gpio_fake_step s[] = {
        {500, 1},
        {700, 0},
        {710, 1},
        {730, 0},
    };
    struct rig r;
    rig_open(&r, s, sizeof s / sizeof s[0]);
    uint32_t when[4];
    ASSERT_EQ(presses(&r, 0, 2000, 5, when, 4), 1);
    ASSERT_EQ(when[0], 530);
    rig_close(&r);
}

TEST(test_button_held_at_start_must_be_released_first)
{
    static const struct gpio_fake_step s[] = {
        {0, 1},    /* held (or shorted) as the kiosk starts */
        {3000, 0}, /* let go */
        {4000, 1}, /* a real press */
        {4100, 0},
    };
    struct rig r;
    rig_open(&r, s, sizeof s / sizeof s[0]);
    uint32_t when[4];
    ASSERT_EQ(presses(&r, 10, 3500, 10, when, 4), 0);
    ASSERT_EQ(presses(&r, 3500, 5000, 10, when, 4), 1);
    ASSERT_EQ(when[0], 4030);
    rig_close(&r);
}

TEST(test_button_level_alone_still_gives_presses_when_edges_are_lost)
{
    /* The kernel's edge buffer overflowed, or the chip has no interrupts:
       the level read at each poll stands in. */
    struct rig r;
    rig_open(&r, bouncy, sizeof bouncy / sizeof bouncy[0]);
    gpio_fake_lose_edges(r.fake, 1);
    uint32_t when[4];
    ASSERT_EQ(presses(&r, 0, 3000, 10, when, 4), 1);
    ASSERT_EQ(when[0], 1030); /* seen pressed at the look at 1000 and at each one after */
    rig_close(&r);
}

TEST(test_button_bounce_storm_longer_than_one_read_counts_once)
{
    /* 200 edges in 100 ms (a worn contact), more than GPIO_MAX_EDGES per read. */
    struct gpio_fake_step s[202];
    size_t n = 0;
    for (uint32_t i = 0; i < 200; i++)
        s[n++] = (struct gpio_fake_step){.at_ms = 1000 + i / 2, .pressed = (int)(i % 2 == 0)};
    s[n++] = (struct gpio_fake_step){.at_ms = 1100, .pressed = 1};
    s[n++] = (struct gpio_fake_step){.at_ms = 1400, .pressed = 0};
    struct rig r;
    rig_open(&r, s, n);
    ASSERT_EQ(poll_at(&r, 500), 0);
    ASSERT_EQ(poll_at(&r, 1300), 1);
    ASSERT_EQ(poll_at(&r, 2000), 0);
    rig_close(&r);
}

TEST(test_button_edge_times_from_another_clock_are_replaced_by_the_poll_time)
{
    /* An old kernel stamps edges with CLOCK_REALTIME: far from our clock. */
    static const struct gpio_fake_step s[] = {{50, 1}, {400000, 0}};
    struct rig r;
    rig_open(&r, s, sizeof s / sizeof s[0]);
    ASSERT_EQ(poll_at(&r, 20), 0);
    /* Now is 100000: the edge at "50" is 99950 ms old, not believed. */
    ASSERT_EQ(poll_at(&r, 100000), 0);
    ASSERT_EQ(poll_at(&r, 100029), 0);
    ASSERT_EQ(poll_at(&r, 100030), 1);
    rig_close(&r);
}

TEST(test_button_reports_a_missing_or_failing_port)
{
    struct gpio_port p;
    struct gpio_fake *f;
    ASSERT_EQ(gpio_fake_open(&p, &f, 0), 0);
    struct button *b = button_new(&p, 0);
    ASSERT(b);
    ASSERT_EQ(button_poll(b, 0), -ENODEV);
    button_free(b);
    gpio_close(&p);

    ASSERT_EQ(gpio_fake_open(&p, &f, 1), 0);
    b = button_new(&p, 0);
    gpio_fake_fail(f, EIO);
    ASSERT_EQ(button_poll(b, 0), -EIO);
    gpio_fake_fail(f, 0);
    ASSERT_EQ(button_poll(b, 1), 0);
    button_free(b);
    gpio_close(&p);

    struct gpio_port none = {0};
    b = button_new(&none, 0);
    ASSERT_EQ(button_poll(b, 0), -ENODEV);
    button_free(b);
    button_free(NULL);
    gpio_close(&none);
    gpio_close(NULL);
}

TEST(test_button_debounce_time_is_configurable)
{
    struct rig r;
    ASSERT_EQ(gpio_fake_open(&r.port, &r.fake, 1), 0);
    static const struct gpio_fake_step s[] = {{100, 1}, {160, 0}};
    ASSERT_EQ(gpio_fake_script(r.fake, s, 2), 0);
    r.b = button_new(&r.port, 80); /* a stiff industrial switch */
    uint32_t when[2];
    ASSERT_EQ(presses(&r, 0, 1000, 1, when, 2), 0); /* 60 ms held is not enough */
    rig_close(&r);
}
