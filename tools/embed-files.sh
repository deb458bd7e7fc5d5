#!/bin/sh
# embed-files.sh OUT.c NAME=FILE... — the station's page built into the
# program: each FILE becomes bytes in a C table under the URL path NAME, so
# homthu-station serves its page from memory (nothing to install beside it,
# nothing to find at run time, no build step but this). POSIX od and sed only.
set -eu
out=$1
shift
tmp="$out.tmp"
{
    echo "/* Made by tools/embed-files.sh from assets/station and fonts: do not edit. */"
    echo "#include \"station/files.h\""
    i=0
    for pair in "$@"; do
        file=${pair#*=}
        echo "static const unsigned char f$i[] = {"
        od -An -v -tx1 "$file" | sed -e 's/ *$//' -e 's/^ */0x/' -e 's/  */,0x/g' -e 's/$/,/' -e '/^0x,$/d'
        echo "0};"
        i=$((i + 1))
    done
    echo "const struct station_file station_files[] = {"
    i=0
    for pair in "$@"; do
        name=${pair%%=*}
        file=${pair#*=}
        size=$(wc -c <"$file" | tr -d ' ')
        echo "    {\"$name\", f$i, $size},"
        i=$((i + 1))
    done
    echo "    {0, 0, 0},"
    echo "};"
} >"$tmp"
mv "$tmp" "$out"
