/* check — see check.h. */
#include "check.h"

#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAX_TESTS 512

static struct {
    const char *name;
    check_fn fn;
} tests[MAX_TESTS];
static int ntests;
static jmp_buf failed;
static char dir[4096];

void check_register(const char *name, check_fn fn)
{
    if (ntests == MAX_TESTS) {
        fprintf(stderr, "check: too many tests, raise MAX_TESTS\n");
        exit(2);
    }
    tests[ntests].name = name;
    tests[ntests].fn = fn;
    ntests++;
}

void check_fail(const char *file, int line, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "    %s:%d: ", file, line);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    longjmp(failed, 1);
}

const char *check_dir(void)
{
    if (!dir[0]) {
        const char *tmp = getenv("TMPDIR");
        snprintf(dir, sizeof dir, "%s/homthu-test-XXXXXX", tmp && *tmp ? tmp : "/tmp");
        if (!mkdtemp(dir)) {
            perror("check: mkdtemp");
            exit(2);
        }
    }
    return dir;
}

const char *check_path(const char *name)
{
    static char bufs[8][4200];
    static int slot;
    char *b = bufs[slot++ % 8];
    snprintf(b, sizeof bufs[0], "%s/%s", check_dir(), name);
    return b;
}

const char *check_build(void)
{
    const char *b = getenv("HOMTHU_BUILD");
    return b && *b ? b : "build/debug";
}

int check_time_scale(void)
{
    const char *s = getenv("HOMTHU_TIME_SCALE");
    int n = s ? atoi(s) : 1;
    return n < 1 ? 1 : n > 50 ? 50 : n;
}

uint8_t *check_slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 65536, n = 0;
    uint8_t *buf = malloc(cap);
    size_t got;
    while (buf && (got = fread(buf + n, 1, cap - n, f)) > 0) {
        n += got;
        if (n == cap) {
            uint8_t *nb = realloc(buf, cap *= 2);
            if (!nb) {
                free(buf);
                buf = NULL;
            }
            buf = nb;
        }
    }
    fclose(f);
    if (len)
        *len = n;
    return buf;
}

void check_write_file(const char *path, const void *bytes, size_t len)
{
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(bytes, 1, len, f) != len || fclose(f) != 0)
        check_fail(__FILE__, __LINE__, "cannot write %s: %s", path, strerror(errno));
}

int check_sh(const char *fmt, ...)
{
    char cmd[8192];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    int st = system(cmd);
    if (st == -1 || !WIFEXITED(st))
        return -1;
    return WEXITSTATUS(st);
}

static int rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static void cleanup_dir(void)
{
    if (dir[0])
        nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
    dir[0] = 0;
}

/*
 * Which tests run: with no arguments, all; else those whose name holds one
 * of the arguments, but none whose name holds an argument given as -TEXT.
 */
static int chosen(const char *name, int argc, char **argv)
{
    int any = 0, hit = 0;
    for (int a = 1; a < argc; a++) {
        if (argv[a][0] == '-') {
            if (argv[a][1] && strstr(name, argv[a] + 1))
                return 0;
            continue;
        }
        any = 1;
        hit |= strstr(name, argv[a]) != NULL;
    }
    return !any || hit;
}

int main(int argc, char **argv)
{
    volatile int passed = 0, nfailed = 0; /* survive the longjmp of a failed test */
    setvbuf(stdout, NULL, _IOLBF, 0);
    for (volatile int i = 0; i < ntests; i++) {
        if (!chosen(tests[i].name, argc, argv))
            continue;
        if (setjmp(failed) == 0) {
            tests[i].fn();
            printf("PASS %s\n", tests[i].name);
            passed++;
            cleanup_dir();
        } else {
            nfailed++;
            /* Test files may hold test speech: kept only on request. */
            if (getenv("HOMTHU_KEEP")) {
                printf("FAIL %s  (files kept in %s)\n", tests[i].name, dir[0] ? dir : "-");
                dir[0] = 0;
            } else {
                printf("FAIL %s\n", tests[i].name);
                cleanup_dir();
            }
        }
    }
    printf("%d passed, %d failed\n", passed, nfailed);
    return nfailed ? 1 : 0;
}
