//! Webhooks' rules: which events there are, who may hear of each, the address a
//! delivery may go to, the id that makes a delivery the same on every attempt, and
//! how long to wait after a failed attempt.
use std::net::IpAddr;

use chrono::{DateTime, TimeDelta, Utc};
use uuid::Uuid;

use super::LineState;

xiaopu_common::text_enum! {
    /// What a webhook is told of, as named in a delivery's body.
    pub enum WebhookEvent {
        LineAttributed = "line.attributed",
        LineVoided = "line.voided",
        BatchApproved = "batch.approved",
        PayoutPaid = "payout.paid",
        PayoutFailed = "payout.failed",
        BudgetAlert = "budget.alert",
    }
}

impl WebhookEvent {
    /// Whether a supplier may subscribe to it: their lines and budgets, never
    /// promoters' payouts.
    pub fn for_suppliers(self) -> bool {
        matches!(self, WebhookEvent::LineAttributed | WebhookEvent::LineVoided | WebhookEvent::BudgetAlert)
    }

    /// Whether a promoter may subscribe to it: everything but suppliers' budgets.
    pub fn for_promoters(self) -> bool {
        self != WebhookEvent::BudgetAlert
    }
}

xiaopu_common::text_enum! {
    /// Where a delivery is.
    pub enum DeliveryStatus {
        Pending = "pending",
        Delivered = "delivered",
        Failed = "failed",
    }
}

/// What a line's change tells its promoter and supplier: attributed when it starts
/// earning (first seen, or earning again after it was void), voided when it stops;
/// nothing for a change of amount or a receipt.
pub fn line_event(before: Option<LineState>, after: LineState) -> Option<WebhookEvent> {
    match (before, after) {
        (None | Some(LineState::Void), LineState::Void) => None,
        (None | Some(LineState::Void), _) => Some(WebhookEvent::LineAttributed),
        (Some(_), LineState::Void) => Some(WebhookEvent::LineVoided),
        (Some(_), _) => None,
    }
}

/// The longest URL a webhook may have.
pub const MAX_URL_CHARS: usize = 2000;

/// The rule a webhook's URL breaks, if any: absolute http(s) with a host, no
/// credentials, no fragment.
pub fn url_rule(url: &str) -> Result<(), &'static str> {
    if url.chars().count() > MAX_URL_CHARS {
        return Err("must be at most 2000 characters");
    }
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
        .ok_or("must start with https:// or http://")?;
    let authority = rest.split(['/', '?']).next().unwrap_or_default();
    if authority.is_empty() {
        return Err("must name a host");
    }
    if authority.contains('@') {
        return Err("must not carry a user name or password");
    }
    if url.contains('#') || url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err("must not contain a fragment, spaces or control characters");
    }
    Ok(())
}

/// The rule a URL's host breaks when it names the platform's own network outright
/// (`localhost`, a private or loopback address); a name that resolves there is
/// refused when a delivery is sent.
pub fn host_rule(url: &str) -> Result<(), &'static str> {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    let authority = rest.split(['/', '?']).next().unwrap_or_default();
    let host = match authority.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or_default(),
        None => authority.rsplit_once(':').map_or(authority, |(host, _)| host),
    };
    let host = host.to_ascii_lowercase();
    if host == "localhost" || host.ends_with(".localhost") {
        return Err("must not point at this machine (localhost)");
    }
    match host.parse::<IpAddr>() {
        Ok(ip) if !is_public(ip) => Err("must not point at a private, loopback or link-local address"),
        _ => Ok(()),
    }
}

