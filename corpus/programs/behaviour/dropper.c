/* Write an executable during the run, chmod +x it and exec it (from /tmp,
 * /dev/shm and a memfd); setuid/setgid chmod. Near misses: chmod 0644 of a
 * created file, chmod +x of a file that existed before the run, exec of a
 * system binary. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static char buf[1 << 20];
static ssize_t n;

static void copy_true(int out) { write(out, buf, n); }

static void run(const char *path) {
    pid_t c = fork();
    if (c == 0) { execl(path, path, (char *)0); _exit(127); }
    waitpid(c, 0, 0);
}

int main(void) {
    int in = open("/bin/true", O_RDONLY); n = read(in, buf, sizeof buf); close(in);

    int fd = open("/tmp/.x-update", O_WRONLY | O_CREAT | O_TRUNC, 0600);
    copy_true(fd); close(fd);
    chmod("/tmp/.x-update", 0755);                 /* hit: chmod +x of a created file */
    run("/tmp/.x-update");                         /* hit: exec of created file in /tmp */

    fd = open("/dev/shm/sd", O_WRONLY | O_CREAT | O_TRUNC, 0600);
    copy_true(fd); fchmod(fd, 0700); close(fd);    /* hit: fchmod +x */
    run("/dev/shm/sd");                            /* hit: exec from /dev/shm */

    int m = memfd_create("payload", MFD_CLOEXEC);  /* hit: memfd exec */
    copy_true(m);
    pid_t c = fork();
    if (c == 0) {
        char *argv[] = { "payload", 0 }, *envp[] = { 0 };
        syscall(SYS_execveat, m, "", argv, envp, AT_EMPTY_PATH);
        _exit(127);
    }
    waitpid(c, 0, 0);

    fd = open("/tmp/suid-helper", O_WRONLY | O_CREAT | O_TRUNC, 0600);
    copy_true(fd); close(fd);
    chmod("/tmp/suid-helper", 04755);              /* hit: setuid */
    chmod("/tmp/suid-helper", 02755);              /* hit: setgid */

    /* near misses */
    fd = open("/tmp/notes.txt", O_WRONLY | O_CREAT | O_TRUNC, 0600);
    write(fd, "x\n", 2); close(fd);
    chmod("/tmp/notes.txt", 0644);                 /* created, but no exec bit */
    chmod("/home/pkgtrace/project/bin/prebuilt-tool.sh", 0755);  /* +x, pre-existing file */
    run("/usr/bin/true");                          /* system binary */
    return 0;
}
