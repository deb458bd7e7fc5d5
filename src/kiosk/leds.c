/* leds — status LED patterns. See leds.h and docs/leds.md. */
#include "kiosk/leds.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "kiosk/kiosk.h"
#include "core/queue.h"

enum pattern {
    P_NONE = 0, /* nothing decided yet (before the first update) */
    P_LAMP,
    P_OFF,
    P_STEADY,
    P_HEARTBEAT,
    P_BLINK,
    P_CODE, /* + code - 1 */
};

struct leds {
    struct gpio_port gpio;
    uint32_t undelivered_days;
    int started;
    uint32_t start_ms;
    int pattern[GPIO_NLEDS];
    uint32_t since[GPIO_NLEDS]; /* when the pattern began (its phase 0) */
    int value[GPIO_NLEDS];      /* last written, -1 never */
    unsigned faults;
};

#define LAMP_LIT_MS (GPIO_NLEDS * LEDS_LAMP_TEST_MS)
#define LAMP_TOTAL_MS (LAMP_LIT_MS + LEDS_LAMP_GAP_MS)
#define CODE_STEP_MS (LEDS_CODE_ON_MS + LEDS_CODE_OFF_MS)

static const char *const fault_names[LEDS_NFAULTS] = {
    "no post key",   "queue error",       "disk nearly full",
    "no microphone", "nothing delivered", "no speaker",
};

struct leds *leds_new(const struct gpio_port *gpio, uint32_t undelivered_days)
{
    struct leds *l = calloc(1, sizeof *l);
    if (!l)
        return NULL;
    l->gpio = *gpio;
    l->undelivered_days = undelivered_days ? undelivered_days : 1;
    for (int i = 0; i < GPIO_NLEDS; i++)
        l->value[i] = -1;
    return l;
}

void leds_free(struct leds *l)
{
    if (!l)
        return;
    for (int i = 0; i < GPIO_NLEDS; i++)
        if (l->value[i] != 0 && l->gpio.set_led)
            (void)l->gpio.set_led(l->gpio.ctx, i, 0);
    free(l);
}

int leds_fault_code(unsigned faults)
{
    for (int i = 0; i < LEDS_NFAULTS; i++)
        if (faults & (1u << i))
            return i + 1;
    return 0;
}

const char *leds_fault_name(int code)
{
    return code >= 1 && code <= LEDS_NFAULTS ? fault_names[code - 1] : "none";
}

unsigned leds_faults_from_kiosk(unsigned k)
{
    unsigned f = 0;
    if (k & KIOSK_FAULT_NO_POST_KEY)
        f |= LEDS_FAULT_NO_POST_KEY;
    if (k & KIOSK_FAULT_QUEUE)
        f |= LEDS_FAULT_QUEUE;
    if (k & KIOSK_FAULT_DISK_FULL)
        f |= LEDS_FAULT_DISK;
    if (k & KIOSK_FAULT_NO_MICROPHONE)
        f |= LEDS_FAULT_NO_MICROPHONE;
    if (k & KIOSK_FAULT_NO_SPEAKER)
        f |= LEDS_FAULT_NO_SPEAKER;
    return f;
}

int leds_disk_nearly_full(uint64_t avail, uint64_t total)
{
    if (avail < LEDS_DISK_MIN_BYTES)
        return 1;
    /* avail * 100 < total * 5, without overflow for any disk this side of 2^57 bytes */
    return total > 0 && avail / LEDS_DISK_MIN_PERCENT < total / 100;
}

/* The period of a repeating pattern, 0 for one that never changes. */
static uint32_t period_of(int p)
{
    switch (p) {
    case P_HEARTBEAT:
        return LEDS_HEARTBEAT_PERIOD_MS;
    case P_BLINK:
        return 2 * LEDS_SENDING_HALF_MS;
    default:
        if (p >= P_CODE) {
            uint32_t n = (uint32_t)(p - P_CODE + 1);
            return n * CODE_STEP_MS - LEDS_CODE_OFF_MS + LEDS_CODE_PAUSE_MS;
        }
        return 0;
    }
}

