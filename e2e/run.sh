#!/usr/bin/env bash
# End-to-end tests: unmodified MSAL clients (msal-node, MSAL Python) against
# the local identity provider `rolegate idp`, every access token checked by
# `rolegate token check`. Called by scripts/test.sh; runs on its own too:
#
#   bash e2e/run.sh
#
# On a fresh machine it needs node >= 20 with npm, python3 with the venv
# module, and the Rust toolchain; it installs the npm packages (npm ci, from
# e2e/package-lock.json) and a Python venv (e2e/.venv, from
# e2e/requirements.txt). The node and Python suites run twice: against one
# provider, then through nginx (TLS, round robin) to two replicas on one
# PostgreSQL database (e2e/replicas/balancer.sh; needs initdb, nginx and
# openssl, installed with apt-get when missing). Everything it starts listens
# on loopback and is stopped on exit. Exit status: 0 when every test passed.
#
# Environment knobs: E2E_STARTUP_TIMEOUT (seconds to wait for the provider,
# default 60), E2E_TEST_TIMEOUT (seconds per test suite, default 600).
set -euo pipefail

E2E_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$E2E_DIR/.." && pwd)"
cd "$ROOT"

STARTUP_TIMEOUT="${E2E_STARTUP_TIMEOUT:-60}"
TEST_TIMEOUT="${E2E_TEST_TIMEOUT:-600}"
OUT_DIR="$E2E_DIR/out"          # git-ignored: the provider's log
TENANT_ID="7d3e1b5a-2f4c-4e8d-9a6b-0c1d2e3f4a5b"
SECONDS=0

say() { printf '\n[e2e] %s\n' "$*"; }
die() { printf '\n[e2e] ERROR: %s\n' "$*" >&2; exit 1; }

# `timeout` bounds each suite when coreutils has it (it always does on Linux).
bounded() {
  if command -v timeout >/dev/null 2>&1; then
    timeout --kill-after=10 "$TEST_TIMEOUT" "$@"
  else
    "$@"
  fi
}

# ---------------------------------------------------------------- tools
for tool in node npm python3 cargo; do
  command -v "$tool" >/dev/null 2>&1 || die "'$tool' is not installed (needed: node >= 20 with npm, python3 with venv, cargo)"
done
NODE_MAJOR="$(node -p 'process.versions.node.split(".")[0]')"
[ "$NODE_MAJOR" -ge 20 ] || die "node $(node --version) is too old: @azure/msal-node 7 needs node >= 20"
say "node $(node --version), npm $(npm --version), $(python3 --version), $(cargo --version)"

# ---------------------------------------------------------------- npm packages
say "npm ci in e2e/ (from package-lock.json; no browsers are downloaded)"
(cd "$E2E_DIR" && PUPPETEER_SKIP_DOWNLOAD=1 PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 \
  npm ci --no-audit --no-fund --loglevel=error)
node -e 'const p=require(process.argv[1]); console.log(`[e2e] @azure/msal-node ${p.version}`)' \
  "$E2E_DIR/node_modules/@azure/msal-node/package.json"

# ---------------------------------------------------------------- Python venv
VENV="$E2E_DIR/.venv"
REQ="$E2E_DIR/requirements.txt"
if [ ! -x "$VENV/bin/python" ]; then
  say "creating the Python venv e2e/.venv"
  python3 -m venv "$VENV" || die "python3 -m venv failed (on Debian/Ubuntu: apt-get install python3-venv)"
fi
REQ_SUM="$(python3 -c 'import hashlib,sys; print(hashlib.sha256(open(sys.argv[1],"rb").read()).hexdigest())' "$REQ")"
if [ "$(cat "$VENV/.requirements.sha256" 2>/dev/null || true)" != "$REQ_SUM" ]; then
  say "pip install -r e2e/requirements.txt"
  "$VENV/bin/python" -m pip install --disable-pip-version-check -q -r "$REQ"
  echo "$REQ_SUM" > "$VENV/.requirements.sha256"
else
  say "e2e/.venv is up to date with e2e/requirements.txt"
fi
"$VENV/bin/python" -c 'import msal, pytest, requests; print(f"[e2e] msal {msal.__version__}, pytest {pytest.__version__}, requests {requests.__version__}")'

# ---------------------------------------------------------------- the CLI
say "cargo build -q -p rolegate"
cargo build -q -p rolegate
ROLEGATE="$(cd "${CARGO_TARGET_DIR:-$ROOT/target}" && pwd)/debug/rolegate"
[ -x "$ROLEGATE" ] || die "no binary at $ROLEGATE after cargo build"

# ---------------------------------------------------------------- the provider
DATA_DIR="$(mktemp -d "${TMPDIR:-/tmp}/rolegate-e2e.XXXXXX")"
CERT_DIR="$(mktemp -d "${TMPDIR:-/tmp}/rolegate-e2e-certs.XXXXXX")"
mkdir -p "$OUT_DIR"
IDP_LOG="$OUT_DIR/idp.log"
IDP_PID=""

