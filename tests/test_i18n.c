/* Tests for i18n.h: the shipped catalogs, fallbacks, the .po reader's checks. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "check.h"
#include "kiosk/i18n.h"

/* Every msgid the UI uses (src/kiosk/ui.c); Vietnamese must have them all. */
static const char *const ui_msgids[] = {
    "Tip box of the border post",
    "What happened?",
    "Strangers or illegal border crossing",
    "Drugs",
    "Weapons or explosives",
    "Smuggling",
    "Theft",
    "People trafficking",
    "Something else",
    "Continue",
    "Back",
    "Hear again",
    "Listen back",
    "Record again",
    "Write something (optional)",
    "Skip",
    "Send",
    "When did it happen?",
    "Today",
    "Yesterday",
    "This week",
    "Earlier",
    "Your tip is in the safe box. Only the border post can open it.",
    "Thank you.",
    "Are you still there?",
    "Yes, I am here",
    "This kiosk cannot take tips right now.",
    "Please tell the staff of the health station.",
    "The microphone is not working. You can write your tip instead.",
    "Practice mode: this tip is not sent.",
    "Volunteer",
    "Enter the PIN",
    "Record",
    "Stop",
    "Done",
    "Cancel",
    "Delete",
    "Space",
    /* The staff screens (src/kiosk/ui_staff.c). */
    "%d s",
    "%d min",
    "%d h",
    "%d days",
    "Wrong PIN. %d tries left.",
    "Too many wrong PINs. Wait, then try again.",
    "Language to work on:",
    "Record the voice: %d of %d done",
    "Copy with a USB stick",
    "Technician",
    "Practice mode: on",
    "Practice mode: off",
    "Volume: %d",
    "%s · sentence %d of %d",
    "Hear it now",
    "Not recorded yet: the Vietnamese one is spoken.",
    "Now spoken by the machine voice.",
    "Now a stand-in: please record it.",
    "Now spoken in a person's voice.",
    "Recording: read the words, then touch Stop.",
    "Throw the new one away",
    "Hear the new one",
    "Keep the new one",
    "Previous",
    "Next sentence",
    "The microphone does not start.",
    "New take: hear it, then keep it. The old one serves until then.",
    "Too short: record again.",
    "Kept: the kiosk now speaks this take.",
    "Not saved: the old one stays. Try again.",
    "Thrown away: the old one stays.",
    "USB stick: %s",
    "Take from the USB stick: %s",
    "%d new, %d replace the ones in use, %d the same.",
    "New:",
    "Replaces:",
    "Do not take them",
    "Take them",
    "Copy the recorded voice of this language to a USB stick, then take it into another kiosk.",
    "Copy to the USB stick",
    "Take from the USB stick",
    "Nothing to take: the kiosk has the same voice already.",
    "Taken: %d. The kiosk now speaks them.",
    "Copied %d to the USB stick.",
    "No USB stick found. Plug one in and try again.",
    "The USB stick holds no voice of this language.",
    "Nothing recorded in this language yet.",
    "A file on the USB stick is damaged (%s). Nothing was taken.",
    "A file on the USB stick is not for this kiosk (%s). Nothing was taken.",
    "Could not write: nothing was changed.",
    "cannot reach the relay (no network?)",
    "the connection broke; trying again",
    "the relay's certificate does not match",
    "this kiosk is not enrolled, or was revoked",
    "the relay refused",
    "another fault: see the log",
    "1: no key of the post",
    "2: the memory card fails",
    "3: the memory card is nearly full",
    "4: no microphone",
    "5: nothing sent for days",
    "6: no speaker",
    "Kiosk %s, version %s",
    "The tip store does not open: see the log.",
    "Tips waiting to be sent: %d, the oldest %s",
    "No tips waiting to be sent.",
    "Last sent: %s ago",
    "Nothing sent yet.",
    "No relay address in kiosk.conf: tips wait.",
    "Sends to: %s",
    "The sending program left no news: is it running?",
    "Last sending fault: %s, %s ago",
    "No sending fault (news %s ago).",
    "Network address: %s",
    "No network address.",
    "Memory card: %s MB free of %s MB",
    "Microphone: yes",
    "Microphone: NONE",
    "Speaker: yes",
    "Speaker: NONE",
    "Clock: set",
    "Clock: not set",
    "Green blinks every 2 s: the kiosk is running.",
    "Amber lit: tips wait to be sent; blinking: sending.",
    "Red blinks N times, pauses, again: count them.",
    "Touch here: a red dot shows where the screen felt it.",
    "Test the microphone",
    "Microphone on: speak",
    "Test the lights",
    "Status",
    "Lights",
    "Tests",
    "This sentence has no words in the list yet: it cannot be recorded.",
    "Touch your language to leave a tip.",
    "No name is asked. There is no camera. Only the border post can listen.",
    "Speak",
    "Write",
    "Touch and speak",
    "Speak now",
    "Say what happened, where, and when.",
    "Do not say your name.",
    "Throw away",
    "Your words are ready",
    "When?",
    "It is sent by itself.",
    "Touch a picture, if you wish.",
    "OK",
    "This was practice: nothing was sent.",
    "Your words were not kept.",
    /* a card not set up yet (the unprovisioned screen) */
    "This kiosk is not set up yet.",
    "The memory card has no homthu/kiosk.conf.",
    "homthu/kiosk.conf on the memory card cannot be used.",
    "The kiosk has no device key (device.key).",
    "The device key (device.key) cannot be used.",
    "To fix: put the memory card in a computer, run homthu-provision card (see the guide), put it "
    "back, restart.",
    "Red light: %d blink, then a pause.",
    "Checks: hold the top left corner of the screen.",
};
#define N_MSGIDS (sizeof ui_msgids / sizeof ui_msgids[0])

