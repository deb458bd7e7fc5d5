/* prompts — see prompts.h. */
#include "kiosk/prompts.h"

#include <errno.h>
#include <fcntl.h>
#include <opus/opusenc.h>
#include <opus/opusfile.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/durable.h"
#include "core/errbuf.h"

#define MAX_PCM ((size_t)PROMPTS_RATE * PROMPTS_MAX_SECONDS)
#define SAVE_BITRATE 24000 /* volunteers' voices: a step above the tips' 12 kbps */

struct entry {
    char *lang, *id, *words;
    enum prompt_status status;
    size_t line;  /* index into lines[] */
    int16_t *pcm; /* decoded, NULL until first use */
    size_t samples;
    int warned; /* a bad file was reported on stderr */
};

struct prompts {
    char *dir;      /* <assets>/prompts */
    char *manifest; /* its path, as named in messages */
    char **lines;   /* the manifest's raw lines, with their line ends */
    size_t nlines;
    struct entry *e;
    size_t n;
};

/* errbuf_say without the code, under this file's old name. */
#define fail(err, errlen, ...) ((void)errbuf_say((err), (errlen), 0, __VA_ARGS__))

static char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *xasprintf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int len = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (len < 0)
        return NULL;
    char *s = malloc((size_t)len + 1);
    if (!s)
        return NULL;
    va_start(ap, fmt);
    vsnprintf(s, (size_t)len + 1, fmt, ap);
    va_end(ap);
    return s;
}

/* Language codes and ids become path components: a small alphabet keeps
   "../" and friends out. */
static int name_ok(const char *s, size_t max)
{
    size_t n = strlen(s);
    if (n == 0 || n > max)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-'))
            return 0;
    }
    return 1;
}

const char *prompts_status_name(enum prompt_status s)
{
    switch (s) {
    case PROMPT_ESPEAK:
        return "espeak";
    case PROMPT_PLACEHOLDER:
        return "placeholder";
    case PROMPT_RECORDED:
        return "recorded";
    default:
        return "absent";
    }
}

static enum prompt_status status_parse(const char *s)
{
    for (int i = PROMPT_ESPEAK; i <= PROMPT_RECORDED; i++)
        if (strcmp(s, prompts_status_name(i)) == 0)
            return i;
    return PROMPT_ABSENT;
}

/* Linear: a manifest holds a few dozen prompts per language, and lookups
   happen once per screen. */
static struct entry *find(const struct prompts *p, const char *lang, const char *id)
{
    if (!p || !lang || !id)
        return NULL;
    for (size_t i = 0; i < p->n; i++)
        if (strcmp(p->e[i].lang, lang) == 0 && strcmp(p->e[i].id, id) == 0)
            return &p->e[i];
    return NULL;
}

void prompts_free(struct prompts *p)
{
    if (!p)
        return;
    for (size_t i = 0; i < p->n; i++) {
        free(p->e[i].lang);
        free(p->e[i].id);
        free(p->e[i].words);
        free(p->e[i].pcm);
    }
    for (size_t i = 0; i < p->nlines; i++)
        free(p->lines[i]);
    free(p->lines);
    free(p->e);
    free(p->dir);
    free(p->manifest);
    free(p);
}

/* One line of the manifest, without its line end. Fills *e (strings owned). */
static int parse_line(struct prompts *p, size_t lineno, char *s, struct entry *e, char *err,
                      size_t errlen)
{
    char *f[4];
    int nf = 0;
    char *cur = s;
    for (;;) {
        char *tab = strchr(cur, '\t');
        if (nf < 4)
            f[nf] = cur;
        nf++;
        if (!tab)
            break;
        *tab = 0;
        cur = tab + 1;
    }
    if (nf != 4) {
        fail(err, errlen,
             "%s:%zu: %d tab-separated field%s, expected 4 (lang, id, status, words): "
             "separate them with single tabs (see docs/prompts.md)",
             p->manifest, lineno, nf, nf == 1 ? "" : "s");
        return PROMPTS_E_MANIFEST;
    }
    if (!name_ok(f[0], 15)) {
        fail(err, errlen,
             "%s:%zu: bad language code \"%s\": use lowercase letters, digits, '-' or '_' "
             "(e.g. vi, hmn)",
             p->manifest, lineno, f[0]);
        return PROMPTS_E_MANIFEST;
    }
    if (!name_ok(f[1], 63)) {
        fail(err, errlen,
             "%s:%zu: bad prompt id \"%s\": use lowercase letters, digits, '-' or '_' "
             "(e.g. welcome)",
             p->manifest, lineno, f[1]);
        return PROMPTS_E_MANIFEST;
    }
    enum prompt_status st = status_parse(f[2]);
    if (st == PROMPT_ABSENT) {
        fail(err, errlen, "%s:%zu: unknown status \"%s\": use espeak, placeholder or recorded",
             p->manifest, lineno, f[2]);
        return PROMPTS_E_MANIFEST;
    }
    if (!f[3][0]) {
        fail(err, errlen, "%s:%zu: prompt %s/%s has no words: write what it says", p->manifest,
             lineno, f[0], f[1]);
        return PROMPTS_E_MANIFEST;
    }
    if (find(p, f[0], f[1])) {
        fail(err, errlen, "%s:%zu: prompt %s/%s is listed twice: remove one line", p->manifest,
             lineno, f[0], f[1]);
        return PROMPTS_E_MANIFEST;
    }
    e->lang = strdup(f[0]);
    e->id = strdup(f[1]);
    e->words = strdup(f[3]);
    e->status = st;
    if (!e->lang || !e->id || !e->words) {
        free(e->lang);
        free(e->id);
        free(e->words);
        fail(err, errlen, "prompts: out of memory");
        return PROMPTS_E_NOMEM;
    }
    return 0;
}

