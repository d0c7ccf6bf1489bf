#!/usr/bin/env bash
# Checks the deployment files: renders the Kubernetes base in deploy/k8s and
# checks it, builds the image from the Dockerfile, runs compose.yaml in a
# private Docker engine and checks the running system from the host, through
# the ports that compose.yaml publishes. .ci/run runs it after
# scripts/test.sh. It needs root, for dockerd, a tmpfs mount, a bridge and
# two iptables rules.
#
# No registry is needed. The Debian base images are made with debootstrap,
# and tests/container/compose.standins.yaml swaps the official images of
# PostgreSQL, Redis, Caddy, Prometheus and Jaeger for stand-ins built from
# Debian's packages (Jaeger's is the test OTLP receiver). The engine and its
# images, containers and volumes are removed at the end, also after a failure. The logs of every
# container and build go to test-output/container/.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
source "$(dirname "${BASH_SOURCE[0]}")/container-lib.sh"

[ "$(id -u)" -eq 0 ] || die "run as root: the private Docker engine needs a mount, a bridge and iptables rules"

# docker-compose depends on python3-yaml, which tests/k8s/check_manifests.py
# uses too. Debian 12 has no kubectl package of its own version line:
# kubernetes-client is kubectl 1.20, taken only when no kubectl is installed.
TODO_PACKAGES=(docker.io docker-compose debootstrap iptables iproute2 jq curl python3-yaml)
command -v node >/dev/null 2>&1 || TODO_PACKAGES+=(nodejs npm)
command -v kubectl >/dev/null 2>&1 || TODO_PACKAGES+=(kubernetes-client)

OUTPUT="$TODO_ROOT/test-output/container"
PROJECT=todoci
STANDINS=(postgres redis caddy prometheus otlp-receiver)
unset COMPOSE_FILE COMPOSE_PROJECT_NAME COMPOSE_PROFILES

PASSED=0
FAILED=0
FAILED_CHECKS=()
TIMINGS=()
PHASE_STARTED=$SECONDS

# Ends the current phase and records how long it took.
end_phase() {
  TIMINGS+=("$(printf '%-28s %4d s' "$1" $((SECONDS - PHASE_STARTED)))")
  PHASE_STARTED=$SECONDS
}

# Runs one check in a subshell, so that a failed assertion ends that check
# only and the next one still runs.
run_check() {
  local name=$1
  shift
  local started=$SECONDS
  say "check: $name"
  if ("$@"); then
    PASSED=$((PASSED + 1))
    printf 'ok: %s (%d s)\n' "$name" $((SECONDS - started))
  else
    FAILED=$((FAILED + 1))
    FAILED_CHECKS+=("$name")
    printf 'FAILED: %s\n' "$name"
  fi
}

# Assertions. Each ends the check's subshell with a message on failure.
fail() {
  printf '  %s\n' "$*" >&2
  exit 1
}
expect_equal() {
  [ "$2" = "$3" ] || fail "$1: expected '$3', got '$2'"
}
expect_json() {
  jq -e "$2" <<<"$3" >/dev/null 2>&1 || fail "$1: '$2' is not true for $(head -c 600 <<<"$3")"
}

compose() {
  docker-compose --project-name "$PROJECT" --env-file "$WORK/env" \
    -f "$TODO_ROOT/compose.yaml" -f "$TODO_ROOT/tests/container/compose.standins.yaml" "$@"
}

# Prints the container id of a compose service.
container_of() {
  local id
  id=$(compose ps -q "$1")
  [ -n "$id" ] || fail "no container for service $1"
  echo "$id"
}

# Sends a request to Caddy's published port and sets STATUS and BODY. The
# response headers go to $WORK/headers.
request() {
  local method=$1 path=$2
  shift 2
  STATUS=$(curl -sS -m 30 -o "$WORK/body" -D "$WORK/headers" -w '%{http_code}' -X "$method" "$@" "$BASE_URL$path") ||
    fail "$method $path: curl failed"
  BODY=$(cat "$WORK/body")
}

# Prints the value of response header $1 of the last request.
header() {
  grep -i "^$1:" "$WORK/headers" | tail -n 1 | cut -d' ' -f2- | tr -d '\r'
}

# Waits until every container of the project is running and healthy.
wait_healthy() {
  local timeout=$1
  local deadline=$((SECONDS + timeout)) states
  while [ $SECONDS -lt $deadline ]; do
    # shellcheck disable=SC2046 # one argument per container id
    states=$(docker inspect -f '{{.Name}} {{.State.Status}} {{if .State.Health}}{{.State.Health.Status}}{{else}}none{{end}}' $(compose ps -q))
    if ! grep -qv ' running healthy$' <<<"$states"; then
      return 0
    fi
    sleep 1
  done
  printf '%s\n' "$states" >&2
  return 1
}

