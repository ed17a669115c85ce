/* /proc/<pid>/environ reads: own (medium), another process's (high).
 * Near misses: /proc/self/stat, /proc/self/cmdline, /proc/<child>/stat. */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

static void slurp(const char *p) {
    char buf[512];
    int fd = open(p, O_RDONLY);
    if (fd >= 0) { while (read(fd, buf, sizeof buf) > 0) {} close(fd); }
}

int main(void) {
    char p[64];
    slurp("/proc/self/environ");                 /* hit: own environment */
    snprintf(p, sizeof p, "/proc/%d/environ", getpid());
    slurp(p);                                    /* hit: own env by pid (normalises to /proc/self) */
    pid_t c = fork();
    if (c == 0) { pause(); _exit(0); }
    snprintf(p, sizeof p, "/proc/%d/environ", c);
    slurp(p);                                    /* hit: another process's env (succeeds, same uid) */
    slurp("/proc/1/environ");                    /* hit: pid 1 (root) -> EACCES */
    slurp("/proc/self/stat");                    /* near miss */
    slurp("/proc/self/cmdline");                 /* near miss */
    snprintf(p, sizeof p, "/proc/%d/stat", c);
    slurp(p);                                    /* near miss */
    kill(c, SIGTERM);
    waitpid(c, NULL, 0);
    return 0;
}