/* A draw command holds 160 bytes of text (ui.h UI_TEXT_MAX). */
#define UI_TEXT_BYTES 159

/* A valid header: 5 lines, then a blank line; entries start on line 7. */
#define HDR(code, name)                                                                            \
    "msgid \"\"\n"                                                                                 \
    "msgstr \"\"\n"                                                                                \
    "\"Language: " code "\\n\"\n"                                                                  \
    "\"Content-Type: text/plain; charset=UTF-8\\n\"\n"                                             \
    "\"X-Homthu-Name: " name "\\n\"\n"                                                             \
    "\n"

static const char *root(void)
{
    const char *r = getenv("HOMTHU_ROOT");
    return r && *r ? r : ".";
}

static const char *shipped_assets(void)
{
    static char p[4096];
    snprintf(p, sizeof p, "%s/assets", root());
    return p;
}

/* Write assets/lang/CODE/messages.po under the test's dir; returns assets. */
static const char *put_catalog(const char *code, const char *text)
{
    static char assets[4200];
    char path[4400];
    snprintf(assets, sizeof assets, "%s", check_path("assets"));
    ASSERT_EQ(check_sh("mkdir -p '%s/lang/%s'", assets, code), 0);
    snprintf(path, sizeof path, "%s/lang/%s/messages.po", assets, code);
    check_write_file(path, text, strlen(text));
    return assets;
}

/* Parse one catalog from memory into a fresh set; the set, or NULL on error. */
static struct i18n *parse(const char *text, char *err, size_t errlen, int *rc)
{
    struct i18n *s;
    ASSERT_EQ(i18n_new(&s), I18N_OK);
    *rc = i18n_add_po(s, "t.po", NULL, text, strlen(text), err, errlen);
    if (*rc) {
        ASSERT_EQ(i18n_count(s), 0); /* an error leaves the set as it was */
        i18n_free(s);
        return NULL;
    }
    return s;
}

static void expect_error(const char *text, int want_rc, const char *want_err)
{
    char err[512] = "";
    int rc;
    struct i18n *s = parse(text, err, sizeof err, &rc);
    i18n_free(s);
    if (rc != want_rc || strcmp(err, want_err) != 0)
        check_fail(__FILE__, __LINE__, "rc %d (want %d), err \"%s\"\n      want \"%s\"", rc,
                   want_rc, err, want_err);
}

