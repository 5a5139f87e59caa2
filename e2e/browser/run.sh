#!/usr/bin/env bash
# The demo app (`rolegate demo`, crates/demo/assets/) in Debian's headless
# Chromium, driven by playwright-core: sign-in through the provider's page,
# both token panes, API calls with the access token and with the ID token,
# sign-out, silent renewal, the daemon tab. Runs on its own:
#
#   bash e2e/browser/run.sh                # the tests
#   SCREENSHOTS=1 bash e2e/browser/run.sh  # the tests, then docs/img/demo-*.png
#
# Needs node >= 20 with npm and the Rust toolchain. Chromium is Debian's
# (/usr/bin/chromium), installed with apt-get when missing; no browser is ever
# downloaded (playwright-core only drives it). The tests start and stop their
# own `rolegate demo` (a free loopback port, a temporary data folder; log in
# e2e/out/browser-demo.log); failing tests leave a screenshot in e2e/out/.
#
# Environment knobs: CHROMIUM (default /usr/bin/chromium), E2E_STARTUP_TIMEOUT
# (seconds to wait for the demo and the browser, default 60), E2E_TEST_TIMEOUT
# (seconds for the whole suite, default 300), ROLEGATE_E2E_BIN (a prebuilt
# rolegate; default: build it).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
E2E_DIR="$(cd "$HERE/.." && pwd)"
ROOT="$(cd "$E2E_DIR/.." && pwd)"
cd "$ROOT"

TEST_TIMEOUT="${E2E_TEST_TIMEOUT:-300}"
export CHROMIUM="${CHROMIUM:-/usr/bin/chromium}"

say() { printf '\n[browser] %s\n' "$*"; }
die() { printf '\n[browser] ERROR: %s\n' "$*" >&2; exit 1; }

bounded() {
  if command -v timeout >/dev/null 2>&1; then
    timeout --kill-after=10 "$TEST_TIMEOUT" "$@"
  else
    "$@"
  fi
}

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
node -e 'const j = require(process.argv[1]); console.log(`[browser] ${j.name} ${j.version}`)' \
  "$E2E_DIR/node_modules/playwright-core/package.json"

# ---------------------------------------------------------------- the CLI (the app is embedded in it)
if [ -z "${ROLEGATE_E2E_BIN:-}" ]; then
  say "cargo build -q -p rolegate"
  cargo build -q -p rolegate
  ROLEGATE_E2E_BIN="$(cd "${CARGO_TARGET_DIR:-$ROOT/target}" && pwd)/debug/rolegate"
fi
[ -x "$ROLEGATE_E2E_BIN" ] || die "no rolegate binary at $ROLEGATE_E2E_BIN"
export ROLEGATE_E2E_BIN

# Loopback never goes through a proxy.
export NO_PROXY="localhost,127.0.0.1,::1${NO_PROXY:+,$NO_PROXY}"
export no_proxy="$NO_PROXY"

# ---------------------------------------------------------------- the tests
# The files are named explicitly: node 20 expands a directory argument, newer
# node versions treat arguments as glob patterns.
say "node --test e2e/browser/*.test.mjs"
status=0
bounded node --test --test-reporter=spec "$HERE"/*.test.mjs || status=$?
if [ "$status" -ne 0 ]; then
  say "FAILED (exit $status); see e2e/out/browser-demo.log and e2e/out/browser-failure-*.png"
  exit 1
fi
say "passed"

if [ "${SCREENSHOTS:-}" = 1 ]; then
  say "screenshots into docs/img/"
  bounded node "$HERE/screenshots.mjs"
fi
