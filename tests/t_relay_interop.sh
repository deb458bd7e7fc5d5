#!/bin/sh
# The relay with a tus 1.0 client that is not ours: tus-js-client 4 (npm) in
# Node uploads real envelopes to a running homthu-relay, signing each
# request with the kiosk's device key in onBeforeRequest (Node's Ed25519).
# It uploads in one PATCH, in many small PATCHes through POST +
# X-HTTP-Method-Override, resumes an upload it abandoned (HEAD), and
# terminates one (DELETE); then the relay must say Homthu-Verified: yes on
# HEAD and the post API must list and serve the tips byte for byte.
#
# Needs node and npm (Debian: nodejs, npm). tus-js-client is installed into
# build/interop/ by tools/interop-deps.sh (pinned, retried); without the
# network that fails and this test says FAIL: it never passes without
# having run.
# Prints "PASS name" / "FAIL name" lines for tests/run.sh.
set -u
: "${HOMTHU_BUILD:=build/debug}"
: "${HOMTHU_ROOT:=$PWD}"
B="$HOMTHU_BUILD"
case "$B" in /*) ;; *) B="$HOMTHU_ROOT/$B" ;; esac
INTEROP="$HOMTHU_ROOT/build/interop"
T=$(mktemp -d "${TMPDIR:-/tmp}/homthu-interop-XXXXXX")
RELAY_PID=""
cleanup() {
    [ -n "$RELAY_PID" ] && kill "$RELAY_PID" 2>/dev/null && wait "$RELAY_PID" 2>/dev/null
    rm -rf "$T"
}
trap cleanup EXIT

fail() { # name, reason
    echo "FAIL relay_interop_$1 ($2)"
    exit 1
}

for f in homthu-relay homthu-provision helpers/relay_envelope; do
    [ -x "$B/$f" ] || fail setup "$B/$f missing: run make"
done
command -v node >/dev/null 2>&1 || { echo "FAIL relay_interop (node unavailable: apt-get install nodejs npm)"; exit 1; }

if ! "$HOMTHU_ROOT/tools/interop-deps.sh" "$INTEROP" 2>"$T/npm.log"; then
    echo "FAIL relay_interop (tus-js-client could not be installed: $(tail -n1 "$T/npm.log"))"
    exit 1
fi

# The post, one kiosk enrolled, the relay.
export HOMTHU_PWHASH=min HOMTHU_PASSPHRASE="interop passphrase, test only"
"$B/homthu-provision" post-init --dir "$T/post" >"$T/prov.log" 2>&1 &&
    "$B/homthu-provision" kiosk-new --post "$T/post" --id interop-01 --out "$T/card" >>"$T/prov.log" 2>&1 ||
    { cat "$T/prov.log"; fail setup "homthu-provision failed"; }
TOKEN=$(head -c 32 /dev/urandom | base64 | tr -d '\n')
cat >"$T/relay.conf" <<EOF
# relay.conf for the interop test
listen = 127.0.0.1:0
database = relay.db
registry = post/registry.db
post_token = $TOKEN
EOF
: >"$T/relay.log"
"$B/homthu-relay" --config "$T/relay.conf" 2>"$T/relay.log" &
RELAY_PID=$!
PORT=""
for _ in $(seq 1 100); do
    PORT=$(sed -n 's/.*listening on .*(port \([0-9]*\),.*/\1/p' "$T/relay.log")
    [ -n "$PORT" ] && break
    sleep 0.05
done
[ -n "$PORT" ] || { cat "$T/relay.log"; fail setup "the relay did not start"; }

for n in 1 2 3 4; do
    "$B/helpers/relay_envelope" "$T/card/device.key" "$T/post/post.pub" "$T/tip$n.env" $((n * 30000)) \
        >"$T/tip$n.id" || fail setup "cannot make envelope $n"
done

cat >"$T/interop.js" <<'EOF'
'use strict';
const fs = require('fs');
const crypto = require('crypto');
const path = require('path');
const tus = require(path.join(process.env.INTEROP, 'node_modules', 'tus-js-client'));
const T = process.env.T;
const base = 'http://127.0.0.1:' + process.env.PORT;

// device.key: line 2 the public key, line 3 libsodium's seed || public key (docs/keys.md).
const lines = fs.readFileSync(path.join(T, 'card', 'device.key'), 'utf8').split('\n');
const pub = lines[1].replace('public-key: ', '').trim();
const seed = Buffer.from(lines[2].replace('secret-key: ', '').trim(), 'base64').subarray(0, 32);
const key = crypto.createPrivateKey({
  key: Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), seed]),
  format: 'der', type: 'pkcs8' });

// docs/relay-protocol.md: the Authorization every kiosk request carries.
function authorization(method, pathname, offset, length) {
  const ts = String(Math.floor(Date.now() / 1000));
  const text = `homthu-relay-v1\n${method}\n${pathname}\n${ts}\n${offset ?? '-'}\n${length ?? '-'}\n`;
  const sig = crypto.sign(null, Buffer.from(text, 'utf8'), key).toString('base64');
  return `Homthu-Device key="${pub}", ts="${ts}", sig="${sig}"`;
}

function onBeforeRequest(req) {
  const method = req.getHeader('X-HTTP-Method-Override') || req.getMethod();
  req.setHeader('Authorization', authorization(method, new URL(req.getURL()).pathname,
    req.getHeader('Upload-Offset'), req.getHeader('Upload-Length')));
}

let failed = 0;
function check(name, ok, why) {
  console.log(`${ok ? 'PASS' : 'FAIL'} relay_interop_${name}${ok ? '' : ' (' + why + ')'}`);
  if (!ok) failed++;
}

