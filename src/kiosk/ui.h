/*
 * ui — the kiosk's screens, with no SDL in sight.
 *
 * Input goes in as events (a tap at x,y; the passing of time). Output comes
 * out two ways: a list of draw commands for the renderer (render.h), and
 * calls to the host (struct ui_host) to speak, record, send or discard.
 * Layout is computed from the screen size and its physical diagonal so that
 * every touch target is at least 15 mm and no text is smaller than 28 px at
 * 800×480; tests check both from the draw list.
 *
 * The flow (docs/kiosk-flow.md): start, which is the choice of language →
 * speak (one touch starts) → recording ("done", or "throw away") → review
 * (listen back, send; a picture, a few words and "when" are extras) → sent
 * → a quiet start. From a dark screen: wake, language, record, done, and
 * the tip is sent by itself after a short visible countdown (or at once
 * with "send"): four taps. With a handset: lift, (a language,) speak, hang
 * up. A person who has spoken and walks away has the tip kept and sent,
 * marked "left without confirming"; only "throw away" discards it.
 *
 * Not here: audio, the queue, SDL, fonts (the host and the renderer).
 */
#ifndef HOMTHU_UI_H
#define HOMTHU_UI_H

#include <stddef.h>
#include <stdint.h>

#define UI_MAX_CMDS 200
#define UI_MAX_TARGETS 64
#define UI_TEXT_MAX 160
#define UI_MAX_LANGS 8
#define UI_MIN_TARGET_MM 15.0
#define UI_MIN_TEXT_PX_800 28

enum ui_screen {
    UI_BLANK,         /* display off after a long idle */
    UI_START,
    UI_LANGUAGE,
    UI_CATEGORY,
    UI_SPEAK,         /* the big record button */
    UI_RECORDING,
    UI_REVIEW,        /* listen back, record again, keep */
    UI_TEXT,          /* optional: on-screen keyboard */
    UI_WHEN,          /* optional: when it happened */
    UI_SENT,
    UI_STILL_THERE,   /* idle during a tip: asked aloud */
    UI_OUT_OF_SERVICE,
    UI_PIN,           /* volunteer PIN */
    UI_VOLUNTEER,     /* record the prompts of a language, practice mode */
    UI_TECH,          /* the technician's checks */
    UI_NOT_SAVED,     /* the tip could not be saved: "your words were not kept" */
    UI_NSCREENS
};

/* Stable names ("start", "language", ...) for tests, logs and screenshots. */
const char *ui_screen_name(int screen);

struct ui_rect {
    int x, y, w, h;
};

enum ui_draw_kind {
    UI_DRAW_FILL,   /* rect in bg colour, corner radius `radius` */
    UI_DRAW_TEXT,   /* text wrapped inside rect, `px` high, fg on bg */
    UI_DRAW_PICTO,  /* emoji `picto` fitted in rect; bg is what lies behind */
    UI_DRAW_METER,  /* level meter: `value` 0..100 filling rect, fg on bg */
    UI_DRAW_RING,   /* a ring in rect (a circle, as wide as the smaller side, `radius`
                       thick) filled clockwise from the top to `value` 0..100 in fg,
                       the rest in bg: time going by, no numbers needed */
};

enum ui_align { UI_ALIGN_CENTER = 0, UI_ALIGN_LEFT = 1 };

struct ui_draw {
    int kind;
    struct ui_rect r;
    uint32_t fg, bg; /* 0xRRGGBB */
    int px;          /* text height */
    int radius;
    int align;
    int value;
    uint32_t picto;  /* Unicode code point of an emoji */
    char text[UI_TEXT_MAX];
};

struct ui_draw_list {
    struct ui_draw cmds[UI_MAX_CMDS];
    int n;
    uint32_t clear; /* background colour of the frame */
};

/* A touch target, exposed so tests can check sizes and find buttons. */
struct ui_target {
    struct ui_rect r;
    int action; /* internal action code */
    int arg;
    char label[48]; /* stable test name: "lang:vi", "cat:2", "record", "key:a" ... */
};

