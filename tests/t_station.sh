#!/bin/sh
# The post station (homthu-station) through its HTTP API, as the page uses
# it, with curl: first start, login and lockout, roles, the post key's
# lock, tips pulled from a real relay in the background, a tip opened and
# its recording served in ranges, status with notes, the audit trail,
# kiosks revoked from the page, and bad input: forged cross-site POSTs,
# a stolen cookie after logout, traversal, oversize requests, a relay that
# is down, a damaged postbox, a full disk. The page itself is tested in a
# browser by t_station_browser.sh. Prints "PASS name" / "FAIL name".
set -u
: "${HOMTHU_BUILD:=build/debug}"
B=$HOMTHU_BUILD
case "$B" in /*) ;; *) B="$PWD/$B" ;; esac
ROOT=$PWD
PY=/usr/bin/python3
T=$(mktemp -d "${TMPDIR:-/tmp}/homthu-station-XXXXXX")
failed=0
. "$ROOT/tests/station-fixture.sh"
trap 'fixture_stop; if [ "$failed" = 0 ] || [ -z "${HOMTHU_KEEP:-}" ]; then rm -rf "$T"; else echo "kept $T"; fi' EXIT

check() {
    name=$1
    shift
    if "$@"; then
        echo "PASS station_$name"
    else
        echo "FAIL station_$name"
        echo "  last answer: $(cat "$T/code" 2>/dev/null) $(head -c 600 "$T/out" 2>/dev/null)"
        echo "  station $STATION_PID at '$STATION_URL': $(kill -0 "$STATION_PID" 2>/dev/null && echo running || echo gone)"
        echo "  station log:"
        tail -n 15 "$T/station.log" 2>/dev/null | sed 's/^/    /'
        failed=1
    fi
}

for p in homthu-station homthu-post homthu-provision homthu-relay homthu-uplink helpers/maketip; do
    [ -x "$B/$p" ] || { echo "FAIL station_tools_built ($B/$p missing: run make)"; exit 1; }
done

# api JAR METHOD PATH [name=value ...]: the answer in $T/out, its status in $T/code,
# its headers in $T/headers. A POST carries the jar's CSRF token ($T/JAR.csrf).
api() {
    jar=$1 method=$2 path=$3
    shift 3
    csrf=$(cat "$T/$jar.csrf" 2>/dev/null)
    if [ "$method" = POST ]; then
        # Each name=value its own --data-urlencode, spaces kept.
        n=$#
        while [ "$n" -gt 0 ]; do
            set -- "$@" --data-urlencode "$1"
            shift
            n=$((n - 1))
        done
        curl -s -o "$T/out" -D "$T/headers" -w '%{http_code}' -b "$T/$jar.jar" -c "$T/$jar.jar" \
            -H "X-CSRF-Token: $csrf" -X POST "$@" --data-urlencode "_=1" \
            "$STATION_URL$path" >"$T/code"
    else
        curl -s -o "$T/out" -D "$T/headers" -w '%{http_code}' -b "$T/$jar.jar" -c "$T/$jar.jar" \
            "$STATION_URL$path" >"$T/code"
    fi
}
code_is() { [ "$(cat "$T/code")" = "$1" ]; }
says() { grep -qF -- "$1" "$T/out"; }
header() { grep -qi -- "$1" "$T/headers"; }
# json EXPR: evaluate a Python expression over the answer as `j`.
json() { $PY -c "import json,sys; j=json.load(open(sys.argv[1])); print($1)" "$T/out" 2>/dev/null; }
json_is() { [ "$(json "$1")" = "$2" ]; }
remember_csrf() { json 'j["csrf"]' >"$T/$1.csrf"; }
# wait_for SECONDS JAR PATH EXPR WANT: poll until the answer's EXPR is WANT.
wait_for() {
    n=$(($1 * 5))
    while [ $n -gt 0 ]; do
        api "$2" GET "$3"
        [ "$(json "$4")" = "$5" ] && return 0
        n=$((n - 1))
        sleep 0.2
    done
    return 1
}

fixture_relay || { echo "FAIL station_fixture_relay"; cat "$T/relay.log"; exit 1; }
fixture_tips 20 || { echo "FAIL station_fixture_tips"; cat "$T/uplink.log"; exit 1; }
fixture_station --idle-lock-seconds 600 ||
    { echo "FAIL station_starts"; cat "$T/station.log"; exit 1; }
echo "PASS station_starts"

# --- the page and its headers ---
api x GET /
check serves_the_page eval "code_is 200 && says '<html'"
check page_has_a_strict_csp header "content-security-policy: default-src 'none'; script-src 'self'"
check page_cannot_be_framed header "x-frame-options: DENY"
api x GET /app.js
check script_is_served_as_script header "content-type: text/javascript"
api x GET /../../etc/passwd
check traversal_is_refused eval "code_is 404 && ! says 'root:'"
curl -s --path-as-is -o "$T/out" -w '%{http_code}' "$STATION_URL/i18n/../../../../etc/passwd" >"$T/code"
check traversal_as_is_is_refused eval "code_is 404 && ! says 'root:'"

# --- first start ---
api x GET /api/state
check first_start_needs_setup json_is 'j["setup_needed"]' True
check state_says_no_one_is_logged_in json_is 'j["me"]' None
CODE=$(cat "$POST/station-setup-code")
check setup_code_file_is_private eval "[ \"\$(stat -c %a '$POST/station-setup-code')\" = 600 ]"
check setup_code_is_in_the_log grep -qF "$CODE" "$T/station.log"
api cmd POST /api/setup code=0000-0000-0000 name=chihuy password=mat-khau-dai-1
check wrong_setup_code_is_refused eval "code_is 403 && says '\"setup_code\"'"
api cmd POST /api/setup "code=$CODE" name=chihuy password=short
check weak_password_is_refused eval "code_is 400 && says weak_password"
api cmd POST /api/setup "code=$CODE" name=chihuy password=mat-khau-dai-1
check setup_makes_the_commander eval "code_is 200 && json_is 'j[\"me\"][\"role\"]' commander"
remember_csrf cmd
check session_cookie_is_httponly_and_strict header "set-cookie: homthu_session=.*HttpOnly; SameSite=Strict"
check setup_code_is_gone_after eval "[ ! -e '$POST/station-setup-code' ]"
api x POST /api/setup "code=$CODE" name=ke-gian password=mat-khau-dai-2
check setup_cannot_run_twice code_is 409

# --- tips arrive without anyone asking; locked, only what is outside the seal ---
check tips_are_pulled_in_the_background wait_for 20 cmd /api/state 'j["tips"]["total"]' 4
check state_names_the_post_from_post_conf json_is 'j["post"]' "Đồn Biên phòng Pa Vi"
api cmd GET /api/tips
check locked_list_shows_the_arrival eval "json_is 'j[\"unlocked\"]' False && json_is 'len(j[\"tips\"])' 4"
check locked_list_hides_the_category json_is 'j["tips"][0]["category"]' None
check locked_list_knows_the_kiosk json_is 'j["tips"][0]["kiosk"]' na-co-sa-01
api cmd GET "/api/tips?q=tshuaj"
check search_needs_the_key eval "code_is 423 && says '\"locked\"'"
api cmd GET "/api/tips/$VOICE"
check locked_tip_does_not_open code_is 423

# --- the commander unlocks ---
api cmd POST /api/unlock passphrase=not-the-passphrase
check wrong_passphrase_is_said eval "code_is 401 && says wrong_passphrase"
api cmd POST /api/unlock "passphrase=a long passphrase"
check right_passphrase_unlocks code_is 200
check list_is_indexed_after_unlock wait_for 20 cmd /api/tips 'all(t["indexed"] for t in j["tips"])' True
api cmd GET "/api/tips?q=TSHUAJ"
check search_finds_the_typed_word eval "json_is 'j[\"total\"]' 1 && json_is 'j[\"tips\"][0][\"id\"]' $VOICE"
api cmd GET "/api/tips?category=drugs"
check filter_by_category json_is '[t["id"] for t in j["tips"]]' "['$VOICE']"
api cmd GET /api/tips
check practice_tip_is_marked json_is "[t['verdict'] for t in j['tips'] if t['id']=='$PRACTICE']" "['practice']"
check new_tips_are_unseen json_is 'all(not t["seen"] for t in j["tips"])' True

# --- one tip ---
api cmd GET "/api/tips/$VOICE"
check tip_opens eval "code_is 200 && json_is 'j[\"text\"]' 'Muaj neeg nqa tshuaj dhau dej'"
check tip_says_when_as_said json_is 'j["when"]' yesterday
check tip_answer_is_not_cached header "cache-control: no-store"
api cmd GET "/api/tips/$XSS"
check markup_in_a_tip_is_escaped eval "says '\\u003cscript\\u003e' && ! says '<script>'"
api cmd GET "/api/tips/$VOICE/audio"
check audio_is_ogg eval "code_is 200 && header 'content-type: audio/ogg' && head -c 4 '$T/out' | grep -q OggS"
cp "$T/out" "$T/tip.ogg"
secs=$(opusinfo "$T/tip.ogg" 2>/dev/null | sed -n 's/.*Playback length: \([0-9]*\)m:\([0-9.]*\)s.*/\1 \2/p')
check audio_is_the_whole_recording $PY -c "import sys; m,s=map(float,'$secs'.split()); sys.exit(0 if abs(m*60+s-20)<1.5 else 1)"
curl -s -o "$T/out" -D "$T/headers" -w '%{http_code}' -b "$T/cmd.jar" -H 'Range: bytes=100-199' \
    "$STATION_URL/api/tips/$VOICE/audio" >"$T/code"
