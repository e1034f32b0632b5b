//! What AWS does between the stack's SNS topic, its alert queue, the function
//! and CloudWatch Logs, for tests of the CLI's `test-send` (moto models the
//! queue but not `AWS::SNS::Subscription`, and cannot invoke functions
//! without Docker).
//!
//! The template wires Topic → `AWS::SNS::Subscription` (protocol `sqs`, not
//! raw) → `AlertQueue` → `AlertQueueMapping` (an SQS event source mapping
//! with `ReportBatchItemFailures`) → function. [`SnsLambdaBridge`] stands in
//! for the two pieces moto lacks:
//!
//! - **the subscription**: it subscribes the queue (the stack's
//!   `AlertQueueUrl`, or a fresh queue) to the topic in moto, protocol `sqs`,
//!   not raw, so each SQS body is the SNS notification JSON;
//! - **the event source mapping**: a background thread polls the queue like
//!   Lambda's pollers do. It gathers up to [`BridgeOptions::batch_size`]
//!   messages (at most 10 per `ReceiveMessage`) until the batch is full or
//!   [`BridgeOptions::batching_window`] has passed since the first message,
//!   invokes the [`LambdaEmulator`] with the exact SQS event
//!   ([`sqs_lambda_event`]), then deletes the messages the function did not
//!   name in `batchItemFailures` ([`batch_item_failures`]). Failed messages
//!   stay in the queue: SQS hands them out again after the queue's
//!   visibility timeout, and moto applies the queue's `RedrivePolicy`. A
//!   function error (or an invalid batch response) leaves the whole batch.
//!   With [`SnsLambdaBridge::start_concurrent`] one poller per function
//!   instance runs at once, like the mapping's `MaximumConcurrency`; their
//!   `ReceiveMessage` calls take turns, because moto's are not atomic.
//!
//! The invocation's log lines, framed by Lambda's `START`/`END`/`REPORT`
//! lines, go to a Lambda-style stream (`YYYY/MM/DD/[$LATEST]<hex>`) of the
//! log group in moto, where `test-send` looks for the outcome line.
//!
//! moto itself keeps a toy version of the mapping that "invokes" the function
//! through Docker on every `SendMessage`, fails, and leaves every visible
//! message of the queue with one more receive (so `ApproximateReceiveCount`
//! and the redrive count would be off). The bridge therefore disables the
//! moto event source mappings of the queue it serves
//! ([`SnsLambdaBridge::disabled_mappings`]).
//!
//! Dropping the bridge stops the thread and the functions.
//!
//! ```no_run
//! # fn demo(moto: &testkit::Moto, topic_arn: &str, queue_url: &str) -> anyhow::Result<()> {
//! use testkit::bridge::BridgeOptions;
//! let bootstrap = testkit::bootstrap_binary()?;
//! let function = testkit::LambdaEmulator::start(&bootstrap, moto.env())?;
//! let options = BridgeOptions {
//!     queue_url: Some(queue_url.to_string()),
//!     ..BridgeOptions::new(topic_arn, "/dingtalk-notifier/my-stack")
//! };
//! let bridge = testkit::SnsLambdaBridge::start_with(moto, options, function)?;
//! // ... run `dingtalk-notifier test-send` against moto ...
//! assert!(bridge.wait_for_batches(1, std::time::Duration::from_secs(30)));
//! assert!(bridge.errors().is_empty());
//! # Ok(()) }
//! ```

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{anyhow, bail, Context, Result};
use aws_sdk_sqs::types::{DeleteMessageBatchRequestEntry, MessageSystemAttributeName};
use base64::Engine as _;
use serde_json::{json, Map, Value};

use crate::lambda_rt::{Invocation, LambdaEmulator, Outcome};
use crate::moto::Moto;

/// Lambda's default `BatchSize` for an SQS event source mapping.
pub const DEFAULT_BATCH_SIZE: usize = 10;
/// A short window, so tests are quick; the stack's default is 10 s.
pub const DEFAULT_BATCHING_WINDOW: Duration = Duration::from_secs(1);
/// How long one invocation may run (the stack's default `Timeout`).
pub const DEFAULT_FUNCTION_TIMEOUT: Duration = Duration::from_secs(60);
/// SQS hands out at most this many messages per `ReceiveMessage`, and
/// deletes at most this many per `DeleteMessageBatch`.
const SQS_MAX_PER_CALL: usize = 10;
/// The system attributes Lambda puts in each record.
const RECORD_ATTRIBUTES: [MessageSystemAttributeName; 4] = [
    MessageSystemAttributeName::ApproximateReceiveCount,
    MessageSystemAttributeName::SentTimestamp,
    MessageSystemAttributeName::SenderId,
    MessageSystemAttributeName::ApproximateFirstReceiveTimestamp,
];

