/*
 * homthu-provision — make the border post's keys and enrol kiosks.
 *
 *   post-init    --dir POSTDIR              the post's key pair and an empty registry
 *   kiosk-new    --post POSTDIR --id NAME --out DIR [--relay URL] [--post-name TEXT]
 *                [--insecure-http]
 *   kiosk-list   --post POSTDIR
 *   kiosk-revoke --post POSTDIR --id NAME --reason TEXT
 *   card         --from DIR --boot BOOTDIR [--wifi FILE] [--ssh-keys FILE]
 *                                           put kiosk-new's files on a flashed card
 *
 * Runs on the post's (or a technician's) computer, never on a kiosk. File
 * formats: docs/keys.md; kiosk.conf: docs/config.md; the card's first boot:
 * docs/image.md. Exit status: 0 done, 1 failed, 2 bad usage.
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

#include "core/config.h"
#include "core/keys.h"
#include "core/passphrase.h"
#include "core/readall.h"
#include "core/registry.h"
#include "delivery/uploader.h"

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
    "                         [--post-name TEXT] [--insecure-http]\n"
    "\n"
    "Make a kiosk's device key, enrol it in POSTDIR/registry.db and write into\n"
    "DIR (made if missing):\n"
    "  kiosk.conf  the kiosk's settings: its id, the post's public key, the relay\n"
    "  device.key  its secret signing key\n"
    "Copy both onto the SD card's boot partition, into the folder homthu/:\n"
    "  " PROG " card --from DIR --boot BOOTDIR does it.\n"
    "\n"
    "  --id NAME    1-32 lowercase letters, digits and dashes, like na-co-sa-01;\n"
    "               never reused, even after the kiosk is revoked\n"
    "  --relay URL  where the kiosk uploads (https://...); without it tips wait\n"
    "               on the kiosk until relay_url is set in kiosk.conf. A plain\n"
    "               http:// relay is refused: on the way anyone could change the\n"
    "               kiosk's uploads or pose as the relay. http:// to this machine\n"
    "               (127.0.0.1, localhost) is allowed, for a demo\n"
    "  --insecure-http  allow a plain http:// relay anyway, for a test network only\n"
    "               (the kiosk's homthu-uplink must be told too: docs/uploader.md)\n"
    "  --post-name TEXT  the post as the villagers know it, shown on the kiosk's\n"
    "               start screen (at most 63 bytes of UTF-8), like\n"
    "               \"\xc4\x90\xe1\xbb\x93n Bi\xc3\xaan ph\xc3\xb2ng Pa Vi\"; without it the screen\n"
    "               names no post (\"H\xc3\xb2m th\xc6\xb0 b\xc3\xa1o tin c\xe1\xbb\xa7" "a \xc4\x90\xe1\xbb\x93n Bi\xc3\xaan ph\xc3\xb2ng\")\n"
    "               until post_name is set in kiosk.conf\n";

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
        {"post-name", required_argument, NULL, 'n'}, {"help", no_argument, NULL, 'h'},
        {"insecure-http", no_argument, NULL, 'I'}, {NULL, 0, NULL, 0},
    };
    const char *post = NULL, *id = NULL, *outdir = NULL, *relay = "", *post_name = "";
    int c, insecure_http = 0;
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
        case 'n':
            post_name = optarg;
            break;
        case 'I':
            insecure_http = 1;
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
    /*
     * A relay without TLS: the requests' signatures do not cover every byte
     * and nothing authenticates the relay, so whoever is on the way can
     * lose tips or take them in. Refused unless asked for in so many
     * words; a loopback relay never leaves the machine (make run).
     */
    int kind = *relay ? uploader_url_kind(relay) : UPLOADER_URL_TLS;
    if (kind == UPLOADER_URL_PLAIN && !insecure_http) {
        die_msg("--relay %s is plain http: on the way to the relay anyone could change the "
                "kiosk's uploads (a tip can be lost) or pose as the relay. Use https://. Only "
                "for a test network, give --insecure-http as well",
                relay);
        return 1;
    }
    if (kind == UPLOADER_URL_PLAIN)
        fprintf(stderr,
                PROG ": WARNING: --relay %s is plain http, allowed by --insecure-http: on the "
                     "way anyone can change the kiosk's uploads or pose as the relay. Never "
                     "for a kiosk in the field. The kiosk's homthu-uplink refuses it too until "
                     "told (relay_insecure_http = true is written; docs/uploader.md)\n",
                relay);
    else if (kind == UPLOADER_URL_LOOPBACK)
        fprintf(stderr,
                PROG ": note: --relay %s is plain http to this machine (loopback): the kiosk "
                     "reaches only a relay running on itself, as in a demo\n",
                relay);
    /* Quoted in kiosk.conf; the reader checks the rest (length, UTF-8). */
    if (has_control(post_name) || strchr(post_name, '"') || strchr(post_name, '\\'))
        return usage_error("kiosk-new", "--post-name holds a control character, \" or \\");

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
                 "%s"
                 "data_dir = /var/lib/homthu\n"
                 "language_default = vi\n"
                 "max_record_seconds = 180\n"
                 "opus_bitrate = 12000\n"
                 "volume = 80\n"
                 "idle_seconds = 60\n"
                 "screen_rotation = 0\n"
                 "# Ignored: practice is turned on at the volunteer screen, for a session.\n"
                 "training = false\n"
                 "screen_inches = 7\n"
                 "blank_seconds = 300\n"
                 "# 4-8 digits to open the volunteer screens; empty: they are off.\n"
                 "volunteer_pin =\n"
                 "# The post as the villagers know it, on the start screen (UTF-8, at most\n"
                 "# 63 bytes); empty: general words for the border post.\n"
                 "post_name = \"%s\"\n"
                 "# Status LEDs and button (docs/leds.md): gpiochip0 on a Raspberry Pi\n"
                 "# with them wired; empty: none.\n"
                 "led_chip =\n"
                 "led_green = 17\n"
                 "led_amber = 27\n"
                 "led_red = 22\n"
                 "button_chip =\n"
                 "button_line = 23\n"
                 "undelivered_days = 3\n"
                 "# A telephone handset (docs/audio.md): the GPIO line of its hook switch\n"
                 "# (-1: none) and a part of its sound card's name.\n"
                 "handset_hook_chip =\n"
                 "handset_hook_line = -1\n"
                 "handset_hook_active_low = true\n"
                 "handset_device =\n"
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
                 "# A sealed heartbeat to the post every N minutes (0: none).\n"
                 "heartbeat_minutes = 15\n"
                 "# Delivery by e-mail instead (homthu-mailer, docs/mail.md); empty: off.\n"
                 "mail_smtp_url =\n"
                 "mail_user =\n"
                 "mail_password =\n"
                 "mail_from =\n"
                 "mail_to =\n"
                 "mail_part_bytes = 524288\n"
                 "mail_ca_file =\n",
                 now_s, id, post_fp, pk64, dev_fp, relay,
                 kind == UPLOADER_URL_PLAIN
                     ? "# WARNING: plain http, allowed by kiosk-new --insecure-http (docs/uploader.md).\n"
                       "relay_insecure_http = true\n"
                     : "# true only for a plain http:// relay on a test network (docs/uploader.md).\n"
                       "relay_insecure_http = false\n",
                 post_name);
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
           "(with the card's boot partition mounted: " PROG " card --from %s --boot BOOTDIR)\n"
           "device.key is secret: whoever holds it can send tips as this kiosk. Once the card\n"
           "is made, delete the copy in %s. If the kiosk is ever lost or stolen:\n"
           "  " PROG " kiosk-revoke --post %s --id %s --reason \"...\"\n",
           id, dev_fp, conf_path, dev_path, outdir, outdir, post, id);
    if (!*relay)
        printf("No --relay given: set relay_url in kiosk.conf, or tips will wait on the kiosk.\n");
    /* Public: what the post station's "enrol" form asks, so the relay is told too. */
    char dev64[64];
    sodium_bin2base64(dev64, sizeof dev64, dev->pk, sizeof dev->pk, sodium_base64_VARIANT_ORIGINAL);
    printf("Its public device key, for the post station's Kiosks page (enrol: tells the "
           "relay):\n  %s\n",
           dev64);
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

