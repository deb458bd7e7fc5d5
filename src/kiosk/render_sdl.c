/* render_sdl — the display and touch port on SDL2 + SDL_ttf. See render.h. */
#include "kiosk/render.h"

#include "kiosk/pictos.h"

#include <SDL.h>
#include <SDL_ttf.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#define FONT_SLOTS 12
#define EMOJI_SLOTS 48
#define EMOJI_PT 109 /* Noto Color Emoji's only bitmap size */
/* A screen shows a dozen pictograms at two or three sizes; a few screens'
   worth stay drawn, so going back and forth costs no rendering. */
#define PICTO_SLOTS 64
#define PICTO_INK 0x111111u /* fg 0: the UI's ink */

struct font_slot {
    int px;
    TTF_Font *f;
};

struct emoji_slot {
    uint32_t cp;
    SDL_Texture *t;
    int w, h;
};

struct picto_slot {
    uint32_t cp;
    int px;
    SDL_Texture *t; /* white: tinted to the command's colour when drawn */
    int w, h;
    unsigned long used;
};

struct render {
    struct render_opts o;
    SDL_Window *win;
    SDL_Renderer *ren;
    SDL_Texture *target; /* the logical picture, rotated onto the panel */
    int phys_w, phys_h;
    struct font_slot fonts[FONT_SLOTS];
    TTF_Font *emoji;
    struct emoji_slot emojis[EMOJI_SLOTS];
    int nemojis;
    TTF_Font *pictos;
    struct picto_slot pslots[PICTO_SLOTS];
    unsigned long frame_no;
};

static void color(SDL_Renderer *ren, uint32_t c)
{
    SDL_SetRenderDrawColor(ren, (Uint8)(c >> 16), (Uint8)(c >> 8), (Uint8)c, 255);
}

static SDL_Color sdl_color(uint32_t c)
{
    SDL_Color k = {(Uint8)(c >> 16), (Uint8)(c >> 8), (Uint8)c, 255};
    return k;
}

static TTF_Font *font_at(struct render *r, int px)
{
    int free_slot = -1;
    for (int i = 0; i < FONT_SLOTS; i++) {
        if (r->fonts[i].f && r->fonts[i].px == px)
            return r->fonts[i].f;
        if (!r->fonts[i].f && free_slot < 0)
            free_slot = i;
    }
    if (free_slot < 0) { /* a handful of sizes are in use; recycle slot 0 */
        TTF_CloseFont(r->fonts[0].f);
        r->fonts[0].f = NULL;
        free_slot = 0;
    }
    TTF_Font *f = TTF_OpenFont(r->o.font_path, px);
    if (!f)
        return NULL;
    TTF_SetFontWrappedAlign(f, TTF_WRAPPED_ALIGN_CENTER);
    r->fonts[free_slot].f = f;
    r->fonts[free_slot].px = px;
    return f;
}

/*
 * A renderer that can draw into the frame texture. SDL's first choice may
 * claim render targets and still refuse one: its desktop-GL renderer on
 * Mesa's software GL over a virtual GPU (qemu's virtio-gpu) does. So each
 * driver is tried in SDL's order until one makes the texture; software last,
 * which always can. `software` (tests) goes straight to it.
 */
static int make_renderer(struct render *r, const struct render_opts *o, char *err, size_t errlen)
{
    int n = SDL_GetNumRenderDrivers();
    char why[256] = "no render driver";
    /* -1: SDL's own choice (it honours SDL_RENDER_DRIVER); 0..n-1: each
       driver in turn; n: software. */
    for (int i = o->software ? n : -1; i <= n; i++) {
        SDL_RendererInfo info = {.name = "default"};
        int soft = i == n;
        if (i >= 0 && !soft &&
            (SDL_GetRenderDriverInfo(i, &info) != 0 || strcmp(info.name, "software") == 0 ||
             !(info.flags & SDL_RENDERER_TARGETTEXTURE)))
            continue;
        r->ren = SDL_CreateRenderer(r->win, soft ? -1 : i,
                                    soft ? SDL_RENDERER_SOFTWARE : SDL_RENDERER_TARGETTEXTURE);
        if (r->ren)
            r->target = SDL_CreateTexture(r->ren, SDL_PIXELFORMAT_ARGB8888,
                                          SDL_TEXTUREACCESS_TARGET, o->width, o->height);
        if (r->target)
            return 0;
        snprintf(why, sizeof why, "%s: %s", soft ? "software" : info.name, SDL_GetError());
        if (r->ren)
            SDL_DestroyRenderer(r->ren);
        r->ren = NULL;
    }
    snprintf(err, errlen, "display: cannot draw the frame (%s)", why);
    return -1;
}

