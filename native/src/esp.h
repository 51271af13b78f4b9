/*
 * ESP (RFC 4303) packet transforms for the suites AWS offers:
 * AES-128/256-CBC (RFC 3602) with HMAC-SHA1-96 (RFC 2404) or HMAC-SHA2
 * (RFC 4868), and AES-128/256-GCM with a 16-byte ICV (RFC 4106).
 *
 * One direction of an SA owns one EVP_CIPHER_CTX keyed once; per packet only
 * the IV is reset. HMAC uses one keyed EVP_MAC_CTX re-initialised per packet
 * with a NULL key (OpenSSL keeps the key). Buffers are transformed in place.
 *
 * Outbound layout (the caller reserves ESP_PREFIX bytes before the inner
 * packet and ESP_SUFFIX after it):
 *
 *   | ... | SPI | seq | IV | inner packet | padding | pad len | next hdr | ICV |
 *               ^esp                      1, 2, 3, ...
 */
#ifndef CGWD_ESP_H
#define CGWD_ESP_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#define ESP_HDR 8
#define ESP_MAX_IV 16
#define ESP_MAX_ICV 32
#define ESP_PREFIX (ESP_HDR + ESP_MAX_IV)
#define ESP_SUFFIX (15 + 2 + ESP_MAX_ICV)
#define ESP_NH_IPV4 4
#define ESP_NH_IPV6 41
#define ESP_NH_DUMMY 59

struct esp_suite {
    const char *enc_name;    /* 'aes128-gcm16', ... (as in src/crypto/transforms.ts) */
    const char *integ_name;  /* 'hmac-sha1-96', ... or NULL for AEAD */
    const EVP_CIPHER *cipher;
    const char *digest;      /* HMAC digest name, NULL for AEAD */
    uint8_t aead;
    uint8_t key_len;         /* cipher key bytes (without the GCM salt) */
    uint8_t salt_len;        /* 4 for GCM */
    uint8_t iv_len;          /* explicit IV in the packet */
    uint8_t align;           /* padding alignment: cipher block, at least 4 */
    uint8_t icv_len;
    uint8_t integ_key_len;
};

/* Fills `out` for the named transforms. 0 on success, -1 when unknown or
 * inconsistent (AEAD with integrity, CBC without). */
int esp_suite_lookup(const char *enc, const char *integ, struct esp_suite *out);

/* One direction of an SA. */
struct esp_dir {
    EVP_CIPHER_CTX *cipher;
    EVP_MAC_CTX *mac;
    uint8_t salt[4];
    int iv_counting; /* GCM encryption: OpenSSL's nonce counter is at the next sequence number (esp.c) */
};

/* Keys the contexts. enc_key: key (+ salt for GCM). 0 or -1 (OpenSSL failure). */
int esp_dir_init(struct esp_dir *d, const struct esp_suite *s, const uint8_t *enc_key, size_t enc_len,
                 const uint8_t *integ_key, size_t integ_len, int encrypt);
void esp_dir_free(struct esp_dir *d);

/* Random IVs for CBC, drawn from RAND_bytes in batches. */
struct iv_pool {
    size_t pos;
    uint8_t bytes[4096];
};
void iv_pool_init(struct iv_pool *p);

/* Size of the ESP packet (from SPI to ICV) for an inner packet of `len` bytes. */
size_t esp_packet_size(const struct esp_suite *s, size_t len);

/* Largest inner packet whose ESP-in-UDP-in-IPv4 datagram fits in `path_mtu`. */
size_t esp_max_inner(const struct esp_suite *s, size_t path_mtu);

/* Encapsulates the inner packet at buf + ESP_PREFIX (len bytes). Returns the
 * ESP packet length and sets *esp to its first byte; 0 on a crypto failure.
 * GCM uses the 64-bit sequence number as its explicit IV. */
size_t esp_encap(const struct esp_suite *s, struct esp_dir *d, struct iv_pool *ivs, uint32_t spi, uint64_t seq,
                 uint8_t next_header, uint8_t *buf, size_t len, uint8_t **esp);

enum esp_status {
    ESP_OK = 0,
    ESP_MALFORMED,   /* too short, or ciphertext not a whole number of blocks */
    ESP_ICV,         /* authentication failed */
    ESP_BAD_PADDING, /* pad length too long or padding bytes not 1, 2, 3, ... */
};

/* Verifies and decrypts pkt (SPI .. ICV, len bytes) in place. On ESP_OK,
 * *payload points at the decrypted payload (inner packet, padding, pad length,
 * next header) of *payload_len bytes. */
enum esp_status esp_decrypt(const struct esp_suite *s, struct esp_dir *d, uint8_t *pkt, size_t len, uint8_t **payload,
                            size_t *payload_len);

/* Checks the trailer of a decrypted payload: *inner_len = bytes before the padding. */
enum esp_status esp_trailer(const uint8_t *payload, size_t payload_len, size_t *inner_len, uint8_t *next_header);

#endif
