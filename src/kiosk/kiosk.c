/* kiosk — the UI host: tips, microphone, prompts, catalogs. See kiosk.h. */
#include "kiosk/kiosk.h"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <opusfile.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <time.h>

#include "kiosk/capture.h"
#include "core/envelope.h"
#include "kiosk/i18n.h"
#include "kiosk/prompts.h"
#include "core/queue.h"
#include "core/version.h"
#include "delivery/uplink_status.h"
#include "kiosk/leds.h"

#define PUMP_SAMPLES 4096
#define VOLUNTEER_MAX_SECONDS 30
#define KIOSK_MAX_PENDING 8

struct kiosk {
    struct kiosk_opts o;
    struct tip_keys keys;
    int have_keys;
    struct audio_port audio;
    struct tip_session *tip;
    int capturing;       /* the microphone feeds the tip */
    size_t practice_samples; /* a practice recording: heard, counted, never kept */
    int level;
    unsigned faults;
    /* The recording as Ogg Opus, for "listen back" only: locked memory. */
    uint8_t *ogg;
    size_t ogg_len, ogg_cap;
    int ogg_overflow;
    /* Volunteer prompt recording: 16 kHz PCM, locked. */
    int16_t *vpcm;
    size_t vlen, vcap;
    int vrecording;
    double last_send_ms; /* seal + commit of the last tip, for the bench and technicians */
    /* Prompts the UI asked for, played by kiosk_speak() once the screen
       that goes with them is drawn: decoding one takes longer than the
       frame, and a touch must show its answer first. */
    struct {
        char lang[16], id[64];
    } pending[KIOSK_MAX_PENDING];
    int npending;
    int16_t pump[PUMP_SAMPLES];
    /* The faults as last left in <data_dir>/kiosk.faults for homthu-uplink's
       heartbeat (uplink_status.h); written only when they change. */
    int faults_published;
    unsigned faults_file;
};

/*
 * Leave the faults found here where homthu-uplink reads them for its
 * heartbeat: only the bits (never when or why, nor anything of a tip).
 * The disk and the undelivered faults it finds itself. Called every loop
 * turn (kiosk_pump); a write happens only on a change.
 */
