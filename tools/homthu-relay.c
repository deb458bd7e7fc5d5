/*
 * homthu-relay — the relay daemon: kiosks upload sealed tips to it (tus
 * 1.0), the post console fetches them (docs/relay-protocol.md). The logic
 * is src/relay/relay.c; this is its command line, its signals and its log.
 *
 *   homthu-relay --config /etc/homthu/relay.conf
 *   homthu-relay --config relay.conf --check    check the file, the store
 *                                                and the registry, then exit
 *   homthu-relay --config relay.conf post-add NAME --post-pub post.pub
 *                a relay of many posts (PostgreSQL): add a post, print its token
 *
 * Logs go to stderr (journald under systemd), one line per event, and
 * never hold tip content: tip ids, sizes, kiosk ids, key fingerprints and
 * statuses only. SIGTERM or SIGINT stop it cleanly: uploads in flight keep
 * the bytes that arrived.
 *
 * Exit status: 0 stopped cleanly / check passed, 1 failed, 2 bad usage.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <pthread.h>
#include <sodium.h>

#include "core/config.h"
#include "core/keys.h"
#include "relay/relay.h"

#define PROG "homthu-relay"

static void usage(FILE *f)
{
    fputs("usage: " PROG " --config FILE [--check]\n"
          "       " PROG " --config FILE post-add NAME --post-pub post.pub\n"
          "Runs the Hòm thư relay: kiosks upload sealed tips to it, the post fetches them.\n"
          "  --config FILE  relay.conf (keys in docs/relay.md)\n"
          "  --check        check relay.conf, the store and the registry, then exit\n"
          "  post-add NAME  a relay of many posts (database = postgresql://...): add post\n"
          "                 NAME, whose kiosks seal to post.pub, and print its new token\n"
          "                 (the post station's relay_token; shown once, kept only hashed)\n",
          f);
}

static void log_line(void *ctx, const char *line)
{
    (void)ctx;
    /* One fprintf per line: glibc locks the stream, so threads never interleave. */
    fprintf(stderr, "%s\n", line);
}

int main(int argc, char **argv)
{
    const char *conf = NULL, *post_add = NULL, *post_pub = NULL;
    int check = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--config") == 0 && i + 1 < argc) {
            conf = argv[++i];
        } else if (strcmp(argv[i], "--check") == 0) {
            check = 1;
        } else if (strcmp(argv[i], "post-add") == 0 && i + 1 < argc) {
            post_add = argv[++i];
        } else if (strcmp(argv[i], "--post-pub") == 0 && i + 1 < argc) {
            post_pub = argv[++i];
        } else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            usage(stdout);
            return 0;
        } else {
            fprintf(stderr, PROG ": unexpected argument \"%s\"\n", argv[i]);
            usage(stderr);
            return 2;
        }
    }
    if (!conf) {
        fprintf(stderr, PROG ": --config FILE is missing\n");
        usage(stderr);
        return 2;
    }
    setvbuf(stderr, NULL, _IOLBF, 0);
    if (sodium_init() < 0) {
        fprintf(stderr, PROG ": libsodium cannot start\n");
        return 1;
    }
    char err[1024] = "";
    struct config *file = NULL;
    struct relay_config c;
    if (config_load_file(&file, conf, err, sizeof err) ||
        relay_config_read(file, &c, err, sizeof err)) {
        fprintf(stderr, PROG ": %s\n", err);
        config_free(file);
        return 1;
    }
    config_free(file);
    c.log = log_line;
    if (post_add) {
        uint8_t pk[32], key_id[8];
        char token[80];
        if (!post_pub) {
            fprintf(stderr, PROG ": post-add needs --post-pub post.pub (the post's public key)\n");
            return 2;
        }
        if (keys_post_load_public(post_pub, pk, key_id, err, sizeof err) ||
            relay_post_add(&c, post_add, pk, token, sizeof token, err, sizeof err)) {
            fprintf(stderr, PROG ": %s\n", err);
            return 1;
        }
        printf("post %s added. Its relay token (put it in the post station's post.conf as\n"
               "relay_token; it is shown this once, the relay keeps only its hash):\n%s\n",
               post_add, token);
        sodium_memzero(token, sizeof token);
        return 0;
    }

    /* Signals are taken by sigwait() below: block them before any thread starts. */
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGTERM);
    sigaddset(&stop, SIGINT);
    pthread_sigmask(SIG_BLOCK, &stop, NULL);
    signal(SIGPIPE, SIG_IGN);

    struct relay *r = NULL;
    if (relay_open(&r, &c, err, sizeof err)) {
        fprintf(stderr, PROG ": %s\n", err);
        sodium_memzero(&c, sizeof c);
        return 1;
    }
    if (strncmp(c.database, "postgres", 8) == 0) {
        /* A relay of many posts: the posts' kiosks are in the database. */
        if (check) {
            printf("%s is fine: store PostgreSQL (posts and kiosks in the database), listen %s "
                   "(%s)\n",
                   conf, c.listen, c.tls_cert[0] ? "https" : "http, TLS left to nginx");
            relay_close(r);
            sodium_memzero(&c, sizeof c);
            return 0;
        }
        goto serve;
    }
    /*
     * The post station enrols and revokes kiosks through the relay, which
     * writes them into this registry (and SQLite a journal beside it).
     */
    char regdir[RELAY_PATH_MAX];
    snprintf(regdir, sizeof regdir, "%s", c.registry);
    char *slash = strrchr(regdir, '/');
    if (slash)
        *(slash == regdir ? slash + 1 : slash) = 0;
    else
        snprintf(regdir, sizeof regdir, ".");
    int reg_writable = access(c.registry, W_OK) == 0 && access(regdir, W_OK) == 0;
    if (!reg_writable)
        fprintf(stderr,
                PROG ": the registry %s (or its folder) is read-only to the relay: the post "
                     "station's enrolments and revocations will be refused until it is writable "
                     "(docs/relay.md, The registry)\n",
                c.registry);
    if (check) {
        printf("%s is fine: store %s, registry %s (%s), listen %s (%s)\n", conf, c.database,
               c.registry, reg_writable ? "writable: the station can enrol and revoke" : "read-only",
               c.listen, c.tls_cert[0] ? "https" : "http, TLS left to nginx");
        relay_close(r);
        sodium_memzero(&c, sizeof c);
        return 0;
    }
serve:
    sodium_memzero(c.post_token, sizeof c.post_token);
    uint16_t port = 0;
    if (relay_start(r, &port, err, sizeof err)) {
        fprintf(stderr, PROG ": %s\n", err);
        relay_close(r);
        return 1;
    }
    int sig = 0;
    sigwait(&stop, &sig);
    fprintf(stderr, "stopping on %s\n", sig == SIGTERM ? "SIGTERM" : "SIGINT");
    relay_close(r);
    fprintf(stderr, "stopped\n");
    return 0;
}
