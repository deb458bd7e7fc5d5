/*
 * pull — see pull.h. Moved out of tools/homthu-post.c.
 */
#include "post/pull.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <sodium.h>

#include "core/config.h"
#include "core/errbuf.h"
#include "core/heartbeat.h"
#include "core/registry.h"
#include "post/mailbox.h"
#include "post/postbox.h"

#define RELAY_PAGE 50

const char *const pull_conf_keys[] = {
    "relay_url", "relay_token", "imap_url", "imap_user", "imap_password", "ca_file", "post_name",
    NULL,
};

static int copy_setting(const struct config *c, const char *key, char *dst, size_t cap, char *err,
                        size_t errlen)
{
    const char *v;
    if (config_get_str(c, key, "", &v, err, errlen))
        return -1;
    if (strlen(v) >= cap) {
        errbuf_say(err, errlen, CONSOLE_E_ARG, "%s: %s is too long", config_name(c), key);
        return -1;
    }
    snprintf(dst, cap, "%s", v);
    return 0;
}

int pull_read_conf(struct console *c, struct pull_settings *s, int *too_open, char *err,
                   size_t errlen)
{
    memset(s, 0, sizeof *s);
    if (too_open)
        *too_open = 0;
    char path[4200];
    if (console_file(c, "post.conf", path, sizeof path))
        return errbuf_say(err, errlen, CONSOLE_E_ARG, "the folder name %s is too long",
                          console_dir(c));
    if (access(path, F_OK) != 0)
        return 0;
    struct config *cf = NULL;
    if (config_load_file(&cf, path, err, errlen) ||
        config_check_known(cf, pull_conf_keys, err, errlen)) {
        config_free(cf);
        return CONSOLE_E_ARG;
    }
    int bad =
        copy_setting(cf, "relay_url", s->relay, sizeof s->relay, err, errlen) ||
        copy_setting(cf, "relay_token", s->token, sizeof s->token, err, errlen) ||
        copy_setting(cf, "imap_url", s->imap, sizeof s->imap, err, errlen) ||
        copy_setting(cf, "imap_user", s->imap_user, sizeof s->imap_user, err, errlen) ||
        copy_setting(cf, "imap_password", s->imap_password, sizeof s->imap_password, err, errlen) ||
        copy_setting(cf, "post_name", s->post_name, sizeof s->post_name, err, errlen);
    if (!bad && config_has(cf, "ca_file") &&
        config_get_path(cf, "ca_file", NULL, s->ca, sizeof s->ca, err, errlen))
        bad = 1;
    config_free(cf);
    if (bad) {
        sodium_memzero(s, sizeof *s);
        return CONSOLE_E_ARG;
    }
    struct stat st;
    if (too_open && (s->token[0] || s->imap_password[0]) && stat(path, &st) == 0 &&
        (st.st_mode & 0077))
        *too_open = 1;
    return 0;
}

/* Store one envelope and tell the caller what happened. 0 when it is held. */
static int store_envelope(struct console *c, const uint8_t *env, size_t len, int source,
                          int64_t received, const struct pull_hooks *h, struct pull_report *rep,
                          char *err, size_t errlen)
{
    struct pull_event e = {.source = source, .bytes = len};
    struct envelope_header_info info;
    char why[512];
    if (envelope_parse_header(env, len, &info, why, sizeof why) == 0)
        memcpy(e.id, info.tip_id, 16);
    struct postbox *pb = console_postbox(c);
    if (postbox_add(pb, env, len, source, received, (int64_t)time(NULL), registry_device_check,
                    console_registry(c), &e.what, err, errlen))
        return CONSOLE_E_IO;
    struct postbox_tip t;
    e.outer = postbox_get(pb, info.tip_id, &t) == 0 ? t.outer : 0;
    if (e.what == POSTBOX_ADDED || e.what == POSTBOX_REPLACED)
        rep->added++;
    else
        rep->duplicates++;
    if (h && h->on_tip)
        h->on_tip(h->ctx, &e);
    return 0;
}

/* -- the relay's /post API (docs/relay-protocol.md) -- */

/* Ciphertext and JSON only: plain memory will do. */
struct buf {
    uint8_t *b;
    size_t len, cap, max;
    int toobig;
};

