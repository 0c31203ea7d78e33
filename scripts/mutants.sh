#!/usr/bin/env bash
# Mutation testing: plants small bugs one at a time and reports which ones no
# test caught (issue 18).  Not part of .ci/run: it is for people, and slow
# (a mutant is a rebuild and a run of the tests that cover it).
#
#   scripts/mutants.sh [--c] [--rust] [--sample N] [--seed S] [--timeout SECS]
#
#   --c       runtime-c: scripts/mutate_c.py (comparison operators, && and ||,
#             off-by-one in bounds and lengths, swapped flag helpers, energy costs;
#             every runtime-c/*.c and *.h)
#   --rust    cargo-mutants' mutants of the modules of .cargo/mutants.toml, each
#             tested with the test targets that cover its module, as runtime-c's
#             are (scripts/mutate_rust.py); cargo-mutants is installed with
#             `cargo install --locked cargo-mutants` when missing
#   (neither: both)
#   --sample N --seed S   N random mutants of each side (default 20, seed 0)
#
# Both work on a copy of the tree (target/mutants/tree) built in their own
# target dir (target/mutants/target, seeded once from target/debug), so the
# tree you edit and its build are left alone; do not run two at once.  Each
# prints its kill rate and the survivors; tests/MUTANTS.md lists the
# survivors that are equivalent (nothing observable changes) and why.
set -euo pipefail
cd "$(dirname "$0")/.."

C=0
RUST=0
SAMPLE=20
SEED=0
TIMEOUT=300
usage() { sed -n '2,/^set /{/^#/p}' "$0" | sed 's/^# \{0,1\}//'; }
while [ $# -gt 0 ]; do
  case "$1" in
    --c) C=1; shift ;;
    --rust) RUST=1; shift ;;
    --sample) SAMPLE=${2:?--sample needs a number}; shift 2 ;;
    --seed) SEED=${2:?--seed needs a number}; shift 2 ;;
    --timeout) TIMEOUT=${2:?--timeout needs seconds}; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) echo "mutants: unknown argument '$1'" >&2; usage >&2; exit 2 ;;
  esac
done
[ "$C" = 1 ] || [ "$RUST" = 1 ] || { C=1; RUST=1; }

if [ "$C" = 1 ]; then
  echo "mutants: runtime-c, $SAMPLE mutants, seed $SEED" >&2
  python3 scripts/mutate_c.py --sample "$SAMPLE" --seed "$SEED" --timeout "$TIMEOUT"
fi
if [ "$RUST" = 1 ]; then
  if ! cargo mutants --version >/dev/null 2>&1; then
    echo "mutants: installing cargo-mutants" >&2
    cargo install --locked cargo-mutants
  fi
  echo "mutants: Rust, $SAMPLE mutants, seed $SEED" >&2
  python3 scripts/mutate_rust.py --sample "$SAMPLE" --seed "$SEED" --timeout "$TIMEOUT"
fi
