/*
 * render — the display and touch port: the one file that talks to SDL video
 * and SDL_ttf (render_sdl.c). It draws a ui_draw_list, rotates the picture
 * for panels mounted sideways (KMSDRM does not rotate), blanks the panel,
 * and turns touches and clicks into taps in the UI's logical coordinates.
 *
 * Not here: what to draw (ui.h), audio (audio.h).
 *
 * Errors: render_open returns 0 or -1 with a sentence in err.
 */
#ifndef HOMTHU_RENDER_H
#define HOMTHU_RENDER_H

#include <stddef.h>
#include <stdint.h>

#include "kiosk/ui.h"

struct render_opts {
    int width, height;    /* logical size the UI lays out for */
    int rotation;         /* 0, 90, 180, 270 degrees, clockwise */
    int fullscreen;       /* the kiosk; a window on a desktop otherwise */
    int software;         /* SDL_RENDERER_SOFTWARE: deterministic pixels for tests */
    int min_text_px;      /* text never shrinks below this to fit */
    const char *font_path;   /* OFL font with full Vietnamese coverage */
    const char *emoji_path;  /* Noto Color Emoji; NULL: pictures become text */
    const char *title;
    /* The project's pictograms (kiosk/pictos.h); NULL: HomthuPictos.ttf in
       font_path's directory, where the kiosk's fonts are installed together. */
    const char *picto_path;
};

struct render;

int render_open(struct render **out, const struct render_opts *o, char *err, size_t errlen)
    __attribute__((warn_unused_result));
void render_close(struct render *r); /* NULL is a no-op */

/*
 * Draw a frame. `blank` turns the panel dark. A picture with one of the
 * project's own code points (PICTO_IS_OURS, kiosk/pictos.h) is drawn from
 * the pictogram font at its rect's size, in the command's fg colour (0: near
 * black); any other from the emoji font. When `argb` is given (w*h
 * logical pixels) it receives the frame as drawn, before it is shown.
 */
void render_frame(struct render *r, const struct ui_draw_list *dl, int blank, uint32_t *argb);

/* RENDER_PRESS: a finger (or the mouse button) went down, RENDER_RELEASE:
   it came up, both at the logical point: a target acts on the press, and
   the volunteer's corner needs to know how long it was held (ui_press).
   RENDER_REDRAW: the panel lost what was shown (the display driver made new
   buffers, the window was exposed): draw the frame again. */
enum render_event_kind { RENDER_NONE, RENDER_PRESS, RENDER_QUIT, RENDER_REDRAW, RENDER_RELEASE };
struct render_event {
    int kind;
    int x, y; /* logical */
};

/* Wait up to timeout_ms for input; RENDER_NONE when nothing came. */
void render_wait(struct render *r, int timeout_ms, struct render_event *ev);

/* Physical coordinates (window pixels) to logical, for the rotation; tests use it. */
void render_map_point(const struct render *r, int px, int py, int *lx, int *ly);

#endif
