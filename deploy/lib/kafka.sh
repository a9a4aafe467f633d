# Fetches, starts and stops a private Apache Kafka broker in KRaft mode (one node acting as
# broker and controller) for tests and local runs, without Docker. Source it; do not run it.
#
#   kafka_install          fetch the jars from Maven Central once (cached, idempotent)
#   kafka_start DIR        start a broker on free ports with its data, config and log in DIR;
#                          exports KAFKA_BROKERS, KAFKA_PID, KAFKA_DIR
#   kafka_stop [DIR]       stop it (SIGTERM, then SIGKILL after 30 s); fine if already gone
#   kafka_restart [DIR]    stop, then start the same broker: same ports, same data
#
# DIR defaults to $KAFKA_DIR, then $AETHERIUM_TEST_KAFKA_DIR, so a fresh shell can stop or
# restart a broker another process started. Everything a restart needs is kept in DIR.

_kafka_lib_here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
declare -F free_port >/dev/null || source "$_kafka_lib_here/common.sh"

# Keep in step with <kafka.version> in deploy/kafka/pom.xml.
KAFKA_VERSION="${KAFKA_VERSION:-3.9.2}"

kafka_lib_dir() { echo "$(aetherium_cache)/kafka-$KAFKA_VERSION/lib"; }

# kafka_install: copies the broker's jars into $(kafka_lib_dir) unless they are there.
# A marker file written last makes an interrupted download count as missing.
kafka_install() {
  local lib tmp
  lib=$(kafka_lib_dir)
  [ -f "$lib/.complete" ] && return 0
  if ! command -v java >/dev/null || ! command -v mvn >/dev/null; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
      log "installing Java and Maven for the Kafka broker"
      DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
        default-jre-headless maven >/dev/null || { log "apt-get install failed"; return 1; }
    else
      log "kafka_install needs java and mvn (Debian: default-jre-headless maven)"
      return 1
    fi
  fi
  mkdir -p "$(dirname "$lib")"
  (
    flock 9
    [ -f "$lib/.complete" ] && exit 0
    tmp="$lib.tmp.$$"
    rm -rf "$tmp"
    log "fetching Kafka $KAFKA_VERSION jars from Maven Central into $lib"
    if ! mvn -B -q -f "$_kafka_lib_here/../kafka/pom.xml" dependency:copy-dependencies \
        -Dkafka.version="$KAFKA_VERSION" -Dkafka.lib.dir="$tmp" >"$lib.mvn.log" 2>&1; then
      log "Maven could not resolve the Kafka jars:"
      tail -n 30 "$lib.mvn.log" >&2
      rm -rf "$tmp"
      exit 1
    fi
    rm -rf "$lib"
    mv "$tmp" "$lib"
    touch "$lib/.complete"
  ) 9>"$(dirname "$lib")/.install.lock"
}

# Prints two distinct TCP ports on 127.0.0.1 that were free a moment ago.
_kafka_free_ports() {
  python3 -c '
import socket
a, b = socket.socket(), socket.socket()
a.bind(("127.0.0.1", 0)); b.bind(("127.0.0.1", 0))
print(a.getsockname()[1], b.getsockname()[1])'
}

# A Kafka cluster id: 16 random bytes, base64url without padding, not starting with '-'.
_kafka_cluster_id() {
  python3 -c '
import base64, os
while True:
    s = base64.urlsafe_b64encode(os.urandom(16)).decode().rstrip("=")
    if not s.startswith("-"):
        print(s); break'
}

# _kafka_pid_running PID: true while PID exists and is not a zombie.
_kafka_pid_running() {
  local pid="$1" state
  [ -n "$pid" ] && [ -r "/proc/$pid/stat" ] || return 1
  state=$(sed 's/^.*) //' "/proc/$pid/stat" 2>/dev/null | cut -d' ' -f1)
  [ -n "$state" ] && [ "$state" != Z ]
}

