//! Everything an event carries is data. Anyone allowed to publish to the
//! topic (or to name an alarm) can forge a genuine-looking alarm whose name
//! and reason carry a phishing link, an image, a heading, HTML and a
//! mention. Through the real `bootstrap` to the local robot, the body the
//! robot receives must show all of it as text.

use std::time::Duration;

use pretty_assertions::assert_eq;
use serde_json::{json, Value};
use testkit::lambda_events::sns_event;
use testkit::{DingTalkOptions, DingTalkServer, LambdaEmulator, Moto, Outcome};

const TIMEOUT: Duration = Duration::from_secs(8);
const MOBILE: &str = "13800000000";

/// A CloudWatch alarm state change as EventBridge delivers it (shape of
/// `fixtures/alarm_metric_alarm.json`), with a forged name and reason.
fn forged_alarm() -> String {
    json!({
        "version": "0", "id": "forged-1",
        "detail-type": "CloudWatch Alarm State Change", "source": "aws.cloudwatch",
        "account": "123456789012", "time": "2026-11-25T02:00:00Z", "region": "us-east-1",
        "resources": [],
        "detail": {
            "alarmName": "cpu [点此处理 Fix now](https://evil.example/login) ![logo](https://evil.example/p.png)",
            "state": {
                "value": "ALARM",
                "reason": "# 紧急 **重置密码** [AWS 控制台](https://evil.example/reset) <img src=https://evil.example/i.png> 联系 @13900000000 https://evil.example/x",
                "timestamp": "2026-11-25T02:00:00.000+0000"
            },
            "previousState": {"value": "OK", "reason": "p", "timestamp": "2026-11-25T01:00:00.000+0000"},
            "configuration": {"metrics": []}
        }
    })
    .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forged_alarm_reaches_the_robot_as_text() {
    let moto = Moto::start().expect("moto");
    let robot = DingTalkServer::start(DingTalkOptions::default()).expect("robot");
    let secrets = aws_sdk_secretsmanager::Client::new(&moto.sdk_config().await);
    let secret =
        json!({"webhook": robot.webhook_url(), "at_mobiles": [MOBILE], "at_all_on": ["ALARM"]});
    let arn = secrets
        .create_secret()
        .name("dingtalk-notifier/injection/webhook")
        .secret_string(secret.to_string())
        .send()
        .await
        .expect("create secret")
        .arn
        .expect("arn");
    let mut env = moto.env();
    env.push(("DINGTALK_SECRET_ARN".into(), arn));
    // The robot listens on loopback, a relay deploy --webhook-any-host lists.
    env.push(("DINGTALK_WEBHOOK_HOSTS".into(), "127.0.0.1".into()));
    let bin = std::path::Path::new(env!("CARGO_BIN_EXE_bootstrap"));
    let container = LambdaEmulator::start(bin, env).expect("container");

    let inv = container
        .invoke(sns_event("forged-1", &forged_alarm()), TIMEOUT)
        .await
        .expect("invoke");
    assert!(
        matches!(inv.outcome, Outcome::Response(_)),
        "{:?}",
        inv.outcome
    );
    let bodies: Vec<Value> = robot.accepted();
    assert_eq!(bodies.len(), 1);
    let text = "### 🟠 CloudWatch 告警 Alarm: cpu \\[点此处理 Fix now\\](https：//evil.example/login) !\\[logo\\](https：//evil.example/p.png)\n\n\
- **状态 State**: ✅ OK → 🟠 ALARM\n\
- **告警 Alarm**: cpu \\[点此处理 Fix now\\](https：//evil.example/login) !\\[logo\\](https：//evil.example/p.png)\n\
- **账号 Account**: 123456789012\n\
- **区域 Region**: us-east-1\n\
- **时间 Time**: 2026-11-25 10:00:00 (Asia/Shanghai)\n\
- **状态时间 State time**: 2026-11-25 10:00:00 (Asia/Shanghai)\n\
- **原因 Reason**: \\# 紧急 \\*\\*重置密码\\*\\* \\[AWS 控制台\\](https：//evil.example/reset) &lt;img src=https：//evil.example/i.png> 联系 ＠13900000000 https：//evil.example/x\n\n\
[在 CloudWatch 控制台查看 Open in CloudWatch](https://us-east-1.console.aws.amazon.com/cloudwatch/home?region=us-east-1#alarmsV2:alarm/cpu%20%5B%E7%82%B9%E6%AD%A4%E5%A4%84%E7%90%86%20Fix%20now%5D%28https%3A%2F%2Fevil.example%2Flogin%29%20%21%5Blogo%5D%28https%3A%2F%2Fevil.example%2Fp.png%29)\n\n\
@13800000000";
    assert_eq!(
        bodies[0],
        json!({
            "msgtype": "markdown",
            // The title is plain text in the chat list, never rendered.
            "markdown": {
                "title": "🟠 ALARM: cpu [点此处理 Fix now](https://evil.example/login) ![logo](https://evil.example/p.png)",
                "text": text
            },
            // Only our configured mobile is mentioned; the forged one is text.
            "at": {"atMobiles": [MOBILE], "isAtAll": true}
        })
    );
}
