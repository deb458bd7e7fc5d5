/*
 * gpio_gpiod — the GPIO port on a real chip, through libgpiod. See gpio.h.
 *
 * Debian 12 ships libgpiod 1.6 (the v1 API); Debian 13 and Raspberry Pi OS
 * trixie ship 2.x, an incompatible API with no version macro in the header.
 * The Makefile asks pkg-config (`--atleast-version=2 libgpiod`) and passes
 * -DHOMTHU_GPIOD_V2; both sides keep the same few primitives (open a chip,
 * request one LED, set it, request the button, read its edges and level),
 * so the logic above them is written once.
 *
 * Each line is its own request, so that an error names the LED or the
 * button that failed and the technician knows which wire or which setting
 * to look at.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <gpiod.h>

#include "kiosk/gpio.h"

void gpio_close(struct gpio_port *p)
{
    if (!p)
        return;
    if (p->close)
        p->close(p->ctx);
    memset(p, 0, sizeof *p);
}

void gpio_chip_path(const char *chip, char *out, size_t outlen)
{
    if (!chip)
        chip = "";
    if (*chip && strspn(chip, "0123456789") == strlen(chip))
        snprintf(out, outlen, "/dev/gpiochip%s", chip);
    else if (*chip && !strchr(chip, '/'))
        snprintf(out, outlen, "/dev/%s", chip);
    else
        snprintf(out, outlen, "%s", chip);
}

static const char *const led_names[GPIO_NLEDS] = {"green LED", "amber LED", "red LED"};
/* Each line's user as `gpioinfo` shows it ("homthu-kiosk-green"), so that a
   technician (and the image's boot test) can tell the lines apart. */
static const char *const line_labels[GPIO_NLEDS + 2] = {"green", "amber", "red", "button",
                                                        "hook"};
static const char *const input_names[GPIO_NINPUTS] = {"button", "handset's hook switch"};

static uint32_t ms_of(uint64_t sec, uint64_t nsec)
{
    return (uint32_t)(sec * 1000u + nsec / 1000000u);
}

/* Each chip once: the LEDs, the button and the hook may share one. */
struct gg;
static void close_chips(struct gg *g);

/* ---- the two APIs behind the same primitives ---- */

#ifdef HOMTHU_GPIOD_V2

const char *gpio_gpiod_api(void)
{
    return "libgpiod v2";
}

struct gg {
    struct gpiod_chip *chip[1 + GPIO_NINPUTS];
    struct gpiod_line_request *led[GPIO_NLEDS];
    unsigned led_off[GPIO_NLEDS];
    struct gpiod_line_request *btn[GPIO_NINPUTS];
    unsigned btn_off[GPIO_NINPUTS];
    struct gpiod_edge_event_buffer *evbuf;
    int btn_events[GPIO_NINPUTS];
    int nleds;
};

static struct gpiod_chip *chip_open(const char *path)
{
    return gpiod_chip_open(path);
}

static void chip_close(struct gpiod_chip *c)
{
    if (c)
        gpiod_chip_close(c);
}

static long chip_lines(struct gpiod_chip *c)
{
    struct gpiod_chip_info *info = gpiod_chip_get_info(c);
    if (!info)
        return -1;
    long n = (long)gpiod_chip_info_get_num_lines(info);
    gpiod_chip_info_free(info);
    return n;
}

