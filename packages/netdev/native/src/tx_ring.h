/*
 * PACKET_TX_RING for transmit-only AF_PACKET sockets (tx_ring.c has the layout and protocol).
 */
#ifndef TSVS_NETDEV_TX_RING_H
#define TSVS_NETDEV_TX_RING_H

#include "ring.h"

/* Gives the socket (not yet bound) a TX ring of at least `frames` frames and a companion socket
 * for frames too long for it; 0, or -1 with errno (the socket is then left as it was and sends
 * with sendmsg). tsvs_ring_of(fd, PACKET_TX_RING) finds the ring; tsvs_ring_release frees both. */
int tsvs_tx_ring_setup(int fd, const char *ifname, int frames);
/* The ring's counterpart of sendmmsg (same res contract as send() in packet_socket.c) on fd, whose
 * ring r is. Returns the frames sent. */
int tsvs_tx_ring_send(struct tsvs_ring *r, int fd, const uint8_t *data, const int32_t *offs, const int32_t *lens, int n,
                      int32_t *res);

#endif
