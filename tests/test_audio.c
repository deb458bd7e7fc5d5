/*
 * Tests for src/kiosk/audio.c, src/kiosk/audio_sdl.c and src/kiosk/audio_fake.c.
 *
 * The SDL port runs on SDL's `disk` driver (PLATFORM.md): the microphone
 * reads a raw file byte for byte, the speaker writes one. Each SDL test
 * sets the driver's variables before audio_sdl_open() (which initialises
 * SDL's audio subsystem) and calls SDL_Quit() at the end.
 * SDL_DISKAUDIODELAY is a few ms per device period (faster than real time)
 * rather than 0: unpaced, the driver reads zeros past the end of the file
 * faster than a polling reader drains them, and the ring would drop the
 * start of the speech.
 */
#include "kiosk/audio.h"
#include "check.h"
#include "speech.h"

#include <SDL.h>
#include <dirent.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static void tone(int16_t *b, size_t n, int rate, double hz, double amp)
{
    /* cos: the first sample is not 0, so the tests can find where it starts. */
    for (size_t i = 0; i < n; i++)
        b[i] = (int16_t)lrint(amp * 32767.0 * cos(2 * M_PI * hz * (double)i / rate));
}

static void disk_env(const char *in, const char *out, const char *delay)
{
    setenv("SDL_AUDIODRIVER", "disk", 1);
    setenv("SDL_DISKAUDIOFILEIN", in, 1);
    setenv("SDL_DISKAUDIOFILE", out, 1);
    setenv("SDL_DISKAUDIODELAY", delay, 1);
}

static struct audio_port open_sdl(const struct audio_sdl_opts *o)
{
    struct audio_port port;
    char err[256] = "";
    if (audio_sdl_open(&port, o, err, sizeof err) != 0)
        check_fail(__FILE__, __LINE__, "audio_sdl_open: %s", err);
    return port;
}

/* Read until `want` samples came or 10 s passed. */
static size_t read_all(struct audio_port *a, int16_t *pcm, size_t want)
{
    size_t got = 0;
    uint32_t t0 = SDL_GetTicks();
    while (got < want && SDL_GetTicks() - t0 < 10000) {
        size_t n = a->capture_read(a->ctx, pcm + got, want - got);
        got += n;
        if (!n)
            SDL_Delay(1);
    }
    return got;
}

static void wait_played(struct audio_port *a)
{
    uint32_t t0 = SDL_GetTicks();
    while (a->playing(a->ctx) && SDL_GetTicks() - t0 < 10000)
        SDL_Delay(2);
    ASSERT(!a->playing(a->ctx));
}

/* The disk driver writes silence while the device is paused: our sound
   starts at the first non-zero sample. */
static const int16_t *skip_silence(const int16_t *pcm, size_t *n)
{
    size_t i = 0;
    while (i < *n && pcm[i] == 0)
        i++;
    *n -= i;
    return pcm + i;
}

/* ---- the level meter ---- */

TEST(test_audio_level_is_zero_for_silence)
{
    int16_t z[1600] = {0};
    ASSERT_EQ(audio_level(z, 1600), 0);
    ASSERT_EQ(audio_level(z, 0), 0);
    ASSERT_EQ(audio_level(NULL, 10), 0);
}

TEST(test_audio_level_maps_minus_60_dbfs_to_0_and_minus_10_to_100)
{
    static int16_t b[1600];
    struct {
        double dbfs;
        int level;
    } cases[] = {{-70, 0}, {-60, 0}, {-50, 20}, {-35, 50}, {-20, 80}, {-10, 100}, {-3, 100}};
    for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
        /* A constant signal's RMS is its value. */
        int16_t v = (int16_t)lrint(32768.0 * pow(10, cases[c].dbfs / 20));
        for (size_t i = 0; i < 1600; i++)
            b[i] = (int16_t)(i % 2 ? v : -v);
        int l = audio_level(b, 1600);
        if (abs(l - cases[c].level) > 1)
            check_fail(__FILE__, __LINE__, "%g dBFS: level %d, expected %d", cases[c].dbfs, l,
                       cases[c].level);
    }
}