check audio_seeks_by_range eval "code_is 206 && [ \$(wc -c <'$T/out') = 100 ] && header 'content-range: bytes 100-199/'"
cmp -s -i 100 -n 100 "$T/out" "$T/tip.ogg" 2>/dev/null || cmp -s "$T/out" "$(dd if="$T/tip.ogg" bs=1 skip=100 count=100 2>/dev/null >"$T/slice"; echo "$T/slice")"
check range_is_those_bytes cmp -s "$T/out" "$T/slice"
api cmd GET /api/tips
check opened_tip_is_seen json_is "[t['seen'] for t in j['tips'] if t['id']=='$VOICE']" "[True]"
api cmd GET /api/state
check new_count_is_what_this_officer_has_not_opened json_is 'j["tips"]["total"] - j["tips"]["new"]' 2

# --- changes need the page's token and its origin ---
curl -s -o "$T/out" -w '%{http_code}' -b "$T/cmd.jar" -X POST --data 'status=acted&note=x' \
    "$STATION_URL/api/tips/$VOICE/status" >"$T/code"
check post_without_csrf_token_is_refused eval "code_is 403 && says '\"csrf\"'"
curl -s -o "$T/out" -w '%{http_code}' -b "$T/cmd.jar" -H "X-CSRF-Token: $(cat "$T/cmd.csrf")" \
    -H 'Origin: http://evil.example' -X POST --data 'status=acted&note=x' \
    "$STATION_URL/api/tips/$VOICE/status" >"$T/code"
