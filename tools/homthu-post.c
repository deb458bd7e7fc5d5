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
 * This file is the program only: options, the passphrase prompt, what is
 * printed and the exit status. What the commands do is the post's library
 * (src/post/console.h, pull.h, export.h), which the web station shares.
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
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <sodium.h>

#include "core/errbuf.h"
#include "core/passphrase.h"
#include "post/console.h"
#include "post/export.h"
#include "post/postbox.h"
#include "post/pull.h"

#define PROG "homthu-post"

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

/* Open POSTDIR; NULL with the reason said. */
static struct console *post_open(const char *dir)
{
    struct console *c = NULL;
    char err[1400];
    if (console_open(&c, dir, err, sizeof err)) {
        die_msg("%s", err);
        return NULL;
    }
    return c;
}

/* Unlock post.key: HOMTHU_PASSPHRASE, else asked once on the terminal. */
static int unlock(struct console *c)
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
    if (console_unlock(c, pass, err, sizeof err)) {
        die_msg("%s", err);
        goto out;
    }
    rc = 0;
out:
    sodium_free(pass);
    return rc;
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

/* ---- list ---- */

static int list_one(void *ctx, const struct console_tip *v)
{
    int *n = ctx;
    char sid[9], got[40], len[16];
    short_id(v->t.id, sid);
    console_time(v->t.received, 0, got);
    if ((*n)++ == 0)
        printf("%-8s  %-16s  %-14s  %-11s  %-4s  %6s  %-8s  %s\n", "ID", "RECEIVED", "KIOSK",
               "CATEGORY", "LANG", "AUDIO", "STATUS", "NOTE");
    console_duration(v->seconds, len);
    char note[160] = "";
    if (!v->genuine)
        snprintf(note, sizeof note, "REFUSED: %s", envelope_strerror(v->verdict));
    else if (v->has_meta && v->meta.training)
        snprintf(note, sizeof note, "PRACTICE - discard");
    else if (v->verdict == ENVELOPE_E_CUT_SHORT)
        snprintf(note, sizeof note, "cut short by power loss");
    else if (v->text_len)
        snprintf(note, sizeof note, "has text");
    char kiosk[15];
    snprintf(kiosk, sizeof kiosk, "%s", v->kiosk);
    printf("%-8s  %-16s  %-14s  %-11s  %-4s  %6s  %-8s  %s\n", sid, got, kiosk,
           v->has_meta ? console_category_short(v->meta.category) : "?",
           v->has_meta ? v->meta.language : "?", len, postbox_status_name(v->t.status), note);
    return 0;
}

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
    struct console *c = post_open(o.post);
    if (!c)
        return 1;
    char err[1024];
    int count = 0;
    if (console_count(c, &count, err, sizeof err)) {
        die_msg("%s", err);
        console_close(c);
        return 1;
    }
    if (count == 0) {
        printf("No tips yet: fetch them with " PROG " pull --post %s\n", o.post);
        console_close(c);
        return 0;
    }
    if (unlock(c)) {
        console_close(c);
        return 1;
    }
    int n = 0;
    rc = console_list(c, list_one, &n, err, sizeof err);
    if (rc)
        die_msg("%s", err);
    printf("%d tip%s. " PROG " show ID shows one.\n", n, n == 1 ? "" : "s");
    console_close(c);
    return rc ? 1 : 0;
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

static int history_one(void *ctx, const struct console_event *e)
{
    int *n = ctx;
    char at[40];
    console_time(e->at, 0, at);
    if ((*n)++ == 0)
        printf("History:\n");
    printf("  %s  %-8s  %s\n", at, postbox_status_name(e->status),
           e->sealed ? "(a note this key cannot open)" : e->note);
    return 0;
}

/*
 * The start that show and audio share: options, --help, the one ID, the
 * post opened and unlocked, the tip found and opened. Returns 1 with all
 * of it ready (the caller ends with console_tip_free and console_close),
 * or 0 with *rc set to what the command returns (0 after --help).
 */
static int start_one_tip(const char *cmd, const char *help, const char *flags, int argc,
                         char **argv, struct opts *o, struct console **c, struct console_tip **v,
                         int *rc)
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
    if (!(*c = post_open(o->post)))
        return 0;
    struct postbox_tip t;
    char err[1024];
    if (console_find(*c, pos[0], &t, err, sizeof err)) {
        die_msg("%s", err);
    } else if (unlock(*c) == 0) {
        if (console_open_tip(*c, &t, v, err, sizeof err) == 0) {
            *rc = 0;
            return 1;
        }
        die_msg("%s", err);
    }
    console_close(*c);
    return 0;
}

