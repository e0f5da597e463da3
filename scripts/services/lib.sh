# Shared settings and helpers for the scripts in scripts/services. Sourced, never run.
# Every endpoint, version and path the scripts use is set here, once.

set -euo pipefail

SERVICES_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

# The service tools (rabbitmqctl, rabbitmq-server, pg_ctlcluster...) live in sbin folders that a
# minimal or non-login environment may leave off PATH.
case ":$PATH:" in *:/usr/sbin:*) ;; *) PATH="$PATH:/usr/local/sbin:/usr/sbin:/sbin" ;; esac
export PATH

# Jars are cached outside the clone so a fresh clone (and CI) starts from the cache in seconds.
CACHE_DIR="${EDA_SERVICES_CACHE:-$HOME/.cache/eda-services}"
STATE_DIR="${EDA_SERVICES_STATE:-$CACHE_DIR/state}"

# Pinned versions: newest 4.x and last 3.9.x of Kafka, newest S3Proxy that runs on Java 17.
KAFKA4_VERSION="${EDA_KAFKA4_VERSION:-4.4.0}"
KAFKA3_VERSION="${EDA_KAFKA3_VERSION:-3.9.2}"
S3PROXY_VERSION="${EDA_S3PROXY_VERSION:-3.3.0}"
ZIPKIN_VERSION="${EDA_ZIPKIN_VERSION:-3.5.1}"
# Kafka 4 logs through SLF4J 1.x into Log4j 2; Kafka 3.9 through SLF4J 1.x into reload4j.
LOG4J2_VERSION=2.24.3
SLF4J_RELOAD4J_VERSION=1.7.36
RELOAD4J_VERSION=1.2.25
DEPENDENCY_PLUGIN=org.apache.maven.plugins:maven-dependency-plugin:3.8.1
MVN=(mvn -B -Dstyle.color=never)

# Endpoints: the defaults are what up.sh starts or what the machine already runs.
DEFAULT_KAFKA_BROKERS=127.0.0.1:9092
DEFAULT_KAFKA3_BROKERS=127.0.0.1:9192
DEFAULT_POSTGRES_URL=postgres://postgres@127.0.0.1:5432/test
DEFAULT_REDIS_URL=redis://127.0.0.1:6379
DEFAULT_AMQP_URL=amqp://guest:guest@127.0.0.1:5672
DEFAULT_S3_ENDPOINT=http://127.0.0.1:9000
DEFAULT_ZIPKIN_URL=http://127.0.0.1:9411

EDA_KAFKA_BROKERS="${EDA_KAFKA_BROKERS:-$DEFAULT_KAFKA_BROKERS}"
EDA_KAFKA3_BROKERS="${EDA_KAFKA3_BROKERS:-$DEFAULT_KAFKA3_BROKERS}"
EDA_POSTGRES_URL="${EDA_POSTGRES_URL:-$DEFAULT_POSTGRES_URL}"
EDA_REDIS_URL="${EDA_REDIS_URL:-$DEFAULT_REDIS_URL}"
EDA_AMQP_URL="${EDA_AMQP_URL:-$DEFAULT_AMQP_URL}"
EDA_S3_ENDPOINT="${EDA_S3_ENDPOINT:-$DEFAULT_S3_ENDPOINT}"
EDA_S3_REGION="${EDA_S3_REGION:-us-east-1}"
EDA_S3_ACCESS_KEY_ID="${EDA_S3_ACCESS_KEY_ID:-eda}"
EDA_S3_SECRET_ACCESS_KEY="${EDA_S3_SECRET_ACCESS_KEY:-eda-secret-key}"
EDA_S3_BUCKET="${EDA_S3_BUCKET:-eda-test}"
EDA_ZIPKIN_URL="${EDA_ZIPKIN_URL:-$DEFAULT_ZIPKIN_URL}"
export EDA_KAFKA_BROKERS EDA_KAFKA3_BROKERS EDA_POSTGRES_URL EDA_REDIS_URL EDA_AMQP_URL \
  EDA_S3_ENDPOINT EDA_S3_REGION EDA_S3_ACCESS_KEY_ID EDA_S3_SECRET_ACCESS_KEY EDA_S3_BUCKET \
  EDA_ZIPKIN_URL