check cross_site_post_is_refused eval "code_is 403 && says '\"csrf\"'"
api cmd POST "/api/tips/$VOICE/status" status=checking note=
check status_needs_a_note eval "code_is 400 && says '\"note\"'"
api cmd POST "/api/tips/$VOICE/status" status=checking "note=Gọi trưởng bản xác minh"
check status_changes code_is 200
api cmd GET "/api/tips/$VOICE"
check history_keeps_the_note json_is 'j["history"][-1]["note"]' "Gọi trưởng bản xác minh"
check status_is_shown json_is 'j["status"]' checking

# --- officers and roles ---
api cmd POST /api/officers name=canbo1 role=officer password=mat-khau-can-bo
check commander_adds_an_officer code_is 200
api cmd POST /api/officers name=kythuat role=technician password=mat-khau-ky-thuat
check commander_adds_a_technician code_is 200
api cmd POST "/api/tips/$VOICE/assign" officer=canbo1
check tip_is_assigned code_is 200
api cmd GET "/api/tips/$VOICE"
check assignment_is_shown json_is 'j["assigned"]' canbo1
api cmd POST "/api/tips/$VOICE/assign" officer=
check assignment_clears code_is 200
api cmd GET "/api/tips/$VOICE"
check assignment_is_cleared json_is 'j["assigned"]' ""
api cmd POST "/api/tips/$VOICE/assign" officer=kythuat
check technician_cannot_be_given_a_tip code_is 400
api cmd POST "/api/tips/$VOICE/assign" officer=canbo1
api tech POST /api/login name=kythuat password=mat-khau-ky-thuat
remember_csrf tech
check technician_logs_in code_is 200
api tech GET /api/tips
check technician_sees_no_tips eval "code_is 403 && says forbidden"
api tech GET "/api/tips/$VOICE/audio"
check technician_hears_no_tip code_is 403
api tech GET /api/kiosks
check technician_sees_kiosks eval "code_is 200 && says na-co-sa-01"
api tech GET /api/audit
check technician_reads_no_audit code_is 403
for i in 1 2 3 4 5; do api off POST /api/login name=canbo1 password=sai-mat-khau-$i; done
check wrong_passwords_say_bad_login eval "code_is 401 || code_is 429"
api off POST /api/login name=canbo1 password=mat-khau-can-bo
check lockout_after_five_wrong eval "code_is 429 && says locked_out && header 'retry-after: '"
api off POST /api/login name=no-such-officer password=sai-mat-khau-0
check unknown_name_says_the_same eval "code_is 401 && says bad_login || code_is 429"

