//! How the real `bootstrap` handles every kind of answer from a robot as
//! hard as DingTalk's: throttles (130101, 410100, a redirect), "system busy",
//! a reply without an errcode, a rotated secret, a digest refused for one
//! alert's content, and a body over 20,000 bytes. Each case runs in a fresh
//! container (process), as a throttle answer changes what a container does
//! next.

use std::time::Duration;
use testkit::lambda_events::{sns_event, sqs_record};

use dingtalk_notifier_lambda::format::{self, FormatOptions};
use dingtalk_notifier_lambda::message::TRUNCATION_NOTICE;
use serde_json::{json, Value};
use testkit::{DingTalkOptions, DingTalkServer, Invocation, LambdaEmulator, Moto, Outcome};

const TIMEOUT: Duration = Duration::from_secs(8);
const KEYWORD: &str = "NOTIFYKW";

struct World {
    moto: Moto,
    robot: DingTalkServer,
    secrets: aws_sdk_secretsmanager::Client,
    arn: String,
}

impl World {
    async fn start(opts: DingTalkOptions) -> World {
        let moto = Moto::start().expect("moto");
        let robot = DingTalkServer::start(opts).expect("robot");
        let secrets = aws_sdk_secretsmanager::Client::new(&moto.sdk_config().await);
        let arn = secrets
            .create_secret()
            .name("dingtalk-notifier/delivery/webhook")
            .secret_string(secret_value(&robot.webhook_url(), None))
            .send()
            .await
            .expect("create secret")
            .arn
            .expect("arn");
        World {
            moto,
            robot,
            secrets,
            arn,
        }
    }

    /// A fresh container: a new `bootstrap` process.
    fn container(&self) -> LambdaEmulator {
        self.container_with(&[])
    }

    fn container_with(&self, extra: &[(&str, &str)]) -> LambdaEmulator {
        let mut env = self.moto.env();
        env.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        env.push(("DINGTALK_SECRET_ARN".into(), self.arn.clone()));
        // The robot listens on loopback, a relay deploy --webhook-any-host lists.
        env.push(("DINGTALK_WEBHOOK_HOSTS".into(), "127.0.0.1".into()));
        // A 1.5 s window: a throttle blocks for 15 s, longer than TIMEOUT.
        env.push(("DINGTALK_RATE_WINDOW_MS".into(), "1500".into()));
        let bin = std::path::Path::new(env!("CARGO_BIN_EXE_bootstrap"));
        LambdaEmulator::start(bin, env).expect("container")
    }
}

fn secret_value(webhook: &str, signing: Option<&str>) -> String {
    let mut v = json!({"webhook": webhook, "keyword": KEYWORD});
    if let Some(s) = signing {
        v["secret"] = json!(s);
    }
    v.to_string()
}

fn alarm(name: &str) -> String {
    json!({
        "version": "0", "id": format!("id-{name}"),
        "detail-type": "CloudWatch Alarm State Change", "source": "aws.cloudwatch",
        "account": "123456789012", "time": "2026-11-25T02:00:00Z", "region": "us-east-1",
        "resources": [format!("arn:aws:cloudwatch:us-east-1:123456789012:alarm:{name}")],
        "detail": {
            "alarmName": name,
            "state": {"value": "ALARM", "reason": "r", "timestamp": "2026-11-25T02:00:00.000+0000"},
            "previousState": {"value": "OK", "reason": "p", "timestamp": "2026-11-25T01:00:00.000+0000"},
            "configuration": {"metrics": []}
        }
    })
    .to_string()
}

fn error_of(line: &Value) -> &str {
    line["error"].as_str().unwrap_or_default()
}

/// The errcodes (or HTTP statuses) the robot answered, in order.
fn answers(robot: &DingTalkServer) -> Vec<String> {
    robot
        .requests()
        .iter()
        .map(|r| {
            if r.errcode == testkit::dingtalk::NO_ERRCODE {
                format!("HTTP {}", r.status)
            } else {
                r.errcode.to_string()
            }
        })
        .collect()
}

