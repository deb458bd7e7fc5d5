/*
 * ui_priv — what the ui's own files share (ui.c: state and flow;
 * ui_screens.c: the villager's screens; ui_staff.c: PIN, volunteer and
 * technician). Not for anyone else: the interface is ui.h.
 *
 * The drawing primitives are static inline so each screen file lays out
 * with the same frame and nothing leaks into the library's symbols.
 */
#ifndef HOMTHU_UI_PRIV_H
#define HOMTHU_UI_PRIV_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/envelope.h"
#include "kiosk/telex.h"
#include "kiosk/ui.h"
#include "kiosk/ui_staff.h"

/*
 * Colours. Every text colour pair is ≥ 7:1 (WCAG AAA); tests compute it
 * from the draw list. Dark text on white for reading, white on deep
 * colours for buttons, the colour itself only a second cue.
 */
#define C_BG 0xFFFFFFu
#define C_INK 0x111111u
#define C_MUTED 0x333333u
#define C_BLUE 0x0B3D91u   /* ordinary buttons */
#define C_GREEN 0x075E26u  /* go on, keep, send */
#define C_RED 0xA4001Du    /* record */
#define C_TILE 0xF2F2F2u   /* picture tiles */
#define C_SELECT 0xFFE08Au /* chosen tile */
#define C_WHITE 0xFFFFFFu
#define C_BLACK 0x000000u
#define C_METER 0x075E26u
#define C_PRACTICE 0xFFB000u /* the practice frame: amber, black text on it */
#define C_DOT_OFF 0xBBBBBBu  /* a step still to come */
/* Each language its own colour, white text ≥ 7:1 on each. */
#define C_LANG_VI 0x8A1538u
#define C_LANG_HMN 0x3A1C71u
#define C_LANG_OTHER 0x00524Au

/* Pictograms: the project's own (pictos.h); P_AGAIN, P_WAVE, P_GLOBE still emoji. */
#define P_POSTBOX PICTO_POSTBOX
#define P_SPEAK PICTO_OTHER
#define P_LOCK PICTO_LOCK
#define P_SPEAKER PICTO_HEAR
#define P_MIC PICTO_MIC
#define P_CHECK PICTO_DONE
#define P_BACK PICTO_BACK
#define P_PLAY PICTO_PLAY
#define P_AGAIN 0x1F501u
#define P_STOP PICTO_STOP
#define P_WRITE PICTO_KEYBOARD
#define P_SUN PICTO_TODAY
#define P_MOON PICTO_EARLIER
#define P_CALENDAR PICTO_WEEK
#define P_HOURGLASS PICTO_WAIT
#define P_WARNING PICTO_WARNING
#define P_WAVE 0x1F44Bu
#define P_WRENCH PICTO_WRENCH
#define P_GLOBE 0x1F310u
#define P_REC PICTO_RECORD

#include "kiosk/pictos.h"

enum action {
    A_NONE,
    A_WAKE,
    A_START,
    A_LANG,
    A_CATEGORY,
    A_BACK,
    A_HEAR,
    A_RECORD,
    A_STOP,
    A_SEND,
    A_LISTEN,
    A_AGAIN,
    A_KEEP,
    A_KEY,
    A_BACKSPACE,
    A_TEXT_DONE,
    A_WHEN,
    A_STILL_HERE,
    A_VOLUNTEER,
    A_PIN_DIGIT,
    A_PIN_DEL,
    A_PIN_CANCEL,
    A_V_RECORD,
    A_V_PLAY,
    A_V_NEXT,
    A_V_PRACTICE,
    A_V_VOLUME,
    A_V_DONE,
    A_V_TECH,
    A_T_MIC,
    A_T_LED,
    A_T_DONE,
    A_T_TOUCH,
    /* The villager's flow (issue 10). */
    A_WELCOME,   /* the start screen's background: say the welcome */
    A_DONE,      /* recording: done */
    A_DISCARD,   /* throw away, don't send */
    A_EXTRA,     /* review: arg 0 picture, 1 words, 2 when */
    A_EXTRA_OK,  /* an extra's screen: back to review */
    A_CORNER,    /* the long-press corner: nothing on a tap */
};

/* The forward action's screens; "still there?" returns with EXTRA_OK. */
enum extra { EXTRA_CATEGORY, EXTRA_TEXT, EXTRA_WHEN };

/* A picture choice: its words, its prompt, its pictogram. */
struct ui_choice {
    const char *msgid;
    const char *prompt;
    uint32_t picto;
};

