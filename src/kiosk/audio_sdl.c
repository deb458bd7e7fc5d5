/*
 * audio_sdl — the audio port on SDL2: the USB microphone and the speaker.
 *
 * Capture: a device opened at 16 kHz mono s16 with allowed_changes = 0, so
 * SDL converts from whatever the hardware gives. SDL's capture thread calls
 * capture_cb(), which appends to a ring buffer under `lock`; the kiosk's
 * loop drains it with capture_read(). The device is open only while
 * capturing: SDL keeps a paused capture device running (its thread reads
 * and throws away; PulseAudio shows the microphone in use), so a kiosk
 * that kept it open would be listening to the waiting room.
 * has_microphone() answers from a probe (open, close) made at start and
 * again only when the answer may have changed.
 *
 * Playback: a device at 48 kHz mono s16, fed by play_cb() from our own
 * buffer rather than SDL_QueueAudio(): volume then applies at once, and we
 * can zero every sample as soon as it has been played (SDL's queue frees
 * its packets without zeroing them and keeps a few for reuse).
 *
 * The handset: a USB sound card found by a part of its name. set_route()
 * closes the room's device and opens the handset's (or back); a missing
 * handset never falls back to the room's speaker for playback, as the
 * room must not hear what the earpiece would have said.
 *
 * What SDL holds itself (a device period of conversion buffers, a few tens
 * of milliseconds) we cannot zero; it is freed with the device and glibc's
 * M_PERTURB wipes it (docs/audio.md).
 */
#include "kiosk/audio.h"

#include <SDL.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CAPTURE_PERIOD 512     /* samples: 32 ms, the meter's granularity */
#define PLAYBACK_PERIOD 1024   /* samples: 21 ms at 48 kHz */
#define PROBE_INTERVAL_MS 2000 /* how often has_microphone() looks again */
#define MAX_PLAY_SECONDS 600   /* longer than any prompt or recording */
#define CONVERT_CHUNK 4096     /* samples put through SDL's resampler at once */

struct sdl_audio {
    SDL_mutex *lock; /* guards the ring and the playback buffer */

    char *handset; /* a part of the handset's device name; NULL = no handset */

    /* capture */
    char *cap_name; /* from the config; NULL = default */
    int cap_route;  /* enum audio_route */
    SDL_AudioDeviceID cap; /* open only while capturing */
    /* has_microphone()'s answer per route, when it was found, and SDL's
       count of capture devices then (a change means plugged or pulled). */
    struct mic_seen {
        int probed, present, devices;
        uint32_t at;
    } mic[2];
    char mic_used[128]; /* the last microphone logged */
    int capturing;
    int16_t *ring;
    size_t ring_cap, ring_head, ring_count; /* head: oldest sample */
    uint64_t dropped;

    /* playback */
    char *play_name;
    int play_route;
    SDL_AudioDeviceID out;
    uint32_t last_out_probe;
    int16_t *buf; /* 48 kHz, consumed samples already zeroed */
    size_t buf_len, buf_pos;
    int volume;
};

static void zero_free(void *p, size_t bytes)
{
    if (!p)
        return;
    /* volatile: the compiler may not drop a memset before free(). */
    volatile unsigned char *v = p;
    for (size_t i = 0; i < bytes; i++)
        v[i] = 0;
    free(p);
}

static void zero(void *p, size_t bytes)
{
    volatile unsigned char *v = p;
    for (size_t i = 0; i < bytes; i++)
        v[i] = 0;
}

/* ---- capture ---- */

