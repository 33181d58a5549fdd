/*
 * AF_PACKET sockets of a `system` port: receive sockets (one per rxq, joined in a PACKET_FANOUT
 * group in hash or cpu mode when there are several), transmit-only sockets (one per txq), batched
 * receive from a PACKET_RX_RING (rx_ring.c) or recvmmsg into the packet pool's SharedArrayBuffer, send from it through a PACKET_TX_RING
 * (tx_ring.c) or sendmmsg, kernel drop
 * counters (PACKET_STATISTICS) and interface facts (ifindex, MTU, flags).
 *
 * JS-facing functions (all synchronous):
 *   openRx(ifname, fanoutId, rcvbuf, ringFrames = 0, ringCap = 0, cpuFanout = 0) -> [fd, fanoutId]
 *       fanoutId -1: no fanout group; -2: create a group with a kernel-chosen unique id (returned;
 *       it may be 0); 0..65535: join that group. The group's mode is PACKET_FANOUT_HASH (a flow
 *       stays on one socket), or with cpuFanout 1 PACKET_FANOUT_CPU: the frame goes to member
 *       (receiving CPU % members), members numbered in the order they joined; on a veth the
 *       receiving CPU is the sender's. rcvbuf > 0: SO_RCVBUFFORCE (falls back to SO_RCVBUF).
 *       ringFrames > 0: frames arrive through a PACKET_RX_RING of that many frames, each holding
 *       ringCap bytes (rx_ring.c), or through recvmmsg where the kernel refuses the ring. Throws an
 *       errno Error (EPERM without CAP_NET_RAW, ENODEV for a missing interface).
 *   rxRing(fd) -> frames                  frames of fd's RX ring, 0 when it is read with recvmmsg.
 *   rxRingView(fd) -> [ring, head] | null fd's RX ring and its head index as memory (rx_ring.c: peek).
 *   openTx(ifname, ringFrames = 0) -> fd  a socket bound to the interface with protocol 0: it sends
 *                                         and never receives. ringFrames > 0: it sends through a
 *                                         PACKET_TX_RING of that many 2 KiB frames (rounded up to
 *                                         32; tx_ring.c), or with sendmmsg where the kernel refuses
 *                                         the ring.
 *   txRing(fd) -> frames                  frames of fd's TX ring, 0 when it sends with sendmmsg.
 *   recv(fd, data: Uint8Array, offs: Int32Array, lens: Int32Array, n, cap) -> count | -errno
 *       up to n frames (from the RX ring, or with recvmmsg), frame i into data[offs[i] .. offs[i] + cap). lens[i] = the
 *       frame's length; a frame longer than cap has lens[i] > cap (truncated copy: an rx error for
 *       the caller). A VLAN tag the kernel moved out of the frame (PACKET_AUXDATA) is put back in
 *       front of the EtherType by moving the MAC addresses 4 bytes down: then offs[i] -= 4 (the
 *       caller's headroom must be >= 4). 0 when nothing is queued (EAGAIN).
 *   send(fd, data, offs, lens, n, res: Int32Array(4)) -> sent
 *       frames data[offs[i] .. + lens[i]) with one send() through the TX ring, or with sendmmsg;
 *       res = [errors, drops, last errno, bytes sent]. A frame the kernel refuses (EMSGSIZE:
 *       longer than the MTU allows, ENETDOWN ...) is an error and skipped; a full device queue
 *       (ENOBUFS / EAGAIN) or a TX ring whose frames are all in flight drops the rest of the batch.
 *   stats(fd, out: Float64Array(2))       adds PACKET_STATISTICS [tp_packets, tp_drops] since the
 *                                         previous call (the kernel resets them on read) to out.
 *   ifInfo(ifname) -> [ifindex, mtu, flags]   (no privileges needed; throws ENODEV)
 *   close(fd)
 */
#include "rx_ring.h"
#include "tx_ring.h"
#include "util.h"

#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

/* Missing from Debian 12's linux/if_packet.h (Linux 4.20+): a fanout group ignores PACKET_OUTGOING. */
#ifndef PACKET_FANOUT_FLAG_IGNORE_OUTGOING
#define PACKET_FANOUT_FLAG_IGNORE_OUTGOING 0x4000
#endif
#ifndef PACKET_IGNORE_OUTGOING
#define PACKET_IGNORE_OUTGOING 23
#endif