#define CATEGORY_COUNT_UI (CATEGORY_OTHER + 1)
#define WHEN_COUNT_UI (WHEN_EARLIER + 1)
extern const struct ui_choice ui_categories[CATEGORY_COUNT_UI];
extern const struct ui_choice ui_whens[WHEN_COUNT_UI];
/* Every prompt a language has, in the order a volunteer records them. */
extern const char *const ui_prompt_ids[];
extern const int ui_nprompts;
#define NPROMPTS ui_nprompts

struct ui {
    struct ui_config cfg;
    struct ui_lang langs[UI_MAX_LANGS];
    const struct ui_host *host;
    int screen;
    int return_to; /* screen under "still there?" */
    int dirty;
    uint32_t now, last_input, entered, last_fault_check;
    /* The tip in progress: wiped by end_tip(). */
    int lang; /* index into langs */
    int category;
    int when;
    int tip_open; /* host has a tip (recording begun) */
    int recorded; /* there is audio to listen back to */
    int warned;
    int shown_seconds, shown_level;
    struct telex *telex;
    int mic_present;
    int clock_started;         /* timers count from the first event, not from 0 */
    char message[UI_TEXT_MAX]; /* a calm line on the current screen, or "" */
    /* Volunteer */
    char pin_typed[16];
    int pin_wrong;
    int v_prompt;
    int v_recording;
    int training;
    int volume;
    int mic_testing;      /* technician's microphone test running */
    int touch_x, touch_y; /* the last touch on the technician's screen, -1 none */
    int last_tap_x, last_tap_y;
    /* The villager's flow (issue 10). */
    int handset;         /* the handset is off its hook */
    int auto_record;     /* speak: start recording once the prompt is said */
    int spoke;           /* the tip has speech: walking away keeps it */
    int done;            /* "done" was touched: the tip is confirmed */
    uint32_t review_at;  /* the review's countdown counts from here */
    int shown_left;      /* seconds shown on a countdown */
    int pressing;        /* a finger is down */
    int press_x, press_y;
    uint32_t press_at;
    int press_corner;    /* ... on the long-press corner */
    /* Built by ui_draw, read by ui_tap. */
    struct ui_target targets[UI_MAX_TARGETS];
    int ntargets;
    /* Layout */
    double s;       /* scale from the 800×480 design */
    int min_target; /* px */
    struct ui_staff staff; /* behind the PIN (ui_staff.c) */
    int setup;                       /* enum ui_setup: what the card lacks */
    char setup_detail[UI_TEXT_MAX];  /* why, as logged */
};

/* ------------------------------------------------------------------ */

struct frame {
    struct ui *ui;
    struct ui_draw_list *out;
};

static inline const char *lang_code(const struct ui *ui)
{
    return ui->cfg.nlangs ? ui->langs[ui->lang].code : "vi";
}

static inline const char *tr_in(const struct ui *ui, const char *lang, const char *msgid)
{
    const char *t = ui->host->text ? ui->host->text(ui->host->ctx, lang, msgid) : NULL;
    return t ? t : msgid;
}

static inline const char *tr(const struct ui *ui, const char *msgid)
{
    return tr_in(ui, lang_code(ui), msgid);
}

static inline void say1(struct ui *ui, const char *id)
{
    struct ui_prompt p = {lang_code(ui), id};
    if (ui->host->say)
        ui->host->say(ui->host->ctx, &p, 1);
}

static inline void say2(struct ui *ui, const char *a, const char *b)
{
    struct ui_prompt p[2] = {{lang_code(ui), a}, {lang_code(ui), b}};
    if (ui->host->say)
        ui->host->say(ui->host->ctx, p, 2);
}

/* What the screen says when entered and when "hear again" is touched. */

static inline int px(const struct ui *ui, double design)
{
    return (int)lround(design * ui->s);
}

/* Text size: never below 28 px at 800×480, scaled on larger panels. */
static inline int font(const struct ui *ui, double design)
{
    int p = px(ui, design);
    int floor_px = px(ui, UI_MIN_TEXT_PX_800);
    return p < floor_px ? floor_px : p;
}

static inline struct ui_draw *cmd(struct frame *f, int kind, struct ui_rect r)
{
    if (f->out->n >= UI_MAX_CMDS)
        return NULL; /* the layouts stay far below; tests check the count */
    struct ui_draw *d = &f->out->cmds[f->out->n++];
    memset(d, 0, sizeof *d);
    d->kind = kind;
    d->r = r;
    return d;
}

