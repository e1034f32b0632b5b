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

use crate::aws::constraints;

/// 6 × `timeout` + `window`, all in seconds.
pub fn visibility_timeout(timeout: u32, window: u32) -> u32 {
    6 * timeout + window
}

/// A Number parameter's `Default`, `MinValue` or `MaxValue` in the embedded
/// template, from the one parse of its parameters (`aws::constraints`).
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
    }
}
