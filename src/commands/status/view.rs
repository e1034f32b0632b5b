//! The human view of `status`, rendered from the same typed fields that
//! `--json` serialises, so both always say the same thing.

use std::fmt;

use super::{RobotStatus, StatusResult};
use crate::aws::ops::{Alarm, OpsSubscription};
use crate::rules::Rule;
use crate::term::output::table;

/// An absent value, as the table shows it.
fn or_dash(v: Option<&str>) -> String {
    v.unwrap_or("-").to_string()
}

impl fmt::Display for StatusResult {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut rows = self.summary_rows();
        rows.extend(health_rows(
            self.dead_letters,
            &self.alarms,
            self.ops_email.as_deref(),
            self.ops_subscriptions.as_deref(),
        ));
        if let Some(func) = &self.function {
            rows.push(("Function".into(), func.name.clone()));
            rows.push(("Architecture".into(), func.architecture.clone()));
            rows.push(("Code SHA-256".into(), func.code_sha256.clone()));
        }
        f.write_str(&table(&rows))?;
        if !self.outputs.is_empty() {
            let rows: Vec<(String, String)> = self
                .outputs
                .iter()
                .map(|(k, v)| (format!("  {k}"), v.clone()))
                .collect();
            write!(f, "\nOutputs:\n{}", table(&rows))?;
        }
        if !self.forwarders.is_empty() {
            let rows: Vec<(String, String)> = self
                .forwarders
                .iter()
                .map(|fw| {
                    (
                        format!("  {}", fw.region),
                        format!("{} {}", fw.stack, fw.status),
                    )
                })
                .collect();
            write!(f, "\nForwarders to {}:\n{}", self.region, table(&rows))?;
        }
        if let Some(org) = &self.organization {
            write!(f, "{org}")?;
        }
        f.write_str(&robot_rows(&self.robots, &self.dropped_by))
    }
}

impl StatusResult {
    /// The stack, its rules and the LLM.
    fn summary_rows(&self) -> Vec<(String, String)> {
        let mut rows: Vec<(String, String)> = vec![
            ("Stack".into(), self.stack.clone()),
            ("Region".into(), self.region.clone()),
            ("Status".into(), self.status.clone()),
        ];
        if let Some(reason) = &self.status_reason {
            rows.push(("Reason".into(), reason.clone()));
        }
        rows.push(("Last updated".into(), or_dash(self.last_updated.as_deref())));
        let on: Vec<&str> = Rule::ALL
            .iter()
            .filter(|r| self.rules.get(r.key()) == Some(&true))
            .map(|r| r.key())
            .collect();
        let rules = match on.is_empty() {
            true => "none".to_string(),
            false => on.join(", "),
        };
        rows.push(("Rules".into(), rules));
        let llm = match self.llm.enabled {
            true => format!(
                "{} in {}",
                or_dash(self.llm.model_id.as_deref()),
                self.llm.region
            ),
            false => "off".into(),
        };
        rows.push(("LLM".into(), llm));
        rows
    }
}

/// Each robot with its routes, then what the routes drop; nothing for an
/// install without routes (every alert to `default`).
fn robot_rows(robots: &[RobotStatus], dropped_by: &[String]) -> String {
    let no_routes = robots.len() <= 1
        && robots.first().is_none_or(|r| r.routes.len() <= 1)
        && dropped_by.is_empty();
    if no_routes {
        return String::new();
    }
    let mut rows: Vec<(String, String)> = Vec::new();
    for r in robots {
        for (i, line) in r.routes.iter().enumerate() {
            let name = if i == 0 { r.robot.as_str() } else { "" };
            rows.push((format!("  {name}"), line.clone()));
        }
        if let Some(a) = &r.last_24h {
            rows.push((
                "  ".to_string(),
                format!(
                    "last 24 h: {} delivered, {} throttled, {} failed",
                    a.delivered, a.throttled, a.failed
                ),
            ));
        }
    }
    for (i, line) in dropped_by.iter().enumerate() {
        let name = if i == 0 { "(dropped)" } else { "" };
        rows.push((format!("  {name}"), line.clone()));
    }
    if rows.is_empty() {
        return String::new();
    }
    format!("\nRobots and routes:\n{}", table(&rows))
}

/// Dead letters, each alarm (name, state, console link) and where they mail.
fn health_rows(
    dead_letters: Option<u64>,
    alarms: &[Alarm],
    ops_email: Option<&str>,
    subscriptions: Option<&[OpsSubscription]>,
) -> Vec<(String, String)> {
    let dead_letters = match dead_letters {
        Some(0) => "0".to_string(),
        Some(n) => {
            format!("{n} waiting: fix the cause, then run `dingtalk-notifier redrive`")
        }
        None => "-".to_string(),
    };
    let mut rows = vec![("Dead letters".to_string(), dead_letters)];
    for (i, a) in alarms.iter().enumerate() {
        let state = match (&a.state, &a.unreadable) {
            (_, Some(why)) => format!("unreadable ({why})"),
            (Some(state), None) => state.clone(),
            (None, None) => "missing (deploy again)".to_string(),
        };
        rows.push((
            if i == 0 { "Alarms" } else { "" }.to_string(),
            format!("{}  {state}  {}", a.name, a.link),
        ));
    }
    rows.push(("Ops e-mail".into(), ops_email.unwrap_or("none").to_string()));
    rows.extend(subscription_rows(subscriptions));
    rows
}

