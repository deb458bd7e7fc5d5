#!/bin/sh
# E-mail delivery end to end, with real servers on random loopback ports:
# kiosk queue → homthu-mailer → SMTP (aiosmtpd: STARTTLS, AUTH) → a Maildir
# → IMAP (dovecot: TLS) → homthu-post pull --imap → list, show, audio.
# Shows: a large tip split into parts and put back together, a part the
# SMTP server refused (the tip stays queued, then goes), the same tips
# mailed twice (kept once), a missing part (incomplete, left unread, then
# completed), strangers' and damaged mails (left unread), mails marked
# read only once their tip is stored. Prints "PASS name" / "FAIL name".
# Needs python3-aiosmtpd and dovecot-imapd (tools/deps.sh installs them).
set -u
: "${HOMTHU_BUILD:=build/debug}"
B=$HOMTHU_BUILD
case "$B" in /*) ;; *) B="$PWD/$B" ;; esac
ROOT=$PWD
PY=/usr/bin/python3 # Debian's python, where python3-aiosmtpd lives
failed=0
T=$(mktemp -d "${TMPDIR:-/tmp}/homthu-mail-XXXXXX")
SMTPD_PID=
DOVECOT_PID=

cleanup() {
    [ -n "$SMTPD_PID" ] && kill "$SMTPD_PID" 2>/dev/null
    [ -n "$DOVECOT_PID" ] && kill "$DOVECOT_PID" 2>/dev/null
    [ -n "$DOVECOT_PID" ] && for _ in 1 2 3 4 5 6 7 8 9 10; do
        kill -0 "$DOVECOT_PID" 2>/dev/null || break
        sleep 0.2
    done
    rm -rf "$T"
}
trap cleanup EXIT

check() {
    name=$1
    shift
    if "$@"; then
        echo "PASS mail_$name"
    else
        echo "FAIL mail_$name"
        echo "  output was:"
        sed 's/^/    /' "$T/out" 2>/dev/null | head -40
        failed=1
    fi
}
run() { # run PROGRAM ARGS...: output into $T/out, status into $T/rc
    "$@" >"$T/out" 2>&1
    echo $? >"$T/rc"
}
rc_is() { [ "$(cat "$T/rc")" = "$1" ]; }
says() { grep -qF -- "$1" "$T/out"; }

for tool in dovecot openssl curl; do
    if ! command -v $tool >/dev/null 2>&1; then
        echo "FAIL mail_servers_available ($tool missing: run tools/deps.sh; Debian: dovecot-imapd openssl curl)"
        exit 1
    fi
done
if ! $PY -c 'import aiosmtpd' 2>/dev/null; then
    echo "FAIL mail_servers_available (python3-aiosmtpd missing: run tools/deps.sh)"
    exit 1
fi
for p in homthu-mailer homthu-post homthu-provision homthu-queue helpers/maketip; do
    if [ ! -x "$B/$p" ]; then
        echo "FAIL mail_tools_built ($B/$p missing: run make)"
        exit 1
    fi
done

free_port() {
    $PY -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# --- a certificate both servers use, trusted through mail_ca_file / --ca-file ---
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$T/key.pem" -out "$T/cert.pem" -days 2 \
    -subj "/CN=127.0.0.1" -addext "subjectAltName=IP:127.0.0.1,DNS:localhost" >/dev/null 2>&1

# --- the Maildir, shared by the SMTP server (delivers) and dovecot (serves) ---
mkdir -p "$T/mail/new" "$T/mail/cur" "$T/mail/tmp" "$T/home" "$T/run"
if [ "$(id -u)" = 0 ]; then
    # Dovecot will not serve mail as root: the mailbox belongs to nobody.
    chown -R nobody:nogroup "$T/mail" "$T/home"
    chmod 755 "$T"
    USERDB="uid=nobody gid=nogroup home=$T/home"
    EXTRA="first_valid_uid = 1"
else
    USERDB="uid=$(id -u) gid=$(id -g) home=$T/home"
    EXTRA="default_login_user = $(id -un)
default_internal_user = $(id -un)
first_valid_uid = $(id -u)
service imap-login {
  chroot =
}"
fi

# --- IMAP: dovecot as a child, TLS (STARTTLS), one passwd-file user ---
IMAP_PORT=$(free_port)
echo "tips:{PLAIN}imap-secret" >"$T/passwd"
cat >"$T/dovecot.conf" <<EOF
base_dir = $T/run
state_dir = $T/run/state
log_path = $T/dovecot.log
instance_name = homthu-test-$IMAP_PORT
protocols = imap
listen = 127.0.0.1
ssl = required
ssl_cert = <$T/cert.pem
ssl_key = <$T/key.pem
disable_plaintext_auth = yes
auth_mechanisms = plain login
mail_location = maildir:$T/mail
$EXTRA
passdb {
  driver = passwd-file
  args = scheme=PLAIN $T/passwd
}
userdb {
  driver = static
  args = $USERDB
}
service imap-login {
  inet_listener imap {
    address = 127.0.0.1
    port = $IMAP_PORT
  }
  inet_listener imaps {
    port = 0
  }
}
EOF
dovecot -F -c "$T/dovecot.conf" >"$T/dovecot.out" 2>&1 &
DOVECOT_PID=$!
IMAP="imap://127.0.0.1:$IMAP_PORT/INBOX"
imap() { # imap COMMAND: the server's answer to a custom command
    curl -s --ssl-reqd --cacert "$T/cert.pem" -u tips:imap-secret "$IMAP" -X "$1"
}
up=0
for _ in $(seq 1 150); do
    if imap "NOOP" >/dev/null 2>&1; then up=1; break; fi
    sleep 0.1
done
if [ $up = 0 ]; then
    echo "FAIL mail_imap_server_starts"
    cat "$T/dovecot.out" "$T/dovecot.log" 2>/dev/null | tail -20
    exit 1
fi

# --- SMTP: aiosmtpd, STARTTLS required, AUTH required, delivers into the Maildir ---
cat >"$T/smtpd.py" <<'EOF'
import mailbox, os, signal, socket, ssl, sys, threading
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

cert, key, maildir, portfile = sys.argv[1:5]
fail_at = int(os.environ.get("SMTP_FAIL_DATA_AT", "0"))
os.umask(0o022)

class Handler:
    n = 0
    async def handle_DATA(self, server, session, envelope):
        Handler.n += 1
        if Handler.n == fail_at:
            return "451 4.3.0 try again later (test fault)"
        mailbox.Maildir(maildir, create=False).add(envelope.original_content)
        return "250 2.0.0 OK"

def auth(server, session, envelope, mechanism, data):
    ok = isinstance(data, LoginPassword) and data.login == b"kiosk" and data.password == b"smtp-secret"
    return AuthResult(success=ok, handled=False)

s = socket.socket(); s.bind(("127.0.0.1", 0)); port = s.getsockname()[1]; s.close()
ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
ctx.load_cert_chain(cert, key)
c = Controller(Handler(), hostname="127.0.0.1", port=port, tls_context=ctx,
               require_starttls=True, authenticator=auth, auth_required=True,
               auth_require_tls=True, data_size_limit=16 * 1024 * 1024)
c.start()
with open(portfile + ".tmp", "w") as f:
    f.write(str(port))
os.rename(portfile + ".tmp", portfile)
stop = threading.Event()
signal.signal(signal.SIGTERM, lambda *a: stop.set())
stop.wait()
c.stop()
EOF
start_smtpd() { # start_smtpd [FAIL_AT]
    [ -n "$SMTPD_PID" ] && kill "$SMTPD_PID" 2>/dev/null && wait "$SMTPD_PID" 2>/dev/null
    rm -f "$T/smtp.port"
    SMTP_FAIL_DATA_AT=${1:-0} $PY "$T/smtpd.py" "$T/cert.pem" "$T/key.pem" "$T/mail" \
        "$T/smtp.port" >"$T/smtpd.out" 2>&1 &
    SMTPD_PID=$!
    for _ in $(seq 1 100); do
        [ -f "$T/smtp.port" ] && break
        sleep 0.1
    done
    if [ ! -f "$T/smtp.port" ]; then
        echo "FAIL mail_smtp_server_starts"
        cat "$T/smtpd.out"
        exit 1
    fi
    SMTP_PORT=$(cat "$T/smtp.port")
}
start_smtpd 2 # the second mail it gets is refused once with 451

# --- a border post, a kiosk that mails, real tips ---
export HOMTHU_PWHASH=min HOMTHU_PASSPHRASE="a long passphrase" TZ=UTC
export HOMTHU_IMAP_USER=tips HOMTHU_IMAP_PASSWORD=imap-secret
"$B/homthu-provision" post-init --dir "$T/post" >/dev/null 2>&1
"$B/homthu-provision" kiosk-new --post "$T/post" --id na-co-sa-01 --out "$T/card" >/dev/null
mkdir -p "$T/data"
kiosk_conf() { # kiosk_conf DATA_DIR OUT
    grep -v '^mail_' "$T/card/kiosk.conf" | sed "s|^data_dir = .*|data_dir = $1|" >"$2"
    cat >>"$2" <<EOF
mail_smtp_url = smtp://127.0.0.1:$SMTP_PORT
mail_user = kiosk
mail_password = smtp-secret
mail_from = kiosk@na-co-sa.example
mail_to = tips@post.example
mail_part_bytes = 32768
mail_ca_file = $T/cert.pem
EOF
}
kiosk_conf "$T/data" "$T/card/kiosk.conf.mail"
K="$T/card/kiosk.conf.mail"
PCM="$B/fixtures/speech-vi-60s.raw"
[ -f "$PCM" ] || sh "$ROOT/tests/speech.sh" "$PCM" >/dev/null 2>&1
BIG=$("$B/helpers/maketip" --config "$K" --pcm "$PCM" --seconds 60 --text "Hai người lạ mang hàng qua suối")
TEXT=$("$B/helpers/maketip" --config "$K" --text "Có súng tự chế ở bản trên" --category 3)
check tips_were_made sh -c "[ ${#BIG} = 32 ] && [ ${#TEXT} = 32 ]"
cp -r "$T/data" "$T/data2" # the same tips, to be mailed a second time below

# --- the SMTP server refuses one part: nothing leaves the queue ---
run "$B/homthu-mailer" --config "$K" --once
check mailer_fails_when_a_part_is_refused rc_is 1
check mailer_says_which_part says "not delivered yet (1 of"
check mailer_passes_on_the_server_reason says "451"
run "$B/homthu-queue" "$T/data"
check refused_tip_is_still_waiting says "waiting:        2 tips"

# --- the next run delivers both, marks them delivered and purges them ---
run "$B/homthu-mailer" --config "$K" --once
check mailer_delivers_when_the_server_takes_it rc_is 0
check mailer_splits_the_large_tip says "tip ${BIG%????????????????????????} delivered:"
parts=$(sed -n "s/.*tip ${BIG%????????????????????????} delivered: [0-9]* bytes in \([0-9]*\) mails/\1/p" "$T/out")
check large_tip_went_as_several_mails [ "${parts:-0}" -ge 3 ]
run "$B/homthu-queue" "$T/data"
check delivered_tips_are_forgotten sh -c "grep -q 'waiting:        0 tips' '$T/out' && grep -q 'delivered:      2 tips, .*(forgotten by the kiosk: only counted)' '$T/out'"

# --- the same two tips mailed again (a kiosk restored from a backup) ---
kiosk_conf "$T/data2" "$T/card/kiosk2.conf"
run "$B/homthu-mailer" --config "$T/card/kiosk2.conf" --once
check second_mailing_succeeds rc_is 0

# --- a third tip whose part 2 is held back on the way ---
THIRD=$("$B/helpers/maketip" --config "$K" --pcm "$PCM" --seconds 45 --category 5)
run "$B/homthu-mailer" --config "$K" --once
check third_tip_mailed rc_is 0
mkdir -p "$T/held"
held=$(grep -l "X-Homthu-Tip: $THIRD" "$T/mail/new/"* | xargs grep -l "X-Homthu-Part: 2/" | head -n1)
check a_part_can_be_held_back sh -c "[ -n '$held' ] && mv '$held' '$T/held/'"

# --- strangers' mail and a damaged tip mail in the same mailbox ---
printf 'From: someone@example.org\r\nTo: tips@post.example\r\nSubject: hello\r\n\r\nNot a tip.\r\n' \
    >"$T/mail/new/1.stranger.eml"
one=$(grep -l "X-Homthu-Tip: $TEXT" "$T/mail/new/"* | head -n1)
sed 's/^X-Homthu-Part: .*/X-Homthu-Part: 9\/1\r/' "$one" >"$T/mail/new/2.damaged.eml"
if [ "$(id -u)" = 0 ]; then chown nobody:nogroup "$T/mail/new/"*; fi

