//! One invocation: envelope → render → optional summary → DingTalk, with
//! exactly one outcome log line per alert (the CLI's `test-send` reads it).
//!
//! Failure is never silent: for SNS and direct EventBridge invocations any
//! undelivered alert fails the invocation, so Lambda retries it and then the
//! dead-letter queue keeps it. For SQS batches only the undelivered messages
//! are reported in `batchItemFailures`, so nothing delivered is sent twice.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::config::{Config, RoutesFrom};
use crate::debug_log;
use crate::dingtalk::{self, DeliveryError, DingTalkClient, SendReport};
use crate::envelope::{self, EnvelopeKind, Item};
use crate::format::{self, digest::digest, Rendered};
use crate::health_thread::{self, Claim, HealthFacts, HealthMemory};
use crate::llm::{self, Summarizer};
use crate::message::Message;
use crate::routing::{self, Decision, Facts, Mentions, Route};
use crate::secret::{SecretError, SecretStore, WebhookConfig};

/// What the invocation answers, given the failed alerts as
/// (SQS messageId, reason). SQS: only the failed messages are redelivered;
/// SNS / EventBridge / unknown: any failure fails the invocation, so Lambda
/// retries it and then the dead-letter queue keeps it.
pub fn invocation_result(
    kind: EnvelopeKind,
    total: usize,
    failures: &[(Option<String>, String)],
) -> Result<Value, Undelivered> {
    match kind {
        // A failed record without a messageId cannot be named in
        // batchItemFailures; failing the whole batch keeps it.
        EnvelopeKind::Sqs if failures.iter().all(|(id, _)| id.is_some()) => {
            let failed: Vec<Value> = failures
                .iter()
                .filter_map(|(id, _)| id.as_ref())
                .map(|id| json!({ "itemIdentifier": id }))
                .collect();
            Ok(json!({ "batchItemFailures": failed }))
        }
        _ => match failures.first() {
            None => Ok(json!({ "delivered": total })),
            Some((_, first)) => Err(Undelivered {
                failed: failures.len(),
                total,
                first_error: first.clone(),
            }),
        },
    }
}

/// Time kept back from the invocation's deadline to log and answer.
const SAFETY_MARGIN: Duration = Duration::from_secs(2);

/// What one DingTalk send needs before its deadline, besides any pacing
/// wait: a request and one retry after a second's backoff. The LLM summary
/// never eats into it.
const SEND_RESERVE: Duration = Duration::from_secs(3);

#[derive(Debug, thiserror::Error)]
#[error("{failed} of {total} alerts not delivered; first error: {first_error}")]
pub struct Undelivered {
    pub failed: usize,
    pub total: usize,
    pub first_error: String,
}

pub struct Notifier {
    config: Config,
    secrets: SecretStore,
    robots: Robots,
    llm: Option<Summarizer>,
    /// Health updates threaded in the state table (none without one).
    health: Option<HealthMemory>,
}

/// One DingTalk client per robot, made on first use: each robot has its own
/// pacing, block and shared budget (its own key in the state table), so a
/// blocked security robot never delays the ops robot.
pub struct Robots {
    make: Box<dyn Fn(&str) -> DingTalkClient + Send + Sync>,
    clients: Mutex<HashMap<String, Arc<DingTalkClient>>>,
}

impl Robots {
    /// `make` builds the client of a robot by name.
    pub fn new(make: impl Fn(&str) -> DingTalkClient + Send + Sync + 'static) -> Self {
        Robots {
            make: Box::new(make),
            clients: Mutex::new(HashMap::new()),
        }
    }

    pub fn client(&self, robot: &str) -> Arc<DingTalkClient> {
        let mut clients = self.clients.lock().unwrap_or_else(|p| p.into_inner());
        clients
            .entry(robot.to_string())
            .or_insert_with(|| Arc::new((self.make)(robot)))
            .clone()
    }
}

/// An alert of a robot's group: its batch index and its route's mentions.
type Member = (usize, Option<Mentions>);

