#include "napi_util.h"

#include <stdio.h>
#include <string.h>

void napi_util_throw_last(napi_env env) {
    bool pending = false;
    napi_is_exception_pending(env, &pending);
    if (pending) return;
    const napi_extended_error_info *info = NULL;
    napi_get_last_error_info(env, &info);
    napi_throw_error(env, "DP_NAPI", info && info->error_message ? info->error_message : "N-API call failed");
}

void napi_util_throw(napi_env env, const char *code, const char *message) {
    bool pending = false;
    napi_is_exception_pending(env, &pending);
    if (pending) return;
    napi_throw_error(env, code, message);
}

static int type_error(napi_env env, const char *name, const char *expected) {
    char msg[160];
    snprintf(msg, sizeof(msg), "%s must be %s", name, expected);
    bool pending = false;
    napi_is_exception_pending(env, &pending);
    if (!pending) napi_throw_type_error(env, "DP_BAD_ARG", msg);
    return -1;
}

int get_prop(napi_env env, napi_value obj, const char *name, napi_value *out) {
    bool has = false;
    if (napi_has_named_property(env, obj, name, &has) != napi_ok) return type_error(env, "options", "an object");
    if (!has) return 1;
    if (napi_get_named_property(env, obj, name, out) != napi_ok) return type_error(env, name, "readable");
    napi_valuetype t;
    napi_typeof(env, *out, &t);
    return t == napi_undefined || t == napi_null ? 1 : 0;
}

static int get_number(napi_env env, napi_value obj, const char *name, double *out) {
    napi_value v;
    int r = get_prop(env, obj, name, &v);
    if (r) return r;
    napi_valuetype t;
    napi_typeof(env, v, &t);
    if (t != napi_number) return type_error(env, name, "a number");
    napi_get_value_double(env, v, out);
    return 0;
}

int get_u32(napi_env env, napi_value obj, const char *name, uint32_t *out) {
    double d;
    int r = get_number(env, obj, name, &d);
    if (r) return r;
    if (!(d >= 0 && d <= 4294967295.0) || d != (double)(uint32_t)d) return type_error(env, name, "a 32-bit unsigned integer");
    *out = (uint32_t)d;
    return 0;
}

int get_i32(napi_env env, napi_value obj, const char *name, int32_t *out) {
    double d;
    int r = get_number(env, obj, name, &d);
    if (r) return r;
    if (!(d >= -2147483648.0 && d <= 2147483647.0) || d != (double)(int32_t)d) return type_error(env, name, "an integer");
    *out = (int32_t)d;
    return 0;
}

int get_u64(napi_env env, napi_value obj, const char *name, uint64_t *out) {
    double d;
    int r = get_number(env, obj, name, &d);
    if (r) return r;
    if (!(d >= 0 && d <= 9007199254740992.0) || d != (double)(uint64_t)d) return type_error(env, name, "a non-negative integer");
    *out = (uint64_t)d;
    return 0;
}

int get_bool(napi_env env, napi_value obj, const char *name, int *out) {
    napi_value v;
    int r = get_prop(env, obj, name, &v);
    if (r) return r;
    bool b;
    if (napi_get_value_bool(env, v, &b) != napi_ok) return type_error(env, name, "a boolean");
    *out = b;
    return 0;
}

int get_string(napi_env env, napi_value obj, const char *name, char *buf, size_t cap) {
    napi_value v;
    int r = get_prop(env, obj, name, &v);
    if (r) return r;
    size_t len = 0;
    if (napi_get_value_string_utf8(env, v, NULL, 0, &len) != napi_ok) return type_error(env, name, "a string");
    if (len + 1 > cap) return type_error(env, name, "a shorter string");
    napi_get_value_string_utf8(env, v, buf, cap, &len);
    return 0;
}

int value_bytes(napi_env env, napi_value v, const char *what, uint8_t **data, size_t *len) {
    bool is = false;
    napi_is_buffer(env, v, &is);
    if (is) {
        void *p;
        if (napi_get_buffer_info(env, v, &p, len) != napi_ok) return type_error(env, what, "a Buffer");
        *data = p;
        return 0;
    }
    napi_is_typedarray(env, v, &is);
    if (is) {
        napi_typedarray_type type;
        size_t length, offset;
        void *p;
        napi_value ab;
        if (napi_get_typedarray_info(env, v, &type, &length, &p, &ab, &offset) != napi_ok || type != napi_uint8_array)
            return type_error(env, what, "a Uint8Array");
        *data = p;
        *len = length;
        return 0;
    }
    return type_error(env, what, "a Buffer");
}

int get_bytes(napi_env env, napi_value obj, const char *name, const uint8_t **data, size_t *len) {
    napi_value v;
    int r = get_prop(env, obj, name, &v);
    if (r) return r;
    uint8_t *p;
    if (value_bytes(env, v, name, &p, len) != 0) return -1;
    *data = p;
    return 0;
}

napi_value make_u64(napi_env env, uint64_t v) {
    napi_value out;
    napi_create_double(env, (double)v, &out);
    return out;
}

void set_named(napi_env env, napi_value obj, const char *name, napi_value v) { napi_set_named_property(env, obj, name, v); }

void set_u64(napi_env env, napi_value obj, const char *name, uint64_t v) { set_named(env, obj, name, make_u64(env, v)); }

void set_str(napi_env env, napi_value obj, const char *name, const char *s) {
    napi_value v;
    if (s)
        napi_create_string_utf8(env, s, NAPI_AUTO_LENGTH, &v);
    else
        napi_get_null(env, &v);
    set_named(env, obj, name, v);
}

void set_bool(napi_env env, napi_value obj, const char *name, int b) {
    napi_value v;
    napi_get_boolean(env, b != 0, &v);
    set_named(env, obj, name, v);
}
