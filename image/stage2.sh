#!/bin/sh
# Runs inside the arm64 target (chroot in qemu-system-aarch64, from
# image/build.sh): debootstrap's second stage and the few settings that need
# the target's own programs. Everything else is done on the host at assembly,
# so changing it does not rebuild this (cached) stage.
set -e
export PATH=/usr/sbin:/usr/bin:/sbin:/bin LC_ALL=C DEBIAN_FRONTEND=noninteractive
mkdir -p /boot/firmware
/debootstrap/debootstrap --second-stage
# No default passwords: root is locked (no password can ever match '*').
usermod -p '*' root
# The kiosk's user and the GPIO group (docs/appliance.md).
groupadd --system gpio
useradd --system --home-dir /var/lib/homthu --no-create-home --shell /usr/sbin/nologin \
        --user-group --groups video,render,input,audio,gpio homthu
# Not one SSH host key shared by every card: made at first boot when enabled.
rm -f /etc/ssh/ssh_host_*
systemctl disable ssh.service >/dev/null 2>&1 || true
# A fresh machine id on each card (systemd makes one at boot on a read-only root).
: > /etc/machine-id; rm -f /var/lib/dbus/machine-id
apt-get clean
rm -rf /var/lib/apt/lists/* /var/log/*.log /var/cache/debconf/*-old /debootstrap
echo homthu-stage2-done
