/* telex — see telex.h. */
#include "kiosk/telex.h"

#include <sodium.h>

#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define TELEX_MAX_CAP (1024 * 1024)
/* Longer letter runs read back from the text are not Vietnamese syllables
   (the longest, "nghiêng", has 7 letters): they take keys as typed. */
#define WORD_MAX 16
/* Keys of one word kept for recomposing it ("nghieengf" is 9); a word
   typed with more is a plain letter run from there on. */
#define RAW_MAX 40

struct telex {
    enum telex_mode mode;
    size_t cap; /* bytes of text, without the NUL */
    size_t len;
    /* The keys pressed for the word at the end of the text, [raw_start,
       raw_end) in buf: the word is recomposed from them at each key, so a
       word that turns out not to be Vietnamese can be given back exactly as
       typed. Part of the tip: wiped with the text. raw_own: keys before it
       were rebuilt from the text (after Delete), not pressed in this run. */
    size_t raw_start, raw_end;
    int nraw, raw_own;
    char raw[RAW_MAX];
    char buf[]; /* cap + 1 */
};

enum mark { MK_NONE, MK_HAT, MK_BREVE, MK_HORN, MK_BAR };
enum tone { T_NONE, T_SAC, T_HUYEN, T_HOI, T_NGA, T_NANG, T_COUNT };

/* The twelve vowels, each as base letter + mark, in the rows of `vowel_cp`. */
static const struct {
    char base;
    uint8_t mark;
} vowel_rows[12] = {
    {'a', MK_NONE}, {'a', MK_BREVE}, {'a', MK_HAT},  {'e', MK_NONE}, {'e', MK_HAT},  {'i', MK_NONE},
    {'o', MK_NONE}, {'o', MK_HAT},   {'o', MK_HORN}, {'u', MK_NONE}, {'u', MK_HORN}, {'y', MK_NONE},
};

/* Precomposed (NFC) code points: [upper][row][tone]. Generated with Python's
   unicodedata.normalize("NFC", base + combining tone) and checked by the
   tests against literal UTF-8. */
static const uint16_t vowel_cp[2][12][T_COUNT] = {
    {
        {0x0061, 0x00e1, 0x00e0, 0x1ea3, 0x00e3, 0x1ea1}, /* a ă â … */
        {0x0103, 0x1eaf, 0x1eb1, 0x1eb3, 0x1eb5, 0x1eb7},
        {0x00e2, 0x1ea5, 0x1ea7, 0x1ea9, 0x1eab, 0x1ead},
        {0x0065, 0x00e9, 0x00e8, 0x1ebb, 0x1ebd, 0x1eb9},
        {0x00ea, 0x1ebf, 0x1ec1, 0x1ec3, 0x1ec5, 0x1ec7},
        {0x0069, 0x00ed, 0x00ec, 0x1ec9, 0x0129, 0x1ecb},
        {0x006f, 0x00f3, 0x00f2, 0x1ecf, 0x00f5, 0x1ecd},
        {0x00f4, 0x1ed1, 0x1ed3, 0x1ed5, 0x1ed7, 0x1ed9},
        {0x01a1, 0x1edb, 0x1edd, 0x1edf, 0x1ee1, 0x1ee3},
        {0x0075, 0x00fa, 0x00f9, 0x1ee7, 0x0169, 0x1ee5},
        {0x01b0, 0x1ee9, 0x1eeb, 0x1eed, 0x1eef, 0x1ef1},
        {0x0079, 0x00fd, 0x1ef3, 0x1ef7, 0x1ef9, 0x1ef5},
    },
    {
        {0x0041, 0x00c1, 0x00c0, 0x1ea2, 0x00c3, 0x1ea0},
        {0x0102, 0x1eae, 0x1eb0, 0x1eb2, 0x1eb4, 0x1eb6},
        {0x00c2, 0x1ea4, 0x1ea6, 0x1ea8, 0x1eaa, 0x1eac},
        {0x0045, 0x00c9, 0x00c8, 0x1eba, 0x1ebc, 0x1eb8},
        {0x00ca, 0x1ebe, 0x1ec0, 0x1ec2, 0x1ec4, 0x1ec6},
        {0x0049, 0x00cd, 0x00cc, 0x1ec8, 0x0128, 0x1eca},
        {0x004f, 0x00d3, 0x00d2, 0x1ece, 0x00d5, 0x1ecc},
        {0x00d4, 0x1ed0, 0x1ed2, 0x1ed4, 0x1ed6, 0x1ed8},
        {0x01a0, 0x1eda, 0x1edc, 0x1ede, 0x1ee0, 0x1ee2},
        {0x0055, 0x00da, 0x00d9, 0x1ee6, 0x0168, 0x1ee4},
        {0x01af, 0x1ee8, 0x1eea, 0x1eec, 0x1eee, 0x1ef0},
        {0x0059, 0x00dd, 0x1ef2, 0x1ef6, 0x1ef8, 0x1ef4},
    },
};

