/*
 * fuzz_relay — the relay's request handling on arbitrary bytes, with no
 * socket: header and Authorization parsing, tus header checks, the post
 * API's arguments, the upload state machine and the envelope check at
 * completion, all through relay_call_begin/body/end.
 *
 * Input: up to 8 requests, each
 *
 *   flags (1 byte)      bit 0: the harness signs the request as the enrolled
 *                       kiosk (so the fuzzer gets past authentication);
 *                       bit 1: the body is cut off (relay_call_abort);
 *                       bit 2: in the same second as the request before
 *                       (the same signed text twice is a replay)
 *   head length (u16 LE), head: "METHOD PATH[?a=b&c=d]\nName: value\n..."
 *   body length (u32 LE, capped by what is left), body bytes
 *
 * Each input gets a fresh relay (store in memory) over one registry with
 * one enrolled kiosk whose key is fixed (seed bytes 1..32), so the seeds in
 * tests/fuzz/corpus/relay/ can carry real envelopes it signed. Inputs over
 * 256 KiB are skipped. The harness traps when an answer breaks a rule a
 * client relies on: a status outside 100–599, an error without its
 * one-line message, a tus answer without Tus-Resumable.
 *
 * Build the seeds again with: cc -DFUZZ_RELAY_SEEDS ... tests/fuzz/fuzz_relay.c
 * (see the bottom of this file); they go to tests/fuzz/corpus/relay/.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <sodium.h>

#include "core/envelope.h"
#include "core/registry.h"
#include "relay/relay.h"

#define FUZZ_MAX (256 * 1024)
#define MAX_REQUESTS 8
#define MAX_FIELDS 32
#define CLOCK0 1743500000

static uint8_t kiosk_pk[32], kiosk_sk[64];
static char dir[256], registry_path[300];
static int64_t fake_now;

static int64_t fuzz_clock(void *ctx)
{
    (void)ctx;
    return fake_now;
}

static void cleanup(void)
{
    if (registry_path[0])
        unlink(registry_path);
    if (dir[0])
        rmdir(dir);
}

static void setup(void)
{
    if (registry_path[0])
        return;
    if (sodium_init() < 0)
        abort();
    uint8_t seed[32];
    for (int i = 0; i < 32; i++)
        seed[i] = (uint8_t)(i + 1);
    crypto_sign_seed_keypair(kiosk_pk, kiosk_sk, seed);
    const char *tmp = getenv("TMPDIR");
    snprintf(dir, sizeof dir, "%s/homthu-fuzz-relay-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(dir))
        abort();
    snprintf(registry_path, sizeof registry_path, "%s/registry.db", dir);
    struct registry *reg = NULL;
    char err[256];
    if (registry_open(&reg, registry_path, 1, err, sizeof err) ||
        registry_enrol(reg, "fuzz-01", kiosk_pk, CLOCK0, err, sizeof err)) {
        fprintf(stderr, "fuzz_relay: %s\n", err);
        abort();
    }
    registry_close(reg);
    atexit(cleanup);
}

/* FUZZ_RELAY_LOG=1 shows what the relay says: to check that seeds reach deep. */
static void fuzz_log(void *ctx, const char *line)
{
    (void)ctx;
    fprintf(stderr, "relay: %s\n", line);
}

static int starts_with(const char *s, const char *p)
{
    return strncmp(s, p, strlen(p)) == 0;
}

static void check(const struct relay_response *resp, int tus)
{
    if (resp->status < 100 || resp->status > 599)
        __builtin_trap();
    if (resp->status >= 400 &&
        (!resp->body || resp->body_len < 2 || resp->body[resp->body_len - 1] != '\n'))
        __builtin_trap();
    if (resp->body_len && !resp->body)
        __builtin_trap();
    if (tus && !relay_response_header(resp, "Tus-Resumable"))
        __builtin_trap();
}

/* Split a head into method, path, args and header fields (in place). */
static int parse_head(char *head, struct relay_request *q, struct relay_header *hv,
                      struct relay_header *av)
{
    char *nl = strchr(head, '\n');
    if (nl)
        *nl = 0;
    char *sp = strchr(head, ' ');
    if (!sp)
        return -1;
    *sp = 0;
    q->method = head;
    q->path = sp + 1;
    char *qm = strchr(sp + 1, '?');
    q->args = av;
    q->nargs = 0;
    if (qm) {
        *qm = 0;
        for (char *a = strtok(qm + 1, "&"); a && q->nargs < MAX_FIELDS; a = strtok(NULL, "&")) {
            char *eq = strchr(a, '=');
            if (eq)
                *eq = 0;
            av[q->nargs].name = a;
            av[q->nargs].value = eq ? eq + 1 : "";
            q->nargs++;
        }
    }
    q->headers = hv;
    q->nheaders = 0;
    for (char *line = nl ? nl + 1 : NULL; line && *line && q->nheaders < MAX_FIELDS;) {
        char *next = strchr(line, '\n');
        if (next)
            *next++ = 0;
        char *colon = strchr(line, ':');
        if (colon) {
            *colon = 0;
            char *v = colon + 1;
            while (*v == ' ')
                v++;
            hv[q->nheaders].name = line;
            hv[q->nheaders].value = v;
            q->nheaders++;
        }
        line = next;
    }
    return 0;
}

