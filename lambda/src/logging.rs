//! JSON log lines on stdout, which Lambda ships to the function's log group.
//! The SDK and HTTP crates stay at `warn`: their debug output can carry
//! request URLs, and the webhook URL is a credential.
//!
//! The filter is a `Targets` (`target=level` directives), not an `EnvFilter`:
//! that one needs a regex engine, and span or field filters are of no use
//! here. A `RUST_LOG` that does not parse gives the default filter.

use tracing_subscriber::filter::Targets;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

pub const DEFAULT_FILTER: &str =
    "info,aws_config=warn,aws_smithy_runtime=warn,aws_smithy_runtime_api=warn,aws_runtime=warn,hyper=warn,hyper_util=warn,reqwest=warn,rustls=warn,h2=warn,lambda_runtime=warn,lambda_runtime_api_client=warn";

pub fn init() {
    tracing_subscriber::fmt()
        .json()
        .flatten_event(true)
        .with_current_span(false)
        .with_span_list(false)
        .with_ansi(false)
        .with_target(false)
        .with_writer(std::io::stdout)
        .finish()
        .with(filter(std::env::var("RUST_LOG").ok().as_deref()))
        .init();
}

/// The filter for a `RUST_LOG` value.
fn filter(rust_log: Option<&str>) -> Targets {
    let default = || DEFAULT_FILTER.parse().unwrap_or_default();
    match rust_log.map(str::trim) {
        Some(v) if v.contains('=') => v.parse().unwrap_or_else(|_| default()),
        // A bare level from the template ("info") keeps the noisy crates quiet.
        Some(v) if !v.is_empty() => DEFAULT_FILTER
            .replacen("info", v, 1)
            .parse()
            .unwrap_or_else(|_| default()),
        _ => default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tracing::Level;

    #[test]
    fn a_bare_level_keeps_the_noisy_crates_at_warn() {
        let f = filter(Some("debug"));
        assert!(f.would_enable("dingtalk_notifier_lambda::handler", &Level::DEBUG));
        assert!(!f.would_enable("aws_smithy_runtime::client", &Level::INFO));
        assert!(f.would_enable("aws_smithy_runtime::client", &Level::WARN));
        let f = filter(None);
        assert!(f.would_enable("bootstrap", &Level::INFO));
        assert!(!f.would_enable("bootstrap", &Level::DEBUG));
        assert!(!f.would_enable("reqwest::connect", &Level::INFO));
    }

    #[test]
    fn directives_are_taken_as_given_and_nonsense_gives_the_default() {
        let f = filter(Some("warn,reqwest=trace"));
        assert!(f.would_enable("reqwest::connect", &Level::TRACE));
        assert!(!f.would_enable("bootstrap", &Level::INFO));
        let f = filter(Some("x=loud"));
        assert!(f.would_enable("bootstrap", &Level::INFO));
        assert!(!f.would_enable("hyper::proto", &Level::INFO));
    }
}
