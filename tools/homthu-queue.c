/*
 * homthu-queue — the technician's look into a kiosk's tip queue.
 *
 *   homthu-queue [--json] DATA_DIR         counts, sizes, ages, faults
 *   homthu-queue --list [--json] DATA_DIR  one line per tip
 *   homthu-queue --check DATA_DIR          full integrity check
 *
 * It opens the queue read-only (safe while the kiosk runs: it never
 * creates, repairs or moves anything) and never decrypts: it has no key
 * and shows only what the relay could see too — sizes, states and times.
 * The queue keeps times only to QUEUE_TIME_GRAIN_S (rounded down) and
 * forgets delivered tips but for counts, so ages are shown as the range
 * the truth lies in ("8-14 h"), and delivered tips only as totals.
 *
 * Exit status: 0 fine, 1 no queue / damaged / failed check, 2 bad usage.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/queue.h"

static void usage(FILE *f)
{
    fputs("usage: homthu-queue [--json] DATA_DIR\n"
          "       homthu-queue --list [--json] DATA_DIR\n"
          "       homthu-queue --check DATA_DIR\n"
          "Shows the kiosk's tip queue in DATA_DIR (the directory holding queue.db):\n"
          "how many tips wait to be sent, how old the oldest is, how many were cut short\n"
          "by a power loss. Read-only; never decrypts anything.\n",
          f);
}

/* "33.1 KiB": sizes a person compares at a glance. */
static const char *human_bytes(uint64_t n, char *buf, size_t len)
{
    if (n < 1024)
        snprintf(buf, len, "%" PRIu64 " B", n);
    else if (n < 1024 * 1024)
        snprintf(buf, len, "%.1f KiB", (double)n / 1024);
    else if (n < 1024ull * 1024 * 1024)
        snprintf(buf, len, "%.1f MiB", (double)n / (1024 * 1024));
    else
        snprintf(buf, len, "%.1f GiB", (double)n / (1024.0 * 1024 * 1024));
    return buf;
}

/*
 * The age of something stored at the rounded-down time `at`: the truth
 * lies in (now - at - grain, now - at]. "0-5 h", "8-14 h", "2.8-3.1 days":
 * enough to tell "today" from "stuck for days", and no finer than kept.
 */
static const char *human_age(int64_t now, int64_t at, char *buf, size_t len)
{
    int64_t hi = now - at, lo = hi - QUEUE_TIME_GRAIN_S;
    if (lo < 0)
        lo = 0;
    if (hi < 0)
        snprintf(buf, len, "in the future (clock changed)");
    else if (hi < 2 * 86400)
        snprintf(buf, len, "%lld-%lld h", (long long)(lo / 3600), (long long)((hi + 3599) / 3600));
    else
        snprintf(buf, len, "%.1f-%.1f days", (double)(lo / 8640) / 10,
                 (double)((hi + 8639) / 8640) / 10);
    return buf;
}

static const char *plural(uint64_t n)
{
    return n == 1 ? "tip" : "tips";
}

static void hex_id(const uint8_t id[16], int nbytes, char *out)
{
    static const char hex[] = "0123456789abcdef";
    for (int i = 0; i < nbytes; i++) {
        out[2 * i] = hex[id[i] >> 4];
        out[2 * i + 1] = hex[id[i] & 15];
    }
    out[2 * nbytes] = 0;
}

static void json_string(const char *s)
{
    putchar('"');
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            printf("\\%c", c);
        else if (c < 0x20)
            printf("\\u%04x", c);
        else
            putchar(c);
    }
    putchar('"');
}

/* The oldest waiting tip, in queue order (the clock may have been unset). */
struct oldest {
    int found;
    struct queue_tip t;
};

static int find_oldest(void *ctx, const struct queue_tip *t)
{
    struct oldest *o = ctx;
    if (t->state != QUEUE_SEALED && t->state != QUEUE_UPLOADING)
        return 0;
    o->found = 1;
    o->t = *t;
    return 1;
}

