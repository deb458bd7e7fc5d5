/*
 * ui_staff — behind the PIN: the volunteer's and the technician's screens.
 *
 * Always in Vietnamese (the volunteers and technicians of a health
 * station read it), addressed plainly; never a prompt id, never English:
 * a prompt is named by its words. The PIN locks for longer after each
 * three wrong tries. A volunteer records a language's prompts one by one
 * (the old take serves until the new one is kept), and carries them to
 * other kiosks on a USB stick. The technician reads the state in words
 * and tests the panel, the microphone and the lights.
 */
#include <stdarg.h>

#include "kiosk/ui_priv.h"

static const char *V(const struct ui *ui, const char *msgid)
{
    return tr_in(ui, "vi", msgid);
}

/* The conversions of a format, "%d"→'d', "%s"→'s' in order; -1 for others. */
static int conversions(const char *s, char *sig, size_t n)
{
    size_t k = 0;
    for (; *s; s++) {
        if (*s != '%')
            continue;
        s++;
        if (*s == '%')
            continue;
        if ((*s != 'd' && *s != 's') || k + 1 >= n)
            return -1;
        sig[k++] = *s;
    }
    sig[k] = 0;
    return 0;
}

/* Format with the catalog's words for msgid. A catalog's format is never
   trusted: it is used only when its conversions are the msgid's. */
static void vfmt(const struct ui *ui, char *out, size_t n, const char *msgid, ...)
    __attribute__((format(printf, 4, 5)));
static void vfmt(const struct ui *ui, char *out, size_t n, const char *msgid, ...)
{
    const char *t = V(ui, msgid);
    char a[8], b[8];
    if (conversions(t, a, sizeof a) != 0 || conversions(msgid, b, sizeof b) != 0 || strcmp(a, b))
        t = msgid;
    va_list ap;
    va_start(ap, msgid);
    vsnprintf(out, n, t, ap);
    va_end(ap);
}

static void set_msg(struct ui *ui, const char *msgid)
{
    snprintf(ui->message, sizeof ui->message, "%s", V(ui, msgid));
    ui->dirty = 1;
}

/* Cut s to at most max bytes on a character boundary, with "…" if cut. */
static void clip_utf8(char *s, size_t max)
{
    size_t n = strlen(s);
    if (n <= max)
        return;
    size_t cut = max >= 3 ? max - 3 : 0;
    while (cut > 0 && ((unsigned char)s[cut] & 0xC0) == 0x80)
        cut--;
    memcpy(s + cut, "…", 4);
}

static void age(const struct ui *ui, char *out, size_t n, long long s)
{
    if (s < 120)
        vfmt(ui, out, n, "%d s", (int)(s < 0 ? 0 : s));
    else if (s < 7200)
        vfmt(ui, out, n, "%d min", (int)(s / 60));
    else if (s < 2 * 86400)
        vfmt(ui, out, n, "%d h", (int)(s / 3600));
    else
        vfmt(ui, out, n, "%d days", (int)(s / 86400));
}

static const char *staff_lang(const struct ui *ui)
{
    return ui->cfg.nlangs ? ui->langs[ui->staff.lang].code : "vi";
}

static const char *staff_lang_name(const struct ui *ui)
{
    return ui->cfg.nlangs ? ui->langs[ui->staff.lang].name : "Tiếng Việt";
}

/* The words of a prompt, or NULL when the kiosk's list has none for it. */
static const char *words_or_null(const struct ui *ui, const char *id)
{
    return ui->host->prompt_words ? ui->host->prompt_words(ui->host->ctx, staff_lang(ui), id)
                                  : NULL;
}

static const char *words_of(const struct ui *ui, const char *id)
{
    const char *w = words_or_null(ui, id);
    return w ? w : "…";
}

static int state_of(const struct ui *ui, int i)
{
    return ui->host->prompt_state
               ? ui->host->prompt_state(ui->host->ctx, staff_lang(ui), ui_prompt_ids[i])
               : UI_PROMPT_NONE;
}

/* The back button in the villager's corner, and the title beside it. */
static int staff_bar(struct frame *f, const char *title, int action, const char *label,
                     const char *name)
{
    struct ui *ui = f->ui;
    int h = ui->min_target + px(ui, 8), bw = px(ui, 200);
    if (label)
        button(f, rect(0, 0, bw, h), C_BLUE, C_WHITE, P_BACK, label, font(ui, 28), action, 0,
               name);
    text(f, rect(bw + px(ui, 8), 0, ui->cfg.width - bw - px(ui, 16), h), title, font(ui, 30),
         C_INK, C_BG, UI_ALIGN_CENTER);
    return h;
}

/* ------------------------------------------------------------------ */
/* PIN                                                                 */

static int lock_seconds(int lockouts)
{
    return lockouts <= 1 ? STAFF_LOCK_1_S : lockouts == 2 ? STAFF_LOCK_2_S : STAFF_LOCK_3_S;
}

/* Seconds of lockout left (rounded up), 0 when the PIN may be tried. */
static int locked_left(struct ui *ui)
{
    struct ui_staff *s = &ui->staff;
    if (!s->locked)
        return 0;
    int32_t ms = (int32_t)(s->locked_until - ui->now);
    if (ms <= 0) {
        s->locked = 0;
        return 0;
    }
    return (int)((ms + 999) / 1000);
}

