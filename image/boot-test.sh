#!/bin/bash
# Hòm thư — boot the built SD image in qemu and take a tip through it.
#
#   sudo image/boot-test.sh [IMAGE]      (default build/image/homthu-arm64.img)
#   sudo MACHINE=raspi3b image/boot-test.sh [IMAGE]
#
# MACHINE=virt (the default): the whole loop, below. MACHINE=raspi3b: the
# emulated Raspberry Pi 3 with Debian's bcm2837-rpi-3-b device tree, whose
# GPIO chip is the Pi's own (bcm2835, the LEDs on GPIO 17/27/22 and the button
# on 23, as kiosk.conf has them by default); qemu emulates no GPU, network or
# sound there, so the kiosk draws offscreen (a drop-in in /run, test only) and
# the tip stays queued: LEDs, restarts and the queue are checked, not delivery.
#
# On a copy of the image (the image itself is not touched), two boots:
#  0. the copy's boot partition gets only the test's own folder
#     (homthu-test/: maketip and the in-guest script); the copy is enlarged
#     to 3 GiB (4 GiB for raspi3b) so that the first boot has to grow /data;
#  1. boots it UNPROVISIONED (no homthu/kiosk.conf, as flashed): the kiosk
#     must start anyway and stay up (no restart), its STATUS= and the panel
#     say "not set up" (virt: a screenshot, the yellow technician's box;
#     raspi3b: red LED code 1 on the default lines); homthu-firstboot says
#     on the serial console what is missing. Then it powers off;
#  2. provisions it as a technician does: homthu-provision post-init and
#     kiosk-new (relay = the host, 10.0.2.2 from inside qemu, plain http:
#     kiosk-new --insecure-http writes relay_insecure_http = true), then
#     `homthu-provision card --from DIR --boot MOUNTED-FAT --ssh-keys KEY`
#     on the copy's first partition (a loop mount; on a host whose kernel
#     has no vfat, on a copy of its files, homthu/ carried back by mcopy);
#  3. boots it again with the image's own cmdline.txt (read from the card;
#     only the machine's serial console and the test's systemd.run= are
#     added), in qemu-system-aarch64 -M virt -cpu cortex-a72 with the kernel
#     and initrd from its own boot partition, virtio disk, network (user) and
#     GPU (the kiosk needs a DRM device for KMSDRM);
#  4. waits for the kiosk service to be ready ("HOMTHU-TEST kiosk-ready" on
#     the serial console), prints boot to first frame (the kiosk says
#     READY=1 once its first screen is drawn) and checks that nothing of the
#     network is in its way (no Wi-Fi here: wpa_supplicant@wlan0 neither
#     waited for nor failed); checks what the first boot did: device.key off
#     the FAT and in /var/lib/homthu (0600 homthu), /data grown, root
#     read-only, SSH on with the card's key, root locked; nothing listens on
#     LLMNR (5355) or mDNS (5353); no timer but systemd-tmpfiles-clean;
#  5. queues a real tip (tests/helpers/maketip, cross-built, run as user
#     homthu on the kiosk's queue) and waits for homthu-uplink to deliver it
#     to homthu-relay running here; homthu-post pulls and opens it; the
#     uplink's unit is watched (WatchdogSec=1min) and its STATUS= line says
#     what it did ("nothing waiting; 1 delivered since start").
# The checks read markers the guest prints on the serial console, and the
# journal (volatile, kept for the whole boot) rather than its last lines.
# Test-only additions live on the copy's FAT (homthu-test/) and the kernel
# command line (systemd.unit=, systemd.wants=, systemd.run=); the product
# image has neither. Needs root (the loop mount) and tools/deps-image.sh
# boot-test's packages (make boot-test installs them).
# Prints "PASS name" / "FAIL name"; exit 0 when all passed. Kills its qemu.
set -u
TOP=$(cd "$(dirname "$0")/.." && pwd)
cd "$TOP"
IMG=${1:-build/image/homthu-arm64.img}
T=$(realpath -m "${T:-build/image/boot-test}")   # absolute: the relay reads paths from its config
HB=${HOMTHU_BUILD:-build/debug}
XB=${XBUILD:-build/aarch64-linux-gnu-release}
TIMEOUT=${TIMEOUT:-1500}
MACHINE=${MACHINE:-virt}
case $MACHINE in virt|raspi3b) ;; *) echo "MACHINE is virt or raspi3b"; exit 2;; esac
SMP=${SMP:-$(nproc)}
failed=0
QEMU_PID= RELAY_PID= MNT=
cleanup() {
  [ -n "$QEMU_PID" ] && kill "$QEMU_PID" 2>/dev/null
  [ -n "$RELAY_PID" ] && kill "$RELAY_PID" 2>/dev/null
  [ -n "$MNT" ] && mountpoint -q "$MNT" && umount "$MNT"
  wait 2>/dev/null
}
trap cleanup EXIT
pass() { echo "PASS boot_$1"; }
fail() { echo "FAIL boot_$1${2:+ ($2)}"; failed=1; }
check() { local n=$1; shift; if "$@"; then pass "$n"; else fail "$n"; fi; }
LOG=$T/console.log
con() { grep -a -q -- "$1" "$LOG"; }

