//! Leadership transfer: the leader stops taking writes, lets the target catch up, stops
//! heartbeats and asks the target to run for leader. Owns the `transferring` flag's meaning
//! (writes are refused while it is set, see [`Cluster::propose_local`]).

use std::sync::atomic::Ordering;
use std::time::Duration;

use super::cluster::{Cluster, ClusterError};
use super::forward::FORWARD_TIMEOUT;
use super::rpc::{ForwardError, RpcBody};
use super::NodeId;

impl Cluster {
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
                .ok_or_else(|| ClusterError::NoLeader {
                    hint: None,
                    reason: "no leader after transfer".into(),
                });
        }
        self.transfer_local(to)
            .await
            .map_err(ClusterError::from_admin)
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
}
