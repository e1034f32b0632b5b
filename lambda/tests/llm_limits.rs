//! The LLM step inside its limits, with the real `bootstrap` under the local
//! Lambda Runtime API (which, like Lambda, kills an invocation at its
//! deadline) and the local Bedrock server at its hardest: hanging, cutting
//! at maxTokens, refusing base model ids on demand.

use std::time::{Duration, Instant};
use testkit::lambda_events::sns_event;

use dingtalk_notifier_lambda::format::{self, FormatOptions};
use dingtalk_notifier_lambda::llm;
use dingtalk_notifier_lambda::samples::{sample_event, SampleKind};
use serde_json::{json, Value};
use testkit::{
    on_demand_refusal, BedrockMode, BedrockServer, DingTalkOptions, DingTalkServer, Invocation,
    LambdaEmulator, Moto, Outcome,
};

/// A profile of the emulator's region (us-east-1), served by the local Bedrock.
const PROFILE: &str = "us.amazon.nova-lite-v1:0";

fn llm_error(inv: &Invocation) -> String {
    inv.log_lines()
        .iter()
        .find_map(|v| {
            v.get("llm_error")
                .and_then(Value::as_str)
                .map(str::to_string)
        })
        .unwrap_or_default()
}

/// The robot's body for a message from a bare-webhook secret (no keyword,
/// no mentions).
fn body(title: &str, text: &str) -> Value {
    json!({
        "msgtype": "markdown",
        "markdown": {"title": title, "text": text},
        "at": {"atMobiles": [], "isAtAll": false}
    })
}

struct World {
    _moto: Moto,
    robot: DingTalkServer,
    bedrock: BedrockServer,
    env: Vec<(String, String)>,
}

async fn world() -> World {
    let moto = Moto::start().expect("moto");
    let robot = DingTalkServer::start(DingTalkOptions::default()).expect("robot");
    let bedrock = BedrockServer::start(BedrockMode::Hang).expect("bedrock");
    let sm = aws_sdk_secretsmanager::Client::new(&moto.sdk_config().await);
    let arn = sm
        .create_secret()
        .name("dingtalk-notifier/llm/webhook")
        .secret_string(robot.webhook_url())
        .send()
        .await
        .expect("create secret")
        .arn
        .expect("arn");
    let mut env = moto.env();
    env.push(("DINGTALK_SECRET_ARN".into(), arn));
    // The robot listens on loopback, a relay deploy --webhook-any-host lists.
    env.push(("DINGTALK_WEBHOOK_HOSTS".into(), "127.0.0.1".into()));
    env.push((
        "AWS_ENDPOINT_URL_BEDROCK_RUNTIME".into(),
        bedrock.endpoint(),
    ));
    env.push(("LLM_ENABLED".into(), "true".into()));
    World {
        _moto: moto,
        robot,
        bedrock,
        env,
    }
}

