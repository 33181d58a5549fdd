/*
 * PACKET_RX_RING for the receive sockets of a `system` port (rx_ring.c has the layout and
 * protocol), and the VLAN tag restoration both receive paths share.
 */
#ifndef TSVS_NETDEV_RX_RING_H
#define TSVS_NETDEV_RX_RING_H

#include "ring.h"

/* Missing from older linux/if_packet.h: tp_vlan_tpid is valid (Linux 3.14+). */
#ifndef TP_STATUS_VLAN_TPID_VALID
#define TP_STATUS_VLAN_TPID_VALID (1 << 6)
#endif

/* Gives the socket (before bind) an RX ring of at least `frames` frames, each large enough for a
 * frame of `cap` bytes; 0, or -1 with errno (the socket is then left without a ring).
 * tsvs_ring_of(fd, PACKET_RX_RING) finds it; tsvs_ring_release frees it. */
int tsvs_rx_ring_setup(int fd, int frames, int cap);
/* The ring r's counterpart of recvmmsg, with the contract of recv() in packet_socket.c. */
int tsvs_rx_ring_recv(struct tsvs_ring *r, uint8_t *data, int32_t *offs, int32_t *lens, int n, int32_t cap);

/* The kernel takes 802.1Q/802.1ad tags out of received frames before packet sockets see them
 * (skb_vlan_untag) and reports them beside the frame; this puts the tag back in front of the
 * EtherType, as OVS netdev-linux does, by moving the MAC addresses of the frame at data + *off
 * 4 bytes down (the caller's headroom must be >= 4): *off -= 4, *len += 4. */
static inline void tsvs_vlan_put_back(uint8_t *data, int32_t *off, int32_t *len, uint16_t tpid, uint16_t tci) {
  uint8_t *p = data + *off;
  memmove(p - 4, p, 12);
  p[8] = (uint8_t)(tpid >> 8);
  p[9] = (uint8_t)tpid;
  p[10] = (uint8_t)(tci >> 8);
  p[11] = (uint8_t)tci;
  *off -= 4;
  *len += 4;
}

#endif
