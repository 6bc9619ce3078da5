#!/usr/bin/env bash
# Runs buf (the npm package @bufbuild/buf), installing it once under target/tools.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
tools="$root/target/tools"
if [ ! -x "$tools/node_modules/.bin/buf" ]; then
  mkdir -p "$tools"
  (cd "$tools" && npm install --silent --no-audit --no-fund --no-save @bufbuild/buf@1 >/dev/null)
fi
cd "$root"
exec "$tools/node_modules/.bin/buf" "$@"