#define CP_D_BAR_LOWER 0x0111 /* đ */
#define CP_D_BAR_UPPER 0x0110 /* Đ */

/* One letter of the word being typed, without its tone (the word has one). */
struct letter {
    char base; /* 'a'..'z' */
    uint8_t mark;
    uint8_t upper;
    uint8_t from_w; /* an ư typed as w alone: w again gives the w back */
};

struct word {
    struct letter l[RAW_MAX + 1]; /* + 1: room for the key being added */
    int n;
    int tone;
    int tones;    /* letters that carried a tone: more than one is not a syllable */
    int tone_at;  /* where the tone was drawn when letters made the word foreign, or -1 */
    size_t start; /* byte offset of the word in the text */
};

/* The word split as initial consonants [0, v0), vowels [v0, v1), final [v1, n). */
struct syllable {
    int ok; /* a possible Vietnamese syllable, maybe half typed */
    int v0, v1;
};

/* ---- code points ---- */

static size_t utf8_put(char *out, uint32_t cp)
{
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xc0 | (cp >> 6));
        out[1] = (char)(0x80 | (cp & 0x3f));
        return 2;
    }
    out[0] = (char)(0xe0 | (cp >> 12));
    out[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
    out[2] = (char)(0x80 | (cp & 0x3f));
    return 3; /* every code point telex writes is in the BMP */
}

/* The code point ending at `end` (text written by this module is valid UTF-8). */
static uint32_t utf8_last(const char *s, size_t end, size_t *start)
{
    size_t i = end - 1;
    while (i > 0 && ((unsigned char)s[i] & 0xc0) == 0x80)
        i--;
    *start = i;
    const unsigned char *p = (const unsigned char *)s + i;
    size_t n = end - i;
    if (n == 1)
        return p[0];
    if (n == 2)
        return ((uint32_t)(p[0] & 0x1f) << 6) | (p[1] & 0x3f);
    if (n == 3)
        return ((uint32_t)(p[0] & 0x0f) << 12) | ((uint32_t)(p[1] & 0x3f) << 6) | (p[2] & 0x3f);
    return ((uint32_t)(p[0] & 0x07) << 18) | ((uint32_t)(p[1] & 0x3f) << 12) |
           ((uint32_t)(p[2] & 0x3f) << 6) | (p[3] & 0x3f);
}

/* Is `cp` a letter Telex can work on? Fills the letter and its tone. */
static int letter_from_cp(uint32_t cp, struct letter *l, int *tone)
{
    *tone = T_NONE;
    l->mark = MK_NONE;
    l->from_w = 0;
    if (cp >= 'a' && cp <= 'z') {
        l->base = (char)cp;
        l->upper = 0;
        return 1;
    }
    if (cp >= 'A' && cp <= 'Z') {
        l->base = (char)(cp - 'A' + 'a');
        l->upper = 1;
        return 1;
    }
    if (cp == CP_D_BAR_LOWER || cp == CP_D_BAR_UPPER) {
        l->base = 'd';
        l->mark = MK_BAR;
        l->upper = cp == CP_D_BAR_UPPER;
        return 1;
    }
    if (cp < 0xc0)
        return 0;
    /* 144 entries: a linear scan per letter of a word is nothing next to a key press. */
    for (int u = 0; u < 2; u++)
        for (int r = 0; r < 12; r++)
            for (int t = 0; t < T_COUNT; t++)
                if (vowel_cp[u][r][t] == cp) {
                    l->base = vowel_rows[r].base;
                    l->mark = vowel_rows[r].mark;
                    l->upper = (uint8_t)u;
                    *tone = t;
                    return 1;
                }
    return 0;
}

static uint32_t letter_to_cp(const struct letter *l, int tone)
{
    if (l->mark == MK_BAR)
        return l->upper ? CP_D_BAR_UPPER : CP_D_BAR_LOWER;
    for (int r = 0; r < 12; r++)
        if (vowel_rows[r].base == l->base && vowel_rows[r].mark == l->mark)
            return vowel_cp[l->upper][r][tone];
    return (uint32_t)(l->upper ? l->base - 'a' + 'A' : l->base);
}

static int is_vowel(char c)
{
    return c == 'a' || c == 'e' || c == 'i' || c == 'o' || c == 'u' || c == 'y';
}

