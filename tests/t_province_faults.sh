#!/bin/sh
# The province relay under faults (issue 14): a real PostgreSQL 15 primary
# with a synchronous standby (tests/pg/cluster.sh), two posts added with
# `homthu-relay post-add`, two homthu-relay nodes on that database behind a
# real HAProxy (tests/pg/haproxy.sh), and 200 kiosks (tests/helpers/
# kiosk_swarm: threads, each with its own device key, its own queue and the
# real uploader, enrolled through the post API) uploading through HAProxy.
#
#  (a) while they upload, one relay node is killed with -9: every kiosk
#      finishes through the other;
#  (b) the node back, under the same load, the primary is killed with -9
#      and the standby promoted (the nodes' connection string lists both
#      servers with target_session_attrs=read-write): every kiosk finishes;
#  (c) under the same load, the (promoted) server ends every session of the
#      nodes every 0.1 s (pg_terminate_backend: as a cut between a node and
#      the database, or a pooler restarting, would): every kiosk finishes.
#
# After each, for every tip a kiosk was told is verified (and then deleted
# from its queue, as a kiosk does): it is in the database, its post lists
# it once and downloads it byte-identical (BLAKE2b-256 and length as the
# kiosk had it), no tip is listed twice, and the other post's token lists
# none of it and downloads none of it. After (b) and (c) this holds for the
# tips of the phases before too, read from the promoted standby.
#
# Prints PASS/FAIL lines and the figures. PROVINCE_KIOSKS (default 200)
# and PROVINCE_TIPS (tips per kiosk, default 2) make it smaller or bigger.
# shellcheck disable=SC2317 # functions run through check
set -u
: "${HOMTHU_ROOT:=$PWD}"
: "${HOMTHU_BUILD:=build/debug}"
B=$HOMTHU_BUILD
KIOSKS=${PROVINCE_KIOSKS:-200}
TIPS=${PROVINCE_TIPS:-2}
# Text of about this many chunks (padding makes at least 8: 33 KB).
CHUNKS=${PROVINCE_CHUNKS:-16}
# Of the kiosks, this many belong to post b, the rest to post a.
KB=$((KIOSKS / 5))
KA=$((KIOSKS - KB))
# How long a swarm may take, whatever the machine's load: only a relay that
# stopped serving reaches it.
DEADLINE=${PROVINCE_DEADLINE:-150}
T=$(mktemp -d "${TMPDIR:-/tmp}/homthu-provfault-XXXXXX")
failed=0
NODE1='' NODE2='' SWA='' SWB=''
. "$HOMTHU_ROOT/tests/pg/cluster.sh"
. "$HOMTHU_ROOT/tests/pg/haproxy.sh"

