//! Checks on deploy answers: pure, and each error names the field and says
//! what to use instead.

use anyhow::{bail, Result};

pub fn validate_stack_name(s: &str) -> Result<(), String> {
    let ok = s.len() <= 128
        && s.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
        && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
    if ok {
        Ok(())
    } else {
        Err(
            "a stack name starts with a letter and has only letters, digits and '-' (at most 128)"
                .into(),
        )
    }
}

/// What the CLI accepts is exactly what the template's `LlmModelId`
/// accepts (`lambda::model_id`, compared by a template test).
pub use dingtalk_notifier_lambda::model_id::validate_model_id;

/// Empty, or the ARN of an IAM managed policy (`arn:<partition>:iam::<account>:policy/...`).
pub fn validate_policy_arn(s: &str) -> Result<(), String> {
    let parts: Vec<&str> = s.splitn(6, ':').collect();
    let ok = s.is_empty()
        || (parts.len() == 6
            && parts[0] == "arn"
            && parts[1].starts_with("aws")
            && parts[2] == "iam"
            && parts[3].is_empty()
            && parts[4].len() == 12
            && parts[4].chars().all(|c| c.is_ascii_digit())
            && parts[5].len() > "policy/".len()
            && parts[5].starts_with("policy/"));
    if ok {
        Ok(())
    } else {
        Err(format!(
            "`{s}` is not an IAM policy ARN; use the PermissionsBoundaryArn output of \
             docs/iam-deploy-policy.json (arn:aws:iam::123456789012:policy/dingtalk-notifier/dingtalk-notifier-function-boundary)"
        ))
    }
}

/// Empty (no one), or an e-mail address as the template's `OpsEmail`
/// pattern accepts it: `^([^@\s]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,})?$`, at
/// most 254 characters (a test compares the two).
pub fn validate_ops_email(s: &str) -> Result<(), String> {
    if s.is_empty() {
        return Ok(());
    }
    // Java's (CloudFormation's) `\s`: ASCII whitespace, vertical tab included.
    let space = |c: char| matches!(c, ' ' | '\t' | '\n' | '\x0B' | '\x0C' | '\r');
    let ok = s.chars().count() <= 254
        && s.split_once('@').is_some_and(|(local, domain)| {
            let tld = domain.rsplit_once('.').map(|(_, tld)| tld);
            !local.is_empty()
                && !local.chars().any(space)
                && domain
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-'))
                && domain
                    .rsplit_once('.')
                    .is_some_and(|(host, _)| !host.is_empty())
                && tld.is_some_and(|t| t.len() >= 2 && t.chars().all(|c| c.is_ascii_alphabetic()))
        });
    if ok {
        Ok(())
    } else {
        Err(format!(
            "`{s}` is not an e-mail address; use one such as ops@example.com, or '' for none"
        ))
    }
}

/// The original app's EC2 states: the transitional ones double the messages
/// for little value.
pub const DEFAULT_EC2_STATES: &str = "running,stopped,terminated";

/// The event source mapping runs two concurrent invocations
/// (`MaximumConcurrency: 2`); a smaller reservation throttles them and
/// sends alerts to the dead-letter queue.
pub fn validate_reserved_concurrency(n: i32) -> Result<(), String> {
    if n == -1 || n >= 2 {
        return Ok(());
    }
    Err(format!(
        "{n} would throttle the alert buffer's 2 concurrent pollers and send alerts to the \
         dead-letter queue; use -1 (unreserved) or at least 2. Note that any reservation fails \
         on new accounts whose Lambda concurrency quota is 10 (Lambda keeps 10 unreserved): \
         ask for a higher quota first or stay unreserved"
    ))
}

pub fn validate_time_zone(s: &str) -> Result<(), String> {
    s.parse::<chrono_tz::Tz>()
        .map(|_| ())
        .map_err(|_| format!("`{s}` is not an IANA time zone name (e.g. Asia/Shanghai, UTC)"))
}

pub fn validate_architecture(s: &str) -> Result<(), String> {
    match s {
        "arm64" | "x86_64" => Ok(()),
        _ => Err(format!("`{s}` is not an architecture: use arm64 or x86_64")),
    }
}

pub fn normalize_states(raw: &str, allowed: &[&str], what: &str, upper: bool) -> Result<String> {
    let mut out = Vec::new();
    for part in raw.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let v = if upper {
            part.to_ascii_uppercase()
        } else {
            part.to_ascii_lowercase()
        };
        if !allowed.contains(&v.as_str()) {
            bail!(
                "invalid {what} `{part}`: use {} (comma separated; empty = all)",
                allowed.join(", ")
            );
        }
        if !out.contains(&v) {
            out.push(v);
        }
    }
    Ok(out.join(","))
}

pub const EC2_STATES: &[&str] = &[
    "pending",
    "running",
    "stopping",
    "stopped",
    "shutting-down",
    "terminated",
];
pub const ALARM_STATES: &[&str] = &["ALARM", "OK", "INSUFFICIENT_DATA"];
pub const LOG_RETENTION_DAYS: &[u32] = &[
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922,
    3288, 3653,
];

