//! Bedrock model ids, inference-profile ids and the regions that serve them:
//! one place for what the CLI accepts, what the template's IAM scoping
//! recognises (a test compares the two), and which profile a region uses.
//!
//! Many base model ids are refused on demand ("... with on-demand throughput
//! isn't supported ..."): the caller must name a cross-region inference
//! profile, `<geo>.<provider>.<model>`, whose geography serves its region.

/// Every cross-region inference-profile prefix Bedrock has
/// (`us.amazon.nova-lite-v1:0`, `global.anthropic...`).
pub const PROFILE_PREFIXES: &[&str] = &["us", "eu", "apac", "jp", "au", "global", "us-gov"];

/// The model the function uses unless told otherwise (as the original app).
pub const DEFAULT_MODEL_ID: &str = "amazon.nova-lite-v1:0";

/// The original app's LLM region, and ours when the stack's region has no
/// Bedrock.
pub const FALLBACK_REGION: &str = "us-east-1";

/// Regions with Bedrock Runtime (late 2025). Not exhaustive: AWS adds
/// regions, so a region missing here is checked live by `deploy`.
pub const BEDROCK_REGIONS: &[&str] = &[
    "us-east-1",
    "us-east-2",
    "us-west-1",
    "us-west-2",
    "us-gov-east-1",
    "us-gov-west-1",
    "ca-central-1",
    "ca-west-1",
    "sa-east-1",
    "mx-central-1",
    "eu-central-1",
    "eu-central-2",
    "eu-west-1",
    "eu-west-2",
    "eu-west-3",
    "eu-north-1",
    "eu-south-1",
    "eu-south-2",
    "ap-northeast-1",
    "ap-northeast-2",
    "ap-northeast-3",
    "ap-south-1",
    "ap-south-2",
    "ap-southeast-1",
    "ap-southeast-2",
    "ap-southeast-3",
    "ap-southeast-4",
    "ap-southeast-5",
    "ap-southeast-7",
    "ap-east-2",
    "me-central-1",
    "me-south-1",
    "il-central-1",
    "af-south-1",
];

/// What the CLI accepts, and exactly what the template's `LlmModelId`
/// `AllowedPattern` accepts:
/// `^[a-z0-9-]+(\.[a-z0-9-]+)+(:[0-9]+)?(:[0-9a-z]+)?$`. No ARNs: the
/// template's IAM policy is written for ids.
pub fn validate_model_id(s: &str) -> Result<(), String> {
    let segment = |p: &str| {
        !p.is_empty()
            && p.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
    };
    let alnum = |p: &str, digits_only: bool| {
        !p.is_empty()
            && p.chars()
                .all(|c| c.is_ascii_digit() || (!digits_only && c.is_ascii_lowercase()))
    };
    let mut parts = s.split(':');
    let base = parts.next().unwrap_or_default();
    let versions: Vec<&str> = parts.collect();
    let base_ok = base.contains('.') && base.split('.').all(segment);
    let versions_ok = match versions.as_slice() {
        [] => true,
        [v] => alnum(v, false),
        [v, w] => alnum(v, true) && alnum(w, false),
        _ => false,
    };
    if base_ok && versions_ok && s.len() <= 2048 {
        Ok(())
    } else {
        Err(format!(
            "`{s}` is not a Bedrock model id: use an id such as amazon.nova-lite-v1:0, or an \
             inference profile such as apac.amazon.nova-lite-v1:0 (lower case, no ARN)"
        ))
    }
}

/// The profile prefix of an inference-profile id, `None` for a base model id.
pub fn profile_prefix(model_id: &str) -> Option<&'static str> {
    let first = model_id.split('.').next()?;
    PROFILE_PREFIXES.iter().copied().find(|p| *p == first)
}

/// The base model behind an id (`apac.amazon.nova-lite-v1:0` →
/// `amazon.nova-lite-v1:0`).
pub fn base_model(model_id: &str) -> &str {
    match profile_prefix(model_id) {
        Some(p) => &model_id[p.len() + 1..],
        None => model_id,
    }
}

