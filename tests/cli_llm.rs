//! `deploy --llm on` against moto and the local Bedrock server, which, like
//! the real one, refuses base model ids on demand: the CLI checks the model
//! with one tiny Converse call and switches to the region's profile.

use crate::common;

use std::process::Output;

use common::{artifact_zip, cli, text, webhook, SIGNING};
use testkit::moto::Moto;
use testkit::{BedrockMode, BedrockServer};

fn deploy(moto: &Moto, bedrock: &BedrockServer, dir: &std::path::Path, extra: &[&str]) -> Output {
    let zip = artifact_zip(dir);
    let zip = zip.to_str().unwrap().to_string();
    let mut args = vec!["deploy", "--yes", "--artifact", &zip, "--llm", "on"];
    args.extend_from_slice(extra);
    let mut cmd = cli(dir, &args);
    cmd.envs(moto.env())
        .env("AWS_ENDPOINT_URL_BEDROCK_RUNTIME", bedrock.endpoint())
        .env("DINGTALK_WEBHOOK_URL", webhook())
        .env("DINGTALK_SECRET", SIGNING);
    cmd.output().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deploy_checks_the_model_and_picks_the_regions_profile() {
    let moto = Moto::start().unwrap();
    let bedrock = BedrockServer::start(BedrockMode::Reply("ok".into())).unwrap();

    // A model Bedrock does not know in the region: refused before any change.
    let dir = tempfile::tempdir().unwrap();
    let out = deploy(
        &moto,
        &bedrock,
        dir.path(),
        &["--llm-model-id", "eu.amazon.nova-lite-v1:0"],
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).ends_with(
            "error: invalid --llm-model-id: Bedrock in us-east-1 does not know \
         `eu.amazon.nova-lite-v1:0` (The provided model identifier is invalid.); check the id, \
         or choose another --llm-region\n"
        ),
        "{}",
        text(&out.stderr)
    );

    // The default base id: refused on demand, so the us. profile is used.
    let out = deploy(&moto, &bedrock, dir.path(), &[]);
    let err = text(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(
        err.contains("LLM summaries call Bedrock in us-east-1 (the stack's region)"),
        "{err}"
    );
    assert!(
        err.contains(
            "Bedrock serves amazon.nova-lite-v1:0 in us-east-1 only through an inference \
             profile: using us.amazon.nova-lite-v1:0"
        ),
        "{err}"
    );
    let asked: Vec<String> = bedrock
        .requests()
        .iter()
        .map(|r| r.model_id.clone())
        .collect();
    assert_eq!(
        asked,
        [
            "eu.amazon.nova-lite-v1:0",
            "amazon.nova-lite-v1:0",
            "us.amazon.nova-lite-v1:0"
        ]
    );
    let last = bedrock.requests().pop().unwrap();
    assert!(last.signed);
    assert_eq!(last.region, "us-east-1");
    assert_eq!(last.body["inferenceConfig"]["maxTokens"], 1);
    let cf = aws_sdk_cloudformation::Client::new(&moto.sdk_config().await);
    let stack = cf
        .describe_stacks()
        .stack_name("dingtalk-notifier")
        .send()
        .await
        .unwrap();
    let param = |k: &str| {
        stack.stacks()[0]
            .parameters()
            .iter()
            .find(|p| p.parameter_key() == Some(k))
            .and_then(|p| p.parameter_value())
            .map(str::to_string)
    };
    assert_eq!(
        param("LlmModelId").as_deref(),
        Some("us.amazon.nova-lite-v1:0")
    );
    assert_eq!(param("LlmRegion").as_deref(), Some(""));
    let saved = std::fs::read_to_string(dir.path().join("dingtalk-notifier.toml")).unwrap();
    assert!(
        saved.contains("llm_model_id = \"us.amazon.nova-lite-v1:0\""),
        "{saved}"
    );
}

#[test]
fn deploy_refuses_what_real_aws_would_refuse() {
    let moto = Moto::start().unwrap();
    let bedrock = BedrockServer::start(BedrockMode::Reply("ok".into())).unwrap();
    let dir = tempfile::tempdir().unwrap();

    // China: no Bedrock in the partition.
    let out = deploy(&moto, &bedrock, dir.path(), &["--region", "cn-north-1"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).ends_with(
        "error: --llm on: partition aws-cn (cn-north-1) has no Amazon Bedrock; pass --llm-region \
         with a region of aws-cn that has it, or --llm off\n"
    ), "{}", text(&out.stderr));

    // A prompt that would take the function's environment past 4 KB.
    let prompt = dir.path().join("prompt.txt");
    std::fs::write(&prompt, "请".repeat(1300)).unwrap();
    let out = deploy(
        &moto,
        &bedrock,
        dir.path(),
        &["--llm-system-prompt-file", prompt.to_str().unwrap()],
    );
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(
        err.contains(
            "error: invalid --llm-system-prompt-file: the prompt is 3900 bytes, and Lambda allows \
         4 KB (4096 bytes) for all the function's environment variables together; shorten it to \
         at most "
        ),
        "{err}"
    );

    // maxTokens outside what the template accepts.
    let out = deploy(&moto, &bedrock, dir.path(), &["--llm-max-tokens", "10000"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).ends_with(
            "error: invalid --llm-max-tokens 10000: must be a whole number from 30 to 4096.\n"
        ),
        "{}",
        text(&out.stderr)
    );
    assert!(bedrock.requests().is_empty(), "nothing was checked live");
}
