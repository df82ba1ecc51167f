#include "mount.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "fsutil.h"
#include "str.h"

static const unsigned long kPropagation = MS_SHARED | MS_SLAVE | MS_PRIVATE | MS_UNBINDABLE;

static int mount_fail(hull_error *err, int errnum, const char *step, const char *src,
                      const char *dst) {
  hull_error_set(err, errnum, step, "mount", dst, "");
  if (src) {
    const char *parts[] = {"mount `", src, "` on `", dst, "`", nullptr};
    hull_error_msg(err, parts);
  } else {
    const char *parts[] = {"mount `", dst, "`", nullptr};
    hull_error_msg(err, parts);
  }
  return -1;
}

static int sys_fail(hull_error *err, int errnum, const char *step, const char *syscall,
                    const char *path) {
  const char *parts[] = {syscall, " `", path, "`", nullptr};
  hull_error_set(err, errnum, step, syscall, path, "");
  hull_error_msg(err, parts);
  return -1;
}

// "/" of the new namespace becomes rslave (or the requested non-shared propagation) first:
// nothing we mount may propagate back to the host, and pivot_root refuses shared parents.
// A shared rootfsPropagation is applied after pivot_root (hull_finish_rootfs).
static unsigned long initial_propagation(const hull_plan *p) {
  unsigned long prop = p->rootfs_propagation;
  if (prop == 0 || (prop & MS_SHARED)) return MS_SLAVE | MS_REC;
  return prop;
}

// A bind mount asked to be shared (a bidirectional volume) must be in its source's peer group,
// so that what the task mounts under it reaches the host. The rslave of "/" below would cut the
// namespace's copy of the source from that group for good, and a bind of a slave is a slave. So
// its source tree is cloned first (open_tree keeps the clone in the source's peer group), and
// hull_mount_all attaches the clone (move_mount) instead of binding. Only these mounts keep a
// link to the host; everything else is mounted under the rslave "/".
//
// The child has its own copy of this memory (clone without CLONE_VM): no allocation needed.
static const size_t kMaxSharedBinds = 64;
static struct {
  size_t index;
  int fd;
} shared_binds[kMaxSharedBinds];
static size_t n_shared_binds;

static bool shared_bind(const hull_mount *m) {
  return (m->flags & MS_BIND) && !(m->flags & MS_REMOUNT) && (m->propagation & MS_SHARED) && m->source;
}

static int clone_shared_sources(const hull_plan *p, hull_error *err) {
  n_shared_binds = 0;
  for (size_t i = 0; i < p->n_mounts; i++) {
    const hull_mount *m = &p->mounts[i];
    if (!shared_bind(m)) continue;
    if (n_shared_binds == kMaxSharedBinds) return mount_fail(err, E2BIG, "mount", m->source, m->destination);
    unsigned flags = OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | ((m->flags & MS_REC) ? AT_RECURSIVE : 0);
    int fd = (int)syscall(SYS_open_tree, AT_FDCWD, m->source, flags);
    if (fd < 0) return mount_fail(err, errno, "mount", m->source, m->destination);
    shared_binds[n_shared_binds].index = i;
    shared_binds[n_shared_binds].fd = fd;
    n_shared_binds++;
  }
  return 0;
}

// The cloned tree for mount i, or -1; the caller owns it after this.
static int take_shared_tree(size_t i) {
  for (size_t k = 0; k < n_shared_binds; k++) {
    if (shared_binds[k].index != i || shared_binds[k].fd < 0) continue;
    int fd = shared_binds[k].fd;
    shared_binds[k].fd = -1;
    return fd;
  }
  return -1;
}

int hull_prepare_rootfs(const hull_plan *p, hull_error *err) {
  if (clone_shared_sources(p, err) < 0) return -1;
  if (mount(nullptr, "/", nullptr, initial_propagation(p), nullptr) < 0)
    return mount_fail(err, errno, "rootfs", nullptr, "/");
  // pivot_root needs the new root to be a mount point
  if (mount(p->rootfs, p->rootfs, nullptr, MS_BIND | MS_REC, nullptr) < 0)
    return mount_fail(err, errno, "rootfs", p->rootfs, p->rootfs);
  return 0;
}