/* ---- card ---- */

static const char CARD_HELP[] =
    "usage: " PROG " card --from DIR --boot BOOTDIR [--wifi FILE] [--ssh-keys FILE]\n"
    "\n"
    "Put a kiosk's files on a freshly flashed SD card. DIR is the folder\n"
    "kiosk-new wrote (its --out DIR); BOOTDIR is the card's boot partition\n"
    "(HOMTHU-BOOT) as this computer mounted it, like /media/tech/HOMTHU-BOOT.\n"
    "Into BOOTDIR/homthu/ go:\n"
    "  kiosk.conf           the kiosk's settings; stays on the card\n"
    "  device.key           its secret key; the first boot moves it off the card\n"
    "  wifi.conf            --wifi FILE: Wi-Fi settings in wpa_supplicant format\n"
    "                       (country=VN, then network={ ssid=\"...\" psk=\"...\" });\n"
    "                       the first boot moves it off the card\n"
    "  ssh_authorized_keys  --ssh-keys FILE: OpenSSH public keys (.pub); SSH as\n"
    "                       root with them while this file is on the card\n"
    "\n"
    "Every file is checked before anything is written (kiosk.conf as the kiosk\n"
    "reads it). Files already on the card are replaced, and the tool says so.\n"
    "Each is written whole (temporary file, sync, rename): a card pulled out\n"
    "afterwards holds the old file or the new one, never half of one.\n";

