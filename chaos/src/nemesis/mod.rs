//! The nemesis: a seeded schedule of faults, one at a time, each healed before the next.
//!
//! Owns: the fault kinds, their order (rounds of every kind, shuffled by the seed, so a
//! short run still injects each kind once), their timing (seeded gaps and hold times),
//! their targets (chosen with the same seeded generator, often the current leader), and
//! recording each fault with the instant it made the leader unavailable, if it did.
//! Does not own: the processes and links it breaks (see [`crate::cluster`]).
//!
//! Layout: this file (kinds, schedule, recording), [`inject`] (what each kind does).

use std::collections::BTreeSet;
use std::fs::OpenOptions;
use std::io::Write;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::Rng;

use crate::cluster::Cluster;
use crate::history::{FaultRecord, History};
use crate::proxy::Mode;

mod inject;

/// Time the cluster gets to become healthy after a fault healed.
const RECOVERY_TIMEOUT: Duration = Duration::from_secs(60);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum FaultKind {
    /// SIGKILL one node (often the leader), then restart it on the same data dir.
    KillRestart,
    /// SIGSTOP one node (often the leader), then SIGCONT.
    Pause,
    /// Cut the leader off from every other node.
    IsolateLeader,
    /// Cut a random minority off from the majority.
    PartitionMinority,
    /// Every node still sees a majority, but not the same one (a bridge with 3 nodes,
    /// a ring with more).
    PartitionMajority,
    /// One node's outgoing, or incoming, Raft links only.
    PartitionAsymmetric,
    /// Latency (with jitter) on all Raft links, or on every link of one node.
    SlowLinks,
    /// SIGKILL nats-server, then restart it on the same port and store.
    NatsKillRestart,
    /// Cut one node's link to NATS.
    NatsLink,
    /// SIGTERM every node in turn, waiting for the cluster between them.
    RollingRestart,
    /// Add a new node (`--join` + `POST /admin/cluster/nodes`), then remove another
    /// (`DELETE /admin/cluster/nodes/{id}`), under load.
    Membership,
}

impl FaultKind {
    pub const ALL: [FaultKind; 11] = [
        FaultKind::KillRestart,
        FaultKind::Pause,
        FaultKind::IsolateLeader,
        FaultKind::PartitionMinority,
        FaultKind::PartitionMajority,
        FaultKind::PartitionAsymmetric,
        FaultKind::SlowLinks,
        FaultKind::NatsKillRestart,
        FaultKind::NatsLink,
        FaultKind::RollingRestart,
        FaultKind::Membership,
    ];

    pub fn name(self) -> &'static str {
        match self {
            FaultKind::KillRestart => "kill-restart",
            FaultKind::Pause => "pause",
            FaultKind::IsolateLeader => "isolate-leader",
            FaultKind::PartitionMinority => "partition-minority",
            FaultKind::PartitionMajority => "partition-majority",
            FaultKind::PartitionAsymmetric => "partition-asymmetric",
            FaultKind::SlowLinks => "slow-links",
            FaultKind::NatsKillRestart => "nats-kill-restart",
            FaultKind::NatsLink => "nats-link",
            FaultKind::RollingRestart => "rolling-restart",
            FaultKind::Membership => "membership",
        }
    }
}

/// Timing of the schedule.
#[derive(Debug, Clone)]
pub struct NemesisConfig {
    /// Faults start only before this much time has passed (but every kind runs once).
    pub duration: Duration,
    /// Shorter gaps and hold times (CI).
    pub quick: bool,
}

impl NemesisConfig {
    /// A random duration in milliseconds from `quick` or `full`, as configured.
    fn pick_ms(
        &self,
        rng: &mut StdRng,
        quick: std::ops::Range<u64>,
        full: std::ops::Range<u64>,
    ) -> Duration {
        Duration::from_millis(rng.gen_range(if self.quick { quick } else { full }))
    }
    fn gap(&self, rng: &mut StdRng) -> Duration {
        self.pick_ms(rng, 500..1500, 4000..12_000)
    }
    fn hold(&self, rng: &mut StdRng) -> Duration {
        self.pick_ms(rng, 1500..3000, 3000..10_000)
    }
}

/// What one fault did.
struct Injected {
    detail: String,
    leader_loss: Option<Instant>,
    healed: Instant,
}

