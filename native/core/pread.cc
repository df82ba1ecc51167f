// Reads of kernel pseudo-files at offset 0, many per call. A stats sample re-reads ten or so
// cgroup files; from JS each read is a call into Node (fs.readSync), and that per-call cost was
// more than the syscalls themselves (bench: stats). One call here does them all.
#include <errno.h>
#include <unistd.h>

#include "hull.h"

void hull_pread_all(const int *fds, int32_t *lens, size_t n, unsigned char *buf, size_t slot) {
  for (size_t i = 0; i < n; i++) {
    ssize_t r;
    // cgroupfs and procfs regenerate a seq_file's text for a read at offset 0, so no reopen
    do r = pread(fds[i], buf + i * slot, slot, 0); while (r < 0 && errno == EINTR);
    lens[i] = r < 0 ? -errno : (int32_t)r;
  }
}
