/* Unix datagram sender for sd_notify and the journal's native protocol (notify.c). */
#ifndef CGWD_NOTIFY_H
#define CGWD_NOTIFY_H

#include <stddef.h>
#include <stdint.h>

/* Sends one datagram to a path or an '@' abstract name; 0 or an errno value. */
int unix_dgram_send(const char *path, const uint8_t *data, size_t len);

#endif
