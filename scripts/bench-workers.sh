#!/usr/bin/env bash
# Throughput of worker processes on one PostgreSQL (not part of the test command): 2,000 tasks
# that sleep 50 ms in a 24-slot group, run by one scheduler and 1, then 3, workers of 8 slots
# each (`--worker-slots 8`); prints tasks per second and the ratio; then the engine benchmark
# (40-task chain, 100 chains x 10) on PostgreSQL. Uses the release binary and
# a scratch database (Debian's PostgreSQL, started where needed, dropped at the end).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
. scripts/tools.sh
ensure_cargo_path
postgres_scratch_database
cargo build --quiet --release -p server --bin nightshift
python3 scripts/bench-workers.py target/release/nightshift "${1:-2000}"
echo "engine on PostgreSQL (SQLite: cargo bench -p server --bench engine):"
NIGHTSHIFT_BENCH_POSTGRES_URL="$NIGHTSHIFT_TEST_POSTGRES_URL" cargo bench --quiet -p server --bench engine
