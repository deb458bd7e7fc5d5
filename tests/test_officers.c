/*
 * Tests for src/station/officers: the post station's people in station.db
 * — first start, logins, lockouts and their end, the last commander kept,
 * seen marks and assignments, and station.db damaged or foreign. Time is
 * passed in (`now`), never slept.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <sqlite3.h>

#include "check.h"
#include "station/officers.h"

#define T0 1767225600 /* 2026-01-01 00:00 UTC */
#define PW "correct horse battery"
#define PW2 "another good password"

static struct officers *open_store(void)
{
    /* The cheapest Argon2 limits: these tests are about rules, not hash strength. */
    setenv("HOMTHU_PWHASH", "min", 1);
    struct officers *o = NULL;
    char err[512] = "";
    if (officers_open(&o, check_path(STATION_DB_NAME), err, sizeof err))
        check_fail(__FILE__, __LINE__, "officers_open: %s", err);
    return o;
}

static struct officers *with_commander(void)
{
    struct officers *o = open_store();
    char err[512] = "";
    if (officers_add(o, "minh", OFFICER_COMMANDER, PW, T0, err, sizeof err))
        check_fail(__FILE__, __LINE__, "officers_add: %s", err);
    return o;
}

TEST(test_officers_first_start_then_login)
{
    struct officers *o = open_store();
    char err[512] = "";
    int n = -1;
    ASSERT_EQ(officers_count(o, &n, err, sizeof err), 0);
    ASSERT_EQ(n, 0); /* the station asks for the setup code */
    ASSERT_EQ(officers_add(o, "Minh", OFFICER_COMMANDER, PW, T0, err, sizeof err), 0);
    ASSERT_EQ(officers_count(o, &n, err, sizeof err), 0);
    ASSERT_EQ(n, 1);

    struct officer me;
    int64_t retry = -1;
    ASSERT_EQ(officers_login(o, "minh", PW, T0 + 10, &me, &retry, err, sizeof err), 0);
    ASSERT_STR_EQ(me.name, "minh"); /* "Minh" was made as "minh" */
    ASSERT_EQ(me.role, OFFICER_COMMANDER);
    ASSERT_EQ(me.last_login, T0 + 10);
    ASSERT_EQ(retry, 0);
    /* Typed with a capital at login too. */
    ASSERT_EQ(officers_login(o, "MINH", PW, T0 + 20, &me, NULL, err, sizeof err), 0);
    officers_close(o);

    /* On disk, readable only by the station's user. */
    struct stat st;
    ASSERT_EQ(stat(check_path(STATION_DB_NAME), &st), 0);
    ASSERT_EQ(st.st_mode & 077, 0);
    o = open_store();
    ASSERT_EQ(officers_get(o, "minh", &me, err, sizeof err), 0);
    ASSERT_EQ(me.last_login, T0 + 20);
    ASSERT_EQ(me.created, T0);
    officers_close(o);
}

TEST(test_officers_names_and_passwords_are_checked)
{
    struct officers *o = with_commander();
    char err[512] = "";
    ASSERT_EQ(officers_add(o, "MINH", OFFICER_OFFICER, PW2, T0, err, sizeof err),
              OFFICERS_E_EXISTS);
    ASSERT_EQ(officers_add(o, "le van a", OFFICER_OFFICER, PW2, T0, err, sizeof err),
              OFFICERS_E_NAME);
    ASSERT_CONTAINS(err, "without spaces");
    ASSERT_EQ(officers_add(o, "../etc", OFFICER_OFFICER, PW2, T0, err, sizeof err),
              OFFICERS_E_NAME);
    ASSERT_EQ(officers_add(o, "ngọc", OFFICER_OFFICER, PW2, T0, err, sizeof err), OFFICERS_E_NAME);
    ASSERT_EQ(officers_add(o, "", OFFICER_OFFICER, PW2, T0, err, sizeof err), OFFICERS_E_NAME);
    ASSERT_EQ(officers_add(o, "abcdefghijabcdefghijabcdefghijabc", OFFICER_OFFICER, PW2, T0, err,
                           sizeof err),
              OFFICERS_E_NAME); /* 33 letters */
    ASSERT_EQ(officers_add(o, "lan", OFFICER_OFFICER, "short9byt", T0, err, sizeof err),
              OFFICERS_E_WEAK_PASSWORD);
    ASSERT_CONTAINS(err, "at least 10");
    ASSERT_EQ(officers_add(o, "lan.tran_2", OFFICER_OFFICER, "LAN.TRAN_2", T0, err, sizeof err),
              OFFICERS_E_WEAK_PASSWORD);
    ASSERT_EQ(officers_add(o, "lan", 7, PW2, T0, err, sizeof err), OFFICERS_E_ROLE);
    ASSERT_EQ(officers_add(o, "lan.tran_2", OFFICER_OFFICER, "exactly10b", T0, err, sizeof err), 0);
    int n = 0;
    ASSERT_EQ(officers_count(o, &n, err, sizeof err), 0);
    ASSERT_EQ(n, 2);

    ASSERT_STR_EQ(officer_role_name(OFFICER_TECHNICIAN), "technician");
    ASSERT_EQ(officer_role_parse("officer"), OFFICER_OFFICER);
    ASSERT_EQ(officer_role_parse("admin"), -1);
    officers_close(o);
}

