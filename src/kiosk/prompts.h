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
    PROMPTS_E_STICK = -8,    /* a file to import is damaged or unknown: nothing taken */
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

/*
 * The prompt `id` of exactly `lang`, no fallback: what a volunteer hears as
 * "the current take". PROMPTS_E_MISSING when that language has no file.
 */
int prompts_get_own(struct prompts *p, const char *lang, const char *id, const int16_t **pcm,
                    size_t *samples, char *err, size_t errlen) __attribute__((warn_unused_result));

/*
 * Carrying a language's recorded prompts to other kiosks on a USB stick
 * (docs/prompts.md, "Sharing recordings"). On the stick:
 *
 *     <stick>/homthu-prompts/<lang>/manifest.tsv   "# homthu-prompts 1", then
 *                                                  id<TAB>bytes<TAB>sha256<TAB>words
 *     <stick>/homthu-prompts/<lang>/<id>.opus
 *
 * Only files the manifest lists are read; nothing on the stick is ever run.
 */
#define PROMPTS_STICK_DIR "homthu-prompts"
#define PROMPTS_MAX_TRANSFER 64
#define PROMPTS_MAX_FILE (1024 * 1024) /* a 60 s prompt at 24 kbps is ~180 KB */

enum prompts_change { PROMPTS_SAME = 0, PROMPTS_NEW, PROMPTS_REPLACED };
enum prompts_bad { PROMPTS_BAD_NONE = 0, PROMPTS_BAD_DAMAGED, PROMPTS_BAD_UNKNOWN };

struct prompts_transfer {
    size_t n; /* exported, or listed on the stick */
    struct {
        char id[64];
        int change; /* enum prompts_change (import) */
    } item[PROMPTS_MAX_TRANSFER];
    size_t n_new, n_replaced, n_same;
    int bad;           /* enum prompts_bad, with PROMPTS_E_STICK */
    char bad_file[64]; /* the file at fault, as named on the stick */
};

/*
 * Write every `recorded` prompt of `lang` to the stick (each file, then the
 * manifest last, replaced atomically). PROMPTS_E_MISSING when `lang` has
 * none recorded (nothing written).
 */
int prompts_export(struct prompts *p, const char *lang, const char *stick, struct prompts_transfer *out,
                   char *err, size_t errlen) __attribute__((warn_unused_result));

/*
 * Read `lang`'s prompts from the stick and check every one (listed size and
 * SHA-256, Ogg Opus, decodes, at most PROMPTS_MAX_SECONDS, an id this
 * kiosk's manifest has for `lang`). `out` says what is new, what replaces
 * a file and what is the same. With `apply`, takes the new and replaced
 * ones: all files written aside first, then renamed, then the manifest
 * (status `recorded`, the stick's words). Any bad file: PROMPTS_E_STICK,
 * out->bad and bad_file say which, and nothing is changed. No folder for
 * `lang` on the stick: PROMPTS_E_MISSING.
 */
int prompts_import(struct prompts *p, const char *lang, const char *stick, int apply,
                   struct prompts_transfer *out, char *err, size_t errlen)
    __attribute__((warn_unused_result));

#endif
