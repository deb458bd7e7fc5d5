/* Which store relay.conf's `database` names (store.h). */
#include "relay/store.h"

#include <string.h>

#include "core/errbuf.h"

int store_is_postgresql(const char *database)
{
    return database && (strncmp(database, "postgresql://", 13) == 0 ||
                        strncmp(database, "postgres://", 11) == 0);
}

int store_open(struct store **out, const char *database, void (*log)(void *ctx, const char *line),
               void *log_ctx, char *err, size_t errlen)
{
    *out = NULL;
    if (!store_is_postgresql(database))
        return store_sqlite_open(out, database, log, log_ctx, err, errlen);
#ifdef HOMTHU_HAVE_LIBPQ
    return store_pg_open(out, database, err, errlen);
#else
    errbuf_say(err, errlen, 0,
               "relay.conf names a PostgreSQL database, but this homthu-relay was built without "
               "libpq: build it where libpq-dev is installed, or use a SQLite file");
    return -1;
#endif
}
