/* http — see http.h. */
#include "station/http.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#define ARENA_BYTES (HTTP_BODY_MAX + HTTP_FIELDS_MAX)

static enum MHD_Result on_field(void *cls, enum MHD_ValueKind kind, const char *key,
                                const char *filename, const char *content_type,
                                const char *transfer_encoding, const char *data, uint64_t off,
                                size_t size)
{
    (void)kind, (void)content_type, (void)transfer_encoding;
    struct http_req *r = cls;
    if (filename) { /* the page never uploads files */
        r->bad_form = 1;
        return MHD_NO;
    }
    struct http_field *f;
    if (off == 0) {
        if (r->nf == HTTP_FIELDS_MAX || strlen(key) >= sizeof r->f[0].name ||
            r->used + 1 > ARENA_BYTES) {
            r->bad_form = 1;
            return MHD_NO;
        }
        f = &r->f[r->nf++];
        snprintf(f->name, sizeof f->name, "%s", key);
        f->value = r->arena + r->used;
        f->len = 0;
        r->used++; /* its NUL */
        f->value[0] = 0;
    } else {
        if (!r->nf) {
            r->bad_form = 1;
            return MHD_NO;
        }
        f = &r->f[r->nf - 1];
    }
    /* The values are laid end to end: only the last one can grow. */
    if (f->value + f->len + 1 != r->arena + r->used || size > ARENA_BYTES - r->used) {
        r->bad_form = 1;
        return MHD_NO;
    }
    memcpy(f->value + f->len, data, size);
    f->len += size;
    f->value[f->len] = 0;
    r->used += size;
    return MHD_YES;
}

struct http_req *http_req_new(struct MHD_Connection *con, const char *method)
{
    struct http_req *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    if (strcmp(method, "POST") == 0) {
        r->post = 1;
        r->arena = sodium_malloc(ARENA_BYTES);
        if (!r->arena) {
            free(r);
            return NULL;
        }
        /* NULL for a body that is not a form: the handler answers 400. */
        r->pp = MHD_create_post_processor(con, 4096, on_field, r);
        if (!r->pp)
            r->bad_form = 1;
    }
    return r;
}

void http_req_feed(struct http_req *r, const char *data, size_t len)
{
    r->body += len;
    if (r->body > HTTP_BODY_MAX) {
        r->too_big = 1;
        return;
    }
    if (r->pp && !r->bad_form && MHD_post_process(r->pp, data, len) != MHD_YES)
        r->bad_form = 1;
}

void http_req_free(struct http_req *r)
{
    if (!r)
        return;
    if (r->pp)
        MHD_destroy_post_processor(r->pp);
    sodium_free(r->arena); /* wipes */
    free(r);
}

const char *http_field(const struct http_req *r, const char *name)
{
    for (size_t i = 0; r && i < r->nf; i++)
        if (strcmp(r->f[i].name, name) == 0)
            return r->f[i].value;
    return NULL;
}

/* ---- answers ---- */

/*
 * The page is the program's own files only: no inline script or style, no
 * frames, nothing from elsewhere. A tip's text that slipped past escaping
 * still could not run.
 */
#define CSP                                                                                        \
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "             \
    "media-src 'self'; font-src 'self'; connect-src 'self'; frame-ancestors 'none'; "             \
    "base-uri 'none'; form-action 'none'"

void http_security_headers(struct MHD_Response *resp)
{
    MHD_add_response_header(resp, "Content-Security-Policy", CSP);
    MHD_add_response_header(resp, "X-Frame-Options", "DENY");
    MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(resp, "Referrer-Policy", "no-referrer");
    MHD_add_response_header(resp, "Cross-Origin-Opener-Policy", "same-origin");
    MHD_add_response_header(resp, "Cross-Origin-Resource-Policy", "same-origin");
}

enum MHD_Result http_queue(struct MHD_Connection *con, unsigned status, struct MHD_Response *resp,
                           int nostore)
{
    if (!resp)
        return MHD_NO;
    http_security_headers(resp);
    if (nostore)
        MHD_add_response_header(resp, "Cache-Control", "no-store");
    enum MHD_Result ret = MHD_queue_response(con, status, resp);
    MHD_destroy_response(resp);
    return ret;
}

struct MHD_Response *http_json_response(struct json *j)
{
    size_t len = 0;
    char *b = json_take(j, &len);
    if (!b)
        return NULL;
    struct MHD_Response *resp =
        MHD_create_response_from_buffer_with_free_callback(len, b, json_free_buf);
    if (!resp) {
        json_free_buf(b);
        return NULL;
    }
    MHD_add_response_header(resp, "Content-Type", "application/json; charset=utf-8");
    return resp;
}

enum MHD_Result http_json(struct MHD_Connection *con, unsigned status, struct json *j)
{
    struct MHD_Response *resp = http_json_response(j);
    if (!resp)
        return http_error(con, 500, "io", "out of memory building the answer", 0);
    return http_queue(con, status, resp, 1);
}

