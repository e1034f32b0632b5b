//! A tiny markdown builder limited to the subset DingTalk documents:
//! headings, quotes, bold, italic, links, images and lists. Code fences,
//! tables, horizontal rules and inline code are outside it (clients may show
//! them raw), so the builder has no way to write them.

use serde_json::Value;

use super::fields::field_list;
use crate::message::Message;

#[derive(Debug, Clone)]
pub struct Doc {
    text: String,
}

impl Doc {
    pub fn new(heading: impl AsRef<str>) -> Doc {
        Doc {
            text: format!("### {}\n\n", heading.as_ref()),
        }
    }

    /// A `- **label**: value` line; empty values are skipped so a message
    /// never shows a field with nothing in it.
    pub fn field(&mut self, label: &str, value: &str) {
        let value = value.trim();
        if value.is_empty() {
            return;
        }
        self.text
            .push_str(&format!("- **{label}**: {}\n", one_line(value)));
    }

    /// A line that must stand out, as a quote.
    pub fn callout(&mut self, text: &str) {
        self.end_block();
        self.text.push_str(&format!("> {}\n\n", one_line(text)));
    }

    pub fn paragraph(&mut self, text: &str) {
        let text = text.trim();
        if text.is_empty() {
            return;
        }
        self.end_block();
        // DingTalk collapses single newlines; keep the author's line breaks.
        let body = text
            .lines()
            .map(str::trim_end)
            .filter(|l| !l.is_empty())
            .collect::<Vec<_>>()
            .join("\n\n");
        self.text.push_str(&body);
        self.text.push_str("\n\n");
    }

    pub fn subheading(&mut self, text: &str) {
        self.end_block();
        self.text.push_str(&format!("**{text}**\n\n"));
    }

    pub fn bullet(&mut self, text: &str) {
        self.text.push_str(&format!("- {}\n", one_line(text)));
    }

    /// JSON we have no type for, as an indented field list (see
    /// [`super::fields`]), at most about `max_bytes`.
    pub fn json(&mut self, value: &Value, max_bytes: usize) {
        self.end_block();
        self.text.push_str(&field_list(value, max_bytes));
    }

    pub fn link(&mut self, label: &str, url: &str) {
        self.end_block();
        self.text.push_str(&format!("[{label}]({url})\n"));
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