static int is_blank_or_comment(const char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    return *s == '#' || *s == 0 || *s == '\n' || (*s == '\r' && s[1] == '\n');
}

int prompts_load(struct prompts **out, const char *assets_dir, char *err, size_t errlen)
{
    int rc = PROMPTS_E_NOMEM;
    FILE *f = NULL;
    char *line = NULL;
    size_t cap = 0;
    struct prompts *p = NULL;
    if (!out || !assets_dir) {
        fail(err, errlen, "prompts: bad arguments");
        return PROMPTS_E_ARG;
    }
    *out = NULL;
    p = calloc(1, sizeof *p);
    if (!p || !(p->dir = xasprintf("%s/prompts", assets_dir)) ||
        !(p->manifest = xasprintf("%s/manifest.tsv", p->dir))) {
        fail(err, errlen, "prompts: out of memory");
        goto out;
    }
    f = fopen(p->manifest, "rb");
    if (!f) {
        fail(err, errlen,
             "%s: %s: the spoken prompts are missing; install the assets "
             "(see docs/prompts.md)",
             p->manifest, strerror(errno));
        rc = PROMPTS_E_IO;
        goto out;
    }
    size_t total = 0, lineno = 0, cap_lines = 0;
    ssize_t len;
    while ((len = getline(&line, &cap, f)) >= 0) {
        lineno++;
        total += (size_t)len;
        if (total > PROMPTS_MAX_MANIFEST) {
            fail(err, errlen, "%s: larger than %d bytes: is this the manifest?", p->manifest,
                 PROMPTS_MAX_MANIFEST);
            rc = PROMPTS_E_MANIFEST;
            goto out;
        }
        if (strlen(line) != (size_t)len) {
            fail(err, errlen, "%s:%zu: a NUL byte: save the manifest as UTF-8 text", p->manifest,
                 lineno);
            rc = PROMPTS_E_MANIFEST;
            goto out;
        }
        if (len > PROMPTS_MAX_LINE) {
            fail(err, errlen, "%s:%zu: line longer than %d bytes", p->manifest, lineno,
                 PROMPTS_MAX_LINE);
            rc = PROMPTS_E_MANIFEST;
            goto out;
        }
        if (p->nlines == cap_lines) {
            size_t nc = cap_lines ? cap_lines * 2 : 64;
            char **nl = realloc(p->lines, nc * sizeof *nl);
            struct entry *ne = realloc(p->e, nc * sizeof *ne);
            if (nl)
                p->lines = nl;
            if (ne)
                p->e = ne;
            if (!nl || !ne) {
                fail(err, errlen, "prompts: out of memory");
                goto out;
            }
            cap_lines = nc;
        }
        if (!(p->lines[p->nlines] = strdup(line))) {
            fail(err, errlen, "prompts: out of memory");
            goto out;
        }
        p->nlines++;
        if (is_blank_or_comment(line))
            continue;
        /* Drop the line end (a manifest edited on Windows has \r\n). */
        if (len > 0 && line[len - 1] == '\n')
            line[--len] = 0;
        if (len > 0 && line[len - 1] == '\r')
            line[--len] = 0;
        struct entry *e = &p->e[p->n];
        memset(e, 0, sizeof *e);
        if ((rc = parse_line(p, lineno, line, e, err, errlen)) != 0)
            goto out;
        e->line = p->nlines - 1;
        p->n++;
    }
    if (ferror(f)) {
        fail(err, errlen, "%s: read error: %s", p->manifest, strerror(errno));
        rc = PROMPTS_E_IO;
        goto out;
    }
    *out = p;
    p = NULL;
    rc = 0;
out:
    free(line);
    if (f)
        fclose(f);
    prompts_free(p);
    return rc;
}

static const char *op_reason(int e)
{
    switch (e) {
    case OP_ENOTFORMAT:
        return "not an Ogg Opus file";
    case OP_EBADHEADER:
    case OP_EVERSION:
        return "its Opus header is damaged";
    case OP_EBADLINK:
    case OP_EBADPACKET:
    case OP_HOLE:
        return "it is damaged in the middle";
    case OP_EBADTIMESTAMP:
        return "its timestamps are damaged";
    case OP_EREAD:
    case OP_EFAULT:
        return "it cannot be read";
    case OP_EIMPL:
        return "it uses an Opus feature this decoder lacks";
    default:
        return "it cannot be decoded";
    }
}

/*
 * Decode the whole file to mono at 48 kHz. op_read_stereo() gives two
 * channels whatever the file holds (and whatever each chained link
 * holds), so one code path downmixes everything.
 */
