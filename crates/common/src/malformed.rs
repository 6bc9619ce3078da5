//! Requests whose bytes are not the message they claim to be are the client's error.
//!
//! tonic refuses such a request before any handler runs — a truncated frame, a
//! message that is not valid protobuf (a wrong wire type, invalid UTF-8 in a string
//! field), a compressed-flag without an encoding — and answers `INTERNAL` with no
//! details. To a client `INTERNAL` means "the server broke; retrying may help", which
//! is wrong here: the request will never be readable. This layer turns exactly those
//! answers into `INVALID_ARGUMENT` with the reason `MALFORMED_REQUEST`. It can tell
//! them apart because every `INTERNAL` a Xiaopu handler returns carries an `ErrorInfo`
//! (`grpc-status-details-bin`), and only an answer given before the response started
//! (the status in the headers) can come from reading the request.
use std::task::{Context, Poll};

use futures::{TryFutureExt, future::MapOk};
use tonic::{Code, Status};

use crate::error::{reason, status_with_reason};

#[derive(Debug, Clone, Copy, Default)]
pub struct MalformedRequestLayer;

impl<S> tower::Layer<S> for MalformedRequestLayer {
    type Service = MalformedRequestService<S>;
    fn layer(&self, inner: S) -> Self::Service {
        MalformedRequestService { inner }
    }
}

#[derive(Debug, Clone)]
pub struct MalformedRequestService<S> {
    inner: S,
}

type Reply = http::Response<tonic::body::Body>;

impl<S, B> tower::Service<http::Request<B>> for MalformedRequestService<S>
where
    S: tower::Service<http::Request<B>, Response = Reply>,
{
    type Response = Reply;
    type Error = S::Error;
    type Future = MapOk<S::Future, fn(Reply) -> Reply>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        self.inner.call(request).map_ok(as_client_error as fn(Reply) -> Reply)
    }
}

/// The reply itself, unless it is tonic's refusal of an unreadable request.
fn as_client_error(reply: Reply) -> Reply {
    let headers = reply.headers();
    let refused_unread = headers.get("grpc-status").is_some_and(|code| code.as_bytes() == b"13")
        && !headers.contains_key("grpc-status-details-bin");
    if !refused_unread {
        return reply;
    }
    let why = Status::from_header_map(headers).map(|s| s.message().to_owned()).unwrap_or_default();
    tracing::debug!(why, "malformed request");
    status_with_reason(
        Code::InvalidArgument,
        reason::MALFORMED_REQUEST,
        format!("the request is not a readable protobuf message of this method: {why}"),
    )
    .into_http()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::{internal_status, status_details};

    fn status_of(reply: &Reply) -> Status {
        Status::from_header_map(reply.headers()).expect("a status in the headers")
    }

    #[test]
    fn tonic_decode_refusals_become_invalid_argument() {
        let refused = Status::internal("failed to decode Protobuf message: invalid wire type").into_http();
        let status = status_of(&as_client_error(refused));
        assert_eq!(status.code(), Code::InvalidArgument);
        assert!(status.message().contains("invalid wire type"), "{}", status.message());
        assert_eq!(status_details(&status).0.as_deref(), Some(reason::MALFORMED_REQUEST));
    }

    #[test]
    fn a_handlers_own_internal_error_stays_internal() {
        let own = internal_status(&"a bug").into_http::<tonic::body::Body>();
        assert_eq!(status_of(&as_client_error(own)).code(), Code::Internal);
        let ok = http::Response::new(tonic::body::Body::empty());
        assert!(as_client_error(ok).headers().get("grpc-status").is_none());
    }
}