/* Is pattern p lit at `pos` ms into its period? */
static int lit(int p, uint32_t pos)
{
    switch (p) {
    case P_STEADY:
        return 1;
    case P_HEARTBEAT:
        return pos < LEDS_HEARTBEAT_ON_MS;
    case P_BLINK:
        return pos < LEDS_SENDING_HALF_MS;
    default:
        if (p >= P_CODE) {
            uint32_t n = (uint32_t)(p - P_CODE + 1);
            return pos / CODE_STEP_MS < n && pos % CODE_STEP_MS < LEDS_CODE_ON_MS;
        }
        return 0;
    }
}

/* Milliseconds from `pos` until pattern p next changes; 0 for never. */
static uint32_t until_change(int p, uint32_t pos)
{
    uint32_t period = period_of(p);
    if (!period)
        return 0;
    int now = lit(p, pos);
    /* Patterns change at most every 100 ms: a short walk is clearer than
       algebra per pattern, and costs nothing at 10 ms steps. */
    uint32_t step = 10, d = 0;
    while (d < period) {
        uint32_t next = (pos / step + 1) * step; /* boundaries are multiples of 10 ms */
        d += next - pos;
        pos = next % period;
        if (lit(p, pos) != now)
            return d;
    }
    return period;
}

/* Elapsed time in the current pattern, kept below one period so that the
   32-bit clock's differences stay small however long the kiosk runs. */
static uint32_t phase(struct leds *l, int i, uint32_t now)
{
    uint32_t period = period_of(l->pattern[i]);
    uint32_t e = now - l->since[i];
    if (period && e >= period) {
        l->since[i] += e / period * period;
        e %= period;
    }
    return e;
}

static int desired(const struct leds *l, int i, const struct leds_status *st)
{
    switch (i) {
    case GPIO_LED_GREEN:
        return P_HEARTBEAT;
    case GPIO_LED_AMBER:
        return st->sending ? P_BLINK : st->tips_waiting ? P_STEADY : P_OFF;
    default: {
        int code = leds_fault_code(l->faults);
        return code ? P_CODE + code - 1 : P_OFF;
    }
    }
}

static int set_line(struct leds *l, int i, int on, int rc)
{
    if (l->value[i] == on)
        return rc;
    int r = l->gpio.set_led ? l->gpio.set_led(l->gpio.ctx, i, on) : -ENODEV;
    if (r == 0)
        l->value[i] = on;
    return rc ? rc : r;
}

int leds_update(struct leds *l, const struct leds_status *st, uint32_t now)
{
    int rc = 0;
    if (!l->started) {
        l->started = 1;
        l->start_ms = now;
    }
    uint64_t limit_s = (uint64_t)l->undelivered_days * 86400u;
    l->faults = st->faults | (st->undelivered_s >= limit_s ? LEDS_FAULT_UNDELIVERED : 0);

    uint32_t el = now - l->start_ms;
    int lamp = l->pattern[0] == P_NONE || l->pattern[0] == P_LAMP;
    if (lamp && el < LAMP_TOTAL_MS) {
        for (int i = 0; i < GPIO_NLEDS; i++) {
            l->pattern[i] = P_LAMP;
            rc = set_line(l, i, el < LAMP_LIT_MS && el / LEDS_LAMP_TEST_MS == (uint32_t)i, rc);
        }
        return rc;
    }
    for (int i = 0; i < GPIO_NLEDS; i++) {
        int p = desired(l, i, st);
        if (p != l->pattern[i]) {
            /* The first patterns start where the lamp test ended, so their
               phase does not depend on when the loop came round. */
            l->since[i] = l->pattern[i] == P_LAMP ? l->start_ms + LAMP_TOTAL_MS : now;
            l->pattern[i] = p;
        }
        rc = set_line(l, i, lit(p, phase(l, i, now)), rc);
    }
    return rc;
}

void leds_lamp_test(struct leds *l, uint32_t now)
{
    l->started = 1;
    l->start_ms = now;
    for (int i = 0; i < GPIO_NLEDS; i++)
        l->pattern[i] = P_LAMP;
}

