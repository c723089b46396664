#!/usr/bin/env bash
# The project's test command (the README's and CI's):
#   bash scripts/test.sh [extra args for the test binaries, e.g. a test-name filter]
# Installs missing dependencies, builds the debug chat-node binary the integration tests
# start as real processes, then runs every test of the workspace.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

bash scripts/setup.sh

# cargo from rustup and pip --user binaries (nats-server) may not be on PATH yet.
if ! command -v cargo >/dev/null 2>&1 && [ -f "$HOME/.cargo/env" ]; then
    . "$HOME/.cargo/env"
fi
case ":$PATH:" in *":$HOME/.local/bin:"*) ;; *) [ -d "$HOME/.local/bin" ] && PATH="$PATH:$HOME/.local/bin" ;; esac
export PATH

# One shared target dir for scripts, CI and README users (RocksDB takes long to build).
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/chat-target}"
# The integration tests start this binary.
export CHAT_NODE_BIN="$CARGO_TARGET_DIR/debug/chat-node"

cargo build -p node
cargo test --workspace -- --test-threads=2 "$@"
