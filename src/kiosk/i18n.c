/* i18n — see i18n.h. */
#include "kiosk/i18n.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/config.h" /* config_utf8_valid(): one UTF-8 check for every file a person edits */

#define MAX_DIRS 256      /* entries of lang/ looked at; far more than languages */
#define MAX_PIECES 64     /* header strings whose line is remembered */
#define MAX_DIRECTIVES 16 /* % directives compared per message */

struct entry {
    const char *ctxt; /* NULL: none */
    const char *id;
    const char *str;
    unsigned line;
};

struct lang {
    char code[I18N_MAX_CODE + 1];
    char name[I18N_MAX_NAME + 1];
    enum telex_mode keyboard;
    int order;
    char *arena; /* every string of the catalog, decoded */
    struct entry *e;
    size_t n;
};

struct i18n {
    struct lang *langs[I18N_MAX_LANGS];
    size_t n;
};

/* ---- messages ---- */

/* "name:line: text" into err (no line when line is 0); returns rc. */
static int say(char *err, size_t errlen, int rc, const char *name, unsigned line, const char *fmt,
               ...) __attribute__((format(printf, 6, 7)));
static int say(char *err, size_t errlen, int rc, const char *name, unsigned line, const char *fmt,
               ...)
{
    if (!err || errlen == 0)
        return rc;
    int n =
        line ? snprintf(err, errlen, "%s:%u: ", name, line) : snprintf(err, errlen, "%s: ", name);
    if (n >= 0 && (size_t)n < errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err + n, errlen - (size_t)n, fmt, ap);
        va_end(ap);
    }
    return rc;
}

/* Append one line to the list of problems load_dir collects. */
static void err_append(char *err, size_t errlen, const char *line)
{
    if (!err || errlen == 0)
        return;
    size_t used = strnlen(err, errlen - 1);
    snprintf(err + used, errlen - used, "%s%s", used ? "\n" : "", line);
}

/* ---- the .po parser ---- */

enum field { F_NONE, F_CTXT, F_ID, F_PLURAL, F_STR };

struct piece {
    size_t off; /* arena offset where a string of the header's msgstr starts */
    unsigned line;
};

struct parser {
    const char *name;
    char *err;
    size_t errlen;
    unsigned line;

    /* Decoded strings, allocated once (entries point into it). A string
       decodes to at most its quoted length minus the two quotes, which
       leaves room for its NUL: the file's length + 1 always suffices. */
    char *arena;
    size_t used, cap;
    struct entry *e;
    size_t n, ecap;

    /* Flags from "#," comments, for the entry that follows them. */
    int fuzzy, c_format, no_c_format;

    /* The entry being read. */
    int open, have_ctxt, have_id, have_plural, nstr;
    size_t start, ctxt, id, str;
    unsigned entry_line, id_line, str_line;
    enum field field;
    struct piece pieces[MAX_PIECES];
    int npieces, want_pieces;

    int have_header;
    struct lang *lang;
    const char *code; /* expected Language, or NULL */
};

