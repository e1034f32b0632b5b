//! `deploy` as a person sees it: the binary under a pseudo-terminal, its
//! output fed to a terminal emulator (vt100), so what is checked is the
//! screen left behind (no empty lines from the progress display), not the
//! bytes. Then the plain cases: NO_COLOR, a non-terminal stderr, --quiet.

use crate::common;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use common::{artifact_zip, text, webhook, SIGNING, TOKEN};
use expectrl::{Eof, Session};
use testkit::moto::Moto;

const COLS: u16 = 80;
const ROWS: u16 = 200;

/// Runs the CLI under a pseudo-terminal of COLS x ROWS until it exits;
/// returns the raw bytes and the exit code.
fn run_in_pty(moto: &Moto, dir: &Path, args: &[&str]) -> (Vec<u8>, i32) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_dingtalk-notifier"));
    cmd.args(args)
        .current_dir(dir)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", dir)
        .env("TERM", "xterm-256color")
        .env("NO_COLOR", "1")
        .env("DINGTALK_WEBHOOK_URL", webhook())
        .env("DINGTALK_SECRET", SIGNING)
        .envs(moto.env());
    let mut session = Session::spawn(cmd).unwrap();
    session
        .get_process_mut()
        .set_window_size(COLS, ROWS)
        .unwrap();
    session.set_expect_timeout(Some(Duration::from_secs(120)));
    let bytes = session.expect(Eof).unwrap().as_bytes().to_vec();
    let code = match session.get_process().wait().unwrap() {
        expectrl::WaitStatus::Exited(_, code) => code,
        other => panic!("{other:?}"),
    };
    (bytes, code)
}

/// The screen a terminal shows after `bytes`, without the empty rows below.
fn screen(bytes: &[u8]) -> Vec<String> {
    let mut parser = vt100::Parser::new(ROWS, COLS, 0);
    parser.process(bytes);
    let mut rows: Vec<String> = parser
        .screen()
        .rows(0, COLS)
        .map(|r| r.trim_end().to_string())
        .collect();
    while rows.last().is_some_and(String::is_empty) {
        rows.pop();
    }
    rows
}

async fn outputs(moto: &Moto, stack: &str) -> std::collections::BTreeMap<String, String> {
    let cfn = aws_sdk_cloudformation::Client::new(&moto.sdk_config().await);
    let described = cfn
        .describe_stacks()
        .stack_name(stack)
        .send()
        .await
        .unwrap();
    described.stacks()[0]
        .outputs()
        .iter()
        .map(|o| {
            (
                o.output_key().unwrap().to_string(),
                o.output_value().unwrap().to_string(),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn create_in_a_terminal_leaves_a_clean_screen_and_says_what_next() {
    let moto = Moto::start().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let zip = artifact_zip(dir.path());
    let zip = zip.to_str().unwrap();
    let deploy = [
        "deploy",
        "--yes",
        "--stack-name",
        "alerts",
        "--artifact",
        zip,
        "--robot-security",
        "signature",
        "--rules",
        "health,alarm",
    ];

    let (bytes, code) = run_in_pty(&moto, dir.path(), &deploy);
    let raw = text(&bytes);
    let rows = screen(&bytes);
    let shown = rows.join("\n");
    assert_eq!(code, 0, "{shown}");
    assert!(!raw.contains(TOKEN) && !raw.contains(SIGNING), "{shown}");
    // NO_COLOR: no color or bold, even at a terminal.
    assert!(
        !raw.contains("\x1b[3") && !raw.contains("\x1b[1m"),
        "{raw:?}"
    );
    // The progress display left no empty line behind: the only one is the
    // result's own, before "Next:".
    let empty: Vec<usize> = (0..rows.len()).filter(|&i| rows[i].is_empty()).collect();
    assert_eq!(empty.len(), 1, "empty rows at {empty:?}:\n{shown}");
    assert!(rows[empty[0] + 1].starts_with("Next: "), "{shown}");

    let out = outputs(&moto, "alerts").await;
    let end = rows[rows.len() - 7..].join("\n");
    assert!(
        rows[rows.len() - 8].starts_with("    CREATE_COMPLETE after "),
        "{shown}"
    );
    assert_eq!(
        end,
        format!(
            "✓ Stack alerts created.\n\
             Topic ARN  {}\n           (for plugins and CloudWatch alarm actions)\n\
             Rules on   health, alarm\n\
             Log group  {}\n\
             \n\
             Next: dingtalk-notifier test-send   (a sample alert to the DingTalk group)",
            out["TopicArn"], out["LogGroupName"]
        ),
        "{shown}"
    );

    // --quiet at a terminal: the result only, and no escape sequence at all.
    let mut quiet = deploy.to_vec();
    quiet.push("--quiet");
    let (bytes, code) = run_in_pty(&moto, dir.path(), &quiet);
    let raw = text(&bytes);
    assert_eq!(code, 0, "{raw}");
    assert!(!raw.contains('\x1b'), "{raw:?}");
    assert!(
        raw.starts_with(&format!("Topic ARN  {}\r\n", out["TopicArn"])),
        "{raw}"
    );

    // stderr not a terminal (and no NO_COLOR): plain lines, no escape sequence.
    let run = common::cli(dir.path(), &deploy)
        .env_remove("NO_COLOR")
        .env("DINGTALK_WEBHOOK_URL", webhook())
        .env("DINGTALK_SECRET", SIGNING)
        .envs(moto.env())
        .output()
        .unwrap();
    assert_eq!(run.status.code(), Some(0), "{}", text(&run.stderr));
    assert!(
        !text(&run.stderr).contains('\x1b'),
        "{:?}",
        text(&run.stderr)
    );
    assert!(
        text(&run.stderr).ends_with("✓ Stack alerts is up to date.\n"),
        "{}",
        text(&run.stderr)
    );
    assert!(
        text(&run.stdout).ends_with(
            "\nNext: dingtalk-notifier test-send   (a sample alert to the DingTalk group)\n"
        ),
        "{}",
        text(&run.stdout)
    );
}
