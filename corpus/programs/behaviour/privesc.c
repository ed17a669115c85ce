/* Privilege-related system calls (all fail: the program runs as uid 1500). */
#define _GNU_SOURCE
#include <sys/mount.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(void) {
    mount("none", "/mnt", "tmpfs", 0, 0);          /* hit: mount (EPERM) */
    syscall(SYS_init_module, "\0asm", 4, "");      /* hit: init_module (EPERM) */
    syscall(SYS_finit_module, -1, "", 0);          /* hit: finit_module (EBADF/EPERM) */
    setuid(0);                                     /* hit: setuid(0) (EPERM) */
    /* near misses */
    getuid();
    geteuid();
    return 0;
}
