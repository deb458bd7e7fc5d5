/*
 * homthu-provision — make the border post's keys and enrol kiosks.
 *
 *   post-init    --dir POSTDIR              the post's key pair and an empty registry
 *   kiosk-new    --post POSTDIR --id NAME --out DIR [--relay URL]
 *   kiosk-list   --post POSTDIR
 *   kiosk-revoke --post POSTDIR --id NAME --reason TEXT
 *
 * Runs on the post's computer, never on a kiosk. File formats: docs/keys.md;
 * kiosk.conf: docs/config.md. Exit status: 0 done, 1 failed, 2 bad usage.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "config.h"
#include "keys.h"
#include "passphrase.h"
#include "registry.h"

#define PROG "homthu-provision"
#define PASS_MIN 8

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

/* dir + "/" + name into a caller's buffer; 0 when it fits. */
static int join(char *out, size_t cap, const char *dir, const char *name)
{
    int n = snprintf(out, cap, "%s/%s", dir, name);
    return n < 0 || (size_t)n >= cap ? -1 : 0;
}

/* Make `dir` (one level) if missing; *made tells whether we did. */
static int ensure_dir(const char *dir, int *made)
{
    struct stat st;
    *made = 0;
    if (stat(dir, &st) == 0) {
        if (!S_ISDIR(st.st_mode)) {
            die_msg("%s is not a folder: give a folder", dir);
            return -1;
        }
        return 0;
    }
    if (mkdir(dir, 0700) != 0) {
        die_msg("cannot make the folder %s: %s (does its parent exist?)", dir, strerror(errno));
        return -1;
    }
    *made = 1;
    return 0;
}

static void utc(time_t t, char buf[32])
{
    struct tm tm;
    if (!gmtime_r(&t, &tm) || !strftime(buf, 32, "%Y-%m-%d %H:%M UTC", &tm))
        snprintf(buf, 32, "@%lld", (long long)t);
}

/* ---- passphrases ---- */

/*
 * The passphrase, from --passphrase-file, else HOMTHU_PASSPHRASE, else
 * asked twice on the terminal. sodium_malloc'd (PASSPHRASE_MAX); the caller
 * frees with sodium_free(), which zeroes it. NULL after a message.
 */
static char *get_passphrase(const char *file, const char *purpose)
{
    char *pass = sodium_malloc(PASSPHRASE_MAX);
    char *again = NULL;
    int fd = -1;
    if (!pass) {
        die_msg("out of memory for the passphrase");
        return NULL;
    }
    /* A file wins over the environment, which is then not even read. */
    int from_env = file ? PASSPHRASE_E_UNSET : passphrase_from_env(pass);
    if (file) {
        char err[4200]; /* room for a path of PATH_MAX and the reason */
        if (passphrase_read_file(file, pass, err, sizeof err)) {
            die_msg("%s", err);
            goto fail;
        }
    } else if (from_env == PASSPHRASE_E_TOO_LONG) {
        die_msg("HOMTHU_PASSPHRASE is longer than %d bytes: use a shorter one", PASSPHRASE_MAX - 1);
        goto fail;
    } else if (from_env == PASSPHRASE_E_UNSET) {
        fd = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC);
        if (fd < 0) {
            die_msg("no terminal to ask the passphrase on: set HOMTHU_PASSPHRASE or use "
                    "--passphrase-file FILE");
            goto fail;
        }
        again = sodium_malloc(PASSPHRASE_MAX);
        char prompt[128];
        snprintf(prompt, sizeof prompt, "Passphrase %s: ", purpose);
        int rc = again ? passphrase_ask_tty(fd, prompt, pass) : PASSPHRASE_E_READ;
        if (rc == PASSPHRASE_OK)
            rc = passphrase_ask_tty(fd, "The same passphrase again: ", again);
        if (rc == PASSPHRASE_E_TOO_LONG) {
            die_msg("the passphrase is longer than %d bytes: use a shorter one",
                    PASSPHRASE_MAX - 1);
            goto fail;
        }
        if (rc != 0) {
            die_msg("could not read the passphrase from the terminal");
            goto fail;
        }
        if (strcmp(pass, again) != 0) {
            die_msg("the two passphrases differ: nothing was made; run the command again");
            goto fail;
        }
        sodium_free(again);
        again = NULL;
        close(fd);
        fd = -1;
    }
    for (const char *q = pass; *q; q++) {
        if ((unsigned char)*q >= 0x80) {
            /* Argon2 hashes bytes: "ư" typed with Telex may not be the bytes VNI types. */
            fprintf(stderr, PROG ": note: the passphrase has letters beyond plain ASCII; "
                                 "Vietnamese keyboards (Telex, VNI, composed or not) may type them "
                                 "as different bytes, so type it the same way every time\n");
            break;
        }
    }
    if (strlen(pass) < PASS_MIN) {
        die_msg("the passphrase is shorter than %d characters: choose a longer one (a few "
                "words is best)",
                PASS_MIN);
        goto fail;
    }
    return pass;
