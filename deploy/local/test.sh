#!/usr/bin/env bash
# `make test`: starts a throwaway PostgreSQL, builds the service binaries (the
# end-to-end, contract and fault tests run them as processes), runs every test of the
# workspace in parallel, checks the protos and the Helm chart, and stops what it
# started.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"

XIAOPU_TEST_DATABASE_URL=$(deploy/local/postgres.sh start test)
export XIAOPU_TEST_DATABASE_URL
trap 'deploy/local/postgres.sh stop test' EXIT

cargo build --workspace --bins
if cargo nextest --version >/dev/null 2>&1; then
  cargo nextest run --workspace --no-fail-fast
else
  echo "test.sh: cargo-nextest not found; running cargo test" >&2
  cargo test --workspace --no-fail-fast
fi
deploy/tools/buf.sh lint
deploy/helm/check.sh
