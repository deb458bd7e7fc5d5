/*
 * config — the strict reader of the kiosk's and the tools' config files.
 *
 * The format (docs/config.md): UTF-8 text, one `key = value` per line,
 * `#` comment lines, optional `[section]` headers after which keys read as
 * "section.key", values trimmed, optionally in double quotes (where `\"`
 * and `\\` are the only escapes). A line holds at most 4096 bytes, a file
 * at most 256 keys, and a key set twice is an error. Anything the reader
 * does not understand is refused with the file name and line, never
 * guessed at: a technician editing kiosk.conf on a laptop must learn of a
 * typo at the desk, not from a kiosk that silently uses a default.
 *
 * Typed getters check types and ranges and say which key and which range.
 * config_read_kiosk() knows every key of kiosk.conf, its default and its
 * range in one table (kept in step with docs/config.md).
 *
 * Not here: key files (keys.h), what the kiosk does with the values.
 *
 * Errors: functions return 0 or a negative enum config_error; when `err`
 * is given it receives a sentence naming the file (and line where there is
 * one) that tells the reader what to fix.
 */
#ifndef HOMTHU_CONFIG_H
#define HOMTHU_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#define CONFIG_MAX_LINE 4096 /* bytes, without the line end */
#define CONFIG_MAX_KEYS 256
#define CONFIG_MAX_KEY 128            /* bytes of "section.key" */
#define CONFIG_MAX_FILE (1024 * 1024) /* no config file comes near this */

enum config_error {
    CONFIG_OK = 0,
    CONFIG_E_ARG = -1, /* programmer error */
    CONFIG_E_NOMEM = -2,
    CONFIG_E_IO = -3,      /* cannot read the file */
    CONFIG_E_SYNTAX = -4,  /* the file is not well formed */
    CONFIG_E_MISSING = -5, /* a required key is absent */
    CONFIG_E_VALUE = -6,   /* wrong type, out of range, bad base64 */
    CONFIG_E_UNKNOWN = -7, /* a key nobody reads (usually a typo) */
};

struct config;

/*
 * Parse a file. `path` also names the file in messages, as given.
 * On success the caller frees with config_free().
 */
int config_load_file(struct config **out, const char *path, char *err, size_t errlen)
    __attribute__((warn_unused_result));

/*
 * Parse `len` bytes of text (need not be NUL-terminated; a NUL byte is an
 * error). `name` names it in messages, e.g. "kiosk.conf". Caller frees.
 */
int config_load_mem(struct config **out, const char *name, const char *text, size_t len, char *err,
                    size_t errlen) __attribute__((warn_unused_result));

void config_free(struct config *c); /* NULL is a no-op */

/* The name used in messages; borrowed, valid until config_free(). */
const char *config_name(const struct config *c);

/* Number of keys, and the i-th key in file order (borrowed), for listings. */
size_t config_count(const struct config *c);
const char *config_key_at(const struct config *c, size_t i);

/* 1 when `key` is set in the file (even to an empty value), else 0. */
int config_has(const struct config *c, const char *key);

/*
 * The value of `key`, borrowed until config_free(). Absent: `def`, or
 * CONFIG_E_MISSING when `def` is NULL.
 */
int config_get_str(const struct config *c, const char *key, const char *def, const char **out,
                   char *err, size_t errlen) __attribute__((warn_unused_result));

/*
 * A whole decimal number in [min, max]. Absent: `def` (not range-checked:
 * the caller's default is trusted). Anything else, "12 s" or "0x10", is an
 * error: "kiosk.conf: volume = 120 is out of range (0–100)".
 */
int config_get_int(const struct config *c, const char *key, long long def, long long min,
                   long long max, long long *out, char *err, size_t errlen)
    __attribute__((warn_unused_result));

/* Like config_get_int but the value must be one of `allowed[0..n)`. */
int config_get_int_choice(const struct config *c, const char *key, long long def,
                          const long long *allowed, size_t n, long long *out, char *err,
                          size_t errlen) __attribute__((warn_unused_result));

/* true/false, yes/no, on/off, 1/0, any case. Absent: `def`. */
int config_get_bool(const struct config *c, const char *key, int def, int *out, char *err,
                    size_t errlen) __attribute__((warn_unused_result));

/*
 * Standard base64 (with padding) of exactly `len` bytes into `out`.
 * There is no default: absent is CONFIG_E_MISSING.
 */
int config_get_base64(const struct config *c, const char *key, uint8_t *out, size_t len, char *err,
                      size_t errlen) __attribute__((warn_unused_result));

/*
 * A file path. A relative value is taken relative to the directory of the
 * config file (so kiosk.conf and device.key can travel together on the
 * boot partition); for a config loaded from memory it is left as is.
 * Absent: `def`, resolved the same way, or CONFIG_E_MISSING when NULL.
 * The result must fit `outlen` bytes.
 */
int config_get_path(const struct config *c, const char *key, const char *def, char *out,
                    size_t outlen, char *err, size_t errlen) __attribute__((warn_unused_result));

/*
 * Refuse keys that no one reads: the first key not in `known` (a
 * NULL-terminated list) gives CONFIG_E_UNKNOWN naming its line.
 */
int config_check_known(const struct config *c, const char *const *known, char *err, size_t errlen)
    __attribute__((warn_unused_result));

