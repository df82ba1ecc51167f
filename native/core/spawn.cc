// The parent's side of container creation: clone, then read the child's verdict.
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "child.h"
#include "hull.h"
#include "str.h"
#include "sync.h"

#ifndef CLONE_PIDFD
#define CLONE_PIDFD 0x00001000
#endif

static int fail(hull_error *err, int errnum, const char *step, const char *syscall, const char *msg) {
  return hull_error_set(err, errnum, step, syscall, nullptr, msg);
}

// A fork-like clone (no new stack, no CLONE_VM) with the namespace flags. Signals stay blocked
// across it, so that no Node handler runs in the child before it resets them.
static pid_t clone_child(const hull_plan *p, int *pidfd) {
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  // the cgroup namespace is unshared by the child once it is in its cgroups (see child.cc)
  unsigned long flags = ((unsigned long)p->clone_flags & ~(unsigned long)CLONE_NEWCGROUP) | CLONE_PIDFD | SIGCHLD;
  long pid = syscall(SYS_clone, flags, nullptr, pidfd, nullptr, nullptr);
  if (pid == 0) hull_child_main(p);
  int e = errno;
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
  errno = e;
  return (pid_t)pid;
}

static void kill_and_reap(pid_t pid, int pidfd) {
  syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, nullptr, 0);
  while (waitpid(pid, nullptr, 0) < 0 && errno == EINTR) {
  }
  close(pidfd);
}

static void describe_exit(pid_t pid, hull_error *err) {
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  char num[24];
  const char *parts[] = {"container init exited during setup with ",
                         WIFSIGNALED(status) ? "signal " : "status ",
                         hull_itoa(WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status), num), nullptr};
  fail(err, 0, "setup", "", "");
  hull_error_msg(err, parts);
}

extern "C" int hull_spawn(const hull_plan *p, int parent_sync, hull_spawned *out, hull_error *err) {
  int pidfd = -1;
  pid_t pid = clone_child(p, &pidfd);
  int e = errno;
  close(p->sync_fd);
  if (pid < 0) return fail(err, e, "clone", "clone", "clone");
  hull_msg m;
  ssize_t n;
  do n = recv(parent_sync, &m, sizeof m, 0); while (n < 0 && errno == EINTR);
  if (n == (ssize_t)sizeof m && m.type == HULL_MSG_PID) {
    // exec mode: the clone has forked the exec process (our child too) and exits
    while (waitpid(pid, nullptr, 0) < 0 && errno == EINTR) {
    }
    close(pidfd);
    pid = m.pid;
    pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
    if (pidfd < 0) {
      // the exec process is our child and not yet reaped, so its pid is still its own
      int e = errno;
      kill(pid, SIGKILL);
      while (waitpid(pid, nullptr, 0) < 0 && errno == EINTR) {
      }
      return fail(err, e, "exec", "pidfd_open", "pidfd_open");
    }
    do n = recv(parent_sync, &m, sizeof m, 0); while (n < 0 && errno == EINTR);
  }
  out->hold_fd = -1;
  if (n == (ssize_t)sizeof m && m.type == HULL_MSG_READY) {
    out->pid = pid;
    out->pidfd = pidfd;
    if (p->hold) out->hold_fd = parent_sync;  // ownership passes to the caller
    return 0;
  }
  if (n == 0 && p->fifo_fd < 0) {  // close-on-exec of the child's end: it exec'd
    out->pid = pid;
    out->pidfd = pidfd;
    return 0;
  }
  if (n == (ssize_t)sizeof m && m.type == HULL_MSG_ERROR) {
    *err = m.err;
    kill_and_reap(pid, pidfd);
    return -1;
  }
  if (n < 0) {
    e = errno;
    kill_and_reap(pid, pidfd);
    return fail(err, e, "setup", "recv", "recv on the sync socket");
  }
  describe_exit(pid, err);
  close(pidfd);
  return -1;
}

extern "C" int hull_release(int hold_fd, hull_error *err) {
  ssize_t n;
  do n = write(hold_fd, "1", 1); while (n < 0 && errno == EINTR);
  int e = errno;
  close(hold_fd);
  if (n != 1) return fail(err, e, "exec", "write", "release the held process");
  return 0;
}

extern "C" int hull_pidfd_open(pid_t pid, hull_error *err) {
  long fd = syscall(SYS_pidfd_open, pid, 0);
  if (fd < 0) {
    char num[24];
    const char *parts[] = {"pidfd_open ", hull_itoa(pid, num), nullptr};
    hull_error_set(err, errno, "", "pidfd_open", nullptr, "");
    hull_error_msg(err, parts);
    return -1;
  }
  return (int)fd;
}

extern "C" int hull_pidfd_signal(int pidfd, int sig, hull_error *err) {
  if (syscall(SYS_pidfd_send_signal, pidfd, sig, nullptr, 0) < 0)
    return fail(err, errno, "", "pidfd_send_signal", "pidfd_send_signal");
  return 0;
}

static long now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

// O_NONBLOCK: the open succeeds with no writer yet, and wakes an init blocked in its open.
extern "C" int hull_fifo_release(const char *fifo_path, int pidfd, int timeout_ms, hull_error *err) {
  int fd = open(fifo_path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) {
    const char *parts[] = {"open `", fifo_path, "`", nullptr};
    hull_error_set(err, errno, "start", "open", fifo_path, "");
    hull_error_msg(err, parts);
    return -1;
  }
  long deadline = now_ms() + timeout_ms;
  int r = -1;
  for (;;) {
    char c;
    ssize_t n = read(fd, &c, 1);
    if (n == 1) { r = 0; break; }
    if (n < 0 && errno != EAGAIN && errno != EINTR) {
      hull_error_set(err, errno, "start", "read", fifo_path, "read `exec.fifo`");
      break;
    }
    struct pollfd pfd[2] = {{fd, POLLIN, 0}, {pidfd, POLLIN, 0}};
    long left = deadline - now_ms();
    if (left <= 0) { hull_error_set(err, ETIMEDOUT, "start", "poll", fifo_path, "wait for the container's init"); break; }
    if (poll(pfd, 2, (int)left) < 0 && errno != EINTR) { hull_error_set(err, errno, "start", "poll", fifo_path, "poll"); break; }
    if ((pfd[1].revents & POLLIN) && !(pfd[0].revents & POLLIN)) {
      hull_error_set(err, ESRCH, "start", "", fifo_path, "container init exited before start");
      break;
    }
  }
  close(fd);
  return r;
}