# --- a stolen cookie stops working at logout ---
api off POST /api/login name=chihuy password=mat-khau-dai-1
# (the address is rate-limited after the tries above; the commander's own session is used)
cp "$T/cmd.jar" "$T/stolen.jar"
api stolen GET /api/tips
check stolen_cookie_works_before_logout code_is 200
api cmd POST /api/logout
check logout code_is 200
api stolen GET /api/tips
check stolen_cookie_fails_after_logout eval "code_is 401 && says not_logged_in"

api cmd POST /api/login name=chihuy password=mat-khau-dai-1
remember_csrf cmd
check commander_logs_in_again code_is 200

# --- the audit trail: sealed, read by the commander once unlocked ---
api cmd GET /api/audit
check audit_tells_who_opened_and_listened eval "code_is 200 && json_is 'sorted(set(e[\"action\"] for e in j[\"entries\"]) & {\"opened\",\"listened\",\"unlocked\",\"status_changed\",\"assigned\",\"logged_out\"})' \"['assigned', 'listened', 'logged_out', 'opened', 'status_changed', 'unlocked']\""
check audit_is_intact json_is 'j["intact"]' True
check audit_keeps_wrong_passwords json_is 'len([e for e in j["entries"] if e["action"] == "login_failed"]) >= 4' True
check audit_names_the_tip json_is "[e['officer'] for e in j['entries'] if e['action']=='listened' and e['tip']=='$VOICE']" "['chihuy']"
check audit_is_sealed_on_disk eval "! grep -qa 'listened' '$POST/station.db' && ! grep -qa 'chihuy' '$POST/station.db'"

# --- nothing decrypted on disk ---
check no_tip_text_on_disk eval "! grep -rqa 'tshuaj dhau' '$POST' && ! grep -rqa 'Gọi trưởng bản' '$POST'"

