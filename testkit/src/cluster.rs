//! A Raft cluster of real `chat-node` processes.
//!
//! Owns: forming the cluster the way an operator would (node 1 bootstraps itself,
//! the others start with `--join` and are added through `POST /admin/cluster/nodes`
//! on node 1), waiting until every node agrees on the voters and the leader, and
//! leader lookup.
//! Does not own: fault injection beyond [`Node::kill`] / [`Node::restart`].

use crate::node::{Node, NodeOpts};
use crate::{try_wait_until, wait_until};
use anyhow::{anyhow, bail, Result};
use serde_json::{json, Value};
use std::time::Duration;

/// Time allowed for membership changes and elections.
pub const CLUSTER_TIMEOUT: Duration = Duration::from_secs(60);

pub struct Cluster {
    pub nodes: Vec<Node>,
}

/// Voter ids in a `GET /admin/cluster` answer.
pub fn voters(status: &Value) -> Vec<u64> {
    member_ids(status, |m| {
        m.get("voter").and_then(Value::as_bool).unwrap_or(false)
    })
}

/// All member ids (voters and learners) in a `GET /admin/cluster` answer.
pub fn members(status: &Value) -> Vec<u64> {
    member_ids(status, |_| true)
}

/// The sorted `nodeId`s of the `members` that `keep` accepts.
fn member_ids(status: &Value, keep: impl Fn(&Value) -> bool) -> Vec<u64> {
    let mut v: Vec<u64> = status
        .get("members")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter(|m| keep(m))
        .filter_map(|m| m.get("nodeId").and_then(Value::as_u64))
        .collect();
    v.sort_unstable();
    v
}

pub fn leader_of(status: &Value) -> Option<u64> {
    status.get("leaderId").and_then(Value::as_u64)
}

pub fn applied_index(status: &Value) -> u64 {
    status
        .get("appliedIndex")
        .and_then(Value::as_u64)
        .unwrap_or(0)
}

/// The leader every node of `nodes` names in its `GET /admin/cluster`, each answer first
/// passing `check`; else why not.
async fn agreed_leader(
    nodes: &[&Node],
    check: impl Fn(&Node, &Value) -> Result<(), String>,
) -> Result<u64, String> {
    let mut leader = None;
    for node in nodes {
        let st = node
            .cluster_status()
            .await
            .map_err(|e| format!("node {}: {e:#}", node.id()))?;
        check(node, &st)?;
        let l =
            leader_of(&st).ok_or_else(|| format!("node {} knows no leader: {st}", node.id()))?;
        if *leader.get_or_insert(l) != l {
            return Err(format!(
                "leaders disagree: {leader:?} vs {l} (node {})",
                node.id()
            ));
        }
    }
    leader.ok_or_else(|| "no running node".to_owned())
}

impl Cluster {
    /// Starts `n` nodes with default options.
    pub async fn start(n: u64) -> Result<Cluster> {
        Cluster::start_with(n, NodeOpts::id).await
    }

    /// Starts `n` nodes; `opts(id)` gives each node's options (`join` is set by the
    /// harness for nodes 2..=n).
    pub async fn start_with(n: u64, opts: impl Fn(u64) -> NodeOpts) -> Result<Cluster> {
        let first = Node::start(opts(1)).await?;
        let mut cluster = Cluster { nodes: vec![first] };
        // Node 1 bootstraps a single-node cluster of itself.
        cluster.wait_agreement(&[1]).await?;
        for id in 2..=n {
            let node = Node::start(opts(id).join()).await?;
            let raft = node.raft_addr().to_string();
            cluster.nodes.push(node);
            cluster.add_member(1, id, &raft).await?;
        }
        let all: Vec<u64> = (1..=n).collect();
        cluster.wait_agreement(&all).await?;
        Ok(cluster)
    }

    /// [`Cluster::add_member`] of `node` (started with `--join`, not one of `nodes`) at
    /// its Raft address, through node `via`.
    pub async fn add_node(&self, via: u64, node: &Node) -> Result<Value> {
        let raft = node.raft_addr().to_string();
        self.add_member(via, node.id(), &raft).await
    }

