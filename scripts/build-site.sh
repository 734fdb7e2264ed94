#!/usr/bin/env bash
# Builds the release WASM bundle and CSS into target/site/pkg, and the release server binary
# target/release/nightshift. Installs the build tools first if they are missing.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
. scripts/tools.sh
ensure_build_tools "$root"

pkg=target/site/pkg
out=target/wasm32-unknown-unknown/wasm-release
say "building the WASM bundle"
cargo build --quiet -p frontend --lib --target wasm32-unknown-unknown --profile wasm-release
cargo build --quiet -p split --release
rm -rf "$pkg" && mkdir -p "$pkg"
# Cut the bundle at the lazy routes: chunks, their loader and the manifest go to pkg/, the main
# module to wasm-bindgen.
target/release/nightshift-split "$out/frontend.wasm" "$pkg" "$out/frontend_split.wasm" \
  /pkg/nightshift.js >/dev/null
wasm-bindgen --target web --no-typescript --keep-lld-exports --out-dir "$pkg" --out-name nightshift \
  "$out/frontend_split.wasm"
for wasm in "$pkg"/*.wasm; do
  wasm-opt -Oz --converge --enable-bulk-memory --enable-nontrapping-float-to-int \
    --enable-sign-ext --enable-mutable-globals --enable-reference-types --enable-multivalue \
    -o "$wasm" "$wasm" 2> >(grep -v 'unknown name subsection' >&2)
done
cp style/main.css "$pkg/nightshift.css"
# Precompressed copies: the static file handler serves them to browsers that accept gzip.
# zopfli writes ordinary gzip, about 5% smaller than gzip -9.
for file in "$pkg"/*.wasm "$pkg"/*.js "$pkg/nightshift.css"; do
  zopfli --gzip "$file"
done

say "building the server"
cargo build --quiet -p server --release --bin nightshift
