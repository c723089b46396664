//! The cluster handle: the single place that knows who leads. Writes and membership changes go
//! to the leader (locally or forwarded over the Raft port); reads wait for a read index.
//!
//! This file owns the handle itself (its shared state, accessors, who leads, status) and the
//! public error and consistency types. The jobs live beside it, each adding methods to
//! [`Cluster`]: batching proposals on the leader ([`super::proposer`]), finding and forwarding
//! to the leader ([`super::forward`]), membership changes ([`super::membership`]) and leadership
//! transfer ([`super::transfer`]).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use openraft::ServerState;
use serde::Serialize;

use super::lease::LeaderWatch;
use super::network::{NetError, PeerPool};
use super::proposer::Proposer;
use super::rpc::{RpcBody, RpcResponse};
use super::service::PeerService;
use super::{Node, NodeId, Raft};
use crate::lifecycle::Lifecycle;
use crate::storage::log_store::CommitIndex;

/// Why a cluster operation did not happen. Faces map these once each (GS2: 503 for the first
/// two, 400 for refusals, 500 for a stopped Raft).
#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    /// No leader answered before the deadline. `hint` is the last leader heard of, if any;
    /// `reason` what the last attempt came to.
    #[error("no leader available: {reason}")]
    NoLeader {
        hint: Option<NodeId>,
        reason: String,
    },
    /// A leader was reached but the operation did not finish in time (a read index that was not
    /// applied, an admin request that outlived its timeout).
    #[error("timed out: {0}")]
    Timeout(String),
    /// A membership change names a node that is not in the cluster.
    #[error("node {0} is not a member")]
    NotMember(NodeId),
    /// Raft on the leader stopped (fatal error or shutdown): the write may not be retried.
    #[error("raft stopped: {0}")]
    RaftStopped(String),
    /// The leader refused an admin request (not a voter, no other voter, a learner that did
    /// not catch up...).
    #[error("bad admin request: {0}")]
    BadRequest(String),
}

impl ClusterError {
    /// Maps what the leader answered to an admin request.
    pub(super) fn from_admin(e: super::rpc::ForwardError) -> Self {
        use super::rpc::ForwardError;
        match e {
            ForwardError::NotLeader { leader } => ClusterError::NoLeader {
                hint: leader,
                reason: "not the leader".into(),
            },
            ForwardError::NotMember { node_id } => ClusterError::NotMember(node_id),
            ForwardError::Failed(m) => ClusterError::BadRequest(m),
        }
    }
}

/// Read consistency requested by a caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Consistency {
    /// Sees every write acknowledged before the read started (read-index through the leader).
    ReadYourWrites,
    /// Served from the local replica as it is.
    Stale,
}

#[derive(Clone)]
pub struct Cluster {
    pub(super) inner: Arc<Inner>,
}

