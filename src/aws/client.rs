//! One `SdkConfig`, one client per service, built once per run.
//!
//! Every command gets the same `Aws` value, so region, profile, credentials and
//! `AWS_ENDPOINT_URL` are resolved exactly once and identically everywhere.

use std::sync::Arc;

use anyhow::{Context, Result};
use aws_config::{BehaviorVersion, Region, SdkConfig};
use tokio::sync::OnceCell;

use crate::errors::AwsResultExt;

/// Where to find credentials and which region to use, from the global flags.
#[derive(Debug, Clone, Default)]
pub struct AwsOptions {
    pub profile: Option<String>,
    pub region: Option<String>,
}

/// The AWS clients the CLI uses. Cheap to clone (each client is an `Arc` inside).
#[derive(Clone, Debug)]
pub struct Aws {
    pub config: SdkConfig,
    pub cloudformation: aws_sdk_cloudformation::Client,
    pub s3: aws_sdk_s3::Client,
    pub secrets: aws_sdk_secretsmanager::Client,
    pub sns: aws_sdk_sns::Client,
    pub logs: aws_sdk_cloudwatchlogs::Client,
    pub sts: aws_sdk_sts::Client,
    pub lambda: aws_sdk_lambda::Client,
    pub sqs: aws_sdk_sqs::Client,
    pub account: aws_sdk_account::Client,
    pub events: aws_sdk_eventbridge::Client,
    pub cloudwatch: aws_sdk_cloudwatch::Client,
    pub organizations: aws_sdk_organizations::Client,
    /// The stack's state table (`test-send --direct` takes its slot there).
    pub dynamodb: aws_sdk_dynamodb::Client,
    /// Who the credentials are, asked of STS once per run and shared by every
    /// region's clients (the bucket owner, the organization, the secret's
    /// readers all need it).
    caller: Arc<OnceCell<Caller>>,
}

/// The account and ARN of the credentials, as `sts:GetCallerIdentity` gives them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// The only owner any S3 call accepts.
    pub account: String,
    /// A user, the root or an assumed role.
    pub arn: String,
}

/// The SDK's HTTPS client on rustls with ring. The SDK's default client
/// builds aws-lc, a C library whose build was the longest part of a cold
/// install; the function already uses ring (lambda/src/bin/bootstrap.rs).
/// Credential providers (SSO, web identity) get it from the loader too.
pub fn https() -> aws_sdk_sts::config::SharedHttpClient {
    aws_smithy_http_client::Builder::new()
        .tls_provider(aws_smithy_http_client::tls::Provider::Rustls(
            aws_smithy_http_client::tls::rustls_provider::CryptoMode::Ring,
        ))
        .build_https()
}

impl Aws {
    pub async fn load(opts: &AwsOptions) -> Aws {
        let mut loader = aws_config::defaults(BehaviorVersion::latest()).http_client(https());
        if let Some(profile) = &opts.profile {
            loader = loader.profile_name(profile);
        }
        if let Some(region) = &opts.region {
            loader = loader.region(Region::new(region.clone()));
        }
        let config = loader.load().await;
        Aws::from_config(config)
    }

    pub fn from_config(config: SdkConfig) -> Aws {
        Aws::with_caller(config, Arc::default())
    }

    fn with_caller(config: SdkConfig, caller: Arc<OnceCell<Caller>>) -> Aws {
        // S3 path-style addressing keeps custom endpoints (moto, MinIO, VPC
        // endpoints) working without wildcard DNS; AWS itself accepts both.
        let s3_config = aws_sdk_s3::config::Builder::from(&config)
            .force_path_style(true)
            .build();
        Aws {
            cloudformation: aws_sdk_cloudformation::Client::new(&config),
            s3: aws_sdk_s3::Client::from_conf(s3_config),
            secrets: aws_sdk_secretsmanager::Client::new(&config),
            sns: aws_sdk_sns::Client::new(&config),
            logs: aws_sdk_cloudwatchlogs::Client::new(&config),
            sts: aws_sdk_sts::Client::new(&config),
            lambda: aws_sdk_lambda::Client::new(&config),
            sqs: aws_sdk_sqs::Client::new(&config),
            account: aws_sdk_account::Client::new(&config),
            events: aws_sdk_eventbridge::Client::new(&config),
            cloudwatch: aws_sdk_cloudwatch::Client::new(&config),
            organizations: aws_sdk_organizations::Client::new(&config),
            dynamodb: aws_sdk_dynamodb::Client::new(&config),
            caller,
            config,
        }
    }

    /// The region every client uses; `None` only when nothing configured one.
    /// The same credentials and endpoint in another region: forwarder
    /// stacks and test events live in other regions than the home stack.
    pub fn in_region(&self, region: &str) -> Aws {
        Aws::with_caller(
            self.config
                .to_builder()
                .region(Region::new(region.to_string()))
                .build(),
            self.caller.clone(),
        )
    }

    /// Who the credentials are; one `sts:GetCallerIdentity` per run.
    pub async fn caller(&self) -> Result<&Caller> {
        self.caller
            .get_or_try_init(|| async {
                let identity = self
                    .sts
                    .get_caller_identity()
                    .send()
                    .await
                    .aws("sts:GetCallerIdentity")
                    .context("finding who the AWS credentials are")?;
                let field = |v: Option<&str>, what: &str| {
                    v.map(str::to_string)
                        .with_context(|| format!("sts:GetCallerIdentity returned no {what}"))
                };
                Ok(Caller {
                    account: field(identity.account(), "account id")?,
                    arn: field(identity.arn(), "ARN")?,
                })
            })
            .await
    }

    pub fn region(&self) -> Option<&str> {
        self.config.region().map(|r| r.as_ref())
    }
}
