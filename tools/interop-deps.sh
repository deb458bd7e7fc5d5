#!/bin/sh
# The tus implementations we did not write, for the interop tests
# (tests/t_relay_interop.sh, tests/t_uplink_interop.sh): tus-js-client
# against our relay, @tus/server against our uploader. Installed from the
# npm registry into build/interop, versions pinned so that a new release
# cannot change a test's outcome; a registry hiccup is retried, not failed.
# Nothing happens when the pinned versions are there already; other
# versions (an older pin) are replaced. Used by .ci/run (setup) and by the
# tests themselves on a first run.
#
# The pins run on Debian 12's own Node 18 as well as on Node 20 and later:
# @tus/server 2.x and @tus/utils 0.6+ want Node >= 20.19, so the 1.x line
# (engines: node >= 16) is used, with the @tus/file-store and @tus/utils
# releases it was made with (@tus/file-store 1.5.1 already moved to
# @tus/utils 0.5). tus-js-client 4 wants Node >= 18.
#
#   tools/interop-deps.sh [DIR]      (default build/interop)
set -eu
cd "$(dirname "$0")/.."
DIR=${1:-build/interop}
PINS="tus-js-client@4.3.1 @tus/server@1.9.0 @tus/file-store@1.5.0 @tus/utils@0.4.0"

have() {
    for pin in $PINS; do
        name=${pin%@*}
        f="$DIR/node_modules/$name/package.json"
        [ -f "$f" ] || return 1
        grep -q "\"version\": *\"${pin##*@}\"" "$f" || return 1
    done
}
have && exit 0
command -v npm >/dev/null 2>&1 || { echo "interop-deps: npm is not installed (tools/deps.sh installs it)" >&2; exit 1; }
mkdir -p "$DIR"
log="$DIR/npm.log"
for attempt in 1 2 3; do
    # shellcheck disable=SC2086
    if npm install --prefix "$DIR" --no-audit --no-fund --save-exact $PINS >"$log" 2>&1 && have; then
        exit 0
    fi
    echo "interop-deps: npm install failed (attempt $attempt of 3): $(grep -m1 -i 'err' "$log" || tail -n1 "$log")" >&2
    [ $attempt = 3 ] || sleep $((attempt * 10))
done
exit 1