/// The profile prefixes to try for callers in `region`, best first: the
/// narrowest geography that keeps the data nearest (Japan, Australia), then
/// the wider one, then `global`.
pub fn profile_prefixes_for(region: &str) -> &'static [&'static str] {
    match region {
        r if r.starts_with("us-gov-") => &["us-gov"],
        r if r.starts_with("us-") || r.starts_with("ca-") => &["us", "global"],
        r if r.starts_with("eu-") => &["eu", "global"],
        "ap-northeast-1" | "ap-northeast-3" => &["jp", "apac", "global"],
        "ap-southeast-2" | "ap-southeast-4" => &["au", "apac", "global"],
        r if r.starts_with("ap-") || r == "me-central-1" => &["apac", "global"],
        _ => &["global"],
    }
}

/// The AWS partition of a region, as its ARNs spell it.
pub fn partition(region: &str) -> &'static str {
    if region.starts_with("cn-") {
        "aws-cn"
    } else if region.starts_with("us-gov-") {
        "aws-us-gov"
    } else if region.starts_with("us-iso-") {
        "aws-iso"
    } else if region.starts_with("us-isob-") {
        "aws-iso-b"
    } else {
        "aws"
    }
}

/// Whether any region of `partition` has Bedrock (the China regions have
/// none, so no LLM region can serve a stack there).
pub fn partition_has_bedrock(partition: &str) -> bool {
    matches!(partition, "aws" | "aws-us-gov")
}

pub fn is_known_bedrock_region(region: &str) -> bool {
    BEDROCK_REGIONS.contains(&region)
}

/// The LLM region when none was chosen: the stack's own where it has
/// Bedrock, else the partition's fallback (the original app's us-east-1).
/// `None` when the partition has no Bedrock at all.
pub fn default_llm_region(stack_region: &str) -> Option<&str> {
    match partition(stack_region) {
        _ if is_known_bedrock_region(stack_region) => Some(stack_region),
        "aws" => Some(FALLBACK_REGION),
        "aws-us-gov" => Some("us-gov-west-1"),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_accepted_as_the_template_accepts_them() {
        for ok in [
            "amazon.nova-lite-v1:0",
            "apac.amazon.nova-lite-v1:0",
            "us-gov.anthropic.claude-3-haiku-20240307-v1:0",
            "global.anthropic.claude-sonnet-4-5-20250929-v1:0",
            "amazon.titan-text-express-v1",
            "anthropic.claude-3-haiku-20240307-v1:0:200k",
            "mistral.mistral-7b-instruct-v0:2",
        ] {
            assert_eq!(validate_model_id(ok), Ok(()), "{ok}");
        }
        for bad in [
            "nova lite",
            "amazon",
            "Amazon.Nova",
            "amazon..nova",
            ".amazon.nova",
            "amazon.nova-lite-v1:",
            "amazon.nova-lite-v1:x:0",
            "amazon.nova-lite-v1:0:1:2",
            "arn:aws:bedrock:us-east-1::foundation-model/amazon.nova-lite-v1:0",
            "amazon.nova_lite",
        ] {
            assert!(validate_model_id(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn profiles_by_prefix_and_region() {
        assert_eq!(profile_prefix("us-gov.a.b"), Some("us-gov"));
        assert_eq!(profile_prefix("amazon.nova-lite-v1:0"), None);
        assert_eq!(
            base_model("jp.amazon.nova-lite-v1:0"),
            "amazon.nova-lite-v1:0"
        );
        assert_eq!(base_model("amazon.nova-lite-v1:0"), "amazon.nova-lite-v1:0");
        assert_eq!(
            profile_prefixes_for("ap-northeast-1"),
            ["jp", "apac", "global"]
        );
        assert_eq!(profile_prefixes_for("ap-southeast-1"), ["apac", "global"]);
        assert_eq!(profile_prefixes_for("eu-west-1"), ["eu", "global"]);
        assert_eq!(profile_prefixes_for("us-gov-west-1"), ["us-gov"]);
        assert_eq!(profile_prefixes_for("sa-east-1"), ["global"]);
    }

    #[test]
    fn llm_region_defaults_to_the_stacks_only_where_it_has_bedrock() {
        assert_eq!(default_llm_region("ap-southeast-1"), Some("ap-southeast-1"));
        assert_eq!(default_llm_region("ap-east-1"), Some("us-east-1"));
        assert_eq!(default_llm_region("us-gov-west-1"), Some("us-gov-west-1"));
        assert_eq!(default_llm_region("cn-north-1"), None);
        assert_eq!(partition("cn-northwest-1"), "aws-cn");
        assert!(!partition_has_bedrock("aws-cn"));
        assert!(partition_has_bedrock("aws-us-gov"));
    }
}