    /// `POST /admin/cluster/nodes` on node `via`, retried while the cluster answers 5xx
    /// or a transport error (e.g. leader election in progress).
    pub async fn add_member(&self, via: u64, id: u64, raft_addr: &str) -> Result<Value> {
        let node = self.node(via);
        let client = node.client().await?.with_timeout(CLUSTER_TIMEOUT);
        let body = json!({"nodeId": id, "raftAddr": raft_addr});
        try_wait_until(CLUSTER_TIMEOUT, || {
            let (client, body) = (&client, &body);
            async move {
                match client
                    .post("/admin/cluster/nodes")
                    .no_context_stack()
                    .plain()
                    .json(body.clone())
                    .try_send()
                    .await
                {
                    Ok(r) if r.status == 200 => Ok(Ok(r.body)),
                    Ok(r) if r.status >= 500 => {
                        Err(format!("{} -> {} {}", r.desc, r.status, r.text))
                    }
                    Ok(r) => Ok(Err(anyhow!("{} -> {} {}", r.desc, r.status, r.text))),
                    Err(e) => Err(format!("{e:#}")),
                }
            }
        })
        .await
        .map_err(|last| anyhow!("adding node {id} via node {via} failed: {last}"))?
    }

    /// Waits until every running node in `expect_voters` reports exactly those voters
    /// and the same known leader. Returns the leader id.
    pub async fn wait_agreement(&self, expect_voters: &[u64]) -> Result<u64> {
        let mut want = expect_voters.to_vec();
        want.sort_unstable();
        let running: Vec<&Node> = self
            .nodes
            .iter()
            .filter(|n| n.is_running() && want.contains(&n.id()))
            .collect();
        try_wait_until(CLUSTER_TIMEOUT, || {
            agreed_leader(&running, |node, st| {
                if voters(st) == want {
                    Ok(())
                } else {
                    Err(format!(
                        "node {} voters {:?} != {want:?}: {st}",
                        node.id(),
                        voters(st)
                    ))
                }
            })
        })
        .await
        .map_err(|last| anyhow!("cluster did not agree on voters {want:?} and a leader: {last}"))
    }

    /// Waits until the running nodes agree on a leader (which must be running) and
    /// returns its id.
    pub async fn wait_leader(&self) -> u64 {
        let running: Vec<&Node> = self.nodes.iter().filter(|n| n.is_running()).collect();
        wait_until(
            CLUSTER_TIMEOUT,
            "a running leader all running nodes agree on",
            || {
                let running = &running;
                async move {
                    let l = agreed_leader(running, |_, _| Ok(())).await?;
                    if !running.iter().any(|n| n.id() == l) {
                        return Err(format!("leader {l} is not a running node"));
                    }
                    let st = self
                        .node(l)
                        .cluster_status()
                        .await
                        .map_err(|e| format!("{e:#}"))?;
                    if st.get("state").and_then(Value::as_str) != Some("Leader") {
                        return Err(format!("node {l} is named leader but reports {st}"));
                    }
                    Ok(l)
                }
            },
        )
        .await
    }

    pub fn node(&self, id: u64) -> &Node {
        self.nodes
            .iter()
            .find(|n| n.id() == id)
            .unwrap_or_else(|| panic!("no node {id} in cluster"))
    }

    pub fn node_mut(&mut self, id: u64) -> &mut Node {
        self.nodes
            .iter_mut()
            .find(|n| n.id() == id)
            .unwrap_or_else(|| panic!("no node {id} in cluster"))
    }

    /// Ids of running nodes other than `id`.
    pub fn others(&self, id: u64) -> Vec<u64> {
        self.nodes
            .iter()
            .filter(|n| n.is_running() && n.id() != id)
            .map(Node::id)
            .collect()
    }

    /// `POST /admin/cluster/snapshot` on node `id`.
    pub async fn trigger_snapshot(&self, id: u64) -> Result<Value> {
        let c = self.node(id).client().await?.with_timeout(CLUSTER_TIMEOUT);
        let r = c
            .post("/admin/cluster/snapshot")
            .no_context_stack()
            .plain()
            .try_send()
            .await?;
        if r.status != 200 {
            bail!("{} -> {} {}", r.desc, r.status, r.text);
        }
        Ok(r.body)
    }

    /// Prints every node's log tail (for diagnostics outside a panic).
    pub fn print_logs(&self) {
        for n in &self.nodes {
            n.print_log_tail();
        }
    }
}
