//! The moto launcher, the Lambda Runtime API emulator and the SNS bridge,
//! driven by a tiny shell `bootstrap` that speaks the Runtime API with curl.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use testkit::{LambdaEmulator, Moto, Outcome, SnsLambdaBridge};

/// The markers are upper case with an underscore because the SQS events the
/// bridge delivers carry moto's receipt handles: 185 random lower-case letters,
/// which spelled "fail" once in CI and turned an echo into an error.
const FAKE_BOOTSTRAP: &str = r#"#!/bin/sh
API="http://$AWS_LAMBDA_RUNTIME_API/2018-06-01/runtime"
H=$(mktemp)
echo "init $AWS_LAMBDA_FUNCTION_NAME $AWS_REGION $EXTRA"
while true; do
  EVENT=$(curl -sS -D "$H" "$API/invocation/next") || exit 1
  ID=$(grep -i '^Lambda-Runtime-Aws-Request-Id:' "$H" | cut -d' ' -f2 | tr -d '\r')
  DEADLINE=$(grep -i '^Lambda-Runtime-Deadline-Ms:' "$H" | cut -d' ' -f2 | tr -d '\r')
  echo "{\"message\":\"handling\",\"id\":\"$ID\"}"
  echo "to stderr" >&2
  case "$EVENT" in
    *SLOW_NOW*) sleep 3; curl -sS -X POST -d '{"late":true}' "$API/invocation/$ID/response" >/dev/null ;;
    *FAIL_NOW*) curl -sS -X POST -d '{"errorType":"Boom","errorMessage":"failed"}' "$API/invocation/$ID/error" >/dev/null ;;
    *) curl -sS -X POST -d "{\"echo\":$EVENT,\"deadline\":$DEADLINE}" "$API/invocation/$ID/response" >/dev/null ;;
  esac
  echo "after $ID"
done
"#;

fn curl_available() -> bool {
    std::process::Command::new("curl")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

fn fake_bootstrap(dir: &Path) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let path = dir.join("bootstrap");
    std::fs::write(&path, FAKE_BOOTSTRAP).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path
}

