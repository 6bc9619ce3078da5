//! A browser's side of gRPC-Web, for tests that call a service the way a web or
//! mini-program client does: frames out, frames and trailers back.

/// A gRPC-Web data frame of `message`: flag 0, big-endian length, the bytes.
pub fn frame(message: &impl prost::Message) -> Vec<u8> {
    let body = message.encode_to_vec();
    let mut out = vec![0u8];
    out.extend_from_slice(&u32::try_from(body.len()).expect("a small test message").to_be_bytes());
    out.extend_from_slice(&body);
    out
}

/// An answer's gRPC status and its message, if any. The status comes from the
/// headers of a trailers-only answer (an error before any message), else from the
/// trailers frame.
pub fn answer(headers: &http::HeaderMap, body: &[u8]) -> (String, Option<Vec<u8>>) {
    let mut rest = body;
    let (mut message, mut trailers) = (None, String::new());
    while rest.len() >= 5 {
        let len = u32::from_be_bytes([rest[1], rest[2], rest[3], rest[4]]) as usize;
        let payload = &rest[5..(5 + len).min(rest.len())];
        if rest[0] & 0x80 == 0 {
            message = Some(payload.to_vec());
        } else {
            trailers = String::from_utf8_lossy(payload).to_lowercase();
        }
        rest = &rest[(5 + len).min(rest.len())..];
    }
    let status = match headers.get("grpc-status") {
        Some(status) => status.to_str().unwrap_or_default().to_owned(),
        None => trailers.lines().find_map(|l| l.trim().strip_prefix("grpc-status:")).unwrap_or("").trim().to_owned(),
    };
    (status, message)
}
