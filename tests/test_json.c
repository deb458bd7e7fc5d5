/*
 * Tests for the station's JSON writer (src/station/json.c): what a tip's
 * text becomes in an answer the officers' page reads.
 */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "station/json.h"

static char *build_tip(const char *text, size_t n)
{
    struct json j;
    json_init(&j);
    json_obj(&j);
    json_kint(&j, "seq", 7);
    json_key(&j, "text");
    json_strn(&j, text, n);
    json_key(&j, "tags");
    json_arr(&j);
    json_str(&j, "a");
    json_num(&j, 12.25);
    json_bool(&j, 1);
    json_null(&j);
    json_end(&j);
    json_kbool(&j, "ok", 0);
    json_end(&j);
    size_t len = 0;
    char *out = json_take(&j, &len);
    ASSERT(out);
    ASSERT_EQ(len, strlen(out));
    return out;
}

TEST(test_json_tip_text_with_markup_stays_inert_text)
{
    const char *t = "<script>alert(1)</script> & \"quoted\" \\ \n\x01 \xe2\x80\xa8";
    char *out = build_tip(t, strlen(t));
    ASSERT_STR_EQ(out, "{\"seq\":7,\"text\":\"\\u003cscript\\u003ealert(1)\\u003c/script\\u003e "
                       "\\u0026 \\\"quoted\\\" \\\\ \\u000a\\u0001 \\u2028\","
                       "\"tags\":[\"a\",12.2,true,null],\"ok\":false}");
    json_free_buf(out);
}

TEST(test_json_keeps_vietnamese_and_replaces_broken_bytes)
{
    const char t[] = "người lạ \xff\xc3 \xed\xa0\x80 \xe2\x80\xae" "RTL";
    char *out = build_tip(t, sizeof t - 1);
    /* Valid UTF-8 as it is (the page isolates an RTL override), bad bytes as U+FFFD. */
    ASSERT_CONTAINS(out, "\"người lạ \\ufffd\\ufffd \\ufffd\\ufffd\\ufffd \xe2\x80\xaeRTL\"");
    json_free_buf(out);
}

TEST(test_json_an_unclosed_answer_is_refused)
{
    struct json j;
    json_init(&j);
    json_obj(&j);
    json_kstr(&j, "a", "b");
    ASSERT(json_take(&j, NULL) == NULL);
    json_init(&j);
    json_end(&j); /* closing what was never opened */
    ASSERT(json_take(&j, NULL) == NULL);
}

TEST(test_json_grows_past_its_first_buffer)
{
    struct json j;
    json_init(&j);
    json_arr(&j);
    for (int i = 0; i < 5000; i++)
        json_int(&j, i);
    json_end(&j);
    size_t len;
    char *out = json_take(&j, &len);
    ASSERT(out);
    ASSERT(strncmp(out, "[0,1,2,", 7) == 0);
    ASSERT(strcmp(out + len - 6, ",4999]") == 0);
    json_free_buf(out);
}
