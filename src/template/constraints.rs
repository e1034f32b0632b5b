//! The stack parameters' constraints, read from the embedded template.
//!
//! One source of truth: the CLI refuses exactly what CloudFormation would
//! refuse (MinValue/MaxValue, AllowedValues, AllowedPattern, Min/MaxLength),
//! before anything is built or uploaded, instead of keeping its own ranges
//! that drift from the template's.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use serde::Deserialize;

use crate::template::TEMPLATE;

/// One parameter's declaration in `templates/notifier.yaml`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Constraint {
    #[serde(rename = "Type")]
    pub kind: String,
    pub min_value: Option<f64>,
    pub max_value: Option<f64>,
    pub min_length: Option<usize>,
    pub max_length: Option<usize>,
    #[serde(default, deserialize_with = "scalars")]
    pub allowed_values: Vec<String>,
    pub allowed_pattern: Option<String>,
    pub constraint_description: Option<String>,
    #[serde(default, deserialize_with = "scalar")]
    pub default: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct TemplateParameters {
    parameters: BTreeMap<String, Constraint>,
}

/// `AllowedValues: [1, 3]` and `["true", "false"]` alike, as strings.
fn scalars<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    let values = Vec::<yaml_serde::Value>::deserialize(d)?;
    values
        .into_iter()
        .map(|v| match v {
            yaml_serde::Value::String(s) => Ok(s),
            yaml_serde::Value::Number(n) => Ok(n.to_string()),
            yaml_serde::Value::Bool(b) => Ok(b.to_string()),
            _ => Err(serde::de::Error::custom("AllowedValues holds a non-scalar")),
        })
        .collect()
}

fn scalar<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    let value = Option::<yaml_serde::Value>::deserialize(d)?;
    match value {
        None => Ok(None),
        Some(yaml_serde::Value::String(s)) => Ok(Some(s)),
        Some(yaml_serde::Value::Number(n)) => Ok(Some(n.to_string())),
        Some(yaml_serde::Value::Bool(b)) => Ok(Some(b.to_string())),
        Some(_) => Err(serde::de::Error::custom("Default is not a scalar")),
    }
}

/// Every parameter of the embedded template, by name.
pub fn all() -> &'static BTreeMap<String, Constraint> {
    static PARSED: OnceLock<BTreeMap<String, Constraint>> = OnceLock::new();
    PARSED.get_or_init(|| {
        // The template is compiled in; `tests::the_embedded_template_parses`
        // proves this cannot fail at run time.
        yaml_serde::from_str::<TemplateParameters>(TEMPLATE)
            .map(|t| t.parameters)
            .unwrap_or_default()
    })
}

impl Constraint {
    /// `Ok` when CloudFormation would accept `value` for this parameter;
    /// otherwise what the value must be, in the template's words when it has
    /// a ConstraintDescription.
    pub fn check(&self, value: &str) -> Result<(), String> {
        if self.accepts(value) {
            return Ok(());
        }
        Err(self
            .constraint_description
            .clone()
            .unwrap_or_else(|| self.describe()))
    }

    fn accepts(&self, value: &str) -> bool {
        if self.kind == "CommaDelimitedList" {
            return value
                .split(',')
                .all(|item| self.accepts_scalar(item.trim()));
        }
        self.accepts_scalar(value)
    }

    fn accepts_scalar(&self, value: &str) -> bool {
        let number = value.parse::<f64>().ok().filter(|n| n.is_finite());
        if self.kind == "Number" && number.is_none() {
            return false;
        }
        let in_range = |n: f64| {
            self.min_value.is_none_or(|min| n >= min) && self.max_value.is_none_or(|max| n <= max)
        };
        let allowed = self.allowed_values.is_empty()
            || self.allowed_values.iter().any(|a| {
                a == value
                    || (self.kind == "Number"
                        && a.parse::<f64>().ok() == number
                        && number.is_some())
            });
        let length = value.chars().count();
        number.is_none_or(in_range)
            && allowed
            && self.min_length.is_none_or(|min| length >= min)
            && self.max_length.is_none_or(|max| length <= max)
            && self
                .allowed_pattern
                .as_deref()
                .is_none_or(|p| full_match(p, value))
    }

