/* heartbeat — see heartbeat.h. */
#include "core/heartbeat.h"

#include <string.h>

#include <sodium.h>

#include "core/errbuf.h"

#define OFF_MAGIC 0
#define OFF_FORMAT 4
#define OFF_WAITING 8
#define OFF_FAULTS 12
#define OFF_OLDEST 16
#define OFF_UPTIME 24
#define OFF_SENT 32
#define OFF_PK 40
#define OFF_VERSION 72
#define OFF_ZERO 104
#define OFF_SIG 192
#define FORMAT 1

static const uint8_t MAGIC[4] = {'H', 'M', 'H', 'B'};

/*
 * A copy of kiosk/leds.c's fault_names (the red LED's codes, docs/leds.md):
 * core must not need kiosk code. test_heartbeat checks both say the same.
 */
static const char *const fault_names[HEARTBEAT_NFAULTS] = {
    "no post key",   "queue error",       "disk nearly full",
    "no microphone", "nothing delivered", "no speaker",
};

int heartbeat_fault_code(uint32_t bit)
{
    for (int i = 0; i < HEARTBEAT_NFAULTS; i++)
        if (bit == (1u << i))
            return i + 1;
    return 0;
}

const char *heartbeat_fault_name(int code)
{
    return code >= 1 && code <= HEARTBEAT_NFAULTS ? fault_names[code - 1] : "";
}

size_t heartbeat_fault_codes(uint32_t faults, int codes[HEARTBEAT_NFAULTS])
{
    size_t n = 0;
    for (int i = 0; i < HEARTBEAT_NFAULTS; i++)
        if (faults & (1u << i))
            codes[n++] = i + 1;
    return n;
}

