//! AWS Budgets' SNS notification: plain text (`AWS Budget Notification
//! <date>`, `Budget Name: ...`, `Alert Type: ACTUAL`, ...) under a subject
//! such as `AWS Budgets: <name> has exceeded your alert threshold`. The
//! subject is the title; the `Key: Value` lines become fields.

use super::card::Verdict;
use super::console;
use crate::markdown::Doc;
use crate::rendered::{Rendered, Severity};

const SUBJECT_PREFIX: &str = "AWS Budgets:";
const FIRST_LINE: &str = "AWS Budget Notification";

/// `None` unless the subject or the first line is AWS Budgets'.
pub fn render(text: &str, subject: &str) -> Option<Rendered> {
    let text = text.trim();
    if !subject.starts_with(SUBJECT_PREFIX) && !text.starts_with(FIRST_LINE) {
        return None;
    }
    let lines: Vec<&str> = text.lines().map(str::trim).collect();
    let value = |key: &str| {
        lines
            .iter()
            .find_map(|l| l.strip_prefix(key).and_then(|v| v.strip_prefix(':')))
            .map(str::trim)
            .unwrap_or("")
    };
    let alert_type = value("Alert Type");
    let verdict = Verdict::new("budgets_alert", severity(alert_type), alert_type);
    let name = value("Budget Name");
    let headline = if subject.is_empty() {
        format!("AWS Budgets: {name}")
    } else {
        subject.to_string()
    };
    let icon = verdict.icon();
    let mut doc = Doc::new(format!("{icon} {headline}"));
    let amount_key = format!("{alert_type} Amount");
    let amount = value(&amount_key);
    doc.field("当前金额 Amount", amount);
    doc.field("告警阈值 Alert threshold", value("Alert Threshold"));
    doc.field("预算金额 Budgeted amount", value("Budgeted Amount"));
    doc.field("告警类型 Alert type", alert_type);
    doc.field("预算 Budget", name);
    doc.field("预算类型 Budget type", value("Budget Type"));
    let account = lines
        .iter()
        .find_map(|l| l.strip_prefix("AWS Account "))
        .unwrap_or("");
    doc.field("账号 Account", account);
    // The sentence that says what was crossed, in AWS's words.
    if let Some(sentence) = lines.iter().find(|l| l.starts_with("You requested")) {
        doc.paragraph(sentence);
    }
    let partition = if text.contains(".amazonaws.cn") {
        "cn-north-1"
    } else {
        "us-east-1"
    };
    let link = console::budgets(partition);
    doc.link("在 AWS Budgets 中查看 Open in AWS Budgets", &link);
    let title = match amount {
        "" => format!("{icon} {headline}"),
        a => format!("{icon} {headline} ({a})"),
    };
    Some(verdict.finish(None, title, doc, Some(link)))
}

/// Spend already over the threshold is medium (money is gone, nothing is
/// down); a forecast that will cross it is low.
fn severity(alert_type: &str) -> Severity {
    match alert_type {
        "ACTUAL" => Severity::Medium,
        _ => Severity::Low,
    }
}
