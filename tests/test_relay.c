/*
 * Tests for src/relay: a real relay on a random loopback port, driven with
 * libcurl (and raw sockets where curl is too polite), with real envelopes
 * from real device keys enrolled in a real registry. Time is the test's:
 * the relay's clock is fake_now, moved by hand (expiry, skew, rates).
 * After every refused request the relay must still take a good tip.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <sodium.h>
#include <sqlite3.h>
#ifdef HOMTHU_HAVE_LIBPQ
#include <libpq-fe.h>
#endif

#include "check.h"
#include "core/config.h"
#include "core/envelope.h"
#include "core/heartbeat.h"
#include "core/registry.h"
#include "relay/relay.h"
#include "relay/store.h"

#define T0 1743500000 /* 2025-04-01 09:33:20 UTC, a Tuesday */
#define TOKEN "post-token-0123456789-abcdefghijklmnop"
#define TIP_TEXT "there are strangers at the river crossing every night"

static _Atomic int64_t fake_now = T0;

static int64_t fake_clock(void *ctx)
{
    (void)ctx;
    return atomic_load(&fake_now);
}

struct kiosk {
    uint8_t pk[32], sk[64];
    const char *id;
};

/* The relay's log, kept to check what it says and what it never says. */
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static char logbuf[1 << 18];
static size_t loglen;

static void capture_log(void *ctx, const char *line)
{
    (void)ctx;
    pthread_mutex_lock(&log_lock);
    size_t n = strlen(line);
    if (loglen + n + 2 < sizeof logbuf) {
        memcpy(logbuf + loglen, line, n);
        loglen += n;
        logbuf[loglen++] = '\n';
        logbuf[loglen] = 0;
    }
    pthread_mutex_unlock(&log_lock);
}

struct fx {
    struct relay_config cfg;
    struct relay *relay;
    uint16_t port;
    int https;
    struct registry *reg;
    uint8_t post_pk[32], post_sk[32];
    struct kiosk k[4]; /* 0–2 enrolled, 3 a stranger */
};

static void fx_start(struct fx *f)
{
    char err[512] = "";
    if (relay_open(&f->relay, &f->cfg, err, sizeof err))
        check_fail(__FILE__, __LINE__, "relay_open: %s", err);
    if (relay_start(f->relay, &f->port, err, sizeof err))
        check_fail(__FILE__, __LINE__, "relay_start: %s", err);
    ASSERT(f->port != 0);
}

/*
 * HOMTHU_RELAY_PG=postgresql://…: every relay of these tests keeps its
 * store there instead of a SQLite file (tests/t_relay_pg.sh), emptied
 * before each test, so that both stores answer the same tests.
 */
static const char *pg_store(void)
{
    const char *u = getenv("HOMTHU_RELAY_PG");
    return u && *u ? u : NULL;
}

static void pg_empty(void)
{
#ifdef HOMTHU_HAVE_LIBPQ
    PGconn *c = PQconnectdb(pg_store());
    if (PQstatus(c) != CONNECTION_OK)
        check_fail(__FILE__, __LINE__, "HOMTHU_RELAY_PG: %s", PQerrorMessage(c));
    PGresult *res = PQexec(c, "DROP TABLE IF EXISTS upload, part, heartbeat, homthu_schema, rate, "
                              "mark, kiosk, post");
    if (PQresultStatus(res) != PGRES_COMMAND_OK)
        check_fail(__FILE__, __LINE__, "emptying the test database: %s", PQerrorMessage(c));
    PQclear(res);
    PQfinish(c);
#else
    check_fail(__FILE__, __LINE__, "HOMTHU_RELAY_PG is set, but the tests were built without libpq");
#endif
}

static void fx_init(struct fx *f)
{
    char err[512] = "";
    ASSERT(sodium_init() >= 0);
    memset(f, 0, sizeof *f);
    atomic_store(&fake_now, T0);
    pthread_mutex_lock(&log_lock);
    loglen = 0;
    logbuf[0] = 0;
    pthread_mutex_unlock(&log_lock);
    crypto_box_keypair(f->post_pk, f->post_sk);
    static const char *const ids[] = {"na-co-sa-01", "na-co-sa-02", "na-co-sa-03", "stranger"};
    for (int i = 0; i < 4; i++) {
        crypto_sign_keypair(f->k[i].pk, f->k[i].sk);
        f->k[i].id = ids[i];
    }
    if (registry_open(&f->reg, check_path("registry.db"), 1, err, sizeof err))
        check_fail(__FILE__, __LINE__, "registry_open: %s", err);
    for (int i = 0; i < 3; i++)
        ASSERT_EQ(registry_enrol(f->reg, ids[i], f->k[i].pk, T0 - 86400, err, sizeof err), 0);
    relay_config_defaults(&f->cfg);
    snprintf(f->cfg.listen, sizeof f->cfg.listen, "127.0.0.1:0");
    snprintf(f->cfg.database, sizeof f->cfg.database, "%s", check_path("relay.db"));
    if (pg_store()) {
        /*
         * A relay of many posts: this test's post (its token TOKEN, its key)
         * and its three kiosks are in the database, as `homthu-relay
         * post-add` and the station's enrolments put them.
         */
        pg_empty();
        snprintf(f->cfg.database, sizeof f->cfg.database, "%s", pg_store());
        struct store *st = NULL;
        if (store_open(&st, pg_store(), NULL, NULL, err, sizeof err))
            check_fail(__FILE__, __LINE__, "store_open: %s", err);
        uint8_t h[32], kid[ENVELOPE_KEY_ID_BYTES];
        crypto_generichash(h, sizeof h, (const uint8_t *)TOKEN, strlen(TOKEN), NULL, 0);
        envelope_post_key_id(f->post_pk, kid);
        ASSERT_EQ(st->ops->post_add(st, "test", h, kid, T0 - 86400), 0);
        for (int i = 0; i < 3; i++)
            ASSERT_EQ(st->ops->device_enrol(st, "test", ids[i], f->k[i].pk, T0 - 86400), 0);
        st->ops->close(st);
    }
    snprintf(f->cfg.registry, sizeof f->cfg.registry, "%s", check_path("registry.db"));
    snprintf(f->cfg.post_token, sizeof f->cfg.post_token, "%s", TOKEN);
    f->cfg.threads = 2;
    f->cfg.clock = fake_clock;
    f->cfg.log = capture_log;
}

/*
 * The post's registry, wherever the relay reads it: the registry file (a
 * relay of one post), or the store (HOMTHU_RELAY_PG: post "test").
 */
static struct store *fx_store(void)
{
    struct store *st = NULL;
    char err[256];
    if (store_open(&st, pg_store(), NULL, NULL, err, sizeof err))
        check_fail(__FILE__, __LINE__, "store_open: %s", err);
    return st;
}

static int fx_enrol(struct fx *f, const char *id, const uint8_t pk[32])
{
    char err[256];
    if (!pg_store())
        return registry_enrol(f->reg, id, pk, T0 - 86400, err, sizeof err);
    struct store *st = fx_store();
    int rc = st->ops->device_enrol(st, "test", id, pk, T0 - 86400);
    st->ops->close(st);
    return rc;
}

static int fx_revoke(struct fx *f, const char *id, const char *reason)
{
    char err[256];
    if (!pg_store())
        return registry_revoke(f->reg, id, reason, T0, err, sizeof err);
    struct store *st = fx_store();
    int rc = st->ops->device_revoke(st, "test", id, reason, T0);
    st->ops->close(st);
    return rc;
}

static int fx_kiosk(struct fx *f, const char *id, struct registry_entry *e)
{
    char err[256];
    if (!pg_store())
        return registry_get(f->reg, id, e, err, sizeof err);
    struct store *st = fx_store();
    int rc = st->ops->device_get(st, "test", id, e);
    st->ops->close(st);
    return rc;
}

static void fx_open(struct fx *f)
{
    fx_init(f);
    fx_start(f);
}

static void fx_close(struct fx *f)
{
    relay_close(f->relay);
    f->relay = NULL;
    registry_close(f->reg);
    f->reg = NULL;
}

/* ---- envelopes ---- */

struct bytes {
    uint8_t *p;
    size_t n, cap;
    uint32_t chunks;
};

static void bytes_add(struct bytes *b, const uint8_t *p, size_t n)
{
    if (b->n + n > b->cap) {
        b->cap = (b->n + n) * 2;
        b->p = realloc(b->p, b->cap);
        ASSERT(b->p);
    }
    memcpy(b->p + b->n, p, n);
    b->n += n;
}

static int sink(void *ctx, enum envelope_piece kind, uint32_t index, const uint8_t *p, size_t n)
{
    (void)index;
    struct bytes *b = ctx;
    b->chunks += kind == PIECE_CHUNK;
    bytes_add(b, p, n);
    return 0;
}

/* A real sealed tip from kiosk k: text and `audio` bytes of fake audio. Caller frees .p. */
static struct bytes make_tip(const struct fx *f, const struct kiosk *k, size_t audio,
                             uint8_t tip[16])
{
    struct bytes b = {0};
    struct envelope_writer *w = NULL;
    struct envelope_meta m = {.language = "vi", .category = CATEGORY_BORDER};
    m.codec = audio ? CODEC_OGG_OPUS : CODEC_NONE;
    char err[256];
    ASSERT_EQ(envelope_writer_new(&w, f->post_pk, k->sk, &m, sink, &b, tip, err, sizeof err), 0);
    ASSERT_EQ(envelope_write_text(w, TIP_TEXT, strlen(TIP_TEXT)), 0);
    if (audio) {
        uint8_t *a = malloc(audio);
        ASSERT(a);
        randombytes_buf(a, audio);
        ASSERT_EQ(envelope_write_audio(w, a, audio), 0);
        free(a);
    }
    ASSERT_EQ(envelope_writer_finish(w, err, sizeof err), 0);
    envelope_writer_free(w);
    return b;
}

static const uint8_t *chunk_at(void *ctx, uint32_t i)
{
    return (const uint8_t *)ctx + ENVELOPE_HEADER_BYTES + (size_t)i * ENVELOPE_CHUNK_CIPHER;
}

/* A tip the kiosk sealed after a power loss: 2 chunks and a kind-2 trailer. */
static struct bytes make_cut_short_tip(const struct fx *f, const struct kiosk *k, uint8_t tip[16])
{
    struct bytes b = {0};
    struct envelope_writer *w = NULL;
    struct envelope_meta m = {.language = "hmn", .category = CATEGORY_DRUGS};
    char err[256];
    uint8_t text[9000];
    memset(text, 'a', sizeof text);
    ASSERT_EQ(envelope_writer_new(&w, f->post_pk, k->sk, &m, sink, &b, tip, err, sizeof err), 0);
    ASSERT_EQ(envelope_write_text(w, (const char *)text, sizeof text), 0);
    envelope_writer_free(w); /* the power goes */
    ASSERT_EQ(b.chunks, 2);
    uint8_t t[ENVELOPE_TRAILER_BYTES];
    ASSERT_EQ(envelope_trailer_cut_short(b.p, b.chunks, chunk_at, b.p, k->sk, t), 0);
    bytes_add(&b, t, sizeof t);
    return b;
}

static void hex(const uint8_t tip[16], char out[33])
{
    sodium_bin2hex(out, 33, tip, 16);
}

/* ---- HTTP ---- */

struct http {
    long status;
    long connects; /* new connections this request opened */
    char head[8192];
    size_t hlen;
    uint8_t *body;
    size_t len;
};

static size_t on_head(char *p, size_t sz, size_t n, void *ctx)
{
    struct http *h = ctx;
    size_t len = sz * n;
    if (h->hlen + len < sizeof h->head) {
        memcpy(h->head + h->hlen, p, len);
        h->hlen += len;
        h->head[h->hlen] = 0;
    }
    return len;
}

static size_t on_body(char *p, size_t sz, size_t n, void *ctx)
{
    struct http *h = ctx;
    size_t len = sz * n;
    uint8_t *nb = realloc(h->body, h->len + len + 1);
    if (!nb)
        return 0;
    h->body = nb;
    memcpy(h->body + h->len, p, len);
    h->len += len;
    h->body[h->len] = 0;
    return len;
}

static void http_free(struct http *h)
{
    free(h->body);
    memset(h, 0, sizeof *h);
}

/* A response header's value (last one of that name), or NULL; rotating static buffers. */
static const char *hv(const struct http *h, const char *name)
{
    static char bufs[4][256];
    static int slot;
    char *out = bufs[slot++ % 4];
    const char *found = NULL;
    size_t nl = strlen(name);
    for (const char *line = h->head; line && *line;) {
        if (strncasecmp(line, name, nl) == 0 && line[nl] == ':') {
            const char *v = line + nl + 1;
            while (*v == ' ')
                v++;
            size_t k = strcspn(v, "\r\n");
            if (k >= sizeof bufs[0])
                k = sizeof bufs[0] - 1;
            memcpy(out, v, k);
            out[k] = 0;
            found = out;
        }
        line = strchr(line, '\n');
        if (line)
            line++;
    }
    return found;
}

static const char *body_text(const struct http *h)
{
    return h->body ? (const char *)h->body : "";
}

/* When set, requests go through this handle: one connection, kept alive. */
static CURL *shared;

/* One request. `headers` is a NULL-terminated list of "Name: value". */
static void http_do(const struct fx *f, const char *method, const char *path,
                    const char *const *headers, const void *body, size_t blen, struct http *out)
{
    memset(out, 0, sizeof *out);
    CURL *c = shared ? shared : curl_easy_init();
    ASSERT(c);
    curl_easy_reset(c);
    char url[512];
    snprintf(url, sizeof url, "%s://127.0.0.1:%u%s", f->https ? "https" : "http", (unsigned)f->port,
             path);
    struct curl_slist *hs = NULL;
    hs = curl_slist_append(hs, "Expect:");
    hs = curl_slist_append(hs, "Content-Type:");
    for (size_t i = 0; headers && headers[i]; i++)
        hs = curl_slist_append(hs, headers[i]);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hs);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_head);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, out);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, out);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 20L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    if (f->https)
        curl_easy_setopt(c, CURLOPT_CAINFO, check_path("cert.pem"));
    if (strcmp(method, "HEAD") == 0) {
        curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
    } else if (strcmp(method, "GET") != 0) {
        curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
        if (body || strcmp(method, "POST") == 0 || strcmp(method, "PATCH") == 0) {
            curl_easy_setopt(c, CURLOPT_POSTFIELDS, body ? body : "");
            curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)blen);
        }
    }
    CURLcode rc = curl_easy_perform(c);
    if (rc != CURLE_OK)
        check_fail(__FILE__, __LINE__, "%s %s: %s", method, path, curl_easy_strerror(rc));
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &out->status);
    curl_easy_getinfo(c, CURLINFO_NUM_CONNECTS, &out->connects);
    curl_slist_free_all(hs);
    if (!shared)
        curl_easy_cleanup(c);
}

/* The Authorization header of docs/relay-protocol.md, signed with `signer`'s key. */
static void sign(char out[400], const struct kiosk *k, const uint8_t *signer_sk, const char *method,
                 const char *path, int64_t ts, const char *offset, const char *length)
{
    char text[1024], ts_s[24], key[64], sig64[100];
    uint8_t sig[64];
    snprintf(ts_s, sizeof ts_s, "%lld", (long long)ts);
    size_t n = relay_signed_text(text, sizeof text, method, path, ts_s, offset, length, NULL);
    ASSERT(n > 0);
    crypto_sign_detached(sig, NULL, (const uint8_t *)text, n, signer_sk ? signer_sk : k->sk);
    sodium_bin2base64(key, sizeof key, k->pk, 32, sodium_base64_VARIANT_ORIGINAL);
    sodium_bin2base64(sig64, sizeof sig64, sig, 64, sodium_base64_VARIANT_ORIGINAL);
    snprintf(out, 400, "Authorization: Homthu-Device key=\"%s\", ts=\"%s\", sig=\"%s\"", key, ts_s,
             sig64);
}

/* A fresh ts for every request (identical signed requests would be replays). */
static int64_t next_ts(void)
{
    static int seq;
    return atomic_load(&fake_now) - (seq++ % 500);
}

/*
 * A kiosk's request: Tus-Resumable, the signature, Upload-Offset/Length
 * when given, Content-Type for PATCH, and up to two extra headers.
 */
static void kiosk_req(const struct fx *f, const struct kiosk *k, const char *method,
                      const char *path, const char *offset, const char *length, const char *x1,
                      const char *x2, const void *body, size_t blen, struct http *out)
{
    char auth[400], off[64], len[64];
    sign(auth, k, NULL, method, path, next_ts(), offset, length);
    const char *hs[8];
    size_t n = 0;
    hs[n++] = "Tus-Resumable: 1.0.0";
    hs[n++] = auth;
    if (offset) {
        snprintf(off, sizeof off, "Upload-Offset: %s", offset);
        hs[n++] = off;
    }
    if (length) {
        snprintf(len, sizeof len, "Upload-Length: %s", length);
        hs[n++] = len;
    }
    if (strcmp(method, "PATCH") == 0)
        hs[n++] = "Content-Type: application/offset+octet-stream";
    if (x1)
        hs[n++] = x1;
    if (x2)
        hs[n++] = x2;
    hs[n] = NULL;
    http_do(f, method, path, hs, body, blen, out);
}

static void metadata(char out[80], const uint8_t tip[16])
{
    char b64[40];
    sodium_bin2base64(b64, sizeof b64, tip, 16, sodium_base64_VARIANT_ORIGINAL);
    snprintf(out, 80, "Upload-Metadata: tipid %s", b64);
}

static void tus_create(const struct fx *f, const struct kiosk *k, const uint8_t tip[16],
                       size_t length, struct http *out)
{
    char md[80], len[32];
    metadata(md, tip);
    snprintf(len, sizeof len, "%zu", length);
    kiosk_req(f, k, "POST", "/files/", NULL, len, md, NULL, NULL, 0, out);
}

static void tus_patch(const struct fx *f, const struct kiosk *k, const uint8_t tip[16],
                      uint64_t offset, const uint8_t *bytes, size_t n, struct http *out)
{
    char path[64], h[33], off[32];
    hex(tip, h);
    snprintf(path, sizeof path, "/files/%s", h);
    snprintf(off, sizeof off, "%" PRIu64, offset);
    kiosk_req(f, k, "PATCH", path, off, NULL, NULL, NULL, bytes, n, out);
}

static void tus_head(const struct fx *f, const struct kiosk *k, const uint8_t tip[16],
                     struct http *out)
{
    char path[64], h[33];
    hex(tip, h);
    snprintf(path, sizeof path, "/files/%s", h);
    kiosk_req(f, k, "HEAD", path, NULL, NULL, NULL, NULL, NULL, 0, out);
}

static void post_req(const struct fx *f, const char *method, const char *path, const char *token,
                     struct http *out)
{
    char auth[200];
    snprintf(auth, sizeof auth, "Authorization: Bearer %s", token);
    const char *hs[] = {auth, NULL};
    http_do(f, method, path, token ? hs : NULL, NULL, 0, out);
}

/* Create and send a whole tip; asserts the relay verified it. */
static void upload_whole(const struct fx *f, const struct kiosk *k, const struct bytes *env,
                         const uint8_t tip[16])
{
    struct http h;
    char loc[64], x[33];
    hex(tip, x);
    snprintf(loc, sizeof loc, "/files/%s", x);
    tus_create(f, k, tip, env->n, &h);
    ASSERT_EQ(h.status, 201);
    ASSERT_STR_EQ(hv(&h, "Location"), loc);
    http_free(&h);
    tus_patch(f, k, tip, 0, env->p, env->n, &h);
    ASSERT_EQ(h.status, 204);
    ASSERT_STR_EQ(hv(&h, "Homthu-Verified"), "yes");
    http_free(&h);
}

/*
 * The relay still takes a good tip from kiosk 0, and the post gets it
 * (then marks it fetched, so the quota never fills with these).
 */
static void still_serving(const struct fx *f)
{
    uint8_t tip[16];
    char x[33], path[80];
    struct bytes env = make_tip(f, &f->k[0], 0, tip);
    upload_whole(f, &f->k[0], &env, tip);
    hex(tip, x);
    struct http h;
    snprintf(path, sizeof path, "/post/tips/%s", x);
    post_req(f, "GET", path, TOKEN, &h);
    ASSERT_EQ(h.status, 200);
    ASSERT_EQ(h.len, env.n);
    ASSERT_MEM_EQ(h.body, env.p, env.n);
    http_free(&h);
    snprintf(path, sizeof path, "/post/tips/%s/fetched", x);
    post_req(f, "POST", path, TOKEN, &h);
    ASSERT_EQ(h.status, 204);
    http_free(&h);
    free(env.p);
}

