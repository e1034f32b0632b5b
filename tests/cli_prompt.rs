//! `deploy` at a terminal: the binary runs under a pseudo-terminal, the test
//! answers its prompts, and checks that the webhook and signing secret typed
//! at the masked prompts are never echoed.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use expectrl::{Eof, Session};
use testkit::moto::Moto;

const TOKEN: &str = "ptyt0ken5ecret0123456789abcdef";
const SIGNING: &str = "SECptysigningsecret0123456789";

fn artifact_zip(dir: &Path) -> PathBuf {
    let path = dir.join("function.zip");
    let file = std::fs::File::create(&path).unwrap();
    let mut zip = zip::ZipWriter::new(file);
    let opts = zip::write::SimpleFileOptions::default().unix_permissions(0o755);
    zip.start_file("bootstrap", opts).unwrap();
    zip.write_all(b"#!/bin/sh\n").unwrap();
    zip.finish().unwrap();
    path
}

/// Everything the terminal showed, for the leak check at the end.
struct Screen {
    session: Session,
    seen: Vec<u8>,
}

impl Screen {
    fn spawn(moto: &Moto, dir: &Path, args: &[&str]) -> Screen {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_dingtalk-notifier"));
        cmd.args(args)
            .current_dir(dir)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", dir)
            .env("TERM", "xterm-256color")
            .env("NO_COLOR", "1")
            .envs(moto.env());
        let mut session = Session::spawn(cmd).unwrap();
        session.set_expect_timeout(Some(Duration::from_secs(90)));
        Screen {
            session,
            seen: Vec::new(),
        }
    }

    fn exit_code(&mut self) -> expectrl::WaitStatus {
        self.session.get_process().wait().unwrap()
    }

    fn expect(&mut self, what: &str) {
        match self.session.expect(what) {
            Ok(found) => self.seen.extend_from_slice(found.as_bytes()),
            Err(e) => panic!(
                "waiting for {what:?}: {e}\nscreen so far:\n{}",
                String::from_utf8_lossy(&self.seen)
            ),
        }
    }

    fn send_line(&mut self, line: &str) {
        // Masked prompts switch echo off with TCSAFLUSH, which discards input
        // typed before the switch; give the prompt a moment, like a person.
        std::thread::sleep(Duration::from_millis(300));
        self.session.send_line(line).unwrap();
    }

    /// For a masked prompt: typed only once echo is off, since the switch
    /// (TCSAFLUSH) discards what was typed before it.
    fn send_hidden_line(&mut self, line: &str) {
        let waited = std::time::Instant::now();
        while self.session.get_process().get_echo().unwrap_or(false)
            && waited.elapsed() < Duration::from_secs(20)
        {
            std::thread::sleep(Duration::from_millis(20));
        }
        self.send_line(line);
    }

