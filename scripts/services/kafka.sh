#!/usr/bin/env bash
# One Apache Kafka broker (KRaft, broker and controller in one JVM) from Maven Central jars.
# Usage: kafka.sh install|start|stop|kill|restart|status 4|3
#   4 = newest 4.x on EDA_KAFKA_BROKERS (default 127.0.0.1:9092, controller on port + 1)
#   3 = last 3.9.x on EDA_KAFKA3_BROKERS (default 127.0.0.1:9192, controller on port + 1)
# The TypeScript fault hooks in @eda/test-services call this script, so both share one way to
# stop and start a broker.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

action="${1:-}"
line="${2:-}"
case "$line" in
  4 | 4.x) line=4 version="$KAFKA4_VERSION" brokers="$EDA_KAFKA_BROKERS" default="$DEFAULT_KAFKA_BROKERS" var=EDA_KAFKA_BROKERS ;;
  3 | 3.9) line=3 version="$KAFKA3_VERSION" brokers="$EDA_KAFKA3_BROKERS" default="$DEFAULT_KAFKA3_BROKERS" var=EDA_KAFKA3_BROKERS ;;
  *) die "usage: kafka.sh install|start|stop|kill|restart|status 4|3" ;;
esac

name="kafka$line"
addr="$(host_port "$default")"
port="${addr##*:}"
controller_port=$((port + 1))
libs="$CACHE_DIR/kafka-$version/libs"
dir="$STATE_DIR/kafka-$line"
props="$dir/server.properties"
pidfile="$dir/kafka.pid"
log="$dir/server.log"
# Cluster ids are 16 bytes in URL-safe base64; these spell "eda-kafka4-local" / "eda-kafka3-local".
cluster_id="$(printf 'eda-kafka%s-local' "$line" | base64 | tr '+/' '-_' | tr -d '=')"

managed() { [[ "$brokers" == "$default" ]]; }
pid() { live_pid "$pidfile" "$props"; }

install() {
  [[ -f "$libs/.complete" ]] && return 0
  require_maven
  local work="$CACHE_DIR/kafka-$version" logging
  if [[ "$line" == 4 ]]; then
    logging="$(dep org.apache.logging.log4j log4j-api "$LOG4J2_VERSION")
$(dep org.apache.logging.log4j log4j-core "$LOG4J2_VERSION")
$(dep org.apache.logging.log4j log4j-slf4j-impl "$LOG4J2_VERSION")"
  else
    logging="$(dep org.slf4j slf4j-reload4j "$SLF4J_RELOAD4J_VERSION")
$(dep ch.qos.reload4j reload4j "$RELOAD4J_VERSION")"
  fi
  say "$name: fetching Kafka $version jars from Maven Central into $libs"
  mkdir -p "$work"
  cat >"$work/pom.xml" <<EOF
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>local.eda-services</groupId>
  <artifactId>kafka-$version-libs</artifactId>
  <version>1</version>
  <packaging>pom</packaging>
  <dependencies>
$(dep org.apache.kafka kafka_2.13 "$version")
$logging
  </dependencies>
</project>
EOF
  rm -rf "$libs" "$libs.tmp"
  "${MVN[@]}" -f "$work/pom.xml" "$DEPENDENCY_PLUGIN:copy-dependencies" \
    -DincludeScope=runtime -DoutputDirectory="$libs.tmp" >"$work/maven.log" 2>&1 ||
    { grep -m1 ERROR "$work/maven.log" >&2
      die "$name: Maven could not fetch org.apache.kafka:kafka_2.13:$version (is it on Maven Central?); log: $work/maven.log"; }
  mv "$libs.tmp" "$libs"
  touch "$libs/.complete"
}

dep() { printf '    <dependency><groupId>%s</groupId><artifactId>%s</artifactId><version>%s</version></dependency>' "$@"; }

