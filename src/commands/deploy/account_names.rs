//! The `AccountNames` parameter for `deploy --organization` (docs/design.md,
//! "Many accounts"): the organization's account names as a JSON object, id
//! → name, so a message names the account beside its id. Lambda allows 4 KB
//! for the whole environment: names that do not fit are left out (their
//! alerts still arrive, with the id). Pure.

use dingtalk_notifier_lambda::config::{environment_size, MAX_ENVIRONMENT_BYTES};

use crate::template::constraints;

/// Bytes left for `AccountNames`: the template's `MaxLength`, and what the
/// rest of the function's environment leaves of Lambda's 4 KB.
pub fn room(parameters: &[(&'static str, String)]) -> usize {
    let value = |name: &str| {
        parameters
            .iter()
            .find(|(n, _)| *n == name && *n != "AccountNames")
            .map(|(_, v)| v.as_str())
            .unwrap_or_default()
    };
    let left = MAX_ENVIRONMENT_BYTES.saturating_sub(environment_size(value));
    let max = constraints::all()
        .get("AccountNames")
        .and_then(|c| c.max_length)
        .unwrap_or(left);
    left.min(max)
}

/// `{"id":"name",…}` in id order, with every name that fits in `room`
/// bytes; returns it and how many were left out. Nothing fits: empty.
pub fn fit(accounts: &[(String, String)], room: usize) -> (String, usize) {
    let mut sorted: Vec<&(String, String)> =
        accounts.iter().filter(|(_, n)| !n.is_empty()).collect();
    sorted.sort();
    let mut entries = Vec::new();
    let mut size = 2; // the braces
    let mut dropped = 0;
    for (id, name) in sorted {
        let entry = format!(
            "{}:{}",
            serde_json::Value::from(id.as_str()),
            serde_json::Value::from(name.as_str())
        );
        let needed = entry.len() + usize::from(!entries.is_empty());
        if size + needed <= room {
            size += needed;
            entries.push(entry);
        } else {
            dropped += 1;
        }
    }
    match entries.is_empty() {
        true => (String::new(), dropped),
        false => (format!("{{{}}}", entries.join(",")), dropped),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn accounts(n: usize) -> Vec<(String, String)> {
        (0..n)
            .map(|i| {
                (
                    format!("{:012}", 100_000_000_000u64 + i as u64),
                    format!("team-{i:02}-生产"),
                )
            })
            .collect()
    }

    #[test]
    fn names_are_a_json_object_by_id() {
        let (json, dropped) = fit(
            &[
                ("222222222222".into(), "prod \"web\"".into()),
                ("111111111111".into(), "dev".into()),
                ("333333333333".into(), String::new()),
            ],
            1000,
        );
        assert_eq!(
            json,
            r#"{"111111111111":"dev","222222222222":"prod \"web\""}"#
        );
        assert_eq!(dropped, 0);
        let parsed: std::collections::BTreeMap<String, String> =
            serde_json::from_str(&json).unwrap();
        assert_eq!(parsed["222222222222"], "prod \"web\"");
    }

    #[test]
    fn what_does_not_fit_is_left_out_and_counted() {
        let all = accounts(200);
        let (json, dropped) = fit(&all, 3000);
        assert!(json.len() <= 3000, "{}", json.len());
        let kept: std::collections::BTreeMap<String, String> = serde_json::from_str(&json).unwrap();
        assert_eq!(kept.len() + dropped, 200);
        assert!(dropped > 0);
        assert_eq!(fit(&all, 10), (String::new(), 200));
    }

    #[test]
    fn the_room_is_what_the_environment_leaves_within_the_templates_limit() {
        use crate::commands::deploy::settings::tests::settings;
        let arn = "arn:aws:secretsmanager:us-east-1:123456789012:secret:x";
        assert_eq!(
            room(&settings().parameters("b", "k", arn).unwrap()),
            3500,
            "the template's MaxLength"
        );
        let with_prompt = |n: usize| {
            let mut s = settings();
            s.llm_system_prompt = "x".repeat(n);
            s.account_names = "{}".repeat(500);
            room(&s.parameters("b", "k", arn).unwrap())
        };
        assert_eq!(
            with_prompt(1000) - with_prompt(2000),
            1000,
            "a longer prompt leaves less"
        );
        assert_eq!(with_prompt(5000), 0);
    }
}
