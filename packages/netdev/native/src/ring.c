/*
 * TPACKET_V2 ring mapping and the fd -> ring table (ring.h).
 */
#include "ring.h"

#include <stdlib.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#define RING_FDS 65536
#define RING_BLOCK (1u << 16)

static struct tsvs_ring *rings[RING_FDS];

struct tsvs_ring *tsvs_ring_map(int fd, int kind, unsigned frame_size, int frames) {
  if (fd < 0 || fd >= RING_FDS || frames <= 0) {
    errno = EINVAL;
    return NULL;
  }
  unsigned block = frame_size > RING_BLOCK ? frame_size : RING_BLOCK;
  unsigned per_block = block / frame_size;
  unsigned blocks = ((unsigned)frames + per_block - 1) / per_block;
  struct tsvs_ring *r = calloc(1, sizeof *r);
  if (!r) {
    errno = ENOMEM;
    return NULL;
  }
  int v = TPACKET_V2;
  struct tpacket_req req = {
    .tp_block_size = block,
    .tp_block_nr = blocks,
    .tp_frame_size = frame_size,
    .tp_frame_nr = blocks * per_block,
  };
  int e;
  if (setsockopt(fd, SOL_PACKET, PACKET_VERSION, &v, sizeof v) < 0 || setsockopt(fd, SOL_PACKET, kind, &req, sizeof req) < 0) {
    e = errno;
    goto fail;
  }
  size_t len = (size_t)blocks * block;
  void *map = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (map == MAP_FAILED) {
    e = errno;
    struct tpacket_req none = { 0 }; /* a ring of 0 blocks releases it */
    (void)setsockopt(fd, SOL_PACKET, kind, &none, sizeof none);
    goto fail;
  }
  r->map = map;
  r->map_len = len;
  r->frame_size = frame_size;
  r->frame_nr = req.tp_frame_nr;
  r->kind = kind;
  r->big_fd = -1;
  return r;
fail:
  free(r);
  errno = e;
  return NULL;
}

void tsvs_ring_publish(int fd, struct tsvs_ring *r) {
  __atomic_store_n(&rings[fd], r, __ATOMIC_RELEASE);
}

struct tsvs_ring *tsvs_ring_of(int fd, int kind) {
  if (fd < 0 || fd >= RING_FDS) return NULL;
  struct tsvs_ring *r = __atomic_load_n(&rings[fd], __ATOMIC_ACQUIRE);
  return r && r->kind == kind ? r : NULL;
}

void tsvs_ring_release(int fd) {
  if (fd < 0 || fd >= RING_FDS) return;
  struct tsvs_ring *r = __atomic_exchange_n(&rings[fd], NULL, __ATOMIC_ACQ_REL);
  if (!r) return;
  if (r->hold) {
    /* Zero pages in place of the socket's mapping, which would otherwise keep the socket (and
     * its receiving) alive; views then read empty frames. If that fails the ring stays mapped
     * (and the socket open) until the last view goes, which is still safe. */
    (void)mmap(r->map, r->map_len, PROT_READ, MAP_FIXED | MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    tsvs_ring_hold_put(r->hold);
  } else {
    munmap(r->map, r->map_len);
  }
  if (r->big_fd >= 0) close(r->big_fd);
  free(r);
}

void tsvs_ring_hold_attach(struct tsvs_ring *r, struct tsvs_ring_hold *h) {
  h->addr = r->map;
  h->len = r->map_len;
  h->refs = 1;
  h->head = 0;
  r->hold = h;
}

void tsvs_ring_hold_get(struct tsvs_ring_hold *h) {
  __atomic_add_fetch(&h->refs, 1, __ATOMIC_RELAXED);
}

void tsvs_ring_hold_put(struct tsvs_ring_hold *h) {
  if (__atomic_sub_fetch(&h->refs, 1, __ATOMIC_ACQ_REL) != 0) return;
  munmap(h->addr, h->len);
  free(h);
}
