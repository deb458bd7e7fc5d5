/* ui — the kiosk's screens. See ui.h. */
#include "kiosk/ui.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/envelope.h"
#include "kiosk/telex.h"

/*
 * Colours. Every text colour pair is ≥ 7:1 (WCAG AAA); tests compute it
 * from the draw list. Dark text on white for reading, white on deep
 * colours for buttons, the colour itself only a second cue.
 */
#define C_BG 0xFFFFFFu
#define C_INK 0x111111u
#define C_MUTED 0x333333u
#define C_BLUE 0x0B3D91u  /* ordinary buttons */
#define C_GREEN 0x075E26u /* go on, keep, send */
#define C_RED 0xA4001Du   /* record */
#define C_TILE 0xF2F2F2u  /* picture tiles */
#define C_SELECT 0xFFE08Au /* chosen tile */
#define C_WHITE 0xFFFFFFu
#define C_BLACK 0x000000u
#define C_METER 0x075E26u

/* Pictograms (Noto Color Emoji). The pistol is drawn as a water gun: a bomb it is. */
#define P_POSTBOX 0x1F4EEu
#define P_SPEAK 0x1F5E3u
#define P_LOCK 0x1F512u
#define P_SPEAKER 0x1F50Au
#define P_MIC 0x1F3A4u
#define P_CHECK 0x2705u
#define P_BACK 0x2B05u
#define P_PLAY 0x25B6u
#define P_AGAIN 0x1F501u
#define P_STOP 0x23F9u
#define P_WRITE 0x270Du
#define P_SUN 0x2600u
#define P_MOON 0x1F319u
#define P_CALENDAR 0x1F4C5u
#define P_HOURGLASS 0x23F3u
#define P_WARNING 0x26A0u
#define P_WAVE 0x1F44Bu
#define P_WRENCH 0x1F527u
#define P_GLOBE 0x1F310u
#define P_REC 0x1F534u /* red circle: recording */

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
};

static const struct {
    const char *msgid;
    const char *prompt;
    uint32_t picto;
} categories[] = {
    [CATEGORY_BORDER] = {"Strangers or illegal border crossing", "cat_border", 0x1F6B6u},
    [CATEGORY_DRUGS] = {"Drugs", "cat_drugs", 0x1F48Au},
    [CATEGORY_WEAPONS] = {"Weapons or explosives", "cat_weapons", 0x1F4A3u},
    [CATEGORY_SMUGGLING] = {"Smuggling", "cat_smuggling", 0x1F4E6u},
    [CATEGORY_THEFT] = {"Theft", "cat_theft", 0x1F45Cu},
    [CATEGORY_TRAFFICKING] = {"People trafficking", "cat_trafficking", 0x1F465u},
    [CATEGORY_OTHER] = {"Something else", "cat_other", 0x2753u},
};

static const struct {
    const char *msgid;
    const char *prompt;
    uint32_t picto;
} whens[] = {
    [WHEN_TODAY] = {"Today", "when_today", P_SUN},
    [WHEN_YESTERDAY] = {"Yesterday", "when_yesterday", P_MOON},
    [WHEN_THIS_WEEK] = {"This week", "when_week", P_CALENDAR},
    [WHEN_EARLIER] = {"Earlier", "when_earlier", P_HOURGLASS},
};

/* Every prompt a language has, in the order a volunteer records them. */
static const char *const prompt_ids[] = {
    "welcome",        "choose_language", "language_name", "choose_category", "cat_border",
    "cat_drugs",      "cat_weapons",     "cat_smuggling", "cat_theft",       "cat_trafficking",
    "cat_other",      "confirm_category", "record_intro", "record_warning",  "record_review",
    "text_intro",     "when_intro",      "when_today",    "when_yesterday",  "when_week",
    "when_earlier",   "sent",            "still_there",   "no_microphone",   "out_of_service",
    "practice",
};
#define NPROMPTS (int)(sizeof prompt_ids / sizeof *prompt_ids)

static const char *const screen_names[UI_NSCREENS] = {
    "blank", "start", "language", "category", "speak", "recording", "review",
    "text", "when", "sent", "still_there", "out_of_service", "pin", "volunteer", "tech",
};

struct ui {
    struct ui_config cfg;
    struct ui_lang langs[UI_MAX_LANGS];
    const struct ui_host *host;
    int screen;
    int return_to;       /* screen under "still there?" */
    int dirty;
    uint32_t now, last_input, entered, last_fault_check;
    /* The tip in progress: wiped by end_tip(). */
    int lang;            /* index into langs */
    int category;
    int when;
    int tip_open;        /* host has a tip (recording begun) */
    int recorded;        /* there is audio to listen back to */
    int warned;
    int shown_seconds, shown_level;
    struct telex *telex;
    int mic_present;
    int clock_started;   /* timers count from the first event, not from 0 */
    char message[UI_TEXT_MAX]; /* a calm line on the current screen, or "" */
    /* Volunteer */
    char pin_typed[16];
    int pin_wrong;
    int v_prompt;
    int v_recording;
    int training;
    int volume;
    int mic_testing;     /* technician's microphone test running */
    int touch_x, touch_y; /* the last touch on the technician's screen, -1 none */
    int last_tap_x, last_tap_y;
    /* Built by ui_draw, read by ui_tap. */
    struct ui_target targets[UI_MAX_TARGETS];
    int ntargets;
    /* Layout */
    double s;            /* scale from the 800×480 design */
    int min_target;      /* px */
};

/* ------------------------------------------------------------------ */

const char *ui_screen_name(int screen)
{
    return screen >= 0 && screen < UI_NSCREENS ? screen_names[screen] : "?";
}

static const char *lang_code(const struct ui *ui)
{
    return ui->cfg.nlangs ? ui->langs[ui->lang].code : "vi";
}

static const char *tr_in(const struct ui *ui, const char *lang, const char *msgid)
{
    const char *t = ui->host->text ? ui->host->text(ui->host->ctx, lang, msgid) : NULL;
    return t ? t : msgid;
}

static const char *tr(const struct ui *ui, const char *msgid)
{
    return tr_in(ui, lang_code(ui), msgid);
}

static void say1(struct ui *ui, const char *id)
{
    struct ui_prompt p = {lang_code(ui), id};
    if (ui->host->say)
        ui->host->say(ui->host->ctx, &p, 1);
}

static void say2(struct ui *ui, const char *a, const char *b)
{
    struct ui_prompt p[2] = {{lang_code(ui), a}, {lang_code(ui), b}};
    if (ui->host->say)
        ui->host->say(ui->host->ctx, p, 2);
}