/*
 * The pictogram font sits beside the text font (fonts/ in the tree,
 * /usr/share/homthu/fonts installed), so its path follows from that one.
 * Like the emoji, pictures help but are not a must: without the font the
 * words still stand.
 */
static void open_pictos(struct render *r)
{
    char path[4096];
    if (r->o.picto_path) {
        snprintf(path, sizeof path, "%s", r->o.picto_path);
    } else {
        const char *fp = r->o.font_path ? r->o.font_path : "";
        const char *slash = strrchr(fp, '/');
        if (slash)
            snprintf(path, sizeof path, "%.*s/HomthuPictos.ttf", (int)(slash - fp), fp);
        else
            snprintf(path, sizeof path, "HomthuPictos.ttf");
    }
    r->pictos = TTF_OpenFont(path, 100);
    if (r->pictos) /* the outlines as drawn: no hinter bending them to a script's zones */
        TTF_SetFontHinting(r->pictos, TTF_HINTING_NONE);
}

int render_open(struct render **out, const struct render_opts *o, char *err, size_t errlen)
{
    *out = NULL;
    struct render *r = calloc(1, sizeof *r);
    if (!r) {
        snprintf(err, errlen, "display: out of memory");
        return -1;
    }
    r->o = *o;
    int rot = o->rotation % 360;
    r->o.rotation = rot;
    int sideways = rot == 90 || rot == 270;
    r->phys_w = sideways ? o->height : o->width;
    r->phys_h = sideways ? o->width : o->height;
    if (SDL_InitSubSystem(SDL_INIT_VIDEO) != 0) {
        snprintf(err, errlen, "display: cannot start SDL video (%s): is the panel connected?",
                 SDL_GetError());
        goto fail;
    }
    if (TTF_Init() != 0) {
        snprintf(err, errlen, "display: cannot start SDL_ttf (%s)", TTF_GetError());
        goto fail;
    }
    Uint32 flags = SDL_WINDOW_SHOWN | (o->fullscreen ? SDL_WINDOW_FULLSCREEN_DESKTOP : 0);
    r->win = SDL_CreateWindow(o->title ? o->title : "Hòm thư", SDL_WINDOWPOS_CENTERED,
                              SDL_WINDOWPOS_CENTERED, r->phys_w, r->phys_h, flags);
    if (!r->win) {
        snprintf(err, errlen, "display: cannot open a window (%s)", SDL_GetError());
        goto fail;
    }
    if (make_renderer(r, o, err, errlen) != 0)
        goto fail;
    if (o->fullscreen) /* the panel's real size, whatever was asked */
        SDL_GetRendererOutputSize(r->ren, &r->phys_w, &r->phys_h);
    if (!font_at(r, o->min_text_px > 0 ? o->min_text_px : 28)) {
        snprintf(err, errlen, "display: cannot open the font %s (%s): reinstall the kiosk",
                 o->font_path ? o->font_path : "(none)", TTF_GetError());
        goto fail;
    }
    if (o->emoji_path) /* pictures are a help, not a must: missing means text only */
        r->emoji = TTF_OpenFont(o->emoji_path, EMOJI_PT);
    open_pictos(r);
    SDL_ShowCursor(o->fullscreen ? SDL_DISABLE : SDL_ENABLE);
    /* KMSDRM makes its buffers anew at the first present after going full
       screen, and what that present showed is lost: a kiosk that draws once
       and then waits would show black. Two dark presents settle it first. */
    for (int i = 0; i < 2; i++) {
        color(r->ren, 0);
        SDL_RenderClear(r->ren);
        SDL_RenderPresent(r->ren);
    }
    *out = r;
    return 0;
fail:
    render_close(r);
    return -1;
}