static int if_index_of(const char *name) {
  unsigned idx = if_nametoindex(name);
  if (idx == 0) errno = ENODEV;
  return (int)idx;
}

static int fail_close(int fd, int err) {
  tsvs_ring_release(fd);
  close(fd);
  errno = err;
  return -1;
}

static int bind_to(int fd, int ifindex, int proto) {
  struct sockaddr_ll sll;
  memset(&sll, 0, sizeof sll);
  sll.sll_family = AF_PACKET;
  sll.sll_protocol = htons(proto);
  sll.sll_ifindex = ifindex;
  return bind(fd, (struct sockaddr *)&sll, sizeof sll);
}

/* Returns the fd (and the group id in *group) or -1 with errno. */
static int open_rx(const char *ifname, int fanout, int rcvbuf, int ring, int cap, int cpu_mode, int *group) {
  /* Protocol 0 at creation: the socket receives nothing until bind() names the interface, so it
   * never sees another interface's frames. */
  int fd = socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  int ifindex = if_index_of(ifname);
  if (ifindex == 0) return fail_close(fd, ENODEV);
  /* Before bind and fanout (a socket in a fanout group cannot get a ring). A kernel that refuses
   * the ring leaves a socket read with recvmmsg. */
  if (ring > 0) (void)tsvs_rx_ring_setup(fd, ring, cap);
  int one = 1;
  if (setsockopt(fd, SOL_PACKET, PACKET_AUXDATA, &one, sizeof one) < 0) return fail_close(fd, errno);
  /* Own transmissions: PACKET_IGNORE_OUTGOING for a lone socket, the fanout flag below for a group
   * (a fanout member's own hook is not used, so its per-socket flag would not apply). */
  (void)setsockopt(fd, SOL_PACKET, PACKET_IGNORE_OUTGOING, &one, sizeof one);
  if (rcvbuf > 0 && setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof rcvbuf) < 0)
    (void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
  if (bind_to(fd, ifindex, ETH_P_ALL) < 0) return fail_close(fd, errno);
  struct packet_mreq mr;
  memset(&mr, 0, sizeof mr);
  mr.mr_ifindex = ifindex;
  mr.mr_type = PACKET_MR_PROMISC;
  if (setsockopt(fd, SOL_PACKET, PACKET_ADD_MEMBERSHIP, &mr, sizeof mr) < 0) return fail_close(fd, errno);
  *group = 0;
  if (fanout != -1) {
    int flags = PACKET_FANOUT_FLAG_IGNORE_OUTGOING | (fanout < -1 ? PACKET_FANOUT_FLAG_UNIQUEID : 0);
    if (fanout < -1) fanout = 0; /* UNIQUEID wants id 0 */
    int arg = (fanout & 0xffff) | (((cpu_mode ? PACKET_FANOUT_CPU : PACKET_FANOUT_HASH) | flags) << 16);
    if (setsockopt(fd, SOL_PACKET, PACKET_FANOUT, &arg, sizeof arg) < 0) return fail_close(fd, errno);
    int got = 0;
    socklen_t len = sizeof got;
    if (getsockopt(fd, SOL_PACKET, PACKET_FANOUT, &got, &len) < 0) return fail_close(fd, errno);
    *group = got & 0xffff;
  }
  return fd;
}

static napi_value OpenRx(napi_env env, napi_callback_info info) {
  size_t argc = 6;
  napi_value argv[6];
  NAPI_OK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  char name[IFNAMSIZ + 1];
  int32_t fanout, rcvbuf, ring = 0, cap = 0, cpu_mode = 0;
  if (tsvs_arg_str(env, argv[0], "ifname", name, sizeof name) || tsvs_arg_i32(env, argv[1], "fanoutId", &fanout) ||
      tsvs_arg_i32(env, argv[2], "rcvbuf", &rcvbuf) ||
      (argc > 3 && tsvs_arg_i32(env, argv[3], "ringFrames", &ring)) || (argc > 4 && tsvs_arg_i32(env, argv[4], "ringCap", &cap)) ||
      (argc > 5 && tsvs_arg_i32(env, argv[5], "cpuFanout", &cpu_mode)))
    return NULL;
  int group = 0;
  int fd = open_rx(name, fanout, rcvbuf, ring, cap, cpu_mode != 0, &group);
  if (fd < 0) return tsvs_throw_errno(env, errno, NULL);
  napi_value arr;
  NAPI_OK(napi_create_array_with_length(env, 2, &arr));
  NAPI_OK(napi_set_element(env, arr, 0, tsvs_int(env, fd)));
  NAPI_OK(napi_set_element(env, arr, 1, tsvs_int(env, group)));
  return arr;
}

