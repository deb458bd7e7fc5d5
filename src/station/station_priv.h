/*
 * station_priv — what the station's parts share: the struct behind
 * station.h, and the request handlers (api_*.c) that station.c routes to.
 *
 * Threads: libmicrohttpd's one polling thread runs every handler, the
 * keeper thread (idle lock, indexing new tips, disk space) and the puller
 * thread run beside it. `mu` guards everything the handlers and the keeper
 * share; the puller has its own console (console.h is one per thread) and
 * only touches `pull` under `pmu`.
 */
#ifndef HOMTHU_STATION_PRIV_H
#define HOMTHU_STATION_PRIV_H

#include <pthread.h>
#include <stdint.h>

#include <microhttpd.h>

#include "post/console.h"
#include "station/http.h"
#include "station/station.h"

struct officers;
struct sessions;
struct audit;
struct tipindex;
struct health;

struct pull_state {
    char post_name[128]; /* post.conf's post_name, as the last pull read it */
    int64_t last_ok, last_try;
    char error[512];
};

struct station {
    char dir[4096];
    int pull_seconds, idle_lock_seconds, session_idle_seconds;
    int tls;
    char fingerprint[128];
    char *cert_pem, *key_pem;
    struct MHD_Daemon *mhd;

    pthread_mutex_t mu;
    struct console *c; /* NULL while the store cannot be opened (store_error says why) */
    char store_error[512];
    struct officers *of;
    struct sessions *ss;
    struct audit *au;
    struct tipindex *ix;
    struct health *hl;
    char setup_code[32];
    int64_t last_officer_request;
    /* The tip last opened, kept for the audio player's range requests. */
    struct console_tip *open_tip;
    int64_t open_seq, open_at;
    char open_listened[40]; /* who was last told of listening to it (one audit line) */
    int64_t disk_free_mb;
    int64_t disk_checked;

    pthread_mutex_t pmu;
    struct pull_state pull;

    pthread_t keeper, puller;
    int keeper_on, puller_on;
    volatile int stopping;
};

/* The officer making a request, once the session checks out. */
struct who {
    char name[40];
    int role; /* enum officer_role */
    char csrf[64];
};

/* Each handler runs with s->mu held. */
typedef enum MHD_Result (*api_fn)(struct station *s, struct MHD_Connection *con,
                                  const struct http_req *r, const struct who *w, const char *arg);

enum MHD_Result api_state(struct station *s, struct MHD_Connection *con, const struct http_req *r,
                          const struct who *w, const char *arg);
enum MHD_Result api_setup(struct station *s, struct MHD_Connection *con, const struct http_req *r,
                          const struct who *w, const char *arg);
enum MHD_Result api_login(struct station *s, struct MHD_Connection *con, const struct http_req *r,
                          const struct who *w, const char *arg);
enum MHD_Result api_logout(struct station *s, struct MHD_Connection *con,
                           const struct http_req *r, const struct who *w, const char *arg);
enum MHD_Result api_unlock(struct station *s, struct MHD_Connection *con,
                           const struct http_req *r, const struct who *w, const char *arg);
enum MHD_Result api_lock(struct station *s, struct MHD_Connection *con, const struct http_req *r,
                         const struct who *w, const char *arg);
enum MHD_Result api_tips(struct station *s, struct MHD_Connection *con, const struct http_req *r,
                         const struct who *w, const char *arg);
enum MHD_Result api_tips_csv(struct station *s, struct MHD_Connection *con,
                             const struct http_req *r, const struct who *w, const char *arg);
enum MHD_Result api_tip(struct station *s, struct MHD_Connection *con, const struct http_req *r,
                        const struct who *w, const char *arg);
enum MHD_Result api_tip_audio(struct station *s, struct MHD_Connection *con,
                              const struct http_req *r, const struct who *w, const char *arg);
enum MHD_Result api_tip_status(struct station *s, struct MHD_Connection *con,
                               const struct http_req *r, const struct who *w, const char *arg);
enum MHD_Result api_tip_assign(struct station *s, struct MHD_Connection *con,
                               const struct http_req *r, const struct who *w, const char *arg);
enum MHD_Result api_audit(struct station *s, struct MHD_Connection *con, const struct http_req *r,
                          const struct who *w, const char *arg);
enum MHD_Result api_officers(struct station *s, struct MHD_Connection *con,
                             const struct http_req *r, const struct who *w, const char *arg);
enum MHD_Result api_officer_add(struct station *s, struct MHD_Connection *con,
                                const struct http_req *r, const struct who *w, const char *arg);
enum MHD_Result api_officer_password(struct station *s, struct MHD_Connection *con,
                                     const struct http_req *r, const struct who *w,
                                     const char *arg);
enum MHD_Result api_officer_disable(struct station *s, struct MHD_Connection *con,
                                    const struct http_req *r, const struct who *w,
                                    const char *arg);
enum MHD_Result api_kiosks(struct station *s, struct MHD_Connection *con,
                           const struct http_req *r, const struct who *w, const char *arg);
enum MHD_Result api_kiosk_enrol(struct station *s, struct MHD_Connection *con,
                                const struct http_req *r, const struct who *w, const char *arg);
enum MHD_Result api_kiosk_revoke(struct station *s, struct MHD_Connection *con,
                                 const struct http_req *r, const struct who *w, const char *arg);

/* Shared by the handlers (station.c). */
int64_t station_now(void);
/* Lock the key and forget everything opened with it (s->mu held). */
void station_lock_all(struct station *s);
/* An audit line (never tip content in `detail`); failures go to the log. */
void station_audit(struct station *s, const struct who *w, const char *action, const char *tip,
                   const char *detail);
/* Forget the cached open tip. */
void station_drop_open_tip(struct station *s);
/* Log a line for the technician (stderr: journald). Never tip content. */
void station_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Answer 503 when the store is not open: non-zero when it answered. */
int station_store_missing(struct station *s, struct MHD_Connection *con, enum MHD_Result *ret);
/* The session after login: cookie and the {"me","csrf"} answer. */
enum MHD_Result station_new_session(struct station *s, struct MHD_Connection *con,
                                    const char *name, int role);

#endif
