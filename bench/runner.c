// Runs one program inside a network namespace and records what it cost: wall time, CPU
// time and peak resident set size (ru_maxrss of wait4), the numbers the benchmark reports
// for every tool that runs as a process of its own. Standard input, output and error are
// inherited, so the program's own output reaches the caller unchanged.
//
// Usage: runner NETNS_PATH RESULT_FILE PROGRAM [ARGUMENT...]
// RESULT_FILE receives one JSON object:
//   {"exitCode":0,"signal":0,"wallUs":1234.5,"userUs":1000,"systemUs":200,"maxRssKb":4321}
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static double timeval_us(struct timeval tv) { return tv.tv_sec * 1e6 + tv.tv_usec; }

int main(int argc, char **argv) {
  if (argc < 4) {
    fprintf(stderr, "usage: runner NETNS_PATH RESULT_FILE PROGRAM [ARGUMENT...]\n");
    return 2;
  }

  // Entered before the fork, so the program starts inside the namespace as it would under
  // `ip netns exec`, without a mount namespace of its own.
  int netns = open(argv[1], O_RDONLY | O_CLOEXEC);
  if (netns < 0 || setns(netns, CLONE_NEWNET) < 0) {
    fprintf(stderr, "runner: cannot enter %s: %s\n", argv[1], strerror(errno));
    return 2;
  }
  close(netns);

  double start = now_us();
  pid_t child = fork();
  if (child < 0) {
    fprintf(stderr, "runner: fork: %s\n", strerror(errno));
    return 2;
  }
  if (child == 0) {
    execvp(argv[3], argv + 3);
    fprintf(stderr, "runner: cannot run %s: %s\n", argv[3], strerror(errno));
    _exit(127);
  }

  int status = 0;
  struct rusage usage;
  while (wait4(child, &status, 0, &usage) < 0) {
    if (errno != EINTR) {
      fprintf(stderr, "runner: wait4: %s\n", strerror(errno));
      return 2;
    }
  }
  double wall = now_us() - start;

  FILE *result = fopen(argv[2], "w");
  if (result == NULL) {
    fprintf(stderr, "runner: cannot write %s: %s\n", argv[2], strerror(errno));
    return 2;
  }
  fprintf(result,
          "{\"exitCode\":%d,\"signal\":%d,\"wallUs\":%.1f,\"userUs\":%.0f,\"systemUs\":%.0f,"
          "\"maxRssKb\":%ld}\n",
          WIFEXITED(status) ? WEXITSTATUS(status) : -1, WIFSIGNALED(status) ? WTERMSIG(status) : 0,
          wall, timeval_us(usage.ru_utime), timeval_us(usage.ru_stime), usage.ru_maxrss);
  fclose(result);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
}
