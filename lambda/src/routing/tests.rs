use super::*;
use crate::format::{render, FormatOptions};

fn fixture(name: &str) -> String {
    let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// The facts of a real sample, as the handler reads them.
fn facts(name: &str) -> Facts {
    let payload = fixture(name);
    let r = render(&payload, None, &FormatOptions::default());
    Facts::of(&payload, &r)
}

fn route(toml_like: serde_json::Value) -> Route {
    serde_json::from_value(toml_like).unwrap()
}

fn robot_of(routes: &[Route], f: &Facts) -> String {
    match decide(routes, f) {
        Decision::Send { robot, .. } => robot,
        Decision::Drop { route } => format!("dropped by {route}"),
    }
}

#[test]
fn facts_come_from_real_samples() {
    let gd = facts("guardduty_finding.json");
    assert_eq!(gd.source.as_deref(), Some("aws.guardduty"));
    assert_eq!(gd.detail_type.as_deref(), Some("GuardDuty Finding"));
    assert_eq!(gd.account.as_deref(), Some("123456789012"));
    assert_eq!(gd.region.as_deref(), Some("us-east-1"));
    assert_eq!(gd.severity, Severity::High);
    let health = facts("health_issue.json");
    assert_eq!(
        health.event_type_code.as_deref(),
        Some("AWS_EC2_OPERATIONAL_ISSUE")
    );
    let alarm = facts("alarm_metric_alarm.json");
    assert_eq!(alarm.name.as_deref(), Some("ServerCpuTooHigh"));
    assert_eq!(alarm.state.as_deref(), Some("ALARM"));
    let classic = facts("alarm_sns_single_metric.json");
    assert_eq!(classic.name.as_deref(), Some("EXAMPLE"));
    assert_eq!(classic.account.as_deref(), Some("123456789012"));
    let pipeline = facts("codepipeline_pipeline_failed.json");
    assert_eq!(pipeline.name.as_deref(), Some("myPipeline"));
}

#[test]
fn no_routes_and_no_match_go_to_default_with_the_secrets_mentions() {
    let f = facts("guardduty_finding.json");
    let none = Decision::Send {
        robot: "default".into(),
        route: None,
        mentions: None,
    };
    assert_eq!(decide(&[], &f), none);
    let other = route(serde_json::json!({"source": ["aws.health"], "robot": "ops"}));
    assert_eq!(decide(&[other], &f), none);
}

#[test]
fn every_matching_key_matches_and_refuses() {
    let gd = facts("guardduty_finding.json");
    let cases = [
        ("source", "aws.guardduty", "aws.health"),
        ("detail_type", "GuardDuty Finding", "AWS Health Event"),
        ("accounts", "123456789012", "111122223333"),
        ("regions", "us-east-1", "eu-west-1"),
    ];
    for (key, yes, no) in cases {
        let hit = route(serde_json::json!({ key: [no, yes], "robot": "sec" }));
        assert_eq!(robot_of(&[hit], &gd), "sec", "{key} = {yes}");
        let miss = route(serde_json::json!({ key: [no], "robot": "sec" }));
        assert_eq!(robot_of(&[miss], &gd), "default", "{key} = {no}");
    }
    let health = facts("health_issue.json");
    let code = route(
        serde_json::json!({"event_type_code": ["AWS_EC2_OPERATIONAL_ISSUE"], "robot": "ops"}),
    );
    assert_eq!(robot_of(std::slice::from_ref(&code), &health), "ops");
    // A key the alert does not have never matches.
    assert_eq!(robot_of(&[code], &gd), "default");
    let alarm = facts("alarm_metric_alarm.json");
    let name = route(serde_json::json!({"name_prefix": ["Server"], "robot": "ops"}));
    assert_eq!(robot_of(std::slice::from_ref(&name), &alarm), "ops");
    assert_eq!(robot_of(&[name], &gd), "default");
    let other = route(serde_json::json!({"name_prefix": ["Db"], "robot": "ops"}));
    assert_eq!(robot_of(&[other], &alarm), "default");
}

#[test]
fn all_keys_of_a_route_must_match() {
    let gd = facts("guardduty_finding.json");
    let both = route(
        serde_json::json!({"source": ["aws.guardduty"], "regions": ["eu-west-1"], "robot": "sec"}),
    );
    assert_eq!(robot_of(&[both], &gd), "default");
}

#[test]
fn a_trailing_star_is_a_prefix_match_and_only_trailing() {
    let health = facts("health_issue.json");
    let prefix = route(serde_json::json!({"event_type_code": ["AWS_EC2_*"], "robot": "ops"}));
    assert_eq!(robot_of(&[prefix], &health), "ops");
    let source = route(serde_json::json!({"source": ["aws.*"], "robot": "ops"}));
    assert_eq!(robot_of(&[source], &health), "ops");
    let inner = route(serde_json::json!({"event_type_code": ["AWS_*_ISSUE"], "robot": "ops"}));
    assert_eq!(robot_of(&[inner], &health), "default");
    let exact = route(serde_json::json!({"event_type_code": ["AWS_EC2"], "robot": "ops"}));
    assert_eq!(robot_of(&[exact], &health), "default");
}

#[test]
fn the_first_match_wins() {
    let gd = facts("guardduty_finding.json");
    let routes = [
        route(serde_json::json!({"source": ["aws.health"], "robot": "ops"})),
        route(serde_json::json!({"source": ["aws.guardduty"], "robot": "sec"})),
        route(serde_json::json!({"accounts": ["123456789012"], "robot": "acct"})),
    ];
    assert_eq!(
        decide(&routes, &gd),
        Decision::Send {
            robot: "sec".into(),
            route: Some(2),
            mentions: None
        }
    );
}

#[test]
fn min_severity_is_a_floor() {
    let gd = facts("guardduty_finding.json"); // severity 8: high
    for (floor, robot) in [
        ("info", "sec"),
        ("medium", "sec"),
        ("high", "sec"),
        ("critical", "default"),
    ] {
        let r = route(
            serde_json::json!({"source": ["aws.guardduty"], "min_severity": floor, "robot": "sec"}),
        );
        assert_eq!(robot_of(&[r], &gd), robot, "{floor}");
    }
}

#[test]
fn the_deny_list_drops_and_names_its_route() {
    let health = facts("health_issue.json");
    let routes = [
        route(serde_json::json!({"source": ["aws.guardduty"], "robot": "sec"})),
        route(serde_json::json!({
            "detail_type": ["AWS Health Event"],
            "event_type_code": ["AWS_VPN_SINGLE_TUNNEL_NOTIFICATION", "AWS_EC2_OPERATIONAL_*"],
            "drop": true
        })),
    ];
    assert_eq!(decide(&routes, &health), Decision::Drop { route: 2 });
    assert_eq!(decide(&routes, &health).robot(), None);
    let other = facts("health_scheduled_maintenance.json");
    assert_eq!(robot_of(&routes, &other), "default");
}

#[test]
fn mentions_follow_the_route_its_floor_and_the_alarm_state() {
    let paging = serde_json::json!({
        "robot": "sec",
        "at_mobiles": ["13800000000"],
        "at_user_ids": ["manager4711"],
    });
    let r = route(paging.clone());
    let want = Some(Mentions {
        mobiles: vec!["13800000000".into()],
        user_ids: vec!["manager4711".into()],
        all: false,
    });
    let mentions = |r: &Route, f: &Facts| match decide(std::slice::from_ref(r), f) {
        Decision::Send { mentions, .. } => mentions,
        d => panic!("{d:?}"),
    };
    // GuardDuty high: at the default floor.
    assert_eq!(mentions(&r, &facts("guardduty_finding.json")), want);
    // An alarm entering ALARM pages; its recovery and a suppressed one do not.
    assert_eq!(mentions(&r, &facts("alarm_metric_alarm.json")), want);
    let silent = Some(Mentions::default());
    assert_eq!(
        mentions(&r, &facts("alarm_composite_suppressed.json")),
        silent
    );
    let mut ok = facts("alarm_metric_alarm.json");
    ok.state = Some("OK".into());
    assert_eq!(mentions(&r, &ok), silent);
    // Below the floor: no page.
    let mut crit = paging.clone();
    crit["mention_min_severity"] = "critical".into();
    assert_eq!(
        mentions(&route(crit), &facts("guardduty_finding.json")),
        silent
    );
    // A route without people leaves the decision to the secret.
    let quiet = route(serde_json::json!({"robot": "sec"}));
    assert_eq!(mentions(&quiet, &facts("guardduty_finding.json")), None);
    // @all is a route's choice too.
    let all = route(serde_json::json!({"at_all": true}));
    assert_eq!(
        mentions(&all, &facts("guardduty_finding.json")),
        Some(Mentions {
            all: true,
            ..Mentions::default()
        })
    );
}

#[test]
fn checks_name_the_route_by_number() {
    let robots = ["default", "security"];
    let ok = [
        route(serde_json::json!({"source": ["aws.guardduty"], "robot": "security"})),
        route(serde_json::json!({"event_type_code": ["AWS_CLOUDSHELL_*"], "drop": true})),
        route(serde_json::json!({"robot": "default"})),
    ];
    assert_eq!(check(&ok, &robots), Ok(()));
    let unknown = [route(serde_json::json!({"robot": "secuirty"}))];
    assert_eq!(
        check(&unknown, &robots).unwrap_err(),
        "route 1 sends to robot `secuirty`, which has no [robots.secuirty] section; add it or fix the name (robots: default, security)"
    );
    let unreachable = [
        route(serde_json::json!({"robot": "security"})),
        route(serde_json::json!({"source": ["aws.health"], "drop": true})),
    ];
    assert_eq!(
        check(&unreachable, &robots).unwrap_err(),
        "route 2 can never match: route 1 before it matches every alert; move it up or remove it"
    );
    let mixed = [route(serde_json::json!({"drop": true, "at_all": true}))];
    assert!(check(&mixed, &robots)
        .unwrap_err()
        .starts_with("route 1 drops"));
    let phone = [route(serde_json::json!({"at_mobiles": ["138 0000"]}))];
    assert!(check(&phone, &robots)
        .unwrap_err()
        .starts_with("route 1: at_mobiles"));
}

#[test]
fn unknown_keys_and_bad_severities_are_refused() {
    let e = serde_json::from_value::<Route>(serde_json::json!({"sorce": ["x"]}))
        .unwrap_err()
        .to_string();
    assert!(e.contains("unknown field `sorce`"), "{e}");
    let e = serde_json::from_value::<Route>(serde_json::json!({"min_severity": "urgent"}))
        .unwrap_err()
        .to_string();
    assert!(e.contains("unknown variant `urgent`"), "{e}");
}

#[test]
fn routes_round_trip_through_the_environment() {
    let routes = vec![
        route(
            serde_json::json!({"source": ["aws.guardduty"], "robot": "security", "at_mobiles": ["13800000000"]}),
        ),
        route(serde_json::json!({"event_type_code": ["AWS_CLOUDSHELL_*"], "drop": true})),
    ];
    let json = serde_json::to_string(&routes).unwrap();
    assert_eq!(
        json,
        r#"[{"source":["aws.guardduty"],"robot":"security","at_mobiles":["13800000000"]},{"event_type_code":["AWS_CLOUDSHELL_*"],"drop":true}]"#
    );
    assert_eq!(parse_routes(&json).unwrap(), routes);
    assert_eq!(parse_routes(" ").unwrap(), vec![]);
    assert!(parse_routes("{").is_err());
}

#[test]
fn robot_names_are_table_keys() {
    assert!(valid_robot_name("security-cn_2"));
    for bad in ["", "a b", "sec#1", &"x".repeat(65)] {
        assert!(!valid_robot_name(bad), "{bad}");
    }
}