void ui_draw_pin(struct frame *f)
{
    struct ui *ui = f->ui;
    int w = ui->cfg.width, H = ui->cfg.height;
    int k = ui->min_target + 1;
    int left = locked_left(ui);
    ui->staff.shown_left = left;
    char line[UI_TEXT_MAX];
    text(f, rect(px(ui, 10), px(ui, 10), w / 2 - px(ui, 20), px(ui, 60)), V(ui, "Enter the PIN"),
         font(ui, 34), C_INK, C_BG, UI_ALIGN_CENTER);
    if (left) {
        /* No keys while locked: nothing to press, the wait is the answer. */
        text(f, rect(px(ui, 10), px(ui, 80), w - px(ui, 20), px(ui, 110)),
             V(ui, "Too many wrong PINs. Wait, then try again."), font(ui, 32), C_INK, C_BG,
             UI_ALIGN_CENTER);
        snprintf(line, sizeof line, "%d:%02d", left / 60, left % 60);
        text(f, rect(0, px(ui, 190), w, px(ui, 140)), line, font(ui, 96), C_INK, C_BG,
             UI_ALIGN_CENTER);
    } else {
        /* One dot a digit typed ("• " is 4 bytes; pin_typed holds at most 15).
           U+2022: Noto Sans has it; U+25CF drew as an empty box. */
        size_t n = strlen(ui->pin_typed), used = 0;
        char dots[4 * sizeof ui->pin_typed + 1] = "";
        for (size_t i = 0; i < n && used + 4 < sizeof dots; i++)
            used += (size_t)snprintf(dots + used, sizeof dots - used, "• ");
        if (ui->pin_wrong)
            vfmt(ui, line, sizeof line, "Wrong PIN. %d tries left.",
                 STAFF_PIN_TRIES - ui->staff.fails);
        text(f, rect(px(ui, 10), px(ui, 80), w / 2 - px(ui, 20), px(ui, 130)),
             ui->pin_wrong ? line : dots, font(ui, ui->pin_wrong ? 32 : 40), C_INK, C_BG,
             UI_ALIGN_CENTER);
        int x0 = w / 2 + (w / 2 - 3 * k) / 2, y0 = (H - 4 * k) / 2;
        static const char keys[] = "123456789<0";
        for (int i = 0; i < 11; i++) {
            char lab[2] = {keys[i], 0}, name[12];
            int x = x0 + (i % 3) * k, y = y0 + (i / 3) * k;
            if (keys[i] == '<') {
                button(f, rect(x, y, k, k), C_BLUE, C_WHITE, P_BACK, "", font(ui, 30), A_PIN_DEL,
                       0, "pin:del");
                continue;
            }
            snprintf(name, sizeof name, "pin:%c", keys[i]);
            button(f, rect(x, y, k, k), C_BLUE, C_WHITE, 0, lab, font(ui, 36), A_PIN_DIGIT,
                   keys[i], name);
        }
    }
    button(f, rect(px(ui, 40), H - k - px(ui, 20), w / 2 - px(ui, 80), k), C_BLUE, C_WHITE, 0,
           V(ui, "Cancel"), font(ui, 30), A_PIN_CANCEL, 0, "pin_cancel");
}

static void open_pin(struct ui *ui, int after)
{
    memset(ui->pin_typed, 0, sizeof ui->pin_typed);
    ui->pin_wrong = 0;
    ui->staff.after_pin = after;
    ui_go(ui, UI_PIN);
}

void ui_staff_open(struct ui *ui, int technician, uint32_t now_ms)
{
    if (!ui->clock_started) {
        ui->clock_started = 1;
        ui->last_fault_check = now_ms;
    }
    ui->now = ui->last_input = now_ms;
    if (!ui->cfg.pin[0]) {
        /* No PIN configured: no staff screens; but a card not set up
           (kiosk.conf missing: there is no PIN to ask, nor a tip to
           protect) opens the technician's checks, which only read. */
        if (technician && ui->setup) {
            ui->staff.after_pin = UI_TECH;
            ui->staff.tech_page = TECH_STATUS;
            ui->touch_x = ui->touch_y = -1;
            ui_go(ui, UI_TECH);
        }
        return;
    }
    open_pin(ui, technician ? UI_TECH : UI_VOLUNTEER);
}

static void pin_digit(struct ui *ui, char c)
{
    struct ui_staff *s = &ui->staff;
    if (locked_left(ui))
        return;
    size_t n = strlen(ui->pin_typed);
    ui->pin_wrong = 0;
    if (n + 1 < sizeof ui->pin_typed) {
        ui->pin_typed[n] = c;
        ui->pin_typed[n + 1] = 0;
    }
    ui->dirty = 1;
    if (strlen(ui->pin_typed) < strlen(ui->cfg.pin))
        return;
    int ok = strcmp(ui->pin_typed, ui->cfg.pin) == 0;
    memset(ui->pin_typed, 0, sizeof ui->pin_typed);
    if (!ok) {
        ui->pin_wrong = 1;
        if (++s->fails >= STAFF_PIN_TRIES) {
            s->fails = 0;
            s->lockouts++;
            s->locked = 1;
            s->locked_until = ui->now + (uint32_t)lock_seconds(s->lockouts) * 1000u;
            ui->pin_wrong = 0;
        }
        return;
    }
    s->fails = s->lockouts = s->locked = 0;
    if (s->after_pin == UI_TECH) {
        ui->touch_x = ui->touch_y = -1;
        s->tech_page = TECH_STATUS;
        ui_go(ui, UI_TECH);
    } else {
        s->page = STAFF_HOME;
        ui_go(ui, UI_VOLUNTEER);
    }
}

/* ------------------------------------------------------------------ */
/* Volunteer                                                           */

