/* officers — see officers.h. */
#include "station/officers.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>
#include <sqlite3.h>

#include "core/errbuf.h"
#include "core/keys.h"

#define say errbuf_say

/* 'HMTS' in station.db's header: a postbox.db or registry.db given by mistake is refused. */
#define STATION_APP_ID 0x484d5453
#define OFFICERS_SCHEMA_VERSION 1

/* At most this many Argon2 hashes at once: each takes its memlimit of RAM (64 MiB). */
#define HASH_SLOTS 2

/* Default Argon2id limits: moderate's 3 passes, interactive's 64 MiB (≈0.5 s on a Pi 4). */
#define DEFAULT_OPSLIMIT 3ULL
#define DEFAULT_MEMLIMIT ((size_t)64 << 20)

struct officers {
    sqlite3 *db;
    char *path;
    pthread_mutex_t mu; /* the database */
    pthread_mutex_t hash_mu;
    pthread_cond_t hash_cv;
    int hashing; /* hashes running now, at most HASH_SLOTS */
    unsigned long long ops;
    size_t mem;
    /* A hash of a random password: verified against for an unknown name, so it costs the same. */
    char dummy[crypto_pwhash_STRBYTES];
};

/* ---- station.db ---- */

int station_db_fail(struct sqlite3 *db, const char *path, const char *doing, char *err,
                    size_t errlen)
{
    int code = db ? sqlite3_errcode(db) : SQLITE_NOMEM;
    const char *msg = db ? sqlite3_errmsg(db) : "out of memory";
    if (code == SQLITE_BUSY || code == SQLITE_LOCKED)
        return say(err, errlen, OFFICERS_E_IO,
                   "%s is busy: another program is changing it; try again in a moment", path);
    if (code == SQLITE_NOTADB || code == SQLITE_CORRUPT)
        return say(err, errlen, OFFICERS_E_IO,
                   "%s is damaged (%s while %s): keep a copy of it and restore it from a "
                   "backup, or tell the technician",
                   path, msg, doing);
    return say(err, errlen, OFFICERS_E_IO, "%s: %s failed: %s (is the disk full or read-only?)",
               path, doing, msg);
}

static int one_int(sqlite3 *db, const char *sql, const char *text, int64_t *v)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
        return -1;
    if (text)
        sqlite3_bind_text(st, 1, text, -1, SQLITE_STATIC);
    int step = sqlite3_step(st);
    int rc = step == SQLITE_ROW ? 1 : step == SQLITE_DONE ? 0 : -1;
    if (rc == 1)
        *v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return rc;
}

/* Inside BEGIN IMMEDIATE: mark a new file as station.db, refuse a foreign one, add `part`. */
static int ensure_part(sqlite3 *db, const char *path, const char *part, int version,
                       const char *schema, char *err, size_t errlen)
{
    int64_t app = 0, tables = 0, have = 0;
    if (one_int(db, "PRAGMA application_id", NULL, &app) < 0 ||
        one_int(db, "SELECT count(*) FROM sqlite_master", NULL, &tables) < 0)
        return station_db_fail(db, path, "reading the file", err, errlen);
    if (app == 0 && tables == 0) {
        char sql[200];
        snprintf(sql, sizeof sql,
                 "PRAGMA application_id = %d;"
                 "CREATE TABLE station_part(name TEXT PRIMARY KEY, version INTEGER NOT NULL);",
                 STATION_APP_ID);
        if (sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK)
            return station_db_fail(db, path, "creating the station's database", err, errlen);
    } else if (app != STATION_APP_ID) {
        return say(err, errlen, OFFICERS_E_IO,
                   "%s is not the station's database (another program's file?): check the "
                   "post folder",
                   path);
    }
    int got = one_int(db, "SELECT version FROM station_part WHERE name = ?1", part, &have);
    if (got < 0)
        return station_db_fail(db, path, "reading the schema version", err, errlen);
    if (got == 1 && have > version)
        return say(err, errlen, OFFICERS_E_SCHEMA,
                   "%s was made by a newer homthu-station (%s version %lld, this one knows %d): "
                   "update homthu-station",
                   path, part, (long long)have, version);
    if (got == 1)
        return 0; /* version <= ours: versions so far only ever added tables */
    if (sqlite3_exec(db, schema, NULL, NULL, NULL) != SQLITE_OK)
        return station_db_fail(db, path, "creating the tables", err, errlen);
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, "INSERT INTO station_part(name, version) VALUES (?1, ?2)", -1, &st,
                           NULL) != SQLITE_OK)
        return station_db_fail(db, path, "creating the tables", err, errlen);
    sqlite3_bind_text(st, 1, part, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 2, version);
    int step = sqlite3_step(st);
    sqlite3_finalize(st);
    if (step != SQLITE_DONE)
        return station_db_fail(db, path, "creating the tables", err, errlen);
    return 0;
}

