/*
 * api_people — the station's state, first start, login and logout, the
 * post key's lock, officers and the audit trail (docs/station-api.md).
 * Every handler runs with s->mu held (station_priv.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "core/version.h"
#include "station/audit.h"
#include "station/officers.h"
#include "station/sessions.h"
#include "station/station_priv.h"
#include "station/tipindex.h"

enum MHD_Result api_state(struct station *s, struct MHD_Connection *con, const struct http_req *r,
                          const struct who *w, const char *arg)
{
    (void)r, (void)arg;
    struct json j;
    json_init(&j);
    json_obj(&j);
    json_kbool(&j, "setup_needed", s->setup_code[0] != 0);
    json_key(&j, "me");
    if (w) {
        json_obj(&j);
        json_kstr(&j, "name", w->name);
        json_kstr(&j, "role", officer_role_name(w->role));
        json_end(&j);
        json_kstr(&j, "csrf", w->csrf);
    } else {
        json_null(&j);
        json_key(&j, "csrf");
        json_null(&j);
    }
    json_kbool(&j, "unlocked", s->c && console_unlocked(s->c));
    json_kbool(&j, "tls", s->tls);
    json_kstr(&j, "fingerprint", s->fingerprint);
    json_kstr(&j, "version", HOMTHU_VERSION);
    pthread_mutex_lock(&s->pmu);
    json_kstr(&j, "post", s->pull.post_name); /* "" until post.conf names it */
    pthread_mutex_unlock(&s->pmu);
    if (w) {
        if (w->role != OFFICER_TECHNICIAN && s->ix && s->c) {
            size_t total = 0, fresh = 0, n = 0, all = 0;
            char err[256] = "";
            struct tipindex_row *last = calloc(1, sizeof *last);
            struct tipindex_filter f = TIPINDEX_FILTER_ALL;
            f.limit = 1;
            /* The newest tip's number: the page reloads its list when it changes. */
            if (!last || tipindex_counts(s->ix, s->c, &total, &fresh, err, sizeof err) ||
                tipindex_query(s->ix, s->c, &f, last, 1, &n, &all, err, sizeof err))
                n = 0;
            /* New to this officer: held and not yet opened by them, as the list marks them. */
            int64_t opened = 0;
            if (officers_seen_count(s->of, w->name, &opened, err, sizeof err))
                opened = 0;
            int64_t unopened = (int64_t)total - opened;
            json_key(&j, "tips");
            json_obj(&j);
            json_kint(&j, "total", (int64_t)total);
            json_kint(&j, "new", unopened > 0 ? unopened : 0);
            json_kint(&j, "status_new", (int64_t)fresh);
            json_kint(&j, "latest", n ? last->t.seq : 0);
            json_end(&j);
            free(last);
        }
        struct pull_state p;
        pthread_mutex_lock(&s->pmu);
        p = s->pull;
        pthread_mutex_unlock(&s->pmu);
        json_key(&j, "pull");
        json_obj(&j);
        json_kint(&j, "last_ok", p.last_ok);
        json_kint(&j, "last_try", p.last_try);
        json_kstr(&j, "error", p.error);
        json_end(&j);
    }
    json_key(&j, "disk");
    json_obj(&j);
    json_kint(&j, "free_mb", s->disk_free_mb);
    json_kbool(&j, "low", s->disk_checked && s->disk_free_mb < 64);
    json_end(&j);
    json_key(&j, "store");
    json_obj(&j);
    json_kbool(&j, "ok", s->c && s->ix);
    json_kstr(&j, "error", s->c && s->ix ? "" : s->store_error);
    json_end(&j);
    json_end(&j);
    return http_json(con, 200, &j);
}