[ "$(id -u)" -eq 0 ] || { echo "FAIL boot_as_root (the card is provisioned on a loop mount: run as root)"; exit 1; }
[ -f "$IMG" ] || { [ -f "$IMG.xz" ] && xz -dk "$IMG.xz"; }
[ -f "$IMG" ] || { echo "FAIL boot_image_exists ($IMG: run sudo make image)"; exit 1; }
for p in "$HB/homthu-provision" "$HB/homthu-relay" "$HB/homthu-post"; do
  [ -x "$p" ] || make "$p" >/dev/null || { echo "FAIL boot_tools_built ($p)"; exit 1; }
done
[ -x "$XB/helpers/maketip" ] || make CROSS=aarch64-linux-gnu MODE=release "$XB/helpers/maketip" >/dev/null \
  || { echo "FAIL boot_tools_built ($XB/helpers/maketip)"; exit 1; }

rm -rf "$T"; mkdir -p "$T"
cp --sparse=always "$(readlink -f "$IMG")" "$T/card.img"
# (An emulated SD card must be a power of two in size.)
truncate -s "$([ "$MACHINE" = raspi3b ] && echo 4G || echo 3G)" "$T/card.img"
# Partition offsets and the disk id.
P1=$(sfdisk -d "$T/card.img" | awk -F'[=,]' '/card.img1 /{gsub(/ /,"",$2); print $2}')
P1S=$(sfdisk -d "$T/card.img" | awk -F'[=,]' '/card.img1 /{gsub(/ /,"",$4); print $4}')
PARTID=$(sfdisk -d "$T/card.img" | awk '/^label-id:/{sub(/^0x/,"",$2); print $2}')
FAT="$T/card.img@@$((P1 * 512))"
export MTOOLS_SKIP_CHECK=1
mcopy -n -i "$FAT" ::vmlinuz "$T/vmlinuz" && mcopy -n -i "$FAT" ::initrd.img "$T/initrd.img" \
  && mcopy -n -i "$FAT" ::bcm2837-rpi-3-b.dtb "$T/rpi3b.dtb" && mcopy -n -i "$FAT" ::cmdline.txt "$T/cmdline.txt" \
  || { echo "FAIL boot_kernel_on_fat"; exit 1; }
# The image's own kernel command line (cmdline.txt: what the Pi 3's
# firmware passes), as is.
CMDLINE=$(tr -d '\r\n' < "$T/cmdline.txt")
echo "boot-test: cmdline.txt: $CMDLINE"
check image_cmdline_has_the_root "$(echo "$CMDLINE" | grep -q "root=PARTUUID=$PARTID-02 ro" && echo true || echo false)"
check image_cmdline_serial_console_last sh -c "echo '$CMDLINE' | grep -qE 'console=tty3 console=ttyS1,115200 '"

# --- what the technician will write onto the card (after the first boot)
export HOMTHU_PWHASH=min HOMTHU_PASSPHRASE="boot test passphrase" TZ=UTC
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
TOKEN=boot-test-token-0123456789abcdef0123456789
"$HB/homthu-provision" post-init --dir "$T/post" >/dev/null 2>&1 || { echo "FAIL boot_post_init"; exit 1; }
# A test network: plain http to the host (kiosk.conf gets relay_insecure_http = true).
"$HB/homthu-provision" kiosk-new --post "$T/post" --id boot-test-01 --out "$T/provision" \
  --relay "http://10.0.2.2:$PORT/" --insecure-http >/dev/null 2>&1 || { echo "FAIL boot_kiosk_new"; exit 1; }
grep -Eq '^relay_insecure_http *= *true' "$T/provision/kiosk.conf" || { echo "FAIL boot_kiosk_conf_allows_the_test_relay"; exit 1; }
# The LEDs: on the Pi's GPIO chip at kiosk.conf's default lines, as a
# technician wires them; on the virt machine's chip (a PL061 with 8 lines;
# line 3 is its power button, held by the kernel) on lines 0-2, no button.
sed -i -E 's/^led_chip *=.*/led_chip = gpiochip0/' "$T/provision/kiosk.conf"
[ "$MACHINE" = raspi3b ] || sed -i -E -e 's/^led_green *=.*/led_green = 0/' \
  -e 's/^led_amber *=.*/led_amber = 1/' -e 's/^led_red *=.*/led_red = 2/' \
  -e 's/^button_line *=.*/button_line = -1/' "$T/provision/kiosk.conf"