static int cmd_show(int argc, char **argv)
{
    struct opts o = {0};
    struct console *c;
    struct console_tip *v;
    int rc;
    if (!start_one_tip("show", SHOW_HELP, "P", argc, argv, &o, &c, &v, &rc))
        return rc;
    const struct postbox_tip *t = &v->t;
    char id[33], line[700], got[40], day[40], len[16];
    errbuf_hex(id, t->id, 16);
    console_verdict_line(v, line, sizeof line);
    console_time(t->received, 1, got);
    printf("Tip       %s\n", id);
    printf("Verdict   %s\n", line);
    if (!v->genuine)
        printf("          Do not act on this tip: it cannot be shown to come from an enrolled "
               "kiosk.\n");
    printf("Kiosk     %s%s%s\n", v->kiosk, v->kiosk_revoked ? ", " : "",
           v->kiosk_revoked ? v->revoked_why : "");
    printf("Received  %s (%s)\n", got,
           t->source == POSTBOX_FROM_RELAY ? "by the relay" : "when pulled from the mailbox");
    printf("Status    %s\n", postbox_status_name(t->status));
    if (v->genuine && v->has_meta) {
        if (v->meta.training)
            printf("PRACTICE  PRACTICE — discard: a training tip from a volunteer session\n");
        printf("Category  %s\n", console_category_name(v->meta.category));
        printf("Language  %s\n", v->meta.language[0] ? v->meta.language : "not set");
        console_capture_day(v->meta.capture_day, day);
        printf("When      %s (as the person said; recorded on %s)\n", console_when_name(v->when),
               day);
        if (v->unconfirmed)
            printf("Left      without confirming: the person spoke, then walked away or hung "
                   "up before touching \"done\"\n");
        console_duration(v->seconds, len);
        if (v->audio_len)
            printf("Audio     %s (" PROG " audio %.8s --play, or --out FILE)\n", len, id);
        else
            printf("Audio     none\n");
        if (v->text_len) {
            printf("Text:\n");
            print_safe(v->text, v->text_len);
            printf("\n");
        } else {
            printf("Text      none\n");
        }
    } else if (v->withheld) {
        printf("Content   withheld: the envelope was refused\n");
    }
    int n = 0;
    char err[1024];
    if (console_history(c, t, history_one, &n, err, sizeof err))
        die_msg("%s", err);
    console_tip_free(v);
    console_close(c);
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

static int cmd_audio(int argc, char **argv)
{
    struct opts o = {0};
    struct console *c;
    struct console_tip *v;
    int rc;
    if (!start_one_tip("audio", AUDIO_HELP, "Pop", argc, argv, &o, &c, &v, &rc))
        return rc;
    char sid[9], err[1400];
    short_id(v->t.id, sid);
    const uint8_t *ogg;
    size_t n;
    rc = 1;
    if (console_tip_audio(v, &ogg, &n, err, sizeof err)) {
        die_msg("%s", err);
    } else if (o.play) {
        rc = play(ogg, n) ? 1 : 0;
    } else {
        char def[64];
        snprintf(def, sizeof def, "tip-%s.opus", sid);
        const char *out = o.out ? o.out : def;
        int w = console_write_new(out, ogg, n, err, sizeof err);
        if (w == CONSOLE_E_EXISTS) {
            die_msg("cannot write %s: %s (it exists already: give another --out)", out,
                    strerror(EEXIST));
        } else if (w) {
            die_msg("%s", err);
        } else {
            char len[16];
            console_duration(v->seconds, len);
            printf("Wrote %s (%s, Ogg Opus). It holds the person's voice in the clear: delete it "
                   "when done.\n",
                   out, len);
            rc = 0;
        }
    }
    console_tip_free(v);
    console_close(c);
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
    char err[1024];
    if (console_note_check(o.note, err, sizeof err))
        return usage_error("status", "%s", err);
    struct console *c = post_open(o.post);
    if (!c)
        return 1;
    struct postbox_tip t;
    rc = 1;
    if (console_find(c, pos[0], &t, err, sizeof err) ||
        console_set_status(c, &t, status, o.note, (int64_t)time(NULL), err, sizeof err)) {
        die_msg("%s", err);
    } else {
        char sid[9];
        short_id(t.id, sid);
        printf("Tip %s is now %s (was %s).\n", sid, postbox_status_name(status),
               postbox_status_name(t.status));
        rc = 0;
    }
    console_close(c);
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
    struct console *c = post_open(o.post);
    if (!c)
        return 1;
    char err[1400];
    /* A folder that cannot take the export is refused before the passphrase is asked. */
    if (export_check_dir(o.out, err, sizeof err)) {
        die_msg("%s", err);
        console_close(c);
        return 1;
    }
    if (unlock(c)) {
        console_close(c);
        return 1;
    }
    struct export_report rep;
    rc = export_all(c, o.out, &rep, err, sizeof err);
    if (rc)
        die_msg("%s", err);
    console_close(c);
    printf("Exported %d tip%s to %s: tips.csv and %d recording%s.\n", rep.tips,
           rep.tips == 1 ? "" : "s", o.out, rep.recordings, rep.recordings == 1 ? "" : "s");
    const char *warn = "WARNING: this export holds the tips in plaintext. Keep it on an "
                       "encrypted disk and delete it when done.";
    printf("%s\n", warn);
    fprintf(stderr, PROG ": %s\n", warn);
    return rc ? 1 : 0;
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

/* post.conf (optional), then the environment, then the command line. */
static int settings(struct console *c, const struct opts *o, struct pull_settings *s)
{
    char err[1400];
    int too_open = 0;
    if (pull_read_conf(c, s, &too_open, err, sizeof err)) {
        die_msg("%s", err);
        return -1;
    }
    if (too_open) {
        char conf[4200];
        if (console_file(c, "post.conf", conf, sizeof conf) == 0)
            fprintf(stderr,
                    PROG ": warning: %s holds a token or password but others may read "
                         "it: chmod 600 %s\n",
                    conf, conf);
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
    return 0;
}

static void said_tip(void *ctx, const struct pull_event *e)
{
    (void)ctx;
    char sid[9];
    short_id(e->id, sid);
    const char *from = e->source == POSTBOX_FROM_RELAY ? "the relay" : "the mailbox";
    int genuine = e->outer == 0 || e->outer == ENVELOPE_E_CUT_SHORT;
    switch (e->what) {
    case POSTBOX_ADDED:
        printf("tip %s: stored (from %s, %zu bytes)%s%s\n", sid, from, e->bytes,
               genuine ? "" : " — but it does not check out: ",
               genuine ? "" : envelope_strerror(e->outer));
        break;
    case POSTBOX_DUPLICATE:
        printf("tip %s: already here (duplicate from %s, skipped)\n", sid, from);
        break;
    case POSTBOX_REPLACED:
        printf("tip %s: stored (from %s), replacing a forged copy held under the same id\n", sid,
               from);
        break;
    case POSTBOX_KEPT:
        printf("tip %s: a different envelope under a tip id already held arrived from %s; kept "
               "the first (a forgery or a damaged copy)\n",
               sid, from);
        break;
    }
}

static void said_note(void *ctx, const char *line)
{
    (void)ctx;
    printf("%s\n", line);
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
    struct console *c = post_open(o.post);
    if (!c)
        return 1;
    struct pull_settings *s = calloc(1, sizeof *s);
    if (!s || settings(c, &o, s)) {
        free(s);
        console_close(c);
        return 1;
    }
    if (!s->relay[0] && !s->imap[0]) {
        free(s);
        console_close(c);
        return usage_error("pull", "where from? give --relay URL or --imap URL (or set relay_url "
                                   "or imap_url in POSTDIR/post.conf)");
    }
    struct pull_hooks h = {said_tip, said_note, NULL};
    char err[1400];
    rc = 0;
    if (s->relay[0]) {
        struct pull_report rep = {0};
        if (pull_relay(c, s, &h, &rep, err, sizeof err)) {
            die_msg("%s", err);
            rc = 1;
        }
        if (rep.asked)
            printf("From the relay: %u new tip%s, %u already here.\n", rep.added,
                   rep.added == 1 ? "" : "s", rep.duplicates);
    }
    if (s->imap[0]) {
        struct pull_report rep = {0};
        if (pull_imap(c, s, o.all, &h, &rep, err, sizeof err)) {
            die_msg("%s", err);
            rc = 1;
        } else {
            printf("From the mailbox: %u new tip%s, %u already here, %u incomplete (waiting for "
                   "parts), %u mail%s not usable.\n",
                   rep.added, rep.added == 1 ? "" : "s", rep.duplicates, rep.incomplete,
                   rep.unusable, rep.unusable == 1 ? "" : "s");
            if (rep.failed)
                rc = 1;
        }
    }
    sodium_memzero(s, sizeof *s);
    free(s);
    console_close(c);
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
