//! Where text goes. Human progress goes to stderr so stdout stays clean for the
//! result (a table, or one JSON document with `--json`); colors and spinners
//! only appear on a terminal (console honours NO_COLOR / CLICOLOR).

use std::fmt::Display;
use std::io::IsTerminal;
use std::time::Duration;

use anyhow::Context;
use console::style;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde::Serialize;

/// How this run talks to the person (or CI job) that started it.
#[derive(Debug, Clone, Copy)]
pub struct Ui {
    pub quiet: bool,
    pub json: bool,
    /// Prompts are allowed: stdin and stderr are terminals and neither
    /// `--no-input` nor `--yes` was given.
    pub interactive: bool,
    /// `--yes`: every confirmation is answered yes.
    pub assume_yes: bool,
    stderr_tty: bool,
}

impl Ui {
    pub fn new(quiet: bool, json: bool, no_input: bool, yes: bool) -> Ui {
        let stderr_tty = std::io::stderr().is_terminal();
        let interactive = !no_input && !yes && std::io::stdin().is_terminal() && stderr_tty;
        Ui {
            quiet,
            json,
            interactive,
            assume_yes: yes,
            stderr_tty,
        }
    }

    /// A quiet, non-interactive Ui for unit tests of code that takes one.
    #[cfg(test)]
    pub fn for_tests() -> Ui {
        Ui {
            quiet: true,
            json: false,
            interactive: false,
            assume_yes: true,
            stderr_tty: false,
        }
    }

    /// A new phase of work ("Uploading the function ...").
    pub fn step(&self, msg: impl Display) {
        if !self.quiet {
            eprintln!("{} {msg}", style("==>").cyan().bold().for_stderr());
        }
    }

    /// A detail line under a step.
    pub fn info(&self, msg: impl Display) {
        if !self.quiet {
            eprintln!("    {msg}");
        }
    }

    pub fn success(&self, msg: impl Display) {
        if !self.quiet {
            eprintln!("{} {msg}", style("✓").green().bold().for_stderr());
        }
    }

    /// A plain line, without a marker, unless `--quiet`.
    pub fn line(&self, msg: impl Display) {
        if !self.quiet {
            eprintln!("{msg}");
        }
    }

    /// A plain line shown even with `--quiet`, like a warning: what the user
    /// needs after a failure or a Ctrl-C (the resources that failed, how to
    /// resume).
    pub fn notice(&self, msg: impl Display) {
        eprintln!("{msg}");
    }

    /// Warnings are shown even with `--quiet`: they are about something the
    /// user should change.
    pub fn warn(&self, msg: impl Display) {
        eprintln!("{} {msg}", style("warning:").yellow().bold().for_stderr());
    }

    /// A spinner with elapsed time; hidden when stderr is not a terminal or
    /// with `--quiet` (lines printed through [`Progress::line`] still appear
    /// unless quiet, so CI logs keep the resource events).
    pub fn progress(&self, msg: impl Into<String>) -> Progress {
        let bar = if self.stderr_tty && !self.quiet {
            let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
            let spinner = ProgressStyle::with_template("{spinner:.cyan} [{elapsed_precise}] {msg}")
                .unwrap_or_else(|_| ProgressStyle::default_spinner());
            bar.set_style(spinner);
            bar.enable_steady_tick(Duration::from_millis(120));
            bar
        } else {
            ProgressBar::hidden()
        };
        bar.set_message(msg.into());
        Progress {
            bar,
            quiet: self.quiet,
        }
    }

    /// Runs `work` under a spinner named `msg`, so no network wait of over a
    /// second is silent on a terminal; where stderr is not one, nothing is
    /// drawn (the step lines around it already say what runs).
    pub async fn during<F: std::future::Future>(
        &self,
        msg: impl Into<String>,
        work: F,
    ) -> F::Output {
        let progress = self.progress(msg);
        let out = work.await;
        progress.finish();
        out
    }

    /// Progress lines are printed (not drawn) when this is false.
    pub fn stderr_is_terminal(&self) -> bool {
        self.stderr_tty
    }

    /// Stderr styling helper for emphasised names.
    pub fn bold(&self, s: impl Display) -> String {
        style(s.to_string()).bold().for_stderr().to_string()
    }
}

/// A live progress display that can also print permanent lines above itself.
pub struct Progress {
    bar: ProgressBar,
    quiet: bool,
}

impl Progress {
    pub fn set(&self, msg: impl Into<String>) {
        self.bar.set_message(msg.into());
    }

    pub fn line(&self, msg: impl AsRef<str>) {
        if self.quiet {
            return;
        }
        if self.bar.is_hidden() {
            eprintln!("{}", msg.as_ref());
        } else {
            self.bar.println(msg);
        }
    }

    pub fn elapsed(&self) -> Duration {
        self.bar.elapsed()
    }

    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.bar.finish_and_clear();
    }
}

/// Renders `key  value` rows with the keys padded to one column.
pub fn table(rows: &[(String, String)]) -> String {
    let width = rows
        .iter()
        .map(|(k, _)| k.chars().count())
        .max()
        .unwrap_or(0);
    let mut out = String::new();
    for (k, v) in rows {
        let pad = width - k.chars().count();
        out.push_str(&format!("{k}{}  {v}\n", " ".repeat(pad)));
    }
    out
}

/// A spinner on stderr for a long step outside a [`Ui`] phase (a build, a
/// wait for logs); hidden when stderr is not a terminal.
pub fn spinner(prefix: &str) -> ProgressBar {
    let bar = if std::io::stderr().is_terminal() {
        ProgressBar::new_spinner()
    } else {
        ProgressBar::hidden()
    };
    bar.set_prefix(prefix.to_string());
    if let Ok(style) = ProgressStyle::with_template("{spinner} {prefix} [{elapsed}] {wide_msg}") {
        bar.set_style(style);
    }
    bar.enable_steady_tick(Duration::from_millis(120));
    bar
}

/// Prints a command's result once, at the end, on stdout: one JSON document
/// with `--json`, else the text for people (nothing when it has none).
pub fn print_result<R: Serialize + Display>(ui: &Ui, result: &R) -> anyhow::Result<()> {
    if ui.json {
        // Through a `Value`, so keys come out in the same order as ever.
        let doc = serde_json::to_value(result).context("serialising the result")?;
        println!("{doc:#}");
        return Ok(());
    }
    let text = result.to_string();
    if !text.trim().is_empty() {
        println!("{}", text.trim_end());
    }
    Ok(())
}

/// `error: <what failed>: <why>` on one line; a known AWS failure becomes one
/// friendly line. Never a Debug dump, never a raw HTTP response.
pub fn print_error(err: &anyhow::Error) {
    let red = |s: &str| console::style(s.to_string()).red().bold().for_stderr();
    if let Some(line) = crate::errors::friendly(err) {
        eprintln!("{} {line}", red("error:"));
        return;
    }
    // One line: the contexts and the cause, joined by ": ".
    eprintln!("{} {err:#}", red("error:"));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_pads_keys() {
        let rows = vec![
            ("TopicArn".to_string(), "arn:1".to_string()),
            ("FunctionName".to_string(), "f".to_string()),
        ];
        assert_eq!(table(&rows), "TopicArn      arn:1\nFunctionName  f\n");
    }
}
