//! Server bootstrap shared by every service: the database pool and migrations, the
//! tonic server with its tower layers (deadline, load shedding, tracing, auth),
//! health that follows the database, reflection, the feed, and graceful shutdown.
use std::{convert::Infallible, net::SocketAddr, sync::Arc, time::Duration};

use sqlx::PgPool;
use tokio::{net::TcpListener, task::JoinHandle};
use tokio_stream::wrappers::TcpListenerStream;
use tokio_util::sync::CancellationToken;
use tonic::{
    body::Body,
    server::NamedService,
    service::RoutesBuilder,
    transport::{Identity, Server, ServerTlsConfig},
};
use tonic_health::{ServingStatus, server::HealthReporter};
use tonic_web::GrpcWebLayer;
use tower::{limit::GlobalConcurrencyLimitLayer, load_shed::LoadShedLayer};
use tower_http::cors::{AllowOrigin, CorsLayer};
use xiaopu_api::feed::feed_service_server::FeedServiceServer;

use crate::{
    auth::{AuthLayer, TokenSigner, TokenVerifier},
    config::FeedTransportKind,
    config::{CommonSettings, ServerSettings, UpstreamSettings},
    connections::Gate,
    db,
    feed::{self, FeedServer, FeedTransport, GrpcFeed, JetStreamFeed, Relay},
    grpc_client::{CallCredentials, Upstream, upstream},
    malformed::MalformedRequestLayer,
    service::ServiceApp,
    telemetry,
};

/// The health service name that reports the process alive (Kubernetes liveness).
pub const LIVENESS: &str = "liveness";

/// How long start-up waits for the database before giving up.
const DATABASE_PATIENCE: Duration = Duration::from_secs(60);

/// What every service starts with: settings, pool, keys and the shutdown token.
pub struct Infra {
    /// The service's name (its outbox topics' prefix, its stream's name).
    pub name: &'static str,
    pub settings: CommonSettings,
    pub pool: PgPool,
    pub verifier: Arc<TokenVerifier>,
    pub signer: TokenSigner,
    pub shutdown: CancellationToken,
    /// The NATS client, with the JetStream transport.
    pub nats: Option<async_nats::Client>,
}

impl Infra {
    /// Opens the pool and, when configured, applies migrations (the feed's and the
    /// service's) under sqlx's advisory lock; with the JetStream transport, starts
    /// connecting to NATS (in the background: health says when it is reached).
    pub async fn start<A: ServiceApp>(settings: &CommonSettings) -> anyhow::Result<Self> {
        let pool = db::pool(&settings.database, &settings.telemetry.service_name)?;
        if settings.database.migrate_on_start {
            db::migrate_when_ready(&pool, A::migrator(), DATABASE_PATIENCE).await?;
        }
        let nats = match settings.feed.transport {
            FeedTransportKind::Outbox => None,
            FeedTransportKind::Jetstream => Some(feed::jetstream::connect(&settings.feed.nats, A::NAME).await?),
        };
        Ok(Self {
            name: A::NAME,
            nats,
            settings: settings.clone(),
            pool,
            verifier: Arc::new(TokenVerifier::from_settings(&settings.auth)?),
            signer: TokenSigner::from_settings(&settings.auth)?,
            shutdown: CancellationToken::new(),
        })
    }

    /// A channel to another service, calling as `role=service, sub=<this service>`.
    pub fn upstream(&self, settings: &UpstreamSettings, key: &str) -> anyhow::Result<Upstream> {
        Ok(upstream(settings, key, CallCredentials::of_service(self.signer.clone(), &self.settings)?)?)
    }

    /// The transport that brings another service's feed: its `WatchEvents` at
    /// `settings` (the upstream `key`), or its JetStream stream.
    pub fn feed_transport(&self, settings: &UpstreamSettings, key: &str) -> anyhow::Result<Arc<dyn FeedTransport>> {
        Ok(match &self.nats {
            None => Arc::new(GrpcFeed::new(self.upstream(settings, key)?, self.settings.server.max_message_bytes)),
            Some(client) => {
                let nats = &self.settings.feed.nats;
                let consumer = if nats.consumer_name.is_empty() { self.name } else { nats.consumer_name.as_str() };
                Arc::new(JetStreamFeed::new(client.clone(), nats.clone(), consumer))
            }
        })
    }