# --- lock ---
api cmd POST /api/lock
check lock code_is 200
api cmd GET "/api/tips/$VOICE"
check locked_again_nothing_opens code_is 423
api cmd GET /api/state
check state_says_locked json_is 'j["unlocked"]' False
api cmd POST /api/unlock "passphrase=a long passphrase"

# --- kiosks: revoked from the page, the relay is told ---
api cmd POST /api/kiosks/na-co-sa-02/revoke "reason=mất trộm"
check revoke_tells_the_relay eval "code_is 200 && json_is 'j[\"relay\"]' told"
"$B/helpers/maketip" --config "$K2" --text "từ ki-ốt bị mất" >/dev/null
"$B/homthu-uplink" --config "$K2" --once --max-failures 1 >"$T/out" 2>&1
check revoked_kiosk_is_refused_by_the_relay grep -qi 'revoked' "$T/out"
api cmd GET /api/kiosks
check kiosk_shows_revoked json_is "[k['reason'] for k in j['kiosks'] if k['id']=='na-co-sa-02']" "['mất trộm']"

# --- a kiosk's heartbeat: sealed to the post, opened once unlocked ---
"$B/homthu-uplink" --config "$K1" --heartbeat-once >"$T/out" 2>&1
check kiosk_sends_a_heartbeat wait_for 15 cmd /api/kiosks "[k['heartbeat']['version'] if k['heartbeat'] else None for k in j['kiosks'] if k['id']=='na-co-sa-01']" "['0.1.0']"
check heartbeat_says_nothing_waits json_is "[k['heartbeat']['tips_waiting'] for k in j['kiosks'] if k['id']=='na-co-sa-01']" "[0]"
check heartbeat_gives_the_last_contact json_is "[k['last_contact'] > 0 for k in j['kiosks'] if k['id']=='na-co-sa-01']" "[True]"

# --- a kiosk enrolled from the page ---
NEWKEY=$($PY -c 'import base64, os; print(base64.b64encode(os.urandom(32)).decode())')
api cmd POST /api/kiosks id=na-co-sa-03 "device_key=$NEWKEY" "commune=Na Cô Sa"
check enrol_tells_the_relay eval "code_is 200 && json_is 'j[\"relay\"]' told"
api cmd GET /api/kiosks
check enrolled_kiosk_has_its_commune json_is "[k['commune'] for k in j['kiosks'] if k['id']=='na-co-sa-03']" "['Na Cô Sa']"
api cmd POST /api/kiosks id=na-co-sa-04 device_key=not-a-key
check enrol_refuses_a_bad_key eval "code_is 400 && says bad_request"
api cmd POST /api/kiosks id=na-co-sa-05 "device_key=$NEWKEY"
check enrol_refuses_a_key_held_already code_is 409
api cmd POST /api/kiosks id=na-co-sa-03 "device_key=$NEWKEY"
check enrol_again_only_tells_the_relay eval "code_is 200 && json_is 'j[\"relay\"]' told"

"$B/homthu-provision" kiosk-new --post "$POST" --id na-co-sa-06 --out "$T/card6" \
    --relay "$RELAY/" >"$T/out" 2>>"$T/provision.log"
KEY6=$(sed -n '/public device key/{n;s/^ *//;p}' "$T/out")
api cmd POST /api/kiosks id=na-co-sa-06 "device_key=$KEY6" "commune=Pa Vi"
check kiosk_new_prints_the_key_the_page_enrols eval "code_is 200 && json_is 'j[\"relay\"]' told"

# --- oversize and malformed requests ---
head -c 70000 /dev/zero | tr '\0' a >"$T/big"
{ printf 'status=acted&note='; cat "$T/big"; } >"$T/bigform"
curl -s -o "$T/out" -w '%{http_code}' -b "$T/cmd.jar" -H "X-CSRF-Token: $(cat "$T/cmd.csrf")" \
    -X POST --data-binary "@$T/bigform" -H 'Content-Type: application/x-www-form-urlencoded' \
    "$STATION_URL/api/tips/$VOICE/status" >"$T/code"
