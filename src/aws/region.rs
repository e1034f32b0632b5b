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