static int decode(const char *path, const char *name, int16_t **pcm, size_t *samples, char *err,
                  size_t errlen)
{
    OpusFileCallbacks cb;
    OggOpusFile *of = NULL;
    int16_t *out = NULL;
    size_t n = 0, cap = 0;
    int rc = PROMPTS_E_DECODE, e = 0;
    void *stream = op_fopen(&cb, path, "rb");
    if (!stream) {
        if (errno == ENOENT) {
            fail(err, errlen,
                 "prompt %s: %s is missing: run tools/make-prompts.sh or record it "
                 "(see docs/prompts.md)",
                 name, path);
            return PROMPTS_E_MISSING;
        }
        fail(err, errlen, "prompt %s: %s: %s", name, path, strerror(errno));
        return PROMPTS_E_IO;
    }
    of = op_open_callbacks(stream, &cb, NULL, 0, &e);
    if (!of) {
        cb.close(stream);
        goto bad;
    }
    for (;;) {
        opus_int16 buf[2 * 5760]; /* 120 ms at 48 kHz, the longest Opus packet */
        int r = op_read_stereo(of, buf, (int)(sizeof buf / sizeof *buf));
        if (r < 0) {
            e = r;
            goto bad;
        }
        if (r == 0)
            break;
        if (n + (size_t)r > MAX_PCM) {
            fail(err, errlen,
                 "prompt %s: %s is longer than %d s: is it the right file? record a shorter "
                 "prompt",
                 name, path, PROMPTS_MAX_SECONDS);
            goto out;
        }
        if (n + (size_t)r > cap) {
            size_t nc = cap ? cap * 2 : (size_t)PROMPTS_RATE * 4;
            while (nc < n + (size_t)r)
                nc *= 2;
            if (nc > MAX_PCM)
                nc = MAX_PCM;
            int16_t *nb = realloc(out, nc * sizeof *nb);
            if (!nb) {
                fail(err, errlen, "prompts: out of memory");
                rc = PROMPTS_E_NOMEM;
                goto out;
            }
            out = nb;
            cap = nc;
        }
        for (int i = 0; i < r; i++)
            out[n + (size_t)i] = (int16_t)(((int32_t)buf[2 * i] + buf[2 * i + 1]) / 2);
        n += (size_t)r;
    }
    if (n == 0) {
        fail(err, errlen, "prompt %s: %s holds no sound: record it again (see docs/prompts.md)",
             name, path);
        goto out;
    }
    *pcm = out;
    *samples = n;
    out = NULL;
    rc = 0;
    goto out;
bad:
    fail(err, errlen,
         "prompt %s: %s: %s (opusfile error %d): run tools/make-prompts.sh or record it again "
         "(see docs/prompts.md)",
         name, path, op_reason(e), e);
out:
    if (of)
        op_free(of);
    free(out);
    return rc;
}

/* Decode e's file into its cache if not yet there. */
static int load_entry(struct prompts *p, struct entry *e, char *err, size_t errlen)
{
    if (e->pcm)
        return 0;
    char *path = xasprintf("%s/%s/%s.opus", p->dir, e->lang, e->id);
    char *name = xasprintf("%s/%s", e->lang, e->id);
    int rc;
    if (!path || !name) {
        fail(err, errlen, "prompts: out of memory");
        rc = PROMPTS_E_NOMEM;
    } else {
        rc = decode(path, name, &e->pcm, &e->samples, err, errlen);
    }
    free(path);
    free(name);
    return rc;
}

int prompts_get(struct prompts *p, const char *lang, const char *id, const int16_t **pcm,
                size_t *samples, int *rate, char *err, size_t errlen)
{
    if (!p || !lang || !id || !pcm || !samples) {
        fail(err, errlen, "prompts: bad arguments");
        return PROMPTS_E_ARG;
    }
    int is_fb = strcmp(lang, PROMPTS_FALLBACK_LANG) == 0;
    struct entry *e = find(p, lang, id);
    struct entry *fb = is_fb ? NULL : find(p, PROMPTS_FALLBACK_LANG, id);
    int rc = PROMPTS_E_MISSING;
    if (!e && !fb) {
        fail(err, errlen,
             "prompt \"%s\" is not in %s for %s%s: add a line for it "
             "(see docs/prompts.md)",
             id, p->manifest, lang, is_fb ? "" : " nor " PROMPTS_FALLBACK_LANG);
        return rc;
    }
    if (e) {
        char why[512];
        rc = load_entry(p, e, why, sizeof why);
        if (rc != 0)
            fail(err, errlen, "%s", why);
        /* A missing file is the expected state of a language not yet
           recorded; a damaged one is a fault a technician must hear of. */
        if (rc != 0 && rc != PROMPTS_E_MISSING && fb && !e->warned) {
            fprintf(stderr, "prompts: %s; speaking the %s prompt instead\n", why,
                    PROMPTS_FALLBACK_LANG);
            e->warned = 1;
        }
    }
    if (rc != 0 && fb) {
        e = fb;
        rc = load_entry(p, e, err, errlen);
    }
    if (rc != 0)
        return rc;
    *pcm = e->pcm;
    *samples = e->samples;
    if (rate)
        *rate = PROMPTS_RATE;
    return 0;
}

const char *prompts_words(const struct prompts *p, const char *lang, const char *id)
{
    const struct entry *e = find(p, lang, id);
    if (!e)
        e = find(p, PROMPTS_FALLBACK_LANG, id);
    return e ? e->words : NULL;
}

enum prompt_status prompts_status(const struct prompts *p, const char *lang, const char *id)
{
    const struct entry *e = find(p, lang, id);
    return e ? e->status : PROMPT_ABSENT;
}

