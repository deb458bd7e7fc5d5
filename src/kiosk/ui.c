/* ui — the kiosk's screens: state, flow, timers. See ui.h. */
#include "kiosk/ui.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/envelope.h"
#include "kiosk/telex.h"
#include "kiosk/ui_priv.h"

const struct ui_choice ui_categories[CATEGORY_COUNT_UI] = {
    [CATEGORY_BORDER] = {"Strangers or illegal border crossing", "cat_border", PICTO_BORDER},
    [CATEGORY_DRUGS] = {"Drugs", "cat_drugs", PICTO_DRUGS},
    [CATEGORY_WEAPONS] = {"Weapons or explosives", "cat_weapons", PICTO_WEAPONS},
    [CATEGORY_SMUGGLING] = {"Smuggling", "cat_smuggling", PICTO_SMUGGLING},
    [CATEGORY_THEFT] = {"Theft", "cat_theft", PICTO_THEFT},
    [CATEGORY_TRAFFICKING] = {"People trafficking", "cat_trafficking", PICTO_TRAFFICKING},
    [CATEGORY_OTHER] = {"Something else", "cat_other", PICTO_OTHER},
};

const struct ui_choice ui_whens[WHEN_COUNT_UI] = {
    [WHEN_TODAY] = {"Today", "when_today", PICTO_TODAY},
    [WHEN_YESTERDAY] = {"Yesterday", "when_yesterday", PICTO_YESTERDAY},
    [WHEN_THIS_WEEK] = {"This week", "when_week", PICTO_WEEK},
    [WHEN_EARLIER] = {"Earlier", "when_earlier", PICTO_EARLIER},
};

const char *const ui_prompt_ids[] = {
    "welcome",        "post_name",       "language_name",  "record_intro",   "record_intro_handset",
    "record_warning", "record_review",   "sent",           "discarded",      "choose_category",
    "cat_border",     "cat_drugs",       "cat_weapons",    "cat_smuggling",  "cat_theft",
    "cat_trafficking", "cat_other",      "text_intro",     "when_intro",     "when_today",
    "when_yesterday", "when_week",       "when_earlier",   "still_there",    "count_5",
    "count_4",        "count_3",         "count_2",        "count_1",        "no_microphone",
    "not_saved",      "out_of_service",  "practice",       "practice_done",
};
const int ui_nprompts = (int)(sizeof ui_prompt_ids / sizeof *ui_prompt_ids);

static const char *const screen_names[UI_NSCREENS] = {
    "blank", "start", "language", "category", "speak", "recording", "review", "text",
    "when", "sent", "still_there", "out_of_service", "pin", "volunteer", "tech", "not_saved",
};

/* Practice ends by itself this long after the last touch. */
#define PRACTICE_IDLE_MS (20u * 60u * 1000u)
/* After "done", the tip is sent by itself this long after the last touch
   (a visible ring): the person has said they are done. */
#define REVIEW_SECONDS 30
/* A meter level this high, while recording, is someone speaking. */
#define VOICE_LEVEL 12

/* ------------------------------------------------------------------ */

const char *ui_screen_name(int screen)
{
    return screen >= 0 && screen < UI_NSCREENS ? screen_names[screen] : "?";
}

/* Has `lang` its own recording of `id`? Without the host call, every one. */
static int has_prompt(const struct ui *ui, const char *lang, const char *id)
{
    return !ui->host->has_prompt || ui->host->has_prompt(ui->host->ctx, lang, id);
}

int ui_voiced(const struct ui *ui, const char *lang)
{
    return has_prompt(ui, lang, "welcome");
}

/*
 * Speak prompts, each only in a voice of its own language: a language
 * never plays another's (the old start screen said the same Vietnamese
 * twice), and no prompt twice in one breath.
 */
