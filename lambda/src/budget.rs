//! One send budget per robot, shared by every container of the function.
//!
//! Lambda does not keep two fixed containers: the mapping's two concurrent
//! invocations may land on any warm container, and a deploy replaces them
//! all. A budget kept in one container's memory therefore does not bound
//! what the robot sees. This one lives in the stack's DynamoDB table
//! (`STATE_TABLE`), in one item per robot (`pk = robot#<name>`):
//!
//! - `sent`: how many slots were ever taken; the next slot is `sent % limit`;
//! - `slot_<k>` (epoch ms): when slot `k`'s request is surely over: its
//!   answer time once settled, until then the take time plus the longest a
//!   request may take ([`RESERVATION`]);
//! - `blocked_until` (epoch ms): the end of the robot's block, after a
//!   throttle answer seen by any container;
//! - `expires_at` (epoch s): DynamoDB's TTL attribute.
//!
//! Taking a slot is one conditional `UpdateItem`: it succeeds only if `sent`
//! is what the container last saw, the slot's last request ended at least a
//! window ago, and the robot is not blocked. So the `limit + 1`-th request
//! reaches the robot at least one window after the first of the `limit`
//! before it, whichever containers sent them: the robot never sees more than
//! `limit` in any window. When the condition fails, DynamoDB returns the item
//! as it is, and the container decides again from it.

use std::collections::HashMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue, ReturnValuesOnConditionCheckFailure};

use crate::pacing::BLOCK_WINDOWS;

/// The robot the stack's webhook secret names (one today; the routing of
/// several named robots will add items beside it).
pub const DEFAULT_ROBOT: &str = "default";

/// How long a slot stays reserved after it is taken, until its answer
/// settles it: the longest a request may run (the client's request
/// timeout) plus a second to spare. A container that dies mid-request
/// leaves its slot reserved for this long, never less.
pub const RESERVATION: Duration = Duration::from_secs(11);

/// Containers' clocks may differ by this much (Lambda hosts keep time with
/// the Amazon Time Sync Service, well within it); every slot counts it.
pub const CLOCK_SKEW: Duration = Duration::from_millis(100);

/// Rounds of "condition failed, decide again" before a send gives up for
/// this attempt and asks again later.
const MAX_ROUNDS: usize = 8;

/// The item key of a robot's budget.
pub fn robot_key(robot: &str) -> String {
    format!("robot#{robot}")
}

/// A robot's budget as last read from the table.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BudgetState {
    /// `sent`: slots taken so far.
    pub sent: u64,
    /// `slot_<k>`: when each slot's request is over (epoch ms).
    pub slots: HashMap<usize, u64>,
    /// `blocked_until` (epoch ms).
    pub blocked_until: Option<u64>,
}

/// What the budget says about sending now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Take slot `slot`, making `sent` = `next`.
    Take { slot: usize, next: u64 },
    /// Nothing may be sent before this epoch ms.
    WaitUntil(u64),
}

/// Pure: may one more request go to the robot at `now_ms`?
pub fn decide(state: &BudgetState, now_ms: u64, limit: usize, window: Duration) -> Decision {
    let limit = limit.max(1);
    if let Some(until) = state.blocked_until.filter(|&t| t > now_ms) {
        return Decision::WaitUntil(until);
    }
    let slot = (state.sent % limit as u64) as usize;
    match state.slots.get(&slot) {
        Some(&ended) if free_at(ended, window) > now_ms => {
            Decision::WaitUntil(free_at(ended, window))
        }
        _ => Decision::Take {
            slot,
            next: state.sent + 1,
        },
    }
}

/// When a slot whose request ended at `ended_ms` may be taken again.
fn free_at(ended_ms: u64, window: Duration) -> u64 {
    ended_ms + (window + CLOCK_SKEW).as_millis() as u64
}

/// A slot this container holds, to settle once the request's answer is back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reservation {
    pub slot: usize,
    pub reserved_until: u64,
}

/// What [`SharedBudget::take`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Turn {
    /// Send now.
    Go(Reservation),
    /// Ask again after this long.
    Wait(Duration),
}

/// The table did not answer (throttled, unreachable, not allowed): the
/// caller falls back to its own conservative share.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
#[error("the shared send budget (DynamoDB table {table}) is unreachable: {reason}")]
pub struct Unreachable {
    pub table: String,
    pub reason: String,
}