int station_db_open(struct sqlite3 **out, const char *path, const char *part, int version,
                    const char *schema, char *err, size_t errlen)
{
    if (!out || !path || !part || !schema)
        return say(err, errlen, OFFICERS_E_ARG, "station.db: missing argument");
    *out = NULL;
    /* 0600 from the start: it holds password hashes and who did what. */
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0)
        return say(err, errlen, OFFICERS_E_IO,
                   "cannot open %s: %s (check the post folder and its permissions)", path,
                   strerror(errno));
    struct stat fst;
    if (fstat(fd, &fst) == 0 && S_ISREG(fst.st_mode) && (fst.st_mode & 077))
        (void)!fchmod(fd, 0600);
    close(fd);
    sqlite3 *db = NULL;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) != SQLITE_OK) {
        int rc = say(err, errlen, OFFICERS_E_IO, "cannot open %s: %s", path,
                     db ? sqlite3_errmsg(db) : "out of memory");
        sqlite3_close(db);
        return rc;
    }
    sqlite3_busy_timeout(db, 10000);
    int rc = 0;
    /* FULL: a lockout or an audit row must survive a power cut. */
    if (sqlite3_exec(db,
                     "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; "
                     "PRAGMA secure_delete = ON;",
                     NULL, NULL, NULL) != SQLITE_OK) {
        rc = station_db_fail(db, path, "opening", err, errlen);
        goto fail;
    }
    if (sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK) {
        rc = station_db_fail(db, path, "opening", err, errlen);
        goto fail;
    }
    rc = ensure_part(db, path, part, version, schema, err, errlen);
    if (rc) {
        sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
        goto fail;
    }
    if (sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
        rc = station_db_fail(db, path, "creating the tables", err, errlen);
        sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
        goto fail;
    }
    *out = db;
    return 0;
fail:
    sqlite3_close(db);
    return rc;
}

/* ---- names and roles ---- */

static const char *const role_names[] = {NULL, "commander", "officer", "technician"};

const char *officer_role_name(int role)
{
    return role >= OFFICER_COMMANDER && role <= OFFICER_TECHNICIAN ? role_names[role] : "?";
}

int officer_role_parse(const char *name)
{
    for (int r = OFFICER_COMMANDER; name && r <= OFFICER_TECHNICIAN; r++)
        if (strcmp(name, role_names[r]) == 0)
            return r;
    return -1;
}

