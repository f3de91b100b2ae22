#!/usr/bin/env bash
# Installs and starts Debian's PostgreSQL for the PostgreSQL store's tests (idempotent): the
# cluster run by the `postgres` user, listening on loopback only, and a role that may create the
# throw-away databases the tests use.
# Prints the URL of the role's database; the tests read it from DEPGRAPH_TEST_PG.
set -euo pipefail
# stdout carries the URL alone: everything else (pg_ctlcluster says "Removed stale pid file."
# after an unclean stop) goes to stderr
exec 3>&1 1>&2
SUDO=""
[[ $(id -u) -ne 0 ]] && SUDO="sudo"
# from /: the postgres user may not enter the folder this runs in
as_postgres() { (cd / && if [[ $(id -u) -eq 0 ]]; then runuser -u postgres -- "$@"; else sudo -u postgres "$@"; fi); }
if ! command -v pg_ctlcluster >/dev/null; then
  echo "postgres: installing postgresql" >&2
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq postgresql >/dev/null
fi
cluster=$(pg_lsclusters --no-header | awk 'NR==1 {print $1" "$2}')
if [[ -z "$cluster" ]]; then
  $SUDO pg_createcluster 15 main >/dev/null
  cluster="15 main"
fi
read -r ver name <<<"$cluster"
conf="/etc/postgresql/$ver/$name/postgresql.conf"
# loopback only, whatever the default becomes
if ! grep -q "^listen_addresses = '127.0.0.1'" "$conf"; then
  echo "listen_addresses = '127.0.0.1'" | $SUDO tee -a "$conf" >/dev/null
  $SUDO pg_ctlcluster "$ver" "$name" stop 2>/dev/null || true
fi
pg_lsclusters --no-header | awk 'NR==1 {print $4}' | grep -q online || $SUDO pg_ctlcluster "$ver" "$name" start 3>&-  # the server must not hold the URL pipe open
for _ in $(seq 30); do
  as_postgres psql -qAtc "select 1" >/dev/null 2>&1 && break
  sleep 1
done
port=$(pg_lsclusters --no-header | awk 'NR==1 {print $3}')
as_postgres psql -qAt -v ON_ERROR_STOP=1 <<SQL >/dev/null
DO \$\$ BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'depgraph') THEN
    CREATE ROLE depgraph LOGIN CREATEDB PASSWORD 'depgraph';
  END IF;
END \$\$;
SQL
if ! as_postgres psql -qAtc "SELECT 1 FROM pg_database WHERE datname = 'depgraph'" | grep -q 1; then
  as_postgres createdb -O depgraph depgraph
fi
echo "postgresql://depgraph:depgraph@127.0.0.1:$port/depgraph" >&3
