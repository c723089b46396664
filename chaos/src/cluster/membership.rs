//! Changing the membership the way an operator does: `POST /admin/cluster/nodes` for a
//! started `--join` node, `DELETE /admin/cluster/nodes/{id}`, both through another
//! running member and retried on 5xx and transport errors.

use std::time::{Duration, Instant};

use anyhow::{bail, Result};
use serde_json::json;

use super::{Cluster, ADMIN_TIMEOUT};
use crate::client::Opts;
use crate::process::Life;

/// Retrying a membership call stops after this long.
const ADMIN_DEADLINE: Duration = Duration::from_secs(100);

impl Cluster {
    fn admin_via(&self, exclude: u64) -> Vec<u64> {
        self.running_members()
            .into_iter()
            .filter(|&id| id != exclude)
            .collect()
    }

    /// `POST /admin/cluster/nodes` for a started node, retried on 5xx and transport
    /// errors; then it is a member and an endpoint.
    pub async fn add_member(&mut self, id: u64) -> Result<()> {
        let raft = self.slots[&id].raft.to_string();
        let body = json!({"nodeId": id, "raftAddr": raft});
        let deadline = Instant::now() + ADMIN_DEADLINE;
        let mut attempt = 0usize;
        loop {
            let via = self.admin_via(id);
            let Some(&v) = via.get(attempt % via.len().max(1)) else {
                bail!("no running member to add node {id} through");
            };
            attempt += 1;
            let r = self
                .api
                .post(
                    &self.slots[&v].base(),
                    "/admin/cluster/nodes",
                    body.clone(),
                    &Opts::timeout(ADMIN_TIMEOUT),
                )
                .await;
            let err = match r {
                Ok(r) if r.status == 200 => break,
                Ok(r) if !r.retriable() => {
                    bail!("adding node {id} via node {v} -> {}", r.brief())
                }
                Ok(r) => r.brief(),
                Err(e) => format!("{e:#}"),
            };
            if Instant::now() >= deadline {
                bail!("adding node {id} failed: {err}");
            }
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
        self.members.insert(id);
        self.publish_endpoints();
        Ok(())
    }

    /// Takes `id` out of the endpoints, then `DELETE /admin/cluster/nodes/{id}` through
    /// another member (retried), then stops it for good (SIGTERM).
    pub async fn remove_member(&mut self, id: u64) -> Result<()> {
        self.endpoints
            .write()
            .expect("endpoints lock")
            .retain(|e| e.id != id);
        if let Err(e) = self.remove_from_membership(id).await {
            self.publish_endpoints();
            return Err(e);
        }
        self.members.remove(&id);
        self.publish_endpoints();
        let node = self.node_mut(id);
        node.life = Life::Retired;
        node.terminate(Duration::from_secs(20)).await;
        Ok(())
    }

    /// `DELETE /admin/cluster/nodes/{id}` through another member, retried on 5xx and
    /// transport errors; "not a member" counts as done.
    pub async fn remove_from_membership(&self, id: u64) -> Result<()> {
        let deadline = Instant::now() + ADMIN_DEADLINE;
        let mut attempt = 0usize;
        loop {
            let via = self.admin_via(id);
            let Some(&v) = via.get(attempt % via.len().max(1)) else {
                bail!("no running member to remove node {id} through");
            };
            attempt += 1;
            let r = self
                .api
                .delete(
                    &self.slots[&v].base(),
                    &format!("/admin/cluster/nodes/{id}"),
                    &Opts::timeout(ADMIN_TIMEOUT),
                )
                .await;
            let err = match r {
                Ok(r) if r.status == 200 => break,
                // A retry after a lost answer: already removed.
                Ok(r) if r.status == 400 && r.text.contains("not a member") => break,
                Ok(r) if !r.retriable() => {
                    bail!("removing node {id} via node {v} -> {}", r.brief())
                }
                Ok(r) => r.brief(),
                Err(e) => format!("{e:#}"),
            };
            if Instant::now() >= deadline {
                bail!("removing node {id} failed: {err}");
            }
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
        Ok(())
    }
}