/// Who hears the ops alarms; a subscription still pending confirmation is
/// flagged, as SNS sends it nothing.
fn subscription_rows(subs: Option<&[OpsSubscription]>) -> Vec<(String, String)> {
    let Some(subs) = subs else {
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
            let state = match sub.pending_confirmation {
                true => "PENDING CONFIRMATION: open the link SNS mailed, or nothing arrives",
                false => "confirmed",
            };
            (
                if i == 0 { "Ops topic" } else { "" }.to_string(),
                format!("{} {}  {state}", sub.protocol, sub.endpoint),
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::super::routing_status;
    use super::*;

    #[test]
    fn each_robot_with_its_routes_then_the_drops() {
        let routes = r#"[{"source":["aws.guardduty"],"min_severity":"high","robot":"security","at_mobiles":["13800000000"]},{"event_type_code":["AWS_CLOUDSHELL_*"],"drop":true},{"accounts":["111122223333"],"robot":"default"}]"#;
        let (robots, dropped) = routing_status(Some(routes));
        assert_eq!(
            robot_rows(&robots, &dropped),
            "\nRobots and routes:\n  default    route 3: accounts 111122223333\n             alerts no route takes\n  security   route 1: source aws.guardduty; min_severity high; mentions 1 people from high\n  (dropped)  route 2: event_type_code AWS_CLOUDSHELL_*\n"
        );
        let (none, dropped) = routing_status(Some(""));
        assert_eq!(robot_rows(&none, &dropped), "");
    }

    #[test]
    fn unreadable_alarms_say_why_and_the_rest_still_shows() {
        let alarms = [Alarm {
            name: "a-dead-letters".into(),
            state: None,
            link: "https://l".into(),
            unreadable: Some("not allowed cloudwatch:DescribeAlarms".into()),
        }];
        assert_eq!(
            health_rows(Some(0), &alarms, None, Some(&[])),
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
    fn forwarders_organization_and_each_robots_day() {
        use super::super::organization::summarise;
        use super::super::{Activity, ForwarderStatus, LlmStatus};
        let activity = |delivered, throttled, failed| Activity {
            delivered,
            throttled,
            failed,
        };
        let result = StatusResult {
            stack: "alerts".into(),
            region: "eu-west-1".into(),
            status: "UPDATE_ROLLBACK_COMPLETE".into(),
            status_reason: Some("Resource creation cancelled".into()),
            last_updated: None,
            outputs: Default::default(),
            rules: Default::default(),
            llm: LlmStatus {
                enabled: true,
                model_id: None,
                region: "us-east-1".into(),
            },
            dead_letters: None,
            alarms: Vec::new(),
            ops_email: None,
            ops_subscriptions: None,
            function: None,
            forwarders: vec![ForwarderStatus {
                region: "us-east-1".into(),
                stack: "alerts-forwarder".into(),
                status: "MISSING".into(),
                home_region: None,
            }],
            organization: Some(summarise("alerts-forwarders", "MISSING", &[])),
            robots: vec![
                RobotStatus {
                    robot: "default".into(),
                    routes: vec!["alerts no route takes".into()],
                    last_24h: Some(activity(1, 2, 3)),
                },
                RobotStatus {
                    robot: "security".into(),
                    routes: vec!["route 1: source aws.guardduty".into()],
                    last_24h: Some(activity(0, 0, 0)),
                },
            ],
            dropped_by: Vec::new(),
        };
        assert_eq!(
            result.to_string(),
            "Stack         alerts\nRegion        eu-west-1\nStatus        UPDATE_ROLLBACK_COMPLETE\n\
             Reason        Resource creation cancelled\nLast updated  -\nRules         none\n\
             LLM           - in us-east-1\nDead letters  -\nOps e-mail    none\n\
             \nForwarders to eu-west-1:\n  us-east-1  alerts-forwarder MISSING\n\
             \nOrganization forwarders (StackSet alerts-forwarders, MISSING): 0 instance(s)\n\
             \x20 By status  -\n  By detail  -\n\
             \nRobots and routes:\n\
             \x20 default   alerts no route takes\n\
             \x20           last 24 h: 1 delivered, 2 throttled, 3 failed\n\
             \x20 security  route 1: source aws.guardduty\n\
             \x20           last 24 h: 0 delivered, 0 throttled, 0 failed\n"
        );
    }
}
