#include "sa.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ipv4.h"

struct dp_sa *sa_create(const struct sa_params *p, uint64_t now_ms, char *err, size_t err_len) {
    struct esp_suite suite;
    if (esp_suite_lookup(p->encryption, p->integrity, &suite) != 0) {
        snprintf(err, err_len, "unsupported transform %s%s%s", p->encryption ? p->encryption : "(none)",
                 p->integrity ? " with " : "", p->integrity ? p->integrity : "");
        return NULL;
    }
    size_t enc_len = (size_t)suite.key_len + suite.salt_len;
    if (p->enc_key_in_len != enc_len || p->enc_key_out_len != enc_len) {
        snprintf(err, err_len, "%s needs %zu bytes of encryption key material", suite.enc_name, enc_len);
        return NULL;
    }
    if (!suite.aead && (p->integ_key_in_len != suite.integ_key_len || p->integ_key_out_len != suite.integ_key_len)) {
        snprintf(err, err_len, "%s needs %u-byte integrity keys", suite.integ_name, suite.integ_key_len);
        return NULL;
    }
    if (p->spi_in == 0 || p->spi_out == 0) {
        snprintf(err, err_len, "SPI 0 is reserved (it is the non-ESP marker)");
        return NULL;
    }
    /* Aligned: the outbound and the inbound halves sit on cache lines of their own. */
    struct dp_sa *sa = aligned_alloc(64, (sizeof(*sa) + 63) / 64 * 64);
    if (sa) memset(sa, 0, sizeof(*sa));
    if (!sa) {
        snprintf(err, err_len, "out of memory");
        return NULL;
    }
    sa->id = p->id;
    sa->tunnel = p->tunnel;
    sa->spi_in = p->spi_in;
    sa->spi_out = p->spi_out;
    sa->suite = suite;
    sa->remote = p->remote;
    sa->seq_out = p->initial_seq;
    sa->installed_ms = now_ms;
    sa->held = p->hold_outbound != 0;
    sa->soft_bytes = p->soft_bytes;
    sa->hard_bytes = p->hard_bytes;
    sa->soft_packets = p->soft_packets;
    sa->hard_packets = p->hard_packets;
    sa->soft_ms = p->soft_ms;
    sa->hard_ms = p->hard_ms;
    replay_init(&sa->replay, p->replay_window);
    if (esp_dir_init(&sa->enc, &suite, p->enc_key_out, p->enc_key_out_len, p->integ_key_out, p->integ_key_out_len,
                     1) != 0 ||
        esp_dir_init(&sa->dec, &suite, p->enc_key_in, p->enc_key_in_len, p->integ_key_in, p->integ_key_in_len, 0) !=
            0) {
        snprintf(err, err_len, "OpenSSL refused the %s keys", suite.enc_name);
        sa_destroy(sa);
        return NULL;
    }
    return sa;
}

void sa_destroy(struct dp_sa *sa) {
    if (!sa) return;
    esp_dir_free(&sa->enc);
    esp_dir_free(&sa->dec);
    free(sa);
}

/* A volume limit crossed: on the outbound thread (sa_output) or the inbound one (sa_input), which
 * may run at once with two packet threads. Each reads the other's counters with relaxed atomics
 * (they are stored the same way), and the transitions are compare-and-swaps, so each event is
 * raised once and its reason written by the side that raised it; the tick (under the write lock)
 * delivers it. */
