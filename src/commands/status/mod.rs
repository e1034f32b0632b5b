//! `status`: what is deployed, read back from CloudFormation and Lambda, and
//! whether the notifier itself is healthy (dead letters, its alarms).

mod organization;
mod view;

use std::collections::BTreeMap;
use std::ops::ControlFlow;

use anyhow::{Context, Result};
use serde::Serialize;
use serde_json::Value;

use self::organization::OrgStatus;
use crate::aws::forwarder_stacks;
use crate::aws::function_code::{self, function_name};
use crate::aws::logs::{self, LogFilter};
use crate::aws::ops::{self, Alarm, OpsSubscription};
use crate::aws::stack::{self, StackInfo};
use crate::aws::Aws;
use crate::config;
use crate::regions::{forwarder_stack_name, RegionsSpec};
use crate::rules::Rule;

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
    let info = stack::require(aws, stack_name).await?;
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
    if let Some(group) = info.outputs.get("LogGroupName") {
        let activity = robot_activity(aws, group).await?;
        for r in &mut result.robots {
            r.last_24h = Some(activity.get(&r.robot).cloned().unwrap_or_default());
        }
    }
    Ok(result)
}

/// Pages of outcome lines read at most: a day of a busy stack is more
/// than `status` should wait for.
const MAX_LOG_PAGES: usize = 50;

/// Each robot's last 24 hours, from the function's outcome lines (a line
/// without `robot`, from an older function, is robot `default`).
async fn robot_activity(aws: &Aws, log_group: &str) -> Result<BTreeMap<String, Activity>> {
    let filter = LogFilter {
        group: log_group,
        pattern: "\"outcome\"",
        start_ms: chrono::Utc::now().timestamp_millis() - 24 * 3600 * 1000,
        max_pages: MAX_LOG_PAGES,
    };
    let mut lines: Vec<String> = Vec::new();
    logs::each_line(aws, filter, |line| {
        lines.push(line.to_string());
        ControlFlow::<()>::Continue(())
    })
    .await
    .with_context(|| format!("reading the function's outcome lines in {log_group}"))?;
    Ok(tally(lines.iter().map(String::as_str)))
}

/// One robot's outcome lines over the last 24 hours.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct Activity {
    /// Alerts delivered (an alert in a digest counts once).
    delivered: u64,
    /// Alerts refused with a throttle answer (130101, 410100).
    throttled: u64,
    /// Other undelivered alerts.
    failed: u64,
}

/// Pure: the outcome lines counted by robot.
pub fn tally<'a>(lines: impl Iterator<Item = &'a str>) -> BTreeMap<String, Activity> {
    let mut out: BTreeMap<String, Activity> = BTreeMap::new();
    for line in lines {
        let Ok(v) = serde_json::from_str::<Value>(line) else {
            continue;
        };
        let robot = v["robot"].as_str().unwrap_or("default").to_string();
        let a = match v["outcome"].as_str() {
            Some("delivered" | "failed") => out.entry(robot).or_default(),
            _ => continue,
        };
        match (v["outcome"].as_str(), v["errcode"].as_i64()) {
            (Some("delivered"), _) => a.delivered += 1,
            (_, Some(130101 | 410100)) => a.throttled += 1,
            _ => a.failed += 1,
        }
    }
    out
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
    let f = function_code::configuration(aws, name).await?;
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

/// What `status` reports: the `--json` document, and (`view.rs`) the human
/// view rendered from the same fields, so both always say the same thing.
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
    /// Each robot and the routes to it, as deployed (`Routes`).
    robots: Vec<RobotStatus>,
    /// `drop = true` routes, one line each.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    dropped_by: Vec<String>,
}

/// A robot and its routes as deployed, one line per route.
#[derive(Debug, Serialize, PartialEq, Eq)]
struct RobotStatus {
    robot: String,
    routes: Vec<String>,
    /// From the function's outcome lines; `None` when not read.
    #[serde(skip_serializing_if = "Option::is_none")]
    last_24h: Option<Activity>,
}

