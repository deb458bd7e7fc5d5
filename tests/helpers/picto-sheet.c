/*
 * picto-sheet — a contact sheet of every pictogram in src/kiosk/pictos.h,
 * drawn by the kiosk's own renderer from fonts/HomthuPictos.ttf, to look at
 * while drawing them (docs/pictograms.md).
 *
 *   picto-sheet OUT.png PX [FG BG]    e.g. picto-sheet /tmp/s.png 80 111111 FFFFFF
 *
 * Run from the source tree (or with HOMTHU_ROOT set). PNG without libpng:
 * stored (uncompressed) deflate blocks are valid zlib.
 */
#include "kiosk/render.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAXP 128

static uint32_t crc_table[256];

static uint32_t crc(uint32_t c, const unsigned char *p, size_t n)
{
    if (!crc_table[1])
        for (uint32_t i = 0; i < 256; i++) {
            uint32_t k = i;
            for (int j = 0; j < 8; j++)
                k = k & 1 ? 0xEDB88320u ^ (k >> 1) : k >> 1;
            crc_table[i] = k;
        }
    c = ~c;
    while (n--)
        c = crc_table[(c ^ *p++) & 0xFF] ^ (c >> 8);
    return ~c;
}

static void be32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)(v >> 24), p[1] = (unsigned char)(v >> 16);
    p[2] = (unsigned char)(v >> 8), p[3] = (unsigned char)v;
}

static void chunk(FILE *f, const char *type, const unsigned char *data, size_t n)
{
    unsigned char h[8];
    be32(h, (uint32_t)n);
    memcpy(h + 4, type, 4);
    fwrite(h, 1, 8, f);
    fwrite(data, 1, n, f);
    uint32_t c = crc(crc(0, (const unsigned char *)type, 4), data, n);
    be32(h, c);
    fwrite(h, 1, 4, f);
}

static int write_png(const char *path, const uint32_t *argb, int w, int h)
{
    size_t raw_n = (size_t)h * (1 + (size_t)w * 3);
    unsigned char *raw = malloc(raw_n);
    size_t blocks = raw_n / 65535 + 1;
    unsigned char *z = malloc(raw_n + blocks * 5 + 6);
    if (!raw || !z)
        return -1;
    for (int y = 0; y < h; y++) {
        unsigned char *row = raw + (size_t)y * (1 + (size_t)w * 3);
        row[0] = 0;
        for (int x = 0; x < w; x++) {
            uint32_t p = argb[(size_t)y * w + x];
            row[1 + x * 3] = (unsigned char)(p >> 16);
            row[2 + x * 3] = (unsigned char)(p >> 8);
            row[3 + x * 3] = (unsigned char)p;
        }
    }
    size_t zn = 0, off = 0;
    z[zn++] = 0x78, z[zn++] = 0x01;
    uint32_t a = 1, b = 0;
    for (size_t i = 0; i < raw_n; i++)
        a = (a + raw[i]) % 65521, b = (b + a) % 65521;
    do {
        size_t n = raw_n - off > 65535 ? 65535 : raw_n - off;
        z[zn++] = off + n == raw_n;
        z[zn++] = (unsigned char)n, z[zn++] = (unsigned char)(n >> 8);
        z[zn++] = (unsigned char)~n, z[zn++] = (unsigned char)(~n >> 8);
        memcpy(z + zn, raw + off, n);
        zn += n, off += n;
    } while (off < raw_n);
    be32(z + zn, (b << 16) | a);
    zn += 4;
    FILE *f = fopen(path, "wb");
    if (!f)
        return -1;
    fwrite("\x89PNG\r\n\x1a\n", 1, 8, f);
    unsigned char ihdr[13] = {0};
    be32(ihdr, (uint32_t)w);
    be32(ihdr + 4, (uint32_t)h);
    ihdr[8] = 8, ihdr[9] = 2; /* 8-bit RGB */
    chunk(f, "IHDR", ihdr, 13);
    chunk(f, "IDAT", z, zn);
    chunk(f, "IEND", NULL, 0);
    free(raw);
    free(z);
    return fclose(f);
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: picto-sheet OUT.png PX [FG BG]\n");
        return 2;
    }
    int px = atoi(argv[2]);
    uint32_t fg = argc > 3 ? (uint32_t)strtoul(argv[3], NULL, 16) : 0x111111;
    uint32_t bg = argc > 4 ? (uint32_t)strtoul(argv[4], NULL, 16) : 0xFFFFFF;
    const char *root = getenv("HOMTHU_ROOT") ? getenv("HOMTHU_ROOT") : ".";
    char path[4096], names[MAXP][40];
    uint32_t cps[MAXP];
    int n = 0;
    snprintf(path, sizeof path, "%s/src/kiosk/pictos.h", root);
    FILE *h = fopen(path, "r");
    if (!h) {
        perror(path);
        return 1;
    }
    char line[512];
    while (n < MAXP && fgets(line, sizeof line, h)) {
        char name[40];
        unsigned cp;
        if (sscanf(line, "#define PICTO_%39s 0x%xu", name, &cp) == 2 &&
            strcmp(name, "FIRST") != 0 && strcmp(name, "LAST") != 0) {
            snprintf(names[n], sizeof names[n], "%s", name);
            cps[n++] = cp;
        }
    }
    fclose(h);
    int label = 24, cell = px + 16 + label, cols = 8;
    if (cell < 150)
        cols = 10;
    int cw = px + 16 > 140 ? px + 16 : 140;
    int W = cols * cw, H = ((n + cols - 1) / cols) * cell;
    setenv("SDL_VIDEODRIVER", "offscreen", 1);
    char font[4200];
    snprintf(font, sizeof font, "%s/fonts/NotoSans-Regular.ttf", root);
    struct render_opts o = {.width = W, .height = H, .software = 1, .min_text_px = 12,
                            .font_path = font};
    struct render *r;
    char err[256];
    if (render_open(&r, &o, err, sizeof err) != 0) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    static struct ui_draw_list dl;
    dl.clear = bg;
    for (int i = 0; i < n && dl.n + 2 <= UI_MAX_CMDS; i++) {
        int x = (i % cols) * cw, y = (i / cols) * cell;
        struct ui_draw *d = &dl.cmds[dl.n++];
        d->kind = UI_DRAW_PICTO;
        d->r = (struct ui_rect){x + (cw - px) / 2, y + 8, px, px};
        d->picto = cps[i];
        d->fg = fg;
        d->bg = bg;
        d = &dl.cmds[dl.n++];
        d->kind = UI_DRAW_TEXT;
        d->r = (struct ui_rect){x, y + px + 10, cw, label};
        d->fg = fg;
        d->bg = bg;
        d->px = 14;
        snprintf(d->text, sizeof d->text, "%s", names[i]);
    }
    uint32_t *argb = malloc((size_t)W * H * 4);
    render_frame(r, &dl, 0, argb);
    render_close(r);
    int rc = write_png(argv[1], argb, W, H);
    free(argb);
    if (rc != 0) {
        perror(argv[1]);
        return 1;
    }
    printf("%s: %d pictograms at %d px\n", argv[1], n, px);
    return 0;
}
