/* traceme: the two classic anti-debugging checks.
 *  1. read "TracerPid:" from /proc/self/status and print "TracerPid: N"
 *     (0 when untraced).  Done FIRST: once TRACEME succeeds, our parent is
 *     our tracer and TracerPid would show the parent's pid.
 *  2. ptrace(PTRACE_TRACEME) fails with EPERM when we already have a tracer:
 *     print "traced" then, else "not-traced".
 * Always exits 0.  (If TRACEME succeeds natively, the parent becomes our
 * tracer; we then do nothing that stops -- no exec, no signals -- and exit.) */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/ptrace.h>

int main(void) {
    FILE *f = fopen("/proc/self/status", "r");
    if (!f)
        perror("/proc/self/status");
    char line[256];
    while (f && fgets(line, sizeof line, f))
        if (strncmp(line, "TracerPid:", 10) == 0) {
            int pid = 0;
            sscanf(line + 10, "%d", &pid);
            printf("TracerPid: %d\n", pid);
        }
    if (f)
        fclose(f);
    errno = 0;
    long r = ptrace(PTRACE_TRACEME, 0, 0, 0);
    if (r == -1 && errno == EPERM)
        puts("traced");
    else if (r == -1)
        printf("not-traced (ptrace: %s)\n", strerror(errno));
    else
        puts("not-traced");

    return 0;
}
