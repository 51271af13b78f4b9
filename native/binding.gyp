{
  "targets": [
    {
      "target_name": "cgwd_dataplane",
      "sources": [
        "src/addon.c",
        "src/napi_util.c",
        "src/loop.c",
        "src/tx.c",
        "src/rx.c",
        "src/gro.c",
        "src/commands.c",
        "src/sa.c",
        "src/esp.c",
        "src/replay.c",
        "src/ipv4.c",
        "src/tun.c",
        "src/udp.c"
      ],
      "cflags": ["-O2", "-Wall", "-Wextra", "-std=gnu11", "-fvisibility=hidden"],
      "defines": ["NAPI_VERSION=8", "_GNU_SOURCE"],
      "libraries": ["-lpthread"]
    }
  ]
}
