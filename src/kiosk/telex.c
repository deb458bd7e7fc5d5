/* telex — see telex.h. */
#include "kiosk/telex.h"

#include <sodium.h>

#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define TELEX_MAX_CAP (1024 * 1024)
/* Longer letter runs are not Vietnamese syllables (the longest, "nghiêng",
   has 7 letters): they take keys as typed and cost no more than that. */
#define WORD_MAX 16

struct telex {
    enum telex_mode mode;
    size_t cap; /* bytes of text, without the NUL */
    size_t len;
    /* Bit k: letter 'a' + k undid its own mark or tone in the current word,
       so it is a plain letter until the word ends ("ass" → "as", "asss" → "ass"). */
    uint32_t plain;
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
};

struct word {
    struct letter l[WORD_MAX + 1]; /* + 1: room for the key being added */
    int n;
    int tone;
    int tones;    /* letters that carried a tone: more than one is not a syllable */
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
        if (n == WORD_MAX)
            return 0;
        rev[n++] = l;
        if (tone != T_NONE) {
            w->tone = tone;
            w->tones++;
        }
        end = start;
    }
    for (int i = 0; i < n; i++)
        w->l[i] = rev[n - 1 - i];
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
static const char *const finals[] = {"", "c", "ch", "m", "n", "ng", "nh", "p", "t", NULL};
/* Vowel groups as base letters: every group of the language, plus what a
   person types on the way to one ("ie" before "iê", "uo" before "ươ"). */
static const char *const vowel_groups[] = {
    "a",   "e",   "i",   "o",   "u",   "y",   "ai",  "ao",  "au",  "ay",  "eo",  "eu", "ia",
    "ie",  "iu",  "oa",  "oe",  "oi",  "oo",  "ua",  "ue",  "ui",  "uo",  "uu",  "uy", "ye",
    "ieu", "yeu", "oai", "oay", "oeo", "uay", "uoi", "uou", "uya", "uye", "uyu", NULL};

