/*
 * bench_uplink — the delivery daemon's figures (docs/uploader.md): bytes
 * re-sent per cut through the fault proxy, and goodput on a 64 kbit/s
 * link (tc tbf between two network namespaces) against a plain curl PUT
 * of the same bytes over the same link in the same run. The work is in
 * tests/bench/uplink.sh (namespaces and daemons are a shell's job); this
 * binary is how `make bench` finds it. Prints figures; never fails on one.
 */
#include <stdio.h>
#include <stdlib.h>

#include "bench.h"

int main(void)
{
    const char *root = getenv("HOMTHU_ROOT");
    char cmd[4200];
    snprintf(cmd, sizeof cmd, "sh '%s/tests/bench/uplink.sh'", root && *root ? root : ".");
    double t0 = bench_now();
    int rc = system(cmd);
    printf("  (bench_uplink took %.0f s)\n", bench_now() - t0);
    return rc == 0 ? 0 : 1;
}
