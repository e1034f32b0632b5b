//! `deploy`: gather the answers (flags, env, dingtalk-notifier.toml,
//! prompts), plan from them and the stack as it is now (pure), then apply
//! the plan: build and upload the function, write the webhook secret, create
//! or update the stack through a reviewed change set.

mod account_names;
mod answers;
mod apply;
mod args;
mod early_build;
mod forwarders;
mod organization;
mod plan;
mod preflight;
mod queue_timing;
mod regions;
mod result;
mod robots;
mod settings;
mod validate;

use anyhow::{bail, Result};

use crate::aws::connect::connect;
use crate::aws::{bedrock, forwarder_stacks, secret, stack, Aws};
use crate::cli::GlobalArgs;
use crate::config;
use crate::regions::RegionsSpec;
use crate::term::output::Ui;

pub use args::DeployArgs;
pub use result::DeployResult;
pub use settings::DEFAULT_STACK_NAME;

pub async fn run(global: &GlobalArgs, ui: &Ui, args: &DeployArgs) -> Result<DeployResult> {
    let cfg_path = config::default_path();
    let cfg = config::load(&cfg_path)?.unwrap_or_default();
    let options = answers::options(args, &cfg, &cfg_path)?;
    // The toolchain first: the early build needs it, and a missing piece
    // must show before the first question.
    preflight::check(ui, args, &options)?;
    let early = early_build::start(ui.interactive, args, &options);
    for warning in crate::cli::secret_flag_warnings(
        args.webhook_url.as_deref(),
        args.signing_secret.as_deref(),
    ) {
        ui.warn(warning);
    }
    let stack_name = answers::stack_name(ui, global, &cfg)?;

    validate::check_region_flags(
        args.regions.as_deref(),
        args.options.llm_region.as_deref(),
        global.allow_unknown_region,
    )?;
    let aws = connect(
        &super::connect_options(global),
        cfg.region.clone(),
        ui.interactive,
    )
    .await?;
    let region = aws.region().unwrap_or_default().to_string();
    ui.step(format!(
        "Deploying stack {} to {region}",
        ui.bold(&stack_name)
    ));
    let existing_secret = ui
        .during(
            "looking for the stack's secret",
            secret::find(&aws, &stack_name),
        )
        .await?;
    if let Some(s) = &existing_secret {
        s.ensure_usable(&stack_name)?;
    }
    plan::check_secret_owner(&stack_name, existing_secret.as_ref())?;
    if let Some(s) = &existing_secret {
        let policy = crate::aws::secret_policy::current(&aws, &s.arn).await?;
        crate::aws::secret_policy::check_adoptable(
            &secret::secret_name(&stack_name),
            &s.arn,
            policy.as_deref(),
            s.kms_key_id.as_deref(),
        )?;
    }
    let mut answers = answers::gather(
        ui,
        args,
        options,
        &cfg,
        stack_name,
        &region,
        existing_secret.as_ref(),
    )?;

    check_llm_model(&aws, ui, &mut answers.settings, &region).await?;
    let health = regions::health_on(&answers.settings);
    let spec = answers::regions(ui, args, &cfg, &region, health)?;
    let fleet = plan_regions(&aws, ui, &answers.settings, &region, &spec, &cfg).await?;
    let current = ui
        .during(
            "reading the deployed stack",
            current_state(&aws, &answers.settings.stack_name, existing_secret),
        )
        .await?;
    answers.robots = robots::gather(
        ui,
        &cfg,
        current.secret_value.as_deref(),
        answers.settings.webhook_any_host(),
        |k| std::env::var(k).ok(),
    )?;
    let switch = organization_switch(args, &cfg, current.stack.as_ref());
    let org = plan_organization(&aws, ui, &mut answers.settings, &region, &fleet, switch).await?;

    if !ui.interactive && !ui.assume_yes {
        bail!("deploy changes your AWS account and needs a confirmation: pass --yes to deploy without a terminal");
    }
    let mut file = answers.settings.to_config(&region);
    file.regions = spec.to_config();
    file.robots = cfg.robots.clone();
    file.routes = cfg.routes.clone();
    // On while a StackSet may exist: dropped only once it is gone, so
    // status and destroy keep finding it whatever fails in between.
    file.organization = org.as_ref().map(|_| true);
    config::save(&cfg_path, &file)?;
    ui.info(format!(
        "Answers saved to {} (no secrets)",
        cfg_path.display()
    ));

    let new_ops_email = new_ops_email(&answers.settings, current.stack.as_ref());
    let mut plan = plan::plan(answers, current)?;
    plan.forwarded_regions = fleet.chosen.clone();
    with_organization(&mut plan, org.as_ref());
    let mut result = apply::apply(&aws, ui, args, &plan, &region, early).await?;
    apply_fleet(&aws, ui, &plan.settings, &region, &fleet, &mut result).await?;
    if let Some(o) = &org {
        result.organization = Some(apply_organization(&aws, ui, o, &plan, &cfg_path).await?);
    }
    if let Some(email) = new_ops_email {
        ui.info(format!(
            "SNS mailed a confirmation to {email}: the ops alarms reach it only once it is confirmed"
        ));
    }
    Ok(result)
}