/// The robot's budget in the stack's table.
pub struct SharedBudget {
    client: aws_sdk_dynamodb::Client,
    table: String,
    key: String,
    limit: usize,
    window: Duration,
    known: std::sync::Mutex<BudgetState>,
}

impl SharedBudget {
    pub fn new(
        client: aws_sdk_dynamodb::Client,
        table: String,
        robot: &str,
        limit: usize,
        window: Duration,
    ) -> Self {
        SharedBudget {
            client,
            table,
            key: robot_key(robot),
            limit: limit.max(1),
            window,
            known: std::sync::Mutex::new(BudgetState::default()),
        }
    }

    pub fn table(&self) -> &str {
        &self.table
    }

    fn known(&self) -> std::sync::MutexGuard<'_, BudgetState> {
        self.known.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The robot's block as this container last saw it (epoch ms).
    pub fn known_blocked_until(&self) -> Option<u64> {
        self.known().blocked_until
    }

    /// How long the next send would wait, as far as this container last saw
    /// the budget (no call; the LLM step leaves this time to the send).
    pub fn known_delay(&self) -> Duration {
        let now = now_ms();
        match decide(&self.known(), now, self.limit, self.window) {
            Decision::Take { .. } => Duration::ZERO,
            Decision::WaitUntil(t) => Duration::from_millis(t.saturating_sub(now)),
        }
    }

    /// Takes the next slot for a request starting now, or says how long to
    /// wait for one.
    pub async fn take(&self) -> Result<Turn, Unreachable> {
        for _ in 0..MAX_ROUNDS {
            let now = now_ms();
            let state = self.known().clone();
            let (slot, next) = match decide(&state, now, self.limit, self.window) {
                Decision::WaitUntil(t) => {
                    return Ok(Turn::Wait(Duration::from_millis(t - now)));
                }
                Decision::Take { slot, next } => (slot, next),
            };
            let reserved_until = now + RESERVATION.as_millis() as u64;
            if self
                .try_take(&state, slot, next, now, reserved_until)
                .await?
            {
                return Ok(Turn::Go(Reservation {
                    slot,
                    reserved_until,
                }));
            }
        }
        // Others kept winning the race: try again after a short pause.
        Ok(Turn::Wait(Duration::from_millis(50)))
    }

    /// One conditional write; `false` when the condition failed (the known
    /// state is then refreshed from the table).
    async fn try_take(
        &self,
        state: &BudgetState,
        slot: usize,
        next: u64,
        now: u64,
        reserved_until: u64,
    ) -> Result<bool, Unreachable> {
        let free_before = now.saturating_sub((self.window + CLOCK_SKEW).as_millis() as u64);
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", AttributeValue::S(self.key.clone()))
            .update_expression("SET #slot = :reserved, sent = :next, expires_at = :expires")
            .condition_expression(
                "(attribute_not_exists(sent) OR sent = :sent) \
                 AND (attribute_not_exists(#slot) OR #slot <= :free_before) \
                 AND (attribute_not_exists(blocked_until) OR blocked_until <= :now)",
            )
            .expression_attribute_names("#slot", format!("slot_{slot}"))
            .expression_attribute_values(":reserved", number(reserved_until))
            .expression_attribute_values(":next", number(next))
            .expression_attribute_values(":sent", number(state.sent))
            .expression_attribute_values(":free_before", number(free_before))
            .expression_attribute_values(":now", number(now))
            .expression_attribute_values(":expires", number(self.expires_at(now)))
            .return_values(ReturnValue::AllNew)
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        match result {
            Ok(out) => {
                *self.known() = parse_item(out.attributes(), now);
                Ok(true)
            }
            Err(e) => {
                let current = match e.as_service_error() {
                    Some(aws_sdk_dynamodb::operation::update_item::UpdateItemError::ConditionalCheckFailedException(c)) => c.item().cloned(),
                    _ => return Err(self.unreachable(&e)),
                };
                let current = match current {
                    Some(item) => Some(item),
                    None => self.read().await?,
                };
                *self.known() = parse_item(current.as_ref(), now);
                Ok(false)
            }
        }
    }

