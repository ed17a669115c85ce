/* badpath DIR: create DIR/"bad\xff\xfe\nname.txt" (O_CREAT|O_WRONLY), write
 * 6 bytes to it, close and unlink it.  The name is not UTF-8 and contains a
 * newline.  Exit 0 only if every step succeeded. */
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: %s DIR\n", argv[0]);
        return 2;
    }
    char path[4096];
    snprintf(path, sizeof path, "%s/bad\xff\xfe\nname.txt", argv[1]);
    int fd = open(path, O_CREAT | O_WRONLY | O_TRUNC, 0644);
    if (fd < 0) { perror("open"); return 1; }
    if (write(fd, "hello\n", 6) != 6) { perror("write"); return 1; }
    if (close(fd) < 0) { perror("close"); return 1; }
    if (unlink(path) < 0) { perror("unlink"); return 1; }
    return 0;
}
