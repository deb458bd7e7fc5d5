/*
 * api_tips — the list of tips, one tip opened, its recording, its status
 * and who it is assigned to (docs/station-api.md). Every handler runs with
 * s->mu held (station_priv.h). Everything decrypted goes out in answers
 * marked no-store, from memory that is wiped when sent.
 */
#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "station/health.h"
#include "station/officers.h"
#include "station/station_priv.h"
#include "station/tipindex.h"

#define LIST_MAX 200

static const char *arg_of(struct MHD_Connection *con, const char *name)
{
    const char *v = MHD_lookup_connection_value(con, MHD_GET_ARGUMENT_KIND, name);
    return v && *v ? v : NULL;
}

static int category_parse(const char *name)
{
    for (int c = 1; c <= 7; c++)
        if (strcmp(console_category_short(c), name) == 0)
            return c;
    return -2;
}

/* The query's filters; 0, or -1 with a sentence for a bad one. */
static int read_filter(struct MHD_Connection *con, struct tipindex_filter *f, char *why, size_t cap)
{
    *f = TIPINDEX_FILTER_ALL;
    const char *v;
    if ((v = arg_of(con, "status")) && (f->status = postbox_status_parse(v)) < 0) {
        snprintf(why, cap, "no such status: %.40s", v);
        return -1;
    }
    if ((v = arg_of(con, "category")) && (f->category = category_parse(v)) < 0) {
        snprintf(why, cap, "no such category: %.40s", v);
        return -1;
    }
    f->kiosk = arg_of(con, "kiosk");
    if ((v = arg_of(con, "from")))
        f->from = strtoll(v, NULL, 10);
    if ((v = arg_of(con, "to")))
        f->to = strtoll(v, NULL, 10);
    f->q = arg_of(con, "q");
    if ((v = arg_of(con, "offset")))
        f->offset = (size_t)strtoull(v, NULL, 10);
    f->limit = 50;
    if ((v = arg_of(con, "limit"))) {
        long l = strtol(v, NULL, 10);
        f->limit = l <= 0 ? 50 : l > LIST_MAX ? LIST_MAX : (size_t)l;
    }
    return 0;
}

static void commune_of(struct station *s, const char *kiosk, char *out, size_t cap)
{
    char err[256];
    out[0] = 0;
    if (s->hl && health_commune(s->hl, kiosk, out, cap, err, sizeof err) != 0)
        out[0] = 0;
}

/* The fields of a ROW (docs/station-api.md) but seen and assigned. */
static void row_fields(struct station *s, struct json *j, const struct tipindex_row *x)
{
    char commune[128];
    json_kstr(j, "id", x->id);
    json_kint(j, "seq", x->t.seq);
    json_kint(j, "received", x->t.received);
    json_kstr(j, "source", postbox_source_name(x->t.source));
    json_kstr(j, "kiosk", x->kiosk);
    commune_of(s, x->kiosk, commune, sizeof commune);
    json_kstr(j, "commune", commune);
    json_kstr(j, "status", postbox_status_name(x->t.status));
    json_kint(j, "status_at", x->t.status_at);
    json_kbool(j, "indexed", x->indexed);
    json_key(j, "category");
    if (x->indexed && x->category > 0)
        json_str(j, console_category_short(x->category));
    else
        json_null(j);
    json_key(j, "language");
    if (x->indexed && x->language[0])
        json_str(j, x->language);
    else
        json_null(j);
    json_key(j, "seconds");
    if (x->indexed)
        json_num(j, x->seconds);
    else
        json_null(j);
    json_kstr(j, "verdict", tipindex_verdict_name(x->verdict));
}

static enum MHD_Result list_error(struct MHD_Connection *con, int rc, const char *err)
{
    if (rc == TIPINDEX_E_LOCKED)
        return http_error(con, 423, "locked", err, 0);
    return http_error(con, 500, "io", err, 0);
}

