#include "ipv4.h"

#include <string.h>

static inline uint16_t rd16(const uint8_t *p) { return (uint16_t)((p[0] << 8) | p[1]); }
static inline void wr16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)(v >> 8); p[1] = (uint8_t)v; }

static uint32_t sum_bytes(uint32_t sum, const uint8_t *p, size_t len) {
    while (len > 1) {
        sum += rd16(p);
        p += 2;
        len -= 2;
    }
    if (len) sum += (uint32_t)p[0] << 8;
    return sum;
}

static uint16_t fold(uint32_t sum) {
    while (sum >> 16) sum = (sum & 0xffffu) + (sum >> 16);
    return (uint16_t)sum;
}

uint16_t inet_checksum(const void *data, size_t len) {
    return (uint16_t)~fold(sum_bytes(0, data, len));
}

size_t ipv4_total_length(const uint8_t *p, size_t len) {
    if (len < 20 || (p[0] >> 4) != 4) return 0;
    size_t hl = (size_t)(p[0] & 0x0f) * 4;
    size_t total = rd16(p + 2);
    if (hl < 20 || total < hl || total > len) return 0;
    return total;
}

static void set_header_checksum(uint8_t *p) {
    size_t hl = (size_t)(p[0] & 0x0f) * 4;
    p[10] = p[11] = 0;
    wr16(p + 10, inet_checksum(p, hl));
}

/* RFC 1624 eqn. 3 applied byte by byte: HC' = ~(~HC + ~m + m'). A byte at an
 * even offset (from the start of the checksummed data) is the high half of its
 * 16-bit word, at an odd offset the low half, so odd alignment just works. */
static uint16_t checksum_adjust(uint16_t check, const uint8_t *old_bytes, const uint8_t *new_bytes, size_t n,
                                size_t offset) {
    uint32_t sum = (uint16_t)~check;
    for (size_t i = 0; i < n; i++) {
        int low = ((offset + i) & 1u) != 0;
        uint16_t o = low ? old_bytes[i] : (uint16_t)(old_bytes[i] << 8);
        uint16_t m = low ? new_bytes[i] : (uint16_t)(new_bytes[i] << 8);
        sum += (uint16_t)~o;
        sum += m;
    }
    return (uint16_t)~fold(sum);
}

int ipv4_clamp_mss(uint8_t *p, size_t len, uint16_t mss) {
    size_t total = ipv4_total_length(p, len);
    if (!total || p[9] != 6) return 0;
    if (rd16(p + 6) & IPV4_OFFSET_MASK) return 0; /* not the first fragment: no TCP header */
    size_t hl = (size_t)(p[0] & 0x0f) * 4;
    if (total < hl + 20) return 0;
    uint8_t *tcp = p + hl;
    size_t tcp_len = total - hl;
    if (!(tcp[13] & 0x02)) return 0; /* SYN (and SYN-ACK) only */
    size_t doff = (size_t)(tcp[12] >> 4) * 4;
    if (doff < 20 || doff > tcp_len) return 0;
    size_t i = 20;
    while (i < doff) {
        uint8_t kind = tcp[i];
        if (kind == 0) break;
        if (kind == 1) {
            i++;
            continue;
        }
        if (i + 1 >= doff) break;
        uint8_t olen = tcp[i + 1];
        if (olen < 2 || i + olen > doff) break;
        if (kind == 2 && olen == 4) {
            uint16_t current = rd16(tcp + i + 2);
            if (current <= mss) return 0;
            uint8_t old_bytes[2] = {tcp[i + 2], tcp[i + 3]};
            uint8_t new_bytes[2] = {(uint8_t)(mss >> 8), (uint8_t)mss};
            wr16(tcp + 16, checksum_adjust(rd16(tcp + 16), old_bytes, new_bytes, 2, i + 2));
            tcp[i + 2] = new_bytes[0];
            tcp[i + 3] = new_bytes[1];
            return 1;
        }
        i += olen;
    }
    return 0;
}

int ipv4_clear_df(uint8_t *p) {
    if (!(p[6] & 0x40)) return 0;
    p[6] &= (uint8_t)~0x40;
    set_header_checksum(p);
    return 1;
}

int ipv4_frag_begin(struct ipv4_frag_iter *it, const uint8_t *p, size_t total, size_t max) {
    memset(it, 0, sizeof(*it));
    size_t hl = (size_t)(p[0] & 0x0f) * 4;
    if (max > 0xffff) max = 0xffff;
    if (max < hl + 8 || total <= hl) return -1;
    it->p = p;
    it->total = total;
    it->hl = hl;
    it->max = max;
    /* Later fragments carry only the options whose "copied" flag is set (RFC 791). */
    memcpy(it->hdr_rest, p, 20);
    size_t out = 20, i = 20;
    while (i < hl) {
        uint8_t type = p[i];
        if (type == 0) break;
        if (type == 1) {
            i++;
            continue;
        }
        if (i + 1 >= hl) break;
        uint8_t olen = p[i + 1];
        if (olen < 2 || i + olen > hl) break;
        if (type & 0x80) {
            memcpy(it->hdr_rest + out, p + i, olen);
            out += olen;
        }
        i += olen;
    }
    while (out & 3u) it->hdr_rest[out++] = 0; /* end-of-options padding */
    it->hl_rest = out;
    it->hdr_rest[0] = (uint8_t)(0x40 | (out / 4));
    if (max < it->hl_rest + 8) return -1;
    return 0;
}

