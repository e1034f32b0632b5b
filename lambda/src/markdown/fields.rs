//! JSON we have no type for, as an indented field list: `- **key**: value`,
//! nested objects and arrays one level deeper (4 spaces, which every
//! markdown dialect reads as a nested list).
//!
//! Why not a code block: DingTalk's markdown subset has headings, quotes,
//! bold, italic, links, images and lists, but no code fences, and clients may
//! show a fence as raw backticks. A list is readable on every client.

use serde_json::Value;

use super::escape::{line_start, text};

/// Deeper levels are shown as compact JSON on one line, so a pathological
/// payload cannot produce a staircase.
const MAX_DEPTH: usize = 6;
/// One value is cut here; the whole list is cut at the caller's budget.
const MAX_VALUE_BYTES: usize = 1_000;

/// The list for `value`, at most about `max_bytes` long: lines past the
/// budget are left out and a last line says so.
pub fn field_list(value: &Value, max_bytes: usize) -> String {
    let mut lines = Vec::new();
    match value {
        Value::Object(_) | Value::Array(_) => push_items(&mut lines, value, 0),
        scalar => lines.push(format!("- {}", line_start(&scalar_text(scalar)))),
    }
    let mut out = String::new();
    for (i, line) in lines.iter().enumerate() {
        if out.len() + line.len() + 1 > max_bytes {
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

fn push_items(lines: &mut Vec<String>, value: &Value, depth: usize) {
    let indent = "    ".repeat(depth);
    match value {
        Value::Object(map) => {
            for (key, v) in map {
                let label = format!("{indent}- **{}**", text(&one_line(key)));
                if is_sensitive(key) && !v.is_null() {
                    lines.push(format!("{label}: {REDACTED}"));
                } else {
                    push_entry(lines, label, v, depth);
                }
            }
        }
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                let label = format!("{indent}- **#{}**", i + 1);
                match v {
                    Value::Object(_) | Value::Array(_) => push_entry(lines, label, v, depth),
                    scalar => lines.push(format!("{indent}- {}", line_start(&scalar_text(scalar)))),
                }
            }
        }
        scalar => lines.push(format!("{indent}- {}", line_start(&scalar_text(scalar)))),
    }
}

/// `label: value` for a scalar or an empty container, else `label:` and the
/// container's items one level deeper.
fn push_entry(lines: &mut Vec<String>, label: String, v: &Value, depth: usize) {
    let empty = match v {
        Value::Object(m) => m.is_empty(),
        Value::Array(a) => a.is_empty(),
        _ => true,
    };
    if empty {
        // `{}` and `[]` are ours; a string is data.
        let shown = match v {
            Value::Object(_) | Value::Array(_) => v.to_string(),
            scalar => text(&scalar_text(scalar)),
        };
        lines.push(format!("{label}: {shown}"));
    } else if depth + 1 >= MAX_DEPTH {
        lines.push(format!("{label}: {}", text(&clip_value(&v.to_string()))));
    } else {
        lines.push(format!("{label}:"));
        push_items(lines, v, depth + 1);
    }
}

/// Shown instead of a value that must not reach a chat group.
const REDACTED: &str = "(已隐藏 redacted)";

/// Keys whose values are never posted: an ECS container override's or a
/// CodeBuild project's environment variables, passwords, secrets, tokens,
/// credentials. The key stays, so the reader knows something was there.
fn is_sensitive(key: &str) -> bool {
    let k = key.to_ascii_lowercase();
    [
        "environment",
        "password",
        "passwd",
        "secret",
        "token",
        "credential",
    ]
    .iter()
    .any(|w| k.contains(w))
}

fn scalar_text(v: &Value) -> String {
    match v {
        Value::String(s) if s.trim().is_empty() => "(空 empty)".into(),
        Value::String(s) => clip_value(&one_line(s)),
        other => clip_value(&other.to_string()),
    }
}

fn clip_value(s: &str) -> String {
    if s.len() <= MAX_VALUE_BYTES {
        return s.to_string();
    }
    let mut cut = MAX_VALUE_BYTES;
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
    use serde_json::json;

    #[test]
    fn nested_objects_and_arrays_are_indented_lists() {
        let v = json!({
            "b": 1, "a": "x\ny", "empty": {}, "none": [], "s": " ",
            "nested": {"k": null, "list": [1, {"id": "i-1"}]}
        });
        assert_eq!(
            field_list(&v, 10_000),
            "- **a**: x y\n- **b**: 1\n- **empty**: {}\n- **nested**:\n    - **k**: null\n    - **list**:\n        - 1\n        - **#2**:\n            - **id**: i-1\n- **none**: []\n- **s**: (空 empty)\n"
        );
    }

    #[test]
    fn secrets_and_environments_are_redacted() {
        let v = json!({
            "containerOverrides": [{"name": "web", "environment": [{"name": "DB_PASSWORD", "value": "hunter2"}]}],
            "SessionToken": "abc", "dbPassword": "p", "clientSecret": null, "state": "ok"
        });
        let out = field_list(&v, 10_000);
        assert_eq!(
            out,
            "- **SessionToken**: (已隐藏 redacted)\n- **clientSecret**: null\n- **containerOverrides**:\n    - **#1**:\n        - **environment**: (已隐藏 redacted)\n        - **name**: web\n- **dbPassword**: (已隐藏 redacted)\n- **state**: ok\n"
        );
        assert!(!out.contains("hunter2"));
    }

    #[test]
    fn long_lists_are_cut_and_say_so() {
        let v = json!((0..100).collect::<Vec<_>>());
        let out = field_list(&v, 40);
        assert_eq!(
            out,
            "- 0\n- 1\n- 2\n- 3\n- 4\n- 5\n- 6\n- 7\n- 8\n- 9\n- … 另有 90 行 and 90 more lines (truncated)\n"
        );
        let deep = json!({"a": {"b": {"c": {"d": {"e": {"f": {"g": 1}}}}}}});
        assert!(field_list(&deep, 10_000).ends_with("- **f**: {\"g\":1}\n"));
    }
}
