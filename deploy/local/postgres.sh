#!/usr/bin/env bash
# Finds or starts the PostgreSQL that `make run`, `make test` and `make bench` use.
#
#   postgres.sh start <name>   prints a superuser URL; starts a throwaway cluster in
#                              target/pg-<name> on a free port unless DATABASE_URL is set
#   postgres.sh stop <name>    stops that cluster (never a server given by DATABASE_URL);
#                              a later start brings it back on the same port if free
#
# The cluster is initialised as the `postgres` user when run as root (initdb refuses
# root), and Debian's `postgresql` package is installed when the server is missing.
set -euo pipefail

cmd=${1:?usage: postgres.sh start|stop NAME}
name=${2:?usage: postgres.sh start|stop NAME}
root=$(cd "$(dirname "$0")/../.." && pwd)
dir="$root/target/pg-$name"
log() { echo "postgres.sh: $*" >&2; }

find_bindir() {
  local d
  for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -t/ -k5 -n -r); do
    [ -x "$d/initdb" ] && { echo "$d"; return 0; }
  done
  command -v initdb >/dev/null 2>&1 && { dirname "$(command -v initdb)"; return 0; }
  return 1
}

install_server() {
  if [ "$(id -u)" != 0 ]; then
    log "PostgreSQL server binaries are missing; install Debian's postgresql package (as root) or set DATABASE_URL"
    exit 1
  fi
  log "installing Debian's postgresql package"
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -q postgresql >/dev/null 2>&1 || { apt-get update -q >/dev/null && apt-get install -y -q postgresql >/dev/null; }
}

# Runs a command as the cluster's owner.
as_owner() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

# shellcheck disable=SC1091
. "$(dirname "$0")/ports.sh"

start() {
  if [ -n "${DATABASE_URL:-}" ]; then echo "$DATABASE_URL"; return 0; fi
  bindir=$(find_bindir) || { install_server; bindir=$(find_bindir); }
  if [ -f "$dir/url" ] && [ -f "$dir/data/postmaster.pid" ] && \
     "$bindir/pg_isready" -q -h 127.0.0.1 -p "$(cat "$dir/port")" 2>/dev/null; then
    cat "$dir/url"; return 0
  fi
  mkdir -p "$dir"
  [ "$(id -u)" = 0 ] && chown postgres:postgres "$dir"
  if [ ! -f "$dir/data/PG_VERSION" ]; then
    log "initialising a throwaway cluster in $dir"
    as_owner "$bindir/initdb" -D "$dir/data" -U xiaopu --auth=trust -E UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 \
      || as_owner "$bindir/initdb" -D "$dir/data" -U xiaopu --auth=trust -E UTF8 --no-locale >"$dir/initdb.log" 2>&1
  fi
  # Tests create hundreds of short-lived databases: durability buys nothing there.
  extra=""
  [ "$name" = test ] && extra="-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
  # The benchmark reads per-statement times to say where a figure's time goes.
  [ "$name" = bench ] && extra="-c shared_preload_libraries=pg_stat_statements -c pg_stat_statements.track=all"
  for attempt in 1 2 3 4 5; do
    # A restarted cluster takes its old port when it is free, so clients (and the
    # fault tests that stop and start it) find it where it was.
    if [ "$attempt" = 1 ] && [ -f "$dir/port" ] && ! (exec 3<>"/dev/tcp/127.0.0.1/$(cat "$dir/port")") 2>/dev/null; then
      port=$(cat "$dir/port")
    else
      port=$(free_port 15500)
    fi
    if as_owner "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
      -o "-p $port -c listen_addresses=127.0.0.1 -k $dir -c max_connections=400 -c shared_buffers=256MB $extra" \
      start >/dev/null; then
      break
    fi
    [ "$attempt" = 5 ] && { log "PostgreSQL would not start; see $dir/server.log"; exit 1; }
    log "port $port was taken; trying another"
  done
  echo "$port" >"$dir/port"
  echo "postgres://xiaopu@127.0.0.1:$port/postgres" >"$dir/url"
  log "PostgreSQL ($("$bindir/postgres" --version | awk '{print $3}')) on 127.0.0.1:$port, data in $dir"
  cat "$dir/url"
}

stop() {
  [ -f "$dir/data/postmaster.pid" ] || return 0
  bindir=$(find_bindir) || return 0
  as_owner "$bindir/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null && log "stopped the cluster in $dir"
}

case "$cmd" in
  start) start ;;
  stop) stop ;;
  *) log "unknown command $cmd"; exit 2 ;;
esac
