# Sourced by the scripts that play users against the running system with the
# `xiaopu` CLI (demo.sh, use-system.sh). Expects `root` to be set.
# shellcheck shell=bash disable=SC2034
# shellcheck disable=SC1091
. "$root/target/local/env"
xiaopu="$root/target/debug/xiaopu"

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
show() { printf '$ xiaopu %s\n' "$*"; "$xiaopu" "$@"; }
# Runs quietly and prints one field of the answer (for the ids the story needs).
get() { local field=$1; shift; "$xiaopu" --field "$field" "$@"; }
refused() { printf '$ xiaopu %s\n' "$*"; if "$xiaopu" "$@"; then echo "unexpected: that should have been refused" >&2; exit 1; fi; }
# Waits (up to 5 s) until the shop's page says its status is $2 (the storefront
# follows eligibility's feed).
shop_becomes() {
  for _ in $(seq 1 50); do
    [ "$(get status --as service:web promoter page --shop "$1")" = "$2" ] && return 0
    sleep 0.1
  done
}
# Pays an order through a share link: a click, then the payment (retried until
# attribution, which follows the storefront's feed, knows the link).
# Usage: buy_through CODE BUYER ORDER LINE:PRODUCT:SUPPLIER:AMOUNT…
buy_through() {
  local code=$1 buyer=$2 order=$3; shift 3
  local lines=()
  for line in "$@"; do lines+=(--line "$line"); done
  "$xiaopu" --as service:link-redirector orders click --code "$code" --visitor "$buyer" >/dev/null
  for _ in $(seq 1 50); do
    "$xiaopu" --as service:order-system orders paid --order "$order" --buyer "$buyer" "${lines[@]}" >/dev/null 2>&1 && return 0
    sleep 0.2
  done
  echo "the payment of $order was never accepted" >&2
  return 1
}
# Finance releases the lines a risk rule holds of promoter $1, noting $2 (the demo's
# buyers pay seconds after clicking, which the fast-click rule holds for review);
# other promoters' holds are left to finance.
release_held() {
  local line promoter
  while read -r line promoter; do
    [ "$promoter" = "$1" ] || continue
    "$xiaopu" --as finance:fiona risk release --line "$line" --note "$2" >/dev/null
  done < <(paste -d ' ' <(get 'holds.*.line.line_id' --as finance:fiona risk holds) \
                        <(get 'holds.*.line.promoter_id' --as finance:fiona risk holds))
}
# Sets `from` and `to` to the period a close may take now: from where the last
# closed period ended (a day ago on a fresh system) to this instant — a period must
# have ended, and never share time with a closed one. Waits a moment first, so what
# just became settleable lies inside it.
period_to_now() {
  sleep 1
  from=$(get next_from --as finance:fiona finance periods 2>/dev/null) || from=$(date -u -d '-1 day' +%Y-%m-%dT%H:%M:%SZ)
  to=$(date -u +%Y-%m-%dT%H:%M:%S.%NZ)
}
# Waits (up to 10 s) until the promoter has settleable money (the hold is zero
# locally and settlement sweeps every second).
settleable_for() {
  for _ in $(seq 1 50); do
    [ "$(get settleable.minor_units --as "promoter:$1" promoter earnings --promoter "$1" 2>/dev/null)" != "" ] && return 0
    sleep 0.2
  done
  echo "$1 has nothing settleable after 10 s" >&2
  return 1
}
