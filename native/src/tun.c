#include "tun.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

static int fail(char *err, size_t err_len, const char *step, int fd1, int fd2) {
    int e = errno;
    snprintf(err, err_len, "%s: %s", step, strerror(e));
    if (fd1 >= 0) close(fd1);
    if (fd2 >= 0) close(fd2);
    errno = e;
    return -1;
}

static void set_sin(struct sockaddr *sa, uint32_t addr) {
    struct sockaddr_in *sin = (struct sockaddr_in *)sa;
    memset(sin, 0, sizeof(*sin));
    sin->sin_family = AF_INET;
    sin->sin_addr.s_addr = addr;
}

static void write_sysctl(const char *path, const char *value) {
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0) return;
    ssize_t r = write(fd, value, strlen(value));
    (void)r;
    close(fd);
}

int tun_open(const struct tun_config *c, int *ifindex, int *vnet, char *err, size_t err_len) {
    int fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) return fail(err, err_len, "open /dev/net/tun", -1, -1);
    struct ifreq ifr;
    memset(&ifr, 0, sizeof(ifr));
    ifr.ifr_flags = IFF_TUN | IFF_NO_PI | (c->offload ? IFF_VNET_HDR : 0);
    snprintf(ifr.ifr_name, IFNAMSIZ, "%s", c->ifname);
    if (ioctl(fd, TUNSETIFF, &ifr) < 0) return fail(err, err_len, "TUNSETIFF", fd, -1);
    *vnet = 0;
    if (c->offload) {
        int hdr = TUN_VNET_HDR_LEN;
        /* Checksums may arrive unfinished and TCP as 64 KB super-packets: the
         * kernel's TCP stack then does one pass per 64 KB instead of per MTU.
         * UDP segmentation offload (Linux >= 6.2, both USO flags or neither) lets
         * a run of one flow's datagrams go in as one write (gro.c): the kernel
         * routes and forwards it once and splits it where it leaves. */
        if (ioctl(fd, TUNSETVNETHDRSZ, &hdr) == 0 &&
            ioctl(fd, TUNSETOFFLOAD, TUN_F_CSUM | TUN_F_TSO4 | TUN_F_USO4 | TUN_F_USO6) == 0) {
            *vnet = 2;
        } else if (ioctl(fd, TUNSETVNETHDRSZ, &hdr) == 0 && ioctl(fd, TUNSETOFFLOAD, TUN_F_CSUM | TUN_F_TSO4) == 0) {
            *vnet = 1;
        } else {
            /* Offloads refused: reopen without vnet headers. */
            close(fd);
            struct tun_config plain = *c;
            plain.offload = 0;
            return tun_open(&plain, ifindex, vnet, err, err_len);
        }
    }

    int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (s < 0) return fail(err, err_len, "socket", fd, -1);

    if (c->disable_ipv6) {
        char path[128];
        snprintf(path, sizeof(path), "/proc/sys/net/ipv6/conf/%s/disable_ipv6", ifr.ifr_name);
        write_sysctl(path, "1");
    }

    struct ifreq req;
    memset(&req, 0, sizeof(req));
    memcpy(req.ifr_name, ifr.ifr_name, IFNAMSIZ);
    req.ifr_mtu = c->mtu;
    if (ioctl(s, SIOCSIFMTU, &req) < 0) return fail(err, err_len, "SIOCSIFMTU", fd, s);

    if (c->txqueuelen > 0) {
        memset(&req.ifr_ifru, 0, sizeof(req.ifr_ifru));
        req.ifr_qlen = c->txqueuelen;
        if (ioctl(s, SIOCSIFTXQLEN, &req) < 0) return fail(err, err_len, "SIOCSIFTXQLEN", fd, s);
    }

    set_sin(&req.ifr_addr, c->address);
    if (ioctl(s, SIOCSIFADDR, &req) < 0) return fail(err, err_len, "SIOCSIFADDR", fd, s);
    uint32_t mask = c->prefix_len == 0 ? 0 : htonl(0xffffffffu << (32 - c->prefix_len));
    set_sin(&req.ifr_netmask, mask);
    if (ioctl(s, SIOCSIFNETMASK, &req) < 0) return fail(err, err_len, "SIOCSIFNETMASK", fd, s);

    memset(&req.ifr_ifru, 0, sizeof(req.ifr_ifru));
    if (ioctl(s, SIOCGIFFLAGS, &req) < 0) return fail(err, err_len, "SIOCGIFFLAGS", fd, s);
    req.ifr_flags |= IFF_UP | IFF_RUNNING;
    if (ioctl(s, SIOCSIFFLAGS, &req) < 0) return fail(err, err_len, "SIOCSIFFLAGS", fd, s);

    memset(&req.ifr_ifru, 0, sizeof(req.ifr_ifru));
    if (ioctl(s, SIOCGIFINDEX, &req) < 0) return fail(err, err_len, "SIOCGIFINDEX", fd, s);
    *ifindex = req.ifr_ifindex;
    close(s);
    return fd;
}
