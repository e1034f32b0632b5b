//! Amazon Inspector (v2) findings: which vulnerability (CVE or title), how
//! bad, in which package and the version that fixes it, on which resource.
//! Inspector sends an event again when a finding changes; one whose status
//! is CLOSED (the package was updated, the resource is gone) says so as
//! good news.

use chrono::{NaiveDateTime, TimeZone, Utc};
use serde::Deserialize;
use serde_json::Value;

use super::{finish, first, links, severity_label, text, Parts};
use crate::events::{common_fields, EventEnvelope};
use crate::markdown::{clip, time, Doc};
use crate::rendered::{FormatOptions, Rendered, Severity};

const DESCRIPTION_BYTES: usize = 600;
/// Packages listed before the rest is counted.
const MAX_PACKAGES: usize = 3;

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct Finding {
    title: String,
    description: String,
    severity: String,
    status: String,
    #[serde(rename = "type")]
    kind: String,
    inspector_score: Option<f64>,
    exploit_available: String,
    fix_available: String,
    package_vulnerability_details: Option<Packages>,
    resources: Vec<Value>,
    first_observed_at: String,
    last_observed_at: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct Packages {
    vulnerability_id: String,
    vulnerable_packages: Vec<Package>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct Package {
    name: String,
    version: String,
    fixed_in_version: String,
}

/// Inspector's severities; UNTRIAGED (no vendor severity yet) counts as
/// medium, so an unknown risk is not buried as a low one.
pub fn inspector_severity(severity: &str) -> Severity {
    match severity.to_ascii_uppercase().as_str() {
        "CRITICAL" => Severity::Critical,
        "HIGH" => Severity::High,
        "MEDIUM" | "UNTRIAGED" => Severity::Medium,
        "LOW" => Severity::Low,
        _ => Severity::Info,
    }
}

pub fn render(env: &EventEnvelope, opts: &FormatOptions) -> Option<Rendered> {
    let f: Finding = env.detail_as()?;
    let closed = matches!(f.status.as_str(), "CLOSED" | "SUPPRESSED");
    let own = inspector_severity(&f.severity);
    let severity = if closed { Severity::Info } else { own };
    let icon = if closed { "✅" } else { own.icon() };
    let vulnerability = f
        .package_vulnerability_details
        .as_ref()
        .map(|p| p.vulnerability_id.as_str())
        .unwrap_or("");
    let headline = first(&[&f.title, vulnerability, &f.kind]).to_string();
    let mut doc = Doc::new(format!("{icon} Inspector 漏洞 Finding: {headline}"));
    doc.field("状态 Status", &status(&f.status));
    let score = f
        .inspector_score
        .map(|s| format!(" (score {s})"))
        .unwrap_or_default();
    doc.field(
        "严重性 Severity",
        &format!("{}{score}", severity_label(own)),
    );
    doc.field("漏洞 Vulnerability", vulnerability);
    doc.field("类型 Type", &f.kind);
    if let Some(p) = &f.package_vulnerability_details {
        doc.field("软件包 Packages", &packages(&p.vulnerable_packages));
    }
    doc.field("可修复 Fix available", &f.fix_available);
    doc.field("已有利用 Exploit available", &f.exploit_available);
    doc.field("资源 Resource", &resource(&f.resources));
    common_fields(&mut doc, env, opts);
    doc.field(
        "首次发现 First observed",
        &shown(&f.first_observed_at, opts),
    );
    doc.field("最近发现 Last observed", &shown(&f.last_observed_at, opts));
    doc.paragraph(&clip(&f.description, DESCRIPTION_BYTES));
    let link = links::inspector_findings(&env.region);
    doc.link("在 Inspector 控制台查看 Open in Inspector", &link);
    let word = if closed {
        "RESOLVED".to_string()
    } else {
        f.severity.to_ascii_uppercase()
    };
    Some(finish(
        env,
        doc,
        Parts {
            kind: "inspector_finding",
            title: format!("{icon} Inspector {word}: {headline}"),
            state: Some(word.to_ascii_lowercase()).filter(|s| !s.is_empty()),
            severity,
            link: Some(link),
        },
    ))
}

fn status(status: &str) -> String {
    match status {
        "CLOSED" => "✅ 已解决 Resolved (CLOSED)".into(),
        "SUPPRESSED" => "🔕 已抑制 Suppressed".into(),
        other => other.to_string(),
    }
}

/// `snapd 2.63 → 0:2.63+22.04ubuntu0.1`, `; `-separated, at most
/// [`MAX_PACKAGES`] then a count.
fn packages(list: &[Package]) -> String {
    let mut shown: Vec<String> = list
        .iter()
        .take(MAX_PACKAGES)
        .map(|p| {
            let fixed = if p.fixed_in_version.is_empty() || p.fixed_in_version == "NotAvailable" {
                "暂无修复 no fix yet".to_string()
            } else {
                format!("修复于 fixed in {}", p.fixed_in_version)
            };
            format!("{} {} → {fixed}", p.name, p.version)
        })
        .collect();
    if list.len() > MAX_PACKAGES {
        shown.push(format!("+{} 个 more", list.len() - MAX_PACKAGES));
    }
    shown.join("; ")
}

/// `AWS_EC2_INSTANCE i-0abc`, or for an image `repository:tag`.
fn resource(resources: &[Value]) -> String {
    let Some(r) = resources.first() else {
        return String::new();
    };
    let kind = text(r, "/type");
    let repo = text(r, "/details/awsEcrContainerImage/repositoryName");
    let tag = text(r, "/details/awsEcrContainerImage/imageTags/0");
    let name = match (repo.is_empty(), tag.is_empty()) {
        (false, false) => format!("{repo}:{tag}"),
        (false, true) => repo.to_string(),
        _ => first(&[
            text(r, "/details/awsLambdaFunction/functionName"),
            text(r, "/id"),
        ])
        .to_string(),
    };
    format!("{kind} {name}").trim().to_string()
}

/// Inspector writes `Wed Sep 04 16:59:44.356 UTC 2024`; other shapes are
/// left to [`time::show`].
fn shown(raw: &str, opts: &FormatOptions) -> String {
    match NaiveDateTime::parse_from_str(raw.trim(), "%a %b %d %H:%M:%S%.f UTC %Y") {
        Ok(t) => time::show(&Utc.from_utc_datetime(&t).to_rfc3339(), opts.time_zone),
        Err(_) if raw.trim().is_empty() => String::new(),
        Err(_) => time::show(raw, opts.time_zone),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inspector_severities_map_onto_the_scale() {
        use Severity::*;
        let got: Vec<Severity> = [
            "CRITICAL",
            "HIGH",
            "MEDIUM",
            "UNTRIAGED",
            "LOW",
            "INFORMATIONAL",
        ]
        .into_iter()
        .map(inspector_severity)
        .collect();
        assert_eq!(got, [Critical, High, Medium, Medium, Low, Info]);
    }

    #[test]
    fn inspector_times_are_shown_in_the_zone() {
        let opts = FormatOptions::default();
        assert_eq!(
            shown("Wed Sep 04 16:59:44.356 UTC 2024", &opts),
            "2024-09-05 00:59:44 (Asia/Shanghai)"
        );
        assert_eq!(shown("", &opts), "");
    }

    #[test]
    fn many_packages_are_counted_not_listed() {
        let p = |n: &str| Package {
            name: n.into(),
            version: "1".into(),
            fixed_in_version: "2".into(),
        };
        assert_eq!(
            packages(&[p("a"), p("b"), p("c"), p("d")]),
            "a 1 → 修复于 fixed in 2; b 1 → 修复于 fixed in 2; c 1 → 修复于 fixed in 2; +1 个 more"
        );
    }
}
