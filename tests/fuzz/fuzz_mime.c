/*
 * fuzz_mime — the console's parser of tip mails (mailbox_parse), which
 * reads whatever anyone sends to the post's mailbox. The first byte picks
 * the mode: even, the whole mail; odd, the header block only (as fetched
 * with BODY[HEADER]). Every refusal must come with a sentence, and an
 * accepted part must hold exactly the bytes its headers declare.
 */
#include <stdint.h>
#include <string.h>

#include "post/mailbox.h"

#define FUZZ_MAX (1024 * 1024)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > FUZZ_MAX)
        return 0;
    int headers_only = data[0] & 1;
    char err[512] = "";
    struct mailbox_part p;
    int rc = mailbox_parse(data + 1, size - 1, headers_only, &p, err, sizeof err);
    if (rc != 0) {
        if (err[0] == 0 || p.bytes != NULL)
            __builtin_trap();
        return 0;
    }
    if (p.index < 1 || p.index > p.count || p.offset + p.part_bytes > p.total)
        __builtin_trap();
    if (!headers_only) {
        if (!p.bytes || p.len != p.part_bytes)
            __builtin_trap();
        volatile uint8_t sink = 0;
        for (size_t i = 0; i < p.len; i++)
            sink ^= p.bytes[i];
        (void)sink;
    } else if (p.bytes) {
        __builtin_trap();
    }
    mailbox_part_clear(&p);
    return 0;
}
