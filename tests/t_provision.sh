#!/bin/sh
# homthu-provision end to end: post-init, kiosk-new, kiosk-list, card (onto a
# folder standing in for the card's boot partition), kiosk-revoke, and each
# refusal (overwrite, duplicate id, bad files, bad usage), as an officer or a
# technician would drive it. Prints "PASS name" / "FAIL name" per check
# (tests/run.sh counts them). Argon2id runs at its minimum cost here
# (HOMTHU_PWHASH=min): the file formats are under test, not the key derivation.
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
else
    echo "FAIL provision_post_init_without_terminal_says_how (setsid is missing: Debian's util-linux has it)"
    failed=1
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

# --- card ---
# A freshly flashed card's boot partition as image/build.sh makes it (FAT in
# life; a plain folder here).
B="$T/boot"
mkdir -p "$B/homthu"
printf 'arm_64bit=1\nkernel=vmlinuz\n' >"$B/config.txt"
echo 'console=ttyS1,115200 ro' >"$B/cmdline.txt"
echo 'Hom thu kiosk card. Put here (homthu-provision card does it):' >"$B/homthu/README.txt"
no_temp_files() { [ -z "$(find "$T" -name '*.tmp*')" ]; }
card_sum() { cat "$B/homthu/kiosk.conf" "$B/homthu/device.key" "$B/homthu/wifi.conf" "$B/homthu/ssh_authorized_keys" 2>&1 | cksum; }
secret=$(sed -n 's/^secret-key: //p' "$T/card/device.key")

run card --from "$T/card" --boot "$B"
check card_succeeds rc_is 0
check card_copies_kiosk_conf cmp -s "$T/card/kiosk.conf" "$B/homthu/kiosk.conf"
check card_copies_device_key cmp -s "$T/card/device.key" "$B/homthu/device.key"
check card_keeps_the_readme cmp -s "$B/homthu/README.txt" - <<X
Hom thu kiosk card. Put here (homthu-provision card does it):
X
check card_says_ready_for_which_kiosk says 'Card ready for kiosk na-co-sa-01'
check card_says_the_next_step says 'Unmount (eject) the card, put it in the kiosk and power it on'
check card_warns_the_key_on_the_card_is_secret says 'keep the card with you'
check card_never_prints_the_key sh -c "[ -n '$secret' ] && ! grep -qF '$secret' '$T/out'"
check card_fresh_replaces_nothing sh -c "! grep -q 'Replacing' '$T/out'"
check card_leaves_no_temp_files no_temp_files

printf 'country=VN\nnetwork={\n    ssid="tram-y-te"\n    psk="mat khau wifi"\n}\n' >"$T/wifi.conf"
printf '# the technician\r\nssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGv1xj8 tech@laptop\r\n' >"$T/keys.pub"
run card --from "$T/card" --boot "$B" --wifi "$T/wifi.conf" --ssh-keys "$T/keys.pub"
check card_with_wifi_and_ssh_keys_succeeds rc_is 0
check card_copies_wifi_conf cmp -s "$T/wifi.conf" "$B/homthu/wifi.conf"
check card_copies_ssh_keys cmp -s "$T/keys.pub" "$B/homthu/ssh_authorized_keys"
check card_says_ssh_is_on says 'SSH as root, with those keys only, is on'
check card_same_key_again_says_so says "already this kiosk's key"
check card_never_prints_the_wifi_password sh -c "! grep -qF 'mat khau wifi' '$T/out'"

