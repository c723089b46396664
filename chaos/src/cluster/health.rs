//! Looking at the cluster: each node's `GET /admin/cluster`, the leader, health (one
//! leader every running member agrees on, the expected voters, NATS connected),
//! convergence (equal applied indexes) and stale reads of a replica's rooms.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Result};
use serde_json::Value;

use super::{Cluster, STATUS_TIMEOUT};
use crate::api::Opts;

/// One node's answer to `GET /admin/cluster`.
#[derive(Debug, Clone)]
pub struct Status {
    pub id: u64,
    pub state: String,
    pub leader: Option<u64>,
    pub term: u64,
    pub applied: u64,
    pub commit: u64,
    pub voters: Vec<u64>,
    pub learners: Vec<u64>,
}

impl Status {
    fn parse(id: u64, v: &Value) -> Status {
        let u = |k: &str| v.get(k).and_then(Value::as_u64).unwrap_or(0);
        let mut voters = Vec::new();
        let mut learners = Vec::new();
        for m in v
            .get("members")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if let Some(n) = m.get("nodeId").and_then(Value::as_u64) {
                if m.get("voter").and_then(Value::as_bool).unwrap_or(false) {
                    voters.push(n);
                } else {
                    learners.push(n);
                }
            }
        }
        voters.sort_unstable();
        learners.sort_unstable();
        Status {
            id,
            state: v
                .get("state")
                .and_then(Value::as_str)
                .unwrap_or("?")
                .to_owned(),
            leader: v.get("leaderId").and_then(Value::as_u64),
            term: u("term"),
            applied: u("appliedIndex"),
            commit: u("commitIndex"),
            voters,
            learners,
        }
    }
}

impl Cluster {
    pub async fn status(&self, id: u64) -> Result<Status> {
        let v = self
            .api
            .cluster_status(&self.slots[&id].base(), STATUS_TIMEOUT)
            .await?;
        Ok(Status::parse(id, &v))
    }

    /// Statuses of the running members that answered.
    pub async fn statuses(&self) -> Vec<Result<Status>> {
        let ids = self.running_members();
        futures::future::join_all(ids.iter().map(|&id| self.status(id))).await
    }

    /// The node that reports itself leader with the highest term, if any.
    pub async fn leader(&self) -> Option<u64> {
        self.statuses()
            .await
            .into_iter()
            .flatten()
            .filter(|s| s.state == "Leader")
            .max_by_key(|s| s.term)
            .map(|s| s.id)
    }

    /// One check of health: every running member answers and names the same running
    /// leader, which reports `Leader` and exactly the expected voters and no learner.
    async fn healthy_once(&self) -> Result<u64, String> {
        let running = self.running_members();
        if running.len() * 2 <= self.members.len() {
            return Err(format!(
                "only {running:?} of members {:?} run",
                self.members
            ));
        }
        let mut leader = None;
        let mut by_id = BTreeMap::new();
        for s in self.statuses().await {
            let s = s.map_err(|e| format!("{e:#}"))?;
            let l = s
                .leader
                .ok_or_else(|| format!("node {} knows no leader", s.id))?;
            if *leader.get_or_insert(l) != l {
                return Err(format!(
                    "leaders disagree: {leader:?} vs {l} (node {})",
                    s.id
                ));
            }
            by_id.insert(s.id, s);
        }
        let l = leader.ok_or("no running member")?;
        let ls = by_id
            .get(&l)
            .ok_or_else(|| format!("leader {l} is not a running member"))?;
        if ls.state != "Leader" {
            return Err(format!("node {l} is named leader but is {}", ls.state));
        }
        if ls.voters != self.members() || !ls.learners.is_empty() {
            return Err(format!(
                "leader {l} has voters {:?} learners {:?}, expected voters {:?}",
                ls.voters,
                ls.learners,
                self.members()
            ));
        }
        Ok(l)
    }