/// Whether `ip` is an address on the public internet. A webhook may not reach the
/// platform's own network — loopback, private ranges, link-local (where cloud
/// metadata services answer), carrier-grade NAT, multicast — or the URL would let
/// any promoter make settlement call inside the cluster.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            !(v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_multicast()
                || v4.is_documentation()
                || a == 0
                || (a == 100 && (64..128).contains(&b))
                || (a == 198 && (b == 18 || b == 19))
                || a >= 240)
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_public(IpAddr::V4(v4));
            }
            let first = v6.segments()[0];
            !(v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (first & 0xfe00) == 0xfc00
                || (first & 0xffc0) == 0xfe80
                || first == 0x2001 && v6.segments()[1] == 0x0db8)
        }
    }
}

/// The delivery of `source` (the change it reports, e.g. a feed event's id) to
/// `webhook`: the same id however often the change is applied, so a redelivered
/// feed event or a retried write never makes a second delivery.
pub fn delivery_id(webhook: Uuid, event: WebhookEvent, source: &str) -> Uuid {
    Uuid::new_v5(&webhook, format!("{}:{source}", event.as_str()).as_bytes())
}

/// When to try again after failed attempt number `attempts` (1 for the first):
/// `base`, doubling each time, never more than an hour.
pub fn next_attempt(now: DateTime<Utc>, attempts: i32, base: TimeDelta) -> DateTime<Utc> {
    let doublings = u32::try_from(attempts.saturating_sub(1)).unwrap_or(0).min(20);
    let wait = base.checked_mul(1 << doublings).unwrap_or(TimeDelta::hours(1)).min(TimeDelta::hours(1));
    now + wait
}

/// Where a delivery stands after an attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AfterAttempt {
    pub status: DeliveryStatus,
    pub next_attempt_at: DateTime<Utc>,
    pub delivered_at: Option<DateTime<Utc>>,
    /// The receiver's HTTP status; 0 when none came.
    pub status_code: i32,
    pub error: String,
}

