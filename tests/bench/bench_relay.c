/*
 * bench_relay — how fast the relay takes tips, and how much memory it needs.
 *
 * 50 kiosks (threads, each with its own enrolled device key and its own
 * libcurl connection) each upload TIPS_PER_KIOSK real envelopes of about
 * 100 KB (POST + one PATCH, signed, checked at completion) to
 * build/release/homthu-relay running as a child process; its peak RSS is
 * the child's VmHWM.
 *
 * Baselines, measured in the same run on the same machine:
 *  - the same uploads as plain HTTP PUTs of the same bytes to a trivial
 *    libmicrohttpd handler that throws them away (same thread pool): what
 *    HTTP alone costs. relay / plain = the share of that speed left after
 *    authentication, durable storage and the envelope check;
 *  - SQLite commits of 100 KB blobs, WAL + synchronous = FULL, one thread:
 *    the disk's durable-write rate. The relay commits each tip's bytes and
 *    verdict once (plus a small commit at creation), so relay / commits
 *    near 1 says the disk, not the relay's code, sets the pace.
 * Figures only; nothing here fails on a number.
 */
#include <curl/curl.h>
#include <microhttpd.h>
#include <pthread.h>
#include <signal.h>
#include <sodium.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench.h"
#include "core/envelope.h"
#include "core/registry.h"
#include "relay/relay.h"

#define KIOSKS 50
#define TIPS_PER_KIOSK 10
#define AUDIO_BYTES 95000 /* + text and framing: 98,964-byte envelopes (24 chunks) */
#define TOKEN "bench-post-token-0123456789abcdefghijklmn"

struct tip {
    uint8_t *p;
    size_t n;
    uint8_t id[16];
};

struct kiosk {
    uint8_t pk[32], sk[64];
    struct tip tips[TIPS_PER_KIOSK];
    int port;
    int plain; /* baseline: PUT to the trivial server */
    int ok, failed;
    int64_t ts0, seq; /* request timestamps: ts0 + seq */
};

static char dir[256];

static int sink(void *ctx, enum envelope_piece kind, uint32_t index, const uint8_t *b, size_t n)
{
    (void)kind;
    (void)index;
    struct tip *t = ctx;
    uint8_t *np = realloc(t->p, t->n + n);
    if (!np)
        return -1;
    memcpy(np + t->n, b, n);
    t->p = np;
    t->n += n;
    return 0;
}

static size_t discard(char *p, size_t sz, size_t n, void *ctx)
{
    (void)p;
    (void)ctx;
    return sz * n;
}

static long request(CURL *c, const char *url, const char *method, struct curl_slist *hs,
                    const uint8_t *body, size_t len)
{
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hs);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body ? (const char *)body : "");
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 60L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    long status = 0;
    if (curl_easy_perform(c) != CURLE_OK)
        return -1;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    return status;
}

static void authorization(char *out, size_t cap, struct kiosk *k, const char *method,
                          const char *path, const char *offset, const char *length)
{
    /*
     * Identical signed texts are replays (POSTs of equal length in one
     * second are identical): each kiosk counts its ts up from 5 minutes
     * ago instead, as the kiosk's uploader does, well inside the skew.
     */
    char text[512], ts[24], k64[64], s64[100];
    uint8_t sig[64];
    snprintf(ts, sizeof ts, "%lld", (long long)(k->ts0 + k->seq++));
    size_t n = relay_signed_text(text, sizeof text, method, path, ts, offset, length);
    crypto_sign_detached(sig, NULL, (const uint8_t *)text, n, k->sk);
    sodium_bin2base64(k64, sizeof k64, k->pk, 32, sodium_base64_VARIANT_ORIGINAL);
    sodium_bin2base64(s64, sizeof s64, sig, 64, sodium_base64_VARIANT_ORIGINAL);
    snprintf(out, cap, "Authorization: Homthu-Device key=\"%s\", ts=\"%s\", sig=\"%s\"", k64, ts,
             s64);
}

