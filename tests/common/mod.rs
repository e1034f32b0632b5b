//! What the CLI's integration tests share: the real binary with a clean
//! environment, a webhook and signing secret that must never show up in any
//! output, and a tiny function zip for `deploy --artifact`.
#![allow(dead_code)] // each test binary uses its own subset

pub mod iam;
pub mod org;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub const TOKEN: &str = "tok3n5ecretvalue0123456789abcdef";
pub const SIGNING: &str = "SEC0123456789abcdefsigningsecret";

pub fn webhook() -> String {
    format!("https://oapi.dingtalk.com/robot/send?access_token={TOKEN}")
}

/// The CLI in `dir` with nothing from the developer's environment: no AWS
/// profile, no instance metadata lookups, no colors, no terminal. Only the
/// Rust toolchain stays reachable (rustup finds it through RUSTUP_HOME, which
/// defaults to the real HOME's), so `deploy`'s toolchain check passes as it
/// does for a user.
pub fn cli(dir: &Path, args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_dingtalk-notifier"));
    cmd.args(args)
        .current_dir(dir)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .envs(rust_homes())
        .env("HOME", dir)
        .env("NO_COLOR", "1")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .stdin(std::process::Stdio::null());
    cmd
}

/// RUSTUP_HOME and CARGO_HOME as this test process sees them.
pub fn rust_homes() -> Vec<(&'static str, String)> {
    let home = std::env::var("HOME").unwrap_or_default();
    vec![
        (
            "RUSTUP_HOME",
            std::env::var("RUSTUP_HOME").unwrap_or(format!("{home}/.rustup")),
        ),
        (
            "CARGO_HOME",
            std::env::var("CARGO_HOME").unwrap_or(format!("{home}/.cargo")),
        ),
    ]
}

pub fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Fails when any of `secrets` appears in the command's stdout or stderr.
pub fn assert_no_secrets(out: &Output, secrets: &[&str]) {
    for stream in [text(&out.stdout), text(&out.stderr)] {
        for secret in secrets {
            assert!(!stream.contains(secret), "a secret leaked:\n{stream}");
        }
    }
}

/// A minimal function zip: one `bootstrap` entry, mode 0755. moto stores it
/// but never runs it.
pub fn artifact_zip(dir: &Path) -> PathBuf {
    let path = dir.join("function.zip");
    let file = std::fs::File::create(&path).unwrap();
    let mut zip = zip::ZipWriter::new(file);
    let opts = zip::write::SimpleFileOptions::default().unix_permissions(0o755);
    zip.start_file("bootstrap", opts).unwrap();
    zip.write_all(b"#!/bin/sh\necho not a real function\n")
        .unwrap();
    zip.finish().unwrap();
    path
}

/// An HTTP server on 127.0.0.1 that gives every request the same answer:
/// `status`, an `x-amzn-RequestId` header and `body`. Stands in for an
/// instance-metadata endpoint that refuses (403) or for an AWS endpoint whose
/// answer cannot be read. Returns its base URL; the server lives until the
/// test process ends.
pub fn fixed_answer_server(status: u16, body: &str) -> String {
    use std::io::{BufRead, BufReader, Read};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let body = body.to_string();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let mut reader = BufReader::new(stream);
            let mut length = 0usize;
            let mut line = String::new();
            while reader.read_line(&mut line).unwrap_or(0) > 0 && line != "\r\n" {
                if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                    length = v.trim().parse().unwrap_or(0);
                }
                line.clear();
            }
            let mut request_body = vec![0; length];
            let _ = reader.read_exact(&mut request_body);
            let answer = format!(
                "HTTP/1.1 {status} Status\r\nx-amzn-RequestId: 00000000-test-request-id\r\n\
                 content-type: text/xml\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = reader.get_mut().write_all(answer.as_bytes());
        }
    });
    url
}

/// The `Message` of the one SNS notification that reaches `queue` within 5 s.
/// Deleted once read: left in the queue, it would come back after the 30 s
/// visibility timeout, ahead of the next one.
pub async fn take_notification(config: &aws_config::SdkConfig, queue: &str) -> String {
    let sqs = aws_sdk_sqs::Client::new(config);
    let got = sqs
        .receive_message()
        .queue_url(queue)
        .wait_time_seconds(5)
        .send()
        .await
        .unwrap();
    let message = &got.messages()[0];
    sqs.delete_message()
        .queue_url(queue)
        .receipt_handle(message.receipt_handle().unwrap())
        .send()
        .await
        .unwrap();
    let body: serde_json::Value =
        serde_json::from_str(message.body().unwrap()).expect("an SNS notification");
    body["Message"].as_str().unwrap().to_string()
}