stop_idp() {
  if [ -n "$IDP_PID" ] && kill -0 "$IDP_PID" 2>/dev/null; then
    kill -TERM "$IDP_PID" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$IDP_PID" 2>/dev/null || break; sleep 0.2; done
    kill -KILL "$IDP_PID" 2>/dev/null || true
    wait "$IDP_PID" 2>/dev/null || true
  fi
  IDP_PID=""
}
cleanup() {
  local status=$?
  if [ -n "$IDP_PID" ]; then say "stopping rolegate idp (pid $IDP_PID)"; fi
  stop_idp
  replicas_down
  rm -rf "$DATA_DIR" "$CERT_DIR"
  exit "$status"
}
# shellcheck source=e2e/replicas/balancer.sh
. "$E2E_DIR/replicas/balancer.sh"
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Certificate credentials: fresh client certificates (and their private keys)
# in a temporary folder, registered by the example tenant plus
# e2e/certificates/apps.toml (its key_credentials name files next to it).
say "client certificates and the tenant file (examples/tenant.toml + e2e/certificates/apps.toml) in $CERT_DIR"
"$VENV/bin/python" "$E2E_DIR/certificates/make.py" "$CERT_DIR" daemon reports
TENANT_FILE="$CERT_DIR/tenant.toml"
cat "$ROOT/examples/tenant.toml" "$E2E_DIR/certificates/apps.toml" > "$TENANT_FILE"

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# Answers 0 once the discovery document is served over TLS signed by the local CA.
discovery_ready() {
  python3 - "$1" "$2" <<'PY'
import json, ssl, sys, urllib.request
url, ca = sys.argv[1], sys.argv[2]
try:
    ctx = ssl.create_default_context(cafile=ca)
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}), urllib.request.HTTPSHandler(context=ctx))
    with opener.open(url, timeout=2) as r:
        sys.exit(0 if r.status == 200 and "token_endpoint" in json.load(r) else 1)
except Exception:
    sys.exit(1)
PY
}

# A port picked this way can be taken by someone else before the provider
# binds it; then the provider exits at once and we try another (3 attempts).
started=""
startup_began=$SECONDS
for attempt in 1 2 3; do
  PORT="$(free_port)"
  AUTHORITY="https://localhost:$PORT/$TENANT_ID"
  DISCOVERY="$AUTHORITY/v2.0/.well-known/openid-configuration"
  say "starting rolegate idp on 127.0.0.1:$PORT (data dir $DATA_DIR, log e2e/out/idp.log), attempt $attempt"
  # The example tenant plus the two multi-tenant sample tenants (FleetCo and
  # Partner): the multi-tenant tests sign in at /organizations.
  "$ROLEGATE" idp --config "$TENANT_FILE" \
    --config "$ROOT/examples/multi-tenant/fleetco.toml" \
    --config "$ROOT/examples/multi-tenant/partner.toml" \
    --data-dir "$DATA_DIR" --listen "127.0.0.1:$PORT" >"$IDP_LOG" 2>&1 &
  IDP_PID=$!
  deadline=$((SECONDS + STARTUP_TIMEOUT))
  CA_FILE=""
  while [ "$SECONDS" -lt "$deadline" ]; do
    if ! kill -0 "$IDP_PID" 2>/dev/null; then
      wait "$IDP_PID" 2>/dev/null || true
      IDP_PID=""
      break
    fi
    if [ -z "$CA_FILE" ]; then
      CA_FILE="$("$ROLEGATE" idp ca-path --data-dir "$DATA_DIR" 2>/dev/null || true)"
    fi
    if [ -n "$CA_FILE" ] && [ -f "$CA_FILE" ] && discovery_ready "$DISCOVERY" "$CA_FILE"; then
      started=yes
      break
    fi
    sleep 0.5
  done
  [ -n "$started" ] && break
  if [ -n "$IDP_PID" ]; then
    stop_idp
    sed 's/^/    /' "$IDP_LOG" >&2 || true
    die "rolegate idp did not answer $DISCOVERY within ${STARTUP_TIMEOUT}s"
  fi
  printf '[e2e] rolegate idp exited during start-up:\n' >&2
  sed 's/^/    /' "$IDP_LOG" >&2 || true
done
[ -n "$started" ] || die "rolegate idp could not start (3 attempts); see e2e/out/idp.log"
say "rolegate idp is up: $AUTHORITY (CA $CA_FILE) after $((SECONDS - startup_began))s"

