//! The function's settings, from the environment the template sets.

use std::collections::BTreeMap;
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
    /// `{ Ref: <resource> }`, counted at the longest name it may have.
    Resource(&'static str, usize),
}

/// The state table's longest name: `dingtalk-notifier-<stack>-state` with a
/// stack name of 128 characters.
pub const STATE_TABLE_MAX_NAME: usize = "dingtalk-notifier-".len() + 128 + "-state".len();

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
    (
        "STATE_TABLE",
        EnvSource::Resource("StateTable", STATE_TABLE_MAX_NAME),
    ),
    ("DEBUG_LOGS", EnvSource::Parameter("DebugLogs")),
    ("ACCOUNT_NAMES", EnvSource::Parameter("AccountNames")),
    ("ROUTES", EnvSource::Parameter("Routes")),
    (
        crate::webhook_host::RELAY_HOSTS_ENV,
        EnvSource::Parameter("WebhookRelayHosts"),
    ),
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
                    EnvSource::Resource(_, longest) => *longest,
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
    /// The message names the JSON position, never a value.
    #[error("{0}")]
    Routes(String),
}

/// Where the routes are: in `ROUTES` (none when unset), or in the secret
/// (`ROUTES=secret`: they did not fit the 4 KB environment).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RoutesFrom {
    Env(Vec<crate::routing::Route>),
    Secret,
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
    /// Settings that were unreadable and left at their defaults (time zone,
    /// account names); logged at start.
    pub warnings: Vec<String>,
    /// `None` when the LLM step is off.
    pub llm: Option<LlmConfig>,
    /// Messages the robot accepts per `rate_window` (DingTalk: 20 a minute).
    pub rate_limit: usize,
    pub rate_window: Duration,
    /// `STATE_TABLE`: the stack's DynamoDB table holding each robot's
    /// shared send budget; `None`: every container paces alone at its
    /// conservative share (see [`crate::budget`]).
    pub state_table: Option<String>,
    /// A batch with at least this many alerts goes out as one digest.
    pub digest_min_alerts: usize,
    /// `SECRET_MAX_AGE_MS`: how long the webhook secret is kept before it
    /// is read again (5 minutes; tests shorten it).
    pub secret_max_age: Duration,
    /// `DEBUG_LOGS`: log each incoming event and rendered message.
    pub debug_logs: bool,
    /// `ROUTES`: which robot each alert goes to (`crate::routing`).
    pub routes: RoutesFrom,
    /// Where the secret's webhook may point (`webhook_host`).
    pub webhook_hosts: crate::webhook_host::AllowedHosts,
}

impl Config {
    pub fn from_env() -> Result<Config, ConfigError> {
        Config::from_lookup(|k| std::env::var(k).ok())
    }

    /// The same as [`Config::from_env`] over any lookup, so it is testable
    /// without touching the process environment.
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Config, ConfigError> {
        let vars = Vars(&get);
        let secret_arn = vars
            .get("DINGTALK_SECRET_ARN")
            .ok_or(ConfigError::Missing("DINGTALK_SECRET_ARN"))?;
        let (format, warnings) = format_options(&vars);
        let llm = match vars.switch("LLM_ENABLED")? {
            true => Some(llm_config(&vars)?),
            false => None,
        };
        Ok(Config {
            secret_arn,
            format,
            warnings,
            llm,
            rate_limit: vars.whole(
                "DINGTALK_RATE_LIMIT",
                crate::dingtalk::DEFAULT_RATE_LIMIT as u64,
                "messages per window, a positive whole number",
            )? as usize,
            rate_window: Duration::from_millis(vars.whole(
                "DINGTALK_RATE_WINDOW_MS",
                crate::dingtalk::DEFAULT_RATE_WINDOW.as_millis() as u64,
                "milliseconds, a positive whole number",
            )?),
            state_table: vars.get("STATE_TABLE"),
            digest_min_alerts: vars.whole(
                "DIGEST_MIN_ALERTS",
                DEFAULT_DIGEST_MIN_ALERTS as u64,
                "a positive whole number of alerts",
            )? as usize,
            secret_max_age: Duration::from_millis(vars.whole(
                "SECRET_MAX_AGE_MS",
                crate::secret::MAX_AGE.as_millis() as u64,
                "milliseconds, a positive whole number",
            )?),
            debug_logs: vars.switch("DEBUG_LOGS")?,
            routes: routes(&vars)?,
            webhook_hosts: crate::webhook_host::AllowedHosts::parse(
                &vars
                    .get(crate::webhook_host::RELAY_HOSTS_ENV)
                    .unwrap_or_default(),
            ),
        })
    }
}

fn routes(vars: &Vars) -> Result<RoutesFrom, ConfigError> {
    use crate::routing::{parse_routes, ROUTES_ENV, ROUTES_IN_SECRET};
    match vars.get(ROUTES_ENV) {
        None => Ok(RoutesFrom::Env(Vec::new())),
        Some(v) if v == ROUTES_IN_SECRET => Ok(RoutesFrom::Secret),
        Some(v) => parse_routes(&v)
            .map(RoutesFrom::Env)
            .map_err(ConfigError::Routes),
    }
}

/// The environment, trimmed, with an empty value read as unset (CloudFormation
/// passes empty parameters as empty strings).
struct Vars<'a>(&'a dyn Fn(&str) -> Option<String>);

