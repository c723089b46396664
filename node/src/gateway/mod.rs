//! The gateway: WebSocket sessions of this node, cluster-wide presence and notifications, the
//! fan-out of post events to local sessions, and mobile push.
//!
//! - [`sessions`]: this node's connections, bounded send queues, user bindings.
//! - [`ws`]: the protocol-neutral socket pump under every face's WebSocket endpoint.
//! - [`peer`]: gateway requests between nodes (presence, notify, disconnect, bind).
//! - [`fanout`]: post events → notification frames for local subscribers' sessions.
//! - [`push`]: the mobile-push worker (one per event cluster-wide) and [`fcm`], its client.
//! - [`mobile`]: direct pushes a face asks for, queued for their own worker.
//!
//! The gateway is engine: it imports no face. Faces call it (sessions, notify, bind, online,
//! [`Gateway::push_to_mobile`]) and run their WebSocket protocol over [`ws::pump`].
//!
//! See DESIGN.md for the decisions.

pub mod fanout;
pub mod fcm;
pub mod mobile;
pub mod peer;
pub mod push;
pub mod sessions;
pub mod ws;

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use proto::gs2::records::NamespaceRecord;

use crate::raft::cluster::Cluster;
use crate::raft::rpc::{RpcBody, RpcResponse};
use crate::raft::service::{from_document, to_document};
use peer::{GatewayRequest, GatewayResponse};
use sessions::{Registry, SessionInfo};

const PEER_TIMEOUT: Duration = Duration::from_secs(3);

pub struct Gateway {
    pub registry: Arc<Registry>,
    pub cluster: Cluster,
    pub fcm: fcm::Fcm,
    pub ws_send_queue: usize,
    /// Direct mobile pushes, drained by [`mobile::run`].
    pub mobile: tokio::sync::mpsc::Sender<mobile::DirectPush>,
}

impl Gateway {
    /// Sends `req` to every member (this node answers from its own registry) and gathers the
    /// answers; unreachable nodes are skipped (their sockets are gone with them).
    pub async fn broadcast(&self, req: GatewayRequest) -> Vec<GatewayResponse> {
        let me = self.cluster.node_id();
        let calls = self.cluster.members().into_iter().map(|(id, addr)| {
            let req = req.clone();
            async move {
                if id == me {
                    return Some(peer::handle(&self.registry, req).await);
                }
                match self
                    .cluster
                    .call_peer(&addr, RpcBody::Gateway(to_document(&req)), PEER_TIMEOUT)
                    .await
                {
                    Ok(RpcResponse::Gateway(r)) => match from_document(&r) {
                        Ok(r) => Some(r),
                        Err(e) => {
                            tracing::warn!(node = id, error = %e, "undecodable gateway answer");
                            None
                        }
                    },
                    Ok(other) => {
                        tracing::warn!(node = id, ?other, "unexpected gateway answer");
                        None
                    }
                    Err(e) => {
                        tracing::warn!(node = id, error = %e, "gateway request failed");
                        None
                    }
                }
            }
        });
        let mut out: Vec<GatewayResponse> = futures::future::join_all(calls)
            .await
            .into_iter()
            .flatten()
            .collect();
        if out.is_empty() {
            // Not in a cluster yet (joining node): answer locally.
            out.push(peer::handle(&self.registry, req).await);
        }
        out
    }

    pub async fn sessions(&self, namespace: &str, user: Option<&str>) -> Vec<SessionInfo> {
        let req = GatewayRequest::Sessions {
            namespace: namespace.into(),
            user: user.map(String::from),
        };
        flatten_sessions(self.broadcast(req).await)
    }

    pub async fn disconnect(
        &self,
        namespace: &str,
        user: Option<&str>,
        keep: Vec<String>,
    ) -> Vec<SessionInfo> {
        let req = GatewayRequest::Disconnect {
            namespace: namespace.into(),
            user: user.map(String::from),
            keep,
        };
        flatten_sessions(self.broadcast(req).await)
    }

