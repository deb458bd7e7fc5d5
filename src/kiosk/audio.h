/*
 * audio — the kiosk's microphone and speaker, behind a port.
 *
 * The UI core and the tip flow never call SDL: they call the function
 * pointers of a struct audio_port. Two implementations: audio_sdl.c (the
 * real devices through SDL2) and audio_fake.c (scripted capture, recorded
 * playback, for tests and for a kiosk whose sound system failed entirely).
 * audio_level() turns captured PCM into the 0..100 level meter.
 *
 * Capture is always 16 kHz mono signed 16-bit (CAPTURE_RATE, what
 * capture.h encodes). Playback takes mono s16 at 48, 24, 16, 12 or 8 kHz
 * (the prompts decode at 48 kHz, the person's recording is 16 kHz).
 *
 * The microphone is open only while capturing (between capture_start()
 * and capture_stop()): an idle kiosk cannot hear the room, and a USB
 * microphone's light, where it has one, says so (docs/audio.md).
 *
 * Routing: a kiosk with a telephone handset (a USB sound card of its own)
 * sends prompts and playback to its earpiece only, and records from its
 * microphone while it is lifted: set_route() moves playback and capture
 * between the room's devices and the handset's.
 *
 * A missing microphone is not an error of the port: has_microphone() says
 * 0 and capture_start() fails with AUDIO_NO_MICROPHONE as its message; the
 * kiosk goes on offering text tips. Likewise a missing speaker: play()
 * fails, the kiosk stays silent and goes on.
 *
 * Not here: encoding (capture.h), prompts (prompts.h), what to say when.
 *
 * Errors: functions return 0 or -1; where a person will read the reason it
 * goes to `err`. Every buffer that held captured or played PCM is zeroed
 * before it is reused or freed (it may hold a person's voice).
 */
#ifndef HOMTHU_AUDIO_H
#define HOMTHU_AUDIO_H

#include <stddef.h>
#include <stdint.h>

#define AUDIO_CAPTURE_RATE 16000
#define AUDIO_PLAYBACK_RATE 48000
#define AUDIO_NO_MICROPHONE "no microphone found: plug in the USB microphone (see README)"
#define AUDIO_NO_SPEAKER "no speaker found: plug in the speaker or headset (see README)"

enum audio_route {
    AUDIO_ROUTE_ROOM = 0,    /* the kiosk's speaker and its microphone */
    AUDIO_ROUTE_HANDSET = 1, /* the telephone handset's earpiece and microphone */
};

/*
 * All calls come from one thread (the kiosk's loop); an implementation
 * protects what it shares with its own device threads. None blocks for
 * longer than a device open.
 */
struct audio_port {
    /* Open the microphone of the capture route and start capturing,
       dropping anything captured before. 0, or -1 with AUDIO_NO_MICROPHONE
       (or another reason) in err. */
    int (*capture_start)(void *ctx, char *err, size_t errlen);
    /* Stop capturing, close the microphone and zero what was captured but
       not read. */
    void (*capture_stop)(void *ctx);
    /* Move up to `max` samples captured since the last call into `pcm`,
       oldest first; returns how many. 0 when nothing is new or not capturing. */
    size_t (*capture_read)(void *ctx, int16_t *pcm, size_t max);
    /* Samples lost because capture_read() was not called often enough
       (the oldest are dropped), since capture_start(). */
    uint64_t (*capture_dropped)(void *ctx);
    /* Play `samples` mono samples at `rate`, cutting what is playing.
       The PCM is copied. 0, or -1 (no speaker, bad rate, no memory). */
    int (*play)(void *ctx, const int16_t *pcm, size_t samples, int rate);
    /* The same, but after what is already playing (prompts in a row). */
    int (*play_next)(void *ctx, const int16_t *pcm, size_t samples, int rate);
    /* Cut playback and zero what was queued. */
    void (*stop_playback)(void *ctx);
    /* 1 while queued sound remains to be played. */
    int (*playing)(void *ctx);
    /* 0..100, applied at once, also to what is playing. */
    void (*set_volume)(void *ctx, int percent);
    /* 1 when a microphone is usable now. Cheap to call every frame: the
       answer is remembered, and looked for again (opening the device for a
       moment and closing it) only when none was found, at most every couple
       of seconds, or when the system's list of devices changed. */
    int (*has_microphone)(void *ctx);
    /*
     * Where playback goes and capture comes from, each an enum audio_route.
     * Moving playback cuts what is playing (no prompt goes on in the room);
     * moving capture while capturing goes on from the other microphone.
     * 0, or -1 when the handset's device is not there (err says which):
     * that part stays where it was. NULL when the port has no handset.
     */
    int (*set_route)(void *ctx, int playback, int capture, char *err, size_t errlen);
    /* Stop everything, zero and free. The port is unusable after. */
    void (*close)(void *ctx);
    void *ctx;
};