/* Under lock. Drops the oldest samples when the reader fell behind. */
static void ring_put(struct sdl_audio *a, const int16_t *s, size_t n)
{
    if (n > a->ring_cap) {
        a->dropped += n - a->ring_cap;
        s += n - a->ring_cap;
        n = a->ring_cap;
    }
    if (a->ring_count + n > a->ring_cap) {
        size_t over = a->ring_count + n - a->ring_cap;
        a->ring_head = (a->ring_head + over) % a->ring_cap;
        a->ring_count -= over;
        a->dropped += over;
    }
    size_t tail = (a->ring_head + a->ring_count) % a->ring_cap;
    size_t first = a->ring_cap - tail < n ? a->ring_cap - tail : n;
    memcpy(a->ring + tail, s, first * sizeof *s);
    memcpy(a->ring, s + first, (n - first) * sizeof *s);
    a->ring_count += n;
}

static void capture_cb(void *ud, Uint8 *stream, int len)
{
    struct sdl_audio *a = ud;
    SDL_LockMutex(a->lock);
    if (a->capturing)
        ring_put(a, (const int16_t *)(void *)stream, (size_t)len / sizeof(int16_t));
    SDL_UnlockMutex(a->lock);
    /* SDL reuses this buffer; it need not keep the voice until then. */
    memset(stream, 0, (size_t)len);
}

static SDL_AudioDeviceID try_capture(struct sdl_audio *a, const char *name)
{
    SDL_AudioSpec want, have;
    SDL_zero(want);
    want.freq = AUDIO_CAPTURE_RATE;
    want.format = AUDIO_S16SYS;
    want.channels = 1;
    want.samples = CAPTURE_PERIOD;
    want.callback = capture_cb;
    want.userdata = a;
    /* allowed_changes 0: SDL converts to exactly what we asked for. */
    return SDL_OpenAudioDevice(name, 1, &want, &have, 0);
}

/* ASCII case-insensitive strstr: device names are what ALSA or PulseAudio
   made of the card's USB descriptor, and a technician types what they see. */
static int name_has(const char *name, const char *part)
{
    size_t n = strlen(part);
    for (; *name; name++)
        if (SDL_strncasecmp(name, part, n) == 0)
            return 1;
    return 0;
}

/* The handset's device name as SDL lists it, or NULL. PulseAudio lists each
   output again as a capture device, "Monitor of ...": not a microphone. */
static const char *find_handset(struct sdl_audio *a, int iscapture)
{
    if (!a->handset)
        return NULL;
    for (int i = 0, n = SDL_GetNumAudioDevices(iscapture); i < n; i++) {
        const char *name = SDL_GetAudioDeviceName(i, iscapture);
        if (name && name_has(name, a->handset) && strncmp(name, "Monitor of ", 11) != 0)
            return name;
    }
    return NULL;
}

static void log_microphone(struct sdl_audio *a, const char *used, const char *why)
{
    char now[sizeof a->mic_used];
    snprintf(now, sizeof now, "%s", used ? used : "");
    if (a->mic[0].probed + a->mic[1].probed && strcmp(now, a->mic_used) == 0)
        return;
    snprintf(a->mic_used, sizeof a->mic_used, "%s", now);
    if (used)
        fprintf(stderr, "audio: microphone: %s\n", used);
    else
        fprintf(stderr, "audio: %s (%s)\n", AUDIO_NO_MICROPHONE, why);
}

/*
 * Open the capture route's microphone. The handset's, when routed there;
 * else (or when it fails) the configured device, else the default, else
 * any capture device: on the Pi the ALSA default is often the board's
 * output-only card while the USB microphone is another card. Logs only
 * when the outcome changes.
 */
static SDL_AudioDeviceID open_capture(struct sdl_audio *a)
{
    char why[256] = "";
    const char *used = NULL;
    SDL_AudioDeviceID id = 0;
    const char *hs = a->cap_route == AUDIO_ROUTE_HANDSET ? find_handset(a, 1) : NULL;
    if (hs && (id = try_capture(a, hs)) != 0)
        used = hs;
    if (!id && a->cap_name && (id = try_capture(a, a->cap_name)) != 0)
        used = a->cap_name;
    if (!id) {
        if (a->cap_name)
            snprintf(why, sizeof why, "%s: %s; ", a->cap_name, SDL_GetError());
        if ((id = try_capture(a, NULL)) != 0) {
            used = "default";
        } else {
            size_t l = strlen(why);
            snprintf(why + l, sizeof why - l, "default: %s", SDL_GetError());
        }
    }
    for (int i = 0, n = SDL_GetNumAudioDevices(1); !id && i < n; i++) {
        const char *name = SDL_GetAudioDeviceName(i, 1);
        if (!name || (a->cap_name && strcmp(name, a->cap_name) == 0))
            continue;
        if ((id = try_capture(a, name)) != 0)
            used = name;
    }
    log_microphone(a, used, why);
    return id;
}