void render_close(struct render *r)
{
    if (!r)
        return;
    for (int i = 0; i < FONT_SLOTS; i++)
        if (r->fonts[i].f)
            TTF_CloseFont(r->fonts[i].f);
    for (int i = 0; i < r->nemojis; i++)
        SDL_DestroyTexture(r->emojis[i].t);
    if (r->emoji)
        TTF_CloseFont(r->emoji);
    for (int i = 0; i < PICTO_SLOTS; i++)
        if (r->pslots[i].t)
            SDL_DestroyTexture(r->pslots[i].t);
    if (r->pictos)
        TTF_CloseFont(r->pictos);
    if (r->target)
        SDL_DestroyTexture(r->target);
    if (r->ren)
        SDL_DestroyRenderer(r->ren);
    if (r->win)
        SDL_DestroyWindow(r->win);
    if (TTF_WasInit())
        TTF_Quit();
    SDL_QuitSubSystem(SDL_INIT_VIDEO);
    free(r);
}

static void fill_round(SDL_Renderer *ren, SDL_Rect b, int rad)
{
    if (rad * 2 > b.w)
        rad = b.w / 2;
    if (rad * 2 > b.h)
        rad = b.h / 2;
    if (rad <= 1) {
        SDL_RenderFillRect(ren, &b);
        return;
    }
    SDL_Rect mid = {b.x, b.y + rad, b.w, b.h - 2 * rad};
    SDL_RenderFillRect(ren, &mid);
    for (int dy = 0; dy < rad; dy++) {
        /* one scan line of each rounded end */
        double yy = rad - dy - 0.5;
        int dx = (int)lround(rad - sqrt((double)rad * rad - yy * yy));
        SDL_RenderDrawLine(ren, b.x + dx, b.y + dy, b.x + b.w - 1 - dx, b.y + dy);
        SDL_RenderDrawLine(ren, b.x + dx, b.y + b.h - 1 - dy, b.x + b.w - 1 - dx,
                           b.y + b.h - 1 - dy);
    }
}

static void draw_text(struct render *r, const struct ui_draw *d)
{
    if (!d->text[0] || d->r.w <= 0 || d->r.h <= 0)
        return;
    int px = d->px, floor_px = r->o.min_text_px > 0 ? r->o.min_text_px : 28;
    SDL_Surface *s = NULL;
    /* Shrink to fit, never below the floor; below it the text is clipped. */
    for (;;) {
        TTF_Font *f = font_at(r, px);
        if (!f)
            return;
        TTF_SetFontWrappedAlign(f, d->align == UI_ALIGN_LEFT ? TTF_WRAPPED_ALIGN_LEFT
                                                             : TTF_WRAPPED_ALIGN_CENTER);
        s = TTF_RenderUTF8_Blended_Wrapped(f, d->text, sdl_color(d->fg), (Uint32)d->r.w);
        if (!s)
            return;
        if ((s->h <= d->r.h && s->w <= d->r.w) || px <= floor_px)
            break;
        SDL_FreeSurface(s);
        px -= 2;
        if (px < floor_px)
            px = floor_px;
    }
    SDL_Texture *t = SDL_CreateTextureFromSurface(r->ren, s);
    if (t) {
        int w = s->w < d->r.w ? s->w : d->r.w, h = s->h < d->r.h ? s->h : d->r.h;
        SDL_Rect src = {0, 0, w, h};
        int x = d->align == UI_ALIGN_LEFT ? d->r.x : d->r.x + (d->r.w - w) / 2;
        /* Too long even at the floor: keep the first lines, not the middle. */
        SDL_Rect dst = {x, d->r.y + (d->r.h - h) / 2, w, h};
        SDL_RenderCopy(r->ren, t, &src, &dst);
        SDL_DestroyTexture(t);
    }
    SDL_FreeSurface(s);
}

static struct emoji_slot *emoji(struct render *r, uint32_t cp)
{
    for (int i = 0; i < r->nemojis; i++)
        if (r->emojis[i].cp == cp)
            return &r->emojis[i];
    if (!r->emoji || r->nemojis == EMOJI_SLOTS)
        return NULL;
    SDL_Color white = {255, 255, 255, 255};
    SDL_Surface *s = TTF_RenderGlyph32_Blended(r->emoji, cp, white);
    if (!s)
        return NULL;
    SDL_Texture *t = SDL_CreateTextureFromSurface(r->ren, s);
    struct emoji_slot *e = NULL;
    if (t) {
        SDL_SetTextureScaleMode(t, SDL_ScaleModeLinear);
        e = &r->emojis[r->nemojis++];
        e->cp = cp;
        e->t = t;
        e->w = s->w;
        e->h = s->h;
    }
    SDL_FreeSurface(s);
    return e;
}

