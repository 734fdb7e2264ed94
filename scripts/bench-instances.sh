#!/usr/bin/env bash
# The instance list and its statistics at millions of instances (not part of the test command):
# seeds N instances (default 5,000,000: 10,000 nodes x 500 run dates, 200 owners, 100 workflows,
# mostly successes with failures, stops, backfills, tests and tomorrow's waiting instances) on
# SQLite and then on PostgreSQL, starts the release server on each, and prints the p50/p95 of the
# list page and of its statistics, through the REST API, for each filter shape; also how long the
# seeding took. `scripts/bench-instances.sh 1000000` for a quicker run; NIGHTSHIFT_BENCH_ONLY=sqlite
# or =postgres for one database.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
. scripts/tools.sh
bench_on_both_databases scripts/bench-instances.py "${1:-5000000}"
