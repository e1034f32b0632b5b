//! The CloudFormation template, deployed to a real moto server.
//!
//! moto keeps event patterns verbatim and models the topic, rules, function,
//! queue and log group, so those are asserted on the deployed resources. IAM is
//! not enforced by moto, so the policies are asserted on the template itself.

use std::collections::BTreeMap;
use std::time::Duration;

use aws_sdk_cloudformation::types::{Capability, Parameter};
use serde_json::{json, Value};

const TEMPLATE: &str = include_str!("../templates/notifier.yaml");

struct World {
    _moto: testkit::Moto,
    cfn: aws_sdk_cloudformation::Client,
    events: aws_sdk_eventbridge::Client,
    lambda: aws_sdk_lambda::Client,
    logs: aws_sdk_cloudwatchlogs::Client,
    sqs: aws_sdk_sqs::Client,
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
    let secrets = aws_sdk_secretsmanager::Client::new(&config);
    let secret_arn = secrets
        .create_secret()
        .name("dingtalk-notifier/tpl/webhook")
        .secret_string("placeholder")
        .send()
        .await
        .unwrap()
        .arn()
        .unwrap()
        .to_string();
    World {
        cfn: aws_sdk_cloudformation::Client::new(&config),
        events: aws_sdk_eventbridge::Client::new(&config),
        lambda: aws_sdk_lambda::Client::new(&config),
        logs: aws_sdk_cloudwatchlogs::Client::new(&config),
        sqs: aws_sdk_sqs::Client::new(&config),
        _moto: moto,
        secret_arn,
    }
}

