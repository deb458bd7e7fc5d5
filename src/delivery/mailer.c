/* mailer — see mailer.h and docs/mail.md. */
#include "delivery/mailer.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>
#include <sodium.h>

#include "core/config.h"
#include "core/errbuf.h"

/* errbuf_say under this file's old name, so its call sites read as before. */
#define say errbuf_say

uint32_t mailer_part_count(uint64_t total, size_t part_bytes)
{
    if (!part_bytes || total == 0)
        return 1;
    uint64_t n = (total + part_bytes - 1) / part_bytes;
    return n > UINT32_MAX ? UINT32_MAX : (uint32_t)n;
}

/* A growing text buffer for one mail; `dead` after a failed allocation. */
struct text {
    char *b;
    size_t len, cap;
    int dead;
};

static void put(struct text *t, const char *s, size_t n)
{
    if (t->dead)
        return;
    if (t->len + n + 1 > t->cap) {
        size_t cap = t->cap ? t->cap : 4096;
        while (cap < t->len + n + 1)
            cap *= 2;
        char *b = realloc(t->b, cap);
        if (!b) {
            t->dead = 1;
            return;
        }
        t->b = b;
        t->cap = cap;
    }
    memcpy(t->b + t->len, s, n);
    t->len += n;
    t->b[t->len] = 0;
}

static void putf(struct text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void putf(struct text *t, const char *fmt, ...)
{
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof line)
        t->dead = 1; /* every header we write is far shorter; never send a cut one */
    else
        put(t, line, (size_t)n);
}

