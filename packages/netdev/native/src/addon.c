/*
 * tsvs_netdev: the native side of the `system` and `internal` ports (see packages/netdev/README.md).
 * Context-aware N-API module with only synchronous functions and no libuv handles, so a PMD worker
 * thread calls it straight from its loop and exits cleanly.
 */
#include "util.h"
#include <stdio.h>

napi_value tsvs_undefined(napi_env env) {
  napi_value u;
  napi_get_undefined(env, &u);
  return u;
}

napi_value tsvs_rethrow(napi_env env) {
  bool pending = false;
  napi_is_exception_pending(env, &pending);
  if (!pending) {
    const napi_extended_error_info *info = NULL;
    napi_get_last_error_info(env, &info);
    napi_throw_error(env, NULL, info && info->error_message ? info->error_message : "N-API call failed");
  }
  return NULL;
}

napi_value tsvs_throw_errno(napi_env env, int err, const char *what) {
  char msg[256];
  const char *name = strerrorname_np(err);
  if (what && *what) snprintf(msg, sizeof msg, "%s: %s", what, strerror(err));
  else snprintf(msg, sizeof msg, "%s", strerror(err));
  napi_value code, m, e, no;
  napi_create_string_utf8(env, name ? name : "EUNKNOWN", NAPI_AUTO_LENGTH, &code);
  napi_create_string_utf8(env, msg, NAPI_AUTO_LENGTH, &m);
  napi_create_error(env, code, m, &e);
  napi_create_int32(env, err, &no);
  napi_set_named_property(env, e, "errno", no);
  napi_value reason;
  napi_create_string_utf8(env, strerror(err), NAPI_AUTO_LENGTH, &reason);
  napi_set_named_property(env, e, "reason", reason);
  napi_throw(env, e);
  return NULL;
}

napi_value tsvs_int(napi_env env, int64_t v) {
  napi_value r;
  if (v >= INT32_MIN && v <= INT32_MAX) napi_create_int32(env, (int32_t)v, &r);
  else napi_create_int64(env, v, &r);
  return r;
}

static int type_error(napi_env env, const char *name, const char *want) {
  char msg[128];
  snprintf(msg, sizeof msg, "argument %s: expected %s", name, want);
  napi_throw_type_error(env, NULL, msg);
  return -1;
}

int tsvs_arg_i32(napi_env env, napi_value v, const char *name, int32_t *out) {
  if (napi_get_value_int32(env, v, out) != napi_ok) return type_error(env, name, "a number");
  return 0;
}

int tsvs_arg_f64(napi_env env, napi_value v, const char *name, double *out) {
  if (napi_get_value_double(env, v, out) != napi_ok) return type_error(env, name, "a number");
  return 0;
}

int tsvs_arg_str(napi_env env, napi_value v, const char *name, char *buf, size_t cap) {
  size_t len = 0;
  if (napi_get_value_string_utf8(env, v, buf, cap, &len) != napi_ok) return type_error(env, name, "a string");
  if (len + 1 >= cap) {
    char msg[128];
    snprintf(msg, sizeof msg, "argument %s: longer than %zu bytes", name, cap - 2);
    napi_throw_range_error(env, NULL, msg);
    return -1;
  }
  return 0;
}

int tsvs_arg_typed(napi_env env, napi_value v, const char *name, napi_typedarray_type type, void **data,
                   size_t *len) {
  bool is = false;
  napi_typedarray_type t;
  napi_value ab;
  size_t off;
  if (napi_is_typedarray(env, v, &is) != napi_ok || !is) goto bad;
  if (napi_get_typedarray_info(env, v, &t, len, data, &ab, &off) != napi_ok || t != type) goto bad;
  return 0;
bad:
  switch (type) {
    case napi_uint8_array: return type_error(env, name, "a Uint8Array");
    case napi_int32_array: return type_error(env, name, "an Int32Array");
    case napi_float64_array: return type_error(env, name, "a Float64Array");
    default: return type_error(env, name, "a typed array");
  }
}

NAPI_MODULE_INIT() {
  if (tsvs_init_packet_socket(env, exports) != napi_ok) return NULL;
  if (tsvs_init_tap(env, exports) != napi_ok) return NULL;
  if (tsvs_init_waiting(env, exports) != napi_ok) return NULL;
  if (tsvs_init_thread(env, exports) != napi_ok) return NULL;
  return exports;
}
