#!/bin/sh
# The uploader's figures, run by bench_uplink (make bench). Prints; never
# fails on a number.
#  1. Bytes re-sent per cut: 30 tips through the counting proxy (20 cuts
#     at random bytes) to the relay on loopback, at 8 and at 1 chunk(s)
#     per PATCH: the kiosk's figure, the proxy's own count beside it, and
#     how much of it had already reached the relay.
#  2. Goodput on a 64 kbit/s link: two network namespaces joined by veth,
#     `tc tbf rate 64kbit burst 4kb latency 400ms` on both ends, the relay
#     in one, homthu-uplink in the other, ~200 KB of tips. Baseline in the
#     same run over the same link: a plain curl PUT of the same bytes.
#     Needs root, ip and tc: skipped with the reason otherwise.
set -u
: "${HOMTHU_BUILD:=build/release}"
ROOT=${HOMTHU_ROOT:-$PWD}
case "$HOMTHU_BUILD" in /*) B=$HOMTHU_BUILD ;; *) B="$ROOT/$HOMTHU_BUILD" ;; esac
T=$(mktemp -d "${TMPDIR:-/tmp}/homthu-bench-uplink-XXXXXX")
NK="hu-k-$$"
NR="hu-r-$$"
PIDS=""
cleanup() {
    for p in $PIDS; do kill "$p" 2>/dev/null; done
    for p in $PIDS; do wait "$p" 2>/dev/null; done
    left=""
    for p in $PIDS; do kill -0 "$p" 2>/dev/null && left="$left $p"; done
    if [ -n "$left" ]; then
        echo "  processes left running after the bench:$left: killing them"
        for p in $left; do kill -KILL "$p" 2>/dev/null; done
    fi
    # What runs inside the namespaces (a relay started in a $(...) subshell
    # never reaches PIDS): ended by namespace, whoever started it.
    for ns in "$NK" "$NR"; do
        ns_pids=$(ip netns pids "$ns" 2>/dev/null)
        [ -n "$ns_pids" ] || continue
        kill $ns_pids 2>/dev/null
        i=0
        while [ $i -lt 50 ] && [ -n "$(ip netns pids "$ns" 2>/dev/null)" ]; do
            sleep 0.1
            i=$((i + 1))
        done
        ns_pids=$(ip netns pids "$ns" 2>/dev/null)
        if [ -n "$ns_pids" ]; then
            echo "  processes left running in $ns after the bench: $(echo $ns_pids): killing them"
            kill -KILL $ns_pids 2>/dev/null
        fi
    done
    ip netns del "$NK" 2>/dev/null
    ip netns del "$NR" 2>/dev/null
    rm -rf "$T"
}
trap cleanup EXIT INT TERM

for p in homthu-relay homthu-uplink helpers/countproxy helpers/uplink_fixture; do
    [ -x "$B/$p" ] || { echo "bench_uplink: $B/$p missing: run make MODE=release"; exit 1; }
done

wait_file() { # file
    i=0
    while [ ! -s "$1" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
    [ -s "$1" ]
}

# relay_conf DIR LISTEN: a relay.conf for the fixture's registry.
relay_conf() {
    cat >"$1/relay.conf" <<EOF
listen = $2
database = relay.db
registry = post/registry.db
post_token = bench-token-0123456789abcdefghijklmnopqrstuvwxyz
device_requests_per_minute = 100000
EOF
}

# ---- 1. bytes re-sent per cut ----
# resent_per_cut CPP MODE: 30 tips of 12 chunks through the counting proxy
# (tests/helpers/countproxy), 20 cuts at random bytes (seeded: the same
# positions each run), the relay side closed (MODE close) or left open and
# mute as a radio cut leaves it (silent). The kiosk's figures from its
# log, the proxy's own count beside them.
resent_per_cut() { # chunks_per_patch mode
    d="$T/cut$1$2"
    "$B/helpers/uplink_fixture" "$d" "http://127.0.0.1:1/" 30 12 >/dev/null || return 1
    relay_conf "$d" 127.0.0.1:0
    # The relay prints no port: listen on a free one chosen by a throwaway bind.
    port=$(python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])')
    sed -i "s/^listen = .*/listen = 127.0.0.1:$port/" "$d/relay.conf"
    (cd "$d" && exec "$B/homthu-relay" --config relay.conf >relay.log 2>&1) &
    rp=$!
    PIDS="$PIDS $rp"
    i=0
    until curl -s -o /dev/null -X OPTIONS "http://127.0.0.1:$port/files/" || [ $i -ge 100 ]; do
        sleep 0.1
        i=$((i + 1))
    done
    "$B/helpers/countproxy" --target "127.0.0.1:$port" --port-file "$d/pport" --seed 3 \
        --cuts 20 --gap-min 20000 --gap-max 120000 --relay-cut "$2" --stats-file "$d/pstats" \
        2>"$d/proxy.err" &
    pp=$!
    PIDS="$PIDS $pp"
    wait_file "$d/pport" || return 1
    sed -i "s|^relay_url = .*|relay_url = http://127.0.0.1:$(cat "$d/pport")/|" "$d/kiosk/kiosk.conf"
    printf 'uplink_chunks_per_patch = %s\nuplink_backoff_base_ms = 10\nuplink_backoff_cap_ms = 100\n' \
        "$1" >>"$d/kiosk/kiosk.conf"
    timeout -s KILL 300 "$B/homthu-uplink" --config "$d/kiosk/kiosk.conf" --once \
        --max-failures 100 >"$d/uplink.log" 2>&1
    kill "$pp" 2>/dev/null
    wait "$pp" 2>/dev/null # the proxy writes its counts once the kiosk's connections are closed
    kill "$rp" 2>/dev/null
    wait "$rp" 2>/dev/null
    line=$(grep ' delivered, ' "$d/uplink.log" | tail -1)
    delivered=$(echo "$line" | sed -n 's/.*: \([0-9]*\) delivered.*/\1/p')
    failed=$(echo "$line" | sed -n 's/.*set aside, \([0-9]*\) failed.*/\1/p')
    sent=$(echo "$line" | sed -n 's/.*; \([0-9]*\) bytes sent .*/\1/p')
    body=$(echo "$line" | sed -n 's/.*, \([0-9]*\) of envelope, .*/\1/p')
    resent=$(echo "$line" | sed -n 's/.* of envelope, \([0-9]*\) re-sent.*/\1/p')
    st=$(head -1 "$d/pstats" 2>/dev/null)
    f() { echo "$st" | tr ' ' '\n' | grep -A1 -x "$1" | tail -1; }
    total=$(cat "$d"/envelopes/* | wc -c)
    echo "  $1 chunk(s)/PATCH, relay side $2 at a cut: $delivered/30 tips ($total B) through $(f cuts) cuts" \
        "($failed failed attempts)"
    echo "    kiosk: ${sent:-?} B sent (headers included), ${body:-?} of envelope, ${resent:-?} re-sent"
    echo "    proxy: $(f client_bytes) B received, $(f body_bytes) of envelope, $(f twice) at offsets received before," \
        "$(f relay_twice) of them had reached the relay"
    awk -v r="${resent:-0}" -v p="$(f twice)" -v q="$(f relay_twice)" -v c="$(f cuts)" -v k=4113 'BEGIN {
        if (c > 0) {
            printf "    re-sent per cut: %.0f B = %.2f chunks by the kiosk (proxy: %.0f B);", r / c, r / c / k, p / c
            printf " of what had reached the relay %.0f B = %.2f chunks (goal <= 1 chunk of %d B)\n", q / c, q / c / k, k
        } }'
}
echo "bytes re-sent per cut (counting proxy, loopback, 20 cuts at random bytes):"
resent_per_cut 8 close || echo "  (failed: see above)"
resent_per_cut 8 silent || echo "  (failed: see above)"
resent_per_cut 1 silent || echo "  (failed: see above)"

# ---- 2. goodput on 64 kbit/s ----
echo "goodput on a 64 kbit/s link (tc tbf in network namespaces):"
why=""
[ "$(id -u)" -eq 0 ] || why="not root"
command -v ip >/dev/null 2>&1 || why="${why:+$why, }no ip (iproute2)"
command -v tc >/dev/null 2>&1 || why="${why:+$why, }no tc (iproute2)"
command -v curl >/dev/null 2>&1 || why="${why:+$why, }no curl for the baseline"
if [ -z "$why" ]; then
    if ! { ip netns add "$NK" && ip netns add "$NR" &&
        ip link add vk netns "$NK" type veth peer name vr netns "$NR" &&
        ip -n "$NK" addr add 10.203.0.1/30 dev vk && ip -n "$NR" addr add 10.203.0.2/30 dev vr &&
        ip -n "$NK" link set vk up && ip -n "$NR" link set vr up &&
        ip -n "$NK" link set lo up && ip -n "$NR" link set lo up &&
        tc -n "$NK" qdisc add dev vk root tbf rate 64kbit burst 4kb latency 400ms &&
        tc -n "$NR" qdisc add dev vr root tbf rate 64kbit burst 4kb latency 400ms; } 2>"$T/netns.err"; then
        why="cannot set up the namespaces: $(head -c 200 "$T/netns.err")"
    fi
fi
if [ -n "$why" ]; then
    echo "  skipped: $why"
    exit 0
fi
cat >"$T/sink.py" <<'EOF'
import http.server, sys
class H(http.server.BaseHTTPRequestHandler):
    def do_PUT(self):
        n = int(self.headers['Content-Length'])
        while n > 0:
            c = self.rfile.read(min(n, 65536))
            if not c: break
            n -= len(c)
        self.send_response(204); self.end_headers()
    def log_message(self, *a): pass
http.server.HTTPServer(('10.203.0.2', 9000), H).serve_forever()
EOF
ip netns exec "$NR" python3 "$T/sink.py" &
PIDS="$PIDS $!"

# goodput CPP PORT: 4 tips of 12 chunks (198,432 bytes, about 25 s at
# 8,000 B/s) to a fresh relay, CPP chunks per PATCH. Prints seconds.
# Runs in $(...): it stops its own relay (PIDS does not reach the caller).
goodput() {
    d="$T/tc$1"
    "$B/helpers/uplink_fixture" "$d" "http://10.203.0.2:$2/" 4 12 \
        "uplink_chunks_per_patch=$1" >/dev/null || return 1
    relay_conf "$d" "10.203.0.2:$2"
    (cd "$d" && exec ip netns exec "$NR" "$B/homthu-relay" --config relay.conf >relay.log 2>&1) &
    rp=$!
    sleep 1
    t0=$(date +%s.%N)
    # A test network between two namespaces: plain http, allowed plainly.
    ip netns exec "$NK" timeout -s KILL 300 "$B/homthu-uplink" --config "$d/kiosk/kiosk.conf" \
        --once --max-failures 5 --insecure-http >"$d/uplink.log" 2>&1
    rc=$?
    t1=$(date +%s.%N)
    kill "$rp" 2>/dev/null
    wait "$rp" 2>/dev/null
    if [ $rc -ne 0 ] || ! grep -q ' 4 delivered' "$d/uplink.log"; then
        sed 's/^/    /' "$d/uplink.log" | tail -5 >&2
        return 1
    fi
    awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }'
}

sleep 1
"$B/helpers/uplink_fixture" "$T/base" "http://x/" 4 12 >/dev/null || exit 1
cat "$T"/base/envelopes/* >"$T/all.bin"
bytes=$(wc -c <"$T/all.bin")
base=$(ip netns exec "$NK" curl -s -o /dev/null -H 'Expect:' -T "$T/all.bin" \
    -w '%{time_total}' http://10.203.0.2:9000/bulk)
awk -v n="$bytes" -v tb="$base" 'BEGIN { link = 64000 / 8; g = n / tb
    printf "  baseline, curl PUT of the same %d B:  %5.1f s, %4.0f B/s = %5.1f%% of the link\n", n, tb, g, 100 * g / link }'
port=8080
for cpp in ${HOMTHU_UPLINK_CPP:-8 4}; do
    port=$((port + 1))
    if tu=$(goodput "$cpp" "$port"); then
        awk -v n="$bytes" -v tb="$base" -v tu="$tu" -v c="$cpp" 'BEGIN { link = 64000 / 8
            gb = n / tb; gu = n / tu
            printf "  homthu-uplink, %2d chunks per PATCH:  %5.1f s, %4.0f B/s = %5.1f%% of the link (goal >= 90%%); %.2f of the baseline\n", c, tu, gu, 100 * gu / link, gu / gb }'
    else
        echo "  homthu-uplink, $cpp chunks per PATCH: failed (log above)"
    fi
done
