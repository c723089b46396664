//! Keeps the Raft gauges of `metrics` in step with openraft's metrics channel (raft writes its
//! gauges; nobody reads state back from them), and logs one INFO line per leader change and
//! per change of this node's own membership (joined as learner, voter, removed). openraft's own
//! INFO chatter is held at `warn` (see `main.rs`).

use openraft::RaftMetrics;

use super::{Node, NodeId, Raft};
use crate::metrics::RAFT;

/// Keeps the Raft gauges in step with openraft's metrics until the channel closes.
pub async fn watch_raft(raft: Raft) {
    let mut rx = raft.metrics();
    let mut seen = Seen::default();
    loop {
        {
            let m = rx.borrow_and_update().clone();
            seen.log_changes(&m);
            RAFT.with_label_values(&["term"]).set(m.current_term as i64);
            RAFT.with_label_values(&["leader"])
                .set(m.current_leader.map(|l| l as i64).unwrap_or(-1));
            RAFT.with_label_values(&["is_leader"])
                .set(i64::from(m.current_leader == Some(m.id)));
            RAFT.with_label_values(&["last_log_index"])
                .set(m.last_log_index.unwrap_or(0) as i64);
            RAFT.with_label_values(&["applied_index"])
                .set(m.last_applied.map(|l| l.index).unwrap_or(0) as i64);
            RAFT.with_label_values(&["snapshot_index"])
                .set(m.snapshot.map(|l| l.index).unwrap_or(0) as i64);
        }
        if rx.changed().await.is_err() {
            return;
        }
    }
}

/// This node's role in the membership.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    Outside,
    Learner,
    Voter,
}

/// What the last metrics said, to log changes only.
#[derive(Default)]
struct Seen {
    leader: Option<Option<NodeId>>,
    role: Option<Role>,
}

impl Seen {
    fn log_changes(&mut self, m: &RaftMetrics<NodeId, Node>) {
        if self.leader != Some(m.current_leader) {
            if self.leader.is_some() || m.current_leader.is_some() {
                match m.current_leader {
                    Some(leader) => tracing::info!(
                        leader,
                        term = m.current_term,
                        is_me = leader == m.id,
                        "leader changed"
                    ),
                    None => tracing::info!(term = m.current_term, "no leader"),
                }
            }
            self.leader = Some(m.current_leader);
        }
        let membership = m.membership_config.membership();
        let role = if membership.voter_ids().any(|v| v == m.id) {
            Role::Voter
        } else if membership.get_node(&m.id).is_some() {
            Role::Learner
        } else {
            Role::Outside
        };
        if self.role != Some(role) {
            // The first reading of a node that is not in a cluster yet says nothing new.
            if self.role.is_some() || role != Role::Outside {
                let members: Vec<NodeId> = membership.nodes().map(|(id, _)| *id).collect();
                match role {
                    Role::Voter => tracing::info!(?members, "member of the cluster (voter)"),
                    Role::Learner => tracing::info!(?members, "joined the cluster as a learner"),
                    Role::Outside => tracing::info!(?members, "no longer a member of the cluster"),
                }
            }
            self.role = Some(role);
        }
    }
}
