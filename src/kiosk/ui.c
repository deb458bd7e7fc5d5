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
    [CATEGORY_BORDER] = {"Strangers or illegal border crossing", "cat_border", 0x1F6B6u},
    [CATEGORY_DRUGS] = {"Drugs", "cat_drugs", 0x1F48Au},
    [CATEGORY_WEAPONS] = {"Weapons or explosives", "cat_weapons", 0x1F4A3u},
    [CATEGORY_SMUGGLING] = {"Smuggling", "cat_smuggling", 0x1F4E6u},
    [CATEGORY_THEFT] = {"Theft", "cat_theft", 0x1F45Cu},
    [CATEGORY_TRAFFICKING] = {"People trafficking", "cat_trafficking", 0x1F465u},
    [CATEGORY_OTHER] = {"Something else", "cat_other", 0x2753u},
};

const struct ui_choice ui_whens[WHEN_COUNT_UI] = {
    [WHEN_TODAY] = {"Today", "when_today", P_SUN},
    [WHEN_YESTERDAY] = {"Yesterday", "when_yesterday", P_MOON},
    [WHEN_THIS_WEEK] = {"This week", "when_week", P_CALENDAR},
    [WHEN_EARLIER] = {"Earlier", "when_earlier", P_HOURGLASS},
};

const char *const ui_prompt_ids[] = {
    "welcome",        "choose_language", "language_name", "choose_category", "cat_border",
    "cat_drugs",      "cat_weapons",     "cat_smuggling", "cat_theft",       "cat_trafficking",
    "cat_other",      "confirm_category", "record_intro", "record_warning",  "record_review",
    "text_intro",     "when_intro",      "when_today",    "when_yesterday",  "when_week",
    "when_earlier",   "sent",            "still_there",   "no_microphone",   "out_of_service",
    "practice",
};
const int ui_nprompts = (int)(sizeof ui_prompt_ids / sizeof *ui_prompt_ids);

static const char *const screen_names[UI_NSCREENS] = {
    "blank", "start", "language", "category", "speak", "recording", "review",
    "text", "when", "sent", "still_there", "out_of_service", "pin", "volunteer", "tech",
};

/* ------------------------------------------------------------------ */

const char *ui_screen_name(int screen)
{
    return screen >= 0 && screen < UI_NSCREENS ? screen_names[screen] : "?";
}

void ui_speak_screen(struct ui *ui)
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
            say2(ui, ui_categories[ui->category].prompt, "record_intro");
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

void ui_go(struct ui *ui, int screen)
{
    ui->screen = screen;
    ui->entered = ui->now;
    ui->dirty = 1;
    ui->message[0] = 0;
    ui_speak_screen(ui);
}

/* The tip is over (sent, discarded, abandoned): forget all of it. */
void ui_end_tip(struct ui *ui, int discard)
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

void ui_set_message(struct ui *ui, const char *msgid)
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

