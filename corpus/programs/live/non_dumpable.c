/* non_dumpable FILE: makes itself non-dumpable (prctl PR_SET_DUMPABLE 0),
 * as a process hiding from an unprivileged tracer would, then opens FILE.
 * Prints "non_dumpable ok" when both worked. A tracer without
 * CAP_SYS_PTRACE can read neither the path nor /proc/PID/fd afterwards; a
 * root tracer still can. */
#include <fcntl.h>
#include <stdio.h>
#include <sys/prctl.h>

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: non_dumpable FILE\n");
        return 2;
    }
    if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) || open(argv[1], O_RDONLY) < 0) {
        perror("non_dumpable");
        return 1;
    }
    printf("non_dumpable ok\n");
    return 0;
}
