//! `deploy`'s live check of the LLM settings: one tiny Converse call
//! (`maxTokens` 1) with the chosen model in the chosen region, made with the
//! deploying user's credentials before anything is changed.
//!
//! Why live: whether Bedrock serves a base model id on demand depends on the
//! model, the region and the account, and changes over time; a refusal found
//! here costs one line, the same refusal found by the function costs every
//! summary. When Bedrock wants an inference profile, the profiles of the
//! region's geographies are tried, best first ([`profile_prefixes_for`]),
//! and the first that answers is used.
//!
//! The pure parts (what a Bedrock answer means, which region to use, whether
//! the prompt fits the function's environment) are separate functions with
//! unit tests; [`check_model`] is the only one that talks to AWS.

use std::time::Duration;

use anyhow::{bail, Result};
use aws_config::{Region, SdkConfig};
use aws_sdk_bedrockruntime::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_bedrockruntime::types::{
    ContentBlock, ConversationRole, InferenceConfiguration, Message,
};
use dingtalk_notifier_lambda::config::{environment_size, MAX_ENVIRONMENT_BYTES};
use dingtalk_notifier_lambda::model_id::{
    default_llm_region, partition, partition_has_bedrock, profile_prefix, profile_prefixes_for,
};

/// Long enough for a cold model, short enough not to stall a deploy.
const PROBE_TIMEOUT: Duration = Duration::from_secs(20);

/// What one probe call said about a model id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Probe {
    /// Bedrock answered: the id works here.
    Served,
    /// A base id Bedrock serves only through an inference profile.
    NeedsProfile,
    /// Bedrock does not know the id in this region.
    Unknown(String),
    /// Bedrock refuses the model to this account (access, end of life, ...).
    Refused(String),
    /// The check itself could not be made (the caller's own permissions,
    /// throttling, a service hiccup): the model may still work.
    Unchecked(String),
    /// No Bedrock endpoint answered in the region.
    Unreachable(String),
}

/// What a Bedrock service error means for the check.
pub fn classify(code: &str, message: &str) -> Probe {
    let message = message.to_string();
    match code {
        "ValidationException" if message.contains("on-demand throughput") => Probe::NeedsProfile,
        "ValidationException" if message.contains("model identifier is invalid") => {
            Probe::Unknown(message)
        }
        "ResourceNotFoundException" => Probe::Refused(message),
        "AccessDeniedException" if message.contains("not authorized to perform") => {
            Probe::Unchecked(message)
        }
        "AccessDeniedException" => Probe::Refused(message),
        _ => Probe::Unchecked(format!("{code}: {message}")),
    }
}

/// The model to deploy, and what to tell the user about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checked {
    pub model_id: String,
    /// Said as information (a profile was chosen) ...
    pub info: Option<String>,
    /// ... or as a warning (the check could not be made).
    pub warning: Option<String>,
}

/// The decision after probing `model_id` (and, when needed, the profiles in
/// `tried`, in order, with their answers).
pub fn decide(
    model_id: &str,
    region: &str,
    first: &Probe,
    tried: &[(String, Probe)],
) -> Result<Checked> {
    let keep = |warning: Option<String>| Checked {
        model_id: model_id.to_string(),
        info: None,
        warning,
    };
    match first {
        Probe::Served => Ok(keep(None)),
        Probe::Unchecked(why) => Ok(keep(Some(format!(
            "could not check {model_id} in {region} ({why}); deploying it unchecked: \
             if Bedrock refuses it, alerts go out without a summary"
        )))),
        Probe::Unreachable(why) => bail!(
            "invalid --llm-region: Bedrock is not reachable in {region} ({why}); choose a region \
             with Bedrock (e.g. us-east-1) or pass --llm off"
        ),
        Probe::Unknown(why) => bail!(
            "invalid --llm-model-id: Bedrock in {region} does not know `{model_id}` ({why}); \
             check the id, or choose another --llm-region"
        ),
        Probe::Refused(why) => bail!(
            "invalid --llm-model-id: Bedrock in {region} refuses `{model_id}`: {why} Enable the \
             model for this account, choose another, or pass --llm off"
        ),
        Probe::NeedsProfile => match tried.iter().find(|(_, p)| *p == Probe::Served) {
            Some((profile, _)) => Ok(Checked {
                model_id: profile.clone(),
                info: Some(format!(
                    "Bedrock serves {model_id} in {region} only through an inference profile: \
                     using {profile}"
                )),
                warning: None,
            }),
            None => {
                let names: Vec<&str> = tried.iter().map(|(p, _)| p.as_str()).collect();
                bail!(
                    "invalid --llm-model-id: Bedrock in {region} serves `{model_id}` only \
                     through an inference profile, and none answered ({}); choose another model \
                     or --llm-region",
                    if names.is_empty() {
                        "none to try".to_string()
                    } else {
                        names.join(", ")
                    }
                )
            }
        },
    }
}

