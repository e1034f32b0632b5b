//! `status`: what is deployed, read back from CloudFormation and Lambda.

use anyhow::{Context, Result};
use serde_json::{json, Value};

use crate::aws::stack::{self, StackInfo};
use crate::aws::Aws;
use crate::commands::deploy::Rule;
use crate::errors::AwsResultExt;
use crate::term::output::{table, Ui};

/// The deployed function, as Lambda reports it.
#[derive(Debug, Clone, Default)]
pub struct FunctionInfo {
    pub name: String,
    pub architecture: String,
    pub code_sha256: String,
    pub memory_size: Option<i32>,
    pub last_modified: Option<String>,
}

pub async fn run(aws: &Aws, ui: &Ui, stack_name: &str) -> Result<()> {
    let region = aws.region().unwrap_or_default().to_string();
    let Some(info) = stack::describe(aws, stack_name).await? else {
        anyhow::bail!(
            "no stack named {stack_name} in {region}: run `dingtalk-notifier deploy` first (or pass --stack-name / --region)"
        );
    };
    let function = match function_name(aws, &info).await? {
        Some(name) => Some(function_info(aws, &name).await?),
        None => None,
    };
    let doc = status_json(&info, &region, function.as_ref());
    if ui.json {
        println!("{doc:#}");
    } else {
        println!("{}", render_human(&doc).trim_end());
    }
    Ok(())
}

/// The `FunctionName` output, else the stack's Lambda function resource (an
/// engine may report resources before outputs, or an older template may lack
/// the output).
pub async fn function_name(aws: &Aws, info: &StackInfo) -> Result<Option<String>> {
    if let Some(name) = info.outputs.get("FunctionName") {
        return Ok(Some(name.clone()));
    }
    Ok(stack::resources_of_type(aws, info, "AWS::Lambda::Function")
        .await?
        .into_iter()
        .next()
        .map(|(_, name)| name))
}

async fn function_info(aws: &Aws, name: &str) -> Result<FunctionInfo> {
    let f = aws
        .lambda
        .get_function_configuration()
        .function_name(name)
        .send()
        .await
        .aws("lambda:GetFunctionConfiguration")
        .with_context(|| format!("reading the function {name}"))?;
    Ok(FunctionInfo {
        name: name.to_string(),
        architecture: f
            .architectures()
            .first()
            .map(|a| a.as_str().to_string())
            .unwrap_or_else(|| "x86_64".to_string()),
        code_sha256: f.code_sha256().unwrap_or_default().to_string(),
        memory_size: f.memory_size(),
        last_modified: f.last_modified().map(str::to_string),
    })
}

/// The `--json` document; the human view is rendered from it too, so both
/// always say the same thing.
pub fn status_json(info: &StackInfo, region: &str, function: Option<&FunctionInfo>) -> Value {
    let param = |k: &str| info.parameters.get(k).map(String::as_str);
    let rules: serde_json::Map<String, Value> = Rule::ALL
        .iter()
        .map(|r| {
            (
                r.key().to_string(),
                Value::Bool(param(r.parameter()) == Some("true")),
            )
        })
        .collect();
    json!({
        "stack": info.name,
        "region": region,
        "status": info.status,
        "status_reason": info.reason,
        "last_updated": info.last_updated.clone().or_else(|| info.created.clone()),
        "outputs": info.outputs,
        "rules": rules,
        "llm": {
            "enabled": param("LlmEnabled") == Some("true"),
            "model_id": param("LlmModelId"),
            "region": param("LlmRegion").filter(|r| !r.is_empty()).unwrap_or(region),
        },
        "function": function.map(|f| json!({
            "name": f.name,
            "architecture": f.architecture,
            "code_sha256": f.code_sha256,
            "memory_size": f.memory_size,
            "last_modified": f.last_modified,
        })),
    })
}

fn s(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => "-".to_string(),
        other => other.to_string(),
    }
}

pub fn render_human(doc: &Value) -> String {
    let mut rows: Vec<(String, String)> = vec![
        ("Stack".into(), s(&doc["stack"])),
        ("Region".into(), s(&doc["region"])),
        ("Status".into(), s(&doc["status"])),
    ];
    if !doc["status_reason"].is_null() {
        rows.push(("Reason".into(), s(&doc["status_reason"])));
    }
    rows.push(("Last updated".into(), s(&doc["last_updated"])));
    let on: Vec<String> = Rule::ALL
        .iter()
        .filter(|r| doc["rules"][r.key()] == Value::Bool(true))
        .map(|r| r.key().to_string())
        .collect();
    rows.push((
        "Rules".into(),
        if on.is_empty() {
            "none".into()
        } else {
            on.join(", ")
        },
    ));
    rows.push((
        "LLM".into(),
        if doc["llm"]["enabled"] == Value::Bool(true) {
            format!(
                "{} in {}",
                s(&doc["llm"]["model_id"]),
                s(&doc["llm"]["region"])
            )
        } else {
            "off".into()
        },
    ));
    if let Some(f) = doc["function"].as_object() {
        rows.push(("Function".into(), s(&f["name"])));
        rows.push(("Architecture".into(), s(&f["architecture"])));
        rows.push(("Code SHA-256".into(), s(&f["code_sha256"])));
    }
    let mut out = table(&rows);
    if let Some(outputs) = doc["outputs"].as_object() {
        if !outputs.is_empty() {
            out.push_str("\nOutputs:\n");
            let rows: Vec<(String, String)> = outputs
                .iter()
                .map(|(k, v)| (format!("  {k}"), s(v)))
                .collect();
            out.push_str(&table(&rows));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_and_human_views() {
        let mut info = StackInfo {
            name: "alerts".into(),
            status: "UPDATE_COMPLETE".into(),
            last_updated: Some("2026-01-02T03:04:05Z".into()),
            ..StackInfo::default()
        };
        for (k, v) in [
            ("EnableHealthRule", "true"),
            ("EnableHealthAbuseRule", "false"),
            ("EnableEc2StateChangeRule", "false"),
            ("EnableAlarmRule", "true"),
            ("LlmEnabled", "false"),
            ("LlmModelId", "amazon.nova-lite-v1:0"),
            ("LlmRegion", ""),
        ] {
            info.parameters.insert(k.into(), v.into());
        }
        info.outputs.insert("TopicArn".into(), "arn:t".into());
        let f = FunctionInfo {
            name: "fn".into(),
            architecture: "arm64".into(),
            code_sha256: "abc=".into(),
            memory_size: Some(256),
            last_modified: None,
        };
        let doc = status_json(&info, "ap-southeast-1", Some(&f));
        assert_eq!(
            doc,
            json!({
                "stack": "alerts", "region": "ap-southeast-1", "status": "UPDATE_COMPLETE",
                "status_reason": null, "last_updated": "2026-01-02T03:04:05Z",
                "outputs": {"TopicArn": "arn:t"},
                "rules": {"health": true, "health-abuse": false, "ec2": false, "alarm": true},
                "llm": {"enabled": false, "model_id": "amazon.nova-lite-v1:0", "region": "ap-southeast-1"},
                "function": {"name": "fn", "architecture": "arm64", "code_sha256": "abc=",
                              "memory_size": 256, "last_modified": null}
            })
        );
        assert_eq!(
            render_human(&doc),
            "Stack         alerts\nRegion        ap-southeast-1\nStatus        UPDATE_COMPLETE\n\
             Last updated  2026-01-02T03:04:05Z\nRules         health, alarm\nLLM           off\n\
             Function      fn\nArchitecture  arm64\nCode SHA-256  abc=\n\nOutputs:\n  TopicArn  arn:t\n"
        );
    }
}
