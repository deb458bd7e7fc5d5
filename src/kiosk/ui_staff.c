/* ui_staff — behind the PIN: the volunteer's and the technician's screens. */
#include "kiosk/ui_priv.h"

void ui_draw_pin(struct frame *f)
{
    struct ui *ui = f->ui;
    int w = ui->cfg.width, H = ui->cfg.height;
    int k = ui->min_target + 1;
    char dots[20] = "";
    size_t n = strlen(ui->pin_typed);
    for (size_t i = 0; i < n && i < 16; i++)
        dots[i] = '*';
    text(f, rect(0, 0, w / 2, px(ui, 60)), tr_in(ui, "vi", "Enter the PIN"), font(ui, 32), C_INK,
         C_BG, UI_ALIGN_CENTER);
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

void ui_draw_volunteer(struct frame *f)
{
    struct ui *ui = f->ui;
    int w = ui->cfg.width, H = ui->cfg.height;
    int k = ui->min_target + px(ui, 10);
    const char *id = ui_prompt_ids[ui->v_prompt];
    char line[UI_TEXT_MAX];
    snprintf(line, sizeof line, "%s · %s · %d/%d", ui->langs[ui->lang].name, id, ui->v_prompt + 1,
             NPROMPTS);
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
void ui_draw_tech(struct frame *f)
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

void ui_staff_act(struct ui *ui, const struct ui_target *t)
{
    switch (t->action) {
    case A_VOLUNTEER:
        ui->pin_typed[0] = 0;
        ui->pin_wrong = 0;
        ui_go(ui, UI_PIN);
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
                ui_go(ui, UI_VOLUNTEER);
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
    case A_PIN_CANCEL:
        ui_go(ui, UI_START);
        break;
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
                                             ui_prompt_ids[ui->v_prompt], err, sizeof err) != 0)
                snprintf(ui->message, sizeof ui->message, "%.150s", err);
            else
                snprintf(ui->message, sizeof ui->message, "%s ✓", ui_prompt_ids[ui->v_prompt]);
        }
        ui->dirty = 1;
        break;
    }
    case A_V_PLAY:
        say1(ui, ui_prompt_ids[ui->v_prompt]);
        break;
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
            ui_go(ui, UI_START);
        break;
    case A_V_TECH:
        if (!ui->v_recording) {
            ui->touch_x = ui->touch_y = -1;
            ui_go(ui, UI_TECH);
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
        ui_go(ui, UI_START);
        break;
    default:
        break;
    }
}