TEST(test_audio_level_rises_for_a_tone)
{
    static int16_t b[1600];
    tone(b, 1600, 16000, 440, 0.5); /* RMS -9 dBFS */
    ASSERT_EQ(audio_level(b, 1600), 100);
    tone(b, 1600, 16000, 440, 0.01); /* RMS -43 dBFS */
    ASSERT(audio_level(b, 1600) > 30 && audio_level(b, 1600) < 40);
}

/* ---- the SDL port on the disk driver ---- */

TEST(test_audio_sdl_captures_the_microphone_byte_for_byte)
{
    /* 0.5 s silence, 1 s tone, 2 s of speech. */
    size_t nsil = 8000, ntone = 16000, nspeech = 32000, n = nsil + ntone + nspeech;
    int16_t *in = calloc(n, sizeof *in), *got = calloc(n, sizeof *got);
    ASSERT(in && got);
    tone(in + nsil, ntone, 16000, 1000, 0.25);
    memcpy(in + nsil + ntone, speech_pcm(), nspeech * sizeof *in);
    check_write_file(check_path("mic.raw"), in, n * sizeof *in);
    /* 8 ms per 32 ms period and a 10 s ring: the reader may stall for
       2 s on a loaded machine before anything is lost. */
    disk_env(check_path("mic.raw"), check_path("speaker.raw"), "8");
    struct audio_sdl_opts o = {.ring_seconds = 10};
    struct audio_port a = open_sdl(&o);
    ASSERT_EQ(a.has_microphone(a.ctx), 1);
    char err[256] = "";
    ASSERT_EQ(a.capture_start(a.ctx, err, sizeof err), 0);
    ASSERT_EQ(read_all(&a, got, n), n);
    ASSERT_MEM_EQ(got, in, n * sizeof *in);
    ASSERT_EQ(a.capture_dropped(a.ctx), 0);
    ASSERT_EQ(audio_level(got, nsil), 0);
    ASSERT(audio_level(got + nsil, ntone) > 80);
    ASSERT(audio_level(got + nsil + ntone, nspeech) > 50);
    a.capture_stop(a.ctx);
    /* Stopped: nothing more comes. */
    SDL_Delay(50);
    ASSERT_EQ(a.capture_read(a.ctx, got, n), 0);
    a.close(a.ctx);
    SDL_Quit();
    free(in);
    free(got);
}

TEST(test_audio_sdl_drops_the_oldest_when_not_read_and_counts_it)
{
    int16_t *in = calloc(16000, sizeof *in), *got = calloc(32000, sizeof *got);
    ASSERT(in && got);
    tone(in, 16000, 16000, 440, 0.25);
    check_write_file(check_path("mic.raw"), in, 16000 * sizeof *in);
    /* Unpaced, into a 1 s ring, and nobody reading for a while. The
       speaker writes to /dev/null: unpaced it would fill the disk. */
    disk_env(check_path("mic.raw"), "/dev/null", "0");
    struct audio_sdl_opts o = {.ring_seconds = 1};
    struct audio_port a = open_sdl(&o);
    char err[256] = "";
    ASSERT_EQ(a.capture_start(a.ctx, err, sizeof err), 0);
    /* Far more than the ring holds (ten minutes of audio), so that what the
     * next start counts can be told from it however the threads run. */
    const uint64_t many = 600 * 16000;
    uint32_t t0 = SDL_GetTicks();
    while (a.capture_dropped(a.ctx) < many &&
           SDL_GetTicks() - t0 < 60000u * (unsigned)check_time_scale())
        SDL_Delay(5);
    a.capture_stop(a.ctx);
    uint64_t first = a.capture_dropped(a.ctx);
    printf("    %llu samples dropped in %u ms unread\n", (unsigned long long)first,
           SDL_GetTicks() - t0);
    ASSERT(first >= many);
    /* Stopping zeroed the ring: nothing is left to read. */
    ASSERT_EQ(a.capture_read(a.ctx, got, 32000), 0);
    /* A new start forgets the count: what it reports is its own, a small
     * part of the first run's (the unpaced source runs on meanwhile). */
    uint32_t t1 = SDL_GetTicks();
    ASSERT_EQ(a.capture_start(a.ctx, err, sizeof err), 0);
    uint64_t second = a.capture_dropped(a.ctx);
    a.capture_stop(a.ctx);
    printf("    after the new start: %llu in %u ms\n", (unsigned long long)second,
           SDL_GetTicks() - t1);
    ASSERT(second < first / 2);
    a.close(a.ctx);
    SDL_Quit();
    free(in);
    free(got);
}

