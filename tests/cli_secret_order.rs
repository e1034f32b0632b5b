//! The webhook secret changes only with a stack update that succeeded: a
//! rolled-back update must leave the old webhook live with the old stack.
//! The update fails the way it fails in AWS: reserving 950 of the account's
//! 1,000 concurrent executions leaves fewer than 100 unreserved (testkit's
//! moto enforces that quota and rolls the stack back like CloudFormation).

use crate::common;

use std::process::Output;

use common::{artifact_zip, cli, text, SIGNING};
use testkit::Moto;

const OLD: &str = "https://oapi.dingtalk.com/robot/send?access_token=0ldtoken0000";
const NEW: &str = "https://oapi.dingtalk.com/robot/send?access_token=n3wtoken1111";

fn deploy(moto: &Moto, dir: &std::path::Path, webhook: &str, extra: &[&str]) -> Output {
    let zip = artifact_zip(dir);
    let zip = zip.to_str().unwrap();
    let mut args = vec!["deploy", "--yes", "--artifact", zip];
    args.extend_from_slice(extra);
    let out = cli(dir, &args)
        .envs(moto.env())
        .env("DINGTALK_WEBHOOK_URL", webhook)
        .env("DINGTALK_SECRET", SIGNING)
        .output()
        .unwrap();
    let all = format!("{}{}", text(&out.stdout), text(&out.stderr));
    for secret in ["0ldtoken0000", "n3wtoken1111", SIGNING] {
        assert!(!all.contains(secret), "a secret leaked:\n{all}");
    }
    out
}

async fn stored_webhook(moto: &Moto) -> String {
    let sm = aws_sdk_secretsmanager::Client::new(&moto.sdk_config().await);
    let v = sm
        .get_secret_value()
        .secret_id("dingtalk-notifier/dingtalk-notifier/webhook")
        .send()
        .await
        .unwrap();
    let doc: serde_json::Value = serde_json::from_str(v.secret_string().unwrap()).unwrap();
    doc["webhook"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn a_rolled_back_update_keeps_the_old_webhook() {
    let moto = Moto::start().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let first = deploy(&moto, dir.path(), OLD, &[]);
    assert!(first.status.success(), "{}", text(&first.stderr));
    assert_eq!(stored_webhook(&moto).await, OLD);

    let failed = deploy(&moto, dir.path(), NEW, &["--reserved-concurrency", "950"]);
    assert_eq!(failed.status.code(), Some(1), "{}", text(&failed.stderr));
    assert_eq!(
        text(&failed.stderr).lines().last().unwrap(),
        "error: deploy failed: stack dingtalk-notifier is UPDATE_ROLLBACK_COMPLETE; \
         the stored webhook was not changed"
    );
    assert_eq!(stored_webhook(&moto).await, OLD);

    let fixed = deploy(&moto, dir.path(), NEW, &["--reserved-concurrency", "-1"]);
    assert!(fixed.status.success(), "{}", text(&fixed.stderr));
    assert_eq!(stored_webhook(&moto).await, NEW);
}