export ROLEGATE_E2E_PORT="$PORT"
export ROLEGATE_E2E_AUTHORITY="$AUTHORITY"
export ROLEGATE_E2E_CA="$CA_FILE"
export ROLEGATE_E2E_BIN="$ROLEGATE"
export ROLEGATE_E2E_CERTS="$CERT_DIR"
# Loopback never goes through a proxy.
export NO_PROXY="localhost,127.0.0.1,::1${NO_PROXY:+,$NO_PROXY}"
export no_proxy="$NO_PROXY"

# ---------------------------------------------------------------- the tests
node_status=0
python_status=0

say "msal-node: node --test e2e/msal-node/*.test.mjs (NODE_EXTRA_CA_CERTS=$CA_FILE)"
node_started=$SECONDS
NODE_EXTRA_CA_CERTS="$CA_FILE" bounded node --test --test-reporter=spec "$E2E_DIR"/msal-node/*.test.mjs || node_status=$?
node_time=$((SECONDS - node_started))

say "MSAL Python: e2e/.venv/bin/python -m pytest -q e2e/msal-python"
python_started=$SECONDS
# An exported REQUESTS_CA_BUNDLE/CURL_CA_BUNDLE would override MSAL Python's
# verify= (the local CA); the tests drop them too, this makes it explicit.
bounded env -u REQUESTS_CA_BUNDLE -u CURL_CA_BUNDLE PYTHONDONTWRITEBYTECODE=1 \
  "$VENV/bin/python" -m pytest -q -p no:cacheprovider "$E2E_DIR/msal-python" || python_status=$?
python_time=$((SECONDS - python_started))

stop_idp

# ---------------------------------------------------------------- the same suites through a balancer
# Two replicas on one PostgreSQL database behind nginx (TLS, round robin):
# each suite's flows hop between replicas (issue 14).
replicas_status=0
say "replicas: msal-node and MSAL Python again, through nginx to two rolegate idp replicas on PostgreSQL"
replicas_started=$SECONDS
replicas_up
(
  export ROLEGATE_E2E_PORT="$BALANCER_PORT"
  export ROLEGATE_E2E_AUTHORITY="https://localhost:$BALANCER_PORT/$TENANT_ID"
  export ROLEGATE_E2E_CA="$BALANCER_CA"
  NODE_EXTRA_CA_CERTS="$BALANCER_CA" bounded node --test --test-reporter=spec "$E2E_DIR"/msal-node/*.test.mjs
) || replicas_status=$?
(
  export ROLEGATE_E2E_PORT="$BALANCER_PORT"
  export ROLEGATE_E2E_AUTHORITY="https://localhost:$BALANCER_PORT/$TENANT_ID"
  export ROLEGATE_E2E_CA="$BALANCER_CA"
  bounded env -u REQUESTS_CA_BUNDLE -u CURL_CA_BUNDLE PYTHONDONTWRITEBYTECODE=1 \
    "$VENV/bin/python" -m pytest -q -p no:cacheprovider "$E2E_DIR/msal-python"
) || replicas_status=$?
replicas_spread || replicas_status=1
replicas_down
replicas_time=$((SECONDS - replicas_started))

# ---------------------------------------------------------------- nginx, Caddy and browser tests
# gateway-nginx and gateway-caddy each start their own `rolegate idp`,
# `rolegate gateway` and Debian's nginx or Caddy (installed with apt-get
# when missing). The browser suites each start their own `rolegate demo` and
# drive Debian's Chromium (installed with apt-get when missing; never
# downloaded).
browser_status=0
browser_summary=""
for suite in gateway-nginx gateway-caddy msal-browser browser; do
  if [ -f "$E2E_DIR/$suite/run.sh" ]; then
    say "suite: e2e/$suite/run.sh"
    suite_started=$SECONDS
    suite_status=0
    ROLEGATE_E2E_BIN="$ROLEGATE" bash "$E2E_DIR/$suite/run.sh" || suite_status=$?
    browser_summary="$browser_summary, $suite $([ "$suite_status" -eq 0 ] && echo passed || echo "FAILED (exit $suite_status)") in $((SECONDS - suite_started))s"
    [ "$suite_status" -eq 0 ] || browser_status=$suite_status
  fi
done

say "summary: msal-node $([ "$node_status" -eq 0 ] && echo passed || echo "FAILED (exit $node_status)") in ${node_time}s," \
  "MSAL Python $([ "$python_status" -eq 0 ] && echo passed || echo "FAILED (exit $python_status)") in ${python_time}s," \
  "both through two replicas $([ "$replicas_status" -eq 0 ] && echo passed || echo "FAILED (exit $replicas_status)") in ${replicas_time}s${browser_summary}; total ${SECONDS}s"
if [ "$node_status" -ne 0 ] || [ "$python_status" -ne 0 ] || [ "$replicas_status" -ne 0 ] || [ "$browser_status" -ne 0 ]; then
  say "logs: e2e/out/"
  exit 1
fi