/// Where a group of alerts goes: the robot, its client, and each alert's
/// route mentions (`None`: the secret's own rule).
struct Target<'a> {
    robot: &'a str,
    client: &'a DingTalkClient,
    mentions: &'a [Option<Mentions>],
}

impl Target<'_> {
    /// Whom alert `i` of the group mentions with webhook `w`.
    fn mentions_of(&self, i: usize, r: &Rendered, w: &WebhookConfig) -> Mentions {
        match &self.mentions[i] {
            Some(m) => m.clone(),
            None if w.mentions_for(r.state.as_deref(), r.severity) => dingtalk::secret_mentions(w),
            None => Mentions::default(),
        }
    }
}

/// Everyone any of the alerts mentions, once each.
fn merge(all: impl IntoIterator<Item = Mentions>) -> Mentions {
    let mut out = Mentions::default();
    for m in all {
        out.all |= m.all;
        for x in m.mobiles {
            if !out.mobiles.contains(&x) {
                out.mobiles.push(x);
            }
        }
        for x in m.user_ids {
            if !out.user_ids.contains(&x) {
                out.user_ids.push(x);
            }
        }
    }
    out
}

/// How the LLM step went, for the log line.
enum LlmUse {
    Disabled,
    Used,
    /// Used, but cut by maxTokens and marked as cut.
    Truncated,
    Fallback(String),
    /// Not asked: no time left before the send's deadline.
    Skipped(String),
}

impl LlmUse {
    fn as_str(&self) -> &'static str {
        match self {
            LlmUse::Disabled => "disabled",
            LlmUse::Used => "used",
            LlmUse::Truncated => "truncated",
            LlmUse::Fallback(_) => "fallback",
            LlmUse::Skipped(_) => "skipped",
        }
    }
}

impl Notifier {
    pub fn new(
        config: Config,
        secrets: SecretStore,
        robots: Robots,
        llm: Option<Summarizer>,
    ) -> Self {
        Notifier {
            config,
            secrets,
            robots,
            llm,
            health: None,
        }
    }

    /// Threads Health updates through the state table.
    pub fn with_health_memory(mut self, memory: HealthMemory) -> Self {
        self.health = Some(memory);
        self
    }

    /// The routes: from the environment, or from the secret when they did
    /// not fit there.
    async fn routes(&self) -> Result<Vec<Route>, SecretError> {
        match &self.config.routes {
            RoutesFrom::Env(routes) => Ok(routes.clone()),
            RoutesFrom::Secret => Ok(self.secrets.doc().await?.routes.clone().unwrap_or_default()),
        }
    }

    /// Handles one invocation. `deadline` is when Lambda will stop us.
    ///
    /// A batch of at least `digest_min_alerts` alerts goes out as a digest
    /// (one message listing them); smaller ones alert by alert. Once DingTalk
    /// or the robot's rate limit fails a send for a reason that time may fix,
    /// the rest of the batch is not tried: it is reported undelivered at once
    /// and comes back from the queue later, instead of earning more 130101s.
    pub async fn handle(
        &self,
        event: &Value,
        request_id: &str,
        deadline: Instant,
    ) -> Result<Value, Undelivered> {
        let send_deadline = deadline
            .checked_sub(SAFETY_MARGIN)
            .unwrap_or_else(Instant::now);
        if self.config.debug_logs {
            debug_log::incoming_event(request_id, event);
        }
        let invocation = envelope::parse(event, request_id);
        let rendered: Vec<Rendered> = invocation
            .items
            .iter()
            .map(|item| format::render(&item.payload, item.subject.as_deref(), &self.config.format))
            .collect();
        if self.config.debug_logs {
            for (item, r) in invocation.items.iter().zip(&rendered) {
                debug_log::rendered_message(&item.alert_id, &r.message);
            }
        }
        let errors = self
            .route_and_deliver(&invocation.items, &rendered, send_deadline)
            .await;
        let failures: Vec<(Option<String>, String)> = invocation
            .items
            .iter()
            .zip(errors)
            .filter_map(|(item, e)| e.map(|e| (item.sqs_message_id.clone(), e)))
            .collect();
        invocation_result(invocation.kind, invocation.items.len(), &failures)
    }

