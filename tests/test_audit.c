/*
 * Tests for src/station/audit: rows sealed to the post (a copied
 * station.db shows no names, words or tip ids), readable newest first only
 * after the post key is unlocked, and a chain that notices a row deleted,
 * changed or cut off the end. The post's folder is real (keys, registry,
 * console), made the way tests/test_console.c makes it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <sodium.h>
#include <sqlite3.h>

#include "check.h"
#include "core/keys.h"
#include "core/registry.h"
#include "post/console.h"
#include "station/audit.h"

#define T0 1767225600 /* 2026-01-01 00:00 UTC */
#define PASS "a long passphrase"
#define TIP "0123456789abcdef0123456789abcdef"

struct fx {
    char post[4096];
    char db[4200];
    struct console *c;
    struct audit *a;
};

static void fx_init(struct fx *f)
{
    memset(f, 0, sizeof *f);
    ASSERT(sodium_init() >= 0);
    char err[512] = "";
    snprintf(f->post, sizeof f->post, "%s", check_path("post"));
    ASSERT_EQ(mkdir(f->post, 0700), 0);
    char pub[4200], key[4200], reg_path[4200];
    snprintf(pub, sizeof pub, "%s/post.pub", f->post);
    snprintf(key, sizeof key, "%s/post.key", f->post);
    snprintf(reg_path, sizeof reg_path, "%s/" REGISTRY_DB_NAME, f->post);
    snprintf(f->db, sizeof f->db, "%s/" STATION_DB_NAME, f->post);
    unsigned long long ops;
    size_t mem;
    ASSERT_EQ(keys_pwhash_limits("min", &ops, &mem), 0);
    struct envelope_post_key *k = NULL;
    ASSERT_EQ(keys_post_generate(&k, err, sizeof err), 0);
    ASSERT_EQ(keys_post_save(k, pub, key, PASS, ops, mem, err, sizeof err), 0);
    keys_post_free(k);
    struct registry *reg = NULL;
    ASSERT_EQ(registry_open(&reg, reg_path, 1, err, sizeof err), 0);
    registry_close(reg);
    if (console_open(&f->c, f->post, err, sizeof err))
        check_fail(__FILE__, __LINE__, "console_open: %s", err);
    if (audit_open(&f->a, f->db, err, sizeof err))
        check_fail(__FILE__, __LINE__, "audit_open: %s", err);
}

static void fx_unlock(struct fx *f)
{
    char err[512] = "";
    if (console_unlock(f->c, PASS, err, sizeof err))
        check_fail(__FILE__, __LINE__, "console_unlock: %s", err);
}

static void fx_done(struct fx *f)
{
    audit_close(f->a);
    console_close(f->c);
}

static void add(struct fx *f, int64_t at, const char *officer, const char *action, const char *tip,
                const char *detail)
{
    char err[512] = "";
    if (audit_add(f->a, f->c, at, officer, action, tip, detail, err, sizeof err))
        check_fail(__FILE__, __LINE__, "audit_add: %s", err);
}

struct rows {
    int n;
    struct audit_entry e[16];
};

static int collect(void *ctx, const struct audit_entry *e)
{
    struct rows *r = ctx;
    if (r->n < 16)
        r->e[r->n] = *e;
    r->n++;
    return 0;
}

/* Read a page; returns `intact`. */
static int read_page(struct fx *f, int64_t before, int limit, struct rows *r)
{
    char err[512] = "";
    memset(r, 0, sizeof *r);
    int intact = -1;
    if (audit_read(f->a, f->c, before, limit, collect, r, &intact, err, sizeof err))
        check_fail(__FILE__, __LINE__, "audit_read: %s", err);
    ASSERT(intact == 0 || intact == 1);
    return intact;
}

static int file_has(const char *path, const char *needle)
{
    size_t len = 0;
    uint8_t *b = check_slurp(path, &len);
    if (!b)
        return 0;
    size_t n = strlen(needle);
    int hit = 0;
    for (size_t i = 0; !hit && i + n <= len; i++)
        hit = memcmp(b + i, needle, n) == 0;
    free(b);
    return hit;
}

static void sql(struct fx *f, const char *q)
{
    sqlite3 *db;
    ASSERT_EQ(sqlite3_open(f->db, &db), SQLITE_OK);
    if (sqlite3_exec(db, q, NULL, NULL, NULL) != SQLITE_OK)
        check_fail(__FILE__, __LINE__, "%s: %s", q, sqlite3_errmsg(db));
    sqlite3_close(db);
}

