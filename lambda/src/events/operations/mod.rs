//! Operations: ECS, Backup, CodePipeline, CodeBuild, CodeDeploy, Auto
//! Scaling, RDS, EC2 Spot, EBS, ACM, Systems Manager, Glue, Cost Anomaly
//! Detection's EventBridge form, and the plain-text SNS notifications of
//! AWS Budgets and AWS Backup. One module per source; this table picks one
//! by `source` and `detail-type` (by subject and first line for text).
//!
//! Every message here follows one shape ([`card`]): a heading with the
//! severity icon and the resource, the facts that decide what to do first,
//! account/region/time, then a link to the console page. Values taken from
//! an event only ever reach the markdown through `Doc`'s methods.

mod acm;
mod autoscaling;
mod backup;
mod budgets;
mod card;
mod codebuild;
mod codedeploy;
mod codepipeline;
mod console;
mod ebs;
mod ec2_spot;
mod ecs;
mod glue;
mod rds;
mod ssm;

use super::{cost_anomaly, EventEnvelope};
use crate::rendered::{FormatOptions, Rendered};

/// `None` when the type is not one of ours or its `detail` does not parse.
pub fn render(env: &EventEnvelope, opts: &FormatOptions) -> Option<Rendered> {
    match (env.source.as_str(), env.detail_type.as_str()) {
        ("aws.ecs", "ECS Task State Change") => ecs::task(env, opts),
        ("aws.ecs", "ECS Deployment State Change") => ecs::deployment(env, opts),
        ("aws.ecs", "ECS Service Action") => ecs::service_action(env, opts),
        ("aws.backup", "Backup Job State Change") => backup::backup_job(env, opts),
        ("aws.backup", "Copy Job State Change") => backup::copy_job(env, opts),
        ("aws.codepipeline", "CodePipeline Pipeline Execution State Change") => {
            codepipeline::pipeline(env, opts)
        }
        ("aws.codepipeline", "CodePipeline Action Execution State Change") => {
            codepipeline::action(env, opts)
        }
        ("aws.codebuild", "CodeBuild Build State Change") => codebuild::render(env, opts),
        ("aws.codedeploy", "CodeDeploy Deployment State-change Notification") => {
            codedeploy::render(env, opts)
        }
        ("aws.autoscaling", kind) => autoscaling::render(env, kind, opts),
        ("aws.rds", "RDS DB Instance Event" | "RDS DB Cluster Event") => rds::render(env, opts),
        ("aws.ec2", "EC2 Spot Instance Interruption Warning") => ec2_spot::interruption(env, opts),
        ("aws.ec2", "EC2 Instance Rebalance Recommendation") => ec2_spot::rebalance(env, opts),
        ("aws.ec2", "EBS Volume Notification") => ebs::volume(env, opts),
        ("aws.ec2", "EBS Snapshot Notification") => ebs::snapshot(env, opts),
        ("aws.acm", "ACM Certificate Approaching Expiration") => acm::render(env, opts),
        ("aws.ssm", "Configuration Compliance State Change") => ssm::compliance(env, opts),
        ("aws.ssm", "EC2 Command Status-change Notification") => ssm::command(env, opts),
        ("aws.ssm", "EC2 Command Invocation Status-change Notification") => {
            ssm::invocation(env, opts)
        }
        ("aws.glue", "Glue Job State Change") => glue::render(env, opts),
        ("aws.ce", "Anomaly Detected") => cost_anomaly::render_event(env),
        _ => None,
    }
}

/// Plain-text SNS notifications we know by their subject and wording
/// (AWS Budgets, AWS Backup); `None` for any other text.
pub fn render_text(text: &str, subject: Option<&str>) -> Option<Rendered> {
    let subject = subject.map(str::trim).unwrap_or("");
    budgets::render(text, subject).or_else(|| backup::render_sns(text, subject))
}

#[cfg(test)]
mod tests;