int officers_name_check(const char *name, char out[OFFICER_NAME_MAX + 1], char *err, size_t errlen)
{
    if (out)
        out[0] = 0;
    if (!name || !out)
        return say(err, errlen, OFFICERS_E_ARG, "officers: missing argument");
    size_t n = strlen(name);
    if (n == 0 || n > OFFICER_NAME_MAX)
        return say(err, errlen, OFFICERS_E_NAME, "a name is 1 to %d letters", OFFICER_NAME_MAX);
    for (size_t i = 0; i < n; i++) {
        char ch = name[i];
        if (ch >= 'A' && ch <= 'Z')
            ch = (char)(ch - 'A' + 'a');
        int ok = (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
                 (i > 0 && (ch == '.' || ch == '_' || ch == '-'));
        if (!ok) {
            out[0] = 0;
            return say(err, errlen, OFFICERS_E_NAME,
                       "a name is letters a-z, digits and . _ - (not first), without spaces or "
                       "accents");
        }
        out[i] = ch;
    }
    out[n] = 0;
    return 0;
}

static int password_check(const char *name, const char *password, char *err, size_t errlen)
{
    size_t n = strlen(password);
    if (n < OFFICER_PASSWORD_MIN)
        return say(err, errlen, OFFICERS_E_WEAK_PASSWORD,
                   "the password is too short: at least %d characters", OFFICER_PASSWORD_MIN);
    if (n > OFFICER_PASSWORD_MAX)
        return say(err, errlen, OFFICERS_E_WEAK_PASSWORD,
                   "the password is too long: at most %d characters", OFFICER_PASSWORD_MAX);
    char folded[OFFICER_PASSWORD_MAX + 1];
    for (size_t i = 0; i <= n; i++) {
        char ch = password[i];
        folded[i] = ch >= 'A' && ch <= 'Z' ? (char)(ch - 'A' + 'a') : ch;
    }
    int same = strcmp(folded, name) == 0;
    sodium_memzero(folded, sizeof folded);
    if (same)
        return say(err, errlen, OFFICERS_E_WEAK_PASSWORD, "the password cannot be the name");
    return 0;
}

/* ---- hashing, outside the database lock, at most HASH_SLOTS at once ---- */

static void hash_enter(struct officers *o)
{
    pthread_mutex_lock(&o->hash_mu);
    while (o->hashing >= HASH_SLOTS)
        pthread_cond_wait(&o->hash_cv, &o->hash_mu);
    o->hashing++;
    pthread_mutex_unlock(&o->hash_mu);
}

static void hash_leave(struct officers *o)
{
    pthread_mutex_lock(&o->hash_mu);
    o->hashing--;
    pthread_cond_signal(&o->hash_cv);
    pthread_mutex_unlock(&o->hash_mu);
}

static int hash_password(struct officers *o, const char *password, char out[crypto_pwhash_STRBYTES],
                         char *err, size_t errlen)
{
    hash_enter(o);
    int r = crypto_pwhash_str(out, password, strlen(password), o->ops, o->mem);
    hash_leave(o);
    if (r != 0)
        return say(err, errlen, OFFICERS_E_NOMEM,
                   "not enough memory to hash the password (%zu MiB needed)", o->mem >> 20);
    return 0;
}

/* 1: the password matches the hash. */
static int verify_password(struct officers *o, const char *hash, const char *password, size_t len)
{
    hash_enter(o);
    int ok = crypto_pwhash_str_verify(hash, password, len) == 0;
    hash_leave(o);
    return ok;
}

/* ---- open, close ---- */

static const char officers_schema[] =
    "CREATE TABLE officer("
    "  name TEXT PRIMARY KEY,"
    "  role INTEGER NOT NULL CHECK(role BETWEEN 1 AND 3),"
    "  hash TEXT NOT NULL,"
    "  created INTEGER NOT NULL,"
    "  password_at INTEGER NOT NULL,"
    "  last_login INTEGER NOT NULL DEFAULT 0,"
    "  disabled INTEGER NOT NULL DEFAULT 0,"
    "  failures INTEGER NOT NULL DEFAULT 0,"
    "  locks INTEGER NOT NULL DEFAULT 0," /* locks since the last good login: the next is longer */
    "  locked_until INTEGER NOT NULL DEFAULT 0);"
    "CREATE TABLE seen(officer TEXT NOT NULL, tip INTEGER NOT NULL,"
    "  PRIMARY KEY(officer, tip)) WITHOUT ROWID;"
    "CREATE TABLE assignment(tip INTEGER PRIMARY KEY, officer TEXT NOT NULL,"
    "  at INTEGER NOT NULL);";

void officers_close(struct officers *o)
{
    if (!o)
        return;
    sqlite3_close(o->db);
    pthread_mutex_destroy(&o->mu);
    pthread_mutex_destroy(&o->hash_mu);
    pthread_cond_destroy(&o->hash_cv);
    free(o->path);
    free(o);
}

int officers_open(struct officers **out, const char *path, char *err, size_t errlen)
{
    if (!out || !path)
        return say(err, errlen, OFFICERS_E_ARG, "officers: missing argument");
    *out = NULL;
    if (sodium_init() < 0)
        return say(err, errlen, OFFICERS_E_NOMEM, "libsodium failed to start");
    struct officers *o = calloc(1, sizeof *o);
    if (!o || !(o->path = strdup(path))) {
        free(o);
        return say(err, errlen, OFFICERS_E_NOMEM, "out of memory");
    }
    pthread_mutex_init(&o->mu, NULL);
    pthread_mutex_init(&o->hash_mu, NULL);
    pthread_cond_init(&o->hash_cv, NULL);
    const char *level = getenv("HOMTHU_PWHASH");
    if (!level || !*level || keys_pwhash_limits(level, &o->ops, &o->mem) != 0) {
        o->ops = DEFAULT_OPSLIMIT;
        o->mem = DEFAULT_MEMLIMIT;
    }
    int rc = station_db_open(&o->db, path, "officers", OFFICERS_SCHEMA_VERSION, officers_schema,
                             err, errlen);
    if (rc)
        goto fail;
    uint8_t random_pw[24];
    char random_hex[sizeof random_pw * 2 + 1];
    randombytes_buf(random_pw, sizeof random_pw);
    errbuf_hex(random_hex, random_pw, sizeof random_pw);
    rc = hash_password(o, random_hex, o->dummy, err, errlen);
    sodium_memzero(random_hex, sizeof random_hex);
    if (rc)
        goto fail;
    *out = o;
    return 0;
fail:
    officers_close(o);
    return rc;
}

/* ---- reading rows ---- */

#define OFFICER_COLUMNS "name, role, created, last_login, disabled, failures, locked_until"

static void row_to_officer(sqlite3_stmt *st, struct officer *of)
{
    memset(of, 0, sizeof *of);
    const unsigned char *name = sqlite3_column_text(st, 0);
    snprintf(of->name, sizeof of->name, "%s", name ? (const char *)name : "");
    of->role = sqlite3_column_int(st, 1);
    of->created = sqlite3_column_int64(st, 2);
    of->last_login = sqlite3_column_int64(st, 3);
    of->disabled = sqlite3_column_int(st, 4) != 0;
    of->failures = sqlite3_column_int(st, 5);
    of->locked_until = sqlite3_column_int64(st, 6);
}

static int fail_db(struct officers *o, const char *doing, char *err, size_t errlen)
{
    return station_db_fail(o->db, o->path, doing, err, errlen);
}

/* Under o->mu. 1 found, 0 not, <0 error. */
static int get_locked(struct officers *o, const char *name, struct officer *of, char *err,
                      size_t errlen)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(o->db, "SELECT " OFFICER_COLUMNS " FROM officer WHERE name = ?1", -1,
                           &st, NULL) != SQLITE_OK)
        return fail_db(o, "reading an officer", err, errlen);
    sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    int step = sqlite3_step(st);
    if (step == SQLITE_ROW)
        row_to_officer(st, of);
    sqlite3_finalize(st);
    if (step == SQLITE_ROW)
        return 1;
    if (step == SQLITE_DONE)
        return 0;
    return fail_db(o, "reading an officer", err, errlen);
}

