/*
 * homthu-post — the border post's console: fetch tips, read them, track them.
 *
 *   pull    [--relay URL --token TOKEN] [--imap URL] [--all]   fetch new tips
 *   list                                   every tip, newest first
 *   show    ID                             one tip: text, facts, verdict, history
 *   audio   ID [--out FILE] [--play]       the recording, as an Ogg Opus file
 *   status  ID STATUS --note TEXT          new, checking, acted, false, closed
 *   export  --out DIR                      CSV and audio files, for a report
 *
 * Every command takes --post POSTDIR (or env HOMTHU_POST): the folder that
 * homthu-provision post-init made, holding post.pub, post.key and
 * registry.db; postbox.db (the tips, sealed) and post.conf (optional
 * settings) live there too. docs/post-console.md describes it all.
 *
 * Tips stay sealed on disk. Reading one unlocks post.key with the officer's
 * passphrase (env HOMTHU_PASSPHRASE, else asked on the terminal without
 * echo) and decrypts in memory; only `audio` and `export` write plaintext,
 * and only where they are told to.
 *
 * Exit status: 0 done, 1 failed, 2 bad usage.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <opusfile.h>
#include <sodium.h>

#include "core/config.h"
#include "core/envelope.h"
#include "core/errbuf.h"
#include "core/keys.h"
#include "post/mailbox.h"
#include "core/passphrase.h"
#include "post/postbox.h"
#include "core/registry.h"

#define PROG "homthu-post"
#define TEXT_MAX (1024 * 1024)
#define RELAY_PAGE 50

enum { EXIT_USAGE = 2 };

static void die_msg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void die_msg(const char *fmt, ...)
{
    va_list ap;
    fputs(PROG ": ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

static int usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int usage_error(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, PROG " %s: ", cmd);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, " (see " PROG " %s --help)\n", cmd);
    return EXIT_USAGE;
}

static void short_id(const uint8_t id[16], char out[9])
{
    errbuf_hex(out, id, 4);
}

/* Local time, "2025-04-18 19:00" (+ zone when `zone`). */
static void when_str(int64_t t, int zone, char out[40])
{
    time_t tt = (time_t)t;
    struct tm tm;
    if (!localtime_r(&tt, &tm) ||
        !strftime(out, 40, zone ? "%Y-%m-%d %H:%M %Z" : "%Y-%m-%d %H:%M", &tm))
        snprintf(out, 40, "@%lld", (long long)t);
}

/* ---- the post folder ---- */

struct post {
    const char *dir;
    char pub[4096], key_path[4096], registry[4096], postbox[4096], conf[4096];
    struct postbox *pb;
    struct registry *reg;
    struct envelope_post_key *key; /* only after unlock() */
    uint8_t pk[32];
};

static int join(char *out, size_t cap, const char *dir, const char *name)
{
    int n = snprintf(out, cap, "%s/%s", dir, name);
    return n < 0 || (size_t)n >= cap ? -1 : 0;
}

static void post_close(struct post *p)
{
    keys_post_free(p->key);
    registry_close(p->reg);
    postbox_close(p->pb);
    p->key = NULL;
    p->reg = NULL;
    p->pb = NULL;
}

/* Open the postbox and the registry of POSTDIR; 0 or a message given. */
static int post_open(struct post *p, const char *dir)
{
    char err[1024];
    memset(p, 0, sizeof *p);
    p->dir = dir;
    if (join(p->pub, sizeof p->pub, dir, "post.pub") ||
        join(p->key_path, sizeof p->key_path, dir, "post.key") ||
        join(p->registry, sizeof p->registry, dir, REGISTRY_DB_NAME) ||
        join(p->postbox, sizeof p->postbox, dir, POSTBOX_DB_NAME) ||
        join(p->conf, sizeof p->conf, dir, "post.conf")) {
        die_msg("the folder name %s is too long", dir);
        return -1;
    }
    /* A wrong --post must not quietly start an empty postbox somewhere else. */
    if (keys_post_load_public(p->pub, p->pk, NULL, err, sizeof err)) {
        die_msg("%s is not a border post's folder: %s (check --post; homthu-provision post-init "
                "makes one)",
                dir, err);
        return -1;
    }
    if (registry_open(&p->reg, p->registry, 0, err, sizeof err) ||
        postbox_open(&p->pb, p->postbox, err, sizeof err)) {
        die_msg("%s", err);
        post_close(p);
        return -1;
    }
    return 0;
}

/* ---- the passphrase ---- */

/* Unlock post.key: HOMTHU_PASSPHRASE, else asked once on the terminal. */
static int unlock(struct post *p)
{
    char err[1024];
    char *pass = sodium_malloc(PASSPHRASE_MAX);
    if (!pass) {
        die_msg("out of memory for the passphrase");
        return -1;
    }
    int rc = -1;
    int from_env = passphrase_from_env(pass);
    if (from_env == PASSPHRASE_E_TOO_LONG) {
        die_msg("HOMTHU_PASSPHRASE is longer than %d bytes", PASSPHRASE_MAX - 1);
        goto out;
    }
    if (from_env == PASSPHRASE_E_UNSET) {
        int fd = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC);
        if (fd < 0) {
            die_msg("no terminal to ask the passphrase on: set HOMTHU_PASSPHRASE");
            goto out;
        }
        int r = passphrase_ask_tty(fd, "Passphrase of the post key: ", pass);
        close(fd);
        if (r != 0) {
            die_msg("could not read the passphrase from the terminal");
            goto out;
        }
    }
    if (keys_post_unlock(&p->key, p->key_path, pass, err, sizeof err)) {
        die_msg("%s", err);
        goto out;
    }
    rc = 0;
out:
    sodium_free(pass);
    return rc;
}

/* ---- opening a tip in memory ---- */

struct buf {
    uint8_t *b;
    size_t len, cap, max;
    int toobig;
};

static void buf_add(struct buf *x, const uint8_t *b, size_t n)
{
    if (x->toobig || x->len + n > x->max) {
        x->toobig = 1;
        return;
    }
    if (x->len + n + 1 > x->cap) {
        size_t cap = x->cap ? x->cap : 4096;
        while (cap < x->len + n + 1)
            cap *= 2;
        uint8_t *nb = malloc(cap);
        if (!nb) {
            x->toobig = 1;
            return;
        }
        if (x->b) {
            memcpy(nb, x->b, x->len);
            sodium_memzero(x->b, x->cap);
            free(x->b);
        }
        x->b = nb;
        x->cap = cap;
    }
    memcpy(x->b + x->len, b, n);
    x->len += n;
    x->b[x->len] = 0;
}

static void buf_free(struct buf *x)
{
    if (x->b) {
        sodium_memzero(x->b, x->cap);
        free(x->b);
    }
    memset(x, 0, sizeof *x);
}

/* Everything the post gets out of one envelope, in memory only. */
struct opened {
    int verdict; /* envelope_reader_finish(): 0, ENVELOPE_E_CUT_SHORT or a refusal */
    char why[512];
    int has_header, has_meta, has_when;
    struct envelope_header_info header;
    struct envelope_meta meta;
    uint8_t when;
    struct buf text, audio;
    double seconds; /* of audio; 0 when none */
    int texts;
    char kiosk[80]; /* "na-co-sa-01", or "unknown kiosk key …" */
    int kiosk_revoked;
    char revoked_why[300];
};

static void on_meta(void *ctx, const struct envelope_meta *m)
{
    struct opened *o = ctx;
    o->meta = *m;
    o->has_meta = 1;
}

static void on_text(void *ctx, const uint8_t *b, size_t n)
{
    struct opened *o = ctx;
    if (o->texts++)
        buf_add(&o->text, (const uint8_t *)"\n", 1);
    buf_add(&o->text, b, n);
}

static void on_audio(void *ctx, const uint8_t *b, size_t n)
{
    buf_add(&((struct opened *)ctx)->audio, b, n);
}

static void on_when(void *ctx, uint8_t w)
{
    struct opened *o = ctx;
    o->when = w;
    o->has_when = 1;
}

