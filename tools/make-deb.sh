#!/bin/sh
# The border post's .deb: homthu-post-station_<version>_<arch>.deb
#
#   tools/make-deb.sh BUILD_DIR ARCH OUTDIR
#
# BUILD_DIR holds the programs (make MODE=release, or
# make CROSS=aarch64-linux-gnu MODE=release for arm64: build/aarch64-linux-gnu-release);
# ARCH is amd64 or arm64 and must be what the programs were built for.
# PROGRAMS (environment) names the programs to package; by default all of
# homthu-station homthu-post homthu-relay homthu-provision, each required.
# VERSION overrides the version (default: src/core/version.h + the commit,
# as image/build.sh names the kiosk's .deb, so a newer commit upgrades).
#
# The package holds /usr/bin/<programs>, the unit
# /lib/systemd/system/homthu-station.service, the user and folder as
# sysusers.d/tmpfiles.d snippets, and the docs. Depends is computed from the
# libraries the programs link (dpkg-shlibdeps; without it, each NEEDED
# library's package from dpkg -S). Nothing is under /etc: no conffiles.
# Prints the .deb's path. docs/station-install.md says how a post installs it.
set -eu
umask 022
PKG=homthu-post-station

die() {
    echo "make-deb: $*" >&2
    exit 1
}
[ $# -eq 3 ] || die "usage: tools/make-deb.sh BUILD_DIR ARCH OUTDIR (ARCH: amd64 or arm64)"
BUILD=$(realpath -m "$1")
ARCH=$2
OUT=$(realpath -m "$3")
TOP=$(cd "$(dirname "$0")/.." && pwd)
cd "$TOP"

case $ARCH in
amd64) TRIPLET=x86_64-linux-gnu MACHINE='X86-64' ;;
arm64) TRIPLET=aarch64-linux-gnu MACHINE='AArch64' ;;
*) die "ARCH must be amd64 or arm64, not \"$ARCH\"" ;;
esac
[ -d "$BUILD" ] || die "$BUILD is not a build folder (run make first)"
for t in dpkg-deb readelf; do
    command -v $t >/dev/null 2>&1 || die "$t is missing (Debian: dpkg, binutils)"
done

PROGRAMS=${PROGRAMS:-homthu-station homthu-post homthu-relay homthu-provision}
for p in $PROGRAMS; do
    case $p in
    homthu-station | homthu-post | homthu-relay | homthu-provision) ;;
    *) die "$p is not one of the post's programs (homthu-station homthu-post homthu-relay homthu-provision)" ;;
    esac
    if [ ! -x "$BUILD/$p" ]; then
        if [ "$p" = homthu-station ]; then
            die "$BUILD/homthu-station is missing: the .deb is the station's; build it (make) or, to package the other programs only, set PROGRAMS=\"homthu-post homthu-relay homthu-provision\""
        fi
        die "$BUILD/$p is missing: build it (make), or leave it out of PROGRAMS"
    fi
    readelf -h "$BUILD/$p" 2>/dev/null | grep -q "Machine:.*$MACHINE" ||
        die "$BUILD/$p is not an $ARCH program ($(readelf -h "$BUILD/$p" 2>/dev/null | sed -n 's/^ *Machine: *//p')): give the build folder made for $ARCH"
    # A sanitizer build needs libasan and aborts on the first leak: not for a post.
    if readelf -d "$BUILD/$p" | grep -qE 'NEEDED.*lib(asan|ubsan|tsan)'; then
        die "$BUILD/$p is a sanitizer build (MODE=asan): package a release build (make MODE=release)"
    fi
done

HOST_ARCH=$(dpkg --print-architecture)
if command -v "$TRIPLET-strip" >/dev/null 2>&1; then
    STRIP=$TRIPLET-strip
elif [ "$ARCH" = "$HOST_ARCH" ] && command -v strip >/dev/null 2>&1; then
    STRIP=strip
else
    die "no strip for $ARCH: install binutils-$TRIPLET (tools/deps-arm64.sh does)"
fi

if [ -n "${VERSION:-}" ]; then
    ver=$VERSION
else
    v=$(sed -n 's/^#define HOMTHU_VERSION "\(.*\)"/\1/p' src/core/version.h)
    [ -n "$v" ] || die "no HOMTHU_VERSION in src/core/version.h"
    h=$(git rev-parse --short HEAD 2>/dev/null || true)
    d=$(git log -1 --format=%cd --date=format:%Y%m%d 2>/dev/null || true)
    ver=$v${h:++git$d.$h}
