#!/bin/sh
# Makes the files examples/deploy/compose.yaml reads, in examples/deploy/:
#
#   secrets/kek          the key-encryption key (`rolegate idp gen-kek`)
#   secrets/pg_password  the database password (the postgres image sets it)
#   secrets/pgpass       the same password in libpq's pgpass format (the replicas)
#   tls/login.crt, tls/login.key
#                        a self-signed certificate for login.rolegate.test (nginx)
#
# Existing files are kept: run it again after deleting one to replace it.
# Needs openssl, and `rolegate` on PATH or the image rolegate:local
# (`docker compose -f examples/deploy/compose.yaml build`). The containers
# read the secrets as their own users (rolegate: uid 10001; postgres: uid
# 999), so the files are given to them; that needs root (sudo).
set -eu
cd "$(dirname "$0")"
umask 077
mkdir -p secrets tls

if [ ! -s secrets/kek ]; then
    if command -v rolegate >/dev/null 2>&1; then
        rolegate idp gen-kek >secrets/kek.partial
    else
        docker run --rm rolegate:local idp gen-kek >secrets/kek.partial
    fi
    mv secrets/kek.partial secrets/kek
    echo "made secrets/kek: back it up apart from the database (docs/deploy.md)"
fi
if [ ! -s secrets/pg_password ] || [ ! -s secrets/pgpass ]; then
    # The postgres image uses it only when it creates the cluster (an empty
    # pgdata volume); later changes need ALTER ROLE.
    password=$(openssl rand -hex 24)
    rm -f secrets/pg_password secrets/pgpass
    printf '%s\n' "$password" >secrets/pg_password
    printf 'postgres:5432:rolegate:rolegate:%s\n' "$password" >secrets/pgpass
fi
if [ ! -s tls/login.crt ]; then
    openssl req -x509 -newkey rsa:2048 -nodes -days 90 -subj /CN=login.rolegate.test \
        -addext subjectAltName=DNS:login.rolegate.test \
        -keyout tls/login.key -out tls/login.crt 2>/dev/null
    chmod 0644 tls/login.crt
    echo "made tls/login.crt: clients must trust it (e.g. NODE_EXTRA_CA_CERTS, REQUESTS_CA_BUNDLE)"
fi

sudo=
[ "$(id -u)" = 0 ] || sudo=sudo
$sudo chmod 0400 secrets/kek secrets/pgpass secrets/pg_password
$sudo chown 10001:10001 secrets/kek secrets/pgpass
$sudo chown 999:999 secrets/pg_password
