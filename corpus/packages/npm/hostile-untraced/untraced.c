// MALICIOUS TEST PACKAGE (pkgtrace corpus). Run it only through `pkgtrace run`.
//
// clone(CLONE_UNTRACED | SIGCHLD) by raw system call: a fork that ptrace
// does not follow, so a tracer that kills only its tracees at the end of
// the run leaves the child behind. The child closes its output (it must
// not hold the run's pipes), sleeps 20 s, then leaves a mark in /tmp and
// exits by itself. argv[1] (pkgtrace-untraced-<marker>) stays in its command
// line so the test can find it on the host.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(int argc, char **argv) {
    const char *marker = argc > 1 ? argv[1] : "pkgtrace-untraced-nomarker";
    fflush(stdout);
    long pid = syscall(SYS_clone, (long)(CLONE_UNTRACED | SIGCHLD), 0L, 0L, 0L, 0L);
    if (pid == 0) {
        int null = open("/dev/null", O_RDWR);
        dup2(null, 0);
        dup2(null, 1);
        dup2(null, 2);
        sleep(20);
        char path[256];
        snprintf(path, sizeof path, "/tmp/%s", marker);
        int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0644);
        if (fd >= 0) {
            (void)!write(fd, "escaped\n", 8);
            close(fd);
        }
        _exit(0);
    }
    if (pid < 0) {
        printf("clone(CLONE_UNTRACED): %s\n", strerrorname_np(errno));
    } else {
        printf("clone(CLONE_UNTRACED): child %ld started\n", pid);
    }
    return 0;
}