# Polls GET /tasks/$1 until the job is ready and prints the final body.
wait_for_job() {
  local task_id=$1 timeout=$2
  local deadline=$((SECONDS + timeout))
  while [ $SECONDS -lt $deadline ]; do
    request GET "/tasks/$task_id"
    if [ "$STATUS" = 200 ] && jq -e '.ready' <<<"$BODY" >/dev/null; then
      echo "$BODY"
      return 0
    fi
    sleep 0.5
  done
  fail "job $task_id not ready after $timeout s: $BODY"
}

# --- Checks without containers ------------------------------------------------

check_env_example() {
  local compose_file="$TODO_ROOT/compose.yaml" env_file="$TODO_ROOT/.env.example"
  local used defined
  # Every ${NAME:-default} of compose.yaml. A $${NAME} is left out, because
  # the container's shell expands it.
  used=$(grep -oP '(?<!\$)\$\{[A-Z0-9_]+(:-[^}]*)?\}' "$compose_file" | sed -E 's/^\$\{([A-Z0-9_]+)(:-(.*))?\}$/\1=\3/' | sort -u)
  defined=$(grep -E '^[A-Z0-9_]+=' "$env_file" | sort -u)
  local missing stale
  missing=$(comm -23 <(echo "$used") <(echo "$defined"))
  stale=$(comm -13 <(echo "$used") <(echo "$defined"))
  [ -z "$missing" ] || fail "compose.yaml uses these NAME=default pairs that .env.example does not hold: $(tr '\n' ' ' <<<"$missing")"
  [ -z "$stale" ] || fail ".env.example holds these NAME=value pairs that compose.yaml does not use as defaults: $(tr '\n' ' ' <<<"$stale")"
  [ "$(echo "$used" | cut -d= -f1 | uniq -d)" = "" ] || fail "a variable has two defaults in compose.yaml"

  # Each group of variable lines starts below a comment.
  local uncommented
  uncommented=$(awk '/^[A-Z0-9_]+=/ { if (previous !~ /^#/ && previous !~ /^[A-Z0-9_]+=/) print; } { previous = $0 }' "$env_file")
  [ -z "$uncommented" ] || fail "variables without a comment above them: $uncommented"
  echo "  $(echo "$used" | wc -l) variables, each with the same default in both files"
}

check_kubernetes() {
  local rendered="$OUTPUT/k8s-rendered.yaml"
  echo "  $(kubectl version --client 2>/dev/null | head -n 1)"
  kubectl kustomize "$TODO_ROOT/deploy/k8s" >"$rendered" || fail "kubectl kustomize deploy/k8s failed"
  /usr/bin/python3 "$TODO_ROOT/tests/k8s/check_manifests.py" "$rendered" "$TODO_ROOT" >"$OUTPUT/k8s-checks.log" ||
    { grep -v '^ok' "$OUTPUT/k8s-checks.log" >&2; fail "the manifests failed the checks above"; }
  echo "  $(tail -n 1 "$OUTPUT/k8s-checks.log")"
}

# --- Checks of the images -----------------------------------------------------

check_app_image() {
  local config version revision size
  config=$(docker image inspect "$APP_IMAGE" | jq '.[0]')
  version=$(sed -nE 's/^project\(todo VERSION ([0-9.]+).*/\1/p' "$TODO_ROOT/CMakeLists.txt")
  revision=$(git -C "$TODO_ROOT" rev-parse --short=12 HEAD 2>/dev/null || echo unknown)
  expect_json "user" '.Config.User == "10001:10001"' "$config"
  expect_json "default command" '.Config.Cmd == ["todo-web"]' "$config"
  expect_json "stop signal" '.Config.StopSignal == "SIGTERM"' "$config"
  expect_json "health check runs bash, which the image has" '.Config.Healthcheck.Test[0:2] == ["CMD", "bash"]' "$config"
  local label
  for label in title description version revision created base.name; do
    expect_json "label org.opencontainers.image.$label" ".Config.Labels[\"org.opencontainers.image.$label\"] | length > 0" "$config"
  done
  expect_json "version label" ".Config.Labels[\"org.opencontainers.image.version\"] == \"$version\"" "$config"
  expect_json "revision label" ".Config.Labels[\"org.opencontainers.image.revision\"] == \"$revision\"" "$config"

  local contents
  contents=$(docker run --rm --entrypoint bash "$APP_IMAGE" -c \
    'ls /usr/local/bin; ls /usr/share/todo/static; command -v g++ cmake curl wget || true') ||
    fail "cannot run bash in the image"
  grep -qx todo-web <<<"$contents" || fail "todo-web missing from /usr/local/bin"
  grep -qx todo-worker <<<"$contents" || fail "todo-worker missing from /usr/local/bin"
  grep -qx app.js <<<"$contents" || fail "static files missing from /usr/share/todo/static"
  ! grep -q '^/' <<<"$contents" || fail "build or download tools in the runtime image: $(grep '^/' <<<"$contents" | tr '\n' ' ')"

  size=$(jq '.Size' <<<"$config")
  echo "  $APP_IMAGE: $((size / 1000000)) MB (debian:bookworm-slim: $(($(docker image inspect -f '{{.Size}}' debian:bookworm-slim) / 1000000)) MB)"
  [ "$size" -lt 150000000 ] || fail "the image is $((size / 1000000)) MB; something beyond the runtime libraries got in"
}