// Reopens dst: after a mount, the old fd still names the covered directory, not the new mount.
static int reopen(int rootfd, const char *dst, hull_error *err) {
  int fd = hull_open_in_root(rootfd, dst, O_PATH);
  if (fd < 0) return sys_fail(err, -fd, "mount", "openat2", dst);
  return fd;
}

// A bind mount ignores every flag but MS_REC; ro, nosuid and the like need a remount, which
// must repeat the flags the source mount already has, or the kernel refuses it (EPERM).
static int remount_bind(int rootfd, const hull_mount *m, hull_error *err) {
  unsigned long extra = m->flags & ~(MS_BIND | MS_REC | MS_REMOUNT);
  if (!extra) return 0;
  int fd = reopen(rootfd, m->destination, err);
  if (fd < 0) return -1;
  char proc[32];
  unsigned long flags = MS_BIND | MS_REMOUNT | extra | hull_locked_flags(fd);
  int r = mount(nullptr, hull_fd_path(fd, proc), nullptr, flags, nullptr);
  int e = errno;
  close(fd);
  return r < 0 ? mount_fail(err, e, "mount", nullptr, m->destination) : 0;
}

static int set_propagation(int rootfd, const char *dst, unsigned long prop, hull_error *err) {
  int fd = reopen(rootfd, dst, err);
  if (fd < 0) return -1;
  char proc[32];
  int r = mount(nullptr, hull_fd_path(fd, proc), nullptr, prop, nullptr);
  int e = errno;
  close(fd);
  return r < 0 ? mount_fail(err, e, "mount", nullptr, dst) : 0;
}

static int mount_one(int rootfd, const hull_mount *m, int tree, hull_error *err) {
  int fd = hull_ensure_in_root(rootfd, m->destination, m->file, "mount", err);
  if (fd < 0) {
    if (tree >= 0) close(tree);
    return -1;
  }
  char proc[32];
  hull_fd_path(fd, proc);
  int r;
  if (tree >= 0) {
    // onto the O_PATH fd itself: nothing is resolved again
    r = (int)syscall(SYS_move_mount, tree, "", fd, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH);
    int e = errno;
    close(tree);
    errno = e;
  } else if (m->flags & MS_REMOUNT) {
    r = mount(nullptr, proc, nullptr, m->flags | hull_locked_flags(fd), m->data);
  } else if (m->flags & MS_BIND) {
    r = mount(m->source, proc, nullptr, m->flags & (MS_BIND | MS_REC), nullptr);
  } else {
    r = mount(m->source, proc, m->fstype, m->flags & ~kPropagation, m->data);
  }
  int e = errno;
  close(fd);
  if (r < 0) return mount_fail(err, e, "mount", m->source ? m->source : m->fstype, m->destination);
  if ((m->flags & MS_BIND) && !(m->flags & MS_REMOUNT) && remount_bind(rootfd, m, err) < 0) return -1;
  if (m->propagation && set_propagation(rootfd, m->destination, m->propagation, err) < 0) return -1;
  return 0;
}

int hull_mount_all(const hull_plan *p, int rootfd, hull_error *err) {
  for (size_t i = 0; i < p->n_mounts; i++)
    if (mount_one(rootfd, &p->mounts[i], take_shared_tree(i), err) < 0) return -1;
  return 0;
}