/* The store is there, the filter reads, rows are allocated: NULL when answered already. */
static struct tipindex_row *start_list(struct station *s, struct MHD_Connection *con,
                                       struct tipindex_filter *f, enum MHD_Result *ret)
{
    char err[512] = "";
    if (station_store_missing(s, con, ret))
        return NULL;
    if (read_filter(con, f, err, sizeof err)) {
        *ret = http_error(con, 400, "bad_request", err, 0);
        return NULL;
    }
    struct tipindex_row *rows = calloc(LIST_MAX, sizeof *rows);
    if (!rows)
        *ret = http_error(con, 500, "io", "out of memory", 0);
    return rows;
}

enum MHD_Result api_tips(struct station *s, struct MHD_Connection *con, const struct http_req *r,
                         const struct who *w, const char *arg)
{
    (void)r, (void)arg;
    enum MHD_Result ret;
    struct tipindex_filter f;
    struct tipindex_row *rows = start_list(s, con, &f, &ret);
    if (!rows)
        return ret;
    char err[512] = "";
    size_t n = 0, total = 0;
    int rc = tipindex_query(s->ix, s->c, &f, rows, LIST_MAX, &n, &total, err, sizeof err);
    if (rc) {
        free(rows);
        return list_error(con, rc, err);
    }
    int64_t seqs[LIST_MAX];
    int seen[LIST_MAX];
    for (size_t i = 0; i < n; i++)
        seqs[i] = rows[i].t.seq, seen[i] = 1;
    if (n && officers_seen(s->of, w->name, seqs, n, seen, err, sizeof err))
        station_log("seen marks: %s", err);
    struct json j;
    json_init(&j);
    json_obj(&j);
    json_kint(&j, "total", (int64_t)total);
    json_kint(&j, "offset", (int64_t)f.offset);
    json_kint(&j, "limit", (int64_t)f.limit);
    json_kbool(&j, "unlocked", console_unlocked(s->c));
    json_key(&j, "tips");
    json_arr(&j);
    for (size_t i = 0; i < n; i++) {
        char who[OFFICER_NAME_MAX + 1] = "";
        if (officers_assigned(s->of, rows[i].t.seq, who, err, sizeof err))
            who[0] = 0;
        json_obj(&j);
        row_fields(s, &j, &rows[i]);
        json_kbool(&j, "seen", seen[i]);
        json_kstr(&j, "assigned", who);
        json_end(&j);
    }
    json_end(&j);
    json_end(&j);
    sodium_memzero(rows, LIST_MAX * sizeof *rows);
    free(rows);
    return http_json(con, 200, &j);
}

/* A cell for a spreadsheet: quoted, and never a formula (= + - @ tab CR first). */
static void csv_cell(struct json *out, const char *v, int last)
{
    /* The json buffer as plain growing text: wiped when freed. */
    char q = '"';
    size_t n = strlen(v);
    char *b = malloc(2 * n + 8);
    if (!b) {
        out->failed = 1;
        return;
    }
    size_t k = 0;
    b[k++] = q;
    if (n && strchr("=+-@\t\r", v[0]))
        b[k++] = '\'';
    for (size_t i = 0; i < n; i++) {
        if (v[i] == '"')
            b[k++] = '"';
        b[k++] = v[i];
    }
    b[k++] = q;
    b[k++] = last ? '\n' : ',';
    json_raw(out, b, k);
    free(b);
}

