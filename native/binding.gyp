{
  "variables": {
    "dataplane_sources": [
      "src/napi_util.c",
      "src/napi_dp.c",
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
      "src/udp.c",
      "src/notify.c",
      "src/probe.c"
    ],
    "dataplane_cflags": ["-O2", "-Wall", "-Wextra", "-std=gnu11", "-fvisibility=hidden"],
    "dataplane_defines": ["NAPI_VERSION=8", "_GNU_SOURCE"]
  },
  "targets": [
    {
      "target_name": "cgwd_dataplane",
      "sources": ["src/addon.c", "src/rtnl.c", "src/napi_rtnl.c", "<@(dataplane_sources)"],
      "cflags": ["<@(dataplane_cflags)"],
      "defines": ["<@(dataplane_defines)"],
      "libraries": ["-lpthread"]
    },
    {
      "target_name": "cgwd_dataplane_testing",
      "sources": ["src/testing_addon.c", "src/esp_bench.c", "<@(dataplane_sources)"],
      "cflags": ["<@(dataplane_cflags)"],
      "defines": ["<@(dataplane_defines)"],
      "libraries": ["-lpthread"]
    },
    {
      "target_name": "cgwd-loadgen",
      "type": "executable",
      "sources": ["loadgen/loadgen.c"],
      "cflags": ["-O2", "-Wall", "-Wextra", "-std=gnu11"],
      "libraries": ["-lpthread"]
    }
  ]
}
