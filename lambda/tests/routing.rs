//! Routing through the real `bootstrap`, against moto and two local robots
//! as hard as DingTalk's: a GuardDuty finding and an alarm reach different
//! robots, each paging the route's people (the `at` object and the `@` in
//! the text, which DingTalk needs to notify anyone); a deny-listed Health
//! event reaches no one; a storm spanning both robots keeps within each
//! robot's own budget; a blocked robot does not hold the other one up.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use testkit::lambda_events::sqs_batch;
use testkit::{notified, DingTalkOptions, DingTalkRobots, LambdaEmulator, Moto, Notified, Outcome};

const STATE_TABLE: &str = "dingtalk-notifier-routing-state";
const KEYWORD: &str = "告警";
const WINDOW: Duration = Duration::from_secs(2);

/// The routes of the README's "Routing" example, as `deploy` passes them.
fn routes() -> Value {
    json!([
        {"source": ["aws.guardduty", "aws.securityhub"], "min_severity": "high",
         "robot": "security", "at_mobiles": ["13800000000"]},
        {"source": ["aws.cloudwatch"], "name_prefix": ["sec-"], "robot": "security"},
        {"detail_type": ["AWS Health Event"],
         "event_type_code": ["AWS_VPN_SINGLE_TUNNEL_NOTIFICATION", "AWS_EC2_OPERATIONAL_*"],
         "drop": true},
        {"source": ["aws.cloudwatch"], "robot": "default", "at_user_ids": ["manager4711"]}
    ])
}

