/*
 * station — lifecycle, threads and routing of the post's web console
 * (station.h). The handlers are in api_*.c.
 */
#include "station/station.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <sodium.h>

#include "core/errbuf.h"
#include "post/pull.h"
#include "station/audit.h"
#include "station/files.h"
#include "station/health.h"
#include "station/officers.h"
#include "station/sessions.h"
#include "station/station_priv.h"
#include "station/tipindex.h"
#include "station/tlscert.h"

#define LOW_DISK_MB 64
/*
 * New tips are read into the list in steps of a few, for at most this long
 * per keeper tick: 10,000 tips after a first unlock take seconds, and a
 * request waits at most this long for the lock meanwhile.
 */
#define INDEX_STEP 25
#define INDEX_BUDGET_MS 300

int64_t station_now(void)
{
    return (int64_t)time(NULL);
}

void station_log(const char *fmt, ...)
{
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    fprintf(stderr, "homthu-station: %s\n", line);
}

void station_drop_open_tip(struct station *s)
{
    console_tip_free(s->open_tip);
    s->open_tip = NULL;
    s->open_seq = 0;
}

void station_lock_all(struct station *s)
{
    station_drop_open_tip(s);
    if (s->ix)
        tipindex_lock(s->ix);
    if (s->c)
        console_lock(s->c);
}

void station_audit(struct station *s, const struct who *w, const char *action, const char *tip,
                   const char *detail)
{
    char err[512] = "";
    if (!s->au || !s->c) {
        station_log("audit not kept (%s by %s): the store is not open", action, w ? w->name : "-");
        return;
    }
    if (audit_add(s->au, s->c, station_now(), w ? w->name : "", action, tip ? tip : "",
                  detail ? detail : "", err, sizeof err))
        station_log("audit not kept (%s by %s): %s", action, w ? w->name : "-", err);
}

int station_store_missing(struct station *s, struct MHD_Connection *con, enum MHD_Result *ret)
{
    if (s->c && s->ix)
        return 0;
    *ret = http_error(con, 503, "io", s->store_error, 0);
    return 1;
}

enum MHD_Result station_new_session(struct station *s, struct MHD_Connection *con,
                                    const char *name, int role)
{
    char token[SESSIONS_TOKEN_CHARS + 1], csrf[SESSIONS_TOKEN_CHARS + 1];
    if (sessions_create(s->ss, name, role, station_now(), token, csrf))
        return http_error(con, 500, "io", "could not make a session", 0);
    struct json j;
    json_init(&j);
    json_obj(&j);
    json_key(&j, "me");
    json_obj(&j);
    json_kstr(&j, "name", name);
    json_kstr(&j, "role", officer_role_name(role));
    json_end(&j);
    json_kstr(&j, "csrf", csrf);
    json_end(&j);
    struct MHD_Response *resp = http_json_response(&j);
    if (!resp) {
        sodium_memzero(token, sizeof token);
        return MHD_NO;
    }
    http_set_cookie(resp, token, s->tls);
    sodium_memzero(token, sizeof token);
    sodium_memzero(csrf, sizeof csrf);
    return http_queue(con, 200, resp, 1);
}

/* ---- routing ---- */

enum need { NEED_NONE, NEED_LOGIN, NEED_TIPS, NEED_COMMANDER };

struct route {
    const char *method;
    const char *prefix; /* the path, or its start when `tail` */
    int tail;           /* the rest of the path (up to `suffix`) is the handler's arg */
    const char *suffix;
    enum need need;
    api_fn fn;
};

