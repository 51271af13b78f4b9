#include "esp.h"

#include <pthread.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/params.h>
#include <openssl/rand.h>

/* Algorithms are fetched once per process; fetched objects are shared and immutable. */
static pthread_once_t fetch_once = PTHREAD_ONCE_INIT;
static EVP_CIPHER *cipher_aes128_cbc, *cipher_aes256_cbc, *cipher_aes128_gcm, *cipher_aes256_gcm;
static EVP_MAC *mac_hmac;

static void fetch_algorithms(void) {
    cipher_aes128_cbc = EVP_CIPHER_fetch(NULL, "AES-128-CBC", NULL);
    cipher_aes256_cbc = EVP_CIPHER_fetch(NULL, "AES-256-CBC", NULL);
    cipher_aes128_gcm = EVP_CIPHER_fetch(NULL, "AES-128-GCM", NULL);
    cipher_aes256_gcm = EVP_CIPHER_fetch(NULL, "AES-256-GCM", NULL);
    mac_hmac = EVP_MAC_fetch(NULL, "HMAC", NULL);
}

static inline void wr32(uint8_t *p, uint32_t v) {
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

int esp_suite_lookup(const char *enc, const char *integ, struct esp_suite *out) {
    pthread_once(&fetch_once, fetch_algorithms);
    memset(out, 0, sizeof(*out));
    if (!enc) return -1;
    if (!strcmp(enc, "aes128-cbc") || !strcmp(enc, "aes256-cbc")) {
        int big = enc[3] == '2';
        out->enc_name = big ? "aes256-cbc" : "aes128-cbc";
        out->cipher = big ? cipher_aes256_cbc : cipher_aes128_cbc;
        out->key_len = big ? 32 : 16;
        out->iv_len = 16;
        out->align = 16;
        if (!integ) return -1;
        if (!strcmp(integ, "hmac-sha1-96")) {
            out->integ_name = "hmac-sha1-96";
            out->digest = "SHA1";
            out->integ_key_len = 20;
            out->icv_len = 12;
        } else if (!strcmp(integ, "hmac-sha256-128")) {
            out->integ_name = "hmac-sha256-128";
            out->digest = "SHA256";
            out->integ_key_len = 32;
            out->icv_len = 16;
        } else if (!strcmp(integ, "hmac-sha384-192")) {
            out->integ_name = "hmac-sha384-192";
            out->digest = "SHA384";
            out->integ_key_len = 48;
            out->icv_len = 24;
        } else if (!strcmp(integ, "hmac-sha512-256")) {
            out->integ_name = "hmac-sha512-256";
            out->digest = "SHA512";
            out->integ_key_len = 64;
            out->icv_len = 32;
        } else {
            return -1;
        }
        if (!mac_hmac) return -1;
    } else if (!strcmp(enc, "aes128-gcm16") || !strcmp(enc, "aes256-gcm16")) {
        int big = enc[3] == '2';
        if (integ) return -1;
        out->enc_name = big ? "aes256-gcm16" : "aes128-gcm16";
        out->cipher = big ? cipher_aes256_gcm : cipher_aes128_gcm;
        out->aead = 1;
        out->key_len = big ? 32 : 16;
        out->salt_len = 4;
        out->iv_len = 8;
        out->align = 4;
        out->icv_len = 16;
    } else {
        return -1;
    }
    return out->cipher ? 0 : -1;
}

int esp_dir_init(struct esp_dir *d, const struct esp_suite *s, const uint8_t *enc_key, size_t enc_len,
                 const uint8_t *integ_key, size_t integ_len, int encrypt) {
    memset(d, 0, sizeof(*d));
    if (enc_len != (size_t)s->key_len + s->salt_len) return -1;
    if (!s->aead && integ_len != s->integ_key_len) return -1;
    d->cipher = EVP_CIPHER_CTX_new();
    if (!d->cipher) goto fail;
    if (EVP_CipherInit_ex(d->cipher, s->cipher, NULL, enc_key, NULL, encrypt) != 1) goto fail;
    if (s->aead) {
        memcpy(d->salt, enc_key + s->key_len, 4);
        if (!encrypt) {
            /* Decryption: the salt is the nonce's fixed part (RFC 4106 §4) once; each packet
             * then sets only its 8 explicit IV bytes (esp_decrypt). No re-init per packet. */
            OSSL_PARAM fixed[2];
            fixed[0] = OSSL_PARAM_construct_octet_string(OSSL_CIPHER_PARAM_AEAD_TLS1_IV_FIXED, d->salt, 4);
            fixed[1] = OSSL_PARAM_construct_end();
            if (EVP_CIPHER_CTX_set_params(d->cipher, fixed) != 1) goto fail;
        }
    } else {
        EVP_CIPHER_CTX_set_padding(d->cipher, 0);
        d->mac = EVP_MAC_CTX_new(mac_hmac);
        if (!d->mac) goto fail;
        OSSL_PARAM params[2];
        params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)s->digest, 0);
        params[1] = OSSL_PARAM_construct_end();
        if (EVP_MAC_init(d->mac, integ_key, integ_len, params) != 1) goto fail;
    }
    return 0;