static inline void fill(struct frame *f, struct ui_rect r, uint32_t bg, int radius)
{
    struct ui_draw *d = cmd(f, UI_DRAW_FILL, r);
    if (d) {
        d->bg = bg;
        d->radius = radius;
    }
}

static inline void text(struct frame *f, struct ui_rect r, const char *s, int size, uint32_t fg,
                        uint32_t bg, int align)
{
    struct ui_draw *d = cmd(f, UI_DRAW_TEXT, r);
    if (d) {
        snprintf(d->text, sizeof d->text, "%s", s);
        d->px = size;
        d->fg = fg;
        d->bg = bg;
        d->align = align;
    }
}

static inline void picto(struct frame *f, struct ui_rect r, uint32_t cp, uint32_t bg)
{
    struct ui_draw *d = cmd(f, UI_DRAW_PICTO, r);
    if (d) {
        d->picto = cp;
        d->bg = bg;
    }
}

static inline void target(struct ui *ui, struct ui_rect r, int action, int arg, const char *label)
{
    if (ui->ntargets >= UI_MAX_TARGETS)
        return;
    struct ui_target *t = &ui->targets[ui->ntargets++];
    t->r = r;
    t->action = action;
    t->arg = arg;
    snprintf(t->label, sizeof t->label, "%s", label);
}

/* One of the project's pictures (pictos.h) takes the ink of its button. */
static inline void picto_fg(struct frame *f, struct ui_rect r, uint32_t cp, uint32_t fg,
                            uint32_t bg)
{
    picto(f, r, cp, bg);
    if (f->out->n > 0 && f->out->cmds[f->out->n - 1].kind == UI_DRAW_PICTO)
        f->out->cmds[f->out->n - 1].fg = fg;
}

static inline struct ui_rect rect(int x, int y, int w, int h)
{
    struct ui_rect r = {x, y, w, h};
    return r;
}

static inline struct ui_rect inset(struct ui_rect r, int d)
{
    return rect(r.x + d, r.y + d, r.w - 2 * d, r.h - 2 * d);
}

/*
 * A button: the whole cell is the touch target (≥ 15 mm), drawn slightly
 * inset so neighbours read as separate. Picture above or beside the label.
 */
static inline void button(struct frame *f, struct ui_rect r, uint32_t bg, uint32_t fg, uint32_t pic,
                          const char *label, int size, int action, int arg, const char *name)
{
    struct ui *ui = f->ui;
    struct ui_rect b = inset(r, px(ui, 6)); /* the practice frame lies in this margin */
    fill(f, b, bg, px(ui, 14));
    if (pic && label && *label) {
        /* Long labels (four lines in some languages) take room from the picture. */
        int pct = strlen(label) > 36 ? 27 : 40;
        int ph = b.h >= px(ui, 150) ? b.h * pct / 100 : 0;
        if (ph) {
            picto_fg(f, rect(b.x, b.y + px(ui, 6), b.w, ph), pic, fg, bg);
            text(f,
                 rect(b.x + px(ui, 6), b.y + ph + px(ui, 6), b.w - px(ui, 12),
                      b.h - ph - px(ui, 12)),
                 label, size, fg, bg, UI_ALIGN_CENTER);
        } else {
            int pw = (b.h - px(ui, 16)) * 3 / 4;
            picto_fg(f, rect(b.x + px(ui, 8), b.y + (b.h - pw) / 2, pw, pw), pic, fg, bg);
            text(f, rect(b.x + pw + px(ui, 12), b.y, b.w - pw - px(ui, 16), b.h), label, size, fg,
                 bg, UI_ALIGN_CENTER);
        }
    } else if (pic) {
        picto_fg(f, inset(b, px(ui, 10)), pic, fg, bg);
    } else {
        text(f, inset(b, px(ui, 6)), label, size, fg, bg, UI_ALIGN_CENTER);
    }
    target(ui, r, action, arg, name);
}

/*
 * The frame: the same places on every villager's screen (docs/kiosk-flow.md).
 *   top left      back / cancel ("throw away" in red while a tip has speech),
 *                 and on the start screen the volunteer's long-press corner;
 *   top right     hear again;
 *   bottom right  the one forward action, green;
 *   bottom left   the step dots, never a target.
 * Content lies between. Tests check these rects on every screen.
 */
