#!/bin/sh
# tests/pg/cluster.sh — real PostgreSQL 15 servers for the province relay's
# tests (issue 14): a primary and, on request, a synchronous streaming
# standby, each its own postmaster started by Debian's initdb and pg_ctl
# (/usr/lib/postgresql/15/bin) in a folder the caller gives, listening on
# a free loopback TCP port.
#
# Sourced (from sh or bash):
#     . "$HOMTHU_ROOT/tests/pg/cluster.sh"
#     pg_init "$T/pg" || exit 1
#     trap 'pg_cleanup' EXIT
#     pg_start_primary && pg_start_standby
#     psql "$(pg_url primary)" ...
# or called, one command a call, the state kept in the folder:
#     tests/pg/cluster.sh DIR start_primary | start_standby | url primary | cleanup ...
#
# Functions (NODE is a name, "primary" and "standby" by default; the names
# stay what they were when the standby is promoted):
#   pg_init DIR                     the folder for every node; makes the OS user when root
#   pg_start_primary [NODE]         initdb + start; role and database "homthu"
#   pg_start_standby [NODE] [FROM]  pg_basebackup -R from FROM (primary), start,
#                                   then FROM waits for it on every commit (a
#                                   second standby of FROM: for any one of them)
#   pg_start NODE                   start again a node that was stopped or killed
#   pg_stop NODE                    pg_ctl stop -m fast
#   pg_kill NODE                    kill -9 the whole server (postmaster and its children)
#   pg_promote NODE                 pg_ctl promote, returns once it accepts writes
#   pg_wait_ready NODE [SECONDS]    until it accepts connections (default 60)
#   pg_url NODE [ROLE]              postgresql://homthu@127.0.0.1:PORT/homthu
#   pg_port NODE, pg_pid NODE, pg_log NODE
#   pg_psql NODE [psql args]        psql as homthu: -X -q -At, stops on the first error
#   pg_psql_admin NODE [psql args]  the same as the superuser "postgres"
#   pg_running NODE                 0 when its postmaster runs
#   pg_pids NODE                    the postmaster's pid and its children's
#   pg_free_port                    a loopback TCP port free right now
#   pg_cleanup                      stop everything, remove DIR (kept with HOMTHU_KEEP=1)
# All return 0 or 1 and say why on stderr; pg_cleanup always returns 0, so
# it can be a trap. They work under set -e and set -u.
#
# PostgreSQL refuses to run as root, and the tests run as root on CI: then
# the servers run as the system user homthu-pg (made once, under a lock, so
# two suites starting together do not both add it), the node folders are
# its own, and DIR and its parents below the temporary folder are opened for
# traversal only (o+x, never listing). Not root: they run as the caller.
#
# Settings (environment, read at pg_init):
#   PG_BIN            default /usr/lib/postgresql/15/bin
#   PG_SYNC_COMMIT    default "on", see below
#   PG_FSYNC          default "on"; "off" is safe against kill -9 (the page
#                     cache survives a process) but not against a host crash
#   PG_MAX_CONNECTIONS  default 200 (two relay nodes with a pool each)
#
# synchronous_commit = on, not remote_apply: a commit returns once the
# standby has the WAL on its disk. That is what "a kiosk hears verified only
# once the tip is on the standby too" needs: a promoted standby replays all
# the WAL it flushed before it takes writes, so promotion loses no
# acknowledged tip. remote_apply would also make the row visible to readers
# of the standby at once, but nobody reads there (relay nodes go to the
# primary), and it ties every commit to the standby's replay, which hot
# standby queries can hold back for max_standby_streaming_delay (30 s).
# Tests that read the standby right after a commit poll for the row.
#
# Also set: dynamic_shared_memory_type = mmap, so a server killed with -9
# leaves no segment in /dev/shm (its files are in the data folder, removed
# with it); pg_cleanup removes the small System V segment a killed
# postmaster leaves.

# shellcheck disable=SC3043 # local: dash (/bin/sh) and bash both have it
PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
PG_OS_USER=${PG_OS_USER:-homthu-pg}
PG_DIR=${PG_DIR:-}

_pg_say() { echo "pg: $*" >&2; }

# _pg_as CMD...: run as the server's OS user, in PG_DIR.
_pg_as() {
    if [ "$(id -u)" = 0 ]; then
        (cd "$PG_DIR" && exec setpriv --reuid="$PG_OS_USER" --regid="$PG_OS_USER" --init-groups \
            env HOME="$PG_DIR" LC_ALL=C.UTF-8 "$@")
    else
        (cd "$PG_DIR" && exec env HOME="$PG_DIR" LC_ALL=C.UTF-8 "$@")
    fi
}

