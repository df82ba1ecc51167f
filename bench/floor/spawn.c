/*
 * The bench's process timer: a long-lived helper that starts commands with posix_spawnp and
 * times them with CLOCK_MONOTONIC, so that CLI contestants are timed without the Node event
 * loop or a fork of the (large) bench process in the measurement.
 *
 *   spawn STDERR_FILE
 *
 * Requests on stdin: a line "N", then N lines, each one command with its arguments separated
 * by tabs. All N are started at once and waited for. The answer on stdout is one line:
 *   "<wall ns> <failed> <first failure status> <children user µs> <children sys µs>"
 * where a failure is a non-zero exit or a death by signal (status = exit code, or 128+signal),
 * and user/sys come from wait4 (the direct children only; a reparented container init is not
 * counted). Children get /dev/null as stdin and stdout and STDERR_FILE (appended) as stderr.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

#define MAXN 512
#define MAXARGS 128

static long long now_ns(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (long long)t.tv_sec * 1000000000LL + t.tv_nsec;
}

static char *lines[MAXN];

static void split(char *line, char **argv) {
  int n = 0;
  char *save = NULL;
  for (char *tok = strtok_r(line, "\t", &save); tok && n < MAXARGS - 1; tok = strtok_r(NULL, "\t", &save)) argv[n++] = tok;
  argv[n] = NULL;
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: %s STDERR_FILE\n", argv[0]);
    return 2;
  }
  int devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
  int errfd = open(argv[1], O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (devnull < 0 || errfd < 0) {
    perror("open");
    return 1;
  }
  setvbuf(stdout, NULL, _IOLBF, 0);
  char *line = NULL;
  size_t cap = 0;
  ssize_t len;
  while ((len = getline(&line, &cap, stdin)) > 0) {
    int n = atoi(line);
    if (n <= 0 || n > MAXN) {
      printf("0 -1 -1 0 0\n");
      continue;
    }
    for (int i = 0; i < n; i++) {
      char *l = NULL;
      size_t c = 0;
      ssize_t k = getline(&l, &c, stdin);
      if (k <= 0) return 1;
      if (l[k - 1] == '\n') l[k - 1] = 0;
      lines[i] = l;
    }
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, devnull, 0);
    posix_spawn_file_actions_adddup2(&fa, devnull, 1);
    posix_spawn_file_actions_adddup2(&fa, errfd, 2);
    pid_t pids[MAXN];
    int failed = 0, first = 0, started = 0;
    long long t0 = now_ns();
    for (int i = 0; i < n; i++) {
      char *args[MAXARGS];
      split(lines[i], args);
      int rc = posix_spawnp(&pids[i], args[0], &fa, NULL, args, environ);
      if (rc != 0) {
        dprintf(errfd, "spawn %s: %s\n", args[0], strerror(rc));
        pids[i] = -1;
        if (!failed++) first = 127;
      } else started++;
    }
    long long usr = 0, sys = 0;
    for (int i = 0; i < n; i++) {
      if (pids[i] < 0) continue;
      int st;
      struct rusage ru;
      while (wait4(pids[i], &st, 0, &ru) < 0 && errno == EINTR) {}
      usr += ru.ru_utime.tv_sec * 1000000LL + ru.ru_utime.tv_usec;
      sys += ru.ru_stime.tv_sec * 1000000LL + ru.ru_stime.tv_usec;
      int code = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
      if (code != 0 && !failed++) first = code;
    }
    long long t1 = now_ns();
    posix_spawn_file_actions_destroy(&fa);
    for (int i = 0; i < n; i++) free(lines[i]);
    printf("%lld %d %d %lld %lld\n", t1 - t0, failed, first, usr, sys);
  }
  return 0;
}