/* Under o->mu: active commanders other than `name`. */
static int other_commanders(struct officers *o, const char *name, int64_t *n, char *err,
                            size_t errlen)
{
    if (one_int(o->db,
                "SELECT count(*) FROM officer WHERE role = 1 AND disabled = 0 AND name <> ?1", name,
                n) < 0)
        return fail_db(o, "counting commanders", err, errlen);
    return 0;
}

/* Under o->mu: run an UPDATE/INSERT with text ?1 and ints ?2.. ; 0 or an error. */
static int exec_named(struct officers *o, const char *sql, const char *name, const int64_t *ints,
                      int nints, const char *doing, char *err, size_t errlen)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(o->db, sql, -1, &st, NULL) != SQLITE_OK)
        return fail_db(o, doing, err, errlen);
    sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    for (int i = 0; i < nints; i++)
        sqlite3_bind_int64(st, i + 2, ints[i]);
    int step = sqlite3_step(st);
    sqlite3_finalize(st);
    if (step != SQLITE_DONE)
        return fail_db(o, doing, err, errlen);
    return 0;
}

/* ---- the officers ---- */

int officers_count(struct officers *o, int *n, char *err, size_t errlen)
{
    if (!o || !n)
        return say(err, errlen, OFFICERS_E_ARG, "officers: missing argument");
    int64_t v = 0;
    pthread_mutex_lock(&o->mu);
    int r = one_int(o->db, "SELECT count(*) FROM officer", NULL, &v);
    int rc = r < 0 ? fail_db(o, "counting officers", err, errlen) : 0;
    pthread_mutex_unlock(&o->mu);
    *n = (int)v;
    return rc;
}

int officers_add(struct officers *o, const char *name, int role, const char *password, int64_t now,
                 char *err, size_t errlen)
{
    if (!o || !name || !password)
        return say(err, errlen, OFFICERS_E_ARG, "officers: missing argument");
    char nm[OFFICER_NAME_MAX + 1];
    int rc = officers_name_check(name, nm, err, errlen);
    if (rc)
        return rc;
    if (role < OFFICER_COMMANDER || role > OFFICER_TECHNICIAN)
        return say(err, errlen, OFFICERS_E_ROLE, "not a role: %d", role);
    if ((rc = password_check(nm, password, err, errlen)))
        return rc;
    /* Refuse a taken name before the slow hash; the INSERT below catches a race. */
    struct officer of;
    pthread_mutex_lock(&o->mu);
    rc = get_locked(o, nm, &of, err, errlen);
    pthread_mutex_unlock(&o->mu);
    if (rc < 0)
        return rc;
    if (rc == 1)
        return say(err, errlen, OFFICERS_E_EXISTS, "there is already an officer named %s", nm);
    char hash[crypto_pwhash_STRBYTES];
    if ((rc = hash_password(o, password, hash, err, errlen)))
        return rc;
    pthread_mutex_lock(&o->mu);
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(o->db,
                           "INSERT INTO officer(name, role, hash, created, password_at) "
                           "VALUES (?1, ?2, ?3, ?4, ?4)",
                           -1, &st, NULL) != SQLITE_OK) {
        rc = fail_db(o, "adding an officer", err, errlen);
    } else {
        sqlite3_bind_text(st, 1, nm, -1, SQLITE_STATIC);
        sqlite3_bind_int(st, 2, role);
        sqlite3_bind_text(st, 3, hash, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 4, now);
        int step = sqlite3_step(st);
        if (step == SQLITE_CONSTRAINT)
            rc = say(err, errlen, OFFICERS_E_EXISTS, "there is already an officer named %s", nm);
        else if (step != SQLITE_DONE)
            rc = fail_db(o, "adding an officer", err, errlen);
        sqlite3_finalize(st);
    }
    pthread_mutex_unlock(&o->mu);
    sodium_memzero(hash, sizeof hash);
    return rc;
}

static int64_t lock_length(int64_t locks_before)
{
    int64_t len = OFFICERS_LOCK_FIRST;
    for (int64_t i = 0; i < locks_before && len < OFFICERS_LOCK_MAX; i++)
        len *= 2;
    return len < OFFICERS_LOCK_MAX ? len : OFFICERS_LOCK_MAX;
}