/* One request for one line; NULL with errno set. */
static struct gpiod_line_request *request_one(struct gpiod_chip *chip, unsigned off,
                                              const char *consumer, int input, int events, int bias,
                                              int active_low)
{
    struct gpiod_line_request *req = NULL;
    struct gpiod_line_settings *s = gpiod_line_settings_new();
    struct gpiod_line_config *lc = gpiod_line_config_new();
    struct gpiod_request_config *rc = gpiod_request_config_new();
    int e = ENOMEM;
    if (!s || !lc || !rc)
        goto out;
    if (input) {
        gpiod_line_settings_set_direction(s, GPIOD_LINE_DIRECTION_INPUT);
        gpiod_line_settings_set_active_low(s, active_low);
        if (bias)
            gpiod_line_settings_set_bias(s, GPIOD_LINE_BIAS_PULL_UP);
        if (events) {
            gpiod_line_settings_set_edge_detection(s, GPIOD_LINE_EDGE_BOTH);
            gpiod_line_settings_set_event_clock(s, GPIOD_LINE_CLOCK_MONOTONIC);
        }
    } else {
        gpiod_line_settings_set_direction(s, GPIOD_LINE_DIRECTION_OUTPUT);
        gpiod_line_settings_set_output_value(s, GPIOD_LINE_VALUE_INACTIVE);
    }
    if (gpiod_line_config_add_line_settings(lc, &off, 1, s) != 0) {
        e = errno;
        goto out;
    }
    gpiod_request_config_set_consumer(rc, consumer);
    if (input && events) /* the kernel's default is 16 edges: a bouncing contact fills it */
        gpiod_request_config_set_event_buffer_size(rc, 2 * GPIO_MAX_EDGES);
    req = gpiod_chip_request_lines(chip, rc, lc);
    e = req ? 0 : errno;
out:
    gpiod_request_config_free(rc);
    gpiod_line_config_free(lc);
    gpiod_line_settings_free(s);
    errno = e;
    return req;
}

static int led_request(struct gg *g, int i, struct gpiod_chip *chip, unsigned off,
                       const char *consumer)
{
    g->led[i] = request_one(chip, off, consumer, 0, 0, 0, 0);
    g->led_off[i] = off;
    return g->led[i] ? 0 : -errno;
}

static int led_set(struct gg *g, int i, int on)
{
    if (gpiod_line_request_set_value(g->led[i], g->led_off[i],
                                     on ? GPIOD_LINE_VALUE_ACTIVE : GPIOD_LINE_VALUE_INACTIVE))
        return errno ? -errno : -EIO;
    return 0;
}

static int btn_request(struct gg *g, int w, struct gpiod_chip *chip, unsigned off,
                       const char *consumer, int events, int bias, int active_low)
{
    g->btn[w] = request_one(chip, off, consumer, 1, events, bias, active_low);
    g->btn_off[w] = off;
    if (!g->btn[w])
        return -errno;
    if (events && !g->evbuf && !(g->evbuf = gpiod_edge_event_buffer_new(GPIO_MAX_EDGES))) {
        gpiod_line_request_release(g->btn[w]);
        g->btn[w] = NULL;
        return -ENOMEM;
    }
    g->btn_events[w] = events;
    return 0;
}

static int btn_level(struct gg *g, int w)
{
    enum gpiod_line_value v = gpiod_line_request_get_value(g->btn[w], g->btn_off[w]);
    if (v == GPIOD_LINE_VALUE_ERROR)
        return errno ? -errno : -EIO;
    return v == GPIOD_LINE_VALUE_ACTIVE;
}

static int btn_edges(struct gg *g, int w, struct gpio_edge *ev, size_t cap)
{
    size_t n = 0;
    while (n < cap) {
        int r = gpiod_line_request_wait_edge_events(g->btn[w], 0);
        if (r < 0)
            return errno ? -errno : -EIO;
        if (r == 0)
            break;
        size_t want = cap - n < GPIO_MAX_EDGES ? cap - n : GPIO_MAX_EDGES;
        int got = gpiod_line_request_read_edge_events(g->btn[w], g->evbuf, want);
        if (got < 0)
            return errno ? -errno : -EIO;
        for (int i = 0; i < got; i++) {
            struct gpiod_edge_event *e =
                gpiod_edge_event_buffer_get_event(g->evbuf, (unsigned long)i);
            uint64_t ns = gpiod_edge_event_get_timestamp_ns(e);
            ev[n].t_ms = ms_of(ns / 1000000000u, ns % 1000000000u);
            ev[n].pressed = gpiod_edge_event_get_event_type(e) == GPIOD_EDGE_EVENT_RISING_EDGE;
            n++;
        }
        if (got == 0)
            break;
    }
    return (int)n;
}