/// The state shared by every clone of the handle; its jobs' files reach it through `inner`.
pub(super) struct Inner {
    pub(super) raft: Raft,
    pub(super) node_id: NodeId,
    pub(super) group: u32,
    pub(super) pool: PeerPool,
    /// What answers `RpcBody::Gateway` calls from peers (registered by the server).
    gateway: OnceLock<Arc<dyn PeerService>>,
    /// The proposer task, where this node's writes queue while it leads.
    pub(super) proposer: Proposer,
    /// Set while handing leadership over: new writes are refused as if not leader.
    pub(super) transferring: AtomicBool,
    watch: LeaderWatch,
    /// The commit index as the log store saved it.
    commit_index: CommitIndex,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MemberStatus {
    pub node_id: NodeId,
    pub raft_addr: String,
    pub voter: bool,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ClusterStatus {
    pub node_id: NodeId,
    pub state: String,
    pub leader_id: Option<NodeId>,
    pub term: u64,
    pub last_log_index: Option<u64>,
    pub commit_index: Option<u64>,
    pub applied_index: Option<u64>,
    pub snapshot_index: Option<u64>,
    pub purged_index: Option<u64>,
    pub members: Vec<MemberStatus>,
}

impl Cluster {
    /// Must be called inside a tokio runtime: it starts the proposer task.
    /// `lease` is openraft's leader lease (the maximum election timeout).
    pub fn new(
        raft: Raft,
        node_id: NodeId,
        group: u32,
        pool: PeerPool,
        lease: Duration,
        commit_index: CommitIndex,
        life: &Lifecycle,
    ) -> Self {
        let proposer = Proposer::spawn(raft.clone(), life);
        Cluster {
            inner: Arc::new(Inner {
                raft,
                node_id,
                group,
                pool,
                gateway: OnceLock::new(),
                proposer,
                transferring: AtomicBool::new(false),
                watch: LeaderWatch::new(lease),
                commit_index,
            }),
        }
    }

    pub fn raft(&self) -> &Raft {
        &self.inner.raft
    }

    pub fn watch(&self) -> &LeaderWatch {
        &self.inner.watch
    }

    pub fn group(&self) -> u32 {
        self.inner.group
    }

    pub fn node_id(&self) -> NodeId {
        self.inner.node_id
    }

    /// Registers what answers peers' gateway calls on the Raft port (once; later calls are
    /// ignored). Until then such calls are refused.
    pub fn serve_gateway(&self, service: Arc<dyn PeerService>) {
        let _ = self.inner.gateway.set(service);
    }

    pub(super) fn gateway_service(&self) -> Option<&dyn PeerService> {
        self.inner.gateway.get().map(|s| s.as_ref())
    }

    /// Every member (voters and learners) with its Raft address.
    pub fn members(&self) -> Vec<(NodeId, String)> {
        let m = self.inner.raft.metrics().borrow().clone();
        m.membership_config
            .membership()
            .nodes()
            .map(|(id, n)| (*id, n.addr.clone()))
            .collect()
    }

    /// One request to a peer's Raft port.
    pub async fn call_peer(
        &self,
        addr: &str,
        body: RpcBody,
        timeout: Duration,
    ) -> Result<RpcResponse, NetError> {
        self.inner
            .pool
            .call(addr, self.inner.group, body, timeout)
            .await
    }

    pub fn is_leader(&self) -> bool {
        self.inner.raft.metrics().borrow().current_leader == Some(self.inner.node_id)
    }

    pub(super) fn leader(&self) -> Option<(NodeId, Option<Node>)> {
        let m = self.inner.raft.metrics().borrow().clone();
        let leader = m.current_leader?;
        let node = m.membership_config.membership().get_node(&leader).cloned();
        Some((leader, node))
    }

    pub fn status(&self) -> ClusterStatus {
        let m = self.inner.raft.metrics().borrow().clone();
        let membership = m.membership_config.membership();
        let voters: BTreeSet<NodeId> = membership.voter_ids().collect();
        let nodes: BTreeMap<NodeId, Node> =
            membership.nodes().map(|(id, n)| (*id, n.clone())).collect();
        ClusterStatus {
            node_id: self.inner.node_id,
            state: match m.state {
                ServerState::Leader => "Leader",
                ServerState::Follower => "Follower",
                ServerState::Learner => "Learner",
                ServerState::Candidate => "Candidate",
                ServerState::Shutdown => "Shutdown",
            }
            .to_string(),
            leader_id: m.current_leader,
            term: m.current_term,
            last_log_index: m.last_log_index,
            commit_index: self.inner.commit_index.get(),
            applied_index: m.last_applied.map(|l| l.index),
            snapshot_index: m.snapshot.map(|l| l.index),
            purged_index: m.purged.map(|l| l.index),
            members: nodes
                .into_iter()
                .map(|(id, n)| MemberStatus {
                    node_id: id,
                    raft_addr: n.addr,
                    voter: voters.contains(&id),
                })
                .collect(),
        }
    }
}
