//! The forwarder template (`templates/forwarder.yaml`): the notifier stack's
//! rules, aimed at the home stack's bus for forwarded events through a role
//! that may only put events there and that only its own rules may use. Patterns are compared with the notifier template's, both
//! as written and as moto deploys them for the same parameters; the role and
//! targets are asserted on the template (moto does not enforce IAM).

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use aws_sdk_cloudformation::types::{Capability, Parameter};
use serde_json::{json, Value};

const FORWARDER: &str = include_str!("../templates/forwarder.yaml");
const NOTIFIER: &str = include_str!("../templates/notifier.yaml");

/// Every rule a forwarder has, each also in the notifier stack.
const RULES: [&str; 17] = [
    "HealthRule",
    "HealthAbuseRule",
    "Ec2StateChangeRule",
    "AlarmRule",
    "TestEventRule",
    "SecurityHubRule",
    "GuardDutyRule",
    "InspectorRule",
    "AccessAnalyzerRule",
    "RootActivityRule",
    "ConfigComplianceRule",
    "EcrScanRule",
    "TrustedAdvisorRule",
    "BackupFailureRule",
    "PipelineFailureRule",
    "EcsTaskFailureRule",
    "AcmExpiryRule",
];

fn forwarder() -> Value {
    yaml_serde::from_str(FORWARDER).expect("the forwarder template is plain YAML")
}

fn notifier() -> Value {
    yaml_serde::from_str(NOTIFIER).expect("the notifier template is plain YAML")
}

/// The home stack's bus for forwarded events: in `HomeAccountId` when set
/// (an organization's StackSet), else in this account. Never a default bus.
fn home_bus() -> Value {
    json!({"Fn::Sub": [
        "arn:${AWS::Partition}:events:${HomeRegion}:${HomeAccount}:event-bus/${HomeEventBusName}",
        {"HomeAccount": {"Fn::If": ["HasHomeAccountId", {"Ref": "HomeAccountId"}, {"Ref": "AWS::AccountId"}]}}
    ]})
}

/// A rule's pattern as the notifier stack would have it: the forwarder's
/// Health rule has one branch of its own first, for a StackSet's forwarders
/// (`HealthEventsAboutThisRegion`), and the notifier's pattern after it. The
/// home's test rule takes only the home account's own events: a forwarder
/// has a test rule only in the home account, so whatever it forwards passes.
fn shared_pattern(rule: &str, forwarder_rule: &Value) -> Value {
    let pattern = &forwarder_rule["Properties"]["EventPattern"];
    match rule {
        "HealthRule" => {
            assert_eq!(pattern["Fn::If"][0], "HealthEventsAboutThisRegionOn");
            pattern["Fn::If"][2].clone()
        }
        "TestEventRule" => {
            let mut p = pattern.clone();
            p["account"] = json!([{"Ref": "AWS::AccountId"}]);
            p
        }
        _ => pattern.clone(),
    }
}

/// A forwarder rule's switch as the notifier has it: the test rule is the
/// home account's alone.
fn shared_condition(rule: &str, forwarder_rule: &Value) -> Value {
    match rule {
        "TestEventRule" => {
            assert_eq!(forwarder_rule["Condition"], "InHomeAccount");
            Value::Null
        }
        _ => forwarder_rule["Condition"].clone(),
    }
}

/// The names a pattern or condition refers to (`Ref`, `Fn::If`'s condition).
/// The stack's UUID (the last part of its id): at most 61 characters with
/// `dingtalk-notifier-` and `-health`, within EventBridge's 64 for a rule.
fn stack_id() -> Value {
    json!({"Fn::Select": [2, {"Fn::Split": ["/", {"Ref": "AWS::StackId"}]}]})
}

fn references(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            for (k, v) in m {
                match (k.as_str(), v) {
                    ("Ref", Value::String(s)) => out.push(s.clone()),
                    ("Fn::If", Value::Array(a)) => {
                        if let Some(Value::String(c)) = a.first() {
                            out.push(c.clone());
                        }
                    }
                    ("Condition", Value::String(c)) => out.push(c.clone()),
                    _ => {}
                }
                references(v, out);
            }
        }
        Value::Array(a) => a.iter().for_each(|v| references(v, out)),
        _ => {}
    }
}

