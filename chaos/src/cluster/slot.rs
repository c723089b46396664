//! One node slot of the run: a node id with its fixed addresses, data dir and links,
//! and where its process is in its life. The process itself is a [`testkit::Node`]
//! (spawn, `ports.json`, `/healthz`, signals, the log with a `----- chaos: … -----` line
//! for every signal the harness sends).
//!
//! Owns: the fixed addresses (so a restart comes back where its peers and proxies expect
//! it), the arguments every start passes (`--nats-url` and `--dial-override` through this
//! slot's proxies, `--join` for every node but the first), and the slot's [`Life`].
//! Does not own: cluster membership or links (see [`crate::cluster`]).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{bail, Context, Result};
use testkit::node::Ports;
use testkit::{Node, NodeOpts};

use crate::api::{CLIENT_ID, CLIENT_SECRET};

/// The label of the harness lines in the logs.
pub const NOTE_LABEL: &str = "chaos";

/// Where a process is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Life {
    NotStarted,
    Running,
    Paused,
    Stopped,
    /// Removed from the cluster and stopped for good.
    Retired,
}

/// Static settings every node gets.
#[derive(Debug, Clone)]
pub struct NodeSettings {
    pub bin: PathBuf,
    pub snapshot_threshold: u64,
    pub log_level: String,
}

/// One node id with its fixed addresses and data dir.
pub struct NodeSlot {
    pub id: u64,
    pub api: SocketAddr,
    pub raft: SocketAddr,
    pub dir: PathBuf,
    pub log: PathBuf,
    /// `--nats-url` value (this node's NATS proxy).
    pub nats_url: String,
    /// `--dial-override` value (this node's Raft proxies).
    pub dial_override: String,
    pub life: Life,
    node: Option<Node>,
}

impl NodeSlot {
    pub fn new(
        id: u64,
        api: SocketAddr,
        raft: SocketAddr,
        root: &Path,
        nats_url: String,
        dial_override: String,
    ) -> NodeSlot {
        let dir = root.join(format!("node-{id}"));
        NodeSlot {
            id,
            api,
            raft,
            log: dir.join("node.log"),
            dir,
            nats_url,
            dial_override,
            life: Life::NotStarted,
            node: None,
        }
    }

    pub fn base(&self) -> String {
        format!("http://{}", self.api)
    }
    pub fn ws_url(&self) -> String {
        format!("ws://{}/", self.api)
    }
    pub fn pid(&self) -> Option<u32> {
        self.node.as_ref().and_then(Node::pid)
    }
    pub fn note(&self, what: &str) {
        testkit::proc::note(&self.log, NOTE_LABEL, what);
    }
    pub fn log_tail(&self, n: usize) -> String {
        testkit::proc::log_tail(&self.log, n)
    }

    fn opts(&self, s: &NodeSettings) -> NodeOpts {
        let mut o = NodeOpts::id(self.id)
            .credentials(CLIENT_ID, CLIENT_SECRET)
            .nats(&self.nats_url)
            .snapshot_threshold(Some(s.snapshot_threshold))
            .log_level(&s.log_level);
        if !self.dial_override.is_empty() {
            o = o.arg("--dial-override").arg(&self.dial_override);
        }
        if self.id != 1 {
            o = o.join();
        }
        o.dir = Some(self.dir.clone());
        o.addrs = Some(Ports {
            api: self.api,
            raft: self.raft,
        });
        o.note_label = NOTE_LABEL.to_owned();
        o.bin = Some(s.bin.clone());
        o
    }

    /// Starts the process (same addresses and data dir every time) and waits for
    /// `/healthz`.
    pub async fn start(&mut self, s: &NodeSettings) -> Result<()> {
        let started = match self.node.as_mut() {
            Some(n) if n.is_running() => bail!("node {} is already running", self.id),
            Some(n) => n.restart().await,
            None => match Node::start(self.opts(s)).await {
                Ok(n) => {
                    self.node = Some(n);
                    Ok(())
                }
                Err(e) => Err(e),
            },
        };
        let running = self.node.as_ref().is_some_and(Node::is_running);
        self.life = if running {
            Life::Running
        } else {
            Life::Stopped
        };
        started.with_context(|| format!("start node {}", self.id))
    }

    /// SIGKILL and reap.
    pub fn kill(&mut self) {
        if let Some(n) = self.node.as_mut() {
            n.kill();
        }
        if self.life != Life::Retired {
            self.life = Life::Stopped;
        }
    }

    /// SIGTERM, then up to `timeout` for a clean exit, then SIGKILL. `true` if it exited
    /// on its own.
    pub async fn terminate(&mut self, timeout: Duration) -> bool {
        let clean = match self.node.as_mut() {
            Some(n) => n.terminate_within(timeout).await,
            None => true,
        };
        if self.life != Life::Retired {
            self.life = Life::Stopped;
        }
        clean
    }

    fn running(&mut self) -> Result<&mut Node> {
        self.node
            .as_mut()
            .filter(|n| n.is_running())
            .with_context(|| format!("node {} is not running", self.id))
    }

    /// SIGSTOP.
    pub fn pause(&mut self) -> Result<()> {
        self.running()?.pause()?;
        self.life = Life::Paused;
        Ok(())
    }

    /// SIGCONT.
    pub fn resume(&mut self) -> Result<()> {
        self.running()?.resume()?;
        self.life = Life::Running;
        Ok(())
    }

    /// The exit status if the process exited on its own (a crash); reaps it.
    pub fn crashed(&mut self) -> Option<String> {
        let status = self.node.as_mut()?.exited()?;
        self.life = Life::Stopped;
        Some(status)
    }
}
