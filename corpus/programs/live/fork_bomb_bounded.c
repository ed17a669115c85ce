/* fork_bomb_bounded [DEPTH]: a full binary tree of processes.  The root is
 * at level DEPTH (default 8, max 12); every process above level 0 forks two
 * children and waits for both, so 2^(DEPTH+1)-1 processes exist (511 for 8),
 * most of them alive at the same time (inner nodes sit in waitpid until
 * their subtree is done).  Each process writes one byte to a shared pipe;
 * the root counts them and prints "processes N".  A process exits 0 only if
 * both of its children did; the root exits 0 only if the count is right. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

static int pipe_w;

static int node(int depth) {
    int ok = write(pipe_w, "x", 1) == 1;
    if (depth == 0)
        return ok;
    pid_t kids[2];
    for (int i = 0; i < 2; i++) {
        kids[i] = fork();
        if (kids[i] < 0) { perror("fork"); ok = 0; continue; }
        if (kids[i] == 0)
            _exit(node(depth - 1) ? 0 : 1);
    }
    for (int i = 0; i < 2; i++) {
        int st;
        if (kids[i] > 0 && (waitpid(kids[i], &st, 0) != kids[i] ||
                            !WIFEXITED(st) || WEXITSTATUS(st) != 0))
            ok = 0;
    }
    return ok;
}

int main(int argc, char **argv) {
    int depth = argc > 1 ? atoi(argv[1]) : 8;
    if (depth < 0 || depth > 12) {
        fprintf(stderr, "depth must be 0..12\n");
        return 2;
    }
    int fds[2];
    if (pipe(fds) < 0) { perror("pipe"); return 1; }
    pipe_w = fds[1];
    int ok = node(depth);
    close(fds[1]);
    long n = 0;
    char buf[4096];
    ssize_t r;
    while ((r = read(fds[0], buf, sizeof buf)) > 0)
        n += r;
    long want = (1L << (depth + 1)) - 1;
    printf("processes %ld\n", n);
    return ok && n == want ? 0 : 1;
}
