/*
 * png_write_argb — a frame (0xAARRGGBB pixels, alpha ignored) as an RGB PNG
 * file through libpng. For the tools and tests that look at screens
 * (homthu-screens, test_unprovisioned); the kiosk itself never writes PNG.
 * Header-only: each user links libpng itself. 0, or -1.
 */
#ifndef HOMTHU_PNG_WRITE_H
#define HOMTHU_PNG_WRITE_H

#include <png.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

static inline int png_write_argb(const char *path, const uint32_t *argb, int w, int h)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        return -1;
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    uint8_t *row = malloc((size_t)w * 3);
    if (!png || !info || !row || setjmp(png_jmpbuf(png))) {
        png_destroy_write_struct(&png, &info);
        free(row);
        fclose(f);
        return -1;
    }
    png_init_io(png, f);
    png_set_IHDR(png, info, (png_uint_32)w, (png_uint_32)h, 8, PNG_COLOR_TYPE_RGB,
                 PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_write_info(png, info);
    for (int y = 0; y < h; y++) {
        for (int x = 0; x < w; x++) {
            uint32_t p = argb[(size_t)y * (size_t)w + (size_t)x];
            row[3 * x] = (uint8_t)(p >> 16);
            row[3 * x + 1] = (uint8_t)(p >> 8);
            row[3 * x + 2] = (uint8_t)p;
        }
        png_write_row(png, row);
    }
    png_write_end(png, NULL);
    png_destroy_write_struct(&png, &info);
    free(row);
    return fclose(f) == 0 ? 0 : -1;
}

#endif
