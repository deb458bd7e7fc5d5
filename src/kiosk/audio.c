/* audio — the parts of the audio port that need no device: the level meter. */
#include "kiosk/audio.h"

#include <math.h>

int audio_level(const int16_t *pcm, size_t n)
{
    if (!pcm || n == 0)
        return 0;
    /* Sum in double: 2^30 per sample times minutes of samples overflows
       nothing, and a few thousand samples per frame cost nothing. */
    double sum = 0;
    for (size_t i = 0; i < n; i++)
        sum += (double)pcm[i] * pcm[i];
    double rms = sqrt(sum / (double)n) / 32768.0;
    if (rms <= 0)
        return 0;
    double db = 20.0 * log10(rms);
    /* -60 dBFS is room noise on a cheap USB microphone, -10 dBFS a voice
       close to it: the meter moves over the range a speaker can change. */
    double v = (db + 60.0) * 2.0;
    if (v <= 0)
        return 0;
    if (v >= 100)
        return 100;
    return (int)lround(v);
}
