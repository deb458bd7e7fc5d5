#!/bin/sh
# homthu-uplink's figures and its --once verdict, against the real relay.
#  - Through the counting proxy (tests/helpers/countproxy), which cuts the
#    link at random bytes and counts every byte the kiosk wrote: the run's
#    "bytes sent", "of envelope" and "re-sent" are the proxy's, byte for
#    byte, and the per-tip lines add up to them.
#  - --once exits 0 only when nothing waits; 3 when tips remain, naming each
#    (its 32 hex digits) with why: the relay is down (offline), or refuses
#    this kiosk (device, 403).
# Prints PASS/FAIL lines.
set -u
B=${HOMTHU_BUILD:-build/debug}
T=$(mktemp -d "${TMPDIR:-/tmp}/homthu-uplcount-XXXXXX")
pids=""
cleanup() {
    for p in $pids; do kill "$p" 2>/dev/null; done
    for p in $pids; do wait "$p" 2>/dev/null; done
    rm -rf "$T"
}
trap cleanup EXIT
check() { if eval "$2"; then echo "PASS $1"; else echo "FAIL $1"; fi; }
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
# Waits are for events, polled; the cap (120 s) is only reached by a helper that died or hangs.
wait_file() { i=0; while [ ! -s "$1" ] && [ $i -lt 1200 ]; do sleep 0.1; i=$((i + 1)); done; [ -s "$1" ]; }

# relay DIR REGISTRY: homthu-relay on a free port with that registry; sets RPORT.
relay() {
    RPORT=$(free_port)
    cat >"$1/relay.conf" <<EOF
listen = 127.0.0.1:$RPORT
database = $1/relay.db
registry = $2
post_token = test-token-0123456789abcdefghijklmnopqrstuvwxyz
device_requests_per_minute = 100000
EOF
    "$B/homthu-relay" --config "$1/relay.conf" >"$1/relay.log" 2>&1 &
    pids="$pids $!"
    i=0
    until curl -s -o /dev/null -X OPTIONS "http://127.0.0.1:$RPORT/files/"; do
        i=$((i + 1))
        [ $i -lt 1200 ] || { sed 's/^/    /' "$1/relay.log"; return 1; }
        sleep 0.1
    done
}
# field NAME FILE: the number after NAME in the proxy's first stats line.
field() { head -1 "$2" | tr ' ' '\n' | grep -A1 -x "$1" | tail -1; }
# every tip of the fixture named, by its 32 hex digits, on a line with REASON.
names_all() { # ids-file log reason
    ok=1
    while read -r id; do grep "tip $id not delivered" "$2" | grep -q "$3" || ok=0; done <"$1"
    [ -s "$1" ] && [ $ok -eq 1 ]
}

# ---- 1. through random cuts, counted by the proxy ----
mkdir -p "$T/a"
"$B/helpers/uplink_fixture" "$T/a" "http://127.0.0.1:1/" 8 12 uplink_backoff_base_ms=20 \
    uplink_backoff_cap_ms=200 uplink_chunks_per_patch=4 >"$T/a/ids" 2>"$T/a/fixture.log" ||
    { cat "$T/a/fixture.log"; echo "FAIL uplink_counts_fixture"; exit 0; }
relay "$T/a" "$T/a/post/registry.db" || { echo "FAIL uplink_counts_relay_starts"; exit 0; }
seed=$(od -An -N2 -tu2 /dev/urandom | tr -d ' ')
"$B/helpers/countproxy" --target "127.0.0.1:$RPORT" --port-file "$T/a/pport" \
    --stats-file "$T/a/pstats" --log-file "$T/a/proxy.log" --seed "$seed" --cuts 6 \
    --gap-min 5000 --gap-max 60000 2>"$T/a/proxy.err" &
proxy=$!
pids="$pids $proxy"
wait_file "$T/a/pport" || { echo "FAIL uplink_counts_proxy_starts"; exit 0; }
sed -i "s|^relay_url = .*|relay_url = http://127.0.0.1:$(cat "$T/a/pport")/|" "$T/a/kiosk/kiosk.conf"
timeout -s KILL 300 "$B/homthu-uplink" --config "$T/a/kiosk/kiosk.conf" --once >"$T/a/uplink.log" 2>&1
rc=$?
kill "$proxy"
wait "$proxy" 2>/dev/null
wait_file "$T/a/pstats"
line=$(grep ' delivered, ' "$T/a/uplink.log" | tail -1)
sent=$(echo "$line" | sed -n 's/.*; \([0-9]*\) bytes sent .*/\1/p')
body=$(echo "$line" | sed -n 's/.*, \([0-9]*\) of envelope, .*/\1/p')
resent=$(echo "$line" | sed -n 's/.* of envelope, \([0-9]*\) re-sent.*/\1/p')
sums=$(sed -n 's/.* delivered: .* requests, \([0-9]*\) bytes sent (headers included), \([0-9]*\) of envelope, \([0-9]*\) re-sent$/\1 \2 \3/p' \
    "$T/a/uplink.log" | awk '{ s += $1; b += $2; r += $3; n++ } END { print n, s, b, r }')