# _kafka_alive PID DIR: true while PID runs the broker of DIR (a zombie counts as gone, and
# so does a recycled PID now running something else).
_kafka_alive() {
  local pid="$1" dir="$2" cmdline
  _kafka_pid_running "$pid" || return 1
  cmdline=$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null || true)
  [[ $cmdline == *"kafka.Kafka $dir/server.properties"* ]]
}

_kafka_dir() {
  local dir="${1:-${KAFKA_DIR:-${AETHERIUM_TEST_KAFKA_DIR:-}}}"
  [ -n "$dir" ] || { log "no Kafka directory given (argument, KAFKA_DIR or AETHERIUM_TEST_KAFKA_DIR)"; return 1; }
  (cd "$dir" 2>/dev/null && pwd) || { log "Kafka directory $dir does not exist"; return 1; }
}

# _kafka_configure DIR: writes DIR/kafka.env, server.properties and log4j.properties.
_kafka_configure() {
  local dir="$1" ports port cport
  ports=$(_kafka_free_ports) || return 1
  read -r port cport <<<"$ports"
  cat >"$dir/kafka.env" <<EOF
KAFKA_PORT=$port
KAFKA_CONTROLLER_PORT=$cport
KAFKA_CLUSTER_ID=$(_kafka_cluster_id)
EOF
  cat >"$dir/server.properties" <<EOF
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$cport
listeners=PLAINTEXT://127.0.0.1:$port,CONTROLLER://127.0.0.1:$cport
advertised.listeners=PLAINTEXT://127.0.0.1:$port
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
log.dirs=$dir/data
auto.create.topics.enable=true
num.partitions=${KAFKA_NUM_PARTITIONS:-4}
default.replication.factor=1
min.insync.replicas=1
offsets.topic.replication.factor=1
offsets.topic.num.partitions=4
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=4
group.initial.rebalance.delay.ms=0
controlled.shutdown.enable=true
log.retention.hours=24
EOF
  cat >"$dir/log4j.properties" <<'EOF'
log4j.rootLogger=INFO, stdout
log4j.appender.stdout=org.apache.log4j.ConsoleAppender
log4j.appender.stdout.layout=org.apache.log4j.PatternLayout
log4j.appender.stdout.layout.ConversionPattern=[%d] %p %m (%c)%n
log4j.logger.kafka.request.logger=WARN
log4j.logger.state.change.logger=WARN
log4j.logger.org.apache.kafka.clients=WARN
EOF
}

