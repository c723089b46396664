//! Running the scripts under `tests/python/` that drive the official GS2 Python SDK
//! (`pip install gs2`) against a node.
//!
//! Owns: checking that `python3` and the SDK are importable (with an installation hint
//! otherwise) and running one script with a timeout, returning its output.
//! Does not own: what the scripts check (they exit non-zero on a failed step).

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

/// Panics with an installation hint unless `python3 -c "import gs2"` succeeds.
pub fn require_python_sdk() {
    let out = std::process::Command::new("python3")
        .args(["-c", "import gs2"])
        .output()
        .unwrap_or_else(|e| {
            panic!("cannot run python3 ({e}); install Python 3 and the GS2 SDK: `pip install gs2`")
        });
    assert!(
        out.status.success(),
        "the official GS2 Python SDK is not installed (`python3 -c \"import gs2\"` failed: {}).\n\
         Install it with `pip install gs2` (the CI script installs it).",
        String::from_utf8_lossy(&out.stderr).trim()
    );
}

/// `tests/python/<name>`.
pub fn script_path(name: &str) -> PathBuf {
    crate::crate_dir().join("python").join(name)
}

/// Output of a finished script.
#[derive(Debug)]
pub struct ScriptOutput {
    pub success: bool,
    pub status: String,
    pub stdout: String,
    pub stderr: String,
}

/// Runs `python3 tests/python/<name>` with `env`, killing it after `timeout`
/// (which panics). Prints stdout and stderr (shown by the test harness on failure).
pub async fn run_script(name: &str, env: &[(&str, String)], timeout: Duration) -> ScriptOutput {
    let script = script_path(name);
    let mut cmd = tokio::process::Command::new("python3");
    cmd.arg("-u")
        .arg(&script)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let child = cmd
        .spawn()
        .unwrap_or_else(|e| panic!("spawn python3 {}: {e}", script.display()));
    let out = tokio::time::timeout(timeout, child.wait_with_output())
        .await
        .unwrap_or_else(|_| panic!("{} did not finish within {timeout:?}", script.display()))
        .expect("wait for python3");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    eprintln!("--- {name} stdout ---\n{stdout}--- {name} stderr ---\n{stderr}");
    ScriptOutput {
        success: out.status.success(),
        status: out.status.to_string(),
        stdout,
        stderr,
    }
}