size_t ipv4_frag_next(struct ipv4_frag_iter *it, uint8_t *out) {
    size_t payload = it->total - it->hl;
    if (it->pos >= payload) return 0;
    int first = it->pos == 0;
    const uint8_t *hdr = first ? it->p : it->hdr_rest;
    size_t hl = first ? it->hl : it->hl_rest;
    size_t chunk = payload - it->pos;
    int more = 0;
    if (hl + chunk > it->max) { /* not the last: a multiple of 8 bytes */
        chunk = ((it->max - hl) / 8) * 8;
        more = 1;
    }
    uint16_t orig = rd16(it->p + 6);
    size_t offset = (size_t)(orig & IPV4_OFFSET_MASK) * 8 + it->pos;
    memcpy(out, hdr, hl);
    memcpy(out + hl, it->p + it->hl + it->pos, chunk);
    wr16(out + 2, (uint16_t)(hl + chunk));
    uint16_t flags = (more || (orig & IPV4_MF)) ? IPV4_MF : 0;
    wr16(out + 6, (uint16_t)(flags | (offset / 8)));
    set_header_checksum(out);
    it->pos += chunk;
    return hl + chunk;
}

size_t ipv4_frag_needed(const uint8_t *orig, size_t len, uint32_t src, uint16_t mtu, uint16_t id, uint8_t *out) {
    size_t total = ipv4_total_length(orig, len);
    if (!total) return 0;
    if (rd16(orig + 6) & IPV4_OFFSET_MASK) return 0; /* only about first fragments (RFC 1122 §3.2.2) */
    size_t hl = (size_t)(orig[0] & 0x0f) * 4;
    if (orig[9] == 1) { /* never an ICMP error about an ICMP error */
        if (total < hl + 1) return 0;
        uint8_t type = orig[hl];
        if (type == 3 || type == 4 || type == 5 || type == 11 || type == 12) return 0;
    }
    size_t quoted = total;
    if (quoted > 576 - 28) quoted = 576 - 28; /* RFC 1812 §4.3.2.3: as much as fits in 576 */
    size_t out_len = 20 + 8 + quoted;
    memset(out, 0, 28);
    out[0] = 0x45;
    out[1] = 0xc0;
    wr16(out + 2, (uint16_t)out_len);
    wr16(out + 4, id);
    out[8] = 64;
    out[9] = 1;
    memcpy(out + 12, &src, 4);
    memcpy(out + 16, orig + 12, 4);
    set_header_checksum(out);
    uint8_t *icmp = out + 20;
    icmp[0] = 3;
    icmp[1] = 4;
    wr16(icmp + 6, mtu);
    memcpy(icmp + 8, orig, quoted);
    wr16(icmp + 2, inet_checksum(icmp, 8 + quoted));
    return out_len;
}

int l4_checksum_finish(uint8_t *p, size_t len, size_t start, size_t offset) {
    if (start >= len || offset + 2 > len - start) return -1;
    uint8_t *field = p + start + offset;
    uint32_t sum = sum_bytes(0, p + start, len - start); /* includes the pseudo-header sum in the field */
    uint16_t c = (uint16_t)~fold(sum);
    wr16(field, c);
    return 0;
}

static inline uint32_t rd32(const uint8_t *p) {
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}
static inline void wr32(uint8_t *p, uint32_t v) {
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

int tso_begin(struct tso_iter *it, const uint8_t *p, size_t len, size_t gso) {
    memset(it, 0, sizeof(*it));
    if (len < 40 || (p[0] >> 4) != 4 || p[9] != 6 || gso == 0) return -1;
    size_t ihl = (size_t)(p[0] & 0x0f) * 4;
    if (ihl < 20 || ihl + 20 > len) return -1;
    size_t thl = (size_t)(p[ihl + 12] >> 4) * 4;
    if (thl < 20 || ihl + thl > len) return -1;
    it->p = p;
    it->len = len;
    it->ihl = ihl;
    it->hlen = ihl + thl;
    it->gso = gso;
    it->seq = rd32(p + ihl + 4);
    it->id = rd16(p + 4);
    return 0;
}

size_t tso_next(struct tso_iter *it, uint8_t *out) {
    size_t payload = it->len - it->hlen;
    if (it->off >= payload && !(payload == 0 && it->index == 0)) return 0;
    size_t chunk = payload - it->off;
    if (chunk > it->gso) chunk = it->gso;
    int last = it->off + chunk >= payload;
    memcpy(out, it->p, it->hlen);
    memcpy(out + it->hlen, it->p + it->hlen + it->off, chunk);
    size_t total = it->hlen + chunk;
    wr16(out + 2, (uint16_t)total);
    wr16(out + 4, (uint16_t)(it->id + it->index));
    set_header_checksum(out);
    uint8_t *tcp = out + it->ihl;
    wr32(tcp + 4, it->seq + (uint32_t)it->off);
    if (!last) tcp[13] &= (uint8_t)~0x09; /* FIN, PSH */
    if (it->index > 0) tcp[13] &= (uint8_t)~0x80; /* CWR */
    size_t tcp_len = total - it->ihl;
    tcp[16] = tcp[17] = 0;
    uint32_t sum = sum_bytes(0, out + 12, 8); /* source and destination addresses */
    sum += 6u + (uint32_t)tcp_len;
    sum = sum_bytes(sum, tcp, tcp_len);
    wr16(tcp + 16, (uint16_t)~fold(sum));
    it->off += chunk;
    it->index++;
    if (payload == 0) it->off = 1;
    return total;
}

int ipv4_tcp_checksum_valid(const uint8_t *p, size_t len) {
    size_t ihl = (size_t)(p[0] & 0x0f) * 4;
    if (len < ihl + 20) return 0;
    uint32_t sum = sum_bytes(0, p + 12, 8);
    sum += 6u + (uint32_t)(len - ihl);
    sum = sum_bytes(sum, p + ihl, len - ihl);
    return fold(sum) == 0xffff;
}
