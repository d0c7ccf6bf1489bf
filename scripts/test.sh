#!/usr/bin/env bash
# Installs what is missing, builds once in Release, starts one private
# PostgreSQL, one Redis, one Prometheus, the test OTLP receiver and the
# todo-web and todo-worker of the browser tests for the whole run, and runs
# every test with CTest.
# Test output (logs, screenshots) goes to test-output/.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

# ---- The service under the browser tests ----------------------------------
# tests/browser drives Chromium against TODO_BROWSER_BASE_URL. This starts
# one todo-web and one todo-worker from build/ for it, logging to $1. They
# use the PostgreSQL and Redis of this run, with a database of their own and
# Redis database 1, so that their export jobs never mix with those of the
# integration tests. It sets TODO_BROWSER_BASE_URL, BROWSER_WEB_PID and
# BROWSER_WORKER_PID.
start_browser_service() {
  local folder=$1
  mkdir -p "$folder"
  install_npm_packages "$TODO_ROOT/tests/browser" "$folder"
  create_database todo_browser_test

  local web_port worker_port
  web_port=$(free_port 58080)
  worker_port=$(free_port $((web_port + 1)))
  local settings=(DATABASE_URL="postgresql://postgres@127.0.0.1:$PG_PORT/todo_browser_test"
    REDIS_URL="redis://127.0.0.1:$REDIS_PORT/1" BIND_ADDRESS=127.0.0.1 APP_ENV=browser-test LOG_LEVEL=INFO)

  say "starting todo-web and todo-worker for the browser tests on 127.0.0.1:$web_port"
  env "${settings[@]}" PORT="$web_port" STATIC_DIR="$TODO_ROOT/static" WEB_THREADS=2 DB_POOL_SIZE=4 \
    "$TODO_ROOT/build/todo-web" >"$folder/todo-web.log" 2>&1 &
  BROWSER_WEB_PID=$!
  env "${settings[@]}" METRICS_PORT="$worker_port" WORKER_CONCURRENCY=1 WORKER_ID=browser-test-worker \
    "$TODO_ROOT/build/todo-worker" >"$folder/todo-worker.log" 2>&1 &
  BROWSER_WORKER_PID=$!

  local attempt
  for attempt in $(seq 1 300); do
    if curl -fsS "http://127.0.0.1:$web_port/readyz" >/dev/null 2>&1 &&
      curl -fsS "http://127.0.0.1:$worker_port/healthz" >/dev/null 2>&1; then
      export TODO_BROWSER_BASE_URL="http://127.0.0.1:$web_port"
      return 0
    fi
    kill -0 "$BROWSER_WEB_PID" 2>/dev/null || break
    kill -0 "$BROWSER_WORKER_PID" 2>/dev/null || break
    sleep 0.1
  done
  tail -n 5 "$folder/todo-web.log" "$folder/todo-worker.log" >&2
  die "todo-web or todo-worker for the browser tests did not become ready; see $folder"
}

stop_browser_service() {
  local pid
  for pid in ${BROWSER_WEB_PID:-} ${BROWSER_WORKER_PID:-}; do
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
}

install_packages
build_release

OUTPUT="$TODO_ROOT/test-output"
rm -rf "$OUTPUT"
mkdir -p "$OUTPUT"

PG_FOLDER=$(mktemp -d /tmp/todo-test-pg.XXXXXX)
chmod 755 "$PG_FOLDER"
cleanup() {
  stop_browser_service
  stop_otlp_receiver
  stop_prometheus
  stop_redis
  stop_postgres "$PG_FOLDER"
  rm -rf "$PG_FOLDER"
}
trap cleanup EXIT
start_postgres "$PG_FOLDER" 55432 throwaway
create_database todo_db_test
create_database todo_app_test
start_redis "$PG_FOLDER/redis" 56379
start_prometheus "$PG_FOLDER/prometheus" 59090
start_otlp_receiver "$PG_FOLDER/otlp" 54318
start_browser_service "$OUTPUT/browser-service"

export TODO_TEST_DATABASE_URL="postgresql://postgres@127.0.0.1:$PG_PORT/todo_db_test"
export TODO_TEST_APP_DATABASE_URL="postgresql://postgres@127.0.0.1:$PG_PORT/todo_app_test"
export TODO_TEST_PG_CTL
TODO_TEST_PG_CTL=$(pg_ctl_command)
export TODO_TEST_PGDATA="$PG_FOLDER/data"
export TODO_TEST_OUTPUT="$OUTPUT"
export TODO_TEST_REDIS_URL="redis://127.0.0.1:$REDIS_PORT/0"
export TODO_TEST_REDIS_START="$REDIS_START"
export TODO_TEST_REDIS_STOP="$REDIS_STOP"
export TODO_TEST_PROMETHEUS_URL="http://127.0.0.1:$PROMETHEUS_PORT"
export TODO_TEST_PROMETHEUS_TARGETS="$PROMETHEUS_TARGETS"
export TODO_TEST_OTLP_PORT="$OTLP_RECEIVER_PORT"

say "running tests"
ctest --test-dir "$TODO_ROOT/build" --output-on-failure --timeout 900
