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

pub use crate::config::options::check;

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

/// Refuses, before anything is built or uploaded, every value the embedded
/// template's own constraints refuse (one source of truth: moto accepts
/// them, real CloudFormation fails after the upload), naming the flag.
pub fn check_against_template(parameters: &[(&'static str, String)]) -> Result<()> {
    for (parameter, value) in parameters {
        if let Err(why) = crate::template::constraints::check(parameter, value) {
            let flag = crate::config::options::flag_of(parameter).unwrap_or(parameter.to_string());
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
    use crate::config::options::{validate_policy_arn, validate_time_zone};

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
}
