/*
 * fsync_delay — an LD_PRELOAD shim that makes this disk as slow to flush as
 * an SD card or a cheap VPS: every fsync() and fdatasync() sleeps
 * HOMTHU_FSYNC_DELAY_MS milliseconds (0 when unset), then does the real one.
 * With HOMTHU_FSYNC_COUNT_FILE set, the number of calls is written there
 * when the process exits normally: how often the program really flushed.
 * Used by tests/bench/bench_relay.c.
 */
#include <dlfcn.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static atomic_long calls;

static void delay(void)
{
    atomic_fetch_add(&calls, 1);
    const char *s = getenv("HOMTHU_FSYNC_DELAY_MS");
    long ms = s ? atol(s) : 0;
    if (ms <= 0)
        return;
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0)
        ;
}

int fsync(int fd)
{
    static int (*real)(int);
    if (!real)
        real = (int (*)(int))dlsym(RTLD_NEXT, "fsync");
    delay();
    return real(fd);
}

int fdatasync(int fd)
{
    static int (*real)(int);
    if (!real)
        real = (int (*)(int))dlsym(RTLD_NEXT, "fdatasync");
    delay();
    return real(fd);
}

__attribute__((destructor)) static void report(void)
{
    const char *path = getenv("HOMTHU_FSYNC_COUNT_FILE");
    if (!path || !*path)
        return;
    FILE *f = fopen(path, "w");
    if (!f)
        return;
    fprintf(f, "%ld\n", atomic_load(&calls));
    fclose(f);
}
