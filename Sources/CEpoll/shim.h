#ifndef CEPOLL_SHIM_H
#define CEPOLL_SHIM_H
/* Glibc's Swift module leaves out sys/epoll.h; FastCGIServer's event loop needs it. */
#include <sys/epoll.h>
#endif