#[test]
fn each_forwarder_rule_has_the_home_stacks_pattern_condition_and_switches() {
    let (f, n) = (forwarder(), notifier());
    for rule in RULES {
        let fr = &f["Resources"][rule];
        let nr = &n["Resources"][rule];
        assert_eq!(fr["Type"], "AWS::Events::Rule", "{rule}");
        assert_eq!(
            shared_pattern(rule, fr),
            nr["Properties"]["EventPattern"],
            "{rule}'s pattern"
        );
        assert_eq!(
            shared_condition(rule, fr),
            nr["Condition"],
            "{rule}'s switch"
        );
        assert_eq!(fr["Properties"]["EventBusName"], "default", "{rule}");
        assert_eq!(fr["Properties"]["State"], "ENABLED", "{rule}");
        // Whatever the pattern and switch refer to means the same in both.
        let mut names = Vec::new();
        references(&shared_pattern(rule, fr), &mut names);
        references(
            &json!({"Condition": shared_condition(rule, fr)}),
            &mut names,
        );
        let mut seen = Vec::new();
        while let Some(name) = names.pop() {
            if seen.contains(&name) || name.starts_with("AWS::") {
                continue;
            }
            seen.push(name.clone());
            if let Some(p) = f["Parameters"].get(&name) {
                // The same type, default and constraints; the words may differ.
                let without_words = |p: &Value| {
                    let mut p = p.clone();
                    p.as_object_mut().map(|m| m.remove("Description"));
                    p
                };
                assert_eq!(
                    without_words(p),
                    without_words(&n["Parameters"][&name]),
                    "parameter {name}"
                );
            } else {
                let c = &f["Conditions"][&name];
                assert!(!c.is_null(), "{name} is a parameter or condition");
                assert_eq!(c, &n["Conditions"][&name], "condition {name}");
                references(c, &mut names);
            }
        }
    }
    let rules: Vec<&str> = f["Resources"]
        .as_object()
        .unwrap()
        .iter()
        .filter(|(_, r)| r["Type"] == "AWS::Events::Rule")
        .map(|(k, _)| k.as_str())
        .collect();
    let mut expected = RULES.to_vec();
    expected.sort();
    assert_eq!(rules, expected, "no rule of its own");
}

#[test]
fn each_forwarder_rule_targets_only_the_home_bus_through_the_role() {
    let f = forwarder();
    for rule in RULES {
        assert_eq!(
            f["Resources"][rule]["Properties"]["Targets"],
            json!([{
                "Id": "dingtalk-notifier-home-bus",
                "Arn": home_bus(),
                "RoleArn": {"Fn::GetAtt": ["ForwarderRole", "Arn"]}
            }]),
            "{rule}"
        );
    }
}

