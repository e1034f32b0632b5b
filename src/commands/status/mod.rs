//! `status`: what is deployed, read back from CloudFormation and Lambda, and
//! whether the notifier itself is healthy (dead letters, its alarms).

mod organization;

use std::collections::BTreeMap;
use std::fmt;

use anyhow::{Context, Result};
use serde::Serialize;
use serde_json::Value;

use self::organization::OrgStatus;
use crate::aws::forwarder_stacks;
use crate::aws::function_code::{self, function_name};
use crate::aws::ops::{self, Alarm, OpsSubscription};
use crate::aws::stack::{self, StackInfo};
use crate::aws::Aws;
use crate::config;
use crate::errors::AwsResultExt;
use crate::regions::{forwarder_stack_name, RegionsSpec};
use crate::rules::Rule;
use crate::term::output::table;

/// The deployed function, as Lambda reports it.
#[derive(Debug, Clone, Default, Serialize)]
pub struct FunctionInfo {
    pub name: String,
    pub architecture: String,
    pub code_sha256: String,
    pub memory_size: Option<i32>,
    pub last_modified: Option<String>,
}

pub async fn run(aws: &Aws, stack_name: &str) -> Result<StatusResult> {
    let region = aws.region().unwrap_or_default().to_string();
    let Some(info) = stack::describe(aws, stack_name).await? else {
        anyhow::bail!(
            "no stack named {stack_name} in {region}: run `dingtalk-notifier deploy` first (or pass --stack-name / --region)"
        );
    };
    let function = match function_name(aws, &info).await? {
        Some(name) => Some(function_info(aws, &name).await?),
        None => None,
    };
    let health = Health {
        dead_letters: ops::dead_letters(aws, &info).await?,
        alarms: ops::alarms(aws, &info.name, &region).await?,
        subscriptions: ops::subscriptions(aws, &info).await?,
    };
    let mut result = StatusResult::new(&info, &region, function.as_ref(), health);
    result.forwarders = forwarders(aws, &info, &region).await?;
    result.organization = organization::fetch(aws, &info).await?;
    Ok(result)
}

/// One forwarder region as `status` shows it.
#[derive(Debug, Clone, Serialize)]
pub struct ForwarderStatus {
    region: String,
    stack: String,
    /// The stack status, or `MISSING` (run `deploy` to create it).
    status: String,
    /// The home region it forwards to.
    home_region: Option<String>,
}

/// The forwarders of the regions remembered in dingtalk-notifier.toml
/// (resolved as `deploy` resolves them), each looked up in its region.
async fn forwarders(aws: &Aws, info: &StackInfo, home: &str) -> Result<Vec<ForwarderStatus>> {
    let remembered = config::load(&config::default_path())?.and_then(|c| c.regions);
    let Some(remembered) = remembered else {
        return Ok(Vec::new());
    };
    let spec = RegionsSpec::from_config(&remembered)?;
    let health = info
        .parameters
        .get(Rule::Health.parameter())
        .map(String::as_str)
        == Some("true");
    let (regions, _) = forwarder_stacks::regions_of(aws, home, &spec, health).await?;
    let found = forwarder_stacks::find(aws, &info.name, &regions).await?;
    let name = forwarder_stack_name(&info.name);
    Ok(regions
        .iter()
        .map(|r| {
            let f = found.get(r);
            ForwarderStatus {
                region: r.clone(),
                stack: name.clone(),
                status: f.map_or_else(|| "MISSING".to_string(), |f| f.stack.status.clone()),
                home_region: f.and_then(|f| f.stack.parameters.get("HomeRegion").cloned()),
            }
        })
        .collect())
}

/// The notifier's own health: what the DingTalk path could not deliver, and
/// the alarms that watch it.
#[derive(Debug, Clone, Default)]
pub struct Health {
    pub dead_letters: Option<u64>,
    pub alarms: Vec<Alarm>,
    /// The ops topic's subscriptions; `None` when they could not be listed.
    pub subscriptions: Option<Vec<OpsSubscription>>,
}

async fn function_info(aws: &Aws, name: &str) -> Result<FunctionInfo> {
    let f = aws
        .lambda
        .get_function_configuration()
        .function_name(name)
        .send()
        .await
        .aws("lambda:GetFunctionConfiguration")
        .with_context(|| format!("reading the function {name}"))?;
    Ok(FunctionInfo {
        name: name.to_string(),
        architecture: f
            .architectures()
            .first()
            .map(|a| a.as_str().to_string())
            .unwrap_or_else(|| "x86_64".to_string()),
        code_sha256: function_code::hex_code_sha256(f.code_sha256().unwrap_or_default()),
        memory_size: f.memory_size(),
        last_modified: f.last_modified().map(str::to_string),
    })
}

