/*
 * Tests for src/core/passphrase.c: the file's first line, HOMTHU_PASSPHRASE and
 * the no-echo prompt on a pseudo-terminal (the tools' own messages around
 * them are checked by tests/t_provision.sh and tests/t_post_console.sh).
 */
#include "check.h"
#include "core/passphrase.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

TEST(test_passphrase_file_gives_its_first_line)
{
    char pass[PASSPHRASE_MAX], err[256] = "";
    const char *path = check_path("pass");
    check_write_file(path, "a long passphrase\r\nsecond line\n", 31);
    ASSERT_EQ(passphrase_read_file(path, pass, err, sizeof err), PASSPHRASE_OK);
    ASSERT_STR_EQ(pass, "a long passphrase");
}

TEST(test_passphrase_missing_file_says_which_and_why)
{
    char pass[PASSPHRASE_MAX], err[256] = "", want[512];
    const char *path = check_path("nothing-here");
    ASSERT_EQ(passphrase_read_file(path, pass, err, sizeof err), PASSPHRASE_E_READ);
    snprintf(want, sizeof want, "cannot read the passphrase file %s: No such file or directory",
             path);
    ASSERT_STR_EQ(err, want);
}

TEST(test_passphrase_env_unset_too_long_and_fitting)
{
    char pass[PASSPHRASE_MAX] = "untouched";
    char *saved = getenv("HOMTHU_PASSPHRASE") ? strdup(getenv("HOMTHU_PASSPHRASE")) : NULL;
    unsetenv("HOMTHU_PASSPHRASE");
    ASSERT_EQ(passphrase_from_env(pass), PASSPHRASE_E_UNSET);
    static char big[PASSPHRASE_MAX + 1];
    memset(big, 'z', PASSPHRASE_MAX);
    big[PASSPHRASE_MAX] = 0; /* one byte too many */
    setenv("HOMTHU_PASSPHRASE", big, 1);
    ASSERT_EQ(passphrase_from_env(pass), PASSPHRASE_E_TOO_LONG);
    ASSERT_STR_EQ(pass, "untouched");
    big[PASSPHRASE_MAX - 1] = 0; /* exactly what fits */
    setenv("HOMTHU_PASSPHRASE", big, 1);
    ASSERT_EQ(passphrase_from_env(pass), PASSPHRASE_OK);
    ASSERT_EQ(strlen(pass), PASSPHRASE_MAX - 1);
    if (saved)
        setenv("HOMTHU_PASSPHRASE", saved, 1);
    else
        unsetenv("HOMTHU_PASSPHRASE");
    free(saved);
}

TEST(test_passphrase_tty_reads_a_line_without_echo_and_restores_the_terminal)
{
    int master = posix_openpt(O_RDWR | O_NOCTTY);
    ASSERT(master >= 0);
    ASSERT(grantpt(master) == 0 && unlockpt(master) == 0);
    int tty = open(ptsname(master), O_RDWR | O_NOCTTY);
    ASSERT(tty >= 0);
    struct termios before, after;
    ASSERT(tcgetattr(tty, &before) == 0);
    ASSERT(before.c_lflag & ECHO);
    /* Typed ahead: TCSAFLUSH drops it, so answer only once the prompt shows. */
    pid_t pid = fork();
    ASSERT(pid >= 0);
    if (pid == 0) {
        char buf[PASSPHRASE_MAX];
        int rc = passphrase_ask_tty(tty, "Passphrase: ", buf);
        _exit(rc == PASSPHRASE_OK && strcmp(buf, "typed secret") == 0 ? 0 : 1);
    }
    char seen[256];
    size_t n = 0;
    while (n < sizeof seen - 1) {
        ssize_t got = read(master, seen + n, sizeof seen - 1 - n);
        ASSERT(got > 0);
        n += (size_t)got;
        seen[n] = 0;
        if (strstr(seen, "Passphrase: "))
            break;
    }
    ASSERT(write(master, "typed secret\n", 13) == 13);
    int status = 0;
    ASSERT(waitpid(pid, &status, 0) == pid);
    ASSERT(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    /* Only the line end comes back (ECHONL), never the passphrase. */
    usleep(50 * 1000);
    int fl = fcntl(master, F_GETFL);
    fcntl(master, F_SETFL, fl | O_NONBLOCK);
    ssize_t got = read(master, seen, sizeof seen - 1);
    seen[got > 0 ? got : 0] = 0;
    ASSERT(!strstr(seen, "secret"));
    ASSERT(tcgetattr(tty, &after) == 0);
    ASSERT(after.c_lflag & ECHO);
    close(tty);
    close(master);
}

TEST(test_passphrase_tty_refuses_a_line_too_long)
{
    int master = posix_openpt(O_RDWR | O_NOCTTY);
    ASSERT(master >= 0);
    ASSERT(grantpt(master) == 0 && unlockpt(master) == 0);
    int tty = open(ptsname(master), O_RDWR | O_NOCTTY);
    ASSERT(tty >= 0);
    pid_t pid = fork();
    ASSERT(pid >= 0);
    if (pid == 0) {
        char buf[PASSPHRASE_MAX];
        _exit(passphrase_ask_tty(tty, "Passphrase: ", buf) == PASSPHRASE_E_TOO_LONG ? 0 : 1);
    }
    char seen[256];
    size_t n = 0;
    while (n < sizeof seen - 1) {
        ssize_t got = read(master, seen + n, sizeof seen - 1 - n);
        ASSERT(got > 0);
        n += (size_t)got;
        seen[n] = 0;
        if (strstr(seen, "Passphrase: "))
            break;
    }
    /* The canonical line holds 4095 bytes; 1100 of them pass the cap. */
    static char line[1101];
    memset(line, 'x', 1100);
    line[1100] = '\n';
    ASSERT(write(master, line, sizeof line) == (ssize_t)sizeof line);
    int status = 0;
    ASSERT(waitpid(pid, &status, 0) == pid);
    ASSERT(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    close(tty);
    close(master);
}
