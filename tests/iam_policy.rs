//! The deploy policy (`docs/iam-deploy-policy.json`, a CloudFormation
//! template with three managed policies and the function's permissions
//! boundary), checked against the sources of truth cfn-lint ships:
//! the resource schemas' `handlers.*.permissions` (what CloudFormation needs
//! for each resource type of `templates/`) and its IAM reference
//! (`Policies.json`: which actions take which resource ARNs).
//! `tests/iam_enforced.rs` runs the CLI itself as a user holding only it.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use common::iam::{action_matches, deploy_policy_template, render, statements, Statement};
use serde_json::Value;

/// Where pip put cfn-lint's data (the same `python3` scripts/setup installs with).
fn cfnlint_data() -> PathBuf {
    let out = std::process::Command::new("python3")
        .args([
            "-c",
            "import cfnlint, os; print(os.path.dirname(cfnlint.__file__))",
        ])
        .output()
        .expect("python3 runs (scripts/setup installs cfn-lint with it)");
    assert!(
        out.status.success(),
        "cfn-lint is not installed: run scripts/setup"
    );
    PathBuf::from(String::from_utf8_lossy(&out.stdout).trim()).join("data")
}

fn read_json(path: PathBuf) -> Value {
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap()
}

/// Every resource type used by a template in templates/.
fn template_resource_types() -> BTreeSet<String> {
    let mut types = BTreeSet::new();
    for entry in std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/templates")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().and_then(|e| e.to_str()) != Some("yaml") {
            continue;
        }
        let doc: serde_yaml::Value =
            serde_yaml::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        for (_, res) in doc["Resources"].as_mapping().unwrap() {
            types.insert(res["Type"].as_str().unwrap().to_string());
        }
    }
    types
}

/// `handlers.*.permissions` of `type_name`, over every region's schema
/// cfn-lint knows (China and GovCloud included).
fn handler_permissions(data: &std::path::Path, type_name: &str) -> BTreeSet<String> {
    let mut hashes = BTreeSet::new();
    for entry in std::fs::read_dir(data.join("schemas/providers")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().and_then(|e| e.to_str()) != Some("json") {
            continue;
        }
        if let Some(h) = read_json(path)[type_name].as_str() {
            hashes.insert(h.to_string());
        }
    }
    assert!(!hashes.is_empty(), "cfn-lint has no schema for {type_name}");
    let mut perms = BTreeSet::new();
    for h in hashes {
        let schema = read_json(data.join(format!("schemas/resources/{h}.json")));
        for handler in schema["handlers"]
            .as_object()
            .into_iter()
            .flat_map(|o| o.values())
        {
            for p in handler["permissions"].as_array().into_iter().flatten() {
                perms.insert(p.as_str().unwrap().to_string());
            }
        }
    }
    perms
}

/// The IAM reference: service prefix → lower-case action → resource types,
/// and service prefix → resource type → ARN regexes.
struct IamReference(Value);

impl IamReference {
    fn load(data: &std::path::Path) -> IamReference {
        IamReference(read_json(data.join("AdditionalSpecs/Policies.json")))
    }

    /// `None`: not an IAM action at all.
    fn resource_types(&self, action: &str) -> Option<Vec<String>> {
        let (service, name) = action.split_once(':')?;
        let entry = self.0[service]["Actions"].get(name.to_ascii_lowercase())?;
        Some(
            entry["Resources"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|r| r.as_str().unwrap().to_string())
                .collect(),
        )
    }

    fn arn_formats(&self, service: &str, resource_type: &str) -> Vec<regex_lite::Regex> {
        let types = &self.0[service]["Resources"];
        let entry = types
            .get(resource_type)
            .or_else(|| types.get(resource_type.to_ascii_lowercase()))
            .unwrap_or_else(|| panic!("{service} has no resource type {resource_type}"));
        entry["ARNFormats"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| {
                let f = f.as_str().unwrap();
                let pattern = regex_lite::Regex::new(r"\$\{[A-Za-z]+\}")
                    .unwrap()
                    .replace_all(f, "[^:]*");
                regex_lite::Regex::new(&format!("^{pattern}$")).unwrap()
            })
            .collect()
    }
}

fn granted(stmts: &[Statement], action: &str) -> bool {
    stmts
        .iter()
        .filter(|s| s.effect == "Allow")
        .any(|s| s.actions.iter().any(|a| action_matches(a, action)))
}