    /// This service's own feed (its outbox), ready to add to the server:
    /// `WatchEvents` and `GetBacklog` always (reconciliation asks for backlogs), and
    /// with the JetStream transport the relay that publishes the outbox.
    pub fn feed_service(&self) -> FeedServiceServer<FeedServer> {
        if let Some(client) = &self.nats {
            let nats = self.settings.feed.nats.clone();
            let relay = Relay::new(self.pool.clone(), client.clone(), self.name, nats, self.shutdown.clone());
            tokio::spawn(relay.run());
        }
        let limit = self.settings.server.max_message_bytes;
        let streams = self.settings.server.max_feed_streams;
        FeedServiceServer::new(FeedServer::new(self.pool.clone(), self.shutdown.clone(), streams))
            .max_encoding_message_size(limit)
            .max_decoding_message_size(limit)
    }

    pub fn server(&self) -> GrpcServer {
        GrpcServer {
            settings: self.settings.server.clone(),
            pool: self.pool.clone(),
            verifier: self.verifier.clone(),
            shutdown: self.shutdown.clone(),
            nats: self.nats.clone(),
            routes: RoutesBuilder::default(),
            names: Vec::new(),
        }
    }
}

/// The gRPC server being assembled.
pub struct GrpcServer {
    settings: ServerSettings,
    pool: PgPool,
    verifier: Arc<TokenVerifier>,
    shutdown: CancellationToken,
    nats: Option<async_nats::Client>,
    routes: RoutesBuilder,
    names: Vec<&'static str>,
}

impl GrpcServer {
    /// Adds a service; its name is reported by the health service.
    pub fn add_service<S>(mut self, service: S) -> Self
    where
        S: tower::Service<http::Request<Body>, Response = http::Response<Body>, Error = Infallible>
            + NamedService
            + Clone
            + Send
            + Sync
            + 'static,
        S::Future: Send + 'static,
    {
        self.names.push(S::NAME);
        self.routes.add_service(service);
        self
    }

    /// Binds the configured address and serves.
    pub async fn bind(self) -> anyhow::Result<RunningServer> {
        let listener = TcpListener::bind(self.settings.listen_addr)
            .await
            .map_err(|e| anyhow::anyhow!("cannot listen on {} (server.listen_addr): {e}", self.settings.listen_addr))?;
        self.serve(listener).await
    }

