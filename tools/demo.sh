#!/bin/sh
# demo.sh setup|run — the whole kiosk on one desk, with demo keys.
#   setup: a demo border post (build/demo/post, passphrase "demo-passphrase") and one
#          enrolled kiosk (build/demo/kiosk) whose queue is build/demo/data.
#   run:   setup, then the kiosk in a window. Volunteer PIN: 2468.
# Demo keys are for trying things out only: never put them on a real kiosk.
set -eu
cd "$(dirname "$0")/.."
: "${HOMTHU_BUILD:=build/debug}"
demo=build/demo
prov="$HOMTHU_BUILD/homthu-provision"

setup() {
    [ -f "$demo/kiosk/kiosk.conf" ] && return 0
    rm -rf "$demo"
    mkdir -p "$demo/data"
    export HOMTHU_PASSPHRASE=demo-passphrase HOMTHU_PWHASH=interactive
    "$prov" post-init --dir "$demo/post" >/dev/null
    "$prov" kiosk-new --post "$demo/post" --id demo-kiosk --out "$demo/kiosk" >/dev/null
    sed -i -e "s|^data_dir = .*|data_dir = $PWD/$demo/data|" \
        -e "s|^volunteer_pin =.*|volunteer_pin = 2468|" "$demo/kiosk/kiosk.conf"
    echo "demo: post keys in $demo/post (passphrase: demo-passphrase), kiosk in $demo/kiosk"
}

case "${1:-run}" in
setup) setup ;;
run)
    setup
    if [ -z "${DISPLAY:-}" ] && [ -z "${WAYLAND_DISPLAY:-}" ]; then
        echo "demo: no desktop here (no DISPLAY): use 'make screens' to see the screens," >&2
        echo "      or run this on a desktop. Falling back to SDL's offscreen driver." >&2
        export SDL_VIDEODRIVER=offscreen
    fi
    echo "demo: the kiosk opens in a window (Esc closes it). Volunteer PIN: 2468."
    echo "demo: tips you leave go to $demo/data; inspect them with:"
    echo "      $HOMTHU_BUILD/homthu-queue $demo/data"
    exec "$HOMTHU_BUILD/homthu-kiosk" --config "$demo/kiosk/kiosk.conf" --window --size 800x480
    ;;
*) echo "usage: demo.sh setup|run" >&2; exit 2 ;;
esac