static int make_device(int rootfd, const hull_device *d, hull_error *err) {
  const char *base;
  int dirfd = hull_parent_in_root(rootfd, d->path, &base, "devices", err);
  if (dirfd < 0) return -1;
  char proc[32];
  int dir = open(hull_fd_path(dirfd, proc), O_DIRECTORY | O_RDONLY | O_CLOEXEC);
  close(dirfd);
  if (dir < 0) return sys_fail(err, errno, "devices", "open", d->path);
  unlinkat(dir, base, 0);  // a device node the rootfs shipped is replaced, as runc does
  int r = mknodat(dir, base, d->type | d->mode, makedev(d->major, d->minor));
  if (r == 0) r = fchownat(dir, base, d->uid, d->gid, AT_SYMLINK_NOFOLLOW);
  if (r == 0) r = fchmodat(dir, base, d->mode, 0);
  int e = errno;
  close(dir);
  return r < 0 ? sys_fail(err, e, "devices", "mknod", d->path) : 0;
}

static int make_symlink(int rootfd, const hull_symlink *s, hull_error *err) {
  const char *base;
  int dirfd = hull_parent_in_root(rootfd, s->path, &base, "devices", err);
  if (dirfd < 0) return -1;
  char proc[32];
  int dir = open(hull_fd_path(dirfd, proc), O_DIRECTORY | O_RDONLY | O_CLOEXEC);
  close(dirfd);
  if (dir < 0) return sys_fail(err, errno, "devices", "open", s->path);
  int r = symlinkat(s->target, dir, base);
  int e = errno;
  close(dir);
  if (r < 0 && e != EEXIST) return sys_fail(err, e, "devices", "symlink", s->path);
  return 0;
}

int hull_make_devices(const hull_plan *p, int rootfd, hull_error *err) {
  for (size_t i = 0; i < p->n_devices; i++)
    if (make_device(rootfd, &p->devices[i], err) < 0) return -1;
  for (size_t i = 0; i < p->n_symlinks; i++)
    if (make_symlink(rootfd, &p->symlinks[i], err) < 0) return -1;
  return 0;
}

// pivot_root(".", ".") stacks the old root on the new one; it is then detached. This needs no
// directory inside the rootfs for the old root (runc's approach).
static int pivot(const hull_plan *p, hull_error *err) {
  int oldroot = open("/", O_DIRECTORY | O_RDONLY | O_CLOEXEC);
  if (oldroot < 0) return sys_fail(err, errno, "pivot_root", "open", "/");
  int newroot = open(p->rootfs, O_DIRECTORY | O_RDONLY | O_CLOEXEC);
  if (newroot < 0) { close(oldroot); return sys_fail(err, errno, "pivot_root", "open", p->rootfs); }
  int r = fchdir(newroot);
  if (r == 0 && syscall(SYS_pivot_root, ".", ".") < 0) {
    int e = errno;
    close(oldroot); close(newroot);
    return sys_fail(err, e, "pivot_root", "pivot_root", p->rootfs);
  }
  if (r == 0) r = fchdir(oldroot);
  // the unmount of the old root must not propagate to the host's mounts
  if (r == 0 && mount(nullptr, ".", nullptr, MS_SLAVE | MS_REC, nullptr) < 0) r = -1;
  int e = errno;
  close(oldroot); close(newroot);
  if (r < 0) return sys_fail(err, e, "pivot_root", "mount", "/");
  if (umount2(".", MNT_DETACH) < 0) return sys_fail(err, errno, "pivot_root", "umount2", "/");
  if (chdir("/") < 0) return sys_fail(err, errno, "pivot_root", "chdir", "/");
  return 0;
}

// chroot is escapable by a process with CAP_SYS_CHROOT; it is only for callers that ask for it
// (no pivot_root on a ramfs root, for example). The rootfs is moved over / first.
static int move_root(const hull_plan *p, hull_error *err) {
  if (chdir(p->rootfs) < 0) return sys_fail(err, errno, "chroot", "chdir", p->rootfs);
  if (mount(p->rootfs, "/", nullptr, MS_MOVE, nullptr) < 0)
    return mount_fail(err, errno, "chroot", p->rootfs, "/");
  if (chroot(".") < 0) return sys_fail(err, errno, "chroot", "chroot", p->rootfs);
  if (chdir("/") < 0) return sys_fail(err, errno, "chroot", "chdir", "/");
  return 0;
}

