#!/bin/sh
# Screenshots of every page of the post station (homthu-station) as an
# officer sees them: first start, login with an error, the tip list locked
# and unlocked (with a new tip), a tip, the printable report (on screen and
# as printed), the audit log, officers, kiosks (commander and technician),
# the change-password page, and the banner when the relay is down; in
# Vietnamese and English, at 1366×768 and 360×740 (a phone), full page.
#
# A real post, relay, kiosks and tips (tests/station-fixture.sh), the page in
# Debian's chromium driven by playwright-core (tools/browser-deps.sh,
# pinned; no browser download). Everything started here ends here.
#
#   tools/station-screens.sh BUILD OUTDIR     e.g. build/debug build/screens
set -u
[ $# -eq 2 ] || { echo "usage: $0 BUILD OUTDIR" >&2; exit 2; }
cd "$(dirname "$0")/.."
ROOT=$PWD
B=$1
case "$B" in /*) ;; *) B="$ROOT/$B" ;; esac
OUT=$2
case "$OUT" in /*) ;; *) OUT="$ROOT/$OUT" ;; esac
CHROMIUM=${HOMTHU_CHROMIUM:-/usr/bin/chromium}
PW_DIR=${HOMTHU_BROWSER_DIR:-$ROOT/build/browser}

for p in homthu-station homthu-provision homthu-relay homthu-uplink helpers/maketip; do
    [ -x "$B/$p" ] || { echo "station-screens: $B/$p missing: run make" >&2; exit 1; }
done
command -v node >/dev/null 2>&1 || { echo "station-screens: node is not installed (tools/deps.sh)" >&2; exit 1; }
[ -x "$CHROMIUM" ] || { echo "station-screens: $CHROMIUM missing (apt-get install chromium)" >&2; exit 1; }
"$ROOT/tools/browser-deps.sh" "$PW_DIR" || exit 1

T=$(mktemp -d "${TMPDIR:-/tmp}/homthu-screens-XXXXXX")
NODE_PID=
. "$ROOT/tests/station-fixture.sh"
cleanup() {
    [ -n "$NODE_PID" ] && kill "$NODE_PID" 2>/dev/null && wait "$NODE_PID" 2>/dev/null
    fixture_stop
    rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

fixture_relay || { echo "station-screens: the relay did not start" >&2; cat "$T/relay.log" >&2; exit 1; }
fixture_tips 20 || { echo "station-screens: the tips were not made" >&2; cat "$T/uplink.log" >&2; exit 1; }
fixture_station --idle-lock-seconds 3600 || { echo "station-screens: the station did not start" >&2; cat "$T/station.log" >&2; exit 1; }
# The kiosks' heartbeats, so the kiosk page has something to show: kiosk 1
# well, kiosk 2 with two faults (LED codes 3 and 4) and a tip waiting.
printf 'faults=12\n' >"$T/data2/kiosk.faults"
"$B/helpers/maketip" --config "$K2" --text "chờ gửi" >/dev/null
for k in "$K1" "$K2"; do
    "$B/homthu-uplink" --config "$k" --heartbeat-once >>"$T/uplink.log" 2>&1 ||
        echo "station-screens: a heartbeat was not sent ($(tail -n1 "$T/uplink.log"))" >&2
done
SETUP_CODE=$(cat "$POST/station-setup-code")
count_tips() {
    /usr/bin/python3 -c 'import sqlite3, sys; print(sqlite3.connect("file:" + sys.argv[1] + "?mode=ro", uri=True).execute("SELECT count(*) FROM tip").fetchone()[0])' "$POST/postbox.db" 2>/dev/null
}
n=0
until [ "$(count_tips)" = 4 ] || [ $n -ge 300 ]; do n=$((n + 1)); sleep 0.1; done

mkdir -p "$OUT"
rm -f "$OUT"/station-*.png
# Fixed times in the pictures' clocks would need a fake clock; the times shown are today's.
TMPDIR="$T" HOME="$T/home" XDG_CONFIG_HOME="$T/home/.config" XDG_CACHE_HOME="$T/home/.cache" \
PW_DIR="$PW_DIR" CHROMIUM="$CHROMIUM" STATION_URL="$STATION_URL" OUT="$OUT" \
    SETUP_CODE="$SETUP_CODE" K1="$K1" VOICE="$VOICE" XSS="$XSS" RTL="$RTL" PRACTICE="$PRACTICE" \
    RELAY_PID="$RELAY_PID" MAKETIP="$B/helpers/maketip" UPLINK="$B/homthu-uplink" \
    HOMTHU_PASSPHRASE="$HOMTHU_PASSPHRASE" \
    timeout -k 5 300 node "$ROOT/tests/browser/screens.js" &
NODE_PID=$!
wait "$NODE_PID"
rc=$?
NODE_PID=
[ $rc -eq 0 ] || { echo "station-screens: failed; station log:" >&2; tail -n 20 "$T/station.log" >&2; }
exit $rc
