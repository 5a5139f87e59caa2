#!/usr/bin/env bash
# Benchmark of `rolegate idp`: the token endpoint (client credentials) and
# the full SPA code flow (authorize with an SSO session -> code -> token),
# judged against the single-core RSA-2048 signing rate measured in the same
# run. Loopback only; every load is bounded in time and in count.
#
#   bash bench/idp-token.sh
#
# What it does:
#   1. installs wrk (Debian) if missing; builds `rolegate` (release) and the
#      bench-only signer bench/rsa-sign-rate (aws-lc-rs, as the provider);
#   2. waits (bounded) for a quiet machine, starts the provider pinned to
#      CPU 0 (taskset) with a fresh data dir on a free 127.0.0.1 port;
#   3. measures single-thread RSA-2048 signing on CPU 0 with
#      `openssl speed rsa2048` (a reference);
#   4. $RUNS rounds of: the single-thread RS256 signing rate of aws-lc-rs
#      (the provider's library) on CPU 0 for $SIGN_SECONDS s, then wrk
#      (pinned to CPU 1) POSTing client-credentials requests for $DURATION s
#      with $CONNECTIONS connections; the median round's tokens/s : sign/s
#      ratio is the verdict. Then $LAT_SECONDS s with one connection for the
#      unloaded latency. bench/idp-token.lua checks every response (a 200
#      with a token);
#   5. bench/idp-codeflow.py (pinned to CPU 1) runs code flows for
#      $FLOW_SECONDS s or $FLOW_MAX flows;
#   6. prints a summary (also written to target/bench/idp-token.txt).
# Every measurement is accounted by bench/cpu-account.py: what other
# processes and the hypervisor took of the server's core meanwhile. One
# that was disturbed is repeated (bounded), and the report says so.
#
# Exits non-zero if the run failed (a tool missing, the server not starting,
# any non-200 or socket error, any failed flow); missing the 80 % target is
# reported, not an error. Knobs (environment): DURATION (10), RUNS (3),
# CONNECTIONS (16), LAT_SECONDS (5), WARMUP (3), SIGN_SECONDS (5),
# FLOW_SECONDS (10), FLOW_MAX (20000), FLOW_CONCURRENCY (2), QUIET_WAIT (600:
# max seconds to wait for an idle machine; 0 = don't wait), ATTEMPTS (3) and
# DISTURBED (0.05: a measurement during which others took more of the
# server's core is repeated), SERVER_CPU (0), CLIENT_CPU (1), PROFILE (0;
# 1 = afterwards, `perf record` the server during an extra wrk run and
# print where its time goes), SKIP_BUILD (0).
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$(pwd)

DURATION=${DURATION:-10}
RUNS=${RUNS:-3}
LAT_SECONDS=${LAT_SECONDS:-5}
CONNECTIONS=${CONNECTIONS:-16}
WARMUP=${WARMUP:-3}
SIGN_SECONDS=${SIGN_SECONDS:-5}
FLOW_SECONDS=${FLOW_SECONDS:-10}
FLOW_MAX=${FLOW_MAX:-20000}
FLOW_CONCURRENCY=${FLOW_CONCURRENCY:-2}
QUIET_WAIT=${QUIET_WAIT:-600}
SERVER_CPU=${SERVER_CPU:-0}
CLIENT_CPU=${CLIENT_CPU:-1}
PROFILE=${PROFILE:-0}
SKIP_BUILD=${SKIP_BUILD:-0}
ATTEMPTS=${ATTEMPTS:-3}
DISTURBED=${DISTURBED:-0.05}

TENANT=7d3e1b5a-2f4c-4e8d-9a6b-0c1d2e3f4a5b
OUT_DIR=$ROOT/target/bench
REPORT=$OUT_DIR/idp-token.txt

log() { printf '[idp-bench] %s\n' "$*" >&2; }
die() { log "FAILED: $*"; exit 1; }

for n in DURATION RUNS LAT_SECONDS CONNECTIONS WARMUP SIGN_SECONDS FLOW_SECONDS FLOW_MAX FLOW_CONCURRENCY QUIET_WAIT ATTEMPTS; do
    [[ ${!n} =~ ^[0-9]+$ ]] || die "$n must be a whole number"