TEST(test_audit_rows_are_sealed_on_disk)
{
    struct fx f;
    fx_init(&f);
    /* Locked: recording needs only post.pub. */
    ASSERT_EQ(console_unlocked(f.c), 0);
    add(&f, T0, "nguyenvanminh", "open", TIP, "listened twice, exported recording");
    add(&f, T0 + 60, "nguyenvanminh", "status", TIP, "new -> checking");
    audit_close(f.a);
    f.a = NULL;

    char wal[4300];
    snprintf(wal, sizeof wal, "%s-wal", f.db);
    const char *words[] = {"nguyenvanminh", "listened twice", "checking", TIP, "0123456789abcdef"};
    for (size_t i = 0; i < sizeof words / sizeof words[0]; i++) {
        if (file_has(f.db, words[i]) || file_has(wal, words[i]))
            check_fail(__FILE__, __LINE__, "station.db holds \"%s\" in the clear", words[i]);
    }
    /* Every row the same size, whatever its words. */
    sqlite3 *db;
    ASSERT_EQ(sqlite3_open(f.db, &db), SQLITE_OK);
    sqlite3_stmt *st;
    ASSERT_EQ(sqlite3_prepare_v2(db, "SELECT count(DISTINCT length(box)), count(*) FROM audit", -1,
                                 &st, NULL),
              SQLITE_OK);
    ASSERT_EQ(sqlite3_step(st), SQLITE_ROW);
    ASSERT_EQ(sqlite3_column_int(st, 0), 1);
    ASSERT_EQ(sqlite3_column_int(st, 1), 2);
    sqlite3_finalize(st);
    sqlite3_close(db);
    fx_done(&f);
}

TEST(test_audit_refused_while_locked_read_newest_first_after_unlock)
{
    struct fx f;
    fx_init(&f);
    add(&f, T0, "minh", "unlock", "", "");
    add(&f, T0 + 10, "lan", "open", TIP, "");
    add(&f, T0 + 20, "lan", "listen", TIP, "1.25x");
    add(&f, T0 + 30, "", "lock", "", "idle 30 minutes");

    char err[512] = "";
    struct rows r = {0};
    int intact = 7;
    ASSERT_EQ(audit_read(f.a, f.c, 0, 0, collect, &r, &intact, err, sizeof err), AUDIT_E_LOCKED);
    ASSERT_CONTAINS(err, "unlock");
    ASSERT_EQ(r.n, 0);
    ASSERT_EQ(intact, 0);

    fx_unlock(&f);
    ASSERT_EQ(read_page(&f, 0, 0, &r), 1);
    ASSERT_EQ(r.n, 4);
    ASSERT_STR_EQ(r.e[0].action, "lock");
    ASSERT_STR_EQ(r.e[0].officer, "");
    ASSERT_STR_EQ(r.e[0].detail, "idle 30 minutes");
    ASSERT_EQ(r.e[0].at, T0 + 30);
    ASSERT_STR_EQ(r.e[1].action, "listen");
    ASSERT_STR_EQ(r.e[1].officer, "lan");
    ASSERT_STR_EQ(r.e[1].tip, TIP);
    ASSERT_STR_EQ(r.e[1].detail, "1.25x");
    ASSERT_STR_EQ(r.e[3].action, "unlock");
    ASSERT_STR_EQ(r.e[3].officer, "minh");
    ASSERT_EQ(r.e[3].at, T0);
    ASSERT_EQ(r.e[3].damaged, 0);

    /* Pages: two, then the rest from where the first ended. */
    ASSERT_EQ(read_page(&f, 0, 2, &r), 1);
    ASSERT_EQ(r.n, 2);
    ASSERT_STR_EQ(r.e[1].action, "listen");
    int64_t last = r.e[1].id;
    ASSERT_EQ(read_page(&f, last, 2, &r), 1);
    ASSERT_EQ(r.n, 2);
    ASSERT_STR_EQ(r.e[0].action, "open");
    ASSERT_STR_EQ(r.e[1].action, "unlock");
    ASSERT_EQ(read_page(&f, r.e[1].id, 2, &r), 1);
    ASSERT_EQ(r.n, 0);

    /* Locked again, refused again; a reopened store reads the same. */
    console_lock(f.c);
    ASSERT_EQ(audit_read(f.a, f.c, 0, 0, collect, &r, &intact, err, sizeof err), AUDIT_E_LOCKED);
    audit_close(f.a);
    ASSERT_EQ(audit_open(&f.a, f.db, err, sizeof err), 0);
    fx_unlock(&f);
    ASSERT_EQ(read_page(&f, 0, 0, &r), 1);
    ASSERT_EQ(r.n, 4);
    fx_done(&f);
}

