#!/usr/bin/env bash
# Fuzzes the assembler, the disassembler, the C runtime, the condition
# language and replay files with cargo-fuzz (libFuzzer), each target for SECONDS (default 60),
# one after another.
#
#   scripts/fuzz.sh [SECONDS] [TARGET...]     targets: asm disasm runtime condition replay_file dap (default: all)
#
# Not part of CI: it is for people.  It needs clang (scripts/setup.sh installs
# it) and cargo-fuzz, which it installs when missing.  cargo-fuzz wants a
# nightly toolchain; on stable, RUSTC_BOOTSTRAP=1 unlocks the flags it uses.
#
# The C runtime is built with AddressSanitizer, UBSan (trap mode) and libFuzzer
# coverage (FLUX_SANITIZE, see build.rs); the Rust code gets cargo-fuzz's
# AddressSanitizer and debug assertions.  Corpora grow in fuzz/corpus/TARGET
# (seeded from examples/*.fasm and benches/*.fasm and their assembled bytes);
# crashes land in fuzz/artifacts/TARGET, and
#   RUSTC_BOOTSTRAP=1 FLUX_SANITIZE=address,undefined,fuzzer cargo fuzz run TARGET FILE
# replays one.
set -euo pipefail

cd "$(dirname "$0")/.."
SECONDS_PER_TARGET="${1:-60}"
shift || true
TARGETS=("$@")
[ ${#TARGETS[@]} -gt 0 ] || TARGETS=(asm disasm runtime condition replay_file dap)

export RUSTC_BOOTSTRAP=1
export FLUX_SANITIZE="${FLUX_SANITIZE:-address,undefined,fuzzer}"

if ! cargo fuzz --version >/dev/null 2>&1; then
  echo "fuzz: installing cargo-fuzz" >&2
  cargo install --locked cargo-fuzz
fi

# Seed corpora (kept between runs; fuzz/corpus is ignored by git).
mkdir -p fuzz/corpus/asm fuzz/corpus/disasm fuzz/corpus/runtime fuzz/corpus/condition fuzz/corpus/replay_file
i=0
for c in "r1 == 5" "conf1 < 0.6 && r2 == 0x10 || energy <= 500" "mem32[0x8000] != -1 && trust[3] >= 0.5" \
         "pc == 24 || sp < 0xFF00 && cycles > 10" "mem8[65535] == 1 && mem16[0] >= 2" "confidence < 0.3 || R3 > -5"; do
  printf '%s' "$c" >"fuzz/corpus/condition/seed$i"
  i=$((i + 1))
done
sources=(examples/*.fasm benches/*.fasm)
for f in "${sources[@]}"; do
  [ -f "$f" ] || continue
  name="$(basename "$f" .fasm)"
  cp "$f" "fuzz/corpus/asm/$name.fasm"
done
# The assembled bytes, with the flux-gdbstub assembler: an ordinary build (no
# sanitizer), in its own target dir so that it does not fight over the project's.
asm_bin=(env -u FLUX_SANITIZE cargo run -q --bin flux-gdbstub --target-dir fuzz/target/seed --)
for f in "${sources[@]}"; do
  [ -f "$f" ] || continue
  name="$(basename "$f" .fasm)"
  out="fuzz/corpus/disasm/$name.bin"
  if [ ! -f "$out" ] && ! "${asm_bin[@]}" asm "$f" -o "$out"; then
    echo "fuzz: could not assemble $f; it seeds only the asm corpus" >&2
    rm -f "$out"
    continue
  fi
  # runtime input: a 32-byte header (fuzz/fuzz_targets/runtime.rs) then the program:
  # energy 0xFFFF*16, seed 0, 8 steps of budget 1000 with assorted actions,
  # breakpoints and watchpoints nowhere in particular; once without the
  # debugger's hooks, once with all of them (tracing, profiling, break on
  # trust failure, a conditional breakpoint and a watch-if: r5 > 5).
  for hooks in 00 1f; do
    {
      printf '\xff\xff\x00\x07'
      printf '\x06\x0a\x0e\x12\x16\x1a\x1e\x03'
      printf '\x10\x00\x20\x00\x30\x00'
      printf '\xf0\xff\x04\x01\x00\xc0\x40\x03'
      printf '\x00\xfe'
      printf "\\x$hooks\\x40\\x05\\x00"
      cat "$out"
    } >"fuzz/corpus/runtime/$name-$hooks.bin"
  done
done
# replay files: recordings of three short examples
for f in examples/fibonacci.fasm examples/confidence.fasm examples/fizzbuzz_race.fasm; do
  name="$(basename "$f" .fasm)"
  out="fuzz/corpus/replay_file/$name.replay"
  [ -f "$out" ] || "${asm_bin[@]}" run "$f" --seed 3 --record "$out" >/dev/null || true
  # the same file without its checksum line (mode byte 0: the target appends the right one)
  if [ -f "$out" ]; then { printf '\x00'; sed '$d' "$out"; } >"fuzz/corpus/replay_file/$name.body"; fi
done
# field writes into a recorded start state (mode byte 1; fuzz/fuzz_targets/replay_file.rs):
# r0 (field 0) gets 9, and byte 5 of the state gets 0xFF
printf '\x01\x00\x00\x01\x09\x00\x00\x00\x00\x00\x00\x00\x05\x80\x00\xff\x00\x00\x00\x00\x00\x00\x00' \
  >fuzz/corpus/replay_file/fields.bin

# A libFuzzer dictionary for the assembler: every mnemonic (from the opcode
# table), the directives, registers and the punctuation of the syntax.
dict=fuzz/target/asm.dict
mkdir -p fuzz/target
{
  sed -n 's/^ *X(0x[0-9A-Fa-f]*, *\([A-Z0-9_]*\),.*/"\1 "/p' runtime-c/flux_opcodes.h
  for w in DB DW DD ORG .byte .word .dword r0 r1 r9 r15 r16 r255 0x 0b 0xFFFF 65536 \
           "label:" "  0000: " ", " " ; " "'a'" '"str"' '\n' "+1" "-1"; do
    printf '"%s"\n' "$(printf '%s' "$w" | sed 's/\\/\\\\/g; s/"/\\"/g')"
  done
} >"$dict"

cargo fuzz build
status=0
for t in "${TARGETS[@]}"; do
  echo "fuzz: $t for ${SECONDS_PER_TARGET}s" >&2
  # -max_len: the runtime and disasm targets take programs up to 64 KiB.
  extra=()
  case "$t" in
    asm) max_len=8192; extra=(-dict="$dict") ;;
    condition) max_len=1024; extra=(-dict=fuzz/condition.dict) ;;
    dap) max_len=16384 ;;
    *) max_len=65564 ;;
  esac
  cargo fuzz run "$t" -- -max_total_time="$SECONDS_PER_TARGET" -max_len="$max_len" "${extra[@]}" \
    -timeout=10 -rss_limit_mb=4096 -print_final_stats=1 || status=$?
done
exit $status
