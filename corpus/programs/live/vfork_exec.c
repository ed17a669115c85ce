/* vfork_exec: four ways of creating tasks, each checked.
 *  1. vfork() + execve("/bin/true")          (parent suspended until exec)
 *  2. posix_spawn("/bin/true")                (glibc: clone3/clone with
 *                                              CLONE_VM|CLONE_VFORK)
 *  3. pthread_create                          (glibc >= 2.34: clone3 thread)
 *  4. raw clone3 syscall creating a process   (exit_signal = SIGCHLD), which
 *                                              _exits 7; the parent checks 7
 * Prints one line per step; exits 0 only if all four behaved. */
#define _GNU_SOURCE
#include <linux/sched.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

static int exited_zero(pid_t p, int want) {
    int st;
    return waitpid(p, &st, 0) == p && WIFEXITED(st) && WEXITSTATUS(st) == want;
}

static void *thread_fn(void *a) {
    *(int *)a = 42;
    return 0;
}

int main(void) {
    int ok = 1;

    /* 1. vfork + execve */
    pid_t p = vfork();
    if (p == 0) {
        char *argv[] = {"true", 0};
        execve("/bin/true", argv, environ);
        _exit(127);
    }
    int r = p > 0 && exited_zero(p, 0);
    printf("vfork+execve: %s\n", r ? "ok" : "FAIL");
    ok &= r;

    /* 2. posix_spawn */
    char *argv[] = {"true", 0};
    int e = posix_spawn(&p, "/bin/true", 0, 0, argv, environ);
    r = e == 0 && exited_zero(p, 0);
    printf("posix_spawn: %s\n", r ? "ok" : "FAIL");
    ok &= r;

    /* 3. pthread_create (clone3 with CLONE_THREAD on glibc >= 2.34) */
    pthread_t t;
    int val = 0;
    r = pthread_create(&t, 0, thread_fn, &val) == 0 && pthread_join(t, 0) == 0
        && val == 42;
    printf("pthread_create: %s\n", r ? "ok" : "FAIL");
    ok &= r;

    /* 4. raw clone3 creating a fork-like child (no CLONE_VM) */
    struct clone_args ca;
    memset(&ca, 0, sizeof ca);
    ca.exit_signal = SIGCHLD;
    long c = syscall(SYS_clone3, &ca, sizeof ca);
    if (c == 0)
        _exit(7);                   /* child: own copy of memory, plain _exit */
    r = c > 0 && exited_zero((pid_t)c, 7);
    printf("clone3 process: %s\n", r ? "ok" : "FAIL");
    ok &= r;

    return ok ? 0 : 1;
}
