// Everything here runs in the child after clone, in a copy of a multi-threaded Node process:
// only syscalls and the pre-marshalled plan, no allocation, no locks, no exceptions.
#include "child.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/close_range.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "caps.h"
#include "fsutil.h"
#include "mount.h"
#include "str.h"
#include "sync.h"
#include "terminal.h"

static const char kDefaultPath[] = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

static int fail(hull_error *err, int errnum, const char *step, const char *syscall, const char *path) {
  const char *parts[] = {syscall, path ? " `" : "", path ? path : "", path ? "`" : "", nullptr};
  hull_error_set(err, errnum, step, syscall, path, "");
  hull_error_msg(err, parts);
  return -1;
}

static void send_msg(int fd, int type, const hull_error *err, pid_t pid = 0) {
  hull_msg m;
  memset(&m, 0, sizeof m);
  m.type = type;
  m.pid = pid;
  if (err) m.err = *err;
  while (send(fd, &m, sizeof m, MSG_NOSIGNAL) < 0 && errno == EINTR) {
  }
}

[[noreturn]] static void die(const hull_plan *p, const hull_error *err) {
  send_msg(p->sync_fd, HULL_MSG_ERROR, err);
  _exit(1);
}

// Node's handlers are meaningless here, and an ignored SIGPIPE would survive exec into the task.
static void reset_signals(void) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = SIG_DFL;
  for (int sig = 1; sig < NSIG; sig++)
    if (sig != SIGKILL && sig != SIGSTOP) sigaction(sig, &sa, nullptr);
}

static void close_range_from(unsigned lo, unsigned hi, unsigned flags) {
  if (lo > hi) return;
  if (syscall(SYS_close_range, lo, hi, flags) == 0 || flags) return;
  for (unsigned fd = lo; fd <= hi && fd < 65536; fd++) close((int)fd);
}

// Every fd of the Node process is closed except the ones the plan names: a container init
// that waits for start must not hold another child's pipe open, or that child's reader never
// sees EOF.
static void close_unwanted(const hull_plan *p) {
  unsigned lo = 3 + (unsigned)p->preserve_fds;
  for (size_t i = 0; i < p->n_keep_fds; i++) {
    unsigned k = (unsigned)p->keep_fds[i];
    if (k < lo) continue;
    if (k > lo) close_range_from(lo, k - 1, 0);
    lo = k + 1;
  }
  close_range_from(lo, ~0U, 0);
}

// Writing 0 to cgroup.procs moves the writer. The init joins before it does anything else, so
// that all it does is accounted to the task, and hull's own processes never join.
static int join_cgroups(const hull_plan *p, hull_error *err) {
  for (size_t i = 0; i < p->n_cgroup_procs; i++) {
    int r = hull_write_all(p->cgroup_procs[i], "0", 1);
    if (r < 0) return fail(err, -r, "cgroup", "write", "cgroup.procs");
  }
  return 0;
}

// A cgroup namespace is rooted at the cgroups of the process that creates it: made at clone
// time it would be rooted at hull's, so the init makes it after it has joined its own.
static int unshare_cgroupns(const hull_plan *p, hull_error *err) {
  if (!(p->clone_flags & CLONE_NEWCGROUP)) return 0;
  if (unshare(CLONE_NEWCGROUP) < 0) return fail(err, errno, "namespaces", "unshare(CLONE_NEWCGROUP)", nullptr);
  return 0;
}

// The mount namespace is joined last: the paths of the other namespace files are host paths.
// A pidfd (Linux 5.8) names the process itself, so a reused pid can never be joined, and the
// kernel enters all of its namespaces at once.
static int join_namespaces(const hull_plan *p, hull_error *err) {
  if (p->join_pidfd >= 0 && setns(p->join_pidfd, p->join_flags) < 0)
    return fail(err, errno, "namespaces", "setns", "pidfd of the container's init");
  for (int pass = 0; pass < 2; pass++) {
    for (size_t i = 0; i < p->n_joins; i++) {
      const hull_nsjoin *j = &p->joins[i];
      if ((j->nstype == CLONE_NEWNS) != (pass == 1)) continue;
      if (setns(j->fd, j->nstype) < 0) return fail(err, errno, "namespaces", "setns", j->path);
    }
  }
  return 0;
}

static int set_oom_score_adj(const hull_plan *p, hull_error *err) {
  if (!p->has_oom_score_adj) return 0;
  char num[24];
  int fd = open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC);
  if (fd < 0) return fail(err, errno, "oomScoreAdj", "open", "/proc/self/oom_score_adj");
  int r = hull_write_all(fd, hull_itoa(p->oom_score_adj, num), strlen(num));
  close(fd);
  return r < 0 ? fail(err, -r, "oomScoreAdj", "write", "/proc/self/oom_score_adj") : 0;
}

