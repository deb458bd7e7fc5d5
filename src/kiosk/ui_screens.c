/*
 * ui_screens — the villager's screens, drawn from the ui's state, every one
 * in the frame of ui_priv.h (back top left, hear top right, forward bottom
 * right, step dots bottom left). Where each target lies is chosen so that
 * the finger that just touched never lands on a different target of the
 * next screen (docs/kiosk-flow.md); tests/test_ui.c checks every move.
 */
#include "kiosk/ui_priv.h"

#define STEPS 3 /* language, speak, send */

static uint32_t lang_colour(const char *code)
{
    return !strcmp(code, "vi") ? C_LANG_VI : !strcmp(code, "hmn") ? C_LANG_HMN : C_LANG_OTHER;
}

static uint32_t lang_picto(const char *code)
{
    return !strcmp(code, "vi") ? PICTO_LANG_VI : !strcmp(code, "hmn") ? PICTO_LANG_HMN : PICTO_HEAR;
}

/* Height of the languages' band on the start screen: its centre lies below
   the speak screen's red button, where that screen has no target. */
static int lang_band_h(const struct ui *ui)
{
    return px(ui, 150);
}

/* The row under the top bar where the review offers its extras; the
   extras' own screens keep it free of targets (their question is there). */
static int extras_h(const struct ui *ui)
{
    return ui->min_target + px(ui, 6);
}

/* The speak screen's red button, and where the ring of the recording is. */
static struct ui_rect record_rect(const struct ui *ui)
{
    struct ui_rect c = frame_content(ui);
    int d = c.h - px(ui, 20);
    if (d > ui->cfg.width / 2 - px(ui, 40))
        d = ui->cfg.width / 2 - px(ui, 40);
    return rect((ui->cfg.width / 2 - d) / 2, c.y + (c.h - d) / 2, d, d);
}

void ui_draw_start(struct frame *f)
{
    struct ui *ui = f->ui;
    int w = ui->cfg.width, H = ui->cfg.height;
    int n = ui->cfg.nlangs > 0 ? ui->cfg.nlangs : 1;
    /* A touch anywhere else says the welcome: the screen is quiet after a tip. */
    target(ui, rect(0, 0, w, H), A_WELCOME, 0, "welcome");
    /* Who receives the tip: the post's name, in no language of its own,
       across the top (the corner is drawn as nothing). */
    struct ui_rect title = frame_title_rect(ui);
    title.x = frame_margin(ui) + px(ui, 4);
    title.w = frame_hear_rect(ui).x - title.x - px(ui, 4);
    int pic = title.h - px(ui, 6);
    picto(f, rect(title.x, title.y + px(ui, 3), pic, pic), PICTO_POSTBOX, C_BG);
    text(f, rect(title.x + pic + px(ui, 6), title.y, title.w - pic - px(ui, 6), title.h),
         ui->cfg.post_name[0] ? ui->cfg.post_name : tr_in(ui, "vi", "Tip box of the border post"),
         font(ui, 32), C_INK, C_BG, UI_ALIGN_CENTER);
    frame_hear(f);
    /* The promise, in each language above its own button. */
    int band = lang_band_h(ui);
    int top = frame_top_h(ui) + px(ui, 4);
    int copy_h = H - band - top;
    int cols = n > 3 ? 1 : n;
    for (int i = 0; i < cols; i++) {
        const char *code = ui->cfg.nlangs ? ui->langs[i].code : "vi";
        int cx = i * w / cols, cw = w / cols;
        text(f, rect(cx + px(ui, 12), top, cw - px(ui, 24), copy_h / 3),
             tr_in(ui, code, "Touch your language to leave a tip."), font(ui, 28), C_INK, C_BG,
             UI_ALIGN_CENTER);
        text(f, rect(cx + px(ui, 12), top + copy_h / 3, cw - px(ui, 24), copy_h * 2 / 3),
             tr_in(ui, code, "No name is asked. There is no camera. Only the border post can "
                             "listen."),
             font(ui, 28), C_MUTED, C_BG, UI_ALIGN_CENTER);
    }
    /* The languages, each with its own picture and colour. */
    for (int i = 0; i < n; i++) {
        const char *code = ui->cfg.nlangs ? ui->langs[i].code : "vi";
        const char *name = ui->cfg.nlangs ? ui->langs[i].name : "Tiếng Việt";
        char label[24];
        snprintf(label, sizeof label, "lang:%s", code);
        button(f, rect(i * w / n, H - band, w / n, band), lang_colour(code), C_WHITE,
               lang_picto(code), name, font(ui, n > 2 ? 32 : 40), A_LANG, i, label);
    }
    frame_corner(f);
}