fn function(w: &World, extra: &[(&str, &str)]) -> LambdaEmulator {
    let mut env = w.env.clone();
    env.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    let bin = std::path::Path::new(env!("CARGO_BIN_EXE_bootstrap"));
    LambdaEmulator::start(bin, env).expect("emulator")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_summary_never_costs_the_alert_its_delivery() {
    let w = world().await;
    let alarm = sample_event(SampleKind::Alarm);
    let rendered = format::render(alarm, None, &FormatOptions::default());
    let plain = body(&rendered.message.title, &rendered.message.text);

    // 1. Function Timeout 10 s, LLM_TIMEOUT_MS at its default 10 s, Bedrock
    //    hangs: the summary gets what the send does not need, and the alert
    //    goes out plain before Lambda's deadline.
    let f = function(&w, &[("LLM_MODEL_ID", PROFILE)]);
    let started = Instant::now();
    let inv = f
        .invoke(sns_event("sns-hang", alarm), Duration::from_secs(10))
        .await
        .expect("invoke");
    let took = started.elapsed();
    assert!(
        matches!(inv.outcome, Outcome::Response(_)),
        "{:?}\n{:#?}",
        inv.outcome,
        inv.logs
    );
    // Done with time to spare before Lambda's 10 s (the send deadline is 8 s).
    assert!(took < Duration::from_millis(9_500), "took {took:?}");
    let line = inv.only_outcome();
    assert_eq!(line["outcome"], "delivered");
    assert_eq!(line["llm"], "fallback");
    let reason = llm_error(&inv);
    assert!(
        reason.starts_with("Bedrock did not answer within ") && reason.ends_with(" ms"),
        "{reason}"
    );
    assert_eq!(w.bedrock.requests().len(), 1);
    assert_eq!(w.robot.accepted(), vec![plain.clone()]);

    // 2. Too little time for any call: the summary is not even asked for.
    let inv = f
        .invoke(sns_event("sns-short", alarm), Duration::from_secs(4))
        .await
        .expect("invoke");
    assert!(matches!(inv.outcome, Outcome::Response(_)), "{inv:?}");
    assert_eq!(inv.only_outcome()["llm"], "skipped");
    assert!(
        llm_error(&inv).starts_with("no time for a summary: "),
        "{:#?}",
        inv.logs
    );
    assert_eq!(w.bedrock.requests().len(), 1, "Bedrock not asked");
    assert_eq!(w.robot.accepted().len(), 2);

    // 3. Cut off by maxTokens: whole sentences only, and marked as cut.
    w.bedrock.set_mode(BedrockMode::MaxTokens(
        "CPU 持续过高。\n影响 web-1，建议".into(),
    ));
    let inv = f
        .invoke(sns_event("sns-cut", alarm), Duration::from_secs(10))
        .await
        .expect("invoke");
    assert_eq!(inv.only_outcome()["llm"], "truncated");
    let cut = rendered
        .message
        .with_summary("CPU 持续过高。\n……（摘要超出长度上限，已截断）");
    assert_eq!(
        w.robot.accepted().last().cloned().unwrap_or_default(),
        body(&cut.title, &cut.text)
    );
    // Not one whole sentence: nothing of it is posted.
    w.bedrock
        .set_mode(BedrockMode::MaxTokens("CPU 持续过高，影响".into()));
    let inv = f
        .invoke(sns_event("sns-cut-2", alarm), Duration::from_secs(10))
        .await
        .expect("invoke");
    assert_eq!(inv.only_outcome()["llm"], "fallback");
    assert_eq!(
        llm_error(&inv),
        "the summary was cut off by maxTokens before its first sentence ended"
    );
    assert_eq!(
        w.robot.accepted().last().cloned().unwrap_or_default(),
        plain
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn base_model_ids_and_the_original_apps_prompt() {
    let w = world().await;
    w.bedrock
        .set_mode(BedrockMode::Reply("一句话摘要。".into()));
    let alarm = sample_event(SampleKind::Alarm);
    let rendered = format::render(alarm, None, &FormatOptions::default());

    // 1. A base model id, as the real Bedrock answers for most models today:
    //    the plain message goes out and the log says why.
    let f = function(&w, &[]);
    let inv = f
        .invoke(sns_event("sns-base", alarm), Duration::from_secs(10))
        .await
        .expect("invoke");
    assert_eq!(inv.only_outcome()["llm"], "fallback");
    assert_eq!(
        llm_error(&inv),
        format!(
            "Bedrock call failed: ValidationException: {}",
            on_demand_refusal(dingtalk_notifier_lambda::config::DEFAULT_MODEL_ID)
        )
    );

    // 2. The original app's prompt: the alert goes where `%s` stands, and
    //    the prompt is the whole instruction (no system prompt of ours).
    let f = function(
        &w,
        &[
            ("LLM_MODEL_ID", PROFILE),
            (
                "LLM_SYSTEM_PROMPT",
                "请用一句话总结这条告警：\n%s\n不要编造。",
            ),
        ],
    );
    let inv = f
        .invoke(sns_event("sns-tpl", alarm), Duration::from_secs(10))
        .await
        .expect("invoke");
    assert_eq!(inv.only_outcome()["llm"], "used");
    let asked = w.bedrock.requests();
    let last = asked.last().expect("asked");
    assert_eq!(last.model_id, PROFILE);
    assert_eq!(last.body.get("system"), None);
    assert_eq!(
        last.body["messages"],
        json!([{"role": "user", "content": [{"text": format!(
            "请用一句话总结这条告警：\n{}\n不要编造。",
            llm::user_prompt(alarm, &rendered.message)
        )}]}])
    );
    let summarized = rendered.message.with_summary("一句话摘要。");
    assert_eq!(
        w.robot.accepted().last().cloned().unwrap_or_default(),
        body(&summarized.title, &summarized.text)
    );
}