# --- Checks of the running system ---------------------------------------------

check_all_healthy() {
  local services
  services=$(compose ps --services | sort | tr '\n' ' ')
  expect_equal "services" "$services" "caddy db jaeger prometheus redis web worker "
  wait_healthy 5 || fail "not every container is running and healthy"
  local service config
  for service in caddy db jaeger prometheus redis web worker; do
    config=$(docker inspect "$(container_of "$service")" | jq '.[0]')
    expect_json "$service: restart policy" '.HostConfig.RestartPolicy.Name == "unless-stopped"' "$config"
    expect_json "$service: CPU limit" '.HostConfig.NanoCpus > 0' "$config"
    expect_json "$service: memory limit" '.HostConfig.Memory > 0' "$config"
    expect_json "$service: health check" '.Config.Healthcheck.Test | length > 0' "$config"
  done
  # The values of .env.example arrive: 1.0 CPU and 256 MiB for web.
  config=$(docker inspect "$(container_of web)" | jq '.[0]')
  expect_json "web: 1 CPU" '.HostConfig.NanoCpus == 1000000000' "$config"
  expect_json "web: 256 MiB" '.HostConfig.Memory == 268435456' "$config"
}

check_isolation() {
  local service ports
  for service in db redis web worker; do
    ports=$(docker inspect -f '{{json .NetworkSettings.Ports}}' "$(container_of "$service")")
    expect_json "$service publishes no port" '[.[]? | select(. != null)] | length == 0' "$ports"
  done
  ports=$(docker inspect -f '{{json .NetworkSettings.Ports}}' "$(container_of caddy)")
  expect_json "caddy publishes port 80 on loopback" \
    ".[\"80/tcp\"] == [{\"HostIp\": \"127.0.0.1\", \"HostPort\": \"$HTTP_PORT\"}]" "$ports"

  # What the engine listens on, on the host: one docker-proxy per published
  # port, none for the ports of db, redis, web and worker.
  local proxies
  proxies=$(pgrep -a -P "$DOCKERD_PID" docker-proxy |
    sed -nE 's/.*-host-ip ([^ ]+) -host-port ([0-9]+) .*-container-port ([0-9]+).*/\1:\2->\3/p' | sort | tr '\n' ' ')
  expect_equal "ports published on the host" "$proxies" \
    "$(printf '%s\n' "127.0.0.1:$HTTP_PORT->80" "127.0.0.1:$JAEGER_UI_PORT->16686" "127.0.0.1:$PROMETHEUS_PORT->9090" | sort | tr '\n' ' ')"

  local networks
  for service in caddy web worker db redis prometheus jaeger; do
    networks=$(docker inspect -f '{{range $name, $_ := .NetworkSettings.Networks}}{{$name}} {{end}}' "$(container_of "$service")")
    case $service in
      caddy) expect_equal "networks of caddy" "$networks" "${PROJECT}_front-net " ;;
      web) expect_equal "networks of web" "$networks" "${PROJECT}_back-net ${PROJECT}_front-net " ;;
      worker | db | redis) expect_equal "networks of $service" "$networks" "${PROJECT}_back-net " ;;
      *) expect_equal "networks of $service" "$networks" "${PROJECT}_back-net ${PROJECT}_ui-net " ;;
    esac
  done
  expect_equal "back-net is internal" "$(docker network inspect -f '{{.Internal}}' "${PROJECT}_back-net")" true
  expect_equal "front-net is not internal" "$(docker network inspect -f '{{.Internal}}' "${PROJECT}_front-net")" false

  # Names resolve only within a shared network. Docker's DNS resolves the
  # names of the project's containers at once and forwards other names to
  # the host's resolver, which the compose networks cannot reach here. So a
  # lookup that times out counts as not resolved.
  docker exec "$(container_of caddy)" timeout 2 getent hosts web >/dev/null || fail "caddy cannot resolve web"
  for service in db redis worker; do
    ! docker exec "$(container_of caddy)" timeout 2 getent hosts "$service" >/dev/null || fail "caddy resolves $service"
  done
  ! docker exec "$(container_of worker)" timeout 2 getent hosts caddy >/dev/null || fail "worker resolves caddy"
}

