/*
 * bench_relay — how fast the relay takes tips, beside a tus server that
 * keeps nothing durable, on a disk whose flushes cost what an SD card's or
 * a cheap VPS's do.
 *
 * 50 kiosks (threads, each with its own enrolled device key and its own
 * libcurl connection) each upload TIPS_PER_KIOSK real envelopes of about
 * 100 KB: POST, then one PATCH of the whole envelope (signed; the relay
 * checks each finished envelope and has it on disk before it answers).
 * uploads/s = uploads answered 204 / wall time of the whole run.
 *
 * The baseline does the same work in the same way: @tus/server 1.x with its
 * FileStore (build/interop, tools/interop-deps.sh), started by node, the
 * same POSTs and PATCHes of the same bytes with the same headers. It never
 * fsyncs: an upload it acknowledged can be lost in a power cut.
 *
 * Each server runs as a child process under tests/shims/fsync_delay.so,
 * which adds 0 or 5 ms to every fsync/fdatasync and counts them (the count
 * is the shim's, outside the relay's code). ROUNDS rounds per delay; in
 * each, ours and the baseline run back to back on fresh stores. Printed:
 * min/median of each, and of the per-round ratio. Figures only; nothing
 * here fails on a number. Every child is killed and waited for, on error
 * paths and on SIGINT/SIGTERM too.
 *
 * The province relay (issue 14) in the same rounds, when tests/bench/run.sh
 * started PostgreSQL (tests/pg/cluster.sh) and says where in
 * HOMTHU_BENCH_PG_<delay> (a primary with, where HOMTHU_BENCH_PG_SYNC=1, a
 * synchronous standby; its servers run under the same shim and delay): the
 * relay on that database with one node, and with two nodes, the kiosks
 * split between them (even kiosks to one, odd to the other). Each round
 * empties the database first (its tables dropped), adds the post and
 * enrols the kiosks in it (the store's post_add and device_enrol, as
 * `homthu-relay post-add` and the post's enrolments do). A PostgreSQL
 * relay answers 204 once the commit is on the primary's disk and, with
 * the standby, on the standby's disk too (synchronous_commit = on).
 * PG_ROUNDS of them per delay, paired with the first rounds of the others.
 */
#include <curl/curl.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench.h"
#include "core/envelope.h"
#include "core/registry.h"
#include "relay/relay.h"
#include "relay/store.h"

#ifdef HOMTHU_HAVE_LIBPQ
#include <libpq-fe.h>
#endif

#define KIOSKS 50
#define TIPS_PER_KIOSK 10
#define ROUNDS 5
#define PG_ROUNDS 3 /* PostgreSQL rounds per delay: two servers and a standby each cost more */
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
    int ok, failed;
    int64_t ts0, seq; /* request timestamps: ts0 + seq */
};

static char dir[256];

/* ---- children: every one is killed and reaped, whatever happens ---- */

static volatile pid_t children[8];

static void child_add(pid_t pid)
{
    for (int i = 0; i < 8; i++)
        if (!children[i]) {
            children[i] = pid;
            return;
        }
}

/* SIGTERM, wait; SIGKILL if it will not go. 0 when it exited by itself. */
static int child_stop(pid_t pid)
{
    int st = 0;
    kill(pid, SIGTERM);
    for (int i = 0; i < 1000; i++) { /* 10 s to stop cleanly */
        pid_t w = waitpid(pid, &st, WNOHANG);
        if (w == pid || (w < 0 && errno == ECHILD))
            goto gone;
        usleep(10000);
    }
    kill(pid, SIGKILL);
    waitpid(pid, &st, 0);
gone:
    for (int i = 0; i < 8; i++)
        if (children[i] == pid)
            children[i] = 0;
    return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -1;
}

static void children_kill(void)
{
    for (int i = 0; i < 8; i++)
        if (children[i] > 0) {
            kill(children[i], SIGKILL);
            waitpid(children[i], NULL, 0);
            children[i] = 0;
        }
}

static void on_signal(int sig)
{
    children_kill();
    signal(sig, SIG_DFL);
    raise(sig);
}

/* ---- the kiosks ---- */

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

