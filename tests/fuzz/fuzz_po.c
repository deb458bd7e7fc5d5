/*
 * fuzz_po — the .po catalog reader (i18n_add_po) on arbitrary bytes.
 * Checked beyond "no crash": a refusal always comes with a sentence for
 * the volunteer; a catalog that loads has a code and a name within their
 * caps, and every string it gives back is valid UTF-8 (the UI draws it as
 * it is). Seeds: the shipped catalogs and the grammar's corners.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/config.h"
#include "kiosk/i18n.h"

#define FUZZ_MAX (64 * 1024)

static void check_string(const char *s)
{
    if (!s || !config_utf8_valid(s, strlen(s)))
        __builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > FUZZ_MAX)
        return 0;
    struct i18n *s;
    char err[512] = "";
    if (i18n_new(&s) != I18N_OK)
        return 0;
    /* The first byte's low bit: read as the directory "vi" would be, or free. */
    const char *code = size > 0 && (data[0] & 1) ? "vi" : NULL;
    int rc = i18n_add_po(s, "fuzz.po", code, (const char *)data, size, err, sizeof err);
    if (rc != I18N_OK && rc != I18N_E_NOMEM && err[0] == 0)
        __builtin_trap();
    if (rc == I18N_OK) {
        struct i18n_lang_info info;
        if (i18n_count(s) != 1 || i18n_lang(s, 0, &info) != I18N_OK)
            __builtin_trap();
        if (strlen(info.code) == 0 || strlen(info.code) > I18N_MAX_CODE || strlen(info.name) == 0 ||
            strlen(info.name) > I18N_MAX_NAME)
            __builtin_trap();
        if (code && strcmp(info.code, code) != 0)
            __builtin_trap();
        check_string(info.name);
        /* Look up the input itself and every line of it as msgids. */
        char *copy = malloc(size + 1);
        if (copy) {
            memcpy(copy, data, size);
            copy[size] = 0;
            check_string(i18n_get(s, info.code, "Send"));
            const char *whole = i18n_get(s, info.code, copy);
            if (whole != copy)
                check_string(whole);
            for (char *line = strtok(copy, "\n"); line; line = strtok(NULL, "\n")) {
                const char *t = i18n_pget(s, info.code, line, line);
                if (t != line)
                    check_string(t);
            }
            free(copy);
        }
        /* The same catalog twice is a duplicate language, never a crash. */
        if (i18n_add_po(s, "again.po", NULL, (const char *)data, size, err, sizeof err) !=
            I18N_E_DUP)
            __builtin_trap();
    }
    i18n_free(s);
    return 0;
}
