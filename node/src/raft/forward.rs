//! Leader forwarding: writes, read barriers and admin requests go to whoever leads, locally
//! when this node does, otherwise over the Raft port, retried across elections until a deadline.
//! Owns the one retry loop ([`Cluster::until_done`]: jittered backoff, shared deadline) and the
//! forwarding timeouts; what an admin request does on the leader is in [`super::membership`] and
//! [`super::transfer`].

use std::future::Future;
use std::sync::atomic::Ordering;
use std::time::Duration;

use openraft::error::RaftError;
use openraft::metrics::WaitError;
use proto::command::{Command, EntryMeta, LogEntry, Reply};

use super::cluster::{Cluster, ClusterError, Consistency};
use super::network::NetError;
use super::rpc::{ForwardError, RpcBody, RpcResponse};
use super::NodeId;
use crate::clock::now_ms;
use crate::retry::Backoff;
use crate::storage::keys;

/// How long a request waits for a leader (elections, failover) before giving up.
const WRITE_DEADLINE: Duration = Duration::from_secs(15);
pub(super) const FORWARD_TIMEOUT: Duration = Duration::from_secs(10);
const ADMIN_TIMEOUT: Duration = Duration::from_secs(120);
/// First pause between attempts at writes and reads; it doubles up to [`MAX_PAUSE_FACTOR`]
/// times as much while no leader answers.
const WRITE_PAUSE: Duration = Duration::from_millis(50);
/// First pause between attempts at admin requests (which are slower and rarer).
const ADMIN_PAUSE: Duration = Duration::from_millis(100);
const MAX_PAUSE_FACTOR: u32 = 8;

/// What one attempt at reaching the leader came to.
enum Attempt<T> {
    /// Finished, successfully or not: no retry.
    Done(Result<T, ClusterError>),
    /// No leader, or it changed or could not be reached; `Some` replaces the reason reported
    /// if the deadline passes.
    Retry(Option<String>),
    /// The node asked says it does not lead; `leader` is who it believes does.
    NotLeader(Option<NodeId>),
}

impl Cluster {
    /// The one retry loop: runs `attempt` until it is done, pausing with jittered exponential
    /// backoff (from `pause`) between attempts; after [`WRITE_DEADLINE`] gives up with the last
    /// reason recorded. An attempt under way when the deadline passes is not cut short.
    async fn until_done<T, F, Fut>(
        &self,
        pause: Duration,
        mut attempt: F,
    ) -> Result<T, ClusterError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Attempt<T>>,
    {
        let mut backoff =
            Backoff::new(pause, pause * MAX_PAUSE_FACTOR).with_deadline(WRITE_DEADLINE);
        let mut reason = String::from("no leader elected yet");
        let mut hint = None;
        loop {
            match attempt().await {
                Attempt::Done(result) => return result,
                Attempt::Retry(Some(why)) => reason = why,
                Attempt::Retry(None) => {}
                Attempt::NotLeader(leader) => {
                    hint = leader.or(hint);
                    reason = format!("not the leader (leader hint: {leader:?})");
                }
            }
            if !backoff.wait().await || backoff.expired() {
                let hint = hint.or_else(|| self.leader().map(|(id, _)| id));
                return Err(ClusterError::NoLeader { hint, reason });
            }
        }
    }

