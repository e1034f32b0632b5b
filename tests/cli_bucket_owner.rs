//! Bucket sniping, with two moto accounts: another account creates the
//! artifact bucket name this account's deploy would use, opens it to the
//! world and plants `lambda/<sha>.zip` there. deploy must never run that
//! code: it refuses the foreign bucket (ExpectedBucketOwner, which
//! testkit's moto enforces like S3), moves to a random-suffix bucket that it
//! remembers, and checks the function's CodeSha256 after deploying.

mod common;

use std::path::PathBuf;
use std::process::{Command, Output};

use common::{artifact_zip, cli, text, webhook, SIGNING};
use sha2::{Digest, Sha256};
use testkit::Moto;

const ACCOUNT: &str = "123456789012";
const OTHER: &str = "210987654321";
const WANTED: &str = "dingtalk-notifier-artifacts-123456789012-us-east-1";

struct World {
    moto: Moto,
    dir: tempfile::TempDir,
    zip: PathBuf,
    sha: String,
}

impl World {
    fn new() -> World {
        let moto = Moto::start().unwrap();
        let dir = tempfile::tempdir().unwrap();
        let zip = artifact_zip(dir.path());
        let sha = hex::encode(Sha256::digest(std::fs::read(&zip).unwrap()));
        World {
            moto,
            dir,
            zip,
            sha,
        }
    }

    fn deploy(&self) -> Output {
        let zip = self.zip.to_str().unwrap();
        let mut cmd: Command = cli(self.dir.path(), &["deploy", "--yes", "--artifact", zip]);
        cmd.envs(self.moto.env())
            .env("DINGTALK_WEBHOOK_URL", webhook())
            .env("DINGTALK_SECRET", SIGNING);
        cmd.output().unwrap()
    }

    fn s3(&self) -> aws_sdk_s3::Client {
        let cfg = Moto::sdk_config_for(self.moto.endpoint());
        aws_sdk_s3::Client::from_conf(
            aws_sdk_s3::config::Builder::from(&cfg)
                .force_path_style(true)
                .build(),
        )
    }

