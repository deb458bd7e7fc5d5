/* config — see config.h and docs/config.md. */
#include "core/config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "core/errbuf.h"
#include "kiosk/gpio.h" /* gpio_chip_path(), to tell two names of one chip apart */
#include "core/readall.h"

struct entry {
    char *key;   /* "section.key" or "key" */
    char *value; /* unquoted, unescaped, trimmed */
    unsigned line;
};

struct config {
    char *name; /* as given, for messages */
    char *dir;  /* directory of the file for relative paths; NULL from memory */
    struct entry entries[CONFIG_MAX_KEYS];
    size_t n;
};

/* errbuf_say without the code, under this file's old name. */
#define say(err, errlen, ...) ((void)errbuf_say((err), (errlen), 0, __VA_ARGS__))

int config_utf8_valid(const char *str, size_t len)
{
    const unsigned char *s = (const unsigned char *)str;
    size_t i = 0;
    while (i < len) {
        unsigned char c = s[i];
        size_t need;
        uint32_t cp;
        if (c < 0x80) {
            i++;
            continue;
        } else if (c >= 0xc2 && c <= 0xdf) {
            need = 1;
            cp = c & 0x1f;
        } else if (c >= 0xe0 && c <= 0xef) {
            need = 2;
            cp = c & 0x0f;
        } else if (c >= 0xf0 && c <= 0xf4) {
            need = 3;
            cp = c & 0x07;
        } else {
            return 0; /* continuation byte first, 0xc0/0xc1 overlong, or > U+10FFFF */
        }
        if (len - i - 1 < need)
            return 0;
        for (size_t k = 1; k <= need; k++) {
            if ((s[i + k] & 0xc0) != 0x80)
                return 0;
            cp = (cp << 6) | (s[i + k] & 0x3f);
        }
        if ((need == 2 && cp < 0x800) || (need == 3 && (cp < 0x10000 || cp > 0x10ffff)) ||
            (cp >= 0xd800 && cp <= 0xdfff))
            return 0;
        i += need + 1;
    }
    return 1;
}

/*
 * A value as shown inside a message: at most ~60 bytes, cut on a UTF-8
 * boundary, so one absurd line cannot push the useful part of the message
 * out of a small err buffer.
 */
static const char *shown(const char *v, char buf[80])
{
    size_t n = strlen(v);
    if (n <= 60)
        return v;
    n = 60;
    while (n > 0 && ((unsigned char)v[n] & 0xc0) == 0x80)
        n--;
    memcpy(buf, v, n);
    memcpy(buf + n, "\xe2\x80\xa6", 4); /* "…" and NUL */
    return buf;
}

static int is_space(char ch)
{
    return ch == ' ' || ch == '\t';
}

static int is_key_char(char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
           ch == '_' || ch == '-' || ch == '.';
}

void config_free(struct config *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < c->n; i++) {
        free(c->entries[i].key);
        free(c->entries[i].value);
    }
    free(c->name);
    free(c->dir);
    free(c);
}

static const struct entry *find(const struct config *c, const char *key)
{
    /* Linear: a config holds at most 256 keys and is read once at start. */
    for (size_t i = 0; i < c->n; i++)
        if (strcmp(c->entries[i].key, key) == 0)
            return &c->entries[i];
    return NULL;
}