#[test]
fn forwarder_role_is_assumable_only_by_this_stacks_rules() {
    let f = forwarder();
    let role = &f["Resources"]["ForwarderRole"];
    assert_eq!(role["Type"], "AWS::IAM::Role");
    assert_eq!(
        role["Properties"]["AssumeRolePolicyDocument"],
        json!({"Version": "2012-10-17", "Statement": [{
            "Effect": "Allow",
            "Principal": {"Service": "events.amazonaws.com"},
            "Action": "sts:AssumeRole",
            "Condition": {
                "StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}},
                // The stack's uuid is its own: no other stack's rule matches.
                "ArnLike": {"aws:SourceArn": {"Fn::Sub": [
                    "arn:${AWS::Partition}:events:${AWS::Region}:${AWS::AccountId}:rule/dingtalk-notifier-${Id}-*",
                    {"Id": stack_id()}
                ]}}
            }
        }]})
    );
    // Every rule by such a name (the opt-in ones too): no other rule of the
    // account may use the role, and none of ours is left out of it.
    let mut kinds = BTreeSet::new();
    for (rule, res) in f["Resources"].as_object().unwrap() {
        if res["Type"] != "AWS::Events::Rule" {
            continue;
        }
        let name = &res["Properties"]["Name"]["Fn::Sub"];
        assert_eq!(name[1], json!({"Id": stack_id()}), "{rule}");
        let kind = name[0]
            .as_str()
            .and_then(|n| n.strip_prefix("dingtalk-notifier-${Id}-"))
            .unwrap_or_else(|| panic!("{rule}: {name}"));
        // EventBridge's 64 characters with a 36-character uuid.
        assert!(
            "dingtalk-notifier-".len() + 36 + 1 + kind.len() <= 64,
            "{rule}"
        );
        assert!(kinds.insert(kind.to_string()), "{rule}: {kind} twice");
    }
    assert_eq!(kinds.len(), RULES.len(), "{kinds:?}");
    for (rule, kind) in [
        ("HealthRule", "health"),
        ("HealthAbuseRule", "abuse"),
        ("Ec2StateChangeRule", "ec2"),
        ("AlarmRule", "alarm"),
        ("TestEventRule", "test"),
    ] {
        assert_eq!(
            f["Resources"][rule]["Properties"]["Name"],
            json!({"Fn::Sub": [format!("dingtalk-notifier-${{Id}}-{kind}"), {"Id": stack_id()}]}),
            "{rule}"
        );
    }
    // The deploy policy changes and passes only roles on this path.
    assert_eq!(role["Properties"]["Path"], "/dingtalk-notifier/");
    assert_eq!(
        role["Properties"]["PermissionsBoundary"],
        json!({"Fn::If": ["HasPermissionsBoundary", {"Ref": "PermissionsBoundaryArn"}, {"Ref": "AWS::NoValue"}]})
    );
    assert!(role["Properties"]["ManagedPolicyArns"].is_null());
}

#[test]
fn forwarder_role_may_only_put_events_on_the_home_bus() {
    let f = forwarder();
    assert_eq!(
        f["Resources"]["ForwarderRole"]["Properties"]["Policies"],
        json!([{
            "PolicyName": "forward-to-home-bus",
            "PolicyDocument": {"Version": "2012-10-17", "Statement": [{
                "Sid": "PutEventsOnTheHomeBus",
                "Effect": "Allow",
                "Action": "events:PutEvents",
                "Resource": home_bus()
            }]}
        }])
    );
    let kinds: Vec<&str> = f["Resources"]
        .as_object()
        .unwrap()
        .values()
        .map(|r| r["Type"].as_str().unwrap())
        .filter(|t| *t != "AWS::Events::Rule")
        .collect();
    assert_eq!(
        kinds,
        ["AWS::IAM::Role"],
        "rules and one role, nothing else"
    );
}

#[test]
fn forwarder_refuses_its_own_bus_as_home() {
    let f = forwarder();
    // Another region, or (an organization's member account) another
    // account: only both equal would loop.
    assert_eq!(
        f["Rules"]["HomeBusIsAnotherBus"]["Assertions"][0]["Assert"],
        json!({"Fn::Or": [
            {"Fn::Not": [{"Fn::Equals": [{"Ref": "HomeRegion"}, {"Ref": "AWS::Region"}]}]},
            {"Fn::And": [
                {"Fn::Not": [{"Fn::Equals": [{"Ref": "HomeAccountId"}, ""]}]},
                {"Fn::Not": [{"Fn::Equals": [{"Ref": "HomeAccountId"}, {"Ref": "AWS::AccountId"}]}]}
            ]}
        ]})
    );
    assert_eq!(
        f["Parameters"]["HomeAccountId"],
        json!({"Type": "String", "Default": "", "AllowedPattern": "^([0-9]{12})?$",
               "ConstraintDescription": "must be a 12-digit AWS account id, or empty.",
               "Description": f["Parameters"]["HomeAccountId"]["Description"]})
    );
    assert_eq!(
        f["Conditions"]["HasHomeAccountId"],
        json!({"Fn::Not": [{"Fn::Equals": [{"Ref": "HomeAccountId"}, ""]}]})
    );
    assert_eq!(
        f["Outputs"]["HomeBusArn"]["Value"],
        home_bus(),
        "the output names the bus the rules target"
    );
}

