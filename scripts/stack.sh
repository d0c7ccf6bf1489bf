# shellcheck shell=bash
# The local stack of scripts/run.sh: PostgreSQL, Redis, WEB_REPLICAS
# todo-web processes, WORKER_REPLICAS todo-worker processes, Caddy in front
# and Prometheus, each a background process. Data, logs, pid files and the
# chosen ports live in one folder, TODO_DATA_DIR (default .data/ of the
# checkout). Source it after lib.sh; do not run it.

STACK_DATA=${TODO_DATA_DIR:-$TODO_ROOT/.data}
STACK_LOGS=$STACK_DATA/logs
STACK_RUN=$STACK_DATA/run
STACK_PORTS=$STACK_RUN/ports  # one "process port" pair a line, kept across restarts
CADDYFILE=$TODO_ROOT/deploy/caddy/Caddyfile

# Ports recorded by the last start, by process name (web-1, caddy-admin, ...).
declare -A RECORDED_PORTS=()
# Ports chosen so far by this run, so that two processes never get the same one.
declare -A TAKEN_PORTS=()

load_recorded_ports() {
  [ -f "$STACK_PORTS" ] || return 0
  local name port
  while read -r name port; do
    [ -n "$name" ] && RECORDED_PORTS[$name]=$port
  done <"$STACK_PORTS"
}

save_ports() {
  local name
  for name in "${!TAKEN_PORTS[@]}"; do echo "$name ${TAKEN_PORTS[$name]}"; done | sort -V >"$STACK_PORTS.tmp"
  mv "$STACK_PORTS.tmp" "$STACK_PORTS"
}

port_in_use() {
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

port_taken() {
  local name
  for name in "${!TAKEN_PORTS[@]}"; do
    [ "${TAKEN_PORTS[$name]}" = "$1" ] && return 0
  done
  return 1
}

# Chooses the port of process $1: its recorded port when that is free, else
# the first free one from $2. A running process keeps its port ($3 = keep).
choose_port() {
  local name=$1 port=${RECORDED_PORTS[$1]:-} mode=${3:-new}
  if [ "$mode" = keep ] && [ -n "$port" ]; then
    TAKEN_PORTS[$name]=$port
    return 0
  fi
  if [ -z "$port" ] || port_in_use "$port" || port_taken "$port"; then
    port=$2
    while port_in_use "$port" || port_taken "$port"; do port=$((port + 1)); done
  fi
  TAKEN_PORTS[$name]=$port
}

# The program that process $1 runs, to recognize it in /proc.
program_of() {
  case $1 in
    web-*) echo todo-web ;;
    worker-*) echo todo-worker ;;
    *) echo "$1" ;;
  esac
}

# Prints the pid of process $1 when it is running. A pid file whose process
# has exited, or whose pid now belongs to another program, does not count.
running_pid() {
  local pidfile=$STACK_RUN/$1.pid pid
  [ -f "$pidfile" ] || return 1
  pid=$(<"$pidfile")
  [[ $pid =~ ^[0-9]+$ ]] || return 1
  tr '\0' ' ' 2>/dev/null <"/proc/$pid/cmdline" | grep -q -- "$(program_of "$1")" || return 1
  echo "$pid"
}

# Starts process $1 in the background, in its own session so that Ctrl-C in
# the terminal does not reach it, with stdout and stderr appended to
# logs/$1.log, and records its pid. The rest of the arguments are the command.
spawn() {
  local name=$1
  shift
  echo "{\"timestamp\":\"$(date -u +%Y-%m-%dT%H:%M:%S.%3NZ)\",\"level\":\"INFO\",\"logger\":\"run.sh\",\"message\":\"starting $name\"}" \
    >>"$STACK_LOGS/$name.log"
  setsid "$@" >>"$STACK_LOGS/$name.log" 2>&1 </dev/null 9>&- &
  echo $! >"$STACK_RUN/$name.pid"
}

# Prints why process $1 failed to start and the last lines of log $3.
report_failure() {
  local name=$1 reason=$2 log=$3
  say "$name $reason; the last lines of $log:"
  tail -n 25 "$log" >&2 || true
}

