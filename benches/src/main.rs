//! `loadgen`: the load generator of issue 5.
//!
//! Starts real `chat-node` processes and `nats-server` (or targets an existing cluster with
//! `--target`), runs each scenario with an open- or closed-loop generator, measures the
//! JetStream / NATS / RocksDB / echo-server reference points in the same run with the same
//! engines, prints a table and writes `target/bench-results.json` (one record per scenario).
//! See benches/README.md.

mod api;
mod load;
mod measure;
mod natsmini;
mod procs;
mod reference;
mod report;
mod scenarios;
mod stream_api;
mod util;
mod wsclient;

use anyhow::{bail, Result};
use clap::Parser;
use procs::Env;
use report::Record;
use scenarios::{Ctx, Scale, SCENARIOS};
use serde_json::json;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

#[derive(Parser, Debug)]
#[command(
    name = "loadgen",
    about = "Load generator for chat-node: throughput, latency, push delivery, fan-out, \
             connections, failover and catch-up, each beside a reference measured in the same run"
)]
struct Cli {
    /// post-throughput | post-latency | e2e-delivery | fanout | connections | failover |
    /// catch-up | all (several may be given, comma-separated)
    scenario: String,
    /// Shrink every scenario (fewer clients, subscribers, messages; shorter runs): `all --quick`
    /// takes a few minutes.
    #[arg(long)]
    quick: bool,
    /// API URLs of an existing cluster to load instead of starting one (failover and catch-up
    /// are skipped then). Repeat or comma-separate.
    #[arg(long, num_args = 1.., value_delimiter = ',')]
    target: Vec<String>,
    /// Results file (JSON array, one record per scenario). Default: <workspace>/target/bench-results.json
    #[arg(long)]
    out: Option<PathBuf>,
    /// Overwrite the results file instead of replacing only the scenarios run now.
    #[arg(long)]
    fresh: bool,
    /// Project credentials (the generator starts nodes with them; with --target they must be
    /// the cluster's).
    #[arg(long, env = "CHAT_CLIENT_ID", default_value = "bench-client")]
    client_id: String,
    #[arg(long, env = "CHAT_CLIENT_SECRET", default_value = "bench-secret")]
    client_secret: String,
    /// chat-node binary. Default: CHAT_NODE_BIN, else `chat-node` beside this binary.
    #[arg(long, env = "CHAT_NODE_BIN")]
    chat_node: Option<PathBuf>,
    /// nats-server binary.
    #[arg(long, env = "NATS_SERVER_BIN", default_value = "nats-server")]
    nats_server: PathBuf,
    /// Where node data dirs and JetStream stores go (default: the system temp dir).
    #[arg(long)]
    work_dir: Option<PathBuf>,
    /// Keep the data dirs and logs of the processes started.
    #[arg(long)]
    keep: bool,
    /// --log-level passed to the nodes.
    #[arg(long, default_value = "warn")]
    node_log_level: String,
    /// Send posts round-robin to every node instead of to the leader only.
    #[arg(long)]
    post_to_all: bool,
    /// Skip the reference runs.
    #[arg(long)]
    no_reference: bool,
    /// PID of the target node whose RSS `connections` reads (with --target).
    #[arg(long)]
    node_pid: Option<u32>,
    /// Bytes of `metadata` per post (the payload size of every reference too).
    #[arg(long)]
    msg_size: Option<usize>,
    /// Concurrent clients (post-throughput, post-latency workers, catch-up fill).
    #[arg(long)]
    clients: Option<usize>,
    /// Measured seconds of each timed run.
    #[arg(long)]
    duration: Option<f64>,
    /// Warmup seconds before each timed run.
    #[arg(long)]
    warmup: Option<f64>,
    /// post-latency rate (posts/s) instead of 50% of the measured max.
    #[arg(long)]
    latency_rate: Option<f64>,
    /// e2e-delivery subscribers (10 per room).
    #[arg(long)]
    e2e_subscribers: Option<usize>,
    /// e2e-delivery posts/s.
    #[arg(long)]
    e2e_rate: Option<f64>,
    /// fanout subscribers (one room).
    #[arg(long)]
    fanout_subscribers: Option<usize>,
    /// fanout posts/s.
    #[arg(long)]
    fanout_rate: Option<f64>,
    /// connections: idle sessions to open.
    #[arg(long)]
    sessions: Option<usize>,
    /// failover rounds.
    #[arg(long)]
    rounds: Option<usize>,
    /// catch-up: messages held by the cluster before the new node joins.
    #[arg(long)]
    messages: Option<u64>,
    /// Internal: run the reference WebSocket echo server (used by `connections`).
    #[arg(long, hide = true)]
    port_file: Option<PathBuf>,
}

fn chat_node_path(cli: &Cli) -> PathBuf {
    if let Some(p) = &cli.chat_node {
        return p.clone();
    }
    if let Ok(exe) = std::env::current_exe() {
        if let Some(dir) = exe.parent() {
            let p = dir.join("chat-node");
            if p.exists() {
                return p;
            }
        }
    }
    testkit::node::find_binary(&["release"])
}