/// A failed SNS invocation whose only alert is reported transient.
fn assert_transient_failure(inv: &Invocation, expected: &str) {
    assert!(
        matches!(inv.outcome, Outcome::Error(_)),
        "{:?}",
        inv.outcome
    );
    let line = inv.only_outcome();
    assert_eq!(line["outcome"], "failed");
    assert_eq!(line["transient"], true, "{line}");
    assert!(error_of(&line).contains(expected), "{line}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn busy_is_retried_and_transient() {
    let w = World::start(DingTalkOptions::default()).await;
    let alarm = alarm("busy");

    // Busy once: retried after a backoff, then delivered.
    let c = w.container();
    w.robot.push_reply(-1, "系统繁忙");
    let inv = c
        .invoke(sns_event("b-1", &alarm), TIMEOUT)
        .await
        .expect("invoke");
    assert!(
        matches!(inv.outcome, Outcome::Response(_)),
        "{:?}",
        inv.outcome
    );
    let line = inv.only_outcome();
    assert_eq!(line["outcome"], "delivered");
    assert_eq!(line["attempts"], 2);
    assert_eq!(answers(&w.robot), ["-1", "0"]);

    // Busy all along: a transient failure before the deadline.
    w.robot.set_busy(true);
    let inv = c
        .invoke(sns_event("b-2", &alarm), Duration::from_secs(5))
        .await
        .expect("invoke");
    w.robot.set_busy(false);
    assert_transient_failure(&inv, "DingTalk is busy (errcode -1");
    assert_eq!(w.robot.accepted().len(), 1);
}

/// Makes the robot answer the next request some way.
type Script = fn(&DingTalkServer);

/// 130101, 410100 and a redirect all mean the robot is blocked for up to
/// ten minutes: the alert is left for a retry and the container sends
/// nothing more until the block is over. A redirect is never followed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_throttle_answer_blocks_the_container() {
    let w = World::start(DingTalkOptions::default()).await;
    let alarm = alarm("throttle");
    let cases: [(&str, Script, &str); 3] = [
        (
            "too-fast",
            |r| r.push_reply(130101, testkit::dingtalk::TOO_FAST_MSG),
            "errcode 130101",
        ),
        (
            "limited",
            |r| r.push_reply(410100, testkit::dingtalk::LIMITED_MSG),
            "errcode 410100",
        ),
        ("redirect", |r| r.push_redirect(), "HTTP 302 redirect"),
    ];
    for (name, script, answer) in cases {
        let c = w.container();
        script(&w.robot);
        let inv = c
            .invoke(sns_event(&format!("{name}-1"), &alarm), TIMEOUT)
            .await
            .expect("invoke");
        assert_transient_failure(&inv, &format!("DingTalk throttled the robot ({answer})"));
        let sent = w.robot.requests().len();
        // The same container: nothing is sent while the robot is blocked.
        let inv = c
            .invoke(sns_event(&format!("{name}-2"), &alarm), TIMEOUT)
            .await
            .expect("invoke");
        assert_transient_failure(&inv, "the robot is blocked for another");
        assert_eq!(w.robot.requests().len(), sent, "{name}: sent while blocked");
    }
    assert_eq!(w.robot.throttle_answers(), 3);
    assert_eq!(w.robot.redirects_followed(), 0);
    assert!(w.robot.accepted().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reply_without_errcode_is_its_own_error() {
    let w = World::start(DingTalkOptions::default()).await;
    let c = w.container();
    w.robot
        .push_raw_reply(200, r#"{"status":1111,"wait":5,"punish":"deny"}"#);
    let inv = c
        .invoke(sns_event("n-1", &alarm("noerrcode")), TIMEOUT)
        .await
        .expect("invoke");
    assert_transient_failure(
        &inv,
        "DingTalk answered HTTP 200 with JSON that has no errcode",
    );
    assert_eq!(w.robot.requests().len(), 1, "not retried at once");
}

/// The robot's webhook and signing secret are rotated between two alerts:
/// the second is refused, the function reads the secret again and delivers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rotated_secret_is_read_again() {
    let w = World::start(DingTalkOptions {
        access_token: "token-one".into(),
        secret: Some("SECone".into()),
        ..DingTalkOptions::default()
    })
    .await;
    w.secrets
        .put_secret_value()
        .secret_id(&w.arn)
        .secret_string(secret_value(&w.robot.webhook_url(), Some("SECone")))
        .send()
        .await
        .expect("put secret");
    let c = w.container();
    let inv = c
        .invoke(sns_event("r-1", &alarm("rotate-1")), TIMEOUT)
        .await
        .expect("invoke");
    assert_eq!(inv.only_outcome()["outcome"], "delivered");

    w.robot.rotate("token-two", Some("SECtwo"));
    w.secrets
        .put_secret_value()
        .secret_id(&w.arn)
        .secret_string(secret_value(&w.robot.webhook_url(), Some("SECtwo")))
        .send()
        .await
        .expect("rotate secret");
    let inv = c
        .invoke(sns_event("r-2", &alarm("rotate-2")), TIMEOUT)
        .await
        .expect("invoke");
    assert_eq!(
        inv.only_outcome()["outcome"],
        "delivered",
        "{:#?}",
        inv.logs
    );
    assert_eq!(answers(&w.robot), ["0", "300001", "0"]);
    assert!(w.robot.requests()[2]
        .query
        .starts_with("access_token=token-two&"));
    assert!(inv
        .logs
        .iter()
        .any(|l| l.contains("the secret has changed")));

    // Refused with the current secret: read once more, unchanged, so the
    // message is not sent again and the failure is reported.
    w.robot.push_reply(310000, "keywords not in content");
    let inv = c
        .invoke(sns_event("r-3", &alarm("rotate-3")), TIMEOUT)
        .await
        .expect("invoke");
    assert!(
        matches!(inv.outcome, Outcome::Error(_)),
        "{:?}",
        inv.outcome
    );
    let line = inv.only_outcome();
    assert_eq!(line["transient"], false);
    assert!(error_of(&line).contains("errcode 310000"), "{line}");
    assert_eq!(answers(&w.robot), ["0", "300001", "0", "310000"]);
    for l in c.logs() {
        for s in ["token-one", "token-two", "SECone", "SECtwo"] {
            assert!(!l.contains(s), "a log line leaks a secret: {l}");
        }
    }
}

/// The alerts move to another robot (the secret now names it) while the old
/// one still works: a container keeps the secret it read for at most its
/// maximum age (5 minutes in the stack, 1 s here), then sends to the new one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_moved_webhook_takes_effect_after_the_secrets_maximum_age() {
    let w = World::start(DingTalkOptions::default()).await;
    let c = w.container_with(&[("SECRET_MAX_AGE_MS", "1000")]);
    let deliver = |id: &'static str| {
        let c = &c;
        async move {
            let inv = c
                .invoke(sns_event(id, &alarm(id)), TIMEOUT)
                .await
                .expect("invoke");
            assert_eq!(
                inv.only_outcome()["outcome"],
                "delivered",
                "{:#?}",
                inv.logs
            );
        }
    };
    deliver("move-1").await;
    let new_robot = DingTalkServer::start(DingTalkOptions::default()).expect("robot");
    w.secrets
        .put_secret_value()
        .secret_id(&w.arn)
        .secret_string(secret_value(&new_robot.webhook_url(), None))
        .send()
        .await
        .expect("move secret");
    // Within the maximum age: still the robot it read.
    deliver("move-2").await;
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    deliver("move-3").await;
    let names = |r: &DingTalkServer| {
        r.accepted()
            .iter()
            .map(|m| {
                ["move-1", "move-2", "move-3"]
                    .into_iter()
                    .find(|n| {
                        m["markdown"]["title"]
                            .as_str()
                            .unwrap_or_default()
                            .contains(n)
                    })
                    .unwrap_or("?")
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(names(&w.robot), ["move-1", "move-2"]);
    assert_eq!(names(&new_robot), ["move-3"]);
}

/// One alert in a digest of six has content DingTalk refuses (430102): the
/// digest is sent again in halves, five alerts are delivered and only the
/// bad one is reported.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_digest_is_bisected() {
    let w = World::start(DingTalkOptions {
        forbidden: vec!["forbidden-word".into()],
        ..DingTalkOptions::default()
    })
    .await;
    let names = [
        "good-0",
        "good-1",
        "good-2",
        "bad-forbidden-word",
        "good-4",
        "good-5",
    ];
    let records: Vec<Value> = names
        .iter()
        .enumerate()
        .map(|(i, n)| sqs_record(&format!("m-{i}"), &alarm(n)))
        .collect();
    let c = w.container();
    let inv = c
        .invoke(json!({ "Records": records }), TIMEOUT)
        .await
        .expect("invoke");
    assert_eq!(
        inv.outcome,
        Outcome::Response(json!({"batchItemFailures": [{"itemIdentifier": "m-3"}]}))
    );
    // All six, then [0,1,2] and [3,4,5]; then [3] alone and [4,5].
    assert_eq!(answers(&w.robot), ["430102", "0", "430102", "430102", "0"]);
    let accepted: Vec<String> = w
        .robot
        .accepted()
        .iter()
        .map(|b| {
            b["markdown"]["text"]
                .as_str()
                .unwrap_or_default()
                .to_string()
        })
        .collect();
    for name in names.iter().filter(|n| n.starts_with("good")) {
        let times = accepted
            .iter()
            .map(|t| t.matches(&format!("ALARM: {name} ")).count())
            .sum::<usize>();
        assert_eq!(times, 1, "{name} in {accepted:#?}");
    }
    let lines = inv.outcomes();
    assert_eq!(lines.len(), 6, "{:#?}", inv.logs);
    let failed: Vec<&Value> = lines.iter().filter(|l| l["outcome"] == "failed").collect();
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0]["alert_id"], "m-3");
    assert!(error_of(failed[0]).contains("errcode 430102"));
    assert!(lines
        .iter()
        .filter(|l| l["outcome"] == "delivered")
        .all(|l| l["isolated"] == true && l["digest_size"] == 6));
}