TEST(test_i18n_loads_the_shipped_catalogs)
{
    struct i18n *s;
    char err[1024] = "";
    int rc = i18n_load_dir(&s, shipped_assets(), err, sizeof err);
    if (rc)
        check_fail(__FILE__, __LINE__, "load: %d %s", rc, err);
    ASSERT_STR_EQ(err, "");
    ASSERT(i18n_count(s) >= 2);
    struct i18n_lang_info vi, hmn;
    ASSERT_EQ(i18n_lang(s, 0, &vi), I18N_OK);
    ASSERT_STR_EQ(vi.code, "vi");
    ASSERT_STR_EQ(vi.name, "Tiếng Việt");
    ASSERT_EQ(vi.keyboard, TELEX_VI);
    ASSERT_EQ(vi.order, 1);
    ASSERT_EQ(vi.messages, N_MSGIDS);
    ASSERT_EQ(i18n_lang(s, 1, &hmn), I18N_OK);
    ASSERT_STR_EQ(hmn.code, "hmn");
    ASSERT_STR_EQ(hmn.name, "Lus Hmoob");
    ASSERT_EQ(hmn.keyboard, TELEX_RPA);
    ASSERT_EQ(i18n_lang(s, 99, &hmn), I18N_E_ARG);
    ASSERT_EQ(i18n_find(s, "hmn"), 1);
    ASSERT_EQ(i18n_find(s, "fr"), -1);
    ASSERT_STR_EQ(i18n_get(s, "vi", "Drugs"), "Ma tuý");
    ASSERT_STR_EQ(i18n_get(s, "hmn", "Drugs"), "Yeeb tshuaj");
    ASSERT_STR_EQ(i18n_get(s, "vi", "Wrong PIN. %d tries left."), "Sai mã PIN. Còn %d lần thử.");
    i18n_free(s);
}

TEST(test_i18n_vietnamese_translates_every_message_the_ui_uses)
{
    struct i18n *s;
    char err[1024] = "";
    ASSERT_EQ(i18n_load_dir(&s, shipped_assets(), err, sizeof err), I18N_OK);
    for (size_t i = 0; i < N_MSGIDS; i++) {
        const char *id = ui_msgids[i];
        for (size_t l = 0; l < i18n_count(s); l++) {
            struct i18n_lang_info info;
            ASSERT_EQ(i18n_lang(s, l, &info), I18N_OK);
            if (strcmp(info.code, "vi") == 0 && !i18n_has(s, "vi", id))
                check_fail(__FILE__, __LINE__, "vi lacks \"%s\"", id);
            const char *t = i18n_get(s, info.code, id);
            if (strlen(t) > UI_TEXT_BYTES)
                check_fail(__FILE__, __LINE__, "%s: \"%s\" is over %d bytes", info.code, t,
                           UI_TEXT_BYTES);
            /* The UI formats this one: the number must have its place. */
            if (strstr(id, "%d"))
                ASSERT_CONTAINS(t, "%d");
            if (strstr(id, "%s"))
                ASSERT_CONTAINS(t, "%s");
        }
        /* The Hmong catalog is complete too (awaiting a native speaker's review). */
        if (!i18n_has(s, "hmn", id))
            check_fail(__FILE__, __LINE__, "hmn lacks \"%s\"", id);
    }
    i18n_free(s);
}

TEST(test_i18n_every_hmong_entry_is_marked_for_review_but_used)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/lang/hmn/messages.po", shipped_assets());
    char *text = (char *)check_slurp(path, NULL);
    ASSERT(text);
    int ids = 0, marks = 0;
    for (const char *p = text; (p = strstr(p, "\nmsgid \"")); p++)
        ids++;
    for (const char *p = text; (p = strstr(p, "#. needs review by a native Hmong speaker\n")); p++)
        marks++;
    ASSERT_EQ(ids, marks + 1); /* + the header */
    ASSERT(!strstr(text, "fuzzy"));
    free(text);
}

TEST(test_i18n_falls_back_to_vietnamese_then_to_the_msgid)
{
    put_catalog("vi", HDR("vi", "Tiếng Việt") "msgid \"Drugs\"\nmsgstr \"Ma tuý\"\n\n"
                                              "msgid \"Theft\"\nmsgstr \"Trộm cắp\"\n");
    const char *assets =
        put_catalog("hmn", HDR("hmn", "Lus Hmoob") "msgid \"Drugs\"\nmsgstr \"Yeeb tshuaj\"\n\n"
                                                   "#, fuzzy\nmsgid \"Send\"\nmsgstr \"Xa\"\n\n"
                                                   "msgid \"Skip\"\nmsgstr \"\"\n");
    struct i18n *s;
    char err[512] = "";
    ASSERT_EQ(i18n_load_dir(&s, assets, err, sizeof err), I18N_OK);
    ASSERT_EQ(i18n_count(s), 2);
    ASSERT_STR_EQ(i18n_get(s, "hmn", "Drugs"), "Yeeb tshuaj");
    ASSERT_STR_EQ(i18n_get(s, "hmn", "Theft"), "Trộm cắp"); /* missing in hmn */
    ASSERT_EQ(i18n_has(s, "hmn", "Theft"), 0);
    ASSERT_STR_EQ(i18n_get(s, "hmn", "Send"), "Send");     /* fuzzy: skipped */
    ASSERT_STR_EQ(i18n_get(s, "hmn", "Skip"), "Skip");     /* untranslated */
    ASSERT_STR_EQ(i18n_get(s, "hmn", "Back"), "Back");     /* in neither */
    ASSERT_STR_EQ(i18n_get(s, "xx", "Theft"), "Trộm cắp"); /* no such language */
    ASSERT_STR_EQ(i18n_get(s, NULL, "Theft"), "Trộm cắp");
    ASSERT_STR_EQ(i18n_get(s, "hmn", NULL), "");
    ASSERT_STR_EQ(i18n_get(NULL, "hmn", "Theft"), "Theft");
    ASSERT_STR_EQ(i18n_pget(s, "hmn", "keyboard", "Drugs"), "Drugs"); /* other context */
    i18n_free(s);
}

