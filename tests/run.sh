#!/bin/sh
# Runs every test: the C unit tests, the fuzz corpora replays and the
# script tests (tests/t_*.sh), and closes with one "N passed, N failed".
# Script tests print "PASS name" / "FAIL name" lines; anything else they
# print is shown as is. HOMTHU_BUILD names the build dir.
set -u
cd "$(dirname "$0")/.."
: "${HOMTHU_BUILD:=build/debug}"
export HOMTHU_BUILD
export HOMTHU_ROOT="$PWD"
log=$(mktemp)
trap 'rm -f "$log"' EXIT

run() { # label command...
    label=$1; shift
    echo "== $label"
    "$@" 2>&1 | tee -a "$log" | grep -v '^[0-9]* passed, [0-9]* failed$'
}

# The province tests need a PostgreSQL: tests/t_relay_pg.sh starts one and runs them.
run "unit tests" "$HOMTHU_BUILD/homthu-tests" ${HOMTHU_FILTER:-} -test_province_

# Under ASan the binary ends with LeakSanitizer's report, and exits 1 for
# what Mesa's and ALSA's plugins leave behind: SDL loads and unloads them,
# so their frames show as "<unknown module>" and cannot be suppressed by
# name. A leak is ours when a frame of its stack is in our sources.
case "$HOMTHU_BUILD" in
*asan*)
    if [ -z "${HOMTHU_FILTER:-}" ]; then
        ours=$(awk '/^(Direct|Indirect) leak/ { blk = $0; next }
                    blk != "" && /^ *#[0-9]+ / { blk = blk "\n" $0
                        if ($0 ~ / (src|tests|tools)\/[A-Za-z0-9_\/]+\.c:[0-9]+/) hit = 1; next }
                    blk != "" { if (hit) print blk; blk = ""; hit = 0 }
                    END { if (hit) print blk }' "$log")
        if [ -n "$ours" ]; then
            printf '%b\n' "$ours"
            echo "FAIL unit_tests_leak_nothing_of_ours" | tee -a "$log"
        else
            other=$(grep -m1 '^SUMMARY: AddressSanitizer: .* leaked' "$log" | sed 's/^SUMMARY: AddressSanitizer: //')
            [ -n "$other" ] && echo "    leaked by unloaded system plugins only: $other"
            echo "PASS unit_tests_leak_nothing_of_ours" | tee -a "$log"
        fi
    fi
    ;;
esac

for replay in "$HOMTHU_BUILD"/fuzz-replay/fuzz_*; do
    [ -x "$replay" ] || continue
    name=${replay##*/}
    corpus=tests/fuzz/corpus/${name#fuzz_}
    if "$replay" "$corpus" >/dev/null 2>"$log.err"; then
        echo "PASS fuzz_corpus_replay_${name#fuzz_}" | tee -a "$log"
    else
        cat "$log.err"
        echo "FAIL fuzz_corpus_replay_${name#fuzz_}" | tee -a "$log"
    fi
    rm -f "$log.err"
done

for t in tests/t_*.sh; do
    [ -f "$t" ] || continue
    case "$t" in *"${HOMTHU_FILTER:-}"*) ;; *) continue ;; esac
    run "$t" sh "$t"
done

# Nothing a test started may outlive it: a helper left running holds ports,
# burns a core and hides a test that failed half way. Whatever still runs
# from this build's folder (by its executable's real path, so a second
# suite in another clone is not ours) on a test's scratch folder is named,
# fails the run, and ends.
case "$HOMTHU_BUILD" in /*) ours="$HOMTHU_BUILD" ;; *) ours="$PWD/$HOMTHU_BUILD" ;; esac
ours_left() {
    for pid in $(pgrep -f "$HOMTHU_BUILD/(helpers/|homthu-)" 2>/dev/null); do
        # ...and working on a test's scratch folder, not a `make run` demo.
        case "$(readlink "/proc/$pid/exe" 2>/dev/null)" in
        "$ours"/*) tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q "${TMPDIR:-/tmp}/homthu-" &&
            echo "$pid" ;;
        esac
    done
}
i=0
while [ $i -lt 50 ] && [ -n "$(ours_left)" ]; do sleep 0.1; i=$((i + 1)); done
left=$(ours_left)
if [ -n "$left" ]; then
    for pid in $left; do
        echo "    still running: $(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null)"
        kill -9 "$pid" 2>/dev/null
    done
    echo "FAIL tests_leave_no_process_behind" | tee -a "$log"
else
    echo "PASS tests_leave_no_process_behind" | tee -a "$log"
fi

passed=$(grep -c '^PASS ' "$log")
failed=$(grep -c '^FAIL ' "$log")
# A test binary that crashed before its closing line counts as a failure.
if ! grep -q '^[0-9]* passed, [0-9]* failed$' "$log"; then
    echo "FAIL unit-test binary did not finish"; failed=$((failed + 1))
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