size_t prompts_count(const struct prompts *p)
{
    return p ? p->n : 0;
}

int prompts_at(const struct prompts *p, size_t i, const char **lang, const char **id,
               enum prompt_status *status, const char **words)
{
    if (!p || i >= p->n)
        return PROMPTS_E_ARG;
    const struct entry *e = &p->e[i];
    if (lang)
        *lang = e->lang;
    if (id)
        *id = e->id;
    if (status)
        *status = e->status;
    if (words)
        *words = e->words;
    return 0;
}

/* ---- saving ---- */

struct sink {
    int fd;
    int err; /* errno of the first failed write */
};

static int sink_write(void *user, const unsigned char *ptr, opus_int32 len)
{
    struct sink *s = user;
    while (len > 0 && !s->err) {
        ssize_t w = write(s->fd, ptr, (size_t)len);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            s->err = w < 0 ? errno : EIO;
            break;
        }
        ptr += w;
        len -= (opus_int32)w;
    }
    return s->err ? 1 : 0;
}

/* libopusenc closes the stream when it is drained; we fsync and close the
   fd ourselves, where a failure can be reported. */
static int sink_close(void *user)
{
    (void)user;
    return 0;
}

/* Close (and fsync) fd and rename tmp over path, then sync the directory so
   the rename itself survives a power cut. 0 or errno. */
static int commit_file(int fd, const char *tmp, const char *path, const char *dir)
{
    int e = 0;
    if (fsync(fd) < 0)
        e = errno;
    if (close(fd) < 0 && !e)
        e = errno;
    if (!e && rename(tmp, path) < 0)
        e = errno;
    if (!e)
        e = -durable_sync_dir(dir);
    return e;
}

/* Encode into a new file `tmp`; on success *fd is left open for
   commit_file(), so the caller decides when it is synced and renamed. */
static int write_opus(const char *tmp, const int16_t *pcm, size_t n, int *fd, char *err,
                      size_t errlen)
{
    int rc = PROMPTS_E_ENCODE, e = 0;
    struct sink s = {.fd = -1};
    OggOpusComments *c = NULL;
    OggOpusEnc *enc = NULL;
    OpusEncCallbacks cb = {sink_write, sink_close};
    s.fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (s.fd < 0) {
        fail(err, errlen, "%s: %s: cannot save the prompt", tmp, strerror(errno));
        return PROMPTS_E_IO;
    }
    if (!(c = ope_comments_create()) ||
        ope_comments_add(c, "HOMTHU_PROMPT", "recorded") != OPE_OK) {
        fail(err, errlen, "prompts: out of memory");
        rc = PROMPTS_E_NOMEM;
        goto out;
    }
    enc = ope_encoder_create_callbacks(&cb, &s, c, PROMPTS_SAVE_RATE, 1, 0, &e);
    if (!enc)
        goto enc_fail;
    if ((e = ope_encoder_ctl(enc, OPUS_SET_SIGNAL(OPUS_SIGNAL_VOICE))) != OPE_OK ||
        (e = ope_encoder_ctl(enc, OPUS_SET_BITRATE(SAVE_BITRATE))) != OPE_OK ||
        (e = ope_encoder_ctl(enc, OPUS_SET_EXPERT_FRAME_DURATION(OPUS_FRAMESIZE_60_MS))) != OPE_OK)
        goto enc_fail;
    if ((e = ope_encoder_write(enc, pcm, (int)n)) != OPE_OK ||
        (e = ope_encoder_drain(enc)) != OPE_OK)
        goto enc_fail;
    if (s.err) {
        fail(err, errlen, "%s: %s: cannot save the prompt (is the disk full?)", tmp,
             strerror(s.err));
        rc = PROMPTS_E_IO;
        goto out;
    }
    rc = 0;
    goto out;
enc_fail:
    if (s.err) {
        fail(err, errlen, "%s: %s: cannot save the prompt (is the disk full?)", tmp,
             strerror(s.err));
        rc = PROMPTS_E_IO;
    } else {
        fail(err, errlen, "%s: the Opus encoder failed: %s", tmp, ope_strerror(e));
    }
out:
    if (enc)
        ope_encoder_destroy(enc);
    if (c)
        ope_comments_destroy(c);
    if (rc != 0) {
        close(s.fd);
        unlink(tmp);
        return rc;
    }
    *fd = s.fd;
    return 0;
}

/* Write the manifest with lines changed[i] replaced by repl[i], atomically. */
static int write_manifest_n(struct prompts *p, const size_t *changed, char *const *repl,
                            size_t nchanged, char *err, size_t errlen)
{
    int rc = PROMPTS_E_NOMEM;
    char *tmp = xasprintf("%s.tmp.%ld", p->manifest, (long)getpid());
    int fd = -1;
    if (!tmp) {
        fail(err, errlen, "prompts: out of memory");
        return rc;
    }
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        goto io;
    for (size_t i = 0; i < p->nlines; i++) {
        const char *s = p->lines[i];
        for (size_t c = 0; c < nchanged; c++)
            if (changed[c] == i)
                s = repl[c];
        size_t len = strlen(s);
        while (len > 0) {
            ssize_t w = write(fd, s, len);
            if (w < 0 && errno == EINTR)
                continue;
            if (w <= 0) {
                if (w == 0)
                    errno = EIO;
                goto io;
            }
            s += w;
            len -= (size_t)w;
        }
    }
    int e = commit_file(fd, tmp, p->manifest, p->dir);
    fd = -1;
    if (e) {
        errno = e;
        goto io;
    }
    free(tmp);
    return 0;
io:
    fail(err, errlen, "%s: %s: cannot update the manifest (is the disk full?)", p->manifest,
         strerror(errno));
    if (fd >= 0)
        close(fd);
    unlink(tmp);
    free(tmp);
    return PROMPTS_E_IO;
}

