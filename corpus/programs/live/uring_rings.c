/* uring_rings epoll|sqpoll: makes the io_uring rings a runtime makes, as
 * libuv does, so a test can tell a runtime's ring from one that hides work.
 *   epoll   libuv's epoll-control ring at an event loop's start: 256
 *           entries, no SQPOLL; first with IORING_SETUP_NO_SQARRAY (libuv
 *           1.49 on, Node 22), then with no flags (libuv 1.45 to 1.48)
 *   sqpoll  libuv 1.45's file-operation ring: 64 entries, IORING_SETUP_SQPOLL,
 *           sq_thread_idle 10 ms (Node 20.3 to 20.10)
 * Each ring is closed at once (a kernel without io_uring, or one refusing
 * a flag, fails the call: the attempt is what counts). Prints "rings ok". */
#define _GNU_SOURCE
#include <linux/io_uring.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef IORING_SETUP_NO_SQARRAY
#define IORING_SETUP_NO_SQARRAY (1U << 16)
#endif

static void ring(unsigned entries, unsigned flags, unsigned idle) {
    struct io_uring_params params;
    memset(&params, 0, sizeof params);
    params.flags = flags;
    params.sq_thread_idle = idle;
    long fd = syscall(SYS_io_uring_setup, entries, &params);
    if (fd >= 0)
        close((int)fd);
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: uring_rings epoll|sqpoll\n");
        return 2;
    }
    if (strcmp(argv[1], "epoll") == 0) {
        ring(256, IORING_SETUP_NO_SQARRAY, 0);
        ring(256, 0, 0);
    } else if (strcmp(argv[1], "sqpoll") == 0) {
        ring(64, IORING_SETUP_SQPOLL, 10);
    } else {
        fprintf(stderr, "uring_rings: epoll or sqpoll, not %s\n", argv[1]);
        return 2;
    }
    printf("rings ok\n");
    return 0;
}