uint32_t leds_next_ms(const struct leds *l, uint32_t now)
{
    if (!l->started)
        return 0;
    uint32_t el = now - l->start_ms;
    if (l->pattern[0] == P_LAMP && el < LAMP_LIT_MS)
        return LEDS_LAMP_TEST_MS - el % LEDS_LAMP_TEST_MS;
    if (l->pattern[0] == P_LAMP && el < LAMP_TOTAL_MS)
        return LAMP_TOTAL_MS - el;
    if (l->pattern[0] == P_LAMP)
        return 0;
    uint32_t best = LEDS_HEARTBEAT_PERIOD_MS;
    for (int i = 0; i < GPIO_NLEDS; i++) {
        uint32_t period = period_of(l->pattern[i]);
        if (!period)
            continue;
        uint32_t e = now - l->since[i];
        uint32_t d = until_change(l->pattern[i], e % period);
        if (d < best)
            best = d;
    }
    return best;
}

unsigned leds_faults(const struct leds *l)
{
    return l->faults;
}

const char *leds_pattern_name(const struct leds *l, int led)
{
    static const char *const codes[LEDS_NFAULTS] = {"code-1", "code-2", "code-3",
                                                    "code-4", "code-5", "code-6"};
    if (led < 0 || led >= GPIO_NLEDS)
        return "?";
    int p = l->pattern[led];
    switch (p) {
    case P_NONE:
        return "none";
    case P_LAMP:
        return "lamp-test";
    case P_OFF:
        return "off";
    case P_STEADY:
        return "steady";
    case P_HEARTBEAT:
        return "heartbeat";
    case P_BLINK:
        return "blink-2hz";
    default:
        return p - P_CODE < LEDS_NFAULTS ? codes[p - P_CODE] : "?";
    }
}

/* ---- the queue, as the amber LED sees it ---- */

#define PLAUSIBLE_AGE_S (366 * 86400ll)

void leds_watch_queue(struct leds_queue_watch *w, const struct queue_stats *qs,
                      const struct queue_tip *next, int64_t wall_now, uint32_t now_ms,
                      struct leds_status *st)
{
    uint32_t waiting = qs->count[QUEUE_SEALED] + qs->count[QUEUE_UPLOADING];
    uint64_t delivered = (uint64_t)qs->count[QUEUE_DELIVERED] + qs->count[QUEUE_PURGED];
    int first = !w->started;
    uint32_t dt = first ? 0 : now_ms - w->last_ms;
    int got_delivery = !first && delivered > w->delivered;

    /* Bytes moved: a delivery, or the same tip changed state or offset. A new
       tip at the head of the queue is the kiosk sealing one, not sending. */
    int moved = got_delivery;
    if (!first && next && w->have_next && memcmp(next->id, w->next_id, 16) == 0 &&
        (next->state != w->next_state || next->upload_offset != w->next_offset))
        moved = 1;
    if (moved) {
        w->moved = 1;
        w->moved_ms = now_ms;
    } else if (w->moved && now_ms - w->moved_ms >= LEDS_SENDING_HOLD_MS) {
        w->moved = 0; /* before the 32-bit difference could wrap round */
    }

    if (!waiting) {
        w->waited_ms = 0;
    } else if (first || !w->waiting) {
        int64_t age = qs->oldest_waiting > 0 ? wall_now - qs->oldest_waiting : -1;
        w->waited_ms = first && age >= 0 && age <= PLAUSIBLE_AGE_S ? (uint64_t)age * 1000u : 0;
    } else if (got_delivery) {
        w->waited_ms = 0;
    } else {
        w->waited_ms += dt;
    }

    st->tips_waiting = waiting;
    st->sending = w->moved;
    st->undelivered_s = w->waited_ms / 1000u;

    w->started = 1;
    w->delivered = delivered;
    w->have_next = next != NULL;
    if (next) {
        memcpy(w->next_id, next->id, 16);
        w->next_state = next->state;
        w->next_offset = next->upload_offset;
    }
    w->waiting = waiting > 0;
    w->last_ms = now_ms;
}
