//! The Lambda entry point on `provided.al2023`: build everything once per
//! container, then serve invocations.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use dingtalk_notifier_lambda::budget::SharedBudget;
use dingtalk_notifier_lambda::config::Config;
use dingtalk_notifier_lambda::dingtalk::DingTalkClient;
use dingtalk_notifier_lambda::handler::{Notifier, Robots};
use dingtalk_notifier_lambda::health_thread::HealthMemory;
use dingtalk_notifier_lambda::llm::Summarizer;
use dingtalk_notifier_lambda::logging;
use dingtalk_notifier_lambda::secret::SecretStore;
use lambda_runtime::{service_fn, Error, LambdaEvent};
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), Error> {
    logging::init();
    let config = match Config::from_env() {
        Ok(c) => c,
        Err(e) => {
            tracing::error!(error = %e, "invalid function configuration");
            return Err(e.into());
        }
    };
    for w in &config.warnings {
        tracing::warn!("{w}");
    }
    // The SDK's HTTPS client with rustls on ring, the provider reqwest uses
    // too (see Cargo.toml); the one SdkConfig carries it to every client.
    let https = aws_smithy_http_client::Builder::new()
        .tls_provider(aws_smithy_http_client::tls::Provider::Rustls(
            aws_smithy_http_client::tls::rustls_provider::CryptoMode::Ring,
        ))
        .build_https();
    let aws = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .http_client(https)
        .load()
        .await;
    let secrets = SecretStore::with_max_age(
        aws_sdk_secretsmanager::Client::new(&aws),
        config.secret_arn.clone(),
        config.secret_max_age,
    );
    let llm = match &config.llm {
        Some(llm_cfg) => {
            let mut builder = aws_sdk_bedrockruntime::config::Builder::from(&aws);
            if let Some(region) = &llm_cfg.region {
                builder = builder.region(aws_config::Region::new(region.clone()));
            }
            Some(Summarizer::new(
                aws_sdk_bedrockruntime::Client::from_conf(builder.build()),
                llm_cfg.clone(),
            ))
        }
        None => None,
    };
    if config.state_table.is_none() {
        tracing::warn!(
            "STATE_TABLE is not set: this container paces alone at its conservative share of each robot's limit"
        );
    }
    // One client per robot, each with its own key in the state table.
    let (limit, window) = (config.rate_limit, config.rate_window);
    let hosts = config.webhook_hosts.clone();
    let table = config
        .state_table
        .clone()
        .map(|t| (state_table_client(&aws), t));
    let health = table
        .clone()
        .map(|(client, table)| HealthMemory::new(client, table));
    let robots = Robots::new(move |robot: &str| {
        let dingtalk =
            DingTalkClient::with_rate_limit(limit, window).with_webhook_hosts(hosts.clone());
        match &table {
            Some((client, table)) => dingtalk.with_budget(SharedBudget::new(
                client.clone(),
                table.clone(),
                robot,
                limit,
                window,
            )),
            None => dingtalk,
        }
    });
    let mut notifier = Notifier::new(config, secrets, robots, llm);
    if let Some(memory) = health {
        notifier = notifier.with_health_memory(memory);
    }
    let notifier = &notifier;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        let deadline = instant_from_epoch_ms(event.context.deadline);
        notifier
            .handle(&event.payload, &event.context.request_id, deadline)
            .await
            .map_err(Error::from)
    }))
    .await
}

/// The state table's client: a slot must not hold a send up for long, so
/// one retry and 2 s per call; a table that does not answer in time sends
/// the container to its conservative share (`dingtalk::FALLBACK_SENDERS`).
fn state_table_client(aws: &aws_config::SdkConfig) -> aws_sdk_dynamodb::Client {
    let conf = aws_sdk_dynamodb::config::Builder::from(aws)
        .retry_config(aws_config::retry::RetryConfig::standard().with_max_attempts(2))
        .timeout_config(
            aws_config::timeout::TimeoutConfig::builder()
                .operation_timeout(Duration::from_secs(2))
                .build(),
        )
        .build();
    aws_sdk_dynamodb::Client::from_conf(conf)
}

/// Lambda gives the deadline as epoch milliseconds.
fn instant_from_epoch_ms(deadline_ms: u64) -> Instant {
    let now_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or_default();
    Instant::now() + Duration::from_millis(deadline_ms.saturating_sub(now_ms))
}
