/*
 * Sleeping on file descriptors. A PMD sleeps on an Atomics doorbell (@tsvs/shm DoorbellBank), and
 * the kernel cannot ring one, so sockets wake PMDs through a watcher (src/system/watcher.ts): it
 * blocks in epollWait on every armed rxq fd (EPOLLIN | EPOLLONESHOT, re-armed by the PMD when it
 * goes to sleep) and rings the doorbell bound to the rxq. `poll` lets a thread sleep on fds directly
 * (benchmarks, a PMD whose rxqs are all sockets); an eventfd among the fds lets another thread wake it.
 *
 *   poll(fds: Int32Array, n, timeoutMs, revents: Int32Array) -> ready count (0 on timeout / EINTR)
 *   epollCreate() -> fd
 *   epollCtl(epfd, op, fd, events, token)     op: EPOLL_CTL_ADD / MOD / DEL; token is the event's data
 *   epollWait(epfd, tokens: Int32Array, max, timeoutMs) -> count; tokens[0..count) of the ready fds
 *   eventfd() -> fd (non-blocking);  eventfdWrite(fd) adds 1;  eventfdRead(fd) -> value (0 if none)
 *   constants: EPOLLIN, EPOLLONESHOT, EPOLLET, EPOLL_CTL_ADD, EPOLL_CTL_MOD, EPOLL_CTL_DEL, POLLIN
 */
#include "util.h"

#include <poll.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

static napi_value Poll(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  NAPI_OK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  int32_t *fds, *rev, n, timeout;
  size_t flen, rlen;
  if (tsvs_arg_typed(env, argv[0], "fds", napi_int32_array, (void **)&fds, &flen) ||
      tsvs_arg_i32(env, argv[1], "n", &n) || tsvs_arg_i32(env, argv[2], "timeoutMs", &timeout) ||
      tsvs_arg_typed(env, argv[3], "revents", napi_int32_array, (void **)&rev, &rlen))
    return NULL;
  if (n < 0 || n > 256 || (size_t)n > flen || (size_t)n > rlen) {
    napi_throw_range_error(env, NULL, "poll: bad n (0..256, at most the array lengths)");
    return NULL;
  }
  struct pollfd p[256];
  for (int i = 0; i < n; i++) {
    p[i].fd = fds[i];
    p[i].events = POLLIN;
    p[i].revents = 0;
  }
  int r = poll(p, (nfds_t)n, timeout);
  if (r < 0) {
    if (errno != EINTR) return tsvs_throw_errno(env, errno, "poll");
    r = 0;
  }
  for (int i = 0; i < n; i++) rev[i] = p[i].revents;
  return tsvs_int(env, r);
}

static napi_value EpollCreate(napi_env env, napi_callback_info info) {
  int fd = epoll_create1(EPOLL_CLOEXEC);
  if (fd < 0) return tsvs_throw_errno(env, errno, "epoll_create1");
  return tsvs_int(env, fd);
}

static napi_value EpollCtl(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value argv[5];
  NAPI_OK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  int32_t ep, op, fd, events, token;
  if (tsvs_arg_i32(env, argv[0], "epfd", &ep) || tsvs_arg_i32(env, argv[1], "op", &op) ||
      tsvs_arg_i32(env, argv[2], "fd", &fd) || tsvs_arg_i32(env, argv[3], "events", &events) ||
      tsvs_arg_i32(env, argv[4], "token", &token))
    return NULL;
  struct epoll_event ev;
  memset(&ev, 0, sizeof ev);
  ev.events = (uint32_t)events;
  ev.data.u64 = (uint32_t)token;
  if (epoll_ctl(ep, op, fd, &ev) < 0) return tsvs_throw_errno(env, errno, "epoll_ctl");
  return tsvs_undefined(env);
}

static napi_value EpollWait(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  NAPI_OK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  int32_t ep, max, timeout, *tokens;
  size_t tlen;
  if (tsvs_arg_i32(env, argv[0], "epfd", &ep) ||
      tsvs_arg_typed(env, argv[1], "tokens", napi_int32_array, (void **)&tokens, &tlen) ||
      tsvs_arg_i32(env, argv[2], "max", &max) || tsvs_arg_i32(env, argv[3], "timeoutMs", &timeout))
    return NULL;
  if (max < 1 || max > 256 || (size_t)max > tlen) {
    napi_throw_range_error(env, NULL, "epollWait: bad max (1..256, at most tokens.length)");
    return NULL;
  }
  struct epoll_event ev[256];
  int r = epoll_wait(ep, ev, max, timeout);
  if (r < 0) {
    if (errno != EINTR) return tsvs_throw_errno(env, errno, "epoll_wait");
    r = 0;
  }
  for (int i = 0; i < r; i++) tokens[i] = (int32_t)(uint32_t)ev[i].data.u64;
  return tsvs_int(env, r);
}

static napi_value EventfdNew(napi_env env, napi_callback_info info) {
  int fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (fd < 0) return tsvs_throw_errno(env, errno, "eventfd");
  return tsvs_int(env, fd);
}

static napi_value EventfdWrite(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  NAPI_OK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  int32_t fd;
  if (tsvs_arg_i32(env, argv[0], "fd", &fd)) return NULL;
  uint64_t one = 1;
  ssize_t r;
  do r = write(fd, &one, sizeof one);
  while (r < 0 && errno == EINTR);
  if (r < 0 && errno != EAGAIN) return tsvs_throw_errno(env, errno, "eventfd write");
  return tsvs_undefined(env);
}

static napi_value EventfdRead(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  NAPI_OK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  int32_t fd;
  if (tsvs_arg_i32(env, argv[0], "fd", &fd)) return NULL;
  uint64_t v = 0;
  ssize_t r;
  do r = read(fd, &v, sizeof v);
  while (r < 0 && errno == EINTR);
  if (r < 0) {
    if (errno == EAGAIN) return tsvs_int(env, 0);
    return tsvs_throw_errno(env, errno, "eventfd read");
  }
  return tsvs_int(env, (int64_t)v);
}

static napi_status def_const(napi_env env, napi_value exports, const char *name, int v) {
  return napi_set_named_property(env, exports, name, tsvs_int(env, v));
}

napi_status tsvs_init_waiting(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
    TSVS_FN("poll", Poll),       TSVS_FN("epollCreate", EpollCreate), TSVS_FN("epollCtl", EpollCtl),
    TSVS_FN("epollWait", EpollWait), TSVS_FN("eventfd", EventfdNew), TSVS_FN("eventfdWrite", EventfdWrite),
    TSVS_FN("eventfdRead", EventfdRead),
  };
  napi_status s = napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
  if (s != napi_ok) return s;
  if ((s = def_const(env, exports, "EPOLLIN", EPOLLIN)) != napi_ok) return s;
  if ((s = def_const(env, exports, "EPOLLONESHOT", (int)EPOLLONESHOT)) != napi_ok) return s;
  if ((s = def_const(env, exports, "EPOLLET", (int)EPOLLET)) != napi_ok) return s;
  if ((s = def_const(env, exports, "EPOLL_CTL_ADD", EPOLL_CTL_ADD)) != napi_ok) return s;
  if ((s = def_const(env, exports, "EPOLL_CTL_MOD", EPOLL_CTL_MOD)) != napi_ok) return s;
  if ((s = def_const(env, exports, "EPOLL_CTL_DEL", EPOLL_CTL_DEL)) != napi_ok) return s;
  return def_const(env, exports, "POLLIN", POLLIN);
}
