//! The alert buffer's visibility timeout, by AWS's rule for an SQS event
//! source: at least 6 × the function timeout + the batching window
//! (`MaximumBatchingWindowInSeconds`). Below it, a batch the function is
//! still pacing reappears, another invocation sends it a second time, and
//! receive counts burn down towards the dead-letter queue.
//!
//! CloudFormation has no arithmetic, so the CLI computes the value from the
//! timeout and window it deploys and passes it as `AlertQueueVisibilityTimeout`.
//! The window, unless the CLI passes its own, is `BatchWindowSeconds`' default
//! in the embedded template: one source, read here.

use anyhow::{Context, Result};

use crate::template::constraints;

/// 6 × `timeout` + `window`, all in seconds.
pub fn visibility_timeout(timeout: u32, window: u32) -> u32 {
    6 * timeout + window
}

/// How long an undelivered alert keeps being retried before it goes to the
/// dead-letter queue: longer than DingTalk's 10-minute block many times
/// over, and long enough for a person to fix a revoked robot before the
/// alert needs a `redrive`.
pub const RETRY_SPAN_SECS: u32 = 90 * 60;

/// Tries an alert gets before SQS moves it to the dead-letter queue (at
/// least this many, whatever the timeout), so that a transient failure is
/// retried even with the longest timeouts.
pub const MIN_RECEIVES: u32 = 3;

/// SQS's largest `maxReceiveCount` (and the template's `MaxValue`).
pub const MAX_RECEIVES: u32 = 1000;

/// `MaxReceiveCount` for a buffer whose alerts come back every `visibility`
/// seconds: enough tries that they span at least [`RETRY_SPAN_SECS`]. A
/// fixed count would not: 15 tries of a 5 s function (visibility 31 s)
/// span under 8 minutes, less than one DingTalk block.
pub fn max_receive_count(visibility: u32) -> u32 {
    RETRY_SPAN_SECS
        .div_ceil(visibility.max(1))
        .clamp(MIN_RECEIVES, MAX_RECEIVES)
}

/// A Number parameter's `Default`, `MinValue` or `MaxValue` in the embedded
/// template, from the one parse of its parameters (`template::constraints`).
pub fn template_number(parameter: &str, field: &str) -> Result<u32> {
    let c = constraints::all()
        .get(parameter)
        .with_context(|| format!("the template has no parameter {parameter}"))?;
    let value = match field {
        "Default" => c.default.as_deref().and_then(|d| d.parse::<f64>().ok()),
        "MinValue" => c.min_value,
        "MaxValue" => c.max_value,
        _ => None,
    };
    value
        .filter(|n| n.fract() == 0.0 && (0.0..=f64::from(u32::MAX)).contains(n))
        .map(|n| n as u32)
        .with_context(|| format!("the template's {parameter} has no numeric {field}"))
}

/// The batching window the stack gets when the CLI passes none.
pub fn default_batch_window() -> Result<u32> {
    template_number("BatchWindowSeconds", "Default")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// SQS's largest visibility timeout (12 hours).
    const SQS_MAX_VISIBILITY_TIMEOUT: u32 = 43_200;

    /// Every timeout Lambda allows (the CLI accepts a subset) and every
    /// window an SQS event source allows (0–300 s): the value passed meets
    /// AWS's rule, stays within SQS's and the template's bounds, and is never
    /// below the function timeout (Lambda refuses such a mapping).
    #[test]
    fn every_accepted_timeout_and_window_meets_the_rule() {
        let max = template_number("AlertQueueVisibilityTimeout", "MaxValue")
            .unwrap_or_else(|e| panic!("{e}"));
        let min = template_number("AlertQueueVisibilityTimeout", "MinValue")
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(max, SQS_MAX_VISIBILITY_TIMEOUT);
        for timeout in 1..=900 {
            for window in 0..=300 {
                let v = visibility_timeout(timeout, window);
                assert!(v >= 6 * timeout + window, "{timeout} {window}");
                assert!(v >= timeout, "{timeout} {window}");
                assert!((min..=max).contains(&v), "{timeout} {window}: {v}");
            }
        }
    }

    #[test]
    fn the_template_default_is_the_rule_over_its_own_defaults() {
        let number = |p: &str| template_number(p, "Default").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            number("AlertQueueVisibilityTimeout"),
            visibility_timeout(number("Timeout"), number("BatchWindowSeconds"))
        );
        assert_eq!(
            default_batch_window().unwrap_or_default(),
            number("BatchWindowSeconds")
        );
        assert_eq!(visibility_timeout(60, 1), 361);
        assert_eq!(
            number("MaxReceiveCount"),
            max_receive_count(number("AlertQueueVisibilityTimeout"))
        );
    }

    /// For every timeout and window: the tries span at least 90 minutes
    /// (each try holds the alert for one visibility timeout), there are at
    /// least three, and the count fits SQS's and the template's bounds.
    /// SQS deletes an alert older than the queue's retention, delivered or
    /// not, and counts from its arrival; the dead-letter queue keeps the
    /// same arrival time. The template's `AlertRetentionPeriod` bounds keep
    /// every alert until its last try has failed, with room for a backlog
    /// before the first, and leave the dead-letter queue a week.
    #[test]
    fn alert_retention_outlasts_the_tries_and_leaves_the_dead_letters_a_week() {
        let min = template_number("AlertRetentionPeriod", "MinValue").unwrap();
        let max = template_number("AlertRetentionPeriod", "MaxValue").unwrap();
        let longest = (template_number("Timeout", "MinValue").unwrap()
            ..=template_number("Timeout", "MaxValue").unwrap())
            .flat_map(|t| (1..=300).map(move |w| visibility_timeout(t, w)))
            .map(|v| max_receive_count(v) * v + v)
            .max()
            .unwrap();
        // 900 s timeout, 300 s window: 3 tries of 5,700 s, and one more wait.
        assert_eq!(longest, 22_800);
        assert!(min >= 3 * longest, "{min} s against {longest} s of tries");
        const DEAD_LETTER_RETENTION: u32 = 1_209_600;
        assert!(DEAD_LETTER_RETENTION - max >= 7 * 86_400);
    }

    #[test]
    fn retries_span_ninety_minutes_for_every_timeout() {
        let max = template_number("MaxReceiveCount", "MaxValue").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(max, MAX_RECEIVES);
        for timeout in 1..=900 {
            for window in 0..=300 {
                let v = visibility_timeout(timeout, window);
                let n = max_receive_count(v);
                assert!(n * v >= RETRY_SPAN_SECS, "{timeout} {window}: {n} x {v}");
                assert!((MIN_RECEIVES..=max).contains(&n), "{timeout} {window}: {n}");
                // Not more than needed: one try fewer would fall short
                // (unless the floor of three tries set it).
                assert!(n == MIN_RECEIVES || (n - 1) * v < RETRY_SPAN_SECS);
            }
        }
        assert_eq!(max_receive_count(361), 15);
        assert_eq!(max_receive_count(31), 175);
        assert_eq!(max_receive_count(5_700), 3);
    }
}