static enum MHD_Result officers_error(struct MHD_Connection *con, int rc, const char *err,
                                      int64_t retry)
{
    switch (rc) {
    case OFFICERS_E_BAD_LOGIN:
        return http_error(con, 401, "bad_login", err, 0);
    case OFFICERS_E_LOCKED_OUT:
        return http_error(con, 429, "locked_out", err, retry > 0 ? retry : 1);
    case OFFICERS_E_DISABLED:
        return http_error(con, 403, "bad_login", err, 0);
    case OFFICERS_E_WEAK_PASSWORD:
        return http_error(con, 400, "weak_password", err, 0);
    case OFFICERS_E_EXISTS:
        return http_error(con, 409, "exists", err, 0);
    case OFFICERS_E_NOTFOUND:
        return http_error(con, 404, "not_found", err, 0);
    case OFFICERS_E_NAME:
    case OFFICERS_E_ROLE:
    case OFFICERS_E_ARG:
    case OFFICERS_E_LAST_COMMANDER:
        return http_error(con, 400, "bad_request", err, 0);
    default:
        return http_error(con, 500, "io", err, 0);
    }
}

enum MHD_Result api_setup(struct station *s, struct MHD_Connection *con, const struct http_req *r,
                          const struct who *w, const char *arg)
{
    (void)w, (void)arg;
    if (!s->setup_code[0])
        return http_error(con, 409, "setup_done", "the commander exists already: log in", 0);
    const char *code = http_field(r, "code"), *name = http_field(r, "name"),
               *pw = http_field(r, "password");
    if (!code || !name || !pw)
        return http_error(con, 400, "bad_request", "code, name and password are needed", 0);
    char addr[64];
    int64_t retry = 0;
    http_client_addr(con, addr);
    if (!sessions_login_allowed(s->ss, addr, station_now(), &retry))
        return http_error(con, 429, "locked_out", "too many tries from this computer", retry);
    if (strlen(code) != strlen(s->setup_code) ||
        sodium_memcmp(code, s->setup_code, strlen(s->setup_code)) != 0) {
        sessions_login_failed(s->ss, addr, station_now());
        return http_error(con, 403, "setup_code",
                          "that is not the setup code the station printed when it started", 0);
    }
    char err[512] = "";
    int rc = officers_add(s->of, name, OFFICER_COMMANDER, pw, station_now(), err, sizeof err);
    if (rc)
        return officers_error(con, rc, err, 0);
    sodium_memzero(s->setup_code, sizeof s->setup_code);
    char path[4200];
    snprintf(path, sizeof path, "%s/station-setup-code", s->dir);
    unlink(path);
    struct who me = {0};
    snprintf(me.name, sizeof me.name, "%s", name);
    station_audit(s, &me, "commander_made", "", "first start");
    return station_new_session(s, con, name, OFFICER_COMMANDER);
}

enum MHD_Result api_login(struct station *s, struct MHD_Connection *con, const struct http_req *r,
                          const struct who *w, const char *arg)
{
    (void)w, (void)arg;
    const char *name = http_field(r, "name"), *pw = http_field(r, "password");
    if (!name || !pw)
        return http_error(con, 400, "bad_request", "name and password are needed", 0);
    char addr[64], err[512] = "";
    int64_t retry = 0, now = station_now();
    http_client_addr(con, addr);
    if (!sessions_login_allowed(s->ss, addr, now, &retry))
        return http_error(con, 429, "locked_out", "too many wrong passwords from this computer",
                          retry);
    struct officer of;
    /*
     * A password hash takes a tenth of a second or more on purpose: let the
     * other officers' requests through meanwhile (officers and sessions
     * take their own locks; s->of lives as long as the station).
     */
    pthread_mutex_unlock(&s->mu);
    int rc = officers_login(s->of, name, pw, now, &of, &retry, err, sizeof err);
    pthread_mutex_lock(&s->mu);
    if (rc) {
        if (rc == OFFICERS_E_BAD_LOGIN || rc == OFFICERS_E_LOCKED_OUT)
            sessions_login_failed(s->ss, addr, now);
        if (rc == OFFICERS_E_BAD_LOGIN)
            station_audit(s, NULL, "login_failed", "", addr); /* not the name typed: it may be a password */
        if (rc == OFFICERS_E_LOCKED_OUT)
            station_audit(s, NULL, "login_locked_out", "", name);
        return officers_error(con, rc, err, retry);
    }
    sessions_login_ok(s->ss, addr);
    struct who me = {0};
    snprintf(me.name, sizeof me.name, "%s", of.name);
    station_audit(s, &me, "logged_in", "", addr);
    return station_new_session(s, con, of.name, of.role);
}

