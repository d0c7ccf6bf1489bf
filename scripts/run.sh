#!/usr/bin/env bash
# Runs the whole todo stack on this machine as background processes:
# PostgreSQL, Redis, the web replicas, the workers, Caddy in front and
# Prometheus. Data, logs and pid files stay in .data/ (or TODO_DATA_DIR).
#
#   scripts/run.sh [up]            install what is missing, build, start what is not running
#   scripts/run.sh down            stop every process; the data stays
#   scripts/run.sh status          list the processes, their state and address
#   scripts/run.sh logs [-n N] [--no-follow]
#                                  the last N lines (default 10) of every log as
#                                  one stream of JSON lines, then follow them
#
# Settings (environment) for up: WEB_REPLICAS and WORKER_REPLICAS (default 1
# each; a later up with smaller numbers stops the extra ones), CADDY_PORT
# (default: the first free port from 8080), PROMETHEUS_PORT (from 9090),
# PORT and METRICS_PORT (first ports of the web replicas and of the
# workers, from 5000 and 9100), TODO_SKIP_BUILD=1 to use build/ as it is,
# and every variable that todo-web and todo-worker read.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/stack.sh"

usage() {
  sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2
  exit 2
}

command=${1:-up}
[ $# -gt 0 ] && shift
case $command in
  up)
    [ $# -eq 0 ] || usage
    stack_up
    ;;
  down)
    [ $# -eq 0 ] || usage
    stack_down
    ;;
  status)
    [ $# -eq 0 ] || usage
    stack_status
    ;;
  logs)
    lines=10
    follow=follow
    while [ $# -gt 0 ]; do
      case $1 in
        -n)
          [[ ${2:-} =~ ^[0-9]+$ ]] || die "invalid -n '${2:-}': expected a number of lines"
          lines=$2
          shift 2
          ;;
        --no-follow)
          follow=no-follow
          shift
          ;;
        *) usage ;;
      esac
    done
    stack_logs "$lines" "$follow"
    ;;
  *) usage ;;
esac