    /// Routes each alert, logs the dropped ones, and delivers the others
    /// robot by robot (a digest per robot when its share of the batch is
    /// big enough); the error of each undelivered alert, in batch order.
    async fn route_and_deliver(
        &self,
        items: &[Item],
        rendered: &[Rendered],
        deadline: Instant,
    ) -> Vec<Option<String>> {
        let routes = match self.routes().await {
            Ok(routes) => routes,
            Err(e) => {
                let error = e.to_string();
                for (item, r) in items.iter().zip(rendered) {
                    log_failed(
                        item,
                        r,
                        routing::DEFAULT_ROBOT,
                        "skipped",
                        &error,
                        true,
                        None,
                    );
                }
                return vec![Some(error); items.len()];
            }
        };
        let mut errors: Vec<Option<String>> = vec![None; items.len()];
        let mut rendered = rendered.to_vec();
        let mut threads: Vec<Option<HealthFacts>> = vec![None; items.len()];
        // Robots in the order of their first alert, each with its alerts.
        let mut groups: Vec<(String, Vec<Member>)> = Vec::new();
        for (i, item) in items.iter().enumerate() {
            let decision = routing::decide(&routes, &Facts::of(&item.payload, &rendered[i]));
            let (robot, mentions) = match decision {
                Decision::Drop { route } => {
                    log_dropped(item, &rendered[i], route);
                    continue;
                }
                Decision::Send {
                    robot, mentions, ..
                } => (robot, mentions),
            };
            if !self.thread(item, &mut rendered[i], &mut threads[i]).await {
                continue;
            }
            match groups.iter_mut().find(|(name, _)| *name == robot) {
                Some((_, members)) => members.push((i, mentions)),
                None => groups.push((robot, vec![(i, mentions)])),
            }
        }
        for (robot, members) in groups {
            let client = self.robots.client(&robot);
            let sub_items: Vec<Item> = members.iter().map(|(i, _)| items[*i].clone()).collect();
            let sub_rendered: Vec<Rendered> =
                members.iter().map(|(i, _)| rendered[*i].clone()).collect();
            let mentions: Vec<Option<Mentions>> = members.iter().map(|(_, m)| m.clone()).collect();
            let target = Target {
                robot: &robot,
                client: &client,
                mentions: &mentions,
            };
            let sub_errors = if sub_items.len() >= self.config.digest_min_alerts.max(2) {
                self.deliver_digest(&target, &sub_items, &sub_rendered, deadline)
                    .await
            } else {
                self.deliver_each(&target, &sub_items, &sub_rendered, deadline)
                    .await
            };
            for ((i, _), e) in members.iter().zip(sub_errors) {
                errors[*i] = e;
            }
        }
        self.remember(items, &threads, &errors).await;
        errors
    }

    /// A Health event's place in its thread: `false` when its communication
    /// was posted already (logged as a duplicate, not sent); an update of
    /// an event posted before is marked as one. Without a state table, or
    /// when it does not answer, the alert is sent as it is.
    async fn thread(
        &self,
        item: &Item,
        rendered: &mut Rendered,
        thread: &mut Option<HealthFacts>,
    ) -> bool {
        let (Some(memory), Some(facts)) = (&self.health, HealthFacts::of(&item.payload)) else {
            return true;
        };
        match memory.claim(&facts, &item.alert_id).await {
            Ok(Claim::Seen) => {
                tracing::info!(
                    outcome = "duplicate",
                    alert_id = %item.alert_id,
                    kind = rendered.kind.as_str(),
                    source = %rendered.source,
                    communication_id = %facts.communication_id,
                    "Health communication posted already"
                );
                false
            }
            Ok(Claim::First(changes)) => {
                if let Some(changes) = changes {
                    rendered.message = health_thread::mark_update(&rendered.message, &changes);
                }
                *thread = Some(facts);
                true
            }
            Err(error) => {
                tracing::warn!(alert_id = %item.alert_id, %error, "the state table did not answer about a Health update; posting it unthreaded");
                true
            }
        }
    }