    /// What the constraint asks for, when the template gives no description.
    fn describe(&self) -> String {
        let mut parts = Vec::new();
        let bounded = self.min_value.is_some() || self.max_value.is_some();
        if self.kind == "Number" && (bounded || self.allowed_values.is_empty()) {
            parts.push(match (self.min_value, self.max_value) {
                (Some(min), Some(max)) => format!("must be a number from {min} to {max}"),
                (Some(min), None) => format!("must be a number of at least {min}"),
                (None, Some(max)) => format!("must be a number of at most {max}"),
                (None, None) => "must be a number".to_string(),
            });
        }
        if !self.allowed_values.is_empty() {
            parts.push(format!("must be one of {}", self.allowed_values.join(", ")));
        }
        match (self.min_length, self.max_length) {
            (Some(min), Some(max)) => parts.push(format!("must be {min} to {max} characters long")),
            (Some(min), None) => parts.push(format!("must be at least {min} characters long")),
            (None, Some(max)) => parts.push(format!("must be at most {max} characters long")),
            (None, None) => {}
        }
        if let Some(p) = &self.allowed_pattern {
            parts.push(format!("must match the pattern {p}"));
        }
        parts.join(" and ")
    }
}

/// CloudFormation matches AllowedPattern against the whole value.
fn full_match(pattern: &str, value: &str) -> bool {
    regex_lite::Regex::new(&format!("^(?:{pattern})$")).is_ok_and(|re| re.is_match(value))
}

/// Checks `value` for the template parameter `name`. A parameter the template
/// does not declare is refused: CloudFormation would refuse it too.
pub fn check(name: &str, value: &str) -> Result<(), String> {
    match all().get(name) {
        Some(c) => c.check(value),
        None => Err(format!("the template has no parameter {name}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_embedded_template_parses() {
        let parsed: TemplateParameters = yaml_serde::from_str(TEMPLATE).unwrap();
        assert_eq!(&parsed.parameters, all());
        assert_eq!(
            all()["Timeout"],
            Constraint {
                kind: "Number".into(),
                min_value: Some(3.0),
                max_value: Some(900.0),
                default: Some("60".into()),
                ..Constraint::default()
            }
        );
        assert_eq!(
            all()["LogRetentionInDays"].allowed_values[..3],
            ["1", "3", "5"]
        );
        assert_eq!(all()["Architecture"].allowed_values, ["arm64", "x86_64"]);
    }

    /// Values the template refuses, though the CLI once accepted them.
    #[test]
    fn the_issue_s_examples_are_refused() {
        assert_eq!(
            check("Timeout", "1"),
            Err("must be a number from 3 to 900".into())
        );
        assert_eq!(
            check("LlmMaxTokens", "5"),
            Err("must be a whole number from 30 to 4096.".into())
        );
        assert_eq!(
            check("ExportPrefix", "a.b"),
            Err("must contain only letters, digits and '-', or be empty.".into())
        );
        assert_eq!(check("Timeout", "3"), Ok(()));
        assert_eq!(check("LlmMaxTokens", "30"), Ok(()));
        assert_eq!(check("LlmMaxTokens", "4096"), Ok(()));
        assert!(check("LlmMaxTokens", "4097").is_err());
        assert_eq!(check("ExportPrefix", "team-a"), Ok(()));
    }

    #[test]
    fn numbers_lists_lengths_and_unknown_names() {
        assert_eq!(
            check("MemorySize", "lots"),
            Err("must be a number from 128 to 10240".into())
        );
        assert_eq!(check("LogRetentionInDays", "30"), Ok(()));
        assert!(check("LogRetentionInDays", "31")
            .unwrap_err()
            .starts_with("must be one of 1, 3, 5, 7,"));
        assert_eq!(check("ReservedConcurrency", "-1"), Ok(()));
        assert_eq!(
            check("ReservedConcurrency", "-2"),
            Err("must be a number of at least -1".into())
        );
        assert_eq!(check("LlmSystemPrompt", &"x".repeat(4000)), Ok(()));
        assert_eq!(
            check("LlmSystemPrompt", &"x".repeat(4001)),
            Err("must be at most 4000 characters long".into())
        );
        assert_eq!(check("Ec2States", ""), Ok(()));
        assert_eq!(
            check("Nope", "1"),
            Err("the template has no parameter Nope".into())
        );
    }

    /// The template agrees with itself: every default passes its own constraint.
    #[test]
    fn every_default_passes_its_own_constraint() {
        for (name, c) in all() {
            if let Some(d) = &c.default {
                assert_eq!(c.check(d), Ok(()), "{name} default {d:?}");
            }
        }
    }
}
