//! Everything an event, a subject, a tag or an account name carries is data:
//! anyone who can publish to the topic, create an alarm or tag an instance
//! chooses it. Before it reaches DingTalk's markdown it is escaped here, so it
//! can never become a link, an image, a heading, bold or italic, a list, a
//! quote, HTML or a mention. Only text our code writes is markup.
//!
//! How DingTalk's renderer is escaped: it honours CommonMark's backslash
//! escapes (the most used DingTalk alert template,
//! timonwong/prometheus-webhook-dingtalk's `default.tmpl`, writes
//! `#### \[FIRING:1\]` and pipes every label through a `\_ \* \``
//! escaper and an HTML escaper, and groups see `[FIRING:1]`), and it decodes
//! HTML entities. So markdown punctuation gets a backslash and `<`, `>`,
//! `&` become entities: the group reads the value exactly as AWS sent it.
//!
//! Two things no markdown escape stops, so they get a visible-safe
//! replacement instead:
//! - a bare URL: DingTalk's clients turn `https://…` in any text into a
//!   tappable link themselves, after the markdown is rendered. `://` becomes
//!   `：//` (a full-width colon): the address stays readable, nobody taps a
//!   forged one by accident. Our own console links are written as links.
//! - a mention: DingTalk notifies a mobile number written as `@138…` when it
//!   is also in `atMobiles`. `@` before a digit becomes `＠` (full width).
//!
//! Limit: a scheme-less domain (`www.example.com`) may still be linked by a
//! client; it shows its own address, never a disguised one.

/// `s` as literal text inside a line of markdown (a field's value, a list
/// item, a heading, a quote): no character of it is markup.
pub fn text(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + s.len() / 8);
    let mut chars = s.chars().peekable();
    // Inside an AWS address, the characters a URL needs stay as they are,
    // so the client's linkifier sees the whole address.
    let mut in_aws_url = false;
    while let Some(c) = chars.next() {
        if c.is_whitespace() {
            in_aws_url = false;
        }
        match c {
            '_' | '#' | '*' | '~' | '|' | '&' if in_aws_url => out.push(c),
            '\\' | '`' | '*' | '_' | '[' | ']' | '#' | '~' | '|' => {
                out.push('\\');
                out.push(c);
            }
            '<' => out.push_str("&lt;"),
            '&' => out.push_str("&amp;"),
            '@' if chars.peek().is_some_and(char::is_ascii_digit) => out.push('＠'),
            ':' if starts_with(&mut chars, "//") => {
                in_aws_url = aws_url(&out, chars.clone());
                out.push(if in_aws_url { ':' } else { '：' });
            }
            c => out.push(c),
        }
    }
    out
}

/// AWS's own sites stay tappable (a Health description's documentation
/// link, the console link the original app's plugins write): a link to an
/// `https://` host under `aws.amazon.com`, `amazonaws.cn` or
/// `amazonaws-us-gov.com` cannot point anywhere else. `before` is what
/// precedes the `:`, `after` starts at its `//`.
fn aws_url(before: &str, after: std::iter::Peekable<std::str::Chars<'_>>) -> bool {
    if !before.ends_with("https") {
        return false;
    }
    let host: String = after
        .skip(2)
        .take_while(|c| !matches!(c, '/' | '?' | '#') && !c.is_whitespace())
        .collect();
    let host = host.to_ascii_lowercase();
    let host = host.trim_end_matches(|c: char| c.is_ascii_digit() || c == ':');
    !host.contains(['@', '\\', '%'])
        && ["aws.amazon.com", "amazonaws.cn", "amazonaws-us-gov.com"]
            .iter()
            .any(|d| host == *d || host.ends_with(&format!(".{d}")))
}

/// `s` as literal text at the start of a line or a block (a paragraph
/// line, a list item, a quote): [`text`], and a leading `-`, `+`, `=` or
/// `1.` can no longer open a list, a rule or a setext heading.
pub fn line_start(s: &str) -> String {
    let escaped = text(s.trim_start());
    let digits = escaped.chars().take_while(char::is_ascii_digit).count();
    let after_digits = escaped[digits..].chars().next();
    match escaped.chars().next() {
        Some('-' | '+' | '=') => format!("\\{escaped}"),
        Some('>') => format!("&gt;{}", &escaped[1..]),
        Some(_) if digits > 0 && matches!(after_digits, Some('.' | ')')) => {
            format!("{}\\{}", &escaped[..digits], &escaped[digits..])
        }
        _ => escaped,
    }
}

/// A URL we write as a link's target: only `https://`, and nothing in it
/// that could close the link (`)`, spaces, `<`, `>`). Anything else is no
/// link at all (`None`), so data can never smuggle in a target.
pub fn link_target(url: &str) -> Option<String> {
    let url = url.trim();
    if !url.starts_with("https://") || url.len() <= "https://".len() {
        return None;
    }
    let mut out = String::with_capacity(url.len());
    for c in url.chars() {
        match c {
            '(' => out.push_str("%28"),
            ')' => out.push_str("%29"),
            '<' => out.push_str("%3C"),
            '>' => out.push_str("%3E"),
            '"' => out.push_str("%22"),
            '\\' => out.push_str("%5C"),
            c if c.is_whitespace() || c.is_control() => return None,
            c => out.push(c),
        }
    }
    Some(out)
}

