/* For the race tracees: moves the calling thread to any CPU but the one it
 * runs on now. A thread started by the caller starts on the caller's CPU
 * (a tracer pins the whole run to one), so after this it runs at the same
 * time as the caller's stops, as an attacker's racing thread would. */
#ifndef OTHER_CPU_H
#define OTHER_CPU_H
#include <sched.h> /* sched_getcpu: the including file defines _GNU_SOURCE first */
#include <time.h>

static void move_to_another_cpu(void) {
    cpu_set_t other;
    int here = sched_getcpu();
    CPU_ZERO(&other);
    for (int c = 0; c < CPU_SETSIZE; c++)
        if (c != here) CPU_SET(c, &other);
    sched_setaffinity(0, sizeof other, &other);
}

/* Whether round `i` of a race loop of at least `n` rounds is run: past
 * the n-th, rounds go on until half a second has passed since the first.
 * On a busy machine the racing thread's CPU may serve another process for
 * a whole time slice, longer than n rounds take: it has to get the CPU
 * while the loop still runs. */
static inline int keep_racing(int i, int n) {
    static struct timespec start;
    struct timespec now;
    if (i == 0)
        clock_gettime(CLOCK_MONOTONIC, &start);
    if (i < n)
        return 1;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (now.tv_sec - start.tv_sec) * 1000000000L + (now.tv_nsec - start.tv_nsec) < 500000000L;
}

#endif
