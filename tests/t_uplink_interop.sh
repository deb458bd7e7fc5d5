#!/bin/sh
# homthu-uplink against a tus 1.0 server that is not ours: the npm package
# @tus/server with @tus/file-store under Node 20, on a random loopback port.
# Must show that the uploader speaks plain tus: the envelope the server
# stores is byte-identical to the queue's. The Authorization header means
# nothing there, and such a server never says Homthu-Verified, so this test
# alone sets uplink_require_verified = false (docs/uploader.md).
# Prints "PASS name" / "FAIL name" lines; never a pass without the server.
set -u
: "${HOMTHU_BUILD:=build/debug}"
ROOT=${HOMTHU_ROOT:-$PWD}
B="$ROOT/$HOMTHU_BUILD"
case "$HOMTHU_BUILD" in /*) B=$HOMTHU_BUILD ;; esac
UPLINK="$B/homthu-uplink"
FIXTURE="$B/helpers/uplink_fixture"
INTEROP="$ROOT/build/interop"
T=$(mktemp -d "${TMPDIR:-/tmp}/homthu-interop-XXXXXX")
NODE_PID=""
PROXY_PID=""
cleanup() {
    [ -n "$NODE_PID" ] && kill "$NODE_PID" 2>/dev/null
    [ -n "$PROXY_PID" ] && kill "$PROXY_PID" 2>/dev/null
    if [ -n "${HOMTHU_KEEP:-}" ]; then echo "kept $T"; else rm -rf "$T"; fi
}
trap cleanup EXIT

fail() { # name reason
    echo "FAIL $1 ($2)"
    exit 1
}

for p in "$UPLINK" "$FIXTURE"; do
    [ -x "$p" ] || fail uplink_interop_tus_server "$p missing: run make"
done
command -v node >/dev/null 2>&1 || fail uplink_interop_tus_server "node is not installed (apt-get install nodejs npm)"
major=$(node -e 'process.stdout.write(process.versions.node.split(".")[0])')
[ "$major" -ge 20 ] 2>/dev/null || fail uplink_interop_tus_server "node $major is too old: @tus/server needs Node 20"
if ! "$ROOT/tools/interop-deps.sh" "$INTEROP" 2>"$T/npm.log"; then
    sed 's/^/    /' "$T/npm.log" | tail -20
    fail uplink_interop_tus_server "@tus/server and @tus/file-store could not be installed"
fi

# The server: stock @tus/server + FileStore, nothing Hòm thư about it.
cat >"$INTEROP/uplink-tus-server.mjs" <<'EOF'
import http from 'node:http';
import fs from 'node:fs';
import { Server } from '@tus/server';
import { FileStore } from '@tus/file-store';
const [store, portFile] = process.argv.slice(2);
const tus = new Server({ path: '/files', datastore: new FileStore({ directory: store }) });
const srv = http.createServer((req, res) => tus.handle(req, res));
srv.listen(0, '127.0.0.1', () => {
  fs.writeFileSync(portFile + '.tmp', String(srv.address().port));
  fs.renameSync(portFile + '.tmp', portFile);
});
EOF
mkdir -p "$T/store"
node "$INTEROP/uplink-tus-server.mjs" "$T/store" "$T/port" >"$T/node.log" 2>&1 &
NODE_PID=$!
i=0
while [ ! -s "$T/port" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
[ -s "$T/port" ] || { sed 's/^/    /' "$T/node.log"; fail uplink_interop_tus_server "@tus/server did not start"; }
PORT=$(cat "$T/port")

# Kiosk A: two tips, two chunks per PATCH, straight to the server.
# Kiosk B: a tip of the next size class through the fault proxy, which
# cuts the first connection 20000 bytes in: the uploader must ask the
# server's offset (HEAD) and go on from there.
if ! "$FIXTURE" "$T/a" "http://127.0.0.1:$PORT/" 2 8 uplink_require_verified=false \
    uplink_chunks_per_patch=2 >"$T/ids" 2>"$T/fixture.log"; then
    sed 's/^/    /' "$T/fixture.log"
    fail uplink_interop_tus_server "cannot make the test tips"
fi
"$B/helpers/faultproxy" --target "127.0.0.1:$PORT" --port-file "$T/pport" \
    --script cut:20000 >"$T/proxy.log" 2>&1 &
PROXY_PID=$!
i=0
while [ ! -s "$T/pport" ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
"$FIXTURE" "$T/b" "http://127.0.0.1:$(cat "$T/pport")/" 1 12 uplink_require_verified=false \
    uplink_backoff_base_ms=50 uplink_backoff_cap_ms=200 >>"$T/ids" 2>>"$T/fixture.log" ||
    fail uplink_interop_tus_server "cannot make the test tips"

run_uplink() { # kiosk-dir
    timeout -s KILL 60 "$UPLINK" --config "$1/kiosk/kiosk.conf" --once --max-failures 5 \
        >>"$T/uplink.log" 2>&1
}
if ! run_uplink "$T/a" || ! run_uplink "$T/b"; then
    sed 's/^/    /' "$T/uplink.log"
    fail uplink_interop_tus_server "homthu-uplink did not deliver"
fi
kill "$PROXY_PID" 2>/dev/null
wait "$PROXY_PID" 2>/dev/null
cat "$T"/b/envelopes/* >/dev/null && cp "$T"/b/envelopes/* "$T/a/envelopes/"

# Every envelope must be in the store exactly once, byte for byte.
ok=1
n_env=0
for e in "$T"/a/envelopes/*; do
    n_env=$((n_env + 1))
    matches=0
    for f in "$T"/store/*; do
        case "$f" in *.json) continue ;; esac
        cmp -s "$e" "$f" && matches=$((matches + 1))
    done
    if [ "$matches" -ne 1 ]; then
        echo "    envelope ${e##*/} is stored $matches times"
        ok=0
    fi
done
stored=$(find "$T/store" -type f ! -name '*.json' | wc -l)
if [ "$ok" -eq 1 ] && [ "$n_env" -eq 3 ] && [ "$stored" -eq 3 ]; then
    echo "PASS uplink_interop_tus_server"
else
    echo "    $n_env envelopes, $stored files in the store"
    sed 's/^/    /' "$T/uplink.log"
    fail uplink_interop_tus_server "stored files differ from the queue's envelopes"
fi

# The queue let the tips go (the offset confirmed by HEAD was enough here).
if { "$B/homthu-queue" --list "$T/a/kiosk/data"; "$B/homthu-queue" --list "$T/b/kiosk/data"; } 2>&1 |
    grep -Eq 'sealed|uploading'; then
    fail uplink_interop_queue_emptied "tips still waiting in the queue"
fi
echo "PASS uplink_interop_queue_emptied"

# Kiosk B's tip was cut once and resumed from the server's offset.
if grep -q 'delivered:.* [1-9][0-9]* requests' "$T/uplink.log" &&
    grep -q 'cuts 1 ' "$T/proxy.log"; then
    echo "PASS uplink_interop_resumes_after_a_cut"
else
    sed 's/^/    /' "$T/uplink.log" "$T/proxy.log"
    fail uplink_interop_resumes_after_a_cut "the cut did not happen or was not survived"
fi
