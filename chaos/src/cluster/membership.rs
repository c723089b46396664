//! Changing the membership the way an operator does: `POST /admin/cluster/nodes` for a
//! started `--join` node, `DELETE /admin/cluster/nodes/{id}`, both through another
//! running member and retried on 5xx and transport errors.

use std::time::{Duration, Instant};

use anyhow::{bail, Result};
use reqwest::Method;
use serde_json::{json, Value};

use super::Life;
use super::{Cluster, ADMIN_TIMEOUT};
use crate::api::{Opts, Resp, Retriable};

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
        self.admin_call(
            id,
            &format!("adding node {id}"),
            (Method::POST, "/admin/cluster/nodes", Some(body)),
            |r| r.status == 200,
        )
        .await?;
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
        let path = format!("/admin/cluster/nodes/{id}");
        self.admin_call(
            id,
            &format!("removing node {id}"),
            (Method::DELETE, &path, None),
            // A retry after a lost answer: already removed.
            |r| r.status == 200 || (r.status == 400 && r.text.contains("not a member")),
        )
        .await
    }

    /// One admin request about node `id` through the other running members in turn,
    /// retried on 5xx and transport errors until `done` accepts the answer, a 4xx refuses
    /// it, or [`ADMIN_DEADLINE`].
    async fn admin_call(
        &self,
        id: u64,
        what: &str,
        (method, path, body): (Method, &str, Option<Value>),
        done: impl Fn(&Resp) -> bool,
    ) -> Result<()> {
        let deadline = Instant::now() + ADMIN_DEADLINE;
        let mut attempt = 0usize;
        loop {
            let via = self.admin_via(id);
            let Some(&v) = via.get(attempt % via.len().max(1)) else {
                bail!("no running member for {what}");
            };
            attempt += 1;
            let base = self.slots[&v].base();
            let opts = Opts::timeout(ADMIN_TIMEOUT);
            let r = (self.api)
                .call(&base, method.clone(), path, &[], body.clone(), &opts)
                .await;
            let err = match r {
                Ok(r) if done(&r) => return Ok(()),
                Ok(r) if !r.retriable() => bail!("{what} via node {v} -> {}", r.brief()),
                Ok(r) => r.brief(),
                Err(e) => format!("{e:#}"),
            };
            if Instant::now() >= deadline {
                bail!("{what} failed: {err}");
            }
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
    }
}
