//! Running the scripts under `tests/stream-js/` (official Stream Chat JS SDK, npm
//! `stream-chat`) and `tests/stream-py/` (official Stream Python SDK, PyPI `getstream`)
//! against a node's Stream face.
//!
//! Owns: checking that `node`/`python3` and the pinned SDKs are installed (failing with the
//! install hint otherwise), the environment contract the scripts read, and running one
//! script with a timeout, returning its output and the JSON lines it printed.
//! Does not own: what the scripts check (each reports one JSON object per stdout line and
//! exits non-zero on its first failed step), nor the node's Stream flags (`--stream-api-key`,
//! `--stream-api-secret`), which belong to the node.
//!
//! Environment contract of every script (also in `tests/stream-js/README.md`):
//! `STREAM_BASE_URL` (`http://127.0.0.1:PORT`, the node's `--api-addr`, no trailing slash),
//! `STREAM_API_KEY`, `STREAM_API_SECRET`, optional `STREAM_BASE_URL_2` (a second node of the
//! same cluster). [`run_script`] removes every other `STREAM_*` variable the test process
//! inherited (`STREAM_LOCAL_TEST_RUN`/`STREAM_LOCAL_TEST_HOST` would redirect the JS SDK).
//!
//! Output contract: `{"step": "...", "ok": true, ...}` per passed step, `{"step": "...",
//! "ok": false, "error": {...}}` for the failed one, `{"done": true}` last.

use crate::NodeOpts;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;
use tokio::io::AsyncReadExt;

/// The `stream-chat` version pinned in `tests/stream-js/package.json`.
pub const STREAM_JS_VERSION: &str = "9.53.0";
/// The `getstream` version `scripts/setup.sh` installs.
pub const STREAM_PY_VERSION: &str = "7.0.0";
/// The Stream API key tests give the node and the scripts.
pub const API_KEY: &str = "chat-tests-stream-key";
/// The Stream API secret tests give the node and the scripts (32+ bytes: PyJWT warns on
/// shorter HMAC keys).
pub const API_SECRET: &str = "chat-tests-stream-secret-0123456789abcdef";

const INSTALL_HINT: &str = "run `bash scripts/setup.sh` (the CI script does), or by hand: \
     `npm ci --prefix tests/stream-js` and `pip install getstream==7.0.0`";

/// `tests/stream-js/`.
pub fn js_dir() -> PathBuf {
    crate::crate_dir().join("stream-js")
}

/// `tests/stream-py/`.
pub fn py_dir() -> PathBuf {
    crate::crate_dir().join("stream-py")
}

/// `tests/stream-js/<name>`.
pub fn js_script(name: &str) -> PathBuf {
    js_dir().join(name)
}

/// `tests/stream-py/<name>`.
pub fn py_script(name: &str) -> PathBuf {
    py_dir().join(name)
}

/// Panics with an installation hint unless `node` (18+) runs and
/// `tests/stream-js/node_modules/stream-chat` is the pinned [`STREAM_JS_VERSION`].
pub fn require_stream_js() {
    let out = std::process::Command::new("node")
        .args(["-p", "process.versions.node"])
        .output()
        .unwrap_or_else(|e| {
            panic!("cannot run node ({e}); install Node.js 18+ and npm; {INSTALL_HINT}")
        });
    let version = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    let major: u32 = version
        .split('.')
        .next()
        .and_then(|m| m.parse().ok())
        .unwrap_or(0);
    assert!(
        out.status.success() && major >= 18,
        "node {version:?} is unusable (stream-chat {STREAM_JS_VERSION} needs Node.js 18+): {}",
        String::from_utf8_lossy(&out.stderr).trim()
    );
    let manifest = js_dir().join("node_modules/stream-chat/package.json");
    let text = std::fs::read_to_string(&manifest).unwrap_or_else(|e| {
        panic!(
            "the official Stream JS SDK is not installed ({}: {e}); {INSTALL_HINT}",
            manifest.display()
        )
    });
    let installed = serde_json::from_str::<Value>(&text)
        .ok()
        .and_then(|v| v["version"].as_str().map(str::to_owned))
        .unwrap_or_default();
    assert_eq!(
        installed,
        STREAM_JS_VERSION,
        "{} holds stream-chat {installed:?}, not the pinned {STREAM_JS_VERSION}; {INSTALL_HINT}",
        manifest.display()
    );
}