# _kafka_launch DIR: formats the storage once, starts the JVM in its own session (so it
# outlives the shell that started it) and waits until the broker answers a metadata request.
_kafka_launch() {
  local dir="$1" lib started pid deadline metadata
  lib=$(kafka_lib_dir)
  # shellcheck disable=SC1091
  source "$dir/kafka.env"
  local java_opts=(-Xms128m -Xmx512m -XX:+UseG1GC -XX:TieredStopAtLevel=1
    -Djava.awt.headless=true -Dlog4j.configuration="file:$dir/log4j.properties")
  if [ ! -f "$dir/data/meta.properties" ]; then
    java "${java_opts[@]}" -cp "$lib/*" kafka.tools.StorageTool format \
      -t "$KAFKA_CLUSTER_ID" -c "$dir/server.properties" >"$dir/format.log" 2>&1 \
      || { log "formatting the Kafka storage failed:"; tail -n 20 "$dir/format.log" >&2; return 1; }
  fi
  started=$(date +%s%N)
  rm -f "$dir/kafka.pid"
  setsid sh -c 'echo $$ >"$1"; shift; exec "$@"' sh "$dir/kafka.pid" \
    java "${java_opts[@]}" -cp "$lib/*" kafka.Kafka "$dir/server.properties" \
    >>"$dir/kafka.log" 2>&1 </dev/null &
  deadline=$(($(date +%s) + ${KAFKA_START_TIMEOUT:-90}))
  while :; do
    pid=$(cat "$dir/kafka.pid" 2>/dev/null || true)
    if [ -n "$pid" ] && ! _kafka_pid_running "$pid"; then
      log "the Kafka broker exited during start-up; log tail ($dir/kafka.log):"
      tail -n 40 "$dir/kafka.log" >&2
      return 1
    fi
    if [ -n "$pid" ]; then
      metadata=$(kcat -L -b "127.0.0.1:$KAFKA_PORT" -m 2 2>/dev/null || true)
      [[ $metadata == *"broker 1 at"* ]] && break
    fi
    if [ "$(date +%s)" -ge "$deadline" ]; then
      log "the Kafka broker was not ready after ${KAFKA_START_TIMEOUT:-90} s; log tail ($dir/kafka.log):"
      tail -n 40 "$dir/kafka.log" >&2
      [ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null || true
      return 1
    fi
    sleep 0.2
  done
  export KAFKA_DIR="$dir" KAFKA_PID="$pid" KAFKA_PORT KAFKA_CONTROLLER_PORT
  export KAFKA_BROKERS="127.0.0.1:$KAFKA_PORT"
  log "Kafka $KAFKA_VERSION ready on $KAFKA_BROKERS in $((($(date +%s%N) - started) / 1000000)) ms (dir $dir)"
}

# kafka_start DIR: starts the broker of DIR. A DIR used before keeps its ports and data; a
# broker of DIR that is already running is reused.
kafka_start() {
  local dir="${1:?kafka_start needs a directory}" pid
  command -v kcat >/dev/null || { log "kafka_start needs kcat (Debian package kcat)"; return 1; }
  kafka_install || return 1
  mkdir -p "$dir"
  dir=$(cd "$dir" && pwd)
  pid=$(cat "$dir/kafka.pid" 2>/dev/null || true)
  if [ -f "$dir/kafka.env" ] && _kafka_alive "$pid" "$dir"; then
    # shellcheck disable=SC1091
    source "$dir/kafka.env"
    export KAFKA_DIR="$dir" KAFKA_PID="$pid" KAFKA_BROKERS="127.0.0.1:$KAFKA_PORT"
    return 0
  fi
  [ -f "$dir/kafka.env" ] || _kafka_configure "$dir" || return 1
  _kafka_launch "$dir"
}

# kafka_stop [DIR]: stops the broker of DIR and waits until it is gone.
kafka_stop() {
  local dir pid deadline
  dir=$(_kafka_dir "${1:-}" 2>/dev/null) || return 0
  pid=$(cat "$dir/kafka.pid" 2>/dev/null || true)
  if _kafka_alive "$pid" "$dir"; then
    kill -TERM "$pid" 2>/dev/null || true
    deadline=$(($(date +%s) + ${KAFKA_STOP_TIMEOUT:-30}))
    while _kafka_alive "$pid" "$dir" && [ "$(date +%s)" -lt "$deadline" ]; do sleep 0.1; done
    if _kafka_alive "$pid" "$dir"; then
      log "the Kafka broker did not stop in time; killing it"
      kill -KILL "$pid" 2>/dev/null || true
      while _kafka_alive "$pid" "$dir"; do sleep 0.1; done
    fi
  fi
  # Reap it when this shell started it; a no-op otherwise.
  [ -n "$pid" ] && wait "$pid" 2>/dev/null || true
  rm -f "$dir/kafka.pid"
  return 0
}

# kafka_restart [DIR]: stops the broker of DIR and starts it again on the same ports with
# the same data, then waits until it is ready.
kafka_restart() {
  local dir
  dir=$(_kafka_dir "${1:-}") || return 1
  [ -f "$dir/kafka.env" ] || { log "$dir holds no Kafka broker (no kafka.env)"; return 1; }
  kafka_stop "$dir"
  _kafka_launch "$dir"
}
