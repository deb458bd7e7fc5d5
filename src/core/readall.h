/*
 * readall — read a small file to its end into the caller's buffer, with a
 * cap: the loop (EINTR, short reads, "larger than it should be") that the
 * config, key and card-file readers each carried a copy of. The caller
 * owns the buffer, so secrets stay in sodium_malloc'd memory, and words
 * the errors in its own terms.
 */
#ifndef HOMTHU_READALL_H
#define HOMTHU_READALL_H

#include <stddef.h>

/* More than `cap` bytes were there: not the file the caller expected. */
#define READALL_TOO_BIG 1

/*
 * Read fd to its end into buf, which holds cap + 1 bytes. On 0, *len is
 * the size and buf[*len] is 0. READALL_TOO_BIG when the file is longer
 * than cap (buf then holds cap + 1 bytes of it); a negative errno when a
 * read fails. fd stays open.
 */
int readall_fd(int fd, char *buf, size_t cap, size_t *len);

#endif