# Provisioning the card again, for another kiosk.
run card --from "$T/card2" --boot "$B"
check card_again_succeeds rc_is 0
check card_again_replaces_device_key cmp -s "$T/card2/device.key" "$B/homthu/device.key"
check card_again_replaces_kiosk_conf cmp -s "$T/card2/kiosk.conf" "$B/homthu/kiosk.conf"
check card_again_says_the_key_is_replaced says 'Replacing the homthu/device.key already on the card'
check card_again_names_the_old_kiosk says 'it was for kiosk na-co-sa-01, now for na-co-sa-02'
check card_again_keeps_wifi_and_says_so says 'Keeping the homthu/wifi.conf already on the card'
check card_again_warns_ssh_stays_on says 'homthu/ssh_authorized_keys is on the card, so SSH as root will be on'
check card_again_leaves_no_temp_files no_temp_files
sum_card=$(card_sum)
card_unchanged() { [ -s "$B/homthu/device.key" ] && [ "$(card_sum)" = "$sum_card" ]; }

# Refusals: each says what to do and leaves the card as it was.
mkdir -p "$T/notboot/homthu"
run card --from "$T/card" --boot "$T/notboot"
check card_refuses_a_folder_without_config_txt rc_is 1
check card_not_boot_says_what_to_do says "(no config.txt): mount the card's first partition (HOMTHU-BOOT) and give its folder"
check card_not_boot_writes_nothing sh -c "[ -z \"\$(ls -A '$T/notboot/homthu')\" ]"
mkdir -p "$T/other"
: >"$T/other/config.txt"
run card --from "$T/card" --boot "$T/other"
check card_refuses_config_txt_alone rc_is 1
check card_config_txt_alone_says_why says '(no homthu/ folder, no cmdline.txt)'
check card_config_txt_alone_writes_nothing sh -c "[ ! -e '$T/other/homthu' ]"
run card --from "$T/card" --boot "$T/nowhere"
check card_refuses_a_missing_boot_folder rc_is 1
# A Raspberry Pi OS card (Pi 5): config.txt and cmdline.txt, no homthu/ yet.
: >"$T/other/cmdline.txt"
run card --from "$T/card" --boot "$T/other"
check card_on_another_os_card_makes_homthu sh -c "[ \"\$(cat '$T/rc')\" = 0 ] && cmp -s '$T/card/device.key' '$T/other/homthu/device.key'"

mkdir -p "$T/nokc" && cp "$T/card/device.key" "$T/nokc/"
run card --from "$T/nokc" --boot "$B"
check card_refuses_a_missing_kiosk_conf rc_is 1
check card_missing_kiosk_conf_says_what_to_do says 'kiosk.conf is missing: give --from the folder kiosk-new wrote'
check card_missing_kiosk_conf_leaves_the_card card_unchanged

mkdir -p "$T/badkc" && cp "$T/card/device.key" "$T/badkc/"
{ cat "$T/card/kiosk.conf"; echo 'volumn = 80'; } >"$T/badkc/kiosk.conf"
run card --from "$T/badkc" --boot "$B"
check card_refuses_a_bad_kiosk_conf rc_is 1
check card_bad_kiosk_conf_names_the_key sh -c "grep -F 'badkc/kiosk.conf' '$T/out' | grep -qF 'volumn'"
check card_bad_kiosk_conf_leaves_the_card card_unchanged

mkdir -p "$T/nokey" && cp "$T/card/kiosk.conf" "$T/nokey/"
run card --from "$T/nokey" --boot "$B"
check card_refuses_a_missing_device_key rc_is 1
check card_missing_device_key_says_what_to_do says 'device.key is missing: give --from the folder kiosk-new wrote'

mkdir -p "$T/junk" && cp "$T/card/kiosk.conf" "$T/junk/"
printf 'PK\003\004 this is a zip, not a key\n' >"$T/junk/device.key"
run card --from "$T/junk" --boot "$B"
check card_refuses_a_garbage_device_key rc_is 1
check card_garbage_device_key_says_why says 'is not a kiosk device key file'
check card_garbage_device_key_leaves_the_card card_unchanged

