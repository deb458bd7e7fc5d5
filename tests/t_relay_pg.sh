#!/bin/sh
# The relay on PostgreSQL (issue 14): the relay's own tests again, with
# its store in a real PostgreSQL 15 started here (tests/pg/cluster.sh),
# then the province's: many posts on one relay, two relay nodes on one
# database. Each line is the unit test's, named pg_<test>.
#
# Left out, each because it is about the SQLite file of a relay of one
# post and has no meaning for a database of many:
#   test_relay_sees_a_registry_replaced_by_a_fresh_copy (the registry file)
set -u
: "${HOMTHU_ROOT:=$PWD}"
: "${HOMTHU_BUILD:=build/debug}"
T=$(mktemp -d "${TMPDIR:-/tmp}/homthu-relaypg-XXXXXX")
. "$HOMTHU_ROOT/tests/pg/cluster.sh"
cleanup() {
    pg_cleanup
    rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

if ! pg_init "$T/pg" || ! pg_start_primary; then
    echo "FAIL pg_relay_postgresql_starts (see above; tools/deps.sh installs postgresql-15)"
    exit 1
fi
echo "PASS pg_relay_postgresql_starts"
HOMTHU_RELAY_PG=$(pg_url primary) "$HOMTHU_BUILD/homthu-tests" test_relay test_province \
    -test_relay_sees_a_registry_replaced_by_a_fresh_copy >"$T/out" 2>&1
rc=$?
# The lines of the tests, renamed; the rest (their notes) as they are.
sed -e 's/^PASS /PASS pg_/' -e 's/^FAIL /FAIL pg_/' -e '/^[0-9]* passed, [0-9]* failed$/d' "$T/out"
if ! grep -q '^[0-9]* passed, [0-9]* failed$' "$T/out"; then
    echo "FAIL pg_relay_tests_finish (the test binary stopped: rc $rc)"
fi