/* The start screen is the language screen (kept for the screen's name). */
void ui_draw_language(struct frame *f)
{
    ui_draw_start(f);
}

void ui_draw_speak(struct frame *f)
{
    struct ui *ui = f->ui;
    int w = ui->cfg.width;
    frame_back(f);
    frame_hear(f);
    struct ui_rect c = frame_content(ui);
    int tx = w / 2 + px(ui, 10), tw = w / 2 - px(ui, 20);
    if (!ui->mic_present) {
        /* No microphone: writing. The button sits where the keyboard shows
           the typed text, so no key lies under the finger. */
        button(f, frame_middle_rect(ui), C_GREEN, C_WHITE, PICTO_KEYBOARD, tr(ui, "Write"),
               font(ui, 32), A_EXTRA, EXTRA_TEXT, "write");
        text(f, rect(px(ui, 20), c.y, w - px(ui, 40), c.h),
             tr(ui, "The microphone is not working. You can write your tip instead."),
             font(ui, 34), C_INK, C_BG, UI_ALIGN_CENTER);
        frame_dots(f, 2, STEPS);
        return;
    }
    frame_title(f, tr(ui, "Speak"));
    struct ui_rect rb = record_rect(ui);
    int d = rb.w;
    fill(f, rb, C_RED, d / 2);
    picto_fg(f, rect(rb.x + d / 4, rb.y + d / 10, d / 2, d / 2), PICTO_RECORD, C_WHITE, C_RED);
    text(f, rect(rb.x + d / 8, rb.y + d * 60 / 100, d * 3 / 4, d / 4),
         tr(ui, ui->handset ? "Speak now" : "Touch and speak"), font(ui, 32), C_WHITE, C_RED,
         UI_ALIGN_CENTER);
    if (!ui->auto_record)
        target(ui, rb, A_RECORD, 0, "record");
    /* What to say: what, where, when; never a name. */
    text(f, rect(tx, c.y, tw, c.h * 3 / 5), tr(ui, "Say what happened, where, and when."),
         font(ui, 34), C_INK, C_BG, UI_ALIGN_CENTER);
    text(f, rect(tx, c.y + c.h * 3 / 5, tw, c.h * 2 / 5), tr(ui, "Do not say your name."),
         font(ui, 30), C_MUTED, C_BG, UI_ALIGN_CENTER);
    frame_dots(f, 2, STEPS);
}

static void ring(struct frame *f, struct ui_rect r, int value, uint32_t fg, uint32_t bg)
{
    struct ui_draw *d = cmd(f, UI_DRAW_RING, r);
    if (d) {
        d->fg = fg;
        d->bg = bg;
        d->value = value < 0 ? 0 : value > 100 ? 100 : value;
        d->radius = px(f->ui, 26);
    }
}

void ui_draw_recording(struct frame *f)
{
    struct ui *ui = f->ui;
    int w = ui->cfg.width, H = ui->cfg.height;
    frame_discard(f);
    frame_title(f, tr(ui, "Speak now"));
    /* Time going by, where the red button was: no target there. */
    struct ui_rect rr = record_rect(ui);
    ring(f, rr, ui->shown_seconds * 100 / ui->cfg.max_record_seconds, C_RED, C_TILE);
    picto_fg(f, inset(rr, rr.w / 4), PICTO_RECORD, C_RED, C_BG);
    /* The meter: the person sees the kiosk hears them. */
    struct ui_rect dots = frame_dots_rect(ui);
    struct ui_rect m = rect(px(ui, 30), dots.y + px(ui, 24), w / 2 - px(ui, 60), dots.h - px(ui, 48));
    struct ui_draw *d = cmd(f, UI_DRAW_METER, m);
    if (d) {
        d->fg = C_METER;
        d->bg = C_TILE;
        d->value = ui->shown_level;
    }
    /* One large "done": the right half, away from where the red button was. */
    int top = frame_top_h(ui);
    button(f, rect(w / 2, top, w / 2, H - top), C_GREEN, C_WHITE, PICTO_DONE, tr(ui, "Done"),
           font(ui, 44), A_DONE, 0, "done");
}