fn fixture(name: &str) -> String {
    let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// An alarm entering ALARM, shaped as `alarm_metric_alarm.json` (AWS's
/// sample), under another name.
fn alarm(name: &str) -> String {
    let mut v: Value = serde_json::from_str(&fixture("alarm_metric_alarm.json")).unwrap();
    v["id"] = json!(format!("id-{name}"));
    v["detail"]["alarmName"] = json!(name);
    v["resources"] = json!([format!(
        "arn:aws:cloudwatch:us-east-1:123456789012:alarm:{name}"
    )]);
    v.to_string()
}

struct World {
    moto: Moto,
    robots: DingTalkRobots,
    arn: String,
}

impl World {
    async fn start() -> World {
        let moto = Moto::start().expect("moto");
        let robot = |keywords: Vec<String>| DingTalkOptions {
            keywords,
            window: WINDOW,
            ..DingTalkOptions::default()
        };
        let robots = DingTalkRobots::start(vec![
            ("default", robot(vec![])),
            ("security", robot(vec![KEYWORD.into()])),
        ])
        .expect("robots");
        let config = moto.sdk_config().await;
        let secret = robots.secret_value(|name| match name {
            "security" => json!({"keyword": KEYWORD}),
            _ => json!({}),
        });
        let arn = aws_sdk_secretsmanager::Client::new(&config)
            .create_secret()
            .name("dingtalk-notifier/routing/webhook")
            .secret_string(secret)
            .send()
            .await
            .expect("secret")
            .arn
            .expect("arn");
        crate::create_state_table(&config, STATE_TABLE).await;
        World { moto, robots, arn }
    }

    fn container(&self, extra: &[(&str, &str)]) -> LambdaEmulator {
        let mut env = self.moto.env();
        env.push(("DINGTALK_SECRET_ARN".into(), self.arn.clone()));
        env.push(("STATE_TABLE".into(), STATE_TABLE.into()));
        // The local robots are a listed loopback relay (webhook_host).
        env.push(("DINGTALK_WEBHOOK_HOSTS".into(), "127.0.0.1".into()));
        if !extra.iter().any(|(k, _)| *k == "ROUTES") {
            env.push(("ROUTES".into(), routes().to_string()));
        }
        env.push((
            "DINGTALK_RATE_WINDOW_MS".into(),
            WINDOW.as_millis().to_string(),
        ));
        env.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        let bin = std::path::Path::new(env!("CARGO_BIN_EXE_bootstrap"));
        LambdaEmulator::start(bin, env).expect("container")
    }
}

fn text(body: &Value) -> &str {
    body["markdown"]["text"].as_str().unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_finding_and_an_alarm_reach_different_robots_and_page_the_right_people() {
    let w = World::start().await;
    let c = w.container(&[]);
    let batch = sqs_batch(&[
        ("m-gd", fixture("guardduty_finding.json")),
        ("m-alarm", fixture("alarm_metric_alarm.json")),
        ("m-health", fixture("health_issue.json")),
    ]);
    let inv = c
        .invoke(batch, Duration::from_secs(10))
        .await
        .expect("invoke");
    assert!(
        matches!(&inv.outcome, Outcome::Response(v) if *v == json!({"batchItemFailures": []})),
        "{:?}\n{:#?}",
        inv.outcome,
        inv.logs
    );

    let security = w.robots.get("security").accepted();
    assert_eq!(security.len(), 1, "{security:#?}");
    let gd = &security[0];
    assert_eq!(
        gd["at"],
        json!({"atMobiles": ["13800000000"], "isAtAll": false})
    );
    assert!(text(gd).ends_with("\n\n@13800000000"), "{}", text(gd));
    assert!(gd["markdown"]["title"]
        .as_str()
        .unwrap_or_default()
        .starts_with("【告警】"));
    assert_eq!(
        notified(gd),
        Notified {
            all: false,
            mobiles: vec!["13800000000".into()],
            user_ids: vec![],
        }
    );

    let ops = w.robots.get("default").accepted();
    assert_eq!(ops.len(), 1, "{ops:#?}");
    let alarm = &ops[0];
    assert!(text(alarm).contains("ServerCpuTooHigh"), "{}", text(alarm));
    assert_eq!(
        alarm["at"],
        json!({"atMobiles": [], "atUserIds": ["manager4711"], "isAtAll": false})
    );
    assert!(text(alarm).ends_with("\n\n@manager4711"), "{}", text(alarm));
    assert_eq!(notified(alarm).user_ids, vec!["manager4711".to_string()]);

    let outcomes = inv.outcomes();
    let line = |id: &str| {
        outcomes
            .iter()
            .find(|o| o["alert_id"] == id)
            .cloned()
            .unwrap_or_else(|| panic!("no outcome for {id}: {outcomes:#?}"))
    };
    assert_eq!(line("m-gd")["robot"], "security");
    assert_eq!(line("m-gd")["mention"], true);
    assert_eq!(line("m-alarm")["robot"], "default");
    let dropped = line("m-health");
    assert_eq!(dropped["outcome"], "dropped");
    assert_eq!(dropped["route"], 3);
    assert_eq!(outcomes.len(), 3);
}

/// An alarm's recovery (OK) reaches its robot without paging anyone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_recovery_goes_to_its_robot_without_a_page() {
    let w = World::start().await;
    let c = w.container(&[]);
    let mut ok: Value = serde_json::from_str(&alarm("db-latency")).unwrap();
    ok["detail"]["state"]["value"] = json!("OK");
    ok["detail"]["previousState"]["value"] = json!("ALARM");
    let inv = c
        .invoke(
            sqs_batch(&[("m-ok", ok.to_string())]),
            Duration::from_secs(10),
        )
        .await
        .expect("invoke");
    assert_eq!(inv.only_outcome()["robot"], "default");
    let ops = w.robots.get("default").accepted();
    assert_eq!(ops.len(), 1);
    assert_eq!(ops[0]["at"], json!({"atMobiles": [], "isAtAll": false}));
    assert!(!text(&ops[0]).contains("@manager4711"));
}

/// 30 alarms for each robot, in batches of 10 (one message per alert),
/// until all are accepted: each robot's own 20-a-window budget holds (no
/// throttle answer from either), and each robot has its own item in the
/// state table.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_storm_spanning_two_robots_keeps_each_robots_budget() {
    let w = World::start().await;
    // Two containers invoked at once, as the mapping's MaximumConcurrency 2.
    let containers = [
        w.container(&[("DIGEST_MIN_ALERTS", "1000")]),
        w.container(&[("DIGEST_MIN_ALERTS", "1000")]),
    ];
    let mut pending: Vec<(String, String)> = (0..30)
        .flat_map(|i| {
            [
                (format!("sec-{i:02}"), alarm(&format!("sec-{i:02}"))),
                (format!("ops-{i:02}"), alarm(&format!("ops-{i:02}"))),
            ]
        })
        .collect();
    let started = Instant::now();
    while !pending.is_empty() {
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "{} alarms still pending",
            pending.len()
        );
        let take = pending.len().min(10);
        let first: Vec<(String, String)> = pending.drain(..take).collect();
        let take = pending.len().min(10);
        let second: Vec<(String, String)> = pending.drain(..take).collect();
        let (a, b) = tokio::join!(
            invoke_batch(&containers[0], &first),
            invoke_batch(&containers[1], &second)
        );
        pending.extend(a);
        pending.extend(b);
    }
    for (robot, prefix) in [("security", "sec-"), ("default", "ops-")] {
        let r = w.robots.get(robot);
        assert_eq!(r.throttle_answers(), 0, "{robot} was throttled");
        let names: BTreeSet<String> = r
            .accepted()
            .iter()
            .map(|b| {
                let t = text(b);
                let at = t.find(prefix).unwrap_or_else(|| panic!("{robot}: {t}"));
                t[at..at + prefix.len() + 2].to_string()
            })
            .collect();
        assert_eq!(names.len(), 30, "{robot}: {names:?}");
        assert_eq!(r.accepted().len(), 30, "{robot}: a duplicate");
    }
    let items = aws_sdk_dynamodb::Client::new(&w.moto.sdk_config().await)
        .scan()
        .table_name(STATE_TABLE)
        .send()
        .await
        .expect("scan")
        .items
        .unwrap_or_default();
    let keys: BTreeSet<String> = items
        .iter()
        .filter_map(|i| i.get("pk").and_then(|v| v.as_s().ok()).cloned())
        .collect();
    assert_eq!(
        keys,
        BTreeSet::from(["robot#default".to_string(), "robot#security".to_string()])
    );
}

