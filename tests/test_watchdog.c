/* Tests for src/watchdog: the sd_notify datagrams, received on a socket
 * the test binds and names in NOTIFY_SOCKET, as systemd would. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "check.h"
#include "kiosk/watchdog.h"

/* A socket bound where systemd would listen; returns its fd. */
static int listen_at(const char *name, int abstract)
{
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    ASSERT(fd >= 0);
    struct sockaddr_un a;
    memset(&a, 0, sizeof a);
    a.sun_family = AF_UNIX;
    size_t n = strlen(name);
    ASSERT(n < sizeof a.sun_path);
    memcpy(a.sun_path, name, n);
    if (abstract)
        a.sun_path[0] = 0;
    socklen_t len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n);
    ASSERT_EQ(bind(fd, (struct sockaddr *)&a, len), 0);
    return fd;
}

/* Every datagram waiting, joined by "|"; static buffer. */
static const char *received(int fd)
{
    static char all[4096];
    size_t off = 0;
    all[0] = 0;
    for (;;) {
        char b[512];
        ssize_t n = recv(fd, b, sizeof b - 1, MSG_DONTWAIT);
        if (n < 0) {
            ASSERT(errno == EAGAIN || errno == EWOULDBLOCK);
            break;
        }
        b[n] = 0;
        int w = snprintf(all + off, sizeof all - off, "%s%s", off ? "|" : "", b);
        ASSERT(w > 0 && (size_t)w < sizeof all - off);
        off += (size_t)w;
    }
    return all;
}

static void set_env(const char *sock, const char *usec, int for_us)
{
    char pid[32];
    snprintf(pid, sizeof pid, "%ld", (long)getpid() + (for_us ? 0 : 1));
    setenv("NOTIFY_SOCKET", sock, 1);
    if (usec) {
        setenv("WATCHDOG_USEC", usec, 1);
        setenv("WATCHDOG_PID", pid, 1);
    } else {
        unsetenv("WATCHDOG_USEC");
        unsetenv("WATCHDOG_PID");
    }
}

static void clear_env(void)
{
    unsetenv("NOTIFY_SOCKET");
    unsetenv("WATCHDOG_USEC");
    unsetenv("WATCHDOG_PID");
}

static struct watchdog *open_wd(void)
{
    struct watchdog *w = NULL;
    char err[256] = "";
    if (watchdog_open(&w, err, sizeof err) != 0)
        check_fail(__FILE__, __LINE__, "watchdog_open: %s", err);
    return w;
}

TEST(test_watchdog_says_ready_once)
{
    const char *path = check_path("notify");
    int fd = listen_at(path, 0);
    set_env(path, "3000000", 1);
    struct watchdog *w = open_wd();
    ASSERT(watchdog_enabled(w));
    ASSERT_EQ(watchdog_interval_ms(w), 3000);
    watchdog_ready(w);
    watchdog_ready(w);
    watchdog_ready(w);
    ASSERT_STR_EQ(received(fd), "READY=1");
    ASSERT_EQ(watchdog_sent(w), 1);
    ASSERT_EQ(watchdog_error(w), 0);
    watchdog_free(w);
    close(fd);
    clear_env();
}

TEST(test_watchdog_pets_only_while_healthy)
{
    const char *path = check_path("notify");
    int fd = listen_at(path, 0);
    set_env(path, "3000000", 1); /* WatchdogSec=3 */
    struct watchdog *w = open_wd();

    /* Healthy loop turning every 100 ms for 10 s: a pet every second
       (a third of the interval), never more often. */
    int pets = 0;
    for (uint32_t t = 0; t < 10000; t += 100) {
        watchdog_pet(w, 1, t);
        const char *got = received(fd);
        if (*got) {
            ASSERT_STR_EQ(got, "WATCHDOG=1");
            pets++;
        }
    }
    ASSERT_EQ(pets, 10);

    /* The queue stops taking writes: not one pet for 30 s, so systemd
       restarts the kiosk after WatchdogSec. */
    for (uint32_t t = 10000; t < 40000; t += 100)
        watchdog_pet(w, 0, t);
    ASSERT_STR_EQ(received(fd), "");

    /* Healthy again (a restart reopened the queue): pets at once. */
    watchdog_pet(w, 1, 40000);
    ASSERT_STR_EQ(received(fd), "WATCHDOG=1");
    watchdog_free(w);
    close(fd);
    clear_env();
}