static void draw_home(struct frame *f)
{
    struct ui *ui = f->ui;
    int w = ui->cfg.width, H = ui->cfg.height;
    int top = staff_bar(f, V(ui, "Volunteer"), A_V_DONE, V(ui, "Done"), "v:done");
    int k = ui->min_target + px(ui, 8);
    char line[UI_TEXT_MAX];
    /* The language worked on: chosen once, for recording and the USB stick. */
    int lw = px(ui, 250);
    text(f, rect(px(ui, 8), top, lw - px(ui, 8), k), V(ui, "Language to work on:"), font(ui, 28),
         C_INK, C_BG, UI_ALIGN_LEFT);
    int n = ui->cfg.nlangs > 0 ? ui->cfg.nlangs : 1;
    if (n > 4)
        n = 4;
    int cw = (w - lw) / n;
    for (int i = 0; i < n && i < ui->cfg.nlangs; i++) {
        char name[24];
        int on = i == ui->staff.lang;
        snprintf(name, sizeof name, "v:lang:%s", ui->langs[i].code);
        button(f, rect(lw + i * cw, top, cw, k), on ? C_SELECT : C_BLUE, on ? C_INK : C_WHITE, 0,
               ui->langs[i].name, font(ui, 30), A_S_LANG, i, name);
    }
    int y = top + k, bh = (H - y) / 2, bw = w / 3;
    int done = 0;
    for (int i = 0; i < NPROMPTS; i++)
        done += state_of(ui, i) == UI_PROMPT_RECORDED;
    vfmt(ui, line, sizeof line, "Record the voice: %d of %d done", done, NPROMPTS);
    button(f, rect(0, y, bw, bh), C_RED, C_WHITE, 0, line, font(ui, 30), A_S_SESSION, 0,
           "v:session");
    button(f, rect(bw, y, bw, bh), C_BLUE, C_WHITE, 0, V(ui, "Copy with a USB stick"),
           font(ui, 30), A_S_USB, 0, "v:usb");
    button(f, rect(2 * bw, y, w - 2 * bw, bh), C_BLUE, C_WHITE, 0, V(ui, "Technician"),
           font(ui, 30), A_V_TECH, 0, "v:tech");
    button(f, rect(0, y + bh, bw * 3 / 2, H - y - bh), ui->training ? C_BLACK : C_BLUE, C_WHITE,
           0, V(ui, ui->training ? "Practice mode: on" : "Practice mode: off"), font(ui, 30),
           A_V_PRACTICE, 0, "v:practice");
    vfmt(ui, line, sizeof line, "Volume: %d", ui->volume);
    size_t len = strlen(line);
    snprintf(line + len, sizeof line - len, "%%");
    button(f, rect(bw * 3 / 2, y + bh, w - bw * 3 / 2, H - y - bh), C_BLUE, C_WHITE, 0, line,
           font(ui, 30), A_V_VOLUME, 0, "v:volume");
}

/*
 * The words to say, whole: a draw command holds UI_TEXT_MAX bytes, so long
 * words go in pieces cut at spaces, one under the other; smaller when long.
 */
static void draw_words(struct frame *f, struct ui_rect r, const char *words)
{
    struct ui *ui = f->ui;
    const char *piece[8];
    size_t len[8];
    int n = 0;
    const char *p = words;
    while (*p && n < 8) {
        size_t rest = strlen(p), take = rest;
        if (rest > UI_TEXT_MAX - 8) {
            take = UI_TEXT_MAX - 8;
            while (take > 0 && p[take] != ' ')
                take--;
            if (!take)
                take = UI_TEXT_MAX - 8;
            while (take > 0 && ((unsigned char)p[take] & 0xC0) == 0x80)
                take--;
        }
        piece[n] = p;
        len[n++] = take;
        p += take;
        while (*p == ' ')
            p++;
    }
    size_t total = strlen(words);
    int size = font(ui, total <= 90 ? 40 : total <= 180 ? 32 : 28);
    int y = r.y;
    for (int i = 0; i < n; i++) {
        char buf[UI_TEXT_MAX];
        snprintf(buf, sizeof buf, "%.*s", (int)len[i], piece[i]);
        int h = i == n - 1 ? r.y + r.h - y : (int)((double)r.h * (double)len[i] / (double)total);
        text(f, rect(r.x, y, r.w, h), buf, size, C_INK, C_TILE, UI_ALIGN_CENTER);
        y += h;
    }
}

