# Shell functions shared by scripts/run.sh and scripts/test.sh. Source it; do not run it.

TODO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PG_BIN=/usr/lib/postgresql/15/bin

# Debian packages the build and the tests need.
TODO_PACKAGES=(g++ cmake make pkg-config libboost1.81-dev libpq-dev libgtest-dev libhiredis-dev
  postgresql-15 postgresql-client-15 redis-server prometheus curl ca-certificates)
# The OTLP test receiver in tests/otlp runs on Node.js. Debian's nodejs and
# npm are added only when no node is on the PATH, so that a Node.js
# installed in another way stays in use.
command -v node >/dev/null 2>&1 || TODO_PACKAGES+=(nodejs npm)

say() { printf '==> %s\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

# Installs whichever of TODO_PACKAGES are missing.
install_packages() {
  local missing=()
  local package
  for package in "${TODO_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  say "installing ${missing[*]}"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# Configures and builds in Release into build/ (reused between runs).
build_release() {
  local jobs
  jobs=$(nproc 2>/dev/null || echo 2)
  say "building in $TODO_ROOT/build (Release, $jobs jobs)"
  cmake -S "$TODO_ROOT" -B "$TODO_ROOT/build" -DCMAKE_BUILD_TYPE=Release >/dev/null
  cmake --build "$TODO_ROOT/build" -j "$jobs"
}

# Prints a TCP port on 127.0.0.1 that nothing listens on, starting at $1.
free_port() {
  local port=$1
  while (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do
    port=$((port + 1))
  done
  echo "$port"
}

# Runs a PostgreSQL tool as the user that owns the cluster. PostgreSQL
# refuses to run as root, so root uses the postgres system account.
pg_as_owner() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

# The pg_ctl command line, for tests that stop and start the server.
pg_ctl_command() {
  if [ "$(id -u)" -eq 0 ]; then echo "runuser -u postgres -- $PG_BIN/pg_ctl"; else echo "$PG_BIN/pg_ctl"; fi
}

# Starts a private PostgreSQL cluster in folder $1 on a free port from $2,
# creating it on first use, and sets PG_PORT. It listens on 127.0.0.1 only,
# with no Unix socket, and trusts local connections: it is for this machine.
# A third argument "throwaway" turns fsync off, for test data only.
start_postgres() {
  local folder=$1 first_port=$2 durability=${3:-durable}
  local data="$folder/data"
  mkdir -p "$folder"
  if [ "$(id -u)" -eq 0 ]; then
    chown postgres "$folder"
    runuser -u postgres -- test -w "$folder" ||
      die "the postgres user cannot write $folder; move the checkout to a folder every user can enter"
  fi

  if [ ! -f "$data/PG_VERSION" ]; then
    say "creating a PostgreSQL cluster in $data"
    pg_as_owner "$PG_BIN/initdb" -D "$data" -U postgres -A trust -E UTF8 --locale=C.UTF-8 >"$folder/initdb.log" 2>&1 ||
      { cat "$folder/initdb.log" >&2; die "initdb failed"; }
  fi

  PG_PORT=$(free_port "$first_port")
  pg_as_owner tee "$data/postgresql.auto.conf" >/dev/null <<CONF
port = $PG_PORT
listen_addresses = '127.0.0.1'
unix_socket_directories = ''
max_connections = 200
fsync = $([ "$durability" = throwaway ] && echo off || echo on)
CONF
  say "starting PostgreSQL on 127.0.0.1:$PG_PORT"
  pg_as_owner "$PG_BIN/pg_ctl" -D "$data" -l "$folder/postgres.log" -w -t 60 start >/dev/null ||
    { tail -n 20 "$folder/postgres.log" >&2; die "PostgreSQL did not start"; }
}

stop_postgres() {
  local folder=$1
  [ -f "$folder/data/postmaster.pid" ] || return 0
  pg_as_owner "$PG_BIN/pg_ctl" -D "$folder/data" -m fast -w stop >/dev/null 2>&1 || true
}

# Creates database $1 unless it exists.
create_database() {
  local name=$1
  if ! psql -h 127.0.0.1 -p "$PG_PORT" -U postgres -tAc "SELECT 1 FROM pg_database WHERE datname = '$name'" postgres | grep -q 1; then
    psql -h 127.0.0.1 -p "$PG_PORT" -U postgres -qc "CREATE DATABASE \"$name\"" postgres
  fi
}

# Starts a private Redis in folder $1 on a free port from $2 and sets
# REDIS_PORT, REDIS_START and REDIS_STOP (the commands tests use to stop and
# start it again). It listens on 127.0.0.1 only, with the append-only file
# on, so queued jobs survive a restart as they do in production.
start_redis() {
  local folder=$1 first_port=$2
  mkdir -p "$folder"
  REDIS_PORT=$(free_port "$first_port")
  REDIS_START="redis-server --port $REDIS_PORT --bind 127.0.0.1 --save '' --appendonly yes --daemonize yes --dir $folder --pidfile $folder/redis.pid --logfile $folder/redis.log"
  REDIS_STOP="redis-cli -p $REDIS_PORT shutdown nosave"
  say "starting Redis on 127.0.0.1:$REDIS_PORT"
  eval "$REDIS_START" || die "Redis did not start; see $folder/redis.log"
  local attempt
  for attempt in $(seq 1 50); do
    redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  die "Redis did not respond to PING on port $REDIS_PORT; see $folder/redis.log"
}

stop_redis() {
  [ -n "${REDIS_PORT:-}" ] || return 0
  redis-cli -p "$REDIS_PORT" shutdown nosave >/dev/null 2>&1 || true
}

# Starts a private Prometheus in folder $1 on a free port from $2 with the
# rules of deploy/prometheus and a 1 s scrape interval, and sets
# PROMETHEUS_PORT and PROMETHEUS_TARGETS. Targets come from the JSON files
# in $PROMETHEUS_TARGETS (file-based discovery): web.json and worker.json.
start_prometheus() {
  local folder=$1 first_port=$2
  PROMETHEUS_TARGETS="$folder/targets"
  mkdir -p "$folder/data" "$PROMETHEUS_TARGETS"
  echo '[]' >"$PROMETHEUS_TARGETS/web.json"
  echo '[]' >"$PROMETHEUS_TARGETS/worker.json"
  cat >"$folder/prometheus.yml" <<CONF
global:
  scrape_interval: 1s
  evaluation_interval: 1s
rule_files:
  - $TODO_ROOT/deploy/prometheus/rules/recording.yml
  - $TODO_ROOT/deploy/prometheus/rules/alerts.yml
scrape_configs:
  - job_name: todo-web
    file_sd_configs: [{files: ["$PROMETHEUS_TARGETS/web.json"], refresh_interval: 1s}]
  - job_name: todo-worker
    file_sd_configs: [{files: ["$PROMETHEUS_TARGETS/worker.json"], refresh_interval: 1s}]
CONF
  PROMETHEUS_PORT=$(free_port "$first_port")
  say "starting Prometheus on 127.0.0.1:$PROMETHEUS_PORT"
  prometheus --config.file="$folder/prometheus.yml" --storage.tsdb.path="$folder/data" \
    --web.listen-address="127.0.0.1:$PROMETHEUS_PORT" >"$folder/prometheus.log" 2>&1 &
  PROMETHEUS_PID=$!
  local attempt
  for attempt in $(seq 1 100); do
    curl -fsS "http://127.0.0.1:$PROMETHEUS_PORT/-/ready" >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  tail -n 20 "$folder/prometheus.log" >&2
  die "Prometheus did not become ready on port $PROMETHEUS_PORT"
}

stop_prometheus() {
  [ -n "${PROMETHEUS_PID:-}" ] || return 0
  kill "$PROMETHEUS_PID" 2>/dev/null || true
  wait "$PROMETHEUS_PID" 2>/dev/null || true
}

# Installs the npm packages of folder $1 with npm ci, logging to
# $2/npm-ci.log, when its node_modules is missing or older than
# package.json or package-lock.json.
install_npm_packages() {
  local package_dir=$1 folder=$2
  local installed="$package_dir/node_modules/.package-lock.json"
  mkdir -p "$folder"
  command -v node >/dev/null 2>&1 || die "node not found; install the Debian packages nodejs and npm"

  if [ ! -f "$installed" ] || [ "$package_dir/package-lock.json" -nt "$installed" ] || [ "$package_dir/package.json" -nt "$installed" ]; then
    say "installing the npm packages of ${package_dir#"$TODO_ROOT"/}"
    npm ci --prefix "$package_dir" --no-audit --no-fund >"$folder/npm-ci.log" 2>&1 ||
      { tail -n 20 "$folder/npm-ci.log" >&2; die "npm ci failed in $package_dir; see $folder/npm-ci.log"; }
  fi
}

# Starts the test OTLP/HTTP receiver (tests/otlp/receiver.mjs) on a free
# port from $2, logging to $1/otlp-receiver.log, and sets OTLP_RECEIVER_PORT
# and OTLP_RECEIVER_PID. It listens on 127.0.0.1 only. The npm packages of
# tests/otlp are installed first when they are missing or stale.
start_otlp_receiver() {
  local folder=$1 first_port=$2
  local otlp_dir="$TODO_ROOT/tests/otlp"
  install_npm_packages "$otlp_dir" "$folder"

  OTLP_RECEIVER_PORT=$(free_port "$first_port")
  say "starting the OTLP receiver on 127.0.0.1:$OTLP_RECEIVER_PORT"
  node "$otlp_dir/receiver.mjs" --port "$OTLP_RECEIVER_PORT" >"$folder/otlp-receiver.log" 2>&1 &
  OTLP_RECEIVER_PID=$!
  local attempt
  for attempt in $(seq 1 100); do
    grep -qx "listening on 127.0.0.1:$OTLP_RECEIVER_PORT" "$folder/otlp-receiver.log" && return 0
    kill -0 "$OTLP_RECEIVER_PID" 2>/dev/null || break
    sleep 0.1
  done
  tail -n 20 "$folder/otlp-receiver.log" >&2
  die "the OTLP receiver did not start on port $OTLP_RECEIVER_PORT; see $folder/otlp-receiver.log"
}

stop_otlp_receiver() {
  [ -n "${OTLP_RECEIVER_PID:-}" ] || return 0
  kill "$OTLP_RECEIVER_PID" 2>/dev/null || true
  wait "$OTLP_RECEIVER_PID" 2>/dev/null || true
}
