#!/bin/bash
# Entry point of the postgres stand-in. As root it takes ownership of PGDATA
# and runs itself again as the postgres user. On the first start it makes a
# cluster whose superuser is POSTGRES_USER with POSTGRES_PASSWORD, accepting
# password (SCRAM) logins from other hosts, and creates POSTGRES_DB. Then
# postgres replaces the shell, so it is PID 1 and gets the stop signal.
set -euo pipefail

if [ "${1:-}" != postgres ]; then
  exec "$@"
fi

if [ "$(id -u)" = 0 ]; then
  mkdir -p "$PGDATA"
  chown postgres:postgres "$PGDATA"
  chmod 700 "$PGDATA"
  exec setpriv --reuid=postgres --regid=postgres --init-groups "$0" "$@"
fi

if [ ! -s "$PGDATA/PG_VERSION" ]; then
  : "${POSTGRES_PASSWORD:?POSTGRES_PASSWORD is not set; the stand-in accepts password logins only}"
  user=${POSTGRES_USER:-postgres}
  database=${POSTGRES_DB:-$user}
  echo "creating a cluster in $PGDATA for user $user and database $database"
  initdb -D "$PGDATA" -U "$user" --pwfile=<(printf '%s\n' "$POSTGRES_PASSWORD") \
    -E UTF8 --locale=C.UTF-8 --auth-local=trust --auth-host=scram-sha-256 >/dev/null
  echo "host all all all scram-sha-256" >>"$PGDATA/pg_hba.conf"
  echo "listen_addresses = '*'" >>"$PGDATA/postgresql.conf"
  if [ "$database" != postgres ]; then
    quoted=${database//\"/\"\"}
    echo "CREATE DATABASE \"$quoted\"" | postgres --single -D "$PGDATA" postgres >/dev/null
  fi
fi

exec "$@"