# Waits up to $3 seconds until $2 returns a 2xx status while process $1
# runs. On failure it prints the log lines that explain it.
wait_until_ready() {
  local name=$1 url=$2 seconds=$3
  local deadline=$((SECONDS + seconds))
  while ((SECONDS < deadline)); do
    curl -fsS -o /dev/null --max-time 2 "$url" 2>/dev/null && return 0
    if ! running_pid "$name" >/dev/null; then
      report_failure "$name" "exited during start" "$STACK_LOGS/$name.log"
      return 1
    fi
    sleep 0.2
  done
  report_failure "$name" "did not respond at $url within $seconds s" "$STACK_LOGS/$name.log"
  return 1
}

# Sends SIGTERM to the processes named in the arguments, waits up to
# STOP_TIMEOUT_S (default 30) seconds for all of them to exit, then sends
# SIGKILL to those still running.
stop_processes() {
  local name pid names=()
  for name in "$@"; do
    if pid=$(running_pid "$name"); then
      say "stopping $name (pid $pid)"
      kill -TERM "$pid" 2>/dev/null || true
      names+=("$name")
    else
      rm -f "$STACK_RUN/$name.pid"
    fi
  done
  local deadline=$((SECONDS + ${STOP_TIMEOUT_S:-30})) still_running
  while :; do
    still_running=()
    for name in "${names[@]}"; do running_pid "$name" >/dev/null && still_running+=("$name"); done
    [ ${#still_running[@]} -eq 0 ] || ((SECONDS >= deadline)) && break
    sleep 0.1
  done
  for name in "${still_running[@]}"; do
    say "$name did not stop within ${STOP_TIMEOUT_S:-30} s; killing it"
    pid=$(running_pid "$name") && kill -KILL "$pid" 2>/dev/null || true
  done
  for name in "${names[@]}"; do rm -f "$STACK_RUN/$name.pid"; done
}

postgres_running() {
  [ -f "$STACK_DATA/postgres/data/postmaster.pid" ] &&
    pg_as_owner "$PG_BIN/pg_ctl" -D "$STACK_DATA/postgres/data" status >/dev/null 2>&1
}

redis_running() {
  [ -n "${RECORDED_PORTS[redis]:-}" ] && redis-cli -p "${RECORDED_PORTS[redis]}" ping 2>/dev/null | grep -q PONG
}

# PostgreSQL writes its own log as JSON lines, in UTC, to
# postgres/data/log/postgresql.json, and the few lines of its logging
# process to postgres/data/log/postgresql. The default ports, 15432 here and
# 16379 for Redis, lie below Linux's range for the local ports of outgoing
# connections (32768 to 60999), which could otherwise hold them.
ensure_postgres() {
  if postgres_running; then
    PG_PORT=${RECORDED_PORTS[postgres]}
  else
    PG_EXTRA_CONF="logging_collector = on
log_destination = 'jsonlog'
log_directory = 'log'
log_filename = 'postgresql'
log_rotation_age = 0
log_timezone = 'UTC'" start_postgres "$STACK_DATA/postgres" "${RECORDED_PORTS[postgres]:-15432}"
  fi
  TAKEN_PORTS[postgres]=$PG_PORT
  create_database todo
}

# Redis logs in local time, so it runs with TZ=UTC like every other log.
ensure_redis() {
  if redis_running; then
    REDIS_PORT=${RECORDED_PORTS[redis]}
  else
    TZ=UTC start_redis "$STACK_DATA/redis" "${RECORDED_PORTS[redis]:-16379}"
  fi
  TAKEN_PORTS[redis]=$REDIS_PORT
}

# Starts the missing web replicas (or workers, $1 = worker) up to count $2,
# each on its own port from $3, and waits until /healthz of each new one
# returns 200. Sets STARTED_FAILED=1 when one does not.
start_replicas() {
  local kind=$1 count=$2 first_port=$3
  local i name started=()
  for ((i = 1; i <= count; i++)); do
    name=$kind-$i
    if running_pid "$name" >/dev/null; then
      choose_port "$name" "$first_port" keep
      continue
    fi
    choose_port "$name" "$first_port"
    say "starting $name on 127.0.0.1:${TAKEN_PORTS[$name]}"
    if [ "$kind" = web ]; then
      spawn "$name" env PORT="${TAKEN_PORTS[$name]}" SHUTDOWN_DELAY_S="${SHUTDOWN_DELAY_S:-2}" "${SERVICE_ENV[@]}" \
        "$TODO_ROOT/build/todo-web"
    else
      spawn "$name" env -u WORKER_ID METRICS_PORT="${TAKEN_PORTS[$name]}" "${SERVICE_ENV[@]}" "$TODO_ROOT/build/todo-worker"
    fi
    started+=("$name")
  done
  for name in "${started[@]}"; do
    wait_until_ready "$name" "http://127.0.0.1:${TAKEN_PORTS[$name]}/healthz" 90 || STARTED_FAILED=1
  done
}

# Names of the recorded or running replicas of kind $1 numbered above $2.
surplus_replicas() {
  local kind=$1 count=$2 file name
  for file in "$STACK_RUN/$kind"-*.pid; do
    [ -e "$file" ] || continue
    name=$(basename "$file" .pid)
    [ "${name#"$kind"-}" -gt "$count" ] && echo "$name"
  done
}

# Writes the file-based discovery targets of Prometheus for kind $1
# (web or worker), one target per running replica, labelled by process.
write_targets() {
  local kind=$1 count=$2 i entries=()
  for ((i = 1; i <= count; i++)); do
    entries+=("{\"targets\":[\"127.0.0.1:${TAKEN_PORTS[$kind-$i]}\"],\"labels\":{\"process\":\"$kind-$i\"}}")
  done
  local joined
  joined=$(IFS=,; echo "${entries[*]}")
  echo "[$joined]" >"$PROMETHEUS_TARGETS/$kind.json.tmp"
  mv "$PROMETHEUS_TARGETS/$kind.json.tmp" "$PROMETHEUS_TARGETS/$kind.json"
}

caddy_upstreams() {
  local i upstreams=()
  for ((i = 1; i <= WEB_REPLICAS; i++)); do upstreams+=("127.0.0.1:${TAKEN_PORTS[web-$i]}"); done
  echo "${upstreams[*]}"
}

# Starts Caddy, or reloads a running one through its admin endpoint, which
# applies a changed list of web replicas or Caddyfile without dropping a
# request. Its data and configuration folders (the autosaved configuration)
# stay under caddy/.
ensure_caddy() {
  local upstreams caddy_env running=no keep=
  upstreams=$(caddy_upstreams)
  running_pid caddy >/dev/null && running=yes && keep=keep
  choose_port caddy "${CADDY_PORT:-8080}" $keep
  # The admin endpoint can rewrite Caddy's configuration, so it is a Unix
  # socket in the run/ folder, which only the stack's user may enter, not a
  # TCP port that every local user can reach.
  local admin="unix/$STACK_RUN/caddy-admin.sock"
  caddy_env=(TODO_HTTP_PORT="${TAKEN_PORTS[caddy]}" TODO_BIND_ADDRESS=127.0.0.1
    TODO_CADDY_ADMIN="$admin" TODO_UPSTREAMS="$upstreams"
    TODO_STATIC_DIR="$TODO_ROOT/static" XDG_DATA_HOME="$STACK_DATA/caddy/data"
    XDG_CONFIG_HOME="$STACK_DATA/caddy/config")

  if [ $running = yes ]; then
    env "${caddy_env[@]}" caddy reload --config "$CADDYFILE" --adapter caddyfile \
      --address "$admin" >>"$STACK_LOGS/caddy.log" 2>&1 9>&- ||
      { report_failure caddy "did not reload" "$STACK_LOGS/caddy.log"; return 1; }
    return 0
  fi
  say "starting Caddy on 127.0.0.1:${TAKEN_PORTS[caddy]} in front of $upstreams"
  mkdir -p "$STACK_DATA/caddy"
  spawn caddy env "${caddy_env[@]}" caddy run --config "$CADDYFILE" --adapter caddyfile
  wait_until_ready caddy "http://127.0.0.1:${TAKEN_PORTS[caddy]}/healthz" 30
}

# Starts Prometheus with the rules of deploy/prometheus, scraping every web
# replica and worker every 5 s. A running one rereads its target files.
ensure_prometheus() {
  write_prometheus_config "$STACK_DATA/prometheus" 5s
  write_targets web "$WEB_REPLICAS"
  write_targets worker "$WORKER_REPLICAS"
  if running_pid prometheus >/dev/null; then
    choose_port prometheus "${PROMETHEUS_PORT:-9090}" keep
    return 0
  fi
  choose_port prometheus "${PROMETHEUS_PORT:-9090}"
  say "starting Prometheus on 127.0.0.1:${TAKEN_PORTS[prometheus]}"
  spawn prometheus prometheus --config.file="$STACK_DATA/prometheus/prometheus.yml" \
    --storage.tsdb.path="$STACK_DATA/prometheus/data" --web.listen-address="127.0.0.1:${TAKEN_PORTS[prometheus]}" \
    --log.format=json
  wait_until_ready prometheus "http://127.0.0.1:${TAKEN_PORTS[prometheus]}/-/ready" 60
}

# Holds a lock on the stack folder for the rest of the script, so that two
# runs do not start the same processes. The lock is file descriptor 9, which
# every process started while it is held must close, or the lock would
# outlive the script.
lock_stack() {
  mkdir -p "$STACK_LOGS" "$STACK_RUN"
  chmod 700 "$STACK_RUN"
  exec 9>"$STACK_RUN/lock"
  flock -w 300 9 || die "timed out after 5 minutes waiting for $STACK_RUN/lock; another scripts/run.sh is still running"
}

positive_count() {
  [[ $2 =~ ^[1-9][0-9]*$ ]] || die "invalid $1 '$2': expected a whole number from 1"
}

stack_up() {
  WEB_REPLICAS=${WEB_REPLICAS:-1}
  WORKER_REPLICAS=${WORKER_REPLICAS:-1}
  positive_count WEB_REPLICAS "$WEB_REPLICAS"
  positive_count WORKER_REPLICAS "$WORKER_REPLICAS"

  install_packages
  if [ "${TODO_SKIP_BUILD:-0}" = 1 ]; then
    [ -x "$TODO_ROOT/build/todo-web" ] && [ -x "$TODO_ROOT/build/todo-worker" ] ||
      die "TODO_SKIP_BUILD=1 but build/todo-web or build/todo-worker is missing"
  else
    build_release
  fi

  lock_stack
  load_recorded_ports
  ensure_postgres 9>&-
  ensure_redis 9>&-

  # Every replica gets the caller's environment plus these; Caddy is the
  # only proxy in front, so only its address may set X-Forwarded-For.
  SERVICE_ENV=(DATABASE_URL="postgresql://postgres@127.0.0.1:$PG_PORT/todo" REDIS_URL="redis://127.0.0.1:$REDIS_PORT/0"
    BIND_ADDRESS=127.0.0.1 TRUSTED_PROXIES=127.0.0.1/32 STATIC_DIR="$TODO_ROOT/static")
  STARTED_FAILED=0
  start_replicas web "$WEB_REPLICAS" "${PORT:-5000}"
  start_replicas worker "$WORKER_REPLICAS" "${METRICS_PORT:-9100}"

  local failed=$STARTED_FAILED
  ensure_caddy || failed=1
  # shellcheck disable=SC2046 # one name a word
  stop_processes $(surplus_replicas web "$WEB_REPLICAS") $(surplus_replicas worker "$WORKER_REPLICAS")
  ensure_prometheus || failed=1
  save_ports

  if [ "$failed" = 1 ]; then
    say "the stack is not complete; scripts/run.sh status shows what runs, scripts/run.sh down stops it"
    return 1
  fi
  say "todo is at http://127.0.0.1:${TAKEN_PORTS[caddy]}/ (Caddy; web replicas: $WEB_REPLICAS, workers: $WORKER_REPLICAS)"
  say "Prometheus is at http://127.0.0.1:${TAKEN_PORTS[prometheus]}/"
  say "scripts/run.sh logs follows the logs, status lists the processes, down stops them; data stays in $STACK_DATA"
}

stack_down() {
  lock_stack
  load_recorded_ports
  stop_processes caddy
  # shellcheck disable=SC2046 # one name a word
  stop_processes $(surplus_replicas web 0) $(surplus_replicas worker 0) prometheus
  if redis_running; then
    say "stopping Redis"
    redis-cli -p "${RECORDED_PORTS[redis]}" shutdown >/dev/null 2>&1 || true
  fi
  if postgres_running; then
    say "stopping PostgreSQL"
    stop_postgres "$STACK_DATA/postgres"
  fi
  say "stopped; the data stays in $STACK_DATA"
}

# Prints one line per process with its pid, state and address, and returns
# 1 when a process is not running or not responding.
stack_status() {
  load_recorded_ports
  [ ${#RECORDED_PORTS[@]} -gt 0 ] || { say "no stack has been started in $STACK_DATA"; return 1; }
  local all_up=0 name port pid state url
  printf '%-12s %-8s %-14s %s\n' process pid state address
  for name in $(printf '%s\n' "${!RECORDED_PORTS[@]}" | grep -v '^caddy-admin$' | sort -V); do
    port=${RECORDED_PORTS[$name]}
    pid=-
    case $name in
      postgres)
        url="postgresql://127.0.0.1:$port/todo"
        postgres_running && state=up || state=stopped
        pid=$(head -n 1 "$STACK_DATA/postgres/data/postmaster.pid" 2>/dev/null || echo -) ;;
      redis)
        url="redis://127.0.0.1:$port"
        redis_running && state=up || state=stopped
        pid=$(cat "$STACK_DATA/redis/redis.pid" 2>/dev/null || echo -) ;;
      *)
        case $name in
          prometheus) url="http://127.0.0.1:$port/-/ready" ;;
          *) url="http://127.0.0.1:$port/healthz" ;;
        esac
        if pid=$(running_pid "$name"); then
          curl -fsS -o /dev/null --max-time 2 "$url" 2>/dev/null && state=up || state="not responding"
        else
          pid=-
          state=stopped
        fi
        url=${url%/healthz}
        url=${url%/-/ready} ;;
    esac
    [ "$state" = up ] || all_up=1
    printf '%-12s %-8s %-14s %s\n' "$name" "$pid" "$state" "$url"
  done
  return $all_up
}

