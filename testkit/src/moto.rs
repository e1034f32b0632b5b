//! The moto AWS emulator, started per test on a free port.
//!
//! moto runs from `moto_server.py`, which first teaches it real behaviour
//! moto lacks (S3's ExpectedBucketOwner check); see that file.

use std::io::Write;
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

pub struct Moto {
    child: Child,
    endpoint: String,
    _dir: tempfile::TempDir,
    empty_file: std::path::PathBuf,
}

fn free_port() -> Result<u16> {
    let l = std::net::TcpListener::bind("127.0.0.1:0")?;
    Ok(l.local_addr()?.port())
}

/// How to start moto; `Default` is the plain emulator.
#[derive(Debug, Clone, Default)]
pub struct MotoOptions {
    /// `INITIAL_NO_AUTH_ACTION_COUNT`: after this many requests moto checks
    /// every call against the caller's IAM policies (set-up calls come first).
    pub initial_no_auth_action_count: Option<u32>,
}

const LAUNCHER: &str = include_str!("moto_server.py");

impl Moto {
    pub fn start() -> Result<Moto> {
        Self::start_with(MotoOptions::default())
    }

    pub fn start_with(opts: MotoOptions) -> Result<Moto> {
        let dir = tempfile::tempdir()?;
        let empty_file = dir.path().join("empty");
        std::fs::write(&empty_file, "")?;
        let log = std::fs::File::create(dir.path().join("moto.log"))?;
        let mut last_err = None;
        for _ in 0..3 {
            let port = free_port()?;
            // The interpreter pip installed moto_server with (scripts/setup).
            let mut cmd = Command::new("python3");
            cmd.args(["-c", LAUNCHER, "-H", "127.0.0.1", "-p", &port.to_string()]);
            // moto runs Lambda functions in Docker when it finds a daemon (an
            // event source mapping invokes inside SendMessage): every machine
            // behaves like CI's, which has none, and the bridge invokes instead.
            cmd.env("DOCKER_HOST", "unix:///nonexistent/docker.sock");
            if let Some(n) = opts.initial_no_auth_action_count {
                cmd.env("INITIAL_NO_AUTH_ACTION_COUNT", n.to_string());
            }
            let mut child = match cmd
                .stdin(Stdio::null())
                .stdout(log.try_clone()?)
                .stderr(log.try_clone()?)
                .spawn()
            {
                Ok(c) => c,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    bail!(
                        "python3 not found on PATH: run scripts/setup (pip install 'moto[server]')"
                    )
                }
                Err(e) => return Err(e).context("starting moto_server"),
            };
            let endpoint = format!("http://127.0.0.1:{port}");
            if wait_ready(port, &mut child, Duration::from_secs(30)) {
                return Ok(Moto {
                    child,
                    endpoint,
                    _dir: dir,
                    empty_file,
                });
            }
            let _ = child.kill();
            let _ = child.wait();
            last_err = Some(port);
        }
        bail!(
            "moto_server did not come up (last port {:?}); is moto installed for python3? (scripts/setup)",
            last_err
        )
    }

    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// Variables for a child process (the CLI, the function) to use this moto
    /// and nothing from the developer's own AWS set-up.
    pub fn env(&self) -> Vec<(String, String)> {
        let empty = self.empty_file.to_string_lossy().to_string();
        [
            ("AWS_ENDPOINT_URL", self.endpoint.as_str()),
            ("AWS_ACCESS_KEY_ID", "testing"),
            ("AWS_SECRET_ACCESS_KEY", "testing"),
            ("AWS_REGION", "us-east-1"),
            ("AWS_DEFAULT_REGION", "us-east-1"),
            ("AWS_EC2_METADATA_DISABLED", "true"),
            ("AWS_CONFIG_FILE", empty.as_str()),
            ("AWS_SHARED_CREDENTIALS_FILE", empty.as_str()),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
    }

    /// An SDK configuration for this moto, built explicitly (the process
    /// environment and `~/.aws` are not read).
    pub async fn sdk_config(&self) -> aws_config::SdkConfig {
        Self::sdk_config_for(&self.endpoint)
    }

    /// [`sdk_config`](Self::sdk_config) for any moto endpoint, usable without
    /// an async context.
    pub fn sdk_config_for(endpoint: &str) -> aws_config::SdkConfig {
        aws_config::SdkConfig::builder()
            .behavior_version(aws_config::BehaviorVersion::latest())
            .region(aws_config::Region::new("us-east-1"))
            .endpoint_url(endpoint)
            .http_client(https_client())
            .credentials_provider(
                aws_credential_types::provider::SharedCredentialsProvider::new(
                    aws_credential_types::Credentials::new(
                        "testing", "testing", None, None, "testkit",
                    ),
                ),
            )
            .build()
    }
}

/// The SDK's HTTPS client on rustls with ring, the one TLS stack of the
/// workspace (the SDK's default client would build aws-lc).
pub fn https_client() -> aws_sdk_sqs::config::SharedHttpClient {
    aws_smithy_http_client::Builder::new()
        .tls_provider(aws_smithy_http_client::tls::Provider::Rustls(
            aws_smithy_http_client::tls::rustls_provider::CryptoMode::Ring,
        ))
        .build_https()
}

fn wait_ready(port: u16, child: &mut Child, timeout: Duration) -> bool {
    let start = Instant::now();
    while start.elapsed() < timeout {
        if let Ok(Some(_)) = child.try_wait() {
            return false;
        }
        if let Ok(mut s) = TcpStream::connect(("127.0.0.1", port)) {
            // moto's dashboard answers 200; another test's server that took
            // the port before moto bound it answers 404 (then moto exits and
            // the caller tries another port).
            let _ = s.write_all(b"GET /moto-api/ HTTP/1.0\r\n\r\n");
            let mut buf = [0u8; 12];
            if std::io::Read::read_exact(&mut s, &mut buf).is_ok()
                && buf.starts_with(b"HTTP/1.")
                && buf.ends_with(b" 200")
            {
                return true;
            }
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    false
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
