/*
 * console — see console.h. Moved out of tools/homthu-post.c so that unit
 * tests and the web station reach the same logic the CLI runs.
 */
#include "post/console.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <opusfile.h>
#include <sodium.h>

#include "core/config.h"
#include "core/errbuf.h"
#include "core/keys.h"
#include "core/registry.h"

_Static_assert(CONSOLE_NOTE_MAX == POSTBOX_NOTE_MAX - crypto_box_SEALBYTES,
               "a note and its seal fit in a stored note");

struct console {
    char dir[4096];
    char pub[4096], key_path[4096], registry[4096], postbox[4096];
    struct postbox *pb;
    struct registry *reg;
    struct envelope_post_key *key; /* only after console_unlock() */
    uint8_t pk[32];
};

static int join(char *out, size_t cap, const char *dir, const char *name)
{
    int n = snprintf(out, cap, "%s/%s", dir, name);
    return n < 0 || (size_t)n >= cap ? -1 : 0;
}

void console_close(struct console *c)
{
    if (!c)
        return;
    keys_post_free(c->key);
    registry_close(c->reg);
    postbox_close(c->pb);
    free(c);
}

int console_open(struct console **out, const char *dir, char *err, size_t errlen)
{
    if (!out || !dir)
        return errbuf_say(err, errlen, CONSOLE_E_ARG, "console_open: no folder");
    *out = NULL;
    struct console *c = calloc(1, sizeof *c);
    if (!c)
        return errbuf_say(err, errlen, CONSOLE_E_NOMEM, "out of memory");
    if (strlen(dir) >= sizeof c->dir || join(c->pub, sizeof c->pub, dir, "post.pub") ||
        join(c->key_path, sizeof c->key_path, dir, "post.key") ||
        join(c->registry, sizeof c->registry, dir, REGISTRY_DB_NAME) ||
        join(c->postbox, sizeof c->postbox, dir, POSTBOX_DB_NAME)) {
        free(c);
        return errbuf_say(err, errlen, CONSOLE_E_ARG, "the folder name %s is too long", dir);
    }
    snprintf(c->dir, sizeof c->dir, "%s", dir);
    char why[1024];
    /* A wrong --post must not quietly start an empty postbox somewhere else. */
    if (keys_post_load_public(c->pub, c->pk, NULL, why, sizeof why)) {
        free(c);
        return errbuf_say(err, errlen, CONSOLE_E_NOT_POST,
                          "%s is not a border post's folder: %s (check --post; homthu-provision "
                          "post-init makes one)",
                          dir, why);
    }
    if (registry_open(&c->reg, c->registry, 0, why, sizeof why) ||
        postbox_open(&c->pb, c->postbox, why, sizeof why)) {
        console_close(c);
        return errbuf_say(err, errlen, CONSOLE_E_IO, "%s", why);
    }
    *out = c;
    return 0;
}

const char *console_dir(const struct console *c)
{
    return c->dir;
}

int console_file(const struct console *c, const char *name, char *out, size_t cap)
{
    return join(out, cap, c->dir, name);
}

struct postbox *console_postbox(struct console *c)
{
    return c->pb;
}

struct registry *console_registry(struct console *c)
{
    return c->reg;
}

int console_unlock(struct console *c, const char *passphrase, char *err, size_t errlen)
{
    if (!c || !passphrase)
        return errbuf_say(err, errlen, CONSOLE_E_ARG, "console_unlock: no passphrase");
    struct envelope_post_key *k = NULL;
    int rc = keys_post_unlock(&k, c->key_path, passphrase, err, errlen);
    if (rc)
        return rc == KEYS_E_PASSPHRASE ? CONSOLE_E_PASSPHRASE
               : rc == KEYS_E_NOMEM    ? CONSOLE_E_NOMEM
                                       : CONSOLE_E_IO;
    /*
     * Another post's post.key copied in would open, read none of the tips
     * and none of the notes (sealed to post.pub), and look like a flood of
     * refusals: say what is wrong instead.
     */
    if (sodium_memcmp(k->pk, c->pk, sizeof c->pk) != 0) {
        keys_post_free(k);
        return errbuf_say(err, errlen, CONSOLE_E_NOT_POST,
                          "%s is not the key of %s: the two files come from different posts "
                          "(restore this post's post.key)",
                          c->key_path, c->pub);
    }
    keys_post_free(c->key);
    c->key = k;
    return 0;
}