TEST(test_i18n_reports_a_broken_catalog_and_loads_the_others)
{
    put_catalog("vi", HDR("vi", "Tiếng Việt") "msgid \"Drugs\"\nmsgstr \"Ma tuý\"\n");
    put_catalog("ba", HDR("ba", "Bad escape") "msgid \"Drugs\"\nmsgstr \"a\\qb\"\n");
    put_catalog("bb", HDR("bb", "Unterminated") "msgid \"Drugs\"\nmsgstr \"open\n");
    put_catalog("bc", HDR("bc", "Bad UTF-8") "msgid \"Drugs\"\nmsgstr \"caf\xe9\"\n");
    put_catalog("bd", HDR("bd", "No msgid") "# a comment\nmsgstr \"x\"\n");
    put_catalog("be", HDR("be", "No msgstr") "msgid \"Drugs\"\n\nmsgid \"Theft\"\nmsgstr \"x\"\n");
    const char *assets = put_catalog("bf", "msgid \"Drugs\"\nmsgstr \"x\"\n");
    ASSERT_EQ(check_sh("mkdir -p '%s/lang/bg' && touch '%s/lang/README'", assets, assets), 0);
    struct i18n *s;
    char err[4096] = "", want[4096];
    ASSERT_EQ(i18n_load_dir(&s, assets, err, sizeof err), I18N_E_SYNTAX);
    const char *a = assets;
    snprintf(want, sizeof want,
             "%s/lang/ba/messages.po:8: unknown escape \\q in a string (write \\\\ for a "
             "backslash)\n"
             "%s/lang/bb/messages.po:8: unterminated string (a string ends with \" on the same "
             "line)\n"
             "%s/lang/bc/messages.po:8: not valid UTF-8 (save the file as UTF-8)\n"
             "%s/lang/bd/messages.po:8: msgstr without msgid\n"
             "%s/lang/be/messages.po:7: msgid without msgstr\n"
             "%s/lang/bf/messages.po: no header entry (msgid \"\" with Language and "
             "X-Homthu-Name): copy it from lang/vi/messages.po\n"
             "%s/lang/bg/messages.po: missing: a language directory needs its messages.po (see "
             "docs/languages.md)",
             a, a, a, a, a, a, a);
    ASSERT_STR_EQ(err, want);
    ASSERT_EQ(i18n_count(s), 1);
    ASSERT_STR_EQ(i18n_get(s, "ba", "Drugs"), "Ma tuý");
    i18n_free(s);
}

TEST(test_i18n_a_language_dropped_in_appears_with_its_name)
{
    const char *assets = check_path("assets");
    ASSERT_EQ(check_sh("mkdir -p '%s' && cp -r '%s/lang' '%s/'", assets, shipped_assets(), assets),
              0);
    put_catalog("kjg", "# Khmu, added by a volunteer\n"
                       "msgid \"\"\nmsgstr \"\"\n"
                       "\"Language: kjg\\n\"\n"
                       "\"X-Homthu-Name: Kmhmu'\\n\"\n"
                       "\"X-Homthu-Order: 3\\n\"\n\n"
                       "msgid \"Thank you.\"\nmsgstr \"[kjg] Thank you.\"\n");
    struct i18n *s;
    char err[512] = "";
    ASSERT_EQ(i18n_load_dir(&s, assets, err, sizeof err), I18N_OK);
    ASSERT_EQ(i18n_count(s), 3);
    struct i18n_lang_info info;
    ASSERT_EQ(i18n_lang(s, 2, &info), I18N_OK);
    ASSERT_STR_EQ(info.code, "kjg");
    ASSERT_STR_EQ(info.name, "Kmhmu'");
    ASSERT_EQ(info.keyboard, TELEX_PLAIN); /* no X-Homthu-Keyboard */
    ASSERT_EQ(info.order, 3);
    ASSERT_STR_EQ(i18n_get(s, "kjg", "Thank you."), "[kjg] Thank you.");
    ASSERT_STR_EQ(i18n_get(s, "kjg", "Send"), "Gửi");
    i18n_free(s);
}