static inline int frame_top_h(const struct ui *ui)
{
    return ui->min_target + px(ui, 8);
}
static inline int frame_bottom_h(const struct ui *ui)
{
    return ui->min_target + px(ui, 20);
}
static inline struct ui_rect frame_back_rect(const struct ui *ui)
{
    return rect(0, 0, px(ui, 236), frame_top_h(ui));
}
static inline struct ui_rect frame_hear_rect(const struct ui *ui)
{
    return rect(ui->cfg.width - px(ui, 236), 0, px(ui, 236), frame_top_h(ui));
}
static inline struct ui_rect frame_forward_rect(const struct ui *ui)
{
    int w = px(ui, 300), h = frame_bottom_h(ui);
    return rect(ui->cfg.width - w, ui->cfg.height - h, w, h);
}
static inline struct ui_rect frame_dots_rect(const struct ui *ui)
{
    int h = frame_bottom_h(ui);
    return rect(0, ui->cfg.height - h, ui->cfg.width - frame_forward_rect(ui).w, h);
}
static inline struct ui_rect frame_content(const struct ui *ui)
{
    int t = frame_top_h(ui);
    return rect(0, t, ui->cfg.width, ui->cfg.height - t - frame_bottom_h(ui));
}
/* What lies between the top corners: the title. */
static inline struct ui_rect frame_title_rect(const struct ui *ui)
{
    struct ui_rect b = frame_back_rect(ui);
    int m = px(ui, 6); /* the practice frame's margin */
    return rect(b.w + px(ui, 8), m, ui->cfg.width - 2 * b.w - px(ui, 16), b.h - 2 * m);
}

/* The same place as a target (the review's "write"): the full bar's height. */
static inline struct ui_rect frame_middle_rect(const struct ui *ui)
{
    struct ui_rect t = frame_title_rect(ui);
    return rect(t.x, 0, t.w, frame_top_h(ui));
}

static inline void frame_title(struct frame *f, const char *title)
{
    text(f, frame_title_rect(f->ui), title, font(f->ui, 30), C_INK, C_BG, UI_ALIGN_CENTER);
}

static inline void frame_back(struct frame *f)
{
    struct ui *ui = f->ui;
    button(f, frame_back_rect(ui), C_BLUE, C_WHITE, PICTO_BACK, tr(ui, "Back"), font(ui, 28),
           A_BACK, 0, "back");
}

/* Throw away, don't send: the cancel corner, red. */
static inline void frame_discard(struct frame *f)
{
    struct ui *ui = f->ui;
    button(f, frame_back_rect(ui), C_RED, C_WHITE, PICTO_DISCARD, tr(ui, "Throw away"),
           font(ui, 28), A_DISCARD, 0, "discard");
}

static inline void frame_hear(struct frame *f)
{
    struct ui *ui = f->ui;
    button(f, frame_hear_rect(ui), C_BLUE, C_WHITE, PICTO_HEAR, tr(ui, "Hear again"),
           font(ui, 28), A_HEAR, 0, "hear");
}

static inline void frame_forward(struct frame *f, uint32_t pic, const char *label, int action,
                                 const char *name)
{
    struct ui *ui = f->ui;
    button(f, frame_forward_rect(ui), C_GREEN, C_WHITE, pic, label, font(ui, 34), action, 0,
           name);
}

/* Where the person is: step `step` (1-based) of `n`, as dots, no words. */
static inline void frame_dots(struct frame *f, int step, int n)
{
    struct ui *ui = f->ui;
    struct ui_rect r = frame_dots_rect(ui);
    int d = px(ui, 22), gap = px(ui, 22);
    int x = r.x + (r.w - n * d - (n - 1) * gap) / 2, y = r.y + (r.h - d) / 2;
    for (int i = 1; i <= n; i++, x += d + gap)
        fill(f, i == step ? rect(x - px(ui, 3), y - px(ui, 3), d + px(ui, 6), d + px(ui, 6))
                          : rect(x, y, d, d),
             i == step ? C_INK : i < step ? C_MUTED : C_DOT_OFF, d);
}

/* The volunteer's corner: nothing drawn, a long press opens the PIN. */
static inline void frame_corner(struct frame *f)
{
    struct ui *ui = f->ui;
    /* A card not set up has no PIN to ask: its corner opens the checks. */
    if (ui->cfg.pin[0] || ui->setup)
        target(ui, frame_back_rect(ui), A_CORNER, 0, "volunteer");
}

/* Practice: an amber frame in the margin every button keeps (button()'s
   inset), so it covers nothing, and a word where no target ever is. */
