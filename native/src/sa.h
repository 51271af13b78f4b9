/*
 * Security associations and the SA table.
 *
 * One dp_sa is one CHILD SA pair as IKE hands it over (ChildSaInstall in
 * src/ike/runtime.ts): an inbound SPI with its decryption context and replay
 * window, an outbound SPI with its encryption context and sequence counter,
 * the peer's UDP endpoint, lifetimes and counters.
 *
 * The table is owned by the packet thread(s); JavaScript changes it only
 * through commands executed between batches (commands.c; with two packet
 * threads under the write side of the tables lock: loop_internal.h), so
 * lookups take no lock of their own. With two threads an SA's outbound half
 * (enc, seq_out, ctr) is the outbound thread's and its inbound half (dec,
 * replay, ctr_in) the inbound thread's; dead and the event states can change
 * on either (volume limits), see check_volume. Inbound: SPI -> SA (hash). Outbound: each tunnel sends with its
 * newest usable SA (highest generation), so installing a rekeyed SA switches
 * outbound at once while older inbound SAs keep working until removed
 * (make-before-break).
 */
#ifndef CGWD_SA_H
#define CGWD_SA_H

#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>

#include "counters.h"
#include "esp.h"
#include "replay.h"

/* Raise "seq exhausting" when the next outbound sequence number reaches this. */
#define SA_SEQ_WARN 0xF0000000ull
#define SA_SEQ_MAX 0xFFFFFFFFull

enum sa_event_state { SA_EVENT_NONE = 0, SA_EVENT_PENDING, SA_EVENT_SENT };
enum sa_expiry_reason { SA_REASON_TIME = 0, SA_REASON_BYTES, SA_REASON_PACKETS };

struct sa_params {
    uint32_t id;
    int tunnel;
    uint32_t spi_in, spi_out;
    const char *encryption, *integrity;
    const uint8_t *enc_key_in, *enc_key_out, *integ_key_in, *integ_key_out;
    size_t enc_key_in_len, enc_key_out_len, integ_key_in_len, integ_key_out_len;
    struct sockaddr_in remote;
    uint32_t replay_window;
    uint64_t soft_bytes, hard_bytes, soft_packets, hard_packets; /* 0 = none */
    uint64_t soft_ms, hard_ms;                                   /* 0 = none */
    uint64_t initial_seq;                                        /* last sequence number "already sent" */
    int hold_outbound; /* decrypts at once, sends only after DP_CMD_RELEASE_SA */
};

struct dp_sa {
    uint32_t id;
    int tunnel;
    uint32_t spi_in, spi_out;
    struct esp_suite suite;
    struct esp_dir enc, dec;
    struct sockaddr_in remote;
    uint64_t generation;
    uint64_t installed_ms;
    uint64_t soft_bytes, hard_bytes, soft_packets, hard_packets, soft_ms, hard_ms;
    uint8_t soft_state, hard_state, seq_state; /* enum sa_event_state */
    uint8_t soft_reason, hard_reason;          /* enum sa_expiry_reason */
    uint8_t dead;                              /* hard-expired: not used in either direction (__atomic) */
    uint8_t held;                              /* inbound only until released (see sa_table_newest) */
    struct dp_sa *hash_next;
    struct dp_sa *next;
    /* The outbound side's: the sequence counter and the traffic counters out (and its drops). */
    uint64_t seq_out __attribute__((aligned(64))); /* last sequence number used */
    struct dp_traffic ctr;
    /* The inbound side's: the replay window and the traffic counters in (and its drops). */
    struct replay_window replay __attribute__((aligned(64)));
    struct dp_traffic ctr_in;
};

static inline int sa_dead(const struct dp_sa *sa) { return __atomic_load_n(&sa->dead, __ATOMIC_RELAXED); }

/* Creates an SA with keyed contexts. NULL on error with a message in err (never key material). */
struct dp_sa *sa_create(const struct sa_params *p, uint64_t now_ms, char *err, size_t err_len);
void sa_destroy(struct dp_sa *sa);

/* Outbound: encapsulates the inner packet at buf + ESP_PREFIX. 0 with *esp,
 * *esp_len set, or -1 with *why set. Counts packets/bytes out on the SA. */
int sa_output(struct dp_sa *sa, struct iv_pool *ivs, uint8_t *buf, size_t len, uint8_t **esp, size_t *esp_len,
              enum dp_drop *why);

/* Inbound: replay pre-check, ICV, replay update, padding, next header, inner
 * IPv4 header. 0 with *inner and *inner_len (the IPv4 packet, trimmed to its total
 * length) or -1 with *why set. Counts packets/bytes in on the SA. */
int sa_input(struct dp_sa *sa, uint8_t *pkt, size_t len, uint8_t **inner, size_t *inner_len, enum dp_drop *why);

/* The SA's traffic as one struct: the outbound side's ctr plus the inbound side's ctr_in. */
void sa_traffic_total(const struct dp_sa *sa, struct dp_traffic *out);

/* Lifetime check by time; called about once a second. */
void sa_check_time(struct dp_sa *sa, uint64_t now_ms);

#define SA_HASH_SIZE 1024

struct sa_table {
    struct dp_sa *buckets[SA_HASH_SIZE];
    struct dp_sa *all;
    uint64_t next_generation;
    size_t count;
};

void sa_table_init(struct sa_table *t);
struct dp_sa *sa_table_lookup(const struct sa_table *t, uint32_t spi_in);
struct dp_sa *sa_table_find_id(const struct sa_table *t, uint32_t id);
/* 0, or -1 when the id or the inbound SPI is already installed. */
int sa_table_insert(struct sa_table *t, struct dp_sa *sa);
/* Unlinks and returns the SA (the caller destroys it), or NULL. */
struct dp_sa *sa_table_remove(struct sa_table *t, uint32_t id);
/* Newest SA of the tunnel that is not dead, or NULL. */
struct dp_sa *sa_table_newest(const struct sa_table *t, int tunnel);

#endif
