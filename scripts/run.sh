#!/usr/bin/env bash
# Builds (release) and runs one chat-node. With no arguments it starts a single-node
# cluster on 127.0.0.1:8080 with its data in ./chat-data and prints how to log in.
#   bash scripts/run.sh [chat-node flags...]      e.g. bash scripts/run.sh --help
# The binary ends up in $CARGO_TARGET_DIR/release/chat-node (default ~/.cache/chat-target).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

bash "$ROOT/scripts/setup.sh" --build-deps-only >&2

if ! command -v cargo >/dev/null 2>&1 && [ -f "$HOME/.cargo/env" ]; then
    . "$HOME/.cargo/env"
fi
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/chat-target}"

# --manifest-path keeps the caller's working directory, so relative paths in the
# arguments (and the default ./chat-data) are relative to where you ran the script.
exec cargo run --manifest-path "$ROOT/Cargo.toml" --release -p node --bin chat-node -- "$@"
