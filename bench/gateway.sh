#!/usr/bin/env bash
# Benchmark of `rolegate gateway` side by side with nginx, in one run, on the
# same upstream (nginx `return 200`), all on 127.0.0.1:
#
#   direct     wrk -> upstream
#   nginx      wrk -> nginx plain proxy_pass (no auth, keep-alive upstream pool) -> upstream
#   gateway    wrk -> rolegate gateway (release, valid token, verified-token cache on) -> upstream
#   uncached   the same with `token_cache = false` (every request verifies RS256)
#
#   bash bench/gateway.sh
#
# Servers (nginx: one worker for the upstream, another process with one
# worker for the plain proxy; both
# gateways; the idle `rolegate idp`) are pinned to CPU $SERVER_CPU with
# taskset, wrk to CPU $CLIENT_CPU: every proxy and its upstream share one
# core, so "requests/s on the same cores" compares like with like.
#
# Each target gets $WARMUP s of warm-up, then $ROUNDS rounds; in each round
# every target in turn gets wrk -t1 -c$CONNECTIONS -d${DURATION}s
# (keep-alive) and wrk -c1 -d${LAT_SECONDS}s for the unloaded latency.
# Rounds interleave the targets so that a slow spell of the machine (a
# shared VM) falls on all of them rather than on one; the report gives
# each target's median round and every round's req/s. bench/gateway.lua counts every non-200 (must be 0: the
# run fails otherwise). Then a soak: $SOAK_SEGMENTS segments of
# $SOAK_SECONDS s at $CONNECTIONS connections through the cached gateway,
# its RSS read from /proc after each segment (memory flatness). The report
# is printed and written to $CARGO_TARGET_DIR/bench/gateway.txt.
#
# Knobs (environment): DURATION (10), CONNECTIONS (16), LAT_SECONDS (5),
# WARMUP (2), ROUNDS (3), SOAK_SEGMENTS (10), SOAK_SECONDS (15),
# SERVER_CPU (0), CLIENT_CPU (1), SKIP_BUILD (0).
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$(pwd)
TARGET_DIR=$(cd "${CARGO_TARGET_DIR:-$ROOT/target}" 2>/dev/null && pwd || echo "$ROOT/target")

DURATION=${DURATION:-10}
CONNECTIONS=${CONNECTIONS:-16}
LAT_SECONDS=${LAT_SECONDS:-5}
WARMUP=${WARMUP:-2}
ROUNDS=${ROUNDS:-3}
SOAK_SEGMENTS=${SOAK_SEGMENTS:-10}
SOAK_SECONDS=${SOAK_SECONDS:-15}
SERVER_CPU=${SERVER_CPU:-0}
CLIENT_CPU=${CLIENT_CPU:-1}
SKIP_BUILD=${SKIP_BUILD:-0}

TENANT=7d3e1b5a-2f4c-4e8d-9a6b-0c1d2e3f4a5b
API=8a1f6c2e-4b7d-4e9a-b3c5-6d7e8f9a0b1c
DAEMON=7fbf04bb-64db-4661-a8cd-d2d07d250ad8
OUT_DIR=$TARGET_DIR/bench
REPORT=$OUT_DIR/gateway.txt

log() { printf '[gateway-bench] %s\n' "$*" >&2; }
die() { log "FAILED: $*"; exit 1; }

for n in DURATION CONNECTIONS LAT_SECONDS WARMUP ROUNDS SOAK_SEGMENTS SOAK_SECONDS; do
    [[ ${!n} =~ ^[0-9]+$ ]] || die "$n must be a whole number"
done
((DURATION >= 1 && DURATION <= 60)) || die "DURATION must be 1..60 s"
((CONNECTIONS >= 1 && CONNECTIONS <= 256)) || die "CONNECTIONS must be 1..256"
((LAT_SECONDS >= 1 && LAT_SECONDS <= 60)) || die "LAT_SECONDS must be 1..60 s"
((ROUNDS >= 1 && ROUNDS <= 9)) || die "ROUNDS must be 1..9"
((SOAK_SEGMENTS <= 40 && SOAK_SECONDS <= 60)) || die "the soak is bounded: SOAK_SEGMENTS <= 40, SOAK_SECONDS <= 60"

