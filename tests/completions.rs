//! `completions`: scripts for each shell, and the bash one really completes.

use crate::common;

use std::process::Command;

use common::{cli, text};

#[test]
fn every_shell_gets_a_script_naming_the_commands() {
    let dir = tempfile::tempdir().unwrap();
    for (shell, start) in [
        ("bash", "_dingtalk__notifier() {"),
        ("zsh", "#compdef dingtalk-notifier"),
        ("fish", "# Print an optspec for argparse"),
        (
            "powershell",
            "\nusing namespace System.Management.Automation",
        ),
    ] {
        let out = cli(dir.path(), &["completions", shell]).output().unwrap();
        assert_eq!(out.status.code(), Some(0), "{shell}: {}", text(&out.stderr));
        let script = text(&out.stdout);
        assert!(script.starts_with(start), "{shell}:\n{script}");
        for word in ["preview", "deploy", "test-send", "redrive", "webhook-url"] {
            assert!(script.contains(word), "{shell} lacks {word}");
        }
    }
    let out = cli(dir.path(), &["completions", "tcsh"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
}

/// Sources the bash script and asks it what `dingtalk-notifier de<TAB>` and
/// `dingtalk-notifier preview --sa<TAB>` complete to.
#[test]
fn the_bash_script_completes_commands_and_flags() {
    let dir = tempfile::tempdir().unwrap();
    let out = cli(dir.path(), &["completions", "bash"]).output().unwrap();
    let script = dir.path().join("complete.bash");
    std::fs::write(&script, &out.stdout).unwrap();
    let ask = |words: &str| {
        let probe = format!(
            "source {}; COMP_WORDS=({words}); COMP_CWORD=$((${{#COMP_WORDS[@]}} - 1)); \
             COMP_LINE='{words}'; COMP_POINT=${{#COMP_LINE}}; \
             _dingtalk__notifier dingtalk-notifier \"${{COMP_WORDS[-1]}}\" \"${{COMP_WORDS[-2]}}\"; \
             printf '%s\\n' \"${{COMPREPLY[@]}}\"",
            script.display()
        );
        let out = Command::new("bash")
            .args(["--norc", "--noprofile", "-c", &probe])
            .output()
            .unwrap();
        assert_eq!(text(&out.stderr), "");
        text(&out.stdout)
    };
    assert_eq!(ask("dingtalk-notifier de"), "deploy\ndestroy\n");
    assert_eq!(ask("dingtalk-notifier preview --sa"), "--sample\n");
}
