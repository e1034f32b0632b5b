//! A tiny markdown builder limited to the subset DingTalk documents:
//! headings, quotes, bold, italic, links, images and lists. Code fences,
//! tables, horizontal rules and inline code are outside it (clients may show
//! them raw), so the builder has no way to write them.
//!
//! Every string a method takes is literal text: the builder escapes it
//! ([`super::escape`]) and adds the markup itself, so a renderer cannot put
//! an event's value into the markdown raw by forgetting to escape it. The
//! one exception is a link's target, which must be an `https://` URL
//! ([`super::escape::link_target`]).

use serde_json::Value;

use super::escape::{line_start, link_target, text};
use super::fields::field_list;
use crate::message::Message;

#[derive(Debug, Clone)]
pub struct Doc {
    text: String,
}

impl Doc {
    pub fn new(heading: impl AsRef<str>) -> Doc {
        Doc {
            text: format!("### {}\n\n", text(&one_line(heading.as_ref()))),
        }
    }

    /// A `- **label**: value` line; empty values are skipped so a message
    /// never shows a field with nothing in it.
    pub fn field(&mut self, label: &str, value: &str) {
        let value = value.trim();
        if value.is_empty() {
            return;
        }
        self.text.push_str(&format!(
            "- **{}**: {}\n",
            text(&one_line(label)),
            text(&one_line(value))
        ));
    }

    /// A line that must stand out, as a quote.
    pub fn callout(&mut self, line: &str) {
        self.end_block();
        self.text
            .push_str(&format!("> {}\n\n", line_start(&one_line(line))));
    }

    pub fn paragraph(&mut self, body: &str) {
        let body = body.trim();
        if body.is_empty() {
            return;
        }
        self.end_block();
        // DingTalk collapses single newlines; keep the author's line breaks.
        let body = body
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(line_start)
            .collect::<Vec<_>>()
            .join("\n\n");
        self.text.push_str(&body);
        self.text.push_str("\n\n");
    }

    pub fn subheading(&mut self, heading: &str) {
        self.end_block();
        self.text
            .push_str(&format!("**{}**\n\n", text(&one_line(heading))));
    }

    pub fn bullet(&mut self, item: &str) {
        self.text
            .push_str(&format!("- {}\n", line_start(&one_line(item))));
    }

    /// JSON we have no type for, as an indented field list (see
    /// [`super::fields`]), at most about `max_bytes`.
    pub fn json(&mut self, value: &Value, max_bytes: usize) {
        self.end_block();
        self.text.push_str(&field_list(value, max_bytes));
    }

    /// `[label](url)`; a target that is not a plain `https://` URL is not
    /// written at all (see [`link_target`]).
    pub fn link(&mut self, label: &str, url: &str) {
        let Some(url) = link_target(url) else {
            return;
        };
        self.end_block();
        self.text
            .push_str(&format!("[{}]({url})\n", text(&one_line(label))));
    }

    /// A list is closed by a blank line before the next block.
    fn end_block(&mut self) {
        if !self.text.ends_with("\n\n") {
            self.text.push('\n');
        }
    }

    pub fn into_message(self, title: String) -> Message {
        Message::new(title, self.text.trim_end().to_string() + "\n")
    }
}

/// Markdown list items and quotes must stay on one line.
fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}