/* A small picture tile with its word: the review's extras. */
static void extra_tile(struct frame *f, struct ui_rect r, uint32_t pic, const char *label, int on,
                       int arg, const char *name)
{
    struct ui *ui = f->ui;
    struct ui_rect b = inset(r, px(ui, 6));
    uint32_t bg = on ? C_SELECT : C_TILE;
    fill(f, b, bg, px(ui, 12));
    int pw = b.h - px(ui, 12);
    picto_fg(f, rect(b.x + px(ui, 6), b.y + px(ui, 6), pw, pw), pic, C_INK, bg);
    text(f, rect(b.x + pw + px(ui, 10), b.y, b.w - pw - px(ui, 14), b.h), label, font(ui, 28),
         C_INK, bg, UI_ALIGN_CENTER);
    target(ui, r, A_EXTRA, arg, name);
}

void ui_draw_review(struct frame *f)
{
    struct ui *ui = f->ui;
    int w = ui->cfg.width, H = ui->cfg.height;
    frame_discard(f);
    frame_hear(f);
    int top = frame_top_h(ui), eh = extras_h(ui);
    /* Extras, never forced: a picture of what happened, a few words, when.
       "Write" sits where the keyboard shows the typed text (no key under
       the finger), the others where their screens ask their question. */
    extra_tile(f, frame_middle_rect(ui), PICTO_KEYBOARD, tr(ui, "Write"),
               telex_text(ui->telex)[0] != 0, EXTRA_TEXT, "extra:text");
    extra_tile(f, rect(0, top, w / 3, eh),
               ui->category ? ui_categories[ui->category].picto : PICTO_OTHER,
               tr(ui, "What happened?"), ui->category != 0, EXTRA_CATEGORY, "extra:category");
    text(f, rect(w / 3 + px(ui, 6), top, w / 3 - px(ui, 12), eh), tr(ui, "Your words are ready"),
         font(ui, 28), C_INK, C_BG, UI_ALIGN_CENTER);
    extra_tile(f, rect(2 * w / 3, top, w - 2 * w / 3, eh),
               ui->when ? ui_whens[ui->when].picto : PICTO_TODAY, tr(ui, "When?"), ui->when != 0,
               EXTRA_WHEN, "extra:when");
    int y = top + eh, bh = H - frame_bottom_h(ui) - y;
    if (ui->recorded)
        button(f, rect(0, y, w / 2, bh), C_BLUE, C_WHITE, PICTO_PLAY, tr(ui, "Listen back"),
               font(ui, 34), A_LISTEN, 0, "listen");
    /* It goes by itself: the ring empties, no numbers needed. */
    int d = bh - px(ui, 20);
    if (d > w / 4)
        d = w / 4;
    struct ui_rect rr = rect(w / 2 + px(ui, 10), y + (bh - d) / 2, d, d);
    int total = ui_countdown_total(ui);
    ring(f, rr, ui_countdown_left(ui) * 100 / (total ? total : 1), C_GREEN, C_TILE);
    text(f, rect(rr.x + d + px(ui, 10), y, w - rr.x - d - px(ui, 20), bh),
         tr(ui, "It is sent by itself."), font(ui, 28), C_INK, C_BG, UI_ALIGN_CENTER);
    frame_dots(f, 3, STEPS);
    frame_forward(f, PICTO_DONE, tr(ui, "Send"), A_SEND, "send");
}

/* The extras' screens: the question where the review had its extras. */
static struct ui_rect extra_area(const struct ui *ui, int *question_y)
{
    int top = frame_top_h(ui);
    *question_y = top;
    return rect(0, top + extras_h(ui), ui->cfg.width, ui->cfg.height - top - extras_h(ui));
}

void ui_draw_category(struct frame *f)
{
    struct ui *ui = f->ui;
    int w = ui->cfg.width;
    frame_title(f, tr(ui, "What happened?"));
    frame_hear(f);
    int qy;
    struct ui_rect a = extra_area(ui, &qy);
    text(f, rect(px(ui, 10), qy, w - px(ui, 20), extras_h(ui)),
         tr(ui, "Touch a picture, if you wish."), font(ui, 28), C_MUTED, C_BG, UI_ALIGN_CENTER);
    /* Four above; three beside the forward place below. */
    int fw = frame_forward_rect(ui).w;
    int rh = a.h / 2;
    for (int c = CATEGORY_BORDER; c <= CATEGORY_OTHER; c++) {
        int i = c - 1;
        struct ui_rect r = i < 4 ? rect(i * w / 4, a.y, w / 4, rh)
                                 : rect((i - 4) * (w - fw) / 3, a.y + rh, (w - fw) / 3, a.h - rh);
        char name[16];
        snprintf(name, sizeof name, "cat:%d", c);
        /* The picture above its word, at any height (button() puts them
           side by side below 150 px, too narrow for these words). */
        uint32_t bg = ui->category == c ? C_SELECT : C_TILE;
        struct ui_rect b = inset(r, px(ui, 6));
        fill(f, b, bg, px(ui, 12));
        int ph = b.h * 45 / 100;
        picto_fg(f, rect(b.x, b.y + px(ui, 4), b.w, ph), ui_categories[c].picto, C_INK, bg);
        text(f, rect(b.x + px(ui, 4), b.y + ph + px(ui, 4), b.w - px(ui, 8), b.h - ph - px(ui, 6)),
             tr(ui, ui_categories[c].msgid), font(ui, 28), C_INK, bg, UI_ALIGN_CENTER);
        target(ui, r, A_CATEGORY, c, name);
    }
    frame_forward(f, PICTO_DONE, tr(ui, "OK"), A_EXTRA_OK, "ok");
}