check_runtime_user() {
  local service id status config
  for service in web worker; do
    id=$(container_of "$service")
    expect_equal "$service: uid" "$(docker exec "$id" id -u)" 10001
    expect_equal "$service: gid" "$(docker exec "$id" id -g)" 10001
    status=$(docker exec "$id" cat /proc/1/status)
    expect_equal "$service: PID 1" "$(awk '$1 == "Name:" {print $2}' <<<"$status")" "todo-$service"
    expect_equal "$service: uids of PID 1" "$(awk '$1 == "Uid:" {print $2, $3, $4, $5}' <<<"$status")" "10001 10001 10001 10001"
    expect_equal "$service: effective capabilities of PID 1" "$(awk '$1 == "CapEff:" {print $2}' <<<"$status")" 0000000000000000
    config=$(docker inspect "$id" | jq '.[0].HostConfig')
    expect_json "$service: read-only root" '.ReadonlyRootfs == true' "$config"
    expect_json "$service: no new privileges" '.SecurityOpt | index("no-new-privileges:true") != null' "$config"
    ! docker exec "$id" touch /probe 2>/dev/null || fail "$service can write to its root filesystem"
    docker exec "$id" touch /tmp/probe || fail "$service cannot write to /tmp"
  done
}

# The image's HEALTHCHECK must find the worker's port also when PID 1 is
# docker-init (`docker run --init`, `init: true` in compose).
check_health_check_with_init() {
  local worker env_file id status='' deadline=$((SECONDS + 40))
  worker=$(container_of worker)
  env_file="$WORK/worker-init.env"
  docker inspect -f '{{range .Config.Env}}{{println .}}{{end}}' "$worker" | grep -v '^$' >"$env_file"
  id=$(docker run -d --init --read-only --tmpfs /tmp --cap-drop ALL --user 10001:10001 \
    --network "${PROJECT}_back-net" --env-file "$env_file" \
    --health-interval 2s --health-start-period 0s "$APP_IMAGE" todo-worker) ||
    fail "cannot start todo-worker with --init"
  while [ $SECONDS -lt $deadline ]; do
    status=$(docker inspect -f '{{.State.Health.Status}}' "$id")
    [ "$status" != healthy ] || break
    sleep 1
  done
  local comm
  comm=$(docker exec "$id" cat /proc/1/comm)
  docker stop -t 10 "$id" >/dev/null
  docker rm "$id" >/dev/null
  expect_equal "PID 1 with --init" "$comm" docker-init
  expect_equal "health of todo-worker with --init" "$status" healthy
}

check_todo_flow() {
  local text="Buy milk $$"
  request POST /add --data-urlencode "task=$text"
  expect_equal "POST /add" "$STATUS" 303
  expect_equal "POST /add Location" "$(header Location)" /
  [ -n "$(header X-Request-ID)" ] || fail "no X-Request-ID on the response"

  request GET /
  expect_equal "GET /" "$STATUS" 200
  grep -qF "$text" <<<"$BODY" || fail "the page does not list '$text'"

  request GET /api/todos
  expect_equal "GET /api/todos" "$STATUS" 200
  local id
  id=$(jq -r --arg text "$text" '.[] | select(.text == $text) | .id' <<<"$BODY")
  [ -n "$id" ] || fail "'$text' is not in /api/todos: $BODY"

  request POST "/toggle/$id"
  expect_equal "POST /toggle" "$STATUS" 200
  expect_json "toggle body" ".id == $id and .done == true" "$BODY"

  request POST "/edit/$id" -H 'Content-Type: application/json' -d '{"text":"Buy oat milk"}'
  expect_equal "POST /edit" "$STATUS" 200
  expect_json "edit body" ".id == $id and .text == \"Buy oat milk\"" "$BODY"

  request POST /api/todos -H 'Content-Type: application/json' -d '{"text":"Walk the dog"}'
  expect_equal "POST /api/todos" "$STATUS" 201
  local second
  second=$(jq -r '.id' <<<"$BODY")
  expect_equal "Location of the new todo" "$(header Location)" "/api/todos/$second"

  request PATCH "/api/todos/$second" -H 'Content-Type: application/json' -d '{"done":true}'
  expect_equal "PATCH /api/todos/<id>" "$STATUS" 200
  expect_json "patch body" '.done == true' "$BODY"
  request DELETE "/api/todos/$second"
  expect_equal "DELETE /api/todos/<id>" "$STATUS" 204
  request GET "/api/todos/$second"
  expect_equal "GET of a deleted todo" "$STATUS" 404

  request POST "/delete/$id"
  expect_equal "POST /delete" "$STATUS" 303
  request GET /api/todos
  expect_json "list after delete" "[.[] | select(.id == $id)] | length == 0" "$BODY"

  request POST /add -H 'Origin: http://other.example' --data-urlencode 'task=cross-site'
  expect_equal "cross-site POST" "$STATUS" 403

  # Caddy serves the static files itself and hides /metrics.
  request GET /static/app.css
  expect_equal "GET /static/app.css" "$STATUS" 200
  [ -n "$(header Cache-Control)" ] || fail "no Cache-Control on a static file"
  request GET /metrics
  expect_equal "GET /metrics through Caddy" "$STATUS" 404
}

