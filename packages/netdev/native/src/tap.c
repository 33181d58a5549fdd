/*
 * TAP devices for `internal` ports (the bridge's local port, odp port 0): the interface exists as
 * long as its file descriptor is open (not persistent), so a crashed daemon leaves nothing behind.
 * The host stack's transmissions are read from the fd; frames written to it are received by the
 * host stack. A TAP fd has no recvmmsg, so a batch is a loop of read()/write() in one call.
 *
 *   tapOpen(name) -> fd                            IFF_TAP | IFF_NO_PI, non-blocking; EPERM without
 *                                                  CAP_NET_ADMIN, EBUSY if the name is taken
 *   tapRecv(fd, data, offs, lens, n, cap) -> count | -errno   as recv() of packet_socket.c
 *   tapSend(fd, data, offs, lens, n, res) -> sent            as send(); EIO (interface down) is an error
 *   linkSetUp(name, up)                            sets or clears IFF_UP (CAP_NET_ADMIN)
 */
#include "util.h"

#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

static napi_value TapOpen(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  NAPI_OK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  char name[IFNAMSIZ + 1];
  if (tsvs_arg_str(env, argv[0], "name", name, sizeof name)) return NULL;
  int fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) return tsvs_throw_errno(env, errno, NULL);
  struct ifreq ifr;
  memset(&ifr, 0, sizeof ifr);
  ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
  memcpy(ifr.ifr_name, name, strnlen(name, IFNAMSIZ - 1));
  if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
    int e = errno;
    close(fd);
    return tsvs_throw_errno(env, e, NULL);
  }
  return tsvs_int(env, fd);
}

static int tap_args(napi_env env, napi_value *argv, int *fd, uint8_t **data, int32_t **offs, int32_t **lens, int *n,
                    size_t *dlen) {
  size_t olen, llen;
  int32_t n32;
  if (tsvs_arg_i32(env, argv[0], "fd", fd) ||
      tsvs_arg_typed(env, argv[1], "data", napi_uint8_array, (void **)data, dlen) ||
      tsvs_arg_typed(env, argv[2], "offs", napi_int32_array, (void **)offs, &olen) ||
      tsvs_arg_typed(env, argv[3], "lens", napi_int32_array, (void **)lens, &llen) ||
      tsvs_arg_i32(env, argv[4], "n", &n32))
    return -1;
  if (n32 < 0) n32 = 0;
  if (n32 > TSVS_MAX_BATCH) n32 = TSVS_MAX_BATCH;
  if ((size_t)n32 > olen || (size_t)n32 > llen) {
    napi_throw_range_error(env, NULL, "n is larger than offs or lens");
    return -1;
  }
  *n = n32;
  return 0;
}

static napi_value TapRecv(napi_env env, napi_callback_info info) {
  size_t argc = 6;
  napi_value argv[6];
  NAPI_OK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  int fd, n;
  uint8_t *data;
  int32_t *offs, *lens, cap;
  size_t dlen;
  if (tap_args(env, argv, &fd, &data, &offs, &lens, &n, &dlen) || tsvs_arg_i32(env, argv[5], "cap", &cap)) return NULL;
  int got = 0;
  while (got < n) {
    int32_t o = offs[got];
    if (o < 0 || cap < 14 || (size_t)o + (size_t)cap > dlen) {
      napi_throw_range_error(env, NULL, "tapRecv: a frame range lies outside data");
      return NULL;
    }
    ssize_t r = read(fd, data + o, (size_t)cap);
    if (r < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK || got > 0) break;
      return tsvs_int(env, -errno);
    }
    lens[got++] = (int32_t)r;
  }
  return tsvs_int(env, got);
}

static napi_value TapSend(napi_env env, napi_callback_info info) {
  size_t argc = 6;
  napi_value argv[6];
  NAPI_OK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  int fd, n;
  uint8_t *data;
  int32_t *offs, *lens, *res;
  size_t dlen, rlen;
  if (tap_args(env, argv, &fd, &data, &offs, &lens, &n, &dlen) ||
      tsvs_arg_typed(env, argv[5], "res", napi_int32_array, (void **)&res, &rlen))
    return NULL;
  if (rlen < 4) {
    napi_throw_range_error(env, NULL, "tapSend: res needs 4 elements");
    return NULL;
  }
  res[0] = res[1] = res[2] = res[3] = 0;
  int sent = 0;
  for (int i = 0; i < n; i++) {
    int32_t o = offs[i], l = lens[i];
    if (o < 0 || l < 0 || (size_t)o + (size_t)l > dlen) {
      napi_throw_range_error(env, NULL, "tapSend: a frame range lies outside data");
      return NULL;
    }
    ssize_t r;
    do r = write(fd, data + o, (size_t)l);
    while (r < 0 && errno == EINTR);
    if (r == (ssize_t)l) {
      sent++;
      res[3] += l;
      continue;
    }
    res[2] = r < 0 ? errno : EIO;
    if (r < 0 && (errno == EAGAIN || errno == ENOBUFS)) res[1]++;
    else res[0]++;
  }
  return tsvs_int(env, sent);
}

static napi_value LinkSetUp(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  NAPI_OK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  char name[IFNAMSIZ + 1];
  bool up = false;
  if (tsvs_arg_str(env, argv[0], "name", name, sizeof name)) return NULL;
  if (napi_get_value_bool(env, argv[1], &up) != napi_ok) {
    napi_throw_type_error(env, NULL, "argument up: expected a boolean");
    return NULL;
  }
  int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (s < 0) return tsvs_throw_errno(env, errno, NULL);
  struct ifreq ifr;
  memset(&ifr, 0, sizeof ifr);
  memcpy(ifr.ifr_name, name, strnlen(name, IFNAMSIZ - 1));
  int r = ioctl(s, SIOCGIFFLAGS, &ifr);
  if (r == 0) {
    if (up) ifr.ifr_flags |= IFF_UP;
    else ifr.ifr_flags &= ~IFF_UP;
    r = ioctl(s, SIOCSIFFLAGS, &ifr);
  }
  int e = errno;
  close(s);
  if (r < 0) return tsvs_throw_errno(env, e, NULL);
  return tsvs_undefined(env);
}

napi_status tsvs_init_tap(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
    TSVS_FN("tapOpen", TapOpen), TSVS_FN("tapRecv", TapRecv), TSVS_FN("tapSend", TapSend),
    TSVS_FN("linkSetUp", LinkSetUp),
  };
  return napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
}
