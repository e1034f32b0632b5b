//! The Lambda Runtime API, serving a real `bootstrap` process: what the
//! Lambda service does for a `provided.al2023` function, on 127.0.0.1.

use std::collections::{HashMap, VecDeque};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{bail, Context, Result};
use axum::body::Bytes;
use axum::extract::{Path as AxPath, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use serde_json::Value;
use tokio::sync::{oneshot, Notify};

use crate::server::Background;

const FUNCTION_ARN: &str = "arn:aws:lambda:us-east-1:123456789012:function:dingtalk-notifier-test";

#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    Response(Value),
    Error(Value),
}

#[derive(Debug, Clone)]
pub struct Invocation {
    pub request_id: String,
    pub outcome: Outcome,
    /// Lines the process printed while handling this invocation.
    pub logs: Vec<String>,
}

struct Pending {
    id: String,
    event: Value,
    deadline_ms: u64,
}

#[derive(Default)]
struct Shared {
    queue: VecDeque<Pending>,
    results: HashMap<String, oneshot::Sender<Outcome>>,
    /// Log index and `invocation/next` call number when each invocation
    /// was handed out.
    starts: HashMap<String, (usize, u64)>,
    init_error: Option<Value>,
}

struct AppState {
    shared: Mutex<Shared>,
    notify: Notify,
    logs: Arc<Mutex<Vec<String>>>,
    /// Calls to `invocation/next`: the runtime is idle again after a result.
    next_calls: AtomicU64,
}

pub struct LambdaEmulator {
    state: Arc<AppState>,
    child: Mutex<Child>,
    counter: AtomicU64,
    /// To start a fresh process after a timeout, as Lambda does.
    binary: PathBuf,
    env: Vec<(String, String)>,
    _bg: Background,
}

impl LambdaEmulator {
    pub fn start(binary: &Path, env: Vec<(String, String)>) -> Result<LambdaEmulator> {
        let state = Arc::new(AppState {
            shared: Mutex::new(Shared::default()),
            notify: Notify::new(),
            logs: Arc::new(Mutex::new(Vec::new())),
            next_calls: AtomicU64::new(0),
        });
        let router = Router::new()
            .route("/2018-06-01/runtime/invocation/next", get(next))
            .route(
                "/2018-06-01/runtime/invocation/{id}/response",
                post(response),
            )
            .route("/2018-06-01/runtime/invocation/{id}/error", post(error))
            .route("/2018-06-01/runtime/init/error", post(init_error))
            .with_state(state.clone());
        let bg = Background::start(router)?;
        let child = spawn(binary, &env, &bg.addr.to_string(), &state.logs)?;
        Ok(LambdaEmulator {
            state,
            child: Mutex::new(child),
            counter: AtomicU64::new(0),
            binary: binary.to_path_buf(),
            env,
            _bg: bg,
        })
    }

    /// What Lambda does when a function overruns its deadline: the caller
    /// gets `Sandbox.Timedout`, the log says `Task timed out`, and the
    /// execution environment is thrown away (the next invocation starts a
    /// fresh process, with a fresh init).
    fn time_out(&self, id: &str, timeout: Duration) -> Result<Outcome> {
        self.state
            .shared
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .results
            .remove(id);
        let message = format!(
            "RequestId: {id} Error: Task timed out after {:.2} seconds",
            timeout.as_secs_f64()
        );
        self.state
            .logs
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(message.clone());
        self.replace_process()?;
        Ok(Outcome::Error(serde_json::json!({
            "errorType": "Sandbox.Timedout",
            "errorMessage": message,
        })))
    }

    /// Throws the execution environment away and starts a fresh process
    /// (with a fresh init and empty memory), as Lambda does after a timeout,
    /// a deploy or a configuration change, or when it recycles a container.
    /// Call it between invocations.
    pub fn replace_process(&self) -> Result<()> {
        let mut child = self.child.lock().unwrap_or_else(|p| p.into_inner());
        let _ = child.kill();
        let _ = child.wait();
        *child = spawn(
            &self.binary,
            &self.env,
            &self._bg.addr.to_string(),
            &self.state.logs,
        )?;
        Ok(())
    }

    pub fn pid(&self) -> u32 {
        self.child.lock().unwrap_or_else(|p| p.into_inner()).id()
    }