static void release_all(struct gg *g)
{
    for (int i = 0; i < GPIO_NLEDS; i++) {
        if (g->led[i]) {
            led_set(g, i, 0);
            gpiod_line_request_release(g->led[i]);
            g->led[i] = NULL;
        }
    }
    for (int w = 0; w < GPIO_NINPUTS; w++) {
        if (g->btn[w])
            gpiod_line_request_release(g->btn[w]);
        g->btn[w] = NULL;
    }
    if (g->evbuf)
        gpiod_edge_event_buffer_free(g->evbuf);
    g->evbuf = NULL;
    close_chips(g);
}

#else /* libgpiod v1 (Debian 12) */

const char *gpio_gpiod_api(void)
{
    return "libgpiod v1";
}

struct gg {
    struct gpiod_chip *chip[1 + GPIO_NINPUTS];
    struct gpiod_line *led[GPIO_NLEDS];
    struct gpiod_line *btn[GPIO_NINPUTS];
    int btn_events[GPIO_NINPUTS];
    int nleds;
};

static struct gpiod_chip *chip_open(const char *path)
{
    return gpiod_chip_open(path);
}

static void chip_close(struct gpiod_chip *c)
{
    if (c)
        gpiod_chip_close(c); /* releases the lines requested through it */
}

static long chip_lines(struct gpiod_chip *c)
{
    return (long)gpiod_chip_num_lines(c);
}

static int led_request(struct gg *g, int i, struct gpiod_chip *chip, unsigned off,
                       const char *consumer)
{
    struct gpiod_line *line = gpiod_chip_get_line(chip, off);
    if (!line)
        return -errno;
    if (gpiod_line_request_output(line, consumer, 0) != 0)
        return -errno;
    g->led[i] = line;
    return 0;
}

static int led_set(struct gg *g, int i, int on)
{
    if (gpiod_line_set_value(g->led[i], on ? 1 : 0) != 0)
        return errno ? -errno : -EIO;
    return 0;
}

static int btn_request(struct gg *g, int w, struct gpiod_chip *chip, unsigned off,
                       const char *consumer, int events, int bias, int active_low)
{
    struct gpiod_line *line = gpiod_chip_get_line(chip, off);
    if (!line)
        return -errno;
    struct gpiod_line_request_config rc = {
        .consumer = consumer,
        .request_type =
            events ? GPIOD_LINE_REQUEST_EVENT_BOTH_EDGES : GPIOD_LINE_REQUEST_DIRECTION_INPUT,
        .flags = (active_low ? GPIOD_LINE_REQUEST_FLAG_ACTIVE_LOW : 0) |
                 (bias ? GPIOD_LINE_REQUEST_FLAG_BIAS_PULL_UP : 0),
    };
    if (gpiod_line_request(line, &rc, 0) != 0)
        return -errno;
    g->btn[w] = line;
    g->btn_events[w] = events;
    return 0;
}

static int btn_level(struct gg *g, int w)
{
    int v = gpiod_line_get_value(g->btn[w]); /* logical: active low applied */
    if (v < 0)
        return errno ? -errno : -EIO;
    return v == 1;
}

static int btn_edges(struct gg *g, int w, struct gpio_edge *ev, size_t cap)
{
    struct gpiod_line_event buf[16];
    size_t n = 0;
    const struct timespec zero = {0, 0};
    while (n < cap) {
        int r = gpiod_line_event_wait(g->btn[w], &zero);
        if (r < 0)
            return errno ? -errno : -EIO;
        if (r == 0)
            break;
        unsigned want = (unsigned)(cap - n < 16 ? cap - n : 16);
        int got = gpiod_line_event_read_multiple(g->btn[w], buf, want);
        if (got < 0)
            return errno ? -errno : -EIO;
        /* Since Linux 5.7 the timestamps are CLOCK_MONOTONIC, like ours;
           button.c clamps implausible ones (older kernels used REALTIME). */
        for (int i = 0; i < got; i++) {
            ev[n].t_ms = ms_of((uint64_t)buf[i].ts.tv_sec, (uint64_t)buf[i].ts.tv_nsec);
            ev[n].pressed = buf[i].event_type == GPIOD_LINE_EVENT_RISING_EDGE;
            n++;
        }
        if (got == 0)
            break;
    }
    return (int)n;
}

