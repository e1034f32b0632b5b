//! The deploy plan: from the answers and what exists now (the stack, the
//! webhook secret and its value), decide what to change and what to ask,
//! without calling AWS. [`super::apply`] carries the plan out.

use std::collections::BTreeMap;

use anyhow::{bail, Result};
use dingtalk_notifier_lambda::budget::DEFAULT_ROBOT;
use dingtalk_notifier_lambda::secret::{SecretDoc, WebhookConfig};
use dingtalk_notifier_lambda::webhook_host;

use super::answers::{Answers, Webhook};
use super::settings::Settings;
use crate::aws::secret::{self, ExistingSecret};
use crate::aws::stack::{self, ChangeRow, Phase, StackInfo};
use crate::regions;
use crate::robot_security::RobotSecurity;

/// The question asked once the changes are shown.
pub const CONFIRM_QUESTION: &str = "Deploy these changes?";

/// What exists before the deploy.
pub struct Current {
    pub stack: Option<StackInfo>,
    pub secret: Option<ExistingSecret>,
    /// The stored secret's value, when there is a secret.
    pub secret_value: Option<String>,
}

/// What the deploy will do.
pub struct Plan {
    pub settings: Settings,
    /// A change set of type CREATE: no stack yet, or one left in
    /// REVIEW_IN_PROGRESS by a cancelled first deploy.
    pub create: bool,
    /// A failed first create (ROLLBACK_COMPLETE) to delete before creating.
    pub recreate: Option<StackInfo>,
    /// The deployed parameter values, to notice a parameter-only change.
    pub current_parameters: Option<BTreeMap<String, String>>,
    pub secret: SecretPlan,
    /// Regions with a forwarder: their Health events are the home rule's too.
    pub forwarded_regions: Vec<String>,
    /// `deploy --organization`: the organization whose accounts may put
    /// events on the home bus (`OrganizationId`); empty = none.
    pub organization_id: String,
    /// The StackSet's plan line when it has steps: confirmed with the rest.
    pub organization_steps: Option<String>,
    /// `WebhookRelayHosts`: where the function lets the webhook point
    /// besides DingTalk (`lambda::webhook_host`).
    pub webhook_relay_hosts: String,
}

/// The webhook secret's value to store, and how. No `Debug`: it holds the webhook.
pub struct SecretPlan {
    pub action: SecretAction,
    pub value: String,
}

pub enum SecretAction {
    /// No secret yet: create it before the stack, whose parameter is its ARN.
    Create,
    /// The value changes: written once the deploy is confirmed.
    Update { arn: String },
    /// The stored value is already right.
    Keep { arn: String },
}

impl SecretPlan {
    pub fn changes(&self) -> bool {
        matches!(self.action, SecretAction::Update { .. })
    }
}

impl Plan {
    /// The stack parameters in `region`, once the artifact and the secret
    /// have names.
    pub fn parameters(
        &self,
        bucket: &str,
        key: &str,
        secret_arn: &str,
        region: &str,
    ) -> Result<Vec<(&'static str, String)>> {
        let mut parameters = self.settings.parameters(bucket, key, secret_arn)?;
        parameters.push(("HealthEventRegions", regions::health_event_regions(region)));
        parameters.push(("HealthForwardedRegions", self.forwarded_regions.join(",")));
        parameters.push(("OrganizationId", self.organization_id.clone()));
        parameters.push(("WebhookRelayHosts", self.webhook_relay_hosts.clone()));
        Ok(parameters)
    }
}

/// A secret under our name that another stack (or someone else) owns stops
/// the deploy before any question.
pub fn check_secret_owner(stack_name: &str, existing: Option<&ExistingSecret>) -> Result<()> {
    match existing {
        Some(s) if !s.owned_by(stack_name) => bail!(
            "a secret named {} exists but is not tagged as belonging to stack {stack_name}; \
             delete it or choose another --stack-name",
            secret::secret_name(stack_name)
        ),
        _ => Ok(()),
    }
}

