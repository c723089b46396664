//! One scenario from start to verdict.
//!
//! Owns: the order of the phases — start the cluster, set up the data, run the load and
//! the nemesis for the duration, stop the load, heal everything, wait until every replica
//! applied the same index and the notifications drained, read every replica, check,
//! report — and where the run's files live (a temp dir, kept when something failed).
//! Does not own: any of the phases' details (see the modules named in each step).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::AtomicU64;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use rand::rngs::StdRng;
use rand::SeedableRng;
use tokio::sync::watch;

use crate::api::Api;
use crate::checker::{self, Listing, Msg, Observed};
use crate::cluster::{Cluster, ClusterConfig, NodeSettings};
use crate::history::History;
use crate::nemesis::{FaultKind, Nemesis, NemesisConfig};
use crate::report::{self, Report, RunFacts};
use crate::workload::{self, Ctx, WorkloadConfig};

/// Everything a run needs.
#[derive(Debug, Clone)]
pub struct Config {
    pub seed: u64,
    pub duration: Duration,
    pub nodes: usize,
    pub quick: bool,
    pub keep: bool,
    pub node_bin: PathBuf,
    pub nats_bin: PathBuf,
    pub workload: WorkloadConfig,
    /// See [`Observed::grace`].
    pub grace: Duration,
    pub snapshot_threshold: u64,
    pub log_level: String,
    /// The command line that reproduces this run.
    pub repro: String,
}

/// Node slots: the initial nodes plus one per membership change the schedule can reach.
fn slots(cfg: &Config) -> usize {
    let changes = 1 + (cfg.duration.as_secs() / 40) as usize;
    cfg.nodes + changes.min(30)
}

fn say(h: &History, msg: &str) {
    println!("[{:7.1}s] {msg}", h.secs(Instant::now()));
}

