//! The cluster under test: node slots, NATS, the proxied links between them, and the
//! membership as the harness changed it.
//!
//! Owns: choosing every address up front (API and Raft ports of every slot, the NATS
//! port, one proxy per ordered pair of slots and one NATS proxy per slot), so each
//! node's `--dial-override` and `--nats-url` are known before anything starts, and a
//! node added later is reachable through proxies from nodes started earlier; forming
//! the cluster the way an operator does (node 1 bootstraps, the others start with
//! `--join` and are added through `POST /admin/cluster/nodes`); removing members;
//! leader lookup; waiting for a healthy or a fully converged cluster; stale reads of
//! every replica for the checkers.
//! Does not own: deciding which fault to inject (see [`crate::nemesis`]).
//!
//! Layout: this file (addresses, proxies, processes, links, healing), [`slot`] (one
//! node id: addresses, start arguments, life), [`health`] (status, leader, health,
//! convergence, replica reads), [`membership`] (add / remove).

use std::collections::{BTreeMap, BTreeSet};
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use anyhow::{Context, Result};
use testkit::NatsServer;

use crate::api::Api;
use crate::proxy::{Link, Mode};

mod health;
mod membership;
pub mod slot;

pub use health::Status;
pub use slot::{Life, NodeSettings, NodeSlot};

/// Status calls made while looking for a leader.
const STATUS_TIMEOUT: Duration = Duration::from_secs(2);
/// Membership calls (the add call waits up to 60 s for the learner to catch up).
const ADMIN_TIMEOUT: Duration = Duration::from_secs(90);

/// A node clients may talk to.
#[derive(Debug, Clone)]
pub struct Endpoint {
    pub id: u64,
    pub base: String,
    pub ws: String,
}

/// The nodes clients pick from: the members (running or not, as a real client would not
/// know). Nodes leave it before they are removed and join it once they are voters.
pub type Endpoints = Arc<RwLock<Vec<Endpoint>>>;

#[derive(Debug, Clone)]
pub struct ClusterConfig {
    pub nodes: usize,
    /// Node ids available in the run (`nodes` + one per membership change).
    pub slots: usize,
    pub node: NodeSettings,
    pub nats_bin: PathBuf,
    pub root: PathBuf,
}

pub struct Cluster {
    pub cfg: ClusterConfig,
    pub api: Api,
    slots: BTreeMap<u64, NodeSlot>,
    pub nats: NatsServer,
    raft_links: BTreeMap<(u64, u64), Link>,
    nats_links: BTreeMap<u64, Link>,
    members: BTreeSet<u64>,
    pub endpoints: Endpoints,
}

/// Distinct free loopback ports, held until the returned listeners are dropped.
fn reserve_ports(n: usize) -> Result<Vec<TcpListener>> {
    (0..n)
        .map(|_| TcpListener::bind("127.0.0.1:0").context("reserve a loopback port"))
        .collect()
}

impl Cluster {
    /// Chooses every address, binds every proxy, starts NATS and forms a cluster of
    /// `cfg.nodes` voters.
    pub async fn start(cfg: ClusterConfig, api: Api) -> Result<Cluster> {
        let slots = cfg.slots.max(cfg.nodes);
        // Hold the node and NATS ports while the proxies bind, so no proxy lands on one.
        let held = reserve_ports(2 * slots + 1)?;
        let ports: Vec<SocketAddr> = held
            .iter()
            .map(|l| l.local_addr())
            .collect::<std::io::Result<_>>()?;
        let api_addr = |id: u64| ports[2 * (id as usize - 1)];
        let raft_addr = |id: u64| ports[2 * (id as usize - 1) + 1];
        let nats_port = ports[2 * slots].port();
        let ids: Vec<u64> = (1..=slots as u64).collect();
        let mut raft_links = BTreeMap::new();
        for &a in &ids {
            for &b in &ids {
                if a != b {
                    let link = Link::bind(format!("raft {a}->{b}"), raft_addr(b)).await?;
                    raft_links.insert((a, b), link);
                }
            }
        }
        let mut nats =
            NatsServer::at(nats_port, &cfg.root.join("nats"))?.with_bin(cfg.nats_bin.clone());
        nats.set_note_label(slot::NOTE_LABEL);
        let mut nats_links = BTreeMap::new();
        for &a in &ids {
            nats_links.insert(a, Link::bind(format!("nats {a}"), nats.addr()).await?);
        }
        drop(held);

        let mut nodes = BTreeMap::new();
        for &a in &ids {
            let overrides: Vec<String> = ids
                .iter()
                .filter(|&&b| b != a)
                .map(|&b| format!("{}={}", raft_addr(b), raft_links[&(a, b)].addr()))
                .collect();
            let node = NodeSlot::new(
                a,
                api_addr(a),
                raft_addr(a),
                &cfg.root,
                format!("nats://{}", nats_links[&a].addr()),
                overrides.join(","),
            );
            nodes.insert(a, node);
        }
        let mut cluster = Cluster {
            cfg,
            api,
            slots: nodes,
            nats,
            raft_links,
            nats_links,
            members: BTreeSet::new(),
            endpoints: Arc::default(),
        };
        cluster.nats.restart().await?;
        cluster.start_node(1).await?;
        cluster.members.insert(1);
        cluster.publish_endpoints();
        cluster
            .wait_healthy(ADMIN_TIMEOUT)
            .await
            .context("node 1 did not become leader of its own cluster")?;
        for id in 2..=cluster.cfg.nodes as u64 {
            cluster.start_node(id).await?;
            cluster.add_member(id).await?;
        }
        cluster.wait_healthy(ADMIN_TIMEOUT).await?;
        Ok(cluster)
    }