static const struct route routes[] = {
    {"GET", "/api/state", 0, NULL, NEED_NONE, api_state},
    {"POST", "/api/setup", 0, NULL, NEED_NONE, api_setup},
    {"POST", "/api/login", 0, NULL, NEED_NONE, api_login},
    {"POST", "/api/logout", 0, NULL, NEED_LOGIN, api_logout},
    {"POST", "/api/unlock", 0, NULL, NEED_COMMANDER, api_unlock},
    {"POST", "/api/lock", 0, NULL, NEED_TIPS, api_lock},
    {"GET", "/api/tips", 0, NULL, NEED_TIPS, api_tips},
    {"GET", "/api/tips.csv", 0, NULL, NEED_TIPS, api_tips_csv},
    {"GET", "/api/tips/", 1, "/audio", NEED_TIPS, api_tip_audio},
    {"POST", "/api/tips/", 1, "/status", NEED_TIPS, api_tip_status},
    {"POST", "/api/tips/", 1, "/assign", NEED_TIPS, api_tip_assign},
    {"GET", "/api/tips/", 1, "", NEED_TIPS, api_tip},
    {"GET", "/api/audit", 0, NULL, NEED_COMMANDER, api_audit},
    {"GET", "/api/officers", 0, NULL, NEED_LOGIN, api_officers},
    {"POST", "/api/officers", 0, NULL, NEED_COMMANDER, api_officer_add},
    {"POST", "/api/officers/", 1, "/password", NEED_LOGIN, api_officer_password},
    {"POST", "/api/officers/", 1, "/disable", NEED_COMMANDER, api_officer_disable},
    {"GET", "/api/kiosks", 0, NULL, NEED_LOGIN, api_kiosks},
    {"POST", "/api/kiosks", 0, NULL, NEED_COMMANDER, api_kiosk_enrol},
    {"POST", "/api/kiosks/", 1, "/revoke", NEED_COMMANDER, api_kiosk_revoke},
};

/* Does url match the route; arg gets the middle part (no '/' allowed in it). */
static int match(const struct route *rt, const char *url, char *arg, size_t cap)
{
    size_t pl = strlen(rt->prefix);
    if (!rt->tail)
        return strcmp(url, rt->prefix) == 0;
    if (strncmp(url, rt->prefix, pl) != 0)
        return 0;
    const char *rest = url + pl;
    size_t rl = strlen(rest), sl = strlen(rt->suffix);
    if (rl <= sl || strcmp(rest + rl - sl, rt->suffix) != 0)
        return 0;
    size_t al = rl - sl;
    if (al >= cap || memchr(rest, '/', al))
        return 0;
    memcpy(arg, rest, al);
    arg[al] = 0;
    return 1;
}

static const char *content_type(const char *path)
{
    const char *dot = strrchr(path, '.');
    if (!dot || strcmp(path, "/") == 0)
        return "text/html; charset=utf-8";
    if (strcmp(dot, ".js") == 0)
        return "text/javascript; charset=utf-8";
    if (strcmp(dot, ".css") == 0)
        return "text/css; charset=utf-8";
    if (strcmp(dot, ".json") == 0)
        return "application/json; charset=utf-8";
    if (strcmp(dot, ".ttf") == 0)
        return "font/ttf";
    return "application/octet-stream";
}

static enum MHD_Result serve_file(struct MHD_Connection *con, const char *url)
{
    for (const struct station_file *f = station_files; f->path; f++) {
        if (strcmp(f->path, url) != 0)
            continue;
        struct MHD_Response *resp =
            MHD_create_response_from_buffer(f->len, (void *)f->bytes, MHD_RESPMEM_PERSISTENT);
        if (!resp)
            return MHD_NO;
        MHD_add_response_header(resp, "Content-Type", content_type(url));
        /* The page changes with the program: always ask again (it is small). */
        MHD_add_response_header(resp, "Cache-Control", "no-cache");
        return http_queue(con, 200, resp, 0);
    }
    return http_error(con, 404, "not_found", "no such page", 0);
}

/* The session of the request, or 0. Touches it (idle logout counts from here). */
static int session_of(struct station *s, struct MHD_Connection *con, int touch, struct who *w)
{
    const char *tok = http_cookie(con);
    struct session_view v;
    if (!tok || (touch ? sessions_check(s->ss, tok, station_now(), &v)
                       : sessions_look(s->ss, tok, station_now(), &v)) != 0)
        return 0;
    snprintf(w->name, sizeof w->name, "%s", v.name);
    w->role = v.role;
    snprintf(w->csrf, sizeof w->csrf, "%s", v.csrf);
    return 1;
}