/// The home stack's `OrganizationId` and the StackSet's steps, which the
/// deploy's confirmation shows.
fn with_organization(plan: &mut plan::Plan, org: Option<&organization::OrgPlan>) {
    plan.organization_id = org
        .map(organization::OrgPlan::organization_id)
        .unwrap_or_default();
    plan.organization_steps = org
        .filter(|o| !o.steps.is_empty() || o.legacy.is_some())
        .map(organization::OrgPlan::summary);
}

/// The StackSet's steps, once the home stack is there; when it is gone,
/// `organization = true` leaves dingtalk-notifier.toml.
async fn apply_organization(
    aws: &Aws,
    ui: &Ui,
    o: &organization::OrgPlan,
    plan: &plan::Plan,
    cfg_path: &std::path::Path,
) -> Result<organization::OrganizationResult> {
    ui.step(format!(
        "Forwarders in the organization's accounts ({})",
        o.target.name
    ));
    let result = organization::apply(aws, ui, o, &plan.settings.stack_name).await?;
    if !o.on {
        if let Some(mut file) = config::load(cfg_path)? {
            file.organization = None;
            config::save(cfg_path, &file)?;
        }
    }
    Ok(result)
}

/// Whether `--organization` is wanted, and whether it was on (the StackSet
/// is to be looked at).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct OrgSwitch {
    on: bool,
    was_on: bool,
}

/// From the flags, dingtalk-notifier.toml and the home stack as deployed
/// (its `OrganizationId`): the toml may be missing, or written before a
/// StackSet step that failed.
fn organization_switch(
    args: &DeployArgs,
    cfg: &config::ConfigFile,
    home: Option<&stack::StackInfo>,
) -> OrgSwitch {
    let deployed = home.is_some_and(stack::StackInfo::deployed_for_organization);
    OrgSwitch {
        on: organization_on(args, cfg, deployed),
        was_on: cfg.organization == Some(true) || deployed,
    }
}

/// `--organization` (or its removal) decided before anything changes: the
/// plan line, and the account names for the messages.
async fn plan_organization(
    aws: &Aws,
    ui: &Ui,
    settings: &mut settings::Settings,
    region: &str,
    fleet: &Fleet,
    switch: OrgSwitch,
) -> Result<Option<organization::OrgPlan>> {
    let org = organization::prepare(
        aws,
        settings,
        region,
        &fleet.chosen,
        switch.on,
        switch.was_on,
    )
    .await?;
    if let Some(o) = &org {
        ui.info(o.summary());
    }
    fill_account_names(ui, settings, region, org.as_ref())?;
    Ok(org)
}

/// `AccountNames` from the organization's accounts, as many as Lambda's
/// environment has room for; empty without `--organization`.
fn fill_account_names(
    ui: &Ui,
    settings: &mut settings::Settings,
    region: &str,
    org: Option<&organization::OrgPlan>,
) -> Result<()> {
    settings.account_names = String::new();
    let Some(o) = org.filter(|o| o.on) else {
        return Ok(());
    };
    let room = account_names::room(&answers::sized_parameters(settings, region)?);
    let (names, dropped) = account_names::fit(&o.accounts, room);
    settings.account_names = names;
    if dropped > 0 {
        ui.warn(format!(
            "{dropped} account name(s) left out of messages (Lambda allows 4 KB for the function's environment): their alerts still arrive, with the account id"
        ));
    }
    Ok(())
}

/// The regional forwarders, all at once, once the home stack is there.
async fn apply_fleet(
    aws: &Aws,
    ui: &Ui,
    settings: &settings::Settings,
    home: &str,
    fleet: &Fleet,
    result: &mut DeployResult,
) -> Result<()> {
    if fleet.actions.is_empty() {
        return Ok(());
    }
    ui.step(format!(
        "Forwarders to {home} from {} region(s)",
        fleet.actions.len()
    ));
    result.forwarders =
        forwarders::apply(aws, ui, settings, home, &fleet.actions, &fleet.found).await?;
    Ok(())
}

/// `--organization` / `--no-organization` (or `DINGTALK_NOTIFIER_ORGANIZATION`),
/// else the remembered answer, else the home stack as deployed (`deployed`:
/// it has an `OrganizationId`), so a deploy from another directory does not
/// remove the organization's forwarders.
fn organization_on(args: &DeployArgs, cfg: &config::ConfigFile, deployed: bool) -> bool {
    match (args.organization, args.no_organization) {
        (_, true) => false,
        (true, _) => true,
        _ => cfg.organization == Some(true) || deployed,
    }
}

/// The forwarder stacks as they are and what to do in each region, decided
/// before anything changes so a foreign or busy stack stops the deploy early.
struct Fleet {
    /// The regions that get a forwarder.
    chosen: Vec<String>,
    actions: Vec<(String, regions::Action)>,
    found: std::collections::BTreeMap<String, regions::Found>,
}

