#include "fsutil.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "str.h"

int hull_open_in_root(int rootfd, const char *path, int flags) {
  struct open_how how;
  memset(&how, 0, sizeof how);
  how.flags = (uint64_t)(flags | O_CLOEXEC);
  how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
  for (;;) {
    long fd = syscall(SYS_openat2, rootfd, path, &how, sizeof how);
    if (fd >= 0) return (int)fd;
    // EAGAIN: a rename raced the lookup; the kernel asks us to try again
    if (errno != EINTR && errno != EAGAIN) return -errno;
  }
}

char *hull_fd_path(int fd, char *buf) {
  char num[24];
  hull_join(buf, 32, "/proc/self/fd/", hull_itoa(fd, num), nullptr);
  return buf;
}

static int fail(hull_error *err, int errnum, const char *step, const char *syscall, const char *path) {
  const char *parts[] = {syscall, " `", path, "`", nullptr};
  hull_error_set(err, errnum, step, syscall, path, "");
  hull_error_msg(err, parts);
  return -1;
}

// Copies the first n bytes of path into buf as a NUL-terminated prefix.
static int prefix(char *buf, size_t size, const char *path, size_t n) {
  if (n + 1 > size) return -1;
  memcpy(buf, path, n);
  buf[n] = '\0';
  return 0;
}

int hull_mkdir_in_root(int rootfd, const char *path, const char *step, hull_error *err) {
  char part[4096];
  int dirfd = hull_open_in_root(rootfd, "/", O_PATH | O_DIRECTORY);
  if (dirfd < 0) return fail(err, -dirfd, step, "openat2", "/");
  size_t len = strlen(path);
  for (size_t i = 0; i <= len; i++) {
    if (i != len && path[i] != '/') continue;
    if (i == 0 || path[i - 1] == '/') continue;
    if (prefix(part, sizeof part, path, i) < 0) { close(dirfd); return fail(err, ENAMETOOLONG, step, "openat2", path); }
    int fd = hull_open_in_root(rootfd, part, O_PATH | O_DIRECTORY);
    if (fd == -ENOENT) {
      const char *name = strrchr(part, '/') + 1;
      if (mkdirat(dirfd, name, 0755) < 0 && errno != EEXIST) {
        int e = errno;
        close(dirfd);
        return fail(err, e, step, "mkdirat", part);
      }
      fd = hull_open_in_root(rootfd, part, O_PATH | O_DIRECTORY);
    }
    if (fd < 0) { close(dirfd); return fail(err, -fd, step, "openat2", part); }
    close(dirfd);
    dirfd = fd;
  }
  return dirfd;
}

int hull_parent_in_root(int rootfd, const char *path, const char **base, const char *step,
                        hull_error *err) {
  char parent[4096];
  const char *slash = strrchr(path, '/');
  if (!slash || !slash[1]) return fail(err, EINVAL, step, "openat2", path);
  if (prefix(parent, sizeof parent, path, (size_t)(slash - path)) < 0)
    return fail(err, ENAMETOOLONG, step, "openat2", path);
  *base = slash + 1;
  if (parent[0] == '\0') return hull_mkdir_in_root(rootfd, "/", step, err);
  return hull_mkdir_in_root(rootfd, parent, step, err);
}

static int create_file(int rootfd, const char *path, const char *step, hull_error *err) {
  const char *base;
  int dirfd = hull_parent_in_root(rootfd, path, &base, step, err);
  if (dirfd < 0) return -1;
  // O_PATH dir fds can't be used with O_CREAT; reopen the directory itself for that
  char proc[32];
  int real = open(hull_fd_path(dirfd, proc), O_DIRECTORY | O_RDONLY | O_CLOEXEC);
  close(dirfd);
  if (real < 0) return fail(err, errno, step, "open", path);
  int fd = openat(real, base, O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0644);
  int e = errno;
  close(real);
  if (fd < 0 && e != EEXIST) return fail(err, e, step, "openat", path);
  if (fd >= 0) close(fd);
  return 0;
}

int hull_ensure_in_root(int rootfd, const char *path, int file, const char *step, hull_error *err) {
  int fd = hull_open_in_root(rootfd, path, O_PATH);
  if (fd >= 0) return fd;
  if (fd != -ENOENT) return fail(err, -fd, step, "openat2", path);
  if (file) {
    if (create_file(rootfd, path, step, err) < 0) return -1;
  } else {
    fd = hull_mkdir_in_root(rootfd, path, step, err);
    if (fd < 0) return -1;
    close(fd);
  }
  fd = hull_open_in_root(rootfd, path, O_PATH);
  if (fd < 0) return fail(err, -fd, step, "openat2", path);
  return fd;
}

unsigned long hull_locked_flags(int fd) {
  struct statfs st;
  if (fstatfs(fd, &st) < 0) return 0;
  unsigned long out = 0;
  if (st.f_flags & ST_NOSUID) out |= MS_NOSUID;
  if (st.f_flags & ST_NODEV) out |= MS_NODEV;
  if (st.f_flags & ST_NOEXEC) out |= MS_NOEXEC;
  if (st.f_flags & ST_NOATIME) out |= MS_NOATIME;
  if (st.f_flags & ST_NODIRATIME) out |= MS_NODIRATIME;
  if (st.f_flags & ST_RELATIME) out |= MS_RELATIME;
  return out;
}

int hull_write_all(int fd, const void *buf, size_t len) {
  const char *p = (const char *)buf;
  while (len) {
    ssize_t n = write(fd, p, len);
    if (n < 0) {
      if (errno == EINTR) continue;
      return -errno;
    }
    p += n;
    len -= (size_t)n;
  }
  return 0;
}
