/*
 * A TPACKET_V2 ring mapped on an AF_PACKET socket, and the process-wide table that finds a
 * socket's ring by fd. rx_ring.c and tx_ring.c give the two kinds their protocol.
 *
 * Thread safety: the table is written when a socket is opened or closed, before / after any
 * thread uses the socket; a ring has one user at a time (an rxq's PMD, or a txq's lock holder).
 */
#ifndef TSVS_NETDEV_RING_H
#define TSVS_NETDEV_RING_H

#include "util.h"

#include <linux/if_packet.h>
#include <net/if.h>

struct tsvs_ring {
  uint8_t *map;
  size_t map_len;
  unsigned frame_size;
  unsigned frame_nr;
  unsigned head;         /* TX: next frame to write, in ring order (RX: hold->head) */
  int kind;              /* PACKET_RX_RING or PACKET_TX_RING */
  int big_fd;            /* TX: a plain socket on the interface for frames a ring frame cannot hold; else -1 */
  char ifname[IFNAMSIZ]; /* TX: the interface, for its MTU */
  int32_t maxlen;        /* TX: longest untagged frame the interface takes (MTU + 14), as last read */
  int64_t maxlen_ns;     /* TX: CLOCK_MONOTONIC (ns) when maxlen was read; 0 = never */
  struct tsvs_ring_hold *hold; /* RX: the mapping and head, shared with JavaScript views; TX: NULL */
};

/* The mapping of an RX ring, kept readable while JavaScript holds views of it (rxRingView): one
 * reference for the ring itself, one per view. The last one unmaps it. */
struct tsvs_ring_hold {
  void *addr;
  size_t len;
  int refs;      /* atomic */
  unsigned head; /* next frame to read, in ring order: the one copy, so that a reader that dies
                    between a recv and its own bookkeeping cannot leave a stale one */
};

/* Sets TPACKET_V2 and maps a ring of `kind` with at least `frames` frames of frame_size bytes
 * (blocks of max(64 KiB, frame_size)) on fd, which must not be bound yet. Returns it, not yet
 * published, or NULL with errno (fd is then left without a ring). */
struct tsvs_ring *tsvs_ring_map(int fd, int kind, unsigned frame_size, int frames);
/* Makes r fd's ring (tsvs_ring_of finds it). */
void tsvs_ring_publish(int fd, struct tsvs_ring *r);
/* fd's ring of `kind`, or NULL. */
struct tsvs_ring *tsvs_ring_of(int fd, int kind);
/* Unmaps fd's ring, if any, and closes its companion socket; call before close(fd). A ring that
 * views still read is replaced by zero pages (every frame TP_STATUS_KERNEL: empty) until the last
 * view is gone, so that a view never faults; the socket itself goes at once. */
void tsvs_ring_release(int fd);
/* Gives r the hold h (allocated by the caller; its reference is r's), head 0. */
void tsvs_ring_hold_attach(struct tsvs_ring *r, struct tsvs_ring_hold *h);
/* One more reference to h (a view). */
void tsvs_ring_hold_get(struct tsvs_ring_hold *h);
/* Drops one reference to h; the last one unmaps the memory. */
void tsvs_ring_hold_put(struct tsvs_ring_hold *h);

static inline struct tpacket2_hdr *tsvs_ring_frame(const struct tsvs_ring *r, unsigned i) {
  return (struct tpacket2_hdr *)(r->map + (size_t)i * r->frame_size);
}

#endif