/// Panics with an installation hint unless `python3` imports `getstream` at the pinned
/// [`STREAM_PY_VERSION`].
pub fn require_stream_py() {
    let out = std::process::Command::new("python3")
        .args([
            "-c",
            "import getstream, getstream.version; print(getstream.version.VERSION)",
        ])
        .output()
        .unwrap_or_else(|e| panic!("cannot run python3 ({e}); install Python 3; {INSTALL_HINT}"));
    assert!(
        out.status.success(),
        "the official Stream Python SDK is not installed (`python3 -c \"import getstream\"` \
         failed: {}); {INSTALL_HINT}",
        String::from_utf8_lossy(&out.stderr).trim()
    );
    let installed = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    assert_eq!(
        installed, STREAM_PY_VERSION,
        "python3 imports getstream {installed:?}, not the pinned {STREAM_PY_VERSION}; {INSTALL_HINT}"
    );
}

/// `opts` with the node's Stream credentials ([`API_KEY`], [`API_SECRET`]) as
/// `--stream-api-key K --stream-api-secret S`.
pub fn with_stream_credentials(opts: NodeOpts) -> NodeOpts {
    opts.arg("--stream-api-key")
        .arg(API_KEY)
        .arg("--stream-api-secret")
        .arg(API_SECRET)
}

/// The scripts' environment for a node at `base_url` (and optionally a second node of the
/// same cluster), with [`API_KEY`] and [`API_SECRET`].
pub fn stream_env(base_url: &str, base_url_2: Option<&str>) -> Vec<(&'static str, String)> {
    let mut env = vec![
        ("STREAM_BASE_URL", base_url.trim_end_matches('/').to_owned()),
        ("STREAM_API_KEY", API_KEY.to_owned()),
        ("STREAM_API_SECRET", API_SECRET.to_owned()),
    ];
    if let Some(url) = base_url_2 {
        env.push(("STREAM_BASE_URL_2", url.trim_end_matches('/').to_owned()));
    }
    env
}

/// Output of a finished (or killed) script.
#[derive(Debug, Clone)]
pub struct ScriptOutput {
    /// Exited with status 0 within the timeout.
    pub ok: bool,
    pub stdout: String,
    pub stderr: String,
    /// The stdout lines that parse as JSON, in order.
    pub json_lines: Vec<Value>,
    /// The exit status as text (`exit status: 1`, `signal: 9 (SIGKILL)`, ...).
    pub status: String,
    /// Killed because it outlived the timeout.
    pub timed_out: bool,
}

impl ScriptOutput {
    /// The reported line of step `name`.
    pub fn step(&self, name: &str) -> Option<&Value> {
        self.json_lines.iter().find(|v| v["step"] == name)
    }

    /// The first line reporting `"ok": false`.
    pub fn failed_step(&self) -> Option<&Value> {
        self.json_lines.iter().find(|v| v["ok"] == false)
    }

    /// The script printed `{"done": true}`.
    pub fn done(&self) -> bool {
        self.json_lines.iter().any(|v| v["done"] == true)
    }

    /// Panics (naming `what` and the failed step) unless the script exited 0 after
    /// `{"done": true}`.
    pub fn assert_passed(&self, what: &str) {
        assert!(
            self.ok && self.done() && self.failed_step().is_none(),
            "{what} failed ({}{}); failed step: {}",
            self.status,
            if self.timed_out {
                ", killed on timeout"
            } else {
                ""
            },
            self.failed_step()
                .map(Value::to_string)
                .unwrap_or_else(|| "none reported (see stdout/stderr above)".to_owned())
        );
    }
}

fn is_python(program: &str) -> bool {
    Path::new(program)
        .file_name()
        .and_then(|n| n.to_str())
        .is_some_and(|n| n.starts_with("python"))
}