static void put32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static void put64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t get32(const uint8_t *p)
{
    uint32_t v = 0;
    for (int i = 3; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

static uint64_t get64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

static int version_char(unsigned char c)
{
    return c > 0x20 && c < 0x7f && c != '"' && c != '\\';
}

int heartbeat_encode(const struct heartbeat *hb, const uint8_t device_sk[64],
                     uint8_t out[HEARTBEAT_PLAIN_BYTES], char *err, size_t errlen)
{
    if (!hb || !device_sk || !out)
        return errbuf_say(err, errlen, HEARTBEAT_E_ARG, "heartbeat_encode: missing argument");
    if (hb->faults & ~HEARTBEAT_FAULT_MASK)
        return errbuf_say(err, errlen, HEARTBEAT_E_ARG, "heartbeat: unknown fault bits 0x%x",
                          (unsigned)(hb->faults & ~HEARTBEAT_FAULT_MASK));
    size_t vl = strnlen(hb->version, sizeof hb->version);
    if (vl == 0 || vl > HEARTBEAT_VERSION_MAX)
        return errbuf_say(err, errlen, HEARTBEAT_E_ARG,
                          "heartbeat: the version must be 1 to %d characters",
                          HEARTBEAT_VERSION_MAX);
    for (size_t i = 0; i < vl; i++)
        if (!version_char((unsigned char)hb->version[i]))
            return errbuf_say(err, errlen, HEARTBEAT_E_ARG,
                              "heartbeat: the version must be printable ASCII without spaces");
    memset(out, 0, HEARTBEAT_PLAIN_BYTES);
    memcpy(out + OFF_MAGIC, MAGIC, 4);
    out[OFF_FORMAT] = FORMAT;
    put32(out + OFF_WAITING, hb->tips_waiting);
    put32(out + OFF_FAULTS, hb->faults);
    put64(out + OFF_OLDEST, hb->oldest_waiting_s);
    put64(out + OFF_UPTIME, hb->uptime_s);
    put64(out + OFF_SENT, (uint64_t)hb->sent_at);
    memcpy(out + OFF_PK, device_sk + 32, 32); /* libsodium: seed || public key */
    memcpy(out + OFF_VERSION, hb->version, vl);
    crypto_sign_detached(out + OFF_SIG, NULL, out, OFF_SIG, device_sk);
    return 0;
}

int heartbeat_seal(const struct heartbeat *hb, const uint8_t device_sk[64],
                   const uint8_t post_pk[32], uint8_t out[HEARTBEAT_SEALED_BYTES], char *err,
                   size_t errlen)
{
    if (!post_pk || !out)
        return errbuf_say(err, errlen, HEARTBEAT_E_ARG, "heartbeat_seal: missing argument");
    uint8_t plain[HEARTBEAT_PLAIN_BYTES];
    int rc = heartbeat_encode(hb, device_sk, plain, err, errlen);
    if (rc)
        return rc;
    if (crypto_box_seal(out, plain, sizeof plain, post_pk) != 0)
        rc = errbuf_say(err, errlen, HEARTBEAT_E_SEAL,
                        "heartbeat: cannot seal to the post's key (is post_key right?)");
    sodium_memzero(plain, sizeof plain);
    return rc;
}

static int bad(struct heartbeat *out, char *err, size_t errlen, const char *why)
{
    memset(out, 0, sizeof *out);
    return errbuf_say(err, errlen, HEARTBEAT_E_MALFORMED, "not a heartbeat: %s", why);
}

static int all_zero(const uint8_t *p, size_t n)
{
    uint8_t acc = 0;
    for (size_t i = 0; i < n; i++)
        acc |= p[i];
    return acc == 0;
}

int heartbeat_parse(const uint8_t *plain, size_t len, struct heartbeat *out, char *err,
                    size_t errlen)
{
    if (!out)
        return errbuf_say(err, errlen, HEARTBEAT_E_ARG, "heartbeat_parse: missing argument");
    memset(out, 0, sizeof *out);
    if (!plain || len != HEARTBEAT_PLAIN_BYTES)
        return bad(out, err, errlen, "wrong length");
    if (memcmp(plain + OFF_MAGIC, MAGIC, 4) != 0)
        return bad(out, err, errlen, "no HMHB mark");
    if (plain[OFF_FORMAT] != FORMAT)
        return errbuf_say(err, errlen, HEARTBEAT_E_MALFORMED,
                          "not a heartbeat this post reads: format %u (update the station)",
                          plain[OFF_FORMAT]);
    if (!all_zero(plain + OFF_FORMAT + 1, 3) || !all_zero(plain + OFF_ZERO, OFF_SIG - OFF_ZERO))
        return bad(out, err, errlen, "reserved bytes are not zero");
    uint32_t faults = get32(plain + OFF_FAULTS);
    if (faults & ~HEARTBEAT_FAULT_MASK)
        return bad(out, err, errlen, "unknown fault bits");
    uint64_t sent = get64(plain + OFF_SENT);
    if (sent > INT64_MAX)
        return bad(out, err, errlen, "sending time out of range");
    /* The version: 1..31 printable characters, then NULs only. */
    size_t vl = 0;
    while (vl < 32 && plain[OFF_VERSION + vl])
        vl++;
    if (vl == 0 || vl > HEARTBEAT_VERSION_MAX)
        return bad(out, err, errlen, "bad version length");
    for (size_t i = 0; i < vl; i++)
        if (!version_char(plain[OFF_VERSION + i]))
            return bad(out, err, errlen, "version is not printable ASCII");
    if (!all_zero(plain + OFF_VERSION + vl, 32 - vl))
        return bad(out, err, errlen, "bytes after the version");
    if (crypto_sign_verify_detached(plain + OFF_SIG, plain, OFF_SIG, plain + OFF_PK) != 0)
        return errbuf_say(err, errlen, HEARTBEAT_E_SIGNATURE,
                          "heartbeat not signed by the device key it names");
    out->tips_waiting = get32(plain + OFF_WAITING);
    out->faults = faults;
    out->oldest_waiting_s = get64(plain + OFF_OLDEST);
    out->uptime_s = get64(plain + OFF_UPTIME);
    out->sent_at = (int64_t)sent;
    memcpy(out->device_pk, plain + OFF_PK, 32);
    memcpy(out->version, plain + OFF_VERSION, vl);
    out->version[vl] = 0;
    return 0;
}