/* ---- raw sockets: what curl will not do ---- */

static int raw_connect(uint16_t port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    ASSERT(fd >= 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_EQ(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
    return fd;
}

static void raw_send(int fd, const void *p, size_t n)
{
    const uint8_t *b = p;
    while (n) {
        ssize_t k = send(fd, b, n, MSG_NOSIGNAL);
        ASSERT(k > 0);
        b += k;
        n -= (size_t)k;
    }
}

/* Read until the end of the response head (or timeout); returns what came. */
static size_t raw_read_head(int fd, char *buf, size_t cap, int timeout_ms)
{
    size_t n = 0;
    buf[0] = 0;
    while (n + 1 < cap && !strstr(buf, "\r\n\r\n")) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, timeout_ms) <= 0)
            break;
        ssize_t k = recv(fd, buf + n, cap - 1 - n, 0);
        if (k <= 0)
            break;
        n += (size_t)k;
        buf[n] = 0;
    }
    return n;
}

/* ================================================================ tests */

TEST(test_relay_offers_tus_1_0_with_its_extensions_and_limit)
{
    struct fx f;
    fx_open(&f);
    struct http h;
    http_do(&f, "OPTIONS", "/files/", NULL, NULL, 0, &h);
    ASSERT_EQ(h.status, 204);
    ASSERT_STR_EQ(hv(&h, "Tus-Version"), "1.0.0");
    ASSERT_STR_EQ(hv(&h, "Tus-Extension"), "creation,termination,expiration");
    ASSERT_STR_EQ(hv(&h, "Tus-Max-Size"), "16777216");
    ASSERT_STR_EQ(hv(&h, "Homthu-Time"), "1743500000");
    http_free(&h);
    fx_close(&f);
}

TEST(test_relay_takes_a_whole_tip_and_hands_it_to_the_post)
{
    struct fx f;
    fx_open(&f);
    uint8_t tip[16];
    char x[33], loc[64], want[400], path[80];
    struct bytes env = make_tip(&f, &f.k[0], 60000, tip);
    hex(tip, x);
    snprintf(loc, sizeof loc, "/files/%s", x);
    struct http h;

    tus_create(&f, &f.k[0], tip, env.n, &h);
    ASSERT_EQ(h.status, 201);
    ASSERT_STR_EQ(hv(&h, "Location"), loc);
    ASSERT_STR_EQ(hv(&h, "Tus-Resumable"), "1.0.0");
    ASSERT_STR_EQ(hv(&h, "Upload-Expires"), "Fri, 04 Apr 2025 09:33:20 GMT");
    http_free(&h);

    tus_head(&f, &f.k[0], tip, &h);
    ASSERT_EQ(h.status, 200);
    ASSERT_STR_EQ(hv(&h, "Upload-Offset"), "0");
    snprintf(want, sizeof want, "%zu", env.n);
    ASSERT_STR_EQ(hv(&h, "Upload-Length"), want);
    ASSERT_STR_EQ(hv(&h, "Cache-Control"), "no-store");
    ASSERT(hv(&h, "Homthu-Verified") == NULL);
    http_free(&h);

    atomic_store(&fake_now, T0 + 42); /* the last byte arrives at T0 + 42 */
    tus_patch(&f, &f.k[0], tip, 0, env.p, env.n, &h);
    ASSERT_EQ(h.status, 204);
    ASSERT_STR_EQ(hv(&h, "Upload-Offset"), want);
    ASSERT_STR_EQ(hv(&h, "Homthu-Verified"), "yes");
    ASSERT(hv(&h, "Upload-Expires") == NULL);
    http_free(&h);

    tus_head(&f, &f.k[0], tip, &h);
    ASSERT_STR_EQ(hv(&h, "Upload-Offset"), want);
    ASSERT_STR_EQ(hv(&h, "Homthu-Verified"), "yes");
    http_free(&h);

    post_req(&f, "GET", "/post/tips?after=0", TOKEN, &h);
    ASSERT_EQ(h.status, 200);
    ASSERT_STR_EQ(hv(&h, "Content-Type"), "application/json");
    snprintf(want, sizeof want,
             "{\"tips\":[{\"id\":\"%s\",\"cursor\":1,\"bytes\":%zu,\"received\":1743500042,"
             "\"kiosk\":\"na-co-sa-01\",\"state\":\"complete\"}],\"next\":1}\n",
             x, env.n);
    ASSERT_STR_EQ(body_text(&h), want);
    http_free(&h);

    snprintf(path, sizeof path, "/post/tips/%s", x);
    post_req(&f, "GET", path, TOKEN, &h);
    ASSERT_EQ(h.status, 200);
    ASSERT_STR_EQ(hv(&h, "Content-Type"), "application/octet-stream");
    ASSERT_EQ(h.len, env.n);
    ASSERT_MEM_EQ(h.body, env.p, env.n);
    http_free(&h);

    snprintf(path, sizeof path, "/post/tips/%s/fetched", x);
    post_req(&f, "POST", path, TOKEN, &h);
    ASSERT_EQ(h.status, 204);
    http_free(&h);
    post_req(&f, "POST", path, TOKEN, &h); /* saying it twice is fine */
    ASSERT_EQ(h.status, 204);
    http_free(&h);

    /* The log names the tip, the kiosk and sizes; never the content or the secrets. */
    ASSERT_CONTAINS(logbuf, "verified: complete");
    ASSERT_CONTAINS(logbuf, x);
    ASSERT_CONTAINS(logbuf, "na-co-sa-01");
    ASSERT(!strstr(logbuf, TIP_TEXT));
    ASSERT(!strstr(logbuf, TOKEN));
    ASSERT(!strstr(logbuf, "sig="));
    ASSERT(!strstr(logbuf, "tipid"));
    free(env.p);
    fx_close(&f);
}

TEST(test_relay_keeps_the_connection_open_from_one_request_to_the_next)
{
    /* On a 2G link a new TLS connection costs seconds: one per tip at most. */
    struct fx f;
    fx_open(&f);
    uint8_t tip[16], other[16];
    struct bytes env = make_tip(&f, &f.k[0], 0, tip);
    struct http h;
    shared = curl_easy_init();
    http_do(&f, "OPTIONS", "/files/", NULL, NULL, 0, &h);
    ASSERT_EQ(h.connects, 1);
    http_free(&h);
    tus_create(&f, &f.k[0], tip, env.n, &h);
    ASSERT_EQ(h.status, 201);
    ASSERT_EQ(h.connects, 0);
    http_free(&h);
    tus_patch(&f, &f.k[0], tip, 0, env.p, 10000, &h);
    ASSERT_EQ(h.status, 204);
    ASSERT_EQ(h.connects, 0);
    http_free(&h);
    tus_head(&f, &f.k[0], tip, &h);
    ASSERT_EQ(h.connects, 0);
    http_free(&h);
    /* A refusal that had no body to skip keeps the connection too. */
    randombytes_buf(other, sizeof other);
    tus_head(&f, &f.k[0], other, &h);
    ASSERT_EQ(h.status, 404);
    ASSERT_EQ(h.connects, 0);
    http_free(&h);
    tus_patch(&f, &f.k[0], tip, 10000, env.p + 10000, env.n - 10000, &h);
    ASSERT_EQ(h.status, 204);
    ASSERT_STR_EQ(hv(&h, "Homthu-Verified"), "yes");
    ASSERT_EQ(h.connects, 0);
    http_free(&h);
    /* One refused before its body is read closes it: the unread body is in the way. */
    tus_patch(&f, &f.k[3], tip, 0, env.p, 5000, &h);
    ASSERT_EQ(h.status, 403);
    http_free(&h);
    tus_head(&f, &f.k[0], tip, &h);
    ASSERT_EQ(h.connects, 1);
    http_free(&h);
    curl_easy_cleanup(shared);
    shared = NULL;
    free(env.p);
    fx_close(&f);
}

TEST(test_relay_takes_a_tip_in_several_patches)
{
    struct fx f;
    fx_open(&f);
    uint8_t tip[16];
    struct bytes env = make_tip(&f, &f.k[1], 100000, tip);
    struct http h;
    tus_create(&f, &f.k[1], tip, env.n, &h);
    ASSERT_EQ(h.status, 201);
    http_free(&h);
    size_t cuts[] = {0, 1, 176, 4113 * 3 + 5, 50000, env.n - 1, env.n};
    for (size_t i = 0; i + 1 < sizeof cuts / sizeof cuts[0]; i++) {
        tus_patch(&f, &f.k[1], tip, cuts[i], env.p + cuts[i], cuts[i + 1] - cuts[i], &h);
        ASSERT_EQ(h.status, 204);
        char want[32];
        snprintf(want, sizeof want, "%zu", cuts[i + 1]);
        ASSERT_STR_EQ(hv(&h, "Upload-Offset"), want);
        ASSERT_EQ(hv(&h, "Homthu-Verified") != NULL, cuts[i + 1] == env.n);
        http_free(&h);
    }
    free(env.p);
    still_serving(&f);
    fx_close(&f);
}

TEST(test_relay_refuses_an_unknown_device_before_reading_the_body)
{
    struct fx f;
    fx_open(&f);
    uint8_t tip[16];
    struct bytes env = make_tip(&f, &f.k[3], 0, tip);
    struct http h;
    tus_create(&f, &f.k[3], tip, env.n, &h);
    ASSERT_EQ(h.status, 403);
    ASSERT_CONTAINS(body_text(&h), "unknown device: kiosk key ");
    ASSERT_CONTAINS(body_text(&h), " is not enrolled at the post");
    http_free(&h);
    still_serving(&f);

    /* A PATCH announcing a megabyte gets its answer with not one byte of it sent. */
    char auth[400], x[33], head[1024], path[64], resp[2048];
    hex(tip, x);
    snprintf(path, sizeof path, "/files/%s", x);
    sign(auth, &f.k[3], NULL, "PATCH", path, next_ts(), "0", NULL);
    snprintf(head, sizeof head,
             "PATCH %s HTTP/1.1\r\nHost: 127.0.0.1\r\nTus-Resumable: 1.0.0\r\n%s\r\n"
             "Upload-Offset: 0\r\nContent-Type: application/offset+octet-stream\r\n"
             "Content-Length: 1000000\r\n\r\n",
             path, auth);
    int fd = raw_connect(f.port);
    raw_send(fd, head, strlen(head));
    raw_read_head(fd, resp, sizeof resp, 5000);
    ASSERT(strncmp(resp, "HTTP/1.1 403", 12) == 0);
    close(fd);
    free(env.p);
    still_serving(&f);
    fx_close(&f);
}

TEST(test_relay_refuses_a_revoked_kiosk_at_once_even_mid_upload)
{
    struct fx f;
    fx_open(&f);
    uint8_t tip[16];
    struct bytes env = make_tip(&f, &f.k[2], 0, tip);
    struct http h;
    tus_create(&f, &f.k[2], tip, env.n, &h);
    ASSERT_EQ(h.status, 201);
    http_free(&h);
    tus_patch(&f, &f.k[2], tip, 0, env.p, 10000, &h);
    ASSERT_EQ(h.status, 204);
    http_free(&h);
    /* The post revokes the stolen kiosk in its registry; the running relay sees it. */
    ASSERT_EQ(fx_revoke(&f, "na-co-sa-03", "stolen from the health station"), 0);
    tus_patch(&f, &f.k[2], tip, 10000, env.p + 10000, env.n - 10000, &h);
    ASSERT_EQ(h.status, 403);
    ASSERT_STR_EQ(body_text(&h), "revoked device: kiosk na-co-sa-03 was revoked by the post\n");
    http_free(&h);
    tus_head(&f, &f.k[2], tip, &h);
    ASSERT_EQ(h.status, 403);
    http_free(&h);
    free(env.p);
    still_serving(&f);
    fx_close(&f);
}

TEST(test_relay_sees_a_registry_replaced_by_a_fresh_copy)
{
    struct fx f;
    fx_open(&f);
    char err[256];
    /* The post exports a new registry (kiosk 1 revoked there) over the old file. */
    struct registry *copy = NULL;
    ASSERT_EQ(registry_open(&copy, check_path("registry-new.db"), 1, err, sizeof err), 0);
    ASSERT_EQ(registry_enrol(copy, "na-co-sa-01", f.k[0].pk, T0, err, sizeof err), 0);
    ASSERT_EQ(registry_enrol(copy, "na-co-sa-02", f.k[1].pk, T0, err, sizeof err), 0);
    ASSERT_EQ(registry_revoke(copy, "na-co-sa-02", "lost in the flood", T0, err, sizeof err), 0);
    registry_close(copy);
    ASSERT_EQ(rename(check_path("registry-new.db"), check_path("registry.db")), 0);
    uint8_t tip[16];
    struct bytes env = make_tip(&f, &f.k[1], 0, tip);
    struct http h;
    tus_create(&f, &f.k[1], tip, env.n, &h);
    ASSERT_EQ(h.status, 403);
    ASSERT_STR_EQ(body_text(&h), "revoked device: kiosk na-co-sa-02 was revoked by the post\n");
    http_free(&h);
    free(env.p);
    still_serving(&f);
    fx_close(&f);
}

TEST(test_relay_refuses_a_forged_signature)
{
    struct fx f;
    fx_open(&f);
    uint8_t tip[16];
    struct bytes env = make_tip(&f, &f.k[0], 0, tip);
    char auth[400], md[80], len[32];
    metadata(md, tip);
    snprintf(len, sizeof len, "Upload-Length: %zu", env.n);
    /* Kiosk 0's key named, kiosk 3's key signing: a thief who knows the public key. */
    sign(auth, &f.k[0], f.k[3].sk, "POST", "/files/", next_ts(), NULL, len + 15);
    const char *hs[] = {"Tus-Resumable: 1.0.0", auth, md, len, NULL};
    struct http h;
    http_do(&f, "POST", "/files/", hs, NULL, 0, &h);
    ASSERT_EQ(h.status, 401);
    ASSERT_STR_EQ(body_text(&h), "bad signature: the request is not signed by the key it names\n");
    ASSERT_STR_EQ(hv(&h, "WWW-Authenticate"), "Homthu-Device");
    http_free(&h);
    still_serving(&f);

    /* A genuine signature over other headers than those sent: Upload-Length changed. */
    sign(auth, &f.k[0], NULL, "POST", "/files/", next_ts(), NULL, "33156");
    const char *hs2[] = {"Tus-Resumable: 1.0.0", auth, md, "Upload-Length: 37269", NULL};
    http_do(&f, "POST", "/files/", hs2, NULL, 0, &h);
    ASSERT_EQ(h.status, 401);
    http_free(&h);
    free(env.p);
    still_serving(&f);
    fx_close(&f);
}