/*
 * A pictogram drawn afresh at each size it is shown (its em square is the
 * picture), so it is as crisp at 80 px as at 300: no scaled bitmap.
 */
static struct picto_slot *picto_at(struct render *r, uint32_t cp, int px)
{
    struct picto_slot *victim = &r->pslots[0];
    for (int i = 0; i < PICTO_SLOTS; i++) {
        struct picto_slot *p = &r->pslots[i];
        if (p->t && p->cp == cp && p->px == px) {
            p->used = r->frame_no;
            return p;
        }
        if (!p->t || (victim->t && p->used < victim->used))
            victim = p;
    }
    if (!r->pictos || px <= 0 || TTF_SetFontSize(r->pictos, px) != 0)
        return NULL;
    SDL_Color white = {255, 255, 255, 255};
    SDL_Surface *s = TTF_RenderGlyph32_Blended(r->pictos, cp, white);
    if (!s)
        return NULL;
    SDL_Texture *t = SDL_CreateTextureFromSurface(r->ren, s);
    if (t) {
        if (victim->t)
            SDL_DestroyTexture(victim->t);
        SDL_SetTextureBlendMode(t, SDL_BLENDMODE_BLEND);
        *victim = (struct picto_slot){cp, px, t, s->w, s->h, r->frame_no};
    }
    SDL_FreeSurface(s);
    return t ? victim : NULL;
}

static void draw_own_picto(struct render *r, const struct ui_draw *d)
{
    int px = d->r.w < d->r.h ? d->r.w : d->r.h;
    struct picto_slot *p = picto_at(r, d->picto, px);
    if (!p || p->w <= 0 || p->h <= 0)
        return;
    uint32_t c = d->fg ? d->fg : PICTO_INK;
    SDL_SetTextureColorMod(p->t, (Uint8)(c >> 16), (Uint8)(c >> 8), (Uint8)c);
    /* SDL_ttf's cell may be a pixel over the em from rounding: never
       spill out of the rect. */
    int w = p->w < d->r.w ? p->w : d->r.w, h = p->h < d->r.h ? p->h : d->r.h;
    SDL_Rect src = {(p->w - w) / 2, 0, w, h};
    SDL_Rect dst = {d->r.x + (d->r.w - w) / 2, d->r.y + (d->r.h - h) / 2, w, h};
    SDL_RenderCopy(r->ren, p->t, &src, &dst);
}

static void draw_picto(struct render *r, const struct ui_draw *d)
{
    if (PICTO_IS_OURS(d->picto)) {
        draw_own_picto(r, d);
        return;
    }
    struct emoji_slot *e = emoji(r, d->picto);
    if (!e || e->w <= 0 || e->h <= 0)
        return;
    double k = fmin((double)d->r.w / e->w, (double)d->r.h / e->h);
    int w = (int)(e->w * k), h = (int)(e->h * k);
    SDL_Rect dst = {d->r.x + (d->r.w - w) / 2, d->r.y + (d->r.h - h) / 2, w, h};
    SDL_RenderCopy(r->ren, e->t, NULL, &dst);
}

static void draw_meter(struct render *r, const struct ui_draw *d)
{
    SDL_Rect b = {d->r.x, d->r.y, d->r.w, d->r.h};
    color(r->ren, d->bg);
    fill_round(r->ren, b, d->r.h / 4);
    int v = d->value < 0 ? 0 : d->value > 100 ? 100 : d->value;
    /* Segments, so that the level reads without colour. */
    int segs = 20, gap = 4, sw = (b.w - gap * (segs + 1)) / segs;
    color(r->ren, d->fg);
    for (int i = 0; i < segs && i * 100 / segs < v; i++) {
        SDL_Rect s = {b.x + gap + i * (sw + gap), b.y + gap, sw, b.h - 2 * gap};
        SDL_RenderFillRect(r->ren, &s);
    }
}

/*
 * A ring as triangles. SDL draws triangles without anti-aliasing, so each
 * edge of the ring gets a strip a pixel wide fading to transparent over
 * what lies beneath: the round edges stay smooth at any size, which a
 * stepped circle on a 7" panel is not.
 */
#define RING_BATCH 1536 /* vertices: 64 segments of three quads */

struct ring_batch {
    SDL_Vertex v[RING_BATCH];
    int n;
};

static void ring_flush(SDL_Renderer *ren, struct ring_batch *b)
{
    if (b->n)
        SDL_RenderGeometry(ren, NULL, b->v, b->n, NULL, 0);
    b->n = 0;
}

