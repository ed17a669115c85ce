/* escape_calls DIR: makes, once each, the calls sandbox escapes and
 * privilege escalations go through, every one in a form that fails or
 * changes nothing outside DIR, even as root:
 *   mknodat   a character device DIR/null (1:3, what /dev/null is), removed
 *   mknod     a FIFO DIR/fifo (ordinary: no finding), removed
 *   open_by_handle_at  with a made-up handle (EINVAL/EPERM/ESTALE)
 *   keyctl    an operation that does not exist (EOPNOTSUPP)
 *   add_key   a key type that does not exist (ENODEV)
 *   fsopen    a file system type that does not exist (ENODEV)
 *   open_tree a path that does not exist (ENOENT)
 *   move_mount  from and to bad fds (EBADF)
 *   pidfd_getfd on a bad pidfd (EBADF)
 *   userfaultfd  (succeeds as root, closed at once)
 *   sethostname  with a name longer than a host name can be (EINVAL)
 *   clock_settime  on a clock that does not exist (EINVAL)
 *   reboot    without the magic numbers (EINVAL/EPERM)
 *   swapon    a path that does not exist (ENOENT/EPERM)
 *   iopl      level 4, which does not exist (EINVAL)
 * Prints "escape_calls ok" at the end. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: escape_calls DIR\n");
        return 2;
    }
    char dev[4096], fifo[4096];
    snprintf(dev, sizeof dev, "%s/null", argv[1]);
    snprintf(fifo, sizeof fifo, "%s/fifo", argv[1]);
    unlink(dev);
    unlink(fifo);
    if (mknodat(AT_FDCWD, dev, S_IFCHR | 0600, makedev(1, 3)) == 0)
        unlink(dev);
    if (syscall(SYS_mknod, fifo, S_IFIFO | 0644, 0) == 0)
        unlink(fifo);
    struct {
        unsigned int bytes;
        int type;
        unsigned char f[8];
    } handle = {8, 1, {0}};
    syscall(SYS_open_by_handle_at, AT_FDCWD, &handle, O_RDONLY);
    syscall(SYS_keyctl, 9999, 0, 0, 0, 0);
    syscall(SYS_add_key, "pkgtrace-no-such-type", "d", "x", 1, -3);
    syscall(SYS_fsopen, "pkgtrace-no-such-fs", 0);
    syscall(SYS_open_tree, AT_FDCWD, "/pkgtrace-no-such-path", 0);
    syscall(SYS_move_mount, -1, "", -1, "", 0);
    syscall(SYS_pidfd_getfd, -1, 0, 0);
    long uffd = syscall(SYS_userfaultfd, O_CLOEXEC);
    if (uffd >= 0)
        close((int)uffd);
    char longname[1000];
    memset(longname, 'h', sizeof longname);
    syscall(SYS_sethostname, longname, sizeof longname);
    struct timespec ts = {0, 0};
    syscall(SYS_clock_settime, -1, &ts);
    syscall(SYS_reboot, 0, 0, 0, 0);
    syscall(SYS_swapon, "/pkgtrace-no-such-swap", 0);
    syscall(SYS_iopl, 4);
    printf("escape_calls ok\n");
    return 0;
}