void ui_draw_when(struct frame *f)
{
    struct ui *ui = f->ui;
    int w = ui->cfg.width;
    frame_title(f, tr(ui, "When did it happen?"));
    frame_hear(f);
    int qy;
    struct ui_rect a = extra_area(ui, &qy);
    text(f, rect(px(ui, 10), qy, w - px(ui, 20), extras_h(ui)),
         tr(ui, "Touch a picture, if you wish."), font(ui, 28), C_MUTED, C_BG, UI_ALIGN_CENTER);
    a.h -= frame_bottom_h(ui);
    for (int i = WHEN_TODAY; i <= WHEN_EARLIER; i++) {
        struct ui_rect r;
        char name[24];
        grid(4, 4, a, i - 1, &r);
        snprintf(name, sizeof name, "when:%d", i);
        button(f, r, ui->when == i ? C_SELECT : C_TILE, C_INK, ui_whens[i].picto,
               tr(ui, ui_whens[i].msgid), font(ui, 30), A_WHEN, i, name);
    }
    frame_dots(f, 3, STEPS);
    frame_forward(f, PICTO_DONE, tr(ui, "OK"), A_EXTRA_OK, "ok");
}

void ui_draw_sent(struct frame *f)
{
    struct ui *ui = f->ui;
    int w = ui->cfg.width, H = ui->cfg.height;
    frame_hear(f);
    int top = frame_top_h(ui);
    if (ui->training) {
        picto(f, rect(w / 2 - px(ui, 60), top, px(ui, 120), px(ui, 120)), PICTO_PRACTICE, C_BG);
        text(f, rect(px(ui, 30), top + px(ui, 130), w - px(ui, 60), H - top - px(ui, 160)),
             tr(ui, "This was practice: nothing was sent."), font(ui, 40), C_INK, C_BG,
             UI_ALIGN_CENTER);
        return;
    }
    picto(f, rect(w / 2 - px(ui, 130), top - px(ui, 60), px(ui, 120), px(ui, 120)), PICTO_LOCK,
          C_BG);
    picto_fg(f, rect(w / 2 + px(ui, 10), top - px(ui, 60), px(ui, 120), px(ui, 120)), PICTO_DONE,
             C_GREEN, C_BG);
    text(f, rect(px(ui, 30), top + px(ui, 70), w - px(ui, 60), px(ui, 170)),
         tr(ui, "Your tip is in the safe box. Only the border post can open it."), font(ui, 36),
         C_INK, C_BG, UI_ALIGN_CENTER);
    text(f, rect(px(ui, 30), top + px(ui, 250), w - px(ui, 60), px(ui, 60)), tr(ui, "Thank you."),
         font(ui, 40), C_INK, C_BG, UI_ALIGN_CENTER);
}

void ui_draw_still_there(struct frame *f)
{
    struct ui *ui = f->ui;
    int w = ui->cfg.width;
    frame_title(f, tr(ui, "Are you still there?"));
    frame_hear(f);
    struct ui_rect c = frame_content(ui);
    int left = ui_countdown_left(ui), total = ui_countdown_total(ui);
    int d = c.h - px(ui, 20);
    struct ui_rect rr = rect((w - d) / 2, c.y + px(ui, 10), d, d);
    ring(f, rr, left * 100 / (total ? total : 1), C_BLUE, C_TILE);
    char num[8];
    snprintf(num, sizeof num, "%d", left);
    text(f, inset(rr, d / 4), num, font(ui, 64), C_INK, C_BG, UI_ALIGN_CENTER);
    /* One big target, where the screen it returns to has none. */
    button(f, frame_dots_rect(ui), C_GREEN, C_WHITE, PICTO_DONE, tr(ui, "Yes, I am here"),
           font(ui, 36), A_STILL_HERE, 0, "still_here");
}