    /// Serves on an already bound listener (tests bind `127.0.0.1:0`).
    pub async fn serve(mut self, listener: TcpListener) -> anyhow::Result<RunningServer> {
        let local_addr = listener.local_addr()?;
        let (reporter, health) = tonic_health::server::health_reporter();
        let health_port = match self.settings.health_listen_addr {
            Some(addr) => Some(spawn_health_listener(addr, health.clone(), self.shutdown.clone()).await?),
            None => None,
        };
        let reflection_v1 = tonic_reflection::server::Builder::configure()
            .register_encoded_file_descriptor_set(xiaopu_api::FILE_DESCRIPTOR_SET)
            .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
            .build_v1()?;
        let reflection_v1alpha = tonic_reflection::server::Builder::configure()
            .register_encoded_file_descriptor_set(xiaopu_api::FILE_DESCRIPTOR_SET)
            .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
            .build_v1alpha()?;
        self.routes.add_service(health);
        self.routes.add_service(reflection_v1);
        self.routes.add_service(reflection_v1alpha);

        let settings = &self.settings;
        let mut builder = Server::builder();
        if let (Some(cert), Some(key)) = (&settings.tls_cert_path, &settings.tls_key_path) {
            let identity = Identity::from_pem(std::fs::read(cert)?, std::fs::read(key)?);
            builder = builder.tls_config(ServerTlsConfig::new().identity(identity))?;
        }
        let cors = cors_layer(settings.cors_origins()?);
        let router = builder
            .accept_http1(settings.grpc_web)
            .timeout(Duration::from_millis(settings.request_timeout_ms))
            .tcp_nodelay(true)
            .http2_keepalive_interval(Some(Duration::from_secs(30)))
            .trace_fn(telemetry::server_span)
            // Outermost first: a browser's CORS preflight is answered before anything
            // (it carries no token); gRPC-Web is translated to gRPC, so everything
            // after it — auth included — sees one protocol; then shed when the global
            // limit is reached rather than queue.
            .layer(tower::util::option_layer(cors))
            .layer(tower::util::option_layer(settings.grpc_web.then(GrpcWebLayer::new)))
            .layer(MalformedRequestLayer)
            .layer(LoadShedLayer::new())
            .layer(GlobalConcurrencyLimitLayer::new(settings.concurrency_limit))
            .layer(AuthLayer::new(self.verifier.clone(), settings.public_reflection))
            .add_routes(self.routes.routes());

        // Known to health from the first call, NOT_SERVING until the database answers.
        set_all(&reporter, &self.names, ServingStatus::NotServing).await;
        // Liveness: the process serves, whatever the database does (a database
        // outage must make pods unready, not restart them).
        reporter.set_service_status(LIVENESS, ServingStatus::Serving).await;
        let health_task = tokio::spawn(follow_dependencies(
            reporter,
            self.names.clone(),
            self.pool.clone(),
            self.nats.clone(),
            Duration::from_millis(settings.health_check_interval_ms),
            self.shutdown.clone(),
        ));
        let shutdown = self.shutdown.clone();
        let grace = Duration::from_millis(settings.shutdown_grace_ms);
        let stop = shutdown.clone().cancelled_owned();
        let gate = Gate::new(listener, settings.connection_limits(), shutdown.clone())?;
        let serving = router.serve_with_incoming_shutdown(gate.into_stream(), stop);
        let task = tokio::spawn(async move {
            let result = serve_with_grace(serving, shutdown, grace).await;
            let _ = health_task.await;
            result
        });
        tracing::info!(%local_addr, health = ?health_port, services = ?self.names, "serving");
        Ok(RunningServer { local_addr, shutdown: self.shutdown, task })
    }
}

/// CORS for browsers calling over gRPC-Web from `origins` (none: no CORS at all):
/// the headers gRPC-Web sends, and the ones its clients must read.
fn cors_layer(origins: Vec<http::HeaderValue>) -> Option<CorsLayer> {
    if origins.is_empty() {
        return None;
    }
    let header = http::HeaderName::from_static;
    Some(
        CorsLayer::new()
            .allow_origin(AllowOrigin::list(origins))
            .allow_methods([http::Method::POST, http::Method::OPTIONS])
            .allow_headers([
                http::header::AUTHORIZATION,
                http::header::CONTENT_TYPE,
                header("x-grpc-web"),
                header("x-user-agent"),
                header("grpc-timeout"),
                header("traceparent"),
            ])
            .expose_headers([header("grpc-status"), header("grpc-message"), header("grpc-status-details-bin")])
            .max_age(Duration::from_secs(24 * 3600)),
    )
}

/// Serves only `grpc.health.v1`, in plaintext, on its own port: Kubernetes' native
/// gRPC probes cannot speak TLS. Returns the bound address.
async fn spawn_health_listener<S>(
    addr: SocketAddr,
    health: S,
    shutdown: CancellationToken,
) -> anyhow::Result<SocketAddr>
where
    S: tower::Service<http::Request<Body>, Response = http::Response<Body>, Error = Infallible>
        + NamedService
        + Clone
        + Send
        + Sync
        + 'static,
    S::Future: Send + 'static,
{
    let listener = TcpListener::bind(addr)
        .await
        .map_err(|e| anyhow::anyhow!("cannot listen on {addr} (server.health_listen_addr): {e}"))?;
    let bound = listener.local_addr()?;
    let server = Server::builder()
        .add_service(health)
        .serve_with_incoming_shutdown(TcpListenerStream::new(listener), shutdown.cancelled_owned());
    tokio::spawn(async move {
        if let Err(err) = server.await {
            tracing::warn!(error = %err, "health listener stopped");
        }
    });
    Ok(bound)
}