static const char *field(const struct relay_request *q, const char *name)
{
    for (size_t i = 0; i < q->nheaders; i++)
        if (strcasecmp(q->headers[i].name, name) == 0)
            return q->headers[i].value;
    return NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > FUZZ_MAX)
        return 0;
    setup();
    fake_now = CLOCK0;
    struct relay_config c;
    relay_config_defaults(&c);
    snprintf(c.database, sizeof c.database, ":memory:");
    snprintf(c.registry, sizeof c.registry, "%s", registry_path);
    snprintf(c.post_token, sizeof c.post_token, "fuzz-post-token-0123456789abcdefghijkl");
    c.clock = fuzz_clock;
    c.device_requests_per_minute = 1000;
    /* A replay memory this small forgets on almost every request: its bounds are fuzzed too. */
    c.replay_per_device = 3;
    c.replay_total = 4;
    if (getenv("FUZZ_RELAY_LOG"))
        c.log = fuzz_log;
    struct relay *r = NULL;
    char err[512];
    if (relay_open(&r, &c, err, sizeof err)) {
        fprintf(stderr, "fuzz_relay: %s\n", err);
        abort();
    }
    size_t at = 0;
    for (int n = 0; n < MAX_REQUESTS && at + 3 <= size; n++) {
        uint8_t flags = data[at];
        size_t hlen = (size_t)data[at + 1] | (size_t)data[at + 2] << 8;
        at += 3;
        if (hlen > size - at)
            hlen = size - at;
        char *head = malloc(hlen + 1);
        memcpy(head, data + at, hlen);
        head[hlen] = 0; /* a NUL inside ends the head early: as a C string would */
        at += hlen;
        size_t blen = 0;
        if (at + 4 <= size) {
            blen = (size_t)data[at] | (size_t)data[at + 1] << 8 | (size_t)data[at + 2] << 16 |
                   (size_t)data[at + 3] << 24;
            at += 4;
        }
        if (blen > size - at)
            blen = size - at;
        const uint8_t *body = data + at;
        at += blen;

        struct relay_request q;
        struct relay_header hv[MAX_FIELDS + 2], av[MAX_FIELDS];
        char auth[400];
        /* Every request its own second (no accidental replays), unless flag 4 says the same. */
        if (!(flags & 4))
            fake_now++;
        if (parse_head(head, &q, hv, av) == 0) {
            if ((flags & 1) && q.nheaders < MAX_FIELDS) {
                char text[1024], ts[24], k64[64], s64[100];
                uint8_t sig[64];
                const char *m = field(&q, "X-HTTP-Method-Override");
                snprintf(ts, sizeof ts, "%lld", (long long)fake_now);
                size_t tl =
                    relay_signed_text(text, sizeof text, m && *m ? m : q.method, q.path, ts,
                                      field(&q, "Upload-Offset"), field(&q, "Upload-Length"),
                                      field(&q, "Upload-Checksum"));
                if (tl) {
                    crypto_sign_detached(sig, NULL, (const uint8_t *)text, tl, kiosk_sk);
                    sodium_bin2base64(k64, sizeof k64, kiosk_pk, 32,
                                      sodium_base64_VARIANT_ORIGINAL);
                    sodium_bin2base64(s64, sizeof s64, sig, 64, sodium_base64_VARIANT_ORIGINAL);
                    snprintf(auth, sizeof auth, "Homthu-Device key=\"%s\", ts=\"%s\", sig=\"%s\"",
                             k64, ts, s64);
                    hv[q.nheaders].name = "Authorization";
                    hv[q.nheaders].value = auth;
                    q.nheaders++;
                }
            }
            int tus = starts_with(q.path, "/files");
            struct relay_response resp;
            struct relay_call *call = NULL;
            if (relay_call_begin(r, &q, &call, &resp)) {
                check(&resp, tus);
                relay_response_clear(&resp);
            } else {
                /* The body in two slices, the way a socket might cut it. */
                size_t half = blen / 2;
                relay_call_body(call, body, half);
                if (flags & 2) {
                    relay_call_abort(call);
                } else {
                    relay_call_body(call, body + half, blen - half);
                    relay_call_end(call, &resp);
                    check(&resp, tus);
                    relay_response_clear(&resp);
                }
            }
        }
        free(head);
    }
    /* The pure parsers on the raw bytes too. */
    char *s = malloc(size + 1);
    memcpy(s, data, size);
    s[size] = 0;
    struct relay_auth a;
    uint8_t tip[16];
    uint64_t v;
    err[0] = 0;
    if (relay_parse_auth(s, &a, err, sizeof err) == 0 ? a.ts < 0 || strlen(a.ts_text) > 19
                                                      : err[0] == 0)
        __builtin_trap();
    err[0] = 0;
    if (relay_parse_metadata(s, tip, err, sizeof err) != 0 && err[0] == 0)
        __builtin_trap();
    if (relay_parse_u64(s, &v) == 0 && (strlen(s) == 0 || strlen(s) > 19))
        __builtin_trap();
    free(s);
    (void)relay_sweep(r);
    relay_close(r);
    return 0;
}

