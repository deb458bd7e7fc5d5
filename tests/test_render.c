/* Tests for src/kiosk/render_sdl.c: a panel mounted sideways, touches mapped
   back; the project's pictograms drawn from their font. */
#include "check.h"
#include "kiosk/pictos.h"
#include "kiosk/render.h"

#include <SDL.h>
#include <SDL_ttf.h>

#include <math.h>
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

TEST(test_render_reports_the_press_and_the_release_at_the_same_logical_point)
{
    /* The volunteer's corner opens on a press held 2.5 s: the UI must hear
       the finger lift, where it lifted, through the panel's rotation. */
    struct render *r = open_rotated(270);
    struct render_event ev;
    SDL_PumpEvents();
    SDL_FlushEvents(SDL_FIRSTEVENT, SDL_LASTEVENT);
    /* physical (100, 700) of the 480 x 800 panel is logical (99, 100) */
    static const Uint32 kinds[] = {SDL_FINGERDOWN, SDL_FINGERUP};
    for (int i = 0; i < 2; i++) {
        SDL_Event e = {.type = kinds[i]};
        e.tfinger.x = 100.5f / 480;
        e.tfinger.y = 700.5f / 800;
        ASSERT_EQ(SDL_PushEvent(&e), 1);
        render_wait(r, 100, &ev);
        ASSERT_EQ(ev.kind, i == 0 ? RENDER_PRESS : RENDER_RELEASE);
        ASSERT_EQ(ev.x, 99);
        ASSERT_EQ(ev.y, 100);
    }
    static const Uint32 buttons[] = {SDL_MOUSEBUTTONDOWN, SDL_MOUSEBUTTONUP};
    for (int i = 0; i < 2; i++) {
        SDL_Event e = {.type = buttons[i]};
        e.button.button = SDL_BUTTON_LEFT;
        e.button.x = 100;
        e.button.y = 700;
        ASSERT_EQ(SDL_PushEvent(&e), 1);
        render_wait(r, 100, &ev);
        ASSERT_EQ(ev.kind, i == 0 ? RENDER_PRESS : RENDER_RELEASE);
        ASSERT_EQ(ev.x, 99);
        ASSERT_EQ(ev.y, 100);
        /* the mouse SDL makes of a finger is that finger again: not counted twice */
        e.button.which = SDL_TOUCH_MOUSEID;
        ASSERT_EQ(SDL_PushEvent(&e), 1);
        render_wait(r, 100, &ev);
        ASSERT_EQ(ev.kind, RENDER_NONE);
    }
    render_close(r);
}

/* Every PICTO_ name of src/kiosk/pictos.h, read from the header itself so
   that a picture added there is checked without touching this list. */
static int read_pictos(uint32_t *cps, char (*names)[40], int max)
{
    char path[4300];
    snprintf(path, sizeof path, "%s/src/kiosk/pictos.h",
             getenv("HOMTHU_ROOT") ? getenv("HOMTHU_ROOT") : ".");
    FILE *h = fopen(path, "r");
    if (!h)
        check_fail(__FILE__, __LINE__, "cannot read %s", path);
    char line[512];
    int n = 0;
    while (n < max && fgets(line, sizeof line, h)) {
        unsigned cp;
        if (sscanf(line, "#define PICTO_%39s 0x%xu", names[n], &cp) == 2 &&
            strcmp(names[n], "FIRST") != 0 && strcmp(names[n], "LAST") != 0)
            cps[n++] = cp;
    }
    fclose(h);
    return n;
}

TEST(test_render_pictogram_font_draws_every_picture_of_pictos_h)
{
    /* The font is made from the SVGs by tools/make-pictos and committed: a
       name in pictos.h without its drawing would show an empty tile. */
    uint32_t cps[128];
    static char names[128][40];
    int n = read_pictos(cps, names, 128);
    ASSERT(n >= 27);
    setenv("SDL_VIDEODRIVER", "offscreen", 1);
    ASSERT_EQ(TTF_Init(), 0);
    char font[4300];
    snprintf(font, sizeof font, "%s/fonts/HomthuPictos.ttf",
             getenv("HOMTHU_ROOT") ? getenv("HOMTHU_ROOT") : ".");
    TTF_Font *f = TTF_OpenFont(font, 80);
    if (!f)
        check_fail(__FILE__, __LINE__, "cannot open %s: %s", font, TTF_GetError());
    SDL_Color white = {255, 255, 255, 255};
    for (int i = 0; i < n; i++) {
        ASSERT(PICTO_IS_OURS(cps[i]));
        if (!TTF_GlyphIsProvided32(f, cps[i]))
            check_fail(__FILE__, __LINE__, "PICTO_%s (U+%04X) is not in the font", names[i],
                       cps[i]);
        SDL_Surface *s = TTF_RenderGlyph32_Blended(f, cps[i], white);
        ASSERT(s != NULL);
        SDL_Surface *c = SDL_ConvertSurfaceFormat(s, SDL_PIXELFORMAT_ARGB8888, 0);
        ASSERT(c != NULL);
        int ink = 0;
        for (int y = 0; y < c->h; y++)
            for (int x = 0; x < c->w; x++)
                ink += (((uint32_t *)((char *)c->pixels + y * c->pitch))[x] >> 24) > 128;
        /* A picture, not a speck: at least a tenth of the 80 x 80 em. */
        if (ink < 640)
            check_fail(__FILE__, __LINE__, "PICTO_%s draws only %d pixels at 80 px", names[i],
                       ink);
        /* The em square is the picture: 80 px asked, about 80 px drawn. */
        if (c->w > 82 || c->h > 82)
            check_fail(__FILE__, __LINE__, "PICTO_%s is %dx%d at 80 px", names[i], c->w, c->h);
        SDL_FreeSurface(c);
        SDL_FreeSurface(s);
    }
    TTF_CloseFont(f);
    TTF_Quit();
}

