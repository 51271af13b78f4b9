#!/bin/sh
# Builds the libFuzzer targets with ASan + UBSan (clang from Debian: clang, libclang-rt-14-dev,
# and libssl-dev for OpenSSL's headers and libcrypto). Usage: native/fuzz/build.sh [OUT_DIR]
set -eu
here=$(cd "$(dirname "$0")" && pwd)
out=${1:-"$here/build"}
mkdir -p "$out"
src="$here/../src"
common="$src/loop.c $src/tx.c $src/rx.c $src/gro.c $src/commands.c $src/sa.c $src/esp.c $src/replay.c $src/ipv4.c $src/tun.c $src/udp.c $src/probe.c $here/harness.c"
flags="-g -O1 -std=gnu11 -D_GNU_SOURCE -fno-omit-frame-pointer -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined"
for target in fuzz_esp_inbound fuzz_outbound fuzz_ipv4; do
  clang $flags -o "$out/$target" "$here/$target.c" $common -lcrypto -lpthread
done
echo "built into $out"
