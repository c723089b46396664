//! Gateway requests between nodes (carried on the Raft port): cluster-wide presence,
//! notifications and disconnections are one request to every member, answered from each
//! node's own registry.

use serde::{Deserialize, Serialize};

use super::sessions::{Registry, SessionInfo};

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
