#!/usr/bin/env bash
# Installs what is missing, builds once in Release, starts one private
# PostgreSQL, one Redis, one Prometheus and the test OTLP receiver for the
# whole run and runs every test with CTest.
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
cleanup() {
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