static void draw_session(struct frame *f)
{
    struct ui *ui = f->ui;
    struct ui_staff *s = &ui->staff;
    int w = ui->cfg.width, H = ui->cfg.height;
    /* Tall enough for two lines of 28 px: "Nghe bản mới" wraps. */
    int k = ui->min_target + px(ui, 30);
    const char *id = ui_prompt_ids[s->prompt];
    const char *words = words_or_null(ui, id);
    char line[UI_TEXT_MAX];
    vfmt(ui, line, sizeof line, "%s · sentence %d of %d", staff_lang_name(ui), s->prompt + 1,
         NPROMPTS);
    int busy = ui->v_recording;
    int top = staff_bar(f, "", A_S_HOME, busy ? NULL : V(ui, "Back"), "s:back");
    /* The title sits between the corners, like the villager's screens. */
    int hw = px(ui, 200), rw = px(ui, 250); /* "hear" on one line, in the other corner */
    text(f, rect(hw + px(ui, 8), 0, w - hw - rw - px(ui, 16), top), line, font(ui, 30), C_INK,
         C_BG, UI_ALIGN_CENTER);
    if (!busy)
        button(f, rect(w - rw, 0, rw, top), C_BLUE, C_WHITE, 0, V(ui, "Hear it now"),
               font(ui, 28), A_S_HEAR_OWN, 0, "s:hear");
    /* The words to say, large. */
    int by = H - k, my = by - px(ui, 44);
    struct ui_rect wr = rect(px(ui, 10), top + px(ui, 6), w - px(ui, 20), my - top - px(ui, 12));
    fill(f, wr, C_TILE, px(ui, 8));
    if (words)
        draw_words(f, inset(wr, px(ui, 10)), words);
    else
        text(f, inset(wr, px(ui, 10)),
             V(ui, "This sentence has no words in the list yet: it cannot be recorded."),
             font(ui, 30), C_INK, C_TILE, UI_ALIGN_CENTER);
    /* One line: what is happening, or what the kiosk speaks now. */
    const char *st = ui->message;
    if (!st[0]) {
        static const char *const states[] = {
            [UI_PROMPT_NONE] = "Not recorded yet: the Vietnamese one is spoken.",
            [UI_PROMPT_MACHINE] = "Now spoken by the machine voice.",
            [UI_PROMPT_STANDIN] = "Now a stand-in: please record it.",
            [UI_PROMPT_RECORDED] = "Now spoken in a person's voice.",
        };
        int stv = state_of(ui, s->prompt);
        st = busy ? V(ui, "Recording: read the words, then touch Stop.")
                  : V(ui, states[stv >= 0 && stv <= UI_PROMPT_RECORDED ? stv : 0]);
    }
    text(f, rect(px(ui, 10), my, w - px(ui, 20), px(ui, 44)), st, font(ui, 28), C_INK, C_BG,
         UI_ALIGN_CENTER);
    /* Four slots; Record, Stop and "hear the new one" share the third, so a
       second touch never throws a take away or starts another. */
    int sw = w / 4;
    if (busy) {
        struct ui_draw *d = cmd(f, UI_DRAW_METER, inset(rect(0, by, 2 * sw, k), px(ui, 8)));
        if (d) {
            d->fg = C_METER;
            d->bg = C_TILE;
            d->value = s->level_shown;
        }
        button(f, rect(2 * sw, by, sw, k), C_GREEN, C_WHITE, P_STOP, V(ui, "Stop"), font(ui, 30),
               A_S_RECORD, 0, "s:record");
    } else if (s->take) {
        button(f, rect(0, by, sw, k), C_BLUE, C_WHITE, 0, V(ui, "Throw the new one away"),
               font(ui, 28), A_S_TAKE_DROP, 0, "s:drop");
        button(f, rect(sw, by, sw, k), C_RED, C_WHITE, 0, V(ui, "Record again"), font(ui, 28),
               A_S_TAKE_REDO, 0, "s:redo");
        button(f, rect(2 * sw, by, sw, k), C_BLUE, C_WHITE, 0, V(ui, "Hear the new one"),
               font(ui, 28), A_S_TAKE_PLAY, 0, "s:play");
        button(f, rect(3 * sw, by, w - 3 * sw, k), C_GREEN, C_WHITE, 0, V(ui, "Keep the new one"),
               font(ui, 28), A_S_TAKE_KEEP, 0, "s:keep");
    } else {
        if (s->prompt > 0)
            button(f, rect(0, by, sw, k), C_BLUE, C_WHITE, 0, V(ui, "Previous"), font(ui, 28),
                   A_S_PREV, 0, "s:prev");
        if (words) /* saving needs the sentence's line in the list */
            button(f, rect(2 * sw, by, sw, k), C_RED, C_WHITE, 0, V(ui, "Record"),
                   font(ui, 30), A_S_RECORD, 0, "s:record");
        if (s->prompt + 1 < NPROMPTS)
            button(f, rect(3 * sw, by, w - 3 * sw, k), C_BLUE, C_WHITE, 0, V(ui, "Next sentence"),
                   font(ui, 28), A_S_NEXT, 0, "s:next");
    }
}

/* The words of the prompts an import adds or replaces, as one line. */
static void change_line(struct ui *ui, char *out, size_t n, const char *msgid, int change)
{
    const struct ui_usb *u = &ui->staff.usb;
    char buf[512];
    snprintf(buf, sizeof buf, "%s", V(ui, msgid));
    int any = 0;
    for (int i = 0; i < u->n && i < UI_USB_MAX; i++) {
        if (u->change[i] != change)
            continue;
        size_t l = strlen(buf);
        snprintf(buf + l, sizeof buf - l, "%s“%s”", any++ ? ", " : " ", words_of(ui, u->ids[i]));
    }
    clip_utf8(buf, n - 1);
    snprintf(out, n, "%s", buf);
}