/* RFC 5322 date in UTC, independent of the locale. */
static void mail_date(int64_t now, char out[64])
{
    static const char *const days[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    static const char *const months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                         "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    time_t t = (time_t)now;
    struct tm tm;
    if (!gmtime_r(&t, &tm)) {
        t = 0;
        gmtime_r(&t, &tm);
    }
    snprintf(out, 64, "%s, %02d %s %04d %02d:%02d:%02d +0000", days[tm.tm_wday % 7], tm.tm_mday,
             months[tm.tm_mon % 12], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

int mailer_build_part(const struct mailer_opts *o, const uint8_t id[16], const uint8_t *bytes,
                      size_t len, uint32_t index, uint32_t count, uint64_t offset, uint64_t total,
                      int64_t now, char **out, size_t *out_len, char *err, size_t errlen)
{
    if (!o || !id || (!bytes && len) || !out || !out_len || !o->from || !o->to)
        return say(err, errlen, MAILER_E_ARG, "mailer: missing argument");
    *out = NULL;
    *out_len = 0;
    if (!config_mail_address_ok(o->from) || !config_mail_address_ok(o->to))
        return say(err, errlen, MAILER_E_ARG,
                   "mailer: mail_from and mail_to must be plain addresses like post@example.org");
    if (index < 1 || index > count || count > MAILER_MAX_PARTS || offset + len > total)
        return say(err, errlen, MAILER_E_ARG, "mailer: part %u/%u does not fit the tip (bug)",
                   index, count);
    char sid[33], hash_hex[65], date[64];
    uint8_t hash[32];
    errbuf_hex(sid, id, 16);
    crypto_generichash(hash, sizeof hash, bytes, len, NULL, 0);
    errbuf_hex(hash_hex, hash, sizeof hash);
    mail_date(now, date);
    const char *domain = strchr(o->from, '@') + 1;

    struct text t = {0};
    /* The tip id, part and sizes are what the relay would see too: nothing of the person. */
    putf(&t, "Date: %s\r\n", date);
    putf(&t, "From: %s\r\n", o->from);
    putf(&t, "To: %s\r\n", o->to);
    putf(&t, "Subject: Hom thu tip %s part %u/%u\r\n", sid, index, count);
    /* The same part sent again has the same Message-ID: servers may drop the copy. */
    putf(&t, "Message-ID: <%s.%uof%u@%s>\r\n", sid, index, count, domain);
    putf(&t, "MIME-Version: 1.0\r\n");
    putf(&t, MAILER_H_TIP ": %s\r\n", sid);
    putf(&t, MAILER_H_PART ": %u/%u\r\n", index, count);
    putf(&t, MAILER_H_OFFSET ": %llu\r\n", (unsigned long long)offset);
    putf(&t, MAILER_H_PART_BYTES ": %zu\r\n", len);
    putf(&t, MAILER_H_TOTAL ": %llu\r\n", (unsigned long long)total);
    putf(&t, MAILER_H_HASH ": %s\r\n", hash_hex);
    putf(&t, "Content-Type: multipart/mixed; boundary=\"homthu-%s-%u\"\r\n", sid, index);
    putf(&t, "\r\n"
             "This is a sealed Hom thu tip in MIME format.\r\n"
             "\r\n");
    putf(&t, "--homthu-%s-%u\r\n", sid, index);
    putf(&t,
         "Content-Type: text/plain; charset=us-ascii\r\n"
         "\r\n"
         "A sealed tip from a Hom thu kiosk, part %u of %u. Only the border post's\r\n"
         "console can open it (homthu-post pull --imap). Leave it unread in this\r\n"
         "mailbox: the console marks it read once it holds the whole tip.\r\n"
         "\r\n",
         index, count);
    putf(&t, "--homthu-%s-%u\r\n", sid, index);
    putf(&t,
         "Content-Type: application/octet-stream\r\n"
         "Content-Disposition: attachment; filename=\"%s-%uof%u.homthu\"\r\n"
         "Content-Transfer-Encoding: base64\r\n"
         "\r\n",
         sid, index, count);
    /* 76 characters a line (57 bytes), as RFC 2045 asks. */
    char line[80];
    for (size_t off = 0; off < len; off += 57) {
        size_t n = len - off < 57 ? len - off : 57;
        sodium_bin2base64(line, sizeof line, bytes + off, n, sodium_base64_VARIANT_ORIGINAL);
        put(&t, line, strlen(line));
        put(&t, "\r\n", 2);
    }
    putf(&t, "--homthu-%s-%u--\r\n", sid, index);
    if (t.dead) {
        free(t.b);
        return say(err, errlen, MAILER_E_NOMEM, "mailer: out of memory building a mail");
    }
    *out = t.b;
    *out_len = t.len;
    return 0;
}

/* ---- sending tips from the queue ---- */

struct mailer {
    struct queue *q;
    const struct mailer_transport *t;
    char *from, *to;
    size_t part_bytes;
    /* Parts already accepted of the tip tried last (this process only). */
    uint8_t progress_id[16];
    uint32_t progress_parts;
    int has_progress;
    uint8_t *buf; /* one part */
};

int mailer_new(struct mailer **out, struct queue *q, const struct mailer_opts *o,
               const struct mailer_transport *t, char *err, size_t errlen)
{
    if (!out || !q || !o || !t || !t->send || !o->from || !o->to)
        return say(err, errlen, MAILER_E_ARG, "mailer: missing argument");
    *out = NULL;
    if (o->part_bytes < CONFIG_MAIL_PART_MIN || o->part_bytes > CONFIG_MAIL_PART_MAX)
        return say(err, errlen, MAILER_E_ARG, "mailer: part size %zu is out of range (%d-%d)",
                   o->part_bytes, CONFIG_MAIL_PART_MIN, CONFIG_MAIL_PART_MAX);
    if (!config_mail_address_ok(o->from) || !config_mail_address_ok(o->to))
        return say(err, errlen, MAILER_E_ARG,
                   "mailer: mail_from and mail_to must be plain addresses like post@example.org");
    struct mailer *m = calloc(1, sizeof *m);
    if (!m)
        return say(err, errlen, MAILER_E_NOMEM, "mailer: out of memory");
    m->q = q;
    m->t = t;
    m->part_bytes = o->part_bytes;
    m->from = strdup(o->from);
    m->to = strdup(o->to);
    m->buf = malloc(o->part_bytes);
    if (!m->from || !m->to || !m->buf) {
        mailer_free(m);
        return say(err, errlen, MAILER_E_NOMEM, "mailer: out of memory");
    }
    *out = m;
    return 0;
}

void mailer_free(struct mailer *m)
{
    if (!m)
        return;
    free(m->from);
    free(m->to);
    free(m->buf);
    free(m);
}

/* Envelope bytes [off, off + n) of a tip into m->buf, however queue_read slices them. */
static int read_part(struct mailer *m, const uint8_t id[16], uint64_t off, size_t n, char *err,
                     size_t errlen)
{
    size_t have = 0;
    while (have < n) {
        size_t got = 0;
        int rc = queue_read(m->q, id, off + have, m->buf + have, n - have, &got, err, errlen);
        if (rc)
            return MAILER_E_QUEUE;
        if (got == 0)
            return say(err, errlen, MAILER_E_QUEUE,
                       "the queue holds fewer bytes of this tip than it says (%llu of %llu)",
                       (unsigned long long)(off + have), (unsigned long long)(off + n));
        have += got;
    }
    return 0;
}

int mailer_send_next(struct mailer *m, int64_t now, struct mailer_report *rep, char *err,
                     size_t errlen)
{
    if (!m)
        return say(err, errlen, MAILER_E_ARG, "mailer: missing argument");
    struct mailer_report r = {0};
    if (rep)
        *rep = r;
    struct queue_tip tip;
    int rc = queue_next_to_send(m->q, &tip);
    if (rc == QUEUE_E_NOTFOUND)
        return say(err, errlen, MAILER_E_NOTHING, "no tip is waiting");
    if (rc)
        return say(err, errlen, MAILER_E_QUEUE, "cannot read the queue (error %d)", rc);
    memcpy(r.id, tip.id, 16);
    r.bytes = tip.bytes;
    uint32_t count = mailer_part_count(tip.bytes, m->part_bytes);
    r.parts = count;
    if (count > MAILER_MAX_PARTS) {
        if (rep)
            *rep = r;
        return say(err, errlen, MAILER_E_QUEUE, "tip of %llu bytes needs too many mails",
                   (unsigned long long)tip.bytes);
    }
    uint32_t first = 0;
    if (m->has_progress && memcmp(m->progress_id, tip.id, 16) == 0)
        first = m->progress_parts;
    for (uint32_t i = first; i < count; i++) {
        uint64_t off = (uint64_t)i * m->part_bytes;
        size_t n = tip.bytes - off < m->part_bytes ? (size_t)(tip.bytes - off) : m->part_bytes;
        if ((rc = read_part(m, tip.id, off, n, err, errlen)))
            goto out;
        char *msg = NULL;
        size_t len = 0;
        if ((rc = mailer_build_part(&(struct mailer_opts){m->from, m->to, m->part_bytes}, tip.id,
                                    m->buf, n, i + 1, count, off, tip.bytes, now, &msg, &len, err,
                                    errlen)))
            goto out;
        char why[512] = "";
        int src = m->t->send(m->t->ctx, m->from, m->to, (const uint8_t *)msg, len, why, sizeof why);
        free(msg);
        if (src) {
            rc = say(err, errlen, MAILER_E_SEND, "part %u/%u was not accepted: %s", i + 1, count,
                     why[0] ? why : "no reason given");
            goto out;
        }
        r.sent++;
        memcpy(m->progress_id, tip.id, 16);
        m->progress_parts = i + 1;
        m->has_progress = 1;
    }
    /* Every part was accepted: only now may the tip leave the queue. */
    char qerr[256] = "";
    if (queue_set_delivered(m->q, tip.id, now, qerr, sizeof qerr)) {
        rc = say(err, errlen, MAILER_E_QUEUE, "all parts sent, but marking it delivered failed: %s",
                 qerr);
        goto out;
    }
    m->has_progress = 0;
    int purged = 0;
    if (queue_purge_delivered(m->q, &purged, qerr, sizeof qerr)) {
        /* Delivered and marked: the bytes go at the next purge. Not a delivery failure. */
        fprintf(stderr, "homthu-mailer: purging delivered tips failed: %s\n", qerr);
    }
    rc = 0;
out:
    sodium_memzero(m->buf, m->part_bytes);
    if (rep)
        *rep = r;
    return rc;
}

/* ---- libcurl SMTP ---- */

struct smtp {
    char *url, *user, *password, *ca_file;
    long connect_seconds, stall_seconds;
};

struct reader {
    const uint8_t *b;
    size_t len, off;
};

static size_t read_cb(char *dst, size_t size, size_t nitems, void *ctx)
{
    struct reader *r = ctx;
    size_t n = size * nitems;
    if (n > r->len - r->off)
        n = r->len - r->off;
    memcpy(dst, r->b + r->off, n);
    r->off += n;
    return n;
}

static int smtp_send(void *ctx, const char *from, const char *to, const uint8_t *msg, size_t len,
                     char *err, size_t errlen)
{
    struct smtp *s = ctx;
    CURL *c = curl_easy_init();
    if (!c)
        return say(err, errlen, MAILER_E_NOMEM, "libcurl failed to start");
    char ebuf[CURL_ERROR_SIZE] = "";
    char from_b[300], to_b[300];
    snprintf(from_b, sizeof from_b, "<%s>", from);
    snprintf(to_b, sizeof to_b, "<%s>", to);
    struct curl_slist *rcpt = curl_slist_append(NULL, to_b);
    struct reader r = {msg, len, 0};
    int rc = 0;
    if (!rcpt) {
        curl_easy_cleanup(c);
        return say(err, errlen, MAILER_E_NOMEM, "out of memory");
    }
    curl_easy_setopt(c, CURLOPT_URL, s->url);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
    /* TLS or nothing: STARTTLS must succeed on smtp://, smtps:// is TLS from the start. */
    curl_easy_setopt(c, CURLOPT_USE_SSL, (long)CURLUSESSL_ALL);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
    if (s->ca_file)
        curl_easy_setopt(c, CURLOPT_CAINFO, s->ca_file);
    if (s->user) {
        curl_easy_setopt(c, CURLOPT_USERNAME, s->user);
        curl_easy_setopt(c, CURLOPT_PASSWORD, s->password ? s->password : "");
    }
    curl_easy_setopt(c, CURLOPT_MAIL_FROM, from_b);
    curl_easy_setopt(c, CURLOPT_MAIL_RCPT, rcpt);
    curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(c, CURLOPT_READFUNCTION, read_cb);
    curl_easy_setopt(c, CURLOPT_READDATA, &r);
    curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE, (curl_off_t)len);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, ebuf);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, s->connect_seconds);
    /* A 2G link moves a few kB/s when it moves at all; give up only when it stalls. */
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, s->stall_seconds);
    CURLcode cc = curl_easy_perform(c);
    if (cc != CURLE_OK) {
        long code = 0;
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
        const char *hint = "";
        if (cc == CURLE_USE_SSL_FAILED)
            hint = " (the server offers no STARTTLS: use its TLS port, smtps://host:465)";
        else if (cc == CURLE_LOGIN_DENIED)
            hint = " (check mail_user and mail_password)";
        else if (cc == CURLE_PEER_FAILED_VERIFICATION || cc == CURLE_SSL_CACERT_BADFILE)
            hint = " (the server's certificate is not trusted: check mail_ca_file)";
        else if (cc == CURLE_COULDNT_CONNECT || cc == CURLE_COULDNT_RESOLVE_HOST ||
                 cc == CURLE_OPERATION_TIMEDOUT)
            hint = " (no link to the mail server: it will be tried again)";
        if (code)
            rc = say(err, errlen, MAILER_E_SEND, "%s, server said %ld%s",
                     ebuf[0] ? ebuf : curl_easy_strerror(cc), code, hint);
        else
            rc = say(err, errlen, MAILER_E_SEND, "%s%s", ebuf[0] ? ebuf : curl_easy_strerror(cc),
                     hint);
    } else if (r.off != len) {
        rc = say(err, errlen, MAILER_E_SEND, "the mail was cut short while sending");
    }
    curl_slist_free_all(rcpt);
    curl_easy_cleanup(c);
    return rc;
}

