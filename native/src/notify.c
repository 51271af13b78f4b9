/*
 * Unix datagram sender for the service manager (Node has no AF_UNIX SOCK_DGRAM):
 *   sd_notify's NOTIFY_SOCKET (READY=1, STATUS=, WATCHDOG=1, ... ; sd_notify(3)),
 *   the journal's native protocol socket /run/systemd/journal/socket (systemd.journal-fields(7)).
 * A path starting with '@' names an abstract socket (the '@' becomes a leading NUL).
 * One datagram per call, never blocking; the result is 0 or an errno value.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "notify.h"

#include <errno.h>
#include <stddef.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

int unix_dgram_send(const char *path, const uint8_t *data, size_t len) {
    struct sockaddr_un addr;
    size_t plen = strlen(path);
    if (plen == 0 || plen >= sizeof(addr.sun_path)) return EINVAL;
    if (path[0] != '/' && path[0] != '@') return EINVAL;
    memset(&addr, 0, sizeof(addr));
    addr.sun_family = AF_UNIX;
    memcpy(addr.sun_path, path, plen);
    socklen_t alen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + plen);
    if (path[0] == '@') {
        addr.sun_path[0] = '\0';
    } else {
        alen += 1; /* the terminating NUL of a path name */
    }
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) return errno;
    int result = 0;
    if (sendto(fd, data, len, MSG_NOSIGNAL, (struct sockaddr *)&addr, alen) < 0) result = errno;
    close(fd);
    return result;
}
