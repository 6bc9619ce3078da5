#!/usr/bin/env bash
# Runs the whole system as local processes with the same XIAOPU_* environment the
# Helm chart sets, so what runs here is what runs on Kubernetes.
#
#   services.sh up      build, start PostgreSQL and every service, wait until healthy
#   services.sh down    stop every service started here and the PostgreSQL cluster
#   services.sh env     print the shell exports that point the CLI at the system
#
# FEED=jetstream (`make run FEED=jetstream`) carries the events between services on
# NATS JetStream, on a nats-server started here (deploy/local/nats.sh), instead of
# each producer's WatchEvents stream (FEED=outbox, the default).
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
state="$root/target/local"
bin="$root/target/debug"
# name:port, in start order (a service's upstreams start before it).
services=(eligibility:50051 storefront:50052 attribution:50053 settlement:50054 web:8080)
log() { echo "services.sh: $*" >&2; }
feed=${FEED:-outbox}
case "$feed" in
  outbox | jetstream) ;;
  *) log "FEED must be outbox or jetstream, not $feed"; exit 2 ;;
esac

# The upstream URLs a service is configured with (as the Helm chart sets them).
upstream_env() {
  case "$1" in
    storefront) echo "XIAOPU_STOREFRONT__ELIGIBILITY__URL=http://127.0.0.1:$(cat "$state/eligibility.port")" ;;
    attribution) echo "XIAOPU_ATTRIBUTION__STOREFRONT__URL=http://127.0.0.1:$(cat "$state/storefront.port")" ;;
    # Locally the after-sale hold is zero and the sweep frequent, so the demo's
    # money becomes settleable at once instead of after 7 days; webhooks may go to a
    # receiver on this machine.
    settlement) echo "XIAOPU_SETTLEMENT__ATTRIBUTION__URL=http://127.0.0.1:$(cat "$state/attribution.port")" \
                     "XIAOPU_SETTLEMENT__HOLD_HOURS=${XIAOPU_SETTLEMENT__HOLD_HOURS:-0}" \
                     "XIAOPU_SETTLEMENT__SWEEP_INTERVAL_MS=${XIAOPU_SETTLEMENT__SWEEP_INTERVAL_MS:-1000}" \
                     "XIAOPU_SETTLEMENT__PAYEE_KEY_PATH=$(payee_key)" \
                     "XIAOPU_SETTLEMENT__WEBHOOK_ALLOW_PRIVATE_ADDRESSES=${XIAOPU_SETTLEMENT__WEBHOOK_ALLOW_PRIVATE_ADDRESSES:-true}" ;;
    # The web front calls all four services; locally it serves plain HTTP and offers the
    # development sign-in (console, promoter app, supplier portal).
    web) echo "XIAOPU_WEB__ELIGIBILITY__URL=http://127.0.0.1:$(cat "$state/eligibility.port")" \
              "XIAOPU_WEB__STOREFRONT__URL=http://127.0.0.1:$(cat "$state/storefront.port")" \
              "XIAOPU_WEB__ATTRIBUTION__URL=http://127.0.0.1:$(cat "$state/attribution.port")" \
              "XIAOPU_WEB__SETTLEMENT__URL=http://127.0.0.1:$(cat "$state/settlement.port")" \
              "XIAOPU_WEB__DEV_SIGN_IN=true" "XIAOPU_WEB__SECURE_COOKIES=false" ;;
  esac
}

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

secret() {
  mkdir -p "$state"
  if [ ! -s "$state/secret" ]; then
    head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$state/secret"
    chmod 600 "$state/secret"
  fi
  cat "$state/secret"
}

# The key payees' details are sealed with: kept across runs (like a Secret), or
# the profiles already stored would no longer open.
payee_key() {
  mkdir -p "$state"
  if [ ! -s "$state/payee.key" ]; then
    (umask 077 && head -c 32 /dev/urandom | base64 >"$state/payee.key")
  fi
  echo "$state/payee.key"
}

write_env() {
  {
    echo "export XIAOPU_AUTH__SECRET=$(secret)"
    for entry in "${services[@]}"; do
      name=${entry%%:*}
      port=$(cat "$state/$name.port")
      echo "export XIAOPU_$(echo "$name" | tr a-z A-Z)_URL=http://127.0.0.1:$port"
    done
  } >"$state/env"
}

