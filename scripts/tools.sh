# Sourced by the other scripts: installs what the build and the tests need, once, quietly.
# Every function is idempotent: it checks first and does nothing when the tool is there.

WASM_BINDGEN_VERSION=0.2.130   # must equal the wasm-bindgen version in Cargo.lock

say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

ensure_cargo_path() {
  case ":$PATH:" in *":$HOME/.cargo/bin:"*) ;; *) export PATH="$HOME/.cargo/bin:$PATH" ;; esac
}

ensure_wasm_target() {
  if ! rustup target list --installed 2>/dev/null | grep -qx wasm32-unknown-unknown; then
    say "adding the wasm32-unknown-unknown target"
    rustup target add wasm32-unknown-unknown >&2
  fi
}

ensure_wasm_bindgen() {
  if [ "$(wasm-bindgen --version 2>/dev/null)" != "wasm-bindgen $WASM_BINDGEN_VERSION" ]; then
    say "installing wasm-bindgen-cli $WASM_BINDGEN_VERSION (about 2 minutes, once)"
    # --locked fails: its lockfile wants a crate version the registry lacks.
    cargo install --quiet --force wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION" >&2
  fi
}

ensure_npm_packages() {
  local dir="$1/end2end"
  if [ ! -x "$dir/node_modules/.bin/wasm-opt" ] || [ ! -x "$dir/node_modules/.bin/playwright" ] \
     || [ "$dir/package-lock.json" -nt "$dir/node_modules/.package-lock.json" ]; then
    say "installing npm packages of end2end/ (binaryen's wasm-opt, Playwright)"
    (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error >&2)
  fi
  # npm binaryen, never Debian's (its wasm-opt 108 breaks hydration).
  export PATH="$dir/node_modules/.bin:$PATH"
}

ensure_apt_package() {
  local command="$1" package="$2"
  if ! command -v "$command" >/dev/null 2>&1; then
    say "installing Debian's $package"
    if [ "$(id -u)" = 0 ]; then
      DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$package" >&2 \
        || { apt-get update -q >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$package" >&2; }
    else
      sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$package" >&2
    fi
  fi
}

# A font with Chinese characters, so the browser tests (and their screenshots) show the zh-CN
# pages as people see them, not as empty boxes.
ensure_cjk_font() {
  if ! fc-list :lang=zh-cn 2>/dev/null | grep -q .; then
    say "installing Debian's fonts-noto-cjk"
    if [ "$(id -u)" = 0 ]; then
      DEBIAN_FRONTEND=noninteractive apt-get install -y -q fonts-noto-cjk >&2 \
        || { apt-get update -q >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q fonts-noto-cjk >&2; }
    else
      sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -q fonts-noto-cjk >&2
    fi
  fi
}

# The unprivileged user commands run as when the server runs as root (`--run-as`): no home, no
# shell, its own group. Only root can make it; others run commands as themselves.
RUN_AS_USER=nightshift-run

ensure_run_user() {
  if [ "$(id -u)" = 0 ] && ! id -u "$RUN_AS_USER" >/dev/null 2>&1; then
    say "adding the user $RUN_AS_USER that commands run as"
    useradd --system --user-group --no-create-home --home-dir /nonexistent \
      --shell /usr/sbin/nologin "$RUN_AS_USER" >&2
  fi
}

ensure_build_tools() {
  ensure_cargo_path
  ensure_wasm_target
  ensure_wasm_bindgen
  ensure_npm_packages "$1"
  ensure_apt_package zopfli zopfli
}