# ------------------------------------------------------------------ tools

apt_install() {
    apt-get -o DPkg::Lock::Timeout=300 install -y -q "$@" >/dev/null 2>&1 \
        || { apt-get -o DPkg::Lock::Timeout=300 update -q >/dev/null 2>&1 \
            && DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 install -y -q "$@" >/dev/null; }
}
need() { # need <command> <debian package>
    command -v "$1" >/dev/null 2>&1 && return
    log "installing $2"
    if [[ $2 == nginx && ! -e /usr/sbin/policy-rc.d ]]; then
        # Keep the package's postinst from starting the system service.
        printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d && chmod 755 /usr/sbin/policy-rc.d
        apt_install "$2" || { rm -f /usr/sbin/policy-rc.d; die "cannot install $2"; }
        rm -f /usr/sbin/policy-rc.d
    else
        apt_install "$2" || die "cannot install $2"
    fi
    command -v "$1" >/dev/null 2>&1 || die "$1 is still missing"
}
PATH=$PATH:/usr/sbin
need wrk wrk
need nginx nginx
need taskset util-linux
need curl curl
need python3 python3
NPROC=$(nproc)
if ((NPROC < 2)); then
    log "warning: one CPU only: servers and wrk share it"
    CLIENT_CPU=$SERVER_CPU
fi

if [[ $SKIP_BUILD != 1 ]]; then
    log "building rolegate (release)"
    cargo build --release -q -p rolegate
fi
ROLEGATE=$TARGET_DIR/release/rolegate
[[ -x $ROLEGATE ]] || die "no $ROLEGATE"

# ------------------------------------------------------------------ processes

