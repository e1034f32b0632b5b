//! The DingTalk markdown message and the rules for fitting it into one robot post.

/// DingTalk rejects robot messages whose content is larger than about 20 000 bytes;
/// we stop well before that so the JSON envelope, the title and an appended
/// LLM summary never push a message over the edge.
pub const MAX_TEXT_BYTES: usize = 18_000;

/// Bytes `s` takes inside a JSON string: quotes, backslashes and control
/// characters are escaped, everything else is its UTF-8 bytes (serde_json
/// does not escape non-ASCII). DingTalk's size limit counts these bytes.
pub fn json_len(s: &str) -> usize {
    s.chars()
        .map(|c| match c {
            '"' | '\\' | '\n' | '\r' | '\t' | '\u{08}' | '\u{0c}' => 2,
            c if (c as u32) < 0x20 => 6,
            c => c.len_utf8(),
        })
        .sum()
}

/// Shown at the end of a message that had to be cut, so nobody mistakes a
/// truncated alert for the whole story.
pub const TRUNCATION_NOTICE: &str =
    "\n\n> ⚠️ 内容过长，已截断 (message truncated; see the AWS console for the full event)";

/// A DingTalk `markdown` message: `title` is what the chat list and the
/// notification show, `text` is the markdown body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    pub title: String,
    pub text: String,
}

impl Message {
    pub fn new(title: impl Into<String>, text: impl Into<String>) -> Self {
        Message {
            title: title.into(),
            text: text.into(),
        }
    }

    /// Puts an LLM summary above the facts. The facts stay: a summary can be
    /// wrong, the event fields cannot.
    pub fn with_summary(&self, summary: &str) -> Message {
        let summary = summary.trim();
        if summary.is_empty() {
            return self.clone();
        }
        let (heading, rest) = split_heading(&self.text);
        let quoted: String = summary
            .lines()
            .filter_map(in_subset)
            .map(|l| format!("> {l}\n"))
            .collect::<Vec<_>>()
            .join(">\n");
        let gap = if heading.is_empty() { "" } else { "\n" };
        let text =
            format!("{heading}{gap}**🤖 AI 摘要**\n\n{quoted}\n**📋 详情 Details**\n\n{rest}");
        Message {
            title: self.title.clone(),
            text,
        }
        .fit(MAX_TEXT_BYTES)
    }

    /// Cuts the body to at most `max_bytes` (including the notice), on a line
    /// boundary where possible and always on a UTF-8 character boundary, and
    /// closes an unterminated code fence so the rest of the chat renders.
    pub fn fit(mut self, max_bytes: usize) -> Message {
        if self.text.len() <= max_bytes {
            return self;
        }
        let budget = max_bytes.saturating_sub(TRUNCATION_NOTICE.len() + "\n```".len());
        let mut cut = budget.min(self.text.len());
        while !self.text.is_char_boundary(cut) {
            cut -= 1;
        }
        // Prefer ending on a whole line when that loses less than a quarter of the budget.
        if let Some(nl) = self.text[..cut].rfind('\n') {
            if nl >= cut - cut / 4 {
                cut = nl;
            }
        }
        let mut text = self.text[..cut].to_string();
        if text.matches("```").count() % 2 == 1 {
            text.push_str("\n```");
        }
        text.push_str(TRUNCATION_NOTICE);
        self.text = text;
        self
    }
}

/// A summary line kept within DingTalk's markdown subset: no code (the
/// backticks go), no horizontal rule (the line goes), no table (a row's
/// cells are joined with ` · `), and no link, image, HTML or mention
/// ([`crate::markdown::escape::summary_line`]).
fn in_subset(line: &str) -> Option<String> {
    let line = crate::markdown::escape::summary_line(&line.replace('`', ""));
    let l = line.trim();
    let squeezed: String = l.chars().filter(|c| !c.is_whitespace()).collect();
    let rule = squeezed.len() >= 3
        && ['-', '*', '_']
            .iter()
            .any(|r| squeezed.chars().all(|c| c == *r));
    if rule {
        return None;
    }
    if l.len() >= 2 && l.starts_with('|') && l.ends_with('|') {
        let cells: Vec<&str> = l
            .trim_matches('|')
            .split('|')
            .map(str::trim)
            .filter(|c| !c.is_empty() && !c.chars().all(|x| matches!(x, '-' | ':')))
            .collect();
        return (!cells.is_empty()).then(|| cells.join(" · "));
    }
    Some(line)
}

/// Splits off a leading `#` heading line so a summary can go right below it.
fn split_heading(text: &str) -> (&str, &str) {
    if text.starts_with('#') {
        match text.find('\n') {
            Some(i) => {
                let (h, r) = text.split_at(i + 1);
                // keep one blank line after the heading
                (h, r.trim_start_matches('\n'))
            }
            None => (text, ""),
        }
    } else {
        ("", text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_len_counts_escapes() {
        for s in ["plain", "\"q\"\n\\", "告警\t\u{1}\u{7f}", ""] {
            assert_eq!(
                json_len(s) + 2,
                serde_json::to_string(s).unwrap().len(),
                "{s:?}"
            );
        }
    }

    #[test]
    fn short_messages_are_untouched() {
        let m = Message::new("t", "hello");
        assert_eq!(m.clone().fit(100), m);
    }

    #[test]
    fn fit_cuts_on_char_boundary_and_says_so() {
        let m = Message::new("t", "告警".repeat(50)).fit(120);
        assert!(m.text.len() <= 120, "{} bytes", m.text.len());
        assert!(m.text.ends_with(TRUNCATION_NOTICE));
    }

    #[test]
    fn fit_closes_open_code_fence() {
        let body = format!("## x\n```json\n{}\n", "{\"a\": 1}\n".repeat(40));
        let m = Message::new("t", body).fit(200);
        let before_notice = m.text.trim_end_matches(TRUNCATION_NOTICE);
        assert!(before_notice.ends_with("\n```"), "{before_notice}");
        assert_eq!(m.text.matches("```").count() % 2, 0);
    }

    #[test]
    fn summary_loses_code_rules_and_tables() {
        let m = Message::new("t", "### 标题\n");
        let s = m.with_summary("用 `top` 查看\n---\n| a | b |\n|---|---|\n| 1 | 2 |");
        assert_eq!(
            s.text,
            "### 标题\n\n**🤖 AI 摘要**\n\n> 用 top 查看\n>\n> a · b\n>\n> 1 · 2\n\n**📋 详情 Details**\n\n"
        );
    }

    #[test]
    fn summary_goes_below_heading_and_keeps_facts() {
        let m = Message::new("t", "### 标题\n\n- **账号**: 123\n");
        let s = m.with_summary("第一行\n第二行");
        assert_eq!(
            s.text,
            "### 标题\n\n**🤖 AI 摘要**\n\n> 第一行\n>\n> 第二行\n\n**📋 详情 Details**\n\n- **账号**: 123\n"
        );
    }
}
