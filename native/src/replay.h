/*
 * ESP anti-replay window (RFC 4303 §3.4.3 and Appendix A), laid out as in
 * RFC 6479: a ring of 64-bit words, one more word than the window needs, so
 * sliding the window clears whole words and never shifts bits.
 *
 * Use: replay_check() before the ICV is verified (cheap, rejects duplicates
 * and packets left of the window), replay_update() only after it verified.
 * Sequence numbers are 32-bit (no ESN); 0 is never valid.
 */
#ifndef CGWD_REPLAY_H
#define CGWD_REPLAY_H

#include <stdint.h>

#define REPLAY_MAX_BITS 4096

struct replay_window {
    uint32_t size;  /* window in bits, a multiple of 64; 0 = replay protection off */
    uint32_t words; /* size / 64 + 1 */
    uint64_t top;   /* highest authenticated sequence number, 0 = none yet */
    uint64_t bits[REPLAY_MAX_BITS / 64 + 1];
};

/* size: requested window in bits; rounded up to a multiple of 64, capped at REPLAY_MAX_BITS. */
void replay_init(struct replay_window *w, uint32_t size);

/* 0: acceptable; -1: replayed or too old (or seq 0). */
int replay_check(const struct replay_window *w, uint32_t seq);

/* Records an authenticated sequence number. 0 on success, -1 when it turned
 * out to be a replay after all (same checks as replay_check). */
int replay_update(struct replay_window *w, uint32_t seq);

#endif
