#!/bin/sh
# make fuzz: build each tests/fuzz/fuzz_*.c with clang's libFuzzer and run it
# for HOMTHU_FUZZ_SECONDS over its corpus. New interesting inputs are added
# to build/fuzz/corpus-NAME; a crash leaves crash-* in build/fuzz/ — fix the bug,
# then commit the input into the corpus so `make test` replays it forever.
set -eu
cd "$(dirname "$0")/../.."
secs=${HOMTHU_FUZZ_SECONDS:-60}
out=build/fuzz
mkdir -p "$out"
pkgs="libsodium sqlite3 opus libopusenc opusfile ogg sdl2 SDL2_ttf libcurl libmicrohttpd libgpiod gnutls" # as the Makefile's PKGS
# The station's page, built into the library as bytes (the Makefile's EMBED step).
gen=$(ls build/*/gen/station_files.c 2>/dev/null | head -n1 || true)
[ -n "$gen" ] || { echo "fuzz: build once first (make): the station's page is embedded by it" >&2; exit 1; }
lib="$(ls src/*/*.c | grep -v "/main") $gen"
for f in tests/fuzz/fuzz_*.c; do
    name=$(basename "$f" .c)
    corpus=tests/fuzz/corpus/${name#fuzz_}
    mkdir -p "$corpus"
    echo "== $name ($secs s)"
    # shellcheck disable=SC2086
    clang -std=c11 -D_GNU_SOURCE -g -O1 -fsanitize=fuzzer,address,undefined -Isrc \
        $(pkg-config --cflags $pkgs) "$f" $lib $(pkg-config --libs $pkgs) -lm -lpthread \
        -o "$out/$name"
    # New inputs go to build/fuzz/corpus-*, the committed seeds are read only.
    mkdir -p "$out/corpus-${name#fuzz_}"
    (cd "$out" && "./$name" -max_total_time="$secs" -max_len=262144 -rss_limit_mb=2048 \
        "corpus-${name#fuzz_}" "$OLDPWD/$corpus")
done
