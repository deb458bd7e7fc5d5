/*
 * gpio — the port to the kiosk's GPIO lines: three status LEDs (green,
 * amber, red), one push button and the telephone handset's hook switch
 * (inputs read the same way). A struct of function pointers plus a
 * ctx, like the audio port, so the LED and button logic (leds.h,
 * button.h) runs the same against the real chip (gpio_gpiod.c, libgpiod v1
 * or v2 chosen at build time) and against the fake (gpio_fake.c), which
 * records every transition with its time and plays scripted button presses.
 *
 * The button is read as *changes*: the real backend asks the kernel for
 * edge events, which carry the kernel's timestamp of each edge, so a press
 * is seen and debounced exactly even when the kiosk's loop only looks every
 * few hundred milliseconds. The level read back with them covers the edges
 * the kernel dropped (its buffer holds 16).
 *
 * Not here: what the LEDs mean (leds.h), debouncing (button.h).
 *
 * Errors: 0 / count, or a negative errno; open functions also put a
 * sentence for the technician in `err`.
 */
#ifndef HOMTHU_GPIO_H
#define HOMTHU_GPIO_H

#include <stddef.h>
#include <stdint.h>

enum gpio_led {
    GPIO_LED_GREEN = 0,
    GPIO_LED_AMBER = 1,
    GPIO_LED_RED = 2,
};
#define GPIO_NLEDS 3

/* The inputs, read alike: the button, and the handset's hook switch. */
enum gpio_input {
    GPIO_INPUT_BUTTON = 0,
    GPIO_INPUT_HOOK = 1,
};
#define GPIO_NINPUTS 2

/* A change of an input's level: pressed (1) or released (0), for the hook
 * lifted (1) or hung up (0), at t_ms (CLOCK_MONOTONIC milliseconds,
 * truncated to 32 bits like the app's clock). */
struct gpio_edge {
    uint32_t t_ms;
    int pressed;
};

#define GPIO_MAX_EDGES 32 /* a caller's edge buffer need not be larger */

struct gpio_port {
    /* Light (1) or darken (0) one LED. -ENODEV when this port has no LEDs. */
    int (*set_led)(void *ctx, int led, int on);
    /*
     * The button's changes since the last call, oldest first, into
     * ev[0..cap) (more wait for the next call), and its level now in
     * *pressed. Returns the number of changes, or -ENODEV when this port
     * has no button, or another negative errno.
     */
    int (*read_button)(void *ctx, struct gpio_edge *ev, size_t cap, int *pressed);
    /* The same for the handset's hook switch: 1 = lifted. -ENODEV when this
       port has no hook line. NULL is the same as -ENODEV. */
    int (*read_hook)(void *ctx, struct gpio_edge *ev, size_t cap, int *lifted);
    /* Darken the LEDs, release the lines, free ctx. */
    void (*close)(void *ctx);
    void *ctx;
};

/* Close a port and zero it; a zeroed port is a no-op. */
void gpio_close(struct gpio_port *p);

/* ---- the real chip (gpio_gpiod.c) ---- */

#define GPIO_CHIP_MAX 64

struct gpio_config {
    /* "gpiochip0", "0" or "/dev/gpiochip0"; "" = no LEDs. */
    char led_chip[GPIO_CHIP_MAX + 1];
    unsigned led_line[GPIO_NLEDS]; /* line offsets, indexed by enum gpio_led */
    /* The button's chip; "" = led_chip. Both "" or button_line < 0: no button. */
    char button_chip[GPIO_CHIP_MAX + 1];
    int button_line;
    /* The handset's hook switch when `hook` is 1 (0, as in a zeroed
       config: none): its chip ("" = led_chip) and line. Active low (lifted
       while the line is pulled to ground) unless hook_active_high. */
    int hook;
    char hook_chip[GPIO_CHIP_MAX + 1];
    unsigned hook_line;
    int hook_active_high;
    const char *consumer; /* shown by gpioinfo; NULL: "homthu" */
};

/*
 * Request the lines: the LEDs as outputs (dark), the button as an input
 * with the pull-up on, active low (wired between the line and ground), with
 * edge events on both edges; the hook likewise, active as configured. The caller closes with gpio_close().
 * Errors name the chip and line and what to check:
 * "cannot use line 17 of /dev/gpiochip0 for the green LED: Device or
 * resource busy (is another program using it? see docs/leds.md)".
 */
int gpio_gpiod_open(struct gpio_port *out, const struct gpio_config *c, char *err, size_t errlen)
    __attribute__((warn_unused_result));

/* "0" → "/dev/gpiochip0", "gpiochip0" → "/dev/gpiochip0", a path as is. */
void gpio_chip_path(const char *chip, char *out, size_t outlen);

/* Which libgpiod API this build uses: "libgpiod v1" or "libgpiod v2". */
const char *gpio_gpiod_api(void);

/* ---- the fake (gpio_fake.c) ---- */

struct gpio_fake;

/* One recorded LED transition (a set that changed the line's value). */
struct gpio_fake_change {
    uint32_t t_ms;
    int led;
    int on;
};

/* A step of a button script: from at_ms on, the button is `pressed`. */
struct gpio_fake_step {
    uint32_t at_ms;
    int pressed;
};

/*
 * A port with LEDs and a button, backed by the fake. *fake is owned by the
 * port: gpio_close() frees it. `with_button` 0 makes read_button -ENODEV.
 * Returns 0, or -ENOMEM.
 */
int gpio_fake_open(struct gpio_port *out, struct gpio_fake **fake, int with_button)
    __attribute__((warn_unused_result));

/* The fake's clock: transitions are stamped with it, scripts play by it. */
void gpio_fake_set_now(struct gpio_fake *f, uint32_t now_ms);

/* Transitions so far (borrowed until the next call into the fake), and forget them. */
const struct gpio_fake_change *gpio_fake_changes(const struct gpio_fake *f, size_t *n);
void gpio_fake_clear(struct gpio_fake *f);
/* Current value of an LED line, and how many set_led calls were made. */
int gpio_fake_led(const struct gpio_fake *f, int led);
size_t gpio_fake_set_calls(const struct gpio_fake *f);

/* Play this script on the button (copied; steps sorted by at_ms). */
int gpio_fake_script(struct gpio_fake *f, const struct gpio_fake_step *steps, size_t n)
    __attribute__((warn_unused_result));
/* The same for the hook switch (`pressed` = lifted). Until a hook script is
   given, the fake has no hook line: read_hook says -ENODEV. */
int gpio_fake_script_hook(struct gpio_fake *f, const struct gpio_fake_step *steps, size_t n)
    __attribute__((warn_unused_result));
/* 1: report no edges, only the level (a kernel that lost its edge buffer). */
void gpio_fake_lose_edges(struct gpio_fake *f, int lose);
/* Make the next calls fail with -err (0 to stop), e.g. EIO. */
void gpio_fake_fail(struct gpio_fake *f, int err);

#endif