check_export() {
  local text
  for text in "Export one" "Export two" "Export three"; do
    request POST /api/todos -H 'Content-Type: application/json' -d "{\"text\":\"$text\"}"
    expect_equal "POST /api/todos" "$STATUS" 201
  done
  request GET /api/todos
  local open_count
  open_count=$(jq '[.[] | select(.done == false)] | length' <<<"$BODY")

  request POST /export -H 'Content-Type: application/json' -d '{"filters":{"done":false}}'
  expect_equal "POST /export" "$STATUS" 202
  local task_id
  task_id=$(jq -r '.task_id' <<<"$BODY")
  expect_equal "Location of the job" "$(header Location)" "/tasks/$task_id"
  header traceparent >"$WORK/export-traceparent"

  local job
  job=$(wait_for_job "$task_id" 60)
  expect_json "job state" '.state == "SUCCESS" and .successful == true' "$job"
  expect_json "rows exported" ".info == $open_count" "$job"

  request GET "/download/$task_id"
  expect_equal "GET /download" "$STATUS" 200
  [[ $(header Content-Type) == text/csv* ]] || fail "Content-Type of the CSV: $(header Content-Type)"
  expect_equal "CSV header" "$(head -n 1 "$WORK/body")" $'id,text,done,position,created_at\r'
  expect_equal "CSV lines" "$(wc -l <"$WORK/body")" $((open_count + 1))
  grep -q 'Export two' "$WORK/body" || fail "the CSV lacks 'Export two'"
}

check_trace() {
  local traceparent trace_id spans=''
  traceparent=$(cat "$WORK/export-traceparent")
  [[ $traceparent =~ ^00-([0-9a-f]{32})-[0-9a-f]{16}-01$ ]] || fail "POST /export returned traceparent '$traceparent'"
  trace_id=${BASH_REMATCH[1]}

  # Spans are sent every OTEL_BSP_SCHEDULE_DELAY (5 s by default).
  local deadline=$((SECONDS + 40))
  while [ $SECONDS -lt $deadline ]; do
    spans=$(curl -fsS "$JAEGER_URL/spans?traceId=$trace_id") || fail "cannot query the OTLP receiver"
    if jq -e 'any(.[]; .name == "process todo:jobs")' <<<"$spans" >/dev/null; then
      break
    fi
    sleep 1
  done
  local server producer consumer
  server=$(jq -c '[.[] | select(.name == "POST /export" and .kind == 2)]' <<<"$spans")
  producer=$(jq -c '[.[] | select(.name == "send todo:jobs" and .kind == 4)]' <<<"$spans")
  consumer=$(jq -c '[.[] | select(.name == "process todo:jobs" and .kind == 5)]' <<<"$spans")
  expect_json "one SERVER span POST /export from todo-web" 'length == 1 and .[0].resource["service.name"] == "todo-web"' "$server"
  expect_json "one PRODUCER span from todo-web" 'length == 1 and .[0].resource["service.name"] == "todo-web"' "$producer"
  expect_json "one CONSUMER span from todo-worker" 'length == 1 and .[0].resource["service.name"] == "todo-worker"' "$consumer"
  expect_equal "parent of the CONSUMER span" "$(jq -r '.[0].parentSpanId' <<<"$consumer")" "$(jq -r '.[0].spanId' <<<"$producer")"
  expect_json "worker queries in the trace" \
    'any(.[]; .kind == 3 and .resource["service.name"] == "todo-worker" and .attributes["db.system"] == "postgresql")' "$spans"
  expect_json "no rejected export" 'length == 0' "$(curl -fsS "$JAEGER_URL/errors")"
  echo "  trace $trace_id: $(jq length <<<"$spans") spans from $(jq -r '[.[].resource["service.name"]] | unique | join(" and ")' <<<"$spans")"
}