static void say_log(struct kiosk *k, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void publish_faults(struct kiosk *k)
{
    if (!k->o.data_dir)
        return;
    unsigned lf = leds_faults_from_kiosk(k->faults) | (k->o.queue ? 0u : LEDS_FAULT_QUEUE);
    if (k->faults_published && lf == k->faults_file)
        return;
    /* Tried once per change: a data folder that refuses it must not be hit every turn. */
    if (uplink_faults_write(k->o.data_dir, lf) != 0)
        say_log(k, "cannot leave the faults in %s/" UPLINK_FAULTS_FILE, k->o.data_dir);
    k->faults_published = 1;
    k->faults_file = lf;
}

static void say_log(struct kiosk *k, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void say_log(struct kiosk *k, const char *fmt, ...)
{
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    if (k->o.log)
        k->o.log(line);
    else
        fprintf(stderr, "homthu-kiosk: %s\n", line);
}

static int64_t wall(struct kiosk *k, int *trusted)
{
    if (k->o.wall_clock)
        return k->o.wall_clock(trusted);
    *trusted = 0; /* no RTC: the clock is a guess until the network sets it */
    return (int64_t)time(NULL);
}

int kiosk_new(struct kiosk **out, const struct kiosk_opts *o, char *err, size_t errlen)
{
    *out = NULL;
    if (sodium_init() < 0) {
        snprintf(err, errlen, "kiosk: libsodium failed to start");
        return -1;
    }
    struct kiosk *k = calloc(1, sizeof *k);
    if (!k) {
        snprintf(err, errlen, "kiosk: out of memory");
        return -1;
    }
    k->o = *o;
    k->o.training = 0; /* practice never outlives a restart (ui.h) */
    if (o->keys) {
        k->keys = *o->keys;
        k->have_keys = 1;
    } else {
        k->faults |= KIOSK_FAULT_NO_POST_KEY;
    }
    if (o->audio)
        k->audio = *o->audio;
    if (k->o.max_record_seconds <= 0)
        k->o.max_record_seconds = 180;
    int bitrate = k->o.opus_bitrate > 0 ? k->o.opus_bitrate : CAPTURE_DEFAULT_BITRATE;
    /* Cap: the longest recording at twice its bitrate plus container slack. */
    k->ogg_cap = (size_t)k->o.max_record_seconds * (size_t)bitrate / 4 + 65536;
    k->ogg = sodium_malloc(k->ogg_cap);
    k->vcap = (size_t)VOLUNTEER_MAX_SECONDS * CAPTURE_RATE;
    k->vpcm = sodium_malloc(k->vcap * sizeof *k->vpcm);
    if (!k->ogg || !k->vpcm) {
        kiosk_free(k);
        snprintf(err, errlen, "kiosk: out of memory for the recording buffers");
        return -1;
    }
    if (k->audio.set_volume)
        k->audio.set_volume(k->audio.ctx, o->volume > 0 ? o->volume : 80);
    if (!kiosk_has_microphone(k))
        say_log(k, "fault: %s", AUDIO_NO_MICROPHONE);
    publish_faults(k);
    *out = k;
    return 0;
}

static void forget_recording(struct kiosk *k)
{
    if (k->ogg)
        sodium_memzero(k->ogg, k->ogg_cap);
    k->ogg_len = 0;
    k->ogg_overflow = 0;
    k->level = 0;
}

static void stop_capture(struct kiosk *k)
{
    if (k->capturing && k->audio.capture_stop)
        k->audio.capture_stop(k->audio.ctx);
    k->capturing = 0;
}

void kiosk_free(struct kiosk *k)
{
    if (!k)
        return;
    stop_capture(k);
    if (k->tip)
        tip_discard(k->tip);
    if (k->audio.close)
        k->audio.close(k->audio.ctx);
    sodium_free(k->ogg);
    sodium_free(k->vpcm);
    sodium_memzero(&k->keys, sizeof k->keys);
    sodium_memzero(k->pump, sizeof k->pump);
    free(k);
}

unsigned kiosk_faults(const struct kiosk *k)
{
    return k->faults;
}

int kiosk_has_microphone(struct kiosk *k)
{
    int yes = k->audio.has_microphone && k->audio.has_microphone(k->audio.ctx);
    if (yes)
        k->faults &= ~(unsigned)KIOSK_FAULT_NO_MICROPHONE;
    else
        k->faults |= KIOSK_FAULT_NO_MICROPHONE;
    return yes;
}

void kiosk_set_volume(struct kiosk *k, int percent)
{
    if (k->audio.set_volume)
        k->audio.set_volume(k->audio.ctx, percent);
}

int kiosk_recording(const struct kiosk *k)
{
    return k->capturing || k->vrecording;
}

double kiosk_last_send_ms(const struct kiosk *k)
{
    return k->last_send_ms;
}

double kiosk_seconds(const struct kiosk *k)
{
    return k->tip ? tip_seconds(k->tip) : 0;
}

int kiosk_playing(const struct kiosk *k)
{
    return k->audio.playing && k->audio.playing(k->audio.ctx);
}

static void tee(void *ctx, const uint8_t *b, size_t len)
{
    struct kiosk *k = ctx;
    if (k->ogg_len + len > k->ogg_cap) {
        k->ogg_overflow = 1; /* listen back loses its end; the tip does not */
        return;
    }
    memcpy(k->ogg + k->ogg_len, b, len);
    k->ogg_len += len;
}

void kiosk_pump(struct kiosk *k)
{
    publish_faults(k); /* what the last turn found (a failed send, a silent speaker) */
    if (!k->audio.capture_read || (!k->capturing && !k->vrecording))
        return;
    size_t n;
    /* Bounded: a microphone faster than real time must not starve the UI. */
    for (int rounds = 0;
         rounds < 64 && (n = k->audio.capture_read(k->audio.ctx, k->pump, PUMP_SAMPLES)) > 0;
         rounds++) {
        k->level = audio_level(k->pump, n);
        if (k->vrecording) {
            size_t room = k->vcap - k->vlen;
            if (n > room)
                n = room;
            memcpy(k->vpcm + k->vlen, k->pump, n * sizeof *k->pump);
            k->vlen += n;
            continue;
        }
        char err[256];
        if (!k->tip)
            k->practice_samples += n;
        if (k->tip && tip_add_pcm(k->tip, k->pump, n, err, sizeof err) != 0) {
            /* The chunks already committed stay; the person is told at "send". */
            say_log(k, "fault: recording could not be stored: %s", err);
            k->faults |= KIOSK_FAULT_QUEUE;
            if (strstr(err, "disk full"))
                k->faults |= KIOSK_FAULT_DISK_FULL;
            stop_capture(k);
        }
    }
    sodium_memzero(k->pump, sizeof k->pump);
}

/* ---- host calls ---- */

static void h_say(void *ctx, const struct ui_prompt *p, int n)
{
    struct kiosk *k = ctx;
    /* A new request replaces what was not yet played, as play() would. */
    k->npending = 0;
    for (int i = 0; i < n && k->npending < KIOSK_MAX_PENDING; i++) {
        snprintf(k->pending[k->npending].lang, sizeof k->pending[0].lang, "%s", p[i].lang);
        snprintf(k->pending[k->npending].id, sizeof k->pending[0].id, "%s", p[i].id);
        k->npending++;
    }
}

/* Anything that takes the speaker or the microphone drops prompts not yet
   played: they must not play over a recording or be recorded. */
static void drop_pending(struct kiosk *k)
{
    k->npending = 0;
}

void kiosk_speak(struct kiosk *k)
{
    int n = k->npending;
    k->npending = 0;
    if (!n || !k->o.prompts || !k->audio.play)
        return;
    int first = 1;
    for (int i = 0; i < n; i++) {
        const int16_t *pcm;
        size_t samples;
        int rate;
        char err[256];
        if (prompts_get(k->o.prompts, k->pending[i].lang, k->pending[i].id, &pcm, &samples,
                        &rate, err, sizeof err) != 0) {
            say_log(k, "prompt %s/%s: %s", k->pending[i].lang, k->pending[i].id, err);
            continue; /* silent for this step, never a crash */
        }
        int rc = first ? k->audio.play(k->audio.ctx, pcm, samples, rate)
                       : k->audio.play_next(k->audio.ctx, pcm, samples, rate);
        if (rc != 0)
            k->faults |= KIOSK_FAULT_NO_SPEAKER;
        first = 0;
    }
}

static int begin_tip(struct kiosk *k, const char *lang, int category, int with_audio, char *err,
                     size_t errlen)
{
    if (!k->o.queue || !k->have_keys) {
        snprintf(err, errlen, "%s",
                 k->have_keys ? "the queue is not open" : "post key missing: see README");
        return -2;
    }
    struct envelope_meta m;
    memset(&m, 0, sizeof m);
    snprintf(m.language, sizeof m.language, "%s", lang);
    m.category = (uint8_t)category;
    m.training = k->o.training ? 1 : 0;
    m.codec = with_audio ? CODEC_OGG_OPUS : CODEC_NONE;
    struct capture_opts co = {.bitrate = k->o.opus_bitrate, .tee = tee, .tee_ctx = k};
    int trusted = 0;
    int64_t now = wall(k, &trusted);
    forget_recording(k);
    if (tip_begin(&k->tip, k->o.queue, &k->keys, &m, with_audio ? &co : NULL, now, trusted, err,
                  errlen) != 0) {
        k->tip = NULL;
        k->faults |= KIOSK_FAULT_QUEUE;
        if (strstr(err, "disk full"))
            k->faults |= KIOSK_FAULT_DISK_FULL;
        say_log(k, "fault: cannot start a tip: %s", err);
        return -2;
    }
    k->faults &= ~(unsigned)(KIOSK_FAULT_QUEUE | KIOSK_FAULT_DISK_FULL);
    return 0;
}

static int h_record_start(void *ctx, const char *lang, int category, char *err, size_t errlen)
{
    struct kiosk *k = ctx;
    if (!kiosk_has_microphone(k)) {
        snprintf(err, errlen, "%s", AUDIO_NO_MICROPHONE);
        say_log(k, "fault: %s", err);
        return -1;
    }
    drop_pending(k);
    if (k->audio.stop_playback)
        k->audio.stop_playback(k->audio.ctx); /* the prompt must not be recorded */
    if (k->tip) {
        tip_discard(k->tip);
        k->tip = NULL;
    }
    k->practice_samples = 0;
    /* Practice: the meter moves and the time runs, but nothing reaches the
       queue, not even a header. */
    int rc = k->o.training ? 0 : begin_tip(k, lang, category, 1, err, errlen);
    if (rc)
        return rc;
    if (k->audio.capture_start(k->audio.ctx, err, errlen) != 0) {
        if (k->tip)
            tip_discard(k->tip);
        k->tip = NULL;
        k->faults |= KIOSK_FAULT_NO_MICROPHONE;
        say_log(k, "fault: %s", err);
        return -1;
    }
    k->capturing = 1;
    return 0;
}

static void h_record_stop(void *ctx)
{
    struct kiosk *k = ctx;
    kiosk_pump(k); /* what was heard up to the touch belongs to the tip */
    stop_capture(k);
    k->level = 0;
}

static int h_record_level(void *ctx)
{
    struct kiosk *k = ctx;
    kiosk_pump(k);
    return k->level;
}

static double h_record_seconds(void *ctx)
{
    struct kiosk *k = ctx;
    if (!k->tip && k->o.training)
        return (double)k->practice_samples / CAPTURE_RATE;
    return k->tip ? tip_seconds(k->tip) : 0;
}

static void h_play_recording(void *ctx)
{
    struct kiosk *k = ctx;
    drop_pending(k);
    if (!k->ogg_len || !k->audio.play)
        return;
    /* The Ogg pages so far end the stream early: opusfile copes. */
    int e = 0;
    OggOpusFile *of = op_open_memory(k->ogg, k->ogg_len, &e);
    if (!of)
        return;
    ogg_int64_t total = op_pcm_total(of, -1);
    size_t cap = total > 0 ? (size_t)total : (size_t)48000 * 200;
    int16_t *pcm = sodium_malloc(cap * sizeof *pcm);
    size_t n = 0;
    while (pcm && n < cap) {
        int got = op_read(of, pcm + n, (int)(cap - n > 5760 ? 5760 : cap - n), NULL);
        if (got <= 0)
            break;
        n += (size_t)got;
    }
    op_free(of);
    if (pcm && n)
        k->audio.play(k->audio.ctx, pcm, n, 48000); /* the port copies it */
    sodium_free(pcm); /* zeroes: it is the person's voice */
}

static int h_tip_send(void *ctx, const char *lang, int category, const char *text, int when,
                      int unconfirmed, char *err, size_t errlen)
{
    struct kiosk *k = ctx;
    h_record_stop(k);
    if (k->o.training) {
        /* Practice is never sealed or queued. */
        if (k->tip) {
            tip_discard(k->tip);
            k->tip = NULL;
        }
        forget_recording(k);
        k->practice_samples = 0;
        say_log(k, "practice tip: nothing kept");
        return 0;
    }
    if (!k->tip) {
        int rc = begin_tip(k, lang, category, 0, err, errlen); /* text only */
        if (rc)
            return rc;
    }
    int rc = 0;
    size_t tl = text ? strlen(text) : 0;
    if (tl)
        rc = tip_add_text(k->tip, text, tl, err, errlen);
    /* Chosen on the review, after META was written when recording began. */
    if (rc == 0 && category > CATEGORY_UNSET && category <= CATEGORY_OTHER)
        rc = tip_set_category(k->tip, (uint8_t)category, err, errlen);
    if (rc == 0 && when)
        rc = tip_set_when(k->tip, (uint8_t)when, err, errlen);
    if (rc == 0 && unconfirmed)
        rc = tip_set_unconfirmed(k->tip, err, errlen);
    int trusted;
    if (rc == 0) {
        struct timespec t0, t1;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        rc = tip_send(k->tip, wall(k, &trusted), err, errlen);
        clock_gettime(CLOCK_MONOTONIC, &t1);
        k->last_send_ms = (t1.tv_sec - t0.tv_sec) * 1e3 + (t1.tv_nsec - t0.tv_nsec) / 1e6;
        k->tip = NULL; /* tip_send frees, also on failure */
    }
    forget_recording(k);
    if (rc != 0) {
        k->faults |= KIOSK_FAULT_QUEUE;
        if (strstr(err, "disk full"))
            k->faults |= KIOSK_FAULT_DISK_FULL;
        say_log(k, "fault: tip not saved: %s", err);
        if (k->tip) {
            tip_discard(k->tip);
            k->tip = NULL;
        }
        return -2;
    }
    say_log(k, "tip saved for the post%s", unconfirmed ? " (left without confirming)" : "");
    return 0;
}

static void h_tip_discard(void *ctx)
{
    struct kiosk *k = ctx;
    stop_capture(k);
    drop_pending(k);
    if (k->audio.stop_playback)
        k->audio.stop_playback(k->audio.ctx);
    if (k->tip) {
        tip_discard(k->tip);
        k->tip = NULL;
        say_log(k, "tip discarded");
    }
    forget_recording(k);
}

static int h_playing(void *ctx)
{
    struct kiosk *k = ctx;
    return k->npending > 0 || kiosk_playing(k); /* asked for is as good as playing */
}

/* A voice of the language's own: machine speech or a person's. A stand-in
   ("placeholder") is the Vietnamese one, except the language's name, whose
   stand-in is that name said the way its speakers say it (docs/prompts.md). */
static int h_has_prompt(void *ctx, const char *lang, const char *id)
{
    struct kiosk *k = ctx;
    if (!k->o.prompts)
        return 0;
    enum prompt_status st = prompts_status(k->o.prompts, lang, id);
    return st == PROMPT_ESPEAK || st == PROMPT_RECORDED ||
           (st == PROMPT_PLACEHOLDER && !strcmp(id, "language_name"));
}

static const char *h_text(void *ctx, const char *lang, const char *msgid)
{
    struct kiosk *k = ctx;
    return k->o.i18n ? i18n_get(k->o.i18n, lang, msgid) : msgid;
}

static int h_can_take_tips(void *ctx)
{
    struct kiosk *k = ctx;
    if (!k->o.queue || !k->have_keys)
        return 0;
    /* A queue error clears itself once a write succeeds again. */
    return !(k->faults & KIOSK_FAULT_DISK_FULL);
}

static int h_prompt_record_start(void *ctx, char *err, size_t errlen)
{
    struct kiosk *k = ctx;
    if (!kiosk_has_microphone(k)) {
        snprintf(err, errlen, "%s", AUDIO_NO_MICROPHONE);
        return -1;
    }
    drop_pending(k);
    if (k->audio.stop_playback)
        k->audio.stop_playback(k->audio.ctx);
    k->vlen = 0;
    if (k->audio.capture_start(k->audio.ctx, err, errlen) != 0)
        return -1;
    k->vrecording = 1;
    return 0;
}

static int h_prompt_record_stop(void *ctx, const char *lang, const char *id, char *err,
                                size_t errlen)
{
    struct kiosk *k = ctx;
    kiosk_pump(k);
    if (k->audio.capture_stop)
        k->audio.capture_stop(k->audio.ctx);
    k->vrecording = 0;
    (void)lang;
    (void)id;
    /* The take waits in locked memory for "keep" (h_prompt_take_keep):
       until then the old prompt is the one spoken. */
    if (k->vlen < CAPTURE_RATE / 4) {
        snprintf(err, errlen, "too short: record again");
        sodium_memzero(k->vpcm, k->vcap * sizeof *k->vpcm);
        k->vlen = 0;
        return -1;
    }
    return 0;
}

static const char *h_prompt_words(void *ctx, const char *lang, const char *id)
{
    struct kiosk *k = ctx;
    return k->o.prompts ? prompts_words(k->o.prompts, lang, id) : NULL;
}

static void h_set_training(void *ctx, int on)
{
    struct kiosk *k = ctx;
    k->o.training = on;
    say_log(k, "practice mode %s", on ? "on" : "off");
}

static void h_set_volume(void *ctx, int percent)
{
    struct kiosk *k = ctx;
    kiosk_set_volume(k, percent);
    say_log(k, "volume set to %d %% on the volunteer screen", percent);
}

static void age_text(char *out, size_t n, int64_t seconds)
{
    if (seconds < 0)
        snprintf(out, n, "?");
    else if (seconds < 120)
        snprintf(out, n, "%lld s", (long long)seconds);
    else if (seconds < 7200)
        snprintf(out, n, "%lld min", (long long)seconds / 60);
    else if (seconds < 2 * 86400)
        snprintf(out, n, "%lld h", (long long)seconds / 3600);
    else
        snprintf(out, n, "%lld days", (long long)seconds / 86400);
}

/* Facts only, never tip content: counts, ages, space, devices. */
static void h_tech_info(void *ctx, struct ui_tech *out)
{
    struct kiosk *k = ctx;
    int trusted = 0;
    int64_t now = wall(k, &trusted);
    out->n = 0;
#define LINE(...) \
    if (out->n < UI_TECH_LINES) \
        snprintf(out->lines[out->n++], sizeof out->lines[0], __VA_ARGS__)
    LINE("Kiosk %s · version %s", k->o.kiosk_id ? k->o.kiosk_id : "?", HOMTHU_VERSION);
    struct queue_stats st;
    if (k->o.queue && queue_stats(k->o.queue, &st) == 0) {
        char age[32] = "-";
        if (st.oldest_waiting)
            age_text(age, sizeof age, now - st.oldest_waiting);
        LINE("Waiting: %u tips, oldest %s · sending: %u · cut short: %u",
             st.count[QUEUE_SEALED] + st.count[QUEUE_UPLOADING], age, st.count[QUEUE_UPLOADING],
             st.cut_short);
        /* Delivered tips are forgotten; the queue keeps when the last one
         * went, rounded down to 6 h. */
        char when[32] = "never";
        if (st.last_delivered)
            age_text(when, sizeof when, now - st.last_delivered);
        LINE("Last delivery: %s%s · link: %s", when, st.last_delivered ? " ago" : "",
             st.count[QUEUE_UPLOADING] ? "sending" : "idle or down");
    } else {
        LINE("Queue: NOT OPEN (see the log)");
    }
    struct statvfs vfs;
    if (k->o.data_dir && statvfs(k->o.data_dir, &vfs) == 0)
        LINE("Disk: %.0f MB free of %.0f MB",
             (double)vfs.f_bavail * vfs.f_frsize / 1e6, (double)vfs.f_blocks * vfs.f_frsize / 1e6);
    LINE("Microphone: %s · speaker: %s · clock: %s",
         kiosk_has_microphone(k) ? "yes" : "NO", (k->faults & KIOSK_FAULT_NO_SPEAKER) ? "NO" : "yes",
         trusted ? "set" : "not set");
    LINE("Faults: %s%s%s%s%s", k->faults ? "" : "none",
         (k->faults & KIOSK_FAULT_NO_POST_KEY) ? "no post key " : "",
         (k->faults & KIOSK_FAULT_NO_MICROPHONE) ? "no microphone " : "",
         (k->faults & KIOSK_FAULT_DISK_FULL) ? "disk full " : "",
         (k->faults & KIOSK_FAULT_QUEUE) ? "queue error" : "");
#undef LINE
}

static void h_mic_test(void *ctx, int on)
{
    struct kiosk *k = ctx;
    char err[256];
    if (on && !k->vrecording && !k->capturing && kiosk_has_microphone(k)) {
        k->vlen = 0;
        if (k->audio.capture_start(k->audio.ctx, err, sizeof err) == 0)
            k->vrecording = 1; /* into the volunteer buffer, never kept */
    } else if (!on && k->vrecording) {
        if (k->audio.capture_stop)
            k->audio.capture_stop(k->audio.ctx);
        k->vrecording = 0;
        sodium_memzero(k->vpcm, k->vcap * sizeof *k->vpcm);
        k->vlen = 0;
        k->level = 0;
    }
}

static void h_led_test(void *ctx)
{
    struct kiosk *k = ctx;
    if (k->o.led_test)
        k->o.led_test(k->o.led_ctx);
}

static void staff_host(struct ui_host *h);

void kiosk_host(struct kiosk *k, struct ui_host *h)
{
    memset(h, 0, sizeof *h);
    h->say = h_say;
    h->record_start = h_record_start;
    h->record_stop = h_record_stop;
    h->record_level = h_record_level;
    h->record_seconds = h_record_seconds;
    h->play_recording = h_play_recording;
    h->tip_send = h_tip_send;
    h->tip_discard = h_tip_discard;
    h->text = h_text;
    h->can_take_tips = h_can_take_tips;
    h->prompt_record_start = h_prompt_record_start;
    h->prompt_record_stop = h_prompt_record_stop;
    h->prompt_words = h_prompt_words;
    h->set_training = h_set_training;
    h->set_volume = h_set_volume;
    h->tech_info = h_tech_info;
    h->mic_test = h_mic_test;
    h->led_test = h_led_test;
    h->playing = h_playing;
    h->has_prompt = h_has_prompt;
    staff_host(h);
    h->ctx = k;
}

/* ---- staff host calls: the volunteer's takes, the USB stick, the technician ---- */

static int h_prompt_state(void *ctx, const char *lang, const char *id)
{
    struct kiosk *k = ctx;
    if (!k->o.prompts)
        return UI_PROMPT_NONE;
    const int16_t *pcm;
    size_t n;
    char err[256];
    /* Only a file that plays counts: otherwise Vietnamese is spoken. */
    if (prompts_get_own(k->o.prompts, lang, id, &pcm, &n, err, sizeof err) != 0)
        return UI_PROMPT_NONE;
    switch (prompts_status(k->o.prompts, lang, id)) {
    case PROMPT_RECORDED: return UI_PROMPT_RECORDED;
    case PROMPT_ESPEAK: return UI_PROMPT_MACHINE;
    default: return UI_PROMPT_STANDIN;
    }
}

static int h_prompt_play_own(void *ctx, const char *lang, const char *id)
{
    struct kiosk *k = ctx;
    const int16_t *pcm;
    size_t n;
    char err[256];
    drop_pending(k);
    if (!k->o.prompts || !k->audio.play ||
        prompts_get_own(k->o.prompts, lang, id, &pcm, &n, err, sizeof err) != 0)
        return -1;
    return k->audio.play(k->audio.ctx, pcm, n, PROMPTS_RATE) == 0 ? 0 : -1;
}

static void h_prompt_take_play(void *ctx)
{
    struct kiosk *k = ctx;
    drop_pending(k);
    if (k->vlen && !k->vrecording && k->audio.play)
        k->audio.play(k->audio.ctx, k->vpcm, k->vlen, CAPTURE_RATE);
}

static int h_prompt_take_keep(void *ctx, const char *lang, const char *id, char *err,
                              size_t errlen)
{
    struct kiosk *k = ctx;
    if (!k->o.prompts || !k->vlen || k->vrecording) {
        snprintf(err, errlen, "%s", k->o.prompts ? "no take to keep" : "no prompts directory");
        return -1;
    }
    int rc = prompts_save(k->o.prompts, lang, id, k->vpcm, k->vlen, err, errlen);
    if (rc != 0) {
        say_log(k, "prompt %s/%s not saved: %s", lang, id, err);
        return -1; /* the take stays: "keep" may be touched again */
    }
    say_log(k, "prompt %s/%s recorded by a volunteer", lang, id);
    sodium_memzero(k->vpcm, k->vcap * sizeof *k->vpcm);
    k->vlen = 0;
    return 0;
}

static void h_prompt_take_drop(void *ctx)
{
    struct kiosk *k = ctx;
    if (k->vrecording)
        return; /* the microphone test's, or a recording: not a take */
    sodium_memzero(k->vpcm, k->vcap * sizeof *k->vpcm);
    k->vlen = 0;
}

/* Octal escapes of /proc/self/mounts ("\040" a space) decoded in place. */
static void unescape_mount(char *s)
{
    char *o = s;
    for (; *s; s++) {
        if (s[0] == '\\' && s[1] >= '0' && s[1] <= '7' && s[2] >= '0' && s[2] <= '7' &&
            s[3] >= '0' && s[3] <= '7') {
            *o++ = (char)((s[1] - '0') * 64 + (s[2] - '0') * 8 + (s[3] - '0'));
            s += 3;
        } else {
            *o++ = *s;
        }
    }
    *o = 0;
}

/* The USB stick: HOMTHU_USB_DIR, else the first mount under /media or
   /run/media (where Debian's automounters put a stick). 0 when found. */
static int usb_dir(char *out, size_t n)
{
    const char *env = getenv("HOMTHU_USB_DIR");
    if (env && *env) {
        snprintf(out, n, "%s", env);
        return 0;
    }
    FILE *f = fopen("/proc/self/mounts", "re");
    if (!f)
        return -1;
    char line[4200];
    int found = -1;
    while (found && fgets(line, sizeof line, f)) {
        char dev[1024], mnt[3000];
        if (sscanf(line, "%1023s %2999s", dev, mnt) != 2)
            continue;
        unescape_mount(mnt);
        if (!strncmp(mnt, "/media/", 7) || !strncmp(mnt, "/run/media/", 11)) {
            snprintf(out, n, "%s", mnt);
            found = 0;
        }
    }
    fclose(f);
    return found;
}

static void to_ui_usb(const struct prompts_transfer *t, int rc, struct ui_usb *out)
{
    memset(out, 0, sizeof *out);
    for (size_t i = 0; i < t->n && i < UI_USB_MAX; i++) {
        snprintf(out->ids[i], sizeof out->ids[0], "%s", t->item[i].id);
        out->change[i] = t->item[i].change == PROMPTS_NEW        ? UI_USB_NEW
                         : t->item[i].change == PROMPTS_REPLACED ? UI_USB_REPLACED
                                                                 : UI_USB_SAME;
        out->n++;
    }
    out->n_new = (int)t->n_new;
    out->n_replaced = (int)t->n_replaced;
    out->n_same = (int)t->n_same;
    snprintf(out->file, sizeof out->file, "%s", t->bad_file);
    out->status = rc == 0                    ? UI_USB_OK
                  : rc == PROMPTS_E_MISSING ? UI_USB_EMPTY
                  : rc == PROMPTS_E_STICK   ? (t->bad == PROMPTS_BAD_UNKNOWN ? UI_USB_UNKNOWN
                                                                            : UI_USB_BAD_FILE)
                                            : UI_USB_WRITE;
}

static void h_usb_export(void *ctx, const char *lang, struct ui_usb *out)
{
    struct kiosk *k = ctx;
    static struct prompts_transfer t; /* 5 KB: kept off the UI thread's stack */
    char dir[4096], err[512];
    memset(out, 0, sizeof *out);
    out->status = UI_USB_NO_STICK;
    if (!k->o.prompts || usb_dir(dir, sizeof dir) != 0)
        return;
    int rc = prompts_export(k->o.prompts, lang, dir, &t, err, sizeof err);
    to_ui_usb(&t, rc, out);
    if (rc != 0)
        say_log(k, "prompts to the USB stick: %s", err);
    else
        say_log(k, "prompts of %s copied to the USB stick at %s: %zu", lang, dir, t.n);
}

static void h_usb_import(void *ctx, const char *lang, int apply, struct ui_usb *out)
{
    struct kiosk *k = ctx;
    static struct prompts_transfer t;
    char dir[4096], err[512];
    memset(out, 0, sizeof *out);
    out->status = UI_USB_NO_STICK;
    if (!k->o.prompts || usb_dir(dir, sizeof dir) != 0)
        return;
    int rc = prompts_import(k->o.prompts, lang, dir, apply, &t, err, sizeof err);
    to_ui_usb(&t, rc, out);
    if (rc != 0)
        say_log(k, "prompts from the USB stick: %s", err);
    else if (apply)
        say_log(k, "prompts of %s taken from the USB stick at %s: %zu new, %zu replaced", lang,
                dir, t.n_new, t.n_replaced);
}

static int uplink_error_kind(const char *name)
{
    if (!name[0])
        return UI_UPLINK_E_NONE;
    if (!strcmp(name, "offline"))
        return UI_UPLINK_E_OFFLINE;
    if (!strcmp(name, "network"))
        return UI_UPLINK_E_NETWORK;
    if (!strcmp(name, "pin") || !strcmp(name, "tls"))
        return UI_UPLINK_E_TLS;
    if (!strcmp(name, "device"))
        return UI_UPLINK_E_DEVICE;
    if (!strcmp(name, "auth") || !strcmp(name, "refused") || !strcmp(name, "not verified"))
        return UI_UPLINK_E_REFUSED;
    return UI_UPLINK_E_OTHER;
}

/* The kiosk's IPv4 and global IPv6 addresses, "wlan0 192.168.1.20". */
static void net_addrs(struct ui_tech_facts *out)
{
    struct ifaddrs *ifa = NULL;
    if (getifaddrs(&ifa) != 0)
        return;
    for (int v6 = 0; v6 < 2; v6++)
        for (struct ifaddrs *i = ifa; i && out->naddrs < 4; i = i->ifa_next) {
            if (!i->ifa_addr || (i->ifa_flags & IFF_LOOPBACK) || !(i->ifa_flags & IFF_UP))
                continue;
            char a[INET6_ADDRSTRLEN] = "";
            if (!v6 && i->ifa_addr->sa_family == AF_INET) {
                inet_ntop(AF_INET, &((struct sockaddr_in *)(void *)i->ifa_addr)->sin_addr, a,
                          sizeof a);
            } else if (v6 && i->ifa_addr->sa_family == AF_INET6) {
                const struct in6_addr *x = &((struct sockaddr_in6 *)(void *)i->ifa_addr)->sin6_addr;
                if (IN6_IS_ADDR_LINKLOCAL(x))
                    continue; /* fe80:: is no address anyone can reach it at */
                inet_ntop(AF_INET6, x, a, sizeof a);
            }
            if (a[0])
                snprintf(out->addrs[out->naddrs++], sizeof out->addrs[0], "%.8s %s", i->ifa_name,
                         a);
        }
    freeifaddrs(ifa);
}

/* Facts only, never tip content: counts, ages, space, devices, the link. */
static void h_tech_facts(void *ctx, struct ui_tech_facts *out)
{
    struct kiosk *k = ctx;
    int trusted = 0;
    int64_t now = wall(k, &trusted);
    memset(out, 0, sizeof *out);
    snprintf(out->kiosk_id, sizeof out->kiosk_id, "%s", k->o.kiosk_id ? k->o.kiosk_id : "?");
    snprintf(out->version, sizeof out->version, "%s", HOMTHU_VERSION);
    out->oldest_waiting_s = out->last_delivery_s = -1;
    out->disk_free_mb = out->disk_total_mb = -1;
    struct queue_stats st;
    if (k->o.queue && queue_stats(k->o.queue, &st) == 0) {
        out->queue_open = 1;
        out->waiting = st.count[QUEUE_SEALED] + st.count[QUEUE_UPLOADING];
        out->cut_short = st.cut_short;
        if (out->waiting && st.oldest_waiting)
            out->oldest_waiting_s = now - st.oldest_waiting;
        if (st.last_delivered)
            out->last_delivery_s = now - st.last_delivered;
    }
    unsigned lf = leds_faults_from_kiosk(k->faults) | (k->o.queue ? 0u : LEDS_FAULT_QUEUE);
    struct statvfs vfs;
    if (k->o.data_dir && statvfs(k->o.data_dir, &vfs) == 0) {
        uint64_t avail = (uint64_t)vfs.f_bavail * vfs.f_frsize;
        uint64_t total = (uint64_t)vfs.f_blocks * vfs.f_frsize;
        out->disk_free_mb = (long long)(avail / 1000000);
        out->disk_total_mb = (long long)(total / 1000000);
        if (leds_disk_nearly_full(avail, total))
            lf |= LEDS_FAULT_DISK;
    }
    out->led_faults = lf;
    out->microphone = kiosk_has_microphone(k);
    out->speaker = !(k->faults & KIOSK_FAULT_NO_SPEAKER);
    out->clock_set = trusted;
    struct uplink_status_info u;
    if (k->o.data_dir && uplink_status_read(k->o.data_dir, &u) == 0) {
        snprintf(out->relay_url, sizeof out->relay_url, "%s", u.relay_url);
        out->uplink_state = u.state == UPLINK_ST_NO_RELAY  ? UI_UPLINK_NO_RELAY
                            : u.state == UPLINK_ST_SENDING ? UI_UPLINK_SENDING
                            : u.state == UPLINK_ST_FAILING ? UI_UPLINK_FAILING
                                                           : UI_UPLINK_IDLE;
        out->uplink_age_s = now - u.updated;
        out->uplink_error = uplink_error_kind(u.error);
        out->uplink_error_age_s = u.error_at ? now - u.error_at : 0;
    }
    net_addrs(out);
}

static void staff_host(struct ui_host *h)
{
    h->prompt_state = h_prompt_state;
    h->prompt_play_own = h_prompt_play_own;
    h->prompt_take_play = h_prompt_take_play;
    h->prompt_take_keep = h_prompt_take_keep;
    h->prompt_take_drop = h_prompt_take_drop;
    h->usb_export = h_usb_export;
    h->usb_import = h_usb_import;
    h->tech_facts = h_tech_facts;
}