echo "    seed $seed: $(head -1 "$T/a/pstats")"
echo "    homthu-uplink: $sent bytes sent, $body of envelope, $resent re-sent; per-tip lines (n sent body re-sent): $sums"
counted=0
[ -n "$sent" ] && [ "$sent" = "$(field client_bytes "$T/a/pstats")" ] &&
    [ "$body" = "$(field body_bytes "$T/a/pstats")" ] && [ "$resent" = "$(field twice "$T/a/pstats")" ] &&
    [ "$(field cuts "$T/a/pstats")" = 6 ] && counted=1
if [ $rc -ne 0 ] || [ $counted -ne 1 ]; then # what the reader of a failure needs
    for f in uplink.log pstats proxy.err proxy.log relay.log; do
        echo "    --- $f ---"
        sed 's/^/    /' "$T/a/$f"
    done
fi
check uplink_once_delivers_everything_and_exits_0 \
    "[ $rc -eq 0 ] && grep -q ': 8 delivered, 0 set aside' '$T/a/uplink.log' && ! grep -Eq 'tips? not delivered\$' '$T/a/uplink.log'"
check uplink_counts_the_cuts_happened "[ '$(field cuts "$T/a/pstats")' = 6 ]"
check uplink_counts_bytes_sent_as_the_proxy_received_them \
    "[ -n '$sent' ] && [ '$sent' = '$(field client_bytes "$T/a/pstats")' ]"
check uplink_counts_envelope_bytes_as_the_proxy_received_them \
    "[ -n '$body' ] && [ '$body' = '$(field body_bytes "$T/a/pstats")' ]"
check uplink_counts_re_sent_bytes_as_the_proxy_saw_offsets_twice \
    "[ -n '$resent' ] && [ '$resent' = '$(field twice "$T/a/pstats")' ]"
check uplink_counts_per_tip_lines_add_up_to_the_run "[ '$sums' = '8 $sent $body $resent' ]"
envs=$(cat "$T"/a/envelopes/* | wc -c)
check uplink_counts_each_byte_once_plus_the_re_sent "[ \$(($envs + ${resent:-0})) = '${body:-x}' ]"

# ---- 2. the relay is down: --once says so and exits 3 ----
mkdir -p "$T/b"
down=$(free_port)
"$B/helpers/uplink_fixture" "$T/b" "http://127.0.0.1:$down/" 2 8 uplink_backoff_base_ms=20 \
    uplink_backoff_cap_ms=100 uplink_probe_seconds=1 >"$T/b/ids" 2>"$T/b/fixture.log"
timeout -s KILL 120 "$B/homthu-uplink" --config "$T/b/kiosk/kiosk.conf" --once >"$T/b/uplink.log" 2>&1
rc=$?
sed 's/^/    /' "$T/b/uplink.log" | tail -3
check uplink_once_with_the_relay_down_exits_3 "[ $rc -eq 3 ]"
check uplink_once_names_each_tip_and_says_the_relay_is_unreachable \
    "names_all '$T/b/ids' '$T/b/uplink.log' '(offline): cannot reach the relay'"

# ---- 3. a relay that does not know this kiosk: --once says so and exits 3 ----
mkdir -p "$T/c" "$T/other"
"$B/helpers/uplink_fixture" "$T/other" "http://127.0.0.1:1/" 0 8 >/dev/null 2>&1
relay "$T/other" "$T/other/post/registry.db" || { echo "FAIL uplink_counts_relay_starts"; exit 0; }
"$B/helpers/uplink_fixture" "$T/c" "http://127.0.0.1:$RPORT/" 2 8 uplink_backoff_base_ms=20 \
    uplink_backoff_cap_ms=100 >"$T/c/ids" 2>"$T/c/fixture.log"
timeout -s KILL 120 "$B/homthu-uplink" --config "$T/c/kiosk/kiosk.conf" --once >"$T/c/uplink.log" 2>&1
rc=$?
sed 's/^/    /' "$T/c/uplink.log" | tail -3
check uplink_once_refused_device_exits_3 "[ $rc -eq 3 ]"
check uplink_once_names_each_tip_and_says_the_relay_refuses_the_kiosk \
    "names_all '$T/c/ids' '$T/c/uplink.log' '(device): the relay refuses this kiosk (403 unknown device'"
check uplink_once_keeps_the_tips "'$B/homthu-queue' '$T/c/kiosk/data' | grep -Eq '^waiting: +2 tips,'"
exit 0