    /// Replicates `cmd` and returns its reply once applied. `dedup` makes retries idempotent;
    /// without one, an internal key is used so a forwarded write retried after a lost response
    /// is not applied twice.
    pub async fn write(&self, cmd: Command, dedup: Option<String>) -> Result<Reply, ClusterError> {
        let dedup =
            dedup.unwrap_or_else(|| keys::internal_dedup(now_ms(), uuid::Uuid::new_v4().simple()));
        tracing::Span::current().record("dedup", dedup.as_str());
        let entry = &LogEntry::new(
            EntryMeta {
                now_ms: 0,
                dedup: Some(dedup),
            },
            cmd,
        );
        self.until_done(WRITE_PAUSE, move || async move {
            match self.leader() {
                Some((id, _)) if id == self.inner.node_id => {
                    match self.propose_local(entry.clone()).await {
                        Ok(reply) => Attempt::Done(Ok(reply)),
                        Err(ForwardError::NotLeader { .. }) => {
                            Attempt::Retry(Some("leader changed".into()))
                        }
                        Err(e) => Attempt::Done(Err(ClusterError::RaftStopped(e.to_string()))),
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
                        Ok(RpcResponse::ClientWrite(Ok(reply))) => Attempt::Done(Ok(reply)),
                        Ok(RpcResponse::ClientWrite(Err(ForwardError::NotLeader { leader }))) => {
                            Attempt::NotLeader(leader)
                        }
                        Ok(RpcResponse::ClientWrite(Err(e))) => {
                            Attempt::Done(Err(ClusterError::RaftStopped(e.to_string())))
                        }
                        Ok(other) => {
                            Attempt::Retry(Some(format!("leader {id} answered {other:?}")))
                        }
                        Err(e) => Attempt::Retry(Some(e.to_string())),
                    }
                }
                _ => Attempt::Retry(None),
            }
        })
        .await
    }

    /// Waits until this replica has applied every write acknowledged before the call.
    pub async fn read_barrier(&self, consistency: Consistency) -> Result<(), ClusterError> {
        if consistency == Consistency::Stale {
            return Ok(());
        }
        self.until_done(WRITE_PAUSE, move || async move {
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
                Ok(index) => Attempt::Done(
                    self.inner
                        .raft
                        .wait(Some(FORWARD_TIMEOUT))
                        .applied_index_at_least(Some(index), "read index")
                        .await
                        .map(|_| ())
                        .map_err(|e| match e {
                            WaitError::Timeout(..) => ClusterError::Timeout(e.to_string()),
                            WaitError::ShuttingDown => ClusterError::RaftStopped(e.to_string()),
                        }),
                ),
                Err(ForwardError::NotLeader { leader }) => Attempt::NotLeader(leader),
                Err(e) => Attempt::Retry(Some(e.to_string())),
            }
        })
        .await
    }

    /// Proposes on this node, which must be the leader (see [`super::proposer`]). The log index
    /// is recorded as `log_index` on the current span (the request's, or the forwarded write's
    /// on the leader). Refused as if not leader while leadership is being handed over.
    pub async fn propose_local(&self, entry: LogEntry) -> Result<Reply, ForwardError> {
        if self.inner.transferring.load(Ordering::SeqCst) {
            return Err(ForwardError::NotLeader { leader: None });
        }
        let (reply, index) = self.inner.proposer.propose(entry).await?;
        tracing::Span::current().record("log_index", index);
        tracing::debug!(log_index = index, "write applied");
        Ok(reply)
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

    /// Runs an admin request on the leader (locally, or forwarded with [`ADMIN_TIMEOUT`]).
    pub(super) async fn admin(&self, body: impl Fn() -> RpcBody) -> Result<(), ClusterError> {
        let body = &body;
        self.until_done(ADMIN_PAUSE, move || async move {
            let mut why = None;
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
                            return Attempt::Done(Err(ClusterError::Timeout(e.to_string())))
                        }
                        Err(e) => {
                            why = Some(e.to_string());
                            Err(ForwardError::NotLeader { leader: None })
                        }
                    }
                }
                _ => Err(ForwardError::NotLeader { leader: None }),
            };
            match res {
                Ok(()) => Attempt::Done(Ok(())),
                Err(ForwardError::NotLeader { leader }) if why.is_none() => {
                    Attempt::NotLeader(leader)
                }
                Err(ForwardError::NotLeader { .. }) => Attempt::Retry(why),
                Err(e) => Attempt::Done(Err(ClusterError::from_admin(e))),
            }
        })
        .await
    }
}