/// Answers + what exists now → the plan.
pub fn plan(answers: Answers, current: Current) -> Result<Plan> {
    let stack_name = &answers.settings.stack_name;
    let recreate = stack_to_recreate(stack_name, current.stack.as_ref())?;
    let stack = current.stack.filter(|_| recreate.is_none());
    let create = stack
        .as_ref()
        .is_none_or(|s| s.status == "REVIEW_IN_PROGRESS");
    // Other robots (and routes kept in the secret) stay as they are; the
    // old single-robot value is robot `default`.
    let stored_doc = current
        .secret_value
        .as_deref()
        .and_then(|v| SecretDoc::parse(v).ok());
    let stored_cfg = stored_doc
        .as_ref()
        .and_then(|d| d.robot(DEFAULT_ROBOT).ok())
        .map(|c| (*c).clone());
    let desired = desired_secret(&answers.webhook, stored_cfg, &answers.settings)?;
    let mut webhook_relay_hosts = relay_hosts(
        &answers.webhook,
        &desired,
        stack.as_ref(),
        answers.settings.webhook_any_host(),
    );
    // A new named robot behind a relay needs its host listed too.
    for robot in answers.robots.values() {
        let host = webhook_host::relay_hosts_for(&robot.webhook);
        if !host.is_empty() && !webhook_relay_hosts.split(',').any(|h| h == host) {
            if !webhook_relay_hosts.is_empty() {
                webhook_relay_hosts.push(',');
            }
            webhook_relay_hosts.push_str(&host);
        }
    }
    let mut doc = stored_doc.unwrap_or_default();
    doc.robots
        .insert(DEFAULT_ROBOT.to_string(), std::sync::Arc::new(desired));
    for (name, robot) in &answers.robots {
        doc.robots
            .insert(name.clone(), std::sync::Arc::new(robot.clone()));
    }
    doc.routes = answers.settings.secret_routes.clone();
    let value = doc.to_secret_string();
    let action = match current.secret {
        None => SecretAction::Create,
        Some(s) if current.secret_value.as_deref() != Some(value.as_str()) => {
            SecretAction::Update { arn: s.arn }
        }
        Some(s) => SecretAction::Keep { arn: s.arn },
    };
    Ok(Plan {
        settings: answers.settings,
        create,
        recreate,
        current_parameters: stack.map(|s| s.parameters),
        secret: SecretPlan { action, value },
        forwarded_regions: Vec::new(),
        organization_id: String::new(),
        organization_steps: None,
        webhook_relay_hosts,
    })
}

/// The relay the function may send to: the host of a webhook given now
/// (validated by the CLI), else the deployed stack's list. Only a stack of
/// an earlier version, which had no list, takes the stored webhook's host,
/// and only when the remembered `--webhook-any-host` says it was a relay.
fn relay_hosts(
    webhook: &Webhook,
    desired: &WebhookConfig,
    stack: Option<&StackInfo>,
    any_host: bool,
) -> String {
    if let Webhook::New { url, .. } = webhook {
        return webhook_host::relay_hosts_for(url);
    }
    match stack.and_then(|s| s.parameters.get("WebhookRelayHosts")) {
        Some(listed) => listed.clone(),
        None if any_host => webhook_host::relay_hosts_for(&desired.webhook),
        None => String::new(),
    }
}

/// Refuses a stack that is not ours, busy or stuck; returns a failed first
/// create, which can only be deleted and created again.
fn stack_to_recreate(stack_name: &str, current: Option<&StackInfo>) -> Result<Option<StackInfo>> {
    let Some(s) = current else {
        return Ok(None);
    };
    if !s.is_ours() && s.status != "REVIEW_IN_PROGRESS" {
        bail!("the stack {stack_name} exists but was not created by dingtalk-notifier (no app=dingtalk-notifier tag); choose another --stack-name");
    }
    match s.status.as_str() {
        "ROLLBACK_COMPLETE" => Ok(Some(s.clone())),
        status if stack::phase(status) == Phase::InProgress && status != "REVIEW_IN_PROGRESS" => bail!(
            "the stack {stack_name} is busy ({status}); run `dingtalk-notifier status` to follow it and deploy again once it settles"
        ),
        "ROLLBACK_FAILED" | "DELETE_FAILED" | "UPDATE_ROLLBACK_FAILED" => bail!(
            "the stack {stack_name} is {}; fix it in the CloudFormation console or run `dingtalk-notifier destroy`",
            s.status
        ),
        _ => Ok(None),
    }
}

