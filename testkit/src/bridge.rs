//! What AWS does between the stack's SNS topic, the function and CloudWatch
//! Logs, for tests of the CLI's `test-send` (moto cannot invoke functions
//! without Docker).
//!
//! [`SnsLambdaBridge::start`] subscribes a fresh SQS queue to the topic in
//! moto (protocol `sqs`, not raw, so each SQS body is the SNS notification),
//! then a background thread long-polls the queue, turns every notification
//! into the exact event Lambda gets from SNS ([`sns_to_lambda_event`]),
//! invokes the [`LambdaEmulator`], deletes the message and ships the
//! invocation's log lines (framed by Lambda's `START`/`END`/`REPORT` lines)
//! to a Lambda-style stream (`YYYY/MM/DD/[$LATEST]<hex>`) of `log_group` in
//! moto. Dropping the bridge stops the thread and the function.
//!
//! ```no_run
//! # fn demo(moto: &testkit::Moto, topic_arn: &str) -> anyhow::Result<()> {
//! let bootstrap = testkit::bootstrap_binary()?;
//! let function = testkit::LambdaEmulator::start(&bootstrap, moto.env())?;
//! let bridge = testkit::SnsLambdaBridge::start(moto, topic_arn, "/aws/lambda/f", function)?;
//! // ... run `dingtalk-notifier test-send` against moto ...
//! assert!(bridge.errors().is_empty());
//! # Ok(()) }
//! ```

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{anyhow, Context, Result};
use serde_json::{json, Value};

use crate::lambda_rt::{Invocation, LambdaEmulator};
use crate::moto::Moto;

/// How long one invocation may run (the stack's default `Timeout`).
const INVOKE_TIMEOUT: Duration = Duration::from_secs(60);

#[derive(Default)]
struct Record {
    invocations: Vec<Invocation>,
    errors: Vec<String>,
}

pub struct SnsLambdaBridge {
    stop: Arc<AtomicBool>,
    record: Arc<Mutex<Record>>,
    thread: Option<std::thread::JoinHandle<()>>,
    queue_url: String,
    subscription_arn: String,
    log_stream: String,
}

struct Setup {
    sqs: aws_sdk_sqs::Client,
    logs: aws_sdk_cloudwatchlogs::Client,
    queue_url: String,
    subscription_arn: String,
    log_stream: String,
}