int officers_login(struct officers *o, const char *name, const char *password, int64_t now,
                   struct officer *out, int64_t *retry_after, char *err, size_t errlen)
{
    if (retry_after)
        *retry_after = 0;
    if (out)
        memset(out, 0, sizeof *out);
    if (!o || !name || !password)
        return say(err, errlen, OFFICERS_E_ARG, "officers: missing argument");
    static const char bad[] = "wrong name or password";
    size_t pwlen = strnlen(password, OFFICER_PASSWORD_MAX + 1);
    char nm[OFFICER_NAME_MAX + 1];
    int valid_name = officers_name_check(name, nm, NULL, 0) == 0;

    /* What the store says before the slow part. */
    char hash[crypto_pwhash_STRBYTES] = "";
    int64_t locked_until = 0;
    int found = 0, rc = 0;
    if (valid_name) {
        pthread_mutex_lock(&o->mu);
        sqlite3_stmt *st;
        if (sqlite3_prepare_v2(o->db, "SELECT hash, locked_until FROM officer WHERE name = ?1", -1,
                               &st, NULL) != SQLITE_OK) {
            rc = fail_db(o, "logging in", err, errlen);
        } else {
            sqlite3_bind_text(st, 1, nm, -1, SQLITE_STATIC);
            int step = sqlite3_step(st);
            if (step == SQLITE_ROW) {
                const unsigned char *h = sqlite3_column_text(st, 0);
                found = h && strlen((const char *)h) < sizeof hash;
                if (found)
                    snprintf(hash, sizeof hash, "%s", (const char *)h);
                locked_until = sqlite3_column_int64(st, 1);
            } else if (step != SQLITE_DONE) {
                rc = fail_db(o, "logging in", err, errlen);
            }
            sqlite3_finalize(st);
        }
        pthread_mutex_unlock(&o->mu);
        if (rc)
            return rc;
    }
    if (found && locked_until > now) {
        if (retry_after)
            *retry_after = locked_until - now;
        return say(err, errlen, OFFICERS_E_LOCKED_OUT,
                   "too many wrong passwords: try again in %lld minutes",
                   (long long)((locked_until - now + 59) / 60));
    }
    /* The same Argon2 work whether or not the name exists. A password over the limit is
     * wrong anyway; hashing only its first bytes keeps a huge one from costing more. */
    int ok = verify_password(o, found ? hash : o->dummy, password,
                             pwlen > OFFICER_PASSWORD_MAX ? OFFICER_PASSWORD_MAX : pwlen);
    if (pwlen > OFFICER_PASSWORD_MAX)
        ok = 0;
    if (!found) {
        sodium_memzero(hash, sizeof hash);
        return say(err, errlen, OFFICERS_E_BAD_LOGIN, "%s", bad);
    }

    pthread_mutex_lock(&o->mu);
    struct officer of;
    int64_t locks = 0;
    int still = 0; /* the row is there with the hash we checked */
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(o->db,
                           "SELECT " OFFICER_COLUMNS ", locks, hash FROM officer "
                           "WHERE name = ?1",
                           -1, &st, NULL) != SQLITE_OK) {
        rc = fail_db(o, "logging in", err, errlen);
        goto out;
    }
    sqlite3_bind_text(st, 1, nm, -1, SQLITE_STATIC);
    int step = sqlite3_step(st);
    if (step == SQLITE_ROW) {
        row_to_officer(st, &of);
        locks = sqlite3_column_int64(st, 7);
        const unsigned char *h = sqlite3_column_text(st, 8);
        still = h && strcmp((const char *)h, hash) == 0;
    }
    sqlite3_finalize(st);
    if (step != SQLITE_ROW && step != SQLITE_DONE) {
        rc = fail_db(o, "logging in", err, errlen);
        goto out;
    }
    if (!still) {
        /* Removed or given a new password while we hashed: the old one no longer counts. */
        rc = say(err, errlen, OFFICERS_E_BAD_LOGIN, "%s", bad);
        goto out;
    }
    if (of.locked_until > now) { /* a parallel attempt locked it meanwhile */
        if (retry_after)
            *retry_after = of.locked_until - now;
        rc = say(err, errlen, OFFICERS_E_LOCKED_OUT,
                 "too many wrong passwords: try again in %lld minutes",
                 (long long)((of.locked_until - now + 59) / 60));
        goto out;
    }
    if (!ok) {
        int64_t v[2];
        if (of.failures + 1 >= OFFICERS_MAX_FAILURES) {
            int64_t len = lock_length(locks);
            v[0] = now + len;
            rc = exec_named(o,
                            "UPDATE officer SET failures = 0, locks = locks + 1, "
                            "locked_until = ?2 WHERE name = ?1",
                            nm, v, 1, "recording a wrong password", err, errlen);
            if (!rc) {
                if (retry_after)
                    *retry_after = len;
                rc = say(err, errlen, OFFICERS_E_LOCKED_OUT,
                         "%d wrong passwords: the account is locked for %lld minutes",
                         OFFICERS_MAX_FAILURES, (long long)(len / 60));
            }
        } else {
            rc = exec_named(o, "UPDATE officer SET failures = failures + 1 WHERE name = ?1", nm,
                            NULL, 0, "recording a wrong password", err, errlen);
            if (!rc)
                rc = say(err, errlen, OFFICERS_E_BAD_LOGIN, "%s", bad);
        }
        goto out;
    }
    if (of.disabled) {
        rc = say(err, errlen, OFFICERS_E_DISABLED, "the account %s is disabled: ask the commander",
                 nm);
        goto out;
    }
    int64_t v[1] = {now};
    rc = exec_named(o,
                    "UPDATE officer SET failures = 0, locks = 0, locked_until = 0, "
                    "last_login = ?2 WHERE name = ?1",
                    nm, v, 1, "recording the login", err, errlen);
    if (rc)
        goto out;
    of.failures = 0;
    of.locked_until = 0;
    of.last_login = now;
    if (out)
        *out = of;
    int rehash = crypto_pwhash_str_needs_rehash(hash, o->ops, o->mem) != 0;
    pthread_mutex_unlock(&o->mu);
    if (rehash) {
        /* Limits changed since the hash was made: redo it now that we have the password.
         * Best effort: the login stands either way. */
        char fresh[crypto_pwhash_STRBYTES];
        if (hash_password(o, password, fresh, NULL, 0) == 0) {
            pthread_mutex_lock(&o->mu);
            sqlite3_stmt *up;
            if (sqlite3_prepare_v2(o->db,
                                   "UPDATE officer SET hash = ?2 WHERE name = ?1 AND hash = ?3", -1,
                                   &up, NULL) == SQLITE_OK) {
                sqlite3_bind_text(up, 1, nm, -1, SQLITE_STATIC);
                sqlite3_bind_text(up, 2, fresh, -1, SQLITE_STATIC);
                sqlite3_bind_text(up, 3, hash, -1, SQLITE_STATIC);
                (void)sqlite3_step(up);
                sqlite3_finalize(up);
            }
            pthread_mutex_unlock(&o->mu);
            sodium_memzero(fresh, sizeof fresh);
        }
    }
    sodium_memzero(hash, sizeof hash);
    return 0;
