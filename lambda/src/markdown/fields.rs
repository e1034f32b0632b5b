//! JSON we have no type for, as an indented field list: `- **key**: value`,
//! an object's or array's items one level deeper (4 spaces, which every
//! markdown dialect reads as a nested list), in the payload's own order.
//!
//! Why not a code block: DingTalk's markdown subset has headings, quotes,
//! bold, italic, links, images and lists, but no code fences, and clients may
//! show a fence as raw backticks. A list is readable on every client.
//!
//! Two list levels at most: a phone shows a third level as a staircase, so
//! anything deeper is summarised on its parent's line (`name: web; exitCode:
//! 1`). Values of keys named like a secret are never shown (see
//! [`is_sensitive`]); timestamps are shown in the team's zone.

use chrono_tz::Tz;
use serde_json::Value;

use super::escape::{line_start, text};
use super::ordered::Ordered;
use super::time;

/// List levels a field list uses; deeper values are summarised.
pub const MAX_LEVELS: usize = 2;
/// One value is cut here; the whole list is cut at the caller's budget.
const MAX_VALUE_BYTES: usize = 1_000;
/// A summarised container is cut here.
const MAX_SUMMARY_BYTES: usize = 400;
/// Lines a list may take, so a generic message (ten lines of heading and
/// envelope fields around it) stays within 40 lines on a phone.
pub const MAX_LIST_LINES: usize = 28;

/// The list for `value`, at most about `max_bytes` long and
/// [`MAX_LIST_LINES`] lines: lines past either budget are left out and a
/// last line says so.
pub fn field_list(value: &Ordered, max_bytes: usize, tz: Tz) -> String {
    let mut lines = Vec::new();
    let list = List { tz };
    match value {
        Ordered::Scalar(scalar) => {
            lines.push(format!("- {}", line_start(&list.scalar_text(None, scalar))))
        }
        container => list.push_items(&mut lines, container, 0),
    }
    let mut out = String::new();
    for (i, line) in lines.iter().enumerate() {
        let last_room = i + 1 == MAX_LIST_LINES && lines.len() > MAX_LIST_LINES;
        if last_room || out.len() + line.len() + 1 > max_bytes {
            let more = lines.len() - i;
            out.push_str(&format!(
                "- … 另有 {more} 行 and {more} more lines (truncated)\n"
            ));
            break;
        }
        out.push_str(line);
        out.push('\n');
    }
    out
}

struct List {
    tz: Tz,
}

impl List {
    fn push_items(&self, lines: &mut Vec<String>, value: &Ordered, depth: usize) {
        let indent = "    ".repeat(depth);
        match value {
            Ordered::Object(entries) => {
                for (key, v) in entries {
                    let label = format!("{indent}- **{}**", text(&one_line(key)));
                    self.push_entry(lines, label, Some(key), v, depth);
                }
            }
            Ordered::Array(items) => {
                for (i, v) in items.iter().enumerate() {
                    match v {
                        Ordered::Scalar(s) => lines.push(format!(
                            "{indent}- {}",
                            line_start(&self.scalar_text(None, s))
                        )),
                        _ => self.push_entry(
                            lines,
                            format!("{indent}- **#{}**", i + 1),
                            None,
                            v,
                            depth,
                        ),
                    }
                }
            }
            Ordered::Scalar(s) => lines.push(format!(
                "{indent}- {}",
                line_start(&self.scalar_text(None, s))
            )),
        }
    }

    /// `label: value` for a scalar, an empty container, a list of scalars
    /// or anything at the last level (summarised); else `label:` and the
    /// container's items one level deeper.
    fn push_entry(
        &self,
        lines: &mut Vec<String>,
        label: String,
        key: Option<&str>,
        v: &Ordered,
        depth: usize,
    ) {
        if key.is_some_and(is_sensitive) && v != &Ordered::Scalar(Value::Null) {
            lines.push(format!("{label}: {REDACTED}"));
            return;
        }
        match v {
            Ordered::Scalar(s) => {
                lines.push(format!("{label}: {}", text(&self.scalar_text(key, s))))
            }
            // `{}` and `[]` are ours; a summary is data.
            c if c.is_empty_container() => lines.push(format!(
                "{label}: {}",
                if matches!(c, Ordered::Array(_)) {
                    "[]"
                } else {
                    "{}"
                }
            )),
            Ordered::Array(items) if items.iter().all(|i| matches!(i, Ordered::Scalar(_))) => {
                lines.push(format!("{label}: {}", text(&self.summary(key, v))));
            }
            c if depth + 1 >= MAX_LEVELS => {
                lines.push(format!("{label}: {}", text(&self.summary(key, c))));
            }
            c => {
                lines.push(format!("{label}:"));
                self.push_items(lines, c, depth + 1);
            }
        }
    }