static int perr(struct parser *p, unsigned line, int rc, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int perr(struct parser *p, unsigned line, int rc, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return say(p->err, p->errlen, rc, p->name, line, "%s", msg);
}

static void field_end(struct parser *p)
{
    if (p->field != F_NONE)
        p->arena[p->used++] = 0;
    p->field = F_NONE;
}

static size_t field_begin(struct parser *p, enum field f)
{
    field_end(p);
    p->field = f;
    return p->used;
}

static int is_blank(char c)
{
    return c == ' ' || c == '\t';
}

/* Decode the quoted string at *sp (which points at its opening quote) onto
   the open field; *sp is left after the closing quote. */
static int string_read(struct parser *p, const char **sp, const char *e)
{
    const char *s = *sp + 1;
    if (p->want_pieces && p->field == F_STR && p->npieces < MAX_PIECES)
        p->pieces[p->npieces++] = (struct piece){p->used, p->line};
    for (;;) {
        if (s == e)
            return perr(p, p->line, I18N_E_SYNTAX,
                        "unterminated string (a string ends with \" on the same line)");
        char c = *s++;
        if (c == '"')
            break;
        if (c == '\\') {
            if (s == e)
                return perr(p, p->line, I18N_E_SYNTAX,
                            "unterminated string (a string ends with \" on the same line)");
            char x = *s++;
            switch (x) {
            case 'n':
                c = '\n';
                break;
            case 't':
                c = '\t';
                break;
            case 'r':
                c = '\r';
                break;
            case 'a':
                c = '\a';
                break;
            case 'b':
                c = '\b';
                break;
            case 'f':
                c = '\f';
                break;
            case 'v':
                c = '\v';
                break;
            case '"':
            case '\\':
                c = x;
                break;
            default:
                if (x > 0x20 && x < 0x7f)
                    return perr(p, p->line, I18N_E_SYNTAX,
                                "unknown escape \\%c in a string (write \\\\ for a backslash)", x);
                return perr(p, p->line, I18N_E_SYNTAX,
                            "unknown escape in a string (write \\\\ for a backslash)");
            }
        }
        if (p->used + 1 >= p->cap) /* cannot happen, see struct parser */
            return perr(p, p->line, I18N_E_SYNTAX, "string longer than the file");
        p->arena[p->used++] = c;
    }
    *sp = s;
    return I18N_OK;
}

/* ---- % directives: the UI passes msgids with % to printf ---- */

/* The directives of a printf format as "length+conversion" signatures
   ("d", "ld", "s"), into sig[] (each up to 3 chars + NUL). Number of
   directives, or -1 when the format has one printf must not be given. */
static int directives(const char *f, char sig[][4], int max)
{
    int n = 0;
    for (const char *s = f; *s; s++) {
        if (*s != '%')
            continue;
        s++;
        if (*s == '%')
            continue;
        while (*s && strchr("-+ #0", *s))
            s++;
        while (*s >= '0' && *s <= '9')
            s++;
        if (*s == '.') {
            s++;
            while (*s >= '0' && *s <= '9')
                s++;
        }
        char len[3] = "";
        size_t ln = 0;
        while (*s && strchr("hlLjzt", *s) && ln < 2)
            len[ln++] = *s++;
        len[ln] = 0;
        /* No %n (it writes memory), no * or $ (arguments the UI does not pass). */
        if (!*s || !strchr("diouxXeEfFgGaAcsp", *s))
            return -1;
        if (n == max)
            return -1;
        snprintf(sig[n], sizeof sig[n], "%s%c", len, *s);
        n++;
    }
    return n;
}

static int formats_match(const char *id, const char *str)
{
    char a[MAX_DIRECTIVES][4], b[MAX_DIRECTIVES][4];
    int na = directives(id, a, MAX_DIRECTIVES), nb = directives(str, b, MAX_DIRECTIVES);
    if (na < 0)
        return 1; /* "100% sure" is no format: the UI shows it as it is */
    if (nb != na)
        return 0;
    for (int i = 0; i < na; i++)
        if (strcmp(a[i], b[i]) != 0)
            return 0;
    return 1;
}

/* ---- the header ---- */

static int code_ok(const char *s, size_t n)
{
    if (n == 0 || n > I18N_MAX_CODE)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-' || c == '@'))
            return 0;
    }
    return 1;
}

static unsigned header_line(const struct parser *p, size_t off)
{
    unsigned line = p->str_line;
    for (int i = 0; i < p->npieces; i++)
        if (p->pieces[i].off <= off)
            line = p->pieces[i].line;
    return line;
}

static int ieq(const char *a, size_t an, const char *b)
{
    size_t bn = strlen(b);
    if (an != bn)
        return 0;
    for (size_t i = 0; i < an; i++) {
        char x = a[i], y = b[i];
        if (x >= 'A' && x <= 'Z')
            x = (char)(x - 'A' + 'a');
        if (y >= 'A' && y <= 'Z')
            y = (char)(y - 'A' + 'a');
        if (x != y)
            return 0;
    }
    return 1;
}

