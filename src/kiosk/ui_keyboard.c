/* ui_keyboard — the text screen: the on-screen keyboard and what was typed
   (Telex for Vietnamese, plain letters for Hmong RPA; telex.h). */
#include "kiosk/ui_priv.h"

static const char *const kb_rows[] = {"qwertyuiop", "asdfghjkl", "zxcvbnm"};

void ui_draw_text(struct frame *f)
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
    button(f, rect(0, 0, bw, bar), C_BLUE, C_WHITE, P_SPEAKER, tr(ui, "Hear again"), font(ui, 28),
           A_HEAR, 0, "hear");
    const char *typed = telex_text(ui->telex);
    button(f, rect(w - bw, 0, bw, bar), C_GREEN, C_WHITE, P_CHECK,
           tr(ui, typed[0] ? "Continue" : "Skip"), font(ui, 28), A_TEXT_DONE, 0, "text_done");
    const char *title =
        ui->mic_present ? tr(ui, "Write something (optional)")
                        : tr(ui, "The microphone is not working. You can write your tip instead.");
    text(f, rect(bw + px(ui, 6), 0, w - 2 * bw - px(ui, 12), bar), title, font(ui, 28), C_INK, C_BG,
         UI_ALIGN_CENTER);
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
    button(f, rect(x0 + sw, y, 2 * k, k), C_BLUE, C_WHITE, P_BACK, tr(ui, "Delete"), font(ui, 28),
           A_BACKSPACE, 0, "key:delete");
}