static void buf_add(struct buf *x, const uint8_t *b, size_t n)
{
    if (x->toobig || x->len + n > x->max) {
        x->toobig = 1;
        return;
    }
    if (x->len + n + 1 > x->cap) {
        size_t cap = x->cap ? x->cap : 4096;
        while (cap < x->len + n + 1)
            cap *= 2;
        uint8_t *nb = realloc(x->b, cap);
        if (!nb) {
            x->toobig = 1;
            return;
        }
        x->b = nb;
        x->cap = cap;
    }
    memcpy(x->b + x->len, b, n);
    x->len += n;
    x->b[x->len] = 0;
}

static void buf_free(struct buf *x)
{
    free(x->b);
    memset(x, 0, sizeof *x);
}

struct http {
    CURL *c;
    const struct pull_settings *s;
    struct buf body;
    long status;
};

static size_t http_write(char *data, size_t size, size_t nmemb, void *ctx)
{
    struct buf *b = ctx;
    buf_add(b, (const uint8_t *)data, size * nmemb);
    return b->toobig ? 0 : size * nmemb;
}

/* A request with a body (POST only; NULL: an empty one). */
static int http_do_body(struct http *h, const char *method, const char *url, const char *body,
                        size_t blen, size_t max, char *err, size_t errlen);

static int http_do(struct http *h, const char *method, const char *url, size_t max, char *err,
                   size_t errlen)
{
    return http_do_body(h, method, url, NULL, 0, max, err, errlen);
}