int console_unlocked(const struct console *c)
{
    return c && c->key;
}

void console_lock(struct console *c)
{
    if (!c)
        return;
    keys_post_free(c->key);
    c->key = NULL;
}

_Static_assert(CONSOLE_SEAL_BYTES == crypto_box_SEALBYTES, "the seal's size as said");

int console_seal(const struct console *c, const uint8_t *msg, size_t len, uint8_t *out)
{
    if (!c || (!msg && len) || !out)
        return CONSOLE_E_ARG;
    return crypto_box_seal(out, msg, len, c->pk) == 0 ? 0 : CONSOLE_E_NOMEM;
}

int console_unseal(const struct console *c, const uint8_t *box, size_t len, uint8_t *out)
{
    if (!c || !box || !out)
        return CONSOLE_E_ARG;
    if (!c->key)
        return CONSOLE_E_LOCKED;
    if (len < crypto_box_SEALBYTES ||
        crypto_box_seal_open(out, box, len, c->key->pk, c->key->sk) != 0)
        return CONSOLE_E_REFUSED;
    return 0;
}

int console_derive_key(const struct console *c, const char *purpose, uint8_t out[32])
{
    if (!c || !purpose || !out)
        return CONSOLE_E_ARG;
    if (!c->key)
        return CONSOLE_E_LOCKED;
    /* The secret key keys the hash: the purpose alone says nothing. */
    if (crypto_generichash(out, 32, (const uint8_t *)purpose, strlen(purpose), c->key->sk,
                           ENVELOPE_POST_SK_BYTES) != 0)
        return CONSOLE_E_NOMEM;
    return 0;
}

static int count_one(void *ctx, const struct postbox_tip *t)
{
    (void)t;
    (*(int *)ctx)++;
    return 0;
}

int console_count(struct console *c, int *n, char *err, size_t errlen)
{
    *n = 0;
    return postbox_foreach(c->pb, count_one, n, err, errlen) ? CONSOLE_E_IO : 0;
}

int console_find(struct console *c, const char *hex, struct postbox_tip *out, char *err,
                 size_t errlen)
{
    int rc = postbox_find(c->pb, hex, out, err, errlen);
    if (rc == POSTBOX_E_NOTFOUND)
        return CONSOLE_E_NOTFOUND;
    if (rc == POSTBOX_E_AMBIGUOUS)
        return CONSOLE_E_AMBIGUOUS;
    if (rc == POSTBOX_E_ARG)
        return CONSOLE_E_ARG;
    return rc ? CONSOLE_E_IO : 0;
}

/* ---- plaintext buffers: locked, wiped, never swapped ---- */

struct sbuf {
    uint8_t *b;
    size_t len, cap, max;
    int toobig;
};

static void sbuf_add(struct sbuf *x, const uint8_t *b, size_t n)
{
    if (x->toobig || x->len + n > x->max) {
        x->toobig = 1;
        return;
    }
    if (x->len + n + 1 > x->cap) {
        size_t cap = x->cap ? x->cap : 16384;
        while (cap < x->len + n + 1)
            cap *= 2;
        /* sodium_malloc has no realloc: copy, and sodium_free wipes the old one. */
        uint8_t *nb = sodium_malloc(cap);
        if (!nb) {
            x->toobig = 1;
            return;
        }
        if (x->b) {
            memcpy(nb, x->b, x->len);
            sodium_free(x->b);
        }
        x->b = nb;
        x->cap = cap;
    }
    memcpy(x->b + x->len, b, n);
    x->len += n;
    x->b[x->len] = 0;
}