    /// Posted communications are remembered; the claims of the others are
    /// released, so their retries post them.
    async fn remember(
        &self,
        items: &[Item],
        threads: &[Option<HealthFacts>],
        errors: &[Option<String>],
    ) {
        let Some(memory) = &self.health else {
            return;
        };
        for ((item, thread), error) in items.iter().zip(threads).zip(errors) {
            let Some(facts) = thread else { continue };
            match error {
                None => {
                    if let Err(e) = memory.posted_now(facts).await {
                        tracing::warn!(alert_id = %item.alert_id, error = %e, "remembering a posted Health communication failed; a copy may be posted again");
                    }
                }
                Some(_) => memory.release(facts, &item.alert_id).await,
            }
        }
    }

    /// One message per alert; the error of each undelivered one.
    async fn deliver_each(
        &self,
        target: &Target<'_>,
        items: &[Item],
        rendered: &[Rendered],
        deadline: Instant,
    ) -> Vec<Option<String>> {
        let mut errors = Vec::with_capacity(items.len());
        let mut gave_up: Option<String> = None;
        for (n, (item, r)) in items.iter().zip(rendered).enumerate() {
            if let Some(reason) = &gave_up {
                let error = format!("not tried after an earlier failure in this batch: {reason}");
                log_failed(item, r, target.robot, "skipped", &error, true, None);
                errors.push(Some(error));
                continue;
            }
            match self.deliver(target, n, item, r, deadline).await {
                Ok(()) => errors.push(None),
                Err((error, transient)) => {
                    if transient {
                        gave_up = Some(error.clone());
                    }
                    errors.push(Some(error));
                }
            }
        }
        errors
    }

    /// Delivers one alert and writes its outcome line; `Err` carries the
    /// reason and whether a later retry may succeed.
    async fn deliver(
        &self,
        target: &Target<'_>,
        n: usize,
        item: &Item,
        rendered: &Rendered,
        deadline: Instant,
    ) -> Result<(), (String, bool)> {
        if let Err(e) = self.secrets.get(target.robot).await {
            let error = e.to_string();
            log_failed(item, rendered, target.robot, "skipped", &error, true, None);
            return Err((error, true));
        }
        let (message, llm) = match &self.llm {
            None => (rendered.message.clone(), LlmUse::Disabled),
            Some(s) => {
                self.summarize(s, target.client, item, rendered, deadline)
                    .await
            }
        };
        if let LlmUse::Fallback(reason) | LlmUse::Skipped(reason) = &llm {
            tracing::warn!(alert_id = %item.alert_id, llm_error = %reason, "LLM summary failed; sending the plain message");
        }
        match self
            .send(
                target,
                &message,
                |w| target.mentions_of(n, rendered, w),
                deadline,
            )
            .await
        {
            Ok((report, mention)) => {
                tracing::info!(
                    outcome = "delivered",
                    alert_id = %item.alert_id,
                    robot = target.robot,
                    kind = rendered.kind.as_str(),
                    source = %rendered.source,
                    test_id = rendered.test_id.as_deref(),
                    llm = llm.as_str(),
                    attempts = report.attempts,
                    mention,
                    "alert delivered"
                );
                Ok(())
            }
            Err(e) => {
                let error = e.to_string();
                log_failed(
                    item,
                    rendered,
                    target.robot,
                    llm.as_str(),
                    &error,
                    e.is_transient(),
                    e.errcode(),
                );
                Err((error, e.is_transient()))
            }
        }
    }