/// What is shown before [`CONFIRM_QUESTION`]: the change set's resources
/// (`None` when the stack itself does not change), the secret's change and
/// the organization's StackSet steps.
pub fn confirmation_text(
    stack_name: &str,
    changes: Option<&[ChangeRow]>,
    secret_changes: bool,
    organization: Option<&str>,
) -> String {
    let mut text = String::new();
    if let Some(changes) = changes {
        text.push_str(&format!("Changes to stack {stack_name}:\n"));
        if changes.is_empty() {
            text.push_str("  parameters only (no resource is added, modified or removed)\n");
        } else {
            text.push_str(&stack::render_changes(changes));
        }
    }
    if secret_changes {
        text.push_str("  ~ the webhook secret's value changes\n");
    }
    if let Some(o) = organization {
        text.push_str(&format!("  ~ {o}\n"));
    }
    text
}

/// The secret value to store, from the stored one (if any) and this run.
/// Takes the stored value by value so `WebhookConfig` needs no `Clone`.
pub fn desired_secret(
    webhook: &Webhook,
    stored: Option<WebhookConfig>,
    settings: &Settings,
) -> Result<WebhookConfig> {
    let mut cfg = match (webhook, stored) {
        (Webhook::Keep, Some(s)) => s,
        (Webhook::Keep, None) => bail!(
            "the stored webhook secret could not be read as a webhook; pass --webhook-url or set DINGTALK_WEBHOOK_URL to replace it"
        ),
        (
            Webhook::New {
                url,
                secret,
                secret_asked,
            },
            Some(old),
        ) => {
            let secret = match secret {
                Some(s) => Some(s.clone()),
                // Same webhook given again without a secret: keep the stored signing secret.
                None if !secret_asked && old.webhook == *url => old.secret,
                None => None,
            };
            WebhookConfig {
                webhook: url.clone(),
                secret,
                at_mobiles: old.at_mobiles,
                at_all_on: old.at_all_on,
                keyword: old.keyword,
            }
        }
        (Webhook::New { url, secret, .. }, None) => WebhookConfig {
            webhook: url.clone(),
            secret: secret.clone(),
            at_mobiles: Vec::new(),
            at_all_on: Vec::new(),
            keyword: None,
        },
    };
    if let Some(v) = &settings.options.at_mobiles {
        cfg.at_mobiles = v.clone();
    }
    if let Some(v) = &settings.options.at_all_on {
        cfg.at_all_on = v.clone();
    }
    if let Some(k) = &settings.options.keyword {
        cfg.keyword = (!k.is_empty()).then(|| k.clone());
    }
    if settings.robot_security() == Some(RobotSecurity::Signature) && cfg.secret.is_none() {
        bail!(MISSING_SIGNING_SECRET);
    }
    Ok(cfg)
}

/// A signature robot refuses every unsigned message (310000): deployed
/// without its secret, each alert would end in the dead-letter queue.
pub const MISSING_SIGNING_SECRET: &str = "missing signing secret for a signature (加签) robot: \
     pass --secret or set DINGTALK_SECRET (the SEC… secret in the robot's security settings), \
     or choose another --robot-security";

#[cfg(test)]
mod tests {
    use super::*;
    use crate::commands::deploy::settings::tests::settings;

    fn stored() -> WebhookConfig {
        WebhookConfig {
            webhook: "https://oapi.dingtalk.com/robot/send?access_token=old".into(),
            secret: Some("SECold".into()),
            at_mobiles: vec!["1".into()],
            at_all_on: vec![],
            keyword: None,
        }
    }

    #[test]
    fn keeping_the_webhook_keeps_secret_and_applies_options() {
        let mut s = settings();
        s.options.keyword = Some("告警".into());
        let got = desired_secret(&Webhook::Keep, Some(stored()), &s).unwrap();
        assert_eq!(got.webhook, stored().webhook);
        assert_eq!(got.secret.as_deref(), Some("SECold"));
        assert_eq!(got.at_mobiles, vec!["1".to_string()]);
        assert_eq!(got.keyword.as_deref(), Some("告警"));
    }

