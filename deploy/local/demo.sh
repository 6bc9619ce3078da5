#!/usr/bin/env bash
# The narrated demo `make run` plays against the running system, as its users would
# with the `xiaopu` CLI.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
# shellcheck disable=SC1091
. "$root/target/local/env"
xiaopu="$root/target/debug/xiaopu"
run_id=$(date +%s)

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
show() { printf '$ xiaopu %s\n' "$*"; "$xiaopu" "$@"; }

say "Eligibility: only a credit score above 700 opens a mini-shop (DOMAIN.md rule 1)"
say "The credit bureau reports Alice at 720: she is eligible"
show --as service:credit-bureau eligibility record-score --person "alice-$run_id" --score 720 --source zhima
say "Bob scores 690: refused, and told why"
show --as service:credit-bureau eligibility record-score --person "bob-$run_id" --score 690 --source zhima
say "Bob asks for himself (a promoter sees only their own status)"
show --as "promoter:bob-$run_id" eligibility check --person "bob-$run_id"
say "Later Alice's score falls to 650: her promoter status is suspended"
show --as service:credit-bureau eligibility record-score --person "alice-$run_id" --score 650 --source zhima
say "Alice's decision history: every decision with its evidence and rule"
show --as "promoter:alice-$run_id" eligibility decisions --person "alice-$run_id"
say "Bob may not read Alice's status"
if "$xiaopu" --as "promoter:bob-$run_id" eligibility status --person "alice-$run_id"; then
  echo "unexpected: Bob read Alice's status" >&2; exit 1
fi
