/*
 * http — the station's side of libmicrohttpd: one request's context (its
 * form, read by libmicrohttpd's own form parser, at most HTTP_BODY_MAX
 * bytes), answers with the security headers every page of the station
 * carries, the session cookie, and the Range header for the audio player.
 *
 * Form values can be passwords and passphrases: they live in
 * sodium_malloc'd memory and are wiped when the request ends. Answers that
 * may hold decrypted text or audio are handed to libmicrohttpd with a free
 * function that wipes them.
 */
#ifndef HOMTHU_STATION_HTTP_H
#define HOMTHU_STATION_HTTP_H

#include <stddef.h>
#include <stdint.h>

#include <microhttpd.h>

#include "station/json.h"

#define HTTP_BODY_MAX (64 * 1024)
#define HTTP_URL_MAX 2048
#define HTTP_FIELDS_MAX 16
#define HTTP_COOKIE "homthu_session"

struct http_field {
    char name[32];
    char *value; /* in the request's sodium_malloc'd arena, NUL-terminated */
    size_t len;
};

struct http_req {
    struct MHD_PostProcessor *pp;
    int post;
    int too_big;  /* the body ran past HTTP_BODY_MAX */
    int bad_form; /* not a form libmicrohttpd can read, or too many fields */
    size_t body;  /* bytes of body seen */
    char *arena;  /* sodium_malloc(HTTP_BODY_MAX + fields): the values */
    size_t used;
    struct http_field f[HTTP_FIELDS_MAX];
    size_t nf;
};

/* Start a request: for a POST, the form parser. NULL when out of memory. */
struct http_req *http_req_new(struct MHD_Connection *con, const char *method);
/* Feed body bytes (the upload_data of libmicrohttpd's handler). */
void http_req_feed(struct http_req *r, const char *data, size_t len);
void http_req_free(struct http_req *r); /* wipes every value */
/* The field's value, or NULL when the form has no such field. */
const char *http_field(const struct http_req *r, const char *name);

/* ---- answers ---- */

/* Every answer's headers: CSP, frames denied, no sniffing, no referrer. */
void http_security_headers(struct MHD_Response *resp);
/* Queue resp with the security headers (and no-store when `nostore`); destroys it. */
enum MHD_Result http_queue(struct MHD_Connection *con, unsigned status, struct MHD_Response *resp,
                           int nostore);
/* A response holding j's text (taken from j; wiped when sent), or NULL. */
struct MHD_Response *http_json_response(struct json *j);
/* A JSON answer taken from j (no-store). */
enum MHD_Result http_json(struct MHD_Connection *con, unsigned status, struct json *j);
/* {"error":code,"message":message} (no-store); retry_after > 0 adds that field and header. */
enum MHD_Result http_error(struct MHD_Connection *con, unsigned status, const char *code,
                           const char *message, int64_t retry_after);
/* Bytes copied into wiped memory (decrypted audio, CSV); content_type as given. */
struct MHD_Response *http_secret_bytes(const uint8_t *b, size_t n);
/* The session cookie to set ("" token: cleared). */
void http_set_cookie(struct MHD_Response *resp, const char *token, int secure);

/* ---- reading a request ---- */

/* The session token from the cookie, or NULL. */
const char *http_cookie(struct MHD_Connection *con);
/*
 * Is the request from the station's own page? A POST whose Origin (or
 * Sec-Fetch-Site) says another site is refused before anything else.
 * 1 = same origin or no such header (a non-browser client).
 */
int http_same_origin(struct MHD_Connection *con, int tls);
/* The client's address as text ("127.0.0.1"), for the login limit. */
void http_client_addr(struct MHD_Connection *con, char out[64]);

/*
 * One "bytes=" range of a resource of `size` bytes: 1 with [*first, *last]
 * set, 0 when there is no Range (send it all), -1 when it cannot be
 * satisfied (416). Several ranges: only the first is served (allowed).
 */
int http_parse_range(const char *header, uint64_t size, uint64_t *first, uint64_t *last);

#endif