grep -q '^led_chip = gpiochip0' "$T/provision/kiosk.conf" || { echo "FAIL boot_led_config"; exit 1; }
ssh-keygen -q -t ed25519 -N '' -C boot-test -f "$T/id_ed25519"

# Test-only: maketip and the in-guest script (run from the kernel command line).
mmd -i "$FAT" ::homthu-test
mcopy -o -i "$FAT" "$XB/helpers/maketip" ::homthu-test/maketip
cat > "$T/guest.sh" <<'G'
#!/bin/bash
# Runs inside the booted image (systemd.run=). Markers go to the serial console.
# Out of the boot's transaction (multi-user.target would wait for this
# script, and the boot never count as finished): again as a unit of its own.
if [ -z "${HOMTHU_TEST_CHILD:-}" ]; then
  exec systemd-run --no-block --unit=homthu-boot-test --setenv=HOMTHU_TEST_CHILD=1 /bin/bash "$0"
fi
exec > /dev/console 2>&1
m() { echo "HOMTHU-TEST $*"; }
PI=; grep -q 'Raspberry Pi' /proc/device-tree/model 2>/dev/null && PI=1
m machine=$(tr -d '\0' < /proc/device-tree/model)
asq() { setpriv --reuid=homthu --regid=homthu --init-groups "$@"; }
waiting() { asq homthu-queue --json /var/lib/homthu 2>/dev/null | sed -n 's/.*"waiting": \([0-9]*\),.*/\1/p'; }
kpid() { systemctl show -p MainPID --value homthu-kiosk.service; }
# Waits until the kiosk is active (READY=1 sent) under a MainPID other than $1.
ready_again() {
  local end=$((SECONDS + 300))
  while [ $SECONDS -lt $end ]; do
    p=$(kpid)
    [ "$(systemctl is-active homthu-kiosk.service)" = active ] && [ "$p" != 0 ] && [ "$p" != "$1" ] && return 0
    sleep 1
  done
  return 1
}
# When the kiosk first said READY=1 (its first frame), in seconds since the
# kernel started (CLOCK_MONOTONIC, as systemd stamps it).
first_frame() {
  local us; us=$(systemctl show -p ActiveEnterTimestampMonotonic --value homthu-kiosk.service)
  echo "$((us / 1000000)).$(( (us / 100000) % 10 ))"
}
mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null
# level LED: lv=hi|lo|none, read with shell builtins (no fork: fast sampling).
level() {
  lv=none
  while IFS= read -r l; do
    case $l in *"homthu-kiosk-$1"*" out hi"*) lv=hi;; *"homthu-kiosk-$1"*" out lo"*) lv=lo;; esac
  done < /sys/kernel/debug/gpio
}
# count LED SECONDS: "lit:dark" samples over that long (the heartbeat is
# lit 100 ms in 2 s; a fault code blinks 300 ms).
count() {
  local hi=0 lo=0 end=$((SECONDS + $2))
  while [ $SECONDS -lt $end ]; do
    level "$1"
    case $lv in hi) hi=$((hi+1));; lo) lo=$((lo+1));; esac
    sleep 0.02
  done
  echo "$hi:$lo"
}
if [ -n "$PI" ]; then
  # qemu's Pi has no GPU: the kiosk draws offscreen (test only, in /run).
  mkdir -p /run/systemd/system/homthu-kiosk.service.d
  printf '[Service]\nEnvironment=SDL_VIDEODRIVER=offscreen\n' \
    > /run/systemd/system/homthu-kiosk.service.d/boot-test.conf
  systemctl daemon-reload
  systemctl restart --no-block homthu-kiosk.service
fi
# The boot is the normal one (systemd.unit=multi-user.target); this runs
# beside it. (Starting multi-user.target again here would start the
# finished kernel-command-line.service a second time.)

# ---------------------------------------------------------------------------
# Boot 1: the card as flashed, nobody wrote homthu/kiosk.conf on it yet.
if [ ! -e /boot/firmware/homthu/kiosk.conf ]; then
  m phase=unprovisioned
  if ! ready_again 0; then
    m kiosk-not-ready; systemctl status homthu-kiosk --no-pager | tail -20; journalctl -b -u homthu-kiosk --no-pager | tail -30
    sync; m done-unprovisioned; systemctl poweroff; exit 1
  fi
  m unprov-first-frame-s=$(first_frame)
  m unprov-ready
  p0=$(kpid); r0=$(systemctl show -p NRestarts --value homthu-kiosk.service)
  [ -n "$PI" ] && m unprov-led-red=$(count red 8)   # the default lines: wired on the Pi
  sleep 25   # the host takes a screenshot of the panel now; a restart loop would show
  m unprov-status=$(systemctl show -p StatusText --value homthu-kiosk.service)
  m unprov-same-process=$([ "$(kpid)" = "$p0" ] && echo yes || echo "no ($p0 then $(kpid))")
  m unprov-restarts=$r0:$(systemctl show -p NRestarts --value homthu-kiosk.service)
  m unprov-active=$(systemctl is-active homthu-kiosk.service)
  m unprov-logged=$(journalctl -b -u homthu-kiosk.service -o cat --no-pager | grep -c 'not set up: no /boot/firmware/homthu/kiosk.conf')
  journalctl -b -u homthu-kiosk.service -o cat --no-pager | grep -v '^audio:' | head -8
  sync
  m done-unprovisioned
  systemctl poweroff
  exit 0
