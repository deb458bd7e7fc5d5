/*
 * A card flashed but not (fully) provisioned: the kiosk must start anyway
 * (never exit into systemd's restart loop in front of a black panel), show
 * in Vietnamese what is missing and what to do, blink the red LED's code,
 * and let the technician reach the checks. Headless: SDL's offscreen driver
 * and software renderer, the fake GPIO, a fake clock. Each screen is also
 * written as a PNG (HOMTHU_SHOTS=DIR keeps them) to look at as a person
 * in front of the 7" panel would.
 */
#include "../tools/png_write.h"
#include "check.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "kiosk/app.h"
#include "kiosk/gpio.h"
#include "core/keys.h"
#include "kiosk/kiosk.h"
#include "kiosk/leds.h"
#include "kiosk/ui.h"

struct urig {
    struct app *app;
    struct gpio_fake *fake;
    uint32_t clock;
};

static uint32_t uclock(void *ctx)
{
    return ((struct urig *)ctx)->clock;
}

static void uopen(struct urig *r, const char *conf_path)
{
    char err[512], assets[4300];
    setenv("SDL_VIDEODRIVER", "offscreen", 1);
    setenv("SDL_AUDIODRIVER", "disk", 1);
    setenv("SDL_DISKAUDIOFILEIN", check_path("unplugged.raw"), 1);
    setenv("SDL_DISKAUDIOFILE", check_path("speaker.raw"), 1);
    snprintf(assets, sizeof assets, "%s/assets",
             getenv("HOMTHU_ROOT") ? getenv("HOMTHU_ROOT") : ".");
    struct gpio_port port;
    ASSERT_EQ(gpio_fake_open(&port, &r->fake, 0), 0);
    r->clock = 10;
    struct app_opts o = {.config_path = conf_path, .window = 1, .software = 1, .width = 800,
                         .height = 480, .clock_ms = uclock, .clock_ctx = r,
                         .assets_dir = assets, .gpio = &port};
    if (app_open(&r->app, &o, err, sizeof err) != 0)
        check_fail(__FILE__, __LINE__, "the kiosk did not start: %s", err);
    gpio_fake_set_now(r->fake, r->clock);
}

/* Time passes in the loop, 10 ms a turn (as the LEDs and the UI see it). */
static void ustep_to(struct urig *r, uint32_t until)
{
    while (r->clock < until) {
        r->clock += 10;
        gpio_fake_set_now(r->fake, r->clock);
        ASSERT_EQ(app_step(r->app, 0), 0); /* never asks to quit */
    }
}

static const char *uscreen(struct urig *r)
{
    return ui_screen_name(ui_screen(app_ui(r->app)));
}

/* Is `needle` in a text the current frame draws? */
static int shows(struct urig *r, const char *needle)
{
    static struct ui_draw_list l;
    static uint32_t px[800 * 480];
    app_snapshot(r->app, px); /* lays the frame out as drawn */
    ui_draw(app_ui(r->app), &l);
    for (int i = 0; i < l.n; i++)
        if (l.cmds[i].kind == UI_DRAW_TEXT && strstr(l.cmds[i].text, needle))
            return 1;
    return 0;
}

static void save_png(const char *path, const uint32_t *argb, int w, int h)
{
    ASSERT_EQ(png_write_argb(path, argb, w, h), 0);
}

/* The frame as a PNG in the test's dir, and in HOMTHU_SHOTS when set. */
static void shot(struct urig *r, const char *name)
{
    static uint32_t px[800 * 480];
    app_snapshot(r->app, px);
    char p[4400];
    snprintf(p, sizeof p, "%s.png", name);
    save_png(check_path(p), px, 800, 480);
    const char *keep = getenv("HOMTHU_SHOTS");
    if (keep && *keep) {
        mkdir(keep, 0755);
        snprintf(p, sizeof p, "%s/%s.png", keep, name);
        save_png(p, px, 800, 480);
    }
}

/* Red blinks: times it was switched on, between the lamp test and `until`. */
static int red_blinks(struct urig *r, uint32_t until)
{
    gpio_fake_clear(r->fake);
    ustep_to(r, until);
    size_t n;
    const struct gpio_fake_change *c = gpio_fake_changes(r->fake, &n);
    int on = 0;
    for (size_t i = 0; i < n; i++)
        on += c[i].led == GPIO_LED_RED && c[i].on;
    return on;
}

static void long_press_corner(struct urig *r)
{
    int x, y;
    struct ui *ui = app_ui(r->app);
    ASSERT(shows(r, "")); /* lay out the targets */
    if (ui_find(ui, "volunteer", &x, &y) != 0)
        check_fail(__FILE__, __LINE__, "no corner to hold on screen %s", uscreen(r));
    ui_press(ui, x, y, 1, r->clock);
    ustep_to(r, r->clock + UI_LONG_PRESS_MS + 200);
    ui_press(ui, x, y, 0, r->clock);
    ustep_to(r, r->clock + 50);
}