impl SnsLambdaBridge {
    /// Subscribes a queue to `topic_arn` and starts delivering to `emulator`.
    /// Returns once the subscription exists, so a publish right after is seen.
    pub fn start(
        moto: &Moto,
        topic_arn: &str,
        log_group: &str,
        emulator: LambdaEmulator,
    ) -> Result<SnsLambdaBridge> {
        let stop = Arc::new(AtomicBool::new(false));
        let record = Arc::new(Mutex::new(Record::default()));
        let (ready_tx, ready_rx) = std::sync::mpsc::channel::<Result<(String, String, String)>>();
        let endpoint = moto.endpoint().to_string();
        let topic_arn = topic_arn.to_string();
        let log_group = log_group.to_string();
        let thread_stop = stop.clone();
        let thread_record = record.clone();
        let thread = std::thread::Builder::new()
            .name("testkit-bridge".into())
            .spawn(move || {
                let rt = match tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    Ok(rt) => rt,
                    Err(e) => {
                        let _ = ready_tx.send(Err(anyhow!("no runtime: {e}")));
                        return;
                    }
                };
                rt.block_on(async move {
                    let config = Moto::sdk_config_for(&endpoint);
                    let setup = match setup(&config, &topic_arn, &log_group).await {
                        Ok(s) => s,
                        Err(e) => {
                            let _ = ready_tx.send(Err(e));
                            return;
                        }
                    };
                    let _ = ready_tx.send(Ok((
                        setup.queue_url.clone(),
                        setup.subscription_arn.clone(),
                        setup.log_stream.clone(),
                    )));
                    run(setup, log_group, emulator, thread_stop, thread_record).await;
                });
            })
            .context("spawning the bridge thread")?;
        let (queue_url, subscription_arn, log_stream) = ready_rx
            .recv()
            .map_err(|_| anyhow!("the bridge thread died during set-up"))?
            .context("setting up the SNS -> Lambda bridge in moto")?;
        Ok(SnsLambdaBridge {
            stop,
            record,
            thread: Some(thread),
            queue_url,
            subscription_arn,
            log_stream,
        })
    }

    /// Invocations made so far, in order.
    pub fn invocations(&self) -> Vec<Invocation> {
        self.lock().invocations.clone()
    }

    /// Problems the bridge met (bad notification, failed invocation, moto
    /// errors). A test should usually assert this is empty.
    pub fn errors(&self) -> Vec<String> {
        self.lock().errors.clone()
    }

    pub fn queue_url(&self) -> &str {
        &self.queue_url
    }

    pub fn subscription_arn(&self) -> &str {
        &self.subscription_arn
    }

    /// The log stream the function's lines go to.
    pub fn log_stream(&self) -> &str {
        &self.log_stream
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Record> {
        self.record.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Drop for SnsLambdaBridge {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

async fn setup(config: &aws_config::SdkConfig, topic_arn: &str, log_group: &str) -> Result<Setup> {
    let sqs = aws_sdk_sqs::Client::new(config);
    let sns = aws_sdk_sns::Client::new(config);
    let logs = aws_sdk_cloudwatchlogs::Client::new(config);
    let hex = random_hex();
    let queue_url = sqs
        .create_queue()
        .queue_name(format!("testkit-bridge-{}", &hex[..12]))
        .send()
        .await
        .context("CreateQueue")?
        .queue_url
        .ok_or_else(|| anyhow!("CreateQueue returned no QueueUrl"))?;
    let queue_arn = sqs
        .get_queue_attributes()
        .queue_url(&queue_url)
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::QueueArn)
        .send()
        .await
        .context("GetQueueAttributes")?
        .attributes
        .and_then(|a| a.get(&aws_sdk_sqs::types::QueueAttributeName::QueueArn).cloned())
        .ok_or_else(|| anyhow!("GetQueueAttributes returned no QueueArn"))?;
    let subscription_arn = sns
        .subscribe()
        .topic_arn(topic_arn)
        .protocol("sqs")
        .endpoint(queue_arn)
        .return_subscription_arn(true)
        .send()
        .await
        .with_context(|| format!("Subscribe to {topic_arn}"))?
        .subscription_arn
        .ok_or_else(|| anyhow!("Subscribe returned no SubscriptionArn"))?;
    match logs.create_log_group().log_group_name(log_group).send().await {
        Ok(_) => {}
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_resource_already_exists_exception()) => {}
        Err(e) => return Err(anyhow!(e)).context("CreateLogGroup"),
    }
    let (y, m, d) = civil_date(now_ms() / 1000);
    let log_stream = format!("{y:04}/{m:02}/{d:02}/[$LATEST]{hex}");
    logs.create_log_stream()
        .log_group_name(log_group)
        .log_stream_name(&log_stream)
        .send()
        .await
        .context("CreateLogStream")?;
    Ok(Setup {
        sqs,
        logs,
        queue_url,
        subscription_arn,
        log_stream,
    })
}

async fn run(
    setup: Setup,
    log_group: String,
    emulator: LambdaEmulator,
    stop: Arc<AtomicBool>,
    record: Arc<Mutex<Record>>,
) {
    let note = |msg: String| {
        record
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .errors
            .push(msg)
    };
    while !stop.load(Ordering::SeqCst) {
        let received = setup
            .sqs
            .receive_message()
            .queue_url(&setup.queue_url)
            .wait_time_seconds(1)
            .max_number_of_messages(1)
            .send()
            .await;
        let messages = match received {
            Ok(r) => r.messages.unwrap_or_default(),
            Err(e) => {
                note(format!("ReceiveMessage: {e:?}"));
                tokio::time::sleep(Duration::from_millis(200)).await;
                continue;
            }
        };
        for message in messages {
            let body = message.body.as_deref().unwrap_or_default();
            let event = serde_json::from_str::<Value>(body)
                .map_err(|e| anyhow!("SQS body is not JSON: {e}"))
                .and_then(|n| sns_to_lambda_event(&n, &setup.subscription_arn));
            match event {
                Ok(event) => {
                    let started = now_ms();
                    match emulator.invoke(event, INVOKE_TIMEOUT).await {
                        Ok(invocation) => {
                            let lines = framed_lines(&invocation, now_ms() - started);
                            if let Err(e) =
                                ship_logs(&setup, &log_group, started, &lines).await
                            {
                                note(format!("PutLogEvents: {e:#}"));
                            }
                            record
                                .lock()
                                .unwrap_or_else(|p| p.into_inner())
                                .invocations
                                .push(invocation);
                        }
                        Err(e) => note(format!("invoke: {e:#}")),
                    }
                }
                Err(e) => note(format!("{e:#}")),
            }
            if let Some(handle) = message.receipt_handle {
                if let Err(e) = setup
                    .sqs
                    .delete_message()
                    .queue_url(&setup.queue_url)
                    .receipt_handle(handle)
                    .send()
                    .await
                {
                    note(format!("DeleteMessage: {e:?}"));
                }
            }
        }
    }
    drop(emulator);
}

/// The function's lines framed the way Lambda frames them in CloudWatch.
fn framed_lines(invocation: &Invocation, duration_ms: i64) -> Vec<String> {
    let id = &invocation.request_id;
    let mut lines = vec![format!("START RequestId: {id} Version: $LATEST")];
    lines.extend(invocation.logs.iter().cloned());
    lines.push(format!("END RequestId: {id}"));
    lines.push(format!(
        "REPORT RequestId: {id}\tDuration: {duration_ms}.00 ms\tBilled Duration: {duration_ms} ms\tMemory Size: 256 MB\tMax Memory Used: 32 MB"
    ));
    lines
}

async fn ship_logs(setup: &Setup, log_group: &str, started_ms: i64, lines: &[String]) -> Result<()> {
    let mut request = setup
        .logs
        .put_log_events()
        .log_group_name(log_group)
        .log_stream_name(&setup.log_stream);
    let end = now_ms().max(started_ms);
    for (i, line) in lines.iter().enumerate() {
        // Chronological, within the invocation's span.
        let ts = (started_ms + i as i64).min(end);
        request = request.log_events(
            aws_sdk_cloudwatchlogs::types::InputLogEvent::builder()
                .timestamp(ts)
                .message(line)
                .build()
                .context("building a log event")?,
        );
    }
    request.send().await.map_err(|e| anyhow!("{e:?}"))?;
    Ok(())
}

/// The event Lambda hands a function subscribed to a topic, built from the
/// notification SNS put in an SQS queue (non-raw delivery). Note the casing:
/// SQS bodies say `SigningCertURL`/`UnsubscribeURL`, Lambda events
/// `SigningCertUrl`/`UnsubscribeUrl`; a missing `Subject` is `null` and missing
/// `MessageAttributes` are `{}` in the Lambda event.
pub fn sns_to_lambda_event(notification: &Value, subscription_arn: &str) -> Result<Value> {
    let field = |name: &str| -> Result<Value> {
        notification
            .get(name)
            .cloned()
            .ok_or_else(|| anyhow!("SNS notification has no {name}: {notification}"))
    };
    let optional = |name: &str, default: Value| notification.get(name).cloned().unwrap_or(default);
    Ok(json!({
        "Records": [{
            "EventSource": "aws:sns",
            "EventVersion": "1.0",
            "EventSubscriptionArn": subscription_arn,
            "Sns": {
                "Type": field("Type")?,
                "MessageId": field("MessageId")?,
                "TopicArn": field("TopicArn")?,
                "Subject": optional("Subject", Value::Null),
                "Message": field("Message")?,
                "Timestamp": field("Timestamp")?,
                "SignatureVersion": optional("SignatureVersion", json!("1")),
                "Signature": optional("Signature", json!("")),
                "SigningCertUrl": optional("SigningCertURL", json!("")),
                "UnsubscribeUrl": optional("UnsubscribeURL", json!("")),
                "MessageAttributes": optional("MessageAttributes", json!({})),
            }
        }]
    }))
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or_default()
}

fn random_hex() -> String {
    use std::hash::{BuildHasher, Hasher};
    let mut out = String::new();
    for i in 0..2u64 {
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u64(i);
        h.write_i64(now_ms());
        out.push_str(&format!("{:016x}", h.finish()));
    }
    out
}

/// (year, month, day) in UTC for seconds since the epoch (Howard Hinnant's
/// days-from-civil inverse), to name streams like Lambda without a date crate.
fn civil_date(secs: i64) -> (i64, u32, u32) {
    let z = secs.div_euclid(86_400) + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_dates() {
        assert_eq!(civil_date(0), (1970, 1, 1));
        assert_eq!(civil_date(951_782_400), (2000, 2, 29));
        assert_eq!(civil_date(1_795_651_200), (2026, 11, 25));
    }

    #[test]
    fn notification_becomes_the_lambda_event() {
        let body = json!({
            "Type": "Notification",
            "MessageId": "m-1",
            "TopicArn": "arn:aws:sns:us-east-1:123456789012:t",
            "Subject": "s",
            "Message": "{\"a\":1}",
            "Timestamp": "2026-11-25T06:00:00.000Z",
            "SignatureVersion": "1",
            "Signature": "sig",
            "SigningCertURL": "https://cert",
            "UnsubscribeURL": "https://unsub",
            "MessageAttributes": {"k": {"Type": "String", "Value": "v"}}
        });
        let event = sns_to_lambda_event(&body, "arn:sub").unwrap();
        assert_eq!(
            event,
            json!({"Records": [{
                "EventSource": "aws:sns",
                "EventVersion": "1.0",
                "EventSubscriptionArn": "arn:sub",
                "Sns": {
                    "Type": "Notification",
                    "MessageId": "m-1",
                    "TopicArn": "arn:aws:sns:us-east-1:123456789012:t",
                    "Subject": "s",
                    "Message": "{\"a\":1}",
                    "Timestamp": "2026-11-25T06:00:00.000Z",
                    "SignatureVersion": "1",
                    "Signature": "sig",
                    "SigningCertUrl": "https://cert",
                    "UnsubscribeUrl": "https://unsub",
                    "MessageAttributes": {"k": {"Type": "String", "Value": "v"}}
                }
            }]})
        );
    }

    #[test]
    fn missing_subject_and_attributes() {
        let body = json!({
            "Type": "Notification", "MessageId": "m", "TopicArn": "t",
            "Message": "x", "Timestamp": "ts"
        });
        let event = sns_to_lambda_event(&body, "s").unwrap();
        assert_eq!(event["Records"][0]["Sns"]["Subject"], Value::Null);
        assert_eq!(event["Records"][0]["Sns"]["MessageAttributes"], json!({}));
        assert!(sns_to_lambda_event(&json!({"Type": "Notification"}), "s").is_err());
    }
}
