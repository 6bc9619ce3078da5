//! Logs and traces: `tracing` everywhere, exported by OpenTelemetry over OTLP when
//! configured, with W3C trace context carried in gRPC metadata so one trace crosses
//! services.
use opentelemetry::{
    Context,
    propagation::{Extractor, Injector, TextMapPropagator},
    trace::TracerProvider as _,
};
use opentelemetry_sdk::{
    Resource,
    propagation::TraceContextPropagator,
    trace::{Sampler, SdkTracerProvider},
};
use tracing_opentelemetry::OpenTelemetrySpanExt;
use tracing_subscriber::{EnvFilter, Layer, layer::SubscriberExt, util::SubscriberInitExt};

use crate::config::{LogFormat, TelemetrySettings};

/// Owns the trace exporter; [`Telemetry::shutdown`] flushes what is buffered.
pub struct Telemetry {
    provider: Option<SdkTracerProvider>,
}

impl Telemetry {
    /// Flushes and stops the exporter (call once, at the end of `main`).
    pub fn shutdown(self) {
        if let Some(provider) = self.provider
            && let Err(err) = provider.shutdown()
        {
            eprintln!("telemetry: flushing traces failed: {err}");
        }
    }
}

/// Installs the global subscriber: logs to stderr (text or JSON) and, when an OTLP
/// endpoint is configured, spans to the collector. Must run inside the Tokio runtime.
pub fn init(settings: &TelemetrySettings) -> anyhow::Result<Telemetry> {
    let provider = match &settings.otlp_endpoint {
        Some(endpoint) => Some(otlp_provider(settings, endpoint)?),
        None => None,
    };
    install(settings, provider.clone(), std::io::stderr)?;
    Ok(Telemetry { provider })
}

/// Installs the subscriber with a given trace provider and log sink; tests use it to
/// capture spans in memory and keep logs quiet.
pub fn install<W>(settings: &TelemetrySettings, provider: Option<SdkTracerProvider>, writer: W) -> anyhow::Result<()>
where
    W: for<'w> tracing_subscriber::fmt::MakeWriter<'w> + Send + Sync + 'static,
{
    opentelemetry::global::set_text_map_propagator(TraceContextPropagator::new());
    let filter = EnvFilter::try_new(&settings.log_filter)
        .map_err(|e| anyhow::anyhow!("configuration key `telemetry.log_filter`: {e}"))?;
    let fmt = tracing_subscriber::fmt::layer().with_writer(writer);
    let fmt = match settings.log_format {
        LogFormat::Text => fmt.boxed(),
        LogFormat::Json => fmt.json().flatten_event(true).boxed(),
    };
    let otel = provider.map(|provider| {
        opentelemetry::global::set_tracer_provider(provider.clone());
        tracing_opentelemetry::layer().with_tracer(provider.tracer(settings.service_name.clone()))
    });
    tracing_subscriber::registry()
        .with(otel)
        .with(fmt.with_filter(filter))
        .try_init()
        .map_err(|e| anyhow::anyhow!("telemetry already installed: {e}"))
}

fn otlp_provider(settings: &TelemetrySettings, endpoint: &str) -> anyhow::Result<SdkTracerProvider> {
    use opentelemetry_otlp::WithExportConfig;
    let exporter = opentelemetry_otlp::SpanExporter::builder().with_tonic().with_endpoint(endpoint).build()?;
    Ok(tracer_provider(settings, exporter))
}

/// A provider with Xiaopu's resource and sampling (parent-based, ratio for roots).
pub fn tracer_provider<E>(settings: &TelemetrySettings, exporter: E) -> SdkTracerProvider
where
    E: opentelemetry_sdk::trace::SpanExporter + 'static,
{
    SdkTracerProvider::builder()
        .with_batch_exporter(exporter)
        .with_sampler(Sampler::ParentBased(Box::new(Sampler::TraceIdRatioBased(settings.sampling_ratio))))
        .with_resource(Resource::builder().with_service_name(settings.service_name.clone()).build())
        .build()
}

struct HeaderExtractor<'a>(&'a http::HeaderMap);

impl Extractor for HeaderExtractor<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|v| v.to_str().ok())
    }
    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(|k| k.as_str()).collect()
    }
}

struct MetadataInjector<'a>(&'a mut tonic::metadata::MetadataMap);

impl Injector for MetadataInjector<'_> {
    fn set(&mut self, key: &str, value: String) {
        if let (Ok(key), Ok(value)) = (
            tonic::metadata::MetadataKey::from_bytes(key.as_bytes()),
            tonic::metadata::MetadataValue::try_from(value.as_str()),
        ) {
            self.0.insert(key, value);
        }
    }
}

/// The trace context a caller sent in `traceparent`/`tracestate`.
pub fn extract_context(headers: &http::HeaderMap) -> Context {
    TraceContextPropagator::new().extract(&HeaderExtractor(headers))
}

/// Writes the current span's trace context into outgoing metadata.
pub fn inject_current_context(metadata: &mut tonic::metadata::MetadataMap) {
    let context = tracing::Span::current().context();
    TraceContextPropagator::new().inject_context(&context, &mut MetadataInjector(metadata));
}

/// The server span of one HTTP request (the web front), named by its route, a child
/// of the caller's trace when it sent one.
pub fn http_server_span(method: &http::Method, route: &str, headers: &http::HeaderMap) -> tracing::Span {
    let span = tracing::info_span!(
        "http.server",
        otel.name = %format!("{method} {route}"),
        otel.kind = "server",
        http.request.method = %method,
        http.route = %route,
        http.response.status_code = tracing::field::Empty,
        enduser.id = tracing::field::Empty,
    );
    let _ = span.set_parent(extract_context(headers));
    span
}

/// The server span of one gRPC call, a child of the caller's trace when it sent one.
pub fn server_span(request: &http::Request<()>) -> tracing::Span {
    let path = request.uri().path();
    let span = tracing::info_span!(
        "grpc.server",
        otel.name = %path.trim_start_matches('/'),
        otel.kind = "server",
        rpc.system = "grpc",
        enduser.id = tracing::field::Empty,
        enduser.role = tracing::field::Empty,
    );
    // A malformed or absent traceparent simply starts a new trace.
    let _ = span.set_parent(extract_context(request.headers()));
    span
}
