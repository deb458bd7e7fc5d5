/*
 * fuzz_config — the config parser and every getter on arbitrary bytes.
 * Inputs over 64 KiB are skipped: a real config is a few hundred bytes,
 * and the parser is linear, so bigger inputs only slow the fuzzer down.
 * Seeds in tests/fuzz/corpus/config/ are plain config files.
 */
#include <stdint.h>
#include <string.h>

#include "core/config.h"

#define FUZZ_MAX (64 * 1024)

static void check_err(const char *err, size_t cap)
{
    /* Every message is NUL-terminated within its buffer and never empty. */
    if (!memchr(err, 0, cap) || err[0] == 0)
        __builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > FUZZ_MAX)
        return 0;
    struct config *c = NULL;
    char err[256];
    int rc = config_load_mem(&c, "kiosk.conf", (const char *)data, size, err, sizeof err);
    if (rc) {
        if (c)
            __builtin_trap();
        check_err(err, sizeof err);
        return 0;
    }
    size_t n = config_count(c);
    if (n > CONFIG_MAX_KEYS)
        __builtin_trap();
    for (size_t i = 0; i < n; i++) {
        const char *key = config_key_at(c, i), *v = NULL;
        if (!key || strlen(key) > CONFIG_MAX_KEY || !config_has(c, key))
            __builtin_trap();
        if (config_get_str(c, key, NULL, &v, err, sizeof err) != 0 || !v)
            __builtin_trap();
        size_t vl = strlen(v);
        if (vl > CONFIG_MAX_LINE || !config_utf8_valid(v, vl))
            __builtin_trap();
        for (size_t k = 0; k < vl; k++)
            if ((unsigned char)v[k] < 0x20 && v[k] != '\t')
                __builtin_trap();

        long long x;
        int b;
        uint8_t bytes[32];
        char path[256];
        static const long long rot[] = {0, 90, 180, 270};
        if (config_get_int(c, key, 0, -1000, 1000, &x, err, sizeof err))
            check_err(err, sizeof err);
        else if (x < -1000 || x > 1000)
            __builtin_trap();
        if (config_get_int(c, key, 0, INT64_MIN, INT64_MAX, &x, err, sizeof err))
            check_err(err, sizeof err);
        if (config_get_int_choice(c, key, 0, rot, 4, &x, err, sizeof err))
            check_err(err, sizeof err);
        if (config_get_bool(c, key, 0, &b, err, sizeof err))
            check_err(err, sizeof err);
        else if (b != 0 && b != 1)
            __builtin_trap();
        if (config_get_base64(c, key, bytes, sizeof bytes, err, sizeof err))
            check_err(err, sizeof err);
        if (config_get_path(c, key, NULL, path, sizeof path, err, sizeof err))
            check_err(err, sizeof err);
        else if (strlen(path) >= sizeof path)
            __builtin_trap();
    }
    struct kiosk_conf kc;
    if (config_read_kiosk(c, &kc, err, sizeof err))
        check_err(err, sizeof err);
    else if (kc.max_record_seconds < 10 || kc.max_record_seconds > 600 ||
             config_kiosk_id_check(kc.kiosk_id, NULL, 0) != 0)
        __builtin_trap();
    config_free(c);
    return 0;
}
