#!/usr/bin/env bash
# Load (not part of the test command): 50 concurrent clients on the loopback read instance lists,
# statistics, details and logs through the REST API while the scheduler runs 10,000 instances,
# on SQLite and then on PostgreSQL (release binary; a scratch PostgreSQL database). Prints
# p50/p95/p99 per route, the errors (the script fails on any), and the scheduler's throughput with
# and without the load. `scripts/bench-load.sh 2000 20` for a smaller run;
# NIGHTSHIFT_BENCH_ONLY=sqlite or =postgres for one database.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
. scripts/tools.sh
bench_on_both_databases scripts/bench-load.py "${1:-10000}" "${2:-50}"
