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

# The browser tests drive Debian's Chromium through chromedriver (and need a CJK
# font for the screenshots to show the pages' Chinese).
if ! command -v chromedriver >/dev/null 2>&1 || [ ! -d /usr/share/fonts/truetype/wqy ]; then
  if [ "$(id -u)" = 0 ]; then
    echo "test.sh: installing Debian's chromium, chromium-driver and a CJK font for the browser tests" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y -q chromium chromium-driver fonts-wqy-microhei >/dev/null 2>&1 \
      || { apt-get update -q >/dev/null && apt-get install -y -q chromium chromium-driver fonts-wqy-microhei >/dev/null; }
  else
    echo "test.sh: chromium-driver is missing; the browser tests will fail (install chromium and chromium-driver)" >&2
  fi
fi

# The feed tests, the end-to-end test and the fault tests also run on NATS JetStream:
# they start their own nats-server (Debian's package, installed here when missing).
deploy/local/nats.sh install >/dev/null

cargo build --workspace --bins
if cargo nextest --version >/dev/null 2>&1; then
  cargo nextest run --workspace --no-fail-fast
else
  echo "test.sh: cargo-nextest not found; running cargo test" >&2
  cargo test --workspace --no-fail-fast
fi
deploy/tools/buf.sh lint
deploy/helm/check.sh