fail:
    esp_dir_free(d);
    return -1;
}

void esp_dir_free(struct esp_dir *d) {
    if (d->cipher) EVP_CIPHER_CTX_free(d->cipher);
    if (d->mac) EVP_MAC_CTX_free(d->mac);
    OPENSSL_cleanse(d, sizeof(*d));
}

void iv_pool_init(struct iv_pool *p) { p->pos = sizeof(p->bytes); }

static int iv_take(struct iv_pool *p, uint8_t *out, size_t n) {
    if (p->pos + n > sizeof(p->bytes)) {
        if (RAND_bytes(p->bytes, (int)sizeof(p->bytes)) != 1) return -1;
        p->pos = 0;
    }
    memcpy(out, p->bytes + p->pos, n);
    p->pos += n;
    return 0;
}

size_t esp_packet_size(const struct esp_suite *s, size_t len) {
    size_t padded = (len + 2 + s->align - 1) / s->align * s->align;
    return ESP_HDR + s->iv_len + padded + s->icv_len;
}

size_t esp_max_inner(const struct esp_suite *s, size_t path_mtu) {
    size_t fixed = 20 + 8 + ESP_HDR + s->iv_len + s->icv_len;
    if (path_mtu < fixed + s->align + 2) return 0;
    return (path_mtu - fixed) / s->align * s->align - 2;
}

static int hmac(EVP_MAC_CTX *mac, const uint8_t *data, size_t len, uint8_t *out, size_t icv_len) {
    uint8_t full[EVP_MAX_MD_SIZE];
    size_t full_len = 0;
    if (EVP_MAC_init(mac, NULL, 0, NULL) != 1) return -1;
    if (EVP_MAC_update(mac, data, len) != 1) return -1;
    if (EVP_MAC_final(mac, full, &full_len, sizeof(full)) != 1 || full_len < icv_len) return -1;
    memcpy(out, full, icv_len);
    return 0;
}

/* GCM encryption's nonce for `seq`: salt || seq (RFC 4106 §3.1: unique per packet; the sequence
 * number is). OpenSSL keeps the nonce and counts its last 8 bytes up after each use (the
 * generator TLS uses): one parameter call a packet instead of a re-init with the nonce, which
 * in OpenSSL 3.0 asks the provider for the IV length every time (174 instructions a packet
 * fewer: `cgwd lab bench --esp-only`). The first packet of an SA, or one after a sequence number
 * was skipped, restarts the counter at `seq` (length -1: the whole nonce), so the IV on the
 * wire is always the sequence number. */
static int gcm_next_iv(struct esp_dir *d, uint64_t seq, uint8_t iv[8]) {
    uint8_t want[8];
    wr32(want, (uint32_t)(seq >> 32));
    wr32(want + 4, (uint32_t)seq);
    OSSL_PARAM gen[2];
    gen[0] = OSSL_PARAM_construct_octet_string(OSSL_CIPHER_PARAM_AEAD_TLS1_GET_IV_GEN, iv, 8);
    gen[1] = OSSL_PARAM_construct_end();
    if (d->iv_counting && EVP_CIPHER_CTX_get_params(d->cipher, gen) == 1 && memcmp(iv, want, 8) == 0) return 0;
    uint8_t nonce[12];
    memcpy(nonce, d->salt, 4);
    memcpy(nonce + 4, want, 8);
    d->iv_counting = 0;
    if (EVP_CIPHER_CTX_ctrl(d->cipher, EVP_CTRL_GCM_SET_IV_FIXED, -1, nonce) != 1) return -1;
    if (EVP_CIPHER_CTX_get_params(d->cipher, gen) != 1 || memcmp(iv, want, 8) != 0) return -1;
    d->iv_counting = 1;
    return 0;
}

