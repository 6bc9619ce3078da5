#!/usr/bin/env bash
# Uses the running system as its users would between two demos, leaving the states
# a real database reaches: a promoter who owes money back (a refund after payout),
# a payout line the bank failed (re-issued in the next batch) and a suspended
# promoter. CI plays the demo, this, then the demo again: `make run` must work on a
# system that has been used, not only on a fresh one.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
# shellcheck source=deploy/local/cli-lib.sh
. "$root/deploy/local/cli-lib.sh"
run=$(date +%s)
dora="dora-$run" eve="eve-$run" supplier="jade-$run"

say "Two promoters sell a supplier's jade bracelet"
bracelet=$(get product.product_id --as "supplier:$supplier" supplier publish --title "和田玉手镯" --price 59900 --category jewellery)
"$xiaopu" --as "supplier:$supplier" supplier set-rate --product "$bracelet" --bps 1000 >/dev/null
codes=()
for promoter in "$dora" "$eve"; do
  "$xiaopu" --as service:credit-bureau eligibility record-score --person "$promoter" --score 720 --source zhima >/dev/null
  "$xiaopu" --as "promoter:$promoter" promoter payee set --name 多拉 --method bank-card \
    --account 6222020200112233445 --bank 中国工商银行 >/dev/null
  shop=$(get shop.shop_id --as "promoter:$promoter" promoter open-shop --name "$promoter 的玉器")
  listing=$(get listing.listing_id --as "promoter:$promoter" promoter add --shop "$shop" --product "$bracelet")
  codes+=("$(get share_link.code --as "promoter:$promoter" promoter link --shop "$shop" --listing "$listing" --channel wechat)")
done
buy_through "${codes[0]}" "buyer-d-$run" "order-d-$run" "line-d-$run:$bracelet:$supplier:59900"
buy_through "${codes[1]}" "buyer-e-$run" "order-e-$run" "line-e-$run:$bracelet:$supplier:59900"
release_held "$dora" "checked: regular buyer"
release_held "$eve" "checked: regular buyer"
"$xiaopu" --as service:order-system orders confirm --order "order-d-$run" >/dev/null
"$xiaopu" --as service:order-system orders confirm --order "order-e-$run" >/dev/null
settleable_for "$dora"
settleable_for "$eve"

say "Finance closes and approves a batch; Dora is paid, Eve's bank refuses"
period_to_now
batch=$(get batch.batch_id --as finance:fiona finance close --from "$from" --to "$to")
"$xiaopu" --as finance:gao finance approve --batch "$batch" >/dev/null
"$xiaopu" --as finance:gao finance export --batch "$batch" --out "$root/target/local/batch-$run.csv" 2>/dev/null
dora_line=$(get 'lines.0.batch_line_id' --as finance:gao finance lines --batch "$batch" --promoter "$dora")
eve_line=$(get 'lines.0.batch_line_id' --as finance:gao finance lines --batch "$batch" --promoter "$eve")
show --as finance:gao finance pay --line "$dora_line" --reference "ICBC-$run" --field line.status
show --as finance:gao finance fail --line "$eve_line" --reason "account closed" --field line.status

say "Dora's buyer returns the bracelet after the payout: Dora owes the commission back"
show --as service:order-system orders refund --order "order-d-$run" --line "line-d-$run" --amount 59900
for _ in $(seq 1 50); do
  [ "$(get clawbacks_owed.minor_units --as "promoter:$dora" promoter earnings --promoter "$dora" 2>/dev/null)" != "" ] && break
  sleep 0.2
done
show --as "promoter:$dora" promoter earnings --promoter "$dora"

say "Dora's credit score falls: she is suspended"
show --as service:credit-bureau eligibility record-score --person "$dora" --score 600 --source zhima
