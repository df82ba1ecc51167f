// SCM_RIGHTS helpers that cannot leak: received fds are close-on-exec from the start
// (MSG_CMSG_CLOEXEC), EINTR is retried, and anything but exactly one fd is refused, with every
// fd that did arrive closed (runc's internal/cmsg).
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "hull.h"
#include "str.h"

static int fail(hull_error *err, int errnum, const char *syscall, const char *what) {
  const char *parts[] = {syscall, what, nullptr};
  hull_error_set(err, errnum, "console", syscall, nullptr, "");
  hull_error_msg(err, parts);
  return -1;
}

extern "C" int hull_send_fd(int sock, int fd, const char *payload, hull_error *err) {
  char ctrl[CMSG_SPACE(sizeof(int))];
  memset(ctrl, 0, sizeof ctrl);
  // the payload goes with its NUL, as runc sends the pty's name
  struct iovec iov = {(void *)payload, strlen(payload) + 1};
  struct msghdr msg;
  memset(&msg, 0, sizeof msg);
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = ctrl;
  msg.msg_controllen = sizeof ctrl;
  struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(sizeof(int));
  memcpy(CMSG_DATA(c), &fd, sizeof(int));
  for (;;) {
    if (sendmsg(sock, &msg, MSG_NOSIGNAL) >= 0) return 0;
    if (errno != EINTR) return fail(err, errno, "sendmsg", " on the console socket");
  }
}

static void close_all(struct msghdr *msg) {
  for (struct cmsghdr *c = CMSG_FIRSTHDR(msg); c; c = CMSG_NXTHDR(msg, c)) {
    if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
    size_t n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    for (size_t i = 0; i < n; i++) {
      int fd;
      memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof fd);
      close(fd);
    }
  }
}

static int take_one(struct msghdr *msg) {
  int found = -1, count = 0;
  for (struct cmsghdr *c = CMSG_FIRSTHDR(msg); c; c = CMSG_NXTHDR(msg, c)) {
    if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
    count += (int)((c->cmsg_len - CMSG_LEN(0)) / sizeof(int));
    if (found < 0) memcpy(&found, CMSG_DATA(c), sizeof found);
  }
  return count == 1 ? found : -1;
}

extern "C" int hull_recv_fd(int sock, char *payload, size_t payload_size, hull_error *err) {
  // room for a few fds, so that extra ones arrive (and get closed) instead of being truncated
  char ctrl[CMSG_SPACE(sizeof(int) * 8)];
  char sink[1];
  struct iovec iov = {payload_size ? (void *)payload : (void *)sink, payload_size ? payload_size : 1};
  struct msghdr msg;
  memset(&msg, 0, sizeof msg);
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = ctrl;
  msg.msg_controllen = sizeof ctrl;
  ssize_t n;
  do n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC); while (n < 0 && errno == EINTR);
  if (n < 0) return fail(err, errno, "recvmsg", " on the console socket");
  if (payload_size) payload[(size_t)n < payload_size ? (size_t)n : payload_size - 1] = '\0';
  int fd = take_one(&msg);
  if (fd < 0 || (msg.msg_flags & MSG_CTRUNC)) {
    close_all(&msg);
    return fail(err, EBADMSG, "recvmsg", ": expected exactly one fd");
  }
  return fd;
}
