//! CloudWatch Logs: the function's log lines that match a filter pattern,
//! page by page (`FilterLogEvents`), for `status` (each robot's day) and
//! `test-send` (the outcome line of its message).

use std::ops::ControlFlow;

use anyhow::Result;

use crate::aws::Aws;
use crate::errors::AwsResultExt;

/// What to read: the lines of `group` matching `pattern` since `start_ms`
/// (epoch milliseconds), at most `max_pages` pages.
#[derive(Debug, Clone, Copy)]
pub struct LogFilter<'a> {
    pub group: &'a str,
    /// A CloudWatch Logs filter pattern, e.g. `"outcome"` (quotes included).
    pub pattern: &'a str,
    pub start_ms: i64,
    pub max_pages: usize,
}

/// Hands each matching line to `visit` in order until it breaks, the pages
/// end or `max_pages` were read; `Some` is what it broke with. A log group
/// that does not exist yet has no lines (it appears with the function's
/// first line). The error is the call's; the caller says what it was
/// reading.
pub async fn each_line<B>(
    aws: &Aws,
    filter: LogFilter<'_>,
    mut visit: impl FnMut(&str) -> ControlFlow<B>,
) -> Result<Option<B>> {
    let mut next: Option<String> = None;
    for _ in 0..filter.max_pages {
        let res = aws
            .logs
            .filter_log_events()
            .log_group_name(filter.group)
            .filter_pattern(filter.pattern)
            .start_time(filter.start_ms)
            .set_next_token(next.take())
            .send()
            .await;
        let page = match res {
            Ok(page) => page,
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_resource_not_found_exception()) =>
            {
                return Ok(None)
            }
            Err(e) => return Err(e).aws("logs:FilterLogEvents"),
        };
        for message in page.events().iter().filter_map(|e| e.message()) {
            if let ControlFlow::Break(found) = visit(message) {
                return Ok(Some(found));
            }
        }
        next = page.next_token().map(str::to_string);
        if next.is_none() {
            break;
        }
    }
    Ok(None)
}
