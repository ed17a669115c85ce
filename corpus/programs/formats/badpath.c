/* Paths that are not valid UTF-8 (bytes 0xff 0xfe), plus one valid UTF-8
 * name, created under /tmp and HOME. Also writes a message with the raw
 * bytes to stderr (to produce a log that is itself not valid UTF-8). */
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

int main(void) {
    int fd = open("/tmp/bad-\xff\xfe-name", O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd >= 0) { write(fd, "\xff\xfe\x00x", 4); close(fd); }
    mkdir("/home/pkgtrace/.cache/\xff", 0755);
    fd = open("/home/pkgtrace/.npmrc\xff", O_RDONLY);            /* ENOENT */
    if (fd >= 0) close(fd);
    fd = open("/tmp/\xe2\x9c\x93-valid-utf8", O_WRONLY | O_CREAT, 0644);
    if (fd >= 0) close(fd);
    static const char msg[] = "badpath: created /tmp/bad-\xff\xfe-name\n";
    write(2, msg, sizeof msg - 1);                                /* raw 0xff 0xfe on stderr */
    return 0;
}