TEST(test_watchdog_pets_cross_the_32_bit_clock_wrap)
{
    const char *path = check_path("notify");
    int fd = listen_at(path, 0);
    set_env(path, "1500000", 1);
    struct watchdog *w = open_wd();
    int pets = 0;
    for (uint32_t t = UINT32_MAX - 2000, i = 0; i < 40; i++, t += 100) {
        watchdog_pet(w, 1, t);
        if (*received(fd))
            pets++;
    }
    ASSERT_EQ(pets, 8); /* every 500 ms over 4 s */
    watchdog_free(w);
    close(fd);
    clear_env();
}

TEST(test_watchdog_without_watchdogsec_never_pets)
{
    const char *path = check_path("notify");
    int fd = listen_at(path, 0);
    set_env(path, NULL, 1); /* Type=notify without WatchdogSec= */
    struct watchdog *w = open_wd();
    ASSERT_EQ(watchdog_interval_ms(w), 0);
    for (uint32_t t = 0; t < 5000; t += 100)
        watchdog_pet(w, 1, t);
    watchdog_ready(w);
    ASSERT_STR_EQ(received(fd), "READY=1");
    watchdog_free(w);

    /* WATCHDOG_PID names another process (a wrapper started us). */
    set_env(path, "3000000", 0);
    w = open_wd();
    ASSERT_EQ(watchdog_interval_ms(w), 0);
    watchdog_pet(w, 1, 0);
    ASSERT_STR_EQ(received(fd), "");
    watchdog_free(w);
    close(fd);
    clear_env();
}

TEST(test_watchdog_status_is_sent_when_it_changes)
{
    const char *path = check_path("notify");
    int fd = listen_at(path, 0);
    set_env(path, "3000000", 1);
    struct watchdog *w = open_wd();
    watchdog_status(w, "serving; 2 tips waiting");
    watchdog_status(w, "serving; 2 tips waiting");
    watchdog_status(w, "serving; 3 tips waiting\nREADY=1"); /* one line, always */
    ASSERT_STR_EQ(received(fd),
                  "STATUS=serving; 2 tips waiting|STATUS=serving; 3 tips waiting READY=1");
    char long_text[400];
    memset(long_text, 'x', sizeof long_text - 1);
    long_text[sizeof long_text - 1] = 0;
    watchdog_status(w, long_text);
    const char *got = received(fd);
    ASSERT_EQ(strlen(got), strlen("STATUS=") + 200);
    watchdog_free(w);
    close(fd);
    clear_env();
}

TEST(test_watchdog_speaks_to_an_abstract_socket)
{
    char name[64];
    snprintf(name, sizeof name, "@homthu-test-notify-%ld", (long)getpid());
    int fd = listen_at(name, 1);
    set_env(name, "3000000", 1);
    struct watchdog *w = open_wd();
    watchdog_ready(w);
    watchdog_pet(w, 1, 0);
    ASSERT_STR_EQ(received(fd), "READY=1|WATCHDOG=1");
    watchdog_free(w);
    close(fd);
    clear_env();
}

TEST(test_watchdog_is_a_no_op_outside_systemd)
{
    clear_env();
    struct watchdog *w = open_wd();
    ASSERT(!watchdog_enabled(w));
    watchdog_ready(w);
    watchdog_status(w, "x");
    watchdog_pet(w, 1, 0);
    ASSERT_EQ(watchdog_sent(w), 0);
    watchdog_free(w);
    watchdog_free(NULL);
}

TEST(test_watchdog_refuses_a_bad_socket_name_and_reports_a_dead_listener)
{
    setenv("NOTIFY_SOCKET", "relative/path", 1);
    struct watchdog *w = NULL;
    char err[256];
    ASSERT_EQ(watchdog_open(&w, err, sizeof err), -EINVAL);
    ASSERT(w == NULL);
    ASSERT_STR_EQ(err, "NOTIFY_SOCKET=relative/path is not a socket path: systemd's watchdog "
                       "cannot be told (check the unit's Type=notify)");

    /* Nobody listens there (systemd went away): sends fail, calls go on. */
    set_env(check_path("nobody"), "3000000", 1);
    w = open_wd();
    watchdog_ready(w);
    watchdog_pet(w, 1, 0);
    ASSERT(watchdog_error(w) < 0);
    ASSERT_EQ(watchdog_sent(w), 0);
    watchdog_free(w);
    clear_env();
}