/// Attempt number `attempts` (1 for the first), made at `now`, was answered
/// `answer` (an HTTP status, or why none came): a 2xx delivers; anything else waits
/// [`next_attempt`], or fails for good once `max_attempts` were made.
pub fn after_attempt(
    attempts: i32,
    answer: Result<u16, String>,
    now: DateTime<Utc>,
    retry_base: TimeDelta,
    max_attempts: i32,
) -> AfterAttempt {
    let (status_code, error) = match answer {
        Ok(code) if (200..300).contains(&code) => {
            let status_code = i32::from(code);
            return AfterAttempt {
                status: DeliveryStatus::Delivered,
                next_attempt_at: now,
                delivered_at: Some(now),
                status_code,
                error: String::new(),
            };
        }
        Ok(code) => (i32::from(code), format!("the receiver answered HTTP {code}")),
        Err(error) => (0, error),
    };
    let (status, next_attempt_at) = if attempts >= max_attempts {
        (DeliveryStatus::Failed, now)
    } else {
        (DeliveryStatus::Pending, next_attempt(now, attempts, retry_base))
    };
    AfterAttempt { status, next_attempt_at, delivered_at: None, status_code, error }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_url_is_absolute_http_with_a_host_and_nothing_hidden() {
        assert_eq!(url_rule("https://erp.example.com/hooks/xiaopu?k=1"), Ok(()));
        assert_eq!(url_rule("http://127.0.0.1:8080/hook"), Ok(()));
        assert!(url_rule("ftp://example.com").is_err());
        assert!(url_rule("https://").is_err());
        assert!(url_rule("https://user:pw@example.com/").is_err());
        assert!(url_rule("https://example.com/#top").is_err());
        assert!(url_rule("https://example.com/a b").is_err());
        assert!(url_rule(&format!("https://example.com/{}", "a".repeat(2000))).is_err());
    }

    #[test]
    fn a_delivery_id_is_the_same_for_the_same_change_and_differs_otherwise() {
        let (w1, w2) = (Uuid::now_v7(), Uuid::now_v7());
        let id = delivery_id(w1, WebhookEvent::LineAttributed, "event-1");
        assert_eq!(id, delivery_id(w1, WebhookEvent::LineAttributed, "event-1"));
        assert_ne!(id, delivery_id(w2, WebhookEvent::LineAttributed, "event-1"));
        assert_ne!(id, delivery_id(w1, WebhookEvent::LineVoided, "event-1"));
        assert_ne!(id, delivery_id(w1, WebhookEvent::LineAttributed, "event-2"));
    }

    #[test]
    fn a_line_is_news_when_it_starts_or_stops_earning() {
        use LineState::*;
        assert_eq!(line_event(None, Paid), Some(WebhookEvent::LineAttributed));
        assert_eq!(line_event(Some(Void), Received), Some(WebhookEvent::LineAttributed));
        assert_eq!(line_event(Some(Paid), Void), Some(WebhookEvent::LineVoided));
        assert_eq!(line_event(Some(Received), Void), Some(WebhookEvent::LineVoided));
        assert_eq!(line_event(Some(Paid), Received), None, "a receipt is not news");
        assert_eq!(line_event(Some(Paid), Paid), None, "nor a partial refund");
        assert_eq!(line_event(None, Void), None);
        assert_eq!(line_event(Some(Void), Void), None);
    }

    #[test]
    fn only_public_addresses_are_reachable() {
        let public = |ip: &str| is_public(ip.parse().expect("an address"));
        for ip in ["93.184.216.34", "8.8.8.8", "2606:4700:4700::1111"] {
            assert!(public(ip), "{ip}");
        }
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "255.255.255.255",
            "224.0.0.1",
            "::1",
            "::",
            "fd00::1",
            "fe80::1",
            "::ffff:10.0.0.1",
        ] {
            assert!(!public(ip), "{ip}");
        }
    }

    #[test]
    fn a_url_naming_the_platforms_own_network_is_refused() {
        assert_eq!(host_rule("https://erp.example.com/hook"), Ok(()));
        assert_eq!(host_rule("https://93.184.216.34:8443/hook"), Ok(()));
        for url in [
            "http://localhost/x",
            "http://api.localhost:8080/x",
            "http://127.0.0.1:50053/",
            "http://10.0.0.7/",
            "http://169.254.169.254/latest/meta-data",
            "http://[::1]:80/",
            "http://[fd00::2]/",
        ] {
            assert!(host_rule(url).is_err(), "{url}");
        }
    }

    #[test]
    fn a_2xx_delivers_anything_else_waits_then_fails_for_good() {
        let now = Utc::now();
        let base = TimeDelta::seconds(10);
        let delivered = after_attempt(2, Ok(204), now, base, 3);
        assert_eq!(
            (delivered.status, delivered.delivered_at, delivered.status_code),
            (DeliveryStatus::Delivered, Some(now), 204)
        );
        let refused = after_attempt(1, Ok(500), now, base, 3);
        assert_eq!((refused.status, refused.next_attempt_at - now), (DeliveryStatus::Pending, base));
        assert_eq!(refused.error, "the receiver answered HTTP 500");
        let silent = after_attempt(2, Err("connect: refused".into()), now, base, 3);
        assert_eq!(
            (silent.status, silent.status_code, silent.next_attempt_at - now),
            (DeliveryStatus::Pending, 0, base * 2)
        );
        let last = after_attempt(3, Ok(302), now, base, 3);
        assert_eq!((last.status, last.delivered_at), (DeliveryStatus::Failed, None));
    }

    #[test]
    fn retries_back_off_doubling_up_to_an_hour() {
        let now = Utc::now();
        let base = TimeDelta::seconds(10);
        assert_eq!(next_attempt(now, 1, base) - now, TimeDelta::seconds(10));
        assert_eq!(next_attempt(now, 2, base) - now, TimeDelta::seconds(20));
        assert_eq!(next_attempt(now, 4, base) - now, TimeDelta::seconds(80));
        assert_eq!(next_attempt(now, 30, base) - now, TimeDelta::hours(1));
    }
}
