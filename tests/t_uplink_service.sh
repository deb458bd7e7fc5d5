#!/bin/sh
# homthu-uplink under systemd's eyes: a stand-in notify socket (what
# systemd gives a Type=notify unit) records what the daemon says. It must
# say READY once, keep STATUS saying what it does, and pet the watchdog all
# through a backoff far longer than WatchdogSec= - else systemd would kill
# a healthy daemon waiting out a dead link. Prints PASS/FAIL lines.
set -u
B=${HOMTHU_BUILD:-build/debug}
dir=$(mktemp -d "${TMPDIR:-/tmp}/homthu-uplsvc-XXXXXX")
pids=""
cleanup() { [ -n "$pids" ] && kill $pids 2>/dev/null; rm -rf "$dir"; }
trap cleanup EXIT
check() { if eval "$2"; then echo "PASS $1"; else echo "FAIL $1"; fi; }

# A port nobody listens on: the relay is down for the whole test.
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$B/helpers/uplink_fixture" "$dir" "http://127.0.0.1:$port/" 1 8 \
    uplink_backoff_base_ms=60000 uplink_backoff_cap_ms=60000 uplink_probe_seconds=1 \
    >"$dir/ids" 2>"$dir/fixture.log" || { cat "$dir/fixture.log"; echo "FAIL uplink_service_fixture"; exit 0; }
conf="$dir/kiosk/kiosk.conf"

# listen NAME: a datagram socket at $dir/NAME.sock; each message one line in $dir/NAME.notes.
listen() {
    python3 -u -c '
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
out = open(sys.argv[2], "w", buffering=1)
print("listening", flush=True)
while True:
    out.write(s.recv(4096).decode().replace("\n", "|") + "\n")
' "$dir/$1.sock" "$dir/$1.notes" >"$dir/$1.ready" &
    pids="$pids $!"
    i=0
    while [ $i -lt 50 ] && ! grep -q listening "$dir/$1.ready" 2>/dev/null; do sleep 0.1; i=$((i + 1)); done
}
# count NAME PATTERN: lines of $dir/NAME.notes matching PATTERN.
count() { grep -c -- "$2" "$dir/$1.notes" 2>/dev/null || true; }

# under NAME CONF SECONDS [VAR=VALUE...]: homthu-uplink with systemd's
# notify variables (WatchdogSec=0.9 s) and a listener, for SECONDS; then
# SIGTERM. Sets alive (1: still running before the TERM), gone (1: exited
# within 5 s of it) and rc (its exit status); its log is $dir/NAME.log.
under() {
    name=$1 cf=$2 secs=$3
    shift 3
    listen "$name"
    env NOTIFY_SOCKET="$dir/$name.sock" WATCHDOG_USEC=900000 "$@" \
        "$B/homthu-uplink" --config "$cf" >"$dir/$name.log" 2>&1 &
    up=$!
    pids="$pids $up"
    sleep "$secs"
    alive=0
    kill -0 $up 2>/dev/null && alive=1
    kill -TERM $up 2>/dev/null
    i=0
    while [ $i -lt 50 ] && kill -0 $up 2>/dev/null; do sleep 0.1; i=$((i + 1)); done
    gone=1
    kill -0 $up 2>/dev/null && gone=0
    wait $up 2>/dev/null
    rc=$?
}

# 1. A tip waits, the relay is down, the backoff is 60 s.
under down "$conf" 4
pets=$(count down '^WATCHDOG=1$')
echo "    $pets watchdog pets in 4 s of a 60 s backoff (WatchdogSec 0.9 s)"
check uplink_service_says_ready_once "[ $(count down '^READY=1$') -eq 1 ]"
check uplink_service_stays_up_through_the_backoff "[ $alive -eq 1 ]"
# A pet at least every third of 0.9 s for 4 s is 13; 5 leaves room for a busy machine.
check uplink_service_pets_the_watchdog_through_a_long_backoff "[ $pets -ge 5 ]"
check uplink_service_status_says_it_is_sending "grep -q '^STATUS=sending tip [0-9a-f]\{8\}; 1 waiting$' '$dir/down.notes'"
check uplink_service_status_says_the_relay_is_unreachable \
    "grep -q '^STATUS=not delivered (offline): 1 waiting; next try within [0-9]* s$' '$dir/down.notes'"
check uplink_service_stops_on_sigterm_in_a_backoff "[ $gone -eq 1 ] && grep -q '0 delivered' '$dir/down.log'"
check uplink_service_status_holds_no_tip_content "! grep -qi 'OggS' '$dir/down.notes' '$dir/down.log'"
check uplink_service_keeps_the_tip "'$B/homthu-queue' '$dir/kiosk/data' | grep -Eq '^waiting: +1 tip,'"

# 2. WATCHDOG_PID names another process (a wrapper started us): not ours to pet.
under other "$conf" 1.5 WATCHDOG_PID=1
check uplink_service_pets_only_its_own_watchdog \
    "[ $(count other '^WATCHDOG=1$') -eq 0 ] && [ $(count other '^READY=1$') -eq 1 ]"

# 3. No relay configured yet: under systemd it stays up and says why (an
#    exit would be restarted every RestartSec= and fill the journal); by
#    hand it says so and exits 0.
sed 's|^relay_url *=.*|relay_url =|' "$conf" >"$dir/norelay.conf"
under norelay "$dir/norelay.conf" 2
check uplink_service_without_relay_stays_and_says_why \
    "[ $alive -eq 1 ] && [ $gone -eq 1 ] && [ $rc -eq 0 ] && [ $(count norelay '^READY=1$') -eq 1 ] && grep -q '^STATUS=relay_url is empty' '$dir/norelay.notes' && [ $(count norelay '^WATCHDOG=1$') -ge 2 ]"
timeout 10 "$B/homthu-uplink" --config "$dir/norelay.conf" >"$dir/byhand.log" 2>&1
rc=$?
check uplink_by_hand_without_relay_exits_0_and_says_why "[ $rc -eq 0 ] && grep -q 'relay_url is empty' '$dir/byhand.log'"
exit 0