/* The Location of a creation, as a path: ours is relative, @tus/server's absolute. */
static size_t location(char *p, size_t sz, size_t n, void *ctx)
{
    char *out = ctx;
    size_t len = sz * n;
    if (len > 10 && strncasecmp(p, "Location:", 9) == 0) {
        const char *v = p + 9;
        while (*v == ' ')
            v++;
        const char *path = strstr(v, "/files/");
        if (path) {
            size_t k = 0;
            while (path + k < p + len && path[k] != '\r' && path[k] != '\n' && k < 127)
                k++;
            memcpy(out, path, k);
            out[k] = 0;
        }
    }
    return len;
}

static long request(CURL *c, const char *url, const char *method, struct curl_slist *hs,
                    const uint8_t *body, size_t len, char *loc)
{
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hs);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body ? (const char *)body : "");
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, loc ? location : discard);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, loc);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 120L);
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
    size_t n = relay_signed_text(text, sizeof text, method, path, ts, offset, length, NULL);
    crypto_sign_detached(sig, NULL, (const uint8_t *)text, n, k->sk);
    sodium_bin2base64(k64, sizeof k64, k->pk, 32, sodium_base64_VARIANT_ORIGINAL);
    sodium_bin2base64(s64, sizeof s64, sig, 64, sodium_base64_VARIANT_ORIGINAL);
    snprintf(out, cap, "Authorization: Homthu-Device key=\"%s\", ts=\"%s\", sig=\"%s\"", k64, ts,
             s64);
}

/* A kiosk's tips, one after the other: POST, then PATCH of the whole envelope. */
static void *kiosk_run(void *arg)
{
    struct kiosk *k = arg;
    CURL *c = curl_easy_init();
    char url[256], auth[400], len[64], md[120], b64[64], path[128], hex[33], lenh[80];
    for (int i = 0; i < TIPS_PER_KIOSK; i++) {
        struct tip *t = &k->tips[i];
        sodium_bin2hex(hex, sizeof hex, t->id, 16);
        snprintf(len, sizeof len, "%zu", t->n);
        sodium_bin2base64(b64, sizeof b64, (const uint8_t *)hex, 32,
                          sodium_base64_VARIANT_ORIGINAL);
        snprintf(md, sizeof md, "Upload-Metadata: tipid %s", b64);
        authorization(auth, sizeof auth, k, "POST", "/files/", NULL, len);
        snprintf(lenh, sizeof lenh, "Upload-Length: %s", len);
        struct curl_slist *hs = curl_slist_append(NULL, "Expect:");
        hs = curl_slist_append(hs, "Content-Type:");
        hs = curl_slist_append(hs, "Tus-Resumable: 1.0.0");
        hs = curl_slist_append(hs, auth);
        hs = curl_slist_append(hs, md);
        hs = curl_slist_append(hs, lenh);
        snprintf(url, sizeof url, "http://127.0.0.1:%d/files/", k->port);
        path[0] = 0;
        long s = request(c, url, "POST", hs, NULL, 0, path);
        curl_slist_free_all(hs);
        if (s != 201 || !path[0]) {
            k->failed++;
            continue;
        }
        authorization(auth, sizeof auth, k, "PATCH", path, "0", NULL);
        hs = curl_slist_append(NULL, "Expect:");
        hs = curl_slist_append(hs, "Tus-Resumable: 1.0.0");
        hs = curl_slist_append(hs, auth);
        hs = curl_slist_append(hs, "Upload-Offset: 0");
        hs = curl_slist_append(hs, "Content-Type: application/offset+octet-stream");
        snprintf(url, sizeof url, "http://127.0.0.1:%d%s", k->port, path);
        s = request(c, url, "PATCH", hs, t->p, t->n, NULL);
        curl_slist_free_all(hs);
        s == 204 ? k->ok++ : k->failed++;
    }
    curl_easy_cleanup(c);
    return NULL;
}

/*
 * All kiosks at once, kiosk i against ports[i % nports]; uploads/s, with
 * `ok` the uploads answered 204.
 */
static double run_kiosks_on(struct kiosk *ks, const int *ports, int nports, int *ok)
{
    pthread_t th[KIOSKS];
    for (int i = 0; i < KIOSKS; i++) {
        ks[i].port = ports[i % nports];
        ks[i].ok = ks[i].failed = 0;
        ks[i].ts0 = (int64_t)time(NULL) - 300;
        ks[i].seq = 0;
    }
    double t0 = bench_now();
    for (int i = 0; i < KIOSKS; i++)
        pthread_create(&th[i], NULL, kiosk_run, &ks[i]);
    for (int i = 0; i < KIOSKS; i++)
        pthread_join(th[i], NULL);
    double dt = bench_now() - t0;
    *ok = 0;
    for (int i = 0; i < KIOSKS; i++)
        *ok += ks[i].ok;
    return *ok / dt;
}