/// How the bridge is wired and how it batches.
#[derive(Debug, Clone)]
pub struct BridgeOptions {
    /// The topic to subscribe the queue to (the stack's `TopicArn`).
    pub topic_arn: String,
    /// The queue to subscribe and poll (the stack's `AlertQueueUrl`); `None`
    /// creates a fresh queue with default attributes.
    pub queue_url: Option<String>,
    /// Where the function's log lines go (the stack's `LogGroupName`);
    /// created when missing.
    pub log_group: String,
    /// Most messages per invocation (the mapping's `BatchSize`).
    pub batch_size: usize,
    /// How long to keep gathering after the first message of a batch (the
    /// mapping's `MaximumBatchingWindowInSeconds`). As in AWS (moto does not
    /// check it), a standard queue with `batch_size` over 10 needs at least
    /// one second.
    pub batching_window: Duration,
    /// The function's `Timeout`: each invocation's deadline.
    pub function_timeout: Duration,
}

impl BridgeOptions {
    /// A fresh queue, [`DEFAULT_BATCH_SIZE`], [`DEFAULT_BATCHING_WINDOW`].
    pub fn new(topic_arn: impl Into<String>, log_group: impl Into<String>) -> BridgeOptions {
        BridgeOptions {
            topic_arn: topic_arn.into(),
            log_group: log_group.into(),
            ..BridgeOptions::default()
        }
    }
}

impl Default for BridgeOptions {
    /// Empty `topic_arn` and `log_group`: set them (struct update syntax).
    fn default() -> Self {
        BridgeOptions {
            topic_arn: String::new(),
            queue_url: None,
            log_group: String::new(),
            batch_size: DEFAULT_BATCH_SIZE,
            batching_window: DEFAULT_BATCHING_WINDOW,
            function_timeout: DEFAULT_FUNCTION_TIMEOUT,
        }
    }
}

/// A message as `ReceiveMessage` handed it out: the input of
/// [`sqs_lambda_event`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueMessage {
    pub message_id: String,
    pub receipt_handle: String,
    pub body: String,
    pub md5_of_body: String,
    /// System attributes by name (`ApproximateReceiveCount`, `SentTimestamp`,
    /// `SenderId`, `ApproximateFirstReceiveTimestamp`).
    pub attributes: BTreeMap<String, String>,
    /// Message attributes set by the sender (none for SNS non-raw delivery).
    pub message_attributes: BTreeMap<String, MessageAttribute>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageAttribute {
    pub data_type: String,
    pub string_value: Option<String>,
    pub binary_value: Option<Vec<u8>>,
}

/// One batch the bridge handled, in the order it handled them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Batch {
    /// SQS message ids, in the order of the event's records.
    pub message_ids: Vec<String>,
    /// The invocation's request id; `None` when the function could not be
    /// invoked at all (process died, timeout).
    pub request_id: Option<String>,
    /// Messages deleted from the queue (delivered).
    pub deleted: Vec<String>,
    /// Messages left in the queue, for SQS to hand out again.
    pub left: Vec<String>,
    /// Why the whole batch was left, when it was: a function error, an
    /// invalid batch response, or a failed invocation.
    pub whole_batch_failed: Option<String>,
}

#[derive(Default)]
struct Record {
    invocations: Vec<Invocation>,
    batches: Vec<Batch>,
    errors: Vec<String>,
}

pub struct SnsLambdaBridge {
    stop: Arc<AtomicBool>,
    record: Arc<Mutex<Record>>,
    thread: Option<std::thread::JoinHandle<()>>,
    ready: Ready,
    pool: Arc<Pool>,
}

/// The function's warm execution environments.
struct Pool {
    slots: Mutex<Vec<PoolSlot>>,
    /// Bumped by `replace_functions`: an environment of an older generation
    /// is replaced before its next invocation.
    generation: std::sync::atomic::AtomicU64,
    replaced: std::sync::atomic::AtomicUsize,
    freed: tokio::sync::Notify,
}

struct PoolSlot {
    emulator: Arc<LambdaEmulator>,
    busy: bool,
    last_used: Option<Instant>,
    generation: u64,
}

impl Pool {
    fn new(emulators: Vec<LambdaEmulator>) -> Pool {
        Pool {
            slots: Mutex::new(
                emulators
                    .into_iter()
                    .map(|e| PoolSlot {
                        emulator: Arc::new(e),
                        busy: false,
                        last_used: None,
                        generation: 0,
                    })
                    .collect(),
            ),
            generation: std::sync::atomic::AtomicU64::new(0),
            replaced: std::sync::atomic::AtomicUsize::new(0),
            freed: tokio::sync::Notify::new(),
        }
    }

    /// The idle environment used least recently (never used first), marked
    /// busy; replaced first when a deploy happened since it was started.
    async fn checkout(&self) -> Result<(usize, Arc<LambdaEmulator>)> {
        loop {
            let notified = self.freed.notified();
            let picked = {
                let mut slots = self.slots.lock().unwrap_or_else(|p| p.into_inner());
                let index = slots
                    .iter()
                    .enumerate()
                    .filter(|(_, s)| !s.busy)
                    .min_by_key(|(_, s)| s.last_used)
                    .map(|(i, _)| i);
                index.map(|i| {
                    let slot = &mut slots[i];
                    slot.busy = true;
                    let current = self.generation.load(Ordering::SeqCst);
                    let stale = slot.generation < current;
                    slot.generation = current;
                    (i, slot.emulator.clone(), stale)
                })
            };
            if let Some((i, emulator, stale)) = picked {
                if stale {
                    emulator.replace_process()?;
                    self.replaced.fetch_add(1, Ordering::SeqCst);
                }
                return Ok((i, emulator));
            }
            notified.await;
        }
    }