/* Remember whether the route has a microphone, as found just now. */
static void note_microphone(struct sdl_audio *a, int present)
{
    struct mic_seen *m = &a->mic[a->cap_route];
    m->probed = 1;
    m->present = present;
    m->devices = SDL_GetNumAudioDevices(1);
    m->at = SDL_GetTicks();
}

/* Is there a microphone? Opened and closed at once: the device is not
   left listening. */
static void probe_microphone(struct sdl_audio *a)
{
    SDL_AudioDeviceID id = open_capture(a);
    if (id)
        SDL_CloseAudioDevice(id);
    note_microphone(a, id != 0);
}

static void zero_ring(struct sdl_audio *a)
{
    SDL_LockMutex(a->lock);
    a->capturing = 0;
    zero(a->ring, a->ring_cap * sizeof *a->ring);
    a->ring_head = a->ring_count = 0;
    SDL_UnlockMutex(a->lock);
}

/* SDL marks an unplugged device disabled: its status becomes STOPPED (an
   open device is otherwise PAUSED or PLAYING). Close it so that a new
   probe can find it, or another, when it is plugged in again. */
static void forget_lost_microphone(struct sdl_audio *a)
{
    if (!a->cap || SDL_GetAudioDeviceStatus(a->cap) != SDL_AUDIO_STOPPED)
        return;
    SDL_CloseAudioDevice(a->cap);
    a->cap = 0;
    note_microphone(a, 0);
    log_microphone(a, NULL, "it was unplugged");
    zero_ring(a);
}

static int sdl_capture_start(void *ctx, char *err, size_t errlen)
{
    struct sdl_audio *a = ctx;
    forget_lost_microphone(a);
    if (!a->cap) {
        a->cap = open_capture(a);
        note_microphone(a, a->cap != 0);
    }
    if (!a->cap) {
        snprintf(err, errlen, "%s", AUDIO_NO_MICROPHONE);
        return -1;
    }
    SDL_LockMutex(a->lock);
    zero(a->ring, a->ring_cap * sizeof *a->ring);
    a->ring_head = a->ring_count = 0;
    a->dropped = 0;
    a->capturing = 1;
    SDL_UnlockMutex(a->lock);
    SDL_PauseAudioDevice(a->cap, 0);
    return 0;
}

static void sdl_capture_stop(void *ctx)
{
    struct sdl_audio *a = ctx;
    /* Closing waits for SDL's capture thread: no callback runs after. */
    if (a->cap)
        SDL_CloseAudioDevice(a->cap);
    a->cap = 0;
    zero_ring(a);
}

static size_t sdl_capture_read(void *ctx, int16_t *pcm, size_t max)
{
    struct sdl_audio *a = ctx;
    SDL_LockMutex(a->lock);
    size_t n = a->ring_count < max ? a->ring_count : max;
    if (n == 0) {
        SDL_UnlockMutex(a->lock);
        return 0;
    }
    size_t first = a->ring_cap - a->ring_head < n ? a->ring_cap - a->ring_head : n;
    memcpy(pcm, a->ring + a->ring_head, first * sizeof *pcm);
    memcpy(pcm + first, a->ring, (n - first) * sizeof *pcm);
    /* The caller has it now: the ring need not keep the voice. */
    zero(a->ring + a->ring_head, first * sizeof *pcm);
    zero(a->ring, (n - first) * sizeof *pcm);
    a->ring_head = (a->ring_head + n) % a->ring_cap;
    a->ring_count -= n;
    SDL_UnlockMutex(a->lock);
    return n;
}

