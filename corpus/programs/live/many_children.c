/* many_children [fork|exec] [N]: start N (default 1000) short-lived children
 * one after another, each either _exit(0) ("fork") or execs /bin/true ("exec"),
 * and reap them all.  Prints "reaped N".  Exit 0 only if every child exited 0. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv) {
    int do_exec = argc > 1 && strcmp(argv[1], "exec") == 0;
    int n = argc > 2 ? atoi(argv[2]) : 1000;
    int reaped = 0, bad = 0;

    if (argc > 1 && !do_exec && strcmp(argv[1], "fork") != 0) {
        fprintf(stderr, "usage: %s [fork|exec] [N]\n", argv[0]);
        return 2;
    }
    /* Keep at most 16 children alive at once so we never hit RLIMIT_NPROC. */
    for (int started = 0; started < n || reaped + bad < n;) {
        if (started < n && started - (reaped + bad) < 16) {
            pid_t p = fork();
            if (p < 0) { perror("fork"); return 1; }
            if (p == 0) {
                if (do_exec) {
                    execl("/bin/true", "true", (char *)0);
                    _exit(127);
                }
                _exit(0);
            }
            started++;
            continue;
        }
        int st;
        if (wait(&st) < 0) { perror("wait"); return 1; }
        if (WIFEXITED(st) && WEXITSTATUS(st) == 0) reaped++; else bad++;
    }
    printf("reaped %d\n", reaped);
    return bad ? 1 : 0;
}