#[test]
fn a_stacksets_forwarder_keeps_the_health_events_about_its_own_region() {
    let f = forwarder();
    let about_this_region = json!({"Fn::If": ["InGlobalEventsRegion",
        [{"Ref": "AWS::Region"}, "global"], [{"Ref": "AWS::Region"}]]});
    // In a member account, AWS Health's PUBLIC events (sent to every
    // account) stay there: the home account's own copy is delivered once.
    assert_eq!(
        f["Resources"]["HealthRule"]["Properties"]["EventPattern"]["Fn::If"][1],
        json!({"Fn::If": ["InAnotherAccount",
            {"source": ["aws.health"], "detail-type": ["AWS Health Event"],
             "detail": {"eventRegion": about_this_region,
                        "eventScopeCode": [{"anything-but": ["PUBLIC"]}]}},
            {"source": ["aws.health"], "detail-type": ["AWS Health Event"],
             "detail": {"eventRegion": about_this_region}}]})
    );
    assert_eq!(
        f["Conditions"]["InAnotherAccount"],
        json!({"Fn::And": [
            {"Condition": "HasHomeAccountId"},
            {"Fn::Not": [{"Fn::Equals": [{"Ref": "HomeAccountId"}, {"Ref": "AWS::AccountId"}]}]}
        ]})
    );
    assert_eq!(
        f["Conditions"]["InHomeAccount"],
        json!({"Fn::Not": [{"Condition": "InAnotherAccount"}]})
    );
    assert_eq!(
        f["Conditions"]["HealthEventsAboutThisRegionOn"],
        json!({"Fn::Equals": [{"Ref": "HealthEventsAboutThisRegion"}, "true"]})
    );
    // src/regions/mod.rs global_events_region, for each partition.
    assert_eq!(
        f["Conditions"]["InGlobalEventsRegion"],
        json!({"Fn::Or": [
            {"Fn::Equals": [{"Ref": "AWS::Region"}, "us-east-1"]},
            {"Fn::Equals": [{"Ref": "AWS::Region"}, "cn-north-1"]},
            {"Fn::Equals": [{"Ref": "AWS::Region"}, "us-gov-west-1"]}
        ]})
    );
    assert_eq!(
        f["Parameters"]["HealthEventsAboutThisRegion"]["Default"],
        "false"
    );
}

#[test]
fn test_events_use_a_source_eventbridge_accepts_from_us_and_only_the_home_accounts() {
    let (f, n) = (forwarder(), notifier());
    let test = json!({"source": ["dingtalk-notifier.test"], "detail-type": ["dingtalk-notifier test event"]});
    assert_eq!(
        f["Resources"]["TestEventRule"]["Properties"]["EventPattern"],
        test
    );
    // A member account's forwarder has none: its principals could post any
    // text into the group with a PutEvents on their own bus.
    assert_eq!(
        f["Resources"]["TestEventRule"]["Condition"],
        "InHomeAccount"
    );
    assert_eq!(
        f["Outputs"]["TestEventRuleName"]["Condition"],
        "InHomeAccount"
    );
    // The home's rules, on the default bus and on the bus for forwarded
    // events, take the home account's own test events only.
    let mut home_only = test.clone();
    home_only["account"] = json!([{"Ref": "AWS::AccountId"}]);
    for rule in ["TestEventRule", "ForwardedTestEventRule"] {
        let r = &n["Resources"][rule];
        assert_eq!(r["Properties"]["EventPattern"], home_only, "{rule}");
        assert!(r["Condition"].is_null(), "{rule} is always on");
    }
    let source = test["source"][0].as_str().unwrap();
    // PutEvents refuses entries whose source starts with "aws."
    // (NotAuthorizedForSourceException); moto accepts them.
    assert!(!source.starts_with("aws."), "{source}");
}

