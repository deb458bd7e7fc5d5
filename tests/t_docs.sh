#!/bin/sh
# The README and docs/ stand alone: a newcomer has only this repository, so
# every relative link must name a file in it, and none may climb out of it.
set -u
cd "${HOMTHU_ROOT:-.}"
bad_out="" bad_missing=""
for f in README.md docs/*.md; do
    dir=$(dirname "$f")
    # Markdown link targets: ](target) — drop #anchors, skip URLs.
    for t in $(grep -o '](\([^)]*\))' "$f" | sed 's/^](//; s/)$//; s/#.*//'); do
        case "$t" in "" | *://* | mailto:*) continue ;; esac
        p=$(realpath -m "$dir/$t")
        case "$p" in
        "$PWD"/*) [ -e "$p" ] || bad_missing="$bad_missing $f:$t" ;;
        *) bad_out="$bad_out $f:$t" ;;
        esac
    done
    # A path outside the repository written as text is as bad as a link.
    if grep -n '\.\./shared\|\.\./\.\.' "$f" >/dev/null; then
        bad_out="$bad_out $f:$(grep -n '\.\./shared\|\.\./\.\.' "$f" | head -1 | cut -d: -f1)"
    fi
done
if [ -z "$bad_out" ]; then echo "PASS docs_never_point_outside_the_repository"
else echo "outside the repository:$bad_out"; echo "FAIL docs_never_point_outside_the_repository"; fi
if [ -z "$bad_missing" ]; then echo "PASS docs_links_name_files_that_exist"
else echo "missing:$bad_missing"; echo "FAIL docs_links_name_files_that_exist"; fi