/* What the screen says when entered and when "hear again" is touched. */
static void speak_screen(struct ui *ui)
{
    switch (ui->screen) {
    case UI_START: {
        /* In Vietnamese and in Hmong, whatever was chosen before. */
        struct ui_prompt p[2] = {{"vi", "welcome"}, {"hmn", "welcome"}};
        if (ui->host->say)
            ui->host->say(ui->host->ctx, p, 2);
        break;
    }
    case UI_LANGUAGE: {
        struct ui_prompt p[2] = {{"vi", "choose_language"}, {"hmn", "choose_language"}};
        if (ui->host->say)
            ui->host->say(ui->host->ctx, p, 2);
        break;
    }
    case UI_CATEGORY: say1(ui, "choose_category"); break;
    case UI_SPEAK:
        if (ui->category)
            say2(ui, categories[ui->category].prompt, "record_intro");
        else
            say1(ui, "record_intro");
        break;
    case UI_REVIEW: say1(ui, "record_review"); break;
    case UI_TEXT: say1(ui, ui->mic_present ? "text_intro" : "no_microphone"); break;
    case UI_WHEN: say1(ui, "when_intro"); break;
    case UI_SENT: say1(ui, "sent"); break;
    case UI_STILL_THERE: say1(ui, "still_there"); break;
    case UI_OUT_OF_SERVICE: say1(ui, "out_of_service"); break;
    default: break;
    }
}

static void go(struct ui *ui, int screen)
{
    ui->screen = screen;
    ui->entered = ui->now;
    ui->dirty = 1;
    ui->message[0] = 0;
    speak_screen(ui);
}

/* The tip is over (sent, discarded, abandoned): forget all of it. */
static void end_tip(struct ui *ui, int discard)
{
    if (ui->tip_open && discard && ui->host->tip_discard)
        ui->host->tip_discard(ui->host->ctx);
    ui->tip_open = 0;
    ui->recorded = 0;
    ui->category = 0;
    ui->when = 0;
    ui->warned = 0;
    telex_clear(ui->telex);
    ui->dirty = 1;
}

static void set_message(struct ui *ui, const char *msgid)
{
    snprintf(ui->message, sizeof ui->message, "%s", tr(ui, msgid));
    ui->dirty = 1;
}

struct ui *ui_new(const struct ui_config *cfg, const struct ui_host *host)
{
    struct ui *ui = calloc(1, sizeof *ui);
    if (!ui)
        return NULL;
    ui->cfg = *cfg;
    if (ui->cfg.nlangs > UI_MAX_LANGS)
        ui->cfg.nlangs = UI_MAX_LANGS;
    for (int i = 0; i < ui->cfg.nlangs; i++)
        ui->langs[i] = cfg->langs[i];
    ui->cfg.langs = ui->langs;
    if (ui->cfg.max_record_seconds <= 0)
        ui->cfg.max_record_seconds = 180;
    if (ui->cfg.warn_before_seconds <= 0)
        ui->cfg.warn_before_seconds = 15;
    if (ui->cfg.idle_seconds <= 0)
        ui->cfg.idle_seconds = 60;
    if (ui->cfg.idle_grace_seconds <= 0)
        ui->cfg.idle_grace_seconds = 15;
    if (ui->cfg.blank_seconds <= 0)
        ui->cfg.blank_seconds = 300;
    if (ui->cfg.sent_seconds <= 0)
        ui->cfg.sent_seconds = 10;
    if (ui->cfg.diagonal_inches <= 0)
        ui->cfg.diagonal_inches = 7.0;
    ui->host = host;
    ui->training = cfg->training;
    ui->volume = cfg->volume > 0 ? cfg->volume : 80;
    ui->mic_present = 1;
    ui->s = fmin(cfg->width / 800.0, cfg->height / 480.0);
    ui->min_target = (int)ceil(UI_MIN_TARGET_MM * ui_px_per_mm(ui));
    if (telex_new(&ui->telex, TELEX_VI, TELEX_DEFAULT_CAP) != 0) {
        free(ui);
        return NULL;
    }
    ui->screen = UI_START;
    ui->dirty = 1;
    return ui;
}

void ui_free(struct ui *ui)
{
    if (!ui)
        return;
    telex_free(ui->telex); /* zeroes what was typed */
    free(ui);
}

double ui_px_per_mm(const struct ui *ui)
{
    double diag_px = hypot(ui->cfg.width, ui->cfg.height);
    return diag_px / (ui->cfg.diagonal_inches * 25.4);
}

int ui_screen(const struct ui *ui)
{
    return ui->screen;
}

int ui_dirty(const struct ui *ui)
{
    return ui->dirty;
}

int ui_blanked(const struct ui *ui)
{
    return ui->screen == UI_BLANK;
}

void ui_set_microphone(struct ui *ui, int present)
{
    if (ui->mic_present != present)
        ui->dirty = 1;
    ui->mic_present = present;
}

const struct ui_target *ui_targets(const struct ui *ui, int *n)
{
    *n = ui->ntargets;
    return ui->targets;
}

int ui_find(const struct ui *ui, const char *label, int *x, int *y)
{
    for (int i = 0; i < ui->ntargets; i++)
        if (strcmp(ui->targets[i].label, label) == 0) {
            *x = ui->targets[i].r.x + ui->targets[i].r.w / 2;
            *y = ui->targets[i].r.y + ui->targets[i].r.h / 2;
            return 0;
        }
    return -1;
}

/* ------------------------------------------------------------------ */
/* drawing                                                             */

struct frame {
    struct ui *ui;
    struct ui_draw_list *out;
};

static int px(const struct ui *ui, double design)
{
    return (int)lround(design * ui->s);
}

/* Text size: never below 28 px at 800×480, scaled on larger panels. */
static int font(const struct ui *ui, double design)
{
    int p = px(ui, design);
    int floor_px = px(ui, UI_MIN_TEXT_PX_800);
    return p < floor_px ? floor_px : p;
}

static struct ui_draw *cmd(struct frame *f, int kind, struct ui_rect r)
{
    if (f->out->n >= UI_MAX_CMDS)
        return NULL; /* the layouts stay far below; tests check the count */
    struct ui_draw *d = &f->out->cmds[f->out->n++];
    memset(d, 0, sizeof *d);
    d->kind = kind;
    d->r = r;
    return d;
}

static void fill(struct frame *f, struct ui_rect r, uint32_t bg, int radius)
{
    struct ui_draw *d = cmd(f, UI_DRAW_FILL, r);
    if (d) {
        d->bg = bg;
        d->radius = radius;
    }
}

