#!/usr/bin/env bash
# Installs what is missing, builds todo-web in Release, starts a private
# PostgreSQL under .data/ and runs the service in the foreground. Ctrl-C stops both.
#
# Settings (environment): PORT (default: the first free port from 5000),
# LOG_LEVEL, WEB_THREADS and every other variable todo-web reads.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

install_packages
build_release

PG_FOLDER="$TODO_ROOT/.data/postgres"
start_postgres "$PG_FOLDER" 54320
trap 'stop_postgres "$PG_FOLDER"' EXIT
create_database todo

export DATABASE_URL="postgresql://postgres@127.0.0.1:$PG_PORT/todo"
export PORT=${PORT:-$(free_port 5000)}
export STATIC_DIR=${STATIC_DIR:-$TODO_ROOT/static}
export BIND_ADDRESS=${BIND_ADDRESS:-127.0.0.1}

say "todo is at http://127.0.0.1:$PORT/ (Ctrl-C stops it)"
"$TODO_ROOT/build/todo-web" &
web_pid=$!
trap 'kill -TERM "$web_pid" 2>/dev/null || true; wait "$web_pid" || true; stop_postgres "$PG_FOLDER"' EXIT
trap 'exit 0' INT TERM
wait "$web_pid"
