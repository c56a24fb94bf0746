#!/usr/bin/env bash
# A throwaway three-master Redis Cluster for the tests, every file of it (nodes-*.conf, logs, pids)
# in one directory of its own.
#
#   scripts/redis-cluster.sh start <dir> [<pid>]  prints the nodes, `127.0.0.1:7101,127.0.0.1:7102,...`
#   scripts/redis-cluster.sh stop <dir>           stops the nodes and removes <dir>; safe to repeat
#
# `start` takes the first free ports of REDIS_CLUSTER_PORTS (default 7101-7120; each node also
# needs its bus port, +10000), waits for `cluster_state:ok` on every node (and, with
# REDIS_CLUSTER_REPLICAS=1, for each replica's link to its master), and fails with the nodes' logs
# after a deadline. With <pid>, a watchdog stops the cluster once that process is gone, so a
# killed test run leaves no server behind. The recipe is ecosystem-contracts.md §5.
set -euo pipefail

STEP_S=30 # the most any one wait may take: the servers' startup, `--cluster create`, cluster_state:ok
REPLICAS=${REDIS_CLUSTER_REPLICAS:-0} # per master; three masters is the least `--cluster create` takes
NODES=$((3 * (1 + REPLICAS)))
here=$(cd "$(dirname "$0")" && pwd)

die() {
  echo "redis-cluster: $*" >&2
  exit 1
}

listening() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# Runs "$@" every 0.1 s until it succeeds, fails with status 2 (for good), or STEP_S have passed.
wait_for() {
  local what=$1 deadline=$((SECONDS + STEP_S)) status
  shift
  while true; do
    status=0
    "$@" >/dev/null || status=$?
    ((status != 0)) || return 0
    ((status != 2)) || return 1
    if ((SECONDS >= deadline)); then
      echo "redis-cluster: $what: not within ${STEP_S}s" >&2
      return 1
    fi
    sleep 0.1
  done
}

# A dead daemon stays a zombie until PID 1 reaps it, which may take seconds: that counts as gone.
alive() { [[ "$(ps -o stat= -p "$1" 2>/dev/null)" =~ ^[^Z] ]]; }

# The node answers PING; a node that exited stops the wait at once.
node_up() {
  alive "$2" || {
    echo "redis-cluster: redis-server on port $1 exited while starting" >&2
    return 2
  }
  timeout 2 redis-cli -p "$1" ping >/dev/null 2>&1
}

cluster_ok() { timeout 2 redis-cli -p "$1" cluster info 2>/dev/null | grep -q '^cluster_state:ok'; }

# A master, or a replica whose link to its master is up and synced.
replica_synced() {
  local info
  info=$(timeout 2 redis-cli -p "$1" info replication 2>/dev/null) || return 1
  grep -q '^role:master' <<<"$info" || grep -q '^master_link_status:up' <<<"$info"
}

# The first NODES ports of the range that are free together with their bus ports.
free_ports() {
  local range=${REDIS_CLUSTER_PORTS:-7101-7120} found=() port
  for port in $(seq "${range%-*}" "${range#*-}"); do
    listening "$port" || listening $((port + 10000)) || found+=("$port")
    ((${#found[@]} < NODES)) || break
  done
  ((${#found[@]} == NODES)) || die "fewer than $NODES free ports (and bus ports +10000) in $range"
  echo "${found[@]}"
}

logs() {
  local log
  for log in "$1"/*.log; do
    [ -f "$log" ] || continue
    echo "----- $log (last 40 lines)" >&2
    tail -n 40 "$log" >&2
  done
}

start() {
  local dir=$1 owner=${2:-} ports port
  command -v redis-server >/dev/null || die "redis-server is not on the PATH"
  [ ! -e "$dir/ports" ] || die "$dir already holds a cluster; stop it first"
  mkdir -p "$dir"
  dir=$(cd "$dir" && pwd)
  # Choosing ports and binding them is one step under a lock, so two runs never pick the same ones.
  exec 9>"${TMPDIR:-/tmp}/koa-session-kit-redis-cluster.lock"
  timeout "$STEP_S" flock 9 || die "another run held the port lock for ${STEP_S}s"
  ports=$(free_ports)
  echo "$ports" >"$dir/ports"
  if [ -n "$owner" ]; then
    # Not in this script's process group, so it outlives a Ctrl-C of the run it guards.
    KOA_SESSION_KIT_WATCHDOG=1 setsid bash -c \
      'while kill -0 "$1" 2>/dev/null && [ -d "$2" ]; do sleep 1; done; [ -d "$2" ] && "$3" stop "$2"' \
      watchdog "$owner" "$dir" "$here/redis-cluster.sh" </dev/null >/dev/null 2>&1 9>&- &
    echo $! >"$dir/watchdog.pid"
  fi
  # In the background rather than --daemonize, so the pid is known at once and a node that dies
  # while starting (a bad nodes-*.conf, a port taken meanwhile) fails the start without waiting.
  for port in $ports; do
    redis-server --port "$port" --bind 127.0.0.1 --cluster-enabled yes --cluster-config-file "nodes-$port.conf" \
      --cluster-node-timeout 2000 --save '' --appendonly no --dir "$dir" --logfile "$dir/$port.log" \
      </dev/null >/dev/null 2>&1 9>&- &
    echo $! >"$dir/$port.pid"
  done
  for port in $ports; do
    wait_for "redis-server on port $port" node_up "$port" "$(cat "$dir/$port.pid")" || fail "$dir"
  done
  flock -u 9
  local addresses=()
  for port in $ports; do addresses+=("127.0.0.1:$port"); done
  timeout "$STEP_S" redis-cli --cluster create "${addresses[@]}" --cluster-replicas "$REPLICAS" --cluster-yes >"$dir/create.log" 2>&1 ||
    {
      cat "$dir/create.log" >&2
      fail "$dir" "redis-cli --cluster create failed"
    }
  for port in $ports; do
    wait_for "cluster_state:ok on port $port" cluster_ok "$port" || fail "$dir"
    wait_for "replication on port $port" replica_synced "$port" || fail "$dir"
  done
  local IFS=,
  echo "${addresses[*]}"
}

fail() {
  local dir=$1
  shift
  [ $# -eq 0 ] || echo "redis-cluster: $*" >&2
  logs "$dir"
  stop "$dir"
  exit 1
}

# Ends each node by its pid file: SHUTDOWN NOSAVE, then SIGKILL after a deadline.
stop() {
  local dir=$1 pidfile pid deadline
  [ -d "$dir" ] || return 0
  for pidfile in "$dir"/*.pid; do
    [ -f "$pidfile" ] || continue
    pid=$(cat "$pidfile")
    if [ "$(basename "$pidfile")" = watchdog.pid ]; then
      [ -n "${KOA_SESSION_KIT_WATCHDOG:-}" ] || kill "$pid" 2>/dev/null || true
      continue
    fi
    timeout 2 redis-cli -p "$(basename "$pidfile" .pid)" shutdown nosave >/dev/null 2>&1 || true
    deadline=$((SECONDS + 5))
    while alive "$pid" && ((SECONDS < deadline)); do sleep 0.05; done
    if alive "$pid"; then kill -9 "$pid"; fi
  done
  rm -rf "$dir"
}

case "${1:-}" in
  start) start "${2:?usage: $0 start <dir> [<pid>]}" "${3:-}" ;;
  stop) stop "${2:?usage: $0 stop <dir>}" ;;
  *) die "usage: $0 start <dir> [<pid>] | stop <dir>" ;;
esac
