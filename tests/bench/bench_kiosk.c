/*
 * bench_kiosk — the kiosk as the person and the Pi feel it, headless, timed
 * from outside the way a user waits:
 *   - start: the real homthu-kiosk from exec to READY=1 on $NOTIFY_SOCKET,
 *     which it sends once its first frame is presented (app_run);
 *   - the whole "send" tap: from the touch event until the "sent" screen is
 *     drawn and presented, the tip durable (goal <= 20 ms, whatever the length);
 *   - CPU while idle on the start screen (goal <= 1 % of a core);
 *   - peak RSS over a 3-minute recording (goal <= 60 MB).
 * SDL's offscreen driver stands in for KMSDRM, with SDL's own choice of
 * renderer (Mesa is probed as on the Pi; nothing forces software).
 * Each figure is min/median of paired runs against a baseline doing the
 * same work in the same run: a minimal SDL program (this binary re-executed
 * with --sdl-frame) and plain SQLite commits of the same count and size.
 * Nothing here fails on a number (these machines are shared and noisy).
 * Every child is ended and waited for; the work directory (under
 * $HOMTHU_BUILD, on the build's disk, so that fsync is a real one) goes.
 */
#include <SDL.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <sodium.h>
#include <spawn.h>
#include <sqlite3.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench.h"
#include "core/keys.h"
#include "core/queue.h"
#include "kiosk/app.h"
#include "kiosk/kiosk.h"
#include "kiosk/ui.h"
#include "kiosk/watchdog.h"

extern char **environ;

#define W 800
#define H 480
#define START_PAIRS 15
#define SHORT_PAIRS 9
#define LONG_PAIRS 5
#define IDLE_SECONDS 20.0

static char dir[PATH_MAX];
static char conf[PATH_MAX + 16];
static char self[PATH_MAX];
static char kiosk_bin[PATH_MAX];
static char assets[PATH_MAX];
static char renderer[160] = "?";

/* ------------------------------------------------------------------ */
/* children: started, waited for, and never left behind                */

#define MAX_CHILDREN 4
static pid_t children[MAX_CHILDREN];

static void kill_children(void)
{
    for (int i = 0; i < MAX_CHILDREN; i++)
        if (children[i] > 0) {
            kill(children[i], SIGKILL);
            waitpid(children[i], NULL, 0);
            children[i] = 0;
        }
}

/* Interrupted: the same cleanup with async-signal-safe calls only. */
static void on_signal(int sig)
{
    for (int i = 0; i < MAX_CHILDREN; i++)
        if (children[i] > 0) {
            kill(children[i], SIGKILL);
            waitpid(children[i], NULL, 0);
        }
    pid_t rm = dir[0] ? fork() : -1;
    if (rm == 0) {
        execl("/bin/rm", "rm", "-rf", dir, (char *)NULL);
        _exit(127);
    }
    if (rm > 0)
        waitpid(rm, NULL, 0);
    signal(sig, SIG_DFL);
    raise(sig);
}

/* Start argv with stdout and stderr into files of the work directory. */
static pid_t spawn(char *const argv[], const char *out_name, const char *err_name)
{
    char out[PATH_MAX + 32], errp[PATH_MAX + 32];
    snprintf(out, sizeof out, "%s/%s", dir, out_name);
    snprintf(errp, sizeof errp, "%s/%s", dir, err_name);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 1, out, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    posix_spawn_file_actions_addopen(&fa, 2, errp, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    pid_t pid;
    int rc = posix_spawn(&pid, argv[0], &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    if (rc != 0) {
        fprintf(stderr, "bench_kiosk: cannot start %s: %s\n", argv[0], strerror(rc));
        return -1;
    }
    for (int i = 0; i < MAX_CHILDREN; i++)
        if (children[i] <= 0) {
            children[i] = pid;
            break;
        }
    return pid;
}

/* Wait up to timeout_s for pid to end (then SIGKILL); its exit status. */
static int reap(pid_t pid, double timeout_s)
{
    int fd = (int)syscall(SYS_pidfd_open, pid, 0), status = -1;
    if (fd >= 0) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, (int)(timeout_s * 1000)) <= 0)
            kill(pid, SIGKILL);
        close(fd);
    } else {
        kill(pid, SIGKILL);
    }
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    for (int i = 0; i < MAX_CHILDREN; i++)
        if (children[i] == pid)
            children[i] = 0;
    return status;
}