TEST(test_officers_unknown_name_and_wrong_password_look_the_same)
{
    /* Real Argon2 work here, so that the time an answer takes can be compared. */
    struct officers *o = with_commander();
    officers_close(o);
    setenv("HOMTHU_PWHASH", "interactive", 1);
    char err[512] = "", err2[512] = "";
    ASSERT_EQ(officers_open(&o, check_path(STATION_DB_NAME), err, sizeof err), 0);
    ASSERT_EQ(officers_set_password(o, "minh", PW, T0, err, sizeof err), 0);

    /* The quickest of three of each, so a busy machine does not decide it. */
    double t_wrong = 1e9, t_unknown = 1e9;
    for (int i = 0; i < 3; i++) {
        struct timespec a, b, c;
        clock_gettime(CLOCK_MONOTONIC, &a);
        int wrong = officers_login(o, "minh", "not the password", T0, NULL, NULL, err, sizeof err);
        clock_gettime(CLOCK_MONOTONIC, &b);
        int unknown =
            officers_login(o, "nobody", "not the password", T0, NULL, NULL, err2, sizeof err2);
        clock_gettime(CLOCK_MONOTONIC, &c);
        ASSERT_EQ(wrong, OFFICERS_E_BAD_LOGIN);
        ASSERT_EQ(unknown, OFFICERS_E_BAD_LOGIN);
        ASSERT_STR_EQ(err, err2);
        double tw = (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9;
        double tu = (double)(c.tv_sec - b.tv_sec) + (double)(c.tv_nsec - b.tv_nsec) / 1e9;
        t_wrong = tw < t_wrong ? tw : t_wrong;
        t_unknown = tu < t_unknown ? tu : t_unknown;
    }
    /* Without the same hashing, an unknown name would answer in microseconds. */
    if (t_unknown < 0.5 * t_wrong)
        check_fail(__FILE__, __LINE__, "unknown name %.4f s, wrong password %.4f s", t_unknown,
                   t_wrong);
    /* A name no officer could have also answers bad_login, not a hint about the rule. */
    ASSERT_EQ(officers_login(o, "no such/name", "x", T0, NULL, NULL, err, sizeof err),
              OFFICERS_E_BAD_LOGIN);
    officers_close(o);
}

TEST(test_officers_lockout_after_five_wrong_passwords_and_its_end)
{
    struct officers *o = with_commander();
    char err[512] = "";
    int64_t retry = 0;
    for (int i = 0; i < OFFICERS_MAX_FAILURES - 1; i++)
        ASSERT_EQ(
            officers_login(o, "minh", "wrong password", T0 + i, NULL, &retry, err, sizeof err),
            OFFICERS_E_BAD_LOGIN);
    ASSERT_EQ(officers_login(o, "minh", "wrong password", T0 + 10, NULL, &retry, err, sizeof err),
              OFFICERS_E_LOCKED_OUT);
    ASSERT_EQ(retry, 15 * 60);
    ASSERT_CONTAINS(err, "15 minutes");
    /* Locked: even the right password is refused, and the answer says how long to wait. */
    ASSERT_EQ(officers_login(o, "minh", PW, T0 + 70, NULL, &retry, err, sizeof err),
              OFFICERS_E_LOCKED_OUT);
    ASSERT_EQ(retry, 15 * 60 - 60);
    struct officer me;
    ASSERT_EQ(officers_get(o, "minh", &me, err, sizeof err), 0);
    ASSERT_EQ(me.locked_until, T0 + 10 + 15 * 60);
    /* A restart does not lift it. */
    officers_close(o);
    o = open_store();
    ASSERT_EQ(officers_login(o, "minh", PW, T0 + 100, NULL, &retry, err, sizeof err),
              OFFICERS_E_LOCKED_OUT);
    /* Once the time has passed, the right password works. */
    ASSERT_EQ(officers_login(o, "minh", PW, T0 + 10 + 15 * 60, &me, &retry, err, sizeof err), 0);
    ASSERT_EQ(me.failures, 0);
    officers_close(o);
}

TEST(test_officers_each_further_lock_is_longer_up_to_a_day)
{
    struct officers *o = with_commander();
    char err[512] = "";
    int64_t now = T0, retry = 0;
    int64_t want[] = {900, 1800, 3600, 7200, 14400, 28800, 57600, 86400, 86400};
    for (size_t k = 0; k < sizeof want / sizeof want[0]; k++) {
        int rc = 0;
        for (int i = 0; i < OFFICERS_MAX_FAILURES; i++)
            rc = officers_login(o, "minh", "wrong password", now, NULL, &retry, err, sizeof err);
        ASSERT_EQ(rc, OFFICERS_E_LOCKED_OUT);
        ASSERT_EQ(retry, want[k]);
        now += retry;
    }
    /* A good login starts over at 15 minutes. */
    ASSERT_EQ(officers_login(o, "minh", PW, now, NULL, NULL, err, sizeof err), 0);
    int rc = 0;
    for (int i = 0; i < OFFICERS_MAX_FAILURES; i++)
        rc = officers_login(o, "minh", "wrong password", now, NULL, &retry, err, sizeof err);
    ASSERT_EQ(rc, OFFICERS_E_LOCKED_OUT);
    ASSERT_EQ(retry, 900);
    /* The commander setting a new password lifts the lock at once. */
    ASSERT_EQ(officers_set_password(o, "minh", PW2, now, err, sizeof err), 0);
    ASSERT_EQ(officers_login(o, "minh", PW2, now + 1, NULL, NULL, err, sizeof err), 0);
    ASSERT_EQ(officers_login(o, "minh", PW, now + 2, NULL, NULL, err, sizeof err),
              OFFICERS_E_BAD_LOGIN); /* the old one no longer works */
    officers_close(o);
}

TEST(test_officers_good_login_clears_the_count)
{
    struct officers *o = with_commander();
    char err[512] = "";
    for (int round = 0; round < 3; round++) {
        for (int i = 0; i < OFFICERS_MAX_FAILURES - 1; i++)
            ASSERT_EQ(officers_login(o, "minh", "wrong password", T0, NULL, NULL, err, sizeof err),
                      OFFICERS_E_BAD_LOGIN);
        ASSERT_EQ(officers_login(o, "minh", PW, T0, NULL, NULL, err, sizeof err), 0);
    }
    officers_close(o);
}

TEST(test_officers_disabled_cannot_log_in)
{
    struct officers *o = with_commander();
    char err[512] = "";
    ASSERT_EQ(officers_add(o, "lan", OFFICER_OFFICER, PW2, T0, err, sizeof err), 0);
    ASSERT_EQ(officers_disable(o, "lan", err, sizeof err), 0);
    ASSERT_EQ(officers_login(o, "lan", PW2, T0, NULL, NULL, err, sizeof err), OFFICERS_E_DISABLED);
    ASSERT_CONTAINS(err, "disabled");
    /* A stranger guessing learns nothing more than for any wrong password. */
    ASSERT_EQ(officers_login(o, "lan", "wrong password", T0, NULL, NULL, err, sizeof err),
              OFFICERS_E_BAD_LOGIN);
    struct officer of;
    ASSERT_EQ(officers_get(o, "lan", &of, err, sizeof err), 0);
    ASSERT_EQ(of.disabled, 1);
    ASSERT_EQ(officers_enable(o, "lan", err, sizeof err), 0);
    ASSERT_EQ(officers_login(o, "lan", PW2, T0, NULL, NULL, err, sizeof err), 0);
    ASSERT_EQ(officers_disable(o, "nobody", err, sizeof err), OFFICERS_E_NOTFOUND);
    officers_close(o);
}

TEST(test_officers_last_commander_is_kept)
{
    struct officers *o = with_commander();
    char err[512] = "";
    ASSERT_EQ(officers_disable(o, "minh", err, sizeof err), OFFICERS_E_LAST_COMMANDER);
    ASSERT_CONTAINS(err, "only commander");
    ASSERT_EQ(officers_set_role(o, "minh", OFFICER_OFFICER, err, sizeof err),
              OFFICERS_E_LAST_COMMANDER);
    ASSERT_EQ(officers_login(o, "minh", PW, T0, NULL, NULL, err, sizeof err), 0);

    /* A second commander, disabled, does not count. */
    ASSERT_EQ(officers_add(o, "hoa", OFFICER_COMMANDER, PW2, T0, err, sizeof err), 0);
    ASSERT_EQ(officers_disable(o, "hoa", err, sizeof err), 0);
    ASSERT_EQ(officers_disable(o, "minh", err, sizeof err), OFFICERS_E_LAST_COMMANDER);
    /* Enabled again, it does: minh can step down, then hoa is the last. */
    ASSERT_EQ(officers_enable(o, "hoa", err, sizeof err), 0);
    ASSERT_EQ(officers_set_role(o, "minh", OFFICER_OFFICER, err, sizeof err), 0);
    ASSERT_EQ(officers_disable(o, "hoa", err, sizeof err), OFFICERS_E_LAST_COMMANDER);
    struct officer of;
    ASSERT_EQ(officers_get(o, "minh", &of, err, sizeof err), 0);
    ASSERT_EQ(of.role, OFFICER_OFFICER);
    officers_close(o);
}

struct names {
    int n;
    char name[8][OFFICER_NAME_MAX + 1];
    int role[8];
};

static int collect(void *ctx, const struct officer *of)
{
    struct names *x = ctx;
    if (x->n < 8) {
        snprintf(x->name[x->n], sizeof x->name[0], "%s", of->name);
        x->role[x->n] = of->role;
    }
    x->n++;
    return 0;
}

TEST(test_officers_list_in_order_of_creation)
{
    struct officers *o = with_commander();
    char err[512] = "";
    ASSERT_EQ(officers_add(o, "lan", OFFICER_OFFICER, PW2, T0 + 5, err, sizeof err), 0);
    ASSERT_EQ(officers_add(o, "an", OFFICER_TECHNICIAN, PW2, T0 + 9, err, sizeof err), 0);
    struct names x = {0};
    ASSERT_EQ(officers_list(o, collect, &x, err, sizeof err), 0);
    ASSERT_EQ(x.n, 3);
    ASSERT_STR_EQ(x.name[0], "minh");
    ASSERT_STR_EQ(x.name[1], "lan");
    ASSERT_STR_EQ(x.name[2], "an");
    ASSERT_EQ(x.role[2], OFFICER_TECHNICIAN);
    officers_close(o);
}

TEST(test_officers_seen_marks_are_per_officer)
{
    struct officers *o = with_commander();
    char err[512] = "";
    ASSERT_EQ(officers_add(o, "lan", OFFICER_OFFICER, PW2, T0, err, sizeof err), 0);
    ASSERT_EQ(officers_mark_seen(o, "minh", 5, err, sizeof err), 0);
    ASSERT_EQ(officers_mark_seen(o, "minh", 7, err, sizeof err), 0);
    ASSERT_EQ(officers_mark_seen(o, "minh", 7, err, sizeof err), 0); /* twice is fine */
    int64_t page[] = {7, 6, 5};
    int seen[3] = {9, 9, 9};
    ASSERT_EQ(officers_seen(o, "minh", page, 3, seen, err, sizeof err), 0);
    ASSERT_EQ(seen[0], 1);
    ASSERT_EQ(seen[1], 0);
    ASSERT_EQ(seen[2], 1);
    ASSERT_EQ(officers_seen(o, "lan", page, 3, seen, err, sizeof err), 0);
    ASSERT_EQ(seen[0] + seen[1] + seen[2], 0); /* new to lan still */
    officers_close(o);
}

TEST(test_officers_tips_are_assigned_to_officers)
{
    struct officers *o = with_commander();
    char err[512] = "", who[OFFICER_NAME_MAX + 1] = "x";
    ASSERT_EQ(officers_add(o, "lan", OFFICER_OFFICER, PW2, T0, err, sizeof err), 0);
    ASSERT_EQ(officers_add(o, "an", OFFICER_TECHNICIAN, PW2, T0, err, sizeof err), 0);
    ASSERT_EQ(officers_assigned(o, 3, who, err, sizeof err), 0);
    ASSERT_STR_EQ(who, "");
    ASSERT_EQ(officers_assign(o, 3, "Lan", T0, err, sizeof err), 0);
    ASSERT_EQ(officers_assign(o, 3, "an", T0, err, sizeof err), OFFICERS_E_ROLE);
    ASSERT_CONTAINS(err, "technician");
    ASSERT_EQ(officers_assign(o, 3, "nobody", T0, err, sizeof err), OFFICERS_E_NOTFOUND);
    officers_close(o);
    o = open_store();
    ASSERT_EQ(officers_assigned(o, 3, who, err, sizeof err), 0);
    ASSERT_STR_EQ(who, "lan"); /* kept, and not changed by the refused ones */
    ASSERT_EQ(officers_assign(o, 3, "minh", T0, err, sizeof err), 0);
    ASSERT_EQ(officers_assigned(o, 3, who, err, sizeof err), 0);
    ASSERT_STR_EQ(who, "minh");
    ASSERT_EQ(officers_assign(o, 3, "", T0, err, sizeof err), 0);
    ASSERT_EQ(officers_assigned(o, 3, who, err, sizeof err), 0);
    ASSERT_STR_EQ(who, "");
    ASSERT_EQ(officers_disable(o, "lan", err, sizeof err), 0);
    ASSERT_EQ(officers_assign(o, 4, "lan", T0, err, sizeof err), OFFICERS_E_DISABLED);
    officers_close(o);
}

TEST(test_officers_damaged_station_db_is_a_clear_error)
{
    setenv("HOMTHU_PWHASH", "min", 1);
    char err[512] = "";
    struct officers *o = (struct officers *)1;
    /* Garbage where station.db should be. */
    char junk[8192];
    for (size_t i = 0; i < sizeof junk; i++)
        junk[i] = (char)(i * 7 + 3);
    check_write_file(check_path(STATION_DB_NAME), junk, sizeof junk);
    ASSERT_EQ(officers_open(&o, check_path(STATION_DB_NAME), err, sizeof err), OFFICERS_E_IO);
    ASSERT(o == NULL);
    ASSERT_CONTAINS(err, STATION_DB_NAME);
    ASSERT_CONTAINS(err, "damaged");

    /* A real station.db whose pages were overwritten after the header. */
    remove(check_path(STATION_DB_NAME));
    o = with_commander();
    for (int i = 0; i < 20; i++) {
        char name[16];
        snprintf(name, sizeof name, "officer%d", i);
        ASSERT_EQ(officers_add(o, name, OFFICER_OFFICER, PW2, T0, err, sizeof err), 0);
    }
    officers_close(o);
    size_t len = 0;
    uint8_t *db = check_slurp(check_path(STATION_DB_NAME), &len);
    ASSERT(db && len > 4096);
    for (size_t i = 100; i < len; i++)
        db[i] = (uint8_t)(i * 13);
    check_write_file(check_path(STATION_DB_NAME), db, len);
    free(db);
    int rc = officers_open(&o, check_path(STATION_DB_NAME), err, sizeof err);
    if (rc == 0) {
        /* SQLite may only notice on reading: then the read says so. */
        int n;
        rc = officers_login(o, "minh", PW, T0, NULL, NULL, err, sizeof err);
        if (rc != OFFICERS_E_IO)
            rc = officers_count(o, &n, err, sizeof err);
        officers_close(o);
    }
    ASSERT_EQ(rc, OFFICERS_E_IO);
    ASSERT_CONTAINS(err, "damaged");
}

TEST(test_officers_foreign_or_newer_file_is_refused)
{
    setenv("HOMTHU_PWHASH", "min", 1);
    char err[512] = "";
    struct officers *o = NULL;
    /* Another program's SQLite file (a postbox.db given by mistake): left alone. */
    sqlite3 *db;
    ASSERT_EQ(sqlite3_open(check_path("other.db"), &db), SQLITE_OK);
    ASSERT_EQ(sqlite3_exec(db, "CREATE TABLE tip(seq INTEGER PRIMARY KEY)", NULL, NULL, NULL),
              SQLITE_OK);
    sqlite3_close(db);
    ASSERT_EQ(officers_open(&o, check_path("other.db"), err, sizeof err), OFFICERS_E_IO);
    ASSERT_CONTAINS(err, "not the station's database");
    ASSERT_EQ(sqlite3_open(check_path("other.db"), &db), SQLITE_OK);
    sqlite3_stmt *st;
    ASSERT_EQ(sqlite3_prepare_v2(db, "SELECT count(*) FROM sqlite_master", -1, &st, NULL),
              SQLITE_OK);
    ASSERT_EQ(sqlite3_step(st), SQLITE_ROW);
    ASSERT_EQ(sqlite3_column_int(st, 0), 1); /* nothing added to it */
    sqlite3_finalize(st);
    sqlite3_close(db);

    /* A station.db from a newer homthu-station. */
    o = with_commander();
    officers_close(o);
    ASSERT_EQ(sqlite3_open(check_path(STATION_DB_NAME), &db), SQLITE_OK);
    ASSERT_EQ(sqlite3_exec(db, "UPDATE station_part SET version = 99 WHERE name = 'officers'", NULL,
                           NULL, NULL),
              SQLITE_OK);
    sqlite3_close(db);
    ASSERT_EQ(officers_open(&o, check_path(STATION_DB_NAME), err, sizeof err), OFFICERS_E_SCHEMA);
    ASSERT_CONTAINS(err, "newer homthu-station");
}