async fn read_all(pipe: Option<impl tokio::io::AsyncRead + Unpin>) -> String {
    let mut buf = Vec::new();
    if let Some(mut pipe) = pipe {
        let _ = pipe.read_to_end(&mut buf).await;
    }
    String::from_utf8_lossy(&buf).into_owned()
}

/// Runs `program script` (`node x.mjs`, `python3 x.py`; Python gets `-u`) in the script's
/// directory with `env` (and no other inherited `STREAM_*` variable), killing it after
/// `timeout`. Never panics on the script's failure: returns its output; stdout and stderr
/// are printed (the test harness shows them when the test fails).
pub async fn run_script(
    program: &str,
    script: &Path,
    env: &[(&str, String)],
    timeout: Duration,
) -> ScriptOutput {
    let mut cmd = tokio::process::Command::new(program);
    if is_python(program) {
        cmd.arg("-u").env("PYTHONDONTWRITEBYTECODE", "1");
    }
    cmd.arg(script);
    if let Some(dir) = script.parent().filter(|d| !d.as_os_str().is_empty()) {
        cmd.current_dir(dir);
    }
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("STREAM_") {
            cmd.env_remove(&key);
        }
    }
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let mut child = cmd
        .spawn()
        .unwrap_or_else(|e| panic!("spawn {program} {}: {e}; {INSTALL_HINT}", script.display()));
    let stdout_task = tokio::spawn(read_all(child.stdout.take()));
    let stderr_task = tokio::spawn(read_all(child.stderr.take()));
    let (status, timed_out) = match tokio::time::timeout(timeout, child.wait()).await {
        Ok(status) => (status.map(|s| (s.success(), s.to_string())), false),
        Err(_) => {
            let _ = child.kill().await;
            (child.wait().await.map(|s| (false, s.to_string())), true)
        }
    };
    let (success, status) = status.unwrap_or_else(|e| (false, format!("wait failed: {e}")));
    // A grandchild holding the pipes open must not hang the test: give the readers a bound.
    let grace = Duration::from_secs(5);
    let stdout = match tokio::time::timeout(grace, stdout_task).await {
        Ok(Ok(s)) => s,
        _ => String::from("<stdout not closed after the script exited>\n"),
    };
    let mut stderr = match tokio::time::timeout(grace, stderr_task).await {
        Ok(Ok(s)) => s,
        _ => String::from("<stderr not closed after the script exited>\n"),
    };
    if timed_out {
        stderr.push_str(&format!(
            "\n<killed by chat_tests::sdk::run_script after {timeout:?}>\n"
        ));
    }
    let json_lines = stdout
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l.trim()).ok())
        .collect();
    let name = script.file_name().map_or_else(
        || script.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    );
    eprintln!(
        "--- {program} {name}: {status}{} ---\n--- {name} stdout ---\n{stdout}--- {name} stderr ---\n{stderr}--- end of {name} ---",
        if timed_out { " (timed out)" } else { "" }
    );
    ScriptOutput {
        ok: success && !timed_out,
        stdout,
        stderr,
        json_lines,
        status,
        timed_out,
    }
}

/// [`run_script`] of `node tests/stream-js/<name>`.
pub async fn run_js(name: &str, env: &[(&str, String)], timeout: Duration) -> ScriptOutput {
    run_script("node", &js_script(name), env, timeout).await
}

/// [`run_script`] of `python3 tests/stream-py/<name>`.
pub async fn run_py(name: &str, env: &[(&str, String)], timeout: Duration) -> ScriptOutput {
    run_script("python3", &py_script(name), env, timeout).await
}

/// A server token of the test app (`{}` signed HS256 with [`API_SECRET`], as the Python SDK
/// makes it), for plain HTTP calls in tests.
pub fn server_token() -> String {
    let key = jsonwebtoken::EncodingKey::from_secret(API_SECRET.as_bytes()).expect("a secret");
    jsonwebtoken::encode(
        &jsonwebtoken::Header::default(),
        &serde_json::json!({}),
        &key,
    )
    .expect("HS256 signs")
}