static void opened_free(struct opened *o)
{
    buf_free(&o->text);
    buf_free(&o->audio);
    sodium_memzero(o, sizeof *o);
}

static int genuine(int verdict)
{
    return verdict == 0 || verdict == ENVELOPE_E_CUT_SHORT;
}

/* Decrypt tip t in memory into o. -1 only when the tip cannot be read at all. */
static int open_tip(struct post *p, const struct postbox_tip *t, struct opened *o)
{
    char err[512];
    uint8_t *env = NULL;
    size_t len = 0;
    memset(o, 0, sizeof *o);
    o->text.max = TEXT_MAX;
    o->audio.max = ENVELOPE_DEFAULT_MAX_BYTES;
    if (postbox_envelope(p->pb, t->seq, &env, &len, err, sizeof err)) {
        die_msg("%s", err);
        return -1;
    }
    if (envelope_parse_header(env, len, &o->header, err, sizeof err) == 0) {
        o->has_header = 1;
        struct registry_entry e;
        if (registry_find_device(p->reg, o->header.device_pk, &e, err, sizeof err) == 0) {
            snprintf(o->kiosk, sizeof o->kiosk, "%s", e.id);
            if (e.revoked) {
                char at[40];
                when_str(e.revoked, 0, at);
                o->kiosk_revoked = 1;
                snprintf(o->revoked_why, sizeof o->revoked_why, "revoked %s: %s", at, e.reason);
            }
        } else {
            char fp[KEYS_FINGERPRINT_HEX];
            keys_fingerprint(o->header.device_pk, 32, fp);
            snprintf(o->kiosk, sizeof o->kiosk, "unknown kiosk key %s", fp);
        }
    } else {
        snprintf(o->kiosk, sizeof o->kiosk, "?");
    }
    struct envelope_reader *r = NULL;
    struct envelope_reader_opts ro = {
        .keys = p->key,
        .nkeys = 1,
        .device_check = registry_device_check,
        .device_ctx = p->reg,
        .records = {.meta = on_meta, .text = on_text, .audio = on_audio, .when = on_when, .ctx = o},
    };
    int rc = envelope_reader_new(&r, &ro);
    if (rc == 0) {
        /* In slices: the reader never needs the whole envelope at once. */
        for (size_t off = 0; off < len && rc == 0; off += 65536)
            rc = envelope_reader_feed(r, env + off, len - off < 65536 ? len - off : 65536, o->why,
                                      sizeof o->why);
        if (rc == 0)
            rc = envelope_reader_finish(r, o->why, sizeof o->why);
    } else {
        snprintf(o->why, sizeof o->why, "out of memory");
    }
    envelope_reader_free(r);
    free(env);
    /* A database that cannot be read fails closed: say so, not "unknown device". */
    if (rc == ENVELOPE_E_UNKNOWN_DEVICE && registry_last_error(p->reg)[0])
        snprintf(o->why, sizeof o->why, "unknown device: the registry cannot be read (%s)",
                 registry_last_error(p->reg));
    o->verdict = rc;
    if (o->text.toobig || o->audio.toobig) {
        o->verdict = ENVELOPE_E_NOMEM;
        snprintf(o->why, sizeof o->why, "the tip is too large to open here (out of memory)");
    }
    if (o->audio.len && genuine(o->verdict)) {
        int oerr = 0;
        OggOpusFile *of = op_open_memory(o->audio.b, o->audio.len, &oerr);
        if (of) {
            ogg_int64_t n = op_pcm_total(of, -1);
            if (n > 0)
                o->seconds = (double)n / 48000.0;
            op_free(of);
        }
    }
    return 0;
}

static const char *category_name(int c)
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

static const char *category_short(int c)
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

static const char *when_name(int w)
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

/* "2025-04-18" from days since 2020-01-01, or "clock not set". */
static void capture_day(uint16_t day, char out[40])
{
    if (!day) {
        snprintf(out, 40, "clock not set");
        return;
    }
    time_t t = (time_t)1577836800 + (time_t)day * 86400;
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, 40, "%Y-%m-%d", &tm);
}

static void duration(double s, char out[16])
{
    if (s <= 0) {
        snprintf(out, 16, "-");
        return;
    }
    long t = (long)(s + 0.5);
    snprintf(out, 16, "%ld:%02ld", t / 60, t % 60);
}

/* The verdict in one line for an officer. */
static void verdict_line(const struct opened *o, char *out, size_t cap)
{
    if (o->verdict == 0)
        snprintf(out, cap, "complete and signed by enrolled kiosk %s", o->kiosk);
    else if (o->verdict == ENVELOPE_E_CUT_SHORT)
        snprintf(out, cap,
                 "cut short by power loss: kiosk %s lost power while this tip was being "
                 "recorded; what was saved is genuine",
                 o->kiosk);
    else
        snprintf(out, cap, "refused: %s", o->why[0] ? o->why : envelope_strerror(o->verdict));
}

/* ---- list ---- */

struct list_ctx {
    struct post *p;
    int n, failed;
};

static int list_one(void *ctx, const struct postbox_tip *t)
{
    struct list_ctx *l = ctx;
    struct opened o;
    char sid[9], got[40], len[16];
    short_id(t->id, sid);
    when_str(t->received, 0, got);
    if (l->n++ == 0)
        printf("%-8s  %-16s  %-14s  %-11s  %-4s  %6s  %-8s  %s\n", "ID", "RECEIVED", "KIOSK",
               "CATEGORY", "LANG", "AUDIO", "STATUS", "NOTE");
    if (open_tip(l->p, t, &o)) {
        l->failed = 1;
        return 0;
    }
    duration(o.seconds, len);
    char note[160] = "";
    if (!genuine(o.verdict))
        snprintf(note, sizeof note, "REFUSED: %s", envelope_strerror(o.verdict));
    else if (o.has_meta && o.meta.training)
        snprintf(note, sizeof note, "PRACTICE - discard");
    else if (o.verdict == ENVELOPE_E_CUT_SHORT)
        snprintf(note, sizeof note, "cut short by power loss");
    else if (o.text.len)
        snprintf(note, sizeof note, "has text");
    char kiosk[15];
    snprintf(kiosk, sizeof kiosk, "%s", o.has_header && o.kiosk[0] ? o.kiosk : "?");
    printf("%-8s  %-16s  %-14s  %-11s  %-4s  %6s  %-8s  %s\n", sid, got, kiosk,
           o.has_meta ? category_short(o.meta.category) : "?", o.has_meta ? o.meta.language : "?",
           len, postbox_status_name(t->status), note);
    opened_free(&o);
    return 0;
}

static int count_one(void *ctx, const struct postbox_tip *t)
{
    (void)t;
    (*(int *)ctx)++;
    return 0;
}

/* ---- common option parsing ---- */

struct opts {
    const char *post, *relay, *token, *imap, *out, *note, *ca_file;
    int all, play, help;
};

