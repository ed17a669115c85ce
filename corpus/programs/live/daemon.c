/* daemon PIDFILE: classic daemonisation.  fork; the child calls setsid and
 * forks again; the grandchild (the daemon) chdirs to /, points stdio at
 * /dev/null, writes its pid to PIDFILE (written to PIDFILE.tmp then renamed,
 * so a reader never sees a partial pid) and sleeps 3600 s.  The original
 * process exits 0 at once, without waiting for the daemon. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: %s PIDFILE\n", argv[0]);
        return 2;
    }
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.tmp", argv[1]);

    pid_t p = fork();
    if (p < 0) { perror("fork"); return 1; }
    if (p > 0) {
        int st;
        waitpid(p, &st, 0);         /* the intermediate child exits at once */
        return 0;
    }
    if (setsid() < 0) _exit(1);
    p = fork();
    if (p < 0) _exit(1);
    if (p > 0) _exit(0);

    /* grandchild: the daemon (not a session leader, orphaned) */
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) _exit(1);
    char buf[32];
    int n = snprintf(buf, sizeof buf, "%d\n", (int)getpid());
    if (write(fd, buf, n) != n) _exit(1);
    close(fd);
    if (rename(tmp, argv[1]) < 0) _exit(1);

    if (chdir("/") < 0) _exit(1);
    int null = open("/dev/null", O_RDWR);
    if (null >= 0) {
        dup2(null, 0); dup2(null, 1); dup2(null, 2);
        if (null > 2) close(null);
    }
    sleep(3600);
    _exit(0);
}