static enum MHD_Result add_arg_len(void *cls, enum MHD_ValueKind kind, const char *key,
                                   const char *value)
{
    (void)kind;
    *(size_t *)cls += strlen(key) + 2 + (value ? strlen(value) : 0);
    return MHD_YES;
}

static enum MHD_Result dispatch(struct station *s, struct MHD_Connection *con, const char *url,
                                const char *method, struct http_req *r)
{
    /* libmicrohttpd gives the path without its query: count both. */
    size_t full = strlen(url);
    MHD_get_connection_values(con, MHD_GET_ARGUMENT_KIND, add_arg_len, &full);
    if (full > HTTP_URL_MAX)
        return http_error(con, 414, "bad_request", "the address is too long", 0);
    if (r->too_big)
        return http_error(con, 413, "bad_request", "the request is too large", 0);
    if (strncmp(url, "/api/", 5) != 0) {
        if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
            return http_error(con, 405, "bad_request", "only GET here", 0);
        return serve_file(con, url);
    }
    if (r->post && !http_same_origin(con, s->tls))
        return http_error(con, 403, "csrf", "a request from another site is refused", 0);
    char arg[128];
    const struct route *rt = NULL;
    int path_known = 0;
    for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++) {
        if (!match(&routes[i], url, arg, sizeof arg))
            continue;
        path_known = 1;
        if (strcmp(routes[i].method, method) == 0) {
            rt = &routes[i];
            break;
        }
    }
    if (!rt)
        return path_known ? http_error(con, 405, "bad_request", "not with that method", 0)
                          : http_error(con, 404, "not_found", "no such request", 0);
    if (!rt->tail)
        arg[0] = 0;
    if (r->post && r->bad_form)
        return http_error(con, 400, "bad_request",
                          "the request is not a form (application/x-www-form-urlencoded)", 0);

    struct who w = {0};
    /* The page's poll for news is not the officer at work: it keeps nothing alive. */
    int poll = rt->fn == api_state;
    int in = session_of(s, con, !poll, &w);
    if (rt->need != NEED_NONE) {
        if (!in)
            return http_error(con, 401, "not_logged_in", "log in first", 0);
        if (r->post) {
            const char *tok = MHD_lookup_connection_value(con, MHD_HEADER_KIND, "X-CSRF-Token");
            if (!tok || strlen(tok) != strlen(w.csrf) ||
                sodium_memcmp(tok, w.csrf, strlen(w.csrf)) != 0)
                return http_error(con, 403, "csrf", "the page's token is missing or stale: reload",
                                  0);
        }
        if (rt->need == NEED_TIPS && w.role == OFFICER_TECHNICIAN)
            return http_error(con, 403, "forbidden", "technicians see kiosks, not tips", 0);
        if (rt->need == NEED_COMMANDER && w.role != OFFICER_COMMANDER)
            return http_error(con, 403, "forbidden", "only the commander may do this", 0);
        if (w.role != OFFICER_TECHNICIAN && !poll)
            s->last_officer_request = station_now();
    }
    return rt->fn(s, con, r, in ? &w : NULL, arg);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *con, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls)
{
    (void)version;
    struct station *s = cls;
    struct http_req *r = *con_cls;
    if (!r) {
        if (!(r = http_req_new(con, method)))
            return MHD_NO;
        *con_cls = r;
        return MHD_YES;
    }
    if (*upload_data_size) {
        http_req_feed(r, upload_data, *upload_data_size);
        *upload_data_size = 0;
        return MHD_YES;
    }
    pthread_mutex_lock(&s->mu);
    enum MHD_Result ret = dispatch(s, con, url, method, r);
    pthread_mutex_unlock(&s->mu);
    return ret;
}

static void on_completed(void *cls, struct MHD_Connection *con, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    (void)cls, (void)con, (void)toe;
    http_req_free(*con_cls);
    *con_cls = NULL;
}

static void on_mhd_log(void *cls, const char *fmt, va_list ap)
{
    (void)cls;
    char line[512];
    vsnprintf(line, sizeof line, fmt, ap);
    size_t n = strlen(line);
    while (n && line[n - 1] == '\n')
        line[--n] = 0;
    station_log("http: %s", line);
}

