/* json — see json.h. */
#include "station/json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

void json_init(struct json *j)
{
    memset(j, 0, sizeof *j);
    j->first[0] = 1;
}

/* The capacity lives just before the text so the free callback can wipe it all. */
static char *raw_alloc(size_t cap)
{
    size_t *p = malloc(sizeof(size_t) + cap);
    if (!p)
        return NULL;
    *p = cap;
    return (char *)(p + 1);
}

void json_free_buf(void *buf)
{
    if (!buf)
        return;
    size_t *p = (size_t *)buf - 1;
    sodium_memzero(p, sizeof(size_t) + *p);
    free(p);
}

static void put(struct json *j, const char *s, size_t n)
{
    if (j->failed)
        return;
    if (j->len + n + 1 > j->cap) {
        size_t cap = j->cap ? j->cap : 256;
        while (cap < j->len + n + 1) {
            if (cap > SIZE_MAX / 2) {
                j->failed = 1;
                return;
            }
            cap *= 2;
        }
        char *nb = raw_alloc(cap);
        if (!nb) {
            j->failed = 1;
            return;
        }
        if (j->buf) {
            memcpy(nb, j->buf, j->len);
            json_free_buf(j->buf);
        }
        j->buf = nb;
        j->cap = cap;
    }
    memcpy(j->buf + j->len, s, n);
    j->len += n;
    j->buf[j->len] = 0;
}

/* A comma before every member but the first (none after a key). */
static void member(struct json *j)
{
    if (j->after_key) {
        j->after_key = 0;
        return;
    }
    if (!j->first[j->depth])
        put(j, ",", 1);
    j->first[j->depth] = 0;
}

static void open_(struct json *j, char c)
{
    member(j);
    put(j, &c, 1);
    if (j->depth + 1 >= JSON_DEPTH) {
        j->failed = 1;
        return;
    }
    j->first[++j->depth] = 1;
    j->kind[j->depth] = c;
}

void json_obj(struct json *j) { open_(j, '{'); }
void json_arr(struct json *j) { open_(j, '['); }

void json_end(struct json *j)
{
    if (j->failed || j->depth == 0) {
        j->failed = 1;
        return;
    }
    char close = j->kind[j->depth] == '{' ? '}' : ']';
    put(j, &close, 1);
    j->depth--;
}

static size_t utf8_len(const unsigned char *s, size_t n)
{
    unsigned char c = s[0];
    size_t len;
    uint32_t cp;
    if (c < 0x80)
        return 1;
    if (c >= 0xC2 && c <= 0xDF)
        len = 2, cp = c & 0x1F;
    else if (c >= 0xE0 && c <= 0xEF)
        len = 3, cp = c & 0x0F;
    else if (c >= 0xF0 && c <= 0xF4)
        len = 4, cp = c & 0x07;
    else
        return 0;
    if (n < len)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3F);
    }
    if ((len == 3 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) ||
        (len == 4 && (cp < 0x10000 || cp > 0x10FFFF)))
        return 0;
    return len;
}

void json_strn(struct json *j, const char *s, size_t n)
{
    member(j);
    put(j, "\"", 1);
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;
    while (i < n && !j->failed) {
        unsigned char c = p[i];
        char esc[8];
        if (c == '"' || c == '\\') {
            esc[0] = '\\';
            esc[1] = (char)c;
            put(j, esc, 2);
            i++;
        } else if (c < 0x20 || c == '<' || c == '>' || c == '&' || c == 0x7F) {
            snprintf(esc, sizeof esc, "\\u%04x", c);
            put(j, esc, 6);
            i++;
        } else if (c < 0x80) {
            put(j, (const char *)p + i, 1);
            i++;
        } else {
            size_t len = utf8_len(p + i, n - i);
            if (!len) {
                put(j, "\\ufffd", 6);
                i++;
            } else if (len == 3 && p[i] == 0xE2 && p[i + 1] == 0x80 &&
                       (p[i + 2] == 0xA8 || p[i + 2] == 0xA9)) {
                put(j, p[i + 2] == 0xA8 ? "\\u2028" : "\\u2029", 6);
                i += 3;
            } else {
                put(j, (const char *)p + i, len);
                i += len;
            }
        }
    }
    put(j, "\"", 1);
}

void json_str(struct json *j, const char *s)
{
    json_strn(j, s ? s : "", s ? strlen(s) : 0);
}

void json_key(struct json *j, const char *k)
{
    json_str(j, k);
    put(j, ":", 1);
    j->after_key = 1;
}

void json_int(struct json *j, int64_t v)
{
    char b[32];
    int n = snprintf(b, sizeof b, "%lld", (long long)v);
    member(j);
    put(j, b, (size_t)n);
}

void json_num(struct json *j, double v)
{
    char b[48];
    if (!(v == v) || v > 1e15 || v < -1e15)
        v = 0; /* JSON has no NaN or infinity */
    int n = snprintf(b, sizeof b, "%.1f", v);
    member(j);
    put(j, b, (size_t)n);
}

void json_bool(struct json *j, int v)
{
    member(j);
    put(j, v ? "true" : "false", v ? 4 : 5);
}

void json_null(struct json *j)
{
    member(j);
    put(j, "null", 4);
}

void json_raw(struct json *j, const char *s, size_t n)
{
    put(j, s, n);
}

void json_kstr(struct json *j, const char *k, const char *s)
{
    json_key(j, k);
    json_str(j, s);
}

void json_kint(struct json *j, const char *k, int64_t v)
{
    json_key(j, k);
    json_int(j, v);
}

void json_kbool(struct json *j, const char *k, int v)
{
    json_key(j, k);
    json_bool(j, v);
}

char *json_take(struct json *j, size_t *len)
{
    if (j->failed || !j->buf || j->depth != 0) {
        json_done(j);
        return NULL;
    }
    char *b = j->buf;
    if (len)
        *len = j->len;
    j->buf = NULL;
    json_init(j);
    return b;
}

void json_done(struct json *j)
{
    json_free_buf(j->buf);
    json_init(j);
}
