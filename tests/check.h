/*
 * check — the tiny test runner. Tests register themselves with TEST(name);
 * the binary runs those whose name contains argv[1] (all without), each in
 * a fresh temp dir (check_dir()), and closes with "N passed, N failed".
 * A failed ASSERT ends the current test at once (longjmp): resources the
 * test held may leak, which only matters for a test that already failed.
 */
#ifndef HOMTHU_CHECK_H
#define HOMTHU_CHECK_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

typedef void (*check_fn)(void);
void check_register(const char *name, check_fn fn);
_Noreturn void check_fail(const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* A fresh empty directory for the running test, removed if it passes. */
const char *check_dir(void);
/* check_dir()/name in a static rotating buffer (8 slots). */
const char *check_path(const char *name);
/* Build dir (HOMTHU_BUILD) for helper programs; "build/debug" by default. */
const char *check_build(void);
/*
 * How many times slower than a native run this one is (HOMTHU_TIME_SCALE,
 * 1 to 50; 1 when unset). `make test-arm64` runs under qemu-user, where a
 * program starts and works several times slower: tests that kill a writer
 * after a random delay stretch the delay by it, so that they still cut
 * tips mid-recording instead of before the first word. Never used to loosen
 * what a test asserts.
 */
int check_time_scale(void);
/* Read a whole file; caller frees. NULL if missing. */
uint8_t *check_slurp(const char *path, size_t *len);
void check_write_file(const char *path, const void *bytes, size_t len);
/* Run a shell command, return its exit status (or -1). */
int check_sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#define TEST(name)                                                                                \
    static void name(void);                                                                       \
    __attribute__((constructor)) static void register_##name(void)                                \
    {                                                                                             \
        check_register(#name, name);                                                              \
    }                                                                                             \
    static void name(void)

#define ASSERT(c)                                                                                 \
    do {                                                                                          \
        if (!(c))                                                                                 \
            check_fail(__FILE__, __LINE__, "assertion failed: %s", #c);                           \
    } while (0)

#define ASSERT_EQ(a, b)                                                                           \
    do {                                                                                          \
        long long a_ = (long long)(a), b_ = (long long)(b);                                       \
        if (a_ != b_)                                                                             \
            check_fail(__FILE__, __LINE__, "%s == %s: %lld != %lld", #a, #b, a_, b_);             \
    } while (0)

#define ASSERT_STR_EQ(a, b)                                                                       \
    do {                                                                                          \
        const char *a_ = (a), *b_ = (b);                                                          \
        if (!a_ || !b_ || strcmp(a_, b_) != 0)                                                    \
            check_fail(__FILE__, __LINE__, "%s == %s: \"%s\" != \"%s\"", #a, #b,                 \
                       a_ ? a_ : "(null)", b_ ? b_ : "(null)");                                   \
    } while (0)

#define ASSERT_CONTAINS(hay, needle)                                                              \
    do {                                                                                          \
        const char *h_ = (hay), *n_ = (needle);                                                   \
        if (!h_ || !strstr(h_, n_))                                                               \
            check_fail(__FILE__, __LINE__, "%s should contain \"%s\": \"%s\"", #hay, n_,          \
                       h_ ? h_ : "(null)");                                                       \
    } while (0)

#define ASSERT_MEM_EQ(a, b, n) ASSERT(memcmp((a), (b), (n)) == 0)

#endif
