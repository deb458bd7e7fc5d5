#!/bin/sh
# tests/pg/haproxy.sh — a real HAProxy (Debian's haproxy) in front of the
# relay nodes of a test, as its own process on a free loopback port:
# round robin over the backends, health checks, and a request that meets a
# dead backend (connection refused) tried again on another one (retries +
# option redispatch), so kill -9 of one node is not an error a kiosk sees.
#
# Sourced (from sh or bash):
#     . "$HOMTHU_ROOT/tests/pg/haproxy.sh"
#     trap 'hap_cleanup' EXIT
#     hap_start "$T/haproxy" http "$PORT1" "$PORT2" || exit 1
#     curl "$(hap_url)/files/" ...
# or called: tests/pg/haproxy.sh DIR start MODE PORT... | url | stop | cleanup
#
# Functions:
#   hap_start DIR MODE PORT...  MODE http or tcp; the backends 127.0.0.1:PORT;
#                               sets HAP_DIR, HAP_PORT, HAP_PID; returns once
#                               HAProxy listens
#   hap_url                     http://127.0.0.1:HAP_PORT
#   hap_up                      how many backends the health checks see up
#   hap_wait_up N [SECONDS]     until exactly N backends are up (default 60 s)
#   hap_stop                    ends HAProxy (TERM, then -9)
#   hap_cleanup                 hap_stop, DIR removed (kept with HOMTHU_KEEP=1);
#                               always 0, so it can be a trap
# Settings (environment, read by hap_start):
#   HAP_CHECK  the HTTP health check request, default "GET /"; any answer
#              below 500 counts as up (a relay answers 404 to "/": alive)
#   HAP_TIMEOUT_SERVER  default 60s (a long PATCH on a loaded machine)
#   HAP_OPTIONS  more lines for the defaults section, e.g.
#                "option forwardfor" (only if the relay is to trust it)
#
# HTTP mode retries a request only when the connection to the backend fails
# (retry-on conn-failure, HAProxy's default): a request a node took and
# then died with is not sent twice — an upload PATCH is not idempotent; the
# kiosk resumes it with HEAD, as it would with one relay.

# shellcheck disable=SC3043 # local: dash (/bin/sh) and bash both have it
HAP_DIR=${HAP_DIR:-}
HAP_PORT=${HAP_PORT:-}
HAP_PID=${HAP_PID:-}

_hap_say() { echo "haproxy: $*" >&2; }

_hap_free_port() {
    /usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# _hap_ready: our HAProxy answers on its stats socket. It opens that
# socket with its listeners and exits when one cannot bind, so an answer
# means it holds its port. (A connection to the port would not say that:
# another suite's process may be the one listening there.)
_hap_ready() {
    /usr/bin/python3 -c 'import socket, sys
s = socket.socket(socket.AF_UNIX); s.settimeout(2)
try:
    s.connect(sys.argv[1]); s.sendall(b"show info\n"); d = b""
    while True:
        b = s.recv(65536)
        if not b: break
        d += b
except OSError:
    sys.exit(1)
sys.exit(0 if b"Name: HAProxy" in d else 1)' "$HAP_DIR/haproxy.sock" 2>/dev/null
}

# _hap_config MODE PORT BACKEND...: the configuration on stdout.
_hap_config() {
    local mode="$1" port="$2" i b
    shift 2
    cat <<EOF
# Written by tests/pg/haproxy.sh.
global
    maxconn 4096
    stats socket $HAP_DIR/haproxy.sock mode 600 level admin
    log stderr format short local0 notice

defaults
    mode $mode
    log global
    timeout connect 2s
    timeout client ${HAP_TIMEOUT_SERVER:-60s}
    timeout server ${HAP_TIMEOUT_SERVER:-60s}
    timeout check 2s
    # A connection refused by a dead backend is tried again, on another
    # backend from the first retry on (redispatch 1), before the health
    # checks have noticed it is gone.
    retries 3
    option redispatch 1
${HAP_OPTIONS:-}

frontend relay
    bind 127.0.0.1:$port
    default_backend nodes

backend nodes
    balance roundrobin
    default-server inter 500ms fall 2 rise 2
EOF
    if [ "$mode" = http ]; then
        echo "    option httpchk ${HAP_CHECK:-GET /}"
        echo "    http-check expect rstatus ^[1-4]"
    fi
    i=1
    for b in "$@"; do
        echo "    server node$i 127.0.0.1:$b check"
        i=$((i + 1))
    done
}

# hap_start DIR MODE PORT...
hap_start() {
    local hmode try n
    [ $# -ge 3 ] || { _hap_say "usage: hap_start DIR http|tcp PORT..."; return 1; }
    case "$2" in http | tcp) ;; *) _hap_say "mode is http or tcp, not $2"; return 1 ;; esac
    command -v haproxy >/dev/null 2>&1 || { _hap_say "haproxy missing: run tools/deps.sh"; return 1; }
    mkdir -p "$1" || return 1
    HAP_DIR=$(cd "$1" && pwd) || return 1
    hmode=$2
    shift 2
    for try in 1 2 3 4 5; do
        HAP_PORT=$(_hap_free_port) || return 1
        _hap_config "$hmode" "$HAP_PORT" "$@" >"$HAP_DIR/haproxy.cfg"
        haproxy -c -q -f "$HAP_DIR/haproxy.cfg" >"$HAP_DIR/haproxy.log" 2>&1 || {
            _hap_say "bad configuration:"
            cat "$HAP_DIR/haproxy.log" >&2
            return 1
        }
        # In the foreground (-db), its log on stderr to a file; our shell's
        # child, but the pid is in DIR too for a later call.
        rm -f "$HAP_DIR/haproxy.sock"
        haproxy -db -f "$HAP_DIR/haproxy.cfg" </dev/null >>"$HAP_DIR/haproxy.log" 2>&1 &
        HAP_PID=$!
        echo "$HAP_PID" >"$HAP_DIR/haproxy.pid"
        echo "$HAP_PORT" >"$HAP_DIR/haproxy.port"
        n=600
        while [ $n -gt 0 ]; do
            kill -0 "$HAP_PID" 2>/dev/null || break
            _hap_ready && kill -0 "$HAP_PID" 2>/dev/null && return 0
            sleep 0.1
            n=$((n - 1))
        done
        if kill -0 "$HAP_PID" 2>/dev/null; then
            _hap_say "not listening on $HAP_PORT after 60 s"
            hap_stop
            return 1
        fi
        wait "$HAP_PID" 2>/dev/null || :
        if grep -q 'cannot bind\|Address already in use' "$HAP_DIR/haproxy.log"; then
            _hap_say "port $HAP_PORT taken, try $try; another"
            continue
        fi
        _hap_say "did not start:"
        tail -n 15 "$HAP_DIR/haproxy.log" >&2
        return 1
    done
    _hap_say "no free port"
    return 1
}