# How long a service may take to become ready, in seconds.
READY_TIMEOUT="${EDA_SERVICES_TIMEOUT:-120}"

say() { printf '%s\n' "$*"; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# "host:port" out of a URL or a comma-separated broker list (first entry); a URL without a port
# gets its scheme's default port.
host_port() {
  local s="${1%%,*}" port
  case "$s" in
    https://*) port=443 ;; postgres*://*) port=5432 ;; redis*://*) port=6379 ;;
    amqps://*) port=5671 ;; amqp://*) port=5672 ;; *) port=80 ;;
  esac
  s="${s#*://}" # scheme
  s="${s%%/*}"  # path
  s="${s##*@}"  # user:password@
  case "$s" in *:*) ;; *) s="$s:$port" ;; esac
  printf '%s' "$s"
}

# True when something accepts TCP connections on host:port.
port_open() {
  local hp="$1"
  timeout 2 bash -c "exec 3<>/dev/tcp/${hp%:*}/${hp##*:}" 2>/dev/null
}

# Waits until a command succeeds, or fails after $2 seconds. Usage: wait_for <what> <secs> cmd...
wait_for() {
  local what="$1" secs="$2"
  shift 2
  local deadline=$((SECONDS + secs))
  until "$@"; do
    ((SECONDS < deadline)) || { printf 'error: %s not ready after %ss\n' "$what" "$secs" >&2; return 1; }
    sleep 0.3
  done
}

# Pid from a pid file if that process is alive and its command line contains $2.
# The check on the command line guards against a pid reused by another program.
live_pid() {
  local file="$1" marker="$2" pid
  [[ -s "$file" ]] || return 1
  pid="$(cat "$file")"
  local cmdline
  alive "$pid" || return 1
  cmdline="$( (tr '\0' ' ' <"/proc/$pid/cmdline") 2>/dev/null)" || return 1
  [[ "$cmdline" == *"$marker"* ]] || return 1
  printf '%s' "$pid"
}

# True while a process runs. A zombie does not count: a detached program's exit is reaped by
# init, which may take a moment, and kill -0 still succeeds on it until then.
alive() {
  local state
  state="$( (awk '{print $3}' "/proc/$1/stat") 2>/dev/null)" || return 1
  [[ -n "$state" && "$state" != Z ]]
}

# True while the process named in a pid file is alive (for use right after spawn_detached,
# while the pid may still be exec-ing and its command line not yet the program's).
spawned_alive() { [[ -s "$1" ]] && alive "$(cat "$1")"; }

# Starts a command in its own session, detached from this shell, output to a log file that is
# started afresh (so a readiness line found in it belongs to this start). Writes the pid file.
spawn_detached() {
  local pidfile="$1" logfile="$2"
  shift 2
  rm -f "$pidfile"
  [[ -f "$logfile" ]] && mv -f "$logfile" "$logfile.previous"
  # bash writes its own pid, then becomes the program: the pid file names the program itself.
  # fd 9 is closed so that the program does not inherit (and keep) the caller's lock.
  setsid bash -c 'echo $$ >"$0"; exec "$@"' "$pidfile" "$@" </dev/null >"$logfile" 2>&1 9>&- &
  local i
  for i in $(seq 50); do [[ -s "$pidfile" ]] && return 0; sleep 0.1; done
  die "could not start $*"
}

# Serialises the scripts that act on one service (two `up.sh` at once, a test hook during an
# `up.sh`): waits for the lock on fd 9, held until the script exits.
lock_service() {
  mkdir -p "$STATE_DIR"
  exec 9>"$STATE_DIR/$1.lock"
  flock -w 300 9 || die "$1: another script held the lock for 5 minutes ($STATE_DIR/$1.lock)"
}

