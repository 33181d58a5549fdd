/*
 * PACKET_TX_RING (TPACKET_V2) for a transmit-only AF_PACKET socket: a batch is copied into
 * mmap'ed ring frames and handed to the kernel with one send() instead of one sendmsg per frame.
 *
 * Why (measured on the vs-OVS topology, UDP 64 B flood, one PMD on 2 CPUs): sendmmsg reschedules
 * after every message (cond_resched in __sys_sendmmsg), so the receiving host, woken on the PMD's
 * CPU by the first frame, preempts the PMD and reads a frame or two per wake-up (25k preemptions
 * and 28k receiver wake-ups per second). tpacket_snd hands over the whole batch before returning
 * (net/packet/af_packet.c): the host reads whole batches (4-5k wake-ups per second) and delivers
 * 15 % more; TCP gains 12 %.
 *
 * Every frame carries a virtio_net_hdr (PACKET_VNET_HDR) whose hdr_len is the frame's length: the
 * kernel then copies the whole frame into the skb's linear part. Without it, tpacket_fill_skb
 * attaches the ring pages as fragments, and veth copies them again into fresh pages
 * (skb_copy_ubufs) before the frame crosses into the peer's namespace, which costs more than the
 * batching saves. With a virtio_net_hdr tpacket_snd skips its MTU check, so it is done here
 * (against an MTU read at most 10 ms before: max_len).
 *
 * Ring (ring.c): frame_nr frames of TSVS_TX_FRAME bytes in 64 KiB blocks. A frame is
 *   [struct tpacket2_hdr, padded to TPACKET_ALIGN (32 B)] [virtio_net_hdr, 10 B] [frame bytes]
 * so a ring frame holds frames up to TX_FRAME_MAX (2006) bytes; longer ones (jumbo MTUs) are sent
 * in their place in the batch through a companion socket without a ring (on a socket with a ring,
 * sendmsg only flushes the ring). tp_len counts the virtio_net_hdr.
 * tp_status: TP_STATUS_AVAILABLE (ours, maybe with timestamp bits) -> we write the frame and set
 * TP_STATUS_SEND_REQUEST -> the kernel takes it (TP_STATUS_SENDING) and gives it back
 * (TP_STATUS_AVAILABLE) when the skb is freed or orphaned (at the latest in the receiving
 * namespace's ip_rcv); TP_STATUS_WRONG_FORMAT when it refuses the frame.
 *
 * The kernel walks the ring from its own head and stops at the first frame that is not
 * SEND_REQUEST, so this file keeps `head` equal to the kernel's: after every send() the frames the
 * kernel did not take are given back (AVAILABLE) and `head` moves back to the first of them.
 *
 * Thread safety: the caller serialises sends on a socket (the txq mutex of fd-netdev.ts).
 */
#include "tx_ring.h"

#include <linux/if_packet.h>
#include <linux/virtio_net.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define TSVS_TX_FRAME 2048
#define TX_DATA_OFF (TPACKET_ALIGN(sizeof(struct tpacket2_hdr)))
#define TX_FRAME_OFF (TX_DATA_OFF + sizeof(struct virtio_net_hdr))
#define TX_FRAME_MAX ((int32_t)(TSVS_TX_FRAME - TX_FRAME_OFF))
#define TX_BUSY (TP_STATUS_SEND_REQUEST | TP_STATUS_SENDING | TP_STATUS_WRONG_FORMAT)

static inline struct tpacket2_hdr *frame_at(const struct tsvs_ring *r, unsigned i) {
  return tsvs_ring_frame(r, i % r->frame_nr);
}

static inline uint32_t status_of(struct tpacket2_hdr *h) {
  return __atomic_load_n(&h->tp_status, __ATOMIC_ACQUIRE);
}

static inline void set_status(struct tpacket2_hdr *h, uint32_t s) {
  __atomic_store_n(&h->tp_status, s, __ATOMIC_RELEASE);
}

/* A plain socket bound to the interface (protocol 0: it only sends), or -1 with errno. */
static int open_companion(const char *ifname) {
  int s = socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (s < 0) return -1;
  struct sockaddr_ll sll;
  memset(&sll, 0, sizeof sll);
  sll.sll_family = AF_PACKET;
  sll.sll_ifindex = (int)if_nametoindex(ifname);
  if (sll.sll_ifindex == 0 || bind(s, (struct sockaddr *)&sll, sizeof sll) < 0) {
    int e = sll.sll_ifindex == 0 ? ENODEV : errno;
    close(s);
    errno = e;
    return -1;
  }
  return s;
}

int tsvs_tx_ring_setup(int fd, const char *ifname, int frames) {
  int big = open_companion(ifname);
  if (big < 0) return -1;
  int one = 1, zero = 0, e;
  /* Before the ring: the kernel refuses PACKET_VNET_HDR on a socket that has one (EBUSY). */
  if (setsockopt(fd, SOL_PACKET, PACKET_VNET_HDR, &one, sizeof one) < 0) {
    e = errno;
    close(big);
    errno = e;
    return -1;
  }
  struct tsvs_ring *r = tsvs_ring_map(fd, PACKET_TX_RING, TSVS_TX_FRAME, frames);
  if (!r) {
    e = errno;
    (void)setsockopt(fd, SOL_PACKET, PACKET_VNET_HDR, &zero, sizeof zero);
    close(big);
    errno = e;
    return -1;
  }
  r->big_fd = big;
  strncpy(r->ifname, ifname, IFNAMSIZ - 1);
  tsvs_ring_publish(fd, r);
  return 0;
}

/* Hands frames [head - k, head) to the kernel. Returns how many of them it took (sent, or dropped
 * by the device after taking them); *bad = index among them of a frame it refused, else -1. The
 * frames it did not take are given back and head moves back to the first of them. */
