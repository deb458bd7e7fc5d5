/*
 * Tests for the station's HTTP pieces that need no server
 * (src/station/http.c): the Range header the browser's audio player sends
 * to seek in a recording.
 */
#include <stdint.h>

#include "check.h"
#include "station/http.h"

static int range(const char *h, uint64_t size, uint64_t *a, uint64_t *b)
{
    *a = *b = 12345;
    return http_parse_range(h, size, a, b);
}

TEST(test_station_range_serves_what_the_player_asks_to_seek)
{
    uint64_t a, b;
    ASSERT_EQ(range("bytes=0-", 1000, &a, &b), 1); /* Chrome's first request */
    ASSERT_EQ(a, 0);
    ASSERT_EQ(b, 999);
    ASSERT_EQ(range("bytes=500-599", 1000, &a, &b), 1);
    ASSERT_EQ(a, 500);
    ASSERT_EQ(b, 599);
    ASSERT_EQ(range("bytes=900-5000", 1000, &a, &b), 1); /* past the end: up to the end */
    ASSERT_EQ(b, 999);
    ASSERT_EQ(range("bytes=-100", 1000, &a, &b), 1); /* the last 100: where Ogg says its length */
    ASSERT_EQ(a, 900);
    ASSERT_EQ(b, 999);
    ASSERT_EQ(range("bytes=-5000", 1000, &a, &b), 1);
    ASSERT_EQ(a, 0);
    ASSERT_EQ(range("bytes=0-1, 5-9", 1000, &a, &b), 1); /* several: the first is served */
    ASSERT_EQ(b, 1);
}

TEST(test_station_range_refuses_what_cannot_be_served)
{
    uint64_t a, b;
    ASSERT_EQ(range("bytes=1000-", 1000, &a, &b), -1); /* starts past the end: 416 */
    ASSERT_EQ(range("bytes=5-4", 1000, &a, &b), -1);
    ASSERT_EQ(range("bytes=-0", 1000, &a, &b), -1);
    ASSERT_EQ(range("bytes=x-", 1000, &a, &b), -1);
    ASSERT_EQ(range("bytes=99999999999999999999999-", 1000, &a, &b), -1); /* overflow */
    ASSERT_EQ(range("bytes=0-", 0, &a, &b), -1);                         /* nothing to serve */
    /* No Range, or another unit: the whole recording, the caller's bounds untouched. */
    ASSERT_EQ(range(NULL, 1000, &a, &b), 0);
    ASSERT_EQ(range("items=0-5", 1000, &a, &b), 0);
    ASSERT_EQ(a, 12345);
}