# Stops a process by pid: SIGTERM, then SIGKILL after $2 seconds.
stop_pid() {
  local pid="$1" grace="${2:-30}" deadline
  kill -TERM "$pid" 2>/dev/null || return 0
  deadline=$((SECONDS + grace))
  while alive "$pid"; do
    if ((SECONDS >= deadline)); then
      kill -KILL "$pid" 2>/dev/null || true
      sleep 0.2
      break
    fi
    sleep 0.2
  done
}

# The scripts of the services they may start (kafka.sh, s3proxy.sh, zipkin.sh) define
# `managed` (the endpoint is the default one, which these scripts own) and `pid` (the live pid of
# the process they started). The two functions below act through them.

# Stops the started process (SIGTERM, SIGKILL after <grace> s). An endpoint set elsewhere is not
# ours to stop. usage: stop_started <name> <setting=value> <grace seconds>
stop_started() {
  local name="$1" setting="$2" grace="$3" p
  managed || die "$name: $setting is not started by scripts/services, so it cannot be stopped here"
  if p="$(pid)"; then
    stop_pid "$p" "$grace"
    say "$name: stopped"
  else
    say "$name: not running"
  fi
}

# One status line: up (ours, with its pid), up (someone else's), or down (exit 3).
# usage: report_status <name> <endpoint> <our address> <what runs there, such as "Kafka 4.1.0">
report_status() {
  local name="$1" endpoint="$2" addr="$3" what="$4" p
  if managed && p="$(pid)" && port_open "$addr"; then
    say "$name: up    $endpoint ($what, pid $p)"
  elif port_open "$(host_port "$endpoint")"; then
    say "$name: up    $endpoint (not started by scripts/services)"
  else
    say "$name: down  $endpoint"
    return 3
  fi
}

require_java() {
  command -v java >/dev/null || die "java not found: install a JDK 17 or newer (apt-get install openjdk-17-jre-headless)"
  local major
  major="$(java -version 2>&1 | sed -n 's/.* version "\([0-9]*\).*/\1/p' | head -1)"
  ((major >= 17)) || die "java $major found, Kafka 4 and S3Proxy 3 need 17 or newer (apt-get install openjdk-17-jre-headless)"
}

require_maven() {
  command -v mvn >/dev/null || die "mvn not found: it fetches the service jars from Maven Central (apt-get install maven)"
}

# server.properties of a KRaft node that is broker and controller in one JVM, on loopback, for
# kafka.sh (one node) and kafka-cluster.sh (three). `share` adds Kafka 4's share-group topic.
# Usage: kraft_properties NODE_ID VOTERS PORT CONTROLLER_PORT DATA_DIR REPLICAS MIN_ISR PARTITIONS AUTO_CREATE [share]
kraft_properties() {
  local node="$1" voters="$2" port="$3" controller_port="$4" data="$5"
  local replicas="$6" min_isr="$7" partitions="$8" auto_create="$9" share="${10:-}"
  cat <<CONF
process.roles=broker,controller
node.id=$node
controller.quorum.voters=$voters
listeners=PLAINTEXT://127.0.0.1:$port,CONTROLLER://127.0.0.1:$controller_port
advertised.listeners=PLAINTEXT://127.0.0.1:$port
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
log.dirs=$data
num.partitions=$partitions
default.replication.factor=$replicas
min.insync.replicas=$min_isr
unclean.leader.election.enable=false
offsets.topic.replication.factor=$replicas
offsets.topic.num.partitions=10
transaction.state.log.replication.factor=$replicas
transaction.state.log.min.isr=$min_isr
transaction.state.log.num.partitions=10
group.initial.rebalance.delay.ms=0
auto.create.topics.enable=$auto_create
delete.topic.enable=true
CONF
  if [[ "$share" == share ]]; then
    printf 'share.coordinator.state.topic.replication.factor=%s\nshare.coordinator.state.topic.min.isr=%s\n' \
      "$replicas" "$min_isr"
  fi
}
