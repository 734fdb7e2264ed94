#!/usr/bin/env bash
# Command 1: installs what is missing, builds the release WASM bundle and server, and serves the
# demo project on the embedded SQLite default at http://127.0.0.1:3000 (Ctrl-C stops it).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
scripts/build-site.sh
. scripts/tools.sh
ensure_run_user
# As root, the demo's commands run as the unprivileged nightshift-run, not as root.
run_as=()
if [ "$(id -u)" = 0 ]; then run_as=(--run-as "$RUN_AS_USER"); fi
say "serving the demo project at http://${NIGHTSHIFT_LISTEN:-127.0.0.1:3000}"
exec target/release/nightshift --demo --data-dir "${NIGHTSHIFT_DATA_DIR:-$root/target/demo-data}" \
  "${run_as[@]}" "$@"
