/* Tests for src/registry: enrol, list, revoke, and the verdicts the envelope reader gets. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>
#include <unistd.h>

#include "check.h"
#include "core/envelope.h"
#include "core/registry.h"

#define T0 1743500000 /* 2025-04-01 09:33:20 UTC */

static struct registry *fresh(void)
{
    struct registry *r = NULL;
    char err[512] = "";
    if (registry_open(&r, check_path("registry.db"), 1, err, sizeof err))
        check_fail(__FILE__, __LINE__, "registry_open: %s", err);
    return r;
}

static void device(uint8_t pk[32], uint8_t sk[64])
{
    uint8_t tmp[64];
    ASSERT(sodium_init() >= 0);
    crypto_sign_keypair(pk, sk ? sk : tmp);
}

struct seen {
    int n;
    struct registry_entry e[8];
};

static int collect(void *ctx, const struct registry_entry *e)
{
    struct seen *s = ctx;
    if (s->n < 8)
        s->e[s->n] = *e;
    s->n++;
    return 0;
}

TEST(test_registry_enrols_lists_and_revokes)
{
    struct registry *r = fresh();
    uint8_t a[32], b[32];
    device(a, NULL);
    device(b, NULL);
    char err[512] = "";
    ASSERT_EQ(registry_enrol(r, "na-co-sa-01", a, T0, err, sizeof err), 0);
    ASSERT_EQ(registry_enrol(r, "na-co-sa-02", b, T0 + 60, err, sizeof err), 0);
    ASSERT_EQ(registry_revoke(r, "na-co-sa-01", "stolen from the health station", T0 + 3600, err,
                              sizeof err),
              0);
    registry_close(r);

    /* Everything is on disk: reopen and look. */
    r = NULL;
    ASSERT_EQ(registry_open(&r, check_path("registry.db"), 0, err, sizeof err), 0);
    struct seen s = {0};
    ASSERT_EQ(registry_list(r, collect, &s, err, sizeof err), 0);
    ASSERT_EQ(s.n, 2);
    ASSERT_STR_EQ(s.e[0].id, "na-co-sa-01");
    ASSERT_MEM_EQ(s.e[0].device_pk, a, 32);
    ASSERT_EQ(s.e[0].enrolled, T0);
    ASSERT_EQ(s.e[0].revoked, T0 + 3600);
    ASSERT_STR_EQ(s.e[0].reason, "stolen from the health station");
    ASSERT_STR_EQ(s.e[1].id, "na-co-sa-02");
    ASSERT_EQ(s.e[1].enrolled, T0 + 60);
    ASSERT_EQ(s.e[1].revoked, 0);
    ASSERT_STR_EQ(s.e[1].reason, "");

    struct registry_entry e;
    ASSERT_EQ(registry_get(r, "na-co-sa-02", &e, err, sizeof err), 0);
    ASSERT_MEM_EQ(e.device_pk, b, 32);
    ASSERT_EQ(registry_find_device(r, a, &e, err, sizeof err), 0);
    ASSERT_STR_EQ(e.id, "na-co-sa-01");
    registry_close(r);
}

TEST(test_registry_lookup_gives_envelope_verdicts)
{
    struct registry *r = fresh();
    uint8_t a[32], b[32], stranger[32];
    device(a, NULL);
    device(b, NULL);
    device(stranger, NULL);
    char err[512];
    ASSERT_EQ(registry_enrol(r, "a", a, T0, err, sizeof err), 0);
    ASSERT_EQ(registry_enrol(r, "b", b, T0, err, sizeof err), 0);
    envelope_device_fn fn = registry_device_check; /* it is one */
    ASSERT_EQ(fn(r, a), 0);
    ASSERT_EQ(fn(r, b), 0);
    ASSERT_EQ(fn(r, stranger), ENVELOPE_E_UNKNOWN_DEVICE);
    ASSERT_STR_EQ(registry_last_error(r), ""); /* a genuine stranger, not a failure */
    ASSERT_EQ(registry_revoke(r, "b", "lost in the flood", T0 + 1, err, sizeof err), 0);
    ASSERT_EQ(fn(r, b), ENVELOPE_E_REVOKED_DEVICE);
    ASSERT_EQ(fn(r, a), 0);
    /* Revoked at the epoch (a kiosk clock never set) is revoked all the same. */
    uint8_t c[32];
    device(c, NULL);
    ASSERT_EQ(registry_enrol(r, "c", c, 0, err, sizeof err), 0);
    ASSERT_EQ(registry_revoke(r, "c", "test", 0, err, sizeof err), 0);
    ASSERT_EQ(fn(r, c), ENVELOPE_E_REVOKED_DEVICE);
    struct registry_entry e;
    ASSERT_EQ(registry_get(r, "c", &e, err, sizeof err), 0);
    ASSERT(e.revoked != 0);
    registry_close(r);
}

