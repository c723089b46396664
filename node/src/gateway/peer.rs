//! Gateway requests between nodes (carried on the Raft port as the service the server
//! registers there, see `raft::service`): cluster-wide presence, notifications and
//! disconnections are one request to every member, answered from each node's own registry.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::sessions::{Registry, SessionInfo};
use crate::raft::service::{from_document, to_document, PeerService, ServiceFuture};

#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum GatewayRequest {
    Sessions {
        namespace: String,
        user: Option<String>,
    },
    Disconnect {
        namespace: String,
        user: Option<String>,
        keep: Vec<String>,
    },
    Notify {
        namespace: String,
        user: String,
        frame: String,
    },
    Bind {
        connection: String,
        namespace: String,
        user: String,
        session_id: Option<String>,
        now: i64,
    },
    Online {
        namespace: String,
        users: Vec<String>,
    },
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum GatewayResponse {
    Sessions(Vec<SessionInfo>),
    Connections(Vec<String>),
    Bound(Option<SessionInfo>),
    Online(Vec<String>),
}

/// Answers a request from this node's registry.
pub async fn handle(registry: &Registry, req: GatewayRequest) -> GatewayResponse {
    match req {
        GatewayRequest::Sessions { namespace, user } => {
            GatewayResponse::Sessions(registry.sessions(&namespace, user.as_deref()))
        }
        GatewayRequest::Disconnect {
            namespace,
            user,
            keep,
        } => GatewayResponse::Sessions(registry.disconnect(&namespace, user.as_deref(), &keep)),
        GatewayRequest::Notify {
            namespace,
            user,
            frame,
        } => GatewayResponse::Connections(registry.send_to_user(&namespace, &user, &frame).await),
        GatewayRequest::Bind {
            connection,
            namespace,
            user,
            session_id,
            now,
        } => GatewayResponse::Bound(registry.bind(&connection, &namespace, &user, session_id, now)),
        GatewayRequest::Online { namespace, users } => GatewayResponse::Online(
            users
                .into_iter()
                .filter(|u| registry.has_user(&namespace, u))
                .collect(),
        ),
    }
}

/// This node's registry as the peer port's gateway service.
pub struct PeerCalls(pub Arc<Registry>);

impl PeerService for PeerCalls {
    fn call(&self, request: rmpv::Value) -> ServiceFuture<'_> {
        Box::pin(async move {
            match from_document::<GatewayRequest>(&request) {
                Ok(req) => to_document(&handle(&self.0, req).await),
                Err(e) => {
                    tracing::warn!(error = %e, "undecodable gateway request from a peer");
                    rmpv::Value::Nil
                }
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::raft::rpc::{self, RpcBody, RpcRequest, RPC_VERSION};

    /// The frame is byte for byte what it was when raft knew the gateway's types: the seed
    /// file was written by that version (fuzz/tests/corpus.rs).
    #[test]
    fn gateway_frames_keep_their_wire_bytes() {
        let golden = std::fs::read(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../fuzz/corpus/raft_rpc/seed-gateway-notify"),
        )
        .expect("seed file");
        let req = GatewayRequest::Notify {
            namespace: "ns".into(),
            user: "u1".into(),
            frame: "{}".into(),
        };
        let frame = RpcRequest {
            version: RPC_VERSION,
            group: 0,
            body: RpcBody::Gateway(to_document(&req)),
        };
        assert_eq!(rpc::encode(&frame), golden);
        let RpcBody::Gateway(doc) = rpc::decode::<RpcRequest>(&golden).unwrap().body else {
            panic!("decoded another variant")
        };
        assert!(matches!(
            from_document::<GatewayRequest>(&doc).unwrap(),
            GatewayRequest::Notify { user, .. } if user == "u1"
        ));
        let answer = to_document(&GatewayResponse::Online(vec!["u1".into()]));
        assert!(matches!(
            from_document::<GatewayResponse>(&answer).unwrap(),
            GatewayResponse::Online(u) if u == ["u1"]
        ));
    }
}