    fn checkin(&self, index: usize) {
        let mut slots = self.slots.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(slot) = slots.get_mut(index) {
            slot.busy = false;
            slot.last_used = Some(Instant::now());
        }
        drop(slots);
        self.freed.notify_waiters();
    }
}

/// What set-up found or made, handed back to the caller's thread.
#[derive(Debug, Clone)]
struct Ready {
    queue_url: String,
    queue_arn: String,
    subscription_arn: String,
    log_stream: String,
    disabled_mappings: Vec<String>,
}

struct Setup {
    sqs: aws_sdk_sqs::Client,
    logs: aws_sdk_cloudwatchlogs::Client,
    options: BridgeOptions,
    ready: Ready,
    /// One `ReceiveMessage` at a time: moto checks a message's visibility and
    /// marks it received without a lock, so two concurrent calls can hand out
    /// the same message, which SQS does not do within the visibility timeout.
    receiving: tokio::sync::Mutex<()>,
}

impl SnsLambdaBridge {
    /// [`start_with`](Self::start_with) a fresh queue and the default
    /// batching ([`BridgeOptions::new`]).
    pub fn start(
        moto: &Moto,
        topic_arn: &str,
        log_group: &str,
        emulator: LambdaEmulator,
    ) -> Result<SnsLambdaBridge> {
        Self::start_with(moto, BridgeOptions::new(topic_arn, log_group), emulator)
    }

    /// Subscribes the queue to the topic and starts delivering its batches
    /// to `emulator`. Returns once the subscription exists, so a publish
    /// right after is seen.
    pub fn start_with(
        moto: &Moto,
        options: BridgeOptions,
        emulator: LambdaEmulator,
    ) -> Result<SnsLambdaBridge> {
        Self::start_concurrent(moto, options, vec![emulator])
    }

    /// Like [`start_with`](Self::start_with), with one poller per function
    /// instance, so up to `instances.len()` invocations run at once: the
    /// mapping's `ScalingConfig.MaximumConcurrency` (at least 2 in AWS),
    /// each instance a separate execution environment (process).
    pub fn start_concurrent(
        moto: &Moto,
        options: BridgeOptions,
        instances: Vec<LambdaEmulator>,
    ) -> Result<SnsLambdaBridge> {
        let concurrency = instances.len();
        Self::start_pool(moto, options, instances, concurrency)
    }