done
((DURATION >= 1 && DURATION <= 120)) || die "DURATION must be 1..120 s"
((CONNECTIONS >= 1 && CONNECTIONS <= 64)) || die "CONNECTIONS must be 1..64"
((RUNS >= 1 && RUNS <= 5)) || die "RUNS must be 1..5"
((LAT_SECONDS >= 1 && LAT_SECONDS <= 60)) || die "LAT_SECONDS must be 1..60 s"
((FLOW_SECONDS >= 1 && FLOW_SECONDS <= 120)) || die "FLOW_SECONDS must be 1..120 s"
((SIGN_SECONDS >= 1 && SIGN_SECONDS <= 30)) || die "SIGN_SECONDS must be 1..30 s"
((ATTEMPTS >= 1 && ATTEMPTS <= 5)) || die "ATTEMPTS must be 1..5"

# ------------------------------------------------------------------ tools

apt_install() {
    # Another apt may hold the lock for a while: wait for it (bounded).
    apt-get -o DPkg::Lock::Timeout=300 install -y -q "$@" >/dev/null 2>&1 \
        || { apt-get -o DPkg::Lock::Timeout=300 update -q >/dev/null 2>&1 \
            && apt-get -o DPkg::Lock::Timeout=300 install -y -q "$@" >/dev/null; }
}
need() { # need <command> <debian package>
    command -v "$1" >/dev/null 2>&1 && return
    log "installing $2"
    apt_install "$2" || die "cannot install $2"
    command -v "$1" >/dev/null 2>&1 || die "$1 is still missing"
}
need wrk wrk
need openssl openssl
need taskset util-linux
need curl curl
need python3 python3

NPROC=$(nproc)
((NPROC >= 2)) || log "warning: one CPU only: server and load generator will share it"
if ((NPROC < 2)); then CLIENT_CPU=$SERVER_CPU; fi

# ------------------------------------------------------------------ build

if [[ $SKIP_BUILD != 1 ]]; then
    log "building rolegate (release)"
    cargo build --release -q -p rolegate
    log "building bench/rsa-sign-rate (release)"
    cargo build --release -q --locked --manifest-path bench/rsa-sign-rate/Cargo.toml \
        --target-dir target/rsa-sign-rate
fi
ROLEGATE=$ROOT/target/release/rolegate
SIGNER=$ROOT/target/rsa-sign-rate/release/rsa-sign-rate
[[ -x $ROLEGATE ]] || die "no $ROLEGATE"
[[ -x $SIGNER ]] || die "no $SIGNER"

# ------------------------------------------------------- a quiet machine

cpu_busy() { # whole-machine busy CPUs (e.g. 0.35) over one second, from /proc/stat
    local a b
    a=($(head -1 /proc/stat)); sleep 1; b=($(head -1 /proc/stat))
    python3 - "${a[*]}" "${b[*]}" "$NPROC" <<'EOF'
import sys
a = [int(x) for x in sys.argv[1].split()[1:]]
b = [int(x) for x in sys.argv[2].split()[1:]]
d = [y - x for x, y in zip(a, b)]
total = sum(d[:8]) or 1
idle = d[3] + d[4]
print(f"{(total - idle) / total * int(sys.argv[3]):.2f}")
EOF
}
busy_procs() {
    ps -eo pid,pcpu,etime,comm --sort=-pcpu | awk 'NR > 1 && $2 > 5.0' | head -5 | tr '\n' ';'
}
if ((QUIET_WAIT > 0)); then
    waited=0
    while :; do
        busy=$(cpu_busy)
        if python3 -c "import sys; sys.exit(0 if float('$busy') < 0.15 else 1)"; then
            break
        fi
        if ((waited >= QUIET_WAIT)); then
            log "warning: the machine is still busy ($busy CPUs) after ${QUIET_WAIT}s; measuring anyway"
            break
        fi
        ((waited % 30 == 0)) && log "waiting for a quiet machine: $busy CPUs busy ($(busy_procs))"
        sleep 4
        waited=$((waited + 5))
    done
fi
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
BUSY_BEFORE=$(cpu_busy)

# ----------------------------------------------------------- the server