/* ---- the word at the end of the text ---- */

/* 0 when the text does not end in a word Telex can work on (too long, or a
   letter run it did not write). An empty word is a word. */
static int word_read(const struct telex *t, struct word *w)
{
    memset(w, 0, sizeof *w);
    w->tone_at = -1;
    size_t end = t->len;
    struct letter rev[WORD_MAX];
    int n = 0;
    while (end > 0) {
        size_t start;
        uint32_t cp = utf8_last(t->buf, end, &start);
        struct letter l;
        int tone;
        if (!letter_from_cp(cp, &l, &tone))
            break;
        if (n == WORD_MAX) {
            explicit_bzero(rev, sizeof rev);
            return 0;
        }
        rev[n++] = l;
        if (tone != T_NONE) {
            w->tone = tone;
            w->tones++;
        }
        end = start;
    }
    for (int i = 0; i < n; i++)
        w->l[i] = rev[n - 1 - i];
    explicit_bzero(rev, sizeof rev);
    w->n = n;
    w->start = end;
    return 1;
}

static int letters_are(const struct word *w, int from, int to, const char *s)
{
    if ((int)strlen(s) != to - from)
        return 0;
    for (int i = from; i < to; i++) {
        const struct letter *l = &w->l[i];
        if (l->base != s[i - from])
            return 0;
        /* Only d takes a mark among consonants, and only as đ. */
        if (l->mark != MK_NONE && !(l->base == 'd' && l->mark == MK_BAR))
            return 0;
    }
    return 1;
}

static int in_list(const struct word *w, int from, int to, const char *const *list)
{
    for (; *list; list++)
        if (letters_are(w, from, to, *list))
            return 1;
    return 0;
}

/* Vietnamese initials; "gi" and "qu" are found apart in syllable_parse(). */
static const char *const initials[] = {"",   "b", "c", "ch", "d",  "g",   "gh", "gi", "h",  "k",
                                       "kh", "l", "m", "n",  "ng", "ngh", "nh", "p",  "ph", "qu",
                                       "r",  "s", "t", "th", "tr", "v",   "x",  NULL};

/*
 * The rhymes of the language: each vowel group (a letter, then ^ for a hat,
 * ( for a breve, + for a horn) with the final consonants it takes. A group
 * with no finals is open only ("ai", "ưa"); every group listed with finals
 * but "ă", "â", "iê", "uô", "ươ" may also stand open. Tables of Vietnamese
 * rhymes (vần) in school spelling books; "ê" takes ng and c for "giêng",
 * "giếc" (gi + iê written with one i).
 */
static const struct {
    const char *group, *finals;
} rhymes[] = {
    {"a", "c ch m n ng nh p t"},
    {"a(", "c m n ng p t"},
    {"a^", "c m n ng p t"},
    {"e", "c m n ng p t"},
    {"e^", "c ch m n ng nh p t"},
    {"i", "ch m n nh p t"},
    {"o", "c m n ng p t"},
    {"o^", "c m n ng p t"},
    {"o+", "m n p t"},
    {"u", "c m n ng p t"},
    {"u+", "c m n ng t"},
    {"y", ""},
    {"ai", ""},
    {"ao", ""},
    {"au", ""},
    {"ay", ""},
    {"a^u", ""},
    {"a^y", ""},
    {"eo", ""},
    {"e^u", ""},
    {"ia", ""},
    {"iu", ""},
    {"oi", ""},
    {"o^i", ""},
    {"o+i", ""},
    {"ui", ""},
    {"u+i", ""},
    {"u+u", ""},
    {"ua", ""},
    {"u+a", ""},
    {"ie^", "c m n ng p t"},
    {"ye^", "m n ng t"},
    {"uo^", "c m n ng t"},
    {"u+o+", "c m n ng p t"},
    {"uo+", ""}, /* "thuở", "huơ": ươ with nothing after is written uơ */
    {"oa", "c ch m n ng nh p t"},
    {"oa(", "c m n ng t"},
    {"oe", "m n t"},
    {"oo", "c ng"},
    {"ua^", "n ng t"},
    {"ue^", "ch n nh"},
    {"uy", "ch n nh p t"},
    {"ie^u", ""},
    {"ye^u", ""},
    {"oai", ""},
    {"oay", ""},
    {"oeo", ""},
    {"ua^y", ""},
    {"uo^i", ""},
    {"u+o+i", ""},
    {"u+o+u", ""},
    {"uya", ""},
    {"uye^", "n t"},
    {"uyu", ""},
};

