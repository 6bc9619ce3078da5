#!/usr/bin/env bash
# Regenerates each service's `.sqlx` query data (what lets sqlx check queries at
# compile time without a database): a scratch database per service with the feed's
# and the service's migrations applied, then the service's lib and binaries built
# against it with SQLX_OFFLINE_DIR set, which makes sqlx's macros write the data of
# every query they check. Tests use no query macros, so only lib and bin targets are
# built. Needs only psql and cargo (no sqlx-cli).
#
#   sqlx-prepare.sh                 every service
#   sqlx-prepare.sh settlement …    only these
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
admin=$(deploy/local/postgres.sh start dev)
services=${*:-$(ls services)}
for svc in $services; do
  [ -d "services/$svc/migrations" ] || continue
  db="xiaopu_prepare_$svc"
  url="${admin%/*}/$db"
  psql -q "$admin" -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" -c "CREATE DATABASE $db"
  for migration in crates/common/migrations/*.sql "services/$svc"/migrations/*.sql; do
    psql -q -v ON_ERROR_STOP=1 "$url" -f "$migration" >/dev/null
  done
  rm -f "services/$svc/.sqlx"/query-*.json
  mkdir -p "services/$svc/.sqlx"
  # Only this service is rebuilt (touched: the macros must run even when nothing
  # changed since the last build).
  find "services/$svc/src" -name '*.rs' -exec touch {} +
  DATABASE_URL="$url" SQLX_OFFLINE=false SQLX_OFFLINE_DIR="$root/services/$svc/.sqlx" \
    cargo build --quiet -p "xiaopu-$svc" --lib --bins
  echo "sqlx-prepare.sh: $(ls "services/$svc/.sqlx" | wc -l) queries of $svc checked and saved"
done
