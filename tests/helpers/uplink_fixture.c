/*
 * uplink_fixture — makes a kiosk with sealed tips waiting, for the script
 * tests and the benchmark of homthu-uplink.
 *
 *   uplink_fixture DIR RELAY_URL NTIPS CHUNKS [KEY=VALUE...]
 *
 * Writes DIR/kiosk/{kiosk.conf,device.key} (data_dir DIR/kiosk/data, the
 * extra KEY=VALUE lines appended to kiosk.conf), DIR/post/registry.db
 * with the kiosk enrolled as na-co-sa-01, NTIPS real envelopes of CHUNKS
 * chunks (8, 12, 16, … — the size buckets) sealed into the kiosk's queue,
 * and a copy of each envelope as DIR/envelopes/<32 hex tip id> for
 * byte-for-byte comparison with what a server stored. Prints the tip ids.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <sodium.h>

#include "core/envelope.h"
#include "core/keys.h"
#include "core/queue.h"
#include "core/registry.h"

static int die(const char *what, const char *err)
{
    fprintf(stderr, "uplink_fixture: %s: %s\n", what, err);
    return 1;
}

int main(int argc, char **argv)
{
    if (argc < 5) {
        fprintf(stderr, "usage: uplink_fixture DIR RELAY_URL NTIPS CHUNKS [KEY=VALUE...]\n");
        return 2;
    }
    const char *dir = argv[1], *relay = argv[2];
    int ntips = atoi(argv[3]), chunks = atoi(argv[4]);
    if (ntips < 0 || chunks < ENVELOPE_MIN_CHUNKS)
        return die("arguments", "NTIPS >= 0 and CHUNKS >= 8");
    char p[4096], err[512];
    const char *sub[] = {"kiosk", "kiosk/data", "post", "envelopes"};
    mkdir(dir, 0755);
    for (size_t i = 0; i < 4; i++) {
        snprintf(p, sizeof p, "%s/%s", dir, sub[i]);
        mkdir(p, 0755);
    }
    if (sodium_init() < 0)
        return die("libsodium", "init failed");
    struct envelope_post_key *post = NULL;
    struct keys_device *dev = NULL;
    if (keys_post_generate(&post, err, sizeof err))
        return die("post key", err);
    if (keys_device_generate(&dev, err, sizeof err))
        return die("device key", err);
    snprintf(p, sizeof p, "%s/kiosk/device.key", dir);
    if (keys_device_save(dev, p, err, sizeof err))
        return die("device.key", err);

    snprintf(p, sizeof p, "%s/post/registry.db", dir);
    struct registry *reg = NULL;
    if (registry_open(&reg, p, 1, err, sizeof err) ||
        registry_enrol(reg, "na-co-sa-01", dev->pk, (int64_t)time(NULL), err, sizeof err))
        return die("registry", err);
    registry_close(reg);

    char pk64[64];
    sodium_bin2base64(pk64, sizeof pk64, post->pk, 32, sodium_base64_VARIANT_ORIGINAL);
    snprintf(p, sizeof p, "%s/kiosk/kiosk.conf", dir);
    FILE *f = fopen(p, "w");
    if (!f)
        return die(p, "cannot write");
    fprintf(f,
            "kiosk_id = na-co-sa-01\npost_key = %s\ndevice_key_file = device.key\n"
            "data_dir = data\nrelay_url = %s\n",
            pk64, relay);
    for (int i = 5; i < argc; i++) {
        const char *eq = strchr(argv[i], '=');
        if (!eq)
            return die(argv[i], "extra lines are KEY=VALUE");
        fprintf(f, "%.*s = %s\n", (int)(eq - argv[i]), argv[i], eq + 1);
    }
    if (fclose(f) != 0)
        return die(p, "cannot write");

    snprintf(p, sizeof p, "%s/kiosk/data", dir);
    struct queue *q = NULL;
    unsigned faults = 0;
    if (queue_open(&q, p, &faults, err, sizeof err))
        return die("queue", err);
    /* Text that fills the buckets below CHUNKS, so the writer pads to it. */
    size_t text_len = (size_t)(chunks - 1) * ENVELOPE_CHUNK_PLAIN - 200;
    if (text_len > 65536)
        text_len = 65536;
    char *text = malloc(text_len);
    uint8_t *buf = malloc(16u << 20);
    if (!text || !buf)
        return die("memory", "out of memory");
    for (int t = 0; t < ntips; t++) {
        for (size_t i = 0; i < text_len; i++)
            text[i] = (char)('a' + (i + (size_t)t) % 26);
        struct envelope_meta meta = {.language = "vi", .category = CATEGORY_OTHER};
        struct queue_sink sink = {.q = q, .now = (int64_t)time(NULL), .clock_trusted = 1};
        struct envelope_writer *w = NULL;
        uint8_t id[16];
        if (envelope_writer_new(&w, post->pk, dev->sk, &meta, queue_envelope_sink, &sink, id, err,
                                sizeof err))
            return die("envelope", *sink.err ? sink.err : err);
        /* More TEXT records until the size class is reached. */
        size_t want = (size_t)(chunks - 1) * ENVELOPE_CHUNK_PLAIN - 300, put = 0;
        while (put < want) {
            size_t n = want - put < text_len ? want - put : text_len;
            if (envelope_write_text(w, text, n))
                return die("envelope", "write text failed");
            put += n + 5;
        }
        if (envelope_writer_finish(w, err, sizeof err))
            return die("envelope", *sink.err ? sink.err : err);
        envelope_writer_free(w);
        struct queue_tip qt;
        if (queue_get_tip(q, id, &qt))
            return die("queue", "tip not found after sealing");
        if (qt.chunks != (uint32_t)chunks)
            fprintf(stderr, "uplink_fixture: note: tip has %u chunks, not %d\n", qt.chunks, chunks);
        size_t got = 0;
        if (queue_read(q, id, 0, buf, 16u << 20, &got, err, sizeof err) || got != qt.bytes)
            return die("queue read", err);
        char hex[33];
        sodium_bin2hex(hex, sizeof hex, id, 16);
        snprintf(p, sizeof p, "%s/envelopes/%s", dir, hex);
        FILE *e = fopen(p, "wb");
        if (!e || fwrite(buf, 1, got, e) != got || fclose(e) != 0)
            return die(p, "cannot write");
        printf("%s\n", hex);
    }
    free(text);
    free(buf);
    queue_close(q);
    keys_post_free(post);
    keys_device_free(dev);
    return 0;
}