static int stop(pid_t pid)
{
    kill(pid, SIGTERM);
    return reap(pid, 10);
}

static void show_file(const char *name)
{
    char path[PATH_MAX + 32], line[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "r");
    while (f && fgets(line, sizeof line, f))
        fprintf(stderr, "    | %s", line);
    if (f)
        fclose(f);
}

/* A field of /proc/PID/status, in kB; -1 when it cannot be read. */
static long proc_kb(pid_t pid, const char *key)
{
    char path[64], line[256], fmt[64];
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    snprintf(fmt, sizeof fmt, "%s: %%ld kB", key);
    FILE *f = fopen(path, "r");
    long kb = -1;
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, fmt, &kb) == 1)
            break;
    if (f)
        fclose(f);
    return kb;
}

/* CPU time of every thread of pid so far, in seconds (/proc/PID/stat). */
static double proc_cpu(pid_t pid)
{
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "r");
    size_t n = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
    if (f)
        fclose(f);
    buf[n] = 0;
    char *p = strrchr(buf, ')'); /* the name may hold spaces */
    unsigned long long ut, st;
    if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2)
        return -1;
    return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

/* ------------------------------------------------------------------ */
/* the notify socket: what systemd would hear                          */

static int notify_fd = -1;

static int notify_listen(void)
{
    char name[108];
    unsigned char r[6];
    randombytes_buf(r, sizeof r);
    /* Abstract namespace: nothing on the file system to leave behind. */
    snprintf(name, sizeof name, "@homthu-bench-kiosk-%d-%02x%02x%02x%02x%02x%02x", (int)getpid(),
             r[0], r[1], r[2], r[3], r[4], r[5]);
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    size_t n = strlen(name);
    memcpy(a.sun_path, name, n);
    a.sun_path[0] = 0;
    notify_fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (notify_fd < 0 || bind(notify_fd, (struct sockaddr *)&a,
                              (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n)) != 0) {
        perror("bench_kiosk: notify socket");
        return -1;
    }
    setenv("NOTIFY_SOCKET", name, 1);
    return 0;
}

/* Throw away datagrams of processes already gone. */
static void notify_drain(void)
{
    char buf[512];
    while (recv(notify_fd, buf, sizeof buf, MSG_DONTWAIT) > 0)
        ;
}

/* Wait for a datagram holding READY=1 from pid; the time it came, or -1. */
static double wait_ready(pid_t pid, double timeout_s)
{
    double until = bench_now() + timeout_s;
    for (;;) {
        int left = (int)((until - bench_now()) * 1000);
        if (left <= 0)
            return -1;
        /* Look every 100 ms whether it ended without READY (left unreaped). */
        siginfo_t si = {0};
        if (waitid(P_PID, (id_t)pid, &si, WEXITED | WNOHANG | WNOWAIT) == 0 && si.si_pid == pid)
            return -1;
        struct pollfd p = {.fd = notify_fd, .events = POLLIN};
        if (poll(&p, 1, left < 100 ? left : 100) <= 0)
            continue;
        double t = bench_now();
        char buf[512];
        ssize_t n = recv(notify_fd, buf, sizeof buf - 1, MSG_DONTWAIT);
        if (n <= 0)
            continue;
        buf[n] = 0;
        if (strstr(buf, "READY=1"))
            return t;
    }
}

/* ------------------------------------------------------------------ */
/* the baseline: a minimal SDL program (this binary, --sdl-frame)       */

static volatile sig_atomic_t sdl_quit;

static void on_term(int sig)
{
    (void)sig;
    sdl_quit = 1;
}

/*
 * Open a window the kiosk's size on the same driver, draw and present one
 * frame, tell $NOTIFY_SOCKET READY=1 as the kiosk does, then idle as an SDL
 * program that answers a touch within 25 ms (the kiosk's polling) must.
 */
