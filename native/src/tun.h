/*
 * TUN devices (IFF_TUN | IFF_NO_PI: each read/write is one bare IP packet).
 * Called on the packet thread, which has entered the data plane's network
 * namespace, so the device and its address land there.
 */
#ifndef CGWD_TUN_H
#define CGWD_TUN_H

#include <stddef.h>
#include <stdint.h>

struct tun_config {
    const char *ifname;
    int mtu;
    uint32_t address;   /* network order */
    int prefix_len;
    int txqueuelen;     /* 0 = kernel default */
    int disable_ipv6;   /* keep router solicitations etc. off the tunnel */
    int offload;        /* ask for IFF_VNET_HDR with checksum and TSO4 offload */
};

/* UDP segmentation offload on a TUN (Linux >= 6.2, uapi linux/if_tun.h) and its
 * virtio_net_hdr GSO type (VIRTIO 1.2, 5.1.6 "Device Operation": VIRTIO_NET_HDR_GSO_UDP_L4),
 * absent from older userspace headers. */
#ifndef TUN_F_USO4
#define TUN_F_USO4 0x20
#define TUN_F_USO6 0x40
#endif
#ifndef VIRTIO_NET_HDR_GSO_UDP_L4
#define VIRTIO_NET_HDR_GSO_UDP_L4 5
#endif

/* Size of struct virtio_net_hdr in front of every packet when vnet headers are on. */
#define TUN_VNET_HDR_LEN 10

/* Creates, configures and brings up the device. Returns a non-blocking fd, or
 * -1 with errno set and a message (naming the failed step) in err. *vnet is 1
 * when the device carries virtio_net_hdr (offloads on), 2 when UDP segmentation
 * offload is on as well, 0 when plain. */
int tun_open(const struct tun_config *c, int *ifindex, int *vnet, char *err, size_t err_len);

#endif