static void draw_usb(struct frame *f)
{
    struct ui *ui = f->ui;
    struct ui_staff *s = &ui->staff;
    int w = ui->cfg.width, H = ui->cfg.height;
    int k = ui->min_target + px(ui, 8);
    char title[UI_TEXT_MAX], line[UI_TEXT_MAX];
    int confirm = s->page == STAFF_IMPORT;
    vfmt(ui, title, sizeof title, confirm ? "Take from the USB stick: %s" : "USB stick: %s",
         staff_lang_name(ui));
    /* Confirming, the only ways on are the two answers at the bottom. */
    int top = staff_bar(f, title, A_S_HOME, confirm ? NULL : V(ui, "Back"), "u:back");
    int y = top + px(ui, 8), lh = px(ui, 80);
    int avail = H - k - px(ui, 8) - y;
    if (confirm) {
        const struct ui_usb *u = &s->usb;
        vfmt(ui, line, sizeof line, "%d new, %d replace the ones in use, %d the same.", u->n_new,
             u->n_replaced, u->n_same);
        text(f, rect(px(ui, 10), y, w - px(ui, 20), lh), line, font(ui, 30), C_INK, C_BG,
             UI_ALIGN_LEFT);
        int rest = (avail - lh) / 2;
        if (u->n_new) {
            change_line(ui, line, sizeof line, "New:", UI_USB_NEW);
            text(f, rect(px(ui, 10), y + lh, w - px(ui, 20), rest), line, font(ui, 28), C_INK,
                 C_BG, UI_ALIGN_LEFT);
        }
        if (u->n_replaced) {
            change_line(ui, line, sizeof line, "Replaces:", UI_USB_REPLACED);
            text(f, rect(px(ui, 10), y + lh + rest, w - px(ui, 20), rest), line, font(ui, 28),
                 C_INK, C_BG, UI_ALIGN_LEFT);
        }
        button(f, rect(0, H - k, w / 2, k), C_BLUE, C_WHITE, 0, V(ui, "Do not take them"),
               font(ui, 30), A_S_USB, 0, "u:cancel");
        button(f, rect(w / 2, H - k, w - w / 2, k), C_GREEN, C_WHITE, 0, V(ui, "Take them"),
               font(ui, 30), A_S_IMPORT_DO, 0, "u:take");
        return;
    }
    text(f, rect(px(ui, 10), y, w - px(ui, 20), avail / 2),
         V(ui, "Copy the recorded voice of this language to a USB stick, then take it into "
               "another kiosk."),
         font(ui, 28), C_INK, C_BG, UI_ALIGN_LEFT);
    if (ui->message[0]) {
        struct ui_rect m = rect(px(ui, 10), y + avail / 2, w - px(ui, 20), avail / 2);
        fill(f, m, C_SELECT, px(ui, 8));
        text(f, inset(m, px(ui, 8)), ui->message, font(ui, 28), C_INK, C_SELECT,
             UI_ALIGN_CENTER);
    }
    button(f, rect(0, H - k, w / 2, k), C_BLUE, C_WHITE, 0, V(ui, "Copy to the USB stick"),
           font(ui, 30), A_S_EXPORT, 0, "u:export");
    button(f, rect(w / 2, H - k, w - w / 2, k), C_BLUE, C_WHITE, 0,
           V(ui, "Take from the USB stick"), font(ui, 30), A_S_IMPORT_CHECK, 0, "u:import");
}

void ui_draw_volunteer(struct frame *f)
{
    struct ui *ui = f->ui;
    if (ui->cfg.nlangs && ui->staff.lang >= ui->cfg.nlangs)
        ui->staff.lang = 0;
    switch (ui->staff.page) {
    case STAFF_SESSION: draw_session(f); break;
    case STAFF_USB:
    case STAFF_IMPORT: draw_usb(f); break;
    default: draw_home(f); break;
    }
}

/* ------------------------------------------------------------------ */
/* Technician                                                          */

static const char *const uplink_errors[] = {
    [UI_UPLINK_E_NONE] = "",
    [UI_UPLINK_E_OFFLINE] = "cannot reach the relay (no network?)",
    [UI_UPLINK_E_NETWORK] = "the connection broke; trying again",
    [UI_UPLINK_E_TLS] = "the relay's certificate does not match",
    [UI_UPLINK_E_DEVICE] = "this kiosk is not enrolled, or was revoked",
    [UI_UPLINK_E_REFUSED] = "the relay refused",
    [UI_UPLINK_E_OTHER] = "another fault: see the log",
};

static const char *const led_codes[UI_LED_CODES] = {
    "1: no key of the post",
    "2: the memory card fails",
    "3: the memory card is nearly full",
    "4: no microphone",
    "5: nothing sent for days",
    "6: no speaker",
};

/* What the card lacks, in a sentence; "" when it is set up. */
static const char *setup_missing(const struct ui *ui)
{
    switch (ui->setup) {
    case UI_SETUP_NO_CONF: return V(ui, "The memory card has no homthu/kiosk.conf.");
    case UI_SETUP_BAD_CONF: return V(ui, "homthu/kiosk.conf on the memory card cannot be used.");
    case UI_SETUP_NO_KEY: return V(ui, "The kiosk has no device key (device.key).");
    case UI_SETUP_BAD_KEY: return V(ui, "The device key (device.key) cannot be used.");
    default: return "";
    }
}

int ui_staff_setup_lines(struct ui *ui, char lines[][UI_TEXT_MAX], int max)
{
    int n = 0;
    if (!ui->setup || max < 5)
        return 0;
    snprintf(lines[n++], UI_TEXT_MAX, "%s", V(ui, "This kiosk is not set up yet."));
    snprintf(lines[n++], UI_TEXT_MAX, "%s", setup_missing(ui));
    snprintf(lines[n++], UI_TEXT_MAX, "%s",
             V(ui, "To fix: put the memory card in a computer, run homthu-provision card "
                   "(see the guide), put it back, restart."));
    vfmt(ui, lines[n++], UI_TEXT_MAX, "Red light: %d blink, then a pause.", UI_SETUP_LED_CODE);
    snprintf(lines[n++], UI_TEXT_MAX, "%s",
             V(ui, "Checks: hold the top left corner of the screen."));
    return n;
}