TEST(test_i18n_sorts_languages_by_order_then_code)
{
    struct i18n *s;
    char err[256];
    ASSERT_EQ(i18n_new(&s), I18N_OK);
    const char *c = HDR("c", "C"), *b = HDR("b", "B"), *a = HDR("a", "A");
    const char *z =
        "msgid \"\"\nmsgstr \"Language: z\\nX-Homthu-Name: Z\\nX-Homthu-Order: 0\\n\"\n";
    ASSERT_EQ(i18n_add_po(s, "c.po", "c", c, strlen(c), err, sizeof err), I18N_OK);
    ASSERT_EQ(i18n_add_po(s, "b.po", NULL, b, strlen(b), err, sizeof err), I18N_OK);
    ASSERT_EQ(i18n_add_po(s, "z.po", NULL, z, strlen(z), err, sizeof err), I18N_OK);
    ASSERT_EQ(i18n_add_po(s, "a.po", NULL, a, strlen(a), err, sizeof err), I18N_OK);
    const char *want[] = {"z", "a", "b", "c"};
    for (size_t i = 0; i < 4; i++) {
        struct i18n_lang_info info;
        ASSERT_EQ(i18n_lang(s, i, &info), I18N_OK);
        ASSERT_STR_EQ(info.code, want[i]);
    }
    /* The same language twice is refused. */
    ASSERT_EQ(i18n_add_po(s, "b2.po", NULL, b, strlen(b), err, sizeof err), I18N_E_DUP);
    ASSERT_STR_EQ(err, "b2.po: language \"b\" is loaded already from another catalog: remove one");
    ASSERT_EQ(i18n_count(s), 4);
    i18n_free(s);
    i18n_free(NULL);
}

TEST(test_i18n_reads_multiline_strings_escapes_context_and_plurals)
{
    const char *text = "\xef\xbb\xbf# translator comment\r\n"
                       "msgid \"\"\r\n"
                       "msgstr \"\"\r\n"
                       "\"Language: t\\n\"\r\n"
                       "\"X-Homthu-Name: \"\r\n"
                       "  \"Test\\n\"\r\n"
                       "\"X-Homthu-Keyboard: telex\\n\"\r\n"
                       "\r\n"
                       "#. extracted\n"
                       "#: src/kiosk/ui.c:12\n"
                       "#, c-format\n"
                       "msgid \"\"\n"
                       "\"Line one\\n\"\n"
                       "\"line two\"\n"
                       "msgstr \"Say \\\"hi\\\"\\tand\\\\or \"\n"
                       "\t\"\\n\"   \n"
                       "\n"
                       "msgctxt \"keyboard\"\n"
                       "msgid \"Space\"\n"
                       "msgstr \"Dấu cách\"\n"
                       "\n"
                       "msgid \"Space\"\n"
                       "msgstr \"Khoảng trắng\"\n"
                       "\n"
                       "msgid \"%d tip\"\n"
                       "msgid_plural \"%d tips\"\n"
                       "msgstr[0] \"%d tin\"\n"
                       "msgstr[1] \"%d tin nữa\"\n"
                       "\n"
                       "#| msgid \"Old\"\n"
                       "#, fuzzy\n"
                       "#~ msgid \"Gone\"\n"
                       "#~ msgstr \"Đã bỏ\"\n"
                       "\n"
                       "msgid \"Sure: 100%\"\n"
                       "msgstr \"Chắc: 100%\"\n"
                       "\n"
                       "#, no-c-format\n"
                       "msgid \"%s\"\n"
                       "msgstr \"%d\"\n"
                       "msgid \"a\" msgstr \"b\"";
    char err[512] = "";
    int rc;
    struct i18n *s = parse(text, err, sizeof err, &rc);
    ASSERT_STR_EQ(err, "t.po:41: text after the closing quote");
    ASSERT(!s);
    /* Without the last line it all reads. */
    char *ok = strdup(text);
    *strstr(ok, "msgid \"a\" msgstr") = 0;
    s = parse(ok, err, sizeof err, &rc);
    free(ok);
    if (!s)
        check_fail(__FILE__, __LINE__, "%s", err);
    struct i18n_lang_info info;
    ASSERT_EQ(i18n_lang(s, 0, &info), I18N_OK);
    ASSERT_STR_EQ(info.name, "Test");
    ASSERT_EQ(info.keyboard, TELEX_VI);
    ASSERT_EQ(info.order, I18N_ORDER_DEFAULT);
    ASSERT_EQ(info.messages, 6);
    ASSERT_STR_EQ(i18n_get(s, "t", "Line one\nline two"), "Say \"hi\"\tand\\or \n");
    ASSERT_STR_EQ(i18n_pget(s, "t", "keyboard", "Space"), "Dấu cách");
    ASSERT_STR_EQ(i18n_get(s, "t", "Space"), "Khoảng trắng");
    ASSERT_STR_EQ(i18n_get(s, "t", "%d tip"), "%d tin");
    ASSERT_STR_EQ(i18n_get(s, "t", "Gone"), "Gone");             /* obsolete */
    ASSERT_STR_EQ(i18n_get(s, "t", "Sure: 100%"), "Chắc: 100%"); /* no format */
    ASSERT_STR_EQ(i18n_get(s, "t", "%s"), "%d");
    i18n_free(s);
}

