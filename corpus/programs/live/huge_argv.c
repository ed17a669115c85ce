/* huge_argv: re-exec /proc/self/exe with 5,000 extra arguments of 100 bytes
 * each (~500 KB of argv, under the 2 MB ARG_MAX).  The re-exec'd instance
 * (marked by argv[1] == "child") checks argc and every argument's length and
 * content, prints "argc ok", and exits 0; any mismatch exits 1. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define NARGS 5000
#define ARGLEN 100

static void fill(char *s, int i) {
    /* "a00042-xxxx...": index first so truncation or reordering is visible */
    snprintf(s, ARGLEN + 1, "a%05d-", i);
    memset(s + 7, 'x' + i % 3, ARGLEN - 7);
    s[ARGLEN] = 0;
}

int main(int argc, char **argv) {
    if (argc > 1 && strcmp(argv[1], "child") == 0) {
        if (argc != NARGS + 2) {
            fprintf(stderr, "argc %d, expected %d\n", argc, NARGS + 2);
            return 1;
        }
        char want[ARGLEN + 1];
        for (int i = 0; i < NARGS; i++) {
            fill(want, i);
            if (strcmp(argv[i + 2], want) != 0) {
                fprintf(stderr, "argument %d differs\n", i);
                return 1;
            }
        }
        puts("argc ok");
        return 0;
    }

    char **av = calloc(NARGS + 3, sizeof *av);
    char *buf = malloc((size_t)NARGS * (ARGLEN + 1));
    if (!av || !buf) return 1;
    av[0] = "huge_argv";
    av[1] = "child";
    for (int i = 0; i < NARGS; i++) {
        av[i + 2] = buf + (size_t)i * (ARGLEN + 1);
        fill(av[i + 2], i);
    }
    execv("/proc/self/exe", av);
    perror("execv");
    return 1;
}
