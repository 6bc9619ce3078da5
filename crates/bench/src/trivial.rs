//! The baseline server: Xiaopu's own server stack (config, tower layers, auth,
//! tracing, health) around a handler that does nothing.
use tonic::{Request, Response, Status};
use xiaopu_api::bench::{
    EchoRequest, EchoResponse,
    bench_service_server::{BenchService, BenchServiceServer},
};
use xiaopu_common::{
    auth::CallerExt,
    config::{ConfigError, Section, Settings, Validate},
    server::{Infra, RunningServer},
    service::ServiceApp,
};

#[derive(Debug, Clone, Default, serde::Deserialize)]
pub struct NoSettings {}

impl Section for NoSettings {
    const KEY: &'static str = "bench";
}

impl Validate for NoSettings {
    fn validate(&self) -> Result<(), ConfigError> {
        Ok(())
    }
}

pub struct Trivial;

impl ServiceApp for Trivial {
    type Section = NoSettings;
    const NAME: &'static str = "bench";
    const DEFAULT_LISTEN_ADDR: &'static str = "127.0.0.1:50059";

    fn migrator() -> sqlx::migrate::Migrator {
        xiaopu_common::db::feed_migrator()
    }

    async fn start(settings: Settings<NoSettings>) -> anyhow::Result<RunningServer> {
        let infra = Infra::start::<Self>(&settings.common).await?;
        infra.server().add_service(BenchServiceServer::new(Echo)).bind().await
    }
}

struct Echo;

#[tonic::async_trait]
impl BenchService for Echo {
    async fn echo(&self, request: Request<EchoRequest>) -> Result<Response<EchoResponse>, Status> {
        request.caller()?;
        Ok(Response::new(EchoResponse { payload: request.into_inner().payload }))
    }
}
