/*
 * Tests for src/station/sessions: cookies that end when they should (idle,
 * logout, an officer disabled), the CSRF check, the cap on sessions, and
 * the login limit per client address. Time is passed in, never slept.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "station/sessions.h"

#define T0 1767225600 /* 2026-01-01 00:00 UTC */
#define IDLE (15 * 60)

struct login {
    char token[SESSIONS_TOKEN_CHARS + 1];
    char csrf[SESSIONS_CSRF_CHARS + 1];
};

static struct login login(struct sessions *s, const char *name, int role, int64_t now)
{
    struct login l;
    memset(&l, 0, sizeof l);
    ASSERT_EQ(sessions_create(s, name, role, now, l.token, l.csrf), 0);
    return l;
}

TEST(test_sessions_cookie_gives_back_the_officer)
{
    struct sessions *s = sessions_new(IDLE);
    ASSERT(s);
    struct login a = login(s, "minh", OFFICER_COMMANDER, T0);
    struct login b = login(s, "lan", OFFICER_OFFICER, T0);
    ASSERT_EQ(strlen(a.token), SESSIONS_TOKEN_CHARS);
    ASSERT_EQ(strlen(a.csrf), SESSIONS_CSRF_CHARS);
    /* Safe in a cookie and a header as they are: base64url, no padding. */
    ASSERT_EQ(strspn(a.token, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"),
              SESSIONS_TOKEN_CHARS);
    ASSERT(strcmp(a.token, b.token) != 0);
    ASSERT(strcmp(a.token, a.csrf) != 0);

    struct session_view v;
    ASSERT_EQ(sessions_check(s, a.token, T0 + 5, &v), 0);
    ASSERT_STR_EQ(v.name, "minh");
    ASSERT_EQ(v.role, OFFICER_COMMANDER);
    ASSERT_STR_EQ(v.csrf, a.csrf); /* what /api/state gives the page again */
    ASSERT_EQ(sessions_check(s, b.token, T0 + 5, &v), 0);
    ASSERT_STR_EQ(v.name, "lan");

    /* A cookie one letter off, cut short, empty or missing is nobody. */
    char bad[SESSIONS_TOKEN_CHARS + 1];
    memcpy(bad, a.token, sizeof bad);
    bad[10] = bad[10] == 'A' ? 'B' : 'A';
    ASSERT_EQ(sessions_check(s, bad, T0 + 5, &v), SESSIONS_E_NOTFOUND);
    ASSERT_STR_EQ(v.name, "");
    bad[10] = a.token[10];
    bad[20] = 0;
    ASSERT_EQ(sessions_check(s, bad, T0 + 5, &v), SESSIONS_E_NOTFOUND);
    ASSERT_EQ(sessions_check(s, "", T0 + 5, &v), SESSIONS_E_NOTFOUND);
    ASSERT_EQ(sessions_check(s, NULL, T0 + 5, &v), SESSIONS_E_NOTFOUND);
    sessions_free(s);
}

TEST(test_sessions_end_when_idle)
{
    struct sessions *s = sessions_new(IDLE);
    struct login a = login(s, "minh", OFFICER_COMMANDER, T0);
    /* Each request keeps it going ... */
    int64_t now = T0;
    for (int i = 0; i < 4; i++) {
        now += IDLE - 1;
        ASSERT_EQ(sessions_check(s, a.token, now, NULL), 0);
    }
    ASSERT_EQ(sessions_count(s, now), 1);
    /* ... and 15 minutes without one ends it, for good. */
    now += IDLE;
    ASSERT_EQ(sessions_check(s, a.token, now, NULL), SESSIONS_E_EXPIRED);
    ASSERT_EQ(sessions_check(s, a.token, now, NULL), SESSIONS_E_NOTFOUND);
    ASSERT_EQ(sessions_count(s, now), 0);
    sessions_free(s);
}

TEST(test_sessions_logged_out_cookie_never_works_again)
{
    struct sessions *s = sessions_new(IDLE);
    struct login a = login(s, "minh", OFFICER_COMMANDER, T0);
    struct login phone = login(s, "minh", OFFICER_COMMANDER, T0);
    ASSERT_EQ(sessions_end(s, a.token), 0);
    ASSERT_EQ(sessions_check(s, a.token, T0 + 1, NULL), SESSIONS_E_NOTFOUND);
    ASSERT_EQ(sessions_check(s, a.token, T0 + 2, NULL), SESSIONS_E_NOTFOUND);
    ASSERT_EQ(sessions_end(s, a.token), SESSIONS_E_NOTFOUND);
    /* The same officer's other browser stays logged in. */
    ASSERT_EQ(sessions_check(s, phone.token, T0 + 2, NULL), 0);
    sessions_free(s);
}

TEST(test_sessions_disabled_officer_is_logged_out_everywhere)
{
    struct sessions *s = sessions_new(IDLE);
    struct login a = login(s, "lan", OFFICER_OFFICER, T0);
    struct login b = login(s, "lan", OFFICER_OFFICER, T0 + 1);
    struct login c = login(s, "minh", OFFICER_COMMANDER, T0 + 1);
    ASSERT_EQ(sessions_end_officer(s, "Lan"), 2);
    ASSERT_EQ(sessions_check(s, a.token, T0 + 2, NULL), SESSIONS_E_NOTFOUND);
    ASSERT_EQ(sessions_check(s, b.token, T0 + 2, NULL), SESSIONS_E_NOTFOUND);
    ASSERT_EQ(sessions_check(s, c.token, T0 + 2, NULL), 0);
    ASSERT_EQ(sessions_end_officer(s, "lan"), 0);
    sessions_free(s);
}

TEST(test_sessions_csrf_must_match_the_session)
{
    struct sessions *s = sessions_new(IDLE);
    struct login a = login(s, "minh", OFFICER_COMMANDER, T0);
    struct login b = login(s, "lan", OFFICER_OFFICER, T0);
    struct session_view v;
    ASSERT_EQ(sessions_check(s, a.token, T0, &v), 0);
    ASSERT_EQ(sessions_csrf_ok(&v, a.csrf), 1);
    ASSERT_EQ(sessions_csrf_ok(&v, b.csrf), 0); /* another session's token */
    ASSERT_EQ(sessions_csrf_ok(&v, a.token), 0);
    char near[SESSIONS_CSRF_CHARS + 1];
    memcpy(near, a.csrf, sizeof near);
    near[SESSIONS_CSRF_CHARS - 1] = near[SESSIONS_CSRF_CHARS - 1] == 'x' ? 'y' : 'x';
    ASSERT_EQ(sessions_csrf_ok(&v, near), 0);
    char longer[SESSIONS_CSRF_CHARS + 2];
    snprintf(longer, sizeof longer, "%sx", a.csrf);
    ASSERT_EQ(sessions_csrf_ok(&v, longer), 0);
    ASSERT_EQ(sessions_csrf_ok(&v, ""), 0);
    ASSERT_EQ(sessions_csrf_ok(&v, NULL), 0);
    /* A view of no session (a failed check) accepts nothing, not even "". */
    struct session_view none;
    ASSERT(sessions_check(s, "x", T0, &none) != 0);
    ASSERT_EQ(sessions_csrf_ok(&none, ""), 0);
    sessions_free(s);
}

TEST(test_sessions_table_is_capped_least_recent_goes)
{
    struct sessions *s = sessions_new(IDLE);
    static struct login all[SESSIONS_MAX];
    for (int i = 0; i < SESSIONS_MAX; i++)
        all[i] = login(s, "minh", OFFICER_COMMANDER, T0 + i);
    ASSERT_EQ(sessions_count(s, T0 + SESSIONS_MAX), SESSIONS_MAX);
    /* The first browser is still in use; the second one has been quiet longest. */
    ASSERT_EQ(sessions_check(s, all[0].token, T0 + SESSIONS_MAX, NULL), 0);
    struct login extra = login(s, "lan", OFFICER_OFFICER, T0 + SESSIONS_MAX + 1);
    ASSERT_EQ(sessions_count(s, T0 + SESSIONS_MAX + 1), SESSIONS_MAX);
    ASSERT_EQ(sessions_check(s, all[1].token, T0 + SESSIONS_MAX + 2, NULL), SESSIONS_E_NOTFOUND);
    ASSERT_EQ(sessions_check(s, all[0].token, T0 + SESSIONS_MAX + 2, NULL), 0);
    ASSERT_EQ(sessions_check(s, all[2].token, T0 + SESSIONS_MAX + 2, NULL), 0);
    ASSERT_EQ(sessions_check(s, extra.token, T0 + SESSIONS_MAX + 2, NULL), 0);
    sessions_free(s);
}

TEST(test_sessions_login_limit_per_address)
{
    struct sessions *s = sessions_new(IDLE);
    int64_t retry = -1, now = T0;
    const char *ip = "192.0.2.7";
    for (int i = 0; i < SESSIONS_LOGIN_FAILS - 1; i++) {
        ASSERT_EQ(sessions_login_allowed(s, ip, now, &retry), 1);
        sessions_login_failed(s, ip, now);
        now += 10;
    }
    ASSERT_EQ(sessions_login_allowed(s, ip, now, &retry), 1);
    sessions_login_failed(s, ip, now); /* the 10th in 10 minutes */
    ASSERT_EQ(sessions_login_allowed(s, ip, now, &retry), 0);
    ASSERT_EQ(retry, SESSIONS_LOGIN_WAIT);
    ASSERT_EQ(sessions_login_allowed(s, ip, now + 60, &retry), 0);
    ASSERT_EQ(retry, SESSIONS_LOGIN_WAIT - 60);
    /* Another machine at the post is not held up. */
    ASSERT_EQ(sessions_login_allowed(s, "192.0.2.8", now, &retry), 1);
    ASSERT_EQ(retry, 0);
    /* After the wait it may try again. */
    ASSERT_EQ(sessions_login_allowed(s, ip, now + SESSIONS_LOGIN_WAIT, &retry), 1);
    sessions_free(s);
}

TEST(test_sessions_login_limit_counts_only_recent_failures)
{
    struct sessions *s = sessions_new(IDLE);
    const char *ip = "2001:db8::1";
    int64_t now = T0;
    /* Nine mistakes, a long pause, nine more: an officer with cold fingers, not a guesser. */
    for (int round = 0; round < 2; round++) {
        for (int i = 0; i < SESSIONS_LOGIN_FAILS - 1; i++)
            sessions_login_failed(s, ip, now + i);
        now += SESSIONS_LOGIN_WINDOW + 60;
    }
    ASSERT_EQ(sessions_login_allowed(s, ip, now, NULL), 1);
    /* A good login starts the count again. */
    for (int i = 0; i < SESSIONS_LOGIN_FAILS - 1; i++)
        sessions_login_failed(s, ip, now);
    sessions_login_ok(s, ip);
    sessions_login_failed(s, ip, now);
    ASSERT_EQ(sessions_login_allowed(s, ip, now, NULL), 1);
    sessions_free(s);
}

TEST(test_sessions_login_limit_survives_a_flood_of_addresses)
{
    struct sessions *s = sessions_new(IDLE);
    const char *ip = "198.51.100.9";
    for (int i = 0; i < SESSIONS_LOGIN_FAILS; i++)
        sessions_login_failed(s, ip, T0);
    ASSERT_EQ(sessions_login_allowed(s, ip, T0, NULL), 0);
    /* More addresses than the table holds, each failing once: the waiting one is kept. */
    for (int i = 0; i < 3 * SESSIONS_ADDRS; i++) {
        char other[64];
        snprintf(other, sizeof other, "10.%d.%d.%d", i >> 16, (i >> 8) & 255, i & 255);
        sessions_login_failed(s, other, T0 + 1);
    }
    int64_t retry = 0;
    ASSERT_EQ(sessions_login_allowed(s, ip, T0 + 2, &retry), 0);
    ASSERT_EQ(retry, SESSIONS_LOGIN_WAIT - 2);
    sessions_free(s);
}