/* Does the typed group [v0, v1) fit `group` (its first `len` letters, or
   all of it when whole)? A letter without a mark fits one with a mark: the
   mark key may still come ("vie" on the way to "viê"). */
static int group_fits(const struct word *w, int v0, int v1, const char *group, int whole)
{
    int i = v0;
    for (const char *g = group; *g; i++) {
        if (i == v1)
            return !whole;
        char base = *g++;
        uint8_t mark = MK_NONE;
        if (*g == '^' || *g == '(' || *g == '+')
            mark = *g == '^' ? MK_HAT : *g == '(' ? MK_BREVE : MK_HORN, g++;
        if (w->l[i].base != base || (w->l[i].mark != MK_NONE && w->l[i].mark != mark))
            return 0;
    }
    return i == v1;
}

/* Is the final [v1, n) one of `finals`, or the start of one ("n" of "ng")? */
static int final_fits(const struct word *w, int v1, const char *finals)
{
    for (const char *f = finals; *f;) {
        int len = 0;
        while (f[len] && f[len] != ' ')
            len++;
        int i = v1;
        while (i < w->n && i - v1 < len && w->l[i].base == f[i - v1] && w->l[i].mark == MK_NONE)
            i++;
        if (i == w->n)
            return 1;
        f += len;
        while (*f == ' ')
            f++;
    }
    return 0;
}

static int is_stop_final(const struct word *w, int v1)
{
    return letters_are(w, v1, w->n, "c") || letters_are(w, v1, w->n, "ch") ||
           letters_are(w, v1, w->n, "p") || letters_are(w, v1, w->n, "t");
}

static struct syllable syllable_parse(const struct word *w)
{
    struct syllable s = {0, 0, 0};
    int i = 0;
    while (i < w->n && !is_vowel(w->l[i].base))
        i++;
    /* "qu" and "gi" take their vowel letter when another vowel follows:
       "quà" is qu + à, "già" is gi + à, but "gì" is g + ì. */
    if (i + 1 < w->n && is_vowel(w->l[i + 1].base) && w->l[i].mark == MK_NONE &&
        ((letters_are(w, 0, i, "q") && w->l[i].base == 'u') ||
         (letters_are(w, 0, i, "g") && w->l[i].base == 'i')))
        i++;
    s.v0 = i;
    while (i < w->n && is_vowel(w->l[i].base))
        i++;
    s.v1 = i;
    if (s.v1 == s.v0) {
        /* Consonants alone: the start of an initial ("q" of "qu"), no tone. */
        s.ok = s.v0 == w->n && w->tone == T_NONE &&
               (in_list(w, 0, s.v0, initials) || letters_are(w, 0, s.v0, "q"));
        return s;
    }
    /* "qu" alone is q + u on the way to "qua", "quê", "quy". */
    int q_u = letters_are(w, 0, s.v0, "q") && s.v1 == s.v0 + 1 && s.v1 == w->n &&
              w->l[s.v0].base == 'u' && w->l[s.v0].mark == MK_NONE;
    if (!in_list(w, 0, s.v0, initials) && !q_u)
        return s;
    if (w->tones > 1)
        return s;
    /* After c, ch, p, t only sắc and nặng exist. */
    if (is_stop_final(w, s.v1) && w->tone != T_NONE && w->tone != T_SAC && w->tone != T_NANG)
        return s;
    int open = s.v1 == w->n;
    for (size_t r = 0; r < sizeof rhymes / sizeof rhymes[0]; r++) {
        if (open ? group_fits(w, s.v0, s.v1, rhymes[r].group, 0)
                 : group_fits(w, s.v0, s.v1, rhymes[r].group, 1) &&
                       final_fits(w, s.v1, rhymes[r].finals)) {
            s.ok = 1; /* a vowel after the final is caught here too: "bana" */
            break;
        }
    }
    return s;
}

/* Where the tone mark goes (see telex.h for the rule chosen). */
static int tone_position(const struct word *w, const struct syllable *s)
{
    /* A vowel with a hat, breve or horn is the main vowel; in "ươ" the
       second one ("người", "rượu"). */
    for (int i = s->v1 - 1; i >= s->v0; i--)
        if (w->l[i].mark != MK_NONE)
            return i;
    if (s->v1 < w->n)
        return s->v1 - 1; /* closed syllable: "hoàn", "toán", "huỳnh" */
    int len = s->v1 - s->v0;
    if (len == 1)
        return s->v0;
    if (len >= 3)
        return s->v0 + 1; /* "ngoài", "khuỷu", "xoáy" */
    char a = w->l[s->v0].base, b = w->l[s->v0 + 1].base;
    if ((a == 'o' && (b == 'a' || b == 'e')) || (a == 'u' && b == 'y'))
        return s->v0 + 1; /* "hoà", "khoẻ", "thuý": the 2018 rule */
    /* "ie", "ye", "ue", "uo" are iê, yê, uê, uô/ươ half typed: the mark
       waits on the vowel that will take it ("vie" j → "viẹ", then e → "việ"). */
    if ((b == 'e' && (a == 'i' || a == 'y' || a == 'u')) || (a == 'u' && b == 'o'))
        return s->v0 + 1;
    return s->v0; /* "mía", "mùa", "mái", "cháo", "túi" */
}