static int flush(struct tsvs_ring *r, int fd, int k, int *bad, int *err) {
  unsigned start = (r->head + r->frame_nr - (unsigned)k) % r->frame_nr;
  int rc;
  do rc = (int)send(fd, NULL, 0, MSG_DONTWAIT);
  while (rc < 0 && errno == EINTR);
  *err = rc < 0 ? errno : 0;
  *bad = -1;
  int taken = 0;
  for (; taken < k; taken++) {
    uint32_t s = status_of(frame_at(r, start + (unsigned)taken));
    if (s & TP_STATUS_WRONG_FORMAT) {
      *bad = taken;
      break;
    }
    if (s & TP_STATUS_SEND_REQUEST) break;
  }
  for (int i = taken; i < k; i++) set_status(frame_at(r, start + (unsigned)i), TP_STATUS_AVAILABLE);
  r->head = (start + (unsigned)taken) % r->frame_nr;
  return taken;
}

/* A frame too long for a ring frame, through the ring's companion socket (on a socket with a TX
 * ring, sendmsg only flushes the ring: its data is ignored). */
static int send_one(const struct tsvs_ring *r, const uint8_t *frame, int32_t len, int32_t *res) {
  for (;;) {
    if (send(r->big_fd, frame, (size_t)len, MSG_DONTWAIT) >= 0) {
      res[3] += len;
      return 1;
    }
    if (errno == EINTR) continue;
    res[2] = errno;
    if (errno == ENOBUFS || errno == EAGAIN || errno == EWOULDBLOCK) res[1]++;
    else res[0]++;
    return 0;
  }
}

/* Longer than the interface lets through: MTU + Ethernet header, 4 more for an 802.1Q-tagged
 * frame (packet_extra_vlan_len_allowed). */
static inline int too_long(const uint8_t *f, int32_t len, int32_t maxlen) {
  return len > maxlen && !(len <= maxlen + 4 && len >= 14 && f[12] == 0x81 && f[13] == 0x00);
}

/* How long a read MTU is trusted (ns): an `ip link set mtu` takes effect within this. Why cached:
 * one ioctl(SIOCGIFMTU) per send burst was 3 % of the PMD's time with lone frames (new TCP
 * connections, perf); a clock read from the vDSO costs ~20 ns. */
#define TX_MTU_TTL_NS 10000000LL

/* MTU + 14 of the ring's interface, read again once TX_MTU_TTL_NS old; INT32_MAX - 4 (no limit)
 * while the interface cannot be asked. */
static int32_t max_len(struct tsvs_ring *r, int fd) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  int64_t now = (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
  if (r->maxlen_ns != 0 && now - r->maxlen_ns < TX_MTU_TTL_NS) return r->maxlen;
  struct ifreq ifr;
  memset(&ifr, 0, sizeof ifr);
  memcpy(ifr.ifr_name, r->ifname, IFNAMSIZ);
  r->maxlen = ioctl(fd, SIOCGIFMTU, &ifr) == 0 ? ifr.ifr_mtu + 14 : INT32_MAX - 4;
  r->maxlen_ns = now;
  return r->maxlen;
}

int tsvs_tx_ring_send(struct tsvs_ring *r, int fd, const uint8_t *data, const int32_t *offs, const int32_t *lens, int n,
                      int32_t *res) {
  /* With a virtio_net_hdr the kernel checks no MTU (tpacket_snd, nor packet_snd): done here. */
  int32_t maxlen = max_len(r, fd);
  int sent = 0, i = 0;
  while (i < n) {
    /* Fill ring frames until a frame needs another path or the ring is full. */
    int k = 0, first = i;
    for (; i < n; i++) {
      const uint8_t *f = data + offs[i];
      if (too_long(f, lens[i], maxlen) || lens[i] > TX_FRAME_MAX) break;
      struct tpacket2_hdr *h = frame_at(r, r->head);
      if (status_of(h) & TX_BUSY) break;
      struct virtio_net_hdr *v = (struct virtio_net_hdr *)((uint8_t *)h + TX_DATA_OFF);
      memset(v, 0, sizeof *v);
      v->hdr_len = (uint16_t)lens[i];
      memcpy((uint8_t *)h + TX_FRAME_OFF, f, (size_t)lens[i]);
      h->tp_len = (uint32_t)(lens[i] + (int32_t)sizeof *v);
      set_status(h, TP_STATUS_SEND_REQUEST);
      r->head = (r->head + 1) % r->frame_nr;
      k++;
    }
    if (k > 0) {
      int bad, err;
      int taken = flush(r, fd, k, &bad, &err);
      for (int j = first; j < first + taken; j++) res[3] += lens[j];
      sent += taken;
      if (bad >= 0) {
        res[0]++; /* refused: skip it, send the rest */
        res[2] = err ? err : EINVAL;
        i = first + taken + 1;
        continue;
      }
      if (taken < k) {
        /* The kernel stopped without refusing a frame: no socket buffer (EAGAIN) or device queue
         * (ENOBUFS). As on the sendmmsg path, the rest of the batch is dropped. */
        res[2] = err ? err : ENOBUFS;
        res[1] += n - (first + taken);
        return sent;
      }
      continue;
    }
    if (i >= n) break;
    if (too_long(data + offs[i], lens[i], maxlen)) {
      res[0]++;
      res[2] = EMSGSIZE;
      i++;
    } else if (lens[i] > TX_FRAME_MAX) {
      sent += send_one(r, data + offs[i], lens[i], res); /* a jumbo frame, in its place */
      i++;
    } else {
      /* Ring full: every frame is still in flight. */
      res[2] = ENOBUFS;
      res[1] += n - i;
      return sent;
    }
  }
  return sent;
}