static int write_manifest(struct prompts *p, size_t changed, const char *repl, char *err,
                          size_t errlen)
{
    char *r = (char *)repl;
    return write_manifest_n(p, &changed, &r, 1, err, errlen);
}

int prompts_save(struct prompts *p, const char *lang, const char *id, const int16_t *pcm16k,
                 size_t n, char *err, size_t errlen)
{
    int rc = PROMPTS_E_NOMEM;
    char *langdir = NULL, *path = NULL, *tmp = NULL, *line = NULL;
    if (!p || !lang || !id || (!pcm16k && n)) {
        fail(err, errlen, "prompts: bad arguments");
        return PROMPTS_E_ARG;
    }
    struct entry *e = find(p, lang, id);
    if (!e) {
        fail(err, errlen, "prompt %s/%s is not in %s: add its line first (see docs/prompts.md)",
             lang, id, p->manifest);
        return PROMPTS_E_MISSING;
    }
    if (n == 0 || n > (size_t)PROMPTS_SAVE_RATE * PROMPTS_MAX_SECONDS) {
        fail(err, errlen, "prompt %s/%s: a recording of %.1f s: record between a moment and %d s",
             lang, id, (double)n / PROMPTS_SAVE_RATE, PROMPTS_MAX_SECONDS);
        return PROMPTS_E_ARG;
    }
    if (!(langdir = xasprintf("%s/%s", p->dir, lang)) ||
        !(path = xasprintf("%s/%s.opus", langdir, id)) ||
        !(tmp = xasprintf("%s/.%s.opus.tmp.%ld", langdir, id, (long)getpid())) ||
        !(line = xasprintf("%s\t%s\trecorded\t%s\n", e->lang, e->id, e->words))) {
        fail(err, errlen, "prompts: out of memory");
        goto out;
    }
    /* The first recording of a new language makes its directory. */
    if (mkdir(langdir, 0755) < 0 && errno != EEXIST) {
        fail(err, errlen, "%s: %s: cannot save the prompt", langdir, strerror(errno));
        rc = PROMPTS_E_IO;
        goto out;
    }
    int fd = -1;
    if ((rc = write_opus(tmp, pcm16k, n, &fd, err, errlen)) != 0)
        goto out;
    int er = commit_file(fd, tmp, path, langdir);
    if (er) {
        unlink(tmp);
        fail(err, errlen, "%s: %s: cannot save the prompt (is the disk full?)", path, strerror(er));
        rc = PROMPTS_E_IO;
        goto out;
    }
    /* The old decoded sound is stale now. */
    free(e->pcm);
    e->pcm = NULL;
    e->samples = 0;
    e->warned = 0;
    if ((rc = write_manifest(p, e->line, line, err, errlen)) != 0)
        goto out;
    free(p->lines[e->line]);
    p->lines[e->line] = line;
    line = NULL;
    e->status = PROMPT_RECORDED;
    rc = 0;
out:
    free(langdir);
    free(path);
    free(tmp);
    free(line);
    return rc;
}

/* ---- the current take, and sharing on a USB stick ---- */

int prompts_get_own(struct prompts *p, const char *lang, const char *id, const int16_t **pcm,
                    size_t *samples, char *err, size_t errlen)
{
    if (!p || !lang || !id || !pcm || !samples) {
        fail(err, errlen, "prompts: bad arguments");
        return PROMPTS_E_ARG;
    }
    struct entry *e = find(p, lang, id);
    if (!e) {
        fail(err, errlen, "prompt %s/%s is not in %s", lang, id, p->manifest);
        return PROMPTS_E_MISSING;
    }
    int rc = load_entry(p, e, err, errlen);
    if (rc != 0)
        return rc;
    *pcm = e->pcm;
    *samples = e->samples;
    return 0;
}

/*
 * A regular file of at most `max` bytes, read whole. O_NOFOLLOW and
 * O_NONBLOCK: a link or a FIFO planted on a stick is refused, never
 * followed or waited on.
 */
static int read_small(const char *path, uint8_t **out, size_t *len, size_t max)
{
    *out = NULL;
    *len = 0;
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0)
        return errno == ENOENT ? -ENOENT : -EIO;
    struct stat st;
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size < 0 ||
        (uint64_t)st.st_size > max) {
        close(fd);
        return -EFBIG;
    }
    uint8_t *b = malloc((size_t)st.st_size + 1);
    size_t got = 0;
    if (!b) {
        close(fd);
        return -ENOMEM;
    }
    for (;;) {
        ssize_t r = read(fd, b + got, (size_t)st.st_size + 1 - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            free(b);
            close(fd);
            return -EIO;
        }
        if (r == 0)
            break;
        got += (size_t)r;
        if (got > (size_t)st.st_size) { /* it grew while read: not a file at rest */
            free(b);
            close(fd);
            return -EFBIG;
        }
    }
    close(fd);
    *out = b;
    *len = got;
    return 0;
}

