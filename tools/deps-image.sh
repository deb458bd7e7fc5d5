#!/bin/sh
# What the build host needs for the SD-card image, checked (and installed
# when missing) before the long part starts, so that `make image` never
# fails 25 minutes in for want of a package:
#
#   tools/deps-image.sh            for image/build.sh (make image)
#   tools/deps-image.sh boot-test  also for image/boot-test.sh
#
# Debian 12 amd64. apt-get runs non-interactively, through sudo when not
# root. Says what it checked and what it installed.
set -eu
cd "$(dirname "$0")/.."
what=${1:-image}

# image/build.sh: stage 1 on the host (debootstrap), stage 2 in
# qemu-system-aarch64, the initramfs for it (cpio, gzip), the card
# (mkfs.vfat, mtools, mke2fs -d, sfdisk, bmaptool, xz), the .deb
# (dpkg-deb, dpkg-shlibdeps from dpkg-dev; git names the version) and
# systemctl --root to enable the units offline.
HOST="debootstrap qemu-system-arm e2fsprogs cpio gzip dosfstools mtools fdisk
bmap-tools xz-utils dpkg-dev git make systemd ca-certificates"
# image/boot-test.sh: the host's own homthu-provision, -relay and -post
# (native build: the Makefile's libraries), ssh-keygen, python3 (QMP and
# the screenshot check), mount (the copy's boot partition, for
# homthu-provision card).
if [ "$what" = boot-test ]; then
    HOST="$HOST openssh-client python3 util-linux mount build-essential pkg-config
libsodium-dev libsqlite3-dev libopus-dev libopusenc-dev libopusfile-dev libogg-dev
libsdl2-dev libsdl2-ttf-dev libpng-dev libcurl4-openssl-dev libgpiod-dev
libmicrohttpd-dev libgnutls28-dev fonts-noto-color-emoji"
fi

missing=""
for p in $HOST; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
    echo "homthu: installing build-host packages for the image:$missing" >&2
    if [ "$(id -u)" -eq 0 ]; then SUDO=""; else SUDO="sudo"; fi
    if [ -n "$SUDO" ] && ! command -v sudo >/dev/null 2>&1; then
        echo "homthu: these packages are missing and there is no sudo; as root run: apt-get install$missing" >&2
        exit 1
    fi
    export DEBIAN_FRONTEND=noninteractive
    $SUDO apt-get -q -o DPkg::Lock::Timeout=600 update >&2
    # shellcheck disable=SC2086
    $SUDO apt-get -q -o DPkg::Lock::Timeout=600 install -y --no-install-recommends $missing >&2
else
    echo "homthu: build-host packages for the image: all present" >&2
fi
# The arm64 side: the cross compiler and the arm64 -dev libraries the
# kiosk's programs link (Debian multiarch), for the .deb and the boot
# test's helper.
./tools/deps-arm64.sh
if command -v aarch64-linux-gnu-gcc >/dev/null 2>&1 && command -v aarch64-linux-gnu-pkg-config >/dev/null 2>&1; then
    echo "homthu: arm64 cross toolchain and libraries: present ($(aarch64-linux-gnu-gcc -dumpversion))" >&2
else
    echo "homthu: the arm64 cross toolchain is still missing after tools/deps-arm64.sh" >&2
    exit 1
fi
