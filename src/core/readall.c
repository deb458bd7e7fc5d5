/* readall — read a small file whole, capped. See readall.h. */
#include "core/readall.h"

#include <errno.h>
#include <unistd.h>

int readall_fd(int fd, char *buf, size_t cap, size_t *len)
{
    size_t n = 0;
    for (;;) {
        ssize_t got = read(fd, buf + n, cap + 1 - n);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0)
            return -errno;
        if (got == 0)
            break;
        n += (size_t)got;
        if (n > cap)
            return READALL_TOO_BIG;
    }
    buf[n] = 0;
    *len = n;
    return 0;
}
