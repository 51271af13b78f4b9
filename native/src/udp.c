#include "udp.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static void set_buffer(int fd, int force_opt, int opt, int size) {
    if (size <= 0) return;
    if (setsockopt(fd, SOL_SOCKET, force_opt, &size, sizeof(size)) == 0) return;
    setsockopt(fd, SOL_SOCKET, opt, &size, sizeof(size));
}

int udp_open(const struct sockaddr_in *local, int rcvbuf, int sndbuf, struct sockaddr_in *bound, char *err,
             size_t err_len) {
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        snprintf(err, err_len, "socket: %s", strerror(errno));
        return -1;
    }
    set_buffer(fd, SO_RCVBUFFORCE, SO_RCVBUF, rcvbuf);
    set_buffer(fd, SO_SNDBUFFORCE, SO_SNDBUF, sndbuf);
    if (bind(fd, (const struct sockaddr *)local, sizeof(*local)) < 0) {
        int e = errno;
        char addr[INET_ADDRSTRLEN] = "?";
        inet_ntop(AF_INET, &local->sin_addr, addr, sizeof(addr));
        snprintf(err, err_len, "bind %s:%u: %s", addr, ntohs(local->sin_port), strerror(e));
        close(fd);
        errno = e;
        return -1;
    }
    socklen_t len = sizeof(*bound);
    if (getsockname(fd, (struct sockaddr *)bound, &len) < 0) *bound = *local;
    return fd;
}
