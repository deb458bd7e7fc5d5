/*
 * errbuf — the two small helpers nearly every module used to carry its own
 * copy of: putting a sentence into the caller's `err` buffer, and spelling
 * bytes as lowercase hex (tip ids, key ids, hashes in messages and paths).
 *
 * It is not an error policy: each module's header still states its own
 * codes and what its messages say. Nor does it log or remember the last
 * error; modules that also do that (registry's last error, i18n's
 * "file:line:" prefix, the relay's and uploader's logs) keep their own
 * helpers, built on these or beside them.
 */
#ifndef HOMTHU_ERRBUF_H
#define HOMTHU_ERRBUF_H

#include <stddef.h>
#include <stdint.h>

/*
 * printf `fmt` into err, cut to errlen and always terminated; err NULL or
 * errlen 0 writes nothing. Returns code, so a failing path reads
 * `return errbuf_say(err, errlen, QUEUE_E_IO, "...", ...);`.
 */
int errbuf_say(char *err, size_t errlen, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* n bytes as 2n lowercase hex digits and a NUL: out must hold 2n + 1. */
void errbuf_hex(char *out, const uint8_t *bytes, size_t n);

#endif
