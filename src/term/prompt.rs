//! Thin wrappers over dialoguer: one theme, prompts on stderr, and Ctrl-C /
//! a closed terminal turned into [`Interrupted`] instead of an I/O error.

use anyhow::{Context, Result};
use console::Term;
use dialoguer::theme::ColorfulTheme;
use dialoguer::{Confirm, Input, MultiSelect, Password, Select};

use crate::errors::Interrupted;

fn theme() -> ColorfulTheme {
    ColorfulTheme::default()
}

fn map_err(err: dialoguer::Error) -> anyhow::Error {
    let dialoguer::Error::IO(io) = err;
    match io.kind() {
        std::io::ErrorKind::Interrupted | std::io::ErrorKind::UnexpectedEof => {
            anyhow::Error::new(Interrupted)
        }
        _ => anyhow::Error::new(io).context("reading an answer from the terminal"),
    }
}

/// Free text with a default shown in brackets; `validate` returns the message
/// shown under the prompt when the answer is rejected.
pub fn text<F>(prompt: &str, default: Option<&str>, validate: F) -> Result<String>
where
    F: Fn(&str) -> Result<(), String>,
{
    let theme = theme();
    let mut input = Input::<String>::with_theme(&theme)
        .with_prompt(prompt)
        .allow_empty(default.is_none_or(str::is_empty))
        .validate_with(|s: &String| validate(s.trim()));
    if let Some(d) = default {
        if !d.is_empty() {
            input = input.default(d.to_string());
        }
    }
    input
        .interact_text_on(&Term::stderr())
        .map(|s| s.trim().to_string())
        .map_err(map_err)
}

/// Masked input: what is typed is never echoed.
pub fn secret<F>(prompt: &str, allow_empty: bool, validate: F) -> Result<String>
where
    F: Fn(&str) -> Result<(), String>,
{
    let theme = theme();
    Password::with_theme(&theme)
        .with_prompt(prompt)
        .allow_empty_password(allow_empty)
        .validate_with(|s: &String| {
            if s.trim().is_empty() {
                Ok(())
            } else {
                validate(s.trim())
            }
        })
        .interact_on(&Term::stderr())
        .map(|s| s.trim().to_string())
        .map_err(map_err)
}

/// Masked input that may not be empty: Enter on nothing shows `if_empty`
/// under the prompt (why it is needed, what else to do) instead of asking
/// again silently.
pub fn required_secret<F>(prompt: &str, if_empty: &str, validate: F) -> Result<String>
where
    F: Fn(&str) -> Result<(), String>,
{
    let theme = theme();
    Password::with_theme(&theme)
        .with_prompt(prompt)
        .allow_empty_password(true)
        .validate_with(|s: &String| {
            if s.trim().is_empty() {
                Err(if_empty.to_string())
            } else {
                validate(s.trim())
            }
        })
        .interact_on(&Term::stderr())
        .map(|s| s.trim().to_string())
        .map_err(map_err)
}

pub fn confirm(prompt: &str, default: bool) -> Result<bool> {
    let theme = theme();
    Confirm::with_theme(&theme)
        .with_prompt(prompt)
        .default(default)
        .wait_for_newline(true)
        .interact_on(&Term::stderr())
        .map_err(map_err)
}

pub fn choose(prompt: &str, items: &[&str], default: usize) -> Result<usize> {
    let theme = theme();
    Select::with_theme(&theme)
        .with_prompt(prompt)
        .items(items)
        .default(default)
        .interact_on(&Term::stderr())
        .map_err(map_err)
}

pub fn choose_many(prompt: &str, items: &[&str], checked: &[bool]) -> Result<Vec<usize>> {
    let theme = theme();
    MultiSelect::with_theme(&theme)
        .with_prompt(prompt)
        .items(items)
        .defaults(checked)
        .interact_on(&Term::stderr())
        .map_err(map_err)
}

/// Reads a file named at a prompt or by a flag (used for the system prompt).
pub fn read_text_file(path: &std::path::Path, what: &str) -> Result<String> {
    std::fs::read_to_string(path).with_context(|| format!("reading {what} from {}", path.display()))
}