#[test]
fn health_rules_filter_on_the_region_an_event_is_about() {
    let (f, n) = (forwarder(), notifier());
    for pattern in [
        shared_pattern("HealthRule", &f["Resources"]["HealthRule"]),
        n["Resources"]["HealthRule"]["Properties"]["EventPattern"].clone(),
    ] {
        assert_eq!(
            pattern,
            json!({"Fn::If": ["HasHealthForwardedRegions",
                {"source": ["aws.health"], "detail-type": ["AWS Health Event"],
                 "$or": [
                    {"region": [{"Ref": "AWS::Region"}],
                     "detail": {"eventRegion": {"Ref": "HealthEventRegions"}}},
                    {"region": {"Ref": "HealthForwardedRegions"}}
                 ]},
                {"Fn::If": ["HasHealthEventRegions",
                    {"source": ["aws.health"], "detail-type": ["AWS Health Event"],
                     "detail": {"eventRegion": {"Ref": "HealthEventRegions"}}},
                    {"source": ["aws.health"], "detail-type": ["AWS Health Event"]}]}]})
        );
    }
}

// ---------------------------------------------------------------- on moto

struct World {
    _moto: testkit::Moto,
    config: aws_config::SdkConfig,
    secret_arn: String,
}

async fn world() -> World {
    let moto = testkit::Moto::start().expect("moto starts");
    let config = moto.sdk_config().await;
    let s3 = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&config)
            .force_path_style(true)
            .build(),
    );
    s3.create_bucket()
        .bucket("artifacts-test")
        .send()
        .await
        .unwrap();
    s3.put_object()
        .bucket("artifacts-test")
        .key("lambda/abc.zip")
        .body(
            b"PK\x05\x06\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0"
                .to_vec()
                .into(),
        )
        .send()
        .await
        .unwrap();
    let secret_arn = aws_sdk_secretsmanager::Client::new(&config)
        .create_secret()
        .name("dingtalk-notifier/fwd/webhook")
        .secret_string("placeholder")
        .send()
        .await
        .unwrap()
        .arn()
        .unwrap()
        .to_string();
    World {
        _moto: moto,
        config,
        secret_arn,
    }
}

impl World {
    fn in_region(&self, region: &str) -> aws_config::SdkConfig {
        self.config
            .to_builder()
            .region(aws_config::Region::new(region.to_string()))
            .build()
    }