/// A 50 KB alert full of quotes, newlines and CJK text (an alarm whose
/// reason is huge; each quote is two bytes of JSON): the whole request body,
/// with the keyword and the mention, is cut to DingTalk's 20,000 bytes, and
/// the robot takes it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_huge_alert_is_cut_to_the_whole_body_limit() {
    let w = World::start(DingTalkOptions {
        keywords: vec![KEYWORD.into()],
        ..DingTalkOptions::default()
    })
    .await;
    let mut secret: Value =
        serde_json::from_str(&secret_value(&w.robot.webhook_url(), None)).unwrap_or_default();
    secret["at_mobiles"] = json!(["13800000000"]);
    secret["at_all_on"] = json!(["ALARM"]);
    w.secrets
        .put_secret_value()
        .secret_id(&w.arn)
        .secret_string(secret.to_string())
        .send()
        .await
        .expect("put secret");
    let reason = "\"磁盘\" \"disk\" \"告警\"\n".repeat(2_000);
    assert!(reason.len() >= 50_000);
    let mut event: Value = serde_json::from_str(&alarm("huge")).unwrap_or_default();
    event["detail"]["state"]["reason"] = json!(reason);
    let event = event.to_string();
    let rendered = format::render(&event, None, &FormatOptions::default());
    let naive = json!({
        "msgtype": "markdown",
        "markdown": {"title": rendered.message.title, "text": rendered.message.text},
        "at": {"atMobiles": ["13800000000"], "isAtAll": true}
    });
    assert!(
        naive.to_string().len() > testkit::dingtalk::MAX_BODY_BYTES,
        "the test alert must be too big as rendered"
    );
    let c = w.container();
    let inv = c
        .invoke(sns_event("huge-1", &event), TIMEOUT)
        .await
        .expect("invoke");
    assert_eq!(
        inv.only_outcome()["outcome"],
        "delivered",
        "{:#?}",
        inv.logs
    );
    let requests = w.robot.requests();
    assert_eq!(answers(&w.robot), ["0"]);
    assert!(requests[0].body.len() <= testkit::dingtalk::MAX_BODY_BYTES);
    let body = &w.robot.accepted()[0];
    let sent = body["markdown"]["text"].as_str().unwrap_or_default();
    assert!(
        sent.starts_with(&format!("### 【{KEYWORD}】 🟠")),
        "{sent:.80}"
    );
    assert!(
        sent.ends_with(&format!("{TRUNCATION_NOTICE}\n\n@13800000000")),
        "{body}"
    );
    assert_eq!(
        body["at"],
        json!({"atMobiles": ["13800000000"], "isAtAll": true})
    );
}