TEST(test_registry_refuses_duplicates_with_reasons)
{
    struct registry *r = fresh();
    uint8_t a[32], b[32];
    device(a, NULL);
    device(b, NULL);
    char err[512];
    ASSERT_EQ(registry_enrol(r, "na-co-sa-01", a, T0, err, sizeof err), 0);
    ASSERT_EQ(registry_enrol(r, "na-co-sa-01", b, T0, err, sizeof err), REGISTRY_E_EXISTS);
    ASSERT_STR_EQ(err, "a kiosk named na-co-sa-01 is already enrolled (since 2025-04-01 09:33 "
                       "UTC): choose another id; ids are never reused, even after revocation");
    ASSERT_STR_EQ(registry_last_error(r), err);
    ASSERT_EQ(registry_enrol(r, "na-co-sa-02", a, T0, err, sizeof err), REGISTRY_E_EXISTS);
    ASSERT_STR_EQ(err, "this device key is already enrolled as na-co-sa-01: make a new key for a "
                       "new kiosk");
    /* Even after revocation the id stays taken. */
    ASSERT_EQ(registry_revoke(r, "na-co-sa-01", "retired", T0, err, sizeof err), 0);
    ASSERT_EQ(registry_enrol(r, "na-co-sa-01", b, T0, err, sizeof err), REGISTRY_E_EXISTS);
    struct seen s = {0};
    ASSERT_EQ(registry_list(r, collect, &s, err, sizeof err), 0);
    ASSERT_EQ(s.n, 1);
    registry_close(r);
}

TEST(test_registry_revoke_errors)
{
    struct registry *r = fresh();
    uint8_t a[32];
    device(a, NULL);
    char err[512], want[700];
    ASSERT_EQ(registry_enrol(r, "a", a, T0, err, sizeof err), 0);
    ASSERT_EQ(registry_revoke(r, "zz", "gone", T0, err, sizeof err), REGISTRY_E_NOTFOUND);
    snprintf(want, sizeof want,
             "no kiosk named zz in %s (see homthu-provision kiosk-list for the ids)",
             check_path("registry.db"));
    ASSERT_STR_EQ(err, want);

    static const char *bad[] = {"", "two\nlines", "tab\there", "caf\xe9"};
    for (size_t i = 0; i < 4; i++) {
        ASSERT_EQ(registry_revoke(r, "a", bad[i], T0, err, sizeof err), REGISTRY_E_ARG);
        ASSERT_STR_EQ(err, "the reason must be one line of 1\xe2\x80\x93"
                           "200 bytes of text, like \"stolen from the health station\"");
    }
    char longr[202];
    memset(longr, 'x', 201);
    longr[201] = 0;
    ASSERT_EQ(registry_revoke(r, "a", longr, T0, err, sizeof err), REGISTRY_E_ARG);
    longr[200] = 0;
    ASSERT_EQ(registry_revoke(r, "a", longr, T0, err, sizeof err), 0);
    ASSERT_EQ(registry_revoke(r, "a", "again", T0 + 86400, err, sizeof err), REGISTRY_E_REVOKED);
    ASSERT_CONTAINS(err, "kiosk a was already revoked on 2025-04-01 09:33 UTC: xxxx");
    struct registry_entry e;
    ASSERT_EQ(registry_get(r, "a", &e, err, sizeof err), 0);
    ASSERT_EQ(e.revoked, T0); /* the first revocation stands */
    ASSERT_EQ(strlen(e.reason), 200);
    registry_close(r);
}

TEST(test_registry_refuses_bad_ids)
{
    struct registry *r = fresh();
    uint8_t a[32];
    device(a, NULL);
    char err[512];
    ASSERT_EQ(registry_enrol(r, "Na Co Sa", a, T0, err, sizeof err), REGISTRY_E_ARG);
    ASSERT_STR_EQ(err, "kiosk id \"Na Co Sa\" is not valid: use 1\xe2\x80\x93"
                       "32 lowercase letters, digits and dashes, like na-co-sa-01");
    ASSERT_EQ(registry_get(r, "nobody", &(struct registry_entry){0}, err, sizeof err),
              REGISTRY_E_NOTFOUND);
    ASSERT_EQ(registry_find_device(r, a, &(struct registry_entry){0}, err, sizeof err),
              REGISTRY_E_NOTFOUND);
    registry_close(r);
}