static int http_do_body(struct http *h, const char *method, const char *url, const char *body,
                        size_t blen, size_t max, char *err, size_t errlen)
{
    char auth[600], ebuf[CURL_ERROR_SIZE] = "";
    struct curl_slist *hdr = NULL;
    snprintf(auth, sizeof auth, "Authorization: Bearer %s", h->s->token);
    hdr = curl_slist_append(hdr, auth);
    if (body)
        hdr = curl_slist_append(hdr, "Content-Type: text/plain; charset=utf-8");
    buf_free(&h->body);
    h->body.max = max;
    curl_easy_reset(h->c);
    curl_easy_setopt(h->c, CURLOPT_URL, url);
    curl_easy_setopt(h->c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h->c, CURLOPT_HTTPHEADER, hdr);
    curl_easy_setopt(h->c, CURLOPT_WRITEFUNCTION, http_write);
    curl_easy_setopt(h->c, CURLOPT_WRITEDATA, &h->body);
    curl_easy_setopt(h->c, CURLOPT_ERRORBUFFER, ebuf);
    curl_easy_setopt(h->c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h->c, CURLOPT_CONNECTTIMEOUT, 30L);
    curl_easy_setopt(h->c, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(h->c, CURLOPT_LOW_SPEED_TIME, 120L);
    if (h->s->ca[0])
        curl_easy_setopt(h->c, CURLOPT_CAINFO, h->s->ca);
    if (strcmp(method, "POST") == 0) {
        curl_easy_setopt(h->c, CURLOPT_POST, 1L);
        curl_easy_setopt(h->c, CURLOPT_POSTFIELDS, body ? body : "");
        curl_easy_setopt(h->c, CURLOPT_POSTFIELDSIZE, body ? (long)blen : 0L);
    }
    CURLcode cc = curl_easy_perform(h->c);
    curl_slist_free_all(hdr);
    sodium_memzero(auth, sizeof auth);
    h->status = 0;
    curl_easy_getinfo(h->c, CURLINFO_RESPONSE_CODE, &h->status);
    if (cc != CURLE_OK)
        return errbuf_say(err, errlen, CONSOLE_E_REMOTE, "the relay did not answer %s %s: %s%s",
                          method, url, ebuf[0] ? ebuf : curl_easy_strerror(cc),
                          h->body.toobig ? " (the answer is larger than any tip)" : "");
    if (h->status == 401 || h->status == 403)
        return errbuf_say(err, errlen, CONSOLE_E_REMOTE,
                          "the relay refused the token (%ld): check --token or relay_token in "
                          "post.conf",
                          h->status);
    if (h->status < 200 || h->status > 299)
        return errbuf_say(err, errlen, CONSOLE_E_REMOTE, "the relay answered %ld to %s %s%s%.*s",
                          h->status, method, url, h->body.len ? ": " : "",
                          (int)(h->body.len > 200 ? 200 : h->body.len),
                          h->body.b ? (const char *)h->body.b : "");
    return 0;
}

/* A tiny JSON reader for the tip list: exactly the shapes docs/relay-protocol.md gives. */
struct json {
    const char *p, *end;
    int depth;
};

static void json_ws(struct json *j)
{
    while (j->p < j->end && (*j->p == ' ' || *j->p == '\t' || *j->p == '\n' || *j->p == '\r'))
        j->p++;
}

static int json_lit(struct json *j, char c)
{
    json_ws(j);
    if (j->p < j->end && *j->p == c) {
        j->p++;
        return 0;
    }
    return -1;
}

/* A string without escapes beyond \" \\ \/ (ids and kiosk names need no more). */
static int json_string(struct json *j, char *out, size_t cap)
{
    if (json_lit(j, '"'))
        return -1;
    size_t n = 0;
    while (j->p < j->end && *j->p != '"') {
        char c = *j->p++;
        if (c == '\\') {
            if (j->p >= j->end)
                return -1;
            c = *j->p++;
            if (c != '"' && c != '\\' && c != '/')
                c = '?';
        }
        if ((unsigned char)c < 0x20)
            return -1;
        if (n + 1 < cap)
            out[n++] = c;
    }
    if (j->p >= j->end)
        return -1;
    j->p++;
    out[n] = 0;
    return 0;
}

static int json_int(struct json *j, int64_t *v)
{
    json_ws(j);
    int neg = 0, digits = 0;
    int64_t x = 0;
    if (j->p < j->end && *j->p == '-') {
        neg = 1;
        j->p++;
    }
    while (j->p < j->end && *j->p >= '0' && *j->p <= '9' && digits < 18) {
        x = x * 10 + (*j->p++ - '0');
        digits++;
    }
    if (!digits || (j->p < j->end && (*j->p == '.' || *j->p == 'e' || *j->p == 'E' ||
                                      (*j->p >= '0' && *j->p <= '9'))))
        return -1;
    *v = neg ? -x : x;
    return 0;
}

/* Skip any value (for fields we do not read), depth-limited. */
static int json_skip(struct json *j)
{
    json_ws(j);
    if (j->p >= j->end || ++j->depth > 16)
        return -1;
    int rc = 0;
    char c = *j->p;
    if (c == '"') {
        char tmp[8];
        rc = json_string(j, tmp, sizeof tmp);
    } else if (c == '{' || c == '[') {
        char close = c == '{' ? '}' : ']';
        j->p++;
        json_ws(j);
        if (j->p < j->end && *j->p == close) {
            j->p++;
        } else {
            for (;;) {
                if (c == '{') {
                    char k[8];
                    if (json_string(j, k, sizeof k) || json_lit(j, ':')) {
                        rc = -1;
                        break;
                    }
                }
                if (json_skip(j)) {
                    rc = -1;
                    break;
                }
                if (json_lit(j, ',') == 0)
                    continue;
                rc = json_lit(j, close);
                break;
            }
        }
    } else {
        const char *s = j->p;
        while (j->p < j->end && (strchr("-+.eE", *j->p) || (*j->p >= '0' && *j->p <= '9') ||
                                 (*j->p >= 'a' && *j->p <= 'z')))
            j->p++;
        rc = j->p == s ? -1 : 0;
    }
    j->depth--;
    return rc;
}

struct relay_tip {
    uint8_t id[16];
    int64_t cursor, bytes, received;
    char kiosk[64], state[16];
};

static int parse_hex16(const char *s, uint8_t out[16])
{
    size_t bin = 0;
    return strlen(s) == 32 && sodium_hex2bin(out, 16, s, 32, NULL, &bin, NULL) == 0 && bin == 16
               ? 0
               : -1;
}

/* {"tips":[{...}],"next":N} into tips (at most cap) and *next. */
static int parse_tip_list(const uint8_t *b, size_t len, struct relay_tip *tips, size_t cap,
                          size_t *n, int64_t *next)
{
    struct json j = {(const char *)b, (const char *)b + len, 0};
    *n = 0;
    *next = -1;
    if (json_lit(&j, '{'))
        return -1;
    if (json_lit(&j, '}') == 0)
        return -1;
    for (;;) {
        char key[32];
        if (json_string(&j, key, sizeof key) || json_lit(&j, ':'))
            return -1;
        if (strcmp(key, "next") == 0) {
            if (json_int(&j, next))
                return -1;
        } else if (strcmp(key, "tips") == 0) {
            if (json_lit(&j, '['))
                return -1;
            if (json_lit(&j, ']') != 0) {
                for (;;) {
                    if (*n >= cap || json_lit(&j, '{'))
                        return -1;
                    struct relay_tip *t = &tips[(*n)++];
                    memset(t, 0, sizeof *t);
                    int have_id = 0;
                    for (;;) {
                        char k[32], sval[80];
                        if (json_string(&j, k, sizeof k) || json_lit(&j, ':'))
                            return -1;
                        if (strcmp(k, "id") == 0) {
                            if (json_string(&j, sval, sizeof sval) || parse_hex16(sval, t->id))
                                return -1;
                            have_id = 1;
                        } else if (strcmp(k, "cursor") == 0) {
                            if (json_int(&j, &t->cursor))
                                return -1;
                        } else if (strcmp(k, "bytes") == 0) {
                            if (json_int(&j, &t->bytes))
                                return -1;
                        } else if (strcmp(k, "received") == 0) {
                            if (json_int(&j, &t->received))
                                return -1;
                        } else if (strcmp(k, "kiosk") == 0) {
                            if (json_string(&j, t->kiosk, sizeof t->kiosk))
                                return -1;
                        } else if (strcmp(k, "state") == 0) {
                            if (json_string(&j, t->state, sizeof t->state))
                                return -1;
                        } else if (json_skip(&j)) {
                            return -1;
                        }
                        if (json_lit(&j, ',') == 0)
                            continue;
                        if (json_lit(&j, '}'))
                            return -1;
                        break;
                    }
                    if (!have_id)
                        return -1;
                    if (json_lit(&j, ',') == 0)
                        continue;
                    if (json_lit(&j, ']'))
                        return -1;
                    break;
                }
            }
        } else if (json_skip(&j)) {
            return -1;
        }
        if (json_lit(&j, ',') == 0)
            continue;
        if (json_lit(&j, '}'))
            return -1;
        break;
    }
    json_ws(&j);
    return j.p == j.end && *next >= 0 ? 0 : -1;
}

static int save_cursor(struct postbox *pb, const char *key, int64_t cursor, char *err,
                       size_t errlen)
{
    char s[32];
    snprintf(s, sizeof s, "%lld", (long long)cursor);
    return postbox_set_setting(pb, key, s, err, errlen) ? CONSOLE_E_IO : 0;
}

/* One listed tip: fetched (unless held), stored, then confirmed. */
static int pull_one(struct console *c, struct http *hc, const char *relay,
                    const struct relay_tip *t, const struct pull_hooks *h, struct pull_report *rep,
                    char *err, size_t errlen)
{
    char id[33], url[1300];
    errbuf_hex(id, t->id, 16);
    struct postbox_tip held;
    if (postbox_get(console_postbox(c), t->id, &held) == 0) {
        rep->duplicates++;
        struct pull_event e = {
            .source = POSTBOX_FROM_RELAY, .what = POSTBOX_DUPLICATE, .outer = held.outer};
        memcpy(e.id, t->id, 16);
        if (h && h->on_tip)
            h->on_tip(h->ctx, &e);
    } else {
        if (t->bytes <= 0 || t->bytes > ENVELOPE_DEFAULT_MAX_BYTES)
            return errbuf_say(err, errlen, CONSOLE_E_REMOTE,
                              "the relay lists tip %.8s with %lld bytes: not a tip", id,
                              (long long)t->bytes);
        snprintf(url, sizeof url, "%s/post/tips/%s", relay, id);
        int rc = http_do(hc, "GET", url, (size_t)t->bytes, err, errlen);
        if (rc)
            return rc;
        struct envelope_header_info info;
        char why[512];
        if (hc->body.len != (size_t)t->bytes ||
            envelope_parse_header(hc->body.b, hc->body.len, &info, why, sizeof why) ||
            memcmp(info.tip_id, t->id, 16) != 0)
            return errbuf_say(err, errlen, CONSOLE_E_REMOTE,
                              "the relay sent %zu bytes for tip %.8s, which is not that tip's "
                              "envelope; not stored, not confirmed",
                              hc->body.len, id);
        char why2[512];
        if (store_envelope(c, hc->body.b, hc->body.len, POSTBOX_FROM_RELAY, t->received, h, rep,
                           why2, sizeof why2))
            return errbuf_say(err, errlen, CONSOLE_E_IO,
                              "tip %.8s from the relay was not stored: %s", id, why2);
    }
    /* Stored (committed) above: only now may the relay let go of it. */
    snprintf(url, sizeof url, "%s/post/tips/%s/fetched", relay, id);
    char why[800];
    if (http_do(hc, "POST", url, 4096, why, sizeof why))
        return errbuf_say(err, errlen, CONSOLE_E_REMOTE,
                          "%s; tip %.8s is stored here, but the relay was not told; pull again "
                          "to tell it",
                          why, id);
    return 0;
}

int pull_relay(struct console *c, const struct pull_settings *s, const struct pull_hooks *h,
               struct pull_report *rep, char *err, size_t errlen)
{
    char relay[sizeof s->relay];
    snprintf(relay, sizeof relay, "%s", s->relay);
    size_t rl = strlen(relay);
    while (rl && relay[rl - 1] == '/')
        relay[--rl] = 0;
    if (!s->token[0]) {
        char conf[4200];
        if (console_file(c, "post.conf", conf, sizeof conf))
            snprintf(conf, sizeof conf, "post.conf");
        return errbuf_say(err, errlen, CONSOLE_E_ARG,
                          "no token for the relay: give --token, set HOMTHU_RELAY_TOKEN, or put "
                          "relay_token in %s",
                          conf);
    }
    if (strncmp(relay, "https://", 8) != 0 && strncmp(relay, "http://", 7) != 0)
        return errbuf_say(err, errlen, CONSOLE_E_ARG, "%s is not an http:// or https:// address",
                          relay);
    struct http hc = {.c = curl_easy_init(), .s = s};
    if (!hc.c)
        return errbuf_say(err, errlen, CONSOLE_E_NOMEM, "libcurl failed to start");
    struct postbox *pb = console_postbox(c);
    char key[1100], cursor_s[32];
    snprintf(key, sizeof key, "relay_cursor %s", relay);
    if (postbox_get_setting(pb, key, cursor_s, sizeof cursor_s)) {
        char path[4200];
        console_file(c, POSTBOX_DB_NAME, path, sizeof path);
        curl_easy_cleanup(hc.c);
        return errbuf_say(err, errlen, CONSOLE_E_IO, "cannot read the relay cursor from %s", path);
    }
    int64_t cursor = cursor_s[0] ? strtoll(cursor_s, NULL, 10) : 0;
    int rc = 0;
    struct relay_tip *tips = calloc(RELAY_PAGE, sizeof *tips);
    if (!tips) {
        curl_easy_cleanup(hc.c);
        return errbuf_say(err, errlen, CONSOLE_E_NOMEM, "out of memory");
    }
    rep->asked = 1;
    for (int page = 0; page < 100000 && rc == 0; page++) {
        char url[1300];
        snprintf(url, sizeof url, "%s/post/tips?after=%lld&limit=%d", relay, (long long)cursor,
                 RELAY_PAGE);
        if ((rc = http_do(&hc, "GET", url, 1024 * 1024, err, errlen)))
            break;
        size_t n = 0;
        int64_t next = 0;
        if (parse_tip_list(hc.body.b, hc.body.len, tips, RELAY_PAGE, &n, &next)) {
            rc = errbuf_say(err, errlen, CONSOLE_E_REMOTE,
                            "the relay's tip list is not what docs/relay-protocol.md describes "
                            "(is %s really the relay?)",
                            relay);
            break;
        }
        if (n == 0)
            break;
        for (size_t i = 0; i < n && rc == 0; i++) {
            rc = pull_one(c, &hc, relay, &tips[i], h, rep, err, errlen);
            if (rc == 0) {
                cursor = tips[i].cursor > cursor ? tips[i].cursor : cursor;
                rc = save_cursor(pb, key, cursor, err, errlen);
            }
        }
        if (rc == 0 && next > cursor) {
            cursor = next;
            rc = save_cursor(pb, key, cursor, err, errlen);
        }
        if (n < RELAY_PAGE)
            break;
    }
    free(tips);
    buf_free(&hc.body);
    curl_easy_cleanup(hc.c);
    return rc;
}

/* -- the mailbox -- */

struct mail_store {
    struct console *c;
    const struct pull_hooks *h;
    struct pull_report *rep;
};

static int mail_store(void *ctx, const uint8_t tip_id[16], const uint8_t *env, size_t len,
                      char *err, size_t errlen)
{
    struct mail_store *m = ctx;
    struct envelope_header_info info;
    char why[512];
    if (envelope_parse_header(env, len, &info, why, sizeof why)) {
        snprintf(err, errlen, "the mails hold no envelope: %s", why);
        return -1;
    }
    if (memcmp(info.tip_id, tip_id, 16) != 0) {
        snprintf(err, errlen, "the envelope inside is another tip's");
        return -1;
    }
    return store_envelope(m->c, env, len, POSTBOX_FROM_MAIL, (int64_t)time(NULL), m->h, m->rep, err,
                          errlen)
               ? -1
               : 0;
}

static void mail_note(void *ctx, const char *line)
{
    const struct pull_hooks *h = ctx;
    if (h && h->on_note)
        h->on_note(h->ctx, line);
}

int pull_imap(struct console *c, const struct pull_settings *s, int all, const struct pull_hooks *h,
              struct pull_report *rep, char *err, size_t errlen)
{
    if (!s->imap_user[0]) {
        char conf[4200];
        if (console_file(c, "post.conf", conf, sizeof conf))
            snprintf(conf, sizeof conf, "post.conf");
        return errbuf_say(err, errlen, CONSOLE_E_ARG,
                          "no IMAP user: set HOMTHU_IMAP_USER and HOMTHU_IMAP_PASSWORD, or "
                          "imap_user and imap_password in %s",
                          conf);
    }
    struct mailbox_port port;
    char why[1024];
    struct mailbox_imap_opts io = {s->imap, s->imap_user,
                                   s->imap_password[0] ? s->imap_password : NULL,
                                   s->ca[0] ? s->ca : NULL};
    if (mailbox_imap_new(&port, &io, why, sizeof why))
        return errbuf_say(err, errlen, CONSOLE_E_ARG, "%s", why);
    struct mail_store ms = {c, h, rep};
    struct mailbox_report mr = {.note = mail_note, .note_ctx = (void *)h};
    int rc = mailbox_pull(&port, all, mail_store, &ms, &mr, why, sizeof why);
    mailbox_imap_free(&port);
    rep->incomplete += mr.incomplete;
    rep->unusable += mr.foreign + mr.damaged;
    rep->failed += mr.failed;
    if (rc)
        return errbuf_say(err, errlen, CONSOLE_E_REMOTE, "reading the mailbox %s failed: %s",
                          s->imap, why);
    return 0;
}

/* -- heartbeats, enrolment and revocation at the relay (docs/relay-protocol.md) -- */

/* The relay's address without trailing '/', checked, and the token there. */
static int relay_base(const struct pull_settings *s, char *relay, size_t cap, char *err,
                      size_t errlen)
{
    snprintf(relay, cap, "%s", s->relay);
    size_t rl = strlen(relay);
    while (rl && relay[rl - 1] == '/')
        relay[--rl] = 0;
    if (!rl)
        return errbuf_say(err, errlen, CONSOLE_E_ARG,
                          "no relay: set relay_url in post.conf (the post uses the mailbox only)");
    if (strncmp(relay, "https://", 8) != 0 && strncmp(relay, "http://", 7) != 0)
        return errbuf_say(err, errlen, CONSOLE_E_ARG, "%s is not an http:// or https:// address",
                          relay);
    if (!s->token[0])
        return errbuf_say(err, errlen, CONSOLE_E_ARG,
                          "no token for the relay: put relay_token in post.conf");
    return 0;
}

/* {"heartbeats":[{...}],"next":N}: each entry to fn; *next. -1 when malformed. */
static int parse_heartbeats(const uint8_t *b, size_t len,
                            int (*fn)(void *ctx, const struct pull_heartbeat *hb), void *ctx,
                            int *stopped, size_t *n, int64_t *last, int64_t *next)
{
    struct json j = {(const char *)b, (const char *)b + len, 0};
    *n = 0;
    *next = -1;
    *stopped = 0;
    if (json_lit(&j, '{') || json_lit(&j, '}') == 0)
        return -1;
    for (;;) {
        char key[32];
        if (json_string(&j, key, sizeof key) || json_lit(&j, ':'))
            return -1;
        if (strcmp(key, "next") == 0) {
            if (json_int(&j, next))
                return -1;
        } else if (strcmp(key, "heartbeats") == 0) {
            if (json_lit(&j, '['))
                return -1;
            if (json_lit(&j, ']') != 0) {
                for (;;) {
                    if (json_lit(&j, '{'))
                        return -1;
                    struct pull_heartbeat hb;
                    memset(&hb, 0, sizeof hb);
                    int64_t cursor = -1;
                    int have = 0;
                    for (;;) {
                        char k[32], sval[HEARTBEAT_SEALED_BYTES * 2];
                        size_t got = 0;
                        if (json_string(&j, k, sizeof k) || json_lit(&j, ':'))
                            return -1;
                        if (strcmp(k, "kiosk") == 0) {
                            if (json_string(&j, hb.kiosk, sizeof hb.kiosk))
                                return -1;
                        } else if (strcmp(k, "key") == 0) {
                            if (json_string(&j, sval, sizeof sval) ||
                                sodium_base642bin(hb.device_pk, 32, sval, strlen(sval), NULL, &got,
                                                  NULL, sodium_base64_VARIANT_ORIGINAL) ||
                                got != 32)
                                return -1;
                            have |= 1;
                        } else if (strcmp(k, "blob") == 0) {
                            if (json_string(&j, sval, sizeof sval) ||
                                sodium_base642bin(hb.sealed, sizeof hb.sealed, sval, strlen(sval),
                                                  NULL, &got, NULL,
                                                  sodium_base64_VARIANT_ORIGINAL) ||
                                got != sizeof hb.sealed)
                                return -1;
                            have |= 2;
                        } else if (strcmp(k, "received") == 0) {
                            if (json_int(&j, &hb.received))
                                return -1;
                            have |= 4;
                        } else if (strcmp(k, "cursor") == 0) {
                            if (json_int(&j, &cursor) || cursor < 1)
                                return -1;
                            have |= 8;
                        } else if (json_skip(&j)) {
                            return -1;
                        }
                        if (json_lit(&j, ',') == 0)
                            continue;
                        if (json_lit(&j, '}'))
                            return -1;
                        break;
                    }
                    if (have != 15)
                        return -1;
                    if (!*stopped) {
                        if (fn && fn(ctx, &hb) != 0)
                            *stopped = 1;
                        else {
                            (*n)++;
                            *last = cursor > *last ? cursor : *last;
                        }
                    }
                    if (json_lit(&j, ',') == 0)
                        continue;
                    if (json_lit(&j, ']'))
                        return -1;
                    break;
                }
            }
        } else if (json_skip(&j)) {
            return -1;
        }
        if (json_lit(&j, ',') == 0)
            continue;
        if (json_lit(&j, '}'))
            return -1;
        break;
    }
    json_ws(&j);
    return j.p == j.end && *next >= 0 ? 0 : -1;
}

int pull_heartbeats(struct console *c, const struct pull_settings *s,
                    int (*fn)(void *ctx, const struct pull_heartbeat *hb), void *ctx,
                    unsigned *count, char *err, size_t errlen)
{
    char relay[sizeof s->relay];
    if (count)
        *count = 0;
    int rc = relay_base(s, relay, sizeof relay, err, errlen);
    if (rc)
        return rc;
    struct postbox *pb = console_postbox(c);
    char key[1100], cursor_s[32];
    snprintf(key, sizeof key, "heartbeat_cursor %s", relay);
    if (postbox_get_setting(pb, key, cursor_s, sizeof cursor_s))
        return errbuf_say(err, errlen, CONSOLE_E_IO, "cannot read the heartbeat cursor");
    int64_t cursor = cursor_s[0] ? strtoll(cursor_s, NULL, 10) : 0;
    struct http hc = {.c = curl_easy_init(), .s = s};
    if (!hc.c)
        return errbuf_say(err, errlen, CONSOLE_E_NOMEM, "libcurl failed to start");
    for (int page = 0; page < 10000; page++) {
        char url[1300];
        snprintf(url, sizeof url, "%s/post/heartbeats?after=%lld&limit=%d", relay,
                 (long long)cursor, RELAY_PAGE);
        if ((rc = http_do(&hc, "GET", url, 1024 * 1024, err, errlen)))
            break;
        size_t n = 0;
        int64_t next = 0, last = cursor;
        int stopped = 0;
        if (parse_heartbeats(hc.body.b, hc.body.len, fn, ctx, &stopped, &n, &last, &next)) {
            rc = errbuf_say(err, errlen, CONSOLE_E_REMOTE,
                            "the relay's heartbeat list is not what docs/relay-protocol.md "
                            "describes (is %s really the relay, and as new as the station?)",
                            relay);
            break;
        }
        if (count)
            *count += (unsigned)n;
        /* Past what the caller took, and no further: what it refused comes again. */
        int64_t to = stopped ? last : (next > last ? next : last);
        if (to > cursor) {
            cursor = to;
            if ((rc = save_cursor(pb, key, cursor, err, errlen)))
                break;
        }
        if (stopped) {
            rc = errbuf_say(err, errlen, CONSOLE_E_IO,
                            "a heartbeat could not be kept; the next pull brings it again");
            break;
        }
        if (n < RELAY_PAGE)
            break;
    }
    buf_free(&hc.body);
    curl_easy_cleanup(hc.c);
    return rc;
}

/* One order to the relay with a small key=value body (docs/relay-protocol.md). */
static int tell_relay(const struct pull_settings *s, const char *path, const char *body,
                      char *err, size_t errlen)
{
    char relay[sizeof s->relay], url[1400];
    int rc = relay_base(s, relay, sizeof relay, err, errlen);
    if (rc)
        return rc;
    snprintf(url, sizeof url, "%s%s", relay, path);
    struct http hc = {.c = curl_easy_init(), .s = s};
    if (!hc.c)
        return errbuf_say(err, errlen, CONSOLE_E_NOMEM, "libcurl failed to start");
    rc = http_do_body(&hc, "POST", url, body, strlen(body), 4096, err, errlen);
    buf_free(&hc.body);
    curl_easy_cleanup(hc.c);
    return rc;
}

/* A kiosk id as the relay takes it in a path: 1-32 of [a-z0-9-]. */
static int id_ok(const char *id)
{
    size_t n = id ? strlen(id) : 0;
    if (n == 0 || n > 32)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!((id[i] >= 'a' && id[i] <= 'z') || (id[i] >= '0' && id[i] <= '9') || id[i] == '-'))
            return 0;
    return 1;
}