    /// `concurrency` pollers (the mapping's `MaximumConcurrency`) whose
    /// invocations Lambda routes over a pool of warm execution environments
    /// (processes), as it does: each invocation goes to the idle one used
    /// least recently, so with a pool larger than `concurrency` consecutive
    /// batches land in different containers. See
    /// [`replace_functions`](Self::replace_functions) for a deploy.
    pub fn start_pool(
        moto: &Moto,
        options: BridgeOptions,
        pool: Vec<LambdaEmulator>,
        concurrency: usize,
    ) -> Result<SnsLambdaBridge> {
        if options.topic_arn.is_empty() || options.log_group.is_empty() {
            bail!("BridgeOptions needs a topic_arn and a log_group");
        }
        if options.batch_size == 0 {
            bail!("BridgeOptions::batch_size must be at least 1");
        }
        if options.batch_size > SQS_MAX_PER_CALL && options.batching_window < Duration::from_secs(1)
        {
            bail!("a standard queue with a batch size over 10 needs a batching window of at least 1 second (MaximumBatchingWindowInSeconds)");
        }
        if pool.is_empty() || concurrency == 0 {
            bail!("the bridge needs at least one function instance and one poller");
        }
        if concurrency > pool.len() {
            bail!(
                "{concurrency} pollers need at least as many function instances, not {}",
                pool.len()
            );
        }
        let stop = Arc::new(AtomicBool::new(false));
        let record = Arc::new(Mutex::new(Record::default()));
        let pool = Arc::new(Pool::new(pool));
        let (ready_tx, ready_rx) = std::sync::mpsc::channel::<Result<Ready>>();
        let endpoint = moto.endpoint().to_string();
        let thread_stop = stop.clone();
        let thread_record = record.clone();
        let thread_pool = pool.clone();
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
                    let setup = match setup(&config, options).await {
                        Ok(s) => s,
                        Err(e) => {
                            let _ = ready_tx.send(Err(e));
                            return;
                        }
                    };
                    let _ = ready_tx.send(Ok(setup.ready.clone()));
                    run(setup, thread_pool, concurrency, thread_stop, thread_record).await;
                });
            })
            .context("spawning the bridge thread")?;
        let ready = ready_rx
            .recv()
            .map_err(|_| anyhow!("the bridge thread died during set-up"))?
            .context("setting up the SNS -> SQS -> Lambda bridge in moto")?;
        Ok(SnsLambdaBridge {
            stop,
            record,
            thread: Some(thread),
            ready,
            pool,
        })
    }

    /// What a deploy or a configuration change does: every execution
    /// environment is replaced by a fresh process. Invocations running now
    /// finish in the old one; each environment is replaced before its next
    /// invocation. Returns at once.
    pub fn replace_functions(&self) {
        self.pool.generation.fetch_add(1, Ordering::SeqCst);
    }

    /// Processes started since the bridge started (by
    /// [`replace_functions`](Self::replace_functions)).
    pub fn replacements(&self) -> usize {
        self.pool.replaced.load(Ordering::SeqCst)
    }

    /// Invocations made so far, in order.
    pub fn invocations(&self) -> Vec<Invocation> {
        self.lock().invocations.clone()
    }

    /// Batches handled so far, in order. A batch appears once its messages
    /// are deleted or left and its log lines are in CloudWatch Logs.
    pub fn batches(&self) -> Vec<Batch> {
        self.lock().batches.clone()
    }

    /// Messages deleted from the queue so far (delivered by the function).
    pub fn messages_deleted(&self) -> usize {
        self.lock().batches.iter().map(|b| b.deleted.len()).sum()
    }

    /// Messages left in the queue so far, once per batch: a message that
    /// fails twice counts twice.
    pub fn messages_left(&self) -> usize {
        self.lock().batches.iter().map(|b| b.left.len()).sum()
    }

    /// Waits (blocking this thread) until at least `n` batches were handled;
    /// `false` on timeout.
    pub fn wait_for_batches(&self, n: usize, timeout: Duration) -> bool {
        let started = Instant::now();
        loop {
            if self.lock().batches.len() >= n {
                return true;
            }
            if started.elapsed() >= timeout {
                return false;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Problems the bridge met (failed invocation, invalid batch response,
    /// moto errors). A function error is not one: it is an [`Invocation`]
    /// with [`Outcome::Error`]. A test should usually assert this is empty.
    pub fn errors(&self) -> Vec<String> {
        self.lock().errors.clone()
    }

    pub fn queue_url(&self) -> &str {
        &self.ready.queue_url
    }

    pub fn queue_arn(&self) -> &str {
        &self.ready.queue_arn
    }

    pub fn subscription_arn(&self) -> &str {
        &self.ready.subscription_arn
    }

    /// The log stream the function's lines go to.
    pub fn log_stream(&self) -> &str {
        &self.ready.log_stream
    }

    /// UUIDs of the moto event source mappings on the queue that the bridge
    /// disabled (it replaces them).
    pub fn disabled_mappings(&self) -> &[String] {
        &self.ready.disabled_mappings
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

async fn setup(config: &aws_config::SdkConfig, options: BridgeOptions) -> Result<Setup> {
    let sqs = aws_sdk_sqs::Client::new(config);
    let sns = aws_sdk_sns::Client::new(config);
    let logs = aws_sdk_cloudwatchlogs::Client::new(config);
    let lambda = aws_sdk_lambda::Client::new(config);
    let hex = random_hex();
    let queue_url = match &options.queue_url {
        Some(url) => url.clone(),
        None => sqs
            .create_queue()
            .queue_name(format!("testkit-bridge-{}", &hex[..12]))
            .send()
            .await
            .context("CreateQueue")?
            .queue_url
            .ok_or_else(|| anyhow!("CreateQueue returned no QueueUrl"))?,
    };
    let queue_arn = sqs
        .get_queue_attributes()
        .queue_url(&queue_url)
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::QueueArn)
        .send()
        .await
        .with_context(|| format!("GetQueueAttributes of {queue_url}"))?
        .attributes
        .and_then(|a| {
            a.get(&aws_sdk_sqs::types::QueueAttributeName::QueueArn)
                .cloned()
        })
        .ok_or_else(|| anyhow!("GetQueueAttributes returned no QueueArn"))?;
    // Protocol sqs without RawMessageDelivery, like the template's
    // subscription: the body is the SNS notification JSON.
    let subscription_arn = sns
        .subscribe()
        .topic_arn(&options.topic_arn)
        .protocol("sqs")
        .endpoint(&queue_arn)
        .return_subscription_arn(true)
        .send()
        .await
        .with_context(|| format!("Subscribe {queue_arn} to {}", options.topic_arn))?
        .subscription_arn
        .ok_or_else(|| anyhow!("Subscribe returned no SubscriptionArn"))?;
    let disabled_mappings = disable_moto_mappings(&lambda, &queue_arn).await?;
    match logs
        .create_log_group()
        .log_group_name(&options.log_group)
        .send()
        .await
    {
        Ok(_) => {}
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_resource_already_exists_exception()) => {}
        Err(e) => return Err(anyhow!(e)).context("CreateLogGroup"),
    }
    let (y, m, d) = civil_date(now_ms() / 1000);
    let log_stream = format!("{y:04}/{m:02}/{d:02}/[$LATEST]{hex}");
    logs.create_log_stream()
        .log_group_name(&options.log_group)
        .log_stream_name(&log_stream)
        .send()
        .await
        .context("CreateLogStream")?;
    Ok(Setup {
        sqs,
        logs,
        options,
        receiving: tokio::sync::Mutex::new(()),
        ready: Ready {
            queue_url,
            queue_arn,
            subscription_arn,
            log_stream,
            disabled_mappings,
        },
    })
}

/// Disables moto's own event source mappings on the queue (see the module
/// docs); returns their UUIDs.
async fn disable_moto_mappings(
    lambda: &aws_sdk_lambda::Client,
    queue_arn: &str,
) -> Result<Vec<String>> {
    let listed = lambda
        .list_event_source_mappings()
        .event_source_arn(queue_arn)
        .send()
        .await
        .map_err(|e| anyhow!("{e:?}"))
        .context("ListEventSourceMappings")?;
    let mut disabled = Vec::new();
    for mapping in listed.event_source_mappings() {
        let Some(uuid) = mapping.uuid() else { continue };
        if mapping.state() == Some("Disabled") {
            continue;
        }
        lambda
            .update_event_source_mapping()
            .uuid(uuid)
            .enabled(false)
            .send()
            .await
            .map_err(|e| anyhow!("{e:?}"))
            .with_context(|| format!("UpdateEventSourceMapping {uuid} (Enabled=false)"))?;
        disabled.push(uuid.to_string());
    }
    Ok(disabled)
}

fn note(record: &Mutex<Record>, msg: String) {
    record
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .errors
        .push(msg);
}

/// `concurrency` pollers, all on this thread's runtime: each gathers a
/// batch and invokes the pool's least recently used idle environment,
/// independently of the others.
async fn run(
    setup: Setup,
    pool: Arc<Pool>,
    concurrency: usize,
    stop: Arc<AtomicBool>,
    record: Arc<Mutex<Record>>,
) {
    let setup = Arc::new(setup);
    let pollers: Vec<_> = (0..concurrency)
        .map(|_| {
            let (setup, stop, record, pool) =
                (setup.clone(), stop.clone(), record.clone(), pool.clone());
            tokio::spawn(async move {
                while !stop.load(Ordering::SeqCst) {
                    let batch = gather(&setup, &stop, &record).await;
                    if batch.is_empty() {
                        continue;
                    }
                    match pool.checkout().await {
                        Ok((index, emulator)) => {
                            handle(&setup, &emulator, batch, &record).await;
                            pool.checkin(index);
                        }
                        Err(e) => note(&record, format!("replacing a function process: {e:#}")),
                    }
                }
            })
        })
        .collect();
    for poller in pollers {
        let _ = poller.await;
    }
}

/// One `ReceiveMessage` of at most `max` (≤ 10) messages, with the
/// attributes Lambda puts in its records.
async fn receive(setup: &Setup, max: usize, wait_seconds: i32) -> Result<Vec<QueueMessage>> {
    let _one_at_a_time = setup.receiving.lock().await;
    let mut request = setup
        .sqs
        .receive_message()
        .queue_url(&setup.ready.queue_url)
        .max_number_of_messages(max.clamp(1, SQS_MAX_PER_CALL) as i32)
        .wait_time_seconds(wait_seconds)
        .message_attribute_names("All");
    for name in RECORD_ATTRIBUTES {
        request = request.message_system_attribute_names(name);
    }
    let out = request
        .send()
        .await
        .map_err(|e| anyhow!("ReceiveMessage: {e:?}"))?;
    Ok(out
        .messages
        .unwrap_or_default()
        .into_iter()
        .map(queue_message)
        .collect())
}

fn queue_message(m: aws_sdk_sqs::types::Message) -> QueueMessage {
    QueueMessage {
        message_id: m.message_id.unwrap_or_default(),
        receipt_handle: m.receipt_handle.unwrap_or_default(),
        body: m.body.unwrap_or_default(),
        md5_of_body: m.md5_of_body.unwrap_or_default(),
        attributes: m
            .attributes
            .unwrap_or_default()
            .into_iter()
            .map(|(k, v)| (k.as_str().to_string(), v))
            .collect(),
        message_attributes: m
            .message_attributes
            .unwrap_or_default()
            .into_iter()
            .map(|(k, v)| {
                (
                    k,
                    MessageAttribute {
                        data_type: v.data_type,
                        string_value: v.string_value,
                        binary_value: v.binary_value.map(|b| b.into_inner()),
                    },
                )
            })
            .collect(),
    }
}

/// Gathers one batch the way Lambda's poller does: long-poll (1 s, so a
/// drop is noticed) for the first messages, then keep receiving until the
/// batch is full or the batching window since the first message is over.
async fn gather(setup: &Setup, stop: &AtomicBool, record: &Mutex<Record>) -> Vec<QueueMessage> {
    let batch_size = setup.options.batch_size;
    let window = setup.options.batching_window;
    let mut batch = match receive(setup, batch_size, 1).await {
        Ok(b) => b,
        Err(e) => {
            note(record, format!("{e:#}"));
            tokio::time::sleep(Duration::from_millis(200)).await;
            return Vec::new();
        }
    };
    if batch.is_empty() {
        return batch;
    }
    let first = Instant::now();
    while batch.len() < batch_size && !stop.load(Ordering::SeqCst) {
        let elapsed = first.elapsed();
        if elapsed >= window {
            break;
        }
        let remaining = window - elapsed;
        // Long polls return as soon as a message arrives; below a second
        // poll without waiting so the window is not overrun.
        let wait = if remaining >= Duration::from_secs(1) {
            1
        } else {
            0
        };
        match receive(setup, batch_size - batch.len(), wait).await {
            Ok(more) => {
                if more.is_empty() && wait == 0 {
                    tokio::time::sleep(remaining.min(Duration::from_millis(50))).await;
                }
                batch.extend(more);
            }
            Err(e) => {
                // Invoke with what we have; the rest stays in the queue.
                note(record, format!("{e:#}"));
                break;
            }
        }
    }
    batch
}

/// Invokes the function with one batch, then deletes what it delivered.
async fn handle(
    setup: &Setup,
    emulator: &LambdaEmulator,
    batch: Vec<QueueMessage>,
    record: &Mutex<Record>,
) {
    let ids: Vec<String> = batch.iter().map(|m| m.message_id.clone()).collect();
    let event = sqs_lambda_event(&batch, &setup.ready.queue_arn);
    let started = now_ms();
    let invocation = match emulator.invoke(event, setup.options.function_timeout).await {
        Ok(invocation) => invocation,
        Err(e) => {
            // Like a timeout or a crash in Lambda: nothing is deleted, the
            // batch comes back after the visibility timeout.
            let reason = format!("invoke: {e:#}");
            let mut r = record.lock().unwrap_or_else(|p| p.into_inner());
            r.errors.push(reason.clone());
            r.batches.push(Batch {
                message_ids: ids.clone(),
                request_id: None,
                deleted: Vec::new(),
                left: ids,
                whole_batch_failed: Some(reason),
            });
            return;
        }
    };
    let (failed, whole_batch_failed) = match batch_item_failures(&ids, &invocation.outcome) {
        Ok(failed) => (failed.into_iter().collect::<BTreeSet<_>>(), None),
        Err(reason) => {
            if matches!(invocation.outcome, Outcome::Response(_)) {
                note(record, format!("invalid batch response: {reason}"));
            }
            (ids.iter().cloned().collect(), Some(reason))
        }
    };
    let to_delete: Vec<&QueueMessage> = batch
        .iter()
        .filter(|m| !failed.contains(&m.message_id))
        .collect();
    let deleted: BTreeSet<String> = delete(setup, &to_delete, record).await;
    let lines = framed_lines(&invocation, now_ms() - started);
    if let Err(e) = ship_logs(setup, started, &lines).await {
        note(record, format!("PutLogEvents: {e:#}"));
    }
    let mut r = record.lock().unwrap_or_else(|p| p.into_inner());
    r.batches.push(Batch {
        message_ids: ids.clone(),
        request_id: Some(invocation.request_id.clone()),
        deleted: ids
            .iter()
            .filter(|id| deleted.contains(*id))
            .cloned()
            .collect(),
        left: ids
            .iter()
            .filter(|id| !deleted.contains(*id))
            .cloned()
            .collect(),
        whole_batch_failed,
    });
    r.invocations.push(invocation);
}

/// `DeleteMessageBatch`, 10 at a time; returns the ids actually deleted.
async fn delete(
    setup: &Setup,
    messages: &[&QueueMessage],
    record: &Mutex<Record>,
) -> BTreeSet<String> {
    let mut deleted = BTreeSet::new();
    for chunk in messages.chunks(SQS_MAX_PER_CALL) {
        let mut entries = Vec::with_capacity(chunk.len());
        for (i, m) in chunk.iter().enumerate() {
            match DeleteMessageBatchRequestEntry::builder()
                .id(i.to_string())
                .receipt_handle(&m.receipt_handle)
                .build()
            {
                Ok(entry) => entries.push(entry),
                Err(e) => note(record, format!("DeleteMessageBatch entry: {e}")),
            }
        }
        let out = setup
            .sqs
            .delete_message_batch()
            .queue_url(&setup.ready.queue_url)
            .set_entries(Some(entries))
            .send()
            .await;
        match out {
            Ok(out) => {
                for ok in out.successful() {
                    if let Some(m) = ok.id().parse::<usize>().ok().and_then(|i| chunk.get(i)) {
                        deleted.insert(m.message_id.clone());
                    }
                }
                for failed in out.failed() {
                    note(
                        record,
                        format!(
                            "DeleteMessageBatch entry {}: {} {}",
                            failed.id(),
                            failed.code(),
                            failed.message().unwrap_or_default()
                        ),
                    );
                }
            }
            Err(e) => note(record, format!("DeleteMessageBatch: {e:?}")),
        }
    }
    deleted
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

async fn ship_logs(setup: &Setup, started_ms: i64, lines: &[String]) -> Result<()> {
    let mut request = setup
        .logs
        .put_log_events()
        .log_group_name(&setup.options.log_group)
        .log_stream_name(&setup.ready.log_stream);
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

/// The event Lambda's SQS event source mapping hands the function for a
/// batch from the queue `queue_arn` (documented in "Using Lambda with Amazon
/// SQS"): one record per message, in batch order, `awsRegion` taken from
/// the ARN. Message attributes take Lambda's shape (`stringValue` /
/// `binaryValue` in base64, `stringListValues`, `binaryListValues`,
/// `dataType`).
pub fn sqs_lambda_event(messages: &[QueueMessage], queue_arn: &str) -> Value {
    let region = queue_arn.split(':').nth(3).unwrap_or("us-east-1");
    let records: Vec<Value> = messages
        .iter()
        .map(|m| {
            let attributes: Map<String, Value> = m
                .attributes
                .iter()
                .map(|(k, v)| (k.clone(), Value::String(v.clone())))
                .collect();
            let message_attributes: Map<String, Value> = m
                .message_attributes
                .iter()
                .map(|(name, a)| {
                    let mut v = json!({
                        "stringListValues": [],
                        "binaryListValues": [],
                        "dataType": a.data_type,
                    });
                    if let Some(s) = &a.string_value {
                        v["stringValue"] = json!(s);
                    }
                    if let Some(b) = &a.binary_value {
                        v["binaryValue"] =
                            json!(base64::engine::general_purpose::STANDARD.encode(b));
                    }
                    (name.clone(), v)
                })
                .collect();
            json!({
                "messageId": m.message_id,
                "receiptHandle": m.receipt_handle,
                "body": m.body,
                "attributes": attributes,
                "messageAttributes": message_attributes,
                "md5OfBody": m.md5_of_body,
                "eventSource": "aws:sqs",
                "eventSourceARN": queue_arn,
                "awsRegion": region,
            })
        })
        .collect();
    json!({ "Records": records })
}

/// The messages of a batch (ids in `message_ids`) that the function reported
/// failed, as Lambda reads a `ReportBatchItemFailures` answer:
///
/// - success for all: a `null` or `{}` answer, no `batchItemFailures`, or a
///   `null` / empty list;
/// - `Err(reason)`, the whole batch failed: a function error, an answer
///   that is not a JSON object, a `batchItemFailures` that is not a list, or
///   an entry without a non-empty string `itemIdentifier` naming a message of
///   the batch.
pub fn batch_item_failures(
    message_ids: &[String],
    outcome: &Outcome,
) -> std::result::Result<Vec<String>, String> {
    let response = match outcome {
        Outcome::Error(e) => return Err(format!("the function failed: {e}")),
        Outcome::Response(r) => r,
    };
    let failures = match response {
        Value::Null => return Ok(Vec::new()),
        Value::Object(o) => o.get("batchItemFailures").unwrap_or(&Value::Null),
        other => return Err(format!("the answer is not a JSON object: {other}")),
    };
    let failures = match failures {
        Value::Null => return Ok(Vec::new()),
        Value::Array(a) => a,
        other => return Err(format!("batchItemFailures is not a list: {other}")),
    };
    let mut failed = BTreeSet::new();
    for entry in failures {
        let id = entry
            .get("itemIdentifier")
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .ok_or_else(|| format!("batch item failure without an itemIdentifier: {entry}"))?;
        if !message_ids.iter().any(|m| m == id) {
            return Err(format!("itemIdentifier {id} is not a message of the batch"));
        }
        failed.insert(id);
    }
    Ok(message_ids
        .iter()
        .filter(|m| failed.contains(m.as_str()))
        .cloned()
        .collect())
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

    const QUEUE_ARN: &str = "arn:aws:sqs:us-east-1:123456789012:alerts";

    fn message(id: &str, body: &str, receive_count: &str) -> QueueMessage {
        QueueMessage {
            message_id: id.into(),
            receipt_handle: format!("rh-{id}"),
            body: body.into(),
            md5_of_body: "098f6bcd4621d373cade4e832627b4f6".into(),
            attributes: [
                ("ApproximateReceiveCount", receive_count),
                ("SentTimestamp", "1795651200000"),
                ("SenderId", "AIDAIT2UOQQY3AUEKVGXU"),
                ("ApproximateFirstReceiveTimestamp", "1795651200005"),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
            message_attributes: BTreeMap::new(),
        }
    }

    fn ids(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn civil_dates() {
        assert_eq!(civil_date(0), (1970, 1, 1));
        assert_eq!(civil_date(951_782_400), (2000, 2, 29));
        assert_eq!(civil_date(1_795_564_800), (2026, 11, 25));
        assert_eq!(civil_date(1_795_651_199), (2026, 11, 25));
    }

    #[test]
    fn batch_becomes_the_sqs_event() {
        let notification = json!({
            "Type": "Notification",
            "MessageId": "sns-1",
            "TopicArn": "arn:aws:sns:us-east-1:123456789012:t",
            "Subject": "s",
            "Message": "{\"a\":1}",
            "Timestamp": "2026-11-25T06:00:00.000Z"
        })
        .to_string();
        let batch = [
            message("q-1", &notification, "1"),
            message("q-2", "raw", "3"),
        ];
        assert_eq!(
            sqs_lambda_event(&batch, QUEUE_ARN),
            json!({"Records": [
                {
                    "messageId": "q-1",
                    "receiptHandle": "rh-q-1",
                    "body": notification,
                    "attributes": {
                        "ApproximateReceiveCount": "1",
                        "SentTimestamp": "1795651200000",
                        "SenderId": "AIDAIT2UOQQY3AUEKVGXU",
                        "ApproximateFirstReceiveTimestamp": "1795651200005"
                    },
                    "messageAttributes": {},
                    "md5OfBody": "098f6bcd4621d373cade4e832627b4f6",
                    "eventSource": "aws:sqs",
                    "eventSourceARN": QUEUE_ARN,
                    "awsRegion": "us-east-1"
                },
                {
                    "messageId": "q-2",
                    "receiptHandle": "rh-q-2",
                    "body": "raw",
                    "attributes": {
                        "ApproximateReceiveCount": "3",
                        "SentTimestamp": "1795651200000",
                        "SenderId": "AIDAIT2UOQQY3AUEKVGXU",
                        "ApproximateFirstReceiveTimestamp": "1795651200005"
                    },
                    "messageAttributes": {},
                    "md5OfBody": "098f6bcd4621d373cade4e832627b4f6",
                    "eventSource": "aws:sqs",
                    "eventSourceARN": QUEUE_ARN,
                    "awsRegion": "us-east-1"
                }
            ]})
        );
    }

    #[test]
    fn message_attributes_take_lambdas_shape_and_region_comes_from_the_arn() {
        let mut m = message("q-1", "b", "1");
        m.message_attributes.insert(
            "kind".into(),
            MessageAttribute {
                data_type: "String".into(),
                string_value: Some("alarm".into()),
                binary_value: None,
            },
        );
        m.message_attributes.insert(
            "blob".into(),
            MessageAttribute {
                data_type: "Binary".into(),
                string_value: None,
                binary_value: Some(b"hi".to_vec()),
            },
        );
        let event = sqs_lambda_event(&[m], "arn:aws:sqs:ap-southeast-1:123456789012:q");
        let record = &event["Records"][0];
        assert_eq!(record["awsRegion"], "ap-southeast-1");
        assert_eq!(
            record["messageAttributes"],
            json!({
                "kind": {"stringValue": "alarm", "stringListValues": [], "binaryListValues": [], "dataType": "String"},
                "blob": {"binaryValue": "aGk=", "stringListValues": [], "binaryListValues": [], "dataType": "Binary"}
            })
        );
        assert_eq!(sqs_lambda_event(&[], QUEUE_ARN), json!({"Records": []}));
    }

    #[test]
    fn successful_answers_delete_everything() {
        let batch = ids(&["a", "b"]);
        for answer in [
            Value::Null,
            json!({}),
            json!({"delivered": 2}),
            json!({"batchItemFailures": null}),
            json!({"batchItemFailures": []}),
        ] {
            assert_eq!(
                batch_item_failures(&batch, &Outcome::Response(answer.clone())),
                Ok(vec![]),
                "{answer}"
            );
        }
    }

    #[test]
    fn reported_failures_are_left_in_batch_order() {
        let batch = ids(&["a", "b", "c"]);
        let answer = json!({"batchItemFailures": [
            {"itemIdentifier": "c"}, {"itemIdentifier": "a"}, {"itemIdentifier": "c"}
        ]});
        assert_eq!(
            batch_item_failures(&batch, &Outcome::Response(answer)),
            Ok(ids(&["a", "c"]))
        );
    }

    #[test]
    fn errors_and_invalid_answers_fail_the_whole_batch() {
        let batch = ids(&["a", "b"]);
        let error = json!({"errorType": "Boom", "errorMessage": "x"});
        assert_eq!(
            batch_item_failures(&batch, &Outcome::Error(error.clone())),
            Err(format!("the function failed: {error}"))
        );
        for (answer, reason) in [
            (json!("ok"), r#"the answer is not a JSON object: "ok""#),
            (
                json!({"batchItemFailures": "a"}),
                r#"batchItemFailures is not a list: "a""#,
            ),
            (
                json!({"batchItemFailures": [{"itemIdentifier": ""}]}),
                r#"batch item failure without an itemIdentifier: {"itemIdentifier":""}"#,
            ),
            (
                json!({"batchItemFailures": [{"itemIdentifier": null}]}),
                r#"batch item failure without an itemIdentifier: {"itemIdentifier":null}"#,
            ),
            (
                json!({"batchItemFailures": [{"messageId": "a"}]}),
                r#"batch item failure without an itemIdentifier: {"messageId":"a"}"#,
            ),
            (
                json!({"batchItemFailures": [{"itemIdentifier": "zz"}]}),
                "itemIdentifier zz is not a message of the batch",
            ),
        ] {
            assert_eq!(
                batch_item_failures(&batch, &Outcome::Response(answer)),
                Err(reason.to_string())
            );
        }
    }

    #[test]
    fn options_defaults() {
        let o = BridgeOptions::new("arn:t", "/g");
        assert_eq!(o.topic_arn, "arn:t");
        assert_eq!(o.log_group, "/g");
        assert_eq!(o.queue_url, None);
        assert_eq!(o.batch_size, 10);
        assert_eq!(o.batching_window, Duration::from_secs(1));
    }
}
