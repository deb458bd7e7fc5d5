/*
 * gpio_fake — the GPIO port for tests: three LED lines that remember every
 * transition with the fake's clock, and a button and a hook switch that
 * play scripts of levels over time (bounces included). See gpio.h.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "kiosk/gpio.h"

struct gpio_fake {
    uint32_t now;
    int led[GPIO_NLEDS];
    struct gpio_fake_change *changes;
    size_t nchanges, capchanges;
    size_t set_calls;
    struct script {
        struct gpio_fake_step *steps;
        size_t n;
        size_t next; /* first step not yet reported as an edge */
        int present;
    } in[GPIO_NINPUTS];
    int lose_edges;
    int fail;
};

static int fake_set_led(void *ctx, int led, int on)
{
    struct gpio_fake *f = ctx;
    if (led < 0 || led >= GPIO_NLEDS)
        return -EINVAL;
    if (f->fail)
        return -f->fail;
    f->set_calls++;
    on = on ? 1 : 0;
    if (f->led[led] == on)
        return 0;
    if (f->nchanges == f->capchanges) {
        size_t cap = f->capchanges ? f->capchanges * 2 : 64;
        struct gpio_fake_change *c = realloc(f->changes, cap * sizeof *c);
        if (!c)
            return -ENOMEM;
        f->changes = c;
        f->capchanges = cap;
    }
    f->changes[f->nchanges++] = (struct gpio_fake_change){.t_ms = f->now, .led = led, .on = on};
    f->led[led] = on;
    return 0;
}

/* Signed distance, so scripts may cross the 32-bit wrap of the clock. */
static int reached(uint32_t at, uint32_t now)
{
    return (int32_t)(now - at) >= 0;
}

static int read_input(struct gpio_fake *f, struct script *sc, struct gpio_edge *ev, size_t cap,
                      int *active)
{
    if (!sc->present)
        return -ENODEV;
    if (f->fail)
        return -f->fail;
    int level = 0;
    for (size_t i = 0; i < sc->n && reached(sc->steps[i].at_ms, f->now); i++)
        level = sc->steps[i].pressed;
    *active = level;
    size_t n = 0;
    while (sc->next < sc->n && reached(sc->steps[sc->next].at_ms, f->now) &&
           (f->lose_edges || n < cap)) {
        const struct gpio_fake_step *s = &sc->steps[sc->next++];
        if (!f->lose_edges)
            ev[n++] = (struct gpio_edge){.t_ms = s->at_ms, .pressed = s->pressed};
    }
    return (int)n;
}

static int fake_read_button(void *ctx, struct gpio_edge *ev, size_t cap, int *pressed)
{
    struct gpio_fake *f = ctx;
    return read_input(f, &f->in[GPIO_INPUT_BUTTON], ev, cap, pressed);
}

static int fake_read_hook(void *ctx, struct gpio_edge *ev, size_t cap, int *lifted)
{
    struct gpio_fake *f = ctx;
    return read_input(f, &f->in[GPIO_INPUT_HOOK], ev, cap, lifted);
}

static void fake_close(void *ctx)
{
    struct gpio_fake *f = ctx;
    if (!f)
        return;
    free(f->changes);
    for (int i = 0; i < GPIO_NINPUTS; i++)
        free(f->in[i].steps);
    free(f);
}

int gpio_fake_open(struct gpio_port *out, struct gpio_fake **fake, int with_button)
{
    memset(out, 0, sizeof *out);
    struct gpio_fake *f = calloc(1, sizeof *f);
    if (!f)
        return -ENOMEM;
    f->in[GPIO_INPUT_BUTTON].present = with_button;
    out->set_led = fake_set_led;
    out->read_button = fake_read_button;
    out->read_hook = fake_read_hook;
    out->close = fake_close;
    out->ctx = f;
    if (fake)
        *fake = f;
    return 0;
}

void gpio_fake_set_now(struct gpio_fake *f, uint32_t now_ms)
{
    f->now = now_ms;
}

const struct gpio_fake_change *gpio_fake_changes(const struct gpio_fake *f, size_t *n)
{
    *n = f->nchanges;
    return f->changes;
}

void gpio_fake_clear(struct gpio_fake *f)
{
    f->nchanges = 0;
    f->set_calls = 0;
}

int gpio_fake_led(const struct gpio_fake *f, int led)
{
    return led >= 0 && led < GPIO_NLEDS ? f->led[led] : -1;
}

size_t gpio_fake_set_calls(const struct gpio_fake *f)
{
    return f->set_calls;
}

static int set_script(struct script *sc, const struct gpio_fake_step *steps, size_t n)
{
    struct gpio_fake_step *s = NULL;
    if (n) {
        s = malloc(n * sizeof *s);
        if (!s)
            return -ENOMEM;
        memcpy(s, steps, n * sizeof *s);
    }
    free(sc->steps);
    sc->steps = s;
    sc->n = n;
    sc->next = 0;
    return 0;
}

int gpio_fake_script(struct gpio_fake *f, const struct gpio_fake_step *steps, size_t n)
{
    return set_script(&f->in[GPIO_INPUT_BUTTON], steps, n);
}

int gpio_fake_script_hook(struct gpio_fake *f, const struct gpio_fake_step *steps, size_t n)
{
    f->in[GPIO_INPUT_HOOK].present = 1;
    return set_script(&f->in[GPIO_INPUT_HOOK], steps, n);
}

void gpio_fake_lose_edges(struct gpio_fake *f, int lose)
{
    f->lose_edges = lose;
}

void gpio_fake_fail(struct gpio_fake *f, int err)
{
    f->fail = err;
}
