/*
 * bench — what the benchmark programs share: a clock and the test speech.
 * Header-only (static inline) because each bench_*.c links alone against
 * the library. Benchmarks print figures; they never fail on a number.
 */
#ifndef HOMTHU_BENCH_H
#define HOMTHU_BENCH_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define BENCH_SPEECH_SECONDS 60
#define BENCH_SPEECH_SAMPLES (BENCH_SPEECH_SECONDS * 16000)

static inline double bench_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static inline int bench_cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/*
 * Minimum and median of n samples (sorts v in place). Figures are printed as
 * "min/median" of repeated runs: the minimum is what the code costs, the
 * median what a user usually waits on a busy machine.
 */
static inline void bench_min_median(double *v, int n, double *min, double *median)
{
    qsort(v, (size_t)n, sizeof *v, bench_cmp_double);
    *min = n ? v[0] : 0;
    *median = n == 0 ? 0 : n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static inline const char *bench_build(void)
{
    const char *b = getenv("HOMTHU_BUILD");
    return b && *b ? b : "build/release";
}

/*
 * The 60 s of espeak-ng Vietnamese the tests use (tests/speech.sh), from
 * $HOMTHU_BUILD/fixtures/, made there when missing. Caller frees. Exits
 * with a message when it cannot be had: no figure is worth a fake input.
 */
static inline int16_t *bench_speech(void)
{
    char path[4096], cmd[8400];
    snprintf(path, sizeof path, "%s/fixtures/speech-vi-60s.raw", bench_build());
    FILE *f = fopen(path, "rb");
    if (!f) {
        const char *root = getenv("HOMTHU_ROOT");
        snprintf(cmd, sizeof cmd, "sh '%s/tests/speech.sh' '%s'", root && *root ? root : ".", path);
        if (system(cmd) != 0) {
            fprintf(stderr, "bench: cannot make the test speech (%s)\n", cmd);
            exit(1);
        }
        f = fopen(path, "rb");
    }
    int16_t *pcm = malloc(BENCH_SPEECH_SAMPLES * sizeof *pcm);
    if (!f || !pcm || fread(pcm, sizeof *pcm, BENCH_SPEECH_SAMPLES, f) != BENCH_SPEECH_SAMPLES) {
        fprintf(stderr, "bench: %s is missing or short\n", path);
        exit(1);
    }
    fclose(f);
    return pcm;
}

/* Group digits by thousands for reading: 1920000 -> "1,920,000". */
static inline const char *bench_num(uint64_t v)
{
    static char bufs[8][32];
    static int slot;
    char tmp[32], *out = bufs[slot++ % 8];
    int n = snprintf(tmp, sizeof tmp, "%llu", (unsigned long long)v), j = 0;
    for (int i = 0; i < n; i++) {
        if (i && (n - i) % 3 == 0)
            out[j++] = ',';
        out[j++] = tmp[i];
    }
    out[j] = 0;
    return out;
}

#endif
