//! Routing through the real `dingtalk-notifier deploy` against moto: an
//! install of one robot keeps its secret as it is; adding `[robots.NAME]`
//! and `[[routes]]` to its toml stores the new robot's webhook (from
//! `DINGTALK_WEBHOOK_URL_<NAME>` without a terminal) beside robot
//! `default`, passes the routes as the `Routes` parameter, and keeps the
//! toml's sections; a bad route stops the deploy with one line naming it.

use crate::common;

use std::process::{Command, Output};

use common::{artifact_zip, cli, text, webhook, SIGNING, TOKEN};
use serde_json::{json, Value};
use testkit::moto::Moto;

const SECURITY_TOKEN: &str = "s3curitytok3nvalue0123456789abcd";
const SECURITY_SIGNING: &str = "SECsecurityrobotsigningsecret0123";

const ROUTING: &str = r#"
[robots.security]
security = "signature"
keyword = "告警"

[[routes]]
source = ["aws.guardduty", "aws.securityhub", "aws.inspector2"]
min_severity = "high"
robot = "security"
at_mobiles = ["13800000000"]

[[routes]]
detail_type = ["AWS Health Event"]
event_type_code = ["AWS_VPN_SINGLE_TUNNEL_NOTIFICATION", "AWS_CLOUDSHELL_*"]
drop = true
"#;

struct World {
    moto: Moto,
    dir: tempfile::TempDir,
    zip: std::path::PathBuf,
}

impl World {
    fn new() -> World {
        let moto = Moto::start().unwrap();
        let dir = tempfile::tempdir().unwrap();
        let zip = artifact_zip(dir.path());
        World { moto, dir, zip }
    }

    fn deploy(&self, env: &[(&str, String)]) -> Output {
        let zip = self.zip.to_str().unwrap().to_string();
        let mut cmd: Command = cli(self.dir.path(), &["deploy", "--yes", "--artifact", &zip]);
        cmd.envs(self.moto.env());
        cmd.env("DINGTALK_WEBHOOK_URL", webhook())
            .env("DINGTALK_SECRET", SIGNING);
        cmd.envs(env.iter().map(|(k, v)| (k.to_string(), v.clone())));
        let out = cmd.output().unwrap();
        let all = format!("{}{}", text(&out.stdout), text(&out.stderr));
        for secret in [TOKEN, SIGNING, SECURITY_TOKEN, SECURITY_SIGNING] {
            assert!(!all.contains(secret), "a secret leaked:\n{all}");
        }
        out
    }

    fn toml(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("dingtalk-notifier.toml")).unwrap()
    }

    fn append_toml(&self, more: &str) {
        let text = self.toml() + more;
        std::fs::write(self.dir.path().join("dingtalk-notifier.toml"), text).unwrap();
    }

    async fn secret(&self) -> String {
        aws_sdk_secretsmanager::Client::new(&self.moto.sdk_config().await)
            .get_secret_value()
            .secret_id("dingtalk-notifier/dingtalk-notifier/webhook")
            .send()
            .await
            .unwrap()
            .secret_string
            .unwrap()
    }

    async fn parameter(&self, key: &str) -> String {
        let cf = aws_sdk_cloudformation::Client::new(&self.moto.sdk_config().await);
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
            .unwrap_or_default()
            .to_string()
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

fn security_webhook() -> String {
    format!("https://oapi.dingtalk.com/robot/send?access_token={SECURITY_TOKEN}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_robot_and_routes_join_an_existing_install() {
    let w = World::new();
    assert_ok(&w.deploy(&[]));
    let old = w.secret().await;
    assert!(!old.contains("robots"), "{old}");
    assert_eq!(w.parameter("Routes").await, "");

    // Without the new robot's webhook and no terminal: one line, nothing changed.
    w.append_toml(ROUTING);
    let out = w.deploy(&[]);
    assert!(!out.status.success());
    let err = text(&out.stderr);
    assert!(
        err.contains("robot `security` has no webhook yet: set DINGTALK_WEBHOOK_URL_SECURITY (and DINGTALK_SECRET_SECURITY for a 加签 robot)"),
        "{err}"
    );
    assert_eq!(w.secret().await, old);

    assert_ok(&w.deploy(&[
        ("DINGTALK_WEBHOOK_URL_SECURITY", security_webhook()),
        ("DINGTALK_SECRET_SECURITY", SECURITY_SIGNING.to_string()),
    ]));
    let stored: Value = serde_json::from_str(&w.secret().await).unwrap();
    let old: Value = serde_json::from_str(&old).unwrap();
    assert_eq!(stored["robots"]["default"], old, "robot default unchanged");
    assert_eq!(
        stored["robots"]["security"],
        json!({"webhook": security_webhook(), "secret": SECURITY_SIGNING, "keyword": "告警"})
    );
    assert_eq!(stored.get("routes"), None, "the routes fit the environment");
    assert_eq!(
        w.parameter("Routes").await,
        r#"[{"source":["aws.guardduty","aws.securityhub","aws.inspector2"],"min_severity":"high","robot":"security","at_mobiles":["13800000000"]},{"detail_type":["AWS Health Event"],"event_type_code":["AWS_VPN_SINGLE_TUNNEL_NOTIFICATION","AWS_CLOUDSHELL_*"],"drop":true}]"#
    );
    let toml = w.toml();
    assert!(toml.contains("[robots.security]"), "{toml}");
    assert_eq!(toml.matches("[[routes]]").count(), 2, "{toml}");

    // status lists the robots and their routes as deployed.
    let mut cmd = cli(w.dir.path(), &["status"]);
    cmd.envs(w.moto.env());
    let out = cmd.output().unwrap();
    assert_ok(&out);
    let shown = text(&out.stdout);
    assert!(
        shown.contains("  security   route 1: source aws.guardduty, aws.securityhub, aws.inspector2; min_severity high; mentions 1 people from high\n"),
        "{shown}"
    );
    assert!(
        shown.contains("  (dropped)  route 2: detail_type AWS Health Event; event_type_code AWS_VPN_SINGLE_TUNNEL_NOTIFICATION, AWS_CLOUDSHELL_*\n"),
        "{shown}"
    );

    // Deployed again: nothing asked, the secret stays as it is.
    let before = w.secret().await;
    assert_ok(&w.deploy(&[]));
    assert_eq!(w.secret().await, before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_route_is_one_line_naming_it() {
    let w = World::new();
    std::fs::write(
        w.dir.path().join("dingtalk-notifier.toml"),
        "[[routes]]\nsource = [\"aws.health\"]\n\n[[routes]]\nsorce = [\"aws.guardduty\"]\n",
    )
    .unwrap();
    let out = w.deploy(&[]);
    assert!(!out.status.success());
    let err = text(&out.stderr);
    let line = err
        .lines()
        .find(|l| l.contains("route 2"))
        .unwrap_or_else(|| panic!("{err}"));
    assert!(line.contains("route 2: unknown field `sorce`"), "{line}");
    assert!(line.contains("dingtalk-notifier.toml"), "{line}");
}