TEST(test_audio_sdl_without_microphone_says_plug_it_in)
{
    disk_env(check_path("no-such-mic.raw"), check_path("speaker.raw"), "1");
    struct audio_sdl_opts o = {.capture_device = check_path("no-such-usb-mic.raw")};
    struct audio_port a = open_sdl(&o);
    ASSERT_EQ(a.has_microphone(a.ctx), 0);
    char err[256] = "";
    ASSERT_EQ(a.capture_start(a.ctx, err, sizeof err), -1);
    ASSERT_STR_EQ(err, "no microphone found: plug in the USB microphone (see README)");
    int16_t buf[16];
    ASSERT_EQ(a.capture_read(a.ctx, buf, 16), 0);
    a.capture_stop(a.ctx); /* harmless */
    /* The speaker still works: a kiosk without microphone still speaks. */
    int16_t beep[480];
    tone(beep, 480, 48000, 440, 0.5);
    ASSERT_EQ(a.play(a.ctx, beep, 480, 48000), 0);
    wait_played(&a);

    /* Plugged in later: the next start finds it. */
    check_write_file(check_path("no-such-mic.raw"), beep, sizeof beep);
    ASSERT_EQ(a.capture_start(a.ctx, err, sizeof err), 0);
    ASSERT_EQ(a.has_microphone(a.ctx), 1);
    a.capture_stop(a.ctx);
    a.close(a.ctx);
    SDL_Quit();
}

TEST(test_audio_sdl_without_sound_card_stays_silent_and_says_why)
{
    /* This machine has no sound card: ALSA finds no device at all, as a
       kiosk whose USB audio died. */
    setenv("SDL_AUDIODRIVER", "alsa", 1);
    struct audio_port a;
    char err[256] = "";
    int rc = audio_sdl_open(&a, NULL, err, sizeof err);
    /* Debian's SDL always has ALSA (the Pi's path): failing to open is a
       fault of its own here, not a reason to check less. */
    if (rc != 0)
        printf("    SDL's ALSA driver did not open: %s\n", err);
    ASSERT_EQ(rc, 0);
    ASSERT_EQ(a.has_microphone(a.ctx), 0);
    ASSERT_EQ(a.capture_start(a.ctx, err, sizeof err), -1);
    ASSERT_STR_EQ(err, AUDIO_NO_MICROPHONE);
    int16_t beep[480] = {1000};
    ASSERT_EQ(a.play(a.ctx, beep, 480, 48000), -1);
    ASSERT_EQ(a.playing(a.ctx), 0);
    a.stop_playback(a.ctx);
    a.close(a.ctx);
    SDL_Quit();
}

TEST(test_audio_sdl_plays_to_the_speaker_at_48_khz_with_volume)
{
    size_t n = 24000; /* 0.5 s */
    int16_t *snd = calloc(n, sizeof *snd);
    ASSERT(snd);
    tone(snd, n, 48000, 440, 0.5);
    disk_env(check_path("mic.raw"), check_path("speaker.raw"), "1");
    check_write_file(check_path("mic.raw"), "", 0);
    struct audio_port a = open_sdl(NULL);
    ASSERT_EQ(a.play(a.ctx, snd, n, 48000), 0);
    ASSERT_EQ(a.playing(a.ctx), 1);
    wait_played(&a);
    a.set_volume(a.ctx, 50);
    ASSERT_EQ(a.play(a.ctx, snd, n, 48000), 0);
    wait_played(&a);
    a.close(a.ctx);
    SDL_Quit();

    size_t len = 0;
    int16_t *out = (int16_t *)check_slurp(check_path("speaker.raw"), &len);
    ASSERT(out);
    size_t m = len / 2;
    const int16_t *p = skip_silence(out, &m);
    ASSERT(m >= 2 * n);
    ASSERT_MEM_EQ(p, snd, n * sizeof *snd);
    /* The second time at half volume, after silence. */
    size_t m2 = m - n;
    const int16_t *q = skip_silence(p + n, &m2);
    ASSERT(m2 >= n);
    for (size_t i = 0; i < n; i++)
        if (q[i] != snd[i] * 50 / 100)
            check_fail(__FILE__, __LINE__, "sample %zu: %d, expected %d", i, q[i],
                       snd[i] * 50 / 100);
    free(out);
    free(snd);
}

