//! The cluster handle: the single place that knows who leads. Writes and membership changes go
//! to the leader (locally or forwarded over the Raft port); reads wait for a read index.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, OnceLock};

use std::time::{Duration, Instant};
use tokio::sync::{mpsc, oneshot, Semaphore};

use openraft::error::{ClientWriteError, RaftError};
use openraft::{ChangeMembers, ServerState};
use proto::command::{Command, EntryMeta, LogEntry, Reply};
use serde::Serialize;

use super::failover::LeaderWatch;
use super::network::{NetError, PeerPool};
use super::rpc::{ForwardError, RpcBody, RpcResponse};
use super::{Node, NodeId, Raft};
use crate::clock::now_ms;
use crate::gateway::sessions::Registry;

/// How long a request waits for a leader (elections, failover) before giving up.
const WRITE_DEADLINE: Duration = Duration::from_secs(15);
const FORWARD_TIMEOUT: Duration = Duration::from_secs(10);
const ADMIN_TIMEOUT: Duration = Duration::from_secs(120);
/// How long a new learner may take to replicate up to its own membership entry.
const LEARNER_CATCH_UP: Duration = Duration::from_secs(60);

#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    #[error("no leader available: {0}")]
    Unavailable(String),
    #[error("raft failed: {0}")]
    Fatal(String),
    #[error("bad admin request: {0}")]
    BadRequest(String),
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
    inner: Arc<Inner>,
}

struct Inner {
    raft: Raft,
    node_id: NodeId,
    group: u32,
    pool: PeerPool,
    /// This node's WebSocket sessions, answering gateway requests from peers.
    registry: OnceLock<Arc<Registry>>,
    /// Writes waiting to be proposed by [`run_proposer`].
    proposals: mpsc::Sender<Proposal>,
    /// Set while handing leadership over: new writes are refused as if not leader.
    transferring: std::sync::atomic::AtomicBool,
    watch: LeaderWatch,
}

/// One write waiting for the proposer, with where to send its reply.
struct Proposal {
    entry: LogEntry,
    tx: oneshot::Sender<Result<Reply, ForwardError>>,
}

/// Most writes in one log entry.
const MAX_BATCH: usize = 1024;
/// Batches proposed but not yet applied; more writes wait and join the next batch.
const MAX_IN_FLIGHT: usize = 2;

fn map_write_error(e: ClientWriteError<NodeId, Node>) -> ForwardError {
    match e {
        ClientWriteError::ForwardToLeader(f) => ForwardError::NotLeader {
            leader: f.leader_id,
        },
        ClientWriteError::ChangeMembershipError(e) => ForwardError::Failed(e.to_string()),
    }
}

