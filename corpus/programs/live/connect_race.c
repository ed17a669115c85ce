/* connect_race N: connects a UDP socket to 127.0.0.1 N times (and for at
 * least half a second: other_cpu.h's keep_racing) while a
 * thread on another CPU keeps rewriting the port in the address between
 * 1111 and 2222. A UDP connect sends nothing (it only sets the peer), and
 * the test runs this in a network namespace of its own, whose loopback is
 * down: every connect fails with ENETUNREACH, after the kernel has copied
 * the address. A tracer that reads the address once, at the call's entry,
 * may report a port the kernel did not get. Prints "connect_race done". */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "other_cpu.h"

static struct sockaddr_in sa;
static atomic_int done;

static void *flipper(void *arg) {
    (void)arg;
    move_to_another_cpu();
    for (unsigned i = 0; !atomic_load_explicit(&done, memory_order_relaxed); i++) {
        *(volatile unsigned short *)&sa.sin_port = htons(i & 1 ? 2222 : 1111);
    }
    return NULL;
}

int main(int argc, char **argv) {
    int n = argc > 1 ? atoi(argv[1]) : 300;
    sa.sin_family = AF_INET;
    sa.sin_port = htons(1111);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int s = socket(AF_INET, SOCK_DGRAM, 0);
    if (s < 0) {
        perror("socket");
        return 1;
    }
    pthread_t t;
    pthread_create(&t, NULL, flipper, NULL);
    for (int i = 0; keep_racing(i, n); i++) connect(s, (struct sockaddr *)&sa, sizeof sa);
    atomic_store(&done, 1);
    pthread_join(t, NULL);
    printf("connect_race done\n");
    return 0;
}
