/*
 * api_kiosks — the kiosks as the post sees them (enrolment, revocation,
 * tips held, the last signed heartbeat) and enrolling or revoking one from
 * the page, told to the relay at once (docs/station-api.md). Every handler
 * runs with s->mu held (station_priv.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "core/heartbeat.h"
#include "core/registry.h"
#include "post/pull.h"
#include "station/health.h"
#include "station/officers.h"
#include "station/station_priv.h"

static void beat_fields(struct station *s, struct json *j, const struct console_kiosk *k)
{
    int64_t at = 0;
    uint8_t sealed[HEARTBEAT_SEALED_BYTES];
    char err[256] = "";
    int have = s->hl && health_get(s->hl, k->device_pk, &at, sealed, err, sizeof err) == 0;
    json_kint(j, "last_contact", have ? at : 0);
    json_key(j, "heartbeat");
    struct heartbeat hb;
    if (!have || !console_unlocked(s->c) ||
        health_open_beat(s->c, sealed, sizeof sealed, &hb, err, sizeof err) != 0 ||
        memcmp(hb.device_pk, k->device_pk, 32) != 0) {
        json_null(j);
        return;
    }
    json_obj(j);
    json_kint(j, "tips_waiting", hb.tips_waiting);
    json_kint(j, "oldest_waiting_s", (int64_t)hb.oldest_waiting_s);
    json_key(j, "faults");
    json_arr(j);
    int codes[HEARTBEAT_NFAULTS];
    size_t n = heartbeat_fault_codes(hb.faults, codes);
    for (size_t i = 0; i < n; i++) {
        json_obj(j);
        json_kint(j, "code", codes[i]);
        json_kstr(j, "name", heartbeat_fault_name(codes[i]));
        json_end(j);
    }
    json_end(j);
    json_kstr(j, "version", hb.version);
    json_kint(j, "uptime_s", (int64_t)hb.uptime_s);
    json_end(j);
}

enum MHD_Result api_kiosks(struct station *s, struct MHD_Connection *con,
                           const struct http_req *r, const struct who *w, const char *arg)
{
    (void)r, (void)w, (void)arg;
    enum MHD_Result ret;
    if (station_store_missing(s, con, &ret))
        return ret;
    struct console_kiosk *ks = NULL;
    size_t n = 0;
    char err[512] = "";
    if (console_kiosks(s->c, &ks, &n, err, sizeof err))
        return http_error(con, 500, "io", err, 0);
    struct json j;
    json_init(&j);
    json_obj(&j);
    json_key(&j, "kiosks");
    json_arr(&j);
    for (size_t i = 0; i < n; i++) {
        const struct console_kiosk *k = &ks[i];
        char commune[128] = "";
        if (s->hl && health_commune(s->hl, k->id, commune, sizeof commune, err, sizeof err) != 0)
            commune[0] = 0;
        json_obj(&j);
        json_kstr(&j, "id", k->id);
        json_kstr(&j, "commune", commune);
        json_kbool(&j, "enrolled_known", k->enrolled);
        json_kint(&j, "enrolled", k->enrolled_at);
        json_kint(&j, "revoked", k->revoked ? k->revoked_at : 0);
        json_kstr(&j, "reason", k->reason);
        json_kint(&j, "tips_held", k->tips);
        json_kint(&j, "last_tip", k->last_received);
        beat_fields(s, &j, k);
        json_end(&j);
    }
    json_end(&j);
    json_end(&j);
    free(ks);
    return http_json(con, 200, &j);
}

/* Tell the relay (when post.conf names one); "told" or "not told: why". */
static void tell_relay(struct station *s, int revoke, const char *id, const uint8_t pk[32],
                       const char *reason, char *out, size_t cap)
{
    char err[512] = "";
    struct pull_settings *ps = sodium_malloc(sizeof *ps);
    if (!ps) {
        snprintf(out, cap, "not told: out of memory");
        return;
    }
    int rc = pull_read_conf(s->c, ps, NULL, err, sizeof err);
    if (rc == 0 && !ps->relay[0])
        snprintf(out, cap, "not told: post.conf names no relay");
    else if (rc == 0 && (revoke ? pull_tell_relay_revoke(ps, id, reason, err, sizeof err)
                                : pull_tell_relay_enrol(ps, id, pk, err, sizeof err)) == 0)
        snprintf(out, cap, "told");
    else
        snprintf(out, cap, "not told: %s", err);
    sodium_free(ps);
}

