/* Tests for src/config: the format, every error message, the getters, kiosk.conf. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "check.h"
#include "core/config.h"
#include "core/keys.h"
#include "core/registry.h"

#define POST_KEY_B64 "g07GJHdmgCISZ3eyNdeOH/FAZ4F6A+j9q+B/Dr96PlM="

static struct config *load(const char *text)
{
    struct config *c = NULL;
    char err[512] = "";
    int rc = config_load_mem(&c, "kiosk.conf", text, strlen(text), err, sizeof err);
    if (rc)
        check_fail(__FILE__, __LINE__, "config did not load: %s", err);
    return c;
}

/* The error message a text gives, or "" if it loads. Static buffer. */
static const char *load_error_n(const char *text, size_t len)
{
    static char err[512];
    struct config *c = NULL;
    err[0] = 0;
    int rc = config_load_mem(&c, "kiosk.conf", text, len, err, sizeof err);
    if (rc == 0) {
        config_free(c);
        return "";
    }
    ASSERT(c == NULL);
    ASSERT_EQ(rc, CONFIG_E_SYNTAX);
    return err;
}

static const char *load_error(const char *text)
{
    return load_error_n(text, strlen(text));
}

static const char *str(const struct config *c, const char *key)
{
    const char *v = NULL;
    char err[256];
    if (config_get_str(c, key, NULL, &v, err, sizeof err))
        check_fail(__FILE__, __LINE__, "%s", err);
    return v;
}

TEST(test_config_reads_keys_sections_and_comments)
{
    struct config *c = load("# a comment\n"
                            "kiosk_id = na-co-sa-01\n"
                            "\n"
                            "   # indented comment\n"
                            "volume=80\n"
                            "[relay]\n"
                            "listen = 127.0.0.1:8443\n"
                            "[relay.limits]\n"
                            "max_bytes = 16\n");
    ASSERT_EQ(config_count(c), 4);
    ASSERT_STR_EQ(str(c, "kiosk_id"), "na-co-sa-01");
    ASSERT_STR_EQ(str(c, "volume"), "80");
    ASSERT_STR_EQ(str(c, "relay.listen"), "127.0.0.1:8443");
    ASSERT_STR_EQ(str(c, "relay.limits.max_bytes"), "16");
    ASSERT_STR_EQ(config_key_at(c, 2), "relay.listen");
    ASSERT(config_key_at(c, 4) == NULL);
    ASSERT(!config_has(c, "listen"));
    ASSERT(config_has(c, "relay.listen"));
    ASSERT_STR_EQ(config_name(c), "kiosk.conf");
    config_free(c);
}

TEST(test_config_trims_and_unquotes_values)
{
    struct config *c = load("a =   spaced out \t \n"
                            "b = \"  kept  \"\n"
                            "c = \"say \\\"hi\\\" \\\\ bye\"\n"
                            "d =\n"
                            "e = \"\"\n"
                            "f = has \"inner\" quotes\n"
                            "g = url#fragment\n"
                            "h = \"x # not a comment\"\n"
                            "i = H\xc3\xb2m th\xc6\xb0\n"
                            "j\t=\ttabs\t\n");
    ASSERT_STR_EQ(str(c, "a"), "spaced out");
    ASSERT_STR_EQ(str(c, "b"), "  kept  ");
    ASSERT_STR_EQ(str(c, "c"), "say \"hi\" \\ bye");
    ASSERT_STR_EQ(str(c, "d"), "");
    ASSERT_STR_EQ(str(c, "e"), "");
    ASSERT_STR_EQ(str(c, "f"), "has \"inner\" quotes");
    ASSERT_STR_EQ(str(c, "g"), "url#fragment");
    ASSERT_STR_EQ(str(c, "h"), "x # not a comment");
    ASSERT_STR_EQ(str(c, "i"), "H\xc3\xb2m th\xc6\xb0");
    ASSERT_STR_EQ(str(c, "j"), "tabs");
    config_free(c);
}

TEST(test_config_accepts_bom_crlf_and_no_final_newline)
{
    struct config *c = load("\xef\xbb\xbf"
                            "a = 1\r\n"
                            "b = 2");
    ASSERT_STR_EQ(str(c, "a"), "1");
    ASSERT_STR_EQ(str(c, "b"), "2");
    config_free(c);
}

TEST(test_config_empty_file_has_no_keys)
{
    struct config *c = load("");
    ASSERT_EQ(config_count(c), 0);
    config_free(c);
    c = load("\n\n# only comments\n   \n");
    ASSERT_EQ(config_count(c), 0);
    config_free(c);
}