int pull_tell_relay_enrol(const struct pull_settings *s, const char *id,
                          const uint8_t device_pk[32], char *err, size_t errlen)
{
    if (!id_ok(id) || !device_pk)
        return errbuf_say(err, errlen, CONSOLE_E_ARG,
                          "a kiosk id is 1 to 32 lowercase letters, digits and '-'");
    char key[sodium_base64_ENCODED_LEN(32, sodium_base64_VARIANT_ORIGINAL)], body[200];
    sodium_bin2base64(key, sizeof key, device_pk, 32, sodium_base64_VARIANT_ORIGINAL);
    snprintf(body, sizeof body, "id=%s\nkey=%s\n", id, key);
    return tell_relay(s, "/post/kiosks", body, err, errlen);
}

int pull_tell_relay_revoke(const struct pull_settings *s, const char *id, const char *reason,
                           char *err, size_t errlen)
{
    if (!id_ok(id))
        return errbuf_say(err, errlen, CONSOLE_E_ARG,
                          "a kiosk id is 1 to 32 lowercase letters, digits and '-'");
    size_t rl = reason ? strlen(reason) : 0;
    if (rl == 0 || rl > REGISTRY_REASON_MAX)
        return errbuf_say(err, errlen, CONSOLE_E_ARG, "a reason is 1 to %d bytes",
                          REGISTRY_REASON_MAX);
    for (size_t i = 0; i < rl; i++)
        if ((unsigned char)reason[i] < 0x20 || reason[i] == 0x7f)
            return errbuf_say(err, errlen, CONSOLE_E_ARG, "a reason is one line of text");
    char path[80], body[REGISTRY_REASON_MAX + 16];
    snprintf(path, sizeof path, "/post/kiosks/%s/revoke", id);
    snprintf(body, sizeof body, "reason=%s\n", reason);
    return tell_relay(s, path, body, err, errlen);
}