/// The security robot is blocked (someone breached its limit): its alarm
/// comes back later, while the ops robot's alarm in the same batch is
/// delivered at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_blocked_robot_does_not_hold_up_the_other() {
    let w = World::start().await;
    w.robots.get("security").throttle_now();
    let c = w.container(&[]);
    let batch = sqs_batch(&[
        ("m-sec", alarm("sec-blocked")),
        ("m-ops", alarm("ops-free")),
    ]);
    let started = Instant::now();
    let inv = c
        .invoke(batch, Duration::from_secs(10))
        .await
        .expect("invoke");
    assert_eq!(
        inv.outcome,
        Outcome::Response(json!({"batchItemFailures": [{"itemIdentifier": "m-sec"}]}))
    );
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    let ops = w.robots.get("default").accepted();
    assert_eq!(ops.len(), 1);
    assert!(text(&ops[0]).contains("ops-free"));
}

/// Routes over the 4 KB environment live in the secret (`ROUTES=secret`):
/// the function reads them from there and routes the same way.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn routes_kept_in_the_secret_route_the_same() {
    let w = World::start().await;
    let secrets = aws_sdk_secretsmanager::Client::new(&w.moto.sdk_config().await);
    let current = secrets
        .get_secret_value()
        .secret_id(&w.arn)
        .send()
        .await
        .expect("read")
        .secret_string
        .expect("string");
    let mut doc: Value = serde_json::from_str(&current).unwrap();
    doc["routes"] = routes();
    secrets
        .put_secret_value()
        .secret_id(&w.arn)
        .secret_string(doc.to_string())
        .send()
        .await
        .expect("put");
    let c = w.container(&[("ROUTES", "secret")]);
    let batch = sqs_batch(&[
        ("m-gd", fixture("guardduty_finding.json")),
        ("m-health", fixture("health_issue.json")),
    ]);
    let inv = c
        .invoke(batch, Duration::from_secs(10))
        .await
        .expect("invoke");
    assert_eq!(
        inv.outcome,
        Outcome::Response(json!({"batchItemFailures": []}))
    );
    let security = w.robots.get("security").accepted();
    assert_eq!(security.len(), 1);
    assert_eq!(
        security[0]["at"],
        json!({"atMobiles": ["13800000000"], "isAtAll": false})
    );
    assert!(w.robots.get("default").accepted().is_empty());
    let outcomes = inv.outcomes();
    assert!(outcomes
        .iter()
        .any(|o| o["alert_id"] == "m-health" && o["outcome"] == "dropped" && o["route"] == 3));
}

/// Invokes one SQS batch (nothing when empty); the records the function
/// reported undelivered, to send again.
async fn invoke_batch(c: &LambdaEmulator, chunk: &[(String, String)]) -> Vec<(String, String)> {
    if chunk.is_empty() {
        return Vec::new();
    }
    let records: Vec<(&str, String)> = chunk
        .iter()
        .map(|(id, body)| (id.as_str(), body.clone()))
        .collect();
    let inv = c
        .invoke(sqs_batch(&records), Duration::from_secs(10))
        .await
        .expect("invoke");
    let Outcome::Response(v) = &inv.outcome else {
        panic!("{:?}", inv.outcome)
    };
    let failed: BTreeSet<&str> = v["batchItemFailures"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|f| f["itemIdentifier"].as_str())
        .collect();
    chunk
        .iter()
        .filter(|(id, _)| failed.contains(id.as_str()))
        .cloned()
        .collect()
}