/* Ogg Opus that decodes whole, with sound, at most PROMPTS_MAX_SECONDS. */
static int opus_ok(const uint8_t *b, size_t n)
{
    if (n < 47 || memcmp(b, "OggS", 4) != 0 || memcmp(b + 28, "OpusHead", 8) != 0)
        return 0;
    int e = 0;
    OggOpusFile *of = op_open_memory(b, n, &e);
    if (!of)
        return 0;
    size_t total = 0;
    int ok = 1;
    for (;;) {
        opus_int16 buf[2 * 5760];
        int r = op_read_stereo(of, buf, (int)(sizeof buf / sizeof *buf));
        if (r < 0) {
            ok = 0;
            break;
        }
        if (r == 0)
            break;
        total += (size_t)r;
        if (total > MAX_PCM) {
            ok = 0;
            break;
        }
    }
    op_free(of);
    return ok && total > 0;
}

static void sha256_hex(const uint8_t *b, size_t n, char hex[65])
{
    unsigned char h[crypto_hash_sha256_BYTES];
    crypto_hash_sha256(h, b, n);
    sodium_bin2hex(hex, 65, h, sizeof h);
}

/* Write bytes to a new `tmp`, synced and closed: 0 or errno. */
static int write_synced(const char *tmp, const void *b, size_t n)
{
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return errno;
    struct sink s = {.fd = fd};
    sink_write(&s, b, (opus_int32)n);
    int e = s.err;
    if (!e && fsync(fd) < 0)
        e = errno;
    if (close(fd) < 0 && !e)
        e = errno;
    if (e)
        unlink(tmp);
    return e;
}

/* Make dir and its parents that are missing: 0 or errno. */
static int mkdirs(const char *dir)
{
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s", dir);
    for (char *q = tmp + 1; *q; q++) {
        if (*q != '/')
            continue;
        *q = 0;
        if (mkdir(tmp, 0755) < 0 && errno != EEXIST)
            return errno;
        *q = '/';
    }
    return mkdir(tmp, 0755) < 0 && errno != EEXIST ? errno : 0;
}

static char *own_path(const struct prompts *p, const char *lang, const char *id)
{
    return xasprintf("%s/%s/%s.opus", p->dir, lang, id);
}

int prompts_export(struct prompts *p, const char *lang, const char *stick,
                   struct prompts_transfer *out, char *err, size_t errlen)
{
    if (!p || !lang || !stick || !out || !name_ok(lang, 15)) {
        fail(err, errlen, "prompts: bad arguments");
        return PROMPTS_E_ARG;
    }
    memset(out, 0, sizeof *out);
    char *dir = xasprintf("%s/" PROMPTS_STICK_DIR "/%s", stick, lang);
    char *man = NULL;
    size_t mlen = 0, mcap = 0;
    int rc = PROMPTS_E_NOMEM;
    if (!dir)
        goto oom;
    for (size_t i = 0; i < p->n; i++) {
        struct entry *e = &p->e[i];
        if (strcmp(e->lang, lang) != 0 || e->status != PROMPT_RECORDED)
            continue;
        if (out->n == PROMPTS_MAX_TRANSFER)
            break;
        if (!out->n) {
            int er = mkdirs(dir);
            if (er) {
                fail(err, errlen, "%s: %s: cannot write to the stick", dir, strerror(er));
                rc = PROMPTS_E_IO;
                goto out;
            }
            man = xasprintf("# homthu-prompts 1\n");
            if (!man)
                goto oom;
            mlen = mcap = strlen(man);
        }
        uint8_t *b;
        size_t n;
        char *src = own_path(p, lang, e->id);
        int r = src ? read_small(src, &b, &n, PROMPTS_MAX_FILE) : -ENOMEM;
        free(src);
        if (r != 0) {
            fail(err, errlen, "prompt %s/%s is marked recorded but its file cannot be read (%s)",
                 lang, e->id, strerror(-r));
            rc = PROMPTS_E_IO;
            goto out;
        }
        char hex[65];
        sha256_hex(b, n, hex);
        char *path = xasprintf("%s/%s.opus", dir, e->id);
        char *tmp = xasprintf("%s/.%s.opus.tmp", dir, e->id);
        char *line = xasprintf("%s\t%zu\t%s\t%s\n", e->id, n, hex, e->words);
        int er = path && tmp ? write_synced(tmp, b, n) : ENOMEM;
        if (!er && rename(tmp, path) < 0)
            er = errno;
        free(b);
        free(path);
        free(tmp);
        if (er || !line) {
            free(line);
            fail(err, errlen, "%s: %s: cannot write to the stick (full? read-only?)", dir,
                 strerror(er ? er : ENOMEM));
            rc = er ? PROMPTS_E_IO : PROMPTS_E_NOMEM;
            goto out;
        }
        size_t ll = strlen(line);
        char *nm = realloc(man, mlen + ll + 1);
        if (!nm) {
            free(line);
            goto oom;
        }
        man = nm;
        memcpy(man + mlen, line, ll + 1);
        mlen += ll;
        free(line);
        snprintf(out->item[out->n].id, sizeof out->item[0].id, "%s", e->id);
        out->item[out->n].change = PROMPTS_NEW;
        out->n++;
    }
    if (!out->n) {
        fail(err, errlen, "no prompt of %s is recorded: nothing to copy", lang);
        rc = PROMPTS_E_MISSING;
        goto out;
    }
    {
        /* The manifest last: a stick pulled out early holds the old one,
           whose sizes and hashes refuse the half-written files. */
        char *path = xasprintf("%s/manifest.tsv", dir);
        char *tmp = xasprintf("%s/.manifest.tsv.tmp", dir);
        int er = path && tmp ? write_synced(tmp, man, mlen) : ENOMEM;
        if (!er && rename(tmp, path) < 0)
            er = errno;
        if (!er)
            er = -durable_sync_dir(dir);
        free(path);
        free(tmp);
        if (er) {
            fail(err, errlen, "%s: %s: cannot write to the stick (full? read-only?)", dir,
                 strerror(er));
            rc = PROMPTS_E_IO;
            goto out;
        }
    }
    rc = 0;
    goto out;
oom:
    fail(err, errlen, "prompts: out of memory");
    rc = PROMPTS_E_NOMEM;
out:
    (void)mcap;
    free(man);
    free(dir);
    return rc;
}

