# Sourced by e2e/run.sh: two `rolegate idp` replicas on one PostgreSQL
# database behind nginx (Debian's), which terminates TLS and sends requests
# round robin, as docs/deploy.md describes. The msal-node and MSAL Python
# suites then run once more, unmodified, against the balancer's origin.
#
#   replicas_up      PostgreSQL (scripts/pg-test-cluster.sh, a temp dir),
#                    a CA and a localhost certificate (openssl) for nginx,
#                    two replicas (--insecure-http --public-url
#                    https://localhost:$BALANCER_PORT --trusted-proxy
#                    127.0.0.1), nginx; sets BALANCER_PORT, BALANCER_CA.
#   replicas_spread  fails unless both replicas answered token requests.
#   replicas_down    stops everything (also called on exit).
#
# Needs initdb (Debian's postgresql; installed with apt-get when missing),
# nginx (likewise) and openssl. Everything listens on 127.0.0.1.

REPLICA_PIDS=()
NGINX_PID=""
REPLICAS_WORK=""
PG_DIR=""

replicas_say() { printf '\n[e2e replicas] %s\n' "$*"; }

replicas_up() {
  REPLICAS_WORK="$(mktemp -d "${TMPDIR:-/tmp}/rolegate-e2e-replicas.XXXXXX")"
  local nginx="${NGINX:-/usr/sbin/nginx}"
  if [ ! -x "$nginx" ]; then
    replicas_say "installing Debian's nginx (apt-get)"
    local sudo=""
    [ "$(id -u)" -eq 0 ] || sudo=sudo
    $sudo apt-get update -q >/dev/null && $sudo env DEBIAN_FRONTEND=noninteractive \
      apt-get install -y -q --no-install-recommends nginx >/dev/null \
      || die "apt-get install nginx failed"
  fi
  command -v openssl >/dev/null 2>&1 || die "openssl is missing (apt-get install openssl)"
  "$ROOT/scripts/pg-test-cluster.sh" install

  # PostgreSQL: a throw-away cluster of its own.
  # Its own temp dir: as root, the cluster's owner (an unprivileged user)
  # must be able to reach it.
  PG_DIR="$(mktemp -d "${TMPDIR:-/tmp}/rolegate-e2e-pg.XXXXXX")"
  local store
  store="$("$ROOT/scripts/pg-test-cluster.sh" start "$PG_DIR")"
  replicas_say "PostgreSQL at $store"

  # The balancer's TLS: a CA of this run and a certificate for localhost.
  local tls="$REPLICAS_WORK/tls"
  mkdir -p "$tls"
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
    -subj "/CN=rolegate e2e balancer CA" -keyout "$tls/ca.key" -out "$tls/ca.pem" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
    2>/dev/null || die "openssl could not make the balancer's CA"
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=localhost" \
    -keyout "$tls/server-key.pem" -out "$tls/server.csr" 2>/dev/null \
    || die "openssl could not make the balancer's key"
  printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n' >"$tls/ext.cnf"
  openssl x509 -req -in "$tls/server.csr" -CA "$tls/ca.pem" -CAkey "$tls/ca.key" -CAcreateserial \
    -days 2 -extfile "$tls/ext.cnf" -out "$tls/server.pem" 2>/dev/null \
    || die "openssl could not sign the balancer's certificate"
  BALANCER_CA="$tls/ca.pem"

  # The replicas: one KEK, one database, one public origin.
  "$ROLEGATE" idp gen-kek >"$REPLICAS_WORK/kek"
  BALANCER_PORT="$(free_port)"
  local ports=() i port
  for i in 1 2; do
    port="$(free_port)"
    ports+=("$port")
    "$ROLEGATE" idp --config "$TENANT_FILE" \
      --config "$ROOT/examples/multi-tenant/fleetco.toml" \
      --config "$ROOT/examples/multi-tenant/partner.toml" \
      --listen "127.0.0.1:$port" --data-dir "$REPLICAS_WORK/data-$i" \
      --store "$store" --key-encryption-key-file "$REPLICAS_WORK/kek" \
      --insecure-http --public-url "https://localhost:$BALANCER_PORT" \
      --trusted-proxy 127.0.0.1 >"$OUT_DIR/replica-$i.log" 2>&1 &
    REPLICA_PIDS+=("$!")
    # One after the other: the first creates the signing keys.
    local deadline=$((SECONDS + STARTUP_TIMEOUT))
    until curl -sf -o /dev/null "http://127.0.0.1:$port/$TENANT_ID/v2.0/.well-known/openid-configuration"; do
      kill -0 "${REPLICA_PIDS[-1]}" 2>/dev/null || { sed 's/^/    /' "$OUT_DIR/replica-$i.log" >&2; die "replica $i exited during start-up"; }
      [ "$SECONDS" -lt "$deadline" ] || die "replica $i did not start within ${STARTUP_TIMEOUT}s"
      sleep 0.3
    done
    replicas_say "replica $i on 127.0.0.1:$port (log e2e/out/replica-$i.log)"
  done

  # nginx: TLS on the public origin, round robin to the replicas.
  mkdir -p "$REPLICAS_WORK/nginx"
  : >"$OUT_DIR/replicas-nginx-access.log"
  local user_line=""
  [ "$(id -u)" -ne 0 ] || user_line="user $(id -un) $(id -gn);"
  cat >"$REPLICAS_WORK/nginx/nginx.conf" <<EOF
$user_line
daemon off;
worker_processes 1;
pid $REPLICAS_WORK/nginx/nginx.pid;
error_log $OUT_DIR/replicas-nginx-error.log warn;
events { worker_connections 512; }
http {
    log_format upstreams '\$request_method \$uri \$status \$upstream_addr';
    access_log $OUT_DIR/replicas-nginx-access.log upstreams;
    client_body_temp_path $REPLICAS_WORK/nginx/client_body;
    proxy_temp_path $REPLICAS_WORK/nginx/proxy;
    fastcgi_temp_path $REPLICAS_WORK/nginx/fastcgi;
    uwsgi_temp_path $REPLICAS_WORK/nginx/uwsgi;
    scgi_temp_path $REPLICAS_WORK/nginx/scgi;

    # From here to the end: examples/deploy/nginx.conf's shape (docs/deploy.md).
    upstream rolegate_idp {
        server 127.0.0.1:${ports[0]};
        server 127.0.0.1:${ports[1]};
        keepalive 16;
    }
    server {
        listen 127.0.0.1:$BALANCER_PORT ssl;
        ssl_certificate $tls/server.pem;
        ssl_certificate_key $tls/server-key.pem;
        location / {
            proxy_pass http://rolegate_idp;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host \$http_host;
            proxy_set_header X-Forwarded-For \$proxy_add_x_forwarded_for;
            proxy_set_header X-Forwarded-Proto https;
        }
    }
}
EOF
  "$nginx" -t -q -p "$REPLICAS_WORK/nginx" -c "$REPLICAS_WORK/nginx/nginx.conf" \
    -e "$OUT_DIR/replicas-nginx-error.log" || die "nginx -t refused the balancer's configuration"
  "$nginx" -p "$REPLICAS_WORK/nginx" -c "$REPLICAS_WORK/nginx/nginx.conf" \
    -e "$OUT_DIR/replicas-nginx-error.log" &
  NGINX_PID=$!
  local deadline=$((SECONDS + STARTUP_TIMEOUT))
  until curl -sf -o /dev/null --cacert "$BALANCER_CA" \
    "https://localhost:$BALANCER_PORT/$TENANT_ID/v2.0/.well-known/openid-configuration"; do
    kill -0 "$NGINX_PID" 2>/dev/null || die "nginx exited during start-up (e2e/out/replicas-nginx-error.log)"
    [ "$SECONDS" -lt "$deadline" ] || die "nginx did not answer within ${STARTUP_TIMEOUT}s"
    sleep 0.3
  done
  replicas_say "nginx (TLS, round robin) on https://localhost:$BALANCER_PORT"
}