TEST(test_relay_refuses_missing_or_malformed_authorization)
{
    struct fx f;
    fx_open(&f);
    static const struct {
        const char *auth, *says;
    } cases[] = {
        {NULL, "missing Authorization: sign every request with the kiosk's device key "
               "(docs/relay-protocol.md)\n"},
        {"Authorization: Bearer " TOKEN,
         "malformed Authorization: expected Homthu-Device key=\"<base64>\", ts=\"<unix "
         "seconds>\", sig=\"<base64>\"\n"},
        {"Authorization: Homthu-Device key=\"AAAA\", ts=\"1743500000\", sig=\"AAAA\"",
         "malformed Authorization: key is not base64 of a 32-byte Ed25519 public key\n"},
        {"Authorization: Homthu-Device key=\"xaieH8t2e4LNcMuSZSI81720UGTn/YyNO6ygagxKGgI=\", "
         "ts=\"soon\", sig=\"AAAA\"",
         "malformed Authorization: ts is not a time in Unix seconds\n"},
        {"Authorization: Homthu-Device key=\"xaieH8t2e4LNcMuSZSI81720UGTn/YyNO6ygagxKGgI=\", "
         "ts=\"1743500000\"",
         "malformed Authorization: no sig\n"},
        {"Authorization: Homthu-Device ts=\"1\", ts=\"2\"",
         "malformed Authorization: ts is given twice\n"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *hs[] = {"Tus-Resumable: 1.0.0", "Upload-Length: 33156", cases[i].auth, NULL};
        struct http h;
        http_do(&f, "POST", "/files/", hs, NULL, 0, &h);
        ASSERT_EQ(h.status, 400);
        ASSERT_STR_EQ(body_text(&h), cases[i].says);
        http_free(&h);
    }
    still_serving(&f);
    fx_close(&f);
}

TEST(test_relay_refuses_a_kiosk_clock_far_off_and_tells_its_own_time)
{
    struct fx f;
    fx_open(&f);
    uint8_t tip[16];
    randombytes_buf(tip, sizeof tip);
    char auth[400], md[80];
    metadata(md, tip);
    /* A kiosk with no RTC booted thinking it is 1970. */
    sign(auth, &f.k[0], NULL, "POST", "/files/", 0, NULL, "33156");
    const char *hs[] = {"Tus-Resumable: 1.0.0", auth, md, "Upload-Length: 33156", NULL};
    struct http h;
    http_do(&f, "POST", "/files/", hs, NULL, 0, &h);
    ASSERT_EQ(h.status, 401);
    ASSERT_STR_EQ(body_text(&h), "clock skew: the request is dated 1743500000 s behind the relay's "
                                 "clock; take the time from Homthu-Time and sign again\n");
    ASSERT_STR_EQ(hv(&h, "Homthu-Time"), "1743500000");
    http_free(&h);
    /* It adopts the relay's time and the same request, signed again, passes. */
    sign(auth, &f.k[0], NULL, "POST", "/files/", T0, NULL, "33156");
    http_do(&f, "POST", "/files/", hs, NULL, 0, &h);
    ASSERT_EQ(h.status, 201);
    http_free(&h);
    /* Ten minutes is the limit, both ways. */
    sign(auth, &f.k[0], NULL, "POST", "/files/", T0 + 601, NULL, "33156");
    http_do(&f, "POST", "/files/", hs, NULL, 0, &h);
    ASSERT_EQ(h.status, 401);
    ASSERT_CONTAINS(body_text(&h), "dated 601 s ahead of the relay's clock");
    http_free(&h);
    still_serving(&f);
    fx_close(&f);
}

TEST(test_relay_refuses_a_replayed_request)
{
    struct fx f;
    fx_open(&f);
    uint8_t tip[16];
    struct bytes env = make_tip(&f, &f.k[0], 0, tip);
    char auth[400], path[64], x[33], md[80], len[48];
    hex(tip, x);
    snprintf(path, sizeof path, "/files/%s", x);
    metadata(md, tip);
    snprintf(len, sizeof len, "Upload-Length: %zu", env.n);
    sign(auth, &f.k[0], NULL, "POST", "/files/", T0, NULL, len + 15);
    const char *hs[] = {"Tus-Resumable: 1.0.0", auth, md, len, NULL};
    struct http h;
    http_do(&f, "POST", "/files/", hs, NULL, 0, &h);
    ASSERT_EQ(h.status, 201);
    http_free(&h);
    /* Someone on the path sends the captured request again. */
    http_do(&f, "POST", "/files/", hs, NULL, 0, &h);
    ASSERT_EQ(h.status, 401);
    ASSERT_STR_EQ(body_text(&h),
                  "replay: this signed request was used before; sign each request afresh\n");
    ASSERT_STR_EQ(hv(&h, "WWW-Authenticate"), "Homthu-Device");
    http_free(&h);
    /* A captured PATCH head, with the attacker's body: refused too. */
    sign(auth, &f.k[0], NULL, "PATCH", path, T0, "0", NULL);
    const char *hp[] = {"Tus-Resumable: 1.0.0", auth, "Upload-Offset: 0",
                        "Content-Type: application/offset+octet-stream", NULL};
    http_do(&f, "PATCH", path, hp, env.p, 5000, &h);
    ASSERT_EQ(h.status, 204);
    http_free(&h);
    tus_patch(&f, &f.k[0], tip, 5000, NULL, 0, &h); /* the kiosk's upload stands at 5000 */
    http_free(&h);
    atomic_store(&fake_now, T0 + 599); /* still inside the window */
    uint8_t evil[5000];
    memset(evil, 0x41, sizeof evil);
    const char *hp2[] = {"Tus-Resumable: 1.0.0", auth, "Upload-Offset: 0",
                         "Content-Type: application/offset+octet-stream", NULL};
    http_do(&f, "PATCH", path, hp2, evil, sizeof evil, &h);
    ASSERT_EQ(h.status, 401);
    http_free(&h);
    /* The signature covers the method: a HEAD's signature does not make a DELETE. */
    sign(auth, &f.k[0], NULL, "HEAD", path, T0 + 599, NULL, NULL);
    const char *hh[] = {"Tus-Resumable: 1.0.0", auth, NULL};
    http_do(&f, "DELETE", path, hh, NULL, 0, &h);
    ASSERT_EQ(h.status, 401);
    ASSERT_STR_EQ(body_text(&h), "bad signature: the request is not signed by the key it names\n");
    http_free(&h);
    /* A HEAD changes nothing: asking twice in one second is answered twice. */
    for (int i = 0; i < 2; i++) {
        http_do(&f, "HEAD", path, hh, NULL, 0, &h);
        ASSERT_EQ(h.status, 200);
        ASSERT_STR_EQ(hv(&h, "Upload-Offset"), "5000");
        http_free(&h);
    }
    free(env.p);
    still_serving(&f);
    fx_close(&f);
}

TEST(test_relay_refuses_a_patch_at_the_wrong_offset_with_409)
{
    struct fx f;
    fx_open(&f);
    uint8_t tip[16];
    struct bytes env = make_tip(&f, &f.k[0], 0, tip);
    struct http h;
    tus_create(&f, &f.k[0], tip, env.n, &h);
    http_free(&h);
    tus_patch(&f, &f.k[0], tip, 0, env.p, 5000, &h);
    ASSERT_EQ(h.status, 204);
    http_free(&h);
    tus_patch(&f, &f.k[0], tip, 4000, env.p + 4000, 1000, &h);
    ASSERT_EQ(h.status, 409);
    ASSERT_STR_EQ(body_text(&h), "Upload-Offset 4000 is not where this upload stands (5000): ask "
                                 "with HEAD and resume from there\n");
    ASSERT_STR_EQ(hv(&h, "Upload-Offset"), "5000");
    http_free(&h);
    still_serving(&f);
    tus_patch(&f, &f.k[0], tip, 5000, env.p + 5000, env.n - 5000, &h);
    ASSERT_EQ(h.status, 204);
    ASSERT_STR_EQ(hv(&h, "Homthu-Verified"), "yes");
    http_free(&h);
    free(env.p);
    fx_close(&f);
}

TEST(test_relay_refuses_oversize_tips_with_413_before_any_byte)
{
    struct fx f;
    fx_open(&f);
    uint8_t tip[16];
    randombytes_buf(tip, sizeof tip);
    struct http h;
    tus_create(&f, &f.k[0], tip, 16777216 + 1, &h);
    ASSERT_EQ(h.status, 413);
    ASSERT_STR_EQ(body_text(&h),
                  "Upload-Length 16777217 is over this relay's limit of 16777216 bytes\n");
    http_free(&h);
    still_serving(&f);
    /* A PATCH bringing more than the upload's length. */
    struct bytes env = make_tip(&f, &f.k[0], 0, tip);
    tus_create(&f, &f.k[0], tip, env.n, &h);
    http_free(&h);
    uint8_t *more = calloc(1, env.n + 100);
    memcpy(more, env.p, env.n);
    tus_patch(&f, &f.k[0], tip, 0, more, env.n + 100, &h);
    ASSERT_EQ(h.status, 413);
    char want[160];
    snprintf(want, sizeof want,
             "a PATCH of %zu bytes at offset 0 would pass the Upload-Length of %zu\n", env.n + 100,
             env.n);
    ASSERT_STR_EQ(body_text(&h), want);
    http_free(&h);
    tus_head(&f, &f.k[0], tip, &h);
    ASSERT_STR_EQ(hv(&h, "Upload-Offset"), "0");
    http_free(&h);
    free(more);
    free(env.p);
    still_serving(&f);
    fx_close(&f);
}

/* Where the last whole piece of an envelope at or below `pos` ends (docs/relay-protocol.md). */
static uint64_t whole_below(uint64_t pos, uint64_t length)
{
    const uint64_t H = ENVELOPE_HEADER_BYTES, C = ENVELOPE_CHUNK_CIPHER;
    return pos >= length ? length : pos < H ? 0 : H + (pos - H) / C * C;
}

/* upload.got in the relay's store, read from outside the relay; -1 when there is none. */
static int64_t stored_offset(const uint8_t tip[16])
{
#ifdef HOMTHU_HAVE_LIBPQ
    if (pg_store()) {
        PGconn *c = PQconnectdb(pg_store());
        const char *v[] = {(const char *)tip};
        int l[] = {16}, fmt[] = {1};
        PGresult *res = PQexecParams(c, "SELECT got FROM upload WHERE id = $1", 1, NULL, v, l, fmt, 0);
        int64_t got = -1;
        if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1)
            got = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
        PQclear(res);
        PQfinish(c);
        return got;
    }
#endif
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    int64_t got = -1;
    if (sqlite3_open_v2(check_path("relay.db"), &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
        sqlite3_prepare_v2(db, "SELECT got FROM upload WHERE id = ?", -1, &st, NULL) == SQLITE_OK) {
        sqlite3_bind_blob(st, 1, tip, 16, SQLITE_STATIC);
        if (sqlite3_step(st) == SQLITE_ROW)
            got = sqlite3_column_int64(st, 0);
    }
    sqlite3_finalize(st);
    sqlite3_close(db);
    return got;
}

static int log_has(const char *what)
{
    pthread_mutex_lock(&log_lock);
    int yes = strstr(logbuf, what) != NULL;
    pthread_mutex_unlock(&log_lock);
    return yes;
}

/* Open a PATCH of the whole tip at offset 0 on a raw socket and send its first `sent` bytes. */
static int patch_part(const struct fx *f, const struct kiosk *k, const uint8_t tip[16],
                      const struct bytes *env, size_t sent)
{
    char auth[400], x[33], head[1024], path[64];
    hex(tip, x);
    snprintf(path, sizeof path, "/files/%s", x);
    sign(auth, k, NULL, "PATCH", path, next_ts(), "0", NULL);
    snprintf(head, sizeof head,
             "PATCH %s HTTP/1.1\r\nHost: 127.0.0.1\r\nTus-Resumable: 1.0.0\r\n%s\r\n"
             "Upload-Offset: 0\r\nContent-Type: application/offset+octet-stream\r\n"
             "Content-Length: %zu\r\n\r\n",
             path, auth, env->n);
    int fd = raw_connect(f->port);
    raw_send(fd, head, strlen(head));
    raw_send(fd, env->p, sent);
    return fd;
}

/* The kiosk resumes from the relay's offset; the post gets the envelope byte for byte. */
static void resume_and_fetch(const struct fx *f, const uint8_t tip[16], const struct bytes *env,
                             uint64_t from)
{
    struct http h;
    tus_patch(f, &f->k[0], tip, from, env->p + from, env->n - from, &h);
    ASSERT_EQ(h.status, 204);
    ASSERT_STR_EQ(hv(&h, "Homthu-Verified"), "yes");
    http_free(&h);
    char x[33], p2[80];
    hex(tip, x);
    snprintf(p2, sizeof p2, "/post/tips/%s", x);
    post_req(f, "GET", p2, TOKEN, &h);
    ASSERT_EQ(h.status, 200);
    ASSERT_EQ(h.len, env->n);
    ASSERT_MEM_EQ(h.body, env->p, env->n);
    http_free(&h);
}

/* Wait until the relay's store holds `keep` bytes of the upload (a 20 s guard against a hang). */
static void wait_stored(const uint8_t tip[16], uint64_t keep)
{
    for (int i = 0; i < 2000 && stored_offset(tip) != (int64_t)keep; i++)
        usleep(10 * 1000);
    ASSERT_EQ(stored_offset(tip), (int64_t)keep);
}

/*
 * The link drops at a random byte of a PATCH (the socket closes). Every
 * whole chunk that came is on disk as it arrives, the piece of the next
 * one is not kept; the kiosk's HEAD on a new connection says where to
 * resume, whether or not the relay noticed the close (libmicrohttpd often
 * does not when the close comes right behind the data), and the cut
 * PATCH's end is logged.
 */
TEST(test_relay_keeps_every_whole_chunk_of_a_patch_cut_at_a_random_byte)
{
    struct fx f;
    fx_open(&f);
    uint8_t tip[16];
    struct bytes env = make_tip(&f, &f.k[0], 40000, tip);
    struct http h;
    tus_create(&f, &f.k[0], tip, env.n, &h);
    ASSERT_EQ(h.status, 201);
    http_free(&h);
    size_t sent = 1 + randombytes_uniform((uint32_t)env.n - 1);
    uint64_t keep = whole_below(sent, env.n);
    int fd = patch_part(&f, &f.k[0], tip, &env, sent);
    close(fd);
    wait_stored(tip, keep);
    tus_head(&f, &f.k[0], tip, &h);
    ASSERT_EQ(h.status, 200);
    char want[32], line[200];
    snprintf(want, sizeof want, "%" PRIu64, keep);
    ASSERT_STR_EQ(hv(&h, "Upload-Offset"), want);
    http_free(&h);
    /* Ended and logged by the HEAD at the latest ("cut off" or "ended by a newer request"). */
    snprintf(line, sizeof line, "; the upload stands at %" PRIu64 " of %zu", keep, env.n);
    ASSERT(log_has(line));
    char x[33];
    hex(tip, x);
    snprintf(line, sizeof line, "tip %s: PATCH from kiosk na-co-sa-01 ", x);
    ASSERT(log_has(line));
    resume_and_fetch(&f, tip, &env, keep);
    still_serving(&f);
    free(env.p);
    fx_close(&f);
}

/*
 * The link dies without a word (no FIN reaches the relay) at a random byte
 * of a PATCH. Each whole chunk is on disk as soon as it arrives, before any
 * end of the request; the kiosk comes back on a new connection and its HEAD
 * ends the stale PATCH at once (long before connection_timeout_seconds),
 * says where to resume, and the relay closes the dead connection.
 */
TEST(test_relay_ends_a_silent_stale_patch_when_the_kiosk_comes_back)
{
    struct fx f;
    fx_init(&f);
    f.cfg.connection_timeout_seconds = 3600; /* a wait for it would show as a hang */
    fx_start(&f);
    uint8_t tip[16];
    struct bytes env = make_tip(&f, &f.k[0], 60000, tip);
    struct http h;
    tus_create(&f, &f.k[0], tip, env.n, &h);
    ASSERT_EQ(h.status, 201);
    http_free(&h);
    size_t sent = 1 + randombytes_uniform((uint32_t)env.n - 1);
    uint64_t keep = whole_below(sent, env.n);
    int fd = patch_part(&f, &f.k[0], tip, &env, sent);
    /* Durable while the request is still open: wait for the store to show it. */
    wait_stored(tip, keep);
    ASSERT(!log_has("cut off"));
    tus_head(&f, &f.k[0], tip, &h);
    ASSERT_EQ(h.status, 200);
    char want[32], line[200];
    snprintf(want, sizeof want, "%" PRIu64, keep);
    ASSERT_STR_EQ(hv(&h, "Upload-Offset"), want);
    http_free(&h);
    snprintf(line, sizeof line,
             "PATCH from kiosk na-co-sa-01 ended by a newer request for the upload after %zu "
             "bytes; the upload stands at %" PRIu64,
             sent, keep);
    ASSERT(log_has(line));
    /* The relay closed the stale connection: its end of the socket reads EOF. */
    char buf[4096];
    struct pollfd p = {.fd = fd, .events = POLLIN};
    ssize_t k = 1;
    while (k > 0 && poll(&p, 1, 20000) == 1)
        k = recv(fd, buf, sizeof buf, 0);
    ASSERT(k <= 0);
    close(fd);
    resume_and_fetch(&f, tip, &env, keep);
    free(env.p);
    fx_close(&f);
}

/*
 * The kiosk comes back right behind a silent cut, before the relay has
 * read what the dead PATCH had already brought: bytes in the stale
 * connection's socket, or still held by the sender's Nagle until the
 * relay acknowledges the last ones. The newer request takes them first,
 * so its answer already counts every whole chunk that reached the relay.
 * With one worker (the stale connection is served by the very thread that
 * answers the HEAD) and with many.
 */
static void stale_patch_keeps_what_reached_it(int threads)
{
    struct fx f;
    fx_init(&f);
    f.cfg.threads = threads;
    f.cfg.connection_timeout_seconds = 3600; /* a wait for it would show as a hang */
    fx_start(&f);
    uint8_t tip[16];
    struct bytes env = make_tip(&f, &f.k[0], 60000, tip);
    struct http h;
    tus_create(&f, &f.k[0], tip, env.n, &h);
    ASSERT_EQ(h.status, 201);
    http_free(&h);
    /*
     * One connection for all, as the kiosk keeps it: a HEAD answered, then
     * the PATCH (a request answered makes the relay's TCP acknowledge late,
     * as on a kiosk's busy connection, so the sender holds small writes).
     */
    char auth[400], x[33], head[1024], path[64], resp[2048];
    hex(tip, x);
    snprintf(path, sizeof path, "/files/%s", x);
    sign(auth, &f.k[0], NULL, "HEAD", path, next_ts(), NULL, NULL);
    snprintf(head, sizeof head,
             "HEAD %s HTTP/1.1\r\nHost: 127.0.0.1\r\nTus-Resumable: 1.0.0\r\n%s\r\n\r\n", path,
             auth);
    int fd = raw_connect(f.port);
    raw_send(fd, head, strlen(head));
    ASSERT(raw_read_head(fd, resp, sizeof resp, 20000) > 0);
    ASSERT(strstr(resp, " 200 ") != NULL);
    /* A first piece, on disk (so the PATCH is surely open at the relay)... */
    size_t first = ENVELOPE_HEADER_BYTES + 1 + randombytes_uniform(2 * ENVELOPE_CHUNK_CIPHER);
    sign(auth, &f.k[0], NULL, "PATCH", path, next_ts(), "0", NULL);
    snprintf(head, sizeof head,
             "PATCH %s HTTP/1.1\r\nHost: 127.0.0.1\r\nTus-Resumable: 1.0.0\r\n%s\r\n"
             "Upload-Offset: 0\r\nContent-Type: application/offset+octet-stream\r\n"
             "Content-Length: %zu\r\n\r\n",
             path, auth, env.n);
    raw_send(fd, head, strlen(head));
    raw_send(fd, env.p, first);
    wait_stored(tip, whole_below(first, env.n));
    /* ...then more, the link dies, and the kiosk asks at once. */
    /* At least one more whole chunk: dropping what came would show in the answer. */
    size_t sent = (size_t)whole_below(first, env.n) + ENVELOPE_CHUNK_CIPHER + 1 +
                  randombytes_uniform(2 * ENVELOPE_CHUNK_CIPHER),
           more = sent - first;
    int back = raw_connect(f.port); /* the kiosk's new connection, ready before the cut */
    sign(auth, &f.k[0], NULL, "HEAD", path, next_ts(), NULL, NULL);
    snprintf(head, sizeof head,
             "HEAD %s HTTP/1.1\r\nHost: 127.0.0.1\r\nTus-Resumable: 1.0.0\r\n%s\r\n\r\n", path,
             auth);
    raw_send(fd, env.p + first, 1);
    raw_send(fd, env.p + first + 1, more - 1);
    raw_send(back, head, strlen(head));
    uint64_t keep = whole_below(sent, env.n);
    char want[64], line[200];
    ASSERT(raw_read_head(back, resp, sizeof resp, 20000) > 0);
    ASSERT(strstr(resp, " 200 ") != NULL);
    snprintf(want, sizeof want, "\r\nUpload-Offset: %" PRIu64 "\r\n", keep);
    if (!strstr(resp, want))
        printf("    %zu bytes sent, %" PRIu64 " whole; the relay answered:\n%s", sent, keep, resp);
    ASSERT(strstr(resp, want) != NULL);
    close(back);
    snprintf(line, sizeof line,
             "PATCH from kiosk na-co-sa-01 ended by a newer request for the upload after %zu "
             "bytes; the upload stands at %" PRIu64,
             sent, keep);
    ASSERT(log_has(line));
    close(fd);
    resume_and_fetch(&f, tip, &env, keep);
    free(env.p);
    fx_close(&f);
    ASSERT_EQ(check_sh("rm -rf '%s'/*", check_dir()), 0); /* a fresh registry and store next */
}

TEST(test_relay_a_newer_request_keeps_what_had_reached_the_stale_patch)
{
    stale_patch_keeps_what_reached_it(1);
    stale_patch_keeps_what_reached_it(8);
}

/*
 * A generic tus client may PATCH pieces that end anywhere: a PATCH that
 * ends normally keeps every byte, aligned or not; one cut off later keeps
 * whole chunks from there.
 */
TEST(test_relay_takes_patches_that_end_off_the_chunk_boundaries)
{
    struct fx f;
    fx_open(&f);
    uint8_t tip[16];
    struct bytes env = make_tip(&f, &f.k[0], 30000, tip);
    struct http h;
    tus_create(&f, &f.k[0], tip, env.n, &h);
    http_free(&h);
    tus_patch(&f, &f.k[0], tip, 0, env.p, 1000, &h);
    ASSERT_EQ(h.status, 204);
    ASSERT_STR_EQ(hv(&h, "Upload-Offset"), "1000");
    http_free(&h);
    tus_patch(&f, &f.k[0], tip, 1000, env.p + 1000, 9000, &h);
    ASSERT_EQ(h.status, 204);
    ASSERT_STR_EQ(hv(&h, "Upload-Offset"), "10000");
    http_free(&h);
    resume_and_fetch(&f, tip, &env, 10000);
    free(env.p);
    fx_close(&f);
}

/* ---- many kiosks at once, and a relay killed -9 ---- */

#define CONC_KIOSKS 8
#define CONC_TIPS 3

struct conc {
    uint16_t port;
    struct kiosk k;
    struct bytes env[CONC_TIPS];
    uint8_t tip[CONC_TIPS][16];
    int64_t ts;
    int verified;
    char why[200]; /* the first thing that went wrong; threads never ASSERT */
};

static size_t conc_head(char *p, size_t sz, size_t n, void *ctx)
{
    if (n * sz > 16 && strncasecmp(p, "Homthu-Verified: yes", 20) == 0)
        *(int *)ctx = 1;
    return sz * n;
}

static size_t discard_body(char *p, size_t sz, size_t n, void *ctx)
{
    (void)p;
    (void)ctx;
    return sz * n;
}

/* One signed tus request from a thread; the status, or -1. */
static long conc_req(struct conc *c, const char *method, const char *path, const char *offset,
                     const char *length, const char *md, const uint8_t *body, size_t n,
                     int *verified)
{
    char auth[400], url[128], ho[64], hl[64];
    sign(auth, &c->k, NULL, method, path, c->ts++, offset, length);
    struct curl_slist *hs = curl_slist_append(NULL, "Expect:");
    hs = curl_slist_append(hs, "Tus-Resumable: 1.0.0");
    hs = curl_slist_append(hs, auth);
    hs = curl_slist_append(hs, strcmp(method, "PATCH") == 0
                                   ? "Content-Type: application/offset+octet-stream"
                                   : "Content-Type:");
    if (offset) {
        snprintf(ho, sizeof ho, "Upload-Offset: %s", offset);
        hs = curl_slist_append(hs, ho);
    }
    if (length) {
        snprintf(hl, sizeof hl, "Upload-Length: %s", length);
        hs = curl_slist_append(hs, hl);
    }
    if (md)
        hs = curl_slist_append(hs, md);
    CURL *h = curl_easy_init();
    snprintf(url, sizeof url, "http://127.0.0.1:%u%s", (unsigned)c->port, path);
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hs);
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, body ? (const char *)body : "");
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)n);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, conc_head);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, verified);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, discard_body);
    curl_easy_setopt(h, CURLOPT_TIMEOUT, 60L);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    long status = -1;
    if (curl_easy_perform(h) == CURLE_OK)
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_cleanup(h);
    curl_slist_free_all(hs);
    return status;
}

