//! `xiaopu promoter …`: browsing the supply, the mini-shop, listings and share links.
use clap::{Subcommand, ValueEnum};
use xiaopu_api::{
    attribution::{self as attr, attribution_service_client::AttributionServiceClient},
    settlement::{self as st, GetPromoterEarningsRequest, settlement_service_client::SettlementServiceClient},
    storefront::{self as pb, storefront_service_client::StorefrontServiceClient},
};

use crate::{Context, request_id, timestamp_arg};

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Sort {
    Rate,
    Newest,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Channel {
    Wechat,
    Moments,
    Douyin,
    Weibo,
    Xiaohongshu,
    Live,
    Other,
}

impl From<Channel> for pb::Channel {
    fn from(c: Channel) -> Self {
        match c {
            Channel::Wechat => pb::Channel::Wechat,
            Channel::Moments => pb::Channel::Moments,
            Channel::Douyin => pb::Channel::Douyin,
            Channel::Weibo => pb::Channel::Weibo,
            Channel::Xiaohongshu => pb::Channel::Xiaohongshu,
            Channel::Live => pb::Channel::Live,
            Channel::Other => pb::Channel::Other,
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum PromoterCommand {
    /// Browse the supply with current rates and commission per unit.
    Search {
        #[arg(long, default_value = "")]
        query: String,
        #[arg(long, default_value = "")]
        category: String,
        #[arg(long, default_value_t = 0)]
        min_bps: i32,
        #[arg(long, default_value_t = 0)]
        max_bps: i32,
        #[arg(long, value_enum, default_value = "rate")]
        sort: Sort,
        #[arg(long, default_value_t = 0)]
        page_size: i32,
        #[arg(long, default_value = "")]
        page_token: String,
    },
    /// Open your mini-shop (needs a credit score above the threshold).
    OpenShop {
        #[arg(long)]
        name: String,
        #[arg(long, default_value = "")]
        description: String,
    },
    /// Your shop.
    Shop,
    /// List a supplier product in your shop.
    Add {
        #[arg(long)]
        shop: String,
        #[arg(long)]
        product: String,
        /// Your recommendation reason (推荐理由).
        #[arg(long, default_value = "")]
        reason: String,
        /// 1-based; appends when omitted.
        #[arg(long, default_value_t = 0)]
        position: i32,
    },
    /// Edit a listing's recommendation reason.
    EditReason {
        #[arg(long)]
        listing: String,
        #[arg(long)]
        reason: String,
    },
    /// Put these listings first, in this order.
    Reorder {
        #[arg(long)]
        shop: String,
        #[arg(long = "listing", required = true)]
        listings: Vec<String>,
    },
    /// Remove a listing (its history stays).
    Remove {
        #[arg(long)]
        listing: String,
    },
    /// Your listings with rates and commission per unit.
    Listings {
        #[arg(long)]
        shop: String,
        #[arg(long, default_value_t = 0)]
        page_size: i32,
        #[arg(long, default_value = "")]
        page_token: String,
    },
    /// The shop page as a consumer sees it.
    Page {
        #[arg(long)]
        shop: String,
        #[arg(long, default_value_t = 0)]
        page_size: i32,
        #[arg(long, default_value = "")]
        page_token: String,
    },
    /// Create a share link for the whole shop or one listing.
    Link {
        #[arg(long)]
        shop: String,
        #[arg(long, default_value = "")]
        listing: String,
        #[arg(long, value_enum)]
        channel: Channel,
        #[arg(long)]
        request_id: Option<String>,
    },
    /// Create a promo code (口令) of your choosing, e.g. XIAOMEI88.
    PromoCode {
        #[arg(long)]
        shop: String,
        #[arg(long)]
        code: String,
        #[arg(long, default_value = "")]
        listing: String,
        #[arg(long, value_enum)]
        channel: Channel,
        #[arg(long)]
        request_id: Option<String>,
    },
    /// Your shop's share links and promo codes.
    Links {
        #[arg(long)]
        shop: String,
    },
    /// Revoke a share link.
    Revoke {
        #[arg(long)]
        code: String,
    },
    /// Resolve a share code as the link redirector does (service role).
    Resolve {
        #[arg(long)]
        code: String,
    },
    /// The order lines you earn on, newest first (buyers masked).
    Orders {
        /// Defaults to the caller (the token's subject).
        #[arg(long)]
        promoter: Option<String>,
        #[arg(long, default_value_t = 0)]
        page_size: i32,
        #[arg(long, default_value = "")]
        page_token: String,
    },
    /// Why an order line was attributed to you (or to nobody).
    Explain {
        #[arg(long)]
        line: String,
    },
    /// Your earnings by stage, clawbacks owed and payout history.
    Earnings {
        /// Defaults to the caller (the token's subject).
        #[arg(long)]
        promoter: Option<String>,
    },
    /// Clicks, orders and commission per share link and per channel for a period.
    LinkStats {
        /// Defaults to the caller (the token's subject).
        #[arg(long)]
        promoter: Option<String>,
        /// RFC 3339, inclusive.
        #[arg(long)]
        from: String,
        /// RFC 3339, exclusive.
        #[arg(long)]
        to: String,
    },
    /// Where your payouts go (set, or shown masked). Without one, your payouts are
    /// held (PAYEE_MISSING).
    #[command(subcommand)]
    Payee(PayeeCommand),
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Method {
    Alipay,
    WechatPay,
    BankCard,
}

#[derive(Debug, Subcommand)]
pub enum PayeeCommand {
    /// Set your payout profile.
    Set {
        /// Your legal name, as the account holds it.
        #[arg(long)]
        name: String,
        #[arg(long, value_enum)]
        method: Method,
        /// Alipay: mobile or e-mail; WeChat Pay: openid; bank card: the card number.
        #[arg(long)]
        account: String,
        /// The bank (开户行), for a bank card.
        #[arg(long, default_value = "")]
        bank: String,
    },
    /// Your payout profile, masked.
    Show,
}

/// The promoter named, or the caller.
fn caller_or(ctx: &Context, promoter: Option<String>) -> anyhow::Result<String> {
    promoter
        .or_else(|| ctx.connection.subject())
        .ok_or_else(|| anyhow::anyhow!("--promoter: not given, and no --as or token names the caller"))
}

pub async fn run(ctx: &Context, command: PromoterCommand) -> anyhow::Result<()> {
    // Channels connect lazily: building both costs nothing until one is used.
    let mut client = StorefrontServiceClient::new(ctx.connection.connect(&ctx.connection.storefront_url)?);
    let mut attribution = AttributionServiceClient::new(ctx.connection.connect(&ctx.connection.attribution_url)?);
    let mut settlement = SettlementServiceClient::new(ctx.connection.connect(&ctx.connection.settlement_url)?);
    let p = &ctx.printer;
    match command {
        PromoterCommand::Search { query, category, min_bps, max_bps, sort, page_size, page_token } => {
            let sort = match sort {
                Sort::Rate => pb::ProductSort::Rate,
                Sort::Newest => pb::ProductSort::Newest,
            };
            let request = pb::SearchProductsRequest {
                query,
                category,
                min_rate_bps: min_bps,
                max_rate_bps: max_bps,
                sort: sort.into(),
                page_size,
                page_token,
            };
            p.print(&client.search_products(request).await?.into_inner())
        }
        PromoterCommand::OpenShop { name, description } => {
            p.print(&client.open_shop(pb::OpenShopRequest { name, description }).await?.into_inner())
        }
        PromoterCommand::Shop => p.print(&client.get_my_shop(pb::GetMyShopRequest {}).await?.into_inner()),
        PromoterCommand::Add { shop, product, reason, position } => {
            let request =
                pb::AddListingRequest { shop_id: shop, product_id: product, recommendation_reason: reason, position };
            p.print(&client.add_listing(request).await?.into_inner())
        }
        PromoterCommand::EditReason { listing, reason } => {
            let request = pb::UpdateListingRequest { listing_id: listing, recommendation_reason: reason };
            p.print(&client.update_listing(request).await?.into_inner())
        }
        PromoterCommand::Reorder { shop, listings } => {
            let request = pb::ReorderListingsRequest { shop_id: shop, listing_ids: listings };
            p.print(&client.reorder_listings(request).await?.into_inner())
        }
        PromoterCommand::Remove { listing } => {
            p.print(&client.remove_listing(pb::RemoveListingRequest { listing_id: listing }).await?.into_inner())
        }
        PromoterCommand::Listings { shop, page_size, page_token } => {
            let request = pb::ListShopListingsRequest { shop_id: shop, page_size, page_token };
            p.print(&client.list_shop_listings(request).await?.into_inner())
        }
        PromoterCommand::Page { shop, page_size, page_token } => {
            let request = pb::GetShopPageRequest { shop_id: shop, page_size, page_token };
            p.print(&client.get_shop_page(request).await?.into_inner())
        }
        PromoterCommand::Link { shop, listing, channel, request_id: id } => {
            let request = pb::CreateShareLinkRequest {
                request_id: request_id(id),
                shop_id: shop,
                listing_id: listing,
                channel: pb::Channel::from(channel).into(),
            };
            p.print(&client.create_share_link(request).await?.into_inner())
        }
        PromoterCommand::PromoCode { shop, code, listing, channel, request_id: id } => {
            let request = pb::CreatePromoCodeRequest {
                request_id: request_id(id),
                shop_id: shop,
                code,
                listing_id: listing,
                channel: pb::Channel::from(channel).into(),
            };
            p.print(&client.create_promo_code(request).await?.into_inner())
        }
        PromoterCommand::Links { shop } => {
            let request = pb::ListShareLinksRequest { shop_id: shop, page_size: 0, page_token: String::new() };
            p.print(&client.list_share_links(request).await?.into_inner())
        }
        PromoterCommand::Revoke { code } => {
            p.print(&client.revoke_share_link(pb::RevokeShareLinkRequest { code }).await?.into_inner())
        }
        PromoterCommand::Resolve { code } => p.print(
            &client
                .resolve_share_code(pb::ResolveShareCodeRequest { code, visitor_key: String::new() })
                .await?
                .into_inner(),
        ),
        PromoterCommand::Orders { promoter, page_size, page_token } => {
            let promoter_id = caller_or(ctx, promoter)?;
            let request = attr::ListPromoterLinesRequest { promoter_id, page_size, page_token };
            p.print(&attribution.list_promoter_lines(request).await?.into_inner())
        }
        PromoterCommand::Explain { line } => {
            p.print(&attribution.explain_line(attr::ExplainLineRequest { line_id: line }).await?.into_inner())
        }
        PromoterCommand::LinkStats { promoter, from, to } => {
            let request = attr::GetLinkStatsRequest {
                promoter_id: caller_or(ctx, promoter)?,
                from: Some(timestamp_arg(&from)?),
                to: Some(timestamp_arg(&to)?),
            };
            p.print(&attribution.get_link_stats(request).await?.into_inner())
        }
        PromoterCommand::Earnings { promoter } => {
            let request = GetPromoterEarningsRequest { promoter_id: caller_or(ctx, promoter)? };
            p.print(&settlement.get_promoter_earnings(request).await?.into_inner())
        }
        PromoterCommand::Payee(PayeeCommand::Set { name, method, account, bank }) => {
            let method = match method {
                Method::Alipay => st::PayoutMethod::Alipay,
                Method::WechatPay => st::PayoutMethod::WechatPay,
                Method::BankCard => st::PayoutMethod::BankCard,
            };
            let request =
                st::SetPayoutProfileRequest { legal_name: name, method: method.into(), account, bank_name: bank };
            p.print(&settlement.set_payout_profile(request).await?.into_inner())
        }
        PromoterCommand::Payee(PayeeCommand::Show) => {
            p.print(&settlement.get_payout_profile(st::GetPayoutProfileRequest::default()).await?.into_inner())
        }
    }
}