    /// A consistent read of the item (when a failed condition did not
    /// return it).
    async fn read(&self) -> Result<Option<HashMap<String, AttributeValue>>, Unreachable> {
        self.client
            .get_item()
            .table_name(&self.table)
            .key("pk", AttributeValue::S(self.key.clone()))
            .consistent_read(true)
            .send()
            .await
            .map(|out| out.item)
            .map_err(|e| self.unreachable(&e))
    }

    /// The request in `slot` is over at `ended_ms`: the slot is free one
    /// window later instead of one window after its reservation. Only if
    /// the slot still holds this reservation.
    pub async fn settle(&self, r: Reservation, ended_ms: u64) -> Result<(), Unreachable> {
        let ended = ended_ms.min(r.reserved_until);
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", AttributeValue::S(self.key.clone()))
            .update_expression("SET #slot = :ended")
            .condition_expression("#slot = :reserved")
            .expression_attribute_names("#slot", format!("slot_{}", r.slot))
            .expression_attribute_values(":ended", number(ended))
            .expression_attribute_values(":reserved", number(r.reserved_until))
            .send()
            .await;
        match result {
            Ok(_) => {
                self.known().slots.insert(r.slot, ended);
                Ok(())
            }
            Err(e) if is_condition_failure(&e) => Ok(()),
            Err(e) => Err(self.unreachable(&e)),
        }
    }

    /// The robot answered with a throttle: every container waits until
    /// `until_ms` (a later block already recorded is kept).
    pub async fn block(&self, until_ms: u64) -> Result<(), Unreachable> {
        let now = now_ms();
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", AttributeValue::S(self.key.clone()))
            .update_expression("SET blocked_until = :until, expires_at = :expires")
            .condition_expression("attribute_not_exists(blocked_until) OR blocked_until < :until")
            .expression_attribute_values(":until", number(until_ms))
            .expression_attribute_values(":expires", number(self.expires_at(now)))
            .send()
            .await;
        match result {
            Ok(_) => {}
            Err(e) if is_condition_failure(&e) => {}
            Err(e) => return Err(self.unreachable(&e)),
        }
        let mut known = self.known();
        if known.blocked_until.is_none_or(|t| t < until_ms) {
            known.blocked_until = Some(until_ms);
        }
        Ok(())
    }

    /// TTL: a day after the last write, and never before the longest block
    /// or reservation recorded in it is over.
    fn expires_at(&self, now_ms: u64) -> u64 {
        let keep =
            (self.window * (BLOCK_WINDOWS + 1) + RESERVATION).max(Duration::from_secs(86_400));
        (now_ms + keep.as_millis() as u64) / 1000
    }

    fn unreachable<E, R>(&self, e: &aws_sdk_dynamodb::error::SdkError<E, R>) -> Unreachable
    where
        E: aws_sdk_dynamodb::error::ProvideErrorMetadata + std::error::Error + 'static,
        R: std::fmt::Debug,
    {
        use aws_sdk_dynamodb::error::SdkError;
        let reason = match e {
            SdkError::ServiceError(s) => format!(
                "{}: {}",
                s.err().code().unwrap_or("error"),
                s.err().message().unwrap_or("no message")
            ),
            SdkError::TimeoutError(_) => "timed out".to_string(),
            SdkError::DispatchFailure(_) => "could not connect".to_string(),
            other => format!("{}", aws_sdk_dynamodb::error::DisplayErrorContext(other)),
        };
        Unreachable {
            table: self.table.clone(),
            reason,
        }
    }
}

fn is_condition_failure<E, R>(e: &aws_sdk_dynamodb::error::SdkError<E, R>) -> bool
where
    E: aws_sdk_dynamodb::error::ProvideErrorMetadata,
{
    e.as_service_error()
        .and_then(|s| s.code())
        .is_some_and(|c| c == "ConditionalCheckFailedException")
}

fn number(n: u64) -> AttributeValue {
    AttributeValue::N(n.to_string())
}

/// The budget an item holds. An item past its TTL (`expires_at`) counts as
/// absent but for `sent`: DynamoDB deletes expired items late, and moto
/// never does, so the code does not rely on it. Its slots and block are
/// long over by then anyway.
pub fn parse_item(item: Option<&HashMap<String, AttributeValue>>, now_ms: u64) -> BudgetState {
    let Some(item) = item else {
        return BudgetState::default();
    };
    let n = |name: &str| {
        item.get(name)
            .and_then(|v| v.as_n().ok())
            .and_then(|s| s.parse::<u64>().ok())
    };
    let sent = n("sent").unwrap_or(0);
    if n("expires_at").is_some_and(|t| t * 1000 <= now_ms) {
        return BudgetState {
            sent,
            ..BudgetState::default()
        };
    }
    let slots = item
        .keys()
        .filter_map(|k| k.strip_prefix("slot_")?.parse::<usize>().ok())
        .filter_map(|k| Some((k, n(&format!("slot_{k}"))?)))
        .collect();
    BudgetState {
        sent,
        slots,
        blocked_until: n("blocked_until"),
    }
}

