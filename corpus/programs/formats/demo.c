/* The small program every format variant records: reads ~/.npmrc, writes a
 * UTF-8 file name and non-ASCII bytes, resolves a name (DNS payload on fd 3),
 * forks a child that execs /bin/echo, waits. Writes only to stdout. */
#include <fcntl.h>
#include <netdb.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

int main(void) {
    char buf[256];
    int fd = open("/home/pkgtrace/.npmrc", O_RDONLY);
    if (fd >= 0) { read(fd, buf, sizeof buf); close(fd); }
    fd = open("/tmp/caf\xc3\xa9 \"quoted\" = <x>.txt", O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd >= 0) { write(fd, "na\xc3\xafve\tbytes\x01\x02\n", 16); close(fd); }
    struct addrinfo hints, *res;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_INET; hints.ai_socktype = SOCK_STREAM;
    if (getaddrinfo("x7f3a9.attacker.example", "80", &hints, &res) == 0) freeaddrinfo(res);
    pid_t c = fork();
    if (c == 0) { execl("/bin/echo", "echo", "child", (char *)0); _exit(127); }
    int st; waitpid(c, &st, 0);
    write(1, "done\n", 5);
    return 0;
}
