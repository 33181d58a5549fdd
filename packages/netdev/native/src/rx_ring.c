/*
 * PACKET_RX_RING (TPACKET_V2) for a receive socket: the kernel copies each frame into a ring frame
 * in the softirq that delivers it (tpacket_rcv, on the sending CPU), and the PMD copies it from
 * there into a pool buffer, with no system call at all. recvmmsg instead queues a clone of every
 * skb on the socket and the PMD dequeues, copies and frees them in its own system call, which is
 * the larger share of its receive cost (perf, vs-OVS topology: 16 % of the PMD's time in a UDP
 * flood was recvmmsg).
 *
 * TPACKET_V2, not V3: V3 hands over whole blocks, a block only when it is full or its timer
 * (>= 1 ms) expires, so a lone ping would wait; V2 hands over each frame as it is written.
 *
 * Ring: frame_nr frames of frame_size bytes (a power of two >= 2048 that holds the header and a
 * frame of `cap` bytes), in blocks of max(64 KiB, frame_size). A frame is
 *   [struct tpacket2_hdr] ... [frame bytes at tp_mac, tp_snaplen of them (tp_len on the wire)]
 * tp_status: TP_STATUS_KERNEL (0, the kernel's) -> the kernel writes a frame and sets
 * TP_STATUS_USER (| TP_STATUS_VLAN_VALID, TP_STATUS_VLAN_TPID_VALID, TP_STATUS_LOSING ...) ->
 * we copy it out and give it back (TP_STATUS_KERNEL). The kernel fills frames in ring order and
 * drops a frame when the next one is still ours (counted in PACKET_STATISTICS tp_drops), so
 * reading in ring order from `head` sees every frame once, in arrival order.
 *
 * poll/epoll report the socket readable while a frame is ours (packet_poll), so the doorbell
 * watcher and the PMD's sleep work unchanged.
 *
 * Thread safety: an rxq socket has exactly one reader (its PMD). The fd table is written when a
 * socket is opened or closed, before / after any thread reads it.
 */
#include "rx_ring.h"

#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/socket.h>

#define TSVS_RX_FDS 65536
#define RX_BLOCK (1 << 16)

struct tsvs_rx_ring {
  uint8_t *map;
  size_t map_len;
  unsigned frame_size;
  unsigned frame_nr;
  unsigned head;
};

static struct tsvs_rx_ring *rings[TSVS_RX_FDS];

int tsvs_rx_ring_setup(int fd, int frames, int cap) {
  if (fd < 0 || fd >= TSVS_RX_FDS || frames <= 0 || cap <= 0 || cap > (1 << 20)) {
    errno = EINVAL;
    return -1;
  }
  /* tp_mac is TPACKET_ALIGN(TPACKET2_HDRLEN + 16) - 14 = 66 bytes into a frame: 128 is room enough. */
  unsigned frame_size = 2048;
  while (frame_size < (unsigned)cap + 128) frame_size <<= 1;
  unsigned block = frame_size > RX_BLOCK ? frame_size : RX_BLOCK;
  unsigned per_block = block / frame_size;
  unsigned blocks = ((unsigned)frames + per_block - 1) / per_block;
  struct tsvs_rx_ring *r = calloc(1, sizeof *r);
  if (!r) {
    errno = ENOMEM;
    return -1;
  }
  int v = TPACKET_V2;
  struct tpacket_req req = {
    .tp_block_size = block,
    .tp_block_nr = blocks,
    .tp_frame_size = frame_size,
    .tp_frame_nr = blocks * per_block,
  };
  if (setsockopt(fd, SOL_PACKET, PACKET_VERSION, &v, sizeof v) < 0 ||
      setsockopt(fd, SOL_PACKET, PACKET_RX_RING, &req, sizeof req) < 0) {
    free(r);
    return -1;
  }
  size_t len = (size_t)blocks * block;
  void *map = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (map == MAP_FAILED) {
    int e = errno;
    struct tpacket_req none = { 0 };
    (void)setsockopt(fd, SOL_PACKET, PACKET_RX_RING, &none, sizeof none);
    free(r);
    errno = e;
    return -1;
  }
  r->map = map;
  r->map_len = len;
  r->frame_size = frame_size;
  r->frame_nr = req.tp_frame_nr;
  __atomic_store_n(&rings[fd], r, __ATOMIC_RELEASE);
  return 0;
}

int tsvs_rx_ring_frames(int fd) {
  if (fd < 0 || fd >= TSVS_RX_FDS) return 0;
  struct tsvs_rx_ring *r = __atomic_load_n(&rings[fd], __ATOMIC_ACQUIRE);
  return r ? (int)r->frame_nr : 0;
}

void tsvs_rx_ring_release(int fd) {
  if (fd < 0 || fd >= TSVS_RX_FDS) return;
  struct tsvs_rx_ring *r = __atomic_exchange_n(&rings[fd], NULL, __ATOMIC_ACQ_REL);
  if (!r) return;
  munmap(r->map, r->map_len);
  free(r);
}

int tsvs_rx_ring_recv(int fd, uint8_t *data, int32_t *offs, int32_t *lens, int n, int32_t cap) {
  struct tsvs_rx_ring *r = rings[fd];
  int i = 0;
  for (; i < n; i++) {
    struct tpacket2_hdr *h = (struct tpacket2_hdr *)(r->map + (size_t)r->head * r->frame_size);
    uint32_t st = __atomic_load_n(&h->tp_status, __ATOMIC_ACQUIRE);
    if (!(st & TP_STATUS_USER)) break;
    int32_t len = (int32_t)h->tp_len;
    lens[i] = len;
    if (len <= cap && h->tp_snaplen < (uint32_t)len) {
      lens[i] = cap + 1; /* cut by the ring frame: an rx error, as a frame longer than cap */
    } else if (len <= cap && len >= 12) {
      memcpy(data + offs[i], (uint8_t *)h + h->tp_mac, (size_t)len);
      if (h->tp_vlan_tci || (st & TP_STATUS_VLAN_VALID)) {
        uint16_t tpid = (st & TP_STATUS_VLAN_TPID_VALID) ? h->tp_vlan_tpid : ETH_P_8021Q;
        tsvs_vlan_put_back(data, &offs[i], &lens[i], tpid, h->tp_vlan_tci);
      }
    }
    __atomic_store_n(&h->tp_status, TP_STATUS_KERNEL, __ATOMIC_RELEASE);
    r->head = r->head + 1 == r->frame_nr ? 0 : r->head + 1;
  }
  return i;
}