static int header_read(struct parser *p, const char *h, size_t base)
{
    int have_lang = 0, have_name = 0, have_kb = 0, have_order = 0;
    struct lang *l = p->lang;
    l->keyboard = TELEX_PLAIN;
    l->order = I18N_ORDER_DEFAULT;
    for (const char *s = h; *s;) {
        const char *nl = strchr(s, '\n');
        const char *e = nl ? nl : s + strlen(s);
        unsigned line = header_line(p, base + (size_t)(s - h));
        const char *colon = memchr(s, ':', (size_t)(e - s));
        if (colon) {
            const char *k = s, *v = colon + 1;
            size_t kn = (size_t)(colon - s);
            while (v < e && is_blank(*v))
                v++;
            const char *ve = e;
            while (ve > v && is_blank(ve[-1]))
                ve--;
            int vn = (int)(ve - v);
            if (kn == 8 && memcmp(k, "Language", 8) == 0) {
                if (have_lang++)
                    return perr(p, line, I18N_E_HEADER, "Language is given twice: keep one");
                if (!code_ok(v, (size_t)vn))
                    return perr(p, line, I18N_E_HEADER,
                                "Language \"%.*s\" is not a language code (1-8 letters, digits, "
                                "- or _, like vi or hmn)",
                                vn, v);
                if (p->code && (strlen(p->code) != (size_t)vn || memcmp(p->code, v, (size_t)vn)))
                    return perr(p, line, I18N_E_HEADER,
                                "Language is \"%.*s\" but the directory is \"%s\": make them the "
                                "same",
                                vn, v, p->code);
                memcpy(l->code, v, (size_t)vn);
                l->code[vn] = 0;
            } else if (kn == 12 && memcmp(k, "Content-Type", 12) == 0) {
                const char *cs = NULL;
                for (const char *q = v; q + 8 <= ve && !cs; q++)
                    if (ieq(q, 8, "charset="))
                        cs = q + 8;
                if (cs) {
                    const char *ce = cs;
                    while (ce < ve && *ce != ';' && !is_blank(*ce))
                        ce++;
                    if (!ieq(cs, (size_t)(ce - cs), "UTF-8"))
                        return perr(p, line, I18N_E_HEADER,
                                    "the catalog says charset=%.*s: save it as UTF-8 and write "
                                    "\"Content-Type: text/plain; charset=UTF-8\"",
                                    (int)(ce - cs), cs);
                }
            } else if (kn > 9 && memcmp(k, "X-Homthu-", 9) == 0) {
                if (kn == 13 && memcmp(k, "X-Homthu-Name", 13) == 0) {
                    if (have_name++)
                        return perr(p, line, I18N_E_HEADER,
                                    "X-Homthu-Name is given twice: keep one");
                    if (vn == 0 || vn > I18N_MAX_NAME)
                        return perr(p, line, I18N_E_HEADER,
                                    "X-Homthu-Name must be 1 to %d bytes (the language's own name, "
                                    "like Tiếng Việt)",
                                    I18N_MAX_NAME);
                    memcpy(l->name, v, (size_t)vn);
                    l->name[vn] = 0;
                } else if (kn == 17 && memcmp(k, "X-Homthu-Keyboard", 17) == 0) {
                    char kb[16];
                    if (have_kb++)
                        return perr(p, line, I18N_E_HEADER,
                                    "X-Homthu-Keyboard is given twice: keep one");
                    snprintf(kb, sizeof kb, "%.*s", vn, v);
                    int m = vn < (int)sizeof kb ? telex_mode_parse(kb) : -1;
                    if (m < 0)
                        return perr(p, line, I18N_E_HEADER,
                                    "X-Homthu-Keyboard is \"%.*s\": write telex, rpa or plain", vn,
                                    v);
                    l->keyboard = (enum telex_mode)m;
                } else if (kn == 14 && memcmp(k, "X-Homthu-Order", 14) == 0) {
                    int ord = 0;
                    if (have_order++)
                        return perr(p, line, I18N_E_HEADER,
                                    "X-Homthu-Order is given twice: keep one");
                    if (vn == 0 || vn > 3)
                        ord = -1;
                    for (int i = 0; i < vn && ord >= 0; i++)
                        ord = v[i] >= '0' && v[i] <= '9' ? ord * 10 + (v[i] - '0') : -1;
                    if (ord < 0)
                        return perr(p, line, I18N_E_HEADER,
                                    "X-Homthu-Order is \"%.*s\": write a number from 0 to 999", vn,
                                    v);
                    l->order = ord;
                } else {
                    return perr(p, line, I18N_E_HEADER,
                                "unknown header field %.*s (known: X-Homthu-Name, "
                                "X-Homthu-Keyboard, X-Homthu-Order)",
                                (int)kn, k);
                }
            }
        }
        s = nl ? nl + 1 : e;
    }
    if (!have_lang)
        return perr(p, p->id_line, I18N_E_HEADER,
                    "the header has no Language field: add \"Language: %s\\n\"",
                    p->code ? p->code : "CODE");
    if (!have_name)
        return perr(p, p->id_line, I18N_E_HEADER,
                    "the header has no X-Homthu-Name field: add the language's own name, like "
                    "\"X-Homthu-Name: Tiếng Việt\\n\"");
    return I18N_OK;
}