check oversize_body_is_refused code_is 413
curl -s -o "$T/out" -w '%{http_code}' "$STATION_URL/api/tips?q=$(head -c 3000 "$T/big")" >"$T/code"
check overlong_address_is_refused eval "code_is 414 || code_is 431"
curl -s -o "$T/out" -w '%{http_code}' -b "$T/cmd.jar" -H "X-CSRF-Token: $(cat "$T/cmd.csrf")" \
    -X POST -H 'Content-Type: application/json' --data '{"status":"acted"}' \
    "$STATION_URL/api/tips/$VOICE/status" >"$T/code"
check json_body_is_refused eval "code_is 400 && says bad_request"

# --- the relay goes down: the page says so, and catches up when it is back ---
kill "$RELAY_PID"; wait "$RELAY_PID" 2>/dev/null; RELAY_PID=
check relay_down_is_said wait_for 15 cmd /api/state 'j["pull"]["error"] != ""' True

# --- a full disk while storing: said, and nothing lost ---
# The store's own error path, as SQLite gives it on a full disk: a trigger
# fails every insert while a row says the disk is full. Deleting the row
# frees the room (the running station keeps its connection).
fixture_stop_station
$PY - "$POST/postbox.db" <<'PYEOF'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
db.execute("CREATE TRIGGER full BEFORE INSERT ON tip WHEN EXISTS(SELECT 1 FROM setting WHERE key = 'test.full') BEGIN SELECT RAISE(FAIL, 'database or disk is full'); END")
db.execute("INSERT INTO setting VALUES('test.full', '1')")
db.commit()
PYEOF
fixture_station || { echo "FAIL station_restarts"; failed=1; }
api cmd POST /api/login name=chihuy password=mat-khau-dai-1
remember_csrf cmd
"$B/homthu-relay" --config "$T/relay.conf" >>"$T/relay.log" 2>&1 &
RELAY_PID=$!
FULL=$("$B/helpers/maketip" --config "$K1" --text "khi đĩa đầy")
"$B/homthu-uplink" --config "$K1" --once --max-failures 5 >"$T/uplink.log" 2>&1
check full_disk_is_said wait_for 15 cmd /api/state '"full" in j["pull"]["error"]' True
$PY -c "import sqlite3, sys; d = sqlite3.connect(sys.argv[1]); d.execute(\"DELETE FROM setting WHERE key = 'test.full'\"); d.execute('DROP TRIGGER full'); d.commit()" "$POST/postbox.db"
check tip_arrives_once_there_is_room wait_for 15 cmd /api/state 'j["tips"]["total"]' 5
check pull_error_clears wait_for 10 cmd /api/state 'j["pull"]["error"]' ""
check full_disk_tip_is_the_one_that_waited eval "api cmd GET /api/tips && json_is \"'$FULL' in [t['id'] for t in j['tips']]\" True"

# --- a damaged postbox: the station starts, says so, and changes nothing ---
fixture_stop_station
cp "$POST/postbox.db" "$T/postbox.good"
head -c 8192 /dev/urandom >"$POST/postbox.db"
rm -f "$POST/postbox.db-wal" "$POST/postbox.db-shm"
cp "$POST/postbox.db" "$T/postbox.bad"
fixture_station || { echo "FAIL station_restarts"; failed=1; }
check station_starts_with_a_damaged_postbox [ -n "$STATION_URL" ]
api cmd POST /api/login name=chihuy password=mat-khau-dai-1
api cmd GET /api/state
check damaged_postbox_is_said eval "json_is 'j[\"store\"][\"ok\"]' False && json_is 'j[\"store\"][\"error\"] != \"\"' True"
api cmd GET /api/tips
check damaged_postbox_lists_nothing eval "code_is 503 && says '\"io\"'"
sleep 2
check damaged_postbox_is_left_as_it_was cmp -s "$POST/postbox.db" "$T/postbox.bad"
fixture_stop_station
cp "$T/postbox.good" "$POST/postbox.db"

