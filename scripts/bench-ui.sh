#!/usr/bin/env bash
# UI benchmark (not a test): seeds a database with about a million instances and a 2,000-node
# DAG, starts the release server on it, and measures in Debian's chromium the time from
# navigation to a usable (hydrated, rows shown) instance list and to a rendered 2,000-node flow
# view. Also prints the gzipped size of the WASM main module and of the lazily loaded pages. Run
# after scripts/build-site.sh.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
. scripts/tools.sh
ensure_npm_packages "$root"
data="$(mktemp -d "${TMPDIR:-/tmp}/nightshift-bench-ui.XXXXXX")"
port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
trap 'kill "$server" 2>/dev/null || true; [ -n "${NIGHTSHIFT_BENCH_KEEP:-}" ] || rm -rf "$data"' EXIT
# The benchmark signs in as an administrator of its own.
NIGHTSHIFT_PASSWORD=bench-password target/release/nightshift user add --name bench --role admin \
  --data-dir "$data" >/dev/null
NIGHTSHIFT_LOG=warn target/release/nightshift --listen "127.0.0.1:$port" --data-dir "$data" \
  --site-root "$root/target/site" &
server=$!
until curl -sf "http://127.0.0.1:$port/api/v1/health" >/dev/null; do sleep 0.2; done
echo "data: $data" >&2
node end2end/bench/ui-bench.mjs "http://127.0.0.1:$port"
pkg=target/site/pkg
printf 'gzipped WASM main module (all the instance lists need): %s KB (target <= 450 KB)\n' \
  "$(( $(stat -c %s $pkg/nightshift_bg.wasm.gz) / 1024 ))"
printf 'gzipped lazily loaded pages: %s split modules of %s-%s KB, plus %s KB of shared chunks\n' \
  "$(ls $pkg/split___*.wasm.gz | wc -l)" \
  "$(( $(stat -c %s $pkg/split___*.wasm.gz | sort -n | head -1) / 1024 ))" \
  "$(( $(stat -c %s $pkg/split___*.wasm.gz | sort -n | tail -1) / 1024 ))" \
  "$(( $(cat $pkg/chunk_*.wasm.gz | wc -c) / 1024 ))"