static void say_prompts(struct ui *ui, const struct ui_prompt *p, int n)
{
    struct ui_prompt out[16];
    int k = 0;
    for (int i = 0; i < n && k < 16; i++) {
        if (!has_prompt(ui, p[i].lang, p[i].id))
            continue;
        int dup = 0;
        for (int j = 0; j < k; j++)
            dup |= !strcmp(out[j].lang, p[i].lang) && !strcmp(out[j].id, p[i].id);
        if (!dup)
            out[k++] = p[i];
    }
    if (k && ui->host->say)
        ui->host->say(ui->host->ctx, out, k);
}

/* In the chosen language: `n` ids. */
static void say_ids(struct ui *ui, const char *const *ids, int n)
{
    struct ui_prompt p[16];
    int k = 0;
    for (int i = 0; i < n && k < 16; i++)
        if (ids[i])
            p[k++] = (struct ui_prompt){lang_code(ui), ids[i]};
    say_prompts(ui, p, k);
}

static void say_one(struct ui *ui, const char *id)
{
    say_ids(ui, &id, 1);
}

/* `id` in the chosen language first, then in every other that has a voice. */
static void say_in_all(struct ui *ui, const char *id, const char *then)
{
    struct ui_prompt p[2 * UI_MAX_LANGS];
    int k = 0;
    for (int pass = 0; pass < 2; pass++)
        for (int i = 0; i < ui->cfg.nlangs; i++) {
            if ((pass == 0) != (i == ui->lang))
                continue;
            p[k++] = (struct ui_prompt){ui->langs[i].code, id};
            if (then)
                p[k++] = (struct ui_prompt){ui->langs[i].code, then};
        }
    if (!ui->cfg.nlangs)
        p[k++] = (struct ui_prompt){"vi", id};
    say_prompts(ui, p, k);
}

void ui_speak_screen(struct ui *ui)
{
    switch (ui->screen) {
    case UI_START: {
        /* The welcome and who receives the tip, in each language with a voice. */
        int keep = ui->lang;
        ui->lang = 0;
        say_in_all(ui, "welcome", ui->cfg.post_name[0] ? "post_name" : NULL);
        ui->lang = keep;
        break;
    }
    case UI_CATEGORY: say_one(ui, "choose_category"); break;
    case UI_SPEAK: {
        const char *ids[2] = {ui->training ? "practice" : NULL,
                              !ui->mic_present ? "no_microphone"
                              : ui->handset    ? "record_intro_handset"
                                               : "record_intro"};
        say_ids(ui, ids, 2);
        break;
    }
    case UI_REVIEW: say_one(ui, "record_review"); break;
    case UI_TEXT: say_one(ui, ui->mic_present ? "text_intro" : "no_microphone"); break;
    case UI_WHEN: say_one(ui, "when_intro"); break;
    case UI_SENT: say_one(ui, ui->training ? "practice_done" : "sent"); break;
    case UI_STILL_THERE: say_one(ui, "still_there"); break;
    case UI_OUT_OF_SERVICE: say_one(ui, "out_of_service"); break;
    case UI_NOT_SAVED: say_in_all(ui, "not_saved", NULL); break;
    default: break;
    }
}

static void enter(struct ui *ui, int screen)
{
    ui->screen = screen;
    ui->entered = ui->now;
    ui->dirty = 1;
    ui->message[0] = 0;
    ui->shown_left = -1;
}

void ui_go(struct ui *ui, int screen)
{
    enter(ui, screen);
    ui_speak_screen(ui);
}

/* After a tip, and when nobody is there: a start screen that says nothing,
   so the waiting room does not hear that someone just reported. */
static void go_quiet(struct ui *ui, int screen)
{
    enter(ui, screen);
}

/* The tip is over (sent, discarded, abandoned): forget all of it. */
void ui_end_tip(struct ui *ui, int discard)
{
    if (ui->tip_open && discard && ui->host->tip_discard)
        ui->host->tip_discard(ui->host->ctx);
    ui->tip_open = 0;
    ui->recorded = 0;
    ui->spoke = 0;
    ui->done = 0;
    ui->auto_record = 0;
    ui->category = 0;
    ui->when = 0;
    ui->warned = 0;
    telex_clear(ui->telex);
    ui->dirty = 1;
}

