/*
 * audio_fake — an audio port with no device: what the microphone hears is
 * scripted by the test, what is played is kept for the test to look at.
 * Also a silent port for a kiosk whose sound system is gone (set no
 * microphone and no speaker). Plays instantly: "playing" lasts until the
 * test says it ended, so UI tests decide when a prompt finishes.
 */
#include "kiosk/audio.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct audio_fake {
    int mic, speaker, capturing;
    int handset, play_route, cap_route, cap_opened_on;
    int opens, closes, on_route[2];
    int16_t *heard; /* fed, not yet delivered */
    size_t heard_len, heard_pos, per_read;
    int16_t *played;
    size_t played_len;
    int played_rate, play_count, playing, volume;
};

static void wipe_free(void *p, size_t bytes)
{
    if (!p)
        return;
    volatile unsigned char *v = p;
    for (size_t i = 0; i < bytes; i++)
        v[i] = 0;
    free(p);
}

static void drop_heard(struct audio_fake *f)
{
    wipe_free(f->heard, f->heard_len * sizeof *f->heard);
    f->heard = NULL;
    f->heard_len = f->heard_pos = 0;
}

static int fake_capture_start(void *ctx, char *err, size_t errlen)
{
    struct audio_fake *f = ctx;
    if (!f->mic) {
        snprintf(err, errlen, "%s", AUDIO_NO_MICROPHONE);
        return -1;
    }
    if (!f->capturing)
        f->opens++;
    f->capturing = 1;
    f->cap_opened_on = f->cap_route;
    return 0;
}

static void fake_capture_stop(void *ctx)
{
    struct audio_fake *f = ctx;
    if (f->capturing)
        f->closes++;
    f->capturing = 0;
}

static int fake_set_route(void *ctx, int playback, int capture, char *err, size_t errlen)
{
    struct audio_fake *f = ctx;
    if ((playback == AUDIO_ROUTE_HANDSET || capture == AUDIO_ROUTE_HANDSET) && !f->handset) {
        snprintf(err, errlen, "the handset's sound card is not plugged in");
        return -1;
    }
    if (playback != f->play_route)
        f->playing = 0; /* cut: nothing goes on where it was */
    f->play_route = playback == AUDIO_ROUTE_HANDSET;
    if (capture != f->cap_route && f->capturing) {
        /* As the real port: the old microphone closes, the new one opens. */
        f->closes++;
        f->opens++;
        f->cap_opened_on = capture == AUDIO_ROUTE_HANDSET;
    }
    f->cap_route = capture == AUDIO_ROUTE_HANDSET;
    return 0;
}

static size_t fake_capture_read(void *ctx, int16_t *pcm, size_t max)
{
    struct audio_fake *f = ctx;
    if (!f->capturing || !f->mic)
        return 0;
    size_t n = f->heard_len - f->heard_pos;
    if (n > max)
        n = max;
    if (f->per_read && n > f->per_read)
        n = f->per_read;
    if (n == 0)
        return 0;
    memcpy(pcm, f->heard + f->heard_pos, n * sizeof *pcm);
    f->heard_pos += n;
    if (f->heard_pos == f->heard_len)
        drop_heard(f);
    return n;
}

static uint64_t fake_capture_dropped(void *ctx)
{
    (void)ctx;
    return 0;
}

static int fake_play(void *ctx, const int16_t *pcm, size_t samples, int rate)
{
    struct audio_fake *f = ctx;
    if (!f->speaker || !pcm || rate < 8000 || rate > AUDIO_PLAYBACK_RATE)
        return -1;
    int16_t *copy = malloc(samples ? samples * sizeof *copy : 1);
    if (!copy)
        return -1;
    memcpy(copy, pcm, samples * sizeof *copy);
    wipe_free(f->played, f->played_len * sizeof *f->played);
    f->played = copy;
    f->played_len = samples;
    f->played_rate = rate;
    f->play_count++;
    f->on_route[f->play_route]++;
    f->playing = 1;
    return 0;
}

