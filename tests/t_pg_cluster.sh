#!/bin/sh
# The fixture the province relay's tests stand on (tests/pg/, issue 14):
# real PostgreSQL 15 servers and a real HAProxy, each its own process.
# A primary takes a table from psql; a standby streams it; replication is
# synchronous (with the standby stopped a commit waits, and returns once the
# standby is back); the standby, promoted after the primary is killed with
# -9, takes writes and holds every row whose commit returned; HAProxy in
# front of two HTTP backends goes round robin and keeps answering when one
# is killed with -9. As root, the servers run as the system user homthu-pg.
# Nothing is left running or on disk. Prints "PASS name" / "FAIL name".
# shellcheck disable=SC2317,SC2119 # functions run through check, nodes by their default names
set -u
: "${HOMTHU_ROOT:=$PWD}"
T=$(mktemp -d "${TMPDIR:-/tmp}/homthu-pgcluster-XXXXXX")
failed=0
WEB1='' WEB2='' WAITER=''
. "$HOMTHU_ROOT/tests/pg/cluster.sh"
. "$HOMTHU_ROOT/tests/pg/haproxy.sh"

cleanup() {
    for p in $WAITER $WEB1 $WEB2; do kill -9 "$p" 2>/dev/null && wait "$p" 2>/dev/null; done
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
        echo "PASS pg_cluster_$name"
    else
        echo "FAIL pg_cluster_$name"
        failed=1
    fi
}

not() { ! "$@"; }

# until SECONDS command...: poll until it succeeds.
until_ok() {
    end=$(($(date +%s) + $1))
    shift
    while :; do
        "$@" && return 0
        [ "$(date +%s)" -ge "$end" ] && return 1
        sleep 0.2
    done
}

count_is() { # node want
    [ "$(pg_psql "$1" -c "SELECT count(*) FROM tips" 2>/dev/null)" = "$2" ]
}

# -- PostgreSQL ------------------------------------------------------------

pg_init "$T/pg" || { echo "FAIL pg_cluster_setup (pg_init)"; exit 1; }

primary_writes() {
    pg_start_primary || return 1
    pg_psql primary -c "CREATE TABLE tips (id int PRIMARY KEY, body text NOT NULL)" \
        -c "INSERT INTO tips SELECT i, 'tip ' || i FROM generate_series(1, 3) i" || return 1
    count_is primary 3
}
check primary_up_and_written_with_psql primary_writes
[ "$failed" = 0 ] || exit 1

not_root_server() {
    pid=$(pg_pid primary) || return 1
    uid=$(awk '/^Uid:/ { print $2 }' "/proc/$pid/status")
    if [ "$(id -u)" = 0 ]; then
        [ "$uid" = "$(id -u homthu-pg)" ] && [ "$(stat -c %U "$T/pg/primary/data")" = homthu-pg ]
    else
        [ "$uid" = "$(id -u)" ]
    fi
}
check server_runs_unprivileged not_root_server
check url_is_loopback_homthu [ "$(pg_url primary)" = "postgresql://homthu@127.0.0.1:$(pg_port primary)/homthu" ]

standby_streams() {
    pg_start_standby || return 1
    until_ok 60 count_is standby 3 || return 1
    [ "$(pg_psql_admin primary -c "SELECT sync_state FROM pg_stat_replication WHERE application_name = 'standby'")" = sync ]
}
check standby_streams_synchronously standby_streams
check standby_refuses_writes not pg_psql standby -c "INSERT INTO tips VALUES (100, 'no')" 2>/dev/null
check standby_has_its_own_port [ "$(pg_port standby)" != "$(pg_port primary)" ]

# Synchronous means synchronous: the standby down, a commit on the primary
# waits for it (its backend waits on SyncRep), and returns once it is back.
pg_stop standby
timeout 180 "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -d "$(pg_url primary)" \
    -c "INSERT INTO tips VALUES (4, 'tip 4')" >"$T/waiter.log" 2>&1 &
WAITER=$!
syncrep_wait() {
    [ "$(pg_psql_admin primary -c "SELECT count(*) FROM pg_stat_activity WHERE wait_event = 'SyncRep'")" = 1 ]
}
commit_waits() {
    until_ok 60 syncrep_wait || return 1
    sleep 3
    kill -0 "$WAITER" 2>/dev/null
}
check commit_waits_while_standby_is_down commit_waits