    /// The message with its summary, asked for only within the time the
    /// send does not need before `deadline` (pacing wait included).
    async fn summarize(
        &self,
        s: &Summarizer,
        client: &DingTalkClient,
        item: &Item,
        rendered: &Rendered,
        deadline: Instant,
    ) -> (Message, LlmUse) {
        let now = Instant::now();
        let send_needs = SEND_RESERVE + client.pacing_delay(now);
        let left = deadline.saturating_duration_since(now);
        let Some(budget) = llm::budget(s.timeout(), left, send_needs) else {
            let reason = format!(
                "no time for a summary: {} ms left, the send needs {} ms",
                left.as_millis(),
                send_needs.as_millis()
            );
            return (rendered.message.clone(), LlmUse::Skipped(reason));
        };
        match s.summarize(&item.payload, &rendered.message, budget).await {
            Ok(sum) if sum.truncated => {
                (rendered.message.with_summary(&sum.text), LlmUse::Truncated)
            }
            Ok(sum) => (rendered.message.with_summary(&sum.text), LlmUse::Used),
            Err(e) => (rendered.message.clone(), LlmUse::Fallback(e.reason())),
        }
    }

    /// Sends with the current webhook. When the robot refuses the token,
    /// signature, keyword or IP, the secret is read again once (someone may
    /// have rotated it) and, if it changed, the message is sent again with
    /// the new one. Returns whether the message mentioned people.
    async fn send(
        &self,
        target: &Target<'_>,
        message: &Message,
        mention_for: impl Fn(&WebhookConfig) -> Mentions,
        deadline: Instant,
    ) -> Result<(SendReport, bool), SendError> {
        let webhook = self
            .secrets
            .get(target.robot)
            .await
            .map_err(SendError::Secret)?;
        let mention = mention_for(&webhook);
        let first = target
            .client
            .send(&webhook, message, &mention, deadline)
            .await;
        match first {
            Ok(report) => Ok((report, !mention.is_empty())),
            Err(e) if e.errcode().is_some_and(dingtalk::may_be_stale_secret) => {
                let Some(fresh) = self.secrets.reread(target.robot, &webhook).await else {
                    return Err(SendError::Delivery(e));
                };
                tracing::info!(
                    errcode = e.errcode().unwrap_or_default(),
                    "DingTalk refused the webhook credentials and the secret has changed; sending again with the new secret"
                );
                let mention = mention_for(&fresh);
                target
                    .client
                    .send(&fresh, message, &mention, deadline)
                    .await
                    .map(|report| (report, !mention.is_empty()))
                    .map_err(SendError::Delivery)
            }
            Err(e) => Err(SendError::Delivery(e)),
        }
    }