static void sbuf_free(struct sbuf *x)
{
    sodium_free(x->b);
    memset(x, 0, sizeof *x);
}

/* What console_open_tip hands out, with what it needs while reading. */
struct tip_mem {
    struct console_tip v; /* first: console_tip_free casts back */
    struct sbuf text, audio;
    int texts, has_when, unconfirmed, has_category;
    uint8_t when, category;
};

static void on_meta(void *ctx, const struct envelope_meta *m)
{
    struct tip_mem *o = ctx;
    o->v.meta = *m;
    o->v.has_meta = 1;
}

static void on_text(void *ctx, const uint8_t *b, size_t n)
{
    struct tip_mem *o = ctx;
    if (o->texts++)
        sbuf_add(&o->text, (const uint8_t *)"\n", 1);
    sbuf_add(&o->text, b, n);
}

static void on_audio(void *ctx, const uint8_t *b, size_t n)
{
    sbuf_add(&((struct tip_mem *)ctx)->audio, b, n);
}

static void on_when(void *ctx, uint8_t w)
{
    struct tip_mem *o = ctx;
    o->when = w;
    o->has_when = 1;
}

static void on_category(void *ctx, uint8_t c)
{
    struct tip_mem *o = ctx;
    o->category = c;
    o->has_category = 1;
}

static void on_unconfirmed(void *ctx)
{
    ((struct tip_mem *)ctx)->unconfirmed = 1;
}

void console_tip_free(struct console_tip *v)
{
    if (!v)
        return;
    struct tip_mem *o = (struct tip_mem *)v;
    sbuf_free(&o->text);
    sbuf_free(&o->audio);
    sodium_free(o);
}

/* Which kiosk sent it, from the clear header and the registry. */
static void name_kiosk(struct console *c, struct console_tip *v,
                       const struct envelope_header_info *h)
{
    char err[512];
    struct registry_entry e;
    if (registry_find_device(c->reg, h->device_pk, &e, err, sizeof err) == 0) {
        snprintf(v->kiosk, sizeof v->kiosk, "%s", e.id);
        v->kiosk_enrolled = 1;
        if (e.revoked) {
            char at[40];
            console_time(e.revoked, 0, at);
            v->kiosk_revoked = 1;
            v->revoked_at = e.revoked;
            snprintf(v->revoked_why, sizeof v->revoked_why, "revoked %s: %s", at, e.reason);
        }
    } else {
        char fp[KEYS_FINGERPRINT_HEX];
        keys_fingerprint(h->device_pk, 32, fp);
        snprintf(v->kiosk, sizeof v->kiosk, "unknown kiosk key %s", fp);
    }
}

