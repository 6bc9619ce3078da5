//! Calling any RPC by its path with raw protobuf bytes (tonic's generic client), so a
//! test can reach the whole API from the descriptors.
use bytes::{Buf, BufMut};
use tonic::{
    Status,
    codec::{Codec, DecodeBuf, Decoder, EncodeBuf, Encoder},
    transport::Channel,
};

#[derive(Debug, Clone, Copy, Default)]
pub struct RawCodec;

impl Codec for RawCodec {
    type Encode = Vec<u8>;
    type Decode = Vec<u8>;
    type Encoder = RawCodec;
    type Decoder = RawCodec;

    fn encoder(&mut self) -> Self::Encoder {
        RawCodec
    }

    fn decoder(&mut self) -> Self::Decoder {
        RawCodec
    }
}

impl Encoder for RawCodec {
    type Item = Vec<u8>;
    type Error = Status;

    fn encode(&mut self, item: Vec<u8>, dst: &mut EncodeBuf<'_>) -> Result<(), Status> {
        dst.put_slice(&item);
        Ok(())
    }
}

impl Decoder for RawCodec {
    type Item = Vec<u8>;
    type Error = Status;

    fn decode(&mut self, src: &mut DecodeBuf<'_>) -> Result<Option<Vec<u8>>, Status> {
        let mut out = vec![0; src.remaining()];
        src.copy_to_slice(&mut out);
        Ok(Some(out))
    }
}

/// Calls `path` (e.g. `/xiaopu.storefront.v1.StorefrontService/GetShop`) with `body`
/// and bearer `token` and returns the answer's bytes; for a server-streaming RPC,
/// reads the first message (or nothing, if none comes at once).
pub async fn call(
    channel: &Channel,
    path: &str,
    streaming: bool,
    body: Vec<u8>,
    token: Option<&str>,
) -> Result<Vec<u8>, Status> {
    let mut grpc = tonic::client::Grpc::new(channel.clone());
    grpc.ready().await.map_err(|e| Status::unavailable(e.to_string()))?;
    let mut request = tonic::Request::new(body);
    if let Some(token) = token {
        let value = format!("Bearer {token}").parse().map_err(|_| Status::internal("token"))?;
        request.metadata_mut().insert("authorization", value);
    }
    let path = http::uri::PathAndQuery::try_from(path).map_err(|e| Status::internal(e.to_string()))?;
    if streaming {
        let mut stream = grpc.server_streaming(request, path, RawCodec).await?.into_inner();
        // The first message (or the status that ends the stream early), with a bound:
        // a feed that has nothing yet only sends a heartbeat after seconds.
        match tokio::time::timeout(std::time::Duration::from_millis(500), stream.message()).await {
            Ok(next) => next.map(Option::unwrap_or_default),
            Err(_) => Ok(Vec::new()),
        }
    } else {
        grpc.unary(request, path, RawCodec).await.map(tonic::Response::into_inner)
    }
}
