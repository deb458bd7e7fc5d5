#!/bin/sh
# The loop `make run` shows, without a screen: a voice tip left at the kiosk
# (headless, test speech as the microphone) goes through the delivery daemon
# to the local relay, and the officer's console pulls and lists it.
set -u
B=${HOMTHU_BUILD:-build/debug}
dir=$(mktemp -d "${TMPDIR:-/tmp}/homthu-demo-XXXXXX")
# A port free now (the kernel's pick), not one derived from the PID that
# something may be listening on.
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
export HOMTHU_DEMO_DIR="$dir/demo" HOMTHU_DEMO_PORT=$port HOMTHU_BUILD="$B"
pids=""
cleanup() { [ -n "$pids" ] && kill $pids 2>/dev/null; rm -rf "$dir"; }
trap cleanup EXIT
[ -n "${HOMTHU_KEEP:-}" ] && trap - EXIT
check() { if eval "$2"; then echo "PASS $1"; else echo "FAIL $1"; fi; }

./tools/demo.sh setup >/dev/null 2>&1
check demo_setup_makes_post_kiosk_and_relay "[ -f '$dir/demo/relay/relay.conf' ] && [ -f '$dir/demo/kiosk/kiosk.conf' ]"
"$B/homthu-relay" --config "$dir/demo/relay/relay.conf" >"$dir/relay.log" 2>&1 &
pids="$pids $!"
"$B/homthu-uplink" --config "$dir/demo/kiosk/kiosk.conf" >"$dir/uplink.log" 2>&1 &
pids="$pids $!"
# Five seconds of a voice-like tone as the microphone.
python3 -c "
import struct, math
open('$dir/mic.raw', 'wb').write(b''.join(struct.pack('<h', int(6000 * math.sin(2 * math.pi * 220 * i / 16000))) for i in range(16000 * 5)))"
ASAN_OPTIONS=detect_leaks=0 SDL_AUDIODRIVER=disk SDL_DISKAUDIOFILEIN="$dir/mic.raw" SDL_DISKAUDIOFILE=/dev/null \
    "$B/helpers/kioskflow" "$dir/demo/kiosk/kiosk.conf" >"$dir/kiosk.log" 2>&1
rc=$?
check demo_kiosk_seals_a_voice_tip "[ $rc -eq 0 ]"
i=0
while [ $i -lt 100 ] && ! grep -q delivered "$dir/uplink.log"; do sleep 0.2; i=$((i + 1)); done
check demo_uplink_delivers_it_to_the_relay "grep -q 'delivered: .* 0 re-sent' '$dir/uplink.log'"
./tools/demo.sh console >"$dir/console.log" 2>&1
check demo_console_pulls_and_lists_it "grep -q '1 new tip' '$dir/console.log' && grep -q 'demo-kiosk .*weapons .*vi' '$dir/console.log'"
"$B/homthu-queue" "$dir/demo/data" >"$dir/queue.log" 2>&1
check demo_kiosk_queue_holds_nothing_waiting "grep -Eq '^waiting: +0 tips' '$dir/queue.log'"
check demo_logs_hold_no_tip_content "! grep -qi 'OggS' '$dir/relay.log' '$dir/uplink.log'"

# The post station as `make run` starts it: the officer makes the commander
# with the printed setup code, unlocks with the demo passphrase, and the
# tip is in the list with its category.
sport=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$B/homthu-station" --post "$dir/demo/post" --plain --listen "127.0.0.1:$sport" --pull-seconds 2 \
    >"$dir/station.log" 2>&1 &
pids="$pids $!"
i=0
while [ $i -lt 100 ] && ! grep -q ready "$dir/station.log"; do sleep 0.1; i=$((i + 1)); done
S="http://127.0.0.1:$sport"
j="$dir/jar"
code=$(cat "$dir/demo/post/station-setup-code" 2>/dev/null)
curl -s -c "$j" -b "$j" --data-urlencode "code=$code" --data-urlencode name=chihuy \
    --data-urlencode password=demo-password-1 "$S/api/setup" >"$dir/setup.json"
csrf=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["csrf"])' "$dir/setup.json" 2>/dev/null)
curl -s -c "$j" -b "$j" -H "X-CSRF-Token: $csrf" --data-urlencode passphrase=demo-passphrase \
    "$S/api/unlock" >/dev/null
i=0
while [ $i -lt 100 ]; do
    curl -s -b "$j" "$S/api/tips" >"$dir/tips.json"
    python3 -c 'import json,sys; t=json.load(open(sys.argv[1]))["tips"]; sys.exit(0 if t and t[0]["indexed"] else 1)' \
        "$dir/tips.json" 2>/dev/null && break
    sleep 0.2
    i=$((i + 1))
done
check demo_station_lists_the_tip_for_the_officer \
    "python3 -c 'import json,sys; t=json.load(open(sys.argv[1]))[\"tips\"]; sys.exit(0 if [x[\"category\"] for x in t] == [\"weapons\"] else 1)' '$dir/tips.json'"