struct ui_prompt {
    const char *lang;
    const char *id;
};

/* What the technician's screen shows, as lines the host formats. */
#define UI_TECH_LINES 10
struct ui_tech {
    char lines[UI_TECH_LINES][UI_TEXT_MAX];
    int n;
};

struct ui_lang {
    char code[9];
    char name[48];   /* in its own language */
    int keyboard;    /* telex.h mode for the text screen */
};

/*
 * Staff screens (ui_staff.c): what the volunteer's and the technician's
 * host calls report. Facts only; the screens put them in Vietnamese.
 */
enum ui_prompt_state {
    UI_PROMPT_NONE = 0, /* no sound of its own: the Vietnamese one is spoken */
    UI_PROMPT_MACHINE,  /* machine speech */
    UI_PROMPT_STANDIN,  /* a stand-in until a person records it */
    UI_PROMPT_RECORDED, /* a person's voice */
};

/* A language's prompts over a USB stick (docs/prompts.md). */
enum ui_usb_status {
    UI_USB_OK = 0,
    UI_USB_NO_STICK, /* no stick mounted */
    UI_USB_EMPTY,    /* export: nothing recorded; import: none of that language on it */
    UI_USB_BAD_FILE, /* a file on the stick is damaged or not a prompt: nothing taken */
    UI_USB_UNKNOWN,  /* a file names a prompt this kiosk does not have: nothing taken */
    UI_USB_WRITE,    /* cannot write (stick or card full or read-only): nothing changed */
};
enum ui_usb_change { UI_USB_SAME = 0, UI_USB_NEW, UI_USB_REPLACED };
#define UI_USB_MAX 64
struct ui_usb {
    int status;               /* enum ui_usb_status */
    int n;                    /* prompts concerned (written, or found on the stick) */
    char ids[UI_USB_MAX][48]; /* their ids */
    int change[UI_USB_MAX];   /* import: enum ui_usb_change of each */
    int n_new, n_replaced, n_same;
    char file[64];            /* the file a refusal is about, as named on the stick */
};

/* Faults as the red LED's blink codes (docs/leds.md): bit code-1. */
#define UI_LED_CODES 6
enum ui_uplink_state {
    UI_UPLINK_UNKNOWN = 0, /* homthu-uplink left no status: not running, or never ran */
    UI_UPLINK_NO_RELAY,    /* no relay_url in kiosk.conf */
    UI_UPLINK_IDLE,        /* nothing waiting */
    UI_UPLINK_SENDING,
    UI_UPLINK_FAILING,     /* the last attempt failed (uplink_error says how) */
};
enum ui_uplink_error {
    UI_UPLINK_E_NONE = 0,
    UI_UPLINK_E_OFFLINE,   /* the relay cannot be reached at all */
    UI_UPLINK_E_NETWORK,   /* cut or overloaded: retried */
    UI_UPLINK_E_TLS,       /* the relay's certificate or pin does not match */
    UI_UPLINK_E_DEVICE,    /* this kiosk is not enrolled, or revoked */
    UI_UPLINK_E_REFUSED,   /* the relay refused a tip or our credentials */
    UI_UPLINK_E_OTHER,     /* protocol, queue, anything else: see the log */
};
struct ui_tech_facts {
    char kiosk_id[48], version[24];
    int queue_open;
    unsigned waiting, cut_short;
    long long oldest_waiting_s; /* -1: nothing waits */
    long long last_delivery_s;  /* seconds ago; -1: none in the queue's memory */
    long long disk_free_mb, disk_total_mb; /* -1: unknown */
    int microphone, speaker, clock_set;
    unsigned led_faults;        /* bit i: the fault of red code i+1 is present */
    char relay_url[160];        /* as in kiosk.conf, or "" unknown */
    int uplink_state;           /* enum ui_uplink_state */
    long long uplink_age_s;     /* since homthu-uplink last wrote its status */
    int uplink_error;           /* enum ui_uplink_error of the last failure */
    long long uplink_error_age_s;
    char addrs[4][48];          /* the kiosk's network addresses, "eth0 192.168.1.20" */
    int naddrs;
};