TEST(test_config_syntax_errors_name_file_line_and_fix)
{
    static const struct {
        const char *text, *err;
    } cases[] = {
        {"just words\n", "kiosk.conf:1: expected key = value"},
        {"a = 1\n\n# c\nb 2\n", "kiosk.conf:4: expected key = value"},
        {"= 3\n", "kiosk.conf:1: expected key = value"},
        {"max record = 3\n", "kiosk.conf:1: expected key = value"},
        {"k\xc3\xa9y = 3\n", "kiosk.conf:1: expected key = value"},
        {"[audio\n", "kiosk.conf:1: expected ] at the end of the section header"},
        {"[]\n", "kiosk.conf:1: empty section name (write [name])"},
        {"[a b]\n", "kiosk.conf:1: a section name may hold only letters, digits, '_', '-' and '.'"},
        {"a = 1\nb = 2\na = 3\n", "kiosk.conf:3: a is set twice (first on line 1): keep one"},
        {"[s]\nk = 1\n[s]\nk = 2\n", "kiosk.conf:4: s.k is set twice (first on line 2): keep one"},
        {"s.k = 1\n[s]\nk = 2\n", "kiosk.conf:3: s.k is set twice (first on line 1): keep one"},
        {"a = \"open\n", "kiosk.conf:1: missing closing \" in the value of a"},
        {"a = \"x\" y\n",
         "kiosk.conf:1: text after the closing \" (put the whole value inside the quotes)"},
        {"a = \"x\\n\"\n",
         "kiosk.conf:1: unknown escape in the value of a (only \\\" and \\\\ are allowed)"},
        {"a = \"x\\\"\n", "kiosk.conf:1: missing closing \" in the value of a"},
        {"volume = 80 # percent\n",
         "kiosk.conf:1: a comment must be on a line of its own (or put the value in double "
         "quotes)"},
        {"volume = 80\t# percent\n",
         "kiosk.conf:1: a comment must be on a line of its own (or put the value in double "
         "quotes)"},
        {"a = b\x1b[0m\n", "kiosk.conf:1: control character 0x1b in the line (remove it)"},
        {"a = b\rc\n", "kiosk.conf:1: control character 0x0d in the line (remove it)"},
        {"a = \x7f\n", "kiosk.conf:1: control character 0x7f in the line (remove it)"},
        {"a = \xc3\x28\n", "kiosk.conf:1: not valid UTF-8 (save the file as UTF-8)"},
        {"a = caf\xe9\n", "kiosk.conf:1: not valid UTF-8 (save the file as UTF-8)"},
        {"a = \xc0\xaf\n", "kiosk.conf:1: not valid UTF-8 (save the file as UTF-8)"}, /* overlong */
        {"a = \xed\xa0\x80\n",
         "kiosk.conf:1: not valid UTF-8 (save the file as UTF-8)"}, /* surrogate */
        {"a = \xf4\x90\x80\x80\n", "kiosk.conf:1: not valid UTF-8 (save the file as UTF-8)"},
        {"a = \xe2\x80\n", "kiosk.conf:1: not valid UTF-8 (save the file as UTF-8)"}, /* cut */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        ASSERT_STR_EQ(load_error(cases[i].text), cases[i].err);

    /* The message also names the file, as given, when it came from disk. */
    check_write_file(check_path("bad.conf"), "a = 1\noops\n", 11);
    struct config *c = NULL;
    char err[512];
    ASSERT_EQ(config_load_file(&c, check_path("bad.conf"), err, sizeof err), CONFIG_E_SYNTAX);
    char want[600];
    snprintf(want, sizeof want, "%s:2: expected key = value", check_path("bad.conf"));
    ASSERT_STR_EQ(err, want);
}

TEST(test_config_refuses_nul_bytes)
{
    ASSERT_STR_EQ(load_error_n("a = 1\nb = x\0y\n", 13),
                  "kiosk.conf:2: NUL byte in the line (is this a text file?)");
}

TEST(test_config_limits_lines_to_4096_bytes)
{
    char *text = malloc(5000);
    ASSERT(text);
    /* "a = " + value = exactly 4096 bytes: accepted. */
    memcpy(text, "a = ", 4);
    memset(text + 4, 'x', 4092);
    memcpy(text + 4096, "\r\n", 3); /* the line end does not count */
    struct config *c = load(text);
    ASSERT_EQ(strlen(str(c, "a")), 4092);
    config_free(c);
    /* One byte more is refused. */
    memset(text + 4, 'x', 4093);
    memcpy(text + 4097, "\n", 2);
    ASSERT_STR_EQ(load_error(text), "kiosk.conf:1: line is longer than 4096 bytes (shorten it)");
    /* Even a comment line. */
    text[0] = '#';
    ASSERT_STR_EQ(load_error(text), "kiosk.conf:1: line is longer than 4096 bytes (shorten it)");
    free(text);
}

TEST(test_config_limits_keys_to_256)
{
    char *text = malloc(257 * 16);
    ASSERT(text);
    size_t n = 0;
    for (int i = 0; i < 256; i++)
        n += (size_t)snprintf(text + n, 16, "k%d = %d\n", i, i);
    struct config *c = load(text);
    ASSERT_EQ(config_count(c), 256);
    config_free(c);
    snprintf(text + n, 16, "k256 = 0\n");
    ASSERT_STR_EQ(load_error(text), "kiosk.conf:257: more than 256 keys (is this the right file?)");
    free(text);
}

TEST(test_config_limits_key_length)
{
    char text[400];
    memset(text, 'k', 128);
    memcpy(text + 128, " = 1\n", 6);
    struct config *c = load(text);
    config_free(c);
    memset(text, 'k', 129);
    memcpy(text + 129, " = 1\n", 6);
    ASSERT_STR_EQ(load_error(text), "kiosk.conf:1: key is longer than 128 bytes");
    /* The section counts too. */
    memcpy(text, "[s]\n", 4);
    memset(text + 4, 'k', 127);
    memcpy(text + 131, " = 1\n", 6);
    ASSERT_STR_EQ(load_error(text), "kiosk.conf:2: key is longer than 128 bytes");
}

TEST(test_config_load_file_says_what_is_wrong_with_the_file)
{
    struct config *c = NULL;
    char err[512], want[600];
    const char *missing = check_path("nope.conf");
    ASSERT_EQ(config_load_file(&c, missing, err, sizeof err), CONFIG_E_IO);
    snprintf(want, sizeof want,
             "cannot read %s: No such file or directory (check the path and its permissions)",
             missing);
    ASSERT_STR_EQ(err, want);

    ASSERT_EQ(config_load_file(&c, check_dir(), err, sizeof err), CONFIG_E_IO);
    ASSERT_CONTAINS(err, "Is a directory");

    size_t big = CONFIG_MAX_FILE + 1;
    char *text = malloc(big);
    ASSERT(text);
    memset(text, '\n', big);
    check_write_file(check_path("big.conf"), text, big);
    free(text);
    ASSERT_EQ(config_load_file(&c, check_path("big.conf"), err, sizeof err), CONFIG_E_SYNTAX);
    snprintf(want, sizeof want, "%s is larger than 1024 KiB: is this the right file?",
             check_path("big.conf"));
    ASSERT_STR_EQ(err, want);
    ASSERT(c == NULL);
}

TEST(test_config_int_getter_checks_type_and_range)
{
    struct config *c = load("max_record_seconds = 9000\n"
                            "volume = loud\n"
                            "idle_seconds = 60\n"
                            "a = 12 s\n"
                            "b = 0x10\n"
                            "c = +5\n"
                            "d = -7\n"
                            "e = 99999999999999999999\n"
                            "f = -9223372036854775808\n"
                            "g =\n"
                            "h = -\n");
    long long v = 0;
    char err[256];
    ASSERT_EQ(config_get_int(c, "max_record_seconds", 180, 10, 600, &v, err, sizeof err),
              CONFIG_E_VALUE);
    ASSERT_STR_EQ(err, "kiosk.conf: max_record_seconds = 9000 is out of range (10\xe2\x80\x93"
                       "600)");
    ASSERT_EQ(config_get_int(c, "volume", 80, 0, 100, &v, err, sizeof err), CONFIG_E_VALUE);
    ASSERT_STR_EQ(err, "kiosk.conf: volume = loud is not a whole number (0\xe2\x80\x93"
                       "100)");
    ASSERT_EQ(config_get_int(c, "idle_seconds", 0, 10, 600, &v, err, sizeof err), 0);
    ASSERT_EQ(v, 60);
    ASSERT_EQ(config_get_int(c, "absent", 42, 0, 1, &v, err, sizeof err), 0);
    ASSERT_EQ(v, 42); /* the caller's default is not range-checked */
    const char *bad[] = {"a", "b", "c", "g", "h"};
    for (size_t i = 0; i < 5; i++) {
        ASSERT_EQ(config_get_int(c, bad[i], 0, -100, 100, &v, err, sizeof err), CONFIG_E_VALUE);
        ASSERT_CONTAINS(err, "is not a whole number");
    }
    ASSERT_EQ(config_get_int(c, "d", 0, -100, 100, &v, err, sizeof err), 0);
    ASSERT_EQ(v, -7);
    ASSERT_EQ(config_get_int(c, "e", 0, INT64_MIN, INT64_MAX, &v, err, sizeof err), CONFIG_E_VALUE);
    ASSERT_CONTAINS(err, "is out of range");
    ASSERT_EQ(config_get_int(c, "f", 0, INT64_MIN, INT64_MAX, &v, err, sizeof err), 0);
    ASSERT(v == INT64_MIN);
    config_free(c);
}

TEST(test_config_int_choice_lists_the_allowed_values)
{
    struct config *c = load("screen_rotation = 45\nok = 270\n");
    static const long long rot[] = {0, 90, 180, 270};
    long long v;
    char err[256];
    ASSERT_EQ(config_get_int_choice(c, "screen_rotation", 0, rot, 4, &v, err, sizeof err),
              CONFIG_E_VALUE);
    ASSERT_STR_EQ(err, "kiosk.conf: screen_rotation = 45 is not one of 0, 90, 180, 270");
    ASSERT_EQ(config_get_int_choice(c, "ok", 0, rot, 4, &v, err, sizeof err), 0);
    ASSERT_EQ(v, 270);
    ASSERT_EQ(config_get_int_choice(c, "absent", 90, rot, 4, &v, err, sizeof err), 0);
    ASSERT_EQ(v, 90);
    config_free(c);
}

TEST(test_config_bool_getter_takes_the_usual_words)
{
    struct config *c = load("a = true\nb = YES\nc = On\nd = 1\n"
                            "e = false\nf = no\ng = OFF\nh = 0\n"
                            "training = maybe\n");
    const char *keys = "abcdefgh";
    int v = -1;
    char err[256], k[2] = "";
    for (int i = 0; i < 8; i++) {
        k[0] = keys[i];
        ASSERT_EQ(config_get_bool(c, k, 0, &v, err, sizeof err), 0);
        ASSERT_EQ(v, i < 4);
    }
    ASSERT_EQ(config_get_bool(c, "training", 0, &v, err, sizeof err), CONFIG_E_VALUE);
    ASSERT_STR_EQ(err, "kiosk.conf: training = maybe is not true or false (write true or false)");
    ASSERT_EQ(config_get_bool(c, "absent", 7, &v, err, sizeof err), 0);
    ASSERT_EQ(v, 1);
    config_free(c);
}

TEST(test_config_base64_getter_wants_exact_length)
{
    struct config *c = load("post_key = " POST_KEY_B64 "\n"
                            "short = AAAA\n"
                            "long = AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n"
                            "nopad = g07GJHdmgCISZ3eyNdeOH/FAZ4F6A+j9q+B/Dr96PlM\n"
                            "urlsafe = g07GJHdmgCISZ3eyNdeOH_FAZ4F6A-j9q-B_Dr96PlM=\n"
                            "junk = g07GJHdmgCISZ3eyNdeOH/FAZ4F6A+j9q+B/Dr96Pl!=\n");
    uint8_t k[32], want[32];
    size_t got;
    ASSERT_EQ(sodium_base642bin(want, sizeof want, POST_KEY_B64, strlen(POST_KEY_B64), NULL, &got,
                                NULL, sodium_base64_VARIANT_ORIGINAL),
              0);
    char err[256];
    ASSERT_EQ(config_get_base64(c, "post_key", k, 32, err, sizeof err), 0);
    ASSERT_MEM_EQ(k, want, 32);
    const char *bad[] = {"short", "long", "nopad", "urlsafe", "junk"};
    for (size_t i = 0; i < 5; i++) {
        ASSERT_EQ(config_get_base64(c, bad[i], k, 32, err, sizeof err), CONFIG_E_VALUE);
        char msg[256];
        snprintf(msg, sizeof msg,
                 "kiosk.conf: %s is not base64 of 32 bytes (copy the value again, whole)", bad[i]);
        ASSERT_STR_EQ(err, msg);
    }
    ASSERT_EQ(config_get_base64(c, "absent", k, 32, err, sizeof err), CONFIG_E_MISSING);
    ASSERT_STR_EQ(err, "kiosk.conf: absent is missing (add a line \"absent = ...\")");
    config_free(c);
}

TEST(test_config_str_getter_defaults_or_says_missing)
{
    struct config *c = load("a = x\n");
    const char *v;
    char err[256];
    ASSERT_EQ(config_get_str(c, "b", "dflt", &v, err, sizeof err), 0);
    ASSERT_STR_EQ(v, "dflt");
    ASSERT_EQ(config_get_str(c, "kiosk_id", NULL, &v, err, sizeof err), CONFIG_E_MISSING);
    ASSERT_STR_EQ(err, "kiosk.conf: kiosk_id is missing (add a line \"kiosk_id = ...\")");
    config_free(c);
}

TEST(test_config_long_values_are_cut_in_messages)
{
    char text[300];
    /* 70 × "ư" (2 bytes each): the cut must fall between characters. */
    size_t n = (size_t)snprintf(text, sizeof text, "volume = ");
    for (int i = 0; i < 70; i++) {
        text[n++] = '\xc6';
        text[n++] = '\xb0';
    }
    text[n] = 0;
    struct config *c = load(text);
    long long v;
    char err[512];
    ASSERT_EQ(config_get_int(c, "volume", 0, 0, 100, &v, err, sizeof err), CONFIG_E_VALUE);
    ASSERT(config_utf8_valid(err, strlen(err)));
    ASSERT_CONTAINS(err, "\xc6\xb0\xe2\x80\xa6 is not a whole number");
    ASSERT(strlen(err) < 120);
    config_free(c);
}

TEST(test_config_paths_are_relative_to_the_config_file)
{
    const char *text = "device_key_file = device.key\nabs = /etc/x\nempty =\n";
    check_write_file(check_path("kiosk.conf"), text, strlen(text));
    struct config *c = NULL;
    char err[512], p[4096], want[4200];
    ASSERT_EQ(config_load_file(&c, check_path("kiosk.conf"), err, sizeof err), 0);
    ASSERT_EQ(config_get_path(c, "device_key_file", NULL, p, sizeof p, err, sizeof err), 0);
    snprintf(want, sizeof want, "%s/device.key", check_dir());
    ASSERT_STR_EQ(p, want);
    ASSERT_EQ(config_get_path(c, "abs", NULL, p, sizeof p, err, sizeof err), 0);
    ASSERT_STR_EQ(p, "/etc/x");
    ASSERT_EQ(config_get_path(c, "other", "sub/file", p, sizeof p, err, sizeof err), 0);
    snprintf(want, sizeof want, "%s/sub/file", check_dir());
    ASSERT_STR_EQ(p, want);
    ASSERT_EQ(config_get_path(c, "empty", "x", p, sizeof p, err, sizeof err), CONFIG_E_VALUE);
    snprintf(want, sizeof want,
             "%s: empty is empty (give a path, or remove the line to use the default)",
             check_path("kiosk.conf"));
    ASSERT_STR_EQ(err, want);
    ASSERT_EQ(config_get_path(c, "device_key_file", NULL, p, 8, err, sizeof err), CONFIG_E_VALUE);
    ASSERT_CONTAINS(err, "device_key_file is longer than 7 bytes (use a shorter path)");
    ASSERT_EQ(config_get_path(c, "none", NULL, p, sizeof p, err, sizeof err), CONFIG_E_MISSING);
    config_free(c);

    /* From memory there is no folder: relative stays relative (to the working directory). */
    c = load("device_key_file = device.key\n");
    ASSERT_EQ(config_get_path(c, "device_key_file", NULL, p, sizeof p, err, sizeof err), 0);
    ASSERT_STR_EQ(p, "device.key");
    config_free(c);
}

TEST(test_config_check_known_names_the_unknown_key)
{
    struct config *c = load("kiosk_id = a\nvolum = 3\n");
    static const char *const known[] = {"kiosk_id", "volume", NULL};
    char err[256];
    ASSERT_EQ(config_check_known(c, known, err, sizeof err), CONFIG_E_UNKNOWN);
    ASSERT_STR_EQ(err, "kiosk.conf:2: unknown key volum (check its spelling against "
                       "docs/config.md)");
    config_free(c);
}

TEST(test_config_kiosk_id_rules)
{
    static const char *good[] = {"na-co-sa-01", "a", "0", "k1", "abcdefghijklmnopqrstuvwxyz012345"};
    static const char *bad[] = {"",          "-a",    "a-",
                                "Na-co",     "na co", "na_co",
                                "n\xc3\xa0", "a/b",   "abcdefghijklmnopqrstuvwxyz0123456"};
    char err[256];
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
        ASSERT_EQ(config_kiosk_id_check(good[i], err, sizeof err), 0);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        ASSERT_EQ(config_kiosk_id_check(bad[i], err, sizeof err), CONFIG_E_VALUE);
    ASSERT_EQ(config_kiosk_id_check("Na Co", err, sizeof err), CONFIG_E_VALUE);
    ASSERT_STR_EQ(err, "kiosk id \"Na Co\" is not valid: use 1\xe2\x80\x93"
                       "32 lowercase letters, digits and dashes, like na-co-sa-01");
}

TEST(test_config_reads_a_full_kiosk_conf)
{
    struct config *c = load("kiosk_id = na-co-sa-01\n"
                            "post_key = " POST_KEY_B64 "\n"
                            "device_key_file = /boot/firmware/homthu/device.key\n"
                            "data_dir = /data/homthu\n"
                            "relay_url = https://relay.example.org/homthu\n"
                            "language_default = hmn\n"
                            "max_record_seconds = 300\n"
                            "opus_bitrate = 16000\n"
                            "volume = 95\n"
                            "idle_seconds = 45\n"
                            "screen_rotation = 180\n"
                            "training = yes\n"
                            "screen_inches = 10\n"
                            "blank_seconds = 120\n"
                            "volunteer_pin = 0042\n"
                            "post_name = \"\xc4\x90\xe1\xbb\x93n Bi\xc3\xaan ph\xc3\xb2ng Pa Vi\"\n");
    struct kiosk_conf k;
    char err[256] = "";
    ASSERT_EQ(config_read_kiosk(c, &k, err, sizeof err), 0);
    ASSERT_STR_EQ(k.kiosk_id, "na-co-sa-01");
    ASSERT_STR_EQ(k.device_key_file, "/boot/firmware/homthu/device.key");
    ASSERT_STR_EQ(k.data_dir, "/data/homthu");
    ASSERT_STR_EQ(k.relay_url, "https://relay.example.org/homthu");
    ASSERT_STR_EQ(k.language_default, "hmn");
    ASSERT_EQ(k.max_record_seconds, 300);
    ASSERT_EQ(k.opus_bitrate, 16000);
    ASSERT_EQ(k.volume, 95);
    ASSERT_EQ(k.idle_seconds, 45);
    ASSERT_EQ(k.screen_rotation, 180);
    ASSERT_EQ(k.training, 1);
    ASSERT_EQ(k.screen_inches, 10);
    ASSERT_EQ(k.blank_seconds, 120);
    ASSERT_STR_EQ(k.volunteer_pin, "0042");
    ASSERT_STR_EQ(k.post_name, "\xc4\x90\xe1\xbb\x93n Bi\xc3\xaan ph\xc3\xb2ng Pa Vi");
    ASSERT_EQ(k.post_key[0], 0x83);
    config_free(c);
}

TEST(test_config_kiosk_conf_defaults)
{
    struct config *c = load("kiosk_id = na-co-sa-02\npost_key = " POST_KEY_B64 "\n");
    struct kiosk_conf k;
    char err[256] = "";
    ASSERT_EQ(config_read_kiosk(c, &k, err, sizeof err), 0);
    ASSERT_STR_EQ(k.device_key_file, "device.key");
    ASSERT_STR_EQ(k.data_dir, "/var/lib/homthu");
    ASSERT_STR_EQ(k.relay_url, "");
    ASSERT_STR_EQ(k.language_default, "vi");
    ASSERT_EQ(k.max_record_seconds, 180);
    ASSERT_EQ(k.opus_bitrate, 12000);
    ASSERT_EQ(k.volume, 80);
    ASSERT_EQ(k.idle_seconds, 60);
    ASSERT_EQ(k.screen_rotation, 0);
    ASSERT_EQ(k.training, 0);
    ASSERT_EQ(k.screen_inches, 7);
    ASSERT_EQ(k.blank_seconds, 300);
    ASSERT_STR_EQ(k.volunteer_pin, "");
    ASSERT_STR_EQ(k.post_name, ""); /* the start screen's generic words */
    config_free(c);
}

/* The post's name fills its 63 bytes, not one more: it is shown whole on
   the start screen or refused at the desk, never cut mid-letter. */
TEST(test_config_post_name_is_utf8_of_at_most_63_bytes)
{
    /* "Đồn Biên phòng " is 20 bytes, 14 three-byte letters make 62, an
       ASCII letter 63. */
    char name[128], text[512], err[256];
    struct kiosk_conf k;
    size_t n = (size_t)snprintf(name, sizeof name, "\xc4\x90\xe1\xbb\x93n Bi\xc3\xaan ph\xc3\xb2ng ");
    ASSERT_EQ(n, 20);
    while (n + 3 <= 63)
        n += (size_t)snprintf(name + n, sizeof name - n, "\xe1\xbb\x93"); /* ồ */
    n += (size_t)snprintf(name + n, sizeof name - n, "AB");
    ASSERT_EQ(n, 64);
    name[63] = 0;
    snprintf(text, sizeof text, "kiosk_id = a\npost_key = %s\npost_name = %s\n", POST_KEY_B64,
             name);
    struct config *c = load(text);
    err[0] = 0;
    ASSERT_EQ(config_read_kiosk(c, &k, err, sizeof err), 0);
    ASSERT_STR_EQ(k.post_name, name);
    config_free(c);

    name[63] = 'A';
    name[64] = 0;
    snprintf(text, sizeof text, "kiosk_id = a\npost_key = %s\npost_name = %s\n", POST_KEY_B64,
             name);
    c = load(text);
    ASSERT_EQ(config_read_kiosk(c, &k, err, sizeof err), CONFIG_E_VALUE);
    ASSERT_STR_EQ(err, "kiosk.conf: post_name is 64 bytes, more than 63 (a Vietnamese letter "
                       "with its marks takes 2 or 3): shorten it, e.g. \"\xc4\x90\xe1\xbb\x93n "
                       "Bi\xc3\xaan ph\xc3\xb2ng Pa Vi\"");
    config_free(c);

    /* A tab inside quotes passes the line's checks, not the name's. */
    c = load("kiosk_id = a\npost_key = " POST_KEY_B64 "\npost_name = \"Pa\tVi\"\n");
    ASSERT_EQ(config_read_kiosk(c, &k, err, sizeof err), CONFIG_E_VALUE);
    ASSERT_STR_EQ(err, "kiosk.conf: post_name holds a tab or control character (remove it)");
    config_free(c);

    /* Not UTF-8 (Latin-1 from an old editor, a name cut mid-letter): the
       file is refused with its line, whatever the key. */
    ASSERT_STR_EQ(load_error("kiosk_id = a\npost_key = " POST_KEY_B64
                             "\npost_name = \xd0\xf4n Bi\xean\n"),
                  "kiosk.conf:3: not valid UTF-8 (save the file as UTF-8)");
    ASSERT_STR_EQ(load_error("kiosk_id = a\npost_key = " POST_KEY_B64
                             "\npost_name = \xc4\x90\xe1\xbb\n"),
                  "kiosk.conf:3: not valid UTF-8 (save the file as UTF-8)");
    /* and the name's own check agrees, should a value come another way */
    ASSERT_EQ(config_utf8_valid("\xc4\x90\xe1\xbb", 4), 0);
}

TEST(test_config_kiosk_conf_errors)
{
    static const struct {
        const char *extra, *err;
    } cases[] = {
        {"max_record_seconds = 9000\n",
         "kiosk.conf: max_record_seconds = 9000 is out of range (10\xe2\x80\x93"
         "600)"},
        {"opus_bitrate = 500\n", "kiosk.conf: opus_bitrate = 500 is out of range (6000\xe2\x80\x93"
                                 "64000)"},
        {"volume = 101\n", "kiosk.conf: volume = 101 is out of range (0\xe2\x80\x93"
                           "100)"},
        {"idle_seconds = 5\n", "kiosk.conf: idle_seconds = 5 is out of range (10\xe2\x80\x93"
                               "600)"},
        {"screen_rotation = 45\n",
         "kiosk.conf: screen_rotation = 45 is not one of 0, 90, 180, 270"},
        {"training = sometimes\n",
         "kiosk.conf: training = sometimes is not true or false (write true or false)"},
        {"relay_url = ftp://relay\n",
         "kiosk.conf: relay_url = ftp://relay is not an http:// or https:// address (like "
         "https://relay.example.org/)"},
        {"relay_url = \"https://a b\"\n",
         "kiosk.conf: relay_url = https://a b is not an http:// or https:// address (like "
         "https://relay.example.org/)"},
        {"relay_url = https://\n",
         "kiosk.conf: relay_url = https:// is not an http:// or https:// address (like "
         "https://relay.example.org/)"},
        {"language_default = Vietnamese\n",
         "kiosk.conf: language_default = Vietnamese is not a language code (like vi, hmn, th, "
         "khm)"},
        {"language_default = v\n",
         "kiosk.conf: language_default = v is not a language code (like vi, hmn, th, khm)"},
        {"data_dir =\n",
         "kiosk.conf: data_dir is empty (give a path, or remove the line to use the default)"},
        {"screen_inches = 3\n", "kiosk.conf: screen_inches = 3 is out of range (4\xe2\x80\x93"
                                "24)"},
        {"blank_seconds = 10\n", "kiosk.conf: blank_seconds = 10 is out of range (30\xe2\x80\x93"
                                 "86400)"},
        {"volunteer_pin = 123\n", "kiosk.conf: volunteer_pin must be 4 to 8 digits (or empty "
                                  "to turn the volunteer screens off)"},
        {"volunteer_pin = 12a4\n", "kiosk.conf: volunteer_pin must be 4 to 8 digits (or empty "
                                   "to turn the volunteer screens off)"},
        {"volunteer_pin = 123456789\n", "kiosk.conf: volunteer_pin must be 4 to 8 digits (or "
                                        "empty to turn the volunteer screens off)"},
        {"max_record_second = 100\n",
         "kiosk.conf:3: unknown key max_record_second (check its spelling against "
         "docs/config.md)"},
    };
    char text[512], err[256];
    struct kiosk_conf k;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        snprintf(text, sizeof text, "kiosk_id = a\npost_key = %s\n%s", POST_KEY_B64,
                 cases[i].extra);
        struct config *c = load(text);
        err[0] = 0;
        ASSERT(config_read_kiosk(c, &k, err, sizeof err) < 0);
        ASSERT_STR_EQ(err, cases[i].err);
        config_free(c);
    }

    struct config *c = load("post_key = " POST_KEY_B64 "\n");
    ASSERT_EQ(config_read_kiosk(c, &k, err, sizeof err), CONFIG_E_MISSING);
    ASSERT_STR_EQ(err, "kiosk.conf: kiosk_id is missing (add a line \"kiosk_id = ...\")");
    config_free(c);
    c = load("kiosk_id = a\n");
    ASSERT_EQ(config_read_kiosk(c, &k, err, sizeof err), CONFIG_E_MISSING);
    ASSERT_STR_EQ(err, "kiosk.conf: post_key is missing (add a line \"post_key = ...\")");
    config_free(c);
    c = load("kiosk_id = Bad\npost_key = " POST_KEY_B64 "\n");
    ASSERT_EQ(config_read_kiosk(c, &k, err, sizeof err), CONFIG_E_VALUE);
    ASSERT_STR_EQ(err, "kiosk.conf: kiosk id \"Bad\" is not valid: use 1\xe2\x80\x93"
                       "32 lowercase letters, digits and dashes, like na-co-sa-01");
    config_free(c);
}