static uint64_t sdl_capture_dropped(void *ctx)
{
    struct sdl_audio *a = ctx;
    SDL_LockMutex(a->lock);
    uint64_t d = a->dropped;
    SDL_UnlockMutex(a->lock);
    return d;
}

static int sdl_has_microphone(void *ctx)
{
    struct sdl_audio *a = ctx;
    forget_lost_microphone(a);
    if (a->cap)
        return 1; /* capturing: no second open of the same device */
    const struct mic_seen *m = &a->mic[a->cap_route];
    if (!m->probed || (m->present ? SDL_GetNumAudioDevices(1) != m->devices
                                  : SDL_GetTicks() - m->at >= PROBE_INTERVAL_MS))
        probe_microphone(a);
    return m->present;
}

/* ---- playback ---- */

static void play_cb(void *ud, Uint8 *stream, int len)
{
    struct sdl_audio *a = ud;
    size_t want = (size_t)len / sizeof(int16_t);
    int16_t chunk[PLAYBACK_PERIOD];
    size_t done = 0;
    SDL_LockMutex(a->lock);
    while (done < want && a->buf_pos < a->buf_len) {
        size_t n = want - done;
        if (n > PLAYBACK_PERIOD)
            n = PLAYBACK_PERIOD;
        if (n > a->buf_len - a->buf_pos)
            n = a->buf_len - a->buf_pos;
        const int16_t *src = a->buf + a->buf_pos;
        for (size_t i = 0; i < n; i++)
            chunk[i] = (int16_t)((int32_t)src[i] * a->volume / 100);
        zero(a->buf + a->buf_pos, n * sizeof *a->buf);
        a->buf_pos += n;
        memcpy(stream + done * sizeof(int16_t), chunk, n * sizeof(int16_t));
        done += n;
    }
    SDL_UnlockMutex(a->lock);
    memset(stream + done * sizeof(int16_t), 0, (want - done) * sizeof(int16_t));
    zero(chunk, sizeof chunk);
}

static SDL_AudioDeviceID try_playback(struct sdl_audio *a, const char *name)
{
    SDL_AudioSpec want, have;
    SDL_zero(want);
    want.freq = AUDIO_PLAYBACK_RATE;
    want.format = AUDIO_S16SYS;
    want.channels = 1;
    want.samples = PLAYBACK_PERIOD;
    want.callback = play_cb;
    want.userdata = a;
    return SDL_OpenAudioDevice(name, 0, &want, &have, 0);
}

static void open_playback(struct sdl_audio *a)
{
    a->last_out_probe = SDL_GetTicks();
    if (a->play_route == AUDIO_ROUTE_HANDSET) {
        /* Never the room's speaker instead: the room must not hear it. */
        const char *hs = find_handset(a, 0);
        if (hs && (a->out = try_playback(a, hs)) != 0)
            fprintf(stderr, "audio: playing to the handset: %s\n", hs);
        else
            fprintf(stderr, "audio: the handset's earpiece (\"%s\"): %s\n", a->handset,
                    hs ? SDL_GetError() : "not found");
        return;
    }
    if (a->play_name && (a->out = try_playback(a, a->play_name)) != 0)
        return;
    if (a->play_name)
        fprintf(stderr, "audio: speaker %s: %s; trying the default\n", a->play_name,
                SDL_GetError());
    if ((a->out = try_playback(a, NULL)) == 0)
        fprintf(stderr, "audio: %s (%s)\n", AUDIO_NO_SPEAKER, SDL_GetError());
}

