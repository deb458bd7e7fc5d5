/*
 * relay_envelope — seal one test tip to a file, as a kiosk would, for the
 * relay's interop test (tests/t_relay_interop.sh).
 *
 *   relay_envelope DEVICE_KEY POST_PUB OUT [AUDIO_BYTES]
 *
 * Writes the envelope (a short text plus AUDIO_BYTES of random "audio",
 * default 0) to OUT and prints its tip id as 32 hex digits. Exit 0, or 1
 * with a message.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "core/envelope.h"
#include "core/keys.h"

static int sink(void *ctx, enum envelope_piece kind, uint32_t index, const uint8_t *b, size_t n)
{
    (void)kind;
    (void)index;
    return fwrite(b, 1, n, ctx) == n ? 0 : -1;
}

int main(int argc, char **argv)
{
    if (argc < 4 || argc > 5) {
        fprintf(stderr, "usage: relay_envelope DEVICE_KEY POST_PUB OUT [AUDIO_BYTES]\n");
        return 2;
    }
    char err[512] = "";
    struct keys_device *dev = NULL;
    uint8_t post_pk[32], tip[16];
    size_t audio = argc == 5 ? strtoul(argv[4], NULL, 10) : 0;
    if (sodium_init() < 0 || keys_device_load(&dev, argv[1], err, sizeof err) ||
        keys_post_load_public(argv[2], post_pk, NULL, err, sizeof err)) {
        fprintf(stderr, "relay_envelope: %s\n", err);
        return 1;
    }
    FILE *f = fopen(argv[3], "wb");
    if (!f) {
        perror(argv[3]);
        return 1;
    }
    struct envelope_meta m = {.language = "vi", .category = CATEGORY_SMUGGLING};
    m.codec = audio ? CODEC_OGG_OPUS : CODEC_NONE;
    struct envelope_writer *w = NULL;
    static const char text[] = "a truck crosses the stream at night without lights";
    int rc = envelope_writer_new(&w, post_pk, dev->sk, &m, sink, f, tip, err, sizeof err);
    if (!rc)
        rc = envelope_write_text(w, text, sizeof text - 1);
    uint8_t *a = audio ? malloc(audio) : NULL;
    if (!rc && a) {
        randombytes_buf(a, audio);
        rc = envelope_write_audio(w, a, audio);
    }
    if (!rc)
        rc = envelope_writer_finish(w, err, sizeof err);
    envelope_writer_free(w);
    keys_device_free(dev);
    free(a);
    if (fclose(f) != 0 || rc) {
        fprintf(stderr, "relay_envelope: cannot write %s: %s\n", argv[3],
                err[0] ? err : envelope_strerror(rc));
        return 1;
    }
    char hex[33];
    sodium_bin2hex(hex, sizeof hex, tip, 16);
    printf("%s\n", hex);
    return 0;
}
