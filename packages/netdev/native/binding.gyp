{
  "targets": [
    {
      "target_name": "tsvs_netdev",
      "sources": ["src/addon.c", "src/packet_socket.c", "src/tap.c", "src/waiting.c", "src/thread.c", "src/ring.c", "src/tx_ring.c", "src/rx_ring.c"],
      "cflags": ["-O2", "-Wall", "-Wextra", "-Wno-unused-parameter", "-std=gnu11"],
      "defines": ["NAPI_VERSION=8"]
    }
  ]
}
