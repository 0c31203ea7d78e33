#!/usr/bin/env bash
# Set up the machine (only what is missing), build, and run the whole suite:
# unit tests, the per-opcode tests through the bindings, and the integration
# tests that drive real gdb, gdb/MI and lldb against the stub.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh
cargo build --all-targets --locked 2>&1 | tail -n 3
cargo test --locked --no-fail-fast 2>&1