async fn plan_regions(
    aws: &Aws,
    ui: &Ui,
    settings: &settings::Settings,
    home: &str,
    spec: &RegionsSpec,
    cfg: &config::ConfigFile,
) -> Result<Fleet> {
    let previous_spec = match &cfg.regions {
        Some(r) => RegionsSpec::from_config(r)?,
        None => RegionsSpec::HomeOnly,
    };
    let health = regions::health_on(settings);
    let (chosen, added) = forwarder_stacks::regions_of(aws, home, spec, health).await?;
    // A previous choice that no longer resolves (say, another partition)
    // leaves nothing to remove.
    let previous = match previous_spec == *spec {
        true => chosen.clone(),
        false => forwarder_stacks::regions_of(aws, home, &previous_spec, health)
            .await
            .map(|(r, _)| r)
            .unwrap_or_default(),
    };
    if added {
        ui.info(format!(
            "{} added: AWS Health sends global events (IAM and other global services) only there",
            crate::regions::global_events_region(crate::regions::partition(home))
        ));
    }
    let mut lookup = chosen.clone();
    lookup.extend(previous.iter().filter(|r| !chosen.contains(r)).cloned());
    if lookup.is_empty() {
        return Ok(Fleet {
            chosen,
            actions: Vec::new(),
            found: Default::default(),
        });
    }
    let found = forwarder_stacks::find(aws, &settings.stack_name, &lookup).await?;
    let actions = regions::plan_forwarders(settings, home, &chosen, &previous, &found)?;
    Ok(Fleet {
        chosen,
        actions,
        found,
    })
}

/// The ops e-mail, when this deploy subscribes it anew (SNS then mails a
/// confirmation that someone must click).
fn new_ops_email(
    settings: &settings::Settings,
    stack: Option<&stack::StackInfo>,
) -> Option<String> {
    let before = stack.and_then(|s| s.parameters.get("OpsEmail"));
    let email = settings.ops_email();
    (!email.is_empty() && before.map(String::as_str) != Some(email)).then(|| email.to_string())
}

/// One tiny Converse call with the deploying user's credentials, so a model
/// Bedrock refuses is found now, not by the function on every alert; a base
/// id Bedrock serves only through a profile becomes that profile.
async fn check_llm_model(
    aws: &Aws,
    ui: &Ui,
    settings: &mut settings::Settings,
    region: &str,
) -> Result<()> {
    if !settings.llm() {
        return Ok(());
    }
    let llm_region = match settings.llm_region() {
        "" => region.to_string(),
        r => r.to_string(),
    };
    ui.step(format!(
        "Checking {} in {llm_region} (one tiny Bedrock call)",
        settings.llm_model_id()
    ));
    let checked = ui
        .during(
            "waiting for Bedrock",
            bedrock::check_model(&aws.config, &llm_region, settings.llm_model_id()),
        )
        .await?;
    if let Some(info) = &checked.info {
        ui.info(info.clone());
    }
    if let Some(warning) = &checked.warning {
        ui.warn(warning.clone());
    }
    settings.options.llm_model_id = Some(checked.model_id);
    Ok(())
}

/// The stack and the webhook secret as they are now.
async fn current_state(
    aws: &Aws,
    stack_name: &str,
    existing_secret: Option<secret::ExistingSecret>,
) -> Result<plan::Current> {
    let stack = stack::describe(aws, stack_name).await?;
    let secret_value = match &existing_secret {
        Some(s) => secret::read_value(aws, &s.arn).await?,
        None => None,
    };
    Ok(plan::Current {
        stack,
        secret: existing_secret,
        secret_value,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn home(organization_id: &str) -> stack::StackInfo {
        let mut s = stack::StackInfo::default();
        s.parameters
            .insert("OrganizationId".into(), organization_id.into());
        s
    }

    #[test]
    fn the_home_stack_remembers_the_organization_when_the_toml_does_not() {
        let none = DeployArgs::default();
        let no_toml = config::ConfigFile::default();
        let on = OrgSwitch {
            on: true,
            was_on: true,
        };
        let off = OrgSwitch {
            on: false,
            was_on: false,
        };
        // Another directory: no toml, a home stack deployed for an organization.
        assert_eq!(
            organization_switch(&none, &no_toml, Some(&home("o-abc"))),
            on
        );
        assert_eq!(organization_switch(&none, &no_toml, Some(&home(""))), off);
        assert_eq!(organization_switch(&none, &no_toml, None), off);
        let no = DeployArgs {
            no_organization: true,
            ..DeployArgs::default()
        };
        assert_eq!(
            organization_switch(&no, &no_toml, Some(&home("o-abc"))),
            OrgSwitch {
                on: false,
                was_on: true
            }
        );
        // The toml written before a StackSet step that failed.
        let remembered = config::ConfigFile {
            organization: Some(true),
            ..config::ConfigFile::default()
        };
        assert_eq!(
            organization_switch(&no, &remembered, Some(&home(""))),
            OrgSwitch {
                on: false,
                was_on: true
            }
        );
    }
}
