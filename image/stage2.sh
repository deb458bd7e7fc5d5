#!/bin/sh
# Runs inside the arm64 target (chroot in qemu-system-aarch64, from
# image/build.sh): debootstrap's second stage and the few settings that need
# the target's own programs. Everything else is done on the host at assembly,
# so changing it does not rebuild this (cached) stage.
set -e
export PATH=/usr/sbin:/usr/bin:/sbin:/bin LC_ALL=C DEBIAN_FRONTEND=noninteractive
mkdir -p /boot/firmware
# Speed under emulation: dpkg need not fsync each file (the disk is a scratch
# file, the result is tarred at the end), and the kernel's initramfs is built
# once, at the end, not once per package that triggers it (INITRD=No makes
# the kernel's postinst hook skip; the triggers then find nothing to update).
echo force-unsafe-io > /etc/dpkg/dpkg.cfg.d/homthu-stage2
INITRD=No /debootstrap/debootstrap --second-stage
rm -f /etc/dpkg/dpkg.cfg.d/homthu-stage2
kver=$(ls /lib/modules | sort -V | tail -1)
update-initramfs -c -k "$kver"
test -s "/boot/initrd.img-$kver"
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
