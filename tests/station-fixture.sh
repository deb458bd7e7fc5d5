# station-fixture.sh — sourced by the station's script tests (t_station.sh,
# t_station_browser.sh, tools/homthu-screens' station pages): a real post
# folder, two enrolled kiosks, a real relay on a loopback port, real tips
# made as kiosks make them and uploaded by homthu-uplink, and
# homthu-station serving plain HTTP on 127.0.0.1 (port from the kernel).
#
# Needs: B (build dir, absolute), T (a temp dir), ROOT. Sets POST, RELAY,
# TOKEN, K1, K2, STATION_URL, STATION_PID, RELAY_PID, and the tips' ids
# VOICE, PRACTICE, XSS, RTL. fixture_stop ends what it started.
export HOMTHU_PWHASH=min HOMTHU_PASSPHRASE="a long passphrase" TZ=UTC
POST="$T/post"
TOKEN=test-token-0123456789abcdef0123456789abcdef
RELAY_PID=
STATION_PID=

fixture_free_port() {
    /usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# fixture_relay: the post, two kiosks, the relay. 0 or 1.
fixture_relay() {
    PORT=$(fixture_free_port)
    RELAY="http://127.0.0.1:$PORT"
    "$B/homthu-provision" post-init --dir "$POST" >/dev/null 2>&1 || return 1
    for k in 1 2; do
        "$B/homthu-provision" kiosk-new --post "$POST" --id na-co-sa-0$k --out "$T/card$k" \
            --relay "$RELAY/" >/dev/null 2>>"$T/provision.log" || return 1
        mkdir -p "$T/data$k"
        sed -i "s|^data_dir = .*|data_dir = $T/data$k|" "$T/card$k/kiosk.conf"
    done
    K1="$T/card1/kiosk.conf"
    K2="$T/card2/kiosk.conf"
    cat >"$T/relay.conf" <<EOF2
listen = 127.0.0.1:$PORT
database = $T/relay.db
registry = $POST/registry.db
post_token = $TOKEN
EOF2
    "$B/homthu-relay" --config "$T/relay.conf" >"$T/relay.log" 2>&1 &
    RELAY_PID=$!
    for _ in $(seq 1 100); do
        curl -s -o /dev/null "$RELAY/files/" -X OPTIONS 2>/dev/null && break
        sleep 0.1
    done
    printf 'relay_url = %s/\nrelay_token = %s\npost_name = "Đồn Biên phòng Pa Vi"\n' "$RELAY" "$TOKEN" \
        >"$POST/post.conf"
    chmod 600 "$POST/post.conf"
}

# fixture_tips: tips in kiosk 1's queue, uploaded. SECONDS of voice (default 20).
fixture_tips() {
    PCM="$B/fixtures/speech-vi-60s.raw"
    [ -f "$PCM" ] || sh "$ROOT/tests/speech.sh" "$PCM" >/dev/null 2>&1
    VOICE=$("$B/helpers/maketip" --config "$K1" --pcm "$PCM" --seconds "${1:-20}" \
        --language hmn --category 2 --text "Muaj neeg nqa tshuaj dhau dej" --when 2) || return 1
    PRACTICE=$("$B/helpers/maketip" --config "$K1" --text "thử thôi" --training) || return 1
    XSS=$("$B/helpers/maketip" --config "$K1" --category 3 \
        --text '<script>window.__pwned=1</script><img src=x onerror="window.__pwned=2">') || return 1
    RTL=$("$B/helpers/maketip" --config "$K1" --category 7 \
        --text "$(printf 'abc \342\200\256gnp.exe cba')") || return 1
    "$B/homthu-uplink" --config "$K1" --once --max-failures 3 >"$T/uplink.log" 2>&1
}

# fixture_station [ARGS...]: start homthu-station; sets STATION_URL. 0 or 1.
fixture_station() {
    # Each start's log is kept (a sanitizer's report comes at exit).
    [ -f "$T/station.log" ] && cat "$T/station.log" >>"$T/station-all.log"
    "$B/homthu-station" --post "$POST" --plain --listen 127.0.0.1:0 --pull-seconds 1 "$@" \
        >"$T/station.log" 2>&1 &
    STATION_PID=$!
    STATION_URL=
    # Up to three minutes by the clock, not by a count of polls: an ASan
    # build beside a second suite on a loaded 2-core machine was seen to
    # take over a minute, and each poll there costs far more than its sleep.
    started=$(date +%s)
    while :; do
        if grep -q 'homthu-station: ready' "$T/station.log" 2>/dev/null; then
            STATION_URL=$(sed -n 's|.*serving the officers. page on \(http://[^ ]*\)/$|\1|p' \
                "$T/station.log" | head -n1)
            break
        fi
        kill -0 "$STATION_PID" 2>/dev/null || break
        [ $(($(date +%s) - started)) -ge 180 ] && break
        sleep 0.1
    done
    took=$(($(date +%s) - started))
    [ "$took" -ge 20 ] && echo "    (the station took $took s to start)"
    [ -n "$STATION_URL" ]
}

fixture_stop_station() {
    if [ -n "$STATION_PID" ]; then
        kill "$STATION_PID" 2>/dev/null
        wait "$STATION_PID" 2>/dev/null
    fi
    STATION_PID=
}

fixture_stop() {
    fixture_stop_station
    if [ -n "$RELAY_PID" ]; then
        kill "$RELAY_PID" 2>/dev/null
        wait "$RELAY_PID" 2>/dev/null
    fi
    RELAY_PID=
}