    /// The whole batch as a digest (in parts when it is long); every alert
    /// still gets its own outcome line. No LLM summary: a digest is already
    /// the summary, and the robot's minute is better spent on delivery.
    ///
    /// When DingTalk refuses a part for its content (430101–430104, or its
    /// size), the part's alerts are sent again in halves, down to single
    /// alerts, so one bad alert does not take the others to the dead-letter
    /// queue.
    async fn deliver_digest(
        &self,
        target: &Target<'_>,
        items: &[Item],
        rendered: &[Rendered],
        deadline: Instant,
    ) -> Vec<Option<String>> {
        let mut errors: Vec<Option<String>> = vec![None; items.len()];
        let parts = digest(rendered, &self.config.format);
        let count = parts.len();
        let mut queue: VecDeque<Piece> = parts
            .into_iter()
            .enumerate()
            .map(|(n, p)| Piece {
                part: n + 1,
                message: p.message,
                members: p.members,
                isolated: false,
            })
            .collect();
        let mut gave_up: Option<String> = None;
        let mut fail = |piece: &Piece, error: &str, transient: bool, errcode: Option<i64>| {
            for &i in &piece.members {
                log_failed(
                    &items[i],
                    &rendered[i],
                    target.robot,
                    "skipped",
                    error,
                    transient,
                    errcode,
                );
                errors[i] = Some(error.to_string());
            }
        };
        while let Some(piece) = queue.pop_front() {
            if let Some(reason) = &gave_up {
                let error = format!("not tried after an earlier failure in this batch: {reason}");
                fail(&piece, &error, true, None);
                continue;
            }
            let mention_for = |w: &WebhookConfig| {
                merge(
                    piece
                        .members
                        .iter()
                        .map(|&i| target.mentions_of(i, &rendered[i], w)),
                )
            };
            match self
                .send(target, &piece.message, mention_for, deadline)
                .await
            {
                Ok((report, mention)) => {
                    let place = DigestPlace {
                        size: items.len(),
                        part: piece.part,
                        parts: count,
                        isolated: piece.isolated,
                    };
                    for &i in &piece.members {
                        log_delivered_in_digest(
                            &items[i],
                            &rendered[i],
                            target.robot,
                            &place,
                            report.attempts,
                            mention,
                        );
                    }
                }
                Err(e)
                    if piece.members.len() > 1
                        && e.errcode().is_some_and(dingtalk::refuses_content) =>
                {
                    tracing::warn!(
                        errcode = e.errcode().unwrap_or_default(),
                        alerts = piece.members.len(),
                        "DingTalk refused a digest for its content; sending its alerts again in halves"
                    );
                    for p in self.halves(rendered, &piece).into_iter().rev() {
                        queue.push_front(p);
                    }
                }
                Err(e) => {
                    let (error, transient) = (e.to_string(), e.is_transient());
                    fail(&piece, &error, transient, e.errcode());
                    if transient {
                        gave_up = Some(error);
                    }
                }
            }
        }
        errors
    }

    /// A refused piece's alerts again, in two smaller pieces (first half
    /// first).
    fn halves(&self, rendered: &[Rendered], piece: &Piece) -> Vec<Piece> {
        let (a, b) = piece.members.split_at(piece.members.len() / 2);
        let mut pieces = self.pieces(rendered, a, piece.part);
        pieces.extend(self.pieces(rendered, b, piece.part));
        pieces
    }

    /// The messages for a group of a refused digest: a smaller digest, or
    /// the alert's own message when it is alone.
    fn pieces(&self, rendered: &[Rendered], members: &[usize], part: usize) -> Vec<Piece> {
        if let [only] = members {
            return vec![Piece {
                part,
                message: rendered[*only].message.clone(),
                members: vec![*only],
                isolated: true,
            }];
        }
        let group: Vec<Rendered> = members.iter().map(|&i| rendered[i].clone()).collect();
        digest(&group, &self.config.format)
            .into_iter()
            .map(|p| Piece {
                part,
                message: p.message,
                members: p.members.iter().map(|&k| members[k]).collect(),
                isolated: true,
            })
            .collect()
    }
}

/// One message of a digest and the batch indices of the alerts it lists.
struct Piece {
    /// The digest part it came from (1-based).
    part: usize,
    message: Message,
    members: Vec<usize>,
    /// Sent after its digest part was refused.
    isolated: bool,
}

/// Why a send failed: the secret could not be read, or DingTalk did not
/// take the message.
#[derive(Debug, thiserror::Error)]
enum SendError {
    #[error(transparent)]
    Secret(SecretError),
    #[error(transparent)]
    Delivery(DeliveryError),
}

impl SendError {
    /// A secret that cannot be read may be readable later.
    fn is_transient(&self) -> bool {
        match self {
            SendError::Secret(_) => true,
            SendError::Delivery(e) => e.is_transient(),
        }
    }

    fn errcode(&self) -> Option<i64> {
        match self {
            SendError::Secret(_) => None,
            SendError::Delivery(e) => e.errcode(),
        }
    }
}

/// Where an alert went in its batch's digest, for its outcome line.
struct DigestPlace {
    size: usize,
    part: usize,
    parts: usize,
    /// Its part was refused for its content and it went out again in a
    /// smaller group or alone.
    isolated: bool,
}

