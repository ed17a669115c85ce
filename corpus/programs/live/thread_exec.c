/* thread_exec: start two threads; the second one calls execve("/bin/echo",
 * {"echo","from-thread"}) while the leader is blocked in pthread_join and the
 * first thread is blocked in pause().  The kernel kills the other threads and
 * the exec completes under the LEADER's pid (the exec'ing tid disappears).
 * Expected output: "from-thread", exit 0 (echo's status). */
#include <pthread.h>
#include <stdio.h>
#include <unistd.h>

static void *idle(void *a) {
    (void)a;
    for (;;) pause();
    return 0;
}

static void *exec_it(void *a) {
    (void)a;
    usleep(20 * 1000);              /* let the leader block in join first */
    char *argv[] = {"echo", "from-thread", 0};
    char *envp[] = {0};
    execve("/bin/echo", argv, envp);
    perror("execve");
    _exit(1);
}

int main(void) {
    pthread_t a, b;
    if (pthread_create(&a, 0, idle, 0) || pthread_create(&b, 0, exec_it, 0)) {
        fprintf(stderr, "pthread_create failed\n");
        return 1;
    }
    pthread_join(b, 0);             /* never returns: the exec replaces us */
    return 1;
}