/* Open the real devices through SDL2 (audio_sdl.c). */
struct audio_sdl_opts {
    /* Device names as SDL lists them (SDL_GetAudioDeviceName; the kiosk's
       log lists them at start), from the config. NULL or "" = the system
       default; when a microphone cannot be opened so, every other capture
       device is tried: a USB microphone plugged anywhere is found. */
    const char *capture_device;
    const char *playback_device;
    /* A part of the handset's device name (any case), for both its
       earpiece and its microphone; NULL or "": no handset (set_route NULL). */
    const char *handset_device;
    int ring_seconds; /* capture kept unread before the oldest is dropped; 0 = 4 */
};

/*
 * Initialise SDL's audio subsystem (SDL_InitSubSystem: the caller may or
 * may not have called SDL_Init) and open the devices. A missing microphone
 * or speaker is not a failure (see above; the reason is logged to stderr).
 * Fails only when SDL has no audio at all or memory runs out; the kiosk may
 * then use audio_fake_open() as a silent port. On success *port is filled;
 * port->close() releases it and quits the subsystem.
 */
int audio_sdl_open(struct audio_port *port, const struct audio_sdl_opts *o, char *err,
                   size_t errlen) __attribute__((warn_unused_result));

/* The fake (audio_fake.c): opens with a microphone and a speaker. */
struct audio_fake;

/* Fill *port; returns the fake's handle for scripting, or NULL on no memory.
   The handle belongs to the port: port->close() frees it. */
struct audio_fake *audio_fake_open(struct audio_port *port);
/* Plug or unplug the microphone. Unplugging while capturing stops delivery. */
void audio_fake_set_microphone(struct audio_fake *f, int present);
/* Plug or unplug the speaker: without one, play() fails. */
void audio_fake_set_speaker(struct audio_fake *f, int present);
/* What the microphone "hears": appended, delivered by capture_read() while
   capturing, at most `per_read` samples per call (0 = no limit). 0 or -1. */
int audio_fake_feed(struct audio_fake *f, const int16_t *pcm, size_t n, size_t per_read)
    __attribute__((warn_unused_result));
int audio_fake_capturing(const struct audio_fake *f);
/* The last sound given to play()/play_next() (borrowed until the next play
   or close), its rate, and how many sounds were played since open. */
const int16_t *audio_fake_played(const struct audio_fake *f, size_t *samples, int *rate);
int audio_fake_play_count(const struct audio_fake *f);
/* Plug or unplug the handset's sound card (unplugged at open): without it
   set_route() to the handset fails. */
void audio_fake_set_handset(struct audio_fake *f, int present);
/* Sounds played on one route since open, and the routes now. */
int audio_fake_play_count_on(const struct audio_fake *f, int route);
int audio_fake_route(const struct audio_fake *f, int *capture_route);
/* How many times the microphone was opened and closed since open, and on
   which route it was last opened. */
int audio_fake_capture_opens(const struct audio_fake *f, int *closes, int *route);
/* Sound "plays" until this is called (or stop_playback()). */
void audio_fake_end_playback(struct audio_fake *f);
int audio_fake_volume(const struct audio_fake *f);

/*
 * The meter: RMS of `n` samples in dBFS, -60 dBFS → 0 and -10 dBFS → 100,
 * linear in dB between and clamped. Silence (or n = 0) is 0.
 */
int audio_level(const int16_t *pcm, size_t n);

#endif
