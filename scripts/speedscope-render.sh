#!/usr/bin/env bash
# Renders a speedscope profile (run --profile, monitor profile save) in
# speedscope under headless Chromium and writes screenshots of its views:
#
#   scripts/speedscope-render.sh PROFILE.json OUT_PREFIX [WIDTHxHEIGHT]
#
# writes OUT_PREFIX-time-order.png and OUT_PREFIX-left-heavy.png (default
# 1600x900).  speedscope (the npm package) is installed on first use into
# ${FLUX_SPEEDSCOPE_DIR:-~/.cache/flux-speedscope}; Chromium is Debian's
# (`apt-get install chromium`), found as chromium, chromium-browser or
# $CHROMIUM.  The profile is served to speedscope from 127.0.0.1 on a free
# port for the time of the screenshots (speedscope loads a profile URL only
# over http).
set -euo pipefail

if [[ $# -lt 2 || $# -gt 3 ]]; then
    echo "usage: $0 PROFILE.json OUT_PREFIX [WIDTHxHEIGHT]" >&2
    exit 2
fi
profile=$1
prefix=$2
size=${3:-1600x900}
if [[ ! -f $profile ]]; then
    echo "$0: $profile: no such file" >&2
    exit 2
fi
if [[ ! $size =~ ^[0-9]+x[0-9]+$ ]]; then
    echo "$0: $size: not WIDTHxHEIGHT" >&2
    exit 2
fi

chromium=${CHROMIUM:-}
if [[ -z $chromium ]]; then
    chromium=$(command -v chromium || command -v chromium-browser || true)
fi
if [[ -z $chromium ]]; then
    echo "$0: no Chromium (apt-get install chromium, or set CHROMIUM)" >&2
    exit 2
fi

dir=${FLUX_SPEEDSCOPE_DIR:-$HOME/.cache/flux-speedscope}
release=$dir/node_modules/speedscope/dist/release
if [[ ! -f $release/index.html ]]; then
    echo "$0: installing speedscope into $dir (once)" >&2
    mkdir -p "$dir"
    npm install --prefix "$dir" --no-audit --no-fund speedscope >&2
fi

site=$(mktemp -d)
server=
cleanup() {
    if [[ -n $server ]]; then kill "$server" 2>/dev/null || true; fi
    rm -rf "$site"
}
trap cleanup EXIT
cp -r "$release"/. "$site"/
cp "$profile" "$site/profile.speedscope.json"

# a free port: the server binds port 0 and says which it got
python3 -u -m http.server 0 --bind 127.0.0.1 --directory "$site" >"$site.log" 2>&1 &
server=$!
port=
for _ in $(seq 100); do
    port=$(sed -n 's/.*port \([0-9]*\).*/\1/p' "$site.log" | head -1)
    [[ -n $port ]] && break
    sleep 0.1
done
rm -f "$site.log"
if [[ -z $port ]]; then
    echo "$0: the local http server did not start" >&2
    exit 1
fi

name=$(basename "$profile")
shoot() {
    local view=$1 out=$2
    local url="http://127.0.0.1:$port/index.html#profileURL=/profile.speedscope.json&title=$name&view=$view"
    "$chromium" --headless --no-sandbox --disable-gpu --hide-scrollbars --no-first-run \
        --user-data-dir="$site/.chromium" --window-size="${size/x/,}" \
        --virtual-time-budget=15000 --screenshot="$out" "$url" >/dev/null 2>&1
    if [[ ! -s $out ]]; then
        echo "$0: Chromium wrote no screenshot for $view" >&2
        exit 1
    fi
    echo "$out"
}
shoot time-ordered "$prefix-time-order.png"
shoot left-heavy "$prefix-left-heavy.png"