static enum MHD_Result relay_answer(struct MHD_Connection *con, const char *told)
{
    struct json j;
    json_init(&j);
    json_obj(&j);
    json_kstr(&j, "relay", told);
    json_end(&j);
    return http_json(con, 200, &j);
}

enum MHD_Result api_kiosk_enrol(struct station *s, struct MHD_Connection *con,
                                const struct http_req *r, const struct who *w, const char *arg)
{
    (void)arg;
    enum MHD_Result ret;
    if (station_store_missing(s, con, &ret))
        return ret;
    const char *id = http_field(r, "id"), *key = http_field(r, "device_key"),
               *commune = http_field(r, "commune");
    uint8_t pk[32];
    size_t pklen = 0;
    if (!id || !key ||
        sodium_base642bin(pk, sizeof pk, key, strlen(key), " \n", &pklen, NULL,
                          sodium_base64_VARIANT_ORIGINAL) != 0 ||
        pklen != sizeof pk)
        return http_error(con, 400, "bad_request",
                          "id and device_key (the kiosk's public key in base64, 44 characters) "
                          "are needed",
                          0);
    char err[512] = "", told[600];
    int rc = registry_enrol(console_registry(s->c), id, pk, station_now(), err, sizeof err);
    struct registry_entry have;
    char why[256];
    /*
     * Enrolled here already with this very key (homthu-provision kiosk-new
     * enrols in the post's folder): only the relay still needs telling.
     */
    if (rc == REGISTRY_E_EXISTS &&
        registry_get(console_registry(s->c), id, &have, why, sizeof why) == 0 &&
        sodium_memcmp(have.device_pk, pk, sizeof pk) == 0 && !have.revoked)
        rc = 0;
    if (rc == REGISTRY_E_EXISTS)
        return http_error(con, 409, "exists", err, 0);
    if (rc == REGISTRY_E_ARG)
        return http_error(con, 400, "bad_request", err, 0);
    if (rc)
        return http_error(con, 500, "io", err, 0);
    if (commune && *commune && s->hl && health_set_commune(s->hl, id, commune, err, sizeof err))
        station_log("commune of %s not kept: %s", id, err);
    tell_relay(s, 0, id, pk, NULL, told, sizeof told);
    station_audit(s, w, "kiosk_enrolled", "", id);
    return relay_answer(con, told);
}

enum MHD_Result api_kiosk_revoke(struct station *s, struct MHD_Connection *con,
                                 const struct http_req *r, const struct who *w, const char *arg)
{
    enum MHD_Result ret;
    if (station_store_missing(s, con, &ret))
        return ret;
    const char *reason = http_field(r, "reason");
    if (!reason || !*reason)
        return http_error(con, 400, "bad_request", "say why the kiosk is revoked", 0);
    char err[512] = "", told[600];
    int rc = registry_revoke(console_registry(s->c), arg, reason, station_now(), err, sizeof err);
    if (rc == REGISTRY_E_NOTFOUND)
        return http_error(con, 404, "not_found", err, 0);
    if (rc == REGISTRY_E_REVOKED || rc == REGISTRY_E_ARG)
        return http_error(con, 400, "bad_request", err, 0);
    if (rc)
        return http_error(con, 500, "io", err, 0);
    tell_relay(s, 1, arg, NULL, reason, told, sizeof told);
    char d[300];
    snprintf(d, sizeof d, "%s: %s", arg, reason);
    station_audit(s, w, "kiosk_revoked", "", d);
    return relay_answer(con, told);
}