WORK=$(mktemp -d -t rolegate-gateway-bench.XXXXXX)
PIDS=()
cleanup() {
    local rc=$? pid
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${PIDS[@]}"; do
        for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -9 "$pid" 2>/dev/null || true
    done
    if ((rc != 0)); then
        for f in "$WORK"/*.log; do
            [[ -f $f ]] && { log "$(basename "$f") (last lines):"; tail -5 "$f" >&2; }
        done
    fi
    rm -rf "$WORK"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
wait_http() { # wait_http PID URL [curl args]: a 200 within 30 s
    local pid=$1 url=$2
    shift 2
    for _ in $(seq 150); do
        kill -0 "$pid" 2>/dev/null || die "the server for $url exited"
        curl -sf --max-time 2 "$@" "$url" >/dev/null 2>&1 && return 0
        sleep 0.2
    done
    die "$url did not answer within 30 s"
}
rss_kib() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }

# The provider: only for the token and the signing keys (idle during the load).
IDP_PORT=$(free_port)
AUTHORITY=https://localhost:$IDP_PORT/$TENANT
taskset -c "$SERVER_CPU" "$ROLEGATE" idp --config examples/tenant.toml --data-dir "$WORK/idp" \
    --listen "127.0.0.1:$IDP_PORT" >"$WORK/idp.log" 2>&1 &
PIDS+=($!)
IDP_PID=$!
CA=
for _ in $(seq 150); do
    kill -0 "$IDP_PID" 2>/dev/null || die "the provider exited"
    CA=$("$ROLEGATE" idp ca-path --data-dir "$WORK/idp" 2>/dev/null || true)
    [[ -f $CA ]] && curl -sf --max-time 2 --cacert "$CA" \
        "$AUTHORITY/v2.0/.well-known/openid-configuration" >/dev/null 2>&1 && break
    CA=
    sleep 0.2
done
[[ -n $CA ]] || die "the provider did not come up within 30 s"
TOKEN=$(ROLEGATE_CLIENT_SECRET=daemon-secret-8Qx3vT7pLm2Zr9Wc timeout 30 "$ROLEGATE" token get \
    --authority "$AUTHORITY" --ca-file "$CA" --client-credentials --client-id "$DAEMON" \
    --scope "api://$API/.default") || die "rolegate token get failed"

# nginx twice, one worker each: the upstream, and the plain proxy as a
# process of its own. (One worker serving both would proxy to itself inside
# one event loop, without the context switches every other proxy pays.)
UP_PORT=$(free_port)
NGX_PORT=$(free_port)
USER_LINE=
[[ $(id -u) -ne 0 ]] || USER_LINE="user $(id -un) $(id -gn);"
nginx_conf() { # nginx_conf NAME SERVER-BLOCK [HTTP-EXTRA]: writes $WORK/NAME/nginx.conf
    local dir=$WORK/$1
    mkdir -p "$dir"
    cat >"$dir/nginx.conf" <<CONF
$USER_LINE
daemon off;
worker_processes 1;
pid $dir/nginx.pid;
error_log $WORK/$1-error.log warn;
events { worker_connections 1024; }
http {
    access_log off;
    keepalive_requests 100000000;
    client_body_temp_path $dir/client_body;
    proxy_temp_path $dir/proxy;
    fastcgi_temp_path $dir/fastcgi;
    uwsgi_temp_path $dir/uwsgi;
    scgi_temp_path $dir/scgi;
    ${3:-}
    server {
        $2
    }
}
CONF
}
nginx_conf nginx-upstream "listen 127.0.0.1:$UP_PORT; location / { return 200 \"ok\\n\"; }"
nginx_conf nginx-proxy "listen 127.0.0.1:$NGX_PORT; location / { proxy_pass http://api; proxy_http_version 1.1; proxy_set_header Connection \"\"; }" \
    "upstream api { server 127.0.0.1:$UP_PORT; keepalive 64; keepalive_requests 100000000; }"
for name in nginx-upstream nginx-proxy; do
    taskset -c "$SERVER_CPU" nginx -p "$WORK/$name" -c "$WORK/$name/nginx.conf" -e "$WORK/$name-error.log" &
    PIDS+=($!)
done
wait_http "$!" "http://127.0.0.1:$NGX_PORT/orders/1"
NGINX_VERSION=$(nginx -v 2>&1 | sed 's/.*nginx\///')

# Two gateways: the verified-token cache on (default) and off.
start_gateway() { # start_gateway NAME TOKEN_CACHE: sets GW_PID, GW_PORT, GW_ADMIN
    local name=$1 cache=$2
    GW_PORT=$(free_port)
    GW_ADMIN=$(free_port)
    cat >"$WORK/$name.toml" <<EOF
listen = "127.0.0.1:$GW_PORT"
admin_listen = "127.0.0.1:$GW_ADMIN"
upstream = "http://127.0.0.1:$UP_PORT"

[auth]
authority = "$AUTHORITY"
audiences = ["$API"]
ca_file = "$CA"
token_cache = $cache

[[routes]]
path = "/orders/*"
roles_any = ["Orders.Read"]
EOF
    RUST_LOG=warn taskset -c "$SERVER_CPU" "$ROLEGATE" gateway --config "$WORK/$name.toml" >"$WORK/$name.log" 2>&1 &
    GW_PID=$!
    PIDS+=("$GW_PID")
    wait_http "$GW_PID" "http://127.0.0.1:$GW_ADMIN/readyz"
    [[ $(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $TOKEN" \
        "http://127.0.0.1:$GW_PORT/orders/1") == 200 ]] || die "$name: no 200 with the token"
    [[ $(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$GW_PORT/orders/1") == 401 ]] \
        || die "$name: no 401 without a token"
}
start_gateway gateway true
GW1_PID=$GW_PID GW1_PORT=$GW_PORT GW1_ADMIN=$GW_ADMIN
start_gateway uncached false
GW2_PID=$GW_PID GW2_PORT=$GW_PORT GW2_ADMIN=$GW_ADMIN

# ------------------------------------------------------------------ load

# run_wrk OUT CONNECTIONS SECONDS URL: wrk pinned to the client CPU; fails the
# run on any non-200 or socket error.
run_wrk() {
    local out=$1 c=$2 s=$3 url=$4 line
    RG_TOKEN=$TOKEN taskset -c "$CLIENT_CPU" timeout $((s + 30)) wrk -t1 -c"$c" -d"${s}s" \
        --timeout 5s --latency -s bench/gateway.lua "$url" >"$out" 2>&1 || die "wrk failed: $(tail -3 "$out")"
    line=$(grep '^RESULT ' "$out") || die "no RESULT from wrk: $(tail -3 "$out")"
    [[ $line =~ non200=0\ socket_errors=0\ status_errors=0 ]] \
        || die "not every response was a 200: $line $(grep '^FIRST_BAD' "$out" || true)"
    [[ $line =~ ok=([0-9]+) ]] && ((BASH_REMATCH[1] > 0)) || die "no responses: $line"
}
metric() { # metric ADMIN_PORT NAME: the sum of the samples of NAME
    curl -s --max-time 5 "http://127.0.0.1:$1/metrics" | awk -v n="$2" '$1 == n || index($1, n "{") == 1 { s += $2 } END { print s + 0 }'
}

declare -A URL=(
    [direct]=http://127.0.0.1:$UP_PORT/orders/1
    [nginx]=http://127.0.0.1:$NGX_PORT/orders/1
    [gateway]=http://127.0.0.1:$GW1_PORT/orders/1
    [uncached]=http://127.0.0.1:$GW2_PORT/orders/1
)
TARGETS=(direct nginx gateway uncached)
RSS_START=$(rss_kib "$GW1_PID")
for t in "${TARGETS[@]}"; do
    log "$t: warm-up ${WARMUP}s (${URL[$t]})"
    run_wrk "$WORK/$t.warm" "$CONNECTIONS" "$WARMUP" "${URL[$t]}"
done
for ((r = 1; r <= ROUNDS; r++)); do
    for t in "${TARGETS[@]}"; do
        log "round $r/$ROUNDS, $t: wrk -t1 -c$CONNECTIONS -d${DURATION}s, then -c1 -d${LAT_SECONDS}s"
        run_wrk "$WORK/$t.load.$r" "$CONNECTIONS" "$DURATION" "${URL[$t]}"
        run_wrk "$WORK/$t.lat.$r" 1 "$LAT_SECONDS" "${URL[$t]}"
    done
done
HITS=$(metric "$GW1_ADMIN" rolegate_token_cache_hits_total)
HITS_UNCACHED=$(metric "$GW2_ADMIN" rolegate_token_cache_hits_total)

# Soak: RSS of the cached gateway after each segment.
SOAK=
SOAK_TOTAL=0
RSS_SOAK_START=$(rss_kib "$GW1_PID")
for ((i = 1; i <= SOAK_SEGMENTS; i++)); do
    run_wrk "$WORK/soak.$i" "$CONNECTIONS" "$SOAK_SECONDS" "${URL[gateway]}"
    n=$(sed -n 's/^RESULT requests=\([0-9]*\).*/\1/p' "$WORK/soak.$i")
    SOAK_TOTAL=$((SOAK_TOTAL + n))
    SOAK+="$SOAK_TOTAL:$(rss_kib "$GW1_PID") "
    log "soak $i/$SOAK_SEGMENTS: $SOAK_TOTAL requests, gateway RSS $(rss_kib "$GW1_PID") KiB"
done
kill -0 "$GW1_PID" && kill -0 "$GW2_PID" || die "a gateway died during the run"
RSS_END=$(rss_kib "$GW1_PID")
GW2_RSS=$(rss_kib "$GW2_PID")
UP_2XX=$(metric "$GW1_ADMIN" rolegate_gateway_upstream_responses_total)

# ------------------------------------------------------------------ report

mkdir -p "$OUT_DIR"
CPU_MODEL=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
export ROUNDS WORK SOAK SOAK_TOTAL RSS_START RSS_SOAK_START RSS_END GW2_RSS HITS HITS_UNCACHED UP_2XX \
    CONNECTIONS DURATION LAT_SECONDS SERVER_CPU CLIENT_CPU NGINX_VERSION CPU_MODEL NPROC
python3 - >"$REPORT" <<'EOF'
import datetime, os, re
e = os.environ
def result(path):
    line = next(l for l in open(path) if l.startswith("RESULT "))
    return {k: float(v) for k, v in re.findall(r"(\w+)=([\d.]+)", line)}
names = {"direct": "direct upstream (nginx return 200)", "nginx": "nginx plain proxy (no auth)",
         "gateway": "rolegate gateway, valid token, cache on", "uncached": "rolegate gateway, valid token, token_cache = false"}
rounds = int(e["ROUNDS"])
def median_round(kind, t):
    runs = sorted((result(f"{e['WORK']}/{t}.{kind}.{r}") for r in range(1, rounds + 1)), key=lambda x: x["rps"])
    return runs[(len(runs) - 1) // 2]
every = {t: [result(f"{e['WORK']}/{t}.load.{r}")["rps"] for r in range(1, rounds + 1)] for t in names}
load = {t: median_round("load", t) for t in names}
lat = {t: median_round("lat", t) for t in names}
ms = lambda us: f"{us / 1000:.3f}"
print(f"rolegate gateway benchmark ({datetime.datetime.now(datetime.timezone.utc):%Y-%m-%dT%H:%MZ})")
print(f"machine: {e['NPROC']} CPUs, {e['CPU_MODEL']}; nginx {e['NGINX_VERSION']} (upstream and plain proxy: separate processes, 1 worker each)")
print(f"servers pinned to CPU {e['SERVER_CPU']} (each proxy shares it with the upstream), wrk -t1 pinned to CPU {e['CLIENT_CPU']}")
print(f"{rounds} rounds, the targets interleaved in each; every figure below is the target's median round")
print()
print(f"| target | req/s ({e['CONNECTIONS']} conn, {e['DURATION']} s) | p50 / p99 ms | req/s (1 conn, {e['LAT_SECONDS']} s) | p50 / p99 ms (1 conn) | added p99 over direct, 1 conn (ms) |")
print("|---|---:|---:|---:|---:|---:|")
for t, name in names.items():
    l, u = load[t], lat[t]
    added = "" if t == "direct" else f"{(u['p99_us'] - lat['direct']['p99_us']) / 1000:+.3f}"
    print(f"| {name} | {l['rps']:,.0f} | {ms(l['p50_us'])} / {ms(l['p99_us'])} | {u['rps']:,.0f} | {ms(u['p50_us'])} / {ms(u['p99_us'])} | {added} |")
print()
print(f"every response a 200: yes (non-200 and socket errors 0 in every run)")
for t in names:
    print(f"req/s per round, {t}: " + " / ".join(f"{x:,.0f}" for x in every[t]))
ratios = [g / n for g, n in zip(every["gateway"], every["nginx"])]
print("gateway / nginx plain proxy per round: " + " / ".join(f"{100 * x:.0f} %" for x in ratios))
print(f"cache on: token cache hits {float(e['HITS']):,.0f}; cache off: hits {float(e['HITS_UNCACHED']):,.0f}; "
      f"upstream responses through the cached gateway (all runs) {float(e['UP_2XX']):,.0f}")
g, n = load["gateway"], load["nginx"]
added16 = (g["p99_us"] - load["direct"]["p99_us"]) / 1000
added1 = (lat["gateway"]["p99_us"] - lat["direct"]["p99_us"]) / 1000
print(f"target req/s(gateway) >= req/s(nginx plain proxy): {'MET' if g['rps'] >= n['rps'] else 'MISSED'} "
      f"({g['rps']:,.0f} vs {n['rps']:,.0f}, {100 * g['rps'] / n['rps']:.0f} %)")
print(f"target added p99 over direct <= 0.5 ms: 1 connection {'MET' if added1 <= 0.5 else 'MISSED'} ({added1:+.3f} ms); "
      f"{e['CONNECTIONS']} connections (queueing) {'MET' if added16 <= 0.5 else 'MISSED'} ({added16:+.3f} ms)")
samples = [tuple(map(int, s.split(":"))) for s in e["SOAK"].split()]
print(f"gateway RSS (KiB): at start {e['RSS_START']}, before the soak {e['RSS_SOAK_START']}, after {e['RSS_END']}; "
      f"uncached gateway after its runs {e['GW2_RSS']}")
print(f"soak through the cached gateway: {int(e['SOAK_TOTAL']):,} requests (requests so far: RSS KiB): "
      + ", ".join(f"{r:,}: {k:,}" for r, k in samples))
if samples:
    first, last = samples[0][1], samples[-1][1]
    peak = max(k for _, k in samples)
    print(f"RSS growth from the first soak sample to the last: {last - first:+,} KiB (peak {peak:,} KiB)")
EOF
cat "$REPORT"
log "done (report: $REPORT)"