static char *dup_or_null(const char *s, int *bad)
{
    if (!s || !*s)
        return NULL;
    char *d = strdup(s);
    if (!d)
        *bad = 1;
    return d;
}

int mailer_smtp_new(struct mailer_transport *out, const struct mailer_smtp_opts *o, char *err,
                    size_t errlen)
{
    if (!out || !o || !o->url)
        return say(err, errlen, MAILER_E_ARG, "mailer: missing argument");
    memset(out, 0, sizeof *out);
    if (strncmp(o->url, "smtp://", 7) != 0 && strncmp(o->url, "smtps://", 8) != 0)
        return say(err, errlen, MAILER_E_CONFIG,
                   "mail_smtp_url = %s is not an smtp:// or smtps:// address", o->url);
    struct smtp *s = calloc(1, sizeof *s);
    if (!s)
        return say(err, errlen, MAILER_E_NOMEM, "out of memory");
    int bad = 0;
    s->url = dup_or_null(o->url, &bad);
    s->user = dup_or_null(o->user, &bad);
    s->password = dup_or_null(o->password, &bad);
    s->ca_file = dup_or_null(o->ca_file, &bad);
    s->connect_seconds = o->connect_seconds > 0 ? o->connect_seconds : 30;
    s->stall_seconds = o->stall_seconds > 0 ? o->stall_seconds : 120;
    out->send = smtp_send;
    out->ctx = s;
    if (bad) {
        mailer_smtp_free(out);
        return say(err, errlen, MAILER_E_NOMEM, "out of memory");
    }
    return 0;
}

void mailer_smtp_free(struct mailer_transport *t)
{
    if (!t || !t->ctx)
        return;
    struct smtp *s = t->ctx;
    if (s->password)
        sodium_memzero(s->password, strlen(s->password));
    free(s->url);
    free(s->user);
    free(s->password);
    free(s->ca_file);
    free(s);
    t->ctx = NULL;
    t->send = NULL;
}