static double run_kiosks(struct kiosk *ks, int port, int *ok)
{
    return run_kiosks_on(ks, &port, 1, ok);
}

/* ---- the servers ---- */

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

/* Fork and exec argv under the fsync shim, stderr and stdout to `log`. */
static pid_t spawn(char *const argv[], const char *cwd, const char *log, const char *shim,
                   int delay_ms, const char *count_file)
{
    pid_t pid = fork();
    if (pid == 0) {
        char d[16];
        snprintf(d, sizeof d, "%d", delay_ms);
        setenv("LD_PRELOAD", shim, 1);
        setenv("HOMTHU_FSYNC_DELAY_MS", d, 1);
        setenv("HOMTHU_FSYNC_COUNT_FILE", count_file, 1);
        if (chdir(cwd) != 0 || !freopen(log, "w", stderr) || dup2(fileno(stderr), 1) < 0)
            _exit(126);
        execvp(argv[0], argv);
        _exit(127);
    }
    if (pid > 0)
        child_add(pid);
    return pid;
}

/* Wait for a line holding `key` in `path` (the server's start); the number after it. */
static int wait_port(const char *path, const char *key, pid_t pid)
{
    for (int i = 0; i < 3000; i++) { /* 30 s guard: a slow start on a busy machine */
        FILE *f = fopen(path, "r");
        char line[512];
        int port = 0;
        while (f && fgets(line, sizeof line, f)) {
            char *p = strstr(line, key);
            if (p)
                port = atoi(p + strlen(key));
        }
        if (f)
            fclose(f);
        if (port > 0)
            return port;
        if (waitpid(pid, NULL, WNOHANG) == pid)
            return 0;
        usleep(10000);
    }
    return 0;
}

static long read_count(const char *path)
{
    FILE *f = fopen(path, "r");
    long n = -1;
    if (f && fscanf(f, "%ld", &n) != 1)
        n = -1;
    if (f)
        fclose(f);
    return n;
}

struct run {
    double rate;
    int ok;
    long fsyncs;  /* -1: not known */
    long commits; /* the relay's own count of its transactions (its log); -1: none */
    long hwm_kb;
};

/* "store: W writes in C commits", the relay's last words: C, or -1. */
static long read_commits(const char *log)
{
    FILE *f = fopen(log, "r");
    char line[512];
    long c = -1, w;
    while (f && fgets(line, sizeof line, f)) {
        const char *p = strstr(line, "store: ");
        if (p && sscanf(p, "store: %ld writes in %ld commits", &w, &c) != 2)
            c = -1;
    }
    if (f)
        fclose(f);
    return c;
}

/* `rel` made absolute: the children start in their own folders. */
static void absolute(char *out, size_t cap, const char *rel)
{
    char cwd[512];
    if (rel[0] != '/' && getcwd(cwd, sizeof cwd))
        snprintf(out, cap, "%s/%s", cwd, rel);
    else
        snprintf(out, cap, "%s", rel);
}

static const char *shim_path(void)
{
    static char p[700];
    char rel[600];
    snprintf(rel, sizeof rel, "%s/shims/fsync_delay.so", bench_build());
    absolute(p, sizeof p, rel);
    return p;
}