fi
case $ver in [0-9]*) ;; *) die "version \"$ver\" does not start with a digit" ;; esac

work=$(mktemp -d "${TMPDIR:-/tmp}/homthu-deb-XXXXXX")
trap 'rm -rf "$work"' EXIT
# debian/<package>/ is where dpkg-shlibdeps expects a package's files.
root=$work/debian/$PKG
doc=$root/usr/share/doc/$PKG
mkdir -p "$root/DEBIAN" "$root/usr/bin" "$root/lib/systemd/system" "$doc" \
    "$root/usr/lib/sysusers.d" "$root/usr/lib/tmpfiles.d"

for p in $PROGRAMS; do
    install -m 0755 "$BUILD/$p" "$root/usr/bin/$p"
    $STRIP --strip-unneeded "$root/usr/bin/$p"
done
install -m 0644 tools/homthu-station.service "$root/lib/systemd/system/"
for f in docs/station-install.md docs/post-console.md docs/station-api.md; do
    [ -f "$f" ] && install -m 0644 "$f" "$doc/"
done

# The kiosk's package (image/build.sh) declares the same user in its own
# file: either package alone, or both on one Pi, ends with one user homthu.
cat >"$root/usr/lib/sysusers.d/$PKG.conf" <<'X'
u homthu - "Hòm thư" /var/lib/homthu /usr/sbin/nologin
X
# The post's folder: the station's alone (it holds the sealed tips and the key).
cat >"$root/usr/lib/tmpfiles.d/$PKG.conf" <<'X'
d /var/lib/homthu      0700 homthu homthu -
d /var/lib/homthu/post 0700 homthu homthu -
X

cat >"$doc/copyright" <<'X'
Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
Upstream-Name: Hòm thư
Comment: The programs link these Debian packages' libraries dynamically and
 carry no copy of them: libsodium, SQLite, libcurl, libmicrohttpd, GnuTLS,
 Opus, libogg, libgpiod (their own copyright files are in
 /usr/share/doc/<their package>/copyright).

Files: *
Copyright: the Hòm thư authors
License: not-yet-chosen
 The project has not chosen its license yet; until it does, this package
 is for the border posts and relays of the Hòm thư deployment only.
X

# ---- Depends ----
# dpkg-shlibdeps reads the libraries' symbols files: each dependency with
# the lowest version that has every symbol the programs use.
deps=""
if command -v dpkg-shlibdeps >/dev/null 2>&1; then
    : >"$work/debian/control"
    deps=$(cd "$work" && DEB_HOST_ARCH=$ARCH dpkg-shlibdeps -O --ignore-missing-info \
        "debian/$PKG/usr/bin/"* 2>"$work/shlibdeps.err" | sed -n 's/^shlibs:Depends=//p') || deps=""
    rm -f "$work/debian/control"
fi
if [ -z "$deps" ]; then
    # Without it (or without the arm64 libraries' package data): the package
    # that ships each NEEDED library, as dpkg knows it for $ARCH.
    [ -s "$work/shlibdeps.err" ] && sed 's/^/  /' "$work/shlibdeps.err" >&2
    echo "make-deb: dpkg-shlibdeps gave nothing: Depends from dpkg -S, without versions" >&2
    for lib in $(readelf -d "$root/usr/bin/"* | sed -n 's/.*Shared library: \[\(.*\)\]/\1/p' | sort -u); do
        pkg=""
        for dir in /lib/$TRIPLET /usr/lib/$TRIPLET; do
            [ -e "$dir/$lib" ] || continue
            pkg=$(dpkg -S "$dir/$lib" 2>/dev/null | sed -n '1s/^\([^:,]*\).*/\1/p')
            [ -n "$pkg" ] && break
        done
        [ -n "$pkg" ] || die "no installed $ARCH package ships $lib: install the $ARCH libraries (tools/deps-arm64.sh for arm64) so that Depends is right"
        deps="$deps${deps:+, }$pkg"
    done
    deps=$(echo "$deps" | tr ',' '\n' | sed 's/^ *//' | sort -u | paste -sd, - | sed 's/,/, /g')
fi
[ -n "$deps" ] || die "found no libraries the programs link: are they static?"
# systemd: the unit, sysusers and tmpfiles the postinst runs.
deps="$deps, systemd"

