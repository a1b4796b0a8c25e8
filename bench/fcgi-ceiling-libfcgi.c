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

static const char answer[] =
    "Status: 200 OK\r\n"
    "X-Auth-User-Id: 1\r\n"
    "X-Auth-Role: 0\r\n"
    "X-Auth-Session: 0123456789abcdef0123456789abcdef\r\n"
    "X-Auth-Email-Verified: true\r\n"
    "Cache-Control: no-store\r\n"
    "Content-Length: 0\r\n"
    "\r\n";

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
    if (argc != 3) {
        fprintf(stderr, "usage: %s SOCKET_PATH THREADS\n", argv[0]);
        return 2;
    }
    int threads = atoi(argv[2]);
    if (FCGX_Init() != 0) return 1;
    umask(0);
    listen_fd = FCGX_OpenSocket(argv[1], 1024);
    if (listen_fd < 0) {
        perror("FCGX_OpenSocket");
        return 1;
    }
    pthread_t ids[threads];
    for (int i = 0; i < threads; i++) pthread_create(&ids[i], NULL, serve, NULL);
    for (int i = 0; i < threads; i++) pthread_join(ids[i], NULL);
    return 0;
}