# Every log file of the stack, including those of recorded processes that
# have not written one yet, so that following them shows those processes
# once they start.
log_files() {
  load_recorded_ports
  local name
  for name in "${!RECORDED_PORTS[@]}"; do
    case $name in
      postgres | redis | caddy-admin) ;;
      *) echo "$STACK_LOGS/$name.log" ;;
    esac
  done
  ls "$STACK_LOGS"/*.log 2>/dev/null || true
  echo "$STACK_DATA/redis/redis.log"
  echo "$STACK_DATA/postgres/postgres.log"
  echo "$STACK_DATA/postgres/data/log/postgresql"
  echo "$STACK_DATA/postgres/data/log/postgresql.json"
}

# Prints the last $1 lines of every log as one stream of JSON lines, in
# timestamp order, then (unless $2 = no-follow) follows all logs as lines
# arrive. Lines written between the two steps are not shown.
stack_logs() {
  local lines=$1 follow=$2 files=() existing=() file
  mapfile -t files < <(log_files | sort -u)
  for file in "${files[@]}"; do [ -r "$file" ] && existing+=("$file"); done
  if [ ${#existing[@]} -gt 0 ]; then
    tail -v -n "$lines" "${existing[@]}" 2>/dev/null | jq -n -R -c -f "$TODO_ROOT/scripts/logs.jq" | sort -s -t, -k1,1
  fi
  [ "$follow" = no-follow ] && return 0
  tail -v -n 0 -F "${files[@]}" 2>/dev/null | jq -n -R -c --unbuffered -f "$TODO_ROOT/scripts/logs.jq"
}
