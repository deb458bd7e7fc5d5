/*
 * ui_staff — the state of the screens behind the PIN, kept in struct ui
 * (ui_priv.h) so it outlives each screen: a PIN lockout holds when the
 * person walks away and comes back.
 *
 * Private to the ui's files, like ui_priv.h.
 */
#ifndef HOMTHU_UI_STAFF_H
#define HOMTHU_UI_STAFF_H

#include <stdint.h>

#include "kiosk/ui.h"

/* Wrong PINs allowed before each lockout, and the lockouts, growing. */
#define STAFF_PIN_TRIES 3
#define STAFF_LOCK_1_S 30
#define STAFF_LOCK_2_S 120
#define STAFF_LOCK_3_S 600 /* and every later one */

/* Actions of the staff screens (act() in ui.c passes unknown ones here).
   Far from enum action so the two lists never collide. */
enum staff_action {
    A_S_FIRST = 1000,
    A_S_PIN_TECH,   /* open the PIN, then the technician's screen (out of service) */
    A_S_HOME,       /* the volunteer's first page */
    A_S_LANG,       /* arg: language index to work on */
    A_S_SESSION,    /* the guided recording */
    A_S_PREV,
    A_S_NEXT,
    A_S_HEAR_OWN,   /* the current take */
    A_S_RECORD,     /* start, or stop, the new take */
    A_S_TAKE_PLAY,
    A_S_TAKE_KEEP,
    A_S_TAKE_REDO,
    A_S_TAKE_DROP,
    A_S_USB,        /* the USB page */
    A_S_EXPORT,
    A_S_IMPORT_CHECK,
    A_S_IMPORT_DO,
    A_S_TECH_PAGE,  /* arg: technician page */
    A_S_NOP,        /* the touch-test area */
};

enum staff_page {
    STAFF_HOME = 0,
    STAFF_SESSION,
    STAFF_USB,
    STAFF_IMPORT, /* what an import will change, to confirm */
};

enum staff_tech_page {
    TECH_STATUS = 0,
    TECH_LEDS,
    TECH_TESTS,
};

struct ui_staff {
    /* PIN */
    int fails;             /* wrong PINs since the last lockout or success */
    int lockouts;          /* lockouts so far: each is longer */
    uint32_t locked_until; /* ui->now ms; valid while `locked` */
    int locked;
    int shown_left;        /* seconds shown on the PIN screen */
    int after_pin;         /* UI_VOLUNTEER or UI_TECH */
    /* Volunteer */
    int page;              /* enum staff_page */
    int lang;              /* index into ui->langs */
    int prompt;            /* index into ui_prompt_ids */
    int take;              /* a new take waits for keep or redo */
    int level_shown;
    struct ui_usb usb;     /* the last export or import check */
    /* Technician */
    int tech_page;         /* enum staff_tech_page */
};

#endif