#[test]
fn emulator_runs_a_bootstrap() {
    if !curl_available() {
        eprintln!("curl not found, skipping");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let emu = LambdaEmulator::start(
        &fake_bootstrap(dir.path()),
        vec![("EXTRA".into(), "x1".into())],
    )
    .unwrap();
    assert!(emu.pid() > 0);
    let before = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    let inv = emu
        .invoke_blocking(json!({"a": 1}), Duration::from_secs(30))
        .unwrap();
    let Outcome::Response(resp) = &inv.outcome else {
        panic!("{inv:?}")
    };
    assert_eq!(resp["echo"], json!({"a": 1}));
    let deadline = resp["deadline"].as_i64().unwrap();
    assert!(deadline >= before + 29_000 && deadline <= before + 31_000 + 5_000);
    let mut logs = inv.logs.clone();
    logs.sort();
    let mut expected = vec![
        format!(r#"{{"message":"handling","id":"{}"}}"#, inv.request_id),
        "to stderr".to_string(),
        format!("after {}", inv.request_id),
    ];
    expected.sort();
    assert_eq!(logs, expected);
    assert_eq!(emu.logs()[0], "init dingtalk-notifier-test us-east-1 x1");

    let inv2 = emu
        .invoke_blocking(json!({"x": "FAIL_NOW"}), Duration::from_secs(30))
        .unwrap();
    assert_ne!(inv2.request_id, inv.request_id);
    assert_eq!(
        inv2.outcome,
        Outcome::Error(json!({"errorType": "Boom", "errorMessage": "failed"}))
    );
    assert!(emu.init_error().is_none());
}

#[test]
fn emulator_times_out_like_lambda_and_starts_a_fresh_process() {
    if !curl_available() {
        eprintln!("curl not found, skipping");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let emu = LambdaEmulator::start(&fake_bootstrap(dir.path()), vec![]).unwrap();
    let first_pid = emu.pid();
    let inv = emu
        .invoke_blocking(json!({"x": "SLOW_NOW"}), Duration::from_secs(1))
        .unwrap();
    assert_eq!(
        inv.outcome,
        Outcome::Error(json!({
            "errorType": "Sandbox.Timedout",
            "errorMessage": format!("RequestId: {} Error: Task timed out after 1.00 seconds", inv.request_id)
        }))
    );
    assert_ne!(emu.pid(), first_pid, "a fresh execution environment");
    let inv = emu
        .invoke_blocking(json!({"a": 2}), Duration::from_secs(30))
        .unwrap();
    let Outcome::Response(resp) = &inv.outcome else {
        panic!("{inv:?}")
    };
    assert_eq!(resp["echo"], json!({"a": 2}));
    let inits = emu.logs().iter().filter(|l| l.starts_with("init ")).count();
    assert_eq!(inits, 2, "{:#?}", emu.logs());
}

#[tokio::test]
async fn emulator_reports_a_dead_process() {
    let emu = LambdaEmulator::start(Path::new("/bin/false"), vec![]).unwrap();
    let err = emu
        .invoke(json!({}), Duration::from_secs(5))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("exited"), "{err:#}");
}

#[tokio::test]
async fn moto_answers_with_its_config() {
    let moto = Moto::start().unwrap();
    assert!(moto.endpoint().starts_with("http://127.0.0.1:"));
    let env = moto.env();
    let get = |k: &str| env.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    assert_eq!(get("AWS_ENDPOINT_URL").as_deref(), Some(moto.endpoint()));
    assert_eq!(get("AWS_REGION").as_deref(), Some("us-east-1"));
    assert_eq!(get("AWS_SESSION_TOKEN"), None);
    let cfg = std::fs::read_to_string(get("AWS_CONFIG_FILE").unwrap()).unwrap();
    assert_eq!(cfg, "");
    let sns = aws_sdk_sns::Client::new(&moto.sdk_config().await);
    let topic = sns.create_topic().name("t").send().await.unwrap();
    assert_eq!(
        topic.topic_arn.as_deref(),
        Some("arn:aws:sns:us-east-1:123456789012:t")
    );
}

#[tokio::test]
async fn bridge_delivers_sns_to_the_function_and_logs() {
    if !curl_available() {
        eprintln!("curl not found, skipping");
        return;
    }
    let moto = Moto::start().unwrap();
    let config = moto.sdk_config().await;
    let sns = aws_sdk_sns::Client::new(&config);
    let topic_arn = sns
        .create_topic()
        .name("alerts")
        .send()
        .await
        .unwrap()
        .topic_arn
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let emu = LambdaEmulator::start(&fake_bootstrap(dir.path()), moto.env()).unwrap();
    let bridge = SnsLambdaBridge::start(&moto, &topic_arn, "/aws/lambda/notifier", emu).unwrap();
    let stream = bridge.log_stream().to_string();
    assert!(stream.contains("/[$LATEST]"), "{stream}");
    let message_id = sns
        .publish()
        .topic_arn(&topic_arn)
        .subject("hello")
        .message(r#"{"k":"v"}"#)
        .send()
        .await
        .unwrap()
        .message_id
        .unwrap();

    let started = Instant::now();
    while bridge.invocations().is_empty() && started.elapsed() < Duration::from_secs(20) {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(bridge.errors(), Vec::<String>::new());
    let invocations = bridge.invocations();
    assert_eq!(invocations.len(), 1);
    let Outcome::Response(resp) = &invocations[0].outcome else {
        panic!("{:?}", invocations[0])
    };
    // The SQS event of an event source mapping, one record per message.
    let records = resp["echo"]["Records"].as_array().unwrap();
    assert_eq!(records.len(), 1, "{resp:#}");
    let record = &records[0];
    let keys: Vec<&str> = record
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    let mut expected_keys = vec![
        "messageId",
        "receiptHandle",
        "body",
        "attributes",
        "messageAttributes",
        "md5OfBody",
        "eventSource",
        "eventSourceARN",
        "awsRegion",
    ];
    expected_keys.sort();
    let mut keys = keys;
    keys.sort();
    assert_eq!(keys, expected_keys);
    assert_eq!(record["eventSource"], "aws:sqs");
    assert_eq!(record["eventSourceARN"], bridge.queue_arn());
    assert!(bridge
        .queue_arn()
        .starts_with("arn:aws:sqs:us-east-1:123456789012:"));
    assert_eq!(record["awsRegion"], "us-east-1");
    assert_eq!(record["messageAttributes"], json!({}));
    assert!(record["messageId"].as_str().is_some_and(|s| !s.is_empty()));
    assert!(record["receiptHandle"]
        .as_str()
        .is_some_and(|s| !s.is_empty()));
    assert!(record["md5OfBody"].as_str().is_some_and(|s| s.len() == 32));
    let attributes = record["attributes"].as_object().unwrap();
    let mut names: Vec<&str> = attributes.keys().map(String::as_str).collect();
    names.sort();
    assert_eq!(
        names,
        [
            "ApproximateFirstReceiveTimestamp",
            "ApproximateReceiveCount",
            "SenderId",
            "SentTimestamp"
        ]
    );
    assert_eq!(attributes["ApproximateReceiveCount"], "1");
    assert!(attributes["SentTimestamp"]
        .as_str()
        .unwrap()
        .parse::<i64>()
        .is_ok());
    // Not raw: the body is the SNS notification.
    let notification: Value = serde_json::from_str(record["body"].as_str().unwrap()).unwrap();
    assert_eq!(notification["Type"], "Notification");
    assert_eq!(notification["MessageId"], Value::String(message_id));
    assert_eq!(notification["Message"], r#"{"k":"v"}"#);
    assert_eq!(notification["Subject"], "hello");
    assert_eq!(notification["TopicArn"], Value::String(topic_arn.clone()));
    assert!(bridge.subscription_arn().starts_with(&topic_arn));
    assert!(bridge.disabled_mappings().is_empty());

    // The echo answer names no failures: the message was deleted.
    assert!(bridge.wait_for_batches(1, Duration::from_secs(5)));
    assert_eq!(bridge.messages_deleted(), 1);
    assert_eq!(bridge.messages_left(), 0);
    let batches = bridge.batches();
    assert_eq!(
        batches[0].deleted,
        vec![record["messageId"].as_str().unwrap().to_string()]
    );
    assert_eq!(
        batches[0].request_id.as_deref(),
        Some(invocations[0].request_id.as_str())
    );
    assert_eq!(batches[0].whole_batch_failed, None);

    let logs = aws_sdk_cloudwatchlogs::Client::new(&config);
    let events = logs
        .get_log_events()
        .log_group_name("/aws/lambda/notifier")
        .log_stream_name(&stream)
        .start_from_head(true)
        .send()
        .await
        .unwrap()
        .events
        .unwrap_or_default();
    let lines: Vec<String> = events.into_iter().filter_map(|e| e.message).collect();
    let id = &invocations[0].request_id;
    assert_eq!(
        lines.first().unwrap(),
        &format!("START RequestId: {id} Version: $LATEST")
    );
    assert!(
        lines.contains(&format!(r#"{{"message":"handling","id":"{id}"}}"#)),
        "{lines:?}"
    );
    assert!(lines.contains(&format!("after {id}")), "{lines:?}");
    assert_eq!(lines[lines.len() - 2], format!("END RequestId: {id}"));
    assert!(lines[lines.len() - 1].starts_with(&format!("REPORT RequestId: {id}\t")));

    // The queue was emptied.
    let sqs = aws_sdk_sqs::Client::new(&config);
    let attrs = sqs
        .get_queue_attributes()
        .queue_url(bridge.queue_url())
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::All)
        .send()
        .await
        .unwrap()
        .attributes
        .unwrap();
    assert_eq!(
        attrs
            .get(&aws_sdk_sqs::types::QueueAttributeName::ApproximateNumberOfMessages)
            .map(String::as_str),
        Some("0")
    );
}

/// A function that answers like the notifier: `batchItemFailures` naming the
/// records whose SNS message contains "keep", an error when one contains
/// "crash". It logs each batch's messages and receive counts.
const PARTIAL_BOOTSTRAP: &str = r#"#!/usr/bin/env python3
import json, os, urllib.request
api = "http://" + os.environ["AWS_LAMBDA_RUNTIME_API"] + "/2018-06-01/runtime/invocation/"
while True:
    with urllib.request.urlopen(api + "next") as r:
        rid = r.headers["Lambda-Runtime-Aws-Request-Id"]
        event = json.load(r)
    records = event["Records"]
    messages = [json.loads(rec["body"])["Message"] for rec in records]
    counts = [rec["attributes"]["ApproximateReceiveCount"] for rec in records]
    print(json.dumps({"message": "batch", "messages": messages, "counts": counts}), flush=True)
    if any("crash" in m for m in messages):
        url, answer = api + rid + "/error", {"errorType": "Crash", "errorMessage": "asked to"}
    else:
        failed = [rec["messageId"] for rec, m in zip(records, messages) if "keep" in m]
        url, answer = api + rid + "/response", {"batchItemFailures": [{"itemIdentifier": i} for i in failed]}
    req = urllib.request.Request(url, data=json.dumps(answer).encode(), method="POST")
    urllib.request.urlopen(req).read()
"#;

/// The batch line the function above logged for an invocation.
fn batch_line(invocation: &testkit::Invocation) -> Value {
    invocation
        .logs
        .iter()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .find(|v| v["message"] == "batch")
        .unwrap_or_else(|| panic!("no batch line: {invocation:?}"))
}

#[tokio::test]
async fn bridge_batches_and_leaves_reported_failures_for_redrive() {
    use aws_sdk_sqs::types::QueueAttributeName as Attr;
    use testkit::BridgeOptions;

    let moto = Moto::start().unwrap();
    let config = moto.sdk_config().await;
    let sns = aws_sdk_sns::Client::new(&config);
    let sqs = aws_sdk_sqs::Client::new(&config);
    let topic_arn = sns
        .create_topic()
        .name("alerts")
        .send()
        .await
        .unwrap()
        .topic_arn
        .unwrap();
    let dlq_url = sqs
        .create_queue()
        .queue_name("dead-letters")
        .send()
        .await
        .unwrap()
        .queue_url
        .unwrap();
    let dlq_arn = sqs
        .get_queue_attributes()
        .queue_url(&dlq_url)
        .attribute_names(Attr::QueueArn)
        .send()
        .await
        .unwrap()
        .attributes
        .unwrap()[&Attr::QueueArn]
        .clone();
    // Like the stack's AlertQueue, with a short visibility timeout.
    let queue_url = sqs
        .create_queue()
        .queue_name("alert-queue")
        .attributes(Attr::VisibilityTimeout, "2")
        .attributes(
            Attr::RedrivePolicy,
            json!({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": "2"}).to_string(),
        )
        .send()
        .await
        .unwrap()
        .queue_url
        .unwrap();

    let dir = tempfile::tempdir().unwrap();
    let bootstrap = {
        use std::os::unix::fs::PermissionsExt;
        let path = dir.path().join("bootstrap");
        std::fs::write(&path, PARTIAL_BOOTSTRAP).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        path
    };
    let emu = LambdaEmulator::start(&bootstrap, moto.env()).unwrap();
    let bridge = SnsLambdaBridge::start_with(
        &moto,
        BridgeOptions {
            queue_url: Some(queue_url.clone()),
            batch_size: 10,
            batching_window: Duration::from_millis(500),
            ..BridgeOptions::new(&topic_arn, "/aws/lambda/notifier")
        },
        emu,
    )
    .unwrap();
    assert_eq!(bridge.queue_url(), queue_url);

    // Three alerts within the batching window: one invocation. One
    // PublishBatch, so a loaded machine cannot spread them over two windows.
    let entries = ["ok-1", "keep-2", "ok-3"].iter().enumerate().map(|(i, m)| {
        aws_sdk_sns::types::PublishBatchRequestEntry::builder()
            .id(format!("m{i}"))
            .message(*m)
            .build()
            .unwrap()
    });
    let published = sns
        .publish_batch()
        .topic_arn(&topic_arn)
        .set_publish_batch_request_entries(Some(entries.collect()))
        .send()
        .await
        .unwrap();
    assert_eq!(published.successful().len(), 3, "{published:?}");
    // The failed one comes back once (receive 2 of maxReceiveCount 2) ...
    assert!(bridge.wait_for_batches(2, Duration::from_secs(20)));
    let batches = bridge.batches();
    let invocations = bridge.invocations();
    let first = batch_line(&invocations[0]);
    let mut messages: Vec<&str> = first["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m.as_str().unwrap())
        .collect();
    messages.sort();
    assert_eq!(messages, ["keep-2", "ok-1", "ok-3"]);
    assert_eq!(first["counts"], json!(["1", "1", "1"]));
    assert_eq!(batches[0].message_ids.len(), 3);
    let keep_index = first["messages"]
        .as_array()
        .unwrap()
        .iter()
        .position(|m| m == "keep-2")
        .unwrap();
    let keep_id = batches[0].message_ids[keep_index].clone();
    assert_eq!(batches[0].left, vec![keep_id.clone()]);
    assert_eq!(batches[0].deleted.len(), 2);
    assert!(!batches[0].deleted.contains(&keep_id));
    assert_eq!(batches[0].whole_batch_failed, None);

    let second = batch_line(&invocations[1]);
    assert_eq!(second["messages"], json!(["keep-2"]));
    assert_eq!(second["counts"], json!(["2"]));
    assert_eq!(batches[1].message_ids, vec![keep_id.clone()]);
    assert_eq!(batches[1].left, vec![keep_id.clone()]);

    // ... then moto's RedrivePolicy moves it to the dead-letter queue.
    let started = Instant::now();
    let dead = loop {
        let got = sqs
            .receive_message()
            .queue_url(&dlq_url)
            .wait_time_seconds(1)
            .send()
            .await
            .unwrap()
            .messages
            .unwrap_or_default();
        if let Some(m) = got.into_iter().next() {
            break m;
        }
        assert!(
            started.elapsed() < Duration::from_secs(15),
            "nothing reached the dead-letter queue: {:?}",
            bridge.batches()
        );
    };
    assert_eq!(dead.message_id.as_deref(), Some(keep_id.as_str()));
    let body: Value = serde_json::from_str(dead.body.as_deref().unwrap()).unwrap();
    assert_eq!(body["Message"], "keep-2");
    assert_eq!(bridge.batches().len(), 2);
    assert_eq!(bridge.messages_deleted(), 2);
    assert_eq!(bridge.messages_left(), 2);

    // A function error leaves the whole batch.
    sns.publish()
        .topic_arn(&topic_arn)
        .message("crash-4")
        .send()
        .await
        .unwrap();
    assert!(bridge.wait_for_batches(3, Duration::from_secs(20)));
    let third = &bridge.batches()[2];
    assert_eq!(third.left, third.message_ids);
    assert!(third.deleted.is_empty());
    assert_eq!(
        third.whole_batch_failed.as_deref(),
        Some(
            format!(
                "the function failed: {}",
                json!({"errorType": "Crash", "errorMessage": "asked to"})
            )
            .as_str()
        )
    );
    assert_eq!(
        bridge.invocations()[2].outcome,
        Outcome::Error(json!({"errorType": "Crash", "errorMessage": "asked to"}))
    );
    assert_eq!(bridge.errors(), Vec::<String>::new());
}
