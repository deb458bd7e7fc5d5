/*
 * maketip — make real tips the way the kiosk does (src/kiosk/tip.h), for the
 * script tests of the mailer and the post console.
 *
 *   maketip --config kiosk.conf [--pcm FILE --seconds N] [--text TEXT]
 *           [--category N] [--language TAG] [--training] [--when N]
 *           [--cut-short] [--out FILE]
 *   maketip --config kiosk.conf --recover
 *
 * The tip goes into the queue of kiosk.conf's data_dir, sealed to its
 * post_key and signed by its device key; its id (32 hex digits) is printed.
 * --pcm: raw 16 kHz mono s16 speech (tests/speech.sh makes 60 s), looped
 * to --seconds. --out also writes the sealed envelope to FILE.
 * --cut-short: the process dies (_exit) before sealing, as at a power cut;
 * --recover then seals it as the kiosk does at its next start.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "core/config.h"
#include "core/keys.h"
#include "core/queue.h"
#include "kiosk/tip.h"

static int fail(const char *what, const char *err)
{
    fprintf(stderr, "maketip: %s: %s\n", what, err);
    return 1;
}

int main(int argc, char **argv)
{
    const char *conf = NULL, *pcm_path = NULL, *text = NULL, *out = NULL, *lang = "vi";
    int seconds = 0, category = CATEGORY_SMUGGLING, training = 0, when = WHEN_YESTERDAY;
    int cut = 0, recover = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--config") && v)
            conf = argv[++i];
        else if (!strcmp(a, "--pcm") && v)
            pcm_path = argv[++i];
        else if (!strcmp(a, "--seconds") && v)
            seconds = atoi(argv[++i]);
        else if (!strcmp(a, "--text") && v)
            text = argv[++i];
        else if (!strcmp(a, "--category") && v)
            category = atoi(argv[++i]);
        else if (!strcmp(a, "--language") && v)
            lang = argv[++i];
        else if (!strcmp(a, "--when") && v)
            when = atoi(argv[++i]);
        else if (!strcmp(a, "--out") && v)
            out = argv[++i];
        else if (!strcmp(a, "--training"))
            training = 1;
        else if (!strcmp(a, "--cut-short"))
            cut = 1;
        else if (!strcmp(a, "--recover"))
            recover = 1;
        else {
            fprintf(stderr, "maketip: unknown argument %s\n", a);
            return 2;
        }
    }
    if (!conf || sodium_init() < 0)
        return fail("usage", "--config kiosk.conf is missing");
    char err[1024];
    struct config *c = NULL;
    static struct kiosk_conf k;
    if (config_load_file(&c, conf, err, sizeof err) || config_read_kiosk(c, &k, err, sizeof err))
        return fail(conf, err);
    config_free(c);
    struct keys_device *dev = NULL;
    if (keys_device_load(&dev, k.device_key_file, err, sizeof err))
        return fail(k.device_key_file, err);
    struct queue *q = NULL;
    unsigned faults = 0;
    if (queue_open(&q, k.data_dir, &faults, err, sizeof err))
        return fail(k.data_dir, err);
    int64_t now = (int64_t)time(NULL);
    if (recover) {
        int n = 0, dropped = 0;
        if (queue_recover(q, dev->sk, now, &n, &dropped, err, sizeof err))
            return fail("recover", err);
        printf("recovered %d\n", n);
        queue_close(q);
        keys_device_free(dev);
        return 0;
    }
    struct tip_keys tk;
    memcpy(tk.post_pk, k.post_key, 32);
    memcpy(tk.device_sk, dev->sk, 64);
    struct envelope_meta m = {.category = (uint8_t)category, .training = (uint8_t)training};
    snprintf(m.language, sizeof m.language, "%s", lang);
    struct capture_opts co = {0};
    struct tip_session *s = NULL;
    if (tip_begin(&s, q, &tk, &m, pcm_path ? &co : NULL, now, 1, err, sizeof err))
        return fail("tip_begin", err);
    uint8_t id[16];
    memcpy(id, tip_id(s), 16);
    if (pcm_path) {
        FILE *f = fopen(pcm_path, "rb");
        if (!f)
            return fail(pcm_path, "cannot open");
        fseek(f, 0, SEEK_END);
        long n = ftell(f);
        fseek(f, 0, SEEK_SET);
        int16_t *pcm = malloc((size_t)n);
        if (!pcm || fread(pcm, 1, (size_t)n, f) != (size_t)n)
            return fail(pcm_path, "cannot read");
        fclose(f);
        size_t total = (size_t)seconds * 16000, have = (size_t)n / 2, done = 0;
        while (done < total) {
            size_t take = total - done < 4000 ? total - done : 4000;
            size_t at = done % have;
            if (take > have - at)
                take = have - at;
            if (tip_add_pcm(s, pcm + at, take, err, sizeof err))
                return fail("tip_add_pcm", err);
            done += take;
        }
        free(pcm);
    }
    if (cut) {
        /* A power cut: chunks committed so far stay, nothing seals them. */
        char hex[33];
        sodium_bin2hex(hex, sizeof hex, id, 16);
        printf("%s\n", hex);
        fflush(stdout);
        _exit(0);
    }
    if (text && tip_add_text(s, text, strlen(text), err, sizeof err))
        return fail("tip_add_text", err);
    if (when && tip_set_when(s, (uint8_t)when, err, sizeof err))
        return fail("tip_set_when", err);
    if (tip_send(s, now, err, sizeof err))
        return fail("tip_send", err);
    if (out) {
        struct queue_tip t;
        if (queue_get_tip(q, id, &t))
            return fail("queue_get_tip", "missing");
        uint8_t *env = malloc(t.bytes);
        size_t off = 0;
        while (env && off < t.bytes) {
            size_t got = 0;
            if (queue_read(q, id, off, env + off, t.bytes - off, &got, err, sizeof err) || !got)
                return fail("queue_read", err);
            off += got;
        }
        FILE *f = fopen(out, "wb");
        if (!env || !f || fwrite(env, 1, t.bytes, f) != t.bytes || fclose(f))
            return fail(out, "cannot write");
        free(env);
    }
    char hex[33];
    sodium_bin2hex(hex, sizeof hex, id, 16);
    printf("%s\n", hex);
    queue_close(q);
    keys_device_free(dev);
    return 0;
}