fi

# ---------------------------------------------------------------------------
# Boot 2: provisioned with homthu-provision card.
m phase=provisioned
if ! ready_again 0; then
  m kiosk-not-ready; systemctl status homthu-kiosk --no-pager | tail -20; journalctl -b -u homthu-kiosk --no-pager | tail -30; exit 1
fi
m first-frame-s=$(first_frame)
m jobs-for-wlan0=$(systemctl list-jobs --no-legend 2>/dev/null | grep -c wlan0)
m kiosk-ready
m uptime-at-ready=$(cut -d' ' -f1 /proc/uptime)
# What the kiosk's start waited for (once the boot is done: systemd-analyze
# says nothing before).
end=$((SECONDS + 180))
while [ "$(systemctl is-system-running)" = starting ] && [ $SECONDS -lt $end ]; do sleep 2; done
m system=$(systemctl is-system-running)
m failed-units=$(systemctl --failed --plain --no-legend | awk '{print $1}' | tr '\n' ' ')
chain=$(systemd-analyze critical-chain homthu-kiosk.service --no-pager 2>&1)
echo "$chain" | tail -12
if echo "$chain" | grep -q 'homthu-kiosk.service'; then
  m chain-network=$(echo "$chain" | grep -cE 'network|wpa_supplicant|wlan0|user-sessions')
else
  m chain-network=unknown
fi
sleep 20   # the host takes a screenshot of the panel now
systemctl status homthu-firstboot.service --no-pager 2>&1 | tail -8
m fat-has-device-key=$(test -e /boot/firmware/homthu/device.key && echo yes || echo no)
m key-stat=$(stat -c '%a:%U' /var/lib/homthu/device.key 2>/dev/null)
m conf-key=$(grep '^device_key_file' /boot/firmware/homthu/kiosk.conf)
m data-mb=$(df -m --output=size /data | tail -1 | tr -d ' ')
m root-ro=$(findmnt -no OPTIONS / | tr ',' '\n' | grep -qx ro && echo yes || echo no)
m ssh=$(systemctl is-active ssh.service)
m root-pw=$(getent shadow root | cut -d: -f2)
m uplink=$(systemctl is-active homthu-uplink.service)
m uplink-watchdog=$(systemctl show -p WatchdogUSec --value homthu-uplink.service)
m uplink-status-idle=$(systemctl show -p StatusText --value homthu-uplink.service)
# Nothing announces the kiosk: no LLMNR (5355) or mDNS (5353) socket, while
# systemd-resolved runs; no timer but the tmpfs cleaner.
ss -H -lntu 2>&1
m resolved=$(systemctl is-active systemd-resolved.service)
m llmnr-mdns-sockets=$(ss -H -lntu | awk '{print $5}' | grep -cE ':(5355|5353)$')
m timers-active=$(systemctl list-units --type=timer --state=active --no-legend --plain | awk '{print $1}' | tr '\n' ' ')
m wlan0-wpa=$(systemctl is-failed wpa_supplicant@wlan0.service)
m network-target=$(systemctl is-active network.target)

# --- the LEDs, through libgpiod on the emulated machine's GPIO chip (PL061):
# the kernel's GPIO debugfs shows each line the kiosk holds, with its level.
grep -E 'homthu|gpiochip' /sys/kernel/debug/gpio
m button-line=$(grep -c 'homthu-kiosk-button' /sys/kernel/debug/gpio)
for led in green amber red; do m led-$led=$(count $led 8); done

# --- the kiosk crashes: systemd restarts it; delivery (its own service) runs on.
upid() { systemctl show -p MainPID --value homthu-uplink.service; }
u1=$(upid); p0=$(kpid); kill -SEGV "$p0"
if ready_again "$p0"; then m first-crash-restarted=yes; else m first-crash-restarted=no; fi
u2=$(upid)
m uplink-ran-on=$([ "$u1" != 0 ] && [ "$u1" = "$u2" ] && echo yes || echo "no ($u1 then $u2)")

