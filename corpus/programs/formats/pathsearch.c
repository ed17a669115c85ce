/* execvp PATH search: "nc" is not installed (ENOENT for every PATH entry,
 * exit 127), "curl" is found after one ENOENT (/usr/local/bin/curl). */
#include <sys/wait.h>
#include <unistd.h>

static void spawn(char *const argv[]) {
    pid_t c = fork();
    if (c == 0) { execvp(argv[0], argv); _exit(127); }
    waitpid(c, 0, 0);
}

int main(void) {
    char *nc[] = { "nc", "-e", "/bin/sh", "127.0.0.1", "9001", 0 };
    char *curl[] = { "curl", "--version", 0 };
    spawn(nc);
    spawn(curl);
    return 0;
}