static int sdl_frame_main(void)
{
    char err[256] = "";
    struct watchdog *wd = NULL;
    if (watchdog_open(&wd, err, sizeof err) != 0 || SDL_Init(SDL_INIT_VIDEO) != 0) {
        fprintf(stderr, "sdl-frame: %s %s\n", err, SDL_GetError());
        return 1;
    }
    signal(SIGTERM, on_term);
    SDL_Window *win = SDL_CreateWindow("baseline", SDL_WINDOWPOS_CENTERED, SDL_WINDOWPOS_CENTERED,
                                       W, H, SDL_WINDOW_SHOWN);
    SDL_Renderer *ren = win ? SDL_CreateRenderer(win, -1, 0) : NULL;
    if (!ren) {
        fprintf(stderr, "sdl-frame: %s\n", SDL_GetError());
        return 1;
    }
    SDL_SetRenderDrawColor(ren, 0x07, 0x5e, 0x26, 255);
    SDL_RenderClear(ren);
    SDL_Rect r = {W / 4, H / 4, W / 2, H / 2};
    SDL_SetRenderDrawColor(ren, 255, 255, 255, 255);
    SDL_RenderFillRect(ren, &r);
    SDL_RenderPresent(ren);
    watchdog_ready(wd);
    /* Which renderer and GL driver SDL picked, for the printout. */
    SDL_RendererInfo info;
    const unsigned char *(*gl_string)(unsigned) =
        SDL_GL_GetCurrentContext()
            ? (const unsigned char *(*)(unsigned))SDL_GL_GetProcAddress("glGetString")
            : NULL;
    const unsigned char *gl = gl_string ? gl_string(0x1F01 /* GL_RENDERER */) : NULL;
    if (SDL_GetRendererInfo(ren, &info) == 0)
        printf("%s%s%s\n", info.name, gl ? " on " : "", gl ? (const char *)gl : "");
    fflush(stdout);
    while (!sdl_quit) {
        SDL_Event e;
        while (SDL_PollEvent(&e))
            if (e.type == SDL_QUIT)
                sdl_quit = 1;
        SDL_Delay(25);
    }
    SDL_DestroyRenderer(ren);
    SDL_DestroyWindow(win);
    SDL_Quit();
    watchdog_free(wd);
    return 0;
}

/* ------------------------------------------------------------------ */
/* one "send" tap, in a child of its own (--tap-send SECONDS)           */

/* Draw whatever changed, as the kiosk's loop would, until nothing does. */
static void settle(struct app *a)
{
    for (int i = 0; i < 50; i++) {
        uint64_t f = app_frames(a);
        app_step(a, 0);
        if (app_frames(a) == f && i > 0)
            break;
    }
}

static void tap(struct app *a, const char *label)
{
    int x, y;
    settle(a);
    if (ui_find(app_ui(a), label, &x, &y) == 0)
        app_tap(a, x, y);
}

struct newest {
    struct queue_tip t;
    int found;
};

static int keep_newest(void *ctx, const struct queue_tip *t)
{
    struct newest *n = ctx;
    n->t = *t; /* oldest first: the last one seen is the newest */
    n->found = 1;
    return 0;
}

static struct newest newest_tip(struct app *a)
{
    struct newest n = {0};
    if (queue_foreach(app_queue(a), keep_newest, &n) != 0)
        n.found = 0;
    return n;
}

/*
 * Record `seconds` of speech, stop, keep, skip the text; then a finger on
 * "send" goes in as SDL input and the kiosk's own loop turns until the
 * "sent" screen is presented. Prints one RESULT line for the parent. A
 * process of its own, so that its peak RSS is the kiosk's, not the bench's.
 */