/* One line, already checked for length, control bytes and UTF-8, trimmed. */
static int parse_line(struct config *c, const char *p, size_t n, unsigned lineno, char *section,
                      char *err, size_t errlen)
{
    const char *name = c->name;
    if (n == 0 || p[0] == '#')
        return 0;

    if (p[0] == '[') {
        if (p[n - 1] != ']') {
            say(err, errlen, "%s:%u: expected ] at the end of the section header", name, lineno);
            return CONFIG_E_SYNTAX;
        }
        size_t sl = n - 2;
        if (sl == 0) {
            say(err, errlen, "%s:%u: empty section name (write [name])", name, lineno);
            return CONFIG_E_SYNTAX;
        }
        for (size_t i = 0; i < sl; i++) {
            if (!is_key_char(p[1 + i])) {
                say(err, errlen,
                    "%s:%u: a section name may hold only letters, digits, '_', '-' and '.'", name,
                    lineno);
                return CONFIG_E_SYNTAX;
            }
        }
        if (sl >= CONFIG_MAX_KEY) {
            say(err, errlen, "%s:%u: section name is longer than %d bytes", name, lineno,
                CONFIG_MAX_KEY - 1);
            return CONFIG_E_SYNTAX;
        }
        memcpy(section, p + 1, sl);
        section[sl] = 0;
        return 0;
    }

    size_t kl = 0;
    while (kl < n && is_key_char(p[kl]))
        kl++;
    size_t i = kl;
    while (i < n && is_space(p[i]))
        i++;
    if (kl == 0 || i == n || p[i] != '=') {
        say(err, errlen, "%s:%u: expected key = value", name, lineno);
        return CONFIG_E_SYNTAX;
    }
    i++;
    while (i < n && is_space(p[i]))
        i++;

    size_t secl = strlen(section);
    size_t full = secl ? secl + 1 + kl : kl;
    if (full > CONFIG_MAX_KEY) {
        say(err, errlen, "%s:%u: key is longer than %d bytes", name, lineno, CONFIG_MAX_KEY);
        return CONFIG_E_SYNTAX;
    }
    char key[CONFIG_MAX_KEY + 1];
    if (secl) {
        memcpy(key, section, secl);
        key[secl] = '.';
        memcpy(key + secl + 1, p, kl);
    } else {
        memcpy(key, p, kl);
    }
    key[full] = 0;

    const struct entry *prev = find(c, key);
    if (prev) {
        say(err, errlen, "%s:%u: %s is set twice (first on line %u): keep one", name, lineno, key,
            prev->line);
        return CONFIG_E_SYNTAX;
    }
    if (c->n == CONFIG_MAX_KEYS) {
        say(err, errlen, "%s:%u: more than %d keys (is this the right file?)", name, lineno,
            CONFIG_MAX_KEYS);
        return CONFIG_E_SYNTAX;
    }

    const char *v = p + i;
    size_t vl = n - i;
    char *value = malloc(vl + 1);
    if (!value) {
        say(err, errlen, "%s: out of memory", name);
        return CONFIG_E_NOMEM;
    }
    size_t out = 0;
    if (vl > 0 && v[0] == '"') {
        size_t k = 1;
        for (;;) {
            if (k == vl) {
                free(value);
                say(err, errlen, "%s:%u: missing closing \" in the value of %s", name, lineno, key);
                return CONFIG_E_SYNTAX;
            }
            if (v[k] == '"')
                break;
            if (v[k] == '\\') {
                if (k + 1 < vl && (v[k + 1] == '"' || v[k + 1] == '\\')) {
                    value[out++] = v[k + 1];
                    k += 2;
                    continue;
                }
                free(value);
                say(err, errlen,
                    "%s:%u: unknown escape in the value of %s (only \\\" and \\\\ are allowed)",
                    name, lineno, key);
                return CONFIG_E_SYNTAX;
            }
            value[out++] = v[k++];
        }
        /* The line was right-trimmed, so the closing quote must end it. */
        if (k != vl - 1) {
            free(value);
            say(err, errlen,
                "%s:%u: text after the closing \" (put the whole value inside the quotes)", name,
                lineno);
            return CONFIG_E_SYNTAX;
        }
    } else {
        /*
         * "volume = 80  # percent" would silently become the value
         * "80  # percent"; refusing it is clearer than guessing whether
         * a '#' in a URL or a name starts a comment.
         */
        for (size_t k = 1; k < vl; k++) {
            if (v[k] == '#' && is_space(v[k - 1])) {
                free(value);
                say(err, errlen,
                    "%s:%u: a comment must be on a line of its own (or put the value in "
                    "double quotes)",
                    name, lineno);
                return CONFIG_E_SYNTAX;
            }
        }
        memcpy(value, v, vl);
        out = vl;
    }
    value[out] = 0;

    char *k2 = strdup(key);
    if (!k2) {
        free(value);
        say(err, errlen, "%s: out of memory", name);
        return CONFIG_E_NOMEM;
    }
    c->entries[c->n].key = k2;
    c->entries[c->n].value = value;
    c->entries[c->n].line = lineno;
    c->n++;
    return 0;
}

static int parse(struct config *c, const char *text, size_t len, char *err, size_t errlen)
{
    char section[CONFIG_MAX_KEY + 1] = "";
    size_t pos = 0;
    unsigned lineno = 0;

    /* Notepad and friends start UTF-8 files with a byte order mark. */
    if (len >= 3 && memcmp(text, "\xef\xbb\xbf", 3) == 0)
        pos = 3;

    while (pos < len) {
        lineno++;
        const char *line = text + pos;
        const char *nl = memchr(line, '\n', len - pos);
        size_t n = nl ? (size_t)(nl - line) : len - pos;
        pos += n + (nl ? 1 : 0);
        if (n > 0 && line[n - 1] == '\r') /* CRLF from Windows editors */
            n--;
        if (n > CONFIG_MAX_LINE) {
            say(err, errlen, "%s:%u: line is longer than %d bytes (shorten it)", c->name, lineno,
                CONFIG_MAX_LINE);
            return CONFIG_E_SYNTAX;
        }
        for (size_t i = 0; i < n; i++) {
            unsigned char ch = (unsigned char)line[i];
            if (ch == 0) {
                say(err, errlen, "%s:%u: NUL byte in the line (is this a text file?)", c->name,
                    lineno);
                return CONFIG_E_SYNTAX;
            }
            if ((ch < 0x20 && ch != '\t') || ch == 0x7f) {
                say(err, errlen, "%s:%u: control character 0x%02x in the line (remove it)", c->name,
                    lineno, ch);
                return CONFIG_E_SYNTAX;
            }
        }
        if (!config_utf8_valid(line, n)) {
            say(err, errlen, "%s:%u: not valid UTF-8 (save the file as UTF-8)", c->name, lineno);
            return CONFIG_E_SYNTAX;
        }
        while (n > 0 && is_space(line[0])) {
            line++;
            n--;
        }
        while (n > 0 && is_space(line[n - 1]))
            n--;
        int rc = parse_line(c, line, n, lineno, section, err, errlen);
        if (rc)
            return rc;
    }
    return 0;
}

static struct config *config_new(const char *name)
{
    struct config *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->name = strdup(name);
    if (!c->name) {
        free(c);
        return NULL;
    }
    return c;
}

int config_load_mem(struct config **out, const char *name, const char *text, size_t len, char *err,
                    size_t errlen)
{
    if (!out || !name || (!text && len))
        return CONFIG_E_ARG;
    *out = NULL;
    struct config *c = config_new(name);
    if (!c) {
        say(err, errlen, "%s: out of memory", name);
        return CONFIG_E_NOMEM;
    }
    int rc = parse(c, text ? text : "", len, err, errlen);
    if (rc) {
        config_free(c);
        return rc;
    }
    *out = c;
    return 0;
}