TEST(test_config_free_null_is_a_no_op)
{
    config_free(NULL);
}

/* The kiosk.conf that homthu-provision writes is what the kiosk reads. */
TEST(test_config_reads_what_provision_writes)
{
    const char *tool = "homthu-provision";
    char prog[1024];
    snprintf(prog, sizeof prog, "%s/%s", check_build(), tool);
    const char *post = check_path("post"), *card = check_path("card");
    ASSERT_EQ(check_sh("HOMTHU_PWHASH=min HOMTHU_PASSPHRASE='a long passphrase' %s post-init "
                       "--dir '%s' >/dev/null 2>&1",
                       prog, post),
              0);
    ASSERT_EQ(check_sh("%s kiosk-new --post '%s' --id na-co-sa-07 --out '%s' --relay "
                       "https://relay.example.org/ >/dev/null",
                       prog, post, card),
              0);

    struct config *c = NULL;
    struct kiosk_conf k;
    char err[512] = "";
    ASSERT_EQ(config_load_file(&c, check_path("card/kiosk.conf"), err, sizeof err), 0);
    ASSERT_EQ(config_read_kiosk(c, &k, err, sizeof err), 0);
    /* Every key is written out, so a technician sees what can be set. */
    for (size_t i = 0; config_kiosk_keys[i]; i++)
        if (!config_has(c, config_kiosk_keys[i]))
            check_fail(__FILE__, __LINE__, "kiosk-new did not write %s", config_kiosk_keys[i]);
    config_free(c);
    ASSERT_STR_EQ(k.kiosk_id, "na-co-sa-07");
    ASSERT_STR_EQ(k.relay_url, "https://relay.example.org/");
    ASSERT_STR_EQ(k.post_name, ""); /* no --post-name: the screen's general words */
    ASSERT_STR_EQ(k.device_key_file, check_path("card/device.key"));

    uint8_t pk[32];
    ASSERT_EQ(keys_post_load_public(check_path("post/post.pub"), pk, NULL, err, sizeof err), 0);
    ASSERT_MEM_EQ(k.post_key, pk, 32);

    struct keys_device *dev = NULL;
    ASSERT_EQ(keys_device_load(&dev, k.device_key_file, err, sizeof err), 0);
    struct registry *r = NULL;
    ASSERT_EQ(registry_open(&r, check_path("post/registry.db"), 0, err, sizeof err), 0);
    ASSERT_EQ(registry_device_check(r, dev->pk), 0);
    struct registry_entry e;
    ASSERT_EQ(registry_find_device(r, dev->pk, &e, err, sizeof err), 0);
    ASSERT_STR_EQ(e.id, "na-co-sa-07");
    registry_close(r);
    keys_device_free(dev);
}