static void *kiosk_run(void *arg)
{
    struct kiosk *k = arg;
    CURL *c = curl_easy_init();
    char url[128], auth[400], len[64], md[80], b64[40], path[64], hex[33];
    for (int i = 0; i < TIPS_PER_KIOSK; i++) {
        struct tip *t = &k->tips[i];
        sodium_bin2hex(hex, sizeof hex, t->id, 16);
        if (k->plain) {
            snprintf(url, sizeof url, "http://127.0.0.1:%d/plain/%s", k->port, hex);
            struct curl_slist *hs = curl_slist_append(NULL, "Expect:");
            long s = request(c, url, "PUT", hs, t->p, t->n);
            curl_slist_free_all(hs);
            s == 204 ? k->ok++ : k->failed++;
            continue;
        }
        snprintf(len, sizeof len, "%zu", t->n);
        sodium_bin2base64(b64, sizeof b64, t->id, 16, sodium_base64_VARIANT_ORIGINAL);
        snprintf(md, sizeof md, "Upload-Metadata: tipid %s", b64);
        authorization(auth, sizeof auth, k, "POST", "/files/", NULL, len);
        char lenh[80];
        snprintf(lenh, sizeof lenh, "Upload-Length: %s", len);
        struct curl_slist *hs = curl_slist_append(NULL, "Expect:");
        hs = curl_slist_append(hs, "Content-Type:");
        hs = curl_slist_append(hs, "Tus-Resumable: 1.0.0");
        hs = curl_slist_append(hs, auth);
        hs = curl_slist_append(hs, md);
        hs = curl_slist_append(hs, lenh);
        snprintf(url, sizeof url, "http://127.0.0.1:%d/files/", k->port);
        long s = request(c, url, "POST", hs, NULL, 0);
        curl_slist_free_all(hs);
        if (s != 201) {
            k->failed++;
            continue;
        }
        snprintf(path, sizeof path, "/files/%s", hex);
        authorization(auth, sizeof auth, k, "PATCH", path, "0", NULL);
        hs = curl_slist_append(NULL, "Expect:");
        hs = curl_slist_append(hs, "Tus-Resumable: 1.0.0");
        hs = curl_slist_append(hs, auth);
        hs = curl_slist_append(hs, "Upload-Offset: 0");
        hs = curl_slist_append(hs, "Content-Type: application/offset+octet-stream");
        snprintf(url, sizeof url, "http://127.0.0.1:%d%s", k->port, path);
        s = request(c, url, "PATCH", hs, t->p, t->n);
        curl_slist_free_all(hs);
        s == 204 ? k->ok++ : k->failed++;
    }
    curl_easy_cleanup(c);
    return NULL;
}

/* Run all kiosks at once; returns the seconds it took. */
static double run_kiosks(struct kiosk *ks, int port, int plain)
{
    pthread_t th[KIOSKS];
    for (int i = 0; i < KIOSKS; i++) {
        ks[i].port = port;
        ks[i].plain = plain;
        ks[i].ok = ks[i].failed = 0;
        ks[i].ts0 = (int64_t)time(NULL) - 300;
        ks[i].seq = 0;
    }
    double t0 = bench_now();
    for (int i = 0; i < KIOSKS; i++)
        pthread_create(&th[i], NULL, kiosk_run, &ks[i]);
    for (int i = 0; i < KIOSKS; i++)
        pthread_join(th[i], NULL);
    return bench_now() - t0;
}

/* ---- the trivial server of the HTTP baseline ---- */

static enum MHD_Result trivial(void *cls, struct MHD_Connection *c, const char *url,
                               const char *method, const char *version, const char *data,
                               size_t *size, void **ctx)
{
    (void)cls;
    (void)url;
    (void)method;
    (void)version;
    (void)data;
    if (!*ctx) {
        *ctx = c;
        return MHD_YES;
    }
    if (*size) {
        *size = 0;
        return MHD_YES;
    }
    struct MHD_Response *r = MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT);
    enum MHD_Result ret = MHD_queue_response(c, 204, r);
    MHD_destroy_response(r);
    return ret;
}

