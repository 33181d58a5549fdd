/*
 * PACKET_TX_RING for transmit-only AF_PACKET sockets (tx_ring.c has the layout and protocol).
 */
#ifndef TSVS_NETDEV_TX_RING_H
#define TSVS_NETDEV_TX_RING_H

#include "util.h"

/* Gives the socket (not yet bound) a TX ring of at least `frames` frames; 0, or -1 with errno
 * (the socket is then left without a ring and stays usable with sendmsg). */
int tsvs_tx_ring_setup(int fd, const char *ifname, int frames);
/* Frames of fd's ring, 0 when it has none. */
int tsvs_tx_ring_frames(int fd);
/* Unmaps fd's ring, if any; call before close(fd). */
void tsvs_tx_ring_release(int fd);
/* The ring's counterpart of sendmmsg (same res contract as send() in packet_socket.c); fd must
 * have a ring. Returns the frames sent. */
int tsvs_tx_ring_send(int fd, const uint8_t *data, const int32_t *offs, const int32_t *lens, int n, int32_t *res);

#endif
