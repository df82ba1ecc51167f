/*
 * The floor of one stats sample: the same cgroup files as hull's sampler, opened once, each
 * re-read per sample with one pread(fd, buf, 64 KiB, 0) (cgroupfs regenerates the text when it is
 * read from offset 0). Prints one line: microseconds per sample, bytes per sample.
 *
 *   pread ITERS FILE...
 *
 * Compiled by the bench at run time (cc -O2); see bench/parts/stats.js.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static char buf[65536];

static double now_us(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1e6 + t.tv_nsec / 1e3;
}

int main(int argc, char **argv) {
  if (argc < 3 || argc > 66) {
    fprintf(stderr, "usage: %s ITERS FILE... (at most 64 files)\n", argv[0]);
    return 2;
  }
  long iters = atol(argv[1]);
  int n = argc - 2, fds[64];
  for (int i = 0; i < n; i++) {
    if ((fds[i] = open(argv[i + 2], O_RDONLY | O_CLOEXEC)) < 0) {
      perror(argv[i + 2]);
      return 1;
    }
  }
  long bytes = 0;
  double t0 = now_us();
  for (long it = 0; it < iters; it++) {
    for (int i = 0; i < n; i++) {
      ssize_t r = pread(fds[i], buf, sizeof buf, 0);
      if (r < 0) {
        perror("pread");
        return 1;
      }
      bytes += r;
    }
  }
  double t1 = now_us();
  printf("%.3f %ld\n", (t1 - t0) / (double)iters, iters ? bytes / iters : 0);
  return 0;
}
