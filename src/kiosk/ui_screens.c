/* ui_screens — the villager's screens, drawn from the ui's state. See ui.h. */
#include "kiosk/ui_priv.h"

void ui_draw_start(struct frame *f)
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
             tr_in(ui, langs[i], "No name is asked. Nothing records who you are."), font(ui, 28),
             C_MUTED, C_BG, UI_ALIGN_CENTER);
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

void ui_draw_language(struct frame *f)
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

void ui_draw_category(struct frame *f)
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
        button(f, rect((i % 4) * cw, (i / 4) * ch, cw, ch), bg, C_INK, ui_categories[c].picto,
               tr(ui, ui_categories[c].msgid), font(ui, 28), A_CATEGORY, c, name);
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
    picto(f, rect(r.x, r.y + px(ui, 8), r.w, r.h * 55 / 100), ui_categories[ui->category].picto,
          C_TILE);
    text(f, rect(r.x + px(ui, 6), r.y + r.h * 60 / 100, r.w - px(ui, 12), r.h * 38 / 100),
         tr(ui, ui_categories[ui->category].msgid), font(ui, 28), C_INK, C_TILE, UI_ALIGN_CENTER);
}

void ui_draw_speak(struct frame *f)
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

void ui_draw_recording(struct frame *f)
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

void ui_draw_review(struct frame *f)
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

void ui_draw_when(struct frame *f)
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
        button(f, r, ui->when == i ? C_SELECT : C_TILE, C_INK, ui_whens[i].picto,
               tr(ui, ui_whens[i].msgid), font(ui, 30), A_WHEN, i, name);
    }
    button(f, rect(w / 4, H - sendh, w / 2, sendh), C_GREEN, C_WHITE, P_CHECK, tr(ui, "Send"),
           font(ui, 40), A_SEND, 0, "send");
}

void ui_draw_sent(struct frame *f)
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

void ui_draw_still_there(struct frame *f)
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

void ui_draw_out_of_service(struct frame *f)
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
