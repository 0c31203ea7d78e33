#!/usr/bin/env bash
# Installs what the build, the tests and the benchmarks need, with apt-get, only when missing.
# Safe to run again: it checks each tool first and does nothing when everything is there.
set -euo pipefail

need=()
have_cmd() { command -v "$1" >/dev/null 2>&1; }
have_pkg() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }

have_pkg libclang-dev || need+=(libclang-dev)   # bindgen loads libclang
have_pkg clang        || need+=(clang)          # bindgen's header search; cargo-fuzz sanitizers
have_cmd gdb          || need+=(gdb)
have_cmd lldb         || need+=(lldb)
have_cmd gdbserver    || need+=(gdbserver)      # bench: stepi rate against a native program
have_cmd lua5.4       || need+=(lua5.4)         # bench: fib(30) peer
have_cmd capnp        || need+=(capnproto)      # runtime_tracing's build script
have_cmd python3      || need+=(python3)
python3 -m pip --version >/dev/null 2>&1 || need+=(python3-pip)   # Dask for scripts/explore_dask.py
have_cmd unzip        || need+=(unzip)          # tests/vscode_extension.rs reads the .vsix
[ -x /usr/bin/time ]  || need+=(time)           # bench: peak RSS of a run
have_cmd cc           || need+=(gcc)
have_cmd node         || need+=(nodejs)         # tests/dap: Microsoft's DAP test client
have_cmd npm          || need+=(npm)            # tests/dap and editors/vscode (@vscode/vsce) install with npm ci

if [ ${#need[@]} -gt 0 ]; then
  echo "setup: installing ${need[*]}" >&2
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

# Debian names lldb's binary lldb-NN; make sure plain `lldb` resolves.
if ! have_cmd lldb; then
  for c in /usr/bin/lldb-*; do
    case "$c" in */lldb-[0-9]*) ;; *) continue ;; esac
    [ -x "$c" ] && ln -sf "$c" /usr/local/bin/lldb && break
  done
fi

# scripts/flux-gdb.py needs gdb's Python disassembler API (gdb 13 or newer).
if have_cmd gdb && ! gdb -batch -nx -ex 'python import gdb.disassembler' >/dev/null 2>&1; then
  echo "setup: warning: this gdb has no Python disassembler API (gdb >= 13 with Python): scripts/flux-gdb.py will not load" >&2
fi

# scripts/explore_dask.py (explore on a Dask cluster) and its test need Dask distributed.
if have_cmd python3 && ! python3 -c 'import dask.distributed' >/dev/null 2>&1; then
  echo "setup: installing dask[distributed] with pip" >&2
  python3 -m pip install -q 'dask[distributed]' >&2 || python3 -m pip install -q --break-system-packages 'dask[distributed]' >&2
fi

# tests/dap.rs drives the DAP server with @vscode/debugadapter-testsupport,
# pinned by tests/dap/package-lock.json.
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
if [ ! -d "$repo/tests/dap/node_modules" ]; then
  echo "setup: npm ci in tests/dap" >&2
  (cd "$repo/tests/dap" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
fi

if ! have_cmd cargo; then
  echo "setup: cargo not found; install a Rust toolchain (rustup) first" >&2
  exit 1
fi
echo "setup: ok (gdb $(gdb --version | head -1 | awk '{print $NF}'), lldb $(lldb --version 2>/dev/null | head -1 | awk '{print $3}'))" >&2
