/*
 * cgwd data plane addon.
 *
 * This is the skeleton: it proves that the addon builds through node-gyp, loads
 * into Node, and links against the OpenSSL that Node itself ships (no second
 * crypto library). The ESP/TUN packet loop arrives with the data-plane issue.
 */
#include <node_api.h>
#include <openssl/crypto.h>
#include <openssl/opensslv.h>

static napi_value openssl_version(napi_env env, napi_callback_info info) {
    (void)info;
    napi_value result;
    const char *text = OpenSSL_version(OPENSSL_VERSION);
    if (napi_create_string_utf8(env, text, NAPI_AUTO_LENGTH, &result) != napi_ok) return NULL;
    return result;
}

static napi_value addon_abi(napi_env env, napi_callback_info info) {
    (void)info;
    napi_value result;
    if (napi_create_uint32(env, 1, &result) != napi_ok) return NULL;
    return result;
}

static napi_value init(napi_env env, napi_value exports) {
    napi_property_descriptor props[] = {
        {"opensslVersion", NULL, openssl_version, NULL, NULL, NULL, napi_enumerable, NULL},
        {"abiVersion", NULL, addon_abi, NULL, NULL, NULL, napi_enumerable, NULL},
    };
    if (napi_define_properties(env, exports, sizeof(props) / sizeof(props[0]), props) != napi_ok) return NULL;
    return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