static SDL_Vertex ring_vertex(float cx, float cy, float rad, double a, uint32_t c, Uint8 alpha)
{
    /* Clockwise from the top: y grows downwards. */
    SDL_Vertex v = {{cx + rad * (float)sin(a), cy - rad * (float)cos(a)},
                    {(Uint8)(c >> 16), (Uint8)(c >> 8), (Uint8)c, alpha},
                    {0, 0}};
    return v;
}

/* The band between radii r0 and r1 from angle a0 to a1, its alpha going
   from al0 at r0 to al1 at r1. */
static void ring_quad(SDL_Renderer *ren, struct ring_batch *b, float cx, float cy, float r0,
                      float r1, double a0, double a1, uint32_t c, Uint8 al0, Uint8 al1)
{
    if (b->n + 6 > RING_BATCH)
        ring_flush(ren, b);
    SDL_Vertex p00 = ring_vertex(cx, cy, r0, a0, c, al0), p01 = ring_vertex(cx, cy, r0, a1, c, al0),
               p10 = ring_vertex(cx, cy, r1, a0, c, al1), p11 = ring_vertex(cx, cy, r1, a1, c, al1);
    SDL_Vertex t[6] = {p00, p10, p11, p00, p11, p01};
    memcpy(&b->v[b->n], t, sizeof t);
    b->n += 6;
}

static void ring_arc(SDL_Renderer *ren, struct ring_batch *b, float cx, float cy, float ro,
                     float ri, double a0, double a1, double step, uint32_t c)
{
    if (a1 <= a0)
        return;
    int segs = (int)ceil((a1 - a0) / step);
    for (int i = 0; i < segs; i++) {
        double s0 = a0 + (a1 - a0) * i / segs, s1 = a0 + (a1 - a0) * (i + 1) / segs;
        ring_quad(ren, b, cx, cy, ri + 0.5f, ro - 0.5f, s0, s1, c, 255, 255);
        ring_quad(ren, b, cx, cy, ro - 0.5f, ro + 0.5f, s0, s1, c, 255, 0);
        if (ri >= 1.0f) /* a full disc has no inner edge */
            ring_quad(ren, b, cx, cy, ri - 0.5f, ri + 0.5f, s0, s1, c, 0, 255);
    }
}

static void draw_ring(struct render *r, const struct ui_draw *d)
{
    int side = d->r.w < d->r.h ? d->r.w : d->r.h;
    if (side <= 2)
        return;
    float cx = d->r.x + d->r.w / 2.0f, cy = d->r.y + d->r.h / 2.0f;
    /* The fading edge stays inside the rect. */
    float ro = side / 2.0f - 0.5f;
    float thick = d->radius > 0 ? (float)d->radius : ro;
    float ri = thick >= ro ? 0.0f : ro - thick;
    int v = d->value < 0 ? 0 : d->value > 100 ? 100 : d->value;
    double turn = 2 * M_PI, split = turn * v / 100.0;
    /* Chords within a quarter pixel of the true circle. */
    double step = sqrt(2.0 / ro);
    if (step > M_PI / 16)
        step = M_PI / 16;
    static struct ring_batch b; /* the renderer's thread only */
    b.n = 0;
    SDL_SetRenderDrawBlendMode(r->ren, SDL_BLENDMODE_BLEND);
    ring_arc(r->ren, &b, cx, cy, ro, ri, 0, split, step, d->fg);
    ring_arc(r->ren, &b, cx, cy, ro, ri, split, turn, step, d->bg);
    ring_flush(r->ren, &b);
    SDL_SetRenderDrawBlendMode(r->ren, SDL_BLENDMODE_NONE);
}