static int run_relay(struct kiosk *ks, const char *relay_bin, int delay, int n, struct run *out)
{
    char d[400], conf[500], log[500], count[500];
    snprintf(d, sizeof d, "%s/relay-%d", dir, n);
    snprintf(conf, sizeof conf, "%s/relay.conf", d);
    snprintf(log, sizeof log, "%s/relay.log", d);
    snprintf(count, sizeof count, "%s/fsyncs", d);
    if (mkdir(d, 0700) != 0)
        return -1;
    FILE *f = fopen(conf, "w");
    if (!f)
        return -1;
    fprintf(f,
            "listen = 127.0.0.1:0\ndatabase = relay.db\nregistry = %s/registry.db\n"
            "post_token = %s\ndevice_requests_per_minute = 1000000\n",
            dir, TOKEN);
    fclose(f);
    char *argv[] = {(char *)relay_bin, "--config", conf, NULL};
    pid_t pid = spawn(argv, d, log, shim_path(), delay, count);
    if (pid < 0)
        return -1;
    int port = wait_port(log, "(port ", pid);
    if (!port) {
        fprintf(stderr, "bench_relay: the relay did not start (see %s)\n", log);
        child_stop(pid);
        return -1;
    }
    out->rate = run_kiosks(ks, port, &out->ok);
    out->hwm_kb = vm_hwm_kb(pid);
    int clean = child_stop(pid);
    out->fsyncs = clean == 0 ? read_count(count) : -1;
    out->commits = clean == 0 ? read_commits(log) : -1;
    return 0;
}

static int run_tus(struct kiosk *ks, const char *script, int delay, int n, struct run *out)
{
    char d[400], store[500], log[500], count[500], portfile[500];
    snprintf(d, sizeof d, "%s/tus-%d", dir, n);
    snprintf(store, sizeof store, "%s/store", d);
    snprintf(log, sizeof log, "%s/node.log", d);
    snprintf(count, sizeof count, "%s/fsyncs", d);
    snprintf(portfile, sizeof portfile, "%s/port", d);
    if (mkdir(d, 0700) != 0 || mkdir(store, 0700) != 0)
        return -1;
    char *argv[] = {"node", (char *)script, store, portfile, NULL};
    pid_t pid = spawn(argv, d, log, shim_path(), delay, count);
    if (pid < 0)
        return -1;
    int port = wait_port(portfile, "", pid);
    if (!port) {
        fprintf(stderr, "bench_relay: @tus/server did not start (see %s)\n", log);
        child_stop(pid);
        return -1;
    }
    out->rate = run_kiosks(ks, port, &out->ok);
    out->hwm_kb = vm_hwm_kb(pid);
    int clean = child_stop(pid);
    out->fsyncs = clean == 0 ? read_count(count) : -1;
    out->commits = -1;
    return 0;
}

static uint8_t post_pk[32]; /* the post the tips are sealed to */

#ifdef HOMTHU_HAVE_LIBPQ
/*
 * A fresh province store: the tables dropped (the relay makes them again),
 * then the post (its token's hash, its key id) and the kiosks, as
 * `homthu-relay post-add` and the post's enrolments put them there.
 */
static int pg_prepare(const char *url, const struct kiosk *ks)
{
    PGconn *c = PQconnectdb(url);
    int ok = PQstatus(c) == CONNECTION_OK;
    if (ok) {
        PQclear(PQexec(c, "SET client_min_messages = warning")); /* no "does not exist" notes */
        PGresult *res = PQexec(c, "DROP TABLE IF EXISTS upload, part, heartbeat, homthu_schema, "
                                  "rate, mark, kiosk, post");
        ok = PQresultStatus(res) == PGRES_COMMAND_OK;
        PQclear(res);
    }
    if (!ok)
        fprintf(stderr, "bench_relay: emptying the PostgreSQL database: %s", PQerrorMessage(c));
    PQfinish(c);
    if (!ok)
        return -1;
    struct store *st = NULL;
    char err[512];
    if (store_open(&st, url, NULL, NULL, err, sizeof err)) {
        fprintf(stderr, "bench_relay: %s\n", err);
        return -1;
    }
    uint8_t h[32], kid[ENVELOPE_KEY_ID_BYTES];
    crypto_generichash(h, sizeof h, (const uint8_t *)TOKEN, strlen(TOKEN), NULL, 0);
    envelope_post_key_id(post_pk, kid);
    int rc = st->ops->post_add(st, "bench", h, kid, (int64_t)time(NULL));
    for (int i = 0; i < KIOSKS && rc == 0; i++) {
        char id[32];
        snprintf(id, sizeof id, "kiosk-%02d", i);
        rc = st->ops->device_enrol(st, "bench", id, ks[i].pk, (int64_t)time(NULL));
    }
    if (rc)
        fprintf(stderr, "bench_relay: adding the post and its kiosks: %s\n", st->ops->errmsg(st));
    st->ops->close(st);
    return rc ? -1 : 0;
}

