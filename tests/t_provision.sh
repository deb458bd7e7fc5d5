#!/bin/sh
# homthu-provision end to end: post-init, kiosk-new, kiosk-list, kiosk-revoke,
# and each refusal (overwrite, duplicate id, bad usage), as an officer would
# drive it. Prints "PASS name" / "FAIL name" per check (tests/run.sh counts
# them). Argon2id runs at its minimum cost here (HOMTHU_PWHASH=min): the file
# formats are under test, not the key derivation.
set -u
: "${HOMTHU_BUILD:=build/debug}"
P="$HOMTHU_BUILD/homthu-provision"
case "$P" in /*) ;; *) P="$PWD/$P" ;; esac
T=$(mktemp -d "${TMPDIR:-/tmp}/homthu-provision-XXXXXX")
trap 'rm -rf "$T"' EXIT
export HOMTHU_PWHASH=min
export HOMTHU_PASSPHRASE="a long passphrase"
failed=0

# check NAME CONDITION...: PASS if the command succeeds; on failure show the last output.
check() {
    name=$1
    shift
    if "$@"; then
        echo "PASS provision_$name"
    else
        echo "FAIL provision_$name"
        echo "  output was:"
        sed 's/^/    /' "$T/out" 2>/dev/null
        failed=1
    fi
}
# run ARGS...: run the tool, stdout+stderr into $T/out, status into $T/rc.
run() {
    "$P" "$@" >"$T/out" 2>&1
    echo $? >"$T/rc"
}
rc_is() { [ "$(cat "$T/rc")" = "$1" ]; }
says() { grep -qF -- "$1" "$T/out"; }
mode_is() { [ "$(stat -c %a "$1")" = "$2" ]; }

if [ ! -x "$P" ]; then
    echo "FAIL provision_tool_built ($P missing: run make)"
    exit 1
fi

# --- post-init ---
run post-init --dir "$T/post"
check post_init_makes_the_keys_and_registry \
    sh -c "[ \"\$(cat '$T/rc')\" = 0 ] && [ -f '$T/post/post.pub' ] && [ -f '$T/post/post.key' ] && [ -f '$T/post/registry.db' ]"
check post_init_warns_about_test_only_cost says 'protects the passphrase poorly'
check post_key_is_0600 mode_is "$T/post/post.key" 600
check post_pub_is_0644 mode_is "$T/post/post.pub" 644
check post_pub_starts_with_its_format sh -c "head -n1 '$T/post/post.pub' | grep -qx 'homthu-post-public v1'"
check post_key_records_the_argon2_cost grep -qx 'opslimit: 1' "$T/post/post.key"

sum_before=$(cat "$T/post/post.key" "$T/post/post.pub" | cksum)
run post-init --dir "$T/post"
check post_init_refuses_to_overwrite sh -c "[ \"\$(cat '$T/rc')\" = 1 ]"
check post_init_says_why says 'already exists: refusing to overwrite the post'"'"'s keys'
check post_init_left_the_keys_alone sh -c "[ \"\$(cat '$T/post/post.key' '$T/post/post.pub' | cksum)\" = '$sum_before' ]"

HOMTHU_PASSPHRASE=short run post-init --dir "$T/p2"
check post_init_refuses_a_short_passphrase rc_is 1
check post_init_says_the_passphrase_is_short says 'shorter than 8 characters'
check post_init_short_passphrase_writes_nothing sh -c "[ ! -e '$T/p2/post.key' ] && [ ! -e '$T/p2/registry.db' ]"

printf 'from a file, first line\nignored\n' >"$T/pass"
(unset HOMTHU_PASSPHRASE; run post-init --dir "$T/p3" --passphrase-file "$T/pass")
check post_init_reads_a_passphrase_file rc_is 0

# With no passphrase and no terminal it must say how to give one, not hang.
if command -v setsid >/dev/null 2>&1; then
    (unset HOMTHU_PASSPHRASE; setsid "$P" post-init --dir "$T/p4" </dev/null >"$T/out" 2>&1; echo $? >"$T/rc")
    check post_init_without_terminal_says_how rc_is 1
    check post_init_without_terminal_message says 'set HOMTHU_PASSPHRASE or use --passphrase-file'
fi

HOMTHU_PWHASH=fast run post-init --dir "$T/p5"
check post_init_refuses_an_unknown_cost rc_is 2

# --- kiosk-new ---
run kiosk-new --post "$T/post" --id na-co-sa-01 --out "$T/card" --relay https://relay.example.org/
check kiosk_new_succeeds rc_is 0
check kiosk_new_says_what_to_copy says "into the folder homthu/"
check kiosk_new_writes_device_key_0600 mode_is "$T/card/device.key" 600
check kiosk_new_writes_kiosk_conf grep -qx 'kiosk_id = na-co-sa-01' "$T/card/kiosk.conf"
check kiosk_new_sets_the_relay grep -qx 'relay_url = https://relay.example.org/' "$T/card/kiosk.conf"
pub_key=$(sed -n 's/^public-key: //p' "$T/post/post.pub")
check kiosk_conf_holds_the_post_key grep -qxF "post_key = $pub_key" "$T/card/kiosk.conf"
dev_pk=$(sed -n 's/^public-key: //p' "$T/card/device.key")

run kiosk-new --post "$T/post" --id na-co-sa-02 --out "$T/card2"
check kiosk_new_without_relay_succeeds rc_is 0
check kiosk_new_without_relay_says_so says 'No --relay given'

run kiosk-list --post "$T/post"
check kiosk_list_succeeds rc_is 0
check kiosk_list_shows_the_kiosk sh -c "grep -E '^na-co-sa-01 +[0-9a-f]{16} +[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9:]{5} UTC +active\$' '$T/out' >/dev/null"
check kiosk_list_shows_both sh -c "[ \$(grep -c ' active\$' '$T/out') = 2 ]"

run kiosk-new --post "$T/post" --id na-co-sa-01 --out "$T/card3"
check kiosk_new_refuses_a_duplicate_id rc_is 1
check kiosk_new_duplicate_says_why says 'a kiosk named na-co-sa-01 is already enrolled'
check kiosk_new_duplicate_leaves_nothing sh -c "[ ! -e '$T/card3' ]"

run kiosk-new --post "$T/post" --id na-co-sa-03 --out "$T/card"
check kiosk_new_refuses_to_overwrite_a_card rc_is 1
check kiosk_new_overwrite_says_why says 'already exists: refusing to overwrite it'
check kiosk_new_overwrite_kept_the_key sh -c "grep -qxF 'public-key: $dev_pk' '$T/card/device.key'"
run kiosk-list --post "$T/post"
check kiosk_new_refused_ids_are_not_enrolled sh -c "! grep -q na-co-sa-03 '$T/out'"

run kiosk-new --post "$T/post" --id "Na Co Sa" --out "$T/card4"
check kiosk_new_refuses_a_bad_id rc_is 2
check kiosk_new_bad_id_says_the_rule says 'lowercase letters, digits and dashes'

run kiosk-new --post "$T/post" --id na-co-sa-05 --out "$T/card5" --relay ftp://x
check kiosk_new_refuses_a_bad_relay rc_is 1
check kiosk_new_bad_relay_says_why says 'is not an http:// or https:// address'
check kiosk_new_bad_relay_leaves_nothing sh -c "[ ! -e '$T/card5' ]"

run kiosk-new --post "$T/nowhere" --id na-co-sa-06 --out "$T/card6"
check kiosk_new_wrong_post_dir_says_what_to_do says 'check --post, or make the post'"'"'s keys first'

# --- kiosk-revoke ---
run kiosk-revoke --post "$T/post" --id na-co-sa-01 --reason "stolen from the health station"
check kiosk_revoke_succeeds rc_is 0
run kiosk-list --post "$T/post"
check kiosk_list_shows_revoked_and_why sh -c "grep -E '^na-co-sa-01 .* revoked [0-9-]{10} [0-9:]{5} UTC: stolen from the health station\$' '$T/out' >/dev/null"
check kiosk_list_other_still_active sh -c "grep -E '^na-co-sa-02 .* active\$' '$T/out' >/dev/null"

run kiosk-revoke --post "$T/post" --id na-co-sa-01 --reason again
check kiosk_revoke_twice_is_refused rc_is 1
check kiosk_revoke_twice_says_when says 'was already revoked on'
run kiosk-revoke --post "$T/post" --id nobody --reason x
check kiosk_revoke_unknown_is_refused says 'no kiosk named nobody'
run kiosk-revoke --post "$T/post" --id na-co-sa-02
check kiosk_revoke_needs_a_reason rc_is 2
run kiosk-new --post "$T/post" --id na-co-sa-01 --out "$T/card7"
check revoked_ids_are_never_reused rc_is 1

# --- usage ---
ok=1
for c in post-init kiosk-new kiosk-list kiosk-revoke; do
    "$P" $c --help >"$T/out" 2>&1 && grep -q "^usage: homthu-provision $c" "$T/out" || ok=0
done
check every_command_has_help [ $ok = 1 ]
run --help
check tool_help_lists_commands says 'kiosk-revoke'
run frobnicate
check unknown_command_is_a_usage_error rc_is 2
run kiosk-list
check missing_option_is_a_usage_error rc_is 2
check missing_option_says_which says '--post POSTDIR is missing'
run kiosk-list --post "$T/post" --bogus
check unknown_option_is_a_usage_error rc_is 2

exit $failed