    /// Sends a notification frame to every session of `user`; returns the connections reached.
    pub async fn notify(&self, namespace: &str, user: &str, frame: String) -> Vec<String> {
        let req = GatewayRequest::Notify {
            namespace: namespace.into(),
            user: user.into(),
            frame,
        };
        gather(self.broadcast(req).await, |r| match r {
            GatewayResponse::Connections(c) => c,
            _ => Vec::new(),
        })
    }

    /// Binds a connection (on whichever node holds it) to a user.
    pub async fn bind(
        &self,
        connection: &str,
        namespace: &str,
        user: &str,
        session_id: Option<String>,
        now: i64,
    ) -> Option<SessionInfo> {
        if self.registry.has(connection) {
            return self
                .registry
                .bind(connection, namespace, user, session_id, now);
        }
        let req = GatewayRequest::Bind {
            connection: connection.into(),
            namespace: namespace.into(),
            user: user.into(),
            session_id,
            now,
        };
        self.broadcast(req).await.into_iter().find_map(|r| match r {
            GatewayResponse::Bound(b) => b,
            _ => None,
        })
    }

    /// The subset of `users` with a live session anywhere in the cluster.
    pub async fn online(&self, namespace: &str, users: Vec<String>) -> HashSet<String> {
        let req = GatewayRequest::Online {
            namespace: namespace.into(),
            users,
        };
        gather(self.broadcast(req).await, |r| match r {
            GatewayResponse::Online(u) => u,
            _ => Vec::new(),
        })
    }
}

/// What every node answered, concatenated: `pick` takes the items of the answers of the
/// expected kind (and none of any other).
fn gather<T, C: FromIterator<T>>(
    answers: Vec<GatewayResponse>,
    pick: impl FnMut(GatewayResponse) -> Vec<T>,
) -> C {
    answers.into_iter().flat_map(pick).collect()
}

fn flatten_sessions(answers: Vec<GatewayResponse>) -> Vec<SessionInfo> {
    let mut all: Vec<SessionInfo> = gather(answers, |r| match r {
        GatewayResponse::Sessions(s) => s,
        _ => Vec::new(),
    });
    all.sort_by(|a, b| (a.created_at, &a.connection_id).cmp(&(b.created_at, &b.connection_id)));
    all.dedup_by(|a, b| a.connection_id == b.connection_id);
    all
}

/// The gateway namespace a chat namespace pushes posts to, or `None` when push is off
/// (no `postNotification`, or `enable: "Disabled"`). A missing `gatewayNamespaceId` means the
/// gateway namespace `default`.
pub fn push_target(ns: &NamespaceRecord) -> Option<String> {
    let n = ns.settings.post_notification.as_ref()?;
    if n.enable.as_deref() == Some("Disabled") {
        return None;
    }
    match n.gateway_namespace_id.as_deref() {
        None | Some("") => Some("default".into()),
        Some(grn) => Some(
            grn.split_once(":gateway:")
                .map(|(_, rest)| rest.split(':').next().unwrap_or(rest))
                .unwrap_or(grn)
                .to_string(),
        ),
    }
}

/// Whether a subscription's notification types select `category` (empty selects all).
pub fn selects(types: &[proto::gs2::models::NotificationType], category: i64) -> bool {
    types.is_empty() || types.iter().any(|t| t.category.unwrap_or(0) == category)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proto::gs2::models::{NotificationSetting, NotificationType};

    #[test]
    fn push_target_reads_the_gateway_grn() {
        let mut ns = NamespaceRecord::default();
        assert_eq!(push_target(&ns), None);
        ns.settings.post_notification = Some(NotificationSetting {
            gateway_namespace_id: Some("grn:gs2:ap-northeast-1:owner:gateway:gw".into()),
            ..Default::default()
        });
        assert_eq!(push_target(&ns).as_deref(), Some("gw"));
        ns.settings.post_notification.as_mut().unwrap().enable = Some("Disabled".into());
        assert_eq!(push_target(&ns), None);
        let t = |c| NotificationType {
            category: Some(c),
            enable_transfer_mobile_push_notification: None,
        };
        assert!(selects(&[], 5));
        assert!(selects(&[t(1), t(5)], 5));
        assert!(!selects(&[t(1)], 5));
    }
}