TEST(test_i18n_refuses_syntax_errors_with_file_and_line)
{
    expect_error(HDR("t", "T") "msgid \"a\"\nmsgstr \"b\\\"\n", I18N_E_SYNTAX,
                 "t.po:8: unterminated string (a string ends with \" on the same line)");
    expect_error(HDR("t", "T") "msgid \"a\"\nmsgstr \"b\\", I18N_E_SYNTAX,
                 "t.po:8: unterminated string (a string ends with \" on the same line)");
    expect_error(HDR("t", "T") "msgid \"a\"\nmsgstr \"\\x41\"\n", I18N_E_SYNTAX,
                 "t.po:8: unknown escape \\x in a string (write \\\\ for a backslash)");
    expect_error(HDR("t", "T") "msgid \"a\"\nmsgstr \"\\\xc3\xa9\"\n", I18N_E_SYNTAX,
                 "t.po:8: unknown escape in a string (write \\\\ for a backslash)");
    expect_error(HDR("t", "T") "msgid \"a\"\nmsgstr \"b\"\nmsgstr \"c\"\n", I18N_E_SYNTAX,
                 "t.po:9: msgstr twice");
    expect_error(HDR("t", "T") "msgctxt \"k\"\n\n# x\n", I18N_E_SYNTAX,
                 "t.po:7: msgctxt without msgid");
    expect_error(HDR("t", "T") "msgid \"a\"\nmsgstr \"b\"\n\"c\" x\n", I18N_E_SYNTAX,
                 "t.po:9: text after the closing quote");
    expect_error("\"c\"\n" HDR("t", "T"), I18N_E_SYNTAX,
                 "t.po:1: a string with no msgid, msgstr or msgctxt before it");
    expect_error(HDR("t", "T") "msgid \"a\"\nmsgtsr \"b\"\n", I18N_E_SYNTAX,
                 "t.po:8: unknown keyword \"msgtsr\" (lines start with msgid, msgstr, msgctxt, # "
                 "or \")");
    expect_error(HDR("t", "T") "msgid\"a\"\n", I18N_E_SYNTAX,
                 "t.po:7: msgid needs a quoted string after it");
    expect_error(HDR("t", "T") "msgid a\n", I18N_E_SYNTAX,
                 "t.po:7: msgid needs a quoted string after it");
    expect_error(HDR("t", "T") "msgid \"a\"\nmsgstr \"b\x01\"\n", I18N_E_SYNTAX,
                 "t.po:8: control character 0x01 in the file (only tabs are allowed)");
    expect_error(HDR("t", "T") "msgid \"a\"\nmsgid_plural \"as\"\nmsgstr \"b\"\n", I18N_E_SYNTAX,
                 "t.po:9: a message with msgid_plural takes msgstr[0], not msgstr");
    expect_error(HDR("t", "T") "msgid \"a\"\nmsgid_plural \"as\"\nmsgstr[1] \"b\"\n", I18N_E_SYNTAX,
                 "t.po:9: msgstr[1] out of order (expected msgstr[0])");
    expect_error(HDR("t", "T") "msgid \"a\"\nmsgstr[0] \"b\"\n", I18N_E_SYNTAX,
                 "t.po:8: msgstr[0] without msgid_plural (write msgstr)");
    expect_error(HDR("t", "T") "msgid \"a\"\nmsgstr[x] \"b\"\n", I18N_E_SYNTAX,
                 "t.po:8: bad index after msgstr (write msgstr[0])");
    expect_error("msgid_plural \"a\"\n", I18N_E_SYNTAX, "t.po:1: msgid_plural without msgid");
    expect_error(HDR("t", "T") "msgid \"a\"\nmsgstr \"b\"\nmsgid_plural \"as\"\n", I18N_E_SYNTAX,
                 "t.po:9: msgid_plural after msgstr (it goes between msgid and msgstr[0])");
    expect_error(HDR("t", "T") "msgid \"a\"\nmsgid_plural \"as\"\nmsgid_plural \"as\"\n",
                 I18N_E_SYNTAX, "t.po:9: msgid_plural twice");
    expect_error(HDR("t", "T") "msgid \"a\"\nmsgstr \"b\"\n\nmsgid \"a\"\nmsgstr \"c\"\n",
                 I18N_E_SYNTAX, "t.po:10: this msgid is also on line 7: keep one of them");
    expect_error(HDR("t", "T") HDR("t", "T"), I18N_E_SYNTAX,
                 "t.po:7: a second header (msgid \"\"): keep one");
}

