#!/bin/sh
# demo.sh setup|run|console — the whole loop on one desk, with demo keys.
#   setup:   a demo border post (build/demo/post, passphrase "demo-passphrase"),
#            one enrolled kiosk (build/demo/kiosk, queue in build/demo/data)
#            and a local relay (build/demo/relay) the kiosk delivers to.
#   run:     setup, start the relay and the kiosk's delivery daemon in the
#            background, then the kiosk in a window. Volunteer PIN: 2468.
#   console: pull the tips from the local relay and list them, as an officer.
# `run` also starts the post station (homthu-station) on http://127.0.0.1:8788/,
# pulling from the local relay every 5 s: the officers' page on this desk.
# Demo keys are for trying things out only: never put them on a real kiosk.
set -eu
cd "$(dirname "$0")/.."
: "${HOMTHU_BUILD:=build/debug}"
B=$HOMTHU_BUILD
demo=${HOMTHU_DEMO_DIR:-build/demo}
port=${HOMTHU_DEMO_PORT:-8787}
station_port=${HOMTHU_DEMO_STATION_PORT:-8788}
relay_url="http://127.0.0.1:$port/"
export HOMTHU_PASSPHRASE=demo-passphrase

setup() {
    [ -f "$demo/kiosk/kiosk.conf" ] && [ -f "$demo/relay/relay.conf" ] && return 0
    rm -rf "$demo"
    mkdir -p "$demo/data" "$demo/relay"
    abs=$(cd "$demo" && pwd)
    HOMTHU_PWHASH=interactive "$B/homthu-provision" post-init --dir "$demo/post" >/dev/null 2>&1
    "$B/homthu-provision" kiosk-new --post "$demo/post" --id demo-kiosk --out "$demo/kiosk" \
        --relay "$relay_url" >/dev/null
    sed -i -e "s|^data_dir = .*|data_dir = $abs/data|" \
        -e "s|^volunteer_pin =.*|volunteer_pin = 2468|" \
        -e "s|^heartbeat_minutes =.*|heartbeat_minutes = 1|" "$demo/kiosk/kiosk.conf"
    token=$(head -c 32 /dev/urandom | base64)
    cat >"$demo/relay/relay.conf" <<EOF
# The demo relay: plain HTTP on loopback (docs/relay.md).
listen = 127.0.0.1:$port
database = $abs/relay/relay.db
registry = $abs/post/registry.db
post_token = $token
EOF
    echo "$token" >"$demo/relay/post_token"
    # The station pulls from the demo relay by itself.
    printf 'relay_url = %s\nrelay_token = %s\npost_name = "Đồn Biên phòng (demo)"\n' \
        "$relay_url" "$token" >"$demo/post/post.conf"
    chmod 600 "$demo/post/post.conf"
    echo "demo: post keys in $demo/post (passphrase: demo-passphrase), kiosk in $demo/kiosk,"
    echo "      relay on $relay_url"
}

console() {
    "$B/homthu-post" pull --post "$demo/post" --relay "$relay_url" \
        --token "$(cat "$demo/relay/post_token")"
    "$B/homthu-post" list --post "$demo/post"
}

case "${1:-run}" in
setup) setup ;;
console) console ;;
run)
    setup
    "$B/homthu-relay" --config "$demo/relay/relay.conf" >"$demo/relay.log" 2>&1 &
    relay=$!
    "$B/homthu-uplink" --config "$demo/kiosk/kiosk.conf" >"$demo/uplink.log" 2>&1 &
    uplink=$!
    "$B/homthu-station" --post "$demo/post" --plain --listen "127.0.0.1:$station_port" \
        --pull-seconds 5 >"$demo/station.log" 2>&1 &
    station=$!
    trap 'kill $relay $uplink $station 2>/dev/null || true' EXIT INT TERM
    for _ in $(seq 1 50); do grep -q ready "$demo/station.log" 2>/dev/null && break; sleep 0.1; done
    if [ -f "$demo/post/station-setup-code" ]; then
        setup_line="first start: enter the setup code $(cat "$demo/post/station-setup-code") to make the commander,"
    else
        setup_line="log in as the commander you made,"
    fi
    if [ -z "${DISPLAY:-}" ] && [ -z "${WAYLAND_DISPLAY:-}" ]; then
        echo "demo: no desktop here (no DISPLAY): 'make screens' shows every screen instead." >&2
        echo "      The kiosk runs on SDL's offscreen driver; Ctrl-C ends the demo." >&2
        export SDL_VIDEODRIVER=offscreen
    fi
    cat <<EOF
demo: the kiosk opens in a window (Esc closes it). Volunteer PIN: 2468.
demo: relay on $relay_url (log $demo/relay.log), delivery daemon log $demo/uplink.log.
demo: the post station (officers' page): open http://127.0.0.1:$station_port/ in a browser;
      $setup_line
      then unlock the post key with the passphrase demo-passphrase. Log: $demo/station.log
demo: leave a tip on the kiosk: it appears in the page by itself within seconds.
demo: or, as the officer on the command line, in another terminal:
        ./tools/demo.sh console                       # pull from the relay and list
        $B/homthu-post show ID --post $demo/post        # text, metadata, verdict
        $B/homthu-post audio ID --post $demo/post --out tip.ogg
      The post's passphrase is demo-passphrase.
      What the kiosk still holds (sealed; it cannot read it either):
        $B/homthu-queue $demo/data
EOF
    "$B/homthu-kiosk" --config "$demo/kiosk/kiosk.conf" --window --size 800x480
    ;;
*) echo "usage: demo.sh setup|run|console" >&2; exit 2 ;;
esac