impl Vars<'_> {
    fn get(&self, name: &str) -> Option<String> {
        (self.0)(name)
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
    }

    fn switch(&self, name: &'static str) -> Result<bool, ConfigError> {
        match self.get(name).as_deref() {
            None | Some("false") | Some("0") | Some("no") | Some("off") => Ok(false),
            Some("true") | Some("1") | Some("yes") | Some("on") => Ok(true),
            Some(other) => Err(ConfigError::Invalid {
                name,
                value: other.to_string(),
                expected: "use true or false",
            }),
        }
    }

    fn whole(
        &self,
        name: &'static str,
        default: u64,
        expected: &'static str,
    ) -> Result<u64, ConfigError> {
        match self.get(name) {
            None => Ok(default),
            Some(value) => {
                value
                    .parse::<u64>()
                    .ok()
                    .filter(|n| *n > 0)
                    .ok_or(ConfigError::Invalid {
                        name,
                        value,
                        expected,
                    })
            }
        }
    }
}

/// Time zone and account names: a bad value of either only costs readability,
/// so it becomes a warning logged at start, never a refusal to deliver.
fn format_options(vars: &Vars) -> (FormatOptions, Vec<String>) {
    let mut format = FormatOptions::default();
    let mut warnings = Vec::new();
    if let Some(tz) = vars.get("DISPLAY_TIME_ZONE") {
        match tz.parse::<chrono_tz::Tz>() {
            Ok(z) => format.time_zone = z,
            Err(_) => warnings.push(format!(
                "DISPLAY_TIME_ZONE `{tz}` is not an IANA time zone; using Asia/Shanghai"
            )),
        }
    }
    if let Some(names) = vars.get("ACCOUNT_NAMES") {
        match parse_account_names(&names) {
            Some(map) => format.account_names = map,
            None => warnings.push(
                "ACCOUNT_NAMES is not a JSON object of account id to name; messages show account ids only"
                    .to_string(),
            ),
        }
    }
    (format, warnings)
}

/// `{"111122223333": "prod-web"}`; `None` for anything else, so one bad
/// entry cannot put a wrong name on an account.
fn parse_account_names(raw: &str) -> Option<BTreeMap<String, String>> {
    let map: BTreeMap<String, String> = serde_json::from_str(raw).ok()?;
    let valid = |id: &String| id.len() == 12 && id.bytes().all(|b| b.is_ascii_digit());
    map.keys().all(valid).then_some(map)
}

fn llm_config(vars: &Vars) -> Result<LlmConfig, ConfigError> {
    let positive = |name: &'static str, default: u64, expected: &'static str| {
        vars.whole(name, default, expected)
    };
    let max_tokens = positive("LLM_MAX_TOKENS", 400, "a positive whole number")?;
    let max_tokens = i32::try_from(max_tokens).map_err(|_| ConfigError::Invalid {
        name: "LLM_MAX_TOKENS",
        value: max_tokens.to_string(),
        expected: "a positive whole number",
    })?;
    let temperature = match vars.get("LLM_TEMPERATURE") {
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
    let timeout_ms = positive(
        "LLM_TIMEOUT_MS",
        10_000,
        "milliseconds, a positive whole number",
    )?;
    Ok(LlmConfig {
        model_id: vars
            .get("LLM_MODEL_ID")
            .unwrap_or_else(|| DEFAULT_MODEL_ID.to_string()),
        region: vars.get("LLM_REGION"),
        system_prompt: vars.get("LLM_SYSTEM_PROMPT"),
        max_tokens,
        temperature,
        timeout: Duration::from_millis(timeout_ms),
    })
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
        assert_eq!(c.secret_max_age, Duration::from_secs(300));
        assert_eq!(c.state_table, None);
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
            ("STATE_TABLE", " dingtalk-notifier-prod-state "),
        ])
        .unwrap();
        assert_eq!(
            c.state_table.as_deref(),
            Some("dingtalk-notifier-prod-state")
        );
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
    fn account_names_are_an_object_of_account_ids_or_a_warning() {
        let c = cfg(&[
            ("DINGTALK_SECRET_ARN", "arn"),
            (
                "ACCOUNT_NAMES",
                r#"{"111122223333":"prod-web","444455556666":"dev, eu"}"#,
            ),
        ])
        .unwrap();
        assert_eq!(c.format.account("111122223333"), "prod-web (111122223333)");
        assert_eq!(c.format.account("444455556666"), "dev, eu (444455556666)");
        assert_eq!(c.format.account("777788889999"), "777788889999");
        assert!(c.warnings.is_empty());
        for bad in [r#"{"prod":"x"}"#, "[1]", "prod=1", r#"{"111122223333":1}"#] {
            let c = cfg(&[("DINGTALK_SECRET_ARN", "arn"), ("ACCOUNT_NAMES", bad)]).unwrap();
            assert!(c.format.account_names.is_empty(), "{bad}");
            assert_eq!(
                c.warnings,
                ["ACCOUNT_NAMES is not a JSON object of account id to name; messages show account ids only"],
                "{bad}"
            );
        }
    }

    #[test]
    fn environment_size_counts_names_and_values() {
        let names: usize = TEMPLATE_ENVIRONMENT.iter().map(|(n, _)| n.len()).sum();
        let literals = STATE_TABLE_MAX_NAME + "info".len();
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
        assert!(c.warnings[0].contains("Mars/Base"));
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
