#!/usr/bin/env bash
# A three-broker Kafka 4 cluster in KRaft mode on this machine (each node broker and controller
# in one JVM), from the same cached Maven Central jars as kafka.sh. For tests that kill a
# partition leader: replication factor 3, min.insync.replicas 2. It is not part of
# `pnpm services:up`; the test that needs it starts and stops it.
# Usage: kafka-cluster.sh start|stop|status|wipe
#        kafka-cluster.sh kill-node N|stop-node N|start-node N   (N = 1, 2 or 3)
# Ports: brokers EDA_KAFKA_CLUSTER_PORT .. +2 (default 29092-29094), controllers +100 (29192-29194),
# away from the single brokers on 9092/9192. Brokers list: 127.0.0.1:29092,127.0.0.1:29093,127.0.0.1:29094
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

action="${1:-}"
base_port="${EDA_KAFKA_CLUSTER_PORT:-29092}"
version="$KAFKA4_VERSION"
libs="$CACHE_DIR/kafka-$version/libs"
root="$STATE_DIR/kafka-cluster"
nodes=(1 2 3)
# Sixteen bytes in URL-safe base64: "eda-kafka-cluster" cut to 16.
cluster_id="$(printf 'eda-kafka-clustr' | base64 | tr '+/' '-_' | tr -d '=')"
# Small heaps: three JVMs share two cores and the other services.
heap="${EDA_KAFKA_CLUSTER_HEAP:-384m}"

port_of() { echo $((base_port + $1 - 1)); }
controller_port_of() { echo $((base_port + 100 + $1 - 1)); }
dir_of() { echo "$root/node-$1"; }
pid_of() { live_pid "$(dir_of "$1")/kafka.pid" "$(dir_of "$1")/server.properties"; }

# One entry per node, made by the function named in $1, joined with commas.
per_node() {
  local n list=()
  for n in "${nodes[@]}"; do list+=("$("$1" "$n")"); done
  local IFS=,
  echo "${list[*]}"
}
voter_of() { echo "$1@127.0.0.1:$(controller_port_of "$1")"; }
broker_of() { echo "127.0.0.1:$(port_of "$1")"; }
voters() { per_node voter_of; }
brokers() { per_node broker_of; }

configure() {
  local n="$1" dir
  dir="$(dir_of "$n")"
  mkdir -p "$dir"
  # Every topic on all three brokers; a write is acknowledged (acks -1) once two have it, so one
  # node may die without losing an acknowledged record or stopping writes.
  kraft_properties "$n" "$(voters)" "$(port_of "$n")" "$(controller_port_of "$n")" "$dir/data" \
    3 2 3 false share >"$dir/server.properties"
  cat >"$dir/log4j2.properties" <<'CONF'
status = warn
appender.out.type = Console
appender.out.name = out
appender.out.layout.type = PatternLayout
appender.out.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = warn
rootLogger.appenderRef.out.ref = out
logger.broker.name = kafka.server.BrokerServer
logger.broker.level = info
CONF
}

java_args() {
  local dir
  dir="$(dir_of "$1")"
  printf '%s\n' "-Xms$heap" "-Xmx$heap" -XX:+UseG1GC -XX:MaxGCPauseMillis=20 \
    -Djava.awt.headless=true "-Dlog4j2.configurationFile=$dir/log4j2.properties" -cp "$libs/*"
}

ready() {
  local n="$1" dir
  dir="$(dir_of "$n")"
  if ! spawned_alive "$dir/kafka.pid"; then
    tail -n 30 "$dir/server.log" >&2
    die "kafka-cluster: node $n exited during start (log: $dir/server.log)"
  fi
  # The broker's own ready line (the root logger is at warn; BrokerServer logs at info).
  grep -q 'Transition from STARTING to STARTED' "$dir/server.log" && port_open "127.0.0.1:$(port_of "$n")"
}

# Starts one node's JVM without waiting: a node of a fresh cluster waits for a controller quorum,
# so the first start launches every node before it waits for any.
launch() {
  local n="$1" dir
  dir="$(dir_of "$n")"
  if pid_of "$n" >/dev/null; then return 0; fi
  port_open "127.0.0.1:$(port_of "$n")" &&
    die "kafka-cluster: port $(port_of "$n") already answers, served by a process not started here"
  configure "$n"
  local args
  mapfile -t args < <(java_args "$n")
  if [[ ! -f "$dir/data/meta.properties" ]]; then
    java "${args[@]}" kafka.tools.StorageTool format --ignore-formatted -t "$cluster_id" \
      -c "$dir/server.properties" >"$dir/format.log" 2>&1 ||
      { cat "$dir/format.log" >&2; die "kafka-cluster: formatting node $n failed"; }
  fi
  spawn_detached "$dir/kafka.pid" "$dir/server.log" java "${args[@]}" kafka.Kafka "$dir/server.properties"
}

node_arg() {
  case "${1:-}" in 1 | 2 | 3) echo "$1" ;; *) die "kafka-cluster: name a node, 1, 2 or 3 (got '${1:-}')" ;; esac
}

start() {
  require_java
  bash "$SERVICES_DIR/kafka.sh" install 4
  local n
  for n in "${nodes[@]}"; do launch "$n"; done
  for n in "${nodes[@]}"; do wait_for "kafka-cluster node $n" "$READY_TIMEOUT" ready "$n" || exit 1; done
  say "kafka-cluster: up at $(brokers) (Kafka $version)"
}

start_node() {
  local n
  n="$(node_arg "$1")"
  launch "$n"
  wait_for "kafka-cluster node $n" "$READY_TIMEOUT" ready "$n" || exit 1
  say "kafka-cluster: node $n up at 127.0.0.1:$(port_of "$n")"
}

stop_node() {
  local n p
  n="$(node_arg "$1")"
  if p="$(pid_of "$n")"; then stop_pid "$p" 30; say "kafka-cluster: node $n stopped"; else say "kafka-cluster: node $n not running"; fi
}

kill_node() {
  local n p
  n="$(node_arg "$1")"
  if p="$(pid_of "$n")"; then
    kill -KILL "$p"
    while alive "$p"; do sleep 0.1; done
    say "kafka-cluster: node $n killed (SIGKILL)"
  else
    say "kafka-cluster: node $n not running"
  fi
}

status() {
  local n p down=0
  for n in "${nodes[@]}"; do
    if p="$(pid_of "$n")" && port_open "127.0.0.1:$(port_of "$n")"; then
      say "kafka-cluster: node $n up    127.0.0.1:$(port_of "$n") (pid $p)"
    else
      say "kafka-cluster: node $n down  127.0.0.1:$(port_of "$n")"
      down=1
    fi
  done
  return $((down * 3))
}

[[ "$action" == status ]] || lock_service kafka-cluster
case "$action" in
  start) start ;;
  stop) for n in "${nodes[@]}"; do stop_node "$n"; done ;;
  # Stops the nodes and deletes their data: the next start is a new, empty cluster.
  wipe) for n in "${nodes[@]}"; do stop_node "$n"; done; rm -rf "$root"; say "kafka-cluster: data removed" ;;
  kill-node) kill_node "${2:-}" ;;
  stop-node) stop_node "${2:-}" ;;
  start-node) start_node "${2:-}" ;;
  brokers) brokers ;;
  status) status ;;
  *) die "usage: kafka-cluster.sh start|stop|wipe|status|brokers|kill-node N|stop-node N|start-node N" ;;
esac