    /// Every line the process printed so far.
    pub fn logs(&self) -> Vec<String> {
        self.state
            .logs
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    pub fn init_error(&self) -> Option<Value> {
        self.state
            .shared
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .init_error
            .clone()
    }

    fn exited(&self) -> bool {
        matches!(
            self.child
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .try_wait(),
            Ok(Some(_))
        )
    }

    /// Queues one event and waits for the function's answer.
    pub async fn invoke(&self, event: Value, timeout: Duration) -> Result<Invocation> {
        let n = self.counter.fetch_add(1, Ordering::SeqCst);
        let id = format!("00000000-0000-4000-8000-{n:012}");
        let (tx, mut rx) = oneshot::channel();
        let now_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or_default();
        {
            let mut shared = self.state.shared.lock().unwrap_or_else(|p| p.into_inner());
            shared.results.insert(id.clone(), tx);
            shared.queue.push_back(Pending {
                id: id.clone(),
                event,
                deadline_ms: now_ms + timeout.as_millis() as u64,
            });
        }
        self.state.notify.notify_one();
        let started = Instant::now();
        let outcome = loop {
            match tokio::time::timeout(Duration::from_millis(100), &mut rx).await {
                Ok(Ok(o)) => break o,
                Ok(Err(_)) => bail!("the emulator dropped invocation {id}"),
                Err(_) => {
                    let handed_out = self
                        .state
                        .shared
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .starts
                        .contains_key(&id);
                    if handed_out && started.elapsed() >= timeout {
                        break self.time_out(&id, timeout)?;
                    }
                    if self.exited() {
                        bail!(
                            "the function process exited during invocation {id}; logs:\n{}",
                            self.logs().join("\n")
                        );
                    }
                    if started.elapsed() > timeout + Duration::from_secs(5) {
                        bail!("invocation {id} timed out after {timeout:?}");
                    }
                }
            }
        };
        // The runtime asks for the next event once it is done with this one:
        // by then every line of this invocation has been written.
        let (start, handed_out_at) = self
            .state
            .shared
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .starts
            .remove(&id)
            .unwrap_or((0, 0));
        let idle_since = Instant::now();
        while self.state.next_calls.load(Ordering::SeqCst) <= handed_out_at
            && idle_since.elapsed() < Duration::from_secs(2)
            && !self.exited()
        {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        settle(
            &self.state.logs,
            Duration::from_millis(100),
            Duration::from_secs(2),
        )
        .await;
        let logs = self
            .logs()
            .get(start..)
            .map(<[String]>::to_vec)
            .unwrap_or_default();
        Ok(Invocation {
            request_id: id,
            outcome,
            logs,
        })
    }

    /// [`invoke`](Self::invoke) for sync tests.
    pub fn invoke_blocking(&self, event: Value, timeout: Duration) -> Result<Invocation> {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?
            .block_on(self.invoke(event, timeout))
    }
}

/// Starts `bootstrap` against the Runtime API at `addr`, its output lines
/// collected in `logs`.
fn spawn(
    binary: &Path,
    env: &[(String, String)],
    addr: &str,
    logs: &Arc<Mutex<Vec<String>>>,
) -> Result<Child> {
    let mut cmd = Command::new(binary);
    cmd.env("AWS_LAMBDA_RUNTIME_API", addr)
        .env("AWS_LAMBDA_FUNCTION_NAME", "dingtalk-notifier-test")
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env("AWS_LAMBDA_LOG_GROUP_NAME", "/dingtalk-notifier/test")
        .env(
            "AWS_LAMBDA_LOG_STREAM_NAME",
            "2026/11/25/[$LATEST]0123456789abcdef",
        )
        .env("AWS_REGION", "us-east-1");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd
        .spawn()
        .with_context(|| format!("starting {}", binary.display()))?;
    for stream in [
        child
            .stdout
            .take()
            .map(|s| Box::new(s) as Box<dyn std::io::Read + Send>),
        child
            .stderr
            .take()
            .map(|s| Box::new(s) as Box<dyn std::io::Read + Send>),
    ]
    .into_iter()
    .flatten()
    {
        let logs = logs.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stream).lines().map_while(Result::ok) {
                logs.lock().unwrap_or_else(|p| p.into_inner()).push(line);
            }
        });
    }
    Ok(child)
}

impl Drop for LambdaEmulator {
    fn drop(&mut self) {
        let mut child = self.child.lock().unwrap_or_else(|p| p.into_inner());
        let _ = child.kill();
        let _ = child.wait();
    }
}

async fn next(State(state): State<Arc<AppState>>) -> Response {
    let call = state.next_calls.fetch_add(1, Ordering::SeqCst) + 1;
    loop {
        // Lines printed before this call (the init lines, say) belong before
        // the invocation's start index.
        settle(
            &state.logs,
            Duration::from_millis(30),
            Duration::from_millis(500),
        )
        .await;
        {
            let mut shared = state.shared.lock().unwrap_or_else(|p| p.into_inner());
            if let Some(p) = shared.queue.pop_front() {
                let start = state.logs.lock().unwrap_or_else(|p| p.into_inner()).len();
                shared.starts.insert(p.id.clone(), (start, call));
                return (
                    StatusCode::OK,
                    [
                        ("Lambda-Runtime-Aws-Request-Id", p.id.clone()),
                        ("Lambda-Runtime-Deadline-Ms", p.deadline_ms.to_string()),
                        (
                            "Lambda-Runtime-Invoked-Function-Arn",
                            FUNCTION_ARN.to_string(),
                        ),
                        (
                            "Lambda-Runtime-Trace-Id",
                            format!("Root=1-00000000-{}", &p.id.replace('-', "")[..24]),
                        ),
                        ("content-type", "application/json".to_string()),
                    ],
                    p.event.to_string(),
                )
                    .into_response();
            }
        }
        state.notify.notified().await;
    }
}