static void fake_stop_playback(void *ctx)
{
    struct audio_fake *f = ctx;
    f->playing = 0;
}

static int fake_playing(void *ctx)
{
    struct audio_fake *f = ctx;
    return f->playing;
}

static void fake_set_volume(void *ctx, int percent)
{
    struct audio_fake *f = ctx;
    f->volume = percent < 0 ? 0 : percent > 100 ? 100 : percent;
}

static int fake_has_microphone(void *ctx)
{
    struct audio_fake *f = ctx;
    return f->mic;
}

static void fake_close(void *ctx)
{
    struct audio_fake *f = ctx;
    if (!f)
        return;
    drop_heard(f);
    wipe_free(f->played, f->played_len * sizeof *f->played);
    free(f);
}

struct audio_fake *audio_fake_open(struct audio_port *port)
{
    struct audio_fake *f = calloc(1, sizeof *f);
    if (!f)
        return NULL;
    f->mic = f->speaker = 1;
    f->volume = 100;
    *port = (struct audio_port){
        .capture_start = fake_capture_start,
        .capture_stop = fake_capture_stop,
        .capture_read = fake_capture_read,
        .capture_dropped = fake_capture_dropped,
        .play = fake_play,
        /* Instant playback: "after what is playing" is the same as now. */
        .play_next = fake_play,
        .stop_playback = fake_stop_playback,
        .playing = fake_playing,
        .set_volume = fake_set_volume,
        .has_microphone = fake_has_microphone,
        .set_route = fake_set_route,
        .close = fake_close,
        .ctx = f,
    };
    return f;
}

void audio_fake_set_microphone(struct audio_fake *f, int present)
{
    f->mic = present != 0;
    if (!f->mic && f->capturing) {
        f->capturing = 0;
        f->closes++;
    }
}

void audio_fake_set_handset(struct audio_fake *f, int present)
{
    f->handset = present != 0;
}

int audio_fake_play_count_on(const struct audio_fake *f, int route)
{
    return route == AUDIO_ROUTE_HANDSET ? f->on_route[1] : f->on_route[0];
}

int audio_fake_route(const struct audio_fake *f, int *capture_route)
{
    if (capture_route)
        *capture_route = f->cap_route;
    return f->play_route;
}

int audio_fake_capture_opens(const struct audio_fake *f, int *closes, int *route)
{
    if (closes)
        *closes = f->closes;
    if (route)
        *route = f->cap_opened_on;
    return f->opens;
}

void audio_fake_set_speaker(struct audio_fake *f, int present)
{
    f->speaker = present != 0;
    if (!f->speaker)
        f->playing = 0;
}

int audio_fake_feed(struct audio_fake *f, const int16_t *pcm, size_t n, size_t per_read)
{
    size_t left = f->heard_len - f->heard_pos;
    if (n > SIZE_MAX / sizeof *pcm - left)
        return -1;
    int16_t *b = malloc((left + n) * sizeof *b + 1);
    if (!b)
        return -1;
    if (left)
        memcpy(b, f->heard + f->heard_pos, left * sizeof *b);
    if (n)
        memcpy(b + left, pcm, n * sizeof *b);
    drop_heard(f);
    f->heard = b;
    f->heard_len = left + n;
    f->per_read = per_read;
    return 0;
}

int audio_fake_capturing(const struct audio_fake *f)
{
    return f->capturing;
}

const int16_t *audio_fake_played(const struct audio_fake *f, size_t *samples, int *rate)
{
    if (samples)
        *samples = f->played_len;
    if (rate)
        *rate = f->played_rate;
    return f->played;
}

int audio_fake_play_count(const struct audio_fake *f)
{
    return f->play_count;
}

void audio_fake_end_playback(struct audio_fake *f)
{
    f->playing = 0;
}

int audio_fake_volume(const struct audio_fake *f)
{
    return f->volume;
}
