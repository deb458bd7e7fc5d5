/* ui_keyboard — the text screen: the on-screen keyboard and what was typed
   (Telex for Vietnamese, plain letters for Hmong RPA; telex.h).

   One grid of 10 keys a row, each key a full 15 mm cell, and nothing that
   changes under the finger: digits and the signs of plates and phone
   numbers (29A-123.45, 0912 345 678) are always there, no 123/abc switch
   to find. Five rows of keys fill the bottom; what is left above is the
   typed text, large, beside "hear again" in the top corner:

     [ typed text ..................... ] [ hear ]
     [ - ][ . ][ / ][  space  ][ delete ] [ again]
     [ 1 ][ 2 ][ 3 ][ 4 ][ 5 ][ 6 ][ 7 ][ 8 ][ 9 ][ 0 ]
     [ q ][ w ][ e ][ r ][ t ][ y ][ u ][ i ][ o ][ p ]
        [ a ][ s ][ d ][ f ][ g ][ h ][ j ][ k ][ l ]
     [ z ][ x ][ c ][ v ][ b ][ n ][ m ][   continue   ]

   Delete sits at the end of the text it deletes; "continue", the one way
   on, is alone at the bottom right where phones put "enter", far from it. */
#include "kiosk/ui_priv.h"

static const char *const kb_rows[] = {"1234567890", "qwertyuiop", "asdfghjkl", "zxcvbnm"};

/* Keys that do something other than type a letter are dark grey, as on
   phones: white on #333 is 12.6:1. */
#define C_FUNCTION C_MUTED

/* One key that types `c`. */
static void key(struct frame *f, struct ui_rect r, char c, int size)
{
    char lab[2] = {c, 0}, name[12];
    snprintf(name, sizeof name, "key:%c", c);
    button(f, r, C_BLUE, C_WHITE, 0, lab, size, A_KEY, c, name);
}

/* The corners run down two rows here: picture above words, at any panel
   size (button() puts a picture beside words below 150 px). */
static void tall_button(struct frame *f, struct ui_rect r, uint32_t bg, uint32_t pic,
                        const char *label, int action, const char *name)
{
    struct ui *ui = f->ui;
    struct ui_rect b = inset(r, frame_margin(ui)); /* clear of the practice frame */
    fill(f, b, bg, px(ui, 14));
    int ph = b.h * 45 / 100;
    picto(f, rect(b.x, b.y + px(ui, 6), b.w, ph - px(ui, 6)), pic, bg);
    text(f, rect(b.x + px(ui, 4), b.y + ph, b.w - px(ui, 8), b.h - ph - px(ui, 4)), label,
         font(ui, 28), C_WHITE, bg, UI_ALIGN_CENTER);
    target(ui, r, action, 0, name);
}

/* The end of `s` that fits `max` characters (code points), never cutting
   one in two: the newest letters are the ones to see. */
static const char *tail(const char *s, int max)
{
    int n = 0;
    for (const char *p = s; *p; p++)
        n += (*p & 0xC0) != 0x80;
    const char *p = s;
    for (; n > max && *p; n--) {
        p++;
        while ((*p & 0xC0) == 0x80)
            p++;
    }
    return p;
}

void ui_draw_text(struct frame *f)
{
    struct ui *ui = f->ui;
    int w = ui->cfg.width, H = ui->cfg.height;
    int k = ui->min_target + 1; /* key pitch: a key is a full 15 mm cell */
    if (k * 10 > w)
        k = w / 10;
    int x0 = (w - 10 * k) / 2; /* what is left over goes to the margins */
    int top = H - 5 * k;       /* the text's strip above the keys */
    int y1 = top, y2 = top + k, y3 = top + 2 * k, y4 = top + 3 * k, y5 = top + 4 * k;
    int ksize = font(ui, 40);

    /* Hear again: the top corner of every screen, down to the first row. */
    int hx = x0 + 8 * k;
    tall_button(f, rect(hx, 0, w - hx, top + k), C_BLUE, P_SPEAKER, tr(ui, "Hear again"), A_HEAR,
                "hear");

    /* The cancel corner, as on every screen: back while nothing is said
       or written, "throw away" (red) once something is. It is only as tall
       as the text's strip: the keys need the rest of the panel. */
    const char *typed = telex_text(ui->telex);
    int bw = x0 + k + k / 2;
    struct ui_rect cancel = rect(0, 0, bw, top + k); /* down to the first row, as hear */
    if (ui->tip_open || typed[0])
        tall_button(f, cancel, C_RED, PICTO_DISCARD, tr(ui, "Throw away"), A_DISCARD, "discard");
    else
        tall_button(f, cancel, C_BLUE, PICTO_BACK, tr(ui, "Back"), A_BACK, "back");

    /* What has been typed, large, on its own strip; before the first key
       the strip says what it is for. */
    int m = frame_margin(ui);
    struct ui_rect box = rect(bw + m, m, hx - bw - 2 * m, top - 2 * m);
    fill(f, box, C_TILE, px(ui, 8));
    struct ui_rect in = rect(box.x + px(ui, 10), box.y, box.w - px(ui, 20), box.h);
    if (!typed[0]) {
        const char *hint =
            ui->mic_present
                ? tr(ui, "Write something (optional)")
                : tr(ui, "The microphone is not working. You can write your tip instead.");
        text(f, in, hint, font(ui, 28), C_MUTED, C_TILE, UI_ALIGN_LEFT);
    } else {
        /* The renderer wraps what does not fit and would show the oldest
           line: give it only what fits on one line. A glyph of Noto Sans
           is about 0.55 em wide on average, 0.6 leaves room for wide ones. */
        int tsize = font(ui, 44);
        int fits = (int)(in.w / (0.6 * tsize)) - 1;
        char shown[UI_TEXT_MAX];
        snprintf(shown, sizeof shown, "%s|", tail(typed, fits < 1 ? 1 : fits));
        text(f, in, shown, tsize, C_INK, C_TILE, UI_ALIGN_LEFT);
    }

    /* The signs of plates and numbers, space, delete. */
    /* Small signs drawn larger than letters, or "." is a speck. */
    key(f, rect(bw, y1, k, k), '-', font(ui, 56));
    key(f, rect(bw + k, y1, k, k), '.', font(ui, 56));
    key(f, rect(bw + 2 * k, y1, k, k), '/', font(ui, 48));
    button(f, rect(bw + 3 * k, y1, 2 * k, k), C_FUNCTION, C_WHITE, 0, tr(ui, "Space"),
           font(ui, 28), A_KEY, ' ', "key:space");
    button(f, rect(bw + 5 * k, y1, hx - bw - 5 * k, k), C_FUNCTION, C_WHITE, 0, tr(ui, "Delete"),
           font(ui, 28), A_BACKSPACE, 0, "key:delete");

    /* Digits, then the letters as on every phone. */
    int ys[4] = {y2, y3, y4, y5};
    for (int r = 0; r < 4; r++) {
        int n = (int)strlen(kb_rows[r]);
        /* The short rows sit half a key in, as on a phone: the bottom one
           from the left edge, so "continue" keeps the right. */
        int rx = x0 + (n == 9 ? k / 2 : 0);
        for (int i = 0; i < n; i++)
            key(f, rect(rx + i * k, ys[r], k, k), kb_rows[r][i], ksize);
    }
    int cx = x0 + 7 * k;
    button(f, rect(cx, y5, w - cx, k), C_GREEN, C_WHITE, P_CHECK,
           tr(ui, typed[0] ? "Continue" : "Skip"), font(ui, 28), A_TEXT_DONE, 0, "text_done");
}