int config_load_file(struct config **out, const char *path, char *err, size_t errlen)
{
    if (!out || !path)
        return CONFIG_E_ARG;
    *out = NULL;
    int rc = CONFIG_E_IO;
    char *buf = NULL;
    struct config *c = NULL;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        say(err, errlen, "cannot read %s: %s (check the path and its permissions)", path,
            strerror(errno));
        goto out;
    }
    buf = malloc(CONFIG_MAX_FILE + 1);
    if (!buf) {
        say(err, errlen, "%s: out of memory", path);
        rc = CONFIG_E_NOMEM;
        goto out;
    }
    size_t len = 0;
    int r = readall_fd(fd, buf, CONFIG_MAX_FILE, &len);
    if (r < 0) {
        say(err, errlen, "cannot read %s: %s (check the path and its permissions)", path,
            strerror(-r));
        goto out;
    }
    if (r == READALL_TOO_BIG) {
        say(err, errlen, "%s is larger than %d KiB: is this the right file?", path,
            CONFIG_MAX_FILE / 1024);
        rc = CONFIG_E_SYNTAX;
        goto out;
    }
    c = config_new(path);
    if (!c) {
        say(err, errlen, "%s: out of memory", path);
        rc = CONFIG_E_NOMEM;
        goto out;
    }
    const char *slash = strrchr(path, '/');
    c->dir = slash ? strndup(path, slash == path ? 1 : (size_t)(slash - path)) : strdup(".");
    if (!c->dir) {
        say(err, errlen, "%s: out of memory", path);
        rc = CONFIG_E_NOMEM;
        goto out;
    }
    rc = parse(c, buf, len, err, errlen);
    if (rc == 0) {
        *out = c;
        c = NULL;
    }
out:
    if (fd >= 0)
        close(fd);
    free(buf);
    config_free(c);
    return rc;
}

const char *config_name(const struct config *c)
{
    return c ? c->name : "";
}

size_t config_count(const struct config *c)
{
    return c ? c->n : 0;
}

const char *config_key_at(const struct config *c, size_t i)
{
    return c && i < c->n ? c->entries[i].key : NULL;
}

int config_has(const struct config *c, const char *key)
{
    return c && key && find(c, key) != NULL;
}

static int missing(const struct config *c, const char *key, char *err, size_t errlen)
{
    say(err, errlen, "%s: %s is missing (add a line \"%s = ...\")", c->name, key, key);
    return CONFIG_E_MISSING;
}

int config_get_str(const struct config *c, const char *key, const char *def, const char **out,
                   char *err, size_t errlen)
{
    if (!c || !key || !out)
        return CONFIG_E_ARG;
    const struct entry *e = find(c, key);
    if (e) {
        *out = e->value;
        return 0;
    }
    if (!def)
        return missing(c, key, err, errlen);
    *out = def;
    return 0;
}

/* Strict decimal: optional '-', digits only, no overflow. */
static int parse_ll(const char *s, long long *out)
{
    int neg = 0;
    if (*s == '-') {
        neg = 1;
        s++;
    }
    if (!*s)
        return -1;
    unsigned long long v = 0;
    for (; *s; s++) {
        if (*s < '0' || *s > '9')
            return -1;
        unsigned d = (unsigned)(*s - '0');
        if (v > (ULLONG_MAX - d) / 10)
            return -2;
        v = v * 10 + d;
    }
    if (!neg && v > (unsigned long long)LLONG_MAX)
        return -2;
    if (neg && v > (unsigned long long)LLONG_MAX + 1)
        return -2;
    *out = neg ? (long long)(0 - v) : (long long)v;
    return 0;
}

int config_get_int(const struct config *c, const char *key, long long def, long long min,
                   long long max, long long *out, char *err, size_t errlen)
{
    if (!c || !key || !out || min > max)
        return CONFIG_E_ARG;
    const struct entry *e = find(c, key);
    if (!e) {
        *out = def;
        return 0;
    }
    char b[80];
    long long v;
    int pr = parse_ll(e->value, &v);
    if (pr == -1) {
        say(err, errlen, "%s: %s = %s is not a whole number (%lld\xe2\x80\x93%lld)", c->name, key,
            shown(e->value, b), min, max);
        return CONFIG_E_VALUE;
    }
    if (pr == -2 || v < min || v > max) {
        say(err, errlen, "%s: %s = %s is out of range (%lld\xe2\x80\x93%lld)", c->name, key,
            shown(e->value, b), min, max);
        return CONFIG_E_VALUE;
    }
    *out = v;
    return 0;
}

int config_get_int_choice(const struct config *c, const char *key, long long def,
                          const long long *allowed, size_t n, long long *out, char *err,
                          size_t errlen)
{
    if (!c || !key || !out || !allowed || !n)
        return CONFIG_E_ARG;
    const struct entry *e = find(c, key);
    if (!e) {
        *out = def;
        return 0;
    }
    long long v;
    if (parse_ll(e->value, &v) == 0)
        for (size_t i = 0; i < n; i++)
            if (allowed[i] == v) {
                *out = v;
                return 0;
            }
    char list[256];
    size_t used = 0;
    list[0] = 0;
    for (size_t i = 0; i < n && used < sizeof list; i++) {
        int w = snprintf(list + used, sizeof list - used, "%s%lld", i ? ", " : "", allowed[i]);
        if (w < 0)
            break;
        used += (size_t)w;
    }
    char b[80];
    say(err, errlen, "%s: %s = %s is not one of %s", c->name, key, shown(e->value, b), list);
    return CONFIG_E_VALUE;
}

