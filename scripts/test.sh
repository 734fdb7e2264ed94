#!/usr/bin/env bash
# Command 2: installs the test prerequisites, then runs every test: formatting and clippy, the
# Rust tests of the workspace (real SQLite files, real child processes), and the Playwright
# suite in Debian's chromium against a freshly started release server on its own temporary
# database and port. Exits non-zero on any failure.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
. scripts/tools.sh
ensure_build_tools "$root"
ensure_apt_package chromium chromium
ensure_cjk_font
ensure_run_user

say "rustfmt and clippy"
cargo fmt --all -- --check
cargo clippy --quiet --all-targets -- -D warnings
cargo clippy --quiet -p split -- -D warnings
cargo clippy --quiet -p app --features hydrate --target wasm32-unknown-unknown -- -D warnings

say "cargo test"
cargo test --quiet

scripts/build-site.sh

say "Playwright (Debian chromium)"
port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
data="$(mktemp -d "${TMPDIR:-/tmp}/nightshift-e2e.XXXXXX")"
trap 'rm -rf "$data"' EXIT
cd end2end
NIGHTSHIFT_E2E_PORT="$port" NIGHTSHIFT_E2E_DATA_DIR="$data" npx playwright test
say "all tests passed"