/*
 * What the UI asks of the world. All calls are made from ui_event()/ui_tick()
 * on the caller's thread and must not block for long.
 */
struct ui_host {
    /* Speak these prompts one after another, cutting what is playing. */
    void (*say)(void *ctx, const struct ui_prompt *p, int n);
    /* Start a tip and its recording. 0, or -1 no microphone, -2 the queue
       cannot take tips (full disk, queue error); err for the log. */
    int (*record_start)(void *ctx, const char *lang, int category, char *err, size_t errlen);
    void (*record_stop)(void *ctx);        /* stop capturing; tip stays open */
    int (*record_level)(void *ctx);        /* 0..100, for the meter */
    double (*record_seconds)(void *ctx);
    void (*play_recording)(void *ctx);     /* listen back */
    /* Seal and commit the tip (creating a text-only one if none is open).
       `unconfirmed`: the person spoke and left (walked away, hung up)
       without touching "done": the officer is told. 0 when durable; -2 the
       queue failed. In practice mode nothing is sealed: 0, nothing kept. */
    int (*tip_send)(void *ctx, const char *lang, int category, const char *text, int when,
                    int unconfirmed, char *err, size_t errlen);
    void (*tip_discard)(void *ctx);        /* nothing of it may remain */
    const char *(*text)(void *ctx, const char *lang, const char *msgid); /* never NULL */
    int (*can_take_tips)(void *ctx);       /* queue writable, post key present */
    /* Volunteer: record a prompt of `lang` (start/stop), play it, keep it. */
    int (*prompt_record_start)(void *ctx, char *err, size_t errlen);
    int (*prompt_record_stop)(void *ctx, const char *lang, const char *id, char *err,
                              size_t errlen);
    const char *(*prompt_words)(void *ctx, const char *lang, const char *id); /* or NULL */
    void (*set_training)(void *ctx, int on);
    void (*set_volume)(void *ctx, int percent); /* the technician's side of the volume */
    /* Technician: status lines; the microphone on/off for a level test (the
       meter reads record_level); every LED in turn. Any may be NULL. */
    void (*tech_info)(void *ctx, struct ui_tech *out);
    void (*mic_test)(void *ctx, int on);
    void (*led_test)(void *ctx);
    /* The villager's flow; either may be NULL. Is a prompt or the recording
       playing, or about to (listening counts as someone there)? Has `lang`
       a voice of its own for prompt `id` (never another language's)? */
    int (*playing)(void *ctx);
    int (*has_prompt)(void *ctx, const char *lang, const char *id);
    void *ctx;
    /* Staff screens (ui_staff.c); any may be NULL. prompt_record_stop
       above only stops and holds the new take: nothing is saved until
       prompt_take_keep, so the old take serves until then. */
    int (*prompt_state)(void *ctx, const char *lang, const char *id); /* ui_prompt_state */
    int (*prompt_play_own)(void *ctx, const char *lang, const char *id); /* no fallback; -1 none */
    void (*prompt_take_play)(void *ctx);
    int (*prompt_take_keep)(void *ctx, const char *lang, const char *id, char *err,
                            size_t errlen);
    void (*prompt_take_drop)(void *ctx);
    /* Export `lang`'s recorded prompts to the stick; import from it (apply 0:
       only say what would change, 1: do it, all or nothing). */
    void (*usb_export)(void *ctx, const char *lang, struct ui_usb *out);
    void (*usb_import)(void *ctx, const char *lang, int apply, struct ui_usb *out);
    void (*tech_facts)(void *ctx, struct ui_tech_facts *out);
};

