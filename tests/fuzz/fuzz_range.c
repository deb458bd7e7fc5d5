/*
 * fuzz_range — the Range header of the station's audio answers
 * (http_parse_range in src/station/http.c) on arbitrary text, with the
 * recording's size taken from the first 4 bytes. Whatever comes back must
 * be a range inside the recording, or "send it all", or "unsatisfiable".
 * Seeds in tests/fuzz/corpus/range/.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "station/http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 4 || size > 4096)
        return 0;
    uint64_t len = (uint64_t)data[0] | (uint64_t)data[1] << 8 | (uint64_t)data[2] << 16 |
                   (uint64_t)data[3] << 24;
    char *h = malloc(size - 4 + 1);
    if (!h)
        return 0;
    memcpy(h, data + 4, size - 4);
    h[size - 4] = 0;
    uint64_t first = 7, last = 7;
    int rc = http_parse_range(h, len, &first, &last);
    if (rc < -1 || rc > 1)
        __builtin_trap();
    if (rc == 1 && (first > last || last >= len))
        __builtin_trap();
    if (rc == 0 && (first != 7 || last != 7))
        __builtin_trap(); /* "no range" leaves the caller's whole-file answer alone */
    free(h);
    return 0;
}