static napi_value OpenTx(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  NAPI_OK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  char name[IFNAMSIZ + 1];
  int32_t ring = 0;
  if (tsvs_arg_str(env, argv[0], "ifname", name, sizeof name)) return NULL;
  if (argc > 1 && tsvs_arg_i32(env, argv[1], "ringFrames", &ring)) return NULL;
  int fd = socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return tsvs_throw_errno(env, errno, NULL);
  int ifindex = if_index_of(name);
  if (ifindex == 0) {
    close(fd);
    return tsvs_throw_errno(env, ENODEV, NULL);
  }
  /* A kernel without TX rings (or without memory for one) leaves a socket that sends with sendmmsg. */
  if (ring > 0) (void)tsvs_tx_ring_setup(fd, name, ring);
  /* Protocol 0: no receive hook is registered, the socket only transmits. */
  if (bind_to(fd, ifindex, 0) < 0) {
    int e = errno;
    tsvs_ring_release(fd);
    close(fd);
    return tsvs_throw_errno(env, e, NULL);
  }
  return tsvs_int(env, fd);
}

/* Reads the common (fd, data, offs, lens, n) arguments and checks every offset range. */
static int batch_args(napi_env env, napi_value *argv, int *fd, uint8_t **data, int32_t **offs, int32_t **lens,
                      int *n, size_t *dlen) {
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

static napi_value Recv(napi_env env, napi_callback_info info) {
  size_t argc = 6;
  napi_value argv[6];
  NAPI_OK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  int fd, n;
  uint8_t *data;
  int32_t *offs, *lens, cap;
  size_t dlen;
  if (batch_args(env, argv, &fd, &data, &offs, &lens, &n, &dlen) || tsvs_arg_i32(env, argv[5], "cap", &cap))
    return NULL;
  if (n == 0) return tsvs_int(env, 0);
  for (int i = 0; i < n; i++)
    if (offs[i] < 4 || cap < 14 || (size_t)offs[i] + (size_t)cap > dlen) {
      napi_throw_range_error(env, NULL, "recv: a frame range lies outside data (or headroom < 4)");
      return NULL;
    }
  struct tsvs_ring *ring = tsvs_ring_of(fd, PACKET_RX_RING);
  if (ring) return tsvs_int(env, tsvs_rx_ring_recv(ring, data, offs, lens, n, cap));
  struct mmsghdr msgs[TSVS_MAX_BATCH];
  struct iovec iov[TSVS_MAX_BATCH];
  union {
    struct cmsghdr align;
    char buf[CMSG_SPACE(sizeof(struct tpacket_auxdata))];
  } ctl[TSVS_MAX_BATCH];
  for (int i = 0; i < n; i++) {
    iov[i].iov_base = data + offs[i];
    iov[i].iov_len = (size_t)cap;
    memset(&msgs[i].msg_hdr, 0, sizeof msgs[i].msg_hdr);
    msgs[i].msg_hdr.msg_iov = &iov[i];
    msgs[i].msg_hdr.msg_iovlen = 1;
    msgs[i].msg_hdr.msg_control = ctl[i].buf;
    msgs[i].msg_hdr.msg_controllen = sizeof ctl[i].buf;
    msgs[i].msg_len = 0;
  }
  int r;
  do r = recvmmsg(fd, msgs, (unsigned)n, MSG_DONTWAIT | MSG_TRUNC, NULL);
  while (r < 0 && errno == EINTR);
  if (r < 0) return tsvs_int(env, (errno == EAGAIN || errno == EWOULDBLOCK) ? 0 : -errno);
  for (int i = 0; i < r; i++) {
    uint32_t len = msgs[i].msg_len;
    lens[i] = (int32_t)len;
    if (len > (uint32_t)cap || len < 12) continue;
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&msgs[i].msg_hdr); c; c = CMSG_NXTHDR(&msgs[i].msg_hdr, c)) {
      if (c->cmsg_level != SOL_PACKET || c->cmsg_type != PACKET_AUXDATA ||
          c->cmsg_len < CMSG_LEN(sizeof(struct tpacket_auxdata)))
        continue;
      const struct tpacket_auxdata *aux = (const struct tpacket_auxdata *)CMSG_DATA(c);
      if (aux->tp_vlan_tci || (aux->tp_status & TP_STATUS_VLAN_VALID)) {
        uint16_t tpid = (aux->tp_status & TP_STATUS_VLAN_TPID_VALID) ? aux->tp_vlan_tpid : ETH_P_8021Q;
        tsvs_vlan_put_back(data, &offs[i], &lens[i], tpid, aux->tp_vlan_tci);
      }
    }
  }
  return tsvs_int(env, r);
}