int config_get_bool(const struct config *c, const char *key, int def, int *out, char *err,
                    size_t errlen)
{
    if (!c || !key || !out)
        return CONFIG_E_ARG;
    const struct entry *e = find(c, key);
    if (!e) {
        *out = def ? 1 : 0;
        return 0;
    }
    static const char *const yes[] = {"true", "yes", "on", "1"};
    static const char *const no[] = {"false", "no", "off", "0"};
    for (size_t i = 0; i < 4; i++) {
        if (strcasecmp(e->value, yes[i]) == 0) {
            *out = 1;
            return 0;
        }
        if (strcasecmp(e->value, no[i]) == 0) {
            *out = 0;
            return 0;
        }
    }
    char b[80];
    say(err, errlen, "%s: %s = %s is not true or false (write true or false)", c->name, key,
        shown(e->value, b));
    return CONFIG_E_VALUE;
}

int config_get_base64(const struct config *c, const char *key, uint8_t *out, size_t len, char *err,
                      size_t errlen)
{
    if (!c || !key || !out || !len)
        return CONFIG_E_ARG;
    const struct entry *e = find(c, key);
    if (!e)
        return missing(c, key, err, errlen);
    size_t vl = strlen(e->value), got = 0;
    const char *end = NULL;
    /* One byte of room more than needed, so a longer value shows as a length error. */
    uint8_t tmp[1024 + 1];
    int ok = len <= 1024 &&
             vl == sodium_base64_encoded_len(len, sodium_base64_VARIANT_ORIGINAL) - 1 &&
             sodium_base642bin(tmp, len + 1, e->value, vl, NULL, &got, &end,
                               sodium_base64_VARIANT_ORIGINAL) == 0 &&
             end == e->value + vl && got == len;
    if (!ok) {
        sodium_memzero(tmp, sizeof tmp);
        say(err, errlen, "%s: %s is not base64 of %zu bytes (copy the value again, whole)", c->name,
            key, len);
        return CONFIG_E_VALUE;
    }
    memcpy(out, tmp, len);
    sodium_memzero(tmp, sizeof tmp);
    return 0;
}

int config_get_path(const struct config *c, const char *key, const char *def, char *out,
                    size_t outlen, char *err, size_t errlen)
{
    if (!c || !key || !out || !outlen)
        return CONFIG_E_ARG;
    const struct entry *e = find(c, key);
    const char *v = e ? e->value : def;
    if (!v)
        return missing(c, key, err, errlen);
    if (!*v) {
        say(err, errlen, "%s: %s is empty (give a path, or remove the line to use the default)",
            c->name, key);
        return CONFIG_E_VALUE;
    }
    int w;
    if (v[0] != '/' && c->dir && strcmp(c->dir, ".") != 0)
        w = snprintf(out, outlen, "%s/%s", c->dir, v);
    else
        w = snprintf(out, outlen, "%s", v);
    if (w < 0 || (size_t)w >= outlen) {
        out[0] = 0;
        say(err, errlen, "%s: %s is longer than %zu bytes (use a shorter path)", c->name, key,
            outlen - 1);
        return CONFIG_E_VALUE;
    }
    return 0;
}

int config_check_known(const struct config *c, const char *const *known, char *err, size_t errlen)
{
    if (!c || !known)
        return CONFIG_E_ARG;
    for (size_t i = 0; i < c->n; i++) {
        int ok = 0;
        for (size_t k = 0; known[k] && !ok; k++)
            ok = strcmp(known[k], c->entries[i].key) == 0;
        if (!ok) {
            say(err, errlen, "%s:%u: unknown key %s (check its spelling against docs/config.md)",
                c->name, c->entries[i].line, c->entries[i].key);
            return CONFIG_E_UNKNOWN;
        }
    }
    return 0;
}

int config_kiosk_id_check(const char *id, char *err, size_t errlen)
{
    if (!id)
        return CONFIG_E_ARG;
    size_t n = strlen(id);
    int ok = n >= 1 && n <= KIOSK_ID_MAX && id[0] != '-' && id[n - 1] != '-';
    for (size_t i = 0; ok && i < n; i++)
        ok = (id[i] >= 'a' && id[i] <= 'z') || (id[i] >= '0' && id[i] <= '9') || id[i] == '-';
    if (!ok) {
        char b[80];
        say(err, errlen,
            "kiosk id \"%s\" is not valid: use 1\xe2\x80\x93%d lowercase letters, digits and "
            "dashes, like na-co-sa-01",
            shown(id, b), KIOSK_ID_MAX);
        return CONFIG_E_VALUE;
    }
    return 0;
}

/* ---- kiosk.conf ---- */

const char *const config_kiosk_keys[] = {
    "kiosk_id",      "post_key",         "device_key_file",    "data_dir",
    "relay_url",     "language_default", "max_record_seconds", "opus_bitrate",
    "volume",        "idle_seconds",     "screen_rotation",    "training",
    "screen_inches", "blank_seconds",    "volunteer_pin",      "post_name",
    /* status LEDs and the push button (docs/leds.md) */
    "led_chip", "led_green", "led_amber", "led_red", "button_chip", "button_line",
    "undelivered_days",
    /* the telephone handset (docs/audio.md) */
    "handset_hook_chip", "handset_hook_line", "handset_hook_active_low", "handset_device",
    /* homthu-uplink */
    "relay_pin", "relay_ca_file", "relay_insecure_http", "uplink_backoff_base_ms", "uplink_backoff_cap_ms",
    "uplink_connect_timeout_s", "uplink_low_speed_bytes", "uplink_low_speed_seconds",
    "uplink_chunks_per_patch", "uplink_probe_seconds", "uplink_require_verified",
    "heartbeat_minutes",
    /* homthu-mailer */
    "mail_smtp_url", "mail_user", "mail_password", "mail_from", "mail_to", "mail_part_bytes",
    "mail_ca_file", NULL,
};