/// Handler permissions that are not IAM actions (absent from the IAM
/// reference): typos in the published schemas. If cfn-lint's data changes,
/// this list must be looked at again.
/// `kms:ReEncrypt`: the AWS::Events::EventBus schema's name for what IAM
/// calls `kms:ReEncryptFrom` and `kms:ReEncryptTo` (both granted).
const NOT_IAM_ACTIONS: &[&str] = &[
    "kms:ReEncrypt",
    "lambda:AssociateRuntimeAlias",
    "s3:REST.PUT.OBJECT",
];

/// Handler permissions withheld on purpose, and why.
const WITHHELD: &[(&str, &str)] = &[(
    "iam:DeleteRolePermissionsBoundary",
    "it would lift the boundary from a role the deployer wrote the policy of",
)];

#[test]
fn a_every_handler_permission_of_the_templates_resource_types_is_granted() {
    let data = cfnlint_data();
    let reference = IamReference::load(&data);
    let stmts = statements(&render(&deploy_policy_template(), "aws", "123456789012"));
    let mut missing = BTreeMap::new();
    let mut not_iam = BTreeSet::new();
    let types = template_resource_types();
    assert!(
        types.contains("AWS::Lambda::EventSourceMapping"),
        "{types:?}"
    );
    for t in &types {
        for perm in handler_permissions(&data, t) {
            if reference.resource_types(&perm).is_none() {
                not_iam.insert(perm);
                continue;
            }
            if WITHHELD.iter().any(|(p, _)| *p == perm) {
                assert!(!granted(&stmts, &perm), "{perm} must stay withheld");
                continue;
            }
            if !granted(&stmts, &perm) {
                missing.entry(perm).or_insert_with(Vec::new).push(t.clone());
            }
        }
    }
    assert!(missing.is_empty(), "not granted: {missing:#?}");
    assert_eq!(
        not_iam,
        NOT_IAM_ACTIONS.iter().map(|s| s.to_string()).collect(),
        "handler permissions unknown to the IAM reference changed"
    );
}

#[test]
fn c_no_statement_grants_on_star_what_can_be_scoped_and_every_scope_fits() {
    let data = cfnlint_data();
    let reference = IamReference::load(&data);
    let doc = render(&deploy_policy_template(), "aws", "123456789012");
    let mut problems = Vec::new();
    for s in statements(&doc) {
        assert_eq!(s.effect, "Allow", "{}", s.sid);
        let on_star = s.resources.iter().any(|r| r == "*");
        if on_star {
            assert_eq!(s.resources.len(), 1, "{}: * beside other resources", s.sid);
        }
        for action in &s.actions {
            assert!(!action.contains('*'), "{}: wildcard action {action}", s.sid);
            let Some(types) = reference.resource_types(action) else {
                problems.push(format!("{}: {action} is not an IAM action", s.sid));
                continue;
            };
            if on_star {
                if !types.is_empty() {
                    problems.push(format!(
                        "{}: {action} on * can be scoped to {types:?}",
                        s.sid
                    ));
                }
                continue;
            }
            let (service, _) = action.split_once(':').unwrap();
            // A wildcard in the policy stands for one value of that segment.
            let fits = s.resources.iter().any(|r| {
                let sample = r.replace('*', "x");
                types
                    .iter()
                    .flat_map(|t| reference.arn_formats(service, t))
                    .any(|re| re.is_match(&sample))
            });
            if !fits {
                problems.push(format!(
                    "{}: {action} takes {types:?}, none of {:?} is one",
                    s.sid, s.resources
                ));
            }
        }
    }
    assert!(problems.is_empty(), "{problems:#?}");
}

#[test]
fn arns_follow_the_partition_and_account() {
    let raw = serde_json::to_string(&deploy_policy_template()).unwrap();
    assert!(!raw.contains("arn:aws:"), "a hard-coded partition");
    assert!(!raw.contains("123456789012"), "a hard-coded account");
    for partition in ["aws-cn", "aws-us-gov"] {
        let doc = render(&deploy_policy_template(), partition, "111122223333");
        for s in statements(&doc) {
            for r in s.resources.iter().filter(|r| *r != "*") {
                assert!(
                    r.starts_with(&format!("arn:{partition}:")),
                    "{}: {r}",
                    s.sid
                );
                let account = r.split(':').nth(4).unwrap();
                assert!(
                    account.is_empty() || account == "111122223333",
                    "{}: {r} is not scoped to the account",
                    s.sid
                );
            }
        }
    }
}

