#!/usr/bin/env bash
# The main job until `rolegate demo` exists: build the CLI and show, offline,
# why an API refuses an ID token and accepts the access token (sample tokens
# and keys in examples/tokens, no network needed).
set -uo pipefail
cd "$(dirname "$0")/.."
cargo build -q -p rolegate || exit 2
rolegate=target/debug/rolegate
tid=7d3e1b5a-2f4c-4e8d-9a6b-0c1d2e3f4a5b
api=8a1f6c2e-4b7d-4e9a-b3c5-6d7e8f9a0b1c
offline=(--jwks-file examples/tokens/jwks.json --issuer "https://login.microsoftonline.com/$tid/v2.0" --audience "$api")

echo "### 1. An ID token sent to the API (the classic mistake): decode it"
"$rolegate" token decode examples/tokens/id-token.jwt
echo
echo "### 2. Why the API refuses it: rolegate token check"
"$rolegate" token check examples/tokens/id-token.jwt "${offline[@]}"
echo "(exit code $?: 1 = refused)"
echo
echo "### 3. The access token for the API, holding the Orders.Admin role"
"$rolegate" token check examples/tokens/access-token-v2.jwt "${offline[@]}" --require-role Orders.Admin
echo "(exit code $?: 0 = valid and authorized)"
echo
echo "### 4. A Microsoft Graph token sent to the API"
"$rolegate" token check examples/tokens/graph-token.jwt "${offline[@]}"
echo "(exit code $?)"
exit 0
