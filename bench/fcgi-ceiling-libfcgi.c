/* The ceiling of nginx's FastCGI hop, measured with libfcgi: the same library and the same
 * thread-per-connection model as the worker pool (threads in FCGX_Accept_r on one listening
 * socket), but nothing behind it: every request gets a fixed 200 with the header lines a
 * successful verify/ answers. bench/run.sh compiles it with gcc and puts it behind the same
 * nginx config as the service; verify/'s rate divided by this one is the share of the hop that
 * the service's own work leaves.
 *
 * usage: fcgi-ceiling-libfcgi SOCKET_PATH THREADS
 */
#include <fcgiapp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static int listen_fd;

#include "fcgi-ceiling.h"

static void *serve(void *unused) {
    (void)unused;
    FCGX_Request request;
    if (FCGX_InitRequest(&request, listen_fd, 0) != 0) return NULL;
    while (FCGX_Accept_r(&request) >= 0) {
        FCGX_PutStr(answer, (int)sizeof(answer) - 1, request.out);
        FCGX_Finish_r(&request);
    }
    return NULL;
}

int main(int argc, char **argv) {
    int threads = threads_argument(argc, argv);
    if (FCGX_Init() != 0) return 1;
    umask(0);
    listen_fd = FCGX_OpenSocket(argv[1], 1024);
    if (listen_fd < 0) {
        perror("FCGX_OpenSocket");
        return 1;
    }
    return run_threads(threads, serve);
}