static void release_all(struct gg *g)
{
    for (int i = 0; i < GPIO_NLEDS; i++)
        if (g->led[i])
            led_set(g, i, 0);
    close_chips(g); /* releases the lines requested through them */
    memset(g->led, 0, sizeof g->led);
    memset(g->btn, 0, sizeof g->btn);
}

#endif

static void close_chips(struct gg *g)
{
    size_t n = sizeof g->chip / sizeof g->chip[0];
    for (size_t i = 0; i < n; i++) {
        if (!g->chip[i])
            continue;
        for (size_t j = i + 1; j < n; j++)
            if (g->chip[j] == g->chip[i])
                g->chip[j] = NULL;
        chip_close(g->chip[i]);
        g->chip[i] = NULL;
    }
}

/* ---- the port, written once ---- */

static int gg_set_led(void *ctx, int led, int on)
{
    struct gg *g = ctx;
    if (led < 0 || led >= GPIO_NLEDS)
        return -EINVAL;
    if (!g->led[led])
        return -ENODEV;
    return led_set(g, led, on);
}

static int read_input(struct gg *g, int w, struct gpio_edge *ev, size_t cap, int *active)
{
    if (!g->btn[w])
        return -ENODEV;
    int n = 0;
    if (g->btn_events[w]) {
        n = btn_edges(g, w, ev, cap);
        if (n < 0)
            return n;
    }
    int level = btn_level(g, w);
    if (level < 0)
        return level;
    *active = level;
    return n;
}

static int gg_read_button(void *ctx, struct gpio_edge *ev, size_t cap, int *pressed)
{
    return read_input(ctx, GPIO_INPUT_BUTTON, ev, cap, pressed);
}

static int gg_read_hook(void *ctx, struct gpio_edge *ev, size_t cap, int *lifted)
{
    return read_input(ctx, GPIO_INPUT_HOOK, ev, cap, lifted);
}

static void gg_close(void *ctx)
{
    struct gg *g = ctx;
    if (!g)
        return;
    release_all(g);
    free(g);
}

static void say_open_error(char *err, size_t errlen, const char *path, int e, const char *key)
{
    if (e == ENOENT || e == ENODEV)
        snprintf(err, errlen,
                 "no GPIO chip %s (%s in kiosk.conf; `gpiodetect` lists the chips, see "
                 "docs/leds.md)",
                 path, key);
    else if (e == EACCES || e == EPERM)
        snprintf(err, errlen,
                 "no permission to open %s: the kiosk's user must be in the gpio group (see "
                 "docs/appliance.md)",
                 path);
    else
        snprintf(err, errlen, "cannot open GPIO chip %s: %s (%s in kiosk.conf)", path, strerror(e),
                 key);
}

static void say_line_error(char *err, size_t errlen, const char *path, unsigned off,
                           const char *what, int e, long nlines)
{
    if (nlines >= 0 && off >= (unsigned long)nlines)
        snprintf(err, errlen,
                 "line %u is not on %s (it has lines 0 to %ld): check the %s's line "
                 "in kiosk.conf (see docs/leds.md)",
                 off, path, nlines - 1, what);
    else if (e == EBUSY)
        snprintf(err, errlen,
                 "cannot use line %u of %s for the %s: %s (is another program or a device-tree "
                 "overlay using it? `gpioinfo` shows who; see docs/leds.md)",
                 off, path, what, strerror(e));
    else
        snprintf(err, errlen, "cannot use line %u of %s for the %s: %s (see docs/leds.md)", off,
                 path, what, strerror(e));
}

/* A chip of the LEDs, the button or the hook: the one already open when
   the path is the same. */
static struct gpiod_chip *chip_for(struct gg *g, int slot, const char *path, const char *const *paths)
{
    for (int i = 0; i < slot; i++)
        if (g->chip[i] && strcmp(paths[i], path) == 0)
            return g->chip[i];
    return g->chip[slot] = chip_open(path);
}