    #[test]
    fn same_webhook_from_env_keeps_signing_secret_new_one_drops_it() {
        let same = Webhook::New {
            url: stored().webhook,
            secret: None,
            secret_asked: false,
        };
        assert_eq!(
            desired_secret(&same, Some(stored()), &settings())
                .unwrap()
                .secret
                .as_deref(),
            Some("SECold")
        );
        let other = Webhook::New {
            url: "https://oapi.dingtalk.com/robot/send?access_token=new".into(),
            secret: None,
            secret_asked: false,
        };
        assert_eq!(
            desired_secret(&other, Some(stored()), &settings())
                .unwrap()
                .secret,
            None
        );
    }

    #[test]
    fn a_signature_robot_needs_its_secret() {
        let mut s = settings();
        s.options.robot_security = Some(RobotSecurity::Signature);
        let bare = Webhook::New {
            url: "https://oapi.dingtalk.com/robot/send?access_token=new".into(),
            secret: None,
            secret_asked: false,
        };
        assert_eq!(
            desired_secret(&bare, None, &s).unwrap_err().to_string(),
            MISSING_SIGNING_SECRET
        );
        // The stored secret of the same webhook is kept, so it is there.
        let same = Webhook::New {
            url: stored().webhook,
            secret: None,
            secret_asked: false,
        };
        assert!(desired_secret(&same, Some(stored()), &s).is_ok());
        s.options.robot_security = Some(RobotSecurity::Keywords);
        assert!(desired_secret(&bare, None, &s).is_ok());
    }

    fn answers(webhook: Webhook) -> Answers {
        Answers {
            webhook,
            settings: settings(),
            robots: Default::default(),
        }
    }

    fn new_webhook() -> Webhook {
        Webhook::New {
            url: "https://oapi.dingtalk.com/robot/send?access_token=new".into(),
            secret: Some("SECnew".into()),
            secret_asked: true,
        }
    }

    fn ours(status: &str) -> StackInfo {
        let mut s = StackInfo {
            id: "arn:stack/alerts".into(),
            name: "alerts".into(),
            status: status.into(),
            ..StackInfo::default()
        };
        s.tags.insert("app".into(), "dingtalk-notifier".into());
        s.parameters.insert("MemorySize".into(), "256".into());
        s
    }

    fn owned_secret() -> ExistingSecret {
        ExistingSecret {
            arn: "arn:secret".into(),
            tags: vec![
                ("app".into(), "dingtalk-notifier".into()),
                ("dingtalk-notifier:stack".into(), "alerts".into()),
            ],
            scheduled_for_deletion: false,
            kms_key_id: None,
        }
    }

    fn nothing() -> Current {
        Current {
            stack: None,
            secret: None,
            secret_value: None,
        }
    }

    #[test]
    fn first_deploy_creates_stack_and_secret() {
        let p = plan(answers(new_webhook()), nothing()).unwrap();
        assert!(p.create && p.recreate.is_none() && p.current_parameters.is_none());
        assert!(matches!(p.secret.action, SecretAction::Create));
        assert_eq!(
            p.secret.value,
            r#"{"webhook":"https://oapi.dingtalk.com/robot/send?access_token=new","secret":"SECnew"}"#
        );
        let params = p.parameters("b", "k", "arn:secret", "us-west-2").unwrap();
        assert!(params.contains(&("WebhookSecretArn", "arn:secret".to_string())));
        let mut expected = settings().parameters("b", "k", "arn:secret").unwrap();
        expected.push(("HealthEventRegions", "us-west-2".to_string()));
        expected.push(("HealthForwardedRegions", String::new()));
        expected.push(("OrganizationId", String::new()));
        // DingTalk's own host: no relay.
        expected.push(("WebhookRelayHosts", String::new()));
        assert_eq!(params, expected);
    }

    #[test]
    fn unchanged_webhook_is_kept_and_the_stack_updated() {
        let current = Current {
            stack: Some(ours("UPDATE_COMPLETE")),
            secret: Some(owned_secret()),
            secret_value: Some(stored().to_secret_string()),
        };
        let mut s = settings();
        s.options.at_mobiles = Some(vec!["1".into()]);
        let a = Answers {
            webhook: Webhook::Keep,
            settings: s,
            robots: Default::default(),
        };
        let p = plan(a, current).unwrap();
        assert!(!p.create && p.recreate.is_none());
        assert_eq!(
            p.current_parameters
                .unwrap()
                .get("MemorySize")
                .map(String::as_str),
            Some("256")
        );
        assert!(matches!(p.secret.action, SecretAction::Keep { ref arn } if arn == "arn:secret"));
        assert!(!p.secret.changes());
    }