static int status_lines(struct ui *ui, const struct ui_tech_facts *t, char lines[][UI_TEXT_MAX],
                        int max)
{
    int n = 0;
    char a[48], b[48];
#define NEXT (n < max ? lines[n++] : lines[max - 1])
    /* A card not set up says so first (kiosk.conf or the key is missing). */
    if (ui->setup)
        snprintf(NEXT, UI_TEXT_MAX, "%s", setup_missing(ui));
    vfmt(ui, NEXT, UI_TEXT_MAX, "Kiosk %s, version %s", t->kiosk_id, t->version);
    if (!t->queue_open) {
        snprintf(NEXT, UI_TEXT_MAX, "%s", V(ui, "The tip store does not open: see the log."));
    } else if (t->waiting) {
        age(ui, a, sizeof a, t->oldest_waiting_s);
        vfmt(ui, NEXT, UI_TEXT_MAX, "Tips waiting to be sent: %d, the oldest %s",
             (int)t->waiting, a);
    } else {
        snprintf(NEXT, UI_TEXT_MAX, "%s", V(ui, "No tips waiting to be sent."));
    }
    if (t->last_delivery_s >= 0) {
        age(ui, a, sizeof a, t->last_delivery_s);
        vfmt(ui, NEXT, UI_TEXT_MAX, "Last sent: %s ago", a);
    } else {
        snprintf(NEXT, UI_TEXT_MAX, "%s", V(ui, "Nothing sent yet."));
    }
    if (t->uplink_state == UI_UPLINK_NO_RELAY || (!t->relay_url[0] && t->uplink_state))
        snprintf(NEXT, UI_TEXT_MAX, "%s", V(ui, "No relay address in kiosk.conf: tips wait."));
    else if (t->relay_url[0])
        vfmt(ui, NEXT, UI_TEXT_MAX, "Sends to: %s", t->relay_url);
    if (t->uplink_state == UI_UPLINK_UNKNOWN) {
        snprintf(NEXT, UI_TEXT_MAX, "%s", V(ui, "The sending program left no news: is it running?"));
    } else if (t->uplink_error) {
        int e = t->uplink_error <= UI_UPLINK_E_OTHER ? t->uplink_error : UI_UPLINK_E_OTHER;
        age(ui, a, sizeof a, t->uplink_error_age_s);
        vfmt(ui, NEXT, UI_TEXT_MAX, "Last sending fault: %s, %s ago", V(ui, uplink_errors[e]), a);
    } else if (t->uplink_state != UI_UPLINK_NO_RELAY) {
        age(ui, a, sizeof a, t->uplink_age_s);
        vfmt(ui, NEXT, UI_TEXT_MAX, "No sending fault (news %s ago).", a);
    }
    char addr[UI_TEXT_MAX] = "";
    for (int i = 0; i < t->naddrs && i < 4; i++) {
        size_t l = strlen(addr);
        snprintf(addr + l, sizeof addr - l, "%s%s", i ? ", " : "", t->addrs[i]);
    }
    if (t->naddrs) {
        clip_utf8(addr, 100);
        vfmt(ui, NEXT, UI_TEXT_MAX, "Network address: %s", addr);
    } else {
        snprintf(NEXT, UI_TEXT_MAX, "%s", V(ui, "No network address."));
    }
    if (t->disk_total_mb >= 0) {
        snprintf(a, sizeof a, "%lld", t->disk_free_mb);
        snprintf(b, sizeof b, "%lld", t->disk_total_mb);
        vfmt(ui, NEXT, UI_TEXT_MAX, "Memory card: %s MB free of %s MB", a, b);
    }
    snprintf(NEXT, UI_TEXT_MAX, "%s · %s · %s",
             V(ui, t->microphone ? "Microphone: yes" : "Microphone: NONE"),
             V(ui, t->speaker ? "Speaker: yes" : "Speaker: NONE"),
             V(ui, t->clock_set ? "Clock: set" : "Clock: not set"));
#undef NEXT
    return n;
}

void ui_draw_tech(struct frame *f)
{
    struct ui *ui = f->ui;
    struct ui_staff *s = &ui->staff;
    int w = ui->cfg.width, H = ui->cfg.height;
    int k = ui->min_target + px(ui, 4);
    int top = staff_bar(f, V(ui, "Technician"), A_T_DONE,
                        V(ui, s->after_pin == UI_TECH ? "Done" : "Back"), "t:done");
    struct ui_tech_facts t;
    memset(&t, 0, sizeof t);
    t.oldest_waiting_s = t.last_delivery_s = t.disk_free_mb = t.disk_total_mb = -1;
    t.microphone = t.speaker = 1;
    if (ui->host->tech_facts)
        ui->host->tech_facts(ui->host->ctx, &t);
    int body = H - k - top;
    if (s->tech_page == TECH_STATUS) {
        static char lines[9][UI_TEXT_MAX];
        int n = status_lines(ui, &t, lines, 9);
        int lh = body / (n ? n : 1);
        for (int i = 0; i < n; i++)
            text(f, rect(px(ui, 10), top + i * lh, w - px(ui, 20), lh), lines[i], font(ui, 28),
                 C_INK, C_BG, UI_ALIGN_LEFT);
    } else if (s->tech_page == TECH_LEDS) {
        int lh = body / 6;
        text(f, rect(px(ui, 10), top, w - px(ui, 20), lh),
             V(ui, "Green blinks every 2 s: the kiosk is running."), font(ui, 28), C_INK, C_BG,
             UI_ALIGN_LEFT);
        text(f, rect(px(ui, 10), top + lh, w - px(ui, 20), lh),
             V(ui, "Amber lit: tips wait to be sent; blinking: sending."), font(ui, 28), C_INK,
             C_BG, UI_ALIGN_LEFT);
        text(f, rect(px(ui, 10), top + 2 * lh, w - px(ui, 20), lh),
             V(ui, "Red blinks N times, pauses, again: count them."), font(ui, 28), C_INK, C_BG,
             UI_ALIGN_LEFT);
        for (int i = 0; i < UI_LED_CODES; i++) {
            struct ui_rect r = rect((i / 3) * (w / 2) + px(ui, 6), top + (3 + i % 3) * lh,
                                    w / 2 - px(ui, 12), lh - px(ui, 4));
            /* The faults the kiosk knows of now stand out. */
            uint32_t bg = (t.led_faults >> i) & 1u ? C_SELECT : C_BG;
            if (bg != C_BG)
                fill(f, r, bg, px(ui, 6));
            text(f, inset(r, px(ui, 4)), V(ui, led_codes[i]), font(ui, 28), C_INK, bg,
                 UI_ALIGN_LEFT);
        }
    } else {
        /* The touch test has its own area: a touch anywhere else is a button. */
        struct ui_rect area = rect(px(ui, 8), top + px(ui, 4), w / 2, body - px(ui, 8));
        fill(f, area, C_TILE, px(ui, 8));
        text(f, rect(area.x, area.y, area.w, px(ui, 80)),
             V(ui, "Touch here: a red dot shows where the screen felt it."), font(ui, 28), C_INK,
             C_TILE, UI_ALIGN_CENTER);
        target(ui, area, A_T_TOUCH, 0, "t:touch");
        if (ui->touch_x >= area.x && ui->touch_x < area.x + area.w && ui->touch_y >= area.y &&
            ui->touch_y < area.y + area.h)
            fill(f, rect(ui->touch_x - px(ui, 12), ui->touch_y - px(ui, 12), px(ui, 24), px(ui, 24)),
                 C_RED, px(ui, 12));
        int rx = area.x + area.w + px(ui, 8), rw = w - rx;
        button(f, rect(rx, top, rw, k), ui->mic_testing ? C_GREEN : C_BLUE, C_WHITE, P_MIC,
               V(ui, ui->mic_testing ? "Microphone on: speak" : "Test the microphone"),
               font(ui, 28), A_T_MIC, 0, "t:mic");
        struct ui_draw *d = cmd(f, UI_DRAW_METER, inset(rect(rx, top + k, rw, k), px(ui, 8)));
        if (d) {
            d->fg = C_METER;
            d->bg = C_TILE;
            d->value = ui->mic_testing ? ui->shown_level : 0;
        }
        button(f, rect(rx, top + 2 * k, rw, k), C_BLUE, C_WHITE, 0, V(ui, "Test the lights"),
               font(ui, 28), A_T_LED, 0, "t:led");
    }
    static const char *const tabs[3] = {"Status", "Lights", "Tests"};
    static const char *const names[3] = {"t:status", "t:leds", "t:tests"};
    int tw = w / 3;
    for (int i = 0; i < 3; i++) {
        int on = i == s->tech_page;
        button(f, rect(i * tw, H - k, i == 2 ? w - 2 * tw : tw, k), on ? C_SELECT : C_BLUE,
               on ? C_INK : C_WHITE, 0, V(ui, tabs[i]), font(ui, 28), A_S_TECH_PAGE, i, names[i]);
    }
}

