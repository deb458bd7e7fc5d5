/* sessions — see sessions.h. */
#include "station/sessions.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#define HASH_BYTES 32

struct slot {
    int used;
    uint8_t hash[HASH_BYTES]; /* keyed BLAKE2b of the cookie token: never the token itself */
    struct session_view v;
};

struct addr_slot {
    char addr[SESSIONS_ADDR_MAX + 1]; /* "" when free */
    int fails;                        /* in the window that began at `first` */
    int64_t first, last;              /* the window's first failure, the latest one */
    int64_t blocked_until;            /* 0 or when the wait ends */
};

struct sessions {
    pthread_mutex_t mu;
    int64_t idle;
    /* Keys the token hash: the hashes in memory say nothing without this process's key. */
    uint8_t key[crypto_generichash_KEYBYTES];
    struct slot slots[SESSIONS_MAX];
    struct addr_slot addrs[SESSIONS_ADDRS];
};

struct sessions *sessions_new(int64_t idle_seconds)
{
    if (idle_seconds <= 0 || sodium_init() < 0)
        return NULL;
    struct sessions *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    pthread_mutex_init(&s->mu, NULL);
    s->idle = idle_seconds;
    randombytes_buf(s->key, sizeof s->key);
    return s;
}

void sessions_free(struct sessions *s)
{
    if (!s)
        return;
    pthread_mutex_destroy(&s->mu);
    sodium_memzero(s, sizeof *s);
    free(s);
}

static void token_hash(const struct sessions *s, const char *token, uint8_t out[HASH_BYTES])
{
    crypto_generichash(out, HASH_BYTES, (const unsigned char *)token, strlen(token), s->key,
                       sizeof s->key);
}