TEST(test_audit_deleted_middle_row_breaks_intact)
{
    struct fx f;
    fx_init(&f);
    for (int i = 0; i < 5; i++)
        add(&f, T0 + i, "minh", "open", TIP, "");
    fx_unlock(&f);
    struct rows r;
    ASSERT_EQ(read_page(&f, 0, 0, &r), 1);
    sql(&f, "DELETE FROM audit WHERE id = 3");
    ASSERT_EQ(read_page(&f, 0, 0, &r), 0);
    ASSERT_EQ(r.n, 4); /* what is left is still shown */
    ASSERT_EQ(r.e[0].damaged, 0);
    /* It stays broken: later rows do not paper over it, nor does a restart. */
    add(&f, T0 + 10, "minh", "lock", "", "");
    ASSERT_EQ(read_page(&f, 0, 0, &r), 0);
    audit_close(f.a);
    char err[512] = "";
    ASSERT_EQ(audit_open(&f.a, f.db, err, sizeof err), 0);
    ASSERT_EQ(read_page(&f, 0, 0, &r), 0);
    fx_done(&f);
}

TEST(test_audit_changed_row_breaks_intact)
{
    struct fx f;
    fx_init(&f);
    for (int i = 0; i < 4; i++)
        add(&f, T0 + i, "minh", "open", TIP, "");
    fx_unlock(&f);
    struct rows r;
    ASSERT_EQ(read_page(&f, 0, 0, &r), 1);

    /* One byte of row 2 changed: it no longer opens, and the chain says so. */
    sql(&f, "UPDATE audit SET box = substr(box, 1, 100) || "
            "CASE WHEN substr(box, 101, 1) = x'00' THEN x'01' ELSE x'00' END || "
            "substr(box, 102) WHERE id = 2");
    ASSERT_EQ(read_page(&f, 0, 0, &r), 0);
    ASSERT_EQ(r.n, 4);
    ASSERT_EQ(r.e[2].id, 2);
    ASSERT_EQ(r.e[2].damaged, 1);
    ASSERT_STR_EQ(r.e[2].officer, "");
    fx_done(&f);
}

TEST(test_audit_newest_rows_cut_off_break_intact)
{
    struct fx f;
    fx_init(&f);
    for (int i = 0; i < 4; i++)
        add(&f, T0 + i, "minh", "open", TIP, "");
    fx_unlock(&f);
    struct rows r;
    ASSERT_EQ(read_page(&f, 0, 0, &r), 1);
    sql(&f, "DELETE FROM audit WHERE id >= 3");
    ASSERT_EQ(read_page(&f, 0, 0, &r), 0);
    ASSERT_EQ(r.n, 2);
    fx_done(&f);
}

TEST(test_audit_row_swapped_for_another_breaks_intact)
{
    struct fx f;
    fx_init(&f);
    for (int i = 0; i < 3; i++)
        add(&f, T0 + i, "minh", i == 1 ? "export" : "open", TIP, "");
    fx_unlock(&f);
    struct rows r;
    ASSERT_EQ(read_page(&f, 0, 0, &r), 1);
    /* The newest row's sealed bytes copied over the first: each opens, the order is a lie. */
    sql(&f, "UPDATE audit SET box = (SELECT box FROM audit WHERE id = 3) WHERE id = 1");
    ASSERT_EQ(read_page(&f, 0, 0, &r), 0);
    fx_done(&f);
}