/* The relay on PostgreSQL at `url`, `nodes` processes, the kiosks split between them. */
static int run_pg(struct kiosk *ks, const char *relay_bin, const char *url, int delay, int n,
                  int nodes, struct run *out)
{
    pid_t pids[2] = {0, 0};
    int ports[2] = {0, 0}, rc = -1;
    char logs[2][500];
    if (pg_prepare(url, ks))
        return -1;
    for (int k = 0; k < nodes; k++) {
        char d[400], conf[500], count[500];
        snprintf(d, sizeof d, "%s/pg-%d-%d", dir, n, k);
        snprintf(conf, sizeof conf, "%s/relay.conf", d);
        snprintf(logs[k], sizeof logs[k], "%s/relay.log", d);
        snprintf(count, sizeof count, "%s/fsyncs", d);
        FILE *f = mkdir(d, 0700) == 0 ? fopen(conf, "w") : NULL;
        if (!f)
            goto out;
        fprintf(f, "listen = 127.0.0.1:0\ndatabase = %s\ndevice_requests_per_minute = 1000000\n",
                url);
        fclose(f);
        char *argv[] = {(char *)relay_bin, "--config", conf, NULL};
        pids[k] = spawn(argv, d, logs[k], shim_path(), delay, count);
        if (pids[k] < 0 || !(ports[k] = wait_port(logs[k], "(port ", pids[k]))) {
            fprintf(stderr, "bench_relay: a relay node on PostgreSQL did not start (see %s)\n",
                    logs[k]);
            goto out;
        }
    }
    out->rate = run_kiosks_on(ks, ports, nodes, &out->ok);
    out->hwm_kb = 0;
    for (int k = 0; k < nodes; k++)
        out->hwm_kb += vm_hwm_kb(pids[k]);
    /* The database's flushes are the servers' (not counted); the nodes' own commits are. */
    out->fsyncs = -1;
    out->commits = 0;
    for (int k = 0; k < nodes; k++) {
        int clean = child_stop(pids[k]);
        pids[k] = 0;
        long c = clean == 0 ? read_commits(logs[k]) : -1;
        out->commits = out->commits >= 0 && c >= 0 ? out->commits + c : -1;
    }
    rc = 0;
out:
    for (int k = 0; k < nodes; k++)
        if (pids[k] > 0)
            child_stop(pids[k]);
    return rc;
}
#endif

/* build/interop/bench-tus-server.mjs, or "" with the reason printed. */
static int tus_setup(char *script, size_t cap)
{
    const char *root = getenv("HOMTHU_ROOT");
    root = root && *root ? root : ".";
    char cmd[1200];
    snprintf(cmd, sizeof cmd, "'%s/tools/interop-deps.sh' '%s/build/interop' >/dev/null 2>&1", root,
             root);
    if (system(cmd) != 0) {
        printf("  @tus/server: cannot be installed (tools/interop-deps.sh failed): no baseline\n");
        return -1;
    }
    snprintf(script, cap, "%s/build/interop/bench-tus-server.mjs", root);
    FILE *f = fopen(script, "w");
    if (!f)
        return -1;
    /* Stock @tus/server + FileStore; SIGTERM exits normally so the shim can count. */
    fputs("import http from 'node:http';\n"
          "import fs from 'node:fs';\n"
          "import { Server } from '@tus/server';\n"
          "import { FileStore } from '@tus/file-store';\n"
          "const [store, portFile] = process.argv.slice(2);\n"
          "const tus = new Server({ path: '/files', datastore: new FileStore({ directory: store "
          "}) });\n"
          "const srv = http.createServer((req, res) => tus.handle(req, res));\n"
          "process.on('SIGTERM', () => process.exit(0));\n"
          "srv.listen(0, '127.0.0.1', () => {\n"
          "  fs.writeFileSync(portFile + '.tmp', String(srv.address().port));\n"
          "  fs.renameSync(portFile + '.tmp', portFile);\n"
          "});\n",
          f);
    fclose(f);
    return 0;
}