static void random_token(char out[SESSIONS_TOKEN_CHARS + 1])
{
    uint8_t b[32];
    randombytes_buf(b, sizeof b);
    sodium_bin2base64(out, SESSIONS_TOKEN_CHARS + 1, b, sizeof b,
                      sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    sodium_memzero(b, sizeof b);
}

static void drop(struct slot *sl)
{
    sodium_memzero(sl, sizeof *sl);
}

static int expired(const struct sessions *s, const struct slot *sl, int64_t now)
{
    return now - sl->v.last_seen >= s->idle;
}

int sessions_create(struct sessions *s, const char *name, int role, int64_t now,
                    char token[SESSIONS_TOKEN_CHARS + 1], char csrf[SESSIONS_CSRF_CHARS + 1])
{
    char nm[OFFICER_NAME_MAX + 1];
    if (!s || !name || !token || !csrf || officers_name_check(name, nm, NULL, 0) != 0)
        return SESSIONS_E_ARG;
    _Static_assert(sodium_base64_ENCODED_LEN(32, sodium_base64_VARIANT_URLSAFE_NO_PADDING) ==
                       SESSIONS_TOKEN_CHARS + 1,
                   "token length");
    pthread_mutex_lock(&s->mu);
    struct slot *free_slot = NULL, *oldest = NULL;
    for (size_t i = 0; i < SESSIONS_MAX; i++) {
        struct slot *sl = &s->slots[i];
        if (sl->used && expired(s, sl, now))
            drop(sl);
        if (!sl->used) {
            if (!free_slot)
                free_slot = sl;
        } else if (!oldest || sl->v.last_seen < oldest->v.last_seen) {
            oldest = sl;
        }
    }
    struct slot *sl = free_slot ? free_slot : oldest;
    drop(sl);
    random_token(token);
    random_token(csrf);
    sl->used = 1;
    token_hash(s, token, sl->hash);
    memcpy(sl->v.name, nm, sizeof sl->v.name);
    sl->v.role = role;
    sl->v.created = now;
    sl->v.last_seen = now;
    memcpy(sl->v.csrf, csrf, SESSIONS_CSRF_CHARS + 1);
    pthread_mutex_unlock(&s->mu);
    return 0;
}

/* Under s->mu: the slot of `token`, or NULL. */
static struct slot *find(struct sessions *s, const char *token)
{
    if (!token || strlen(token) != SESSIONS_TOKEN_CHARS)
        return NULL;
    uint8_t h[HASH_BYTES];
    token_hash(s, token, h);
    struct slot *hit = NULL;
    for (size_t i = 0; i < SESSIONS_MAX; i++)
        if (s->slots[i].used && sodium_memcmp(h, s->slots[i].hash, HASH_BYTES) == 0)
            hit = &s->slots[i];
    return hit;
}

static int check(struct sessions *s, const char *token, int64_t now, int touch,
                 struct session_view *out)
{
    if (out)
        memset(out, 0, sizeof *out);
    if (!s)
        return SESSIONS_E_ARG;
    pthread_mutex_lock(&s->mu);
    struct slot *sl = find(s, token);
    int rc = 0;
    if (!sl) {
        rc = SESSIONS_E_NOTFOUND;
    } else if (expired(s, sl, now)) {
        drop(sl);
        rc = SESSIONS_E_EXPIRED;
    } else {
        if (touch && now > sl->v.last_seen)
            sl->v.last_seen = now;
        if (out)
            *out = sl->v;
    }
    pthread_mutex_unlock(&s->mu);
    return rc;
}

int sessions_check(struct sessions *s, const char *token, int64_t now, struct session_view *out)
{
    return check(s, token, now, 1, out);
}

int sessions_look(struct sessions *s, const char *token, int64_t now, struct session_view *out)
{
    return check(s, token, now, 0, out);
}

int sessions_csrf_ok(const struct session_view *v, const char *csrf)
{
    if (!v || !csrf || strlen(v->csrf) != SESSIONS_CSRF_CHARS ||
        strlen(csrf) != SESSIONS_CSRF_CHARS)
        return 0;
    return sodium_memcmp(v->csrf, csrf, SESSIONS_CSRF_CHARS) == 0;
}

int sessions_end(struct sessions *s, const char *token)
{
    if (!s)
        return SESSIONS_E_ARG;
    pthread_mutex_lock(&s->mu);
    struct slot *sl = find(s, token);
    if (sl)
        drop(sl);
    pthread_mutex_unlock(&s->mu);
    return sl ? 0 : SESSIONS_E_NOTFOUND;
}

int sessions_end_officer(struct sessions *s, const char *name)
{
    if (!s || !name)
        return 0;
    /* Names are stored folded to lower case (officers.h): fold this one the same way. */
    char nm[OFFICER_NAME_MAX + 1];
    if (officers_name_check(name, nm, NULL, 0) != 0)
        return 0;
    int n = 0;
    pthread_mutex_lock(&s->mu);
    for (size_t i = 0; i < SESSIONS_MAX; i++)
        if (s->slots[i].used && strcmp(s->slots[i].v.name, nm) == 0) {
            drop(&s->slots[i]);
            n++;
        }
    pthread_mutex_unlock(&s->mu);
    return n;
}

int sessions_count(struct sessions *s, int64_t now)
{
    if (!s)
        return 0;
    int n = 0;
    pthread_mutex_lock(&s->mu);
    for (size_t i = 0; i < SESSIONS_MAX; i++) {
        if (s->slots[i].used && expired(s, &s->slots[i], now))
            drop(&s->slots[i]);
        n += s->slots[i].used;
    }
    pthread_mutex_unlock(&s->mu);
    return n;
}

/* ---- per address ---- */

static void addr_key(const char *addr, char out[SESSIONS_ADDR_MAX + 1])
{
    snprintf(out, SESSIONS_ADDR_MAX + 1, "%s", addr && *addr ? addr : "?");
}

/* Under s->mu. */
static struct addr_slot *addr_find(struct sessions *s, const char *key)
{
    for (size_t i = 0; i < SESSIONS_ADDRS; i++)
        if (s->addrs[i].addr[0] && strcmp(s->addrs[i].addr, key) == 0)
            return &s->addrs[i];
    return NULL;
}

int sessions_login_allowed(struct sessions *s, const char *addr, int64_t now, int64_t *retry_after)
{
    if (retry_after)
        *retry_after = 0;
    if (!s)
        return 0;
    char key[SESSIONS_ADDR_MAX + 1];
    addr_key(addr, key);
    pthread_mutex_lock(&s->mu);
    struct addr_slot *a = addr_find(s, key);
    int ok = 1;
    if (a && a->blocked_until > now) {
        ok = 0;
        if (retry_after)
            *retry_after = a->blocked_until - now;
    }
    pthread_mutex_unlock(&s->mu);
    return ok;
}

void sessions_login_failed(struct sessions *s, const char *addr, int64_t now)
{
    if (!s)
        return;
    char key[SESSIONS_ADDR_MAX + 1];
    addr_key(addr, key);
    pthread_mutex_lock(&s->mu);
    struct addr_slot *a = addr_find(s, key);
    if (!a) {
        /* A free slot, else the one quiet longest that is not waiting, else the one quiet
         * longest: a flood from many addresses forgets the others' counts, never first an
         * address that is being made to wait. */
        struct addr_slot *idle = NULL, *any = NULL;
        for (size_t i = 0; i < SESSIONS_ADDRS && !a; i++) {
            struct addr_slot *x = &s->addrs[i];
            if (!x->addr[0]) {
                a = x;
                break;
            }
            if (x->blocked_until <= now && (!idle || x->last < idle->last))
                idle = x;
            if (!any || x->last < any->last)
                any = x;
        }
        if (!a)
            a = idle ? idle : any;
        memset(a, 0, sizeof *a);
        memcpy(a->addr, key, sizeof a->addr);
    }
    if (a->fails == 0 || now - a->first >= SESSIONS_LOGIN_WINDOW) {
        a->fails = 0;
        a->first = now;
    }
    a->fails++;
    a->last = now;
    if (a->fails >= SESSIONS_LOGIN_FAILS) {
        a->blocked_until = now + SESSIONS_LOGIN_WAIT;
        a->fails = 0;
    }
    pthread_mutex_unlock(&s->mu);
}

void sessions_login_ok(struct sessions *s, const char *addr)
{
    if (!s)
        return;
    char key[SESSIONS_ADDR_MAX + 1];
    addr_key(addr, key);
    pthread_mutex_lock(&s->mu);
    struct addr_slot *a = addr_find(s, key);
    if (a)
        memset(a, 0, sizeof *a);
    pthread_mutex_unlock(&s->mu);
}
