/*
 * Helpers shared by the addon's files: argument checks and errors.
 *
 * Every function of the addon is synchronous and keeps no per-environment state, so the module
 * can be loaded by any number of worker threads at once (context-aware: NAPI_MODULE_INIT) and
 * leaves nothing behind when a thread exits. Errors from the system are thrown as JS Errors whose
 * message is strerror(errno) and whose `code` is the errno name ("EPERM"); programming errors
 * (wrong argument types, offsets outside the buffer) are thrown as TypeError / RangeError.
 * Nothing on the per-packet paths (recv/send) throws for traffic conditions: those return counts.
 */
#ifndef TSVS_NETDEV_UTIL_H
#define TSVS_NETDEV_UTIL_H

#define _GNU_SOURCE
#include <node_api.h>
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* Most frames handled by one recv/send call (two NETDEV_MAX_BURSTs); larger n is clamped. */
#define TSVS_MAX_BATCH 64

#define NAPI_OK(call)                                                    \
  do {                                                                   \
    if ((call) != napi_ok) {                                             \
      return tsvs_rethrow(env);                                          \
    }                                                                    \
  } while (0)

napi_value tsvs_rethrow(napi_env env);
napi_value tsvs_throw_errno(napi_env env, int err, const char *what);
napi_value tsvs_int(napi_env env, int64_t v);
napi_value tsvs_undefined(napi_env env);

/* Argument readers: return 0 on success, else throw a TypeError and return -1. */
int tsvs_arg_i32(napi_env env, napi_value v, const char *name, int32_t *out);
int tsvs_arg_f64(napi_env env, napi_value v, const char *name, double *out);
int tsvs_arg_str(napi_env env, napi_value v, const char *name, char *buf, size_t cap);
/* A typed array of the given type; *data at its first element, *len in elements. */
int tsvs_arg_typed(napi_env env, napi_value v, const char *name, napi_typedarray_type type, void **data,
                   size_t *len);

/* Registration tables of the three source files (called by NAPI_MODULE_INIT). */
napi_status tsvs_init_packet_socket(napi_env env, napi_value exports);
napi_status tsvs_init_tap(napi_env env, napi_value exports);
napi_status tsvs_init_waiting(napi_env env, napi_value exports);
napi_status tsvs_init_thread(napi_env env, napi_value exports);

#define TSVS_FN(name, fn) { name, NULL, fn, NULL, NULL, NULL, napi_enumerable, NULL }

#endif
