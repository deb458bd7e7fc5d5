#!/bin/sh
# playwright-core, for the station's browser tests (tests/t_station_browser.sh)
# and its screenshots (tools/station-screens.sh). Installed from the npm
# registry into build/browser at the version pinned in
# tests/browser/package.json, so that a new release cannot change a test's
# outcome; a registry hiccup is retried, not failed. Nothing happens when
# the pinned version is there already; another version is replaced.
#
# No browser is downloaded (PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD): Playwright's
# own builds cannot be fetched here, and the tests drive Debian's
# /usr/bin/chromium (package `chromium`, installed by tools/deps.sh).
#
# The pin runs on Debian 12's own Node 18 as well as on Node 20 and later:
# playwright-core 1.62 and later want Node >= 20; 1.61.x says node >= 18.
#
#   tools/browser-deps.sh [DIR]      (default build/browser)
set -eu
cd "$(dirname "$0")/.."
DIR=${1:-build/browser}
PIN=$(sed -n 's/^ *"playwright-core": *"\([0-9.]*\)".*/\1/p' tests/browser/package.json)
[ -n "$PIN" ] || { echo "browser-deps: no playwright-core pin in tests/browser/package.json" >&2; exit 1; }
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1

have() {
    f="$DIR/node_modules/playwright-core/package.json"
    [ -f "$f" ] && grep -q "\"version\": *\"$PIN\"" "$f"
}
have && exit 0
command -v npm >/dev/null 2>&1 || { echo "browser-deps: npm is not installed (tools/deps.sh installs it)" >&2; exit 1; }
[ -x /usr/bin/chromium ] || echo "browser-deps: /usr/bin/chromium is missing (tools/deps.sh installs package chromium)" >&2
mkdir -p "$DIR"
log="$DIR/npm.log"
for attempt in 1 2 3; do
    # npm ci: exactly what tests/browser/package-lock.json names (integrity included).
    cp tests/browser/package.json tests/browser/package-lock.json "$DIR/"
    if (cd "$DIR" && npm ci --no-audit --no-fund) >"$log" 2>&1 && have; then
        exit 0
    fi
    echo "browser-deps: npm install failed (attempt $attempt of 3): $(grep -m1 -i 'err' "$log" || tail -n1 "$log")" >&2
    [ $attempt = 3 ] || sleep $((attempt * 10))
done
exit 1