    /// An old single-robot secret is robot `default`: with a second robot
    /// it becomes the map form, keeping `default` as it was; the routes that
    /// did not fit the environment go in with it.
    #[test]
    fn a_second_robot_turns_the_old_secret_into_the_map_form() {
        let old = stored().to_secret_string();
        let current = Current {
            stack: Some(ours("UPDATE_COMPLETE")),
            secret: Some(owned_secret()),
            secret_value: Some(old.clone()),
        };
        let mut a = answers(Webhook::Keep);
        let security = WebhookConfig::parse(
            "https://oapi.dingtalk.com/robot/send?access_token=security-token",
        )
        .unwrap();
        a.robots.insert("security".into(), security.clone());
        let p = plan(a, current).unwrap();
        assert!(p.secret.changes());
        let doc = SecretDoc::parse(&p.secret.value).unwrap();
        assert_eq!(doc.robot("default").unwrap().to_secret_string(), old);
        assert_eq!(*doc.robot("security").unwrap(), security);
        assert_eq!(doc.routes, None);
    }

    /// A new robot behind a relay: its host joins the relay list the
    /// function checks webhooks against, once.
    #[test]
    fn a_new_robot_behind_a_relay_lists_its_host() {
        let current = Current {
            stack: Some(ours("UPDATE_COMPLETE")),
            secret: Some(owned_secret()),
            secret_value: Some(stored().to_secret_string()),
        };
        let mut a = answers(Webhook::Keep);
        for name in ["security", "cost"] {
            let relayed = WebhookConfig::parse(&format!(
                "https://relay.example.com/robot/send?access_token={name}"
            ))
            .unwrap();
            a.robots.insert(name.into(), relayed);
        }
        let p = plan(a, current).unwrap();
        assert_eq!(p.webhook_relay_hosts, "relay.example.com");
    }

    #[test]
    fn a_new_webhook_updates_the_stored_secret() {
        let current = Current {
            stack: Some(ours("CREATE_COMPLETE")),
            secret: Some(owned_secret()),
            secret_value: Some(stored().to_secret_string()),
        };
        let p = plan(answers(new_webhook()), current).unwrap();
        assert!(p.secret.changes());
        assert_eq!(
            confirmation_text("alerts", None, p.secret.changes(), None),
            "  ~ the webhook secret's value changes\n"
        );
    }

    #[test]
    fn the_organizations_stack_set_steps_are_confirmed_with_the_rest() {
        let line = "Organization o-1: StackSet alerts-forwarders in 2 member account(s) x 1 region(s) (us-east-1): update us-east-1";
        assert_eq!(
            confirmation_text("alerts", None, false, Some(line)),
            format!("  ~ {line}\n")
        );
        assert_eq!(
            confirmation_text("alerts", None, true, Some(line)),
            format!("  ~ the webhook secret's value changes\n  ~ {line}\n")
        );
    }

    #[test]
    fn failed_first_create_is_recreated_review_in_progress_is_created() {
        let p = plan(
            answers(new_webhook()),
            Current {
                stack: Some(ours("ROLLBACK_COMPLETE")),
                ..nothing()
            },
        )
        .unwrap();
        assert!(p.create && p.current_parameters.is_none());
        assert_eq!(p.recreate.unwrap().status, "ROLLBACK_COMPLETE");

        // A cancelled first deploy leaves an untagged REVIEW_IN_PROGRESS stack.
        let review = StackInfo {
            name: "alerts".into(),
            status: "REVIEW_IN_PROGRESS".into(),
            ..StackInfo::default()
        };
        let p = plan(
            answers(new_webhook()),
            Current {
                stack: Some(review),
                ..nothing()
            },
        )
        .unwrap();
        assert!(p.create && p.recreate.is_none() && p.current_parameters.is_some());
    }

