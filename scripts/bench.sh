#!/usr/bin/env bash
# Benchmarks, each printed beside a peer measured in the same run (ratios, not pass/fail):
#   1. fib(35): `flux-gdbstub run benches/fib35.fasm` vs `lua5.4 benches/fib35.lua`   goal <= 0.8x
#      fib(30): the same with benches/fib30.*                                        goal <= 2x
#   2. gdb `continue` to the end of benches/loop.fasm with 10 breakpoints and a write
#      watchpoint armed, never hit, vs a plain `flux-gdbstub run`                    goal <= 1.1x
#   3. `stepi N` rate: gdb + flux-gdbstub vs gdb + gdbserver on a native C loop      goal >= 1.5x
#   4. a conditional breakpoint hit 20,000 times: gdb's `break if` (an agent
#      expression, CLI and gdb/MI) vs `monitor break ... if`                         goal <= 2x
#      and gdb evaluating it itself vs the agent expression                          goal >= 50x faster
#   5. gdb `continue` with 5 stub-side conditional breakpoints + 2 watch-if vs run   goal <= 1.5x
#   6. recording: `run --record` vs `run` (fib30)                                    goal <= 1.1x
#      `serve --record` vs not (loop)                                               goal <= 1.2x
#   7. reverse-stepi vs stepi at the end of a fib(30) recording                       goal <= 1x
#   8. gdb `continue` over loop.fasm with `monitor trace on` vs off                    goal <= 3x
#   9. recording memory: file and history bytes per million instructions and peak
#      RSS, a loop drawing random numbers vs one that does not; a 64 MiB --record-limit
#  10. a depth-3 bug (examples/pct_depth3.fasm): the fraction of seeds that hit it under
#      explore --sched pct --depth 3 vs --sched chaos, and PCT's bound 1/(n·k^(d−1))  goal >= 10x chaos, >= bound
#  11. explore runs/s on one core with schedule coverage vs --no-coverage; the Dask driver
#      on 2 local workers vs explore --jobs 2 (time, same report)                     (info)
# Each measurement is --runs pairs (FLUX and peer back to back, which goes first
# alternating); a goal is judged on the median of the per-pair ratios.
# The measuring is done by benches/bench.py; this script installs what is missing,
# builds, and runs it.  With --vm it also runs the in-process Rust benchmark
# (`cargo bench --bench vm`: what armed hooks cost Vm::run itself).
#
# With --only speed it measures only the rows with speed goals (1, 2, 3, run --record, 7).
#
# Usage: scripts/bench.sh [--out FILE] [--runs N] [--steps N] [--only speed|memory] [--vm]
# Honours CARGO_TARGET_DIR (default: ./target).
set -euo pipefail

CALLER=$(pwd)
cd "$(dirname "$0")/.."
ROOT=$(pwd)

OUT=""
RUNS=7
STEPS=2000
VM=0
ONLY=""
usage() { sed -n '2,/^set /{/^#/p}' "$0" | sed 's/^# \{0,1\}//'; }
while [ $# -gt 0 ]; do
  case "$1" in
    --out) OUT=${2:?--out needs a file}; shift 2 ;;
    --out=*) OUT=${1#--out=}; shift ;;
    --runs) RUNS=${2:?--runs needs a number}; shift 2 ;;
    --runs=*) RUNS=${1#--runs=}; shift ;;
    --steps) STEPS=${2:?--steps needs a number}; shift 2 ;;
    --steps=*) STEPS=${1#--steps=}; shift ;;
    --only) ONLY=${2:?--only needs speed or memory}; shift 2 ;;
    --only=*) ONLY=${1#--only=}; shift ;;
    --vm) VM=1; shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "bench: unknown argument '$1'" >&2; usage >&2; exit 2 ;;
  esac
done
# An --out given relative to where we were called from.
if [ -n "$OUT" ]; then
  case "$OUT" in /*) ;; *) OUT="$CALLER/$OUT" ;; esac
fi

timeout 1800 "$ROOT/scripts/setup.sh"

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
echo "bench: cargo build --release (CARGO_TARGET_DIR=$CARGO_TARGET_DIR)" >&2
timeout 3600 cargo build --release --quiet
STUB="$CARGO_TARGET_DIR/release/flux-gdbstub"
[ -x "$STUB" ] || { echo "bench: $STUB was not built" >&2; exit 1; }

args=(--stub "$STUB" --runs "$RUNS" --steps "$STEPS")
[ -n "$OUT" ] && args+=(--out "$OUT")
[ -n "$ONLY" ] && args+=(--only "$ONLY")
# bench.py gives each command it starts its own time limit; this one bounds the whole.
timeout 3600 python3 "$ROOT/benches/bench.py" "${args[@]}"

if [ "$VM" = 1 ]; then
  echo "bench: cargo bench --bench vm" >&2
  vm_out=$(FLUX_BENCH_RUNS="$RUNS" timeout 3600 cargo bench --quiet --bench vm)
  printf '\n%s\n' "$vm_out"
  [ -n "$OUT" ] && printf '\n%s\n' "$vm_out" >>"$OUT"
fi
exit 0