static int tap_send_main(double seconds)
{
    char err[512];
    struct app *a;
    struct app_opts o = {
        .config_path = conf, .assets_dir = assets, .window = 1, .width = W, .height = H};
    if (app_open(&a, &o, err, sizeof err) != 0) {
        fprintf(stderr, "tap-send: %s\n", err);
        return 1;
    }
    settle(a);
    long hwm_start = proc_kb(getpid(), "VmHWM");
    tap(a, "start");
    tap(a, "lang:vi");
    tap(a, "cat:2");
    tap(a, "record");
    double until = bench_now() + 120;
    while (kiosk_seconds(app_kiosk(a)) < seconds && kiosk_recording(app_kiosk(a)) &&
           bench_now() < until)
        app_step(a, 5);
    if (kiosk_seconds(app_kiosk(a)) < seconds) {
        fprintf(stderr, "tap-send: the recording stopped at %.1f s on screen %s\n",
                kiosk_seconds(app_kiosk(a)), ui_screen_name(ui_screen(app_ui(a))));
        app_close(a);
        return 1;
    }
    tap(a, "stop");
    tap(a, "keep");
    tap(a, "text_done");
    settle(a);
    int x, y;
    struct newest before = newest_tip(a);
    if (ui_find(app_ui(a), "send", &x, &y) != 0 || !before.found) {
        fprintf(stderr, "tap-send: no \"send\" on screen %s\n",
                ui_screen_name(ui_screen(app_ui(a))));
        app_close(a);
        return 1;
    }
    SDL_PumpEvents();
    SDL_FlushEvents(SDL_FIRSTEVENT, SDL_LASTEVENT);
    SDL_Event e = {.type = SDL_FINGERDOWN};
    e.tfinger.x = (x + 0.5f) / W;
    e.tfinger.y = (y + 0.5f) / H;
    e.tfinger.pressure = 1;
    uint64_t frames = app_frames(a);
    double t0 = bench_now();
    SDL_PushEvent(&e);
    int sent = 0;
    for (int i = 0; i < 100 && !sent; i++) {
        app_step(a, 0);
        sent = strcmp(ui_screen_name(ui_screen(app_ui(a))), "sent") == 0 && app_frames(a) > frames;
    }
    /* The tap ends when its screen is presented (app_step goes on to play
       the prompt after that). On a GL renderer the present returns before
       the pixels are done: they are finished at the next frame, which
       waits for them, so this can read a few ms short on llvmpipe. */
    double t = app_last_frame_at(a) - t0;
    struct newest after = newest_tip(a);
    long hwm = proc_kb(getpid(), "VmHWM");
    int same = after.found && memcmp(after.t.id, before.t.id, 16) == 0;
    if (!sent || !same || after.t.state != QUEUE_SEALED) {
        fprintf(stderr, "tap-send: after the tap: screen %s, tip %s\n",
                ui_screen_name(ui_screen(app_ui(a))),
                same ? queue_state_name(after.t.state) : "not found");
        app_close(a);
        return 1;
    }
    /* Each chunk is a commit of its own, and so is the trailer (queue.h). */
    printf("RESULT %.6f %.6f %u %llu %ld %ld\n", t, kiosk_last_send_ms(app_kiosk(a)) / 1e3,
           after.t.chunks - before.t.chunks + 1,
           (unsigned long long)(after.t.bytes - before.t.bytes), hwm_start, hwm);
    app_close(a);
    return 0;
}

/* ------------------------------------------------------------------ */
/* the durable baseline: plain SQLite commits                          */

/*
 * `commits` transactions of `bytes` in all, into a database of its own in
 * the queue's directory, with the queue's durability pragmas: WAL,
 * synchronous=FULL, secure_delete. Seconds, or -1.
 */