up() {
  log "building the services and the CLI"
  cargo build --quiet --bins
  admin=$(deploy/local/postgres.sh start run)
  mkdir -p "$state/logs"
  # The feed's transport, as the chart's feed.transport sets it.
  feed_env=("XIAOPU_FEED__TRANSPORT=$feed")
  if [ "$feed" = jetstream ]; then
    feed_env+=("XIAOPU_FEED__NATS__URL=$(deploy/local/nats.sh start run)")
  fi
  if [ -f "$state/feed" ] && [ "$(cat "$state/feed")" != "$feed" ] && [ -f "$state/eligibility.pid" ] \
     && kill -0 "$(cat "$state/eligibility.pid")" 2>/dev/null; then
    log "the running system uses FEED=$(cat "$state/feed"); run \`make down\` first to switch to FEED=$feed"
    exit 1
  fi
  echo "$feed" >"$state/feed"
  export XIAOPU_AUTH__SECRET
  XIAOPU_AUTH__SECRET=$(secret)
  for entry in "${services[@]}"; do
    name=${entry%%:*}
    port=${entry##*:}
    pidfile="$state/$name.pid"
    if [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then
      log "$name is already running (pid $(cat "$pidfile"))"
      continue
    fi
    # Each service has a database of its own; the web front has none.
    db="xiaopu_$name"
    if [ "$name" != web ]; then
      psql -qAt "$admin" -c "SELECT 1 FROM pg_database WHERE datname = '$db'" | grep -q 1 \
        || psql -q "$admin" -c "CREATE DATABASE $db" >/dev/null
    fi
    # A port can look free and still be taken (an outgoing connection may hold it):
    # if the service cannot bind, move on to the next candidate.
    for attempt in 1 2 3 4 5; do
      while ! port_free "$port"; do port=$((port + 10)); done
      # shellcheck disable=SC2046
      env $(upstream_env "$name") "${feed_env[@]}" \
        XIAOPU_DATABASE__URL="${admin%/*}/$db" \
        XIAOPU_SERVER__LISTEN_ADDR="127.0.0.1:$port" \
        XIAOPU_TELEMETRY__LOG_FORMAT=json \
        nohup "$bin/xiaopu-$name" serve >"$state/logs/$name.log" 2>&1 &
      pid=$!
      # Wait until it listens (after its migrations) or dies.
      for _ in $(seq 1 600); do
        kill -0 "$pid" 2>/dev/null || break
        (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
        sleep 0.1
      done
      kill -0 "$pid" 2>/dev/null && break
      grep -q "cannot listen" "$state/logs/$name.log" || { log "$name exited; see target/local/logs/$name.log"; exit 1; }
      log "$name could not listen on $port; trying another port"
      port=$((port + 10))
      [ "$attempt" = 5 ] && { log "$name would not start; see target/local/logs/$name.log"; exit 1; }
    done
    echo "$pid" >"$pidfile"
    echo "$port" >"$state/$name.port"
    log "started $name on 127.0.0.1:$port (pid $pid, log target/local/logs/$name.log)"
  done
  write_env
  # shellcheck disable=SC1091
  . "$state/env"
  "$bin/xiaopu" health --wait 60 >/dev/null || { log "services did not become healthy; see target/local/logs"; "$bin/xiaopu" health || true; exit 1; }
  log "all services are SERVING (events between them: $feed)"
}

down() {
  # Stop in reverse order: a service before the upstreams it follows.
  for ((i = ${#services[@]} - 1; i >= 0; i--)); do
    name=${services[i]%%:*}
    pidfile="$state/$name.pid"
    [ -f "$pidfile" ] || continue
    pid=$(cat "$pidfile")
    if kill -0 "$pid" 2>/dev/null; then
      kill -TERM "$pid"
      for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      kill -0 "$pid" 2>/dev/null && kill -KILL "$pid"
      log "stopped $name"
    fi
    rm -f "$pidfile"
  done
  deploy/local/postgres.sh stop run
  deploy/local/nats.sh stop run
}

case "${1:-}" in
  up) up ;;
  down) down ;;
  env) write_env; cat "$state/env" ;;
  *) echo "usage: services.sh up|down|env" >&2; exit 2 ;;
esac