    /// A container on one line: `k: v; k2: a, b; k3: {…}`, cut at
    /// [`MAX_SUMMARY_BYTES`]; sensitive keys keep only their name.
    fn summary(&self, key: Option<&str>, v: &Ordered) -> String {
        let s = match v {
            Ordered::Scalar(s) => self.scalar_text(key, s),
            Ordered::Array(items) => items
                .iter()
                .map(|i| match i {
                    Ordered::Scalar(s) => self.scalar_text(None, s),
                    Ordered::Object(_) => format!("{{{}}}", self.inner(i)),
                    Ordered::Array(a) => format!("[{} 项 items]", a.len()),
                })
                .collect::<Vec<_>>()
                .join(", "),
            Ordered::Object(_) => self.inner(v),
        };
        clip(&s, MAX_SUMMARY_BYTES)
    }

    /// An object's entries, one level of containers shown by size only.
    fn inner(&self, v: &Ordered) -> String {
        let Ordered::Object(entries) = v else {
            return String::new();
        };
        entries
            .iter()
            .map(|(k, v)| {
                let shown = match v {
                    _ if is_sensitive(k) && v != &Ordered::Scalar(Value::Null) => REDACTED.into(),
                    Ordered::Scalar(s) => self.scalar_text(Some(k), s),
                    Ordered::Array(a) if a.iter().all(|i| matches!(i, Ordered::Scalar(_))) => {
                        format!("[{}]", self.summary(Some(k), v))
                    }
                    Ordered::Array(a) => format!("[{} 项 items]", a.len()),
                    Ordered::Object(o) if o.is_empty() => "{}".into(),
                    Ordered::Object(_) => "{…}".into(),
                };
                format!("{}: {shown}", one_line(k))
            })
            .collect::<Vec<_>>()
            .join("; ")
    }

    /// A scalar as text (not yet escaped). A timestamp, an RFC 3339 string
    /// or epoch milliseconds under a key named like a time, is shown in the
    /// team's zone: a detail time in UTC next to a local header time is a
    /// trap at 3 a.m.
    fn scalar_text(&self, key: Option<&str>, v: &Value) -> String {
        match v {
            Value::String(s) if s.trim().is_empty() => "(空 empty)".into(),
            Value::String(s) if looks_like_time(s) => time::show(s, self.tz),
            Value::String(s) if codebuild_time(s).is_some() => codebuild_time(s)
                .map(|t| time::show(&t, self.tz))
                .unwrap_or_default(),
            Value::String(s) => clip(&one_line(s), MAX_VALUE_BYTES),
            Value::Number(n) if key.is_some_and(named_like_time) => n
                .as_i64()
                .and_then(epoch_millis)
                .map(|t| time::show(&t, self.tz))
                .unwrap_or_else(|| n.to_string()),
            other => clip(&other.to_string(), MAX_VALUE_BYTES),
        }
    }
}

/// Shown instead of a value that must not reach a chat group.
pub const REDACTED: &str = "(已隐藏 redacted)";

/// Keys whose values are never posted: an ECS container override's or a
/// CodeBuild project's environment variables, passwords, secrets, tokens,
/// credentials, keys. The key stays, so the reader knows something was there.
pub fn is_sensitive(key: &str) -> bool {
    let k = key.to_ascii_lowercase();
    [
        "environment",
        "password",
        "passwd",
        "secret",
        "token",
        "credential",
        "apikey",
        "api_key",
        "privatekey",
        "private_key",
    ]
    .iter()
    .any(|w| k.contains(w))
}

/// `2026-11-25T03:00:00Z`, `2026-11-25T03:00:00.123+0000`: a date, a `T`
/// and a time that [`time::parse`] reads.
fn looks_like_time(s: &str) -> bool {
    let b = s.as_bytes();
    (16..=40).contains(&s.len())
        && b[..4].iter().all(u8::is_ascii_digit)
        && b[4] == b'-'
        && b.get(10) == Some(&b'T')
        && time::parse(s).is_some()
}

/// CodeBuild's `Sep 1, 2017 4:12:29 PM` (UTC: its sample's event `time`
/// 16:14:21Z is the `4:14:21 PM` of the phase that ended then), as RFC 3339.
fn codebuild_time(s: &str) -> Option<String> {
    if !(s.ends_with(" AM") || s.ends_with(" PM")) || s.len() > 30 {
        return None;
    }
    chrono::NaiveDateTime::parse_from_str(s, "%b %d, %Y %I:%M:%S %p")
        .ok()
        .map(|t| t.and_utc().to_rfc3339())
}