/* No file for the card comes near this; a bigger one is the wrong file. */
#define CARD_FILE_MAX (64 * 1024)

/*
 * Read `path` whole into sodium_malloc'd memory, NUL-terminated: it may hold
 * a secret, and sodium_free() zeroes it. `what` says what the file should
 * be ("a kiosk.conf"), `missing` what to do when it is not there. NULL after
 * a message.
 */
static char *read_whole(const char *path, const char *what, const char *missing, size_t *len)
{
    int fd = open(path, O_RDONLY | O_NOCTTY | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT)
            die_msg("%s is missing: %s", path, missing);
        else
            die_msg("cannot read %s: %s", path, strerror(errno));
        return NULL;
    }
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        die_msg("%s is not a file: give %s", path, what);
        close(fd);
        return NULL;
    }
    char *buf = sodium_malloc(CARD_FILE_MAX + 1);
    if (!buf) {
        die_msg("out of memory to read %s", path);
        close(fd);
        return NULL;
    }
    size_t n = 0;
    int r = readall_fd(fd, buf, CARD_FILE_MAX, &n);
    if (r < 0) {
        die_msg("cannot read %s: %s", path, strerror(-r));
        goto fail;
    }
    if (r == READALL_TOO_BIG) {
        die_msg("%s is larger than %d KiB: it is not %s (is this the right file?)", path,
                CARD_FILE_MAX / 1024, what);
        goto fail;
    }
    if (memchr(buf, 0, n)) {
        die_msg("%s holds binary data: it is not %s (is this the right file?)", path, what);
        goto fail;
    }
    close(fd);
    *len = n;
    return buf;
fail:
    close(fd);
    sodium_free(buf); /* zeroes it */
    return NULL;
}

/* Each line of `text` with blanks (and a Windows CR) trimmed off both ends. */
static int each_line(const char *text, int (*fn)(const char *line, size_t n))
{
    for (const char *p = text; *p;) {
        const char *nl = strchr(p, '\n');
        const char *end = nl ? nl : p + strlen(p);
        const char *q = p;
        while (q < end && (*q == ' ' || *q == '\t'))
            q++;
        while (end > q && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r'))
            end--;
        if (fn(q, (size_t)(end - q)))
            return 1;
        if (!nl)
            break;
        p = nl + 1;
    }
    return 0;
}

/* wpa_supplicant opens a network block with exactly this line, blanks trimmed. */
static int is_network_block(const char *line, size_t n)
{
    return n == 9 && memcmp(line, "network={", 9) == 0;
}

static int is_ssh_key(const char *line, size_t n)
{
    static const char *const kinds[] = {"ssh-ed25519", "ssh-rsa", "ecdsa-sha2-", "sk-"};
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
        size_t k = strlen(kinds[i]);
        if (n > k && memcmp(line, kinds[i], k) == 0)
            return 1;
    }
    return 0;
}

/* What to do about a write error on the card, or "". */
static const char *card_hint(int e)
{
    switch (e) {
    case EROFS:
        return " (the card is read-only: check its lock switch, plug it in again and mount it "
               "writable)";
    case EACCES:
    case EPERM:
        return " (this user may not write there: check how the card is mounted)";
    case ENOSPC:
        return " (the card's boot partition is full)";
    case EIO:
        return " (the card or the card reader may be failing: try again, or another card)";
    default:
        return "";
    }
}

