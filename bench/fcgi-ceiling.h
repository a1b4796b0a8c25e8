/* What both hop-ceiling responders share: the fixed answer (the header lines a successful
 * verify/ sends), the command line, and the threads. */
#ifndef FCGI_CEILING_H
#define FCGI_CEILING_H
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

static const char answer[] =
    "Status: 200 OK\r\n"
    "X-Auth-User-Id: 1\r\n"
    "X-Auth-Role: 0\r\n"
    "X-Auth-Session: 0123456789abcdef0123456789abcdef\r\n"
    "X-Auth-Email-Verified: true\r\n"
    "Cache-Control: no-store\r\n"
    "Content-Length: 0\r\n"
    "\r\n";

/* usage: PROGRAM SOCKET_PATH THREADS; answers THREADS, or exits. */
static int threads_argument(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: %s SOCKET_PATH THREADS\n", argv[0]);
        exit(2);
    }
    return atoi(argv[2]);
}

/* Runs `body` on `count` threads until they all return (never, in practice: the bench kills us). */
static int run_threads(int count, void *(*body)(void *)) {
    pthread_t ids[count];
    for (int i = 0; i < count; i++) pthread_create(&ids[i], NULL, body, NULL);
    for (int i = 0; i < count; i++) pthread_join(ids[i], NULL);
    return 0;
}
#endif
