#include "replay.h"

#include <string.h>

void replay_init(struct replay_window *w, uint32_t size) {
    memset(w, 0, sizeof(*w));
    if (size == 0) return;
    if (size > REPLAY_MAX_BITS) size = REPLAY_MAX_BITS;
    size = (size + 63u) & ~63u;
    w->size = size;
    w->words = size / 64u + 1u;
}

static inline uint64_t *word_of(struct replay_window *w, uint64_t seq) {
    return &w->bits[(seq >> 6) % w->words];
}

int replay_check(const struct replay_window *w, uint32_t seq) {
    if (seq == 0) return -1;
    if (w->size == 0) return 0;
    if (seq > w->top) return 0;
    if (w->top - seq >= w->size) return -1;
    uint64_t word = w->bits[((uint64_t)seq >> 6) % w->words];
    return (word >> (seq & 63u)) & 1u ? -1 : 0;
}

int replay_update(struct replay_window *w, uint32_t seq) {
    if (replay_check(w, seq) != 0) return -1;
    if (w->size == 0) {
        if (seq > w->top) w->top = seq;
        return 0;
    }
    if (seq > w->top) {
        uint64_t old_index = w->top >> 6, new_index = (uint64_t)seq >> 6;
        uint64_t diff = new_index - old_index;
        if (diff > w->words) diff = w->words;
        for (uint64_t i = 1; i <= diff; i++) w->bits[(old_index + i) % w->words] = 0;
        w->top = seq;
    }
    *word_of(w, seq) |= (uint64_t)1 << (seq & 63u);
    return 0;
}