/* ---- background work ---- */

static void nap(struct station *s, int seconds)
{
    for (int i = 0; i < seconds * 10 && !s->stopping; i++)
        usleep(100 * 1000);
}

static void note_pull(struct station *s, int ok, const char *error)
{
    pthread_mutex_lock(&s->pmu);
    /* The technician's log gets each change, not every minute of a dead link. */
    if (strcmp(s->pull.error, ok ? "" : error) != 0)
        station_log(ok ? "pulling works again" : "pull failed: %s", ok ? "" : error);
    s->pull.last_try = station_now();
    if (ok)
        s->pull.last_ok = s->pull.last_try;
    snprintf(s->pull.error, sizeof s->pull.error, "%s", ok ? "" : error);
    pthread_mutex_unlock(&s->pmu);
}

static void on_note(void *ctx, const char *line)
{
    (void)ctx;
    station_log("mailbox: %s", line);
}

/* One pull of everything post.conf names; its own console (one per thread). */
static void pull_once(struct station *s, struct console *c, struct health *hl)
{
    char err[512] = "";
    struct pull_settings *ps = sodium_malloc(sizeof *ps);
    if (!ps) {
        note_pull(s, 0, "out of memory");
        return;
    }
    int ok = 1;
    char first_err[512] = "";
    if (pull_read_conf(c, ps, NULL, err, sizeof err)) {
        note_pull(s, 0, err);
        sodium_free(ps);
        return;
    }
    pthread_mutex_lock(&s->pmu);
    snprintf(s->pull.post_name, sizeof s->pull.post_name, "%s", ps->post_name);
    pthread_mutex_unlock(&s->pmu);
    /* New tips need no word here: the keeper finds them in the postbox. */
    struct pull_hooks h = {NULL, on_note, NULL};
    struct pull_report rep;
    if (ps->relay[0]) {
        memset(&rep, 0, sizeof rep);
        if (pull_relay(c, ps, &h, &rep, err, sizeof err)) {
            ok = 0;
            snprintf(first_err, sizeof first_err, "%s", err);
        } else if (hl) {
            unsigned beats = 0;
            if (pull_heartbeats(c, ps, health_keep, hl, &beats, err, sizeof err)) {
                ok = 0;
                snprintf(first_err, sizeof first_err, "%s", err);
            }
        }
    }
    if (ps->imap[0]) {
        memset(&rep, 0, sizeof rep);
        if (pull_imap(c, ps, 0, &h, &rep, err, sizeof err) && ok) {
            ok = 0;
            snprintf(first_err, sizeof first_err, "%s", err);
        }
    }
    if (!ps->relay[0] && !ps->imap[0]) {
        ok = 0;
        snprintf(first_err, sizeof first_err,
                 "nothing to pull from: post.conf names no relay and no mailbox");
    }
    sodium_free(ps);
    note_pull(s, ok, first_err);
}

static void *puller(void *arg)
{
    struct station *s = arg;
    struct console *c = NULL;
    struct health *hl = NULL;
    char err[512] = "", path[4200];
    while (!s->stopping) {
        if (!c && console_open(&c, s->dir, err, sizeof err)) {
            c = NULL;
            note_pull(s, 0, err);
        }
        if (c && !hl) {
            snprintf(path, sizeof path, "%s/%s", s->dir, HEALTH_DB_NAME);
            if (health_open(&hl, path, err, sizeof err)) {
                hl = NULL;
                station_log("kiosk health not kept: %s", err);
            }
        }
        if (c)
            pull_once(s, c, hl);
        nap(s, s->pull_seconds);
    }
    health_close(hl);
    console_close(c);
    return NULL;
}

static void check_disk(struct station *s, int64_t now)
{
    if (now - s->disk_checked < 10)
        return;
    s->disk_checked = now;
    struct statvfs v;
    if (statvfs(s->dir, &v) == 0)
        s->disk_free_mb = (int64_t)((unsigned long long)v.f_bavail * v.f_frsize / (1024 * 1024));
}