fail:
    if (fd >= 0)
        close(fd);
    if (again)
        sodium_free(again);
    sodium_free(pass);
    return NULL;
}

/* ---- post-init ---- */

static const char POST_INIT_HELP[] =
    "usage: " PROG " post-init --dir POSTDIR [--passphrase-file FILE] [--pwhash LEVEL]\n"
    "\n"
    "Make the border post's key pair and an empty kiosk registry in POSTDIR\n"
    "(made if missing):\n"
    "  post.pub     the public key: every kiosk seals its tips to it\n"
    "  post.key     the secret key, locked with a passphrase: it opens every tip\n"
    "  registry.db  the kiosks allowed to send tips\n"
    "Refuses to touch a folder that already holds any of them: a new key\n"
    "cannot open tips sealed to the old one.\n"
    "\n"
    "The passphrase (at least 8 characters) comes from --passphrase-file (its\n"
    "first line), else the environment variable HOMTHU_PASSPHRASE, else it is\n"
    "asked twice on the terminal.\n"
    "\n"
    "  --pwhash LEVEL  Argon2id cost: moderate (default), sensitive, or for tests\n"
    "                  only interactive or min; also env HOMTHU_PWHASH.\n"
    "\n"
    "Keep a copy of post.key and the passphrase somewhere safe and offline:\n"
    "without both, no tip can ever be read.\n";

static int pwhash_choice(const char *cmd, const char *opt, unsigned long long *ops, size_t *mem)
{
    const char *level = opt ? opt : getenv("HOMTHU_PWHASH");
    if (!level || !*level)
        level = "moderate";
    if (keys_pwhash_limits(level, ops, mem) != 0)
        return usage_error(cmd, "unknown Argon2id level \"%s\": use moderate or sensitive", level);
    if (strcmp(level, "moderate") != 0 && strcmp(level, "sensitive") != 0)
        fprintf(stderr,
                PROG ": warning: Argon2id level \"%s\" protects the passphrase poorly; use it "
                     "for tests only\n",
                level);
    return 0;
}