    #[test]
    fn stacks_that_are_not_ours_busy_or_stuck_are_refused() {
        let refused = |stack: StackInfo| {
            let current = Current {
                stack: Some(stack),
                ..nothing()
            };
            match plan(answers(new_webhook()), current) {
                Ok(_) => panic!("planned"),
                Err(e) => e.to_string(),
            }
        };
        let mut foreign = ours("CREATE_COMPLETE");
        foreign.tags.clear();
        assert_eq!(
            refused(foreign),
            "the stack alerts exists but was not created by dingtalk-notifier (no app=dingtalk-notifier tag); choose another --stack-name"
        );
        assert_eq!(
            refused(ours("UPDATE_IN_PROGRESS")),
            "the stack alerts is busy (UPDATE_IN_PROGRESS); run `dingtalk-notifier status` to follow it and deploy again once it settles"
        );
        assert_eq!(
            refused(ours("UPDATE_ROLLBACK_FAILED")),
            "the stack alerts is UPDATE_ROLLBACK_FAILED; fix it in the CloudFormation console or run `dingtalk-notifier destroy`"
        );
    }

    #[test]
    fn a_secret_of_another_stack_is_refused() {
        assert!(check_secret_owner("alerts", Some(&owned_secret())).is_ok());
        assert!(check_secret_owner("alerts", None).is_ok());
        assert_eq!(
            check_secret_owner("other", Some(&owned_secret()))
                .unwrap_err()
                .to_string(),
            "a secret named dingtalk-notifier/other/webhook exists but is not tagged as belonging \
             to stack other; delete it or choose another --stack-name"
        );
    }

    #[test]
    fn confirmation_lists_the_changes() {
        let rows = vec![ChangeRow {
            action: "Modify".into(),
            logical_id: "Function".into(),
            resource_type: "AWS::Lambda::Function".into(),
            replacement: None,
        }];
        assert_eq!(
            confirmation_text("alerts", Some(&rows), true, None),
            "Changes to stack alerts:\n  ~ Modify  Function  AWS::Lambda::Function\n  \
             ~ the webhook secret's value changes\n"
        );
        assert_eq!(
            confirmation_text("alerts", Some(&[]), false, None),
            "Changes to stack alerts:\n  parameters only (no resource is added, modified or removed)\n"
        );
    }

    #[test]
    fn the_relay_the_function_accepts_comes_from_the_deploy_never_from_the_secret() {
        let relay = "https://relay.example.com/robot/send?access_token=t";
        let new = |url: &str| Webhook::New {
            url: url.to_string(),
            secret: None,
            secret_asked: false,
        };
        let cfg = |url: &str| WebhookConfig {
            webhook: url.to_string(),
            ..stored()
        };
        // A webhook given now: its host unless DingTalk's.
        assert_eq!(
            relay_hosts(&new(relay), &cfg(relay), None, true),
            "relay.example.com"
        );
        let robot = "https://oapi.dingtalk.com/robot/send?access_token=t";
        assert_eq!(relay_hosts(&new(robot), &cfg(robot), None, false), "");
        // Kept: the deployed stack's list, whatever the secret says now.
        let mut stack = StackInfo::default();
        stack
            .parameters
            .insert("WebhookRelayHosts".into(), "relay.example.com".into());
        let rewritten = cfg("https://collector.attacker.example/robot/send?access_token=t");
        assert_eq!(
            relay_hosts(&Webhook::Keep, &rewritten, Some(&stack), true),
            "relay.example.com"
        );
        stack
            .parameters
            .insert("WebhookRelayHosts".into(), String::new());
        assert_eq!(
            relay_hosts(&Webhook::Keep, &rewritten, Some(&stack), true),
            ""
        );
        // A stack of an earlier version had no list: the stored relay, only
        // when --webhook-any-host is remembered.
        assert_eq!(
            relay_hosts(
                &Webhook::Keep,
                &cfg(relay),
                Some(&StackInfo::default()),
                true
            ),
            "relay.example.com"
        );
        assert_eq!(
            relay_hosts(
                &Webhook::Keep,
                &cfg(relay),
                Some(&StackInfo::default()),
                false
            ),
            ""
        );
    }
}