/* ---- entries ---- */

static int entry_done(const struct parser *p)
{
    return p->have_id && (p->have_plural ? p->nstr >= 1 : p->nstr == 1);
}

static void entry_reset(struct parser *p)
{
    p->open = p->have_ctxt = p->have_id = p->have_plural = p->nstr = 0;
    p->fuzzy = p->c_format = p->no_c_format = 0;
    p->npieces = p->want_pieces = 0;
    p->field = F_NONE;
}

/* The entry is over: keep it, or skip it (fuzzy, untranslated). */
static int entry_store(struct parser *p)
{
    field_end(p);
    const char *ctxt = p->have_ctxt ? p->arena + p->ctxt : NULL;
    const char *id = p->arena + p->id, *str = p->arena + p->str;
    int rc = I18N_OK;
    if (!ctxt && !*id) {
        /* The header is read even when fuzzy: msginit marks it so, and its
           fields say what the language is, not how to say a message. */
        if (p->have_header)
            rc = perr(p, p->id_line, I18N_E_SYNTAX, "a second header (msgid \"\"): keep one");
        else
            rc = header_read(p, str, p->str);
        p->have_header = 1;
        p->used = p->start;
    } else if (p->fuzzy || !*str) {
        p->used = p->start; /* the fallback shows until a translator confirms it */
    } else if ((p->c_format || (strchr(id, '%') && !p->no_c_format)) && !formats_match(id, str)) {
        rc = perr(p, p->str_line, I18N_E_SYNTAX,
                  "msgstr must have the same %% codes as its msgid, in the same order (%%d stays "
                  "%%d; write %%%% for a percent sign)");
    } else if (p->n == I18N_MAX_ENTRIES) {
        rc = perr(p, p->id_line, I18N_E_TOOBIG, "more than %d messages", I18N_MAX_ENTRIES);
    } else {
        if (p->n == p->ecap) {
            size_t ncap = p->ecap ? p->ecap * 2 : 64;
            struct entry *ne = realloc(p->e, ncap * sizeof *ne);
            if (!ne)
                return I18N_E_NOMEM;
            p->e = ne;
            p->ecap = ncap;
        }
        p->e[p->n++] = (struct entry){ctxt, id, str, p->id_line};
    }
    entry_reset(p);
    return rc;
}

/* Before something that cannot be part of the open entry. */
static int entry_close(struct parser *p)
{
    if (!p->open)
        return I18N_OK;
    if (entry_done(p))
        return entry_store(p);
    if (p->have_id)
        return perr(p, p->id_line, I18N_E_SYNTAX, "msgid without msgstr");
    return perr(p, p->entry_line, I18N_E_SYNTAX, "msgctxt without msgid");
}

static void entry_open(struct parser *p)
{
    p->open = 1;
    p->start = p->used;
    p->entry_line = p->line;
}

static void flags_read(struct parser *p, const char *s, const char *e)
{
    while (s < e) {
        while (s < e && (is_blank(*s) || *s == ','))
            s++;
        const char *w = s;
        while (s < e && *s != ',' && !is_blank(*s))
            s++;
        size_t n = (size_t)(s - w);
        if (n == 5 && memcmp(w, "fuzzy", 5) == 0)
            p->fuzzy = 1;
        else if (n == 8 && memcmp(w, "c-format", 8) == 0)
            p->c_format = 1;
        else if (n == 11 && memcmp(w, "no-c-format", 11) == 0)
            p->no_c_format = 1;
    }
}