TEST(test_i18n_refuses_a_nul_byte)
{
    const char text[] = HDR("t", "T") "msgid \"a\"\nmsgstr \"b\0c\"\n";
    struct i18n *s;
    char err[256];
    ASSERT_EQ(i18n_new(&s), I18N_OK);
    ASSERT_EQ(i18n_add_po(s, "t.po", NULL, text, sizeof text - 1, err, sizeof err), I18N_E_SYNTAX);
    ASSERT_STR_EQ(err, "t.po:8: control character 0x00 in the file (only tabs are allowed)");
    i18n_free(s);
}

TEST(test_i18n_checks_the_header_fields)
{
    expect_error("msgid \"\"\nmsgstr \"X-Homthu-Name: T\\n\"\n", I18N_E_HEADER,
                 "t.po:1: the header has no Language field: add \"Language: CODE\\n\"");
    expect_error("msgid \"\"\nmsgstr \"Language: t\\n\"\n", I18N_E_HEADER,
                 "t.po:1: the header has no X-Homthu-Name field: add the language's own name, "
                 "like \"X-Homthu-Name: Tiếng Việt\\n\"");
    expect_error("msgid \"\"\nmsgstr \"\"\n\"Language: t\\n\"\n\"X-Homthu-Name: T\\n\"\n"
                 "\"X-Homthu-Keyboard: qwerty\\n\"\n",
                 I18N_E_HEADER,
                 "t.po:5: X-Homthu-Keyboard is \"qwerty\": write telex, rpa or plain");
    expect_error("msgid \"\"\nmsgstr \"\"\n\"Language: t\\n\"\n\"X-Homthu-Name: T\\n\"\n"
                 "\"X-Homthu-Order: first\\n\"\n",
                 I18N_E_HEADER,
                 "t.po:5: X-Homthu-Order is \"first\": write a number from 0 to 999");
    expect_error("msgid \"\"\nmsgstr \"\"\n\"Language: t\\n\"\n\"X-Homthu-Name: T\\n\"\n"
                 "\"X-Homthu-Keybaord: rpa\\n\"\n",
                 I18N_E_HEADER,
                 "t.po:5: unknown header field X-Homthu-Keybaord (known: X-Homthu-Name, "
                 "X-Homthu-Keyboard, X-Homthu-Order)");
    expect_error("msgid \"\"\nmsgstr \"\"\n\"Language: t\\n\"\n\"X-Homthu-Name: T\\n\"\n"
                 "\"X-Homthu-Name: U\\n\"\n",
                 I18N_E_HEADER, "t.po:5: X-Homthu-Name is given twice: keep one");
    expect_error("msgid \"\"\nmsgstr \"\"\n\"Language: vi_VN.UTF-8\\n\"\n", I18N_E_HEADER,
                 "t.po:3: Language \"vi_VN.UTF-8\" is not a language code (1-8 letters, digits, "
                 "- or _, like vi or hmn)");
    expect_error("msgid \"\"\nmsgstr \"\"\n\"Content-Type: text/plain; charset=CHARSET\\n\"\n",
                 I18N_E_HEADER,
                 "t.po:3: the catalog says charset=CHARSET: save it as UTF-8 and write "
                 "\"Content-Type: text/plain; charset=UTF-8\"");
    expect_error("msgid \"\"\nmsgstr \"Language: t\\nX-Homthu-Name: "
                 "0123456789012345678901234567890123456789012345678\\n\"\n",
                 I18N_E_HEADER,
                 "t.po:2: X-Homthu-Name must be 1 to 47 bytes (the language's own name, like "
                 "Tiếng Việt)");

    /* The directory's name and Language must agree. */
    const char *assets = put_catalog("hmn", HDR("hnj", "Moob Leeg"));
    struct i18n *s;
    char err[1024] = "", want[1024];
    ASSERT_EQ(i18n_load_dir(&s, assets, err, sizeof err), I18N_E_HEADER);
    snprintf(want, sizeof want,
             "%s/lang/hmn/messages.po:3: Language is \"hnj\" but the directory is \"hmn\": make "
             "them the same",
             assets);
    ASSERT_STR_EQ(err, want);
    ASSERT_EQ(i18n_count(s), 0);
    i18n_free(s);
}