/*
 * The post's name, as the villagers know it ("Đồn Biên phòng Pa Vi"): one
 * line of letters shown across the top of the start screen. A name too
 * long to fit is refused at the desk rather than cut on the panel.
 */
static int read_post_name(const struct config *c, struct kiosk_conf *out, char *err,
                          size_t errlen)
{
    const char *v;
    int rc;
    if ((rc = config_get_str(c, "post_name", "", &v, err, errlen)))
        return rc;
    size_t n = strlen(v);
    if (n > CONFIG_POST_NAME_MAX) {
        say(err, errlen,
            "%s: post_name is %zu bytes, more than %d (a Vietnamese letter with its marks "
            "takes 2 or 3): shorten it, e.g. \"Đồn Biên phòng Pa Vi\"",
            c->name, n, CONFIG_POST_NAME_MAX);
        return CONFIG_E_VALUE;
    }
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)v[i] < 0x20 || v[i] == 0x7f) {
            say(err, errlen, "%s: post_name holds a tab or control character (remove it)",
                c->name);
            return CONFIG_E_VALUE;
        }
    if (!config_utf8_valid(v, n)) {
        say(err, errlen, "%s: post_name is not valid UTF-8 (save the file as UTF-8)", c->name);
        return CONFIG_E_VALUE;
    }
    memcpy(out->post_name, v, n + 1);
    return 0;
}

static int copy_str(const struct config *c, const char *key, const char *v, char *dst, size_t cap,
                    char *err, size_t errlen)
{
    size_t n = strlen(v);
    if (n >= cap) {
        say(err, errlen, "%s: %s is longer than %zu bytes (shorten it)", c->name, key, cap - 1);
        return CONFIG_E_VALUE;
    }
    memcpy(dst, v, n + 1);
    return 0;
}

/* A BCP 47 language tag as the envelope stores it: "vi", "hmn", "zh-Hant". */
static int language_ok(const char *v)
{
    size_t n = strlen(v);
    if (n < 2 || n > 8)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char ch = v[i];
        int letter = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z');
        int digit = ch >= '0' && ch <= '9';
        if (i < 2 ? !(ch >= 'a' && ch <= 'z') : !(letter || digit || ch == '-'))
            return 0;
    }
    return v[n - 1] != '-';
}

static int relay_ok(const char *v)
{
    if (!*v)
        return 1;
    const char *rest;
    if (strncmp(v, "https://", 8) == 0)
        rest = v + 8;
    else if (strncmp(v, "http://", 7) == 0)
        rest = v + 7;
    else
        return 0;
    if (!*rest || *rest == '/')
        return 0;
    for (const char *p = v; *p; p++)
        if ((unsigned char)*p <= 0x20 || *p == '"' || *p == '\\' || (unsigned char)*p >= 0x7f)
            return 0;
    return 1;
}

/*
 * relay_pin as libcurl's CURLOPT_PINNEDPUBLICKEY takes it: one or more
 * "sha256//" + base64 of a 32-byte hash, joined by ';' (two let the relay
 * change its key without a visit to every kiosk).
 */
static int pin_ok(const char *v)
{
    if (!*v)
        return 1;
    for (;;) {
        if (strncmp(v, "sha256//", 8) != 0)
            return 0;
        v += 8;
        size_t n = strcspn(v, ";");
        uint8_t h[32 + 1];
        size_t got = 0;
        const char *end = NULL;
        if (n != 44 || sodium_base642bin(h, sizeof h, v, n, NULL, &got, &end,
                                         sodium_base64_VARIANT_ORIGINAL) != 0 ||
            end != v + n || got != 32)
            return 0;
        v += n;
        if (!*v)
            return 1;
        v++; /* ';' */
    }
}

static int get_int_into(const struct config *c, const char *key, long long def, long long min,
                        long long max, int *out, char *err, size_t errlen)
{
    long long n;
    int rc = config_get_int(c, key, def, min, max, &n, err, errlen);
    if (rc == 0)
        *out = (int)n;
    return rc;
}