    fn finish(&mut self) -> String {
        if let Ok(found) = self.session.expect(Eof) {
            self.seen.extend_from_slice(found.as_bytes());
        }
        String::from_utf8_lossy(&self.seen).into_owned()
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn first_deploy_answering_prompts() {
    let moto = Moto::start().unwrap();
    let cfg = moto.sdk_config().await;
    let dir = tempfile::tempdir().unwrap();
    let zip = artifact_zip(dir.path());

    let mut screen = Screen::spawn(
        &moto,
        dir.path(),
        &["deploy", "--artifact", zip.to_str().unwrap()],
    );

    screen.expect("Stack name");
    screen.send_line("alerts");
    screen.expect("webhook URL (input hidden)");
    screen.send_hidden_line(&format!(
        "https://oapi.dingtalk.com/robot/send?access_token={TOKEN}"
    ));
    // The robot's security setting, as DingTalk shows it; 加签 is the default.
    screen.expect("Robot security setting");
    screen.send_line("");
    screen.expect("signing secret");
    // Enter on nothing: why it is needed and what else to choose.
    screen.send_hidden_line("");
    screen.expect("a 加签 (signature) robot refuses every unsigned message");
    screen.expect("--robot-security keywords or ip-allow-list");
    screen.send_hidden_line(SIGNING);
    screen.expect("Alerts to deliver");
    screen.send_line("");
    screen.expect("Bedrock (LLM) summary");
    screen.send_line("n");
    screen.expect("Function architecture");
    screen.send_line("");
    // A first deploy asks for the ops e-mail; empty warns once.
    screen.expect("Ops e-mail for the notifier's own alarms (empty for none)");
    screen.send_line("");
    screen.expect("no ops e-mail: nobody will hear of the notifier's own failures");
    // A first deploy asks for other regions; empty keeps the home region only.
    screen.expect("every other region you name gets a forwarder");
    screen.expect("Other regions to watch (comma-separated, `all`, or empty for us-east-1 only)");
    screen.send_line("");
    screen.expect("Deploy these changes?");
    screen.send_line("y");
    screen.expect("Stack alerts created.");
    let all = screen.finish();

    assert!(!all.contains(TOKEN), "the access token was echoed:\n{all}");
    assert!(
        !all.contains(SIGNING),
        "the signing secret was echoed:\n{all}"
    );
    let pid = screen.session.get_process().pid();
    assert_eq!(
        screen.exit_code(),
        expectrl::WaitStatus::Exited(pid, 0),
        "{all}"
    );

    // The answers were remembered (without secrets); the secret holds them.
    let config = std::fs::read_to_string(dir.path().join("dingtalk-notifier.toml")).unwrap();
    assert!(config.contains("stack_name = \"alerts\""), "{config}");
    assert!(
        config.contains("rules = [\"health\", \"health-abuse\", \"ec2\", \"alarm\"]"),
        "{config}"
    );
    assert!(!config.contains(TOKEN) && !config.contains(SIGNING));
    let sm = aws_sdk_secretsmanager::Client::new(&cfg);
    let value = sm
        .get_secret_value()
        .secret_id("dingtalk-notifier/alerts/webhook")
        .send()
        .await
        .unwrap();
    let value: serde_json::Value = serde_json::from_str(value.secret_string().unwrap()).unwrap();
    assert_eq!(
        value,
        serde_json::json!({
            "webhook": format!("https://oapi.dingtalk.com/robot/send?access_token={TOKEN}"),
            "secret": SIGNING,
        })
    );

    // destroy asks for the stack name (from the saved answers) to be typed.
    let mut screen = Screen::spawn(&moto, dir.path(), &["destroy"]);
    screen.expect("This deletes stack alerts in ");
    screen.expect("Type its name to confirm");
    screen.send_line("alerts");
    screen.expect("Stack alerts deleted.");
    screen.expect("Secret dingtalk-notifier/alerts/webhook deleted.");
    let all = screen.finish();
    let pid = screen.session.get_process().pid();
    assert_eq!(
        screen.exit_code(),
        expectrl::WaitStatus::Exited(pid, 0),
        "{all}"
    );
    assert!(sm
        .describe_secret()
        .secret_id("dingtalk-notifier/alerts/webhook")
        .send()
        .await
        .is_err());
}

/// A second robot added to an installed stack's toml: `deploy` at a
/// terminal asks for its webhook and security setting as it asks for the
/// first robot's, never echoes them, and stores the robot beside `default`.
#[tokio::test(flavor = "multi_thread")]
async fn a_new_robot_is_asked_for_like_the_first() {
    const SECURITY_TOKEN: &str = "ptysecur1tyt0ken0123456789abcd";
    const SECURITY_SIGNING: &str = "SECptysecurityrobotsigning0123";
    let moto = Moto::start().unwrap();
    let cfg = moto.sdk_config().await;
    let dir = tempfile::tempdir().unwrap();
    let zip = artifact_zip(dir.path());
    let out = Command::new(env!("CARGO_BIN_EXE_dingtalk-notifier"))
        .args(["deploy", "--yes", "--artifact", zip.to_str().unwrap()])
        .current_dir(dir.path())
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", dir.path())
        .env("NO_COLOR", "1")
        .env(
            "DINGTALK_WEBHOOK_URL",
            format!("https://oapi.dingtalk.com/robot/send?access_token={TOKEN}"),
        )
        .env("DINGTALK_SECRET", SIGNING)
        .envs(moto.env())
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let toml_path = dir.path().join("dingtalk-notifier.toml");
    let toml = std::fs::read_to_string(&toml_path).unwrap()
        + "\n[robots.security]\n\n[[routes]]\nsource = [\"aws.guardduty\"]\nrobot = \"security\"\n";
    std::fs::write(&toml_path, toml).unwrap();

    let mut screen = Screen::spawn(
        &moto,
        dir.path(),
        &["deploy", "--artifact", zip.to_str().unwrap()],
    );
    screen.expect("Webhook: keep the stored one?");
    screen.send_line("");
    screen.expect("Webhook URL of robot `security` (input hidden)");
    screen.send_hidden_line(&format!(
        "https://oapi.dingtalk.com/robot/send?access_token={SECURITY_TOKEN}"
    ));
    screen.expect("Security setting of robot `security`");
    screen.send_line("");
    screen.expect("Signing secret of robot `security`");
    screen.send_hidden_line(SECURITY_SIGNING);
    screen.expect("Deploy these changes?");
    screen.send_line("y");
    let all = screen.finish();
    let pid = screen.session.get_process().pid();
    assert_eq!(
        screen.exit_code(),
        expectrl::WaitStatus::Exited(pid, 0),
        "{all}"
    );
    for secret in [TOKEN, SIGNING, SECURITY_TOKEN, SECURITY_SIGNING] {
        assert!(!all.contains(secret), "a secret was echoed:\n{all}");
    }
    let value = aws_sdk_secretsmanager::Client::new(&cfg)
        .get_secret_value()
        .secret_id("dingtalk-notifier/dingtalk-notifier/webhook")
        .send()
        .await
        .unwrap();
    let value: serde_json::Value = serde_json::from_str(value.secret_string().unwrap()).unwrap();
    assert_eq!(
        value["robots"]["security"],
        serde_json::json!({
            "webhook": format!("https://oapi.dingtalk.com/robot/send?access_token={SECURITY_TOKEN}"),
            "secret": SECURITY_SIGNING,
        })
    );
    assert_eq!(
        value["robots"]["default"]["webhook"],
        format!("https://oapi.dingtalk.com/robot/send?access_token={TOKEN}")
    );
}