/*
 * Resample to 48 kHz through SDL, a chunk at a time so that SDL never
 * holds more than a chunk of the voice. Returns a malloc'd buffer of
 * exactly n * 48000 / rate samples. SDL 2.26's stream keeps back the last
 * 512 input samples even when flushed (measured: 1 s at 16 kHz gave
 * 46464 samples, the end of the last word cut), so silence goes in after
 * the sound and the output is cut to the exact length.
 */
static int16_t *to_playback_rate(const int16_t *pcm, size_t n, int rate, size_t *out_n)
{
    size_t want =
        (size_t)(((uint64_t)n * AUDIO_PLAYBACK_RATE + (uint64_t)rate / 2) / (uint64_t)rate);
    size_t cap = want + 2 * CONVERT_CHUNK;
    int16_t *out = malloc(cap * sizeof *out);
    if (!out)
        return NULL;
    if (rate == AUDIO_PLAYBACK_RATE) {
        memcpy(out, pcm, n * sizeof *pcm);
        *out_n = n;
        return out;
    }
    SDL_AudioStream *s =
        SDL_NewAudioStream(AUDIO_S16SYS, 1, rate, AUDIO_S16SYS, 1, AUDIO_PLAYBACK_RATE);
    if (!s) {
        free(out);
        return NULL;
    }
    static const int16_t pad[CONVERT_CHUNK / 4];
    size_t got = 0, i = 0;
    int ok = 1;
    for (;;) {
        int last = i >= n;
        if (!last) {
            size_t c = n - i < CONVERT_CHUNK ? n - i : CONVERT_CHUNK;
            ok = SDL_AudioStreamPut(s, pcm + i, (int)(c * sizeof *pcm)) == 0;
            i += c;
        } else {
            ok = SDL_AudioStreamPut(s, pad, (int)sizeof pad) == 0 && SDL_AudioStreamFlush(s) == 0;
        }
        int avail;
        while (ok && got < want && (avail = SDL_AudioStreamAvailable(s)) > 0) {
            size_t room = (cap - got) * sizeof *out;
            int r = SDL_AudioStreamGet(s, out + got,
                                       (int)((size_t)avail < room ? (size_t)avail : room));
            if (r <= 0)
                break;
            got += (size_t)r / sizeof *out;
        }
        if (!ok || last || got >= want)
            break;
    }
    SDL_FreeAudioStream(s); /* freed, not zeroed: see the top of the file */
    if (!ok || got < want) {
        zero_free(out, cap * sizeof *out);
        return NULL;
    }
    /* Past `want`: the padding, with the filter's echo of the last words. */
    zero(out + want, (got - want) * sizeof *out);
    *out_n = want;
    return out;
}

static void drop_playback(struct sdl_audio *a)
{
    SDL_LockMutex(a->lock);
    int16_t *old = a->buf;
    size_t old_len = a->buf_len;
    a->buf = NULL;
    a->buf_len = a->buf_pos = 0;
    SDL_UnlockMutex(a->lock);
    zero_free(old, old_len * sizeof *old);
}

/* An unplugged speaker would never consume the buffer: playing() would say
   1 for ever and the UI would wait for a prompt that never ends. */
static void forget_lost_speaker(struct sdl_audio *a)
{
    if (!a->out || SDL_GetAudioDeviceStatus(a->out) != SDL_AUDIO_STOPPED)
        return;
    SDL_CloseAudioDevice(a->out);
    a->out = 0;
    fprintf(stderr, "audio: the speaker was unplugged\n");
    drop_playback(a);
}