# Both replicas must have answered token requests (the balancer really
# spread the suites' traffic).
replicas_spread() {
  local log="$OUT_DIR/replicas-nginx-access.log" addr count served=0
  for addr in $(awk '$2 ~ /oauth2\/v2\.0\/token$/ {print $4}' "$log" | sort -u); do
    count=$(awk -v a="$addr" '$2 ~ /oauth2\/v2\.0\/token$/ && $4 == a' "$log" | wc -l)
    replicas_say "token requests answered by $addr: $count"
    served=$((served + 1))
  done
  [ "$served" -ge 2 ] || { replicas_say "ERROR: token requests reached $served replica(s), not both"; return 1; }
}

replicas_down() {
  if [ -n "$NGINX_PID" ]; then
    kill -TERM "$NGINX_PID" 2>/dev/null || true
    wait "$NGINX_PID" 2>/dev/null || true
    NGINX_PID=""
  fi
  local pid
  for pid in "${REPLICA_PIDS[@]}"; do
    kill -TERM "$pid" 2>/dev/null || true
  done
  for pid in "${REPLICA_PIDS[@]}"; do
    wait "$pid" 2>/dev/null || true
  done
  REPLICA_PIDS=()
  if [ -n "$PG_DIR" ]; then
    "$ROOT/scripts/pg-test-cluster.sh" stop "$PG_DIR" || true
    PG_DIR=""
  fi
  [ -z "$REPLICAS_WORK" ] || rm -rf "$REPLICAS_WORK"
  REPLICAS_WORK=""
}
