/*
 * The sync socket between hull and the container's init (SOCK_SEQPACKET, one message a frame):
 *
 *   parent                                child (after clone)
 *     |                                     | joins cgroups, namespaces; sets up the rootfs,
 *     |                                     | pivot_root, user, capabilities
 *     | <---------- ERROR {hull_error} ---- | any step failed: then _exit(1)
 *     | <---------- READY ---------------- | set up; blocks opening exec.fifo for writing
 *   (create returns; `start` opens exec.fifo for reading, which lets the child write a byte
 *    and exec)
 *
 * With no exec fifo the child execs straight away, and EOF (the close-on-exec of its end)
 * means the exec succeeded.
 *
 * exec into a running container adds a step: the clone joins the namespaces, forks the process
 * that will exec (CLONE_PARENT: it is hull's child, inside the container's pid namespace), sends
 *     PID {pid}
 * and exits; the parent reaps it and reads on: ERROR from the exec process, or EOF on its exec.
 */
#ifndef HULL_SYNC_H
#define HULL_SYNC_H

#include <stdint.h>

#include "hull.h"

enum { HULL_MSG_READY = 1, HULL_MSG_ERROR = 2, HULL_MSG_PID = 3 };

typedef struct hull_msg {
  int32_t type;
  int32_t pid;        /* HULL_MSG_PID: the exec process, as the parent's pid namespace sees it */
  hull_error err;
} hull_msg;

#endif