check_prometheus() {
  local targets='' deadline=$((SECONDS + 60))
  while [ $SECONDS -lt $deadline ]; do
    targets=$(curl -fsS "$PROMETHEUS_URL/api/v1/targets") || fail "cannot query Prometheus"
    if jq -e '[.data.activeTargets[] | select(.health == "up") | .labels.job] | index("todo-web") and index("todo-worker")' \
      <<<"$targets" >/dev/null; then
      break
    fi
    sleep 1
  done
  expect_json "every target up" '.data.activeTargets | length > 0 and all(.health == "up")' "$targets"
  expect_json "one todo-web target" '[.data.activeTargets[] | select(.labels.job == "todo-web")] | length == 1' "$targets"
  expect_json "one todo-worker target" '[.data.activeTargets[] | select(.labels.job == "todo-worker")] | length == 1' "$targets"
  echo "  $(jq -r '[.data.activeTargets[] | "\(.labels.job) \(.labels.instance) \(.health)"] | join(", ")' <<<"$targets")"

  local rules
  rules=$(curl -fsS "$PROMETHEUS_URL/api/v1/rules")
  expect_json "recording and alerting rules loaded" \
    '[.data.groups[].name] | index("todo-http-recording") and index("todo-http-alerts")' "$rules"
  local requests
  requests=$(curl -fsS --data-urlencode 'query=sum(http_request_duration_seconds_count{job="todo-web"})' "$PROMETHEUS_URL/api/v1/query")
  expect_json "requests counted" '.data.result[0].value[1] | tonumber > 0' "$requests"
}

# One client of the restart check: POSTs todos with texts "restart
# <client>-<n>" and GETs the list until $2 seconds have passed. A POST that
# gets 502 or 503 (Caddy found no web to take it) is sent again, as a client
# would; each final status goes to $WORK/load-<client>.
restart_load() {
  local client=$1 duration=$2
  local end=$((SECONDS + duration)) n=0 status attempt
  while [ $SECONDS -lt $end ]; do
    n=$((n + 1))
    for attempt in $(seq 1 40); do
      status=$(curl -s -m 10 -o /dev/null -w '%{http_code}' -X POST -H 'Content-Type: application/json' \
        -d "{\"text\":\"restart $client-$n\"}" "$BASE_URL/api/todos") || true
      [ "$status" = 502 ] || [ "$status" = 503 ] || break
      echo "retry POST restart $client-$n $status" >>"$WORK/load-$client"
      sleep 0.25
    done
    echo "POST restart $client-$n $status $attempt" >>"$WORK/load-$client"
    status=$(curl -s -m 10 -o /dev/null -w '%{http_code}' "$BASE_URL/api/todos") || true
    echo "GET list $client-$n $status" >>"$WORK/load-$client"
    sleep 0.1
  done
}

check_restart_web() {
  rm -f "$WORK"/load-*
  local pids=() client
  for client in 1 2; do
    restart_load "$client" 14 &
    pids+=($!)
  done
  sleep 4
  local restarted=$SECONDS
  compose restart web >/dev/null 2>&1 || fail "docker compose restart web failed"
  local restart_seconds=$((SECONDS - restarted))
  local pid
  for pid in "${pids[@]}"; do
    wait "$pid"
  done

  local lines
  lines=$(cat "$WORK"/load-*)
  echo "  restart took $restart_seconds s; $(grep -c '^POST' <<<"$lines") POSTs and $(grep -c '^GET' <<<"$lines") GETs," \
    "$(grep -c '^retry' <<<"$lines" || true) POSTs sent again after 502 or 503"
  local failed_gets failed_posts
  failed_gets=$(grep '^GET' <<<"$lines" | grep -v ' 200$' || true)
  [ -z "$failed_gets" ] || fail "GETs of the list failed during the restart: $(tr '\n' ' ' <<<"$failed_gets")"
  failed_posts=$(grep '^POST' <<<"$lines" | awk '$4 != 201' || true)
  [ -z "$failed_posts" ] || fail "POSTs that never got 201: $(tr '\n' ' ' <<<"$failed_posts")"

  # Every acknowledged todo is stored once: nothing lost, nothing doubled
  # by a POST that was sent again.
  request GET /api/todos
  local stored sent
  stored=$(jq -r '.[].text | select(startswith("restart "))' <<<"$BODY" | sort)
  sent=$(grep '^POST' <<<"$lines" | awk '{print $2, $3}' | sort)
  [ -n "$sent" ] || fail "the load sent nothing"
  expect_equal "stored todos" "$stored" "$sent"

  # SIGTERM, not SIGKILL, ended the old process.
  local stopped
  stopped=$(docker logs "$(container_of web)" 2>/dev/null | jq -c 'select(.message == "todo-web stopped")')
  expect_json "todo-web stopped with exit code 0" '.exit_code == 0' "$(tail -n 1 <<<"$stopped")"
  wait_healthy 60 || fail "not healthy again after the restart"
}