static inline int frame_margin(const struct ui *ui)
{
    return px(ui, 6);
}

static inline void frame_practice(struct frame *f)
{
    struct ui *ui = f->ui;
    if (!ui->training)
        return;
    int w = ui->cfg.width, h = ui->cfg.height, m = frame_margin(ui);
    fill(f, rect(0, 0, w, m), C_PRACTICE, 0);
    fill(f, rect(0, h - m, w, m), C_PRACTICE, 0);
    fill(f, rect(0, m, m, h - 2 * m), C_PRACTICE, 0);
    fill(f, rect(w - m, m, m, h - 2 * m), C_PRACTICE, 0);
}

/* Top bar: back (if any), the title, hear again. */
static inline int top_bar(struct frame *f, const char *title, int back)
{
    struct ui *ui = f->ui;
    int h = ui->min_target + px(ui, 8);
    int bw = px(ui, 236);
    if (back)
        button(f, rect(0, 0, bw, h), C_BLUE, C_WHITE, P_BACK, tr(ui, "Back"), font(ui, 28), A_BACK,
               0, "back");
    button(f, rect(ui->cfg.width - bw, 0, bw, h), C_BLUE, C_WHITE, P_SPEAKER, tr(ui, "Hear again"),
           font(ui, 28), A_HEAR, 0, "hear");
    text(f, rect(bw + px(ui, 8), 0, ui->cfg.width - 2 * bw - px(ui, 16), h), title, font(ui, 34),
         C_INK, C_BG, UI_ALIGN_CENTER);
    return h;
}

static inline void draw_training_band(struct frame *f)
{
    struct ui *ui = f->ui;
    if (!ui->training)
        return;
    int h = px(ui, 44);
    fill(f, rect(0, ui->cfg.height - h, ui->cfg.width, h), C_BLACK, 0);
    text(f, rect(0, ui->cfg.height - h, ui->cfg.width, h),
         tr(ui, "Practice mode: this tip is not sent."), font(ui, 28), C_WHITE, C_BLACK,
         UI_ALIGN_CENTER);
}

static inline void grid(int n, int cols, struct ui_rect area, int i, struct ui_rect *out)
{
    int rows = (n + cols - 1) / cols;
    int row = i / cols, col = i % cols;
    int in_row = row == rows - 1 ? n - cols * (rows - 1) : cols;
    int cw = area.w / cols, ch = area.h / rows;
    int x0 = area.x + (area.w - in_row * cw) / 2; /* centre a short last row */
    *out = rect(x0 + col * cw, area.y + row * ch, cw, ch);
}

/* ui.c: the flow the screens' files call back into. */
void ui_speak_screen(struct ui *ui);
/* Seconds left on the current screen's countdown (review, still there). */
int ui_countdown_left(const struct ui *ui);
int ui_countdown_total(const struct ui *ui);
/* Has `lang` a voice of its own (its welcome)? */
int ui_voiced(const struct ui *ui, const char *lang);
void ui_go(struct ui *ui, int screen);
void ui_end_tip(struct ui *ui, int discard);
void ui_set_message(struct ui *ui, const char *msgid);

/* ui_screens.c: the villager's screens. */
void ui_draw_start(struct frame *f);
void ui_draw_language(struct frame *f);
void ui_draw_category(struct frame *f);
void ui_draw_speak(struct frame *f);
void ui_draw_recording(struct frame *f);
void ui_draw_review(struct frame *f);
void ui_draw_when(struct frame *f);
void ui_draw_sent(struct frame *f);
void ui_draw_still_there(struct frame *f);
void ui_draw_out_of_service(struct frame *f);
void ui_draw_not_saved(struct frame *f);

/* ui_keyboard.c: the text screen. */
void ui_draw_text(struct frame *f);

/* ui_staff.c: behind the PIN. */
void ui_draw_pin(struct frame *f);
void ui_draw_volunteer(struct frame *f);
void ui_draw_tech(struct frame *f);
/* The actions of those screens (A_VOLUNTEER and after). */
void ui_staff_act(struct ui *ui, const struct ui_target *t);
/* Timers of those screens: the lockout's countdown, the level meter, idle. */
void ui_staff_tick(struct ui *ui, uint32_t idle_ms);
/* A card not set up: up to `max` (5 or more) lines in Vietnamese, what is
   missing, what to do, the red LED's code, how to reach the checks; 0 when set up. */
int ui_staff_setup_lines(struct ui *ui, char lines[][UI_TEXT_MAX], int max);

#endif