enum MHD_Result api_tips_csv(struct station *s, struct MHD_Connection *con,
                             const struct http_req *r, const struct who *w, const char *arg)
{
    (void)r, (void)arg;
    enum MHD_Result ret;
    struct tipindex_filter f;
    struct tipindex_row *rows = start_list(s, con, &f, &ret);
    if (!rows)
        return ret;
    char err[512] = "";
    struct json out;
    json_init(&out);
    static const char *head[] = {"id", "received_utc", "kiosk", "commune", "category",
                                 "language", "seconds", "status", "verdict"};
    for (size_t i = 0; i < 9; i++)
        csv_cell(&out, head[i], i == 8);
    f.offset = 0;
    f.limit = LIST_MAX;
    size_t n = 0, total = 0, rows_out = 0;
    for (;;) {
        int rc = tipindex_query(s->ix, s->c, &f, rows, LIST_MAX, &n, &total, err, sizeof err);
        if (rc) {
            free(rows);
            json_done(&out);
            return list_error(con, rc, err);
        }
        for (size_t i = 0; i < n; i++) {
            const struct tipindex_row *x = &rows[i];
            char when[40], commune[128], secs[32];
            console_time(x->t.received, 1, when);
            commune_of(s, x->kiosk, commune, sizeof commune);
            snprintf(secs, sizeof secs, "%.1f", x->seconds);
            const char *cells[] = {x->id, when, x->kiosk, commune,
                                   x->indexed && x->category > 0 ? console_category_short(x->category) : "",
                                   x->indexed ? x->language : "", x->indexed ? secs : "",
                                   postbox_status_name(x->t.status), tipindex_verdict_name(x->verdict)};
            for (size_t c = 0; c < 9; c++)
                csv_cell(&out, cells[c], c == 8);
        }
        rows_out += n;
        if (n < LIST_MAX || rows_out >= total)
            break;
        f.offset += n;
    }
    free(rows);
    size_t len = 0;
    char *b = out.len ? json_take(&out, &len) : NULL;
    struct MHD_Response *resp =
        b ? MHD_create_response_from_buffer_with_free_callback(len, b, json_free_buf)
          : MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
    if (!resp) {
        json_free_buf(b);
        return MHD_NO;
    }
    MHD_add_response_header(resp, "Content-Type", "text/csv; charset=utf-8");
    MHD_add_response_header(resp, "Content-Disposition", "attachment; filename=\"tips.csv\"");
    char d[64];
    snprintf(d, sizeof d, "%zu rows", rows_out);
    station_audit(s, w, "exported_list", "", d);
    return http_queue(con, 200, resp, 1);
}

/* ---- one tip ---- */

static int find_tip(struct station *s, struct MHD_Connection *con, const char *arg,
                    struct postbox_tip *t, enum MHD_Result *ret)
{
    size_t n = strlen(arg);
    int hex = n >= 8 && n <= 32;
    for (size_t i = 0; hex && i < n; i++)
        hex = isxdigit((unsigned char)arg[i]) != 0;
    if (!hex) {
        *ret = http_error(con, 404, "not_found", "a tip is named by 8 to 32 hex digits", 0);
        return -1;
    }
    char err[512] = "";
    int rc = console_find(s->c, arg, t, err, sizeof err);
    if (rc == CONSOLE_E_NOTFOUND || rc == CONSOLE_E_AMBIGUOUS) {
        *ret = http_error(con, 404, "not_found", err, 0);
        return -1;
    }
    if (rc) {
        *ret = http_error(con, 500, "io", err, 0);
        return -1;
    }
    return 0;
}

/* Open tip t, or give the cached one (the audio player asks many times). */
static int open_tip(struct station *s, struct MHD_Connection *con, const struct postbox_tip *t,
                    enum MHD_Result *ret)
{
    if (!console_unlocked(s->c)) {
        *ret = http_error(con, 423, "locked", "the post key is locked: the commander unlocks it", 0);
        return -1;
    }
    if (s->open_tip && s->open_seq == t->seq) {
        s->open_at = station_now();
        return 0;
    }
    station_drop_open_tip(s);
    char err[512] = "";
    struct console_tip *v = NULL;
    if (console_open_tip(s->c, t, &v, err, sizeof err)) {
        *ret = http_error(con, 500, "io", err, 0);
        return -1;
    }
    s->open_tip = v;
    s->open_seq = t->seq;
    s->open_at = station_now();
    s->open_listened[0] = 0;
    return 0;
}

static int verdict_of(const struct console_tip *v)
{
    if (!v->genuine)
        return TIPINDEX_REFUSED;
    if (v->has_meta && v->meta.training)
        return TIPINDEX_PRACTICE;
    if (v->unconfirmed)
        return TIPINDEX_UNCONFIRMED;
    return v->verdict == ENVELOPE_E_CUT_SHORT ? TIPINDEX_CUT_SHORT : TIPINDEX_SIGNED;
}

static int history_row(void *ctx, const struct console_event *e)
{
    struct json *j = ctx;
    json_obj(j);
    json_kint(j, "at", e->at);
    json_kstr(j, "status", postbox_status_name(e->status));
    json_kstr(j, "note", e->sealed ? "" : e->note);
    json_kbool(j, "sealed", e->sealed);
    json_end(j);
    return 0;
}