/// Waits until no line has arrived for `quiet`, at most `max`. The line
/// readers run on their own threads: on a loaded machine a line written
/// before an API call can reach `logs` well after the call, and a fixed
/// pause (50 ms once) put it in the wrong invocation.
async fn settle(logs: &Mutex<Vec<String>>, quiet: Duration, max: Duration) {
    let len = || logs.lock().unwrap_or_else(|p| p.into_inner()).len();
    let started = Instant::now();
    let (mut seen, mut since) = (len(), Instant::now());
    while started.elapsed() < max && since.elapsed() < quiet {
        tokio::time::sleep(Duration::from_millis(10)).await;
        let now = len();
        if now != seen {
            (seen, since) = (now, Instant::now());
        }
    }
}

fn finish(state: &AppState, id: &str, outcome: Outcome) -> Response {
    let tx = state
        .shared
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .results
        .remove(id);
    match tx {
        Some(tx) => {
            let _ = tx.send(outcome);
            (StatusCode::ACCEPTED, r#"{"status":"OK"}"#).into_response()
        }
        None => (
            StatusCode::BAD_REQUEST,
            r#"{"errorType":"InvalidRequestID"}"#,
        )
            .into_response(),
    }
}

fn json_or_string(body: &Bytes) -> Value {
    serde_json::from_slice(body)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(body).to_string()))
}

async fn response(
    State(state): State<Arc<AppState>>,
    AxPath(id): AxPath<String>,
    body: Bytes,
) -> Response {
    finish(&state, &id, Outcome::Response(json_or_string(&body)))
}

async fn error(
    State(state): State<Arc<AppState>>,
    AxPath(id): AxPath<String>,
    body: Bytes,
) -> Response {
    finish(&state, &id, Outcome::Error(json_or_string(&body)))
}

async fn init_error(State(state): State<Arc<AppState>>, body: Bytes) -> Response {
    state
        .shared
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .init_error = Some(json_or_string(&body));
    (StatusCode::ACCEPTED, r#"{"status":"OK"}"#).into_response()
}

/// What `cargo test` sets for the test process (`CARGO_PKG_NAME`,
/// `CARGO_MANIFEST_DIR`, ...). Build scripts such as ring's watch some of them
/// (`rerun-if-env-changed`), so a nested `cargo build` that inherits them
/// reruns those scripts and recompiles everything above them, and the next
/// `cargo test` does it again the other way.
fn set_by_cargo_for_a_crate(name: &str) -> bool {
    const PREFIXES: &[&str] = &[
        "CARGO_PKG_",
        "CARGO_MANIFEST_",
        "CARGO_BIN_",
        "CARGO_CFG_",
        "CARGO_FEATURE_",
    ];
    const NAMES: &[&str] = &[
        "CARGO_CRATE_NAME",
        "CARGO_PRIMARY_PACKAGE",
        "CARGO_TARGET_TMPDIR",
        "CARGO_RUSTC_CURRENT_DIR",
        "OUT_DIR",
        // Not cargo's, but the same trap: ring's build script watches it, so
        // a test binary run with it (`-Z unstable-options --report-time`)
        // would rebuild ring and the SDK above it, twice.
        "RUSTC_BOOTSTRAP",
    ];
    PREFIXES.iter().any(|p| name.starts_with(p)) || NAMES.contains(&name)
}

/// The debug `bootstrap`, built once per test process (for the CLI's tests;
/// the lambda crate's own tests use `CARGO_BIN_EXE_bootstrap`).
///
/// It builds what `cargo test --workspace` builds (every bin and test target),
/// not just `-p dingtalk-notifier-lambda --bin bootstrap`: alone, the lambda
/// crate resolves the AWS SDK's features differently from the workspace, and
/// that second build of the SDK cost CI two minutes. Under `cargo test
/// --workspace` this is a no-op that takes a second.
pub fn bootstrap_binary() -> Result<PathBuf> {
    static BUILT: OnceLock<std::result::Result<PathBuf, String>> = OnceLock::new();
    BUILT
        .get_or_init(|| {
            let root = Path::new(env!("CARGO_MANIFEST_DIR"))
                .parent()
                .map(Path::to_path_buf)
                .ok_or("no workspace root")?;
            let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
            let mut build = Command::new(cargo);
            build.args(["build", "--workspace", "--bins", "--tests"]);
            for (name, _) in std::env::vars_os() {
                if set_by_cargo_for_a_crate(&name.to_string_lossy()) {
                    build.env_remove(name);
                }
            }
            let status = build
                .current_dir(&root)
                .status()
                .map_err(|e| e.to_string())?;
            if !status.success() {
                return Err(format!("building bootstrap failed: {status}"));
            }
            let target = std::env::var("CARGO_TARGET_DIR")
                .map(PathBuf::from)
                .unwrap_or_else(|_| root.join("target"));
            Ok(target.join("debug").join("bootstrap"))
        })
        .clone()
        .map_err(anyhow::Error::msg)
}
