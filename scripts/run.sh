#!/usr/bin/env bash
# Installs what is missing, builds in Release, starts a private PostgreSQL
# and Redis under .data/, then runs todo-web and todo-worker in the
# foreground with their JSON logs on stdout. Ctrl-C stops everything.
#
# Settings (environment): PORT (default: the first free port from 5000),
# METRICS_PORT of the worker (default: the first free port from 9100),
# LOG_LEVEL, WEB_THREADS, WORKER_CONCURRENCY and every other variable the
# two programs read.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

install_packages
build_release

DATA="$TODO_ROOT/.data"
start_postgres "$DATA/postgres" 54320
start_redis "$DATA/redis" 56380
create_database todo

pids=()
stop_all() {
  local pid
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  stop_redis
  stop_postgres "$DATA/postgres"
}
trap stop_all EXIT
trap 'exit 0' INT TERM

export DATABASE_URL="postgresql://postgres@127.0.0.1:$PG_PORT/todo"
export REDIS_URL="redis://127.0.0.1:$REDIS_PORT/0"
export PORT=${PORT:-$(free_port 5000)}
export STATIC_DIR=${STATIC_DIR:-$TODO_ROOT/static}
export BIND_ADDRESS=${BIND_ADDRESS:-127.0.0.1}

METRICS_PORT=${METRICS_PORT:-$(free_port 9100)} "$TODO_ROOT/build/todo-worker" &
pids+=($!)
"$TODO_ROOT/build/todo-web" &
pids+=($!)

say "todo is at http://127.0.0.1:$PORT/ (Ctrl-C stops it)"
status=0
wait -n "${pids[@]}" || status=$?
say "a process exited with status $status; stopping the rest"
