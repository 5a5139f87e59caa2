#!/usr/bin/env bash
# Real Caddy (Debian's package) with `forward_auth` to `rolegate gateway`'s
# /.rolegate/auth, in front of the echo upstream of the nginx suite, with
# `rolegate idp` as the authority and real tokens: the Orders daemon's
# (`rolegate token get --client-credentials`), and users' access and ID
# tokens (password grant). Called by e2e/run.sh; runs on its own too:
#
#   bash e2e/gateway-caddy/run.sh
#
# Caddy is installed with apt-get when missing (root, or sudo). Everything
# (provider, gateway, Caddy, echo upstream) listens on 127.0.0.1 and is
# stopped on exit; Caddy runs as a child process (`caddy run`) with
# e2e/gateway-caddy/Caddyfile, no admin endpoint, and HOME/XDG folders in a
# temporary folder (no system service). The tests run with pytest from
# e2e/.venv (created from e2e/requirements.txt when missing or stale, as
# e2e/run.sh does). Logs are copied to e2e/out/gateway-caddy-*.log on failure.
#
# Environment knobs: ROLEGATE_E2E_BIN (a prebuilt rolegate; default: build
# it), CADDY (default /usr/bin/caddy), E2E_STARTUP_TIMEOUT (seconds to wait
# for each server, default 60), E2E_TEST_TIMEOUT (seconds for the tests,
# default 120).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
E2E_DIR="$(cd "$HERE/.." && pwd)"
ROOT="$(cd "$E2E_DIR/.." && pwd)"
cd "$ROOT"

STARTUP_TIMEOUT="${E2E_STARTUP_TIMEOUT:-60}"
TEST_TIMEOUT="${E2E_TEST_TIMEOUT:-120}"
TENANT_ID="7d3e1b5a-2f4c-4e8d-9a6b-0c1d2e3f4a5b"
API="8a1f6c2e-4b7d-4e9a-b3c5-6d7e8f9a0b1c"
DAEMON="7fbf04bb-64db-4661-a8cd-d2d07d250ad8"
DAEMON_SECRET="daemon-secret-8Qx3vT7pLm2Zr9Wc"
CLI="c2e9bc59-4581-415a-9b7f-78e66989c5c8"
API_SECRET="orders-api-secret-4Kd9Wq2Zr7Lm3Tx8"

say() { printf '\n[gateway-caddy] %s\n' "$*"; }
die() { printf '\n[gateway-caddy] ERROR: %s\n' "$*" >&2; exit 1; }

command -v python3 >/dev/null 2>&1 || die "'python3' is not installed"
if [ -z "${ROLEGATE_E2E_BIN:-}" ]; then
  command -v cargo >/dev/null 2>&1 || die "'cargo' is not installed (or set ROLEGATE_E2E_BIN)"
fi

# ---------------------------------------------------------------- Caddy (Debian's)
CADDY="${CADDY:-/usr/bin/caddy}"
if [ ! -x "$CADDY" ]; then
  [ "$CADDY" = /usr/bin/caddy ] || die "CADDY=$CADDY is not executable"
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null 2>&1 || die "caddy is missing and installing it needs root: apt-get install -y caddy"
    SUDO="sudo"
  fi
  # The package's postinst would start the system service (port 80 on every
  # interface); a policy-rc.d that says "no" (exit 101) prevents it, as in
  # Debian's container images. Ours is removed again after the install.
  POLICY=""
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    POLICY=/usr/sbin/policy-rc.d
    printf '#!/bin/sh\nexit 101\n' | $SUDO tee "$POLICY" >/dev/null
    $SUDO chmod 755 "$POLICY"
  fi
  say "installing Debian's caddy (apt-get)"
  install_status=0
  { $SUDO apt-get -o DPkg::Lock::Timeout=300 update -q \
    && DEBIAN_FRONTEND=noninteractive $SUDO apt-get -o DPkg::Lock::Timeout=300 \
      install -y -q --no-install-recommends caddy; } || install_status=$?
  [ -z "$POLICY" ] || $SUDO rm -f "$POLICY"
  [ "$install_status" -eq 0 ] || die "apt-get install caddy failed (exit $install_status)"
fi
say "caddy $("$CADDY" version 2>&1)"
# (grep reads all of it: with -q, an early exit would break caddy's pipe,
# which pipefail reports as a failure.)
"$CADDY" list-modules 2>/dev/null | grep -x 'http.handlers.reverse_proxy' >/dev/null \
  || die "$CADDY has no reverse_proxy module (forward_auth is built on it)"

# ---------------------------------------------------------------- pytest (e2e/.venv)
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
fi

# ---------------------------------------------------------------- the CLI
if [ -z "${ROLEGATE_E2E_BIN:-}" ]; then
  say "cargo build -q -p rolegate"
  cargo build -q -p rolegate
  ROLEGATE_E2E_BIN="$(cd "${CARGO_TARGET_DIR:-$ROOT/target}" && pwd)/debug/rolegate"
