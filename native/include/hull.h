/*
 * hull's native core: the C ABI between the core (no Node headers) and the N-API binding.
 *
 * Every fallible function returns a negative value and fills a hull_error (crun's convention).
 * After clone the child uses only what a hull_plan points at: the binding marshals every string
 * and array before the clone, so the child never allocates, takes a lock or touches N-API.
 */
#ifndef HULL_H
#define HULL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Fixed-size, so that the child can fill one without allocating and send it whole. */
typedef struct hull_error {
  int errnum;          /* errno value, or 0 for a failure that is not a syscall's */
  char step[32];       /* setup step, e.g. "mount", "pivot_root", "exec" */
  char syscall[32];    /* e.g. "mount", "openat2" */
  char path[512];      /* the path at fault, when there is one */
  char msg[1024];      /* what failed, without the errno text: "mount `proc` on `/x/proc`" */
} hull_error;

int hull_error_set(hull_error *err, int errnum, const char *step, const char *syscall,
                   const char *path, const char *msg);

/* Returns a newly built message "a`b`c`d`..." into err->msg from NULL-terminated parts. */
void hull_error_msg(hull_error *err, const char *const *parts);

/*
 * pread(fds[i], buf + i * slot, slot, 0) for each i; lens[i] is the length read, or -errno.
 * Cannot fail as a whole: each file's result is its own. A length of slot means the text may
 * be longer than the slot, and the caller reads that file again with a bigger buffer.
 */
void hull_pread_all(const int *fds, int32_t *lens, size_t n, unsigned char *buf, size_t slot);

typedef struct hull_mount {
  const char *source;      /* NULL for none */
  const char *destination; /* absolute, inside the container */
  const char *fstype;      /* NULL for a bind mount */
  const char *data;        /* fs-specific options, or NULL */
  unsigned long flags;     /* MS_* without propagation; MS_BIND (+MS_REC) for binds */
  unsigned long propagation; /* MS_PRIVATE|MS_SLAVE|MS_SHARED|MS_UNBINDABLE (+MS_REC), or 0 */
  int file;                /* the mount point must be a file (bind of a file) */
} hull_mount;

typedef struct hull_device {
  const char *path;        /* absolute, inside the container, e.g. /dev/null */
  mode_t type;             /* S_IFCHR, S_IFBLK or S_IFIFO */
  uint32_t major, minor;
  mode_t mode;             /* permission bits */
  uid_t uid;
  gid_t gid;
} hull_device;

typedef struct hull_symlink {
  const char *target;      /* what the link points at */
  const char *path;        /* the link, absolute inside the container */
} hull_symlink;

typedef struct hull_rlimit {
  int resource;
  uint64_t soft, hard;     /* UINT64_MAX is RLIM_INFINITY */
} hull_rlimit;

typedef struct hull_nsjoin {
  int fd;                  /* an open fd of the namespace file */
  int nstype;              /* CLONE_NEW* */
  const char *path;        /* for messages */
} hull_nsjoin;

typedef struct hull_kv {
  const char *key;
  const char *value;
} hull_kv;

typedef struct hull_plan {
  int clone_flags;                    /* CLONE_NEW* of namespaces to create */
  const hull_nsjoin *joins; size_t n_joins;
  const int *cgroup_procs; size_t n_cgroup_procs; /* cgroup.procs fds, open for writing */
  int join_pidfd;                     /* a pidfd whose namespaces (join_flags) to enter, or -1 */
  int join_flags;

  const char *rootfs;                 /* absolute host path; NULL: no rootfs (a plain process) */
  int rootfs_readonly;
  unsigned long rootfs_propagation;   /* 0: rslave, as runc */
  int no_pivot;

  const hull_mount *mounts; size_t n_mounts;
  const hull_device *devices; size_t n_devices;
  const hull_symlink *symlinks; size_t n_symlinks;
  const char *const *masked; size_t n_masked;
  const char *const *readonly; size_t n_readonly;
  const hull_kv *sysctl; size_t n_sysctl;

  const char *hostname;               /* NULL: leave */
  const char *domainname;
  const hull_rlimit *rlimits; size_t n_rlimits;
  int has_oom_score_adj; int oom_score_adj;

  uid_t uid; gid_t gid;
  const gid_t *gids; size_t n_gids;
  int has_umask; mode_t umask;

  uint64_t cap_bounding, cap_effective, cap_permitted, cap_inheritable, cap_ambient;
  int cap_last;                       /* /proc/sys/kernel/cap_last_cap */
  int no_new_privs;

  const char *const *argv;            /* NULL-terminated */
  const char *const *envp;            /* NULL-terminated */
  const char *cwd;
  const char *path_env;               /* PATH from envp, for the lookup of argv[0]; NULL: default */

  int fifo_fd;                        /* O_PATH fd of exec.fifo: wait for start; -1: exec at once */
  int stdio[3];                       /* fds to become 0, 1, 2; -1: keep the inherited one */
  int preserve_fds;                   /* fds 3..3+n-1 stay open across exec */
  int console_fd;                     /* console socket, connected; -1: no terminal */
  int sync_fd;                        /* the child's end of the sync socket */
  int pdeathsig;                      /* signal for the child when its parent dies; 0: none */
  int hold;                           /* report READY before exec, then wait for hull_release */
  int exec_mode;                      /* exec into a running container: join its namespaces
                                         (joins), then fork into its pid namespace */
  const int *keep_fds; size_t n_keep_fds; /* every fd above, sorted: the child closes all others */
} hull_plan;

typedef struct hull_spawned {
  pid_t pid;
  int pidfd;
  int hold_fd;     /* with plan->hold: the parent's sync end, owned by the caller; else -1 */
} hull_spawned;

/*
 * Clones the container's init with plan, waits until it has set everything up and is blocked
 * on the exec fifo (or has exec'd, with fifo_fd -1). On failure the child is killed and reaped,
 * err says what the child reported, and nothing of it is left.
 * parent_sync is the parent's end of the sync socket. Ownership of plan->sync_fd passes to
 * hull_spawn, which closes the parent's copy once the child has its own, so that the child's
 * exit or exec shows as EOF.
 */
int hull_spawn(const hull_plan *plan, int parent_sync, hull_spawned *out, hull_error *err);

/*
 * hull_spawn with plan->exec_mode: the clone joins the container's cgroups and namespaces, then
 * forks with CLONE_PARENT, so that the process that execs is inside the pid namespace and is
 * still the caller's own child (runc's nsexec). out->pid is that process.
 */

/* Lets a held process (plan->hold) exec; closing hold_fd instead makes it exit. Closes hold_fd. */
int hull_release(int hold_fd, hull_error *err);

/* Opens the exec fifo for reading, which releases the init, and waits for its byte. */
int hull_fifo_release(const char *fifo_path, int pidfd, int timeout_ms, hull_error *err);

/* pidfd helpers (Linux 5.3+). */
int hull_pidfd_open(pid_t pid, hull_error *err);
int hull_pidfd_signal(int pidfd, int sig, hull_error *err);

/* SCM_RIGHTS: send one fd with a payload; receive exactly one, close-on-exec, EINTR-safe. */
int hull_send_fd(int sock, int fd, const char *payload, hull_error *err);
int hull_recv_fd(int sock, char *payload, size_t payload_size, hull_error *err);

#ifdef __cplusplus
}
#endif

#endif