static int cmd_post_init(int argc, char **argv)
{
    static const struct option opts[] = {
        {"dir", required_argument, NULL, 'd'},
        {"passphrase-file", required_argument, NULL, 'p'},
        {"pwhash", required_argument, NULL, 'w'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *dir = NULL, *passfile = NULL, *level = NULL;
    int c;
    while ((c = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
        switch (c) {
        case 'd':
            dir = optarg;
            break;
        case 'p':
            passfile = optarg;
            break;
        case 'w':
            level = optarg;
            break;
        case 'h':
            fputs(POST_INIT_HELP, stdout);
            return 0;
        case ':':
            return usage_error("post-init", "%s needs a value", argv[optind - 1]);
        default:
            return usage_error("post-init", "unknown option %s", argv[optind - 1]);
        }
    }
    if (optind < argc)
        return usage_error("post-init", "unexpected argument \"%s\"", argv[optind]);
    if (!dir)
        return usage_error("post-init", "--dir POSTDIR is missing");

    unsigned long long ops;
    size_t mem;
    int rc = pwhash_choice("post-init", level, &ops, &mem);
    if (rc)
        return rc;

    char pub[4096], key[4096], db[4096], err[512];
    if (join(pub, sizeof pub, dir, "post.pub") || join(key, sizeof key, dir, "post.key") ||
        join(db, sizeof db, dir, REGISTRY_DB_NAME)) {
        die_msg("the folder name %s is too long", dir);
        return 1;
    }
    const char *all[] = {key, pub, db};
    for (int i = 0; i < 3; i++) {
        if (access(all[i], F_OK) == 0) {
            die_msg("%s already exists: refusing to overwrite the post's keys (a new key cannot "
                    "open tips sealed to the old one); use another --dir",
                    all[i]);
            return 1;
        }
    }
    struct envelope_post_key *k = NULL, *check = NULL;
    struct registry *reg = NULL;
    int made = 0;
    char *pass = get_passphrase(passfile, "for the new post key");
    rc = 1;
    if (!pass || ensure_dir(dir, &made))
        goto out;
    if (registry_open(&reg, db, 1, err, sizeof err)) {
        die_msg("%s", err);
        goto out;
    }
    registry_close(reg);
    if (keys_post_generate(&k, err, sizeof err) ||
        keys_post_save(k, pub, key, pass, ops, mem, err, sizeof err)) {
        die_msg("%s", err);
        unlink(db); /* empty: nothing is lost, and a rerun starts clean */
        goto out;
    }
    /* Read the key back as the console will: a bad disk shows now, not on the first tip. */
    if (keys_post_unlock(&check, key, pass, err, sizeof err) == 0 &&
        sodium_memcmp(check->sk, k->sk, sizeof k->sk) != 0)
        snprintf(err, sizeof err, "a different key came back");
    if (!check || sodium_memcmp(check->sk, k->sk, sizeof k->sk) != 0) {
        die_msg("post.key did not read back correctly (%s): the disk may be failing; remove %s "
                "and try on another disk",
                err, dir);
        goto out;
    }
    char fp[KEYS_FINGERPRINT_HEX];
    keys_fingerprint(k->pk, sizeof k->pk, fp);
    printf("Made the border post's keys in %s:\n"
           "  post.pub     public key, id %s: kiosk-new copies it into each kiosk.conf\n"
           "  post.key     secret key, locked with your passphrase\n"
           "  registry.db  enrolled kiosks (none yet)\n"
           "Now copy post.key to a USB stick kept in the post's safe, and keep the passphrase\n"
           "apart from it: without both, no tip can ever be read.\n",
           dir, fp);
    rc = 0;
out:
    if (rc && made)
        rmdir(dir); /* only succeeds if it is still empty, which is the point */
    keys_post_free(check);
    keys_post_free(k);
    if (pass)
        sodium_free(pass);
    return rc;
}

/* ---- kiosk-new ---- */

static const char KIOSK_NEW_HELP[] =
    "usage: " PROG " kiosk-new --post POSTDIR --id NAME --out DIR [--relay URL]\n"
    "\n"
    "Make a kiosk's device key, enrol it in POSTDIR/registry.db and write into\n"
    "DIR (made if missing):\n"
    "  kiosk.conf  the kiosk's settings: its id, the post's public key, the relay\n"
    "  device.key  its secret signing key\n"
    "Copy both onto the SD card's boot partition, into the folder homthu/.\n"
    "\n"
    "  --id NAME    1-32 lowercase letters, digits and dashes, like na-co-sa-01;\n"
    "               never reused, even after the kiosk is revoked\n"
    "  --relay URL  where the kiosk uploads (https://...); without it tips wait\n"
    "               on the kiosk until relay_url is set in kiosk.conf\n";

static int has_control(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            return 1;
    return 0;
}

static int cmd_kiosk_new(int argc, char **argv)
{
    static const struct option opts[] = {
        {"post", required_argument, NULL, 'p'}, {"id", required_argument, NULL, 'i'},
        {"out", required_argument, NULL, 'o'},  {"relay", required_argument, NULL, 'r'},
        {"help", no_argument, NULL, 'h'},       {NULL, 0, NULL, 0},
    };
    const char *post = NULL, *id = NULL, *outdir = NULL, *relay = "";
    int c;
    while ((c = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
        switch (c) {
        case 'p':
            post = optarg;
            break;
        case 'i':
            id = optarg;
            break;
        case 'o':
            outdir = optarg;
            break;
        case 'r':
            relay = optarg;
            break;
        case 'h':
            fputs(KIOSK_NEW_HELP, stdout);
            return 0;
        case ':':
            return usage_error("kiosk-new", "%s needs a value", argv[optind - 1]);
        default:
            return usage_error("kiosk-new", "unknown option %s", argv[optind - 1]);
        }
    }
    if (optind < argc)
        return usage_error("kiosk-new", "unexpected argument \"%s\"", argv[optind]);
    if (!post)
        return usage_error("kiosk-new", "--post POSTDIR is missing");
    if (!id)
        return usage_error("kiosk-new", "--id NAME is missing");
    if (!outdir)
        return usage_error("kiosk-new", "--out DIR is missing");

    char err[512];
    if (config_kiosk_id_check(id, err, sizeof err))
        return usage_error("kiosk-new", "%s", err);
    if (has_control(relay))
        return usage_error("kiosk-new", "--relay holds a control character");

    char pub[4096], db[4096], conf_path[4096], dev_path[4096];
    if (join(pub, sizeof pub, post, "post.pub") || join(db, sizeof db, post, REGISTRY_DB_NAME) ||
        join(conf_path, sizeof conf_path, outdir, "kiosk.conf") ||
        join(dev_path, sizeof dev_path, outdir, "device.key")) {
        die_msg("a folder name is too long");
        return 1;
    }

    int rc = 1, made = 0, wrote_dev = 0, wrote_conf = 0;
    struct registry *reg = NULL;
    struct keys_device *dev = NULL;
    struct config *parsed = NULL;
    struct kiosk_conf kc;
    uint8_t post_pk[ENVELOPE_POST_PK_BYTES];
    char text[8192], pk64[64], post_fp[KEYS_FINGERPRINT_HEX], dev_fp[KEYS_FINGERPRINT_HEX];
    char now_s[32];
    time_t now = time(NULL);

    if (registry_open(&reg, db, 0, err, sizeof err) ||
        keys_post_load_public(pub, post_pk, NULL, err, sizeof err)) {
        die_msg("%s", err);
        goto out;
    }
    for (int i = 0; i < 2; i++) {
        const char *p = i ? dev_path : conf_path;
        if (access(p, F_OK) == 0) {
            die_msg("%s already exists: refusing to overwrite it; use an empty --out folder", p);
            goto out;
        }
    }
    if (keys_device_generate(&dev, err, sizeof err)) {
        die_msg("%s", err);
        goto out;
    }
    keys_fingerprint(post_pk, sizeof post_pk, post_fp);
    keys_fingerprint(dev->pk, sizeof dev->pk, dev_fp);
    sodium_bin2base64(pk64, sizeof pk64, post_pk, sizeof post_pk, sodium_base64_VARIANT_ORIGINAL);
    utc(now, now_s);
    int n =
        snprintf(text, sizeof text,
                 "# H\xc3\xb2m th\xc6\xb0 kiosk configuration, made by " PROG " kiosk-new on %s.\n"
                 "# Every key is described in docs/config.md.\n"
                 "kiosk_id = %s\n"
                 "# The border post's public key (post.pub, key id %s).\n"
                 "post_key = %s\n"
                 "# This kiosk's signing key (fingerprint %s), beside this file.\n"
                 "device_key_file = device.key\n"
                 "# Where tips are uploaded; empty: they wait on the kiosk.\n"
                 "relay_url = %s\n"
                 "data_dir = /var/lib/homthu\n"
                 "language_default = vi\n"
                 "max_record_seconds = 180\n"
                 "opus_bitrate = 12000\n"
                 "volume = 80\n"
                 "idle_seconds = 60\n"
                 "screen_rotation = 0\n"
                 "# true: a practice kiosk for training sessions; the post discards its tips.\n"
                 "training = false\n"
                 "screen_inches = 7\n"
                 "blank_seconds = 300\n"
                 "# 4-8 digits to open the volunteer screens; empty: they are off.\n"
                 "volunteer_pin =\n"
                 "# Status LEDs and button (docs/leds.md): gpiochip0 on a Raspberry Pi\n"
                 "# with them wired; empty: none.\n"
                 "led_chip =\n"
                 "led_green = 17\n"
                 "led_amber = 27\n"
                 "led_red = 22\n"
                 "button_chip =\n"
                 "button_line = 23\n"
                 "undelivered_days = 3\n"
                 "# Delivery (homthu-uplink, docs/uploader.md). relay_pin: sha256//... of\n"
                 "# the relay's TLS key; empty: not pinned.\n"
                 "relay_pin =\n"
                 "relay_ca_file =\n"
                 "uplink_backoff_base_ms = 2000\n"
                 "uplink_backoff_cap_ms = 600000\n"
                 "uplink_connect_timeout_s = 30\n"
                 "uplink_low_speed_bytes = 32\n"
                 "uplink_low_speed_seconds = 60\n"
                 "uplink_chunks_per_patch = 8\n"
                 "uplink_probe_seconds = 5\n"
                 "uplink_require_verified = true\n"
                 "# Delivery by e-mail instead (homthu-mailer, docs/mail.md); empty: off.\n"
                 "mail_smtp_url =\n"
                 "mail_user =\n"
                 "mail_password =\n"
                 "mail_from =\n"
                 "mail_to =\n"
                 "mail_part_bytes = 524288\n"
                 "mail_ca_file =\n",
                 now_s, id, post_fp, pk64, dev_fp, relay);
    if (n < 0 || (size_t)n >= sizeof text) {
        die_msg("--relay is too long");
        goto out;
    }
    /* Read it back as the kiosk will, so a bad --relay is refused here and not at boot. */
    if (config_load_mem(&parsed, "kiosk.conf", text, (size_t)n, err, sizeof err) ||
        config_read_kiosk(parsed, &kc, err, sizeof err)) {
        die_msg("the kiosk.conf to be written is not valid: %s", err);
        goto out;
    }
    if (ensure_dir(outdir, &made))
        goto out;
    if (keys_device_save(dev, dev_path, err, sizeof err)) {
        die_msg("%s", err);
        goto out;
    }
    wrote_dev = 1;
    if (keys_write_file(conf_path, text, (size_t)n, 0644, 0, err, sizeof err)) {
        die_msg("%s", err);
        goto out;
    }
    wrote_conf = 1;
    /* Enrol last: a kiosk is in the registry only if its files were written. */
    if (registry_enrol(reg, id, dev->pk, (int64_t)now, err, sizeof err)) {
        die_msg("%s", err);
        goto out;
    }
    printf("Enrolled kiosk %s (device key fingerprint %s).\n"
           "Copy these two files onto the SD card's boot partition, into the folder homthu/\n"
           "(/boot/firmware/homthu/ on the running kiosk):\n"
           "  %s\n"
           "  %s\n"
           "device.key is secret: whoever holds it can send tips as this kiosk. Once the card\n"
           "is made, delete the copy in %s. If the kiosk is ever lost or stolen:\n"
           "  " PROG " kiosk-revoke --post %s --id %s --reason \"...\"\n",
           id, dev_fp, conf_path, dev_path, outdir, post, id);
    if (!*relay)
        printf("No --relay given: set relay_url in kiosk.conf, or tips will wait on the kiosk.\n");
    rc = 0;
out:
    if (rc) {
        /* Take back what this run wrote: nothing half-made stays behind. */
        if (wrote_conf)
            unlink(conf_path);
        if (wrote_dev)
            unlink(dev_path);
        if (made)
            rmdir(outdir);
    }
    sodium_memzero(text, sizeof text);
    config_free(parsed);
    keys_device_free(dev);
    registry_close(reg);
    return rc;
}

/* ---- kiosk-list ---- */

static const char KIOSK_LIST_HELP[] =
    "usage: " PROG " kiosk-list --post POSTDIR\n"
    "\n"
    "List every kiosk ever enrolled: its id, device key fingerprint, when it\n"
    "was enrolled, and whether (when, why) it was revoked. Times are UTC.\n";

static int print_entry(void *ctx, const struct registry_entry *e)
{
    int *count = ctx;
    char fp[KEYS_FINGERPRINT_HEX], enrolled[32], revoked[32];
    if ((*count)++ == 0)
        printf("%-20s  %-16s  %-20s  %s\n", "ID", "FINGERPRINT", "ENROLLED", "STATUS");
    keys_fingerprint(e->device_pk, sizeof e->device_pk, fp);
    utc((time_t)e->enrolled, enrolled);
    if (e->revoked) {
        utc((time_t)e->revoked, revoked);
        printf("%-20s  %-16s  %-20s  revoked %s: %s\n", e->id, fp, enrolled, revoked, e->reason);
    } else {
        printf("%-20s  %-16s  %-20s  active\n", e->id, fp, enrolled);
    }
    return 0;
}

static int open_registry(const char *cmd, const char *post, struct registry **reg)
{
    char db[4096], err[512];
    if (join(db, sizeof db, post, REGISTRY_DB_NAME)) {
        die_msg("the folder name %s is too long", post);
        return 1;
    }
    if (registry_open(reg, db, 0, err, sizeof err)) {
        fprintf(stderr, PROG " %s: %s\n", cmd, err);
        return 1;
    }
    return 0;
}

static int cmd_kiosk_list(int argc, char **argv)
{
    static const struct option opts[] = {
        {"post", required_argument, NULL, 'p'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *post = NULL;
    int c;
    while ((c = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
        switch (c) {
        case 'p':
            post = optarg;
            break;
        case 'h':
            fputs(KIOSK_LIST_HELP, stdout);
            return 0;
        case ':':
            return usage_error("kiosk-list", "%s needs a value", argv[optind - 1]);
        default:
            return usage_error("kiosk-list", "unknown option %s", argv[optind - 1]);
        }
    }
    if (optind < argc)
        return usage_error("kiosk-list", "unexpected argument \"%s\"", argv[optind]);
    if (!post)
        return usage_error("kiosk-list", "--post POSTDIR is missing");
    struct registry *reg;
    if (open_registry("kiosk-list", post, &reg))
        return 1;
    int count = 0, rc = 0;
    char err[512];
    if (registry_list(reg, print_entry, &count, err, sizeof err)) {
        die_msg("%s", err);
        rc = 1;
    } else if (count == 0) {
        printf("No kiosk enrolled yet: add one with " PROG
               " kiosk-new --post %s --id NAME --out DIR\n",
               post);
    }
    registry_close(reg);
    return rc;
}

/* ---- kiosk-revoke ---- */

static const char KIOSK_REVOKE_HELP[] =
    "usage: " PROG " kiosk-revoke --post POSTDIR --id NAME --reason TEXT\n"
    "\n"
    "Revoke a lost, stolen or retired kiosk: from now on every tip signed with\n"
    "its device key is refused. It cannot be undone; a replacement kiosk gets a\n"
    "new id and a new key (kiosk-new). TEXT is one line, kept in the registry.\n";

static int cmd_kiosk_revoke(int argc, char **argv)
{
    static const struct option opts[] = {
        {"post", required_argument, NULL, 'p'},
        {"id", required_argument, NULL, 'i'},
        {"reason", required_argument, NULL, 'r'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *post = NULL, *id = NULL, *reason = NULL;
    int c;
    while ((c = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
        switch (c) {
        case 'p':
            post = optarg;
            break;
        case 'i':
            id = optarg;
            break;
        case 'r':
            reason = optarg;
            break;
        case 'h':
            fputs(KIOSK_REVOKE_HELP, stdout);
            return 0;
        case ':':
            return usage_error("kiosk-revoke", "%s needs a value", argv[optind - 1]);
        default:
            return usage_error("kiosk-revoke", "unknown option %s", argv[optind - 1]);
        }
    }
    if (optind < argc)
        return usage_error("kiosk-revoke", "unexpected argument \"%s\"", argv[optind]);
    if (!post)
        return usage_error("kiosk-revoke", "--post POSTDIR is missing");
    if (!id)
        return usage_error("kiosk-revoke", "--id NAME is missing");
    if (!reason)
        return usage_error("kiosk-revoke", "--reason TEXT is missing (say why, in one line)");
    struct registry *reg;
    if (open_registry("kiosk-revoke", post, &reg))
        return 1;
    char err[512];
    int rc = 0;
    if (registry_revoke(reg, id, reason, (int64_t)time(NULL), err, sizeof err)) {
        die_msg("%s", err);
        rc = 1;
    } else {
        printf("Kiosk %s is revoked: its tips are refused from now on.\n"
               "Take its SD card out of service; a replacement needs a new id (kiosk-new).\n",
               id);
    }
    registry_close(reg);
    return rc;
}

/* ---- main ---- */

static const char HELP[] =
    "usage: " PROG " COMMAND [options]\n"
    "\n"
    "Make the border post's keys and enrol the kiosks that may send it tips.\n"
    "\n"
    "  post-init     --dir POSTDIR                  make the post's key pair and registry\n"
    "  kiosk-new     --post POSTDIR --id NAME --out DIR [--relay URL]\n"
    "                                               enrol a kiosk, write its SD card files\n"
    "  kiosk-list    --post POSTDIR                 list enrolled kiosks\n"
    "  kiosk-revoke  --post POSTDIR --id NAME --reason TEXT\n"
    "                                               refuse a lost or stolen kiosk's tips\n"
    "\n"
    "Run " PROG " COMMAND --help for the details of one command.\n";

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
    if (sodium_init() < 0) {
        die_msg("libsodium failed to start (no entropy source?)");
        return 1;
    }
    static const struct {
        const char *name;
        int (*fn)(int, char **);
    } cmds[] = {
        {"post-init", cmd_post_init},
        {"kiosk-new", cmd_kiosk_new},
        {"kiosk-list", cmd_kiosk_list},
        {"kiosk-revoke", cmd_kiosk_revoke},
    };
    for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++)
        if (strcmp(cmd, cmds[i].name) == 0)
            return cmds[i].fn(argc - 1, argv + 1);
    die_msg("unknown command \"%s\" (run " PROG " --help for the list)", cmd);
    return EXIT_USAGE;
}
