/*
 * kiosk — what the UI's host calls do: the glue between the screens and
 * the tip (tip.h), the microphone and speaker (audio.h), the voice prompts
 * (prompts.h), the catalogs (i18n.h) and the queue (queue.h).
 *
 * It holds the person's recording only as the Ogg Opus bytes needed to
 * "listen back", in locked memory capped at the longest recording, zeroed
 * when the tip ends. Faults it meets (no microphone, queue errors, disk
 * full) are kept as flags for the technician's screen and the LEDs and
 * logged, never with tip content.
 *
 * Not here: drawing (render.h), layout and flow (ui.h), opening things (app.h).
 */
#ifndef HOMTHU_KIOSK_H
#define HOMTHU_KIOSK_H

#include <stddef.h>
#include <stdint.h>

#include "kiosk/audio.h"
#include "kiosk/tip.h"
#include "kiosk/ui.h"

struct prompts;
struct i18n;
struct queue;

enum kiosk_fault {
    KIOSK_FAULT_NO_MICROPHONE = 1 << 0,
    KIOSK_FAULT_QUEUE = 1 << 1,      /* the queue refused a write */
    KIOSK_FAULT_DISK_FULL = 1 << 2,
    KIOSK_FAULT_NO_POST_KEY = 1 << 3,
    KIOSK_FAULT_NO_SPEAKER = 1 << 4,
};

struct kiosk_opts {
    struct queue *queue;             /* borrowed; NULL: cannot take tips */
    const struct tip_keys *keys;     /* copied; NULL: no post key */
    const struct audio_port *audio;  /* copied; closed by kiosk_free */
    struct prompts *prompts;         /* borrowed, may be NULL (silent) */
    struct i18n *i18n;               /* borrowed, may be NULL (English msgids) */
    int opus_bitrate;                /* 0 = default */
    int max_record_seconds;
    int training;
    int volume;                      /* percent */
    int64_t (*wall_clock)(int *trusted); /* NULL: time(NULL), untrusted */
    const char *kiosk_id;            /* for the technician's screen */
    const char *data_dir;            /* its free space is shown there */
    void (*led_test)(void *ctx);     /* every LED in turn; NULL: no LEDs */
    void *led_ctx;
    void (*log)(const char *line);   /* NULL: stderr */
};

struct kiosk;

int kiosk_new(struct kiosk **out, const struct kiosk_opts *o, char *err, size_t errlen)
    __attribute__((warn_unused_result));
/* Discards a tip in progress, zeroes and frees. NULL is a no-op. */
void kiosk_free(struct kiosk *k);

/* Fill the UI's host table with this kiosk's calls. */
void kiosk_host(struct kiosk *k, struct ui_host *h);

/* Play the prompts the UI asked for since the last call. The host calls it
   right after drawing, so a touch's new screen shows before its prompt is
   decoded (a prompt takes longer to decode than a frame to draw). */
void kiosk_speak(struct kiosk *k);

/* Move what the microphone heard into the tip; call often while recording. */
void kiosk_pump(struct kiosk *k);
int kiosk_recording(const struct kiosk *k);
/* Seconds of audio in the tip being recorded (0 without one). */
double kiosk_seconds(const struct kiosk *k);
/* How long sealing and committing the last tip took ("send" to durable). */
double kiosk_last_send_ms(const struct kiosk *k);
/* 1 while a prompt or the recording is being played. */
int kiosk_playing(const struct kiosk *k);

unsigned kiosk_faults(const struct kiosk *k);
int kiosk_has_microphone(struct kiosk *k);
void kiosk_set_volume(struct kiosk *k, int percent);

#endif