static int stick_bad(struct prompts_transfer *out, int bad, const char *file, char *err,
                     size_t errlen, const char *why)
{
    out->bad = bad;
    snprintf(out->bad_file, sizeof out->bad_file, "%s", file);
    fail(err, errlen, "the stick's %s: %s: nothing was taken", file, why);
    return PROMPTS_E_STICK;
}

int prompts_import(struct prompts *p, const char *lang, const char *stick, int apply,
                   struct prompts_transfer *out, char *err, size_t errlen)
{
    if (!p || !lang || !stick || !out || !name_ok(lang, 15)) {
        fail(err, errlen, "prompts: bad arguments");
        return PROMPTS_E_ARG;
    }
    memset(out, 0, sizeof *out);
    uint8_t *bytes[PROMPTS_MAX_TRANSFER] = {0};
    size_t sizes[PROMPTS_MAX_TRANSFER] = {0};
    char *words[PROMPTS_MAX_TRANSFER] = {0};
    char *tmps[PROMPTS_MAX_TRANSFER] = {0};
    size_t lines[PROMPTS_MAX_TRANSFER];
    char *repl[PROMPTS_MAX_TRANSFER] = {0};
    uint8_t *man = NULL;
    size_t mlen = 0, nrepl = 0;
    int rc = PROMPTS_E_NOMEM;
    char *dir = xasprintf("%s/" PROMPTS_STICK_DIR "/%s", stick, lang);
    char *mpath = dir ? xasprintf("%s/manifest.tsv", dir) : NULL;
    char *langdir = xasprintf("%s/%s", p->dir, lang);
    if (!mpath || !langdir) {
        fail(err, errlen, "prompts: out of memory");
        goto out;
    }
    int r = read_small(mpath, &man, &mlen, 64 * 1024);
    if (r == -ENOENT) {
        fail(err, errlen, "%s: the stick holds no prompts of %s", mpath, lang);
        rc = PROMPTS_E_MISSING;
        goto out;
    }
    if (r != 0) {
        rc = stick_bad(out, PROMPTS_BAD_DAMAGED, "manifest.tsv", err, errlen,
                       "cannot be read, or is not a small file");
        goto out;
    }
    man[mlen] = 0;
    static const char head[] = "# homthu-prompts 1\n";
    if (strlen((char *)man) != mlen || strncmp((char *)man, head, sizeof head - 1) != 0) {
        rc = stick_bad(out, PROMPTS_BAD_DAMAGED, "manifest.tsv", err, errlen,
                       "not a homthu-prompts 1 manifest");
        goto out;
    }
    char *save = NULL;
    for (char *ln = strtok_r((char *)man + sizeof head - 1, "\n", &save); ln;
         ln = strtok_r(NULL, "\n", &save)) {
        size_t l = strlen(ln);
        if (l && ln[l - 1] == '\r')
            ln[--l] = 0;
        if (!l || ln[0] == '#')
            continue;
        char *f[4] = {ln, NULL, NULL, NULL};
        for (int i = 1; i < 4 && f[i - 1]; i++) {
            char *t = strchr(f[i - 1], '\t');
            if (t) {
                *t = 0;
                f[i] = t + 1;
            }
        }
        char file[80];
        snprintf(file, sizeof file, "%.63s.opus", f[0]);
        if (!f[3] || strchr(f[3], '\t') || !f[3][0] || !name_ok(f[0], 63) ||
            strlen(f[2]) != 64) {
            rc = stick_bad(out, PROMPTS_BAD_DAMAGED, "manifest.tsv", err, errlen,
                           "a line is not id, bytes, sha256, words");
            goto out;
        }
        struct entry *e = find(p, lang, f[0]);
        if (!e) {
            rc = stick_bad(out, PROMPTS_BAD_UNKNOWN, file, err, errlen,
                           "no such prompt in this kiosk's manifest for that language");
            goto out;
        }
        size_t k = out->n;
        for (size_t j = 0; j < k; j++)
            if (strcmp(out->item[j].id, f[0]) == 0) {
                rc = stick_bad(out, PROMPTS_BAD_DAMAGED, file, err, errlen, "listed twice");
                goto out;
            }
        if (k == PROMPTS_MAX_TRANSFER) {
            rc = stick_bad(out, PROMPTS_BAD_DAMAGED, "manifest.tsv", err, errlen,
                           "more prompts than any language has");
            goto out;
        }
        char *end;
        unsigned long long want = strtoull(f[1], &end, 10);
        char *src = xasprintf("%s/%s", dir, file);
        r = src ? read_small(src, &bytes[k], &sizes[k], PROMPTS_MAX_FILE) : -ENOMEM;
        free(src);
        snprintf(out->item[k].id, sizeof out->item[0].id, "%s", f[0]);
        out->n++;
        char hex[65] = "";
        if (r == 0)
            sha256_hex(bytes[k], sizes[k], hex);
        if (r != 0 || *end || end == f[1] || want != sizes[k] || strcmp(hex, f[2]) != 0 ||
            !opus_ok(bytes[k], sizes[k])) {
            rc = stick_bad(out, PROMPTS_BAD_DAMAGED, file, err, errlen,
                           r != 0 ? "missing, or not a small file"
                           : want != sizes[k] ? "its size is not the one listed (cut short?)"
                           : strcmp(hex, f[2]) ? "its content is not the one listed (damaged)"
                                               : "not a sound the kiosk can play");
            goto out;
        }
        if (!(words[k] = strdup(f[3]))) {
            fail(err, errlen, "prompts: out of memory");
            goto out;
        }
        /* What it changes: the bytes this kiosk speaks now, if any. */
        uint8_t *mine;
        size_t mine_len;
        char *own = own_path(p, lang, f[0]);
        r = own ? read_small(own, &mine, &mine_len, PROMPTS_MAX_FILE * 4) : -ENOMEM;
        free(own);
        if (r == 0) {
            int same = mine_len == sizes[k] && memcmp(mine, bytes[k], mine_len) == 0;
            out->item[k].change = same ? PROMPTS_SAME : PROMPTS_REPLACED;
            free(mine);
        } else {
            out->item[k].change = PROMPTS_NEW;
        }
        if (out->item[k].change == PROMPTS_SAME)
            out->n_same++;
        else if (out->item[k].change == PROMPTS_NEW)
            out->n_new++;
        else
            out->n_replaced++;
    }
    if (!out->n) {
        fail(err, errlen, "%s lists no prompts", mpath);
        rc = PROMPTS_E_MISSING;
        goto out;
    }
    rc = 0;
    if (!apply || out->n_new + out->n_replaced == 0)
        goto out;
    /* All new files aside first: a full card leaves everything as it was. */
    int er = mkdir(langdir, 0755) < 0 && errno != EEXIST ? errno : 0;
    for (size_t k = 0; !er && k < out->n; k++) {
        if (out->item[k].change == PROMPTS_SAME)
            continue;
        tmps[k] = xasprintf("%s/.%s.opus.import.%ld", langdir, out->item[k].id, (long)getpid());
        er = tmps[k] ? write_synced(tmps[k], bytes[k], sizes[k]) : ENOMEM;
        if (er) {
            free(tmps[k]);
            tmps[k] = NULL;
        }
    }
    for (size_t k = 0; !er && k < out->n; k++) {
        struct entry *e = find(p, lang, out->item[k].id);
        if (out->item[k].change == PROMPTS_SAME)
            continue;
        lines[nrepl] = e->line;
        if (!(repl[nrepl++] = xasprintf("%s\t%s\trecorded\t%s\n", lang, e->id, words[k])))
            er = ENOMEM;
    }
    if (er) {
        fail(err, errlen, "%s: %s: cannot save the prompts (is the card full?); nothing changed",
             langdir, strerror(er));
        rc = PROMPTS_E_IO;
        goto out;
    }
    for (size_t k = 0; k < out->n; k++) {
        if (!tmps[k])
            continue;
        char *path = own_path(p, lang, out->item[k].id);
        if (!path || rename(tmps[k], path) < 0) {
            fail(err, errlen, "%s: %s: a prompt could not be put in place", langdir,
                 strerror(path ? errno : ENOMEM));
            free(path);
            rc = PROMPTS_E_IO;
            goto out;
        }
        free(path);
        free(tmps[k]);
        tmps[k] = NULL;
        struct entry *e = find(p, lang, out->item[k].id);
        free(e->pcm); /* stale now */
        e->pcm = NULL;
        e->samples = 0;
        e->warned = 0;
    }
    er = -durable_sync_dir(langdir);
    if (er) {
        fail(err, errlen, "%s: %s", langdir, strerror(er));
        rc = PROMPTS_E_IO;
        goto out;
    }
    if ((rc = write_manifest_n(p, lines, repl, nrepl, err, errlen)) != 0)
        goto out;
    for (size_t k = 0, c = 0; k < out->n; k++) {
        if (out->item[k].change == PROMPTS_SAME)
            continue;
        struct entry *e = find(p, lang, out->item[k].id);
        free(p->lines[e->line]);
        p->lines[e->line] = repl[c];
        repl[c++] = NULL;
        free(e->words);
        e->words = words[k];
        words[k] = NULL;
        e->status = PROMPT_RECORDED;
    }
out:
    for (size_t k = 0; k < PROMPTS_MAX_TRANSFER; k++) {
        if (tmps[k]) {
            unlink(tmps[k]);
            free(tmps[k]);
        }
        free(bytes[k]);
        free(words[k]);
        free(repl[k]);
    }
    free(man);
    free(dir);
    free(mpath);
    free(langdir);
    return rc;
}
