/* Tests for src/kiosk/render_sdl.c: a panel mounted sideways, touches mapped back. */
#include "check.h"
#include "kiosk/render.h"

#include <SDL.h>

#include <stdio.h>
#include <stdlib.h>

static struct render *open_rotated(int rotation)
{
    setenv("SDL_VIDEODRIVER", "offscreen", 1);
    char font[4300];
    snprintf(font, sizeof font, "%s/fonts/NotoSans-Regular.ttf",
             getenv("HOMTHU_ROOT") ? getenv("HOMTHU_ROOT") : ".");
    struct render_opts o = {.width = 800, .height = 480, .rotation = rotation, .software = 1,
                            .min_text_px = 28, .font_path = font};
    struct render *r;
    char err[256];
    if (render_open(&r, &o, err, sizeof err) != 0)
        check_fail(__FILE__, __LINE__, "render_open: %s", err);
    return r;
}

TEST(test_render_maps_touches_back_through_every_rotation)
{
    /* A touch at the physical corner where the UI's top-left corner is shown
       lands on the UI's top-left, whatever way the panel hangs. */
    static const struct {
        int rot, px, py; /* where logical (0,0) appears on the panel */
    } cases[] = {{0, 0, 0}, {90, 479, 0}, {180, 799, 479}, {270, 0, 799}};
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        struct render *r = open_rotated(cases[i].rot);
        int x, y;
        render_map_point(r, cases[i].px, cases[i].py, &x, &y);
        if (x > 1 || y > 1)
            check_fail(__FILE__, __LINE__, "rotation %d: (%d,%d) maps to (%d,%d)", cases[i].rot,
                       cases[i].px, cases[i].py, x, y);
        /* and the logical bottom-right is at the opposite physical corner */
        int sideways = cases[i].rot == 90 || cases[i].rot == 270;
        int pw = sideways ? 480 : 800, ph = sideways ? 800 : 480;
        render_map_point(r, pw - 1 - cases[i].px, ph - 1 - cases[i].py, &x, &y);
        if (x < 798 || y < 478)
            check_fail(__FILE__, __LINE__, "rotation %d: far corner maps to (%d,%d)",
                       cases[i].rot, x, y);
        render_close(r);
    }
}

TEST(test_render_draws_the_frame_it_was_given)
{
    struct render *r = open_rotated(90);
    static struct ui_draw_list dl;
    static uint32_t px[800 * 480];
    memset(&dl, 0, sizeof dl);
    dl.clear = 0xFFFFFF;
    dl.n = 2;
    dl.cmds[0].kind = UI_DRAW_FILL;
    dl.cmds[0].r = (struct ui_rect){0, 0, 100, 50};
    dl.cmds[0].bg = 0xA4001D;
    dl.cmds[1].kind = UI_DRAW_TEXT;
    dl.cmds[1].r = (struct ui_rect){100, 200, 600, 80};
    dl.cmds[1].fg = 0x111111;
    dl.cmds[1].bg = 0xFFFFFF;
    dl.cmds[1].px = 36;
    snprintf(dl.cmds[1].text, sizeof dl.cmds[1].text, "Tiếng Việt có dấu");
    render_frame(r, &dl, 0, px);
    ASSERT_EQ(px[10 * 800 + 10] & 0xFFFFFF, 0xA4001D);
    ASSERT_EQ(px[400 * 800 + 700] & 0xFFFFFF, 0xFFFFFF);
    int dark = 0;
    for (int y = 200; y < 280; y++)
        for (int x = 100; x < 700; x++)
            dark += (px[y * 800 + x] & 0xFF) < 0x80;
    ASSERT(dark > 500); /* the words are there */
    render_frame(r, &dl, 1, px); /* blanked: all dark */
    ASSERT_EQ(px[10 * 800 + 10] & 0xFFFFFF, 0);
    render_close(r);
}

TEST(test_render_asks_for_a_redraw_when_the_panel_lost_its_picture)
{
    /* KMSDRM makes new buffers when the window goes full screen, and a
       desktop window can be covered: the kiosk must draw its frame again,
       or the panel stays black until someone touches it. */
    struct render *r = open_rotated(0);
    struct render_event ev;
    SDL_PumpEvents(); /* drop what opening the window queued */
    SDL_FlushEvents(SDL_FIRSTEVENT, SDL_LASTEVENT);
    render_wait(r, 0, &ev);
    ASSERT_EQ(ev.kind, RENDER_NONE);
    SDL_Event e = {.type = SDL_WINDOWEVENT};
    e.window.event = SDL_WINDOWEVENT_EXPOSED;
    ASSERT_EQ(SDL_PushEvent(&e), 1);
    render_wait(r, 100, &ev);
    ASSERT_EQ(ev.kind, RENDER_REDRAW);
    /* A window merely moved loses nothing. */
    e.window.event = SDL_WINDOWEVENT_MOVED;
    ASSERT_EQ(SDL_PushEvent(&e), 1);
    render_wait(r, 100, &ev);
    ASSERT_EQ(ev.kind, RENDER_NONE);
    render_close(r);
}