    /// The other account takes `bucket`, opens it to everyone and plants a
    /// zip under this deploy's key.
    async fn snipe(&self, bucket: &str) {
        let s3 = self.s3();
        s3.create_bucket()
            .bucket(bucket)
            .customize()
            .mutate_request(|r| {
                r.headers_mut().insert("x-moto-account-id", OTHER);
            })
            .send()
            .await
            .unwrap();
        let policy = format!(
            r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":"*","Action":"s3:*","Resource":["arn:aws:s3:::{bucket}","arn:aws:s3:::{bucket}/*"]}}]}}"#
        );
        s3.put_bucket_policy()
            .bucket(bucket)
            .policy(policy)
            .customize()
            .mutate_request(|r| {
                r.headers_mut().insert("x-moto-account-id", OTHER);
            })
            .send()
            .await
            .unwrap();
        s3.put_object()
            .bucket(bucket)
            .key(format!("lambda/{}.zip", self.sha))
            .body(b"PK\x05\x06attacker code".to_vec().into())
            .customize()
            .mutate_request(|r| {
                r.headers_mut().insert("x-moto-account-id", OTHER);
            })
            .send()
            .await
            .unwrap();
    }

    async fn function_code_sha256(&self) -> String {
        let cfg = Moto::sdk_config_for(self.moto.endpoint());
        let lambda = aws_sdk_lambda::Client::new(&cfg);
        let functions = lambda.list_functions().send().await.unwrap();
        let f = functions.functions().first().expect("a function");
        f.code_sha256().unwrap().to_string()
    }

    async fn parameter(&self, key: &str) -> String {
        let cfg = Moto::sdk_config_for(self.moto.endpoint());
        let cf = aws_sdk_cloudformation::Client::new(&cfg);
        let out = cf
            .describe_stacks()
            .stack_name("dingtalk-notifier")
            .send()
            .await
            .unwrap();
        out.stacks()[0]
            .parameters()
            .iter()
            .find(|p| p.parameter_key() == Some(key))
            .and_then(|p| p.parameter_value())
            .unwrap()
            .to_string()
    }

    fn toml(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("dingtalk-notifier.toml")).unwrap()
    }
}

fn assert_ok(out: &Output) {
    assert!(
        out.status.success(),
        "exit {:?}\nstdout:\n{}\nstderr:\n{}",
        out.status.code(),
        text(&out.stdout),
        text(&out.stderr)
    );
}

fn base64_sha(hex_sha: &str) -> String {
    aws_smithy_types::base64::encode(hex::decode(hex_sha).unwrap())
}

#[tokio::test]
async fn a_sniped_bucket_is_avoided_and_the_new_name_remembered() {
    let w = World::new();
    w.snipe(WANTED).await;

    let out = w.deploy();
    assert_ok(&out);
    let err = text(&out.stderr);
    let line = err
        .lines()
        .find(|l| l.contains("belongs to another AWS account"))
        .unwrap_or_else(|| panic!("no warning:\n{err}"));
    let used = w.parameter("ArtifactBucket").await;
    assert_eq!(
        line,
        format!(
            "warning: the bucket {WANTED} belongs to another AWS account; using {used} instead"
        )
    );
    let suffix = used
        .strip_prefix(&format!("{WANTED}-"))
        .expect("a suffixed name");
    assert!(
        suffix.len() == 8 && suffix.chars().all(|c| c.is_ascii_hexdigit()),
        "{used}"
    );
    assert!(!err.contains("already in s3://"), "{err}");
    assert!(
        w.toml().contains(&format!("artifact_bucket = \"{used}\"")),
        "{}",
        w.toml()
    );
    assert_eq!(w.function_code_sha256().await, base64_sha(&w.sha));

    // The next deploy goes straight to the remembered bucket.
    let again = w.deploy();
    assert_ok(&again);
    assert!(
        !text(&again.stderr).contains("belongs to another"),
        "{}",
        text(&again.stderr)
    );
    assert_eq!(w.parameter("ArtifactBucket").await, used);
    let _ = ACCOUNT;
}

#[tokio::test]
async fn a_remembered_bucket_taken_by_another_account_is_refused() {
    let w = World::new();
    let taken = format!("{WANTED}-0badc0de");
    w.snipe(&taken).await;
    std::fs::write(
        w.dir.path().join("dingtalk-notifier.toml"),
        format!("[deploy]\nartifact_bucket = \"{taken}\"\n"),
    )
    .unwrap();
    let out = w.deploy();
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stderr).lines().last().unwrap(),
        format!(
            "error: the artifact bucket {taken} (artifact_bucket in dingtalk-notifier.toml) belongs to \
             another AWS account or refuses this one; remove that line and deploy again to get a new bucket"
        )
    );
}

#[tokio::test]
async fn code_that_is_not_the_deployed_zip_fails_the_deploy() {
    let w = World::new();
    assert_ok(&w.deploy());
    // Someone changes the function outside dingtalk-notifier.
    let cfg = Moto::sdk_config_for(w.moto.endpoint());
    let lambda = aws_sdk_lambda::Client::new(&cfg);
    let name = lambda.list_functions().send().await.unwrap().functions()[0]
        .function_name()
        .unwrap()
        .to_string();
    let mut foreign = std::fs::read(&w.zip).unwrap();
    foreign.extend_from_slice(b"changed");
    lambda
        .update_function_code()
        .function_name(&name)
        .zip_file(foreign.clone().into())
        .send()
        .await
        .unwrap();
    let out = w.deploy();
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    // Hashes in hex, as `sha256sum` and `deploy` print them.
    let deployed = hex::encode(Sha256::digest(&foreign));
    assert_eq!(
        text(&out.stderr).lines().last().unwrap(),
        format!(
            "error: the function {name} runs code with SHA-256 {deployed}, not the zip this deploy \
             uploaded ({}): its code was changed outside dingtalk-notifier or planted; find out \
             who changed it before trusting the function",
            w.sha
        )
    );
}
