/* For the race tracees: moves the calling thread to any CPU but the one it
 * runs on now. A thread started by the caller starts on the caller's CPU
 * (a tracer pins the whole run to one), so after this it runs at the same
 * time as the caller's stops, as an attacker's racing thread would. */
#ifndef OTHER_CPU_H
#define OTHER_CPU_H
#include <sched.h> /* sched_getcpu: the including file defines _GNU_SOURCE first */

static void move_to_another_cpu(void) {
    cpu_set_t other;
    int here = sched_getcpu();
    CPU_ZERO(&other);
    for (int c = 0; c < CPU_SETSIZE; c++)
        if (c != here) CPU_SET(c, &other);
    sched_setaffinity(0, sizeof other, &other);
}

#endif
