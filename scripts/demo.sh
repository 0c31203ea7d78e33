#!/usr/bin/env bash
# The debugger in one minute: set up, build, serve examples/fibonacci.fasm and
# drive it with a scripted stock-gdb session: a breakpoint, the registers with
# their confidences, a watchpoint, and the exit.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh
cargo build --release --locked 2>&1 | tail -n 1
stub=target/release/flux-gdbstub

log=$(mktemp)
trap 'kill "$pid" 2>/dev/null || true; rm -f "$log"' EXIT
"$stub" serve examples/fibonacci.fasm --listen 127.0.0.1:0 --once 2>"$log" &
pid=$!
# Wait until the stub says where it listens (no fixed sleep).
for _ in $(seq 1 500); do
  port=$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$log")
  [ -n "$port" ] && break
  kill -0 "$pid" 2>/dev/null || { cat "$log"; exit 1; }
  sleep 0.02
done
[ -n "${port:-}" ] || { echo "the stub did not start"; cat "$log"; exit 1; }

echo "== flux-gdbstub serving examples/fibonacci.fasm on 127.0.0.1:$port"
echo "== the program, as the stub disassembles it:"
"$stub" disasm examples/fibonacci.fasm | head -n 8
echo "== a scripted gdb session:"
timeout 60 gdb -batch -nx \
  -ex 'set pagination off' \
  -ex "target remote 127.0.0.1:$port" \
  -ex 'echo \n-- break where fib(1) returns 1 (the label `small`, 0x2D)\n' \
  -ex 'break *0x2D' \
  -ex 'continue' \
  -ex 'echo \n-- FLUX registers, each with its confidence\n' \
  -ex 'info registers eip esp eflags r0 r1 r2 conf0 conf1 energy cycles' \
  -ex 'monitor why' \
  -ex 'monitor disas 0x2D 3' \
  -ex 'echo \n-- watch the stack slot 0xFFF8: it holds n = 20 of the outermost call, then fib(19)\n' \
  -ex 'delete' \
  -ex 'watch *(int*)0xFFF8' \
  -ex 'continue' \
  -ex 'p $pc' \
  -ex 'delete' \
  -ex 'echo \n-- run to the end: fib(20) = 6765, exit code 6765 & 0xFF = 109 (0155 octal)\n' \
  -ex 'continue'
wait "$pid" || true
