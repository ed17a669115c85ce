/* no_argv DIR: execs with no argv at all, as the kernel allows:
 * execve("/bin/true", NULL, env), execve("/bin/true", {NULL}, env), and
 * a script (DIR/noargv.sh, written here) with a NULL argv. Since Linux
 * 5.18 the kernel gives such a program a "" argv[0]; a script gets its
 * interpreter's argv. Prints "no_argv ok" when every child exited 0.
 * Once crashed pkgtrace's tracer (an index past the new stack's argv). */
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static int run(const char *path, char *const argv[]) {
    pid_t pid = fork();
    if (pid == 0) {
        char *env[] = {"PATH=/usr/bin:/bin", NULL};
        execve(path, argv, env);
        perror("execve");
        _exit(127);
    }
    int st;
    return waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0;
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: no_argv DIR\n");
        return 2;
    }
    char script[4096];
    snprintf(script, sizeof script, "%s/noargv.sh", argv[1]);
    FILE *f = fopen(script, "w");
    if (!f || fputs("#!/bin/sh\nexit 0\n", f) < 0 || fclose(f) || chmod(script, 0755)) {
        perror(script);
        return 1;
    }
    char *empty[] = {NULL};
    int ok = run("/bin/true", NULL) & run("/bin/true", empty) & run(script, NULL);
    printf(ok ? "no_argv ok\n" : "no_argv failed\n");
    return ok ? 0 : 1;
}
