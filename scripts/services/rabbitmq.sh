#!/usr/bin/env bash
# RabbitMQ: the machine runs it; this script checks it, starts it when it is down, and drives
# the broker for fault tests through rabbitmqctl (no management plugin needed).
# Usage: rabbitmq.sh ensure|status|stop-app|start-app|close-connections
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

name=rabbitmq
addr="$(host_port "$EDA_AMQP_URL")"

answers() { port_open "$addr"; }

need_ctl() {
  [[ "$EDA_AMQP_URL" == "$DEFAULT_AMQP_URL" ]] ||
    die "$name: EDA_AMQP_URL=$EDA_AMQP_URL is not the local default, so rabbitmqctl is not used on it"
  command -v rabbitmqctl >/dev/null ||
    die "$name: not installed: apt-get install rabbitmq-server (3.10 or newer)"
}

ensure() {
  if ! answers; then
    need_ctl
    # `ping` answers while the Erlang node runs, even with the broker app stopped.
    if rabbitmqctl -q ping >/dev/null 2>&1; then
      say "$name: node runs but the broker app is stopped, starting it"
      rabbitmqctl -q start_app
    else
      say "$name: not answering, starting the node"
      rabbitmq-server -detached
    fi
    wait_for "$name" 90 answers || exit 1
  fi
  say "$name: up at $EDA_AMQP_URL"
}

status() {
  if answers; then say "$name: up    $EDA_AMQP_URL"; else say "$name: down  $EDA_AMQP_URL"; return 3; fi
}

# stop_app closes every client connection and the AMQP listener; the Erlang node stays up.
stop_app() {
  need_ctl
  rabbitmqctl -q stop_app
  say "$name: app stopped"
}

start_app() {
  need_ctl
  rabbitmqctl -q start_app
  rabbitmqctl -q await_startup
  wait_for "$name" 60 answers || exit 1
  say "$name: app started"
}

close_connections() {
  need_ctl
  rabbitmqctl -q close_all_connections "closed by @eda/test-services fault hook"
  say "$name: all connections closed"
}

case "${1:-}" in
  ensure) ensure ;;
  status) status ;;
  stop-app) stop_app ;;
  start-app) start_app ;;
  close-connections) close_connections ;;
  *) die "usage: rabbitmq.sh ensure|status|stop-app|start-app|close-connections" ;;
esac
