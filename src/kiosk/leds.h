/*
 * leds — what the three status LEDs say, as patterns over time. A
 * technician reads the kiosk from across the room (docs/leds.md):
 *
 *   green  alive: a 100 ms blink every 2 s (a heartbeat)
 *   amber  off: nothing waiting; steady: tips waiting to be sent;
 *          blinking 2 Hz: sending now
 *   red    off: all well; a blink code, N blinks then a pause, for the
 *          most urgent fault (list below)
 *
 * At the first update all three light in turn, 500 ms each, then all are
 * dark for 500 ms: a lamp test, so a dead LED is not mistaken for "all
 * well". The patterns start 2 s after the first update.
 *
 * This module only decides: it sets lines through the GPIO port (gpio.h)
 * and never talks to hardware or reads a clock itself; the caller passes
 * the time. It also turns the queue's state into the amber LED's inputs
 * (leds_watch_queue) so that rule is tested here, not in the loop.
 *
 * Not here: GPIO (gpio.h), finding the faults (kiosk.h, the app).
 *
 * Errors: leds_update returns 0 or the first negative errno of the port.
 */
#ifndef HOMTHU_LEDS_H
#define HOMTHU_LEDS_H

#include <stddef.h>
#include <stdint.h>

#include "kiosk/gpio.h"

struct queue_stats;
struct queue_tip;

/*
 * Faults a technician must see, most urgent first. Only the most urgent
 * one present is blinked (its code is its rank); the diagnostic screen and
 * the log list them all. Why this order: first what stops the kiosk from
 * keeping tips at all, then what will soon, then what loses a way of
 * telling, then what delays delivery.
 */
enum leds_fault {
    LEDS_FAULT_NO_POST_KEY = 1 << 0,   /* 1 blink: cannot seal tips */
    LEDS_FAULT_QUEUE = 1 << 1,         /* 2: the queue cannot be opened or refused a write */
    LEDS_FAULT_DISK = 1 << 2,          /* 3: the data partition is full or nearly */
    LEDS_FAULT_NO_MICROPHONE = 1 << 3, /* 4: voice tips impossible (text still works) */
    LEDS_FAULT_UNDELIVERED = 1 << 4,   /* 5: tips waiting, nothing delivered for N days */
    LEDS_FAULT_NO_SPEAKER = 1 << 5,    /* 6: the spoken prompts are silent */
};
#define LEDS_NFAULTS 6

/* Timing, in milliseconds (docs/leds.md shows them). */
#define LEDS_LAMP_TEST_MS 500 /* each LED, green then amber then red */
#define LEDS_LAMP_GAP_MS 500  /* then all dark, so a red code's first blink stands apart */
#define LEDS_HEARTBEAT_PERIOD_MS 2000
#define LEDS_HEARTBEAT_ON_MS 100
#define LEDS_SENDING_HALF_MS 250 /* 2 Hz: 250 on, 250 off */
#define LEDS_CODE_ON_MS 300
#define LEDS_CODE_OFF_MS 300
#define LEDS_CODE_PAUSE_MS 1500 /* dark after the last blink of a code */

struct leds_status {
    unsigned faults;        /* enum leds_fault bits (LEDS_FAULT_UNDELIVERED is derived) */
    uint32_t tips_waiting;  /* sealed or uploading */
    int sending;            /* bytes are reaching the relay now */
    uint64_t undelivered_s; /* how long tips have waited with nothing delivered; 0 none */
};

struct leds;

/*
 * `gpio` is borrowed for the leds' life (the caller closes it after
 * leds_free). `undelivered_days` (1 or more) raises LEDS_FAULT_UNDELIVERED.
 * NULL when out of memory.
 */
struct leds *leds_new(const struct gpio_port *gpio, uint32_t undelivered_days);
/* Darken all three; NULL is a no-op. */
void leds_free(struct leds *l);

/*
 * Set the lines for this moment. Call on every loop turn, and no later
 * than leds_next_ms() says. Only lines that change are written.
 */
int leds_update(struct leds *l, const struct leds_status *st, uint32_t now_ms)
    __attribute__((warn_unused_result));

/* Run the lamp test again from now_ms (the technician's "LED test"); the
   patterns start again 2 s later, each from its beginning. */
void leds_lamp_test(struct leds *l, uint32_t now_ms);

/* Milliseconds from now_ms until a line may next change (cap the loop's wait with it). */
uint32_t leds_next_ms(const struct leds *l, uint32_t now_ms);

/* The faults as the last update saw them (with LEDS_FAULT_UNDELIVERED). */
unsigned leds_faults(const struct leds *l);

/*
 * Stable name of what an LED (enum gpio_led) shows now, for tests and the
 * diagnostic screen: "lamp-test", "off", "heartbeat", "steady",
 * "blink-2hz", "code-1" … "code-6".
 */
const char *leds_pattern_name(const struct leds *l, int led);

/* Blink count (1–6) of the most urgent fault in `faults`, 0 for none. */
int leds_fault_code(unsigned faults);
/* Short English name of a blink code, for the log and docs: "no post key". */
const char *leds_fault_name(int code);

/* kiosk_faults() bits (kiosk.h) as enum leds_fault bits. */
unsigned leds_faults_from_kiosk(unsigned kiosk_faults);

/* Is the data partition nearly full: under 5 % or under 64 MiB available? */
int leds_disk_nearly_full(uint64_t avail_bytes, uint64_t total_bytes);
#define LEDS_DISK_MIN_BYTES (64ull << 20)
#define LEDS_DISK_MIN_PERCENT 5

/*
 * The amber LED's inputs from the queue, which another process (the
 * uplink) drains. Zero the struct once; then on each call give the
 * queue's stats and the tip queue_next_to_send() returned (NULL when none),
 * the wall clock and the monotonic one. It fills st->tips_waiting,
 * st->sending and st->undelivered_s:
 *
 *  - sending: the uplink moved bytes (the next tip's state or acknowledged
 *    offset changed, or a tip was delivered) in the last LEDS_SENDING_HOLD_MS.
 *  - undelivered_s: time since tips started waiting or since the last
 *    delivery, whichever is later, counted on the monotonic clock. At the
 *    first call (a restart) it starts from the oldest waiting tip's age by
 *    the wall clock, when that age is plausible (0 to 366 days): the kiosk
 *    has no RTC, and a clock that jumped from 1970 must not light the red LED.
 */
#define LEDS_SENDING_HOLD_MS 30000
struct leds_queue_watch {
    int started;
    uint64_t delivered; /* delivered + purged tips last seen */
    int have_next;
    uint8_t next_id[16];
    int next_state;
    uint64_t next_offset;
    uint32_t moved_ms; /* monotonic time the uplink last moved bytes */
    int moved;
    int waiting;        /* tips were waiting at the last call */
    uint32_t last_ms;   /* monotonic time of the last call */
    uint64_t waited_ms; /* undelivered time so far */
};
void leds_watch_queue(struct leds_queue_watch *w, const struct queue_stats *qs,
                      const struct queue_tip *next, int64_t wall_now, uint32_t now_ms,
                      struct leds_status *st);

#endif