/* ---- the SQLite baseline ---- */

static double sqlite_commits_per_second(size_t blob, int n)
{
    char path[300];
    snprintf(path, sizeof path, "%s/baseline.db", dir);
    sqlite3 *db;
    sqlite3_stmt *st;
    sqlite3_open(path, &db);
    sqlite3_exec(db,
                 "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;"
                 "CREATE TABLE t(id INTEGER PRIMARY KEY, data BLOB)",
                 NULL, NULL, NULL);
    sqlite3_prepare_v2(db, "INSERT INTO t(data) VALUES(?)", -1, &st, NULL);
    uint8_t *b = malloc(blob);
    randombytes_buf(b, blob);
    double t0 = bench_now();
    for (int i = 0; i < n; i++) {
        sqlite3_bind_blob(st, 1, b, (int)blob, SQLITE_STATIC);
        sqlite3_step(st);
        sqlite3_reset(st);
    }
    double dt = bench_now() - t0;
    sqlite3_finalize(st);
    sqlite3_close(db);
    free(b);
    return n / dt;
}

static long vm_hwm_kb(pid_t pid)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "r");
    long kb = -1;
    while (f && fgets(line, sizeof line, f))
        if (strncmp(line, "VmHWM:", 6) == 0)
            kb = strtol(line + 6, NULL, 10);
    if (f)
        fclose(f);
    return kb;
}

