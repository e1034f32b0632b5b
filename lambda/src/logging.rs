//! JSON log lines on stdout, which Lambda ships to the function's log group.
//! The SDK and HTTP crates stay at `warn`: their debug output can carry
//! request URLs, and the webhook URL is a credential.

use tracing_subscriber::EnvFilter;

pub const DEFAULT_FILTER: &str =
    "info,aws_config=warn,aws_smithy_runtime=warn,aws_smithy_runtime_api=warn,aws_runtime=warn,hyper=warn,hyper_util=warn,reqwest=warn,rustls=warn,h2=warn,lambda_runtime=warn,lambda_runtime_api_client=warn";

pub fn init() {
    let filter = match std::env::var("RUST_LOG") {
        // A bare level from the template ("info") keeps the noisy crates quiet.
        Ok(v) if !v.trim().is_empty() && v.contains('=') => EnvFilter::new(v),
        Ok(v) if !v.trim().is_empty() => {
            EnvFilter::new(DEFAULT_FILTER.replacen("info", v.trim(), 1))
        }
        _ => EnvFilter::new(DEFAULT_FILTER),
    };
    tracing_subscriber::fmt()
        .json()
        .flatten_event(true)
        .with_current_span(false)
        .with_span_list(false)
        .with_ansi(false)
        .with_target(false)
        .with_env_filter(filter)
        .with_writer(std::io::stdout)
        .init();
}
