/*
 * i18n — the kiosk's words in every language: gettext .po catalogs, read
 * once at start from assets/lang/CODE/messages.po.
 *
 * A language is added by dropping a directory with a messages.po into
 * assets/lang/ (docs/languages.md): no code changes, no compiled .mo. The
 * reader is a small strict parser of what Poedit, msgmerge and friends
 * write: msgctxt / msgid / msgid_plural / msgstr / msgstr[N], C escapes
 * (\n \t \r \" \\ \a \b \f \v), strings continued over lines, comments,
 * obsolete (#~) entries. Entries marked "#, fuzzy" and empty msgstrs are
 * skipped, so the fallback shows. Plural entries parse; msgstr[0] is
 * taken for the msgid (Vietnamese and Hmong have one form).
 *
 * The header entry (msgid "") must hold:
 *   Language: CODE            the directory's name ("vi", "hmn")
 *   X-Homthu-Name: NAME       the language's own name ("Tiếng Việt")
 * and may hold:
 *   X-Homthu-Keyboard: telex | rpa | plain   (default plain, telex.h)
 *   X-Homthu-Order: 0–999     place on the language screen (default 1000,
 *                             then by code)
 *   Content-Type: ...; charset=UTF-8         (any other charset is refused)
 * An unknown X-Homthu- field is refused (it is a typo).
 *
 * A msgid holding a % directive goes through printf in the UI ("%d s
 * left"): its msgstr must have the same directives in the same order,
 * or the catalog is refused: a wrong one would crash the kiosk.
 *
 * Everything is checked: UTF-8, control bytes, unknown escapes and
 * keywords, strings left open, a msgstr without a msgid, a msgid twice.
 * Caps: 1 MiB a file, 4096 messages a catalog, 32 languages. A broken
 * catalog is reported as "FILE:LINE: what is wrong, what to do" and left
 * out; the others load.
 *
 * Lookups never fail: the language's translation, else Vietnamese's
 * (I18N_FALLBACK: every villager's second language), else the msgid.
 *
 * Not here: the recorded prompts (spoken words) of each language.
 *
 * Errors: 0 or a negative enum i18n_error; `err` gets sentences for the
 * technician or volunteer, one line per broken catalog.
 */
#ifndef HOMTHU_I18N_H
#define HOMTHU_I18N_H

#include <stddef.h>

#include "kiosk/telex.h"

#define I18N_MAX_FILE (1024 * 1024)
#define I18N_MAX_ENTRIES 4096
#define I18N_MAX_LANGS 32
#define I18N_MAX_CODE 8  /* bytes of a language code: fits envelope's language[9] */
#define I18N_MAX_NAME 47 /* bytes of X-Homthu-Name: fits ui_lang's name[48] */
#define I18N_ORDER_DEFAULT 1000
#define I18N_FALLBACK "vi"

enum i18n_error {
    I18N_OK = 0,
    I18N_E_ARG = -1, /* programmer error */
    I18N_E_NOMEM = -2,
    I18N_E_IO = -3,     /* cannot read a directory or file */
    I18N_E_SYNTAX = -4, /* a catalog is not well formed */
    I18N_E_TOOBIG = -5, /* file, messages or languages over the caps */
    I18N_E_HEADER = -6, /* header fields missing or wrong */
    I18N_E_DUP = -7,    /* the same language twice */
};

/* A loaded language; strings borrowed until i18n_free(). */
struct i18n_lang_info {
    const char *code; /* "vi", "hmn" */
    const char *name; /* in its own language: "Tiếng Việt" */
    enum telex_mode keyboard;
    int order;
    size_t messages; /* translated messages */
};

struct i18n;

/* An empty set (every lookup gives the msgid). Caller frees with i18n_free(). */
int i18n_new(struct i18n **out) __attribute__((warn_unused_result));

/*
 * Load every assets_dir/lang/CODE/messages.po. Unless the result is
 * I18N_E_ARG or I18N_E_NOMEM, *out is a usable set (caller frees) holding
 * every catalog that loaded, even when the result is an error: it is that
 * of the first problem, and `err` lists every problem, one per line.
 */
int i18n_load_dir(struct i18n **out, const char *assets_dir, char *err, size_t errlen)
    __attribute__((warn_unused_result));

/*
 * Add one catalog from `len` bytes of .po text; `name` names it in
 * messages (a path). With `code` non-NULL the header's Language must be
 * it (load_dir passes the directory name). On error the set is unchanged.
 */
int i18n_add_po(struct i18n *s, const char *name, const char *code, const char *text, size_t len,
                char *err, size_t errlen) __attribute__((warn_unused_result));

void i18n_free(struct i18n *s); /* NULL is a no-op */

/* Languages in screen order (X-Homthu-Order, then code). */
size_t i18n_count(const struct i18n *s);
/* 0, or I18N_E_ARG when i is out of range. */
int i18n_lang(const struct i18n *s, size_t i, struct i18n_lang_info *info);
/* Index of `code`, or -1. */
int i18n_find(const struct i18n *s, const char *code);

/*
 * The text to show for `msgid` in language `code`: its translation, else
 * the Vietnamese one, else `msgid` itself. Never NULL (NULL msgid gives
 * ""); s and code may be NULL. Borrowed until i18n_free() (or msgid's own
 * lifetime when that is what comes back).
 */
const char *i18n_get(const struct i18n *s, const char *code, const char *msgid);
/* The same for a msgid with a msgctxt (NULL ctxt = none). */
const char *i18n_pget(const struct i18n *s, const char *code, const char *ctxt, const char *msgid);

/* 1 when `code` itself translates msgid (no fallback), else 0: for checks. */
int i18n_has(const struct i18n *s, const char *code, const char *msgid);

#endif