function upload(file, extra) {
  const bytes = fs.readFileSync(file);
  const tipid = bytes.subarray(8, 24).toString('hex'); // the envelope header's tip id
  return new Promise((resolve, reject) => {
    const up = new tus.Upload(bytes, Object.assign({
      endpoint: base + '/files/',
      metadata: { tipid },
      retryDelays: [],
      storeFingerprintForResuming: false,
      onBeforeRequest,
      onError: reject,
      onSuccess: () => resolve({ up, tipid, bytes }),
    }, extra || {}));
    up.start();
  });
}

async function head(tipid) {
  const p = '/files/' + tipid;
  return fetch(base + p, { method: 'HEAD', headers: {
    'Tus-Resumable': '1.0.0', 'Authorization': authorization('HEAD', p) } });
}

async function post(p) {
  return fetch(base + p, { headers: { 'Authorization': 'Bearer ' + process.env.TOKEN } });
}

(async () => {
  const tips = [];
  try {
    const a = await upload(path.join(T, 'tip1.env'));
    check('one_patch_upload', true);
    tips.push(Object.assign(a, { name: 'one_patch' }));
  } catch (e) { check('one_patch_upload', false, e.message); }
  try {
    const b = await upload(path.join(T, 'tip2.env'), { chunkSize: 10000, overridePatchMethod: true });
    check('chunked_upload_with_method_override', true);
    tips.push(Object.assign(b, { name: 'chunked' }));
  } catch (e) { check('chunked_upload_with_method_override', false, e.message); }

  // Abandon an upload after its first chunk, then resume it with a new client from its URL.
  try {
    const bytes = fs.readFileSync(path.join(T, 'tip3.env'));
    const tipid = bytes.subarray(8, 24).toString('hex');
    let url = null;
    await new Promise((resolve, reject) => {
      const up = new tus.Upload(bytes, {
        endpoint: base + '/files/', metadata: { tipid }, chunkSize: 20000, retryDelays: [],
        storeFingerprintForResuming: false, onBeforeRequest, onError: reject,
        onChunkComplete: () => { url = up.url; up.abort().then(resolve, reject); },
      });
      up.start();
    });
    let r = await head(tipid);
    const before = r.headers.get('upload-offset');
    await new Promise((resolve, reject) => {
      const up = new tus.Upload(bytes, { uploadUrl: url, retryDelays: [],
        storeFingerprintForResuming: false, onBeforeRequest, onError: reject, onSuccess: resolve });
      up.start();
    });
    check('resume_from_head', before === '20000', 'offset before resuming was ' + before);
    tips.push({ tipid, bytes, name: 'resumed' });
  } catch (e) { check('resume_from_head', false, e.message); }

  // Termination: start, stop, DELETE through the client's own terminate().
  try {
    const bytes = fs.readFileSync(path.join(T, 'tip4.env'));
    const tipid = bytes.subarray(8, 24).toString('hex');
    let url = null;
    await new Promise((resolve, reject) => {
      const up = new tus.Upload(bytes, {
        endpoint: base + '/files/', metadata: { tipid }, chunkSize: 20000, retryDelays: [],
        storeFingerprintForResuming: false, onBeforeRequest, onError: reject,
        onChunkComplete: () => { url = up.url; up.abort().then(resolve, reject); },
      });
      up.start();
    });
    await tus.Upload.terminate(url, { onBeforeRequest, retryDelays: [] });
    const r = await head(tipid);
    check('terminate', r.status === 404, 'HEAD after DELETE gave ' + r.status);
  } catch (e) { check('terminate', false, e.message); }

  for (const t of tips) {
    const r = await head(t.tipid);
    check('head_says_verified_' + t.name,
      r.status === 200 && r.headers.get('homthu-verified') === 'yes' &&
      r.headers.get('upload-offset') === String(t.bytes.length),
      `HEAD ${r.status}, Homthu-Verified ${r.headers.get('homthu-verified')}`);
  }
  const list = await (await post('/post/tips?after=0')).json();
  const listed = list.tips.map((x) => x.id).sort().join(',');
  const want = tips.map((x) => x.tipid).sort().join(',');
  check('post_lists_every_tip', listed === want && list.tips.every((x) => x.kiosk === 'interop-01'),
    JSON.stringify(list));
  for (const t of tips) {
    const got = Buffer.from(await (await post('/post/tips/' + t.tipid)).arrayBuffer());
    check('post_gets_the_bytes_' + t.name, got.equals(t.bytes),
      `${got.length} bytes, ${t.bytes.length} sent`);
  }
  process.exit(failed ? 1 : 0);
})().catch((e) => { console.log('FAIL relay_interop (' + e.message + ')'); process.exit(1); });
EOF

INTEROP="$INTEROP" T="$T" PORT="$PORT" TOKEN="$TOKEN" timeout 120 node "$T/interop.js"
node_rc=$?
[ $node_rc -eq 0 ] || { echo "  relay log:"; sed 's/^/    /' "$T/relay.log"; }

# What the relay logged: tip ids, sizes, kiosks; never metadata or signatures.
if grep -q 'verified: complete' "$T/relay.log" && ! grep -qE 'tipid|sig=|Bearer' "$T/relay.log" &&
    ! grep -qF "$TOKEN" "$T/relay.log"; then
    echo "PASS relay_interop_log_holds_no_secrets"
else
    echo "FAIL relay_interop_log_holds_no_secrets"
    sed 's/^/    /' "$T/relay.log"
fi

kill "$RELAY_PID"
wait "$RELAY_PID"
rc=$?
RELAY_PID=""
if [ $rc -eq 0 ] && grep -q '^stopped$' "$T/relay.log"; then
    echo "PASS relay_interop_relay_stops_cleanly_on_sigterm"
else
    echo "FAIL relay_interop_relay_stops_cleanly_on_sigterm (exit $rc)"
fi