mkdir -p "$T/flip" && cp "$T/card/kiosk.conf" "$T/flip/"
sed 's/^secret-key: A/secret-key: B/; t; s/^secret-key: ./secret-key: A/' "$T/card/device.key" >"$T/flip/device.key"
run card --from "$T/flip" --boot "$B"
check card_refuses_a_damaged_device_key rc_is 1
check card_damaged_device_key_says_why says 'the public key does not belong to the secret key'
check card_damaged_device_key_is_not_printed sh -c "! grep -qF \"\$(sed -n 's/^secret-key: //p' '$T/flip/device.key')\" '$T/out'"
check card_damaged_device_key_leaves_the_card card_unchanged

printf 'ssid=tram-y-te\npsk=secret\n' >"$T/wifi-bad"
run card --from "$T/card2" --boot "$B" --wifi "$T/wifi-bad"
check card_refuses_wifi_without_network_block rc_is 1
check card_bad_wifi_says_what_is_expected says 'has no network={ block: --wifi takes wpa_supplicant settings'
check card_bad_wifi_leaves_the_card card_unchanged
{ printf 'network={\n'; head -c 70000 /dev/zero | tr '\0' '#'; printf '\n}\n'; } >"$T/wifi-big"
run card --from "$T/card2" --boot "$B" --wifi "$T/wifi-big"
check card_refuses_a_file_over_64_kib sh -c "[ \"\$(cat '$T/rc')\" = 1 ] && grep -qF 'is larger than 64 KiB' '$T/out'"

printf 'hello\n' >"$T/nokeys.pub"
run card --from "$T/card2" --boot "$B" --ssh-keys "$T/nokeys.pub"
check card_refuses_ssh_keys_without_a_key rc_is 1
check card_bad_ssh_keys_says_what_is_expected says 'holds no SSH public key'
check card_bad_ssh_keys_leaves_the_card card_unchanged
printf -- '-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjE=\n-----END OPENSSH PRIVATE KEY-----\n' >"$T/id_ed25519"
run card --from "$T/card2" --boot "$B" --ssh-keys "$T/id_ed25519"
check card_refuses_a_private_ssh_key sh -c "[ \"\$(cat '$T/rc')\" = 1 ] && grep -qF 'is a private key: give the public one' '$T/out'"

# A write that fails half-way (kiosk.conf cannot replace a folder): said, and no temp file stays.
mkdir -p "$T/boot2/homthu/kiosk.conf"
: >"$T/boot2/config.txt"
run card --from "$T/card" --boot "$T/boot2"
check card_write_failure_fails rc_is 1
check card_write_failure_says_run_again says 'the card is only partly written: run this command again'
check card_refusals_leave_no_temp_files no_temp_files

run card --from "$T/card2"
check card_without_boot_is_a_usage_error rc_is 2
check card_without_boot_says_which says '--boot BOOTDIR is missing'
run card --boot "$B"
check card_without_from_is_a_usage_error rc_is 2
check card_without_from_says_which says '--from DIR is missing'
run card --from "$T/card2" --boot "$B" --bogus
check card_unknown_option_is_a_usage_error rc_is 2
run card --from "$T/card2" --boot "$B" --wifi
check card_option_without_value_is_a_usage_error rc_is 2
check card_usage_errors_leave_the_card card_unchanged

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
for c in post-init kiosk-new kiosk-list kiosk-revoke card; do
    "$P" $c --help >"$T/out" 2>&1 && grep -q "^usage: homthu-provision $c" "$T/out" || ok=0
done
check every_command_has_help [ $ok = 1 ]
run --help
check tool_help_lists_commands says 'kiosk-revoke'
check tool_help_lists_card says 'card          --from DIR --boot BOOTDIR'
run frobnicate
check unknown_command_is_a_usage_error rc_is 2
run kiosk-list
check missing_option_is_a_usage_error rc_is 2
check missing_option_says_which says '--post POSTDIR is missing'
run kiosk-list --post "$T/post" --bogus
check unknown_option_is_a_usage_error rc_is 2

exit $failed
