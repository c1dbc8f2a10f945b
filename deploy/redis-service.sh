#!/usr/bin/env bash
# Redis for sweep on a cluster's head (ray-cluster.yaml runs `start` on every `ray up`):
#   - one supervisor restarts redis-server whenever it exits (crash, OOM kill, `kill`);
#   - append-only data in SWEEP_REDIS_DIR, a volume that outlives the head (`ray down`);
#   - loopback only, a generated password in a user-only file, never evicts.
# `start` is idempotent: a running service is left alone, so re-running `ray up` does not
# interrupt the sweeps that use it.
#
# usage: redis-service.sh start|stop|status
# env:   SWEEP_REDIS_DIR  data folder (default /mnt/sweep/redis)
#        SWEEP_REDIS_PORT port on 127.0.0.1 (default 6380)
#        SWEEP_STATE      password, config, log, pid (default ~/.sweep, on the head only)
set -euo pipefail
dir=${SWEEP_REDIS_DIR:-/mnt/sweep/redis}
port=${SWEEP_REDIS_PORT:-6380}
state=${SWEEP_STATE:-$HOME/.sweep}
password_file=$state/redis.password
conf=$state/redis.conf
pidfile=$state/redis-supervisor.pid
log=$state/redis-service.log

answers() {
  [ -s "$password_file" ] &&
    redis-cli -p "$port" -a "$(cat "$password_file")" --no-auth-warning ping 2>/dev/null |
    grep -q PONG
}
supervised() { [ -s "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; }

case "${1:-start}" in
start)
  mkdir -p "$state" "$dir"
  chmod 700 "$state"
  if [ ! -s "$password_file" ]; then
    (umask 077 && python3 -c 'import secrets; print(secrets.token_hex(24))' >"$password_file")
  fi
  if supervised; then
    echo "redis-service: already running (supervisor $(cat "$pidfile"))"
    exit 0
  fi
  (umask 077 && printf '%s\n' \
    "bind 127.0.0.1" "port $port" "protected-mode yes" "dir $dir" \
    "appendonly yes" "appendfsync everysec" "maxmemory-policy noeviction" \
    "daemonize no" "requirepass $(cat "$password_file")" >"$conf")
  # the supervisor leads its own session: `stop` ends it and its redis-server together
  setsid bash -c '
    while :; do
      redis-server "$1"
      echo "$(date -u +%FT%TZ) redis-server exited with $?; restarting in 1 s"
      sleep 1
    done' redis-supervisor "$conf" >>"$log" 2>&1 </dev/null &
  echo $! >"$pidfile"
  for _ in $(seq 100); do
    if answers; then
      echo "redis-service: started on 127.0.0.1:$port, data in $dir"
      exit 0
    fi
    sleep 0.1
  done
  echo "redis-service: redis did not answer on 127.0.0.1:$port; see $log" >&2
  exit 1
  ;;
stop)
  if supervised; then
    kill -- "-$(cat "$pidfile")" 2>/dev/null || kill "$(cat "$pidfile")"
  fi
  rm -f "$pidfile"
  ;;
status)
  if supervised && answers; then
    echo "redis-service: running on 127.0.0.1:$port (supervisor $(cat "$pidfile"))"
  else
    echo "redis-service: not running" >&2
    exit 3
  fi
  ;;
*)
  echo "usage: $0 start|stop|status" >&2
  exit 2
  ;;
esac
