#!/usr/bin/env bash
# A throw-away PostgreSQL cluster for the tests: initdb + pg_ctl in a
# directory of its own, listening on 127.0.0.1 only, trusting loopback
# connections, with no system service involved.
#
#   scripts/pg-test-cluster.sh install      # Debian's postgresql via apt-get (root or sudo), if initdb is missing
#   scripts/pg-test-cluster.sh start [DIR]  # prints postgres://rolegate@127.0.0.1:PORT/postgres
#   scripts/pg-test-cluster.sh url DIR      # prints it again
#   scripts/pg-test-cluster.sh stop DIR     # stops the server and deletes DIR
#
# Without DIR, start makes a fresh directory under ${TMPDIR:-/tmp} and says
# which on stderr. Typical use:
#
#   dir=$(mktemp -d) && export ROLEGATE_TEST_POSTGRES=$(scripts/pg-test-cluster.sh start "$dir")
#   trap 'scripts/pg-test-cluster.sh stop "$dir"' EXIT
#
# initdb refuses to run as root, so as root the cluster runs as an
# unprivileged user: $ROLEGATE_PG_USER if set, else `postgres` (Debian's
# package creates it), else a system user `rolegate-pg` made for this.
# The cluster is for tests only: trust authentication and fsync off.
set -euo pipefail

die() { echo "pg-test-cluster: $*" >&2; exit 1; }

# The directory holding initdb and pg_ctl: PATH first, then Debian's
# /usr/lib/postgresql/<version>/bin (the newest version).
bindir() {
  if command -v initdb >/dev/null 2>&1 && command -v pg_ctl >/dev/null 2>&1; then
    dirname "$(command -v initdb)"
    return
  fi
  local found
  found=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
  [ -n "$found" ] && [ -x "$found/initdb" ] || return 1
  echo "$found"
}

install_postgres() {
  if bindir >/dev/null; then
    return
  fi
  command -v apt-get >/dev/null 2>&1 || die "initdb not found and apt-get is not available: install PostgreSQL's server binaries"
  local sudo=""
  if [ "$(id -u)" != 0 ]; then
    command -v sudo >/dev/null 2>&1 || die "initdb not found and installing it needs root: apt-get install -y postgresql"
    sudo=sudo
  fi
  echo "pg-test-cluster: installing Debian's postgresql (initdb not found)" >&2
  $sudo apt-get update -q >&2
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends postgresql >&2
  bindir >/dev/null || die "postgresql installed, but initdb is still not found"
}

# Runs a command as the cluster's owner.
as_owner() {
  if [ "$(id -u)" = 0 ]; then
    runuser -u "$(owner)" -- "$@"
  else
    "$@"
  fi
}

owner() {
  if [ "$(id -u)" != 0 ]; then
    id -un
  elif [ -n "${ROLEGATE_PG_USER:-}" ]; then
    echo "$ROLEGATE_PG_USER"
  elif id postgres >/dev/null 2>&1; then
    echo postgres
  else
    id rolegate-pg >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin rolegate-pg
    echo rolegate-pg
  fi
}

url_of() { echo "postgres://rolegate@127.0.0.1:$(cat "$1/port")/postgres"; }

start() {
  local dir=${1:-}
  local bin
  bin=$(bindir) || die "initdb not found (run: $0 install)"
  if [ -z "$dir" ]; then
    dir=$(mktemp -d "${TMPDIR:-/tmp}/rolegate-pg.XXXXXX")
    echo "pg-test-cluster: cluster in $dir (stop it with: $0 stop $dir)" >&2
  fi
  mkdir -p "$dir"
  [ ! -e "$dir/data" ] || die "$dir already holds a cluster"
  if [ "$(id -u)" = 0 ]; then
    local user
    user=$(owner)
    chown "$user" "$dir"
    chmod 700 "$dir"
  fi
  as_owner "$bin/initdb" --pgdata="$dir/data" --username=rolegate --auth=trust \
    --encoding=UTF8 --no-locale >"$dir/initdb.log" 2>&1 \
    || { cat "$dir/initdb.log" >&2; die "initdb failed"; }
  # TCP on loopback only, trusted; no Unix socket; nothing else.
  echo 'host all all 127.0.0.1/32 trust' | as_owner tee "$dir/data/pg_hba.conf" >/dev/null
  # A free port: try random ones until the server starts on one.
  local attempt port
  for attempt in 1 2 3 4 5 6 7 8; do
    port=$((20000 + RANDOM % 20000))
    if command -v ss >/dev/null 2>&1 && ss -Htln "sport = :$port" 2>/dev/null | grep -q .; then
      continue
    fi
    if as_owner "$bin/pg_ctl" --pgdata="$dir/data" --log="$dir/server.log" --wait --timeout=60 \
      --options="-c listen_addresses=127.0.0.1 -c port=$port -c unix_socket_directories='' \
-c max_connections=300 -c fsync=off -c synchronous_commit=off -c full_page_writes=off" \
      start >/dev/null 2>&1; then
      echo "$port" | as_owner tee "$dir/port" >/dev/null
      url_of "$dir"
      return
    fi
  done
  cat "$dir/server.log" >&2 || true
  die "the server did not start"
}

stop() {
  local dir=${1:?usage: $0 stop DIR}
  local bin
  [ -d "$dir" ] || return 0
  if [ -f "$dir/data/postmaster.pid" ] && bin=$(bindir); then
    as_owner "$bin/pg_ctl" --pgdata="$dir/data" --mode=fast --wait stop >/dev/null 2>&1 || true
  fi
  rm -rf "$dir"
}

case "${1:-}" in
  install) install_postgres ;;
  start) start "${2:-}" ;;
  url) url_of "${2:?usage: $0 url DIR}" ;;
  stop) stop "${2:-}" ;;
  *) die "usage: $0 install | start [DIR] | url DIR | stop DIR" ;;
esac
