#!/usr/bin/env bash
# Command 1: installs what is missing, builds the release WASM bundle and server, and serves the
# demo project on the embedded SQLite default at http://127.0.0.1:3000 (Ctrl-C stops it).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
scripts/build-site.sh
. scripts/tools.sh
say "serving the demo project at http://${NIGHTSHIFT_LISTEN:-127.0.0.1:3000}"
exec target/release/nightshift --demo --data-dir "${NIGHTSHIFT_DATA_DIR:-$root/target/demo-data}" "$@"