static void *keeper(void *arg)
{
    struct station *s = arg;
    while (!s->stopping) {
        pthread_mutex_lock(&s->mu);
        int64_t now = station_now();
        check_disk(s, now);
        if (s->c && console_unlocked(s->c) && s->idle_lock_seconds > 0 &&
            now - s->last_officer_request >= s->idle_lock_seconds) {
            station_lock_all(s);
            station_audit(s, NULL, "locked", "", "no officer's request for a long time");
            station_log("the post key is locked again (idle)");
        }
        if (s->open_tip && now - s->open_at > 600)
            station_drop_open_tip(s);
        if (s->c && s->ix) {
            char err[512] = "";
            struct timespec t0, t1;
            clock_gettime(CLOCK_MONOTONIC, &t0);
            int left, before = -1;
            /* Locked, or tips that cannot be read now, leave `left` as it was: stop then. */
            do {
                if (before >= 0 && !console_unlocked(s->c))
                    break;
                left = tipindex_refresh(s->ix, s->c, INDEX_STEP, err, sizeof err);
                clock_gettime(CLOCK_MONOTONIC, &t1);
                if (left == before)
                    break;
                before = left;
            } while (left > 0 && (t1.tv_sec - t0.tv_sec) * 1000 +
                                         (t1.tv_nsec - t0.tv_nsec) / 1000000 <
                                     INDEX_BUDGET_MS);
            if (left < 0)
                station_log("tip list: %s", err);
        }
        pthread_mutex_unlock(&s->mu);
        nap(s, 1);
    }
    return NULL;
}

/* ---- start and stop ---- */

static int parse_listen(const char *s, struct sockaddr_storage *ss, int *v6, int *loopback,
                        char *err, size_t errlen)
{
    char host[256], port[16];
    const char *colon = strrchr(s, ':');
    if (!colon || colon == s || strlen(colon + 1) >= sizeof port)
        goto bad;
    size_t hl = (size_t)(colon - s);
    if (s[0] == '[') {
        if (hl < 2 || s[hl - 1] != ']')
            goto bad;
        s++;
        hl -= 2;
    }
    if (hl >= sizeof host)
        goto bad;
    memcpy(host, s, hl);
    host[hl] = 0;
    snprintf(port, sizeof port, "%s", colon + 1);
    struct addrinfo hints = {0}, *ai = NULL;
    hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV | AI_PASSIVE;
    hints.ai_socktype = SOCK_STREAM;
    if (getaddrinfo(host, port, &hints, &ai) != 0 || !ai)
        goto bad;
    memcpy(ss, ai->ai_addr, ai->ai_addrlen);
    *v6 = ai->ai_family == AF_INET6;
    if (*v6)
        *loopback = IN6_IS_ADDR_LOOPBACK(&((struct sockaddr_in6 *)(void *)ss)->sin6_addr);
    else
        *loopback = (ntohl(((struct sockaddr_in *)(void *)ss)->sin_addr.s_addr) >> 24) == 127;
    freeaddrinfo(ai);
    return 0;
bad:
    return errbuf_say(err, errlen, -1,
                      "--listen %.60s is not ADDRESS:PORT (like 0.0.0.0:8443 or [::]:8443)", s);
}

static void make_setup_code(struct station *s)
{
    /* 12 digits in groups of four: easy to read off a console and type. */
    char d[13];
    for (int i = 0; i < 12; i++)
        d[i] = (char)('0' + randombytes_uniform(10));
    d[12] = 0;
    snprintf(s->setup_code, sizeof s->setup_code, "%.4s-%.4s-%.4s", d, d + 4, d + 8);
    char path[4200];
    snprintf(path, sizeof path, "%s/station-setup-code", s->dir);
    /* Only the station's user may read it: whoever has it makes the commander. */
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd >= 0) {
        char line[40];
        int n = snprintf(line, sizeof line, "%s\n", s->setup_code);
        if (write(fd, line, (size_t)n) != n)
            station_log("could not write %s: %s", path, strerror(errno));
        close(fd);
    }
}

