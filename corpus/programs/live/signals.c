/* signals: signal delivery must survive the tracer.
 *  - SIGUSR1 handler; raise(SIGUSR1) 5 times -> handler must run 5 times
 *    (each raise is delivered before raise returns, so none coalesce).
 *  - SIGRTMIN+1 SA_SIGINFO handler; with the signal blocked, sigqueue it 3
 *    times with values 1,2,3, then unblock: real-time signals queue, so the
 *    handler must run 3 times, in order, with those values.
 *  - SIGUSR2 sent from a forked child with kill(getppid()) -> si_pid must
 *    be the child's pid.
 * Prints the counts; exits 0 only if all of the above held. */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile sig_atomic_t usr1, rt, rt_order_ok = 1, usr2_pid;

static void on_usr1(int s) { (void)s; usr1++; }

static void on_rt(int s, siginfo_t *si, void *u) {
    (void)s; (void)u;
    rt++;
    if (si->si_code != SI_QUEUE || si->si_value.sival_int != rt)
        rt_order_ok = 0;
}

static void on_usr2(int s, siginfo_t *si, void *u) {
    (void)s; (void)u;
    usr2_pid = si->si_pid;
}

int main(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_usr1;
    sigaction(SIGUSR1, &sa, 0);

    sa.sa_handler = 0;
    sa.sa_sigaction = on_rt;
    sa.sa_flags = SA_SIGINFO;
    sigaction(SIGRTMIN + 1, &sa, 0);

    sa.sa_sigaction = on_usr2;
    sigaction(SIGUSR2, &sa, 0);

    for (int i = 0; i < 5; i++)
        raise(SIGUSR1);

    sigset_t set, old;
    sigemptyset(&set);
    sigaddset(&set, SIGRTMIN + 1);
    sigprocmask(SIG_BLOCK, &set, &old);
    for (int i = 1; i <= 3; i++) {
        union sigval v = {.sival_int = i};
        sigqueue(getpid(), SIGRTMIN + 1, v);
    }
    sigprocmask(SIG_SETMASK, &old, 0);   /* all three delivered here */

    /* SIGUSR2 from a child; block it so it can't arrive before we wait. */
    sigemptyset(&set);
    sigaddset(&set, SIGUSR2);
    sigprocmask(SIG_BLOCK, &set, &old);
    pid_t p = fork();
    if (p == 0) {
        kill(getppid(), SIGUSR2);
        _exit(0);
    }
    int st;
    waitpid(p, &st, 0);
    sigprocmask(SIG_SETMASK, &old, 0);

    printf("usr1 %d rt %d usr2-from-child %s\n", (int)usr1, (int)rt,
           usr2_pid == p ? "yes" : "no");
    return usr1 == 5 && rt == 3 && rt_order_ok && usr2_pid == p ? 0 : 1;
}