#ifdef FUZZ_RELAY_SEEDS
/*
 * The seeds: each a plausible session, written to tests/fuzz/corpus/relay/.
 *   make && cc -std=c11 -D_GNU_SOURCE -DFUZZ_RELAY_SEEDS -Isrc tests/fuzz/fuzz_relay.c \
 *      build/debug/libhomthu.a $(pkg-config --cflags --libs libsodium sqlite3 \
 *      libmicrohttpd libgpiod) -lpthread -o /tmp/seeds
 *   /tmp/seeds tests/fuzz/corpus/relay
 */
struct out {
    uint8_t *p;
    size_t n;
};

static void put(struct out *o, const void *b, size_t n)
{
    o->p = realloc(o->p, o->n + n);
    memcpy(o->p + o->n, b, n);
    o->n += n;
}

static void request(struct out *o, uint8_t flags, const char *head, const uint8_t *body,
                    size_t blen)
{
    size_t h = strlen(head);
    uint8_t b[4] = {(uint8_t)h, (uint8_t)(h >> 8)};
    put(o, &flags, 1);
    put(o, b, 2);
    put(o, head, h);
    b[0] = (uint8_t)blen;
    b[1] = (uint8_t)(blen >> 8);
    b[2] = (uint8_t)(blen >> 16);
    b[3] = (uint8_t)(blen >> 24);
    put(o, b, 4);
    if (blen)
        put(o, body, blen);
}

static int sink(void *ctx, enum envelope_piece kind, uint32_t index, const uint8_t *p, size_t n)
{
    (void)kind;
    (void)index;
    put(ctx, p, n);
    return 0;
}

static void save(const char *dirname, const char *name, const struct out *o)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dirname, name);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(o->p, 1, o->n, f) != o->n || fclose(f))
        abort();
}