commit_returns() {
    pg_start standby || return 1
    n=600
    while [ "$n" -gt 0 ] && kill -0 "$WAITER" 2>/dev/null; do
        sleep 0.1
        n=$((n - 1))
    done
    wait "$WAITER"
    rc=$?
    WAITER=
    [ "$rc" = 0 ] || { cat "$T/waiter.log"; return 1; }
    until_ok 60 count_is standby 4
}
check commit_returns_once_standby_is_back commit_returns

# Commits acknowledged one by one, then the primary dies (-9) and the
# standby is promoted: every acknowledged row is there, and it takes writes.
acked=4
for i in $(seq 5 24); do
    pg_psql primary -c "INSERT INTO tips VALUES ($i, 'tip $i')" || break
    acked=$i
done
check primary_acknowledges_commits [ "$acked" = 24 ]
# gone PID...: none of them runs (a zombie not yet reaped is gone).
gone() {
    for p in "$@"; do
        [ -d "/proc/$p" ] && [ "$(sed 's/^.*) //' "/proc/$p/stat" 2>/dev/null | cut -d' ' -f1)" != Z ] && return 1
    done
    return 0
}
PRIMARY_PIDS=$(pg_pids primary)
check kill_9_primary pg_kill primary
# shellcheck disable=SC2086 # a list of pids
check killed_primary_has_no_process_left gone $PRIMARY_PIDS
check promote_standby pg_promote standby
promoted_has_all() {
    [ "$(pg_psql standby -c "SELECT count(*) || ' ' || min(id) || ' ' || max(id) FROM tips")" = "$acked 1 $acked" ]
}
check promoted_standby_has_every_committed_row promoted_has_all
promoted_writes() {
    pg_psql standby -c "INSERT INTO tips VALUES (1000, 'after failover')" || return 1
    count_is standby $((acked + 1))
}
check promoted_standby_accepts_writes promoted_writes

# -- HAProxy ---------------------------------------------------------------

# web NAME: a trivial HTTP server on a port of the kernel's choosing (no
# race for it), saying NAME at /who; its pid in $WEB, its port in $T/NAME.port.
web() {
    mkdir -p "$T/$1"
    echo "$1" >"$T/$1/who"
    /usr/bin/python3 -c '
import functools, http.server, sys
h = functools.partial(http.server.SimpleHTTPRequestHandler, directory=sys.argv[1])
s = http.server.ThreadingHTTPServer(("127.0.0.1", 0), h)
open(sys.argv[2] + ".tmp", "w").write(str(s.server_address[1]))
__import__("os").rename(sys.argv[2] + ".tmp", sys.argv[2])
s.serve_forever()' "$T/$1" "$T/$1.port" </dev/null >"$T/$1.log" 2>&1 &
    WEB=$!
    until_ok 60 test -s "$T/$1.port"
}
web web1 && WEB1=$WEB
web web2 && WEB2=$WEB

get_who() { curl -s --max-time 30 "$(hap_url)/who"; }

round_robin() {
    hap_start "$T/haproxy" http "$(cat "$T/web1.port")" "$(cat "$T/web2.port")" || return 1
    hap_wait_up 2 60 || return 1
    : >"$T/who"
    for _ in 1 2 3 4; do get_who >>"$T/who"; done
    [ "$(grep -c web1 "$T/who")" = 2 ] && [ "$(grep -c web2 "$T/who")" = 2 ]
}
check haproxy_round_robin round_robin

# Killed with -9 and not yet seen down by the health checks: the refused
# connections are redispatched to the other backend, nothing fails.
survives_kill() {
    kill -9 "$WEB1" && wait "$WEB1" 2>/dev/null
    WEB1=
    for _ in 1 2 3 4 5 6 7 8 9 10; do
        [ "$(get_who)" = web2 ] || return 1
    done
    hap_wait_up 1 60
}
check haproxy_keeps_answering_after_kill_9 survives_kill

# -- Cleanup ---------------------------------------------------------------

nothing_left() {
    pids="$(pg_pids standby) $HAP_PID"
    # A postmaster and its workers, HAProxy.
    [ "$(echo "$pids" | wc -w)" -ge 5 ] || { echo "  only: $pids"; return 1; }
    kill "$WEB2" && wait "$WEB2" 2>/dev/null
    WEB2=''
    hap_cleanup
    pg_cleanup
    [ ! -e "$T/pg" ] && [ ! -e "$T/haproxy" ] || return 1
    # shellcheck disable=SC2086 # a list of pids
    gone $pids || return 1
    for p in /proc/[0-9]*; do
        case "$(tr '\0' ' ' 2>/dev/null <"$p/cmdline")" in *"$T/"*) echo "  left: $p" && return 1 ;; esac
    done
    return 0
}
check cleanup_leaves_no_process_or_folder nothing_left
exit "$failed"
