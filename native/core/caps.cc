#include "caps.h"

#include <errno.h>
#include <grp.h>
#include <linux/capability.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

static int fail(hull_error *err, int errnum, const char *step, const char *syscall) {
  const char *parts[] = {syscall, nullptr};
  hull_error_set(err, errnum, step, syscall, nullptr, "");
  hull_error_msg(err, parts);
  return -1;
}

// Bounding-set drops need CAP_SETPCAP, so they happen while the child is still fully root.
int hull_drop_bounding(const hull_plan *p, hull_error *err) {
  for (int cap = 0; cap <= p->cap_last; cap++) {
    if (p->cap_bounding & (1ULL << cap)) continue;
    if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0 && errno != EINVAL)
      return fail(err, errno, "capabilities", "prctl(PR_CAPBSET_DROP)");
  }
  return 0;
}

// Raw syscalls, not glibc's wrappers: in a process cloned from a multi-threaded one, glibc still
// believes the other threads exist and would signal them to change their ids too (setxid).
//
// Groups are set exactly as given: setgroups with the list, even an empty one, so that a task
// run as nobody keeps no group 0 or any other group of hull's (Nomad and node-pty both leaked
// the supplementary groups of their parent).
int hull_switch_user(const hull_plan *p, hull_error *err) {
  // keep the permitted set across setuid(non-zero); hull_apply_caps then sets it exactly
  if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0) return fail(err, errno, "user", "prctl(PR_SET_KEEPCAPS)");
  if (syscall(SYS_setgroups, p->n_gids, p->n_gids ? p->gids : nullptr) < 0) return fail(err, errno, "user", "setgroups");
  if (syscall(SYS_setresgid, p->gid, p->gid, p->gid) < 0) return fail(err, errno, "user", "setresgid");
  if (syscall(SYS_setresuid, p->uid, p->uid, p->uid) < 0) return fail(err, errno, "user", "setresuid");
  if (prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) < 0) return fail(err, errno, "user", "prctl(PR_SET_KEEPCAPS)");
  return 0;
}

int hull_apply_caps(const hull_plan *p, hull_error *err) {
  struct __user_cap_header_struct hdr = {_LINUX_CAPABILITY_VERSION_3, 0};
  struct __user_cap_data_struct data[2];
  for (int i = 0; i < 2; i++) {
    data[i].effective = (uint32_t)(p->cap_effective >> (32 * i));
    data[i].permitted = (uint32_t)(p->cap_permitted >> (32 * i));
    data[i].inheritable = (uint32_t)(p->cap_inheritable >> (32 * i));
  }
  if (syscall(SYS_capset, &hdr, data) < 0) return fail(err, errno, "capabilities", "capset");
  if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
    return fail(err, errno, "capabilities", "prctl(PR_CAP_AMBIENT_CLEAR_ALL)");
  for (int cap = 0; cap <= p->cap_last; cap++) {
    if (!(p->cap_ambient & (1ULL << cap))) continue;
    if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, cap, 0, 0) < 0)
      return fail(err, errno, "capabilities", "prctl(PR_CAP_AMBIENT_RAISE)");
  }
  return 0;
}
