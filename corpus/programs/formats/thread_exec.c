/* execve from a non-leader thread: strace prints
 * "+++ superseded by execve in pid N +++" and the resume under the leader pid. */
#include <pthread.h>
#include <unistd.h>

static void *go(void *a) {
    (void)a;
    execl("/bin/echo", "echo", "exec-from-thread", (char *)0);
    return 0;
}

int main(void) {
    pthread_t t;
    pthread_create(&t, 0, go, 0);
    pthread_join(t, 0);   /* never returns: the exec replaces the process */
    return 1;
}
