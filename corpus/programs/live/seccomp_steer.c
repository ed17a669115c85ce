/* seccomp_steer DATA FILE: installs a seccomp filter of its own that
 * returns SECCOMP_RET_TRACE with DATA for openat (and with 0 for getppid,
 * a call the tracer's filter lets through), then opens FILE and calls
 * getppid. When several filters return SECCOMP_RET_TRACE the kernel gives
 * the tracer the newest filter's data: a tracer that trusted it would take
 * the open for a foreign-ABI call (DATA 0x2), refuse it (0x5) or report it
 * without its result (0x0). Prints "open ok" when the open worked. */
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

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: seccomp_steer DATA FILE\n");
        return 2;
    }
    unsigned data = (unsigned)strtoul(argv[1], NULL, 0) & SECCOMP_RET_DATA;
    struct sock_filter f[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_openat, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_TRACE | data),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_getppid, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_TRACE),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    };
    struct sock_fprog prog = {sizeof f / sizeof f[0], f};
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) || syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog)) {
        perror("seccomp");
        return 1;
    }
    int fd = open(argv[2], O_RDONLY);
    char buf[8];
    if (fd < 0 || read(fd, buf, sizeof buf) < 0) {
        perror("open");
        return 1;
    }
    printf("open ok\n");
    fflush(stdout);
    return getppid() > 0 ? 0 : 1;
}