check_queue_survives_redis_restart() {
  local worker
  worker=$(container_of worker)
  local started=$SECONDS
  docker stop -t 30 "$worker" >/dev/null
  local stop_seconds=$((SECONDS - started))
  expect_equal "exit code of todo-worker after SIGTERM" "$(docker inspect -f '{{.State.ExitCode}}' "$worker")" 0
  [ "$stop_seconds" -lt 10 ] || fail "docker stop of the worker took $stop_seconds s"

  request POST /export -H 'Content-Type: application/json' -d '{}'
  expect_equal "POST /export" "$STATUS" 202
  local task_id
  task_id=$(jq -r '.task_id' <<<"$BODY")
  request GET "/tasks/$task_id"
  expect_json "job waits without a worker" '.state == "PENDING"' "$BODY"

  compose restart redis >/dev/null 2>&1 || fail "docker compose restart redis failed"
  docker start "$worker" >/dev/null
  wait_healthy 60 || fail "not healthy again after the Redis restart"

  # Without the append-only file the message would be gone, and the job
  # would wait JOB_REPUBLISH_AFTER_S (300 s) to be published again.
  local job
  job=$(wait_for_job "$task_id" 60)
  expect_json "job state after the Redis restart" '.state == "SUCCESS"' "$job"
  echo "  the worker stopped in $stop_seconds s; the job queued before the Redis restart succeeded"
}

check_logs_are_json() {
  local service id
  for service in web worker; do
    id=$(container_of "$service")
    docker logs "$id" >"$WORK/$service.stdout" 2>"$WORK/$service.stderr"
    [ ! -s "$WORK/$service.stderr" ] || fail "$service wrote to stderr: $(head -n 3 "$WORK/$service.stderr")"
    local bad count
    bad=$(jq -R -r 'select((try fromjson catch null) | (type == "object" and has("timestamp") and has("level") and has("logger") and has("message")) | not)' \
      "$WORK/$service.stdout" | head -n 3)
    [ -z "$bad" ] || fail "$service wrote lines that are not JSON log objects: $bad"
    count=$(wc -l <"$WORK/$service.stdout")
    [ "$count" -ge 5 ] || fail "$service wrote only $count lines"
    echo "  $service: $count lines, each a JSON object with timestamp, level, logger and message"
  done
}

check_teardown() {
  compose down --volumes --remove-orphans --timeout 30 >/dev/null 2>&1 || fail "docker compose down failed"
  COMPOSE_STARTED=0
  expect_equal "containers left" "$(docker ps -aq | wc -l)" 0
  expect_equal "volumes left" "$(docker volume ls -q | wc -l)" 0
  expect_equal "networks left" "$(docker network ls --format '{{.Name}}' | sort | tr '\n' ' ')" "bridge host none "
}

check_engine_removed() {
  ! kill -0 "$ENGINE_PID" 2>/dev/null || fail "dockerd (pid $ENGINE_PID) still runs"
  ! grep -q " $WORK/" /proc/mounts || fail "mounts left under $WORK: $(grep " $WORK/" /proc/mounts | cut -d' ' -f2)"
  ! ip link show "$TODO_CI_BRIDGE" >/dev/null 2>&1 || fail "bridge $TODO_CI_BRIDGE left"
  ! ip -4 addr | grep -q "inet ${TODO_CI_POOL%%.0.0/16}\." || fail "bridges of compose networks left"
  ! iptables -w -S FORWARD | grep -qF "$TODO_CI_POOL" || fail "FORWARD rule left"
  ! iptables -w -t nat -S POSTROUTING | grep -qF "$TODO_CI_BRIDGE_SUBNET" || fail "MASQUERADE rule left"
}

# --- Main ---------------------------------------------------------------------

save_logs() {
  local id name
  for id in $(compose ps -q 2>/dev/null); do
    name=$(docker inspect -f '{{.Name}}' "$id" | tr -d /)
    docker logs --timestamps "$id" >"$OUTPUT/$name.log" 2>&1 || true
  done
}

# Sourcing this file defines the checks without running anything, so that
# one check can be run by hand against a running project.
if [ "${BASH_SOURCE[0]}" != "$0" ]; then
  return 0
fi

WORK=
COMPOSE_STARTED=0
cleanup() {
  if [ "$COMPOSE_STARTED" = 1 ]; then
    save_logs
    compose down --volumes --remove-orphans --timeout 30 >/dev/null 2>&1 || true
  fi
  stop_private_dockerd
  if [ -n "$WORK" ]; then
    rm -rf "$WORK"
  fi
}
trap cleanup EXIT

install_packages
rm -rf "$OUTPUT"
mkdir -p "$OUTPUT"
end_phase "packages"

run_check ".env.example matches compose.yaml" check_env_example
run_check "Kubernetes base renders and checks" check_kubernetes
end_phase "static checks"

WORK=$(mktemp -d /tmp/todo-container.XXXXXX)
start_private_dockerd "$WORK/engine"
end_phase "private dockerd"
make_debian_images "$WORK"
check_mirror_reachable
end_phase "debian base images"

# The app image and the stand-ins build side by side.
install_npm_packages "$TODO_ROOT/tests/otlp" "$OUTPUT"
cp -r "$TODO_ROOT/tests/container/standins/otlp-receiver" "$WORK/otlp-receiver"
mkdir -p "$WORK/otlp-receiver/otlp"
cp -r "$TODO_ROOT"/tests/otlp/{receiver.mjs,schema.mjs,validate.mjs,package.json,package-lock.json,node_modules} \
  "$WORK/otlp-receiver/otlp/"

