#!/usr/bin/env bash
# Real nginx (Debian's package) with `auth_request` to `rolegate gateway`'s
# /.rolegate/auth, in front of a small echo upstream, with `rolegate idp` as
# the authority and a real client-credentials token from `rolegate token get`.
# Called by e2e/run.sh; runs on its own too:
#
#   bash e2e/gateway-nginx/run.sh
#
# nginx is installed with apt-get when missing (root, or sudo). Everything
# (provider, gateway, nginx, echo upstream) listens on 127.0.0.1 and is
# stopped on exit; nginx runs in the foreground (`daemon off`) with its
# configuration, pid, logs and temp files in a temporary folder (no system
# service). The nginx configuration is docs/gateway.md's `auth_request`
# example. Logs are copied to e2e/out/gateway-nginx-*.log on failure.
#
# Environment knobs: ROLEGATE_E2E_BIN (a prebuilt rolegate; default: build
# it), E2E_STARTUP_TIMEOUT (seconds to wait for each server, default 60),
# E2E_TEST_TIMEOUT (seconds for the tests, default 120).
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

say() { printf '\n[gateway-nginx] %s\n' "$*"; }
die() { printf '\n[gateway-nginx] ERROR: %s\n' "$*" >&2; exit 1; }

for tool in python3 cargo; do
  command -v "$tool" >/dev/null 2>&1 || die "'$tool' is not installed"
done

# ---------------------------------------------------------------- nginx (Debian's)
NGINX="${NGINX:-/usr/sbin/nginx}"
if [ ! -x "$NGINX" ]; then
  [ "$NGINX" = /usr/sbin/nginx ] || die "NGINX=$NGINX is not executable"
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null 2>&1 || die "nginx is missing and installing it needs root: apt-get install -y nginx"
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
  say "installing Debian's nginx (apt-get)"
  install_status=0
  { $SUDO apt-get -o DPkg::Lock::Timeout=300 update -q \
    && DEBIAN_FRONTEND=noninteractive $SUDO apt-get -o DPkg::Lock::Timeout=300 \
      install -y -q --no-install-recommends nginx; } || install_status=$?
  [ -z "$POLICY" ] || $SUDO rm -f "$POLICY"
  [ "$install_status" -eq 0 ] || die "apt-get install nginx failed (exit $install_status)"
fi
say "$("$NGINX" -v 2>&1)"
"$NGINX" -V 2>&1 | grep -q -- '--with-http_auth_request_module' \
  || die "$NGINX was built without the auth_request module"

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
WORK="$(mktemp -d "${TMPDIR:-/tmp}/rolegate-gateway-nginx.XXXXXX")"
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
    for log in idp gateway nginx-error echo; do
      [ -f "$WORK/$log.log" ] && cp "$WORK/$log.log" "$E2E_DIR/out/gateway-nginx-$log.log"
    done
    say "logs: e2e/out/gateway-nginx-*.log"
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
TOKEN="$(ROLEGATE_CLIENT_SECRET="$DAEMON_SECRET" timeout 30 "$ROLEGATE" token get \
  --authority "$AUTHORITY" --ca-file "$CA_FILE" --client-credentials \
  --client-id "$DAEMON" --scope "api://$API/.default")"
[ -n "$TOKEN" ] || die "no token"

# ---------------------------------------------------------------- the echo upstream
python3 "$HERE/echo.py" "$WORK/echo.port" >"$WORK/echo.log" 2>&1 &
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

# ---------------------------------------------------------------- nginx
NGINX_PORT="$(free_port)"
mkdir -p "$WORK/nginx"
# As root, nginx's workers switch to `user` (default nobody), which could not
# use the temporary folder; keep them as the current user.
USER_LINE=""
[ "$(id -u)" -ne 0 ] || USER_LINE="user $(id -un) $(id -gn);"
cat >"$WORK/nginx/nginx.conf" <<EOF
$USER_LINE
daemon off;
worker_processes 1;
pid $WORK/nginx/nginx.pid;
error_log $WORK/nginx-error.log info;
events { worker_connections 256; }
http {
    access_log off;
    client_body_temp_path $WORK/nginx/client_body;
    proxy_temp_path $WORK/nginx/proxy;
    fastcgi_temp_path $WORK/nginx/fastcgi;
    uwsgi_temp_path $WORK/nginx/uwsgi;
    scgi_temp_path $WORK/nginx/scgi;

    server {
        listen 127.0.0.1:$NGINX_PORT;

        # From here to the end of the server block: docs/gateway.md, "nginx auth_request".
        location = /.rolegate/auth {
            internal;
            proxy_pass http://127.0.0.1:$GW_PORT;
            proxy_pass_request_body off;
            proxy_set_header Content-Length "";
            proxy_set_header X-Original-Method \$request_method;
            proxy_set_header X-Original-URI \$request_uri;
        }

        location / {
            auth_request /.rolegate/auth;
            auth_request_set \$rg_caller \$upstream_http_x_rolegate_caller;
            auth_request_set \$rg_oid \$upstream_http_x_rolegate_oid;
            auth_request_set \$rg_tid \$upstream_http_x_rolegate_tid;
            auth_request_set \$rg_sub \$upstream_http_x_rolegate_sub;
            auth_request_set \$rg_client \$upstream_http_x_rolegate_client_id;
            auth_request_set \$rg_roles \$upstream_http_x_rolegate_roles;
            auth_request_set \$rg_scopes \$upstream_http_x_rolegate_scopes;
            auth_request_set \$rg_name \$upstream_http_x_rolegate_name;
            auth_request_set \$rg_user \$upstream_http_x_rolegate_preferred_username;
            proxy_set_header X-Rolegate-Caller \$rg_caller;
            proxy_set_header X-Rolegate-Oid \$rg_oid;
            proxy_set_header X-Rolegate-Tid \$rg_tid;
            proxy_set_header X-Rolegate-Sub \$rg_sub;
            proxy_set_header X-Rolegate-Client-Id \$rg_client;
            proxy_set_header X-Rolegate-Roles \$rg_roles;
            proxy_set_header X-Rolegate-Scopes \$rg_scopes;
            proxy_set_header X-Rolegate-Name \$rg_name;
            proxy_set_header X-Rolegate-Preferred-Username \$rg_user;
            proxy_pass http://127.0.0.1:$ECHO_PORT;
        }
    }
}
EOF
"$NGINX" -t -q -p "$WORK/nginx" -c "$WORK/nginx/nginx.conf" -e "$WORK/nginx-error.log" \
  || die "nginx -t refused the configuration"
say "starting nginx on 127.0.0.1:$NGINX_PORT (prefix $WORK/nginx, daemon off)"
"$NGINX" -p "$WORK/nginx" -c "$WORK/nginx/nginx.conf" -e "$WORK/nginx-error.log" &
NGINX_PID=$!
PIDS+=("$NGINX_PID")
# Any answer means it listens: /health is anonymous, so 200.
wait_for nginx "$NGINX_PID" http_ok "http://127.0.0.1:$NGINX_PORT/health"

# ---------------------------------------------------------------- the tests
say "python3 e2e/gateway-nginx/test_nginx.py"
timeout --kill-after=10 "$TEST_TIMEOUT" python3 "$HERE/test_nginx.py" \
  "http://127.0.0.1:$NGINX_PORT" "http://127.0.0.1:$ECHO_PORT" "$TOKEN"
status_ok=yes
say "passed"