TEST(test_audio_sdl_plays_a_16_khz_recording_at_the_same_length)
{
    size_t n = 16000; /* 1 s */
    int16_t *snd = calloc(n, sizeof *snd);
    ASSERT(snd);
    tone(snd, n, 16000, 440, 0.5);
    disk_env(check_path("mic.raw"), check_path("speaker.raw"), "1");
    check_write_file(check_path("mic.raw"), "", 0);
    struct audio_port a = open_sdl(NULL);
    ASSERT_EQ(a.play(a.ctx, snd, n, 16000), 0);
    wait_played(&a);
    a.close(a.ctx);
    SDL_Quit();

    size_t len = 0;
    int16_t *out = (int16_t *)check_slurp(check_path("speaker.raw"), &len);
    ASSERT(out);
    size_t m = len / 2;
    const int16_t *p = skip_silence(out, &m);
    /* Resampled to 48 kHz: 3 samples for each, the level unchanged. */
    size_t end = m;
    while (end > 0 && p[end - 1] == 0)
        end--;
    if (!(end > 3 * n - 100 && end < 3 * n + 100))
        check_fail(__FILE__, __LINE__, "%zu samples at 48 kHz, expected about %zu", end, 3 * n);
    int l_in = audio_level(snd, n), l_out = audio_level(p, end);
    ASSERT(abs(l_in - l_out) <= 1);
    free(out);
    free(snd);
}

TEST(test_audio_sdl_play_next_follows_and_play_cuts)
{
    size_t n = 4800;
    int16_t *a1 = calloc(n, sizeof *a1), *a2 = calloc(n, sizeof *a2);
    ASSERT(a1 && a2);
    tone(a1, n, 48000, 440, 0.5);
    tone(a2, n, 48000, 880, 0.25);
    disk_env(check_path("mic.raw"), check_path("speaker.raw"), "1");
    check_write_file(check_path("mic.raw"), "", 0);
    struct audio_port a = open_sdl(NULL);
    ASSERT_EQ(a.play(a.ctx, a1, n, 48000), 0);
    ASSERT_EQ(a.play_next(a.ctx, a2, n, 48000), 0);
    wait_played(&a);
    /* stop_playback() at once: nothing of it is heard after. */
    ASSERT_EQ(a.play(a.ctx, a1, n, 48000), 0);
    a.stop_playback(a.ctx);
    ASSERT_EQ(a.playing(a.ctx), 0);
    ASSERT_EQ(a.play(a.ctx, a1, n, 7999), -1); /* rates outside 8..48 kHz */
    ASSERT_EQ(a.play(a.ctx, a1, n, 96000), -1);
    a.close(a.ctx);
    SDL_Quit();

    size_t len = 0;
    int16_t *out = (int16_t *)check_slurp(check_path("speaker.raw"), &len);
    ASSERT(out);
    size_t m = len / 2;
    const int16_t *p = skip_silence(out, &m);
    ASSERT(m >= 2 * n);
    ASSERT_MEM_EQ(p, a1, n * sizeof *a1);
    ASSERT_MEM_EQ(p + n, a2, n * sizeof *a2); /* no gap between the two */
    free(out);
    free(a1);
    free(a2);
}

/* Is `path` open in this process? The disk driver's microphone is a file,
   open exactly while SDL has the capture device open. */
static int open_here(const char *path)
{
    char real[PATH_MAX], fd[64], target[PATH_MAX];
    ASSERT(realpath(path, real) != NULL);
    DIR *d = opendir("/proc/self/fd");
    ASSERT(d != NULL);
    int found = 0;
    for (struct dirent *e; !found && (e = readdir(d)) != NULL;) {
        snprintf(fd, sizeof fd, "/proc/self/fd/%s", e->d_name);
        ssize_t n = readlink(fd, target, sizeof target - 1);
        if (n > 0) {
            target[n] = 0;
            found = strcmp(target, real) == 0;
        }
    }
    closedir(d);
    return found;
}

