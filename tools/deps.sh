#!/bin/sh
# Install the Debian packages Hòm thư needs, only those missing.
# Used by `make run`, `make test` and .ci/run so a fresh Debian 12 machine
# needs nothing else. Runs apt-get through sudo when not root.
set -eu

# Build and runtime libraries.
PKGS="build-essential pkg-config clang llvm libclang-rt-14-dev
libsodium-dev libsqlite3-dev sqlite3 libopus-dev libopusenc-dev libopusfile-dev libogg-dev
libsdl2-dev libsdl2-ttf-dev libpng-dev libcurl4-openssl-dev libgpiod-dev libmicrohttpd-dev
libgnutls28-dev
fonts-noto-color-emoji"
# What the tests use to make and check speech: espeak-ng speaks, sox
# converts, opus-tools is the "ordinary player" that must open our audio.
PKGS="$PKGS espeak-ng sox opus-tools python3 python3-fonttools python3-pyclipper"
# Real peers for the delivery tests: an SMTP server (aiosmtpd) and an IMAP
# server (Dovecot) started by the tests themselves, Node for the tus
# implementations we did not write, iproute2 for network namespaces and tc.
PKGS="$PKGS python3-aiosmtpd dovecot-imapd iproute2 ca-certificates openssl curl"
# systemd-analyze checks the units in image/ (tests/t_service.sh); a
# minimal Debian (a container, a chroot) comes without systemd. setsid
# (util-linux) and timeout (coreutils) are used by the script tests.
PKGS="$PKGS systemd util-linux coreutils"
# The province relay (issue 14) keeps its tips in PostgreSQL behind HAProxy:
# libpq-dev builds the relay's PostgreSQL store; the tests start real
# servers as their own processes (tests/pg/): PostgreSQL 15's initdb and
# pg_ctl (Debian 12's postgresql), psql and pg_basebackup
# (postgresql-client), and Debian's haproxy in front of the relay nodes.
PKGS="$PKGS postgresql postgresql-client libpq-dev haproxy"
# The post station's page is tested in a real browser: Debian's Chromium,
# driven by playwright-core from npm (tools/browser-deps.sh, pinned).
PKGS="$PKGS chromium fonts-noto-core"
# Node: keep any Node already here (it may be newer than Debian's, with its
# own npm); install Debian's only when there is none. The interop packages
# are pinned to releases that run on Debian 12's Node 18 and on newer ones
# (tools/interop-deps.sh).
command -v node >/dev/null 2>&1 || PKGS="$PKGS nodejs"
command -v npm >/dev/null 2>&1 || PKGS="$PKGS npm"

missing=""
for p in $PKGS; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        missing="$missing $p"
    fi
done
[ -z "$missing" ] && exit 0

echo "homthu: installing Debian packages:$missing" >&2
if [ "$(id -u)" -eq 0 ]; then SUDO=""; else SUDO="sudo"; fi
# A minimal Debian has no sudo: say what to run rather than "sudo: not found".
if [ -n "$SUDO" ] && ! command -v sudo >/dev/null 2>&1; then
    echo "homthu: these Debian packages are missing and there is no sudo; as root run: apt-get install$missing" >&2
    exit 1
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q >&2
# shellcheck disable=SC2086
$SUDO apt-get install -y -q --no-install-recommends $missing >&2
