/* Signals: a SIGCHLD handler in the parent; child A sleeps and is stopped
 * (SIGSTOP) and continued (SIGCONT) -> "stopped by SIGSTOP" and
 * restart_syscall; child B blocks in pause() and is killed by SIGKILL. */
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void on_chld(int s) { (void)s; }

int main(void) {
    struct sigaction sa; memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_chld; sa.sa_flags = SA_RESTART;
    sigaction(SIGCHLD, &sa, 0);
    pid_t a = fork();
    if (a == 0) { struct timespec t = { 0, 600000000 }; nanosleep(&t, 0); _exit(3); }
    pid_t b = fork();
    if (b == 0) { pause(); _exit(0); }
    usleep(150000);
    kill(a, SIGSTOP);
    usleep(100000);
    kill(a, SIGCONT);
    kill(b, SIGKILL);
    int st;
    waitpid(b, &st, 0);
    waitpid(a, &st, 0);
    return 0;
}