static void print_row(const char *name, const char *durability, struct run *runs, int n,
                      int total)
{
    double rates[ROUNDS], fs[ROUNDS], mn, md, fmn, fmd;
    int ok = 0, nf = 0;
    long hwm = 0;
    for (int i = 0; i < n; i++) {
        rates[i] = runs[i].rate;
        ok += runs[i].ok;
        if (runs[i].fsyncs >= 0 && runs[i].ok > 0)
            fs[nf++] = (double)runs[i].fsyncs / runs[i].ok;
        if (runs[i].hwm_kb > hwm)
            hwm = runs[i].hwm_kb;
    }
    bench_min_median(rates, n, &mn, &md);
    printf("    %-16s %7.1f / %7.1f uploads/s", name, mn, md);
    if (nf) {
        bench_min_median(fs, nf, &fmn, &fmd);
        printf("   %5.2f / %5.2f fsyncs per upload", fmn, fmd);
    } else {
        printf("   fsyncs not counted           ");
    }
    printf("   %d/%d answered, peak RSS %s KiB\n", ok, total * n, bench_num((uint64_t)hwm));
    /* Group commit: uploads per commit, and what a commit costs in flushes (the shim's count). */
    double up[ROUNDS], fc[ROUNDS];
    int nc = 0;
    for (int i = 0; i < n; i++)
        if (runs[i].commits > 0 && runs[i].fsyncs >= 0) {
            up[nc] = (double)runs[i].ok / runs[i].commits;
            fc[nc++] = (double)runs[i].fsyncs / runs[i].commits;
        }
    if (nc) {
        bench_min_median(up, nc, &mn, &md);
        printf("    %-16s %7.2f / %7.2f uploads per commit", "", mn, md);
        bench_min_median(fc, nc, &mn, &md);
        printf("   %5.2f / %5.2f fsyncs per commit (the relay counts its commits)\n", mn, md);
    } else if (runs[0].commits > 0) {
        for (int i = 0; i < n; i++)
            up[i] = runs[i].commits > 0 ? (double)runs[i].ok / runs[i].commits : 0;
        bench_min_median(up, n, &mn, &md);
        printf("    %-16s %7.2f / %7.2f uploads per commit of the nodes' writers (each request "
               "also\n    %-16s commits its replay mark and rate apart, not waiting for the "
               "disks)\n",
               "", mn, md, "");
    }
    printf("    %-16s durability: %s\n", "", durability);
}

/* "a / b: min / median" of the paired per-round ratios. */
static void print_ratio(const char *a, const char *b, const double *r, int n, const char *note)
{
    double mn, md, v[ROUNDS];
    memcpy(v, r, sizeof(double) * (size_t)n);
    bench_min_median(v, n, &mn, &md);
    printf("    %s / %s, paired per round: %.2f / %.2f%s\n", a, b, mn, md, note);
}