# --- a tip waits while delivery is stopped, and survives the kiosk's crash
# and a watchdog kill (systemd restarts it each time).
systemctl stop homthu-uplink.service
id=$(asq /lib/ld-linux-aarch64.so.1 /boot/firmware/homthu-test/maketip \
     --config /boot/firmware/homthu/kiosk.conf --text "boot-test tip" --category 1)
m tip-queued=$id
m waiting-before=$(waiting)
# The kiosk looks at the queue once a second (slower under emulation): wait
# for amber to light, then watch it.
end=$((SECONDS + 15)); level amber
while [ "$lv" != hi ] && [ $SECONDS -lt $end ]; do sleep 0.2; level amber; done
m amber-while-waiting=$(count amber 4)
p1=$(kpid); kill -SEGV "$p1"
if ready_again "$p1"; then m crash-restarted=yes; else m crash-restarted=no; fi
p2=$(kpid); kill -STOP "$p2"
if ready_again "$p2"; then m watchdog-restarted=yes; else m watchdog-restarted=no; fi
# The whole boot's journal (volatile, kept in RAM), not its last lines:
# systemd's own "Watchdog timeout" line for the unit.
m watchdog-timeouts=$(journalctl -b -u homthu-kiosk.service -o cat --no-pager | grep -c 'Watchdog timeout')
m restarts=$(systemctl show -p NRestarts --value homthu-kiosk.service)
m waiting-after=$(waiting)
m queue-check=$(asq homthu-queue --check /var/lib/homthu >/dev/null 2>&1 && echo ok || echo bad)

[ -z "$PI" ] || { m done; exit 0; }   # no network on qemu's Pi
# --- delivery resumes: the relay on the host gets the tip.
systemctl start homthu-uplink.service
i=0
while [ $i -lt 240 ]; do
  [ "$(waiting)" = 0 ] && { m queue-empty; break; }
  i=$((i+1)); sleep 2
done
asq homthu-queue /var/lib/homthu 2>&1 | head -5
journalctl -b -u homthu-uplink --no-pager | tail -8
sleep 3   # the loop's next turn updates STATUS=
m uplink-status-after=$(systemctl show -p StatusText --value homthu-uplink.service)
# Amber blinks on for a while after sending (LEDS_SENDING_HOLD_MS, 30 s), then goes dark.
sleep 35
m amber-after-delivery=$(count amber 4)
m done
G
mcopy -o -i "$FAT" "$T/guest.sh" ::homthu-test/guest.sh

# --- the relay on the host
cat > "$T/relay.conf" <<X
listen = 127.0.0.1:$PORT
database = $T/relay.db
registry = $T/post/registry.db
post_token = $TOKEN
X
"$HB/homthu-relay" --config "$T/relay.conf" > "$T/relay.log" 2>&1 &
RELAY_PID=$!

# The panel as the kiosk drew it on KMSDRM (QMP screendump).
shot() {
  python3 - "$T/qmp.sock" "$(readlink -f "$T")/$1" <<'PY'
import json, socket, sys
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); f = s.makefile('rw')
f.readline()
for cmd in ({"execute": "qmp_capabilities"},
            {"execute": "screendump", "arguments": {"filename": sys.argv[2], "format": "png"}}):
    f.write(json.dumps(cmd) + "\n"); f.flush()
    while True:
        r = json.loads(f.readline())
        if "return" in r or "error" in r: break
    if "error" in r: sys.exit(r["error"]["desc"])
PY
}
# What share of the panel is light, dark and the technician's yellow box.
cat > "$T/panel.py" <<'PY'
import struct, sys, zlib
d = open(sys.argv[1], 'rb').read()
w, h, bits, ctype = struct.unpack('>IIBB', d[16:26])
idat, i = b'', 8
while i < len(d):
    n, = struct.unpack('>I', d[i:i+4]); t = d[i+4:i+8]
    if t == b'IDAT': idat += d[i+8:i+8+n]
    i += 12 + n
