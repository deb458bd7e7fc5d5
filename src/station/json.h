/*
 * json — writing the station's JSON answers. Not a parser: the page sends
 * forms (libmicrohttpd reads them), so nothing here reads outside input.
 *
 * Strings are escaped for a page that shows tip text typed by anyone:
 * quotes, backslashes and control characters, and also < > & U+2028 U+2029
 * as \u escapes (the answer stays inert even if something treats it as
 * HTML or script), and any byte that is not valid UTF-8 becomes U+FFFD.
 *
 * The buffer may hold decrypted text: it grows by copying and wiping the
 * old one (never realloc), and json_take() hands it over with a free
 * function that wipes it, for libmicrohttpd's free callback.
 *
 * Out of memory is sticky: every later call does nothing, json_take()
 * returns NULL.
 */
#ifndef HOMTHU_JSON_H
#define HOMTHU_JSON_H

#include <stddef.h>
#include <stdint.h>

#define JSON_DEPTH 16

struct json {
    char *buf; /* after a hidden size_t holding the capacity */
    size_t len, cap;
    int failed;
    int depth;
    unsigned char first[JSON_DEPTH]; /* no member yet at this depth */
    char kind[JSON_DEPTH];           /* '{' or '[' opened at this depth */
    int after_key;
};

void json_init(struct json *j);
void json_obj(struct json *j);        /* { */
void json_arr(struct json *j);        /* [ */
void json_end(struct json *j);        /* } or ] */
void json_key(struct json *j, const char *k);
void json_str(struct json *j, const char *s);
void json_strn(struct json *j, const char *s, size_t n);
void json_int(struct json *j, int64_t v);
void json_num(struct json *j, double v); /* one decimal place is enough for seconds */
void json_bool(struct json *j, int v);
void json_null(struct json *j);
/* Shorthands: "k": value. */
void json_kstr(struct json *j, const char *k, const char *s);
void json_kint(struct json *j, const char *k, int64_t v);
void json_kbool(struct json *j, const char *k, int v);

/* Text as it is, unescaped (the CSV answer uses the same wiped buffer). */
void json_raw(struct json *j, const char *s, size_t n);

/* The text (NUL-terminated) and its length; j is empty afterwards. NULL on failure. */
char *json_take(struct json *j, size_t *len);
/* Wipe and free a json_take() buffer (or j's own when not taken). */
void json_free_buf(void *buf);
void json_done(struct json *j);

#endif
