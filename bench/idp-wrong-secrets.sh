#!/usr/bin/env bash
# Load check of `rolegate idp` under a wrong-secret flood: do 64 concurrent
# wrong-secret requests (each one an argon2 verification) leave a valid
# client-credentials request's p99 latency within MAX_RATIO (3) times its
# idle value? Loopback only; every load is bounded in count and time (about
# 25 s of load in all, under 60 s when idle phases are repeated).
#
#   bash bench/idp-wrong-secrets.sh
#
# What it does:
#   1. installs wrk (Debian) if missing; builds `rolegate` (release);
#   2. waits (bounded) for a quiet machine, starts the provider pinned to
#      $SERVER_CPU (taskset) with a fresh data dir and examples/tenant.toml
#      on a free 127.0.0.1 port; one request by hand (a 200 with a token:
#      the daemon's secret is now in the verified-secret cache);
#   3. idle: $REQUESTS valid client-credentials requests (the Orders
#      daemon), paced ($PACE_MS ms between requests on each of
#      $VALID_CONNECTIONS keep-alive connections), wrk + bench/idp-token.lua
#      on $CLIENT_CPU; every answer must be a 200 with an access token;
#   4. attack: bench/idp-wrong-secrets.py sends wrong secrets (a new random
#      one each time) for the same client on $ATTACKERS connections, one
#      request in flight on each, every connection bound to its own
#      loopback source (127.0.0.2, ...) and moving to the next address when
#      its source is throttled (429), so that the requests cost argon2 and
#      not a throttle lookup; after $RAMP s the same valid stream as in 3
#      runs; then the attackers leave (abandoning their queued requests);
#   5. after the attack: 16 concurrent wrong secrets from fresh sources must
#      get 401 again (argon2 ran), none 503 (the hashing queue still taken),
#      and the right secret a 200;
#   6. prints a summary (also written to target/bench/idp-wrong-secrets.txt).
#
# Verdict: PASS when p99(attack) <= MAX_RATIO x p99(idle) and the provider
# verifies secrets again after the attack; exit 0 on PASS, 1 on FAIL, 2 when
# the run itself failed (a tool missing, the server not starting, a valid
# request not answered 200 with a token).
#
# Knobs (environment): REQUESTS (2000), PACE_MS (4), VALID_CONNECTIONS (1),
# ATTACKERS (64), RAMP (2 s), MAX_RATIO (3), ATTEMPTS (3: idle phases at
# most) and DISTURBED (0.05: an idle phase during which other processes took
# more of the server's core is repeated), SERVER_CPU (0,1: the provider as
# shipped on this 2-core machine, whose hashing pool keeps one core for
# serving; 0 pins it to one core, a deployment without a spare core), CLIENT_CPU (1), QUIET_WAIT (300: max
# seconds to wait for an idle machine; 0 = don't wait), SKIP_BUILD (0).
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$(pwd)

REQUESTS=${REQUESTS:-2000}
PACE_MS=${PACE_MS:-4}
VALID_CONNECTIONS=${VALID_CONNECTIONS:-1}
ATTACKERS=${ATTACKERS:-64}
RAMP=${RAMP:-2}
MAX_RATIO=${MAX_RATIO:-3}
SERVER_CPU=${SERVER_CPU:-0,1}
CLIENT_CPU=${CLIENT_CPU:-1}
QUIET_WAIT=${QUIET_WAIT:-300}
SKIP_BUILD=${SKIP_BUILD:-0}
ATTEMPTS=${ATTEMPTS:-3}
DISTURBED=${DISTURBED:-0.05}

TENANT=7d3e1b5a-2f4c-4e8d-9a6b-0c1d2e3f4a5b
DAEMON=7fbf04bb-64db-4661-a8cd-d2d07d250ad8
SCOPE=api://8a1f6c2e-4b7d-4e9a-b3c5-6d7e8f9a0b1c/.default
OUT_DIR=$ROOT/target/bench
REPORT=$OUT_DIR/idp-wrong-secrets.txt

log() { printf '[wrong-secrets] %s\n' "$*" >&2; }
die() { log "FAILED: $*"; exit 2; }

for n in REQUESTS PACE_MS VALID_CONNECTIONS ATTACKERS RAMP QUIET_WAIT ATTEMPTS; do
    [[ ${!n} =~ ^[0-9]+$ ]] || die "$n must be a whole number"