static struct render *open_size(int w, int h)
{
    setenv("SDL_VIDEODRIVER", "offscreen", 1);
    char font[4300];
    snprintf(font, sizeof font, "%s/fonts/NotoSans-Regular.ttf",
             getenv("HOMTHU_ROOT") ? getenv("HOMTHU_ROOT") : ".");
    struct render_opts o = {.width = w, .height = h, .software = 1, .min_text_px = 28,
                            .font_path = font};
    struct render *r;
    char err[256];
    if (render_open(&r, &o, err, sizeof err) != 0)
        check_fail(__FILE__, __LINE__, "render_open: %s", err);
    return r;
}

/* Pixels inside / outside rect b that are near colour c (anti-aliased edges
   aside), on a white page. */
static void count_ink(const uint32_t *px, int w, int h, struct ui_rect b, uint32_t c, int *in,
                      int *out, int *wrong)
{
    *in = *out = *wrong = 0;
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            uint32_t p = px[y * w + x] & 0xFFFFFF;
            if (p == 0xFFFFFF)
                continue;
            int inside = x >= b.x && x < b.x + b.w && y >= b.y && y < b.y + b.h;
            if (!inside) {
                (*out)++;
                continue;
            }
            int dr = abs((int)(p >> 16) - (int)(c >> 16)),
                dg = abs((int)((p >> 8) & 0xFF) - (int)((c >> 8) & 0xFF)),
                db = abs((int)(p & 0xFF) - (int)(c & 0xFF));
            if (dr + dg + db < 24)
                (*in)++;
            /* an edge pixel lies between the colour and the page; anything
               else is another colour */
            else if ((int)(p >> 16) < (int)(c >> 16) - 8 ||
                     (int)((p >> 8) & 0xFF) < (int)((c >> 8) & 0xFF) - 8 ||
                     (int)(p & 0xFF) < (int)(c & 0xFF) - 8)
                (*wrong)++;
        }
}

TEST(test_render_draws_our_pictograms_in_their_colour_at_both_panel_sizes)
{
    static const struct {
        int w, h;
    } panels[] = {{800, 480}, {1024, 600}};
    static uint32_t px[1024 * 600];
    static struct ui_draw_list dl;
    for (size_t k = 0; k < sizeof panels / sizeof *panels; k++) {
        int W = panels[k].w, H = panels[k].h;
        struct render *r = open_size(W, H);
        /* a category tile's picture, a small frame button's, and one with
           fg 0 (the UI's near-black ink) */
        struct {
            uint32_t cp, fg, want;
            struct ui_rect b;
        } cases[] = {
            {PICTO_BORDER, 0xA4001D, 0xA4001D, {W / 10, H / 8, H / 2, H / 2}},
            {PICTO_BACK, 0x0B5394, 0x0B5394, {W - 100, 10, 80, 80}},
            {PICTO_LANG_HMN, 0, 0x111111, {W / 2, H - 140, 120, 120}},
        };
        for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
            memset(&dl, 0, sizeof dl);
            dl.clear = 0xFFFFFF;
            dl.n = 1;
            dl.cmds[0].kind = UI_DRAW_PICTO;
            dl.cmds[0].r = cases[i].b;
            dl.cmds[0].picto = cases[i].cp;
            dl.cmds[0].fg = cases[i].fg;
            dl.cmds[0].bg = 0xFFFFFF;
            render_frame(r, &dl, 0, px);
            int in, out, wrong;
            count_ink(px, W, H, cases[i].b, cases[i].want, &in, &out, &wrong);
            int area = cases[i].b.w * cases[i].b.h;
            if (in < area / 10 || out != 0 || wrong != 0)
                check_fail(__FILE__, __LINE__,
                           "%dx%d U+%04X in %dx%d: %d px of #%06X inside, %d outside, %d in "
                           "another colour",
                           W, H, cases[i].cp, cases[i].b.w, cases[i].b.h, in, cases[i].want, out,
                           wrong);
            /* drawn at its size, not a bitmap scaled: the ink reaches
               across most of its rect */
            int minx = W, maxx = -1;
            for (int y = cases[i].b.y; y < cases[i].b.y + cases[i].b.h; y++)
                for (int x = cases[i].b.x; x < cases[i].b.x + cases[i].b.w; x++)
                    if ((px[y * W + x] & 0xFFFFFF) != 0xFFFFFF) {
                        minx = x < minx ? x : minx;
                        maxx = x > maxx ? x : maxx;
                    }
            ASSERT(maxx - minx > cases[i].b.w * 7 / 10);
        }
        render_close(r);
    }
}