cp "$TODO_ROOT/.env.example" "$WORK/env"
APP_IMAGE=$(sed -n 's/^TODO_IMAGE=//p' "$WORK/env")
export DOCKER_BUILDKIT=0
declare -A BUILDS=()
docker build -t "$APP_IMAGE" \
  --build-arg REVISION="$(git -C "$TODO_ROOT" rev-parse --short=12 HEAD 2>/dev/null || echo unknown)" \
  --build-arg CREATED="$(date -u +%Y-%m-%dT%H:%M:%SZ)" \
  "$TODO_ROOT" >"$OUTPUT/build-app.log" 2>&1 &
BUILDS[app]=$!
for name in "${STANDINS[@]}"; do
  context="$TODO_ROOT/tests/container/standins/$name"
  [ "$name" = otlp-receiver ] && context="$WORK/otlp-receiver"
  docker build -t "todo-standin/$name" "$context" >"$OUTPUT/build-$name.log" 2>&1 &
  BUILDS[$name]=$!
done
say "building the app image and ${#STANDINS[@]} stand-ins; logs in $OUTPUT/build-*.log"
for name in "${!BUILDS[@]}"; do
  wait "${BUILDS[$name]}" || { tail -n 30 "$OUTPUT/build-$name.log" >&2; die "the $name image did not build; see $OUTPUT/build-$name.log"; }
done
docker images --format '{{.Repository}}:{{.Tag}} {{.Size}}' | sort | sed 's/^/  /'
end_phase "image builds"

run_check "app image" check_app_image

# Loopback only, and free ports for the UIs. Port 80 when it is free.
HTTP_PORT=$(free_port 80)
[ "$HTTP_PORT" = 80 ] || say "port 80 is taken; Caddy is published on $HTTP_PORT"
PROMETHEUS_PORT=$(free_port 9090)
JAEGER_UI_PORT=$(free_port 16686)
sed -i -e "s/^HTTP_BIND_ADDRESS=.*/HTTP_BIND_ADDRESS=127.0.0.1/" -e "s/^HTTP_PORT=.*/HTTP_PORT=$HTTP_PORT/" \
  -e "s/^PROMETHEUS_PORT=.*/PROMETHEUS_PORT=$PROMETHEUS_PORT/" -e "s/^JAEGER_UI_PORT=.*/JAEGER_UI_PORT=$JAEGER_UI_PORT/" \
  -e "s/^DB_MEMORY=.*/DB_MEMORY=1g/" \
  "$WORK/env"
# The engine keeps its data on a tmpfs here, and tmpfs pages count against
# the memory limit of the container that writes them, so PostgreSQL's data
# files do too. 1 GiB leaves room for them next to the server's own memory.
BASE_URL="http://127.0.0.1:$HTTP_PORT"
PROMETHEUS_URL="http://127.0.0.1:$PROMETHEUS_PORT"
JAEGER_URL="http://127.0.0.1:$JAEGER_UI_PORT"

say "starting compose.yaml with the stand-ins (project $PROJECT)"
COMPOSE_STARTED=1
compose up -d --no-build >"$OUTPUT/compose-up.log" 2>&1 ||
  { tail -n 30 "$OUTPUT/compose-up.log" >&2; die "docker compose up failed; see $OUTPUT/compose-up.log"; }
wait_healthy 180 || die "the services did not all become healthy"
end_phase "compose up until healthy"

run_check "every service healthy, with limits" check_all_healthy
run_check "only Caddy and the UIs published" check_isolation
run_check "web and worker run as uid 10001" check_runtime_user
run_check "health check works with --init" check_health_check_with_init
run_check "todo flow through Caddy" check_todo_flow
run_check "export through Caddy" check_export
run_check "one trace across web and worker" check_trace
run_check "Prometheus scrapes every target" check_prometheus
run_check "web restart under load loses nothing" check_restart_web
run_check "queued job survives a Redis restart" check_queue_survives_redis_restart
run_check "web and worker log JSON lines only" check_logs_are_json
save_logs
end_phase "checks of the running system"

run_check "compose down removes everything" check_teardown
COMPOSE_STARTED=0
ENGINE_PID=$DOCKERD_PID
stop_private_dockerd
run_check "private engine removed" check_engine_removed
rm -rf "$WORK"
WORK=
end_phase "teardown"

say "time per phase:"
printf '  %s\n' "${TIMINGS[@]}" >&2
if [ "$FAILED" -gt 0 ]; then
  printf 'failed checks:\n' >&2
  printf '  %s\n' "${FAILED_CHECKS[@]}" >&2
fi
echo "$PASSED passed, $FAILED failed"
[ "$FAILED" -eq 0 ]