static int keyword_line(struct parser *p, const char *s, const char *e)
{
    const char *k = s;
    while (s < e && ((*s >= 'a' && *s <= 'z') || *s == '_'))
        s++;
    size_t kn = (size_t)(s - k);
    int index = -1;
    if (s < e && *s == '[') {
        index = 0;
        s++;
        const char *d = s;
        while (s < e && *s >= '0' && *s <= '9' && s - d < 3)
            index = index * 10 + (*s++ - '0');
        if (s == d || s == e || *s != ']')
            return perr(p, p->line, I18N_E_SYNTAX, "bad index after %.*s (write msgstr[0])",
                        (int)kn, k);
        s++;
    }
    const char *after = s;
    while (s < e && is_blank(*s))
        s++;
#define KW(word) (kn == sizeof(word) - 1 && memcmp(k, word, kn) == 0)
    int known =
        (index < 0 && (KW("msgctxt") || KW("msgid") || KW("msgid_plural") || KW("msgstr"))) ||
        (index >= 0 && KW("msgstr"));
    if (!known)
        return perr(p, p->line, I18N_E_SYNTAX,
                    "unknown keyword \"%.*s\" (lines start with msgid, msgstr, msgctxt, # or \")",
                    (int)(after - k), k);
    if (s == e || *s != '"' || s == after)
        return perr(p, p->line, I18N_E_SYNTAX, "%.*s needs a quoted string after it",
                    (int)(after - k), k);

    int rc;
    if (KW("msgctxt")) {
        if ((rc = entry_close(p)))
            return rc;
        entry_open(p);
        p->have_ctxt = 1;
        p->ctxt = field_begin(p, F_CTXT);
    } else if (KW("msgid_plural")) {
        if (!p->have_id)
            return perr(p, p->line, I18N_E_SYNTAX, "msgid_plural without msgid");
        if (p->have_plural)
            return perr(p, p->line, I18N_E_SYNTAX, "msgid_plural twice");
        if (p->nstr)
            return perr(p, p->line, I18N_E_SYNTAX,
                        "msgid_plural after msgstr (it goes between msgid and msgstr[0])");
        p->have_plural = 1;
        (void)field_begin(p, F_PLURAL);
    } else if (KW("msgid")) {
        if (p->have_id && (rc = entry_close(p)))
            return rc;
        if (!p->open)
            entry_open(p);
        p->have_id = 1;
        p->id_line = p->line;
        p->id = field_begin(p, F_ID);
    } else if (index < 0) { /* msgstr */
        if (!p->have_id)
            return perr(p, p->line, I18N_E_SYNTAX, "msgstr without msgid");
        if (p->have_plural)
            return perr(p, p->line, I18N_E_SYNTAX,
                        "a message with msgid_plural takes msgstr[0], not msgstr");
        if (p->nstr)
            return perr(p, p->line, I18N_E_SYNTAX, "msgstr twice");
        field_end(p); /* the msgid is complete: is this the header? */
        p->want_pieces = !p->have_ctxt && p->arena[p->id] == 0;
        p->nstr = 1;
        p->str_line = p->line;
        p->str = field_begin(p, F_STR);
    } else { /* msgstr[N] */
        if (!p->have_id)
            return perr(p, p->line, I18N_E_SYNTAX, "msgstr without msgid");
        if (!p->have_plural)
            return perr(p, p->line, I18N_E_SYNTAX, "msgstr[%d] without msgid_plural (write msgstr)",
                        index);
        if (index != p->nstr)
            return perr(p, p->line, I18N_E_SYNTAX, "msgstr[%d] out of order (expected msgstr[%d])",
                        index, p->nstr);
        size_t off = field_begin(p, index == 0 ? F_STR : F_PLURAL);
        if (index == 0) {
            p->str = off;
            p->str_line = p->line;
        }
        p->nstr++;
    }
#undef KW
    if ((rc = string_read(p, &s, e)))
        return rc;
    while (s < e && is_blank(*s))
        s++;
    if (s != e)
        return perr(p, p->line, I18N_E_SYNTAX, "text after the closing quote");
    return I18N_OK;
}

