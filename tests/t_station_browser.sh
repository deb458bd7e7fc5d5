#!/bin/sh
# The officers' page in a real browser: Debian's chromium, driven by
# playwright-core (tests/browser/station.js), against the station that
# tests/station-fixture.sh starts (a real post, relay, kiosks and tips).
# First start, login, wrong passwords and lockout, unlock, a new tip
# appearing in the open page, a tip opened, played, re-rated, its status
# changed, its recording and the list downloaded, the printable report,
# lock; attacker text that must stay text, a forged cross-site POST, a
# technician, a stolen cookie after logout; and no console error or CSP
# violation in the whole run. t_station.sh tests the same API with curl.
#
# Needs node, playwright-core in build/browser (tools/browser-deps.sh,
# pinned; installed here on a first run) and /usr/bin/chromium (package
# chromium). Without any of them this test says FAIL: it never passes
# without a browser having run. Prints "PASS name" / "FAIL name".
set -u
: "${HOMTHU_BUILD:=build/debug}"
B=$HOMTHU_BUILD
case "$B" in /*) ;; *) B="$PWD/$B" ;; esac
ROOT=${HOMTHU_ROOT:-$PWD}
: "${HOMTHU_CHROMIUM:=/usr/bin/chromium}"
PW_DIR=${HOMTHU_BROWSER_DIR:-$ROOT/build/browser}
T=$(mktemp -d "${TMPDIR:-/tmp}/homthu-browser-XXXXXX")
NODE_PID=
. "$ROOT/tests/station-fixture.sh"
cleanup() {
    [ -n "$NODE_PID" ] && kill "$NODE_PID" 2>/dev/null && wait "$NODE_PID" 2>/dev/null
    fixture_stop
    rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

for p in homthu-station homthu-provision homthu-relay homthu-uplink helpers/maketip; do
    [ -x "$B/$p" ] || { echo "FAIL station_browser_tools_built ($B/$p missing: run make)"; exit 1; }
done
command -v node >/dev/null 2>&1 ||
    { echo "FAIL station_browser_node (node unavailable: apt-get install nodejs npm)"; exit 1; }
[ -x "$HOMTHU_CHROMIUM" ] ||
    { echo "FAIL station_browser_chromium ($HOMTHU_CHROMIUM missing: apt-get install chromium)"; exit 1; }
if ! "$ROOT/tools/browser-deps.sh" "$PW_DIR" 2>"$T/npm.log"; then
    echo "FAIL station_browser_playwright (playwright-core could not be installed: $(tail -n1 "$T/npm.log"))"
    exit 1
fi

VOICE_SECONDS=20
fixture_relay || { echo "FAIL station_browser_fixture_relay"; cat "$T/relay.log"; exit 1; }
fixture_tips "$VOICE_SECONDS" || { echo "FAIL station_browser_fixture_tips"; cat "$T/uplink.log"; exit 1; }
fixture_station --idle-lock-seconds 600 || { echo "FAIL station_browser_station_starts"; cat "$T/station.log"; exit 1; }
SETUP_CODE=$(cat "$POST/station-setup-code" 2>/dev/null)
[ -n "$SETUP_CODE" ] || { echo "FAIL station_browser_setup_code (no $POST/station-setup-code)"; exit 1; }
# The station pulls in the background; the page is opened once all four are in.
n=0
count_tips() {
    /usr/bin/python3 -c 'import sqlite3, sys; print(sqlite3.connect("file:" + sys.argv[1] + "?mode=ro", uri=True).execute("SELECT count(*) FROM tip").fetchone()[0])' "$POST/postbox.db" 2>/dev/null
}
until [ "$(count_tips)" = 4 ] || [ $n -ge 200 ]; do
    n=$((n + 1)); sleep 0.1
done

# The browser gets a private HOME and temp folder (its profile, caches,
# downloads) inside $T, removed with it.
TMPDIR="$T" HOME="$T/home" XDG_CONFIG_HOME="$T/home/.config" XDG_CACHE_HOME="$T/home/.cache" \
PW_DIR="$PW_DIR" CHROMIUM="$HOMTHU_CHROMIUM" STATION_URL="$STATION_URL" POST="$POST" \
    SETUP_CODE="$SETUP_CODE" K1="$K1" VOICE="$VOICE" XSS="$XSS" RTL="$RTL" PRACTICE="$PRACTICE" \
    VOICE_SECONDS="$VOICE_SECONDS" MAKETIP="$B/helpers/maketip" UPLINK="$B/homthu-uplink" \
    HOMTHU_PASSPHRASE="$HOMTHU_PASSPHRASE" \
    timeout -k 5 150 node "$ROOT/tests/browser/station.js" &
NODE_PID=$!
wait "$NODE_PID"
rc=$?
NODE_PID=
# The station saw the whole run: under ASan/UBSan its log names any fault.
fixture_stop
if grep -qE 'AddressSanitizer|LeakSanitizer|runtime error:' "$T/station.log" "$T/relay.log" 2>/dev/null; then
    echo "FAIL station_browser_station_runs_clean"
    grep -hE -A12 'AddressSanitizer|LeakSanitizer|runtime error:' "$T/station.log" "$T/relay.log" | head -n 40 | sed 's/^/    /'
    rc=1
else
    echo "PASS station_browser_station_runs_clean"
fi
if [ $rc -ne 0 ]; then
    [ $rc -ge 124 ] && echo "FAIL station_browser_finishes_in_time (exit $rc)"
    echo "  station log:"
    tail -n 20 "$T/station.log" | sed 's/^/    /'
fi
exit $rc