pub struct Nemesis {
    pub cluster: Cluster,
    rng: StdRng,
    cfg: NemesisConfig,
    history: Arc<History>,
    log_path: std::path::PathBuf,
}

impl Nemesis {
    pub fn new(cluster: Cluster, rng: StdRng, cfg: NemesisConfig, history: Arc<History>) -> Self {
        let log_path = cluster.root().join("harness.log");
        Nemesis {
            cluster,
            rng,
            cfg,
            history,
            log_path,
        }
    }

    /// Prints a timestamped harness line and appends it to `harness.log`.
    pub fn say(&self, msg: &str) {
        let line = format!("[{:7.1}s] {msg}", self.history.secs(Instant::now()));
        println!("{line}");
        if let Ok(mut f) = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log_path)
        {
            let _ = writeln!(f, "{line}");
        }
    }

    /// Runs faults until `cfg.duration` has passed since `start` and every kind ran at
    /// least once.
    pub async fn run(&mut self, start: Instant) {
        let mut done: BTreeSet<FaultKind> = BTreeSet::new();
        let mut n = 0usize;
        loop {
            let mut round = FaultKind::ALL.to_vec();
            round.shuffle(&mut self.rng);
            for kind in round {
                let gap = self.cfg.gap(&mut self.rng);
                let over = start.elapsed() + gap >= self.cfg.duration;
                if over && done.len() == FaultKind::ALL.len() {
                    return;
                }
                if over && done.contains(&kind) {
                    continue;
                }
                tokio::time::sleep(gap).await;
                n += 1;
                self.fault(n, kind).await;
                done.insert(kind);
            }
        }
    }

    async fn fault(&mut self, n: usize, kind: FaultKind) {
        let started = Instant::now();
        let hold = self.cfg.hold(&mut self.rng);
        let res = self.inject(kind, hold).await;
        let (detail, leader_loss, healed, mut error) = match res {
            Ok(i) => (i.detail, i.leader_loss, i.healed, None),
            Err(e) => (
                format!("failed: {e:#}"),
                None,
                Instant::now(),
                Some(format!("{e:#}")),
            ),
        };
        self.say(&format!("fault {n}: {} — {detail}", kind.name()));
        if let Err(e) = self.cluster.heal_all().await {
            error.get_or_insert(format!("heal: {e:#}"));
        }
        for (id, status) in self.cluster.crashed() {
            let msg = format!(
                "node {id} exited on its own ({status}) after {}",
                kind.name()
            );
            self.say(&msg);
            let log = self.cluster.node(id).log.display().to_string();
            self.history
                .crashes
                .lock()
                .expect("crashes lock")
                .push(format!("{msg}; log: {log}"));
            error.get_or_insert(msg);
            if let Err(e) = self.cluster.heal_all().await {
                self.history.warn(format!("restart after crash: {e:#}"));
            }
        }
        let mut recovery = self
            .cluster
            .wait_healthy(RECOVERY_TIMEOUT)
            .await
            .map(|_| ());
        if recovery.is_ok() {
            recovery = self.cluster.wait_nats_connected(RECOVERY_TIMEOUT).await;
        }
        let recovered = Instant::now();
        if let Err(e) = &recovery {
            let msg = format!("after {}: {e:#}", kind.name());
            self.say(&msg);
            error.get_or_insert(msg);
        }
        if let Some(e) = &error {
            self.history
                .warn(format!("fault {n} ({}): {e}", kind.name()));
        }
        self.history
            .faults
            .lock()
            .expect("faults lock")
            .push(FaultRecord {
                kind,
                detail,
                started,
                healed,
                recovered,
                leader_loss,
                recovery_error: error,
            });
    }

    fn pick(&mut self, ids: &[u64]) -> u64 {
        *ids.choose(&mut self.rng).expect("a non-empty set")
    }

    /// The leader half the time, else a random running member.
    async fn target(&mut self) -> (u64, Option<u64>) {
        let leader = self.cluster.leader().await;
        let running = self.cluster.running_members();
        let t = match leader {
            Some(l) if self.rng.gen_bool(0.5) => l,
            _ => self.pick(&running),
        };
        (t, leader)
    }

    fn mode(&mut self) -> Mode {
        if self.rng.gen_bool(0.5) {
            Mode::Hold
        } else {
            Mode::Refuse
        }
    }
}
