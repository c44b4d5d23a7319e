//! Structured logs: JSON lines (or pretty ones, `--log-format pretty`) to stdout, and
//! JSON lines to daily-rotated files in `<data-dir>/logs` ([`LOG_FILES_KEPT`] kept).
//! Every line inside a request carries its `request_id` (the span opened by the
//! request middleware).

use std::path::Path;

use tracing_appender::non_blocking::WorkerGuard;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

use crate::config::LogFormat;

/// Log files kept in `<data-dir>/logs`, one a day: two weeks, the seed's §10.2 "hot"
/// tier; older ones are deleted as the day rolls over.
pub const LOG_FILES_KEPT: usize = 14;

/// What must live as long as the process: dropping it flushes the file log and sends
/// the spans still queued for the OTLP collector.
pub struct Guards {
    _file: Option<WorkerGuard>,
    _otlp: Option<crate::platform::otlp::Guard>,
}

/// Keep the guards alive for the life of the process. `format` applies to stdout;
/// the files are always JSON. With `otlp` (the collector's endpoint and what the
/// spans say about this process), spans are exported too (`platform::otlp`).
pub fn init(
    filter: &str,
    format: LogFormat,
    log_dir: Option<&Path>,
    otlp: Option<(
        &crate::platform::otlp::Exporter,
        crate::platform::otlp::Resource,
    )>,
) -> anyhow::Result<Guards> {
    let filter = EnvFilter::try_new(filter)?;
    let (json, pretty) = match format {
        LogFormat::Json => (
            Some(
                tracing_subscriber::fmt::layer()
                    .json()
                    .flatten_event(true)
                    .with_current_span(true)
                    .with_span_list(false)
                    .with_writer(std::io::stdout),
            ),
            None,
        ),
        LogFormat::Pretty => (
            None,
            // Colours only on a terminal, not in the journal or a container log.
            Some(
                tracing_subscriber::fmt::layer()
                    .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stdout()))
                    .with_writer(std::io::stdout),
            ),
        ),
    };
    let (file, guard) = match log_dir {
        Some(dir) => {
            std::fs::create_dir_all(dir)?;
            let appender = tracing_appender::rolling::Builder::new()
                .rotation(tracing_appender::rolling::Rotation::DAILY)
                .filename_prefix("jobber")
                .filename_suffix("log")
                .max_log_files(LOG_FILES_KEPT)
                .build(dir)?;
            let (writer, guard) = tracing_appender::non_blocking(appender);
            let layer = tracing_subscriber::fmt::layer()
                .json()
                .flatten_event(true)
                .with_current_span(true)
                .with_span_list(false)
                .with_writer(writer);
            (Some(layer), Some(guard))
        }
        None => (None, None),
    };
    let (otlp, otlp_guard) = match otlp {
        Some((exporter, resource)) => {
            let (layer, guard) = crate::platform::otlp::layer(exporter, resource)?;
            (Some(layer), Some(guard))
        }
        None => (None, None),
    };
    tracing_subscriber::registry()
        .with(filter)
        .with(json)
        .with(pretty)
        .with(file)
        .with(otlp)
        .try_init()?;
    Ok(Guards {
        _file: guard,
        _otlp: otlp_guard,
    })
}

/// Plain logs on stderr for one-shot commands (`migrate`, `admin`).
pub fn init_cli(filter: &str) {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::try_new(filter).unwrap_or_else(|_| EnvFilter::new("info")))
        .with_writer(std::io::stderr)
        .try_init();
}

tokio::task_local! {
    /// The id of the request being served (set by the HTTP layer), carried into logs,
    /// problem documents and the events the request's changes raise.
    pub static REQUEST_ID: String;
}

/// The id of the request being served on this task, if any.
pub fn current_request_id() -> Option<String> {
    REQUEST_ID.try_with(Clone::clone).ok()
}
