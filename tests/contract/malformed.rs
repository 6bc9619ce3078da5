//! Bytes that are not the request they claim to be — an invalid wire type, a
//! truncated field, an overlong varint, invalid UTF-8 in a string, a known field with
//! the wrong wire type, a broken gRPC frame — are the client's error on every RPC:
//! INVALID_ARGUMENT with the reason MALFORMED_REQUEST, never INTERNAL or UNKNOWN.
use prost_reflect::{DescriptorPool, Kind, MessageDescriptor};
use tonic::{Code, Status};
use tower::ServiceExt;
use xiaopu_common::{
    error::{reason, status_details},
    testing::token,
};
use xiaopu_testkit::{Options, Stack};

use crate::{
    auth_table::{TABLE, api, channels},
    raw::call,
};

/// Bodies that no message of any method decodes from.
fn malformed_for_any_method() -> Vec<(&'static str, Vec<u8>)> {
    vec![
        ("wire type 7", vec![0x0f]),
        ("varint over 10 bytes", [vec![0x08], vec![0xff; 10], vec![0x01]].concat()),
        ("length beyond the body", vec![0x0a, 0x64, b'a']),
    ]
}

/// Bodies malformed for this method's request: invalid UTF-8 in its first string
/// field, and its first field sent with a wire type that field cannot have.
fn malformed_for(input: &MessageDescriptor) -> Vec<(&'static str, Vec<u8>)> {
    let mut bodies = Vec::new();
    let tag = |number: u32, wire: u32| number << 3 | wire;
    if let Some(text) = input.fields().find(|f| f.kind() == Kind::String && !f.is_list()) {
        let key = u8::try_from(tag(text.number(), 2)).expect("a small field number");
        bodies.push(("invalid UTF-8 in a string", vec![key, 2, 0xc3, 0x28]));
    }
    if let Some(first) = input.fields().next() {
        let length_delimited = matches!(first.kind(), Kind::String | Kind::Bytes | Kind::Message(_));
        let key = u8::try_from(tag(first.number(), if length_delimited { 5 } else { 2 })).expect("small");
        let body = if length_delimited { vec![key, 1, 2, 3, 4] } else { vec![key, 3, b'a', b'b', b'c'] };
        // A repeated scalar may arrive packed (length-delimited): not a wrong type.
        if length_delimited || !first.is_list() {
            bodies.push(("a field with the wrong wire type", body));
        }
    }
    bodies
}

fn assert_client_error(err: &Status, what: &str) {
    assert_eq!(err.code(), Code::InvalidArgument, "{what}: {err:?}");
    assert_eq!(status_details(err).0.as_deref(), Some(reason::MALFORMED_REQUEST), "{what}: {err:?}");
}

#[tokio::test]
async fn malformed_request_bytes_are_invalid_argument_on_every_rpc() {
    let stack = Stack::spawn(Options::default()).await;
    let pool = DescriptorPool::decode(xiaopu_api::FILE_DESCRIPTOR_SET).expect("descriptors");
    let streaming: Vec<(String, String)> = api().into_iter().filter(|(_, _, s)| *s).map(|(s, m, _)| (s, m)).collect();
    let mut checked = 0;
    for (service, method, allowed) in TABLE {
        let input = pool
            .get_service_by_name(service)
            .and_then(|s| s.methods().find(|m| m.name() == *method))
            .expect("method")
            .input();
        let path = format!("/{service}/{method}");
        let is_stream = streaming.contains(&(service.to_string(), method.to_string()));
        let bearer = token(allowed[0], "fuzz-user");
        for channel in channels(&stack, service) {
            for (what, body) in malformed_for_any_method().into_iter().chain(malformed_for(&input)) {
                let err = call(channel, &path, is_stream, body, Some(&bearer)).await.expect_err(what);
                assert_client_error(&err, &format!("{path}: {what}"));
                checked += 1;
            }
        }
    }
    assert!(checked >= TABLE.len() * 4, "only {checked} calls");
}

/// Sends one gRPC request whose body is exactly `frame` (the 5-byte message header
/// included) and returns the status it ends with.
async fn send_frame(channel: &tonic::transport::Channel, path: &str, bearer: &str, frame: Vec<u8>) -> Status {
    use http_body_util::BodyExt as _;
    let request = http::Request::builder()
        .method("POST")
        .uri(format!("http://localhost{path}"))
        .header("content-type", "application/grpc")
        .header("te", "trailers")
        .header("authorization", format!("Bearer {bearer}"))
        .body(tonic::body::Body::new(http_body_util::Full::new(bytes::Bytes::from(frame))))
        .expect("request");
    let response = channel.clone().oneshot(request).await.expect("a response");
    if let Some(status) = Status::from_header_map(response.headers()) {
        return status;
    }
    let trailers = response.into_body().collect().await.expect("body").trailers().cloned().unwrap_or_default();
    Status::from_header_map(&trailers).expect("a status in the trailers")
}

#[tokio::test]
async fn broken_grpc_frames_are_invalid_argument() {
    let stack = Stack::spawn(Options::default()).await;
    let path = "/xiaopu.storefront.v1.StorefrontService/GetProduct";
    let bearer = token(xiaopu_common::auth::Role::Supplier, "s1");
    let frames: [(&str, Vec<u8>); 3] = [
        ("a frame longer than the body", vec![0, 0, 0, 0, 100, 0x0a, 0x01, b'x']),
        ("the compressed flag with no grpc-encoding", vec![1, 0, 0, 0, 3, 0x0a, 0x01, b'x']),
        ("no message at all", Vec::new()),
    ];
    for (what, frame) in frames {
        let status = send_frame(&stack.channels.storefront, path, &bearer, frame).await;
        assert_client_error(&status, what);
    }
    // The same route with a well-formed frame is served (not refused for its path).
    let fine = send_frame(&stack.channels.storefront, path, &bearer, vec![0, 0, 0, 0, 0]).await;
    assert_eq!(fine.code(), Code::InvalidArgument, "an empty GetProduct names its missing field: {fine:?}");
    assert_ne!(status_details(&fine).0.as_deref(), Some(reason::MALFORMED_REQUEST), "{fine:?}");
}
