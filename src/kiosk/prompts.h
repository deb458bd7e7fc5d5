/*
 * prompts — the voice that guides the person through the kiosk.
 *
 * Every step is spoken in the chosen language. The recordings live in
 * <assets>/prompts/<lang>/<id>.opus (Ogg Opus, mono), described by one
 * manifest, <assets>/prompts/manifest.tsv (docs/prompts.md):
 *
 *     # comment
 *     lang<TAB>id<TAB>status<TAB>words
 *
 * status: `espeak` (machine speech, made by tools/make-prompts.sh until a
 * person records it), `placeholder` (missing or a stand-in; must be
 * replaced), `recorded` (a person recorded it; never regenerated).
 *
 * prompts_get() decodes a prompt once (libopusfile, 48 kHz) and keeps the
 * PCM. A language that lacks a prompt (no line, no file, a bad file)
 * speaks the Vietnamese one instead; when Vietnamese lacks it too the call
 * fails and the kiosk stays silent for that step. prompts_save() is how
 * volunteers record the prompts of their language at the kiosk.
 *
 * Prompt audio is not tip content: it is read from and written to disk.
 *
 * Not here: playing (audio.h), which prompt to say when (ui.c).
 *
 * Errors: 0 or a negative enum prompts_error; `err` gets a sentence that
 * names the file (and line) and what to do.
 */
#ifndef HOMTHU_PROMPTS_H
#define HOMTHU_PROMPTS_H

#include <stddef.h>
#include <stdint.h>

#define PROMPTS_FALLBACK_LANG "vi"
#define PROMPTS_RATE 48000      /* what prompts_get() gives */
#define PROMPTS_SAVE_RATE 16000 /* what prompts_save() takes: the capture rate */
#define PROMPTS_MAX_SECONDS 60  /* a prompt longer than this is refused */
#define PROMPTS_MAX_MANIFEST (1024 * 1024)
#define PROMPTS_MAX_LINE 4096

enum prompts_error {
    PROMPTS_OK = 0,
    PROMPTS_E_ARG = -1, /* programmer error, or a bad lang/id name */
    PROMPTS_E_NOMEM = -2,
    PROMPTS_E_IO = -3,       /* cannot read or write a file */
    PROMPTS_E_MANIFEST = -4, /* the manifest is not well formed */
    PROMPTS_E_MISSING = -5,  /* no such prompt, or its file is missing */
    PROMPTS_E_DECODE = -6,   /* the file is not valid Ogg Opus, or too long */
    PROMPTS_E_ENCODE = -7,   /* the encoder refused the recording */
};

enum prompt_status {
    PROMPT_ABSENT = 0, /* no manifest line for this lang and id */
    PROMPT_ESPEAK,
    PROMPT_PLACEHOLDER,
    PROMPT_RECORDED,
};

struct prompts;

/*
 * Read <assets_dir>/prompts/manifest.tsv. Audio is decoded later, on first
 * use. Caller frees with prompts_free().
 */
int prompts_load(struct prompts **out, const char *assets_dir, char *err, size_t errlen)
    __attribute__((warn_unused_result));
void prompts_free(struct prompts *p); /* NULL is a no-op */

/*
 * The prompt `id` in `lang`, else in PROMPTS_FALLBACK_LANG, as mono s16 at
 * *rate (PROMPTS_RATE). *pcm is borrowed: valid until prompts_free() or a
 * prompts_save() of the same lang and id. A bad file in another language
 * is reported once on stderr and the fallback is spoken.
 */
int prompts_get(struct prompts *p, const char *lang, const char *id, const int16_t **pcm,
                size_t *samples, int *rate, char *err, size_t errlen)
    __attribute__((warn_unused_result));

/* The words of the prompt (for the screen, and for volunteers to read out),
   with the same fallback; NULL when neither language has the prompt.
   Borrowed until prompts_free(). */
const char *prompts_words(const struct prompts *p, const char *lang, const char *id);

/* The status of exactly this lang and id (no fallback). */
enum prompt_status prompts_status(const struct prompts *p, const char *lang, const char *id);
const char *prompts_status_name(enum prompt_status s); /* "espeak", ...; "absent" */

/* The manifest's prompts in file order, for the volunteer screen. Strings
   borrowed until prompts_free(). 0, or PROMPTS_E_ARG past the end. */
size_t prompts_count(const struct prompts *p);
int prompts_at(const struct prompts *p, size_t i, const char **lang, const char **id,
               enum prompt_status *status, const char **words);

/*
 * A volunteer's recording of `id` in `lang` (which must have a manifest
 * line): `n` samples of 16 kHz mono, at most PROMPTS_MAX_SECONDS. Encodes
 * it (Opus voice, 24 kbps, 60 ms frames) to <assets>/prompts/<lang>/<id>.opus
 * and marks the line `recorded`, each file replaced atomically and synced
 * (audio first: a crash between leaves the new audio, tagged
 * HOMTHU_PROMPT=recorded, which tools/make-prompts.sh will not overwrite).
 * Other manifest lines are kept byte for byte.
 */
int prompts_save(struct prompts *p, const char *lang, const char *id, const int16_t *pcm16k,
                 size_t n, char *err, size_t errlen) __attribute__((warn_unused_result));

#endif
