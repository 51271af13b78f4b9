#!/bin/sh
# ThreadSanitizer run of the two-thread data plane (tsan_threads.c), as root: builds with
# -fsanitize=thread, makes two namespaces cgwd-tsan-<pid>-a/-b joined by a veth (nothing in the
# root namespace), runs a ping flood A -> B for the harness's duration, and deletes the
# namespaces again. Usage: native/fuzz/tsan.sh [SECONDS] [OUT_DIR]
set -eu
here=$(cd "$(dirname "$0")" && pwd)
seconds=${1:-5}
out=${2:-"$here/build"}
mkdir -p "$out"
src=${TSAN_SRC:-"$here/../src"} # TSAN_SRC: another copy of native/src (e.g. one with a lock taken out, to see TSan notice)
gcc -g -O1 -std=gnu11 -D_GNU_SOURCE -fsanitize=thread -o "$out/tsan_threads" "$here/tsan_threads.c" \
  "$src/loop.c" "$src/tx.c" "$src/rx.c" "$src/gro.c" "$src/commands.c" "$src/sa.c" "$src/esp.c" "$src/replay.c" \
  "$src/ipv4.c" "$src/tun.c" "$src/udp.c" "$src/probe.c" -lcrypto -lpthread
a="cgwd-tsan-$$-a"
b="cgwd-tsan-$$-b"
cleanup() {
  [ -n "${flood:-}" ] && kill "$flood" 2>/dev/null || true
  ip netns del "$a" 2>/dev/null || true
  ip netns del "$b" 2>/dev/null || true
}
trap cleanup EXIT INT TERM
ip netns add "$a"
ip netns add "$b"
ip -n "$a" link set lo up
ip -n "$b" link set lo up
ip -n "$a" link add veth-a type veth peer name veth-b netns "$b"
ip -n "$a" addr add 10.98.0.1/24 dev veth-a
ip -n "$b" addr add 10.98.0.2/24 dev veth-b
ip -n "$a" link set veth-a up
ip -n "$b" link set veth-b up
# The flood starts once the tunnels exist (the harness prints "ready"), and outlives the harness's
# loop so dp_destroy runs under traffic.
fifo="$out/tsan.$$.fifo"
rm -f "$fifo"
mkfifo "$fifo"
TSAN_OPTIONS="halt_on_error=0 second_deadlock_stack=1 ${TSAN_OPTIONS:-}" "$out/tsan_threads" "$a" "$b" "$seconds" >"$fifo" &
harness=$!
read -r line <"$fifo" || true
echo "harness: $line"
ip netns exec "$a" ping -f -q -s 1000 -w $((seconds + 3)) 169.254.98.1 >/dev/null 2>&1 &
flood=$!
cat "$fifo" &
status=0
wait "$harness" || status=$?
rm -f "$fifo"
echo "harness exit $status"
exit "$status"