    pub fn root(&self) -> &Path {
        &self.cfg.root
    }
    pub fn node(&self, id: u64) -> &NodeSlot {
        &self.slots[&id]
    }
    pub fn node_mut(&mut self, id: u64) -> &mut NodeSlot {
        self.slots.get_mut(&id).expect("known slot")
    }
    pub fn members(&self) -> Vec<u64> {
        self.members.iter().copied().collect()
    }
    /// The members other than `id`.
    pub fn members_except(&self, id: u64) -> Vec<u64> {
        self.members.iter().copied().filter(|&m| m != id).collect()
    }
    /// Members whose process runs and is not paused.
    pub fn running_members(&self) -> Vec<u64> {
        self.members
            .iter()
            .copied()
            .filter(|id| self.slots[id].life == Life::Running)
            .collect()
    }
    /// A slot never started yet, for a node to add.
    pub fn spare_slot(&self) -> Option<u64> {
        self.slots
            .values()
            .find(|n| n.life == Life::NotStarted)
            .map(|n| n.id)
    }

    fn publish_endpoints(&self) {
        let eps = self
            .members
            .iter()
            .map(|id| {
                let n = &self.slots[id];
                Endpoint {
                    id: *id,
                    base: n.base(),
                    ws: n.ws_url(),
                }
            })
            .collect();
        *self.endpoints.write().expect("endpoints lock") = eps;
    }

    pub async fn start_node(&mut self, id: u64) -> Result<()> {
        let settings = self.cfg.node.clone();
        self.node_mut(id).start(&settings).await
    }

    // ----- links -------------------------------------------------------------------

    pub fn link(&self, from: u64, to: u64) -> &Link {
        &self.raft_links[&(from, to)]
    }
    pub fn nats_link(&self, id: u64) -> &Link {
        &self.nats_links[&id]
    }

    /// Every Raft link from a node of `from` to a node of `to` gets `mode`.
    pub fn block(&self, from: &[u64], to: &[u64], mode: Mode) {
        for &a in from {
            for &b in to {
                if a != b {
                    self.link(a, b).set_mode(mode);
                }
            }
        }
    }

    /// Cuts the nodes of each group off from the nodes of every other group (both ways).
    pub fn partition(&self, groups: &[Vec<u64>], mode: Mode) {
        for (i, g) in groups.iter().enumerate() {
            for (j, h) in groups.iter().enumerate() {
                if i != j {
                    self.block(g, h, mode);
                }
            }
        }
    }

    /// Every link back to pass with no latency.
    pub fn heal_links(&self) {
        for l in self.raft_links.values().chain(self.nats_links.values()) {
            l.heal();
        }
    }

    // ----- healing and checks --------------------------------------------------------

    /// Ends every fault: links pass, paused nodes continue, stopped members and NATS
    /// start again.
    pub async fn heal_all(&mut self) -> Result<()> {
        self.heal_links();
        for id in self.members() {
            match self.slots[&id].life {
                Life::Paused => self.node_mut(id).resume()?,
                Life::Stopped => self.start_node(id).await?,
                _ => {}
            }
        }
        if !self.nats.is_running() {
            self.nats.restart().await?;
        }
        Ok(())
    }

    /// Members whose process died without the harness killing it (id, exit status).
    pub fn crashed(&mut self) -> Vec<(u64, String)> {
        let mut out = Vec::new();
        for id in self.members() {
            if let Some(status) = self.node_mut(id).crashed() {
                out.push((id, status));
            }
        }
        out
    }

    /// Stops every process (end of run).
    pub async fn shutdown(&mut self) {
        for n in self.slots.values_mut() {
            n.kill();
        }
        self.nats.kill();
    }
}
