/* passphrase — see passphrase.h. */
#include "core/passphrase.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "core/errbuf.h"

int passphrase_read_file(const char *path, char *buf, char *err, size_t errlen)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return errbuf_say(err, errlen, PASSPHRASE_E_READ, "cannot read the passphrase file %s: %s",
                          path, strerror(errno));
    size_t n = 0;
    ssize_t got;
    while (n < PASSPHRASE_MAX - 1 && (got = read(fd, buf + n, PASSPHRASE_MAX - 1 - n)) != 0) {
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0) {
            int e = errno;
            close(fd);
            return errbuf_say(err, errlen, PASSPHRASE_E_READ,
                              "cannot read the passphrase file %s: %s", path, strerror(e));
        }
        n += (size_t)got;
    }
    buf[n] = 0;
    buf[strcspn(buf, "\r\n")] = 0; /* the first line is the passphrase */
    close(fd);
    return PASSPHRASE_OK;
}

int passphrase_from_env(char *buf)
{
    const char *env = getenv("HOMTHU_PASSPHRASE");
    if (!env)
        return PASSPHRASE_E_UNSET;
    size_t n = strlen(env);
    if (n >= PASSPHRASE_MAX)
        return PASSPHRASE_E_TOO_LONG;
    memcpy(buf, env, n + 1);
    return PASSPHRASE_OK;
}

/* One prompt at a time: the terminal being asked on and how it was before. */
static struct termios saved_tty;
static volatile sig_atomic_t tty_fd = -1;

/* Ctrl-C while the echo is off must not leave the officer's terminal blind. */
static void restore_tty(int sig)
{
    if (tty_fd >= 0)
        tcsetattr(tty_fd, TCSAFLUSH, &saved_tty);
    signal(sig, SIG_DFL);
    raise(sig);
}

int passphrase_ask_tty(int fd, const char *prompt, char *buf)
{
    struct termios t;
    if (tcgetattr(fd, &saved_tty) != 0)
        return PASSPHRASE_E_READ;
    t = saved_tty;
    t.c_lflag &= ~(tcflag_t)ECHO;
    t.c_lflag |= ECHONL;
    tty_fd = fd;
    signal(SIGINT, restore_tty);
    signal(SIGTERM, restore_tty);
    if (tcsetattr(fd, TCSAFLUSH, &t) != 0) {
        tty_fd = -1;
        return PASSPHRASE_E_READ;
    }
    (void)!write(fd, prompt, strlen(prompt));
    size_t n = 0;
    int rc = PASSPHRASE_E_READ;
    for (;;) {
        char ch;
        ssize_t got = read(fd, &ch, 1);
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0)
            break; /* end of input before a line end */
        if (ch == '\n' || ch == '\r') {
            rc = PASSPHRASE_OK;
            break;
        }
        if (n + 1 >= PASSPHRASE_MAX) {
            rc = PASSPHRASE_E_TOO_LONG;
            break;
        }
        buf[n++] = ch;
    }
    buf[n] = 0;
    tcsetattr(fd, TCSAFLUSH, &saved_tty);
    tty_fd = -1;
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    return rc;
}
