/* ignore_term: ignore SIGTERM, SIGINT and SIGHUP and sleep forever.  Only
 * SIGKILL ends it.  Used to test a tracer's --timeout escalation. */
#include <signal.h>
#include <unistd.h>

int main(void) {
    signal(SIGTERM, SIG_IGN);
    signal(SIGINT, SIG_IGN);
    signal(SIGHUP, SIG_IGN);
    for (;;) pause();
}