/// A secret rewritten to a host deploy did not allow: the function sends
/// nothing there, says so on its own log line (the stack's metric filter
/// counts it for the `<stack>-webhook-host` alarm) and leaves the alert in
/// the queue; the robot's webhook back in the secret delivers it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_secret_rewritten_to_another_host_stops_delivery_with_a_clear_line() {
    let w = World::start(DingTalkOptions::default()).await;
    let alarm = alarm("rewritten");
    let elsewhere = DingTalkServer::start(DingTalkOptions::default()).expect("elsewhere");
    // Another server on another host: localhost is not the listed 127.0.0.1.
    let foreign = elsewhere.webhook_url().replace("127.0.0.1", "localhost");
    w.secrets
        .put_secret_value()
        .secret_id(&w.arn)
        .secret_string(secret_value(&foreign, None))
        .send()
        .await
        .expect("rewrite the secret");
    let c = w.container();
    let inv = c
        .invoke(sns_event("r-1", &alarm), TIMEOUT)
        .await
        .expect("invoke");
    assert_transient_failure(
        &inv,
        "the webhook's host localhost is neither DingTalk's (oapi.dingtalk.com) nor a relay allowed at deploy; nothing was sent",
    );
    let refused: Vec<Value> = inv
        .log_lines()
        .into_iter()
        .filter(|l| l["message"] == "webhook host refused")
        .collect();
    assert_eq!(refused.len(), 1, "{:?}", inv.log_lines());
    assert_eq!(refused[0]["level"], "ERROR");
    assert!(!refused[0].to_string().contains("access_token"));
    assert!(elsewhere.requests().is_empty(), "nothing sent there");
    assert!(w.robot.requests().is_empty());

    // Put right: the next delivery reaches the robot.
    w.secrets
        .put_secret_value()
        .secret_id(&w.arn)
        .secret_string(secret_value(&w.robot.webhook_url(), None))
        .send()
        .await
        .expect("restore the secret");
    let c = w.container();
    let inv = c
        .invoke(sns_event("r-2", &alarm), TIMEOUT)
        .await
        .expect("invoke");
    assert_eq!(inv.only_outcome()["outcome"], "delivered");
    assert_eq!(w.robot.accepted().len(), 1);
}