raw = zlib.decompress(idat); bpp = {2: 3, 6: 4}[ctype]; stride = w * bpp
prev = bytearray(stride); light = dark = yellow = 0; pos = 0
for y in range(h):
    f = raw[pos]; line = bytearray(raw[pos+1:pos+1+stride]); pos += 1 + stride
    for x in range(stride):
        a = line[x-bpp] if x >= bpp else 0; b = prev[x]; c = prev[x-bpp] if x >= bpp else 0
        if f == 1: line[x] = (line[x] + a) & 255
        elif f == 2: line[x] = (line[x] + b) & 255
        elif f == 3: line[x] = (line[x] + (a + b) // 2) & 255
        elif f == 4:
            pa, pb, pc = abs(b - c), abs(a - c), abs(a + b - 2 * c)
            line[x] = (line[x] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
    for x in range(0, stride, bpp * 4):
        r, g, bl = line[x], line[x+1], line[x+2]
        if r > 230 and 200 < g < 240 and 110 < bl < 170: yellow += 1
        elif r + g + bl > 600: light += 1
        elif r + g + bl < 200: dark += 1
    prev = line
total = h * (stride // (bpp * 4))
L, D, Y = 100 * light // total, 100 * dark // total, 100 * yellow // total
print(f"panel {w}x{h}: {L}% light, {D}% dark, {Y}% technician's yellow")
want = sys.argv[2]
if want == 'start':     # the start screen: white ground, dark text, no yellow box
    sys.exit(0 if light > total // 2 and dark > total // 200 and Y < 5 else 1)
if want == 'not-set-up':  # the not-set-up screen: its yellow box, and text
    sys.exit(0 if Y >= 25 and dark > total // 200 else 1)
PY

# boot LOGNAME MARKER...: runs qemu until one of the markers is on the
# console (or it ends, or TIMEOUT), taking a screenshot SHOT.png once SHOT_AT
# shows (virt). Leaves qemu's console in $T/LOGNAME.log.
boot() {
  local name=$1 shot_name=$2 shot_at=$3; shift 3
  LOG=$T/$name.log
  local extra="systemd.unit=multi-user.target systemd.wants=kernel-command-line.service systemd.run=\"/bin/bash /boot/firmware/homthu-test/guest.sh\" systemd.run_success_action=none systemd.run_failure_action=none"
  echo "boot-test: booting $IMG ($name) in qemu -M $MACHINE (log: $LOG)"
  t0=$SECONDS
  if [ "$MACHINE" = raspi3b ]; then
    # The Pi 3's console is its mini UART (ttyS1), qemu's second serial port;
    # the PL011 belongs to Bluetooth in Debian's device tree. cmdline.txt
    # names it already.
    qemu-system-aarch64 -M raspi3b -m 1G -nographic -no-reboot -serial null -serial stdio -monitor none \
      -kernel "$T/vmlinuz" -initrd "$T/initrd.img" -dtb "$T/rpi3b.dtb" \
      -append "$CMDLINE $extra" \
      -drive if=sd,file="$T/card.img",format=raw \
      > "$LOG" 2>&1 < /dev/null &
  else
    # virt's serial port is a PL011 (ttyAMA0), named after cmdline.txt's
    # consoles so that it is /dev/console. virtio-gpu (the panel, for
    # KMSDRM) refuses qemu's default legacy virtio-mmio transport: force
    # the modern one for every device.
    qemu-system-aarch64 -M virt -cpu cortex-a72 -smp "$SMP" -m 1024 -nographic -no-reboot \
      -kernel "$T/vmlinuz" -initrd "$T/initrd.img" \
      -append "$CMDLINE console=ttyAMA0 $extra" \
      -drive if=none,id=d0,file="$T/card.img",format=raw -device virtio-blk-device,drive=d0 \
      -netdev user,id=n0,hostfwd=tcp:127.0.0.1:$SSH_PORT-:22 -device virtio-net-device,netdev=n0 \
      -device virtio-gpu-device -global virtio-mmio.force-legacy=false \
      -qmp unix:"$T/qmp.sock",server=on,wait=off \
      > "$LOG" 2>&1 < /dev/null &
  fi
  QEMU_PID=$!
  local shot_taken= m done_=
  while :; do
    for m in "$@"; do con "HOMTHU-TEST $m" && done_=1; done
    [ -n "$done_" ] && break
    kill -0 $QEMU_PID 2>/dev/null || break
    [ $((SECONDS - t0)) -lt "$TIMEOUT" ] || break
    if [ -z "$shot_taken" ] && [ "$MACHINE" = virt ] && con "HOMTHU-TEST $shot_at"; then
      sleep 10; shot "$shot_name" && shot_taken=1 || shot_taken=failed
    fi
    sleep 3
  done
  SHOT_TAKEN=$shot_taken
  echo "boot-test: guest finished after $((SECONDS - t0)) s ($name)"
}
# Waits for qemu to end (the guest powers off), then makes sure it has.
stop_qemu() {
  local end=$((SECONDS + 90))
  while kill -0 "$QEMU_PID" 2>/dev/null && [ $SECONDS -lt $end ]; do sleep 2; done
  kill "$QEMU_PID" 2>/dev/null; wait "$QEMU_PID" 2>/dev/null; QEMU_PID=
}
v() { grep -a -o "HOMTHU-TEST $1=[^[:cntrl:]]*" "$LOG" | head -1 | cut -d= -f2-; }
SSH_PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')

# --- boot 1: as flashed, not provisioned
boot unprovisioned unprovisioned.png unprov-ready done-unprovisioned kiosk-not-ready
T1=$((SECONDS - t0))
stop_qemu
echo "boot-test: $(v machine)"
check firstboot_ran_unprovisioned con 'homthu-firstboot: done'
check firstboot_says_what_is_missing_on_the_serial_console con 'homthu-firstboot: no homthu/kiosk.conf on the boot partition'
check unprovisioned_kiosk_ready con 'HOMTHU-TEST unprov-ready'
echo "boot-test: unprovisioned: boot to first frame $(v unprov-first-frame-s) s (kernel start to READY=1)"
check unprovisioned_kiosk_stays_up [ "$(v unprov-active)" = active ]
check unprovisioned_kiosk_not_restarted sh -c "[ '$(v unprov-same-process)' = yes ] && r='$(v unprov-restarts)' && [ \"\${r%%:*}\" = \"\${r##*:}\" ]"
[ "$MACHINE" = raspi3b ] || check unprovisioned_kiosk_never_restarted [ "$(v unprov-restarts)" = 0:0 ]
echo "boot-test: unprovisioned STATUS=$(v unprov-status)"
check unprovisioned_status_says_not_set_up sh -c "echo '$(v unprov-status)' | grep -q '^NOT SET UP: no kiosk.conf on the card'"
check unprovisioned_kiosk_logs_what_is_missing [ "$(v unprov-logged)" -ge 1 ]
if [ "$MACHINE" = virt ]; then
  check unprovisioned_screenshot_taken [ "$SHOT_TAKEN" = 1 ]
  check unprovisioned_panel_shows_what_is_missing python3 "$T/panel.py" "$T/unprovisioned.png" not-set-up
else
  # Red blinks code 1 on the default lines (17/27/22), where docs/leds.md wires them.
  UR=$(v unprov-led-red)
  check unprovisioned_led_red_fault_code sh -c "[ '${UR%%:*}' -gt 0 ] && [ '${UR##*:}' -gt 0 ]"
fi

# --- the technician provisions the card: homthu-provision card on its boot
# partition, mounted (a loop mount). A build host whose kernel has no vfat
# (some containers) cannot mount it: there homthu-provision card writes into
# a copy of the partition's files, and mcopy carries its homthu/ back whole.
provision_card() {
  local dir=$1
  "$HB/homthu-provision" card --from "$T/provision" --boot "$dir" --ssh-keys "$T/id_ed25519.pub" > "$T/card.log" 2>&1
  local rc=$?
  cat "$T/card.log"
  return $rc
}
MNT=$T/fat
mkdir -p "$MNT"
if grep -qw vfat /proc/filesystems && mount -o loop,offset=$((P1 * 512)),sizelimit=$((P1S * 512)) -t vfat "$T/card.img" "$MNT"; then
  echo "boot-test: homthu-provision card on the copy's boot partition (loop mount)"
  provision_card "$MNT"; rc=$?
  umount "$MNT"; MNT=
else
  MNT=
  echo "boot-test: no vfat in this kernel: homthu-provision card on a copy of the boot partition's files, mcopy carries homthu/ back"
  S=$T/fat-files; rm -rf "$S"; mkdir -p "$S"
  mcopy -n -s -i "$FAT" ::config.txt ::cmdline.txt ::homthu "$S/"
  provision_card "$S"; rc=$?
  [ $rc = 0 ] && mcopy -o -i "$FAT" "$S"/homthu/* ::homthu/
fi
mdir -b -i "$FAT" ::homthu > "$T/card-ls.log" 2>&1
cat "$T/card-ls.log"
check card_provisioned_by_homthu_provision_card [ "$rc" = 0 ]
check card_has_kiosk_conf_key_and_ssh_keys sh -c "grep -q kiosk.conf '$T/card-ls.log' && grep -q device.key '$T/card-ls.log' && grep -q ssh_authorized_keys '$T/card-ls.log'"

# --- boot 2: provisioned
boot provisioned screen.png kiosk-ready done kiosk-not-ready
echo "boot-test: $(v machine)"
check firstboot_ran con 'homthu-firstboot: done'
check firstboot_moved_the_key_said_on_the_serial_console con 'homthu-firstboot: device.key moved off the boot partition'
check kiosk_ready con 'HOMTHU-TEST kiosk-ready'
FF=$(v first-frame-s)
echo "boot-test: boot to first frame $FF s (kernel start to the kiosk's READY=1; machine $MACHINE, uptime then $(v uptime-at-ready) s)"
check first_frame_measured [ -n "$FF" ]
check first_frame_waits_for_no_network [ "$(v chain-network)" = 0 ]
check no_job_waits_for_wlan0 [ "$(v jobs-for-wlan0)" = 0 ]
check wpa_supplicant_not_failed_without_wlan0 [ "$(v wlan0-wpa)" = inactive ]
DMB=$(v data-mb | tr -dc 0-9)
check data_partition_grew [ "${DMB:-0}" -gt 512 ]   # 128 MiB in the image, ~1 GiB after growing
check device_key_off_fat [ "$(v fat-has-device-key)" = no ]
check device_key_in_state [ "$(v key-stat)" = 600:homthu ]
check conf_points_at_key sh -c "echo '$(v conf-key)' | grep -q /var/lib/homthu/device.key"
check root_locked [ "$(v root-pw)" = "*" ]
check root_fs_mounted_ro [ "$(v root-ro)" = yes ]
check ssh_on_with_card_key [ "$(v ssh)" = active ]
check resolved_running [ "$(v resolved)" = active ]
check no_llmnr_or_mdns_listener [ "$(v llmnr-mdns-sockets)" = 0 ]
echo "boot-test: active timers: $(v timers-active); system $(v system), failed units: $(v failed-units)"
check no_timer_but_tmpfiles_clean sh -c "[ -z \"\$(echo '$(v timers-active)' | tr ' ' '\n' | grep -v '^systemd-tmpfiles-clean.timer\$' | grep .)\" ]"
check uplink_running [ "$(v uplink)" = active ]
check uplink_watched_by_systemd [ "$(v uplink-watchdog)" = 1min ]
check uplink_status_says_nothing_waits sh -c "echo '$(v uplink-status-idle)' | grep -q '^nothing waiting; 0 delivered since start'"
# Green: a heartbeat (lit some of the time, dark the rest). Red: blinking a
# fault code (neither machine has a sound card: "no microphone").
LG=$(v led-green); LR=$(v led-red); LA=$(v led-amber)
check led_amber_dark_with_nothing_waiting sh -c "[ '${LA%%:*}' = 0 ] && [ '${LA##*:}' -gt 0 ]"
check led_green_heartbeat sh -c "[ '${LG%%:*}' -gt 0 ] && [ '${LG##*:}' -gt 0 ]"
check led_red_fault_code sh -c "[ '${LR%%:*}' -gt 0 ] && [ '${LR##*:}' -gt 0 ]"
[ "$MACHINE" = virt ] || check button_line_held [ "$(v button-line)" = 1 ]
TIP=$(v tip-queued | tr -dc 0-9a-f)
check tip_queued [ ${#TIP} = 32 ]
check tip_waiting [ "$(v waiting-before)" = 1 ]
AW=$(v amber-while-waiting)
check led_amber_steady_while_waiting sh -c "[ '${AW%%:*}' -gt 0 ] && [ '${AW##*:}' = 0 ]"
check kiosk_restarted_after_crash [ "$(v first-crash-restarted)" = yes ]
check uplink_ran_on_while_kiosk_restarted [ "$(v uplink-ran-on)" = yes ]
check kiosk_restarted_after_crash_with_a_tip_waiting [ "$(v crash-restarted)" = yes ]
check kiosk_restarted_after_watchdog [ "$(v watchdog-restarted)" = yes ]
check watchdog_fired [ "$(v watchdog-timeouts)" -ge 1 ]
check tip_kept_through_restarts [ "$(v waiting-after)" = 1 ]
check queue_intact_after_restarts [ "$(v queue-check)" = ok ]
if [ "$MACHINE" = virt ]; then
  check screenshot_taken [ "$SHOT_TAKEN" = 1 ]
  # The panel shows the start screen: mostly light (its white ground), with
  # dark text on it - not a black or an empty panel, nor the not-set-up one.
  check panel_shows_the_start_screen python3 "$T/panel.py" "$T/screen.png" start
  check queue_emptied_by_uplink con 'HOMTHU-TEST queue-empty'
  check uplink_status_counts_the_delivery sh -c "echo '$(v uplink-status-after)' | grep -q '^nothing waiting; 1 delivered since start'"
  AD=$(v amber-after-delivery)
  check led_amber_off_after_delivery sh -c "[ '${AD%%:*}' = 0 ] && [ '${AD##*:}' -gt 0 ]"
  "$HB/homthu-post" pull --post "$T/post" --relay "http://127.0.0.1:$PORT" --token "$TOKEN" > "$T/pull.log" 2>&1
  check post_pulled_the_tip grep -q "1 new tip" "$T/pull.log"
  "$HB/homthu-post" show "${TIP:0:8}" --post "$T/post" > "$T/show.log" 2>&1
  check post_reads_the_tip grep -q "boot-test tip" "$T/show.log"
fi
echo "boot-test: unprovisioned boot took $T1 s; provisioned boot and checks $((SECONDS - t0)) s"
if [ $failed = 0 ]; then echo "boot-test: all passed"; else echo "boot-test: FAILED (see $T/unprovisioned.log, $T/provisioned.log, $T/relay.log, $T/pull.log)"; fi
exit $failed