    /// Waits until [`Cluster::healthy_once`] holds; returns the leader.
    pub async fn wait_healthy(&self, timeout: Duration) -> Result<u64> {
        let deadline = Instant::now() + timeout;
        loop {
            match self.healthy_once().await {
                Ok(l) => return Ok(l),
                Err(why) if Instant::now() >= deadline => {
                    bail!("cluster not healthy within {timeout:?}: {why}")
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
            }
        }
    }

    /// Waits until every running member reports `"nats":"connected"` in `/readyz`.
    pub async fn wait_nats_connected(&self, timeout: Duration) -> Result<()> {
        let deadline = Instant::now() + timeout;
        loop {
            let mut waiting = Vec::new();
            for id in self.running_members() {
                let r = self
                    .api
                    .get(
                        &self.slots[&id].base(),
                        "/readyz",
                        &[],
                        &Opts::timeout(STATUS_TIMEOUT),
                    )
                    .await;
                let state = match &r {
                    Ok(r) => r
                        .body
                        .get("nats")
                        .and_then(Value::as_str)
                        .unwrap_or("?")
                        .to_owned(),
                    Err(e) => format!("{e:#}"),
                };
                if state != "connected" {
                    waiting.push(format!("node {id}: {state}"));
                }
            }
            if waiting.is_empty() {
                return Ok(());
            }
            if Instant::now() >= deadline {
                bail!(
                    "not connected to NATS within {timeout:?}: {}",
                    waiting.join(", ")
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Waits until the cluster is healthy, every member runs and all report the same
    /// applied index, equal to the leader's commit index, twice in a row.
    pub async fn wait_converged(&self, timeout: Duration) -> Result<u64> {
        let deadline = Instant::now() + timeout;
        let mut last: Option<u64> = None;
        let mut why = String::new();
        while Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(300)).await;
            if self.running_members().len() != self.members.len() {
                why = "not every member runs".into();
                continue;
            }
            let l = match self.healthy_once().await {
                Ok(l) => l,
                Err(e) => {
                    why = e;
                    last = None;
                    continue;
                }
            };
            let st: Vec<Status> = self.statuses().await.into_iter().flatten().collect();
            let applied: BTreeSet<u64> = st.iter().map(|s| s.applied).collect();
            let commit = st.iter().find(|s| s.id == l).map(|s| s.commit);
            if st.len() == self.members.len()
                && applied.len() == 1
                && commit == applied.first().copied()
            {
                let a = *applied.first().expect("one index");
                if last == Some(a) {
                    return Ok(a);
                }
                last = Some(a);
            } else {
                why = format!(
                    "applied indexes {:?}, leader commit {commit:?}",
                    st.iter().map(|s| (s.id, s.applied)).collect::<Vec<_>>()
                );
                last = None;
            }
        }
        bail!("replicas did not converge within {timeout:?}: {why}")
    }

    /// Every message of a room on node `id`, oldest first, read locally
    /// (`X-Chat-Read-Consistency: stale`). Pages by `startAt` = the last `createdAt`
    /// (not +1, so messages sharing a millisecond across a page boundary are kept) and
    /// drops names already seen.
    pub async fn read_room(&self, id: u64, ns: &str, room: &str) -> Result<Vec<Value>> {
        let base = self.slots[&id].base();
        let path = format!("/chat/{ns}/room/{room}/message/get");
        let mut out: Vec<Value> = Vec::new();
        let mut seen = BTreeSet::new();
        let mut start_at = 0i64;
        for _ in 0..10_000 {
            let r = self
                .api
                .get(
                    &base,
                    &path,
                    &[
                        ("userId", "chaos-checker".to_owned()),
                        ("startAt", start_at.to_string()),
                        ("limit", "1000".to_owned()),
                    ],
                    &Opts::timeout(Duration::from_secs(30)).stale(),
                )
                .await?;
            if r.status != 200 {
                bail!("stale read of {room} on node {id} -> {}", r.brief());
            }
            let items = r
                .body
                .get("items")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            let full = items.len() >= 1000;
            let mut newest = start_at;
            let mut added = 0;
            for m in items {
                let name = m
                    .get("name")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_owned();
                newest = newest.max(m.get("createdAt").and_then(Value::as_i64).unwrap_or(0));
                if seen.insert(name) {
                    out.push(m);
                    added += 1;
                }
            }
            if !full {
                return Ok(out);
            }
            if added == 0 {
                // A full page of one millisecond: cannot page further by startAt.
                bail!("room {room} on node {id}: more than 1000 messages share createdAt {newest}");
            }
            start_at = newest;
        }
        Err(anyhow!("room {room} on node {id}: too many pages"))
    }
}
