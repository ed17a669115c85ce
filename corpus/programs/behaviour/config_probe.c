/* Config / cert bundle / shared library opened from an unexpected place
 * (CVE-2022-32222 class) vs the same files from system locations. */
#include <dlfcn.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

static void try_open(const char *p) { int fd = open(p, O_RDONLY); if (fd >= 0) close(fd); }

int main(void) {
    struct stat st;
    /* hits: build path that does not exist here, HOME, /tmp */
    try_open("/home/builder/build/out/openssl.cnf");
    stat("/home/builder/build/out/openssl.cnf", &st);
    try_open("/home/pkgtrace/.config/ssl/cert.pem");
    try_open("/tmp/certs/ca-bundle.crt");
    dlopen("/home/builder/build/out/lib/libcrypto-ext.so", RTLD_NOW);
    dlopen("/tmp/libhook.so", RTLD_NOW);
    /* near misses: system locations, and the package's own tree */
    try_open("/etc/ssl/openssl.cnf");            /* informational */
    try_open("/usr/lib/ssl/openssl.cnf");
    try_open("/etc/ssl/certs/ca-certificates.crt");
    try_open("/home/pkgtrace/project/config/openssl.cnf");   /* own tree, ENOENT */
    dlopen("libm.so.6", RTLD_NOW);                            /* system library */
    return 0;
}
