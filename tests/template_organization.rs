//! The notifier template's side of `deploy --organization`
//! (docs/design.md, "Many accounts"): with an `OrganizationId`, one
//! statement on the default bus lets the organization's principals put
//! events there; without one, nothing. tests/organization_flow.rs reads it
//! back as deployed (testkit teaches moto the resource) and shows its effect.

use serde_json::{json, Value};

const NOTIFIER: &str = include_str!("../templates/notifier.yaml");

fn notifier() -> Value {
    yaml_serde::from_str(NOTIFIER).expect("the notifier template is plain YAML")
}

#[test]
fn the_bus_policy_lets_only_the_organizations_principals_put_events() {
    let t = notifier();
    assert_eq!(
        t["Resources"]["OrganizationBusPolicy"],
        json!({
            "Type": "AWS::Events::EventBusPolicy",
            "Condition": "HasOrganizationId",
            "Properties": {
                "EventBusName": "default",
                "StatementId": {"Fn::Sub": "${AWS::StackName}-organization"},
                "Statement": {
                    "Effect": "Allow",
                    "Principal": "*",
                    "Action": "events:PutEvents",
                    "Resource": {"Fn::Sub": "arn:${AWS::Partition}:events:${AWS::Region}:${AWS::AccountId}:event-bus/default"},
                    "Condition": {
                        "StringEquals": {"aws:PrincipalOrgID": {"Ref": "OrganizationId"}},
                        "ArnLike": {"aws:PrincipalArn": {"Fn::Sub": "arn:${AWS::Partition}:iam::*:role/dingtalk-notifier/*"}}
                    }
                }
            }
        })
    );
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
