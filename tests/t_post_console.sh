#!/bin/sh
# The post console (homthu-post) end to end, against the real relay: kiosks
# make real tips (tests/helpers/maketip), homthu-uplink uploads them to
# homthu-relay on a random loopback port, the console pulls them and an
# officer lists, reads, listens, tracks and exports them. Also: a wrong
# passphrase, a tip the store refused (not confirmed to the relay), a
# tampered envelope in the postbox, a revoked kiosk, a practice tip, a tip
# cut short by a power loss. Prints "PASS name" / "FAIL name".
set -u
: "${HOMTHU_BUILD:=build/debug}"
B=$HOMTHU_BUILD
case "$B" in /*) ;; *) B="$PWD/$B" ;; esac
ROOT=$PWD
PY=/usr/bin/python3
failed=0
T=$(mktemp -d "${TMPDIR:-/tmp}/homthu-console-XXXXXX")
RELAY_PID=
cleanup() {
    [ -n "$RELAY_PID" ] && kill "$RELAY_PID" 2>/dev/null
    rm -rf "$T"
}
trap cleanup EXIT

check() {
    name=$1
    shift
    if "$@"; then
        echo "PASS console_$name"
    else
        echo "FAIL console_$name"
        echo "  output was:"
        sed 's/^/    /' "$T/out" 2>/dev/null | head -40
        failed=1
    fi
}
run() {
    "$@" >"$T/out" 2>&1
    echo $? >"$T/rc"
}
rc_is() { [ "$(cat "$T/rc")" = "$1" ]; }
says() { grep -qF -- "$1" "$T/out"; }
short() { echo "$1" | cut -c1-8; }

for p in homthu-post homthu-provision homthu-relay homthu-uplink helpers/maketip; do
    if [ ! -x "$B/$p" ]; then
        echo "FAIL console_tools_built ($B/$p missing: run make)"
        exit 1
    fi
done

export HOMTHU_PWHASH=min HOMTHU_PASSPHRASE="a long passphrase" TZ=UTC
P="$B/homthu-post"
POST="$T/post"
PORT=$($PY -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
RELAY="http://127.0.0.1:$PORT"
TOKEN=test-token-0123456789abcdef0123456789abcdef

"$B/homthu-provision" post-init --dir "$POST" >/dev/null 2>&1
for k in 1 2; do
    "$B/homthu-provision" kiosk-new --post "$POST" --id na-co-sa-0$k --out "$T/card$k" \
        --relay "$RELAY/" >/dev/null
    mkdir -p "$T/data$k"
    sed -i "s|^data_dir = .*|data_dir = $T/data$k|" "$T/card$k/kiosk.conf"
done
K1="$T/card1/kiosk.conf"
K2="$T/card2/kiosk.conf"

# --- the relay ---
cat >"$T/relay.conf" <<EOF
listen = 127.0.0.1:$PORT
database = $T/relay.db
registry = $POST/registry.db
post_token = $TOKEN
EOF
"$B/homthu-relay" --config "$T/relay.conf" >"$T/relay.log" 2>&1 &
RELAY_PID=$!
up=0
for _ in $(seq 1 50); do
    if curl -s -o /dev/null "$RELAY/files/" -X OPTIONS 2>/dev/null; then up=1; break; fi
    sleep 0.1
done
if [ $up = 0 ]; then
    echo "FAIL console_relay_starts"
    cat "$T/relay.log"
    exit 1
fi

# --- tips, as kiosks make them ---
PCM="$B/fixtures/speech-vi-60s.raw"
[ -f "$PCM" ] || sh "$ROOT/tests/speech.sh" "$PCM" >/dev/null 2>&1
VOICE=$("$B/helpers/maketip" --config "$K1" --pcm "$PCM" --seconds 30 --language hmn \
    --category 2 --text "Muaj neeg nqa tshuaj dhau dej" --when 1)
PRACTICE=$("$B/helpers/maketip" --config "$K1" --text "thử thôi" --training)
CUT=$("$B/helpers/maketip" --config "$K1" --pcm "$PCM" --seconds 20 --cut-short)
"$B/helpers/maketip" --config "$K1" --recover >/dev/null
TAMPER=$("$B/helpers/maketip" --config "$K1" --text "sẽ bị sửa")
STOLEN=$("$B/helpers/maketip" --config "$K2" --text "từ ki-ốt bị mất")
check kiosks_made_tips sh -c "[ ${#VOICE} = 32 ] && [ ${#CUT} = 32 ] && [ ${#STOLEN} = 32 ]"
run "$B/homthu-uplink" --config "$K1" --once --max-failures 3
check kiosk_one_uploads rc_is 0
run "$B/homthu-uplink" --config "$K2" --once --max-failures 3
check kiosk_two_uploads rc_is 0

# --- a pull whose store fails: nothing is confirmed to the relay ---
$PY - "$POST/postbox.db" <<'EOF'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
db.executescript("""
CREATE TABLE tip(seq INTEGER PRIMARY KEY, id BLOB NOT NULL UNIQUE CHECK(length(id) = 16),
  envelope BLOB NOT NULL, digest BLOB NOT NULL CHECK(length(digest) = 32),
  source INTEGER NOT NULL, received INTEGER NOT NULL, stored INTEGER NOT NULL,
  outer_verdict INTEGER NOT NULL,
  status INTEGER NOT NULL DEFAULT 0 CHECK(status BETWEEN 0 AND 4), status_at INTEGER NOT NULL);
CREATE INDEX tip_received ON tip(received);
CREATE TABLE history(seq INTEGER PRIMARY KEY, tip INTEGER NOT NULL REFERENCES tip(seq),
  at INTEGER NOT NULL, status INTEGER NOT NULL, note BLOB NOT NULL);
CREATE TABLE setting(key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TRIGGER full BEFORE INSERT ON tip BEGIN SELECT RAISE(FAIL, 'database or disk is full'); END;
PRAGMA user_version = 1;
""")
db.commit()
EOF
run "$P" pull --post "$POST" --relay "$RELAY" --token "$TOKEN"
check pull_fails_when_the_store_fails rc_is 1
check pull_says_the_tip_was_not_stored says "was not stored"
$PY -c "import sqlite3, sys; d = sqlite3.connect(sys.argv[1]); d.execute('DROP TRIGGER full'); d.commit()" "$POST/postbox.db"

# --- the real pull ---
run "$P" pull --post "$POST" --relay "$RELAY" --token "wrong-token-0123456789abcdef0123456789"
check wrong_relay_token_is_refused says "the relay refused the token"
run "$P" pull --post "$POST" --relay "$RELAY" --token "$TOKEN"
check pull_from_the_relay_succeeds rc_is 0
check pull_stores_every_tip_the_relay_holds says "From the relay: 5 new tips, 0 already here."
check pull_notices_the_unconfirmed_tip_was_not_lost says "tip $(short "$VOICE"): stored (from the relay"
run "$P" pull --post "$POST" --relay "$RELAY" --token "$TOKEN"
check second_pull_finds_nothing_new says "From the relay: 0 new tips"
printf 'relay_url = %s\nrelay_token = %s\n' "$RELAY" "$TOKEN" >"$POST/post.conf"
chmod 600 "$POST/post.conf"
run "$P" pull --post "$POST"
check pull_reads_post_conf rc_is 0

# --- the officer's passphrase ---
HOMTHU_PASSPHRASE="not the passphrase" run "$P" list --post "$POST"
check wrong_passphrase_fails rc_is 1
check wrong_passphrase_exact_message sh -c "[ \"\$(cat '$T/out')\" = 'homthu-post: wrong passphrase for $POST/post.key (or the file is damaged)' ]"
if command -v setsid >/dev/null 2>&1; then
    (unset HOMTHU_PASSPHRASE; setsid "$P" list --post "$POST" </dev/null >"$T/out" 2>&1; echo $? >"$T/rc")
    check no_terminal_says_how_to_give_the_passphrase says "no terminal to ask the passphrase on: set HOMTHU_PASSPHRASE"
else
    echo "FAIL no_terminal_says_how_to_give_the_passphrase (setsid missing: run tools/deps.sh; Debian: util-linux)"
fi

# --- a revoked kiosk and a tampered envelope ---
"$B/homthu-provision" kiosk-revoke --post "$POST" --id na-co-sa-02 --reason "stolen" >/dev/null
$PY - "$POST/postbox.db" "$TAMPER" <<'EOF'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
row = db.execute("SELECT seq, envelope FROM tip WHERE hex(id) = upper(?)", (sys.argv[2],)).fetchone()
env = bytearray(row[1])
env[300] ^= 0x40  # inside chunk 0
db.execute("UPDATE tip SET envelope = ? WHERE seq = ?", (bytes(env), row[0]))
db.commit()
EOF

# --- list ---
run "$P" list --post "$POST"
check list_succeeds rc_is 0
check list_shows_five_tips says "5 tips."
check list_shows_the_voice_tip sh -c "grep -E '^$(short "$VOICE") .* na-co-sa-01 +drugs +hmn +0:30 +new' '$T/out' >/dev/null"
check list_marks_the_practice_tip sh -c "grep -E '^$(short "$PRACTICE") .*PRACTICE - discard' '$T/out' >/dev/null"
check list_marks_the_cut_short_tip sh -c "grep -E '^$(short "$CUT") .*cut short by power loss' '$T/out' >/dev/null"
check list_marks_the_tampered_tip sh -c "grep -E '^$(short "$TAMPER") .*REFUSED: tampered' '$T/out' >/dev/null"
check list_marks_the_revoked_kiosks_tip sh -c "grep -E '^$(short "$STOLEN") .*REFUSED: revoked device' '$T/out' >/dev/null"

# --- show ---
run "$P" show "$(short "$VOICE")" --post "$POST"
check show_succeeds rc_is 0
check show_verdict_complete says "Verdict   complete and signed by enrolled kiosk na-co-sa-01"
check show_category says "Category  drugs"
check show_language says "Language  hmn"
check show_when says "When      today (as the person said; recorded on "
check show_text says "Muaj neeg nqa tshuaj dhau dej"
check show_received_by_the_relay says "(by the relay)"
run "$P" show "$(short "$PRACTICE")" --post "$POST"
check show_practice says "PRACTICE — discard"
run "$P" show "$(short "$CUT")" --post "$POST"
check show_cut_short says "Verdict   cut short by power loss: kiosk na-co-sa-01 lost power while this tip was being recorded"
run "$P" show "$(short "$TAMPER")" --post "$POST"
check show_tampered_does_not_crash rc_is 0
check show_tampered_says_refused says "Verdict   refused: tampered: chunk 0 fails authentication"
check show_tampered_says_do_not_act says "Do not act on this tip"
check show_tampered_withholds_text sh -c "! grep -q 'sẽ bị sửa' '$T/out'"
run "$P" show "$(short "$STOLEN")" --post "$POST"
check show_revoked_says_refused says "Verdict   refused: revoked device:"
check show_revoked_names_the_kiosk says "Kiosk     na-co-sa-02, revoked "
run "$P" show ffff --post "$POST"
check show_unknown_id says "no tip here has an id starting with ffff"

# --- audio ---
(cd "$T" && "$P" audio "$(short "$VOICE")" --post "$POST" >"$T/out" 2>&1; echo $? >"$T/rc")
check audio_writes_the_default_file sh -c "[ -f '$T/tip-$(short "$VOICE").opus' ]"
check audio_file_is_private sh -c "[ \$(stat -c %a '$T/tip-$(short "$VOICE").opus') = 600 ]"
check audio_file_plays sh -c "opusinfo '$T/tip-$(short "$VOICE").opus' 2>&1 | grep -q 'Playback length: 0m:30'"
run "$P" audio "$(short "$VOICE")" --post "$POST" --out "$T/tip-$(short "$VOICE").opus"
check audio_never_overwrites says "exists already"
run "$P" audio "$(short "$PRACTICE")" --post "$POST"
check audio_of_a_text_tip_says_so says "has no recording"
run "$P" audio "$(short "$TAMPER")" --post "$POST"
check audio_of_a_refused_tip_is_refused says "its recording is not given out"
mkdir -p "$T/bin" "$T/nobin"
printf '#!/bin/sh\ncat\n' >"$T/bin/opusdec"
printf '#!/bin/sh\ncat >"%s"\n' "$T/played" >"$T/bin/aplay"
chmod +x "$T/bin/opusdec" "$T/bin/aplay"
PATH="$T/bin:$PATH" run "$P" audio "$(short "$VOICE")" --post "$POST" --play
check play_uses_opusdec_and_aplay says "Playing with: opusdec --quiet --force-wav - - | aplay -q"
check play_sends_the_recording cmp -s "$T/played" "$T/tip-$(short "$VOICE").opus"
PATH="$T/nobin" run "$P" audio "$(short "$VOICE")" --post "$POST" --play
check play_without_a_player_says_what_to_install says "no audio player found: install opus-tools and alsa-utils"

# --- status ---
run "$P" status "$(short "$VOICE")" checking --note "gọi trưởng bản Na Cô Sa 4" --post "$POST"
check status_changes says "is now checking (was new)."
run "$P" status "$(short "$VOICE")" acted --note "đã thu giữ" --post "$POST"
run "$P" show "$(short "$VOICE")" --post "$POST"
check show_keeps_the_history sh -c "grep -q 'checking  gọi trưởng bản Na Cô Sa 4' '$T/out' && grep -q 'acted     đã thu giữ' '$T/out'"
check show_has_the_new_status says "Status    acted"
run "$P" status "$(short "$VOICE")" done --note x --post "$POST"
check status_refuses_an_unknown_word rc_is 2
run "$P" status "$(short "$VOICE")" closed --post "$POST"
check status_needs_a_note says "--note TEXT is missing"
check postbox_is_private sh -c "[ \$(stat -c %a '$POST/postbox.db') = 600 ]"
check postbox_holds_no_plaintext sh -c "! grep -q -a -e 'trưởng bản' -e 'Muaj neeg' -e 'thử thôi' '$POST/postbox.db' '$POST/postbox.db-wal' 2>/dev/null"

# --- export ---
run "$P" export --out "$T/export" --post "$POST"
check export_succeeds rc_is 0
check export_warns_about_plaintext says "WARNING: this export holds the tips in plaintext. Keep it on an encrypted disk"
check export_has_a_row_per_tip sh -c "[ \$(grep -c '^\"[0-9a-f]\{32\}\"' '$T/export/tips.csv') = 5 ]"
check export_csv_has_the_text grep -q "Muaj neeg nqa tshuaj dhau dej" "$T/export/tips.csv"
check export_csv_has_the_history grep -q "acted: đã thu giữ" "$T/export/tips.csv"
check export_csv_holds_no_audio sh -c "! grep -q -a OggS '$T/export/tips.csv'"
check export_writes_the_recordings sh -c "[ -f '$T/export/$VOICE.opus' ] && [ -f '$T/export/$CUT.opus' ]"
check export_leaves_out_refused_content sh -c "! grep -q 'sẽ bị sửa' '$T/export/tips.csv'"
run "$P" export --out "$T/export" --post "$POST"
check export_refuses_to_overwrite says "already exists: export into a new, empty folder"

# --- usage ---
ok=1
for c in pull list show audio status export; do
    "$P" $c --help >"$T/out" 2>&1 && grep -q "^usage: homthu-post $c" "$T/out" || ok=0
done
check every_command_has_help [ $ok = 1 ]
run "$P" list
check missing_post_is_a_usage_error rc_is 2
run "$P" list --post "$T/nowhere"
check wrong_post_folder_says_what_to_do says "is not a border post's folder"
run "$P" pull --post "$T/post" --relay "$RELAY" --bogus
check unknown_option_is_a_usage_error rc_is 2
run "$P" show --post "$POST"
check show_without_an_id_asks_which_tip sh -c "[ \$(cat '$T/rc') = 2 ] && grep -q 'which tip? give its ID' '$T/out'"
run "$P" audio --post "$POST"
check audio_without_an_id_asks_which_tip sh -c "[ \$(cat '$T/rc') = 2 ] && grep -q 'which tip? give its ID' '$T/out'"

exit $failed
