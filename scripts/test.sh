#!/usr/bin/env bash
# Set up the machine (only what is missing), build, and run the whole suite:
# unit tests, the per-opcode tests through the bindings, the integration tests
# that drive real gdb, gdb/MI and lldb against the stub, and the library
# walk-through example.  Ends with one line: "tests: N passed, M failed".
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh
cargo build --all-targets --locked 2>&1 | tail -n 3

echo "== cargo run --example seed_readme"
cargo run --locked --quiet --example seed_readme

log=$(mktemp)
trap 'rm -f "$log"' EXIT
set +e
cargo test --locked --no-fail-fast --tests 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
set -e
passed=$(awk '/^test result:/ { for (i = 1; i <= NF; i++) if ($(i+1) ~ /^passed;?$/) s += $i } END { print s + 0 }' "$log")
failed=$(awk '/^test result:/ { for (i = 1; i <= NF; i++) if ($(i+1) ~ /^failed;?$/) s += $i } END { print s + 0 }' "$log")
echo "tests: $passed passed, $failed failed"
if [ "$passed" -eq 0 ]; then
  echo "test.sh: no test ran" >&2
  exit 1
fi
exit "$status"
