#!/usr/bin/env bash
# Builds the release WASM bundle and CSS into target/site/pkg, and the release server binary
# target/release/nightshift. Installs the build tools first if they are missing.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
. scripts/tools.sh
ensure_build_tools "$root"

pkg=target/site/pkg
say "building the WASM bundle"
cargo build --quiet -p frontend --lib --target wasm32-unknown-unknown --profile wasm-release
mkdir -p "$pkg"
wasm-bindgen --target web --no-typescript --out-dir "$pkg" --out-name nightshift \
  target/wasm32-unknown-unknown/wasm-release/frontend.wasm
wasm-opt -Oz --converge --enable-bulk-memory --enable-nontrapping-float-to-int --enable-sign-ext \
  --enable-mutable-globals --enable-reference-types --enable-multivalue \
  -o "$pkg/nightshift_bg.wasm" "$pkg/nightshift_bg.wasm"
cp style/main.css "$pkg/nightshift.css"
# Precompressed copies: the static file handler serves them to browsers that accept gzip.
# zopfli writes ordinary gzip, about 5% smaller than gzip -9.
for file in "$pkg/nightshift_bg.wasm" "$pkg/nightshift.js" "$pkg/nightshift.css"; do
  rm -f "$file.gz"
  zopfli --gzip "$file"
done

say "building the server"
cargo build --quiet -p server --release --bin nightshift
