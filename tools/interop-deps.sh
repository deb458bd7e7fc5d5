#!/bin/sh
# The tus implementations we did not write, for the interop tests
# (tests/t_relay_interop.sh, tests/t_uplink_interop.sh): tus-js-client
# against our relay, @tus/server against our uploader. Installed from the
# npm registry into build/interop, versions pinned so that a new release
# cannot change a test's outcome; a registry hiccup is retried, not failed.
# Nothing happens when they are there already. Used by .ci/run (setup) and
# by the tests themselves on a first run.
#
#   tools/interop-deps.sh [DIR]      (default build/interop)
set -eu
cd "$(dirname "$0")/.."
DIR=${1:-build/interop}
PINS="tus-js-client@4.3.1 @tus/server@2.4.5 @tus/file-store@2.1.1"

have() {
    for p in tus-js-client @tus/server @tus/file-store; do
        [ -f "$DIR/node_modules/$p/package.json" ] || return 1
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
