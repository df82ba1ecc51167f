#include "terminal.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include "str.h"

static int fail(hull_error *err, int errnum, const char *syscall, const char *path) {
  const char *parts[] = {syscall, path ? " `" : "", path ? path : "", path ? "`" : "", nullptr};
  hull_error_set(err, errnum, "console", syscall, path, "");
  hull_error_msg(err, parts);
  return -1;
}

// TIOCGPTPEER opens the peer through the master, not by path, so a /dev/pts entry swapped in by
// the rootfs cannot hand the container a different terminal.
static int open_peer(int master, hull_error *err) {
  int peer = ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (peer < 0) return fail(err, errno, "ioctl(TIOCGPTPEER)", "/dev/ptmx");
  return peer;
}

static int pty_name(int master, char *buf, size_t size, hull_error *err) {
  unsigned int n = 0;
  if (ioctl(master, TIOCGPTN, &n) < 0) return fail(err, errno, "ioctl(TIOCGPTN)", "/dev/ptmx");
  char num[24];
  hull_join(buf, size, "/dev/pts/", hull_utoa(n, num), nullptr);
  return 0;
}

static int make_stdio(int peer, hull_error *err) {
  if (setsid() < 0 && errno != EPERM) return fail(err, errno, "setsid", nullptr);
  if (ioctl(peer, TIOCSCTTY, 0) < 0) return fail(err, errno, "ioctl(TIOCSCTTY)", nullptr);
  for (int i = 0; i < 3; i++)
    if (dup2(peer, i) < 0) return fail(err, errno, "dup2", nullptr);
  return 0;
}

int hull_setup_console(const hull_plan *p, hull_error *err) {
  int master = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (master < 0) return fail(err, errno, "open", "/dev/ptmx");
  int unlock = 0;
  char name[64];
  int r = ioctl(master, TIOCSPTLCK, &unlock) < 0 ? fail(err, errno, "ioctl(TIOCSPTLCK)", "/dev/ptmx") : 0;
  if (r == 0) r = pty_name(master, name, sizeof name, err);
  int peer = r == 0 ? open_peer(master, err) : -1;
  if (peer >= 0) r = hull_send_fd(p->console_fd, master, name, err);
  close(master);
  if (peer < 0 || r < 0) {
    if (peer >= 0) close(peer);
    return -1;
  }
  r = make_stdio(peer, err);
  close(peer);
  return r;
}
