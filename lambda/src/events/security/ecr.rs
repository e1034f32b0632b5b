//! ECR basic image scans: how many findings of each severity, worst first,
//! for which repository and image. A scan that found nothing says so; one
//! that failed says that instead.

use serde::Deserialize;

use super::{finish, links, severity_label, Parts};
use crate::events::{common_fields, EventEnvelope};
use crate::markdown::Doc;
use crate::rendered::{FormatOptions, Rendered, Severity};

/// ECR's severities, worst first, with the scale's value for each.
const LEVELS: [(&str, Severity); 6] = [
    ("CRITICAL", Severity::Critical),
    ("HIGH", Severity::High),
    ("MEDIUM", Severity::Medium),
    ("LOW", Severity::Low),
    ("INFORMATIONAL", Severity::Info),
    ("UNDEFINED", Severity::Info),
];

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "kebab-case", default)]
struct Scan {
    scan_status: String,
    repository_name: String,
    finding_severity_counts: std::collections::BTreeMap<String, u64>,
    image_digest: String,
    image_tags: Vec<String>,
}

impl Scan {
    /// `(level, count)` for every level with findings, worst first.
    fn counts(&self) -> Vec<(&'static str, Severity, u64)> {
        LEVELS
            .iter()
            .filter_map(|(name, sev)| {
                let n = *self.finding_severity_counts.get(*name)?;
                (n > 0).then_some((*name, *sev, n))
            })
            .collect()
    }

    /// The worst level found; a failed scan is medium (nobody knows what
    /// the image holds).
    fn severity(&self) -> Severity {
        if self.scan_status == "FAILED" {
            return Severity::Medium;
        }
        self.counts()
            .first()
            .map(|(_, sev, _)| *sev)
            .unwrap_or(Severity::Info)
    }
}

pub fn render(env: &EventEnvelope, opts: &FormatOptions) -> Option<Rendered> {
    let scan: Scan = env.detail_as()?;
    let severity = scan.severity();
    let counts = scan.counts();
    let icon = match (scan.scan_status.as_str(), counts.is_empty()) {
        ("FAILED", _) => "⚠️",
        (_, true) => "✅",
        _ => severity.icon(),
    };
    let summary = if counts.is_empty() {
        "无发现 no findings".to_string()
    } else {
        counts
            .iter()
            .map(|(name, sev, n)| format!("{} {name} {n}", sev.icon()))
            .collect::<Vec<_>>()
            .join(" · ")
    };
    let repo = scan.repository_name.as_str();
    let mut doc = Doc::new(format!("{icon} ECR 镜像扫描 Image scan: {repo}"));
    doc.field("结果 Findings", &summary);
    doc.field("严重性 Severity", &severity_label(severity));
    doc.field("扫描状态 Scan status", &scan.scan_status);
    doc.field("仓库 Repository", repo);
    let tags = if scan.image_tags.is_empty() {
        "无标签 untagged".to_string()
    } else {
        scan.image_tags.join(", ")
    };
    doc.field("标签 Tags", &tags);
    doc.field("镜像 Digest", &scan.image_digest);
    common_fields(&mut doc, env, opts);
    let link = links::ecr_scan(&env.region, &env.account, repo, &scan.image_digest);
    doc.link("在 ECR 控制台查看 Open in ECR", &link);
    let found = if scan.scan_status == "FAILED" {
        "scan FAILED".to_string()
    } else if counts.is_empty() {
        "no findings".to_string()
    } else {
        counts
            .iter()
            .map(|(name, _, n)| format!("{n} {}", name.to_ascii_lowercase()))
            .collect::<Vec<_>>()
            .join(", ")
    };
    Some(finish(
        env,
        doc,
        Parts {
            kind: "ecr_image_scan",
            title: format!("{icon} ECR scan {repo}: {found}"),
            state: Some(severity.as_str().to_string()),
            severity,
            link: Some(link),
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scan(status: &str, counts: &[(&str, u64)]) -> Scan {
        Scan {
            scan_status: status.into(),
            finding_severity_counts: counts.iter().map(|(k, v)| (k.to_string(), *v)).collect(),
            ..Scan::default()
        }
    }

    #[test]
    fn counts_are_worst_first_and_the_worst_sets_the_severity() {
        let s = scan(
            "COMPLETE",
            &[("LOW", 3), ("MEDIUM", 9), ("HIGH", 0), ("CRITICAL", 1)],
        );
        let names: Vec<_> = s
            .counts()
            .iter()
            .map(|(n, _, c)| format!("{n}={c}"))
            .collect();
        assert_eq!(names, ["CRITICAL=1", "MEDIUM=9", "LOW=3"]);
        assert_eq!(s.severity(), Severity::Critical);
        assert_eq!(scan("COMPLETE", &[]).severity(), Severity::Info);
        assert_eq!(scan("FAILED", &[]).severity(), Severity::Medium);
    }
}
