# Sourced by the scripts that start local servers (postgres.sh, nats.sh).
# shellcheck shell=bash

# A free loopback port among the 500 from $1: below the kernel's ephemeral range
# (32768+), so no outgoing connection can be holding the one picked; starting after
# a random offset spreads parallel runs.
free_port() {
  local base=$1 port offset=$((RANDOM % 500))
  for i in $(seq 0 499); do
    port=$((base + (offset + i) % 500))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then echo "$port"; return 0; fi
  done
  echo "no free port between $base and $((base + 499))" >&2
  exit 1
}
