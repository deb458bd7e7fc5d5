/*
 * Tests for src/delivery/mailer.c and src/post/mailbox.c with fakes for the SMTP server
 * and the IMAP mailbox (tests/t_mail.sh runs the real ones): every part
 * must be accepted before a tip leaves the queue; the console puts parts
 * back together in any order, drops duplicates, leaves incomplete tips and
 * strangers' mails unread, and marks mails read only after the store.
 */
#include "check.h"
#include "core/config.h"
#include "core/envelope.h"
#include "post/mailbox.h"
#include "delivery/mailer.h"
#include "core/queue.h"
#include "kiosk/tip.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>

#define NOW 1744977600LL

static const struct mailer_opts OPTS = {"kiosk@na-co-sa.example", "tips@post.example", 16384};

/* ---- kiosk.conf mail keys ---- */

static int read_conf(const char *extra, struct kiosk_conf *k, char *err, size_t errlen)
{
    char text[2048];
    snprintf(text, sizeof text,
             "kiosk_id = na-co-sa-01\n"
             "post_key = g07GJHdmgCISZ3eyNdeOH/FAZ4F6A+j9q+B/Dr96PlM=\n%s",
             extra);
    struct config *c = NULL;
    int rc = config_load_mem(&c, "kiosk.conf", text, strlen(text), err, errlen);
    if (rc == 0)
        rc = config_read_kiosk(c, k, err, errlen);
    config_free(c);
    return rc;
}

TEST(test_mail_config_defaults_leave_mail_off)
{
    static struct kiosk_conf k;
    char err[512] = "";
    ASSERT_EQ(read_conf("", &k, err, sizeof err), 0);
    ASSERT_STR_EQ(k.mail_smtp_url, "");
    ASSERT_EQ(k.mail_part_bytes, 524288);
    ASSERT_STR_EQ(k.mail_ca_file, "");
}

TEST(test_mail_config_reads_every_mail_key)
{
    static struct kiosk_conf k;
    char err[512] = "";
    ASSERT_EQ(read_conf("mail_smtp_url = smtp://mail.example.org:587\n"
                        "mail_user = kiosk\nmail_password = \"p a s s\"\n"
                        "mail_from = kiosk@example.org\nmail_to = tips@example.org\n"
                        "mail_part_bytes = 65536\nmail_ca_file = /etc/ca.pem\n",
                        &k, err, sizeof err),
              0);
    ASSERT_STR_EQ(k.mail_smtp_url, "smtp://mail.example.org:587");
    ASSERT_STR_EQ(k.mail_password, "p a s s");
    ASSERT_STR_EQ(k.mail_to, "tips@example.org");
    ASSERT_EQ(k.mail_part_bytes, 65536);
    ASSERT_STR_EQ(k.mail_ca_file, "/etc/ca.pem");
}