TEST(test_unprovisioned_card_without_kiosk_conf_says_what_is_missing)
{
    struct urig r = {0};
    uopen(&r, check_path("boot/homthu/kiosk.conf")); /* a card nobody wrote */
    ASSERT_EQ(ui_setup(app_ui(r.app)), UI_SETUP_NO_CONF);
    ASSERT_STR_EQ(uscreen(&r), "out_of_service");
    /* For whoever stands there, then for the technician, in Vietnamese. */
    ASSERT(shows(&r, "Máy này đang tạm ngừng nhận tin."));
    ASSERT(shows(&r, "Xin báo cho cán bộ trạm y tế."));
    ASSERT(shows(&r, "Máy này chưa được cài đặt."));
    ASSERT(shows(&r, "Thẻ nhớ chưa có tệp homthu/kiosk.conf."));
    ASSERT(shows(&r, "homthu-provision card"));
    ASSERT(shows(&r, "Đèn đỏ: nháy 1 lần rồi nghỉ."));
    ASSERT(shows(&r, "góc trên bên trái"));
    ASSERT(!shows(&r, "kiosk.conf on the memory card")); /* no English */
    shot(&r, "unprovisioned-no-conf");
    /* It stays: no bounce to the start screen, no tips, the loop turns. */
    int blinks = red_blinks(&r, 20000);
    ASSERT_STR_EQ(uscreen(&r), "out_of_service");
    /* The red LED blinks code 1 (one blink, a pause): several rounds in 18 s. */
    ASSERT(blinks >= 3);
    ASSERT_EQ(leds_fault_code(leds_faults_from_kiosk(kiosk_faults(app_kiosk(r.app)))),
              UI_SETUP_LED_CODE);
    ASSERT(app_queue(r.app) == NULL);
    /* No PIN to ask: holding the corner opens the technician's checks. */
    long_press_corner(&r);
    ASSERT_STR_EQ(uscreen(&r), "tech");
    ASSERT(shows(&r, "Thẻ nhớ chưa có tệp homthu/kiosk.conf."));
    shot(&r, "unprovisioned-tech");
    app_close(r.app);
}

TEST(test_unprovisioned_card_without_device_key_asks_the_pin_for_the_checks)
{
    uint8_t pk[32], sk[32];
    ASSERT(sodium_init() >= 0);
    crypto_box_keypair(pk, sk);
    char b64[64], text[1024];
    sodium_bin2base64(b64, sizeof b64, pk, 32, sodium_base64_VARIANT_ORIGINAL);
    mkdir(check_path("data"), 0700);
    snprintf(text, sizeof text,
             "kiosk_id = half-01\npost_key = %s\ndevice_key_file = device.key\n"
             "data_dir = %s\nvolunteer_pin = 2468\n",
             b64, check_path("data"));
    check_write_file(check_path("kiosk.conf"), text, strlen(text));
    struct urig r = {0};
    uopen(&r, check_path("kiosk.conf")); /* kiosk.conf, but no device.key beside it */
    ASSERT_EQ(ui_setup(app_ui(r.app)), UI_SETUP_NO_KEY);
    ASSERT_STR_EQ(uscreen(&r), "out_of_service");
    ASSERT(shows(&r, "Máy chưa có khoá thiết bị (device.key)."));
    ASSERT(shows(&r, "Đèn đỏ: nháy 1 lần rồi nghỉ."));
    shot(&r, "unprovisioned-no-key");
    ASSERT(red_blinks(&r, 12000) >= 2);
    ASSERT_STR_EQ(uscreen(&r), "out_of_service");
    /* Its queue is open (tips of before wait in it); it takes none. */
    ASSERT(app_queue(r.app) != NULL);
    /* kiosk.conf has a PIN: the corner asks it. */
    long_press_corner(&r);
    ASSERT_STR_EQ(uscreen(&r), "pin");
    app_close(r.app);
}

TEST(test_unprovisioned_card_with_a_broken_kiosk_conf_says_so)
{
    check_write_file(check_path("kiosk.conf"), "kiosk_id = \n post_key\n", 22);
    struct urig r = {0};
    uopen(&r, check_path("kiosk.conf"));
    ASSERT_EQ(ui_setup(app_ui(r.app)), UI_SETUP_BAD_CONF);
    ASSERT(shows(&r, "Tệp homthu/kiosk.conf trên thẻ nhớ bị lỗi, không dùng được."));
    ustep_to(&r, 9000);
    ASSERT_STR_EQ(uscreen(&r), "out_of_service");
    app_close(r.app);
}

/* The other side: a provisioned card shows none of it. */
TEST(test_unprovisioned_screen_not_shown_on_a_provisioned_card)
{
    uint8_t pk[32], sk[32];
    char err[256];
    ASSERT(sodium_init() >= 0);
    crypto_box_keypair(pk, sk);
    struct keys_device *dev;
    ASSERT_EQ(keys_device_generate(&dev, err, sizeof err), 0);
    ASSERT_EQ(keys_device_save(dev, check_path("device.key"), err, sizeof err), 0);
    keys_device_free(dev);
    char b64[64], text[1024];
    sodium_bin2base64(b64, sizeof b64, pk, 32, sodium_base64_VARIANT_ORIGINAL);
    mkdir(check_path("data"), 0700);
    snprintf(text, sizeof text,
             "kiosk_id = full-01\npost_key = %s\ndevice_key_file = device.key\ndata_dir = %s\n",
             b64, check_path("data"));
    check_write_file(check_path("kiosk.conf"), text, strlen(text));
    struct urig r = {0};
    uopen(&r, check_path("kiosk.conf"));
    ASSERT_EQ(ui_setup(app_ui(r.app)), UI_SETUP_OK);
    ASSERT_STR_EQ(uscreen(&r), "start");
    ASSERT(!shows(&r, "Máy này chưa được cài đặt."));
    app_close(r.app);
}
