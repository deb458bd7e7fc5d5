#!/bin/sh
# Runs inside the arm64 target (chroot in qemu-system-aarch64, from
# image/build.sh): debootstrap's second stage and the few settings that need
# the target's own programs. Everything else is done on the host at assembly,
# so changing it does not rebuild this (cached) stage.
# Each step is skipped when already done, so that a stage 2 that failed late
# can be finished on the same disk (REUSE_STAGE2=1 image/build.sh).
set -e
export PATH=/usr/sbin:/usr/bin:/sbin:/bin LC_ALL=C DEBIAN_FRONTEND=noninteractive
mkdir -p /boot/firmware
if [ -x /debootstrap/debootstrap ]; then
  # Speed under emulation: dpkg need not fsync each file (the disk is a
  # scratch file, the result is tarred at the end), and the kernel's
  # initramfs is built once, below, not once per package that triggers it
  # (INITRD=No makes the kernel's postinst hook skip; the triggers then find
  # nothing to update).
  echo force-unsafe-io > /etc/dpkg/dpkg.cfg.d/homthu-stage2
  INITRD=No /debootstrap/debootstrap --second-stage
fi
rm -f /etc/dpkg/dpkg.cfg.d/homthu-stage2
kver=$(ls /lib/modules | sort -V | tail -1)
if [ ! -s "/boot/initrd.img-$kver" ]; then
  # raspi-firmware's hook copies the kernel to /boot/firmware and insists on
  # a mounted FAT there: give it a scratch one (image/build.sh makes the
  # real boot partition itself).
  mount -t tmpfs tmpfs /boot/firmware
  update-initramfs -c -k "$kver"
  umount /boot/firmware
fi
test -s "/boot/initrd.img-$kver"
# No default passwords: root is locked (no password can ever match '*').
usermod -p '*' root
# The kiosk's user and the GPIO group (docs/appliance.md).
getent group gpio >/dev/null || groupadd --system gpio
getent passwd homthu >/dev/null ||
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
