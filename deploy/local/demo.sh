#!/usr/bin/env bash
# The narrated demo `make run` plays against the running system, as its users would
# with the `xiaopu` CLI.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
# shellcheck source=deploy/local/cli-lib.sh
. "$root/deploy/local/cli-lib.sh"
run=$(date +%s)
alice="alice-$run" bob="bob-$run" supplier="west-lake-tea-$run"

say "1. Eligibility: only a credit score above 700 opens a mini-shop"
say "The credit bureau reports Alice at 720: she is eligible"
show --as service:credit-bureau eligibility record-score --person "$alice" --score 720 --source zhima
say "Bob scores 690: refused, and told why"
show --as service:credit-bureau eligibility record-score --person "$bob" --score 690 --source zhima

say "2. A supplier publishes products and sets commission rates"
tea=$(get product.product_id --as "supplier:$supplier" supplier publish --title "西湖龙井 Longjing tea 250g" \
  --description "Pre-Qingming harvest" --price 19900 --category tea --image https://img.example/longjing.jpg)
pot=$(get product.product_id --as "supplier:$supplier" supplier publish --title "紫砂壶 Yixing teapot" \
  --price 38800 --category teaware --image https://img.example/yixing.jpg)
echo "published $tea and $pot"
show --as "supplier:$supplier" supplier set-rate --product "$tea" --bps 550
show --as "supplier:$supplier" supplier set-rate --product "$pot" --bps 1000

say "3. Alice browses the supply: current rate and commission per unit"
show --as "promoter:$alice" promoter search --query 茶 --page-size 5

say "4. Alice opens her mini-shop and lists both products with her reasons (推荐理由)"
shop=$(get shop.shop_id --as "promoter:$alice" promoter open-shop --name "Alice 的茶铺" --description "好茶好器")
echo "opened shop $shop"
listing=$(get listing.listing_id --as "promoter:$alice" promoter add --shop "$shop" --product "$tea" --reason "今年的明前茶，清香回甘")
get listing.listing_id --as "promoter:$alice" promoter add --shop "$shop" --product "$pot" --reason "泡绿茶不闷香" >/dev/null
say "She tells settlement where to pay her; it is sealed at rest and shown masked"
show --as "promoter:$alice" promoter payee set --name 艾丽丝 --method alipay --account 13912345678
say "She shares her shop in a WeChat group and the tea on Douyin"
shop_code=$(get share_link.code --as "promoter:$alice" promoter link --shop "$shop" --channel wechat)
echo "WeChat share code: $shop_code"
code=$(get share_link.code --as "promoter:$alice" promoter link --shop "$shop" --listing "$listing" --channel douyin)
say "The link redirector resolves the Douyin code $code"
show --as service:link-redirector promoter resolve --code "$code"
say "What a consumer sees: the shop page, no commission shown"
show --as service:web promoter page --shop "$shop"

say "5. Bob tries to open a shop: refused with the eligibility reason"
refused --as "promoter:$bob" promoter open-shop --name "Bob's bargains"

say "6. A buyer opens Alice's Douyin link, then pays for the tea (the order system reports both)"
buyer="buyer-$run"
buy_through "$code" "$buyer" "order-$run" "line-$run-1:$tea:$supplier:19900" "line-$run-2:$pot:$supplier:38800"
say "Alice sees the attributed lines (buyer masked) and why each is hers"
show --as "promoter:$alice" promoter orders
show --as "promoter:$alice" promoter explain --line "line-$run-1"
say "The buyer paid seconds after the first click: the fast-click risk rule holds both lines for review"
show --as "promoter:$alice" --field line.risk_rule promoter explain --line "line-$run-1"
say "Fiona (finance) looks and releases them; each decision is audited with her note"
release_held "$alice" "known buyer, order checked"
show --as "promoter:$alice" --field line.risk_state promoter explain --line "line-$run-1"
today=$(date -u +%Y-%m-%dT00:00:00Z) tomorrow=$(date -u -d '+1 day' +%Y-%m-%dT00:00:00Z)
say "What each of Alice's links brought today, and the lines the supplier is charged on"
show --as "promoter:$alice" promoter link-stats --from "$today" --to "$tomorrow"
show --as "supplier:$supplier" supplier lines --supplier "$supplier" --from "$today" --to "$tomorrow"
say "The buyer confirms receipt, then returns half of the teapot"
show --as service:order-system orders confirm --order "order-$run"
show --as service:order-system orders refund --order "order-$run" --line "line-$run-2" --amount 19400
show --as "promoter:$alice" --field line.commission promoter explain --line "line-$run-2"

say "7. Finance closes the period, a second user approves, the batch is exported and paid"
settleable_for "$alice"
period_to_now
batch=$(get batch.batch_id --as finance:fiona finance close --from "$from" --to "$to")
# The batch holds every promoter's payable balance, not only the demo's: the demo
# acts on Alice's line alone and leaves the rest to finance.
show --as finance:fiona finance lines --batch "$batch" --promoter "$alice"
promoters=$(get 'lines.*.promoter_id' --as finance:fiona finance lines --batch "$batch")
others=$(grep -cvx "$alice" <<<"$promoters" || true)
if [ "$others" -gt 0 ]; then
  echo "The batch also holds $others line(s) of other promoters, left to finance. All its lines by status:"
  get 'lines.*.status' --as finance:fiona finance lines --batch "$batch" | grep -v '^$' | sort | uniq -c
fi
say "Fiona may not approve her own batch (four eyes)"
refused --as finance:fiona finance approve --batch "$batch"
show --as finance:gao finance approve --batch "$batch" --field batch.status
say "Gao, the approver, exports the payout file (accounts in full, for the bank) and the detail file"
csv="$root/target/local/batch-$run.csv"
"$xiaopu" --as finance:gao finance export --batch "$batch" --out "$csv"
grep -e 付款明细号 -e "$alice" "$csv"
"$xiaopu" --as finance:gao finance export --batch "$batch" --file detail --out "$root/target/local/batch-$run-detail.csv"
grep -e 付款明细号 -e "$alice" "$root/target/local/batch-$run-detail.csv"
say "The bank's result file for Alice's line is imported; importing it again changes nothing"
results="$root/target/local/results-$run.csv"
echo "付款明细号,结果,银行流水号,失败原因" >"$results"
for line in $(get 'lines.*.batch_line_id' --as finance:gao finance lines --batch "$batch" --promoter "$alice" --status pending); do
  echo "$line,成功,ICBC-$run," >>"$results"
done
show --as finance:gao --field recorded finance import-results --batch "$batch" --file "$results"
show --as finance:gao --field unchanged finance import-results --batch "$batch" --file "$results"

say "Alice's statement: what she earned, was paid, and still has coming"
show --as "promoter:$alice" promoter earnings
say "Finance reconciles: attribution's lines vs the ledger vs the batches, line by line"
"$xiaopu" --as finance:gao finance reconcile --from "$from" --to "$to" >"$root/target/local/reconcile-$run.txt"
grep -E "^(lines_checked|clean)" "$root/target/local/reconcile-$run.txt"
show --as finance:gao finance verify

say "8. Later Alice's score falls to 650: she is suspended, and so is her shop"
show --as service:credit-bureau eligibility record-score --person "$alice" --score 650 --source zhima
shop_becomes "$shop" SHOP_STATUS_SUSPENDED
show --as service:web promoter page --shop "$shop"
say "Her links stop resolving for attribution; her earned money stays earned"
refused --as service:link-redirector promoter resolve --code "$code"

say "9. Her score recovers to 760: she is reinstated and her shop reopens"
show --as service:credit-bureau eligibility record-score --person "$alice" --score 760 --source zhima
shop_becomes "$shop" SHOP_STATUS_ACTIVE
show --as service:web --field status promoter page --shop "$shop"

web="${XIAOPU_WEB_URL:-http://127.0.0.1:8080}"
say "10. The web: what a buyer's phone opens, the promoter app, the supplier portal and the finance console"
echo "Alice's shop, as her WeChat link opens it:   $web/s/$shop_code"
echo "Its QR code, for a 朋友圈 poster:               $web/s/$shop_code/qr.svg"
echo "The tea, as her Douyin link opens it:          $web/s/$code"
echo "Alice's app (sign in as $alice; dev sign-in):  $web/app"
echo "The supplier portal (sign in as $supplier):    $web/supplier"
echo "The finance console (development sign-in on):  $web/console"