static void check_volume(struct dp_sa *sa) {
    uint64_t bin = __atomic_load_n(&sa->ctr_in.bytes_in, __ATOMIC_RELAXED);
    uint64_t bout = __atomic_load_n(&sa->ctr.bytes_out, __ATOMIC_RELAXED);
    uint64_t pin = __atomic_load_n(&sa->ctr_in.packets_in, __ATOMIC_RELAXED);
    uint64_t pout = __atomic_load_n(&sa->ctr.packets_out, __ATOMIC_RELAXED);
    uint64_t bytes = bin > bout ? bin : bout;
    uint64_t packets = pin > pout ? pin : pout;
    if (__atomic_load_n(&sa->soft_state, __ATOMIC_RELAXED) == SA_EVENT_NONE) {
        int reason = -1;
        if (sa->soft_bytes && bytes >= sa->soft_bytes) reason = SA_REASON_BYTES;
        else if (sa->soft_packets && packets >= sa->soft_packets) reason = SA_REASON_PACKETS;
        uint8_t none = SA_EVENT_NONE;
        if (reason >= 0 && __atomic_compare_exchange_n(&sa->soft_state, &none, SA_EVENT_PENDING, 0, __ATOMIC_RELAXED,
                                                       __ATOMIC_RELAXED))
            sa->soft_reason = (uint8_t)reason;
    }
    if (!sa_dead(sa)) {
        int reason = -1;
        if (sa->hard_bytes && bytes >= sa->hard_bytes) reason = SA_REASON_BYTES;
        else if (sa->hard_packets && packets >= sa->hard_packets) reason = SA_REASON_PACKETS;
        uint8_t alive = 0;
        if (reason >= 0 && __atomic_compare_exchange_n(&sa->dead, &alive, 1, 0, __ATOMIC_RELAXED, __ATOMIC_RELAXED)) {
            sa->hard_state = SA_EVENT_PENDING;
            sa->hard_reason = (uint8_t)reason;
        }
    }
}

void sa_traffic_total(const struct dp_sa *sa, struct dp_traffic *out) {
    dp_counters_add(out, &sa->ctr, &sa->ctr_in, sizeof(*out));
}

void sa_check_time(struct dp_sa *sa, uint64_t now_ms) {
    uint64_t age = now_ms - sa->installed_ms;
    if (sa->soft_state == SA_EVENT_NONE && sa->soft_ms && age >= sa->soft_ms) {
        sa->soft_state = SA_EVENT_PENDING;
        sa->soft_reason = SA_REASON_TIME;
    }
    if (!sa->dead && sa->hard_ms && age >= sa->hard_ms) {
        sa->dead = 1;
        sa->hard_state = SA_EVENT_PENDING;
        sa->hard_reason = SA_REASON_TIME;
    }
}

int sa_output(struct dp_sa *sa, struct iv_pool *ivs, uint8_t *buf, size_t len, uint8_t **esp, size_t *esp_len,
              enum dp_drop *why) {
    if (sa_dead(sa)) {
        *why = DROP_EXPIRED;
        return -1;
    }
    if (sa->seq_out >= SA_SEQ_MAX) {
        *why = DROP_SEQ_EXHAUSTED;
        return -1;
    }
    uint64_t seq = sa->seq_out + 1;
    size_t n = esp_encap(&sa->suite, &sa->enc, ivs, sa->spi_out, seq, ESP_NH_IPV4, buf, len, esp);
    if (n == 0) {
        *why = DROP_MALFORMED;
        return -1;
    }
    sa->seq_out = seq;
    if (seq >= SA_SEQ_WARN && sa->seq_state == SA_EVENT_NONE) sa->seq_state = SA_EVENT_PENDING;
    *esp_len = n;
    __atomic_store_n(&sa->ctr.packets_out, sa->ctr.packets_out + 1, __ATOMIC_RELAXED);
    __atomic_store_n(&sa->ctr.bytes_out, sa->ctr.bytes_out + len, __ATOMIC_RELAXED);
    if (sa->soft_bytes | sa->hard_bytes | sa->soft_packets | sa->hard_packets) check_volume(sa);
    return 0;
}

