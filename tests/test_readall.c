/*
 * Tests for src/core/readall.c: the capped whole-file read behind kiosk.conf,
 * key files and the files put on a card. A file one byte over the cap must
 * be refused (never cut silently), and a pipe's short reads must add up.
 */
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include "check.h"
#include "core/readall.h"

static int open_with(const char *name, const char *bytes, size_t n)
{
    check_write_file(check_path(name), bytes, n);
    int fd = open(check_path(name), O_RDONLY);
    ASSERT(fd >= 0);
    return fd;
}

TEST(test_readall_reads_up_to_the_cap_and_ends_the_text)
{
    char buf[9];
    size_t len = 99;
    int fd = open_with("eight", "12345678", 8);
    ASSERT_EQ(readall_fd(fd, buf, 8, &len), 0);
    ASSERT_EQ(len, 8);
    ASSERT_STR_EQ(buf, "12345678");
    close(fd);
    fd = open_with("empty", "", 0);
    ASSERT_EQ(readall_fd(fd, buf, 8, &len), 0);
    ASSERT_EQ(len, 0);
    ASSERT_STR_EQ(buf, "");
    close(fd);
}

TEST(test_readall_refuses_a_file_one_byte_over_the_cap)
{
    char buf[9];
    size_t len = 99;
    int fd = open_with("nine", "123456789", 9);
    ASSERT_EQ(readall_fd(fd, buf, 8, &len), READALL_TOO_BIG);
    ASSERT_EQ(len, 99); /* untouched: there is no length to give */
    close(fd);
}

TEST(test_readall_adds_up_short_reads_and_reports_a_failed_read)
{
    int p[2];
    ASSERT_EQ(pipe(p), 0);
    ASSERT_EQ(write(p[1], "abc", 3), 3);
    ASSERT_EQ(write(p[1], "def", 3), 3);
    close(p[1]);
    char buf[17];
    size_t len = 0;
    ASSERT_EQ(readall_fd(p[0], buf, 16, &len), 0);
    ASSERT_EQ(len, 6);
    ASSERT_STR_EQ(buf, "abcdef");
    close(p[0]);
    /* A folder opens but cannot be read. */
    int fd = open(check_dir(), O_RDONLY | O_DIRECTORY);
    ASSERT(fd >= 0);
    ASSERT_EQ(readall_fd(fd, buf, 16, &len), -EISDIR);
    close(fd);
}