/// `startDate`, `stopTime`, `createdAt`, `timestamp`: keys whose number is
/// epoch milliseconds (Step Functions, ECS, Scheduler).
fn named_like_time(key: &str) -> bool {
    let k = key.to_ascii_lowercase();
    ["date", "time", "timestamp"].iter().any(|w| k.ends_with(w)) || key.ends_with("At")
}

/// Milliseconds since the epoch in 2001..2286 as RFC 3339; seconds and
/// other numbers stay numbers.
fn epoch_millis(ms: i64) -> Option<String> {
    if !(1_000_000_000_000..10_000_000_000_000).contains(&ms) {
        return None;
    }
    chrono::DateTime::from_timestamp_millis(ms).map(|t| t.to_rfc3339())
}

fn clip(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_string();
    }
    let mut cut = max;
    while !s.is_char_boundary(cut) {
        cut -= 1;
    }
    format!("{}…", &s[..cut])
}

fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(json: &str, max: usize) -> String {
        field_list(&Ordered::parse(json).unwrap(), max, chrono_tz::UTC)
    }

    #[test]
    fn two_levels_in_the_payloads_order_deeper_summarised() {
        assert_eq!(
            list(
                r#"{"b": 1, "a": "x\ny", "empty": {}, "none": [], "s": " ",
                    "nested": {"k": null, "list": [1, {"id": "i-1"}], "deep": {"x": {"y": 1}, "z": [1, 2]}},
                    "tags": ["a", "b"]}"#,
                10_000
            ),
            "- **b**: 1\n- **a**: x y\n- **empty**: {}\n- **none**: []\n- **s**: (空 empty)\n\
             - **nested**:\n    - **k**: null\n    - **list**: 1, {id: i-1}\n    - **deep**: x: {…}; z: \\[1, 2\\]\n\
             - **tags**: a, b\n"
        );
    }

    #[test]
    fn secrets_and_environments_are_redacted_at_every_level() {
        let out = list(
            r#"{"containerOverrides": [{"name": "web", "environment": [{"name": "DB_PASSWORD", "value": "hunter2"}]}],
                "overrides": {"containerOverrides": [{"name": "db", "environment": [{"name": "K", "value": "hunter3"}]}]},
                "SessionToken": "abc", "dbPassword": "p", "clientSecret": null, "state": "ok"}"#,
            10_000,
        );
        assert_eq!(
            out,
            "- **containerOverrides**:\n    - **#1**: name: web; environment: (已隐藏 redacted)\n\
             - **overrides**:\n    - **containerOverrides**: {name: db; environment: (已隐藏 redacted)}\n\
             - **SessionToken**: (已隐藏 redacted)\n- **dbPassword**: (已隐藏 redacted)\n\
             - **clientSecret**: null\n- **state**: ok\n"
        );
        assert!(!out.contains("hunter") && !out.contains("DB_PASSWORD"));
    }

    #[test]
    fn times_are_shown_in_the_zone() {
        let out = field_list(
            &Ordered::parse(
                r#"{"startTime": "2026-11-25T02:58:00Z", "startDate": 1551225271984, "count": 1551225271984, "id": "2026-11-25",
                    "build-start-time": "Sep 1, 2017 4:12:29 PM"}"#,
            )
            .unwrap(),
            10_000,
            chrono_tz::Asia::Shanghai,
        );
        assert_eq!(
            out,
            "- **startTime**: 2026-11-25 10:58:00 (Asia/Shanghai)\n\
             - **startDate**: 2019-02-27 07:54:31 (Asia/Shanghai)\n\
             - **count**: 1551225271984\n- **id**: 2026-11-25\n\
             - **build-start-time**: 2017-09-02 00:12:29 (Asia/Shanghai)\n"
        );
    }

    #[test]
    fn a_list_keeps_to_its_line_budget() {
        let v = serde_json::to_string(&(0..40).collect::<Vec<_>>()).unwrap();
        let out = list(&v, 10_000);
        assert_eq!(out.lines().count(), MAX_LIST_LINES);
        assert!(
            out.ends_with("- 26\n- … 另有 13 行 and 13 more lines (truncated)\n"),
            "{out}"
        );
        let v = serde_json::to_string(&(0..28).collect::<Vec<_>>()).unwrap();
        assert!(list(&v, 10_000).ends_with("- 27\n"));
    }

    #[test]
    fn long_lists_are_cut_and_say_so() {
        let v = serde_json::to_string(&(0..100).collect::<Vec<_>>()).unwrap();
        assert_eq!(
            list(&v, 40),
            "- 0\n- 1\n- 2\n- 3\n- 4\n- 5\n- 6\n- 7\n- 8\n- 9\n- … 另有 90 行 and 90 more lines (truncated)\n"
        );
    }
}