static int open_stores(struct station *s, char *err, size_t errlen)
{
    char path[4200], why[512] = "";
    snprintf(path, sizeof path, "%s/%s", s->dir, STATION_DB_NAME);
    if (officers_open(&s->of, path, err, errlen) || audit_open(&s->au, path, err, errlen))
        return -1;
    /* The postbox may be damaged: the station still starts and says so on every page. */
    if (console_open(&s->c, s->dir, why, sizeof why)) {
        s->c = NULL;
        snprintf(s->store_error, sizeof s->store_error, "%s", why);
        station_log("the postbox cannot be opened: %s", why);
        if (strstr(why, "post.pub"))
            return errbuf_say(err, errlen, -1, "%s", why);
    }
    snprintf(path, sizeof path, "%s/%s", s->dir, TIPINDEX_DB_NAME);
    if (s->c && tipindex_open(&s->ix, path, why, sizeof why)) {
        s->ix = NULL;
        snprintf(s->store_error, sizeof s->store_error, "%s", why);
        station_log("the tip list cannot be opened: %s", why);
    }
    snprintf(path, sizeof path, "%s/%s", s->dir, HEALTH_DB_NAME);
    if (health_open(&s->hl, path, why, sizeof why)) {
        s->hl = NULL;
        station_log("kiosk health cannot be opened: %s", why);
    }
    int n = 0;
    if (officers_count(s->of, &n, err, errlen))
        return -1;
    if (n == 0)
        make_setup_code(s);
    return 0;
}

static int start_tls(struct station *s, const struct station_opts *o, char *err, size_t errlen)
{
    char cert[4200], key[4200];
    snprintf(cert, sizeof cert, "%s", o->cert ? o->cert : "");
    snprintf(key, sizeof key, "%s", o->key ? o->key : "");
    if (!o->cert)
        snprintf(cert, sizeof cert, "%s/station-cert.pem", s->dir);
    if (!o->key)
        snprintf(key, sizeof key, "%s/station-key.pem", s->dir);
    struct tlscert_names *hn = calloc(1, sizeof *hn);
    if (!hn)
        return errbuf_say(err, errlen, -1, "out of memory");
    tlscert_host_names(hn);
    int made = 0;
    int rc = tlscert_ensure(cert, key, o->names ? o->names : hn->list, station_now(), &made, err,
                            errlen);
    free(hn);
    if (rc ||
        tlscert_fingerprint(cert, s->fingerprint, err, errlen) ||
        tlscert_load(cert, key, &s->cert_pem, &s->key_pem, err, errlen))
        return -1;
    if (made)
        station_log("made a certificate for this station: %s", cert);
    return 0;
}

