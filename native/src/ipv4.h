/*
 * What the data plane does to inner IPv4 packets on the way through, per
 * tunnel options from the AWS configuration: TCP MSS clamping on SYNs
 * (tcp_mss_adjustment), clearing DF (clear_df_bit), fragmenting before
 * encryption (fragmentation_before_encryption, RFC 791 fragmentation), and
 * ICMP "fragmentation needed" (RFC 792 / RFC 1191) when DF forbids it.
 * All functions are bounds-checked against `len` and never read past it.
 */
#ifndef CGWD_IPV4_H
#define CGWD_IPV4_H

#include <stddef.h>
#include <stdint.h>

#define IPV4_DF 0x4000u
#define IPV4_MF 0x2000u
#define IPV4_OFFSET_MASK 0x1fffu

/* One's-complement checksum of `len` bytes (RFC 1071), folded and inverted. */
uint16_t inet_checksum(const void *data, size_t len);

/* Validates an IPv4 header: version 4, IHL >= 5, total length within
 * [IHL*4, len]. Returns the total length, or 0 when malformed. */
size_t ipv4_total_length(const uint8_t *p, size_t len);

/* Clamps the MSS option of a TCP SYN (also SYN-ACK) to `mss`, fixing the TCP
 * checksum incrementally. Returns 1 if the packet changed. */
int ipv4_clamp_mss(uint8_t *p, size_t len, uint16_t mss);

/* Clears DF and recomputes the header checksum. Returns 1 if DF was set. */
int ipv4_clear_df(uint8_t *p);

static inline int ipv4_df(const uint8_t *p) { return (p[6] & 0x40) != 0; }

/* Fragmentation, one fragment at a time. */
struct ipv4_frag_iter {
    const uint8_t *p;
    size_t total;       /* total length of the packet being fragmented */
    size_t hl;          /* its header length */
    size_t hl_rest;     /* header length of the second and later fragments (copied options only) */
    size_t pos;         /* payload bytes already emitted */
    size_t max;         /* largest fragment (total length) allowed */
    uint8_t hdr_rest[60];
};

/* 0 when the packet can be fragmented to at most `max` bytes a fragment,
 * -1 when not (max too small for the header plus 8 bytes). */
int ipv4_frag_begin(struct ipv4_frag_iter *it, const uint8_t *p, size_t total, size_t max);

/* Writes the next fragment to `out` (room for it->max bytes); returns its
 * length, or 0 when all fragments have been produced. */
size_t ipv4_frag_next(struct ipv4_frag_iter *it, uint8_t *out);

/* Builds an ICMP destination-unreachable / fragmentation-needed message
 * (type 3 code 4) about `orig` with next-hop MTU `mtu`, from `src` (network
 * order) to the packet's source. Returns the length written to `out` (at
 * least 576 bytes of room), or 0 when no ICMP must be sent for this packet
 * (non-first fragments, ICMP errors). */
size_t ipv4_frag_needed(const uint8_t *orig, size_t len, uint32_t src, uint16_t mtu, uint16_t id, uint8_t *out);

#endif

/* ---- TUN offloads (virtio_net_hdr): finishing partial checksums, TCP segmentation ---- */

/* Completes a partial L4 checksum (VIRTIO_NET_HDR_F_NEEDS_CSUM): the 16-bit field at
 * start + offset already holds the pseudo-header sum; fold in the bytes [start, len).
 * 0, or -1 when start/offset fall outside the packet. */
int l4_checksum_finish(uint8_t *p, size_t len, size_t start, size_t offset);

/* Splits an IPv4/TCP super-packet (VIRTIO_NET_HDR_GSO_TCPV4) into segments of at
 * most `gso` payload bytes, as TSO hardware would: consecutive IP ids, sequence
 * numbers advanced, FIN/PSH only on the last segment, CWR only on the first,
 * IP and TCP checksums computed in full. */
struct tso_iter {
    const uint8_t *p;
    size_t len, hlen, ihl, gso, off;
    uint32_t seq;
    uint16_t id;
    int index;
};
/* True when the TCP checksum of an IPv4 packet (total length len) verifies. */
int ipv4_tcp_checksum_valid(const uint8_t *p, size_t len);

int tso_begin(struct tso_iter *it, const uint8_t *p, size_t len, size_t gso);
/* Writes the next segment to out (room for hlen + gso); its length, or 0 when done. */
size_t tso_next(struct tso_iter *it, uint8_t *out);
