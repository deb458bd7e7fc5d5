/* mailbox — see mailbox.h and docs/mail.md. */
#include "post/mailbox.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>
#include <sodium.h>

#include "core/errbuf.h"
#include "delivery/mailer.h"

/* errbuf_say under this file's old name, so its call sites read as before. */
#define say errbuf_say

/* ------------------------------------------------------------------ */
/* the part parser (outside input)                                     */

/* One line of buf from *pos: [*start, *start + *n) without CR LF; 0 at the end. */
static int next_line(const uint8_t *b, size_t len, size_t *pos, size_t *start, size_t *n)
{
    if (*pos >= len)
        return 0;
    const uint8_t *lf = memchr(b + *pos, '\n', len - *pos);
    size_t end = lf ? (size_t)(lf - b) : len;
    *start = *pos;
    *n = end - *pos;
    if (*n && b[*start + *n - 1] == '\r')
        (*n)--;
    *pos = lf ? end + 1 : len;
    return 1;
}

enum { F_TIP, F_PART, F_OFFSET, F_PART_BYTES, F_TOTAL, F_HASH, F_CTYPE, F_CTE, F_CDISP, NFIELDS };
#define FIELD_MAX 1024

struct fields {
    char v[NFIELDS][FIELD_MAX];
    int seen[NFIELDS];
    int too_long[NFIELDS];
    int twice; /* index + 1 of a field given twice */
};

static const char *const field_names[NFIELDS] = {
    MAILER_H_TIP,          MAILER_H_PART, MAILER_H_OFFSET, MAILER_H_PART_BYTES,
    MAILER_H_TOTAL,        MAILER_H_HASH, "Content-Type",  "Content-Transfer-Encoding",
    "Content-Disposition",
};

static void field_append(struct fields *f, int i, const uint8_t *s, size_t n, int folded)
{
    size_t have = strlen(f->v[i]);
    if (folded && have + 1 < FIELD_MAX)
        f->v[i][have++] = ' ';
    for (size_t k = 0; k < n; k++) {
        if (have + 1 >= FIELD_MAX) {
            f->too_long[i] = 1;
            break;
        }
        /* NUL or control bytes would cut or hide parts of a value: keep them visible. */
        f->v[i][have++] = (s[k] < 0x20 && s[k] != '\t') || s[k] == 0x7f ? '?' : (char)s[k];
    }
    f->v[i][have] = 0;
}

/*
 * Header block from *pos: the known fields into f, *pos after the blank
 * line. Returns 1 when a blank line ended it, 0 when the input ended.
 */
static int read_headers(const uint8_t *b, size_t len, size_t *pos, struct fields *f, int mime_only)
{
    size_t s, n;
    int cur = -1; /* field the last line belonged to, for folded lines */
    memset(f, 0, sizeof *f);
    while (next_line(b, len, pos, &s, &n)) {
        if (n == 0)
            return 1;
        if (b[s] == ' ' || b[s] == '\t') {
            if (cur >= 0)
                field_append(f, cur, b + s, n, 1);
            continue;
        }
        cur = -1;
        const uint8_t *colon = memchr(b + s, ':', n);
        if (!colon)
            continue; /* not a header line: ignored, as mail readers do */
        size_t nl = (size_t)(colon - (b + s));
        for (int i = mime_only ? F_CTYPE : 0; i < NFIELDS; i++) {
            if (strlen(field_names[i]) == nl &&
                strncasecmp((const char *)b + s, field_names[i], nl) == 0) {
                if (f->seen[i] && !f->twice)
                    f->twice = i + 1;
                f->seen[i] = 1;
                f->v[i][0] = 0;
                cur = i;
                field_append(f, i, colon + 1, n - nl - 1, 0);
                break;
            }
        }
    }
    return 0;
}

static char *trim(char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    size_t n = strlen(s);
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
        s[--n] = 0;
    return s;
}

static int hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