/// The leader's proposer: takes every write waiting, stamps their clock (monotonic in log
/// order), proposes them as one entry, and hands each waiter its own reply.
async fn run_proposer(raft: Raft, last_stamp: Arc<AtomicI64>, mut rx: mpsc::Receiver<Proposal>) {
    let in_flight = Arc::new(Semaphore::new(MAX_IN_FLIGHT));
    while let Some(first) = rx.recv().await {
        let Ok(permit) = in_flight.clone().acquire_owned().await else {
            return;
        };
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(p) => batch.push(p),
                Err(_) => break,
            }
        }
        let now = now_ms();
        let stamp = last_stamp.fetch_max(now, Ordering::SeqCst).max(now);
        let mut parts = Vec::with_capacity(batch.len());
        let mut waiters = Vec::with_capacity(batch.len());
        for p in batch {
            let mut entry = p.entry;
            for part in entry.parts_mut() {
                part.meta.now_ms = stamp;
            }
            parts.extend(entry.parts().iter().cloned());
            waiters.push(p.tx);
        }
        let entry = if parts.len() == 1 {
            LogEntry::V1(Box::new(parts.pop().expect("one part")))
        } else {
            LogEntry::Batch(parts)
        };
        // Enqueue in order here; wait for the outcome in a task.
        let responder = raft.client_write_ff(entry).await;
        tokio::spawn(async move {
            let _permit = permit;
            let result = match responder {
                Err(fatal) => Err(ForwardError::Failed(fatal.to_string())),
                Ok(rx) => match rx.await {
                    Err(_) => Err(ForwardError::Failed("raft dropped the write".into())),
                    Ok(Err(e)) => Err(map_write_error(e)),
                    Ok(Ok(resp)) => Ok(resp.data),
                },
            };
            match result {
                Ok(Reply::Many(replies)) if replies.len() == waiters.len() => {
                    for (tx, reply) in waiters.into_iter().zip(replies) {
                        let _ = tx.send(Ok(reply));
                    }
                }
                Ok(reply) if waiters.len() == 1 => {
                    let _ = waiters.into_iter().next().map(|tx| tx.send(Ok(reply)));
                }
                Ok(other) => {
                    let e = ForwardError::Failed(format!("unexpected batch reply {other:?}"));
                    for tx in waiters {
                        let _ = tx.send(Err(e.clone()));
                    }
                }
                Err(e) => {
                    for tx in waiters {
                        let _ = tx.send(Err(e.clone()));
                    }
                }
            }
        });
    }
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
    pub fn new(raft: Raft, node_id: NodeId, group: u32, pool: PeerPool, lease: Duration) -> Self {
        let (proposals, rx) = mpsc::channel(8 * MAX_BATCH);
        let last_stamp = Arc::new(AtomicI64::new(0));
        tokio::spawn(run_proposer(raft.clone(), last_stamp, rx));
        Cluster {
            inner: Arc::new(Inner {
                raft,
                node_id,
                group,
                pool,
                registry: OnceLock::new(),
                proposals,
                transferring: std::sync::atomic::AtomicBool::new(false),
                watch: LeaderWatch::new(lease),
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

    pub fn attach_registry(&self, registry: Arc<Registry>) {
        let _ = self.inner.registry.set(registry);
    }

    pub fn registry(&self) -> Option<&Registry> {
        self.inner.registry.get().map(|r| r.as_ref())
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

    fn leader(&self) -> Option<(NodeId, Option<Node>)> {
        let m = self.inner.raft.metrics().borrow().clone();
        let leader = m.current_leader?;
        let node = m.membership_config.membership().get_node(&leader).cloned();
        Some((leader, node))
    }

    /// Replicates `cmd` and returns its reply once applied. `dedup` makes retries idempotent;
    /// without one, an internal key is used so a forwarded write retried after a lost response
    /// is not applied twice.
    pub async fn write(&self, cmd: Command, dedup: Option<String>) -> Result<Reply, ClusterError> {
        let dedup =
            dedup.unwrap_or_else(|| format!("~{:016x}{}", now_ms(), uuid::Uuid::new_v4().simple()));
        let entry = LogEntry::new(
            EntryMeta {
                now_ms: 0,
                dedup: Some(dedup),
            },
            cmd,
        );
        let started = Instant::now();
        let mut last_err = String::from("no leader elected yet");
        while started.elapsed() < WRITE_DEADLINE {
            match self.leader() {
                Some((id, _)) if id == self.inner.node_id => {
                    match self.propose_local(entry.clone()).await {
                        Ok(reply) => return Ok(reply),
                        Err(ForwardError::NotLeader { .. }) => last_err = "leader changed".into(),
                        Err(ForwardError::Failed(e)) => return Err(ClusterError::Fatal(e)),
                    }
                }
                Some((id, Some(node))) => {
                    match self
                        .inner
                        .pool
                        .call(
                            &node.addr,
                            self.inner.group,
                            RpcBody::ClientWrite(Box::new(entry.clone())),
                            FORWARD_TIMEOUT,
                        )
                        .await
                    {
                        Ok(RpcResponse::ClientWrite(Ok(reply))) => return Ok(reply),
                        Ok(RpcResponse::ClientWrite(Err(ForwardError::Failed(e)))) => {
                            return Err(ClusterError::Fatal(e))
                        }
                        Ok(other) => last_err = format!("leader {id} answered {other:?}"),
                        Err(e) => last_err = e.to_string(),
                    }
                }
                _ => {}
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Err(ClusterError::Unavailable(last_err))
    }

    /// Proposes on this node, which must be the leader. Writes arriving while earlier ones are
    /// being replicated are proposed together as one log entry (group commit: one append, one
    /// fsync, one apply batch); see [`run_proposer`].
    pub async fn propose_local(&self, entry: LogEntry) -> Result<Reply, ForwardError> {
        if self.inner.transferring.load(Ordering::SeqCst) {
            return Err(ForwardError::NotLeader { leader: None });
        }
        let (tx, rx) = oneshot::channel();
        self.inner
            .proposals
            .send(Proposal { entry, tx })
            .await
            .map_err(|_| ForwardError::Failed("proposer stopped".into()))?;
        rx.await
            .unwrap_or_else(|_| Err(ForwardError::Failed("proposer stopped".into())))
    }

    /// Waits until this replica has applied every write acknowledged before the call.
    pub async fn read_barrier(&self, consistency: Consistency) -> Result<(), ClusterError> {
        if consistency == Consistency::Stale {
            return Ok(());
        }
        let started = Instant::now();
        let mut last_err = String::from("no leader elected yet");
        while started.elapsed() < WRITE_DEADLINE {
            let index = match self.leader() {
                Some((id, _)) if id == self.inner.node_id => self.local_read_index().await,
                Some((_, Some(node))) => match self
                    .inner
                    .pool
                    .call(
                        &node.addr,
                        self.inner.group,
                        RpcBody::ReadIndex,
                        FORWARD_TIMEOUT,
                    )
                    .await
                {
                    Ok(RpcResponse::ReadIndex(r)) => r,
                    Ok(other) => Err(ForwardError::Failed(format!("{other:?}"))),
                    Err(e) => Err(ForwardError::Failed(e.to_string())),
                },
                _ => Err(ForwardError::NotLeader { leader: None }),
            };
            match index {
                Ok(index) => {
                    return self
                        .inner
                        .raft
                        .wait(Some(FORWARD_TIMEOUT))
                        .applied_index_at_least(Some(index), "read index")
                        .await
                        .map(|_| ())
                        .map_err(|e| ClusterError::Unavailable(e.to_string()));
                }
                Err(e) => last_err = e.to_string(),
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Err(ClusterError::Unavailable(last_err))
    }

    /// On the leader: an index covering every committed write (after confirming leadership).
    pub async fn local_read_index(&self) -> Result<u64, ForwardError> {
        match self.inner.raft.ensure_linearizable().await {
            Ok(log_id) => Ok(log_id.map(|l| l.index).unwrap_or(0)),
            Err(RaftError::APIError(e)) => Err(ForwardError::NotLeader {
                leader: match e {
                    openraft::error::CheckIsLeaderError::ForwardToLeader(f) => f.leader_id,
                    openraft::error::CheckIsLeaderError::QuorumNotEnough(_) => None,
                },
            }),
            Err(RaftError::Fatal(e)) => Err(ForwardError::Failed(e.to_string())),
        }
    }

    async fn admin(&self, body: impl Fn() -> RpcBody) -> Result<(), ClusterError> {
        let started = Instant::now();
        let mut last_err = String::from("no leader elected yet");
        while started.elapsed() < WRITE_DEADLINE {
            let res = match self.leader() {
                Some((id, _)) if id == self.inner.node_id => match body() {
                    RpcBody::AddNode { node_id, raft_addr } => {
                        self.add_node_local(node_id, raft_addr).await
                    }
                    RpcBody::RemoveNode { node_id } => self.remove_node_local(node_id).await,
                    RpcBody::TransferLeader { to } => self.transfer_local(to).await.map(|_| ()),
                    _ => unreachable!("admin bodies only"),
                },
                Some((_, Some(node))) => {
                    match self
                        .inner
                        .pool
                        .call(&node.addr, self.inner.group, body(), ADMIN_TIMEOUT)
                        .await
                    {
                        Ok(RpcResponse::Admin(r)) => r,
                        Ok(other) => Err(ForwardError::Failed(format!("{other:?}"))),
                        Err(e @ NetError::Timeout { .. }) => {
                            return Err(ClusterError::Unavailable(e.to_string()))
                        }
                        Err(e) => Err(ForwardError::NotLeader { leader: None })
                            .inspect_err(|_| last_err = e.to_string()),
                    }
                }
                _ => Err(ForwardError::NotLeader { leader: None }),
            };
            match res {
                Ok(()) => return Ok(()),
                Err(ForwardError::Failed(e)) => return Err(ClusterError::BadRequest(e)),
                Err(ForwardError::NotLeader { .. }) => {}
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Err(ClusterError::Unavailable(last_err))
    }

    /// Adds a node as a learner, waits until it has caught up, then promotes it to voter.
    pub async fn add_node(&self, node_id: NodeId, raft_addr: String) -> Result<(), ClusterError> {
        self.admin(|| RpcBody::AddNode {
            node_id,
            raft_addr: raft_addr.clone(),
        })
        .await
    }

    pub async fn remove_node(&self, node_id: NodeId) -> Result<(), ClusterError> {
        self.admin(|| RpcBody::RemoveNode { node_id }).await
    }

    pub async fn add_node_local(
        &self,
        node_id: NodeId,
        raft_addr: String,
    ) -> Result<(), ForwardError> {
        let raft = &self.inner.raft;
        let map_err = |e: RaftError<NodeId, ClientWriteError<NodeId, Node>>| match e {
            RaftError::APIError(ClientWriteError::ForwardToLeader(f)) => ForwardError::NotLeader {
                leader: f.leader_id,
            },
            other => ForwardError::Failed(other.to_string()),
        };
        let added = raft
            .add_learner(node_id, Node { addr: raft_addr }, false)
            .await
            .map_err(map_err)?;
        let target = added.log_id.index;
        let caught_up = raft
            .wait(Some(LEARNER_CATCH_UP))
            .metrics(
                |m| {
                    m.replication
                        .as_ref()
                        .and_then(|r| r.get(&node_id).cloned().flatten())
                        .is_some_and(|matched| matched.index >= target)
                },
                "learner caught up",
            )
            .await;
        if caught_up.is_err() {
            // Never promote a node that cannot follow: it would count against the quorum.
            let _ = raft
                .change_membership(ChangeMembers::RemoveNodes(BTreeSet::from([node_id])), false)
                .await;
            return Err(ForwardError::Failed(format!(
                "node {node_id} did not catch up within {}s; it was not added",
                LEARNER_CATCH_UP.as_secs()
            )));
        }
        raft.change_membership(ChangeMembers::AddVoterIds(BTreeSet::from([node_id])), false)
            .await
            .map_err(map_err)?;
        tracing::info!(node_id, "node added as voter");
        Ok(())
    }

    pub async fn remove_node_local(&self, node_id: NodeId) -> Result<(), ForwardError> {
        let m = self.inner.raft.metrics().borrow().clone();
        let membership = m.membership_config.membership();
        let is_voter = membership.voter_ids().any(|v| v == node_id);
        let change = if is_voter {
            ChangeMembers::RemoveVoters(BTreeSet::from([node_id]))
        } else if membership.get_node(&node_id).is_some() {
            ChangeMembers::RemoveNodes(BTreeSet::from([node_id]))
        } else {
            return Err(ForwardError::Failed(format!(
                "node {node_id} is not a member"
            )));
        };
        self.inner
            .raft
            .change_membership(change, false)
            .await
            .map_err(|e| match e {
                RaftError::APIError(ClientWriteError::ForwardToLeader(f)) => {
                    ForwardError::NotLeader {
                        leader: f.leader_id,
                    }
                }
                other => ForwardError::Failed(other.to_string()),
            })?;
        tracing::info!(node_id, "node removed");
        Ok(())
    }

    /// Hands leadership to `to` (default: the most up-to-date other voter). Runs on the leader
    /// (forwarded there if needed): it stops sending heartbeats so the followers' leader leases
    /// expire, and asks the target to start elections until some other node leads. Usually the
    /// target wins; returns the resulting leader.
    pub async fn transfer_leader(&self, to: Option<NodeId>) -> Result<NodeId, ClusterError> {
        if !self.is_leader() {
            self.admin(|| RpcBody::TransferLeader { to }).await?;
            return self
                .leader()
                .map(|(id, _)| id)
                .ok_or_else(|| ClusterError::Unavailable("no leader after transfer".into()));
        }
        self.transfer_local(to).await.map_err(|e| match e {
            ForwardError::NotLeader { .. } => ClusterError::Unavailable(e.to_string()),
            ForwardError::Failed(m) => ClusterError::BadRequest(m),
        })
    }

    pub async fn transfer_local(&self, to: Option<NodeId>) -> Result<NodeId, ForwardError> {
        let raft = &self.inner.raft;
        let m = raft.metrics().borrow().clone();
        if m.current_leader != Some(self.inner.node_id) {
            return Err(ForwardError::NotLeader {
                leader: m.current_leader,
            });
        }
        let membership = m.membership_config.membership();
        let voters: Vec<NodeId> = membership.voter_ids().collect();
        let me = self.inner.node_id;
        let target = match to {
            Some(t) if t == me => return Ok(me),
            Some(t) if voters.contains(&t) => t,
            Some(t) => return Err(ForwardError::Failed(format!("node {t} is not a voter"))),
            None => {
                let matched = |id: &NodeId| {
                    m.replication
                        .as_ref()
                        .and_then(|r| r.get(id).cloned().flatten())
                        .map(|l| l.index)
                };
                voters
                    .iter()
                    .copied()
                    .filter(|v| *v != me)
                    .max_by_key(|v| matched(v))
                    .ok_or_else(|| ForwardError::Failed("no other voter".into()))?
            }
        };
        let addr = membership
            .get_node(&target)
            .map(|n| n.addr.clone())
            .ok_or_else(|| ForwardError::Failed(format!("node {target} unknown")))?;
        // Stop taking writes (they are retried and reach the new leader), let the target catch
        // up with the whole log, then stop heartbeats and ask it to run for leader: the old
        // leader votes for it since its log is as long.
        self.inner.transferring.store(true, Ordering::SeqCst);
        let last = raft.metrics().borrow().last_log_index;
        let _ = raft
            .wait(Some(Duration::from_secs(3)))
            .metrics(
                |m| {
                    m.replication
                        .as_ref()
                        .and_then(|r| r.get(&target).cloned().flatten())
                        .map(|l| l.index)
                        >= last
                },
                "transfer target caught up",
            )
            .await;
        raft.runtime_config().heartbeat(false);
        let mut result = Err(ForwardError::Failed(format!(
            "node {target} did not take leadership"
        )));
        for _ in 0..2 {
            let _ = self.call_peer(&addr, RpcBody::Elect, FORWARD_TIMEOUT).await;
            let changed = raft
                .wait(Some(Duration::from_secs(3)))
                .metrics(
                    |m| m.current_leader.is_some_and(|l| l != me),
                    "leadership moved",
                )
                .await;
            if let Ok(m) = changed {
                let leader = m.current_leader.unwrap_or(target);
                tracing::info!(to = leader, wanted = target, "leadership transferred");
                result = Ok(leader);
                break;
            }
        }
        self.inner.transferring.store(false, Ordering::SeqCst);
        raft.runtime_config().heartbeat(true);
        result
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
            commit_index: crate::metrics::committed_index(),
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
