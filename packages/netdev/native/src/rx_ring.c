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
 * Ring (ring.c): frame_nr frames of frame_size bytes (a power of two >= 2048 that holds the header
 * and a frame of `cap` bytes), in blocks of max(64 KiB, frame_size). A frame is
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
 * Peek (packet_socket.c rxRingView): the ring and its head index are also readable from
 * JavaScript, so that a poll of an empty rxq is one load of the head frame's tp_status and no
 * native call. The head is kept in the ring's hold (ring.h), written only here.
 *
 * Thread safety: an rxq socket has exactly one reader (its PMD).
 */
#include "rx_ring.h"

#include <linux/if_ether.h>
#include <stdlib.h>

int tsvs_rx_ring_setup(int fd, int frames, int cap) {
  if (cap <= 0 || cap > (1 << 20)) {
    errno = EINVAL;
    return -1;
  }
  /* tp_mac is TPACKET_ALIGN(TPACKET2_HDRLEN + 16) - 14 = 66 bytes into a frame: 128 is room enough. */
  unsigned frame_size = 2048;
  while (frame_size < (unsigned)cap + 128) frame_size <<= 1;
  /* Allocated first: after the mapping, failing would leave the socket's ring to undo. */
  struct tsvs_ring_hold *h = malloc(sizeof *h);
  if (!h) {
    errno = ENOMEM;
    return -1;
  }
  struct tsvs_ring *r = tsvs_ring_map(fd, PACKET_RX_RING, frame_size, frames);
  if (!r) {
    free(h);
    return -1;
  }
  tsvs_ring_hold_attach(r, h);
  tsvs_ring_publish(fd, r);
  return 0;
}

int tsvs_rx_ring_recv(struct tsvs_ring *r, uint8_t *data, int32_t *offs, int32_t *lens, int n, int32_t cap) {
  int i = 0;
  unsigned head = r->hold->head;
  for (; i < n; i++) {
    struct tpacket2_hdr *h = tsvs_ring_frame(r, head);
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
    head = head + 1 == r->frame_nr ? 0 : head + 1;
  }
  __atomic_store_n(&r->hold->head, head, __ATOMIC_RELEASE);
  return i;
}
