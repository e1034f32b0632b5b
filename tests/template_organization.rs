//! The notifier template's side of `deploy --organization`
//! (docs/design.md, "Many accounts"): with an `OrganizationId`, one
//! statement on the stack's own bus for forwarded events lets the
//! organization's forwarder roles put AWS events there; without one, nothing. tests/organization_flow.rs reads it
//! back as deployed (testkit teaches moto the resource) and shows its effect.

use serde_json::{json, Value};

const NOTIFIER: &str = include_str!("../templates/notifier.yaml");

fn notifier() -> Value {
    yaml_serde::from_str(NOTIFIER).expect("the notifier template is plain YAML")
}

#[test]
fn the_bus_policy_lets_only_the_organizations_forwarders_put_aws_events_on_our_own_bus() {
    let t = notifier();
    assert_eq!(
        t["Resources"]["OrganizationBusPolicy"],
        json!({
            "Type": "AWS::Events::EventBusPolicy",
            "Condition": "HasOrganizationId",
            "Properties": {
                "EventBusName": {"Ref": "ForwardedEventBus"},
                "StatementId": {"Fn::Sub": "${AWS::StackName}-organization"},
                "Statement": {
                    "Effect": "Allow",
                    "Principal": "*",
                    "Action": "events:PutEvents",
                    "Resource": {"Fn::GetAtt": ["ForwardedEventBus", "Arn"]},
                    "Condition": {
                        "StringEquals": {
                            "aws:PrincipalOrgID": {"Ref": "OrganizationId"}
                        },
                        // Only AWS events: PutEvents refuses aws.* sources from customers.
                        "StringLike": {"events:source": "aws.*"},
                        "ArnLike": {"aws:PrincipalArn": {"Fn::Sub": "arn:${AWS::Partition}:iam::*:role/dingtalk-notifier/*"}}
                    }
                }
            }
        })
    );
    // Not the default bus: forwarded events reach only our rules.
    assert_eq!(
        t["Resources"]["ForwardedEventBus"],
        json!({"Type": "AWS::Events::EventBus", "Properties": {
            "Name": {"Fn::Sub": "dingtalk-notifier-${AWS::StackName}"},
            "Tags": [
                {"Key": "app", "Value": "dingtalk-notifier"},
                {"Key": "dingtalk-notifier:stack", "Value": {"Ref": "AWS::StackName"}}
            ]
        }})
    );
}

#[test]
fn every_rule_is_on_the_default_bus_and_on_the_bus_for_forwarded_events() {
    let t = notifier();
    for rule in [
        "HealthRule",
        "HealthAbuseRule",
        "Ec2StateChangeRule",
        "AlarmRule",
        "TestEventRule",
    ] {
        let local = &t["Resources"][rule];
        let forwarded = &t["Resources"][format!("Forwarded{rule}")];
        assert_eq!(local["Properties"]["EventBusName"], "default", "{rule}");
        assert_eq!(
            forwarded["Properties"]["EventBusName"],
            json!({"Ref": "ForwardedEventBus"}),
            "{rule}"
        );
        for key in ["EventPattern", "Targets", "State"] {
            assert_eq!(
                forwarded["Properties"][key], local["Properties"][key],
                "{rule} {key}"
            );
        }
        assert_eq!(forwarded["Condition"], local["Condition"], "{rule}");
    }
    // The sources the bus policy lets in are exactly those of the rules
    // that member forwarders have (their test rule exists only at home).
    let sources: Vec<Value> = [
        "HealthRule",
        "HealthAbuseRule",
        "Ec2StateChangeRule",
        "AlarmRule",
    ]
    .iter()
    .flat_map(|r| {
        let p = &t["Resources"][*r]["Properties"]["EventPattern"];
        let p = if p["Fn::If"].is_array() {
            &p["Fn::If"][1]
        } else {
            p
        };
        p["source"].as_array().unwrap().clone()
    })
    .collect();
    let mut sources: Vec<String> = sources
        .iter()
        .map(|s| s.as_str().unwrap().to_string())
        .collect();
    sources.dedup();
    assert_eq!(sources, ["aws.health", "aws.ec2", "aws.cloudwatch"]);
}

#[test]
fn no_organization_id_no_bus_policy() {
    let t = notifier();
    assert_eq!(
        t["Conditions"]["HasOrganizationId"],
        json!({"Fn::Not": [{"Fn::Equals": [{"Ref": "OrganizationId"}, ""]}]})
    );
    let p = &t["Parameters"]["OrganizationId"];
    assert_eq!(p["Type"], "String");
    assert_eq!(p["Default"], "");
    assert_eq!(p["AllowedPattern"], "^(o-[a-z0-9]{10,32})?$");
    let policies: Vec<&str> = t["Resources"]
        .as_object()
        .unwrap()
        .iter()
        .filter(|(_, r)| r["Type"] == "AWS::Events::EventBusPolicy")
        .map(|(k, _)| k.as_str())
        .collect();
    assert_eq!(policies, ["OrganizationBusPolicy"], "the only bus policy");
}

#[test]
fn the_statement_id_is_the_stack_name_and_the_suffix_deploy_counts_with() {
    // StatementId: 1-64 of [a-zA-Z0-9-_]; `deploy --organization` refuses a
    // stack name longer than 64 - "-organization" (its unit test).
    let t = notifier();
    assert_eq!(
        t["Resources"]["OrganizationBusPolicy"]["Properties"]["StatementId"],
        json!({"Fn::Sub": "${AWS::StackName}-organization"})
    );
}
