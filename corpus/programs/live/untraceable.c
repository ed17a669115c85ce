/* untraceable DIR: makes, once each, the calls a ptrace tracer cannot
 * follow, as a program hiding from `pkgtrace trace` or `strace -f` would:
 *   clone(CLONE_UNTRACED|SIGCHLD)  a child that creates DIR/untraced-child
 *       (under a tracer's seccomp filter that stops on open, the open fails
 *       with ENOSYS: a filter's RET_TRACE with no tracer attached)
 *   clone3 with CLONE_UNTRACED     a child that exits at once
 *   io_uring_setup                 one ring (closed; fails where disabled)
 *   int 0x80 (i386 ABI) getpid     a call with another ABI's numbers
 *   seccomp(SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_NEW_LISTENER)
 *       a filter handing getppid to a listener (closed at once), which
 *       would take the call away from the tracer
 * and waits for its children. Prints "untraceable ok". */
#define _GNU_SOURCE
#include <fcntl.h>
#include <linux/io_uring.h>
#include <linux/filter.h>
#include <linux/sched.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <sys/prctl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: untraceable DIR\n");
        return 2;
    }
    long pid = syscall(SYS_clone, CLONE_UNTRACED | SIGCHLD, 0, 0, 0, 0);
    if (pid == 0) {
        char path[4096];
        snprintf(path, sizeof path, "%s/untraced-child", argv[1]);
        int fd = open(path, O_CREAT | O_WRONLY | O_TRUNC, 0644);
        if (fd >= 0)
            close(fd);
        _exit(0);
    }
    if (pid < 0) {
        perror("clone");
        return 1;
    }
    waitpid((pid_t)pid, 0, 0);
    struct clone_args ca;
    memset(&ca, 0, sizeof ca);
    ca.flags = CLONE_UNTRACED;
    ca.exit_signal = SIGCHLD;
    pid = syscall(SYS_clone3, &ca, sizeof ca);
    if (pid == 0)
        _exit(0);
    if (pid > 0)
        waitpid((pid_t)pid, 0, 0);
    struct io_uring_params params;
    memset(&params, 0, sizeof params);
    long ring = syscall(SYS_io_uring_setup, 1, &params);
    if (ring >= 0)
        close((int)ring);
#if defined(__x86_64__)
    long r;
    __asm__ volatile("int $0x80" : "=a"(r) : "a"(20L) : "memory");
    (void)r;
#endif
    struct sock_filter insns[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_getppid, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_USER_NOTIF),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    };
    struct sock_fprog prog = {4, insns};
    prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
    long listener = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_NEW_LISTENER, &prog);
    if (listener >= 0)
        close((int)listener);
    printf("untraceable ok\n");
    return 0;
}