/* 1 when `s[0..len)` is well-formed UTF-8 (no overlongs, no surrogates). */
int config_utf8_valid(const char *s, size_t len);

/* ---- kiosk.conf ---- */

#define KIOSK_ID_MAX 32
#define CONFIG_POST_NAME_MAX 63 /* bytes: the UI's ui_config.post_name holds 64 */

/* Every key of kiosk.conf, decoded; see docs/config.md for each one. */
struct kiosk_conf {
    char kiosk_id[KIOSK_ID_MAX + 1];
    uint8_t post_key[32];       /* X25519 public key of the border post */
    char device_key_file[4096]; /* resolved against kiosk.conf's directory */
    char data_dir[4096];
    char relay_url[1024];     /* "" = no uploads: tips wait in the queue */
    char language_default[9]; /* "vi", "hmn", ... */
    int max_record_seconds;
    int opus_bitrate;
    int volume; /* percent */
    int idle_seconds;
    int screen_rotation;   /* 0, 90, 180 or 270 */
    int training;          /* 1 = practice kiosk: every tip is marked training */
    int screen_inches;     /* panel diagonal, for 15 mm touch targets */
    int blank_seconds;     /* idle on the start screen before the panel goes dark */
    char volunteer_pin[9]; /* 4-8 digits; "" = no volunteer screens */
    /* Who receives the tips, shown on the start screen (UTF-8, at most
       CONFIG_POST_NAME_MAX bytes); "" = the screen's generic words. */
    char post_name[CONFIG_POST_NAME_MAX + 1];
    /* Status LEDs and the push button (docs/leds.md). */
    char led_chip[65];    /* "gpiochip0", "0" or a /dev path; "" = no LEDs (GPIO_CHIP_MAX) */
    int led_green, led_amber, led_red; /* line offsets on led_chip */
    char button_chip[65]; /* "" = led_chip */
    int button_line;      /* -1 = no button */
    /* The telephone handset (docs/audio.md): its hook switch on a GPIO line,
       its earpiece and microphone a USB sound card. */
    char handset_hook_chip[65]; /* "" = led_chip */
    int handset_hook_line;      /* -1 = no handset */
    int handset_hook_active_low; /* 1: the line reads low while the handset is lifted */
    char handset_device[128];   /* part of the SDL device name of its card; "" when no handset */
    int undelivered_days; /* red LED code 5 after this long with nothing delivered */
    int heartbeat_minutes; /* a sealed heartbeat to the post this often; 0: none (homthu-uplink) */
    /* The delivery daemon (homthu-uplink, docs/uploader.md). */
    char relay_pin[1024];      /* "sha256//<base64>[;sha256//...]"; "" = not pinned */
    char relay_ca_file[4096];  /* PEM to trust instead of the system's CAs; "" = system */
    int relay_insecure_http;   /* 1: relay_url may be plain http:// to another machine (test networks only) */
    int uplink_backoff_base_ms;
    int uplink_backoff_cap_ms;
    int uplink_connect_timeout_s;
    int uplink_low_speed_bytes; /* bytes/s below which ... */
    int uplink_low_speed_seconds; /* ... for this long, a transfer is given up as stalled */
    int uplink_chunks_per_patch;
    int uplink_probe_seconds;
    int uplink_require_verified; /* false only for third-party tus servers */
    /* E-mail delivery (homthu-mailer, docs/mail.md); mail_smtp_url "" = off. */
    char mail_smtp_url[1024]; /* smtp://host:587 (STARTTLS) or smtps://host:465 */
    char mail_user[256];      /* SMTP AUTH user; "" = no AUTH */
    char mail_password[256];
    char mail_from[256];      /* envelope and header sender */
    char mail_to[256];        /* the border post's tip mailbox */
    int mail_part_bytes;      /* envelope bytes per message */
    char mail_ca_file[4096];  /* "" = the system's CA certificates */
};

#define CONFIG_MAIL_PART_MIN 16384
#define CONFIG_MAIL_PART_MAX (8 * 1024 * 1024)
#define CONFIG_MAIL_PART_DEFAULT (512 * 1024)

/*
 * Is `addr` one plain e-mail address, local@domain, with nothing a mail
 * header or SMTP command could be bent by (spaces, <>, quotes, commas,
 * control bytes)? Shared by kiosk.conf and the mailer.
 */
int config_mail_address_ok(const char *addr);

/* The keys config_read_kiosk() reads, NULL-terminated. */
extern const char *const config_kiosk_keys[];

/*
 * Read and check every key of kiosk.conf into `out`; unknown keys, a
 * missing kiosk_id or post_key and out-of-range values are errors.
 */
int config_read_kiosk(const struct config *c, struct kiosk_conf *out, char *err, size_t errlen)
    __attribute__((warn_unused_result));

/*
 * Is `id` a valid kiosk id: 1–32 of a-z 0-9 and '-', starting and ending
 * with a letter or digit ("na-co-sa-01")? 0 when yes, else CONFIG_E_VALUE
 * with a sentence in `err`. Shared by kiosk.conf and the post's registry.
 */
int config_kiosk_id_check(const char *id, char *err, size_t errlen)
    __attribute__((warn_unused_result));

#endif