done
((REQUESTS >= 100 && REQUESTS <= 10000)) || die "REQUESTS must be 100..10000"
((PACE_MS >= 1 && PACE_MS <= 50)) || die "PACE_MS must be 1..50"
((VALID_CONNECTIONS >= 1 && VALID_CONNECTIONS <= 2)) || die "VALID_CONNECTIONS must be 1 or 2"
((ATTACKERS >= 1 && ATTACKERS <= 128)) || die "ATTACKERS must be 1..128"
((RAMP <= 10)) || die "RAMP must be 0..10 s"
((ATTEMPTS >= 1 && ATTEMPTS <= 3)) || die "ATTEMPTS must be 1..3"
[[ $MAX_RATIO =~ ^[0-9]+(\.[0-9]+)?$ ]] || die "MAX_RATIO must be a number"
# Each valid stream is bounded: the expected length, doubled, at most 40 s.
MAX_SECONDS=$(((REQUESTS * (PACE_MS + 1) / VALID_CONNECTIONS / 1000 + 1) * 2))
((MAX_SECONDS <= 40)) || die "REQUESTS x PACE_MS is too long a stream (bounded to 40 s)"

# ------------------------------------------------------------------ tools

apt_install() {
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
need taskset util-linux
need curl curl
need python3 python3

# ------------------------------------------------------------------ build

TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
if [[ $SKIP_BUILD != 1 ]]; then
    log "building rolegate (release)"
    cargo build --release -q -p rolegate
fi
ROLEGATE=$TARGET/release/rolegate
[[ -x $ROLEGATE ]] || die "no $ROLEGATE"

# ------------------------------------------------------- a quiet machine

cpu_busy() { # whole-machine busy CPUs over one second, from /proc/stat
    local a b
    a=($(head -1 /proc/stat)); sleep 1; b=($(head -1 /proc/stat))
    python3 -c '
import sys
a = [int(x) for x in sys.argv[1].split()[1:]]
b = [int(x) for x in sys.argv[2].split()[1:]]
d = [y - x for x, y in zip(a, b)]
print(f"{(sum(d[:8]) - d[3] - d[4]) / (sum(d[:8]) or 1) * int(sys.argv[3]):.2f}")' "${a[*]}" "${b[*]}" "$(nproc)"
}
waited=0
while ((QUIET_WAIT > 0)); do
    busy=$(cpu_busy)
    python3 -c "import sys; sys.exit(0 if float('$busy') < 0.15 else 1)" && break
    if ((waited >= QUIET_WAIT)); then
        log "warning: the machine is still busy ($busy CPUs) after ${QUIET_WAIT}s; measuring anyway"
        break
    fi
    ((waited % 30 == 0)) && log "waiting for a quiet machine: $busy CPUs busy"
    sleep 4
    waited=$((waited + 5))
done
BUSY_BEFORE=$(cpu_busy)

# ----------------------------------------------------------- the server

WORK=$(mktemp -d -t rolegate-wrong-secrets.XXXXXX)
SERVER_PID=
cleanup() {
    local rc=$?
    if [[ -n $SERVER_PID ]] && kill -0 "$SERVER_PID" 2>/dev/null; then
        kill "$SERVER_PID" 2>/dev/null || true
        for _ in $(seq 50); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.1; done
        kill -9 "$SERVER_PID" 2>/dev/null || true
    fi
    if ((rc > 1)) && [[ -f $WORK/idp.log ]]; then
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

token_request() { # token_request SECRET [curl options...]: prints the HTTP status
    local secret=$1
    shift
    curl -s --max-time 10 --cacert "$CA" -o "$WORK/answer.json" -w '%{http_code}' "$@" \
        -d grant_type=client_credentials -d client_id=$DAEMON --data-urlencode "client_secret=$secret" \
        --data-urlencode "scope=$SCOPE" "$BASE/$TENANT/oauth2/v2.0/token" || true
}
status=$(token_request daemon-secret-8Qx3vT7pLm2Zr9Wc)
[[ $status == 200 ]] || die "client credentials: HTTP $status: $(head -c 300 "$WORK/answer.json")"
status=$(token_request "wrong-before-$RANDOM" --interface 127.0.0.1)
[[ $status == 401 ]] || die "a wrong secret before the attack: HTTP $status, expected 401: $(head -c 300 "$WORK/answer.json")"

# ------------------------------------------------------------ measuring

phase() { # phase NAME [--attack]: one measured phase, its JSON in $WORK/NAME.json
    local name=$1
    shift
    python3 bench/idp-wrong-secrets.py phase --port "$PORT" --ca "$CA" --url "$TOKEN_URL" \
        --server-pid "$SERVER_PID" --server-cpu "$SERVER_CPU" --client-cpu "$CLIENT_CPU" \
        --requests "$REQUESTS" --pace-ms "$PACE_MS" --connections "$VALID_CONNECTIONS" \
        --max-seconds "$MAX_SECONDS" --attack-connections "$ATTACKERS" --ramp "$RAMP" \
        --attack-seconds $((MAX_SECONDS + RAMP + 5)) "$@" >"$WORK/$name.json" 2>"$WORK/$name.err" \
        || die "$name: $(tail -c 800 "$WORK/$name.err")"
    python3 - "$WORK/$name.json" <<'EOF' || die "$name: not every valid request was answered 200 with a token"
import json, sys
r = json.load(open(sys.argv[1]))
v = r["valid"]
ok = v["ok"] == v["requests"] and v["non200"] == 0 and v["no_token"] == 0 and v["socket_errors"] == 0
if not ok:
    print(v, r["first_bad"], file=sys.stderr)
sys.exit(0 if ok else 1)
EOF
}

disturbance() { python3 -c 'import json, sys; c = json.load(open(sys.argv[1]))["cpu"]; print(c["others_on_server_cpus"] + c["steal_on_server_cpus"])' "$1"; }
is_below() { python3 -c 'import sys; sys.exit(0 if float(sys.argv[1]) < float(sys.argv[2]) else 1)' "$1" "$2"; }

log "warm-up: 300 valid requests"
REQUESTS=300 PACE_MS=1 phase warmup
# The idle figure is the yardstick: one taken while other processes used
# the server's core is repeated (up to $ATTEMPTS runs; the least disturbed
# is kept).
best=9
for ((i = 1; i <= ATTEMPTS; i++)); do
    log "idle: $REQUESTS valid requests, $VALID_CONNECTIONS connection(s), ${PACE_MS} ms apart (wrk on CPU $CLIENT_CPU)"
    phase "idle$i"
    d=$(disturbance "$WORK/idle$i.json")
    if is_below "$d" "$best"; then best=$d; cp "$WORK/idle$i.json" "$WORK/idle.json"; fi
    is_below "$d" "$DISTURBED" && break
    log "  others took $d of the server's core(s) meanwhile; again"
done
IDLE_RUNS=$((i > ATTEMPTS ? ATTEMPTS : i))
log "attack: $ATTACKERS connections of wrong secrets from distinct loopback sources, then the same valid stream after ${RAMP}s"
phase attack --attack

# The attackers left with requests still queued; the queue drains in about
# a second. Then 16 concurrent wrong secrets from sources never used before
# (127.0.128.1, ...) must all be verified again (401), none refused with 503
# (the hashing queue taken), and the right secret must still work.
sleep 3
log "after the attack: 16 concurrent wrong secrets for 2 s, from fresh sources"
taskset -c "$CLIENT_CPU" python3 bench/idp-wrong-secrets.py attack --port "$PORT" --ca "$CA" \
    --connections 16 --seconds 2 --first-source 127.0.128.1 >"$WORK/after.json" 2>"$WORK/after.err" \
    || die "the probe after the attack failed: $(tail -c 500 "$WORK/after.err")"
GOOD_STATUS=$(token_request daemon-secret-8Qx3vT7pLm2Zr9Wc)
kill -0 "$SERVER_PID" 2>/dev/null || die "the provider died during the run"

# -------------------------------------------------------------- summary

mkdir -p "$OUT_DIR"
export MAX_RATIO GOOD_STATUS IDLE_RUNS DISTURBED SERVER_CPU CLIENT_CPU BUSY_BEFORE REQUESTS PACE_MS \
    VALID_CONNECTIONS ATTACKERS
export DATE=$(date -u +%Y-%m-%dT%H:%MZ) NPROC=$(nproc) LOAD=$(cut -d' ' -f1-3 /proc/loadavg)
set +e
python3 - "$WORK/idle.json" "$WORK/attack.json" "$WORK/after.json" >"$REPORT" <<'EOF'
import json, os, sys
e = os.environ
idle, attack, after = (json.load(open(p)) for p in sys.argv[1:4])
vi, va, a = idle["valid"], attack["valid"], attack["attack"]
ms = lambda us: f"{us / 1000:.2f}"
ratio = va["p99_us"] / vi["p99_us"]
st = a["by_status"]
n401, n429, n503 = (st.get(k, 0) for k in ("401", "429", "503"))
other = a["answered"] - n401 - n429 - n503
lat = a["latency_ms"]
cpu_i, cpu_a = idle["cpu"], attack["cpu"]
cores = lambda c: ", ".join(f"cpu{k} {v['busy']:.2f}" for k, v in c["cores"].items())
rows = [
    ("valid requests per phase (all 200 with a token)", f"{int(vi['requests']):,} / {int(va['requests']):,}"),
    ("idle: p50 / p90 / p99 / max (ms)", f"{ms(vi['p50_us'])} / {ms(vi['p90_us'])} / {ms(vi['p99_us'])} / {ms(vi['max_us'])}"),
    ("attack: p50 / p90 / p99 / max (ms)", f"{ms(va['p50_us'])} / {ms(va['p90_us'])} / {ms(va['p99_us'])} / {ms(va['max_us'])}"),
    ("p99 attack / p99 idle", f"{ratio:.2f}"),
    (f"attack answers in {a['seconds']:.1f} s ({a['connections']} connections)", f"{a['answered']:,}"),
    ("  401 invalid_client (argon2 ran)", f"{n401:,} ({a['per_s'].get('401', 0):.1f}/s)"),
    ("  429 throttled (no argon2)", f"{n429:,}"),
    ("  503 hashing queue full (no argon2)", f"{n503:,}"),
    ("  other answers; socket errors", f"{other:,}; {sum(a['errors'].values()):,} {a['errors'] or ''}"),
    ("  401 latency p50 / p99 (ms: the hashing queue)", f"{lat.get('401', {}).get('p50', 0):.0f} / {lat.get('401', {}).get('p99', 0):.0f}"),
    ("  source addresses; TLS handshakes", f"{a['sources_used']}; {a['handshakes']}"),
    ("server CPU (cores): idle / attack", f"{cpu_i['server_cores']:.2f} / {cpu_a['server_cores']:.2f}"),
    ("busy per core: idle", cores(cpu_i)),
    ("busy per core: attack", cores(cpu_a)),
    ("others on the server's core(s): idle / attack", f"{cpu_i['others_on_server_cpus']:.2f} / {cpu_a['others_on_server_cpus']:.2f}"),
    ("load generators' CPU in the attack (s): wrk; attacker", f"{cpu_a['wrk_cpu_s']:.2f}; {cpu_a['attacker_cpu_s']:.2f}"),
    ("after the attack, 16 concurrent wrong secrets for 2 s: answers", ", ".join(f"{k}: {n:,}" for k, n in sorted(after["by_status"].items())) or "none"),
    ("after the attack: the right secret", e["GOOD_STATUS"]),
]
w = max(len(r[0]) for r in rows)
print(f"rolegate idp under a wrong-secret flood ({e['DATE']})")
print(f"machine: {e['NPROC']} CPUs; load average {e['LOAD']}; busy CPUs just before: {e['BUSY_BEFORE']}")
print(f"server on CPU {e['SERVER_CPU']}, load generators on CPU {e['CLIENT_CPU']}; valid stream: {e['REQUESTS']} requests, "
      f"{e['VALID_CONNECTIONS']} connection(s), {e['PACE_MS']} ms apart; {e['ATTACKERS']} attackers")
print()
print(f"| {'measurement'.ljust(w)} | value |")
print(f"|{'-' * (w + 2)}|-------|")
for k, v in rows:
    print(f"| {k.ljust(w)} | {v} |")
print()
ok_ratio = ratio <= float(e["MAX_RATIO"])
after_401, after_503 = after["by_status"].get("401", 0), after["by_status"].get("503", 0)
recovered = after_401 > 0 and after_503 == 0 and e["GOOD_STATUS"] == "200"
print(f"p99 under attack within {e['MAX_RATIO']}x idle: {'PASS' if ok_ratio else 'FAIL'} ({ratio:.2f}x)")
print(f"secrets verified again after the attack: {'PASS' if recovered else 'FAIL'} "
      f"({after_401} wrong secrets answered 401, {after_503} refused 503 (expected none); right secret -> {e['GOOD_STATUS']})")
for name, c in (("idle", cpu_i), ("attack", cpu_a)):
    d = c["others_on_server_cpus"] + c["steal_on_server_cpus"]
    if d >= float(e["DISTURBED"]):
        print(f"WARNING: {name} phase disturbed: others took {d:.2f} of the server's core(s)"
              + (f" (kept the least disturbed of {e['IDLE_RUNS']} idle runs)" if name == "idle" else "")
              + "; the ratio is not reliable: rerun on a quiet machine")
if n401 < 0.5 * a["answered"]:
    print("WARNING: fewer than half of the attack requests reached argon2 (401): the flood measured the throttle "
          "or the queue bound more than the argon2 path")
print("VERDICT:", "PASS" if ok_ratio and recovered else "FAIL")
sys.exit(0 if ok_ratio and recovered else 1)
EOF
verdict=$?
set -e
cat "$REPORT"
log "done (report: ${REPORT#"$ROOT"/})"
exit "$verdict"