int station_start(struct station **out, const struct station_opts *o, uint16_t *port, char *err,
                  size_t errlen)
{
    *out = NULL;
    if (!o || !o->post_dir || !o->listen)
        return errbuf_say(err, errlen, -1, "station_start: no post folder or listen address");
    struct sockaddr_storage ss;
    int v6 = 0, loopback = 0;
    if (parse_listen(o->listen, &ss, &v6, &loopback, err, errlen))
        return -1;
    if (o->plain && !loopback)
        return errbuf_say(err, errlen, -1,
                          "plain HTTP only on this machine's own address (127.0.0.1): officers "
                          "elsewhere on the network get TLS");
    struct station *s = calloc(1, sizeof *s);
    if (!s)
        return errbuf_say(err, errlen, -1, "out of memory");
    pthread_mutex_init(&s->mu, NULL);
    pthread_mutex_init(&s->pmu, NULL);
    snprintf(s->dir, sizeof s->dir, "%s", o->post_dir);
    s->pull_seconds = o->pull_seconds > 0 ? o->pull_seconds : 60;
    s->idle_lock_seconds = o->idle_lock_seconds > 0 ? o->idle_lock_seconds : 1800;
    s->session_idle_seconds = o->session_idle_seconds > 0 ? o->session_idle_seconds : 900;
    s->last_officer_request = station_now();
    s->tls = !o->plain;
    if (!(s->ss = sessions_new(s->session_idle_seconds))) {
        station_stop(s);
        return errbuf_say(err, errlen, -1, "out of memory");
    }
    if (open_stores(s, err, errlen) || (s->tls && start_tls(s, o, err, errlen))) {
        station_stop(s);
        return -1;
    }
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO | MHD_USE_ERROR_LOG;
    if (v6)
        flags |= IN6_IS_ADDR_UNSPECIFIED(&((struct sockaddr_in6 *)(void *)&ss)->sin6_addr)
                     ? MHD_USE_DUAL_STACK
                     : MHD_USE_IPv6;
    if (s->tls)
        flags |= MHD_USE_TLS;
    struct MHD_OptionItem opts[] = {
        {MHD_OPTION_EXTERNAL_LOGGER, (intptr_t)on_mhd_log, s},
        {MHD_OPTION_SOCK_ADDR, 0, &ss},
        {MHD_OPTION_NOTIFY_COMPLETED, (intptr_t)on_completed, s},
        {MHD_OPTION_CONNECTION_LIMIT, 128, NULL},
        /* A few threads: one officer's login (a slow hash, made so on purpose) does not hold up the others. */
        {MHD_OPTION_THREAD_POOL_SIZE, 4, NULL},
        {MHD_OPTION_CONNECTION_TIMEOUT, 60, NULL},
        /* A request line and headers past this are refused (414/431) by libmicrohttpd. */
        {MHD_OPTION_CONNECTION_MEMORY_LIMIT, 64 * 1024, NULL},
        {s->tls ? MHD_OPTION_HTTPS_MEM_CERT : MHD_OPTION_END, 0, s->cert_pem},
        {MHD_OPTION_HTTPS_MEM_KEY, 0, s->key_pem},
        {MHD_OPTION_END, 0, NULL},
    };
    s->mhd = MHD_start_daemon(flags, 0, NULL, NULL, on_request, s, MHD_OPTION_ARRAY, opts,
                              MHD_OPTION_END);
    if (!s->mhd) {
        station_stop(s);
        return errbuf_say(err, errlen, -1, "cannot listen on %s (is the port taken?)", o->listen);
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(s->mhd, MHD_DAEMON_INFO_BIND_PORT);
    if (port)
        *port = info ? info->port : 0;
    if (pthread_create(&s->keeper, NULL, keeper, s) == 0)
        s->keeper_on = 1;
    if (pthread_create(&s->puller, NULL, puller, s) == 0)
        s->puller_on = 1;
    *out = s;
    return 0;
}

void station_stop(struct station *s)
{
    if (!s)
        return;
    s->stopping = 1;
    if (s->mhd)
        MHD_stop_daemon(s->mhd);
    if (s->keeper_on)
        pthread_join(s->keeper, NULL);
    if (s->puller_on)
        pthread_join(s->puller, NULL);
    station_lock_all(s);
    tipindex_close(s->ix);
    health_close(s->hl);
    audit_close(s->au);
    officers_close(s->of);
    sessions_free(s->ss);
    console_close(s->c);
    tlscert_free(s->cert_pem, s->key_pem);
    pthread_mutex_destroy(&s->mu);
    pthread_mutex_destroy(&s->pmu);
    sodium_memzero(s->setup_code, sizeof s->setup_code);
    free(s);
}

const char *station_setup_code(const struct station *s)
{
    return s->setup_code;
}

const char *station_fingerprint(const struct station *s)
{
    return s->fingerprint;
}

int station_unlock(struct station *s, const char *passphrase, char *err, size_t errlen)
{
    pthread_mutex_lock(&s->mu);
    int rc = -1;
    if (!s->c)
        errbuf_say(err, errlen, -1, "%s", s->store_error);
    else if (console_unlock(s->c, passphrase, err, errlen) == 0 &&
             (!s->ix || tipindex_unlock(s->ix, s->c, err, errlen) == 0)) {
        rc = 0;
        s->last_officer_request = station_now();
        station_audit(s, NULL, "unlocked", "", "at the station's console");
    }
    pthread_mutex_unlock(&s->mu);
    return rc;
}