desc=""
for p in $PROGRAMS; do
    case $p in
    homthu-station) line="homthu-station: the officers' web console (HTTPS on port 8443)" ;;
    homthu-post) line="homthu-post: the command-line console (pull, list, show, audio, export)" ;;
    homthu-provision) line="homthu-provision: the post's keys, enrolling and revoking kiosks" ;;
    homthu-relay) line="homthu-relay: the relay, for a post that runs its own" ;;
    esac
    desc="$desc
  - $line"
done
size=$(du -sk --exclude=DEBIAN "$root" | cut -f1)
cat >"$root/DEBIAN/control" <<X
Package: $PKG
Version: $ver
Architecture: $ARCH
Maintainer: Hòm thư <homthu@localhost>
Installed-Size: $size
Depends: $deps
Section: net
Priority: optional
Description: Hòm thư border post station (tips from the kiosks, in a browser)
 The border post's side of Hòm thư, the anonymous voice tip kiosk. Tips
 arrive sealed to the post's key, are kept sealed, and are opened only in
 memory, on this machine, once the commander has unlocked the key.
 .
 Programs:$desc
X

# ---- maintainer scripts ----
# On a running system only: inside an image build (DPKG_ROOT set) the image
# script sets things up offline, as for the kiosk's package.
cat >"$root/DEBIAN/postinst" <<'X'
#!/bin/sh
set -e
[ -z "${DPKG_ROOT:-}" ] || exit 0
if [ "$1" = configure ]; then
    systemd-sysusers homthu-post-station.conf
    systemd-tmpfiles --create homthu-post-station.conf
    if [ -x /usr/bin/homthu-station ]; then
        systemctl enable homthu-station.service >/dev/null 2>&1 || true
        if [ -d /run/systemd/system ]; then
            systemctl daemon-reload || true
            if [ -f /var/lib/homthu/post/post.pub ]; then
                # A fresh install starts it, an upgrade restarts it on the new program.
                systemctl restart homthu-station.service || true
            else
                echo "homthu-station: the post has no keys yet. Make them, then start the station:"
                echo "  sudo -u homthu homthu-provision post-init --dir /var/lib/homthu/post"
                echo "  sudo systemctl start homthu-station"
                echo "(/usr/share/doc/homthu-post-station/station-install.md)"
            fi
        fi
    fi
fi
X
cat >"$root/DEBIAN/prerm" <<'X'
#!/bin/sh
set -e
[ -z "${DPKG_ROOT:-}" ] || exit 0
if [ "$1" = remove ] && [ -f /lib/systemd/system/homthu-station.service ]; then
    systemctl disable --now homthu-station.service >/dev/null 2>&1 || true
fi
X
# Purging never deletes /var/lib/homthu/post: it holds the post's key and
# every tip; only the people at the post may decide to destroy them.
cat >"$root/DEBIAN/postrm" <<'X'
#!/bin/sh
set -e
[ -z "${DPKG_ROOT:-}" ] || exit 0
if [ "$1" = remove ] || [ "$1" = purge ]; then
    [ -d /run/systemd/system ] && systemctl daemon-reload >/dev/null 2>&1 || true
fi
if [ "$1" = purge ] && [ -d /var/lib/homthu/post ]; then
    echo "homthu-post-station: /var/lib/homthu/post (the post's key and tips) is kept; remove it yourself only if the post's tips may be destroyed."
fi
X
chmod 0755 "$root/DEBIAN/postinst" "$root/DEBIAN/prerm" "$root/DEBIAN/postrm"

(cd "$root" && find . -type f ! -path './DEBIAN/*' -printf '%P\n' | LC_ALL=C sort |
    while IFS= read -r f; do md5sum "$f"; done) >"$root/DEBIAN/md5sums"
chmod 0644 "$root/DEBIAN/control" "$root/DEBIAN/md5sums"

# Same inputs, same .deb: every file dated by the commit.
epoch=${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || date +%s)}
find "$root" -exec touch -h -d "@$epoch" {} +

mkdir -p "$OUT"
deb=$OUT/${PKG}_${ver}_$ARCH.deb
SOURCE_DATE_EPOCH=$epoch dpkg-deb --root-owner-group -Zxz --build "$root" "$deb" >/dev/null
echo "$deb"
