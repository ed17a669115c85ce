/* Three threads block in read() on pipes while the main thread writes to
 * them after short sleeps: interleaved "<unfinished ...>" / "resumed". */
#include <fcntl.h>
#include <pthread.h>
#include <unistd.h>

static int p[3][2];

static void *worker(void *arg) {
    long i = (long)arg; char b[16];
    int n = read(p[i][0], b, sizeof b);
    int fd = open("/home/pkgtrace/.ssh/known_hosts", O_RDONLY);
    if (fd >= 0) close(fd);
    write(1, b, n > 0 ? n : 0);
    return 0;
}

int main(void) {
    pthread_t t[3];
    for (long i = 0; i < 3; i++) { pipe(p[i]); pthread_create(&t[i], 0, worker, (void *)i); }
    for (int i = 0; i < 3; i++) { usleep(50000); write(p[i][1], "wake\n", 5); }
    for (int i = 0; i < 3; i++) pthread_join(t[i], 0);
    return 0;
}