int hull_enter_rootfs(const hull_plan *p, hull_error *err) {
  return p->no_pivot ? move_root(p, err) : pivot(p, err);
}

// A masked directory gets an empty read-only tmpfs, a masked file /dev/null. Missing paths are
// skipped: the defaults name files that not every kernel has.
static int mask_path(int rootfd, const char *path, hull_error *err) {
  int fd = hull_open_in_root(rootfd, path, O_PATH);
  if (fd == -ENOENT) return 0;
  if (fd < 0) return sys_fail(err, -fd, "maskedPaths", "openat2", path);
  struct stat st;
  char proc[32];
  hull_fd_path(fd, proc);
  int r = fstat(fd, &st);
  if (r == 0 && S_ISDIR(st.st_mode))
    r = mount("tmpfs", proc, "tmpfs", MS_RDONLY, "size=0");
  else if (r == 0)
    r = mount("/dev/null", proc, nullptr, MS_BIND, nullptr);
  int e = errno;
  close(fd);
  return r < 0 ? mount_fail(err, e, "maskedPaths", nullptr, path) : 0;
}

static int readonly_path(int rootfd, const char *path, hull_error *err) {
  int fd = hull_open_in_root(rootfd, path, O_PATH);
  if (fd == -ENOENT) return 0;
  if (fd < 0) return sys_fail(err, -fd, "readonlyPaths", "openat2", path);
  char proc[32];
  int r = mount(hull_fd_path(fd, proc), proc, nullptr, MS_BIND | MS_REC, nullptr);
  int e = errno;
  close(fd);
  if (r < 0) return mount_fail(err, e, "readonlyPaths", nullptr, path);
  fd = hull_open_in_root(rootfd, path, O_PATH);
  if (fd < 0) return sys_fail(err, -fd, "readonlyPaths", "openat2", path);
  unsigned long flags = MS_BIND | MS_REMOUNT | MS_RDONLY | hull_locked_flags(fd);
  r = mount(nullptr, hull_fd_path(fd, proc), nullptr, flags, nullptr);
  e = errno;
  close(fd);
  return r < 0 ? mount_fail(err, e, "readonlyPaths", nullptr, path) : 0;
}

static int write_sysctl(const hull_kv *kv, hull_error *err) {
  int fd = open(kv->key, O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) return sys_fail(err, errno, "sysctl", "open", kv->key);
  int r = hull_write_all(fd, kv->value, strlen(kv->value));
  close(fd);
  return r < 0 ? sys_fail(err, -r, "sysctl", "write", kv->key) : 0;
}

static int remount_root_readonly(hull_error *err) {
  int fd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
  unsigned long flags = MS_BIND | MS_REMOUNT | MS_RDONLY | (fd >= 0 ? hull_locked_flags(fd) : 0);
  if (fd >= 0) close(fd);
  if (mount(nullptr, "/", nullptr, flags, nullptr) < 0)
    return mount_fail(err, errno, "rootfs", nullptr, "/");
  return 0;
}

int hull_finish_rootfs(const hull_plan *p, hull_error *err) {
  int rootfd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (rootfd < 0) return sys_fail(err, errno, "maskedPaths", "open", "/");
  int r = 0;
  for (size_t i = 0; r == 0 && i < p->n_masked; i++) r = mask_path(rootfd, p->masked[i], err);
  for (size_t i = 0; r == 0 && i < p->n_readonly; i++) r = readonly_path(rootfd, p->readonly[i], err);
  close(rootfd);
  for (size_t i = 0; r == 0 && i < p->n_sysctl; i++) r = write_sysctl(&p->sysctl[i], err);
  if (r == 0 && (p->rootfs_propagation & MS_SHARED) &&
      mount(nullptr, "/", nullptr, p->rootfs_propagation, nullptr) < 0)
    r = mount_fail(err, errno, "rootfs", nullptr, "/");
  if (r == 0 && p->rootfs_readonly) r = remount_root_readonly(err);
  return r;
}