enum MHD_Result api_tip(struct station *s, struct MHD_Connection *con, const struct http_req *r,
                        const struct who *w, const char *arg)
{
    (void)r;
    enum MHD_Result ret;
    struct postbox_tip t;
    if (station_store_missing(s, con, &ret) || find_tip(s, con, arg, &t, &ret) ||
        open_tip(s, con, &t, &ret))
        return ret;
    const struct console_tip *v = s->open_tip;
    char err[512] = "", hex[33], line[1024], buf[40], commune[128],
         who[OFFICER_NAME_MAX + 1] = "";
    sodium_bin2hex(hex, sizeof hex, t.id, sizeof t.id);
    struct json j;
    json_init(&j);
    json_obj(&j);
    json_kstr(&j, "id", hex);
    json_kint(&j, "seq", t.seq);
    json_kint(&j, "received", t.received);
    json_kstr(&j, "source", postbox_source_name(t.source));
    json_kstr(&j, "kiosk", v->kiosk);
    commune_of(s, v->kiosk, commune, sizeof commune);
    json_kstr(&j, "commune", commune);
    json_kstr(&j, "status", postbox_status_name(t.status));
    json_kint(&j, "status_at", t.status_at);
    json_kbool(&j, "indexed", 1);
    json_key(&j, "category");
    if (v->has_meta && v->meta.category)
        json_str(&j, console_category_short(v->meta.category));
    else
        json_null(&j);
    json_key(&j, "language");
    if (v->has_meta && v->meta.language[0])
        json_str(&j, v->meta.language);
    else
        json_null(&j);
    json_key(&j, "seconds");
    json_num(&j, v->seconds);
    json_kstr(&j, "verdict", tipindex_verdict_name(verdict_of(v)));
    json_kbool(&j, "seen", 1);
    if (officers_assigned(s->of, t.seq, who, err, sizeof err))
        who[0] = 0;
    json_kstr(&j, "assigned", who);
    console_verdict_line(v, line, sizeof line);
    json_kstr(&j, "verdict_line", line);
    json_kstr(&j, "why", v->why);
    json_kstr(&j, "when", console_when_name(v->when));
    if (v->has_meta)
        console_capture_day(v->meta.capture_day, buf);
    else
        snprintf(buf, sizeof buf, "-");
    json_kstr(&j, "capture_day", buf);
    json_key(&j, "text");
    if (v->text)
        json_strn(&j, (const char *)v->text, v->text_len);
    else
        json_null(&j);
    json_kbool(&j, "has_audio", v->audio != NULL);
    json_kbool(&j, "withheld", v->withheld);
    json_key(&j, "history");
    json_arr(&j);
    if (console_history(s->c, &t, history_row, &j, err, sizeof err)) {
        json_done(&j);
        return http_error(con, 500, "io", err, 0);
    }
    json_end(&j);
    json_end(&j);
    if (officers_mark_seen(s->of, w->name, t.seq, err, sizeof err))
        station_log("seen mark: %s", err);
    station_audit(s, w, "opened", hex, "");
    return http_json(con, 200, &j);
}