static int parse_opts(const char *cmd, int argc, char **argv, const char *allowed, struct opts *o,
                      char **pos, int npos, int *got_pos)
{
    static const struct option longs[] = {
        {"post", required_argument, NULL, 'P'},
        {"relay", required_argument, NULL, 'r'},
        {"token", required_argument, NULL, 't'},
        {"imap", required_argument, NULL, 'i'},
        {"out", required_argument, NULL, 'o'},
        {"note", required_argument, NULL, 'n'},
        {"ca-file", required_argument, NULL, 'c'},
        {"all", no_argument, NULL, 'a'},
        {"play", no_argument, NULL, 'p'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int c;
    *got_pos = 0;
    optind = 1;
    /* "-": positionals come back as 1, in place, between the options. */
    while (optind < argc) {
        int li = -1;
        if ((c = getopt_long(argc, argv, "-:", longs, &li)) == -1)
            break;
        if (c == 1) {
            if (*got_pos >= npos)
                return usage_error(cmd, "unexpected argument \"%s\"", optarg);
            pos[(*got_pos)++] = optarg;
            continue;
        }
        if (c == ':')
            return usage_error(cmd, "%s needs a value", argv[optind - 1]);
        if (c == '?')
            return usage_error(cmd, "unknown option %s", argv[optind - 1]);
        if (c != 'h' && !strchr(allowed, c))
            return usage_error(cmd, "--%s is not an option of %s", li >= 0 ? longs[li].name : "?",
                               cmd);
        switch (c) {
        case 'P':
            o->post = optarg;
            break;
        case 'r':
            o->relay = optarg;
            break;
        case 't':
            o->token = optarg;
            break;
        case 'i':
            o->imap = optarg;
            break;
        case 'o':
            o->out = optarg;
            break;
        case 'n':
            o->note = optarg;
            break;
        case 'c':
            o->ca_file = optarg;
            break;
        case 'a':
            o->all = 1;
            break;
        case 'p':
            o->play = 1;
            break;
        case 'h':
            o->help = 1;
            break;
        }
    }
    if (!o->post)
        o->post = getenv("HOMTHU_POST");
    if (!o->help && (!o->post || !*o->post))
        return usage_error(cmd, "--post POSTDIR is missing (the folder with post.key, or set "
                                "HOMTHU_POST)");
    return 0;
}

static const char LIST_HELP[] =
    "usage: " PROG " list --post POSTDIR\n"
    "\n"
    "Every tip held here, newest first: its short id, when it was received,\n"
    "the kiosk, the category, the language, the length of the recording and\n"
    "its status. Decrypts in memory (asks for the passphrase of post.key, or\n"
    "reads HOMTHU_PASSPHRASE); writes nothing.\n";

static int cmd_list(int argc, char **argv)
{
    struct opts o = {0};
    char *pos[1];
    int np, rc = parse_opts("list", argc, argv, "P", &o, pos, 0, &np);
    if (rc)
        return rc;
    if (o.help) {
        fputs(LIST_HELP, stdout);
        return 0;
    }
    struct post p;
    if (post_open(&p, o.post))
        return 1;
    char err[512];
    int count = 0;
    if (postbox_foreach(p.pb, count_one, &count, err, sizeof err)) {
        die_msg("%s", err);
        post_close(&p);
        return 1;
    }
    if (count == 0) {
        printf("No tips yet: fetch them with " PROG " pull --post %s\n", o.post);
        post_close(&p);
        return 0;
    }
    if (unlock(&p)) {
        post_close(&p);
        return 1;
    }
    struct list_ctx l = {&p, 0, 0};
    rc = postbox_foreach(p.pb, list_one, &l, err, sizeof err);
    if (rc)
        die_msg("%s", err);
    printf("%d tip%s. " PROG " show ID shows one.\n", l.n, l.n == 1 ? "" : "s");
    post_close(&p);
    return rc || l.failed ? 1 : 0;
}

/* ---- show ---- */

static const char SHOW_HELP[] =
    "usage: " PROG " show ID --post POSTDIR\n"
    "\n"
    "One tip in full: whether it is genuine (complete and signed by an enrolled\n"
    "kiosk, cut short by a power loss, or refused and why), which kiosk sent\n"
    "it, when, its category, language and what the person typed, and the\n"
    "history of its status. ID is the id as list shows it, or any start of it\n"
    "of at least 4 hex digits.\n";

struct history_ctx {
    struct post *p;
    FILE *f;
    int n;
    struct buf *collect; /* export: the history in one line */
};

static int history_one(void *ctx, const struct postbox_event *e)
{
    struct history_ctx *h = ctx;
    char at[40];
    when_str(e->at, 0, at);
    char note[POSTBOX_NOTE_MAX + 1] = "";
    if (e->note_len > crypto_box_SEALBYTES &&
        e->note_len - crypto_box_SEALBYTES <= POSTBOX_NOTE_MAX && h->p->key &&
        crypto_box_seal_open((uint8_t *)note, e->note, e->note_len, h->p->key->pk, h->p->key->sk) ==
            0)
        note[e->note_len - crypto_box_SEALBYTES] = 0;
    else if (e->note_len)
        snprintf(note, sizeof note, "(a note this key cannot open)");
    if (h->collect) {
        char line[POSTBOX_NOTE_MAX + 100];
        int n = snprintf(line, sizeof line, "%s%s %s: %s", h->n ? " | " : "", at,
                         postbox_status_name(e->status), note);
        if (n > 0)
            buf_add(h->collect, (const uint8_t *)line, strlen(line));
    } else {
        if (h->n == 0)
            fprintf(h->f, "History:\n");
        fprintf(h->f, "  %s  %-8s  %s\n", at, postbox_status_name(e->status), note);
    }
    sodium_memzero(note, sizeof note);
    h->n++;
    return 0;
}

/* Find tip by id prefix; 0 or a message given. */
static int find_tip(struct post *p, const char *id, struct postbox_tip *t)
{
    char err[512];
    if (postbox_find(p->pb, id, t, err, sizeof err)) {
        die_msg("%s", err);
        return -1;
    }
    return 0;
}

/* Print text as is, but never control characters that could rewrite the terminal. */
static void print_safe(const uint8_t *b, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        uint8_t c = b[i];
        if ((c < 0x20 && c != '\n' && c != '\t') || c == 0x7f)
            fputc('?', stdout);
        else
            fputc(c, stdout);
    }
}

/*
 * The start that show and audio share: options, --help, the one ID, the
 * post opened and unlocked, the tip found and opened. Returns 1 with all
 * of it ready (the caller ends with opened_free and post_close), or 0 with
 * *rc set to what the command returns (0 after --help).
 */
static int start_one_tip(const char *cmd, const char *help, const char *flags, int argc,
                         char **argv, struct opts *o, struct post *p, struct postbox_tip *t,
                         struct opened *op, int *rc)
{
    char *pos[1];
    int np;
    *rc = parse_opts(cmd, argc, argv, flags, o, pos, 1, &np);
    if (*rc)
        return 0;
    if (o->help) {
        fputs(help, stdout);
        return 0;
    }
    *rc = 1;
    if (np != 1) {
        *rc = usage_error(cmd, "which tip? give its ID");
        return 0;
    }
    if (post_open(p, o->post))
        return 0;
    if (find_tip(p, pos[0], t) || unlock(p) || open_tip(p, t, op)) {
        post_close(p);
        return 0;
    }
    *rc = 0;
    return 1;
}

static int cmd_show(int argc, char **argv)
{
    struct opts o = {0};
    struct post p;
    struct postbox_tip t;
    struct opened op;
    int rc;
    if (!start_one_tip("show", SHOW_HELP, "P", argc, argv, &o, &p, &t, &op, &rc))
        return rc;
    char id[33], v[700], got[40], stored[40], day[40], len[16];
    errbuf_hex(id, t.id, 16);
    verdict_line(&op, v, sizeof v);
    when_str(t.received, 1, got);
    when_str(t.stored, 1, stored);
    printf("Tip       %s\n", id);
    printf("Verdict   %s\n", v);
    if (!genuine(op.verdict))
        printf("          Do not act on this tip: it cannot be shown to come from an enrolled "
               "kiosk.\n");
    printf("Kiosk     %s%s%s\n", op.kiosk, op.kiosk_revoked ? ", " : "",
           op.kiosk_revoked ? op.revoked_why : "");
    printf("Received  %s (%s)\n", got,
           t.source == POSTBOX_FROM_RELAY ? "by the relay" : "when pulled from the mailbox");
    printf("Status    %s\n", postbox_status_name(t.status));
    if (genuine(op.verdict) && op.has_meta) {
        if (op.meta.training)
            printf("PRACTICE  PRACTICE — discard: a training tip from a volunteer session\n");
        printf("Category  %s\n", category_name(op.meta.category));
        printf("Language  %s\n", op.meta.language[0] ? op.meta.language : "not set");
        uint8_t w = op.has_when ? op.when : op.meta.when;
        capture_day(op.meta.capture_day, day);
        printf("When      %s (as the person said; recorded on %s)\n", when_name(w), day);
        duration(op.seconds, len);
        if (op.audio.len)
            printf("Audio     %s (" PROG " audio %.8s --play, or --out FILE)\n", len, id);
        else
            printf("Audio     none\n");
        if (op.text.len) {
            printf("Text:\n");
            print_safe(op.text.b, op.text.len);
            printf("\n");
        } else {
            printf("Text      none\n");
        }
    } else if (op.text.len || op.audio.len) {
        printf("Content   withheld: the envelope was refused\n");
    }
    struct history_ctx h = {&p, stdout, 0, NULL};
    char err[512];
    if (postbox_history(p.pb, t.seq, history_one, &h, err, sizeof err))
        die_msg("%s", err);
    opened_free(&op);
    post_close(&p);
    return 0;
}

/* ---- audio ---- */

static const char AUDIO_HELP[] =
    "usage: " PROG " audio ID --post POSTDIR [--out FILE] [--play]\n"
    "\n"
    "The tip's recording as an Ogg Opus file that any player opens (VLC,\n"
    "a phone, a browser). --out FILE writes it there (default tip-ID.opus in\n"
    "this folder; never over an existing file). --play plays it at once with\n"
    "opusdec and aplay, or sox's play, writing nothing to disk.\n"
    "The file is the person's voice in the clear: delete it when done.\n";

/* Is `name` an executable in PATH? */
static int have_program(const char *name)
{
    const char *path = getenv("PATH");
    if (!path)
        return 0;
    char dir[4096];
    while (*path) {
        size_t n = strcspn(path, ":");
        int w = snprintf(dir, sizeof dir, "%.*s/%s", (int)n, path, name);
        if (n && w > 0 && (size_t)w < sizeof dir && access(dir, X_OK) == 0)
            return 1;
        path += n;
        if (*path == ':')
            path++;
    }
    return 0;
}

static int play(const uint8_t *b, size_t n)
{
    const char *cmd = NULL;
    if (have_program("opusdec") && have_program("aplay"))
        cmd = "opusdec --quiet --force-wav - - | aplay -q";
    else if (have_program("play"))
        cmd = "play -q -t opus -";
    if (!cmd) {
        die_msg("no audio player found: install opus-tools and alsa-utils (apt-get install "
                "opus-tools alsa-utils), or write the file with --out FILE and open it in any "
                "player");
        return -1;
    }
    printf("Playing with: %s\n", cmd);
    fflush(stdout);
    signal(SIGPIPE, SIG_IGN);
    FILE *f = popen(cmd, "w");
    if (!f) {
        die_msg("cannot start the player (%s): %s", cmd, strerror(errno));
        return -1;
    }
    size_t w = fwrite(b, 1, n, f);
    int st = pclose(f);
    if (w != n || st == -1 || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
        die_msg("the player stopped with an error (%s): is a sound card there? Or use --out "
                "FILE",
                cmd);
        return -1;
    }
    return 0;
}

/* Write bytes to a new file (never over one), 0600. */
static int write_new(const char *path, const uint8_t *b, size_t n)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) {
        die_msg("cannot write %s: %s%s", path, strerror(errno),
                errno == EEXIST ? " (it exists already: give another --out)" : "");
        return -1;
    }
    size_t off = 0;
    while (off < n) {
        ssize_t w = write(fd, b + off, n - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            die_msg("cannot write %s: %s", path, strerror(errno));
            close(fd);
            unlink(path);
            return -1;
        }
        off += (size_t)w;
    }
    if (fsync(fd) != 0 || close(fd) != 0) {
        die_msg("cannot write %s: %s", path, strerror(errno));
        unlink(path);
        return -1;
    }
    return 0;
}