/// What `status` reports: the `--json` document, and the human view
/// rendered from it, so both always say the same thing.
#[derive(Debug, Serialize)]
pub struct StatusResult {
    stack: String,
    region: String,
    status: String,
    status_reason: Option<String>,
    last_updated: Option<String>,
    outputs: BTreeMap<String, String>,
    /// Rule key → enabled.
    rules: BTreeMap<&'static str, bool>,
    llm: LlmStatus,
    /// Alerts waiting in the dead-letter queue; `None` without such a queue.
    dead_letters: Option<u64>,
    /// The ops alarms, in template order.
    alarms: Vec<Alarm>,
    /// Where the ops alarms mail; `None` when no one is subscribed.
    ops_email: Option<String>,
    /// Who hears the ops alarms (the ops topic's subscriptions); `None`
    /// when they could not be listed.
    ops_subscriptions: Option<Vec<OpsSubscription>>,
    function: Option<FunctionInfo>,
    /// One entry per forwarder region (`deploy --regions`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    forwarders: Vec<ForwarderStatus>,
    /// The organization's forwarder StackSet (`deploy --organization`).
    #[serde(skip_serializing_if = "Option::is_none")]
    organization: Option<OrgStatus>,
}

#[derive(Debug, Serialize)]
struct LlmStatus {
    enabled: bool,
    model_id: Option<String>,
    region: String,
}

impl StatusResult {
    pub fn new(
        info: &StackInfo,
        region: &str,
        function: Option<&FunctionInfo>,
        health: Health,
    ) -> StatusResult {
        let param = |k: &str| info.parameters.get(k).map(String::as_str);
        StatusResult {
            stack: info.name.clone(),
            region: region.to_string(),
            status: info.status.clone(),
            status_reason: info.reason.clone(),
            last_updated: info.last_updated.clone().or_else(|| info.created.clone()),
            outputs: info.outputs.clone(),
            rules: Rule::ALL
                .iter()
                .map(|r| (r.key(), param(r.parameter()) == Some("true")))
                .collect(),
            llm: LlmStatus {
                enabled: param("LlmEnabled") == Some("true"),
                model_id: param("LlmModelId").map(str::to_string),
                region: param("LlmRegion")
                    .filter(|r| !r.is_empty())
                    .unwrap_or(region)
                    .to_string(),
            },
            dead_letters: health.dead_letters,
            alarms: health.alarms,
            ops_email: param("OpsEmail")
                .filter(|e| !e.is_empty())
                .map(str::to_string),
            ops_subscriptions: health.subscriptions,
            function: function.cloned(),
            forwarders: Vec::new(),
            organization: None,
        }
    }
}

impl fmt::Display for StatusResult {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let doc = serde_json::to_value(self).map_err(|_| fmt::Error)?;
        f.write_str(&render_human(&doc))
    }
}

/// The `--json` document as a value, for the tests.
#[cfg(test)]
pub fn status_json(
    info: &StackInfo,
    region: &str,
    function: Option<&FunctionInfo>,
    health: Health,
) -> Value {
    serde_json::to_value(StatusResult::new(info, region, function, health)).unwrap_or_default()
}

fn s(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => "-".to_string(),
        other => other.to_string(),
    }
}