# --- the console pulls ---
P="$B/homthu-post"
run "$P" pull --post "$T/post" --imap "$IMAP" --ca-file "$T/cert.pem"
check pull_succeeds rc_is 0
check pull_stores_the_large_tip says "tip ${BIG%????????????????????????}: stored (from the mailbox"
check pull_stores_the_text_tip says "tip ${TEXT%????????????????????????}: stored (from the mailbox"
check pull_reports_the_incomplete_tip says "tip ${THIRD%????????????????????????} is incomplete: parts 1, 3 of 3 here"
check pull_leaves_strangers_mail says "1 mail in the mailbox is not Hòm thư tips: left unread"
check pull_reports_the_damaged_mail says "looks like a tip but X-Homthu-Part is not i/n"
check pull_counts_two_new_tips says "From the mailbox: 2 new tips"

run "$P" list --post "$T/post"
check list_shows_two_tips says "2 tips."
check list_counts_the_duplicates_once sh -c "[ \$(grep -c '^[0-9a-f]\{8\} ' '$T/out') = 2 ]"
check list_shows_the_kiosk_and_length sh -c "grep -E '^${BIG%????????????????????????} .* na-co-sa-01 +smuggling +vi +1:00 +new' '$T/out' >/dev/null"
check list_shows_the_category sh -c "grep -E '^${TEXT%????????????????????????} .* weapons ' '$T/out' >/dev/null"

