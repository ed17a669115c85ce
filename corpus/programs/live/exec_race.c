/* exec_race N: N times, a child starts a thread that keeps flipping one
 * byte of an environment string, one of an argv string and whether argv
 * has a third entry, while the child execs /usr/bin/env with them.  The kernel copies the strings some
 * time after the tracer's stop at the execve entry, so what the caller's
 * memory held at that stop and what the new program got can differ: a
 * hostile package could show a tracer `X_PRELOAD=...` and run with
 * `LD_PRELOAD=...`.  env prints what it got: "RACE=a" or "RACE=b", then
 * "A=0" or "A=1" (an argument env adds to the environment), then "B=1"
 * when the third argument was there; the test compares that with the exec
 * events.
 * Expected output: N such groups of lines; exit 0. */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "other_cpu.h"

static char var[] = "RACE=a";
static char arg[] = "A=0";
static char extra[] = "B=1";
static char *args[] = {"env", arg, extra, 0};

static void *flip(void *unused) {
    (void)unused;
    /* On another CPU than the exec'ing thread, as an attacker would put
     * it, so it runs while the tracer handles the stop. */
    move_to_another_cpu();
    volatile char *v = var + 5, *a = arg + 2;
    char *volatile *third = &args[2];
    for (;;) {
        *v = *v == 'a' ? 'b' : 'a';
        *a = *a == '0' ? '1' : '0';
        *third = *third ? 0 : extra;
    }
    return 0;
}

int main(int argc, char **argv) {
    int n = argc > 1 ? atoi(argv[1]) : 20;
    for (int i = 0; i < n; i++) {
        pid_t pid = fork();
        if (pid < 0) {
            perror("fork");
            return 1;
        }
        if (pid == 0) {
            pthread_t t;
            if (pthread_create(&t, 0, flip, 0)) {
                fprintf(stderr, "pthread_create failed\n");
                _exit(1);
            }
            usleep(1000); /* the flipper is running */
            char *envp[] = {var, 0};
            /* EFAULT: the count changed while the kernel copied argv. */
            for (int try = 0; try < 1000; try++)
                execve("/usr/bin/env", args, envp);
            perror("execve");
            _exit(1);
        }
        int status;
        if (waitpid(pid, &status, 0) < 0) {
            perror("waitpid");
            return 1;
        }
    }
    return 0;
}