/* The keys of homthu-uplink (docs/uploader.md). */
/* A GPIO chip as gpio_chip_path() takes it: "gpiochip0", "0", "/dev/gpiochip0". */
static int gpio_chip_ok(const char *v)
{
    size_t n = strlen(v);
    return n <= 64 &&
           strspn(v, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-/") == n;
}

/* The status LEDs and the button (docs/leds.md). Lines are offsets on
   their chip; every line used must be its own. */
static int read_gpio(const struct config *c, struct kiosk_conf *out, char *err, size_t errlen)
{
    static const char *const chips[] = {"led_chip", "button_chip"};
    char *const chip_out[] = {out->led_chip, out->button_chip};
    static const char *const leds[] = {"led_green", "led_amber", "led_red"};
    static const long long led_def[] = {17, 27, 22};
    int *const led_out[] = {&out->led_green, &out->led_amber, &out->led_red};
    const char *v;
    long long n;
    char b[80];
    int rc;
    for (int i = 0; i < 2; i++) {
        if ((rc = config_get_str(c, chips[i], "", &v, err, errlen)))
            return rc;
        if (!gpio_chip_ok(v)) {
            say(err, errlen,
                "%s: %s = %s is not a GPIO chip (like gpiochip0; `gpiodetect` lists them; "
                "empty: none)",
                c->name, chips[i], shown(v, b));
            return CONFIG_E_VALUE;
        }
        memcpy(chip_out[i], v, strlen(v) + 1);
    }
    for (int i = 0; i < 3; i++) {
        if ((rc = config_get_int(c, leds[i], led_def[i], 0, 1023, &n, err, errlen)))
            return rc;
        *led_out[i] = (int)n;
    }
    if ((rc = config_get_int(c, "button_line", 23, -1, 1023, &n, err, errlen)))
        return rc;
    out->button_line = (int)n;
    if ((rc = config_get_int(c, "undelivered_days", 3, 1, 60, &n, err, errlen)))
        return rc;
    out->undelivered_days = (int)n;
    if ((rc = config_get_int(c, "heartbeat_minutes", 15, 0, 7 * 24 * 60, &n, err, errlen)))
        return rc;
    out->heartbeat_minutes = (int)n;

    if (out->led_chip[0]) {
        for (int i = 0; i < 3; i++)
            for (int j = i + 1; j < 3; j++)
                if (*led_out[i] == *led_out[j]) {
                    say(err, errlen, "%s: %s and %s are both line %d: give each LED its own line",
                        c->name, leds[i], leds[j], *led_out[i]);
                    return CONFIG_E_VALUE;
                }
    }
    /* "0", "gpiochip0" and "/dev/gpiochip0" are one chip. */
    char led_path[GPIO_CHIP_MAX + 16], button_path[GPIO_CHIP_MAX + 16];
    gpio_chip_path(out->led_chip, led_path, sizeof led_path);
    gpio_chip_path(out->button_chip[0] ? out->button_chip : out->led_chip, button_path,
                   sizeof button_path);
    int same_chip = out->led_chip[0] && strcmp(led_path, button_path) == 0;
    for (int i = 0; same_chip && out->button_line >= 0 && i < 3; i++)
        if (out->button_line == *led_out[i]) {
            say(err, errlen,
                "%s: button_line and %s are both line %d: give the button its own line", c->name,
                leds[i], out->button_line);
            return CONFIG_E_VALUE;
        }
    return 0;
}

/*
 * The telephone handset (docs/audio.md): a hook switch on a GPIO line and a
 * USB sound card. Either half alone is refused: a hook without its card
 * would wake the kiosk into a silent earpiece, a card without its hook
 * could never tell the kiosk that someone is listening.
 */
static int read_handset(const struct config *c, struct kiosk_conf *out, char *err, size_t errlen)
{
    const char *v;
    long long n;
    char b[80];
    int rc;
    if ((rc = config_get_str(c, "handset_hook_chip", "", &v, err, errlen)))
        return rc;
    if (!gpio_chip_ok(v)) {
        say(err, errlen,
            "%s: handset_hook_chip = %s is not a GPIO chip (like gpiochip0; `gpiodetect` lists "
            "them; empty: the same as led_chip)",
            c->name, shown(v, b));
        return CONFIG_E_VALUE;
    }
    memcpy(out->handset_hook_chip, v, strlen(v) + 1);
    if ((rc = config_get_int(c, "handset_hook_line", -1, -1, 1023, &n, err, errlen)))
        return rc;
    out->handset_hook_line = (int)n;
    if ((rc = config_get_bool(c, "handset_hook_active_low", 1, &out->handset_hook_active_low, err,
                              errlen)))
        return rc;
    if ((rc = config_get_str(c, "handset_device", "", &v, err, errlen)))
        return rc;
    if (strlen(v) >= sizeof out->handset_device) {
        say(err, errlen, "%s: handset_device is longer than %zu bytes (a part of the name is enough)",
            c->name, sizeof out->handset_device - 1);
        return CONFIG_E_VALUE;
    }
    memcpy(out->handset_device, v, strlen(v) + 1);

    if (out->handset_hook_line < 0) {
        if (out->handset_device[0]) {
            say(err, errlen,
                "%s: handset_device is set but handset_hook_line is missing: the kiosk must know "
                "when the handset is lifted (the GPIO line of its hook switch, docs/leds.md)",
                c->name);
            return CONFIG_E_MISSING;
        }
        return 0;
    }
    if (!out->handset_device[0]) {
        say(err, errlen,
            "%s: handset_hook_line is set but handset_device is missing: add a line "
            "\"handset_device = ...\" with a part of the handset's sound card name as the "
            "kiosk's log lists it (\"audio: 2 playback device(s): ...\")",
            c->name);
        return CONFIG_E_MISSING;
    }
    if (!out->handset_hook_chip[0] && !out->led_chip[0]) {
        say(err, errlen,
            "%s: handset_hook_line is set but no GPIO chip is named: set handset_hook_chip (or "
            "led_chip)",
            c->name);
        return CONFIG_E_MISSING;
    }
    /* "0", "gpiochip0" and "/dev/gpiochip0" are one chip. */
    char hook_path[GPIO_CHIP_MAX + 16], led_path[GPIO_CHIP_MAX + 16],
        button_path[GPIO_CHIP_MAX + 16];
    gpio_chip_path(out->handset_hook_chip[0] ? out->handset_hook_chip : out->led_chip, hook_path,
                   sizeof hook_path);
    gpio_chip_path(out->led_chip, led_path, sizeof led_path);
    gpio_chip_path(out->button_chip[0] ? out->button_chip : out->led_chip, button_path,
                   sizeof button_path);
    static const char *const leds[] = {"led_green", "led_amber", "led_red"};
    const int led_line[] = {out->led_green, out->led_amber, out->led_red};
    for (int i = 0; out->led_chip[0] && strcmp(hook_path, led_path) == 0 && i < 3; i++)
        if (out->handset_hook_line == led_line[i]) {
            say(err, errlen,
                "%s: handset_hook_line and %s are both line %d: give the hook switch its own line",
                c->name, leds[i], led_line[i]);
            return CONFIG_E_VALUE;
        }
    if (button_path[0] && out->button_line == out->handset_hook_line &&
        strcmp(hook_path, button_path) == 0) {
        say(err, errlen,
            "%s: handset_hook_line and button_line are both line %d: give the hook switch its "
            "own line (or set button_line = -1 when there is no button)",
            c->name, out->button_line);
        return CONFIG_E_VALUE;
    }
    return 0;
}

static int read_uplink(const struct config *c, struct kiosk_conf *out, char *err, size_t errlen)
{
    const char *v;
    char b[80];
    int rc;
    if ((rc = config_get_str(c, "relay_pin", "", &v, err, errlen)))
        return rc;
    if (!pin_ok(v)) {
        say(err, errlen,
            "%s: relay_pin = %s is not sha256// and the base64 of a SHA-256 hash (see "
            "docs/uploader.md for the openssl line that prints it)",
            c->name, shown(v, b));
        return CONFIG_E_VALUE;
    }
    if ((rc = copy_str(c, "relay_pin", v, out->relay_pin, sizeof out->relay_pin, err, errlen)))
        return rc;
    if ((rc = config_get_str(c, "relay_ca_file", "", &v, err, errlen)))
        return rc;
    if (*v && (rc = config_get_path(c, "relay_ca_file", NULL, out->relay_ca_file,
                                    sizeof out->relay_ca_file, err, errlen)))
        return rc;
    /* The uploader enforces it (uploader_url_kind): here it is only read. */
    if ((rc = config_get_bool(c, "relay_insecure_http", 0, &out->relay_insecure_http, err,
                              errlen)))
        return rc;
    /* Times in ms up to a day; a backoff longer than that only hides a fault. */
    if ((rc = get_int_into(c, "uplink_backoff_base_ms", 2000, 10, 86400000,
                           &out->uplink_backoff_base_ms, err, errlen)) ||
        (rc = get_int_into(c, "uplink_backoff_cap_ms", 600000, 10, 86400000,
                           &out->uplink_backoff_cap_ms, err, errlen)))
        return rc;
    if (out->uplink_backoff_cap_ms < out->uplink_backoff_base_ms) {
        say(err, errlen,
            "%s: uplink_backoff_cap_ms = %d is below uplink_backoff_base_ms = %d (the cap "
            "must be at least the base)",
            c->name, out->uplink_backoff_cap_ms, out->uplink_backoff_base_ms);
        return CONFIG_E_VALUE;
    }
    if ((rc = get_int_into(c, "uplink_connect_timeout_s", 30, 1, 600,
                           &out->uplink_connect_timeout_s, err, errlen)) ||
        (rc = get_int_into(c, "uplink_low_speed_bytes", 32, 1, 1000000,
                           &out->uplink_low_speed_bytes, err, errlen)) ||
        (rc = get_int_into(c, "uplink_low_speed_seconds", 60, 1, 3600,
                           &out->uplink_low_speed_seconds, err, errlen)) ||
        (rc = get_int_into(c, "uplink_chunks_per_patch", 8, 1, 64, &out->uplink_chunks_per_patch,
                           err, errlen)) ||
        (rc = get_int_into(c, "uplink_probe_seconds", 5, 1, 3600, &out->uplink_probe_seconds,
                           err, errlen)))
        return rc;
    return config_get_bool(c, "uplink_require_verified", 1, &out->uplink_require_verified, err,
                           errlen);
}

static int smtp_url_ok(const char *v)
{
    const char *rest;
    if (strncmp(v, "smtps://", 8) == 0)
        rest = v + 8;
    else if (strncmp(v, "smtp://", 7) == 0)
        rest = v + 7;
    else
        return 0;
    if (!*rest || *rest == '/' || *rest == ':')
        return 0;
    for (const char *p = v; *p; p++)
        if ((unsigned char)*p <= 0x20 || *p == '"' || *p == '\\' || (unsigned char)*p >= 0x7f)
            return 0;
    return 1;
}

int config_mail_address_ok(const char *a)
{
    const char *at = a ? strchr(a, '@') : NULL;
    if (!at || at == a || !at[1] || strchr(at + 1, '@') || strlen(a) > 254)
        return 0;
    for (const char *p = a; *p; p++)
        if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f || strchr("<>()[]\\,;:\"", *p))
            return 0;
    return at[1] != '.' && a[strlen(a) - 1] != '.';
}