# The OS user, made once. useradd takes /etc/passwd's own lock but fails
# when the user appeared meanwhile; the flock makes "check, then add" one
# step for every suite on this machine.
_pg_os_user() {
    local lockdir
    id -u "$PG_OS_USER" >/dev/null 2>&1 && return 0
    lockdir=/run/lock
    [ -d "$lockdir" ] || lockdir=/tmp
    (
        flock -w 60 9 || { _pg_say "cannot take $lockdir/homthu-pg-user.lock"; exit 1; }
        id -u "$PG_OS_USER" >/dev/null 2>&1 && exit 0
        useradd --system --user-group --no-create-home --home-dir /nonexistent \
            --shell /usr/sbin/nologin --comment "Hom thu test PostgreSQL" "$PG_OS_USER" ||
            id -u "$PG_OS_USER" >/dev/null 2>&1
    ) 9>"$lockdir/homthu-pg-user.lock"
}

pg_free_port() {
    /usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# pg_init DIR
pg_init() {
    local b tmp p
    [ $# -eq 1 ] || { _pg_say "usage: pg_init DIR"; return 1; }
    for b in initdb pg_ctl pg_basebackup psql pg_isready postgres; do
        [ -x "$PG_BIN/$b" ] || { _pg_say "$PG_BIN/$b missing: run tools/deps.sh (Debian: postgresql-15)"; return 1; }
    done
    mkdir -p "$1" || return 1
    PG_DIR=$(cd "$1" && pwd) || return 1
    PG_SYNC_COMMIT=${PG_SYNC_COMMIT:-on}
    PG_FSYNC=${PG_FSYNC:-on}
    PG_MAX_CONNECTIONS=${PG_MAX_CONNECTIONS:-200}
    if [ "$(id -u)" = 0 ]; then
        _pg_os_user || { _pg_say "cannot make the system user $PG_OS_USER"; return 1; }
        # The user must reach DIR: open it and its parents below the
        # temporary folder for traversal (x), never for listing.
        tmp=$(cd "${TMPDIR:-/tmp}" && pwd) || tmp=/tmp
        p=$PG_DIR
        while [ -n "$p" ] && [ "$p" != "/" ] && [ "$p" != "$tmp" ]; do
            case "$p" in "$tmp"/*) chmod o+x "$p" ;; "$PG_DIR") chmod o+x "$p" ;; esac
            p=${p%/*}
        done
        setpriv --reuid="$PG_OS_USER" --regid="$PG_OS_USER" --init-groups test -x "$PG_DIR" || {
            _pg_say "$PG_OS_USER cannot reach $PG_DIR (a parent folder is closed to other users); give a folder under /tmp"
            return 1
        }
    fi
    # A socket path is at most 107 bytes.
    [ ${#PG_DIR} -le 70 ] || { _pg_say "$PG_DIR is too long for a socket path"; return 1; }
    return 0
}

_pg_need() {
    [ -n "$PG_DIR" ] || { _pg_say "pg_init first"; return 1; }
    [ -f "$PG_DIR/$1.port" ] || { _pg_say "no node $1 in $PG_DIR"; return 1; }
}

pg_port() { _pg_need "$1" && cat "$PG_DIR/$1.port"; }
pg_log() { echo "$PG_DIR/$1/server.log"; }
pg_url() { _pg_need "$1" && echo "postgresql://${2:-homthu}@127.0.0.1:$(cat "$PG_DIR/$1.port")/homthu"; }

# pg_pid NODE: the postmaster's pid, or nothing when it does not run.
pg_pid() {
    local f pid
    _pg_need "$1" || return 1
    f="$PG_DIR/$1/data/postmaster.pid"
    [ -f "$f" ] || return 1
    pid=$(head -n1 "$f" 2>/dev/null) || return 1
    [ -n "$pid" ] && _pg_alive "$pid" || return 1
    # The pid of a server killed with -9 may be another process's by now.
    tr '\0' ' ' 2>/dev/null <"/proc/$pid/cmdline" | grep -qF -- "$PG_DIR/$1/data" || return 1
    echo "$pid"
}

# _pg_alive PID: running, not a zombie nobody reaped.
_pg_alive() {
    local line st
    { read -r line <"/proc/$1/stat"; } 2>/dev/null || return 1
    st=${line##*) }
    st=${st%% *}
    [ -n "$st" ] && [ "$st" != Z ] && [ "$st" != X ]
}

pg_running() { pg_pid "$1" >/dev/null 2>&1; }

# pg_pids NODE: the postmaster and its children (for a test to see them gone).
pg_pids() {
    local pid
    pid=$(pg_pid "$1") || return 1
    echo "$pid"
    _pg_children "$pid"
}

pg_psql() {
    local url
    url=$(pg_url "$1") || return 1
    shift
    PGCONNECT_TIMEOUT=10 "$PG_BIN/psql" -X -q -At -v ON_ERROR_STOP=1 -d "$url" "$@"
}

pg_psql_admin() {
    local url
    url=$(pg_url "$1" postgres) || return 1
    url=${url%/homthu}/postgres
    shift
    PGCONNECT_TIMEOUT=10 "$PG_BIN/psql" -X -q -At -v ON_ERROR_STOP=1 -d "$url" "$@"
}

# pg_wait_ready NODE [SECONDS]: accepting connections on its port.
pg_wait_ready() {
    local port end
    port=$(pg_port "$1") || return 1
    end=$(($(date +%s) + ${2:-60}))
    while :; do
        # Our postmaster runs (so it holds the port) and answers there.
        pg_running "$1" && "$PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$port" -U postgres -d postgres -t 5 &&
            return 0
        if ! pg_running "$1"; then
            _pg_say "$1 is not running; its log ends:"
            tail -n 15 "$(pg_log "$1")" >&2 2>/dev/null
            return 1
        fi
        [ "$(date +%s)" -ge "$end" ] && break
        sleep 0.2
    done
    _pg_say "$1 not ready on port $port after ${2:-60} s"
    return 1
}

# _pg_conf NODE PORT [EXTRA]: the settings the fixture owns, in homthu.conf
# (included by postgresql.conf; a standby's copy is rewritten).
_pg_conf() {
    cat >"$PG_DIR/$1/data/homthu.conf" <<EOF
# Written by tests/pg/cluster.sh for node $1.
listen_addresses = '127.0.0.1'
port = $2
unix_socket_directories = '$PG_DIR/$1'
max_connections = $PG_MAX_CONNECTIONS
fsync = $PG_FSYNC
synchronous_commit = $PG_SYNC_COMMIT
dynamic_shared_memory_type = mmap
wal_level = replica
max_wal_senders = 10
max_replication_slots = 10
hot_standby = on
logging_collector = off
log_line_prefix = '%m [%p] $1 '
${3:-}
EOF
    [ "$(id -u)" = 0 ] && chown "$PG_OS_USER:$PG_OS_USER" "$PG_DIR/$1/data/homthu.conf"
    return 0
}

# _pg_node_dir NODE: a fresh folder of the server's user.
_pg_node_dir() {
    [ -e "$PG_DIR/$1" ] && { _pg_say "node $1 exists in $PG_DIR"; return 1; }
    mkdir -m 700 "$PG_DIR/$1" || return 1
    [ "$(id -u)" = 0 ] && chown "$PG_OS_USER:$PG_OS_USER" "$PG_DIR/$1"
    return 0
}

# _pg_start_on_free_port NODE [EXTRA]: start on a new free port, again on
# another one when a process (another suite) took it between our check and
# the bind.
_pg_start_on_free_port() {
    local try port
    for try in 1 2 3 4 5; do
        port=$(pg_free_port) || return 1
        echo "$port" >"$PG_DIR/$1.port"
        _pg_conf "$1" "$port" "${2:-}" || return 1
        [ -f "$PG_DIR/$1/server.log" ] && : >"$PG_DIR/$1/server.log"
        if pg_start "$1" 2>"$PG_DIR/$1.start.err"; then
            rm -f "$PG_DIR/$1.start.err"
            return 0
        fi
        if grep -q 'could not bind\|could not create any TCP/IP sockets\|Address already in use' \
            "$PG_DIR/$1/server.log" 2>/dev/null; then
            _pg_say "port $port taken, try $try; another"
            continue
        fi
        cat "$PG_DIR/$1.start.err" >&2
        return 1
    done
    _pg_say "no free port for $1"
    return 1
}

# pg_start_primary [NODE]
pg_start_primary() {
    local node="${1:-primary}"
    [ -n "$PG_DIR" ] || { _pg_say "pg_init first"; return 1; }
    _pg_node_dir "$node" || return 1
    _pg_as "$PG_BIN/initdb" -D "$PG_DIR/$node/data" -U postgres -A trust -E UTF8 \
        --locale=C.UTF-8 --no-sync --no-instructions >"$PG_DIR/$node/initdb.log" 2>&1 || {
        _pg_say "initdb failed:"
        tail -n 20 "$PG_DIR/$node/initdb.log" >&2
        return 1
    }
    # initdb -A trust lets local and 127.0.0.1 connect, replication too.
    echo "include 'homthu.conf'" >>"$PG_DIR/$node/data/postgresql.conf" || return 1
    _pg_start_on_free_port "$node" || return 1
    pg_psql_admin "$node" -c "CREATE ROLE homthu LOGIN" -c "CREATE DATABASE homthu OWNER homthu" >/dev/null || {
        _pg_say "cannot create the homthu role and database on $node"
        return 1
    }
}

# pg_start_standby [NODE] [FROM]
pg_start_standby() {
    local node="${1:-standby}" from="${2:-primary}" fport end st names
    fport=$(pg_port "$from") || return 1
    _pg_node_dir "$node" || return 1
    # -R writes standby.signal and primary_conninfo with this connection's
    # application_name, the name synchronous_standby_names waits for; -C -S
    # a slot, so the primary keeps the WAL while the standby is down.
    # --checkpoint=fast: else it waits for the next timed checkpoint.
    _pg_as "$PG_BIN/pg_basebackup" -d "host=127.0.0.1 port=$fport user=postgres application_name=$node" \
        -D "$PG_DIR/$node/data" -X stream -C -S "$node" -R --checkpoint=fast --no-sync \
        >"$PG_DIR/$node/basebackup.log" 2>&1 || {
        _pg_say "pg_basebackup from $from failed:"
        tail -n 20 "$PG_DIR/$node/basebackup.log" >&2
        return 1
    }
    # Promoted, it has no standby of its own: it must not wait for one.
    # FROM's postgresql.auto.conf (ALTER SYSTEM), copied with the rest,
    # may name standbys; a line appended there is the last word.
    echo "synchronous_standby_names = ''" >>"$PG_DIR/$node/data/postgresql.auto.conf" || return 1
    _pg_start_on_free_port "$node" || return 1
    # FROM waits for this standby on every commit; with several, for any
    # one of them (ANY 1: each commit is on the primary and one standby).
    echo "$node" >>"$PG_DIR/$from.standbys"
    names=$(sed 's/.*/"&"/' "$PG_DIR/$from.standbys" | paste -sd, -)
    case "$names" in *,*) names="ANY 1 ($names)" ;; esac
    pg_psql_admin "$from" -c "ALTER SYSTEM SET synchronous_standby_names = '$names'" \
        -c "SELECT pg_reload_conf()" >/dev/null || return 1
    end=$(($(date +%s) + 60))
    while :; do
        st=$(pg_psql_admin "$from" -c "SELECT state || ' ' || sync_state FROM pg_stat_replication
                                       WHERE application_name = '$node'" 2>/dev/null) || st=''
        case "$st" in "streaming sync" | "streaming quorum") return 0 ;; esac
        [ "$(date +%s)" -ge "$end" ] && break
        sleep 0.2
    done
    _pg_say "$node does not stream synchronously from $from (state: '${st:-none}')"
    return 1
}

# pg_start NODE: start an existing node on its port (pg_ctl -w).
pg_start() {
    _pg_need "$1" || return 1
    pg_running "$1" && return 0
    _pg_as "$PG_BIN/pg_ctl" start -D "$PG_DIR/$1/data" -l "$PG_DIR/$1/server.log" -w -t 60 \
        >/dev/null 2>&1 || {
        _pg_say "$1 did not start; its log ends:"
        tail -n 15 "$PG_DIR/$1/server.log" >&2 2>/dev/null
        return 1
    }
    pg_wait_ready "$1" 60
}

# pg_stop NODE: a fast shutdown (sessions ended, a clean checkpoint).
pg_stop() {
    _pg_need "$1" || return 1
    pg_running "$1" || return 0
    _pg_as "$PG_BIN/pg_ctl" stop -D "$PG_DIR/$1/data" -m fast -w -t 60 >/dev/null 2>&1 || {
        _pg_say "$1 did not stop"
        return 1
    }
}

# _pg_wait_gone PID [SECONDS]
_pg_wait_gone() {
    local n=$((${2:-20} * 10))
    while [ $n -gt 0 ]; do
        _pg_alive "$1" || return 0
        sleep 0.1
        n=$((n - 1))
    done
    return 1
}

# pg_kill NODE: kill -9 the postmaster and every process of its server, as
# a machine that dies. Each child of a postmaster is a process group of its
# own (setsid), so no one group holds the server: the postmaster is stopped
# first (it can fork no new child), then all of them are killed.
pg_kill() {
    local pid kids k
    pid=$(pg_pid "$1") || return 0
    kill -STOP "$pid" 2>/dev/null || :
    kids=$(_pg_children "$pid")
    # shellcheck disable=SC2086 # a list of pids
    kill -9 "$pid" $kids 2>/dev/null || :
    _pg_wait_gone "$pid" 20 || { _pg_say "$1 ($pid) survived kill -9"; return 1; }
    for k in $kids; do _pg_wait_gone "$k" 20 || :; done
    return 0
}

# _pg_children PID: its direct children (/proc/N/stat read by the shell,
# no process a line: a busy machine has many).
_pg_children() {
    local s line rest ppid
    for s in /proc/[0-9]*/stat; do
        { read -r line <"$s"; } 2>/dev/null || continue
        rest=${line##*) }
        ppid=${rest#* }
        ppid=${ppid%% *}
        if [ "$ppid" = "$1" ]; then
            s=${s%/stat}
            echo "${s#/proc/}"
        fi
    done
    return 0
}

# pg_promote NODE: the standby becomes a primary; returns once a
# read-write transaction works there.
pg_promote() {
    local end
    _pg_need "$1" || return 1
    _pg_as "$PG_BIN/pg_ctl" promote -D "$PG_DIR/$1/data" -w -t 60 >/dev/null 2>&1 || {
        _pg_say "pg_ctl promote $1 failed; its log ends:"
        tail -n 15 "$PG_DIR/$1/server.log" >&2 2>/dev/null
        return 1
    }
    end=$(($(date +%s) + 60))
    while :; do
        [ "$(pg_psql_admin "$1" -c "SELECT pg_is_in_recovery()::text || ' ' || current_setting('transaction_read_only')" 2>/dev/null)" = "false off" ] &&
            return 0
        [ "$(date +%s)" -ge "$end" ] && break
        sleep 0.2
    done
    _pg_say "$1 does not accept writes after promotion"
    return 1
}

# _pg_shm_cleanup NODE: a postmaster killed with -9 leaves its postmaster.pid
# and its System V segment (key, id on the pid file's line 7); remove the
# segment when nothing is attached to it any more.
_pg_shm_cleanup() {
    local f key
    f="$PG_DIR/$1/data/postmaster.pid"
    [ -f "$f" ] || return 0
    # shellcheck disable=SC2046 # two numbers: key, id
    set -- $(sed -n 7p "$f")
    [ $# -eq 2 ] || return 0
    key=$(printf '0x%08x' "$1" 2>/dev/null) || return 0
    ipcs -m 2>/dev/null | awk -v k="$key" -v id="$2" '$1 == k && $2 == id && $6 == 0 { f = 1 } END { exit !f }' &&
        ipcrm -m "$2" 2>/dev/null
    return 0
}

# pg_cleanup: every node ended (immediate, then -9), nothing left in
# /dev/shm or System V, DIR removed unless HOMTHU_KEEP is set.
pg_cleanup() {
    local pf n
    [ -n "$PG_DIR" ] && [ -d "$PG_DIR" ] || return 0
    for pf in "$PG_DIR"/*.port; do
        [ -f "$pf" ] || continue
        n=${pf##*/}
        n=${n%.port}
        if pg_running "$n"; then
            _pg_as "$PG_BIN/pg_ctl" stop -D "$PG_DIR/$n/data" -m immediate -w -t 20 >/dev/null 2>&1 ||
                pg_kill "$n" 2>/dev/null || :
        fi
        _pg_shm_cleanup "$n"
    done
    if [ -z "${HOMTHU_KEEP:-}" ]; then
        rm -rf "$PG_DIR"
    else
        _pg_say "kept $PG_DIR"
    fi
    return 0
}

# Called, not sourced: cluster.sh DIR COMMAND [ARGS...].
case "${0##*/}" in
cluster.sh)
    [ $# -ge 2 ] || { echo "usage: $0 DIR init|start_primary|start_standby|start|stop|kill|promote|wait_ready|url|port|pid|psql|psql_admin|cleanup [ARGS]" >&2; exit 2; }
    d=$1 cmd=$2
    shift 2
    if [ "$cmd" = init ]; then pg_init "$d"; exit; fi
    [ -d "$d" ] || { echo "pg: $d: no such folder (init first)" >&2; exit 1; }
    PG_DIR=$(cd "$d" && pwd)
    PG_SYNC_COMMIT=${PG_SYNC_COMMIT:-on} PG_FSYNC=${PG_FSYNC:-on} PG_MAX_CONNECTIONS=${PG_MAX_CONNECTIONS:-200}
    "pg_$cmd" "$@"
    ;;
esac