pub fn render_human(doc: &Value) -> String {
    let mut rows: Vec<(String, String)> = vec![
        ("Stack".into(), s(&doc["stack"])),
        ("Region".into(), s(&doc["region"])),
        ("Status".into(), s(&doc["status"])),
    ];
    if !doc["status_reason"].is_null() {
        rows.push(("Reason".into(), s(&doc["status_reason"])));
    }
    rows.push(("Last updated".into(), s(&doc["last_updated"])));
    let on: Vec<String> = Rule::ALL
        .iter()
        .filter(|r| doc["rules"][r.key()] == Value::Bool(true))
        .map(|r| r.key().to_string())
        .collect();
    rows.push((
        "Rules".into(),
        if on.is_empty() {
            "none".into()
        } else {
            on.join(", ")
        },
    ));
    rows.push((
        "LLM".into(),
        if doc["llm"]["enabled"] == Value::Bool(true) {
            format!(
                "{} in {}",
                s(&doc["llm"]["model_id"]),
                s(&doc["llm"]["region"])
            )
        } else {
            "off".into()
        },
    ));
    rows.extend(health_rows(doc));
    if let Some(f) = doc["function"].as_object() {
        rows.push(("Function".into(), s(&f["name"])));
        rows.push(("Architecture".into(), s(&f["architecture"])));
        rows.push(("Code SHA-256".into(), s(&f["code_sha256"])));
    }
    let mut out = table(&rows);
    if let Some(outputs) = doc["outputs"].as_object() {
        if !outputs.is_empty() {
            out.push_str("\nOutputs:\n");
            let rows: Vec<(String, String)> = outputs
                .iter()
                .map(|(k, v)| (format!("  {k}"), s(v)))
                .collect();
            out.push_str(&table(&rows));
        }
    }
    if let Some(forwarders) = doc["forwarders"].as_array() {
        out.push_str(&format!("\nForwarders to {}:\n", s(&doc["region"])));
        let rows: Vec<(String, String)> = forwarders
            .iter()
            .map(|f| {
                (
                    format!("  {}", s(&f["region"])),
                    format!("{} {}", s(&f["stack"]), s(&f["status"])),
                )
            })
            .collect();
        out.push_str(&table(&rows));
    }
    if doc["organization"].is_object() {
        out.push_str(&organization::render(&doc["organization"]));
    }
    out
}

/// Dead letters, each alarm (name, state, console link) and where they mail.
fn health_rows(doc: &Value) -> Vec<(String, String)> {
    let dead_letters = match doc["dead_letters"].as_u64() {
        Some(0) => "0".to_string(),
        Some(n) => {
            format!("{n} waiting: fix the cause, then run `dingtalk-notifier redrive`")
        }
        None => "-".to_string(),
    };
    let mut rows = vec![("Dead letters".to_string(), dead_letters)];
    let alarms = doc["alarms"].as_array().cloned().unwrap_or_default();
    for (i, a) in alarms.iter().enumerate() {
        let state = match (a["state"].as_str(), a["unreadable"].as_str()) {
            (_, Some(why)) => format!("unreadable ({why})"),
            (Some(state), None) => state.to_string(),
            (None, None) => "missing (deploy again)".to_string(),
        };
        rows.push((
            if i == 0 { "Alarms" } else { "" }.to_string(),
            format!("{}  {state}  {}", s(&a["name"]), s(&a["link"])),
        ));
    }
    rows.push((
        "Ops e-mail".into(),
        doc["ops_email"].as_str().unwrap_or("none").to_string(),
    ));
    rows.extend(subscription_rows(&doc["ops_subscriptions"]));
    rows
}

