//! Signed webhooks, both ends: how a delivery is signed, and how a receiver checks
//! one. A delivery carries three headers — its id (the same on every attempt, so a
//! receiver can skip one it has seen), the Unix time it was signed, and
//! `v1=<hex HMAC-SHA256 of "{id}.{timestamp}.{body}">` under the subscription's
//! secret. A receiver refuses a signature that does not match, and a timestamp
//! further than [`TOLERANCE_SECS`] from its clock, so a captured delivery cannot be
//! replayed later.
use hmac::{Hmac, Mac};
use sha2::Sha256;

pub const ID_HEADER: &str = "xiaopu-webhook-id";
pub const TIMESTAMP_HEADER: &str = "xiaopu-webhook-timestamp";
pub const SIGNATURE_HEADER: &str = "xiaopu-webhook-signature";

/// How far a delivery's timestamp may be from the receiver's clock.
pub const TOLERANCE_SECS: i64 = 5 * 60;

const VERSION: &str = "v1=";

fn mac(secret: &[u8], id: &str, timestamp: i64, body: &[u8]) -> Hmac<Sha256> {
    // HMAC takes a key of any length; this cannot fail.
    let mut mac =
        <Hmac<Sha256> as Mac>::new_from_slice(secret).unwrap_or_else(|_| unreachable!("HMAC keys of any length"));
    mac.update(id.as_bytes());
    mac.update(b".");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    mac
}

/// The `Xiaopu-Webhook-Signature` of a delivery.
pub fn sign(secret: &[u8], id: &str, timestamp: i64, body: &[u8]) -> String {
    let digest = mac(secret, id, timestamp, body).finalize().into_bytes();
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    format!("{VERSION}{hex}")
}

/// Why a receiver refuses a delivery.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("the timestamp or signature header cannot be read")]
    Malformed,
    #[error("the signature does not match the body under this secret")]
    BadSignature,
    #[error("signed {age_secs} s from now, more than {TOLERANCE_SECS} s: a replay or a wrong clock")]
    Stale { age_secs: i64 },
}

/// Checks a delivery as received: its headers as text, the body as bytes, the
/// receiver's clock as Unix seconds.
pub fn verify(
    secret: &[u8],
    id: &str,
    timestamp: &str,
    body: &[u8],
    signature: &str,
    now_unix: i64,
) -> Result<(), Refusal> {
    let timestamp: i64 = timestamp.trim().parse().map_err(|_| Refusal::Malformed)?;
    let hex = signature.trim().strip_prefix(VERSION).ok_or(Refusal::Malformed)?;
    let expected = decode_hex(hex).ok_or(Refusal::Malformed)?;
    // Compared in constant time.
    mac(secret, id, timestamp, body).verify_slice(&expected).map_err(|_| Refusal::BadSignature)?;
    let age_secs = now_unix.saturating_sub(timestamp);
    if age_secs.abs() > TOLERANCE_SECS {
        return Err(Refusal::Stale { age_secs });
    }
    Ok(())
}

fn decode_hex(hex: &str) -> Option<Vec<u8>> {
    if !hex.len().is_multiple_of(2) {
        return None;
    }
    (0..hex.len()).step_by(2).map(|i| u8::from_str_radix(hex.get(i..i + 2)?, 16).ok()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &[u8] = b"a webhook's secret";

    #[test]
    fn a_signed_delivery_verifies_and_any_change_is_refused() {
        let signature = sign(SECRET, "d1", 1_700_000_000, b"{\"a\":1}");
        assert!(signature.starts_with("v1=") && signature.len() == 3 + 64, "{signature}");
        assert_eq!(verify(SECRET, "d1", "1700000000", b"{\"a\":1}", &signature, 1_700_000_010), Ok(()));
        let refused = |id, ts: &str, body: &[u8], sig: &str| verify(SECRET, id, ts, body, sig, 1_700_000_010);
        assert_eq!(refused("d1", "1700000000", b"{\"a\":2}", &signature), Err(Refusal::BadSignature));
        assert_eq!(refused("d2", "1700000000", b"{\"a\":1}", &signature), Err(Refusal::BadSignature));
        assert_eq!(refused("d1", "1700000001", b"{\"a\":1}", &signature), Err(Refusal::BadSignature));
        assert_eq!(
            verify(b"another secret", "d1", "1700000000", b"{\"a\":1}", &signature, 1_700_000_010),
            Err(Refusal::BadSignature)
        );
        assert_eq!(refused("d1", "soon", b"{\"a\":1}", &signature), Err(Refusal::Malformed));
        assert_eq!(refused("d1", "1700000000", b"{\"a\":1}", "v2=00"), Err(Refusal::Malformed));
        assert_eq!(refused("d1", "1700000000", b"{\"a\":1}", "v1=zz"), Err(Refusal::Malformed));
    }

    #[test]
    fn a_replay_past_the_tolerance_is_refused_even_when_signed_well() {
        let signed_at = 1_700_000_000;
        let signature = sign(SECRET, "d1", signed_at, b"{}");
        let at = |now| verify(SECRET, "d1", &signed_at.to_string(), b"{}", &signature, now);
        assert_eq!(at(signed_at + TOLERANCE_SECS), Ok(()));
        assert_eq!(at(signed_at + TOLERANCE_SECS + 1), Err(Refusal::Stale { age_secs: TOLERANCE_SECS + 1 }));
        assert_eq!(at(signed_at - TOLERANCE_SECS - 1), Err(Refusal::Stale { age_secs: -TOLERANCE_SECS - 1 }));
    }
}