/// A line of an LLM summary: the model may write bold, italic and lists,
/// but it read the event, and an event can ask it for anything. So it keeps
/// no link or image (`[text](url)` and `![alt](url)` keep only their text,
/// any other bracket is escaped), no HTML, no bare URL and no mention.
pub fn summary_line(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(c) = rest.chars().next() {
        if let Some((label, after)) = link_at(rest) {
            out.push_str(&label_text(label));
            rest = after;
            continue;
        }
        match c {
            '[' | ']' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            '<' => out.push_str("&lt;"),
            '&' => out.push_str("&amp;"),
            '@' if rest[1..].starts_with(|d: char| d.is_ascii_digit()) => out.push('＠'),
            ':' if rest[1..].starts_with("//") => out.push('：'),
            c => out.push(c),
        }
        rest = &rest[c.len_utf8()..];
    }
    out
}

/// `[label](target)` or `![label](target)` at the start of `s`: the label
/// and what follows the link.
fn link_at(s: &str) -> Option<(&str, &str)> {
    let s = s.strip_prefix('!').unwrap_or(s);
    let inner = s.strip_prefix('[')?;
    let close = inner.find("](")?;
    let label = &inner[..close];
    if label.contains(['[', ']']) {
        return None;
    }
    let target = &inner[close + 2..];
    let end = target.find(')')?;
    Some((label, &target[end + 1..]))
}

/// A link's label, itself cleaned (it may hold a bare URL or a mention).
fn label_text(label: &str) -> String {
    summary_line(label)
}

fn starts_with(chars: &mut std::iter::Peekable<std::str::Chars<'_>>, prefix: &str) -> bool {
    let rest: String = chars.clone().take(prefix.len()).collect();
    rest == prefix
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_images_and_html_stay_text() {
        assert_eq!(
            text("click [here](https://evil.example/x) ![p](https://evil.example/i.png)"),
            r"click \[here\](https：//evil.example/x) !\[p\](https：//evil.example/i.png)"
        );
        assert_eq!(
            text("<img src=x> & <font color=red>"),
            "&lt;img src=x> &amp; &lt;font color=red>"
        );
        assert_eq!(
            text(r"**bold** _it_ `code` a\b ~~s~~ #1 a|b"),
            r"\*\*bold\*\* \_it\_ \`code\` a\\b \~\~s\~\~ \#1 a\|b"
        );
    }

    #[test]
    fn aws_addresses_stay_links_and_look_alikes_do_not() {
        assert_eq!(
            text("https://console.aws.amazon.com/guardduty/home?region=us-east-1#/findings"),
            "https://console.aws.amazon.com/guardduty/home?region=us-east-1#/findings"
        );
        assert_eq!(
            text("see https://docs.aws.amazon.com/a_b#c [x](y) _z_"),
            r"see https://docs.aws.amazon.com/a_b#c \[x\](y) \_z\_"
        );
        for forged in [
            "https://console.aws.amazon.com.evil.example/",
            "https://aws.amazon.com@evil.example/",
            "http://console.aws.amazon.com/",
            "https://evilaws.amazon.com/",
        ] {
            assert!(text(forged).contains("：//"), "{forged}");
        }
    }

    #[test]
    fn mentions_become_full_width_but_addresses_stay() {
        assert_eq!(
            text("@13800000000 ops@example.com @all"),
            "＠13800000000 ops@example.com @all"
        );
        assert_eq!(
            text("arn:aws:sns:us-east-1:1:t"),
            "arn:aws:sns:us-east-1:1:t"
        );
    }

    #[test]
    fn line_starts_cannot_open_blocks() {
        assert_eq!(line_start("- item"), r"\- item");
        assert_eq!(line_start("  + item"), r"\+ item");
        assert_eq!(line_start("==="), r"\===");
        assert_eq!(line_start("12. item"), r"12\. item");
        assert_eq!(line_start("3) item"), r"3\) item");
        assert_eq!(line_start("> quote"), "&gt; quote");
        assert_eq!(line_start("# heading"), r"\# heading");
        assert_eq!(line_start("2026 was fine"), "2026 was fine");
    }

    #[test]
    fn summaries_keep_emphasis_but_no_links_or_images() {
        assert_eq!(
            summary_line("**重启** [控制台](https://evil.example/a) ![x](https://evil.example/i.png) <b>hi</b> [1] @13800000000"),
            r"**重启** 控制台 x &lt;b>hi&lt;/b> \[1\] ＠13800000000"
        );
        assert_eq!(
            summary_line("见 https://evil.example"),
            "见 https：//evil.example"
        );
    }

    #[test]
    fn link_targets_are_https_and_closed() {
        assert_eq!(
            link_target("https://console.aws.amazon.com/x?a=(b)").as_deref(),
            Some("https://console.aws.amazon.com/x?a=%28b%29")
        );
        assert_eq!(link_target("javascript:alert(1)"), None);
        assert_eq!(link_target("http://x"), None);
        assert_eq!(link_target("https://x y"), None);
    }
}