/// One tiny Converse call.
async fn probe(client: &aws_sdk_bedrockruntime::Client, model_id: &str) -> Probe {
    let message = match Message::builder()
        .role(ConversationRole::User)
        .content(ContentBlock::Text("ping".into()))
        .build()
    {
        Ok(m) => m,
        Err(e) => return Probe::Unchecked(e.to_string()),
    };
    let sent = client
        .converse()
        .model_id(model_id)
        .messages(message)
        .inference_config(InferenceConfiguration::builder().max_tokens(1).build())
        .send()
        .await;
    match sent {
        Ok(_) => Probe::Served,
        Err(SdkError::DispatchFailure(e)) => Probe::Unreachable(
            if e.is_timeout() {
                "connection timed out"
            } else if e.is_io() {
                "could not connect: DNS or connection refused"
            } else {
                "could not send the request"
            }
            .to_string(),
        ),
        Err(SdkError::TimeoutError(_)) => {
            Probe::Unreachable(format!("no answer in {} s", PROBE_TIMEOUT.as_secs()))
        }
        Err(e @ SdkError::ServiceError(_)) => {
            classify(e.code().unwrap_or("error"), e.message().unwrap_or_default())
        }
        // One line, never the raw response.
        Err(e) => Probe::Unchecked(e.to_string()),
    }
}

/// Checks `model_id` in `region`; a base id that needs a profile is
/// switched to the first profile of the region's geographies that answers.
pub async fn check_model(config: &SdkConfig, region: &str, model_id: &str) -> Result<Checked> {
    // Its own client: the LLM region may differ from the stack's, and the
    // probe must neither retry for long nor hang a deploy.
    let conf = aws_sdk_bedrockruntime::config::Builder::from(config)
        .region(Region::new(region.to_string()))
        .retry_config(aws_config::retry::RetryConfig::disabled())
        .timeout_config(
            aws_config::timeout::TimeoutConfig::builder()
                .operation_timeout(PROBE_TIMEOUT)
                .build(),
        )
        .build();
    let client = aws_sdk_bedrockruntime::Client::from_conf(conf);
    let first = probe(&client, model_id).await;
    let mut tried = Vec::new();
    if first == Probe::NeedsProfile && profile_prefix(model_id).is_none() {
        for prefix in profile_prefixes_for(region) {
            let profile = format!("{prefix}.{model_id}");
            let answer = probe(&client, &profile).await;
            let served = answer == Probe::Served;
            tried.push((profile, answer));
            if served {
                break;
            }
        }
    }
    decide(model_id, region, &first, &tried)
}

/// The LLM region to use and why, from what was asked (`chosen`, empty for
/// the default) and the stack's region. Errors name the flag and the way out.
pub fn llm_region(stack_region: &str, chosen: &str) -> Result<(String, String)> {
    let stack_partition = partition(stack_region);
    if !chosen.is_empty() {
        let p = partition(chosen);
        if p != stack_partition {
            bail!(
                "invalid --llm-region: {chosen} is in partition {p}, the stack's region \
                 {stack_region} in {stack_partition}; the function can only call Bedrock in its \
                 own partition: choose a region of {stack_partition}, or pass --llm off"
            );
        }
        if !partition_has_bedrock(p) {
            bail!(
                "invalid --llm-region: partition {p} ({chosen}) has no Amazon Bedrock; pass --llm off"
            );
        }
        return Ok((chosen.to_string(), "as chosen".to_string()));
    }
    match default_llm_region(stack_region) {
        Some(r) if r == stack_region => Ok((r.to_string(), "the stack's region".to_string())),
        Some(r) => Ok((
            r.to_string(),
            format!("{stack_region} has no Bedrock; the original app's default"),
        )),
        None => bail!(
            "--llm on: partition {stack_partition} ({stack_region}) has no Amazon Bedrock; pass \
             --llm-region with a region of {stack_partition} that has it, or --llm off"
        ),
    }
}

