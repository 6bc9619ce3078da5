#!/usr/bin/env bash
# Finds or starts the NATS server (JetStream) that `make run FEED=jetstream` uses; the
# tests start their own. Installs Debian's nats-server package when it is missing.
#
#   nats.sh install         installs nats-server if missing (as root), prints its path
#   nats.sh start <name>    prints a nats:// URL; starts `nats-server -js` on a free
#                           loopback port with its data in target/nats-<name>
#   nats.sh stop <name>     stops it
set -euo pipefail

cmd=${1:?usage: nats.sh install|start|stop [NAME]}
root=$(cd "$(dirname "$0")/../.." && pwd)
log() { echo "nats.sh: $*" >&2; }

binary() {
  command -v nats-server 2>/dev/null && return 0
  [ -x /usr/sbin/nats-server ] && { echo /usr/sbin/nats-server; return 0; }
  return 1
}

# shellcheck disable=SC1091
. "$(dirname "$0")/ports.sh"

install() {
  binary >/dev/null && return 0
  if [ "$(id -u)" != 0 ]; then
    log "nats-server is missing; install Debian's nats-server package (as root)"
    exit 1
  fi
  log "installing Debian's nats-server package"
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -q nats-server >/dev/null 2>&1 || { apt-get update -q >/dev/null && apt-get install -y -q nats-server >/dev/null; }
}

case "$cmd" in
  install)
    install
    binary
    ;;
  start)
    name=${2:?usage: nats.sh start NAME}
    dir="$root/target/nats-$name"
    install
    mkdir -p "$dir"
    if [ -f "$dir/pid" ] && kill -0 "$(cat "$dir/pid")" 2>/dev/null; then
      echo "nats://127.0.0.1:$(cat "$dir/port")"
      exit 0
    fi
    port=$(free_port 16500)
    "$(binary)" -js -a 127.0.0.1 -p "$port" -n "xiaopu-$name" -sd "$dir/data" >"$dir/nats.log" 2>&1 &
    echo $! >"$dir/pid"
    echo "$port" >"$dir/port"
    for _ in $(seq 1 50); do
      if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
        echo "nats://127.0.0.1:$port"
        exit 0
      fi
      sleep 0.1
    done
    log "nats-server did not start; see $dir/nats.log"
    exit 1
    ;;
  stop)
    name=${2:?usage: nats.sh stop NAME}
    dir="$root/target/nats-$name"
    if [ -f "$dir/pid" ]; then
      kill "$(cat "$dir/pid")" 2>/dev/null || true
      rm -f "$dir/pid"
    fi
    ;;
  *)
    log "unknown command $cmd (install, start or stop)"
    exit 2
    ;;
esac
