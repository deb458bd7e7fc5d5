/* button — a debounced push button. See button.h. */
#include "kiosk/button.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define MAX_CHANGES 16

struct button {
    struct gpio_port gpio;
    int input; /* enum gpio_input */
    int changes[MAX_CHANGES]; /* debounced changes not yet handed out */
    int nchanges;
    uint32_t debounce;
    int started;
    int stable;         /* debounced level */
    int raw;            /* last level seen */
    uint32_t raw_since; /* when raw last changed */
    uint32_t last_t;    /* latest time fed, so time never runs backwards */
};

struct button *button_new_input(const struct gpio_port *gpio, int input, uint32_t debounce_ms)
{
    struct button *b = calloc(1, sizeof *b);
    if (!b)
        return NULL;
    b->gpio = *gpio;
    b->input = input;
    b->debounce = debounce_ms ? debounce_ms : BUTTON_DEBOUNCE_MS;
    return b;
}

struct button *button_new(const struct gpio_port *gpio, uint32_t debounce_ms)
{
    return button_new_input(gpio, GPIO_INPUT_BUTTON, debounce_ms);
}

void button_free(struct button *b)
{
    free(b);
}

int button_down(const struct button *b)
{
    return b->stable;
}

/* The raw level has held since raw_since: at time t, is it the new state? */
static void settle(struct button *b, uint32_t t, int *presses)
{
    if (b->raw != b->stable && t - b->raw_since >= b->debounce) {
        b->stable = b->raw;
        if (b->stable)
            (*presses)++;
        if (b->nchanges == MAX_CHANGES) {
            /* Drop the oldest pair (a down and an up): the state that
               counts, the last one, stays. */
            memmove(b->changes, b->changes + 2, (MAX_CHANGES - 2) * sizeof *b->changes);
            b->nchanges -= 2;
        }
        b->changes[b->nchanges++] = b->stable;
    }
}

static void feed(struct button *b, int level, uint32_t t, int *presses)
{
    if ((int32_t)(t - b->last_t) < 0)
        t = b->last_t; /* edges are in order; a stale level read is not */
    settle(b, t, presses);
    if (level != b->raw) {
        b->raw = level;
        b->raw_since = t;
    }
    b->last_t = t;
}

static int read_input(struct button *b, struct gpio_edge *ev, size_t cap, int *level)
{
    int (*read)(void *, struct gpio_edge *, size_t, int *) =
        b->input == GPIO_INPUT_HOOK ? b->gpio.read_hook : b->gpio.read_button;
    return read ? read(b->gpio.ctx, ev, cap, level) : -ENODEV;
}

int button_changes(struct button *b, uint32_t now, int *out, int cap)
{
    int rc = button_poll(b, now);
    if (rc < 0)
        return rc;
    int n = b->nchanges < cap ? b->nchanges : cap;
    memcpy(out, b->changes + (b->nchanges - n), (size_t)n * sizeof *out);
    b->nchanges = 0;
    return n;
}

int button_poll(struct button *b, uint32_t now)
{
    struct gpio_edge ev[GPIO_MAX_EDGES];
    int presses = 0, level = 0, n;
    b->nchanges = 0;
    do {
        n = read_input(b, ev, GPIO_MAX_EDGES, &level);
        if (n < 0)
            return n;
        if (!b->started)
            continue; /* edges from before we looked tell nothing */
        for (int i = 0; i < n; i++) {
            uint32_t t = ev[i].t_ms;
            int32_t age = (int32_t)(now - t);
            if (age < 0 || age > BUTTON_MAX_SKEW_MS)
                t = now;
            feed(b, ev[i].pressed ? 1 : 0, t, &presses);
        }
    } while (n == GPIO_MAX_EDGES);

    if (!b->started) {
        /* Held at start: it must be released before it can be pressed. */
        b->started = 1;
        b->stable = b->raw = level ? 1 : 0;
        b->raw_since = b->last_t = now;
        return 0;
    }
    /* The level covers edges the kernel dropped (its buffer is small). */
    feed(b, level ? 1 : 0, now, &presses);
    settle(b, now, &presses);
    return presses;
}