static double plain_commits(int commits, uint64_t bytes)
{
    char path[PATH_MAX + 32];
    snprintf(path, sizeof path, "%s/baseline.db", dir);
    sqlite3 *db = NULL;
    sqlite3_stmt *ins = NULL;
    double t = -1;
    uint8_t *blob = malloc(bytes + 1);
    if (!blob || sqlite3_open(path, &db) != SQLITE_OK ||
        sqlite3_exec(db,
                     "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;"
                     "PRAGMA secure_delete = ON;"
                     "CREATE TABLE IF NOT EXISTS b (id INTEGER PRIMARY KEY, data BLOB NOT NULL);",
                     NULL, NULL, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(db, "INSERT INTO b (data) VALUES (?1)", -1, &ins, NULL) != SQLITE_OK)
        goto out;
    randombytes_buf(blob, bytes + 1);
    double t0 = bench_now();
    uint64_t left = bytes;
    for (int i = 0; i < commits; i++) {
        uint64_t len = left / (uint64_t)(commits - i);
        left -= len;
        sqlite3_bind_blob(ins, 1, blob, (int)len, SQLITE_STATIC);
        if (sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK ||
            sqlite3_step(ins) != SQLITE_DONE ||
            sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
            goto out;
        sqlite3_reset(ins);
    }
    t = bench_now() - t0;
out:
    if (t < 0)
        fprintf(stderr, "bench_kiosk: baseline commit: %s\n", db ? sqlite3_errmsg(db) : "no db");
    sqlite3_finalize(ins);
    sqlite3_close(db);
    free(blob);
    return t;
}

/* ------------------------------------------------------------------ */
/* the parent                                                          */

static void provision(const char *mic)
{
    char err[256], b64[64], text[PATH_MAX + 256], path[PATH_MAX + 32];
    uint8_t pk[32], sk[32];
    crypto_box_keypair(pk, sk);
    sodium_memzero(sk, sizeof sk);
    struct keys_device *dev;
    snprintf(path, sizeof path, "%s/device.key", dir);
    if (keys_device_generate(&dev, err, sizeof err) ||
        keys_device_save(dev, path, err, sizeof err)) {
        fprintf(stderr, "bench_kiosk: %s\n", err);
        exit(1);
    }
    keys_device_free(dev);
    sodium_bin2base64(b64, sizeof b64, pk, 32, sodium_base64_VARIANT_ORIGINAL);
    snprintf(text, sizeof text,
             "kiosk_id = bench\npost_key = %s\ndevice_key_file = device.key\ndata_dir = %s\n"
             "max_record_seconds = 200\n",
             b64, dir);
    FILE *f = fopen(conf, "w");
    if (!f || fputs(text, f) < 0 || fclose(f) != 0) {
        fprintf(stderr, "bench_kiosk: cannot write %s\n", conf);
        exit(1);
    }
    setenv("SDL_VIDEODRIVER", "offscreen", 1); /* headless stand-in for KMSDRM */
    setenv("SDL_AUDIODRIVER", "disk", 1);
    setenv("SDL_DISKAUDIOFILEIN", mic, 1);
    setenv("SDL_DISKAUDIOFILE", "/dev/null", 1);
    unsetenv("SDL_DISKAUDIODELAY"); /* paced like real devices while idle */
    unsetenv("SDL_RENDER_DRIVER");  /* SDL's own choice, as on the Pi */
    unsetenv("WATCHDOG_USEC");
    /* Built with MODE=asan, the GL stack's unloaded plugins "leak" at every
       exit (tests/run.sh): not ours, and a bench is no leak test. */
    setenv("ASAN_OPTIONS", "detect_leaks=0", 0);
}

static void min_med(double *v, int n, double *mn, double *md)
{
    bench_min_median(v, n, mn, md);
}

/* The real program as systemd starts it, in a window of the panel's size. */
static char *kargv[] = {kiosk_bin,  "--config", conf,      "--assets", assets,
                        "--window", "--size",   "800x480", NULL};
static char *bargv[] = {self, "--sdl-frame", NULL};

/* The kiosk and the minimal SDL program, each from exec to READY=1. */
static void bench_start(long *kiosk_kb, long *base_kb)
{
    double kt[START_PAIRS], bt[START_PAIRS];
    double kkb[START_PAIRS], bkb[START_PAIRS];
    int n = 0;
    for (int i = 0; i < START_PAIRS; i++) {
        double t[2] = {-1, -1};
        long kb[2] = {-1, -1};
        for (int j = 0; j < 2; j++) {
            int which = (i + j) % 2; /* alternate who goes first */
            notify_drain();
            double t0 = bench_now();
            pid_t pid = spawn(which == 0 ? kargv : bargv, "start.out", "start.log");
            if (pid < 0)
                return;
            double ready = wait_ready(pid, 30);
            kb[which] = proc_kb(pid, "VmHWM");
            int st = stop(pid);
            if (ready < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
                fprintf(stderr, "bench_kiosk: %s %s (exit status %d); its log:\n",
                        which == 0 ? "homthu-kiosk" : "the SDL baseline",
                        ready < 0 ? "never said READY=1" : "did not end cleanly", st);
                show_file("start.log");
                return;
            }
            t[which] = ready - t0;
            if (i == 0 && which == 1) {
                char path[PATH_MAX + 32], name[160] = "?";
                snprintf(path, sizeof path, "%s/start.out", dir);
                FILE *f = fopen(path, "r");
                if (f && fgets(name, sizeof name, f))
                    name[strcspn(name, "\n")] = 0;
                if (f)
                    fclose(f);
                snprintf(renderer, sizeof renderer, "%s", name);
            }
        }
        kt[n] = t[0];
        bt[n] = t[1];
        kkb[n] = (double)kb[0];
        bkb[n] = (double)kb[1];
        n++;
    }
    double kmin, kmed, bmin, bmed, x;
    min_med(kt, n, &kmin, &kmed);
    min_med(bt, n, &bmin, &bmed);
    printf("start, exec to first frame presented (READY=1 on NOTIFY_SOCKET, as systemd hears "
           "it), min/median of %d paired runs (no goal in the docs):\n"
           "  homthu-kiosk %.1f/%.1f ms; a minimal SDL program (window %dx%d, same driver, "
           "one frame) %.1f/%.1f ms; ratio of medians %.2f\n"
           "  (SDL_VIDEODRIVER=offscreen; SDL picked %s)\n",
           n, kmin * 1e3, kmed * 1e3, W, H, bmin * 1e3, bmed * 1e3, kmed / bmed, renderer);
    min_med(kkb, n, &x, &kmed);
    min_med(bkb, n, &x, &bmed);
    *kiosk_kb = (long)kmed;
    *base_kb = (long)bmed;
}

/* Both idle at once over the same seconds: the machine's noise is shared. */
static void bench_idle(void)
{
    notify_drain();
    pid_t k = spawn(kargv, "idle-kiosk.out", "idle-kiosk.log");
    double rk = k > 0 ? wait_ready(k, 30) : -1;
    pid_t b = rk > 0 ? spawn(bargv, "idle-base.out", "idle-base.log") : -1;
    double rb = b > 0 ? wait_ready(b, 30) : -1;
    if (rk < 0 || rb < 0) {
        fprintf(stderr, "bench_kiosk: idle: a program never said READY=1\n");
        show_file("idle-kiosk.log");
        show_file("idle-base.log");
        kill_children();
        return;
    }
    double k0 = proc_cpu(k), b0 = proc_cpu(b), w0 = bench_now();
    struct timespec ts = {(time_t)IDLE_SECONDS, 0};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
    double k1 = proc_cpu(k), b1 = proc_cpu(b), w = bench_now() - w0;
    int sk = stop(k), sb = stop(b);
    if (!WIFEXITED(sk) || WEXITSTATUS(sk) != 0 || !WIFEXITED(sb) || WEXITSTATUS(sb) != 0)
        fprintf(stderr, "bench_kiosk: idle: a program did not end cleanly (%d, %d)\n", sk, sb);
    double tick = 1.0 / (double)sysconf(_SC_CLK_TCK);
    printf("idle CPU on the start screen, every thread of the process over the same %.0f s "
           "(goal <= 1 %% of a core):\n"
           "  homthu-kiosk %.2f %%; a minimal SDL program polling input every 25 ms as the "
           "kiosk does %.2f %% (one window, both at once; +-%.2f %%: clock ticks of %.0f ms)\n",
           w, (k1 - k0) / w * 100, (b1 - b0) / w * 100, tick / w * 100, tick * 1e3);
}

struct send_sample {
    double tap, tip_send, base;
    unsigned commits;
    unsigned long long bytes;
    long hwm_start, hwm;
};

static int one_send(double seconds, struct send_sample *s)
{
    char secs[32];
    snprintf(secs, sizeof secs, "%.0f", seconds);
    char *argv[] = {self, "--tap-send", secs, NULL};
    pid_t pid = spawn(argv, "send.out", "send.log");
    if (pid < 0)
        return -1;
    int st = reap(pid, 300);
    char path[PATH_MAX + 32], line[256];
    snprintf(path, sizeof path, "%s/send.out", dir);
    FILE *f = fopen(path, "r");
    int got = 0;
    while (f && !got && fgets(line, sizeof line, f))
        got = sscanf(line, "RESULT %lf %lf %u %llu %ld %ld", &s->tap, &s->tip_send, &s->commits,
                     &s->bytes, &s->hwm_start, &s->hwm) == 6;
    if (f)
        fclose(f);
    if (!got || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
        fprintf(stderr, "bench_kiosk: the \"send\" tap after %s s failed (status %d); its log:\n",
                secs, st);
        show_file("send.log");
        return -1;
    }
    return 0;
}

/*
 * Paired: each tap, then at once the same commits done plainly, so both see
 * the disk in the same mood. The most VmHWM of the runs into *peak_mb (MB)
 * unless NULL.
 */
static void bench_send(double seconds, int pairs, double *peak_mb)
{
    struct send_sample s[LONG_PAIRS > SHORT_PAIRS ? LONG_PAIRS : SHORT_PAIRS];
    double tap[sizeof s / sizeof s[0]], ts[sizeof tap / sizeof tap[0]],
        base[sizeof tap / sizeof tap[0]];
    int n = 0;
    unsigned cmin = UINT_MAX, cmax = 0;
    unsigned long long bmin = ULLONG_MAX, bmax = 0;
    long hwm = 0;
    for (int i = 0; i < pairs && i < (int)(sizeof s / sizeof s[0]); i++) {
        if (one_send(seconds, &s[n]) != 0 ||
            (s[n].base = plain_commits((int)s[n].commits, s[n].bytes)) < 0)
            break;
        tap[n] = s[n].tap;
        ts[n] = s[n].tip_send;
        base[n] = s[n].base;
        cmin = s[n].commits < cmin ? s[n].commits : cmin;
        cmax = s[n].commits > cmax ? s[n].commits : cmax;
        bmin = s[n].bytes < bmin ? s[n].bytes : bmin;
        bmax = s[n].bytes > bmax ? s[n].bytes : bmax;
        hwm = s[n].hwm > hwm ? s[n].hwm : hwm;
        n++;
    }
    if (n == 0)
        return;
    double tmin, tmed, smin, smed, bmn, bmd;
    min_med(tap, n, &tmin, &tmed);
    min_med(ts, n, &smin, &smed);
    min_med(base, n, &bmn, &bmd);
    printf("the whole \"send\" tap after %.0f s of speech, from the touch event to the \"sent\" "
           "screen drawn, the tip durable; min/median of %d paired runs (goal <= 20 ms):\n"
           "  homthu-kiosk %.1f/%.1f ms, of which tip_send (sealing, committing) %.1f/%.1f ms; "
           "plain SQLite commits of the same durable work %.1f/%.1f ms; ratio of medians %.1f\n"
           "  (the same work: %u-%u commits of %llu-%llu bytes in all, WAL, synchronous=FULL, "
           "secure_delete, in the queue's directory)\n",
           seconds, n, tmin * 1e3, tmed * 1e3, smin * 1e3, smed * 1e3, bmn * 1e3, bmd * 1e3,
           bmd > 0 ? tmed / bmd : 0, cmin, cmax, bmin, bmax);
    if (peak_mb)
        *peak_mb = hwm / 1024.0;
}

static void cleanup(void)
{
    kill_children();
    if (!dir[0])
        return;
    char cmd[PATH_MAX + 32];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "bench_kiosk: could not remove %s\n", dir);
    dir[0] = 0;
}

int main(int argc, char **argv)
{
    if (sodium_init() < 0)
        return 1;
    /* The children find the work directory in the environment. */
    if (argc >= 2 && (!strcmp(argv[1], "--sdl-frame") || !strcmp(argv[1], "--tap-send"))) {
        const char *d = getenv("HOMTHU_BENCH_DIR"), *as = getenv("HOMTHU_BENCH_ASSETS");
        if (!d || !as)
            return 2;
        snprintf(dir, sizeof dir, "%s", d);
        snprintf(conf, sizeof conf, "%s/kiosk.conf", dir);
        snprintf(assets, sizeof assets, "%s", as);
        if (!strcmp(argv[1], "--sdl-frame"))
            return sdl_frame_main();
        return argc == 3 ? tap_send_main(atof(argv[2])) : 2;
    }

    const char *root = getenv("HOMTHU_ROOT");
    char build[PATH_MAX], tmpl[PATH_MAX + 32];
    if (!realpath(bench_build(), build) || !realpath("/proc/self/exe", self)) {
        fprintf(stderr, "bench_kiosk: no build directory %s\n", bench_build());
        return 1;
    }
    snprintf(kiosk_bin, sizeof kiosk_bin, "%s/homthu-kiosk", build);
    if (!realpath(root && *root ? root : ".", assets)) {
        fprintf(stderr, "bench_kiosk: no HOMTHU_ROOT\n");
        return 1;
    }
    strncat(assets, "/assets", sizeof assets - strlen(assets) - 1);
    if (access(kiosk_bin, X_OK) != 0) {
        fprintf(stderr, "bench_kiosk: %s is missing: build it first\n", kiosk_bin);
        return 1;
    }
    int16_t *speech = bench_speech();
    snprintf(tmpl, sizeof tmpl, "%s/bench-kiosk-XXXXXX", build);
    if (!mkdtemp(tmpl)) {
        perror("bench_kiosk: mkdtemp");
        return 1;
    }
    snprintf(dir, sizeof dir, "%s", tmpl);
    snprintf(conf, sizeof conf, "%s/kiosk.conf", dir);
    atexit(cleanup);
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    signal(SIGHUP, on_signal);
    signal(SIGPIPE, on_signal);
    setvbuf(stdout, NULL, _IOLBF, 0); /* each figure as it comes, also into a pipe */
    setenv("HOMTHU_BENCH_DIR", dir, 1);
    setenv("HOMTHU_BENCH_ASSETS", assets, 1);

    /* 240 s of speech for the microphone: the 60 s fixture, over and over. */
    char mic[PATH_MAX + 32];
    snprintf(mic, sizeof mic, "%s/mic.raw", dir);
    FILE *m = fopen(mic, "wb");
    for (int i = 0; i < 4 && m; i++)
        fwrite(speech, 2, BENCH_SPEECH_SAMPLES, m);
    if (!m || fclose(m) != 0) {
        fprintf(stderr, "bench_kiosk: cannot write %s\n", mic);
        return 1;
    }
    free(speech);
    provision(mic);
    if (notify_listen() != 0)
        return 1;

    long kiosk_kb = -1, base_kb = -1;
    bench_start(&kiosk_kb, &base_kb);
    bench_idle();

    /* Now minutes of speech in seconds: the disk driver reads unpaced. */
    setenv("SDL_DISKAUDIODELAY", "0", 1);
    unsetenv("NOTIFY_SOCKET");
    double peak = -1;
    bench_send(10, SHORT_PAIRS, NULL);
    bench_send(180, LONG_PAIRS, &peak);
    if (peak >= 0 && (kiosk_kb <= 0 || base_kb <= 0))
        printf("peak RSS (VmHWM) over a 3-minute recording and its \"send\", the most of %d "
               "runs (goal <= 60 MB): %.1f MB (no start runs to compare with)\n",
               LONG_PAIRS, peak);
    else if (peak >= 0)
        printf("peak RSS (VmHWM) over a 3-minute recording and its \"send\", the most of %d "
               "runs (goal <= 60 MB):\n"
               "  %.1f MB; homthu-kiosk at its first frame %.1f MB; a minimal SDL program at its "
               "first frame %.1f MB (medians of the start runs); so the kiosk's own share is "
               "%.1f MB at start and %.1f MB at the peak\n",
               LONG_PAIRS, peak, kiosk_kb / 1024.0, base_kb / 1024.0, (kiosk_kb - base_kb) / 1024.0,
               peak - base_kb / 1024.0);
    close(notify_fd);
    return 0;
}