static int cmd_audio(int argc, char **argv)
{
    struct opts o = {0};
    struct post p;
    struct postbox_tip t;
    struct opened op;
    int rc;
    if (!start_one_tip("audio", AUDIO_HELP, "Pop", argc, argv, &o, &p, &t, &op, &rc))
        return rc;
    char sid[9];
    short_id(t.id, sid);
    rc = 1;
    if (!genuine(op.verdict)) {
        char v[700];
        verdict_line(&op, v, sizeof v);
        die_msg("tip %s was %s; its recording is not given out", sid, v);
    } else if (!op.audio.len) {
        die_msg("tip %s has no recording (the person typed or chose only)", sid);
    } else if (o.play) {
        rc = play(op.audio.b, op.audio.len) ? 1 : 0;
    } else {
        char def[64];
        snprintf(def, sizeof def, "tip-%s.opus", sid);
        const char *out = o.out ? o.out : def;
        if (write_new(out, op.audio.b, op.audio.len) == 0) {
            char len[16];
            duration(op.seconds, len);
            printf("Wrote %s (%s, Ogg Opus). It holds the person's voice in the clear: delete it "
                   "when done.\n",
                   out, len);
            rc = 0;
        }
    }
    opened_free(&op);
    post_close(&p);
    return rc;
}

/* ---- status ---- */

static const char STATUS_HELP[] =
    "usage: " PROG " status ID STATUS --note TEXT --post POSTDIR\n"
    "\n"
    "Set what the post is doing about a tip, with a note saying why:\n"
    "  new       not looked at yet\n"
    "  checking  being verified\n"
    "  acted     verified and acted on\n"
    "  false     found to be untrue\n"
    "  closed    nothing more to do\n"
    "Every change is kept with its time and note (show lists them). Notes are\n"
    "sealed to the post key like the tips, so this needs no passphrase.\n";

static int cmd_status(int argc, char **argv)
{
    struct opts o = {0};
    char *pos[2];
    int np, rc = parse_opts("status", argc, argv, "Pn", &o, pos, 2, &np);
    if (rc)
        return rc;
    if (o.help) {
        fputs(STATUS_HELP, stdout);
        return 0;
    }
    if (np != 2)
        return usage_error("status", "give the tip's ID and a status (new, checking, acted, "
                                     "false or closed)");
    int status = postbox_status_parse(pos[1]);
    if (status < 0)
        return usage_error("status",
                           "\"%s\" is not a status: use new, checking, acted, false or "
                           "closed",
                           pos[1]);
    if (!o.note || !*o.note)
        return usage_error("status", "--note TEXT is missing (say why, in a line)");
    size_t nl = strlen(o.note);
    if (nl > POSTBOX_NOTE_MAX - crypto_box_SEALBYTES)
        return usage_error("status", "the note is longer than %d bytes",
                           (int)(POSTBOX_NOTE_MAX - crypto_box_SEALBYTES));
    if (!config_utf8_valid(o.note, nl))
        return usage_error("status", "the note is not valid UTF-8");
    struct post p;
    struct postbox_tip t;
    if (post_open(&p, o.post))
        return 1;
    if (find_tip(&p, pos[0], &t)) {
        post_close(&p);
        return 1;
    }
    uint8_t sealed[POSTBOX_NOTE_MAX];
    char err[512];
    rc = 1;
    if (crypto_box_seal(sealed, (const uint8_t *)o.note, nl, p.pk) != 0) {
        die_msg("could not seal the note");
    } else if (postbox_set_status(p.pb, t.seq, status, sealed, nl + crypto_box_SEALBYTES,
                                  (int64_t)time(NULL), err, sizeof err)) {
        die_msg("%s", err);
    } else {
        char sid[9];
        short_id(t.id, sid);
        printf("Tip %s is now %s (was %s).\n", sid, postbox_status_name(status),
               postbox_status_name(t.status));
        rc = 0;
    }
    post_close(&p);
    return rc;
}

/* ---- export ---- */

static const char EXPORT_HELP[] =
    "usage: " PROG " export --out DIR --post POSTDIR\n"
    "\n"
    "Write every tip into DIR (made if missing, 0700): tips.csv with one row\n"
    "per tip (id, received, kiosk, verdict, category, language, practice, when,\n"
    "capture day, audio length and file, status, text, history) and the\n"
    "recordings as ID.opus files beside it.\n"
    "\n"
    "WARNING: the export holds the tips in plaintext. Keep DIR on an encrypted\n"
    "disk, give it only to who must see it, and delete it when done.\n";