static int line_read(struct parser *p, const char *s, const char *e)
{
    for (const char *c = s; c < e; c++)
        if ((unsigned char)*c < 0x20 && *c != '\t')
            return perr(p, p->line, I18N_E_SYNTAX,
                        "control character 0x%02x in the file (only tabs are allowed)",
                        (unsigned)(unsigned char)*c);
    if (!config_utf8_valid(s, (size_t)(e - s)))
        return perr(p, p->line, I18N_E_SYNTAX, "not valid UTF-8 (save the file as UTF-8)");
    while (s < e && is_blank(*s))
        s++;
    if (s == e)
        return I18N_OK; /* blank lines separate nothing the grammar needs */
    if (*s == '#') {
        int rc = entry_close(p);
        if (rc)
            return rc;
        if (e - s >= 2 && s[1] == '~') {
            /* Obsolete entries are history; flags before them were theirs. */
            p->fuzzy = p->c_format = p->no_c_format = 0;
        } else if (e - s >= 2 && s[1] == ',') {
            flags_read(p, s + 2, e);
        }
        return I18N_OK;
    }
    if (*s == '"') {
        if (p->field == F_NONE)
            return perr(p, p->line, I18N_E_SYNTAX,
                        "a string with no msgid, msgstr or msgctxt before it");
        int rc = string_read(p, &s, e);
        if (rc)
            return rc;
        while (s < e && is_blank(*s))
            s++;
        if (s != e)
            return perr(p, p->line, I18N_E_SYNTAX, "text after the closing quote");
        return I18N_OK;
    }
    return keyword_line(p, s, e);
}

static int entry_cmp(const void *a, const void *b)
{
    const struct entry *x = a, *y = b;
    if (!x->ctxt != !y->ctxt)
        return x->ctxt ? 1 : -1;
    if (x->ctxt) {
        int c = strcmp(x->ctxt, y->ctxt);
        if (c)
            return c;
    }
    return strcmp(x->id, y->id);
}

static void lang_free(struct lang *l)
{
    if (!l)
        return;
    free(l->arena);
    free(l->e);
    free(l);
}

static int po_parse(struct lang **out, const char *name, const char *code, const char *text,
                    size_t len, char *err, size_t errlen)
{
    struct parser p = {.name = name, .err = err, .errlen = errlen, .code = code};
    int rc = I18N_OK;
    *out = NULL;
    if (len > I18N_MAX_FILE)
        return say(err, errlen, I18N_E_TOOBIG, name, 0,
                   "larger than 1 MiB (a catalog is a few kilobytes: is this the right file?)");
    p.lang = calloc(1, sizeof *p.lang);
    p.cap = len + 1;
    p.arena = malloc(p.cap);
    if (!p.lang || !p.arena) {
        rc = I18N_E_NOMEM;
        goto out;
    }
    const char *s = text, *end = text + len;
    if (len >= 3 && memcmp(s, "\xef\xbb\xbf", 3) == 0)
        s += 3; /* a byte-order mark from a Windows editor */
    while (s < end) {
        const char *nl = memchr(s, '\n', (size_t)(end - s));
        const char *e = nl ? nl : end;
        p.line++;
        const char *le = e > s && e[-1] == '\r' ? e - 1 : e;
        if ((rc = line_read(&p, s, le)))
            goto out;
        s = nl ? nl + 1 : end;
    }
    if ((rc = entry_close(&p)))
        goto out;
    if (!p.have_header) {
        rc = say(err, errlen, I18N_E_HEADER, name, 0,
                 "no header entry (msgid \"\" with Language and X-Homthu-Name): copy it from "
                 "lang/vi/messages.po");
        goto out;
    }
    if (p.n > 1) {
        qsort(p.e, p.n, sizeof *p.e, entry_cmp);
        for (size_t i = 1; i < p.n; i++)
            if (entry_cmp(&p.e[i - 1], &p.e[i]) == 0) {
                unsigned a = p.e[i - 1].line, b = p.e[i].line;
                rc = say(err, errlen, I18N_E_SYNTAX, name, a > b ? a : b,
                         "this msgid is also on line %u: keep one of them", a > b ? b : a);
                goto out;
            }
    }
    p.lang->arena = p.arena;
    p.lang->e = p.e;
    p.lang->n = p.n;
    *out = p.lang;
    return I18N_OK;
out:
    free(p.arena);
    free(p.e);
    free(p.lang);
    return rc;
}