# --- restart: the key is locked again, sessions end ---
fixture_station || { echo "FAIL station_restarts"; failed=1; }
api cmd GET /api/state
check restart_locks_the_key json_is 'j["unlocked"]' False
check restart_ends_sessions json_is 'j["me"]' None

# --- idle: the key locks itself, a session ends, and the page's poll keeps neither alive ---
fixture_stop_station
fixture_station --idle-lock-seconds 3 --session-idle-seconds 3 || { echo "FAIL station_restarts"; failed=1; }
api cmd POST /api/login name=chihuy password=mat-khau-dai-1
remember_csrf cmd
api cmd POST /api/unlock "passphrase=a long passphrase"
check unlocked_for_the_idle_test code_is 200
for _ in 1 2 3 4 5 6 7 8 9 10 11 12; do api cmd GET /api/state; sleep 0.5; done
check polling_does_not_keep_the_key_unlocked json_is 'j["unlocked"]' False
api cmd GET /api/tips
check polling_does_not_keep_the_session sh -c "[ \"\$(cat '$T/code')\" = 401 ]"
check idle_lock_is_in_the_log grep -q 'locked again (idle)' "$T/station.log"

# --- TLS, as a post runs it: its own certificate, made once, its fingerprint printed ---
fixture_stop_station
cat "$T/station.log" >>"$T/station-all.log"
"$B/homthu-station" --post "$POST" --listen 127.0.0.1:0 --name 127.0.0.1 --pull-seconds 5 \
    >"$T/station.log" 2>&1 &
STATION_PID=$!
TLS_URL=
for _ in $(seq 1 600); do
    grep -q ready "$T/station.log" 2>/dev/null && break
    sleep 0.1
done
TLS_URL=$(sed -n 's|.*serving the officers. page on \(https://[^ ]*\)/$|\1|p' "$T/station.log" | head -n1)
check tls_station_starts eval "[ -n '$TLS_URL' ]"
check tls_certificate_is_made eval "[ -f '$POST/station-cert.pem' ] && [ \"\$(stat -c %a '$POST/station-key.pem')\" = 600 ]"
FP=$(openssl x509 -noout -fingerprint -sha256 -in "$POST/station-cert.pem" 2>/dev/null | sed 's/.*=//')
check tls_fingerprint_is_printed grep -qF "SHA256 $FP" "$T/station.log"
curl -s --cacert "$POST/station-cert.pem" -o "$T/out" -D "$T/headers" -w '%{http_code}' \
    --data-urlencode name=chihuy --data-urlencode password=mat-khau-dai-1 "$TLS_URL/api/login" >"$T/code"
check tls_login_works_with_the_certificate code_is 200
check tls_cookie_is_secure header "set-cookie: homthu_session=.*; Secure"
curl -s -o /dev/null -w '%{http_code}' "$TLS_URL/api/state" >"$T/code" 2>/dev/null
check tls_untrusted_certificate_is_refused_by_a_client code_is 000
check plain_http_elsewhere_is_refused eval "! '$B/homthu-station' --post '$POST' --plain --listen 0.0.0.0:0 >'$T/out' 2>&1 && grep -q 'only on this machine' '$T/out'"

fixture_stop
cat "$T/station.log" >>"$T/station-all.log"
check station_exits_clean_every_time eval "! grep -q 'Sanitizer\|runtime error' '$T/station-all.log'"
check log_holds_no_tip_content eval "! grep -q 'tshuaj\|Gọi trưởng\|OggS' '$T/station-all.log'"

echo "$failed" >"$T/failed"
[ "$failed" = 0 ]