/// IAM refuses a managed policy over 6,144 characters (whitespace not counted).
#[test]
fn each_managed_policy_fits_iams_size_limit() {
    let doc = render(&deploy_policy_template(), "aws-us-gov", "123456789012");
    for (name, res) in doc["Resources"].as_object().unwrap() {
        let policy = serde_json::to_string(&res["Properties"]["PolicyDocument"]).unwrap();
        let size = policy.chars().filter(|c| !c.is_whitespace()).count();
        assert!(size <= 6144, "{name}: {size} characters");
    }
}

/// A deployer may create or change a role only with the function boundary,
/// pass roles only to Lambda, and touch nothing else in IAM.
#[test]
fn no_escalation_through_iam() {
    let doc = render(&deploy_policy_template(), "aws", "123456789012");
    let boundary =
        "arn:aws:iam::123456789012:policy/dingtalk-notifier/dingtalk-notifier-function-boundary";
    let role_writes = [
        "iam:CreateRole",
        "iam:PutRolePolicy",
        "iam:AttachRolePolicy",
        "iam:DetachRolePolicy",
        "iam:DeleteRolePolicy",
        "iam:PutRolePermissionsBoundary",
    ];
    for s in statements(&doc) {
        for a in s.actions.iter().filter(|a| a.starts_with("iam:")) {
            if role_writes.contains(&a.as_str()) {
                assert_eq!(
                    s.condition["StringEquals"]["iam:PermissionsBoundary"], boundary,
                    "{}: {a} without the boundary",
                    s.sid
                );
            } else if a == "iam:PassRole" {
                // The function role to Lambda, the forwarder role to EventBridge.
                let to = &s.condition["StringEquals"]["iam:PassedToService"];
                assert!(
                    to == "lambda.amazonaws.com" || to == "events.amazonaws.com",
                    "{}: {to}",
                    s.sid
                );
            } else {
                assert!(
                    a.starts_with("iam:Get")
                        || a.starts_with("iam:List")
                        || [
                            "iam:DeleteRole",
                            "iam:TagRole",
                            "iam:UntagRole",
                            "iam:UpdateRole",
                            "iam:UpdateRoleDescription",
                            "iam:UpdateAssumeRolePolicy"
                        ]
                        .contains(&a.as_str()),
                    "{}: {a}",
                    s.sid
                );
            }
            if a != "iam:ListRoles" {
                assert_eq!(
                    s.resources,
                    vec!["arn:aws:iam::123456789012:role/dingtalk-notifier/*".to_string()],
                    "{}: {a}",
                    s.sid
                );
            }
        }
    }
    let managed = &doc["Resources"]["FunctionBoundary"]["Properties"];
    assert_eq!(
        format!(
            "arn:aws:iam::123456789012:policy{}{}",
            managed["Path"].as_str().unwrap(),
            managed["ManagedPolicyName"].as_str().unwrap()
        ),
        boundary
    );
}