/*
 * Write `len` bytes as dir/name whole, with keys_write_file(): a temporary
 * file made 0600, fsync'd, renamed over any old one, the folder fsync'd, so
 * a card pulled out right after holds the old file or the new one (FAT
 * ignores the mode; the mount options decide it).
 */
static int card_write(const char *dir, const char *name, const char *bytes, size_t len)
{
    char path[4096], err[512];
    if (join(path, sizeof path, dir, name)) {
        die_msg("the folder name %s is too long", dir);
        return -1;
    }
    if (keys_write_file(path, bytes, len, 0600, 1, err, sizeof err) != 0) {
        int e = errno; /* the failing call's, kept by keys_write_file's clean-up */
        die_msg("%s%s", err, card_hint(e));
        return -1;
    }
    return 0;
}

/*
 * Is `boot` the boot partition of a flashed card: a folder with config.txt
 * and the image's homthu/ folder or at least cmdline.txt (a card of another
 * image, like Raspberry Pi OS on a Pi 5)? 0 when yes, else after a message.
 */
static int check_boot(const char *boot)
{
    static const char MOUNT_IT[] =
        "mount the card's first partition (HOMTHU-BOOT) and give its folder";
    struct stat st;
    char p[4096];
    if (stat(boot, &st) != 0) {
        die_msg("cannot use %s: %s: %s", boot, strerror(errno), MOUNT_IT);
        return -1;
    }
    if (!S_ISDIR(st.st_mode)) {
        die_msg("%s is not a folder: %s", boot, MOUNT_IT);
        return -1;
    }
    if (join(p, sizeof p, boot, "config.txt")) {
        die_msg("the folder name %s is too long", boot);
        return -1;
    }
    if (stat(p, &st) != 0 || !S_ISREG(st.st_mode)) {
        die_msg("%s does not look like a H\xc3\xb2m th\xc6\xb0 card's boot partition (no "
                "config.txt): %s",
                boot, MOUNT_IT);
        return -1;
    }
    int has_dir = join(p, sizeof p, boot, "homthu") == 0 && stat(p, &st) == 0;
    if (has_dir && !S_ISDIR(st.st_mode)) {
        die_msg("%s is not a folder: remove it, or flash the card again", p);
        return -1;
    }
    if (!has_dir && (join(p, sizeof p, boot, "cmdline.txt") || stat(p, &st) != 0)) {
        die_msg("%s does not look like a H\xc3\xb2m th\xc6\xb0 card's boot partition (no homthu/ "
                "folder, no cmdline.txt): %s",
                boot, MOUNT_IT);
        return -1;
    }
    return 0;
}

