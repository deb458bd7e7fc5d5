/*
 * telex — the on-screen keyboard's input method: ASCII keys in, NFC UTF-8
 * text out, in a buffer whose hard cap is set when it is made.
 *
 * Three modes, one per keyboard a catalog asks for (i18n.h):
 *   TELEX_VI    Vietnamese Telex: "aa" → â, "aw" → ă, "ee" → ê, "oo" → ô,
 *               "ow" → ơ, "uw" → ư, "uow" → ươ, "dd" → đ; tone keys s f r x j
 *               (sắc huyền hỏi ngã nặng) anywhere after the vowel, z removes
 *               the tone; a mark or tone key pressed again undoes it and types
 *               the letter ("ass" → "as", "aaa" → "aa"), and that letter then
 *               stays plain until the word ends.
 *   TELEX_RPA   Hmong RPA: tones are written as final letters (b j v s g m d),
 *               so every key goes in as typed.
 *   TELEX_PLAIN every key as typed.
 *
 * Telex works on the word being typed: the run of letters at the end of the
 * text. The word is read back from the text at each key, split into
 * initial consonants + vowels + final consonants, changed, and written out
 * again with its tone mark on the right vowel. That is why marks and tones
 * may be typed in any order ("vieetj", "vietje" and "vietej" all give
 * "việt") and why the mark moves when letters follow ("hoaf" "n" → "hoàn").
 * The keys of that word are kept (wiped with the text) and the word is
 * recomposed from them at each key: a word whose keys made marks but which
 * cannot be Vietnamese (initial, vowel group and final checked against the
 * rhymes of the language) is given back key for key ("taxi", "samsung",
 * "google"), and so is one typed the way foreign words are ("test": s
 * before c p t; "taxi": a tone key before another vowel; "wow"), unless a
 * hat, breve or horn shows it was typed as Vietnamese. w with no vowel
 * before it is ư ("w" → "ư", "nhw" → "như"); ươ with nothing after is
 * written uơ ("thuowr" → "thuở"). Letters glued to a digit, @ or _ are a
 * plate or a code ("29A"), never composed.
 *
 * Tone placement follows the rule of the Ministry of Education (Quyết định
 * 1989/QĐ-BGDĐT, 2018) that textbooks use: the mark sits on the main vowel,
 * so "hoà", "khoẻ", "thuý" (not the older "hòa", "khỏe", "thúy"). A vowel
 * with a hat or horn always takes it ("tiến", "người", "thuyền").
 *
 * The text may be a tip: telex_clear() and telex_free() wipe it, and every
 * edit wipes the bytes it drops. Not here: drawing the keyboard, SDL, where
 * the text goes.
 *
 * Errors: 0 or a negative enum telex_error. Nothing is changed by a call
 * that fails.
 */
#ifndef HOMTHU_TELEX_H
#define HOMTHU_TELEX_H

#include <stddef.h>

#define TELEX_DEFAULT_CAP 4096 /* bytes of UTF-8: about a page of text */

enum telex_mode {
    TELEX_PLAIN = 0,
    TELEX_VI = 1,
    TELEX_RPA = 2,
};

enum telex_error {
    TELEX_OK = 0,
    TELEX_E_ARG = -1, /* a key the keyboard cannot send, or a bad mode */
    TELEX_E_NOMEM = -2,
    TELEX_E_FULL = -3,  /* the text is at its cap: the key was not taken */
    TELEX_E_EMPTY = -4, /* backspace on an empty text */
};

struct telex;

/*
 * A new empty text of at most `cap` bytes of UTF-8 (not counting the NUL),
 * 1 ≤ cap ≤ 1 MiB. Caller frees with telex_free().
 */
int telex_new(struct telex **out, enum telex_mode mode, size_t cap)
    __attribute__((warn_unused_result));

/* Wipes the text, then frees. NULL is a no-op. */
void telex_free(struct telex *t);

/* Switch keyboards (the person chose another language); the text stays. */
int telex_set_mode(struct telex *t, enum telex_mode mode) __attribute__((warn_unused_result));
enum telex_mode telex_mode(const struct telex *t);

/* "telex", "rpa", "plain": the words the catalogs' X-Homthu-Keyboard uses. */
const char *telex_mode_name(int mode);
/* The mode named `name`, or -1 if it names none. */
int telex_mode_parse(const char *name);

/*
 * One key: printable ASCII (0x20–0x7e) or '\n'. TELEX_E_FULL when the
 * result would pass the cap (the UI should say so; the text is unchanged);
 * TELEX_E_ARG for any other byte.
 */
int telex_key(struct telex *t, char key) __attribute__((warn_unused_result));

/* Remove the last character (one code point: "việt" → "việ"). */
int telex_backspace(struct telex *t);

/* Empty the text and wipe every byte it used. */
void telex_clear(struct telex *t);

/*
 * The text, NUL-terminated NFC UTF-8. The pointer is borrowed and stays
 * the same until telex_free(); its contents change with each edit.
 */
const char *telex_text(const struct telex *t);
size_t telex_len(const struct telex *t); /* bytes, without the NUL */
size_t telex_cap(const struct telex *t);

#endif
