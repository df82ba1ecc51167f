// Path resolution inside a root that no symlink can escape (CVE-2021-30465): every lookup is
// openat2(RESOLVE_IN_ROOT), every mount goes through the /proc/self/fd path of the resolved fd.
#ifndef HULL_FSUTIL_H
#define HULL_FSUTIL_H

#include "hull.h"

// openat2(rootfd, path, flags, RESOLVE_IN_ROOT|RESOLVE_NO_MAGICLINKS); -errno on failure.
int hull_open_in_root(int rootfd, const char *path, int flags);
// Creates every missing directory of path inside root; returns an O_PATH fd of the last one.
int hull_mkdir_in_root(int rootfd, const char *path, const char *step, hull_error *err);
// Returns an O_PATH fd of path, made first (as a directory, or a file if file) when missing.
int hull_ensure_in_root(int rootfd, const char *path, int file, const char *step, hull_error *err);
// Opens the parent directory of path inside root (creating it) and points *base at the last
// component of path.
int hull_parent_in_root(int rootfd, const char *path, const char **base, const char *step,
                        hull_error *err);
// "/proc/self/fd/<fd>" into buf (at least 32 bytes).
char *hull_fd_path(int fd, char *buf);
// MS_* flags the mount under fd carries that a bind remount must repeat (nosuid, nodev, ...).
unsigned long hull_locked_flags(int fd);
int hull_write_all(int fd, const void *buf, size_t len);

#endif