static int set_rlimits(const hull_plan *p, hull_error *err) {
  for (size_t i = 0; i < p->n_rlimits; i++) {
    const hull_rlimit *l = &p->rlimits[i];
    struct rlimit rl = {l->soft == UINT64_MAX ? RLIM_INFINITY : (rlim_t)l->soft,
                        l->hard == UINT64_MAX ? RLIM_INFINITY : (rlim_t)l->hard};
    if (setrlimit((__rlimit_resource_t)l->resource, &rl) < 0)
      return fail(err, errno, "rlimits", "setrlimit", nullptr);
  }
  return 0;
}

static int set_names(const hull_plan *p, hull_error *err) {
  if (p->hostname && sethostname(p->hostname, strlen(p->hostname)) < 0)
    return fail(err, errno, "hostname", "sethostname", nullptr);
  if (p->domainname && setdomainname(p->domainname, strlen(p->domainname)) < 0)
    return fail(err, errno, "hostname", "setdomainname", nullptr);
  return 0;
}

static int setup_fs(const hull_plan *p, hull_error *err) {
  if (hull_prepare_rootfs(p, err) < 0) return -1;
  int rootfd = open(p->rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (rootfd < 0) return fail(err, errno, "rootfs", "open", p->rootfs);
  int r = hull_mount_all(p, rootfd, err);
  if (r == 0) r = hull_make_devices(p, rootfd, err);
  close(rootfd);
  if (r == 0) r = hull_enter_rootfs(p, err);
  if (r == 0) r = hull_finish_rootfs(p, err);
  return r;
}

// A source that already sits on 0..2 must be moved out of the way before the dup2s.
static int setup_stdio(const hull_plan *p, hull_error *err) {
  int src[3];
  for (int i = 0; i < 3; i++) {
    src[i] = p->stdio[i];
    if (src[i] >= 0 && src[i] < 3 && src[i] != i) src[i] = fcntl(src[i], F_DUPFD_CLOEXEC, 3);
    if (p->stdio[i] >= 0 && src[i] < 0) return fail(err, errno, "stdio", "fcntl", nullptr);
  }
  for (int i = 0; i < 3; i++)
    if (src[i] >= 0 && src[i] != i && dup2(src[i], i) < 0) return fail(err, errno, "stdio", "dup2", nullptr);
  for (int i = 0; i < 3; i++) {
    // Node marks its own stdio close-on-exec, and libuv may have made a pipe non-blocking, on
    // which a shell's read would fail with EAGAIN
    fcntl(i, F_SETFD, 0);
    int fl = fcntl(i, F_GETFL);
    if (fl >= 0 && (fl & O_NONBLOCK)) fcntl(i, F_SETFL, fl & ~O_NONBLOCK);
  }
  return 0;
}

static int executable(const char *path) {
  struct stat st;
  return stat(path, &st) == 0 && S_ISREG(st.st_mode) && access(path, X_OK) == 0;
}

// execvp's lookup, done before start so that a missing binary fails create, as in runc, and
// with the container's PATH rather than hull's.
static int resolve_exe(const hull_plan *p, char *buf, size_t size, hull_error *err) {
  const char *arg0 = p->argv[0];
  errno = 0;
  if (strchr(arg0, '/')) {
    hull_strlcpy(buf, arg0, size);
    if (executable(buf)) return 0;
    return fail(err, errno ? errno : EACCES, "exec", "exec", arg0);
  }
  const char *path = p->path_env ? p->path_env : kDefaultPath;
  while (*path) {
    const char *end = strchr(path, ':');
    size_t n = end ? (size_t)(end - path) : strlen(path);
    if (n && n + strlen(arg0) + 2 <= size) {
      memcpy(buf, path, n);
      buf[n] = '/';
      hull_strlcpy(buf + n + 1, arg0, size - n - 1);
      if (executable(buf)) return 0;
    }
    path += n + (end ? 1 : 0);
  }
  return fail(err, ENOENT, "exec", "exec", arg0);
}

// Waits until `start` opens the fifo for reading: open(O_WRONLY) blocks until then. The fifo
// is reached through the O_PATH fd, because after pivot_root its path is not in our root.
static int wait_for_start(const hull_plan *p, int procfd, hull_error *err) {
  char num[24];
  int fd;
  do fd = openat(procfd, hull_itoa(p->fifo_fd, num), O_WRONLY | O_CLOEXEC);
  while (fd < 0 && errno == EINTR);
  if (fd < 0) return fail(err, errno, "start", "open", "exec.fifo");
  int r = hull_write_all(fd, "0", 1);
  close(fd);
  return r < 0 ? fail(err, -r, "start", "write", "exec.fifo") : 0;
}

// A held process waits for one byte from its parent; EOF means the parent gave up on it.
static int wait_for_release(const hull_plan *p) {
  char c;
  ssize_t n;
  do n = read(p->sync_fd, &c, 1); while (n < 0 && errno == EINTR);
  return n == 1 ? 0 : -1;
}

static int finalize(const hull_plan *p, hull_error *err) {
  if (hull_drop_bounding(p, err) < 0) return -1;
  if (hull_switch_user(p, err) < 0) return -1;
  if (hull_apply_caps(p, err) < 0) return -1;
  // after the switch, so that the task's own permissions decide whether it may enter cwd
  if (chdir(p->cwd) < 0) return fail(err, errno, "cwd", "chdir", p->cwd);
  umask(p->has_umask ? p->umask : 022);
  if (p->no_new_privs && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
    return fail(err, errno, "noNewPrivileges", "prctl(PR_SET_NO_NEW_PRIVS)", nullptr);
  return 0;
}

// A supervisor (hull's executor) asks that its task die with it rather than run on unsupervised.
// The parent may already be gone by the time prctl runs. getppid() cannot tell in a new pid
// namespace (it reads 0), but the parent holds the other end of the sync socket until spawn
// returns: a hang-up there means it died.
static int set_pdeathsig(const hull_plan *p, hull_error *err) {
  if (!p->pdeathsig) return 0;
  if (prctl(PR_SET_PDEATHSIG, p->pdeathsig, 0, 0, 0) < 0) return fail(err, errno, "pdeathsig", "prctl(PR_SET_PDEATHSIG)", nullptr);
  struct pollfd pfd = {p->sync_fd, 0, 0};
  if (poll(&pfd, 1, 0) > 0 && (pfd.revents & POLLHUP)) _exit(1);  // nobody is left to tell
  return 0;
}

// setns(CLONE_NEWPID) only moves our children, so the process that execs is forked after the
// joins. CLONE_PARENT makes it hull's own child, which hull can wait for; this one exits.
static int fork_into_pidns(const hull_plan *p, hull_error *err) {
  long pid = syscall(SYS_clone, CLONE_PARENT | SIGCHLD, nullptr, nullptr, nullptr, nullptr);
  if (pid < 0) return fail(err, errno, "exec", "clone", nullptr);
  if (pid == 0) return 0;
  send_msg(p->sync_fd, HULL_MSG_PID, nullptr, (pid_t)pid);
  _exit(0);
}

static int setup(const hull_plan *p, int *procfd, char *exe, size_t exe_size, hull_error *err) {
  // CVE-2019-5736: until it execs, this process is a copy of hull's own binary; non-dumpable, no
  // process of the container can open its /proc/<pid>/exe and write through it to the host's
  if (p->exec_mode && prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
    return fail(err, errno, "exec", "prctl(PR_SET_DUMPABLE)", nullptr);
  if (set_pdeathsig(p, err) < 0) return -1;
  if (join_cgroups(p, err) < 0 || unshare_cgroupns(p, err) < 0 || join_namespaces(p, err) < 0) return -1;
  if (p->exec_mode && fork_into_pidns(p, err) < 0) return -1;
  if (set_oom_score_adj(p, err) < 0 || set_rlimits(p, err) < 0 || set_names(p, err) < 0) return -1;
  umask(0);  // device nodes and mount points get exactly the modes asked for
  if (p->fifo_fd >= 0) {
    *procfd = open("/proc/self/fd", O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (*procfd < 0) return fail(err, errno, "start", "open", "/proc/self/fd");
  }
  // without a rootfs the task is a plain process (the executor's universal mode): it still gets
  // its cgroups, session, user, groups and capabilities, and keeps the host's filesystem
  if (p->rootfs && setup_fs(p, err) < 0) return -1;
  if (setsid() < 0) return fail(err, errno, "session", "setsid", nullptr);
  if (p->console_fd >= 0 ? hull_setup_console(p, err) < 0 : setup_stdio(p, err) < 0) return -1;
  // fds the task may keep are 0..2 and the preserved ones; everything of ours closes on exec
  close_range_from(3 + (unsigned)p->preserve_fds, ~0U, CLOSE_RANGE_CLOEXEC);
  if (finalize(p, err) < 0) return -1;
  return resolve_exe(p, exe, exe_size, err);
}

void hull_child_main(const hull_plan *p) {
  hull_error err;
  char exe[4096];
  int procfd = -1;
  reset_signals();
  close_unwanted(p);
  if (setup(p, &procfd, exe, sizeof exe, &err) < 0) die(p, &err);
  if (p->fifo_fd >= 0) {
    send_msg(p->sync_fd, HULL_MSG_READY, nullptr);
    if (wait_for_start(p, procfd, &err) < 0) _exit(1);
  } else if (p->hold) {
    send_msg(p->sync_fd, HULL_MSG_READY, nullptr);
    if (wait_for_release(p) < 0) _exit(1);
  }
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
  execve(exe, (char *const *)p->argv, (char *const *)p->envp);
  fail(&err, errno, "exec", "exec", exe);
  if (p->fifo_fd < 0) die(p, &err);
  // create has returned: the only one left to tell is the task's own stderr
  const char *parts[] = {"hull: exec `", exe, "` failed\n", nullptr};
  for (const char *const *s = parts; *s; s++) hull_write_all(2, *s, strlen(*s));
  _exit(err.errnum == ENOENT ? 127 : 126);
}
