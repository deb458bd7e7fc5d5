#!/bin/sh
# Run the arm64 unit tests under qemu-user (`make test-arm64`).
#
#   tools/run-arm64.sh BUILD_DIR [FILTER]
#
# There is no binfmt_misc here, so an arm64 test cannot exec the arm64
# helpers and tools it runs (homthu-provision, helpers/crashwriter, ...):
# the kernel says "Exec format error". The tests find those programs under
# $HOMTHU_BUILD, so this script points HOMTHU_BUILD at BUILD_DIR/qemu/, a
# tree of small shell wrappers with the same names that run each real
# program under qemu-aarch64-static (data such as fixtures/ is linked).
# qemu runs without -L: with -L /usr/aarch64-linux-gnu it hangs on thread
# creation; the arm64 libraries are found through multiarch.
set -eu
build=${1:?usage: tools/run-arm64.sh BUILD_DIR [FILTER]}
filter=${2:-}
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
abs=$root/$build
wrap=$abs/qemu
qemu=$(command -v qemu-aarch64-static) || {
    echo "qemu-aarch64-static is missing: run tools/deps-arm64.sh" >&2
    exit 1
}

rm -rf "$wrap"
mkdir -p "$wrap" "$abs/fixtures"
ln -s ../fixtures "$wrap/fixtures"
for f in "$abs"/* "$abs"/helpers/* "$abs"/fuzz-replay/* "$abs"/bench/*; do
    [ -f "$f" ] && [ -x "$f" ] || continue
    case $(od -An -c -N4 "$f" | tr -d ' ') in
    177ELF) ;;
    *) continue ;;
    esac
    rel=${f#"$abs"/}
    mkdir -p "$wrap/$(dirname "$rel")"
    printf '#!/bin/sh\nexec %s %s "$@"\n' "$qemu" "$f" >"$wrap/$rel"
    chmod +x "$wrap/$rel"
done
# Shared objects preloaded by tests are arm64 too: link them as they are.
[ -d "$abs/shims" ] && ln -s ../shims "$wrap/shims"

# Emulated programs start and run several times slower (tests/check.h).
export HOMTHU_BUILD="$wrap" HOMTHU_ROOT="$root" HOMTHU_TIME_SCALE="${HOMTHU_TIME_SCALE:-5}"
cd "$abs"
# shellcheck disable=SC2086
exec timeout -s KILL "${ARM64_TIMEOUT:-1800}" "$qemu" ./homthu-tests $filter
