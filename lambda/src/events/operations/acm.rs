//! AWS Certificate Manager: a certificate approaching expiration (ACM
//! sends it daily from 45 days before, for certificates it cannot renew
//! by itself, such as imported ones).

use serde::Deserialize;

use super::super::{common_fields, EventEnvelope};
use super::card::{tail, Verdict};
use super::console;
use crate::markdown::Doc;
use crate::rendered::{FormatOptions, Rendered, Severity};

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Expiry {
    days_to_expiry: i64,
    #[serde(default)]
    common_name: String,
}

/// Days left onto the scale: 3 or fewer critical (an outage is days
/// away), 14 or fewer high, 30 or fewer medium, more low.
fn severity(days: i64) -> Severity {
    match days {
        d if d <= 3 => Severity::Critical,
        d if d <= 14 => Severity::High,
        d if d <= 30 => Severity::Medium,
        _ => Severity::Low,
    }
}

pub fn render(env: &EventEnvelope, opts: &FormatOptions) -> Option<Rendered> {
    let e: Expiry = env.detail_as()?;
    let days = e.days_to_expiry;
    let verdict = Verdict::new("acm_certificate_expiration", severity(days), "expiring");
    let icon = verdict.icon();
    let cert = env.resources.first().map(|a| tail(a, '/')).unwrap_or("");
    let mut doc = Doc::new(format!(
        "{icon} ACM 证书即将过期 Certificate expiring: {}",
        e.common_name
    ));
    doc.callout(&format!(
        "证书将在 {days} 天后过期 The certificate expires in {days} days: 续订或重新导入 renew or re-import it"
    ));
    doc.field("域名 Domain", &e.common_name);
    doc.field("剩余天数 Days left", &days.to_string());
    doc.field("证书 Certificate", cert);
    common_fields(&mut doc, env, opts);
    let link = console::acm_certificate(&env.region, cert);
    doc.link("在 ACM 控制台查看 Open in ACM", &link);
    let title = format!(
        "{icon} ACM 证书 {days} 天后过期 expires in {days} days: {}",
        e.common_name
    );
    Some(verdict.finish(Some(env), title, doc, Some(link)))
}
