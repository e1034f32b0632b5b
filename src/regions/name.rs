//! What an AWS region name looks like, checked before the SDK sees it: the SDK
//! accepts any string and fails later with a debug dump of its endpoint
//! resolver.

/// `ap-southeast-1`, `us-gov-west-1`, `cn-north-1`, `eusc-de-east-1`: lower-case
/// words joined by `-`, at least three parts, the last one a number.
pub fn validate(s: &str) -> Result<(), String> {
    let parts: Vec<&str> = s.split('-').collect();
    let words_ok = parts.len() >= 3
        && parts[..parts.len() - 1]
            .iter()
            .all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_lowercase()));
    let number_ok = parts
        .last()
        .is_some_and(|p| (1..=2).contains(&p.len()) && p.chars().all(|c| c.is_ascii_digit()));
    if words_ok && number_ok && s.len() <= 32 {
        Ok(())
    } else {
        Err(format!(
            "`{}` is not an AWS region name: a region looks like ap-southeast-1 or us-gov-west-1 \
             (`aws ec2 describe-regions` lists them)",
            shown(s)
        ))
    }
}

/// Every region in the partition data of the SDK this CLI is built with
/// (`partitions.json`, which each aws-sdk crate embeds but does not export;
/// a test compares this list with it), without the `*-global` pseudo-regions.
pub const KNOWN: &[&str] = &[
    "af-south-1",
    "ap-east-1",
    "ap-east-2",
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
    "ap-southeast-6",
    "ap-southeast-7",
    "ca-central-1",
    "ca-west-1",
    "cn-north-1",
    "cn-northwest-1",
    "eu-central-1",
    "eu-central-2",
    "eu-isoe-west-1",
    "eu-north-1",
    "eu-south-1",
    "eu-south-2",
    "eu-west-1",
    "eu-west-2",
    "eu-west-3",
    "eusc-de-east-1",
    "il-central-1",
    "me-central-1",
    "me-south-1",
    "mx-central-1",
    "sa-east-1",
    "us-east-1",
    "us-east-2",
    "us-gov-east-1",
    "us-gov-west-1",
    "us-iso-east-1",
    "us-iso-west-1",
    "us-isob-east-1",
    "us-isob-west-1",
    "us-isof-east-1",
    "us-isof-south-1",
    "us-west-1",
    "us-west-2",
];

/// A well-formed name that is not in [`KNOWN`] is most often a typo
/// (`ap-southest-1`): the SDK would send it to an endpoint that does not
/// exist and fail with a network error that names nothing. Refused before any
/// call, with the closest known region; `--allow-unknown-region` lets a
/// region newer than this release through.
pub fn check_known(s: &str) -> Result<(), String> {
    validate(s)?;
    if KNOWN.contains(&s) {
        return Ok(());
    }
    let guess = closest(s)
        .map(|r| format!("did you mean {r}? "))
        .unwrap_or_default();
    Err(format!(
        "`{}` is not an AWS region this release knows: {guess}(a region newer than this \
         release: pass --allow-unknown-region)",
        shown(s)
    ))
}

/// The known region nearest to `s` by edit distance, when it is near.
pub fn closest(s: &str) -> Option<&'static str> {
    KNOWN
        .iter()
        .map(|r| (strsim::levenshtein(s, r), *r))
        .min()
        .filter(|(d, _)| *d <= 3)
        .map(|(_, r)| r)
}

/// A region is echoed back, but not an arbitrarily long paste.
fn shown(s: &str) -> String {
    const MAX: usize = 40;
    if s.chars().count() <= MAX {
        s.to_string()
    } else {
        format!("{}…", s.chars().take(MAX).collect::<String>())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn real_region_names_pass() {
        for r in [
            "us-east-1",
            "ap-southeast-1",
            "us-gov-west-1",
            "cn-northwest-1",
            "eu-central-2",
            "il-central-1",
            "eusc-de-east-1",
            "us-isob-east-1",
        ] {
            assert_eq!(validate(r), Ok(()), "{r}");
        }
    }

    #[test]
    fn a_typo_gets_the_closest_known_region() {
        assert_eq!(
            check_known("ap-southest-1"),
            Err(
                "`ap-southest-1` is not an AWS region this release knows: did you mean \
                 ap-southeast-1? (a region newer than this release: pass --allow-unknown-region)"
                    .to_string()
            )
        );
        assert_eq!(closest("us-est-1"), Some("us-east-1"));
        assert_eq!(closest("eu-centrall-2"), Some("eu-central-2"));
        assert_eq!(
            check_known("zz-moon-9"),
            Err(
                "`zz-moon-9` is not an AWS region this release knows: (a region newer than \
                 this release: pass --allow-unknown-region)"
                    .to_string()
            )
        );
        for r in KNOWN {
            assert_eq!(check_known(r), Ok(()), "{r}");
        }
        assert!(check_known("Singapore")
            .unwrap_err()
            .contains("is not an AWS region name"));
    }

    /// The list is the SDK's: its `partitions.json`, embedded in the source of
    /// every aws-sdk crate (here aws-sdk-sts, as the lock pins it).
    #[test]
    fn known_regions_are_the_sdks() {
        let lock: toml::Table = include_str!("../../Cargo.lock").parse().unwrap();
        let version = lock["package"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["name"].as_str() == Some("aws-sdk-sts"))
            .and_then(|p| p["version"].as_str())
            .unwrap()
            .to_string();
        let cargo_home = std::env::var("CARGO_HOME")
            .map(std::path::PathBuf::from)
            .unwrap_or_else(|_| dirs::home_dir().unwrap().join(".cargo"));
        let registry = cargo_home.join("registry/src");
        let source = std::fs::read_dir(&registry)
            .unwrap()
            .flatten()
            .map(|d| {
                d.path()
                    .join(format!("aws-sdk-sts-{version}/src/endpoint_lib.rs"))
            })
            .find(|p| p.is_file())
            .unwrap_or_else(|| panic!("aws-sdk-sts {version} sources not in {registry:?}"));
        let text = std::fs::read_to_string(source).unwrap();
        let key = regex_lite::Regex::new(r#"\\"([a-z0-9-]+)\\":\{\\"description"#).unwrap();
        let mut sdk: Vec<&str> = key
            .captures_iter(&text)
            .map(|c| c.get(1).unwrap().as_str())
            .filter(|r| !r.ends_with("-global"))
            .collect();
        sdk.sort();
        sdk.dedup();
        assert_eq!(sdk, KNOWN);
    }

    #[test]
    fn anything_else_says_what_a_region_looks_like() {
        assert_eq!(
            validate("not a region"),
            Err(
                "`not a region` is not an AWS region name: a region looks like ap-southeast-1 or \
                 us-gov-west-1 (`aws ec2 describe-regions` lists them)"
                    .to_string()
            )
        );
        for r in [
            "",
            "Singapore",
            "ap-southeast",
            "AP-SOUTHEAST-1",
            "ap-southeast-1a",
            "ap--1",
            "ap-southeast-123",
            "ap_southeast_1",
        ] {
            assert!(validate(r).is_err(), "{r}");
        }
    }
}