size_t esp_encap(const struct esp_suite *s, struct esp_dir *d, struct iv_pool *ivs, uint32_t spi, uint64_t seq,
                 uint8_t next_header, uint8_t *buf, size_t len, uint8_t **esp_out) {
    uint8_t *inner = buf + ESP_PREFIX;
    uint8_t *esp = inner - s->iv_len - ESP_HDR;
    uint8_t *iv = esp + ESP_HDR;
    size_t padded = (len + 2 + s->align - 1) / s->align * s->align;
    size_t pad = padded - len - 2;
    for (size_t i = 0; i < pad; i++) inner[len + i] = (uint8_t)(i + 1);
    inner[len + pad] = (uint8_t)pad;
    inner[len + pad + 1] = next_header;
    wr32(esp, spi);
    wr32(esp + 4, (uint32_t)seq);
    int out_len = 0, final_len = 0;
    if (s->aead) {
        if (gcm_next_iv(d, seq, iv) != 0) return 0;
        if (EVP_EncryptUpdate(d->cipher, NULL, &out_len, esp, ESP_HDR) != 1) return 0;
        if (EVP_EncryptUpdate(d->cipher, inner, &out_len, inner, (int)padded) != 1) return 0;
        if (EVP_EncryptFinal_ex(d->cipher, inner + out_len, &final_len) != 1) return 0;
        OSSL_PARAM tag[2];
        tag[0] = OSSL_PARAM_construct_octet_string(OSSL_CIPHER_PARAM_AEAD_TAG, inner + padded, s->icv_len);
        tag[1] = OSSL_PARAM_construct_end();
        if (EVP_CIPHER_CTX_get_params(d->cipher, tag) != 1) return 0;
    } else {
        if (iv_take(ivs, iv, s->iv_len) != 0) return 0;
        if (EVP_EncryptInit_ex(d->cipher, NULL, NULL, NULL, iv) != 1) return 0;
        if (EVP_EncryptUpdate(d->cipher, inner, &out_len, inner, (int)padded) != 1) return 0;
        if ((size_t)out_len != padded) return 0;
        if (hmac(d->mac, esp, ESP_HDR + s->iv_len + padded, inner + padded, s->icv_len) != 0) return 0;
    }
    *esp_out = esp;
    return ESP_HDR + s->iv_len + padded + s->icv_len;
}

enum esp_status esp_decrypt(const struct esp_suite *s, struct esp_dir *d, uint8_t *pkt, size_t len, uint8_t **payload,
                            size_t *payload_len) {
    size_t overhead = ESP_HDR + (size_t)s->iv_len + s->icv_len;
    if (len < overhead + 2) return ESP_MALFORMED;
    size_t ct_len = len - overhead;
    uint8_t *iv = pkt + ESP_HDR;
    uint8_t *ct = iv + s->iv_len;
    uint8_t *icv = ct + ct_len;
    int out_len = 0, final_len = 0;
    if (s->aead) {
        /* One parameter call per packet instead of a re-init and a control call (624
         * instructions a packet fewer on OpenSSL 3.0: `cgwd lab bench --esp-only`): the
         * expected tag, and the explicit IV after the salt set in esp_dir_init. */
        OSSL_PARAM per_packet[3];
        per_packet[0] = OSSL_PARAM_construct_octet_string(OSSL_CIPHER_PARAM_AEAD_TAG, icv, s->icv_len);
        per_packet[1] = OSSL_PARAM_construct_octet_string(OSSL_CIPHER_PARAM_AEAD_TLS1_SET_IV_INV, iv, 8);
        per_packet[2] = OSSL_PARAM_construct_end();
        if (EVP_CIPHER_CTX_set_params(d->cipher, per_packet) != 1) return ESP_ICV;
        if (EVP_DecryptUpdate(d->cipher, NULL, &out_len, pkt, ESP_HDR) != 1) return ESP_ICV;
        if (EVP_DecryptUpdate(d->cipher, ct, &out_len, ct, (int)ct_len) != 1) return ESP_ICV;
        if (EVP_DecryptFinal_ex(d->cipher, ct + out_len, &final_len) != 1) return ESP_ICV;
    } else {
        if (ct_len % s->align != 0) return ESP_MALFORMED;
        uint8_t expected[ESP_MAX_ICV];
        if (hmac(d->mac, pkt, len - s->icv_len, expected, s->icv_len) != 0) return ESP_ICV;
        if (CRYPTO_memcmp(expected, icv, s->icv_len) != 0) return ESP_ICV;
        if (EVP_DecryptInit_ex(d->cipher, NULL, NULL, NULL, iv) != 1) return ESP_ICV;
        if (EVP_DecryptUpdate(d->cipher, ct, &out_len, ct, (int)ct_len) != 1) return ESP_ICV;
        if ((size_t)out_len != ct_len) return ESP_ICV;
    }
    *payload = ct;
    *payload_len = ct_len;
    return ESP_OK;
}

enum esp_status esp_trailer(const uint8_t *payload, size_t payload_len, size_t *inner_len, uint8_t *next_header) {
    if (payload_len < 2) return ESP_MALFORMED;
    size_t pad = payload[payload_len - 2];
    if (pad + 2 > payload_len) return ESP_BAD_PADDING;
    size_t inner = payload_len - 2 - pad;
    for (size_t i = 0; i < pad; i++)
        if (payload[inner + i] != (uint8_t)(i + 1)) return ESP_BAD_PADDING;
    *inner_len = inner;
    *next_header = payload[payload_len - 1];
    return ESP_OK;
}
