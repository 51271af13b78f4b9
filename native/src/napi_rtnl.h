#ifndef CGWD_NAPI_RTNL_H
#define CGWD_NAPI_RTNL_H
#include <node_api.h>
napi_value rtnl_route_batch_js(napi_env env, napi_callback_info info);
#endif