int main(void)
{
    if (sodium_init() < 0 || curl_global_init(CURL_GLOBAL_DEFAULT) != 0)
        return 1;
    snprintf(dir, sizeof dir, "%s/homthu-bench-relay-XXXXXX",
             getenv("TMPDIR") && *getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    if (!mkdtemp(dir))
        return 1;
    char path[400], err[512], relay_bin[600];
    snprintf(relay_bin, sizeof relay_bin, "%s/homthu-relay", bench_build());
    if (access(relay_bin, X_OK) != 0) {
        fprintf(stderr, "bench_relay: %s missing: run make MODE=release\n", relay_bin);
        return 1;
    }

    /* The post, 50 enrolled kiosks, their tips. */
    static struct kiosk ks[KIOSKS];
    uint8_t post_pk[32], post_sk[32];
    crypto_box_keypair(post_pk, post_sk);
    snprintf(path, sizeof path, "%s/registry.db", dir);
    struct registry *reg = NULL;
    if (registry_open(&reg, path, 1, err, sizeof err)) {
        fprintf(stderr, "bench_relay: %s\n", err);
        return 1;
    }
    uint8_t *audio = malloc(AUDIO_BYTES);
    randombytes_buf(audio, AUDIO_BYTES);
    size_t tip_bytes = 0;
    for (int i = 0; i < KIOSKS; i++) {
        char id[32];
        crypto_sign_keypair(ks[i].pk, ks[i].sk);
        snprintf(id, sizeof id, "kiosk-%02d", i);
        if (registry_enrol(reg, id, ks[i].pk, time(NULL), err, sizeof err)) {
            fprintf(stderr, "bench_relay: %s\n", err);
            return 1;
        }
        for (int j = 0; j < TIPS_PER_KIOSK; j++) {
            struct tip *t = &ks[i].tips[j];
            struct envelope_writer *w;
            struct envelope_meta m = {.language = "vi", .codec = CODEC_OGG_OPUS};
            if (envelope_writer_new(&w, post_pk, ks[i].sk, &m, sink, t, t->id, err, sizeof err) ||
                envelope_write_audio(w, audio, AUDIO_BYTES) ||
                envelope_writer_finish(w, err, sizeof err)) {
                fprintf(stderr, "bench_relay: cannot make a tip: %s\n", err);
                return 1;
            }
            envelope_writer_free(w);
            tip_bytes = t->n;
        }
    }
    registry_close(reg);
    free(audio);
    int total = KIOSKS * TIPS_PER_KIOSK;

    /* The relay, as a child process. */
    snprintf(path, sizeof path, "%s/relay.conf", dir);
    FILE *f = fopen(path, "w");
    fprintf(f,
            "listen = 127.0.0.1:0\ndatabase = relay.db\nregistry = registry.db\n"
            "post_token = %s\ndevice_requests_per_minute = 1000000\nthreads = 4\n",
            TOKEN);
    fclose(f);
    char logpath[400];
    snprintf(logpath, sizeof logpath, "%s/relay.log", dir);
    pid_t pid = fork();
    if (pid == 0) {
        FILE *lf = freopen(logpath, "w", stderr);
        (void)lf;
        execl(relay_bin, relay_bin, "--config", path, (char *)NULL);
        _exit(127);
    }
    int port = 0;
    for (int i = 0; i < 200 && !port; i++) {
        usleep(20000);
        FILE *lf = fopen(logpath, "r");
        char line[512];
        while (lf && fgets(line, sizeof line, lf)) {
            char *p = strstr(line, "(port ");
            if (p)
                port = atoi(p + 6);
        }
        if (lf)
            fclose(lf);
    }
    if (!port) {
        fprintf(stderr, "bench_relay: the relay did not start (see %s)\n", logpath);
        kill(pid, SIGKILL);
        return 1;
    }
    double dt = run_kiosks(ks, port, 0);
    int ok = 0, failed = 0;
    for (int i = 0; i < KIOSKS; i++) {
        ok += ks[i].ok;
        failed += ks[i].failed;
    }
    long hwm = vm_hwm_kb(pid);
    kill(pid, SIGTERM);
    int st;
    waitpid(pid, &st, 0);
    double relay_rate = total / dt;

    /* Baseline 1: the same bytes, plain PUTs, a handler that does nothing. */
    struct MHD_Daemon *d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO, 0, NULL,
                                            NULL, trivial, NULL, MHD_OPTION_THREAD_POOL_SIZE, 4,
                                            MHD_OPTION_CONNECTION_LIMIT, 256, MHD_OPTION_END);
    int plain_port = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT)->port;
    double pdt = run_kiosks(ks, plain_port, 1);
    int pok = 0;
    for (int i = 0; i < KIOSKS; i++)
        pok += ks[i].ok;
    MHD_stop_daemon(d);
    double plain_rate = total / pdt;

    /* Baseline 2: durable SQLite commits of the same size. */
    double commits = sqlite_commits_per_second(tip_bytes, 200);

    printf("relay ingest, %d kiosks x %d tips of %s bytes (POST + PATCH, signed, verified):\n",
           KIOSKS, TIPS_PER_KIOSK, bench_num(tip_bytes));
    printf("  relay            %7.1f tips/s  %6.1f MB/s  (%d verified, %d failed)\n", relay_rate,
           relay_rate * (double)tip_bytes / 1e6, ok, failed);
    printf("  plain HTTP PUT   %7.1f tips/s  %6.1f MB/s  (%d answered; trivial libmicrohttpd "
           "handler)\n",
           plain_rate, plain_rate * (double)tip_bytes / 1e6, pok);
    printf("  SQLite commits   %7.1f /s of %s-byte blobs (WAL, synchronous = FULL, one "
           "thread)\n",
           commits, bench_num(tip_bytes));
    printf("  relay / plain HTTP        = %.2f  (share of bare HTTP speed left after auth, "
           "durable storage, envelope check)\n",
           relay_rate / plain_rate);
    printf("  relay / SQLite commits    = %.2f  (1.0: each tip costs one durable 100 KB commit "
           "and nothing else; the relay makes that one plus a small one at creation)\n",
           relay_rate / commits);
    printf("  relay peak RSS (VmHWM)    = %s KiB  (goal: well under a small VPS's 512 MiB)\n",
           bench_num((uint64_t)(hwm > 0 ? hwm : 0)));

    for (int i = 0; i < KIOSKS; i++)
        for (int j = 0; j < TIPS_PER_KIOSK; j++)
            free(ks[i].tips[j].p);
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "bench_relay: could not remove %s\n", dir);
    curl_global_cleanup();
    return 0;
}
