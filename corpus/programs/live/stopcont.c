/* stopcont: job control.  Fork a child that loops 20x sleeping 10 ms then
 * exits 0.  The parent SIGSTOPs it, sleeps 100 ms, checks with
 * waitpid(WUNTRACED) that it is stopped by SIGSTOP, checks that it made no
 * progress while stopped, SIGCONTs it, checks waitpid(WCONTINUED) reports it
 * continued, then waits for a normal exit 0.  Prints each step; exits 0 only
 * if everything happened in that order. */
#include <signal.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void nap_ms(int ms) {
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) < 0) {}
}

int main(void) {
    /* shared counter: how many iterations the child has done */
    volatile int *done = mmap(0, 4096, PROT_READ | PROT_WRITE,
                              MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (done == MAP_FAILED) { perror("mmap"); return 1; }

    pid_t p = fork();
    if (p < 0) { perror("fork"); return 1; }
    if (p == 0) {
        for (int i = 0; i < 20; i++) {
            nap_ms(10);
            *done = i + 1;
        }
        _exit(0);
    }

    int st;
    kill(p, SIGSTOP);
    if (waitpid(p, &st, WUNTRACED) != p || !WIFSTOPPED(st) || WSTOPSIG(st) != SIGSTOP) {
        fprintf(stderr, "FAIL: child not reported stopped (status 0x%x)\n", st);
        kill(p, SIGKILL);
        return 1;
    }
    int before = *done;
    nap_ms(100);
    int after = *done;
    printf("stopped (progress %d -> %d)\n", before, after);
    if (after != before) {
        fprintf(stderr, "FAIL: child ran while stopped\n");
        kill(p, SIGKILL);
        return 1;
    }

    kill(p, SIGCONT);
    if (waitpid(p, &st, WCONTINUED) != p || !WIFCONTINUED(st)) {
        fprintf(stderr, "FAIL: child not reported continued (status 0x%x)\n", st);
        kill(p, SIGKILL);
        return 1;
    }
    puts("continued");

    if (waitpid(p, &st, 0) != p || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
        fprintf(stderr, "FAIL: child did not exit normally (status 0x%x)\n", st);
        return 1;
    }
    if (*done != 20) {
        fprintf(stderr, "FAIL: child did %d iterations, expected 20\n", *done);
        return 1;
    }
    puts("exited 0");
    return 0;
}