/// Wall-clock epoch milliseconds: the one clock every container shares.
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIN: Duration = Duration::from_secs(60);

    fn state(sent: u64, slots: &[(usize, u64)], blocked: Option<u64>) -> BudgetState {
        BudgetState {
            sent,
            slots: slots.iter().copied().collect(),
            blocked_until: blocked,
        }
    }

    #[test]
    fn an_empty_budget_gives_slot_zero() {
        assert_eq!(
            decide(&BudgetState::default(), 1_000, 20, MIN),
            Decision::Take { slot: 0, next: 1 }
        );
    }

    #[test]
    fn the_next_slot_is_free_one_window_after_its_last_request() {
        // 20 slots, the 21st request reuses slot 0, whose request ended at 5 s.
        let s = state(20, &[(0, 5_000), (1, 6_000)], None);
        assert_eq!(decide(&s, 30_000, 20, MIN), Decision::WaitUntil(65_100));
        assert_eq!(decide(&s, 65_099, 20, MIN), Decision::WaitUntil(65_100));
        assert_eq!(
            decide(&s, 65_100, 20, MIN),
            Decision::Take { slot: 0, next: 21 }
        );
        // sent = 21: slot 1 is next.
        let s = state(21, &[(0, 70_000), (1, 6_000)], None);
        assert_eq!(
            decide(&s, 70_000, 20, MIN),
            Decision::Take { slot: 1, next: 22 }
        );
    }

    #[test]
    fn a_block_stops_every_slot() {
        let s = state(3, &[], Some(600_000));
        assert_eq!(decide(&s, 1_000, 20, MIN), Decision::WaitUntil(600_000));
        assert_eq!(
            decide(&s, 600_000, 20, MIN),
            Decision::Take { slot: 3, next: 4 }
        );
    }

    /// Whatever the order of takes, no window of the robot holds more than
    /// the limit: simulate 100 requests taken as early as allowed, each
    /// reaching the robot up to its reservation later.
    #[test]
    fn requests_never_exceed_the_limit_in_any_window() {
        let (limit, window) = (20usize, MIN);
        let mut s = BudgetState::default();
        let mut arrivals = Vec::new();
        let mut now = 0u64;
        while arrivals.len() < 100 {
            match decide(&s, now, limit, window) {
                Decision::WaitUntil(t) => now = t,
                Decision::Take { slot, next } => {
                    // Worst case: it arrives as late as it may and its
                    // answer is back only then.
                    let arrival = now + RESERVATION.as_millis() as u64;
                    arrivals.push(arrival);
                    s.slots.insert(slot, arrival);
                    s.sent = next;
                }
            }
        }
        arrivals.sort_unstable();
        for (i, &a) in arrivals.iter().enumerate() {
            let in_window = arrivals[i..]
                .iter()
                .take_while(|&&b| b < a + window.as_millis() as u64)
                .count();
            assert!(
                in_window <= limit,
                "{in_window} requests in the window from {a}"
            );
        }
    }

    #[test]
    fn items_parse_and_expire() {
        let item: HashMap<String, AttributeValue> = [
            ("pk", AttributeValue::S("robot#default".into())),
            ("sent", number(22)),
            ("slot_0", number(1_000)),
            ("slot_1", number(2_000)),
            ("blocked_until", number(9_000)),
            ("expires_at", number(100)),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
        assert_eq!(
            parse_item(Some(&item), 50_000),
            state(22, &[(0, 1_000), (1, 2_000)], Some(9_000))
        );
        // Past its TTL: only the counter is kept.
        assert_eq!(parse_item(Some(&item), 100_000), state(22, &[], None));
        assert_eq!(parse_item(None, 1), BudgetState::default());
        assert_eq!(robot_key(DEFAULT_ROBOT), "robot#default");
    }
}