/*
 * A card not set up (no kiosk.conf, no device key): whoever stands there
 * reads, in Vietnamese, that it takes no tips and to tell the staff; the
 * technician reads what is missing, what to do, the red LED's code and
 * where the checks are. Nothing moves, nothing is spoken by itself.
 */
static void draw_not_set_up(struct frame *f)
{
    struct ui *ui = f->ui;
    int w = ui->cfg.width, H = ui->cfg.height;
    int top = frame_top_h(ui);
    frame_hear(f);
    picto(f, rect(w / 2 - px(ui, 50), px(ui, 4), px(ui, 100), top - px(ui, 8)), PICTO_WRENCH,
          C_BG);
    int y = top;
    text(f, rect(px(ui, 16), y, w - px(ui, 32), px(ui, 44)),
         tr_in(ui, "vi", "This kiosk cannot take tips right now."), font(ui, 32), C_INK, C_BG,
         UI_ALIGN_CENTER);
    text(f, rect(px(ui, 16), y + px(ui, 44), w - px(ui, 32), px(ui, 40)),
         tr_in(ui, "vi", "Please tell the staff of the health station."), font(ui, 28), C_MUTED,
         C_BG, UI_ALIGN_CENTER);
    y += px(ui, 92);
    static char lines[5][UI_TEXT_MAX];
    int n = ui_staff_setup_lines(ui, lines, 5);
    /* The technician's part, on a panel of its own. */
    struct ui_rect box = rect(px(ui, 8), y, w - px(ui, 16), H - y - px(ui, 8));
    fill(f, box, C_SELECT, px(ui, 10));
    /* Heights: the title line, what is missing, what to do (two or three
       lines), the light and the corner. */
    static const int hs[5] = {40, 40, 118, 40, 40};
    int ty = box.y + px(ui, 6);
    for (int i = 0; i < n; i++) {
        int h = px(ui, hs[i]);
        text(f, rect(box.x + px(ui, 12), ty, box.w - px(ui, 24), h), lines[i], font(ui, 28),
             C_INK, C_SELECT, UI_ALIGN_LEFT);
        ty += h;
    }
    frame_corner(f);
}

void ui_draw_out_of_service(struct frame *f)
{
    struct ui *ui = f->ui;
    int w = ui->cfg.width;
    if (ui->setup) {
        draw_not_set_up(f);
        return;
    }
    frame_hear(f);
    picto(f, rect(w / 2 - px(ui, 60), px(ui, 10), px(ui, 120), px(ui, 120)), PICTO_WRENCH, C_BG);
    const char *langs[2] = {"vi", "hmn"};
    int y = px(ui, 135);
    for (int i = 0; i < 2; i++) {
        text(f, rect(px(ui, 16), y, w - px(ui, 32), px(ui, 80)),
             tr_in(ui, langs[i], "This kiosk cannot take tips right now."), font(ui, 32), C_INK,
             C_BG, UI_ALIGN_CENTER);
        text(f, rect(px(ui, 16), y + px(ui, 80), w - px(ui, 32), px(ui, 80)),
             tr_in(ui, langs[i], "Please tell the staff of the health station."), font(ui, 28),
             C_MUTED, C_BG, UI_ALIGN_CENTER);
        y += px(ui, 170);
    }
    frame_corner(f);
}

/* The tip could not be kept: said plainly, in the person's language first. */
void ui_draw_not_saved(struct frame *f)
{
    struct ui *ui = f->ui;
    int w = ui->cfg.width, H = ui->cfg.height;
    frame_hear(f);
    int top = frame_top_h(ui);
    picto(f, rect(w / 2 - px(ui, 50), px(ui, 4), px(ui, 100), top - px(ui, 8)), P_WARNING, C_BG);
    int n = ui->cfg.nlangs > 1 ? 2 : 1;
    int bh = (H - top) / n;
    for (int k = 0; k < n; k++) {
        int i = k == 0 ? ui->lang : (ui->lang == 0 ? 1 : 0);
        const char *code = ui->cfg.nlangs ? ui->langs[i].code : "vi";
        int y = top + k * bh;
        text(f, rect(px(ui, 16), y, w - px(ui, 32), bh / 2), tr_in(ui, code, "Your words were not kept."),
             font(ui, 36), C_INK, C_BG, UI_ALIGN_CENTER);
        text(f, rect(px(ui, 16), y + bh / 2, w - px(ui, 32), bh / 2),
             tr_in(ui, code, "Please tell the staff of the health station."), font(ui, 28),
             C_MUTED, C_BG, UI_ALIGN_CENTER);
    }
}