/* A pixel of the ring at `deg` degrees clockwise from the top, halfway
   through its thickness. */
static uint32_t ring_px(const uint32_t *px, int W, struct ui_rect b, int thick, double deg)
{
    int side = b.w < b.h ? b.w : b.h;
    double rad = side / 2.0 - thick / 2.0, a = deg * M_PI / 180.0;
    int x = (int)(b.x + b.w / 2.0 + rad * sin(a)), y = (int)(b.y + b.h / 2.0 - rad * cos(a));
    return px[y * W + x] & 0xFFFFFF;
}

TEST(test_render_ring_fills_clockwise_from_the_top_at_both_panel_sizes)
{
    /* The recording's, the review's and "still there?"'s time going by:
       until the renderer drew UI_DRAW_RING these screens showed nothing. */
    static const struct {
        int w, h;
    } panels[] = {{800, 480}, {1024, 600}};
    static uint32_t px[1024 * 600];
    static struct ui_draw_list dl;
    const uint32_t page = 0xFFFFFF, fg = 0xA4001D, bg = 0xE8E8E8;
    for (size_t k = 0; k < sizeof panels / sizeof *panels; k++) {
        int W = panels[k].w, H = panels[k].h;
        struct render *r = open_size(W, H);
        /* a wide rect: the ring is as wide as its height, centred */
        struct ui_rect b = {W / 4, H / 5, W / 2, H / 2};
        int thick = H / 18, side = b.h;
        static const int values[] = {0, 50, 100, 25, 75};
        for (size_t i = 0; i < sizeof values / sizeof *values; i++) {
            int v = values[i];
            memset(&dl, 0, sizeof dl);
            dl.clear = page;
            dl.n = 1;
            dl.cmds[0].kind = UI_DRAW_RING;
            dl.cmds[0].r = b;
            dl.cmds[0].fg = fg;
            dl.cmds[0].bg = bg;
            dl.cmds[0].radius = thick;
            dl.cmds[0].value = v;
            render_frame(r, &dl, 0, px);
            /* every 15 degrees (away from the two seams by 5): fg before
               value %, bg after */
            for (int deg = 5; deg < 360; deg += 15) {
                uint32_t want = deg < v * 360 / 100 ? fg : bg;
                uint32_t got = ring_px(px, W, b, thick, deg);
                if (got != want)
                    check_fail(__FILE__, __LINE__,
                               "%dx%d at %d %%: #%06X at %d degrees, want #%06X", W, H, v, got,
                               deg, want);
            }
            /* nothing in the middle nor outside the ring's square */
            ASSERT_EQ(px[(b.y + b.h / 2) * W + b.x + b.w / 2] & 0xFFFFFF, page);
            int left = b.x + (b.w - side) / 2;
            for (int y = b.y; y < b.y + b.h; y += 7) {
                ASSERT_EQ(px[y * W + left - 2] & 0xFFFFFF, page);
                ASSERT_EQ(px[y * W + left + side + 1] & 0xFFFFFF, page);
            }
            for (int x = b.x; x < b.x + b.w; x += 7) {
                ASSERT_EQ(px[(b.y - 2) * W + x] & 0xFFFFFF, page);
                ASSERT_EQ(px[(b.y + b.h + 1) * W + x] & 0xFFFFFF, page);
            }
        }
        /* The round edge is smoothed: along the outer edge at 30 degrees (a
           slanted edge, where a stepped one shows), pixels part ring, part
           page, and the ring's full width is where it should be. */
        int inner = 0, outer = 0, full = 0, steps = 8 * (thick + 6);
        for (int s = 0; s <= steps; s++) {
            double a = 30 * M_PI / 180, off = -thick - 3 + (thick + 6.0) * s / steps;
            double rr = side / 2.0 + off;
            int x = (int)(b.x + b.w / 2.0 + rr * sin(a)), y = (int)(b.y + b.h / 2.0 - rr * cos(a));
            uint32_t p = px[y * W + x] & 0xFFFFFF;
            /* the last value drawn, 75 %, holds 30 degrees */
            if (p != fg && p != page)
                *(off < -thick / 2.0 ? &inner : &outer) += 1;
            full += p == fg;
        }
        ASSERT(inner >= 1);
        ASSERT(outer >= 1);
        ASSERT(full >= 8 * (thick - 2));
        render_close(r);
    }
}