static int vowel_group_ok(const struct word *w, int v0, int v1)
{
    char s[8];
    if (v1 - v0 >= (int)sizeof s)
        return 0;
    for (int i = v0; i < v1; i++)
        s[i - v0] = w->l[i].base;
    s[v1 - v0] = 0;
    for (const char *const *g = vowel_groups; *g; g++)
        if (strcmp(*g, s) == 0)
            return 1;
    return 0;
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
    if (!in_list(w, 0, s.v0, initials) || !in_list(w, s.v1, w->n, finals))
        return s; /* also catches a vowel after the final: "bana" is two syllables */
    if (s.v1 > s.v0 && !vowel_group_ok(w, s.v0, s.v1))
        return s;
    if (s.v1 == s.v0 && s.v1 != w->n)
        return s; /* a final needs a vowel before it */
    if (w->tones > 1 || (w->tone != T_NONE && s.v1 == s.v0))
        return s;
    /* After c, ch, p, t only sắc and nặng exist. */
    int stop = letters_are(w, s.v1, w->n, "c") || letters_are(w, s.v1, w->n, "ch") ||
               letters_are(w, s.v1, w->n, "p") || letters_are(w, s.v1, w->n, "t");
    if (stop && w->tone != T_NONE && w->tone != T_SAC && w->tone != T_NANG)
        return s;
    s.ok = 1;
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
static size_t word_render(const struct word *w, const struct syllable *s, char *out)
{
    int at = w->tone != T_NONE ? tone_position(w, s) : -1;
    size_t n = 0;
    for (int i = 0; i < w->n; i++)
        n += utf8_put(out + n, letter_to_cp(&w->l[i], i == at ? w->tone : T_NONE));
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

/*
 * Apply a Telex key to the word. Returns 1 when it changed the word (and
 * sets *add when the key's own letter is to follow, after an undo), 0 when
 * the key is just a letter.
 */
static int apply_key(struct word *w, const struct syllable *s, char k, int *add)
{
    *add = 0;
    int tone = tone_key(k);
    if (tone != T_NONE) {
        if (s->v1 == s->v0)
            return 0;
        if (w->tone == tone) {
            w->tone = T_NONE;
            *add = 1;
        } else {
            w->tone = tone;
        }
        return 1;
    }
    if (k == 'z') {
        if (w->tone == T_NONE)
            return 0;
        w->tone = T_NONE;
        return 1;
    }
    if (k == 'd') {
        /* "dd" → đ; the d may come later in the word ("did" → "đi"). */
        if (s->v0 != 1 || w->l[0].base != 'd')
            return 0; /* the initial is not d alone */
        if (w->l[0].mark == MK_BAR) {
            w->l[0].mark = MK_NONE;
            *add = 1;
        } else {
            w->l[0].mark = MK_BAR;
        }
        return 1;
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
            return 1;
        }
        return 0; /* a new vowel */
    }
    if (k == 'w') {
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
            return 1;
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
            return 0;
        uint8_t want = w->l[at].base == 'a' ? MK_BREVE : MK_HORN;
        if (w->l[at].mark == want) {
            w->l[at].mark = MK_NONE;
            *add = 1;
        } else {
            w->l[at].mark = want;
        }
        return 1;
    }
    return 0;
}

static int key_vi(struct telex *t, char key)
{
    char k = key >= 'A' && key <= 'Z' ? (char)(key - 'A' + 'a') : key;
    struct word w, w2;
    char out[3 * (WORD_MAX + 1)];
    int rc;
    if (!word_read(t, &w) || (t->plain & (1u << (k - 'a')))) {
        rc = append_byte(t, key);
        goto out;
    }
    struct syllable s = syllable_parse(&w);
    if (!s.ok) {
        rc = append_byte(t, key); /* not Vietnamese: leave what is there alone */
        goto out;
    }
    struct letter add = {k, MK_NONE, (uint8_t)(key != k)};
    w2 = w;
    int with_letter = 0, undid = 0;
    if (apply_key(&w2, &s, k, &with_letter)) {
        struct syllable s2 = syllable_parse(&w2);
        if (!s2.ok) {
            /* The change makes no syllable (a tone that a stop final cannot
               take: "cacf"): the key is a letter after all. */
            w2 = w;
            with_letter = 1;
        } else {
            undid = with_letter;
        }
    } else {
        with_letter = 1;
    }
    if (with_letter) {
        /* With the letter, the tone may move ("hoà" + n → "hoàn", or "hòa"
           under the old rule); where the result is no syllable the letter
           just follows the word as it stands. */
        struct word w3 = w2;
        w3.l[w3.n++] = add;
        struct syllable s3 = syllable_parse(&w3);
        if (s3.ok) {
            rc = text_replace(t, w.start, out, word_render(&w3, &s3, out));
        } else {
            struct syllable s2 = syllable_parse(&w2);
            size_t n = word_render(&w2, &s2, out);
            out[n++] = key;
            rc = text_replace(t, w.start, out, n);
        }
        explicit_bzero(&w3, sizeof w3);
    } else {
        struct syllable s2 = syllable_parse(&w2);
        rc = text_replace(t, w.start, out, word_render(&w2, &s2, out));
    }
    if (rc == TELEX_OK && undid)
        t->plain |= 1u << (k - 'a'); /* only now: a key refused (full) changes nothing */
out:
    /* Letters of a tip sat on the stack. */
    explicit_bzero(&w, sizeof w);
    explicit_bzero(&w2, sizeof w2);
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
    free(t);
}

int telex_set_mode(struct telex *t, enum telex_mode mode)
{
    if (!telex_mode_name(mode))
        return TELEX_E_ARG;
    t->mode = mode;
    t->plain = 0;
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
            t->plain = 0; /* the word ended */
        return rc;
    }
    if (t->mode != TELEX_VI)
        return append_byte(t, key); /* RPA writes tones as letters: nothing to compose */
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
    /* Undone keys act again: after "ass" → "as", backspace, "s" gives "á". */
    t->plain = 0;
    return TELEX_OK;
}

void telex_clear(struct telex *t)
{
    explicit_bzero(t->buf, t->len + 1);
    t->len = 0;
    t->plain = 0;
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