int main(int argc, char **argv)
{
    if (argc != 2)
        return 2;
    setup();
    uint8_t post_pk[32], post_sk[32], tip[16];
    crypto_box_keypair(post_pk, post_sk);
    struct out env = {0};
    struct envelope_writer *w;
    struct envelope_meta m = {.language = "vi", .category = 1};
    char err[256], head[1024], hex[33], b64[40];
    if (envelope_writer_new(&w, post_pk, kiosk_sk, &m, sink, &env, tip, err, sizeof err) ||
        envelope_write_text(w, "fuzz", 4) || envelope_writer_finish(w, err, sizeof err))
        abort();
    envelope_writer_free(w);
    sodium_bin2hex(hex, sizeof hex, tip, 16);
    sodium_bin2base64(b64, sizeof b64, tip, 16, sodium_base64_VARIANT_ORIGINAL);

    struct out o = {0};
    snprintf(head, sizeof head,
             "POST /files/\nTus-Resumable: 1.0.0\nUpload-Length: %zu\nUpload-Metadata: tipid %s\n",
             env.n, b64);
    request(&o, 1, head, NULL, 0);
    snprintf(head, sizeof head,
             "PATCH /files/%s\nTus-Resumable: 1.0.0\nUpload-Offset: 0\n"
             "Content-Type: application/offset+octet-stream\nContent-Length: %zu\n",
             hex, env.n);
    request(&o, 1, head, env.p, env.n);
    snprintf(head, sizeof head, "HEAD /files/%s\nTus-Resumable: 1.0.0\n", hex);
    request(&o, 1, head, NULL, 0);
    request(&o, 0,
            "GET /post/tips?after=0&limit=10\nAuthorization: Bearer "
            "fuzz-post-token-0123456789abcdefghijkl\n",
            NULL, 0);
    snprintf(head, sizeof head,
             "GET /post/tips/%s\nAuthorization: Bearer fuzz-post-token-0123456789abcdefghijkl\n",
             hex);
    request(&o, 0, head, NULL, 0);
    snprintf(head, sizeof head,
             "POST /post/tips/%s/fetched\nAuthorization: Bearer "
             "fuzz-post-token-0123456789abcdefghijkl\n",
             hex);
    request(&o, 0, head, NULL, 0);
    save(argv[1], "whole_upload", &o);

    /* Partial, cut off, resumed with a wrong offset, then terminated. */
    o.n = 0;
    snprintf(head, sizeof head,
             "POST /files/\nTus-Resumable: 1.0.0\nUpload-Length: %zu\nUpload-Metadata: tipid %s\n",
             env.n, b64);
    request(&o, 1, head, NULL, 0);
    snprintf(head, sizeof head,
             "PATCH /files/%s\nTus-Resumable: 1.0.0\nUpload-Offset: 0\n"
             "Content-Type: application/offset+octet-stream\nContent-Length: %zu\n",
             hex, env.n);
    request(&o, 3, head, env.p, 9000);
    snprintf(head, sizeof head,
             "PATCH /files/%s\nTus-Resumable: 1.0.0\nUpload-Offset: 17\n"
             "Content-Type: application/offset+octet-stream\nContent-Length: 10\n",
             hex);
    request(&o, 1, head, env.p, 10);
    snprintf(head, sizeof head,
             "POST /files/%s\nTus-Resumable: 1.0.0\nX-HTTP-Method-Override: DELETE\n", hex);
    request(&o, 1, head, NULL, 0);
    save(argv[1], "partial_cut_terminated", &o);

    /*
     * Replays within one second, in a replay memory of 3 (fuzz setup): a
     * POST sent twice, a HEAD asked over and over, DELETEs that make the
     * memory forget the oldest, then the first POST once more.
     */
    o.n = 0;
    snprintf(head, sizeof head,
             "POST /files/\nTus-Resumable: 1.0.0\nUpload-Length: %zu\nUpload-Metadata: tipid %s\n",
             env.n, b64);
    request(&o, 1, head, NULL, 0);
    request(&o, 5, head, NULL, 0);
    snprintf(head, sizeof head, "HEAD /files/%s\nTus-Resumable: 1.0.0\n", hex);
    request(&o, 5, head, NULL, 0);
    request(&o, 5, head, NULL, 0);
    request(&o, 5, "DELETE /files/00112233445566778899aabbccddeeff\nTus-Resumable: 1.0.0\n",
            NULL, 0);
    request(&o, 5, "DELETE /files/ffeeddccbbaa99887766554433221100\nTus-Resumable: 1.0.0\n",
            NULL, 0);
    request(&o, 5, "DELETE /files/0123456789abcdef0123456789abcdef\nTus-Resumable: 1.0.0\n",
            NULL, 0);
    snprintf(head, sizeof head,
             "POST /files/\nTus-Resumable: 1.0.0\nUpload-Length: %zu\nUpload-Metadata: tipid %s\n",
             env.n, b64);
    request(&o, 5, head, NULL, 0);
    save(argv[1], "replayed", &o);

    /* A tampered envelope. */
    o.n = 0;
    env.p[1000] ^= 1;
    snprintf(head, sizeof head,
             "POST /files\nTus-Resumable: 1.0.0\nUpload-Length: %zu\nUpload-Metadata: tipid %s\n",
             env.n, b64);
    request(&o, 1, head, NULL, 0);
    snprintf(head, sizeof head,
             "PATCH /files/%s\nTus-Resumable: 1.0.0\nUpload-Offset: 0\n"
             "Content-Type: application/offset+octet-stream\n",
             hex);
    request(&o, 1, head, env.p, env.n);
    save(argv[1], "tampered", &o);

    /* Unsigned and malformed requests. */
    o.n = 0;
    request(&o, 0, "OPTIONS /files/\n", NULL, 0);
    request(&o, 0,
            "POST /files/\nTus-Resumable: 1.0.0\nAuthorization: Homthu-Device key=\"AAAA\", "
            "ts=\"1\", sig=\"AAAA\"\nUpload-Length: 33156\n",
            NULL, 0);
    request(&o, 0, "GET /post/tips?after=x&limit=0\nAuthorization: Bearer nope\n", NULL, 0);
    request(&o, 1,
            "PATCH /files/00112233445566778899aabbccddeeff\nTus-Resumable: 1.0.0\n"
            "Upload-Offset: 0\nUpload-Offset: 1\n",
            NULL, 0);
    save(argv[1], "malformed", &o);
    printf("seeds written to %s\n", argv[1]);
    return 0;
}
#endif
