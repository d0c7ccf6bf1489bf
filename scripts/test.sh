#!/usr/bin/env bash
# Installs what is missing, builds once in Release, then runs every test
# with CTest in two stages. The first starts one private PostgreSQL, one
# Redis, one Prometheus and the test OTLP receiver for the unit and
# integration tests. The second starts the whole stack with scripts/run.sh
# (two web replicas and two workers behind Caddy) and runs the end-to-end
# and browser tests through Caddy.
# Test output (logs, screenshots) goes to test-output/.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

install_packages
build_release

OUTPUT="$TODO_ROOT/test-output"
rm -rf "$OUTPUT"
mkdir -p "$OUTPUT"

PG_FOLDER=$(mktemp -d /tmp/todo-test-pg.XXXXXX)
chmod 755 "$PG_FOLDER"
STACK_FOLDER=
cleanup() {
  stop_otlp_receiver
  stop_prometheus
  stop_redis
  stop_postgres "$PG_FOLDER"
  rm -rf "$PG_FOLDER"
  if [ -n "$STACK_FOLDER" ]; then
    TODO_DATA_DIR=$STACK_FOLDER "$TODO_ROOT/scripts/run.sh" down >/dev/null 2>&1 || true
    rm -rf "$STACK_FOLDER"
  fi
}
trap cleanup EXIT
start_postgres "$PG_FOLDER" 55432 throwaway
create_database todo_db_test
create_database todo_app_test
start_redis "$PG_FOLDER/redis" 56379
start_prometheus "$PG_FOLDER/prometheus" 59090
start_otlp_receiver "$PG_FOLDER/otlp" 54318
install_npm_packages "$TODO_ROOT/tests/browser" "$OUTPUT/browser"

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

# The end-to-end stage. scripts/run.sh up starts the stack as in the
# README, in a temporary folder and on free ports, with the build of this run.
# Workers take over a killed worker's job after 5 s, and export in batches of
# 100 rows, so that killing a worker in the middle of a large export is easy
# to time. The stack's logs are kept in test-output/stack/.
run_stack_tests() {
  STACK_FOLDER=$(mktemp -d /tmp/todo-test-stack.XXXXXX)
  chmod 755 "$STACK_FOLDER"
  export TODO_DATA_DIR=$STACK_FOLDER TODO_TEST_STACK_DIR=$STACK_FOLDER TODO_SKIP_BUILD=1
  export WEB_REPLICAS=2 WORKER_REPLICAS=2 APP_ENV=test JOB_VISIBILITY_TIMEOUT_S=5 EXPORT_BATCH_ROWS=100

  local status=0
  say "starting the stack for the end-to-end tests"
  "$TODO_ROOT/scripts/run.sh" up || status=$?
  if [ "$status" -eq 0 ]; then
    # The browser tests drive Chromium against the stack's Caddy.
    local caddy_port
    caddy_port=$(awk '$1 == "caddy" {print $2}' "$STACK_FOLDER/run/ports")
    export TODO_BROWSER_BASE_URL="http://127.0.0.1:$caddy_port"
    say "running the end-to-end and browser tests through Caddy at $TODO_BROWSER_BASE_URL"
    ctest --test-dir "$TODO_ROOT/build" --output-on-failure --timeout 600 -L 'stack|browser' || status=$?
  fi
  "$TODO_ROOT/scripts/run.sh" down || status=1
  mkdir -p "$OUTPUT/stack"
  cp -r "$STACK_FOLDER/logs" "$STACK_FOLDER/redis/redis.log" "$STACK_FOLDER/postgres/data/log" "$OUTPUT/stack/" 2>/dev/null || true
  rm -rf "$STACK_FOLDER"
  STACK_FOLDER=
  return "$status"
}

status=0
say "running the unit and integration tests"
ctest --test-dir "$TODO_ROOT/build" --output-on-failure --timeout 900 -LE 'stack|browser' || status=$?
stop_prometheus
stop_redis
stop_postgres "$PG_FOLDER"

run_stack_tests || status=$?

# The benchmark's short form: a few seconds per scenario. It fails only when
# the service returns errors under load, never on a figure.
say "running the short benchmark"
"$TODO_ROOT/bench/run" --quick >"$OUTPUT/bench-quick.txt" 2>&1 || { status=1; tail -n 30 "$OUTPUT/bench-quick.txt" >&2; }
exit "$status"