int console_open_tip(struct console *c, const struct postbox_tip *t, struct console_tip **out,
                     char *err, size_t errlen)
{
    *out = NULL;
    if (!c->key)
        return errbuf_say(err, errlen, CONSOLE_E_LOCKED,
                          "the post key is locked: give the passphrase first");
    uint8_t *env = NULL;
    size_t len = 0;
    if (postbox_envelope(c->pb, t->seq, &env, &len, err, errlen))
        return CONSOLE_E_IO;
    struct tip_mem *o = sodium_malloc(sizeof *o);
    if (!o) {
        free(env);
        return errbuf_say(err, errlen, CONSOLE_E_NOMEM, "out of memory");
    }
    memset(o, 0, sizeof *o);
    struct console_tip *v = &o->v;
    v->t = *t;
    o->text.max = CONSOLE_TEXT_MAX;
    o->audio.max = ENVELOPE_DEFAULT_MAX_BYTES;
    struct envelope_header_info h;
    char why[512];
    if (envelope_parse_header(env, len, &h, why, sizeof why) == 0) {
        v->has_header = 1;
        name_kiosk(c, v, &h);
    } else {
        snprintf(v->kiosk, sizeof v->kiosk, "?");
    }
    struct envelope_reader *r = NULL;
    struct envelope_reader_opts ro = {
        .keys = c->key,
        .nkeys = 1,
        .device_check = registry_device_check,
        .device_ctx = c->reg,
        .records = {.meta = on_meta, .text = on_text, .audio = on_audio, .when = on_when, .ctx = o,
                    .unconfirmed = on_unconfirmed, .category = on_category},
    };
    int rc = envelope_reader_new(&r, &ro);
    if (rc == 0) {
        /* In slices: the reader never needs the whole envelope at once. */
        for (size_t off = 0; off < len && rc == 0; off += 65536)
            rc = envelope_reader_feed(r, env + off, len - off < 65536 ? len - off : 65536, v->why,
                                      sizeof v->why);
        if (rc == 0)
            rc = envelope_reader_finish(r, v->why, sizeof v->why);
    } else {
        snprintf(v->why, sizeof v->why, "out of memory");
    }
    envelope_reader_free(r);
    free(env);
    /* A database that cannot be read fails closed: say so, not "unknown device". */
    if (rc == ENVELOPE_E_UNKNOWN_DEVICE && registry_last_error(c->reg)[0])
        snprintf(v->why, sizeof v->why, "unknown device: the registry cannot be read (%s)",
                 registry_last_error(c->reg));
    v->verdict = rc;
    if (o->text.toobig || o->audio.toobig) {
        v->verdict = ENVELOPE_E_NOMEM;
        snprintf(v->why, sizeof v->why, "the tip is too large to open here (out of memory)");
    }
    v->genuine = v->verdict == 0 || v->verdict == ENVELOPE_E_CUT_SHORT;
    if (v->genuine)
        v->why[0] = 0;
    v->when = o->has_when ? o->when : v->meta.when;
    /* META was written when recording began; the picture chosen after
       speaking is the person's answer (docs/envelope.md, record 8). */
    if (o->has_category && v->has_meta)
        v->meta.category = o->category;
    v->unconfirmed = o->unconfirmed;
    if (!v->genuine) {
        v->withheld = o->text.len || o->audio.len;
        sbuf_free(&o->text);
        sbuf_free(&o->audio);
    }
    if (o->text.len) {
        v->text = o->text.b;
        v->text_len = o->text.len;
    }
    if (o->audio.len) {
        v->audio = o->audio.b;
        v->audio_len = o->audio.len;
        int oerr = 0;
        OggOpusFile *of = op_open_memory(o->audio.b, o->audio.len, &oerr);
        if (of) {
            ogg_int64_t n = op_pcm_total(of, -1);
            if (n > 0)
                v->seconds = (double)n / 48000.0;
            op_free(of);
        }
    }
    *out = v;
    return 0;
}

struct list_ctx {
    struct console *c;
    int (*fn)(void *ctx, const struct console_tip *v);
    void *ctx;
    int failed;
    char first[512];
};

static int list_one(void *ctx, const struct postbox_tip *t)
{
    struct list_ctx *l = ctx;
    struct console_tip *v = NULL;
    char err[512];
    if (console_open_tip(l->c, t, &v, err, sizeof err)) {
        if (!l->failed++)
            snprintf(l->first, sizeof l->first, "%s", err);
        return 0;
    }
    int rc = l->fn(l->ctx, v);
    console_tip_free(v);
    return rc;
}

int console_list(struct console *c, int (*fn)(void *ctx, const struct console_tip *v), void *ctx,
                 char *err, size_t errlen)
{
    if (!c->key)
        return errbuf_say(err, errlen, CONSOLE_E_LOCKED,
                          "the post key is locked: give the passphrase first");
    struct list_ctx l = {.c = c, .fn = fn, .ctx = ctx};
    int rc = postbox_foreach(c->pb, list_one, &l, err, errlen);
    if (rc < 0)
        return CONSOLE_E_IO;
    if (rc)
        return rc;
    if (l.failed)
        return errbuf_say(err, errlen, CONSOLE_E_IO, "%d tip%s could not be read: %s", l.failed,
                          l.failed == 1 ? "" : "s", l.first);
    return 0;
}