fi
ROLEGATE="$ROLEGATE_E2E_BIN"
[ -x "$ROLEGATE" ] || die "no rolegate binary at $ROLEGATE"

# Loopback never goes through a proxy.
export NO_PROXY="localhost,127.0.0.1,::1${NO_PROXY:+,$NO_PROXY}"
export no_proxy="$NO_PROXY"

# ---------------------------------------------------------------- processes and cleanup
WORK="$(mktemp -d "${TMPDIR:-/tmp}/rolegate-gateway-caddy.XXXXXX")"
PIDS=()
status_ok=""
stop_all() {
  local pid
  for pid in "${PIDS[@]}"; do
    kill -TERM "$pid" 2>/dev/null || true
  done
  for pid in "${PIDS[@]}"; do
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  PIDS=()
}
cleanup() {
  local status=$?
  stop_all
  if [ -z "$status_ok" ]; then
    mkdir -p "$E2E_DIR/out"
    for log in idp gateway caddy echo; do
      [ -f "$WORK/$log.log" ] && cp "$WORK/$log.log" "$E2E_DIR/out/gateway-caddy-$log.log"
    done
    say "logs: e2e/out/gateway-caddy-*.log"
  fi
  rm -rf "$WORK"
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}
# wait_for NAME PID COMMAND...: until COMMAND succeeds, the process exits, or the timeout.
wait_for() {
  local name=$1 pid=$2 deadline=$((SECONDS + STARTUP_TIMEOUT))
  shift 2
  while [ "$SECONDS" -lt "$deadline" ]; do
    kill -0 "$pid" 2>/dev/null || die "$name exited during start-up"
    if "$@" >/dev/null 2>&1; then return 0; fi
    sleep 0.2
  done
  die "$name did not come up within ${STARTUP_TIMEOUT}s"
}
http_ok() { # http_ok URL [CA]: exit 0 on a 200
  python3 - "$@" <<'PY'
import ssl, sys, urllib.request
handlers = [urllib.request.ProxyHandler({})]
if len(sys.argv) > 2:
    handlers.append(urllib.request.HTTPSHandler(context=ssl.create_default_context(cafile=sys.argv[2])))
try:
    with urllib.request.build_opener(*handlers).open(sys.argv[1], timeout=2) as r:
        sys.exit(0 if r.status == 200 else 1)
except Exception:
    sys.exit(1)
PY
}

# ---------------------------------------------------------------- the provider
IDP_PORT="$(free_port)"
AUTHORITY="https://localhost:$IDP_PORT/$TENANT_ID"
say "starting rolegate idp on 127.0.0.1:$IDP_PORT"
"$ROLEGATE" idp --config examples/tenant.toml --data-dir "$WORK/idp" --listen "127.0.0.1:$IDP_PORT" >"$WORK/idp.log" 2>&1 &
IDP_PID=$!
PIDS+=("$IDP_PID")
ca_ready() {
  CA_FILE="$("$ROLEGATE" idp ca-path --data-dir "$WORK/idp" 2>/dev/null)" && [ -f "$CA_FILE" ] \
    && http_ok "$AUTHORITY/v2.0/.well-known/openid-configuration" "$CA_FILE"
}
CA_FILE=""
wait_for "rolegate idp" "$IDP_PID" ca_ready

say "rolegate token get --client-credentials (the Orders daemon, roles: Orders.Read)"
APP_TOKEN="$(ROLEGATE_CLIENT_SECRET="$DAEMON_SECRET" timeout 30 "$ROLEGATE" token get \
  --authority "$AUTHORITY" --ca-file "$CA_FILE" --client-credentials \
  --client-id "$DAEMON" --scope "api://$API/.default")"
[ -n "$APP_TOKEN" ] || die "no app token"

# Users' tokens with the password grant (as MSAL's
# acquire_token_by_username_password sends it), into tokens.json:
# - bob (Orders.Read through his group) and alice (Orders.Admin) with the
#   Orders CLI, a public client: delegated access tokens (scp access_as_user)
#   and, for bob, the CLI's ID token (aud = the CLI);
# - bob with the Orders API's own registration (it has a secret) and scope
#   `openid profile`: an ID token whose aud IS the API and which carries
#   roles: ["Orders.Read"], so only the ID-token check can refuse it.
say "password grants: bob and alice with the Orders CLI, bob's ID token for the Orders API"
timeout 30 python3 - "$AUTHORITY" "$CA_FILE" "$APP_TOKEN" "$WORK/tokens.json" <<PY \
  || die "the password grants failed"
import json, ssl, sys, urllib.parse, urllib.request
authority, ca, app_token, out = sys.argv[1:]
opener = urllib.request.build_opener(
    urllib.request.ProxyHandler({}),
    urllib.request.HTTPSHandler(context=ssl.create_default_context(cafile=ca)))
def password_grant(user, password, client, scope, secret=None):
    form = {"grant_type": "password", "client_id": client, "scope": scope,
            "username": user, "password": password}
    if secret:
        form["client_secret"] = secret
    data = urllib.parse.urlencode(form).encode()
    with opener.open(authority + "/oauth2/v2.0/token", data, timeout=10) as r:
        return json.load(r)
