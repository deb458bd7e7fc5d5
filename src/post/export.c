/*
 * export — see export.h. Moved out of tools/homthu-post.c.
 */
#include "post/export.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/errbuf.h"
#include "post/postbox.h"

/*
 * One CSV field written in pieces: quoted, quotes doubled, and a field
 * whose first byte is = + - @ tab or CR neutralised with a leading '
 * (spreadsheet formulas). Streaming keeps plaintext out of extra buffers.
 */
struct csv_cell {
    FILE *f;
    int started;
};

static void cell_begin(struct csv_cell *c, FILE *f)
{
    c->f = f;
    c->started = 0;
    fputc('"', f);
}

static void cell_put(struct csv_cell *c, const uint8_t *s, size_t n)
{
    if (n && !c->started &&
        (s[0] == '=' || s[0] == '+' || s[0] == '-' || s[0] == '@' || s[0] == '\t' || s[0] == '\r'))
        fputc('\'', c->f);
    if (n)
        c->started = 1;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '"')
            fputc('"', c->f);
        fputc(s[i], c->f);
    }
}

static void cell_end(struct csv_cell *c, int last)
{
    fputc('"', c->f);
    fputs(last ? "\r\n" : ",", c->f);
}

static void csv_field(FILE *f, const uint8_t *s, size_t n, int last)
{
    struct csv_cell c;
    cell_begin(&c, f);
    cell_put(&c, s, n);
    cell_end(&c, last);
}

static void csv_str(FILE *f, const char *s, int last)
{
    csv_field(f, (const uint8_t *)s, strlen(s), last);
}

int export_check_dir(const char *dir, char *err, size_t errlen)
{
    char csv[4200];
    int n = snprintf(csv, sizeof csv, "%s/" EXPORT_CSV_NAME, dir);
    if (n < 0 || (size_t)n >= sizeof csv)
        return errbuf_say(err, errlen, CONSOLE_E_ARG, "the folder name %s is too long", dir);
    if (mkdir(dir, 0700) != 0 && errno != EEXIST)
        return errbuf_say(err, errlen, CONSOLE_E_IO, "cannot make the folder %s: %s", dir,
                          strerror(errno));
    if (access(csv, F_OK) == 0)
        return errbuf_say(err, errlen, CONSOLE_E_EXISTS,
                          "%s already exists: export into a new, empty folder", csv);
    return 0;
}

struct export_ctx {
    struct console *c;
    const char *dir;
    FILE *csv;
    struct export_report *rep;
    char first[600]; /* the first problem */
};

static void problem(struct export_ctx *x, const char *why)
{
    if (!x->rep->failed++)
        snprintf(x->first, sizeof x->first, "%s", why);
}

struct hist_ctx {
    struct csv_cell *cell;
    int n;
};

static int history_one(void *ctx, const struct console_event *e)
{
    struct hist_ctx *h = ctx;
    char at[40], head[80];
    console_time(e->at, 0, at);
    snprintf(head, sizeof head, "%s%s %s: ", h->n++ ? " | " : "", at,
             postbox_status_name(e->status));
    cell_put(h->cell, (const uint8_t *)head, strlen(head));
    const char *note = e->sealed ? "(a note this key cannot open)" : e->note;
    cell_put(h->cell, (const uint8_t *)note, strlen(note));
    return 0;
}

static int export_one(void *ctx, const struct postbox_tip *t)
{
    struct export_ctx *x = ctx;
    struct console_tip *v = NULL;
    char err[600];
    if (console_open_tip(x->c, t, &v, err, sizeof err)) {
        problem(x, err);
        return 0;
    }
    char id[33], got[40], verdict[700], day[40] = "", secs[32] = "", file[64] = "";
    errbuf_hex(id, t->id, 16);
    console_time(t->received, 1, got);
    console_verdict_line(v, verdict, sizeof verdict);
    int ok = v->genuine && v->has_meta;
    if (ok && v->audio_len) {
        char path[4200];
        snprintf(file, sizeof file, "%s.opus", id);
        snprintf(path, sizeof path, "%s/%s", x->dir, file);
        if (console_write_new(path, v->audio, v->audio_len, err, sizeof err)) {
            problem(x, err);
            file[0] = 0;
        } else {
            x->rep->recordings++;
        }
        snprintf(secs, sizeof secs, "%.1f", v->seconds);
    }
    if (ok)
        console_capture_day(v->meta.capture_day, day);
    FILE *f = x->csv;
    csv_str(f, id, 0);
    csv_str(f, got, 0);
    csv_str(f, v->kiosk, 0);
    csv_str(f, verdict, 0);
    csv_str(f, ok ? console_category_name(v->meta.category) : "", 0);
    csv_str(f, ok ? v->meta.language : "", 0);
    csv_str(f, ok ? (v->meta.training ? "PRACTICE - discard" : "no") : "", 0);
    csv_str(f, ok ? console_when_name(v->when) : "", 0);
    csv_str(f, day, 0);
    csv_str(f, secs, 0);
    csv_str(f, file, 0);
    csv_str(f, postbox_status_name(t->status), 0);
    csv_field(f, ok && v->text ? v->text : (const uint8_t *)"", ok ? v->text_len : 0, 0);
    struct csv_cell cell;
    cell_begin(&cell, f);
    struct hist_ctx h = {&cell, 0};
    if (console_history(x->c, t, history_one, &h, err, sizeof err))
        problem(x, err);
    cell_end(&cell, 1);
    console_tip_free(v);
    x->rep->tips++;
    return 0;
}

int export_all(struct console *c, const char *dir, struct export_report *rep, char *err,
               size_t errlen)
{
    memset(rep, 0, sizeof *rep);
    if (!console_unlocked(c))
        return errbuf_say(err, errlen, CONSOLE_E_LOCKED,
                          "the post key is locked: give the passphrase first");
    int rc = export_check_dir(dir, err, errlen);
    if (rc)
        return rc;
    char path[4200];
    snprintf(path, sizeof path, "%s/" EXPORT_CSV_NAME, dir);
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    FILE *csv = fd >= 0 ? fdopen(fd, "w") : NULL;
    if (!csv) {
        rc = errbuf_say(err, errlen, errno == EEXIST ? CONSOLE_E_EXISTS : CONSOLE_E_IO,
                        "cannot write %s: %s", path, strerror(errno));
        if (fd >= 0)
            close(fd);
        return rc;
    }
    fputs("id,received,kiosk,verdict,category,language,practice,when,capture_day,audio_seconds,"
          "audio_file,status,text,history\r\n",
          csv);
    struct export_ctx x = {.c = c, .dir = dir, .csv = csv, .rep = rep};
    rc = postbox_foreach(console_postbox(c), export_one, &x, err, errlen) ? CONSOLE_E_IO : 0;
    if (fflush(csv) != 0 || fsync(fileno(csv)) != 0) {
        if (!rc)
            rc =
                errbuf_say(err, errlen, CONSOLE_E_IO, "cannot write %s: %s", path, strerror(errno));
    }
    if (fclose(csv) != 0 && !rc)
        rc = errbuf_say(err, errlen, CONSOLE_E_IO, "cannot write %s: %s", path, strerror(errno));
    if (!rc && rep->failed)
        rc = errbuf_say(err, errlen, CONSOLE_E_IO, "%d tip%s could not be exported whole: %s",
                        rep->failed, rep->failed == 1 ? "" : "s", x.first);
    return rc;
}