/// The outcome line of an alert delivered in a digest.
fn log_delivered_in_digest(
    item: &Item,
    rendered: &Rendered,
    robot: &str,
    digest: &DigestPlace,
    attempts: u32,
    mention: bool,
) {
    tracing::info!(
        outcome = "delivered",
        alert_id = %item.alert_id,
        robot,
        kind = rendered.kind.as_str(),
        source = %rendered.source,
        test_id = rendered.test_id.as_deref(),
        llm = "skipped",
        digest_size = digest.size,
        digest_part = digest.part,
        digest_parts = digest.parts,
        isolated = digest.isolated,
        attempts,
        mention,
        "alert delivered"
    );
}

/// The outcome line of an undelivered alert. `robot_refused` marks a
/// refusal of the robot itself (token gone, robot deleted or disabled,
/// security check): every alert will fail the same way until someone fixes
/// the robot or the secret, so the stack's metric filter counts these lines
/// and alarms within minutes (docs/design.md, "Permanent refusals").
fn log_failed(
    item: &Item,
    rendered: &Rendered,
    robot: &str,
    llm: &str,
    error: &str,
    transient: bool,
    errcode: Option<i64>,
) {
    tracing::error!(
        outcome = "failed",
        alert_id = %item.alert_id,
        robot,
        kind = rendered.kind.as_str(),
        source = %rendered.source,
        test_id = rendered.test_id.as_deref(),
        llm,
        transient,
        errcode,
        robot_refused = robot_refused(errcode, transient),
        error = %error,
        "alert not delivered"
    );
}

/// The outcome line of an alert a `drop = true` route took: delivered
/// nowhere, on purpose, and counted.
fn log_dropped(item: &Item, rendered: &Rendered, route: usize) {
    tracing::info!(
        outcome = "dropped",
        alert_id = %item.alert_id,
        kind = rendered.kind.as_str(),
        source = %rendered.source,
        route,
        "alert dropped by a route"
    );
}

/// Pure: does this failure say the robot itself refuses every message?
pub fn robot_refused(errcode: Option<i64>, transient: bool) -> bool {
    !transient && errcode.is_some_and(dingtalk::may_be_stale_secret)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_permanent_refusals_of_the_robot_count() {
        for code in [300001, 300005, 310000, 400013, 400101, 400102, 400106] {
            assert!(robot_refused(Some(code), false), "{code}");
        }
        // Content refusals concern one alert; throttles and busy pass.
        for code in [430102, 460101, 130101, -1] {
            assert!(!robot_refused(Some(code), false), "{code}");
        }
        assert!(!robot_refused(Some(300001), true));
        assert!(!robot_refused(None, false));
    }

    #[test]
    fn sqs_reports_only_failed_messages() {
        let failures = vec![(Some("q-2".to_string()), "HTTP 503".to_string())];
        assert_eq!(
            invocation_result(EnvelopeKind::Sqs, 3, &failures).unwrap(),
            json!({"batchItemFailures": [{"itemIdentifier": "q-2"}]})
        );
        assert_eq!(
            invocation_result(EnvelopeKind::Sqs, 3, &[]).unwrap(),
            json!({"batchItemFailures": []})
        );
        // No id to name: the whole batch fails rather than losing it.
        assert!(invocation_result(EnvelopeKind::Sqs, 1, &[(None, "x".into())]).is_err());
    }

    #[test]
    fn sns_and_eventbridge_fail_the_invocation() {
        for kind in [
            EnvelopeKind::Sns,
            EnvelopeKind::EventBridge,
            EnvelopeKind::Unknown,
        ] {
            assert_eq!(
                invocation_result(kind, 2, &[]).unwrap(),
                json!({"delivered": 2})
            );
            let err = invocation_result(kind, 2, &[(None, "errcode 310000".into())]).unwrap_err();
            assert_eq!(
                err.to_string(),
                "1 of 2 alerts not delivered; first error: errcode 310000"
            );
        }
    }
}