TEST(test_audio_sdl_microphone_is_closed_while_idle)
{
    size_t n = 16000;
    int16_t *in = calloc(n, sizeof *in), *got = calloc(n, sizeof *got);
    ASSERT(in && got);
    tone(in, n, 16000, 1000, 0.25);
    check_write_file(check_path("mic.raw"), in, n * sizeof *in);
    disk_env(check_path("mic.raw"), check_path("speaker.raw"), "8");
    struct audio_port a = open_sdl(NULL);
    /* Found at start, and closed at once. */
    ASSERT_EQ(a.has_microphone(a.ctx), 1);
    ASSERT(!open_here(check_path("mic.raw")));
    for (int i = 0; i < 20; i++) /* every frame asks: the answer is remembered */
        ASSERT_EQ(a.has_microphone(a.ctx), 1);
    ASSERT(!open_here(check_path("mic.raw")));
    char err[256] = "";
    for (int round = 0; round < 2; round++) {
        uint64_t t0 = SDL_GetPerformanceCounter();
        ASSERT_EQ(a.capture_start(a.ctx, err, sizeof err), 0);
        printf("    capture_start, opening the device: %.2f ms\n",
               (double)(SDL_GetPerformanceCounter() - t0) * 1000.0 /
                   (double)SDL_GetPerformanceFrequency());
        ASSERT(open_here(check_path("mic.raw")));
        ASSERT_EQ(a.has_microphone(a.ctx), 1);
        /* The recording begins with what the microphone heard first: nothing
           was listened to before the person chose to speak. */
        ASSERT_EQ(read_all(&a, got, 1600), 1600);
        ASSERT_MEM_EQ(got, in, 1600 * sizeof *in);
        t0 = SDL_GetPerformanceCounter();
        a.capture_stop(a.ctx);
        printf("    capture_stop, closing it: %.2f ms\n",
               (double)(SDL_GetPerformanceCounter() - t0) * 1000.0 /
                   (double)SDL_GetPerformanceFrequency());
        ASSERT(!open_here(check_path("mic.raw")));
        ASSERT_EQ(a.has_microphone(a.ctx), 1);
        ASSERT(!open_here(check_path("mic.raw")));
    }
    a.close(a.ctx);
    SDL_Quit();
    free(in);
    free(got);
}

TEST(test_audio_sdl_routes_to_the_handset_named_by_a_part_of_its_name)
{
    size_t n = 4800;
    int16_t *beep = calloc(n, sizeof *beep), *got = calloc(n, sizeof *got);
    ASSERT(beep && got);
    tone(beep, n, 48000, 440, 0.5);
    check_write_file(check_path("mic.raw"), beep, n * sizeof *beep);
    disk_env(check_path("mic.raw"), check_path("speaker.raw"), "1");
    char err[256] = "";

    /* No handset configured: nothing to route. */
    struct audio_port a = open_sdl(NULL);
    ASSERT(a.set_route == NULL);
    a.close(a.ctx);
    SDL_Quit();

    /* A handset that is not plugged in: said, and the room's devices stay. */
    struct audio_sdl_opts o = {.handset_device = "Jabra Handset"};
    a = open_sdl(&o);
    ASSERT(a.set_route != NULL);
    ASSERT_EQ(a.set_route(a.ctx, AUDIO_ROUTE_HANDSET, AUDIO_ROUTE_HANDSET, err, sizeof err), -1);
    ASSERT_STR_EQ(err, "no handset microphone named like \"Jabra Handset\" (handset_device); no "
                       "handset earpiece named like \"Jabra Handset\" (handset_device)");
    ASSERT_EQ(a.play(a.ctx, beep, n, 48000), 0);
    wait_played(&a);
    a.close(a.ctx);
    SDL_Quit();

    /* The disk driver's devices are "System audio output device" and
       "System audio capture device": both named like "system AUDIO". */
    o.handset_device = "system AUDIO";
    a = open_sdl(&o);
    ASSERT_EQ(a.set_route(a.ctx, AUDIO_ROUTE_HANDSET, AUDIO_ROUTE_ROOM, err, sizeof err), 0);
    ASSERT_EQ(a.play(a.ctx, beep, n, 48000), 0);
    wait_played(&a);
    /* Lifted mid-recording: capture goes on from the handset's microphone. */
    ASSERT_EQ(a.capture_start(a.ctx, err, sizeof err), 0);
    ASSERT_EQ(a.set_route(a.ctx, AUDIO_ROUTE_HANDSET, AUDIO_ROUTE_HANDSET, err, sizeof err), 0);
    ASSERT(open_here(check_path("mic.raw")));
    ASSERT_EQ(read_all(&a, got, 1600), 1600);
    a.capture_stop(a.ctx);
    ASSERT(!open_here(check_path("mic.raw")));
    a.close(a.ctx);
    SDL_Quit();
    /* The handset's device was opened afresh (the disk driver starts its
       file again) and played the beep. */
    size_t len = 0;
    int16_t *out = (int16_t *)check_slurp(check_path("speaker.raw"), &len);
    ASSERT(out);
    size_t m = len / 2;
    const int16_t *p = skip_silence(out, &m);
    ASSERT(m >= n);
    ASSERT_MEM_EQ(p, beep, n * sizeof *beep);
    free(out);
    free(beep);
    free(got);
}

