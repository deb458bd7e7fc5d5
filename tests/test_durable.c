/*
 * Tests for src/core/durable.c: syncing the folder after a rename. A folder that
 * is gone or is not one must be an error the caller can report, not a
 * silent success that leaves a tip's or a key's rename undurable.
 */
#include <errno.h>
#include <limits.h>

#include "check.h"
#include "core/durable.h"

TEST(test_durable_syncs_a_folder_and_the_folder_of_a_file)
{
    ASSERT_EQ(durable_sync_dir(check_dir()), 0);
    check_write_file(check_path("kiosk.conf"), "x\n", 2);
    ASSERT_EQ(durable_sync_dir_of(check_path("kiosk.conf")), 0);
    ASSERT_EQ(durable_sync_dir_of("/kiosk.conf"), 0); /* the root folder */
    ASSERT_EQ(durable_sync_dir_of("kiosk.conf"), 0);  /* the current folder */
}

TEST(test_durable_says_when_the_folder_is_missing_or_not_a_folder)
{
    ASSERT_EQ(durable_sync_dir(check_path("gone")), -ENOENT);
    ASSERT_EQ(durable_sync_dir_of(check_path("gone/kiosk.conf")), -ENOENT);
    check_write_file(check_path("plain"), "x\n", 2);
    ASSERT_EQ(durable_sync_dir(check_path("plain")), -ENOTDIR);
    static char longpath[PATH_MAX + 16];
    memset(longpath, 'a', sizeof longpath - 1);
    longpath[sizeof longpath - 1] = 0;
    longpath[sizeof longpath - 3] = '/';
    ASSERT_EQ(durable_sync_dir_of(longpath), -ENAMETOOLONG);
}
