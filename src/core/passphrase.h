/*
 * passphrase — getting the officer's passphrase into memory: the first line
 * of a file, the environment variable HOMTHU_PASSPHRASE, or a line typed on
 * the terminal with echo off (restored even on Ctrl-C).
 *
 * It is the mechanics the post's tools share, not their policy: which
 * source wins, whether to ask twice, how short is too short and every
 * message the officer reads stay in homthu-provision and homthu-post. The
 * buffers are the caller's, PASSPHRASE_MAX bytes; take them from
 * sodium_malloc() so the passphrase is never swapped out and is wiped on
 * sodium_free().
 *
 * Errors: 0, or a negative PASSPHRASE_E_* code; only
 * passphrase_read_file() has a sentence to give, through err.
 */
#ifndef HOMTHU_PASSPHRASE_H
#define HOMTHU_PASSPHRASE_H

#include <stddef.h>

/* Bytes in a passphrase buffer, its NUL included. */
#define PASSPHRASE_MAX 1024

enum {
    PASSPHRASE_OK = 0,
    PASSPHRASE_E_READ = -1,     /* no line could be read (file, terminal) */
    PASSPHRASE_E_TOO_LONG = -2, /* more than PASSPHRASE_MAX - 1 bytes */
    PASSPHRASE_E_UNSET = -3,    /* HOMTHU_PASSPHRASE is not set */
};

/*
 * The first line of the file at path (without its line end) into buf; at
 * most PASSPHRASE_MAX - 1 bytes are read, the rest of a longer file is
 * ignored. PASSPHRASE_E_READ with "cannot read the passphrase file PATH:
 * REASON" in err.
 */
int passphrase_read_file(const char *path, char *buf, char *err, size_t errlen)
    __attribute__((warn_unused_result));

/*
 * HOMTHU_PASSPHRASE into buf. PASSPHRASE_E_UNSET when it is not set,
 * PASSPHRASE_E_TOO_LONG when it does not fit (buf untouched either way).
 */
int passphrase_from_env(char *buf) __attribute__((warn_unused_result));

/*
 * Write prompt to the terminal fd (the caller opens /dev/tty) and read one
 * line with echo off into buf. SIGINT and SIGTERM restore the terminal,
 * then end the program as they would have; both go back to their default
 * action afterwards. PASSPHRASE_E_READ when input ends before a line end
 * or the terminal cannot be set, PASSPHRASE_E_TOO_LONG when the line does
 * not fit.
 */
int passphrase_ask_tty(int fd, const char *prompt, char *buf) __attribute__((warn_unused_result));

#endif
