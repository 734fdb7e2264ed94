#!/usr/bin/env bash
# Reliability check (not part of the test command): runs scripts/chaos.py RUNS times (default 5)
# against the release server. Each run kills the server with SIGKILL a dozen times while a
# 321-instance project runs, starts it again, and counts lost instances, double runs, order
# violations, unreadable logs, open attempts and orphan processes; every count must be 0.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
. scripts/tools.sh
ensure_cargo_path
runs="${1:-5}"
cargo build --quiet --release -p server --bin nightshift
failed=0
for run in $(seq "$runs"); do
  printf 'run %s: ' "$run"
  python3 scripts/chaos.py target/release/nightshift || failed=1
done
exit "$failed"
