//! Staying under the robot's rate limit, and out of its block: this
//! container's own view.
//!
//! DingTalk accepts 20 messages a minute per robot. The message past that is
//! refused (`130101`, sometimes `410100` or an HTTP 302) and the robot is
//! then blocked for 10 minutes: the whole group hears nothing. So a breach
//! must never happen, and after any throttle answer nothing is sent until the
//! block is surely over.
//!
//! The budget that holds for any number of containers is the shared one
//! ([`crate::budget`]). This `Pacer` is what a container falls back to when
//! there is no shared budget or its table does not answer: it sends at most
//! `robot_limit / FALLBACK_SENDERS` per window, checked before a send and
//! recorded when the answer is back, which keeps the robot under its limit
//! only while no more than that many containers send in one window. It also
//! keeps the block this container saw, whatever the table says.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// DingTalk blocks a robot for 10 minutes (10 windows) after a breach.
pub const BLOCK_WINDOWS: u32 = 10;

/// What one container may send per window so that `concurrency`
/// containers together stay within the robot's limit (at least 1).
pub fn instance_limit(robot_limit: usize, concurrency: usize) -> usize {
    (robot_limit / concurrency.max(1)).max(1)
}

/// One container's sends in the current window, and the robot's block as
/// far as this container knows it.
#[derive(Debug)]
pub struct Pacer {
    limit: usize,
    window: Duration,
    sent: VecDeque<Instant>,
    blocked_until: Option<Instant>,
}

impl Pacer {
    pub fn new(limit: usize, window: Duration) -> Pacer {
        Pacer {
            limit: limit.max(1),
            window,
            sent: VecDeque::new(),
            blocked_until: None,
        }
    }

    pub fn window(&self) -> Duration {
        self.window
    }

    /// What this container may send per window.
    pub fn limit(&self) -> usize {
        self.limit
    }

    /// How long until the block this container knows of is over.
    pub fn block_delay(&self, now: Instant) -> Duration {
        self.blocked_until
            .map_or(Duration::ZERO, |t| t.saturating_duration_since(now))
    }

    /// How long to wait before the next send: until the window has room and
    /// the robot's block is over.
    pub fn delay(&mut self, now: Instant) -> Duration {
        while self
            .sent
            .front()
            .is_some_and(|t| now.duration_since(*t) >= self.window)
        {
            self.sent.pop_front();
        }
        let window_wait = if self.sent.len() < self.limit {
            Duration::ZERO
        } else {
            // The oldest send that keeps the window full.
            let oldest = self.sent[self.sent.len() - self.limit];
            self.window.saturating_sub(now.duration_since(oldest))
        };
        window_wait.max(self.block_delay(now))
    }

    /// A request that may have reached the robot, counted when its answer
    /// is back (or the attempt ended): never earlier than the robot counted it.
    pub fn record(&mut self, at: Instant) {
        self.sent.push_back(at);
    }

    /// The robot answered with a throttle: it is blocked for at most
    /// [`BLOCK_WINDOWS`] windows from now (its block began at the breach,
    /// at the latest now).
    pub fn block(&mut self, now: Instant) {
        let until = now + self.window * BLOCK_WINDOWS;
        if self.blocked_until.is_none_or(|t| t < until) {
            self.blocked_until = Some(until);
        }
    }

    pub fn blocked_until(&self) -> Option<Instant> {
        self.blocked_until
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instances_share_the_robot_limit() {
        assert_eq!(instance_limit(20, 2), 10);
        assert_eq!(instance_limit(20, 3), 6);
        assert_eq!(instance_limit(20, 1), 20);
        assert_eq!(instance_limit(1, 2), 1);
        assert_eq!(instance_limit(20, 0), 20);
    }

    #[test]
    fn waits_once_the_window_is_full() {
        let mut p = Pacer::new(2, Duration::from_secs(60));
        let t0 = Instant::now();
        assert_eq!(p.delay(t0), Duration::ZERO);
        p.record(t0);
        p.record(t0 + Duration::from_secs(1));
        assert_eq!(
            p.delay(t0 + Duration::from_secs(10)),
            Duration::from_secs(50)
        );
        assert_eq!(
            p.delay(t0 + Duration::from_millis(59_500)),
            Duration::from_millis(500)
        );
        // The first send has left the window: room for one.
        assert_eq!(p.delay(t0 + Duration::from_secs(60)), Duration::ZERO);
        p.record(t0 + Duration::from_secs(60));
        assert_eq!(
            p.delay(t0 + Duration::from_secs(60)),
            Duration::from_secs(1)
        );
        assert_eq!(p.delay(t0 + Duration::from_secs(61)), Duration::ZERO);
    }

    #[test]
    fn a_throttle_answer_blocks_ten_windows() {
        let mut p = Pacer::new(10, Duration::from_secs(60));
        let t0 = Instant::now();
        p.record(t0);
        p.block(t0);
        assert_eq!(
            p.delay(t0 + Duration::from_secs(5)),
            Duration::from_secs(595)
        );
        assert_eq!(p.delay(t0 + Duration::from_secs(600)), Duration::ZERO);
        // A later answer extends it; an earlier one does not shorten it.
        p.block(t0 + Duration::from_secs(100));
        p.block(t0 + Duration::from_secs(50));
        assert_eq!(p.blocked_until(), Some(t0 + Duration::from_secs(700)));
    }
}
