#define _GNU_SOURCE
/* Anti-debugging and process tampering. Under strace every ptrace call fails
 * (EPERM: already traced), which is the expected evidence. */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <sys/ptrace.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile char target[16] = "untouched";

static void slurp(const char *p) {
    char b[2048]; int fd = open(p, O_RDONLY);
    if (fd >= 0) { read(fd, b, sizeof b); close(fd); }
}

int main(void) {
    ptrace(PTRACE_TRACEME, 0, 0, 0);              /* hit (medium): anti-debugging */
    slurp("/proc/self/status");                    /* hit (medium): TracerPid check */
    slurp("/proc/self/stat");                      /* near miss */
    slurp("/proc/self/maps");                      /* near miss */

    pid_t c = fork();
    if (c == 0) { pause(); _exit(0); }
    usleep(100000);
    ptrace(PTRACE_ATTACH, c, 0, 0);                /* hit (critical): ptrace another process */
    ptrace(PTRACE_POKEDATA, c, (void *)target, (void *)0x41414141);
    char p[64];
    snprintf(p, sizeof p, "/proc/%d/mem", c);
    int fd = open(p, O_RDWR);                      /* hit (critical): /proc/N/mem */
    if (fd >= 0) { pwrite(fd, "patched", 7, (off_t)(long)target); close(fd); }
    char rb[16], wb[16] = "injected";
    struct iovec l1 = { rb, sizeof rb }, r1 = { (void *)target, sizeof rb };
    process_vm_readv(c, &l1, 1, &r1, 1, 0);
    struct iovec l2 = { wb, sizeof wb }, r2 = { (void *)target, sizeof wb };
    process_vm_writev(c, &l2, 1, &r2, 1, 0);      /* hit (critical) */
    kill(c, SIGKILL);
    waitpid(c, 0, 0);
    return 0;
}
