/*
 * button — the kiosk's one push button (start and stop a recording, the
 * same as a tap on the big record/stop button), debounced; and the same
 * debounce for the telephone handset's hook switch (lifted = down).
 *
 * A contact bounces for a few milliseconds when pressed and released. A
 * level counts only once it has held for the debounce time (30 ms by
 * default); a press is the debounced change from released to pressed. The
 * port delivers the button's changes with the kernel's timestamps
 * (gpio.h), and the debounce runs on those times, not on when the loop
 * happened to look: a press is counted exactly once whether the loop polls
 * every millisecond or every quarter second.
 *
 * A button held (or shorted) when the kiosk starts gives no press until it
 * has been released.
 *
 * Not here: GPIO (gpio.h), what a press does (the app).
 */
#ifndef HOMTHU_BUTTON_H
#define HOMTHU_BUTTON_H

#include <stdint.h>

#include "kiosk/gpio.h"

#define BUTTON_DEBOUNCE_MS 30
/* A handset dropped onto its cradle rattles longer than a button bounces;
   a lift shorter than this is no one answering. */
#define BUTTON_HOOK_DEBOUNCE_MS 100
/* Edge times further than this from the caller's clock are not trusted
   (a kernel stamping edges with another clock): the poll time is used. */
#define BUTTON_MAX_SKEW_MS 10000

struct button;

/* `gpio` is borrowed for the button's life. debounce_ms 0: the default.
   NULL when out of memory. */
struct button *button_new(const struct gpio_port *gpio, uint32_t debounce_ms);
/* The same for another input of the port (enum gpio_input). */
struct button *button_new_input(const struct gpio_port *gpio, int input, uint32_t debounce_ms);
void button_free(struct button *b); /* NULL is a no-op */

/*
 * Read what the button did up to now_ms (monotonic, the app's clock) and
 * return how many presses completed since the last call: 0, 1, rarely
 * more. A negative errno when the port fails (-ENODEV: no button).
 */
int button_poll(struct button *b, uint32_t now_ms) __attribute__((warn_unused_result));

/*
 * Like button_poll, but every debounced change up to now_ms, oldest first:
 * 1 pressed (lifted), 0 released (hung up), into ev[0..cap); returns how
 * many (only the last `cap` when there were more: the state that counts
 * is the last), or a negative errno.
 */
int button_changes(struct button *b, uint32_t now_ms, int *ev, int cap)
    __attribute__((warn_unused_result));

/* The debounced state: 1 while held down. */
int button_down(const struct button *b);

#endif