configure() {
  mkdir -p "$dir"
  # A data dir written by another Kafka version is test data: start it afresh rather than
  # fight a metadata downgrade.
  if [[ -f "$dir/version" && "$(cat "$dir/version")" != "$version" ]]; then
    say "$name: data dir was made by Kafka $(cat "$dir/version"), starting it afresh for $version"
    rm -rf "$dir/data"
  fi
  echo "$version" >"$dir/version"
  # One broker: every internal topic has one replica, and tests should not wait for rebalances.
  kraft_properties 1 "1@127.0.0.1:$controller_port" "$port" "$controller_port" "$dir/data" \
    1 1 1 true "$([[ "$line" == 4 ]] && echo share)" >"$props"
  if [[ "$line" == 4 ]]; then
    cat >"$dir/log4j2.properties" <<'EOF'
status = warn
appender.out.type = Console
appender.out.name = out
appender.out.layout.type = PatternLayout
appender.out.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = info
rootLogger.appenderRef.out.ref = out
EOF
  else
    cat >"$dir/log4j.properties" <<'EOF'
log4j.rootLogger=INFO, out
log4j.appender.out=org.apache.log4j.ConsoleAppender
log4j.appender.out.layout=org.apache.log4j.PatternLayout
log4j.appender.out.layout.ConversionPattern=[%d] %p %m (%c)%n
EOF
  fi
}

java_args() {
  local args=(-Xms512m -Xmx512m -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -Djava.awt.headless=true)
  if [[ "$line" == 4 ]]; then
    args+=("-Dlog4j2.configurationFile=$dir/log4j2.properties")
  else
    args+=("-Dlog4j.configuration=file:$dir/log4j.properties")
  fi
  args+=(-cp "$libs/*")
  printf '%s\n' "${args[@]}"
}

# 0 when ready, 1 while starting; exits with the log's tail when the JVM died.
ready() {
  if ! spawned_alive "$pidfile"; then
    tail -n 30 "$log" >&2
    die "$name: the broker exited during start (log: $log)"
  fi
  grep -q 'Kafka Server started' "$log" && port_open "$addr"
}

start() {
  if ! managed; then
    port_open "$(host_port "$brokers")" || die "$name: $var=$brokers does not answer (not started here: it is not the default $default)"
    say "$name: external broker at $brokers answers"
    return 0
  fi
  if p="$(pid)"; then
    # Possibly still starting (an earlier call timed out): wait for it rather than start another.
    wait_for "$name" "$READY_TIMEOUT" ready || exit 1
    say "$name: already up at $brokers (Kafka $version, pid $p)"
    return 0
  fi
  if port_open "$addr"; then
    say "$name: $addr already answers, served by a process not started by scripts/services; left alone"
    return 0
  fi
  require_java
  install
  configure
  local args
  mapfile -t args < <(java_args)
  if [[ ! -f "$dir/data/meta.properties" ]]; then
    java "${args[@]}" kafka.tools.StorageTool format --ignore-formatted -t "$cluster_id" -c "$props" >"$dir/format.log" 2>&1 ||
      { cat "$dir/format.log" >&2; die "$name: formatting $dir/data failed"; }
  fi
  spawn_detached "$pidfile" "$log" java "${args[@]}" kafka.Kafka "$props"
  wait_for "$name" "$READY_TIMEOUT" ready || { tail -n 30 "$log" >&2; exit 1; }
  say "$name: up at $brokers (Kafka $version, pid $(pid))"
}

# SIGTERM lets the broker close its logs cleanly; `kill` is the hard variant.
stop() { stop_started "$name" "$var=$brokers" 30; }

hard_kill() {
  managed || die "$name: $var=$brokers is not started by scripts/services, so it cannot be killed here"
  local p
  if p="$(pid)"; then
    kill -KILL "$p"
    while alive "$p"; do sleep 0.1; done
    say "$name: killed (SIGKILL)"
  else
    say "$name: not running"
  fi
}

status() { report_status "$name" "$brokers" "$addr" "Kafka $version"; }

[[ "$action" == status ]] || lock_service "$name"
case "$action" in
  install) install ;;
  start) start ;;
  stop) stop ;;
  kill) hard_kill ;;
  restart) stop && start ;;
  status) status ;;
  *) die "usage: kafka.sh install|start|stop|kill|restart|status 4|3" ;;
esac
