//! The function's settings, from the environment the template sets.

use std::time::Duration;

use crate::format::FormatOptions;

pub use crate::model_id::DEFAULT_MODEL_ID;

/// `LlmMaxTokens` the template accepts (its `AllowedPattern`; a template
/// test compares), so the CLI refuses the rest before CloudFormation does.
pub const LLM_MAX_TOKENS_RANGE: std::ops::RangeInclusive<u32> = 30..=4096;

/// Lambda refuses a function whose environment variables, names and values
/// counted in bytes, exceed 4 KB ("... exceeded the 4KB limit").
pub const MAX_ENVIRONMENT_BYTES: usize = 4096;

/// Where a variable the template sets gets its value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EnvSource {
    /// `{ Ref: <parameter> }`
    Parameter(&'static str),
    Literal(&'static str),
}

/// Every variable `templates/notifier.yaml` gives the function (a template
/// test compares), so the CLI can measure the environment before Lambda
/// refuses it.
pub const TEMPLATE_ENVIRONMENT: &[(&str, EnvSource)] = &[
    (
        "DINGTALK_SECRET_ARN",
        EnvSource::Parameter("WebhookSecretArn"),
    ),
    ("DISPLAY_TIME_ZONE", EnvSource::Parameter("DisplayTimeZone")),
    ("LLM_ENABLED", EnvSource::Parameter("LlmEnabled")),
    ("LLM_MODEL_ID", EnvSource::Parameter("LlmModelId")),
    ("LLM_REGION", EnvSource::Parameter("LlmRegion")),
    ("LLM_SYSTEM_PROMPT", EnvSource::Parameter("LlmSystemPrompt")),
    ("LLM_MAX_TOKENS", EnvSource::Parameter("LlmMaxTokens")),
    ("LLM_TEMPERATURE", EnvSource::Parameter("LlmTemperature")),
    ("DINGTALK_CONCURRENCY", EnvSource::Literal("2")),
    ("DEBUG_LOGS", EnvSource::Parameter("DebugLogs")),
    ("RUST_LOG", EnvSource::Literal("info")),
];

/// The bytes Lambda counts for the function's environment, given the value
/// of each stack parameter.
pub fn environment_size<'a>(parameter: impl Fn(&str) -> &'a str) -> usize {
    TEMPLATE_ENVIRONMENT
        .iter()
        .map(|(name, source)| {
            name.len()
                + match source {
                    EnvSource::Parameter(p) => parameter(p).len(),
                    EnvSource::Literal(v) => v.len(),
                }
        })
        .sum()
}
/// Two alerts in one batch already share one message: during a storm every
/// message saved is one more alert under the robot's limit.
pub const DEFAULT_DIGEST_MIN_ALERTS: usize = 2;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ConfigError {
    #[error("{0} is not set; it must hold the ARN of the webhook secret (the stack sets it)")]
    Missing(&'static str),
    #[error("{name} has an invalid value `{value}`: {expected}")]
    Invalid {
        name: &'static str,
        value: String,
        expected: &'static str,
    },
}

#[derive(Debug, Clone)]
pub struct LlmConfig {
    pub model_id: String,
    /// `None`: the function's own region.
    pub region: Option<String>,
    /// `None`: the built-in prompt.
    pub system_prompt: Option<String>,
    pub max_tokens: i32,
    pub temperature: f32,
    pub timeout: Duration,
}

#[derive(Debug, Clone)]
pub struct Config {
    pub secret_arn: String,
    pub format: FormatOptions,
    /// Set when DISPLAY_TIME_ZONE was not a known zone; logged at start.
    pub time_zone_warning: Option<String>,
    /// `None` when the LLM step is off.
    pub llm: Option<LlmConfig>,
    /// Messages the robot accepts per `rate_window` (DingTalk: 20 a minute).
    pub rate_limit: usize,
    pub rate_window: Duration,
    /// Function instances that may send to the robot at once (the event
    /// source mapping's `MaximumConcurrency`); each paces itself at
    /// `rate_limit / concurrency`.
    pub concurrency: usize,
    /// A batch with at least this many alerts goes out as one digest.
    pub digest_min_alerts: usize,
    /// `DEBUG_LOGS`: log each incoming event and rendered message.
    pub debug_logs: bool,
}

impl Config {
    pub fn from_env() -> Result<Config, ConfigError> {
        Config::from_lookup(|k| std::env::var(k).ok())
    }

    /// What this instance may send per window: its share of the robot's
    /// limit, so that all instances together stay under it.
    pub fn instance_rate_limit(&self) -> usize {
        crate::pacing::instance_limit(self.rate_limit, self.concurrency)
    }

    /// The same as [`Config::from_env`] over any lookup, so it is testable
    /// without touching the process environment.
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Config, ConfigError> {
        let var = |k: &str| {
            get(k)
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
        };
        let secret_arn =
            var("DINGTALK_SECRET_ARN").ok_or(ConfigError::Missing("DINGTALK_SECRET_ARN"))?;
        let mut format = FormatOptions::default();
        let mut time_zone_warning = None;
        if let Some(tz) = var("DISPLAY_TIME_ZONE") {
            match tz.parse::<chrono_tz::Tz>() {
                Ok(z) => format.time_zone = z,
                Err(_) => {
                    time_zone_warning = Some(format!(
                        "DISPLAY_TIME_ZONE `{tz}` is not an IANA time zone; using Asia/Shanghai"
                    ))
                }
            }
        }
        let switch = |name: &'static str| match var(name).as_deref() {
            None | Some("false") | Some("0") | Some("no") | Some("off") => Ok(false),
            Some("true") | Some("1") | Some("yes") | Some("on") => Ok(true),
            Some(other) => Err(ConfigError::Invalid {
                name,
                value: other.to_string(),
                expected: "use true or false",
            }),
        };
        let enabled = switch("LLM_ENABLED")?;
        let debug_logs = switch("DEBUG_LOGS")?;
        let llm =
            if enabled {
                let max_tokens =
                    match var("LLM_MAX_TOKENS") {
                        None => 400,
                        Some(v) => v.parse::<i32>().ok().filter(|n| *n > 0).ok_or(
                            ConfigError::Invalid {
                                name: "LLM_MAX_TOKENS",
                                value: v,
                                expected: "a positive whole number",
                            },
                        )?,
                    };
                let temperature = match var("LLM_TEMPERATURE") {
                    None => 0.2,
                    Some(v) => v
                        .parse::<f32>()
                        .ok()
                        .filter(|t| (0.0..=1.0).contains(t))
                        .ok_or(ConfigError::Invalid {
                            name: "LLM_TEMPERATURE",
                            value: v,
                            expected: "a number from 0 to 1",
                        })?,
                };
                let timeout_ms =
                    match var("LLM_TIMEOUT_MS") {
                        None => 10_000,
                        Some(v) => v.parse::<u64>().ok().filter(|n| *n > 0).ok_or(
                            ConfigError::Invalid {
                                name: "LLM_TIMEOUT_MS",
                                value: v,
                                expected: "milliseconds, a positive whole number",
                            },
                        )?,
                    };
                Some(LlmConfig {
                    model_id: var("LLM_MODEL_ID").unwrap_or_else(|| DEFAULT_MODEL_ID.to_string()),
                    region: var("LLM_REGION"),
                    system_prompt: var("LLM_SYSTEM_PROMPT"),
                    max_tokens,
                    temperature,
                    timeout: Duration::from_millis(timeout_ms),
                })
            } else {
                None
            };
        let whole = |name: &'static str, default: u64, expected: &'static str| match var(name) {
            None => Ok(default),
            Some(v) => v
                .parse::<u64>()
                .ok()
                .filter(|n| *n > 0)
                .ok_or(ConfigError::Invalid {
                    name,
                    value: v,
                    expected,
                }),
        };
        let rate_limit = whole(
            "DINGTALK_RATE_LIMIT",
            crate::dingtalk::DEFAULT_RATE_LIMIT as u64,
            "messages per window, a positive whole number",
        )? as usize;
        let rate_window = Duration::from_millis(whole(
            "DINGTALK_RATE_WINDOW_MS",
            crate::dingtalk::DEFAULT_RATE_WINDOW.as_millis() as u64,
            "milliseconds, a positive whole number",
        )?);
        let concurrency = whole(
            "DINGTALK_CONCURRENCY",
            crate::dingtalk::DEFAULT_CONCURRENCY as u64,
            "function instances sending at once, a positive whole number",
        )? as usize;
        let digest_min_alerts = whole(
            "DIGEST_MIN_ALERTS",
            DEFAULT_DIGEST_MIN_ALERTS as u64,
            "a positive whole number of alerts",
        )? as usize;
        Ok(Config {
            secret_arn,
            format,
            time_zone_warning,
            llm,
            rate_limit,
            rate_window,
            concurrency,
            digest_min_alerts,
            debug_logs,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn cfg(pairs: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Config::from_lookup(|k| map.get(k).cloned())
    }

    #[test]
    fn defaults_and_required_secret() {
        assert_eq!(
            cfg(&[]).unwrap_err(),
            ConfigError::Missing("DINGTALK_SECRET_ARN")
        );
        let c = cfg(&[("DINGTALK_SECRET_ARN", "arn:x")]).unwrap();
        assert_eq!(c.format.time_zone, chrono_tz::Asia::Shanghai);
        assert!(c.llm.is_none());
        assert_eq!(c.rate_limit, 20);
        assert_eq!(c.rate_window, Duration::from_secs(60));
        assert_eq!(c.concurrency, 2);
        assert_eq!(c.instance_rate_limit(), 10);
        assert_eq!(c.digest_min_alerts, 2);
        assert!(!c.debug_logs);
        let c = cfg(&[("DINGTALK_SECRET_ARN", "arn:x"), ("DEBUG_LOGS", "true")]).unwrap();
        assert!(c.debug_logs);
        assert_eq!(
            cfg(&[("DINGTALK_SECRET_ARN", "arn:x"), ("DEBUG_LOGS", "verbose")])
                .unwrap_err()
                .to_string(),
            "DEBUG_LOGS has an invalid value `verbose`: use true or false"
        );
        let c = cfg(&[
            ("DINGTALK_SECRET_ARN", "arn:x"),
            ("DINGTALK_RATE_WINDOW_MS", "2000"),
            ("DIGEST_MIN_ALERTS", "5"),
            ("DINGTALK_CONCURRENCY", "3"),
        ])
        .unwrap();
        assert_eq!(c.instance_rate_limit(), 6);
        assert_eq!(c.rate_window, Duration::from_secs(2));
        assert_eq!(c.digest_min_alerts, 5);
        assert_eq!(
            cfg(&[("DINGTALK_SECRET_ARN", "arn:x"), ("DINGTALK_RATE_LIMIT", "0")])
                .unwrap_err()
                .to_string(),
            "DINGTALK_RATE_LIMIT has an invalid value `0`: messages per window, a positive whole number"
        );
    }

    #[test]
    fn environment_size_counts_names_and_values() {
        let names: usize = TEMPLATE_ENVIRONMENT.iter().map(|(n, _)| n.len()).sum();
        let literals = "2".len() + "info".len();
        assert_eq!(environment_size(|_| ""), names + literals);
        assert_eq!(
            environment_size(|p| if p == "LlmSystemPrompt" { "提示" } else { "" }),
            names + literals + 6
        );
    }

    #[test]
    fn llm_settings_and_bad_values_name_the_variable() {
        let c = cfg(&[
            ("DINGTALK_SECRET_ARN", "arn:x"),
            ("LLM_ENABLED", "true"),
            ("LLM_MODEL_ID", "apac.amazon.nova-lite-v1:0"),
            ("DISPLAY_TIME_ZONE", "Mars/Base"),
        ])
        .unwrap();
        let llm = c.llm.unwrap();
        assert_eq!(llm.model_id, "apac.amazon.nova-lite-v1:0");
        assert_eq!(llm.max_tokens, 400);
        assert!(c.time_zone_warning.unwrap().contains("Mars/Base"));
        let err = cfg(&[
            ("DINGTALK_SECRET_ARN", "arn:x"),
            ("LLM_ENABLED", "true"),
            ("LLM_TEMPERATURE", "7"),
        ])
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "LLM_TEMPERATURE has an invalid value `7`: a number from 0 to 1"
        );
    }
}