impl World {
    /// Creates a stack and returns its outputs once it is CREATE_COMPLETE.
    async fn deploy(&self, name: &str, extra: &[(&str, &str)]) -> BTreeMap<String, String> {
        let mut params = vec![
            ("ArtifactBucket", "artifacts-test"),
            ("ArtifactKey", "lambda/abc.zip"),
            ("WebhookSecretArn", self.secret_arn.as_str()),
        ];
        params.extend_from_slice(extra);
        self.cfn
            .create_stack()
            .stack_name(name)
            .template_body(TEMPLATE)
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
            let out = self
                .cfn
                .describe_stacks()
                .stack_name(name)
                .send()
                .await
                .unwrap();
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

    async fn pattern(&self, rule: &str) -> Value {
        let out = self.events.describe_rule().name(rule).send().await.unwrap();
        serde_json::from_str(out.event_pattern().unwrap()).unwrap()
    }

    async fn target(&self, rule: &str) -> String {
        let out = self
            .events
            .list_targets_by_rule()
            .rule(rule)
            .send()
            .await
            .unwrap();
        assert_eq!(out.targets().len(), 1);
        out.targets()[0].arn().to_string()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn default_stack_has_every_rule_function_queue_and_logs() {
    let w = world().await;
    // moto 5.2.5 does not split a CommaDelimitedList's *default* (it hands
    // the rule the string "running,stopped,terminated"; CloudFormation splits
    // it), so the EC2 default is passed as the CLI passes it and checked
    // statically in `ec2_rule_defaults_to_the_original_apps_three_states`.
    let out = w
        .deploy(
            "notifier-default",
            &[("Ec2States", "running,stopped,terminated")],
        )
        .await;
    let keys: Vec<&str> = out.keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        [
            "AlarmRuleName",
            "AlertQueueUrl",
            "DeadLetterQueueUrl",
            "Ec2StateChangeRuleName",
            "EventBusName",
            "ForwardedEventBusName",
            "FunctionArn",
            "FunctionName",
            "HealthAbuseRuleName",
            "HealthRuleName",
            "LogGroupName",
            "OpsTopicArn",
            "SecretArn",
            "SnsTopicArn",
            "StateTableName",
            "TestEventRuleName",
            "TopicArn",
        ]
    );
    assert_eq!(out["EventBusName"], "default");
    assert_eq!(
        out["ForwardedEventBusName"],
        "dingtalk-notifier-notifier-default"
    );
    // The original app's output name, for its plugin stacks.
    assert_eq!(out["SnsTopicArn"], out["TopicArn"]);
    assert_eq!(out["SecretArn"], w.secret_arn);
    assert_eq!(out["LogGroupName"], "/dingtalk-notifier/notifier-default");
    // The ops alarms tell a topic of their own, not the alert topic.
    assert!(out["OpsTopicArn"].starts_with("arn:aws:sns:us-east-1:"));
    assert_ne!(out["OpsTopicArn"], out["TopicArn"]);

    let topic = &out["TopicArn"];
    let expected = [
        (
            "HealthRuleName",
            json!({"source": ["aws.health"], "detail-type": ["AWS Health Event"]}),
        ),
        (
            "HealthAbuseRuleName",
            json!({"source": ["aws.health"], "detail-type": ["AWS Health Abuse Event"]}),
        ),
        (
            "Ec2StateChangeRuleName",
            json!({"source": ["aws.ec2"], "detail-type": ["EC2 Instance State-change Notification"],
                   "detail": {"state": ["running", "stopped", "terminated"]}}),
        ),
        (
            "AlarmRuleName",
            json!({"source": ["aws.cloudwatch"], "detail-type": ["CloudWatch Alarm State Change"]}),
        ),
        (
            "TestEventRuleName",
            json!({"source": ["dingtalk-notifier.test"], "detail-type": ["dingtalk-notifier test event"],
                   "account": ["123456789012"]}),
        ),
    ];
    for (output, pattern) in expected {
        let rule = &out[output];
        assert_eq!(w.pattern(rule).await, pattern, "{output}");
        assert_eq!(&w.target(rule).await, topic, "{output} targets the topic");
    }

    let f = w
        .lambda
        .get_function_configuration()
        .function_name(&out["FunctionName"])
        .send()
        .await
        .unwrap();
    assert_eq!(f.runtime().unwrap().as_str(), "provided.al2023");
    assert_eq!(f.handler(), Some("bootstrap"));
    assert_eq!(f.memory_size(), Some(256));
    assert_eq!(f.timeout(), Some(60));
    let env: BTreeMap<String, String> = f
        .environment()
        .unwrap()
        .variables()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let expected_env: BTreeMap<String, String> = [
        ("DINGTALK_SECRET_ARN", w.secret_arn.as_str()),
        ("DISPLAY_TIME_ZONE", "Asia/Shanghai"),
        ("LLM_ENABLED", "false"),
        ("LLM_MODEL_ID", "amazon.nova-lite-v1:0"),
        ("LLM_REGION", ""),
        ("LLM_SYSTEM_PROMPT", ""),
        ("LLM_MAX_TOKENS", "400"),
        ("LLM_TEMPERATURE", "0.2"),
        ("STATE_TABLE", "dingtalk-notifier-notifier-default-state"),
        ("DEBUG_LOGS", "false"),
        ("ACCOUNT_NAMES", ""),
        ("ROUTES", ""),
        ("DINGTALK_WEBHOOK_HOSTS", ""),
        ("RUST_LOG", "info"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    assert_eq!(env, expected_env);

    let groups = w
        .logs
        .describe_log_groups()
        .log_group_name_prefix("/dingtalk-notifier/notifier-default")
        .send()
        .await
        .unwrap();
    assert_eq!(groups.log_groups().len(), 1);
    assert_eq!(groups.log_groups()[0].retention_in_days(), Some(30));

    let attrs = w
        .sqs
        .get_queue_attributes()
        .queue_url(&out["DeadLetterQueueUrl"])
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::All)
        .send()
        .await
        .unwrap();
    let attrs = attrs.attributes().unwrap();
    assert_eq!(
        attrs
            .get(&aws_sdk_sqs::types::QueueAttributeName::MessageRetentionPeriod)
            .map(String::as_str),
        Some("1209600")
    );
    let dlq_arn = attrs
        .get(&aws_sdk_sqs::types::QueueAttributeName::QueueArn)
        .cloned()
        .unwrap();

    // The buffer: redrives to the DLQ after MaxReceiveCount, visible again
    // after 6 x the function timeout + the batching window (AWS's rule).
    let attrs = w
        .sqs
        .get_queue_attributes()
        .queue_url(&out["AlertQueueUrl"])
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::All)
        .send()
        .await
        .unwrap();
    let attrs = attrs.attributes().unwrap();
    let attr =
        |k: aws_sdk_sqs::types::QueueAttributeName| attrs.get(&k).cloned().unwrap_or_default();
    assert_eq!(
        attr(aws_sdk_sqs::types::QueueAttributeName::VisibilityTimeout),
        (6 * default_of("Timeout") + default_of("BatchWindowSeconds")).to_string()
    );
    assert_eq!(
        attr(aws_sdk_sqs::types::QueueAttributeName::MessageRetentionPeriod),
        "345600"
    );
    let redrive: Value =
        serde_json::from_str(&attr(aws_sdk_sqs::types::QueueAttributeName::RedrivePolicy)).unwrap();
    assert_eq!(redrive["deadLetterTargetArn"], dlq_arn.as_str());
    assert_eq!(
        redrive["maxReceiveCount"].to_string().trim_matches('"'),
        "15"
    );
    let buffer_arn = attr(aws_sdk_sqs::types::QueueAttributeName::QueueArn);

    // The function reads the buffer in batches and reports partial failures.
    let mappings = w
        .lambda
        .list_event_source_mappings()
        .function_name(&out["FunctionName"])
        .send()
        .await
        .unwrap();
    let mappings = mappings.event_source_mappings();
    assert_eq!(mappings.len(), 1, "{mappings:?}");
    assert_eq!(mappings[0].event_source_arn(), Some(buffer_arn.as_str()));
    assert_eq!(mappings[0].batch_size(), Some(50));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn switches_remove_rules_and_filters_narrow_patterns() {
    let w = world().await;
    let out = w
        .deploy(
            "notifier-switched",
            &[
                ("EnableHealthRule", "false"),
                ("EnableHealthAbuseRule", "false"),
                ("Ec2States", "stopped,terminated"),
                ("AlarmStates", "ALARM,OK"),
                ("MemorySize", "512"),
                ("Timeout", "120"),
                ("AlertQueueVisibilityTimeout", "730"),
                ("LogRetentionInDays", "7"),
                ("LlmEnabled", "true"),
                ("LlmModelId", "apac.amazon.nova-lite-v1:0"),
            ],
        )
        .await;
    assert!(!out.contains_key("HealthRuleName"));
    assert!(!out.contains_key("HealthAbuseRuleName"));
    assert_eq!(
        w.pattern(&out["Ec2StateChangeRuleName"]).await,
        json!({
            "source": ["aws.ec2"],
            "detail-type": ["EC2 Instance State-change Notification"],
            "detail": {"state": ["stopped", "terminated"]}
        })
    );
    assert_eq!(
        w.pattern(&out["AlarmRuleName"]).await,
        json!({
            "source": ["aws.cloudwatch"],
            "detail-type": ["CloudWatch Alarm State Change"],
            "detail": {"state": {"value": ["ALARM", "OK"]}}
        })
    );
    let rules = w
        .events
        .list_rules()
        .name_prefix("notifier-switched")
        .send()
        .await
        .unwrap();
    assert_eq!(
        rules.rules().len(),
        3,
        "only the EC2, alarm and test-event rules exist"
    );

    let f = w
        .lambda
        .get_function_configuration()
        .function_name(&out["FunctionName"])
        .send()
        .await
        .unwrap();
    assert_eq!(f.memory_size(), Some(512));
    assert_eq!(f.timeout(), Some(120));
    let env = f.environment().unwrap().variables().unwrap();
    assert_eq!(env["LLM_ENABLED"], "true");
    assert_eq!(env["LLM_MODEL_ID"], "apac.amazon.nova-lite-v1:0");
    let groups = w
        .logs
        .describe_log_groups()
        .log_group_name_prefix("/dingtalk-notifier/notifier-switched")
        .send()
        .await
        .unwrap();
    assert_eq!(groups.log_groups()[0].retention_in_days(), Some(7));
    let attrs = w
        .sqs
        .get_queue_attributes()
        .queue_url(&out["AlertQueueUrl"])
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::VisibilityTimeout)
        .send()
        .await
        .unwrap();
    assert_eq!(
        attrs
            .attributes()
            .and_then(|a| a.get(&aws_sdk_sqs::types::QueueAttributeName::VisibilityTimeout))
            .map(String::as_str),
        Some("730"),
        "6 x 120 + 10"
    );
}

fn template() -> Value {
    yaml_serde::from_str(TEMPLATE).expect("the template is plain YAML")
}

/// A Number parameter's default, as CloudFormation reads it.
fn default_of(name: &str) -> u64 {
    let d = &template()["Parameters"][name]["Default"];
    d.as_u64()
        .or_else(|| d.as_str().and_then(|s| s.parse().ok()))
        .unwrap_or_else(|| panic!("{name} has a numeric default: {d}"))
}

#[test]
fn buffer_visibility_default_follows_aws_rule_for_the_default_timeout_and_window() {
    let t = template();
    assert_eq!(
        t["Resources"]["AlertQueue"]["Properties"]["VisibilityTimeout"],
        json!({"Ref": "AlertQueueVisibilityTimeout"})
    );
    // 6 x Timeout + MaximumBatchingWindowInSeconds, from the template's own
    // defaults; the CLI computes it for what it deploys.
    assert_eq!(
        default_of("AlertQueueVisibilityTimeout"),
        6 * default_of("Timeout") + default_of("BatchWindowSeconds")
    );
    assert_eq!(
        t["Resources"]["AlertQueueMapping"]["Properties"]["MaximumBatchingWindowInSeconds"],
        json!({"Ref": "BatchWindowSeconds"})
    );
    assert_eq!(
        t["Resources"]["Function"]["Properties"]["Timeout"],
        json!({"Ref": "Timeout"})
    );
}

#[test]
fn reservations_below_the_two_pollers_are_refused_by_a_rule() {
    let t = template();
    assert_eq!(
        t["Rules"],
        json!({"ReservedConcurrencyCoversThePollers": {"Assertions": [{
            "Assert": {"Fn::Not": [{"Fn::Contains": [["0", "1"], {"Ref": "ReservedConcurrency"}]}]},
            "AssertDescription": "ReservedConcurrency must be -1 (unreserved) or at least 2: the buffer's event source mapping runs two concurrent invocations."
        }]}})
    );
    assert_eq!(
        t["Resources"]["AlertQueueMapping"]["Properties"]["ScalingConfig"],
        json!({"MaximumConcurrency": 2})
    );
}

#[test]
fn debug_logs_switch_feeds_the_function_environment() {
    let t = template();
    assert_eq!(
        t["Parameters"]["DebugLogs"]["AllowedValues"],
        json!(["true", "false"])
    );
    assert_eq!(t["Parameters"]["DebugLogs"]["Default"], "false");
    assert_eq!(
        t["Resources"]["Function"]["Properties"]["Environment"]["Variables"]["DEBUG_LOGS"],
        json!({"Ref": "DebugLogs"})
    );
}

#[test]
fn account_names_feed_the_function_environment_and_default_to_none() {
    let t = template();
    let p = &t["Parameters"]["AccountNames"];
    assert_eq!(p["Type"], "String");
    assert_eq!(p["Default"], "");
    assert_eq!(p["MaxLength"], 3500);
    assert_eq!(
        t["Resources"]["Function"]["Properties"]["Environment"]["Variables"]["ACCOUNT_NAMES"],
        json!({"Ref": "AccountNames"})
    );
}

#[test]
fn ec2_rule_defaults_to_the_original_apps_three_states() {
    let t = template();
    assert_eq!(
        t["Parameters"]["Ec2States"]["Default"],
        "running,stopped,terminated"
    );
}

#[test]
fn every_output_is_exported_under_the_prefix_or_the_stack_name() {
    let t = template();
    let outputs = t["Outputs"].as_object().expect("outputs");
    assert_eq!(
        t["Outputs"]["SnsTopicArn"]["Value"],
        json!({"Ref": "Topic"}),
        "the original app's output name"
    );
    for (name, output) in outputs {
        assert_eq!(
            output["Export"],
            json!({"Name": {"Fn::Sub": [format!("${{Prefix}}-{name}"), {"Prefix": {"Fn::If": [
                "HasExportPrefix", {"Ref": "ExportPrefix"}, {"Ref": "AWS::StackName"}
            ]}}]}}),
            "{name}"
        );
    }
}

#[test]
fn function_role_is_least_privilege() {
    let t = template();
    let statements =
        &t["Resources"]["FunctionRole"]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"];
    assert_eq!(
        statements,
        &json!([
            {"Sid": "ReadWebhookSecret", "Effect": "Allow", "Action": "secretsmanager:GetSecretValue",
             "Resource": {"Ref": "WebhookSecretArn"}},
            {"Sid": "WriteOwnLogs", "Effect": "Allow", "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
             "Resource": {"Fn::GetAtt": ["LogGroup", "Arn"]}},
            {"Sid": "DeadLetters", "Effect": "Allow", "Action": "sqs:SendMessage",
             "Resource": {"Fn::GetAtt": ["DeadLetterQueue", "Arn"]}},
            {"Sid": "ConsumeAlertBuffer", "Effect": "Allow",
             "Action": ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes", "sqs:ChangeMessageVisibility"],
             "Resource": {"Fn::GetAtt": ["AlertQueue", "Arn"]}},
            {"Sid": "SharedStateItems", "Effect": "Allow",
             "Action": ["dynamodb:GetItem", "dynamodb:UpdateItem"],
             "Resource": {"Fn::GetAtt": ["StateTable", "Arn"]}}
        ])
    );
    let managed = &t["Resources"]["FunctionRole"]["Properties"]["ManagedPolicyArns"];
    assert!(managed.is_null(), "no managed policies: {managed}");
}

#[test]
fn bedrock_access_only_when_the_llm_is_on_and_only_for_the_model() {
    let t = template();
    let policy = &t["Resources"]["BedrockPolicy"];
    assert_eq!(policy["Condition"], "LlmOn");
    assert_eq!(
        t["Conditions"]["LlmOn"],
        json!({"Fn::Equals": [{"Ref": "LlmEnabled"}, "true"]})
    );
    let region = json!({"Fn::If": ["HasLlmRegion", {"Ref": "LlmRegion"}, {"Ref": "AWS::Region"}]});
    let profile_arn = json!({"Fn::Sub": [
        "arn:${AWS::Partition}:bedrock:${BedrockRegion}:${AWS::AccountId}:inference-profile/${LlmModelId}",
        {"BedrockRegion": region}
    ]});
    assert_eq!(
        policy["Properties"]["PolicyDocument"]["Statement"],
        json!({"Fn::If": [
            "LlmIsInferenceProfile",
            [
                {"Sid": "InvokeThroughInferenceProfile", "Effect": "Allow", "Action": "bedrock:InvokeModel",
                 "Resource": profile_arn},
                {"Sid": "FoundationModelsBehindTheProfile", "Effect": "Allow", "Action": "bedrock:InvokeModel",
                 "Resource": {"Fn::Sub": "arn:${AWS::Partition}:bedrock:*::foundation-model/*"},
                 "Condition": {"StringEquals": {"bedrock:InferenceProfileArn": profile_arn}}}
            ],
            [
                {"Sid": "InvokeModel", "Effect": "Allow", "Action": "bedrock:InvokeModel",
                 "Resource": {"Fn::Sub": [
                    "arn:${AWS::Partition}:bedrock:${BedrockRegion}::foundation-model/${LlmModelId}",
                    {"BedrockRegion": region}
                 ]}}
            ]
        ]})
    );
}

/// One statement of the topic policy, by Sid.
fn topic_statement(sid: &str) -> Value {
    let t = template();
    let statements = t["Resources"]["TopicPolicy"]["Properties"]["PolicyDocument"]["Statement"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    statements
        .into_iter()
        .find(|s| s["Sid"] == sid)
        .unwrap_or_else(|| panic!("no topic policy statement {sid}"))
}

fn account() -> Value {
    json!({"Ref": "AWS::AccountId"})
}

#[test]
fn topic_policy_has_exactly_these_publishers() {
    let t = template();
    let sids: Vec<Value> = t["Resources"]["TopicPolicy"]["Properties"]["PolicyDocument"]
        ["Statement"]
        .as_array()
        .map(|a| a.iter().map(|s| s["Sid"].clone()).collect())
        .unwrap_or_default();
    assert_eq!(
        sids,
        json!([
            "EventBridgeOfThisAccount",
            "PrincipalsOfThisAccount",
            "CloudWatchAlarmsOfThisAccount",
            "CostAnomalyDetectionOfThisAccount",
            "BudgetsOfThisAccount",
            "BackupOfThisAccount",
            "ServicesForResourcesOfThisAccount"
        ])
        .as_array()
        .cloned()
        .unwrap_or_default()
    );
    assert_eq!(
        t["Resources"]["TopicPolicy"]["Properties"]["Topics"],
        json!([{"Ref": "Topic"}])
    );
}

#[test]
fn topic_policy_eventbridge_of_this_account() {
    assert_eq!(
        topic_statement("EventBridgeOfThisAccount"),
        json!({"Sid": "EventBridgeOfThisAccount", "Effect": "Allow",
               "Principal": {"Service": "events.amazonaws.com"}, "Action": "sns:Publish",
               "Resource": {"Ref": "Topic"},
               "Condition": {"StringEquals": {"aws:SourceAccount": account()}}})
    );
}

#[test]
fn topic_policy_principals_of_this_account() {
    assert_eq!(
        topic_statement("PrincipalsOfThisAccount"),
        json!({"Sid": "PrincipalsOfThisAccount", "Effect": "Allow",
               "Principal": {"AWS": {"Fn::Sub": "arn:${AWS::Partition}:iam::${AWS::AccountId}:root"}},
               "Action": "sns:Publish", "Resource": {"Ref": "Topic"}})
    );
}

#[test]
fn topic_policy_cloudwatch_alarms_of_this_account() {
    assert_eq!(
        topic_statement("CloudWatchAlarmsOfThisAccount"),
        json!({"Sid": "CloudWatchAlarmsOfThisAccount", "Effect": "Allow",
        "Principal": {"Service": "cloudwatch.amazonaws.com"}, "Action": "sns:Publish",
        "Resource": {"Ref": "Topic"},
        "Condition": {
            "StringEquals": {"aws:SourceAccount": account()},
            "ArnLike": {"aws:SourceArn": {"Fn::Sub":
                "arn:${AWS::Partition}:cloudwatch:${AWS::Region}:${AWS::AccountId}:alarm:*"}}
        }})
    );
}

#[test]
fn topic_policy_cost_anomaly_detection_of_this_account() {
    assert_eq!(
        topic_statement("CostAnomalyDetectionOfThisAccount"),
        json!({"Sid": "CostAnomalyDetectionOfThisAccount", "Effect": "Allow",
               "Principal": {"Service": "costalerts.amazonaws.com"}, "Action": "sns:Publish",
               "Resource": {"Ref": "Topic"},
               "Condition": {"StringEquals": {"aws:SourceAccount": account()}}})
    );
}

#[test]
fn topic_policy_budgets_of_this_account() {
    assert_eq!(
        topic_statement("BudgetsOfThisAccount"),
        json!({"Sid": "BudgetsOfThisAccount", "Effect": "Allow",
        "Principal": {"Service": "budgets.amazonaws.com"}, "Action": "sns:Publish",
        "Resource": {"Ref": "Topic"},
        "Condition": {
            "StringEquals": {"aws:SourceAccount": account()},
            "ArnLike": {"aws:SourceArn": {"Fn::Sub":
                "arn:${AWS::Partition}:budgets::${AWS::AccountId}:*"}}
        }})
    );
}

/// AWS Backup's documented topic statement ("Specifying Amazon SNS topic
/// access policy", backup-notifications.html), scoped to this account.
#[test]
fn topic_policy_backup_of_this_account() {
    assert_eq!(
        topic_statement("BackupOfThisAccount"),
        json!({"Sid": "BackupOfThisAccount", "Effect": "Allow",
               "Principal": {"Service": "backup.amazonaws.com"}, "Action": "sns:Publish",
               "Resource": {"Ref": "Topic"},
               "Condition": {"StringEquals": {"aws:SourceAccount": account()}}})
    );
}

#[test]
fn topic_policy_restores_sns_default_source_owner_publish() {
    assert_eq!(
        topic_statement("ServicesForResourcesOfThisAccount"),
        json!({"Sid": "ServicesForResourcesOfThisAccount", "Effect": "Allow",
               "Principal": {"AWS": "*"}, "Action": "sns:Publish",
               "Resource": {"Ref": "Topic"},
               "Condition": {"StringEquals": {"AWS:SourceOwner": account()}}})
    );
}

#[test]
fn topic_is_never_encrypted_with_the_aws_managed_sns_key() {
    let t = template();
    // Only a customer-managed key given as KmsKeyArn (deploy --kms-key),
    // whose key policy can let those publishers in; none by default.
    for topic in ["Topic", "OpsTopic"] {
        let props = &t["Resources"][topic]["Properties"];
        assert_eq!(
            props["KmsMasterKeyId"],
            json!({"Fn::If": ["HasKmsKey", {"Ref": "KmsKeyArn"}, {"Ref": "AWS::NoValue"}]}),
            "alias/aws/sns would silently drop what EventBridge, CloudWatch, Cost Anomaly Detection and Budgets publish: {props}"
        );
    }
    assert_eq!(t["Parameters"]["KmsKeyArn"]["Default"], "");
}

#[test]
fn every_taggable_resource_is_tagged() {
    let t = template();
    let tags = json!([
        {"Key": "app", "Value": "dingtalk-notifier"},
        {"Key": "dingtalk-notifier:stack", "Value": {"Ref": "AWS::StackName"}}
    ]);
    for name in [
        "Topic",
        "OpsTopic",
        "DeadLetterAlarm",
        "FunctionErrorsAlarm",
        "RobotRefusalsAlarm",
        "LogGroup",
        "DeadLetterQueue",
        "AlertQueue",
        "FunctionRole",
        "Function",
    ] {
        assert_eq!(t["Resources"][name]["Properties"]["Tags"], tags, "{name}");
    }
}

#[test]
fn topic_feeds_the_buffer_which_feeds_the_function() {
    let t = template();
    let r = &t["Resources"];
    assert_eq!(
        r["TopicSubscription"]["Properties"],
        json!({"TopicArn": {"Ref": "Topic"}, "Protocol": "sqs",
               "Endpoint": {"Fn::GetAtt": ["AlertQueue", "Arn"]}, "RawMessageDelivery": false})
    );
    assert_eq!(
        r["AlertQueuePolicy"]["Properties"]["PolicyDocument"]["Statement"],
        json!([{"Sid": "OnlyThisTopic", "Effect": "Allow",
                "Principal": {"Service": "sns.amazonaws.com"}, "Action": "sqs:SendMessage",
                "Resource": {"Fn::GetAtt": ["AlertQueue", "Arn"]},
                "Condition": {"ArnEquals": {"aws:SourceArn": {"Ref": "Topic"}}}}])
    );
    assert_eq!(
        r["AlertQueue"]["Properties"]["RedrivePolicy"],
        json!({"deadLetterTargetArn": {"Fn::GetAtt": ["DeadLetterQueue", "Arn"]},
               "maxReceiveCount": {"Ref": "MaxReceiveCount"}})
    );
    assert_eq!(r["AlertQueue"]["Properties"]["SqsManagedSseEnabled"], true);
    assert_eq!(
        r["AlertQueueMapping"]["Properties"],
        json!({"EventSourceArn": {"Fn::GetAtt": ["AlertQueue", "Arn"]},
               "FunctionName": {"Ref": "Function"},
               "BatchSize": {"Ref": "BatchSize"},
               "MaximumBatchingWindowInSeconds": {"Ref": "BatchWindowSeconds"},
               "FunctionResponseTypes": ["ReportBatchItemFailures"],
               "ScalingConfig": {"MaximumConcurrency": 2}})
    );
    // No container paces by the mapping's concurrency any more: they share
    // the robot's one budget in the state table.
    assert!(
        r["Function"]["Properties"]["Environment"]["Variables"]["DINGTALK_CONCURRENCY"].is_null()
    );
    assert_eq!(
        r["StateTable"]["Properties"],
        json!({"TableName": {"Fn::Sub": "dingtalk-notifier-${AWS::StackName}-state"},
               "BillingMode": "PAY_PER_REQUEST",
               "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}],
               "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
               "TimeToLiveSpecification": {"AttributeName": "expires_at", "Enabled": true},
               "Tags": [{"Key": "app", "Value": "dingtalk-notifier"},
                        {"Key": "dingtalk-notifier:stack", "Value": {"Ref": "AWS::StackName"}}]})
    );
    assert_eq!(r["StateTable"]["DeletionPolicy"], "Delete");
    // AWS: a standard queue with BatchSize over 10 needs a batching window
    // of at least 1 s (moto does not check it).
    assert_eq!(t["Parameters"]["BatchWindowSeconds"]["MinValue"], 1);
    assert_eq!(t["Parameters"]["BatchWindowSeconds"]["Default"], 1);
    assert!(
        r["TopicInvokePermission"].is_null(),
        "the topic no longer invokes the function"
    );
    assert_eq!(
        r["Function"]["Properties"]["DeadLetterConfig"],
        json!({"TargetArn": {"Fn::GetAtt": ["DeadLetterQueue", "Arn"]}})
    );
    assert_eq!(
        r["FunctionInvokeConfig"]["Properties"]["MaximumRetryAttempts"],
        2
    );
    assert_eq!(r["LogGroup"]["DeletionPolicy"], "Delete");
}

/// The profile prefixes the IAM scoping recognises, as the template lists them.
fn template_profile_prefixes(t: &Value) -> Vec<String> {
    t["Conditions"]["LlmIsInferenceProfile"]["Fn::Or"]
        .as_array()
        .expect("LlmIsInferenceProfile is an Fn::Or")
        .iter()
        .map(|eq| {
            assert_eq!(
                eq["Fn::Equals"][0],
                json!({"Fn::Select": [0, {"Fn::Split": [".", {"Ref": "LlmModelId"}]}]})
            );
            eq["Fn::Equals"][1].as_str().unwrap_or_default().to_string()
        })
        .collect()
}

#[test]
fn iam_scoping_knows_every_profile_prefix_and_accepts_what_the_cli_accepts() {
    use dingtalk_notifier_lambda::model_id::{validate_model_id, PROFILE_PREFIXES};
    let t = template();
    let mut prefixes = template_profile_prefixes(&t);
    prefixes.sort();
    let mut expected: Vec<String> = PROFILE_PREFIXES.iter().map(|p| p.to_string()).collect();
    expected.sort();
    assert_eq!(prefixes, expected);

    // The parameter's AllowedPattern and the CLI's check agree on every id.
    let pattern = t["Parameters"]["LlmModelId"]["AllowedPattern"]
        .as_str()
        .expect("LlmModelId has an AllowedPattern");
    let re = regex_lite::Regex::new(pattern).expect("the pattern compiles");
    let default = t["Parameters"]["LlmModelId"]["Default"].as_str().unwrap();
    let mut ids = vec![default.to_string()];
    for prefix in PROFILE_PREFIXES {
        ids.push(format!("{prefix}.amazon.nova-lite-v1:0"));
        ids.push(format!(
            "{prefix}.anthropic.claude-sonnet-4-5-20250929-v1:0"
        ));
    }
    ids.extend(
        [
            "amazon.titan-text-express-v1",
            "anthropic.claude-3-haiku-20240307-v1:0:200k",
            "mistral.mistral-7b-instruct-v0:2",
            "ca.amazon.nova-lite-v1:0",
            "nova lite",
            "amazon",
            "Amazon.Nova-lite-v1:0",
            "amazon..nova",
            ".amazon.nova",
            "amazon.nova.",
            "amazon.nova-lite-v1:",
            "amazon.nova-lite-v1:x:0",
            "amazon.nova-lite-v1:0:1:2",
            "amazon.nova_lite-v1:0",
            "arn:aws:bedrock:us-east-1::foundation-model/amazon.nova-lite-v1:0",
            "arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.amazon.nova-lite-v1:0",
            "",
        ]
        .map(str::to_string),
    );
    for id in &ids {
        assert_eq!(
            validate_model_id(id).is_ok(),
            re.is_match(id),
            "CLI and template disagree on `{id}`"
        );
    }
}

#[test]
fn the_clis_environment_measure_lists_what_the_template_sets() {
    use dingtalk_notifier_lambda::config::{EnvSource, TEMPLATE_ENVIRONMENT};
    let t = template();
    let vars = t["Resources"]["Function"]["Properties"]["Environment"]["Variables"]
        .as_object()
        .expect("the function has environment variables");
    let listed: BTreeMap<String, Value> = TEMPLATE_ENVIRONMENT
        .iter()
        .map(|(name, source)| {
            let v = match source {
                EnvSource::Parameter(p) => json!({ "Ref": p }),
                EnvSource::Literal(l) => json!(l),
                EnvSource::Resource(r, _) => json!({ "Ref": r }),
            };
            (name.to_string(), v)
        })
        .collect();
    let set: BTreeMap<String, Value> = vars.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
    assert_eq!(set, listed);
}

#[test]
fn llm_max_tokens_pattern_is_the_clis_range() {
    use dingtalk_notifier_lambda::config::LLM_MAX_TOKENS_RANGE;
    let t = template();
    let pattern = t["Parameters"]["LlmMaxTokens"]["AllowedPattern"]
        .as_str()
        .expect("LlmMaxTokens has an AllowedPattern");
    let re = regex_lite::Regex::new(pattern).expect("the pattern compiles");
    for n in 0..=10_000u32 {
        assert_eq!(
            re.is_match(&n.to_string()),
            LLM_MAX_TOKENS_RANGE.contains(&n),
            "{n}"
        );
    }
}

// Who watches the watcher. moto's CloudFormation does not model
// AWS::CloudWatch::Alarm, AWS::SNS::TopicPolicy or AWS::SNS::Subscription
// (they become placeholders), so their exact content is asserted here; moto
// checks the ops topic (`default_stack_has_every_rule_function_queue_and_logs`)
// and `status` reading the alarms by name (tests/cli_deploy.rs).

/// The properties both ops alarms share: one 5-minute period above zero,
/// no data is no trouble, and both states told to the ops topic.
fn ops_alarm(name_suffix: &str, description: &str, rest: Value) -> Value {
    let mut alarm = json!({
        "AlarmName": {"Fn::Sub": format!("${{AWS::StackName}}-{name_suffix}")},
        "AlarmDescription": description,
        "Period": 300,
        "EvaluationPeriods": 1,
        "Threshold": 0,
        "ComparisonOperator": "GreaterThanThreshold",
        "TreatMissingData": "notBreaching",
        "AlarmActions": [{"Ref": "OpsTopic"}],
        "OKActions": [{"Ref": "OpsTopic"}],
        "Tags": [
            {"Key": "app", "Value": "dingtalk-notifier"},
            {"Key": "dingtalk-notifier:stack", "Value": {"Ref": "AWS::StackName"}}
        ]
    });
    for (k, v) in rest.as_object().unwrap() {
        alarm[k] = v.clone();
    }
    alarm
}

#[test]
fn dead_letter_alarm_fires_on_any_waiting_alert() {
    let t = template();
    let r = &t["Resources"]["DeadLetterAlarm"];
    assert_eq!(r["Type"], "AWS::CloudWatch::Alarm");
    assert!(
        r["Condition"].is_null(),
        "the alarm exists without an e-mail"
    );
    assert_eq!(
        r["Properties"],
        ops_alarm(
            "dead-letters",
            "dingtalk-notifier could not deliver alerts to DingTalk; they wait in the \
             dead-letter queue. Fix the cause (webhook, keyword, robot), then run \
             `dingtalk-notifier redrive`.",
            json!({
                "Namespace": "AWS/SQS",
                "MetricName": "ApproximateNumberOfMessagesVisible",
                "Dimensions": [{"Name": "QueueName",
                                "Value": {"Fn::GetAtt": ["DeadLetterQueue", "QueueName"]}}],
                "Statistic": "Maximum"
            })
        )
    );
}

#[test]
fn function_errors_alarm_fires_on_any_failed_invocation() {
    let t = template();
    let r = &t["Resources"]["FunctionErrorsAlarm"];
    assert_eq!(r["Type"], "AWS::CloudWatch::Alarm");
    assert!(
        r["Condition"].is_null(),
        "the alarm exists without an e-mail"
    );
    assert_eq!(
        r["Properties"],
        ops_alarm(
            "function-errors",
            "The dingtalk-notifier function failed; its alerts are tried again and may \
             reach the dead-letter queue. Its log group (/dingtalk-notifier/<stack>) says why.",
            json!({
                "Namespace": "AWS/Lambda",
                "MetricName": "Errors",
                "Dimensions": [{"Name": "FunctionName", "Value": {"Ref": "Function"}}],
                "Statistic": "Sum"
            })
        )
    );
}

/// The function's outcome lines marked `robot_refused` (a robot that
/// refuses every message) are counted and alarm within one 5-minute period.
#[test]
fn robot_refusals_are_counted_and_alarm_within_five_minutes() {
    let t = template();
    let namespace = json!({"Fn::Sub": "dingtalk-notifier/${AWS::StackName}"});
    assert_eq!(
        t["Resources"]["RobotRefusalsMetricFilter"],
        json!({
            "Type": "AWS::Logs::MetricFilter",
            "Properties": {
                "LogGroupName": {"Ref": "LogGroup"},
                "FilterName": "robot-refusals",
                "FilterPattern": "{ $.outcome = \"failed\" && $.robot_refused IS TRUE }",
                "MetricTransformations": [{
                    "MetricNamespace": namespace,
                    "MetricName": "RobotRefusals",
                    "MetricValue": "1",
                    "Unit": "Count"
                }]
            }
        })
    );
    let r = &t["Resources"]["RobotRefusalsAlarm"];
    assert!(r["Condition"].is_null());
    assert_eq!(
        r["Properties"],
        ops_alarm(
            "robot-refusals",
            "The DingTalk robot refuses every message (token revoked, robot deleted or \
             disabled, keyword or signature changed): the group hears nothing. Fix the robot \
             or the secret (dingtalk-notifier deploy), then run `dingtalk-notifier redrive` \
             for what reached the dead-letter queue.",
            json!({"Namespace": namespace, "MetricName": "RobotRefusals", "Statistic": "Sum"})
        )
    );
}

#[test]
fn ops_topic_is_separate_encrypted_only_with_the_given_key_and_exported() {
    let t = template();
    let r = &t["Resources"]["OpsTopic"];
    assert_eq!(r["Type"], "AWS::SNS::Topic");
    assert_eq!(
        r["Properties"],
        json!({"DisplayName": "dingtalk-notifier ops",
               "KmsMasterKeyId": {"Fn::If": ["HasKmsKey", {"Ref": "KmsKeyArn"}, {"Ref": "AWS::NoValue"}]},
               "Tags": [
            {"Key": "app", "Value": "dingtalk-notifier"},
            {"Key": "dingtalk-notifier:stack", "Value": {"Ref": "AWS::StackName"}}
        ]})
    );
    assert_eq!(
        t["Outputs"]["OpsTopicArn"]["Value"],
        json!({"Ref": "OpsTopic"})
    );
    // Nothing of the DingTalk path refers to the ops topic, and the alarms
    // never tell the alert topic.
    for (name, res) in t["Resources"].as_object().unwrap() {
        let text = res.to_string();
        if name.starts_with("Ops") || name.ends_with("Alarm") {
            assert!(!text.contains(r#"{"Ref":"Topic"}"#), "{name}: {text}");
        } else {
            assert!(!text.contains("OpsTopic"), "{name}: {text}");
        }
    }
}

#[test]
fn ops_topic_policy_lets_only_this_stacks_alarms_publish() {
    let t = template();
    let r = &t["Resources"]["OpsTopicPolicy"];
    assert_eq!(r["Type"], "AWS::SNS::TopicPolicy");
    let alarm_arn = |suffix: &str| {
        json!({"Fn::Sub": format!(
            "arn:${{AWS::Partition}}:cloudwatch:${{AWS::Region}}:${{AWS::AccountId}}:alarm:${{AWS::StackName}}-{suffix}"
        )})
    };
    assert_eq!(
        r["Properties"],
        json!({
            "Topics": [{"Ref": "OpsTopic"}],
            "PolicyDocument": {"Version": "2012-10-17", "Statement": [{
                "Sid": "AlarmsOfThisStack", "Effect": "Allow",
                "Principal": {"Service": "cloudwatch.amazonaws.com"},
                "Action": "sns:Publish",
                "Resource": {"Ref": "OpsTopic"},
                "Condition": {
                    "StringEquals": {"aws:SourceAccount": account()},
                    "ArnEquals": {"aws:SourceArn": [
                        alarm_arn("dead-letters"),
                        alarm_arn("function-errors"),
                        alarm_arn("robot-refusals"),
                        alarm_arn("webhook-host")
                    ]}
                }
            }]}
        })
    );
    // The ARNs name exactly the alarms' names.
    for (alarm, suffix) in [
        ("DeadLetterAlarm", "dead-letters"),
        ("FunctionErrorsAlarm", "function-errors"),
        ("RobotRefusalsAlarm", "robot-refusals"),
        ("WebhookHostAlarm", "webhook-host"),
    ] {
        assert_eq!(
            t["Resources"][alarm]["Properties"]["AlarmName"],
            json!({"Fn::Sub": format!("${{AWS::StackName}}-{suffix}")})
        );
    }
}

/// The function's `webhook host refused` line (lambda::webhook_host) is
/// counted and alarms the ops topic: a secret rewritten to another host.
#[test]
fn a_refused_webhook_host_alarms_the_ops_topic() {
    let t = template();
    assert_eq!(
        t["Resources"]["WebhookHostRefusedFilter"],
        json!({"Type": "AWS::Logs::MetricFilter", "Properties": {
            "LogGroupName": {"Ref": "LogGroup"},
            "FilterPattern": format!(
                "{{ $.message = \"{}\" }}",
                dingtalk_notifier_lambda::webhook_host::REFUSED_LOG_MESSAGE
            ),
            "MetricTransformations": [{
                "MetricNamespace": {"Fn::Sub": "dingtalk-notifier/${AWS::StackName}"},
                "MetricName": "WebhookHostRefused",
                "MetricValue": "1",
                "Unit": "Count"
            }]
        }})
    );
    let alarm = &t["Resources"]["WebhookHostAlarm"]["Properties"];
    assert_eq!(
        t["Resources"]["WebhookHostAlarm"]["Type"],
        "AWS::CloudWatch::Alarm"
    );
    for (key, value) in [
        (
            "Namespace",
            json!({"Fn::Sub": "dingtalk-notifier/${AWS::StackName}"}),
        ),
        ("MetricName", json!("WebhookHostRefused")),
        ("Statistic", json!("Sum")),
        ("Period", json!(300)),
        ("EvaluationPeriods", json!(1)),
        ("Threshold", json!(0)),
        ("ComparisonOperator", json!("GreaterThanThreshold")),
        ("TreatMissingData", json!("notBreaching")),
        ("AlarmActions", json!([{"Ref": "OpsTopic"}])),
        ("OKActions", json!([{"Ref": "OpsTopic"}])),
    ] {
        assert_eq!(alarm[key], value, "{key}");
    }
    // The relays the function accepts come from the stack, not the secret.
    assert_eq!(
        t["Resources"]["Function"]["Properties"]["Environment"]["Variables"]
            ["DINGTALK_WEBHOOK_HOSTS"],
        json!({"Ref": "WebhookRelayHosts"})
    );
    assert_eq!(t["Parameters"]["WebhookRelayHosts"]["Default"], "");
}

#[test]
fn ops_email_subscription_only_with_an_address() {
    let t = template();
    assert_eq!(
        t["Resources"]["OpsEmailSubscription"],
        json!({
            "Type": "AWS::SNS::Subscription",
            "Condition": "HasOpsEmail",
            "Properties": {"TopicArn": {"Ref": "OpsTopic"}, "Protocol": "email",
                           "Endpoint": {"Ref": "OpsEmail"}}
        })
    );
    assert_eq!(
        t["Conditions"]["HasOpsEmail"],
        json!({"Fn::Not": [{"Fn::Equals": [{"Ref": "OpsEmail"}, ""]}]})
    );
    let p = &t["Parameters"]["OpsEmail"];
    assert_eq!(p["Type"], "String");
    assert_eq!(p["Default"], "");
    assert_eq!(p["MaxLength"], 254);
    assert_eq!(
        p["AllowedPattern"],
        r"^([^@\s]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,})?$"
    );
}