void ui_set_message(struct ui *ui, const char *msgid)
{
    snprintf(ui->message, sizeof ui->message, "%s", tr(ui, msgid));
    ui->dirty = 1;
}

static void practice_off(struct ui *ui)
{
    if (!ui->training)
        return;
    ui->training = 0;
    if (ui->host->set_training)
        ui->host->set_training(ui->host->ctx, 0);
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
    ui->cfg.post_name[sizeof ui->cfg.post_name - 1] = 0;
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
    /* Practice never survives a restart: a kiosk that rebooted in practice
       mode would mark real tips as practice. */
    ui->training = 0;
    ui->cfg.training = 0;
    ui->volume = cfg->volume > 0 ? cfg->volume : 80;
    ui->mic_present = 1;
    ui->shown_left = -1;
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

void ui_set_setup(struct ui *ui, int problem, const char *detail)
{
    ui->setup = problem;
    snprintf(ui->setup_detail, sizeof ui->setup_detail, "%s", detail ? detail : "");
    ui->dirty = 1;
    /* Straight to the screen that says so, without a word: the kiosk may
       start in a waiting room. */
    if (problem != UI_SETUP_OK)
        enter(ui, UI_OUT_OF_SERVICE);
}

int ui_setup(const struct ui *ui)
{
    return ui->setup;
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

int ui_countdown_total(const struct ui *ui)
{
    return ui->screen == UI_REVIEW ? REVIEW_SECONDS : ui->cfg.idle_grace_seconds;
}

int ui_countdown_left(const struct ui *ui)
{
    uint32_t from = ui->screen == UI_REVIEW ? ui->review_at : ui->entered;
    uint32_t gone = ui->now - from;
    int total = ui_countdown_total(ui);
    int left = total - (int)(gone / 1000u);
    return left < 0 ? 0 : left > total ? total : left;
}

void ui_draw(struct ui *ui, struct ui_draw_list *out)
{
    struct frame f = {ui, out};
    out->n = 0;
    out->clear = ui->screen == UI_BLANK ? C_BLACK : C_BG;
    ui->ntargets = 0;
    switch (ui->screen) {
    case UI_BLANK: target(ui, rect(0, 0, ui->cfg.width, ui->cfg.height), A_WAKE, 0, "wake"); break;
    case UI_START: ui_draw_start(&f); break;
    case UI_LANGUAGE: ui_draw_start(&f); break; /* the start screen is the language screen */
    case UI_CATEGORY: ui_draw_category(&f); break;
    case UI_SPEAK: ui_draw_speak(&f); break;
    case UI_RECORDING: ui_draw_recording(&f); break;
    case UI_REVIEW: ui_draw_review(&f); break;
    case UI_TEXT: ui_draw_text(&f); break;
    case UI_WHEN: ui_draw_when(&f); break;
    case UI_SENT: ui_draw_sent(&f); break;
    case UI_STILL_THERE: ui_draw_still_there(&f); break;
    case UI_OUT_OF_SERVICE: ui_draw_out_of_service(&f); break;
    case UI_NOT_SAVED: ui_draw_not_saved(&f); break;
    case UI_PIN: ui_draw_pin(&f); break;
    case UI_VOLUNTEER: ui_draw_volunteer(&f); break;
    case UI_TECH: ui_draw_tech(&f); break;
    }
    if (ui->screen != UI_BLANK && ui->screen != UI_PIN && ui->screen != UI_VOLUNTEER &&
        ui->screen != UI_TECH)
        frame_practice(&f);
    ui->dirty = 0;
}

/* ------------------------------------------------------------------ */
/* actions                                                             */

static int in_tip(int screen)
{
    return screen == UI_CATEGORY || screen == UI_SPEAK || screen == UI_RECORDING ||
           screen == UI_REVIEW || screen == UI_TEXT || screen == UI_WHEN;
}

static void fault_out(struct ui *ui, const char *why)
{
    (void)why; /* the host logged it; the person gets the calm screen */
    ui_end_tip(ui, 1);
    ui_go(ui, UI_OUT_OF_SERVICE);
}

static void start_recording(struct ui *ui)
{
    char err[256] = "";
    ui->auto_record = 0;
    int rc = ui->host->record_start
                 ? ui->host->record_start(ui->host->ctx, lang_code(ui), ui->category, err,
                                          sizeof err)
                 : -1;
    if (rc == -1) {
        /* No microphone: the person can still write. */
        ui->mic_present = 0;
        ui_go(ui, UI_SPEAK);
        return;
    }
    if (rc < 0) {
        fault_out(ui, err); /* nothing was said yet: nothing was lost */
        return;
    }
    ui->tip_open = 1;
    ui->recorded = 0;
    ui->spoke = 0;
    ui->warned = 0;
    ui->shown_seconds = 0;
    ui->shown_level = 0;
    enter(ui, UI_RECORDING); /* no prompt: the person is speaking */
}

static void stop_recording(struct ui *ui)
{
    if (ui->screen != UI_RECORDING)
        return;
    if (ui->host->record_stop)
        ui->host->record_stop(ui->host->ctx);
    ui->recorded = 1;
}

/* Something of the person's is in the tip: words said, or written. */
static int has_words(const struct ui *ui)
{
    return (ui->tip_open && ui->spoke) || telex_text(ui->telex)[0];
}

/*
 * Seal and commit. `unconfirmed`: the person left before "done". Practice
 * tips go nowhere: discarded, and the person is told nothing was sent.
 */
static int send_tip(struct ui *ui, int unconfirmed)
{
    if (ui->training) {
        ui_end_tip(ui, 1);
        return 0;
    }
    char err[256] = "";
    int rc = ui->host->tip_send
                 ? ui->host->tip_send(ui->host->ctx, lang_code(ui), ui->category,
                                      telex_text(ui->telex), ui->when, unconfirmed, err,
                                      sizeof err)
                 : -2;
    ui->tip_open = 0; /* the host closed it, kept or not */
    ui_end_tip(ui, 0);
    return rc < 0 ? -1 : 0;
}

static void send_now(struct ui *ui)
{
    stop_recording(ui);
    if (send_tip(ui, 0) != 0)
        ui_go(ui, UI_NOT_SAVED); /* never "sent" unless durable: say so plainly */
    else
        ui_go(ui, UI_SENT);
}

/*
 * Nobody is there any more (walked away, hung up): words said or written
 * are kept and sent, marked for the officer when "done" was not touched;
 * a tip with nothing in it goes. Then a quiet start: the next person sees
 * and hears nothing of it.
 */
static void left(struct ui *ui)
{
    stop_recording(ui);
    if (has_words(ui)) {
        int confirmed = ui->done;
        if (send_tip(ui, !confirmed) != 0) {
            go_quiet(ui, UI_NOT_SAVED);
            return;
        }
    } else {
        ui_end_tip(ui, 1);
    }
    go_quiet(ui, UI_START);
}

static void review(struct ui *ui)
{
    ui->review_at = ui->now;
    ui_go(ui, UI_REVIEW);
}

static void choose_language(struct ui *ui, int i)
{
    if (ui->host->can_take_tips && !ui->host->can_take_tips(ui->host->ctx)) {
        ui_go(ui, UI_OUT_OF_SERVICE);
        return;
    }
    ui_end_tip(ui, 1);
    ui->lang = i < ui->cfg.nlangs ? i : 0;
    if (ui->cfg.nlangs &&
        telex_set_mode(ui->telex, (enum telex_mode)ui->langs[ui->lang].keyboard) != 0)
        ui->langs[ui->lang].keyboard = TELEX_PLAIN; /* unknown: plain letters */
    ui->auto_record = ui->handset && ui->mic_present;
    enter(ui, UI_SPEAK);
    /* Its own name, then (in practice, that it is practice) what to say. */
    const char *ids[3] = {"language_name", ui->training ? "practice" : NULL,
                          ui->handset ? "record_intro_handset"
                          : ui->mic_present ? "record_intro" : "no_microphone"};
    say_ids(ui, ids, 3);
}

static void open_pin(struct ui *ui)
{
    /* From the out-of-service screen the technician is who holds the
       corner: after the PIN, straight to the checks. */
    if (ui->screen == UI_OUT_OF_SERVICE) {
        ui_staff_open(ui, 1, ui->now);
        return;
    }
    struct ui_target t = {.action = A_VOLUNTEER};
    ui_staff_act(ui, &t);
}

static void act(struct ui *ui, const struct ui_target *t)
{
    switch (t->action) {
    case A_WAKE: ui_go(ui, UI_START); break; /* the waking touch only wakes, and welcomes */
    case A_WELCOME: ui_speak_screen(ui); break;
    case A_CORNER:
        if (ui->screen == UI_START)
            ui_speak_screen(ui); /* a tap there is a tap on the start screen */
        break;
    case A_START: /* kept for hosts that tap "start": the first language */
    case A_LANG: choose_language(ui, t->action == A_LANG ? t->arg : 0); break;
    case A_BACK:
        /* Back is offered only where nothing has been said or written yet
           (else the corner is "throw away"): leaving loses nothing. */
        if (ui->screen == UI_SPEAK || (ui->screen == UI_TEXT && !ui->tip_open)) {
            ui_end_tip(ui, 1);
            ui_go(ui, UI_START);
        }
        break;
    case A_HEAR: ui_speak_screen(ui); break;
    case A_RECORD: start_recording(ui); break;
    case A_STOP: /* the push button's "stop" */
    case A_DONE:
        stop_recording(ui);
        ui->done = 1;
        review(ui);
        break;
    case A_DISCARD:
        stop_recording(ui);
        ui_end_tip(ui, 1);
        go_quiet(ui, UI_START);
        say_one(ui, "discarded");
        break;
    case A_SEND: send_now(ui); break;
    case A_LISTEN:
        ui->review_at = ui->now;
        if (ui->host->play_recording)
            ui->host->play_recording(ui->host->ctx);
        break;
    case A_EXTRA: ui_go(ui, t->arg == EXTRA_CATEGORY ? UI_CATEGORY
                            : t->arg == EXTRA_WHEN   ? UI_WHEN
                                                     : UI_TEXT);
        break;
    case A_EXTRA_OK: review(ui); break;
    case A_CATEGORY:
        ui->category = t->arg;
        ui->dirty = 1;
        say_one(ui, ui_categories[t->arg].prompt);
        break;
    case A_KEY:
        if (telex_key(ui->telex, (char)t->arg) != 0)
            ui_set_message(ui, "Continue"); /* full: nudge on, never lose what is typed */
        ui->dirty = 1;
        break;
    case A_BACKSPACE: (void)telex_backspace(ui->telex); ui->dirty = 1; break;
    case A_TEXT_DONE:
        if (!ui->tip_open && !telex_text(ui->telex)[0]) {
            /* Nothing said, nothing written: there is no tip to send. */
            ui_end_tip(ui, 1);
            ui_go(ui, UI_START);
        } else {
            ui->done = 1; /* written, and said to be done */
            review(ui);
        }
        break;
    case A_WHEN:
        ui->when = t->arg;
        ui->dirty = 1;
        say_one(ui, ui_whens[t->arg].prompt);
        break;
    case A_STILL_HERE:
        if (ui->return_to == UI_RECORDING || ui->return_to == UI_TEXT) {
            /* The recording stopped when the person fell silent; what was
               typed is kept: both wait on the review. */
            ui->done = 1;
            review(ui);
        } else if (ui->return_to == UI_REVIEW) {
            review(ui);
        } else {
            ui_go(ui, ui->return_to);
        }
        break;
    default: ui_staff_act(ui, t); break;
    }
}

/* The monotonic clock starts wherever the system's is: idle counts from here. */
static void clock_start(struct ui *ui, uint32_t now_ms)
{
    if (!ui->clock_started) {
        ui->clock_started = 1;
        ui->last_input = ui->entered = ui->last_fault_check = ui->review_at = now_ms;
    }
}

static const struct ui_target *hit(struct ui *ui, int x, int y)
{
    if (ui->dirty) {
        /* Hit-test against what the person sees: lay out the current frame. */
        static struct ui_draw_list scratch;
        ui_draw(ui, &scratch);
        ui->dirty = 1;
    }
    for (int i = ui->ntargets - 1; i >= 0; i--) {
        const struct ui_target *t = &ui->targets[i];
        if (x >= t->r.x && x < t->r.x + t->r.w && y >= t->r.y && y < t->r.y + t->r.h)
            return t;
    }
    return NULL;
}

void ui_press(struct ui *ui, int x, int y, int down, uint32_t now_ms)
{
    clock_start(ui, now_ms);
    ui->now = now_ms;
    ui->last_input = now_ms;
    if (!down) {
        int corner = ui->press_corner;
        ui->pressing = ui->press_corner = 0;
        if (corner) {
            /* A short press there is a tap on the screen beneath. */
            struct ui_target t = {.action = A_CORNER};
            act(ui, &t);
            ui->dirty = 1;
        }
        return;
    }
    ui->pressing = 1;
    ui->press_x = ui->last_tap_x = x;
    ui->press_y = ui->last_tap_y = y;
    ui->press_at = now_ms;
    ui->press_corner = 0;
    const struct ui_target *t = hit(ui, x, y);
    if (!t)
        return;
    if (t->action == A_CORNER) {
        ui->press_corner = 1; /* acts on release, or opens the PIN when held */
        return;
    }
    struct ui_target copy = *t; /* act() may rebuild the targets */
    act(ui, &copy);
    ui->dirty = 1;
}

void ui_tap(struct ui *ui, int x, int y, uint32_t now_ms)
{
    ui_press(ui, x, y, 1, now_ms);
    ui_press(ui, x, y, 0, now_ms);
}

void ui_handset(struct ui *ui, int lifted, uint32_t now_ms)
{
    clock_start(ui, now_ms);
    ui->now = now_ms;
    ui->last_input = now_ms;
    ui->dirty = 1;
    if (!lifted) {
        ui->handset = 0;
        ui->auto_record = 0;
        if (in_tip(ui->screen) || ui->screen == UI_STILL_THERE)
            left(ui); /* hanging up is walking away: what was said is kept */
        return;
    }
    ui->handset = 1;
    switch (ui->screen) {
    case UI_BLANK:
    case UI_START:
    case UI_LANGUAGE:
    case UI_SENT:
    case UI_NOT_SAVED:
        if (ui->cfg.nlangs <= 1)
            choose_language(ui, 0); /* nothing to choose: straight to speaking */
        else
            ui_go(ui, UI_START); /* the welcome in the earpiece; one touch on a language */
        break;
    case UI_SPEAK:
        ui->auto_record = ui->mic_present;
        ui_speak_screen(ui);
        break;
    default: break;
    }
}

static void tick_recording(struct ui *ui, uint32_t now_ms)
{
    double secs = ui->host->record_seconds ? ui->host->record_seconds(ui->host->ctx) : 0;
    int s = (int)secs;
    int level = ui->host->record_level ? ui->host->record_level(ui->host->ctx) : 0;
    if (level >= VOICE_LEVEL) {
        ui->spoke = 1;
        ui->last_input = now_ms; /* speaking is someone there */
    }
    if (s != ui->shown_seconds || abs(level - ui->shown_level) >= 2) {
        ui->shown_seconds = s;
        ui->shown_level = level;
        ui->dirty = 1;
    }
    if (!ui->warned && s >= ui->cfg.max_record_seconds - ui->cfg.warn_before_seconds) {
        ui->warned = 1;
        say_one(ui, "record_warning");
    }
    if (secs >= ui->cfg.max_record_seconds) {
        stop_recording(ui);
        ui->done = 1; /* the time is up, not the person gone */
        review(ui);
    }
}

void ui_tick(struct ui *ui, uint32_t now_ms)
{
    clock_start(ui, now_ms);
    ui->now = now_ms;
    /* Listening back, or a prompt being said, is someone there. */
    if (ui->screen != UI_BLANK && ui->screen != UI_START && ui->host->playing &&
        ui->host->playing(ui->host->ctx)) {
        ui->last_input = now_ms;
        if (ui->screen == UI_REVIEW)
            ui->review_at = now_ms;
    }
    if (ui->pressing && ui->press_corner && now_ms - ui->press_at >= UI_LONG_PRESS_MS) {
        ui->press_corner = 0;
        open_pin(ui);
    }
    if (ui->training && now_ms - ui->last_input >= PRACTICE_IDLE_MS)
        practice_off(ui);
    uint32_t idle = now_ms - ui->last_input;
    uint32_t since = now_ms - ui->entered;
    int left_s = ui_countdown_left(ui);
    switch (ui->screen) {
    case UI_START:
    case UI_LANGUAGE:
        if (idle >= (uint32_t)ui->cfg.blank_seconds * 1000u) {
            practice_off(ui); /* blanking ends practice */
            ui->screen = UI_BLANK;
            ui->dirty = 1;
        } else if (now_ms - ui->last_fault_check >= 5000u) {
            ui->last_fault_check = now_ms;
            if (ui->host->can_take_tips && !ui->host->can_take_tips(ui->host->ctx))
                ui_go(ui, UI_OUT_OF_SERVICE);
        }
        break;
    case UI_OUT_OF_SERVICE:
        if (now_ms - ui->last_fault_check >= 5000u) {
            ui->last_fault_check = now_ms;
            if (!ui->host->can_take_tips || ui->host->can_take_tips(ui->host->ctx))
                go_quiet(ui, UI_START);
        }
        break;
    case UI_SENT:
    case UI_NOT_SAVED:
        if (since >= (uint32_t)ui->cfg.sent_seconds * 1000u) {
            if (ui->host->can_take_tips && !ui->host->can_take_tips(ui->host->ctx))
                ui_go(ui, UI_OUT_OF_SERVICE);
            else
                go_quiet(ui, UI_START);
        }
        break;
    case UI_STILL_THERE:
        if (left_s != ui->shown_left) {
            /* The countdown, seen and heard: the last five seconds spoken. */
            if (ui->shown_left >= 0 && left_s >= 1 && left_s <= 5) {
                char id[16];
                snprintf(id, sizeof id, "count_%d", left_s);
                say_one(ui, id);
            }
            ui->shown_left = left_s;
            ui->dirty = 1;
        }
        if (since >= (uint32_t)ui->cfg.idle_grace_seconds * 1000u)
            left(ui);
        break;
    case UI_REVIEW:
        if (left_s != ui->shown_left) {
            ui->shown_left = left_s;
            ui->dirty = 1;
        }
        if (left_s == 0) {
            /* "Done" was said: the tip goes as if "send" were touched, and
               the screen thanks whoever is still there. */
            send_now(ui);
        }
        break;
    case UI_SPEAK:
        if (ui->auto_record && !ui->tip_open &&
            !(ui->host->playing && ui->host->playing(ui->host->ctx))) {
            start_recording(ui); /* the handset: the prompt is said, speak now */
            break;
        }
        goto idle_check;
    case UI_RECORDING:
        tick_recording(ui, now_ms);
        if (ui->screen != UI_RECORDING)
            break;
        idle = now_ms - ui->last_input;
        goto idle_check;
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
        ui_staff_tick(ui, idle);
        if (idle >= (uint32_t)ui->cfg.idle_seconds * 1000u * 5u && !ui->v_recording) {
            if (ui->mic_testing && ui->host->mic_test)
                ui->host->mic_test(ui->host->ctx, 0);
            ui->mic_testing = 0;
            ui_go(ui, UI_START);
        }
        break;
    default:
    idle_check:
        if (in_tip(ui->screen) && idle >= (uint32_t)ui->cfg.idle_seconds * 1000u) {
            if (ui->screen == UI_RECORDING)
                stop_recording(ui); /* silence: the microphone closes while asking */
            ui->return_to = ui->screen;
            ui_go(ui, UI_STILL_THERE);
        }
        break;
    }
}