fn scale_of(cli: &Cli) -> Scale {
    let mut s = Scale::new(cli.quick);
    if let Some(v) = cli.msg_size {
        s.msg_size = v;
    }
    if let Some(v) = cli.clients {
        s.clients = v.max(1);
    }
    if let Some(v) = cli.duration {
        s.duration = Duration::from_secs_f64(v.max(0.1));
    }
    if let Some(v) = cli.warmup {
        s.warmup = Duration::from_secs_f64(v.max(0.0));
    }
    s.latency_rate = cli.latency_rate;
    if let Some(v) = cli.e2e_subscribers {
        s.e2e_subscribers = v.max(1);
    }
    if let Some(v) = cli.e2e_rate {
        s.e2e_rate = v;
    }
    if let Some(v) = cli.fanout_subscribers {
        s.fanout_subscribers = v.max(1);
    }
    if let Some(v) = cli.fanout_rate {
        s.fanout_rate = v;
    }
    if let Some(v) = cli.sessions {
        s.sessions = v.max(1);
    }
    if let Some(v) = cli.rounds {
        s.failover_rounds = v.max(1);
    }
    if let Some(v) = cli.messages {
        s.catchup_messages = v.max(1);
    }
    s
}

fn main() -> Result<()> {
    let cli = Cli::parse();
    if cli.scenario == "echo-server" {
        let Some(pf) = &cli.port_file else {
            bail!("echo-server needs --port-file");
        };
        return reference::echo_server_main(pf);
    }
    let mut wanted: Vec<&str> = Vec::new();
    for s in cli.scenario.split(',').map(str::trim) {
        if s == "all" {
            wanted.extend(SCENARIOS);
        } else if let Some(found) = SCENARIOS.iter().find(|x| **x == s) {
            wanted.push(found);
        } else {
            bail!(
                "unknown scenario {s:?}; one of {} or all",
                SCENARIOS.join(", ")
            );
        }
    }
    wanted.dedup();
    let nofile = util::raise_nofile(262_144);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    rt.block_on(run(cli, wanted, nofile))
}

async fn run(cli: Cli, wanted: Vec<&'static str>, nofile: u64) -> Result<()> {
    let env = Env {
        chat_node: chat_node_path(&cli),
        nats_server: cli.nats_server.clone(),
        work_dir: cli.work_dir.clone().unwrap_or_else(std::env::temp_dir),
        node_log_level: cli.node_log_level.clone(),
        client_id: cli.client_id.clone(),
        client_secret: cli.client_secret.clone(),
        keep: cli.keep,
    };
    let scale = scale_of(&cli);
    let out = cli.out.clone().unwrap_or_else(|| {
        testkit::workspace_root()
            .join("target")
            .join("bench-results.json")
    });
    let command = std::env::args().collect::<Vec<_>>().join(" ");
    let mut machine = util::machine();
    machine["nofile_limit"] = json!(nofile);
    eprintln!(
        "loadgen: {} ({} scale) on {} cores, load average {}; chat-node {}",
        wanted.join(", "),
        if scale.quick { "quick" } else { "full" },
        machine["cores"],
        machine["loadavg_at_start"],
        env.chat_node.display()
    );
    let mut ctx = Ctx {
        env,
        scale,
        targets: cli
            .target
            .iter()
            .map(|t| t.trim_end_matches('/').to_owned())
            .filter(|t| !t.is_empty())
            .collect(),
        no_reference: cli.no_reference,
        node_pid: cli.node_pid,
        post_to_leader: !cli.post_to_all,
        max_rate: BTreeMap::new(),
        nofile,
    };
    let run_started = Instant::now();
    let mut records: Vec<Record> = Vec::new();
    for name in wanted {
        eprintln!("=== {name} ===");
        let t = Instant::now();
        let res = scenarios::run(name, &mut ctx).await;
        let mut rec = match res {
            Ok(r) => r,
            Err(e) => {
                eprintln!("[{name}] FAILED: {e:#}");
                let mut r = Record::new(name, "", "", "see the scenario's target");
                r.met = Some(false);
                r.detail("error", json!(format!("{e:#}")));
                r
            }
        };
        rec.elapsed_s = util::round(t.elapsed().as_secs_f64(), 1);
        rec.finished_at = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        let mut m = machine.clone();
        m["loadavg_at_end"] = util::loadavg();
        rec.machine = m;
        rec.command = command.clone();
        eprintln!("[{name}] done in {:.1}s", rec.elapsed_s);
        records.push(rec);
        // Write after every scenario, so a long run that is interrupted keeps its results.
        report::write_json(&out, &records, cli.fresh, SCENARIOS)?;
    }
    println!();
    println!(
        "Results ({} scale, {:.0}s in all; machine: {} cores, {}):",
        if ctx.scale.quick { "quick" } else { "full" },
        run_started.elapsed().as_secs_f64(),
        machine["cores"],
        machine["cpu"].as_str().unwrap_or("?")
    );
    print!("{}", report::table(&records));
    println!("JSON: {}", out.display());
    Ok(())
}