/* The word as UTF-8 into out (room for 3 bytes a letter); its length. */
static size_t word_render(const struct word *w, char *out)
{
    struct syllable s = syllable_parse(w);
    int at = -1;
    if (w->tone != T_NONE) {
        if (s.ok || w->tone_at < 0)
            at = s.v1 > s.v0 ? tone_position(w, &s) : -1;
        else
            at = w->tone_at;
    }
    /* ươ with nothing after it is written uơ: "thuở", "huơ" ("thuowr"). */
    int uo = s.ok && s.v1 - s.v0 == 2 && s.v1 == w->n && w->l[s.v0].base == 'u' &&
             w->l[s.v0].mark == MK_HORN && w->l[s.v0 + 1].base == 'o' &&
             w->l[s.v0 + 1].mark == MK_HORN;
    size_t n = 0;
    for (int i = 0; i < w->n; i++) {
        struct letter l = w->l[i];
        if (uo && i == s.v0)
            l.mark = MK_NONE;
        n += utf8_put(out + n, letter_to_cp(&l, i == at ? w->tone : T_NONE));
    }
    return n;
}

/* ---- editing the text ---- */

/* Replace the text from byte `start` on with out[0..n), if it fits. */
static int text_replace(struct telex *t, size_t start, const char *out, size_t n)
{
    if (start + n > t->cap)
        return TELEX_E_FULL;
    size_t old = t->len;
    memcpy(t->buf + start, out, n);
    t->len = start + n;
    t->buf[t->len] = 0;
    /* The bytes a shorter text leaves behind may be tip text. */
    if (old > t->len)
        sodium_memzero(t->buf + t->len + 1, old - t->len);
    return TELEX_OK;
}

static int append_byte(struct telex *t, char c)
{
    return text_replace(t, t->len, &c, 1);
}

/* The word's keys are no longer known (the text changed some other way). */
static void raw_forget(struct telex *t)
{
    sodium_memzero(t->raw, sizeof t->raw);
    t->nraw = 0;
    t->raw_own = 0;
}

/* Which tone a key sets, or T_NONE. */
static int tone_key(char k)
{
    switch (k) {
    case 's':
        return T_SAC;
    case 'f':
        return T_HUYEN;
    case 'r':
        return T_HOI;
    case 'x':
        return T_NGA;
    case 'j':
        return T_NANG;
    default:
        return T_NONE;
    }
}