/// Runs the scenario and returns its report (violations included). `Err` only when the
/// harness itself could not run (binaries missing, the cluster never formed, …).
pub async fn run(cfg: Config) -> Result<Report> {
    let t0 = Instant::now();
    let history = Arc::new(History::new(t0));
    let mut dir = tempfile::Builder::new()
        .prefix(&format!("chaos-{}-", cfg.seed))
        .tempdir()
        .context("create the run dir")?;
    // Removed explicitly when the run passes; an interrupted run keeps its logs.
    dir.disable_cleanup(true);
    let root = dir.path().to_path_buf();
    say(
        &history,
        &format!(
            "seed {} · {} nodes · {:?} of faults{} · node binary {} · run dir {}",
            cfg.seed,
            cfg.nodes,
            cfg.duration,
            if cfg.quick { " (quick)" } else { "" },
            cfg.node_bin.display(),
            root.display()
        ),
    );
    let api = Api::new();
    let cluster_cfg = ClusterConfig {
        nodes: cfg.nodes,
        slots: slots(&cfg),
        node: NodeSettings {
            bin: cfg.node_bin.clone(),
            snapshot_threshold: cfg.snapshot_threshold,
            log_level: cfg.log_level.clone(),
        },
        nats_bin: cfg.nats_bin.clone(),
        root: root.clone(),
    };
    let cluster = match Cluster::start(cluster_cfg, api.clone()).await {
        Ok(c) => c,
        Err(e) => {
            return Err(e.context(format!(
                "starting the cluster (logs kept in {})",
                root.display()
            )));
        }
    };
    say(
        &history,
        &format!("cluster of {:?} formed", cluster.members()),
    );

    let (stop_load_tx, stop_load) = watch::channel(false);
    let (stop_listen_tx, stop_listen) = watch::channel(false);
    let ctx = Arc::new(Ctx {
        api: api.clone(),
        endpoints: cluster.endpoints.clone(),
        history: history.clone(),
        ns: "chaos".into(),
        gw: "chaos-gw".into(),
        rooms: (0..cfg.workload.rooms)
            .map(|i| format!("room-{i}"))
            .collect(),
        seed: cfg.seed,
        cfg: cfg.workload.clone(),
        stop_load,
        stop_listen,
        next_op: AtomicU64::new(1),
    });
    workload::setup(&ctx).await.context("workload setup")?;
    let running = workload::spawn(&ctx);
    let load_start = Instant::now();
    say(&history, "load running; nemesis starts");

    let mut nemesis = Nemesis::new(
        cluster,
        StdRng::seed_from_u64(cfg.seed),
        NemesisConfig {
            duration: cfg.duration,
            quick: cfg.quick,
        },
        history.clone(),
    );
    nemesis.run(load_start).await;
    // A calm tail: the load goes on against the healed cluster, so the last posts meet
    // sessions that stay online to the end (and recovery itself is checked).
    let tail = if cfg.quick {
        Duration::from_secs(8)
    } else {
        Duration::from_secs(15)
    };
    nemesis.say(&format!(
        "nemesis done; {tail:?} more of load without faults"
    ));
    tokio::time::sleep(tail).await;
    nemesis.say("stopping the load");
    let _ = stop_load_tx.send(true);
    let load_end = Instant::now();
    let drain = cfg.workload.op_budget + Duration::from_secs(30);
    for t in running.load {
        if tokio::time::timeout(drain, t).await.is_err() {
            history.warn("a load task did not finish its last operation in time");
        }
    }
    let mut cluster = nemesis.cluster;

    // Heal, converge, let notifications drain.
    cluster.heal_all().await.context("final heal")?;
    let mut verdict_notes: Vec<(&'static str, String)> = Vec::new();
    if let Err(e) = cluster.wait_nats_connected(Duration::from_secs(60)).await {
        history.warn(format!("end of run: {e:#}"));
    }
    match cluster.wait_converged(Duration::from_secs(120)).await {
        Ok(index) => say(
            &history,
            &format!("replicas converged at applied index {index}"),
        ),
        Err(e) => verdict_notes.push((checker::replica_agreement::NAME, format!("{e:#}"))),
    }
    let last_event = {
        let faults = history.faults.lock().expect("faults lock");
        let posts = history.posts.lock().expect("posts lock");
        faults
            .iter()
            .map(|f| f.recovered)
            .chain(posts.iter().filter_map(|p| p.ack().map(|a| a.0)))
            .max()
            .unwrap_or(load_end)
    };
    let drained_at = last_event + cfg.grace;
    let cap = Instant::now() + cfg.grace + Duration::from_secs(30);
    loop {
        let received: usize = history
            .sessions_snapshot()
            .iter()
            .map(|s| s.received.len())
            .sum();
        tokio::time::sleep(Duration::from_secs(2)).await;
        let again: usize = history
            .sessions_snapshot()
            .iter()
            .map(|s| s.received.len())
            .sum();
        let now = Instant::now();
        if (now >= drained_at && again == received) || now >= cap {
            break;
        }
    }
    let _ = stop_listen_tx.send(true);
    for t in running.listeners {
        let _ = tokio::time::timeout(Duration::from_secs(10), t).await;
    }
    for (id, status) in cluster.crashed() {
        history.crashes.lock().expect("crashes lock").push(format!(
            "node {id} exited on its own ({status}) by the end of the run"
        ));
    }

    // Read every replica.
    say(&history, "reading every replica");
    let mut replicas = BTreeMap::new();
    for id in cluster.members() {
        let mut listing = Listing::new();
        for room in &ctx.rooms {
            match cluster.read_room(id, &ctx.ns, room).await {
                Ok(items) => {
                    listing.insert(room.clone(), items.iter().map(Msg::from_json).collect());
                }
                Err(e) => verdict_notes.push((checker::replica_agreement::NAME, format!("{e:#}"))),
            }
        }
        replicas.insert(id, listing);
    }

    let obs = Observed {
        t0,
        posts: history.posts.lock().expect("posts lock").clone(),
        reads: history.reads.lock().expect("reads lock").clone(),
        subs: history.subs.lock().expect("subs lock").clone(),
        sessions: history.sessions_snapshot(),
        faults: history.faults.lock().expect("faults lock").clone(),
        crashes: history.crashes.lock().expect("crashes lock").clone(),
        replicas,
        grace: cfg.grace,
    };
    let mut verdict = checker::check_all(&obs);
    for (inv, note) in verdict_notes {
        verdict.push(inv, note);
    }
    let failed = !verdict.kept.is_empty();
    let final_members = cluster.members();
    cluster.shutdown().await;
    let logs_dir = if failed || cfg.keep {
        Some(root.display().to_string())
    } else {
        let _ = std::fs::remove_dir_all(&root);
        None
    };
    let done: Vec<FaultKind> = obs.faults.iter().map(|f| f.kind).collect();
    for k in FaultKind::ALL {
        if !done.contains(&k) {
            history.warn(format!("fault kind {} never ran", k.name()));
        }
    }
    Ok(report::build(
        &history,
        &verdict,
        RunFacts {
            seed: cfg.seed,
            duration: cfg.duration,
            nodes: cfg.nodes,
            quick: cfg.quick,
            repro: cfg.repro.clone(),
            node_binary: cfg.node_bin.display().to_string(),
            load_start,
            load_end,
            final_members,
            logs_dir,
        },
    ))
}
