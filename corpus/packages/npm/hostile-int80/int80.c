// MALICIOUS TEST PACKAGE (pkgtrace corpus). Run it only through `pkgtrace run`.
//
// System calls through the i386 ABI (`int $0x80`) from a 64-bit process:
// other numbers, other argument registers, so a tracer or seccomp filter that
// reads them as x86_64 calls sees something else. getpid (20), then
// open (5) + read (3) + close (6) of ~/.npmrc. int 0x80 takes 32-bit
// pointers, so the path and buffer live in MAP_32BIT memory.
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

static long int80(long nr, long a, long b, long c) {
    long ret;
    __asm__ volatile("int $0x80"
                     : "=a"(ret)
                     : "a"(nr), "b"(a), "c"(b), "d"(c)
                     : "memory", "r8", "r9", "r10", "r11");
    return ret;
}

static const char *err(long ret) {
    return ret < 0 && ret > -4096 ? strerrorname_np((int)-ret) : NULL;
}

int main(void) {
    long pid = int80(20, 0, 0, 0);
    if (err(pid)) printf("int80 getpid: %s\n", err(pid));
    else printf("int80 getpid: %ld\n", pid);

    char *low = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_32BIT, -1, 0);
    if (low == MAP_FAILED) {
        printf("mmap(MAP_32BIT) failed\n");
        return 0;
    }
    snprintf(low, 512, "%s/.npmrc", getenv("HOME") ? getenv("HOME") : "/home/pkgtrace");
    long fd = int80(5, (long)low, 0 /* O_RDONLY */, 0);
    if (err(fd)) {
        printf("int80 open %s: %s\n", low, err(fd));
        return 0;
    }
    long n = int80(3, fd, (long)(low + 4096), 4096);
    int80(6, fd, 0, 0);
    printf("int80 open %s: fd %ld, read %ld bytes\n", low, fd, n);
    return 0;
}