enum MHD_Result http_error(struct MHD_Connection *con, unsigned status, const char *code,
                           const char *message, int64_t retry_after)
{
    struct json j;
    json_init(&j);
    json_obj(&j);
    json_kstr(&j, "error", code);
    json_kstr(&j, "message", message);
    if (retry_after > 0)
        json_kint(&j, "retry_after", retry_after);
    json_end(&j);
    struct MHD_Response *resp = http_json_response(&j);
    if (!resp)
        return MHD_NO;
    if (retry_after > 0) {
        char ra[32];
        snprintf(ra, sizeof ra, "%" PRId64, retry_after);
        MHD_add_response_header(resp, "Retry-After", ra);
    }
    return http_queue(con, status, resp, 1);
}

/* sodium_free as libmicrohttpd's free callback. */
static void wipe_free(void *p)
{
    sodium_free(p);
}

struct MHD_Response *http_secret_bytes(const uint8_t *b, size_t n)
{
    uint8_t *copy = sodium_malloc(n ? n : 1);
    if (!copy)
        return NULL;
    if (n)
        memcpy(copy, b, n);
    struct MHD_Response *resp = MHD_create_response_from_buffer_with_free_callback(n, copy, wipe_free);
    if (!resp)
        sodium_free(copy);
    return resp;
}

void http_set_cookie(struct MHD_Response *resp, const char *token, int secure)
{
    char c[256];
    if (token && *token)
        snprintf(c, sizeof c, "%s=%s; Path=/; HttpOnly; SameSite=Strict%s", HTTP_COOKIE, token,
                 secure ? "; Secure" : "");
    else
        snprintf(c, sizeof c, "%s=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0%s", HTTP_COOKIE,
                 secure ? "; Secure" : "");
    MHD_add_response_header(resp, "Set-Cookie", c);
}

/* ---- reading a request ---- */

const char *http_cookie(struct MHD_Connection *con)
{
    return MHD_lookup_connection_value(con, MHD_COOKIE_KIND, HTTP_COOKIE);
}

int http_same_origin(struct MHD_Connection *con, int tls)
{
    const char *site = MHD_lookup_connection_value(con, MHD_HEADER_KIND, "Sec-Fetch-Site");
    if (site && strcmp(site, "same-origin") != 0 && strcmp(site, "none") != 0)
        return 0;
    const char *origin = MHD_lookup_connection_value(con, MHD_HEADER_KIND, "Origin");
    if (!origin)
        return 1;
    const char *host = MHD_lookup_connection_value(con, MHD_HEADER_KIND, "Host");
    if (!host)
        return 0;
    char want[512];
    snprintf(want, sizeof want, "%s://%s", tls ? "https" : "http", host);
    return strcmp(origin, want) == 0;
}

void http_client_addr(struct MHD_Connection *con, char out[64])
{
    snprintf(out, 64, "?");
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(con, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    if (!ci || !ci->client_addr)
        return;
    const struct sockaddr *sa = ci->client_addr;
    if (sa->sa_family == AF_INET)
        inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, out, 64);
    else if (sa->sa_family == AF_INET6)
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr, out, 64);
}

/* Digits only, no sign, no overflow. */
static int read_u64(const char **p, uint64_t *out)
{
    const char *s = *p;
    uint64_t v = 0;
    if (!isdigit((unsigned char)*s))
        return -1;
    while (isdigit((unsigned char)*s)) {
        unsigned d = (unsigned)(*s - '0');
        if (v > (UINT64_MAX - d) / 10)
            return -1;
        v = v * 10 + d;
        s++;
    }
    *p = s;
    *out = v;
    return 0;
}

int http_parse_range(const char *h, uint64_t size, uint64_t *first, uint64_t *last)
{
    if (!h)
        return 0;
    while (*h == ' ')
        h++;
    if (strncmp(h, "bytes=", 6) != 0)
        return 0; /* another unit: ignore it, send everything */
    h += 6;
    while (*h == ' ')
        h++;
    uint64_t a, b;
    if (*h == '-') { /* the last N bytes */
        h++;
        if (read_u64(&h, &b) || b == 0 || size == 0)
            return -1;
        *first = b >= size ? 0 : size - b;
        *last = size - 1;
    } else {
        if (read_u64(&h, &a) || *h != '-')
            return -1;
        h++;
        if (*h >= '0' && *h <= '9') {
            if (read_u64(&h, &b) || b < a)
                return -1;
        } else {
            b = UINT64_MAX;
        }
        if (a >= size)
            return -1;
        *first = a;
        *last = b >= size ? size - 1 : b;
    }
    while (*h == ' ')
        h++;
    if (*h != 0 && *h != ',')
        return -1;
    return 1;
}