pub fn check(field: &str, r: Result<(), String>) -> Result<()> {
    r.map_err(|e| anyhow::anyhow!("invalid {field}: {e}"))
}

/// `--regions` and `--llm-region` get the same check as `--region`, before
/// any call: a typo there would otherwise surface as a network error from a
/// forwarder region or Bedrock endpoint that does not exist.
pub fn check_region_flags(
    regions: Option<&str>,
    llm_region: Option<&str>,
    allow_unknown: bool,
) -> Result<()> {
    let check_one = |r: &str| match allow_unknown {
        true => crate::regions::name::validate(r),
        false => crate::regions::name::check_known(r),
    };
    let listed = regions
        .filter(|s| !matches!(s.trim(), "" | "all" | "none"))
        .into_iter()
        .flat_map(|s| s.split(','))
        .map(str::trim)
        .filter(|r| !r.is_empty());
    for r in listed {
        check("--regions", check_one(r))?;
    }
    match llm_region.map(str::trim) {
        Some(r) if !r.is_empty() => check("--llm-region", check_one(r)),
        _ => Ok(()),
    }
}

/// The flag that sets each template parameter the CLI passes, to name it in
/// an error. `ArtifactBucket`, `ArtifactKey`, `WebhookSecretArn`,
/// `AlertQueueVisibilityTimeout` and `MaxReceiveCount` are made by the CLI
/// itself.
pub const PARAMETER_FLAGS: &[(&str, &str)] = &[
    ("Architecture", "--arch"),
    ("MemorySize", "--memory"),
    ("Timeout", "--timeout"),
    ("ReservedConcurrency", "--reserved-concurrency"),
    ("PermissionsBoundaryArn", "--permissions-boundary"),
    ("LogRetentionInDays", "--log-retention"),
    ("EnableHealthRule", "--rules"),
    ("EnableHealthAbuseRule", "--rules"),
    ("EnableEc2StateChangeRule", "--rules"),
    ("Ec2States", "--ec2-states"),
    ("EnableAlarmRule", "--rules"),
    ("AlarmStates", "--alarm-states"),
    ("EnableSecurityHubRule", "--rules"),
    ("EnableGuardDutyRule", "--rules"),
    ("EnableInspectorRule", "--rules"),
    ("EnableAccessAnalyzerRule", "--rules"),
    ("EnableRootActivityRule", "--rules"),
    ("EnableConfigComplianceRule", "--rules"),
    ("EnableEcrScanRule", "--rules"),
    ("EnableTrustedAdvisorRule", "--rules"),
    ("EnableBackupFailureRule", "--rules"),
    ("EnablePipelineFailureRule", "--rules"),
    ("EnableEcsTaskFailureRule", "--rules"),
    ("EnableAcmExpiryRule", "--rules"),
    ("DisplayTimeZone", "--time-zone"),
    ("LlmEnabled", "--llm"),
    ("LlmModelId", "--llm-model-id"),
    ("LlmRegion", "--llm-region"),
    ("LlmSystemPrompt", "--llm-system-prompt-file"),
    ("LlmMaxTokens", "--llm-max-tokens"),
    ("LlmTemperature", "--llm-temperature"),
    ("ExportPrefix", "--export-prefix"),
    ("DebugLogs", "--debug-logs"),
    ("OpsEmail", "--ops-email"),
    ("KmsKeyArn", "--kms-key"),
];

