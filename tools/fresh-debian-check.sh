#!/bin/bash
# `make test` on a newcomer's freshly installed Debian 12: a minbase
# bookworm made by debootstrap under build/, with only git and make added,
# a clone of this repository's committed HEAD, and `make test` run inside
# as root, so tools/deps.sh installs the rest as it would on that machine.
# A developer's check (root, a few GB, the package registry); not part of
# `make test`. The chroot is kept between runs (debootstrap is slow), the
# clone is made afresh each time; --new starts from a new debootstrap.
#
#   tools/fresh-debian-check.sh [--new] [--keep-mounts] [-- MAKE ARGS...]
#   FRESH_DIR=build/fresh-debian  where the chroot goes
#   FRESH_FILTER=t_xxx            run only those script tests (HOMTHU_FILTER)
#
# Output: everything `make test` prints, then "fresh-debian: <closing line>";
# the exit status is make's. Nothing stays mounted and nothing started in
# the chroot stays running when this ends, however it ends.
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$PWD
DIR=${FRESH_DIR:-build/fresh-debian}
case "$DIR" in /*) ;; *) DIR="$REPO/$DIR" ;; esac
ROOTFS="$DIR/root"
NEW=0
KEEP=0
while [ $# -gt 0 ]; do
    case "$1" in
    --new) NEW=1 ;;
    --keep-mounts) KEEP=1 ;;
    --) shift; break ;;
    *) echo "usage: $0 [--new] [--keep-mounts] [-- MAKE ARGS...]" >&2; exit 2 ;;
    esac
    shift
done

[ "$(id -u)" -eq 0 ] || { echo "fresh-debian: needs root (debootstrap, chroot, mount)" >&2; exit 2; }

# The mirror apt already uses here, so the check reaches only what this
# machine reaches: the first URI serving bookworm's main suite, from a
# deb822 .sources file or a one-line sources.list.
mirror() {
    local f
    for f in /etc/apt/sources.list.d/*.sources; do
        [ -f "$f" ] || continue
        awk 'BEGIN { RS = ""; FS = "\n" }
             { uri = ""; ok = 0
               for (i = 1; i <= NF; i++) {
                 if ($i ~ /^URIs:/) { split($i, a, /[ \t]+/); uri = a[2] }
                 if ($i ~ /^Suites:/ && $i ~ /[ \t]bookworm([ \t]|$)/) ok = 1
               }
               if (ok && uri != "") { print uri; exit } }' "$f"
    done
    for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
        [ -f "$f" ] || continue
        awk '$1 == "deb" { for (i = 2; i <= NF; i++) if ($i !~ /^\[/) break
                           if ($(i + 1) == "bookworm") { print $i; exit } }' "$f"
    done
}
MIRROR=$(mirror | head -n1)
[ -n "$MIRROR" ] || { echo "fresh-debian: no bookworm mirror in /etc/apt/sources.list*" >&2; exit 2; }

EXTRA_ENV=""
cleanup() {
    local pid root m i
    # Whatever still runs inside the chroot was started by this check.
    for pid in $(ls /proc | grep -E '^[0-9]+$'); do
        root=$(readlink "/proc/$pid/root" 2>/dev/null) || continue
        case "$root" in "$ROOTFS" | "$ROOTFS"/*)
            # Tests must leave nothing running: name what was, then end it.
            echo "fresh-debian: still running in the chroot, ended: $pid $(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | cut -c1-160)" >&2
            kill -9 "$pid" 2>/dev/null || true ;;
        esac
    done
    [ "$KEEP" -eq 1 ] && return 0
    # Innermost first; anything the tests mounted below ours goes too.
    for m in $(awk -v r="$ROOTFS" '$2 == r || index($2, r "/") == 1 { print $2 }' /proc/self/mounts | sort -r); do
        for i in 1 2 3 4 5; do
            umount "$m" 2>/dev/null && break
            sleep 1
        done
        mountpoint -q "$m" && umount -l "$m" 2>/dev/null
    done
    if awk -v r="$ROOTFS" 'index($2, r "/") == 1 { found = 1 } END { exit !found }' /proc/self/mounts; then
        echo "fresh-debian: still mounted under $ROOTFS:" >&2
        awk -v r="$ROOTFS" 'index($2, r "/") == 1 { print "  " $2 }' /proc/self/mounts >&2
    fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

in_root() {
    # shellcheck disable=SC2086
    chroot "$ROOTFS" /usr/bin/env -i HOME=/root TERM=dumb LANG=C.UTF-8 $EXTRA_ENV \
        PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin "$@"
}

if [ "$NEW" -eq 1 ] && [ -d "$ROOTFS" ]; then
    cleanup
    rm -rf --one-file-system "$ROOTFS"
fi
if [ ! -x "$ROOTFS/usr/bin/make" ] || [ ! -x "$ROOTFS/usr/bin/git" ]; then
    command -v debootstrap >/dev/null 2>&1 || {
        echo "fresh-debian: installing debootstrap" >&2
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends debootstrap >&2
    }
    rm -rf --one-file-system "$ROOTFS"
    mkdir -p "$DIR"
    echo "fresh-debian: debootstrap bookworm minbase into $ROOTFS from the mirror apt uses" >&2
    debootstrap --variant=minbase bookworm "$ROOTFS" "$MIRROR" >"$DIR/debootstrap.log" 2>&1 ||
        { tail -n 20 "$DIR/debootstrap.log" >&2; exit 1; }
fi

for m in proc sys dev dev/pts; do
    mkdir -p "$ROOTFS/$m"
    mountpoint -q "$ROOTFS/$m" && continue
    case "$m" in
    proc) mount -t proc proc "$ROOTFS/proc" ;;
    sys) mount -t sysfs sysfs "$ROOTFS/sys" ;;
    dev) mount --bind /dev "$ROOTFS/dev" ;;
    dev/pts) mount -t devpts -o newinstance,ptmxmode=0666 devpts "$ROOTFS/dev/pts" ;;
    esac
done
cp /etc/resolv.conf "$ROOTFS/etc/resolv.conf" 2>/dev/null || true
# Where this machine reaches the registries through a TLS-inspecting
# gateway, its local CAs go in too (as the mirror does): ca-certificates,
# installed later by tools/deps.sh, adds them, and Node takes them from
# NODE_EXTRA_CA_CERTS. A newcomer's own machine needs neither.
EXTRA_ENV=""
if ls /usr/local/share/ca-certificates/*.crt >/dev/null 2>&1; then
    mkdir -p "$ROOTFS/usr/local/share/ca-certificates"
    cp /usr/local/share/ca-certificates/*.crt "$ROOTFS/usr/local/share/ca-certificates/"
    EXTRA_ENV="NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt"
    # A kept chroot whose ca-certificates is in already.
    [ ! -x "$ROOTFS/usr/sbin/update-ca-certificates" ] || in_root update-ca-certificates >/dev/null 2>&1 || true
fi

# A Debian 12 from the installer also has bookworm-updates and
# bookworm-security: take this machine's Debian entries (bookworm suites
# only, and only those whose key the chroot has), not debootstrap's one line.
host_sources() {
    local f
    for f in /etc/apt/sources.list.d/*.sources; do
        [ -f "$f" ] || continue
        awk -v root="$ROOTFS" 'BEGIN { RS = ""; FS = "\n" }
            { ok = 0; key = ""
              for (i = 1; i <= NF; i++) {
                if ($i ~ /^Suites:/) { n = split($i, a, /[ \t]+/); ok = n > 1
                  for (j = 2; j <= n; j++) if (a[j] !~ /^bookworm(-updates|-security)?$/) ok = 0 }
                if ($i ~ /^Signed-By:/) { split($i, b, /[ \t]+/); key = b[2] }
              }
              if (ok && (key == "" || system("test -f \"" root key "\"") == 0)) print $0 "\n" }' "$f"
    done
}
if [ ! -f "$ROOTFS/etc/apt/sources.list.d/host.sources" ]; then
    host_sources >"$DIR/host.sources"
    if grep -q '^Suites:' "$DIR/host.sources"; then
        cp "$DIR/host.sources" "$ROOTFS/etc/apt/sources.list.d/host.sources"
        : >"$ROOTFS/etc/apt/sources.list"
    fi
fi

# The newcomer's first two packages; everything else is the project's job.
if [ ! -x "$ROOTFS/usr/bin/make" ] || [ ! -x "$ROOTFS/usr/bin/git" ]; then
    in_root apt-get update -q >"$DIR/apt.log" 2>&1
    in_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends git make \
        >>"$DIR/apt.log" 2>&1 || { tail -n 20 "$DIR/apt.log" >&2; exit 1; }
fi

# The committed HEAD, as a newcomer would clone it.
rm -rf --one-file-system "$ROOTFS/root/homthu"
git clone -q --no-hardlinks "$REPO" "$ROOTFS/root/homthu"
echo "fresh-debian: testing $(git -C "$ROOTFS/root/homthu" log -1 --format='%h %s')" >&2
echo "fresh-debian: node on PATH inside before make: $(in_root sh -c 'command -v node || echo none')" >&2

set +e
in_root sh -c 'cd /root/homthu && HOMTHU_FILTER="$1" && export HOMTHU_FILTER &&
    [ -n "$HOMTHU_FILTER" ] || unset HOMTHU_FILTER; shift; exec make test "$@"' \
    sh "${FRESH_FILTER:-}" "$@" 2>&1 | tee "$DIR/make-test.log"
rc=${PIPESTATUS[0]}
set -e
echo "fresh-debian: node inside: $(in_root sh -c 'command -v node && node --version' | tr '\n' ' ')" >&2
echo "fresh-debian: $(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$DIR/make-test.log" | tail -n1 || echo 'no closing line') (make exit $rc)"
exit "$rc"