/* ---- the set ---- */

int i18n_new(struct i18n **out)
{
    if (!out)
        return I18N_E_ARG;
    *out = calloc(1, sizeof **out);
    return *out ? I18N_OK : I18N_E_NOMEM;
}

void i18n_free(struct i18n *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->n; i++)
        lang_free(s->langs[i]);
    free(s);
}

static int lang_before(const struct lang *a, const struct lang *b)
{
    if (a->order != b->order)
        return a->order < b->order;
    return strcmp(a->code, b->code) < 0;
}

int i18n_add_po(struct i18n *s, const char *name, const char *code, const char *text, size_t len,
                char *err, size_t errlen)
{
    if (err && errlen)
        err[0] = 0;
    if (!s || !name || (!text && len))
        return I18N_E_ARG;
    if (s->n == I18N_MAX_LANGS)
        return say(err, errlen, I18N_E_TOOBIG, name, 0,
                   "more than %d languages: remove a directory from lang/", I18N_MAX_LANGS);
    struct lang *l;
    int rc = po_parse(&l, name, code, text ? text : "", len, err, errlen);
    if (rc)
        return rc;
    if (i18n_find(s, l->code) >= 0) {
        rc = say(err, errlen, I18N_E_DUP, name, 0,
                 "language \"%s\" is loaded already from another catalog: remove one", l->code);
        lang_free(l);
        return rc;
    }
    size_t at = s->n;
    while (at > 0 && lang_before(l, s->langs[at - 1])) {
        s->langs[at] = s->langs[at - 1];
        at--;
    }
    s->langs[at] = l;
    s->n++;
    return I18N_OK;
}

static int name_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Read a whole catalog file; caller frees *out. */
static int file_read(const char *path, char **out, size_t *len, char *err, size_t errlen)
{
    *out = NULL;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT)
            return say(err, errlen, I18N_E_IO, path, 0,
                       "missing: a language directory needs its messages.po (see "
                       "docs/languages.md)");
        return say(err, errlen, I18N_E_IO, path, 0, "cannot open: %s", strerror(errno));
    }
    int rc = I18N_OK;
    struct stat st;
    char *buf = NULL;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        rc = say(err, errlen, I18N_E_IO, path, 0, "not a regular file");
        goto out;
    }
    if (st.st_size > I18N_MAX_FILE) {
        rc = say(err, errlen, I18N_E_TOOBIG, path, 0,
                 "larger than 1 MiB (a catalog is a few kilobytes: is this the right file?)");
        goto out;
    }
    size_t want = (size_t)st.st_size, got = 0;
    buf = malloc(want + 1);
    if (!buf) {
        rc = I18N_E_NOMEM;
        goto out;
    }
    while (got < want) {
        ssize_t r = read(fd, buf + got, want - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            rc = say(err, errlen, I18N_E_IO, path, 0, "cannot read: %s",
                     r < 0 ? strerror(errno) : "the file shrank while being read");
            goto out;
        }
        got += (size_t)r;
    }
    *out = buf;
    *len = got;
    buf = NULL;
out:
    free(buf);
    close(fd);
    return rc;
}