WORK=$(mktemp -d -t rolegate-idp-bench.XXXXXX)
SERVER_PID=
cleanup() {
    local rc=$?
    if [[ -n $SERVER_PID ]] && kill -0 "$SERVER_PID" 2>/dev/null; then
        kill "$SERVER_PID" 2>/dev/null || true
        for _ in $(seq 50); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.1; done
        kill -9 "$SERVER_PID" 2>/dev/null || true
    fi
    if ((rc != 0)) && [[ -f $WORK/idp.log ]]; then
        log "provider log (last lines):"; tail -20 "$WORK/idp.log" >&2 || true
    fi
    rm -rf "$WORK"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
log "starting the provider on 127.0.0.1:$PORT, pinned to CPU $SERVER_CPU"
taskset -c "$SERVER_CPU" "$ROLEGATE" idp --config examples/tenant.toml \
    --data-dir "$WORK/data" --listen "127.0.0.1:$PORT" >"$WORK/idp.log" 2>&1 &
SERVER_PID=$!

BASE=https://localhost:$PORT
TOKEN_URL=https://127.0.0.1:$PORT/$TENANT/oauth2/v2.0/token
CA=
for _ in $(seq 150); do
    kill -0 "$SERVER_PID" 2>/dev/null || die "the provider exited"
    if [[ -z $CA ]]; then
        CA=$("$ROLEGATE" idp ca-path --data-dir "$WORK/data" 2>/dev/null || true)
        [[ -f $CA ]] || CA=
    fi
    if [[ -n $CA ]] && curl -sf --max-time 2 --cacert "$CA" \
        "$BASE/$TENANT/v2.0/.well-known/openid-configuration" >/dev/null 2>&1; then
        break
    fi
    sleep 0.2
done
[[ -n $CA ]] || die "the provider did not come up within 30 s"

# One request by hand: a 200 with an RS256 access token.
curl -s --max-time 5 --cacert "$CA" -o "$WORK/cc.json" -w '%{http_code}' \
    -d grant_type=client_credentials \
    -d client_id=7fbf04bb-64db-4661-a8cd-d2d07d250ad8 \
    -d client_secret=daemon-secret-8Qx3vT7pLm2Zr9Wc \
    --data-urlencode scope=api://8a1f6c2e-4b7d-4e9a-b3c5-6d7e8f9a0b1c/.default \
    "$BASE/$TENANT/oauth2/v2.0/token" >"$WORK/cc.status" || true
[[ $(cat "$WORK/cc.status") == 200 ]] || die "client credentials: HTTP $(cat "$WORK/cc.status"): $(head -c 300 "$WORK/cc.json")"
python3 - "$WORK/cc.json" <<'EOF' || die "the access token is not RS256"
import base64, json, sys
t = json.load(open(sys.argv[1]))["access_token"]
h = json.loads(base64.urlsafe_b64decode(t.split(".")[0] + "=="))
sys.exit(0 if h.get("alg") == "RS256" and len(t.split(".")[2]) == 342 else 1)  # 256-byte signature
EOF

# ------------------------------------------------------------ measuring
#
# Each measurement runs under bench/cpu-account.py, which tells how much of
# the server's core other processes (other_frac) and the hypervisor
# (steal_frac) took meanwhile. A disturbed measurement (more than
# $DISTURBED of the core) is repeated, up to $ATTEMPTS times in all; the
# least disturbed attempt is kept and its disturbance reported.

disturbance() { python3 -c 'import json, sys; r = json.load(open(sys.argv[1])); print("%.4f" % (r["other_frac"] + r["steal_frac"]))' "$1"; }
is_below() { python3 -c 'import sys; sys.exit(0 if float(sys.argv[1]) < float(sys.argv[2]) else 1)' "$1" "$2"; }

# measure NAME CHECK ACCOUNT-ARGS... -- COMMAND...: sets BEST to the kept
# attempt's number; $WORK/NAME.N.out is its output, $WORK/NAME.N.json its
# accounting. CHECK (a function) is run on every attempt's output and
# fails the run if the attempt failed.
measure() {
    local name=$1 check=$2 i d best_d=9
    shift 2
    BEST=
    for ((i = 1; i <= ATTEMPTS; i++)); do
        python3 bench/cpu-account.py --report "$WORK/$name.$i.json" "$@" >"$WORK/$name.$i.out" 2>&1 \
            || die "$name: the command failed: $(tail -5 "$WORK/$name.$i.out")"
        "$check" "$WORK/$name.$i.out"
        d=$(disturbance "$WORK/$name.$i.json")
        if is_below "$d" "$best_d"; then best_d=$d; BEST=$i; fi
        if is_below "$d" "$DISTURBED"; then break; fi
        ((i < ATTEMPTS)) && log "  $name: CPU $SERVER_CPU was disturbed ($d of the core taken by others); again"
    done
    is_below "$best_d" "$DISTURBED" || log "  warning: $name: every attempt was disturbed; keeping the least ($best_d)"
    return 0
}
jget() { python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$1" "$2"; }

check_openssl() { grep -qE '^rsa 2048 bits' "$1" || die "cannot parse openssl speed: $(tail -3 "$1")"; }
check_signer() { grep -q 'sign/s: ' "$1" || die "cannot parse rsa-sign-rate: $(tail -3 "$1")"; }
check_wrk() {
    local line
    line=$(grep '^RESULT ' "$1") || die "no RESULT line from wrk: $(tail -5 "$1")"
    [[ $line == *" non200=0 no_token=0 socket_errors=0 "* ]] \
        || die "client credentials: not every response was a 200 with a token: $line $(grep '^FIRST_BAD' "$1" || true)"
}

# ------------------------------------------------------- signing rates

log "signing rate, one thread on CPU $SERVER_CPU: openssl speed -seconds $SIGN_SECONDS rsa2048"
OPENSSL_VERSION=$(openssl version | cut -d' ' -f1-2)
measure openssl check_openssl --core "$SERVER_CPU" --child-on-core -- \
    taskset -c "$SERVER_CPU" openssl speed -seconds "$SIGN_SECONDS" rsa2048
OPENSSL_SIGN=$(awk '$1 == "rsa" && $2 == "2048" && $3 == "bits" { print $6 }' "$WORK/openssl.$BEST.out")
OPENSSL_DIST=$(disturbance "$WORK/openssl.$BEST.json")
[[ $OPENSSL_SIGN =~ ^[0-9.]+$ ]] || die "cannot parse openssl speed"

# ------------------------------------------------ client credentials (wrk)

log "warm-up: wrk ${WARMUP}s"
taskset -c "$CLIENT_CPU" wrk -t1 -c"$CONNECTIONS" -d"${WARMUP}s" -s bench/idp-token.lua "$TOKEN_URL" >"$WORK/warmup.txt" 2>&1 \
    || die "wrk warm-up failed: $(tail -3 "$WORK/warmup.txt")"
check_wrk "$WORK/warmup.txt"

# RUNS rounds, each: the aws-lc-rs signing rate on the server's core (the
# server idle), then wrk against the server. Pairing them cancels most of
# the drift of a shared host (the same vCPU can be slower from one minute to
# the next); the median round's ratio is the verdict.
RUN_LINES=
for ((run = 1; run <= RUNS; run++)); do
    log "round $run/$RUNS: aws-lc-rs signing rate, one thread on CPU $SERVER_CPU (bench/rsa-sign-rate $SIGN_SECONDS)"
    measure "awslc$run" check_signer --core "$SERVER_CPU" --child-on-core -- \
        taskset -c "$SERVER_CPU" "$SIGNER" "$SIGN_SECONDS"
    sign=$(sed -n 's/.*sign\/s: \([0-9.]*\).*/\1/p' "$WORK/awslc$run.$BEST.out")
    [[ $sign =~ ^[0-9.]+$ ]] || die "cannot parse rsa-sign-rate"
    sign_json=$WORK/awslc$run.$BEST.json
    log "round $run/$RUNS: client credentials, wrk -t1 -c$CONNECTIONS -d${DURATION}s (server on CPU $SERVER_CPU, wrk on CPU $CLIENT_CPU)"
    measure "wrk$run" check_wrk --core "$SERVER_CPU" --pid "$SERVER_PID" -- \
        taskset -c "$CLIENT_CPU" wrk -t1 -c"$CONNECTIONS" -d"${DURATION}s" --timeout 5s --latency \
        -s bench/idp-token.lua "$TOKEN_URL"
    RUN_LINES+="$(grep '^RESULT ' "$WORK/wrk$run.$BEST.out") json=$WORK/wrk$run.$BEST.json sign=$sign sign_json=$sign_json"$'\n'
done
# Unloaded latency: one connection.
log "client credentials, latency: wrk -t1 -c1 -d${LAT_SECONDS}s"
measure wrklat check_wrk --core "$SERVER_CPU" --pid "$SERVER_PID" -- \
    taskset -c "$CLIENT_CPU" wrk -t1 -c1 -d"${LAT_SECONDS}s" --timeout 5s --latency \
    -s bench/idp-token.lua "$TOKEN_URL"
LAT_LINE="$(grep '^RESULT ' "$WORK/wrklat.$BEST.out") json=$WORK/wrklat.$BEST.json"
export RUN_LINES LAT_LINE
CC_JSON=$(python3 - <<'EOF'
import json, os, re
def parse(line):
    kv = dict(re.findall(r"(\w+)=(\S+)", line))
    acct = json.load(open(kv["json"]))
    r = {k: float(v) for k, v in kv.items() if not k.endswith("json")}
    if "sign_json" in kv:
        sa = json.load(open(kv["sign_json"]))
        r["sign_dist"] = sa["other_frac"] + sa["steal_frac"]
        r["ratio"] = r["rps"] / r["sign"]
    r["cores"] = acct["pid_cpu_s"] / acct["wall_s"]
    r["dist"] = acct["other_frac"] + acct["steal_frac"]
    r["steal"] = acct["steal_frac"]
    r["per_cpu_s"] = r["requests"] / acct["pid_cpu_s"] if acct["pid_cpu_s"] else 0
    return r
rounds = [parse(l) for l in os.environ["RUN_LINES"].splitlines() if l.strip()]
median = sorted(rounds, key=lambda r: r["ratio"])[len(rounds) // 2]
print(json.dumps({"median": median, "rounds": rounds,
                  "requests_total": sum(r["requests"] for r in rounds),
                  "latency": parse(os.environ["LAT_LINE"])}))
EOF
)
PERF_TOP=
if [[ $PROFILE == 1 ]]; then
    # A separate run: perf's sampling must not slow the measured one.
    command -v perf >/dev/null 2>&1 || need perf linux-perf
    log "profile: perf record on the server during a 7 s wrk run"
    taskset -c "$CLIENT_CPU" wrk -t1 -c"$CONNECTIONS" -d7s -s bench/idp-token.lua "$TOKEN_URL" >"$WORK/perf-wrk.txt" 2>&1 &
    PERF_WRK=$!
    sleep 1
    perf record -q -F 999 -g -p "$SERVER_PID" -o "$WORK/perf.data" -- sleep 5 >/dev/null 2>&1 || true
    wait "$PERF_WRK" || true
    if [[ -s $WORK/perf.data ]]; then
        PERF_TOP=$(perf report -q -i "$WORK/perf.data" --no-children -g none --sort sym --stdio 2>/dev/null \
            | python3 -c '
import collections, re, sys
groups = [
    ("RSA signing (aws-lc bignum)", r"rsaz|bn_|BN_|extract_multiplier|mont|RSA|rsa_"),
    ("TLS record crypto (AES-GCM)", r"aes|gcm|ghash"),
    ("SHA-2", r"sha256|sha512"),
    ("allocator", r"malloc|free|realloc|calloc|_int_|consolidate|unlink_chunk"),
    ("memcpy/memset/memcmp", r"mem(cpy|move|set|cmp)"),
    ("JSON (serde_json)", r"serde"),
    ("HTTP (hyper, axum, forms, URLs)", r"hyper|axum|http|form_urlencoded|percent_encoding|url::"),
    ("TLS framing (rustls)", r"rustls"),
    ("async runtime (tokio)", r"tokio"),
    ("base64", r"base64"),
]
total, cat, top = 0.0, collections.Counter(), []
for line in sys.stdin:
    m = re.match(r"\s*([\d.]+)%\s+\[(.)\]\s+(.*)", line)
    if not m:
        continue
    p, kind, sym = float(m.group(1)), m.group(2), m.group(3).strip()
    total += p
    name = "kernel (TCP loopback, syscalls, wake-ups)" if kind == "k" else next(
        (g for g, rx in groups if re.search(rx, sym)), "other user space")
    cat[name] += p
    if len(top) < 8:
        top.append(f"    {p:5.1f} %  {sym[:90]}")
for name, p in cat.most_common():
    print(f"  {p:5.1f} %  {name}")
print("  top symbols:")
print("\n".join(top))
' || true)
    fi
fi

# ------------------------------------------------------------- code flow

log "code flow: bench/idp-codeflow.py, ${FLOW_SECONDS}s or $FLOW_MAX flows, concurrency $FLOW_CONCURRENCY (CPU $CLIENT_CPU)"
python3 bench/cpu-account.py --core "$SERVER_CPU" --pid "$SERVER_PID" --report "$WORK/flow.json" -- \
    taskset -c "$CLIENT_CPU" python3 bench/idp-codeflow.py --port "$PORT" --ca "$CA" \
    --seconds "$FLOW_SECONDS" --max-flows "$FLOW_MAX" --concurrency "$FLOW_CONCURRENCY" >"$WORK/flow.out" 2>&1 \
    || die "code flow: $(tail -c 1000 "$WORK/flow.out")"
FLOW_JSON=$(tail -1 "$WORK/flow.out")
FLOW_CORES=$(python3 -c 'import json, sys; r = json.load(open(sys.argv[1])); print("%.2f" % (r["pid_cpu_s"] / r["wall_s"]))' "$WORK/flow.json")
FLOW_DIST=$(disturbance "$WORK/flow.json")
FLOW_DRIVER_CORES=$(python3 -c 'import json, sys; r = json.load(open(sys.argv[1])); print("%.2f" % (r["child_cpu_s"] / r["wall_s"]))' "$WORK/flow.json")
kill -0 "$SERVER_PID" 2>/dev/null || die "the provider died during the run"

# -------------------------------------------------------------- summary

CPU_MODEL=$(awk -F': ' '/^model name/ { m = $2 } /^cpu family/ { f = $2 } /^model[[:space:]]*:/ { n = $2 }
    END { printf "%s (family %s, model %s)", m, f, n }' /proc/cpuinfo)
grep -qw avx512ifma /proc/cpuinfo && CPU_MODEL="$CPU_MODEL, AVX-512 IFMA"
mkdir -p "$OUT_DIR"
DATE=$(date -u +%Y-%m-%dT%H:%MZ)
export FLOW_JSON CC_JSON OPENSSL_SIGN FLOW_CORES FLOW_DRIVER_CORES OPENSSL_DIST FLOW_DIST \
    DISTURBED RUNS NPROC CPU_MODEL LOAD_BEFORE BUSY_BEFORE SERVER_CPU CLIENT_CPU OPENSSL_VERSION DURATION CONNECTIONS DATE
python3 - >"$REPORT" <<'EOF'
import json, os
e = os.environ
f = json.loads(e["FLOW_JSON"])
cc = json.loads(e["CC_JSON"])
m, lat = cc["median"], cc["latency"]
rps, cores = m["rps"], m["cores"]
awslc, ossl = m["sign"], float(e["OPENSSL_SIGN"])
flow_cores = float(e["FLOW_CORES"])
dist = {k: float(e[k]) for k in ("OPENSSL_DIST", "FLOW_DIST")}
for i, r in enumerate(cc["rounds"], 1):
    dist[f"SIGN{i}_DIST"] = r["sign_dist"]
    dist[f"CC{i}_DIST"] = r["dist"]
dist["LAT_DIST"] = lat["dist"]
pct = lambda x: f"{100 * x:.1f} %"
pct_awslc, pct_ossl = 100 * rps / awslc, 100 * rps / ossl
per_cpu_s = m["per_cpu_s"]
pct_cpu_awslc = 100 * per_cpu_s / awslc
ms3 = lambda r: f"{r['p50_us'] / 1000:.2f} / {r['p90_us'] / 1000:.2f} / {r['p99_us'] / 1000:.2f}"
fm, am, tm = f["flow_ms"], f["authorize_ms"], f["token_ms"]
met = pct_awslc >= 80
rows = [
    (f"RSA-2048 sign/s, 1 thread ({e['OPENSSL_VERSION']}, openssl speed)", f"{ossl:,.0f}"),
    ("  CPU taken by others meanwhile", pct(dist["OPENSSL_DIST"])),
    *[(f"round {i}: aws-lc-rs sign/s; tokens/s; ratio", f"{r['sign']:,.0f}; {r['rps']:,.0f}; {100 * r['ratio']:.1f} %")
      for i, r in enumerate(cc["rounds"], 1)],
    (f"median round (by ratio), of {e['RUNS']}:", ""),
    ("  RSA-2048 RS256 sign/s, 1 thread (aws-lc-rs 1.19, bench/rsa-sign-rate)", f"{awslc:,.0f}"),
    (f"  client credentials: tokens/s (wrk, {e['DURATION']} s, {e['CONNECTIONS']} connections)", f"{rps:,.0f}"),
    ("  requests in all rounds (every one a 200 with a token)", f"{cc['requests_total']:,.0f}"),
    ("  latency p50 / p90 / p99 (ms)", ms3(m)),
    ("  server CPU used (cores)", f"{cores:.2f}"),
    ("  server core taken by others (of which steal)", f"{pct(m['dist'])} ({pct(m['steal'])})"),
    ("  tokens/s per server CPU-second", f"{per_cpu_s:,.0f}"),
    ("  issuance / aws-lc-rs sign rate (1 core)", f"{pct_awslc:.1f} %"),
    ("  issuance / openssl sign rate (1 core; openssl measured once)", f"{pct_ossl:.1f} %"),
    ("  issuance per CPU-second / aws-lc-rs sign rate", f"{pct_cpu_awslc:.1f} %"),
    (f"client credentials, 1 connection ({lat['duration_us'] / 1e6:.0f} s): tokens/s", f"{lat['rps']:,.0f}"),
    ("  latency p50 / p90 / p99 (ms)", ms3(lat)),
    (f"code flow: flows/s (concurrency {f['concurrency']}, {f['seconds']:.1f} s)", f"{f['flows_per_s']:,.1f}"),
    ("  flows / failed", f"{f['flows']} / {f['failed']}"),
    ("  flow latency p50 / p90 / p99 (ms)", f"{fm['50']:.2f} / {fm['90']:.2f} / {fm['99']:.2f}"),
    ("  authorize p50 / p99; token p50 / p99 (ms)", f"{am['50']:.2f} / {am['99']:.2f}; {tm['50']:.2f} / {tm['99']:.2f}"),
    ("  server CPU used (cores); driver CPU used (cores)", f"{flow_cores:.2f}; {float(e['FLOW_DRIVER_CORES']):.2f}"),
    ("  server core taken by others", pct(dist["FLOW_DIST"])),
]
w = max(len(r[0]) for r in rows)
print(f"rolegate idp benchmark ({e['DATE']})")
print(f"machine: {e['NPROC']} CPUs, {e['CPU_MODEL']}; load average before: {e['LOAD_BEFORE']}; busy CPUs just before: {e['BUSY_BEFORE']}")
print(f"server pinned to CPU {e['SERVER_CPU']} (one core), load generators pinned to CPU {e['CLIENT_CPU']}")
print()
print(f"| {'measurement'.ljust(w)} | value |")
print(f"|{'-' * (w + 2)}|-------|")
for k, v in rows:
    print(f"| {k.ljust(w)} | {v} |")
print()
print("target (client-credentials issuance >= 80 % of the single-core RSA-2048 sign rate, per core used): "
      f"{'MET' if met else 'MISSED'} ({pct_awslc:.1f} % of the aws-lc-rs rate, median of {e['RUNS']} rounds; "
      f"{pct_ossl:.1f} % of openssl's; server on one pinned core)")
bad_phases = [k for k, v in dist.items() if v >= float(e["DISTURBED"])]
if bad_phases:
    print(f"WARNING: disturbed measurements (others took >= {pct(float(e['DISTURBED']))} of the server core): "
          + ", ".join(bad_phases) + "; the figures above are not reliable: rerun on a quiet machine")
if f.get("errors"):
    print("code-flow errors:", "; ".join(f["errors"]))
EOF
if [[ -n $PERF_TOP ]]; then
    { echo; echo "perf: where the server spends its CPU (5 s of an extra wrk run, self time):"; echo "$PERF_TOP"; } >>"$REPORT"
fi
cat "$REPORT"
log "done (report: ${REPORT#"$ROOT"/})"
