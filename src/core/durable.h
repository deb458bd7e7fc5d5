/*
 * durable — the last step of writing a file that must survive a power
 * cut: after the file is fsynced and renamed into place, the directory
 * holding it is fsynced too, or the rename itself may be lost.
 *
 * One helper for the queue (its database files), the keys and provisioned
 * card files, and volunteers' recorded prompts. File systems that cannot
 * sync a directory (vfat, the SD card's boot partition, answers EINVAL)
 * count as done: their metadata is written with the file.
 */
#ifndef HOMTHU_DURABLE_H
#define HOMTHU_DURABLE_H

/* fsync the directory `dir`. 0, or a negative errno. */
int durable_sync_dir(const char *dir);

/* fsync the directory holding `path` ("." when it has no slash). */
int durable_sync_dir_of(const char *path);

#endif
