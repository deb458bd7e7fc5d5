#!/bin/sh
# The committed pictogram font is what tools/make-pictos makes from the SVGs
# in assets/pictograms/ (an edited drawing with a stale font would never
# reach the screen), and the tool refuses what it cannot draw faithfully.
set -u
check() { if eval "$2"; then echo "PASS $1"; else echo "FAIL $1"; fi; }
dir=$(mktemp -d "${TMPDIR:-/tmp}/homthu-pictos-XXXXXX")
trap 'rm -rf "$dir"' EXIT

tools/make-pictos --check >"$dir/check.log" 2>&1
rc=$?
cat "$dir/check.log" | grep -v '^make-pictos: .* matches' || true
check pictos_font_is_what_the_svgs_make "[ $rc -eq 0 ]"

# A copy of the tree's inputs with one drawing made unreadable: the tool
# says which file, and makes no font.
mkdir -p "$dir/t/tools" "$dir/t/src/kiosk" "$dir/t/assets" "$dir/t/fonts"
cp tools/make-pictos "$dir/t/tools/"
cp src/kiosk/pictos.h "$dir/t/src/kiosk/"
cp -R assets/pictograms "$dir/t/assets/"
sed -i 's/<circle /<text /' "$dir/t/assets/pictograms/today.svg"
"$dir/t/tools/make-pictos" >"$dir/bad.log" 2>&1
rc=$?
check pictos_tool_refuses_what_it_cannot_draw "[ $rc -ne 0 ] && grep -q 'today.svg' '$dir/bad.log' && [ ! -e '$dir/t/fonts/HomthuPictos.ttf' ]"
rm "$dir/t/assets/pictograms/today.svg"
"$dir/t/tools/make-pictos" >"$dir/missing.log" 2>&1
rc=$?
check pictos_tool_names_a_picture_without_drawing "[ $rc -ne 0 ] && grep -q 'PICTO_TODAY' '$dir/missing.log'"
