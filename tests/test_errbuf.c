/*
 * Tests for src/core/errbuf.c: the err-buffer sentence and the hex spelling that
 * every module now shares, so a slip here shows in every message.
 */
#include "check.h"
#include "core/errbuf.h"

TEST(test_errbuf_say_writes_the_sentence_and_returns_the_code)
{
    char err[64] = "";
    ASSERT_EQ(errbuf_say(err, sizeof err, -7, "queue %s: %d left", "full", 3), -7);
    ASSERT_STR_EQ(err, "queue full: 3 left");
}

TEST(test_errbuf_say_without_a_buffer_only_returns_the_code)
{
    ASSERT_EQ(errbuf_say(NULL, 100, -3, "nobody reads %s", "this"), -3);
    char err[8] = "kept";
    ASSERT_EQ(errbuf_say(err, 0, 0, "%s", "not written"), 0);
    ASSERT_STR_EQ(err, "kept");
}

TEST(test_errbuf_say_cuts_a_long_sentence_and_ends_it)
{
    char err[8];
    memset(err, 'x', sizeof err);
    errbuf_say(err, sizeof err, 1, "%s", "a sentence longer than eight bytes");
    ASSERT_STR_EQ(err, "a sente");
}

TEST(test_errbuf_hex_spells_bytes_in_lowercase)
{
    const uint8_t b[] = {0x00, 0x0f, 0xa5, 0xff, 0x10};
    char out[2 * sizeof b + 1];
    memset(out, 'x', sizeof out);
    errbuf_hex(out, b, sizeof b);
    ASSERT_STR_EQ(out, "000fa5ff10");
    errbuf_hex(out, b, 2); /* a prefix, as short tip ids are */
    ASSERT_STR_EQ(out, "000f");
    errbuf_hex(out, b, 0);
    ASSERT_STR_EQ(out, "");
}
