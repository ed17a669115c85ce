// MALICIOUS TEST PACKAGE (pkgtrace corpus). Run it only through `pkgtrace run`.
//
// A fork bomb: every process forks again and again, and every child does
// the same, until fork fails; then it waits 50 ms and tries again. The
// deadline is set once, before the first fork, and inherited: 25 s after
// the bomb started every process of it exits by itself, so it cannot
// outlive a test even if nothing stops it.
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

int main(void) {
    const time_t deadline = time(NULL) + 25;
    printf("fork bomb: forking until %ld\n", (long)deadline);
    fflush(stdout);
    const pid_t root = getpid();
    int reported = 0;
    while (time(NULL) < deadline) {
        pid_t pid = fork();
        if (pid < 0) {
            int e = errno;
            if (!reported && getpid() == root) {
                reported = 1;
                fprintf(stderr, "fork bomb: fork %s\n", strerrorname_np(e));
            }
            usleep(50000);
        }
    }
    return 0;
}
