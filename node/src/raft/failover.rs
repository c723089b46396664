//! Fast replacement of a crashed leader.
//!
//! openraft 0.9 lets a follower start an election only after its leader lease (the maximum
//! election timeout) *plus* a random election timeout have passed since the last heartbeat, and
//! votes are refused while the voter's lease runs. A crashed process is known much sooner: the
//! kernel closes its sockets, so every follower reads end-of-stream on the connection that
//! carried the leader's appends. On that signal this watchdog
//!
//! 1. confirms the leader is gone: no append from it since, and a ping to its Raft port fails;
//! 2. asks the other voters for their log position and when they last heard from the leader;
//! 3. lets exactly one survivor run, the one with the longest log (lowest id on a tie): the one
//!    every voter would grant;
//! 4. which starts the election as soon as the voters' leases have run out, instead of a random
//!    timeout later.
//!
//! Everything else is left to Raft: if any step fails (a voter unreachable, a leader that
//! answers, a disagreement about the winner) the watchdog does nothing and the normal election
//! timers replace the leader. A frozen or partitioned leader closes no socket and is also left
//! to the timers.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use super::cluster::Cluster;
use super::rpc::{LeaderProbe, RpcBody, RpcResponse};
use super::NodeId;
use openraft::ServerState;

/// Wait after end-of-stream before acting, so a leader that merely replaced a connection shows
/// itself with its next append.
const SETTLE: Duration = Duration::from_millis(20);
const PING_TIMEOUT: Duration = Duration::from_millis(150);
const PROBE_TIMEOUT: Duration = Duration::from_millis(200);
/// Margin past the voters' lease expiry (clock reading and message delays).
const LEASE_MARGIN: Duration = Duration::from_millis(30);
/// How long one election may take before the watchdog tries once more.
const ELECTION_WAIT: Duration = Duration::from_millis(400);
const ATTEMPTS: usize = 2;

/// Clears the running flag when the watchdog ends, however it ends.
struct Running<'a>(&'a AtomicBool);

impl Drop for Running<'_> {
    fn drop(&mut self) {
        self.0.store(false, Ordering::SeqCst);
    }
}

/// A connection that carried `leader`'s appends ended: start the watchdog unless one runs.
pub fn leader_link_lost(cluster: &Cluster, leader: NodeId) {
    let watch = cluster.watch();
    if leader == cluster.node_id() || watch.running.swap(true, Ordering::SeqCst) {
        return;
    }
    let cluster = cluster.clone();
    tokio::spawn(async move {
        let _running = Running(&cluster.watch().running);
        if let Err(why) = watchdog(&cluster, leader).await {
            tracing::debug!(leader, why, "leader-loss watchdog stood down");
        }
    });
}

/// Answers a peer's [`RpcBody::LeaderLost`], and checks for itself.
pub fn answer_probe(cluster: &Cluster, leader: NodeId) -> LeaderProbe {
    let probe = own_probe(cluster, leader);
    if probe.leader == Some(leader) {
        leader_link_lost(cluster, leader);
    }
    probe
}

fn own_probe(cluster: &Cluster, leader: NodeId) -> LeaderProbe {
    let m = cluster.raft().metrics().borrow().clone();
    LeaderProbe {
        node_id: cluster.node_id(),
        leader: m.current_leader,
        term: m.current_term,
        last_log_index: m.last_log_index,
        since_append_ms: cluster
            .watch()
            .last_append_from(leader)
            .map(|at| at.elapsed().as_millis() as u64),
    }
}

/// Still following `leader`, and nothing heard from it since `since`.
fn still_lost(cluster: &Cluster, leader: NodeId, since: Instant) -> bool {
    let m = cluster.raft().metrics().borrow().clone();
    let following =
        matches!(m.current_leader, Some(l) if l == leader) || m.current_leader.is_none();
    let quiet = cluster
        .watch()
        .last_append_from(leader)
        .is_none_or(|at| at < since);
    following && quiet && m.state != ServerState::Leader
}

async fn watchdog(cluster: &Cluster, leader: NodeId) -> Result<(), &'static str> {
    let lost_at = Instant::now();
    tokio::time::sleep(SETTLE).await;
    let m = cluster.raft().metrics().borrow().clone();
    if m.current_leader != Some(leader) || !still_lost(cluster, leader, lost_at) {
        return Err("the leader is still heard from");
    }
    let membership = m.membership_config.membership().clone();
    let me = cluster.node_id();
    let voters: Vec<NodeId> = membership.voter_ids().collect();
    if !voters.contains(&me) {
        return Err("not a voter");
    }
    let addr_of = |id: NodeId| membership.get_node(&id).map(|n| n.addr.clone());
    let leader_addr = addr_of(leader).ok_or("leader has no address")?;
    if cluster
        .call_peer(&leader_addr, RpcBody::Ping, PING_TIMEOUT)
        .await
        .is_ok()
    {
        return Err("the leader answers pings");
    }

    let others: Vec<(NodeId, String)> = voters
        .iter()
        .copied()
        .filter(|v| *v != me && *v != leader)
        .filter_map(|v| addr_of(v).map(|a| (v, a)))
        .collect();
    let asked =
        futures::future::join_all(others.iter().map(|(_, addr)| {
            cluster.call_peer(addr, RpcBody::LeaderLost { leader }, PROBE_TIMEOUT)
        }))
        .await;
    let mine = own_probe(cluster, leader);
    let mut probes = vec![mine.clone()];
    for answer in asked {
        if let Ok(RpcResponse::LeaderProbe(p)) = answer {
            if p.term > mine.term && p.leader.is_some_and(|l| l != leader) {
                return Err("a peer already follows a newer leader");
            }
            probes.push(p);
        }
    }
    if probes.len() < voters.len() / 2 + 1 {
        return Err("too few voters answered to win an election");
    }
    let winner = probes
        .iter()
        .max_by_key(|p| (p.last_log_index, std::cmp::Reverse(p.node_id)))
        .map(|p| p.node_id);
    if winner != Some(me) {
        return Err("another survivor runs");
    }

    // Votes are refused until each voter's lease (counted from the leader's last append it
    // received) has run out.
    let lease = cluster.watch().lease;
    let now = Instant::now();
    let expiry = probes
        .iter()
        .map(|p| {
            let since = Duration::from_millis(p.since_append_ms.unwrap_or(u64::MAX / 4));
            now + lease.saturating_sub(since)
        })
        .max()
        .unwrap_or(now);
    tokio::time::sleep_until((expiry + LEASE_MARGIN).into()).await;

    for attempt in 0..ATTEMPTS {
        if !still_lost(cluster, leader, lost_at) {
            return Ok(());
        }
        tracing::info!(
            leader,
            attempt,
            after_ms = lost_at.elapsed().as_millis() as u64,
            "leader's connection closed and it answers no ping: starting an election"
        );
        if cluster.raft().trigger().elect().await.is_err() {
            return Err("raft stopped");
        }
        let elected = cluster
            .raft()
            .wait(Some(ELECTION_WAIT))
            .metrics(
                |m| m.current_leader.is_some_and(|l| l != leader),
                "new leader",
            )
            .await;
        if elected.is_ok() {
            return Ok(());
        }
    }
    Err("elections did not settle; the election timers take over")
}
