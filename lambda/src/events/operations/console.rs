//! Console pages for the operations messages, on the region's partition
//! (see `markdown::links`). Every event value in a URL is percent-encoded.

use crate::markdown::links::{encode, global_console, regional_console};

pub fn ecs_task(region: &str, cluster: &str, task: &str) -> String {
    format!(
        "{}/ecs/v2/clusters/{}/tasks/{}?region={region}",
        regional_console(region),
        encode(cluster),
        encode(task)
    )
}

pub fn ecs_service(region: &str, cluster: &str, service: &str) -> String {
    format!(
        "{}/ecs/v2/clusters/{}/services/{}?region={region}",
        regional_console(region),
        encode(cluster),
        encode(service)
    )
}

/// `kind` is `backup` or `copy`.
pub fn backup_job(region: &str, kind: &str, id: &str) -> String {
    format!(
        "{}/backup/home?region={region}#/jobs/{kind}/details/{}",
        regional_console(region),
        encode(id)
    )
}

pub fn backup_jobs(region: &str) -> String {
    format!(
        "{}/backup/home?region={region}#/jobs",
        regional_console(region)
    )
}

pub fn pipeline_execution(region: &str, pipeline: &str, execution: &str) -> String {
    format!(
        "{}/codesuite/codepipeline/pipelines/{}/executions/{}/timeline?region={region}",
        regional_console(region),
        encode(pipeline),
        encode(execution)
    )
}

/// `build` is `project:uuid`, the tail of the build ARN.
pub fn codebuild_build(region: &str, project: &str, build: &str) -> String {
    format!(
        "{}/codesuite/codebuild/projects/{}/build/{}/?region={region}",
        regional_console(region),
        encode(project),
        encode(build)
    )
}

pub fn codedeploy_deployment(region: &str, id: &str) -> String {
    format!(
        "{}/codesuite/codedeploy/deployments/{}?region={region}",
        regional_console(region),
        encode(id)
    )
}

pub fn autoscaling_group(region: &str, name: &str) -> String {
    format!(
        "{}/ec2/home?region={region}#AutoScalingGroupDetails:id={};view=activity",
        regional_console(region),
        encode(name)
    )
}

pub fn rds_database(region: &str, id: &str, cluster: bool) -> String {
    format!(
        "{}/rds/home?region={region}#database:id={};is-cluster={cluster}",
        regional_console(region),
        encode(id)
    )
}

pub fn ebs_volume(region: &str, id: &str) -> String {
    format!(
        "{}/ec2/home?region={region}#VolumeDetails:volumeId={}",
        regional_console(region),
        encode(id)
    )
}

pub fn ebs_snapshot(region: &str, id: &str) -> String {
    format!(
        "{}/ec2/home?region={region}#SnapshotDetails:snapshotId={}",
        regional_console(region),
        encode(id)
    )
}

pub fn acm_certificate(region: &str, id: &str) -> String {
    format!(
        "{}/acm/home?region={region}#/certificates/{}",
        regional_console(region),
        encode(id)
    )
}

pub fn ssm_compliance(region: &str) -> String {
    format!(
        "{}/systems-manager/compliance?region={region}",
        regional_console(region)
    )
}

pub fn run_command(region: &str, command_id: &str) -> String {
    format!(
        "{}/systems-manager/run-command/{}?region={region}",
        regional_console(region),
        encode(command_id)
    )
}

pub fn glue_job_run(region: &str, job: &str, run: &str) -> String {
    format!(
        "{}/gluestudio/home?region={region}#/job/{}/run/{}",
        regional_console(region),
        encode(job),
        encode(run)
    )
}

/// Budgets is global: the partition's console, picked by a region in it.
pub fn budgets(partition_region: &str) -> String {
    format!("{}/billing/home#/budgets", global_console(partition_region))
}
