#!/usr/bin/env bash
# Runs every test of the project on a fresh machine: the Rust unit,
# integration, property and doc tests, then the client and browser tests under
# e2e/ (which install their own npm/PyPI packages and Debian's Chromium).
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"

if command -v cargo-nextest >/dev/null 2>&1; then
  cargo nextest run --workspace --no-fail-fast
else
  cargo test --workspace --no-fail-fast
fi
cargo test --workspace --doc

if [ -x e2e/run.sh ]; then
  e2e/run.sh
fi