TEST(test_registry_open_errors_say_what_to_do)
{
    struct registry *r = NULL;
    char err[512], want[800];
    const char *p = check_path("registry.db");

    ASSERT_EQ(registry_open(&r, p, 0, err, sizeof err), REGISTRY_E_IO);
    snprintf(want, sizeof want,
             "no registry at %s: check --post, or make the post's keys first with "
             "homthu-provision post-init",
             p);
    ASSERT_STR_EQ(err, want);
    ASSERT(r == NULL);
    ASSERT(access(p, F_OK) != 0); /* opening did not create it */

    r = fresh();
    registry_close(r);
    r = NULL;
    ASSERT_EQ(registry_open(&r, p, 1, err, sizeof err), REGISTRY_E_EXISTS);
    ASSERT_CONTAINS(err, "already exists: refusing to start a new registry over it");

    /* Not a database at all. */
    check_write_file(check_path("junk.db"), "this is not sqlite, just text\n", 30);
    ASSERT_EQ(registry_open(&r, check_path("junk.db"), 0, err, sizeof err), REGISTRY_E_IO);
    snprintf(want, sizeof want,
             "%s is damaged (file is not a database): restore it from your backup",
             check_path("junk.db"));
    ASSERT_STR_EQ(err, want);

    /* A database, but not ours. */
    ASSERT_EQ(check_sh("sqlite3 '%s' 'CREATE TABLE t(x)'", check_path("other.db")), 0);
    ASSERT_EQ(registry_open(&r, check_path("other.db"), 0, err, sizeof err), REGISTRY_E_IO);
    ASSERT_CONTAINS(err, "is not a homthu registry (no schema)");

    /* One from a newer program. */
    ASSERT_EQ(check_sh("sqlite3 '%s' 'PRAGMA user_version = 2'", p), 0);
    ASSERT_EQ(registry_open(&r, p, 0, err, sizeof err), REGISTRY_E_SCHEMA);
    ASSERT_CONTAINS(err, "was made by a newer homthu (schema 2, this program knows 1): update "
                         "homthu-provision");
    registry_close(NULL);
}

/* The verdicts reach the envelope reader: a revoked kiosk's tip is refused. */
static int sink(void *ctx, enum envelope_piece kind, uint32_t index, const uint8_t *b, size_t len)
{
    (void)kind;
    (void)index;
    struct {
        uint8_t *b;
        size_t len;
    } *x = ctx;
    uint8_t *nb = realloc(x->b, x->len + len);
    if (!nb)
        return -1;
    memcpy(nb + x->len, b, len);
    x->b = nb;
    x->len += len;
    return 0;
}

TEST(test_registry_verdicts_reach_the_envelope_check)
{
    struct registry *r = fresh();
    uint8_t dev_pk[32], dev_sk[64], post_pk[32], post_sk[32];
    device(dev_pk, dev_sk);
    crypto_box_keypair(post_pk, post_sk);
    struct {
        uint8_t *b;
        size_t len;
    } x = {0};
    struct envelope_writer *w = NULL;
    struct envelope_meta m = {.language = "vi", .category = CATEGORY_OTHER};
    char err[512] = "";
    ASSERT_EQ(envelope_writer_new(&w, post_pk, dev_sk, &m, sink, &x, NULL, err, sizeof err), 0);
    ASSERT_EQ(envelope_write_text(w, "test", 4), 0);
    ASSERT_EQ(envelope_writer_finish(w, err, sizeof err), 0);
    envelope_writer_free(w);

    ASSERT_EQ(envelope_verify_outer(x.b, x.len, registry_device_check, r, 0, err, sizeof err),
              ENVELOPE_E_UNKNOWN_DEVICE);
    ASSERT_EQ(registry_enrol(r, "na-co-sa-01", dev_pk, T0, err, sizeof err), 0);
    ASSERT_EQ(envelope_verify_outer(x.b, x.len, registry_device_check, r, 0, err, sizeof err), 0);
    ASSERT_EQ(registry_revoke(r, "na-co-sa-01", "stolen", T0, err, sizeof err), 0);
    ASSERT_EQ(envelope_verify_outer(x.b, x.len, registry_device_check, r, 0, err, sizeof err),
              ENVELOPE_E_REVOKED_DEVICE);
    free(x.b);
    registry_close(r);
}
