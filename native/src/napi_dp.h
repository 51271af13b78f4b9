/* N-API conversions that the production addon (addon.c) and the testing addon
 * (testing_addon.c) share. Errors throw with code DP_BAD_ARG. */
#ifndef CGWD_NAPI_DP_H
#define CGWD_NAPI_DP_H

#include <node_api.h>
#include <stdint.h>

#include "counters.h"
#include "sa.h"

/* Dotted quad to network order; 0, or -1 after throwing (naming `what`). */
int parse_ipv4(napi_env env, const char *text, const char *what, uint32_t *out);
/* An SA from its JavaScript spec (NativeSaSpec in src/native/addon.ts); NULL after throwing. */
struct dp_sa *create_sa(napi_env env, napi_value spec);
/* { replay: n, icv: n, ... } keyed by drop_reason_name. */
napi_value drops_obj(napi_env env, const uint64_t *drops);
/* packetsIn, bytesIn, packetsOut, bytesOut and drops onto o. */
void set_traffic(napi_env env, napi_value o, const struct dp_traffic *t);
/* enum sa_expiry_reason as JavaScript names it. */
const char *reason_name(int reason);

#endif
