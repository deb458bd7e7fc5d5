#!/bin/sh
# homthu-uplink against a tus 1.0 server that is not ours: the npm package
# @tus/server with @tus/file-store (pinned by tools/interop-deps.sh to
# releases that run on Debian 12's Node 18 and on Node 20), on a random
# loopback port.
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
[ "$major" -ge 18 ] 2>/dev/null || fail uplink_interop_tus_server "node $major is too old: the pinned @tus/server needs Node 18 (Debian 12's)"
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

# The tip id the server keeps from Upload-Metadata is the id as text, its
# 32 hex digits, so whoever runs a plain tus server can tell tips apart.
node -e '
const fs = require("fs"), path = require("path");
for (const f of fs.readdirSync(process.argv[1]))
  if (f.endsWith(".json")) {
    const m = JSON.parse(fs.readFileSync(path.join(process.argv[1], f))).metadata || {};
    console.log(m.tipid === undefined ? "(no tipid)" : JSON.stringify(m.tipid));
  }' "$T/store" | sort >"$T/stored-ids" 2>"$T/node-ids.log"
for e in "$T"/a/envelopes/*; do echo "\"${e##*/}\""; done | sort >"$T/queue-ids"
if [ -s "$T/queue-ids" ] && cmp -s "$T/stored-ids" "$T/queue-ids"; then
    echo "PASS uplink_interop_server_stores_the_tip_id_as_hex_text"
else
    echo "    the server stored:"; sed 's/^/      /' "$T/stored-ids" "$T/node-ids.log"
    echo "    the queue's ids:"; sed 's/^/      /' "$T/queue-ids"
    echo "FAIL uplink_interop_server_stores_the_tip_id_as_hex_text (Upload-Metadata tipid is not the id's hex text)"
fi

# Kiosk C keeps the default, uplink_require_verified = true: this server
# never says Homthu-Verified, so its tips must stay queued, and --once (a
# technician's "send now") must not say all is well: it exits 3 and names
# every tip left by its full id, with why (docs/uploader.md).
if ! "$FIXTURE" "$T/c" "http://127.0.0.1:$PORT/" 2 8 uplink_backoff_base_ms=50 \
    uplink_backoff_cap_ms=200 >"$T/c-ids" 2>"$T/c-fixture.log"; then
    sed 's/^/    /' "$T/c-fixture.log"
    fail uplink_interop_once_fails_while_tips_wait "cannot make the test tips"
fi
n_c=$(wc -l <"$T/c-ids")
timeout -s KILL 120 "$UPLINK" --config "$T/c/kiosk/kiosk.conf" --once --max-failures 3 \
    >"$T/c-uplink.log" 2>&1
rc=$?
if [ "$rc" -eq 3 ]; then
    echo "PASS uplink_interop_once_fails_while_tips_wait"
else
    sed 's/^/    /' "$T/c-uplink.log" | tail -20
    case $rc in
    137) why="--once did not finish in 120 s" ;;
    0) why="--once exited 0 with $n_c unverified tips still queued" ;;
    *) why="--once exited $rc, not 3 (tips remain)" ;;
    esac
    echo "FAIL uplink_interop_once_fails_while_tips_wait ($why)"
fi
# One line per tip left: its full id, the kind, and the byte count the
# server really holds (the size of the file it stored for that tip).
named=1
while read -r id; do
    line=$(grep "tip $id not delivered (not verified): .*Homthu-Verified" "$T/c-uplink.log")
    held=$(printf '%s\n' "$line" | sed -n 's/.* it holds all \([0-9]*\) bytes .*/\1/p')
    f=$(grep -l "\"tipid\":\"$id\"" "$T"/store/*.json 2>/dev/null | head -n1)
    stored=$( [ -n "$f" ] && wc -c <"${f%.json}" || echo none)
    if [ -z "$line" ] || [ "$held" != "$stored" ]; then
        echo "    tip $id: named as \"${line:-nothing}\"; the server stored $stored bytes"
        named=0
    fi
done <"$T/c-ids"
if [ "$named" -eq 1 ] && [ "$n_c" -eq 2 ] && grep -q "^homthu-uplink: $n_c tips not delivered$" "$T/c-uplink.log"; then
    echo "PASS uplink_interop_once_names_each_waiting_tip_and_why"
else
    sed 's/^/    /' "$T/c-uplink.log" | tail -20
    echo "FAIL uplink_interop_once_names_each_waiting_tip_and_why (each tip left is not named with its id, why and the bytes the server holds)"
fi
waiting=$("$B/homthu-queue" --list "$T/c/kiosk/data" 2>&1 | grep -Ec 'sealed|uploading')
if [ "$waiting" -eq "$n_c" ]; then
    echo "PASS uplink_interop_unverified_tips_stay_queued"
else
    "$B/homthu-queue" --list "$T/c/kiosk/data" 2>&1 | sed 's/^/    /'
    echo "FAIL uplink_interop_unverified_tips_stay_queued ($waiting of $n_c tips still queued)"
fi