static int play_common(struct sdl_audio *a, const int16_t *pcm, size_t samples, int rate,
                       int append)
{
    if (rate < 8000 || rate > AUDIO_PLAYBACK_RATE || !pcm ||
        samples > (size_t)rate * MAX_PLAY_SECONDS)
        return -1;
    forget_lost_speaker(a);
    if (!a->out && SDL_GetTicks() - a->last_out_probe >= PROBE_INTERVAL_MS)
        open_playback(a);
    if (!a->out)
        return -1;
    size_t n = 0;
    int16_t *conv = to_playback_rate(pcm, samples, rate, &n);
    if (!conv)
        return -1;
    int16_t *old = NULL;
    size_t old_len = 0;
    SDL_LockMutex(a->lock);
    size_t left = a->buf_len - a->buf_pos;
    if (append && left > 0) {
        int16_t *joined = malloc((left + n) * sizeof *joined);
        if (!joined) {
            SDL_UnlockMutex(a->lock);
            zero_free(conv, n * sizeof *conv);
            return -1;
        }
        memcpy(joined, a->buf + a->buf_pos, left * sizeof *joined);
        memcpy(joined + left, conv, n * sizeof *conv);
        zero_free(conv, n * sizeof *conv);
        conv = joined;
        n += left;
    }
    old = a->buf;
    old_len = a->buf_len;
    a->buf = conv;
    a->buf_len = n;
    a->buf_pos = 0;
    SDL_UnlockMutex(a->lock);
    zero_free(old, old_len * sizeof *old);
    SDL_PauseAudioDevice(a->out, 0);
    return 0;
}

static int sdl_play(void *ctx, const int16_t *pcm, size_t samples, int rate)
{
    return play_common(ctx, pcm, samples, rate, 0);
}

static int sdl_play_next(void *ctx, const int16_t *pcm, size_t samples, int rate)
{
    return play_common(ctx, pcm, samples, rate, 1);
}

static void sdl_stop_playback(void *ctx)
{
    struct sdl_audio *a = ctx;
    if (a->out)
        SDL_PauseAudioDevice(a->out, 1);
    drop_playback(a);
}

static int sdl_playing(void *ctx)
{
    struct sdl_audio *a = ctx;
    forget_lost_speaker(a);
    SDL_LockMutex(a->lock);
    int left = a->buf_pos < a->buf_len;
    SDL_UnlockMutex(a->lock);
    /* Done: free the (already zeroed) buffer and stop the callback. A
       paused SDL device plays silence itself, so what the callback last
       gave still reaches the speaker. */
    if (!left && a->buf)
        sdl_stop_playback(a);
    return left;
}

static int sdl_set_route(void *ctx, int playback, int capture, char *err, size_t errlen)
{
    struct sdl_audio *a = ctx;
    int rc = 0;
    playback = playback == AUDIO_ROUTE_HANDSET ? AUDIO_ROUTE_HANDSET : AUDIO_ROUTE_ROOM;
    capture = capture == AUDIO_ROUTE_HANDSET ? AUDIO_ROUTE_HANDSET : AUDIO_ROUTE_ROOM;
    if (errlen)
        err[0] = 0;
    if (capture != a->cap_route) {
        if (capture == AUDIO_ROUTE_HANDSET && !find_handset(a, 1)) {
            snprintf(err, errlen, "no handset microphone named like \"%s\" (handset_device)",
                     a->handset ? a->handset : "");
            rc = -1;
        } else {
            a->cap_route = capture;
            if (a->cap) { /* recording: go on from the other microphone */
                SDL_CloseAudioDevice(a->cap);
                a->cap = open_capture(a);
                note_microphone(a, a->cap != 0);
                if (a->cap)
                    SDL_PauseAudioDevice(a->cap, 0);
                else
                    zero_ring(a);
            }
        }
    }
    if (playback != a->play_route) {
        if (playback == AUDIO_ROUTE_HANDSET && !find_handset(a, 0)) {
            size_t l = errlen ? strlen(err) : 0;
            snprintf(err + l, errlen - l, "%sno handset earpiece named like \"%s\" (handset_device)",
                     l ? "; " : "", a->handset ? a->handset : "");
            rc = -1;
        } else {
            sdl_stop_playback(a);
            if (a->out)
                SDL_CloseAudioDevice(a->out);
            a->out = 0;
            a->play_route = playback;
            open_playback(a);
        }
    }
    return rc;
}

