#!/bin/sh
# No unbounded string functions anywhere in the C: snprintf and bounded
# copies only (the project's rule; `make check-banned` is the same check).
set -u
cd "${HOMTHU_ROOT:-.}"
hits=$(grep -rnE '\b(sprintf|strcpy|strcat|gets)\s*\(' --include='*.c' --include='*.h' src tools tests)
if [ -z "$hits" ]; then
    echo "PASS no_unbounded_string_functions"
else
    echo "$hits" | sed 's/^/    /'
    echo "FAIL no_unbounded_string_functions"
fi