/* ------------------------------------------------------------------ */
/* Actions                                                             */

static void mic_test_off(struct ui *ui)
{
    if (ui->mic_testing && ui->host->mic_test)
        ui->host->mic_test(ui->host->ctx, 0);
    ui->mic_testing = 0;
}

/* Leaving a take unkept: the take goes, the old one stays. */
static void drop_take(struct ui *ui)
{
    struct ui_staff *s = &ui->staff;
    if (ui->v_recording) {
        char err[64];
        if (ui->host->prompt_record_stop)
            (void)ui->host->prompt_record_stop(ui->host->ctx, staff_lang(ui),
                                               ui_prompt_ids[s->prompt], err, sizeof err);
        ui->v_recording = 0;
        s->take = 1;
    }
    if (s->take && ui->host->prompt_take_drop)
        ui->host->prompt_take_drop(ui->host->ctx);
    s->take = 0;
}

static void record_toggle(struct ui *ui)
{
    struct ui_staff *s = &ui->staff;
    char err[256] = "";
    if (!ui->v_recording) {
        s->take = 0;
        if (ui->host->prompt_record_start &&
            ui->host->prompt_record_start(ui->host->ctx, err, sizeof err) == 0) {
            ui->v_recording = 1;
            s->level_shown = 0;
            ui->message[0] = 0;
        } else {
            set_msg(ui, "The microphone does not start.");
        }
        ui->dirty = 1;
        return;
    }
    ui->v_recording = 0;
    if (ui->host->prompt_record_stop &&
        ui->host->prompt_record_stop(ui->host->ctx, staff_lang(ui), ui_prompt_ids[s->prompt], err,
                                     sizeof err) == 0) {
        s->take = 1;
        set_msg(ui, "New take: hear it, then keep it. The old one serves until then.");
    } else {
        set_msg(ui, "Too short: record again.");
    }
}

static void take_keep(struct ui *ui)
{
    struct ui_staff *s = &ui->staff;
    char err[256] = "";
    if (ui->host->prompt_take_keep &&
        ui->host->prompt_take_keep(ui->host->ctx, staff_lang(ui), ui_prompt_ids[s->prompt], err,
                                   sizeof err) == 0) {
        s->take = 0;
        set_msg(ui, "Kept: the kiosk now speaks this take.");
    } else {
        set_msg(ui, "Not saved: the old one stays. Try again.");
    }
}

static void usb_message(struct ui *ui, int import)
{
    const struct ui_usb *u = &ui->staff.usb;
    switch (u->status) {
    case UI_USB_OK:
        if (import)
            vfmt(ui, ui->message, sizeof ui->message, "Taken: %d. The kiosk now speaks them.",
                 u->n_new + u->n_replaced);
        else
            vfmt(ui, ui->message, sizeof ui->message, "Copied %d to the USB stick.", u->n);
        break;
    case UI_USB_NO_STICK: set_msg(ui, "No USB stick found. Plug one in and try again."); break;
    case UI_USB_EMPTY:
        set_msg(ui, import ? "The USB stick holds no voice of this language."
                           : "Nothing recorded in this language yet.");
        break;
    case UI_USB_BAD_FILE:
        vfmt(ui, ui->message, sizeof ui->message,
             "A file on the USB stick is damaged (%s). Nothing was taken.", u->file);
        break;
    case UI_USB_UNKNOWN:
        vfmt(ui, ui->message, sizeof ui->message,
             "A file on the USB stick is not for this kiosk (%s). Nothing was taken.", u->file);
        break;
    default: set_msg(ui, "Could not write: nothing was changed."); break;
    }
    ui->dirty = 1;
}

