//! Golden files: every AWS sample event renders to exactly the message in
//! `tests/golden/<name>.md` (title, kind, severity, state, then the text).
//! After an intended change, re-bless them with
//! `BLESS=1 cargo test -p dingtalk-notifier-lambda --test golden`
//! and review the diff like any other change.
//!
//! Every fixture is a real AWS sample; its source is the comment beside its
//! line in the table below. Every message must also stay readable on a
//! phone: at most [`MAX_LINES`] lines and two list levels.

use dingtalk_notifier_lambda::format::{render, FormatOptions};
use pretty_assertions::assert_eq;

/// Longest message, in lines, that any fixture may render to.
const MAX_LINES: usize = 40;

fn read(path: &str) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// What a golden file holds for one rendered payload.
fn shown(payload: &str, subject: Option<&str>) -> (String, String) {
    let r = render(payload, subject, &FormatOptions::default());
    let head = format!(
        "title: {}\nkind: {}\nseverity: {}\nstate: {}\n---\n",
        r.message.title,
        r.kind.as_str(),
        r.severity,
        r.state.as_deref().unwrap_or("-"),
    );
    (head + &r.message.text, r.message.text)
}

/// Renders `tests/fixtures/<name>.json` (with an SNS subject, if given) and
/// compares it with `tests/golden/<name>.md`.
pub fn golden(name: &str, subject: Option<&str>) {
    let dir = env!("CARGO_MANIFEST_DIR");
    let payload = read(&format!("{dir}/tests/fixtures/{name}.json"));
    let (got, text) = shown(&payload, subject);
    let path = format!("{dir}/tests/golden/{name}.md");
    if std::env::var_os("BLESS").is_some() {
        std::fs::write(&path, &got).unwrap_or_else(|e| panic!("{path}: {e}"));
    }
    assert_eq!(
        got,
        read(&path),
        "{name}: re-bless with BLESS=1 if intended"
    );
    let lines = text.lines().count();
    assert!(lines <= MAX_LINES, "{name}: {lines} lines > {MAX_LINES}");
    let deepest = text
        .lines()
        .filter(|l| l.trim_start().starts_with("- "))
        // Nested items are indented 4 spaces (see markdown/fields.rs).
        .map(|l| (l.len() - l.trim_start().len()) / 4 + 1)
        .max()
        .unwrap_or(0);
    assert!(deepest <= 2, "{name}: {deepest} list levels > 2");
}

/// One `#[test]` per fixture, so a failure names it.
macro_rules! goldens {
    ($($name:ident $(subject = $subject:literal)?;)*) => {
        $(
            #[test]
            fn $name() {
                golden(stringify!($name), None $(.or(Some($subject)))?);
            }
        )*
    };
}

goldens! {
    // https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/cloudwatch-and-eventbridge.html
    alarm_metric_alarm;
    // https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/cloudwatch-and-eventbridge.html
    alarm_composite;
    // The Message of aws/aws-lambda-go events/testdata/cloudwatch-alarm-sns-payload-single-metric.json
    alarm_sns_single_metric;
    // The Message of aws/aws-lambda-go events/testdata/cloudwatch-alarm-sns-payload-multiple-metrics.json
    alarm_sns_metric_math;
    // aws/aws-health-tools automated-actions/AWS_RISK_CREDENTIALS_EXPOSED/README.md ("Testing the Example")
    health_risk_credentials_exposed;
}