/* A kiosk's tips, each as POST and two PATCHes split at a random byte. */
static void *conc_kiosk(void *arg)
{
    struct conc *c = arg;
    for (int i = 0; i < CONC_TIPS; i++) {
        const struct bytes *e = &c->env[i];
        char len[32], md[80], path[64], x[33], off[32];
        int v = 0;
        snprintf(len, sizeof len, "%zu", e->n);
        metadata(md, c->tip[i]);
        hex(c->tip[i], x);
        snprintf(path, sizeof path, "/files/%s", x);
        long s = conc_req(c, "POST", "/files/", NULL, len, md, NULL, 0, &v);
        size_t cut = 1 + randombytes_uniform((uint32_t)e->n - 1);
        long s1 = s == 201 ? conc_req(c, "PATCH", path, "0", NULL, NULL, e->p, cut, &v) : -2;
        snprintf(off, sizeof off, "%zu", cut);
        v = 0;
        long s2 = s1 == 204
                      ? conc_req(c, "PATCH", path, off, NULL, NULL, e->p + cut, e->n - cut, &v)
                      : -2;
        if (s2 == 204 && v)
            c->verified++;
        else if (!c->why[0])
            snprintf(c->why, sizeof c->why, "tip %d: POST %ld, PATCH %ld, PATCH %ld, verified %d",
                     i, s, s1, s2, v);
    }
    return NULL;
}

/* Uploads from many kiosks at once share the relay's commits; each arrives whole. */
TEST(test_relay_takes_concurrent_uploads_each_byte_for_byte)
{
    struct fx f;
    fx_open(&f);
    static struct conc cs[CONC_KIOSKS];
    for (int i = 0; i < CONC_KIOSKS; i++) {
        struct conc *c = &cs[i];
        memset(c, 0, sizeof *c);
        c->port = f.port;
        crypto_sign_keypair(c->k.pk, c->k.sk);
        static char ids[CONC_KIOSKS][16];
        snprintf(ids[i], sizeof ids[i], "kiosk-%02d", i);
        c->k.id = ids[i];
        ASSERT_EQ(fx_enrol(&f, ids[i], c->k.pk), 0);
        c->ts = T0 - 300;
        for (int j = 0; j < CONC_TIPS; j++)
            c->env[j] = make_tip(&f, &c->k, 20000 + randombytes_uniform(60000), c->tip[j]);
    }
    pthread_t th[CONC_KIOSKS];
    for (int i = 0; i < CONC_KIOSKS; i++)
        ASSERT_EQ(pthread_create(&th[i], NULL, conc_kiosk, &cs[i]), 0);
    for (int i = 0; i < CONC_KIOSKS; i++)
        pthread_join(th[i], NULL);
    for (int i = 0; i < CONC_KIOSKS; i++) {
        if (cs[i].why[0])
            check_fail(__FILE__, __LINE__, "kiosk %d: %s", i, cs[i].why);
        ASSERT_EQ(cs[i].verified, CONC_TIPS);
        for (int j = 0; j < CONC_TIPS; j++) {
            char x[33], path[80];
            struct http h;
            hex(cs[i].tip[j], x);
            snprintf(path, sizeof path, "/post/tips/%s", x);
            post_req(&f, "GET", path, TOKEN, &h);
            ASSERT_EQ(h.status, 200);
            ASSERT_EQ(h.len, cs[i].env[j].n);
            ASSERT_MEM_EQ(h.body, cs[i].env[j].p, cs[i].env[j].n);
            http_free(&h);
            free(cs[i].env[j].p);
        }
    }
    fx_close(&f);
}

/*
 * What the relay answered is on its disk: a relay killed with SIGKILL
 * (power cut, OOM killer) mid-traffic still has every offset it answered
 * and every tip it called verified, and the kiosk resumes from there.
 */