int i18n_load_dir(struct i18n **out, const char *assets_dir, char *err, size_t errlen)
{
    char path[4096], msg[4096 + 512];
    char *names[MAX_DIRS];
    size_t nnames = 0;
    int first = I18N_OK, rc;
    if (err && errlen)
        err[0] = 0;
    if (!out || !assets_dir)
        return I18N_E_ARG;
    if ((rc = i18n_new(out)))
        return rc;
    snprintf(path, sizeof path, "%s/lang", assets_dir);
    DIR *d = opendir(path);
    if (!d) {
        say(msg, sizeof msg, 0, path, 0,
            "cannot open: %s (the kiosk's assets are incomplete: reinstall them)", strerror(errno));
        err_append(err, errlen, msg);
        return I18N_E_IO;
    }
    struct dirent *de;
    while ((de = readdir(d))) {
        if (de->d_name[0] == '.')
            continue;
        if (nnames == MAX_DIRS)
            break;
        if (!(names[nnames] = strdup(de->d_name))) {
            first = I18N_E_NOMEM;
            break;
        }
        nnames++;
    }
    closedir(d);
    /* In name order, so problems are listed the same way each time. */
    qsort(names, nnames, sizeof names[0], name_cmp);
    for (size_t i = 0; i < nnames && first != I18N_E_NOMEM; i++) {
        struct stat st;
        snprintf(path, sizeof path, "%s/lang/%s", assets_dir, names[i]);
        if (stat(path, &st) != 0 || !S_ISDIR(st.st_mode))
            continue; /* a README beside the languages */
        if (!code_ok(names[i], strlen(names[i]))) {
            rc = say(msg, sizeof msg, I18N_E_HEADER, path, 0,
                     "not a language code (1-8 letters, digits, - or _): rename the directory");
        } else {
            char *text;
            size_t len = 0;
            snprintf(path, sizeof path, "%s/lang/%s/messages.po", assets_dir, names[i]);
            msg[0] = 0;
            rc = file_read(path, &text, &len, msg, sizeof msg);
            if (rc == I18N_OK) {
                rc = i18n_add_po(*out, path, names[i], text, len, msg, sizeof msg);
                free(text);
            }
        }
        if (rc) {
            if (rc == I18N_E_NOMEM)
                say(msg, sizeof msg, rc, path, 0, "out of memory");
            err_append(err, errlen, msg);
            if (first == I18N_OK)
                first = rc;
        }
    }
    for (size_t i = 0; i < nnames; i++)
        free(names[i]);
    if (first == I18N_E_NOMEM) {
        /* As the header promises: out of memory leaves nothing behind. */
        i18n_free(*out);
        *out = NULL;
    }
    return first;
}

size_t i18n_count(const struct i18n *s)
{
    return s ? s->n : 0;
}

int i18n_lang(const struct i18n *s, size_t i, struct i18n_lang_info *info)
{
    if (!s || !info || i >= s->n)
        return I18N_E_ARG;
    const struct lang *l = s->langs[i];
    info->code = l->code;
    info->name = l->name;
    info->keyboard = l->keyboard;
    info->order = l->order;
    info->messages = l->n;
    return I18N_OK;
}

int i18n_find(const struct i18n *s, const char *code)
{
    if (!s || !code)
        return -1;
    for (size_t i = 0; i < s->n; i++)
        if (strcmp(s->langs[i]->code, code) == 0)
            return (int)i;
    return -1;
}

static const char *lookup(const struct i18n *s, const char *code, const char *ctxt,
                          const char *msgid)
{
    int i = i18n_find(s, code);
    if (i < 0)
        return NULL;
    const struct lang *l = s->langs[i];
    struct entry key = {ctxt, msgid, NULL, 0};
    /* bsearch over a few dozen messages: the UI asks for every label of every frame. */
    const struct entry *e = l->n ? bsearch(&key, l->e, l->n, sizeof *l->e, entry_cmp) : NULL;
    return e ? e->str : NULL;
}

const char *i18n_pget(const struct i18n *s, const char *code, const char *ctxt, const char *msgid)
{
    if (!msgid)
        return "";
    const char *r = lookup(s, code, ctxt, msgid);
    if (!r)
        r = lookup(s, I18N_FALLBACK, ctxt, msgid);
    return r ? r : msgid;
}

const char *i18n_get(const struct i18n *s, const char *code, const char *msgid)
{
    return i18n_pget(s, code, NULL, msgid);
}

int i18n_has(const struct i18n *s, const char *code, const char *msgid)
{
    return msgid && lookup(s, code, NULL, msgid) != NULL;
}