int console_tip_audio(const struct console_tip *v, const uint8_t **ogg, size_t *len, char *err,
                      size_t errlen)
{
    char sid[9];
    errbuf_hex(sid, v->t.id, 4);
    *ogg = NULL;
    *len = 0;
    if (!v->genuine) {
        char line[700];
        console_verdict_line(v, line, sizeof line);
        return errbuf_say(err, errlen, CONSOLE_E_REFUSED,
                          "tip %s was %s; its recording is not given out", sid, line);
    }
    if (!v->audio_len)
        return errbuf_say(err, errlen, CONSOLE_E_NO_AUDIO,
                          "tip %s has no recording (the person typed or chose only)", sid);
    *ogg = v->audio;
    *len = v->audio_len;
    return 0;
}

/* ---- status and history ---- */

int console_note_check(const char *note, char *err, size_t errlen)
{
    if (!note || !*note)
        return errbuf_say(err, errlen, CONSOLE_E_NOTE, "the note is empty (say why, in a line)");
    size_t n = strlen(note);
    if (n > CONSOLE_NOTE_MAX)
        return errbuf_say(err, errlen, CONSOLE_E_NOTE, "the note is longer than %d bytes",
                          (int)CONSOLE_NOTE_MAX);
    if (!config_utf8_valid(note, n))
        return errbuf_say(err, errlen, CONSOLE_E_NOTE, "the note is not valid UTF-8");
    return 0;
}

int console_set_status(struct console *c, const struct postbox_tip *t, int status, const char *note,
                       int64_t now, char *err, size_t errlen)
{
    if (status < 0 || status >= POSTBOX_NSTATUS)
        return errbuf_say(err, errlen, CONSOLE_E_ARG, "%d is not a status", status);
    int rc = console_note_check(note, err, errlen);
    if (rc)
        return rc;
    size_t n = strlen(note);
    uint8_t sealed[POSTBOX_NOTE_MAX];
    if (crypto_box_seal(sealed, (const uint8_t *)note, n, c->pk) != 0)
        return errbuf_say(err, errlen, CONSOLE_E_NOMEM, "could not seal the note");
    if (postbox_set_status(c->pb, t->seq, status, sealed, n + crypto_box_SEALBYTES, now, err,
                           errlen))
        return CONSOLE_E_IO;
    return 0;
}

struct history_ctx {
    struct console *c;
    char *note; /* sodium_malloc'd, POSTBOX_NOTE_MAX + 1 */
    int (*fn)(void *ctx, const struct console_event *e);
    void *ctx;
};

static int history_one(void *ctx, const struct postbox_event *e)
{
    struct history_ctx *h = ctx;
    struct console_event ev = {.at = e->at, .status = e->status, .note = h->note};
    h->note[0] = 0;
    if (e->note_len > crypto_box_SEALBYTES &&
        e->note_len - crypto_box_SEALBYTES <= POSTBOX_NOTE_MAX && h->c->key &&
        crypto_box_seal_open((uint8_t *)h->note, e->note, e->note_len, h->c->key->pk,
                             h->c->key->sk) == 0)
        h->note[e->note_len - crypto_box_SEALBYTES] = 0;
    else if (e->note_len)
        ev.sealed = 1;
    int rc = h->fn(h->ctx, &ev);
    sodium_memzero(h->note, POSTBOX_NOTE_MAX + 1);
    return rc;
}

int console_history(struct console *c, const struct postbox_tip *t,
                    int (*fn)(void *ctx, const struct console_event *e), void *ctx, char *err,
                    size_t errlen)
{
    struct history_ctx h = {c, sodium_malloc(POSTBOX_NOTE_MAX + 1), fn, ctx};
    if (!h.note)
        return errbuf_say(err, errlen, CONSOLE_E_NOMEM, "out of memory");
    int rc = postbox_history(c->pb, t->seq, history_one, &h, err, errlen);
    sodium_free(h.note);
    return rc < 0 ? CONSOLE_E_IO : rc;
}