int gpio_gpiod_open(struct gpio_port *out, const struct gpio_config *c, char *err, size_t errlen)
{
    char path[1 + GPIO_NINPUTS][GPIO_CHIP_MAX + 16];
    const char *const paths[] = {path[0], path[1], path[2]};
    const char *consumer = c->consumer ? c->consumer : "homthu";
    char label[64];
    int rc = 0;
    memset(out, 0, sizeof *out);
    struct gg *g = calloc(1, sizeof *g);
    if (!g) {
        snprintf(err, errlen, "out of memory");
        return -ENOMEM;
    }
    gpio_chip_path(c->led_chip, path[0], sizeof path[0]);
    gpio_chip_path(c->button_chip[0] ? c->button_chip : c->led_chip, path[1], sizeof path[1]);
    gpio_chip_path(c->hook_chip[0] ? c->hook_chip : c->led_chip, path[2], sizeof path[2]);

    if (path[0][0]) {
        g->chip[0] = chip_open(path[0]);
        if (!g->chip[0]) {
            rc = -errno;
            say_open_error(err, errlen, path[0], errno, "led_chip");
            goto out;
        }
        long nlines = chip_lines(g->chip[0]);
        for (int i = 0; i < GPIO_NLEDS; i++) {
            unsigned off = c->led_line[i];
            if (nlines >= 0 && off >= (unsigned long)nlines) {
                rc = -EINVAL;
                say_line_error(err, errlen, path[0], off, led_names[i], EINVAL, nlines);
                goto out;
            }
            snprintf(label, sizeof label, "%s-%s", consumer, line_labels[i]);
            if ((rc = led_request(g, i, g->chip[0], off, label)) != 0) {
                say_line_error(err, errlen, path[0], off, led_names[i], -rc, -1);
                goto out;
            }
        }
        g->nleds = GPIO_NLEDS;
    }
    const int lines[GPIO_NINPUTS] = {c->button_line, c->hook ? (int)c->hook_line : -1};
    /* The button closes to ground: active low. The hook is wired either way. */
    const int active_low[GPIO_NINPUTS] = {1, c->hook_active_high ? 0 : 1};
    static const char *const chip_keys[GPIO_NINPUTS][2] = {{"button_chip", "led_chip"},
                                                            {"handset_hook_chip", "led_chip"}};
    const int own_chip[GPIO_NINPUTS] = {c->button_chip[0] != 0, c->hook_chip[0] != 0};
    for (int w = 0; w < GPIO_NINPUTS; w++) {
        const char *p = path[1 + w];
        if (!p[0] || lines[w] < 0)
            continue;
        struct gpiod_chip *chip = chip_for(g, 1 + w, p, paths);
        if (!chip) {
            rc = -errno;
            say_open_error(err, errlen, p, errno, chip_keys[w][own_chip[w] ? 0 : 1]);
            goto out;
        }
        unsigned off = (unsigned)lines[w];
        long nlines = chip_lines(chip);
        if (nlines >= 0 && off >= (unsigned long)nlines) {
            rc = -EINVAL;
            say_line_error(err, errlen, p, off, input_names[w], EINVAL, nlines);
            goto out;
        }
        /* Best first: edges with the pull-up. A chip that cannot pull up
           needs a resistor on the board; one without interrupts is polled. */
        static const int tries[][2] = {{1, 1}, {1, 0}, {0, 1}, {0, 0}};
        snprintf(label, sizeof label, "%s-%s", consumer, line_labels[GPIO_NLEDS + w]);
        for (size_t t = 0; t < sizeof tries / sizeof tries[0]; t++) {
            rc = btn_request(g, w, chip, off, label, tries[t][0], tries[t][1], active_low[w]);
            if (rc == 0 || rc == -EBUSY || rc == -ENOMEM)
                break;
        }
        if (rc) {
            say_line_error(err, errlen, p, off, input_names[w], -rc, -1);
            goto out;
        }
    }
    out->set_led = gg_set_led;
    out->read_button = gg_read_button;
    out->read_hook = gg_read_hook;
    out->close = gg_close;
    out->ctx = g;
    return 0;
out:
    gg_close(g);
    return rc ? rc : -EIO;
}
