//! The operators' face: cluster status and membership, snapshots, leader transfer and backups
//! under `/admin/cluster` (project token required), and `/healthz`, `/readyz`, `/metrics`.
//!
//! A face, not engine: it authenticates (with the GS2 project credential, which `chat-node
//! admin` logs in for) and answers with the GS2 error body, and the engine never imports a
//! face. It calls the engine (`Cluster`, `View`, `Bus`, `Gateway`) like every face. Request
//! bodies are inflated and limited by tower-http and axum layers (admin bodies are small and
//! always labelled), not by the GS2 REST reader. See `faces/DESIGN.md`.

use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use proto::gs2::ChatError;
use serde::Deserialize;
use tower_http::decompression::RequestDecompressionLayer;

use crate::faces::gs2::error::ApiError;
use crate::faces::gs2::http::authenticate;
use crate::faces::gs2::routes::Access;
use crate::faces::gs2::App;
use crate::faces::http::{with_plumbing, MAX_BODY};
use crate::metrics;

/// The operators' routes, with their layers.
pub fn router(app: App) -> Router {
    let routes = Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .route("/admin/cluster", get(status))
        .route("/admin/cluster/nodes", post(add_node))
        .route("/admin/cluster/nodes/{node_id}", delete(remove_node))
        .route("/admin/cluster/snapshot", post(snapshot))
        .route("/admin/cluster/leader", post(transfer_leader))
        .route("/admin/cluster/backup", get(backup))
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .layer(RequestDecompressionLayer::new())
        .with_state(app);
    with_plumbing(routes, ApiError::for_status)
}

fn require_project(app: &App, headers: &HeaderMap) -> Result<(), ApiError> {
    let auth = headers.get("authorization").and_then(|v| v.to_str().ok());
    authenticate(app, Access::Project, auth, None).map(|_| ())
}

pub async fn status(State(app): State<App>, headers: HeaderMap) -> Result<Response, ApiError> {
    require_project(&app, &headers)?;
    Ok(Json(app.cluster.status()).into_response())
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AddNode {
    node_id: u64,
    raft_addr: String,
}

pub async fn add_node(
    State(app): State<App>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Result<Response, ApiError> {
    require_project(&app, &headers)?;
    let req: AddNode =
        serde_json::from_slice(&body).map_err(|e| ApiError::BadBody(e.to_string()))?;
    if req.node_id == 0 || req.raft_addr.parse::<std::net::SocketAddr>().is_err() {
        return Err(ChatError::invalid("node", "chat.cluster.node.error.invalid").into());
    }
    app.cluster.add_node(req.node_id, req.raft_addr).await?;
    Ok(Json(app.cluster.status()).into_response())
}

pub async fn remove_node(
    State(app): State<App>,
    headers: HeaderMap,
    Path(node_id): Path<String>,
) -> Result<Response, ApiError> {
    require_project(&app, &headers)?;
    let node_id: u64 = node_id
        .parse()
        .map_err(|_| ChatError::invalid("node", "chat.cluster.nodeId.error.invalid"))?;
    app.cluster.remove_node(node_id).await?;
    Ok(Json(app.cluster.status()).into_response())
}

pub async fn snapshot(State(app): State<App>, headers: HeaderMap) -> Result<Response, ApiError> {
    require_project(&app, &headers)?;
    app.cluster
        .raft()
        .trigger()
        .snapshot()
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    Ok(Json(app.cluster.status()).into_response())
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct TransferLeader {
    node_id: Option<u64>,
}

pub async fn transfer_leader(
    State(app): State<App>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Result<Response, ApiError> {
    require_project(&app, &headers)?;
    let req: TransferLeader = if body.iter().all(u8::is_ascii_whitespace) {
        TransferLeader::default()
    } else {
        serde_json::from_slice(&body).map_err(|e| ApiError::BadBody(e.to_string()))?
    };
    app.cluster.transfer_leader(req.node_id).await?;
    Ok(Json(app.cluster.status()).into_response())
}

/// A consistent snapshot of the chat state, to seed a new cluster with `--restore-from`.
pub async fn backup(State(app): State<App>, headers: HeaderMap) -> Result<Response, ApiError> {
    require_project(&app, &headers)?;
    let store = app.view.store().clone();
    let bytes = tokio::task::spawn_blocking(move || {
        crate::storage::state_machine::backup(&store, crate::raft::DEFAULT_GROUP)
            .map_err(|e| e.to_string())
    })
    .await
    .map_err(|e| ApiError::Internal(e.to_string()))?
    .map_err(ApiError::Internal)?;
    Ok((
        [
            ("content-type", "application/octet-stream"),
            (
                "content-disposition",
                "attachment; filename=\"chat-backup.bin\"",
            ),
        ],
        bytes,
    )
        .into_response())
}

pub async fn healthz() -> &'static str {
    "ok"
}

/// Ready when a leader is known and this node has applied at least its own membership.
/// NATS being down does not make a node unready: writes and reads still work, and events wait
/// in the outbox; the state is reported for operators.
pub async fn readyz(State(app): State<App>) -> Response {
    let s = app.cluster.status();
    let ready = s.leader_id.is_some() && s.applied_index.is_some();
    let code = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let mut body = serde_json::to_value(&s).unwrap_or_default();
    body["nats"] = app.bus.state().into();
    body["wsConnections"] = app.gateway.registry.connection_count().into();
    (code, Json(body)).into_response()
}

pub async fn metrics(State(app): State<App>) -> Response {
    ([("content-type", "text/plain; version=0.0.4")], {
        app.view.store().refresh_size_gauges();
        metrics::render()
    })
        .into_response()
}