TEST(test_i18n_refuses_percent_codes_the_ui_cannot_print)
{
    expect_error(HDR("t", "T") "#, c-format\nmsgid \"%d s left\"\nmsgstr \"%s giây\"\n",
                 I18N_E_SYNTAX,
                 "t.po:9: msgstr must have the same % codes as its msgid, in the same order (%d "
                 "stays %d; write %% for a percent sign)");
    /* Without the flag too: a msgid with % goes through printf. */
    expect_error(HDR("t", "T") "msgid \"%d s left\"\nmsgstr \"giây\"\n", I18N_E_SYNTAX,
                 "t.po:8: msgstr must have the same % codes as its msgid, in the same order (%d "
                 "stays %d; write %% for a percent sign)");
    expect_error(HDR("t", "T") "msgid \"%d s left\"\nmsgstr \"%d%n\"\n", I18N_E_SYNTAX,
                 "t.po:8: msgstr must have the same % codes as its msgid, in the same order (%d "
                 "stays %d; write %% for a percent sign)");
    char err[256];
    int rc;
    struct i18n *s =
        parse(HDR("t", "T") "msgid \"%d s left\"\nmsgstr \"%%: %2d giây\"\n", err, sizeof err, &rc);
    ASSERT(s);
    ASSERT_STR_EQ(i18n_get(s, "t", "%d s left"), "%%: %2d giây");
    i18n_free(s);
}

TEST(test_i18n_caps_file_size_and_messages)
{
    /* 1 MiB + 1 byte, on disk and in memory. */
    size_t big = I18N_MAX_FILE + 1;
    char *text = malloc(big + 1);
    ASSERT(text);
    memset(text, '#', big);
    text[big] = 0;
    const char *assets = put_catalog("big", text);
    struct i18n *s;
    char err[1024] = "", want[1024];
    ASSERT_EQ(i18n_load_dir(&s, assets, err, sizeof err), I18N_E_TOOBIG);
    snprintf(want, sizeof want,
             "%s/lang/big/messages.po: larger than 1 MiB (a catalog is a few kilobytes: is this "
             "the right file?)",
             assets);
    ASSERT_STR_EQ(err, want);
    ASSERT_EQ(i18n_add_po(s, "t.po", NULL, text, big, err, sizeof err), I18N_E_TOOBIG);
    i18n_free(s);

    /* 4097 messages. */
    size_t n = 0;
    n += (size_t)snprintf(text + n, big - n, "%s", HDR("t", "T"));
    for (int i = 0; i <= I18N_MAX_ENTRIES; i++)
        n += (size_t)snprintf(text + n, big - n, "msgid \"m%d\"\nmsgstr \"x\"\n", i);
    expect_error(text, I18N_E_TOOBIG, "t.po:8199: more than 4096 messages");
    free(text);
}

TEST(test_i18n_without_catalogs_still_answers)
{
    struct i18n *s;
    char err[1024] = "", want[1024];
    const char *assets = check_path("nothing");
    ASSERT_EQ(i18n_load_dir(&s, assets, err, sizeof err), I18N_E_IO);
    snprintf(want, sizeof want,
             "%s/lang: cannot open: No such file or directory (the kiosk's assets are "
             "incomplete: reinstall them)",
             assets);
    ASSERT_STR_EQ(err, want);
    ASSERT(s);
    ASSERT_EQ(i18n_count(s), 0);
    ASSERT_STR_EQ(i18n_get(s, "vi", "Send"), "Send");
    i18n_free(s);
    ASSERT_EQ(i18n_load_dir(NULL, assets, err, sizeof err), I18N_E_ARG);
}