enum MHD_Result api_logout(struct station *s, struct MHD_Connection *con,
                           const struct http_req *r, const struct who *w, const char *arg)
{
    (void)r, (void)arg;
    const char *tok = http_cookie(con);
    if (tok)
        sessions_end(s->ss, tok);
    station_audit(s, w, "logged_out", "", "");
    struct json j;
    json_init(&j);
    json_obj(&j);
    json_end(&j);
    struct MHD_Response *resp = http_json_response(&j);
    if (!resp)
        return MHD_NO;
    http_set_cookie(resp, "", s->tls);
    return http_queue(con, 200, resp, 1);
}

static enum MHD_Result empty_ok(struct MHD_Connection *con)
{
    struct json j;
    json_init(&j);
    json_obj(&j);
    json_end(&j);
    return http_json(con, 200, &j);
}

enum MHD_Result api_unlock(struct station *s, struct MHD_Connection *con,
                           const struct http_req *r, const struct who *w, const char *arg)
{
    (void)arg;
    enum MHD_Result ret;
    if (station_store_missing(s, con, &ret))
        return ret;
    const char *pass = http_field(r, "passphrase");
    if (!pass || !*pass)
        return http_error(con, 400, "bad_request", "the passphrase is needed", 0);
    char err[512] = "";
    int rc = console_unlock(s->c, pass, err, sizeof err);
    if (rc == CONSOLE_E_PASSPHRASE) {
        station_audit(s, w, "unlock_refused", "", "wrong passphrase");
        return http_error(con, 401, "wrong_passphrase", err, 0);
    }
    if (rc)
        return http_error(con, 500, "io", err, 0);
    if (tipindex_unlock(s->ix, s->c, err, sizeof err)) {
        station_log("tip list after unlock: %s", err);
        station_lock_all(s);
        return http_error(con, 500, "io", err, 0);
    }
    station_audit(s, w, "unlocked", "", "");
    return empty_ok(con);
}

enum MHD_Result api_lock(struct station *s, struct MHD_Connection *con, const struct http_req *r,
                         const struct who *w, const char *arg)
{
    (void)r, (void)arg;
    station_lock_all(s);
    station_audit(s, w, "locked", "", "");
    return empty_ok(con);
}

/* ---- officers ---- */

static int officer_row(void *ctx, const struct officer *of)
{
    struct json *j = ctx;
    json_obj(j);
    json_kstr(j, "name", of->name);
    json_kstr(j, "role", officer_role_name(of->role));
    json_kint(j, "created", of->created);
    json_kint(j, "last_login", of->last_login);
    json_kbool(j, "disabled", of->disabled);
    json_kint(j, "locked_until", of->locked_until > station_now() ? of->locked_until : 0);
    json_end(j);
    return 0;
}

enum MHD_Result api_officers(struct station *s, struct MHD_Connection *con,
                             const struct http_req *r, const struct who *w, const char *arg)
{
    (void)r, (void)arg;
    struct json j;
    char err[512] = "";
    json_init(&j);
    json_obj(&j);
    json_key(&j, "officers");
    json_arr(&j);
    if (w->role == OFFICER_COMMANDER) {
        if (officers_list(s->of, officer_row, &j, err, sizeof err)) {
            json_done(&j);
            return http_error(con, 500, "io", err, 0);
        }
    } else if (w->role == OFFICER_OFFICER) {
        /* Officers see who they can hand a tip to, and nothing else of them. */
        struct officer of;
        if (officers_get(s->of, w->name, &of, err, sizeof err) == 0)
            officer_row(&j, &of);
    }
    json_end(&j);
    json_end(&j);
    return http_json(con, 200, &j);
}