    async fn deploy(
        &self,
        region: &str,
        name: &str,
        template: &str,
        params: &[(&str, &str)],
    ) -> BTreeMap<String, String> {
        let cfn = aws_sdk_cloudformation::Client::new(&self.in_region(region));
        cfn.create_stack()
            .stack_name(name)
            .template_body(template)
            .capabilities(Capability::CapabilityIam)
            .set_parameters(Some(
                params
                    .iter()
                    .map(|(k, v)| {
                        Parameter::builder()
                            .parameter_key(*k)
                            .parameter_value(*v)
                            .build()
                    })
                    .collect(),
            ))
            .send()
            .await
            .unwrap();
        for _ in 0..100 {
            let out = cfn.describe_stacks().stack_name(name).send().await.unwrap();
            let stack = &out.stacks()[0];
            let status = stack.stack_status().unwrap().as_str().to_string();
            if !status.ends_with("_IN_PROGRESS") {
                assert_eq!(
                    status,
                    "CREATE_COMPLETE",
                    "{:?}",
                    stack.stack_status_reason()
                );
                return stack
                    .outputs()
                    .iter()
                    .map(|o| {
                        (
                            o.output_key().unwrap().to_string(),
                            o.output_value().unwrap().to_string(),
                        )
                    })
                    .collect();
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        panic!("stack {name} did not settle");
    }

    async fn pattern(&self, region: &str, rule: &str) -> Value {
        let events = aws_sdk_eventbridge::Client::new(&self.in_region(region));
        let out = events.describe_rule().name(rule).send().await.unwrap();
        serde_json::from_str(out.event_pattern().unwrap()).unwrap()
    }
}

const OUTPUTS: [&str; 5] = [
    "HealthRuleName",
    "HealthAbuseRuleName",
    "Ec2StateChangeRuleName",
    "AlarmRuleName",
    "TestEventRuleName",
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deployed_forwarder_patterns_equal_the_home_stacks_for_the_same_parameters() {
    let w = world().await;
    // moto 5.2.5 does not split a CommaDelimitedList's default, so the lists
    // are passed as the CLI passes them.
    let cases: [&[(&str, &str)]; 2] = [
        &[
            ("HealthEventRegions", "eu-west-1"),
            ("Ec2States", "running,stopped,terminated"),
            ("AlarmStates", ""),
        ],
        &[
            ("HealthEventRegions", "us-east-1,global"),
            ("Ec2States", "stopped"),
            ("AlarmStates", "ALARM,OK"),
        ],
    ];
    for (i, switches) in cases.iter().enumerate() {
        let mut home = vec![
            ("ArtifactBucket", "artifacts-test"),
            ("ArtifactKey", "lambda/abc.zip"),
            ("WebhookSecretArn", w.secret_arn.as_str()),
        ];
        home.extend_from_slice(switches);
        let home_out = w
            .deploy("us-east-1", &format!("home-{i}"), NOTIFIER, &home)
            .await;
        let bus = format!("dingtalk-notifier-home-{i}");
        let mut fwd = vec![
            ("HomeRegion", "us-east-1"),
            ("HomeEventBusName", bus.as_str()),
        ];
        fwd.extend_from_slice(switches);
        let fwd_out = w
            .deploy("eu-west-1", &format!("fwd-{i}"), FORWARDER, &fwd)
            .await;
        for output in OUTPUTS {
            let mut forwarded = w.pattern("eu-west-1", &fwd_out[output]).await;
            if output == "TestEventRuleName" {
                // The home takes its own account's test events only.
                forwarded["account"] = json!(["123456789012"]);
            }
            assert_eq!(
                forwarded,
                w.pattern("us-east-1", &home_out[output]).await,
                "case {i}: {output}"
            );
        }
        // The rules on the home's bus for forwarded events are its rules.
        let events = aws_sdk_eventbridge::Client::new(&w.in_region("us-east-1"));
        let on_bus = events
            .list_rules()
            .event_bus_name(&bus)
            .send()
            .await
            .unwrap();
        let mut on_bus: Vec<Value> = on_bus
            .rules()
            .iter()
            .map(|r| serde_json::from_str(r.event_pattern().unwrap()).unwrap())
            .collect();
        let mut on_default = Vec::new();
        for output in OUTPUTS {
            on_default.push(w.pattern("us-east-1", &home_out[output]).await);
        }
        // Besides them one rule for what the opt-in rules forward (each
        // forwarder filters as the home's rule of its kind does).
        let opt_in = json!({"$or": [
            {"source": [{"anything-but": ["aws.health", "aws.ec2", "aws.cloudwatch", "dingtalk-notifier.test"]}]},
            {"detail-type": ["AWS Console Sign In via CloudTrail", "AWS API Call via CloudTrail"]}
        ]});
        let before = on_bus.len();
        on_bus.retain(|p| *p != opt_in);
        assert_eq!(before - on_bus.len(), 1, "case {i}: the opt-in rule");
        let key = |v: &Value| v.to_string();
        on_bus.sort_by_key(key);
        on_default.sort_by_key(key);
        assert_eq!(on_bus, on_default, "case {i}");
    }

    // A home stack with forwarders: its own events about itself, or what
    // the forwarders sent.
    let home = w
        .deploy(
            "us-east-1",
            "home-forwarded",
            NOTIFIER,
            &[
                ("ArtifactBucket", "artifacts-test"),
                ("ArtifactKey", "lambda/abc.zip"),
                ("WebhookSecretArn", w.secret_arn.as_str()),
                ("HealthEventRegions", "us-east-1,global"),
                ("HealthForwardedRegions", "eu-west-1,us-west-2"),
                ("Ec2States", "running,stopped,terminated"),
                ("AlarmStates", ""),
            ],
        )
        .await;
    assert_eq!(
        w.pattern("us-east-1", &home["HealthRuleName"]).await,
        json!({"source": ["aws.health"], "detail-type": ["AWS Health Event"], "$or": [
            {"region": ["us-east-1"], "detail": {"eventRegion": ["us-east-1", "global"]}},
            {"region": ["eu-west-1", "us-west-2"]}
        ]})
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deployed_forwarder_targets_the_home_bus_with_its_role() {
    let w = world().await;
    let out = w
        .deploy(
            "ap-southeast-1",
            "fwd",
            FORWARDER,
            &[
                ("HomeRegion", "us-west-2"),
                ("HomeEventBusName", "dingtalk-notifier-alerts"),
                ("HealthEventRegions", "ap-southeast-1"),
                ("Ec2States", "running,stopped,terminated"),
                ("AlarmStates", ""),
            ],
        )
        .await;
    assert_eq!(
        out["HomeBusArn"],
        "arn:aws:events:us-west-2:123456789012:event-bus/dingtalk-notifier-alerts"
    );
    assert!(
        out["ForwarderRoleArn"].starts_with("arn:aws:iam::123456789012:role/dingtalk-notifier/"),
        "{}",
        out["ForwarderRoleArn"]
    );
    let events = aws_sdk_eventbridge::Client::new(&w.in_region("ap-southeast-1"));
    for output in OUTPUTS {
        let targets = events
            .list_targets_by_rule()
            .rule(&out[output])
            .send()
            .await
            .unwrap();
        let targets = targets.targets();
        assert_eq!(targets.len(), 1, "{output}");
        assert_eq!(targets[0].arn(), out["HomeBusArn"], "{output}");
        assert_eq!(
            targets[0].role_arn(),
            Some(out["ForwarderRoleArn"].as_str()),
            "{output}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_accounts_forwarder_targets_the_home_accounts_bus_in_its_own_region() {
    let w = world().await;
    let out = w
        .deploy(
            "us-east-1",
            "member-fwd",
            FORWARDER,
            &[
                ("HomeRegion", "us-east-1"),
                ("HomeAccountId", "111122223333"),
                ("HomeEventBusName", "dingtalk-notifier-alerts"),
                ("HealthEventsAboutThisRegion", "true"),
                ("HealthEventRegions", ""),
                ("Ec2States", "running,stopped,terminated"),
                ("AlarmStates", ""),
            ],
        )
        .await;
    assert_eq!(
        out["HomeBusArn"],
        "arn:aws:events:us-east-1:111122223333:event-bus/dingtalk-notifier-alerts"
    );
    assert_eq!(
        w.pattern("us-east-1", &out["HealthRuleName"]).await,
        json!({"source": ["aws.health"], "detail-type": ["AWS Health Event"],
               "detail": {"eventRegion": ["us-east-1", "global"],
                          "eventScopeCode": [{"anything-but": ["PUBLIC"]}]}})
    );
    // No test rule in a member account.
    assert!(!out.contains_key("TestEventRuleName"), "{out:?}");
    let events = aws_sdk_eventbridge::Client::new(&w.in_region("us-east-1"));
    let rules = events.list_rules().send().await.unwrap();
    assert!(
        rules.rules().iter().all(|r| !r
            .event_pattern()
            .unwrap_or("")
            .contains("dingtalk-notifier.test")),
        "{rules:?}"
    );
    for output in OUTPUTS.into_iter().filter(|o| *o != "TestEventRuleName") {
        let targets = events
            .list_targets_by_rule()
            .rule(&out[output])
            .send()
            .await
            .unwrap();
        assert_eq!(targets.targets()[0].arn(), out["HomeBusArn"], "{output}");
    }
    let elsewhere = w
        .deploy(
            "eu-west-1",
            "member-fwd",
            FORWARDER,
            &[
                ("HomeRegion", "us-east-1"),
                ("HomeAccountId", "111122223333"),
                ("HomeEventBusName", "dingtalk-notifier-alerts"),
                ("HealthEventsAboutThisRegion", "true"),
                ("HealthEventRegions", ""),
                ("Ec2States", "running,stopped,terminated"),
                ("AlarmStates", ""),
            ],
        )
        .await;
    assert_eq!(
        w.pattern("eu-west-1", &elsewhere["HealthRuleName"]).await,
        json!({"source": ["aws.health"], "detail-type": ["AWS Health Event"],
               "detail": {"eventRegion": ["eu-west-1"],
                          "eventScopeCode": [{"anything-but": ["PUBLIC"]}]}})
    );
}