static int parse_hex(const char *s, uint8_t *out, size_t n)
{
    if (strlen(s) != 2 * n)
        return -1;
    for (size_t i = 0; i < n; i++) {
        int hi = hex_value(s[2 * i]), lo = hex_value(s[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return -1;
        out[i] = (uint8_t)(hi << 4 | lo);
    }
    return 0;
}

/* A decimal number of at most 10 digits, nothing else. */
static int parse_u64(const char *s, uint64_t *out)
{
    size_t n = strlen(s);
    if (n == 0 || n > 10 || strspn(s, "0123456789") != n)
        return -1;
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++)
        v = v * 10 + (uint64_t)(s[i] - '0');
    *out = v;
    return 0;
}

/* The boundary parameter of a multipart/mixed Content-Type, into out (<= 70 chars). */
static int boundary_of(char *ctype, char out[80])
{
    char *v = trim(ctype);
    if (strncasecmp(v, "multipart/mixed", 15) != 0)
        return -1;
    char *p = v + 15;
    while (*p) {
        while (*p == ';' || *p == ' ' || *p == '\t')
            p++;
        if (strncasecmp(p, "boundary=", 9) == 0) {
            p += 9;
            size_t n;
            if (*p == '"') {
                p++;
                char *q = strchr(p, '"');
                if (!q)
                    return -1;
                n = (size_t)(q - p);
            } else {
                n = strcspn(p, "; \t");
            }
            if (n == 0 || n > 70)
                return -1;
            memcpy(out, p, n);
            out[n] = 0;
            return 0;
        }
        p += strcspn(p, ";");
    }
    return -1;
}

/* Is line [s, s + n) of b the delimiter "--boundary" (last: "--boundary--")? */
static int is_delimiter(const uint8_t *b, size_t s, size_t n, const char *bd, int *last)
{
    size_t bl = strlen(bd);
    if (n < bl + 2 || b[s] != '-' || b[s + 1] != '-' || memcmp(b + s + 2, bd, bl) != 0)
        return 0;
    size_t k = s + 2 + bl, end = s + n;
    *last = 0;
    if (end - k >= 2 && b[k] == '-' && b[k + 1] == '-') {
        *last = 1;
        k += 2;
    }
    for (; k < end; k++) /* transport padding: spaces and tabs only */
        if (b[k] != ' ' && b[k] != '\t')
            return 0;
    return 1;
}

void mailbox_part_clear(struct mailbox_part *p)
{
    if (!p)
        return;
    if (p->bytes) {
        sodium_memzero(p->bytes, p->len);
        free(p->bytes);
    }
    memset(p, 0, sizeof *p);
}

/* The checked X-Homthu-* fields into out. */
static int check_fields(struct fields *f, struct mailbox_part *out, char *err, size_t errlen)
{
    if (f->twice)
        return say(err, errlen, MAILBOX_E_FORMAT, "the header %s appears twice",
                   field_names[f->twice - 1]);
    for (int i = F_TIP; i <= F_HASH; i++) {
        if (!f->seen[i])
            return say(err, errlen, MAILBOX_E_FORMAT, "the header %s is missing", field_names[i]);
        if (f->too_long[i])
            return say(err, errlen, MAILBOX_E_FORMAT, "the header %s is too long", field_names[i]);
    }
    if (parse_hex(trim(f->v[F_TIP]), out->tip_id, 16))
        return say(err, errlen, MAILBOX_E_FORMAT, "%s is not 32 hex digits", MAILER_H_TIP);
    char *part = trim(f->v[F_PART]);
    char *slash = strchr(part, '/');
    uint64_t i = 0, n = 0;
    if (!slash)
        return say(err, errlen, MAILBOX_E_FORMAT, "%s is not i/n", MAILER_H_PART);
    *slash = 0;
    if (parse_u64(part, &i) || parse_u64(slash + 1, &n) || i < 1 || i > n || n > MAILER_MAX_PARTS)
        return say(err, errlen, MAILBOX_E_FORMAT, "%s is not i/n with 1 <= i <= n <= %d",
                   MAILER_H_PART, MAILER_MAX_PARTS);
    out->index = (uint32_t)i;
    out->count = (uint32_t)n;
    if (parse_u64(trim(f->v[F_OFFSET]), &out->offset) ||
        parse_u64(trim(f->v[F_PART_BYTES]), &out->part_bytes) ||
        parse_u64(trim(f->v[F_TOTAL]), &out->total))
        return say(err, errlen, MAILBOX_E_FORMAT, "an offset or size header is not a number");
    if (out->total == 0 || out->total > MAILBOX_MAX_TIP)
        return say(err, errlen, MAILBOX_E_FORMAT, "%s is 0 or above the %u bytes a tip may have",
                   MAILER_H_TOTAL, MAILBOX_MAX_TIP);
    if (out->part_bytes == 0 || out->offset >= out->total ||
        out->part_bytes > out->total - out->offset)
        return say(err, errlen, MAILBOX_E_FORMAT, "the part's bytes do not fit in the tip");
    if (parse_hex(trim(f->v[F_HASH]), out->hash, 32))
        return say(err, errlen, MAILBOX_E_FORMAT, "%s is not 64 hex digits", MAILER_H_HASH);
    return 0;
}

int mailbox_parse(const uint8_t *msg, size_t len, int headers_only, struct mailbox_part *out,
                  char *err, size_t errlen)
{
    if (!msg || !out)
        return say(err, errlen, MAILBOX_E_ARG, "mailbox: missing argument");
    memset(out, 0, sizeof *out);
    if (len > MAILBOX_MAX_MESSAGE)
        return say(err, errlen, MAILBOX_E_FORMAT, "the mail is larger than %u bytes",
                   MAILBOX_MAX_MESSAGE);
    struct fields *f = malloc(sizeof *f);
    if (!f)
        return say(err, errlen, MAILBOX_E_NOMEM, "out of memory");
    size_t pos = 0;
    int rc;
    int ended = read_headers(msg, len, &pos, f, 0);
    if (!f->seen[F_TIP]) {
        rc = say(err, errlen, MAILBOX_E_FOREIGN, "not a Hòm thư tip (no %s header)", MAILER_H_TIP);
        goto out;
    }
    if (pos > MAILBOX_MAX_HEADER) {
        rc = say(err, errlen, MAILBOX_E_FORMAT, "the header block is larger than %u bytes",
                 MAILBOX_MAX_HEADER);
        goto out;
    }
    if ((rc = check_fields(f, out, err, errlen)))
        goto out;
    if (headers_only) {
        rc = 0;
        goto out;
    }
    if (!ended) {
        rc = say(err, errlen, MAILBOX_E_FORMAT, "the mail has headers but no body");
        goto out;
    }
    char bd[80];
    if (!f->seen[F_CTYPE] || f->too_long[F_CTYPE] || boundary_of(f->v[F_CTYPE], bd)) {
        rc = say(err, errlen, MAILBOX_E_FORMAT,
                 "the mail is not multipart/mixed with a boundary (was it changed on the way?)");
        goto out;
    }

    /* Walk the body parts; the first base64 application/octet-stream one holds the bytes. */
    size_t s, n, b64_start = 0, b64_end = 0;
    int found = 0, in_attachment = 0, closed = 0;
    struct fields *pf = malloc(sizeof *pf);
    if (!pf) {
        rc = say(err, errlen, MAILBOX_E_NOMEM, "out of memory");
        goto out;
    }
    while (next_line(msg, len, &pos, &s, &n)) {
        int last = 0;
        if (is_delimiter(msg, s, n, bd, &last)) {
            if (in_attachment) {
                b64_end = s;
                in_attachment = 0;
                found++;
            }
            if (last) {
                closed = 1;
                break;
            }
            read_headers(msg, len, &pos, pf, 1);
            int b64 = pf->seen[F_CTE] && strcasecmp(trim(pf->v[F_CTE]), "base64") == 0;
            int octets = pf->seen[F_CTYPE] &&
                         strncasecmp(trim(pf->v[F_CTYPE]), "application/octet-stream", 24) == 0;
            if (b64 && octets) {
                if (found) {
                    found = 2; /* a second attachment: refuse below */
                    break;
                }
                in_attachment = 1;
                b64_start = pos;
            }
        }
    }
    free(pf);
    if (found > 1) {
        rc = say(err, errlen, MAILBOX_E_FORMAT, "the mail holds more than one attachment");
        goto out;
    }
    if (in_attachment || (found == 1 && !closed)) {
        rc = say(err, errlen, MAILBOX_E_FORMAT,
                 "the mail ends before its closing boundary (cut short on the way?)");
        goto out;
    }
    if (found == 0) {
        rc = say(err, errlen, MAILBOX_E_FORMAT, "the mail holds no base64 attachment");
        goto out;
    }
    /* Drop the line end before the delimiter and any trailing blanks. */
    while (b64_end > b64_start && (msg[b64_end - 1] == '\n' || msg[b64_end - 1] == '\r' ||
                                   msg[b64_end - 1] == ' ' || msg[b64_end - 1] == '\t'))
        b64_end--;
    out->bytes = malloc(out->part_bytes ? (size_t)out->part_bytes : 1);
    if (!out->bytes) {
        rc = say(err, errlen, MAILBOX_E_NOMEM, "out of memory");
        goto out;
    }
    const char *endp = NULL;
    size_t got = 0;
    if (sodium_base642bin(out->bytes, (size_t)out->part_bytes, (const char *)msg + b64_start,
                          b64_end - b64_start, " \t\r\n", &got, &endp,
                          sodium_base64_VARIANT_ORIGINAL) != 0 ||
        endp != (const char *)msg + b64_end) {
        rc = say(err, errlen, MAILBOX_E_FORMAT,
                 "the attachment is not valid base64 of %llu bytes (damaged on the way?)",
                 (unsigned long long)out->part_bytes);
        goto out;
    }
    out->len = got;
    if (got != out->part_bytes) {
        rc = say(err, errlen, MAILBOX_E_FORMAT,
                 "the attachment holds %zu bytes, not the %llu "
                 "its header says",
                 got, (unsigned long long)out->part_bytes);
        goto out;
    }
    uint8_t h[32];
    crypto_generichash(h, sizeof h, out->bytes, out->len, NULL, 0);
    if (sodium_memcmp(h, out->hash, 32) != 0) {
        rc = say(err, errlen, MAILBOX_E_FORMAT,
                 "the attachment does not match its hash (damaged on the way)");
        goto out;
    }
    rc = 0;
out:
    free(f);
    if (rc)
        mailbox_part_clear(out);
    return rc;
}

/* ------------------------------------------------------------------ */
/* pulling                                                             */

struct entry {
    uint32_t uid;
    struct mailbox_part p; /* headers only */
    int kind;              /* 0 ours, MAILBOX_E_FOREIGN, MAILBOX_E_FORMAT */
    int chosen;            /* covers bytes no earlier part covered */
};

static int by_tip(const void *a, const void *b)
{
    const struct entry *x = a, *y = b;
    if (x->kind != y->kind)
        return x->kind > y->kind ? -1 : 1; /* ours (0) first */
    int c = memcmp(x->p.tip_id, y->p.tip_id, 16);
    if (c)
        return c;
    if (x->p.total != y->p.total)
        return x->p.total < y->p.total ? -1 : 1;
    if (x->p.offset != y->p.offset)
        return x->p.offset < y->p.offset ? -1 : 1;
    if (x->p.part_bytes != y->p.part_bytes) /* the longer first: it covers more */
        return x->p.part_bytes > y->p.part_bytes ? -1 : 1;
    return x->uid < y->uid ? -1 : x->uid > y->uid;
}

static void note(struct mailbox_report *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void note(struct mailbox_report *r, const char *fmt, ...)
{
    if (!r->note)
        return;
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    r->note(r->note_ctx, line);
}

/* Mark the uids of entries [a, b) (all, or only kind `kind`) with op. */
static int mark(const struct mailbox_port *p, struct entry *e, size_t a, size_t b,
                enum mailbox_flag_op op, char *err, size_t errlen)
{
    if (b <= a)
        return 0;
    uint32_t *uids = malloc((b - a) * sizeof *uids);
    if (!uids)
        return say(err, errlen, MAILBOX_E_NOMEM, "out of memory");
    for (size_t i = a; i < b; i++)
        uids[i - a] = e[i].uid;
    int rc = p->flag(p->ctx, uids, b - a, op, err, errlen);
    free(uids);
    return rc ? MAILBOX_E_SERVER : 0;
}

/*
 * One tip: entries [a, b), same tip id and total, sorted by offset. 1 when
 * stored, 0 when left for later; negative on a server failure.
 */
static int pull_tip(const struct mailbox_port *p, struct entry *e, size_t a, size_t b,
                    mailbox_store_fn store, void *ctx, struct mailbox_report *r, char *err,
                    size_t errlen)
{
    char sid[33];
    errbuf_hex(sid, e[a].p.tip_id, 16);
    sid[8] = 0;
    uint64_t total = e[a].p.total, cover = 0;
    for (size_t i = a; i < b; i++) {
        e[i].chosen = 0;
        if (e[i].p.offset > cover)
            break; /* a gap: nothing after it helps until the gap is filled */
        if (e[i].p.offset + e[i].p.part_bytes > cover) {
            e[i].chosen = 1;
            cover = e[i].p.offset + e[i].p.part_bytes;
        } else {
            r->duplicates++;
        }
    }
    if (cover < total) {
        /* Say which parts are here, by the kiosk's numbering. */
        char have[256] = "";
        size_t hl = 0;
        uint32_t count = e[a].p.count;
        for (size_t i = a; i < b && hl + 16 < sizeof have; i++) {
            if (i > a && e[i].p.index == e[i - 1].p.index)
                continue;
            hl += (size_t)snprintf(have + hl, sizeof have - hl, "%s%u", i > a ? ", " : "",
                                   e[i].p.index);
        }
        r->incomplete++;
        note(r,
             "tip %s is incomplete: part%s %s of %u here, %llu of %llu bytes in a row; left "
             "unread until the rest arrives (pull again later)",
             sid, b - a == 1 ? "" : "s", have, count, (unsigned long long)cover,
             (unsigned long long)total);
        return mark(p, e, a, b, MAILBOX_MARK_UNREAD, err, errlen);
    }

    uint8_t *env = malloc((size_t)total);
    if (!env)
        return say(err, errlen, MAILBOX_E_NOMEM, "out of memory for a tip of %llu bytes",
                   (unsigned long long)total);
    int rc = 0, bad = 0;
    char why[512] = "";
    for (size_t i = a; i < b && !bad && rc == 0; i++) {
        if (!e[i].chosen)
            continue;
        /* This part, or failing that another copy of it (the same part mailed twice). */
        int ok = 0;
        for (size_t j = i; j < b && !ok; j++) {
            if (j != i && (e[j].chosen || e[j].p.offset != e[i].p.offset ||
                           e[j].p.part_bytes != e[i].p.part_bytes))
                continue;
            uint8_t *msg = NULL;
            size_t len = 0;
            if (p->fetch(p->ctx, e[j].uid, 0, &msg, &len, err, errlen)) {
                rc = MAILBOX_E_SERVER;
                break;
            }
            struct mailbox_part full;
            int prc = mailbox_parse(msg, len, 0, &full, why, sizeof why);
            free(msg);
            if (prc == 0 &&
                (memcmp(full.tip_id, e[j].p.tip_id, 16) || full.offset != e[j].p.offset ||
                 full.total != total || full.part_bytes != e[j].p.part_bytes)) {
                prc = MAILBOX_E_FORMAT;
                snprintf(why, sizeof why, "its headers changed between two reads");
            }
            if (prc) {
                r->damaged++;
                note(r, "tip %s: part %u/%u (mail UID %u) cannot be used: %s", sid, e[j].p.index,
                     e[j].p.count, e[j].uid, why);
            } else {
                memcpy(env + full.offset, full.bytes, full.len);
                ok = 1;
            }
            mailbox_part_clear(&full);
        }
        if (!ok && rc == 0) {
            bad = 1;
            note(r, "tip %s: no good copy of part %u/%u; its mails stay unread", sid, e[i].p.index,
                 e[i].p.count);
        }
    }
    if (rc == 0 && !bad) {
        why[0] = 0;
        if (store(ctx, e[a].p.tip_id, env, (size_t)total, why, sizeof why) == 0) {
            r->tips++;
            rc = mark(p, e, a, b, MAILBOX_MARK_DONE, err, errlen);
            if (rc == 0)
                rc = 1;
        } else {
            r->failed++;
            note(r, "tip %s was not stored: %s; its mails stay unread", sid,
                 why[0] ? why : "no reason given");
            rc = mark(p, e, a, b, MAILBOX_MARK_UNREAD, err, errlen);
        }
    } else if (rc == 0) {
        rc = mark(p, e, a, b, MAILBOX_MARK_UNREAD, err, errlen);
    }
    sodium_memzero(env, (size_t)total);
    free(env);
    return rc;
}

int mailbox_pull(const struct mailbox_port *p, int all, mailbox_store_fn store, void *store_ctx,
                 struct mailbox_report *rep, char *err, size_t errlen)
{
    if (!p || !p->search || !p->fetch || !p->flag || !store || !rep)
        return say(err, errlen, MAILBOX_E_ARG, "mailbox: missing argument");
    uint32_t *uids = NULL;
    size_t n = 0;
    if (p->search(p->ctx, all, &uids, &n, err, errlen))
        return MAILBOX_E_SERVER;
    if (n == 0) {
        free(uids);
        return 0;
    }
    struct entry *e = calloc(n, sizeof *e);
    if (!e) {
        free(uids);
        return say(err, errlen, MAILBOX_E_NOMEM, "out of memory");
    }
    int rc = 0;
    char why[512];
    /* Tag before reading: a crash after the fetch set \Seen still finds these again. */
    if (p->flag(p->ctx, uids, n, MAILBOX_MARK_PENDING, why, sizeof why))
        note(rep,
             "note: the mailbox does not take the keyword " MAILBOX_PENDING_KEYWORD " (%s); if "
             "this pull is interrupted, run pull --imap --all to find every tip again",
             why);
    for (size_t i = 0; i < n; i++) {
        uint8_t *msg = NULL;
        size_t len = 0;
        e[i].uid = uids[i];
        if (p->fetch(p->ctx, uids[i], 1, &msg, &len, err, errlen)) {
            rc = MAILBOX_E_SERVER;
            goto out; /* still tagged pending: the next pull finds them */
        }
        e[i].kind = mailbox_parse(msg, len, 1, &e[i].p, why, sizeof why);
        free(msg);
        if (e[i].kind == MAILBOX_E_FORMAT) {
            rep->damaged++;
            note(rep, "mail UID %u looks like a tip but %s; left unread", uids[i], why);
        } else if (e[i].kind == MAILBOX_E_FOREIGN) {
            rep->foreign++;
        } else if (e[i].kind) {
            rc = say(err, errlen, e[i].kind, "%s", why);
            goto out;
        }
    }
    qsort(e, n, sizeof *e, by_tip);
    size_t a = 0;
    while (a < n && e[a].kind == 0) {
        size_t b = a + 1;
        while (b < n && e[b].kind == 0 && memcmp(e[b].p.tip_id, e[a].p.tip_id, 16) == 0 &&
               e[b].p.total == e[a].p.total)
            b++;
        int trc = pull_tip(p, e, a, b, store, store_ctx, rep, err, errlen);
        if (trc < 0) {
            rc = trc;
            goto out;
        }
        a = b;
    }
    if (a < n) {
        if (rep->foreign)
            note(rep, "%u mail%s in the mailbox %s not Hòm thư tips: left unread for a person",
                 rep->foreign, rep->foreign == 1 ? "" : "s", rep->foreign == 1 ? "is" : "are");
        if ((rc = mark(p, e, a, n, MAILBOX_MARK_UNREAD, err, errlen)))
            goto out;
    }
out:
    free(uids);
    free(e);
    return rc;
}

/* ------------------------------------------------------------------ */
/* IMAP over libcurl                                                   */

struct imap {
    CURL *c;
    char *base; /* imap[s]://host[:port]/MAILBOX */
    char *user, *password, *ca_file;
    int no_keywords;
    /* response of the current request */
    uint8_t *buf;
    size_t len, cap;
    int toobig;
};

static size_t write_cb(char *data, size_t size, size_t nmemb, void *ctx)
{
    struct imap *m = ctx;
    size_t n = size * nmemb;
    if (m->len + n > MAILBOX_MAX_MESSAGE + 4096) {
        m->toobig = 1;
        return 0; /* aborts the transfer */
    }
    if (m->len + n + 1 > m->cap) {
        size_t cap = m->cap ? m->cap : 65536;
        while (cap < m->len + n + 1)
            cap *= 2;
        uint8_t *b = realloc(m->buf, cap);
        if (!b)
            return 0;
        m->buf = b;
        m->cap = cap;
    }
    memcpy(m->buf + m->len, data, n);
    m->len += n;
    m->buf[m->len] = 0;
    return n;
}

/* One request: url (NULL: the mailbox), custom command (NULL: a fetch). */
static int imap_do(struct imap *m, const char *url, const char *custom, char *err, size_t errlen)
{
    char ebuf[CURL_ERROR_SIZE] = "";
    m->len = 0;
    m->toobig = 0;
    curl_easy_setopt(m->c, CURLOPT_URL, url ? url : m->base);
    curl_easy_setopt(m->c, CURLOPT_CUSTOMREQUEST, custom);
    curl_easy_setopt(m->c, CURLOPT_ERRORBUFFER, ebuf);
    CURLcode cc = curl_easy_perform(m->c);
    curl_easy_setopt(m->c, CURLOPT_ERRORBUFFER, NULL);
    if (cc == CURLE_OK)
        return 0;
    const char *hint = "";
    if (m->toobig)
        hint = " (a mail larger than any tip part: not ours)";
    else if (cc == CURLE_LOGIN_DENIED)
        hint = " (check the IMAP user and password)";
    else if (cc == CURLE_USE_SSL_FAILED)
        hint = " (the server offers no STARTTLS: use imaps://)";
    else if (cc == CURLE_PEER_FAILED_VERIFICATION || cc == CURLE_SSL_CACERT_BADFILE)
        hint = " (the server's certificate is not trusted: check --ca-file)";
    else if (cc == CURLE_COULDNT_CONNECT || cc == CURLE_COULDNT_RESOLVE_HOST ||
             cc == CURLE_OPERATION_TIMEDOUT)
        hint = " (no link to the mail server: check the address and the network)";
    return say(err, errlen, MAILBOX_E_SERVER, "IMAP %s: %s%s", custom ? custom : "FETCH",
               ebuf[0] ? ebuf : curl_easy_strerror(cc), hint);
}

static int imap_search(void *ctx, int all, uint32_t **uids, size_t *n, char *err, size_t errlen)
{
    struct imap *m = ctx;
    *uids = NULL;
    *n = 0;
    const char *cmd = all              ? "UID SEARCH ALL"
                      : m->no_keywords ? "UID SEARCH UNSEEN"
                                       : "UID SEARCH OR UNSEEN KEYWORD " MAILBOX_PENDING_KEYWORD;
    int rc = imap_do(m, NULL, cmd, err, errlen);
    if (rc)
        return rc;
    size_t cap = 0;
    size_t pos = 0, s, ln;
    while (next_line(m->buf, m->len, &pos, &s, &ln)) {
        if (ln < 8 || strncasecmp((const char *)m->buf + s, "* SEARCH", 8) != 0)
            continue;
        const char *p = (const char *)m->buf + s + 8, *end = (const char *)m->buf + s + ln;
        while (p < end) {
            while (p < end && *p == ' ')
                p++;
            uint64_t v = 0;
            int digits = 0;
            while (p < end && *p >= '0' && *p <= '9' && digits < 11) {
                v = v * 10 + (uint64_t)(*p++ - '0');
                digits++;
            }
            if (!digits || v == 0 || v > UINT32_MAX)
                break;
            if (*n == cap) {
                cap = cap ? cap * 2 : 64;
                uint32_t *u = realloc(*uids, cap * sizeof *u);
                if (!u) {
                    free(*uids);
                    *uids = NULL;
                    *n = 0;
                    return say(err, errlen, MAILBOX_E_NOMEM, "out of memory");
                }
                *uids = u;
            }
            (*uids)[(*n)++] = (uint32_t)v;
        }
    }
    return 0;
}

static int imap_fetch(void *ctx, uint32_t uid, int headers_only, uint8_t **msg, size_t *len,
                      char *err, size_t errlen)
{
    struct imap *m = ctx;
    char url[2048];
    snprintf(url, sizeof url, "%s/;UID=%u%s", m->base, uid, headers_only ? "/;SECTION=HEADER" : "");
    int rc = imap_do(m, url, NULL, err, errlen);
    if (rc)
        return rc;
    *msg = malloc(m->len ? m->len : 1);
    if (!*msg)
        return say(err, errlen, MAILBOX_E_NOMEM, "out of memory");
    memcpy(*msg, m->buf, m->len);
    *len = m->len;
    sodium_memzero(m->buf, m->len);
    return 0;
}

static int imap_store(struct imap *m, const uint32_t *uids, size_t n, const char *what, char *err,
                      size_t errlen)
{
    /* In batches, so that no command line grows without bound. */
    for (size_t a = 0; a < n; a += 200) {
        char cmd[4096];
        size_t l = (size_t)snprintf(cmd, sizeof cmd, "UID STORE ");
        for (size_t i = a; i < n && i < a + 200; i++)
            l += (size_t)snprintf(cmd + l, sizeof cmd - l, "%s%u", i > a ? "," : "", uids[i]);
        snprintf(cmd + l, sizeof cmd - l, " %s", what);
        int rc = imap_do(m, NULL, cmd, err, errlen);
        if (rc)
            return rc;
    }
    return 0;
}

static int imap_flag(void *ctx, const uint32_t *uids, size_t n, enum mailbox_flag_op op, char *err,
                     size_t errlen)
{
    struct imap *m = ctx;
    int rc;
    switch (op) {
    case MAILBOX_MARK_PENDING:
        if (m->no_keywords)
            return 0;
        rc = imap_store(m, uids, n, "+FLAGS.SILENT (" MAILBOX_PENDING_KEYWORD ")", err, errlen);
        if (rc)
            m->no_keywords = 1;
        return rc;
    case MAILBOX_MARK_DONE:
        rc = imap_store(m, uids, n, "+FLAGS.SILENT (\\Seen)", err, errlen);
        if (rc == 0 && !m->no_keywords)
            rc = imap_store(m, uids, n, "-FLAGS.SILENT (" MAILBOX_PENDING_KEYWORD ")", err, errlen);
        return rc;
    case MAILBOX_MARK_UNREAD:
        return imap_store(m, uids, n,
                          m->no_keywords ? "-FLAGS.SILENT (\\Seen)"
                                         : "-FLAGS.SILENT (\\Seen " MAILBOX_PENDING_KEYWORD ")",
                          err, errlen);
    }
    return say(err, errlen, MAILBOX_E_ARG, "mailbox: unknown flag operation");
}

void mailbox_imap_free(struct mailbox_port *p)
{
    if (!p || !p->ctx)
        return;
    struct imap *m = p->ctx;
    if (m->c)
        curl_easy_cleanup(m->c);
    if (m->password)
        sodium_memzero(m->password, strlen(m->password));
    if (m->buf)
        sodium_memzero(m->buf, m->cap);
    free(m->buf);
    free(m->base);
    free(m->user);
    free(m->password);
    free(m->ca_file);
    free(m);
    memset(p, 0, sizeof *p);
}

int mailbox_imap_new(struct mailbox_port *out, const struct mailbox_imap_opts *o, char *err,
                     size_t errlen)
{
    if (!out || !o || !o->url)
        return say(err, errlen, MAILBOX_E_ARG, "mailbox: missing argument");
    memset(out, 0, sizeof *out);
    const char *rest;
    if (strncmp(o->url, "imaps://", 8) == 0)
        rest = o->url + 8;
    else if (strncmp(o->url, "imap://", 7) == 0)
        rest = o->url + 7;
    else
        return say(err, errlen, MAILBOX_E_ARG,
                   "%s is not an IMAP address: use imaps://host/INBOX (or imap://host, which "
                   "must offer STARTTLS)",
                   o->url);
    for (const char *q = o->url; *q; q++)
        if ((unsigned char)*q <= 0x20 || (unsigned char)*q >= 0x7f || *q == '"' || *q == '\\' ||
            *q == ';' || *q == '?' || *q == '#')
            return say(err, errlen, MAILBOX_E_ARG,
                       "the IMAP address %s holds a character it may not (space, quote, ;, ?, #)",
                       o->url);
    if (!*rest || *rest == '/')
        return say(err, errlen, MAILBOX_E_ARG, "the IMAP address %s has no host", o->url);
    struct imap *m = calloc(1, sizeof *m);
    if (!m)
        return say(err, errlen, MAILBOX_E_NOMEM, "out of memory");
    out->ctx = m;
    out->search = imap_search;
    out->fetch = imap_fetch;
    out->flag = imap_flag;
    /* The mailbox: the path of the URL, INBOX when there is none. */
    size_t ul = strlen(o->url);
    while (ul && o->url[ul - 1] == '/')
        ul--;
    const char *slash = strchr(rest, '/');
    int has_box = slash && (size_t)(slash - o->url) + 1 < ul;
    size_t cap = ul + 8;
    m->base = malloc(cap);
    m->user = o->user ? strdup(o->user) : NULL;
    m->password = o->password ? strdup(o->password) : NULL;
    m->ca_file = o->ca_file && *o->ca_file ? strdup(o->ca_file) : NULL;
    m->c = curl_easy_init();
    if (!m->base || (o->user && !m->user) || (o->password && !m->password) ||
        (o->ca_file && *o->ca_file && !m->ca_file) || !m->c) {
        mailbox_imap_free(out);
        return say(err, errlen, MAILBOX_E_NOMEM, "out of memory");
    }
    snprintf(m->base, cap, "%.*s%s", (int)ul, o->url, has_box ? "" : "/INBOX");
    CURL *c = m->c;
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "imap,imaps");
    curl_easy_setopt(c, CURLOPT_USE_SSL, (long)CURLUSESSL_ALL);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
    if (m->ca_file)
        curl_easy_setopt(c, CURLOPT_CAINFO, m->ca_file);
    if (m->user)
        curl_easy_setopt(c, CURLOPT_USERNAME, m->user);
    if (m->password)
        curl_easy_setopt(c, CURLOPT_PASSWORD, m->password);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, write_cb);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, m);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 30L);
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, 120L);
    return 0;
}
