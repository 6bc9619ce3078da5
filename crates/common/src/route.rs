//! One routing style for every service: `route!` implements a tonic service trait
//! by sending each RPC to a handler `async fn(&Api, Request<Req>) -> Result<Response<Resp>, E>`,
//! where the service's own `E` becomes a `Status` in its one mapping (`From<E> for
//! Status`). A service with streaming RPCs names their stream types in brackets
//! after its name: `impl SettlementService for SettlementApi [type ExportBatchStream = …;] { … }`.
//!
//! ```ignore
//! xiaopu_common::route! {
//!     impl StorefrontService for StorefrontApi {
//!         open_shop => shops::open_shop: pb::OpenShopRequest => pb::OpenShopResponse;
//!     }
//! }
//! ```

#[macro_export]
macro_rules! route {
    (impl $service:ident for $api:ident $([$(type $stream:ident = $stream_ty:ty;)+])? {
        $($rpc:ident => $handler:path: $req:ty => $resp:ty;)+
    }) => {
        #[tonic::async_trait]
        impl $service for $api {
            $($(type $stream = $stream_ty;)+)?
            $(
                async fn $rpc(
                    &self,
                    request: tonic::Request<$req>,
                ) -> ::std::result::Result<tonic::Response<$resp>, tonic::Status> {
                    $handler(self, request).await.map_err(::std::convert::Into::into)
                }
            )+
        }
    };
}
