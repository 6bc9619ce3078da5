#!/usr/bin/env bash
# `make bench`: release binaries against their own PostgreSQL cluster (durable
# settings, unlike the test cluster), then the table with same-run baselines.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
cargo build --release --bins
XIAOPU_BENCH_DATABASE_URL=$(deploy/local/postgres.sh start bench)
export XIAOPU_BENCH_DATABASE_URL
trap 'deploy/local/postgres.sh stop bench' EXIT
echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
target/release/xiaopu-bench run "$@"
