//! `xiaopu supplier …`: a supplier's catalog and commission rates.
use clap::Subcommand;
use xiaopu_api::{
    attribution::{ListSupplierLinesRequest, attribution_service_client::AttributionServiceClient},
    settlement::{GetSupplierChargesRequest, settlement_service_client::SettlementServiceClient},
    storefront::{self as pb, storefront_service_client::StorefrontServiceClient},
    types::Money,
};

use crate::{Context, request_id, timestamp_arg};

#[derive(Debug, Subcommand)]
pub enum SupplierCommand {
    /// Publish a product.
    Publish {
        #[arg(long)]
        title: String,
        #[arg(long, default_value = "")]
        description: String,
        /// Price in minor units (fen): 19900 is 199.00 CNY.
        #[arg(long)]
        price: i64,
        #[arg(long, default_value = "CNY")]
        currency: String,
        #[arg(long)]
        category: String,
        /// Image URL (repeat for several).
        #[arg(long = "image")]
        images: Vec<String>,
        #[arg(long)]
        request_id: Option<String>,
    },
    /// Change a product's title, description, price or category.
    Update {
        #[arg(long)]
        product: String,
        #[arg(long)]
        title: Option<String>,
        #[arg(long)]
        description: Option<String>,
        #[arg(long)]
        price: Option<i64>,
        #[arg(long, default_value = "CNY")]
        currency: String,
        #[arg(long)]
        category: Option<String>,
    },
    /// Withdraw a product from every shop.
    Withdraw {
        #[arg(long)]
        product: String,
        #[arg(long, default_value = "")]
        reason: String,
    },
    /// Your catalog, withdrawn products included.
    Products {
        #[arg(long)]
        supplier: String,
        #[arg(long, default_value_t = 0)]
        page_size: i32,
        #[arg(long, default_value = "")]
        page_token: String,
    },
    /// Set a product's commission rate from now or a later time.
    SetRate {
        #[arg(long)]
        product: String,
        /// Basis points: 550 is 5.50%.
        #[arg(long)]
        bps: i32,
        /// RFC 3339; now when omitted.
        #[arg(long)]
        from: Option<String>,
        #[arg(long)]
        request_id: Option<String>,
    },
    /// Cancel a scheduled rate before it applies (it stays in the history, cancelled).
    CancelRate {
        #[arg(long)]
        rate: String,
    },
    /// The rate in force at a time (now by default).
    Rate {
        #[arg(long)]
        product: String,
        #[arg(long)]
        at: Option<String>,
    },
    /// A product's rate history.
    Rates {
        #[arg(long)]
        product: String,
    },
    /// The order lines you were charged commission on in a period, newest first.
    Lines {
        #[arg(long)]
        supplier: String,
        /// RFC 3339, inclusive.
        #[arg(long)]
        from: String,
        /// RFC 3339, exclusive.
        #[arg(long)]
        to: String,
        #[arg(long, default_value_t = 0)]
        page_size: i32,
        #[arg(long, default_value = "")]
        page_token: String,
    },
    /// What you are charged in commission for a period.
    Charges {
        #[arg(long)]
        supplier: String,
        #[arg(long)]
        from: String,
        #[arg(long)]
        to: String,
    },
}

pub async fn run(ctx: &Context, command: SupplierCommand) -> anyhow::Result<()> {
    let mut client = StorefrontServiceClient::new(ctx.connection.connect(&ctx.connection.storefront_url)?);
    match command {
        SupplierCommand::Publish { title, description, price, currency, category, images, request_id: id } => {
            let request = pb::PublishProductRequest {
                request_id: request_id(id),
                title,
                description,
                price: Some(Money { minor_units: price, currency }),
                image_urls: images,
                category,
                stock_status: pb::StockStatus::InStock.into(),
            };
            ctx.printer.print(&client.publish_product(request).await?.into_inner())
        }
        SupplierCommand::Update { product, title, description, price, currency, category } => {
            let mut paths = Vec::new();
            let mut changes = pb::Product::default();
            if let Some(title) = title {
                paths.push("title".to_string());
                changes.title = title;
            }
            if let Some(description) = description {
                paths.push("description".to_string());
                changes.description = description;
            }
            if let Some(price) = price {
                paths.push("price".to_string());
                changes.price = Some(Money { minor_units: price, currency });
            }
            if let Some(category) = category {
                paths.push("category".to_string());
                changes.category = category;
            }
            let request = pb::UpdateProductRequest {
                product_id: product,
                product: Some(changes),
                update_mask: Some(prost_types::FieldMask { paths }),
            };
            ctx.printer.print(&client.update_product(request).await?.into_inner())
        }
        SupplierCommand::Withdraw { product, reason } => {
            let request = pb::WithdrawProductRequest { product_id: product, reason };
            ctx.printer.print(&client.withdraw_product(request).await?.into_inner())
        }
        SupplierCommand::Products { supplier, page_size, page_token } => {
            let request = pb::ListSupplierProductsRequest { supplier_id: supplier, page_size, page_token };
            ctx.printer.print(&client.list_supplier_products(request).await?.into_inner())
        }
        SupplierCommand::SetRate { product, bps, from, request_id: id } => {
            let request = pb::SetCommissionRateRequest {
                request_id: request_id(id),
                product_id: product,
                rate_bps: bps,
                effective_from: from.as_deref().map(timestamp_arg).transpose()?,
            };
            ctx.printer.print(&client.set_commission_rate(request).await?.into_inner())
        }
        SupplierCommand::CancelRate { rate } => {
            let request = pb::CancelScheduledRateRequest { rate_id: rate };
            ctx.printer.print(&client.cancel_scheduled_rate(request).await?.into_inner())
        }
        SupplierCommand::Rate { product, at } => {
            let request =
                pb::GetCommissionRateRequest { product_id: product, at: at.as_deref().map(timestamp_arg).transpose()? };
            ctx.printer.print(&client.get_commission_rate(request).await?.into_inner())
        }
        SupplierCommand::Charges { supplier, from, to } => {
            let mut settlement = SettlementServiceClient::new(ctx.connection.connect(&ctx.connection.settlement_url)?);
            let request = GetSupplierChargesRequest {
                supplier_id: supplier,
                from: Some(timestamp_arg(&from)?),
                to: Some(timestamp_arg(&to)?),
            };
            ctx.printer.print(&settlement.get_supplier_charges(request).await?.into_inner())
        }
        SupplierCommand::Lines { supplier, from, to, page_size, page_token } => {
            let mut attribution =
                AttributionServiceClient::new(ctx.connection.connect(&ctx.connection.attribution_url)?);
            let request = ListSupplierLinesRequest {
                supplier_id: supplier,
                from: Some(timestamp_arg(&from)?),
                to: Some(timestamp_arg(&to)?),
                page_size,
                page_token,
            };
            ctx.printer.print(&attribution.list_supplier_lines(request).await?.into_inner())
        }
        SupplierCommand::Rates { product } => {
            let request =
                pb::ListCommissionRatesRequest { product_id: product, page_size: 0, page_token: String::new() };
            ctx.printer.print(&client.list_commission_rates(request).await?.into_inner())
        }
    }
}
