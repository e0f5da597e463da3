#!/usr/bin/env bash
# S3Proxy (an S3 API server in Java) from Maven Central, storing objects on the local disk.
# Usage: s3proxy.sh install|start|stop|restart|status
# Serves EDA_S3_ENDPOINT (default http://127.0.0.1:9000) with EDA_S3_ACCESS_KEY_ID and
# EDA_S3_SECRET_ACCESS_KEY, and makes sure the bucket EDA_S3_BUCKET exists.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

name=s3proxy
jar="$CACHE_DIR/s3proxy-$S3PROXY_VERSION/s3proxy-$S3PROXY_VERSION-jar-with-dependencies.jar"
dir="$STATE_DIR/s3proxy"
props="$dir/s3proxy.properties"
pidfile="$dir/s3proxy.pid"
log="$dir/s3proxy.log"
addr="$(host_port "$DEFAULT_S3_ENDPOINT")"

managed() { [[ "$EDA_S3_ENDPOINT" == "$DEFAULT_S3_ENDPOINT" ]]; }
pid() { live_pid "$pidfile" "$props"; }

install() {
  [[ -f "$jar" ]] && return 0
  require_maven
  mkdir -p "$CACHE_DIR"
  say "$name: fetching S3Proxy $S3PROXY_VERSION from Maven Central into $(dirname "$jar")"
  # The jar-with-dependencies is self-contained, so the plain `copy` goal (no pom) is enough.
  "${MVN[@]}" "$DEPENDENCY_PLUGIN:copy" \
    -Dartifact="org.gaul:s3proxy:$S3PROXY_VERSION:jar:jar-with-dependencies" \
    -DoutputDirectory="$(dirname "$jar")" >"$CACHE_DIR/s3proxy-maven.log" 2>&1 ||
    { grep -m1 ERROR "$CACHE_DIR/s3proxy-maven.log" >&2
      die "$name: Maven could not fetch org.gaul:s3proxy:$S3PROXY_VERSION (jar-with-dependencies); log: $CACHE_DIR/s3proxy-maven.log"; }
}

configure() {
  mkdir -p "$dir/data"
  # Objects live on disk under the state dir, so they survive stop/start (the fault hooks rely
  # on that).
  cat >"$props" <<EOF
s3proxy.endpoint=$DEFAULT_S3_ENDPOINT
s3proxy.authorization=aws-v2-or-v4
s3proxy.identity=$EDA_S3_ACCESS_KEY_ID
s3proxy.credential=$EDA_S3_SECRET_ACCESS_KEY
jclouds.provider=filesystem
jclouds.filesystem.basedir=$dir/data
EOF
}

ready() {
  if ! spawned_alive "$pidfile"; then
    tail -n 30 "$log" >&2
    die "$name: S3Proxy exited during start (log: $log)"
  fi
  port_open "$addr"
}

# Creates the bucket and checks a streamed upload with the SDK's default checksums round-trips.
ensure_bucket() {
  command -v node >/dev/null || die "node not found: it is needed to create the bucket $EDA_S3_BUCKET"
  node "$SERVICES_DIR/s3-bucket.mjs"
}

start() {
  if ! managed; then
    port_open "$(host_port "$EDA_S3_ENDPOINT")" ||
      die "$name: EDA_S3_ENDPOINT=$EDA_S3_ENDPOINT does not answer (not started here: it is not the default $DEFAULT_S3_ENDPOINT)"
    ensure_bucket
    return 0
  fi
  if p="$(pid)"; then
    wait_for "$name" "$READY_TIMEOUT" ready || exit 1
    say "$name: already up at $EDA_S3_ENDPOINT (S3Proxy $S3PROXY_VERSION, pid $p)"
    return 0
  fi
  if port_open "$addr"; then
    say "$name: $addr already answers, served by a process not started by scripts/services; left alone"
    ensure_bucket
    return 0
  fi
  require_java
  install
  configure
  spawn_detached "$pidfile" "$log" java -Xmx256m -jar "$jar" --properties "$props"
  wait_for "$name" "$READY_TIMEOUT" ready || { tail -n 30 "$log" >&2; exit 1; }
  ensure_bucket
  say "$name: up at $EDA_S3_ENDPOINT (S3Proxy $S3PROXY_VERSION, pid $(pid))"
}

stop() { stop_started "$name" "EDA_S3_ENDPOINT=$EDA_S3_ENDPOINT" 15; }

status() { report_status "$name" "$EDA_S3_ENDPOINT" "$addr" "S3Proxy $S3PROXY_VERSION, bucket $EDA_S3_BUCKET"; }

[[ "${1:-}" == status ]] || lock_service "$name"
case "${1:-}" in
  install) install ;;
  start) start ;;
  stop) stop ;;
  restart) stop && start ;;
  status) status ;;
  *) die "usage: s3proxy.sh install|start|stop|restart|status" ;;
esac
