/*
 * The UDP socket that carries ESP-in-UDP (RFC 3948) and IKE on port 4500.
 * Created on the packet thread (inside the data plane's network namespace).
 */
#ifndef CGWD_UDP_H
#define CGWD_UDP_H

#include <netinet/in.h>
#include <stddef.h>

/* Binds a non-blocking UDP socket; buffer sizes are requested with
 * SO_*BUFFORCE first (root), else SO_*BUF. Returns the fd, or -1 with errno
 * set and a message in err. *bound receives the actual address (port 0 picks one). */
int udp_open(const struct sockaddr_in *local, int rcvbuf, int sndbuf, struct sockaddr_in *bound, char *err,
             size_t err_len);

#endif
