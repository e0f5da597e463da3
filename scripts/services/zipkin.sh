#!/usr/bin/env bash
# Zipkin (a trace backend in Java) from Maven Central, keeping traces in memory.
# Usage: zipkin.sh install|start|stop|restart|status
# Serves EDA_ZIPKIN_URL (default http://127.0.0.1:9411): spans in at /api/v2/spans (what
# @opentelemetry/exporter-zipkin sends), queries at /api/v2/traces, the UI at /zipkin/.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

name=zipkin
jar="$CACHE_DIR/zipkin-$ZIPKIN_VERSION/zipkin-server-$ZIPKIN_VERSION-exec.jar"
dir="$STATE_DIR/zipkin"
pidfile="$dir/zipkin.pid"
log="$dir/zipkin.log"
addr="$(host_port "$DEFAULT_ZIPKIN_URL")"

managed() { [[ "$EDA_ZIPKIN_URL" == "$DEFAULT_ZIPKIN_URL" ]]; }
pid() { live_pid "$pidfile" "zipkin-server-$ZIPKIN_VERSION"; }

install() {
  [[ -f "$jar" ]] && return 0
  require_maven
  mkdir -p "$CACHE_DIR"
  say "$name: fetching Zipkin $ZIPKIN_VERSION from Maven Central into $(dirname "$jar")"
  # The exec jar is self-contained (about 130 MB), so the plain `copy` goal is enough.
  "${MVN[@]}" "$DEPENDENCY_PLUGIN:copy" \
    -Dartifact="io.zipkin:zipkin-server:$ZIPKIN_VERSION:jar:exec" \
    -DoutputDirectory="$(dirname "$jar")" >"$CACHE_DIR/zipkin-maven.log" 2>&1 ||
    { grep -m1 ERROR "$CACHE_DIR/zipkin-maven.log" >&2
      die "$name: Maven could not fetch io.zipkin:zipkin-server:$ZIPKIN_VERSION (exec); log: $CACHE_DIR/zipkin-maven.log"; }
}

# Ready when the server says so on /health (the port opens a little before).
ready() {
  if ! spawned_alive "$pidfile"; then
    tail -n 30 "$log" >&2
    die "$name: Zipkin exited during start (log: $log)"
  fi
  curl -fsS --max-time 2 "$DEFAULT_ZIPKIN_URL/health" 2>/dev/null | grep -q '"UP"'
}

start() {
  if ! managed; then
    port_open "$(host_port "$EDA_ZIPKIN_URL")" ||
      die "$name: EDA_ZIPKIN_URL=$EDA_ZIPKIN_URL does not answer (not started here: it is not the default $DEFAULT_ZIPKIN_URL)"
    return 0
  fi
  if p="$(pid)"; then
    wait_for "$name" "$READY_TIMEOUT" ready || exit 1
    say "$name: already up at $EDA_ZIPKIN_URL (Zipkin $ZIPKIN_VERSION, pid $p)"
    return 0
  fi
  if port_open "$addr"; then
    say "$name: $addr already answers, served by a process not started by scripts/services; left alone"
    return 0
  fi
  require_java
  install
  mkdir -p "$dir"
  # In-memory storage, no collector but HTTP (a KAFKA_BOOTSTRAP_SERVERS or RABBIT_ADDRESSES in
  # the environment would otherwise start one). MEM_MAX_SPANS keeps the in-memory store inside
  # the heap: at its default (500,000) the crash runs' spans filled 256 MiB, Zipkin ran out of
  # memory and stopped answering, and the services' exporters then hung at shutdown. The
  # armeria.ports list is given whole (Spring binds a list from one source) to listen on the
  # loopback address only, like the other services.
  spawn_detached "$pidfile" "$log" env STORAGE_TYPE=mem MEM_MAX_SPANS=100000 \
    COLLECTOR_KAFKA_ENABLED=false COLLECTOR_RABBITMQ_ENABLED=false \
    COLLECTOR_ACTIVEMQ_ENABLED=false COLLECTOR_PULSAR_ENABLED=false COLLECTOR_GRPC_ENABLED=false \
    java -Xmx512m -jar "$jar" --armeria.ports[0].ip="${addr%:*}" \
    --armeria.ports[0].port="${addr##*:}" --armeria.ports[0].protocols[0]=http
  wait_for "$name" "$READY_TIMEOUT" ready || { tail -n 30 "$log" >&2; exit 1; }
  say "$name: up at $EDA_ZIPKIN_URL (Zipkin $ZIPKIN_VERSION, pid $(pid))"
}

stop() { stop_started "$name" "EDA_ZIPKIN_URL=$EDA_ZIPKIN_URL" 15; }

status() { report_status "$name" "$EDA_ZIPKIN_URL" "$addr" "Zipkin $ZIPKIN_VERSION"; }

[[ "${1:-}" == status ]] || lock_service "$name"
case "${1:-}" in
  install) install ;;
  start) start ;;
  stop) stop ;;
  restart) stop && start ;;
  status) status ;;
  *) die "usage: zipkin.sh install|start|stop|restart|status" ;;
esac
