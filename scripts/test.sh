#!/usr/bin/env bash
# Runs every test of the project on a fresh machine: the Rust unit,
# integration, property and doc tests, then the client and browser tests under
# e2e/ (which install their own npm/PyPI packages and Debian's Chromium).
#
# The PostgreSQL store tests run against the server ROLEGATE_TEST_POSTGRES
# names (a URL whose user may create databases; each test makes its own).
# When it is unset, this script starts a throw-away cluster on loopback with
# scripts/pg-test-cluster.sh (installing Debian's postgresql with apt-get when
# initdb is missing) and stops it at exit. If that is impossible, the Rust
# tests say loudly that they skipped PostgreSQL (and fail when CI is set).
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"

if [ -z "${ROLEGATE_TEST_POSTGRES:-}" ]; then
  if scripts/pg-test-cluster.sh install; then
    pg_dir=$(mktemp -d "${TMPDIR:-/tmp}/rolegate-pg.XXXXXX")
    trap 'scripts/pg-test-cluster.sh stop "$pg_dir"' EXIT
    ROLEGATE_TEST_POSTGRES=$(scripts/pg-test-cluster.sh start "$pg_dir")
    export ROLEGATE_TEST_POSTGRES
    echo "== PostgreSQL store tests against a throw-away cluster: $ROLEGATE_TEST_POSTGRES"
  else
    echo "==== NO POSTGRESQL: the PostgreSQL store tests will be SKIPPED (set ROLEGATE_TEST_POSTGRES) ====" >&2
  fi
else
  echo "== PostgreSQL store tests against ROLEGATE_TEST_POSTGRES"
fi

if command -v cargo-nextest >/dev/null 2>&1; then
  cargo nextest run --workspace --no-fail-fast
else
  cargo test --workspace --no-fail-fast
fi
cargo test --workspace --doc

if [ -x e2e/run.sh ]; then
  e2e/run.sh
fi