static int cmd_card(int argc, char **argv)
{
    static const struct option opts[] = {
        {"from", required_argument, NULL, 'f'}, {"boot", required_argument, NULL, 'b'},
        {"wifi", required_argument, NULL, 'w'}, {"ssh-keys", required_argument, NULL, 's'},
        {"help", no_argument, NULL, 'h'},       {NULL, 0, NULL, 0},
    };
    const char *from = NULL, *boot = NULL, *wifi_file = NULL, *ssh_file = NULL;
    int c;
    while ((c = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
        switch (c) {
        case 'f':
            from = optarg;
            break;
        case 'b':
            boot = optarg;
            break;
        case 'w':
            wifi_file = optarg;
            break;
        case 's':
            ssh_file = optarg;
            break;
        case 'h':
            fputs(CARD_HELP, stdout);
            return 0;
        case ':':
            return usage_error("card", "%s needs a value", argv[optind - 1]);
        default:
            return usage_error("card", "unknown option %s", argv[optind - 1]);
        }
    }
    if (optind < argc)
        return usage_error("card", "unexpected argument \"%s\"", argv[optind]);
    if (!from)
        return usage_error("card", "--from DIR is missing (the folder kiosk-new --out wrote)");
    if (!boot)
        return usage_error("card", "--boot BOOTDIR is missing (the card's boot partition, "
                                   "mounted)");

    static const char FROM_HINT[] = "give --from the folder kiosk-new wrote (its --out DIR)";
    char src_conf[4096], src_key[4096], hdir[4096], card_conf[4096], card_key[4096];
    char card_wifi[4096], card_ssh[4096], err[512];
    if (join(src_conf, sizeof src_conf, from, "kiosk.conf") ||
        join(src_key, sizeof src_key, from, "device.key") ||
        join(hdir, sizeof hdir, boot, "homthu") ||
        join(card_conf, sizeof card_conf, hdir, "kiosk.conf") ||
        join(card_key, sizeof card_key, hdir, "device.key") ||
        join(card_wifi, sizeof card_wifi, hdir, "wifi.conf") ||
        join(card_ssh, sizeof card_ssh, hdir, "ssh_authorized_keys")) {
        die_msg("a folder name is too long");
        return 1;
    }

    int rc = 1, made = 0, written = 0;
    char *conf = NULL, *key = NULL, *wifi = NULL, *ssh = NULL;
    size_t conf_len = 0, key_len = 0, wifi_len = 0, ssh_len = 0;
    struct config *parsed = NULL, *old = NULL;
    struct keys_device *dev = NULL, *prev = NULL, *back = NULL;
    struct kiosk_conf kc; /* may hold mail_password: zeroed at the end */
    memset(&kc, 0, sizeof kc);
    char fp[KEYS_FINGERPRINT_HEX];

    /* Everything is checked before the card is touched. */
    if (check_boot(boot))
        goto out;
    conf = read_whole(src_conf, "a kiosk.conf", FROM_HINT, &conf_len);
    if (!conf)
        goto out;
    if (config_load_mem(&parsed, src_conf, conf, conf_len, err, sizeof err) ||
        config_read_kiosk(parsed, &kc, err, sizeof err)) {
        die_msg("%s; nothing was written to the card", err);
        goto out;
    }
    int krc = keys_device_load(&dev, src_key, err, sizeof err);
    if (krc == KEYS_E_MISSING) {
        die_msg("%s is missing: %s", src_key, FROM_HINT);
        goto out;
    }
    if (krc) {
        die_msg("%s; nothing was written to the card", err);
        goto out;
    }
    key = read_whole(src_key, "a device.key", FROM_HINT, &key_len);
    if (!key)
        goto out;
    keys_fingerprint(dev->pk, sizeof dev->pk, fp);
    if (wifi_file) {
        wifi = read_whole(wifi_file, "a wpa_supplicant file", "check --wifi", &wifi_len);
        if (!wifi)
            goto out;
        if (!each_line(wifi, is_network_block)) {
            die_msg("%s has no network={ block: --wifi takes wpa_supplicant settings, like\n"
                    "  country=VN\n"
                    "  network={\n"
                    "      ssid=\"the network's name\"\n"
                    "      psk=\"its password\"\n"
                    "  }",
                    wifi_file);
            goto out;
        }
    }
    if (ssh_file) {
        ssh = read_whole(ssh_file, "an OpenSSH public key file", "check --ssh-keys", &ssh_len);
        if (!ssh)
            goto out;
        if (strstr(ssh, "PRIVATE KEY")) {
            die_msg("%s is a private key: give the public one (the .pub file), and never put a "
                    "private key on a card",
                    ssh_file);
            goto out;
        }
        if (!each_line(ssh, is_ssh_key)) {
            die_msg("%s holds no SSH public key: --ssh-keys takes OpenSSH public keys, one a "
                    "line, each starting ssh-ed25519, ssh-rsa, ecdsa-sha2-... or sk-... (like "
                    "~/.ssh/id_ed25519.pub)",
                    ssh_file);
            goto out;
        }
    }

    /* What the card holds already: replaced, and said. */
    if (keys_device_load(&prev, card_key, NULL, 0) == 0 &&
        sodium_memcmp(prev->sk, dev->sk, sizeof dev->sk) == 0) {
        printf("homthu/device.key on the card is already this kiosk's key: writing it again.\n");
    } else if (access(card_key, F_OK) == 0) {
        printf("Replacing the homthu/device.key already on the card (a card provisioned\n"
               "before): the kiosk takes the new key at its next boot.\n");
    }
    if (access(card_conf, F_OK) == 0) {
        const char *old_id = NULL;
        if (config_load_file(&old, card_conf, NULL, 0) ||
            config_get_str(old, "kiosk_id", NULL, &old_id, NULL, 0) ||
            config_kiosk_id_check(old_id, NULL, 0))
            printf("Replacing homthu/kiosk.conf on the card, which was not a valid kiosk.conf.\n");
        else if (strcmp(old_id, kc.kiosk_id) != 0)
            printf("Replacing homthu/kiosk.conf on the card: it was for kiosk %s, now for %s.\n",
                   old_id, kc.kiosk_id);
    }
    if (!wifi && access(card_wifi, F_OK) == 0)
        printf("Keeping the homthu/wifi.conf already on the card.\n");
    if (!ssh && access(card_ssh, F_OK) == 0)
        printf("Note: homthu/ssh_authorized_keys is on the card, so SSH as root will be on;\n"
               "delete it from the card to keep SSH off.\n");

    /* Write. kiosk.conf last: it is what names the card's kiosk. */
    fflush(stdout); /* the notes above before any error below */
    if (ensure_dir(hdir, &made))
        goto out;
    if (wifi) {
        if (card_write(hdir, "wifi.conf", wifi, wifi_len))
            goto out;
        written++;
    }
    if (ssh) {
        if (card_write(hdir, "ssh_authorized_keys", ssh, ssh_len))
            goto out;
        written++;
    }
    if (card_write(hdir, "device.key", key, key_len))
        goto out;
    written++;
    /* Read it back as the kiosk will: the same key, or a failing card shows now. */
    if (keys_device_load(&back, card_key, err, sizeof err) ||
        sodium_memcmp(back->sk, dev->sk, sizeof dev->sk) != 0) {
        die_msg("homthu/device.key on the card does not read back as the key written: the card "
                "or the card reader may be failing; try again, or another card");
        goto out;
    }
    if (card_write(hdir, "kiosk.conf", conf, conf_len))
        goto out;
    written++;

    printf("Card ready for kiosk %s (device key fingerprint %s):\n"
           "homthu/kiosk.conf, homthu/device.key%s%s written to %s.\n"
           "Unmount (eject) the card, put it in the kiosk and power it on: the first boot\n"
           "moves the key%s off this partition.\n"
           "Until then device.key on the card is a secret: keep the card with you (whoever\n"
           "copies it can send tips as this kiosk). Once the kiosk runs, delete %s.\n",
           kc.kiosk_id, fp, wifi ? ", homthu/wifi.conf" : "",
           ssh ? ", homthu/ssh_authorized_keys" : "", boot, wifi ? " and the Wi-Fi settings" : "",
           src_key);
    if (ssh)
        printf("SSH as root, with those keys only, is on while homthu/ssh_authorized_keys is on\n"
               "the card: delete it from the card to turn SSH off.\n");
    rc = 0;
out:
    if (rc && written)
        die_msg("the card is only partly written: run this command again before using it");
    if (rc && made)
        rmdir(hdir); /* only succeeds if it is still empty */
    sodium_memzero(&kc, sizeof kc);
    if (conf)
        sodium_free(conf); /* sodium_free zeroes */
    if (key)
        sodium_free(key);
    if (wifi)
        sodium_free(wifi);
    if (ssh)
        sodium_free(ssh);
    config_free(parsed);
    config_free(old);
    keys_device_free(back);
    keys_device_free(prev);
    keys_device_free(dev);
    return rc;
}
/* ---- main ---- */

static const char HELP[] =
    "usage: " PROG " COMMAND [options]\n"
    "\n"
    "Make the border post's keys and enrol the kiosks that may send it tips.\n"
    "\n"
    "  post-init     --dir POSTDIR                  make the post's key pair and registry\n"
    "  kiosk-new     --post POSTDIR --id NAME --out DIR [--relay URL] [--post-name TEXT]\n"
    "                                               enrol a kiosk, write its SD card files\n"
    "  kiosk-list    --post POSTDIR                 list enrolled kiosks\n"
    "  kiosk-revoke  --post POSTDIR --id NAME --reason TEXT\n"
    "                                               refuse a lost or stolen kiosk's tips\n"
    "  card          --from DIR --boot BOOTDIR [--wifi FILE] [--ssh-keys FILE]\n"
    "                                               put a kiosk's files on a flashed card\n"
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
        {"card", cmd_card},
    };
    for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++)
        if (strcmp(cmd, cmds[i].name) == 0)
            return cmds[i].fn(argc - 1, argv + 1);
    die_msg("unknown command \"%s\" (run " PROG " --help for the list)", cmd);
    return EXIT_USAGE;
}
