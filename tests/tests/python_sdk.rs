//! The official GS2 Python SDK against a real node: runs `tests/python/test_sdk.py`
//! (project login, namespace, auth login, room, subscribe, post, describe, latest,
//! get, delete, wrong password) and asserts it exits 0.
//!
//! Needs `python3` with the SDK installed (`pip install gs2`; the CI script installs
//! it). Without it the test fails and says so.

use chat_tests::node::{CLIENT_ID, CLIENT_SECRET};
use chat_tests::python::require_python_sdk;
use chat_tests::{Node, NodeOpts};
use std::process::Stdio;
use std::time::Duration;

const SCRIPT_TIMEOUT: Duration = Duration::from_secs(180);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn official_python_sdk_main_flow() {
    require_python_sdk();
    let node = Node::start(NodeOpts::id(1)).await.expect("start chat-node");
    let script = chat_tests::crate_dir().join("python").join("test_sdk.py");
    let child = tokio::process::Command::new("python3")
        .arg(&script)
        .env("CHAT_ENDPOINT", node.url())
        .env("CHAT_CLIENT_ID", CLIENT_ID)
        .env("CHAT_CLIENT_SECRET", CLIENT_SECRET)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("spawn python3 test_sdk.py");
    let out = tokio::time::timeout(SCRIPT_TIMEOUT, child.wait_with_output())
        .await
        .unwrap_or_else(|_| {
            panic!(
                "{} did not finish within {SCRIPT_TIMEOUT:?}",
                script.display()
            )
        })
        .expect("wait for python3");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    eprintln!("--- test_sdk.py stdout ---\n{stdout}--- test_sdk.py stderr ---\n{stderr}");
    assert!(
        out.status.success(),
        "{} failed with {}; the last step printed above is the one that failed",
        script.display(),
        out.status
    );
    assert!(
        stdout.contains("ALL SDK STEPS PASSED"),
        "script ended early"
    );
}