static void sdl_set_volume(void *ctx, int percent)
{
    struct sdl_audio *a = ctx;
    SDL_LockMutex(a->lock);
    a->volume = percent < 0 ? 0 : percent > 100 ? 100 : percent;
    SDL_UnlockMutex(a->lock);
}

static void sdl_close(void *ctx)
{
    struct sdl_audio *a = ctx;
    if (!a)
        return;
    if (a->cap)
        SDL_CloseAudioDevice(a->cap); /* waits for the device thread */
    if (a->out)
        SDL_CloseAudioDevice(a->out);
    zero_free(a->ring, a->ring_cap * sizeof *a->ring);
    zero_free(a->buf, a->buf_len * sizeof *a->buf);
    if (a->lock)
        SDL_DestroyMutex(a->lock);
    free(a->cap_name);
    free(a->play_name);
    free(a->handset);
    zero_free(a, sizeof *a);
    SDL_QuitSubSystem(SDL_INIT_AUDIO);
}

static void list_devices(void)
{
    for (int iscap = 0; iscap < 2; iscap++) {
        int n = SDL_GetNumAudioDevices(iscap);
        fprintf(stderr, "audio: %d %s device(s)%s", n < 0 ? 0 : n, iscap ? "capture" : "playback",
                n > 0 ? ":" : "");
        for (int i = 0; i < n; i++) {
            const char *name = SDL_GetAudioDeviceName(i, iscap);
            fprintf(stderr, " \"%s\"", name ? name : "?");
        }
        fputc('\n', stderr);
    }
}

int audio_sdl_open(struct audio_port *port, const struct audio_sdl_opts *o, char *err,
                   size_t errlen)
{
    struct sdl_audio *a = NULL;
    int secs = o && o->ring_seconds > 0 ? o->ring_seconds : 4;
    if (!port || secs > 600) {
        snprintf(err, errlen, "audio: bad arguments");
        return -1;
    }
    if (SDL_InitSubSystem(SDL_INIT_AUDIO) != 0) {
        snprintf(err, errlen,
                 "no sound system (SDL: %s): the kiosk stays silent and takes "
                 "text tips; check the audio driver (see README)",
                 SDL_GetError());
        return -1;
    }
    a = calloc(1, sizeof *a);
    if (!a)
        goto nomem;
    a->volume = 100;
    a->lock = SDL_CreateMutex();
    a->ring_cap = (size_t)secs * AUDIO_CAPTURE_RATE;
    a->ring = calloc(a->ring_cap, sizeof *a->ring);
    if (o && o->capture_device && *o->capture_device && !(a->cap_name = strdup(o->capture_device)))
        goto nomem;
    if (o && o->playback_device && *o->playback_device &&
        !(a->play_name = strdup(o->playback_device)))
        goto nomem;
    if (o && o->handset_device && *o->handset_device && !(a->handset = strdup(o->handset_device)))
        goto nomem;
    if (!a->lock || !a->ring)
        goto nomem;
    list_devices();
    probe_microphone(a);
    open_playback(a);
    *port = (struct audio_port){
        .capture_start = sdl_capture_start,
        .capture_stop = sdl_capture_stop,
        .capture_read = sdl_capture_read,
        .capture_dropped = sdl_capture_dropped,
        .play = sdl_play,
        .play_next = sdl_play_next,
        .stop_playback = sdl_stop_playback,
        .playing = sdl_playing,
        .set_volume = sdl_set_volume,
        .has_microphone = sdl_has_microphone,
        .set_route = a->handset ? sdl_set_route : NULL,
        .close = sdl_close,
        .ctx = a,
    };
    return 0;

nomem:
    snprintf(err, errlen, "audio: out of memory");
    if (a) {
        /* sdl_close() also quits the subsystem we initialised. */
        sdl_close(a);
    } else {
        SDL_QuitSubSystem(SDL_INIT_AUDIO);
    }
    return -1;
}
