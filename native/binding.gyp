{
  "targets": [
    {
      "target_name": "cgwd_dataplane",
      "sources": ["src/addon.c"],
      "cflags": ["-O2", "-Wall", "-Wextra", "-std=gnu11"],
      "defines": ["NAPI_VERSION=8"]
    }
  ]
}