enum MHD_Result api_officer_add(struct station *s, struct MHD_Connection *con,
                                const struct http_req *r, const struct who *w, const char *arg)
{
    (void)arg;
    const char *name = http_field(r, "name"), *role = http_field(r, "role"),
               *pw = http_field(r, "password");
    int ro = role ? officer_role_parse(role) : -1;
    if (!name || !pw || ro < 0)
        return http_error(con, 400, "bad_request",
                          "name, role (commander, officer, technician) and password are needed", 0);
    char err[512] = "";
    int rc = officers_add(s->of, name, ro, pw, station_now(), err, sizeof err);
    if (rc)
        return officers_error(con, rc, err, 0);
    char d[80];
    snprintf(d, sizeof d, "%s as %s", name, role);
    station_audit(s, w, "officer_added", "", d);
    return empty_ok(con);
}

enum MHD_Result api_officer_password(struct station *s, struct MHD_Connection *con,
                                     const struct http_req *r, const struct who *w, const char *arg)
{
    if (w->role != OFFICER_COMMANDER && strcmp(arg, w->name) != 0)
        return http_error(con, 403, "forbidden", "only the commander sets another's password", 0);
    const char *pw = http_field(r, "password");
    if (!pw)
        return http_error(con, 400, "bad_request", "the new password is needed", 0);
    char err[512] = "";
    int rc = officers_set_password(s->of, arg, pw, station_now(), err, sizeof err);
    if (rc)
        return officers_error(con, rc, err, 0);
    /* Everywhere that officer was logged in ends, this page too. */
    sessions_end_officer(s->ss, arg);
    station_audit(s, w, "password_set", "", arg);
    return empty_ok(con);
}

enum MHD_Result api_officer_disable(struct station *s, struct MHD_Connection *con,
                                    const struct http_req *r, const struct who *w, const char *arg)
{
    (void)r;
    char err[512] = "";
    int rc = officers_disable(s->of, arg, err, sizeof err);
    if (rc)
        return officers_error(con, rc, err, 0);
    sessions_end_officer(s->ss, arg);
    station_audit(s, w, "officer_disabled", "", arg);
    return empty_ok(con);
}

/* ---- audit ---- */

static int audit_row(void *ctx, const struct audit_entry *e)
{
    struct json *j = ctx;
    json_obj(j);
    json_kint(j, "id", e->id);
    json_kint(j, "at", e->at);
    json_kstr(j, "officer", e->officer);
    json_kstr(j, "action", e->action);
    json_kstr(j, "tip", e->tip);
    json_kstr(j, "detail", e->detail);
    json_end(j);
    return 0;
}

enum MHD_Result api_audit(struct station *s, struct MHD_Connection *con, const struct http_req *r,
                          const struct who *w, const char *arg)
{
    (void)r, (void)w, (void)arg;
    enum MHD_Result ret;
    if (station_store_missing(s, con, &ret))
        return ret;
    if (!console_unlocked(s->c))
        return http_error(con, 423, "locked", "unlock the post key to read the audit trail", 0);
    const char *b = MHD_lookup_connection_value(con, MHD_GET_ARGUMENT_KIND, "before");
    const char *l = MHD_lookup_connection_value(con, MHD_GET_ARGUMENT_KIND, "limit");
    int64_t before = b ? strtoll(b, NULL, 10) : 0;
    long limit = l ? strtol(l, NULL, 10) : 100;
    if (limit <= 0 || limit > 500)
        limit = 100;
    struct json j;
    char err[512] = "";
    int intact = 1;
    json_init(&j);
    json_obj(&j);
    json_key(&j, "entries");
    json_arr(&j);
    if (audit_read(s->au, s->c, before, (int)limit, audit_row, &j, &intact, err, sizeof err)) {
        json_done(&j);
        return http_error(con, 500, "io", err, 0);
    }
    json_end(&j);
    json_kbool(&j, "intact", intact);
    json_end(&j);
    return http_json(con, 200, &j);
}