cleanup() {
    for p in $SWA $SWB $NODE1 $NODE2; do kill -9 "$p" 2>/dev/null && wait "$p" 2>/dev/null; done
    hap_cleanup
    pg_cleanup
    if [ "$failed" = 0 ] || [ -z "${HOMTHU_KEEP:-}" ]; then rm -rf "$T"; else echo "kept $T"; fi
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

check() { # name command...
    name=$1
    shift
    if "$@"; then
        echo "PASS province_$name"
    else
        echo "FAIL province_$name"
        failed=1
    fi
}

now_ms() { date +%s%3N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", (b - a) / 1000 }'; }

for f in homthu-relay homthu-provision helpers/kiosk_swarm; do
    [ -x "$B/$f" ] || { echo "FAIL province_setup ($B/$f missing: make BUILD=$B)"; exit 1; }
done

# -- PostgreSQL, posts, nodes, HAProxy ------------------------------------

if ! pg_init "$T/pg" || ! pg_start_primary || ! pg_start_standby; then
    echo "FAIL province_setup_postgresql (see above; tools/deps.sh installs postgresql-15)"
    exit 1
fi
DB="postgresql://homthu@127.0.0.1:$(pg_port primary),127.0.0.1:$(pg_port standby)/homthu"
DB="$DB?target_session_attrs=read-write&connect_timeout=5"

export HOMTHU_PWHASH=min HOMTHU_PASSPHRASE="a long passphrase for the test"
for p in a b; do
    "$B/homthu-provision" post-init --dir "$T/post$p" >"$T/post$p.log" 2>&1 ||
        { cat "$T/post$p.log"; echo "FAIL province_setup_post_keys"; exit 1; }
done

# conf N PORT: node N's relay.conf.
conf() {
    cat >"$T/node$1.conf" <<EOF
listen = 127.0.0.1:$2
database = $DB
device_requests_per_minute = 100000
max_connections = 1000
EOF
}

# node N [PORT]: start relay node N (on PORT, else a free one), its pid in
# NODE<N>, its port in $T/node<N>.port; 0 once it answers HTTP.
node() {
    n=$1
    for try in 1 2 3 4 5; do
        port=${2:-$(pg_free_port)}
        conf "$n" "$port"
        "$B/homthu-relay" --config "$T/node$n.conf" </dev/null >>"$T/node$n.log" 2>&1 &
        pid=$!
        eval "NODE$n=$pid"
        echo "$port" >"$T/node$n.port"
        i=0
        while [ $i -lt 300 ] && kill -0 "$pid" 2>/dev/null; do
            code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "http://127.0.0.1:$port/") || code=000
            [ "$code" != 000 ] && return 0
            sleep 0.1
            i=$((i + 1))
        done
        kill -9 "$pid" 2>/dev/null
        wait "$pid" 2>/dev/null
        eval "NODE$n=''"
        [ -n "${2:-}" ] && break
        echo "  node $n on port $port did not start (try $try); its log ends:" >&2
        tail -n 3 "$T/node$n.log" >&2
    done
    return 1
}

setup() {
    for p in a b; do
        "$B/homthu-relay" --config "$T/node1.conf" post-add "post$p" --post-pub "$T/post$p/post.pub" \
            >"$T/post$p.add" 2>&1 || { cat "$T/post$p.add"; return 1; }
        tail -n 1 "$T/post$p.add" >"$T/post$p.token"
        grep -qx '[0-9a-f]\{64\}' "$T/post$p.token" || { cat "$T/post$p.add"; return 1; }
    done
    node 2 && hap_start "$T/haproxy" http "$(cat "$T/node1.port")" "$(cat "$T/node2.port")" &&
        hap_wait_up 2 60
}
conf 1 "$(pg_free_port)" # post-add reads the database from it
node 1 || { echo "FAIL province_setup_node_1"; exit 1; }
check setup_two_posts_two_nodes_behind_haproxy setup
[ "$failed" = 0 ] || exit 1
URL=$(hap_url)
TOKA=$(cat "$T/posta.token")
TOKB=$(cat "$T/postb.token")

# -- the swarm and the checks ---------------------------------------------

# swarms PHASE: post a's kiosks and post b's, uploading through HAProxy.
swarms() {
    "$B/helpers/kiosk_swarm" --relay "$URL/" --post-pub "$T/posta/post.pub" --token "$TOKA" \
        --dir "$T/q$1a" --out "$T/$1a.out" --kiosks "$KA" --tips "$TIPS" --prefix "$1a" \
        --chunks "$CHUNKS" --deadline "$DEADLINE" --quiet 2>"$T/$1a.err" &
    SWA=$!
    "$B/helpers/kiosk_swarm" --relay "$URL/" --post-pub "$T/postb/post.pub" --token "$TOKB" \
        --dir "$T/q$1b" --out "$T/$1b.out" --kiosks "$KB" --tips "$TIPS" --prefix "$1b" \
        --chunks "$CHUNKS" --deadline "$DEADLINE" --quiet 2>"$T/$1b.err" &
    SWB=$!
}

verified() { cat "$T/$1a.out" "$T/$1b.out" 2>/dev/null | grep -c '^tip '; }

# wait_verified PHASE N: until N tips of this phase were told verified.
wait_verified() {
    i=0
    while [ "$(verified "$1")" -lt "$2" ]; do
        kill -0 "$SWA" 2>/dev/null || kill -0 "$SWB" 2>/dev/null || return 1
        [ $i -ge 6000 ] && return 1
        sleep 0.02
        i=$((i + 1))
    done
}

# swarms_end PHASE: both swarms exited 0 (every tip of every kiosk verified).
swarms_end() {
    wait "$SWA"
    ra=$?
    wait "$SWB"
    rb=$?
    SWA='' SWB=''
    for s in a b; do
        grep '^summary' "$T/$1$s.out" | sed "s/^/  $1$s: /"
        grep '^unfinished' "$T/$1$s.out" | head -n 5 | sed "s/^/  $1$s: /"
    done
    [ "$ra" = 0 ] && [ "$rb" = 0 ]
}

cat >"$T/verify.py" <<'EOF'
# verify.py URL DBDUMP TOKEN_A TOKEN_B A_OUT... -- B_OUT...
# The tips the swarms were told verified against the database and the
# post API; prints "kept", "unique", "isolated" with 1 or 0, the reasons on stderr.
import hashlib, json, sys, time, urllib.error, urllib.request
url, dump, tok = sys.argv[1], sys.argv[2], {"posta": sys.argv[3], "postb": sys.argv[4]}
rest = sys.argv[5:]
cut = rest.index("--")
outs = {"posta": rest[:cut], "postb": rest[cut + 1:]}
told = {}
for post, files in outs.items():
    for f in files:
        for line in open(f):
            w = line.split()
            if w and w[0] == "tip":
                told[w[2]] = (post, w[1], int(w[3]), w[4])
db = {}
for line in open(dump):
    w = line.strip().split("|")
    if len(w) == 4:
        db.setdefault(w[0], []).append((w[1], int(w[2]), int(w[3])))
def get1(path, token):
    r = urllib.request.Request(url + path, headers={"Authorization": "Bearer " + token})
    try:
        with urllib.request.urlopen(r, timeout=60) as a:
            return a.status, a.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()
# As a post console does: a 5xx (a node whose connection to the database
# broke in the failover says 503 once, then opens it again) is asked again.
retried = 0
def get(path, token):
    global retried
    for attempt in range(40):
        st, body = get1(path, token)
        if st < 500:
            return st, body
        retried += 1
        time.sleep(0.25)
    return st, body
def listing(token):
    ids, after = [], 0
    while True:
        st, body = get("/post/tips?after=%d&limit=1000" % after, token)
        if st != 200:
            raise SystemExit("listing answered %d" % st)
        j = json.loads(body)
        if not j["tips"]:
            return ids
        ids += [t["id"] for t in j["tips"]]
        after = j["next"]
lists = {p: listing(t) for p, t in tok.items()}
kept = unique = isolated = 1
bad = []
for p, ids in lists.items():
    if len(ids) != len(set(ids)):
        unique = 0
        bad.append("post %s lists %d tips, %d different" % (p, len(ids), len(set(ids))))
for tid, (post, kiosk, n, digest) in sorted(told.items()):
    other = "postb" if post == "posta" else "posta"
    rows = db.get(tid, [])
    if len(rows) != 1 or rows[0][0] != post or rows[0][1] != n or rows[0][2] not in (1, 2):
        kept = 0
        bad.append("tip %s of %s (kiosk %s): in the database as %r" % (tid, post, kiosk, rows))
    if lists[post].count(tid) != 1:
        kept = 0
        bad.append("tip %s of %s listed %d times by its post" % (tid, post, lists[post].count(tid)))
    st, body = get("/post/tips/" + tid, tok[post])
    if st != 200 or len(body) != n or hashlib.blake2b(body, digest_size=32).hexdigest() != digest:
        kept = 0
        bad.append("tip %s of %s: its post downloads %d (%d bytes), not the kiosk's" % (tid, post, st, len(body)))
    if tid in lists[other]:
        isolated = 0
        bad.append("tip %s of %s listed by %s" % (tid, post, other))
    st, body = get("/post/tips/" + tid, tok[other])
    if st == 200 or len(body) >= n:
        isolated = 0
        bad.append("tip %s of %s downloaded by %s (%d)" % (tid, post, other, st))
for b in bad[:20]:
    print("  " + b, file=sys.stderr)
print("told %d listed %d db %d (post API answers 5xx asked again: %d)" % (len(told), sum(len(v) for v in lists.values()), len(db), retried))
print("kept %d unique %d isolated %d" % (kept, unique, isolated))
EOF

# verify NODE PHASE...: the tips of these phases, the database read on NODE.
verify() {
    db=$1
    shift
    pg_psql "$db" -F'|' -c "SELECT encode(id, 'hex'), post, length, state FROM upload
                           WHERE state IN (1, 2)" >"$T/db.dump" || return 1
    fa='' fb=''
    for ph in "$@"; do fa="$fa $T/${ph}a.out" fb="$fb $T/${ph}b.out"; done
    # shellcheck disable=SC2086 # lists of files
    /usr/bin/python3 "$T/verify.py" "$URL" "$T/db.dump" "$TOKA" "$TOKB" $fa -- $fb >"$T/verify.out"
}
has() { grep -q "$1 1" "$T/verify.out"; }

# -- (a) kill -9 a relay node under load -----------------------------------

TOTAL=$((KIOSKS * TIPS))
AT=$((TOTAL / 4))
t0=$(now_ms)
swarms a
if wait_verified a "$AT"; then
    tk=$(now_ms)
    killed_at=$(verified a)
    kill -9 "$NODE1" && wait "$NODE1" 2>/dev/null
    NODE1=''
    node_killed=1
else
    node_killed=0
fi
check node_kill_9_mid_upload [ "$node_killed" = 1 ]
check node_kill_all_kiosks_finish_through_the_other swarms_end a
t1=$(now_ms)
echo "  (a) $KIOSKS kiosks, $(verified a) of $TOTAL tips verified in $(secs "$t0" "$t1") s;" \
    "node 1 killed -9 at $(secs "$t0" "${tk:-$t0}") s, $killed_at tips verified by then"
if verify primary a; then head -n 1 "$T/verify.out" | sed 's/^/  (a) /'; else : >"$T/verify.out"; fi
check node_kill_every_verified_tip_kept_and_fetched_byte_identical has kept
check node_kill_no_tip_listed_twice has unique
check node_kill_other_post_lists_and_downloads_none has isolated

# -- (b) kill -9 the primary, promote the standby, under load -------------

check node_restarted node 1 "$(cat "$T/node1.port")"
hap_wait_up 2 60 >/dev/null 2>&1 || :
t0=$(now_ms)
swarms b
if wait_verified b "$AT"; then
    tk=$(now_ms)
    killed_at=$(verified b)
    pg_kill primary && tkd=$(now_ms) && pg_promote standby
    promoted=$?
    tp=$(now_ms)
    # The first tip verified after the promotion: service is back.
    n=$(verified b)
    i=0
    while [ "$(verified b)" -le "$n" ] && [ $i -lt 1200 ] && kill -0 "$SWA" 2>/dev/null; do
        sleep 0.05
        i=$((i + 1))
    done
    tb=$(now_ms)
else
    promoted=1
fi
check primary_kill_9_and_standby_promoted_mid_upload [ "$promoted" = 0 ]
check failover_all_kiosks_finish swarms_end b
t1=$(now_ms)
echo "  (b) $KIOSKS kiosks, $(verified b) of $TOTAL tips verified in $(secs "$t0" "$t1") s;" \
    "primary killed -9 at $(secs "$t0" "${tk:-$t0}") s, $killed_at tips verified by then;" \
    "promoted $(secs "${tkd:-$t0}" "${tp:-$t0}") s after the kill; first tip verified after it" \
    "$(secs "${tkd:-$t0}" "${tb:-$t0}") s after the kill"
if verify standby a b; then head -n 1 "$T/verify.out" | sed 's/^/  (b) /'; else : >"$T/verify.out"; fi
check failover_every_verified_tip_of_a_and_b_kept_and_fetched_byte_identical has kept
check failover_no_tip_listed_twice has unique
check failover_other_post_lists_and_downloads_none has isolated

# -- (c) the database drops the nodes' connections under load -------------
# What a network cut between a node and the database, a restart of a pooler
# in between, or an administrator's pg_terminate_backend does: the node's
# sessions end in the middle of its transactions, and the server is there
# again at once, so the node's next statement opens a new connection.

t0=$(now_ms)
swarms c
drops=0 rounds=0
if wait_verified c $((TOTAL / 10)); then
    # Every 100 ms (10 rounds a psql), as long as the kiosks upload. (Every
    # 10 ms, no batch of a node lives long enough to commit: nothing is lost,
    # but the kiosks cannot finish either.)
    while kill -0 "$SWA" 2>/dev/null || kill -0 "$SWB" 2>/dev/null; do
        d=$(pg_psql_admin standby -c "DO \$\$ DECLARE n int := 0; BEGIN
                FOR i IN 1..10 LOOP
                    PERFORM pg_stat_clear_snapshot();
                    n := n + (SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
                              WHERE usename = 'homthu' AND backend_type = 'client backend');
                    PERFORM pg_sleep(0.1);
                END LOOP;
                RAISE NOTICE 'dropped %', n; END \$\$" 2>&1 | sed -n 's/.*dropped \([0-9]*\).*/\1/p') || d=0
        drops=$((drops + ${d:-0}))
        rounds=$((rounds + 10))
    done
fi
check dropped_connections_all_kiosks_finish swarms_end c
t1=$(now_ms)
echo "  (c) $KIOSKS kiosks, $(verified c) of $TOTAL tips verified in $(secs "$t0" "$t1") s;" \
    "$drops sessions of the nodes ended by the server in $rounds rounds, 0.1 s apart"
if verify standby a b c; then head -n 1 "$T/verify.out" | sed 's/^/  (c) /'; else : >"$T/verify.out"; fi
check dropped_connections_every_verified_tip_kept_and_fetched_byte_identical has kept
check dropped_connections_no_tip_listed_twice has unique
check dropped_connections_other_post_lists_and_downloads_none has isolated
exit "$failed"
