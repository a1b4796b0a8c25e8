/* The ceiling of nginx's FastCGI hop without libfcgi: one epoll loop per thread, connections
 * multiplexed, FastCGI records parsed in place, and every request answered with the same fixed
 * 200 as fcgi-ceiling-libfcgi.c. Hand-written because libfcgi has no event-driven API (it blocks
 * a thread per connection); this is the fastest responder nginx can talk to on this machine, a
 * bound for any FastCGI worker, not a model for the service. bench/run.sh compiles it with gcc.
 *
 * usage: fcgi-ceiling-epoll SOCKET_PATH THREADS
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

enum { BEGIN_REQUEST = 1, END_REQUEST = 3, STDIN = 5, STDOUT = 6, KEEP_CONN = 1, BUFFER = 65536 };

struct connection {
    int fd;
    size_t filled;
    int keep;
    unsigned char in[BUFFER];
};

static int listen_fd;

#include "fcgi-ceiling.h"

static void header(unsigned char *out, int type, int id, int length) {
    out[0] = 1; out[1] = (unsigned char)type; out[2] = (unsigned char)(id >> 8); out[3] = (unsigned char)id;
    out[4] = (unsigned char)(length >> 8); out[5] = (unsigned char)length; out[6] = 0; out[7] = 0;
}

/* STDOUT with the answer, the empty STDOUT that ends it, END_REQUEST: one write. */
static int respond(int fd, int id) {
    unsigned char out[8 + sizeof(answer) + 8 + 16];
    size_t length = sizeof(answer) - 1, at = 0;
    header(out, STDOUT, id, (int)length); at = 8;
    memcpy(out + at, answer, length); at += length;
    header(out + at, STDOUT, id, 0); at += 8;
    header(out + at, END_REQUEST, id, 8); at += 8;
    memset(out + at, 0, 8); at += 8;
    return write(fd, out, at) == (ssize_t)at ? 0 : -1;
}

/* Consumes the complete records in the buffer; -1 closes the connection. */
static int drain(struct connection *c) {
    size_t at = 0;
    while (c->filled - at >= 8) {
        unsigned char *h = c->in + at;
        size_t content = (size_t)h[4] << 8 | h[5], total = 8 + content + h[6];
        if (c->filled - at < total) break;
        int id = h[2] << 8 | h[3];
        if (h[1] == BEGIN_REQUEST && content >= 3) c->keep = h[8 + 2] & KEEP_CONN;
        if (h[1] == STDIN && content == 0) {
            if (respond(c->fd, id) < 0 || !c->keep) return -1;
        }
        at += total;
    }
    memmove(c->in, c->in + at, c->filled - at);
    c->filled -= at;
    return 0;
}

static void *loop(void *unused) {
    (void)unused;
    int ep = epoll_create1(0);
    struct epoll_event event = { .events = EPOLLIN | EPOLLEXCLUSIVE, .data.ptr = NULL };
    epoll_ctl(ep, EPOLL_CTL_ADD, listen_fd, &event);
    struct epoll_event ready[64];
    for (;;) {
        int count = epoll_wait(ep, ready, 64, -1);
        for (int i = 0; i < count; i++) {
            struct connection *c = ready[i].data.ptr;
            if (c == NULL) {
                int fd = accept4(listen_fd, NULL, NULL, SOCK_NONBLOCK);
                if (fd < 0) continue;
                c = calloc(1, sizeof *c);
                c->fd = fd;
                struct epoll_event add = { .events = EPOLLIN, .data.ptr = c };
                epoll_ctl(ep, EPOLL_CTL_ADD, fd, &add);
                continue;
            }
            ssize_t got = read(c->fd, c->in + c->filled, BUFFER - c->filled);
            if (got < 0 && (errno == EAGAIN || errno == EINTR)) continue;
            if (got <= 0 || (c->filled += (size_t)got, drain(c) < 0) || c->filled == BUFFER) {
                close(c->fd);
                free(c);
            }
        }
    }
    return NULL;
}

int main(int argc, char **argv) {
    int threads = threads_argument(argc, argv);
    signal(SIGPIPE, SIG_IGN);  /* nginx may close a connection before its answer is written */
    struct sockaddr_un address = { .sun_family = AF_UNIX };
    strncpy(address.sun_path, argv[1], sizeof address.sun_path - 1);
    unlink(argv[1]);
    listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);
    umask(0);
    if (bind(listen_fd, (struct sockaddr *)&address, sizeof address) < 0 || listen(listen_fd, 1024) < 0) {
        perror(argv[1]);
        return 1;
    }
    return run_threads(threads, loop);
}
