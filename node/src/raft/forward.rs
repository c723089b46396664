//! Leader forwarding: writes, read barriers and admin requests go to whoever leads, locally
//! when this node does, otherwise over the Raft port, retried across elections until a deadline.
//! Owns the retry loops and their timeouts; what an admin request does on the leader is in
//! [`super::membership`] and [`super::transfer`].

use std::time::{Duration, Instant};

use openraft::error::RaftError;
use proto::command::{Command, EntryMeta, LogEntry, Reply};

use super::cluster::{Cluster, ClusterError, Consistency};
use super::network::NetError;
use super::rpc::{ForwardError, RpcBody, RpcResponse};
use crate::clock::now_ms;

/// How long a request waits for a leader (elections, failover) before giving up.
const WRITE_DEADLINE: Duration = Duration::from_secs(15);
pub(super) const FORWARD_TIMEOUT: Duration = Duration::from_secs(10);
const ADMIN_TIMEOUT: Duration = Duration::from_secs(120);

impl Cluster {
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

    pub(super) async fn admin(&self, body: impl Fn() -> RpcBody) -> Result<(), ClusterError> {
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
}
