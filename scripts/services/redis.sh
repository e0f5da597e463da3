#!/usr/bin/env bash
# Redis: the machine runs it (nothing kept on disk); this script checks it, starts it when it is
# down, and restarts it for fault tests.
# Usage: redis.sh ensure|status|restart
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

name=redis
addr="$(host_port "$EDA_REDIS_URL")"

answers() {
  if command -v redis-cli >/dev/null; then
    [[ "$(redis-cli -u "$EDA_REDIS_URL" ping 2>/dev/null)" == PONG ]]
  else
    port_open "$addr"
  fi
}

port_closed() { ! port_open "$addr"; }

local_only() {
  [[ "$EDA_REDIS_URL" == "$DEFAULT_REDIS_URL" ]] ||
    die "$name: EDA_REDIS_URL=$EDA_REDIS_URL is not the local default, so it is not started or restarted here"
}

# The same command the machine uses at boot: in-memory only, loopback only.
launch() {
  command -v redis-server >/dev/null ||
    die "$name: not installed: apt-get install redis-server (7.x)"
  mkdir -p /var/lib/redis /var/log/redis
  redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
    --dir /var/lib/redis --logfile /var/log/redis/ci.log
  wait_for "$name" 30 answers
}

ensure() {
  if ! answers; then
    local_only
    say "$name: not answering, starting it"
    launch
  fi
  say "$name: up at $EDA_REDIS_URL"
}

status() {
  if answers; then say "$name: up    $EDA_REDIS_URL"; else say "$name: down  $EDA_REDIS_URL"; return 3; fi
}

# SHUTDOWN NOSAVE drops every client and every key, like a crash of an in-memory Redis.
restart() {
  local_only
  redis-cli -u "$EDA_REDIS_URL" shutdown nosave >/dev/null 2>&1 || true
  wait_for "$name to stop" 30 port_closed
  launch
  say "$name: restarted at $EDA_REDIS_URL"
}

case "${1:-}" in
  ensure) ensure ;;
  status) status ;;
  restart) restart ;;
  *) die "usage: redis.sh ensure|status|restart" ;;
esac