/* The mail_* keys: all optional while mail_smtp_url is empty. */
static int read_mail(const struct config *c, struct kiosk_conf *out, char *err, size_t errlen)
{
    char b[80];
    const char *v;
    long long n;
    int rc;
    if ((rc = config_get_str(c, "mail_smtp_url", "", &v, err, errlen)))
        return rc;
    if (*v && !smtp_url_ok(v)) {
        say(err, errlen,
            "%s: mail_smtp_url = %s is not an smtp:// or smtps:// address (like "
            "smtp://mail.example.org:587)",
            c->name, shown(v, b));
        return CONFIG_E_VALUE;
    }
    if ((rc = copy_str(c, "mail_smtp_url", v, out->mail_smtp_url, sizeof out->mail_smtp_url, err,
                       errlen)))
        return rc;
    static const char *const addrs[] = {"mail_from", "mail_to"};
    char *dst[] = {out->mail_from, out->mail_to};
    for (int i = 0; i < 2; i++) {
        if ((rc = config_get_str(c, addrs[i], "", &v, err, errlen)))
            return rc;
        if (!*v && *out->mail_smtp_url) {
            say(err, errlen, "%s: %s is missing: mail_smtp_url is set, so add a line \"%s = ...\"",
                c->name, addrs[i], addrs[i]);
            return CONFIG_E_MISSING;
        }
        if (*v && !config_mail_address_ok(v)) {
            say(err, errlen, "%s: %s = %s is not one plain e-mail address (like post@example.org)",
                c->name, addrs[i], shown(v, b));
            return CONFIG_E_VALUE;
        }
        if ((rc = copy_str(c, addrs[i], v, dst[i], 256, err, errlen)))
            return rc;
    }
    if ((rc = config_get_str(c, "mail_user", "", &v, err, errlen)) ||
        (rc = copy_str(c, "mail_user", v, out->mail_user, sizeof out->mail_user, err, errlen)))
        return rc;
    if ((rc = config_get_str(c, "mail_password", "", &v, err, errlen)) ||
        (rc = copy_str(c, "mail_password", v, out->mail_password, sizeof out->mail_password, err,
                       errlen)))
        return rc;
    if ((rc = config_get_int(c, "mail_part_bytes", CONFIG_MAIL_PART_DEFAULT, CONFIG_MAIL_PART_MIN,
                             CONFIG_MAIL_PART_MAX, &n, err, errlen)))
        return rc;
    out->mail_part_bytes = (int)n;
    if (config_has(c, "mail_ca_file")) {
        if ((rc = config_get_str(c, "mail_ca_file", "", &v, err, errlen)))
            return rc;
        if (*v && (rc = config_get_path(c, "mail_ca_file", NULL, out->mail_ca_file,
                                        sizeof out->mail_ca_file, err, errlen)))
            return rc;
    }
    return 0;
}