/// Reports SERVING only while the database answers (and NATS is connected, with the
/// JetStream transport), NOT_SERVING otherwise and from the moment shutdown begins.
async fn follow_dependencies(
    reporter: HealthReporter,
    names: Vec<&'static str>,
    pool: PgPool,
    nats: Option<async_nats::Client>,
    interval: Duration,
    shutdown: CancellationToken,
) {
    let mut last = None;
    loop {
        let status = match tokio::time::timeout(interval.max(Duration::from_millis(500)), db::ping(&pool)).await {
            Ok(Ok(())) => ServingStatus::Serving,
            Ok(Err(err)) => {
                tracing::debug!(error = %err, "health: database not answering");
                ServingStatus::NotServing
            }
            Err(_) => ServingStatus::NotServing,
        };
        let nats_down = nats.as_ref().is_some_and(|c| c.connection_state() != async_nats::connection::State::Connected);
        let status = if nats_down { ServingStatus::NotServing } else { status };
        if last != Some(status) {
            if nats_down {
                tracing::info!("health: NATS not connected");
            }
            tracing::info!(status = ?status, "health changed");
            set_all(&reporter, &names, status).await;
            last = Some(status);
        }
        tokio::select! {
            _ = tokio::time::sleep(interval) => {}
            _ = shutdown.cancelled() => {
                set_all(&reporter, &names, ServingStatus::NotServing).await;
                return;
            }
        }
    }
}

async fn set_all(reporter: &HealthReporter, names: &[&'static str], status: ServingStatus) {
    reporter.set_service_status("", status).await;
    for name in names {
        reporter.set_service_status(*name, status).await;
    }
}

/// A server running in the background.
pub struct RunningServer {
    pub local_addr: SocketAddr,
    shutdown: CancellationToken,
    task: JoinHandle<anyhow::Result<()>>,
}

impl RunningServer {
    /// A server of another kind (the web front's HTTP server) that stops when
    /// `shutdown` is cancelled and whose `task` ends when it has drained.
    pub fn new(local_addr: SocketAddr, shutdown: CancellationToken, task: JoinHandle<anyhow::Result<()>>) -> Self {
        Self { local_addr, shutdown, task }
    }

    /// Cancelling this token starts a graceful shutdown.
    pub fn shutdown_token(&self) -> CancellationToken {
        self.shutdown.clone()
    }

    /// Waits until the server has stopped.
    pub async fn wait(self) -> anyhow::Result<()> {
        self.task.await?
    }

    /// Starts a graceful shutdown and waits for the in-flight calls to finish.
    pub async fn stop(self) -> anyhow::Result<()> {
        self.shutdown.cancel();
        self.wait().await
    }

    /// Serves until SIGTERM or SIGINT, then shuts down gracefully.
    pub async fn run_until_signalled(self) -> anyhow::Result<()> {
        let token = self.shutdown.clone();
        tokio::spawn(async move {
            shutdown_signal().await;
            tracing::info!("shutdown signal received; draining");
            token.cancel();
        });
        self.wait().await
    }
}

/// Runs a server future until it ends. Once `shutdown` is cancelled (the server
/// itself stops accepting then), in-flight work gets `grace` to finish; after that the
/// server is dropped, so one stuck client cannot hold a pod's termination forever.
pub async fn serve_with_grace<E>(
    serving: impl Future<Output = Result<(), E>>,
    shutdown: CancellationToken,
    grace: Duration,
) -> anyhow::Result<()>
where
    E: Into<anyhow::Error>,
{
    tokio::pin!(serving);
    tokio::select! {
        result = &mut serving => result.map_err(Into::into),
        _ = shutdown.cancelled() => match tokio::time::timeout(grace, &mut serving).await {
            Ok(result) => result.map_err(Into::into),
            Err(_) => {
                tracing::warn!(grace_ms = grace.as_millis() as u64, "calls still running after the grace period; stopping anyway");
                Ok(())
            }
        },
    }
}

/// Resolves on SIGTERM (Kubernetes) or SIGINT (Ctrl-C).
pub async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut terminate) => {
                tokio::select! {
                    _ = interrupt => {}
                    _ = terminate.recv() => {}
                }
            }
            Err(_) => {
                let _ = interrupt.await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = interrupt.await;
    }
}