/// Lambda refuses a function whose variables exceed 4 KB in total; the
/// system prompt is the only one that can be long, so its limit is what
/// the other variables leave (`parameters`: the stack parameters as passed).
pub fn check_environment(parameters: &[(&str, String)]) -> Result<()> {
    let value = |name: &str| {
        parameters
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
            .unwrap_or_default()
    };
    let total = environment_size(value);
    if total <= MAX_ENVIRONMENT_BYTES {
        return Ok(());
    }
    let prompt = value("LlmSystemPrompt").len();
    let room = MAX_ENVIRONMENT_BYTES.saturating_sub(total - prompt);
    bail!(
        "invalid --llm-system-prompt-file: the prompt is {prompt} bytes, and Lambda allows 4 KB \
         ({MAX_ENVIRONMENT_BYTES} bytes) for all the function's environment variables together; \
         shorten it to at most {room} bytes"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const REFUSAL: &str = "Invocation of model ID amazon.nova-lite-v1:0 with on-demand throughput \
         isn\u{2019}t supported. Retry your request with the ID or ARN of an inference profile \
         that contains this model.";

    #[test]
    fn bedrock_answers_mean_what_they_say() {
        assert_eq!(
            classify("ValidationException", REFUSAL),
            Probe::NeedsProfile
        );
        assert_eq!(
            classify(
                "ValidationException",
                "The provided model identifier is invalid."
            ),
            Probe::Unknown("The provided model identifier is invalid.".into())
        );
        assert!(matches!(
            classify(
                "AccessDeniedException",
                "You don't have access to the model with the specified model ID."
            ),
            Probe::Refused(_)
        ));
        assert!(matches!(
            classify(
                "AccessDeniedException",
                "User: arn:aws:iam::1:user/d is not authorized to perform: bedrock:InvokeModel"
            ),
            Probe::Unchecked(_)
        ));
        assert!(matches!(
            classify("ThrottlingException", "slow down"),
            Probe::Unchecked(_)
        ));
    }

    #[test]
    fn a_refused_base_id_becomes_the_first_profile_that_answers() {
        let tried = vec![
            (
                "jp.amazon.nova-lite-v1:0".to_string(),
                Probe::Unknown("x".into()),
            ),
            ("apac.amazon.nova-lite-v1:0".to_string(), Probe::Served),
        ];
        let c = decide(
            "amazon.nova-lite-v1:0",
            "ap-northeast-1",
            &Probe::NeedsProfile,
            &tried,
        )
        .unwrap();
        assert_eq!(c.model_id, "apac.amazon.nova-lite-v1:0");
        assert_eq!(
            c.info.as_deref(),
            Some(
                "Bedrock serves amazon.nova-lite-v1:0 in ap-northeast-1 only through an \
                 inference profile: using apac.amazon.nova-lite-v1:0"
            )
        );
        let err = decide("a.b", "sa-east-1", &Probe::NeedsProfile, &tried[..1]).unwrap_err();
        assert!(
            err.to_string()
                .contains("none answered (jp.amazon.nova-lite-v1:0)"),
            "{err}"
        );
        let unchecked = decide("a.b", "us-east-1", &Probe::Unchecked("x".into()), &[]).unwrap();
        assert_eq!(unchecked.model_id, "a.b");
        assert!(unchecked.warning.is_some());
    }

    #[test]
    fn llm_region_defaults_and_partitions() {
        assert_eq!(
            llm_region("ap-southeast-1", "").unwrap(),
            (
                "ap-southeast-1".to_string(),
                "the stack's region".to_string()
            )
        );
        assert_eq!(
            llm_region("ap-east-1", "").unwrap(),
            (
                "us-east-1".to_string(),
                "ap-east-1 has no Bedrock; the original app's default".to_string()
            )
        );
        assert_eq!(
            llm_region("cn-north-1", "").unwrap_err().to_string(),
            "--llm on: partition aws-cn (cn-north-1) has no Amazon Bedrock; pass --llm-region \
             with a region of aws-cn that has it, or --llm off"
        );
        assert!(llm_region("cn-north-1", "us-east-1")
            .unwrap_err()
            .to_string()
            .starts_with("invalid --llm-region: us-east-1 is in partition aws, the stack's region cn-north-1 in aws-cn"));
        assert!(llm_region("cn-north-1", "cn-northwest-1").is_err());
        assert_eq!(
            llm_region("eu-west-1", "us-west-2").unwrap().0,
            "us-west-2".to_string()
        );
    }

    #[test]
    fn the_prompt_must_leave_the_environment_under_4_kb() {
        let mut params = vec![
            ("WebhookSecretArn", "arn:aws:secretsmanager:us-east-1:123456789012:secret:dingtalk-notifier/dingtalk-notifier/webhook-AbCdEf".to_string()),
            ("LlmModelId", "amazon.nova-lite-v1:0".to_string()),
            ("LlmSystemPrompt", "短".repeat(1000)),
        ];
        assert!(check_environment(&params).is_ok());
        params[2].1 = "长".repeat(1334);
        let err = check_environment(&params).unwrap_err().to_string();
        assert!(
            err.starts_with("invalid --llm-system-prompt-file: the prompt is 4002 bytes, and Lambda allows 4 KB (4096 bytes)"),
            "{err}"
        );
        let room: usize = err
            .rsplit("at most ")
            .next()
            .and_then(|s| s.trim_end_matches(" bytes").parse().ok())
            .unwrap();
        params[2].1 = "x".repeat(room);
        assert!(check_environment(&params).is_ok());
        params[2].1 = "x".repeat(room + 1);
        assert!(check_environment(&params).is_err());
    }
}