TEST(test_audio_fake_routes_and_counts_the_microphone)
{
    struct audio_port a;
    struct audio_fake *f = audio_fake_open(&a);
    ASSERT(f);
    char err[128] = "";
    int closes, route, cap;
    int16_t s[100] = {1};
    /* Unplugged handset: refused, the room plays. */
    ASSERT_EQ(a.set_route(a.ctx, AUDIO_ROUTE_HANDSET, AUDIO_ROUTE_HANDSET, err, sizeof err), -1);
    ASSERT_STR_EQ(err, "the handset's sound card is not plugged in");
    ASSERT_EQ(a.play(a.ctx, s, 100, 16000), 0);
    ASSERT_EQ(audio_fake_play_count_on(f, AUDIO_ROUTE_ROOM), 1);
    audio_fake_set_handset(f, 1);
    ASSERT_EQ(a.set_route(a.ctx, AUDIO_ROUTE_HANDSET, AUDIO_ROUTE_ROOM, err, sizeof err), 0);
    ASSERT_EQ(a.playing(a.ctx), 0); /* what played in the room was cut */
    ASSERT_EQ(a.play(a.ctx, s, 100, 16000), 0);
    ASSERT_EQ(audio_fake_play_count_on(f, AUDIO_ROUTE_HANDSET), 1);
    ASSERT_EQ(audio_fake_play_count_on(f, AUDIO_ROUTE_ROOM), 1);
    ASSERT_EQ(audio_fake_capture_opens(f, &closes, &route), 0);
    ASSERT_EQ(a.capture_start(a.ctx, err, sizeof err), 0);
    ASSERT_EQ(audio_fake_capture_opens(f, &closes, &route), 1);
    ASSERT_EQ(route, AUDIO_ROUTE_ROOM);
    ASSERT_EQ(a.set_route(a.ctx, AUDIO_ROUTE_HANDSET, AUDIO_ROUTE_HANDSET, err, sizeof err), 0);
    ASSERT_EQ(audio_fake_capture_opens(f, &closes, &route), 2);
    ASSERT_EQ(closes, 1);
    ASSERT_EQ(route, AUDIO_ROUTE_HANDSET);
    ASSERT_EQ(audio_fake_route(f, &cap), AUDIO_ROUTE_HANDSET);
    ASSERT_EQ(cap, AUDIO_ROUTE_HANDSET);
    a.capture_stop(a.ctx);
    a.capture_stop(a.ctx); /* a second stop closes nothing more */
    ASSERT_EQ(audio_fake_capture_opens(f, &closes, NULL), 2);
    ASSERT_EQ(closes, 2);
    a.close(a.ctx);
}

/* ---- the fake port ---- */