/// The boundary leaves the function everything its own role grants.
#[test]
fn the_boundary_covers_the_function_role() {
    let doc = render(&deploy_policy_template(), "aws", "123456789012");
    let boundary = common::iam::statements_of(&doc["Resources"]["FunctionBoundary"]);
    let tpl: serde_yaml::Value =
        serde_yaml::from_str(include_str!("../templates/notifier.yaml")).unwrap();
    let tpl: Value = serde_json::to_value(tpl).unwrap();
    let role = &tpl["Resources"]["FunctionRole"]["Properties"];
    assert_eq!(role["Path"], "/dingtalk-notifier/");
    assert_eq!(
        role["PermissionsBoundary"]["Fn::If"][1]["Ref"],
        "PermissionsBoundaryArn"
    );
    let mut actions = BTreeSet::new();
    let mut collect = |v: &Value| {
        let text = serde_json::to_string(v).unwrap();
        for cap in regex_lite::Regex::new(r#""Action":(\[[^\]]*\]|"[^"]*")"#)
            .unwrap()
            .captures_iter(&text)
        {
            let parsed: Value = serde_json::from_str(&cap[1]).unwrap();
            match parsed {
                Value::String(a) => {
                    actions.insert(a);
                }
                Value::Array(list) => {
                    actions.extend(list.into_iter().map(|a| a.as_str().unwrap().to_string()))
                }
                _ => unreachable!(),
            }
        }
    };
    collect(&role["Policies"]);
    collect(&tpl["Resources"]["BedrockPolicy"]);
    assert!(actions.contains("bedrock:InvokeModel"), "{actions:?}");
    for a in actions {
        assert!(granted(&boundary, &a), "the boundary cuts {a}");
    }
}

/// The boundary leaves the forwarder role its one permission (a deployer
/// with the deploy policy gives it the boundary too).
#[test]
fn the_boundary_covers_the_forwarder_role() {
    let doc = render(&deploy_policy_template(), "aws", "123456789012");
    let boundary = common::iam::statements_of(&doc["Resources"]["FunctionBoundary"]);
    let tpl: serde_yaml::Value =
        serde_yaml::from_str(include_str!("../templates/forwarder.yaml")).unwrap();
    let tpl: Value = serde_json::to_value(tpl).unwrap();
    let role = &tpl["Resources"]["ForwarderRole"]["Properties"];
    assert_eq!(role["Path"], "/dingtalk-notifier/");
    assert_eq!(
        role["PermissionsBoundary"]["Fn::If"][1]["Ref"],
        "PermissionsBoundaryArn"
    );
    assert_eq!(
        role["Policies"][0]["PolicyDocument"]["Statement"][0]["Action"],
        "events:PutEvents"
    );
    assert!(granted(&boundary, "events:PutEvents"));
}

/// Every AWS call `deploy --organization`, `status` and `destroy` make for
/// the organization (`.aws("service:Action")` in the sources), and nothing
/// else, is in the organization policy; the StackSet is reachable only
/// under our name, and created only with our tag.
#[test]
fn the_organization_policy_grants_exactly_what_the_organization_code_calls() {
    let mut called = BTreeSet::new();
    for source in [
        include_str!("../src/aws/organization.rs"),
        include_str!("../src/aws/stack_set.rs"),
    ] {
        for (i, _) in source.match_indices(".aws(\"") {
            let rest = &source[i + 6..];
            called.insert(rest[..rest.find('"').unwrap()].to_string());
        }
    }
    // The caller's account, read through STS: already in the deploy policy.
    called.remove("sts:GetCallerIdentity");
    let rendered = render(&deploy_policy_template(), "aws", "123456789012");
    let org = common::iam::statements_of(&rendered["Resources"]["OrganizationPolicy"]);
    let mut direct: BTreeSet<String> = org
        .iter()
        .filter(|s| s.condition["StringEquals"]["aws:CalledViaFirst"].is_null())
        .flat_map(|s| s.actions.iter().cloned())
        .collect();
    // StackSets ask it of a delegated administrator's caller.
    assert!(direct.remove("organizations:ListDelegatedAdministrators"));
    assert_eq!(direct, called);
    let by_sid = |sid: &str| org.iter().find(|s| s.sid == sid).unwrap();
    assert_eq!(
        by_sid("ReadOurStackSet").resources,
        ["arn:aws:cloudformation:*:123456789012:stackset/*-forwarders:*"]
    );
    assert!(by_sid("ReadOurStackSet").condition.is_null());
    // Changing a StackSet is acting in every member account: only ours,
    // tagged as such, never another `*-forwarders` set.
    assert_eq!(
        by_sid("ChangeOnlyOurStackSet").resources,
        [
            "arn:aws:cloudformation:*:123456789012:stackset/*-forwarders:*",
            "arn:aws:cloudformation:*:123456789012:stackset-target/*-forwarders:*",
        ]
    );
    assert_eq!(
        by_sid("ChangeOnlyOurStackSet").condition,
        serde_json::json!({"StringEquals": {"aws:ResourceTag/app": "dingtalk-notifier"}})
    );
    // From a delegated administrator, the StackSet is the management
    // account's (CloudFormation keeps service-managed sets there).
    let raw = deploy_policy_template();
    let statements =
        &raw["Resources"]["OrganizationPolicy"]["Properties"]["PolicyDocument"]["Statement"];
    let change = statements
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["Sid"] == "ChangeOnlyOurStackSet")
        .unwrap();
    assert_eq!(
        change["Resource"][0]["Fn::If"][1],
        serde_json::json!({"Fn::Sub": "arn:${AWS::Partition}:cloudformation:*:${StackSetsAccountId}:stackset/*-forwarders:*"})
    );
    assert_eq!(
        by_sid("CreateOurStackSet").condition,
        serde_json::json!({"StringEquals": {"aws:RequestTag/app": "dingtalk-notifier"}})
    );
    // The home bus policy only through CloudFormation.
    for sid in [
        "BusPolicyThroughCloudFormation",
        "BusPermissionsThroughCloudFormation",
    ] {
        assert_eq!(
            by_sid(sid).condition,
            serde_json::json!({"StringEquals": {"aws:CalledViaFirst": "cloudformation.amazonaws.com"}}),
            "{sid}"
        );
    }
}