int main(void)
{
    if (sodium_init() < 0 || curl_global_init(CURL_GLOBAL_DEFAULT) != 0)
        return 1;
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    signal(SIGHUP, on_signal);
    atexit(children_kill);
    snprintf(dir, sizeof dir, "%s/homthu-bench-relay-XXXXXX",
             getenv("TMPDIR") && *getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    if (!mkdtemp(dir))
        return 1;
    char path[400], err[512], relay_bin[600], script[700] = "";
    snprintf(path, sizeof path, "%s/homthu-relay", bench_build());
    absolute(relay_bin, sizeof relay_bin, path);
    if (access(relay_bin, X_OK) != 0 || access(shim_path(), R_OK) != 0) {
        fprintf(stderr, "bench_relay: %s or %s missing: run make MODE=release\n", relay_bin,
                shim_path());
        return 1;
    }

    /* The post, 50 enrolled kiosks, their tips. */
    static struct kiosk ks[KIOSKS];
    uint8_t post_sk[32];
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

    printf("relay ingest: %d kiosks at once, %d tips each of %s bytes (POST + one PATCH), "
           "%d rounds;\n  each round runs the relay, then @tus/server, then (%d rounds) the "
           "relay on PostgreSQL\n  with one node and with two, on fresh stores. min / median:\n",
           KIOSKS, TIPS_PER_KIOSK, bench_num(tip_bytes), ROUNDS, PG_ROUNDS);
    int have_tus = tus_setup(script, sizeof script) == 0;
    static const int delays[] = {0, 5};
    /*
     * PostgreSQL, as tests/bench/run.sh started it: one server set per
     * delay (its processes under the same shim), a synchronous standby
     * where HOMTHU_BENCH_PG_SYNC=1.
     */
    const char *sync = getenv("HOMTHU_BENCH_PG_SYNC");
    int pg_sync = sync && strcmp(sync, "1") == 0;
    const char *pg_durability = pg_sync ? "commit on the primary's disk and the synchronous "
                                          "standby's disk before 204"
                                        : "commit on the primary's disk before 204 (no standby "
                                          "could be started)";
    const char *why = getenv("HOMTHU_BENCH_PG_WHY");
#ifndef HOMTHU_HAVE_LIBPQ
    why = "built without libpq";
#endif
    int n = 0;
    for (size_t di = 0; di < sizeof delays / sizeof delays[0]; di++) {
        struct run ours[ROUNDS], tus[ROUNDS], pg1[ROUNDS], pg2[ROUNDS];
        double ratio[ROUNDS], r1s[ROUNDS], r2s[ROUNDS], r1t[ROUNDS], r2t[ROUNDS];
        int nr = 0, np = 0;
        char var[40];
        snprintf(var, sizeof var, "HOMTHU_BENCH_PG_%d", delays[di]);
        const char *pg_url = getenv(var);
        int have_pg = pg_url && *pg_url;
#ifndef HOMTHU_HAVE_LIBPQ
        have_pg = 0;
#endif
        for (int round = 0; round < ROUNDS; round++) {
            if (run_relay(ks, relay_bin, delays[di], n++, &ours[nr]))
                break;
            if (have_tus && run_tus(ks, script, delays[di], n++, &tus[nr])) {
                have_tus = 0;
                printf("  @tus/server failed to run: no baseline from here on\n");
            }
            if (have_tus)
                ratio[nr] = tus[nr].rate > 0 ? ours[nr].rate / tus[nr].rate : 0;
#ifdef HOMTHU_HAVE_LIBPQ
            if (have_pg && round < PG_ROUNDS) {
                if (run_pg(ks, relay_bin, pg_url, delays[di], n++, 1, &pg1[np]) ||
                    run_pg(ks, relay_bin, pg_url, delays[di], n++, 2, &pg2[np])) {
                    have_pg = 0;
                    why = "the relay on it failed to run (see above)";
                } else {
                    r1s[np] = ours[nr].rate > 0 ? pg1[np].rate / ours[nr].rate : 0;
                    r2s[np] = ours[nr].rate > 0 ? pg2[np].rate / ours[nr].rate : 0;
                    r1t[np] = have_tus && tus[nr].rate > 0 ? pg1[np].rate / tus[nr].rate : 0;
                    r2t[np] = have_tus && tus[nr].rate > 0 ? pg2[np].rate / tus[nr].rate : 0;
                    np++;
                }
            }
#endif
            nr++;
        }
        printf("  fsync + %d ms (tests/shims/fsync_delay.so, on every server's process):\n",
               delays[di]);
        if (!nr) {
            printf("    (the relay did not run)\n");
            continue;
        }
        print_row("relay SQLite", "fsync of its SQLite file before 204", ours, nr, total);
        if (have_tus) {
            print_row("@tus/server", "none: no fsync, an acknowledged upload can be lost in a "
                                     "power cut", tus, nr, total);
            double mn, md;
            bench_min_median(ratio, nr, &mn, &md);
            printf("    relay / @tus/server, paired per round: %.2f / %.2f  (goal >= 1.00 at "
                   "+5 ms; @tus/server keeps nothing durable)\n",
                   mn, md);
        }
        if (np) {
            print_row("relay PG 1 node", pg_durability, pg1, np, total);
            print_row("relay PG 2 nodes", pg_durability, pg2, np, total);
            print_ratio("relay PG 1 node", "relay SQLite", r1s, np, "");
            print_ratio("relay PG 2 nodes", "relay SQLite", r2s, np,
                        "  (the kiosks split between the nodes)");
            if (have_tus) {
                print_ratio("relay PG 1 node", "@tus/server", r1t, np, "");
                print_ratio("relay PG 2 nodes", "@tus/server", r2t, np, "");
            }
        } else {
            printf("    relay on PostgreSQL: not measured (%s)\n",
                   why && *why ? why
                               : "tests/bench/run.sh starts PostgreSQL for it: run make bench");
        }
    }

    for (int i = 0; i < KIOSKS; i++)
        for (int j = 0; j < TIPS_PER_KIOSK; j++)
            free(ks[i].tips[j].p);
    children_kill();
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "bench_relay: could not remove %s\n", dir);
    curl_global_cleanup();
    return 0;
}
