//! `chaos` command line: runs one seeded scenario, prints the summary, writes the JSON
//! report, exits 1 on any violation (2 if the harness itself failed).

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use chaos::run::{run, Config};
use chaos::workload::WorkloadConfig;
use clap::Parser;

/// Seeded fault injection against a chat-node cluster.
#[derive(Parser, Debug)]
#[command(name = "chaos", version)]
struct Args {
    /// Seed of the fault schedule and the workload.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Seconds during which faults start (every fault kind runs at least once anyway).
    #[arg(long, default_value_t = 120)]
    duration: u64,
    /// Voters in the cluster.
    #[arg(long, default_value_t = 3)]
    nodes: usize,
    /// Where to write the JSON report [default: <workspace>/target/chaos-report.json].
    #[arg(long)]
    report: Option<PathBuf>,
    /// Short gaps and hold times (CI).
    #[arg(long)]
    quick: bool,
    /// Keep the run dir (logs, data) even when the run passes.
    #[arg(long)]
    keep: bool,
    /// Concurrent posting clients.
    #[arg(long, default_value_t = 6)]
    posters: usize,
    /// WebSocket listeners (one user each).
    #[arg(long, default_value_t = 6)]
    listeners: usize,
    /// Rooms posted to.
    #[arg(long, default_value_t = 6)]
    rooms: usize,
    /// Seconds a notification may take after its post's ack (or after the cluster
    /// recovered from a fault overlapping the post).
    #[arg(long, default_value_t = 5)]
    grace: u64,
    /// --snapshot-threshold passed to every node (small: snapshots happen under faults).
    #[arg(long, default_value_t = 500)]
    snapshot_threshold: u64,
    /// --log-level passed to every node.
    #[arg(long, default_value = "info")]
    log_level: String,
}

fn repro(a: &Args) -> String {
    let mut s = format!(
        "cargo run --release -p chaos -- --seed {} --duration {} --nodes {}",
        a.seed, a.duration, a.nodes
    );
    if a.quick {
        s.push_str(" --quick");
    }
    for (flag, v, d) in [
        ("--posters", a.posters as u64, 6),
        ("--listeners", a.listeners as u64, 6),
        ("--rooms", a.rooms as u64, 6),
        ("--grace", a.grace, 5),
        ("--snapshot-threshold", a.snapshot_threshold, 500),
    ] {
        if v != d {
            s.push_str(&format!(" {flag} {v}"));
        }
    }
    s
}

async fn interrupted() {
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term => {}
    }
}

fn main() -> ExitCode {
    let args = Args::parse();
    // `CHAT_NODE_BIN`, else the release then the debug build in `CARGO_TARGET_DIR`, the
    // target dir this binary lives in, the workspace's `target/`.
    let node_bin = testkit::node::find_binary(&["release", "debug"]);
    if !node_bin.exists() {
        eprintln!(
            "chat-node binary not found at {} (build it with `cargo build --release -p node`, or set CHAT_NODE_BIN)",
            node_bin.display()
        );
        return ExitCode::from(2);
    }
    let report_path = args.report.clone().unwrap_or_else(|| {
        testkit::workspace_root()
            .join("target")
            .join("chaos-report.json")
    });
    let cfg = Config {
        seed: args.seed,
        duration: Duration::from_secs(args.duration),
        nodes: args.nodes.max(1),
        quick: args.quick,
        keep: args.keep,
        node_bin,
        nats_bin: testkit::nats::binary(),
        workload: WorkloadConfig {
            posters: args.posters,
            listeners: args.listeners,
            rooms: args.rooms.max(1),
            read_ratio: 0.5,
            think: Duration::from_millis(if args.quick { 40 } else { 60 }),
            op_budget: Duration::from_secs(45),
            request_timeout: Duration::from_secs(6),
        },
        grace: Duration::from_secs(args.grace),
        snapshot_threshold: args.snapshot_threshold,
        log_level: args.log_level.clone(),
        repro: repro(&args),
    };
    println!("chaos seed {} (rerun: {})", cfg.seed, cfg.repro);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    // Ctrl-C or SIGTERM drops the run, which kills every child process; the run dir
    // (printed at the start) keeps the logs.
    let outcome = rt.block_on(async {
        tokio::select! {
            r = run(cfg) => Some(r),
            _ = interrupted() => None,
        }
    });
    let report = match outcome {
        None => {
            eprintln!("chaos: interrupted (seed {}); cluster stopped", args.seed);
            rt.shutdown_timeout(Duration::from_secs(2));
            return ExitCode::from(130);
        }
        Some(Ok(r)) => r,
        Some(Err(e)) => {
            eprintln!("chaos: the harness failed (seed {}): {e:#}", args.seed);
            return ExitCode::from(2);
        }
    };
    print!("{}", report.summary());
    match report.write_json(&report_path) {
        Ok(()) => println!("report: {}", report_path.display()),
        Err(e) => eprintln!("chaos: {e:#}"),
    }
    // Child processes are killed by now; don't wait for lingering client tasks.
    rt.shutdown_timeout(Duration::from_secs(2));
    if report.passed {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}
