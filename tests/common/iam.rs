//! Reading the deploy policy template (`docs/iam-deploy-policy.json`) as the
//! policies IAM would hold: `Fn::Sub` and `Ref` resolved for one partition
//! and account.

use serde_json::{json, Map, Value};

pub fn deploy_policy_template() -> Value {
    serde_json::from_str(include_str!("../../docs/iam-deploy-policy.json")).unwrap()
}

/// The template with `${AWS::Partition}`, `${AWS::AccountId}` and the
/// `Ref`s of its managed policies resolved.
pub fn render(template: &Value, partition: &str, account: &str) -> Value {
    let refs: Map<String, Value> = template["Resources"]
        .as_object()
        .unwrap()
        .iter()
        .filter(|(_, r)| r["Type"] == "AWS::IAM::ManagedPolicy")
        .map(|(id, r)| {
            let p = &r["Properties"];
            let arn = format!(
                "arn:{partition}:iam::{account}:policy{}{}",
                p["Path"].as_str().unwrap_or("/"),
                p["ManagedPolicyName"].as_str().unwrap()
            );
            (id.clone(), json!(arn))
        })
        .chain(
            template["Parameters"]
                .as_object()
                .into_iter()
                .flatten()
                .filter_map(|(name, p)| Some((format!("param:{name}"), p.get("Default")?.clone()))),
        )
        .collect();
    resolve(template, partition, account, &refs)
}

fn resolve(v: &Value, partition: &str, account: &str, refs: &Map<String, Value>) -> Value {
    match v {
        Value::Object(o) if o.len() == 1 && o.contains_key("Fn::Sub") => {
            let mut text = o["Fn::Sub"]
                .as_str()
                .unwrap()
                .replace("${AWS::Partition}", partition)
                .replace("${AWS::AccountId}", account);
            // Parameters at their defaults (string ones: a Ref to them is not
            // resolved here).
            for (name, default) in refs.iter().filter(|(n, _)| n.starts_with("param:")) {
                text = text.replace(
                    &format!("${{{}}}", &name[6..]),
                    default.as_str().unwrap_or_default(),
                );
            }
            // `${!x}` is Fn::Sub's escape for a literal `${x}` (an IAM policy variable).
            json!(text.replace("${!", "${"))
        }
        // The branch a parameter left at its default (empty) takes.
        Value::Object(o) if o.len() == 1 && o.contains_key("Fn::If") => {
            resolve(&o["Fn::If"][2], partition, account, refs)
        }
        Value::Object(o)
            if o.len() == 1
                && o.get("Ref")
                    .is_some_and(|r| refs.contains_key(r.as_str().unwrap_or(""))) =>
        {
            refs[o["Ref"].as_str().unwrap()].clone()
        }
        Value::Object(o) => Value::Object(
            o.iter()
                .map(|(k, v)| (k.clone(), resolve(v, partition, account, refs)))
                .collect(),
        ),
        Value::Array(a) => Value::Array(
            a.iter()
                .map(|v| resolve(v, partition, account, refs))
                .collect(),
        ),
        other => other.clone(),
    }
}

#[derive(Debug, Clone)]
pub struct Statement {
    pub sid: String,
    pub effect: String,
    pub actions: Vec<String>,
    pub resources: Vec<String>,
    pub condition: Value,
}

fn strings(v: &Value) -> Vec<String> {
    match v {
        Value::String(s) => vec![s.clone()],
        Value::Array(a) => a.iter().map(|s| s.as_str().unwrap().to_string()).collect(),
        _ => Vec::new(),
    }
}

/// The statements of one managed policy resource.
pub fn statements_of(resource: &Value) -> Vec<Statement> {
    resource["Properties"]["PolicyDocument"]["Statement"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| Statement {
            sid: s["Sid"].as_str().unwrap_or_default().to_string(),
            effect: s["Effect"].as_str().unwrap().to_string(),
            actions: strings(&s["Action"]),
            resources: strings(&s["Resource"]),
            condition: s.get("Condition").cloned().unwrap_or(Value::Null),
        })
        .collect()
}

/// The statements of the policies a deployer holds (not the boundary).
pub fn statements(rendered: &Value) -> Vec<Statement> {
    rendered["Resources"]
        .as_object()
        .unwrap()
        .iter()
        .filter(|(id, r)| r["Type"] == "AWS::IAM::ManagedPolicy" && *id != "FunctionBoundary")
        .flat_map(|(_, r)| statements_of(r))
        .collect()
}

/// IAM's action match: case-insensitive, `*` and `?` wildcards.
pub fn action_matches(pattern: &str, action: &str) -> bool {
    let re = format!(
        "(?i)^{}$",
        regex_lite::escape(pattern)
            .replace(r"\*", ".*")
            .replace(r"\?", ".")
    );
    regex_lite::Regex::new(&re).unwrap().is_match(action)
}

/// The deployer's policies for moto, whose IAM evaluation testkit's
/// launcher makes follow IAM's documented semantics (resources, conditions,
/// explicit denies; see `testkit/src/moto_server.py`): the policies as they
/// are, except that moto names an action by the request's signing name,
/// which for CloudWatch is `monitoring`, so each `cloudwatch:` action is also
/// granted as `monitoring:` (IAM itself knows only `cloudwatch:`).
/// Returns (logical id, document).
pub fn for_moto(rendered: &Value) -> Vec<(String, Value)> {
    rendered["Resources"]
        .as_object()
        .unwrap()
        .iter()
        .filter(|(id, r)| r["Type"] == "AWS::IAM::ManagedPolicy" && *id != "FunctionBoundary")
        .map(|(id, r)| {
            let mut doc = r["Properties"]["PolicyDocument"].clone();
            for s in doc["Statement"].as_array_mut().unwrap() {
                let actions = strings(&s["Action"]);
                let aliases: Vec<String> = actions
                    .iter()
                    .filter_map(|a| a.strip_prefix("cloudwatch:"))
                    .map(|a| format!("monitoring:{a}"))
                    .collect();
                if !aliases.is_empty() {
                    s["Action"] = json!([actions, aliases].concat());
                }
            }
            (id.clone(), doc)
        })
        .collect()
}
