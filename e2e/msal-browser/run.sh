#!/usr/bin/env bash
# The unmodified @azure/msal-browser in a real headless Chromium against
# `rolegate demo` (sign-in by redirect, silent token, refresh over CORS, Orders
# API call), then against `rolegate idp` serving two tenants (sign-in at the
# `organizations` authority with a multi-tenant SPA). Runs on its own:
#
#   bash e2e/msal-browser/run.sh
#
# Needs node >= 20 with npm and the Rust toolchain. Chromium is Debian's
# (/usr/bin/chromium), installed with apt-get when missing; no browser is ever
# downloaded (playwright-core only drives it). The test itself starts and
# stops the providers (a free port, a temporary data folder) and the page's
# static server on localhost:5173 (the registered SPA redirect URI, so that
# port must be free).
#
# Environment knobs: CHROMIUM (default /usr/bin/chromium), E2E_STARTUP_TIMEOUT
# (seconds to wait for the provider and the browser, default 60),
# E2E_TEST_TIMEOUT (seconds for the whole suite, default 300).
# On failure: e2e/out/msal-browser-diagnostics.txt (every browser request and
# response, console, msal-browser's log, provider stderr); every run writes
# e2e/out/msal-browser-trace.txt.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
E2E_DIR="$(cd "$HERE/.." && pwd)"
ROOT="$(cd "$E2E_DIR/.." && pwd)"
cd "$ROOT"

TEST_TIMEOUT="${E2E_TEST_TIMEOUT:-300}"
export CHROMIUM="${CHROMIUM:-/usr/bin/chromium}"

say() { printf '\n[msal-browser] %s\n' "$*"; }
die() { printf '\n[msal-browser] ERROR: %s\n' "$*" >&2; exit 1; }

for tool in node npm cargo; do
  command -v "$tool" >/dev/null 2>&1 || die "'$tool' is not installed (needed: node >= 20 with npm, cargo)"
done
NODE_MAJOR="$(node -p 'process.versions.node.split(".")[0]')"
[ "$NODE_MAJOR" -ge 20 ] || die "node $(node --version) is too old (playwright-core needs node >= 20)"

# ---------------------------------------------------------------- Chromium (Debian's, never downloaded)
if [ ! -x "$CHROMIUM" ]; then
  [ "$CHROMIUM" = /usr/bin/chromium ] || die "CHROMIUM=$CHROMIUM is not executable"
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null 2>&1 || die "/usr/bin/chromium is missing and installing it needs root: apt-get install -y chromium"
    SUDO="sudo"
  fi
  say "installing Debian's chromium (apt-get)"
  $SUDO apt-get update -q
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends chromium
fi
# (Debian's /usr/bin/chromium wrapper may print a harmless "[: …: unexpected operator" line.)
say "$("$CHROMIUM" --version 2>/dev/null | tail -n 1)"

# ---------------------------------------------------------------- npm packages
say "npm ci in e2e/ (from package-lock.json; no browsers are downloaded)"
(cd "$E2E_DIR" && PUPPETEER_SKIP_DOWNLOAD=1 PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 \
  npm ci --no-audit --no-fund --loglevel=error)
node -e 'for (const p of process.argv.slice(1)) { const j = require(p); console.log(`[msal-browser] ${j.name} ${j.version}`); }' \
  "$E2E_DIR/node_modules/@azure/msal-browser/package.json" "$E2E_DIR/node_modules/playwright-core/package.json"

# ---------------------------------------------------------------- the CLI
say "cargo build -q -p rolegate"
cargo build -q -p rolegate
ROLEGATE_E2E_BIN="$(cd "${CARGO_TARGET_DIR:-$ROOT/target}" && pwd)/debug/rolegate"
[ -x "$ROLEGATE_E2E_BIN" ] || die "no binary at $ROLEGATE_E2E_BIN after cargo build"
export ROLEGATE_E2E_BIN

# Loopback never goes through a proxy.
export NO_PROXY="localhost,127.0.0.1,::1${NO_PROXY:+,$NO_PROXY}"
export no_proxy="$NO_PROXY"

# ---------------------------------------------------------------- the test
# The files are named explicitly: node 20 expands a directory argument, newer
# node versions treat arguments as glob patterns.
say "node --test e2e/msal-browser/*.test.mjs"
status=0
if command -v timeout >/dev/null 2>&1; then
  timeout --kill-after=10 "$TEST_TIMEOUT" node --test --test-reporter=spec "$HERE"/*.test.mjs || status=$?
else
  node --test --test-reporter=spec "$HERE"/*.test.mjs || status=$?
fi
if [ "$status" -ne 0 ]; then
  say "FAILED (exit $status); see e2e/out/msal-browser-diagnostics.txt"
  exit 1
fi
say "passed"
