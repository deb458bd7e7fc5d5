#!/bin/sh
# Install what cross-building for the Pi (arm64) needs, only what is missing:
# the cross compiler, qemu-user to run the unit tests, and the arm64 -dev
# package of every library in the Makefile's PKGS (Debian multiarch, side by
# side with the amd64 ones; about 230 packages, 1 GB). Used by
# `make test-arm64` only: `make test` never needs any of it.
# Runs apt-get through sudo when not root.
set -eu

# Host tools: the compiler, the triplet pkg-config (pkgconf:arm64 ships
# /usr/bin/aarch64-linux-gnu-pkg-config) and qemu-aarch64-static.
HOST_PKGS="gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user-static"
# One arm64 -dev package per library in PKGS (keep in step with the Makefile
# and tools/deps.sh), plus libpng for homthu-screens.
ARM64_PKGS="pkgconf libsodium-dev libsqlite3-dev libopus-dev libopusenc-dev libopusfile-dev
libogg-dev libsdl2-dev libsdl2-ttf-dev libcurl4-openssl-dev libmicrohttpd-dev libgpiod-dev
libpng-dev libgnutls28-dev"

missing=""
for p in $HOST_PKGS; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        missing="$missing $p"
    fi
done
for p in $ARM64_PKGS; do
    if ! dpkg-query -W -f='${Status}' "$p:arm64" 2>/dev/null | grep -q "install ok installed"; then
        missing="$missing $p:arm64"
    fi
done
[ -z "$missing" ] && exit 0

echo "homthu: installing the arm64 cross toolchain and libraries:$missing" >&2
if [ "$(id -u)" -eq 0 ]; then SUDO=""; else SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
if ! dpkg --print-foreign-architectures | grep -qx arm64; then
    $SUDO dpkg --add-architecture arm64
fi
# Another apt (tools/deps.sh in a parallel build) may hold the lock: wait for it.
APT="$SUDO apt-get -q -o DPkg::Lock::Timeout=600"
$APT update >&2
# apt may upgrade a few amd64 libraries so that both architectures carry the
# same version (multiarch requires it); that is expected.
# shellcheck disable=SC2086
$APT install -y --no-install-recommends $missing >&2