static napi_value Send(napi_env env, napi_callback_info info) {
  size_t argc = 6;
  napi_value argv[6];
  NAPI_OK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  int fd, n;
  uint8_t *data;
  int32_t *offs, *lens, *res;
  size_t dlen, rlen;
  if (batch_args(env, argv, &fd, &data, &offs, &lens, &n, &dlen) ||
      tsvs_arg_typed(env, argv[5], "res", napi_int32_array, (void **)&res, &rlen))
    return NULL;
  if (rlen < 4) {
    napi_throw_range_error(env, NULL, "send: res needs 4 elements");
    return NULL;
  }
  res[0] = res[1] = res[2] = res[3] = 0;
  for (int i = 0; i < n; i++)
    if (offs[i] < 0 || lens[i] < 0 || (size_t)offs[i] + (size_t)lens[i] > dlen) {
      napi_throw_range_error(env, NULL, "send: a frame range lies outside data");
      return NULL;
    }
  struct tsvs_ring *ring = tsvs_ring_of(fd, PACKET_TX_RING);
  if (ring) return tsvs_int(env, tsvs_tx_ring_send(ring, fd, data, offs, lens, n, res));
  struct mmsghdr msgs[TSVS_MAX_BATCH];
  struct iovec iov[TSVS_MAX_BATCH];
  for (int i = 0; i < n; i++) {
    int32_t o = offs[i], l = lens[i];
    iov[i].iov_base = data + o;
    iov[i].iov_len = (size_t)l;
    memset(&msgs[i].msg_hdr, 0, sizeof msgs[i].msg_hdr);
    msgs[i].msg_hdr.msg_iov = &iov[i];
    msgs[i].msg_hdr.msg_iovlen = 1;
  }
  int sent = 0, i = 0;
  while (i < n) {
    int r = sendmmsg(fd, msgs + i, (unsigned)(n - i), MSG_DONTWAIT);
    if (r > 0) {
      for (int j = i; j < i + r; j++) res[3] += lens[j];
      sent += r;
      i += r;
      continue;
    }
    if (r < 0 && errno == EINTR) continue;
    int e = r < 0 ? errno : EIO;
    res[2] = e;
    if (e == ENOBUFS || e == EAGAIN || e == EWOULDBLOCK) {
      res[1] += n - i;
      break;
    }
    res[0]++; /* message i is refused: skip it */
    i++;
  }
  return tsvs_int(env, sent);
}

static napi_value Stats(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  NAPI_OK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  int32_t fd;
  double *out;
  size_t len;
  if (tsvs_arg_i32(env, argv[0], "fd", &fd) ||
      tsvs_arg_typed(env, argv[1], "out", napi_float64_array, (void **)&out, &len))
    return NULL;
  if (len < 2) {
    napi_throw_range_error(env, NULL, "stats: out needs 2 elements");
    return NULL;
  }
  struct tpacket_stats st;
  socklen_t sl = sizeof st;
  if (getsockopt(fd, SOL_PACKET, PACKET_STATISTICS, &st, &sl) < 0) return tsvs_throw_errno(env, errno, "PACKET_STATISTICS");
  out[0] += st.tp_packets;
  out[1] += st.tp_drops;
  return tsvs_undefined(env);
}

static napi_value IfInfo(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  NAPI_OK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  char name[IFNAMSIZ + 1];
  if (tsvs_arg_str(env, argv[0], "ifname", name, sizeof name)) return NULL;
  int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (s < 0) return tsvs_throw_errno(env, errno, NULL);
  struct ifreq ifr;
  int vals[3];
  memset(&ifr, 0, sizeof ifr);
  memcpy(ifr.ifr_name, name, strnlen(name, IFNAMSIZ - 1));
  if (ioctl(s, SIOCGIFINDEX, &ifr) < 0) goto err;
  vals[0] = ifr.ifr_ifindex;
  if (ioctl(s, SIOCGIFMTU, &ifr) < 0) goto err;
  vals[1] = ifr.ifr_mtu;
  if (ioctl(s, SIOCGIFFLAGS, &ifr) < 0) goto err;
  vals[2] = (unsigned short)ifr.ifr_flags;
  close(s);
  napi_value arr;
  NAPI_OK(napi_create_array_with_length(env, 3, &arr));
  for (int i = 0; i < 3; i++) NAPI_OK(napi_set_element(env, arr, (uint32_t)i, tsvs_int(env, vals[i])));
  return arr;
err: {
  int e = errno;
  close(s);
  return tsvs_throw_errno(env, e, NULL);
}
}