/* ---- the kiosks ---- */

struct kiosks {
    struct console_kiosk *k;
    size_t n, cap;
    struct console *c;
    char first[512]; /* the first tip that could not be read */
};

static struct console_kiosk *kiosk_add(struct kiosks *ks)
{
    if (ks->n == ks->cap) {
        size_t cap = ks->cap ? ks->cap * 2 : 16;
        struct console_kiosk *nk = realloc(ks->k, cap * sizeof *nk);
        if (!nk)
            return NULL;
        ks->k = nk;
        ks->cap = cap;
    }
    struct console_kiosk *k = &ks->k[ks->n++];
    memset(k, 0, sizeof *k);
    return k;
}

static int kiosk_enrolled(void *ctx, const struct registry_entry *e)
{
    struct console_kiosk *k = kiosk_add(ctx);
    if (!k)
        return 1;
    snprintf(k->id, sizeof k->id, "%s", e->id);
    memcpy(k->device_pk, e->device_pk, 32);
    k->enrolled = 1;
    k->enrolled_at = e->enrolled;
    k->revoked = e->revoked != 0;
    k->revoked_at = e->revoked;
    snprintf(k->reason, sizeof k->reason, "%s", e->reason);
    return 0;
}

static int kiosk_tip(void *ctx, const struct postbox_tip *t)
{
    struct kiosks *ks = ctx;
    uint8_t *env = NULL;
    size_t len = 0;
    struct envelope_header_info h;
    char err[512];
    if (postbox_envelope(ks->c->pb, t->seq, &env, &len, err, sizeof err) ||
        envelope_parse_header(env, len, &h, err, sizeof err)) {
        free(env);
        if (!ks->first[0])
            snprintf(ks->first, sizeof ks->first, "%s", err);
        return 0;
    }
    free(env);
    struct console_kiosk *k = NULL;
    for (size_t i = 0; i < ks->n && !k; i++)
        if (memcmp(ks->k[i].device_pk, h.device_pk, 32) == 0)
            k = &ks->k[i];
    if (!k) {
        if (!(k = kiosk_add(ks)))
            return 1;
        memcpy(k->device_pk, h.device_pk, 32);
        char fp[KEYS_FINGERPRINT_HEX];
        keys_fingerprint(h.device_pk, 32, fp);
        snprintf(k->id, sizeof k->id, "unknown kiosk key %s", fp);
    }
    k->tips++;
    if (t->outer == ENVELOPE_E_CUT_SHORT)
        k->cut_short++;
    else if (t->outer != 0)
        k->refused++;
    if (t->received > k->last_received)
        k->last_received = t->received;
    return 0;
}

int console_kiosks(struct console *c, struct console_kiosk **out, size_t *n, char *err,
                   size_t errlen)
{
    *out = NULL;
    *n = 0;
    struct kiosks ks = {.c = c};
    int rc = registry_list(c->reg, kiosk_enrolled, &ks, err, errlen);
    if (rc == 0)
        rc = postbox_foreach(c->pb, kiosk_tip, &ks, err, errlen);
    if (rc == 1)
        rc = errbuf_say(err, errlen, CONSOLE_E_NOMEM, "out of memory");
    else if (rc)
        rc = CONSOLE_E_IO;
    else if (ks.first[0])
        rc = errbuf_say(err, errlen, CONSOLE_E_IO, "a tip held here cannot be read: %s", ks.first);
    if (rc) {
        free(ks.k);
        return rc;
    }
    *out = ks.k;
    *n = ks.n;
    return 0;
}

/* ---- words for people ---- */