static int summary(struct queue *q, const char *dir, int json, int64_t now)
{
    struct queue_stats s;
    struct oldest o = {0};
    if (queue_stats(q, &s) != 0 || queue_foreach(q, find_oldest, &o) != 0) {
        fprintf(stderr, "homthu-queue: cannot read the queue in %s: check the SD card\n", dir);
        return 1;
    }
    uint64_t waiting = (uint64_t)s.count[QUEUE_SEALED] + s.count[QUEUE_UPLOADING];
    uint64_t waiting_bytes = s.bytes[QUEUE_SEALED] + s.bytes[QUEUE_UPLOADING];
    /* Delivered tips are gone from the card; the queue counts them. */
    uint64_t delivered = (uint64_t)s.count[QUEUE_DELIVERED] + s.count[QUEUE_PURGED];
    char b1[32], b2[64];
    if (json) {
        printf("{\"dir\": ");
        json_string(dir);
        printf(", \"waiting\": %" PRIu64 ", \"waiting_bytes\": %" PRIu64, waiting, waiting_bytes);
        /* The upper bound: the truth is up to time_grain_s less. */
        printf(", \"oldest_waiting_age_s\": ");
        if (o.found && o.t.clock_trusted)
            printf("%lld", (long long)(now - o.t.created));
        else
            printf("null");
        printf(", \"time_grain_s\": %d, \"states\": {", QUEUE_TIME_GRAIN_S);
        for (int i = 0; i <= QUEUE_UPLOADING; i++)
            printf("%s\"%s\": {\"tips\": %u, \"bytes\": %" PRIu64 "}", i ? ", " : "",
                   queue_state_name(i), s.count[i], s.bytes[i]);
        printf("}, \"delivered\": {\"tips\": %" PRIu64 ", \"bytes\": %" PRIu64
               ", \"last_age_s\": ",
               delivered, s.delivered_bytes);
        if (s.last_delivered)
            printf("%lld}", (long long)(now - s.last_delivered));
        else
            printf("null}");
        printf(", \"cut_short\": %u, \"db_bytes\": %" PRIu64 "}\n", s.cut_short, s.db_bytes);
        return 0;
    }
    printf("queue:          %s/%s\n", dir, QUEUE_DB_NAME);
    printf("waiting:        %" PRIu64 " %s, %s", waiting, plural(waiting),
           human_bytes(waiting_bytes, b1, sizeof b1));
    if (!o.found)
        printf("\n");
    else if (o.t.clock_trusted)
        printf(", oldest waiting %s\n", human_age(now, o.t.created, b2, sizeof b2));
    else
        printf(", oldest waiting: age unknown (recorded before the kiosk's clock was set)\n");
    for (int i = 0; i <= QUEUE_UPLOADING; i++) {
        char label[32];
        snprintf(label, sizeof label, "%s:", queue_state_name(i));
        printf("%-15s %u %s", label, s.count[i], plural(s.count[i]));
        if (s.bytes[i])
            printf(", %s", human_bytes(s.bytes[i], b1, sizeof b1));
        printf("\n");
    }
    printf("delivered:      %" PRIu64 " %s", delivered, plural(delivered));
    if (s.delivered_bytes)
        printf(", %s", human_bytes(s.delivered_bytes, b1, sizeof b1));
    if (s.last_delivered)
        printf(", the last %s ago", human_age(now, s.last_delivered, b2, sizeof b2));
    printf("%s\n", delivered ? " (forgotten by the kiosk: only counted)" : "");
    printf("cut short:      %u %s%s\n", s.cut_short, plural(s.cut_short),
           s.cut_short ? " (power was lost while recording; the post gets what was said)" : "");
    printf("times:          kept to %d h, rounded down: ages are ranges\n",
           QUEUE_TIME_GRAIN_S / 3600);
    printf("database size:  %s\n", human_bytes(s.db_bytes, b1, sizeof b1));
    return 0;
}

struct lister {
    int json, n;
    int64_t now;
};

static int list_one(void *ctx, const struct queue_tip *t)
{
    struct lister *l = ctx;
    char id[33], size[32], age[64];
    hex_id(t->id, l->json ? 16 : 4, id);
    if (l->json) {
        printf("%s{\"id\": \"%s\", \"state\": \"%s\", \"bytes\": %" PRIu64
               ", \"upload_offset\": %" PRIu64 ", \"created\": %lld, \"clock_trusted\": %s"
               ", \"cut_short\": %s}",
               l->n ? ",\n " : "", id, queue_state_name(t->state), t->bytes, t->upload_offset,
               (long long)t->created, t->clock_trusted ? "true" : "false",
               t->cut_short ? "true" : "false");
        l->n++;
        return 0;
    }
    if (t->clock_trusted)
        human_age(l->now, t->created, age, sizeof age);
    else
        snprintf(age, sizeof age, "?");
    char flags[96] = "";
    size_t fl = 0;
    if (t->cut_short)
        fl += (size_t)snprintf(flags + fl, sizeof flags - fl, " cut-short");
    if (!t->clock_trusted)
        fl += (size_t)snprintf(flags + fl, sizeof flags - fl, " clock-unset");
    if (t->state == QUEUE_UPLOADING && fl < sizeof flags) {
        char sent[32];
        snprintf(flags + fl, sizeof flags - fl, " sent-%s",
                 human_bytes(t->upload_offset, sent, sizeof sent));
    }
    printf("%-8s  %-9s  %10s  %-14s %s\n", id, queue_state_name(t->state),
           human_bytes(t->bytes, size, sizeof size), age, flags[0] ? flags + 1 : "");
    l->n++;
    return 0;
}

int main(int argc, char **argv)
{
    int json = 0, list = 0, check = 0;
    const char *dir = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0)
            json = 1;
        else if (strcmp(argv[i], "--list") == 0)
            list = 1;
        else if (strcmp(argv[i], "--check") == 0)
            check = 1;
        else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            usage(stdout);
            return 0;
        } else if (argv[i][0] == '-' || dir) {
            usage(stderr);
            return 2;
        } else
            dir = argv[i];
    }
    if (!dir || (check && (list || json))) {
        usage(stderr);
        return 2;
    }

    char err[512] = "";
    struct queue *q = NULL;
    if (queue_open_readonly(&q, dir, err, sizeof err) != 0) {
        fprintf(stderr, "homthu-queue: %s\n", err);
        return 1;
    }
    int64_t now = (int64_t)time(NULL);
    int rc = 0;
    if (check) {
        if (queue_check(q, err, sizeof err) != 0) {
            fprintf(stderr, "homthu-queue: %s\n", err);
            rc = 1;
        } else {
            printf("queue database %s/%s is sound\n", dir, QUEUE_DB_NAME);
        }
    } else if (list) {
        struct lister l = {.json = json, .now = now};
        if (json)
            printf("[");
        else
            printf("%-8s  %-9s  %10s  %-14s %s\n", "ID", "STATE", "SIZE", "AGE", "FLAGS");
        if (queue_foreach(q, list_one, &l) != 0) {
            fprintf(stderr, "homthu-queue: cannot list the queue in %s: check the SD card\n", dir);
            rc = 1;
        }
        if (json)
            printf("]\n");
        else if (!l.n)
            printf("(no tips)\n");
    } else {
        rc = summary(q, dir, json, now);
    }
    queue_close(q);
    return rc;
}