out:
    pthread_mutex_unlock(&o->mu);
    sodium_memzero(hash, sizeof hash);
    return rc;
}

/* Check the name, lock, and look the officer up: 0 with the lock held, or an error without. */
static int begin_named(struct officers *o, const char *name, char nm[OFFICER_NAME_MAX + 1],
                       struct officer *of, char *err, size_t errlen)
{
    if (!o || !name)
        return say(err, errlen, OFFICERS_E_ARG, "officers: missing argument");
    int rc = officers_name_check(name, nm, err, errlen);
    if (rc)
        return rc;
    pthread_mutex_lock(&o->mu);
    rc = get_locked(o, nm, of, err, errlen);
    if (rc == 1)
        return 0;
    pthread_mutex_unlock(&o->mu);
    if (rc == 0)
        return say(err, errlen, OFFICERS_E_NOTFOUND, "there is no officer named %s", nm);
    return rc;
}

int officers_set_password(struct officers *o, const char *name, const char *password, int64_t now,
                          char *err, size_t errlen)
{
    if (!o || !name || !password)
        return say(err, errlen, OFFICERS_E_ARG, "officers: missing argument");
    char nm[OFFICER_NAME_MAX + 1];
    struct officer of;
    int rc = begin_named(o, name, nm, &of, err, errlen);
    if (rc)
        return rc;
    pthread_mutex_unlock(&o->mu);
    if ((rc = password_check(nm, password, err, errlen)))
        return rc;
    char hash[crypto_pwhash_STRBYTES];
    if ((rc = hash_password(o, password, hash, err, errlen)))
        return rc;
    pthread_mutex_lock(&o->mu);
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(o->db,
                           "UPDATE officer SET hash = ?2, password_at = ?3, failures = 0, "
                           "locks = 0, locked_until = 0 WHERE name = ?1",
                           -1, &st, NULL) != SQLITE_OK) {
        rc = fail_db(o, "changing a password", err, errlen);
    } else {
        sqlite3_bind_text(st, 1, nm, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, hash, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 3, now);
        if (sqlite3_step(st) != SQLITE_DONE)
            rc = fail_db(o, "changing a password", err, errlen);
        else if (sqlite3_changes(o->db) == 0)
            rc = say(err, errlen, OFFICERS_E_NOTFOUND, "there is no officer named %s", nm);
        sqlite3_finalize(st);
    }
    pthread_mutex_unlock(&o->mu);
    sodium_memzero(hash, sizeof hash);
    return rc;
}

/* 0 unless `of` (named nm) is the last active commander: then it must stay one. */
static int keep_a_commander(struct officers *o, const struct officer *of, const char *nm,
                            char *err, size_t errlen)
{
    int64_t others = 0;
    if (of->role != OFFICER_COMMANDER || of->disabled)
        return 0;
    int rc = other_commanders(o, nm, &others, err, errlen);
    if (rc == 0 && others == 0)
        rc = say(err, errlen, OFFICERS_E_LAST_COMMANDER,
                 "%s is the only commander: make another commander first", nm);
    return rc;
}