hap_url() { echo "http://127.0.0.1:$HAP_PORT"; }

# hap_up: the backends up, from the stats socket ("show stat" CSV, status
# is the 18th field).
hap_up() {
    /usr/bin/python3 - "$HAP_DIR/haproxy.sock" <<'EOF'
import socket, sys
s = socket.socket(socket.AF_UNIX)
s.settimeout(5)
s.connect(sys.argv[1])
s.sendall(b"show stat\n")
data = b""
while True:
    b = s.recv(65536)
    if not b:
        break
    data += b
up = 0
for line in data.decode().splitlines():
    f = line.split(",")
    if len(f) > 17 and f[0] == "nodes" and f[1] not in ("FRONTEND", "BACKEND") and f[17].startswith("UP"):
        up += 1
print(up)
EOF
}

# hap_wait_up N [SECONDS]
hap_wait_up() {
    local end
    end=$(($(date +%s) + ${2:-60}))
    while :; do
        [ "$(hap_up 2>/dev/null)" = "$1" ] && return 0
        [ "$(date +%s)" -ge "$end" ] && break
        sleep 0.2
    done
    _hap_say "$(hap_up 2>/dev/null) backends up, not $1, after ${2:-60} s"
    return 1
}

hap_stop() {
    local n
    [ -n "$HAP_PID" ] || { [ -n "$HAP_DIR" ] && HAP_PID=$(cat "$HAP_DIR/haproxy.pid" 2>/dev/null) || HAP_PID=''; }
    [ -n "$HAP_PID" ] || return 0
    # Only the process we started: its command line names our config.
    if tr '\0' ' ' 2>/dev/null <"/proc/$HAP_PID/cmdline" | grep -qF -- "$HAP_DIR/haproxy.cfg"; then
        kill "$HAP_PID" 2>/dev/null || :
        n=100
        while [ $n -gt 0 ] && [ -d "/proc/$HAP_PID" ] &&
            [ "$(sed 's/^.*) //' "/proc/$HAP_PID/stat" 2>/dev/null | cut -d' ' -f1)" != Z ]; do
            sleep 0.1
            n=$((n - 1))
        done
        [ $n -gt 0 ] || kill -9 "$HAP_PID" 2>/dev/null || :
        wait "$HAP_PID" 2>/dev/null || :
    fi
    rm -f "$HAP_DIR/haproxy.pid"
    HAP_PID=
    return 0
}

hap_cleanup() {
    [ -n "$HAP_DIR" ] || return 0
    hap_stop
    if [ -z "${HOMTHU_KEEP:-}" ]; then
        rm -rf "$HAP_DIR"
    else
        _hap_say "kept $HAP_DIR"
    fi
    return 0
}

# Called, not sourced: haproxy.sh DIR COMMAND [ARGS...].
case "${0##*/}" in
haproxy.sh)
    [ $# -ge 2 ] || { echo "usage: $0 DIR start MODE PORT...|url|up|wait_up N|stop|cleanup" >&2; exit 2; }
    d=$1 cmd=$2
    shift 2
    if [ "$cmd" = start ]; then
        # Called, HAProxy must outlive this script: no wait for it here.
        hap_start "$d" "$@" || exit 1
        hap_url
        exit 0
    fi
    HAP_DIR=$(cd "$d" && pwd) || exit 1
    HAP_PORT=$(cat "$HAP_DIR/haproxy.port" 2>/dev/null) || HAP_PORT=''

    "hap_$cmd" "$@"
    ;;
esac