static inline uint32_t rd32(const uint8_t *p) {
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

int sa_input(struct dp_sa *sa, uint8_t *pkt, size_t len, uint8_t **inner, size_t *inner_len, enum dp_drop *why) {
    if (sa_dead(sa)) {
        *why = DROP_EXPIRED;
        return -1;
    }
    /* Shape first (cheap, and a truncated copy of a seen packet is malformed, not a replay). */
    size_t overhead = ESP_HDR + (size_t)sa->suite.iv_len + sa->suite.icv_len;
    if (len < overhead + 2 || (!sa->suite.aead && (len - overhead) % sa->suite.align != 0)) {
        *why = DROP_MALFORMED;
        return -1;
    }
    uint32_t seq = rd32(pkt + 4);
    if (replay_check(&sa->replay, seq) != 0) {
        *why = DROP_REPLAY;
        return -1;
    }
    uint8_t *payload;
    size_t payload_len;
    enum esp_status st = esp_decrypt(&sa->suite, &sa->dec, pkt, len, &payload, &payload_len);
    if (st != ESP_OK) {
        *why = st == ESP_MALFORMED ? DROP_MALFORMED : DROP_ICV;
        return -1;
    }
    /* Authenticated: only now may the window move (RFC 4303 §3.4.3). */
    if (replay_update(&sa->replay, seq) != 0) {
        *why = DROP_REPLAY;
        return -1;
    }
    size_t n;
    uint8_t nh;
    st = esp_trailer(payload, payload_len, &n, &nh);
    if (st != ESP_OK) {
        *why = st == ESP_BAD_PADDING ? DROP_BAD_PADDING : DROP_MALFORMED;
        return -1;
    }
    if (nh != ESP_NH_IPV4) {
        *why = nh == ESP_NH_DUMMY ? DROP_DUMMY : nh == ESP_NH_IPV6 ? DROP_NOT_IPV4 : DROP_BAD_NEXT_HEADER;
        return -1;
    }
    size_t total = ipv4_total_length(payload, n);
    if (!total) {
        *why = DROP_MALFORMED;
        return -1;
    }
    *inner = payload;
    *inner_len = total;
    __atomic_store_n(&sa->ctr_in.packets_in, sa->ctr_in.packets_in + 1, __ATOMIC_RELAXED);
    __atomic_store_n(&sa->ctr_in.bytes_in, sa->ctr_in.bytes_in + total, __ATOMIC_RELAXED);
    if (sa->soft_bytes | sa->hard_bytes | sa->soft_packets | sa->hard_packets) check_volume(sa);
    return 0;
}

static inline size_t bucket_of(uint32_t spi) { return (size_t)((spi * 2654435761u) >> 22) % SA_HASH_SIZE; }

void sa_table_init(struct sa_table *t) { memset(t, 0, sizeof(*t)); }

struct dp_sa *sa_table_lookup(const struct sa_table *t, uint32_t spi_in) {
    for (struct dp_sa *sa = t->buckets[bucket_of(spi_in)]; sa; sa = sa->hash_next)
        if (sa->spi_in == spi_in) return sa;
    return NULL;
}

struct dp_sa *sa_table_find_id(const struct sa_table *t, uint32_t id) {
    for (struct dp_sa *sa = t->all; sa; sa = sa->next)
        if (sa->id == id) return sa;
    return NULL;
}

int sa_table_insert(struct sa_table *t, struct dp_sa *sa) {
    if (sa_table_find_id(t, sa->id) || sa_table_lookup(t, sa->spi_in)) return -1;
    sa->generation = ++t->next_generation;
    size_t b = bucket_of(sa->spi_in);
    sa->hash_next = t->buckets[b];
    t->buckets[b] = sa;
    sa->next = t->all;
    t->all = sa;
    t->count++;
    return 0;
}

struct dp_sa *sa_table_remove(struct sa_table *t, uint32_t id) {
    struct dp_sa **pp = &t->all;
    while (*pp && (*pp)->id != id) pp = &(*pp)->next;
    struct dp_sa *sa = *pp;
    if (!sa) return NULL;
    *pp = sa->next;
    struct dp_sa **hp = &t->buckets[bucket_of(sa->spi_in)];
    while (*hp && *hp != sa) hp = &(*hp)->hash_next;
    if (*hp) *hp = sa->hash_next;
    sa->next = sa->hash_next = NULL;
    t->count--;
    return sa;
}

struct dp_sa *sa_table_newest(const struct sa_table *t, int tunnel) {
    struct dp_sa *best = NULL;
    for (struct dp_sa *sa = t->all; sa; sa = sa->next)
        if (sa->tunnel == tunnel && !sa_dead(sa) && !sa->held && (!best || sa->generation > best->generation)) best = sa;
    return best;
}