struct ui_config {
    int width, height;        /* logical screen, after rotation */
    double diagonal_inches;   /* 7 for the kiosk panel */
    int max_record_seconds;   /* default 180 */
    int warn_before_seconds;  /* spoken warning, default 15 */
    int idle_seconds;         /* ask "still there?", default 60 */
    int idle_grace_seconds;   /* then discard, default 15 */
    int blank_seconds;        /* display off on the start screen, default 300 */
    int sent_seconds;         /* "sent" shown, default 10 */
    char pin[16];             /* volunteer PIN; empty disables the volunteer screens */
    char post_name[64];       /* who receives the tips, shown on the start screen ("" none) */
    int training;             /* ignored: practice mode never outlives a restart */
    int volume;               /* percent, from the config; the volunteer screen changes it */
    const struct ui_lang *langs;
    int nlangs;
};

struct ui;

/* Caller frees with ui_free(). The host is borrowed for the ui's life. */
struct ui *ui_new(const struct ui_config *cfg, const struct ui_host *host);
void ui_free(struct ui *ui); /* zeroes typed text; NULL is a no-op */

/* A tap at logical coordinates, at time now_ms (monotonic): a press and its
   release at once. */
void ui_tap(struct ui *ui, int x, int y, uint32_t now_ms);
/* A finger down (1) or up (0). A target acts when pressed; the corner that
   opens the volunteer's PIN only after UI_LONG_PRESS_MS held (ui_tick). */
#define UI_LONG_PRESS_MS 2500
void ui_press(struct ui *ui, int x, int y, int down, uint32_t now_ms);
/* Time passes: timers, the meter, idle. Call at least every 100 ms. */
void ui_tick(struct ui *ui, uint32_t now_ms);
/* The telephone handset was lifted (1) or hung up (0), at now_ms. Lifting
   wakes the kiosk: with one language it goes straight to speaking, and the
   recording starts when the prompt has been said; with more, one touch on
   a language. Hanging up ends the tip as walking away does: kept and sent
   when the person spoke (marked "left without confirming"), else nothing. */
void ui_handset(struct ui *ui, int lifted, uint32_t now_ms);
/* The PIN screen, then the volunteer's (technician 0) or the technician's
   (1) screens: what the long press opens, and the out-of-service screen's. */
void ui_staff_open(struct ui *ui, int technician, uint32_t now_ms);
/* Faults the kiosk found (no microphone etc.) change what is offered. */
void ui_set_microphone(struct ui *ui, int present);

/*
 * The card is not provisioned, or only half: what is missing. The kiosk
 * then stays on the out-of-service screen, which says so in Vietnamese
 * with what to do and the red LED's code, and its corner opens the
 * technician's checks (without a PIN when kiosk.conf gave none).
 */
enum ui_setup {
    UI_SETUP_OK = 0,
    UI_SETUP_NO_CONF,  /* no homthu/kiosk.conf on the card */
    UI_SETUP_BAD_CONF, /* kiosk.conf is there but cannot be used */
    UI_SETUP_NO_KEY,   /* the device key kiosk.conf names is not there */
    UI_SETUP_BAD_KEY,  /* the device key is there but cannot be used */
};
/* The red LED's code then (leds.h: the lowest fault, "no post key"). */
#define UI_SETUP_LED_CODE 1
/* `detail`: the reason as logged (a file and line), shown small; may be NULL. */
void ui_set_setup(struct ui *ui, int problem, const char *detail);
int ui_setup(const struct ui *ui);

/* Has anything visible changed since the last ui_draw()? */
int ui_dirty(const struct ui *ui);
/* Build the frame. Clears the dirty flag. */
void ui_draw(struct ui *ui, struct ui_draw_list *out);
/* Is the display to be dark (blanked)? */
int ui_blanked(const struct ui *ui);

int ui_screen(const struct ui *ui);
/* The current touch targets (borrowed until the next call into ui). */
const struct ui_target *ui_targets(const struct ui *ui, int *n);
/* Centre of the target labelled `label`, for scripted tests; 0 if found. */
int ui_find(const struct ui *ui, const char *label, int *x, int *y);
/* Pixels per millimetre of this panel, from the config. */
double ui_px_per_mm(const struct ui *ui);

#endif
