#!/usr/bin/env bash
# Runs every cargo-fuzz target for DURATION seconds each (default 30).
#
#   fuzz/run.sh [SECONDS]
#
# Installs cargo-fuzz if missing. Works on the stable toolchain: cargo-fuzz
# passes nightly-only -Z flags, which RUSTC_BOOTSTRAP=1 lets stable rustc
# accept. Uses AddressSanitizer unless FUZZ_SANITIZER says otherwise (e.g.
# FUZZ_SANITIZER=none), and falls back to no sanitizer if the ASan build
# fails. New corpus entries go to fuzz/corpus/<target>/ (seeded from
# fuzz/seeds/<target>/), crash reproducers to fuzz/artifacts/<target>/ and
# logs to fuzz/logs/. Exits non-zero if any target crashed.
set -euo pipefail

DURATION="${1:-30}"
case "$DURATION" in
  '' | *[!0-9]*) echo "usage: $0 [SECONDS]" >&2; exit 2 ;;
esac
cd "$(dirname "$0")"

if ! cargo fuzz --version >/dev/null 2>&1; then
  echo "installing cargo-fuzz"
  cargo install cargo-fuzz --locked
fi
if ! rustc -V | grep -q nightly; then
  export RUSTC_BOOTSTRAP=1
fi

sanitizer="${FUZZ_SANITIZER:-address}"
if ! cargo fuzz build --sanitizer "$sanitizer"; then
  if [ "$sanitizer" = none ]; then
    echo "cargo fuzz build failed" >&2
    exit 2
  fi
  echo "warning: the $sanitizer sanitizer build failed; retrying without a sanitizer" >&2
  sanitizer=none
  cargo fuzz build --sanitizer none
fi

mkdir -p logs
status=0
summary=()
for target in $(cargo fuzz list); do
  mkdir -p "corpus/$target" "seeds/$target"
  dict=()
  case "$target" in
    json_object | jwks | validate) dict=(-dict=dict/jose.dict) ;;
  esac
  log="logs/$target.log"
  echo "== $target: ${DURATION}s, sanitizer $sanitizer"
  if cargo fuzz run --sanitizer "$sanitizer" "$target" "corpus/$target" "seeds/$target" -- \
      -max_total_time="$DURATION" -timeout=10 -print_final_stats=1 "${dict[@]}" \
      >"$log" 2>&1; then
    result=ok
  else
    result="CRASH (see $log and artifacts/$target/)"
    status=1
    grep -E -A30 'panicked at|ERROR: (libFuzzer|AddressSanitizer)' "$log" | head -40 >&2 || true
  fi
  done_line=$(grep -E '^#[0-9]+[[:space:]]+DONE' "$log" | tail -1 || true)
  runs=$(grep -E '^stat::number_of_executed_units' "$log" | awk '{print $2}' || true)
  summary+=("$target: $result; ${runs:-?} execs; ${done_line:-no final stats}")
done

echo
echo "== summary (${DURATION}s per target, sanitizer $sanitizer)"
printf '%s\n' "${summary[@]}"
exit "$status"