TEST(test_relay_keeps_what_it_answered_through_a_kill_9)
{
    struct fx f;
    fx_init(&f);
    int pfd[2];
    ASSERT_EQ(pipe(pfd), 0);
    pid_t pid = fork();
    ASSERT(pid >= 0);
    if (pid == 0) {
        /* The relay, alone in a process that dies by SIGKILL. */
        char err[512];
        uint16_t port = 0;
        close(pfd[0]);
        f.cfg.log = NULL;
        if (relay_open(&f.relay, &f.cfg, err, sizeof err) ||
            relay_start(f.relay, &port, err, sizeof err))
            _exit(1);
        if (write(pfd[1], &port, sizeof port) != (ssize_t)sizeof port)
            _exit(1);
        for (;;)
            pause();
    }
    close(pfd[1]);
    ASSERT_EQ(read(pfd[0], &f.port, sizeof f.port), (ssize_t)sizeof f.port);
    close(pfd[0]);
    uint8_t a[16], b[16], c[16];
    struct bytes ea = make_tip(&f, &f.k[0], 50000, a);
    struct bytes eb = make_tip(&f, &f.k[1], 50000, b);
    struct bytes ec = make_tip(&f, &f.k[2], 50000, c);
    struct http h;
    /* a: part of it, answered with its offset. */
    size_t part = 1 + randombytes_uniform((uint32_t)ea.n - 1);
    char want[32];
    snprintf(want, sizeof want, "%zu", part);
    tus_create(&f, &f.k[0], a, ea.n, &h);
    ASSERT_EQ(h.status, 201);
    http_free(&h);
    tus_patch(&f, &f.k[0], a, 0, ea.p, part, &h);
    ASSERT_EQ(h.status, 204);
    ASSERT_STR_EQ(hv(&h, "Upload-Offset"), want);
    http_free(&h);
    /* b: whole, called verified (the kiosk deletes its copy now). */
    upload_whole(&f, &f.k[1], &eb, b);
    /* c: a PATCH in flight when the relay dies, its whole chunks on disk. */
    tus_create(&f, &f.k[2], c, ec.n, &h);
    http_free(&h);
    size_t sent = ec.n - 1000;
    int fd = patch_part(&f, &f.k[2], c, &ec, sent);
    wait_stored(c, whole_below(sent, ec.n));
    kill(pid, SIGKILL);
    int st;
    ASSERT_EQ(waitpid(pid, &st, 0), pid);
    ASSERT(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
    close(fd);
    /* The relay comes back on the same store. */
    fx_start(&f);
    tus_head(&f, &f.k[0], a, &h);
    ASSERT_EQ(h.status, 200);
    ASSERT_STR_EQ(hv(&h, "Upload-Offset"), want);
    http_free(&h);
    tus_head(&f, &f.k[1], b, &h);
    ASSERT_STR_EQ(hv(&h, "Homthu-Verified"), "yes");
    http_free(&h);
    char x[33], path[80];
    hex(b, x);
    snprintf(path, sizeof path, "/post/tips/%s", x);
    post_req(&f, "GET", path, TOKEN, &h);
    ASSERT_EQ(h.len, eb.n);
    ASSERT_MEM_EQ(h.body, eb.p, eb.n);
    http_free(&h);
    tus_head(&f, &f.k[2], c, &h);
    snprintf(want, sizeof want, "%" PRIu64, whole_below(sent, ec.n));
    ASSERT_STR_EQ(hv(&h, "Upload-Offset"), want);
    http_free(&h);
    resume_and_fetch(&f, a, &ea, part);
    /* resume_and_fetch sends as kiosk 0: c belongs to kiosk 2. */
    tus_patch(&f, &f.k[2], c, whole_below(sent, ec.n), ec.p + whole_below(sent, ec.n),
              ec.n - whole_below(sent, ec.n), &h);
    ASSERT_EQ(h.status, 204);
    ASSERT_STR_EQ(hv(&h, "Homthu-Verified"), "yes");
    http_free(&h);
    hex(c, x);
    snprintf(path, sizeof path, "/post/tips/%s", x);
    post_req(&f, "GET", path, TOKEN, &h);
    ASSERT_EQ(h.len, ec.n);
    ASSERT_MEM_EQ(h.body, ec.p, ec.n);
    http_free(&h);
    free(ea.p);
    free(eb.p);
    free(ec.p);
    fx_close(&f);
}

TEST(test_relay_refuses_garbage_headers_each_with_a_clear_status)
{
    struct fx f;
    fx_open(&f);
    uint8_t tip[16];
    struct bytes env = make_tip(&f, &f.k[0], 0, tip);
    char md[80], x[33], path[64], lenv[32];
    metadata(md, tip);
    hex(tip, x);
    snprintf(path, sizeof path, "/files/%s", x);
    snprintf(lenv, sizeof lenv, "%zu", env.n);
    struct http h;
    static const struct {
        const char *length, *metadata;
        int status;
        const char *says;
    } creates[] = {
        {"12abc", "", 400, "Upload-Length is not a whole number of bytes\n"},
        {"-5", "", 400, "Upload-Length is not a whole number of bytes\n"},
        {"033156", "", 400, "Upload-Length is not a whole number of bytes\n"},
        {"99999999999999999999", "", 400, "Upload-Length is not a whole number of bytes\n"},
        {"1000", "", 400, "Upload-Length 1000 cannot be an envelope (176 + N x 4113 + 76 bytes)\n"},
        {"33156", "Upload-Metadata: tipid !!!!", 400,
         "Upload-Metadata: tipid is not base64 of the tip id's 32 hex digits (nor of its 16 "
         "bytes)\n"},
        {"33156", "Upload-Metadata: filename aGVsbG8=", 400,
         "Upload-Metadata: no tipid (send tipid <base64 of the tip id's 32 hex digits>)\n"},
        {"33156", "Upload-Metadata: tipid AAAAAAAAAAAAAAAAAAAAAA==,tipid AAAAAAAAAAAAAAAAAAAAAA==",
         400, "Upload-Metadata: key tipid is given twice\n"},
        {NULL, "", 400, "Upload-Length is required (Upload-Defer-Length is not offered)\n"},
    };
    for (size_t i = 0; i < sizeof creates / sizeof creates[0]; i++) {
        kiosk_req(&f, &f.k[0], "POST", "/files/", NULL, creates[i].length,
                  creates[i].metadata[0] ? creates[i].metadata : md, NULL, NULL, 0, &h);
        ASSERT_EQ(h.status, creates[i].status);
        ASSERT_STR_EQ(body_text(&h), creates[i].says);
        http_free(&h);
    }
    still_serving(&f);

    tus_create(&f, &f.k[0], tip, env.n, &h);
    ASSERT_EQ(h.status, 201);
    http_free(&h);
    /* PATCH: wrong type, no offset, an offset twice. */
    char auth[400];
    sign(auth, &f.k[0], NULL, "PATCH", path, next_ts(), "0", NULL);
    const char *wrong_type[] = {"Tus-Resumable: 1.0.0", auth, "Upload-Offset: 0",
                                "Content-Type: application/octet-stream", NULL};
    http_do(&f, "PATCH", path, wrong_type, env.p, 100, &h);
    ASSERT_EQ(h.status, 415);
    ASSERT_STR_EQ(body_text(&h), "PATCH needs Content-Type: application/offset+octet-stream\n");
    http_free(&h);
    kiosk_req(&f, &f.k[0], "PATCH", path, "zero", NULL, NULL, NULL, env.p, 100, &h);
    ASSERT_EQ(h.status, 400);
    ASSERT_STR_EQ(body_text(&h), "Upload-Offset is missing or not a whole number of bytes\n");
    http_free(&h);
    kiosk_req(&f, &f.k[0], "PATCH", path, "0", NULL, "Upload-Offset: 0", NULL, env.p, 100, &h);
    ASSERT_EQ(h.status, 400);
    ASSERT_STR_EQ(body_text(&h), "Upload-Offset is given more than once\n");
    http_free(&h);
    /* tus version, method, path. */
    const char *no_tus[] = {auth, NULL};
    http_do(&f, "HEAD", path, no_tus, NULL, 0, &h);
    ASSERT_EQ(h.status, 412);
    ASSERT_STR_EQ(hv(&h, "Tus-Version"), "1.0.0");
    http_free(&h);
    const char *old_tus[] = {"Tus-Resumable: 0.2.2", auth, md, NULL};
    http_do(&f, "POST", "/files/", old_tus, NULL, 0, &h);
    ASSERT_EQ(h.status, 412);
    ASSERT_STR_EQ(body_text(&h),
                  "Tus-Resumable: 1.0.0 is required (this relay speaks tus 1.0.0)\n");
    http_free(&h);
    http_do(&f, "GET", "/files/", NULL, NULL, 0, &h);
    ASSERT_EQ(h.status, 405);
    ASSERT_STR_EQ(hv(&h, "Allow"), "OPTIONS, POST");
    http_free(&h);
    http_do(&f, "GET", "/files/NOT-A-TIP-ID", NULL, NULL, 0, &h);
    ASSERT_EQ(h.status, 404);
    http_free(&h);
    http_do(&f, "GET", "/etc/passwd", NULL, NULL, 0, &h);
    ASSERT_EQ(h.status, 404);
    ASSERT_STR_EQ(body_text(&h), "not found\n");
    http_free(&h);
    /* A POST body where creation takes none. */
    kiosk_req(&f, &f.k[0], "POST", "/files/", NULL, lenv, md, NULL, env.p, 100, &h);
    ASSERT_EQ(h.status, 400);
    ASSERT_STR_EQ(body_text(&h), "POST /files/ takes no body (creation-with-upload is not "
                                 "offered): create, then PATCH\n");
    http_free(&h);
    /* Not HTTP at all (a TLS hello to the plain port): the connection is closed. */
    char resp[2048];
    int fd = raw_connect(f.port);
    raw_send(fd, "\x16\x03\x01garbage\r\n\r\n", 14);
    ASSERT_EQ(raw_read_head(fd, resp, sizeof resp, 5000), 0);
    close(fd);
    fd = raw_connect(f.port);
    raw_send(fd, "PATCH /files/ HTTP/7.0\r\nHost: x\r\n\r\n", 35);
    raw_read_head(fd, resp, sizeof resp, 5000);
    ASSERT(strncmp(resp, "HTTP/1.1 505", 12) == 0);
    close(fd);
    fd = raw_connect(f.port);
    raw_send(fd, "PATCH /files/ HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n", 47);
    raw_read_head(fd, resp, sizeof resp, 5000);
    ASSERT(strncmp(resp, "HTTP/1.1 400", 12) == 0);
    close(fd);
    /* The upload was not touched by any of it, and still completes. */
    tus_patch(&f, &f.k[0], tip, 0, env.p, env.n, &h);
    ASSERT_EQ(h.status, 204);
    ASSERT_STR_EQ(hv(&h, "Homthu-Verified"), "yes");
    http_free(&h);
    free(env.p);
    still_serving(&f);
    fx_close(&f);
}

TEST(test_relay_never_makes_a_second_tip_from_a_resent_upload)
{
    struct fx f;
    fx_open(&f);
    uint8_t tip[16];
    char x[33], loc[64];
    struct bytes env = make_tip(&f, &f.k[0], 0, tip);
    hex(tip, x);
    snprintf(loc, sizeof loc, "/files/%s", x);
    upload_whole(&f, &f.k[0], &env, tip);
    struct http h;
    /* The kiosk lost the answer and sends the POST again. */
    tus_create(&f, &f.k[0], tip, env.n, &h);
    ASSERT_EQ(h.status, 201);
    ASSERT_STR_EQ(hv(&h, "Location"), loc);
    ASSERT_STR_EQ(hv(&h, "Homthu-Verified"), "yes");
    http_free(&h);
    /* And the PATCH: the bytes are all there, it is refused. */
    tus_patch(&f, &f.k[0], tip, 0, env.p, env.n, &h);
    ASSERT_EQ(h.status, 409);
    http_free(&h);
    tus_patch(&f, &f.k[0], tip, env.n, env.p, 1, &h);
    ASSERT_EQ(h.status, 413);
    http_free(&h);
    /* An empty PATCH at the end just says where it stands. */
    tus_patch(&f, &f.k[0], tip, env.n, NULL, 0, &h);
    ASSERT_EQ(h.status, 204);
    ASSERT_STR_EQ(hv(&h, "Homthu-Verified"), "yes");
    http_free(&h);
    /* Another kiosk cannot take the tip id over (nor learn it exists: 404, as HEAD says). */
    tus_create(&f, &f.k[1], tip, env.n, &h);
    ASSERT_EQ(h.status, 404);
    http_free(&h);
    post_req(&f, "GET", "/post/tips", TOKEN, &h);
    char *first = strstr((char *)h.body, x);
    ASSERT(first && !strstr(first + 1, x));
    ASSERT_CONTAINS(body_text(&h), "\"next\":1}");
    http_free(&h);
    /* Also after the post fetched it and the relay deleted the bytes. */
    char path[80];
    snprintf(path, sizeof path, "/post/tips/%s/fetched", x);
    post_req(&f, "POST", path, TOKEN, &h);
    http_free(&h);
    atomic_store(&fake_now, T0 + 7 * 86400 + 1);
    ASSERT_EQ(relay_sweep(f.relay), 1);
    snprintf(path, sizeof path, "/post/tips/%s", x);
    post_req(&f, "GET", path, TOKEN, &h);
    ASSERT_EQ(h.status, 410);
    http_free(&h);
    tus_create(&f, &f.k[0], tip, env.n, &h);
    ASSERT_EQ(h.status, 201);
    ASSERT_STR_EQ(hv(&h, "Homthu-Verified"), "yes");
    http_free(&h);
    post_req(&f, "GET", "/post/tips", TOKEN, &h);
    ASSERT_STR_EQ(body_text(&h), "{\"tips\":[],\"next\":0}\n");
    http_free(&h);
    free(env.p);
    still_serving(&f);
    fx_close(&f);
}

TEST(test_relay_refuses_a_tampered_envelope_with_422_and_keeps_it_from_the_post)
{
    struct fx f;
    fx_open(&f);
    uint8_t tip[16];
    char x[33], path[80];
    struct bytes env = make_tip(&f, &f.k[0], 20000, tip);
    hex(tip, x);
    env.p[ENVELOPE_HEADER_BYTES + 3 * ENVELOPE_CHUNK_CIPHER + 99] ^= 0x20;
    struct http h;
    tus_create(&f, &f.k[0], tip, env.n, &h);
    http_free(&h);
    tus_patch(&f, &f.k[0], tip, 0, env.p, env.n, &h);
    ASSERT_EQ(h.status, 422);
    ASSERT_CONTAINS(body_text(&h), "envelope refused: bad signature");
    ASSERT(hv(&h, "Homthu-Verified") == NULL);
    http_free(&h);
    tus_head(&f, &f.k[0], tip, &h);
    ASSERT(hv(&h, "Homthu-Verified") == NULL);
    ASSERT_CONTAINS(hv(&h, "Homthu-Rejected"), "bad signature");
    http_free(&h);
    post_req(&f, "GET", "/post/tips", TOKEN, &h);
    ASSERT_STR_EQ(body_text(&h), "{\"tips\":[],\"next\":0}\n");
    http_free(&h);
    snprintf(path, sizeof path, "/post/tips/%s", x);
    post_req(&f, "GET", path, TOKEN, &h);
    ASSERT_EQ(h.status, 404);
    http_free(&h);
    ASSERT_CONTAINS(logbuf, "refused (422,");
    free(env.p);
    still_serving(&f);
    fx_close(&f);
}

/*
 * Issue 12, finding 3: a byte changed in transit (the request signature
 * covers no body) must not lose the tip. Its kiosk creating it again
 * discards the refused upload and starts afresh at offset 0, and the good
 * copy is taken; another kiosk still learns nothing, and a verified tip is
 * never replaced.
 */
TEST(test_relay_lets_its_kiosk_replace_a_refused_upload_with_a_good_copy)
{
    struct fx f;
    fx_open(&f);
    uint8_t tip[16];
    char x[33], path[80], loc[64];
    struct bytes env = make_tip(&f, &f.k[0], 20000, tip);
    hex(tip, x);
    snprintf(loc, sizeof loc, "/files/%s", x);
    uint8_t *bad = malloc(env.n);
    ASSERT(bad);
    memcpy(bad, env.p, env.n);
    bad[ENVELOPE_HEADER_BYTES + 2 * ENVELOPE_CHUNK_CIPHER + 500] ^= 0x01;
    struct http h;
    tus_create(&f, &f.k[0], tip, env.n, &h);
    ASSERT_EQ(h.status, 201);
    http_free(&h);
    tus_patch(&f, &f.k[0], tip, 0, bad, env.n, &h);
    ASSERT_EQ(h.status, 422);
    http_free(&h);
    /* Another kiosk: the same 404 as before, and the refused upload stays. */
    tus_create(&f, &f.k[1], tip, env.n, &h);
    ASSERT_EQ(h.status, 404);
    ASSERT(hv(&h, "Location") == NULL);
    http_free(&h);
    tus_head(&f, &f.k[0], tip, &h);
    ASSERT_CONTAINS(hv(&h, "Homthu-Rejected"), "bad signature");
    http_free(&h);
    /* Its own kiosk: a fresh upload at offset 0, nothing refused about it. */
    tus_create(&f, &f.k[0], tip, env.n, &h);
    ASSERT_EQ(h.status, 201);
    ASSERT_STR_EQ(hv(&h, "Location"), loc);
    ASSERT_STR_EQ(hv(&h, "Upload-Offset"), "0");
    ASSERT(hv(&h, "Homthu-Rejected") == NULL);
    ASSERT(hv(&h, "Upload-Expires") != NULL);
    http_free(&h);
    ASSERT_CONTAINS(logbuf, "creates it again after a refusal");
    /* The good copy is taken whole, verified and served, byte for byte. */
    tus_patch(&f, &f.k[0], tip, 0, env.p, env.n, &h);
    ASSERT_EQ(h.status, 204);
    ASSERT_STR_EQ(hv(&h, "Homthu-Verified"), "yes");
    http_free(&h);
    snprintf(path, sizeof path, "/post/tips/%s", x);
    post_req(&f, "GET", path, TOKEN, &h);
    ASSERT_EQ(h.status, 200);
    ASSERT_EQ(h.len, env.n);
    ASSERT(memcmp(h.body, env.p, env.n) == 0);
    http_free(&h);
    /* Verified now: a new POST keeps it as it is (never replaced). */
    tus_create(&f, &f.k[0], tip, env.n, &h);
    ASSERT_EQ(h.status, 201);
    ASSERT_STR_EQ(hv(&h, "Homthu-Verified"), "yes");
    char whole[32];
    snprintf(whole, sizeof whole, "%zu", env.n);
    ASSERT_STR_EQ(hv(&h, "Upload-Offset"), whole);
    http_free(&h);
    post_req(&f, "GET", "/post/tips", TOKEN, &h);
    char *first = strstr((char *)h.body, x);
    ASSERT(first && !strstr(first + 1, x));
    http_free(&h);
    free(bad);
    free(env.p);
    still_serving(&f);
    fx_close(&f);
}

TEST(test_relay_refuses_an_envelope_that_is_not_the_uploaders_tip)
{
    struct fx f;
    fx_open(&f);
    uint8_t tip[16], other[16];
    char x[33], o[33], want[200];
    /* Kiosk 1 relays kiosk 0's genuine tip as its own. */
    struct bytes env = make_tip(&f, &f.k[0], 0, tip);
    struct http h;
    tus_create(&f, &f.k[1], tip, env.n, &h);
    http_free(&h);
    tus_patch(&f, &f.k[1], tip, 0, env.p, env.n, &h);
    ASSERT_EQ(h.status, 422);
    ASSERT_STR_EQ(body_text(&h),
                  "envelope refused: the envelope was signed by another kiosk's key\n");
    http_free(&h);
    free(env.p);
    /* Kiosk 0 uploads one tip under another tip's id. */
    env = make_tip(&f, &f.k[0], 0, tip);
    randombytes_buf(other, sizeof other);
    hex(tip, x);
    hex(other, o);
    tus_create(&f, &f.k[0], other, env.n, &h);
    http_free(&h);
    tus_patch(&f, &f.k[0], other, 0, env.p, env.n, &h);
    ASSERT_EQ(h.status, 422);
    snprintf(want, sizeof want,
             "envelope refused: the envelope is tip %s, but was uploaded as tip %s\n", x, o);
    ASSERT_STR_EQ(body_text(&h), want);
    http_free(&h);
    free(env.p);
    still_serving(&f);
    fx_close(&f);
}

TEST(test_relay_accepts_a_tip_cut_short_by_a_power_loss)
{
    struct fx f;
    fx_open(&f);
    uint8_t tip[16];
    struct bytes env = make_cut_short_tip(&f, &f.k[1], tip);
    upload_whole(&f, &f.k[1], &env, tip);
    struct http h;
    post_req(&f, "GET", "/post/tips", TOKEN, &h);
    ASSERT_CONTAINS(body_text(&h), "\"kiosk\":\"na-co-sa-02\",\"state\":\"cut_short\"");
    http_free(&h);
    free(env.p);
    fx_close(&f);
}

TEST(test_relay_resumes_an_upload_after_a_restart)
{
    struct fx f;
    fx_open(&f);
    uint8_t tip[16];
    struct bytes env = make_tip(&f, &f.k[0], 80000, tip);
    struct http h;
    tus_create(&f, &f.k[0], tip, env.n, &h);
    http_free(&h);
    tus_patch(&f, &f.k[0], tip, 0, env.p, 41130, &h);
    ASSERT_EQ(h.status, 204);
    http_free(&h);
    /* The relay goes down (update, reboot) and comes back on the same store. */
    relay_close(f.relay);
    f.relay = NULL;
    fx_start(&f);
    tus_head(&f, &f.k[0], tip, &h);
    ASSERT_EQ(h.status, 200);
    ASSERT_STR_EQ(hv(&h, "Upload-Offset"), "41130");
    http_free(&h);
    tus_patch(&f, &f.k[0], tip, 41130, env.p + 41130, env.n - 41130, &h);
    ASSERT_EQ(h.status, 204);
    ASSERT_STR_EQ(hv(&h, "Homthu-Verified"), "yes");
    http_free(&h);
    free(env.p);
    still_serving(&f);
    fx_close(&f);
}

static void short_ttl(struct relay_config *c)
{
    c->partial_ttl_seconds = 30;
}

TEST(test_relay_expires_abandoned_partial_uploads)
{
    struct fx f;
    fx_init(&f);
    short_ttl(&f.cfg);
    fx_start(&f);
    uint8_t a[16], b[16];
    struct bytes ea = make_tip(&f, &f.k[0], 0, a), eb = make_tip(&f, &f.k[1], 0, b);
    struct http h;
    tus_create(&f, &f.k[0], a, ea.n, &h);
    ASSERT_STR_EQ(hv(&h, "Upload-Expires"), "Tue, 01 Apr 2025 09:33:50 GMT");
    http_free(&h);
    tus_patch(&f, &f.k[0], a, 0, ea.p, 8000, &h);
    http_free(&h);
    tus_create(&f, &f.k[1], b, eb.n, &h);
    http_free(&h);
    /* Bytes arriving keep an upload alive: b is touched at T0 + 20. */
    atomic_store(&fake_now, T0 + 20);
    tus_patch(&f, &f.k[1], b, 0, eb.p, 8000, &h);
    ASSERT_STR_EQ(hv(&h, "Upload-Expires"), "Tue, 01 Apr 2025 09:34:10 GMT");
    http_free(&h);
    atomic_store(&fake_now, T0 + 30);
    tus_head(&f, &f.k[0], a, &h);
    ASSERT_EQ(h.status, 404);
    http_free(&h);
    tus_head(&f, &f.k[1], b, &h);
    ASSERT_EQ(h.status, 200);
    http_free(&h);
    /* The housekeeping takes the rest without anybody asking. */
    atomic_store(&fake_now, T0 + 50);
    ASSERT_EQ(relay_sweep(f.relay), 1);
    ASSERT_CONTAINS(logbuf, "expired: partial upload untouched for 30 s (8000 of");
    /* A kiosk back after the TTL starts afresh under the same tip id. */
    tus_create(&f, &f.k[1], b, eb.n, &h);
    ASSERT_EQ(h.status, 201);
    ASSERT_STR_EQ(hv(&h, "Upload-Offset"), "0");
    http_free(&h);
    tus_patch(&f, &f.k[1], b, 0, eb.p, eb.n, &h);
    ASSERT_STR_EQ(hv(&h, "Homthu-Verified"), "yes");
    http_free(&h);
    free(ea.p);
    free(eb.p);
    still_serving(&f);
    fx_close(&f);
}

TEST(test_relay_terminates_partial_uploads_but_never_a_delivered_tip)
{
    struct fx f;
    fx_open(&f);
    uint8_t a[16], b[16];
    char path[64], x[33];
    struct bytes ea = make_tip(&f, &f.k[0], 0, a), eb = make_tip(&f, &f.k[0], 0, b);
    struct http h;
    tus_create(&f, &f.k[0], a, ea.n, &h);
    http_free(&h);
    tus_patch(&f, &f.k[0], a, 0, ea.p, 9000, &h);
    http_free(&h);
    hex(a, x);
    snprintf(path, sizeof path, "/files/%s", x);
    kiosk_req(&f, &f.k[0], "DELETE", path, NULL, NULL, NULL, NULL, NULL, 0, &h);
    ASSERT_EQ(h.status, 204);
    http_free(&h);
    tus_head(&f, &f.k[0], a, &h);
    ASSERT_EQ(h.status, 404);
    http_free(&h);
    upload_whole(&f, &f.k[0], &eb, b);
    hex(b, x);
    snprintf(path, sizeof path, "/files/%s", x);
    kiosk_req(&f, &f.k[0], "DELETE", path, NULL, NULL, NULL, NULL, NULL, 0, &h);
    ASSERT_EQ(h.status, 403);
    char want[120];
    snprintf(want, sizeof want, "tip %s is complete: only the post removes it\n", x);
    ASSERT_STR_EQ(body_text(&h), want);
    http_free(&h);
    /* X-HTTP-Method-Override (tus) is honoured, and signed as the method it names. */
    tus_create(&f, &f.k[0], a, ea.n, &h);
    ASSERT_EQ(h.status, 201);
    http_free(&h);
    hex(a, x);
    snprintf(path, sizeof path, "/files/%s", x);
    char auth[400];
    sign(auth, &f.k[0], NULL, "DELETE", path, next_ts(), NULL, NULL);
    const char *hs[] = {"Tus-Resumable: 1.0.0", auth, "X-HTTP-Method-Override: DELETE", NULL};
    http_do(&f, "POST", path, hs, NULL, 0, &h);
    ASSERT_EQ(h.status, 204);
    http_free(&h);
    tus_head(&f, &f.k[0], a, &h);
    ASSERT_EQ(h.status, 404);
    http_free(&h);
    free(ea.p);
    free(eb.p);
    still_serving(&f);
    fx_close(&f);
}

TEST(test_relay_keeps_each_kiosks_uploads_to_itself)
{
    struct fx f;
    fx_open(&f);
    uint8_t tip[16];
    char path[64], x[33];
    struct bytes env = make_tip(&f, &f.k[0], 0, tip);
    struct http h;
    tus_create(&f, &f.k[0], tip, env.n, &h);
    http_free(&h);
    tus_head(&f, &f.k[1], tip, &h);
    ASSERT_EQ(h.status, 404);
    http_free(&h);
    tus_patch(&f, &f.k[1], tip, 0, env.p, env.n, &h);
    ASSERT_EQ(h.status, 404);
    ASSERT_STR_EQ(body_text(&h), "no such upload (it never existed, expired or was terminated)\n");
    http_free(&h);
    hex(tip, x);
    snprintf(path, sizeof path, "/files/%s", x);
    kiosk_req(&f, &f.k[1], "DELETE", path, NULL, NULL, NULL, NULL, NULL, 0, &h);
    ASSERT_EQ(h.status, 404);
    http_free(&h);
    /* Creating it again says the same as HEAD: nothing of another kiosk's upload. */
    tus_create(&f, &f.k[1], tip, env.n, &h);
    ASSERT_EQ(h.status, 404);
    ASSERT_STR_EQ(body_text(&h), "no such upload (it never existed, expired or was terminated)\n");
    ASSERT(hv(&h, "Location") == NULL);
    http_free(&h);
    tus_patch(&f, &f.k[0], tip, 0, env.p, env.n, &h);
    ASSERT_STR_EQ(hv(&h, "Homthu-Verified"), "yes");
    http_free(&h);
    free(env.p);
    fx_close(&f);
}

TEST(test_relay_holds_each_kiosk_to_its_quota_with_507)
{
    struct fx f;
    fx_init(&f);
    f.cfg.device_quota_bytes = 2 * 33156 + 100;
    fx_start(&f);
    uint8_t t1[16], t2[16], t3[16];
    char path[80], x[33];
    struct bytes e1 = make_tip(&f, &f.k[1], 0, t1), e2 = make_tip(&f, &f.k[1], 0, t2),
                 e3 = make_tip(&f, &f.k[1], 0, t3);
    ASSERT_EQ(e1.n, 33156);
    upload_whole(&f, &f.k[1], &e1, t1);
    upload_whole(&f, &f.k[1], &e2, t2);
    struct http h;
    tus_create(&f, &f.k[1], t3, e3.n, &h);
    ASSERT_EQ(h.status, 507);
    ASSERT_STR_EQ(body_text(&h), "over quota: kiosk na-co-sa-02 has 66312 bytes waiting for the "
                                 "post, the limit is 66412; retry once the post has fetched its "
                                 "tips\n");
    http_free(&h);
    still_serving(&f); /* other kiosks are not held back */
    hex(t1, x);
    snprintf(path, sizeof path, "/post/tips/%s/fetched", x);
    post_req(&f, "POST", path, TOKEN, &h);
    http_free(&h);
    upload_whole(&f, &f.k[1], &e3, t3);
    free(e1.p);
    free(e2.p);
    free(e3.p);
    fx_close(&f);
}

TEST(test_relay_slows_down_a_chatty_kiosk_with_429)
{
    struct fx f;
    fx_init(&f);
    f.cfg.device_requests_per_minute = 5;
    fx_start(&f);
    uint8_t tip[16];
    struct bytes env = make_tip(&f, &f.k[1], 0, tip);
    struct http h;
    tus_create(&f, &f.k[1], tip, env.n, &h);
    ASSERT_EQ(h.status, 201);
    http_free(&h);
    for (int i = 0; i < 4; i++) {
        tus_head(&f, &f.k[1], tip, &h);
        ASSERT_EQ(h.status, 200);
        http_free(&h);
    }
    tus_head(&f, &f.k[1], tip, &h);
    ASSERT_EQ(h.status, 429);
    ASSERT_STR_EQ(hv(&h, "Retry-After"), "40"); /* T0 is 20 s into its minute */
    http_free(&h);
    tus_patch(&f, &f.k[1], tip, 0, env.p, env.n, &h);
    ASSERT_EQ(h.status, 429);
    ASSERT_STR_EQ(body_text(&h), "too many requests: at most 5 a minute from one kiosk; retry in "
                                 "40 s\n");
    http_free(&h);
    still_serving(&f); /* another kiosk is not slowed */
    atomic_store(&fake_now, T0 + 40);
    tus_patch(&f, &f.k[1], tip, 0, env.p, env.n, &h);
    ASSERT_EQ(h.status, 204);
    http_free(&h);
    free(env.p);
    fx_close(&f);
}

TEST(test_post_api_wants_the_post_token)
{
    struct fx f;
    fx_open(&f);
    struct http h;
    post_req(&f, "GET", "/post/tips", NULL, &h);
    ASSERT_EQ(h.status, 401);
    ASSERT_STR_EQ(body_text(&h),
                  "missing post token: send Authorization: Bearer <post_token of relay.conf>\n");
    ASSERT_STR_EQ(hv(&h, "WWW-Authenticate"), "Bearer realm=\"homthu-relay\"");
    http_free(&h);
    post_req(&f, "GET", "/post/tips", TOKEN "x", &h);
    ASSERT_EQ(h.status, 401);
    ASSERT_STR_EQ(body_text(&h), "wrong post token\n");
    http_free(&h);
    post_req(&f, "GET", "/post/tips", "short", &h);
    ASSERT_EQ(h.status, 401);
    http_free(&h);
    post_req(&f, "POST", "/post/tips/00000000000000000000000000000000/fetched", "nope", &h);
    ASSERT_EQ(h.status, 401);
    http_free(&h);
    /* A kiosk's signature is no post token either. */
    char auth[400];
    sign(auth, &f.k[0], NULL, "GET", "/post/tips", T0, NULL, NULL);
    const char *hs[] = {auth, NULL};
    http_do(&f, "GET", "/post/tips", hs, NULL, 0, &h);
    ASSERT_EQ(h.status, 401);
    http_free(&h);
    still_serving(&f);
    fx_close(&f);
}

TEST(test_post_api_lists_tips_after_a_cursor_oldest_first)
{
    struct fx f;
    fx_open(&f);
    uint8_t t[3][16];
    char x[3][33], want[600];
    for (int i = 0; i < 3; i++) {
        atomic_store(&fake_now, T0 + 100 * i);
        struct bytes e = make_tip(&f, &f.k[i], 0, t[i]);
        upload_whole(&f, &f.k[i], &e, t[i]);
        hex(t[i], x[i]);
        free(e.p);
    }
    struct http h;
    post_req(&f, "GET", "/post/tips?after=1&limit=1", TOKEN, &h);
    snprintf(want, sizeof want,
             "{\"tips\":[{\"id\":\"%s\",\"cursor\":2,\"bytes\":33156,\"received\":1743500100,"
             "\"kiosk\":\"na-co-sa-02\",\"state\":\"complete\"}],\"next\":2}\n",
             x[1]);
    ASSERT_STR_EQ(body_text(&h), want);
    http_free(&h);
    post_req(&f, "GET", "/post/tips?after=2", TOKEN, &h);
    ASSERT_CONTAINS(body_text(&h), x[2]);
    ASSERT_CONTAINS(body_text(&h), "\"next\":3}");
    http_free(&h);
    post_req(&f, "GET", "/post/tips?after=3", TOKEN, &h);
    ASSERT_STR_EQ(body_text(&h), "{\"tips\":[],\"next\":3}\n");
    http_free(&h);
    post_req(&f, "GET", "/post/tips?limit=0", TOKEN, &h);
    ASSERT_EQ(h.status, 400);
    ASSERT_STR_EQ(body_text(&h), "limit must be a whole number from 1 to 1000\n");
    http_free(&h);
    post_req(&f, "GET", "/post/tips?after=-1", TOKEN, &h);
    ASSERT_EQ(h.status, 400);
    http_free(&h);
    post_req(&f, "GET", "/post/tips/0123456789abcdef0123456789abcdef", TOKEN, &h);
    ASSERT_EQ(h.status, 404);
    ASSERT_STR_EQ(body_text(&h), "no such tip\n");
    http_free(&h);
    post_req(&f, "POST", "/post/tips/0123456789abcdef0123456789abcdef/fetched", TOKEN, &h);
    ASSERT_EQ(h.status, 404);
    http_free(&h);
    post_req(&f, "DELETE", "/post/tips", TOKEN, &h);
    ASSERT_EQ(h.status, 405);
    http_free(&h);
    fx_close(&f);
}

TEST(test_relay_stamps_its_own_receive_time)
{
    struct fx f;
    fx_open(&f);
    uint8_t tip[16];
    struct bytes env = make_tip(&f, &f.k[0], 0, tip);
    char auth[400], md[80], len[32], path[64], x[33];
    struct http h;
    /* The kiosk's clock is five minutes slow: allowed, but not believed. */
    atomic_store(&fake_now, T0 + 3000);
    metadata(md, tip);
    snprintf(len, sizeof len, "%zu", env.n);
    sign(auth, &f.k[0], NULL, "POST", "/files/", T0 + 3000 - 300, NULL, len);
    char lenh[48];
    snprintf(lenh, sizeof lenh, "Upload-Length: %s", len);
    const char *hs[] = {"Tus-Resumable: 1.0.0", auth, md, lenh, NULL};
    http_do(&f, "POST", "/files/", hs, NULL, 0, &h);
    ASSERT_EQ(h.status, 201);
    http_free(&h);
    hex(tip, x);
    snprintf(path, sizeof path, "/files/%s", x);
    sign(auth, &f.k[0], NULL, "PATCH", path, T0 + 3000 - 299, "0", NULL);
    const char *hp[] = {"Tus-Resumable: 1.0.0", auth, "Upload-Offset: 0",
                        "Content-Type: application/offset+octet-stream", NULL};
    http_do(&f, "PATCH", path, hp, env.p, env.n, &h);
    ASSERT_EQ(h.status, 204);
    http_free(&h);
    post_req(&f, "GET", "/post/tips", TOKEN, &h);
    ASSERT_CONTAINS(body_text(&h), "\"received\":1743503000,");
    http_free(&h);
    free(env.p);
    fx_close(&f);
}

/* POST /files/ for `tip` of `n` bytes from kiosk 0 at `ts`, without a socket: 201. */
static void inproc_create(struct fx *f, const uint8_t tip[16], size_t n, int64_t ts)
{
    char auth[400], md[80], len[32];
    metadata(md, tip);
    snprintf(len, sizeof len, "%zu", n);
    sign(auth, &f->k[0], NULL, "POST", "/files/", ts, NULL, len);
    struct relay_header hs[] = {
        {"tus-resumable", "1.0.0"},
        {"authorization", auth + strlen("Authorization: ")},
        {"upload-metadata", md + strlen("Upload-Metadata: ")},
        {"upload-length", len},
    };
    struct relay_request q = {"POST", "/files/", hs, 4, NULL, 0};
    struct relay_response resp;
    relay_handle(f->relay, &q, NULL, 0, &resp);
    ASSERT_EQ(resp.status, 201);
    relay_response_clear(&resp);
}

TEST(test_relay_handles_requests_without_any_socket)
{
    struct fx f;
    fx_init(&f); /* opened, never started */
    char err[256];
    ASSERT_EQ(relay_open(&f.relay, &f.cfg, err, sizeof err), 0);
    uint8_t tip[16];
    struct bytes env = make_tip(&f, &f.k[0], 0, tip);
    inproc_create(&f, tip, env.n, T0);
    char auth[400];
    struct relay_response resp;
    char path[64], x[33];
    hex(tip, x);
    snprintf(path, sizeof path, "/files/%s", x);
    sign(auth, &f.k[0], NULL, "PATCH", path, T0, "0", NULL);
    char clen[32];
    snprintf(clen, sizeof clen, "%zu", env.n);
    struct relay_header hp[] = {
        {"Tus-Resumable", "1.0.0"}, {"Authorization", auth + strlen("Authorization: ")},
        {"Upload-Offset", "0"},     {"Content-Type", "application/offset+octet-stream"},
        {"Content-Length", clen},
    };
    struct relay_request p = {"PATCH", path, hp, 5, NULL, 0};
    /* The body in odd slices, as a socket would give it. */
    struct relay_call *c = NULL;
    ASSERT_EQ(relay_call_begin(f.relay, &p, &c, &resp), 0);
    ASSERT(c);
    for (size_t at = 0; at < env.n; at += 777)
        relay_call_body(c, env.p + at, env.n - at < 777 ? env.n - at : 777);
    relay_call_end(c, &resp);
    ASSERT_EQ(resp.status, 204);
    ASSERT_STR_EQ(relay_response_header(&resp, "Homthu-Verified"), "yes");
    relay_response_clear(&resp);
    free(env.p);
    fx_close(&f);
}

/* Homthu-Pieces for env[off, off+n): one 16-byte BLAKE2b digest per piece, base64. */
static void pieces_b64(const struct bytes *env, uint64_t off, uint64_t n, char *out, size_t cap)
{
    uint8_t d[66][16];
    unsigned k = 0;
    for (uint64_t pos = off; pos < off + n; k++) {
        uint64_t end = envelope_piece_end(pos, env->n);
        ASSERT(k < 66);
        crypto_generichash(d[k], 16, env->p + pos, (size_t)(end - pos), NULL, 0);
        pos = end;
    }
    sodium_bin2base64(out, cap, (const uint8_t *)d, (size_t)k * 16, sodium_base64_VARIANT_ORIGINAL);
}

/*
 * One PATCH of env[off, off+n) (with byte `spoil` changed when < n),
 * signed in version 2 over `signed_pieces` and carrying `sent_pieces`
 * (NULL: no such header). Returns the status; *offset gets Upload-Offset.
 */
static int pieces_patch(struct fx *f, const uint8_t tip[16], const struct bytes *env, uint64_t off,
                        uint64_t n, size_t spoil, const char *signed_pieces,
                        const char *sent_pieces, uint64_t *offset)
{
    char path[64], x[33], ts[24], offs[24], clen[24], text[4096], key[64], sig64[100], auth[400];
    hex(tip, x);
    snprintf(path, sizeof path, "/files/%s", x);
    snprintf(ts, sizeof ts, "%lld", (long long)next_ts());
    snprintf(offs, sizeof offs, "%" PRIu64, off);
    snprintf(clen, sizeof clen, "%" PRIu64, n);
    size_t tl = relay_signed_text(text, sizeof text, "PATCH", path, ts, offs, NULL, signed_pieces);
    ASSERT(tl > 0);
    uint8_t sig[64];
    crypto_sign_detached(sig, NULL, (const uint8_t *)text, tl, f->k[0].sk);
    sodium_bin2base64(key, sizeof key, f->k[0].pk, 32, sodium_base64_VARIANT_ORIGINAL);
    sodium_bin2base64(sig64, sizeof sig64, sig, 64, sodium_base64_VARIANT_ORIGINAL);
    snprintf(auth, sizeof auth, "Homthu-Device key=\"%s\", ts=\"%s\", sig=\"%s\"", key, ts, sig64);
    struct relay_header hp[] = {
        {"Tus-Resumable", "1.0.0"},
        {"Authorization", auth},
        {"Upload-Offset", offs},
        {"Content-Type", "application/offset+octet-stream"},
        {"Content-Length", clen},
        {"Homthu-Pieces", sent_pieces},
    };
    struct relay_request q = {"PATCH", path, hp, sent_pieces ? 6 : 5, NULL, 0};
    uint8_t *body = malloc(n);
    ASSERT(body);
    memcpy(body, env->p + off, n);
    if (spoil < n)
        body[spoil] ^= 0x01;
    struct relay_response resp;
    struct relay_call *c = NULL;
    int status;
    if (relay_call_begin(f->relay, &q, &c, &resp) == 0) {
        for (size_t at = 0; at < n; at += 1000)
            relay_call_body(c, body + at, n - at < 1000 ? n - at : 1000);
        relay_call_end(c, &resp);
    }
    status = resp.status;
    const char *o = relay_response_header(&resp, "Upload-Offset");
    *offset = o ? strtoull(o, NULL, 10) : UINT64_MAX;
    relay_response_clear(&resp);
    free(body);
    return status;
}

TEST(test_relay_keeps_the_pieces_that_match_the_kiosks_signed_digests_and_drops_the_rest)
{
    struct fx f;
    fx_init(&f);
    char err[256];
    ASSERT_EQ(relay_open(&f.relay, &f.cfg, err, sizeof err), 0);
    uint8_t tip[16];
    struct bytes env = make_tip(&f, &f.k[0], 0, tip);
    const uint64_t H = ENVELOPE_HEADER_BYTES, C = ENVELOPE_CHUNK_CIPHER;
    ASSERT(env.n > H + 4 * C);
    inproc_create(&f, tip, env.n, next_ts());

    /* The header and 4 chunks, a byte changed inside the third chunk. */
    uint64_t n = H + 4 * C, at = 0;
    char pv[2048];
    pieces_b64(&env, 0, n, pv, sizeof pv);
    ASSERT_EQ(pieces_patch(&f, tip, &env, 0, n, (size_t)(H + 2 * C + 100), pv, pv, &at), 460);
    ASSERT_EQ(at, H + 2 * C); /* the header and the two chunks before it stay */

    /* Whoever strips the digests breaks the signature; wrong ones are refused before any byte. */
    uint64_t rest = env.n - at;
    pieces_b64(&env, at, rest, pv, sizeof pv);
    ASSERT_EQ(pieces_patch(&f, tip, &env, at, rest, SIZE_MAX, pv, NULL, &at), 401);
    char one[64];
    pieces_b64(&env, H + 2 * C, C, one, sizeof one); /* one digest for many pieces */
    ASSERT_EQ(pieces_patch(&f, tip, &env, H + 2 * C, rest, SIZE_MAX, one, one, &at), 400);
    /* Not on a piece's edge. */
    ASSERT_EQ(pieces_patch(&f, tip, &env, H + 2 * C, C - 1, SIZE_MAX, one, one, &at), 400);

    /* The rest, as the kiosk read it: whole and verified. */
    at = H + 2 * C;
    ASSERT_EQ(pieces_patch(&f, tip, &env, at, env.n - at, SIZE_MAX, pv, pv, &at), 204);
    ASSERT_EQ(at, env.n);
    ASSERT_CONTAINS(logbuf, "verified: complete");
    free(env.p);
    fx_close(&f);
}

TEST(test_relay_parses_authorization_strictly)
{
    struct relay_auth a;
    char err[200];
    uint8_t pk[32], sig[64];
    char k64[64], s64[100], v[400];
    memset(pk, 7, sizeof pk);
    memset(sig, 9, sizeof sig);
    sodium_bin2base64(k64, sizeof k64, pk, 32, sodium_base64_VARIANT_ORIGINAL);
    sodium_bin2base64(s64, sizeof s64, sig, 64, sodium_base64_VARIANT_ORIGINAL);
    snprintf(v, sizeof v, "homthu-device sig=\"%s\",ts=\"17\" , key=\"%s\"", s64, k64);
    ASSERT_EQ(relay_parse_auth(v, &a, err, sizeof err), 0); /* any order, any case of scheme */
    ASSERT_EQ(a.ts, 17);
    ASSERT_MEM_EQ(a.key, pk, 32);
    ASSERT_MEM_EQ(a.sig, sig, 64);
    snprintf(v, sizeof v, "Homthu-Device key=\"%s\", ts=\"017\", sig=\"%s\"", k64, s64);
    ASSERT_EQ(relay_parse_auth(v, &a, err, sizeof err), -1);
    ASSERT_STR_EQ(err, "ts is not a time in Unix seconds");
    snprintf(v, sizeof v, "Homthu-Device key=\"%s\", ts=\"1\", sig=\"%s\", nonce=\"1\"", k64, s64);
    ASSERT_EQ(relay_parse_auth(v, &a, err, sizeof err), -1);
    ASSERT_STR_EQ(err, "unknown parameter nonce");
    snprintf(v, sizeof v, "Homthu-Device key=\"%s\", ts=\"1\", sig=\"%s\" trailing", k64, s64);
    ASSERT_EQ(relay_parse_auth(v, &a, err, sizeof err), -1);
    uint8_t tip[16];
    ASSERT_EQ(relay_parse_metadata("filename aGk=, tipid AAECAwQFBgcICQoLDA0ODw==,empty", tip, err,
                                   sizeof err),
              0);
    ASSERT_EQ(tip[15], 15);
    ASSERT_EQ(relay_parse_metadata("tipid AAECAwQFBgcICQoLDA0ODw", tip, err, sizeof err), -1);
    /* base64("000102030405060708090a0b0c0d0e0f"): a tus client's text metadata. */
    memset(tip, 0, sizeof tip);
    ASSERT_EQ(relay_parse_metadata("tipid MDAwMTAyMDMwNDA1MDYwNzA4MDkwYTBiMGMwZDBlMGY=", tip, err,
                                   sizeof err),
              0);
    ASSERT_EQ(tip[15], 15);
    ASSERT_EQ(relay_parse_metadata("tipid MDAwMTAyMDMwNDA1MDYwNzA4MDkwQTBCMEMwRDBFMEY=", tip, err,
                                   sizeof err),
              -1); /* upper case hex is not how a tip id is written */
    ASSERT_EQ(relay_parse_metadata("", tip, err, sizeof err), -1);
    uint64_t n;
    ASSERT_EQ(relay_parse_u64("0", &n), 0);
    ASSERT_EQ(relay_parse_u64("18446744073709551615", &n), -1); /* 20 digits */
    ASSERT_EQ(relay_parse_u64("9999999999999999999", &n), 0);
    ASSERT_EQ(relay_parse_u64(" 1", &n), -1);
}

static const char CERT[] = "-----BEGIN CERTIFICATE-----\n"
                           "MIIBmzCCAUGgAwIBAgIUYPhM4Pczwz2JM0Ay6vBiP6JVWJ4wCgYIKoZIzj0EAwIw\n"
                           "FDESMBAGA1UEAwwJbG9jYWxob3N0MCAXDTI2MTEyOTE5MTIwM1oYDzIxMjYxMTA1\n"
                           "MTkxMjAzWjAUMRIwEAYDVQQDDAlsb2NhbGhvc3QwWTATBgcqhkjOPQIBBggqhkjO\n"
                           "PQMBBwNCAAQmBhExEhYWud0uY1ilUUkh/Q/h1ummxRZR7jfGZgSUCJek/H1SA8Mj\n"
                           "BQgKlh6ipmrmUV7cPqDZwyMbmSF3PVA/o28wbTAdBgNVHQ4EFgQUac+d425vDqXm\n"
                           "ZYmOKyJ4hkXwL44wHwYDVR0jBBgwFoAUac+d425vDqXmZYmOKyJ4hkXwL44wDwYD\n"
                           "VR0TAQH/BAUwAwEB/zAaBgNVHREEEzARhwR/AAABgglsb2NhbGhvc3QwCgYIKoZI\n"
                           "zj0EAwIDSAAwRQIgEBjpTlKKt3ZvMsTxyKHTaSd5BRAX4zR5kmH3k5VvN7oCIQCI\n"
                           "j+oaxAK3/PtumH0GB7R6QlGB9In9eKRhFm3qr4GPnA==\n"
                           "-----END CERTIFICATE-----\n";
/* A throwaway test key, valid for 127.0.0.1 only: never use it anywhere else. */
static const char KEY[] = "-----BEGIN PRIVATE KEY-----\n"
                          "MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgDEXqq9fWADl/iS3J\n"
                          "ZAIQo/dlnYIwl+YqzuKyhQM1SwihRANCAAQmBhExEhYWud0uY1ilUUkh/Q/h1umm\n"
                          "xRZR7jfGZgSUCJek/H1SA8MjBQgKlh6ipmrmUV7cPqDZwyMbmSF3PVA/\n"
                          "-----END PRIVATE KEY-----\n";

TEST(test_relay_serves_https_on_its_own)
{
    struct fx f;
    fx_init(&f);
    check_write_file(check_path("cert.pem"), CERT, strlen(CERT));
    check_write_file(check_path("key.pem"), KEY, strlen(KEY));
    snprintf(f.cfg.tls_cert, sizeof f.cfg.tls_cert, "%s", check_path("cert.pem"));
    snprintf(f.cfg.tls_key, sizeof f.cfg.tls_key, "%s", check_path("key.pem"));
    fx_start(&f);
    f.https = 1;
    struct http h;
    http_do(&f, "OPTIONS", "/files/", NULL, NULL, 0, &h);
    ASSERT_EQ(h.status, 204);
    http_free(&h);
    still_serving(&f);
    fx_close(&f);
}

TEST(test_relay_conf_is_read_strictly_with_clear_messages)
{
    static const char good[] = "listen = 0.0.0.0:8443\n"
                               "database = /var/lib/homthu-relay/relay.db\n"
                               "registry = /var/lib/homthu-relay/registry.db\n"
                               "post_token = " TOKEN "\n"
                               "max_tip_bytes = 8388608\n"
                               "partial_ttl_hours = 24\n"
                               "device_requests_per_minute = 30\n";
    struct config *c = NULL;
    struct relay_config rc;
    char err[512] = "";
    ASSERT_EQ(config_load_mem(&c, "relay.conf", good, strlen(good), err, sizeof err), 0);
    ASSERT_EQ(relay_config_read(c, &rc, err, sizeof err), 0);
    ASSERT_STR_EQ(rc.listen, "0.0.0.0:8443");
    ASSERT_STR_EQ(rc.registry, "/var/lib/homthu-relay/registry.db");
    ASSERT_EQ(rc.max_tip_bytes, 8388608);
    ASSERT_EQ(rc.partial_ttl_seconds, 24 * 3600);
    ASSERT_EQ(rc.device_requests_per_minute, 30);
    ASSERT_EQ(rc.clock_skew_seconds, 600);
    ASSERT_EQ(rc.keep_fetched_seconds, 168 * 3600);
    ASSERT_STR_EQ(rc.tls_cert, "");
    /* The time budgets and the per-address limit: defaults, and what the file says. */
    ASSERT_EQ(rc.max_connections_per_address, -1);
    ASSERT_EQ(rc.header_timeout_seconds, 30);
    ASSERT_EQ(rc.body_timeout_seconds, 60);
    ASSERT_EQ(rc.body_min_bytes_per_second, 500);
    config_free(c);
    static const char budgets[] = "registry = r.db\npost_token = " TOKEN "\n"
                                  "max_connections_per_address = 0\n"
                                  "header_timeout_seconds = 20\n"
                                  "body_timeout_seconds = 40\n"
                                  "body_min_bytes_per_second = 0\n";
    ASSERT_EQ(config_load_mem(&c, "relay.conf", budgets, strlen(budgets), err, sizeof err), 0);
    ASSERT_EQ(relay_config_read(c, &rc, err, sizeof err), 0);
    ASSERT_EQ(rc.max_connections_per_address, 0);
    ASSERT_EQ(rc.header_timeout_seconds, 20);
    ASSERT_EQ(rc.body_timeout_seconds, 40);
    ASSERT_EQ(rc.body_min_bytes_per_second, 0);
    config_free(c);

    static const struct {
        const char *text, *says;
    } bad[] = {
        {"registry = r.db\npost_token = " TOKEN "\npartial_ttl_hour = 3\n",
         "relay.conf:3: unknown key partial_ttl_hour"},
        {"post_token = " TOKEN "\n", "registry is missing"},
        {"registry = r.db\n", "post_token is missing"},
        {"registry = r.db\npost_token = secret\n",
         "relay.conf: post_token must be 32 to 256 visible ASCII characters without spaces"},
        {"registry = r.db\npost_token = " TOKEN "\ntls_cert = c.pem\n",
         "relay.conf: tls_cert and tls_key go together"},
        {"registry = r.db\npost_token = " TOKEN "\nmax_tip_bytes = 100\n",
         "max_tip_bytes = 100 is out of range"},
        {"registry = r.db\npost_token = " TOKEN "\nheader_timeout_seconds = 0\n",
         "header_timeout_seconds = 0 is out of range"},
        {"registry = r.db\npost_token = " TOKEN "\nmax_connections_per_address = -1\n",
         "max_connections_per_address = -1 is out of range"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        c = NULL;
        ASSERT_EQ(
            config_load_mem(&c, "relay.conf", bad[i].text, strlen(bad[i].text), err, sizeof err),
            0);
        ASSERT(relay_config_read(c, &rc, err, sizeof err) != 0);
        ASSERT_CONTAINS(err, bad[i].says);
        config_free(c);
    }
    /* A relay with no registry to read does not start. */
    relay_config_defaults(&rc);
    snprintf(rc.database, sizeof rc.database, "%s", check_path("relay.db"));
    snprintf(rc.registry, sizeof rc.registry, "%s", check_path("nowhere.db"));
    snprintf(rc.post_token, sizeof rc.post_token, "%s", TOKEN);
    struct relay *r = NULL;
    ASSERT_EQ(relay_open(&r, &rc, err, sizeof err), RELAY_E_IO);
    ASSERT_CONTAINS(err, "nowhere.db");
    ASSERT(r == NULL);
    /* Nor one told to listen on nonsense. */
    struct fx f;
    fx_init(&f);
    snprintf(f.cfg.listen, sizeof f.cfg.listen, "localhost");
    ASSERT_EQ(relay_open(&f.relay, &f.cfg, err, sizeof err), 0);
    ASSERT_EQ(relay_start(f.relay, NULL, err, sizeof err), RELAY_E_CONFIG);
    ASSERT_STR_EQ(err, "listen = localhost is not ADDRESS:PORT (like 127.0.0.1:8080 or [::]:443, "
                       "numeric)");
    fx_close(&f);
}

/* ---- heartbeats, enrolment and revocation through the relay ---- */

static void post_body(const struct fx *f, const char *path, const char *token, const char *body,
                      struct http *out)
{
    char auth[200];
    snprintf(auth, sizeof auth, "Authorization: Bearer %s", token);
    const char *hs[] = {auth, NULL};
    http_do(f, "POST", path, token ? hs : NULL, body, strlen(body), out);
}

/* A sealed heartbeat's worth of bytes (the relay cannot tell it from any other). */
static void heartbeat_req(const struct fx *f, const struct kiosk *k, const uint8_t *blob, size_t n,
                          struct http *out)
{
    char auth[400];
    sign(auth, k, NULL, "POST", "/kiosk/heartbeat", next_ts(), NULL, NULL);
    const char *hs[] = {auth, NULL};
    http_do(f, "POST", "/kiosk/heartbeat", hs, blob, n, out);
}

TEST(test_relay_keeps_the_latest_heartbeat_of_each_kiosk_for_the_post)
{
    struct fx f;
    fx_open(&f);
    uint8_t a[HEARTBEAT_SEALED_BYTES], b[HEARTBEAT_SEALED_BYTES];
    randombytes_buf(a, sizeof a);
    randombytes_buf(b, sizeof b);
    struct http h;
    heartbeat_req(&f, &f.k[0], a, sizeof a, &h);
    ASSERT_EQ(h.status, 204);
    http_free(&h);
    atomic_store(&fake_now, T0 + 900);
    heartbeat_req(&f, &f.k[1], a, sizeof a, &h);
    ASSERT_EQ(h.status, 204);
    http_free(&h);
    atomic_store(&fake_now, T0 + 1800);
    heartbeat_req(&f, &f.k[0], b, sizeof b, &h); /* replaces kiosk 0's first */
    ASSERT_EQ(h.status, 204);
    http_free(&h);

    post_req(&f, "GET", "/post/heartbeats", TOKEN, &h);
    ASSERT_EQ(h.status, 200);
    ASSERT_STR_EQ(hv(&h, "Content-Type"), "application/json");
    char key0[64], key1[64], blob_b[512];
    sodium_bin2base64(key0, sizeof key0, f.k[0].pk, 32, sodium_base64_VARIANT_ORIGINAL);
    sodium_bin2base64(key1, sizeof key1, f.k[1].pk, 32, sodium_base64_VARIANT_ORIGINAL);
    sodium_bin2base64(blob_b, sizeof blob_b, b, sizeof b, sodium_base64_VARIANT_ORIGINAL);
    char want[2048];
    snprintf(want, sizeof want,
             "{\"heartbeats\":[{\"kiosk\":\"na-co-sa-02\",\"key\":\"%s\",\"cursor\":2,"
             "\"received\":%lld,\"blob\":\"",
             key1, (long long)T0 + 900);
    ASSERT_CONTAINS(body_text(&h), want);
    snprintf(want, sizeof want,
             "{\"kiosk\":\"na-co-sa-01\",\"key\":\"%s\",\"cursor\":3,\"received\":%lld,"
             "\"blob\":\"%s\"}],\"next\":3}",
             key0, (long long)T0 + 1800, blob_b);
    ASSERT_CONTAINS(body_text(&h), want);
    http_free(&h);
    /* After the cursor: only what is newer. */
    post_req(&f, "GET", "/post/heartbeats?after=2", TOKEN, &h);
    ASSERT_EQ(h.status, 200);
    ASSERT(!strstr(body_text(&h), "na-co-sa-02"));
    ASSERT_CONTAINS(body_text(&h), "\"next\":3}");
    http_free(&h);
    post_req(&f, "GET", "/post/heartbeats?after=3", TOKEN, &h);
    ASSERT_STR_EQ(body_text(&h), "{\"heartbeats\":[],\"next\":3}\n");
    http_free(&h);
    post_req(&f, "GET", "/post/heartbeats?after=x", TOKEN, &h);
    ASSERT_EQ(h.status, 400);
    http_free(&h);
    /* The relay's log names the kiosk, never the blob. */
    ASSERT(log_has("heartbeat from kiosk na-co-sa-01"));
    ASSERT(!strstr(logbuf, blob_b));
    still_serving(&f);
    fx_close(&f);
}

TEST(test_relay_refuses_heartbeats_of_strangers_wrong_sizes_and_bad_tokens)
{
    struct fx f;
    fx_open(&f);
    uint8_t blob[HEARTBEAT_SEALED_BYTES + 1];
    randombytes_buf(blob, sizeof blob);
    struct http h;
    heartbeat_req(&f, &f.k[3], blob, HEARTBEAT_SEALED_BYTES, &h);
    ASSERT_EQ(h.status, 403);
    ASSERT_CONTAINS(body_text(&h), "unknown device");
    http_free(&h);
    /* Wrong sizes, one byte either way, and none at all. */
    size_t sizes[] = {HEARTBEAT_SEALED_BYTES - 1, HEARTBEAT_SEALED_BYTES + 1, 0, 40};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        heartbeat_req(&f, &f.k[0], blob, sizes[i], &h);
        ASSERT_EQ(h.status, 400);
        ASSERT_CONTAINS(body_text(&h), "a heartbeat is exactly 304 bytes");
        http_free(&h);
    }
    /* Unsigned, or signed by another key than it names. */
    const char *none[] = {NULL};
    http_do(&f, "POST", "/kiosk/heartbeat", none, blob, HEARTBEAT_SEALED_BYTES, &h);
    ASSERT_EQ(h.status, 400);
    http_free(&h);
    char auth[400];
    sign(auth, &f.k[0], f.k[1].sk, "POST", "/kiosk/heartbeat", next_ts(), NULL, NULL);
    const char *hs[] = {auth, NULL};
    http_do(&f, "POST", "/kiosk/heartbeat", hs, blob, HEARTBEAT_SEALED_BYTES, &h);
    ASSERT_EQ(h.status, 401);
    http_free(&h);
    /* The post's listing and orders want the post token. */
    post_req(&f, "GET", "/post/heartbeats", NULL, &h);
    ASSERT_EQ(h.status, 401);
    http_free(&h);
    post_req(&f, "GET", "/post/heartbeats", TOKEN "x", &h);
    ASSERT_EQ(h.status, 401);
    http_free(&h);
    post_body(&f, "/post/kiosks", "wrong-token-0123456789-abcdefghijklmnop", "id=x\nkey=y\n", &h);
    ASSERT_EQ(h.status, 401);
    http_free(&h);
    post_body(&f, "/post/kiosks/na-co-sa-01/revoke", NULL, "reason=stolen\n", &h);
    ASSERT_EQ(h.status, 401);
    http_free(&h);
    /* A kiosk's own signature is no post token. */
    sign(auth, &f.k[0], NULL, "POST", "/post/kiosks/na-co-sa-01/revoke", next_ts(), NULL, NULL);
    http_do(&f, "POST", "/post/kiosks/na-co-sa-01/revoke", hs, "reason=mine", 11, &h);
    ASSERT_EQ(h.status, 401);
    http_free(&h);
    /* Nothing was stored, and kiosk 0 is still served. */
    post_req(&f, "GET", "/post/heartbeats", TOKEN, &h);
    ASSERT_STR_EQ(body_text(&h), "{\"heartbeats\":[],\"next\":0}\n");
    http_free(&h);
    still_serving(&f);
    fx_close(&f);
}

TEST(test_relay_revoke_from_the_post_refuses_the_kiosks_next_request)
{
    struct fx f;
    fx_open(&f);
    uint8_t tip[16], blob[HEARTBEAT_SEALED_BYTES];
    randombytes_buf(blob, sizeof blob);
    struct bytes env = make_tip(&f, &f.k[1], 0, tip);
    struct http h;
    tus_create(&f, &f.k[1], tip, env.n, &h);
    ASSERT_EQ(h.status, 201);
    http_free(&h);
    post_body(&f, "/post/kiosks/na-co-sa-02/revoke", TOKEN, "reason=stolen from the market\n",
              &h);
    ASSERT_EQ(h.status, 204);
    http_free(&h);
    tus_patch(&f, &f.k[1], tip, 0, env.p, env.n, &h);
    ASSERT_EQ(h.status, 403);
    ASSERT_CONTAINS(body_text(&h), "revoked device");
    http_free(&h);
    heartbeat_req(&f, &f.k[1], blob, sizeof blob, &h);
    ASSERT_EQ(h.status, 403);
    http_free(&h);
    /* The registry says it, with the reason. */
    struct registry_entry e;
    ASSERT_EQ(fx_kiosk(&f, "na-co-sa-02", &e), 0);
    ASSERT(e.revoked == T0);
    ASSERT_STR_EQ(e.reason, "stolen from the market");
    /* Told twice: the same answer. An unknown id, a bad reason: refused. */
    post_body(&f, "/post/kiosks/na-co-sa-02/revoke", TOKEN, "reason=again", &h);
    ASSERT_EQ(h.status, 204);
    http_free(&h);
    post_body(&f, "/post/kiosks/nobody/revoke", TOKEN, "reason=x", &h);
    ASSERT_EQ(h.status, 404);
    http_free(&h);
    post_body(&f, "/post/kiosks/na-co-sa-01/revoke", TOKEN, "reason=", &h);
    ASSERT_EQ(h.status, 400);
    http_free(&h);
    post_body(&f, "/post/kiosks/na-co-sa-01/revoke", TOKEN, "why=stolen", &h);
    ASSERT_EQ(h.status, 400);
    http_free(&h);
    post_body(&f, "/post/kiosks/NA/revoke", TOKEN, "reason=x", &h);
    ASSERT_EQ(h.status, 404);
    http_free(&h);
    free(env.p);
    still_serving(&f); /* kiosk 0 is not touched */
    fx_close(&f);
}

TEST(test_relay_enrolment_from_the_post_lets_a_new_kiosk_in)
{
    struct fx f;
    fx_open(&f);
    uint8_t tip[16];
    struct bytes env = make_tip(&f, &f.k[3], 0, tip);
    struct http h;
    tus_create(&f, &f.k[3], tip, env.n, &h);
    ASSERT_EQ(h.status, 403);
    http_free(&h);
    char key[64], body[200];
    sodium_bin2base64(key, sizeof key, f.k[3].pk, 32, sodium_base64_VARIANT_ORIGINAL);
    snprintf(body, sizeof body, "id=lao-cai-07\nkey=%s\n", key);
    post_body(&f, "/post/kiosks", TOKEN, body, &h);
    ASSERT_EQ(h.status, 204);
    http_free(&h);
    upload_whole(&f, &f.k[3], &env, tip);
    post_req(&f, "GET", "/post/tips", TOKEN, &h);
    ASSERT_CONTAINS(body_text(&h), "\"kiosk\":\"lao-cai-07\"");
    http_free(&h);
    /* Told again: fine. Another key under that id, or that key under another id: 409. */
    post_body(&f, "/post/kiosks", TOKEN, body, &h);
    ASSERT_EQ(h.status, 204);
    http_free(&h);
    snprintf(body, sizeof body, "id=lao-cai-08\nkey=%s", key);
    post_body(&f, "/post/kiosks", TOKEN, body, &h);
    ASSERT_EQ(h.status, 409);
    http_free(&h);
    /* Malformed orders. */
    const char *bad[] = {"id=x", "key=AAAA", "id=lao-cai-09\nkey=not-base64!", "id=a\nid=b\nkey=c",
                         "id=Bad Id\nkey=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", "garbage"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        post_body(&f, "/post/kiosks", TOKEN, bad[i], &h);
        ASSERT_EQ(h.status, 400);
        http_free(&h);
    }
    char big[2048];
    memset(big, 'a', sizeof big - 1);
    big[sizeof big - 1] = 0;
    post_body(&f, "/post/kiosks", TOKEN, big, &h);
    ASSERT_EQ(h.status, 413);
    http_free(&h);
    post_req(&f, "GET", "/post/kiosks", TOKEN, &h);
    ASSERT_EQ(h.status, 405);
    http_free(&h);
    free(env.p);
    still_serving(&f);
    fx_close(&f);
}

/* ================================================================ hardening (issue 12) */

/* A request for a path the relay does not have. */
static void http_do_plain_404(const struct fx *f)
{
    struct http h;
    http_do(f, "GET", "/nowhere", NULL, NULL, 0, &h);
    ASSERT_EQ(h.status, 404);
    http_free(&h);
}

/*
 * A kiosk's signed request straight into the relay, no socket: fast enough
 * to flood it as an attacker with a stolen key would. Returns the status.
 */
static int inproc_says(const struct fx *f, const struct kiosk *k, const uint8_t *signer_sk,
                       const char *method, const char *path, int64_t ts, char *said, size_t cap)
{
    char auth[400];
    sign(auth, k, signer_sk, method, path, ts, NULL, NULL);
    struct relay_header hs[] = {
        {"Tus-Resumable", "1.0.0"},
        {"Authorization", auth + strlen("Authorization: ")},
    };
    struct relay_request q = {method, path, hs, 2, NULL, 0};
    struct relay_response resp;
    relay_handle(f->relay, &q, NULL, 0, &resp);
    int status = resp.status;
    if (said)
        snprintf(said, cap, "%.*s", (int)resp.body_len, resp.body ? resp.body : "");
    relay_response_clear(&resp);
    return status;
}

static int inproc(const struct fx *f, const struct kiosk *k, const char *method, const char *path,
                  int64_t ts)
{
    return inproc_says(f, k, NULL, method, path, ts, NULL, 0);
}

/* /files/<a random tip id>: each path a different signed text. */
static void random_upload_path(char out[64])
{
    uint8_t id[16];
    char x[33];
    randombytes_buf(id, sizeof id);
    hex(id, x);
    snprintf(out, 64, "/files/%s", x);
}

TEST(test_relay_a_key_flooding_the_replay_memory_never_stops_other_kiosks)
{
    struct fx f;
    fx_init(&f);
    /*
     * The attack: a thief with two enrolled keys sends requests dated up to
     * 10 minutes ahead as fast as it can, each a new signed text, to fill
     * the memory the relay keeps against replays (before the fix: 524,000
     * requests, then every kiosk's POST/PATCH/DELETE got 503 for 20 min).
     * The rate is set out of the way, so only the memory's bounds hold it;
     * the bounds are small so that the flood fills them many times over.
     */
    f.cfg.device_requests_per_minute = 1000000;
    f.cfg.replay_per_device = 300;
    f.cfg.replay_total = 500;
    fx_start(&f);
    /* An honest request captured on the way, to replay at the end. */
    uint8_t tip[16];
    struct bytes env = make_tip(&f, &f.k[0], 0, tip);
    char auth[400], md[80], len[48];
    metadata(md, tip);
    snprintf(len, sizeof len, "Upload-Length: %zu", env.n);
    sign(auth, &f.k[0], NULL, "POST", "/files/", T0, NULL, len + 15);
    const char *hs[] = {"Tus-Resumable: 1.0.0", auth, md, len, NULL};
    struct http h;
    http_do(&f, "POST", "/files/", hs, NULL, 0, &h);
    ASSERT_EQ(h.status, 201);
    http_free(&h);

    char first[64];
    int taken = 0, n = 0;
    enum { ROUNDS = 8, PER_ROUND = 400 };
    for (int round = 0; round < ROUNDS; round++) {
        for (int i = 0; i < PER_ROUND; i++, n++) {
            char path[64];
            random_upload_path(path);
            if (n == 0)
                snprintf(first, sizeof first, "%s", path);
            /* Dated from 10 minutes behind to 10 minutes ahead, in order. */
            int64_t ts = T0 - 599 + (int64_t)n * 1199 / (ROUNDS * PER_ROUND);
            int s = inproc(&f, &f.k[1 + n % 2], "DELETE", path, ts);
            ASSERT(s == 404 || s == 401); /* taken (no such upload), or refused as a replay */
            taken += s == 404;
        }
        /* Throughout, the honest kiosk creates, uploads and is verified, and the post gets it. */
        still_serving(&f);
    }
    /* The flood was taken, not merely refused: the memory kept forgetting the thief's oldest. */
    ASSERT(taken > ROUNDS * PER_ROUND * 9 / 10);
    /* Forgetting never opened a replay: the thief's first request, and the honest one, are refused. */
    ASSERT_EQ(inproc(&f, &f.k[1], "DELETE", first, T0 - 599), 401);
    http_do(&f, "POST", "/files/", hs, NULL, 0, &h);
    ASSERT_EQ(h.status, 401);
    ASSERT_STR_EQ(body_text(&h),
                  "replay: this signed request was used before; sign each request afresh\n");
    http_free(&h);
    upload_whole(&f, &f.k[0], &env, tip);
    free(env.p);
    fx_close(&f);
}

TEST(test_relay_remembers_a_request_only_once_the_rate_let_it_through)
{
    struct fx f;
    fx_init(&f);
    f.cfg.device_requests_per_minute = 50;
    fx_start(&f);
    /* A stolen key sends 2000 requests in one minute: 50 are taken, the rest get 429. */
    char paths[2000][64];
    int ok = 0, slowed = 0;
    for (int i = 0; i < 2000; i++) {
        random_upload_path(paths[i]);
        int s = inproc(&f, &f.k[1], "DELETE", paths[i], T0);
        ok += s == 404;
        slowed += s == 429;
    }
    ASSERT_EQ(ok, 50);
    ASSERT_EQ(slowed, 1950);
    still_serving(&f); /* another kiosk is not slowed */
    /*
     * The 1950 refused were never remembered (they took no memory): the
     * next minute, one of them is taken like any new request (a request
     * refused with 429 never took effect), and one of the 50 is a replay.
     */
    atomic_store(&fake_now, T0 + 60);
    ASSERT_EQ(inproc(&f, &f.k[1], "DELETE", paths[1999], T0), 404);
    ASSERT_EQ(inproc(&f, &f.k[1], "DELETE", paths[0], T0), 401);
    still_serving(&f);
    fx_close(&f);
}

/* A raw connection to the relay from source address 127.0.0.<last> (all of 127/8 is this machine). */
static int raw_connect_from(uint16_t port, int last)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    ASSERT(fd >= 0);
    struct sockaddr_in src = {.sin_family = AF_INET};
    src.sin_addr.s_addr = htonl(0x7f000000u | (uint32_t)last);
    ASSERT_EQ(bind(fd, (struct sockaddr *)&src, sizeof src), 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_EQ(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
    return fd;
}

/* 1 when the relay has closed `fd` (end of stream or reset), reading what it said first. */
static int raw_closed(int fd)
{
    char buf[4096];
    for (;;) {
        ssize_t k = recv(fd, buf, sizeof buf, MSG_DONTWAIT);
        if (k == 0 || (k < 0 && errno != EAGAIN && errno != EWOULDBLOCK))
            return 1;
        if (k < 0)
            return 0;
    }
}

static double mono_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

TEST(test_relay_slow_connections_neither_pile_up_nor_last_and_honest_kiosks_upload)
{
    struct fx f;
    fx_init(&f);
    f.cfg.threads = 0; /* the default: a thread per connection, what slow connections used up */
    f.cfg.max_connections_per_address = 8;
    f.cfg.header_timeout_seconds = 2;
    f.cfg.body_timeout_seconds = 2;
    f.cfg.body_min_bytes_per_second = 100000;
    fx_start(&f);

    /*
     * The attack: 300 connections from one address, each sending its
     * request head a line at a time, a line every half second, for ever
     * (before the fix, 256 such held every connection the relay had:
     * libmicrohttpd's timeout counts only silence).
     */
    enum { SLOW = 300 };
    static int fds[SLOW];
    double start = mono_s();
    for (int i = 0; i < SLOW; i++) {
        fds[i] = raw_connect_from(f.port, 2);
        static const char line[] = "PATCH /files/00000000000000000000000000000000 HTTP/1.1\r\n";
        (void)send(fds[i], line, sizeof line - 1, MSG_NOSIGNAL);
    }
    /* A kiosk that had a request answered, then trickles the next head on the same connection. */
    int kept = raw_connect_from(f.port, 3);
    static const char opts[] = "OPTIONS /files/ HTTP/1.1\r\nHost: relay\r\n\r\n";
    raw_send(kept, opts, sizeof opts - 1);
    char resp[2048];
    raw_read_head(kept, resp, sizeof resp, 5000);
    ASSERT(strncmp(resp, "HTTP/1.1 204", 12) == 0);
    double kept_at = mono_s();

    int open_left = SLOW, rounds = 0;
    double all_closed = 0;
    while (mono_s() - start < 5.0) {
        /* The honest kiosk, from its own address, creates, uploads, is verified: throughout. */
        still_serving(&f);
        rounds++;
        open_left = 0;
        for (int i = 0; i < SLOW; i++) {
            if (fds[i] < 0)
                continue;
            if (raw_closed(fds[i])) {
                close(fds[i]);
                fds[i] = -1;
                continue;
            }
            open_left++;
            (void)send(fds[i], "X-Slow: 1\r\n", 11, MSG_NOSIGNAL);
        }
        (void)send(kept, "X", 1, MSG_NOSIGNAL);
        if (!open_left && !all_closed)
            all_closed = mono_s() - start;
        usleep(500 * 1000);
    }
    /* At most 8 were ever let in; those were closed within their 2 s (and a watchdog tick). */
    ASSERT_EQ(open_left, 0);
    ASSERT(all_closed > 0 && all_closed < 2.0 + 1.5);
    ASSERT(rounds >= 5);
    ASSERT(raw_closed(kept));
    ASSERT(mono_s() - kept_at < 5.0 + 1.0);
    close(kept);

    /*
     * A slow PATCH body from an enrolled kiosk: its first whole chunk at
     * once, then a byte every 300 ms. It is ended within its budget, and
     * keeps what came whole, as a PATCH cut off does.
     */
    uint8_t tip[16];
    struct bytes env = make_tip(&f, &f.k[1], 0, tip);
    struct http h;
    tus_create(&f, &f.k[1], tip, env.n, &h);
    ASSERT_EQ(h.status, 201);
    http_free(&h);
    char auth[400], x[33], head[1024], path[64];
    hex(tip, x);
    snprintf(path, sizeof path, "/files/%s", x);
    sign(auth, &f.k[1], NULL, "PATCH", path, next_ts(), "0", NULL);
    snprintf(head, sizeof head,
             "PATCH %s HTTP/1.1\r\nHost: relay\r\nTus-Resumable: 1.0.0\r\n%s\r\n"
             "Upload-Offset: 0\r\nContent-Type: application/offset+octet-stream\r\n"
             "Content-Length: %zu\r\n\r\n",
             path, auth, env.n);
    int slow = raw_connect_from(f.port, 4);
    raw_send(slow, head, strlen(head));
    size_t first = ENVELOPE_HEADER_BYTES + ENVELOPE_CHUNK_CIPHER;
    raw_send(slow, env.p, first);
    double body_start = mono_s();
    size_t at = first;
    while (!raw_closed(slow) && mono_s() - body_start < 10.0) {
        (void)send(slow, env.p + at++, 1, MSG_NOSIGNAL);
        usleep(300 * 1000);
    }
    double lasted = mono_s() - body_start;
    ASSERT(lasted < 2.0 + 1.5);
    close(slow);
    tus_head(&f, &f.k[1], tip, &h);
    ASSERT_EQ(h.status, 200);
    char want[32];
    snprintf(want, sizeof want, "%zu", first);
    ASSERT_STR_EQ(hv(&h, "Upload-Offset"), want);
    http_free(&h);
    tus_patch(&f, &f.k[1], tip, first, env.p + first, env.n - first, &h);
    ASSERT_EQ(h.status, 204);
    ASSERT_STR_EQ(hv(&h, "Homthu-Verified"), "yes");
    http_free(&h);
    ASSERT(log_has("closed 1 connection: the body came slower than 2 s"));
    free(env.p);
    still_serving(&f);
    fx_close(&f);
}

TEST(test_relay_tells_nothing_of_a_key_to_whoever_cannot_sign_with_it)
{
    struct fx f;
    fx_open(&f);
    ASSERT_EQ(fx_revoke(&f, "na-co-sa-03", "stolen"), 0);
    uint8_t pk[32], sk[64];
    crypto_sign_keypair(pk, sk);
    /*
     * The attack: name a key and sign with another. Before the fix the
     * relay said "unknown device" or "revoked device: kiosk NAME" before
     * it looked at the signature, telling which keys are enrolled, which
     * revoked, and their kiosks' names. Now all three say the same.
     */
    const struct kiosk *named[] = {&f.k[0], &f.k[2], &f.k[3]}; /* enrolled, revoked, unknown */
    char said[3][300];
    for (int i = 0; i < 3; i++) {
        char path[64];
        random_upload_path(path);
        ASSERT_EQ(inproc_says(&f, named[i], sk, "DELETE", path, T0, said[i], sizeof said[i]), 401);
        ASSERT_STR_EQ(said[i], "bad signature: the request is not signed by the key it names\n");
    }
    ASSERT(!strstr(logbuf, "na-co-sa-03"));
    ASSERT(!strstr(logbuf, "revoked device"));
    ASSERT(!strstr(logbuf, "unknown device"));
    /* Whoever holds the key learns what it is: the thief that its kiosk was revoked. */
    char path[64], s[300];
    random_upload_path(path);
    ASSERT_EQ(inproc_says(&f, &f.k[2], NULL, "DELETE", path, T0, s, sizeof s), 403);
    ASSERT_STR_EQ(s, "revoked device: kiosk na-co-sa-03 was revoked by the post\n");
    ASSERT_EQ(inproc_says(&f, &f.k[3], NULL, "DELETE", path, T0, s, sizeof s), 403);
    ASSERT_CONTAINS(s, "unknown device: kiosk key ");
    still_serving(&f);
    fx_close(&f);
}

/* How many lines of the relay's log hold `what`. */
static int log_count(const char *what)
{
    pthread_mutex_lock(&log_lock);
    int n = 0;
    for (const char *p = logbuf; (p = strstr(p, what)) != NULL; p += strlen(what))
        n++;
    pthread_mutex_unlock(&log_lock);
    return n;
}

TEST(test_relay_logs_a_flood_of_bad_signatures_in_a_line_every_ten_seconds)
{
    struct fx f;
    fx_open(&f);
    uint8_t pk[32], sk[64];
    crypto_sign_keypair(pk, sk);
    /* The attack: bad signatures as fast as the link goes (before: a log line each, 35 MB in 30 s). */
    for (int i = 0; i < 3000; i++) {
        char path[64];
        random_upload_path(path);
        if (i == 1500)
            atomic_store(&fake_now, T0 + 5);
        ASSERT_EQ(inproc_says(&f, &f.k[i % 3], sk, "DELETE", path, atomic_load(&fake_now), NULL,
                              0),
                  401);
    }
    ASSERT_EQ(log_count("bad signature"), 1);
    /* Ten seconds on, the next one is said, with how many were not. */
    atomic_store(&fake_now, T0 + 10);
    char path[64];
    random_upload_path(path);
    ASSERT_EQ(inproc_says(&f, &f.k[0], sk, "DELETE", path, T0 + 10, NULL, 0), 401);
    ASSERT_EQ(log_count("bad signature"), 2);
    ASSERT_CONTAINS(logbuf, "(and 2999 more like it in the 10 s before, not logged one by one)");
    /* Other refusals keep their own line: a quiet 401 does not hide a 404. */
    http_do_plain_404(&f);
    ASSERT_EQ(log_count("refused GET /nowhere: 404"), 1);
    still_serving(&f);
    fx_close(&f);
}

TEST(test_relay_a_captured_head_sent_again_and_again_never_locks_its_kiosk_out)
{
    struct fx f;
    fx_init(&f);
    f.cfg.device_requests_per_minute = 5;
    fx_start(&f);
    uint8_t tip[16];
    struct bytes env = make_tip(&f, &f.k[1], 0, tip);
    struct http h;
    tus_create(&f, &f.k[1], tip, env.n, &h); /* 1 of the kiosk's 5 this minute */
    ASSERT_EQ(h.status, 201);
    http_free(&h);
    /* The kiosk's HEAD, captured on the way (2 of 5), then sent 120 times by someone else. */
    char auth[400], path[64], x[33];
    hex(tip, x);
    snprintf(path, sizeof path, "/files/%s", x);
    sign(auth, &f.k[1], NULL, "HEAD", path, T0, NULL, NULL);
    const char *hh[] = {"Tus-Resumable: 1.0.0", auth, NULL};
    int answered = 0, slowed = 0;
    for (int i = 0; i < 121; i++) {
        http_do(&f, "HEAD", path, hh, NULL, 0, &h);
        answered += h.status == 200;
        slowed += h.status == 429;
        http_free(&h);
    }
    /* A HEAD asked twice is answered (tus clients do), within a budget of its own. */
    ASSERT_EQ(answered, 1 + 5);
    ASSERT_EQ(slowed, 121 - 6);
    /* The kiosk itself is not held back: its own requests go through its own rate. */
    tus_patch(&f, &f.k[1], tip, 0, env.p, 5000, &h); /* 3 of 5 */
    ASSERT_EQ(h.status, 204);
    http_free(&h);
    tus_head(&f, &f.k[1], tip, &h); /* 4 of 5 */
    ASSERT_EQ(h.status, 200);
    ASSERT_STR_EQ(hv(&h, "Upload-Offset"), "5000");
    http_free(&h);
    tus_patch(&f, &f.k[1], tip, 5000, env.p + 5000, env.n - 5000, &h); /* 5 of 5 */
    ASSERT_EQ(h.status, 204);
    ASSERT_STR_EQ(hv(&h, "Homthu-Verified"), "yes");
    http_free(&h);
    free(env.p);
    still_serving(&f);
    fx_close(&f);
}

/* ---- a province: many posts, several nodes, one PostgreSQL (issue 14) ---- */

/*
 * These need a PostgreSQL database (HOMTHU_RELAY_PG): tests/t_relay_pg.sh
 * starts one and runs them; the unit-test run leaves them to it.
 */
static void need_pg(void)
{
    if (!pg_store())
        check_fail(__FILE__, __LINE__,
                   "a province test needs HOMTHU_RELAY_PG=postgresql://… (tests/t_relay_pg.sh "
                   "starts a PostgreSQL and runs it)");
}

/* Post "other", with a key of its own and a token from relay_post_add; *sk its secret key. */
static void add_other_post(struct fx *f, char token[80], uint8_t pk[32], uint8_t sk[32])
{
    char err[256];
    crypto_box_keypair(pk, sk);
    ASSERT_EQ(relay_post_add(&f->cfg, "other", pk, token, 80, err, sizeof err), 0);
    ASSERT_EQ(strlen(token), 64);
    /* The same name twice: refused, the first token kept. */
    char again[80];
    ASSERT(relay_post_add(&f->cfg, "other", pk, again, sizeof again, err, sizeof err) != 0);
    ASSERT_CONTAINS(err, "post other is there already");
}

/* The tips a post's token lists, as the JSON the relay answers. */
static char *listed(const struct fx *f, const char *token)
{
    struct http h;
    post_req(f, "GET", "/post/tips?after=0", token, &h);
    ASSERT_EQ(h.status, 200);
    char *s = strndup((const char *)h.body, h.len);
    http_free(&h);
    return s;
}

TEST(test_province_each_post_sees_only_its_own_tips_and_kiosks)
{
    need_pg();
    struct fx f;
    fx_open(&f);
    char other[80], x[33], path[96];
    uint8_t opk[32], osk[32];
    add_other_post(&f, other, opk, osk);
    /* The other post enrols its kiosk (k[3]) through the API, as its station does. */
    char form[200], key[64];
    sodium_bin2base64(key, sizeof key, f.k[3].pk, 32, sodium_base64_VARIANT_ORIGINAL);
    snprintf(form, sizeof form, "id=ha-giang-01\nkey=%s\n", key);
    struct http h;
    post_body(&f, "/post/kiosks", other, form, &h);
    ASSERT_EQ(h.status, 204);
    http_free(&h);
    /* A tip of each post's kiosk, each sealed to its own post. */
    uint8_t tip_a[16], tip_b[16];
    struct bytes a = make_tip(&f, &f.k[0], 3000, tip_a);
    struct fx fo = f;
    memcpy(fo.post_pk, opk, 32);
    struct bytes b = make_tip(&fo, &f.k[3], 3000, tip_b);
    upload_whole(&f, &f.k[0], &a, tip_a);
    upload_whole(&f, &f.k[3], &b, tip_b);
    /* Each token lists its own tip only. */
    char *la = listed(&f, TOKEN), *lb = listed(&f, other);
    hex(tip_a, x);
    ASSERT_CONTAINS(la, x);
    ASSERT(strstr(lb, x) == NULL);
    hex(tip_b, x);
    ASSERT_CONTAINS(lb, x);
    ASSERT(strstr(la, x) == NULL);
    free(la);
    free(lb);
    /* The other post cannot download, mark fetched, or learn of post test's tip. */
    hex(tip_a, x);
    snprintf(path, sizeof path, "/post/tips/%s", x);
    post_req(&f, "GET", path, other, &h);
    ASSERT_EQ(h.status, 404);
    http_free(&h);
    snprintf(path, sizeof path, "/post/tips/%s/fetched", x);
    post_req(&f, "POST", path, other, &h);
    ASSERT_EQ(h.status, 404);
    http_free(&h);
    /* Its own, byte for byte. */
    hex(tip_b, x);
    snprintf(path, sizeof path, "/post/tips/%s", x);
    post_req(&f, "GET", path, other, &h);
    ASSERT_EQ(h.status, 200);
    ASSERT_EQ(h.len, b.n);
    ASSERT_MEM_EQ(h.body, b.p, b.n);
    http_free(&h);
    /* Heartbeats: each post its own kiosks'. */
    uint8_t blob[HEARTBEAT_SEALED_BYTES];
    randombytes_buf(blob, sizeof blob);
    heartbeat_req(&f, &f.k[0], blob, sizeof blob, &h);
    ASSERT_EQ(h.status, 204);
    http_free(&h);
    post_req(&f, "GET", "/post/heartbeats", other, &h);
    ASSERT_EQ(h.status, 200);
    ASSERT(h.len < 40 && strstr((const char *)h.body, "na-co-sa-01") == NULL);
    http_free(&h);
    post_req(&f, "GET", "/post/heartbeats", TOKEN, &h);
    ASSERT_EQ(h.status, 200);
    ASSERT(memmem(h.body, h.len, "na-co-sa-01", 11) != NULL);
    http_free(&h);
    /* A post cannot take or revoke another post's kiosk. */
    sodium_bin2base64(key, sizeof key, f.k[0].pk, 32, sodium_base64_VARIANT_ORIGINAL);
    snprintf(form, sizeof form, "id=thief-01\nkey=%s\n", key);
    post_body(&f, "/post/kiosks", other, form, &h);
    ASSERT_EQ(h.status, 409);
    http_free(&h);
    post_body(&f, "/post/kiosks/na-co-sa-01/revoke", other, "reason=not ours\n", &h);
    ASSERT_EQ(h.status, 404);
    http_free(&h);
    still_serving(&f); /* kiosk 0 still uploads to its own post */
    free(a.p);
    free(b.p);
    fx_close(&f);
}

TEST(test_province_a_tip_sealed_to_another_post_is_refused)
{
    need_pg();
    struct fx f;
    fx_open(&f);
    char other[80];
    uint8_t opk[32], osk[32];
    add_other_post(&f, other, opk, osk);
    /* Post test's kiosk seals to the other post's key: the other post would open it. */
    struct fx fo = f;
    memcpy(fo.post_pk, opk, 32);
    uint8_t tip[16];
    struct bytes env = make_tip(&fo, &f.k[0], 0, tip);
    struct http h;
    tus_create(&f, &f.k[0], tip, env.n, &h);
    ASSERT_EQ(h.status, 201);
    http_free(&h);
    tus_patch(&f, &f.k[0], tip, 0, env.p, env.n, &h);
    ASSERT_EQ(h.status, 422);
    ASSERT_CONTAINS(body_text(&h), "sealed to another post's key than post test's");
    http_free(&h);
    char *la = listed(&f, TOKEN), *lb = listed(&f, other), x[33];
    hex(tip, x);
    ASSERT(strstr(la, x) == NULL && strstr(lb, x) == NULL);
    free(la);
    free(lb);
    free(env.p);
    fx_close(&f);
}

/*
 * Two relay nodes on one database, as behind a load balancer: an upload
 * begun on one resumes on the other, a request signed once is taken by
 * one node only, a kiosk's rate counts on both, and a revocation told to
 * one node holds on the other.
 */
TEST(test_province_two_nodes_share_uploads_replays_rates_and_revocations)
{
    need_pg();
    struct fx f;
    fx_open(&f);
    struct fx g = f; /* node 2: the same configuration and database */
    char err[512];
    ASSERT_EQ(relay_open(&g.relay, &g.cfg, err, sizeof err), 0);
    ASSERT_EQ(relay_start(g.relay, &g.port, err, sizeof err), 0);
    uint8_t tip[16];
    struct bytes env = make_tip(&f, &f.k[0], 20000, tip);
    const uint64_t H = ENVELOPE_HEADER_BYTES, C = ENVELOPE_CHUNK_CIPHER;
    struct http h;
    tus_create(&f, &f.k[0], tip, env.n, &h);
    ASSERT_EQ(h.status, 201);
    http_free(&h);
    tus_patch(&f, &f.k[0], tip, 0, env.p, H + 2 * C, &h);
    ASSERT_EQ(h.status, 204);
    http_free(&h);
    /* Node 2 knows where it stands, and takes the rest. */
    tus_head(&g, &f.k[0], tip, &h);
    ASSERT_EQ(h.status, 200);
    ASSERT_EQ(strtoull(hv(&h, "Upload-Offset"), NULL, 10), H + 2 * C);
    http_free(&h);
    tus_patch(&g, &f.k[0], tip, H + 2 * C, env.p + H + 2 * C, env.n - H - 2 * C, &h);
    ASSERT_EQ(h.status, 204);
    ASSERT_STR_EQ(hv(&h, "Homthu-Verified"), "yes");
    http_free(&h);
    /* A stale offset on node 1 after node 2 moved it: 409, nothing spliced. */
    tus_patch(&f, &f.k[0], tip, H, env.p + H, C, &h);
    ASSERT_EQ(h.status, 409);
    http_free(&h);
    /* One signed request, sent to both nodes: the second is a replay. */
    char auth[400], path[64], x[33];
    hex(tip, x);
    snprintf(path, sizeof path, "/files/%s", x);
    sign(auth, &f.k[1], NULL, "DELETE", path, next_ts(), NULL, NULL);
    const char *hs[] = {"Tus-Resumable: 1.0.0", auth, NULL};
    http_do(&f, "DELETE", path, hs, NULL, 0, &h);
    ASSERT_EQ(h.status, 404); /* not its upload: answered, and remembered */
    http_free(&h);
    http_do(&g, "DELETE", path, hs, NULL, 0, &h);
    ASSERT_EQ(h.status, 401);
    ASSERT_CONTAINS(body_text(&h), "replay");
    http_free(&h);
    /* The rate counts on both nodes: a kiosk cannot double it by spreading. */
    int ok = 0, slowed = 0, limit = f.cfg.device_requests_per_minute;
    for (int i = 0; i < limit + 5; i++) {
        char a2[400];
        sign(a2, &f.k[2], NULL, "DELETE", path, next_ts(), NULL, NULL);
        const char *h2[] = {"Tus-Resumable: 1.0.0", a2, NULL};
        http_do(i % 2 ? &g : &f, "DELETE", path, h2, NULL, 0, &h);
        ok += h.status == 404;
        slowed += h.status == 429;
        http_free(&h);
    }
    ASSERT(ok <= limit);
    ASSERT(slowed >= 5);
    /* Revoked through node 1, refused by node 2. */
    post_body(&f, "/post/kiosks/na-co-sa-02/revoke", TOKEN, "reason=stolen\n", &h);
    ASSERT_EQ(h.status, 204);
    http_free(&h);
    tus_head(&g, &f.k[1], tip, &h);
    ASSERT_EQ(h.status, 403);
    http_free(&h);
    /* The post sees the tip once, byte for byte, from either node. */
    snprintf(path, sizeof path, "/post/tips/%s", x);
    post_req(&g, "GET", path, TOKEN, &h);
    ASSERT_EQ(h.status, 200);
    ASSERT_EQ(h.len, env.n);
    ASSERT_MEM_EQ(h.body, env.p, env.n);
    http_free(&h);
    char *l = listed(&f, TOKEN);
    ASSERT_CONTAINS(l, x);
    ASSERT(strstr(strstr(l, x) + 32, x) == NULL); /* once */
    free(l);
    relay_close(g.relay);
    free(env.p);
    fx_close(&f);
}

TEST(test_relay_conf_with_postgresql_wants_posts_in_the_database)
{
    char err[512];
    struct config *c = NULL;
    static const char text[] = "database = postgresql://relay@db.example/homthu\n"
                               "registry = registry.db\n"
                               "post_token = 0123456789abcdef0123456789abcdef\n";
    ASSERT_EQ(config_load_mem(&c, "relay.conf", text, strlen(text), err, sizeof err), 0);
    struct relay_config rc;
    ASSERT(relay_config_read(c, &rc, err, sizeof err) != 0);
    ASSERT_CONTAINS(err, "each post and its kiosks live in the database");
    ASSERT_CONTAINS(err, "post-add");
    config_free(c);
    static const char good[] = "database = postgresql://relay@db.example/homthu\n";
    ASSERT_EQ(config_load_mem(&c, "relay.conf", good, strlen(good), err, sizeof err), 0);
    ASSERT_EQ(relay_config_read(c, &rc, err, sizeof err), 0);
    ASSERT_STR_EQ(rc.database, "postgresql://relay@db.example/homthu"); /* not a path */
    config_free(c);
    /* A relay of one post has no post-add. */
    relay_config_defaults(&rc);
    snprintf(rc.database, sizeof rc.database, "%s", check_path("relay.db"));
    uint8_t pk[32] = {0};
    char token[80];
    ASSERT(relay_post_add(&rc, "other", pk, token, sizeof token, err, sizeof err) != 0);
    ASSERT_CONTAINS(err, "relay of many posts");
}
