/* killed: fork a child that sleeps; SIGKILL it and check that wait reports
 * "killed by SIGKILL"; then SIGKILL ourselves.  The process therefore ends
 * killed by signal 9 (a shell reports exit status 137), never exit 0.
 * If the child's status is wrong it exits 1 instead of killing itself. */
#include <signal.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

int main(void) {
    pid_t p = fork();
    if (p < 0) { perror("fork"); return 1; }
    if (p == 0) {
        sleep(60);
        _exit(0);
    }
    usleep(50 * 1000);
    kill(p, SIGKILL);
    int st;
    if (waitpid(p, &st, 0) != p || !WIFSIGNALED(st) || WTERMSIG(st) != SIGKILL) {
        fprintf(stderr, "child status unexpected: 0x%x\n", st);
        return 1;
    }
    raise(SIGKILL);
    return 1;                       /* not reached */
}