TEST(test_audit_fields_are_bounded)
{
    struct fx f;
    fx_init(&f);
    char err[512] = "";
    ASSERT_EQ(audit_add(f.a, f.c, T0, "no such/name", "open", "", "", err, sizeof err),
              AUDIT_E_ARG);
    ASSERT_EQ(audit_add(f.a, f.c, T0, "minh", "Open Tip", "", "", err, sizeof err), AUDIT_E_ARG);
    ASSERT_EQ(audit_add(f.a, f.c, T0, "minh", "", "", "", err, sizeof err), AUDIT_E_ARG);
    ASSERT_EQ(audit_add(f.a, f.c, T0, "minh", "open", "not-hex", "", err, sizeof err), AUDIT_E_ARG);
    ASSERT_EQ(audit_add(f.a, f.c, T0, "minh", "open", TIP "00", "", err, sizeof err), AUDIT_E_ARG);
    /* A long detail is cut on a letter's edge; control characters and broken UTF-8 become '?'. */
    char longer[1000] = "xy";
    size_t o = 2;
    while (o + 3 < sizeof longer - 1) {
        memcpy(longer + o, "ư", 2); /* two bytes of UTF-8 */
        o += 2;
        longer[o++] = 'a';
    }
    longer[o] = 0;
    add(&f, T0, "Minh", "export", "ABCDEF01", longer);
    add(&f, T0 + 1, "minh", "status", "", "line\none\x1b[31m\xff");
    fx_unlock(&f);
    struct rows r;
    ASSERT_EQ(read_page(&f, 0, 0, &r), 1);
    ASSERT_EQ(r.n, 2);
    ASSERT_STR_EQ(r.e[0].detail, "line?one?[31m?");
    ASSERT_STR_EQ(r.e[1].officer, "minh");
    ASSERT_STR_EQ(r.e[1].tip, "abcdef01");
    /* "xy" + 99 x "ưa" is 299 bytes; the next "ư" would pass 300: not half of it kept. */
    ASSERT_EQ(strlen(r.e[1].detail), AUDIT_DETAIL_MAX - 1);
    ASSERT_EQ(strncmp(r.e[1].detail, longer, AUDIT_DETAIL_MAX - 1), 0);
    fx_done(&f);
}

TEST(test_audit_damaged_station_db_is_a_clear_error)
{
    char err[512] = "";
    char junk[4096];
    for (size_t i = 0; i < sizeof junk; i++)
        junk[i] = (char)(i * 31 + 1);
    check_write_file(check_path(STATION_DB_NAME), junk, sizeof junk);
    struct audit *a = (struct audit *)1;
    ASSERT_EQ(audit_open(&a, check_path(STATION_DB_NAME), err, sizeof err), AUDIT_E_IO);
    ASSERT(a == NULL);
    ASSERT_CONTAINS(err, "damaged");
    ASSERT_CONTAINS(err, STATION_DB_NAME);
}

TEST(test_audit_damaged_after_opening_is_a_clear_error)
{
    struct fx f;
    fx_init(&f);
    for (int i = 0; i < 40; i++)
        add(&f, T0 + i, "minh", "open", TIP, "");
    audit_close(f.a);
    f.a = NULL;
    size_t len = 0;
    uint8_t *db = check_slurp(f.db, &len);
    ASSERT(db && len > 8192);
    for (size_t i = 4096; i < len; i++) /* every page after the first */
        db[i] = (uint8_t)(i * 13 + 5);
    check_write_file(f.db, db, len);
    free(db);
    fx_unlock(&f);
    char err[512] = "";
    int rc = audit_open(&f.a, f.db, err, sizeof err);
    if (rc == 0) {
        struct rows r;
        int intact = 1;
        rc = audit_read(f.a, f.c, 0, 0, collect, &r, &intact, err, sizeof err);
        ASSERT_EQ(intact, 0);
    }
    ASSERT_EQ(rc, AUDIT_E_IO);
    ASSERT_CONTAINS(err, "damaged");
    fx_done(&f);
}

TEST(test_audit_shares_station_db_with_the_officers)
{
    struct fx f;
    fx_init(&f); /* the audit made station.db */
    setenv("HOMTHU_PWHASH", "min", 1);
    char err[512] = "";
    struct officers *o = NULL;
    ASSERT_EQ(officers_open(&o, f.db, err, sizeof err), 0);
    ASSERT_EQ(
        officers_add(o, "minh", OFFICER_COMMANDER, "correct horse battery", T0, err, sizeof err),
        0);
    add(&f, T0, "minh", "officer.add", "", "minh, commander");
    officers_close(o);
    audit_close(f.a);
    f.a = NULL;

    /* And the other way round: the officers first, in a fresh file. */
    snprintf(f.db, sizeof f.db, "%s/other-" STATION_DB_NAME, f.post);
    ASSERT_EQ(officers_open(&o, f.db, err, sizeof err), 0);
    ASSERT_EQ(audit_open(&f.a, f.db, err, sizeof err), 0);
    ASSERT_EQ(officers_add(o, "lan", OFFICER_OFFICER, "correct horse battery", T0, err, sizeof err),
              0);
    add(&f, T0, "lan", "login", "", "");
    int n = 0;
    ASSERT_EQ(officers_count(o, &n, err, sizeof err), 0);
    ASSERT_EQ(n, 1);
    officers_close(o);
    fx_unlock(&f);
    struct rows r;
    ASSERT_EQ(read_page(&f, 0, 0, &r), 1);
    ASSERT_EQ(r.n, 1);
    ASSERT_STR_EQ(r.e[0].officer, "lan");
    fx_done(&f);
}
