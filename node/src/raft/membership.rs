//! Membership changes: adding a node (as a learner, promoted to voter once it has caught up)
//! and removing one. The `*_local` halves run on the leader; [`Cluster::add_node`] and
//! [`Cluster::remove_node`] forward there (see [`super::forward`]).

use std::collections::BTreeSet;
use std::time::Duration;

use openraft::error::{ClientWriteError, RaftError};
use openraft::ChangeMembers;

use super::cluster::{Cluster, ClusterError};
use super::rpc::{ForwardError, RpcBody};
use super::{Node, NodeId};

/// How long a new learner may take to replicate up to its own membership entry.
const LEARNER_CATCH_UP: Duration = Duration::from_secs(60);

impl Cluster {
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
            return Err(ForwardError::NotMember { node_id });
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
}