int config_read_kiosk(const struct config *c, struct kiosk_conf *out, char *err, size_t errlen)
{
    if (!c || !out)
        return CONFIG_E_ARG;
    memset(out, 0, sizeof *out);
    char b[80];
    const char *v;
    long long n;
    int rc = config_check_known(c, config_kiosk_keys, err, errlen);
    if (rc)
        return rc;

    if ((rc = config_get_str(c, "kiosk_id", NULL, &v, err, errlen)))
        return rc;
    char sub[256];
    if (config_kiosk_id_check(v, sub, sizeof sub)) {
        say(err, errlen, "%s: %s", c->name, sub);
        return CONFIG_E_VALUE;
    }
    memcpy(out->kiosk_id, v, strlen(v) + 1);

    if ((rc = config_get_base64(c, "post_key", out->post_key, sizeof out->post_key, err, errlen)))
        return rc;
    if ((rc = config_get_path(c, "device_key_file", "device.key", out->device_key_file,
                              sizeof out->device_key_file, err, errlen)))
        return rc;
    if ((rc = config_get_path(c, "data_dir", "/var/lib/homthu", out->data_dir, sizeof out->data_dir,
                              err, errlen)))
        return rc;

    if ((rc = config_get_str(c, "relay_url", "", &v, err, errlen)))
        return rc;
    if (!relay_ok(v)) {
        say(err, errlen,
            "%s: relay_url = %s is not an http:// or https:// address (like "
            "https://relay.example.org/)",
            c->name, shown(v, b));
        return CONFIG_E_VALUE;
    }
    if ((rc = copy_str(c, "relay_url", v, out->relay_url, sizeof out->relay_url, err, errlen)))
        return rc;

    if ((rc = config_get_str(c, "language_default", "vi", &v, err, errlen)))
        return rc;
    if (!language_ok(v)) {
        say(err, errlen, "%s: language_default = %s is not a language code (like vi, hmn, th, khm)",
            c->name, shown(v, b));
        return CONFIG_E_VALUE;
    }
    memcpy(out->language_default, v, strlen(v) + 1);

    if ((rc = config_get_int(c, "max_record_seconds", 180, 10, 600, &n, err, errlen)))
        return rc;
    out->max_record_seconds = (int)n;
    if ((rc = config_get_int(c, "opus_bitrate", 12000, 6000, 64000, &n, err, errlen)))
        return rc;
    out->opus_bitrate = (int)n;
    if ((rc = config_get_int(c, "volume", 80, 0, 100, &n, err, errlen)))
        return rc;
    out->volume = (int)n;
    if ((rc = config_get_int(c, "idle_seconds", 60, 10, 600, &n, err, errlen)))
        return rc;
    out->idle_seconds = (int)n;
    static const long long rotations[] = {0, 90, 180, 270};
    if ((rc = config_get_int_choice(c, "screen_rotation", 0, rotations, 4, &n, err, errlen)))
        return rc;
    out->screen_rotation = (int)n;
    if ((rc = config_get_bool(c, "training", 0, &out->training, err, errlen)))
        return rc;
    /* The panel's diagonal sets how many pixels make the 15 mm touch targets. */
    if ((rc = config_get_int(c, "screen_inches", 7, 4, 24, &n, err, errlen)))
        return rc;
    out->screen_inches = (int)n;
    if ((rc = config_get_int(c, "blank_seconds", 300, 30, 86400, &n, err, errlen)))
        return rc;
    out->blank_seconds = (int)n;
    if ((rc = config_get_str(c, "volunteer_pin", "", &v, err, errlen)))
        return rc;
    size_t pl = strlen(v);
    int digits = pl == strspn(v, "0123456789");
    if (pl && (pl < 4 || pl > 8 || !digits)) {
        say(err, errlen,
            "%s: volunteer_pin must be 4 to 8 digits (or empty to turn the "
            "volunteer screens off)",
            c->name);
        return CONFIG_E_VALUE;
    }
    memcpy(out->volunteer_pin, v, pl + 1);
    if ((rc = read_post_name(c, out, err, errlen)))
        return rc;
    if ((rc = read_gpio(c, out, err, errlen)))
        return rc;
    if ((rc = read_handset(c, out, err, errlen)))
        return rc;
    if ((rc = read_uplink(c, out, err, errlen)))
        return rc;
    return read_mail(c, out, err, errlen);
}
