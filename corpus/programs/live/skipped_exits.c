/* skipped_exits HOME: calls whose exit stop the live tracer skips when
 * nothing reads the result, and the cases where it must not.
 *
 * 1. After 500 ms (the rule pack is compiled by then), stat() of a path no
 *    rule is about and of HOME/.ssh/id_rsa (a probe rule's path): the
 *    first is reported without its result, the second with ENOENT.
 * 2. fcntl(F_DUPFD_CLOEXEC, 0) of a file, alone: no event. The same in a
 *    child sharing the fd table (clone CLONE_FILES) and while a thread
 *    runs: followed to the exit (reported), since another task could put
 *    a socket under that fd before the call runs.
 * 3. close(0), then fcntl(inet socket, F_DUPFD, 0): the socket lands on
 *    stdin, reported (dup-socket-to-stdio).
 * 4. Read-only openat(dirfd, NAME, O_NOFOLLOW) of one component, as fts
 *    opens a walk's directories: /usr + "share" is reported without its
 *    result (no rule reads it); /usr + "lib" without O_NOFOLLOW, and
 *    HOME + ".ssh" and HOME/.ssh + "id_rsa" (rules' paths) with theirs.
 *    HOME/.ssh/id_rsa is made for this and removed after.
 *
 * Prints "skipped_exits ok" and exits 0 when every call did what it
 * should natively. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int file_fd;

static int dup_in_child(void *arg) {
    (void)arg;
    int d = fcntl(file_fd, F_DUPFD_CLOEXEC, 0);
    return d < 0;
}

static void *idle_thread(void *arg) {
    (void)arg;
    pause();
    return NULL;
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: %s HOME\n", argv[0]);
        return 2;
    }
    struct timespec half = {0, 500 * 1000 * 1000};
    nanosleep(&half, NULL);
    struct stat st;
    char key[4096];
    snprintf(key, sizeof key, "%s/.ssh/id_rsa", argv[1]);
    if (stat("/usr/share/pkgtrace-test-nothing-here", &st) == 0 || stat(key, &st) == 0) {
        fprintf(stderr, "unexpected files\n");
        return 1;
    }

    file_fd = open("/etc/hostname", O_RDONLY);
    if (file_fd < 0) { perror("open"); return 1; }
    int alone = fcntl(file_fd, F_DUPFD_CLOEXEC, 0);
    if (alone < 0) { perror("fcntl alone"); return 1; }
    close(alone);

    static char stack[64 * 1024];
    pid_t child = clone(dup_in_child, stack + sizeof stack, CLONE_FILES | SIGCHLD, NULL);
    int status;
    if (child < 0 || waitpid(child, &status, 0) != child || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        fprintf(stderr, "clone child failed\n");
        return 1;
    }

    pthread_t t;
    if (pthread_create(&t, NULL, idle_thread, NULL) != 0) { fprintf(stderr, "thread\n"); return 1; }
    int threaded = fcntl(file_fd, F_DUPFD, 0);
    if (threaded < 0) { perror("fcntl threaded"); return 1; }

    char ssh[4096];
    snprintf(ssh, sizeof ssh, "%s/.ssh", argv[1]);
    int key_fd = -1;
    if (mkdir(ssh, 0700) != 0 || (key_fd = open(key, O_WRONLY | O_CREAT | O_EXCL, 0600)) < 0) {
        perror("make HOME/.ssh/id_rsa");
        return 1;
    }
    close(key_fd);
    int walk = O_RDONLY | O_NOFOLLOW | O_DIRECTORY | O_CLOEXEC;
    int usr = open("/usr", O_PATH | O_DIRECTORY);
    int home = open(argv[1], O_PATH | O_DIRECTORY);
    int share = openat(usr, "share", walk);
    int lib = openat(usr, "lib", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    int ssh_dir = openat(home, ".ssh", walk);
    int key_read = ssh_dir < 0 ? -1 : openat(ssh_dir, "id_rsa", O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (usr < 0 || home < 0 || share < 0 || lib < 0 || ssh_dir < 0 || key_read < 0) {
        perror("openat");
        return 1;
    }
    if (unlink(key) != 0 || rmdir(ssh) != 0) { perror("clean up"); return 1; }

    int sock = socket(AF_INET, SOCK_STREAM, 0);
    if (sock < 0) { perror("socket"); return 1; }
    close(0);
    int in = fcntl(sock, F_DUPFD, 0);
    if (in != 0) { fprintf(stderr, "socket dup landed on %d\n", in); return 1; }
    printf("skipped_exits ok\n");
    fflush(stdout);
    _exit(0);
}