const char *console_category_name(int c)
{
    switch (c) {
    case CATEGORY_UNSET:
        return "not chosen";
    case CATEGORY_BORDER:
        return "strangers / border crossing";
    case CATEGORY_DRUGS:
        return "drugs";
    case CATEGORY_WEAPONS:
        return "weapons or explosives";
    case CATEGORY_SMUGGLING:
        return "smuggling";
    case CATEGORY_THEFT:
        return "theft";
    case CATEGORY_TRAFFICKING:
        return "people trafficking";
    case CATEGORY_OTHER:
        return "something else";
    }
    return "unknown category";
}

const char *console_category_short(int c)
{
    switch (c) {
    case CATEGORY_UNSET:
        return "-";
    case CATEGORY_BORDER:
        return "border";
    case CATEGORY_DRUGS:
        return "drugs";
    case CATEGORY_WEAPONS:
        return "weapons";
    case CATEGORY_SMUGGLING:
        return "smuggling";
    case CATEGORY_THEFT:
        return "theft";
    case CATEGORY_TRAFFICKING:
        return "trafficking";
    case CATEGORY_OTHER:
        return "other";
    }
    return "?";
}

const char *console_when_name(int w)
{
    switch (w) {
    case WHEN_TODAY:
        return "today";
    case WHEN_YESTERDAY:
        return "yesterday";
    case WHEN_THIS_WEEK:
        return "this week";
    case WHEN_EARLIER:
        return "earlier";
    }
    return "not said";
}

void console_verdict_line(const struct console_tip *v, char *out, size_t cap)
{
    if (v->verdict == 0)
        snprintf(out, cap, "complete and signed by enrolled kiosk %s", v->kiosk);
    else if (v->verdict == ENVELOPE_E_CUT_SHORT)
        snprintf(out, cap,
                 "cut short by power loss: kiosk %s lost power while this tip was being "
                 "recorded; what was saved is genuine",
                 v->kiosk);
    else
        snprintf(out, cap, "refused: %s", v->why[0] ? v->why : envelope_strerror(v->verdict));
}

void console_time(int64_t t, int zone, char out[40])
{
    time_t tt = (time_t)t;
    struct tm tm;
    if (!localtime_r(&tt, &tm) ||
        !strftime(out, 40, zone ? "%Y-%m-%d %H:%M %Z" : "%Y-%m-%d %H:%M", &tm))
        snprintf(out, 40, "@%lld", (long long)t);
}

void console_capture_day(uint16_t day, char out[40])
{
    if (!day) {
        snprintf(out, 40, "clock not set");
        return;
    }
    /* Days since 2020-01-01, as the kiosk counts them. */
    time_t t = (time_t)1577836800 + (time_t)day * 86400;
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, 40, "%Y-%m-%d", &tm);
}

void console_duration(double s, char out[16])
{
    if (s <= 0) {
        snprintf(out, 16, "-");
        return;
    }
    long t = (long)(s + 0.5);
    snprintf(out, 16, "%ld:%02ld", t / 60, t % 60);
}

int console_write_new(const char *path, const uint8_t *b, size_t n, char *err, size_t errlen)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) {
        int e = errno;
        return errbuf_say(err, errlen, e == EEXIST ? CONSOLE_E_EXISTS : CONSOLE_E_IO,
                          "cannot write %s: %s%s", path, strerror(e),
                          e == EEXIST ? " (it exists already)" : "");
    }
    size_t off = 0;
    while (off < n) {
        ssize_t w = write(fd, b + off, n - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            int e = w < 0 ? errno : EIO;
            close(fd);
            unlink(path);
            return errbuf_say(err, errlen, CONSOLE_E_IO, "cannot write %s: %s", path, strerror(e));
        }
        off += (size_t)w;
    }
    int synced = fsync(fd) == 0 ? 0 : errno;
    if (close(fd) != 0 && !synced)
        synced = errno;
    if (synced) {
        int e = synced;
        unlink(path);
        return errbuf_say(err, errlen, CONSOLE_E_IO, "cannot write %s: %s", path, strerror(e));
    }
    return 0;
}
