//! Benchmark: the release `bootstrap` under the local Lambda Runtime API.
//!
//! Measures, over several fresh processes: cold start (process spawn → first
//! alert received by the local DingTalk robot), warm per-event latency (event
//! handed to the runtime → message received by the robot), and
//! peak RSS (VmHWM). Run with `scripts/bench`, which builds the release
//! binary first; set BOOTSTRAP to measure another build.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use serde_json::json;
use testkit::{DingTalkOptions, DingTalkServer, LambdaEmulator, Moto, Outcome};

const COLD_RUNS: usize = 5;
const WARM_EVENTS: usize = 15;

fn sns(id: &str, message: &str) -> serde_json::Value {
    json!({"Records": [{"EventSource": "aws:sns", "Sns": {"MessageId": id, "Message": message}}]})
}

fn peak_rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

/// When the robot received the latest message: the end of "delivered",
/// without the emulator's wait for the function to ask for its next event.
fn delivered_at(robot: &DingTalkServer) -> anyhow::Result<Instant> {
    robot
        .requests()
        .last()
        .map(|r| r.at)
        .ok_or_else(|| anyhow::anyhow!("the robot received nothing"))
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let idx = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[idx.min(sorted.len() - 1)]
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> anyhow::Result<()> {
    let bootstrap = std::env::var_os("BOOTSTRAP")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/function/bootstrap")
        });
    anyhow::ensure!(
        bootstrap.is_file(),
        "{} not found: run scripts/bench (it builds the release binary)",
        bootstrap.display()
    );
    let moto = Moto::start()?;
    let config = moto.sdk_config().await;
    let robot = DingTalkServer::start(DingTalkOptions {
        rate_limit: 10_000,
        ..Default::default()
    })?;
    let arn = aws_sdk_secretsmanager::Client::new(&config)
        .create_secret()
        .name("bench/webhook")
        .secret_string(robot.webhook_url())
        .send()
        .await?
        .arn()
        .unwrap_or_default()
        .to_string();
    let alarm = include_str!("../../lambda/tests/fixtures/alarm_metric_alarm.json");
    let mut env = moto.env();
    env.push(("DINGTALK_SECRET_ARN".into(), arn));
    // The robot here takes 10 000 a minute; with the function's default share
    // (DingTalk's 20 a minute over the concurrency) the warm events would be
    // left for a retry.
    env.push(("DINGTALK_RATE_LIMIT".into(), "10000".into()));

    let mut cold = Vec::new();
    let mut warm = Vec::new();
    let mut rss = Vec::new();
    for run in 0..COLD_RUNS {
        let t0 = Instant::now();
        let lambda = LambdaEmulator::start(&bootstrap, env.clone())?;
        let inv = lambda
            .invoke(sns(&format!("cold-{run}"), alarm), Duration::from_secs(30))
            .await?;
        cold.push(delivered_at(&robot)?.duration_since(t0));
        anyhow::ensure!(
            matches!(inv.outcome, Outcome::Response(_)),
            "{:?}",
            inv.outcome
        );
        for i in 0..WARM_EVENTS {
            let t = Instant::now();
            let inv = lambda
                .invoke(
                    sns(&format!("warm-{run}-{i}"), alarm),
                    Duration::from_secs(30),
                )
                .await?;
            warm.push(delivered_at(&robot)?.duration_since(t));
            anyhow::ensure!(
                matches!(inv.outcome, Outcome::Response(_)),
                "{:?}",
                inv.outcome
            );
        }
        if let Some(kib) = peak_rss_kib(lambda.pid()) {
            rss.push(kib);
        }
    }
    cold.sort();
    warm.sort();
    let size = std::fs::metadata(&bootstrap)?.len();
    println!(
        "bootstrap: {} ({:.2} MB)",
        bootstrap.display(),
        size as f64 / 1e6
    );
    println!(
        "cold start + first event ({COLD_RUNS} runs): median {:?}, min {:?}, max {:?}",
        percentile(&cold, 0.5),
        cold[0],
        cold[cold.len() - 1]
    );
    println!(
        "warm event ({} events): median {:?}, p90 {:?}",
        warm.len(),
        percentile(&warm, 0.5),
        percentile(&warm, 0.9)
    );
    if let (Some(min), Some(max)) = (rss.iter().min(), rss.iter().max()) {
        println!(
            "peak RSS: {:.1}–{:.1} MiB",
            *min as f64 / 1024.0,
            *max as f64 / 1024.0
        );
    }
    println!("accepted by the robot: {}", robot.accepted().len());
    Ok(())
}