api_scope = "api://$API/access_as_user openid profile offline_access"
bob = password_grant("bob@contoso.test", "bob-Passw0rd", "$CLI", api_scope)
alice = password_grant("alice@contoso.test", "alice-Passw0rd", "$CLI", api_scope)
own = password_grant("bob@contoso.test", "bob-Passw0rd", "$API", "openid profile",
                     secret="$API_SECRET")
with open(out, "w") as f:
    json.dump({"app": app_token, "bob": bob["access_token"], "alice": alice["access_token"],
               "bob_id_token_cli": bob["id_token"], "bob_id_token_api": own["id_token"]}, f)
PY

# ---------------------------------------------------------------- the echo upstream
python3 "$E2E_DIR/gateway-nginx/echo.py" "$WORK/echo.port" >"$WORK/echo.log" 2>&1 &
ECHO_PID=$!
PIDS+=("$ECHO_PID")
wait_for "the echo upstream" "$ECHO_PID" test -s "$WORK/echo.port"
ECHO_PORT="$(cat "$WORK/echo.port")"

# ---------------------------------------------------------------- the gateway
GW_PORT="$(free_port)"
ADMIN_PORT="$(free_port)"
cat >"$WORK/gateway.toml" <<EOF
listen = "127.0.0.1:$GW_PORT"
admin_listen = "127.0.0.1:$ADMIN_PORT"
upstream = "http://127.0.0.1:$ECHO_PORT"

[auth]
authority = "$AUTHORITY"
audiences = ["$API"]
ca_file = "$CA_FILE"

[[routes]]
path = "/orders/{id}"
methods = ["DELETE"]
roles_any = ["Orders.Admin"]

[[routes]]
path = "/orders/*"
methods = ["GET"]
roles_any = ["Orders.Read"]

[[routes]]
path = "/admin/*"
roles_any = ["Orders.Admin"]

[[routes]]
path = "/health"
anonymous = true
EOF
"$ROLEGATE" gateway check --config "$WORK/gateway.toml"
say "starting rolegate gateway on 127.0.0.1:$GW_PORT (admin $ADMIN_PORT)"
"$ROLEGATE" gateway --config "$WORK/gateway.toml" >"$WORK/gateway.log" 2>&1 &
GW_PID=$!
PIDS+=("$GW_PID")
wait_for "rolegate gateway" "$GW_PID" http_ok "http://127.0.0.1:$ADMIN_PORT/readyz"

# ---------------------------------------------------------------- Caddy
CADDY_PORT="$(free_port)"
CADDY_NAIVE_PORT="$(free_port)"
export CADDY_PORT CADDY_NAIVE_PORT GATEWAY="127.0.0.1:$GW_PORT" UPSTREAM="127.0.0.1:$ECHO_PORT"
# Caddy keeps its data (certificates, autosave.json) under HOME/XDG folders.
mkdir -p "$WORK/caddy-home"
CADDY_ENV=(env HOME="$WORK/caddy-home" XDG_CONFIG_HOME="$WORK/caddy-home/config"
  XDG_DATA_HOME="$WORK/caddy-home/data")
"${CADDY_ENV[@]}" "$CADDY" validate --config "$HERE/Caddyfile" --adapter caddyfile >"$WORK/caddy.log" 2>&1 \
  || { cat "$WORK/caddy.log" >&2; die "caddy validate refused the Caddyfile"; }
say "starting caddy on 127.0.0.1:$CADDY_PORT (and the naive site on $CADDY_NAIVE_PORT)"
"${CADDY_ENV[@]}" "$CADDY" run --config "$HERE/Caddyfile" --adapter caddyfile >>"$WORK/caddy.log" 2>&1 &
CADDY_PID=$!
PIDS+=("$CADDY_PID")
# /health is anonymous: 200 through Caddy once it listens.
wait_for caddy "$CADDY_PID" http_ok "http://127.0.0.1:$CADDY_PORT/health"
wait_for caddy "$CADDY_PID" http_ok "http://127.0.0.1:$CADDY_NAIVE_PORT/health"

# ---------------------------------------------------------------- the tests
say "e2e/.venv/bin/python -m pytest e2e/gateway-caddy/test_caddy.py"
CADDY_URL="http://127.0.0.1:$CADDY_PORT" \
CADDY_NAIVE_URL="http://127.0.0.1:$CADDY_NAIVE_PORT" \
ECHO_URL="http://127.0.0.1:$ECHO_PORT" \
GATEWAY_URL="http://127.0.0.1:$GW_PORT" TOKENS_FILE="$WORK/tokens.json" \
  timeout --kill-after=10 "$TEST_TIMEOUT" env PYTHONDONTWRITEBYTECODE=1 \
  "$VENV/bin/python" -m pytest -q -p no:cacheprovider -rA "$HERE/test_caddy.py"
status_ok=yes
say "passed"