/// Who hears the ops alarms; a subscription still pending confirmation is
/// flagged, as SNS sends it nothing.
fn subscription_rows(subs: &Value) -> Vec<(String, String)> {
    let Some(subs) = subs.as_array() else {
        return Vec::new();
    };
    if subs.is_empty() {
        return vec![(
            "Ops topic".into(),
            "none: nobody hears of the notifier's own failures (deploy --ops-email, or \
             subscribe to the OpsTopicArn output)"
                .into(),
        )];
    }
    subs.iter()
        .enumerate()
        .map(|(i, sub)| {
            let state = if sub["pending_confirmation"] == Value::Bool(true) {
                "PENDING CONFIRMATION: open the link SNS mailed, or nothing arrives"
            } else {
                "confirmed"
            };
            (
                if i == 0 { "Ops topic" } else { "" }.to_string(),
                format!("{} {}  {state}", s(&sub["protocol"]), s(&sub["endpoint"])),
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn unreadable_alarms_say_why_and_the_rest_still_shows() {
        let doc = json!({
            "dead_letters": 0,
            "alarms": [{"name": "a-dead-letters", "state": null, "link": "https://l", "unreadable": "not allowed cloudwatch:DescribeAlarms"}],
            "ops_email": null,
            "ops_subscriptions": []
        });
        assert_eq!(
            health_rows(&doc),
            [
                ("Dead letters".to_string(), "0".to_string()),
                (
                    "Alarms".to_string(),
                    "a-dead-letters  unreadable (not allowed cloudwatch:DescribeAlarms)  https://l"
                        .to_string()
                ),
                ("Ops e-mail".to_string(), "none".to_string()),
                (
                    "Ops topic".to_string(),
                    "none: nobody hears of the notifier's own failures (deploy --ops-email, or \
                     subscribe to the OpsTopicArn output)"
                        .to_string()
                ),
            ]
        );
    }

    #[test]
    fn json_and_human_views() {
        let mut info = StackInfo {
            name: "alerts".into(),
            status: "UPDATE_COMPLETE".into(),
            last_updated: Some("2026-01-02T03:04:05Z".into()),
            ..StackInfo::default()
        };
        for (k, v) in [
            ("EnableHealthRule", "true"),
            ("EnableHealthAbuseRule", "false"),
            ("EnableEc2StateChangeRule", "false"),
            ("EnableAlarmRule", "true"),
            ("LlmEnabled", "false"),
            ("LlmModelId", "amazon.nova-lite-v1:0"),
            ("LlmRegion", ""),
        ] {
            info.parameters.insert(k.into(), v.into());
        }
        info.outputs.insert("TopicArn".into(), "arn:t".into());
        let f = FunctionInfo {
            name: "fn".into(),
            architecture: "arm64".into(),
            code_sha256: "abc=".into(),
            memory_size: Some(256),
            last_modified: None,
        };
        info.parameters
            .insert("OpsEmail".into(), "ops@example.com".into());
        let link = |name: &str| {
            format!("https://ap-southeast-1.console.aws.amazon.com/cloudwatch/home?region=ap-southeast-1#alarmsV2:alarm/{name}")
        };
        let health = Health {
            dead_letters: Some(2),
            alarms: vec![
                Alarm {
                    name: "alerts-dead-letters".into(),
                    state: Some("ALARM".into()),
                    link: link("alerts-dead-letters"),
                    unreadable: None,
                },
                Alarm {
                    name: "alerts-function-errors".into(),
                    state: None,
                    link: link("alerts-function-errors"),
                    unreadable: None,
                },
            ],
            subscriptions: Some(vec![ops::subscription_from(
                "email",
                "ops@example.com",
                "PendingConfirmation",
            )]),
        };
        let doc = status_json(&info, "ap-southeast-1", Some(&f), health);
        assert_eq!(
            doc,
            json!({
                "stack": "alerts", "region": "ap-southeast-1", "status": "UPDATE_COMPLETE",
                "status_reason": null, "last_updated": "2026-01-02T03:04:05Z",
                "outputs": {"TopicArn": "arn:t"},
                "rules": {"health": true, "health-abuse": false, "ec2": false, "alarm": true,
                          "securityhub": false, "guardduty": false, "inspector": false,
                          "access-analyzer": false, "root": false, "config": false,
                          "ecr-scan": false, "trusted-advisor": false, "backup": false,
                          "pipelines": false, "ecs": false, "acm": false},
                "llm": {"enabled": false, "model_id": "amazon.nova-lite-v1:0", "region": "ap-southeast-1"},
                "dead_letters": 2,
                "alarms": [
                    {"name": "alerts-dead-letters", "state": "ALARM", "link": link("alerts-dead-letters")},
                    {"name": "alerts-function-errors", "state": null, "link": link("alerts-function-errors")}
                ],
                "ops_email": "ops@example.com",
                "ops_subscriptions": [{"protocol": "email", "endpoint": "ops@example.com",
                                       "pending_confirmation": true}],
                "function": {"name": "fn", "architecture": "arm64", "code_sha256": "abc=",
                              "memory_size": 256, "last_modified": null}
            })
        );
        assert_eq!(
            render_human(&doc),
            "Stack         alerts\nRegion        ap-southeast-1\nStatus        UPDATE_COMPLETE\n\
             Last updated  2026-01-02T03:04:05Z\nRules         health, alarm\nLLM           off\n\
             Dead letters  2 waiting: fix the cause, then run `dingtalk-notifier redrive`\n\
             Alarms        alerts-dead-letters  ALARM  https://ap-southeast-1.console.aws.amazon.com/cloudwatch/home?region=ap-southeast-1#alarmsV2:alarm/alerts-dead-letters\n\
             \x20             alerts-function-errors  missing (deploy again)  https://ap-southeast-1.console.aws.amazon.com/cloudwatch/home?region=ap-southeast-1#alarmsV2:alarm/alerts-function-errors\n\
             Ops e-mail    ops@example.com\n\
             Ops topic     email ops@example.com  PENDING CONFIRMATION: open the link SNS mailed, or nothing arrives\n\
             Function      fn\nArchitecture  arm64\nCode SHA-256  abc=\n\nOutputs:\n  TopicArn  arn:t\n"
        );
    }
}