/* One CSV field: quoted, quotes doubled; a leading = + - @ neutralised (spreadsheet formulas). */
static void csv_field(FILE *f, const uint8_t *s, size_t n, int last)
{
    fputc('"', f);
    if (n &&
        (s[0] == '=' || s[0] == '+' || s[0] == '-' || s[0] == '@' || s[0] == '\t' || s[0] == '\r'))
        fputc('\'', f);
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '"')
            fputc('"', f);
        fputc(s[i], f);
    }
    fputc('"', f);
    fputs(last ? "\r\n" : ",", f);
}

static void csv_str(FILE *f, const char *s, int last)
{
    csv_field(f, (const uint8_t *)s, strlen(s), last);
}

struct export_ctx {
    struct post *p;
    const char *dir;
    FILE *csv;
    int n, audio, failed;
};

static int export_one(void *ctx, const struct postbox_tip *t)
{
    struct export_ctx *x = ctx;
    struct opened o;
    if (open_tip(x->p, t, &o)) {
        x->failed = 1;
        return 0;
    }
    char id[33], got[40], v[700], day[40], secs[32] = "", file[64] = "";
    errbuf_hex(id, t->id, 16);
    when_str(t->received, 1, got);
    verdict_line(&o, v, sizeof v);
    int ok = genuine(o.verdict) && o.has_meta;
    if (ok && o.audio.len) {
        char path[4200];
        snprintf(file, sizeof file, "%s.opus", id);
        snprintf(path, sizeof path, "%s/%s", x->dir, file);
        if (write_new(path, o.audio.b, o.audio.len)) {
            x->failed = 1;
            file[0] = 0;
        } else {
            x->audio++;
        }
        snprintf(secs, sizeof secs, "%.1f", o.seconds);
    }
    if (ok)
        capture_day(o.meta.capture_day, day);
    struct buf hist = {.max = 1024 * 1024};
    struct history_ctx h = {x->p, NULL, 0, &hist};
    char err[512];
    if (postbox_history(x->p->pb, t->seq, history_one, &h, err, sizeof err))
        die_msg("%s", err);
    csv_str(x->csv, id, 0);
    csv_str(x->csv, got, 0);
    csv_str(x->csv, o.kiosk, 0);
    csv_str(x->csv, v, 0);
    csv_str(x->csv, ok ? category_name(o.meta.category) : "", 0);
    csv_str(x->csv, ok ? o.meta.language : "", 0);
    csv_str(x->csv, ok ? (o.meta.training ? "PRACTICE - discard" : "no") : "", 0);
    csv_str(x->csv, ok ? when_name(o.has_when ? o.when : o.meta.when) : "", 0);
    csv_str(x->csv, ok ? day : "", 0);
    csv_str(x->csv, secs, 0);
    csv_str(x->csv, file, 0);
    csv_str(x->csv, postbox_status_name(t->status), 0);
    if (ok)
        csv_field(x->csv, o.text.b ? o.text.b : (const uint8_t *)"", o.text.len, 0);
    else
        csv_str(x->csv, "", 0);
    csv_field(x->csv, hist.b ? hist.b : (const uint8_t *)"", hist.len, 1);
    buf_free(&hist);
    opened_free(&o);
    x->n++;
    return 0;
}

