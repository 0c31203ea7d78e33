#!/usr/bin/env bash
# Packages the VS Code extension (editors/vscode) to a .vsix with @vscode/vsce.
# Usage: scripts/package-vscode.sh [OUT.vsix]   (default: target/flux-debug.vsix)
# npm comes from scripts/setup.sh (Debian's nodejs and npm); vsce is pinned by
# editors/vscode/package-lock.json and installed with `npm ci`.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
out="${1:-$root/target/flux-debug.vsix}"
case "$out" in /*) ;; *) out="$PWD/$out" ;; esac
command -v npm >/dev/null 2>&1 || { echo "package-vscode: npm not found (scripts/setup.sh installs it)" >&2; exit 2; }
python3 "$root/scripts/gen-fasm-grammar.py" --check
cd "$root/editors/vscode"
npm ci --no-audit --no-fund --loglevel=error >&2
mkdir -p "$(dirname "$out")"
npx --no-install vsce package --allow-missing-repository --skip-license --out "$out" >&2
echo "$out"
