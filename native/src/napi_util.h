/* Small helpers for reading JavaScript values in the N-API glue. Each getter
 * returns 0 on success, 1 when the property is absent/undefined (and leaves the
 * default), -1 after throwing a TypeError naming the property. */
#ifndef CGWD_NAPI_UTIL_H
#define CGWD_NAPI_UTIL_H

#include <node_api.h>
#include <stddef.h>
#include <stdint.h>

#define NAPI_TRY(env, call)                                                                                            \
    do {                                                                                                               \
        if ((call) != napi_ok) {                                                                                       \
            napi_util_throw_last(env);                                                                                 \
            return NULL;                                                                                               \
        }                                                                                                              \
    } while (0)

/* The callback's arguments (argc, argv[n]) and `this` (self). */
#define ARGS(n)                                                                                                        \
    size_t argc = n;                                                                                                   \
    napi_value argv[n];                                                                                                \
    napi_value self;                                                                                                   \
    NAPI_TRY(env, napi_get_cb_info(env, info, &argc, argv, &self, NULL))

#define METHOD(name, fn) {name, NULL, fn, NULL, NULL, NULL, napi_default, NULL}

void napi_util_throw_last(napi_env env);
/* Throws an Error with a `code` property. */
void napi_util_throw(napi_env env, const char *code, const char *message);

int get_prop(napi_env env, napi_value obj, const char *name, napi_value *out);
int get_u32(napi_env env, napi_value obj, const char *name, uint32_t *out);
int get_i32(napi_env env, napi_value obj, const char *name, int32_t *out);
/* Non-negative integer up to 2^53. */
int get_u64(napi_env env, napi_value obj, const char *name, uint64_t *out);
int get_bool(napi_env env, napi_value obj, const char *name, int *out);
/* Copies into buf (NUL-terminated); too long is a TypeError. */
int get_string(napi_env env, napi_value obj, const char *name, char *buf, size_t cap);
/* Borrowed pointer into a Buffer/Uint8Array. */
int get_bytes(napi_env env, napi_value obj, const char *name, const uint8_t **data, size_t *len);
int value_bytes(napi_env env, napi_value v, const char *what, uint8_t **data, size_t *len);

napi_value make_u64(napi_env env, uint64_t v);
void set_named(napi_env env, napi_value obj, const char *name, napi_value v);
void set_u64(napi_env env, napi_value obj, const char *name, uint64_t v);
void set_str(napi_env env, napi_value obj, const char *name, const char *s);
void set_bool(napi_env env, napi_value obj, const char *name, int b);

#endif