/* txRing(fd) / rxRing(fd): frames of fd's ring of that kind, 0 when it has none. */
static napi_value ring_frames(napi_env env, napi_callback_info info, int kind) {
  size_t argc = 1;
  napi_value argv[1];
  NAPI_OK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  int32_t fd;
  if (tsvs_arg_i32(env, argv[0], "fd", &fd)) return NULL;
  const struct tsvs_ring *r = tsvs_ring_of(fd, kind);
  return tsvs_int(env, r ? r->frame_nr : 0);
}

static void view_finalize(napi_env env, void *data, void *hint) {
  (void)env;
  (void)data;
  tsvs_ring_hold_put(hint);
}

/* An external ArrayBuffer over [p, p + len) that holds a reference to h while it lives. */
static napi_status held_buffer(napi_env env, struct tsvs_ring_hold *h, void *p, size_t len, napi_value *out) {
  tsvs_ring_hold_get(h);
  napi_status st = napi_create_external_arraybuffer(env, p, len, view_finalize, h, out);
  if (st != napi_ok) tsvs_ring_hold_put(h);
  return st;
}

/* rxRingView(fd): [ring, head] ArrayBuffers, or null: no ring, or a runtime that does not allow
 * external buffers. ring: the RX ring's frames in ring order, rxRing(fd) of them, each
 * byteLength / rxRing(fd) bytes, tp_status the first uint32. head: one uint32, the index of the
 * next frame recv reads. Both stay readable after the socket is closed (ring: zero pages). */
static napi_value RxRingView(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  NAPI_OK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  int32_t fd;
  if (tsvs_arg_i32(env, argv[0], "fd", &fd)) return NULL;
  napi_value out, ring, head;
  const struct tsvs_ring *r = tsvs_ring_of(fd, PACKET_RX_RING);
  if (r) {
    struct tsvs_ring_hold *h = r->hold;
    if (held_buffer(env, h, r->map, r->map_len, &ring) == napi_ok &&
        held_buffer(env, h, &h->head, sizeof h->head, &head) == napi_ok) {
      NAPI_OK(napi_create_array_with_length(env, 2, &out));
      NAPI_OK(napi_set_element(env, out, 0, ring));
      NAPI_OK(napi_set_element(env, out, 1, head));
      return out;
    }
    /* The ring buffer, if made, lets its reference go when it is collected. */
    bool pending = false;
    if (napi_is_exception_pending(env, &pending) == napi_ok && pending) {
      napi_value ignored;
      (void)napi_get_and_clear_last_exception(env, &ignored);
    }
  }
  NAPI_OK(napi_get_null(env, &out));
  return out;
}

static napi_value TxRing(napi_env env, napi_callback_info info) {
  return ring_frames(env, info, PACKET_TX_RING);
}

static napi_value RxRing(napi_env env, napi_callback_info info) {
  return ring_frames(env, info, PACKET_RX_RING);
}

static napi_value Close(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  NAPI_OK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  int32_t fd;
  if (tsvs_arg_i32(env, argv[0], "fd", &fd)) return NULL;
  tsvs_ring_release(fd);
  if (fd >= 0 && close(fd) < 0 && errno != EINTR) return tsvs_throw_errno(env, errno, "close");
  return tsvs_undefined(env);
}

napi_status tsvs_init_packet_socket(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
    TSVS_FN("openRx", OpenRx), TSVS_FN("openTx", OpenTx), TSVS_FN("recv", Recv), TSVS_FN("send", Send),
    TSVS_FN("stats", Stats),   TSVS_FN("ifInfo", IfInfo), TSVS_FN("close", Close),   TSVS_FN("txRing", TxRing),
    TSVS_FN("rxRing", RxRing), TSVS_FN("rxRingView", RxRingView),
  };
  return napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
}