/// Pure: the robots and routes of the deployed `Routes` parameter. Robot
/// `default` always exists (alerts no route takes go to it). Phone numbers
/// and user ids are counted, not shown.
fn routing_status(routes: Option<&str>) -> (Vec<RobotStatus>, Vec<String>) {
    use dingtalk_notifier_lambda::routing::{parse_routes, Route, DEFAULT_ROBOT, ROUTES_IN_SECRET};
    let mut robots = vec![RobotStatus {
        robot: DEFAULT_ROBOT.to_string(),
        routes: Vec::new(),
        last_24h: None,
    }];
    let raw = routes.unwrap_or_default();
    if raw.trim() == ROUTES_IN_SECRET {
        robots[0]
            .routes
            .push("routes kept in the webhook secret (over the 4 KB environment)".into());
        return (robots, Vec::new());
    }
    let routes: Vec<Route> = parse_routes(raw).unwrap_or_default();
    let mut dropped = Vec::new();
    for (i, r) in routes.iter().enumerate() {
        let line = format!("route {}: {}", i + 1, describe_route(r));
        if r.drop {
            dropped.push(line);
            continue;
        }
        match robots.iter_mut().find(|x| x.robot == r.robot()) {
            Some(x) => x.routes.push(line),
            None => robots.push(RobotStatus {
                robot: r.robot().to_string(),
                routes: vec![line],
                last_24h: None,
            }),
        }
    }
    robots[0].routes.push("alerts no route takes".into());
    (robots, dropped)
}

/// `source aws.guardduty; min_severity high; mentions 1 mobile` ...
fn describe_route(r: &dingtalk_notifier_lambda::routing::Route) -> String {
    let mut parts = Vec::new();
    for (key, values) in [
        ("source", &r.source),
        ("detail_type", &r.detail_type),
        ("event_type_code", &r.event_type_code),
        ("accounts", &r.accounts),
        ("regions", &r.regions),
        ("name_prefix", &r.name_prefix),
    ] {
        if !values.is_empty() {
            parts.push(format!("{key} {}", values.join(", ")));
        }
    }
    if let Some(sev) = r.min_severity {
        parts.push(format!("min_severity {sev}"));
    }
    if parts.is_empty() {
        parts.push("every alert".into());
    }
    let people = r.at_mobiles.len() + r.at_user_ids.len();
    if people > 0 || r.at_all {
        let floor = r
            .mention_min_severity
            .map_or("high".to_string(), |s| s.to_string());
        let who = match (people, r.at_all) {
            (0, _) => "@all".to_string(),
            (n, false) => format!("{n} people"),
            (n, true) => format!("@all and {n} people"),
        };
        parts.push(format!("mentions {who} from {floor}"));
    }
    parts.join("; ")
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
        let (robots, dropped_by) = routing_status(param("Routes"));
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
            robots,
            dropped_by,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn robots_and_routes_as_deployed() {
        let routes = r#"[{"source":["aws.guardduty"],"min_severity":"high","robot":"security","at_mobiles":["13800000000"]},{"event_type_code":["AWS_CLOUDSHELL_*"],"drop":true},{"accounts":["111122223333"],"robot":"default"}]"#;
        let (robots, dropped) = routing_status(Some(routes));
        assert_eq!(
            robots,
            vec![
                RobotStatus {
                    robot: "default".into(),
                    routes: vec![
                        "route 3: accounts 111122223333".into(),
                        "alerts no route takes".into()
                    ],
                    last_24h: None,
                },
                RobotStatus {
                    robot: "security".into(),
                    routes: vec![
                        "route 1: source aws.guardduty; min_severity high; mentions 1 people from high"
                            .into()
                    ],
                    last_24h: None,
                },
            ]
        );
        assert_eq!(dropped, vec!["route 2: event_type_code AWS_CLOUDSHELL_*"]);
        let (none, _) = routing_status(Some(""));
        assert_eq!(none[0].routes, vec!["alerts no route takes"]);
    }

    #[test]
    fn outcome_lines_are_counted_by_robot() {
        let lines = [
            r#"{"outcome":"delivered","robot":"security","alert_id":"a"}"#,
            r#"{"outcome":"delivered","robot":"security","alert_id":"b","digest_size":2}"#,
            r#"{"outcome":"failed","robot":"security","errcode":130101}"#,
            r#"{"outcome":"failed","robot":"default","errcode":300001}"#,
            r#"{"outcome":"delivered","alert_id":"old function"}"#,
            r#"{"outcome":"dropped","route":2}"#,
            "not json",
        ];
        let got = tally(lines.into_iter());
        assert_eq!(
            got["security"],
            Activity {
                delivered: 2,
                throttled: 1,
                failed: 0
            }
        );
        assert_eq!(
            got["default"],
            Activity {
                delivered: 1,
                throttled: 0,
                failed: 1
            }
        );
        assert_eq!(got.len(), 2);
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
        let result = StatusResult::new(&info, "ap-southeast-1", Some(&f), health);
        let doc = serde_json::to_value(&result).unwrap();
        assert_eq!(
            doc,
            json!({
                "stack": "alerts", "region": "ap-southeast-1", "status": "UPDATE_COMPLETE",
                "robots": [{"robot": "default", "routes": ["alerts no route takes"]}],
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
            result.to_string(),
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