void ui_staff_act(struct ui *ui, const struct ui_target *t)
{
    struct ui_staff *s = &ui->staff;
    switch (t->action) {
    case A_VOLUNTEER: open_pin(ui, UI_VOLUNTEER); break;
    case A_S_PIN_TECH: open_pin(ui, UI_TECH); break;
    case A_PIN_DIGIT: pin_digit(ui, (char)t->arg); break;
    case A_PIN_DEL: {
        size_t n = strlen(ui->pin_typed);
        if (n)
            ui->pin_typed[n - 1] = 0;
        ui->dirty = 1;
        break;
    }
    case A_PIN_CANCEL: ui_go(ui, UI_START); break;
    case A_S_HOME:
        drop_take(ui);
        s->page = STAFF_HOME;
        ui_go(ui, UI_VOLUNTEER);
        break;
    case A_S_LANG:
        s->lang = t->arg;
        ui->dirty = 1;
        break;
    case A_S_SESSION:
        s->page = STAFF_SESSION;
        s->take = 0;
        ui_go(ui, UI_VOLUNTEER);
        break;
    case A_S_PREV:
    case A_S_NEXT:
        if (ui->v_recording || s->take)
            break;
        s->prompt += t->action == A_S_NEXT ? 1 : -1;
        if (s->prompt < 0)
            s->prompt = 0;
        if (s->prompt >= NPROMPTS)
            s->prompt = NPROMPTS - 1;
        ui->message[0] = 0;
        ui->dirty = 1;
        break;
    case A_S_HEAR_OWN:
        if (!ui->host->prompt_play_own ||
            ui->host->prompt_play_own(ui->host->ctx, staff_lang(ui), ui_prompt_ids[s->prompt]) !=
                0)
            set_msg(ui, "Not recorded yet: the Vietnamese one is spoken.");
        break;
    case A_S_RECORD: record_toggle(ui); break;
    case A_S_TAKE_PLAY:
        if (ui->host->prompt_take_play)
            ui->host->prompt_take_play(ui->host->ctx);
        break;
    case A_S_TAKE_KEEP: take_keep(ui); break;
    case A_S_TAKE_REDO: record_toggle(ui); break; /* the new start replaces the take */
    case A_S_TAKE_DROP:
        drop_take(ui);
        set_msg(ui, "Thrown away: the old one stays.");
        break;
    case A_S_USB:
        drop_take(ui);
        s->page = STAFF_USB;
        ui_go(ui, UI_VOLUNTEER);
        break;
    case A_S_EXPORT:
        memset(&s->usb, 0, sizeof s->usb);
        s->usb.status = UI_USB_NO_STICK;
        if (ui->host->usb_export)
            ui->host->usb_export(ui->host->ctx, staff_lang(ui), &s->usb);
        usb_message(ui, 0);
        break;
    case A_S_IMPORT_CHECK:
        memset(&s->usb, 0, sizeof s->usb);
        s->usb.status = UI_USB_NO_STICK;
        if (ui->host->usb_import)
            ui->host->usb_import(ui->host->ctx, staff_lang(ui), 0, &s->usb);
        if (s->usb.status == UI_USB_OK && s->usb.n_new + s->usb.n_replaced == 0) {
            set_msg(ui, "Nothing to take: the kiosk has the same voice already.");
        } else if (s->usb.status == UI_USB_OK) {
            s->page = STAFF_IMPORT;
            ui_go(ui, UI_VOLUNTEER);
        } else {
            usb_message(ui, 1);
        }
        break;
    case A_S_IMPORT_DO:
        memset(&s->usb, 0, sizeof s->usb);
        s->usb.status = UI_USB_NO_STICK;
        if (ui->host->usb_import)
            ui->host->usb_import(ui->host->ctx, staff_lang(ui), 1, &s->usb);
        s->page = STAFF_USB;
        ui_go(ui, UI_VOLUNTEER);
        usb_message(ui, 1);
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
        drop_take(ui);
        ui_go(ui, UI_START);
        break;
    case A_V_TECH:
        drop_take(ui);
        ui->touch_x = ui->touch_y = -1;
        s->tech_page = TECH_STATUS;
        ui_go(ui, UI_TECH);
        break;
    case A_S_TECH_PAGE:
        mic_test_off(ui);
        s->tech_page = t->arg;
        ui->touch_x = ui->touch_y = -1;
        ui->dirty = 1;
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
        mic_test_off(ui);
        if (s->after_pin == UI_TECH) {
            ui_go(ui, UI_START);
        } else {
            s->page = STAFF_HOME;
            ui_go(ui, UI_VOLUNTEER);
        }
        break;
    default: break;
    }
}

void ui_staff_tick(struct ui *ui, uint32_t idle_ms)
{
    struct ui_staff *s = &ui->staff;
    if (ui->screen == UI_PIN && s->locked && locked_left(ui) != s->shown_left)
        ui->dirty = 1; /* the countdown, each second, and the keys when it ends */
    if (ui->screen == UI_VOLUNTEER && ui->v_recording) {
        int level = ui->host->record_level ? ui->host->record_level(ui->host->ctx) : 0;
        if (abs(level - s->level_shown) >= 2) {
            s->level_shown = level;
            ui->dirty = 1;
        }
    }
    /* Walked away: the microphone closes and the unkept take goes, so the
       idle rule in ui.c can close the screen. */
    if (idle_ms >= (uint32_t)ui->cfg.idle_seconds * 1000u * 5u)
        drop_take(ui);
}