TEST(test_audio_fake_delivers_what_it_was_fed_while_capturing)
{
    struct audio_port a;
    struct audio_fake *f = audio_fake_open(&a);
    ASSERT(f);
    int16_t in[1000], got[1000];
    for (int i = 0; i < 1000; i++)
        in[i] = (int16_t)(i * 7);
    ASSERT_EQ(audio_fake_feed(f, in, 1000, 300), 0);
    ASSERT_EQ(a.capture_read(a.ctx, got, 1000), 0); /* not capturing yet */
    char err[128];
    ASSERT_EQ(a.capture_start(a.ctx, err, sizeof err), 0);
    ASSERT_EQ(audio_fake_capturing(f), 1);
    ASSERT_EQ(a.capture_read(a.ctx, got, 1000), 300);
    ASSERT_EQ(a.capture_read(a.ctx, got + 300, 200), 200);
    ASSERT_EQ(a.capture_read(a.ctx, got + 500, 1000), 300);
    ASSERT_EQ(a.capture_read(a.ctx, got + 800, 1000), 200);
    ASSERT_EQ(a.capture_read(a.ctx, got, 1000), 0);
    ASSERT_MEM_EQ(got, in, sizeof in);
    ASSERT_EQ(a.capture_dropped(a.ctx), 0);
    a.capture_stop(a.ctx);
    ASSERT_EQ(audio_fake_capturing(f), 0);
    a.close(a.ctx);
}

TEST(test_audio_fake_unplugged_microphone_gives_the_message)
{
    struct audio_port a;
    struct audio_fake *f = audio_fake_open(&a);
    ASSERT(f);
    int16_t in[100] = {1, 2, 3}, got[100];
    ASSERT_EQ(audio_fake_feed(f, in, 100, 0), 0);
    char err[128] = "";
    ASSERT_EQ(a.capture_start(a.ctx, err, sizeof err), 0);
    audio_fake_set_microphone(f, 0); /* pulled out mid-recording */
    ASSERT_EQ(a.has_microphone(a.ctx), 0);
    ASSERT_EQ(a.capture_read(a.ctx, got, 100), 0);
    ASSERT_EQ(a.capture_start(a.ctx, err, sizeof err), -1);
    ASSERT_STR_EQ(err, AUDIO_NO_MICROPHONE);
    audio_fake_set_microphone(f, 1);
    ASSERT_EQ(a.capture_start(a.ctx, err, sizeof err), 0);
    ASSERT_EQ(a.capture_read(a.ctx, got, 100), 100);
    a.close(a.ctx);
}

TEST(test_audio_fake_keeps_what_was_played)
{
    struct audio_port a;
    struct audio_fake *f = audio_fake_open(&a);
    ASSERT(f);
    int16_t s1[10] = {1, 2, 3}, s2[5] = {9, 8};
    ASSERT_EQ(a.play(a.ctx, s1, 10, 48000), 0);
    ASSERT_EQ(a.playing(a.ctx), 1);
    ASSERT_EQ(a.play_next(a.ctx, s2, 5, 16000), 0);
    size_t n = 0;
    int rate = 0;
    const int16_t *p = audio_fake_played(f, &n, &rate);
    ASSERT_EQ(n, 5);
    ASSERT_EQ(rate, 16000);
    ASSERT_MEM_EQ(p, s2, sizeof s2);
    ASSERT_EQ(audio_fake_play_count(f), 2);
    audio_fake_end_playback(f);
    ASSERT_EQ(a.playing(a.ctx), 0);
    ASSERT_EQ(a.play(a.ctx, s1, 10, 48000), 0);
    a.stop_playback(a.ctx);
    ASSERT_EQ(a.playing(a.ctx), 0);
    a.set_volume(a.ctx, 140);
    ASSERT_EQ(audio_fake_volume(f), 100);
    a.set_volume(a.ctx, 30);
    ASSERT_EQ(audio_fake_volume(f), 30);
    audio_fake_set_speaker(f, 0);
    ASSERT_EQ(a.play(a.ctx, s1, 10, 48000), -1);
    ASSERT_EQ(audio_fake_play_count(f), 3);
    a.close(a.ctx);
}
