/* rename_race DIR N: renames DIR/src to a destination N times (and for at
 * least half a second: other_cpu.h's keep_racing) while a
 * thread on another CPU keeps rewriting the destination string between
 * DIR/decoy and DIR/target (the same length). A tracer that reads the
 * path once, at the call's entry, reports one name while the kernel may
 * use the other. Prints "landed decoy D target T": how many renames ended
 * on each name (the kernel's choice). */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "other_cpu.h"

static char dest[4096];
static size_t flip_at;
static atomic_int done;

static void *flipper(void *arg) {
    (void)arg;
    move_to_another_cpu();
    const char *names[2] = {"decoy", "target"};
    for (unsigned i = 0; !atomic_load_explicit(&done, memory_order_relaxed); i++) {
        /* "decoy" and "target" differ in length by one: the NUL moves too. */
        memcpy(dest + flip_at, names[i & 1], strlen(names[i & 1]) + 1);
    }
    return NULL;
}

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: rename_race DIR N\n");
        return 2;
    }
    int n = atoi(argv[2]);
    char src[4096], decoy[4096], target[4096];
    snprintf(src, sizeof src, "%s/src", argv[1]);
    snprintf(decoy, sizeof decoy, "%s/decoy", argv[1]);
    snprintf(target, sizeof target, "%s/target", argv[1]);
    flip_at = (size_t)snprintf(dest, sizeof dest, "%s/", argv[1]);
    strcpy(dest + flip_at, "decoy");
    pthread_t t;
    pthread_create(&t, NULL, flipper, NULL);
    int on_decoy = 0, on_target = 0;
    for (int i = 0; keep_racing(i, n); i++) {
        FILE *f = fopen(src, "w");
        if (!f) {
            perror(src);
            return 1;
        }
        fclose(f);
        if (rename(src, dest) != 0) continue; /* a torn string: ENOENT and friends */
        if (unlink(decoy) == 0) on_decoy++;
        if (unlink(target) == 0) on_target++;
    }
    atomic_store(&done, 1);
    pthread_join(t, NULL);
    printf("landed decoy %d target %d\n", on_decoy, on_target);
    return 0;
}