TEST(test_mail_config_errors_say_what_to_fix)
{
    static struct kiosk_conf k;
    static const struct {
        const char *text, *msg;
    } cases[] = {
        {"mail_smtp_url = http://mail.example.org\n",
         "kiosk.conf: mail_smtp_url = http://mail.example.org is not an smtp:// or smtps:// "
         "address (like smtp://mail.example.org:587)"},
        {"mail_smtp_url = smtps://mail.example.org\nmail_from = a@b.c\n",
         "kiosk.conf: mail_to is missing: mail_smtp_url is set, so add a line \"mail_to = ...\""},
        {"mail_to = <tips@example.org>\n",
         "kiosk.conf: mail_to = <tips@example.org> is not one plain e-mail address (like "
         "post@example.org)"},
        {"mail_from = a@b.c, evil@x.y\n", "is not one plain e-mail address"},
        {"mail_part_bytes = 1000\n",
         "kiosk.conf: mail_part_bytes = 1000 is out of range (16384\xe2\x80\x93"
         "8388608)"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char err[512] = "";
        ASSERT(read_conf(cases[i].text, &k, err, sizeof err) != 0);
        ASSERT_CONTAINS(err, cases[i].msg);
    }
}

/* ---- the mail format ---- */

static uint8_t *random_bytes(size_t n)
{
    uint8_t *b = malloc(n);
    ASSERT(b);
    randombytes_buf(b, n);
    return b;
}

TEST(test_mail_a_built_part_parses_back_to_its_bytes)
{
    ASSERT(sodium_init() >= 0);
    uint8_t id[16];
    randombytes_buf(id, 16);
    uint8_t *bytes = random_bytes(20000);
    char *msg;
    size_t len;
    char err[512];
    ASSERT_EQ(mailer_build_part(&OPTS, id, bytes, 20000, 2, 3, 16384, 50000, NOW, &msg, &len, err,
                                sizeof err),
              0);
    char hex[33];
    sodium_bin2hex(hex, sizeof hex, id, 16);
    char subject[128];
    snprintf(subject, sizeof subject, "Subject: Hom thu tip %s part 2/3\r\n", hex);
    ASSERT_CONTAINS(msg, subject);
    ASSERT_CONTAINS(msg, "Message-ID: <");
    ASSERT_CONTAINS(msg, ".2of3@na-co-sa.example>\r\n");
    ASSERT_CONTAINS(msg, "Date: Fri, 18 Apr 2025 12:00:00 +0000\r\n");
    ASSERT_CONTAINS(msg, "Content-Transfer-Encoding: base64\r\n");
    struct mailbox_part p;
    ASSERT_EQ(mailbox_parse((const uint8_t *)msg, len, 0, &p, err, sizeof err), 0);
    ASSERT_MEM_EQ(p.tip_id, id, 16);
    ASSERT_EQ(p.index, 2);
    ASSERT_EQ(p.count, 3);
    ASSERT_EQ(p.offset, 16384);
    ASSERT_EQ(p.total, 50000);
    ASSERT_EQ(p.len, 20000);
    ASSERT_MEM_EQ(p.bytes, bytes, 20000);
    mailbox_part_clear(&p);
    /* The header block alone (IMAP BODY[HEADER]) gives the same facts, no bytes. */
    const char *end = strstr(msg, "\r\n\r\n");
    ASSERT(end);
    ASSERT_EQ(mailbox_parse((const uint8_t *)msg, (size_t)(end - msg) + 4, 1, &p, err, sizeof err),
              0);
    ASSERT_EQ(p.offset, 16384);
    ASSERT(p.bytes == NULL);
    mailbox_part_clear(&p);
    /* Mail systems may rewrap lines and use bare LF: still the same bytes. */
    size_t n2 = 0;
    char *lf = malloc(len);
    for (size_t i = 0; i < len; i++)
        if (msg[i] != '\r')
            lf[n2++] = msg[i];
    ASSERT_EQ(mailbox_parse((const uint8_t *)lf, n2, 0, &p, err, sizeof err), 0);
    ASSERT_MEM_EQ(p.bytes, bytes, 20000);
    mailbox_part_clear(&p);
    free(lf);
    free(msg);
    free(bytes);
}

/* A copy of msg with the first `from` replaced by `to`; caller frees. */
static char *patched(const char *msg, size_t len, const char *from, const char *to, size_t *out)
{
    const char *at = memmem(msg, len, from, strlen(from));
    ASSERT(at);
    size_t fl = strlen(from), tl = strlen(to), head = (size_t)(at - msg);
    char *m = malloc(len + tl);
    ASSERT(m);
    memcpy(m, msg, head);
    memcpy(m + head, to, tl);
    memcpy(m + head + tl, at + fl, len - head - fl);
    *out = len - fl + tl;
    return m;
}

TEST(test_mail_parser_refuses_damaged_or_hostile_mails)
{
    ASSERT(sodium_init() >= 0);
    uint8_t id[16] = {1, 2, 3};
    uint8_t *bytes = random_bytes(1000);
    char *msg;
    size_t len;
    char err[512];
    ASSERT_EQ(
        mailer_build_part(&OPTS, id, bytes, 1000, 1, 1, 0, 1000, NOW, &msg, &len, err, sizeof err),
        0);
    struct mailbox_part p;
    static const struct {
        const char *from, *to, *msg;
        int rc;
    } cases[] = {
        {"X-Homthu-Tip:", "X-Homthu-Tap:", "not a Hòm thư tip", MAILBOX_E_FOREIGN},
        {"X-Homthu-Part: 1/1", "X-Homthu-Part: 2/1", "is not i/n", MAILBOX_E_FORMAT},
        {"X-Homthu-Total: 1000", "X-Homthu-Total: 999", "do not fit", MAILBOX_E_FORMAT},
        {"X-Homthu-Total: 1000", "X-Homthu-Total: 99999999", "above the", MAILBOX_E_FORMAT},
        {"X-Homthu-Offset: 0", "X-Homthu-Offset: -", "not a number", MAILBOX_E_FORMAT},
        {"X-Homthu-Part-Bytes: 1000", "X-Homthu-Part-Bytes: 100", "not valid base64",
         MAILBOX_E_FORMAT},
        {"X-Homthu-Part-Hash: ", "X-Homthu-Part-Hash: 0", "not 64 hex digits", MAILBOX_E_FORMAT},
        {"multipart/mixed", "multipart/other", "not multipart/mixed", MAILBOX_E_FORMAT},
        {"Content-Transfer-Encoding: base64", "Content-Transfer-Encoding: 8bit",
         "no base64 attachment", MAILBOX_E_FORMAT},
        {"--\r\n", "\r\n\r\n", "closing boundary", MAILBOX_E_FORMAT},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        size_t ml;
        char *m = patched(msg, len, cases[i].from, cases[i].to, &ml);
        err[0] = 0;
        int rc = mailbox_parse((const uint8_t *)m, ml, 0, &p, err, sizeof err);
        if (rc != cases[i].rc || !strstr(err, cases[i].msg))
            check_fail(__FILE__, __LINE__, "case %zu: rc %d, \"%s\"", i, rc, err);
        ASSERT(p.bytes == NULL);
        free(m);
    }
    /* One changed base64 letter: the hash catches it. */
    char *m = malloc(len);
    memcpy(m, msg, len);
    char *b64 = strstr(m, "base64\r\n\r\n") + 10;
    b64[5] = b64[5] == 'A' ? 'B' : 'A';
    ASSERT_EQ(mailbox_parse((const uint8_t *)m, len, 0, &p, err, sizeof err), MAILBOX_E_FORMAT);
    ASSERT_CONTAINS(err, "does not match its hash");
    free(m);
    /* A header given twice is refused, not guessed at. */
    size_t big = len + 64;
    m = malloc(big);
    int n = snprintf(m, big, "X-Homthu-Offset: 0\r\n");
    memcpy(m + n, msg, len);
    ASSERT_EQ(mailbox_parse((const uint8_t *)m, len + (size_t)n, 0, &p, err, sizeof err),
              MAILBOX_E_FORMAT);
    ASSERT_CONTAINS(err, "X-Homthu-Offset appears twice");
    free(m);
    free(msg);
    free(bytes);
}

/* ---- the mailer with a fake SMTP server ---- */

struct fake_smtp {
    int calls, fail_at; /* fail the fail_at-th call (1-based); 0 never */
    char *msgs[64];
    size_t lens[64];
    int n;
};

static int fake_send(void *ctx, const char *from, const char *to, const uint8_t *msg, size_t len,
                     char *err, size_t errlen)
{
    struct fake_smtp *f = ctx;
    ASSERT_STR_EQ(from, OPTS.from);
    ASSERT_STR_EQ(to, OPTS.to);
    if (++f->calls == f->fail_at) {
        snprintf(err, errlen, "451 try again later");
        return -1;
    }
    ASSERT(f->n < 64);
    f->msgs[f->n] = malloc(len);
    memcpy(f->msgs[f->n], msg, len);
    f->lens[f->n++] = len;
    return 0;
}

static void fake_smtp_free(struct fake_smtp *f)
{
    for (int i = 0; i < f->n; i++)
        free(f->msgs[i]);
    memset(f, 0, sizeof *f);
}

static uint8_t post_pk[32], post_sk[32], dev_pk[32], dev_sk[64];

/* A sealed tip of about `text_bytes` of text in a queue in the test's dir. */
static struct queue *queue_with_tip(size_t text_bytes, uint8_t id[16])
{
    ASSERT(sodium_init() >= 0);
    crypto_box_keypair(post_pk, post_sk);
    crypto_sign_keypair(dev_pk, dev_sk);
    struct queue *q;
    unsigned faults = 0;
    char err[512];
    ASSERT_EQ(queue_open(&q, check_dir(), &faults, err, sizeof err), 0);
    struct tip_keys k;
    memcpy(k.post_pk, post_pk, 32);
    memcpy(k.device_sk, dev_sk, 64);
    struct envelope_meta m = {.language = "hmn", .category = CATEGORY_DRUGS};
    struct tip_session *s;
    ASSERT_EQ(tip_begin(&s, q, &k, &m, NULL, NOW, 1, err, sizeof err), 0);
    memcpy(id, tip_id(s), 16);
    char *text = malloc(65536);
    memset(text, 'a', 65536);
    for (size_t done = 0; done < text_bytes; done += 65536) {
        size_t n = text_bytes - done < 65536 ? text_bytes - done : 65536;
        ASSERT_EQ(tip_add_text(s, text, n, err, sizeof err), 0);
    }
    free(text);
    ASSERT_EQ(tip_send(s, NOW, err, sizeof err), 0);
    return q;
}

TEST(test_mail_a_tip_leaves_the_queue_only_after_every_part_was_accepted)
{
    uint8_t id[16];
    struct queue *q = queue_with_tip(60000, id); /* ~ 70 KB: 5 parts of 16 KiB */
    struct queue_tip t;
    ASSERT_EQ(queue_get_tip(q, id, &t), 0);
    uint32_t parts = mailer_part_count(t.bytes, OPTS.part_bytes);
    ASSERT(parts >= 4);
    struct fake_smtp f = {.fail_at = 3};
    struct mailer_transport tr = {fake_send, &f};
    struct mailer *m;
    char err[512];
    ASSERT_EQ(mailer_new(&m, q, &OPTS, &tr, err, sizeof err), 0);
    struct mailer_report r;
    ASSERT_EQ(mailer_send_next(m, NOW, &r, err, sizeof err), MAILER_E_SEND);
    ASSERT_CONTAINS(err, "451 try again later");
    ASSERT_EQ(r.sent, 2);
    ASSERT_EQ(r.parts, parts);
    ASSERT_EQ(queue_get_tip(q, id, &t), 0);
    ASSERT_EQ(t.state, QUEUE_SEALED); /* still waiting: nothing marked, nothing purged */

    /* The next try goes on from part 3 and then lets the tip go. */
    ASSERT_EQ(mailer_send_next(m, NOW, &r, err, sizeof err), 0);
    ASSERT_EQ(r.sent, parts - 2);
    ASSERT_EQ(f.n, (int)parts);
    ASSERT_EQ(queue_get_tip(q, id, &t), 0);
    ASSERT_EQ(t.state, QUEUE_PURGED);
    ASSERT_EQ(mailer_send_next(m, NOW, &r, err, sizeof err), MAILER_E_NOTHING);

    /* Each mail holds part i of n, in order, and together they are the envelope. */
    for (int i = 0; i < f.n; i++) {
        struct mailbox_part p;
        ASSERT_EQ(mailbox_parse((const uint8_t *)f.msgs[i], f.lens[i], 0, &p, err, sizeof err), 0);
        ASSERT_EQ(p.index, (uint32_t)i + 1);
        ASSERT_EQ(p.count, parts);
        ASSERT_EQ(p.offset, (uint64_t)i * OPTS.part_bytes);
        mailbox_part_clear(&p);
    }
    mailer_free(m);
    fake_smtp_free(&f);
    queue_close(q);
}

TEST(test_mail_mailer_refuses_bad_settings)
{
    uint8_t id[16];
    struct queue *q = queue_with_tip(10, id);
    struct fake_smtp f = {0};
    struct mailer_transport tr = {fake_send, &f};
    struct mailer *m = NULL;
    char err[512] = "";
    struct mailer_opts o = OPTS;
    o.part_bytes = 100;
    ASSERT_EQ(mailer_new(&m, q, &o, &tr, err, sizeof err), MAILER_E_ARG);
    ASSERT_CONTAINS(err, "out of range");
    o = OPTS;
    o.to = "a@b.c\r\nBcc: x@y.z";
    ASSERT_EQ(mailer_new(&m, q, &o, &tr, err, sizeof err), MAILER_E_ARG);
    ASSERT(m == NULL);
    struct mailer_transport smtp;
    struct mailer_smtp_opts so = {.url = "http://x"};
    ASSERT_EQ(mailer_smtp_new(&smtp, &so, err, sizeof err), MAILER_E_CONFIG);
    queue_close(q);
}

/* ---- the mailbox with a fake IMAP server ---- */

struct fake_msg {
    uint32_t uid;
    char *b;
    size_t len;
    int seen, pending;
};

struct fake_imap {
    struct fake_msg m[64];
    int n;
    int fail_fetch_uid;
};

static void box_add(struct fake_imap *f, const char *b, size_t len)
{
    ASSERT(f->n < 64);
    struct fake_msg *m = &f->m[f->n];
    m->uid = (uint32_t)(100 + f->n);
    m->b = malloc(len + 1);
    memcpy(m->b, b, len);
    m->b[len] = 0;
    m->len = len;
    f->n++;
}

static struct fake_msg *box_find(struct fake_imap *f, uint32_t uid)
{
    for (int i = 0; i < f->n; i++)
        if (f->m[i].uid == uid)
            return &f->m[i];
    return NULL;
}

static int fi_search(void *ctx, int all, uint32_t **uids, size_t *n, char *err, size_t errlen)
{
    (void)err;
    (void)errlen;
    struct fake_imap *f = ctx;
    *uids = malloc(64 * sizeof **uids);
    *n = 0;
    for (int i = 0; i < f->n; i++)
        if (all || !f->m[i].seen || f->m[i].pending)
            (*uids)[(*n)++] = f->m[i].uid;
    return 0;
}

static int fi_fetch(void *ctx, uint32_t uid, int headers_only, uint8_t **msg, size_t *len,
                    char *err, size_t errlen)
{
    struct fake_imap *f = ctx;
    struct fake_msg *m = box_find(f, uid);
    ASSERT(m);
    if ((int)uid == f->fail_fetch_uid) {
        snprintf(err, errlen, "link down");
        return -1;
    }
    m->seen = 1; /* as BODY[] does: this is why the pending keyword exists */
    size_t n = m->len;
    if (headers_only) {
        const char *end = strstr(m->b, "\r\n\r\n");
        n = end ? (size_t)(end - m->b) + 4 : m->len;
    }
    *msg = malloc(n ? n : 1);
    memcpy(*msg, m->b, n);
    *len = n;
    return 0;
}

static int fi_flag(void *ctx, const uint32_t *uids, size_t n, enum mailbox_flag_op op, char *err,
                   size_t errlen)
{
    (void)err;
    (void)errlen;
    struct fake_imap *f = ctx;
    for (size_t i = 0; i < n; i++) {
        struct fake_msg *m = box_find(f, uids[i]);
        ASSERT(m);
        if (op == MAILBOX_MARK_PENDING)
            m->pending = 1;
        else if (op == MAILBOX_MARK_DONE)
            m->seen = 1, m->pending = 0;
        else
            m->seen = 0, m->pending = 0;
    }
    return 0;
}

static void fake_imap_free(struct fake_imap *f)
{
    for (int i = 0; i < f->n; i++)
        free(f->m[i].b);
    memset(f, 0, sizeof *f);
}

struct stored {
    int calls, fail;
    uint8_t id[16];
    uint8_t *env;
    size_t len;
};

static int store_fn(void *ctx, const uint8_t id[16], const uint8_t *env, size_t len, char *err,
                    size_t errlen)
{
    struct stored *s = ctx;
    s->calls++;
    if (s->fail) {
        snprintf(err, errlen, "disk full");
        return -1;
    }
    memcpy(s->id, id, 16);
    free(s->env);
    s->env = malloc(len);
    memcpy(s->env, env, len);
    s->len = len;
    return 0;
}

static char notes[4096];
static void note_fn(void *ctx, const char *line)
{
    (void)ctx;
    size_t n = strlen(notes);
    snprintf(notes + n, sizeof notes - n, "%s\n", line);
}

/* Mail a whole envelope of `total` random bytes in parts of 16 KiB into fake mail. */
static uint8_t *mail_tip(struct fake_smtp *f, uint8_t id[16], size_t total)
{
    randombytes_buf(id, 16);
    uint8_t *env = random_bytes(total);
    uint32_t n = mailer_part_count(total, OPTS.part_bytes);
    for (uint32_t i = 0; i < n; i++) {
        size_t off = (size_t)i * OPTS.part_bytes;
        size_t len = total - off < OPTS.part_bytes ? total - off : OPTS.part_bytes;
        char *msg, err[256];
        size_t ml;
        ASSERT_EQ(mailer_build_part(&OPTS, id, env + off, len, i + 1, n, off, total, NOW, &msg, &ml,
                                    err, sizeof err),
                  0);
        ASSERT(f->n < 64);
        f->msgs[f->n] = msg;
        f->lens[f->n++] = ml;
    }
    return env;
}

TEST(test_mail_parts_in_any_order_with_copies_make_one_tip)
{
    ASSERT(sodium_init() >= 0);
    struct fake_smtp sent = {0};
    uint8_t id[16];
    uint8_t *env = mail_tip(&sent, id, 50000); /* 4 parts */
    ASSERT_EQ(sent.n, 4);
    struct fake_imap box = {0};
    /* Delivered out of order, part 2 twice, and a stranger's mail among them. */
    static const int order[] = {3, 1, 0, 1, 2};
    for (size_t i = 0; i < 5; i++)
        box_add(&box, sent.msgs[order[i]], sent.lens[order[i]]);
    const char spam[] = "From: a@b.c\r\nSubject: hello\r\n\r\nbuy now\r\n";
    box_add(&box, spam, sizeof spam - 1);
    struct mailbox_port port = {fi_search, fi_fetch, fi_flag, &box};
    struct stored st = {0};
    notes[0] = 0;
    struct mailbox_report rep = {.note = note_fn};
    char err[512];
    ASSERT_EQ(mailbox_pull(&port, 0, store_fn, &st, &rep, err, sizeof err), 0);
    ASSERT_EQ(st.calls, 1);
    ASSERT_EQ(st.len, 50000);
    ASSERT_MEM_EQ(st.env, env, 50000);
    ASSERT_MEM_EQ(st.id, id, 16);
    ASSERT_EQ(rep.tips, 1);
    ASSERT_EQ(rep.duplicates, 1);
    ASSERT_EQ(rep.foreign, 1);
    ASSERT_CONTAINS(notes, "1 mail in the mailbox is not Hòm thư tips: left unread");
    for (int i = 0; i < 5; i++)
        ASSERT(box.m[i].seen && !box.m[i].pending);
    ASSERT(!box.m[5].seen && !box.m[5].pending); /* the stranger's mail stays unread */
    /* Pulling again finds nothing new of ours. */
    st.calls = 0;
    memset(&rep, 0, sizeof rep);
    ASSERT_EQ(mailbox_pull(&port, 0, store_fn, &st, &rep, err, sizeof err), 0);
    ASSERT_EQ(st.calls, 0);
    ASSERT_EQ(rep.foreign, 1);
    free(st.env);
    free(env);
    fake_imap_free(&box);
    fake_smtp_free(&sent);
}

TEST(test_mail_a_missing_part_keeps_the_tip_unread_until_it_comes)
{
    ASSERT(sodium_init() >= 0);
    struct fake_smtp sent = {0};
    uint8_t id[16];
    uint8_t *env = mail_tip(&sent, id, 40000); /* 3 parts */
    struct fake_imap box = {0};
    box_add(&box, sent.msgs[0], sent.lens[0]);
    box_add(&box, sent.msgs[2], sent.lens[2]);
    struct mailbox_port port = {fi_search, fi_fetch, fi_flag, &box};
    struct stored st = {0};
    notes[0] = 0;
    struct mailbox_report rep = {.note = note_fn};
    char err[512];
    ASSERT_EQ(mailbox_pull(&port, 0, store_fn, &st, &rep, err, sizeof err), 0);
    ASSERT_EQ(st.calls, 0);
    ASSERT_EQ(rep.incomplete, 1);
    ASSERT_CONTAINS(notes, "is incomplete: parts 1, 3 of 3 here, 16384 of 40000 bytes in a row; "
                           "left unread until the rest arrives");
    ASSERT(!box.m[0].seen && !box.m[1].seen && !box.m[0].pending);
    box_add(&box, sent.msgs[1], sent.lens[1]);
    memset(&rep, 0, sizeof rep);
    ASSERT_EQ(mailbox_pull(&port, 0, store_fn, &st, &rep, err, sizeof err), 0);
    ASSERT_EQ(st.calls, 1);
    ASSERT_MEM_EQ(st.env, env, 40000);
    ASSERT(box.m[0].seen && box.m[1].seen && box.m[2].seen);
    free(st.env);
    free(env);
    fake_imap_free(&box);
    fake_smtp_free(&sent);
}

TEST(test_mail_a_tip_not_stored_stays_unread)
{
    ASSERT(sodium_init() >= 0);
    struct fake_smtp sent = {0};
    uint8_t id[16];
    uint8_t *env = mail_tip(&sent, id, 1000);
    struct fake_imap box = {0};
    box_add(&box, sent.msgs[0], sent.lens[0]);
    struct mailbox_port port = {fi_search, fi_fetch, fi_flag, &box};
    struct stored st = {.fail = 1};
    notes[0] = 0;
    struct mailbox_report rep = {.note = note_fn};
    char err[512];
    ASSERT_EQ(mailbox_pull(&port, 0, store_fn, &st, &rep, err, sizeof err), 0);
    ASSERT_EQ(rep.failed, 1);
    ASSERT_CONTAINS(notes, "was not stored: disk full; its mails stay unread");
    ASSERT(!box.m[0].seen && !box.m[0].pending);
    free(env);
    fake_imap_free(&box);
    fake_smtp_free(&sent);
}

TEST(test_mail_an_interrupted_pull_finds_its_mails_again)
{
    ASSERT(sodium_init() >= 0);
    struct fake_smtp sent = {0};
    uint8_t id[16];
    uint8_t *env = mail_tip(&sent, id, 20000); /* 2 parts */
    struct fake_imap box = {0};
    box_add(&box, sent.msgs[0], sent.lens[0]);
    box_add(&box, sent.msgs[1], sent.lens[1]);
    box.fail_fetch_uid = 101; /* the link drops after the first fetch marked mail 100 \Seen */
    struct mailbox_port port = {fi_search, fi_fetch, fi_flag, &box};
    struct stored st = {0};
    struct mailbox_report rep = {0};
    char err[512] = "";
    ASSERT_EQ(mailbox_pull(&port, 0, store_fn, &st, &rep, err, sizeof err), MAILBOX_E_SERVER);
    ASSERT_CONTAINS(err, "link down");
    ASSERT(box.m[0].seen && box.m[0].pending); /* read by the fetch, but still tagged */
    box.fail_fetch_uid = 0;
    memset(&rep, 0, sizeof rep);
    ASSERT_EQ(mailbox_pull(&port, 0, store_fn, &st, &rep, err, sizeof err), 0);
    ASSERT_EQ(st.calls, 1);
    ASSERT_MEM_EQ(st.env, env, 20000);
    ASSERT(!box.m[0].pending && box.m[0].seen);
    free(st.env);
    free(env);
    fake_imap_free(&box);
    fake_smtp_free(&sent);
}

TEST(test_mail_a_damaged_copy_of_a_part_is_passed_over_for_a_good_one)
{
    ASSERT(sodium_init() >= 0);
    struct fake_smtp sent = {0};
    uint8_t id[16];
    uint8_t *env = mail_tip(&sent, id, 1000);
    struct fake_imap box = {0};
    box_add(&box, sent.msgs[0], sent.lens[0]);
    box_add(&box, sent.msgs[0], sent.lens[0]);
    char *b64 = strstr(box.m[0].b, "base64\r\n\r\n") + 10;
    b64[3] = b64[3] == 'A' ? 'B' : 'A';
    struct mailbox_port port = {fi_search, fi_fetch, fi_flag, &box};
    struct stored st = {0};
    notes[0] = 0;
    struct mailbox_report rep = {.note = note_fn};
    char err[512];
    ASSERT_EQ(mailbox_pull(&port, 0, store_fn, &st, &rep, err, sizeof err), 0);
    ASSERT_EQ(st.calls, 1);
    ASSERT_MEM_EQ(st.env, env, 1000);
    ASSERT_EQ(rep.damaged, 1);
    ASSERT_CONTAINS(notes, "does not match its hash");
    free(st.env);
    free(env);
    fake_imap_free(&box);
    fake_smtp_free(&sent);
}

TEST(test_mail_imap_addresses_are_checked)
{
    struct mailbox_port p;
    char err[512] = "";
    struct mailbox_imap_opts o = {.url = "pop3://x"};
    ASSERT_EQ(mailbox_imap_new(&p, &o, err, sizeof err), MAILBOX_E_ARG);
    ASSERT_CONTAINS(err, "is not an IMAP address");
    o.url = "imaps://host/INBOX;UID=1";
    ASSERT_EQ(mailbox_imap_new(&p, &o, err, sizeof err), MAILBOX_E_ARG);
    o.url = "imaps://mail.example.org";
    ASSERT_EQ(mailbox_imap_new(&p, &o, err, sizeof err), 0);
    mailbox_imap_free(&p);
    mailbox_imap_free(&p); /* twice: a no-op */
}