static int cmd_export(int argc, char **argv)
{
    struct opts o = {0};
    char *pos[1];
    int np, rc = parse_opts("export", argc, argv, "Po", &o, pos, 0, &np);
    if (rc)
        return rc;
    if (o.help) {
        fputs(EXPORT_HELP, stdout);
        return 0;
    }
    if (!o.out)
        return usage_error("export", "--out DIR is missing");
    struct post p;
    if (post_open(&p, o.post))
        return 1;
    char csv_path[4200];
    snprintf(csv_path, sizeof csv_path, "%s/tips.csv", o.out);
    if (mkdir(o.out, 0700) != 0 && errno != EEXIST) {
        die_msg("cannot make the folder %s: %s", o.out, strerror(errno));
        post_close(&p);
        return 1;
    }
    if (access(csv_path, F_OK) == 0) {
        die_msg("%s already exists: export into a new, empty folder", csv_path);
        post_close(&p);
        return 1;
    }
    if (unlock(&p)) {
        post_close(&p);
        return 1;
    }
    int fd = open(csv_path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    FILE *csv = fd >= 0 ? fdopen(fd, "w") : NULL;
    if (!csv) {
        die_msg("cannot write %s: %s", csv_path, strerror(errno));
        if (fd >= 0)
            close(fd);
        post_close(&p);
        return 1;
    }
    fputs("id,received,kiosk,verdict,category,language,practice,when,capture_day,audio_seconds,"
          "audio_file,status,text,history\r\n",
          csv);
    struct export_ctx x = {&p, o.out, csv, 0, 0, 0};
    char err[512];
    rc = postbox_foreach(p.pb, export_one, &x, err, sizeof err);
    if (rc)
        die_msg("%s", err);
    if (fflush(csv) != 0 || fsync(fileno(csv)) != 0) {
        die_msg("cannot write %s: %s", csv_path, strerror(errno));
        rc = 1;
    }
    fclose(csv);
    post_close(&p);
    printf("Exported %d tip%s to %s: tips.csv and %d recording%s.\n", x.n, x.n == 1 ? "" : "s",
           o.out, x.audio, x.audio == 1 ? "" : "s");
    const char *warn = "WARNING: this export holds the tips in plaintext. Keep it on an "
                       "encrypted disk and delete it when done.";
    printf("%s\n", warn);
    fprintf(stderr, PROG ": %s\n", warn);
    return rc || x.failed ? 1 : 0;
}

/* ---- pull ---- */

static const char PULL_HELP[] =
    "usage: " PROG " pull --post POSTDIR [--relay URL --token TOKEN] [--imap URL] [--all]\n"
    "                     [--ca-file FILE]\n"
    "\n"
    "Fetch new tips and store them here, sealed, as they came. Needs no\n"
    "passphrase. Each tip is confirmed to the relay (or marked read in the\n"
    "mailbox) only after it is safely stored; a tip held already is skipped.\n"
    "\n"
    "  --relay URL    the relay (https://...); the token from --token, env\n"
    "                 HOMTHU_RELAY_TOKEN, or relay_token in POSTDIR/post.conf\n"
    "  --imap URL     the tip mailbox (imaps://host/INBOX); user and password\n"
    "                 from env HOMTHU_IMAP_USER and HOMTHU_IMAP_PASSWORD, or\n"
    "                 imap_user and imap_password in post.conf\n"
    "  --all          read every mail, not only unread ones (after someone\n"
    "                 opened the mailbox in a mail program)\n"
    "  --ca-file FILE certificates to trust for a server with a private one\n"
    "\n"
    "Without --relay or --imap, the relay_url and imap_url of post.conf are used.\n";

struct pull_settings {
    char relay[1024], token[512], imap[1024], imap_user[256], imap_password[256], ca[4096];
};

static const char *const post_conf_keys[] = {
    "relay_url", "relay_token", "imap_url", "imap_user", "imap_password", "ca_file", NULL,
};

static int copy_setting(const struct config *c, const char *key, char *dst, size_t cap)
{
    const char *v;
    char err[512];
    if (config_get_str(c, key, "", &v, err, sizeof err)) {
        die_msg("%s", err);
        return -1;
    }
    if (strlen(v) >= cap) {
        die_msg("%s: %s is too long", config_name(c), key);
        return -1;
    }
    snprintf(dst, cap, "%s", v);
    return 0;
}

/* post.conf (optional), then the environment, then the command line. */
static int pull_settings(const struct post *p, const struct opts *o, struct pull_settings *s)
{
    memset(s, 0, sizeof *s);
    if (access(p->conf, F_OK) == 0) {
        struct config *c = NULL;
        char err[1024];
        if (config_load_file(&c, p->conf, err, sizeof err) ||
            config_check_known(c, post_conf_keys, err, sizeof err)) {
            die_msg("%s", err);
            config_free(c);
            return -1;
        }
        int bad = copy_setting(c, "relay_url", s->relay, sizeof s->relay) ||
                  copy_setting(c, "relay_token", s->token, sizeof s->token) ||
                  copy_setting(c, "imap_url", s->imap, sizeof s->imap) ||
                  copy_setting(c, "imap_user", s->imap_user, sizeof s->imap_user) ||
                  copy_setting(c, "imap_password", s->imap_password, sizeof s->imap_password);
        if (!bad && config_has(c, "ca_file") &&
            config_get_path(c, "ca_file", NULL, s->ca, sizeof s->ca, err, sizeof err)) {
            die_msg("%s", err);
            bad = 1;
        }
        config_free(c);
        if (bad)
            return -1;
        struct stat st;
        if ((s->token[0] || s->imap_password[0]) && stat(p->conf, &st) == 0 && (st.st_mode & 0077))
            fprintf(stderr,
                    PROG ": warning: %s holds a token or password but others may read "
                         "it: chmod 600 %s\n",
                    p->conf, p->conf);
    }
    const char *e;
    if ((e = getenv("HOMTHU_RELAY_TOKEN")) && *e)
        snprintf(s->token, sizeof s->token, "%s", e);
    if ((e = getenv("HOMTHU_IMAP_USER")) && *e)
        snprintf(s->imap_user, sizeof s->imap_user, "%s", e);
    if ((e = getenv("HOMTHU_IMAP_PASSWORD")) && *e)
        snprintf(s->imap_password, sizeof s->imap_password, "%s", e);
    if (o->relay || o->imap) {
        /* Explicit sources replace the configured ones. */
        s->relay[0] = s->imap[0] = 0;
        if (o->relay)
            snprintf(s->relay, sizeof s->relay, "%s", o->relay);
        if (o->imap)
            snprintf(s->imap, sizeof s->imap, "%s", o->imap);
    }
    if (o->token)
        snprintf(s->token, sizeof s->token, "%s", o->token);
    if (o->ca_file)
        snprintf(s->ca, sizeof s->ca, "%s", o->ca_file);
    size_t rl = strlen(s->relay);
    while (rl && s->relay[rl - 1] == '/')
        s->relay[--rl] = 0;
    return 0;
}

/* Store one envelope and tell the officer what happened. 0 when it is held. */
static int store_envelope(struct post *p, const uint8_t *env, size_t len, int source,
                          int64_t received, const char *from, unsigned *added, unsigned *dups)
{
    char err[512];
    int what = 0;
    struct envelope_header_info info;
    char sid[9] = "????????";
    if (envelope_parse_header(env, len, &info, err, sizeof err) == 0)
        short_id(info.tip_id, sid);
    if (postbox_add(p->pb, env, len, source, received, (int64_t)time(NULL), registry_device_check,
                    p->reg, &what, err, sizeof err)) {
        die_msg("tip %s from %s was not stored: %s", sid, from, err);
        return -1;
    }
    struct postbox_tip t;
    int outer = postbox_get(p->pb, info.tip_id, &t) == 0 ? t.outer : 0;
    switch (what) {
    case POSTBOX_ADDED:
        (*added)++;
        printf("tip %s: stored (from %s, %zu bytes)%s%s\n", sid, from, len,
               genuine(outer) ? "" : " — but it does not check out: ",
               genuine(outer) ? "" : envelope_strerror(outer));
        break;
    case POSTBOX_DUPLICATE:
        (*dups)++;
        printf("tip %s: already here (duplicate from %s, skipped)\n", sid, from);
        break;
    case POSTBOX_REPLACED:
        (*added)++;
        printf("tip %s: stored (from %s), replacing a forged copy held under the same id\n", sid,
               from);
        break;
    case POSTBOX_KEPT:
        (*dups)++;
        printf("tip %s: a different envelope under a tip id already held arrived from %s; kept "
               "the first (a forgery or a damaged copy)\n",
               sid, from);
        break;
    }
    return 0;
}

/* -- the relay's /post API (docs/relay-protocol.md) -- */

struct http {
    CURL *c;
    const struct pull_settings *s;
    struct buf body;
    long status;
};

static size_t http_write(char *data, size_t size, size_t nmemb, void *ctx)
{
    struct buf *b = ctx;
    buf_add(b, (const uint8_t *)data, size * nmemb);
    return b->toobig ? 0 : size * nmemb;
}

static int http_do(struct http *h, const char *method, const char *url, size_t max)
{
    char auth[600], ebuf[CURL_ERROR_SIZE] = "";
    struct curl_slist *hdr = NULL;
    snprintf(auth, sizeof auth, "Authorization: Bearer %s", h->s->token);
    hdr = curl_slist_append(hdr, auth);
    buf_free(&h->body);
    h->body.max = max;
    curl_easy_reset(h->c);
    curl_easy_setopt(h->c, CURLOPT_URL, url);
    curl_easy_setopt(h->c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h->c, CURLOPT_HTTPHEADER, hdr);
    curl_easy_setopt(h->c, CURLOPT_WRITEFUNCTION, http_write);
    curl_easy_setopt(h->c, CURLOPT_WRITEDATA, &h->body);
    curl_easy_setopt(h->c, CURLOPT_ERRORBUFFER, ebuf);
    curl_easy_setopt(h->c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h->c, CURLOPT_CONNECTTIMEOUT, 30L);
    curl_easy_setopt(h->c, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(h->c, CURLOPT_LOW_SPEED_TIME, 120L);
    if (h->s->ca[0])
        curl_easy_setopt(h->c, CURLOPT_CAINFO, h->s->ca);
    if (strcmp(method, "POST") == 0) {
        curl_easy_setopt(h->c, CURLOPT_POST, 1L);
        curl_easy_setopt(h->c, CURLOPT_POSTFIELDS, "");
        curl_easy_setopt(h->c, CURLOPT_POSTFIELDSIZE, 0L);
    }
    CURLcode cc = curl_easy_perform(h->c);
    curl_slist_free_all(hdr);
    sodium_memzero(auth, sizeof auth);
    h->status = 0;
    curl_easy_getinfo(h->c, CURLINFO_RESPONSE_CODE, &h->status);
    if (cc != CURLE_OK) {
        die_msg("the relay did not answer %s %s: %s%s", method, url,
                ebuf[0] ? ebuf : curl_easy_strerror(cc),
                h->body.toobig ? " (the answer is larger than any tip)" : "");
        return -1;
    }
    if (h->status == 401 || h->status == 403) {
        die_msg("the relay refused the token (%ld): check --token or relay_token in post.conf",
                h->status);
        return -1;
    }
    if (h->status < 200 || h->status > 299) {
        die_msg("the relay answered %ld to %s %s%s%.*s", h->status, method, url,
                h->body.len ? ": " : "", (int)(h->body.len > 200 ? 200 : h->body.len),
                h->body.b ? (const char *)h->body.b : "");
        return -1;
    }
    return 0;
}

/* A tiny JSON reader for the tip list: exactly the shapes docs/relay-protocol.md gives. */
struct json {
    const char *p, *end;
    int depth;
};

static void json_ws(struct json *j)
{
    while (j->p < j->end && (*j->p == ' ' || *j->p == '\t' || *j->p == '\n' || *j->p == '\r'))
        j->p++;
}

static int json_lit(struct json *j, char c)
{
    json_ws(j);
    if (j->p < j->end && *j->p == c) {
        j->p++;
        return 0;
    }
    return -1;
}

/* A string without escapes beyond \" \\ \/ (ids and kiosk names need no more). */
static int json_string(struct json *j, char *out, size_t cap)
{
    if (json_lit(j, '"'))
        return -1;
    size_t n = 0;
    while (j->p < j->end && *j->p != '"') {
        char c = *j->p++;
        if (c == '\\') {
            if (j->p >= j->end)
                return -1;
            c = *j->p++;
            if (c != '"' && c != '\\' && c != '/')
                c = '?';
        }
        if ((unsigned char)c < 0x20)
            return -1;
        if (n + 1 < cap)
            out[n++] = c;
    }
    if (j->p >= j->end)
        return -1;
    j->p++;
    out[n] = 0;
    return 0;
}

static int json_int(struct json *j, int64_t *v)
{
    json_ws(j);
    int neg = 0, digits = 0;
    int64_t x = 0;
    if (j->p < j->end && *j->p == '-') {
        neg = 1;
        j->p++;
    }
    while (j->p < j->end && *j->p >= '0' && *j->p <= '9' && digits < 18) {
        x = x * 10 + (*j->p++ - '0');
        digits++;
    }
    if (!digits || (j->p < j->end && (*j->p == '.' || *j->p == 'e' || *j->p == 'E' ||
                                      (*j->p >= '0' && *j->p <= '9'))))
        return -1;
    *v = neg ? -x : x;
    return 0;
}

/* Skip any value (for fields we do not read), depth-limited. */
static int json_skip(struct json *j)
{
    json_ws(j);
    if (j->p >= j->end || ++j->depth > 16)
        return -1;
    int rc = 0;
    char c = *j->p;
    if (c == '"') {
        char tmp[8];
        rc = json_string(j, tmp, sizeof tmp);
    } else if (c == '{' || c == '[') {
        char close = c == '{' ? '}' : ']';
        j->p++;
        json_ws(j);
        if (j->p < j->end && *j->p == close) {
            j->p++;
        } else {
            for (;;) {
                if (c == '{') {
                    char k[8];
                    if (json_string(j, k, sizeof k) || json_lit(j, ':')) {
                        rc = -1;
                        break;
                    }
                }
                if (json_skip(j)) {
                    rc = -1;
                    break;
                }
                if (json_lit(j, ',') == 0)
                    continue;
                rc = json_lit(j, close);
                break;
            }
        }
    } else {
        const char *s = j->p;
        while (j->p < j->end && (strchr("-+.eE", *j->p) || (*j->p >= '0' && *j->p <= '9') ||
                                 (*j->p >= 'a' && *j->p <= 'z')))
            j->p++;
        rc = j->p == s ? -1 : 0;
    }
    j->depth--;
    return rc;
}

struct relay_tip {
    uint8_t id[16];
    int64_t cursor, bytes, received;
    char kiosk[64], state[16];
};

static int parse_hex16(const char *s, uint8_t out[16])
{
    size_t bin = 0;
    return strlen(s) == 32 && sodium_hex2bin(out, 16, s, 32, NULL, &bin, NULL) == 0 && bin == 16
               ? 0
               : -1;
}

/* {"tips":[{...}],"next":N} into tips (at most cap) and *next. */
static int parse_tip_list(const uint8_t *b, size_t len, struct relay_tip *tips, size_t cap,
                          size_t *n, int64_t *next)
{
    struct json j = {(const char *)b, (const char *)b + len, 0};
    *n = 0;
    *next = -1;
    if (json_lit(&j, '{'))
        return -1;
    if (json_lit(&j, '}') == 0)
        return -1;
    for (;;) {
        char key[32];
        if (json_string(&j, key, sizeof key) || json_lit(&j, ':'))
            return -1;
        if (strcmp(key, "next") == 0) {
            if (json_int(&j, next))
                return -1;
        } else if (strcmp(key, "tips") == 0) {
            if (json_lit(&j, '['))
                return -1;
            if (json_lit(&j, ']') != 0) {
                for (;;) {
                    if (*n >= cap || json_lit(&j, '{'))
                        return -1;
                    struct relay_tip *t = &tips[(*n)++];
                    memset(t, 0, sizeof *t);
                    int have_id = 0;
                    for (;;) {
                        char k[32], sval[80];
                        if (json_string(&j, k, sizeof k) || json_lit(&j, ':'))
                            return -1;
                        if (strcmp(k, "id") == 0) {
                            if (json_string(&j, sval, sizeof sval) || parse_hex16(sval, t->id))
                                return -1;
                            have_id = 1;
                        } else if (strcmp(k, "cursor") == 0) {
                            if (json_int(&j, &t->cursor))
                                return -1;
                        } else if (strcmp(k, "bytes") == 0) {
                            if (json_int(&j, &t->bytes))
                                return -1;
                        } else if (strcmp(k, "received") == 0) {
                            if (json_int(&j, &t->received))
                                return -1;
                        } else if (strcmp(k, "kiosk") == 0) {
                            if (json_string(&j, t->kiosk, sizeof t->kiosk))
                                return -1;
                        } else if (strcmp(k, "state") == 0) {
                            if (json_string(&j, t->state, sizeof t->state))
                                return -1;
                        } else if (json_skip(&j)) {
                            return -1;
                        }
                        if (json_lit(&j, ',') == 0)
                            continue;
                        if (json_lit(&j, '}'))
                            return -1;
                        break;
                    }
                    if (!have_id)
                        return -1;
                    if (json_lit(&j, ',') == 0)
                        continue;
                    if (json_lit(&j, ']'))
                        return -1;
                    break;
                }
            }
        } else if (json_skip(&j)) {
            return -1;
        }
        if (json_lit(&j, ',') == 0)
            continue;
        if (json_lit(&j, '}'))
            return -1;
        break;
    }
    json_ws(&j);
    return j.p == j.end && *next >= 0 ? 0 : -1;
}

static int pull_relay(struct post *p, const struct pull_settings *s)
{
    if (!s->token[0]) {
        die_msg("no token for the relay: give --token, set HOMTHU_RELAY_TOKEN, or put relay_token "
                "in %s",
                p->conf);
        return -1;
    }
    if (strncmp(s->relay, "https://", 8) != 0 && strncmp(s->relay, "http://", 7) != 0) {
        die_msg("%s is not an http:// or https:// address", s->relay);
        return -1;
    }
    struct http h = {.c = curl_easy_init(), .s = s};
    if (!h.c) {
        die_msg("libcurl failed to start");
        return -1;
    }
    char key[1100], cursor_s[32];
    snprintf(key, sizeof key, "relay_cursor %s", s->relay);
    if (postbox_get_setting(p->pb, key, cursor_s, sizeof cursor_s)) {
        die_msg("cannot read the relay cursor from %s", p->postbox);
        curl_easy_cleanup(h.c);
        return -1;
    }
    int64_t cursor = cursor_s[0] ? strtoll(cursor_s, NULL, 10) : 0;
    unsigned added = 0, dups = 0;
    int rc = 0;
    struct relay_tip *tips = calloc(RELAY_PAGE, sizeof *tips);
    if (!tips) {
        die_msg("out of memory");
        curl_easy_cleanup(h.c);
        return -1;
    }
    for (int page = 0; page < 100000 && rc == 0; page++) {
        char url[1300];
        snprintf(url, sizeof url, "%s/post/tips?after=%lld&limit=%d", s->relay, (long long)cursor,
                 RELAY_PAGE);
        if (http_do(&h, "GET", url, 1024 * 1024)) {
            rc = -1;
            break;
        }
        size_t n = 0;
        int64_t next = 0;
        if (parse_tip_list(h.body.b, h.body.len, tips, RELAY_PAGE, &n, &next)) {
            die_msg("the relay's tip list is not what docs/relay-protocol.md describes (is %s "
                    "really the relay?)",
                    s->relay);
            rc = -1;
            break;
        }
        if (n == 0)
            break;
        for (size_t i = 0; i < n && rc == 0; i++) {
            struct relay_tip *t = &tips[i];
            char id[33], from[64];
            errbuf_hex(id, t->id, 16);
            struct postbox_tip held;
            if (postbox_get(p->pb, t->id, &held) == 0) {
                dups++;
                printf("tip %.8s: already here (duplicate from the relay, skipped)\n", id);
            } else {
                if (t->bytes <= 0 || t->bytes > ENVELOPE_DEFAULT_MAX_BYTES) {
                    die_msg("the relay lists tip %.8s with %lld bytes: not a tip", id,
                            (long long)t->bytes);
                    rc = -1;
                    break;
                }
                snprintf(url, sizeof url, "%s/post/tips/%s", s->relay, id);
                if (http_do(&h, "GET", url, (size_t)t->bytes)) {
                    rc = -1;
                    break;
                }
                struct envelope_header_info info;
                char err[512];
                if (h.body.len != (size_t)t->bytes ||
                    envelope_parse_header(h.body.b, h.body.len, &info, err, sizeof err) ||
                    memcmp(info.tip_id, t->id, 16) != 0) {
                    die_msg("the relay sent %zu bytes for tip %.8s, which is not that tip's "
                            "envelope; not stored, not confirmed",
                            h.body.len, id);
                    rc = -1;
                    break;
                }
                snprintf(from, sizeof from, "the relay");
                if (store_envelope(p, h.body.b, h.body.len, POSTBOX_FROM_RELAY, t->received, from,
                                   &added, &dups)) {
                    rc = -1;
                    break;
                }
            }
            /* Stored (committed) above: only now may the relay let go of it. */
            snprintf(url, sizeof url, "%s/post/tips/%s/fetched", s->relay, id);
            if (http_do(&h, "POST", url, 4096)) {
                die_msg("tip %.8s is stored here, but the relay was not told; pull again to tell "
                        "it",
                        id);
                rc = -1;
                break;
            }
            cursor = t->cursor > cursor ? t->cursor : cursor;
            snprintf(cursor_s, sizeof cursor_s, "%lld", (long long)cursor);
            char err[512];
            if (postbox_set_setting(p->pb, key, cursor_s, err, sizeof err)) {
                die_msg("%s", err);
                rc = -1;
            }
        }
        if (rc == 0 && next > cursor) {
            cursor = next;
            snprintf(cursor_s, sizeof cursor_s, "%lld", (long long)cursor);
            char err[512];
            if (postbox_set_setting(p->pb, key, cursor_s, err, sizeof err)) {
                die_msg("%s", err);
                rc = -1;
            }
        }
        if (n < RELAY_PAGE)
            break;
    }
    printf("From the relay: %u new tip%s, %u already here.\n", added, added == 1 ? "" : "s", dups);
    free(tips);
    buf_free(&h.body);
    curl_easy_cleanup(h.c);
    return rc;
}

/* -- the mailbox -- */

struct mail_store {
    struct post *p;
    unsigned added, dups;
};

static int mail_store(void *ctx, const uint8_t tip_id[16], const uint8_t *env, size_t len,
                      char *err, size_t errlen)
{
    struct mail_store *m = ctx;
    struct envelope_header_info info;
    char why[512];
    if (envelope_parse_header(env, len, &info, why, sizeof why)) {
        snprintf(err, errlen, "the mails hold no envelope: %s", why);
        return -1;
    }
    if (memcmp(info.tip_id, tip_id, 16) != 0) {
        snprintf(err, errlen, "the envelope inside is another tip's");
        return -1;
    }
    if (store_envelope(m->p, env, len, POSTBOX_FROM_MAIL, (int64_t)time(NULL), "the mailbox",
                       &m->added, &m->dups)) {
        snprintf(err, errlen, "see above");
        return -1;
    }
    return 0;
}

static void mail_note(void *ctx, const char *line)
{
    (void)ctx;
    printf("%s\n", line);
}

static int pull_imap(struct post *p, const struct pull_settings *s, int all)
{
    struct mailbox_port port;
    char err[1024];
    struct mailbox_imap_opts io = {s->imap, s->imap_user[0] ? s->imap_user : NULL,
                                   s->imap_password[0] ? s->imap_password : NULL,
                                   s->ca[0] ? s->ca : NULL};
    if (!s->imap_user[0]) {
        die_msg("no IMAP user: set HOMTHU_IMAP_USER and HOMTHU_IMAP_PASSWORD, or imap_user and "
                "imap_password in %s",
                p->conf);
        return -1;
    }
    if (mailbox_imap_new(&port, &io, err, sizeof err)) {
        die_msg("%s", err);
        return -1;
    }
    struct mail_store ms = {p, 0, 0};
    struct mailbox_report rep = {.note = mail_note};
    int rc = mailbox_pull(&port, all, mail_store, &ms, &rep, err, sizeof err);
    mailbox_imap_free(&port);
    if (rc) {
        die_msg("reading the mailbox %s failed: %s", s->imap, err);
        return -1;
    }
    printf("From the mailbox: %u new tip%s, %u already here, %u incomplete (waiting for "
           "parts), %u mail%s not usable.\n",
           ms.added, ms.added == 1 ? "" : "s", ms.dups, rep.incomplete, rep.foreign + rep.damaged,
           rep.foreign + rep.damaged == 1 ? "" : "s");
    return rep.failed ? -1 : 0;
}

static int cmd_pull(int argc, char **argv)
{
    struct opts o = {0};
    char *pos[1];
    int np, rc = parse_opts("pull", argc, argv, "Prtiac", &o, pos, 0, &np);
    if (rc)
        return rc;
    if (o.help) {
        fputs(PULL_HELP, stdout);
        return 0;
    }
    struct post p;
    if (post_open(&p, o.post))
        return 1;
    struct pull_settings *s = calloc(1, sizeof *s);
    if (!s || pull_settings(&p, &o, s)) {
        free(s);
        post_close(&p);
        return 1;
    }
    if (!s->relay[0] && !s->imap[0]) {
        free(s);
        post_close(&p);
        return usage_error("pull", "where from? give --relay URL or --imap URL (or set relay_url "
                                   "or imap_url in POSTDIR/post.conf)");
    }
    rc = 0;
    if (s->relay[0] && pull_relay(&p, s))
        rc = 1;
    if (s->imap[0] && pull_imap(&p, s, o.all))
        rc = 1;
    sodium_memzero(s, sizeof *s);
    free(s);
    post_close(&p);
    return rc;
}

/* ---- main ---- */

static const char HELP[] =
    "usage: " PROG " COMMAND --post POSTDIR [options]\n"
    "\n"
    "The border post's console for Hòm thư tips.\n"
    "\n"
    "  pull    [--relay URL --token T] [--imap URL]   fetch new tips (no passphrase needed)\n"
    "  list                                   every tip, newest first\n"
    "  show    ID                             one tip: verdict, kiosk, text, history\n"
    "  audio   ID [--out FILE] [--play]       the recording (Ogg Opus)\n"
    "  status  ID STATUS --note TEXT          new, checking, acted, false or closed\n"
    "  export  --out DIR                      CSV and recordings (plaintext: keep it safe)\n"
    "\n"
    "POSTDIR is the folder homthu-provision post-init made (or set HOMTHU_POST).\n"
    "list, show, audio and export ask for the passphrase of post.key (or read\n"
    "HOMTHU_PASSPHRASE). Run " PROG " COMMAND --help for the details of one.\n";

int main(int argc, char **argv)
{
    if (argc < 2) {
        fputs(HELP, stderr);
        return EXIT_USAGE;
    }
    const char *cmd = argv[1];
    if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0 || strcmp(cmd, "help") == 0) {
        fputs(HELP, stdout);
        return 0;
    }
    /* Tips are opened in this process's memory: never into a core dump. */
    struct rlimit none = {0, 0};
    setrlimit(RLIMIT_CORE, &none);
    prctl(PR_SET_DUMPABLE, 0);
    if (sodium_init() < 0) {
        die_msg("libsodium failed to start (no entropy source?)");
        return 1;
    }
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != 0) {
        die_msg("libcurl failed to start");
        return 1;
    }
    static const struct {
        const char *name;
        int (*fn)(int, char **);
    } cmds[] = {
        {"pull", cmd_pull},   {"list", cmd_list},     {"show", cmd_show},
        {"audio", cmd_audio}, {"status", cmd_status}, {"export", cmd_export},
    };
    int rc = EXIT_USAGE, found = 0;
    for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++)
        if (strcmp(cmd, cmds[i].name) == 0) {
            rc = cmds[i].fn(argc - 1, argv + 1);
            found = 1;
        }
    if (!found)
        die_msg("unknown command \"%s\" (run " PROG " --help for the list)", cmd);
    curl_global_cleanup();
    return rc;
}
