#!/bin/bash
# Hòm thư — build the arm64 SD-card image (`make image`).
#
#   image/build.sh            everything: rootfs (cached), .deb, card, .img.xz + .bmap
#   image/build.sh rootfs     only the cached base rootfs
#   image/build.sh deb        only the kiosk .deb
#   image/build.sh assemble   the card again from the cached rootfs and a fresh .deb
#   image/build.sh deps       only check (and install) what the build host needs
# Each step first checks the build host (tools/deps-image.sh: host tools, the
# arm64 cross toolchain and arm64 libraries) and installs what is missing.
#
# No binfmt_misc on our build hosts (docs/image.md): debootstrap --foreign on
# the host, then the second stage inside qemu-system-aarch64 -M virt with
# Debian's own arm64 kernel and a tiny busybox initramfs made here. The result
# is cached as build/image/cache/rootfs-<hash>.tar; delete it to rebuild.
# The card is assembled without loop devices: sfdisk + mkfs.vfat/mtools for the
# FAT, mke2fs -d for the ext4 partitions, dd into place.
# Runs as root (ownerships in the rootfs). Output: build/image/homthu-<ver>-arm64.img.xz
# and .bmap next to it.
set -euo pipefail

TOP=$(cd "$(dirname "$0")/.." && pwd)
cd "$TOP"
# Absolute: dpkg --root runs the maintainer scripts from another directory.
OUT=$(realpath -m "${OUT:-build/image}")
CACHE=$OUT/cache
WORK=$OUT/work
SUITE=${SUITE:-bookworm}
MIRROR=${MIRROR:-http://deb.debian.org/debian}
SMP=${SMP:-$(nproc)}
# Sizes in MiB. The card image stays small (it is flashed onto cards of any
# size); the data partition grows to fill the card at first boot. The root
# partition is sized from its contents (ROOT_MB_FORCE= to set it).
BOOT_MB=${BOOT_MB:-256}
DATA_MB=${DATA_MB:-128}
# Which kiosk binaries go into the .deb (cross-built: make CROSS=aarch64-linux-gnu MODE=release).
BIN_DIR=${BIN_DIR:-}

# The base system. minbase + what an unattended appliance needs. Runtime
# libraries of the kiosk are here too, so the .deb installs without apt.
PACKAGES=(
  systemd-sysv udev kmod dbus iproute2 iputils-ping procps less
  systemd-timesyncd systemd-resolved
  linux-image-arm64 raspi-firmware firmware-brcm80211 wireless-regdb
  wpasupplicant openssh-server ca-certificates
  e2fsprogs fdisk dosfstools
  alsa-utils
  libsodium23 libsqlite3-0 libopus0 libopusenc0 libopusfile0 libogg0
  libsdl2-2.0-0 libsdl2-ttf-2.0-0 libcurl4 libgpiod2 gpiod libpng16-16
  fonts-noto-color-emoji
  # SDL2's KMSDRM video needs GBM + EGL/GLES and Mesa's drivers (vc4/v3d on
  # the Pi, virtio-gpu in qemu, llvmpipe as the fallback).
  libegl1 libegl-mesa0 libgles2 libgl1-mesa-dri libgbm1
)

# Never leave a qemu behind (it runs in this script's process group).
trap 'kill $(jobs -p) 2>/dev/null || true' EXIT
log() { printf '[image %(%H:%M:%S)T] %s\n' -1 "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

need() {
  local missing=() p
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  if ((${#missing[@]})); then
    log "installing host packages: ${missing[*]}"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" >&2
  fi
}

rootfs_hash() {
  { echo "$SUITE $MIRROR"; printf '%s\n' "${PACKAGES[@]}"; cat image/stage2.sh; } | sha256sum | cut -c1-12
}

# ---------------------------------------------------------------- rootfs ----
build_rootfs() {
  [ "$(id -u)" -eq 0 ] || die "run as root (debootstrap, file ownerships)"
  need debootstrap qemu-system-arm e2fsprogs cpio
  local h tar d
  h=$(rootfs_hash); tar=$CACHE/rootfs-$h.tar
  if [ -s "$tar" ]; then log "rootfs cached: $tar"; ROOTFS_TAR=$tar; return; fi
  mkdir -p "$CACHE" "$WORK"
  d=$WORK/stage1
  # REUSE_STAGE2=1: finish a stage 2 that failed late on its own disk
  # (image/stage2.sh skips what is done); it needs stage 1's package cache.
  local reuse2=
  if [ -n "${REUSE_STAGE2:-}" ] && [ -s "$WORK/stage2.ext4" ] && [ -d "$d/var/cache/apt/archives" ]; then
    reuse2=1; log "reusing the stage-2 disk $WORK/stage2.ext4 (REUSE_STAGE2)"
  elif [ -n "${REUSE_STAGE1:-}" ] && [ -x "$d/debootstrap/debootstrap" ]; then
    log "reusing stage 1 in $d (REUSE_STAGE1)"
  else
    rm -rf "$d"; mkdir -p "$d"
    log "debootstrap --foreign $SUITE arm64 (stage 1 on the host)"
    debootstrap --foreign --arch=arm64 --variant=minbase \
      --components=main,non-free-firmware \
      --include="$(IFS=,; echo "${PACKAGES[*]}")" \
      "$SUITE" "$d" "$MIRROR" > "$WORK/debootstrap1.log" 2>&1 \
      || { tail -20 "$WORK/debootstrap1.log" >&2; die "debootstrap stage 1 failed (log: $WORK/debootstrap1.log)"; }
  fi
  cp image/stage2.sh "$d/stage2.sh"; chmod 755 "$d/stage2.sh"

  # The kernel that runs stage 2: Debian's, from the packages just fetched.
  local kdeb kx=$WORK/kernel
  kdeb=$(ls "$d"/var/cache/apt/archives/linux-image-6*-arm64_*.deb 2>/dev/null | grep -v unsigned | head -1 || true)
  [ -n "$kdeb" ] || kdeb=$(ls "$d"/var/cache/apt/archives/linux-image-6*arm64*.deb | head -1)
  rm -rf "$kx"; mkdir -p "$kx"; dpkg-deb -x "$kdeb" "$kx"
  make_initramfs "$kx" "$WORK/initrd-stage2.gz"

  if [ -n "$reuse2" ]; then
    # The new stage2.sh onto the old disk (debugfs writes into the ext4 image).
    # The VM powered off without unmounting: replay its journal first, or
    # debugfs writes beside what the journal still holds.
    local fsck=0; e2fsck -fy "$WORK/stage2.ext4" >/dev/null 2>&1 || fsck=$?
    [ "$fsck" -le 1 ] || die "the stage-2 disk is damaged (e2fsck: $fsck): build without REUSE_STAGE2"
    debugfs -w -R "rm /stage2.sh" "$WORK/stage2.ext4" >/dev/null 2>&1 || true
    debugfs -w -R "write $d/stage2.sh /stage2.sh" "$WORK/stage2.ext4" >/dev/null
    debugfs -w -R "sif /stage2.sh mode 0100755" "$WORK/stage2.ext4" >/dev/null
  else
    log "making the stage-2 disk"
    rm -f "$WORK/stage2.ext4"
    mke2fs -q -t ext4 -d "$d" -L stage2 "$WORK/stage2.ext4" 3G
  fi
  rm -f "$WORK/stage2.out"
  truncate -s 3G "$WORK/stage2.out"
  log "debootstrap --second-stage in qemu-system-aarch64 -M virt ($SMP cpus; about 45 min on 2 cores; progress: $WORK/stage2-console.log)"
  local t0=$SECONDS
  timeout --foreground -s KILL "${STAGE2_TIMEOUT:-10800}" qemu-system-aarch64 -M virt -cpu cortex-a72 -smp "$SMP" -m 2048 \
    -nographic -no-reboot -nic none \
    -kernel "$kx"/boot/vmlinuz-* -initrd "$WORK/initrd-stage2.gz" \
    -append "console=ttyAMA0 panic=-1 loglevel=4" \
    -drive if=none,id=d0,file="$WORK/stage2.ext4",format=raw,cache=unsafe -device virtio-blk-device,drive=d0 \
    -drive if=none,id=d1,file="$WORK/stage2.out",format=raw,cache=unsafe -device virtio-blk-device,drive=d1 \
    > "$WORK/stage2-console.log" 2>&1 < /dev/null || true
  log "stage 2 took $((SECONDS - t0)) s"
  grep -q '^HOMTHU-STAGE2-OK' "$WORK/stage2-console.log" \
    || { tail -40 "$WORK/stage2-console.log" >&2; die "stage 2 failed (log: $WORK/stage2-console.log)"; }
  # stage2.out is a raw tar stream followed by zeros.
  tar -tf "$WORK/stage2.out" > /dev/null || die "stage 2 produced no readable tar"
  local n; n=$(grep '^HOMTHU-STAGE2-OK' "$WORK/stage2-console.log" | awk '{print $2}' | tr -d '\r')
  head -c "$n" "$WORK/stage2.out" > "$tar.tmp"
  mv "$tar.tmp" "$tar"
  rm -f "$WORK/stage2.ext4" "$WORK/stage2.out"; rm -rf "$d"
  log "rootfs cached: $tar ($(du -h "$tar" | cut -f1))"
  ROOTFS_TAR=$tar
}

# A busybox initramfs that loads virtio + ext4 from the Debian kernel's
# modules, runs image/stage2.sh in a chroot and tars the result onto vdb.
make_initramfs() {
  local kx=$1 out=$2 ir=$WORK/initramfs kver m
  kver=$(ls "$kx/lib/modules")
  rm -rf "$ir"; mkdir -p "$ir"/{bin,mnt,proc,sys,dev,mods}
  # arm64 busybox: from the stage-1 package cache if there, else apt-get download.
  local bb; bb=$(ls "$WORK"/stage1/var/cache/apt/archives/busybox-static_*_arm64.deb 2>/dev/null | head -1 || true)
  if [ -z "$bb" ]; then (cd "$WORK" && apt-get download -q busybox-static:arm64 >&2); bb=$(ls "$WORK"/busybox-static_*_arm64.deb | head -1); fi
  mkdir -p "$WORK/bb"; dpkg-deb -x "$bb" "$WORK/bb"; cp "$WORK/bb/bin/busybox" "$ir/bin/busybox"
  for m in virtio_mmio virtio_blk crc16 crc32c_generic libcrc32c mbcache jbd2 ext4; do
    local f; f=$(find "$kx/lib/modules/$kver" -name "$m.ko*" | head -1)
    [ -n "$f" ] || continue
    case $f in *.xz) xz -dc "$f" > "$ir/mods/$m.ko";; *) cp "$f" "$ir/mods/$m.ko";; esac
    echo "$m" >> "$ir/mods/order"
  done
  cat > "$ir/init" <<'INIT'
#!/bin/busybox sh
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc; mount -t sysfs sys /sys; mount -t devtmpfs dev /dev
for m in $(cat /mods/order); do insmod /mods/$m.ko 2>/dev/null; done
# virtio-mmio devices enumerate in reverse: the rootfs is whichever mounts.
i=0; OUT=
while [ -z "$OUT" ]; do
  for d in vda vdb; do
    if mount -t ext4 /dev/$d /mnt 2>/dev/null; then
      [ $d = vda ] && OUT=/dev/vdb || OUT=/dev/vda; break
    fi
  done
  [ -n "$OUT" ] && break
  i=$((i+1)); [ $i -lt 30 ] || { echo HOMTHU-STAGE2-FAIL mount; poweroff -f; }; sleep 1
done
mount -t proc proc /mnt/proc; mount -t sysfs sys /mnt/sys; mount -t devtmpfs dev /mnt/dev
mount -t devpts devpts /mnt/dev/pts 2>/dev/null
if chroot /mnt /bin/sh /stage2.sh; then
  umount /mnt/dev/pts /mnt/dev /mnt/sys /mnt/proc 2>/dev/null
  rm -f /mnt/stage2.sh
  # GNU tar of the target itself keeps xattrs and numeric owners.
  mount -t devtmpfs dev /mnt/dev
  n=$(chroot /mnt /bin/sh -c 'cd / && tar --numeric-owner --xattrs --one-file-system -cf - .' | tee $OUT | wc -c)
  sync
  echo "HOMTHU-STAGE2-OK $n"
else
  echo HOMTHU-STAGE2-FAIL
fi
sync
poweroff -f
INIT
  chmod 755 "$ir/init"
  (cd "$ir" && find . | cpio -o -H newc --quiet | gzip -1) > "$out"
}


# ------------------------------------------------------------ the .deb ----
# homthu-kiosk_<ver>_arm64.deb from the cross-built programs. Installed into
# the image here, and onto Raspberry Pi OS (Pi 5) with apt (docs/image.md).
version() {
  local v h
  v=$(sed -n 's/^#define HOMTHU_VERSION "\(.*\)"/\1/p' src/core/version.h)
  h=$(git rev-parse --short HEAD 2>/dev/null || echo 0)
  echo "${v:-0.0.0}+git$(git log -1 --format=%cd --date=format:%Y%m%d 2>/dev/null || date +%Y%m%d).$h"
}

build_deb() {
  local bin=$BIN_DIR b
  if [ -z "$bin" ]; then
    # Always through make: it rebuilds what the sources changed since, so
    # the .deb named after this commit holds this commit's programs.
    bin=build/aarch64-linux-gnu-release
    log "arm64 programs: make CROSS=aarch64-linux-gnu MODE=release"
    make CROSS=aarch64-linux-gnu MODE=release $bin/homthu-kiosk $bin/homthu-uplink \
      $bin/homthu-queue >&2 || die "the arm64 build failed (tools/deps-arm64.sh installs its libraries)"
  fi
  aarch64-linux-gnu-readelf -h "$bin/homthu-kiosk" 2>/dev/null | grep -q 'AArch64' || die "$bin/homthu-kiosk is not an arm64 program"
  case $bin in *debug*) log "WARNING: packaging DEBUG programs from $bin";; esac
  local ver p=$WORK/deb arch=arm64
  ver=$(version)
  rm -rf "$p"; mkdir -p "$p/DEBIAN" "$p/usr/bin" "$p/usr/lib/homthu" "$p/usr/share/homthu" \
    "$p/usr/share/doc/homthu" "$p/lib/systemd/system" "$p/usr/lib/sysusers.d" "$p/lib/udev/rules.d"
  for b in homthu-kiosk homthu-uplink homthu-queue; do
    [ -x "$bin/$b" ] || { [ $b = homthu-queue ] && continue; die "missing $bin/$b"; }
    install -m 0755 "$bin/$b" "$p/usr/bin/$b"
    aarch64-linux-gnu-strip --strip-unneeded "$p/usr/bin/$b"
  done
  cp -R assets "$p/usr/share/homthu/assets"
  cp -R fonts "$p/usr/share/homthu/fonts"
  install -m 0644 image/homthu-kiosk.service image/homthu-uplink.service \
    image/firstboot/homthu-firstboot.service "$p/lib/systemd/system/"
  install -m 0755 image/firstboot/homthu-firstboot "$p/usr/lib/homthu/"
  install -m 0644 docs/appliance.md docs/config.md "$p/usr/share/doc/homthu/"
  [ -f docs/image.md ] && install -m 0644 docs/image.md "$p/usr/share/doc/homthu/"
  cat > "$p/usr/lib/sysusers.d/homthu.conf" <<'X'
g gpio -
u homthu - "Hòm thư kiosk" /var/lib/homthu /usr/sbin/nologin
m homthu video
m homthu render
m homthu input
m homthu audio
m homthu gpio
X
  echo 'SUBSYSTEM=="gpio", KERNEL=="gpiochip*", GROUP="gpio", MODE="0660"' > "$p/lib/udev/rules.d/60-homthu-gpio.rules"
  # Depends: from the programs' libraries (the arm64 libraries are installed
  # beside the cross toolchain), else the known list.
  local deps
  mkdir -p "$p/debian"; : > "$p/debian/control"
  deps=$(cd "$p" && dpkg-shlibdeps -O -a"$arch" --ignore-missing-info usr/bin/* 2>/dev/null | sed -n 's/^shlibs:Depends=//p') || true
  rm -rf "$p/debian"
  [ -n "$deps" ] || deps="libc6 (>= 2.36), libsodium23, libsqlite3-0, libopus0, libopusenc0, libopusfile0, libogg0, libsdl2-2.0-0, libsdl2-ttf-2.0-0, libcurl4, libgpiod2"
  cat > "$p/DEBIAN/control" <<X
Package: homthu-kiosk
Version: $ver
Architecture: $arch
Maintainer: Hòm thư <homthu@localhost>
Section: misc
Priority: optional
Depends: $deps, libegl1, libegl-mesa0, libgles2, libgl1-mesa-dri, systemd, e2fsprogs, fdisk, util-linux
Recommends: fonts-noto-color-emoji, alsa-utils, openssh-server, gpiod
Description: Hòm thư anonymous tip kiosk (touch app, encrypted queue, uploader)
 The kiosk of the Hòm thư appliance: homthu-kiosk (SDL2 on KMSDRM),
 homthu-uplink (delivery to the relay), homthu-queue (technician's view),
 their systemd units and the first-boot card setup.
X
  # Set up on a running system (Raspberry Pi OS on a Pi 5). Inside an image
  # build (DPKG_ROOT set) image/build.sh does the same offline.
  cat > "$p/DEBIAN/postinst" <<'X'
#!/bin/sh
set -e
[ -z "${DPKG_ROOT:-}" ] || exit 0
if [ "$1" = configure ]; then
  systemd-sysusers homthu.conf
  udevadm control --reload-rules 2>/dev/null || true
  udevadm trigger --subsystem-match=gpio 2>/dev/null || true
  systemctl daemon-reload || true
  systemctl enable homthu-firstboot.service homthu-kiosk.service homthu-uplink.service || true
  systemctl mask getty@tty1.service || true
fi
X
  cat > "$p/DEBIAN/prerm" <<'X'
#!/bin/sh
set -e
[ -z "${DPKG_ROOT:-}" ] || exit 0
if [ "$1" = remove ]; then
  systemctl disable --now homthu-kiosk.service homthu-uplink.service homthu-firstboot.service || true
fi
X
  chmod 0755 "$p/DEBIAN/postinst" "$p/DEBIAN/prerm"
  mkdir -p "$OUT"
  DEB=$OUT/homthu-kiosk_${ver}_${arch}.deb
  dpkg-deb --root-owner-group -Zxz --build "$p" "$DEB" >/dev/null
  log "deb: $DEB ($(du -h "$DEB" | cut -f1)) from $bin"
}

# ---------------------------------------------------------- the card ----
# Partitions (MBR: the Pi 3's boot ROM reads nothing else):
#   1  FAT32  HOMTHU-BOOT  firmware, kernel, initrd, DTBs, config.txt, cmdline.txt,
#                          homthu/ (kiosk.conf, device.key from homthu-provision)
#   2  ext4   homthu-root  the system, mounted read-only
#   3  ext4   homthu-data  /data: the queue (/var/lib/homthu), systemd's state,
#                          SSH and Wi-Fi settings; grown to fill the card at first boot
assemble() {
  need e2fsprogs dosfstools mtools fdisk bmap-tools xz-utils
  local R=$WORK/root B=$WORK/boot D=$WORK/data kver gid uid ver
  log "unpacking the rootfs"
  rm -rf "$R" "$B" "$D"; mkdir -p "$R" "$B" "$D"
  tar -xpf "$ROOTFS_TAR" -C "$R" --numeric-owner --xattrs 2>/dev/null || tar -xpf "$ROOTFS_TAR" -C "$R" --numeric-owner

  log "installing $DEB"
  dpkg --root="$R" --force-architecture --force-script-chrootless --no-triggers --log=/dev/null ${DPKG_EXTRA:-} -i "$DEB" >&2
  rm -f "$R"/var/cache/apt/*.bin
  uid=$(awk -F: '$1=="homthu"{print $3}' "$R/etc/passwd")
  gid=$(awk -F: '$1=="homthu"{print $4}' "$R/etc/passwd")
  [ -n "$uid" ] || die "no user homthu in the rootfs"
  awk -F: '$1=="root" && $2!="*"{exit 1}' "$R/etc/shadow" || die "root has a password in the rootfs"
  PARTID=$(printf '%08x' $(( $(od -An -N4 -tu4 /dev/urandom) | 1 )))

  # --- read-only root, data partition, tmpfs where the system writes
  cat > "$R/etc/fstab" <<X
# Hòm thư (image/build.sh). The root is read-only; what must be written
# lives on the data partition or in RAM.
PARTUUID=$PARTID-02  /               ext4   ro,noatime,errors=remount-ro                      0 1
PARTUUID=$PARTID-01  /boot/firmware  vfat   ro,nofail,uid=0,gid=$gid,fmask=0137,dmask=0027,flush 0 2
PARTUUID=$PARTID-03  /data           ext4   noatime,nodev,nosuid,noexec,nofail,commit=5      0 2
/data/homthu         /var/lib/homthu none   bind,nofail,x-systemd.requires-mounts-for=/data  0 0
/data/systemd        /var/lib/systemd none  bind,nofail,x-systemd.requires-mounts-for=/data  0 0
tmpfs                /tmp            tmpfs  nosuid,nodev,mode=1777,size=64M                   0 0
tmpfs                /var/tmp        tmpfs  nosuid,nodev,mode=1777,size=16M                   0 0
tmpfs                /var/log        tmpfs  nosuid,nodev,noexec,mode=0755,size=16M            0 0
X
  mkdir -p "$R/data" "$R/var/lib/homthu" "$R/boot/firmware"
  echo homthu > "$R/etc/hostname"
  printf '127.0.0.1\tlocalhost\n127.0.1.1\thomthu\n::1\t\tlocalhost ip6-localhost ip6-loopback\n' > "$R/etc/hosts"
  ln -sf /usr/share/zoneinfo/Asia/Ho_Chi_Minh "$R/etc/localtime"; echo Asia/Ho_Chi_Minh > "$R/etc/timezone"
  mkdir -p "$R/etc/systemd/journald.conf.d"
  printf '[Journal]\nStorage=volatile\nRuntimeMaxUse=32M\n' > "$R/etc/systemd/journald.conf.d/homthu.conf"
  # Network: DHCP on wired and Wi-Fi (systemd-networkd); Wi-Fi settings come
  # from homthu/wifi.conf on the boot partition (moved to /data/network).
  mkdir -p "$R/etc/systemd/network" "$R/etc/wpa_supplicant"
  # No name announced on the health station's network: LLMNR and mDNS off,
  # in resolved and on each link (a drop-in in /etc/systemd/resolved.conf.d
  # on the image turns them back on, if ever wanted).
  printf '[Match]\nName=eth* en*\n\n[Network]\nDHCP=yes\nLLMNR=no\nMulticastDNS=no\n' > "$R/etc/systemd/network/20-wired.network"
  printf '[Match]\nName=wlan*\n\n[Network]\nDHCP=yes\nLLMNR=no\nMulticastDNS=no\n' > "$R/etc/systemd/network/25-wireless.network"
  mkdir -p "$R/etc/systemd/resolved.conf.d"
  printf '# Hòm thư: the kiosk announces itself to nobody.\n[Resolve]\nLLMNR=no\nMulticastDNS=no\n' \
    > "$R/etc/systemd/resolved.conf.d/homthu.conf"
  ln -sf /data/network/wpa_supplicant-wlan0.conf "$R/etc/wpa_supplicant/wpa_supplicant-wlan0.conf"
  mkdir -p "$R/etc/systemd/system/wpa_supplicant@wlan0.service.d"
  printf '[Unit]\nConditionPathExists=/data/network/wpa_supplicant-wlan0.conf\n' \
    > "$R/etc/systemd/system/wpa_supplicant@wlan0.service.d/homthu.conf"
  # Wi-Fi starts when wlan0 appears, never at boot: enabled in multi-user
  # it would wait 90 s for a wlan0 that a kiosk on Ethernet or a USB modem
  # does not have, and hold network.target (and all after it) that long.
  mkdir -p "$R/etc/systemd/system/sys-subsystem-net-devices-wlan0.device.wants"
  ln -sf /lib/systemd/system/wpa_supplicant@.service \
    "$R/etc/systemd/system/sys-subsystem-net-devices-wlan0.device.wants/wpa_supplicant@wlan0.service"
  # SSH: keys only, root only, host key and authorized keys on /data; runs only
  # while homthu/ssh_authorized_keys is on the boot partition (homthu-firstboot).
  mkdir -p "$R/etc/ssh/sshd_config.d" "$R/etc/systemd/system/ssh.service.d"
  cat > "$R/etc/ssh/sshd_config.d/homthu.conf" <<'X'
HostKey /data/ssh/ssh_host_ed25519_key
AuthorizedKeysFile /data/ssh/authorized_keys
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
AllowUsers root
X
  printf '[Unit]\nConditionPathExists=/data/ssh/authorized_keys\nAfter=homthu-firstboot.service\n' \
    > "$R/etc/systemd/system/ssh.service.d/homthu.conf"
  rm -f "$R"/etc/ssh/ssh_host_*
  # What raspi-firmware's hook put under /boot/firmware in the VM is hidden
  # by the FAT mount: the FAT is made below.
  rm -rf "$R"/boot/firmware/*
  # Services.
  local u
  # (SYSTEMCTL_SKIP_SYSV: the SysV side would chroot into arm64 programs.)
  export SYSTEMCTL_SKIP_SYSV=1
  for u in homthu-firstboot.service homthu-kiosk.service homthu-uplink.service; do
    systemctl --root="$R" enable "$u" >/dev/null 2>&1 || die "cannot enable $u"
  done
  for u in systemd-networkd.service systemd-resolved.service systemd-timesyncd.service \
           ssh.service; do
    systemctl --root="$R" enable "$u" >/dev/null 2>&1 || log "WARNING: cannot enable $u"
  done
  rm -f "$R"/etc/systemd/system/multi-user.target.wants/wpa_supplicant@wlan0.service
  systemctl --root="$R" mask getty@tty1.service e2scrub_reap.service \
    systemd-machine-id-commit.service \
    systemd-firstboot.service systemd-networkd-wait-online.service >&2 2>/dev/null || true
  # No timer at all but the one that cleans the tmpfs folders: the others
  # (apt's, dpkg's daily database backup, e2scrub, fstrim, man-db...) would
  # write to the read-only root or wake the card for nothing.
  local t timers=()
  for t in "$R"/lib/systemd/system/*.timer "$R"/usr/lib/systemd/system/*.timer; do
    [ -e "$t" ] || continue
    t=${t##*/}
    case $t in systemd-tmpfiles-clean.timer) continue;; esac
    [[ " ${timers[*]} " == *" $t "* ]] || timers+=("$t")
  done
  if ((${#timers[@]})); then
    systemctl --root="$R" mask "${timers[@]}" >/dev/null 2>&1 || die "cannot mask ${timers[*]}"
    log "timers masked: ${timers[*]}"
  fi
  # (systemd-firstboot would prompt on the console: the empty machine id makes
  # every boot a "first boot" for systemd; wait-online would hold the boot for
  # two minutes whenever the link is down, which is most of the time.)
  echo LANG=C.UTF-8 > "$R/etc/locale.conf"
  # Every card makes its own machine id (on a read-only root: a new one each boot).
  : > "$R/etc/machine-id"

  # --- the data partition's first contents
  mkdir -p "$D/homthu" "$D/systemd" "$D/ssh" "$D/network"
  cp -a "$R/var/lib/systemd/." "$D/systemd/"
  chown "$uid:$gid" "$D/homthu"; chmod 0700 "$D/homthu" "$D/ssh" "$D/network"

  # --- the boot partition: Debian's raspi-firmware, kernel, initrd, DTBs
  kver=$(ls "$R/lib/modules" | sort -V | tail -1)
  cp "$R"/usr/lib/raspi-firmware/* "$B/"
  cp "$R/usr/lib/linux-image-$kver"/broadcom/bcm*.dtb "$B/"
  cp "$R/boot/vmlinuz-$kver" "$B/vmlinuz"
  cp "$R/boot/initrd.img-$kver" "$B/initrd.img"
  cat > "$B/config.txt" <<X
# Hòm thư (image/build.sh). Debian's firmware and kernel: Pi 3B+, 4, Zero 2 W.
arm_64bit=1
upstream_kernel=1
enable_uart=1
kernel=vmlinuz
initramfs initrd.img followkernel
disable_splash=1
disable_overscan=1
# KMS: Debian's upstream device trees enable vc4 (HDMI + V3D) already; there
# are no Raspberry Pi overlays here, so no dtoverlay=vc4-kms-v3d.
[pi4]
max_framebuffers=2
# Debian's raspi-firmware: cma=64M is needed on the Pi 3 family but makes the
# Pi 4 unbootable, hence a command line of its own.
cmdline=cmdline-pi4.txt
[all]
X
  # Kernel text off the panel (tty3, quiet); the serial console on ttyS1
  # (mini UART: Pi 3B+, Zero 2 W, Pi 4 on arm64, as Debian's raspi-firmware
  # does) is named last, so it is /dev/console: where systemd and
  # homthu-firstboot write their messages (docs/image.md).
  local cmd="console=tty3 console=ttyS1,115200 root=PARTUUID=$PARTID-02 ro rootfstype=ext4 rootwait fsck.repair=yes net.ifnames=0 vt.global_cursor_default=0 quiet loglevel=3 consoleblank=0 systemd.show_status=0"
  echo "$cmd cma=64M" > "$B/cmdline.txt"
  echo "$cmd" > "$B/cmdline-pi4.txt"
  mkdir -p "$B/homthu"
  cat > "$B/homthu/README.txt" <<'X'
Hom thu kiosk card. Put here (homthu-provision card does it):
  kiosk.conf   the kiosk's settings        (stays here)
  device.key   the kiosk's signing key     (moved off this card at first boot)
  wifi.conf    optional, wpa_supplicant format, e.g.
                 country=VN
                 network={
                   ssid="..."
                   psk="..."
                 }                         (moved off this card at first boot)
  ssh_authorized_keys  optional: SSH as root with these keys, while the file is here
See /usr/share/doc/homthu/image.md.
X

  # --- the partitions and the card
  local boot_s=$((BOOT_MB*2048)) root_mb data_s root_s start=8192 img used
  used=$(du -sm "$R" | cut -f1)
  root_mb=${ROOT_MB_FORCE:-$(( (used * 125 / 100 + 160 + 63) / 64 * 64 ))}
  root_s=$((root_mb*2048)); data_s=$((DATA_MB*2048))
  ver=$(version)
  IMG=$OUT/homthu-$ver-arm64.img
  log "root: ${used} MiB used, partition ${root_mb} MiB; boot ${BOOT_MB} MiB; data ${DATA_MB} MiB"
  rm -f "$WORK"/p*.img "$IMG"
  mkfs.vfat -F 32 -n HOMTHU-BOOT -C "$WORK/p1.img" $((BOOT_MB*1024)) >/dev/null
  MTOOLS_SKIP_CHECK=1 mcopy -s -i "$WORK/p1.img" "$B"/* ::/
  mke2fs -q -t ext4 -L homthu-root -O ^orphan_file -m 0 -d "$R" "$WORK/p2.img" "${root_mb}M"
  mke2fs -q -t ext4 -L homthu-data -O ^orphan_file -m 1 -d "$D" "$WORK/p3.img" "${DATA_MB}M"
  truncate -s $(( (start + boot_s + root_s + data_s) * 512 )) "$IMG"
  sfdisk -q "$IMG" <<X
label: dos
label-id: 0x$PARTID
unit: sectors
start=$start, size=$boot_s, type=c, bootable
start=$((start+boot_s)), size=$root_s, type=83
start=$((start+boot_s+root_s)), size=$data_s, type=83
X
  dd if="$WORK/p1.img" of="$IMG" bs=1M seek=$((start/2048)) conv=notrunc,sparse status=none
  dd if="$WORK/p2.img" of="$IMG" bs=1M seek=$(((start+boot_s)/2048)) conv=notrunc,sparse status=none
  dd if="$WORK/p3.img" of="$IMG" bs=1M seek=$(((start+boot_s+root_s)/2048)) conv=notrunc,sparse status=none
  rm -f "$WORK"/p*.img
  log "bmap + xz"
  bmaptool -q create -o "$IMG.bmap" "$IMG"
  rm -f "$IMG.xz"
  if [ -n "${NO_XZ:-}" ]; then log "NO_XZ: no .img.xz (the .img is for image/boot-test.sh)"
  else xz -T0 -6 -k "$IMG"; fi
  ln -sf "$(basename "$IMG")" "$OUT/homthu-arm64.img"
  # No dangling link to an .xz that NO_XZ did not make (it would flash nothing).
  if [ -f "$IMG.xz" ]; then ln -sf "$(basename "$IMG").xz" "$OUT/homthu-arm64.img.xz"
  else rm -f "$OUT/homthu-arm64.img.xz"; fi
  ln -sf "$(basename "$IMG").bmap" "$OUT/homthu-arm64.img.bmap"
  if [ -f "$IMG.xz" ]; then
    log "image: $IMG.xz ($(du -h "$IMG.xz" | cut -f1)), $IMG.bmap; card image $(( $(stat -c %s "$IMG") / 1048576 )) MiB"
  fi
}

# ------------------------------------------------------------------ main ----
# Everything the build host needs, before the long part: host tools, the
# arm64 cross toolchain and arm64 libraries (tools/deps-image.sh installs
# what is missing). HOMTHU_NO_DEPS=1 skips the check.
host_deps() {
  [ -z "${HOMTHU_NO_DEPS:-}" ] || return 0
  local t=$SECONDS
  log "checking the build host: packages, arm64 cross toolchain and libraries (tools/deps-image.sh)"
  ./tools/deps-image.sh || die "the build host lacks packages (tools/deps-image.sh failed)"
  log "build host ready ($((SECONDS - t)) s)"
}
# step NAME FUNCTION: runs it and says how long it took.
step() { local t=$SECONDS; "$2"; log "$1 took $((SECONDS - t)) s"; }

case "${1:-all}" in
  rootfs) host_deps; step rootfs build_rootfs ;;
  deb)    host_deps; mkdir -p "$WORK"; step deb build_deb ;;
  # assemble: the card again from the cached rootfs (ROOTFS_TAR= another) and a fresh .deb
  assemble) host_deps; mkdir -p "$WORK"
          [ -n "${ROOTFS_TAR:-}" ] || ROOTFS_TAR=$CACHE/rootfs-$(rootfs_hash).tar
          [ -s "$ROOTFS_TAR" ] || die "no rootfs $ROOTFS_TAR: run image/build.sh rootfs"
          step deb build_deb; step assemble assemble ;;
  all)    [ "$(id -u)" -eq 0 ] || die "run as root (sudo make image)"
          t0=$SECONDS; host_deps; step rootfs build_rootfs; step deb build_deb; step assemble assemble
          log "done in $((SECONDS - t0)) s" ;;
  deps)   host_deps ;;
  *) die "unknown step: $1 (rootfs, deb, assemble, deps or all)" ;;
esac
