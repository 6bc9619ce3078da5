//! `xiaopu orders …`: send events as the order system and the link redirector do,
//! from flags or from a JSON-lines file of `OrderEvent`s (protobuf JSON).
use std::io::BufRead;

use anyhow::Context as _;
use clap::Subcommand;
use prost_reflect::{DescriptorPool, DynamicMessage};
use xiaopu_api::{
    attribution::{self as pb, attribution_service_client::AttributionServiceClient, order_event},
    types::Money,
};

use crate::{Context as Cli, request_id, timestamp_arg};

#[derive(Debug, Subcommand)]
pub enum OrdersCommand {
    /// A buyer opened a share link.
    Click {
        #[arg(long)]
        code: String,
        #[arg(long)]
        visitor: String,
        /// RFC 3339; now when omitted.
        #[arg(long)]
        at: Option<String>,
        #[arg(long)]
        event_id: Option<String>,
    },
    /// An order was paid.
    Paid {
        #[arg(long)]
        order: String,
        #[arg(long)]
        buyer: String,
        /// The share code the order carried.
        #[arg(long, default_value = "")]
        code: String,
        #[arg(long)]
        at: Option<String>,
        /// LINE_ID:PRODUCT_ID:SUPPLIER_ID:PAID_FEN[:QUANTITY] (repeat per line).
        #[arg(long = "line", required = true)]
        lines: Vec<String>,
        #[arg(long, default_value = "CNY")]
        currency: String,
        #[arg(long)]
        event_id: Option<String>,
    },
    /// The buyer confirmed receipt.
    Confirm {
        #[arg(long)]
        order: String,
        #[arg(long)]
        at: Option<String>,
        #[arg(long)]
        event_id: Option<String>,
    },
    /// A line was refunded, partly or fully.
    Refund {
        #[arg(long)]
        order: String,
        #[arg(long)]
        line: String,
        /// In minor units (fen).
        #[arg(long)]
        amount: i64,
        #[arg(long, default_value = "CNY")]
        currency: String,
        #[arg(long)]
        at: Option<String>,
        #[arg(long)]
        event_id: Option<String>,
    },
    /// Send a JSON-lines file of OrderEvent messages in batches.
    Ingest {
        #[arg(long)]
        file: std::path::PathBuf,
        #[arg(long, default_value_t = 500)]
        batch: usize,
    },
}

fn at(value: Option<&str>) -> anyhow::Result<Option<prost_types::Timestamp>> {
    Ok(Some(match value {
        Some(v) => timestamp_arg(v)?,
        None => xiaopu_common::time::to_timestamp(chrono::Utc::now()),
    }))
}

fn paid_line(spec: &str, currency: &str) -> anyhow::Result<pb::PaidLine> {
    let parts: Vec<&str> = spec.split(':').collect();
    let [line_id, product_id, supplier_id, paid, rest @ ..] = parts.as_slice() else {
        anyhow::bail!("--line `{spec}`: expected LINE_ID:PRODUCT_ID:SUPPLIER_ID:PAID_FEN[:QUANTITY]");
    };
    Ok(pb::PaidLine {
        line_id: (*line_id).into(),
        product_id: (*product_id).into(),
        supplier_id: (*supplier_id).into(),
        quantity: rest.first().map(|q| q.parse()).transpose().context("quantity")?.unwrap_or(1),
        paid_amount: Some(Money {
            minor_units: paid.parse().context("paid amount in fen")?,
            currency: currency.into(),
        }),
    })
}

pub async fn run(cli: &Cli, command: OrdersCommand) -> anyhow::Result<()> {
    let mut client = AttributionServiceClient::new(cli.connection.connect(&cli.connection.attribution_url)?);
    let event = match command {
        OrdersCommand::Click { code, visitor, at: when, event_id } => order_event::Event::Click(pb::Click {
            event_id: request_id(event_id),
            share_code: code,
            visitor_id: visitor,
            clicked_at: at(when.as_deref())?,
        }),
        OrdersCommand::Paid { order, buyer, code, at: when, lines, currency, event_id } => {
            order_event::Event::OrderPaid(pb::OrderPaid {
                event_id: request_id(event_id),
                order_id: order,
                buyer_id: buyer,
                paid_at: at(when.as_deref())?,
                lines: lines.iter().map(|l| paid_line(l, &currency)).collect::<anyhow::Result<_>>()?,
                share_code: code,
            })
        }
        OrdersCommand::Confirm { order, at: when, event_id } => {
            order_event::Event::OrderConfirmed(pb::OrderConfirmed {
                event_id: request_id(event_id),
                order_id: order,
                confirmed_at: at(when.as_deref())?,
            })
        }
        OrdersCommand::Refund { order, line, amount, currency, at: when, event_id } => {
            order_event::Event::Refund(pb::Refund {
                event_id: request_id(event_id),
                order_id: order,
                line_id: line,
                refunded_amount: Some(Money { minor_units: amount, currency }),
                refunded_at: at(when.as_deref())?,
            })
        }
        OrdersCommand::Ingest { file, batch } => return ingest_file(cli, &mut client, &file, batch).await,
    };
    let request = pb::IngestEventsRequest { events: vec![pb::OrderEvent { event: Some(event) }] };
    let answer = client.ingest_events(request).await?.into_inner();
    cli.printer.print(&answer)?;
    let rejected = answer.results.iter().any(|r| r.outcome() == pb::EventOutcome::Rejected);
    anyhow::ensure!(!rejected, "the event was rejected");
    Ok(())
}

async fn ingest_file(
    cli: &Cli,
    client: &mut AttributionServiceClient<crate::connect::Client>,
    file: &std::path::Path,
    batch: usize,
) -> anyhow::Result<()> {
    let pool = DescriptorPool::decode(xiaopu_api::FILE_DESCRIPTOR_SET)?;
    let descriptor = pool.get_message_by_name("xiaopu.attribution.v1.OrderEvent").context("OrderEvent descriptor")?;
    let reader =
        std::io::BufReader::new(std::fs::File::open(file).with_context(|| format!("open {}", file.display()))?);
    let mut events = Vec::new();
    for (n, line) in reader.lines().enumerate() {
        let line = line?;
        if line.trim().is_empty() {
            continue;
        }
        let mut de = serde_json::Deserializer::from_str(&line);
        let dynamic = DynamicMessage::deserialize(descriptor.clone(), &mut de)
            .with_context(|| format!("{}:{}: not an OrderEvent", file.display(), n + 1))?;
        events.push(dynamic.transcode_to::<pb::OrderEvent>()?);
    }
    let (mut applied, mut other) = (0usize, Vec::new());
    for chunk in events.chunks(batch.max(1)) {
        let answer = client.ingest_events(pb::IngestEventsRequest { events: chunk.to_vec() }).await?.into_inner();
        for result in answer.results {
            if result.outcome() == pb::EventOutcome::Applied {
                applied += 1;
            } else {
                other.push(result);
            }
        }
    }
    println!("{applied} of {} events applied", events.len());
    for result in &other {
        cli.printer.print(result)?;
    }
    Ok(())
}