run "$P" show "${BIG%????????????????????????}" --post "$T/post"
check show_verdict_complete_and_signed says "Verdict   complete and signed by enrolled kiosk na-co-sa-01"
check show_text says "Hai người lạ mang hàng qua suối"
check show_audio_length says "Audio     1:00"

run "$P" audio "${BIG%????????????????????????}" --post "$T/post" --out "$T/big.opus"
check audio_is_written rc_is 0
check audio_plays_in_an_ordinary_player sh -c "opusinfo '$T/big.opus' 2>&1 | grep -q 'Playback length: 1m:00'"

# Every mail of a stored tip is read; the incomplete tip's, the stranger's and the damaged stay unread.
unseen=$(imap "UID SEARCH UNSEEN" | tr -d '\r' | sed 's/^\* SEARCH *//' | wc -w)
check incomplete_strange_and_damaged_stay_unread [ "$unseen" = 4 ]
pending=$(imap 'UID SEARCH KEYWORD $HomthuPending' | tr -d '\r' | sed 's/^\* SEARCH *//' | wc -w)
check no_mail_is_left_pending [ "$pending" = 0 ]

# --- the missing part arrives: the tip is complete ---
mv "$T/held/"* "$T/mail/new/"
run "$P" pull --post "$T/post" --imap "$IMAP" --ca-file "$T/cert.pem"
check late_part_completes_the_tip says "tip ${THIRD%????????????????????????}: stored (from the mailbox"
unseen=$(imap "UID SEARCH UNSEEN" | tr -d '\r' | sed 's/^\* SEARCH *//' | wc -w)
check only_strangers_and_damaged_stay_unread [ "$unseen" = 2 ]
run "$P" show "${THIRD%????????????????????????}" --post "$T/post"
check reassembled_tip_is_genuine says "complete and signed by enrolled kiosk na-co-sa-01"
check reassembled_tip_has_its_audio says "Audio     0:45"

# --- reading every mail again adds nothing ---
run "$P" pull --post "$T/post" --imap "$IMAP" --ca-file "$T/cert.pem" --all
check pull_all_adds_no_tip says "From the mailbox: 0 new tips, 3 already here"

# --- wrong IMAP password: a clear message ---
HOMTHU_IMAP_PASSWORD=wrong run "$P" pull --post "$T/post" --imap "$IMAP" --ca-file "$T/cert.pem"
check wrong_imap_password_fails rc_is 1
check wrong_imap_password_says_what_to_check says "check the IMAP user and password"

# --- an SMTP server whose certificate is not trusted: refused, tip kept ---
"$B/helpers/maketip" --config "$K" --text "x" >/dev/null
grep -v '^mail_ca_file' "$K" >"$T/card/untrusted.conf"
run "$B/homthu-mailer" --config "$T/card/untrusted.conf" --once
check untrusted_smtp_certificate_is_refused rc_is 1
check untrusted_smtp_certificate_says_so says "not trusted: check mail_ca_file"

exit $failed