int officers_set_role(struct officers *o, const char *name, int role, char *err, size_t errlen)
{
    if (role < OFFICER_COMMANDER || role > OFFICER_TECHNICIAN)
        return say(err, errlen, OFFICERS_E_ROLE, "not a role: %d", role);
    char nm[OFFICER_NAME_MAX + 1];
    struct officer of;
    int rc = begin_named(o, name, nm, &of, err, errlen);
    if (rc)
        return rc;
    if (role != OFFICER_COMMANDER)
        rc = keep_a_commander(o, &of, nm, err, errlen);
    int64_t v[1] = {role};
    if (!rc)
        rc = exec_named(o, "UPDATE officer SET role = ?2 WHERE name = ?1", nm, v, 1,
                        "changing a role", err, errlen);
    pthread_mutex_unlock(&o->mu);
    return rc;
}

int officers_disable(struct officers *o, const char *name, char *err, size_t errlen)
{
    char nm[OFFICER_NAME_MAX + 1];
    struct officer of;
    int rc = begin_named(o, name, nm, &of, err, errlen);
    if (rc)
        return rc;
    rc = keep_a_commander(o, &of, nm, err, errlen);
    if (!rc)
        rc = exec_named(o, "UPDATE officer SET disabled = 1 WHERE name = ?1", nm, NULL, 0,
                        "disabling an officer", err, errlen);
    pthread_mutex_unlock(&o->mu);
    return rc;
}

int officers_enable(struct officers *o, const char *name, char *err, size_t errlen)
{
    char nm[OFFICER_NAME_MAX + 1];
    struct officer of;
    int rc = begin_named(o, name, nm, &of, err, errlen);
    if (rc)
        return rc;
    rc = exec_named(o, "UPDATE officer SET disabled = 0 WHERE name = ?1", nm, NULL, 0,
                    "enabling an officer", err, errlen);
    pthread_mutex_unlock(&o->mu);
    return rc;
}

int officers_get(struct officers *o, const char *name, struct officer *out, char *err,
                 size_t errlen)
{
    if (!out)
        return say(err, errlen, OFFICERS_E_ARG, "officers: missing argument");
    char nm[OFFICER_NAME_MAX + 1];
    int rc = begin_named(o, name, nm, out, err, errlen);
    if (rc)
        return rc;
    pthread_mutex_unlock(&o->mu);
    return 0;
}

int officers_list(struct officers *o, int (*fn)(void *ctx, const struct officer *of), void *ctx,
                  char *err, size_t errlen)
{
    if (!o || !fn)
        return say(err, errlen, OFFICERS_E_ARG, "officers: missing argument");
    pthread_mutex_lock(&o->mu);
    sqlite3_stmt *st;
    int rc = 0;
    if (sqlite3_prepare_v2(o->db, "SELECT " OFFICER_COLUMNS " FROM officer ORDER BY created, rowid",
                           -1, &st, NULL) != SQLITE_OK) {
        rc = fail_db(o, "listing officers", err, errlen);
        goto out;
    }
    int step;
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        struct officer of;
        row_to_officer(st, &of);
        if ((rc = fn(ctx, &of)) > 0)
            break;
        rc = 0;
    }
    if (rc == 0 && step != SQLITE_DONE)
        rc = fail_db(o, "listing officers", err, errlen);
    sqlite3_finalize(st);
out:
    pthread_mutex_unlock(&o->mu);
    return rc;
}

/* ---- seen ---- */

int officers_mark_seen(struct officers *o, const char *name, int64_t tip_seq, char *err,
                       size_t errlen)
{
    if (!o || !name)
        return say(err, errlen, OFFICERS_E_ARG, "officers: missing argument");
    char nm[OFFICER_NAME_MAX + 1];
    int rc = officers_name_check(name, nm, err, errlen);
    if (rc)
        return rc;
    int64_t v[1] = {tip_seq};
    pthread_mutex_lock(&o->mu);
    rc = exec_named(o, "INSERT OR IGNORE INTO seen(officer, tip) VALUES (?1, ?2)", nm, v, 1,
                    "marking a tip seen", err, errlen);
    pthread_mutex_unlock(&o->mu);
    return rc;
}

