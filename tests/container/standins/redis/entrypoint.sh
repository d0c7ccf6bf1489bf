#!/bin/bash
# Entry point of the redis stand-in. As root it takes ownership of /data and
# runs itself again as the redis user, and then redis-server replaces the
# shell. The official image builds Redis with protected mode off. Here the
# option goes right after the configuration file, if any, so that a later
# --protected-mode argument still wins.
set -euo pipefail

if [ "${1:-}" != redis-server ]; then
  exec "$@"
fi

if [ "$(id -u)" = 0 ]; then
  chown -R redis:redis /data
  exec setpriv --reuid=redis --regid=redis --init-groups "$0" "$@"
fi

shift
if [ $# -gt 0 ] && [[ $1 != -* ]]; then
  config=$1
  shift
  exec redis-server "$config" --protected-mode no "$@"
fi
exec redis-server --protected-mode no "$@"