enum MHD_Result api_tip_audio(struct station *s, struct MHD_Connection *con,
                              const struct http_req *r, const struct who *w, const char *arg)
{
    (void)r;
    enum MHD_Result ret;
    struct postbox_tip t;
    if (station_store_missing(s, con, &ret) || find_tip(s, con, arg, &t, &ret) ||
        open_tip(s, con, &t, &ret))
        return ret;
    const uint8_t *ogg = NULL;
    size_t len = 0;
    char err[512] = "", hex[33];
    int rc = console_tip_audio(s->open_tip, &ogg, &len, err, sizeof err);
    if (rc == CONSOLE_E_REFUSED)
        return http_error(con, 403, "refused", err, 0);
    if (rc)
        return http_error(con, 404, "no_audio", err, 0);
    sodium_bin2hex(hex, sizeof hex, t.id, sizeof t.id);
    int download = arg_of(con, "download") != NULL;
    uint64_t first = 0, last = len ? len - 1 : 0;
    int ranged = http_parse_range(
        MHD_lookup_connection_value(con, MHD_HEADER_KIND, "Range"), len, &first, &last);
    if (ranged < 0) {
        struct MHD_Response *resp = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
        char cr[64];
        snprintf(cr, sizeof cr, "bytes */%zu", len);
        MHD_add_response_header(resp, "Content-Range", cr);
        return http_queue(con, 416, resp, 1);
    }
    size_t n = ranged ? (size_t)(last - first + 1) : len;
    struct MHD_Response *resp = http_secret_bytes(ogg + (ranged ? first : 0), n);
    if (!resp)
        return MHD_NO;
    MHD_add_response_header(resp, "Content-Type", "audio/ogg");
    MHD_add_response_header(resp, "Accept-Ranges", "bytes");
    if (ranged) {
        char cr[96];
        snprintf(cr, sizeof cr, "bytes %" PRIu64 "-%" PRIu64 "/%zu", first, last, len);
        MHD_add_response_header(resp, "Content-Range", cr);
    }
    if (download) {
        char cd[128];
        snprintf(cd, sizeof cd, "attachment; filename=\"tip-%.8s.opus\"", hex);
        MHD_add_response_header(resp, "Content-Disposition", cd);
        station_audit(s, w, "downloaded_recording", hex, "");
    } else if (strcmp(s->open_listened, w->name) != 0) {
        /* The player asks in many ranges: one line per officer and opening. */
        snprintf(s->open_listened, sizeof s->open_listened, "%s", w->name);
        station_audit(s, w, "listened", hex, "");
    }
    return http_queue(con, ranged ? 206 : 200, resp, 1);
}

static enum MHD_Result ok_empty(struct MHD_Connection *con)
{
    struct json j;
    json_init(&j);
    json_obj(&j);
    json_end(&j);
    return http_json(con, 200, &j);
}

enum MHD_Result api_tip_status(struct station *s, struct MHD_Connection *con,
                               const struct http_req *r, const struct who *w, const char *arg)
{
    enum MHD_Result ret;
    struct postbox_tip t;
    if (station_store_missing(s, con, &ret) || find_tip(s, con, arg, &t, &ret))
        return ret;
    const char *st = http_field(r, "status"), *note = http_field(r, "note");
    int status = st ? postbox_status_parse(st) : -1;
    if (status < 0)
        return http_error(con, 400, "bad_request", "status is new, checking, acted, false or closed", 0);
    char err[512] = "", hex[33], d[80];
    if (console_note_check(note ? note : "", err, sizeof err))
        return http_error(con, 400, "note", err, 0);
    int rc = console_set_status(s->c, &t, status, note, station_now(), err, sizeof err);
    if (rc)
        return http_error(con, 500, "io", err, 0);
    sodium_bin2hex(hex, sizeof hex, t.id, sizeof t.id);
    snprintf(d, sizeof d, "%s -> %s", postbox_status_name(t.status), st);
    station_audit(s, w, "status_changed", hex, d);
    return ok_empty(con);
}

enum MHD_Result api_tip_assign(struct station *s, struct MHD_Connection *con,
                               const struct http_req *r, const struct who *w, const char *arg)
{
    enum MHD_Result ret;
    struct postbox_tip t;
    if (station_store_missing(s, con, &ret) || find_tip(s, con, arg, &t, &ret))
        return ret;
    /* libmicrohttpd gives no field for "officer=" at all: that is the empty name, which clears. */
    const char *to = http_field(r, "officer");
    if (!to)
        to = "";
    char err[512] = "", hex[33];
    int rc = officers_assign(s->of, t.seq, to, station_now(), err, sizeof err);
    if (rc == OFFICERS_E_NOTFOUND)
        return http_error(con, 404, "not_found", err, 0);
    if (rc == OFFICERS_E_ROLE || rc == OFFICERS_E_NAME)
        return http_error(con, 400, "bad_request", err, 0);
    if (rc)
        return http_error(con, 500, "io", err, 0);
    sodium_bin2hex(hex, sizeof hex, t.id, sizeof t.id);
    station_audit(s, w, "assigned", hex, *to ? to : "(nobody)");
    return ok_empty(con);
}