int officers_seen(struct officers *o, const char *name, const int64_t *seqs, size_t n,
                  int *seen_out, char *err, size_t errlen)
{
    if (!o || !name || (n && (!seqs || !seen_out)))
        return say(err, errlen, OFFICERS_E_ARG, "officers: missing argument");
    for (size_t i = 0; i < n; i++)
        seen_out[i] = 0;
    char nm[OFFICER_NAME_MAX + 1];
    int rc = officers_name_check(name, nm, err, errlen);
    if (rc)
        return rc;
    pthread_mutex_lock(&o->mu);
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(o->db, "SELECT 1 FROM seen WHERE officer = ?1 AND tip = ?2", -1, &st,
                           NULL) != SQLITE_OK) {
        rc = fail_db(o, "reading seen marks", err, errlen);
        goto out;
    }
    sqlite3_bind_text(st, 1, nm, -1, SQLITE_STATIC);
    for (size_t i = 0; i < n && !rc; i++) {
        sqlite3_bind_int64(st, 2, seqs[i]);
        int step = sqlite3_step(st);
        if (step == SQLITE_ROW)
            seen_out[i] = 1;
        else if (step != SQLITE_DONE)
            rc = fail_db(o, "reading seen marks", err, errlen);
        sqlite3_reset(st);
    }
    sqlite3_finalize(st);
out:
    pthread_mutex_unlock(&o->mu);
    return rc;
}

int officers_seen_count(struct officers *o, const char *name, int64_t *n, char *err,
                        size_t errlen)
{
    if (!o || !name || !n)
        return say(err, errlen, OFFICERS_E_ARG, "officers: missing argument");
    *n = 0;
    char nm[OFFICER_NAME_MAX + 1];
    int rc = officers_name_check(name, nm, err, errlen);
    if (rc)
        return rc;
    pthread_mutex_lock(&o->mu);
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(o->db, "SELECT count(*) FROM seen WHERE officer = ?1", -1, &st,
                           NULL) != SQLITE_OK) {
        rc = fail_db(o, "counting seen marks", err, errlen);
    } else {
        sqlite3_bind_text(st, 1, nm, -1, SQLITE_STATIC);
        if (sqlite3_step(st) == SQLITE_ROW)
            *n = sqlite3_column_int64(st, 0);
        else
            rc = fail_db(o, "counting seen marks", err, errlen);
        sqlite3_finalize(st);
    }
    pthread_mutex_unlock(&o->mu);
    return rc;
}

/* ---- assignments ---- */

int officers_assign(struct officers *o, int64_t tip_seq, const char *name, int64_t now, char *err,
                    size_t errlen)
{
    if (!o || !name)
        return say(err, errlen, OFFICERS_E_ARG, "officers: missing argument");
    int rc;
    if (!*name) {
        pthread_mutex_lock(&o->mu);
        sqlite3_stmt *st;
        rc = 0;
        if (sqlite3_prepare_v2(o->db, "DELETE FROM assignment WHERE tip = ?1", -1, &st, NULL) !=
            SQLITE_OK) {
            rc = fail_db(o, "clearing an assignment", err, errlen);
        } else {
            sqlite3_bind_int64(st, 1, tip_seq);
            if (sqlite3_step(st) != SQLITE_DONE)
                rc = fail_db(o, "clearing an assignment", err, errlen);
            sqlite3_finalize(st);
        }
        pthread_mutex_unlock(&o->mu);
        return rc;
    }
    char nm[OFFICER_NAME_MAX + 1];
    struct officer of;
    if ((rc = begin_named(o, name, nm, &of, err, errlen)))
        return rc;
    if (of.disabled)
        rc = say(err, errlen, OFFICERS_E_DISABLED, "%s is disabled: choose another officer", nm);
    else if (of.role == OFFICER_TECHNICIAN)
        rc = say(err, errlen, OFFICERS_E_ROLE,
                 "%s is a technician: technicians never see tips, choose an officer", nm);
    int64_t v[2] = {tip_seq, now};
    if (!rc)
        rc = exec_named(o,
                        "INSERT INTO assignment(tip, officer, at) VALUES (?2, ?1, ?3) "
                        "ON CONFLICT(tip) DO UPDATE SET officer = ?1, at = ?3",
                        nm, v, 2, "assigning a tip", err, errlen);
    pthread_mutex_unlock(&o->mu);
    return rc;
}

int officers_assigned(struct officers *o, int64_t tip_seq, char out[OFFICER_NAME_MAX + 1],
                      char *err, size_t errlen)
{
    if (out)
        out[0] = 0;
    if (!o || !out)
        return say(err, errlen, OFFICERS_E_ARG, "officers: missing argument");
    pthread_mutex_lock(&o->mu);
    sqlite3_stmt *st;
    int rc = 0;
    if (sqlite3_prepare_v2(o->db, "SELECT officer FROM assignment WHERE tip = ?1", -1, &st, NULL) !=
        SQLITE_OK) {
        rc = fail_db(o, "reading an assignment", err, errlen);
    } else {
        sqlite3_bind_int64(st, 1, tip_seq);
        int step = sqlite3_step(st);
        if (step == SQLITE_ROW) {
            const unsigned char *t = sqlite3_column_text(st, 0);
            snprintf(out, OFFICER_NAME_MAX + 1, "%s", t ? (const char *)t : "");
        } else if (step != SQLITE_DONE) {
            rc = fail_db(o, "reading an assignment", err, errlen);
        }
        sqlite3_finalize(st);
    }
    pthread_mutex_unlock(&o->mu);
    return rc;
}
