//! Structured logging, and optional OpenTelemetry export of the same spans.
//! `RUST_LOG` filters; production logs are JSON lines. When
//! `OTEL_EXPORTER_OTLP_ENDPOINT` is set, spans (a request, its GraphQL
//! operation) also go to that collector over OTLP/HTTP (protobuf), in
//! batches from a background thread; unset, no exporter exists at all.

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer, fmt};

/// Keeps the exporter alive; `shutdown` sends what is still batched.
#[must_use]
pub struct Telemetry {
    provider: Option<SdkTracerProvider>,
}

impl Telemetry {
    /// Flushes and stops the exporter (a no-op without one). Runs on its
    /// own thread: the exporter's HTTP client is a blocking one.
    pub fn shutdown(self) {
        if let Some(provider) = self.provider {
            let flushed = std::thread::spawn(move || provider.shutdown()).join();
            if !matches!(flushed, Ok(Ok(()))) {
                eprintln!("OpenTelemetry: some spans could not be sent at shutdown");
            }
        }
    }
}

/// The OTLP exporter, when `OTEL_EXPORTER_OTLP_ENDPOINT` names a collector.
/// The exporter reads the standard `OTEL_EXPORTER_OTLP_*` and `OTEL_BSP_*`
/// variables itself.
fn otlp() -> Option<SdkTracerProvider> {
    std::env::var("OTEL_EXPORTER_OTLP_ENDPOINT")
        .ok()
        .filter(|v| !v.trim().is_empty())?;
    // Built off the async runtime: the blocking HTTP client must not be
    // created (or dropped) inside it.
    let built = std::thread::spawn(|| {
        use opentelemetry_otlp::{Protocol, WithExportConfig};
        let exporter = opentelemetry_otlp::SpanExporter::builder()
            .with_http()
            .with_protocol(Protocol::HttpBinary)
            .build()?;
        let resource = opentelemetry_sdk::Resource::builder()
            .with_service_name("referral-exchange")
            .build();
        Ok::<_, opentelemetry_otlp::ExporterBuildError>(
            SdkTracerProvider::builder()
                .with_batch_exporter(exporter)
                .with_resource(resource)
                .build(),
        )
    })
    .join();
    match built {
        Ok(Ok(provider)) => Some(provider),
        Ok(Err(e)) => {
            eprintln!("OpenTelemetry export is off: {e}");
            None
        }
        Err(_) => None,
    }
}

pub fn init(json: bool) -> Telemetry {
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,sea_orm=warn"));
    // Colours only on a terminal: log files and collectors get plain text.
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stdout());
    let lines = fmt::layer().with_target(true).with_ansi(ansi);
    let lines = if json {
        lines.json().boxed()
    } else {
        lines.boxed()
    };
    let provider = otlp();
    let spans = provider
        .as_ref()
        .map(|p| tracing_opentelemetry::layer().with_tracer(p.tracer("referral-exchange")));
    // A second init (tests spawning several apps) is harmless, so ignore it.
    let _ = tracing_subscriber::registry()
        .with(lines)
        .with(spans)
        .with(filter)
        .try_init();
    Telemetry { provider }
}
