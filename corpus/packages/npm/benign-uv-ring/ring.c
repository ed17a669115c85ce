// pkgtrace test corpus, benign. The io_uring rings libuv makes at every
// event loop's start to batch epoll_ctl calls (256 entries, no SQPOLL):
// with IORING_SETUP_NO_SQARRAY (libuv 1.49 on, Node 22), then with no
// flags (libuv 1.45 to 1.48). Each is closed at once; prints what each
// call gave.
#define _GNU_SOURCE
#include <errno.h>
#include <linux/io_uring.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef IORING_SETUP_NO_SQARRAY
#define IORING_SETUP_NO_SQARRAY (1U << 16)
#endif

static void ring(unsigned flags) {
    struct io_uring_params params;
    memset(&params, 0, sizeof params);
    params.flags = flags;
    long fd = syscall(SYS_io_uring_setup, 256, &params);
    if (fd < 0) {
        printf("uv-ring flags %#x: %s\n", flags, strerrorname_np(errno));
        return;
    }
    printf("uv-ring flags %#x: fd\n", flags);
    close((int)fd);
}

int main(void) {
    ring(IORING_SETUP_NO_SQARRAY);
    ring(0);
    return 0;
}