void ui_draw(struct ui *ui, struct ui_draw_list *out)
{
    struct frame f = {ui, out};
    out->n = 0;
    out->clear = ui->screen == UI_BLANK ? C_BLACK : C_BG;
    ui->ntargets = 0;
    switch (ui->screen) {
    case UI_BLANK: target(ui, rect(0, 0, ui->cfg.width, ui->cfg.height), A_WAKE, 0, "wake"); break;
    case UI_START: ui_draw_start(&f); break;
    case UI_LANGUAGE: ui_draw_language(&f); break;
    case UI_CATEGORY: ui_draw_category(&f); break;
    case UI_SPEAK: ui_draw_speak(&f); break;
    case UI_RECORDING: ui_draw_recording(&f); break;
    case UI_REVIEW: ui_draw_review(&f); break;
    case UI_TEXT: ui_draw_text(&f); break;
    case UI_WHEN: ui_draw_when(&f); break;
    case UI_SENT: ui_draw_sent(&f); break;
    case UI_STILL_THERE: ui_draw_still_there(&f); break;
    case UI_OUT_OF_SERVICE: ui_draw_out_of_service(&f); break;
    case UI_PIN: ui_draw_pin(&f); break;
    case UI_VOLUNTEER: ui_draw_volunteer(&f); break;
    case UI_TECH: ui_draw_tech(&f); break;
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
    ui_end_tip(ui, 1);
    ui_go(ui, UI_OUT_OF_SERVICE);
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
        ui_go(ui, UI_TEXT);
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
    ui_end_tip(ui, 0);
    ui_go(ui, UI_SENT);
}

static void back(struct ui *ui)
{
    switch (ui->screen) {
    case UI_LANGUAGE: ui_end_tip(ui, 1); ui_go(ui, UI_START); break;
    case UI_CATEGORY: ui->category = 0; ui_go(ui, UI_LANGUAGE); break;
    case UI_SPEAK: ui->category = 0; ui_go(ui, UI_CATEGORY); break;
    default: break;
    }
}

static void act(struct ui *ui, const struct ui_target *t)
{
    switch (t->action) {
    case A_WAKE: ui_go(ui, UI_START); break; /* the waking touch does nothing else */
    case A_START:
        if (ui->screen == UI_SENT) {
            ui_go(ui, UI_START);
        } else if (ui->host->can_take_tips && !ui->host->can_take_tips(ui->host->ctx)) {
            ui_go(ui, UI_OUT_OF_SERVICE);
        } else {
            ui_end_tip(ui, 1);
            ui_go(ui, ui->cfg.nlangs > 1 ? UI_LANGUAGE : UI_CATEGORY);
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
        ui_go(ui, UI_SPEAK); /* speaks the choice; the big button confirms it */
        if (!ui->mic_present)
            ui_go(ui, UI_TEXT);
        break;
    case A_BACK: back(ui); break;
    case A_HEAR: ui_speak_screen(ui); break;
    case A_RECORD: start_recording(ui); break;
    case A_STOP: stop_recording(ui); ui_go(ui, UI_REVIEW); break;
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
        ui_go(ui, UI_SPEAK);
        break;
    case A_KEEP: ui_go(ui, UI_TEXT); break;
    case A_KEY:
        if (telex_key(ui->telex, (char)t->arg) != 0)
            ui_set_message(ui, "Continue"); /* full: nudge on, never lose what is typed */
        ui->dirty = 1;
        break;
    case A_BACKSPACE: (void)telex_backspace(ui->telex); ui->dirty = 1; break;
    case A_TEXT_DONE:
        if (!ui->tip_open && !telex_text(ui->telex)[0] && !ui->recorded) {
            /* Nothing said, nothing written: there is no tip to send. */
            ui_end_tip(ui, 1);
            ui_go(ui, UI_START);
        } else {
            ui_go(ui, UI_WHEN);
        }
        break;
    case A_WHEN:
        ui->when = t->arg;
        ui->dirty = 1;
        say1(ui, ui_whens[t->arg].prompt);
        break;
    case A_STILL_HERE: ui_go(ui, ui->return_to); break;
    default: ui_staff_act(ui, t); break;
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

void ui_handset(struct ui *ui, int lifted, uint32_t now_ms)
{
    /* A first cut: the handset counts as a touch. The flow of issue 10
       (wake and speak in the earpiece, hang up keeps the tip) replaces it. */
    clock_start(ui, now_ms);
    ui->now = now_ms;
    ui->last_input = now_ms;
    if (lifted && (ui->screen == UI_BLANK || ui->screen == UI_START)) {
        struct ui_target t = {.action = A_START};
        act(ui, &t);
    }
    ui->dirty = 1;
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
                ui_go(ui, UI_OUT_OF_SERVICE);
        }
        break;
    case UI_OUT_OF_SERVICE:
        if (now_ms - ui->last_fault_check >= 5000u) {
            ui->last_fault_check = now_ms;
            if (!ui->host->can_take_tips || ui->host->can_take_tips(ui->host->ctx))
                ui_go(ui, UI_START);
        }
        break;
    case UI_SENT:
        if (since >= (uint32_t)ui->cfg.sent_seconds * 1000u)
            ui_go(ui, UI_START);
        break;
    case UI_STILL_THERE:
        if (since >= (uint32_t)ui->cfg.idle_grace_seconds * 1000u) {
            /* Gone: the tip in progress is discarded, nothing of it stays. */
            ui_end_tip(ui, 1);
            ui_go(ui, UI_START);
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
            ui_go(ui, UI_REVIEW);
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
        ui_staff_tick(ui, idle);
        if (idle >= (uint32_t)ui->cfg.idle_seconds * 1000u * 5u && !ui->v_recording) {
            if (ui->mic_testing && ui->host->mic_test)
                ui->host->mic_test(ui->host->ctx, 0);
            ui->mic_testing = 0;
            ui_go(ui, UI_START);
        }
        break;
    default:
        if (in_tip(ui->screen) && idle >= (uint32_t)ui->cfg.idle_seconds * 1000u) {
            ui->return_to = ui->screen;
            ui_go(ui, UI_STILL_THERE);
        }
        break;
    }
}