void render_frame(struct render *r, const struct ui_draw_list *dl, int blank, uint32_t *argb)
{
    r->frame_no++;
    SDL_SetRenderTarget(r->ren, r->target);
    color(r->ren, blank ? 0 : dl->clear);
    SDL_RenderClear(r->ren);
    for (int i = 0; !blank && i < dl->n; i++) {
        const struct ui_draw *d = &dl->cmds[i];
        SDL_Rect b = {d->r.x, d->r.y, d->r.w, d->r.h};
        switch (d->kind) {
        case UI_DRAW_FILL:
            color(r->ren, d->bg);
            fill_round(r->ren, b, d->radius);
            break;
        case UI_DRAW_TEXT: draw_text(r, d); break;
        case UI_DRAW_PICTO: draw_picto(r, d); break;
        case UI_DRAW_METER: draw_meter(r, d); break;
        case UI_DRAW_RING: draw_ring(r, d); break;
        }
    }
    if (argb) /* before presenting: stable pixels on every driver */
        SDL_RenderReadPixels(r->ren, NULL, SDL_PIXELFORMAT_ARGB8888, argb, r->o.width * 4);
    SDL_SetRenderTarget(r->ren, NULL);
    color(r->ren, 0);
    SDL_RenderClear(r->ren);
    /* Rotate the logical picture onto the panel (KMSDRM cannot). */
    int rot = r->o.rotation;
    int sideways = rot == 90 || rot == 270;
    int dw = sideways ? r->phys_h : r->phys_w, dh = sideways ? r->phys_w : r->phys_h;
    SDL_Rect dst = {(r->phys_w - dw) / 2, (r->phys_h - dh) / 2, dw, dh};
    SDL_RenderCopyEx(r->ren, r->target, NULL, &dst, rot, NULL, SDL_FLIP_NONE);
    SDL_RenderPresent(r->ren);
}

void render_map_point(const struct render *r, int px, int py, int *lx, int *ly)
{
    int w = r->o.width, h = r->o.height;
    /* Scale the panel to the logical size, then undo the rotation. */
    int sideways = r->o.rotation == 90 || r->o.rotation == 270;
    double sx = (double)(sideways ? h : w) / r->phys_w;
    double sy = (double)(sideways ? w : h) / r->phys_h;
    double x = px * sx, y = py * sy;
    switch (r->o.rotation) {
    case 90: *lx = (int)y; *ly = (int)(h - 1 - x); break;
    case 180: *lx = (int)(w - 1 - x); *ly = (int)(h - 1 - y); break;
    case 270: *lx = (int)(w - 1 - y); *ly = (int)x; break;
    default: *lx = (int)x; *ly = (int)y; break;
    }
}

/*
 * SDL_WaitEventTimeout polls every millisecond on drivers without a native
 * wait (KMSDRM among them): a kiosk idling all day would burn a few % of a
 * core on it. Polling every 25 ms instead costs nothing a finger can feel.
 */
#define POLL_MS 25

void render_wait(struct render *r, int timeout_ms, struct render_event *ev)
{
    SDL_Event e;
    ev->kind = RENDER_NONE;
    Uint32 start = SDL_GetTicks();
    for (;;) {
        if (SDL_PollEvent(&e))
            break;
        int left = timeout_ms - (int)(SDL_GetTicks() - start);
        if (left <= 0)
            return;
        SDL_Delay((Uint32)(left < POLL_MS ? left : POLL_MS));
    }
    switch (e.type) {
    case SDL_QUIT: ev->kind = RENDER_QUIT; break;
    case SDL_FINGERDOWN:
    case SDL_FINGERUP:
        /* Fingers come normalised to the panel. */
        ev->kind = e.type == SDL_FINGERDOWN ? RENDER_PRESS : RENDER_RELEASE;
        render_map_point(r, (int)(e.tfinger.x * r->phys_w), (int)(e.tfinger.y * r->phys_h),
                         &ev->x, &ev->y);
        break;
    case SDL_MOUSEBUTTONDOWN:
    case SDL_MOUSEBUTTONUP:
        if (e.button.which == SDL_TOUCH_MOUSEID)
            break; /* the finger event already counted */
        ev->kind = e.type == SDL_MOUSEBUTTONDOWN ? RENDER_PRESS : RENDER_RELEASE;
        render_map_point(r, e.button.x, e.button.y, &ev->x, &ev->y);
        break;
    case SDL_WINDOWEVENT:
        if (e.window.event == SDL_WINDOWEVENT_EXPOSED || e.window.event == SDL_WINDOWEVENT_SHOWN ||
            e.window.event == SDL_WINDOWEVENT_SIZE_CHANGED ||
            e.window.event == SDL_WINDOWEVENT_RESTORED)
            ev->kind = RENDER_REDRAW;
        break;
    case SDL_KEYDOWN:
        if (e.key.keysym.sym == SDLK_ESCAPE && !r->o.fullscreen)
            ev->kind = RENDER_QUIT; /* desktop window only: the kiosk has no keyboard */
        break;
    default: break;
    }
}
