#!/bin/sh
# make bench: runs every benchmark binary (release build). Each prints its
# figures as ratios against a baseline it measures in the same run, beside
# the goal; none of them fails on a number (these machines are shared).
# HOMTHU_BENCH=bench_relay runs only that one.
set -u
cd "$(dirname "$0")/../.." || exit 1
: "${HOMTHU_BUILD:=build/release}"
export HOMTHU_BUILD HOMTHU_ROOT="$PWD"

# bench_relay measures the province relay (issue 14) too: on real
# PostgreSQL 15 servers (tests/pg/cluster.sh), a primary and a synchronous
# standby, one such pair for each fsync delay bench_relay runs at, every
# process of theirs under the same fsync shim and delay as the servers it
# is compared with. It learns where from HOMTHU_BENCH_PG_<delay>, and
# HOMTHU_BENCH_PG_SYNC=1 when both pairs have their standby; when they
# cannot be started it says why (HOMTHU_BENCH_PG_WHY) and measures the rest.
PGB=''
bench_pg_cleanup() {
    [ -n "$PGB" ] || return 0
    for d in 0 5; do
        [ -d "$PGB/pg$d" ] && tests/pg/cluster.sh "$PGB/pg$d" cleanup >/dev/null 2>&1
    done
    rm -rf "$PGB"
    PGB=''
}
trap bench_pg_cleanup EXIT
trap 'exit 1' INT TERM HUP

bench_pg_start() {
    shim="$PWD/$HOMTHU_BUILD/shims/fsync_delay.so"
    [ -r "$shim" ] || { HOMTHU_BENCH_PG_WHY="$shim missing"; return 1; }
    PGB=$(mktemp -d "${TMPDIR:-/tmp}/homthu-bench-pg-XXXXXX") || return 1
    sync=1
    for d in 0 5; do
        if ! tests/pg/cluster.sh "$PGB/pg$d" init >"$PGB/pg$d.log" 2>&1 ||
            ! LD_PRELOAD="$shim" HOMTHU_FSYNC_DELAY_MS=$d \
                tests/pg/cluster.sh "$PGB/pg$d" start_primary >>"$PGB/pg$d.log" 2>&1; then
            HOMTHU_BENCH_PG_WHY="PostgreSQL did not start: $(tail -n 1 "$PGB/pg$d.log")"
            return 1
        fi
        LD_PRELOAD="$shim" HOMTHU_FSYNC_DELAY_MS=$d \
            tests/pg/cluster.sh "$PGB/pg$d" start_standby >>"$PGB/pg$d.log" 2>&1 || sync=0
        export "HOMTHU_BENCH_PG_$d=$(tests/pg/cluster.sh "$PGB/pg$d" url primary)"
    done
    export HOMTHU_BENCH_PG_SYNC=$sync
}

for b in "$HOMTHU_BUILD"/bench/bench_*; do
    [ -x "$b" ] || continue
    case "${HOMTHU_BENCH:-}" in "" | "${b##*/}") ;; *) continue ;; esac
    if [ "${b##*/}" = bench_relay ] && [ -z "$PGB" ]; then
        HOMTHU_BENCH_PG_WHY=''
        bench_pg_start || export HOMTHU_BENCH_PG_WHY
    fi
    echo "== ${b##*/}"
    "$b" || echo "(${b##*/} exited with $?)"
    [ "${b##*/}" = bench_relay ] && bench_pg_cleanup
done
