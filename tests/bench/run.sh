#!/bin/sh
# make bench: runs every benchmark binary (release build). Each prints its
# figures as ratios against a baseline it measures in the same run, beside
# the goal; none of them fails on a number (these machines are shared).
set -u
cd "$(dirname "$0")/../.."
: "${HOMTHU_BUILD:=build/release}"
export HOMTHU_BUILD HOMTHU_ROOT="$PWD"
for b in "$HOMTHU_BUILD"/bench/bench_*; do
    [ -x "$b" ] || continue
    echo "== ${b##*/}"
    "$b" || echo "(${b##*/} exited with $?)"
done