static void text(struct frame *f, struct ui_rect r, const char *s, int size, uint32_t fg,
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

static void picto(struct frame *f, struct ui_rect r, uint32_t cp, uint32_t bg)
{
    struct ui_draw *d = cmd(f, UI_DRAW_PICTO, r);
    if (d) {
        d->picto = cp;
        d->bg = bg;
    }
}

static void target(struct ui *ui, struct ui_rect r, int action, int arg, const char *label)
{
    if (ui->ntargets >= UI_MAX_TARGETS)
        return;
    struct ui_target *t = &ui->targets[ui->ntargets++];
    t->r = r;
    t->action = action;
    t->arg = arg;
    snprintf(t->label, sizeof t->label, "%s", label);
}

static struct ui_rect rect(int x, int y, int w, int h)
{
    struct ui_rect r = {x, y, w, h};
    return r;
}

static struct ui_rect inset(struct ui_rect r, int d)
{
    return rect(r.x + d, r.y + d, r.w - 2 * d, r.h - 2 * d);
}

/*
 * A button: the whole cell is the touch target (≥ 15 mm), drawn slightly
 * inset so neighbours read as separate. Picture above or beside the label.
 */
static void button(struct frame *f, struct ui_rect r, uint32_t bg, uint32_t fg, uint32_t pic,
                   const char *label, int size, int action, int arg, const char *name)
{
    struct ui *ui = f->ui;
    struct ui_rect b = inset(r, px(ui, 4));
    fill(f, b, bg, px(ui, 14));
    if (pic && label && *label) {
        /* Long labels (four lines in some languages) take room from the picture. */
        int pct = strlen(label) > 36 ? 27 : 40;
        int ph = b.h >= px(ui, 150) ? b.h * pct / 100 : 0;
        if (ph) {
            picto(f, rect(b.x, b.y + px(ui, 6), b.w, ph), pic, bg);
            text(f, rect(b.x + px(ui, 6), b.y + ph + px(ui, 6), b.w - px(ui, 12),
                         b.h - ph - px(ui, 12)),
                 label, size, fg, bg, UI_ALIGN_CENTER);
        } else {
            int pw = (b.h - px(ui, 16)) * 3 / 4;
            picto(f, rect(b.x + px(ui, 8), b.y + (b.h - pw) / 2, pw, pw), pic, bg);
            text(f, rect(b.x + pw + px(ui, 12), b.y, b.w - pw - px(ui, 16), b.h), label, size,
                 fg, bg, UI_ALIGN_CENTER);
        }
    } else if (pic) {
        picto(f, inset(b, px(ui, 10)), pic, bg);
    } else {
        text(f, inset(b, px(ui, 6)), label, size, fg, bg, UI_ALIGN_CENTER);
    }
    target(ui, r, action, arg, name);
}

/* Top bar: back (if any), the title, hear again. */
static int top_bar(struct frame *f, const char *title, int back)
{
    struct ui *ui = f->ui;
    int h = ui->min_target + px(ui, 8);
    int bw = px(ui, 236);
    if (back)
        button(f, rect(0, 0, bw, h), C_BLUE, C_WHITE, P_BACK, tr(ui, "Back"), font(ui, 28),
               A_BACK, 0, "back");
    button(f, rect(ui->cfg.width - bw, 0, bw, h), C_BLUE, C_WHITE, P_SPEAKER,
           tr(ui, "Hear again"), font(ui, 28), A_HEAR, 0, "hear");
    text(f, rect(bw + px(ui, 8), 0, ui->cfg.width - 2 * bw - px(ui, 16), h), title,
         font(ui, 34), C_INK, C_BG, UI_ALIGN_CENTER);
    return h;
}

static void draw_training_band(struct frame *f)
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

static void draw_start(struct frame *f)
{
    struct ui *ui = f->ui;
    int w = ui->cfg.width, h = ui->cfg.height;
    int vw = px(ui, 280), vh = ui->min_target + px(ui, 4);
    picto(f, rect(w / 2 - px(ui, 125), px(ui, 10), px(ui, 115), px(ui, 115)), P_POSTBOX, C_BG);
    picto(f, rect(w / 2 + px(ui, 10), px(ui, 10), px(ui, 115), px(ui, 115)), P_SPEAK, C_BG);
    /* Both languages at once: the person has not chosen yet. */
    int y = px(ui, 130);
    int block = (h - vh - y) / 2;
    const char *langs[2] = {"vi", "hmn"};
    for (int i = 0; i < 2; i++) {
        text(f, rect(px(ui, 16), y, w - px(ui, 32), block * 2 / 5),
             tr_in(ui, langs[i], "Touch the screen to leave a tip"), font(ui, 34), C_INK, C_BG,
             UI_ALIGN_CENTER);
        text(f, rect(px(ui, 16), y + block * 2 / 5, w - px(ui, 32), block * 3 / 5),
             tr_in(ui, langs[i], "No name is asked. Nothing records who you are."),
             font(ui, 28), C_MUTED, C_BG, UI_ALIGN_CENTER);
        y += block;
    }
    /* The whole screen starts; the volunteer corner is a target of its own. */
    target(ui, rect(0, 0, w, h - vh), A_START, 0, "start");
    target(ui, rect(vw, h - vh, w - vw, vh), A_START, 0, "start2");
    if (ui->cfg.pin[0]) {
        fill(f, inset(rect(0, h - vh, vw, vh), px(ui, 4)), C_TILE, px(ui, 10));
        text(f, inset(rect(0, h - vh, vw, vh), px(ui, 8)), tr_in(ui, "vi", "Volunteer"),
             font(ui, 28), C_MUTED, C_TILE, UI_ALIGN_CENTER);
        target(ui, rect(0, h - vh, vw, vh), A_VOLUNTEER, 0, "volunteer");
    } else {
        target(ui, rect(0, h - vh, vw, vh), A_START, 0, "start3");
    }
}

static void grid(int n, int cols, struct ui_rect area, int i, struct ui_rect *out)
{
    int rows = (n + cols - 1) / cols;
    int row = i / cols, col = i % cols;
    int in_row = row == rows - 1 ? n - cols * (rows - 1) : cols;
    int cw = area.w / cols, ch = area.h / rows;
    int x0 = area.x + (area.w - in_row * cw) / 2; /* centre a short last row */
    *out = rect(x0 + col * cw, area.y + row * ch, cw, ch);
}

static void draw_language(struct frame *f)
{
    struct ui *ui = f->ui;
    int h = top_bar(f, tr(ui, "Choose your language"), 1);
    int n = ui->cfg.nlangs;
    struct ui_rect area = rect(px(ui, 10), h + px(ui, 10), ui->cfg.width - px(ui, 20),
                               ui->cfg.height - h - px(ui, 20));
    int cols = n <= 2 ? n : 2;
    for (int i = 0; i < n; i++) {
        struct ui_rect r;
        char name[24];
        grid(n, cols ? cols : 1, area, i, &r);
        snprintf(name, sizeof name, "lang:%s", ui->langs[i].code);
        button(f, r, C_BLUE, C_WHITE, P_SPEAKER, ui->langs[i].name, font(ui, 40), A_LANG, i, name);
    }
}

static void draw_category(struct frame *f)
{
    struct ui *ui = f->ui;
    int w = ui->cfg.width, H = ui->cfg.height;
    /* Pictures get the whole screen; the eighth cell holds the question,
       "hear again" and "back", so long labels have room for three lines. */
    int cw = w / 4, ch = H / 2;
    for (int c = CATEGORY_BORDER; c <= CATEGORY_OTHER; c++) {
        int i = c - 1;
        char name[16];
        snprintf(name, sizeof name, "cat:%d", c);
        uint32_t bg = ui->category == c ? C_SELECT : C_TILE;
        button(f, rect((i % 4) * cw, (i / 4) * ch, cw, ch), bg, C_INK, categories[c].picto,
               tr(ui, categories[c].msgid), font(ui, 28), A_CATEGORY, c, name);
    }
    int x = 3 * cw, y = ch, bh = ui->min_target + px(ui, 2);
    int th = H - y - 2 * bh;
    text(f, rect(x + px(ui, 4), y, w - x - px(ui, 8), th), tr(ui, "What happened?"), font(ui, 28),
         C_INK, C_BG, UI_ALIGN_CENTER);
    button(f, rect(x, y + th, w - x, bh), C_BLUE, C_WHITE, P_SPEAKER, tr(ui, "Hear again"),
           font(ui, 28), A_HEAR, 0, "hear");
    button(f, rect(x, y + th + bh, w - x, bh), C_BLUE, C_WHITE, P_BACK, tr(ui, "Back"),
           font(ui, 28), A_BACK, 0, "back");
}

static void draw_chosen(struct frame *f, struct ui_rect r)
{
    struct ui *ui = f->ui;
    if (!ui->category)
        return;
    fill(f, r, C_TILE, px(ui, 14));
    picto(f, rect(r.x, r.y + px(ui, 8), r.w, r.h * 55 / 100), categories[ui->category].picto,
          C_TILE);
    text(f, rect(r.x + px(ui, 6), r.y + r.h * 60 / 100, r.w - px(ui, 12), r.h * 38 / 100),
         tr(ui, categories[ui->category].msgid), font(ui, 28), C_INK, C_TILE, UI_ALIGN_CENTER);
}

static void draw_speak(struct frame *f)
{
    struct ui *ui = f->ui;
    int h = top_bar(f, tr(ui, "Touch the red button and speak"), 1);
    int w = ui->cfg.width, H = ui->cfg.height;
    draw_chosen(f, rect(px(ui, 16), h + px(ui, 24), px(ui, 220), px(ui, 260)));
    int d = H - h - px(ui, 60);
    struct ui_rect rb = rect(px(ui, 260) + (w - px(ui, 260) - d) / 2, h + px(ui, 20), d, d);
    fill(f, rb, C_RED, d / 2);
    picto(f, rect(rb.x + d / 4, rb.y + d / 8, d / 2, d / 2), P_MIC, C_RED);
    text(f, rect(rb.x + d / 8, rb.y + d * 62 / 100, d * 3 / 4, d / 4), tr(ui, "Record"),
         font(ui, 36), C_WHITE, C_RED, UI_ALIGN_CENTER);
    target(ui, rb, A_RECORD, 0, "record");
    if (ui->message[0])
        text(f, rect(0, H - px(ui, 44), w, px(ui, 40)), ui->message, font(ui, 28), C_INK, C_BG,
             UI_ALIGN_CENTER);
}

static void draw_recording(struct frame *f)
{
    struct ui *ui = f->ui;
    int w = ui->cfg.width, H = ui->cfg.height;
    char line[UI_TEXT_MAX];
    int bar = ui->min_target + px(ui, 8);
    picto(f, rect(px(ui, 16), px(ui, 14), bar - px(ui, 28), bar - px(ui, 28)), P_REC, C_BG);
    text(f, rect(bar, 0, w - 2 * bar, bar), tr(ui, "Speak now. Touch to stop."), font(ui, 34),
         C_INK, C_BG, UI_ALIGN_CENTER);
    /* The meter: the person sees the kiosk hears them. */
    struct ui_rect m = rect(px(ui, 40), bar + px(ui, 10), w - px(ui, 80), px(ui, 70));
    struct ui_draw *d = cmd(f, UI_DRAW_METER, m);
    if (d) {
        d->fg = C_METER;
        d->bg = C_TILE;
        d->value = ui->shown_level;
    }
    int left = ui->cfg.max_record_seconds - ui->shown_seconds;
    if (left < 0)
        left = 0;
    char fmt[UI_TEXT_MAX];
    snprintf(fmt, sizeof fmt, "%s", tr(ui, "%d s left"));
    /* The catalog's format must hold exactly one %d: checked, never trusted. */
    const char *pct = strstr(fmt, "%d");
    if (!pct || strchr(pct + 2, '%') || strchr(fmt, '%') != pct)
        snprintf(fmt, sizeof fmt, "%s", "%d s");
    snprintf(line, sizeof line, "%d:%02d   /   ", ui->shown_seconds / 60, ui->shown_seconds % 60);
    size_t l = strlen(line);
    snprintf(line + l, sizeof line - l, fmt, left);
    text(f, rect(px(ui, 20), bar + px(ui, 90), w - px(ui, 40), px(ui, 60)), line, font(ui, 40),
         C_INK, C_BG, UI_ALIGN_CENTER);
    int by = bar + px(ui, 160), bh = H - by - px(ui, 10);
    button(f, rect(px(ui, 10), by, (w - px(ui, 20)) * 2 / 5, bh), C_BLUE, C_WHITE, P_STOP,
           tr(ui, "Stop"), font(ui, 36), A_STOP, 0, "stop");
    button(f, rect(px(ui, 10) + (w - px(ui, 20)) * 2 / 5, by, (w - px(ui, 20)) * 3 / 5, bh),
           C_GREEN, C_WHITE, P_CHECK, tr(ui, "Send"), font(ui, 44), A_SEND, 0, "send");
}

static void draw_review(struct frame *f)
{
    struct ui *ui = f->ui;
    int h = top_bar(f, "", 0);
    int w = ui->cfg.width, H = ui->cfg.height;
    struct ui_rect area = rect(px(ui, 10), h + px(ui, 10), w - px(ui, 20), H - h - px(ui, 20));
    int cw = area.w / 3;
    button(f, rect(area.x, area.y, cw, area.h), C_BLUE, C_WHITE, P_PLAY, tr(ui, "Listen back"),
           font(ui, 32), A_LISTEN, 0, "listen");
    button(f, rect(area.x + cw, area.y, cw, area.h), C_BLUE, C_WHITE, P_AGAIN,
           tr(ui, "Record again"), font(ui, 32), A_AGAIN, 0, "again");
    button(f, rect(area.x + 2 * cw, area.y, area.w - 2 * cw, area.h), C_GREEN, C_WHITE, P_CHECK,
           tr(ui, "Keep"), font(ui, 40), A_KEEP, 0, "keep");
}

static const char *const kb_rows[] = {"qwertyuiop", "asdfghjkl", "zxcvbnm"};

static void draw_text(struct frame *f)
{
    struct ui *ui = f->ui;
    int w = ui->cfg.width, H = ui->cfg.height;
    int k = ui->min_target + 1; /* key pitch: a key is a full 15 mm cell */
    if (k * 10 > w)
        k = w / 10;
    int kb_h = 4 * k;
    int bar = k;
    /* Bar: hear again, the title or the calm message, continue. */
    int bw = px(ui, 200);
    button(f, rect(0, 0, bw, bar), C_BLUE, C_WHITE, P_SPEAKER, tr(ui, "Hear again"),
           font(ui, 28), A_HEAR, 0, "hear");
    const char *typed = telex_text(ui->telex);
    button(f, rect(w - bw, 0, bw, bar), C_GREEN, C_WHITE, P_CHECK,
           tr(ui, typed[0] ? "Continue" : "Skip"), font(ui, 28), A_TEXT_DONE, 0, "text_done");
    const char *title = ui->mic_present
                            ? tr(ui, "Write something (optional)")
                            : tr(ui, "The microphone is not working. You can write your tip instead.");
    text(f, rect(bw + px(ui, 6), 0, w - 2 * bw - px(ui, 12), bar), title, font(ui, 28), C_INK,
         C_BG, UI_ALIGN_CENTER);
    /* What has been typed: the tail, so the newest letters always show. */
    int ty = bar + px(ui, 4), th = H - kb_h - ty - px(ui, 4);
    fill(f, rect(px(ui, 8), ty, w - px(ui, 16), th), C_TILE, px(ui, 8));
    size_t len = strlen(typed);
    const char *tail = typed;
    size_t max = 60;
    if (len > max) {
        tail = typed + len - max;
        while ((*tail & 0xC0) == 0x80)
            tail++; /* never cut a UTF-8 sequence */
    }
    char shown[UI_TEXT_MAX];
    snprintf(shown, sizeof shown, "%s|", tail);
    text(f, rect(px(ui, 16), ty, w - px(ui, 32), th), shown, font(ui, 32), C_INK, C_TILE,
         UI_ALIGN_LEFT);
    int y = H - kb_h;
    for (int r = 0; r < 3; r++) {
        int n = (int)strlen(kb_rows[r]);
        int x0 = (w - n * k) / 2;
        for (int i = 0; i < n; i++) {
            char lab[2] = {kb_rows[r][i], 0}, name[8];
            snprintf(name, sizeof name, "key:%c", kb_rows[r][i]);
            button(f, rect(x0 + i * k, y, k, k), C_BLUE, C_WHITE, 0, lab, font(ui, 34), A_KEY,
                   kb_rows[r][i], name);
        }
        y += k;
    }
    int sw = 5 * k;
    int x0 = (w - sw - 2 * k) / 2;
    button(f, rect(x0, y, sw, k), C_BLUE, C_WHITE, 0, tr(ui, "Space"), font(ui, 28), A_KEY, ' ',
           "key:space");
    button(f, rect(x0 + sw, y, 2 * k, k), C_BLUE, C_WHITE, P_BACK, tr(ui, "Delete"),
           font(ui, 28), A_BACKSPACE, 0, "key:delete");
}

static void draw_when(struct frame *f)
{
    struct ui *ui = f->ui;
    int h = top_bar(f, tr(ui, "When did it happen?"), 0);
    int w = ui->cfg.width, H = ui->cfg.height;
    int sendh = ui->min_target + px(ui, 30);
    struct ui_rect area = rect(0, h, w, H - h - sendh);
    for (int i = WHEN_TODAY; i <= WHEN_EARLIER; i++) {
        struct ui_rect r;
        char name[24];
        grid(4, 4, area, i - 1, &r);
        snprintf(name, sizeof name, "when:%d", i);
        button(f, r, ui->when == i ? C_SELECT : C_TILE, C_INK, whens[i].picto,
               tr(ui, whens[i].msgid), font(ui, 30), A_WHEN, i, name);
    }
    button(f, rect(w / 4, H - sendh, w / 2, sendh), C_GREEN, C_WHITE, P_CHECK, tr(ui, "Send"),
           font(ui, 40), A_SEND, 0, "send");
}

static void draw_sent(struct frame *f)
{
    struct ui *ui = f->ui;
    int w = ui->cfg.width, H = ui->cfg.height;
    picto(f, rect(w / 2 - px(ui, 160), px(ui, 30), px(ui, 150), px(ui, 150)), P_LOCK, C_BG);
    picto(f, rect(w / 2 + px(ui, 10), px(ui, 30), px(ui, 150), px(ui, 150)), P_CHECK, C_BG);
    text(f, rect(px(ui, 30), px(ui, 200), w - px(ui, 60), px(ui, 150)),
         tr(ui, "Your tip is in the safe box. Only the border post can open it."), font(ui, 36),
         C_INK, C_BG, UI_ALIGN_CENTER);
    text(f, rect(px(ui, 30), px(ui, 350), w - px(ui, 60), px(ui, 60)), tr(ui, "Thank you."),
         font(ui, 40), C_INK, C_BG, UI_ALIGN_CENTER);
    target(ui, rect(0, 0, w, H), A_START, 0, "done");
}

static void draw_still_there(struct frame *f)
{
    struct ui *ui = f->ui;
    int w = ui->cfg.width, H = ui->cfg.height;
    picto(f, rect(w / 2 - px(ui, 70), px(ui, 20), px(ui, 140), px(ui, 140)), P_WAVE, C_BG);
    text(f, rect(px(ui, 20), px(ui, 170), w - px(ui, 40), px(ui, 80)),
         tr(ui, "Are you still there?"), font(ui, 44), C_INK, C_BG, UI_ALIGN_CENTER);
    int bh = H - px(ui, 270);
    button(f, rect(w / 6, px(ui, 260), w * 2 / 3, bh), C_GREEN, C_WHITE, P_CHECK,
           tr(ui, "Yes, I am here"), font(ui, 40), A_STILL_HERE, 0, "still_here");
}

static void draw_out_of_service(struct frame *f)
{
    struct ui *ui = f->ui;
    int w = ui->cfg.width;
    picto(f, rect(w / 2 - px(ui, 60), px(ui, 10), px(ui, 120), px(ui, 120)), P_WRENCH, C_BG);
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
}

static void draw_pin(struct frame *f)
{
    struct ui *ui = f->ui;
    int w = ui->cfg.width, H = ui->cfg.height;
    int k = ui->min_target + 1;
    char dots[20] = "";
    size_t n = strlen(ui->pin_typed);
    for (size_t i = 0; i < n && i < 16; i++)
        dots[i] = '*';
    text(f, rect(0, 0, w / 2, px(ui, 60)), tr_in(ui, "vi", "Enter the PIN"), font(ui, 32),
         C_INK, C_BG, UI_ALIGN_CENTER);
    text(f, rect(0, px(ui, 60), w / 2, px(ui, 60)),
         ui->pin_wrong ? tr_in(ui, "vi", "Wrong PIN") : dots, font(ui, 40), C_INK, C_BG,
         UI_ALIGN_CENTER);
    button(f, rect(px(ui, 40), H - k - px(ui, 20), w / 2 - px(ui, 80), k), C_BLUE, C_WHITE, 0,
           tr_in(ui, "vi", "Cancel"), font(ui, 30), A_PIN_CANCEL, 0, "pin_cancel");
    int x0 = w / 2 + (w / 2 - 3 * k) / 2, y0 = (H - 4 * k) / 2;
    static const char keys[] = "123456789<0";
    for (int i = 0; i < 11; i++) {
        char lab[2] = {keys[i], 0}, name[12];
        int x = x0 + (i % 3) * k, y = y0 + (i / 3) * k;
        if (keys[i] == '<') {
            button(f, rect(x, y, k, k), C_BLUE, C_WHITE, P_BACK, "", font(ui, 30), A_PIN_DEL, 0,
                   "pin:del");
            continue;
        }
        snprintf(name, sizeof name, "pin:%c", keys[i]);
        button(f, rect(x, y, k, k), C_BLUE, C_WHITE, 0, lab, font(ui, 36), A_PIN_DIGIT, keys[i],
               name);
    }
}

static void draw_volunteer(struct frame *f)
{
    struct ui *ui = f->ui;
    int w = ui->cfg.width, H = ui->cfg.height;
    int k = ui->min_target + px(ui, 10);
    const char *id = prompt_ids[ui->v_prompt];
    char line[UI_TEXT_MAX];
    snprintf(line, sizeof line, "%s · %s · %d/%d", ui->langs[ui->lang].name, id,
             ui->v_prompt + 1, NPROMPTS);
    text(f, rect(px(ui, 10), 0, w - px(ui, 20), px(ui, 50)), line, font(ui, 28), C_INK, C_BG,
         UI_ALIGN_CENTER);
    const char *words =
        ui->host->prompt_words ? ui->host->prompt_words(ui->host->ctx, lang_code(ui), id) : NULL;
    fill(f, rect(px(ui, 10), px(ui, 55), w - px(ui, 20), H - px(ui, 65) - 2 * k), C_TILE,
         px(ui, 8));
    text(f, rect(px(ui, 20), px(ui, 55), w - px(ui, 40), H - px(ui, 65) - 2 * k),
         words ? words : "", font(ui, 30), C_INK, C_TILE, UI_ALIGN_CENTER);
    int y = H - 2 * k, bw = w / 5;
    button(f, rect(0, y, bw, k), ui->v_recording ? C_GREEN : C_RED, C_WHITE, 0,
           tr_in(ui, "vi", ui->v_recording ? "Stop" : "Record"), font(ui, 30), A_V_RECORD, 0,
           "v:record");
    button(f, rect(bw, y, bw, k), C_BLUE, C_WHITE, 0, tr_in(ui, "vi", "Play"), font(ui, 30),
           A_V_PLAY, 0, "v:play");
    button(f, rect(2 * bw, y, bw, k), C_BLUE, C_WHITE, 0, tr_in(ui, "vi", "Next"), font(ui, 30),
           A_V_NEXT, 0, "v:next");
    button(f, rect(3 * bw, y, bw, k), C_BLUE, C_WHITE, P_WRENCH, "", font(ui, 30), A_V_TECH, 0,
           "v:tech");
    button(f, rect(4 * bw, y, w - 4 * bw, k), C_BLUE, C_WHITE, 0, tr_in(ui, "vi", "Done"),
           font(ui, 30), A_V_DONE, 0, "v:done");
    snprintf(line, sizeof line, "%s: %s", tr_in(ui, "vi", "Practice mode: this tip is not sent."),
             ui->training ? "ON" : "OFF");
    int vw = w / 4;
    button(f, rect(0, H - k, w - vw, k), ui->training ? C_BLACK : C_BLUE, C_WHITE, 0, line,
           font(ui, 28), A_V_PRACTICE, 0, "v:practice");
    snprintf(line, sizeof line, "%s %d%%", tr_in(ui, "vi", "Volume"), ui->volume);
    button(f, rect(w - vw, H - k, vw, k), C_BLUE, C_WHITE, 0, line, font(ui, 28), A_V_VOLUME, 0,
           "v:volume");
    if (ui->message[0])
        text(f, rect(px(ui, 10), y - px(ui, 44), w - px(ui, 20), px(ui, 40)), ui->message,
             font(ui, 28), C_INK, C_TILE, UI_ALIGN_CENTER);
}

/*
 * The technician's screen: status lines on the left, the microphone meter,
 * and buttons for the tests. Every tap outside a button marks where the
 * panel felt it: the touch test.
 */
static void draw_tech(struct frame *f)
{
    struct ui *ui = f->ui;
    int w = ui->cfg.width, H = ui->cfg.height;
    int k = ui->min_target + px(ui, 4);
    struct ui_tech info;
    memset(&info, 0, sizeof info);
    if (ui->host->tech_info)
        ui->host->tech_info(ui->host->ctx, &info);
    target(ui, rect(0, 0, w, H - k), A_T_TOUCH, 0, "t:touch");
    int lh = (H - k - px(ui, 90)) / (info.n > 0 ? info.n : 1);
    if (lh > px(ui, 40))
        lh = px(ui, 40);
    for (int i = 0; i < info.n; i++)
        text(f, rect(px(ui, 10), px(ui, 4) + i * lh, w - px(ui, 20), lh), info.lines[i],
             font(ui, 28), C_INK, C_BG, UI_ALIGN_LEFT);
    struct ui_rect m = rect(px(ui, 10), H - k - px(ui, 80), w - px(ui, 20), px(ui, 70));
    struct ui_draw *d = cmd(f, UI_DRAW_METER, m);
    if (d) {
        d->fg = C_METER;
        d->bg = C_TILE;
        d->value = ui->mic_testing ? ui->shown_level : 0;
    }
    if (ui->touch_x >= 0)
        fill(f, rect(ui->touch_x - px(ui, 12), ui->touch_y - px(ui, 12), px(ui, 24), px(ui, 24)),
             C_RED, px(ui, 12));
    int bw = w / 3;
    button(f, rect(0, H - k, bw, k), ui->mic_testing ? C_GREEN : C_BLUE, C_WHITE, P_MIC,
           ui->mic_testing ? "Mic: ON" : "Mic test", font(ui, 28), A_T_MIC, 0, "t:mic");
    button(f, rect(bw, H - k, bw, k), C_BLUE, C_WHITE, 0, "LED test", font(ui, 28), A_T_LED, 0,
           "t:led");
    button(f, rect(2 * bw, H - k, w - 2 * bw, k), C_BLUE, C_WHITE, 0, tr_in(ui, "vi", "Done"),
           font(ui, 28), A_T_DONE, 0, "t:done");
}

void ui_draw(struct ui *ui, struct ui_draw_list *out)
{
    struct frame f = {ui, out};
    out->n = 0;
    out->clear = ui->screen == UI_BLANK ? C_BLACK : C_BG;
    ui->ntargets = 0;
    switch (ui->screen) {
    case UI_BLANK: target(ui, rect(0, 0, ui->cfg.width, ui->cfg.height), A_WAKE, 0, "wake"); break;
    case UI_START: draw_start(&f); break;
    case UI_LANGUAGE: draw_language(&f); break;
    case UI_CATEGORY: draw_category(&f); break;
    case UI_SPEAK: draw_speak(&f); break;
    case UI_RECORDING: draw_recording(&f); break;
    case UI_REVIEW: draw_review(&f); break;
    case UI_TEXT: draw_text(&f); break;
    case UI_WHEN: draw_when(&f); break;
    case UI_SENT: draw_sent(&f); break;
    case UI_STILL_THERE: draw_still_there(&f); break;
    case UI_OUT_OF_SERVICE: draw_out_of_service(&f); break;
    case UI_PIN: draw_pin(&f); break;
    case UI_VOLUNTEER: draw_volunteer(&f); break;
    case UI_TECH: draw_tech(&f); break;
    }
    if (ui->screen != UI_BLANK && ui->screen != UI_PIN && ui->screen != UI_VOLUNTEER &&
        ui->screen != UI_TEXT && ui->screen != UI_TECH)
        draw_training_band(&f);
    ui->dirty = 0;
}

/* ------------------------------------------------------------------ */
/* actions                                                             */

static int in_tip(int screen)
{
    return screen == UI_LANGUAGE || screen == UI_CATEGORY || screen == UI_SPEAK ||
           screen == UI_RECORDING || screen == UI_REVIEW || screen == UI_TEXT ||
           screen == UI_WHEN;
}

static void fault_out(struct ui *ui, const char *why)
{
    (void)why; /* the host logged it; the person gets the calm screen */
    end_tip(ui, 1);
    go(ui, UI_OUT_OF_SERVICE);
}

static void start_recording(struct ui *ui)
{
    char err[256] = "";
    int rc = ui->host->record_start
                 ? ui->host->record_start(ui->host->ctx, lang_code(ui), ui->category, err,
                                          sizeof err)
                 : -1;
    if (rc == -1) {
        /* No microphone: the person can still write. */
        ui->mic_present = 0;
        go(ui, UI_TEXT);
        return;
    }
    if (rc < 0) {
        fault_out(ui, err);
        return;
    }
    ui->tip_open = 1;
    ui->recorded = 0;
    ui->warned = 0;
    ui->shown_seconds = 0;
    ui->shown_level = 0;
    ui->screen = UI_RECORDING; /* no prompt: the person is speaking */
    ui->entered = ui->now;
    ui->dirty = 1;
}

static void stop_recording(struct ui *ui)
{
    if (ui->host->record_stop)
        ui->host->record_stop(ui->host->ctx);
    ui->recorded = 1;
}

static void send_tip(struct ui *ui)
{
    char err[256] = "";
    int rc = ui->host->tip_send ? ui->host->tip_send(ui->host->ctx, lang_code(ui), ui->category,
                                                     telex_text(ui->telex), ui->when, err,
                                                     sizeof err)
                                : -2;
    if (rc < 0) {
        /* Never "sent" unless durable: the calm fault screen instead. */
        fault_out(ui, err);
        return;
    }
    ui->tip_open = 0;
    end_tip(ui, 0);
    go(ui, UI_SENT);
}

static void back(struct ui *ui)
{
    switch (ui->screen) {
    case UI_LANGUAGE: end_tip(ui, 1); go(ui, UI_START); break;
    case UI_CATEGORY: ui->category = 0; go(ui, UI_LANGUAGE); break;
    case UI_SPEAK: ui->category = 0; go(ui, UI_CATEGORY); break;
    default: break;
    }
}

static void act(struct ui *ui, const struct ui_target *t)
{
    switch (t->action) {
    case A_WAKE: go(ui, UI_START); break; /* the waking touch does nothing else */
    case A_START:
        if (ui->screen == UI_SENT) {
            go(ui, UI_START);
        } else if (ui->host->can_take_tips && !ui->host->can_take_tips(ui->host->ctx)) {
            go(ui, UI_OUT_OF_SERVICE);
        } else {
            end_tip(ui, 1);
            go(ui, ui->cfg.nlangs > 1 ? UI_LANGUAGE : UI_CATEGORY);
        }
        break;
    case A_LANG: {
        ui->lang = t->arg;
        if (telex_set_mode(ui->telex, (enum telex_mode)ui->langs[ui->lang].keyboard) != 0)
            ui->langs[ui->lang].keyboard = TELEX_PLAIN; /* unknown: plain letters */
        /* Its own name, then the next question, both in that language. */
        ui->screen = UI_CATEGORY;
        ui->entered = ui->now;
        ui->dirty = 1;
        say2(ui, "language_name", "choose_category");
        break;
    }
    case A_CATEGORY:
        ui->category = t->arg;
        go(ui, UI_SPEAK); /* speaks the choice; the big button confirms it */
        if (!ui->mic_present)
            go(ui, UI_TEXT);
        break;
    case A_BACK: back(ui); break;
    case A_HEAR: speak_screen(ui); break;
    case A_RECORD: start_recording(ui); break;
    case A_STOP: stop_recording(ui); go(ui, UI_REVIEW); break;
    case A_SEND:
        if (ui->screen == UI_RECORDING)
            stop_recording(ui);
        send_tip(ui);
        break;
    case A_LISTEN:
        if (ui->host->play_recording)
            ui->host->play_recording(ui->host->ctx);
        break;
    case A_AGAIN:
        if (ui->host->tip_discard)
            ui->host->tip_discard(ui->host->ctx);
        ui->tip_open = 0;
        ui->recorded = 0;
        go(ui, UI_SPEAK);
        break;
    case A_KEEP: go(ui, UI_TEXT); break;
    case A_KEY:
        if (telex_key(ui->telex, (char)t->arg) != 0)
            set_message(ui, "Continue"); /* full: nudge on, never lose what is typed */
        ui->dirty = 1;
        break;
    case A_BACKSPACE: (void)telex_backspace(ui->telex); ui->dirty = 1; break;
    case A_TEXT_DONE:
        if (!ui->tip_open && !telex_text(ui->telex)[0] && !ui->recorded) {
            /* Nothing said, nothing written: there is no tip to send. */
            end_tip(ui, 1);
            go(ui, UI_START);
        } else {
            go(ui, UI_WHEN);
        }
        break;
    case A_WHEN:
        ui->when = t->arg;
        ui->dirty = 1;
        say1(ui, whens[t->arg].prompt);
        break;
    case A_STILL_HERE: go(ui, ui->return_to); break;
    case A_VOLUNTEER:
        ui->pin_typed[0] = 0;
        ui->pin_wrong = 0;
        go(ui, UI_PIN);
        break;
    case A_PIN_DIGIT: {
        size_t n = strlen(ui->pin_typed);
        ui->pin_wrong = 0;
        if (n + 1 < sizeof ui->pin_typed) {
            ui->pin_typed[n] = (char)t->arg;
            ui->pin_typed[n + 1] = 0;
        }
        if (strlen(ui->pin_typed) >= strlen(ui->cfg.pin)) {
            if (strcmp(ui->pin_typed, ui->cfg.pin) == 0) {
                ui->v_prompt = 0;
                go(ui, UI_VOLUNTEER);
            } else {
                ui->pin_wrong = 1;
            }
            memset(ui->pin_typed, 0, sizeof ui->pin_typed);
        }
        ui->dirty = 1;
        break;
    }
    case A_PIN_DEL: {
        size_t n = strlen(ui->pin_typed);
        if (n)
            ui->pin_typed[n - 1] = 0;
        ui->dirty = 1;
        break;
    }
    case A_PIN_CANCEL: go(ui, UI_START); break;
    case A_V_RECORD: {
        char err[256] = "";
        if (!ui->v_recording) {
            if (ui->host->prompt_record_start &&
                ui->host->prompt_record_start(ui->host->ctx, err, sizeof err) == 0)
                ui->v_recording = 1;
            else
                snprintf(ui->message, sizeof ui->message, "%.150s", err);
        } else {
            ui->v_recording = 0;
            if (ui->host->prompt_record_stop &&
                ui->host->prompt_record_stop(ui->host->ctx, lang_code(ui),
                                             prompt_ids[ui->v_prompt], err, sizeof err) != 0)
                snprintf(ui->message, sizeof ui->message, "%.150s", err);
            else
                snprintf(ui->message, sizeof ui->message, "%s ✓", prompt_ids[ui->v_prompt]);
        }
        ui->dirty = 1;
        break;
    }
    case A_V_PLAY: say1(ui, prompt_ids[ui->v_prompt]); break;
    case A_V_NEXT:
        if (!ui->v_recording) {
            ui->v_prompt = (ui->v_prompt + 1) % NPROMPTS;
            ui->message[0] = 0;
            ui->dirty = 1;
        }
        break;
    case A_V_PRACTICE:
        ui->training = !ui->training;
        if (ui->host->set_training)
            ui->host->set_training(ui->host->ctx, ui->training);
        ui->dirty = 1;
        break;
    case A_V_VOLUME:
        /* Taps only: each one a step louder, round to the quietest again. */
        ui->volume = ui->volume >= 100 ? 20 : ui->volume + 20 - ui->volume % 20;
        if (ui->host->set_volume)
            ui->host->set_volume(ui->host->ctx, ui->volume);
        say1(ui, "language_name"); /* hear how loud it is now */
        ui->dirty = 1;
        break;
    case A_V_DONE:
        if (!ui->v_recording)
            go(ui, UI_START);
        break;
    case A_V_TECH:
        if (!ui->v_recording) {
            ui->touch_x = ui->touch_y = -1;
            go(ui, UI_TECH);
        }
        break;
    case A_T_TOUCH:
        ui->touch_x = ui->last_tap_x;
        ui->touch_y = ui->last_tap_y;
        ui->dirty = 1;
        break;
    case A_T_MIC:
        ui->mic_testing = !ui->mic_testing;
        if (ui->host->mic_test)
            ui->host->mic_test(ui->host->ctx, ui->mic_testing);
        ui->dirty = 1;
        break;
    case A_T_LED:
        if (ui->host->led_test)
            ui->host->led_test(ui->host->ctx);
        break;
    case A_T_DONE:
        if (ui->mic_testing && ui->host->mic_test)
            ui->host->mic_test(ui->host->ctx, 0);
        ui->mic_testing = 0;
        go(ui, UI_START);
        break;
    }
}

/* The monotonic clock starts wherever the system's is: idle counts from here. */
static void clock_start(struct ui *ui, uint32_t now_ms)
{
    if (!ui->clock_started) {
        ui->clock_started = 1;
        ui->last_input = ui->entered = ui->last_fault_check = now_ms;
    }
}

void ui_tap(struct ui *ui, int x, int y, uint32_t now_ms)
{
    clock_start(ui, now_ms);
    ui->now = now_ms;
    ui->last_input = now_ms;
    ui->last_tap_x = x;
    ui->last_tap_y = y;
    if (ui->dirty) {
        /* Hit-test against what the person sees: lay out the current frame. */
        static struct ui_draw_list scratch;
        ui_draw(ui, &scratch);
        ui->dirty = 1;
    }
    for (int i = ui->ntargets - 1; i >= 0; i--) {
        const struct ui_target *t = &ui->targets[i];
        if (x >= t->r.x && x < t->r.x + t->r.w && y >= t->r.y && y < t->r.y + t->r.h) {
            struct ui_target copy = *t; /* act() may rebuild the targets */
            act(ui, &copy);
            ui->dirty = 1;
            return;
        }
    }
}

void ui_tick(struct ui *ui, uint32_t now_ms)
{
    clock_start(ui, now_ms);
    ui->now = now_ms;
    uint32_t idle = now_ms - ui->last_input;
    uint32_t since = now_ms - ui->entered;
    switch (ui->screen) {
    case UI_START:
        if (idle >= (uint32_t)ui->cfg.blank_seconds * 1000u) {
            ui->screen = UI_BLANK;
            ui->dirty = 1;
        } else if (now_ms - ui->last_fault_check >= 5000u) {
            ui->last_fault_check = now_ms;
            if (ui->host->can_take_tips && !ui->host->can_take_tips(ui->host->ctx))
                go(ui, UI_OUT_OF_SERVICE);
        }
        break;
    case UI_OUT_OF_SERVICE:
        if (now_ms - ui->last_fault_check >= 5000u) {
            ui->last_fault_check = now_ms;
            if (!ui->host->can_take_tips || ui->host->can_take_tips(ui->host->ctx))
                go(ui, UI_START);
        }
        break;
    case UI_SENT:
        if (since >= (uint32_t)ui->cfg.sent_seconds * 1000u)
            go(ui, UI_START);
        break;
    case UI_STILL_THERE:
        if (since >= (uint32_t)ui->cfg.idle_grace_seconds * 1000u) {
            /* Gone: the tip in progress is discarded, nothing of it stays. */
            end_tip(ui, 1);
            go(ui, UI_START);
        }
        break;
    case UI_RECORDING: {
        double secs = ui->host->record_seconds ? ui->host->record_seconds(ui->host->ctx) : 0;
        int s = (int)secs;
        int level = ui->host->record_level ? ui->host->record_level(ui->host->ctx) : 0;
        if (s != ui->shown_seconds || abs(level - ui->shown_level) >= 2) {
            ui->shown_seconds = s;
            ui->shown_level = level;
            ui->dirty = 1;
        }
        if (!ui->warned && s >= ui->cfg.max_record_seconds - ui->cfg.warn_before_seconds) {
            ui->warned = 1;
            say1(ui, "record_warning");
        }
        if (secs >= ui->cfg.max_record_seconds) {
            stop_recording(ui);
            go(ui, UI_REVIEW);
        }
        break;
    }
    case UI_TECH:
        if (ui->mic_testing) {
            int level = ui->host->record_level ? ui->host->record_level(ui->host->ctx) : 0;
            if (abs(level - ui->shown_level) >= 2) {
                ui->shown_level = level;
                ui->dirty = 1;
            }
        }
        /* Left alone, it closes like the volunteer screens. */
        __attribute__((fallthrough));
    case UI_PIN:
    case UI_VOLUNTEER:
        if (idle >= (uint32_t)ui->cfg.idle_seconds * 1000u * 5u && !ui->v_recording) {
            if (ui->mic_testing && ui->host->mic_test)
                ui->host->mic_test(ui->host->ctx, 0);
            ui->mic_testing = 0;
            go(ui, UI_START);
        }
        break;
    default:
        if (in_tip(ui->screen) && idle >= (uint32_t)ui->cfg.idle_seconds * 1000u) {
            ui->return_to = ui->screen;
            go(ui, UI_STILL_THERE);
        }
        break;
    }
}