/// Refuses, before anything is built or uploaded, every value the embedded
/// template's own constraints refuse (one source of truth: moto accepts
/// them, real CloudFormation fails after the upload), naming the flag.
pub fn check_against_template(parameters: &[(&'static str, String)]) -> Result<()> {
    for (parameter, value) in parameters {
        let flag = PARAMETER_FLAGS
            .iter()
            .find(|(p, _)| p == parameter)
            .map_or(*parameter, |(_, f)| *f);
        if let Err(why) = crate::aws::constraints::check(parameter, value) {
            if value.chars().count() <= 40 && !value.contains('\n') {
                bail!("invalid {flag} {value}: {why}");
            }
            bail!("invalid {flag}: {why}");
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn region_flags_are_checked_like_region() {
        let err = super::check_region_flags(Some("us-east-1, ap-southest-1"), None, false)
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            "invalid --regions: `ap-southest-1` is not an AWS region this release knows: did you \
             mean ap-southeast-1? (a region newer than this release: pass --allow-unknown-region)"
        );
        let err = super::check_region_flags(None, Some("eu-wst-1"), false)
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("invalid --llm-region: `eu-wst-1` is not an AWS region"));
        assert!(super::check_region_flags(Some("all"), Some(""), false).is_ok());
        assert!(super::check_region_flags(Some("xx-newplace-1"), None, true).is_ok());
    }

    use super::*;
    use crate::aws::connect::validate_region;

    #[test]
    fn kms_key_is_checked_against_the_templates_pattern() {
        let key = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab";
        check_against_template(&[("KmsKeyArn", key.to_string())]).unwrap();
        check_against_template(&[("KmsKeyArn", String::new())]).unwrap();
        let err = check_against_template(&[("KmsKeyArn", "alias/aws/sns".to_string())])
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("invalid --kms-key alias/aws/sns: "),
            "{err}"
        );
    }

    #[test]
    fn validations() {
        assert!(validate_model_id("amazon.nova-lite-v1:0").is_ok());
        assert!(validate_model_id("apac.amazon.nova-lite-v1:0").is_ok());
        assert!(validate_model_id(
            "arn:aws:bedrock:us-east-1::foundation-model/amazon.nova-lite-v1:0"
        )
        .is_err());
        assert!(validate_model_id("nova lite").is_err());
        assert!(validate_model_id("nova").is_err());
        assert!(validate_policy_arn("").is_ok());
        assert!(validate_policy_arn(
            "arn:aws-cn:iam::123456789012:policy/dingtalk-notifier/dingtalk-notifier-function-boundary"
        )
        .is_ok());
        assert!(validate_policy_arn("arn:aws:iam::123456789012:role/x").is_err());
        assert!(validate_policy_arn("dingtalk-notifier-function-boundary").is_err());
        assert!(validate_time_zone("Asia/Shanghai").is_ok());
        assert_eq!(
            validate_time_zone("Asia/Beijing").unwrap_err(),
            "`Asia/Beijing` is not an IANA time zone name (e.g. Asia/Shanghai, UTC)"
        );
        assert!(validate_region("ap-southeast-1").is_ok());
        assert!(validate_region("us-gov-west-1").is_ok());
        assert!(validate_region("Singapore").is_err());
        assert!(validate_stack_name("dingtalk-notifier").is_ok());
        assert!(validate_stack_name("1abc").is_err());
        assert!(validate_stack_name("a_b").is_err());
    }

    /// The CLI refuses exactly what the template's `OpsEmail` refuses, so a
    /// bad address stops the deploy before anything is uploaded.
    #[test]
    fn ops_email_check_is_the_templates_pattern() {
        let t: serde_json::Value = yaml_serde::from_str(crate::aws::stack::TEMPLATE).unwrap();
        let p = &t["Parameters"]["OpsEmail"];
        let re = regex_lite::Regex::new(p["AllowedPattern"].as_str().unwrap()).unwrap();
        let max = p["MaxLength"].as_u64().unwrap() as usize;
        assert_eq!(p["Default"], "");
        let long = format!("{}@example.com", "a".repeat(242));
        let too_long = format!("{}@example.com", "a".repeat(243));
        for s in [
            "",
            "ops@example.com",
            "first.last+alerts@mail.example.co.uk",
            "运维@example.cn",
            "o@x-y.io",
            long.as_str(),
            too_long.as_str(),
            "ops",
            "ops@",
            "@example.com",
            "ops@example",
            "ops@example.c",
            "ops@.com",
            "ops@exa mple.com",
            "o ps@example.com",
            "o\x0Bps@example.com",
            "ops@@example.com",
            "a@b@example.com",
            "ops@example.com,dev@example.com",
            "ops@example.c0m",
            "ops@example_x.com",
            "ops@example.com.",
        ] {
            let template_accepts = re.is_match(s) && s.chars().count() <= max;
            assert_eq!(
                validate_ops_email(s).is_ok(),
                template_accepts,
                "CLI and template disagree on `{s}`"
            );
        }
        assert_eq!(
            check("--ops-email", validate_ops_email("ops@example")).unwrap_err().to_string(),
            "invalid --ops-email: `ops@example` is not an e-mail address; use one such as ops@example.com, or '' for none"
        );
    }

    #[test]
    fn states_are_normalised() {
        assert_eq!(
            normalize_states("alarm, ok,ALARM", ALARM_STATES, "alarm state", true).unwrap(),
            "ALARM,OK"
        );
        assert_eq!(
            normalize_states("running,flying", EC2_STATES, "EC2 state", false).unwrap_err().to_string(),
            "invalid EC2 state `flying`: use pending, running, stopping, stopped, shutting-down, terminated (comma separated; empty = all)"
        );
    }

    #[test]
    fn reservations_below_the_pollers_are_refused_in_words() {
        assert_eq!(validate_reserved_concurrency(-1), Ok(()));
        assert_eq!(validate_reserved_concurrency(2), Ok(()));
        assert_eq!(validate_reserved_concurrency(50), Ok(()));
        for n in [-5, 0, 1] {
            assert_eq!(
                check("--reserved-concurrency", validate_reserved_concurrency(n))
                    .unwrap_err()
                    .to_string(),
                format!(
                    "invalid --reserved-concurrency: {n} would throttle the alert buffer's 2 \
                     concurrent pollers and send alerts to the dead-letter queue; use -1 \
                     (unreserved) or at least 2. Note that any reservation fails on new accounts \
                     whose Lambda concurrency quota is 10 (Lambda keeps 10 unreserved): ask for a \
                     higher quota first or stay unreserved"
                )
            );
        }
    }
}
