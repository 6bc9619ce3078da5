#!/usr/bin/env bash
# Regenerates each service's `.sqlx` query data (what lets sqlx check queries at
# compile time without a database): a scratch database per service with the feed's
# and the service's migrations applied, then `cargo sqlx prepare` in the crate.
# Only lib and bin targets are checked: tests use no query macros, and their
# dev-dependencies must not be compiled against this service's database.
# Needs sqlx-cli: cargo install sqlx-cli --no-default-features --features postgres,rustls
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
  sqlx migrate run --database-url "$url" --source crates/common/migrations --ignore-missing >/dev/null
  sqlx migrate run --database-url "$url" --source "services/$svc/migrations" --ignore-missing >/dev/null
  (cd "services/$svc" && DATABASE_URL="$url" SQLX_OFFLINE=false cargo sqlx prepare)
done