/* --post-name reaches the kiosk's start screen through kiosk.conf; a name the
   kiosk would refuse is refused at the desk, and nothing is written. */
TEST(test_config_provision_writes_the_post_name)
{
    char prog[1024];
    snprintf(prog, sizeof prog, "%s/homthu-provision", check_build());
    const char *post = check_path("post");
    ASSERT_EQ(check_sh("HOMTHU_PWHASH=min HOMTHU_PASSPHRASE='a long passphrase' %s post-init "
                       "--dir '%s' >/dev/null 2>&1",
                       prog, post),
              0);
    const char *name = "\xc4\x90\xe1\xbb\x93n Bi\xc3\xaan ph\xc3\xb2ng Pa Vi";
    ASSERT_EQ(check_sh("%s kiosk-new --post '%s' --id pa-vi-01 --out '%s' --post-name '%s' "
                       ">/dev/null",
                       prog, post, check_path("card"), name),
              0);
    struct config *c = NULL;
    struct kiosk_conf k;
    char err[512] = "";
    ASSERT_EQ(config_load_file(&c, check_path("card/kiosk.conf"), err, sizeof err), 0);
    ASSERT_EQ(config_read_kiosk(c, &k, err, sizeof err), 0);
    config_free(c);
    ASSERT_STR_EQ(k.post_name, name);

    /* 22 three-byte letters: 66 bytes */
    char longname[128] = "";
    for (int i = 0; i < 22; i++)
        memcpy(longname + 3 * i, "\xe1\xbb\x93", 3); /* 66 < 128: ends NUL-filled */
    ASSERT_EQ(check_sh("%s kiosk-new --post '%s' --id pa-vi-02 --out '%s' --post-name '%s' "
                       ">/dev/null 2>'%s'",
                       prog, post, check_path("card2"), longname, check_path("err")),
              1);
    char *why = (char *)check_slurp(check_path("err"), NULL);
    ASSERT(why && strstr(why, "post_name is 66 bytes, more than 63"));
    free(why);
    ASSERT(access(check_path("card2/kiosk.conf"), F_OK) != 0);
    ASSERT_EQ(check_sh("%s kiosk-new --post '%s' --id pa-vi-03 --out '%s' --post-name 'Pa \"Vi\"' "
                       ">/dev/null 2>&1",
                       prog, post, check_path("card3")),
              2);
}

/* docs/config.md is where technicians look: every key the kiosk reads is there. */
TEST(test_config_every_kiosk_key_is_documented)
{
    const char *root = getenv("HOMTHU_ROOT");
    char path[4096];
    snprintf(path, sizeof path, "%s/docs/config.md", root && *root ? root : ".");
    size_t n;
    uint8_t *doc = check_slurp(path, &n);
    ASSERT(doc);
    char *text = malloc(n + 1);
    ASSERT(text);
    memcpy(text, doc, n);
    text[n] = 0;
    free(doc);
    for (size_t i = 0; config_kiosk_keys[i]; i++) {
        char row[160];
        snprintf(row, sizeof row, "\n| `%s` |", config_kiosk_keys[i]);
        if (!strstr(text, row))
            check_fail(__FILE__, __LINE__, "docs/config.md has no table row for %s",
                       config_kiosk_keys[i]);
    }
    free(text);
}