static char lower(char c)
{
    return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

enum { APPLY_NONE, APPLY_CHANGED, APPLY_UNDONE_IN_PLACE };

/*
 * Apply a Telex key to the word. APPLY_CHANGED when it changed the word
 * (and sets *add when the key's own letter is to follow, after an undo);
 * APPLY_UNDONE_IN_PLACE when an ư typed as w went back to w; APPLY_NONE
 * when the key is just a letter.
 */
static int apply_key(struct word *w, const struct syllable *s, char k, int upper, int *add)
{
    *add = 0;
    int tone = tone_key(k);
    if (tone != T_NONE) {
        if (s->v1 == s->v0)
            return APPLY_NONE;
        if (w->tone == tone) {
            w->tone = T_NONE;
            *add = 1;
        } else {
            w->tone = tone;
        }
        return APPLY_CHANGED;
    }
    if (k == 'z') {
        if (w->tone == T_NONE)
            return APPLY_NONE;
        w->tone = T_NONE;
        return APPLY_CHANGED;
    }
    if (k == 'd') {
        /* "dd" → đ; the d may come later in the word ("did" → "đi"). */
        if (s->v0 != 1 || w->l[0].base != 'd')
            return APPLY_NONE; /* the initial is not d alone */
        if (w->l[0].mark == MK_BAR) {
            w->l[0].mark = MK_NONE;
            *add = 1;
        } else {
            w->l[0].mark = MK_BAR;
        }
        return APPLY_CHANGED;
    }
    if (k == 'a' || k == 'e' || k == 'o') {
        for (int i = s->v0; i < s->v1; i++) {
            if (w->l[i].base != k)
                continue;
            if (w->l[i].mark == MK_HAT) {
                w->l[i].mark = MK_NONE;
                *add = 1;
            } else {
                w->l[i].mark = MK_HAT;
                /* "ươ" + o is "uô": the horn on u went with the one on o. */
                if (k == 'o' && i > s->v0 && w->l[i - 1].base == 'u')
                    w->l[i - 1].mark = MK_NONE;
            }
            return APPLY_CHANGED;
        }
        return APPLY_NONE; /* a new vowel */
    }
    if (k == 'w') {
        if (s->v1 == s->v0) {
            /* No vowel yet: w is ư, as on phones ("w" → "ư", "nhw" → "như"). */
            struct letter u = {'u', MK_HORN, (uint8_t)upper, 1};
            w->l[w->n++] = u;
            return APPLY_CHANGED;
        }
        for (int i = s->v0; i + 1 < s->v1; i++) {
            if (w->l[i].base != 'u' || w->l[i + 1].base != 'o')
                continue;
            /* "uow" → ươ: "nguwowif" and "nguoiwf" both give "người". */
            if (w->l[i].mark == MK_HORN && w->l[i + 1].mark == MK_HORN) {
                w->l[i].mark = w->l[i + 1].mark = MK_NONE;
                *add = 1;
            } else {
                w->l[i].mark = w->l[i + 1].mark = MK_HORN;
            }
            return APPLY_CHANGED;
        }
        /* One vowel takes it: a in "oa" ("xoăn"), else o, else the first u
           ("mưa", "cứu"), else a. */
        int at = -1;
        for (int i = s->v0; i + 1 < s->v1 && at < 0; i++)
            if (w->l[i].base == 'o' && w->l[i + 1].base == 'a')
                at = i + 1;
        for (const char *c = "oua"; *c && at < 0; c++)
            for (int i = s->v0; i < s->v1 && at < 0; i++)
                if (w->l[i].base == *c)
                    at = i;
        if (at < 0)
            return APPLY_NONE;
        uint8_t want = w->l[at].base == 'a' ? MK_BREVE : MK_HORN;
        if (w->l[at].mark == want && w->l[at].from_w) {
            /* "ww": the ư was the w itself. */
            struct letter plain_w = {'w', MK_NONE, w->l[at].upper, 0};
            w->l[at] = plain_w;
            return APPLY_UNDONE_IN_PLACE;
        }
        if (w->l[at].mark == want) {
            w->l[at].mark = MK_NONE;
            *add = 1;
        } else {
            w->l[at].mark = want;
        }
        return APPLY_CHANGED;
    }
    return APPLY_NONE;
}

enum step { STEP_LETTER, STEP_CHANGED, STEP_UNDONE };

static void word_add(struct word *w, struct letter l)
{
    if (w->n <= RAW_MAX)
        w->l[w->n++] = l;
}

/* One key on the word being composed. `plain`: bit k, letter 'a' + k undid
   its own mark or tone, so it is a plain letter until the word ends
   ("ass" → "as", "asss" → "ass"). */
static enum step step(struct word *w, uint32_t *plain, char key)
{
    char k = lower(key);
    struct letter add = {k, MK_NONE, (uint8_t)(key != k), 0};
    struct syllable s = syllable_parse(w);
    if ((*plain & (1u << (k - 'a'))) || !s.ok) {
        word_add(w, add); /* not Vietnamese (yet): leave what is there alone */
        return STEP_LETTER;
    }
    struct word w2 = *w;
    int with_letter = 0;
    int r = apply_key(&w2, &s, k, key != k, &with_letter);
    enum step out = STEP_LETTER;
    if (r == APPLY_UNDONE_IN_PLACE) {
        *w = w2;
        *plain |= 1u << (k - 'a');
        out = STEP_UNDONE;
    } else if (r == APPLY_CHANGED && syllable_parse(&w2).ok) {
        out = with_letter ? STEP_UNDONE : STEP_CHANGED;
        if (with_letter)
            *plain |= 1u << (k - 'a');
    } else {
        /* The change makes no syllable (a tone that a stop final cannot
           take: "cacf"): the key is a letter after all. */
        w2 = *w;
        with_letter = 1;
    }
    if (r != APPLY_UNDONE_IN_PLACE) {
        if (with_letter) {
            struct syllable s2 = syllable_parse(&w2);
            /* Where the word stops being a syllable, its tone stays where
               it was drawn. */
            if (w2.tone != T_NONE && w2.tone_at < 0 && s2.ok && s2.v1 > s2.v0)
                w2.tone_at = tone_position(&w2, &s2);
            word_add(&w2, add);
        }
        *w = w2;
    }
    explicit_bzero(&w2, sizeof w2);
    return out;
}

/*
 * The word typed with keys raw[0..n), as UTF-8 into out (3 bytes a key);
 * its length. Keys before `own` were rebuilt from the text, not typed now:
 * they do not count as signs of a foreign word.
 *
 * A word whose keys changed letters but which in the end cannot be
 * Vietnamese is given back as typed, keys and all ("samsung", "google",
 * "water"). Some foreign words make a possible syllable; the way they were
 * typed gives them away, when no letter of the word has a hat, breve or
 * horn (those are typed on purpose):
 *   - a tone key followed by a new vowel ("taxi", "visa", "user"): Telex
 *     typists put the tone after the vowels ("ngoaif", "hoas");
 *   - s followed by c, p, t ("test", "post", "cost"): st, sp, sc end
 *     English words, and the sắc on "tét" is typed last ("tets");
 *   - a word begun with w (ư) that uses w again ("wow").
 * An undo ("ass" → "as") says the person wants letters: the result stays.
 */
static size_t compose(const char *raw, int n, int own, char *out)
{
    struct word w;
    memset(&w, 0, sizeof w);
    w.tone_at = -1;
    uint32_t plain = 0;
    int undone = 0, w_first = 0, foreign = 0;
    int tone_then = -1; /* letters in the word when a tone key just acted */
    int sac_then = 0;
    int tone_vowel_at = -1, sac_stop = 0;
    for (int i = 0; i < n; i++) {
        char k = lower(raw[i]);
        int before = w.n;
        enum step st = step(&w, &plain, raw[i]);
        int mine = i >= own;
        undone |= st == STEP_UNDONE;
        if (mine && st == STEP_LETTER && w.n > before) {
            if (tone_then >= 0 && is_vowel(k) && tone_vowel_at < 0)
                tone_vowel_at = tone_then;
            if (sac_then && (k == 'c' || k == 'p' || k == 't'))
                sac_stop = 1;
        }
        tone_then = -1;
        sac_then = 0;
        if (mine && st == STEP_CHANGED && tone_key(k) != T_NONE) {
            tone_then = w.n;
            sac_then = k == 's';
        }
        if (k == 'w' && st == STEP_CHANGED) {
            if (i == 0)
                w_first = 1;
            else if (w_first && mine)
                foreign = 1;
        }
    }
    size_t len = word_render(&w, out);
    int changed = len != (size_t)n || memcmp(out, raw, len) != 0;
    if (changed && !undone) {
        struct syllable s = syllable_parse(&w);
        int marked = 0;
        for (int i = 0; i < w.n; i++)
            marked |= w.l[i].mark != MK_NONE;
        if (!marked && w.tone != T_NONE && s.ok) {
            /* "gifa" is gi + à: the tone came before the vowel group began. */
            if (tone_vowel_at > s.v0)
                foreign = 1;
            if (sac_stop && w.tone == T_SAC)
                foreign = 1;
        }
        if (!s.ok || foreign) {
            memcpy(out, raw, (size_t)n);
            len = (size_t)n;
        }
    }
    explicit_bzero(&w, sizeof w);
    return len;
}

/* The keys that type the word `w` read from the text: each letter, its
   mark key, then the tone key ("người" → "nguwowfi" less the order). */
static int keys_for(const struct word *w, char *raw)
{
    static const char tone_keys[T_COUNT] = {0, 's', 'f', 'r', 'x', 'j'};
    int n = 0;
    for (int i = 0; i < w->n; i++) {
        const struct letter *l = &w->l[i];
        char c = l->upper ? (char)(l->base - 'a' + 'A') : l->base;
        if (n + 2 > RAW_MAX)
            return -1;
        raw[n++] = c;
        if (l->mark == MK_HAT || l->mark == MK_BAR)
            raw[n++] = c;
        else if (l->mark == MK_BREVE || l->mark == MK_HORN)
            raw[n++] = l->upper ? 'W' : 'w';
    }
    if (w->tone != T_NONE) {
        if (n + 1 > RAW_MAX)
            return -1;
        raw[n++] = tone_keys[w->tone];
    }
    return n;
}

static int key_vi(struct telex *t, char key)
{
    struct word w;
    char raw[RAW_MAX];
    char out[3 * (RAW_MAX + 1)];
    int n = 0, own = 0, rc;
    if (!word_read(t, &w))
        goto plain;
    /* Letters glued to a digit, @ or _ are a plate, a code or an address
       ("29a", "0912abc", "ten@gmail"), not a word. */
    if (w.start > 0) {
        char before = t->buf[w.start - 1];
        if ((before >= '0' && before <= '9') || before == '@' || before == '_')
            goto plain;
    }
    if (t->nraw > 0 && t->raw_start == w.start && t->raw_end == t->len) {
        n = t->nraw;
        own = t->raw_own;
        memcpy(raw, t->raw, (size_t)n);
    } else if (w.n > 0) {
        /* Back into a word (after Delete, or typed in another mode): its
           keys are rebuilt, and only if they give the same text. */
        n = keys_for(&w, raw);
        if (n < 0)
            goto plain;
        size_t len = compose(raw, n, n, out);
        if (len != t->len - w.start || memcmp(out, t->buf + w.start, len) != 0)
            goto plain;
        own = n;
    }
    if (n == RAW_MAX)
        goto plain;
    raw[n++] = key;
    rc = text_replace(t, w.start, out, compose(raw, n, own, out));
    if (rc == TELEX_OK) {
        /* Only now: a key refused (full) changes nothing. */
        memcpy(t->raw, raw, (size_t)n);
        t->nraw = n;
        t->raw_own = own;
        t->raw_start = w.start;
        t->raw_end = t->len;
    }
    goto out;
plain:
    rc = append_byte(t, key);
    if (rc == TELEX_OK)
        raw_forget(t);
out:
    /* Letters of a tip sat on the stack. */
    explicit_bzero(&w, sizeof w);
    explicit_bzero(raw, sizeof raw);
    explicit_bzero(out, sizeof out);
    return rc;
}

/* ---- the API ---- */

int telex_new(struct telex **out, enum telex_mode mode, size_t cap)
{
    if (!out)
        return TELEX_E_ARG;
    *out = NULL;
    if (cap == 0 || cap > TELEX_MAX_CAP || !telex_mode_name(mode))
        return TELEX_E_ARG;
    struct telex *t = calloc(1, sizeof *t + cap + 1);
    if (!t)
        return TELEX_E_NOMEM;
    t->mode = mode;
    t->cap = cap;
    *out = t;
    return TELEX_OK;
}

void telex_free(struct telex *t)
{
    if (!t)
        return;
    explicit_bzero(t->buf, t->cap + 1);
    explicit_bzero(t->raw, sizeof t->raw);
    free(t);
}

int telex_set_mode(struct telex *t, enum telex_mode mode)
{
    if (!telex_mode_name(mode))
        return TELEX_E_ARG;
    t->mode = mode;
    raw_forget(t);
    return TELEX_OK;
}

enum telex_mode telex_mode(const struct telex *t)
{
    return t->mode;
}

const char *telex_mode_name(int mode)
{
    switch (mode) {
    case TELEX_PLAIN:
        return "plain";
    case TELEX_VI:
        return "telex";
    case TELEX_RPA:
        return "rpa";
    default:
        return NULL;
    }
}

int telex_mode_parse(const char *name)
{
    for (int m = TELEX_PLAIN; m <= TELEX_RPA; m++)
        if (name && strcmp(name, telex_mode_name(m)) == 0)
            return m;
    return -1;
}

int telex_key(struct telex *t, char key)
{
    if (!((key >= 0x20 && key <= 0x7e) || key == '\n'))
        return TELEX_E_ARG;
    int letter = (key >= 'a' && key <= 'z') || (key >= 'A' && key <= 'Z');
    if (!letter) {
        int rc = append_byte(t, key);
        if (rc == TELEX_OK)
            raw_forget(t); /* the word ended */
        return rc;
    }
    if (t->mode != TELEX_VI) {
        /* RPA writes tones as letters (b j v s g m d): nothing to compose. */
        int rc = append_byte(t, key);
        if (rc == TELEX_OK)
            raw_forget(t);
        return rc;
    }
    return key_vi(t, key);
}

int telex_backspace(struct telex *t)
{
    if (t->len == 0)
        return TELEX_E_EMPTY;
    size_t start;
    (void)utf8_last(t->buf, t->len, &start);
    size_t old = t->len;
    t->len = start;
    explicit_bzero(t->buf + start, old - start);
    /* The word's keys are rebuilt from what is left, so undone keys act
       again: after "ass" → "as", backspace, "s" gives "á". */
    raw_forget(t);
    return TELEX_OK;
}

void telex_clear(struct telex *t)
{
    explicit_bzero(t->buf, t->len + 1);
    t->len = 0;
    raw_forget(t);
}

const char *telex_text(const struct telex *t)
{
    return t->buf;
}

size_t telex_len(const struct telex *t)
{
    return t->len;
}

size_t telex_cap(const struct telex *t)
{
    return t->cap;
}
